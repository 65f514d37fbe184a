/* Conv2D over NHWC images: y = act(conv(x, K) + b), K (KH, KW, C, F). */
#include "layer.h"

#include "kernels/im2col.h"

static bgm_status conv2d_build(bgm_layer *l)
{
    char got[BGM__SHAPE_STR_SIZE];
    int64_t pad, oh, ow, c, kshape[4];
    int same = l->padding == BGM_PADDING_SAME;
    if (l->in_ndim != 3)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 3 dimensions (height, "
                               "width, channels), got %s",
                               bgm__shape_str(got, sizeof got, l->in_shape, l->in_ndim));
    oh = bgm__window_out(l->in_shape[0], l->kh, l->sh, same, &pad);
    ow = bgm__window_out(l->in_shape[1], l->kw, l->sw, same, &pad);
    if (oh < 1 || ow < 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "kernel %lldx%lld is larger than the "
                               "input %s with VALID padding", (long long)l->kh,
                               (long long)l->kw,
                               bgm__shape_str(got, sizeof got, l->in_shape, l->in_ndim));
    c = l->in_shape[2];
    kshape[0] = l->kh;
    kshape[1] = l->kw;
    kshape[2] = c;
    kshape[3] = l->units;
    bgm__layer_add_spec(l, "kernel", kshape, 4, 1, l->kernel_init, l->kh * l->kw * c,
                        l->kh * l->kw * l->units, 1);
    if (l->use_bias)
        bgm__layer_add_spec(l, "bias", &l->units, 1, 1, l->bias_init, l->kh * l->kw * c,
                            l->kh * l->kw * l->units, 0);
    l->out_shape[0] = oh;
    l->out_shape[1] = ow;
    l->out_shape[2] = l->units;
    l->out_ndim = 3;
    return BGM_OK;
}

static bgm_status conv2d_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *x, bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_status s = bgm_op_conv2d(&h, ctx->tape, x, w[0], l->use_bias ? w[1] : NULL,
                                 (int)l->sh, (int)l->sw, l->padding);
    if (s == BGM_OK)
        s = bgm__apply_activation(ctx->tape, l->activation, l->leaky_alpha, h, y);
    return s;
}

const bgm__layer_ops bgm__conv2d_ops = {"Conv2D", "conv2d", conv2d_build,
                                        conv2d_forward, NULL, NULL, 0};
