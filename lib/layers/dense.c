/*
 * Dense: y = act(x W + b) over the last axis (Keras): (..., in) to
 * (..., units), the leading sample axes kept.
 */
#include "autograd/tape.h"
#include "layers/torch_map.h"

#include <string.h>

static bgm_status dense_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    int64_t last = in->d[in->ndim - 1], kshape[2];
    kshape[0] = last;
    kshape[1] = l->units;
    bgm__layer_add_spec(l, "kernel", kshape, 2, 1, l->kernel_init, last, l->units, 1);
    if (l->use_bias)
        bgm__layer_add_spec(l, "bias", &l->units, 1, 1, l->bias_init, last, l->units, 0);
    bgm__same_shape(in, out);
    out->d[out->ndim - 1] = l->units;
    return BGM_OK;
}

static bgm_status dense_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                bgm_tensor **y)
{
    bgm_tensor *h;
    bgm_status s = bgm__op_affine(&h, ctx->tape, x[0], w[0], l->use_bias ? w[1] : NULL,
                                  l->in_shape[l->in_ndim - 1], &l->units, 1,
                                  "bgm_op_linear");
    if (s == BGM_OK) /* h is the layer's own: nothing else reads it */
        s = bgm__apply_activation_over(ctx->tape, l->activation, l->leaky_alpha, h, y);
    return s;
}

/* nn.Linear (then the activation's module): weight (units, in), bias. */
static void dense_torch(const bgm_layer *l, bgm__torch_map *map)
{
    bgm__torch_param *e = bgm__torch_add(map, "weight", "", 0, BGM__TORCH_DENSE, 2, l->units,
                                         l->in_shape[l->in_ndim - 1], 0, 0);
    if (l->in_ndim == 1)
        memcpy(e->hwc, map->hwc, sizeof e->hwc);
    if (l->use_bias)
        bgm__torch_add(map, "bias", "", 1, BGM__TORCH_SAME, 1, l->units, 0, 0, 0);
    map->modules += l->activation != BGM_ACT_LINEAR;
}

static const bgm__field dense_fields[] = {BGM__FIELD_UNITS("units"), BGM__FIELD_ACTIVATION,
                                          BGM__FIELD_BIAS, BGM__FIELD_KERNEL_INIT(
                                              "kernel_initializer"),
                                          BGM__FIELD_KERNEL_L2};

const bgm__layer_ops bgm__dense_ops = {
    .kind = "Dense", .prefix = "dense", .ctor = "bgm_layer_dense",
    .fields = dense_fields, .nfields = BGM__NFIELDS(dense_fields),
    .build = dense_build, .forward = dense_forward, .torch = dense_torch,
    .compute_mask = bgm__pass_mask, /* Keras: Dense supports masking */
    .decode = BGM__DECODE_POINTWISE};

BGM_API bgm_layer *bgm_layer_dense(int64_t units, bgm_activation activation)
{
    bgm_layer *l = bgm__layer_new(&bgm__dense_ops, "bgm_layer_dense");
    if (l) {
        l->units = units;
        l->activation = activation;
    }
    return bgm__layer_checked(l);
}
