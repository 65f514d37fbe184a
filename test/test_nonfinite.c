/* Non-finite training: BGM_E_NONFINITE from fit and train_on_batch (a
 * diverging rate, an input holding NaN, a gradient that overflows), the
 * weights of the last finite step kept bit for bit, the model usable after,
 * and TerminateOnNaN. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* 3 features, y = 2 x0 - x1 + 0.5 x2 + 1: n samples. */
static void regression_data(bgm_tensor **x, bgm_tensor **y, int64_t n)
{
    bgm_rng *rng = NULL;
    float *xv, *yv;
    int64_t i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, 8));
    BGM_ASSERT_OK(bgm_tensor_rand_uniform(x, rng, (int64_t[]){n, 3}, 2, -1, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(y, BGM_FLOAT32, (int64_t[]){n}, 1));
    xv = bgm_tensor_data(*x);
    yv = bgm_tensor_data(*y);
    for (i = 0; i < n; i++)
        yv[i] = 2.0f * xv[3 * i] - xv[3 * i + 1] + 0.5f * xv[3 * i + 2] + 1.0f;
    bgm_rng_free(rng);
}

/* 3 -> dense 1 (and a BatchNormalization first when bn), MSE. */
static bgm_model *regressor(float lr, int bn, int adam)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    if (bn)
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    if (adam)
        BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                         BGM_ADAM_EPSILON));
    else
        BGM_ASSERT_OK(bgm_optimizer_sgd(&o, lr, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    return m;
}

static bgm_fit_options quiet(int epochs, int64_t batch_size)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.batch_size = batch_size;
    o.shuffle = 0;
    o.verbose = 0;
    return o;
}

/* Every weight of m (state included), malloc'ed. */
static float *weights_of(const bgm_model *m)
{
    int64_t n = bgm_model_num_params(m);
    float *w = malloc((size_t)n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    BGM_ASSERT_OK(bgm_model_get_weights(m, w, n));
    return w;
}

static void assert_weights_equal(const bgm_model *m, const float *want)
{
    float *w = weights_of(m);
    int64_t i, n = bgm_model_num_params(m);
    ck_assert_int_eq(memcmp(w, want, (size_t)n * sizeof *w), 0);
    for (i = 0; i < n; i++)
        ck_assert_msg(isfinite(w[i]), "weight %lld is %g", (long long)i, (double)w[i]);
    free(w);
}

/* Rows [r, r + k) of t, a view. */
static bgm_tensor *rows(const bgm_tensor *t, int64_t r, int64_t k)
{
    bgm_tensor *v = NULL;
    BGM_ASSERT_OK(bgm_tensor_slice(&v, t, r, r + k));
    return v;
}

/* Steps m with train_on_batch on the batches of fit (no shuffling) until a
 * step fails: returns that step's index (from 0) over all epochs, with the
 * weights before it in *before (malloc'ed) and m's weights checked equal. */
static int64_t steps_until_nonfinite(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y,
                                     int64_t batch, int max_steps, float **before)
{
    int64_t n = bgm_tensor_dim(x, 0), k;
    for (k = 0; k < max_steps; k++) {
        int64_t r = (k * batch) % n;
        bgm_tensor *xb = rows(x, r, batch), *yb = rows(y, r, batch);
        bgm_status s;
        *before = weights_of(m);
        s = bgm_model_train_on_batch(NULL, 0, m, xb, yb);
        bgm_tensor_free(xb);
        bgm_tensor_free(yb);
        if (s != BGM_OK) {
            ck_assert_msg(s == BGM_E_NONFINITE, "%s: %s", bgm_status_string(s),
                          bgm_last_error());
            ck_assert_msg(strstr(bgm_last_error(), "bgm_model_train_on_batch: the loss is ") ||
                          strstr(bgm_last_error(), "bgm_model_train_on_batch: the gradient of"),
                          "%s", bgm_last_error());
            assert_weights_equal(m, *before);
            return k;
        }
        free(*before);
    }
    ck_abort_msg("no step failed in %d", max_steps);
    return -1;
}

START_TEST(status_string_names_nonfinite)
{
    ck_assert_str_eq(bgm_status_string(BGM_E_NONFINITE), "BGM_E_NONFINITE");
    ck_assert_int_eq(BGM_E_NONFINITE, -12);
}
END_TEST

START_TEST(diverging_rate_stops_fit_with_the_last_finite_weights)
{
    bgm_model *m = regressor(1e6f, 0, 0), *ref = regressor(1e6f, 0, 0);
    bgm_tensor *x, *y;
    bgm_fit_options fo = quiet(50, 16);
    bgm_history *h = (bgm_history *)1;
    float *before;
    char want[96];
    double r;
    int64_t k;
    float *first = weights_of(m);
    regression_data(&x, &y, 64); /* 4 steps per epoch */
    k = steps_until_nonfinite(ref, x, y, 16, 200, &before);
    ck_assert_int_ge(k, 1); /* at least one finite step was applied */
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, x, y, &fo), BGM_E_NONFINITE,
                     "the step was not applied, the weights are those of the last finite step");
    ck_assert_ptr_null(h);
    snprintf(want, sizeof want, "bgm_model_fit: epoch %lld, step %lld: the ",
             (long long)(k / 4 + 1), (long long)(k % 4 + 1));
    ck_assert_msg(strstr(bgm_last_error(), want), "%s lacks %s", bgm_last_error(), want);
    assert_weights_equal(m, before);
    /* Usable after: the last finite weights predict finite values; back at
     * the first weights with a lower rate, fit trains. */
    {
        bgm_tensor *p = NULL;
        const float *pv;
        int64_t i;
        BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
        pv = bgm_tensor_data(p);
        for (i = 0; i < bgm_tensor_numel(p); i++)
            ck_assert(isfinite(pv[i]));
        bgm_tensor_free(p);
    }
    BGM_ASSERT_OK(bgm_model_set_weights(m, first, bgm_model_num_params(m)));
    BGM_ASSERT_OK(bgm_model_evaluate(&r, 1, m, x, y, 0));
    ck_assert(isfinite(r));
    BGM_ASSERT_OK(bgm_optimizer_set_lr(bgm_model_optimizer(m), 0.05f));
    fo.epochs = 3;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    {
        double after;
        BGM_ASSERT_OK(bgm_model_evaluate(&after, 1, m, x, y, 0));
        ck_assert_msg(isfinite(after) && after < r, "loss %g then %g", r, after);
    }
    free(before);
    free(first);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(ref);
}
END_TEST

/* x with sample 37 holding NaN (the third batch of 16). */
static void nan_data(bgm_tensor **x, bgm_tensor **y)
{
    regression_data(x, y, 64);
    ((float *)bgm_tensor_data(*x))[3 * 37 + 1] = NAN;
}

/* Weights of a model like m trained on the first two batches of x only. */
static float *after_two_steps(int bn, const bgm_tensor *x, const bgm_tensor *y)
{
    bgm_model *ref = regressor(0.01f, bn, 1);
    bgm_tensor *x2 = rows(x, 0, 32), *y2 = rows(y, 0, 32);
    bgm_fit_options fo = quiet(1, 16);
    float *w;
    BGM_ASSERT_OK(bgm_model_fit(NULL, ref, x2, y2, &fo));
    w = weights_of(ref);
    bgm_tensor_free(x2);
    bgm_tensor_free(y2);
    bgm_model_free(ref);
    return w;
}

static void nan_input_case(int bn)
{
    bgm_model *m = regressor(0.01f, bn, 1);
    bgm_tensor *x, *y;
    bgm_fit_options fo = quiet(2, 16);
    float *want;
    nan_data(&x, &y);
    want = after_two_steps(bn, x, y);
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &fo), BGM_E_NONFINITE,
                     "bgm_model_fit: epoch 1, step 3: the loss is nan");
    /* weights, moving statistics and Adam's moments: as after step 2 */
    assert_weights_equal(m, want);
    ((float *)bgm_tensor_data(x))[3 * 37 + 1] = 0.25f;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    free(want);
    want = weights_of(m);
    free(want);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}

START_TEST(nan_input_stops_fit_at_its_step)
{
    nan_input_case(0);
}
END_TEST

START_TEST(nan_input_leaves_the_moving_statistics_of_the_last_finite_step)
{
    nan_input_case(1);
}
END_TEST

START_TEST(overflowing_gradient_names_its_weight)
{
    bgm_model *m = regressor(0.01f, 0, 0);
    bgm_tensor *x = NULL, *y = NULL;
    bgm_fit_options fo = quiet(1, 4);
    float w[4] = {1e-3f, 0.0f, 0.0f, 0.0f}; /* kernel (3, 1), bias (1) */
    char want[160];
    int i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, (int64_t[]){4, 3}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){4}, 1));
    for (i = 0; i < 4; i++) /* loss (1e-3 * 1e21)^2 = 1e36, d/dkernel 2e39: inf */
        ((float *)bgm_tensor_data(x))[3 * i] = 1e21f;
    BGM_ASSERT_OK(bgm_model_set_weights(m, w, 4));
    snprintf(want, sizeof want, "bgm_model_fit: epoch 1, step 1: the gradient of '%s' holds "
             "inf (element 0 of 3)", bgm_model_weight_name(m, 0));
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &fo), BGM_E_NONFINITE, want);
    ck_assert_int_eq(strncmp(bgm_model_weight_name(m, 0), "dense", 5), 0);
    assert_weights_equal(m, w);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(train_on_batch_refuses_a_nan_step_and_keeps_the_optimizer_state)
{
    bgm_model *m = regressor(0.01f, 0, 1), *ref = regressor(0.01f, 0, 1);
    bgm_tensor *x, *y, *xa, *ya, *xn, *yn;
    float *want;
    double r[1];
    nan_data(&x, &y);
    xa = rows(x, 0, 16);
    ya = rows(y, 0, 16);
    xn = rows(x, 32, 16);
    yn = rows(y, 32, 16);
    BGM_ASSERT_OK(bgm_model_train_on_batch(r, 1, m, xa, ya));
    want = weights_of(m);
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(r, 1, m, xn, yn), BGM_E_NONFINITE,
                     "bgm_model_train_on_batch: the loss is nan; the step was not applied");
    assert_weights_equal(m, want);
    /* Adam's step count and moments did not move: the next step is the one
     * a model that never saw the NaN batch takes. */
    BGM_ASSERT_OK(bgm_model_train_on_batch(r, 1, m, xa, ya));
    BGM_ASSERT_OK(bgm_model_train_on_batch(r, 1, ref, xa, ya));
    BGM_ASSERT_OK(bgm_model_train_on_batch(r, 1, ref, xa, ya));
    free(want);
    want = weights_of(ref);
    assert_weights_equal(m, want);
    free(want);
    bgm_tensor_free(xa);
    bgm_tensor_free(ya);
    bgm_tensor_free(xn);
    bgm_tensor_free(yn);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(ref);
}
END_TEST

START_TEST(terminate_on_nan_ends_fit_cleanly_after_the_nan_batch)
{
    bgm_model *m = regressor(0.01f, 0, 1);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL, *cb2 = (bgm_callback *)1;
    bgm_history *h = NULL;
    bgm_fit_options fo = quiet(3, 16);
    bgm_test_text out;
    const double *loss;
    float *want;
    memset(&out, 0, sizeof out);
    nan_data(&x, &y);
    want = after_two_steps(0, x, y);
    BGM_ASSERT_OK(bgm_callback_terminate_on_nan(&cb, 0));
    fo.callbacks = &cb;
    fo.num_callbacks = 1;
    fo.output = bgm_test_capture;
    fo.output_ctx = &out;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &fo));
    ck_assert_str_eq(out.buf, "Batch 2: Invalid loss, terminating training\n");
    ck_assert_int_eq(bgm_history_num_epochs(h), 1);
    loss = bgm_history_values(h, "loss");
    ck_assert_ptr_nonnull(loss);
    ck_assert(isnan(loss[0]));
    assert_weights_equal(m, want);
    ck_assert_int_eq(bgm_model_epochs_completed(m), 1);
    bgm_history_free(h);
    /* Finite data: the callback does nothing. */
    ((float *)bgm_tensor_data(x))[3 * 37 + 1] = 0.25f;
    out.len = 0;
    out.buf[0] = 0;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &fo));
    ck_assert_int_eq(bgm_history_num_epochs(h), 3);
    ck_assert_str_eq(out.buf, "");
    bgm_history_free(h);
    BGM_ASSERT_FAILS(bgm_callback_terminate_on_nan(NULL, 0), BGM_E_INVALID,
                     "bgm_callback_terminate_on_nan");
    BGM_ASSERT_FAILS(bgm_callback_terminate_on_nan(&cb2, 2), BGM_E_INVALID,
                     "raise_error = 2, expected 0 or 1");
    ck_assert_ptr_null(cb2);
    /* raise_error: fit fails at that batch, the update not applied either */
    bgm_model_free(m);
    m = regressor(0.01f, 0, 1);
    ((float *)bgm_tensor_data(x))[3 * 37 + 1] = NAN;
    BGM_ASSERT_OK(bgm_callback_terminate_on_nan(&cb2, 1));
    fo.callbacks = &cb2;
    out.len = 0;
    out.buf[0] = 0;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &fo), BGM_E_NONFINITE,
                     "TerminateOnNaN: NaN or Inf loss encountered at batch 2 of epoch 1 "
                     "(loss nan); training terminated");
    ck_assert_str_eq(out.buf, "");
    assert_weights_equal(m, want);
    bgm_callback_free(cb2);
    free(want);
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

Suite *suite_nonfinite(void)
{
    Suite *s = suite_create("nonfinite");
    TCase *tc = tcase_create("training");
    tcase_add_test(tc, status_string_names_nonfinite);
    tcase_add_test(tc, diverging_rate_stops_fit_with_the_last_finite_weights);
    tcase_add_test(tc, nan_input_stops_fit_at_its_step);
    tcase_add_test(tc, nan_input_leaves_the_moving_statistics_of_the_last_finite_step);
    tcase_add_test(tc, overflowing_gradient_names_its_weight);
    tcase_add_test(tc, train_on_batch_refuses_a_nan_step_and_keeps_the_optimizer_state);
    tcase_add_test(tc, terminate_on_nan_ends_fit_cleanly_after_the_nan_batch);
    suite_add_tcase(s, tc);
    return s;
}
