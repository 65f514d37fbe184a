/* Internal file access of the data loaders: whole-file reads (plain or gzip)
 * and writes that replace a file atomically. */
#ifndef BGM_DATA_FILEIO_H
#define BGM_DATA_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "bigmodel/core.h"

/* A file's bytes, decompressed when the file is gzip. */
typedef struct bgm__blob {
    unsigned char *data;   /* size bytes (never NULL after a successful read) */
    size_t size;
    int gzipped;           /* the file started with the gzip magic 1f 8b */
} bgm__blob;

/*
 * Reads all of path into out. A gzip file (first bytes 1f 8b) is
 * decompressed; the buffer grows only as data actually arrives, so nothing
 * a file declares can make it allocate more than the file really holds.
 * Errors: BGM_E_IO (open/read, with the reason), BGM_E_FORMAT (corrupt or
 * truncated gzip stream), BGM_E_NOMEM. Messages start with func and path.
 */
bgm_status bgm__read_file(bgm__blob *out, const char *func, const char *path);

void bgm__blob_free(bgm__blob *b);

#endif
