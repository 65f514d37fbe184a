/* MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D over NHWC images. */
#include "layers/torch_map.h"

static bgm_status pool_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    return bgm__window_layer_build(l, in, "pool", in->d[2], out); /* channels kept */
}

static bgm_status max_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_max_pool2d(y, ctx->tape, x[0], (int)l->kernel[0], (int)l->kernel[1], (int)l->strides[0],
                             (int)l->strides[1], l->padding);
}

static bgm_status avg_pool_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_avg_pool2d(y, ctx->tape, x[0], (int)l->kernel[0], (int)l->kernel[1], (int)l->strides[0],
                             (int)l->strides[1], l->padding);
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

/* nn.MaxPool2d / AvgPool2d: no tensors. */
static void pool_torch(const bgm_layer *l, bgm__torch_map *map)
{
}

/* nn.AdaptiveAvgPool2d(1), nn.Flatten(): two modules, no tensors. */
static void global_torch(const bgm_layer *l, bgm__torch_map *map)
{
    map->modules = 2;
}

static const bgm__field pool_fields[] = {BGM__FIELD_WINDOW("pool_size", "pool size")};

const bgm__layer_ops bgm__max_pool2d_ops = {
    .kind = "MaxPooling2D", .prefix = "max_pooling2d", .ctor = "bgm_layer_max_pool2d",
    .fields = pool_fields, .nfields = BGM__NFIELDS(pool_fields), .build = pool_build,
    .forward = max_pool_forward, .torch = pool_torch};
const bgm__layer_ops bgm__avg_pool2d_ops = {
    .kind = "AveragePooling2D", .prefix = "average_pooling2d",
    .ctor = "bgm_layer_avg_pool2d", .fields = pool_fields,
    .nfields = BGM__NFIELDS(pool_fields), .build = pool_build, .forward = avg_pool_forward,
    .torch = pool_torch};
const bgm__layer_ops bgm__global_avg_pool2d_ops = {
    .kind = "GlobalAveragePooling2D", .prefix = "global_average_pooling2d",
    .ctor = "bgm_layer_global_avg_pool2d", .build = global_build, .forward = global_forward,
    .torch = global_torch};

/* Keras' defaults: strides = pool size, VALID padding. */
static bgm_layer *pool(const bgm__layer_ops *ops, int64_t size)
{
    bgm_layer *l;
    if (size < 1) {
        bgm__fail(BGM_E_INVALID, "%s: pool = %lld, expected at least 1", ops->ctor,
                  (long long)size);
        return NULL;
    }
    l = bgm__layer_new(ops, ops->ctor);
    if (l) {
        l->kernel[0] = l->kernel[1] = size;
        l->strides[0] = l->strides[1] = size;
    }
    return bgm__layer_checked(l);
}

BGM_API bgm_layer *bgm_layer_max_pool2d(int64_t pool_size)
{
    return pool(&bgm__max_pool2d_ops, pool_size);
}

BGM_API bgm_layer *bgm_layer_avg_pool2d(int64_t pool_size)
{
    return pool(&bgm__avg_pool2d_ops, pool_size);
}

BGM_API bgm_layer *bgm_layer_global_avg_pool2d(void)
{
    return bgm__layer_new(&bgm__global_avg_pool2d_ops, "bgm_layer_global_avg_pool2d");
}
