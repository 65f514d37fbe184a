/* bgm_dataset: construction, accessors, and datasets derived from datasets. */
#include "dataset_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"

int64_t bgm__sample_numel(const bgm_tensor *t)
{
    int64_t n = 1;
    int i;
    for (i = 1; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

void bgm__gather_rows(bgm_tensor *dst, const bgm_tensor *src, const int64_t *idx, int64_t n)
{
    size_t row = (size_t)bgm__sample_numel(src) * bgm_dtype_size(src->dtype);
    const char *from = src->data;
    char *to = dst->data;
    int64_t i;
    if (row == 0)
        return;
    for (i = 0; i < n; i++)
        memcpy(to + (size_t)i * row, from + (size_t)idx[i] * row, row);
}

void bgm__permutation(int64_t *idx, int64_t n, bgm_rng *rng)
{
    int64_t i, j, tmp;
    for (i = 0; i < n; i++)
        idx[i] = i;
    for (i = n - 1; i > 0; i--) {
        j = (int64_t)bgm__rng_below(rng, (uint64_t)i + 1);
        tmp = idx[i];
        idx[i] = idx[j];
        idx[j] = tmp;
    }
}

static const char *dtype_name(bgm_dtype d)
{
    switch (d) {
    case BGM_FLOAT32: return "float32";
    case BGM_INT32: return "int32";
    }
    return "unknown";
}

bgm_status bgm__dataset_check(const char *func, const bgm_tensor *x, const bgm_tensor *y)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    BGM__CHECK_NULL(x, func);
    if (x->ndim < 1)
        return bgm__fail(BGM_E_INVALID, "%s: features must have a first (sample) "
                         "dimension, got a scalar", func);
    if (x->dtype != BGM_FLOAT32 && x->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: features must be float32 or int32 (token "
                         "ids), got %s", func, dtype_name(x->dtype));
    if (x->storage == NULL)
        return bgm__fail(BGM_E_STATE, "%s: the features tensor is owned by a tape; "
                         "clone it first", func);
    if (!y)
        return BGM_OK;
    if (y->ndim < 1)
        return bgm__fail(BGM_E_INVALID, "%s: targets must have a first (sample) "
                         "dimension, got a scalar", func);
    if (y->dtype != BGM_INT32 && y->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: targets must be int32 or float32, got %s",
                         func, dtype_name(y->dtype));
    if (y->storage == NULL)
        return bgm__fail(BGM_E_STATE, "%s: the targets tensor is owned by a tape; "
                         "clone it first", func);
    if (y->shape[0] != x->shape[0])
        return bgm__fail(BGM_E_SHAPE, "%s: features %s and targets %s hold different "
                         "sample counts (%lld and %lld)", func,
                         bgm__tensor_shape_str(a, sizeof a, x),
                         bgm__tensor_shape_str(b, sizeof b, y),
                         (long long)x->shape[0], (long long)y->shape[0]);
    return BGM_OK;
}

bgm_status bgm__dataset_adopt(bgm_dataset **out, const char *func, bgm_tensor *x,
                              bgm_tensor *y)
{
    bgm_dataset *ds;
    bgm_status s = bgm__dataset_check(func, x, y);
    *out = NULL;
    if (s != BGM_OK)
        goto fail;
    ds = malloc(sizeof *ds);
    if (!ds) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
        goto fail;
    }
    ds->x = x;
    ds->y = y;
    *out = ds;
    return BGM_OK;
fail:
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

/* A view of rows [start, stop) of t (none for NULL t). Tape-owned tensors were
 * rejected by bgm__dataset_check, so only allocation can fail here. */
static bgm_status view_rows(bgm_tensor **out, const bgm_tensor *t, int64_t start,
                            int64_t stop)
{
    *out = NULL;
    return t ? bgm_tensor_slice(out, t, start, stop) : BGM_OK;
}

static bgm_status dataset_view(bgm_dataset **out, const char *func, const bgm_tensor *x,
                               const bgm_tensor *y, int64_t start, int64_t stop)
{
    bgm_tensor *vx = NULL, *vy = NULL;
    bgm_status s = view_rows(&vx, x, start, stop);
    if (s == BGM_OK)
        s = view_rows(&vy, y, start, stop);
    if (s != BGM_OK) {
        bgm_tensor_free(vx);
        return s;
    }
    return bgm__dataset_adopt(out, func, vx, vy);
}

BGM_API bgm_status bgm_dataset_from_tensors(bgm_dataset **out, const bgm_tensor *x,
                                            const bgm_tensor *y)
{
    static const char *fn = "bgm_dataset_from_tensors";
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = bgm__dataset_check(fn, x, y);
    if (s != BGM_OK)
        return s;
    return dataset_view(out, fn, x, y, 0, x->shape[0]);
}

BGM_API void bgm_dataset_free(bgm_dataset *ds)
{
    if (!ds)
        return;
    bgm_tensor_free(ds->x);
    bgm_tensor_free(ds->y);
    free(ds);
}

BGM_API int64_t bgm_dataset_size(const bgm_dataset *ds) { return ds ? ds->x->shape[0] : 0; }

BGM_API const bgm_tensor *bgm_dataset_features(const bgm_dataset *ds)
{
    return ds ? ds->x : NULL;
}

BGM_API const bgm_tensor *bgm_dataset_targets(const bgm_dataset *ds)
{
    return ds ? ds->y : NULL;
}

BGM_API const int64_t *bgm_dataset_element_shape(const bgm_dataset *ds, int *ndim)
{
    if (ndim)
        *ndim = ds ? ds->x->ndim - 1 : 0;
    return ds ? ds->x->shape + 1 : NULL;
}

/* New caller-owned tensor shaped like t but with n samples, uninitialized. */
static bgm_status new_like(bgm_tensor **out, const char *func, const bgm_tensor *t,
                           int64_t n)
{
    int64_t shape[BGM_MAX_DIMS];
    *out = NULL;
    if (!t)
        return BGM_OK;
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = n;
    return bgm__tensor_new(out, func, t->dtype, shape, t->ndim);
}

bgm_status bgm__dataset_gather(bgm_dataset **out, const char *func, const bgm_dataset *ds,
                               const int64_t *idx, int64_t n)
{
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s;
    int64_t i, size = ds->x->shape[0];
    *out = NULL;
    if (n > 0 && !idx)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'indices' is NULL with n = %lld",
                         func, (long long)n);
    for (i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= size)
            return bgm__fail(BGM_E_RANGE, "%s: index %lld at position %lld is outside "
                             "[0, %lld)", func, (long long)idx[i], (long long)i,
                             (long long)size);
    s = new_like(&x, func, ds->x, n);
    if (s == BGM_OK)
        s = new_like(&y, func, ds->y, n);
    if (s != BGM_OK) {
        bgm_tensor_free(x);
        return s;
    }
    bgm__gather_rows(x, ds->x, idx, n);
    if (y)
        bgm__gather_rows(y, ds->y, idx, n);
    return bgm__dataset_adopt(out, func, x, y);
}

BGM_API bgm_status bgm_dataset_shuffle(bgm_dataset **out, const bgm_dataset *ds,
                                       uint64_t seed)
{
    static const char *fn = "bgm_dataset_shuffle";
    bgm_rng rng;
    int64_t *idx, n;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ds, fn);
    n = ds->x->shape[0];
    idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
    if (!idx)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", fn,
                         (long long)n);
    bgm__rng_seed(&rng, seed);
    bgm__permutation(idx, n, &rng);
    s = bgm__dataset_gather(out, fn, ds, idx, n);
    free(idx);
    return s;
}

/* Checks the arguments of take, skip and subset (n: a sample count); sets *out
 * = NULL. */
static bgm_status check_count(bgm_dataset **out, const char *func, const bgm_dataset *ds,
                              int64_t n)
{
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    BGM__CHECK_NULL(ds, func);
    if (n < 0)
        return bgm__fail(BGM_E_INVALID, "%s: count %lld is negative", func, (long long)n);
    return BGM_OK;
}

/* n, or the dataset's size when that is smaller. */
static int64_t at_most_size(const bgm_dataset *ds, int64_t n)
{
    return n < ds->x->shape[0] ? n : ds->x->shape[0];
}

BGM_API bgm_status bgm_dataset_take(bgm_dataset **out, const bgm_dataset *ds, int64_t n)
{
    static const char *fn = "bgm_dataset_take";
    bgm_status s = check_count(out, fn, ds, n);
    if (s != BGM_OK)
        return s;
    return dataset_view(out, fn, ds->x, ds->y, 0, at_most_size(ds, n));
}

BGM_API bgm_status bgm_dataset_skip(bgm_dataset **out, const bgm_dataset *ds, int64_t n)
{
    static const char *fn = "bgm_dataset_skip";
    bgm_status s = check_count(out, fn, ds, n);
    if (s != BGM_OK)
        return s;
    return dataset_view(out, fn, ds->x, ds->y, at_most_size(ds, n), ds->x->shape[0]);
}

/* Checks that a and b's tensors of one role (features or targets) can be stacked. */
static bgm_status check_stackable(const char *func, const char *role, const bgm_tensor *a,
                                  const bgm_tensor *b)
{
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    int i, same = a->ndim == b->ndim;
    if (a->dtype != b->dtype)
        return bgm__fail(BGM_E_DTYPE, "%s: %s dtypes differ: first dataset %s, second %s",
                         func, role, dtype_name(a->dtype), dtype_name(b->dtype));
    for (i = 1; same && i < a->ndim; i++)
        same = a->shape[i] == b->shape[i];
    if (!same)
        return bgm__fail(BGM_E_SHAPE, "%s: %s shapes differ after the sample dimension: "
                         "first dataset %s, second %s", func, role,
                         bgm__tensor_shape_str(sa, sizeof sa, a),
                         bgm__tensor_shape_str(sb, sizeof sb, b));
    return BGM_OK;
}

/* Stacks a's rows then b's rows into a new tensor. */
static bgm_status stack(bgm_tensor **out, const char *func, const bgm_tensor *a,
                        const bgm_tensor *b)
{
    size_t na = bgm_tensor_nbytes(a), nb = bgm_tensor_nbytes(b);
    bgm_status s;
    if (a->shape[0] > INT64_MAX - b->shape[0])
        return bgm__fail(BGM_E_NOMEM, "%s: sample count overflows", func);
    s = new_like(out, func, a, a->shape[0] + b->shape[0]);
    if (s != BGM_OK)
        return s;
    if (na)
        memcpy((*out)->data, a->data, na);
    if (nb)
        memcpy((char *)(*out)->data + na, b->data, nb);
    return BGM_OK;
}

BGM_API bgm_status bgm_dataset_concatenate(bgm_dataset **out, const bgm_dataset *a,
                                           const bgm_dataset *b)
{
    static const char *fn = "bgm_dataset_concatenate";
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(a, fn);
    BGM__CHECK_NULL(b, fn);
    if (!a->y != !b->y)
        return bgm__fail(BGM_E_INVALID, "%s: the %s dataset has targets and the %s has "
                         "none", fn, a->y ? "first" : "second", a->y ? "second" : "first");
    s = check_stackable(fn, "features", a->x, b->x);
    if (s == BGM_OK && a->y)
        s = check_stackable(fn, "targets", a->y, b->y);
    if (s == BGM_OK)
        s = stack(&x, fn, a->x, b->x);
    if (s == BGM_OK && a->y)
        s = stack(&y, fn, a->y, b->y);
    if (s != BGM_OK) {
        bgm_tensor_free(x);
        return s;
    }
    return bgm__dataset_adopt(out, fn, x, y);
}

BGM_API bgm_status bgm_dataset_subset(bgm_dataset **out, const bgm_dataset *ds,
                                      const int64_t *indices, int64_t n)
{
    static const char *fn = "bgm_dataset_subset";
    bgm_status s = check_count(out, fn, ds, n);
    if (s != BGM_OK)
        return s;
    return bgm__dataset_gather(out, fn, ds, indices, n);
}
