/* Dense: y = act(x W + b) over samples of one dimension. */
#include "layers/layer.h"

static bgm_status dense_build(bgm_layer *l)
{
    char got[BGM__SHAPE_STR_SIZE];
    int64_t in, kshape[2];
    if (l->in_ndim != 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 1 dimension, got %s%s",
                               bgm__shape_str(got, sizeof got, l->in_shape, l->in_ndim),
                               l->in_ndim > 1 ? " — add a Flatten layer before it" : "");
    in = l->in_shape[0];
    kshape[0] = in;
    kshape[1] = l->units;
    bgm__layer_add_spec(l, "kernel", kshape, 2, 1, l->kernel_init, in, l->units, 1);
    if (l->use_bias)
        bgm__layer_add_spec(l, "bias", &l->units, 1, 1, l->bias_init, in, l->units, 0);
    l->out_shape[0] = l->units;
    l->out_ndim = 1;
    return BGM_OK;
}

static bgm_status dense_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                bgm_tensor *const *w, const bgm_tensor *x, bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_status s = bgm_op_matmul(&h, ctx->tape, x, w[0]);
    if (s == BGM_OK && l->use_bias)
        s = bgm_op_add(&h, ctx->tape, h, w[1]);
    if (s == BGM_OK)
        s = bgm__apply_activation(ctx->tape, l->activation, l->leaky_alpha, h, y);
    return s;
}

const bgm__layer_ops bgm__dense_ops = {"Dense", "dense", dense_build, dense_forward,
                                       NULL, NULL, 0};
