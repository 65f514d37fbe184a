/* bgm_scaler: feature transforms fitted on training data, and one-hot encoding. */
#include "dataset_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bigmodel/preprocess.h"
#include "core/error.h"
#include "core/tensor_impl.h"

typedef enum scaler_kind {
    KIND_RESCALE,
    KIND_STANDARD,
    KIND_MINMAX,
    KIND_L2
} scaler_kind;

struct bgm_scaler {
    scaler_kind kind;
    bgm_scale_axis axis;
    float max_value;            /* rescale divisor */
    float low, high;            /* min-max target range */
    int fitted;
    int64_t nfeat;              /* features covered by the statistics */
    int sample_ndim;            /* shape of the fitted samples, for checks */
    int64_t sample_shape[BGM_MAX_DIMS];
    /*
     * One block of 4 * nfeat doubles: the statistics users can read back
     * (mean and std, or data min and max), then the two coefficients the
     * transform applies, so applying never allocates.
     */
    double *stats;
};

static const char *kind_name(scaler_kind k)
{
    switch (k) {
    case KIND_RESCALE: return "rescale";
    case KIND_STANDARD: return "standard";
    case KIND_MINMAX: return "min-max";
    case KIND_L2: return "L2-normalize";
    }
    return "unknown";
}

static int is_stateless(const bgm_scaler *sc)
{
    return sc->kind == KIND_RESCALE || sc->kind == KIND_L2;
}

static bgm_status new_scaler(bgm_scaler **out, const char *func, scaler_kind kind,
                             bgm_scale_axis axis)
{
    bgm_scaler *sc;
    if (axis != BGM_SCALE_PER_FEATURE && axis != BGM_SCALE_PER_CHANNEL)
        return bgm__fail(BGM_E_INVALID, "%s: unknown axis %d (use BGM_SCALE_PER_FEATURE "
                         "or BGM_SCALE_PER_CHANNEL)", func, (int)axis);
    sc = calloc(1, sizeof *sc);
    if (!sc)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    sc->kind = kind;
    sc->axis = axis;
    *out = sc;
    return BGM_OK;
}

BGM_API bgm_status bgm_scaler_rescale(bgm_scaler **out, float max_value)
{
    static const char *fn = "bgm_scaler_rescale";
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (max_value == 0.0f || !isfinite(max_value))
        return bgm__fail(BGM_E_INVALID, "%s: max_value must be finite and non-zero, "
                         "got %g", fn, (double)max_value);
    s = new_scaler(out, fn, KIND_RESCALE, BGM_SCALE_PER_FEATURE);
    if (s == BGM_OK)
        (*out)->max_value = max_value;
    return s;
}

BGM_API bgm_status bgm_scaler_standard(bgm_scaler **out, bgm_scale_axis axis)
{
    BGM__CHECK_NULL(out, "bgm_scaler_standard");
    *out = NULL;
    return new_scaler(out, "bgm_scaler_standard", KIND_STANDARD, axis);
}

BGM_API bgm_status bgm_scaler_minmax(bgm_scaler **out, float low, float high,
                                     bgm_scale_axis axis)
{
    static const char *fn = "bgm_scaler_minmax";
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (!isfinite(low) || !isfinite(high) || !(low < high))
        return bgm__fail(BGM_E_INVALID, "%s: the range [low, high] must be finite with "
                         "low < high, got [%g, %g]", fn, (double)low, (double)high);
    s = new_scaler(out, fn, KIND_MINMAX, axis);
    if (s == BGM_OK) {
        (*out)->low = low;
        (*out)->high = high;
    }
    return s;
}

BGM_API bgm_status bgm_scaler_l2_normalize(bgm_scaler **out)
{
    BGM__CHECK_NULL(out, "bgm_scaler_l2_normalize");
    *out = NULL;
    return new_scaler(out, "bgm_scaler_l2_normalize", KIND_L2, BGM_SCALE_PER_FEATURE);
}

BGM_API void bgm_scaler_free(bgm_scaler *sc)
{
    if (!sc)
        return;
    free(sc->stats);
    free(sc);
}

/* Checks what every scaler needs of x: float32 with a sample dimension. */
static bgm_status check_input(const char *func, const bgm_tensor *x)
{
    BGM__CHECK_NULL(x, func);
    if (x->ndim < 1)
        return bgm__fail(BGM_E_INVALID, "%s: x must have a first (sample) dimension, "
                         "got a scalar", func);
    if (x->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: x must be float32, got %s", func,
                         x->dtype == BGM_INT32 ? "int32" : "an unknown dtype");
    return BGM_OK;
}

/* Features per row when x is read as rows of features (see bgm_scale_axis). */
static int64_t feature_period(const bgm_scaler *sc, const bgm_tensor *x)
{
    return sc->axis == BGM_SCALE_PER_CHANNEL ? x->shape[x->ndim - 1] : bgm__sample_numel(x);
}

/* Names the first non-finite element of x by sample and position. */
static bgm_status fail_non_finite(const char *func, const bgm_tensor *x)
{
    const float *v = x->data;
    int64_t i, per = bgm__sample_numel(x);
    for (i = 0; i < x->numel && isfinite(v[i]); i++)
        ;
    return bgm__fail(BGM_E_INVALID, "%s: x holds a non-finite value (%g) at sample %lld, "
                     "element %lld; clean the data before fitting", func,
                     i < x->numel ? (double)v[i] : 0.0, (long long)(per ? i / per : 0),
                     (long long)(per ? i % per : 0));
}

/*
 * Fills stats (4 * p doubles) from x read as rows of p features: mean and
 * std with the centering coefficients, or min and max with the linear map.
 * Returns 0 when x holds a non-finite value.
 */
static int compute_stats(double *stats, const bgm_scaler *sc, const float *x, int64_t rows,
                         int64_t p)
{
    double *first = stats, *second = stats + p, *c1 = stats + 2 * p, *c2 = stats + 3 * p;
    int64_t r, j;
    int finite = 1;
    for (j = 0; j < p; j++) {
        first[j] = sc->kind == KIND_STANDARD ? 0.0 : (double)x[j];
        second[j] = sc->kind == KIND_STANDARD ? 0.0 : (double)x[j];
    }
    for (r = 0; r < rows; r++) {
        const float *row = x + r * p;
        for (j = 0; j < p; j++) {
            double v = row[j];
            finite &= isfinite(row[j]) != 0;
            if (sc->kind == KIND_STANDARD) {
                first[j] += v;
            } else {
                if (v < first[j]) first[j] = v;
                if (v > second[j]) second[j] = v;
            }
        }
    }
    if (!finite)
        return 0;
    if (sc->kind == KIND_STANDARD) {
        /* two passes: the sum of squared deviations keeps its precision */
        for (j = 0; j < p; j++)
            first[j] /= (double)rows;
        for (r = 0; r < rows; r++) {
            const float *row = x + r * p;
            for (j = 0; j < p; j++) {
                double d = row[j] - first[j];
                second[j] += d * d;
            }
        }
        for (j = 0; j < p; j++) {
            second[j] = sqrt(second[j] / (double)rows);
            if (second[j] == 0.0)
                second[j] = 1.0;
            c1[j] = first[j];
            c2[j] = second[j];
        }
    } else {
        for (j = 0; j < p; j++) {
            double range = second[j] - first[j];
            c1[j] = ((double)sc->high - sc->low) / (range == 0.0 ? 1.0 : range);
            c2[j] = sc->low - first[j] * c1[j];
        }
    }
    return 1;
}

BGM_API bgm_status bgm_scaler_fit(bgm_scaler *sc, const bgm_tensor *x)
{
    static const char *fn = "bgm_scaler_fit";
    char sx[BGM__SHAPE_STR_SIZE];
    double *stats;
    int64_t p;
    bgm_status s;
    BGM__CHECK_NULL(sc, fn);
    s = check_input(fn, x);
    if (s != BGM_OK)
        return s;
    if (x->shape[0] == 0)
        return bgm__fail(BGM_E_INVALID, "%s: x %s holds no samples to fit on", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    if (sc->axis == BGM_SCALE_PER_CHANNEL && x->ndim < 2)
        return bgm__fail(BGM_E_SHAPE, "%s: a per-channel scaler needs samples with a "
                         "last (channel) dimension, x has shape %s", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    if (is_stateless(sc))
        return BGM_OK;
    p = feature_period(sc, x);
    if (p == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has samples without elements", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    stats = malloc((size_t)p * 4 * sizeof *stats);
    if (!stats)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld features", fn,
                         (long long)p);
    if (!compute_stats(stats, sc, x->data, x->numel / p, p)) {
        free(stats);
        return fail_non_finite(fn, x);
    }
    free(sc->stats);
    sc->stats = stats;
    sc->nfeat = p;
    sc->sample_ndim = x->ndim - 1;
    memcpy(sc->sample_shape, x->shape + 1, (size_t)(x->ndim - 1) * sizeof x->shape[0]);
    sc->fitted = 1;
    return BGM_OK;
}

BGM_API bgm_status bgm_scaler_fit_dataset(bgm_scaler *sc, const bgm_dataset *ds)
{
    BGM__CHECK_NULL(sc, "bgm_scaler_fit_dataset");
    BGM__CHECK_NULL(ds, "bgm_scaler_fit_dataset");
    if (bgm__dataset_need_pair("bgm_scaler_fit_dataset", ds) != BGM_OK)
        return BGM_E_INVALID;
    return bgm_scaler_fit(sc, ds->x);
}

/* Checks that sc can transform x: fitted, and x's samples fit the statistics. */
static bgm_status check_transform(const char *func, const bgm_scaler *sc,
                                  const bgm_tensor *x)
{
    char fitted[BGM__SHAPE_STR_SIZE], sx[BGM__SHAPE_STR_SIZE], got[BGM__SHAPE_STR_SIZE];
    int same;
    bgm_status s;
    BGM__CHECK_NULL(sc, func);
    s = check_input(func, x);
    if (s != BGM_OK)
        return s;
    if (is_stateless(sc))
        return BGM_OK;
    if (!sc->fitted)
        return bgm__fail(BGM_E_STATE, "%s: the %s scaler is not fitted; call "
                         "bgm_scaler_fit on the training data first", func,
                         kind_name(sc->kind));
    bgm__shape_str(fitted, sizeof fitted, sc->sample_shape, sc->sample_ndim);
    bgm__tensor_shape_str(sx, sizeof sx, x);
    if (sc->axis == BGM_SCALE_PER_CHANNEL) {
        if (x->ndim < 2 || x->shape[x->ndim - 1] != sc->nfeat)
            return bgm__fail(BGM_E_SHAPE, "%s: the scaler was fitted per channel on "
                             "samples of shape %s (%lld channels), but x %s has %s", func,
                             fitted, (long long)sc->nfeat, sx,
                             x->ndim < 2 ? "no channel dimension" : "another channel count");
        return BGM_OK;
    }
    same = x->ndim - 1 == sc->sample_ndim &&
           memcmp(x->shape + 1, sc->sample_shape,
                  (size_t)sc->sample_ndim * sizeof x->shape[0]) == 0;
    if (!same)
        return bgm__fail(BGM_E_SHAPE, "%s: the scaler was fitted on samples of shape %s, "
                         "but x %s has samples of shape %s", func, fitted, sx,
                         bgm__shape_str(got, sizeof got, x->shape + 1, x->ndim - 1));
    return BGM_OK;
}

/* Applies sc to n floats of x in place; the checks have passed. */
static void apply(const bgm_scaler *sc, const bgm_tensor *x, float *v)
{
    int64_t n = x->numel, i, j, p;
    const double *c1, *c2;
    if (sc->kind == KIND_RESCALE) {
        for (i = 0; i < n; i++)
            v[i] /= sc->max_value;
        return;
    }
    if (sc->kind == KIND_L2) {
        int64_t per = bgm__sample_numel(x), r;
        for (r = 0; per > 0 && r < x->shape[0]; r++) {
            float *row = v + r * per;
            double sq = 0.0, norm;
            for (j = 0; j < per; j++)
                sq += (double)row[j] * row[j];
            norm = sqrt(sq);
            if (norm > 0.0)
                for (j = 0; j < per; j++)
                    row[j] = (float)(row[j] / norm);
        }
        return;
    }
    p = sc->nfeat;
    c1 = sc->stats + 2 * p;
    c2 = sc->stats + 3 * p;
    for (i = 0; i < n; i += p) {
        float *row = v + i;
        if (sc->kind == KIND_STANDARD)
            for (j = 0; j < p; j++)
                row[j] = (float)((row[j] - c1[j]) / c2[j]);
        else
            for (j = 0; j < p; j++)
                row[j] = (float)(row[j] * c1[j] + c2[j]);
    }
}

BGM_API bgm_status bgm_scaler_transform(bgm_tensor **out, const bgm_scaler *sc,
                                        const bgm_tensor *x)
{
    static const char *fn = "bgm_scaler_transform";
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = check_transform(fn, sc, x);
    if (s == BGM_OK)
        s = bgm__tensor_new(out, fn, BGM_FLOAT32, x->shape, x->ndim);
    if (s != BGM_OK)
        return s;
    memcpy((*out)->data, x->data, bgm_tensor_nbytes(x));
    apply(sc, x, (*out)->data);
    return BGM_OK;
}

BGM_API bgm_status bgm_scaler_transform_inplace(const bgm_scaler *sc, bgm_tensor *x)
{
    static const char *fn = "bgm_scaler_transform_inplace";
    bgm_status s = check_transform(fn, sc, x);
    if (s != BGM_OK)
        return s;
    if (x->storage == NULL)
        return bgm__fail(BGM_E_STATE, "%s: x is owned by a tape and must not change; "
                         "transform a copy with bgm_scaler_transform", fn);
    apply(sc, x, x->data);
    return BGM_OK;
}

BGM_API bgm_status bgm_scaler_transform_dataset(bgm_dataset **out, const bgm_scaler *sc,
                                                const bgm_dataset *ds)
{
    static const char *fn = "bgm_scaler_transform_dataset";
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ds, fn);
    s = bgm__dataset_need_pair(fn, ds);
    if (s == BGM_OK)
        s = check_transform(fn, sc, ds->x);
    if (s == BGM_OK)
        s = bgm__tensor_new(&x, fn, BGM_FLOAT32, ds->x->shape, ds->x->ndim);
    if (s == BGM_OK && ds->y)
        s = bgm_tensor_slice(&y, ds->y, 0, ds->y->shape[0]);
    if (s != BGM_OK) {
        bgm_tensor_free(x);
        return s;
    }
    memcpy(x->data, ds->x->data, bgm_tensor_nbytes(x));
    apply(sc, x, x->data);
    return bgm__dataset_adopt(out, fn, x, y);
}

BGM_API bgm_status bgm_scaler_transform_dataset_inplace(const bgm_scaler *sc,
                                                        bgm_dataset *ds)
{
    static const char *fn = "bgm_scaler_transform_dataset_inplace";
    bgm_status s;
    BGM__CHECK_NULL(ds, fn);
    s = bgm__dataset_need_pair(fn, ds);
    if (s == BGM_OK)
        s = check_transform(fn, sc, ds->x);
    if (s == BGM_OK)
        apply(sc, ds->x, ds->x->data);
    return s;
}

BGM_API int bgm_scaler_is_fitted(const bgm_scaler *sc)
{
    return sc && (is_stateless(sc) || sc->fitted);
}

BGM_API int64_t bgm_scaler_num_features(const bgm_scaler *sc)
{
    return sc && sc->fitted ? sc->nfeat : 0;
}

BGM_API bgm_status bgm_scaler_get_statistics(double *first, double *second, int64_t n,
                                             const bgm_scaler *sc)
{
    static const char *fn = "bgm_scaler_get_statistics";
    BGM__CHECK_NULL(sc, fn);
    if (is_stateless(sc))
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the %s scaler keeps no statistics", fn,
                         kind_name(sc->kind));
    if (!sc->fitted)
        return bgm__fail(BGM_E_STATE, "%s: the %s scaler is not fitted yet", fn,
                         kind_name(sc->kind));
    if (n != sc->nfeat)
        return bgm__fail(BGM_E_SHAPE, "%s: the scaler has %lld features, n is %lld", fn,
                         (long long)sc->nfeat, (long long)n);
    if (first)
        memcpy(first, sc->stats, (size_t)n * sizeof *first);
    if (second)
        memcpy(second, sc->stats + n, (size_t)n * sizeof *second);
    return BGM_OK;
}

/* ---- one-hot ------------------------------------------------------------ */

static bgm_status one_hot(bgm_tensor **out, const char *func, const bgm_tensor *labels,
                          int64_t num_classes)
{
    int64_t shape[BGM_MAX_DIMS], i, c = num_classes, m;
    const int32_t *lab;
    float *v;
    int ndim;
    bgm_status s;
    BGM__CHECK_NULL(labels, func);
    if (labels->ndim < 1)
        return bgm__fail(BGM_E_INVALID, "%s: labels must have a first (sample) "
                         "dimension, got a scalar", func);
    if (labels->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: labels must be int32 class indices, got %s",
                         func, labels->dtype == BGM_FLOAT32 ? "float32" : "an unknown dtype");
    if (num_classes < 0)
        return bgm__fail(BGM_E_INVALID, "%s: num_classes is negative (%lld)", func,
                         (long long)num_classes);
    ndim = labels->ndim;
    if (ndim >= 2 && labels->shape[ndim - 1] == 1)
        ndim--;   /* (N, 1) encodes to (N, C), as Keras' to_categorical */
    if (ndim >= BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: labels with %d dimensions leave no room for "
                         "the class dimension (at most %d)", func, labels->ndim,
                         BGM_MAX_DIMS);
    lab = labels->data;
    m = labels->numel;
    if (c == 0) {
        if (m == 0)
            return bgm__fail(BGM_E_INVALID, "%s: num_classes is 0 and there are no labels "
                             "to infer it from", func);
        for (i = 0; i < m; i++)
            if (lab[i] >= c)
                c = (int64_t)lab[i] + 1;
    }
    for (i = 0; i < m; i++)
        if (lab[i] < 0 || lab[i] >= c)
            return bgm__fail(BGM_E_RANGE, "%s: label %d at %s %lld is outside [0, %lld)",
                             func, (int)lab[i], m == labels->shape[0] ? "row" : "position",
                             (long long)i, (long long)c);
    memcpy(shape, labels->shape, (size_t)ndim * sizeof shape[0]);
    shape[ndim] = c;
    s = bgm__tensor_new(out, func, BGM_FLOAT32, shape, ndim + 1);
    if (s != BGM_OK)
        return s;
    v = (*out)->data;
    memset(v, 0, bgm_tensor_nbytes(*out));
    for (i = 0; i < m; i++)
        v[i * c + lab[i]] = 1.0f;
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_one_hot(bgm_tensor **out, const bgm_tensor *labels,
                                      int64_t num_classes)
{
    BGM__CHECK_NULL(out, "bgm_tensor_one_hot");
    *out = NULL;
    return one_hot(out, "bgm_tensor_one_hot", labels, num_classes);
}

BGM_API bgm_status bgm_dataset_one_hot(bgm_dataset **out, const bgm_dataset *ds,
                                       int64_t num_classes)
{
    static const char *fn = "bgm_dataset_one_hot";
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ds, fn);
    if (bgm__dataset_need_pair(fn, ds) != BGM_OK)
        return BGM_E_INVALID;
    if (!ds->y)
        return bgm__fail(BGM_E_INVALID, "%s: the dataset has no targets to encode", fn);
    s = one_hot(&y, fn, ds->y, num_classes);
    if (s == BGM_OK)
        s = bgm_tensor_slice(&x, ds->x, 0, ds->x->shape[0]);
    if (s != BGM_OK) {
        bgm_tensor_free(y);
        return s;
    }
    return bgm__dataset_adopt(out, fn, x, y);
}
