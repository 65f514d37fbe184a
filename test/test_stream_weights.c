/* Sample and class weights on streamed data: a stream whose batches carry
 * sample weights (bgm_stream_spec.sample_weight) trains, validates and
 * evaluates bit for bit as the same arrays weighted in memory; class_weight
 * on a stream equals class_weight on arrays; bad weights and bad
 * combinations get clear errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define NS 50 /* samples: 7 batches of 8, the last of 2 */

/* A stream over tensors in memory: features t[0], targets t[1] and, when
 * t[2] is set, weights t[2], n rows each (float32 or int32), in batches of
 * batch rows. */
typedef struct src {
    const bgm_tensor *t[3];
    int64_t n, batch, pos;
    int64_t bad_batch;    /* fill writes NaN into this batch's first weight (-1: none) */
} src;

static bgm_status src_reset(void *ctx, char *msg, size_t size)
{
    ((src *)ctx)->pos = 0;
    return BGM_OK;
}

static bgm_status src_fill(void *ctx, int64_t batch, bgm_tensor *const *xs,
                           bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    src *r = ctx;
    bgm_tensor *const dst[3] = {xs[0], ys[0], r->t[2] ? ys[1] : NULL};
    int64_t b = r->n - r->pos < r->batch ? r->n - r->pos : r->batch;
    int i;
    for (i = 0; i < 3 && r->t[i]; i++) {
        size_t row = (size_t)(bgm_tensor_numel(r->t[i]) / r->n) * 4; /* float32 / int32 */
        memcpy(bgm_tensor_data(dst[i]), (const char *)bgm_tensor_data(r->t[i]) + r->pos * row,
               (size_t)b * row);
    }
    if (r->t[2] && batch == r->bad_batch)
        *(float *)bgm_tensor_data(dst[2]) = NAN;
    r->pos += b;
    *rows = b;
    return BGM_OK;
}

static src source(const bgm_tensor *x, const bgm_tensor *y, const bgm_tensor *w)
{
    src r;
    memset(&r, 0, sizeof r);
    r.t[0] = x;
    r.t[1] = y;
    r.t[2] = w;
    r.n = bgm_tensor_dim(x, 0);
    r.batch = 8;
    r.bad_batch = -1;
    return r;
}

/* A stream of r's samples: x float32 (2), y int32 labels; wd describes the
 * weights (NULL: none). */
static bgm_stream *wstream(src *r, const bgm_stream_tensor *wd)
{
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {2}}, yd = {BGM_INT32, 0, {0}};
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.num_y = 1;
    sp.y = &yd;
    sp.batch_size = r->batch;
    sp.prefetch = 2;
    sp.fill = src_fill;
    sp.reset = src_reset;
    sp.ctx = r;
    sp.sample_weight = wd;
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    ck_assert_int_eq(bgm_stream_has_sample_weight(st), wd != NULL);
    return st;
}

static const bgm_stream_tensor per_sample = {BGM_FLOAT32, 0, {0}};

/* Two blobs in 2-D with labels 0, 1, 2 in turn, and weights in [0, 2]. */
static void data(bgm_tensor **x, bgm_tensor **y, bgm_tensor **w, int64_t n, uint64_t seed)
{
    float *xv;
    int32_t *yv;
    int64_t i;
    *x = bgm_test_randn((int64_t[]){n, 2}, 2, seed);
    *w = bgm_test_uniform((int64_t[]){n}, 1, 0.0f, 2.0f, seed + 1);
    BGM_ASSERT_OK(bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1));
    xv = bgm_tensor_data(*x);
    yv = bgm_tensor_data(*y);
    for (i = 0; i < n; i++) {
        yv[i] = (int32_t)(i % 3);
        xv[2 * i] += (float)yv[i] - 1.0f;
    }
}

/* 2 -> 8 relu -> dropout -> 3 logits, Adam, sparse cross-entropy, accuracy. */
static bgm_model *classifier(void)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 21));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.01f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
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
    o.batch_size = 8;
    o.shuffle = 0;
    return o;
}

static void free_tensors(bgm_tensor *const *t, int n)
{
    while (n-- > 0)
        bgm_tensor_free(t[n]);
}

/* Every value of every epoch of h0 equals h1's, bit for bit. */
static void assert_same_history(const bgm_history *h0, const bgm_history *h1, int epochs)
{
    static const char *keys[] = {"loss", "accuracy", "val_loss", "val_accuracy"};
    int k, e;
    ck_assert_int_eq(bgm_history_num_epochs(h0), epochs);
    ck_assert_int_eq(bgm_history_num_epochs(h1), epochs);
    for (k = 0; k < 4; k++) {
        const double *a = bgm_history_values(h0, keys[k]), *b = bgm_history_values(h1, keys[k]);
        if (!a) {
            ck_assert_ptr_null(b);
            continue;
        }
        ck_assert_ptr_nonnull(b);
        for (e = 0; e < epochs; e++)
            ck_assert_msg(a[e] == b[e], "%s of epoch %d: %.17g vs %.17g", keys[k], e, a[e],
                          b[e]);
    }
}

START_TEST(weighted_stream_fits_as_weighted_arrays)
{
    bgm_tensor *x, *y, *w, *vx, *vy, *vw;
    bgm_model *mem = classifier(), *str = classifier(), *plain = classifier();
    bgm_history *h0 = NULL, *h1 = NULL, *h2 = NULL;
    bgm_fit_options o = quiet(3);
    src r, vr;
    bgm_stream *st, *vst;
    double r0[2], r1[2];
    data(&x, &y, &w, NS, 5);
    data(&vx, &vy, &vw, 21, 9);
    r = source(x, y, w);
    vr = source(vx, vy, vw);
    st = wstream(&r, &per_sample);
    vst = wstream(&vr, &per_sample);
    o.sample_weight = w;
    o.validation_x = vx;
    o.validation_y = vy;
    o.validation_sample_weight = vw;
    BGM_ASSERT_OK(bgm_model_fit(&h0, mem, x, y, &o));
    o = quiet(3);
    BGM_ASSERT_OK(bgm_model_fit_stream(&h1, str, st, 0, vst, 0, &o));
    bgm_test_assert_same_weights(mem, str);
    assert_same_history(h0, h1, 3);
    /* The weights matter: unweighted training ends elsewhere. */
    o.validation_x = vx;
    o.validation_y = vy;
    BGM_ASSERT_OK(bgm_model_fit(&h2, plain, x, y, &o));
    ck_assert(bgm_history_values(h2, "loss")[0] != bgm_history_values(h0, "loss")[0]);
    /* evaluate on the weighted stream equals evaluate_weighted on arrays. */
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(r0, 2, mem, (const bgm_tensor *[]){vx}, 1,
                                              (const bgm_tensor *[]){vy}, 1, vw, 8));
    BGM_ASSERT_OK(bgm_model_evaluate_stream(r1, 2, str, vst, 0));
    ck_assert(r0[0] == r1[0] && r0[1] == r1[1]);
    ck_assert(r0[0] == bgm_history_values(h0, "val_loss")[2]);
    /* A weighted stream predicts as any other (its targets and weights unread). */
    {
        bgm_tensor *p0 = NULL, *p1 = NULL;
        BGM_ASSERT_OK(bgm_model_predict(&p0, mem, vx, 8));
        BGM_ASSERT_OK(bgm_model_predict_stream(&p1, 1, str, vst, 0));
        ck_assert(memcmp(bgm_tensor_data(p0), bgm_tensor_data(p1), 21 * 3 * sizeof(float)) ==
                  0);
        bgm_tensor_free(p0);
        bgm_tensor_free(p1);
    }
    bgm_history_free(h0);
    bgm_history_free(h1);
    bgm_history_free(h2);
    bgm_stream_free(st);
    bgm_stream_free(vst);
    bgm_model_free(mem);
    bgm_model_free(str);
    bgm_model_free(plain);
    free_tensors((bgm_tensor *[]){x, y, w, vx, vy, vw}, 6);
}
END_TEST

START_TEST(class_weight_on_a_stream_equals_class_weight_on_arrays)
{
    static const float cw[3] = {0.5f, 2.0f, 1.25f};
    bgm_tensor *x, *y, *w, *vx, *vy, *vw;
    bgm_model *mem = classifier(), *str = classifier();
    bgm_history *h0 = NULL, *h1 = NULL;
    bgm_fit_options o = quiet(2);
    src r, vr;
    bgm_stream *st, *vst;
    data(&x, &y, &w, NS, 7);
    data(&vx, &vy, &vw, 13, 3);
    r = source(x, y, NULL);
    vr = source(vx, vy, NULL);
    st = wstream(&r, NULL);
    vst = wstream(&vr, NULL);
    o.class_weight = cw;
    o.num_class_weights = 3;
    o.validation_x = vx;
    o.validation_y = vy;
    BGM_ASSERT_OK(bgm_model_fit(&h0, mem, x, y, &o));
    o.validation_x = o.validation_y = NULL;
    /* Class weights weigh training only: the validation stream stays unweighted. */
    BGM_ASSERT_OK(bgm_model_fit_stream(&h1, str, st, 0, vst, 0, &o));
    bgm_test_assert_same_weights(mem, str);
    assert_same_history(h0, h1, 2);
    bgm_history_free(h0);
    bgm_history_free(h1);
    bgm_stream_free(st);
    bgm_stream_free(vst);
    bgm_model_free(mem);
    bgm_model_free(str);
    free_tensors((bgm_tensor *[]){x, y, w, vx, vy, vw}, 6);
}
END_TEST

/* Weighted accuracy and top-2 accuracy of m (values 2 and 3; 1 is plain
 * accuracy) on sequence targets y (n, T) of C classes count each step,
 * weighted by w (n, T) per step, then by its rows' first column as
 * per-sample weights (n) repeated over the steps. */
static void check_step_metrics(const bgm_model *m, const bgm_tensor *x, const bgm_tensor *y,
                               const bgm_tensor *w)
{
    int64_t n = bgm_tensor_dim(y, 0), t = bgm_tensor_dim(y, 1), c, i, k;
    bgm_tensor *p = NULL, *w1 = NULL;
    const float *pv, *wv = bgm_tensor_data(w);
    const int32_t *yv = bgm_tensor_data(y);
    double r[4], hit = 0.0, want[2][3] = {{0}}; /* per step / per sample: acc, top2, sum w */
    int per;
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&w1, BGM_FLOAT32, &n, 1));
    c = bgm_tensor_dim(p, 2);
    pv = bgm_tensor_data(p);
    for (i = 0; i < n; i++)
        ((float *)bgm_tensor_data(w1))[i] = wv[i * t];
    for (i = 0; i < n * t; i++) {
        const float *row = pv + i * c;
        int64_t best = 0, above = 0;
        for (k = 0; k < c; k++) {
            best = row[k] > row[best] ? k : best;
            above += row[k] > row[yv[i]];
        }
        hit += best == yv[i];
        for (per = 0; per < 2; per++) {
            double wi = per == 0 ? wv[i] : wv[(i / t) * t];
            want[per][0] += wi * (best == yv[i]);
            want[per][1] += wi * (above < 2);
            want[per][2] += wi;
        }
    }
    for (per = 0; per < 2; per++) {
        BGM_ASSERT_OK(bgm_model_evaluate_weighted(r, 4, m, (const bgm_tensor *[]){x}, 1,
                                                  (const bgm_tensor *[]){y}, 1,
                                                  per == 0 ? w : w1, 4));
        ck_assert_double_eq_tol(r[1], hit / (double)(n * t), 1e-12);
        ck_assert_double_eq_tol(r[2], want[per][0] / want[per][2], 1e-6);
        ck_assert_double_eq_tol(r[3], want[per][1] / want[per][2], 1e-6);
    }
    bgm_tensor_free(p);
    bgm_tensor_free(w1);
}

START_TEST(per_step_weights_on_a_stream_weigh_as_on_arrays)
{
    enum { T = 3, C = 4, NT = 10 };
    bgm_tensor *x = bgm_test_randn((int64_t[]){NT, T, 2}, 3, 8), *y = NULL;
    bgm_tensor *w = bgm_test_uniform((int64_t[]){NT, T}, 2, 0.0f, 3.0f, 9);
    bgm_stream_tensor xd = {BGM_FLOAT32, 2, {T, 2}}, yd = {BGM_INT32, 1, {T}};
    bgm_stream_tensor wd = {BGM_FLOAT32, 1, {T}};
    bgm_model *ms[2];
    bgm_history *h[2];
    bgm_fit_options o = quiet(2);
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    src r;
    int32_t *ids;
    int k;
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, (int64_t[]){NT, T}, 2));
    ids = bgm_tensor_data(y);
    for (k = 0; k < NT * T; k++)
        ids[k] = (k * 7 + 2) % C;
    for (k = 0; k < 2; k++) {
        bgm_optimizer *opt = NULL;
        ms[k] = NULL;
        BGM_ASSERT_OK(bgm_model_create(&ms[k], (int64_t[]){T, 2}, 2, 3));
        BGM_ASSERT_OK(bgm_model_add(ms[k], bgm_layer_dense(C, BGM_ACT_LINEAR)));
        BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.1f, 0.0f, 0));
        BGM_ASSERT_OK(bgm_model_compile(ms[k], opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                        1, (bgm_metric_kind[]){BGM_METRIC_ACCURACY,
                                                               BGM_METRIC_ACCURACY}, 2));
        BGM_ASSERT_OK(bgm_model_add_metric(ms[k], BGM_METRIC_TOP_K_ACCURACY,
                                           &(bgm_metric_options){
                                               .size = sizeof(bgm_metric_options), .k = 2}));
        BGM_ASSERT_OK(bgm_model_set_metric_weighted(ms[k], 2, 1));
        BGM_ASSERT_OK(bgm_model_set_metric_weighted(ms[k], 3, 1));
    }
    r = source(x, y, w);
    r.batch = 4;
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.num_y = 1;
    sp.y = &yd;
    sp.sample_weight = &wd;
    sp.batch_size = 4;
    sp.fill = src_fill;
    sp.reset = src_reset;
    sp.ctx = &r;
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    o.batch_size = 4;
    o.sample_weight = w;
    BGM_ASSERT_OK(bgm_model_fit(&h[0], ms[0], x, y, &o));
    o.sample_weight = NULL;
    BGM_ASSERT_OK(bgm_model_fit_stream(&h[1], ms[1], st, 0, NULL, 0, &o));
    bgm_test_assert_same_weights(ms[0], ms[1]);
    assert_same_history(h[0], h[1], 2);
    check_step_metrics(ms[0], x, y, w);
    for (k = 0; k < 2; k++) {
        bgm_history_free(h[k]);
        bgm_model_free(ms[k]);
    }
    bgm_stream_free(st);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w);
}
END_TEST

/* Keras' weighted_metrics: weighted accuracy sum(w * correct) / sum(w)
 * next to the plain one, on arrays and on a weighted stream alike; kept by
 * model files; kinds that cannot be weighted refused. */
START_TEST(weighted_metrics_weigh_samples_as_keras)
{
    bgm_tensor *x, *y, *w, *p = NULL;
    bgm_model *m = classifier(), *back = NULL;
    bgm_fit_options o = quiet(1);
    double r[4], rs[4], hits = 0.0, whits = 0.0, wsum = 0.0;
    const float *pv, *wv;
    const int32_t *yv;
    bgm_stream *st;
    src sr;
    char path[512];
    int64_t i;
    int k;
    data(&x, &y, &w, NS, 11);
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_ACCURACY, NULL));
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_PRECISION, &(bgm_metric_options){
        .size = sizeof(bgm_metric_options), .average = BGM_AVERAGE_MACRO, .num_classes = 3}));
    ck_assert_int_eq(bgm_model_num_metrics(m), 4);
    BGM_ASSERT_OK(bgm_model_set_metric_weighted(m, 2, 1));
    BGM_ASSERT_OK(bgm_model_set_metric_name(m, 2, "weighted_accuracy"));
    ck_assert_int_eq(bgm_model_metric_weighted(m, 2), 1);
    ck_assert_int_eq(bgm_model_metric_weighted(m, 1), 0);
    BGM_ASSERT_FAILS(bgm_model_set_metric_weighted(m, 3, 1), BGM_E_UNSUPPORTED,
                     "metric 'precision' cannot be weighted by sample weights");
    BGM_ASSERT_FAILS(bgm_model_set_metric_weighted(m, 0, 1), BGM_E_INVALID,
                     "value 0 is not a metric (the metrics are values 1 to 3)");
    o.sample_weight = w;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    /* The numbers, from the predictions. */
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 8));
    pv = bgm_tensor_data(p);
    wv = bgm_tensor_data(w);
    yv = bgm_tensor_data(y);
    for (i = 0; i < NS; i++) {
        int best = 0;
        for (k = 1; k < 3; k++)
            if (pv[3 * i + k] > pv[3 * i + best])
                best = k;
        hits += best == yv[i];
        whits += wv[i] * (best == yv[i]);
        wsum += wv[i];
    }
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(r, 4, m, (const bgm_tensor *[]){x}, 1,
                                              (const bgm_tensor *[]){y}, 1, w, 8));
    ck_assert_double_eq_tol(r[1], hits / NS, 1e-12);
    ck_assert_double_eq_tol(r[2], whits / wsum, 1e-12);
    ck_assert(fabs(r[2] - r[1]) > 1e-3);
    /* Without weights the weighted metric weighs 1 each: the plain value. */
    BGM_ASSERT_OK(bgm_model_evaluate(rs, 4, m, x, y, 8));
    ck_assert(rs[1] == rs[2]);
    /* A weighted stream gives the numbers of the weighted arrays. */
    sr = source(x, y, w);
    st = wstream(&sr, &per_sample);
    BGM_ASSERT_OK(bgm_model_evaluate_stream(rs, 4, m, st, 0));
    ck_assert_mem_eq(r, rs, sizeof r);
    bgm_stream_free(st);
    /* Model files keep the flag. */
    bgm_test_tmpdir_create("wmetrics");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_metric_weighted(back, 2), 1);
    ck_assert_int_eq(bgm_model_metric_weighted(back, 1), 0);
    ck_assert_str_eq(bgm_model_metric_name(back, 2), "weighted_accuracy");
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(rs, 4, back, (const bgm_tensor *[]){x}, 1,
                                              (const bgm_tensor *[]){y}, 1, w, 8));
    ck_assert_mem_eq(r, rs, sizeof r);
    bgm_test_tmpdir_remove();
    bgm_model_free(back);
    bgm_tensor_free(p);
    free_tensors((bgm_tensor *[]){x, y, w}, 3);
    bgm_model_free(m);
}
END_TEST

/* Weighted MSE and MAE: each sample's mean error over its values, weighted. */
START_TEST(weighted_mse_and_mae_match_the_hand_computation)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){6, 2}, 2, 4);
    bgm_tensor *y = bgm_test_randn((int64_t[]){6, 2}, 2, 5), *p = NULL;
    bgm_tensor *w = bgm_test_tensor((int64_t[]){6}, 1, (float[]){1, 0, 2, 0.5f, 3, 1});
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    double r[5], se = 0.0, ae = 0.0, wse = 0.0, wae = 0.0, wsum = 0.0;
    const float *pv, *yv, *wv;
    int i, k;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0,
                                    (bgm_metric_kind[]){BGM_METRIC_MSE, BGM_METRIC_MAE,
                                                        BGM_METRIC_MSE, BGM_METRIC_MAE}, 4));
    BGM_ASSERT_OK(bgm_model_set_metric_weighted(m, 3, 1));
    BGM_ASSERT_OK(bgm_model_set_metric_weighted(m, 4, 1));
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
    pv = bgm_tensor_data(p);
    yv = bgm_tensor_data(y);
    wv = bgm_tensor_data(w);
    for (i = 0; i < 6; i++) {
        double s2 = 0.0, s1 = 0.0;
        for (k = 0; k < 2; k++) {
            double d = (double)pv[2 * i + k] - yv[2 * i + k];
            s2 += d * d / 2;
            s1 += fabs(d) / 2;
        }
        se += s2 / 6;
        ae += s1 / 6;
        wse += wv[i] * s2;
        wae += wv[i] * s1;
        wsum += wv[i];
    }
    BGM_ASSERT_OK(bgm_model_evaluate_weighted(r, 5, m, (const bgm_tensor *[]){x}, 1,
                                              (const bgm_tensor *[]){y}, 1, w, 4));
    ck_assert_double_eq_tol(r[1], se, 1e-6);
    ck_assert_double_eq_tol(r[2], ae, 1e-6);
    ck_assert_double_eq_tol(r[3], wse / wsum, 1e-6);
    ck_assert_double_eq_tol(r[4], wae / wsum, 1e-6);
    bgm_tensor_free(p);
    free_tensors((bgm_tensor *[]){x, y, w}, 3);
    bgm_model_free(m);
}
END_TEST

/* x (2) -> Dense(1) and Dense(1): two outputs, MSE. */
static bgm_model *two_outputs(void)
{
    bgm_graph *g = NULL;
    bgm_node *in, *outs[2];
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){2}, 1, "x");
    outs[0] = bgm_test_call(bgm_layer_dense(1, BGM_ACT_LINEAR), &in, 1);
    outs[1] = bgm_test_call(bgm_layer_dense(1, BGM_ACT_LINEAR), &in, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, outs, 2, 1));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    return m;
}

static bgm_status fill_two(void *ctx, int64_t batch, bgm_tensor *const *xs,
                           bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    memset(bgm_tensor_data(xs[0]), 0, 4 * 2 * sizeof(float));
    memset(bgm_tensor_data(ys[0]), 0, 4 * sizeof(float));
    memset(bgm_tensor_data(ys[1]), 0, 4 * sizeof(float));
    *rows = batch == 0 ? 4 : 0;
    return BGM_OK;
}

START_TEST(bad_stream_weights_get_clear_errors)
{
    static const float cw[3] = {1, 1, 1};
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {2}}, yd = {BGM_INT32, 0, {0}};
    bgm_stream_tensor wint = {BGM_INT32, 0, {0}}, wbig = {BGM_FLOAT32, 1, {5}};
    bgm_stream_tensor wneg = {BGM_FLOAT32, 1, {-2}};
    bgm_tensor *x, *y, *w;
    bgm_model *m = classifier(), *two = two_outputs();
    bgm_fit_options o = quiet(1);
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    src r;
    double res[2];
    data(&x, &y, &w, NS, 1);
    r = source(x, y, w);
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.y = &yd;
    sp.fill = src_fill;
    sp.reset = src_reset;
    sp.ctx = &r;
    /* The spec. */
    sp.sample_weight = &per_sample;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID,
                     "bgm_stream_create: sample_weight with num_y = 0");
    ck_assert_ptr_null(st);
    sp.num_y = 1;
    sp.sample_weight = &wint;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_DTYPE,
                     "sample_weight.dtype = 2, expected BGM_FLOAT32");
    sp.sample_weight = &wneg;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID,
                     "sample_weight.shape[0] = -2 is negative");
    /* Per-step weights (5) for an output (3) that has no steps. */
    sp.sample_weight = &wbig;
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_SHAPE,
                     "bgm_model_fit_stream: sample_weight has shape (8, 5)");
    BGM_ASSERT_FAILS(bgm_model_evaluate_stream(res, 2, m, st, 0), BGM_E_SHAPE,
                     "bgm_model_evaluate_stream: sample_weight has shape (8, 5)");
    bgm_stream_free(st);
    st = NULL;
    /* A weight that is not finite, in the third batch. */
    r = source(x, y, w);
    r.bad_batch = 2;
    st = wstream(&r, &per_sample);
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "sample_weight holds nan at flat index 0; weights must be finite");
    /* sample_weight in the options, with weighted or unweighted streams. */
    o.sample_weight = w;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "sample_weight with a training stream: a stream's batches carry their "
                     "own weights");
    o.sample_weight = NULL;
    o.validation_sample_weight = w;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "validation_sample_weight without validation arrays");
    o.validation_sample_weight = NULL;
    /* class_weight and a stream of weights. */
    o.class_weight = cw;
    o.num_class_weights = 3;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "give class_weight or a stream of sample weights, not both");
    bgm_stream_free(st);
    /* class_weight of the wrong length, and a class out of its range. */
    r = source(x, y, NULL);
    st = wstream(&r, NULL);
    o.num_class_weights = 2;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "num_class_weights = 2, the output has 3 classes");
    bgm_stream_free(st);
    /* class_weight for a model of two outputs on an unweighted stream. */
    {
        bgm_stream_tensor yd1 = {BGM_FLOAT32, 1, {1}}, ys2[2];
        ys2[0] = ys2[1] = yd1;
        bgm_stream_spec_init(&sp);
        sp.x = &xd;
        sp.num_y = 2;
        sp.y = ys2;
        sp.batch_size = 4;
        sp.fill = fill_two;
        BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
        o.num_class_weights = 2;
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, two, st, 0, NULL, 0, &o), BGM_E_INVALID,
                         "class_weight is only supported for models of one output");
        /* Both stay usable. */
        o.class_weight = NULL;
        o.num_class_weights = 0;
        BGM_ASSERT_OK(bgm_model_fit_stream(NULL, two, st, 0, NULL, 0, &o));
        bgm_stream_free(st);
    }
    bgm_model_free(m);
    bgm_model_free(two);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(w);
}
END_TEST

Suite *suite_stream_weights(void)
{
    Suite *s = suite_create("stream_weights");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, weighted_stream_fits_as_weighted_arrays);
    tcase_add_test(tc, class_weight_on_a_stream_equals_class_weight_on_arrays);
    tcase_add_test(tc, per_step_weights_on_a_stream_weigh_as_on_arrays);
    tcase_add_test(tc, weighted_metrics_weigh_samples_as_keras);
    tcase_add_test(tc, weighted_mse_and_mae_match_the_hand_computation);
    tcase_add_test(tc, bad_stream_weights_get_clear_errors);
    suite_add_tcase(s, tc);
    return s;
}
