/* Sequence ops: embedding lookup, LSTM and GRU. Forward values by hand,
 * gradients of every input by finite differences, masking, reversal,
 * return_sequences, and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_TOL 1e-3

enum { LSTM, GRU };

static float *data_of(const bgm_tensor *t) { return bgm_tensor_data(t); }

static bgm_tensor *ids_tensor(const int64_t *shape, int ndim, const int32_t *values)
{
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_INT32, shape, ndim));
    memcpy(bgm_tensor_data(t), values, bgm_tensor_nbytes(t));
    return t;
}

/* N(0, scale^2) values from seed. */
static bgm_tensor *randn_scaled(const int64_t *shape, int ndim, uint64_t seed, float scale)
{
    bgm_tensor *t = bgm_test_randn(shape, ndim, seed);
    float *d = data_of(t);
    int64_t i;
    for (i = 0; i < bgm_tensor_numel(t); i++)
        d[i] *= scale;
    return t;
}

/* ---- embedding ----------------------------------------------------------- */

START_TEST(embedding_looks_up_table_rows_by_hand)
{
    int64_t is[] = {2, 3}, ts[] = {4, 2}, ys[] = {2, 3, 2};
    const int32_t idv[] = {3, 0, 1, 1, 2, 3};
    const float tv[] = {0, 1, 10, 11, 20, 21, 30, 31};
    const float want[] = {30, 31, 0, 1, 10, 11, 10, 11, 20, 21, 30, 31};
    bgm_tensor *ids = ids_tensor(is, 2, idv), *table = bgm_test_tensor(ts, 2, tv), *y = NULL;
    BGM_ASSERT_OK(bgm_op_embedding(&y, NULL, ids, table));
    bgm_test_assert_close(y, ys, 3, want, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(ids);
    bgm_tensor_free(table);
}
END_TEST

START_TEST(embedding_takes_ids_of_any_shape)
{
    int64_t one[] = {3}, three[] = {1, 2, 2}, ts[] = {3, 1}, ys1[] = {3, 1};
    int64_t ys3[] = {1, 2, 2, 1}, ys0[] = {1};
    const int32_t v[] = {2, 0, 2, 1};
    const float tv[] = {5, 6, 7};
    const float w1[] = {7, 5, 7}, w3[] = {7, 5, 7, 6}, w0[] = {7};
    bgm_tensor *table = bgm_test_tensor(ts, 2, tv), *a = ids_tensor(one, 1, v);
    bgm_tensor *b = ids_tensor(three, 3, v), *c = ids_tensor(NULL, 0, v), *y = NULL;
    BGM_ASSERT_OK(bgm_op_embedding(&y, NULL, a, table));
    bgm_test_assert_close(y, ys1, 2, w1, 0);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_embedding(&y, NULL, b, table));
    bgm_test_assert_close(y, ys3, 4, w3, 0);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_embedding(&y, NULL, c, table)); /* a scalar id: one row */
    bgm_test_assert_close(y, ys0, 1, w0, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_tensor_free(table);
}
END_TEST

START_TEST(embedding_gradient_accumulates_repeated_ids)
{
    int64_t is[] = {2, 2}, ts[] = {3, 2}, ws[] = {2, 2, 2};
    const int32_t idv[] = {1, 1, 2, 1};
    const float wv[] = {1, 2, 3, 4, 5, 6, 7, 8};
    /* Row 1 collects output rows 0, 1 and 3; row 2 row 2; row 0 nothing. */
    const float want[] = {0, 0, 11, 14, 5, 6};
    bgm_tensor *ids = ids_tensor(is, 2, idv), *table = bgm_test_randn(ts, 2, 1);
    bgm_tensor *w = bgm_test_tensor(ws, 3, wv), *y = NULL, *prod = NULL, *loss = NULL;
    bgm_tensor *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, table));
    BGM_ASSERT_OK(bgm_op_embedding(&y, tape, ids, table));
    BGM_ASSERT_OK(bgm_op_mul(&prod, tape, y, w));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, prod));
    /* The ids are a copy on the tape: changing them now changes nothing. */
    memset(bgm_tensor_data(ids), 0, bgm_tensor_nbytes(ids));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &table, 1, &g));
    bgm_test_assert_close(g, ts, 2, want, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(ids);
    bgm_tensor_free(table);
    bgm_tensor_free(w);
}
END_TEST

START_TEST(sequence_mask_is_one_for_nonzero_ids)
{
    int64_t is[] = {2, 4};
    const int32_t idv[] = {0, 0, 7, 1, 4, 0, 2, 0};
    const float want[] = {0, 0, 1, 1, 1, 0, 1, 0};
    bgm_tensor *ids = ids_tensor(is, 2, idv), *m = NULL;
    BGM_ASSERT_OK(bgm_sequence_mask(&m, ids));
    bgm_test_assert_close(m, is, 2, want, 0);
    bgm_tensor_free(m);
    bgm_tensor_free(ids);
}
END_TEST

/* ---- LSTM and GRU: one way to call either ------------------------------- */

typedef struct rnn_case {
    int kind;
    int return_sequences, reverse;
    int bias, state;            /* pass a bias / h0 (and c0) */
    int mask, rmask;            /* pass a padding mask / recurrent mask */
} rnn_case;

typedef struct rnn_ctx {
    const rnn_case *c;
    const bgm_tensor *mask, *rmask;
} rnn_ctx;

/* inputs: x, w_ih, w_hh, then bias, h0, c0 when the case has them. */
static bgm_status call_rnn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                           void *ctx)
{
    const rnn_ctx *rc = ctx;
    const rnn_case *c = rc->c;
    int k = 3;
    const bgm_tensor *bias = c->bias ? in[k++] : NULL;
    const bgm_tensor *h0 = c->state ? in[k++] : NULL;
    const bgm_tensor *c0 = c->state && c->kind == LSTM ? in[k++] : NULL;
    if (c->kind == LSTM)
        return bgm_op_lstm(out, tape, in[0], in[1], in[2], bias, h0, c0, rc->mask, rc->rmask,
                           c->return_sequences, c->reverse);
    return bgm_op_gru(out, tape, in[0], in[1], in[2], bias, h0, rc->mask, rc->rmask,
                      c->return_sequences, c->reverse);
}

enum { GN = 2, GT = 3, GF = 3, GH = 2 };

/* Random inputs for a case (N=2, T=3, F=3, H=2); returns how many. */
static int make_inputs(const rnn_case *c, bgm_tensor **in, uint64_t seed)
{
    int64_t g = c->kind == LSTM ? 4 : 3;
    int64_t xs[] = {GN, GT, GF}, is[] = {GF, g * GH}, hs[] = {GH, g * GH};
    int64_t bs1[] = {g * GH}, bs2[] = {2, g * GH}, ss[] = {GN, GH};
    int n = 0;
    in[n++] = bgm_test_randn(xs, 3, seed);
    in[n++] = randn_scaled(is, 2, seed + 1, 0.6f);
    in[n++] = randn_scaled(hs, 2, seed + 2, 0.6f);
    if (c->bias)
        in[n++] = c->kind == LSTM ? randn_scaled(bs1, 1, seed + 3, 0.5f)
                                  : randn_scaled(bs2, 2, seed + 3, 0.5f);
    if (c->state) {
        in[n++] = bgm_test_randn(ss, 2, seed + 4);
        if (c->kind == LSTM)
            in[n++] = bgm_test_randn(ss, 2, seed + 5);
    }
    return n;
}

static const float mask_values[GN * GT] = {1, 0, 1, 0, 1, 1};
static const float rmask_values[GN * GH] = {1.5f, 0, 0.5f, 2};

static void make_masks(const rnn_case *c, rnn_ctx *ctx, bgm_tensor **mask, bgm_tensor **rmask)
{
    int64_t ms[] = {GN, GT}, rs[] = {GN, GH};
    *mask = c->mask ? bgm_test_tensor(ms, 2, mask_values) : NULL;
    *rmask = c->rmask ? bgm_test_tensor(rs, 2, rmask_values) : NULL;
    ctx->c = c;
    ctx->mask = *mask;
    ctx->rmask = *rmask;
}

static void free_all(bgm_tensor **t, int n)
{
    int i;
    for (i = 0; i < n; i++)
        bgm_tensor_free(t[i]);
}

/* ---- forward by hand ------------------------------------------------------- */

START_TEST(lstm_of_two_steps_by_hand)
{
    /* N=1, T=2, F=1, H=1: every gate is one number (see the equations in
     * rnn_ops.h); the expected values follow them in double precision. */
    int64_t xs[] = {1, 2, 1}, ws[] = {1, 4}, bs[] = {4}, seq[] = {1, 2, 1}, last[] = {1, 1};
    const float xv[] = {1.0f, -2.0f}, wi[] = {0.5f, -0.3f, 0.8f, 0.2f};
    const float wh[] = {0.4f, 0.1f, -0.6f, 0.3f}, bv[] = {0.1f, 1.0f, 0.0f, -0.2f};
    const float want_seq[] = {0.2021336880699005f, 0.02608634228563977f};
    bgm_tensor *x = bgm_test_tensor(xs, 3, xv), *w_ih = bgm_test_tensor(ws, 2, wi);
    bgm_tensor *w_hh = bgm_test_tensor(ws, 2, wh), *b = bgm_test_tensor(bs, 1, bv);
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, NULL, NULL, NULL, NULL, 1, 0));
    bgm_test_assert_close(y, seq, 3, want_seq, 1e-6);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, NULL, NULL, NULL, NULL, 0, 0));
    bgm_test_assert_close(y, last, 2, want_seq + 1, 1e-6);
    bgm_tensor_free(y);
    free_all((bgm_tensor *[]){x, w_ih, w_hh, b}, 4);
}
END_TEST

START_TEST(gru_of_two_steps_by_hand)
{
    /* Gates z, r, n; bias row 0 input, row 1 recurrent. */
    int64_t xs[] = {1, 2, 1}, ws[] = {1, 3}, bs[] = {2, 3}, seq[] = {1, 2, 1};
    const float xv[] = {1.0f, -2.0f}, wi[] = {0.5f, -0.4f, 0.9f}, wh[] = {0.3f, 0.6f, -0.7f};
    const float bv[] = {0.1f, 0.0f, -0.1f, 0.0f, 0.2f, 0.3f};
    const float want_seq[] = {0.25971252644060827f, -0.5791502128374256f};
    bgm_tensor *x = bgm_test_tensor(xs, 3, xv), *w_ih = bgm_test_tensor(ws, 2, wi);
    bgm_tensor *w_hh = bgm_test_tensor(ws, 2, wh), *b = bgm_test_tensor(bs, 2, bv);
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_op_gru(&y, NULL, x, w_ih, w_hh, b, NULL, NULL, NULL, 1, 0));
    bgm_test_assert_close(y, seq, 3, want_seq, 1e-6);
    bgm_tensor_free(y);
    free_all((bgm_tensor *[]){x, w_ih, w_hh, b}, 4);
}
END_TEST

/* ---- gradients ------------------------------------------------------------- */

static const rnn_case grad_cases[] = {
    /* kind, return_sequences, reverse, bias, state, mask, rmask */
    {LSTM, 1, 0, 1, 1, 0, 0},
    {LSTM, 0, 0, 1, 0, 0, 0},
    {LSTM, 1, 1, 0, 1, 0, 0},
    {LSTM, 0, 1, 1, 1, 1, 0},
    {LSTM, 1, 0, 1, 1, 1, 1},
    {LSTM, 1, 1, 1, 1, 0, 1},
    {GRU, 1, 0, 1, 1, 0, 0},
    {GRU, 0, 0, 1, 0, 0, 0},
    {GRU, 1, 1, 0, 1, 0, 0},
    {GRU, 0, 1, 1, 1, 1, 0},
    {GRU, 1, 0, 1, 1, 1, 1},
    {GRU, 1, 1, 1, 1, 0, 1},
};

START_TEST(rnn_gradients_of_every_input_match_finite_differences)
{
    const rnn_case *c = &grad_cases[_i];
    bgm_tensor *in[6], *mask, *rmask;
    rnn_ctx ctx;
    int n = make_inputs(c, in, 100 + (uint64_t)_i * 10);
    double err;
    make_masks(c, &ctx, &mask, &rmask);
    err = bgm_test_gradcheck(call_rnn, in, n, &ctx, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d (%s): relative error %g", _i,
                  c->kind == LSTM ? "LSTM" : "GRU", err);
    free_all(in, n);
    bgm_tensor_free(mask);
    bgm_tensor_free(rmask);
}
END_TEST

START_TEST(rnn_gradient_can_be_taken_twice_with_the_same_result)
{
    rnn_case c = {_i ? GRU : LSTM, 1, 0, 1, 1, 1, 1};
    bgm_tensor *in[6], *mask, *rmask, *y = NULL, *loss = NULL, *g1[6], *g2[6];
    bgm_tape *tape = NULL;
    rnn_ctx ctx;
    int n = make_inputs(&c, in, 7), k;
    make_masks(&c, &ctx, &mask, &rmask);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (k = 0; k < n; k++)
        BGM_ASSERT_OK(bgm_tape_watch(tape, in[k]));
    BGM_ASSERT_OK(call_rnn(&y, tape, in, &ctx));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, in, n, g1));
    for (k = 0; k < n; k++) {
        bgm_tensor *copy = NULL;
        BGM_ASSERT_OK(bgm_tensor_clone(&copy, g1[k]));
        g1[k] = copy;
    }
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, in, n, g2));
    for (k = 0; k < n; k++) {
        bgm_test_assert_close(g2[k], bgm_tensor_shape(g1[k]), bgm_tensor_ndim(g1[k]),
                              data_of(g1[k]), 0);
        bgm_tensor_free(g1[k]);
    }
    bgm_tape_free(tape);
    free_all(in, n);
    bgm_tensor_free(mask);
    bgm_tensor_free(rmask);
}
END_TEST

/* ---- behaviour ---------------------------------------------------------------- */

/* Runs a case on inputs in without a tape (or with one, watching x). */
static bgm_tensor *run(const rnn_case *c, bgm_tensor **in, const bgm_tensor *mask,
                       const bgm_tensor *rmask, bgm_tape *tape)
{
    rnn_ctx ctx = {c, mask, rmask};
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(call_rnn(&y, tape, in, &ctx));
    return y;
}

START_TEST(rnn_on_a_tape_computes_what_it_computes_without_one)
{
    /* Without a tape only two state slots alternate; T=5 exercises both. */
    rnn_case c = {_i ? GRU : LSTM, 1, _i, 1, 1, 1, 1};
    int64_t xs[] = {3, 5, 4}, g = _i ? 3 : 4, is[] = {4, g * 3}, hs[] = {3, g * 3};
    int64_t bs1[] = {g * 3}, bs2[] = {2, g * 3}, ss[] = {3, 3}, ms[] = {3, 5};
    const float mv[] = {1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0};
    bgm_tensor *in[6], *mask = bgm_test_tensor(ms, 2, mv), *rmask = bgm_test_randn(ss, 2, 9);
    bgm_tensor *a, *b;
    bgm_tape *tape = NULL;
    int n = 0;
    in[n++] = bgm_test_randn(xs, 3, 1);
    in[n++] = bgm_test_randn(is, 2, 2);
    in[n++] = bgm_test_randn(hs, 2, 3);
    in[n++] = _i ? bgm_test_randn(bs2, 2, 4) : bgm_test_randn(bs1, 1, 4);
    in[n++] = bgm_test_randn(ss, 2, 5);
    if (!_i)
        in[n++] = bgm_test_randn(ss, 2, 6);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, in[0]));
    a = run(&c, in, mask, rmask, NULL);
    b = run(&c, in, mask, rmask, tape);
    bgm_test_assert_close(b, bgm_tensor_shape(a), 3, data_of(a), 0);
    bgm_tensor_free(a);
    bgm_tape_free(tape);
    free_all(in, n);
    bgm_tensor_free(mask);
    bgm_tensor_free(rmask);
}
END_TEST

START_TEST(masked_steps_keep_the_state_and_repeat_the_output)
{
    /* Sample 0 is [a, pad, b]; sample 1 is [pad, a, b]. Removing the padding
     * gives [a, b] for both, whose outputs the masked run must reproduce. */
    rnn_case c = {_i ? GRU : LSTM, 1, 0, 1, 0, 0, 0};
    int64_t g = _i ? 3 : 4, xs[] = {2, 3, 2}, x2s[] = {1, 2, 2}, ms[] = {2, 3};
    int64_t is[] = {2, g * 2}, hs[] = {2, g * 2}, bs1[] = {g * 2}, bs2[] = {2, g * 2};
    const float xv[] = {1, 2, 9, 9, 3, -1, 9, 9, 1, 2, 3, -1}, x2v[] = {1, 2, 3, -1};
    const float mv[] = {1, 0, 1, 0, 1, 1};
    bgm_tensor *in[4], *in2[4], *mask = bgm_test_tensor(ms, 2, mv), *y, *y2;
    const float *o, *o2;
    int k;
    in[0] = bgm_test_tensor(xs, 3, xv);
    in[1] = bgm_test_randn(is, 2, 2);
    in[2] = bgm_test_randn(hs, 2, 3);
    in[3] = _i ? bgm_test_randn(bs2, 2, 4) : bgm_test_randn(bs1, 1, 4);
    in2[0] = bgm_test_tensor(x2s, 3, x2v);
    for (k = 1; k < 4; k++)
        in2[k] = in[k];
    y = run(&c, in, mask, NULL, NULL);
    y2 = run(&c, in2, NULL, NULL, NULL);
    o = data_of(y);
    o2 = data_of(y2);
    /* sample 0: steps 0 and 2 are the real ones; step 1 repeats step 0 */
    for (k = 0; k < 2; k++) {
        ck_assert_float_eq_tol(o[0 * 2 + k], o2[0 * 2 + k], 1e-6);
        ck_assert_float_eq(o[1 * 2 + k], o[0 * 2 + k]);
        ck_assert_float_eq_tol(o[2 * 2 + k], o2[1 * 2 + k], 1e-6);
    }
    /* sample 1: zeros before the first real step, then the same outputs */
    for (k = 0; k < 2; k++) {
        ck_assert_float_eq(o[6 + 0 * 2 + k], 0.0f);
        ck_assert_float_eq_tol(o[6 + 1 * 2 + k], o2[0 * 2 + k], 1e-6);
        ck_assert_float_eq_tol(o[6 + 2 * 2 + k], o2[1 * 2 + k], 1e-6);
    }
    bgm_tensor_free(y);
    bgm_tensor_free(y2);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in2[0]);
    free_all(in + 1, 3);
    bgm_tensor_free(mask);
}
END_TEST

START_TEST(reverse_equals_forward_over_the_flipped_sequence)
{
    /* out[:, t] of the reversed run is the state after consuming x[:, t]. */
    rnn_case fwd = {_i ? GRU : LSTM, 1, 0, 1, 1, 0, 0}, rev = fwd;
    bgm_tensor *in[6], *x, *flipped = NULL, *a, *b;
    const float *xv, *ya, *yb;
    float *xf;
    int n = make_inputs(&fwd, in, 31), j, t, k;
    rev.reverse = 1;
    x = in[0];
    BGM_ASSERT_OK(bgm_tensor_clone(&flipped, x));
    xv = data_of(x);
    xf = data_of(flipped);
    for (j = 0; j < GN; j++)
        for (t = 0; t < GT; t++)
            memcpy(xf + (j * GT + t) * GF, xv + (j * GT + GT - 1 - t) * GF,
                   GF * sizeof(float));
    a = run(&rev, in, NULL, NULL, NULL);
    in[0] = flipped;
    b = run(&fwd, in, NULL, NULL, NULL);
    in[0] = x;
    ya = data_of(a);
    yb = data_of(b);
    for (j = 0; j < GN; j++)
        for (t = 0; t < GT; t++)
            for (k = 0; k < GH; k++)
                ck_assert_float_eq_tol(ya[(j * GT + t) * GH + k],
                                       yb[(j * GT + GT - 1 - t) * GH + k], 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(flipped);
    free_all(in, n);
}
END_TEST

START_TEST(last_output_is_the_last_step_of_the_sequence_output)
{
    rnn_case seq = {_i / 2 ? GRU : LSTM, 1, _i % 2, 1, 1, 1, 0}, last = seq;
    bgm_tensor *in[6], *mask, *rmask, *a, *b;
    rnn_ctx ctx;
    int n, j;
    int64_t ls[] = {GN, GH};
    float want[GN * GH];
    const float *ya;
    last.return_sequences = 0;
    n = make_inputs(&seq, in, 41);
    make_masks(&seq, &ctx, &mask, &rmask);
    a = run(&seq, in, mask, rmask, NULL);
    b = run(&last, in, mask, rmask, NULL);
    ya = data_of(a);
    for (j = 0; j < GN; j++) /* time T-1 forward, time 0 reversed */
        memcpy(want + j * GH, ya + (j * GT + (seq.reverse ? 0 : GT - 1)) * GH,
               GH * sizeof(float));
    bgm_test_assert_close(b, ls, 2, want, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    free_all(in, n);
    bgm_tensor_free(mask);
    bgm_tensor_free(rmask);
}
END_TEST

START_TEST(recurrent_mask_multiplies_the_state_in_the_recurrent_product)
{
    /* A mask of ones changes nothing; a mask of zeros is a zero w_hh. */
    rnn_case c = {_i ? GRU : LSTM, 1, 0, 1, 1, 0, 0};
    int64_t ss[] = {GN, GH};
    bgm_tensor *in[6], *ones = NULL, *zeros = NULL, *a, *b, *w_hh = NULL;
    int n = make_inputs(&c, in, 51);
    BGM_ASSERT_OK(bgm_tensor_ones(&ones, BGM_FLOAT32, ss, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&zeros, BGM_FLOAT32, ss, 2));
    a = run(&c, in, NULL, NULL, NULL);
    b = run(&c, in, NULL, ones, NULL);
    bgm_test_assert_close(b, bgm_tensor_shape(a), 3, data_of(a), 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    a = run(&c, in, NULL, zeros, NULL);
    BGM_ASSERT_OK(bgm_tensor_zeros(&w_hh, BGM_FLOAT32, bgm_tensor_shape(in[2]), 2));
    bgm_tensor_free(in[2]);
    in[2] = w_hh;
    b = run(&c, in, NULL, NULL, NULL);
    bgm_test_assert_close(b, bgm_tensor_shape(a), 3, data_of(a), 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    free_all(in, n);
    bgm_tensor_free(ones);
    bgm_tensor_free(zeros);
}
END_TEST

/* Output and gradients of x and w_hh for a case on a fresh tape. */
static void run_with_grads(const rnn_case *c, bgm_tensor **in, bgm_tensor **results)
{
    bgm_tape *tape = NULL;
    bgm_tensor *y = NULL, *loss = NULL, *g[2], *src[2] = {in[0], in[2]};
    int k;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, in[0]));
    BGM_ASSERT_OK(bgm_tape_watch(tape, in[2]));
    y = run(c, in, NULL, NULL, tape);
    BGM_ASSERT_OK(bgm_op_mean_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, src, 2, g));
    BGM_ASSERT_OK(bgm_tensor_clone(&results[0], y));
    for (k = 0; k < 2; k++)
        BGM_ASSERT_OK(bgm_tensor_clone(&results[k + 1], g[k]));
    bgm_tape_free(tape);
}

START_TEST(rnn_results_do_not_depend_on_the_thread_count)
{
    /* H = 300 makes a step's gate math large enough to be split over threads. */
    rnn_case c = {_i ? GRU : LSTM, 1, 0, 0, 0, 0, 0};
    int64_t g = _i ? 3 : 4, xs[] = {8, 4, 5}, is[] = {5, g * 300}, hs[] = {300, g * 300};
    bgm_tensor *in[3], *one[3], *two[3];
    int before = bgm_get_num_threads(), k;
    in[0] = bgm_test_randn(xs, 3, 1);
    in[1] = randn_scaled(is, 2, 2, 0.3f);
    in[2] = randn_scaled(hs, 2, 3, 0.05f);
    BGM_ASSERT_OK(bgm_set_num_threads(1));
    run_with_grads(&c, in, one);
    BGM_ASSERT_OK(bgm_set_num_threads(2));
    run_with_grads(&c, in, two);
    BGM_ASSERT_OK(bgm_set_num_threads(before));
    for (k = 0; k < 3; k++)
        bgm_test_assert_close(two[k], bgm_tensor_shape(one[k]), bgm_tensor_ndim(one[k]),
                              data_of(one[k]), 1e-6);
    free_all(in, 3);
    free_all(one, 3);
    free_all(two, 3);
}
END_TEST

START_TEST(rnn_of_an_empty_batch_is_empty)
{
    int64_t xs[] = {0, 3, 2}, is[] = {2, 8}, hs[] = {2, 8}, ys[] = {0, 3, 2};
    bgm_tensor *x = NULL, *w_ih = bgm_test_randn(is, 2, 1), *w_hh = bgm_test_randn(hs, 2, 2);
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 3));
    BGM_ASSERT_OK(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, NULL, NULL, NULL, NULL, NULL, 1, 0));
    bgm_test_assert_close(y, ys, 3, NULL, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(w_ih);
    bgm_tensor_free(w_hh);
}
END_TEST

/* ---- bad input ---------------------------------------------------------------- */

START_TEST(embedding_refuses_bad_input)
{
    int64_t is[] = {2, 3}, ts[] = {5, 2}, t1[] = {5};
    const int32_t good[] = {0, 1, 2, 3, 4, 0}, high[] = {0, 1, 2, 3, 5, 0};
    const int32_t low[] = {-1, 1, 2, 3, 4, 0};
    bgm_tensor *ids = ids_tensor(is, 2, good), *table = bgm_test_randn(ts, 2, 1);
    bgm_tensor *fids = bgm_test_randn(is, 2, 2), *itable = NULL;
    bgm_tensor *flat = bgm_test_randn(t1, 1, 3), *y = bgm_test_randn(t1, 1, 4), *keep = y;
    BGM_ASSERT_OK(bgm_tensor_zeros(&itable, BGM_INT32, ts, 2));
    BGM_ASSERT_FAILS(bgm_op_embedding(NULL, NULL, ids, table), BGM_E_INVALID, "out");
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, NULL, table), BGM_E_INVALID, "ids");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, ids, NULL), BGM_E_INVALID, "table");
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, fids, table), BGM_E_DTYPE,
                     "ids are float32, expected int32");
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, ids, itable), BGM_E_DTYPE,
                     "table is int32, expected float32");
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, ids, flat), BGM_E_SHAPE,
                     "must be (V, D), got shape (5,)");
    BGM_ASSERT_OK(bgm_tensor_copy_from(ids, high, sizeof high));
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, ids, table), BGM_E_RANGE,
                     "id 5 at position [1, 1] is outside [0, 5)");
    BGM_ASSERT_OK(bgm_tensor_copy_from(ids, low, sizeof low));
    BGM_ASSERT_FAILS(bgm_op_embedding(&y, NULL, ids, table), BGM_E_RANGE,
                     "id -1 at position [0, 0]");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_sequence_mask(NULL, ids), BGM_E_INVALID, "out");
    BGM_ASSERT_FAILS(bgm_sequence_mask(&y, NULL), BGM_E_INVALID, "ids");
    BGM_ASSERT_FAILS(bgm_sequence_mask(&y, fids), BGM_E_DTYPE, "expected int32");
    ck_assert_ptr_null(y);
    free_all((bgm_tensor *[]){ids, table, fids, itable, flat, keep}, 6);
}
END_TEST

START_TEST(lstm_and_gru_refuse_bad_input)
{
    int64_t xs[] = {2, 3, 4}, is[] = {4, 8}, hs[] = {2, 8}, bs[] = {8}, ss[] = {2, 2};
    int64_t ms[] = {2, 3}, x2[] = {2, 3}, is3[] = {3, 8}, hs3[] = {3, 8}, gi[] = {4, 6};
    int64_t gh[] = {2, 6}, gb[] = {2, 6}, t0[] = {2, 0, 4}, odd[] = {4, 7};
    bgm_tensor *x = bgm_test_randn(xs, 3, 1), *w_ih = bgm_test_randn(is, 2, 2);
    bgm_tensor *w_hh = bgm_test_randn(hs, 2, 3), *b = bgm_test_randn(bs, 1, 4);
    bgm_tensor *h0 = bgm_test_randn(ss, 2, 5), *mask = bgm_test_randn(ms, 2, 6);
    bgm_tensor *xi = NULL, *x2d = bgm_test_randn(x2, 2, 7), *wi3 = bgm_test_randn(is3, 2, 8);
    bgm_tensor *wh3 = bgm_test_randn(hs3, 2, 9), *bad_h0 = bgm_test_randn(hs, 2, 10);
    bgm_tensor *g_ih = bgm_test_randn(gi, 2, 11), *g_hh = bgm_test_randn(gh, 2, 12);
    bgm_tensor *g_b = bgm_test_randn(gb, 2, 13), *xt0 = NULL, *w_odd = bgm_test_randn(odd, 2, 14);
    bgm_tensor *mi = NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&mi, BGM_INT32, ms, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xt0, BGM_FLOAT32, t0, 3));

    BGM_ASSERT_FAILS(bgm_op_lstm(NULL, NULL, x, w_ih, w_hh, b, h0, h0, NULL, NULL, 1, 0),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, NULL, w_ih, w_hh, b, h0, h0, NULL, NULL, 1, 0),
                     BGM_E_INVALID, "'x' is NULL");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, NULL, w_hh, b, h0, h0, NULL, NULL, 1, 0),
                     BGM_E_INVALID, "'w_ih' is NULL");
    BGM_ASSERT_FAILS(bgm_op_gru(&y, NULL, x, g_ih, NULL, g_b, h0, NULL, NULL, 1, 0),
                     BGM_E_INVALID, "'w_hh' is NULL");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, xi, w_ih, w_hh, b, h0, h0, NULL, NULL, 1, 0),
                     BGM_E_DTYPE, "x is int32, expected float32");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, h0, h0, mi, NULL, 1, 0),
                     BGM_E_DTYPE, "mask is int32, expected float32");
    BGM_ASSERT_FAILS(bgm_op_gru(&y, NULL, x, g_ih, g_hh, g_b, h0, NULL, mi, 1, 0),
                     BGM_E_DTYPE, "recurrent_mask is int32");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x2d, w_ih, w_hh, b, NULL, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "x must be (N, T, F), got shape (2, 3)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, wi3, w_hh, b, NULL, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "x (2, 3, 4) has 4 features but w_ih (3, 8) expects 3");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_odd, w_hh, b, NULL, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "w_ih must be (F, 4*H) with H >= 1, got shape (4, 7)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, wh3, b, NULL, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "w_hh must be (H, G*H) = (2, 8) for w_ih (4, 8), got "
                     "shape (3, 8)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, g_b, NULL, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "bias must be (8,) = (4*H,) for H = 2, got shape (2, 6)");
    BGM_ASSERT_FAILS(bgm_op_gru(&y, NULL, x, g_ih, g_hh, b, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "bias must be (2, 6) = (2, 3*H) for H = 2, got shape (8,)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, bad_h0, NULL, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "h0 must be (N, H) = (2, 2) for x (2, 3, 4) and w_hh (2, 8), "
                     "got shape (2, 8)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, h0, bad_h0, NULL, NULL, 1, 0),
                     BGM_E_SHAPE, "c0 must be (N, H) = (2, 2)");
    BGM_ASSERT_FAILS(bgm_op_gru(&y, NULL, x, g_ih, g_hh, g_b, NULL, h0, NULL, 1, 0),
                     BGM_E_SHAPE, "mask must be (N, T) = (2, 3) for x (2, 3, 4), got shape "
                     "(2, 2)");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, b, NULL, NULL, NULL, mask, 1, 0),
                     BGM_E_SHAPE, "recurrent_mask must be (N, H) = (2, 2)");
    BGM_ASSERT_FAILS(bgm_op_gru(&y, NULL, xt0, g_ih, g_hh, g_b, NULL, NULL, NULL, 0, 0),
                     BGM_E_SHAPE, "x (2, 0, 4) has no time steps");
    ck_assert_ptr_null(y);
    free_all((bgm_tensor *[]){x, w_ih, w_hh, b, h0, mask, xi, x2d, wi3, wh3, bad_h0, g_ih,
                              g_hh, g_b, xt0, w_odd, mi},
             17);
}
END_TEST

/* A tensor of a huge shape over a tiny buffer: the checks refuse it before
 * any element is read. */
static bgm_tensor *fake(const int64_t *shape, int ndim)
{
    static float cell[4];
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_wrap(&t, BGM_FLOAT32, shape, ndim, cell, NULL, NULL));
    return t;
}

START_TEST(rnn_refuses_sizes_beyond_blas_and_memory)
{
    int64_t long_x[] = {4, (int64_t)1 << 30, 1}, is[] = {1, 4}, hs[] = {1, 4};
    int64_t wide_x[] = {(int64_t)1 << 30, 1, (int64_t)1 << 28};
    int64_t wide_i[] = {(int64_t)1 << 28, 4};
    bgm_tensor *x = fake(long_x, 3), *w_ih = fake(is, 2), *w_hh = fake(hs, 2);
    bgm_tensor *xw = fake(wide_x, 3), *w_wide = fake(wide_i, 2), *y = NULL;
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, x, w_ih, w_hh, NULL, NULL, NULL, NULL, NULL, 1,
                                 0),
                     BGM_E_UNSUPPORTED, "larger than BLAS takes");
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, NULL, xw, w_wide, w_hh, NULL, NULL, NULL, NULL, NULL, 1,
                                 0),
                     BGM_E_NOMEM, "more memory than this machine can address");
    ck_assert_ptr_null(y);
    free_all((bgm_tensor *[]){x, w_ih, w_hh, xw, w_wide}, 5);
}
END_TEST

START_TEST(failed_rnn_ops_leave_the_tape_unrecorded)
{
    int64_t xs[] = {1, 2, 3}, is[] = {3, 4}, hs[] = {1, 4}, bad[] = {2, 4};
    bgm_tensor *x = bgm_test_randn(xs, 3, 1), *w_ih = bgm_test_randn(is, 2, 2);
    bgm_tensor *w_hh = bgm_test_randn(hs, 2, 3), *w_bad = bgm_test_randn(bad, 2, 4);
    bgm_tensor *y = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_FAILS(bgm_op_lstm(&y, tape, x, w_ih, w_bad, NULL, NULL, NULL, NULL, NULL, 1,
                                 0),
                     BGM_E_SHAPE, "w_hh");
    ck_assert_ptr_null(y);
    BGM_ASSERT_OK(bgm_op_lstm(&y, tape, x, w_ih, w_hh, NULL, NULL, NULL, NULL, NULL, 0, 0));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    ck_assert_int_eq(bgm_tensor_numel(g), 6);
    bgm_tape_free(tape);
    free_all((bgm_tensor *[]){x, w_ih, w_hh, w_bad}, 4);
}
END_TEST

Suite *suite_ops_rnn(void)
{
    Suite *s = suite_create("ops_rnn");
    TCase *emb = tcase_create("embedding");
    TCase *fwd = tcase_create("forward");
    TCase *grad = tcase_create("gradients");
    TCase *bad = tcase_create("bad_input");
    int ngrad = (int)(sizeof grad_cases / sizeof grad_cases[0]);

    tcase_add_test(emb, embedding_looks_up_table_rows_by_hand);
    tcase_add_test(emb, embedding_takes_ids_of_any_shape);
    tcase_add_test(emb, embedding_gradient_accumulates_repeated_ids);
    tcase_add_test(emb, sequence_mask_is_one_for_nonzero_ids);
    suite_add_tcase(s, emb);

    tcase_add_test(fwd, lstm_of_two_steps_by_hand);
    tcase_add_test(fwd, gru_of_two_steps_by_hand);
    tcase_add_loop_test(fwd, rnn_on_a_tape_computes_what_it_computes_without_one, 0, 2);
    tcase_add_loop_test(fwd, masked_steps_keep_the_state_and_repeat_the_output, 0, 2);
    tcase_add_loop_test(fwd, reverse_equals_forward_over_the_flipped_sequence, 0, 2);
    tcase_add_loop_test(fwd, last_output_is_the_last_step_of_the_sequence_output, 0, 4);
    tcase_add_loop_test(fwd, recurrent_mask_multiplies_the_state_in_the_recurrent_product,
                        0, 2);
    tcase_add_test(fwd, rnn_of_an_empty_batch_is_empty);
    tcase_add_loop_test(fwd, rnn_results_do_not_depend_on_the_thread_count, 0, 2);
    suite_add_tcase(s, fwd);

    tcase_add_loop_test(grad, rnn_gradients_of_every_input_match_finite_differences, 0,
                        ngrad);
    tcase_add_loop_test(grad, rnn_gradient_can_be_taken_twice_with_the_same_result, 0, 2);
    BGM_TEST_SLOW(grad, 30);
    suite_add_tcase(s, grad);

    tcase_add_test(bad, embedding_refuses_bad_input);
    tcase_add_test(bad, lstm_and_gru_refuse_bad_input);
    tcase_add_test(bad, rnn_refuses_sizes_beyond_blas_and_memory);
    tcase_add_test(bad, failed_rnn_ops_leave_the_tape_unrecorded);
    suite_add_tcase(s, bad);
    return s;
}
