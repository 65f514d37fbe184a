/*
 * LSTM and GRU layers over (timesteps, features) samples, with Keras'
 * defaults: glorot_uniform input kernel, orthogonal recurrent kernel, zero
 * bias (LSTM: unit_forget_bias), GRU with reset_after. Dropout as Keras'
 * implementation 2: one input mask (N, F) per batch shared by every step,
 * one recurrent mask (N, H) per sequence, both only in training.
 */
#include "layers/layer.h"

#include <stdlib.h>
#include <string.h>

static const bgm__layer_ops *const rnn_kinds[] = {&bgm__lstm_ops, &bgm__gru_ops};

#define NKINDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

static bgm_layer *recurrent(const bgm__layer_ops *ops, const char *fn, int64_t units)
{
    bgm_layer *l;
    if (units < 1) {
        bgm__fail(BGM_E_INVALID, "%s: units = %lld, expected at least 1", fn,
                  (long long)units);
        return NULL;
    }
    l = bgm__layer_new(ops, fn);
    if (l)
        l->units = units;
    return l;
}

BGM_API bgm_layer *bgm_layer_lstm(int64_t units)
{
    return recurrent(&bgm__lstm_ops, "bgm_layer_lstm", units);
}

BGM_API bgm_layer *bgm_layer_gru(int64_t units)
{
    return recurrent(&bgm__gru_ops, "bgm_layer_gru", units);
}

BGM_API bgm_status bgm_layer_set_return_sequences(bgm_layer *layer, int return_sequences)
{
    bgm_status s = bgm__layer_settable(layer, "bgm_layer_set_return_sequences",
                                       "return_sequences", rnn_kinds, NKINDS(rnn_kinds));
    if (s == BGM_OK)
        layer->return_sequences = return_sequences != 0;
    return s;
}

static bgm_status set_rate(bgm_layer *layer, float *field, float rate, const char *fn,
                           const char *option)
{
    bgm_status s = bgm__layer_settable(layer, fn, option, rnn_kinds, NKINDS(rnn_kinds));
    if (s != BGM_OK)
        return s;
    if (!(rate >= 0.0f && rate < 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: rate = %g, expected a value in [0, 1)", fn,
                         (double)rate);
    *field = rate;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_dropout(bgm_layer *layer, float rate)
{
    return set_rate(layer, layer ? &layer->dropout : NULL, rate, "bgm_layer_set_dropout",
                    "input dropout");
}

BGM_API bgm_status bgm_layer_set_recurrent_dropout(bgm_layer *layer, float rate)
{
    return set_rate(layer, layer ? &layer->recurrent_dropout : NULL, rate,
                    "bgm_layer_set_recurrent_dropout", "recurrent dropout");
}

static int gates(const bgm_layer *cfg)
{
    return cfg->ops == &bgm__lstm_ops ? 4 : 3;
}

bgm_status bgm__rnn_build(bgm_layer *l, const bgm_layer *cfg, const char *const *names,
                          const bgm__shape *in, bgm__shape *out)
{
    static const char *const plain[3] = {"kernel", "recurrent_kernel", "bias"};
    char got[BGM__SHAPE_STR_SIZE];
    int64_t g = gates(cfg), h = cfg->units, f, shape[2];
    if (!names)
        names = plain;
    if (in->ndim != 2)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 2 dimensions (timesteps, "
                               "features), got %s%s",
                               bgm__shape_str(got, sizeof got, in->d, in->ndim),
                               in->ndim == 1 ? " — token ids need an Embedding layer "
                               "before it" : "");
    f = in->d[1];
    shape[0] = f;
    shape[1] = g * h;
    bgm__layer_add_spec(l, names[0], shape, 2, 1, cfg->kernel_init, f, g * h, 0);
    shape[0] = h;
    bgm__layer_add_spec(l, names[1], shape, 2, 1, BGM_INIT_ORTHOGONAL, h, g * h, 0);
    if (cfg->use_bias) {
        if (g == 4) {
            shape[0] = g * h;
            bgm__layer_add_spec(l, names[2], shape, 1, 1, cfg->bias_init, f, g * h, 0);
        } else {
            /* reset_after: input and recurrent biases as two rows, as Keras stores them */
            shape[0] = 2;
            shape[1] = g * h;
            bgm__layer_add_spec(l, names[2], shape, 2, 1, cfg->bias_init, f, g * h, 0);
        }
    }
    out->dtype = BGM_FLOAT32;
    if (cfg->return_sequences) {
        out->d[0] = in->d[0];
        out->d[1] = h;
        out->ndim = 2;
    } else {
        out->d[0] = h;
        out->ndim = 1;
    }
    return BGM_OK;
}

/* A dropout mask of the given shape: 0 or 1 / (1 - rate) per element,
 * tape-owned with a tape, else the caller's. */
static bgm_status dropout_mask(bgm_tensor **out, bgm_tape *tape, const int64_t *shape,
                               int ndim, float rate, bgm_rng *rng)
{
    bgm_tensor *ones = NULL;
    bgm_status s = bgm_tensor_ones(&ones, BGM_FLOAT32, shape, ndim);
    /* ones needs no gradient, so nothing recorded refers to it afterwards */
    if (s == BGM_OK)
        s = bgm_op_dropout(out, tape, ones, rate, rng, 1);
    bgm_tensor_free(ones);
    return s;
}

static bgm_status check_mask(const bgm_tensor *mask, const bgm_tensor *x)
{
    char ms[BGM__SHAPE_STR_SIZE], xs[BGM__SHAPE_STR_SIZE];
    if (bgm_tensor_ndim(mask) == 2 && bgm_tensor_dim(mask, 0) == bgm_tensor_dim(x, 0) &&
        bgm_tensor_dim(mask, 1) == bgm_tensor_dim(x, 1))
        return BGM_OK;
    return bgm__fail(BGM_E_SHAPE, "the padding mask %s does not fit the input %s",
                     bgm__shape_str(ms, sizeof ms, bgm_tensor_shape(mask),
                                    bgm_tensor_ndim(mask)),
                     bgm__shape_str(xs, sizeof xs, bgm_tensor_shape(x), bgm_tensor_ndim(x)));
}

bgm_status bgm__rnn_forward(const bgm_layer *cfg, const bgm__forward_ctx *ctx,
                            bgm_tensor *const *w, const bgm_tensor *x, int reverse,
                            bgm_tensor **y)
{
    const bgm_tensor *in = x, *bias = cfg->use_bias ? w[2] : NULL;
    bgm_tensor *rmask = NULL, *dmask, *dropped;
    bgm_status s = BGM_OK;
    int64_t n = bgm_tensor_dim(x, 0);
    if (ctx->mask)
        s = check_mask(ctx->mask, x);
    if (s == BGM_OK && ctx->training && cfg->dropout > 0.0f) {
        int64_t shape[3];
        shape[0] = n;
        shape[1] = 1;
        shape[2] = bgm_tensor_dim(x, 2);
        s = dropout_mask(&dmask, ctx->tape, shape, 3, cfg->dropout, ctx->rng);
        if (s == BGM_OK)
            s = bgm_op_mul(&dropped, ctx->tape, x, dmask);
        if (s == BGM_OK)
            in = dropped;
    }
    if (s == BGM_OK && ctx->training && cfg->recurrent_dropout > 0.0f) {
        int64_t shape[2];
        shape[0] = n;
        shape[1] = cfg->units;
        /* the op copies the mask, so it may be the caller's and freed below */
        s = dropout_mask(&rmask, NULL, shape, 2, cfg->recurrent_dropout, ctx->rng);
    }
    if (s == BGM_OK) {
        if (cfg->ops == &bgm__lstm_ops)
            s = bgm_op_lstm(y, ctx->tape, in, w[0], w[1], bias, NULL, NULL, ctx->mask, rmask,
                            cfg->return_sequences, reverse);
        else
            s = bgm_op_gru(y, ctx->tape, in, w[0], w[1], bias, NULL, ctx->mask, rmask,
                           cfg->return_sequences, reverse);
    }
    bgm_tensor_free(rmask);
    return s;
}

void bgm__lstm_unit_forget_bias(float *bias, int64_t units)
{
    int64_t j;
    for (j = units; j < 2 * units; j++)
        bias[j] = 1.0f;
}

static bgm_status rnn_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    return bgm__rnn_build(l, l, NULL, in, out);
}

static bgm_status rnn_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                              bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                              bgm_tensor **y)
{
    return bgm__rnn_forward(l, ctx, w, x[0], 0, y);
}

/* With return_sequences the steps (and their mask) carry on; without, the mask is used up. */
static bgm_status rnn_mask(const bgm_layer *l, const bgm_tensor *x, const bgm_tensor *mask,
                           const bgm_tensor **out, bgm_tensor **made)
{
    *out = l->return_sequences ? mask : NULL;
    *made = NULL;
    return BGM_OK;
}

static void lstm_init(const bgm_layer *l, float *const *w)
{
    if (l->use_bias)
        bgm__lstm_unit_forget_bias(w[2], l->units);
}

const bgm__layer_ops bgm__lstm_ops = {"LSTM", "lstm", rnn_build, rnn_forward, rnn_mask,
                                      lstm_init, 0, 0, 0};
const bgm__layer_ops bgm__gru_ops = {"GRU", "gru", rnn_build, rnn_forward, rnn_mask, NULL, 0,
                                     0, 0};
