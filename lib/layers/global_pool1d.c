/* GlobalAveragePooling1D: the mean over the steps of (T, C) sequences,
 * over the unmasked steps when a padding mask arrives (Keras). */
#include "layers/layer.h"

static bgm_status global_pool1d_build(bgm_layer *l, const bgm__shape *in, int nin,
                                      bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "input holds int32 token ids; "
                               "GlobalAveragePooling1D takes float32 sequences (put an "
                               "Embedding before it)");
    if (in->ndim != 2)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 2 dimensions (steps, "
                               "channels), got %s",
                               bgm__batch_shape_str(got, sizeof got, in->d, in->ndim));
    if (in->d[0] == 0)
        return bgm__layer_fail(l, BGM_E_SHAPE, "input %s has no steps to average",
                               bgm__batch_shape_str(got, sizeof got, in->d, in->ndim));
    out->dtype = BGM_FLOAT32;
    out->ndim = l->keepdims ? 2 : 1;
    out->d[0] = l->keepdims ? 1 : in->d[1];
    out->d[1] = in->d[1];
    return BGM_OK;
}

static bgm_status global_pool1d_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                        bgm_tensor *const *w, const bgm_tensor *const *x,
                                        int nx, bgm_tensor **y)
{
    return bgm_op_global_avg_pool1d(y, ctx->tape, x[0], ctx->mask, l->keepdims);
}

static const bgm__field global_pool1d_fields[] = {
    {.key = "keepdims", .what = "keepdims", .label = "keepdims", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(keepdims)}};

/* No compute_mask: the time axis is gone, and so is the mask (Keras). */
const bgm__layer_ops bgm__global_avg_pool1d_ops = {
    .kind = "GlobalAveragePooling1D", .prefix = "global_average_pooling1d",
    .ctor = "bgm_layer_global_avg_pool1d", .fields = global_pool1d_fields,
    .nfields = BGM__NFIELDS(global_pool1d_fields), .build = global_pool1d_build,
    .forward = global_pool1d_forward, .decode = BGM__DECODE_NONE};

BGM_API bgm_layer *bgm_layer_global_avg_pool1d(void)
{
    return bgm__layer_new(&bgm__global_avg_pool1d_ops, "bgm_layer_global_avg_pool1d");
}
