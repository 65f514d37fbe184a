/* Conv2D over NHWC images: y = act(conv(x, K) + b), K (KH, KW, C, F). */
#include "layers/torch_map.h"

static bgm_status conv2d_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    int64_t c, kshape[4];
    bgm_status s = bgm__window_layer_build(l, in, "kernel", l->units, out);
    if (s != BGM_OK)
        return s;
    c = in->d[2];
    kshape[0] = l->kernel[0];
    kshape[1] = l->kernel[1];
    kshape[2] = c;
    kshape[3] = l->units;
    bgm__conv_add_specs(l, kshape, 4);
    return BGM_OK;
}

static bgm_status conv2d_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                 bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_activation act;
    bgm_status s = bgm_op_conv2d(&h, ctx->tape, x[0], w[0], l->use_bias ? w[1] : NULL,
                                 (int)l->strides[0], (int)l->strides[1], l->padding);
    act = ctx->defer_relu ? BGM_ACT_LINEAR : l->activation;
    if (s == BGM_OK) /* h is the layer's own: nothing else reads it */
        s = bgm__apply_activation_over(ctx->tape, act, l->leaky_alpha, h, y);
    return s;
}

/* nn.Conv2d (then the activation's module): weight (F, C, KH, KW), bias. */
static void conv2d_torch(const bgm_layer *l, bgm__torch_map *map)
{
    bgm__torch_add(map, "weight", "", 0, BGM__TORCH_CONV, 4, l->units, l->in_shape[2],
                   l->kernel[0], l->kernel[1]);
    if (l->use_bias)
        bgm__torch_add(map, "bias", "", 1, BGM__TORCH_SAME, 1, l->units, 0, 0, 0);
    map->modules += l->activation != BGM_ACT_LINEAR;
}

static const bgm__field conv2d_fields[] = {
    BGM__FIELD_UNITS("filters"), BGM__FIELD_WINDOW("kernel_size", "kernel size"),
    BGM__FIELD_ACTIVATION, BGM__FIELD_BIAS, BGM__FIELD_KERNEL_INIT("kernel_initializer"),
    BGM__FIELD_KERNEL_L2};

const bgm__layer_ops bgm__conv2d_ops = {
    .kind = "Conv2D", .prefix = "conv2d", .ctor = "bgm_layer_conv2d",
    .fields = conv2d_fields, .nfields = BGM__NFIELDS(conv2d_fields),
    .build = conv2d_build, .forward = conv2d_forward, .torch = conv2d_torch};

BGM_API bgm_layer *bgm_layer_conv2d(int64_t filters, int64_t kernel_size,
                                    bgm_activation activation)
{
    bgm_layer *l = bgm__layer_new(&bgm__conv2d_ops, "bgm_layer_conv2d");
    if (l) {
        l->units = filters;
        l->kernel[0] = l->kernel[1] = kernel_size;
        l->activation = activation;
    }
    return bgm__layer_checked(l);
}
