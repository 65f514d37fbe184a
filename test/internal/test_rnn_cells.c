/* The vectorized gate math of the recurrent cells (lib/kernels/rnn.c): its
 * sigmoid and tanh against double precision over the whole float range,
 * the LSTM and GRU cells against a scalar double-precision reference, and
 * the LSTM cell's backward against finite differences of that reference. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "kernels/rnn.h"

/* Sizes that leave a tail after 16- and 8-wide vectors. */
#define HIDDEN 37

static double sigmoid_d(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

/* |got - want| within rel * |want| or abs. */
static int close_to(double got, double want, double rel, double abs_tol)
{
    return fabs(got - want) <= rel * fabs(want) + abs_tol;
}

START_TEST(cell_sigmoid_and_tanh_match_double_precision_everywhere)
{
    double worst_s = 0.0, worst_t = 0.0;
    uint32_t bits, lo, hi;
    float a = 1e-30f, b = 100.0f;
    memcpy(&lo, &a, sizeof lo);
    memcpy(&hi, &b, sizeof hi);
    /* every 997th float from 1e-30 to 100, both signs */
    for (bits = lo; bits <= hi; bits += 997) {
        int sign;
        for (sign = -1; sign <= 1; sign += 2) {
            float v;
            double ws, wt, es, et;
            memcpy(&v, &bits, sizeof v);
            v *= (float)sign;
            ws = sigmoid_d(v);
            wt = tanh((double)v);
            /* below -87.3 the sigmoid stays at about 1e-38 instead of going
             * to 0: only its absolute error counts there */
            es = v < -80.0f ? fabs(bgm__rnn_sigmoid(v) - ws) * 1e31
                            : fabs(bgm__rnn_sigmoid(v) - ws) / ws;
            et = fabs(bgm__rnn_tanh(v) - wt) / fabs(wt);
            if (es > worst_s)
                worst_s = es;
            if (et > worst_t)
                worst_t = et;
        }
    }
    ck_assert_msg(worst_s < 5e-7, "sigmoid relative error %g", worst_s);
    ck_assert_msg(worst_t < 5e-7, "tanh relative error %g", worst_t);
    ck_assert_float_eq(bgm__rnn_tanh(0.0f), 0.0f);
    ck_assert_float_eq(bgm__rnn_tanh(INFINITY), 1.0f);
    ck_assert_float_eq(bgm__rnn_tanh(-INFINITY), -1.0f);
    ck_assert_float_eq(bgm__rnn_sigmoid(INFINITY), 1.0f);
    ck_assert(bgm__rnn_sigmoid(-INFINITY) < 1e-37f && bgm__rnn_sigmoid(-INFINITY) >= 0.0f);
    ck_assert(isnan(bgm__rnn_sigmoid(NAN)));
    ck_assert(isnan(bgm__rnn_tanh(NAN)));
}
END_TEST

/* One LSTM step in double: pre-activations z (4H), c_prev -> c, h. */
static void lstm_ref(int64_t hdim, const double *z, const double *c_prev, double *c, double *h)
{
    int64_t j;
    for (j = 0; j < hdim; j++) {
        double i = sigmoid_d(z[j]), f = sigmoid_d(z[hdim + j]), g = tanh(z[2 * hdim + j]);
        double o = sigmoid_d(z[3 * hdim + j]);
        c[j] = f * c_prev[j] + i * g;
        h[j] = o * tanh(c[j]);
    }
}

static void random_fill(float *v, int64_t n, float scale, uint64_t seed)
{
    int64_t shape[1] = {n}, k;
    bgm_tensor *t = bgm_test_randn(shape, 1, seed);
    const float *d = bgm_tensor_data(t);
    for (k = 0; k < n; k++)
        v[k] = scale * d[k];
    bgm_tensor_free(t);
}

START_TEST(lstm_cell_forward_adds_the_bias_and_matches_a_double_reference)
{
    float gates[4 * HIDDEN], bias[4 * HIDDEN], c_prev[HIDDEN], c[HIDDEN], tc[HIDDEN];
    float h[HIDDEN];
    double z[4 * HIDDEN], cp[HIDDEN], cw[HIDDEN], hw[HIDDEN];
    int64_t j;
    /* scale 4: pre-activations from the saturated ends to near 0; c sums
     * terms of about 1, hence the absolute 1e-6 */
    random_fill(gates, 4 * HIDDEN, 4.0f, 11);
    random_fill(bias, 4 * HIDDEN, 1.0f, 13);
    random_fill(c_prev, HIDDEN, 2.0f, 12);
    for (j = 0; j < 4 * HIDDEN; j++)
        z[j] = (double)(gates[j] + bias[j]);
    for (j = 0; j < HIDDEN; j++)
        cp[j] = c_prev[j];
    lstm_ref(HIDDEN, z, cp, cw, hw);
    bgm__lstm_cell_forward(HIDDEN, gates, bias, c_prev, c, tc, h);
    for (j = 0; j < HIDDEN; j++) {
        ck_assert_msg(close_to(c[j], cw[j], 1e-6, 1e-6), "c[%d] %g want %g", (int)j, c[j],
                      cw[j]);
        ck_assert_msg(close_to(h[j], hw[j], 1e-6, 1e-6), "h[%d] %g want %g", (int)j, h[j],
                      hw[j]);
        ck_assert(close_to(tc[j], tanh(cw[j]), 1e-6, 1e-6));
        ck_assert(close_to(gates[j], sigmoid_d(z[j]), 1e-6, 0.0));
        ck_assert(close_to(gates[2 * HIDDEN + j], tanh(z[2 * HIDDEN + j]), 1e-6, 1e-7));
    }
}
END_TEST

START_TEST(lstm_cell_backward_matches_finite_differences)
{
    /* L = sum(wh * h) + sum(wc * c): dh = wh, dc (from later steps) = wc. */
    float gates[4 * HIDDEN], c_prev[HIDDEN], c[HIDDEN], tc[HIDDEN], h[HIDDEN];
    float dh[HIDDEN], dc[HIDDEN], dg[4 * HIDDEN], wh[HIDDEN], wc[HIDDEN];
    double z[4 * HIDDEN], cp[HIDDEN], cw[HIDDEN], hw[HIDDEN];
    const double eps = 1e-6;
    int64_t j, k;
    random_fill(gates, 4 * HIDDEN, 2.0f, 21);
    random_fill(c_prev, HIDDEN, 1.0f, 22);
    random_fill(wh, HIDDEN, 1.0f, 23);
    random_fill(wc, HIDDEN, 1.0f, 24);
    for (j = 0; j < 4 * HIDDEN; j++)
        z[j] = gates[j];
    for (j = 0; j < HIDDEN; j++) {
        cp[j] = c_prev[j];
        dh[j] = wh[j];
        dc[j] = wc[j];
    }
    bgm__lstm_cell_forward(HIDDEN, gates, NULL, c_prev, c, tc, h);
    bgm__lstm_cell_backward(HIDDEN, gates, c_prev, tc, dh, dc, dg);
    for (k = 0; k < 4 * HIDDEN + HIDDEN; k++) {
        /* k < 4H: a pre-activation; then c_prev (whose gradient is dc) */
        double *p = k < 4 * HIDDEN ? &z[k] : &cp[k - 4 * HIDDEN], keep = *p, lp = 0, lm = 0;
        double want, got = k < 4 * HIDDEN ? dg[k] : dc[k - 4 * HIDDEN];
        *p = keep + eps;
        lstm_ref(HIDDEN, z, cp, cw, hw);
        for (j = 0; j < HIDDEN; j++)
            lp += wh[j] * hw[j] + wc[j] * cw[j];
        *p = keep - eps;
        lstm_ref(HIDDEN, z, cp, cw, hw);
        for (j = 0; j < HIDDEN; j++)
            lm += wh[j] * hw[j] + wc[j] * cw[j];
        *p = keep;
        want = (lp - lm) / (2 * eps);
        ck_assert_msg(close_to(got, want, 1e-4, 1e-6), "input %d: %g, finite differences %g",
                      (int)k, got, want);
    }
    for (j = 0; j < HIDDEN; j++)
        ck_assert_float_eq(dh[j], 0.0f);
}
END_TEST

START_TEST(gru_cell_forward_matches_a_double_reference)
{
    float xg[3 * HIDDEN], rg[3 * HIDDEN], h_prev[HIDDEN], rec_n[HIDDEN], h[HIDDEN];
    double want_z, want_r, want_n;
    int64_t j;
    random_fill(xg, 3 * HIDDEN, 3.0f, 31);
    random_fill(rg, 3 * HIDDEN, 3.0f, 32);
    random_fill(h_prev, HIDDEN, 1.0f, 33);
    {
        float x0[3 * HIDDEN];
        memcpy(x0, xg, sizeof x0);
        bgm__gru_cell_forward(HIDDEN, xg, rg, h_prev, rec_n, h);
        for (j = 0; j < HIDDEN; j++) {
            want_z = sigmoid_d((double)x0[j] + rg[j]);
            want_r = sigmoid_d((double)x0[HIDDEN + j] + rg[HIDDEN + j]);
            want_n = tanh((double)x0[2 * HIDDEN + j] + want_r * rg[2 * HIDDEN + j]);
            ck_assert(close_to(xg[j], want_z, 1e-6, 0.0));
            ck_assert(close_to(xg[HIDDEN + j], want_r, 1e-6, 0.0));
            ck_assert_msg(close_to(xg[2 * HIDDEN + j], want_n, 2e-6, 1e-7), "n[%d] %g want %g",
                          (int)j, xg[2 * HIDDEN + j], want_n);
            ck_assert_msg(close_to(h[j], want_n + want_z * (h_prev[j] - want_n), 2e-6, 2e-7),
                          "h[%d]", (int)j);
            ck_assert_float_eq(rec_n[j], rg[2 * HIDDEN + j]);
        }
    }
}
END_TEST

Suite *suite_rnn_cells(void)
{
    Suite *s = suite_create("rnn_cells");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cell_sigmoid_and_tanh_match_double_precision_everywhere);
    tcase_add_test(tc, lstm_cell_forward_adds_the_bias_and_matches_a_double_reference);
    tcase_add_test(tc, lstm_cell_backward_matches_finite_differences);
    tcase_add_test(tc, gru_cell_forward_matches_a_double_reference);
    suite_add_tcase(s, tc);
    return s;
}
