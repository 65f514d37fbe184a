/* bgm_tensor: creation, views, accessors and copies. */
#include "tensor_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

BGM_API size_t bgm_dtype_size(bgm_dtype dtype)
{
    switch (dtype) {
    case BGM_FLOAT32: return 4;
    case BGM_INT32: return 4;
    }
    return 0;
}

bgm_status bgm__check_shape(const char *func, bgm_dtype dtype, const int64_t *shape,
                            int ndim, int64_t *numel)
{
    int64_t n = 1;
    int i;
    if (bgm_dtype_size(dtype) == 0)
        return bgm__fail(BGM_E_INVALID, "%s: unknown dtype %d", func, (int)dtype);
    if (ndim < 0 || ndim > BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: ndim %d is outside 0..%d", func, ndim,
                         BGM_MAX_DIMS);
    if (ndim > 0 && shape == NULL)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'shape' is NULL with ndim %d",
                         func, ndim);
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return bgm__fail(BGM_E_INVALID, "%s: dimension %d is negative (%lld)", func,
                             i, (long long)shape[i]);
        if (shape[i] != 0 && n > INT64_MAX / 16 / shape[i])
            return bgm__fail(BGM_E_NOMEM, "%s: shape is too large (element count "
                             "overflows at dimension %d)", func, i);
        n *= shape[i];
    }
    *numel = n;
    return BGM_OK;
}

void bgm__tensor_set_meta(bgm_tensor *t, bgm_dtype dtype, const int64_t *shape,
                          int ndim, int64_t numel)
{
    int i;
    t->dtype = dtype;
    t->ndim = ndim;
    for (i = 0; i < BGM_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 0;
    t->numel = numel;
}

char *bgm__tensor_shape_str(char *buf, size_t size, const bgm_tensor *t)
{
    return bgm__shape_str(buf, size, t->shape, t->ndim);
}

static bgm_tensor *handle_new(void)
{
    bgm_tensor *t = calloc(1, sizeof *t);
    if (t)
        t->node = -1;
    return t;
}

static void storage_release(bgm__storage *s)
{
    if (!s || __atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (s->owned)
        bgm__aligned_free(s->data);
    else if (s->deleter)
        s->deleter(s->data, s->ctx);
    free(s);
}

bgm_status bgm__tensor_new(bgm_tensor **out, const char *func, bgm_dtype dtype,
                           const int64_t *shape, int ndim)
{
    int64_t numel;
    size_t nbytes;
    bgm_tensor *t;
    bgm_status s;
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    s = bgm__check_shape(func, dtype, shape, ndim, &numel);
    if (s != BGM_OK)
        return s;
    if (!bgm__mul_size((size_t)numel, bgm_dtype_size(dtype), &nbytes))
        return bgm__fail(BGM_E_NOMEM, "%s: shape is too large", func);
    t = handle_new();
    if (!t)
        goto nomem;
    t->storage = calloc(1, sizeof *t->storage);
    if (!t->storage)
        goto nomem;
    t->storage->data = bgm__aligned_alloc(nbytes);
    if (!t->storage->data)
        goto nomem;
    t->storage->owned = 1;
    t->storage->refcount = 1;
    bgm__tensor_set_meta(t, dtype, shape, ndim, numel);
    t->data = t->storage->data;
    *out = t;
    return BGM_OK;
nomem:
    if (t)
        free(t->storage);
    free(t);
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory allocating %zu bytes", func, nbytes);
}

static void fill_value(bgm_tensor *t, double value)
{
    int64_t i;
    if (t->dtype == BGM_FLOAT32) {
        float *p = t->data, v = (float)value;
        for (i = 0; i < t->numel; i++)
            p[i] = v;
    } else {
        int32_t *p = t->data, v = (int32_t)value;
        for (i = 0; i < t->numel; i++)
            p[i] = v;
    }
}

BGM_API bgm_status bgm_tensor_full(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim, double value)
{
    bgm_status s = bgm__tensor_new(out, "bgm_tensor_full", dtype, shape, ndim);
    if (s == BGM_OK)
        fill_value(*out, value);
    return s;
}

BGM_API bgm_status bgm_tensor_zeros(bgm_tensor **out, bgm_dtype dtype,
                                    const int64_t *shape, int ndim)
{
    bgm_status s = bgm__tensor_new(out, "bgm_tensor_zeros", dtype, shape, ndim);
    if (s == BGM_OK)
        memset((*out)->data, 0, bgm_tensor_nbytes(*out));
    return s;
}

BGM_API bgm_status bgm_tensor_ones(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim)
{
    bgm_status s = bgm__tensor_new(out, "bgm_tensor_ones", dtype, shape, ndim);
    if (s == BGM_OK)
        fill_value(*out, 1.0);
    return s;
}

BGM_API bgm_status bgm_tensor_from_data(bgm_tensor **out, bgm_dtype dtype,
                                        const int64_t *shape, int ndim,
                                        const void *data)
{
    bgm_status s = bgm__tensor_new(out, "bgm_tensor_from_data", dtype, shape, ndim);
    if (s != BGM_OK)
        return s;
    if (data == NULL && (*out)->numel > 0) {
        bgm_tensor_free(*out);
        *out = NULL;
        return bgm__fail(BGM_E_INVALID, "bgm_tensor_from_data: argument 'data' is NULL");
    }
    if ((*out)->numel > 0)
        memcpy((*out)->data, data, bgm_tensor_nbytes(*out));
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_wrap(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim, void *data,
                                   bgm_deleter deleter, void *ctx)
{
    static const char *fn = "bgm_tensor_wrap";
    int64_t numel;
    bgm_tensor *t;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = bgm__check_shape(fn, dtype, shape, ndim, &numel);
    if (s != BGM_OK)
        return s;
    if (data == NULL)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'data' is NULL", fn);
    if ((uintptr_t)data % bgm_dtype_size(dtype) != 0)
        return bgm__fail(BGM_E_INVALID, "%s: data %p is not aligned to %zu bytes", fn,
                         data, bgm_dtype_size(dtype));
    t = handle_new();
    if (!t || !(t->storage = calloc(1, sizeof *t->storage))) {
        free(t);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    t->storage->data = data;
    t->storage->deleter = deleter;
    t->storage->ctx = ctx;
    t->storage->refcount = 1;
    bgm__tensor_set_meta(t, dtype, shape, ndim, numel);
    t->data = data;
    *out = t;
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_clone(bgm_tensor **out, const bgm_tensor *t)
{
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_tensor_clone");
    *out = NULL;
    BGM__CHECK_NULL(t, "bgm_tensor_clone");
    s = bgm__tensor_new(out, "bgm_tensor_clone", t->dtype, t->shape, t->ndim);
    if (s == BGM_OK && t->numel > 0)
        memcpy((*out)->data, t->data, bgm_tensor_nbytes(t));
    return s;
}

/* A new handle over the same memory as t (shared storage, or t's tape arena). */
static bgm_status view_new(bgm_tensor **out, const char *func, const bgm_tensor *t,
                           const int64_t *shape, int ndim, int64_t numel, void *data)
{
    bgm_tensor *v;
    if (t->storage == NULL)
        return bgm__fail(BGM_E_STATE, "%s: the tensor is owned by a tape; use the "
                         "bgm_op_* form to reshape or slice it", func);
    v = handle_new();
    if (!v)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    bgm__tensor_set_meta(v, t->dtype, shape, ndim, numel);
    v->data = data;
    v->storage = t->storage;
    __atomic_add_fetch(&v->storage->refcount, 1, __ATOMIC_RELAXED);
    *out = v;
    return BGM_OK;
}

bgm_status bgm__resolve_reshape(const char *func, const bgm_tensor *t,
                                const int64_t *shape, int ndim, int64_t *resolved)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    int64_t known = 1;
    int i, infer = -1;
    if (ndim < 0 || ndim > BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: ndim %d is outside 0..%d", func, ndim,
                         BGM_MAX_DIMS);
    if (ndim > 0 && shape == NULL)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'shape' is NULL", func);
    for (i = 0; i < ndim; i++) {
        resolved[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0)
                return bgm__fail(BGM_E_INVALID, "%s: more than one dimension is -1",
                                 func);
            infer = i;
        } else if (shape[i] < 0) {
            return bgm__fail(BGM_E_INVALID, "%s: dimension %d is negative (%lld)",
                             func, i, (long long)shape[i]);
        } else {
            if (shape[i] != 0 && known > INT64_MAX / shape[i])
                return bgm__fail(BGM_E_SHAPE, "%s: shape %s overflows", func,
                                 bgm__shape_str(b, sizeof b, shape, ndim));
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known != 0 && t->numel % known == 0) {
            resolved[infer] = t->numel / known;
            return BGM_OK;
        }
    } else if (known == t->numel) {
        return BGM_OK;
    }
    return bgm__fail(BGM_E_SHAPE, "%s: cannot reshape %s (%lld elements) to %s", func,
                     bgm__tensor_shape_str(a, sizeof a, t), (long long)t->numel,
                     bgm__shape_str(b, sizeof b, shape, ndim));
}

BGM_API bgm_status bgm_tensor_reshape(bgm_tensor **out, const bgm_tensor *t,
                                      const int64_t *shape, int ndim)
{
    static const char *fn = "bgm_tensor_reshape";
    int64_t resolved[BGM_MAX_DIMS];
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(t, fn);
    s = bgm__resolve_reshape(fn, t, shape, ndim, resolved);
    if (s != BGM_OK)
        return s;
    return view_new(out, fn, t, resolved, ndim, t->numel, t->data);
}

BGM_API bgm_status bgm_tensor_slice(bgm_tensor **out, const bgm_tensor *t,
                                    int64_t start, int64_t stop)
{
    static const char *fn = "bgm_tensor_slice";
    int64_t shape[BGM_MAX_DIMS], row;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(t, fn);
    if (t->ndim == 0)
        return bgm__fail(BGM_E_INVALID, "%s: cannot slice a scalar", fn);
    if (start < 0 || start > stop || stop > t->shape[0])
        return bgm__fail(BGM_E_RANGE, "%s: rows [%lld, %lld) are outside [0, %lld)", fn,
                         (long long)start, (long long)stop, (long long)t->shape[0]);
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = stop - start;
    row = t->shape[0] ? t->numel / t->shape[0] : 0;
    return view_new(out, fn, t, shape, t->ndim, row * shape[0],
                    (char *)t->data + (size_t)(start * row) * bgm_dtype_size(t->dtype));
}

BGM_API void bgm_tensor_free(bgm_tensor *t)
{
    if (!t || t->tape)
        return;
    storage_release(t->storage);
    free(t);
}

BGM_API int bgm_tensor_ndim(const bgm_tensor *t) { return t ? t->ndim : 0; }

BGM_API int64_t bgm_tensor_dim(const bgm_tensor *t, int i)
{
    if (!t)
        return 0;
    if (i < 0)
        i += t->ndim;
    return i >= 0 && i < t->ndim ? t->shape[i] : 0;
}

BGM_API const int64_t *bgm_tensor_shape(const bgm_tensor *t) { return t ? t->shape : NULL; }

BGM_API bgm_dtype bgm_tensor_dtype(const bgm_tensor *t) { return t ? t->dtype : (bgm_dtype)0; }

BGM_API int64_t bgm_tensor_numel(const bgm_tensor *t) { return t ? t->numel : 0; }

BGM_API size_t bgm_tensor_nbytes(const bgm_tensor *t)
{
    return t ? (size_t)t->numel * bgm_dtype_size(t->dtype) : 0;
}

BGM_API void *bgm_tensor_data(const bgm_tensor *t) { return t ? t->data : NULL; }

BGM_API bgm_status bgm_tensor_copy_to(const bgm_tensor *t, void *buf, size_t nbytes)
{
    static const char *fn = "bgm_tensor_copy_to";
    BGM__CHECK_NULL(t, fn);
    BGM__CHECK_NULL(buf, fn);
    if (nbytes != bgm_tensor_nbytes(t))
        return bgm__fail(BGM_E_SHAPE, "%s: buffer holds %zu bytes, tensor has %zu", fn,
                         nbytes, bgm_tensor_nbytes(t));
    if (nbytes)
        memcpy(buf, t->data, nbytes);
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_copy_from(bgm_tensor *t, const void *buf, size_t nbytes)
{
    static const char *fn = "bgm_tensor_copy_from";
    BGM__CHECK_NULL(t, fn);
    BGM__CHECK_NULL(buf, fn);
    if (nbytes != bgm_tensor_nbytes(t))
        return bgm__fail(BGM_E_SHAPE, "%s: buffer holds %zu bytes, tensor has %zu", fn,
                         nbytes, bgm_tensor_nbytes(t));
    if (nbytes)
        memmove(t->data, buf, nbytes);
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_fill(bgm_tensor *t, double value)
{
    BGM__CHECK_NULL(t, "bgm_tensor_fill");
    fill_value(t, value);
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_axpy(bgm_tensor *y, float alpha, const bgm_tensor *x)
{
    static const char *fn = "bgm_tensor_axpy";
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    float *py;
    const float *px;
    int64_t i;
    BGM__CHECK_NULL(y, fn);
    BGM__CHECK_NULL(x, fn);
    if (y->dtype != BGM_FLOAT32 || x->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: both tensors must be float32", fn);
    if (x->numel != y->numel)
        return bgm__fail(BGM_E_SHAPE, "%s: y %s and x %s differ in element count", fn,
                         bgm__tensor_shape_str(a, sizeof a, y),
                         bgm__tensor_shape_str(b, sizeof b, x));
    py = y->data;
    px = x->data;
    for (i = 0; i < y->numel; i++)
        py[i] += alpha * px[i];
    return BGM_OK;
}
