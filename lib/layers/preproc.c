/* Preprocessing layers on numbers: Rescaling, Normalization (with adapt). */
#include "layers/layer.h"

#include "bigmodel/graph.h"
#include "bigmodel/preproc_layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Keras' backend epsilon: Normalization divides by max(sqrt(var), this). */
#define NORM_EPSILON 1e-7f

void bgm__preproc_release(bgm_layer *l)
{
    free(l->stats);
    bgm_tensor_free(l->constant);
    free(l->vocabulary);
    free(l->idf);
    if (l->lookup)
        bgm__text_lookup_free(l->lookup);
    l->stats = NULL;
    l->constant = NULL;
    l->vocabulary = NULL;
    l->idf = NULL;
    l->lookup = NULL;
}

/* Replaces l's (1,) constant with value; build may run more than once. */
static bgm_status set_constant(bgm_layer *l, float value)
{
    int64_t one = 1;
    bgm_tensor_free(l->constant);
    l->constant = NULL;
    return bgm_tensor_full(&l->constant, BGM_FLOAT32, &one, 1, value);
}

/* ---- Rescaling ----------------------------------------------------------- */

static bgm_status rescaling_build(bgm_layer *l, const bgm__shape *in, int nin,
                                  bgm__shape *out)
{
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "takes float32 input, got int32");
    bgm__same_shape(in, out);
    return set_constant(l, l->offset);
}

static bgm_status rescaling_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                    bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                    bgm_tensor **y)
{
    bgm_tensor *scaled = NULL;
    bgm_status s = bgm_op_scale(&scaled, ctx->tape, x[0], l->rescale);
    if (s != BGM_OK || l->offset == 0.0f) {
        *y = scaled;
        return s;
    }
    return bgm_op_add(y, ctx->tape, scaled, l->constant);
}

static const bgm__field rescaling_fields[] = {
    {.key = "scale", .what = "scale", .label = "scale", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(rescale), .lo = -INFINITY, .hi = INFINITY, .lo_open = 1,
     .hi_open = 1},
    {.key = "offset", .what = "offset", .label = "offset", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(offset), .lo = -INFINITY, .hi = INFINITY, .lo_open = 1,
     .hi_open = 1}};

const bgm__layer_ops bgm__rescaling_ops = {
    .kind = "Rescaling", .prefix = "rescaling", .ctor = "bgm_layer_rescaling",
    .fields = rescaling_fields, .nfields = BGM__NFIELDS(rescaling_fields),
    .build = rescaling_build, .forward = rescaling_forward, .compute_mask = bgm__pass_mask,
    .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_rescaling(float scale, float offset)
{
    bgm_layer *l = bgm__layer_new(&bgm__rescaling_ops, "bgm_layer_rescaling");
    if (l) {
        l->rescale = scale;
        l->offset = offset;
    }
    return bgm__layer_checked(l);
}

/* ---- Normalization ------------------------------------------------------- */

static bgm_status normalization_build(bgm_layer *l, const bgm__shape *in, int nin,
                                      bgm__shape *out)
{
    int64_t c = in->ndim > 0 ? in->d[in->ndim - 1] : 0;
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "takes float32 input, got int32");
    if (l->stats && l->nstats != 1 && l->nstats != c)
        return bgm__layer_fail(l, BGM_E_SHAPE, "its mean and variance have %lld entries, "
                               "the input's last axis %lld", (long long)l->nstats,
                               (long long)c);
    bgm__layer_add_spec(l, "mean", &c, 1, 0, BGM_INIT_ZEROS, c, c, 0);
    bgm__layer_add_spec(l, "variance", &c, 1, 0, BGM_INIT_ONES, c, c, 0);
    bgm__same_shape(in, out);
    return set_constant(l, NORM_EPSILON);
}

static bgm_status normalization_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                        bgm_tensor *const *w, const bgm_tensor *const *x,
                                        int nx, bgm_tensor **y)
{
    bgm_tensor *sd = NULL, *den = NULL, *t = NULL;
    /* As Keras 3: (x - mean) / max(sqrt(var), eps), or its inverse. */
    bgm_status s = bgm_op_sqrt(&sd, ctx->tape, w[1]);
    if (s == BGM_OK)
        s = bgm_op_maximum(&den, ctx->tape, sd, l->constant);
    if (s != BGM_OK)
        return s;
    if (l->invert) {
        s = bgm_op_mul(&t, ctx->tape, x[0], den);
        return s == BGM_OK ? bgm_op_add(y, ctx->tape, w[0], t) : s;
    }
    s = bgm_op_sub(&t, ctx->tape, x[0], w[0]);
    return s == BGM_OK ? bgm_op_div(y, ctx->tape, t, den) : s;
}

/* The statistics from adapt / set_stats, broadcast when one value was given. */
static void normalization_init(const bgm_layer *l, float *const *w)
{
    int64_t c = l->in_shape[l->in_ndim - 1], i;
    if (!l->stats)
        return;
    for (i = 0; i < c; i++) {
        w[0][i] = l->stats[l->nstats == 1 ? 0 : i];
        w[1][i] = l->stats[l->nstats + (l->nstats == 1 ? 0 : i)];
    }
}

static const bgm__field normalization_fields[] = {
    {.key = "axis", .what = "axis", .label = "axis", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(axis), .lo = -1, .hi = -1},
    {.key = "invert", .what = "invert", .label = "invert", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(invert)}};

const bgm__layer_ops bgm__normalization_ops = {
    .kind = "Normalization", .prefix = "normalization", .ctor = "bgm_layer_normalization",
    .fields = normalization_fields, .nfields = BGM__NFIELDS(normalization_fields),
    .build = normalization_build, .forward = normalization_forward,
    .compute_mask = bgm__pass_mask, .init_weights = normalization_init,
    .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_normalization(int invert)
{
    bgm_layer *l = bgm__layer_new(&bgm__normalization_ops, "bgm_layer_normalization");
    if (l) {
        l->axis = -1;
        l->invert = invert;
    }
    return bgm__layer_checked(l);
}

/* Checks layer is a Normalization layer (fn names the caller). */
static bgm_status check_normalization(const bgm_layer *layer, const char *fn)
{
    if (!layer)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'layer' is NULL", fn);
    if (layer->ops != &bgm__normalization_ops)
        return bgm__layer_lacks(layer, fn, "mean and variance (not a Normalization layer)");
    return BGM_OK;
}

/* Stores mean[0..n), variance[0..n) as l's statistics (copied). */
static bgm_status store_stats(bgm_layer *l, const float *mean, const float *var, int64_t n,
                              const char *fn)
{
    float *stats = malloc((size_t)(2 * n) * sizeof *stats);
    if (!stats)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    memcpy(stats, mean, (size_t)n * sizeof *stats);
    memcpy(stats + n, var, (size_t)n * sizeof *stats);
    free(l->stats);
    l->stats = stats;
    l->nstats = n;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_normalization_set_stats(bgm_layer *layer, const float *mean,
                                                     const float *variance, int64_t n)
{
    static const char *fn = "bgm_layer_normalization_set_stats";
    int64_t i;
    bgm_status s = check_normalization(layer, fn);
    if (s == BGM_OK)
        s = bgm__layer_unbuilt(layer, fn);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(mean, fn);
    BGM__CHECK_NULL(variance, fn);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %lld, expected at least 1", fn, (long long)n);
    for (i = 0; i < n; i++)
        if (!isfinite(mean[i]) || !isfinite(variance[i]) || variance[i] < 0.0f)
            return bgm__fail(BGM_E_INVALID, "%s: mean[%lld] = %g, variance[%lld] = %g: "
                             "expected finite values and variance >= 0", fn, (long long)i,
                             (double)mean[i], (long long)i, (double)variance[i]);
    return store_stats(layer, mean, variance, n, fn);
}

BGM_API bgm_status bgm_layer_normalization_adapt(bgm_layer *layer, const bgm_tensor *data)
{
    static const char *fn = "bgm_layer_normalization_adapt";
    const float *x;
    double *sum, *sq;
    float *mean, *var;
    int64_t c, rows, r, j, built_c;
    bgm_status s = check_normalization(layer, fn);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(data, fn);
    if (bgm_tensor_dtype(data) != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: data is int32, expected float32", fn);
    c = bgm_tensor_dim(data, bgm_tensor_ndim(data) - 1);
    rows = c > 0 ? bgm_tensor_numel(data) / c : 0;
    if (bgm_tensor_ndim(data) < 1 || rows < 1)
        return bgm__fail(BGM_E_INVALID, "%s: data holds no samples", fn);
    built_c = bgm__layer_called(layer) ? layer->in_shape[layer->in_ndim - 1] : c;
    if (built_c != c)
        return bgm__fail(BGM_E_SHAPE, "%s: data has %lld features (last axis), layer '%s' "
                         "was built for %lld", fn, (long long)c, layer->name,
                         (long long)built_c);
    x = bgm_tensor_data(data);
    for (j = 0; j < rows * c; j++)
        if (!isfinite(x[j]))
            return bgm__fail(BGM_E_INVALID, "%s: data[%lld] = %g is not finite", fn,
                             (long long)j, (double)x[j]);
    sum = calloc((size_t)(2 * c), sizeof *sum);
    mean = malloc((size_t)(2 * c) * sizeof *mean);
    if (!sum || !mean) {
        free(sum);
        free(mean);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    sq = sum + c;
    var = mean + c;
    for (r = 0; r < rows; r++)
        for (j = 0; j < c; j++)
            sum[j] += x[r * c + j];
    for (j = 0; j < c; j++)
        sum[j] /= (double)rows;
    for (r = 0; r < rows; r++)
        for (j = 0; j < c; j++) {
            double d = x[r * c + j] - sum[j];
            sq[j] += d * d;
        }
    for (j = 0; j < c; j++) {
        mean[j] = (float)sum[j];
        var[j] = (float)(sq[j] / (double)rows);
    }
    s = store_stats(layer, mean, var, c, fn);
    if (s == BGM_OK && bgm_layer_weight(layer, 1)) { /* built (in a model or on data):
                                                         its weights change now */
        bgm_tensor *w = bgm_layer_weight(layer, 0);
        bgm_tensor *v = bgm_layer_weight(layer, 1);
        memcpy(bgm_tensor_data(w), mean, (size_t)c * sizeof *mean);
        memcpy(bgm_tensor_data(v), var, (size_t)c * sizeof *var);
    }
    free(sum);
    free(mean);
    return s;
}
