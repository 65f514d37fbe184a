/* Conv2D over NHWC images: y = act(conv(x, K) + b), K (KH, KW, C, F). */
#include "layers/layer.h"

static bgm_status conv2d_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    int64_t c, kshape[4];
    bgm_status s = bgm__window_layer_build(l, in, "kernel", l->units, out);
    if (s != BGM_OK)
        return s;
    c = in->d[2];
    kshape[0] = l->kh;
    kshape[1] = l->kw;
    kshape[2] = c;
    kshape[3] = l->units;
    bgm__layer_add_spec(l, "kernel", kshape, 4, 1, l->kernel_init, l->kh * l->kw * c,
                        l->kh * l->kw * l->units, 1);
    if (l->use_bias)
        bgm__layer_add_spec(l, "bias", &l->units, 1, 1, l->bias_init, l->kh * l->kw * c,
                            l->kh * l->kw * l->units, 0);
    return BGM_OK;
}

static bgm_status conv2d_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                 bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_status s = bgm_op_conv2d(&h, ctx->tape, x[0], w[0], l->use_bias ? w[1] : NULL,
                                 (int)l->sh, (int)l->sw, l->padding);
    if (s == BGM_OK)
        s = bgm__apply_activation(ctx->tape, l->activation, l->leaky_alpha, h, y);
    return s;
}

const bgm__layer_ops bgm__conv2d_ops = {"Conv2D", "conv2d", conv2d_build,
                                        conv2d_forward, NULL, NULL, 0, 0, 0};
