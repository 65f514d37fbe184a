/* The fused attention op: values against a plain reference written here
 * (masks, causal, cross-attention, tiles of queries), gradients by finite
 * differences, fully masked queries, and bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_EPS 1e-2
#define GRAD_TOL 2e-3

/* One case of the op: sizes, a mask (a pattern of the case) and causal. */
typedef struct attn_case {
    int64_t n, t, s, h, dk, dv;
    int mask;                  /* 0 none, 1 a pattern with one fully hidden query */
    int causal;
} attn_case;

static const attn_case cases[] = {
    {2, 3, 3, 2, 4, 4, 0, 0},  /* self-attention */
    {2, 4, 4, 2, 3, 5, 0, 1},  /* causal, value_dim != key_dim */
    {1, 3, 5, 3, 2, 3, 1, 0},  /* cross, T != S, mask */
    {2, 5, 3, 1, 2, 2, 1, 1},  /* mask and causal, T > S */
    {1, 37, 37, 1, 2, 2, 0, 1} /* more queries than a tile */
};

/* Mask pattern: query t sees key s unless (t + 2 s) % 3 == 0; query 1 of
 * sequence 0 sees nothing. */
static bgm_tensor *make_mask(const attn_case *c)
{
    int64_t shape[3] = {c->n, c->t, c->s}, b, t, s;
    bgm_tensor *m = NULL;
    float *d;
    BGM_ASSERT_OK(bgm_tensor_zeros(&m, BGM_FLOAT32, shape, 3));
    d = bgm_tensor_data(m);
    for (b = 0; b < c->n; b++)
        for (t = 0; t < c->t; t++)
            for (s = 0; s < c->s; s++)
                d[(b * c->t + t) * c->s + s] =
                    (b == 0 && t == 1) ? 0.0f : (t + 2 * s) % 3 != 0 ? 1.0f : 0.0f;
    return m;
}

/* The reference: out (n, t, h, dv) in double, straight from the definition. */
static double *reference(const attn_case *c, const float *q, const float *k, const float *v,
                         const float *mask, float scale)
{
    double *out = calloc((size_t)(c->n * c->t * c->h * c->dv), sizeof *out);
    double *p = malloc((size_t)c->s * sizeof *p);
    int64_t b, t, s, hh, d;
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(p);
    for (b = 0; b < c->n; b++)
        for (hh = 0; hh < c->h; hh++)
            for (t = 0; t < c->t; t++) {
                double mx = -INFINITY, sum = 0.0;
                for (s = 0; s < c->s; s++) {
                    int seen = (!mask || mask[(b * c->t + t) * c->s + s] != 0.0f) &&
                               (!c->causal || s <= t);
                    double dot = 0.0;
                    for (d = 0; d < c->dk; d++)
                        dot += (double)q[((b * c->t + t) * c->h + hh) * c->dk + d] *
                               k[((b * c->s + s) * c->h + hh) * c->dk + d];
                    p[s] = seen ? dot * scale : -INFINITY;
                    mx = p[s] > mx ? p[s] : mx;
                }
                if (mx == -INFINITY)
                    continue; /* sees nothing: zeros */
                for (s = 0; s < c->s; s++)
                    sum += (p[s] = exp(p[s] - mx));
                for (s = 0; s < c->s; s++)
                    for (d = 0; d < c->dv; d++)
                        out[((b * c->t + t) * c->h + hh) * c->dv + d] +=
                            p[s] / sum * v[((b * c->s + s) * c->h + hh) * c->dv + d];
            }
    free(p);
    return out;
}

typedef struct op_ctx {
    const attn_case *c;
    const bgm_tensor *mask;
    float scale;
} op_ctx;

static bgm_status call_attention(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                                 void *ctx)
{
    const op_ctx *o = ctx;
    return bgm_op_attention(out, tape, in[0], in[1], in[2], o->mask, o->c->causal, o->scale);
}

/* q, k, v of case c from seed. */
static void make_qkv(const attn_case *c, bgm_tensor **in, uint64_t seed)
{
    int64_t qs[4] = {c->n, c->t, c->h, c->dk}, ks[4] = {c->n, c->s, c->h, c->dk};
    int64_t vs[4] = {c->n, c->s, c->h, c->dv};
    in[0] = bgm_test_randn(qs, 4, seed);
    in[1] = bgm_test_randn(ks, 4, seed + 1);
    in[2] = bgm_test_randn(vs, 4, seed + 2);
}

START_TEST(attention_matches_the_definition)
{
    const attn_case *c = &cases[_i];
    bgm_tensor *in[3], *mask = c->mask ? make_mask(c) : NULL, *out = NULL;
    float scale = 1.0f / sqrtf((float)c->dk);
    const float *o;
    double *want;
    int64_t i;
    make_qkv(c, in, 10 + (uint64_t)_i);
    BGM_ASSERT_OK(bgm_op_attention(&out, NULL, in[0], in[1], in[2], mask, c->causal, scale));
    ck_assert_int_eq(bgm_tensor_numel(out), c->n * c->t * c->h * c->dv);
    ck_assert_int_eq(bgm_tensor_dim(out, 3), c->dv);
    want = reference(c, bgm_tensor_data(in[0]), bgm_tensor_data(in[1]),
                     bgm_tensor_data(in[2]), mask ? bgm_tensor_data(mask) : NULL, scale);
    o = bgm_tensor_data(out);
    for (i = 0; i < bgm_tensor_numel(out); i++)
        ck_assert_msg(fabs(o[i] - want[i]) <= 1e-5 + 1e-5 * fabs(want[i]),
                      "case %d element %lld: %g, expected %g", _i, (long long)i, o[i],
                      want[i]);
    free(want);
    bgm_tensor_free(out);
    bgm_tensor_free(mask);
    for (i = 0; i < 3; i++)
        bgm_tensor_free(in[i]);
}
END_TEST

START_TEST(attention_gradients_match_finite_differences)
{
    const attn_case *c = &cases[_i];
    bgm_tensor *in[3], *mask = c->mask ? make_mask(c) : NULL;
    op_ctx ctx = {c, mask, 0.7f};
    double err;
    int i;
    make_qkv(c, in, 20 + (uint64_t)_i);
    err = bgm_test_gradcheck(call_attention, in, 3, &ctx, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative gradient error %g", _i, err);
    bgm_tensor_free(mask);
    for (i = 0; i < 3; i++)
        bgm_tensor_free(in[i]);
}
END_TEST

/* Query 1 of sequence 0 sees no key: zeros out, zero gradients in, no NaN. */
START_TEST(a_query_that_sees_no_key_gives_zeros_and_no_gradient)
{
    const attn_case *c = &cases[2];
    bgm_tensor *in[3], *mask = make_mask(c), *out = NULL, *loss = NULL, *g[3];
    bgm_tape *tape = NULL;
    const float *o, *gq;
    int64_t i;
    make_qkv(c, in, 5);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (i = 0; i < 3; i++)
        BGM_ASSERT_OK(bgm_tape_watch(tape, in[i]));
    BGM_ASSERT_OK(bgm_op_attention(&out, tape, in[0], in[1], in[2], mask, 0, 1.0f));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, out));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, in, 3, g));
    o = bgm_tensor_data(out);
    for (i = 0; i < bgm_tensor_numel(out); i++)
        ck_assert(isfinite(o[i]));
    for (i = 0; i < c->h * c->dv; i++) /* row t = 1 of sequence 0 */
        ck_assert_float_eq(o[c->h * c->dv + i], 0.0f);
    gq = bgm_tensor_data(g[0]);
    for (i = 0; i < c->h * c->dk; i++)
        ck_assert_float_eq(gq[c->h * c->dk + i], 0.0f);
    for (i = 0; i < bgm_tensor_numel(g[1]); i++)
        ck_assert(isfinite(((const float *)bgm_tensor_data(g[1]))[i]));
    bgm_tape_free(tape);
    bgm_tensor_free(mask);
    for (i = 0; i < 3; i++)
        bgm_tensor_free(in[i]);
}
END_TEST

START_TEST(attention_rejects_bad_shapes_naming_them)
{
    int64_t q4[4] = {2, 3, 2, 4}, k4[4] = {2, 5, 2, 4}, v4[4] = {2, 5, 2, 6};
    int64_t q3[3] = {2, 3, 8}, kh[4] = {2, 5, 3, 4}, vs[4] = {2, 4, 2, 6};
    int64_t m_bad[3] = {2, 3, 4}, m_ok[3] = {2, 3, 5};
    bgm_tensor *q = bgm_test_randn(q4, 4, 1), *k = bgm_test_randn(k4, 4, 2);
    bgm_tensor *v = bgm_test_randn(v4, 4, 3), *q3t = bgm_test_randn(q3, 3, 4);
    bgm_tensor *khead = bgm_test_randn(kh, 4, 5), *vshort = bgm_test_randn(vs, 4, 6);
    bgm_tensor *mbad = bgm_test_randn(m_bad, 3, 7), *mok = bgm_test_randn(m_ok, 3, 8);
    bgm_tensor *out = NULL, *ids = NULL;
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q3t, k, v, NULL, 0, 1.0f), BGM_E_SHAPE,
                     "bgm_op_attention: q has shape (2, 3, 8), expected 4 dimensions");
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q, khead, v, NULL, 0, 1.0f), BGM_E_SHAPE,
                     "q (2, 3, 2, 4) and k (2, 5, 3, 4): batch, heads and key_dim");
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q, k, vshort, NULL, 0, 1.0f), BGM_E_SHAPE,
                     "k (2, 5, 2, 4) and v (2, 4, 2, 6): batch, keys and heads");
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q, k, v, mbad, 0, 1.0f), BGM_E_SHAPE,
                     "the mask has shape (2, 3, 4), expected (2, 3, 5)");
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q, k, v, mok, 0, NAN), BGM_E_INVALID,
                     "scale = nan");
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, q, k, NULL, NULL, 0, 1.0f), BGM_E_INVALID,
                     "bgm_op_attention");
    BGM_ASSERT_OK(bgm_tensor_zeros(&ids, BGM_INT32, q4, 4));
    BGM_ASSERT_FAILS(bgm_op_attention(&out, NULL, ids, k, v, NULL, 0, 1.0f), BGM_E_DTYPE,
                     "bgm_op_attention");
    ck_assert_ptr_null(out);
    BGM_ASSERT_OK(bgm_op_attention(&out, NULL, q, k, v, mok, 1, 1.0f));
    bgm_tensor_free(out);
    bgm_tensor_free(ids);
    bgm_tensor_free(q);
    bgm_tensor_free(k);
    bgm_tensor_free(v);
    bgm_tensor_free(q3t);
    bgm_tensor_free(khead);
    bgm_tensor_free(vshort);
    bgm_tensor_free(mbad);
    bgm_tensor_free(mok);
}
END_TEST

/* Output and gradients of a call large enough to run on the pool (blocks
 * split over threads) with n threads: out, gq, gk, gv into got[0..4). */
static void big_call(int threads, bgm_tensor *const *in, const bgm_tensor *mask,
                     bgm_tensor **got)
{
    bgm_tape *tape = NULL;
    bgm_tensor *out = NULL, *loss = NULL, *w, *prod = NULL, *g[3];
    int i;
    BGM_ASSERT_OK(bgm_set_num_threads(threads));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (i = 0; i < 3; i++)
        BGM_ASSERT_OK(bgm_tape_watch(tape, in[i]));
    BGM_ASSERT_OK(bgm_op_attention(&out, tape, in[0], in[1], in[2], mask, 1, 0.25f));
    w = bgm_test_randn(bgm_tensor_shape(out), 4, 99);
    BGM_ASSERT_OK(bgm_op_mul(&prod, tape, out, w));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, prod));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, in, 3, g));
    BGM_ASSERT_OK(bgm_tensor_clone(&got[0], out));
    for (i = 0; i < 3; i++)
        BGM_ASSERT_OK(bgm_tensor_clone(&got[i + 1], g[i]));
    bgm_tensor_free(w);
    bgm_tape_free(tape);
}

/* Blocks of (batch, head) write disjoint memory: one thread or two, the
 * same bits; and the values are the definition's. */
START_TEST(attention_on_the_pool_gives_the_same_bits_as_on_one_thread)
{
    attn_case c = {2, 64, 64, 4, 16, 16, 1, 1};
    bgm_tensor *in[3], *mask = make_mask(&c), *one[4], *two[4];
    double *want;
    const float *o;
    int64_t i;
    make_qkv(&c, in, 77);
    big_call(1, in, mask, one);
    big_call(2, in, mask, two);
    for (i = 0; i < 4; i++)
        ck_assert_int_eq(memcmp(bgm_tensor_data(one[i]), bgm_tensor_data(two[i]),
                                bgm_tensor_nbytes(one[i])), 0);
    want = reference(&c, bgm_tensor_data(in[0]), bgm_tensor_data(in[1]),
                     bgm_tensor_data(in[2]), bgm_tensor_data(mask), 0.25f);
    o = bgm_tensor_data(two[0]);
    for (i = 0; i < bgm_tensor_numel(two[0]); i++)
        ck_assert_msg(fabs(o[i] - want[i]) <= 1e-5 + 1e-5 * fabs(want[i]),
                      "element %lld: %g, expected %g", (long long)i, o[i], want[i]);
    free(want);
    BGM_ASSERT_OK(bgm_set_num_threads(0));
    for (i = 0; i < 4; i++) {
        bgm_tensor_free(one[i]);
        bgm_tensor_free(two[i]);
    }
    for (i = 0; i < 3; i++)
        bgm_tensor_free(in[i]);
    bgm_tensor_free(mask);
}
END_TEST

/* ---- the MultiHeadAttention layer ------------------------------------------- */

/* One model around a MultiHeadAttention layer. */
typedef struct mha_case {
    int64_t t, s, dq, dv, dk;  /* lengths; query, value, key features */
    int heads;
    int64_t key_dim, value_dim, out_dim; /* value_dim, out_dim 0: the defaults */
    int key, mask, causal, bias;
    float dropout;
} mha_case;

static const mha_case mha_cases[] = {
    {4, 4, 6, 6, 6, 2, 3, 0, 0, 0, 0, 1, 1, 0},   /* causal self-attention */
    {3, 5, 4, 6, 5, 3, 2, 4, 7, 1, 0, 0, 1, 0},   /* cross, key given, value_dim, output */
    {4, 3, 5, 5, 5, 2, 3, 0, 0, 1, 1, 0, 1, 0},   /* attention mask (a query sees nothing) */
    {3, 3, 4, 4, 4, 1, 4, 2, 0, 1, 1, 1, 0, 0},   /* mask and causal, no bias */
};

typedef struct mha_model {
    bgm_model *m;
    bgm_tensor *xs[4];
    int nx;
} mha_model;

/* The mask input of a case: (N, T, S) with query 1 of sample 0 seeing nothing. */
static bgm_tensor *mha_mask(int64_t n, int64_t t, int64_t s)
{
    attn_case c = {n, t, s, 1, 1, 1, 1, 0};
    return make_mask(&c);
}

/* Builds the model of case c with random weights (biases too) and inputs
 * of n samples; scores 1: the layer returns its attention scores too
 * (outputs: both), 2: the scores are the model's only output. */
static void mha_build_ex(mha_model *mm, const mha_case *c, int64_t n, uint64_t seed,
                         int scores)
{
    bgm_graph *g = NULL;
    bgm_node *in[4], *outs[2];
    bgm_layer *l = bgm_layer_multi_head_attention(c->heads, c->key_dim);
    float *w;
    int64_t i, count;
    int k = 0;
    ck_assert_ptr_nonnull(l);
    if (c->value_dim)
        BGM_ASSERT_OK(bgm_layer_set_value_dim(l, c->value_dim));
    if (c->out_dim)
        BGM_ASSERT_OK(bgm_layer_set_output_dim(l, c->out_dim));
    BGM_ASSERT_OK(bgm_layer_set_use_causal_mask(l, c->causal));
    BGM_ASSERT_OK(bgm_layer_set_use_bias(l, c->bias));
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, c->dropout));
    BGM_ASSERT_OK(bgm_layer_set_return_attention_scores(l, scores > 0));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in[k++] = bgm_test_input(g, (int64_t[]){c->t, c->dq}, 2, "query");
    in[k++] = bgm_test_input(g, (int64_t[]){c->s, c->dv}, 2, "value");
    if (c->key || c->mask)
        in[k++] = c->key ? bgm_test_input(g, (int64_t[]){c->s, c->dk}, 2, "key") : in[1];
    if (c->mask)
        in[k++] = bgm_test_input(g, (int64_t[]){c->t, c->s}, 2, "mask");
    ck_assert_int_eq(bgm_layer_num_outputs(l), scores ? 2 : 1);
    BGM_ASSERT_OK(bgm_layer_call_multi(outs, scores ? 2 : 1, l, in, k));
    mm->nx = 0;
    for (i = 0; i < k; i++)
        if (i != 2 || c->key)
            in[mm->nx++] = in[i];
    BGM_ASSERT_OK(bgm_model_create_graph(&mm->m, in, mm->nx, outs + (scores == 2),
                                         scores == 1 ? 2 : 1, seed));
    bgm_graph_free(g);
    count = bgm_model_num_params(mm->m);
    w = malloc((size_t)count * sizeof *w);
    ck_assert_ptr_nonnull(w);
    {
        bgm_tensor *r = bgm_test_randn((int64_t[]){count}, 1, seed + 7);
        for (i = 0; i < count; i++)
            w[i] = 0.5f * ((const float *)bgm_tensor_data(r))[i];
        bgm_tensor_free(r);
    }
    BGM_ASSERT_OK(bgm_model_set_weights(mm->m, w, count));
    free(w);
    k = 0;
    mm->xs[k++] = bgm_test_randn((int64_t[]){n, c->t, c->dq}, 3, seed + 1);
    mm->xs[k++] = bgm_test_randn((int64_t[]){n, c->s, c->dv}, 3, seed + 2);
    if (c->key)
        mm->xs[k++] = bgm_test_randn((int64_t[]){n, c->s, c->dk}, 3, seed + 3);
    if (c->mask)
        mm->xs[k++] = mha_mask(n, c->t, c->s);
}

static void mha_build(mha_model *mm, const mha_case *c, int64_t n, uint64_t seed)
{
    mha_build_ex(mm, c, n, seed, 0);
}

static void mha_free(mha_model *mm)
{
    int i;
    for (i = 0; i < mm->nx; i++)
        bgm_tensor_free(mm->xs[i]);
    bgm_model_free(mm->m);
}

static bgm_status mha_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in, void *ctx)
{
    mha_model *mm = ctx;
    bgm_tape *own = NULL;
    bgm_tensor *y = NULL;
    bgm_status st;
    if (!tape && bgm_tape_create(&own) != BGM_OK)
        return BGM_E_NOMEM;
    st = bgm_model_forward_multi(&y, 1, mm->m, tape ? tape : own,
                                 (const bgm_tensor *const *)mm->xs, mm->nx, 0);
    if (st == BGM_OK && own)
        st = bgm_tensor_clone(out, y);
    else if (st == BGM_OK)
        *out = y;
    bgm_tape_free(own);
    return st;
}

START_TEST(mha_gradients_of_every_weight_and_input_match_finite_differences)
{
    const mha_case *c = &mha_cases[_i];
    bgm_tensor *const *params;
    bgm_tensor *all[16];
    mha_model mm;
    int count, i, nin;
    double err;
    mha_build(&mm, c, 2, 30 + (uint64_t)_i);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, mm.m));
    ck_assert_int_eq(count, c->bias ? 8 : 4);
    ck_assert_str_eq(bgm_model_weight_name(mm.m, 3), c->bias ? "multi_head_attention/key/bias"
                                                             : "multi_head_attention/"
                                                               "attention_output/kernel");
    /* The key bias adds q . b_k to every score of a row: softmax ignores it,
     * its gradient is 0 and finite differences see only rounding. */
    count -= c->bias;
    for (i = 0; i < count; i++)
        all[i] = params[i + (c->bias && i >= 3)];
    nin = mm.nx - c->mask; /* not the mask */
    for (i = 0; i < nin; i++)
        all[count + i] = mm.xs[i];
    err = bgm_test_gradcheck(mha_fn, all, count + nin, &mm, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative gradient error %g", _i, err);
    mha_free(&mm);
}
END_TEST

START_TEST(mha_weights_are_laid_out_as_keras_does)
{
    const mha_case *c = &mha_cases[1];
    static const char *names[] = {"query/kernel", "query/bias", "key/kernel", "key/bias",
                                  "value/kernel", "value/bias", "attention_output/kernel",
                                  "attention_output/bias"};
    static const int64_t shapes[8][3] = {{4, 3, 2}, {3, 2}, {5, 3, 2}, {3, 2},
                                         {6, 3, 4}, {3, 4}, {3, 4, 7}, {7}};
    static const int ndims[8] = {3, 2, 3, 2, 3, 2, 3, 1};
    mha_model mm;
    char want[96];
    int i, k;
    mha_build(&mm, c, 1, 3);
    ck_assert_int_eq(bgm_model_num_weights(mm.m), 8);
    for (i = 0; i < 8; i++) {
        const bgm_tensor *w = bgm_model_weight(mm.m, i);
        snprintf(want, sizeof want, "multi_head_attention/%s", names[i]);
        ck_assert_str_eq(bgm_model_weight_name(mm.m, i), want);
        ck_assert_int_eq(bgm_tensor_ndim(w), ndims[i]);
        for (k = 0; k < ndims[i]; k++)
            ck_assert_int_eq(bgm_tensor_dim(w, k), shapes[i][k]);
    }
    mha_free(&mm);
}
END_TEST

/* An Embedding with mask_zero before query and value gives what the same
 * model gives with the equivalent attention mask. */
START_TEST(padding_masks_of_query_and_value_act_as_an_attention_mask)
{
    bgm_graph *g = NULL;
    bgm_node *ids, *mask_in, *e, *outs[2];
    bgm_layer *emb = bgm_layer_embedding(7, 6), *mha = bgm_layer_multi_head_attention(2, 3);
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *mask = NULL, *y[2];
    const int32_t tok[2][5] = {{3, 1, 4, 0, 0}, {0, 2, 6, 5, 1}};
    const float *a, *b;
    int64_t i, t, s;
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(emb, 1));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){5}, 1, BGM_INT32, "ids"));
    mask_in = bgm_test_input(g, (int64_t[]){5, 5}, 2, "mask");
    e = bgm_test_call(emb, &ids, 1);
    outs[0] = bgm_test_call(mha, (bgm_node *[]){e, e}, 2);
    /* The same layer again, on the explicit mask: the padding masks still
     * flow in, and the explicit mask says nothing more. */
    outs[1] = bgm_test_call(mha, (bgm_node *[]){e, e, e, mask_in}, 4);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, (bgm_node *[]){ids, mask_in}, 2, outs, 2, 5));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_INT32, (int64_t[]){2, 5}, 2));
    memcpy(bgm_tensor_data(x), tok, sizeof tok);
    BGM_ASSERT_OK(bgm_tensor_zeros(&mask, BGM_FLOAT32, (int64_t[]){2, 5, 5}, 3));
    for (i = 0; i < 2; i++)
        for (t = 0; t < 5; t++)
            for (s = 0; s < 5; s++)
                ((float *)bgm_tensor_data(mask))[(i * 5 + t) * 5 + s] =
                    tok[i][t] != 0 && tok[i][s] != 0;
    BGM_ASSERT_OK(bgm_model_predict_multi(y, 2, m, (const bgm_tensor *const[]){x, mask}, 2,
                                          0));
    a = bgm_tensor_data(y[0]);
    b = bgm_tensor_data(y[1]);
    for (i = 0; i < bgm_tensor_numel(y[0]); i++)
        ck_assert_float_eq(a[i], b[i]);
    /* A padded query attends to nothing: its output is the output bias (0). */
    for (i = 0; i < 6; i++)
        ck_assert_float_eq(a[3 * 6 + i], 0.0f);
    /* A real query does not: the padding of sample 0 is hidden from it, so
     * its output differs from attending to every position. */
    ck_assert(a[0] != 0.0f);
    bgm_tensor_free(y[0]);
    bgm_tensor_free(y[1]);
    bgm_tensor_free(x);
    bgm_tensor_free(mask);
    bgm_model_free(m);
}
END_TEST

START_TEST(mha_rejects_bad_inputs_naming_the_layer_and_shapes)
{
    bgm_graph *g = NULL;
    bgm_node *q, *v, *k, *flat, *m_bad, *ids, *out = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    q = bgm_test_input(g, (int64_t[]){4, 8}, 2, "q");
    v = bgm_test_input(g, (int64_t[]){5, 8}, 2, "v");
    k = bgm_test_input(g, (int64_t[]){6, 8}, 2, "k");
    flat = bgm_test_input(g, (int64_t[]){8}, 1, "flat");
    m_bad = bgm_test_input(g, (int64_t[]){4, 6}, 2, "m");
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){4, 8}, 2, BGM_INT32, "ids"));
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4),
                                    (bgm_node *[]){flat, v}, 2),
                     BGM_E_SHAPE, "layer 'multi_head_attention' (MultiHeadAttention): the "
                     "query has shape (None, 8), expected (None, length, features)");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4),
                                    (bgm_node *[]){q, v, k}, 3),
                     BGM_E_SHAPE, "the key (None, 6, 8) and the value (None, 5, 8) differ "
                     "in length");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4),
                                    (bgm_node *[]){q, v, v, m_bad}, 4),
                     BGM_E_SHAPE, "the attention_mask has shape (None, 4, 6), expected "
                     "(None, 4, 5)");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4),
                                    (bgm_node *[]){ids, v}, 2),
                     BGM_E_DTYPE, "the query is int32, expected float32");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4), &q, 1),
                     BGM_E_INVALID, "(MultiHeadAttention) takes 2 to 4 inputs, got 1");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_multi_head_attention(2, 4),
                                    (bgm_node *[]){q, v, v, m_bad, q}, 5),
                     BGM_E_INVALID, "(MultiHeadAttention) takes 2 to 4 inputs, got 5");
    ck_assert_ptr_null(bgm_layer_multi_head_attention(0, 4));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "num_heads = 0"));
    ck_assert_ptr_null(bgm_layer_multi_head_attention(2, -1));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "key_dim = -1"));
    {
        bgm_layer *l = bgm_layer_multi_head_attention(2, 4);
        BGM_ASSERT_FAILS(bgm_layer_set_dropout(l, 1.0f), BGM_E_INVALID, "rate = 1");
        BGM_ASSERT_FAILS(bgm_layer_set_value_dim(l, 0), BGM_E_INVALID, "value_dim = 0");
        BGM_ASSERT_FAILS(bgm_layer_set_output_dim(l, -2), BGM_E_INVALID, "output_shape = -2");
        bgm_layer *dense = bgm_layer_dense(2, BGM_ACT_LINEAR);
        BGM_ASSERT_FAILS(bgm_layer_set_value_dim(dense, 3), BGM_E_UNSUPPORTED,
                         "a Dense layer has no value_dim");
        bgm_layer_free(dense);
        bgm_layer_free(l);
    }
    bgm_graph_free(g);
}
END_TEST

START_TEST(mha_config_is_keras_json)
{
    bgm_layer *l = bgm_layer_multi_head_attention(4, 16);
    char buf[1024];
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.25f));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, l));
    ck_assert_str_eq(buf, "{\"class_name\": \"MultiHeadAttention\", \"config\": {\"name\": "
                     "\"\", \"trainable\": true, \"num_heads\": 4, \"key_dim\": 16, "
                     "\"value_dim\": 16, \"dropout\": 0.25, \"use_bias\": true, "
                     "\"bias_initializer\": \"zeros\", \"output_shape\": null, "
                     "\"kernel_initializer\": \"glorot_uniform\", \"use_causal_mask\": "
                     "false, \"return_attention_scores\": false}}");
    bgm_layer_free(l);
}
END_TEST

/* Dropout on the probabilities acts in training only. */
START_TEST(mha_dropout_acts_in_training_only)
{
    mha_case c = mha_cases[0];
    mha_model plain, drop;
    bgm_tape *tape = NULL;
    bgm_tensor *y0 = NULL, *y1 = NULL, *yt = NULL;
    const float *a, *b, *t;
    int64_t i, differ = 0;
    mha_build(&plain, &c, 2, 8);
    c.dropout = 0.5f;
    mha_build(&drop, &c, 2, 8);
    BGM_ASSERT_OK(bgm_model_predict_multi(&y0, 1, plain.m,
                                          (const bgm_tensor *const *)plain.xs, plain.nx, 0));
    BGM_ASSERT_OK(bgm_model_predict_multi(&y1, 1, drop.m, (const bgm_tensor *const *)drop.xs,
                                          drop.nx, 0));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(&yt, 1, drop.m, tape,
                                          (const bgm_tensor *const *)drop.xs, drop.nx, 1));
    a = bgm_tensor_data(y0);
    b = bgm_tensor_data(y1);
    t = bgm_tensor_data(yt);
    for (i = 0; i < bgm_tensor_numel(y0); i++) {
        ck_assert_float_eq(a[i], b[i]);
        ck_assert(isfinite(t[i]));
        differ += t[i] != a[i];
    }
    ck_assert_int_gt(differ, bgm_tensor_numel(y0) / 2);
    bgm_tape_free(tape);
    bgm_tensor_free(y0);
    bgm_tensor_free(y1);
    mha_free(&plain);
    mha_free(&drop);
}
END_TEST

/* A model with MultiHeadAttention saves and loads bit-exact, configuration
 * and all. */
START_TEST(a_model_with_mha_round_trips_through_a_file)
{
    mha_model mm;
    bgm_model *back = NULL;
    bgm_tensor *y = NULL, *z = NULL;
    char path[512], a[1024], b[1024];
    int i;
    mha_build(&mm, &mha_cases[_i], 2, 40);
    bgm_test_tmpdir_create("mha_file");
    snprintf(path, sizeof path, "%s", bgm_test_path("mha.bgm"));
    BGM_ASSERT_OK(bgm_model_save(mm.m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    BGM_ASSERT_OK(bgm_layer_config_string(a, sizeof a, NULL, bgm_model_layer(mm.m, 0)));
    BGM_ASSERT_OK(bgm_layer_config_string(b, sizeof b, NULL, bgm_model_layer(back, 0)));
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(bgm_model_num_weights(back), bgm_model_num_weights(mm.m));
    for (i = 0; i < bgm_model_num_weights(back); i++)
        ck_assert_str_eq(bgm_model_weight_name(back, i), bgm_model_weight_name(mm.m, i));
    BGM_ASSERT_OK(bgm_model_predict_multi(&y, 1, mm.m, (const bgm_tensor *const *)mm.xs,
                                          mm.nx, 0));
    BGM_ASSERT_OK(bgm_model_predict_multi(&z, 1, back, (const bgm_tensor *const *)mm.xs,
                                          mm.nx, 0));
    ck_assert_int_eq(memcmp(bgm_tensor_data(y), bgm_tensor_data(z), bgm_tensor_nbytes(y)), 0);
    bgm_tensor_free(y);
    bgm_tensor_free(z);
    bgm_model_free(back);
    mha_free(&mm);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- return_attention_scores: calls of several outputs --------------------- */

/* The model of case c returning (output, scores), or the scores alone. */
static void mha_build_scores(mha_model *mm, const mha_case *c, int64_t n, uint64_t seed,
                             int scores_only)
{
    bgm_node *first;
    mha_build_ex(mm, c, n, seed, scores_only ? 2 : 1);
    first = (bgm_node *)bgm_node_input(bgm_model_output(mm->m, scores_only ? 0 : 1), 0);
    ck_assert_int_eq(bgm_node_output_index(first), 0);
    ck_assert_int_eq(bgm_node_output_index(bgm_model_output(mm->m, scores_only ? 0 : 1)), 1);
    ck_assert_int_eq(bgm_node_shape(bgm_model_output(mm->m, scores_only ? 0 : 1), NULL)[0],
                     c->heads);
}

/* Both outputs, flattened and joined: one tensor for the gradient checker. */
static bgm_status mha_scores_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                                void *ctx)
{
    mha_model *mm = ctx;
    bgm_tape *own = NULL, *tp = tape;
    bgm_tensor *y[2], *flat[2], *joined = NULL;
    int64_t rows[2] = {-1, 0};
    bgm_status st;
    int i;
    if (!tp && bgm_tape_create(&own) != BGM_OK)
        return BGM_E_NOMEM;
    tp = tp ? tp : own;
    st = bgm_model_forward_multi(y, 2, mm->m, tp, (const bgm_tensor *const *)mm->xs, mm->nx, 0);
    for (i = 0; st == BGM_OK && i < 2; i++) {
        rows[1] = bgm_tensor_numel(y[i]);
        st = bgm_op_reshape(&flat[i], tp, y[i], rows, 2);
    }
    if (st == BGM_OK)
        st = bgm_op_concat(&joined, tp, (const bgm_tensor *const *)flat, 2, 1);
    if (st == BGM_OK && own)
        st = bgm_tensor_clone(out, joined);
    else if (st == BGM_OK)
        *out = joined;
    bgm_tape_free(own);
    return st;
}

START_TEST(scores_and_output_gradients_match_finite_differences)
{
    const mha_case *c = &mha_cases[_i == 0 ? 0 : 2];
    bgm_tensor *const *params;
    bgm_tensor *all[16];
    mha_model mm;
    int count, i;
    double err;
    mha_build_scores(&mm, c, 2, 50, 0);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, mm.m));
    count -= 1; /* the key bias: see the other gradient check */
    for (i = 0; i < count; i++)
        all[i] = params[i + (i >= 3)];
    for (i = 0; i < mm.nx - c->mask; i++)
        all[count + i] = mm.xs[i];
    err = bgm_test_gradcheck(mha_scores_fn, all, count + mm.nx - c->mask, &mm, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative gradient error %g", _i, err);
    mha_free(&mm);
}
END_TEST

/* The scores are the attention probabilities: rows sum to 1 (0 for a query
 * that sees nothing), hidden keys get 0, and the output is the fused path's. */
START_TEST(scores_are_the_probabilities_and_the_output_is_the_fused_one)
{
    const mha_case *c = &mha_cases[2]; /* attention mask, a query sees nothing */
    mha_model mm, plain;
    bgm_tensor *y[2], *want = NULL;
    const float *p, *mask;
    int64_t b, h, t, s, n = 2;
    mha_build_scores(&mm, c, n, 60, 0);
    mha_build(&plain, c, n, 60);
    BGM_ASSERT_OK(bgm_model_predict_multi(y, 2, mm.m, (const bgm_tensor *const *)mm.xs,
                                          mm.nx, 0));
    BGM_ASSERT_OK(bgm_model_predict_multi(&want, 1, plain.m,
                                          (const bgm_tensor *const *)plain.xs, plain.nx, 0));
    bgm_test_assert_close(y[0], bgm_tensor_shape(want), 3, bgm_tensor_data(want), 1e-6);
    ck_assert_int_eq(bgm_tensor_dim(y[1], 1), c->heads);
    p = bgm_tensor_data(y[1]);
    mask = bgm_tensor_data(mm.xs[mm.nx - 1]);
    for (b = 0; b < n; b++)
        for (h = 0; h < c->heads; h++)
            for (t = 0; t < c->t; t++) {
                double sum = 0.0;
                int seen = 0;
                for (s = 0; s < c->s; s++) {
                    float v = p[((b * c->heads + h) * c->t + t) * c->s + s];
                    if (mask[(b * c->t + t) * c->s + s] == 0.0f)
                        ck_assert_float_eq(v, 0.0f);
                    seen |= mask[(b * c->t + t) * c->s + s] != 0.0f;
                    sum += v;
                }
                ck_assert_double_eq_tol(sum, seen ? 1.0 : 0.0, 1e-6);
            }
    bgm_tensor_free(y[0]);
    bgm_tensor_free(y[1]);
    bgm_tensor_free(want);
    mha_free(&mm);
    mha_free(&plain);
}
END_TEST

START_TEST(models_with_scores_as_outputs_round_trip_through_files)
{
    const mha_case *c = &mha_cases[_i < 2 ? 0 : 2];
    mha_model mm;
    bgm_model *back = NULL;
    bgm_tensor *y[2], *z[2];
    char path[512];
    int nout = _i % 2 ? 1 : 2, i;
    mha_build_scores(&mm, c, 2, 70, nout == 1);
    bgm_test_tmpdir_create("mha_scores");
    snprintf(path, sizeof path, "%s", bgm_test_path("scores.bgm"));
    BGM_ASSERT_OK(bgm_model_save(mm.m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_num_outputs(back), nout);
    ck_assert_int_eq(bgm_node_output_index(bgm_model_output(back, nout - 1)), 1);
    BGM_ASSERT_OK(bgm_model_predict_multi(y, nout, mm.m, (const bgm_tensor *const *)mm.xs,
                                          mm.nx, 0));
    BGM_ASSERT_OK(bgm_model_predict_multi(z, nout, back, (const bgm_tensor *const *)mm.xs,
                                          mm.nx, 0));
    for (i = 0; i < nout; i++) {
        ck_assert_int_eq(bgm_tensor_numel(y[i]), bgm_tensor_numel(z[i]));
        ck_assert_int_eq(memcmp(bgm_tensor_data(y[i]), bgm_tensor_data(z[i]),
                                bgm_tensor_nbytes(y[i])), 0);
        bgm_tensor_free(y[i]);
        bgm_tensor_free(z[i]);
    }
    bgm_model_free(back);
    mha_free(&mm);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(summary_lists_both_outputs_of_the_call)
{
    mha_model mm;
    char buf[4096];
    mha_build_scores(&mm, &mha_cases[0], 1, 80, 0);
    BGM_ASSERT_OK(bgm_model_summary_string(buf, sizeof buf, NULL, mm.m));
    /* the column holds the start of "[(None, 4, 6), (None, 2, 4, 4)]" */
    ck_assert_msg(strstr(buf, "[(None, 4, 6), (None") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "query[0][0]") != NULL, "%s", buf);
    ck_assert_msg(strstr(buf, "value[0][0]") != NULL, "%s", buf);
    mha_free(&mm);
}
END_TEST

START_TEST(call_multi_checks_the_number_of_outputs)
{
    bgm_graph *g = NULL;
    bgm_node *q, *outs[2] = {NULL, NULL}, *one = NULL;
    bgm_layer *l = bgm_layer_multi_head_attention(2, 3);
    BGM_ASSERT_OK(bgm_graph_create(&g));
    q = bgm_test_input(g, (int64_t[]){4, 6}, 2, "q");
    BGM_ASSERT_FAILS(bgm_layer_call_multi(outs, 2, l, (bgm_node *[]){q, q}, 2), BGM_E_INVALID,
                     "bgm_layer_call_multi: layer 'multi_head_attention' (MultiHeadAttention) "
                     "makes 1 output, nout = 2");
    ck_assert_ptr_null(outs[0]);
    BGM_ASSERT_FAILS(bgm_layer_call_multi(NULL, 1, bgm_layer_dense(2, BGM_ACT_LINEAR), &q, 1),
                     BGM_E_INVALID, "argument 'out' is NULL");
    /* bgm_layer_call on a layer of two outputs: output 0, and the scores node exists */
    l = bgm_layer_multi_head_attention(2, 3);
    BGM_ASSERT_OK(bgm_layer_set_return_attention_scores(l, 1));
    BGM_ASSERT_OK(bgm_layer_call(&one, l, (bgm_node *[]){q, q}, 2));
    ck_assert_int_eq(bgm_node_output_index(one), 0);
    BGM_ASSERT_FAILS(bgm_layer_set_return_attention_scores(l, 0), BGM_E_STATE, "");
    ck_assert_int_eq(bgm_layer_num_outputs(l), 2);
    ck_assert_int_eq(bgm_layer_num_outputs(NULL), 0);
    bgm_graph_free(g);
}
END_TEST

/* ---- generation: the decoder's key/value cache through MultiHeadAttention -- */

#define LM_CONTEXT 12
#define LM_VOCAB 11

/* ids -> Embedding + PositionEmbedding -> causal MHA + residual -> Dense(vocab). */
static bgm_model *tiny_gpt(void)
{
    bgm_graph *g = NULL;
    bgm_node *ids, *e, *p, *h, *a, *out;
    bgm_model *m = NULL;
    bgm_layer *mha = bgm_layer_multi_head_attention(2, 4);
    BGM_ASSERT_OK(bgm_layer_set_use_causal_mask(mha, 1));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){LM_CONTEXT}, 1, BGM_INT32, "ids"));
    e = bgm_test_call(bgm_layer_embedding(LM_VOCAB, 8), &ids, 1);
    p = bgm_test_call(bgm_layer_position_embedding(LM_CONTEXT), &e, 1);
    h = bgm_test_call(bgm_layer_add(), (bgm_node *[]){e, p}, 2);
    a = bgm_test_call(mha, (bgm_node *[]){h, h}, 2);
    h = bgm_test_call(bgm_layer_add(), (bgm_node *[]){h, a}, 2);
    out = bgm_test_call(bgm_layer_dense(LM_VOCAB, BGM_ACT_LINEAR), &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &ids, 1, &out, 1, 12));
    bgm_graph_free(g);
    return m;
}

/* The decoder with the cache (MultiHeadAttention's K/V cache, one position
 * per step) gives the logits of the decoder re-running the window, past a
 * restart of the window at the context's end. */
START_TEST(cached_decoding_matches_rerunning_the_window)
{
    bgm_model *m = tiny_gpt();
    bgm_decoder *cached = NULL, *plain = NULL;
    int32_t prompt[5] = {3, 1, 4, 1, 5};
    bgm_tensor *a = NULL, *b = NULL;
    int step, i;
    BGM_ASSERT_OK(bgm_decoder_create(&cached, m, 1));
    BGM_ASSERT_OK(bgm_decoder_create(&plain, m, 0));
    ck_assert_int_eq(bgm_decoder_uses_cache(cached), 1);
    ck_assert_int_eq(bgm_decoder_uses_cache(plain), 0);
    BGM_ASSERT_OK(bgm_decoder_append(&a, cached, prompt, 5));
    BGM_ASSERT_OK(bgm_decoder_append(&b, plain, prompt, 5));
    for (step = 0; step < 20; step++) {
        const float *x = bgm_tensor_data(a), *y = bgm_tensor_data(b);
        int32_t next = (int32_t)((step * 7 + 2) % LM_VOCAB);
        ck_assert_int_eq(bgm_tensor_numel(a), bgm_tensor_numel(b));
        for (i = 0; i < bgm_tensor_numel(a); i++)
            ck_assert_msg(fabsf(x[i] - y[i]) <= 1e-5f * (1.0f + fabsf(y[i])),
                          "step %d logit %d: %g cached, %g re-run", step, i, x[i], y[i]);
        bgm_tensor_free(a);
        bgm_tensor_free(b);
        BGM_ASSERT_OK(bgm_decoder_append(&a, cached, &next, 1));
        BGM_ASSERT_OK(bgm_decoder_append(&b, plain, &next, 1));
    }
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_decoder_free(cached);
    bgm_decoder_free(plain);
    bgm_model_free(m);
}
END_TEST

Suite *suite_attention(void)
{
    Suite *s = suite_create("attention");
    TCase *op = tcase_create("op");
    TCase *layer = tcase_create("layer");
    TCase *scores = tcase_create("scores");
    int ncases = (int)(sizeof cases / sizeof cases[0]);

    tcase_add_loop_test(op, attention_matches_the_definition, 0, ncases);
    tcase_add_loop_test(op, attention_gradients_match_finite_differences, 0, ncases);
    tcase_add_test(op, a_query_that_sees_no_key_gives_zeros_and_no_gradient);
    tcase_add_test(op, attention_rejects_bad_shapes_naming_them);
    tcase_add_test(op, attention_on_the_pool_gives_the_same_bits_as_on_one_thread);
    BGM_TEST_SLOW(op, 30);
    suite_add_tcase(s, op);

    tcase_add_loop_test(layer, mha_gradients_of_every_weight_and_input_match_finite_differences,
                        0, (int)(sizeof mha_cases / sizeof mha_cases[0]));
    tcase_add_test(layer, mha_weights_are_laid_out_as_keras_does);
    tcase_add_test(layer, padding_masks_of_query_and_value_act_as_an_attention_mask);
    tcase_add_test(layer, mha_rejects_bad_inputs_naming_the_layer_and_shapes);
    tcase_add_test(layer, mha_config_is_keras_json);
    tcase_add_test(layer, mha_dropout_acts_in_training_only);
    tcase_add_loop_test(layer, a_model_with_mha_round_trips_through_a_file, 0,
                        (int)(sizeof mha_cases / sizeof mha_cases[0]));
    BGM_TEST_SLOW(layer, 60);
    suite_add_tcase(s, layer);

    tcase_add_loop_test(scores, scores_and_output_gradients_match_finite_differences, 0, 2);
    tcase_add_test(scores, scores_are_the_probabilities_and_the_output_is_the_fused_one);
    tcase_add_loop_test(scores, models_with_scores_as_outputs_round_trip_through_files, 0, 4);
    tcase_add_test(scores, summary_lists_both_outputs_of_the_call);
    tcase_add_test(scores, call_multi_checks_the_number_of_outputs);
    tcase_add_test(scores, cached_decoding_matches_rerunning_the_window);
    BGM_TEST_SLOW(scores, 60);
    suite_add_tcase(s, scores);
    return s;
}
