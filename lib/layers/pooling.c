/* MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D over NHWC images. */
#include "layers/layer.h"

static bgm_status pool_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    return bgm__window_layer_build(l, in, "pool", in->d[2], out); /* channels kept */
}

static bgm_status max_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_max_pool2d(y, ctx->tape, x[0], (int)l->kh, (int)l->kw, (int)l->sh,
                             (int)l->sw, l->padding);
}

static bgm_status avg_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_avg_pool2d(y, ctx->tape, x[0], (int)l->kh, (int)l->kw, (int)l->sh,
                             (int)l->sw, l->padding);
}

static bgm_status global_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->ndim != 3)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 3 dimensions (height, "
                               "width, channels), got %s",
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    out->d[0] = in->d[2];
    out->ndim = 1;
    out->dtype = BGM_FLOAT32;
    return BGM_OK;
}

static bgm_status global_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                 bgm_tensor **y)
{
    return bgm_op_global_avg_pool2d(y, ctx->tape, x[0]);
}

const bgm__layer_ops bgm__max_pool2d_ops = {"MaxPooling2D", "max_pooling2d", pool_build,
                                            max_pool_forward, NULL, NULL, 0, 0, 0};
const bgm__layer_ops bgm__avg_pool2d_ops = {"AveragePooling2D", "average_pooling2d",
                                            pool_build, avg_pool_forward, NULL, NULL, 0,
                                            0, 0};
const bgm__layer_ops bgm__global_avg_pool2d_ops = {"GlobalAveragePooling2D",
                                                   "global_average_pooling2d", global_build,
                                                   global_forward, NULL, NULL, 0, 0, 0};
