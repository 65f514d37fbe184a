/* Bounded random-access input for the file readers of lib/io: a file or a
 * memory buffer, its real length, and error messages that name the file and
 * a byte offset. */
#ifndef BGM_IO_SOURCE_H
#define BGM_IO_SOURCE_H

#include <stdint.h>
#include <stdio.h>

#include "bigmodel/core.h"
#include "core/error.h"

typedef struct bgm__source {
    const char *fn, *label;      /* public function; path or "<memory>" */
    FILE *f;                     /* NULL for memory */
    const unsigned char *mem;
    uint64_t size;               /* real length in bytes */
} bgm__source;

/* Opens a regular file. Errors: BGM_E_IO naming fn, path and the reason. */
bgm_status bgm__source_open(bgm__source *src, const char *fn, const char *path);

/* Reads from size bytes at data (borrowed); data may be NULL when size is 0. */
void bgm__source_memory(bgm__source *src, const char *fn, const void *data, size_t size);

void bgm__source_close(bgm__source *src);

/* Reads n bytes at off; the caller has checked off + n <= size. */
bgm_status bgm__source_read(const bgm__source *src, uint64_t off, void *buf, size_t n);

/* bgm__fail with "fn: label: byte OFFSET: message". */
bgm_status bgm__source_fail(const bgm__source *src, bgm_status status, uint64_t offset,
                            const char *fmt, ...) BGM__PRINTF(4, 5);

#endif
