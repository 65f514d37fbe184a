/* MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D over NHWC images. */
#include "layers/layer.h"

static bgm_status pool_build(bgm_layer *l)
{
    return bgm__window_layer_build(l, "pool", l->in_shape[2]); /* channels kept */
}

static bgm_status max_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *x, bgm_tensor **y)
{
    return bgm_op_max_pool2d(y, ctx->tape, x, (int)l->kh, (int)l->kw, (int)l->sh,
                             (int)l->sw, l->padding);
}

static bgm_status avg_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *x, bgm_tensor **y)
{
    return bgm_op_avg_pool2d(y, ctx->tape, x, (int)l->kh, (int)l->kw, (int)l->sh,
                             (int)l->sw, l->padding);
}

static bgm_status global_build(bgm_layer *l)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (l->in_ndim != 3)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 3 dimensions (height, "
                               "width, channels), got %s",
                               bgm__shape_str(got, sizeof got, l->in_shape, l->in_ndim));
    l->out_shape[0] = l->in_shape[2];
    l->out_ndim = 1;
    return BGM_OK;
}

static bgm_status global_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *x, bgm_tensor **y)
{
    return bgm_op_global_avg_pool2d(y, ctx->tape, x);
}

const bgm__layer_ops bgm__max_pool2d_ops = {"MaxPooling2D", "max_pooling2d", pool_build,
                                            max_pool_forward, NULL, NULL, 0};
const bgm__layer_ops bgm__avg_pool2d_ops = {"AveragePooling2D", "average_pooling2d",
                                            pool_build, avg_pool_forward, NULL, NULL, 0};
const bgm__layer_ops bgm__global_avg_pool2d_ops = {"GlobalAveragePooling2D",
                                                   "global_average_pooling2d", global_build,
                                                   global_forward, NULL, NULL, 0};
