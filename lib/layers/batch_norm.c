/* BatchNormalization over the last axis, with moving statistics as state. */
#include "layers/torch_map.h"

#include "autograd/tape.h"

#include <string.h>

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
    /* Keras 3: a frozen layer runs in inference mode */
    return bgm__op_batch_norm_sync(y, ctx->tape, x[0], w[0], w[1], w[2], w[3], l->momentum,
                                   l->epsilon, ctx->training && !ctx->frozen, ctx->fuse_relu,
                                   l->synchronized ? ctx->comm : NULL);
}

/* nn.BatchNorm1d / 2d: weight, bias, running_mean, running_var, num_batches_tracked. */
static void batch_norm_torch(const bgm_layer *l, bgm__torch_map *map)
{
    static const char *const names[4] = {"weight", "bias", "running_mean", "running_var"};
    int k;
    for (k = 0; k < 4; k++) {
        bgm__torch_param *e = bgm__torch_add(map, names[k], "", k, BGM__TORCH_VEC, 1,
                                             l->in_shape[l->in_ndim - 1], 0, 0, 0);
        if (l->in_ndim == 1)
            memcpy(e->hwc, map->hwc, sizeof e->hwc);
    }
    bgm__torch_add(map, "num_batches_tracked", "", -1, BGM__TORCH_COUNTER, 0, 0, 0, 0, 0);
    map->keeps_order = 1;
}

static const bgm__field batch_norm_fields[] = {
    {.key = "momentum", .what = "momentum", .label = "momentum", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(momentum), .lo = 0, .hi = 1},
    {.key = "epsilon", .what = "epsilon", .label = "epsilon", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(epsilon), .lo = 0, .hi = INFINITY, .lo_open = 1, .hi_open = 1},
    {.key = "synchronized", .what = "synchronized", .label = "synchronized",
     .type = BGM__FIELD_BOOL, .offset = BGM__OFFSET(synchronized), .optional = 1}};

const bgm__layer_ops bgm__batch_norm_ops = {
    .kind = "BatchNormalization", .prefix = "batch_normalization",
    .ctor = "bgm_layer_batch_norm", .fields = batch_norm_fields,
    .nfields = BGM__NFIELDS(batch_norm_fields), .build = batch_norm_build,
    .forward = batch_norm_forward, .compute_mask = bgm__pass_mask, .torch = batch_norm_torch,
    .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_batch_norm(void)
{
    return bgm__layer_new(&bgm__batch_norm_ops, "bgm_layer_batch_norm");
}
