/* Training models of several inputs and outputs: per-output losses, loss
 * weights and metrics with Keras' names, fit / evaluate / train_on_batch /
 * the GradientTape loop on arrays and on multi-tensor datasets, bad calls. */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define N 64

/* ---- building ------------------------------------------------------------- */

static bgm_node *call1(bgm_layer *l, bgm_node *x)
{
    return bgm_test_call(l, &x, 1);
}

static bgm_layer *named(bgm_layer *l, const char *name)
{
    BGM_ASSERT_OK(bgm_layer_set_name(l, name));
    return l;
}

/*
 * The model of these tests: inputs a (4) and b (3), each through a Dense(8,
 * relu) of its own, concatenated, Dropout(0.1); a regression head
 * ("head_hidden" Dense(4, relu), then "head" Dense(1)) and a classifier of 3
 * logits ("cls" Dense(3)). Outputs: head, cls.
 */
static bgm_model *two_heads(uint64_t seed)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in[2], *h[2], *trunk, *out[2];
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in[0] = bgm_test_input(g, (int64_t[]){4}, 1, "a");
    in[1] = bgm_test_input(g, (int64_t[]){3}, 1, "b");
    h[0] = call1(named(bgm_layer_dense(8, BGM_ACT_RELU), "dense_a"), in[0]);
    h[1] = call1(named(bgm_layer_dense(8, BGM_ACT_RELU), "dense_b"), in[1]);
    BGM_ASSERT_OK(bgm_layer_call(&trunk, bgm_layer_concatenate(-1), h, 2));
    trunk = call1(bgm_layer_dropout(0.1f), trunk);
    out[0] = call1(named(bgm_layer_dense(1, BGM_ACT_LINEAR), "head"),
                   call1(named(bgm_layer_dense(4, BGM_ACT_RELU), "head_hidden"), trunk));
    out[1] = call1(named(bgm_layer_dense(3, BGM_ACT_LINEAR), "cls"), trunk);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, in, 2, out, 2, seed));
    bgm_graph_free(g);
    return m;
}

static bgm_optimizer *adam(float lr)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    return o;
}

/* MSE on head, sparse cross-entropy of logits on cls with accuracy, weights
 * w_head and w_cls, Adam. */
static void compile_two(bgm_model *m, float w_head, float w_cls, float lr)
{
    bgm_compile_options co;
    const bgm_metric_kind accuracy[1] = {BGM_METRIC_ACCURACY};
    BGM_ASSERT_OK(bgm_compile_options_init(&co, sizeof co));
    co.num_outputs = 2;
    co.output_losses = (bgm_loss_kind[]){BGM_LOSS_MSE,
                                         BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY};
    co.output_from_logits = (int[]){0, 1};
    co.loss_weights = (float[]){w_head, w_cls};
    co.output_metrics = (const bgm_metric_kind *const[]){NULL, accuracy};
    co.output_num_metrics = (int[]){0, 1};
    BGM_ASSERT_OK(bgm_model_compile_v2(m, adam(lr), &co));
}

/* ---- data ----------------------------------------------------------------- */

typedef struct data {
    bgm_tensor *xs[2], *ys[2];
} data;

/* n samples: a ~ N(0, 1) (n, 4), b (n, 3); head = a0 + 2 b0 - a1 b1 (n, 1);
 * cls = [a1 > 0] + [b1 > 0] (n,) int32. */
static data make_data(int64_t n, uint64_t seed)
{
    data d;
    const float *a, *b;
    float *head;
    int32_t *cls;
    int64_t i;
    d.xs[0] = bgm_test_randn((int64_t[]){n, 4}, 2, seed);
    d.xs[1] = bgm_test_randn((int64_t[]){n, 3}, 2, seed + 1);
    BGM_ASSERT_OK(bgm_tensor_zeros(&d.ys[0], BGM_FLOAT32, (int64_t[]){n, 1}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&d.ys[1], BGM_INT32, (int64_t[]){n}, 1));
    a = bgm_tensor_data(d.xs[0]);
    b = bgm_tensor_data(d.xs[1]);
    head = bgm_tensor_data(d.ys[0]);
    cls = bgm_tensor_data(d.ys[1]);
    for (i = 0; i < n; i++) {
        head[i] = a[4 * i] + 2.0f * b[3 * i] - a[4 * i + 1] * b[3 * i + 1];
        cls[i] = (a[4 * i + 1] > 0.0f) + (b[3 * i + 1] > 0.0f);
    }
    return d;
}

static void free_data(data *d)
{
    int i;
    for (i = 0; i < 2; i++) {
        bgm_tensor_free(d->xs[i]);
        bgm_tensor_free(d->ys[i]);
    }
}

#define XS(d) ((const bgm_tensor *const *)(d).xs)
#define YS(d) ((const bgm_tensor *const *)(d).ys)

static bgm_fit_options quiet(int epochs, int64_t batch_size)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.batch_size = batch_size;
    o.verbose = 0;
    return o;
}

/* A copy of every weight of m (free it). */
static float *weights_of(const bgm_model *m)
{
    int64_t n = bgm_model_num_params(m);
    float *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    ck_assert_ptr_nonnull(w);
    BGM_ASSERT_OK(bgm_model_get_weights(m, w, n));
    return w;
}

static void assert_same_weights(const bgm_model *a, const bgm_model *b)
{
    float *wa = weights_of(a), *wb = weights_of(b);
    ck_assert_int_eq(bgm_model_num_params(a), bgm_model_num_params(b));
    ck_assert_int_eq(memcmp(wa, wb, (size_t)bgm_model_num_params(a) * sizeof *wa), 0);
    free(wa);
    free(wb);
}

static void assert_same_history(const bgm_history *a, const bgm_history *b)
{
    int k, n = bgm_history_num_epochs(a);
    ck_assert_int_eq(n, bgm_history_num_epochs(b));
    ck_assert_int_eq(bgm_history_num_keys(a), bgm_history_num_keys(b));
    for (k = 0; k < bgm_history_num_keys(a); k++) {
        const char *key = bgm_history_key(a, k);
        ck_assert_str_eq(key, bgm_history_key(b, k));
        ck_assert_int_eq(memcmp(bgm_history_values(a, key), bgm_history_values(b, key),
                                (size_t)n * sizeof(double)), 0);
    }
}

typedef struct captured {
    char buf[8192];
    size_t used;
} captured;

static void capture(void *ctx, const char *text)
{
    captured *c = ctx;
    size_t n = strlen(text);
    if (c->used + n < sizeof c->buf) {
        memcpy(c->buf + c->used, text, n + 1);
        c->used += n;
    }
}

/* ---- training --------------------------------------------------------------- */

START_TEST(fit_multi_lowers_both_losses_and_names_values_as_keras)
{
    static const char *const keys[] = {"loss", "head_loss", "cls_loss", "cls_accuracy",
                                       "val_loss", "val_head_loss", "val_cls_loss",
                                       "val_cls_accuracy"};
    const char *line = "^3/3 \\[=+\\] - [0-9]+s [0-9]+(s|ms|us)/step - loss: [0-9]\\.[0-9]{4} - "
                       "head_loss: [0-9]\\.[0-9]{4} - cls_loss: [0-9]\\.[0-9]{4} - "
                       "cls_accuracy: [0-9]\\.[0-9]{4} - val_loss: [0-9]\\.[0-9]{4} - "
                       "val_head_loss: [0-9]\\.[0-9]{4} - val_cls_loss: [0-9]\\.[0-9]{4} - "
                       "val_cls_accuracy: [0-9]\\.[0-9]{4}$";
    bgm_model *m = two_heads(1);
    data d = make_data(N, 10);
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(40, 16);
    captured out;
    regex_t re;
    const double *loss, *head, *cls;
    int k, e;
    compile_two(m, 1.0f, 0.5f, 0.02f);
    ck_assert_int_eq(bgm_model_num_metrics(m), 4);
    for (k = 0; k < 4; k++)
        ck_assert_str_eq(bgm_model_metric_name(m, k), keys[k]);
    ck_assert_str_eq(bgm_model_output_name(m, 1), "cls");
    memset(&out, 0, sizeof out);
    o.validation_split = 0.25; /* 48 to train: 3 steps of 16 */
    o.verbose = 2;
    o.output = capture;
    o.output_ctx = &out;
    BGM_ASSERT_OK(bgm_model_fit_multi(&h, m, XS(d), 2, YS(d), 2, &o));
    ck_assert_int_eq(bgm_history_num_keys(h), 8);
    for (k = 0; k < 8; k++)
        ck_assert_str_eq(bgm_history_key(h, k), keys[k]);
    loss = bgm_history_values(h, "loss");
    head = bgm_history_values(h, "head_loss");
    cls = bgm_history_values(h, "cls_loss");
    ck_assert_double_lt(head[39], 0.5 * head[0]);
    ck_assert_double_lt(cls[39], 0.8 * cls[0]);
    for (e = 0; e < 40; e++) /* the total is the weighted sum of the outputs' losses */
        ck_assert_double_eq_tol(loss[e], head[e] + 0.5 * cls[e], 1e-5 * loss[e]);
    /* the progress line names every value as the history does */
    ck_assert_int_eq(strncmp(out.buf, "Epoch 1/40\n", 11), 0);
    ck_assert_int_eq(regcomp(&re, line, REG_EXTENDED | REG_NEWLINE), 0);
    ck_assert_msg(regexec(&re, out.buf + 11, 0, NULL, 0) == 0, "line: %.300s", out.buf);
    regfree(&re);
    bgm_history_free(h);
    free_data(&d);
    bgm_model_free(m);
}
END_TEST

/* Mean squared error and sparse cross-entropy of logits, in double. */
static double mse(const bgm_tensor *pred, const bgm_tensor *target)
{
    const float *p = bgm_tensor_data(pred), *t = bgm_tensor_data(target);
    double sum = 0.0;
    int64_t i, n = bgm_tensor_numel(pred);
    for (i = 0; i < n; i++)
        sum += ((double)p[i] - t[i]) * ((double)p[i] - t[i]);
    return sum / (double)n;
}

static double sparse_ce(const bgm_tensor *logits, const bgm_tensor *labels)
{
    const float *z = bgm_tensor_data(logits);
    const int32_t *y = bgm_tensor_data(labels);
    int64_t i, n = bgm_tensor_dim(logits, 0), c = bgm_tensor_dim(logits, 1), k;
    double sum = 0.0;
    for (i = 0; i < n; i++) {
        double top = z[i * c], s = 0.0;
        for (k = 1; k < c; k++)
            top = fmax(top, z[i * c + k]);
        for (k = 0; k < c; k++)
            s += exp(z[i * c + k] - top);
        sum += top + log(s) - z[i * c + y[i]];
    }
    return sum / (double)n;
}

START_TEST(the_total_loss_is_the_weighted_sum_of_the_outputs_losses)
{
    bgm_model *m = two_heads(2);
    data d = make_data(N, 20);
    bgm_tensor *pred[2] = {NULL, NULL}, *fwd[2], *total = NULL;
    bgm_tape *tape = NULL;
    double r[4], t[4], want_mse, want_ce;
    compile_two(m, 0.3f, 2.0f, 0.01f);
    BGM_ASSERT_OK(bgm_model_predict_multi(pred, 2, m, XS(d), 2, 0));
    want_mse = mse(pred[0], d.ys[0]);
    want_ce = sparse_ce(pred[1], d.ys[1]);
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r, 4, m, XS(d), 2, YS(d), 2, 16));
    ck_assert_double_eq_tol(r[1], want_mse, 1e-5);
    ck_assert_double_eq_tol(r[2], want_ce, 1e-5);
    ck_assert_double_eq_tol(r[0], 0.3 * want_mse + 2.0 * want_ce, 1e-5);
    ck_assert(r[3] >= 0.0 && r[3] <= 1.0);
    /* one batch of everything: test_on_batch gives evaluate's bits */
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r, 4, m, XS(d), 2, YS(d), 2, N));
    BGM_ASSERT_OK(bgm_model_test_on_batch_multi(t, 4, m, XS(d), 2, YS(d), 2));
    ck_assert_int_eq(memcmp(r, t, sizeof r), 0);
    /* the GradientTape way: forward_multi + compute_loss_multi */
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(fwd, 2, m, tape, XS(d), 2, 0));
    BGM_ASSERT_OK(bgm_model_compute_loss_multi(&total, m, tape, YS(d), 2,
                                               (const bgm_tensor *const *)fwd, 2));
    ck_assert_double_eq_tol(*(const float *)bgm_tensor_data(total),
                            0.3 * want_mse + 2.0 * want_ce, 1e-5);
    bgm_tape_free(tape);
    bgm_tensor_free(pred[0]);
    bgm_tensor_free(pred[1]);
    free_data(&d);
    bgm_model_free(m);
}
END_TEST

START_TEST(a_loss_weight_of_zero_leaves_the_layers_feeding_only_that_output_unchanged)
{
    bgm_model *m = two_heads(3);
    data d = make_data(N, 30);
    bgm_fit_options o = quiet(3, 16);
    float *before, *after;
    int64_t off = 0;
    int i, frozen = 0, moved = 0;
    compile_two(m, 0.0f, 1.0f, 0.05f);
    before = weights_of(m);
    BGM_ASSERT_OK(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &o));
    after = weights_of(m);
    for (i = 0; i < bgm_model_num_weights(m); i++) { /* get_weights keeps this order */
        const char *name = bgm_model_weight_name(m, i);
        int64_t numel = bgm_tensor_numel(bgm_model_weight(m, i));
        int same = memcmp(before + off, after + off, (size_t)numel * sizeof(float)) == 0;
        off += numel;
        if (strncmp(name, "head", 4) == 0) { /* head_hidden/... and head/... */
            ck_assert_msg(same, "%s changed", name);
            frozen++;
        } else {
            moved += !same;
        }
    }
    ck_assert_int_eq(frozen, 4);
    ck_assert_int_eq(moved, 6); /* dense_a, dense_b and cls kernels and biases */
    free(before);
    free(after);
    free_data(&d);
    bgm_model_free(m);
}
END_TEST

/* Two regression outputs of one shared layer: both are named after it. */
static bgm_model *twin_outputs(uint64_t seed)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *h[2], *out[2];
    bgm_layer *shared = named(bgm_layer_dense(1, BGM_ACT_LINEAR), "y");
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){4}, 1, "x");
    h[0] = call1(bgm_layer_dense(3, BGM_ACT_TANH), in);
    h[1] = call1(bgm_layer_dense(3, BGM_ACT_RELU), in);
    out[0] = call1(shared, h[0]);
    out[1] = call1(shared, h[1]);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, out, 2, seed));
    bgm_graph_free(g);
    return m;
}

START_TEST(one_loss_given_to_compile_applies_to_every_output)
{
    static const char *const names[] = {"loss", "y_loss", "y_1_loss", "y_mae", "y_1_mae"};
    bgm_model *m = twin_outputs(4);
    bgm_tensor *x = bgm_test_randn((int64_t[]){N, 4}, 2, 40);
    bgm_tensor *ys[2] = {bgm_test_randn((int64_t[]){N, 1}, 2, 41),
                         bgm_test_randn((int64_t[]){N, 1}, 2, 42)};
    bgm_tensor *pred[2] = {NULL, NULL};
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(2, 32);
    double r[5];
    int k;
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_MSE, 0,
                                    (bgm_metric_kind[]){BGM_METRIC_MAE}, 1));
    ck_assert_int_eq(bgm_model_num_metrics(m), 5);
    for (k = 0; k < 5; k++)
        ck_assert_str_eq(bgm_model_metric_name(m, k), names[k]);
    ck_assert_str_eq(bgm_model_output_name(m, 1), "y_1");
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r, 5, m, (const bgm_tensor *const *)&x, 1,
                                           (const bgm_tensor *const *)ys, 2, 0));
    BGM_ASSERT_OK(bgm_model_predict_multi(pred, 2, m, (const bgm_tensor *const *)&x, 1, 0));
    ck_assert_double_eq_tol(r[1], mse(pred[0], ys[0]), 1e-5);
    ck_assert_double_eq_tol(r[2], mse(pred[1], ys[1]), 1e-5);
    ck_assert_double_eq_tol(r[0], r[1] + r[2], 1e-5);
    BGM_ASSERT_OK(bgm_model_fit_multi(&h, m, (const bgm_tensor *const *)&x, 1,
                                      (const bgm_tensor *const *)ys, 2, &o));
    for (k = 0; k < 5; k++)
        ck_assert_str_eq(bgm_history_key(h, k), names[k]);
    /* a metric added later goes to every output */
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_MSE, NULL));
    ck_assert_str_eq(bgm_model_metric_name(m, 6), "y_1_mse");
    BGM_ASSERT_OK(bgm_model_add_output_metric(m, 0, BGM_METRIC_MAE, NULL));
    ck_assert_str_eq(bgm_model_metric_name(m, 7), "y_mae_1");
    ck_assert_int_eq(bgm_model_num_metrics(m), 8);
    bgm_history_free(h);
    bgm_tensor_free(pred[0]);
    bgm_tensor_free(pred[1]);
    bgm_tensor_free(x);
    bgm_tensor_free(ys[0]);
    bgm_tensor_free(ys[1]);
    bgm_model_free(m);
}
END_TEST

START_TEST(train_on_batch_is_one_fit_step_bit_for_bit)
{
    bgm_model *a = two_heads(5), *b = two_heads(5);
    data d = make_data(N, 50);
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(1, N);
    double r[4];
    compile_two(a, 1.0f, 0.7f, 0.01f);
    compile_two(b, 1.0f, 0.7f, 0.01f);
    o.shuffle = 0;
    BGM_ASSERT_OK(bgm_model_train_on_batch_multi(r, 4, a, XS(d), 2, YS(d), 2));
    BGM_ASSERT_OK(bgm_model_fit_multi(&h, b, XS(d), 2, YS(d), 2, &o));
    assert_same_weights(a, b);
    ck_assert_double_eq(r[0], bgm_history_values(h, "loss")[0]);
    ck_assert_double_eq(r[1], bgm_history_values(h, "head_loss")[0]);
    ck_assert_double_eq(r[2], bgm_history_values(h, "cls_loss")[0]);
    ck_assert_double_eq(r[3], bgm_history_values(h, "cls_accuracy")[0]);
    ck_assert_int_eq(bgm_model_epochs_completed(a), 0);
    /* and again: the optimizer's state moved the same way */
    BGM_ASSERT_OK(bgm_model_train_on_batch_multi(NULL, 0, a, XS(d), 2, YS(d), 2));
    o.initial_epoch = 1;
    o.epochs = 2;
    bgm_history_free(h);
    BGM_ASSERT_OK(bgm_model_fit_multi(NULL, b, XS(d), 2, YS(d), 2, &o));
    assert_same_weights(a, b);
    free_data(&d);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(a_gradient_tape_loop_on_a_graph_model_equals_train_on_batch)
{
    bgm_model *a = two_heads(6), *b = two_heads(6);
    data d = make_data(N, 60);
    bgm_tensor *pred[2], *loss = NULL, **grads;
    bgm_tensor *const *params;
    bgm_tape *tape = NULL;
    int count;
    compile_two(a, 0.5f, 1.5f, 0.01f);
    compile_two(b, 0.5f, 1.5f, 0.01f);
    BGM_ASSERT_OK(bgm_model_train_on_batch_multi(NULL, 0, a, XS(d), 2, YS(d), 2));
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, b));
    grads = calloc((size_t)count, sizeof *grads);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(pred, 2, b, tape, XS(d), 2, 1));
    BGM_ASSERT_OK(bgm_model_compute_loss_multi(&loss, b, tape, YS(d), 2,
                                               (const bgm_tensor *const *)pred, 2));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, params, count, grads));
    BGM_ASSERT_OK(bgm_optimizer_step(bgm_model_optimizer(b), params, grads, count));
    assert_same_weights(a, b);
    free(grads);
    bgm_tape_free(tape);
    free_data(&d);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(fit_on_a_multi_tensor_dataset_equals_fit_on_the_arrays)
{
    bgm_model *a = two_heads(7), *b = two_heads(7);
    data d = make_data(N, 70), v = make_data(20, 71);
    bgm_dataset *train = NULL, *val = NULL;
    bgm_history *ha = NULL, *hb = NULL;
    bgm_fit_options oa = quiet(3, 16), ob = quiet(3, 16);
    double ra[4], rb[4];
    compile_two(a, 1.0f, 1.0f, 0.01f);
    compile_two(b, 1.0f, 1.0f, 0.01f);
    oa.validation_xs = XS(v);
    oa.num_validation_xs = 2;
    oa.validation_ys = YS(v);
    oa.num_validation_ys = 2;
    BGM_ASSERT_OK(bgm_model_fit_multi(&ha, a, XS(d), 2, YS(d), 2, &oa));
    BGM_ASSERT_OK(bgm_dataset_from_tensors_multi(&train, XS(d), 2, YS(d), 2));
    BGM_ASSERT_OK(bgm_dataset_from_tensors_multi(&val, XS(v), 2, YS(v), 2));
    BGM_ASSERT_OK(bgm_model_fit_dataset(&hb, b, train, val, &ob));
    assert_same_weights(a, b);
    assert_same_history(ha, hb);
    ck_assert_ptr_nonnull(bgm_history_values(ha, "val_cls_accuracy"));
    BGM_ASSERT_OK(bgm_model_evaluate_multi(ra, 4, a, XS(v), 2, YS(v), 2, 16));
    BGM_ASSERT_OK(bgm_model_evaluate_dataset(rb, 4, b, val, 16));
    ck_assert_int_eq(memcmp(ra, rb, sizeof ra), 0);
    ck_assert_double_eq(ra[0], bgm_history_values(ha, "val_loss")[2]);
    bgm_history_free(ha);
    bgm_history_free(hb);
    bgm_dataset_free(train);
    bgm_dataset_free(val);
    free_data(&d);
    free_data(&v);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

/* Records what a callback saw. */
typedef struct watched {
    int batch_logs_named, epoch_logs_named;
} watched;

static int watch(void *ctx, bgm_model *m, bgm_callback_event event, int epoch, int64_t batch,
                 const bgm_logs *logs)
{
    watched *s = ctx;
    double v;
    (void)m;
    (void)epoch;
    (void)batch;
    if (event == BGM_EVENT_BATCH_END)
        s->batch_logs_named += bgm_logs_get(&v, logs, "cls_accuracy") == BGM_OK;
    if (event == BGM_EVENT_EPOCH_END)
        s->epoch_logs_named += bgm_logs_get(&v, logs, "val_head_loss") == BGM_OK;
    return 0;
}

START_TEST(callbacks_see_and_monitor_the_values_of_each_output)
{
    bgm_model *m = two_heads(8);
    data d = make_data(N, 80);
    bgm_callback *cbs[3] = {NULL, NULL, NULL};
    bgm_history *h = NULL;
    bgm_fit_options o = quiet(30, 16);
    watched s = {0, 0};
    const char *header = "epoch,cls_accuracy,cls_loss,head_loss,loss,val_cls_accuracy,"
                         "val_cls_loss,val_head_loss,val_loss\n";
    const char *path;
    unsigned char *csv;
    size_t len;
    compile_two(m, 1.0f, 1.0f, 0.05f);
    bgm_test_tmpdir_create("multi-io");
    path = bgm_test_path("log.csv");
    BGM_ASSERT_OK(bgm_callback_lambda(&cbs[0], watch, &s));
    BGM_ASSERT_OK(bgm_callback_early_stopping(&cbs[1], "val_cls_accuracy", 2, 0.0f, 1));
    BGM_ASSERT_OK(bgm_callback_csv_logger(&cbs[2], path, 0));
    o.callbacks = cbs;
    o.num_callbacks = 3;
    o.validation_split = 0.25;
    BGM_ASSERT_OK(bgm_model_fit_multi(&h, m, XS(d), 2, YS(d), 2, &o));
    ck_assert_int_eq(s.batch_logs_named, 3 * bgm_history_num_epochs(h));
    ck_assert_int_eq(s.epoch_logs_named, bgm_history_num_epochs(h));
    csv = bgm_test_read_file(path, &len);
    ck_assert_msg(strncmp((const char *)csv, header, strlen(header)) == 0, "%s", csv);
    free(csv);
    bgm_test_tmpdir_remove();
    bgm_history_free(h);
    bgm_callback_free(cbs[0]);
    bgm_callback_free(cbs[1]);
    bgm_callback_free(cbs[2]);
    free_data(&d);
    bgm_model_free(m);
}
END_TEST

/* ---- Sequential models through the new functions ------------------------------ */

/* 4 -> 8 relu -> 3 logits. */
static bgm_model *sequential(uint64_t seed)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.2f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    return m;
}

START_TEST(a_sequential_model_behaves_the_same_through_the_new_functions)
{
    bgm_model *a = sequential(9), *b = sequential(9), *c = sequential(9);
    data d = make_data(N, 90);
    const bgm_tensor *x = d.xs[0], *y = d.ys[1];
    bgm_compile_options co;
    const bgm_metric_kind accuracy[1] = {BGM_METRIC_ACCURACY};
    bgm_history *ha = NULL, *hb = NULL;
    bgm_fit_options o = quiet(3, 16);
    double ra[2], rb[2], rc[2];
    float *w;
    BGM_ASSERT_OK(bgm_model_compile(a, adam(0.01f), BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                    1, accuracy, 1));
    BGM_ASSERT_OK(bgm_compile_options_init(&co, sizeof co));
    co.num_outputs = 1;
    co.output_losses = (bgm_loss_kind[]){BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY};
    co.output_from_logits = (int[]){1};
    co.output_metrics = (const bgm_metric_kind *const[]){accuracy};
    co.output_num_metrics = (int[]){1};
    BGM_ASSERT_OK(bgm_model_compile_v2(b, adam(0.01f), &co));
    ck_assert_int_eq(bgm_model_num_metrics(b), 2);
    ck_assert_str_eq(bgm_model_metric_name(b, 0), "loss");
    ck_assert_str_eq(bgm_model_metric_name(b, 1), "accuracy");
    o.validation_split = 0.25;
    BGM_ASSERT_OK(bgm_model_fit(&ha, a, x, y, &o));
    BGM_ASSERT_OK(bgm_model_fit_multi(&hb, b, &x, 1, &y, 1, &o));
    assert_same_history(ha, hb);
    assert_same_weights(a, b);
    ck_assert_str_eq(bgm_history_key(ha, 3), "val_accuracy");
    BGM_ASSERT_OK(bgm_model_evaluate(ra, 2, a, x, y, 0));
    BGM_ASSERT_OK(bgm_model_evaluate_multi(rb, 2, b, &x, 1, &y, 1, 0));
    ck_assert_int_eq(memcmp(ra, rb, sizeof ra), 0);
    /* the single-array step functions */
    BGM_ASSERT_OK(bgm_model_train_on_batch(ra, 2, a, x, y));
    BGM_ASSERT_OK(bgm_model_train_on_batch_multi(rb, 2, b, &x, 1, &y, 1));
    ck_assert_int_eq(memcmp(ra, rb, sizeof ra), 0);
    assert_same_weights(a, b);
    BGM_ASSERT_OK(bgm_model_test_on_batch(ra, 2, a, x, y));
    BGM_ASSERT_OK(bgm_model_evaluate(rb, 2, a, x, y, N));
    ck_assert_int_eq(memcmp(ra, rb, sizeof ra), 0);
    /* a loss weight scales a single output's loss too */
    co.loss_weights = (float[]){0.25f};
    BGM_ASSERT_OK(bgm_model_compile_v2(c, adam(0.01f), &co));
    w = weights_of(a);
    BGM_ASSERT_OK(bgm_model_set_weights(c, w, bgm_model_num_params(a)));
    BGM_ASSERT_OK(bgm_model_evaluate(ra, 2, a, x, y, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(rc, 2, c, x, y, 0));
    ck_assert_double_eq_tol(rc[0], 0.25 * ra[0], 1e-6);
    ck_assert_double_eq(rc[1], ra[1]);
    free(w);
    bgm_history_free(ha);
    bgm_history_free(hb);
    free_data(&d);
    bgm_model_free(a);
    bgm_model_free(b);
    bgm_model_free(c);
}
END_TEST

/* ---- bad calls ------------------------------------------------------------------ */

/* n <= 32 outputs, each a Dense(1) of the one input. */
static bgm_model *many_outputs(int n)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *out[32];
    int i;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){2}, 1, NULL);
    for (i = 0; i < n; i++)
        out[i] = call1(bgm_layer_dense(1, BGM_ACT_LINEAR), in);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, out, n, 1));
    bgm_graph_free(g);
    return m;
}

START_TEST(compile_v2_rejects_bad_options_naming_the_output)
{
    bgm_model *m = two_heads(11), *seq = sequential(11), *wide = many_outputs(16);
    bgm_compile_options co, bad;
    const bgm_metric_kind auc[1] = {BGM_METRIC_AUC};
    BGM_ASSERT_FAILS(bgm_compile_options_init(&co, 8), BGM_E_INVALID, "smaller");
    BGM_ASSERT_FAILS(bgm_compile_options_init(&co, sizeof co + 8), BGM_E_UNSUPPORTED,
                     "newer");
    BGM_ASSERT_OK(bgm_compile_options_init(&co, sizeof co));
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), NULL), BGM_E_INVALID, "'opts'");
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &co), BGM_E_INVALID, "no loss");
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, NULL, &co), BGM_E_INVALID, "no loss");
    bad = co;
    bad.size = 3;
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "opts->size = 3");
    co.loss = BGM_LOSS_MSE;
    BGM_ASSERT_FAILS(bgm_model_compile_v2(NULL, adam(0.1f), &co), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, NULL, &co), BGM_E_INVALID, "'optimizer'");
    bad = co;
    bad.loss_weights = (float[]){1.0f, 1.0f};
    bad.num_outputs = 3;
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "num_outputs = 3 entries, the model has 2 outputs");
    bad.num_outputs = 2;
    bad.loss_weights = (float[]){1.0f, -1.0f};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "loss_weights[1] = -1 (output 'cls'), expected a finite value >= 0");
    bad.loss_weights = (float[]){NAN, 1.0f};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "loss_weights[0] = nan (output 'head')");
    bad = co;
    bad.num_outputs = 2;
    bad.output_losses = (bgm_loss_kind[]){BGM_LOSS_MSE, (bgm_loss_kind)42};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "unknown loss 42 (output 'cls')");
    bad.output_losses = NULL;
    bad.output_from_logits = (int[]){1, 0};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "not to mean squared error (output 'head')");
    bad = co;
    bad.num_outputs = 2;
    bad.output_metrics = (const bgm_metric_kind *const[]){NULL, auc};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "output_metrics and output_num_metrics go together");
    bad.output_num_metrics = (int[]){0, 1};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "AUC needs a binary output of 1 or 2 columns, output 'cls' has 3");
    bad.output_num_metrics = (int[]){2, 1};
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "output_num_metrics[0] = 2 with metrics NULL");
    bad = co;
    bad.num_metrics = 1;
    BGM_ASSERT_FAILS(bgm_model_compile_v2(m, adam(0.1f), &bad), BGM_E_INVALID,
                     "num_metrics = 1 with metrics NULL");
    ck_assert_ptr_null(bgm_model_optimizer(m)); /* nothing was taken on error */
    ck_assert_ptr_null(bgm_model_output_name(m, 0));
    BGM_ASSERT_FAILS(bgm_model_compile_v2(seq, adam(0.1f), &bad), BGM_E_INVALID, "num_metrics");
    /* a model of one output keeps its messages */
    bad = co;
    bad.from_logits = 1;
    BGM_ASSERT_FAILS(bgm_model_compile_v2(seq, adam(0.1f), &bad), BGM_E_INVALID,
                     "not to mean squared error");
    ck_assert_ptr_null(strstr(bgm_last_error(), "output '"));
    BGM_ASSERT_FAILS(bgm_model_compile(wide, adam(0.1f), BGM_LOSS_MSE, 0,
                                       (bgm_metric_kind[]){BGM_METRIC_MAE}, 1),
                     BGM_E_UNSUPPORTED, "the model would report 33 values");
    BGM_ASSERT_OK(bgm_model_compile_v2(m, adam(0.1f), &co));
    BGM_ASSERT_FAILS(bgm_model_add_output_metric(m, 2, BGM_METRIC_MAE, NULL), BGM_E_INVALID,
                     "output = 2, the model has 2 outputs");
    BGM_ASSERT_FAILS(bgm_model_add_output_metric(NULL, 0, BGM_METRIC_MAE, NULL),
                     BGM_E_INVALID, "'m'");
    bgm_model_free(m);
    bgm_model_free(seq);
    bgm_model_free(wide);
}
END_TEST

START_TEST(fit_multi_rejects_bad_data_naming_the_tensor)
{
    bgm_model *m = two_heads(12);
    data d = make_data(N, 120), v = make_data(16, 121);
    bgm_tensor *wide = bgm_test_randn((int64_t[]){N, 5}, 2, 1);
    bgm_tensor *short_x = bgm_test_randn((int64_t[]){N - 1, 3}, 2, 2);
    bgm_tensor *rows3 = bgm_test_randn((int64_t[]){N, 3}, 2, 3);
    bgm_tensor *labels_f = bgm_test_randn((int64_t[]){N}, 1, 4), *ints = NULL,
               *short_y = NULL;
    const bgm_tensor *xs[2], *ys[2];
    bgm_history *h = (bgm_history *)&h;
    bgm_fit_options o = quiet(1, 16), bad;
    float *before;
    BGM_ASSERT_OK(bgm_tensor_zeros(&ints, BGM_INT32, (int64_t[]){N, 4}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&short_y, BGM_INT32, (int64_t[]){N - 1}, 1));
    BGM_ASSERT_FAILS(bgm_model_fit_multi(&h, m, XS(d), 2, YS(d), 2, &o), BGM_E_STATE,
                     "compile the model before fitting it");
    ck_assert_ptr_null(h);
    compile_two(m, 1.0f, 1.0f, 0.01f);
    before = weights_of(m);
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, NULL, XS(d), 2, YS(d), 2, &o), BGM_E_INVALID,
                     "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, NULL, 2, YS(d), 2, &o), BGM_E_INVALID,
                     "argument 'xs' is NULL");
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, NULL, 2, &o), BGM_E_INVALID,
                     "argument 'ys' is NULL");
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 1, YS(d), 2, &o), BGM_E_INVALID,
                     "the model has 2 inputs and 2 outputs, got 1 features and 2 targets "
                     "tensors");
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, d.xs[0], d.ys[0], &o), BGM_E_INVALID,
                     "the model has 2 inputs and 2 outputs, got 1 features and 1 targets "
                     "tensor");
    xs[0] = d.xs[0];
    xs[1] = NULL;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, xs, 2, YS(d), 2, &o), BGM_E_INVALID,
                     "xs[1] is NULL");
    xs[1] = wide;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, xs, 2, YS(d), 2, &o), BGM_E_SHAPE,
                     "xs[1] has shape (64, 5), the model expects (None, 3)");
    xs[0] = ints;
    xs[1] = d.xs[1];
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, xs, 2, YS(d), 2, &o), BGM_E_DTYPE,
                     "xs[0] is int32");
    xs[0] = d.xs[0];
    xs[1] = short_x;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, xs, 2, YS(d), 2, &o), BGM_E_SHAPE,
                     "xs[0] (64, 4) and xs[1] (63, 3) hold different numbers of samples");
    ys[0] = d.ys[0];
    ys[1] = NULL;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, ys, 2, &o), BGM_E_INVALID,
                     "ys[1] (output 'cls') is NULL");
    ys[1] = labels_f;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, ys, 2, &o), BGM_E_INVALID,
                     "sparse categorical cross-entropy takes class ids; float32 ys[1] (output "
                     "'cls') holds 1.38746 at flat index 0, not a whole number");
    ys[1] = short_y;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, ys, 2, &o), BGM_E_SHAPE,
                     "xs[0] (64, 4) and ys[1] (output 'cls') (63,) hold different numbers "
                     "of samples");
    ys[0] = rows3;
    ys[1] = d.ys[1];
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, ys, 2, &o), BGM_E_SHAPE,
                     "ys[0] (output 'head') has shape (64, 3), the output is (None, 1)");
    /* validation data */
    bad = o;
    bad.validation_xs = XS(v);
    bad.num_validation_xs = 2;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &bad), BGM_E_INVALID,
                     "validation_xs and validation_ys go together; only validation_xs");
    bad.validation_ys = YS(v);
    bad.num_validation_ys = 1;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &bad), BGM_E_INVALID,
                     "got 2 validation features and 1 validation targets tensor");
    bad.num_validation_ys = 2;
    bad.validation_x = v.xs[0];
    bad.validation_y = v.ys[0];
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &bad), BGM_E_INVALID,
                     "not both");
    bad.validation_x = NULL;
    bad.validation_y = NULL;
    ys[0] = v.ys[0];
    ys[1] = v.ys[0];
    bad.validation_ys = ys;
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &bad), BGM_E_INVALID,
                     "validation_ys[1] (output 'cls') holds 0.324595 at flat index 0, not a "
                     "whole number");
    bad = o;
    bad.validation_x = v.xs[0];
    bad.validation_y = v.ys[0];
    BGM_ASSERT_FAILS(bgm_model_fit_multi(NULL, m, XS(d), 2, YS(d), 2, &bad), BGM_E_INVALID,
                     "got 1 validation features and 1 validation targets tensor");
    /* nothing trained */
    {
        float *after = weights_of(m);
        ck_assert_int_eq(memcmp(before, after,
                                (size_t)bgm_model_num_params(m) * sizeof *after), 0);
        free(after);
    }
    free(before);
    bgm_tensor_free(wide);
    bgm_tensor_free(short_x);
    bgm_tensor_free(rows3);
    bgm_tensor_free(labels_f);
    bgm_tensor_free(ints);
    bgm_tensor_free(short_y);
    free_data(&d);
    free_data(&v);
    bgm_model_free(m);
}
END_TEST

START_TEST(evaluate_steps_and_losses_reject_bad_calls)
{
    bgm_model *m = two_heads(13);
    data d = make_data(8, 130);
    bgm_dataset *pair = NULL, *ds = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *pred[2], *loss = (bgm_tensor *)&loss;
    const bgm_tensor *ys[2];
    double r[4];
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_FAILS(bgm_model_evaluate_multi(r, 4, m, XS(d), 2, YS(d), 2, 0), BGM_E_STATE,
                     "compile the model first");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_multi(r, 4, m, XS(d), 2, YS(d), 2),
                     BGM_E_STATE, "compile the model first");
    BGM_ASSERT_FAILS(bgm_model_test_on_batch_multi(r, 4, m, XS(d), 2, YS(d), 2),
                     BGM_E_STATE, "compile the model first");
    compile_two(m, 1.0f, 1.0f, 0.01f);
    BGM_ASSERT_FAILS(bgm_model_evaluate_multi(r, 0, m, XS(d), 2, YS(d), 2, 0), BGM_E_INVALID,
                     "n = 0");
    BGM_ASSERT_FAILS(bgm_model_evaluate_multi(r, 4, m, XS(d), 2, YS(d), 1, 0), BGM_E_INVALID,
                     "got 2 features and 1 targets tensor");
    BGM_ASSERT_FAILS(bgm_model_evaluate_multi(r, 4, m, XS(d), 2, YS(d), 2, -1),
                     BGM_E_INVALID, "batch_size = -1");
    BGM_ASSERT_FAILS(bgm_model_evaluate(r, 4, m, d.xs[0], d.ys[0], 0), BGM_E_INVALID,
                     "the model has 2 inputs and 2 outputs");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_multi(r, -1, m, XS(d), 2, YS(d), 2),
                     BGM_E_INVALID, "n = -1");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_multi(NULL, 2, m, XS(d), 2, YS(d), 2),
                     BGM_E_INVALID, "with results NULL");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch_multi(r, 4, NULL, XS(d), 2, YS(d), 2),
                     BGM_E_INVALID, "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(r, 4, m, NULL, d.ys[0]), BGM_E_INVALID,
                     "'x' is NULL");
    BGM_ASSERT_FAILS(bgm_model_test_on_batch_multi(r, 4, m, XS(d), 2, NULL, 2),
                     BGM_E_INVALID, "argument 'ys' is NULL");
    ys[0] = d.ys[1];
    ys[1] = d.ys[1];
    BGM_ASSERT_FAILS(bgm_model_test_on_batch_multi(r, 4, m, XS(d), 2, ys, 2), BGM_E_DTYPE,
                     "mean squared error needs float32 targets, ys[0] (output 'head') is "
                     "int32");
    /* datasets of the wrong shape */
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&pair, d.xs[0], d.ys[0]));
    BGM_ASSERT_FAILS(bgm_model_evaluate_dataset(r, 4, m, pair, 0), BGM_E_INVALID,
                     "got 1 features and 1 targets tensor");
    BGM_ASSERT_FAILS(bgm_model_fit_dataset(NULL, m, pair, NULL, NULL), BGM_E_INVALID,
                     "got 1 features and 1 targets tensor");
    BGM_ASSERT_OK(bgm_dataset_from_tensors_multi(&ds, XS(d), 2, YS(d), 2));
    BGM_ASSERT_FAILS(bgm_model_fit_dataset(NULL, m, ds, pair, NULL), BGM_E_INVALID,
                     "got 1 validation features and 1 validation targets tensor");
    /* compute_loss */
    BGM_ASSERT_OK(bgm_model_forward_multi(pred, 2, m, tape, XS(d), 2, 0));
    BGM_ASSERT_FAILS(bgm_model_compute_loss(&loss, m, tape, d.ys[0], pred[0]), BGM_E_INVALID,
                     "bgm_model_compute_loss_multi");
    ck_assert_ptr_null(loss);
    BGM_ASSERT_FAILS(bgm_model_compute_loss_multi(&loss, m, tape, YS(d), 1,
                                                  (const bgm_tensor *const *)pred, 2),
                     BGM_E_INVALID, "the model has 2 outputs, got 1 y_true and 2 y_pred");
    ys[0] = d.ys[0];
    ys[1] = NULL;
    BGM_ASSERT_FAILS(bgm_model_compute_loss_multi(&loss, m, tape, ys, 2,
                                                  (const bgm_tensor *const *)pred, 2),
                     BGM_E_INVALID, "y_true[1] (output 'cls') is NULL");
    ys[1] = d.ys[0];
    BGM_ASSERT_FAILS(bgm_model_compute_loss_multi(&loss, m, tape, ys, 2,
                                                  (const bgm_tensor *const *)pred, 2),
                     BGM_E_INVALID, "float32 y_true[1] (output 'cls') holds 1.26958 at flat "
                     "index 0, not a whole number");
    BGM_ASSERT_FAILS(bgm_model_compute_loss_multi(&loss, m, tape, YS(d), 2, NULL, 2),
                     BGM_E_INVALID, "'y_pred'");
    bgm_dataset_free(pair);
    bgm_dataset_free(ds);
    bgm_tape_free(tape);
    free_data(&d);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model_multi_io(void)
{
    Suite *s = suite_create("model_multi_io");
    TCase *train = tcase_create("training");
    TCase *bad = tcase_create("bad calls");
    tcase_set_timeout(train, 120);
    tcase_add_test(train, fit_multi_lowers_both_losses_and_names_values_as_keras);
    tcase_add_test(train, the_total_loss_is_the_weighted_sum_of_the_outputs_losses);
    tcase_add_test(train,
                   a_loss_weight_of_zero_leaves_the_layers_feeding_only_that_output_unchanged);
    tcase_add_test(train, one_loss_given_to_compile_applies_to_every_output);
    tcase_add_test(train, train_on_batch_is_one_fit_step_bit_for_bit);
    tcase_add_test(train, a_gradient_tape_loop_on_a_graph_model_equals_train_on_batch);
    tcase_add_test(train, fit_on_a_multi_tensor_dataset_equals_fit_on_the_arrays);
    tcase_add_test(train, callbacks_see_and_monitor_the_values_of_each_output);
    tcase_add_test(train, a_sequential_model_behaves_the_same_through_the_new_functions);
    suite_add_tcase(s, train);
    tcase_set_timeout(bad, 60);
    tcase_add_test(bad, compile_v2_rejects_bad_options_naming_the_output);
    tcase_add_test(bad, fit_multi_rejects_bad_data_naming_the_tensor);
    tcase_add_test(bad, evaluate_steps_and_losses_reject_bad_calls);
    suite_add_tcase(s, bad);
    return s;
}
