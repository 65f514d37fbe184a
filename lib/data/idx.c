/* IDX files (MNIST, Fashion-MNIST): images, labels, and the pair as a dataset.
 * Layout: 0x00 0x00, a type byte, a dimension count, big-endian uint32
 * dimensions, then the elements. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "dataset_impl.h"
#include "fileio.h"
#include "parsers.h"

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return NULL;
}

bgm_status bgm__idx_parse(bgm_tensor **out, const char *func, const char *name,
                          const unsigned char *buf, size_t len, int want_ndim)
{
    char ds[BGM__SHAPE_STR_SIZE];
    int64_t dims[4], shape[4], numel;
    size_t header, i, avail;
    const char *what = want_ndim == 3 ? "idx3 images" : "idx1 labels";
    bgm_status s;
    int d, ndim;
    *out = NULL;
    if (len < 4)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: truncated IDX header: the file ends at "
                         "byte offset %zu, the header needs 4 bytes", func, name, len);
    if (buf[0] != 0 || buf[1] != 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: bad magic 0x%02x%02x at byte offset 0: "
                         "not an IDX file (expected 0x0000)", func, name, buf[0], buf[1]);
    if (!type_name(buf[2]))
        return bgm__fail(BGM_E_FORMAT, "%s: %s: unknown IDX element type 0x%02x at byte "
                         "offset 2", func, name, buf[2]);
    ndim = buf[3];
    if (ndim != want_ndim)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: the file has %d dimensions (byte offset "
                         "3), expected %d for %s", func, name, ndim, want_ndim, what);
    if (buf[2] != 0x08)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: element type %s (0x%02x at byte "
                         "offset 2) is not supported; %s must be unsigned bytes", func,
                         name, type_name(buf[2]), buf[2], what);
    header = 4 + 4 * (size_t)ndim;
    if (len < header)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: truncated IDX header: the file ends at "
                         "byte offset %zu, the header needs %zu bytes", func, name, len,
                         header);
    for (d = 0; d < ndim; d++)
        dims[d] = bgm__be32(buf + 4 + 4 * d);
    avail = len - header;
    if (!bgm__dims_fit(dims, ndim, 1, avail, &numel))
        return bgm__fail(BGM_E_FORMAT, "%s: %s: dimensions %s declared in the header need "
                         "more data than the %zu bytes from byte offset %zu to the end "
                         "of the file (truncated file or bad dimensions)", func, name,
                         bgm__shape_str(ds, sizeof ds, dims, ndim), avail, header);
    if ((size_t)numel != avail)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: %zu unexpected bytes after the data, "
                         "from byte offset %zu", func, name, avail - (size_t)numel,
                         header + (size_t)numel);
    memcpy(shape, dims, sizeof dims);
    if (want_ndim == 3) {
        shape[3] = 1;
        s = bgm__tensor_new(out, func, BGM_FLOAT32, shape, 4);
        if (s == BGM_OK) {
            float *x = (*out)->data;
            for (i = 0; i < (size_t)numel; i++)
                x[i] = (float)buf[header + i];
        }
    } else {
        s = bgm__tensor_new(out, func, BGM_INT32, shape, 1);
        if (s == BGM_OK) {
            int32_t *y = (*out)->data;
            for (i = 0; i < (size_t)numel; i++)
                y[i] = buf[header + i];
        }
    }
    return s;
}

static bgm_status load(bgm_tensor **out, const char *func, const char *path, int ndim)
{
    bgm__blob blob;
    bgm_status s;
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    BGM__CHECK_NULL(path, func);
    s = bgm__read_file(&blob, func, path);
    if (s != BGM_OK)
        return s;
    s = bgm__idx_parse(out, func, path, blob.data, blob.size, ndim);
    if (s != BGM_OK && blob.gzipped && s == BGM_E_FORMAT) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        bgm__fail(s, "%s (offsets count decompressed bytes)", msg);
    }
    bgm__blob_free(&blob);
    return s;
}

BGM_API bgm_status bgm_idx_load_images(bgm_tensor **out, const char *path)
{
    return load(out, "bgm_idx_load_images", path, 3);
}

BGM_API bgm_status bgm_idx_load_labels(bgm_tensor **out, const char *path)
{
    return load(out, "bgm_idx_load_labels", path, 1);
}

BGM_API bgm_status bgm_dataset_load_idx(bgm_dataset **out, const char *images_path,
                                        const char *labels_path)
{
    static const char *fn = "bgm_dataset_load_idx";
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(images_path, fn);
    BGM__CHECK_NULL(labels_path, fn);
    s = load(&x, fn, images_path, 3);
    if (s != BGM_OK)
        return s;
    s = load(&y, fn, labels_path, 1);
    if (s != BGM_OK) {
        bgm_tensor_free(x);
        return s;
    }
    if (x->shape[0] != y->shape[0]) {
        s = bgm__fail(BGM_E_SHAPE, "%s: %s holds %lld images but %s holds %lld labels",
                      fn, images_path, (long long)x->shape[0], labels_path,
                      (long long)y->shape[0]);
        bgm_tensor_free(x);
        bgm_tensor_free(y);
        return s;
    }
    return bgm__dataset_adopt(out, fn, x, y);
}
