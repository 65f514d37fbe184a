/*
 * Conv1D over (T, C) sequences: y = act(conv1d(x, K) + b), K (K, C, F), with
 * strides, dilation and VALID / SAME / CAUSAL padding (Keras 3). Like
 * Keras it drops the mask of its input.
 */
#include "layers/layer.h"

#include "kernels/conv1d.h"

static const bgm__enum_name conv1d_padding_names[] = {
    {BGM_PADDING_VALID, "valid"}, {BGM_PADDING_SAME, "same"},
    {BGM_PADDING_CAUSAL, "causal"}, {0, NULL}};

/* Keras refuses strides and dilation both above 1. */
static bgm_status conv1d_check(const bgm_layer *l, const char *fn)
{
    if (l->strides[0] > 1 && l->dilation[0] > 1)
        return bgm__fail(BGM_E_INVALID, "%s: strides = %lld with dilation_rate = %lld: a "
                         "Conv1D layer takes strides > 1 or dilation_rate > 1, not both "
                         "(as Keras)", fn, (long long)l->strides[0],
                         (long long)l->dilation[0]);
    return BGM_OK;
}

static bgm_status conv1d_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    int64_t kshape[3], c;
    bgm__window1d g;
    if (in->ndim != 2)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 2 dimensions (steps, "
                               "channels), got %s",
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "takes float32 sequences, got int32 (put "
                               "an Embedding before it)");
    c = in->d[1];
    if (bgm__window1d_plan(&g, in->d[0], c, l->kernel[0], l->strides[0], l->dilation[0],
                           (int)l->padding) < 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "kernel_size %lld with dilation_rate %lld "
                               "spans %lld steps, more than the input %s has, with VALID "
                               "padding", (long long)l->kernel[0], (long long)l->dilation[0],
                               (long long)(l->dilation[0] * (l->kernel[0] - 1) + 1),
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    kshape[0] = l->kernel[0];
    kshape[1] = c;
    kshape[2] = l->units;
    bgm__conv_add_specs(l, kshape, 3);
    out->d[0] = g.ot;
    out->d[1] = l->units;
    out->ndim = 2;
    out->dtype = BGM_FLOAT32;
    return BGM_OK;
}

static bgm_status conv1d_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                 bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_status s = bgm_op_conv1d(&h, ctx->tape, x[0], w[0], l->use_bias ? w[1] : NULL,
                                 (int)l->strides[0], (int)l->dilation[0], l->padding);
    if (s == BGM_OK) /* h is the layer's own: nothing else reads it */
        s = bgm__apply_activation_over(ctx->tape, l->activation, l->leaky_alpha, h, y);
    return s;
}

static const bgm__field conv1d_fields[] = {
    BGM__FIELD_UNITS("filters"),
    {.key = "kernel_size", .what = "kernel size", .label = "kernel size",
     .type = BGM__FIELD_INTS, .offset = BGM__OFFSET(kernel), .lo = 1, .hi = BGM__INT32_MAX,
     .count = 1},
    {.key = "strides", .what = "strides", .label = "strides", .type = BGM__FIELD_INTS,
     .offset = BGM__OFFSET(strides), .lo = 1, .hi = BGM__INT32_MAX, .count = 1},
    {.key = "padding", .what = "padding", .label = "padding", .type = BGM__FIELD_ENUM,
     .offset = BGM__OFFSET(padding), .names = conv1d_padding_names},
    {.key = "dilation_rate", .what = "dilation rate", .label = "dilation_rate",
     .type = BGM__FIELD_INTS, .offset = BGM__OFFSET(dilation), .lo = 1,
     .hi = BGM__INT32_MAX, .count = 1},
    BGM__FIELD_ACTIVATION, BGM__FIELD_BIAS, BGM__FIELD_KERNEL_INIT("kernel_initializer"),
    BGM__FIELD_KERNEL_L2};

const bgm__layer_ops bgm__conv1d_ops = {
    .kind = "Conv1D", .prefix = "conv1d", .ctor = "bgm_layer_conv1d",
    .fields = conv1d_fields, .nfields = BGM__NFIELDS(conv1d_fields), .check = conv1d_check,
    .build = conv1d_build, .forward = conv1d_forward, .decode = BGM__DECODE_NONE};

BGM_API bgm_layer *bgm_layer_conv1d(int64_t filters, int64_t kernel_size,
                                    bgm_activation activation)
{
    bgm_layer *l = bgm__layer_new(&bgm__conv1d_ops, "bgm_layer_conv1d");
    if (l) {
        l->units = filters;
        l->kernel[0] = kernel_size;
        l->activation = activation;
    }
    return bgm__layer_checked(l);
}
