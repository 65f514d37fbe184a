/*
 * LSTM and GRU layers over (timesteps, features) samples, with Keras'
 * defaults: glorot_uniform input kernel, orthogonal recurrent kernel, zero
 * bias (LSTM: unit_forget_bias), GRU with reset_after. Dropout as Keras'
 * implementation 2: one input mask (N, F) per batch shared by every step,
 * one recurrent mask (N, H) per sequence, both only in training.
 */
#include "layers/torch_map.h"

#include <stdlib.h>
#include <string.h>

void bgm__rnn_torch(const bgm_layer *cfg, bgm__torch_map *map, int w0, int64_t features,
                    const char *suffix)
{
    static const char *const names[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                          "bias_hh_l0"};
    int g = cfg->ops == &bgm__lstm_ops ? 4 : 3, k;
    int64_t h = cfg->units;
    for (k = 0; k < (cfg->use_bias ? 4 : 2); k++) {
        bgm__torch_param *e = bgm__torch_add(
            map, names[k], suffix, w0 + (k < 2 ? k : 2),
            k < 2 ? BGM__TORCH_RNN_KERNEL : BGM__TORCH_RNN_BIAS, k < 2 ? 2 : 1, g * h,
            k == 0 ? features : h, 0, 0);
        e->gates = g;
        e->units = h;
        e->part = k == 3;
        if (k >= 2)
            e->shape[1] = 0;
    }
}

/* nn.LSTM / nn.GRU (batch_first): weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0. */
static void rnn_torch(const bgm_layer *l, bgm__torch_map *map)
{
    bgm__rnn_torch(l, map, 0, l->in_shape[1], "");
}

static const bgm__field rnn_fields[] = {
    BGM__FIELD_UNITS("units"), BGM__FIELD_BIAS, BGM__FIELD_KERNEL_INIT("kernel_initializer"),
    {.key = "return_sequences", .what = "return_sequences", .label = "return_sequences",
     .type = BGM__FIELD_BOOL, .offset = BGM__OFFSET(return_sequences)},
    {.key = "dropout", .what = "input dropout", .label = "rate", .type = BGM__FIELD_FLOAT,
     .offset = BGM__OFFSET(dropout), .lo = 0, .hi = 1, .hi_open = 1},
    {.key = "recurrent_dropout", .what = "recurrent dropout", .label = "rate",
     .type = BGM__FIELD_FLOAT, .offset = BGM__OFFSET(recurrent_dropout), .lo = 0, .hi = 1,
     .hi_open = 1}};

static bgm_layer *recurrent(const bgm__layer_ops *ops, int64_t units)
{
    bgm_layer *l = bgm__layer_new(ops, ops->ctor);
    if (l)
        l->units = units;
    return bgm__layer_checked(l);
}

BGM_API bgm_layer *bgm_layer_lstm(int64_t units)
{
    return recurrent(&bgm__lstm_ops, units);
}

BGM_API bgm_layer *bgm_layer_gru(int64_t units)
{
    return recurrent(&bgm__gru_ops, units);
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
static bgm_status rnn_mask(const bgm_layer *l, const bgm_tensor *x,
                           const bgm_tensor *const *masks, int nx, const bgm_tensor **out,
                           bgm_tensor **made)
{
    *out = l->return_sequences ? masks[0] : NULL;
    *made = NULL;
    return BGM_OK;
}

static void lstm_init(const bgm_layer *l, float *const *w)
{
    if (l->use_bias)
        bgm__lstm_unit_forget_bias(w[2], l->units);
}

const bgm__layer_ops bgm__lstm_ops = {
    .kind = "LSTM", .prefix = "lstm", .ctor = "bgm_layer_lstm", .fields = rnn_fields,
    .nfields = BGM__NFIELDS(rnn_fields), .build = rnn_build, .forward = rnn_forward,
    .compute_mask = rnn_mask, .init_weights = lstm_init, .torch = rnn_torch};
const bgm__layer_ops bgm__gru_ops = {
    .kind = "GRU", .prefix = "gru", .ctor = "bgm_layer_gru", .fields = rnn_fields,
    .nfields = BGM__NFIELDS(rnn_fields), .build = rnn_build, .forward = rnn_forward,
    .compute_mask = rnn_mask, .torch = rnn_torch};
