/* Whole-file reads (plain or gzip) and atomic writes for the data loaders. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"

#define CHUNK ((size_t)1 << 16)
/* Starting capacity guessed from a gzip trailer stays under this, so a lying
 * trailer cannot make a small file allocate much. */
#define HINT_MAX ((size_t)1 << 28)

static bgm_status io_fail(const char *func, const char *path, const char *what, int err)
{
    char reason[128];
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return bgm__fail(BGM_E_IO, "%s: %s: %s: %s", func, path, what, reason);
}

void bgm__blob_free(bgm__blob *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

/* Makes room for at least one more byte after b->size in a buffer of *cap. */
static int grow(bgm__blob *b, size_t *cap)
{
    size_t want;
    unsigned char *p;
    if (b->size < *cap)
        return 1;
    want = *cap < CHUNK ? CHUNK : *cap;
    if (want > SIZE_MAX / 2)
        return 0;
    want *= 2;
    p = realloc(b->data, want);
    if (!p)
        return 0;
    b->data = p;
    *cap = want;
    return 1;
}

static bgm_status read_plain(bgm__blob *out, const char *func, const char *path, FILE *f,
                             size_t cap)
{
    size_t got;
    out->data = malloc(cap ? cap : 1);
    if (!out->data)
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory reading %zu bytes", func,
                         path, cap);
    for (;;) {
        if (!grow(out, &cap))
            return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory after %zu bytes", func,
                             path, out->size);
        got = fread(out->data + out->size, 1, cap - out->size, f);
        out->size += got;
        if (got == 0) {
            if (ferror(f))
                return io_fail(func, path, "read failed", errno ? errno : EIO);
            return BGM_OK;
        }
    }
}

/* Decompressed size stored in a gzip trailer (mod 2^32), as a starting capacity. */
static size_t gzip_size_hint(FILE *f, off_t file_size)
{
    unsigned char t[4];
    size_t hint;
    if (file_size < 18 || fseeko(f, -4, SEEK_END) != 0 || fread(t, 1, 4, f) != 4)
        return CHUNK;
    hint = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    /* deflate expands at most about 1032:1 */
    if (hint / 1032 > (size_t)file_size)
        hint = (size_t)file_size * 1032;
    return (hint > HINT_MAX ? HINT_MAX : hint) + 1;
}

static bgm_status read_gzip(bgm__blob *out, const char *func, const char *path, size_t cap)
{
    gzFile gz;
    int r, err = Z_OK;
    const char *msg;
    bgm_status s = BGM_OK;
    gz = gzopen(path, "rb");
    if (!gz)
        return io_fail(func, path, "cannot open", errno ? errno : EIO);
    gzbuffer(gz, 1u << 17);
    out->data = malloc(cap);
    if (!out->data) {
        gzclose(gz);
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", func, path);
    }
    for (;;) {
        size_t room;
        if (!grow(out, &cap)) {
            s = bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory after %zu decompressed "
                          "bytes", func, path, out->size);
            break;
        }
        room = cap - out->size;
        if (room > (size_t)INT_MAX / 2)
            room = (size_t)INT_MAX / 2;
        r = gzread(gz, out->data + out->size, (unsigned)room);
        if (r <= 0) {
            msg = gzerror(gz, &err);
            if (r < 0 || (err != Z_OK && err != Z_STREAM_END))
                s = bgm__fail(err == Z_ERRNO ? BGM_E_IO : BGM_E_FORMAT,
                              "%s: %s: corrupt or truncated gzip data after %zu "
                              "decompressed bytes: %s", func, path, out->size,
                              msg ? msg : "unknown zlib error");
            break;
        }
        out->size += (size_t)r;
    }
    gzclose(gz);
    return s;
}

bgm_status bgm__read_file(bgm__blob *out, const char *func, const char *path)
{
    unsigned char magic[2];
    struct stat st;
    size_t got, cap = CHUNK;
    bgm_status s;
    FILE *f;
    memset(out, 0, sizeof *out);
    f = fopen(path, "rb");
    if (!f)
        return io_fail(func, path, "cannot open", errno);
    if (fstat(fileno(f), &st) != 0) {
        s = io_fail(func, path, "cannot stat", errno);
        fclose(f);
        return s;
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return io_fail(func, path, "cannot read", EISDIR);
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size < SIZE_MAX)
        cap = (size_t)st.st_size + 1;
    got = fread(magic, 1, 2, f);
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        out->gzipped = 1;
        cap = S_ISREG(st.st_mode) ? gzip_size_hint(f, st.st_size) : CHUNK;
        fclose(f);
        s = read_gzip(out, func, path, cap);
    } else {
        rewind(f);
        s = read_plain(out, func, path, f, cap);
        fclose(f);
    }
    if (s != BGM_OK)
        bgm__blob_free(out);
    return s;
}
