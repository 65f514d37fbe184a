/*
 * The public layer setters: each names its option and the field it sets;
 * bgm__layer_set finds the field in the kind's table and checks kind, state
 * and value the same way for all of them.
 */
#include "layers/layer.h"

/* A setter of a pair of sizes: a kind with one entry (Conv1D) takes the
 * same value twice, so a 2-D call cannot silently lose its second value. */
static bgm_status set_pair(bgm_layer *l, const char *fn, const char *what, size_t offset,
                           int64_t a, int64_t b)
{
    const int64_t v[2] = {a, b};
    const bgm__field *f = l ? bgm__layer_field(l->ops, offset, what) : NULL;
    if (f && !l->graph && f->type == BGM__FIELD_INTS && f->count == 1 && a != b)
        return bgm__fail(BGM_E_INVALID, "%s: a %s layer has one %s, got %lld and %lld "
                         "(pass the same value twice)", fn, l->ops->kind, what,
                         (long long)a, (long long)b);
    return bgm__layer_set(l, fn, what, offset, v);
}

BGM_API bgm_status bgm_layer_set_kernel_size(bgm_layer *layer, int64_t kh, int64_t kw)
{
    return set_pair(layer, "bgm_layer_set_kernel_size", "kernel size", BGM__OFFSET(kernel),
                    kh, kw);
}

BGM_API bgm_status bgm_layer_set_pool_size(bgm_layer *layer, int64_t ph, int64_t pw)
{
    const int64_t v[2] = {ph, pw};
    bgm_status s = bgm__layer_set(layer, "bgm_layer_set_pool_size", "pool size",
                                  BGM__OFFSET(kernel), v);
    if (s == BGM_OK) { /* Keras: strides default to the pool size */
        layer->strides[0] = ph;
        layer->strides[1] = pw;
    }
    return s;
}

BGM_API bgm_status bgm_layer_set_strides(bgm_layer *layer, int64_t sh, int64_t sw)
{
    return set_pair(layer, "bgm_layer_set_strides", "strides", BGM__OFFSET(strides), sh, sw);
}

BGM_API bgm_status bgm_layer_set_dilation_rate(bgm_layer *layer, int64_t dh, int64_t dw)
{
    return set_pair(layer, "bgm_layer_set_dilation_rate", "dilation rate",
                    BGM__OFFSET(dilation), dh, dw);
}

BGM_API bgm_status bgm_layer_set_max_wavelength(bgm_layer *layer, float max_wavelength)
{
    return bgm__layer_set(layer, "bgm_layer_set_max_wavelength", "max_wavelength",
                          BGM__OFFSET(max_wavelength), &max_wavelength);
}

BGM_API bgm_status bgm_layer_set_padding(bgm_layer *layer, bgm_padding padding)
{
    const int v = (int)padding;
    return bgm__layer_set(layer, "bgm_layer_set_padding", "padding", BGM__OFFSET(padding),
                          &v);
}

BGM_API bgm_status bgm_layer_set_use_bias(bgm_layer *layer, int use_bias)
{
    const int v = use_bias != 0;
    return bgm__layer_set(layer, "bgm_layer_set_use_bias", "bias", BGM__OFFSET(use_bias), &v);
}

BGM_API bgm_status bgm_layer_set_kernel_initializer(bgm_layer *layer, bgm_initializer init)
{
    const int v = (int)init;
    return bgm__layer_set(layer, "bgm_layer_set_kernel_initializer", "kernel initializer",
                          BGM__OFFSET(kernel_init), &v);
}

BGM_API bgm_status bgm_layer_set_bias_initializer(bgm_layer *layer, bgm_initializer init)
{
    const int v = (int)init;
    return bgm__layer_set(layer, "bgm_layer_set_bias_initializer", "bias initializer",
                          BGM__OFFSET(bias_init), &v);
}

BGM_API bgm_status bgm_layer_set_kernel_l2(bgm_layer *layer, float l2)
{
    return bgm__layer_set(layer, "bgm_layer_set_kernel_l2", "kernel regularizer",
                          BGM__OFFSET(l2), &l2);
}

BGM_API bgm_status bgm_layer_set_leaky_relu_alpha(bgm_layer *layer, float alpha)
{
    return bgm__layer_set(layer, "bgm_layer_set_leaky_relu_alpha", "activation",
                          BGM__OFFSET(leaky_alpha), &alpha);
}

BGM_API bgm_status bgm_layer_set_momentum(bgm_layer *layer, float momentum)
{
    return bgm__layer_set(layer, "bgm_layer_set_momentum", "momentum",
                          BGM__OFFSET(momentum), &momentum);
}

BGM_API bgm_status bgm_layer_set_synchronized(bgm_layer *layer, int synchronized)
{
    return bgm__layer_set(layer, "bgm_layer_set_synchronized", "synchronized",
                          BGM__OFFSET(synchronized), &synchronized);
}

BGM_API bgm_status bgm_layer_set_epsilon(bgm_layer *layer, float epsilon)
{
    return bgm__layer_set(layer, "bgm_layer_set_epsilon", "epsilon", BGM__OFFSET(epsilon),
                          &epsilon);
}

BGM_API bgm_status bgm_layer_set_axis(bgm_layer *layer, int64_t axis)
{
    return bgm__layer_set(layer, "bgm_layer_set_axis", "axis", BGM__OFFSET(axis), &axis);
}

BGM_API bgm_status bgm_layer_set_center(bgm_layer *layer, int center)
{
    const int v = center != 0;
    return bgm__layer_set(layer, "bgm_layer_set_center", "center", BGM__OFFSET(center), &v);
}

BGM_API bgm_status bgm_layer_set_scale(bgm_layer *layer, int scale)
{
    const int v = scale != 0;
    return bgm__layer_set(layer, "bgm_layer_set_scale", "scale", BGM__OFFSET(scale), &v);
}

BGM_API bgm_status bgm_layer_set_keepdims(bgm_layer *layer, int keepdims)
{
    const int v = keepdims != 0;
    return bgm__layer_set(layer, "bgm_layer_set_keepdims", "keepdims",
                          BGM__OFFSET(keepdims), &v);
}

BGM_API bgm_status bgm_layer_set_mask_zero(bgm_layer *layer, int mask_zero)
{
    const int v = mask_zero != 0;
    return bgm__layer_set(layer, "bgm_layer_set_mask_zero", "mask_zero",
                          BGM__OFFSET(mask_zero), &v);
}

BGM_API bgm_status bgm_layer_set_return_sequences(bgm_layer *layer, int return_sequences)
{
    const int v = return_sequences != 0;
    return bgm__layer_set(layer, "bgm_layer_set_return_sequences", "return_sequences",
                          BGM__OFFSET(return_sequences), &v);
}

BGM_API bgm_status bgm_layer_set_dropout(bgm_layer *layer, float rate)
{
    /* MultiHeadAttention drops attention probabilities, the RNNs inputs. */
    const char *what = layer && bgm__layer_field(layer->ops, BGM__OFFSET(dropout),
                                                 "attention dropout")
                           ? "attention dropout"
                           : "input dropout";
    return bgm__layer_set(layer, "bgm_layer_set_dropout", what, BGM__OFFSET(dropout), &rate);
}

BGM_API bgm_status bgm_layer_set_recurrent_dropout(bgm_layer *layer, float rate)
{
    return bgm__layer_set(layer, "bgm_layer_set_recurrent_dropout", "recurrent dropout",
                          BGM__OFFSET(recurrent_dropout), &rate);
}

BGM_API bgm_status bgm_layer_set_trainable(bgm_layer *layer, int trainable)
{
    if (!layer)
        return bgm__fail_null_layer("bgm_layer_set_trainable");
    if (layer->wrapped)
        return bgm__fail(BGM_E_STATE, "bgm_layer_set_trainable: the %s layer is wrapped by "
                         "a Bidirectional layer, whose flag it follows; set trainable on "
                         "the Bidirectional layer", layer->ops->kind);
    /* Only a flag: the model reads it (compile, summaries, weight lists). */
    layer->trainable = trainable != 0;
    if (layer->inner)
        layer->inner->trainable = layer->trainable;
    return BGM_OK;
}

BGM_API int bgm_layer_trainable(const bgm_layer *layer)
{
    return layer ? layer->trainable : 0;
}
