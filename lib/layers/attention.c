/*
 * MultiHeadAttention (Keras 3): called on query (T, dim), value (S, dim_v),
 * optional key (S, dim_k) and optional attention mask (T, S), as inputs 0 to
 * 3. Weights as Keras lays them out: query/kernel (dim, H, key_dim),
 * query/bias (H, key_dim), key/..., value/kernel (dim_v, H, value_dim),
 * value/bias, attention_output/kernel (H, value_dim, out), attention_output/
 * bias (out). The projections are GEMMs over (N * T, dim) rows whose result
 * is already (N, T, H, key_dim): the attention kernel takes the heads in that
 * layout, so nothing is transposed.
 */
#include "autograd/tape.h"
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/attention.h"

static const char *const input_names[] = {"query", "value", "key", "attention_mask"};

static bgm_status check_rank(bgm_layer *l, const bgm__shape *in, int i)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->dtype != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "the %s is int32, expected float32%s",
                               input_names[i], i < 3 ? " (token ids need an Embedding first)"
                                                     : " (1 attends, 0 does not)");
    if (in->ndim != 2)
        return bgm__layer_fail(l, BGM_E_SHAPE, "the %s has shape %s, expected %s",
                               input_names[i], bgm__batch_shape_str(got, sizeof got, in->d,
                                                                    in->ndim),
                               i == 3 ? "(None, T, S) (queries, keys)"
                                      : "(None, length, features)");
    return BGM_OK;
}

/* Keras' fans of an EinsumDense kernel of 3 dimensions (a, b, c):
 * receptive field a, fan_in b * a, fan_out c * a. */
static void add_kernel(bgm_layer *l, const char *name, int64_t a, int64_t b, int64_t c)
{
    int64_t shape[3] = {a, b, c};
    bgm__layer_add_spec(l, name, shape, 3, 1, l->kernel_init, a * b, a * c, 0);
}

static void add_bias(bgm_layer *l, const char *name, const int64_t *shape, int ndim)
{
    if (l->use_bias)
        bgm__layer_add_spec(l, name, shape, ndim, 1, l->bias_init, 1, 1, 0);
}

static bgm_status mha_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    const bgm__shape *q = &in[0], *v = &in[1], *k = nin > 2 ? &in[2] : &in[1];
    int64_t hk[2] = {l->num_heads, l->key_dim}, hv[2] = {l->num_heads, l->value_dim};
    int64_t dim = l->out_dim ? l->out_dim : q->d[1];
    int i;
    bgm_status s = BGM_OK;
    for (i = 0; i < nin && s == BGM_OK; i++)
        s = check_rank(l, &in[i], i);
    if (s != BGM_OK)
        return s;
    if (k->d[0] != v->d[0])
        return bgm__layer_fail(l, BGM_E_SHAPE, "the key %s and the value %s differ in "
                               "length", bgm__batch_shape_str(a, sizeof a, k->d, 2),
                               bgm__batch_shape_str(b, sizeof b, v->d, 2));
    if (nin == 4 && (in[3].d[0] != q->d[0] || in[3].d[1] != v->d[0]))
        return bgm__layer_fail(l, BGM_E_SHAPE, "the attention_mask has shape %s, expected "
                               "(None, %lld, %lld) (query length, value length)",
                               bgm__batch_shape_str(a, sizeof a, in[3].d, 2),
                               (long long)q->d[0], (long long)v->d[0]);
    add_kernel(l, "query/kernel", q->d[1], l->num_heads, l->key_dim);
    add_bias(l, "query/bias", hk, 2);
    add_kernel(l, "key/kernel", k->d[1], l->num_heads, l->key_dim);
    add_bias(l, "key/bias", hk, 2);
    add_kernel(l, "value/kernel", v->d[1], l->num_heads, l->value_dim);
    add_bias(l, "value/bias", hv, 2);
    add_kernel(l, "attention_output/kernel", l->num_heads, l->value_dim, dim);
    add_bias(l, "attention_output/bias", &dim, 1);
    out[0].ndim = 2;
    out[0].d[0] = q->d[0];
    out[0].d[1] = dim;
    out[0].dtype = BGM_FLOAT32;
    if (l->return_scores) {
        out[1].ndim = 3;
        out[1].d[0] = l->num_heads;
        out[1].d[1] = q->d[0];
        out[1].d[2] = v->d[0];
        out[1].dtype = BGM_FLOAT32;
    }
    return BGM_OK;
}

/* y (shape[0..ndim)) = x (rows of in) kernel (in, out) + bias, on the tape;
 * shape starts with x's two leading axes (N, L). */
static bgm_status affine(const bgm__forward_ctx *ctx, const bgm_tensor *x, int64_t in,
                         bgm_tensor *kernel, bgm_tensor *bias, const int64_t *shape, int ndim,
                         bgm_tensor **y)
{
    return bgm__op_affine(y, ctx->tape, x, kernel, bias, in, shape + 2, ndim - 2,
                          "bgm_layer_multi_head_attention");
}

/* The heads of x (N, L, features): (N, L, H, width), with weights w[0] and,
 * with a bias, w[1]. */
static bgm_status project(const bgm_layer *l, const bgm__forward_ctx *ctx,
                          bgm_tensor *const *w, const bgm_tensor *x, int64_t width,
                          bgm_tensor **y)
{
    int64_t shape[4];
    shape[0] = bgm_tensor_dim(x, 0);
    shape[1] = bgm_tensor_dim(x, 1);
    shape[2] = l->num_heads;
    shape[3] = width;
    return affine(ctx, x, bgm_tensor_dim(x, 2), w[0], l->use_bias ? w[1] : NULL, shape, 4,
                  y);
}

/* The (N, L) padding mask m of input i, checked against x's first two dims. */
static bgm_status row_mask(const bgm_layer *l, const bgm_tensor *m, const bgm_tensor *x,
                           int i, const float **out)
{
    *out = NULL;
    if (!m)
        return BGM_OK;
    if (bgm_tensor_numel(m) != bgm_tensor_dim(x, 0) * bgm_tensor_dim(x, 1))
        return bgm__layer_fail(l, BGM_E_SHAPE, "the %s's mask holds %lld values, expected "
                               "%lld (batch x length)", input_names[i],
                               (long long)bgm_tensor_numel(m),
                               (long long)(bgm_tensor_dim(x, 0) * bgm_tensor_dim(x, 1)));
    *out = bgm_tensor_data(m);
    return BGM_OK;
}

/* The masks of the call in o: query's, and value's and key's combined (the
 * product of both in *joint, freed by the caller). */
static bgm_status gather_masks(const bgm_layer *l, const bgm__forward_ctx *ctx,
                               const bgm_tensor *const *x, int nx, bgm__attn_opts *o,
                               float **joint)
{
    const float *vm = NULL, *km = NULL;
    bgm_status s = BGM_OK;
    int64_t i, n;
    *joint = NULL;
    if (!ctx->masks)
        return BGM_OK;
    s = row_mask(l, ctx->masks[0], x[0], 0, &o->query_mask);
    if (s == BGM_OK)
        s = row_mask(l, ctx->masks[1], x[1], 1, &vm);
    if (s == BGM_OK && nx > 2)
        s = row_mask(l, ctx->masks[2], x[2], 2, &km);
    if (s != BGM_OK || !vm || !km) {
        o->key_mask = vm ? vm : km;
        return s;
    }
    n = bgm_tensor_dim(x[1], 0) * bgm_tensor_dim(x[1], 1);
    if (!(*joint = malloc((size_t)n * sizeof **joint)))
        return bgm__fail(BGM_E_NOMEM, "out of memory for the key mask");
    for (i = 0; i < n; i++)
        (*joint)[i] = vm[i] != 0.0f && km[i] != 0.0f;
    o->key_mask = *joint;
    return BGM_OK;
}

/* Attention of the heads q, k, v: the fused op, or probabilities, dropout
 * and their product with v where the probabilities are wanted (*scores
 * receives them when not NULL). */
static bgm_status attend(const bgm_layer *l, const bgm__forward_ctx *ctx,
                         const bgm_tensor *q, const bgm_tensor *k, const bgm_tensor *v,
                         const bgm__attn_opts *o, bgm_tensor **scores, bgm_tensor **y)
{
    static const char *fn = "MultiHeadAttention";
    int drop = ctx->training && l->dropout > 0.0f;
    bgm_tensor *p = NULL, *pd;
    bgm_status s;
    if (!drop && !scores)
        return bgm__op_attention(y, ctx->tape, q, k, v, o, fn);
    s = bgm__op_attention_probs(&p, ctx->tape, q, k, o, fn);
    pd = p;
    if (s == BGM_OK && drop)
        s = bgm_op_dropout(&pd, ctx->tape, p, l->dropout, ctx->rng, 1);
    if (s == BGM_OK)
        s = bgm__op_attention_apply(y, ctx->tape, pd, v, fn);
    if (scores)
        *scores = p;
    return s;
}

/* ---- incremental decoding: the K/V cache ----------------------------------- */

/* What a layer keeps between the calls of an incremental decode: the
 * projected keys and values of every position run so far, per sequence, and
 * which of them a padding mask hid. */
typedef struct mha_cache {
    int64_t n, cap, len;       /* sequences, positions allocated and held */
    int64_t kw, vw;            /* floats of one position: H * key_dim, H * value_dim */
    float *k, *v;              /* (n, cap, H, key_dim), (n, cap, H, value_dim) */
    float *seen;               /* (n, cap): 0 where a padding mask hid the key; NULL
                                  until a mask comes */
} mha_cache;

static void mha_free_state(void *state)
{
    mha_cache *c = state;
    if (!c)
        return;
    free(c->k);
    free(c->v);
    free(c->seen);
    free(c);
}

/* rows (n, cap) of width w moved to a buffer of cap rows per sequence;
 * NULL when out of memory (old is then kept). */
static float *regrow(const float *old, int64_t n, int64_t len, int64_t cap, int64_t ncap,
                     int64_t w)
{
    float *p = malloc((size_t)(n * ncap * w) * sizeof *p);
    int64_t b;
    if (!p || !old)
        return p;
    for (b = 0; b < n; b++)
        memcpy(p + b * ncap * w, old + b * cap * w, (size_t)(len * w) * sizeof *p);
    return p;
}

/* Room for more positions in c (doubling), with a seen mask when want_seen. */
static bgm_status reserve(mha_cache *c, int64_t more, int want_seen, const char *fn)
{
    int64_t ncap = c->cap, b, i;
    float *k, *v, *seen = NULL;
    if (c->len + more <= c->cap && (c->seen || !want_seen))
        return BGM_OK;
    while (ncap < c->len + more)
        ncap = ncap ? 2 * ncap : 16;
    k = regrow(c->k, c->n, c->len, c->cap, ncap, c->kw);
    v = regrow(c->v, c->n, c->len, c->cap, ncap, c->vw);
    if (want_seen || c->seen)
        seen = regrow(c->seen, c->n, c->len, c->cap, ncap, 1);
    if (!k || !v || ((want_seen || c->seen) && !seen)) {
        free(k);
        free(v);
        free(seen);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the key/value cache", fn);
    }
    if (seen && !c->seen) /* the keys before the first mask were all seen */
        for (b = 0; b < c->n; b++)
            for (i = 0; i < c->len; i++)
                seen[b * ncap + i] = 1.0f;
    free(c->k);
    free(c->v);
    free(c->seen);
    c->k = k;
    c->v = v;
    c->seen = seen;
    c->cap = ncap;
    return BGM_OK;
}

/* Appends rows (n, t, width) of src to the cache buffer dst (n, cap, width). */
static void append_rows(float *dst, const float *src, const mha_cache *c, int64_t t,
                        int64_t width)
{
    int64_t b;
    for (b = 0; b < c->n; b++)
        memcpy(dst + (b * c->cap + c->len) * width, src + b * t * width,
               (size_t)(t * width) * sizeof *dst);
}

/* The cache of ctx->decode, made on the first call; checks it continues. */
static bgm_status cache_of(const bgm_layer *l, const bgm__forward_ctx *ctx, int64_t n,
                           mha_cache **out)
{
    mha_cache *c = *ctx->decode->state;
    int64_t len = c ? c->len : 0;
    if (ctx->decode->pos != len)
        return bgm__layer_fail(l, BGM_E_STATE, "decoding from position %lld, but its cache "
                               "holds %lld positions", (long long)ctx->decode->pos,
                               (long long)len);
    if (c && c->n != n)
        return bgm__layer_fail(l, BGM_E_SHAPE, "decoding %lld sequences, but its cache holds "
                               "%lld", (long long)n, (long long)c->n);
    if (!c) {
        if (!(c = calloc(1, sizeof *c)))
            return bgm__fail(BGM_E_NOMEM, "out of memory for the key/value cache");
        c->n = n;
        c->kw = l->num_heads * l->key_dim;
        c->vw = l->num_heads * l->value_dim;
        *ctx->decode->state = c;
    }
    *out = c;
    return BGM_OK;
}

/*
 * Attention of the new positions q (N, T, H, key_dim) over every cached one:
 * k and v (the new positions' heads) join the cache first, the key mask too
 * (o->key_mask, for the new keys), and query t sits at absolute position
 * pos + t for the causal rule.
 */
static bgm_status attend_cached(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                const bgm_tensor *q, const bgm_tensor *k,
                                const bgm_tensor *v, const bgm__attn_opts *o,
                                bgm_tensor **scores, bgm_tensor **y)
{
    int64_t n = bgm_tensor_dim(q, 0), t = bgm_tensor_dim(q, 1), b, i;
    mha_cache *c = NULL;
    bgm__attn a;
    bgm_status s = cache_of(l, ctx, n, &c);
    if (s == BGM_OK)
        s = reserve(c, t, o->key_mask != NULL, "MultiHeadAttention");
    if (s != BGM_OK)
        return s;
    append_rows(c->k, bgm_tensor_data(k), c, t, c->kw);
    append_rows(c->v, bgm_tensor_data(v), c, t, c->vw);
    for (b = 0; c->seen && b < n; b++)
        for (i = 0; i < t; i++)
            c->seen[b * c->cap + c->len + i] = o->key_mask ? o->key_mask[b * t + i] != 0.0f
                                                           : 1.0f;
    c->len += t;
    memset(&a, 0, sizeof a);
    a.n = n;
    a.t = t;
    a.s = c->len;
    a.h = l->num_heads;
    a.dk = l->key_dim;
    a.dv = l->value_dim;
    a.k = c->k;
    a.v = c->v;
    a.k_batch = c->cap * c->kw;
    a.v_batch = c->cap * c->vw;
    a.query_mask = o->query_mask;
    a.key_mask = c->seen;
    a.key_mask_batch = c->cap;
    a.causal = o->causal;
    a.offset = c->len - t;
    a.scale = o->scale;
    return bgm__op_attention_cached(y, scores, ctx->tape, q, &a, "MultiHeadAttention");
}

/* The decoding checks: inference, the value (and key) hold the same new
 * positions as the query (self-attention), no explicit mask (its width would
 * change from call to call). */
static bgm_status check_decode(const bgm_layer *l, const bgm__forward_ctx *ctx,
                               const bgm_tensor *const *x, int nx)
{
    int i;
    if (ctx->training)
        return bgm__layer_fail(l, BGM_E_STATE, "incremental decoding runs in inference, "
                               "not in training");
    if (nx > 3)
        return bgm__layer_fail(l, BGM_E_UNSUPPORTED, "incremental decoding takes no "
                               "attention_mask input (use the causal mask and padding "
                               "masks)");
    for (i = 1; i < nx; i++)
        if (bgm_tensor_dim(x[i], 1) != bgm_tensor_dim(x[0], 1))
            return bgm__layer_fail(l, BGM_E_UNSUPPORTED, "incremental decoding attends over "
                                   "the positions it is given, but the %s holds %lld "
                                   "positions and the query %lld", input_names[i],
                                   (long long)bgm_tensor_dim(x[i], 1),
                                   (long long)bgm_tensor_dim(x[0], 1));
    return BGM_OK;
}

static bgm_status mha_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                              bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                              bgm_tensor **y)
{
    const bgm_tensor *key = nx > 2 ? x[2] : x[1];
    int nb = l->use_bias ? 2 : 1;
    int64_t shape[3];
    bgm_tensor *q, *k, *v, *o;
    bgm__attn_opts opts;
    float *joint = NULL;
    bgm_status s;
    if (ctx->decode && (s = check_decode(l, ctx, x, nx)) != BGM_OK)
        return s;
    memset(&opts, 0, sizeof opts);
    opts.mask = nx > 3 ? x[3] : NULL;
    opts.causal = l->use_causal_mask;
    opts.scale = 1.0f / sqrtf((float)l->key_dim);
    s = gather_masks(l, ctx, x, nx, &opts, &joint);
    if (s == BGM_OK)
        s = project(l, ctx, w, x[0], l->key_dim, &q);
    if (s == BGM_OK)
        s = project(l, ctx, w + nb, key, l->key_dim, &k);
    if (s == BGM_OK)
        s = project(l, ctx, w + 2 * nb, x[1], l->value_dim, &v);
    if (s == BGM_OK && ctx->decode)
        s = attend_cached(l, ctx, q, k, v, &opts, l->return_scores ? &y[1] : NULL, &o);
    else if (s == BGM_OK)
        s = attend(l, ctx, q, k, v, &opts, l->return_scores ? &y[1] : NULL, &o);
    free(joint);
    if (s != BGM_OK)
        return s;
    shape[0] = bgm_tensor_dim(x[0], 0);
    shape[1] = bgm_tensor_dim(x[0], 1);
    shape[2] = l->out_dim ? l->out_dim : bgm_tensor_dim(x[0], 2);
    return affine(ctx, o, l->num_heads * l->value_dim, w[3 * nb],
                  l->use_bias ? w[3 * nb + 1] : NULL, shape, 3, y);
}

static const bgm__field mha_fields[] = {
    {.key = "num_heads", .what = "num_heads", .label = "num_heads", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(num_heads), .lo = 1, .hi = BGM__INT32_MAX},
    {.key = "key_dim", .what = "key_dim", .label = "key_dim", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(key_dim), .lo = 1, .hi = BGM__INT32_MAX},
    {.key = "value_dim", .what = "value_dim", .label = "value_dim", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(value_dim), .lo = 1, .hi = BGM__INT32_MAX},
    {.key = "dropout", .what = "attention dropout", .label = "rate",
     .type = BGM__FIELD_FLOAT, .offset = BGM__OFFSET(dropout), .lo = 0, .hi = 1,
     .hi_open = 1},
    BGM__FIELD_BIAS,
    {.key = "output_shape", .what = "output_shape", .label = "output_shape",
     .type = BGM__FIELD_INT, .offset = BGM__OFFSET(out_dim), .lo = 0,
     .hi = BGM__INT32_MAX, .zero_null = 1},
    BGM__FIELD_KERNEL_INIT("kernel_initializer"),
    {.key = "use_causal_mask", .what = "causal mask", .label = "use_causal_mask",
     .type = BGM__FIELD_BOOL, .offset = BGM__OFFSET(use_causal_mask)},
    {.key = "return_attention_scores", .what = "attention scores",
     .label = "return_attention_scores", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(return_scores)}};

static int mha_num_outputs(const bgm_layer *l)
{
    return l->return_scores ? 2 : 1;
}

const bgm__layer_ops bgm__multi_head_attention_ops = {
    .kind = "MultiHeadAttention", .prefix = "multi_head_attention",
    .ctor = "bgm_layer_multi_head_attention", .fields = mha_fields,
    .nfields = BGM__NFIELDS(mha_fields), .build = mha_build, .forward = mha_forward,
    .compute_mask = bgm__pass_mask, .num_outputs = mha_num_outputs, .min_inputs = 2,
    .max_inputs = 4,
    .decode = BGM__DECODE_STATEFUL, .free_state = mha_free_state};

BGM_API bgm_layer *bgm_layer_multi_head_attention(int num_heads, int64_t key_dim)
{
    bgm_layer *l = bgm__layer_new(&bgm__multi_head_attention_ops,
                                  "bgm_layer_multi_head_attention");
    if (l) {
        l->num_heads = num_heads;
        l->key_dim = key_dim;
        l->value_dim = key_dim;
    }
    return bgm__layer_checked(l);
}

BGM_API bgm_status bgm_layer_set_value_dim(bgm_layer *layer, int64_t value_dim)
{
    return bgm__layer_set(layer, "bgm_layer_set_value_dim", "value_dim",
                          BGM__OFFSET(value_dim), &value_dim);
}

BGM_API bgm_status bgm_layer_set_output_dim(bgm_layer *layer, int64_t dim)
{
    return bgm__layer_set(layer, "bgm_layer_set_output_dim", "output_shape",
                          BGM__OFFSET(out_dim), &dim);
}

BGM_API bgm_status bgm_layer_set_use_causal_mask(bgm_layer *layer, int use_causal_mask)
{
    const int v = use_causal_mask != 0;
    return bgm__layer_set(layer, "bgm_layer_set_use_causal_mask", "causal mask",
                          BGM__OFFSET(use_causal_mask), &v);
}

BGM_API bgm_status bgm_layer_set_return_attention_scores(bgm_layer *layer, int return_scores)
{
    const int v = return_scores != 0;
    return bgm__layer_set(layer, "bgm_layer_set_return_attention_scores", "attention scores",
                          BGM__OFFSET(return_scores), &v);
}
