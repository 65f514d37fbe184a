/* The weighted loss op behind Keras' sample_weight and class_weight: its
 * value against sums computed here in double (per-sample losses as Keras
 * defines them, sum(w * l) / count), its gradients against finite
 * differences for every loss kind, weights per sample and per step, and
 * its errors. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

#include "autograd/ops_loss_weighted.h"

typedef struct wctx {
    bgm_loss_kind kind;
    int logits;
    const bgm_tensor *labels;  /* sparse: int32 ids */
    const bgm_tensor *weights;
} wctx;

static bgm_status weighted(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in, void *ctx)
{
    const wctx *c = ctx;
    return bgm__op_weighted_loss(out, tape, c->kind, in[0], c->labels ? c->labels : in[1],
                                 c->weights, c->logits);
}

/* Rows of c probabilities in (0.05, 0.95) summing to 1 (categorical targets). */
static bgm_tensor *distributions(int64_t rows, int64_t c, uint64_t seed)
{
    bgm_tensor *t = bgm_test_uniform((int64_t[]){rows, c}, 2, 0.2f, 1.0f, seed);
    float *v = bgm_tensor_data(t);
    int64_t r, k;
    for (r = 0; r < rows; r++) {
        double sum = 0.0;
        for (k = 0; k < c; k++)
            sum += v[r * c + k];
        for (k = 0; k < c; k++)
            v[r * c + k] = (float)(v[r * c + k] / sum);
    }
    return t;
}

/* Keras' per-sample loss of one row of c values (double). */
static double row_loss(bgm_loss_kind kind, int logits, const float *p, const float *t,
                       int32_t label, int64_t c)
{
    double l = 0.0, mx = p[0], lse = 0.0;
    int64_t k;
    if (kind == BGM_LOSS_CATEGORICAL_CROSSENTROPY || kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        for (k = 1; k < c; k++)
            mx = p[k] > mx ? p[k] : mx;
        for (k = 0; k < c; k++)
            lse += exp(p[k] - mx);
        lse = mx + log(lse);
        for (k = 0; k < c; k++) {
            double tk = kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? (k == label) : t[k];
            l -= tk * (logits ? p[k] - lse : log(p[k]));
        }
        return l;
    }
    for (k = 0; k < c; k++) {
        double d = (double)p[k] - t[k];
        if (kind == BGM_LOSS_MSE)
            l += d * d;
        else if (kind == BGM_LOSS_MAE)
            l += fabs(d);
        else if (logits)
            l += fmax(p[k], 0.0) - (double)p[k] * t[k] + log1p(exp(-fabs(p[k])));
        else
            l -= t[k] * log(p[k]) + (1.0 - t[k]) * log(1.0 - p[k]);
    }
    return l / (double)c;
}

/* The op's value for pred (N, T, C) with weights (N) or (N, T) against the
 * sum here, and its gradients against finite differences. */
static void check_kind(bgm_loss_kind kind, int logits, int per_step)
{
    enum { N = 3, T = 2, C = 4 };
    int sparse = kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    int probs = !logits && kind != BGM_LOSS_MSE && kind != BGM_LOSS_MAE;
    bgm_tensor *pred, *target = NULL, *labels = NULL, *w, *out = NULL, *in[2];
    const float *p, *t = NULL, *wv;
    const int32_t *lab = NULL;
    double want = 0.0, err;
    int64_t r;
    wctx c = {kind, logits, NULL, NULL};
    if (probs && kind != BGM_LOSS_BINARY_CROSSENTROPY)
        pred = distributions(N * T, C, 3);
    else if (probs)
        pred = bgm_test_uniform((int64_t[]){N * T, C}, 2, 0.1f, 0.9f, 3);
    else
        pred = bgm_test_randn((int64_t[]){N * T, C}, 2, 3);
    BGM_ASSERT_OK(bgm_tensor_reshape(&in[0], pred, (int64_t[]){N, T, C}, 3));
    bgm_tensor_free(pred);
    pred = in[0];
    if (sparse) {
        BGM_ASSERT_OK(bgm_tensor_zeros(&labels, BGM_INT32, (int64_t[]){N, T}, 2));
        for (r = 0; r < N * T; r++)
            ((int32_t *)bgm_tensor_data(labels))[r] = (int32_t)((r * 7 + 1) % C);
        lab = bgm_tensor_data(labels);
        c.labels = labels;
    } else {
        bgm_tensor *flat = kind == BGM_LOSS_CATEGORICAL_CROSSENTROPY
                               ? distributions(N * T, C, 5)
                               : bgm_test_uniform((int64_t[]){N * T, C}, 2, 0.0f, 1.0f, 5);
        BGM_ASSERT_OK(bgm_tensor_reshape(&target, flat, (int64_t[]){N, T, C}, 3));
        bgm_tensor_free(flat);
        t = bgm_tensor_data(target);
    }
    w = per_step ? bgm_test_tensor((int64_t[]){N, T}, 2, (float[]){0.5f, 2, 0, 1, 3, -1})
                 : bgm_test_tensor((int64_t[]){N}, 1, (float[]){0.5f, 2, 1.5f});
    c.weights = w;
    p = bgm_tensor_data(pred);
    wv = bgm_tensor_data(w);
    for (r = 0; r < N * T; r++)
        want += wv[per_step ? r : r / T] *
                row_loss(kind, logits, p + r * C, t ? t + r * C : NULL, lab ? lab[r] : 0, C);
    want /= N * T;
    BGM_ASSERT_OK(bgm__op_weighted_loss(&out, NULL, kind, pred, sparse ? labels : target, w,
                                        logits));
    ck_assert_int_eq(bgm_tensor_ndim(out), 0);
    ck_assert_msg(fabs(*(float *)bgm_tensor_data(out) - want) <= 1e-5 * (1 + fabs(want)),
                  "kind %d logits %d per_step %d: %.8f, want %.8f", kind, logits, per_step,
                  (double)*(float *)bgm_tensor_data(out), want);
    bgm_tensor_free(out);
    in[1] = target;
    err = bgm_test_gradcheck(weighted, in, sparse ? 1 : 2, &c, probs ? 1e-3 : 1e-2);
    ck_assert_msg(err < 2e-2, "kind %d logits %d per_step %d: gradient error %g", kind, logits,
                  per_step, err);
    bgm_tensor_free(pred);
    bgm_tensor_free(target);
    bgm_tensor_free(labels);
    bgm_tensor_free(w);
}

START_TEST(weighted_losses_match_the_sums_and_finite_differences)
{
    static const bgm_loss_kind kinds[] = {
        BGM_LOSS_MSE, BGM_LOSS_MAE, BGM_LOSS_BINARY_CROSSENTROPY,
        BGM_LOSS_CATEGORICAL_CROSSENTROPY, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY};
    int k, logits, per_step;
    for (k = 0; k < 5; k++)
        for (logits = 0; logits < 2; logits++)
            for (per_step = 0; per_step < 2; per_step++)
                if (!logits || k >= 2)
                    check_kind(kinds[k], logits, per_step);
}
END_TEST

START_TEST(unit_weights_give_the_unweighted_loss)
{
    bgm_tensor *pred = bgm_test_randn((int64_t[]){5, 3}, 2, 11);
    bgm_tensor *target = bgm_test_randn((int64_t[]){5, 3}, 2, 12);
    bgm_tensor *ones = bgm_test_tensor((int64_t[]){5}, 1, (float[]){1, 1, 1, 1, 1});
    bgm_tensor *a = NULL, *b = NULL;
    BGM_ASSERT_OK(bgm__op_weighted_loss(&a, NULL, BGM_LOSS_MSE, pred, target, ones, 0));
    BGM_ASSERT_OK(bgm_op_mse_loss(&b, NULL, pred, target));
    ck_assert_float_eq_tol(*(float *)bgm_tensor_data(a), *(float *)bgm_tensor_data(b), 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(pred);
    bgm_tensor_free(target);
    bgm_tensor_free(ones);
}
END_TEST

START_TEST(bad_weights_and_labels_get_clear_errors)
{
    bgm_tensor *pred = bgm_test_randn((int64_t[]){4, 3}, 2, 1);
    bgm_tensor *target = bgm_test_randn((int64_t[]){4, 3}, 2, 2);
    bgm_tensor *w3 = bgm_test_tensor((int64_t[]){3}, 1, (float[]){1, 1, 1});
    bgm_tensor *w4 = bgm_test_tensor((int64_t[]){4}, 1, (float[]){1, 1, 1, 1});
    bgm_tensor *labels = NULL, *out = NULL;
    BGM_ASSERT_FAILS(bgm__op_weighted_loss(&out, NULL, BGM_LOSS_MSE, pred, target, w3, 0),
                     BGM_E_SHAPE, "weights (3,)");
    BGM_ASSERT_FAILS(bgm__op_weighted_loss(&out, NULL, BGM_LOSS_MSE, pred, NULL, w4, 0),
                     BGM_E_INVALID, "'target'");
    BGM_ASSERT_FAILS(bgm__op_weighted_loss(&out, NULL, BGM_LOSS_CUSTOM, pred, target, w4, 0),
                     BGM_E_INVALID, "unknown loss 6");
    BGM_ASSERT_OK(bgm_tensor_zeros(&labels, BGM_INT32, (int64_t[]){4}, 1));
    ((int32_t *)bgm_tensor_data(labels))[2] = 3;
    BGM_ASSERT_FAILS(bgm__op_weighted_loss(&out, NULL, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                           pred, labels, w4, 1),
                     BGM_E_RANGE, "row 2 has label 3");
    BGM_ASSERT_FAILS(bgm__op_weighted_loss(&out, NULL, BGM_LOSS_MSE, pred, labels, w4, 0),
                     BGM_E_DTYPE, "float32");
    ck_assert_ptr_null(out);
    bgm_tensor_free(pred);
    bgm_tensor_free(target);
    bgm_tensor_free(labels);
    bgm_tensor_free(w3);
    bgm_tensor_free(w4);
}
END_TEST

Suite *suite_loss_weighted(void)
{
    Suite *s = suite_create("loss_weighted");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, weighted_losses_match_the_sums_and_finite_differences);
    tcase_add_test(tc, unit_weights_give_the_unweighted_loss);
    tcase_add_test(tc, bad_weights_and_labels_get_clear_errors);
    suite_add_tcase(s, tc);
    return s;
}
