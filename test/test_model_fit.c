/* bgm_model_fit / evaluate: learning, histories, progress lines, callbacks,
 * cancelling, determinism and bad calls. */
#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* Two Gaussian blobs in 2-D around (-1.5, -1.5) and (1.5, 1.5): n samples,
 * labels alternating 0, 1. */
static void blobs(bgm_tensor **x, bgm_tensor **y, int64_t n, uint64_t seed)
{
    bgm_rng *rng = NULL;
    float *xv;
    int32_t *yv;
    int64_t i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    BGM_ASSERT_OK(bgm_tensor_randn(x, rng, (int64_t[]){n, 2}, 2, 0.0f, 1.0f));
    BGM_ASSERT_OK(bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1));
    xv = bgm_tensor_data(*x);
    yv = bgm_tensor_data(*y);
    for (i = 0; i < n; i++) {
        yv[i] = (int32_t)(i % 2);
        xv[2 * i] += yv[i] ? 1.5f : -1.5f;
        xv[2 * i + 1] += yv[i] ? 1.5f : -1.5f;
    }
    bgm_rng_free(rng);
}

/* 2 -> 16 relu -> 2 logits, Adam, sparse cross-entropy, accuracy. */
static bgm_model *classifier(uint64_t seed, float lr)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(16, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1));
    return m;
}

static bgm_fit_options quiet(int epochs)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.verbose = 0;
    return o;
}

/* ---- learning and histories ------------------------------------------------ */

START_TEST(fit_separates_two_blobs_and_records_every_epoch)
{
    bgm_model *m = classifier(42, 0.01f);
    bgm_tensor *x, *y, *xt, *yt;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(8);
    const double *loss, *acc, *val_acc;
    double r[2];
    int e;
    blobs(&x, &y, 512, 1);
    blobs(&xt, &yt, 256, 2);
    o.validation_split = 0.25;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 8);
    ck_assert_int_eq(bgm_history_epoch(h, 7), 7);
    ck_assert_int_eq(bgm_history_num_keys(h), 4);
    ck_assert_str_eq(bgm_history_key(h, 0), "loss");
    ck_assert_str_eq(bgm_history_key(h, 1), "accuracy");
    ck_assert_str_eq(bgm_history_key(h, 2), "val_loss");
    ck_assert_str_eq(bgm_history_key(h, 3), "val_accuracy");
    ck_assert_ptr_null(bgm_history_values(h, "learning_rate"));
    loss = bgm_history_values(h, "loss");
    acc = bgm_history_values(h, "accuracy");
    val_acc = bgm_history_values(h, "val_accuracy");
    ck_assert(loss[7] < loss[0]);
    for (e = 0; e < 8; e++)
        ck_assert(acc[e] >= 0.0 && acc[e] <= 1.0 && isfinite(loss[e]));
    /* The blobs are 4.2 standard deviations apart: about 98% are separable. */
    ck_assert_msg(val_acc[7] >= 0.95, "val_accuracy %g", val_acc[7]);
    BGM_ASSERT_OK(bgm_model_evaluate(r, 2, m, xt, yt, 64));
    ck_assert_msg(r[1] >= 0.95 && r[0] < 0.2, "test loss %g accuracy %g", r[0], r[1]);
    bgm_history_free(h);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(xt);
    bgm_tensor_free(yt);
    bgm_model_free(m);
}
END_TEST

START_TEST(precision_recall_and_auc_are_reported_on_probabilities)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_tensor *x, *y;
    bgm_history *h = NULL;
    bgm_fit_options fo = quiet(4);
    const bgm_metric_kind kinds[] = {BGM_METRIC_ACCURACY, BGM_METRIC_PRECISION,
                                     BGM_METRIC_RECALL, BGM_METRIC_AUC};
    const char *names[] = {"loss", "accuracy", "precision", "recall", "auc"};
    double r[5];
    int i;
    blobs(&x, &y, 256, 1);
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.05f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    kinds, 4));
    fo.validation_split = 0.25;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &fo));
    ck_assert_int_eq(bgm_history_num_keys(h), 10);
    ck_assert_str_eq(bgm_history_key(h, 9), "val_auc");
    BGM_ASSERT_OK(bgm_model_evaluate(r, 5, m, x, y, 0));
    for (i = 0; i < 5; i++) {
        ck_assert_str_eq(bgm_model_metric_name(m, i), names[i]);
        ck_assert_msg(i == 0 ? r[i] < 0.3 : r[i] > 0.9 && r[i] <= 1.0, "%s = %g", names[i],
                      r[i]);
    }
    bgm_history_free(h);
    bgm_model_free(m);
    /* AUC needs a binary output */
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_SOFTMAX)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.05f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_FAILS(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0,
                                       &kinds[3], 1),
                     BGM_E_INVALID, "AUC needs a binary output of 1 or 2 columns, the model "
                     "outputs 3");
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.05f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0,
                                    &kinds[1], 2)); /* macro precision / recall over 3 classes */
    BGM_ASSERT_OK(bgm_model_evaluate(r, 3, m, x, y, 0));
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(binary_crossentropy_with_one_logit_and_float_labels)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_tensor *x, *y, *yf = NULL;
    bgm_fit_options fo = quiet(5);
    const bgm_metric_kind kinds[] = {BGM_METRIC_ACCURACY, BGM_METRIC_PRECISION,
                                     BGM_METRIC_AUC};
    double r[4];
    int i;
    blobs(&x, &y, 256, 1);
    BGM_ASSERT_OK(bgm_tensor_zeros(&yf, BGM_FLOAT32, (int64_t[]){256}, 1)); /* (N) for (N, 1) */
    for (i = 0; i < 256; i++)
        ((float *)bgm_tensor_data(yf))[i] = (float)((int32_t *)bgm_tensor_data(y))[i];
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_rmsprop(&o, 0.05f, BGM_RMSPROP_RHO, 0.0f,
                                        BGM_RMSPROP_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_BINARY_CROSSENTROPY, 1, kinds, 3));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, yf, &fo));
    BGM_ASSERT_OK(bgm_model_evaluate(r, 4, m, x, yf, 0));
    ck_assert_msg(r[0] < 0.3 && r[1] > 0.9 && r[2] > 0.9 && r[3] > 0.95,
                  "loss %g accuracy %g precision %g auc %g", r[0], r[1], r[2], r[3]);
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &fo), BGM_E_DTYPE,
                     "binary cross-entropy needs float32 targets, y is int32");
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(yf);
}
END_TEST

START_TEST(fit_on_a_dataset_with_validation_data)
{
    bgm_model *m = classifier(5, 0.01f);
    bgm_tensor *x, *y, *xt, *yt;
    bgm_dataset *train = NULL, *val = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(3);
    blobs(&x, &y, 256, 3);
    blobs(&xt, &yt, 64, 4);
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&train, x, y));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&val, xt, yt));
    o.initial_epoch = 1;
    BGM_ASSERT_OK(bgm_model_fit_dataset(&h, m, train, val, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 2);
    ck_assert_int_eq(bgm_history_epoch(h, 0), 1);
    ck_assert_ptr_nonnull(bgm_history_values(h, "val_loss"));
    bgm_history_free(h);
    bgm_dataset_free(train);
    bgm_dataset_free(val);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(xt);
    bgm_tensor_free(yt);
    bgm_model_free(m);
}
END_TEST

START_TEST(regression_with_mse_and_targets_of_one_column)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_rng *rng = NULL;
    bgm_fit_options fo = quiet(60);
    double r[2];
    float *xv, *yv;
    int i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, 8));
    BGM_ASSERT_OK(bgm_tensor_rand_uniform(&x, rng, (int64_t[]){128, 3}, 2, -1, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){128}, 1)); /* (N) for output (1) */
    xv = bgm_tensor_data(x);
    yv = bgm_tensor_data(y);
    for (i = 0; i < 128; i++)
        yv[i] = 2.0f * xv[3 * i] - xv[3 * i + 1] + 0.5f * xv[3 * i + 2] + 1.0f;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0,
                                    (bgm_metric_kind[]){BGM_METRIC_MAE}, 1));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    BGM_ASSERT_OK(bgm_model_evaluate(r, 2, m, x, y, 0));
    ck_assert_msg(r[0] < 1e-4 && r[1] < 1e-2, "mse %g mae %g", r[0], r[1]);
    ck_assert(fabsf(((float *)bgm_tensor_data(bgm_model_weight(m, 1)))[0] - 1.0f) < 1e-2f);
    bgm_rng_free(rng);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* One input feature: x (N, 1) is N rows of one feature (a Dense of 1 input
 * once read it as (N, 1, 1) and gave predictions of rank 3). */
START_TEST(regression_on_one_feature_learns_the_line)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_tensor *x = NULL, *y = NULL, *p = NULL;
    bgm_fit_options fo = quiet(80);
    float *xv, *yv, *w;
    int i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, (int64_t[]){64, 1}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){64, 1}, 2));
    xv = bgm_tensor_data(x);
    yv = bgm_tensor_data(y);
    for (i = 0; i < 64; i++) {
        xv[i] = (float)i / 32.0f - 1.0f;
        yv[i] = 3.0f * xv[i] - 0.5f;
    }
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){1}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.2f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    w = bgm_tensor_data(bgm_model_weight(m, 0));
    ck_assert_msg(fabsf(w[0] - 3.0f) < 1e-2f, "slope %g", (double)w[0]);
    w = bgm_tensor_data(bgm_model_weight(m, 1));
    ck_assert_msg(fabsf(w[0] + 0.5f) < 1e-2f, "intercept %g", (double)w[0]);
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 16));
    ck_assert_int_eq(bgm_tensor_ndim(p), 2);
    ck_assert_int_eq(bgm_tensor_dim(p, 0), 64);
    ck_assert_int_eq(bgm_tensor_dim(p, 1), 1);
    bgm_tensor_free(p);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(same_seed_trains_to_the_same_weight_bits)
{
    bgm_model *a = classifier(9, 0.01f), *b = classifier(9, 0.01f);
    bgm_tensor *x, *y;
    bgm_fit_options o = quiet(2);
    int64_t n = bgm_model_num_params(a);
    float *wa = malloc((size_t)n * sizeof *wa), *wb = malloc((size_t)n * sizeof *wb);
    blobs(&x, &y, 200, 6);
    o.batch_size = 16;
    BGM_ASSERT_OK(bgm_model_fit(NULL, a, x, y, &o));
    BGM_ASSERT_OK(bgm_model_fit(NULL, b, x, y, &o));
    BGM_ASSERT_OK(bgm_model_get_weights(a, wa, n));
    BGM_ASSERT_OK(bgm_model_get_weights(b, wb, n));
    ck_assert_int_eq(memcmp(wa, wb, (size_t)n * sizeof *wa), 0);
    free(wa);
    free(wb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

/* ---- progress output ------------------------------------------------------ */

typedef struct captured {
    char buf[8192];
    int calls;
} captured;

static void collect(void *ctx, const char *s)
{
    captured *t = ctx;
    strncat(t->buf, s, sizeof t->buf - strlen(t->buf) - 1);
    t->calls++;
}

START_TEST(verbose_2_prints_one_keras_line_per_epoch)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_fit_options o = quiet(2);
    captured out;
    regex_t re;
    regmatch_t match;
    /* 400 samples, 20% validation: 320 to train, 10 steps of 32 */
    const char *line = "^10/10 \\[==============================\\] - [0-9]+s [0-9]+(s|ms|us)/step"
                       " - loss: [0-9]\\.[0-9]{4} - accuracy: [0-9]\\.[0-9]{4}"
                       " - val_loss: [0-9]\\.[0-9]{4} - val_accuracy: [0-9]\\.[0-9]{4}$";
    char *second;
    memset(&out, 0, sizeof out);
    blobs(&x, &y, 400, 1);
    o.verbose = 2;
    o.validation_split = 0.2;
    o.output = collect;
    o.output_ctx = &out;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    ck_assert_int_eq(strncmp(out.buf, "Epoch 1/2\n", 10), 0);
    second = strstr(out.buf, "Epoch 2/2\n");
    ck_assert_ptr_nonnull(second);
    ck_assert_int_eq(regcomp(&re, line, REG_EXTENDED | REG_NEWLINE), 0);
    ck_assert_msg(regexec(&re, out.buf + 10, 1, &match, 0) == 0, "line: %s", out.buf);
    ck_assert_int_eq(match.rm_so, 0);
    ck_assert_ptr_eq(out.buf + 10 + match.rm_eo + 1, second); /* exactly one line */
    ck_assert_msg(regexec(&re, second + 10, 1, &match, 0) == 0, "line: %s", second);
    ck_assert_int_eq(second[10 + match.rm_eo], '\n');
    ck_assert_int_eq(second[10 + match.rm_eo + 1], '\0');
    ck_assert_ptr_null(strchr(out.buf, '\r'));
    regfree(&re);
    /* verbose 0 prints nothing */
    memset(&out, 0, sizeof out);
    o.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    ck_assert_int_eq(out.calls, 0);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(progress_counts_steps_with_the_width_of_the_total)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_fit_options o = quiet(1);
    captured out;
    memset(&out, 0, sizeof out);
    blobs(&x, &y, 330, 1);
    o.verbose = 1; /* not a terminal: one line per epoch */
    o.batch_size = 3;
    o.output = collect;
    o.output_ctx = &out;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    ck_assert_msg(strncmp(out.buf, "Epoch 1/1\n110/110 [===", 22) == 0, "%s", out.buf);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- callbacks ------------------------------------------------------------- */

typedef struct recorder {
    int batches, epochs_begun, epochs_ended, train_begun, train_ended;
    int stop_at_epoch;        /* return 1 at the end of this epoch (-1: never) */
    int cancel_at_batch;      /* set *flag at this batch end (-1: never) */
    int *flag;
    float *weights_at_epoch0; /* copy of the weights after epoch 0 */
    double last_loss;
} recorder;

static int record(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                  int64_t batch, const bgm_logs *logs)
{
    recorder *r = ctx;
    switch (event) {
    case BGM_EVENT_TRAIN_BEGIN: r->train_begun++; break;
    case BGM_EVENT_EPOCH_BEGIN: r->epochs_begun++; break;
    case BGM_EVENT_BATCH_END:
        r->batches++;
        if (bgm_logs_get(&r->last_loss, logs, "loss") != BGM_OK)
            r->last_loss = -1;
        if (batch == r->cancel_at_batch)
            __atomic_store_n(r->flag, 1, __ATOMIC_RELEASE);
        break;
    case BGM_EVENT_EPOCH_END:
        r->epochs_ended++;
        if (epoch == 0 && r->weights_at_epoch0)
            bgm_model_get_weights(m, r->weights_at_epoch0, bgm_model_num_params(m));
        return epoch == r->stop_at_epoch;
    case BGM_EVENT_TRAIN_END: r->train_ended++; break;
    }
    return 0;
}

static recorder new_recorder(void)
{
    recorder r;
    memset(&r, 0, sizeof r);
    r.stop_at_epoch = -1;
    r.cancel_at_batch = -1;
    return r;
}

START_TEST(user_callback_sees_every_event_and_can_stop_training)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(10);
    recorder r = new_recorder();
    blobs(&x, &y, 64, 1);
    r.stop_at_epoch = 2;
    BGM_ASSERT_OK(bgm_callback_lambda(&cb, record, &r));
    o.callbacks = &cb;
    o.num_callbacks = 1;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 3);
    ck_assert_int_eq(r.train_begun, 1);
    ck_assert_int_eq(r.epochs_begun, 3);
    ck_assert_int_eq(r.epochs_ended, 3);
    ck_assert_int_eq(r.batches, 6); /* 2 batches of 32 per epoch */
    ck_assert_int_eq(r.train_ended, 1);
    ck_assert(r.last_loss > 0.0);
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(early_stopping_stops_and_restores_the_best_weights)
{
    bgm_model *m = classifier(1, 0.05f);
    bgm_tensor *x, *y;
    bgm_callback *cbs[2] = {NULL, NULL};
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(20);
    recorder r = new_recorder();
    int64_t n = bgm_model_num_params(m);
    float *now = malloc((size_t)n * sizeof *now);
    blobs(&x, &y, 128, 1);
    r.weights_at_epoch0 = malloc((size_t)n * sizeof(float));
    /* No later epoch can improve "loss" by 1e6, so epoch 0 stays the best and
     * training stops once patience (2) epochs passed without improvement. */
    BGM_ASSERT_OK(bgm_callback_early_stopping(&cbs[0], "loss", 2, 1e6f, 1));
    BGM_ASSERT_OK(bgm_callback_lambda(&cbs[1], record, &r));
    o.callbacks = cbs;
    o.num_callbacks = 2;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 3);
    ck_assert_int_eq(bgm_callback_stopped_epoch(cbs[0]), 2);
    BGM_ASSERT_OK(bgm_model_get_weights(m, now, n));
    ck_assert_int_eq(memcmp(now, r.weights_at_epoch0, (size_t)n * sizeof *now), 0);
    bgm_history_free(h);
    /* a monitor that is not logged is an error naming the logged ones */
    bgm_callback_free(cbs[0]);
    BGM_ASSERT_OK(bgm_callback_early_stopping(&cbs[0], "val_loss", 2, 0.0f, 0));
    o.num_callbacks = 1;
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, x, y, &o), BGM_E_INVALID,
                     "cannot monitor 'val_loss'");
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "have: loss, accuracy"));
    ck_assert_int_eq(bgm_callback_stopped_epoch(cbs[0]), -1);
    ck_assert_int_eq(bgm_callback_stopped_epoch(cbs[1]), -1);
    free(now);
    free(r.weights_at_epoch0);
    bgm_callback_free(cbs[0]);
    bgm_callback_free(cbs[1]);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(early_stopping_on_accuracy_waits_for_patience)
{
    bgm_model *m = classifier(1, 0.05f);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(50);
    blobs(&x, &y, 128, 1);
    /* accuracy is maximized and never beats its first value by more than 1 */
    BGM_ASSERT_OK(bgm_callback_early_stopping(&cb, "accuracy", 3, 1.0f, 0));
    o.callbacks = &cb;
    o.num_callbacks = 1;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 4);
    ck_assert_int_eq(bgm_callback_stopped_epoch(cb), 3);
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

static float halve(int epoch, float lr, void *ctx)
{
    (void)ctx;
    return epoch == 0 ? 0.08f : lr / 2.0f;
}

START_TEST(lr_scheduler_sets_the_rate_and_logs_it)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(3);
    const double *lr;
    blobs(&x, &y, 64, 1);
    BGM_ASSERT_OK(bgm_callback_lr_scheduler(&cb, halve, NULL));
    o.callbacks = &cb;
    o.num_callbacks = 1;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    lr = bgm_history_values(h, "learning_rate");
    ck_assert_ptr_nonnull(lr);
    ck_assert(fabs(lr[0] - 0.08) < 1e-7 && fabs(lr[2] - 0.02) < 1e-7);
    ck_assert_float_eq(bgm_optimizer_get_lr(bgm_model_optimizer(m)), 0.02f);
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(csv_logger_writes_a_header_and_one_row_per_epoch)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL;
    bgm_fit_options o = quiet(3);
    char path[] = "/tmp/bgm_csv_XXXXXX", text[2048], *line, *save = NULL;
    int fd = mkstemp(path), rows = 0;
    size_t got;
    FILE *f;
    ck_assert_int_ge(fd, 0);
    close(fd);
    blobs(&x, &y, 100, 1);
    o.validation_split = 0.2;
    BGM_ASSERT_OK(bgm_callback_csv_logger(&cb, path, 0));
    o.callbacks = &cb;
    o.num_callbacks = 1;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o)); /* rewrites the file */
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    got = fread(text, 1, sizeof text - 1, f);
    text[got] = '\0';
    fclose(f);
    line = strtok_r(text, "\n", &save);
    ck_assert_str_eq(line, "epoch,accuracy,loss,val_accuracy,val_loss");
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        double v[4];
        int e;
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf", &e, &v[0], &v[1], &v[2], &v[3]), 5);
        ck_assert_int_eq(e, rows);
        ck_assert(v[0] >= 0 && v[0] <= 1 && v[1] > 0);
        rows++;
    }
    ck_assert_int_eq(rows, 3);
    /* appending keeps the rows and adds no second header */
    bgm_callback_free(cb);
    BGM_ASSERT_OK(bgm_callback_csv_logger(&cb, path, 1));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    f = fopen(path, "r");
    got = fread(text, 1, sizeof text - 1, f);
    text[got] = '\0';
    fclose(f);
    for (rows = 0, line = text; (line = strchr(line, '\n')) != NULL; line++)
        rows++;
    ck_assert_int_eq(rows, 7);
    ck_assert_ptr_null(strstr(text + 10, "epoch"));
    bgm_callback_free(cb);
    remove(path);
    /* a file that cannot be opened is an I/O error naming it */
    BGM_ASSERT_OK(bgm_callback_csv_logger(&cb, "/nonexistent-dir/log.csv", 0));
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &o), BGM_E_IO,
                     "cannot open '/nonexistent-dir/log.csv'");
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- cancelling ------------------------------------------------------------- */

START_TEST(cancel_flag_stops_after_the_current_batch)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(5);
    recorder r = new_recorder();
    int flag = 0;
    blobs(&x, &y, 320, 1);
    r.flag = &flag;
    r.cancel_at_batch = 3;
    BGM_ASSERT_OK(bgm_callback_lambda(&cb, record, &r));
    o.callbacks = &cb;
    o.num_callbacks = 1;
    o.cancel = &flag;
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, x, y, &o), BGM_E_CANCELLED,
                     "cancelled after batch 4 of epoch 1");
    ck_assert_ptr_null(h);
    ck_assert_int_eq(r.batches, 4);
    ck_assert_int_eq(r.epochs_ended, 0);
    ck_assert_int_eq(r.train_ended, 0);
    bgm_callback_free(cb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

static void *cancel_later(void *arg)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
    return NULL;
}

START_TEST(another_thread_can_cancel_fit)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    bgm_fit_options o = quiet(1000000);
    pthread_t th;
    int flag = 0;
    blobs(&x, &y, 256, 1);
    o.cancel = &flag;
    ck_assert_int_eq(pthread_create(&th, NULL, cancel_later, &flag), 0);
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &o), BGM_E_CANCELLED, "cancelled");
    pthread_join(th, NULL);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- bad calls --------------------------------------------------------------- */

START_TEST(fit_rejects_bad_calls_with_clear_messages)
{
    bgm_model *m = NULL;
    bgm_tensor *x, *y, *yf = NULL, *x3 = NULL, *ybig = NULL, *yrow = NULL;
    bgm_history *h = (bgm_history *)&m; /* must be reset to NULL */
    bgm_fit_options o = quiet(1), bad;
    bgm_callback *null_cb = NULL;
    blobs(&x, &y, 64, 1);
    BGM_ASSERT_OK(bgm_tensor_zeros(&yf, BGM_FLOAT32, (int64_t[]){64}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&x3, BGM_FLOAT32, (int64_t[]){64, 3}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&ybig, BGM_INT32, (int64_t[]){63}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&yrow, BGM_INT32, (int64_t[]){64, 2}, 2));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, x, y, &o), BGM_E_STATE,
                     "compile the model before fitting it");
    ck_assert_ptr_null(h);
    bgm_model_free(m);
    m = classifier(1, 0.01f);
    ((float *)bgm_tensor_data(yf))[5] = 0.5f; /* float labels must be whole numbers */
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, yf, &o), BGM_E_INVALID,
                     "sparse categorical cross-entropy takes class ids; float32 y holds 0.5 "
                     "at flat index 5");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x3, y, &o), BGM_E_SHAPE,
                     "x has shape (64, 3), the model expects (None, 2)");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, ybig, &o), BGM_E_SHAPE,
                     "hold different numbers of samples");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, yrow, &o), BGM_E_SHAPE,
                     "needs class ids of shape (64,)");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, NULL, y, &o), BGM_E_INVALID, "'x' is NULL");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, NULL, x, y, &o), BGM_E_INVALID, "'m' is NULL");
    bad = o;
    bad.batch_size = 0;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID, "batch_size = 0");
    bad = o;
    bad.validation_split = 1.0;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID,
                     "validation_split = 1");
    bad = o;
    bad.validation_split = 0.99;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID,
                     "leaves the training set empty");
    bad = o;
    bad.verbose = 3;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID, "verbose = 3");
    bad = o;
    bad.num_callbacks = 1;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID, "num_callbacks = 1");
    bad.callbacks = &null_cb;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID, "callbacks[0] is NULL");
    bad = o;
    bad.validation_x = x;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID,
                     "only validation_x is set");
    bad.validation_y = yf;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID,
                     "float32 validation_y holds 0.5");
    bad = o;
    bad.size = 4;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, x, y, &bad), BGM_E_INVALID, "opts->size = 4");
    BGM_ASSERT_FAILS(bgm_fit_options_init(&bad, 4), BGM_E_INVALID, "size = 4");
    BGM_ASSERT_FAILS(bgm_fit_options_init(&bad, sizeof bad + 8), BGM_E_UNSUPPORTED, "newer");
    BGM_ASSERT_FAILS(bgm_fit_options_init(NULL, sizeof bad), BGM_E_INVALID, "'opts'");
    BGM_ASSERT_FAILS(bgm_model_fit_dataset(NULL, m, NULL, NULL, &o), BGM_E_INVALID, "'train'");
    /* the defaults (opts NULL) train one epoch, printing; keep stdout quiet here */
    BGM_ASSERT_FAILS(bgm_callback_early_stopping(&null_cb, "loss", -1, 0, 0), BGM_E_INVALID,
                     "patience = -1");
    BGM_ASSERT_FAILS(bgm_callback_early_stopping(&null_cb, NULL, 1, 0, 0), BGM_E_INVALID,
                     "'monitor'");
    BGM_ASSERT_FAILS(bgm_callback_lr_scheduler(&null_cb, NULL, NULL), BGM_E_INVALID,
                     "'schedule'");
    BGM_ASSERT_FAILS(bgm_callback_csv_logger(&null_cb, NULL, 0), BGM_E_INVALID, "'path'");
    BGM_ASSERT_FAILS(bgm_callback_lambda(&null_cb, NULL, NULL), BGM_E_INVALID, "'fn'");
    ck_assert_ptr_null(null_cb);
    bgm_callback_free(NULL);
    bgm_history_free(NULL);
    ck_assert_int_eq(bgm_history_num_epochs(NULL), 0);
    ck_assert_ptr_null(bgm_history_values(NULL, "loss"));
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(yf);
    bgm_tensor_free(x3);
    bgm_tensor_free(ybig);
    bgm_tensor_free(yrow);
    bgm_model_free(m);
}
END_TEST

START_TEST(logs_accessors_find_values_by_name)
{
    bgm_model *m = classifier(1, 0.01f);
    bgm_tensor *x, *y;
    double v;
    BGM_ASSERT_FAILS(bgm_logs_get(&v, NULL, "loss"), BGM_E_INVALID, "'logs'");
    ck_assert_int_eq(bgm_logs_count(NULL), 0);
    ck_assert_ptr_null(bgm_logs_name(NULL, 0));
    ck_assert(isnan(bgm_logs_value(NULL, 0)));
    blobs(&x, &y, 8, 1);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model_fit(void)
{
    Suite *s = suite_create("model_fit");
    TCase *tc = tcase_create("learning");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, fit_separates_two_blobs_and_records_every_epoch);
    tcase_add_test(tc, precision_recall_and_auc_are_reported_on_probabilities);
    tcase_add_test(tc, binary_crossentropy_with_one_logit_and_float_labels);
    tcase_add_test(tc, fit_on_a_dataset_with_validation_data);
    tcase_add_test(tc, regression_on_one_feature_learns_the_line);
    tcase_add_test(tc, regression_with_mse_and_targets_of_one_column);
    tcase_add_test(tc, same_seed_trains_to_the_same_weight_bits);
    suite_add_tcase(s, tc);
    tc = tcase_create("progress");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, verbose_2_prints_one_keras_line_per_epoch);
    tcase_add_test(tc, progress_counts_steps_with_the_width_of_the_total);
    suite_add_tcase(s, tc);
    tc = tcase_create("callbacks");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, user_callback_sees_every_event_and_can_stop_training);
    tcase_add_test(tc, early_stopping_stops_and_restores_the_best_weights);
    tcase_add_test(tc, early_stopping_on_accuracy_waits_for_patience);
    tcase_add_test(tc, lr_scheduler_sets_the_rate_and_logs_it);
    tcase_add_test(tc, csv_logger_writes_a_header_and_one_row_per_epoch);
    tcase_add_test(tc, cancel_flag_stops_after_the_current_batch);
    tcase_add_test(tc, another_thread_can_cancel_fit);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad calls");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, fit_rejects_bad_calls_with_clear_messages);
    tcase_add_test(tc, logs_accessors_find_values_by_name);
    suite_add_tcase(s, tc);
    return s;
}
