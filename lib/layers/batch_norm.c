/* BatchNormalization over the last axis, with moving statistics as state. */
#include "layers/layer.h"

static bgm_status batch_norm_build(bgm_layer *l, const bgm__shape *in, int nin,
                                   bgm__shape *out)
{
    int64_t c = in->d[in->ndim - 1];
    bgm__layer_add_spec(l, "gamma", &c, 1, 1, BGM_INIT_ONES, c, c, 0);
    bgm__layer_add_spec(l, "beta", &c, 1, 1, BGM_INIT_ZEROS, c, c, 0);
    bgm__layer_add_spec(l, "moving_mean", &c, 1, 0, BGM_INIT_ZEROS, c, c, 0);
    bgm__layer_add_spec(l, "moving_variance", &c, 1, 0, BGM_INIT_ONES, c, c, 0);
    bgm__same_shape(in, out);
    return BGM_OK;
}

static bgm_status batch_norm_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                     bgm_tensor *const *w, const bgm_tensor *const *x,
                                     int nx, bgm_tensor **y)
{
    return bgm_op_batch_norm(y, ctx->tape, x[0], w[0], w[1], w[2], w[3], l->momentum,
                             l->epsilon, ctx->training);
}

const bgm__layer_ops bgm__batch_norm_ops = {"BatchNormalization", "batch_normalization",
                                            batch_norm_build, batch_norm_forward,
                                            bgm__pass_mask, NULL, 0, 0, 0};
