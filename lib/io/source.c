/* Bounded random-access input (a file or memory) for the readers of lib/io. */
#include "source.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

bgm_status bgm__source_open(bgm__source *src, const char *fn, const char *path)
{
    struct stat st;
    memset(src, 0, sizeof *src);
    src->fn = fn;
    src->label = path;
    src->f = fopen(path, "rb");
    if (!src->f)
        return bgm__fail(BGM_E_IO, "%s: %s: cannot open: %s", fn, path, strerror(errno));
    if (fstat(fileno(src->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(src->f);
        src->f = NULL;
        return bgm__fail(BGM_E_IO, "%s: %s: not a regular file", fn, path);
    }
    src->size = (uint64_t)st.st_size;
    return BGM_OK;
}

void bgm__source_memory(bgm__source *src, const char *fn, const void *data, size_t size)
{
    memset(src, 0, sizeof *src);
    src->fn = fn;
    src->label = "<memory>";
    src->mem = data ? data : (const void *)"";
    src->size = size;
}

void bgm__source_close(bgm__source *src)
{
    if (src->f)
        fclose(src->f);
    src->f = NULL;
}

bgm_status bgm__source_fail(const bgm__source *src, bgm_status status, uint64_t offset,
                            const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bgm__fail(status, "%s: %s: byte %llu: %s", src->fn, src->label,
                     (unsigned long long)offset, msg);
}

bgm_status bgm__source_read(const bgm__source *src, uint64_t off, void *buf, size_t n)
{
    size_t got;
    if (n == 0)
        return BGM_OK;
    if (src->mem) {
        memcpy(buf, src->mem + off, n);
        return BGM_OK;
    }
    if (fseeko(src->f, (off_t)off, SEEK_SET) != 0)
        return bgm__source_fail(src, BGM_E_IO, off, "cannot seek: %s", strerror(errno));
    got = fread(buf, 1, n, src->f);
    if (got == n)
        return BGM_OK;
    if (ferror(src->f))
        return bgm__source_fail(src, BGM_E_IO, off + got, "read failed: %s",
                                strerror(errno));
    return bgm__source_fail(src, BGM_E_FORMAT, off + got, "the file ended early (it "
                            "shrank while being read)");
}
