/* NumPy .npy files: magic "\x93NUMPY", version, header length, a Python dict
 * literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}, then the data. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "fileio.h"
#include "parsers.h"
#include "io/atomic.h"

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6

enum npy_type { NPY_F4 = 1, NPY_I4, NPY_U1 };

typedef struct npy_header {
    const char *func, *name;
    const unsigned char *start, *p, *end;   /* the dict text, and the read position */
    size_t base;                    /* file offset of the dict's first byte */
    char descr[32];
    int has_descr, has_order, has_shape, fortran;
    int64_t shape[BGM_MAX_DIMS];
    int ndim;
} npy_header;

/* File offset of the character being read. */
static size_t offset(const npy_header *h) { return h->base + (size_t)(h->p - h->start); }

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void swap4(void *data, size_t n)
{
    unsigned char *b = data, t;
    size_t i;
    for (i = 0; i < n; i++, b += 4) {
        t = b[0], b[0] = b[3], b[3] = t;
        t = b[1], b[1] = b[2], b[2] = t;
    }
}

static bgm_status syntax(const npy_header *h, const char *what)
{
    return bgm__fail(BGM_E_FORMAT, "%s: %s: bad .npy header at byte offset %zu: %s",
                     h->func, h->name, offset(h), what);
}

static void skip_space(npy_header *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int accept(npy_header *h, char ch)
{
    skip_space(h);
    if (h->p < h->end && *h->p == ch) {
        h->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") into buf; longer strings are an error. */
static bgm_status string(npy_header *h, char *buf, size_t size)
{
    unsigned char q;
    size_t n = 0;
    skip_space(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"'))
        return syntax(h, "expected a quoted string");
    q = *h->p++;
    while (h->p < h->end && *h->p != q) {
        if (*h->p == '\\' || n + 1 >= size)
            return syntax(h, "string too long or escaped");
        buf[n++] = (char)*h->p++;
    }
    if (h->p >= h->end)
        return syntax(h, "unterminated string");
    h->p++;
    buf[n] = '\0';
    return BGM_OK;
}

static bgm_status boolean(npy_header *h, int *v)
{
    skip_space(h);
    if ((size_t)(h->end - h->p) >= 4 && memcmp(h->p, "True", 4) == 0) {
        h->p += 4;
        *v = 1;
    } else if ((size_t)(h->end - h->p) >= 5 && memcmp(h->p, "False", 5) == 0) {
        h->p += 5;
        *v = 0;
    } else {
        return syntax(h, "expected True or False");
    }
    return BGM_OK;
}

/* A tuple of non-negative integers: (), (3,), (2, 3), (2, 3,). */
static bgm_status tuple(npy_header *h)
{
    int64_t v;
    h->ndim = 0;
    if (!accept(h, '('))
        return syntax(h, "expected '(' to start the shape");
    if (accept(h, ')'))
        return BGM_OK;
    for (;;) {
        skip_space(h);
        if (h->p >= h->end || *h->p < '0' || *h->p > '9')
            return syntax(h, "expected a non-negative integer in the shape");
        for (v = 0; h->p < h->end && *h->p >= '0' && *h->p <= '9'; h->p++) {
            if (v > (INT64_MAX - 9) / 10)
                return syntax(h, "shape dimension too large");
            v = v * 10 + (*h->p - '0');
        }
        if (h->ndim == BGM_MAX_DIMS)
            return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: the array has more than %d "
                             "dimensions (byte offset %zu)", h->func, h->name,
                             BGM_MAX_DIMS, offset(h));
        h->shape[h->ndim++] = v;
        if (accept(h, ')'))
            return BGM_OK;
        if (!accept(h, ','))
            return syntax(h, "expected ',' or ')' in the shape");
        if (accept(h, ')'))
            return BGM_OK;
    }
}

static bgm_status dict(npy_header *h)
{
    char key[32];
    bgm_status s;
    if (!accept(h, '{'))
        return syntax(h, "expected '{'");
    while (!accept(h, '}')) {
        s = string(h, key, sizeof key);
        if (s != BGM_OK)
            return s;
        if (!accept(h, ':'))
            return syntax(h, "expected ':' after a key");
        if (strcmp(key, "descr") == 0 && !h->has_descr) {
            skip_space(h);
            if (h->p < h->end && *h->p == '[')
                return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: structured dtypes (byte "
                                 "offset %zu) are not supported", h->func, h->name,
                                 offset(h));
            s = string(h, h->descr, sizeof h->descr);
            h->has_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !h->has_order) {
            s = boolean(h, &h->fortran);
            h->has_order = 1;
        } else if (strcmp(key, "shape") == 0 && !h->has_shape) {
            s = tuple(h);
            h->has_shape = 1;
        } else {
            return syntax(h, "unknown or repeated key");
        }
        if (s != BGM_OK)
            return s;
        if (!accept(h, ',')) {
            if (!accept(h, '}'))
                return syntax(h, "expected ',' or '}'");
            break;
        }
    }
    if (!h->has_descr || !h->has_order || !h->has_shape)
        return syntax(h, "the dict lacks 'descr', 'fortran_order' or 'shape'");
    return BGM_OK;
}

static bgm_status pick_type(const npy_header *h, enum npy_type *t)
{
    const char *d = h->descr;
    if (strcmp(d, "<f4") == 0)
        *t = NPY_F4;
    else if (strcmp(d, "<i4") == 0)
        *t = NPY_I4;
    else if (strcmp(d, "|u1") == 0 || strcmp(d, "<u1") == 0 || strcmp(d, ">u1") == 0)
        *t = NPY_U1;
    else
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: dtype '%s' is not supported: use "
                         "float32 ('<f4'), int32 ('<i4') or uint8 ('|u1'), e.g. "
                         "arr.astype(numpy.float32)", h->func, h->name, d);
    return BGM_OK;
}

bgm_status bgm__npy_parse(bgm_tensor **out, const char *func, const char *name,
                          const unsigned char *buf, size_t len)
{
    char ds[BGM__SHAPE_STR_SIZE];
    size_t start, hlen, data, avail, elem, i;
    enum npy_type type = NPY_F4;
    int64_t numel;
    npy_header h;
    bgm_status s;
    *out = NULL;
    if (len < MAGIC_LEN || memcmp(buf, MAGIC, MAGIC_LEN) != 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: bad magic at byte offset 0: not a .npy "
                         "file (expected \\x93NUMPY)", func, name);
    if (len < 10)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: truncated .npy preamble: the file ends at "
                         "byte offset %zu", func, name, len);
    if (buf[6] == 1) {
        start = 10;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else if (buf[6] == 2 || buf[6] == 3) {
        if (len < 12)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: truncated .npy preamble: the file "
                             "ends at byte offset %zu", func, name, len);
        start = 12;
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 |
               (size_t)buf[11] << 24;
    } else {
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: .npy format version %u.%u (byte "
                         "offset 6) is not supported (1.0, 2.0 and 3.0 are)", func, name,
                         buf[6], buf[7]);
    }
    if (hlen > len - start)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: the header length %zu at byte offset 8 "
                         "runs past the end of the file (%zu bytes)", func, name, hlen, len);
    memset(&h, 0, sizeof h);
    h.func = func;
    h.name = name;
    h.start = h.p = buf + start;
    h.end = buf + start + hlen;
    h.base = start;
    s = dict(&h);
    if (s != BGM_OK)
        return s;
    if (h.fortran)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: Fortran-order arrays are not "
                         "supported; save numpy.ascontiguousarray(arr) instead", func, name);
    s = pick_type(&h, &type);
    if (s != BGM_OK)
        return s;
    data = start + hlen;
    avail = len - data;
    elem = type == NPY_U1 ? 1 : 4;
    if (!bgm__dims_fit(h.shape, h.ndim, elem, avail, &numel))
        return bgm__fail(BGM_E_FORMAT, "%s: %s: shape %s needs more data than the %zu "
                         "bytes from byte offset %zu to the end of the file (truncated "
                         "file or bad shape)", func, name,
                         bgm__shape_str(ds, sizeof ds, h.shape, h.ndim), avail, data);
    if ((size_t)numel * elem != avail)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: %zu unexpected bytes after the data, from "
                         "byte offset %zu", func, name, avail - (size_t)numel * elem,
                         data + (size_t)numel * elem);
    s = bgm__tensor_new(out, func, type == NPY_I4 ? BGM_INT32 : BGM_FLOAT32, h.shape,
                        h.ndim);
    if (s != BGM_OK)
        return s;
    if (type == NPY_U1) {
        float *x = (*out)->data;
        for (i = 0; i < (size_t)numel; i++)
            x[i] = (float)buf[data + i];
    } else if (numel > 0) {
        memcpy((*out)->data, buf + data, (size_t)numel * 4);
        if (!host_is_little_endian())
            swap4((*out)->data, (size_t)numel);
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_npy_load(bgm_tensor **out, const char *path)
{
    static const char *fn = "bgm_npy_load";
    bgm__blob blob;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    s = bgm__read_file(&blob, fn, path);
    if (s != BGM_OK)
        return s;
    s = bgm__npy_parse(out, fn, path, blob.data, blob.size);
    bgm__blob_free(&blob);
    return s;
}

typedef struct writer {
    const bgm_tensor *t;
    const char *header;
    size_t header_len;
} writer;

static int write_npy(FILE *f, void *ctx)
{
    const writer *w = ctx;
    const unsigned char *p = bgm_tensor_data(w->t);
    size_t n = bgm_tensor_nbytes(w->t), off;
    unsigned char chunk[1 << 14];
    if (fwrite(w->header, 1, w->header_len, f) != w->header_len)
        return errno ? errno : EIO;
    if (host_is_little_endian())
        return n && fwrite(p, 1, n, f) != n ? (errno ? errno : EIO) : 0;
    for (off = 0; off < n; off += sizeof chunk) {
        size_t k = n - off < sizeof chunk ? n - off : sizeof chunk;
        memcpy(chunk, p + off, k);
        swap4(chunk, k / 4);
        if (fwrite(chunk, 1, k, f) != k)
            return errno ? errno : EIO;
    }
    return 0;
}

/* Preamble and dict padded with spaces and a newline to a multiple of 64 bytes,
 * as numpy writes it (version 1.0: the dict is always short enough). */
static size_t format_header(char *buf, size_t size, const bgm_tensor *t)
{
    const int64_t *shape = bgm_tensor_shape(t);
    int ndim = bgm_tensor_ndim(t), i;
    size_t n, total, hlen;
    n = (size_t)snprintf(buf + 10, size - 10, "{'descr': '%s', 'fortran_order': False, "
                         "'shape': (", bgm_tensor_dtype(t) == BGM_INT32 ? "<i4" : "<f4");
    for (i = 0; i < ndim; i++)
        n += (size_t)snprintf(buf + 10 + n, size - 10 - n, i ? ", %lld" : "%lld",
                              (long long)shape[i]);
    n += (size_t)snprintf(buf + 10 + n, size - 10 - n, "%s), }", ndim == 1 ? "," : "");
    total = (10 + n + 1 + 63) / 64 * 64;
    hlen = total - 10;
    memset(buf + 10 + n, ' ', total - 10 - n - 1);
    buf[total - 1] = '\n';
    memcpy(buf, MAGIC, MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (char)(hlen & 0xff);
    buf[9] = (char)(hlen >> 8);
    return total;
}

BGM_API bgm_status bgm_npy_save(const bgm_tensor *t, const char *path)
{
    static const char *fn = "bgm_npy_save";
    char header[512];
    writer w;
    BGM__CHECK_NULL(t, fn);
    BGM__CHECK_NULL(path, fn);
    if (bgm_tensor_dtype(t) != BGM_FLOAT32 && bgm_tensor_dtype(t) != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: unknown dtype %d", fn, (int)bgm_tensor_dtype(t));
    w.t = t;
    w.header = header;
    w.header_len = format_header(header, sizeof header, t);
    return bgm__atomic_write(fn, path, write_npy, &w);
}
