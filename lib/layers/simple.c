/* Layers without weights that keep or flatten the shape: Flatten, Dropout, Activation. */
#include "layers/torch_map.h"

#include <string.h>

static bgm_status same_shape_build(bgm_layer *l, const bgm__shape *in, int nin,
                                   bgm__shape *out)
{
    bgm__same_shape(in, out);
    return BGM_OK;
}

static bgm_status flatten_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < in->ndim; i++)
        n *= in->d[i];
    out->d[0] = n;
    out->ndim = 1;
    out->dtype = BGM_FLOAT32;
    return BGM_OK;
}

static bgm_status flatten_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    int64_t shape[2];
    int i;
    shape[0] = bgm_tensor_dim(x[0], 0);
    shape[1] = 1;
    for (i = 1; i < bgm_tensor_ndim(x[0]); i++)
        shape[1] *= bgm_tensor_dim(x[0], i);
    return bgm_op_reshape(y, ctx->tape, x[0], shape, 2);
}

static bgm_status dropout_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    if (!ctx->training || l->rate == 0.0f) {
        *y = (bgm_tensor *)x[0]; /* identity at inference: no copy */
        return BGM_OK;
    }
    return bgm_op_dropout(y, ctx->tape, x[0], l->rate, ctx->rng, 1);
}

static bgm_status activation_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                     bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                     bgm_tensor **y)
{
    if (ctx->input_free)
        return bgm__apply_activation_over(ctx->tape, l->activation, l->leaky_alpha,
                                          (bgm_tensor *)x[0], y);
    return bgm__apply_activation(ctx->tape, l->activation, l->leaky_alpha, x[0], y);
}

/* nn.Flatten: remembers the (H, W, C) it flattens, which PyTorch orders (C, H, W). */
static void flatten_torch(const bgm_layer *l, bgm__torch_map *map)
{
    if (l->in_ndim == 3)
        memcpy(map->hwc, l->in_shape, sizeof map->hwc);
    else
        memset(map->hwc, 0, sizeof map->hwc);
    map->keeps_order = 1;
}

/* nn.Dropout, or the activation's module: no tensors, the features' order kept. */
static void elementwise_torch(const bgm_layer *l, bgm__torch_map *map)
{
    map->keeps_order = 1;
}

static const bgm__field dropout_fields[] = {
    {.key = "rate", .what = "rate", .label = "rate", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(rate), .lo = 0, .hi = 1, .hi_open = 1}};
static const bgm__field activation_fields[] = {BGM__FIELD_ACTIVATION};

const bgm__layer_ops bgm__flatten_ops = {
    .kind = "Flatten", .prefix = "flatten", .ctor = "bgm_layer_flatten",
    .build = flatten_build, .forward = flatten_forward, .torch = flatten_torch};
const bgm__layer_ops bgm__dropout_ops = {
    .kind = "Dropout", .prefix = "dropout", .ctor = "bgm_layer_dropout",
    .fields = dropout_fields, .nfields = BGM__NFIELDS(dropout_fields),
    .build = same_shape_build, .forward = dropout_forward, .compute_mask = bgm__pass_mask,
    .torch = elementwise_torch, .decode = BGM__DECODE_POINTWISE};
const bgm__layer_ops bgm__activation_ops = {
    .kind = "Activation", .prefix = "activation", .ctor = "bgm_layer_activation",
    .fields = activation_fields, .nfields = BGM__NFIELDS(activation_fields),
    .build = same_shape_build, .forward = activation_forward,
    .compute_mask = bgm__pass_mask, .torch = elementwise_torch, .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_flatten(void)
{
    return bgm__layer_new(&bgm__flatten_ops, "bgm_layer_flatten");
}

BGM_API bgm_layer *bgm_layer_dropout(float rate)
{
    bgm_layer *l = bgm__layer_new(&bgm__dropout_ops, "bgm_layer_dropout");
    if (l)
        l->rate = rate;
    return bgm__layer_checked(l);
}

BGM_API bgm_layer *bgm_layer_activation(bgm_activation activation)
{
    bgm_layer *l = bgm__layer_new(&bgm__activation_ops, "bgm_layer_activation");
    if (l)
        l->activation = activation;
    return bgm__layer_checked(l);
}
