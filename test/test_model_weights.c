/* Keras' sample_weight and class_weight (the batch loss sum(w_i l_i) /
 * number of values, "sum_over_batch_size") in train_on_batch, test_on_batch,
 * evaluate and fit, checked against sums computed here; class weights equal
 * the same sample weights bit for bit; and custom losses (bgm_loss_fn):
 * training as the built-in loss they rewrite, weighted, per output, saved
 * by name and set again after loading; bad input gets clear errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N 4

static bgm_optimizer *sgd(void)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0.0f, 0));
    return o;
}

/* x (2) -> Dense(units), weights set from the seed (compiled with loss). */
static bgm_model *dense_model(int64_t units, bgm_loss_kind loss, int logits)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(units, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, sgd(), loss, logits, NULL, 0));
    return m;
}

static const float X[N * 2] = {1, 2, -1, 0.5f, 0.25f, -2, 3, 1};
static const float Y2[N * 2] = {1, 0, -1, 2, 0.5f, 0.5f, 3, -2};

/* x (2) -> Dense(u0) and Dense(u1), two outputs, not compiled. */
static bgm_model *two_outputs(int64_t u0, int64_t u1)
{
    bgm_graph *g = NULL;
    bgm_node *in, *outs[2];
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){2}, 1, "x");
    outs[0] = bgm_test_call(bgm_layer_dense(u0, BGM_ACT_LINEAR), &in, 1);
    outs[1] = bgm_test_call(bgm_layer_dense(u1, BGM_ACT_LINEAR), &in, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, outs, 2, 1));
    bgm_graph_free(g);
    return m;
}

static bgm_tensor *x_data(void)
{
    return bgm_test_tensor((int64_t[]){N, 2}, 2, X);
}

START_TEST(sgd_step_with_sample_weights_matches_the_hand_computation)
{
    static const float y[N] = {0.5f, -1, 2, 0};
    static const float sw[N] = {1, 0.5f, 2, 0};
    bgm_model *m = dense_model(1, BGM_LOSS_MSE, 0);
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 1}, 2, y);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, sw);
    float before[3], after[3];
    double loss = 0.0, g[3] = {0, 0, 0}, result;
    int i;
    BGM_ASSERT_OK(bgm_model_set_weights(m, (float[]){0.3f, -0.2f, 0.1f}, 3));
    BGM_ASSERT_OK(bgm_model_get_weights(m, before, 3));
    for (i = 0; i < N; i++) {
        double p = X[2 * i] * (double)before[0] + X[2 * i + 1] * (double)before[1] + before[2];
        double d = p - y[i];
        loss += sw[i] * d * d / N;
        g[0] += sw[i] * 2 * d * X[2 * i] / N;
        g[1] += sw[i] * 2 * d * X[2 * i + 1] / N;
        g[2] += sw[i] * 2 * d / N;
    }
    BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&result, 1, m, (const bgm_tensor *[]){x}, 1,
                                                    (const bgm_tensor *[]){yt}, 1, w, NULL, 0));
    ck_assert_double_eq_tol(result, loss, 1e-6);
    BGM_ASSERT_OK(bgm_model_get_weights(m, after, 3));
    for (i = 0; i < 3; i++)
        ck_assert_double_eq_tol(after[i], before[i] - 0.1 * g[i], 1e-6);
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_tensor_free(w);
    bgm_model_free(m);
}
END_TEST

/* Sum over samples of w_i * l_i for m's MSE on (x, y), in double. */
static double weighted_sse(const bgm_model *m, const float *y, const float *sw, int n,
                           const float *x)
{
    float wts[3];
    double sum = 0.0;
    int i;
    BGM_ASSERT_OK(bgm_model_get_weights(m, wts, 3));
    for (i = 0; i < n; i++) {
        double d = x[2 * i] * (double)wts[0] + x[2 * i + 1] * (double)wts[1] + wts[2] - y[i];
        sum += sw[i] * d * d;
    }
    return sum;
}

START_TEST(evaluate_and_test_on_batch_weigh_every_batch)
{
    static const float y[N] = {1, 2, 3, 4};
    static const float sw[N] = {3, 0, 1, 0.5f};
    bgm_model *m = dense_model(1, BGM_LOSS_MSE, 0);
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 1}, 2, y);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, sw);
    const bgm_tensor *xs[] = {x}, *ys[] = {yt};
    double want = weighted_sse(m, y, sw, N, X) / N, got = 0.0, one = 0.0, plain = 0.0;
    /* Batches of 3 and 1: each batch's sum(w l) / size, averaged over samples. */
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(&got, 1, m, xs, 1, ys, 1, w, 3));
    ck_assert_double_eq_tol(got, want, 1e-6);
    BGM_ASSERT_OK(bgm_model_test_on_batch_weighted(&one, 1, m, xs, 1, ys, 1, w));
    ck_assert_double_eq_tol(one, want, 1e-6);
    /* Without weights, the plain mean. */
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(&got, 1, m, xs, 1, ys, 1, NULL, 3));
    BGM_ASSERT_OK(bgm_model_evaluate(&plain, 1, m, x, yt, 3));
    ck_assert_double_eq(got, plain);
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_tensor_free(w);
    bgm_model_free(m);
}
END_TEST

/* train_on_batch with class weights cw and with the same weights per
 * sample give the same bits (y ids or one-hot rows). */
static void class_weights_as_sample_weights(bgm_loss_kind loss)
{
    static const int32_t ids[N] = {2, 0, 1, 2};
    static const float cw[3] = {0.5f, 2.0f, 1.25f};
    bgm_model *a = dense_model(3, loss, 1), *b = dense_model(3, loss, 1);
    bgm_tensor *x = x_data(), *y = NULL, *w;
    float sw[N], wa[9], wb[9];
    double ra = 0.0, rb = 0.0;
    int i;
    if (loss == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, (int64_t[]){N}, 1));
        memcpy(bgm_tensor_data(y), ids, sizeof ids);
    } else {
        BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){N, 3}, 2));
        for (i = 0; i < N; i++)
            ((float *)bgm_tensor_data(y))[i * 3 + ids[i]] = 1.0f;
    }
    for (i = 0; i < N; i++)
        sw[i] = cw[ids[i]];
    w = bgm_test_tensor((int64_t[]){N}, 1, sw);
    BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&ra, 1, a, (const bgm_tensor *[]){x}, 1,
                                                    (const bgm_tensor *[]){y}, 1, NULL, cw, 3));
    BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&rb, 1, b, (const bgm_tensor *[]){x}, 1,
                                                    (const bgm_tensor *[]){y}, 1, w, NULL, 0));
    ck_assert_double_eq(ra, rb);
    BGM_ASSERT_OK(bgm_model_get_weights(a, wa, 9));
    BGM_ASSERT_OK(bgm_model_get_weights(b, wb, 9));
    ck_assert_mem_eq(wa, wb, sizeof wa);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w);
    bgm_model_free(a);
    bgm_model_free(b);
}

START_TEST(class_weight_equals_the_same_sample_weight)
{
    class_weights_as_sample_weights(BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    class_weights_as_sample_weights(BGM_LOSS_CATEGORICAL_CROSSENTROPY);
}
END_TEST

START_TEST(fit_weighs_batches_and_validation_as_evaluate_does)
{
    static const float y[8] = {1, 2, 3, 4, -1, 0.5f, 2, 1};
    static const float sw[8] = {2, 0, 1, 0.5f, 1, 3, 0.25f, 1};
    static const float x8[16] = {1, 2, -1, 0.5f, 0.25f, -2, 3, 1, 0, 1, 2, 2, -1, -1, 0.5f, 0};
    bgm_model *a = dense_model(1, BGM_LOSS_MSE, 0), *b = dense_model(1, BGM_LOSS_MSE, 0);
    bgm_tensor *x = bgm_test_tensor((int64_t[]){8, 2}, 2, x8);
    bgm_tensor *yt = bgm_test_tensor((int64_t[]){8, 1}, 2, y);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){8}, 1, sw);
    bgm_tensor *x6 = NULL, *y6 = NULL, *w6 = NULL, *xv = NULL, *yv = NULL, *wv = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    float wa[3], wb[3];
    double rb, val, val_loss;
    BGM_ASSERT_OK(bgm_tensor_slice(&x6, x, 0, 6));
    BGM_ASSERT_OK(bgm_tensor_slice(&y6, yt, 0, 6));
    BGM_ASSERT_OK(bgm_tensor_slice(&w6, w, 0, 6));
    BGM_ASSERT_OK(bgm_tensor_slice(&xv, x, 6, 8));
    BGM_ASSERT_OK(bgm_tensor_slice(&yv, yt, 6, 8));
    BGM_ASSERT_OK(bgm_tensor_slice(&wv, w, 6, 8));
    /* One epoch of one batch of the first 6 samples (validation_split 0.25
     * holds out the last 2 with their weights) = one weighted step. */
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.batch_size = 6;
    o.shuffle = 0;
    o.verbose = 0;
    o.validation_split = 0.25;
    o.sample_weight = w;
    BGM_ASSERT_OK(bgm_model_fit(&h, a, x, yt, &o));
    BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&rb, 1, b, (const bgm_tensor *[]){x6}, 1,
                                                    (const bgm_tensor *[]){y6}, 1, w6, NULL, 0));
    BGM_ASSERT_OK(bgm_model_get_weights(a, wa, 3));
    BGM_ASSERT_OK(bgm_model_get_weights(b, wb, 3));
    ck_assert_mem_eq(wa, wb, sizeof wa);
    ck_assert_double_eq(bgm_history_values(h, "loss")[0], rb);
    ck_assert_double_eq_tol(bgm_history_values(h, "val_loss")[0],
                            weighted_sse(b, y + 6, sw + 6, 2, x8 + 12) / 2, 1e-6);
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(&val, 1, b, (const bgm_tensor *[]){xv}, 1,
                                              (const bgm_tensor *[]){yv}, 1, wv, 0));
    ck_assert_double_eq(bgm_history_values(h, "val_loss")[0], val);
    bgm_history_free(h);
    /* Explicit validation data with its own weights. */
    o.validation_split = 0;
    o.sample_weight = w6;
    o.validation_x = xv;
    o.validation_y = yv;
    o.validation_sample_weight = wv;
    BGM_ASSERT_OK(bgm_model_fit(&h, a, x6, y6, &o));
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(&val, 1, a, (const bgm_tensor *[]){xv}, 1,
                                              (const bgm_tensor *[]){yv}, 1, wv, 0));
    ck_assert_double_eq(bgm_history_values(h, "val_loss")[0], val);
    bgm_history_free(h);
    /* A validation dataset takes validation_sample_weight too. */
    {
        bgm_dataset *train = NULL, *vds = NULL;
        BGM_ASSERT_OK(bgm_dataset_from_tensors(&train, x6, y6));
        BGM_ASSERT_OK(bgm_dataset_from_tensors(&vds, xv, yv));
        o.validation_x = o.validation_y = NULL;
        BGM_ASSERT_OK(bgm_model_fit_dataset(&h, a, train, vds, &o));
        BGM_ASSERT_OK(bgm_model_evaluate_weighted(&val_loss, 1, a,
                                                  (const bgm_tensor *[]){xv}, 1,
                                                  (const bgm_tensor *[]){yv}, 1, wv, 0));
        ck_assert_double_eq(bgm_history_values(h, "val_loss")[0], val_loss);
        bgm_history_free(h);
        bgm_dataset_free(train);
        bgm_dataset_free(vds);
    }
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_tensor_free(w);
    bgm_tensor_free(x6);
    bgm_tensor_free(y6);
    bgm_tensor_free(w6);
    bgm_tensor_free(xv);
    bgm_tensor_free(yv);
    bgm_tensor_free(wv);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(compute_loss_takes_sample_weights_as_test_on_batch)
{
    static const float sw[N] = {2, 0.5f, 0, 1};
    bgm_model *m = dense_model(2, BGM_LOSS_MSE, 0);
    bgm_tensor *x = x_data(), *y = bgm_test_tensor((int64_t[]){N, 2}, 2, Y2);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, sw), *pred = NULL, *loss = NULL;
    bgm_tensor *w3 = bgm_test_tensor((int64_t[]){3}, 1, sw);
    bgm_tape *tape = NULL;
    double want;
    BGM_ASSERT_OK(bgm_model_test_on_batch_weighted(&want, 1, m, (const bgm_tensor *[]){x}, 1,
                                                   (const bgm_tensor *[]){y}, 1, w));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&pred, m, tape, x, 0));
    BGM_ASSERT_OK(bgm_model_compute_loss_weighted(&loss, m, tape, (const bgm_tensor *[]){y}, 1,
                                                  (const bgm_tensor *[]){pred}, 1, w));
    ck_assert_double_eq(*(float *)bgm_tensor_data(loss), want);
    BGM_ASSERT_FAILS(bgm_model_compute_loss_weighted(&loss, m, tape,
                                                     (const bgm_tensor *[]){y}, 1,
                                                     (const bgm_tensor *[]){pred}, 1, w3),
                     BGM_E_SHAPE, "bgm_model_compute_loss_weighted: sample_weight has shape "
                     "(3,)");
    ck_assert_ptr_null(loss);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w);
    bgm_tensor_free(w3);
    bgm_model_free(m);
}
END_TEST

START_TEST(per_step_weights_weigh_each_step_of_a_sequence_output)
{
    enum { T = 3, C = 4 };
    static const float sw[2 * T] = {1, 1, 0, 2, 0.5f, 0};
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, T, 2}, 3, 5), *y = NULL, *p = NULL;
    bgm_tensor *w = bgm_test_tensor((int64_t[]){2, T}, 2, sw);
    const float *pv;
    int32_t *ids;
    double want = 0.0, got = 0.0;
    int r, k;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){T, 2}, 2, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(C, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, sgd(), BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    NULL, 0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, (int64_t[]){2, T}, 2));
    ids = bgm_tensor_data(y);
    for (r = 0; r < 2 * T; r++)
        ids[r] = (r * 3 + 1) % C;
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
    pv = bgm_tensor_data(p);
    for (r = 0; r < 2 * T; r++) {
        double mx = pv[r * C], lse = 0.0;
        for (k = 1; k < C; k++)
            mx = fmax(mx, pv[r * C + k]);
        for (k = 0; k < C; k++)
            lse += exp(pv[r * C + k] - mx);
        want += sw[r] * (mx + log(lse) - pv[r * C + ids[r]]);
    }
    want /= 2 * T;
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(&got, 1, m, (const bgm_tensor *[]){x}, 1,
                                              (const bgm_tensor *[]){y}, 1, w, 0));
    ck_assert_double_eq_tol(got, want, 1e-6);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(p);
    bgm_tensor_free(w);
    bgm_model_free(m);
}
END_TEST

START_TEST(bad_weights_get_clear_errors)
{
    bgm_model *m = dense_model(1, BGM_LOSS_BINARY_CROSSENTROPY, 1);
    bgm_model *c3 = dense_model(3, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1);
    bgm_tensor *x = x_data(), *y = bgm_test_tensor((int64_t[]){N, 1}, 2, (float[]){0, 2, 1, 0});
    bgm_tensor *w3 = bgm_test_tensor((int64_t[]){3}, 1, (float[]){1, 1, 1});
    bgm_tensor *wnan = bgm_test_tensor((int64_t[]){N}, 1, (float[]){1, NAN, 1, 1});
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, (float[]){1, 1, 1, 1}), *ids = NULL;
    const bgm_tensor *xs[] = {x}, *ys[] = {y};
    float cw[3] = {1, 2, 3}, before[3], after[3];
    bgm_fit_options o;
    double r;
    BGM_ASSERT_OK(bgm_model_get_weights(m, before, 3));
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, m, xs, 1, ys, 1, w3, NULL, 0),
                     BGM_E_SHAPE, "sample_weight has shape (3,), expected one weight per "
                     "sample, (4)");
    BGM_ASSERT_FAILS(bgm_model_evaluate_weighted(&r, 1, m, xs, 1, ys, 1, wnan, 0),
                     BGM_E_INVALID, "sample_weight holds nan at flat index 1");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, m, xs, 1, ys, 1, w, cw, 2),
                     BGM_E_INVALID, "not both");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, m, xs, 1, ys, 1, NULL, cw, 3),
                     BGM_E_INVALID, "num_class_weights = 3, the output has 2 classes");
    /* Targets rounded to classes: 2.0 is no class of a one-column output. */
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, m, xs, 1, ys, 1, NULL, cw, 2),
                     BGM_E_RANGE, "sample 1 is of class 2, class_weight holds classes 0 to 1");
    BGM_ASSERT_OK(bgm_model_get_weights(m, after, 3));
    ck_assert_mem_eq(before, after, sizeof before); /* nothing trained */
    BGM_ASSERT_OK(bgm_tensor_zeros(&ids, BGM_INT32, (int64_t[]){N}, 1));
    ((int32_t *)bgm_tensor_data(ids))[3] = 5;
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, c3, xs, 1,
                                                       (const bgm_tensor *[]){ids}, 1, NULL,
                                                       cw, 3),
                     BGM_E_RANGE, "sample 3 is of class 5");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, c3, xs, 1,
                                                       (const bgm_tensor *[]){ids}, 1, NULL,
                                                       NULL, 2),
                     BGM_E_INVALID, "num_class_weights = 2 with class_weight NULL");
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.verbose = 0;
    o.validation_sample_weight = w;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &o), BGM_E_INVALID,
                     "validation_sample_weight without validation data");
    o.validation_sample_weight = NULL;
    o.sample_weight = w3;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &o), BGM_E_SHAPE,
                     "bgm_model_fit: sample_weight has shape (3,)");
    o.sample_weight = NULL;
    o.validation_x = x;
    o.validation_y = y;
    o.validation_sample_weight = wnan;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &o), BGM_E_INVALID,
                     "validation_sample_weight holds nan");
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w3);
    bgm_tensor_free(wnan);
    bgm_tensor_free(w);
    bgm_tensor_free(ids);
    bgm_model_free(m);
    bgm_model_free(c3);
}
END_TEST

START_TEST(class_weight_needs_a_model_of_one_output)
{
    bgm_model *m = two_outputs(1, 1);
    bgm_tensor *x = x_data(), *y = bgm_test_tensor((int64_t[]){N, 1}, 2, (float[]){0, 1, 1, 0});
    double r[3];
    BGM_ASSERT_OK(bgm_model_compile(m, sgd(), BGM_LOSS_BINARY_CROSSENTROPY, 1, NULL, 0));
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(r, 3, m, (const bgm_tensor *[]){x}, 1,
                                                       (const bgm_tensor *[]){y, y}, 2, NULL,
                                                       (float[]){1, 2}, 2),
                     BGM_E_INVALID, "class_weight is only supported for models of one output");
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- custom losses ------------------------------------------------------------- */

/* MSE as Keras writes it: mean over the last axis of (p - t)^2, per sample. */
static bgm_status my_mse(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                         const bgm_tensor *y_pred, void *ctx)
{
    bgm_tensor *d = NULL, *sq = NULL;
    int *calls = ctx;
    bgm_status s = bgm_op_sub(&d, tape, y_pred, y_true);
    if (calls)
        (*calls)++;
    if (s == BGM_OK)
        s = bgm_op_mul(&sq, tape, d, d);
    if (s == BGM_OK)
        s = bgm_op_mean(out, tape, sq, -1, 0);
    return s;
}

/* Returns the whole (N, units) square, not a value per sample. */
static bgm_status scalar_mse(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                             const bgm_tensor *y_pred, void *ctx)
{
    return bgm_op_mse_loss(out, tape, y_pred, y_true);
}

/* Fails as an op does: a shape error from a bad matmul. */
static bgm_status failing(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                          const bgm_tensor *y_pred, void *ctx)
{
    return bgm_op_matmul(out, tape, y_pred, y_pred);
}

/* Values of the wrong shape: one per column. */
static bgm_status wrong_shape(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                              const bgm_tensor *y_pred, void *ctx)
{
    return bgm_op_mean(out, tape, y_pred, 0, 0);
}

static bgm_model *custom_model(bgm_loss_fn fn, void *ctx)
{
    bgm_model *m = dense_model(2, BGM_LOSS_CUSTOM, 0);
    BGM_ASSERT_OK(bgm_model_set_loss_fn(m, 0, "my_mse", fn, ctx));
    return m;
}

START_TEST(custom_loss_trains_as_the_builtin_loss_it_rewrites)
{
    static const float sw[N] = {1, 2, 0, 0.5f};
    bgm_model *a = dense_model(2, BGM_LOSS_MSE, 0), *b = NULL;
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 2}, 2, Y2);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, sw);
    const bgm_tensor *xs[] = {x}, *ys[] = {yt};
    float wa[6], wb[6];
    double ra, rb;
    int calls = 0, i, pass;
    b = custom_model(my_mse, &calls);
    ck_assert_str_eq(bgm_model_loss_name(b, 0), "my_mse");
    ck_assert_ptr_null(bgm_model_loss_name(a, 0));
    for (pass = 0; pass < 2; pass++) {
        const bgm_tensor *sample = pass ? w : NULL;
        for (i = 0; i < 3; i++) {
            BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&ra, 1, a, xs, 1, ys, 1, sample,
                                                            NULL, 0));
            BGM_ASSERT_OK(bgm_model_train_on_batch_weighted(&rb, 1, b, xs, 1, ys, 1, sample,
                                                            NULL, 0));
            ck_assert_double_eq_tol(ra, rb, 1e-6 * (1 + fabs(ra)));
        }
        BGM_ASSERT_OK(bgm_model_get_weights(a, wa, 6));
        BGM_ASSERT_OK(bgm_model_get_weights(b, wb, 6));
        for (i = 0; i < 6; i++)
            ck_assert_float_eq_tol(wa[i], wb[i], 1e-6);
        BGM_ASSERT_OK(bgm_model_evaluate_weighted(&ra, 1, a, xs, 1, ys, 1, sample, 3));
        BGM_ASSERT_OK(bgm_model_evaluate_weighted(&rb, 1, b, xs, 1, ys, 1, sample, 3));
        ck_assert_double_eq_tol(ra, rb, 1e-6 * (1 + fabs(ra)));
    }
    ck_assert_int_eq(calls, 10); /* 3 steps and 2 evaluation batches, twice */
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_tensor_free(w);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(custom_loss_per_output_with_compute_loss)
{
    bgm_model *m = two_outputs(2, 1);
    bgm_compile_options co;
    bgm_tape *tape = NULL;
    bgm_tensor *x = x_data(), *y0 = bgm_test_randn((int64_t[]){N, 2}, 2, 4);
    bgm_tensor *y1 = bgm_test_randn((int64_t[]){N, 1}, 2, 5), *preds[2], *total = NULL;
    bgm_tensor *l0 = NULL, *l1 = NULL;
    double r[3];
    BGM_ASSERT_OK(bgm_compile_options_init(&co, sizeof co));
    co.num_outputs = 2;
    co.output_losses = (bgm_loss_kind[]){BGM_LOSS_CUSTOM, BGM_LOSS_MAE};
    co.loss_weights = (float[]){0.5f, 2.0f};
    BGM_ASSERT_OK(bgm_model_compile_v2(m, sgd(), &co));
    ck_assert_str_eq(bgm_model_output_name(m, 0), "dense");
    BGM_ASSERT_FAILS(bgm_model_evaluate_multi(r, 3, m, (const bgm_tensor *[]){x}, 1,
                                              (const bgm_tensor *[]){y0, y1}, 2, 0),
                     BGM_E_STATE, "custom loss '' (output 'dense') is not set");
    BGM_ASSERT_FAILS(bgm_model_set_loss_fn(m, 2, "my_mse", my_mse, NULL), BGM_E_INVALID,
                     "output = 2, the model has 2 outputs");
    BGM_ASSERT_OK(bgm_model_set_loss_fn(m, 0, "my_mse", my_mse, NULL));
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r, 3, m, (const bgm_tensor *[]){x}, 1,
                                           (const bgm_tensor *[]){y0, y1}, 2, 0));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(preds, 2, m, tape, (const bgm_tensor *[]){x}, 1, 0));
    BGM_ASSERT_OK(bgm_model_compute_loss_multi(&total, m, tape,
                                               (const bgm_tensor *[]){y0, y1}, 2,
                                               (const bgm_tensor *[]){preds[0], preds[1]}, 2));
    BGM_ASSERT_OK(bgm_op_mse_loss(&l0, tape, preds[0], y0));
    BGM_ASSERT_OK(bgm_op_mae_loss(&l1, tape, preds[1], y1));
    ck_assert_double_eq_tol(r[1], *(float *)bgm_tensor_data(l0), 1e-6);
    ck_assert_double_eq_tol(r[2], *(float *)bgm_tensor_data(l1), 1e-6);
    ck_assert_double_eq_tol(*(float *)bgm_tensor_data(total),
                            0.5 * *(float *)bgm_tensor_data(l0) +
                                2.0 * *(float *)bgm_tensor_data(l1), 1e-6);
    ck_assert_double_eq_tol(r[0], *(float *)bgm_tensor_data(total), 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(y0);
    bgm_tensor_free(y1);
    bgm_model_free(m);
}
END_TEST

START_TEST(custom_loss_is_saved_by_name_and_set_again_after_loading)
{
    bgm_model *a = custom_model(my_mse, NULL), *b = NULL;
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 2}, 2, Y2);
    double ra, rb;
    char path[512];
    bgm_test_tmpdir_create("lossfn");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_train_on_batch(&ra, 1, a, x, yt));
    BGM_ASSERT_OK(bgm_model_save(a, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&b, path));
    ck_assert_str_eq(bgm_model_loss_name(b, 0), "my_mse");
    BGM_ASSERT_FAILS(bgm_model_evaluate(&rb, 1, b, x, yt, 0), BGM_E_STATE,
                     "the custom loss 'my_mse' is not set (a loaded model does not hold "
                     "code): give it again with bgm_model_set_loss_fn");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(&rb, 1, b, x, yt), BGM_E_STATE, "'my_mse'");
    BGM_ASSERT_OK(bgm_model_set_loss_fn(b, 0, "my_mse", my_mse, NULL));
    BGM_ASSERT_OK(bgm_model_evaluate(&ra, 1, a, x, yt, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(&rb, 1, b, x, yt, 0));
    ck_assert_double_eq(ra, rb);
    /* Training resumes bit for bit. */
    BGM_ASSERT_OK(bgm_model_train_on_batch(&ra, 1, a, x, yt));
    BGM_ASSERT_OK(bgm_model_train_on_batch(&rb, 1, b, x, yt));
    ck_assert_double_eq(ra, rb);
    bgm_test_tmpdir_remove();
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(bad_custom_losses_get_clear_errors)
{
    bgm_model *m = NULL, *plain = NULL;
    bgm_optimizer *o = sgd();
    bgm_tensor *x = x_data(), *y = bgm_test_randn((int64_t[]){N, 2}, 2, 3);
    bgm_tensor *w = bgm_test_tensor((int64_t[]){N}, 1, (float[]){1, 1, 1, 1});
    const bgm_tensor *xs[] = {x}, *ys[] = {y};
    double r;
    BGM_ASSERT_OK(bgm_model_create(&plain, (int64_t[]){2}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_set_loss_fn(plain, 0, "f", my_mse, NULL), BGM_E_STATE,
                     "compile the model first");
    BGM_ASSERT_FAILS(bgm_model_compile(plain, o, BGM_LOSS_CUSTOM, 1, NULL, 0), BGM_E_INVALID,
                     "from_logits applies to the cross-entropy losses, not to custom loss");
    BGM_ASSERT_FAILS(bgm_model_compile(plain, sgd(), (bgm_loss_kind)7, 0, NULL, 0),
                     BGM_E_INVALID, "unknown loss 7");
    m = dense_model(2, BGM_LOSS_MSE, 0);
    BGM_ASSERT_FAILS(bgm_model_set_loss_fn(m, 0, "", my_mse, NULL), BGM_E_INVALID,
                     "must have 1 to 63 characters");
    BGM_ASSERT_FAILS(bgm_model_set_loss_fn(m, 0, "f", NULL, NULL), BGM_E_INVALID, "'fn'");
    BGM_ASSERT_OK(bgm_model_set_loss_fn(m, 0, "scalar_mse", scalar_mse, NULL));
    BGM_ASSERT_OK(bgm_model_train_on_batch(&r, 1, m, x, y)); /* a scalar without weights */
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_weighted(&r, 1, m, xs, 1, ys, 1, w, NULL, 0),
                     BGM_E_INVALID, "the custom loss 'scalar_mse' returned a scalar; with "
                     "sample weights it must return one value per sample, (4)");
    BGM_ASSERT_OK(bgm_model_set_loss_fn(m, 0, "failing", failing, NULL));
    BGM_ASSERT_FAILS(bgm_model_evaluate(&r, 1, m, x, y, 0), BGM_E_SHAPE,
                     "bgm_model_evaluate: the custom loss 'failing' failed: bgm_op_matmul");
    BGM_ASSERT_OK(bgm_model_set_loss_fn(m, 0, "wrong_shape", wrong_shape, NULL));
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(&r, 1, m, x, y), BGM_E_SHAPE,
                     "the custom loss 'wrong_shape' returned shape (2,); expected a scalar "
                     "or one value per sample, (4, ...)");
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w);
    bgm_model_free(m);
    bgm_model_free(plain);
}
END_TEST

/* ---- custom metrics ------------------------------------------------------------ */

/* Per-sample mean absolute error: the built-in MAE's values. */
static bgm_status my_mae(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                         const bgm_tensor *y_pred, void *ctx)
{
    bgm_tensor *d = NULL, *nd = NULL, *a = NULL;
    bgm_status s = bgm_op_sub(&d, tape, y_pred, y_true);
    if (s == BGM_OK)
        s = bgm_op_neg(&nd, tape, d);
    if (s == BGM_OK)
        s = bgm_op_maximum(&a, tape, d, nd);
    if (s == BGM_OK)
        s = bgm_op_mean(out, tape, a, -1, 0);
    return s;
}

/* One value per batch: the batch's largest prediction. */
static bgm_status batch_max(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                            const bgm_tensor *y_pred, void *ctx)
{
    return bgm_op_max_all(out, tape, y_pred);
}

START_TEST(custom_metrics_average_over_samples_as_keras)
{
    bgm_model *m = dense_model(2, BGM_LOSS_MSE, 0);
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 2}, 2, Y2), *p = NULL;
    const float *pv;
    double r[4], want_max = 0.0, b0 = -INFINITY, b1 = -INFINITY;
    int i;
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_MAE, NULL));
    BGM_ASSERT_OK(bgm_model_add_metric_fn(m, -1, "my_mae", my_mae, NULL));
    BGM_ASSERT_OK(bgm_model_add_metric_fn(m, 0, "batch_max", batch_max, NULL));
    ck_assert_int_eq(bgm_model_num_metrics(m), 4);
    ck_assert_str_eq(bgm_model_metric_name(m, 2), "my_mae");
    ck_assert_str_eq(bgm_model_metric_fn_name(m, 2), "my_mae");
    ck_assert_ptr_null(bgm_model_metric_fn_name(m, 1));
    ck_assert_ptr_null(bgm_model_metric_fn_name(m, 0));
    /* Batches of 3 and 1: per-sample values average over the 4 samples; a
     * scalar counts once per batch. */
    BGM_ASSERT_OK(bgm_model_evaluate(r, 4, m, x, yt, 3));
    ck_assert_double_eq_tol(r[2], r[1], 1e-6);
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
    pv = bgm_tensor_data(p);
    for (i = 0; i < 2 * N; i++) {
        if (i < 6)
            b0 = fmax(b0, pv[i]);
        else
            b1 = fmax(b1, pv[i]);
    }
    want_max = (b0 + b1) / 2;
    ck_assert_double_eq_tol(r[3], want_max, 1e-6);
    BGM_ASSERT_OK(bgm_model_set_metric_name(m, 2, "mean_abs"));
    ck_assert_str_eq(bgm_model_metric_name(m, 2), "mean_abs");
    BGM_ASSERT_FAILS(bgm_model_set_metric_name(m, 2, "mae"), BGM_E_INVALID,
                     "value 1 is called 'mae' already");
    BGM_ASSERT_FAILS(bgm_model_set_metric_name(m, 0, "x"), BGM_E_INVALID,
                     "value 0 is not a metric (the metrics are values 1 to 3)");
    BGM_ASSERT_FAILS(bgm_model_add_metric_fn(m, 1, "f", my_mae, NULL), BGM_E_INVALID,
                     "output = 1, the model has 1 output (-1: every output)");
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_tensor_free(p);
    bgm_model_free(m);
}
END_TEST

START_TEST(custom_metrics_are_saved_by_name_and_set_again_after_loading)
{
    bgm_model *a = dense_model(2, BGM_LOSS_MSE, 0), *b = NULL;
    bgm_tensor *x = x_data(), *yt = bgm_test_tensor((int64_t[]){N, 2}, 2, Y2);
    double ra[3], rb[3];
    char path[512];
    BGM_ASSERT_OK(bgm_model_add_metric(a, BGM_METRIC_MAE, NULL));
    BGM_ASSERT_OK(bgm_model_add_metric_fn(a, 0, "my_mae", my_mae, NULL));
    BGM_ASSERT_OK(bgm_model_set_metric_name(a, 1, "mean_absolute_error"));
    bgm_test_tmpdir_create("metricfn");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_save(a, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&b, path));
    ck_assert_str_eq(bgm_model_metric_name(b, 1), "mean_absolute_error");
    ck_assert_str_eq(bgm_model_metric_name(b, 2), "my_mae");
    ck_assert_str_eq(bgm_model_metric_fn_name(b, 2), "my_mae");
    BGM_ASSERT_FAILS(bgm_model_evaluate(rb, 3, b, x, yt, 0), BGM_E_STATE,
                     "the custom metric 'my_mae' is not set (a loaded model does not hold "
                     "code): give it again with bgm_model_set_metric_fn");
    BGM_ASSERT_FAILS(bgm_model_set_metric_fn(b, "my_ma", my_mae, NULL), BGM_E_INVALID,
                     "no custom metric 'my_ma' (it has 'my_mae')");
    BGM_ASSERT_OK(bgm_model_set_metric_fn(b, "my_mae", my_mae, NULL));
    BGM_ASSERT_OK(bgm_model_evaluate(ra, 3, a, x, yt, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(rb, 3, b, x, yt, 0));
    ck_assert_mem_eq(ra, rb, sizeof ra);
    bgm_test_tmpdir_remove();
    bgm_tensor_free(x);
    bgm_tensor_free(yt);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

Suite *suite_model_weights(void)
{
    Suite *s = suite_create("model_weights");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sgd_step_with_sample_weights_matches_the_hand_computation);
    tcase_add_test(tc, evaluate_and_test_on_batch_weigh_every_batch);
    tcase_add_test(tc, class_weight_equals_the_same_sample_weight);
    tcase_add_test(tc, fit_weighs_batches_and_validation_as_evaluate_does);
    tcase_add_test(tc, compute_loss_takes_sample_weights_as_test_on_batch);
    tcase_add_test(tc, per_step_weights_weigh_each_step_of_a_sequence_output);
    tcase_add_test(tc, bad_weights_get_clear_errors);
    tcase_add_test(tc, class_weight_needs_a_model_of_one_output);
    tcase_add_test(tc, custom_loss_trains_as_the_builtin_loss_it_rewrites);
    tcase_add_test(tc, custom_loss_per_output_with_compute_loss);
    tcase_add_test(tc, custom_loss_is_saved_by_name_and_set_again_after_loading);
    tcase_add_test(tc, bad_custom_losses_get_clear_errors);
    tcase_add_test(tc, custom_metrics_average_over_samples_as_keras);
    tcase_add_test(tc, custom_metrics_are_saved_by_name_and_set_again_after_loading);
    suite_add_tcase(s, tc);
    return s;
}
