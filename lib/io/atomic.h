/* Atomic file replacement: readers of a path see the old file or the whole
 * new one, never a mix, even if the writer is killed or the machine loses
 * power. Used by every writer of lib/io; general enough for any module. */
#ifndef BGM_IO_ATOMIC_H
#define BGM_IO_ATOMIC_H

#include <stdio.h>

#include "bigmodel/core.h"

/* Writes the whole content to f; returns 0 on success, else an errno value. */
typedef int (*bgm__atomic_write_fn)(FILE *f, void *ctx);

/*
 * Writes path through a new temporary file beside it ("<path>.tmp-<hex>",
 * created exclusively, with the old file's permissions when there is one):
 * write(f, ctx), fflush, fsync, rename over path, fsync of the folder. On
 * any failure before the rename the temporary file is removed and path is
 * untouched. Errors: BGM_E_IO whose message starts "func: path: " and gives
 * the reason; BGM_E_NOMEM.
 */
bgm_status bgm__atomic_write(const char *func, const char *path, bgm__atomic_write_fn write,
                             void *ctx);

#endif
