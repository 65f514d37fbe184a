/* CIFAR-10 / CIFAR-100 binary batches: fixed-size records of label byte(s)
 * followed by a 32x32x3 image stored channel-major (CHW), read into NHWC. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "dataset_impl.h"
#include "fileio.h"
#include "parsers.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define PIXELS (3 * PLANE)

static size_t label_bytes(bgm_cifar_kind kind) { return kind == BGM_CIFAR10 ? 1 : 2; }

bgm_status bgm__cifar_count(int64_t *records, const char *func, const char *name,
                            const unsigned char *buf, size_t len, bgm_cifar_kind kind)
{
    size_t lb = label_bytes(kind), rec = lb + PIXELS, n, r;
    *records = 0;
    if (len == 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: the file is empty (expected %zu-byte "
                         "records)", func, name, rec);
    if (len % rec != 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: size %zu is not a whole number of "
                         "%zu-byte records: the record at byte offset %zu is truncated%s",
                         func, name, len, rec, len - len % rec,
                         kind == BGM_CIFAR10 && len % (rec + 1) == 0 ?
                         " (is this a CIFAR-100 file?)" :
                         kind != BGM_CIFAR10 && len % (rec - 1) == 0 ?
                         " (is this a CIFAR-10 file?)" : "");
    n = len / rec;
    for (r = 0; r < n; r++) {
        const unsigned char *p = buf + r * rec;
        if (kind == BGM_CIFAR10 && p[0] > 9)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: label %u at byte offset %zu (record "
                             "%zu) is outside 0..9", func, name, p[0], r * rec, r);
        if (kind != BGM_CIFAR10 && p[0] > 19)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: coarse label %u at byte offset %zu "
                             "(record %zu) is outside 0..19", func, name, p[0], r * rec, r);
        if (kind != BGM_CIFAR10 && p[1] > 99)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: fine label %u at byte offset %zu "
                             "(record %zu) is outside 0..99", func, name, p[1],
                             r * rec + 1, r);
    }
    *records = (int64_t)n;
    return BGM_OK;
}

void bgm__cifar_convert(float *x, int32_t *y, const unsigned char *buf, int64_t n,
                        bgm_cifar_kind kind)
{
    size_t lb = label_bytes(kind), rec = lb + PIXELS;
    int64_t r;
    int i, c;
    for (r = 0; r < n; r++) {
        const unsigned char *p = buf + (size_t)r * rec;
        float *img = x + (size_t)r * PIXELS;
        y[r] = kind == BGM_CIFAR100_FINE ? p[1] : p[0];
        for (i = 0; i < PLANE; i++)
            for (c = 0; c < 3; c++)
                img[i * 3 + c] = (float)p[lb + (size_t)c * PLANE + i];
    }
}

BGM_API bgm_status bgm_dataset_load_cifar(bgm_dataset **out, const char *const *paths,
                                          int npaths, bgm_cifar_kind kind)
{
    static const char *fn = "bgm_dataset_load_cifar";
    bgm__blob *blobs = NULL;
    int64_t *counts = NULL, total = 0, done = 0;
    int64_t xshape[4] = {0, SIDE, SIDE, 3}, yshape[1];
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s = BGM_OK;
    int i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(paths, fn);
    if (npaths < 1)
        return bgm__fail(BGM_E_INVALID, "%s: npaths must be >= 1, got %d", fn, npaths);
    if (kind != BGM_CIFAR10 && kind != BGM_CIFAR100_FINE && kind != BGM_CIFAR100_COARSE)
        return bgm__fail(BGM_E_INVALID, "%s: unknown kind %d (use BGM_CIFAR10, "
                         "BGM_CIFAR100_FINE or BGM_CIFAR100_COARSE)", fn, (int)kind);
    for (i = 0; i < npaths; i++)
        if (!paths[i])
            return bgm__fail(BGM_E_INVALID, "%s: paths[%d] is NULL", fn, i);
    blobs = calloc((size_t)npaths, sizeof *blobs);
    counts = calloc((size_t)npaths, sizeof *counts);
    if (!blobs || !counts) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto done;
    }
    /* Read and validate every file before allocating the result. */
    for (i = 0; i < npaths && s == BGM_OK; i++) {
        s = bgm__read_file(&blobs[i], fn, paths[i]);
        if (s == BGM_OK)
            s = bgm__cifar_count(&counts[i], fn, paths[i], blobs[i].data, blobs[i].size,
                                 kind);
        total += counts[i];
    }
    if (s != BGM_OK)
        goto done;
    xshape[0] = yshape[0] = total;
    s = bgm__tensor_new(&x, fn, BGM_FLOAT32, xshape, 4);
    if (s == BGM_OK)
        s = bgm__tensor_new(&y, fn, BGM_INT32, yshape, 1);
    if (s != BGM_OK)
        goto done;
    for (i = 0; i < npaths; i++) {
        bgm__cifar_convert((float *)x->data + done * PIXELS, (int32_t *)y->data + done,
                           blobs[i].data, counts[i], kind);
        done += counts[i];
        bgm__blob_free(&blobs[i]);
    }
    s = bgm__dataset_adopt(out, fn, x, y);
    x = y = NULL;
done:
    for (i = 0; blobs && i < npaths; i++)
        bgm__blob_free(&blobs[i]);
    free(blobs);
    free(counts);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}
