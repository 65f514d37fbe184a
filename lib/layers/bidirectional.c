/*
 * Bidirectional: an LSTM or GRU run forward and in reverse over the same
 * input, the two outputs concatenated on the last axis (Keras'
 * merge_mode='concat'). Each direction has its own weights, named as Keras
 * names them ("forward_lstm/kernel", "backward_lstm/kernel", ...), and its
 * own dropout masks.
 */
#include "layers/torch_map.h"

static const char *const lstm_names[2][3] = {
    {"forward_lstm/kernel", "forward_lstm/recurrent_kernel", "forward_lstm/bias"},
    {"backward_lstm/kernel", "backward_lstm/recurrent_kernel", "backward_lstm/bias"}};
static const char *const gru_names[2][3] = {
    {"forward_gru/kernel", "forward_gru/recurrent_kernel", "forward_gru/bias"},
    {"backward_gru/kernel", "backward_gru/recurrent_kernel", "backward_gru/bias"}};

BGM_API bgm_layer *bgm_layer_bidirectional(bgm_layer *layer)
{
    static const char *fn = "bgm_layer_bidirectional";
    bgm_layer *l;
    if (!layer) {
        bgm__fail_null_layer(fn);
        return NULL;
    }
    if (bgm__layer_called(layer)) {
        bgm__layer_built_fail(layer, fn);
        return NULL;
    }
    if (layer->wrapped) {
        bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by another Bidirectional layer",
                  fn, layer->ops->kind);
        return NULL;
    }
    if (layer->ops != &bgm__lstm_ops && layer->ops != &bgm__gru_ops) {
        bgm__fail(BGM_E_INVALID, "%s: wraps an LSTM or GRU layer, got a %s layer", fn,
                  layer->ops->kind);
        bgm_layer_free(layer);
        return NULL;
    }
    l = bgm__layer_new(&bgm__bidirectional_ops, fn);
    if (!l) {
        bgm_layer_free(layer);
        return NULL;
    }
    l->inner = layer;
    l->trainable = layer->trainable;
    layer->wrapped = 1;
    return l;
}

static bgm_status bidirectional_build(bgm_layer *l, const bgm__shape *in, int nin,
                                      bgm__shape *out)
{
    const char *const(*names)[3] = l->inner->ops == &bgm__lstm_ops ? lstm_names : gru_names;
    bgm_status s = bgm__rnn_build(l, l->inner, names[0], in, out);
    if (s == BGM_OK)
        s = bgm__rnn_build(l, l->inner, names[1], in, out);
    if (s == BGM_OK)
        out->d[out->ndim - 1] *= 2;
    return s;
}

static bgm_status bidirectional_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                        bgm_tensor *const *w, const bgm_tensor *const *x,
                                        int nx, bgm_tensor **y)
{
    bgm_tensor *halves[2];
    bgm_status s = bgm__rnn_forward(l->inner, ctx, w, x[0], 0, &halves[0]);
    if (s == BGM_OK)
        s = bgm__rnn_forward(l->inner, ctx, w + l->nweights / 2, x[0], 1, &halves[1]);
    if (s == BGM_OK)
        s = bgm_op_concat(y, ctx->tape, (const bgm_tensor *const *)halves, 2, -1);
    return s;
}

static bgm_status bidirectional_mask(const bgm_layer *l, const bgm_tensor *x,
                                     const bgm_tensor *const *masks, int nx,
                                     const bgm_tensor **out, bgm_tensor **made)
{
    *out = l->inner->return_sequences ? masks[0] : NULL;
    *made = NULL;
    return BGM_OK;
}

static void bidirectional_init(const bgm_layer *l, float *const *w)
{
    if (l->inner->ops == &bgm__lstm_ops && l->inner->use_bias) {
        bgm__lstm_unit_forget_bias(w[2], l->inner->units);
        bgm__lstm_unit_forget_bias(w[5], l->inner->units);
    }
}

/* nn.LSTM / nn.GRU with bidirectional=True: the forward tensors, then "_reverse". */
static void bidirectional_torch(const bgm_layer *l, bgm__torch_map *map)
{
    bgm__rnn_torch(l->inner, map, 0, l->in_shape[1], "");
    bgm__rnn_torch(l->inner, map, l->nweights / 2, l->in_shape[1], "_reverse");
}

/* The wrapped layer is an LSTM or GRU (files give it as a field). */
static bgm_status bidirectional_check(const bgm_layer *l, const char *fn)
{
    if (!l->inner || (l->inner->ops != &bgm__lstm_ops && l->inner->ops != &bgm__gru_ops))
        return bgm__fail(BGM_E_INVALID, "%s: wraps an LSTM or GRU layer, got %s", fn,
                         l->inner ? l->inner->ops->kind : "nothing");
    return BGM_OK;
}

static const bgm__field bidirectional_fields[] = {
    {.key = "layer", .what = "wrapped layer", .label = "layer", .type = BGM__FIELD_LAYER,
     .offset = BGM__OFFSET(inner)}};

const bgm__layer_ops bgm__bidirectional_ops = {
    .kind = "Bidirectional", .prefix = "bidirectional", .ctor = "bgm_layer_bidirectional",
    .fields = bidirectional_fields, .nfields = BGM__NFIELDS(bidirectional_fields),
    .check = bidirectional_check, .build = bidirectional_build,
    .forward = bidirectional_forward, .compute_mask = bidirectional_mask,
    .init_weights = bidirectional_init, .torch = bidirectional_torch};
