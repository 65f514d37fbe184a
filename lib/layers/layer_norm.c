/*
 * LayerNormalization and RMSNormalization over the last axis (Keras 3):
 * per position, over its features. Other axes Keras allows (a middle axis,
 * several trailing axes) are refused at build with a message naming them.
 */
#include "layers/torch_map.h"

/* Fails unless the layer's axis (on the batched tensor, as Keras) is the
 * last axis of input in, and in holds float32 values. */
static bgm_status check_last_axis(bgm_layer *l, const bgm__shape *in)
{
    char got[BGM__SHAPE_STR_SIZE];
    int64_t batched = in->ndim + 1, axis = l->axis < 0 ? l->axis + batched : l->axis;
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "input holds int32 token ids; %s takes "
                               "float32 values (put an Embedding before it)", l->ops->kind);
    bgm__batch_shape_str(got, sizeof got, in->d, in->ndim);
    if (axis == 0)
        return bgm__layer_fail(l, BGM_E_SHAPE, "axis %lld is the batch axis of input %s",
                               (long long)l->axis, got);
    if (axis < 0 || axis >= batched)
        return bgm__layer_fail(l, BGM_E_SHAPE, "axis %lld is out of range for input %s",
                               (long long)l->axis, got);
    if (axis != batched - 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "normalizes over the last axis only "
                               "(axis -1 or %lld), got axis %lld for input %s",
                               (long long)(batched - 1), (long long)l->axis, got);
    return BGM_OK;
}

static bgm_status layer_norm_build(bgm_layer *l, const bgm__shape *in, int nin,
                                   bgm__shape *out)
{
    int64_t d = in->d[in->ndim - 1];
    bgm_status s = check_last_axis(l, in);
    if (s != BGM_OK)
        return s;
    if (l->scale)
        bgm__layer_add_spec(l, "gamma", &d, 1, 1, BGM_INIT_ONES, d, d, 0);
    if (l->center)
        bgm__layer_add_spec(l, "beta", &d, 1, 1, BGM_INIT_ZEROS, d, d, 0);
    bgm__same_shape(in, out);
    return BGM_OK;
}

static bgm_status layer_norm_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                     bgm_tensor *const *w, const bgm_tensor *const *x,
                                     int nx, bgm_tensor **y)
{
    const bgm_tensor *gamma = l->scale ? w[0] : NULL;
    const bgm_tensor *beta = l->center ? w[l->scale] : NULL;
    return bgm_op_layer_norm(y, ctx->tape, x[0], gamma, beta, l->epsilon);
}

/* nn.LayerNorm(D): weight, bias. */
static void layer_norm_torch(const bgm_layer *l, bgm__torch_map *map)
{
    int64_t d = l->in_shape[l->in_ndim - 1];
    if (l->scale)
        bgm__torch_add(map, "weight", "", 0, BGM__TORCH_SAME, 1, d, 0, 0, 0);
    if (l->center)
        bgm__torch_add(map, "bias", "", l->scale, BGM__TORCH_SAME, 1, d, 0, 0, 0);
}

static bgm_status rms_norm_build(bgm_layer *l, const bgm__shape *in, int nin,
                                 bgm__shape *out)
{
    int64_t d = in->d[in->ndim - 1];
    bgm_status s = check_last_axis(l, in);
    if (s != BGM_OK)
        return s;
    bgm__layer_add_spec(l, "scale", &d, 1, 1, BGM_INIT_ONES, d, d, 0);
    bgm__same_shape(in, out);
    return BGM_OK;
}

static bgm_status rms_norm_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_rms_norm(y, ctx->tape, x[0], w[0], l->epsilon);
}

#define FIELD_AXIS                                                                       \
    {.key = "axis", .what = "axis", .label = "axis", .type = BGM__FIELD_INT,             \
     .offset = BGM__OFFSET(axis), .lo = -(BGM_MAX_DIMS - 1), .hi = BGM_MAX_DIMS - 1}
#define FIELD_EPSILON                                                                    \
    {.key = "epsilon", .what = "epsilon", .label = "epsilon", .type = BGM__FIELD_FLOAT,  \
     .offset = BGM__OFFSET(epsilon), .lo = 0, .hi = INFINITY, .lo_open = 1, .hi_open = 1}

static const bgm__field layer_norm_fields[] = {
    FIELD_AXIS, FIELD_EPSILON,
    {.key = "center", .what = "center", .label = "center", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(center)},
    {.key = "scale", .what = "scale", .label = "scale", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(scale)}};

static const bgm__field rms_norm_fields[] = {FIELD_AXIS, FIELD_EPSILON};

const bgm__layer_ops bgm__layer_norm_ops = {
    .kind = "LayerNormalization", .prefix = "layer_normalization",
    .ctor = "bgm_layer_layer_norm", .fields = layer_norm_fields,
    .nfields = BGM__NFIELDS(layer_norm_fields), .build = layer_norm_build,
    .forward = layer_norm_forward, .compute_mask = bgm__pass_mask, .torch = layer_norm_torch,
    .decode = BGM__DECODE_POINTWISE};

const bgm__layer_ops bgm__rms_norm_ops = {
    .kind = "RMSNormalization", .prefix = "rms_normalization", .ctor = "bgm_layer_rms_norm",
    .fields = rms_norm_fields, .nfields = BGM__NFIELDS(rms_norm_fields),
    .build = rms_norm_build, .forward = rms_norm_forward, .compute_mask = bgm__pass_mask,
    .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_layer_norm(void)
{
    bgm_layer *l = bgm__layer_new(&bgm__layer_norm_ops, "bgm_layer_layer_norm");
    if (l) {
        l->axis = -1;
        l->epsilon = 1e-3f;
        l->center = l->scale = 1;
    }
    return l;
}

BGM_API bgm_layer *bgm_layer_rms_norm(void)
{
    bgm_layer *l = bgm__layer_new(&bgm__rms_norm_ops, "bgm_layer_rms_norm");
    if (l) {
        l->axis = -1;
        l->epsilon = 1e-6f;
    }
    return l;
}
