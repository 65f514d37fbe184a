/* The fused attention op: values against a plain reference written here
 * (masks, causal, cross-attention, tiles of queries), gradients by finite
 * differences, fully masked queries, and bad input. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

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

Suite *suite_attention(void)
{
    Suite *s = suite_create("attention");
    TCase *op = tcase_create("op");
    int ncases = (int)(sizeof cases / sizeof cases[0]);

    tcase_add_loop_test(op, attention_matches_the_definition, 0, ncases);
    tcase_add_loop_test(op, attention_gradients_match_finite_differences, 0, ncases);
    tcase_add_test(op, a_query_that_sees_no_key_gives_zeros_and_no_gradient);
    tcase_add_test(op, attention_rejects_bad_shapes_naming_them);
    BGM_TEST_SLOW(op, 30);
    suite_add_tcase(s, op);
    return s;
}
