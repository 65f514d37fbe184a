/* bgm_dataset: construction, accessors, and datasets derived from datasets. */
#include "dataset_impl.h"

#include <stdio.h>
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

/* How messages name tensor i of a dataset of nx features and ny targets
 * tensors: "features" and "targets" for a pair, else "xs[i]" / "ys[j]". */
static const char *label(char *buf, size_t size, int i, int nx, int ny)
{
    if (nx == 1 && ny <= 1)
        return i == 0 ? "features" : "targets";
    snprintf(buf, size, i < nx ? "xs[%d]" : "ys[%d]", i < nx ? i : i - nx);
    return buf;
}

/* Tensor i of the two lists xs[0..nx), ys. */
static const bgm_tensor *nth(const bgm_tensor *const *xs, int nx, const bgm_tensor *const *ys,
                             int i)
{
    return i < nx ? xs[i] : ys[i - nx];
}

/* Checks that xs[0..nx) and ys[0..ny) can form a dataset. */
static bgm_status check_all(const char *func, const bgm_tensor *const *xs, int nx,
                            const bgm_tensor *const *ys, int ny)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE], la[24], lb[24];
    int i;
    for (i = 0; i < nx + ny; i++) {
        const bgm_tensor *t = nth(xs, nx, ys, i);
        const char *what = label(la, sizeof la, i, nx, ny);
        int target = i >= nx;
        if (!t)
            return bgm__fail(BGM_E_INVALID, "%s: %s is NULL", func, what);
        if (t->ndim < 1)
            return bgm__fail(BGM_E_INVALID, "%s: %s must have a first (sample) "
                             "dimension, got a scalar", func, what);
        if (t->dtype != BGM_FLOAT32 && t->dtype != BGM_INT32)
            return bgm__fail(BGM_E_DTYPE, target ? "%s: %s must be int32 or float32, got %s"
                             : "%s: %s must be float32 or int32 (token ids), got %s",
                             func, what, dtype_name(t->dtype));
        if (t->storage == NULL)
            return bgm__fail(BGM_E_STATE, "%s: the %s tensor is owned by a tape; "
                             "clone it first", func, what);
        if (t->shape[0] != xs[0]->shape[0])
            return bgm__fail(BGM_E_SHAPE, "%s: %s %s and %s %s hold different "
                             "sample counts (%lld and %lld)", func,
                             label(lb, sizeof lb, 0, nx, ny),
                             bgm__tensor_shape_str(a, sizeof a, xs[0]), what,
                             bgm__tensor_shape_str(b, sizeof b, t),
                             (long long)xs[0]->shape[0], (long long)t->shape[0]);
    }
    return BGM_OK;
}

bgm_status bgm__dataset_check(const char *func, const bgm_tensor *x, const bgm_tensor *y)
{
    BGM__CHECK_NULL(x, func);
    return check_all(func, &x, 1, &y, y ? 1 : 0);
}

bgm_status bgm__dataset_need_pair(const char *func, const bgm_dataset *ds)
{
    if (ds->nx == 1 && ds->ny <= 1)
        return BGM_OK;
    return bgm__fail(BGM_E_INVALID, "%s: the dataset holds %d features and %d targets "
                     "tensors; this function takes a dataset of one features tensor and at "
                     "most one targets tensor", func, ds->nx, ds->ny);
}

/* New dataset with room for nx features and ny targets tensors, all NULL
 * until the caller fills them and calls seal(). */
static bgm_dataset *dataset_new(const char *func, int nx, int ny)
{
    bgm_dataset *ds = calloc(1, sizeof *ds);
    if (ds)
        ds->t = calloc((size_t)(nx + ny), sizeof *ds->t);
    if (!ds || !ds->t) {
        free(ds);
        bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
        return NULL;
    }
    ds->nx = nx;
    ds->ny = ny;
    return ds;
}

/* Points x and y at the first tensor of each role. */
static void seal(bgm_dataset *ds)
{
    ds->x = ds->t[0];
    ds->y = ds->ny > 0 ? ds->t[ds->nx] : NULL;
}

bgm_status bgm__dataset_adopt(bgm_dataset **out, const char *func, bgm_tensor *x,
                              bgm_tensor *y)
{
    bgm_dataset *ds = NULL;
    bgm_status s = bgm__dataset_check(func, x, y);
    *out = NULL;
    if (s == BGM_OK && !(ds = dataset_new(func, 1, y ? 1 : 0)))
        s = BGM_E_NOMEM;
    if (s != BGM_OK) {
        bgm_tensor_free(x);
        bgm_tensor_free(y);
        return s;
    }
    ds->t[0] = x;
    if (y)
        ds->t[1] = y;
    seal(ds);
    *out = ds;
    return BGM_OK;
}

/* New dataset of views of rows [start, stop) of xs[0..nx) and ys[0..ny).
 * Tape-owned tensors were rejected by check_all, so only allocation can
 * fail here. */
static bgm_status dataset_view(bgm_dataset **out, const char *func,
                               const bgm_tensor *const *xs, int nx,
                               const bgm_tensor *const *ys, int ny, int64_t start,
                               int64_t stop)
{
    bgm_dataset *ds = dataset_new(func, nx, ny);
    bgm_status s = ds ? BGM_OK : BGM_E_NOMEM;
    int i;
    *out = NULL;
    for (i = 0; s == BGM_OK && i < nx + ny; i++)
        s = bgm_tensor_slice(&ds->t[i], nth(xs, nx, ys, i), start, stop);
    if (s != BGM_OK) {
        bgm_dataset_free(ds);
        return s;
    }
    seal(ds);
    *out = ds;
    return BGM_OK;
}

/* dataset_view of every tensor of ds. */
static bgm_status view_of(bgm_dataset **out, const char *func, const bgm_dataset *ds,
                          int64_t start, int64_t stop)
{
    return dataset_view(out, func, (const bgm_tensor *const *)ds->t, ds->nx,
                        (const bgm_tensor *const *)ds->t + ds->nx, ds->ny, start, stop);
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
    return dataset_view(out, fn, &x, 1, &y, y ? 1 : 0, 0, x->shape[0]);
}

BGM_API bgm_status bgm_dataset_from_tensors_multi(bgm_dataset **out,
                                                  const bgm_tensor *const *xs, int nx,
                                                  const bgm_tensor *const *ys, int ny)
{
    static const char *fn = "bgm_dataset_from_tensors_multi";
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(xs, fn);
    if (nx < 1 || ny < 0)
        return bgm__fail(BGM_E_INVALID, "%s: nx = %d and ny = %d; a dataset holds at least "
                         "one features tensor and no negative count of targets", fn, nx, ny);
    if (ny > 0 && !ys)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'ys' is NULL with ny = %d", fn, ny);
    s = check_all(fn, xs, nx, ys, ny);
    if (s != BGM_OK)
        return s;
    return dataset_view(out, fn, xs, nx, ys, ny, 0, xs[0]->shape[0]);
}

BGM_API void bgm_dataset_free(bgm_dataset *ds)
{
    int i;
    if (!ds)
        return;
    for (i = 0; i < ds->nx + ds->ny; i++)
        bgm_tensor_free(ds->t[i]);
    free(ds->t);
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

BGM_API int bgm_dataset_num_feature_tensors(const bgm_dataset *ds)
{
    return ds ? ds->nx : 0;
}

BGM_API int bgm_dataset_num_target_tensors(const bgm_dataset *ds)
{
    return ds ? ds->ny : 0;
}

BGM_API const bgm_tensor *bgm_dataset_feature_tensor(const bgm_dataset *ds, int i)
{
    return ds && i >= 0 && i < ds->nx ? ds->t[i] : NULL;
}

BGM_API const bgm_tensor *bgm_dataset_target_tensor(const bgm_dataset *ds, int i)
{
    return ds && i >= 0 && i < ds->ny ? ds->t[ds->nx + i] : NULL;
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
    bgm_dataset *d;
    bgm_status s;
    int64_t i, size = ds->x->shape[0];
    int k;
    *out = NULL;
    if (n > 0 && !idx)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'indices' is NULL with n = %lld",
                         func, (long long)n);
    for (i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= size)
            return bgm__fail(BGM_E_RANGE, "%s: index %lld at position %lld is outside "
                             "[0, %lld)", func, (long long)idx[i], (long long)i,
                             (long long)size);
    d = dataset_new(func, ds->nx, ds->ny);
    s = d ? BGM_OK : BGM_E_NOMEM;
    for (k = 0; s == BGM_OK && k < ds->nx + ds->ny; k++) {
        s = new_like(&d->t[k], func, ds->t[k], n);
        if (s == BGM_OK)
            bgm__gather_rows(d->t[k], ds->t[k], idx, n);
    }
    if (s != BGM_OK) {
        bgm_dataset_free(d);
        return s;
    }
    seal(d);
    *out = d;
    return BGM_OK;
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
    return view_of(out, fn, ds, 0, at_most_size(ds, n));
}

BGM_API bgm_status bgm_dataset_skip(bgm_dataset **out, const bgm_dataset *ds, int64_t n)
{
    static const char *fn = "bgm_dataset_skip";
    bgm_status s = check_count(out, fn, ds, n);
    if (s != BGM_OK)
        return s;
    return view_of(out, fn, ds, at_most_size(ds, n), ds->x->shape[0]);
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
    char role[24];
    bgm_dataset *d = NULL;
    bgm_status s = BGM_OK;
    int k;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(a, fn);
    BGM__CHECK_NULL(b, fn);
    if (!a->y != !b->y)
        return bgm__fail(BGM_E_INVALID, "%s: the %s dataset has targets and the %s has "
                         "none", fn, a->y ? "first" : "second", a->y ? "second" : "first");
    if (a->nx != b->nx || a->ny != b->ny)
        return bgm__fail(BGM_E_INVALID, "%s: the first dataset holds %d features and %d "
                         "targets tensors, the second %d and %d", fn, a->nx, a->ny, b->nx,
                         b->ny);
    for (k = 0; s == BGM_OK && k < a->nx + a->ny; k++)
        s = check_stackable(fn, label(role, sizeof role, k, a->nx, a->ny), a->t[k], b->t[k]);
    if (s == BGM_OK && !(d = dataset_new(fn, a->nx, a->ny)))
        s = BGM_E_NOMEM;
    for (k = 0; s == BGM_OK && k < a->nx + a->ny; k++)
        s = stack(&d->t[k], fn, a->t[k], b->t[k]);
    if (s != BGM_OK) {
        bgm_dataset_free(d);
        return s;
    }
    seal(d);
    *out = d;
    return BGM_OK;
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
