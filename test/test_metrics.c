/* Metrics: hand-computed values, streaming against one-shot, zero division,
 * the classification report, and bad input for every public function.
 *
 * The worked example used throughout (3 classes, 10 samples):
 *
 *   y_true = 0 0 0 1 1 1 1 2 2 2
 *   y_pred = 0 1 1 1 1 1 2 2 0 2
 *
 *   confusion (row = true, column = predicted)   per class   P      R      F1
 *        1 2 0    support 3                          0      1/2    1/3    2/5
 *        0 3 1            4                          1      3/5    3/4    2/3
 *        1 0 2            3                          2      2/3    2/3    2/3
 *   predicted: 2 5 3
 *
 *   accuracy = (1 + 3 + 2) / 10 = 0.6 = micro P = micro R = micro F1
 *   macro    P = (1/2 + 3/5 + 2/3) / 3 = 53/90     R = (1/3 + 3/4 + 2/3) / 3 = 7/12
 *            F1 = (2/5 + 2/3 + 2/3) / 3 = 26/45
 *   weighted P = (3/2 + 12/5 + 2) / 10 = 0.59     R = 0.6
 *            F1 = (6/5 + 8/3 + 2) / 10 = 44/75
 *
 *   Scores whose argmax is y_pred; top-2 misses rows 2 ([.1 .6 .3], true 0)
 *   and 6 ([.4 .1 .5], true 1). Row 8 ([.5 .25 .25], true 2) ties classes 1
 *   and 2; as in scikit-learn the larger id ranks first, so it is a hit:
 *   top-2 accuracy = 8/10.
 *
 *   AUC: labels 0 0 1 1 0 1 1 0, scores .1 .4 .35 .8 .4 .4 .9 .2. Counting,
 *   per positive, the negatives scored lower (+1/2 per tie): .35 -> 2,
 *   .8 -> 4, .4 -> 2 + 2 * 1/2 = 3, .9 -> 4; AUC = 13 / (4 * 4) = 0.8125.
 *
 *   Regression: y_true 3 -0.5 2 7, y_pred 2.5 0 2 8. Errors .5 -.5 0 -1:
 *   MSE = 1.5 / 4 = 0.375, MAE = 2 / 4 = 0.5. mean(y_true) = 2.875,
 *   SS_tot = 29.1875, SS_res = 1.5, R² = 1 - 1.5 / 29.1875 = 443/467.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const int32_t ex_true[10] = {0, 0, 0, 1, 1, 1, 1, 2, 2, 2};
static const int32_t ex_pred[10] = {0, 1, 1, 1, 1, 1, 2, 2, 0, 2};
static const float ex_scores[30] = {
    0.7f, 0.2f, 0.1f,  0.3f, 0.5f, 0.2f,  0.1f, 0.6f, 0.3f,  0.2f, 0.7f, 0.1f,
    0.1f, 0.8f, 0.1f,  0.3f, 0.4f, 0.3f,  0.4f, 0.1f, 0.5f,  0.1f, 0.2f, 0.7f,
    0.5f, 0.25f, 0.25f, 0.2f, 0.2f, 0.6f};

static bgm_tensor *ints(const int32_t *v, int64_t n)
{
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, &n, 1, v));
    return t;
}

static bgm_tensor *floats(const float *v, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    return bgm_test_tensor(shape, cols ? 2 : 1, v);
}

static bgm_metric_options options(int num_classes, bgm_average average)
{
    bgm_metric_options o;
    BGM_ASSERT_OK(bgm_metric_options_init(&o, sizeof o));
    o.num_classes = num_classes;
    o.average = average;
    return o;
}

/* One-shot value of kind over the example's ids (3 classes). */
static double example_value(bgm_metric_kind kind, bgm_average average)
{
    bgm_metric_options o = options(3, average);
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10);
    double v = -1;
    int zd = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, kind, &o, t, p));
    ck_assert_int_eq(zd, 0);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    return v;
}

#define CLOSE(got, want) ck_assert_double_eq_tol((got), (want), 1e-12)

START_TEST(confusion_matrix_counts_true_rows_and_predicted_columns)
{
    static const int32_t want[9] = {1, 2, 0, 0, 3, 1, 1, 0, 2};
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10), *s = floats(ex_scores, 10, 3);
    bgm_tensor *cm = NULL, *cm2 = NULL;
    BGM_ASSERT_OK(bgm_confusion_matrix(&cm, t, p, 3));
    ck_assert_int_eq(bgm_tensor_dtype(cm), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_dim(cm, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(cm, 1), 3);
    ck_assert_mem_eq(bgm_tensor_data(cm), want, sizeof want);
    /* scores (N, C) are read by argmax and give the same matrix */
    BGM_ASSERT_OK(bgm_confusion_matrix(&cm2, t, s, 3));
    ck_assert_mem_eq(bgm_tensor_data(cm2), want, sizeof want);
    bgm_tensor_free(cm);
    bgm_tensor_free(cm2);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(s);
}
END_TEST

START_TEST(per_class_scores_match_the_hand_computation)
{
    double p[3], r[3], f[3];
    int64_t support[3];
    int zd = -1;
    bgm_tensor *t = ints(ex_true, 10), *y = ints(ex_pred, 10);
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, support, &zd, t, y, 3, 0.0));
    CLOSE(p[0], 1.0 / 2); CLOSE(p[1], 3.0 / 5); CLOSE(p[2], 2.0 / 3);
    CLOSE(r[0], 1.0 / 3); CLOSE(r[1], 3.0 / 4); CLOSE(r[2], 2.0 / 3);
    CLOSE(f[0], 2.0 / 5); CLOSE(f[1], 2.0 / 3); CLOSE(f[2], 2.0 / 3);
    ck_assert_int_eq(support[0], 3);
    ck_assert_int_eq(support[1], 4);
    ck_assert_int_eq(support[2], 3);
    ck_assert_int_eq(zd, 0);
    /* every output array is optional */
    BGM_ASSERT_OK(bgm_classification_scores(NULL, NULL, f, NULL, NULL, t, y, 3, 0.0));
    CLOSE(f[0], 2.0 / 5);
    bgm_tensor_free(t);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(averages_match_the_hand_computation)
{
    CLOSE(example_value(BGM_METRIC_ACCURACY, BGM_AVERAGE_MACRO), 0.6);
    CLOSE(example_value(BGM_METRIC_PRECISION, BGM_AVERAGE_MACRO), 53.0 / 90);
    CLOSE(example_value(BGM_METRIC_RECALL, BGM_AVERAGE_MACRO), 7.0 / 12);
    CLOSE(example_value(BGM_METRIC_F1, BGM_AVERAGE_MACRO), 26.0 / 45);
    CLOSE(example_value(BGM_METRIC_PRECISION, BGM_AVERAGE_MICRO), 0.6);
    CLOSE(example_value(BGM_METRIC_RECALL, BGM_AVERAGE_MICRO), 0.6);
    CLOSE(example_value(BGM_METRIC_F1, BGM_AVERAGE_MICRO), 0.6);
    CLOSE(example_value(BGM_METRIC_PRECISION, BGM_AVERAGE_WEIGHTED), 0.59);
    CLOSE(example_value(BGM_METRIC_RECALL, BGM_AVERAGE_WEIGHTED), 0.6);
    CLOSE(example_value(BGM_METRIC_F1, BGM_AVERAGE_WEIGHTED), 44.0 / 75);
}
END_TEST

START_TEST(top_k_accuracy_breaks_ties_toward_the_larger_class)
{
    bgm_metric_options o = options(0, BGM_AVERAGE_MACRO);
    bgm_tensor *t = ints(ex_true, 10), *s = floats(ex_scores, 10, 3);
    double v = -1;
    o.k = 2;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_TOP_K_ACCURACY, &o, t, s));
    CLOSE(v, 0.8);
    o.k = 1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_TOP_K_ACCURACY, &o, t, s));
    CLOSE(v, 0.6);
    o.k = 3;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_TOP_K_ACCURACY, &o, t, s));
    CLOSE(v, 1.0);
    /* plain accuracy on the scores takes their argmax */
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, NULL, t, s));
    CLOSE(v, 0.6);
    bgm_tensor_free(t);
    bgm_tensor_free(s);
}
END_TEST

START_TEST(auc_counts_tied_scores_as_one_half)
{
    static const int32_t y[8] = {0, 0, 1, 1, 0, 1, 1, 0};
    static const float s[8] = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.4f, 0.9f, 0.2f};
    static const float y_float[8] = {0, 0, 1, 1, 0, 1, 1, 0};
    bgm_tensor *t = ints(y, 8), *tf = floats(y_float, 8, 0), *sc = floats(s, 8, 1);
    bgm_metric_options o = options(0, BGM_AVERAGE_BINARY);
    double v = -1;
    int zd = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_AUC, NULL, t, sc));
    CLOSE(v, 0.8125);
    ck_assert_int_eq(zd, 0);
    /* float32 0/1 labels read the same */
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_AUC, NULL, tf, sc));
    CLOSE(v, 0.8125);
    /* with class 0 as the positive one, the curve mirrors */
    o.pos_label = 0;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_AUC, &o, t, sc));
    CLOSE(v, 1.0 - 0.8125);
    bgm_tensor_free(t);
    bgm_tensor_free(tf);
    bgm_tensor_free(sc);
}
END_TEST

START_TEST(auc_reads_column_pos_label_of_two_column_scores)
{
    static const int32_t y[4] = {0, 1, 0, 1};
    static const float s[8] = {0.9f, 0.1f, 0.3f, 0.7f, 0.4f, 0.6f, 0.8f, 0.2f};
    bgm_tensor *t = ints(y, 4), *sc = floats(s, 4, 2);
    double v = -1;
    /* column 1: .1 .7 .6 .2 -> positives .7 and .2, negatives .1 and .6:
     * .7 beats both, .2 beats .1 only: 3/4 */
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_AUC, NULL, t, sc));
    CLOSE(v, 0.75);
    bgm_tensor_free(t);
    bgm_tensor_free(sc);
}
END_TEST

START_TEST(regression_metrics_match_the_hand_computation)
{
    static const float yt[4] = {3, -0.5f, 2, 7}, yp[4] = {2.5f, 0, 2, 8};
    bgm_tensor *t = floats(yt, 4, 0), *p = floats(yp, 4, 1);  /* (4,) against (4, 1) */
    double v = -1;
    int zd = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_MSE, NULL, t, p));
    CLOSE(v, 0.375);
    ck_assert_int_eq(zd, 0);
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_MAE, NULL, t, p));
    CLOSE(v, 0.5);
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_R2, NULL, t, p));
    CLOSE(v, 443.0 / 467);
    ck_assert_int_eq(zd, 0);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(r2_of_several_outputs_is_their_uniform_mean)
{
    /* output 0: y 1 2 3, pred 1 2 4: SS_res 1, SS_tot 2 -> 0.5
     * output 1: y 0 0 6, pred 0 0 6: perfect -> 1.0 */
    static const float yt[6] = {1, 0, 2, 0, 3, 6}, yp[6] = {1, 0, 2, 0, 4, 6};
    bgm_tensor *t = floats(yt, 3, 2), *p = floats(yp, 3, 2);
    double v = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_R2, NULL, t, p));
    CLOSE(v, 0.75);
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_MSE, NULL, t, p));
    CLOSE(v, 1.0 / 6);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

/* Feeds rows [cuts[i], cuts[i+1]) as batches and compares with one update. */
static void check_streaming(bgm_metric_kind kind, const bgm_metric_options *o,
                            const bgm_tensor *y_true, const bgm_tensor *y_pred,
                            const int64_t *cuts, int ncuts)
{
    bgm_metric *whole = NULL, *parts = NULL;
    double a = -1, b = -2;
    int i;
    BGM_ASSERT_OK(bgm_metric_create(&whole, kind, o));
    BGM_ASSERT_OK(bgm_metric_create(&parts, kind, o));
    BGM_ASSERT_OK(bgm_metric_update(whole, y_true, y_pred));
    for (i = 0; i + 1 < ncuts; i++) {
        bgm_tensor *t = NULL, *p = NULL;
        BGM_ASSERT_OK(bgm_tensor_slice(&t, y_true, cuts[i], cuts[i + 1]));
        BGM_ASSERT_OK(bgm_tensor_slice(&p, y_pred, cuts[i], cuts[i + 1]));
        BGM_ASSERT_OK(bgm_metric_update(parts, t, p));
        bgm_tensor_free(t);
        bgm_tensor_free(p);
    }
    BGM_ASSERT_OK(bgm_metric_result(&a, whole));
    BGM_ASSERT_OK(bgm_metric_result(&b, parts));
    ck_assert_msg(fabs(a - b) <= 1e-12, "%s: one batch %.17g, batches %.17g",
                  bgm_metric_name(whole), a, b);
    /* asking twice gives the same answer */
    BGM_ASSERT_OK(bgm_metric_result(&b, parts));
    ck_assert_msg(fabs(a - b) <= 1e-12, "%s: second result %.17g", bgm_metric_name(whole), b);
    bgm_metric_free(whole);
    bgm_metric_free(parts);
}

START_TEST(streaming_over_batches_equals_one_shot)
{
    static const int64_t cuts[] = {0, 3, 3, 7, 10};  /* includes an empty batch */
    static const bgm_average avgs[] = {BGM_AVERAGE_MACRO, BGM_AVERAGE_MICRO,
                                       BGM_AVERAGE_WEIGHTED};
    static const bgm_metric_kind prf[] = {BGM_METRIC_PRECISION, BGM_METRIC_RECALL,
                                          BGM_METRIC_F1};
    static const int32_t yb[10] = {0, 0, 1, 1, 0, 1, 1, 0, 1, 0};
    static const float sb[10] = {0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.4f, 0.9f, 0.2f, 0.4f, 0.6f};
    static const float yr[10] = {3, -0.5f, 2, 7, 1, 100, 101, 99, 100.5f, 2};
    static const float pr[10] = {2.5f, 0, 2, 8, 1, 98, 101, 100, 100, 3};
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10), *s = floats(ex_scores, 10, 3);
    bgm_tensor *tb = ints(yb, 10), *sbt = floats(sb, 10, 0);
    bgm_tensor *rt = floats(yr, 10, 0), *rp = floats(pr, 10, 0);
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    int i, j;
    check_streaming(BGM_METRIC_ACCURACY, &o, t, p, cuts, 5);
    check_streaming(BGM_METRIC_ACCURACY, &o, t, s, cuts, 5);
    o.k = 2;
    check_streaming(BGM_METRIC_TOP_K_ACCURACY, &o, t, s, cuts, 5);
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            o.average = avgs[j];
            check_streaming(prf[i], &o, t, p, cuts, 5);
            check_streaming(prf[i], &o, t, s, cuts, 5);
        }
    o = options(0, BGM_AVERAGE_BINARY);
    check_streaming(BGM_METRIC_F1, &o, tb, sbt, cuts, 5);
    check_streaming(BGM_METRIC_AUC, &o, tb, sbt, cuts, 5);
    check_streaming(BGM_METRIC_MSE, &o, rt, rp, cuts, 5);
    check_streaming(BGM_METRIC_MAE, &o, rt, rp, cuts, 5);
    check_streaming(BGM_METRIC_R2, &o, rt, rp, cuts, 5);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(s);
    bgm_tensor_free(tb);
    bgm_tensor_free(sbt);
    bgm_tensor_free(rt);
    bgm_tensor_free(rp);
}
END_TEST

START_TEST(reset_forgets_the_samples_and_keeps_the_options)
{
    static const int32_t right[3] = {0, 1, 2};
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    bgm_metric *m = NULL;
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10), *r = ints(right, 3);
    double v = -1;
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_PRECISION, &o));
    ck_assert_str_eq(bgm_metric_name(m), "precision");
    ck_assert_int_eq(bgm_metric_get_kind(m), BGM_METRIC_PRECISION);
    BGM_ASSERT_OK(bgm_metric_update(m, t, p));
    BGM_ASSERT_OK(bgm_metric_result(&v, m));
    CLOSE(v, 53.0 / 90);
    BGM_ASSERT_OK(bgm_metric_reset(m));
    BGM_ASSERT_OK(bgm_metric_update(m, r, r));
    BGM_ASSERT_OK(bgm_metric_result(&v, m));
    CLOSE(v, 1.0);
    bgm_metric_free(m);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(r);
}
END_TEST

START_TEST(names_suit_progress_lines)
{
    static const char *const want[] = {"accuracy", "top_k_accuracy", "precision", "recall",
                                       "f1", "auc", "mse", "mae", "r2"};
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    int kind;
    for (kind = BGM_METRIC_ACCURACY; kind <= BGM_METRIC_R2; kind++) {
        bgm_metric *m = NULL;
        o.num_classes = kind == BGM_METRIC_AUC ? 2 : 3;
        BGM_ASSERT_OK(bgm_metric_create(&m, (bgm_metric_kind)kind, &o));
        ck_assert_str_eq(bgm_metric_name(m), want[kind - 1]);
        bgm_metric_free(m);
    }
}
END_TEST

START_TEST(binary_scores_are_thresholded_above_the_threshold)
{
    /* scores .2 .5 .51 .9 -> classes 0 0 1 1 at 0.5 (strictly above, as Keras) */
    static const float s[4] = {0.2f, 0.5f, 0.51f, 0.9f}, yf[4] = {0, 1, 1, 1};
    bgm_tensor *sc = floats(s, 4, 1), *t = floats(yf, 4, 0);
    bgm_metric_options o = options(0, BGM_AVERAGE_BINARY);
    double v = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, NULL, t, sc));
    CLOSE(v, 0.75);
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_RECALL, NULL, t, sc));
    CLOSE(v, 2.0 / 3);
    o.threshold = 0.3f;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, &o, t, sc));
    CLOSE(v, 1.0);
    /* precision of the positive class 0: predicted 0 twice, right once */
    o.threshold = 0.5f;
    o.pos_label = 0;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_PRECISION, &o, t, sc));
    CLOSE(v, 0.5);
    bgm_tensor_free(sc);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(one_hot_labels_are_read_by_argmax)
{
    static const float onehot[9] = {1, 0, 0, 0, 0, 1, 0, 1, 0};
    static const int32_t pred[3] = {0, 2, 2};
    bgm_tensor *t = floats(onehot, 3, 3), *p = ints(pred, 3);
    double v = -1;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, NULL, t, p));
    CLOSE(v, 2.0 / 3);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

/* ---- zero division ------------------------------------------------------ */

START_TEST(a_class_never_predicted_has_precision_zero_division)
{
    static const int32_t yt[3] = {0, 1, 2}, yp[3] = {0, 0, 1};
    double p[3], r[3], f[3];
    int zd = 0;
    bgm_tensor *t = ints(yt, 3), *y = ints(yp, 3);
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    double v = -1;
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, NULL, &zd, t, y, 3, 0.0));
    ck_assert_int_eq(zd, BGM_ZERO_DIVISION_PRECISION);
    CLOSE(p[2], 0.0); CLOSE(r[2], 0.0); CLOSE(f[2], 0.0);
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, NULL, &zd, t, y, 3, 1.0));
    CLOSE(p[2], 1.0); CLOSE(r[2], 0.0); CLOSE(f[2], 0.0);
    /* macro precision = (1/2 + 0 + zd) / 3, and the flag says it happened */
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_PRECISION, &o, t, y));
    CLOSE(v, 0.5 / 3);
    ck_assert_int_eq(zd, 1);
    o.zero_division = 1.0;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_PRECISION, &o, t, y));
    CLOSE(v, 1.5 / 3);
    ck_assert_int_eq(zd, 1);
    /* recall is defined for every class here */
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_RECALL, &o, t, y));
    CLOSE(v, 1.0 / 3);
    ck_assert_int_eq(zd, 0);
    /* and F1 is 0 for class 2 whatever zero_division says: recall is 0 */
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_F1, &o, t, y));
    CLOSE(v, (2.0 / 3) / 3);
    ck_assert_int_eq(zd, 0);
    bgm_tensor_free(t);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(a_class_absent_from_y_true_has_recall_zero_division)
{
    static const int32_t yt[3] = {0, 0, 1}, yp[3] = {0, 2, 1};
    double p[3], r[3], f[3];
    int64_t support[3];
    int zd = 0;
    bgm_tensor *t = ints(yt, 3), *y = ints(yp, 3);
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, support, &zd, t, y, 3, 1.0));
    ck_assert_int_eq(zd, BGM_ZERO_DIVISION_RECALL);
    CLOSE(p[2], 0.0); CLOSE(r[2], 1.0); CLOSE(f[2], 0.0);
    ck_assert_int_eq(support[2], 0);
    bgm_tensor_free(t);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(a_class_absent_everywhere_takes_the_value_in_all_three)
{
    static const int32_t yt[2] = {0, 1};
    double p[3], r[3], f[3];
    int zd = 0;
    bgm_tensor *t = ints(yt, 2);
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, NULL, &zd, t, t, 3, 1.0));
    CLOSE(p[2], 1.0); CLOSE(r[2], 1.0); CLOSE(f[2], 1.0);
    BGM_ASSERT_OK(bgm_classification_scores(p, r, f, NULL, &zd, t, t, 3, 0.0));
    CLOSE(p[2], 0.0); CLOSE(r[2], 0.0); CLOSE(f[2], 0.0);
    ck_assert_int_eq(zd, BGM_ZERO_DIVISION_PRECISION | BGM_ZERO_DIVISION_RECALL |
                             BGM_ZERO_DIVISION_F1);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(a_metric_without_samples_gives_the_zero_division_value)
{
    static const bgm_metric_kind kinds[] = {BGM_METRIC_ACCURACY, BGM_METRIC_TOP_K_ACCURACY,
                                            BGM_METRIC_F1, BGM_METRIC_AUC, BGM_METRIC_MSE,
                                            BGM_METRIC_MAE};
    bgm_metric_options o = options(0, BGM_AVERAGE_BINARY);
    size_t i;
    o.zero_division = 1.0;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bgm_metric *m = NULL;
        double v = -1;
        BGM_ASSERT_OK(bgm_metric_create(&m, kinds[i], &o));
        BGM_ASSERT_OK(bgm_metric_result(&v, m));
        CLOSE(v, 1.0);
        ck_assert_int_eq(bgm_metric_zero_division(m), 1);
        bgm_metric_free(m);
    }
}
END_TEST

START_TEST(auc_of_a_single_class_is_undefined)
{
    static const int32_t y[3] = {1, 1, 1};
    static const float s[3] = {0.2f, 0.9f, 0.5f};
    bgm_tensor *t = ints(y, 3), *sc = floats(s, 3, 0);
    bgm_metric_options o = options(0, BGM_AVERAGE_BINARY);
    double v = -1;
    int zd = 0;
    o.zero_division = NAN;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_AUC, NULL, t, sc));
    CLOSE(v, 0.0);
    ck_assert_int_eq(zd, 1);
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_AUC, &o, t, sc));
    ck_assert(isnan(v));
    bgm_tensor_free(t);
    bgm_tensor_free(sc);
}
END_TEST

START_TEST(r2_of_a_constant_target_follows_force_finite)
{
    static const float c[3] = {2, 2, 2}, off[3] = {1, 2, 3};
    bgm_tensor *t = floats(c, 3, 0), *p = floats(off, 3, 0), *one = NULL;
    double v = -1;
    int zd = 0;
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_R2, NULL, t, t));
    CLOSE(v, 1.0);
    ck_assert_int_eq(zd, 1);
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_R2, NULL, t, p));
    CLOSE(v, 0.0);
    ck_assert_int_eq(zd, 1);
    BGM_ASSERT_OK(bgm_tensor_slice(&one, p, 0, 1));
    BGM_ASSERT_OK(bgm_metric_compute(&v, &zd, BGM_METRIC_R2, NULL, one, one));
    ck_assert(isnan(v));
    ck_assert_int_eq(zd, 1);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(one);
}
END_TEST

/* ---- the report --------------------------------------------------------- */

static const char report_2[] =
    "              precision    recall  f1-score   support\n"
    "\n"
    "           0       0.50      0.33      0.40         3\n"
    "           1       0.60      0.75      0.67         4\n"
    "           2       0.67      0.67      0.67         3\n"
    "\n"
    "    accuracy                           0.60        10\n"
    "   macro avg       0.59      0.58      0.58        10\n"
    "weighted avg       0.59      0.60      0.59        10\n";

START_TEST(report_matches_scikit_learn_layout)
{
    static const char want4[] =
        "              precision    recall  f1-score   support\n"
        "\n"
        "         cat     0.5000    0.3333    0.4000         3\n"
        "         dog     0.6000    0.7500    0.6667         4\n"
        "        bird     0.6667    0.6667    0.6667         3\n"
        "\n"
        "    accuracy                         0.6000        10\n"
        "   macro avg     0.5889    0.5833    0.5778        10\n"
        "weighted avg     0.5900    0.6000    0.5867        10\n";
    static const char *const names[3] = {"cat", "dog", "bird"};
    char buf[1024];
    size_t needed = 0;
    int zd = -1;
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10);
    BGM_ASSERT_OK(bgm_classification_report(buf, sizeof buf, &needed, &zd, t, p, 3, NULL, 2));
    ck_assert_str_eq(buf, report_2);
    ck_assert_uint_eq(needed, strlen(report_2) + 1);
    ck_assert_int_eq(zd, 0);
    BGM_ASSERT_OK(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, p, 3, names, 4));
    ck_assert_str_eq(buf, want4);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(report_shows_micro_avg_when_a_class_never_occurs)
{
    static const char want[] =
        "              precision    recall  f1-score   support\n"
        "\n"
        "           0       1.00      1.00      1.00         1\n"
        "           1       1.00      1.00      1.00         1\n"
        "           2       0.00      0.00      0.00         0\n"
        "\n"
        "   micro avg       1.00      1.00      1.00         2\n"
        "   macro avg       0.67      0.67      0.67         2\n"
        "weighted avg       1.00      1.00      1.00         2\n";
    static const int32_t y[2] = {0, 1};
    char buf[1024];
    int zd = 0;
    bgm_tensor *t = ints(y, 2);
    BGM_ASSERT_OK(bgm_classification_report(buf, sizeof buf, NULL, &zd, t, t, 3, NULL, 2));
    ck_assert_str_eq(buf, want);
    ck_assert_int_eq(zd, BGM_ZERO_DIVISION_PRECISION | BGM_ZERO_DIVISION_RECALL |
                             BGM_ZERO_DIVISION_F1);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(report_widens_for_long_names_counting_code_points)
{
    /* "größer-als-zwölf" is 16 code points (19 bytes) */
    static const char *const names[2] = {"gr\xc3\xb6\xc3\x9f" "er-als-zw\xc3\xb6lf", "b"};
    static const int32_t y[2] = {0, 1};
    char buf[1024];
    bgm_tensor *t = ints(y, 2);
    BGM_ASSERT_OK(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, t, 2, names, 2));
    ck_assert_msg(strncmp(buf, "                  precision", 27) == 0, "%s", buf);
    ck_assert_msg(strstr(buf, "\n               b       1.00") != NULL, "%s", buf);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(report_truncates_like_snprintf_and_tells_the_size)
{
    char small[20];
    size_t needed = 0;
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10);
    char *buf;
    BGM_ASSERT_OK(bgm_classification_report(NULL, 0, &needed, NULL, t, p, 3, NULL, 2));
    ck_assert_uint_eq(needed, sizeof report_2);
    memset(small, 'x', sizeof small);
    BGM_ASSERT_OK(bgm_classification_report(small, sizeof small, &needed, NULL, t, p, 3,
                                            NULL, 2));
    ck_assert_uint_eq(needed, sizeof report_2);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert(strncmp(small, report_2, sizeof small - 1) == 0);
    buf = malloc(needed);
    BGM_ASSERT_OK(bgm_classification_report(buf, needed, NULL, NULL, t, p, 3, NULL, 2));
    ck_assert_str_eq(buf, report_2);
    free(buf);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

/* ---- options ------------------------------------------------------------ */

START_TEST(options_init_fills_the_documented_defaults)
{
    bgm_metric_options o, s = BGM_METRIC_OPTIONS_INIT;
    memset(&o, 0x5a, sizeof o);
    BGM_ASSERT_OK(bgm_metric_options_init(&o, sizeof o));
    ck_assert_uint_eq(o.size, sizeof o);
    ck_assert_int_eq(o.num_classes, 0);
    ck_assert_int_eq(o.k, 5);
    ck_assert_int_eq(o.average, BGM_AVERAGE_BINARY);
    ck_assert_int_eq(o.pos_label, 1);
    ck_assert_float_eq(o.threshold, 0.5f);
    ck_assert_double_eq(o.zero_division, 0.0);
    ck_assert_uint_eq(s.size, o.size);
    ck_assert_int_eq(s.k, o.k);
    ck_assert_int_eq(s.average, o.average);
    ck_assert_float_eq(s.threshold, o.threshold);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(options_init_rejects_bad_sizes)
{
    bgm_metric_options o;
    BGM_ASSERT_FAILS(bgm_metric_options_init(NULL, sizeof o), BGM_E_INVALID, "'opts'");
    BGM_ASSERT_FAILS(bgm_metric_options_init(&o, 4), BGM_E_INVALID, "options size 4");
    BGM_ASSERT_FAILS(bgm_metric_options_init(&o, sizeof o + 8), BGM_E_UNSUPPORTED, "newer");
}
END_TEST

START_TEST(create_rejects_bad_kinds_and_options)
{
    bgm_metric *m = (bgm_metric *)&m;
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    BGM_ASSERT_FAILS(bgm_metric_create(NULL, BGM_METRIC_ACCURACY, NULL), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_metric_create(&m, (bgm_metric_kind)99, NULL), BGM_E_INVALID,
                     "unknown metric kind 99");
    ck_assert_ptr_null(m);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, (bgm_metric_kind)0, NULL), BGM_E_INVALID,
                     "unknown metric kind 0");
    o.size = 0;
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_ACCURACY, &o), BGM_E_INVALID,
                     "bgm_metric_options_init");
    o = options(-1, BGM_AVERAGE_MACRO);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_ACCURACY, &o), BGM_E_INVALID,
                     "num_classes must be >= 0, got -1");
    o = options(3, BGM_AVERAGE_MACRO);
    o.k = 0;
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_TOP_K_ACCURACY, &o), BGM_E_INVALID,
                     "k >= 1, got 0");
    o = options(3, (bgm_average)9);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_F1, &o), BGM_E_INVALID,
                     "unknown average 9");
    o = options(3, BGM_AVERAGE_BINARY);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_PRECISION, &o), BGM_E_INVALID,
                     "num_classes 2 (or 0), got 3");
    o = options(2, BGM_AVERAGE_BINARY);
    o.pos_label = 2;
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_RECALL, &o), BGM_E_INVALID,
                     "pos_label 0 or 1, got 2");
    o = options(0, BGM_AVERAGE_WEIGHTED);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_RECALL, &o), BGM_E_INVALID,
                     "recall with weighted averaging needs num_classes >= 1");
    o = options(3, BGM_AVERAGE_MACRO);
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_AUC, &o), BGM_E_INVALID,
                     "AUC needs num_classes 2");
    o = options(0, BGM_AVERAGE_MACRO);
    o.threshold = NAN;
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_ACCURACY, &o), BGM_E_INVALID,
                     "threshold is NaN");
    ck_assert_ptr_null(m);
}
END_TEST

START_TEST(update_rejects_null_arguments)
{
    bgm_metric *m = NULL;
    bgm_tensor *t = ints(ex_true, 10);
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_ACCURACY, NULL));
    BGM_ASSERT_FAILS(bgm_metric_update(NULL, t, t), BGM_E_INVALID, "'metric'");
    BGM_ASSERT_FAILS(bgm_metric_update(m, NULL, t), BGM_E_INVALID, "'y_true'");
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, NULL), BGM_E_INVALID, "'y_pred'");
    bgm_metric_free(m);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(update_names_both_shapes_when_sample_counts_differ)
{
    bgm_metric *m = NULL;
    bgm_tensor *t = ints(ex_true, 4), *s = floats(ex_scores, 3, 3);
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_ACCURACY, NULL));
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, s), BGM_E_SHAPE,
                     "bgm_metric_update (accuracy): y_true has 4 samples (shape (4,)) but "
                     "y_pred has 3 (shape (3, 3))");
    bgm_metric_free(m);
    bgm_tensor_free(t);
    bgm_tensor_free(s);
}
END_TEST

START_TEST(update_rejects_labels_outside_the_classes_and_keeps_its_state)
{
    static const int32_t bad[3] = {0, 1, 5}, neg[3] = {0, -2, 1};
    static const float half[3] = {0, 0.5f, 1};
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    bgm_metric *m = NULL, *acc = NULL;
    bgm_tensor *t = ints(ex_true, 10), *p = ints(ex_pred, 10), *b = ints(bad, 3);
    bgm_tensor *n = ints(neg, 3), *h = floats(half, 3, 0);
    double v = -1;
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_F1, &o));
    BGM_ASSERT_OK(bgm_metric_create(&acc, BGM_METRIC_ACCURACY, NULL));
    BGM_ASSERT_OK(bgm_metric_update(m, t, p));
    BGM_ASSERT_FAILS(bgm_metric_update(m, b, b), BGM_E_RANGE, "y_true[2] = 5 is outside [0, 3)");
    BGM_ASSERT_FAILS(bgm_metric_update(m, n, b), BGM_E_RANGE, "y_true[1] = -2 is outside");
    BGM_ASSERT_FAILS(bgm_metric_update(acc, n, n), BGM_E_RANGE, "y_true[1] = -2 is negative");
    BGM_ASSERT_FAILS(bgm_metric_update(m, h, b), BGM_E_RANGE,
                     "y_true[1] = 0.5 is not a class id");
    BGM_ASSERT_OK(bgm_metric_result(&v, m));
    CLOSE(v, 26.0 / 45);
    bgm_metric_free(m);
    bgm_metric_free(acc);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(b);
    bgm_tensor_free(n);
    bgm_tensor_free(h);
}
END_TEST

START_TEST(update_rejects_wrong_dtypes_and_shapes)
{
    static const int32_t two_d[6] = {0, 1, 1, 0, 0, 1};
    int64_t shape2[2] = {3, 2}, shape3[3] = {3, 1, 3};
    bgm_metric_options o = options(3, BGM_AVERAGE_MACRO);
    bgm_metric *m = NULL, *top = NULL, *bin = NULL;
    bgm_tensor *t = ints(ex_true, 3), *i2 = NULL, *s4 = floats(ex_scores, 3, 4);
    bgm_tensor *s1 = floats(ex_scores, 3, 0), *cube = NULL, *scalar = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&i2, BGM_INT32, shape2, 2, two_d));
    BGM_ASSERT_OK(bgm_tensor_zeros(&cube, BGM_FLOAT32, shape3, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&scalar, BGM_INT32, NULL, 0));
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_PRECISION, &o));
    o.k = 2;
    BGM_ASSERT_OK(bgm_metric_create(&top, BGM_METRIC_TOP_K_ACCURACY, &o));
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, i2), BGM_E_DTYPE,
                     "y_pred of shape (3, 2) is int32");
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, s4), BGM_E_SHAPE,
                     "y_pred of shape (3, 4) has 4 columns but num_classes is 3");
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, s1), BGM_E_SHAPE,
                     "holds binary scores, but num_classes is 3");
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, cube), BGM_E_SHAPE,
                     "y_pred must have shape (N,), (N, 1) or (N, C), got (3, 1, 3)");
    BGM_ASSERT_FAILS(bgm_metric_update(m, scalar, t), BGM_E_SHAPE,
                     "y_true must have shape (N,), (N, 1) or (N, C), got ()");
    BGM_ASSERT_FAILS(bgm_metric_update(top, t, t), BGM_E_DTYPE,
                     "(top_k_accuracy): y_pred must hold float32 scores of shape (N, C)");
    BGM_ASSERT_FAILS(bgm_metric_update(top, t, s1), BGM_E_SHAPE,
                     "float32 scores of shape (N, C), C >= 2, got float32 (3,)");
    BGM_ASSERT_FAILS(bgm_metric_update(top, t, s4), BGM_E_SHAPE, "4 columns");
    o = options(0, BGM_AVERAGE_BINARY);
    BGM_ASSERT_OK(bgm_metric_create(&bin, BGM_METRIC_AUC, &o));
    BGM_ASSERT_FAILS(bgm_metric_update(bin, t, cube), BGM_E_SHAPE,
                     "(auc): y_pred must hold binary scores");
    bgm_metric_free(m);
    bgm_metric_free(top);
    bgm_metric_free(bin);
    bgm_tensor_free(t);
    bgm_tensor_free(i2);
    bgm_tensor_free(s4);
    bgm_tensor_free(s1);
    bgm_tensor_free(cube);
    bgm_tensor_free(scalar);
}
END_TEST

START_TEST(auc_rejects_nan_scores_and_bad_labels)
{
    static const int32_t y[3] = {0, 1, 2}, ok[3] = {0, 1, 1};
    const float s[3] = {0.1f, NAN, 0.3f}, fine[3] = {0.1f, 0.2f, 0.3f};
    bgm_tensor *t = ints(y, 3), *good = ints(ok, 3), *sc = floats(s, 3, 0);
    bgm_tensor *f = floats(fine, 3, 0), *f2 = floats(fine, 2, 0);
    bgm_metric *m = NULL;
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_AUC, NULL));
    BGM_ASSERT_FAILS(bgm_metric_update(m, good, sc), BGM_E_RANGE, "y_pred[1] = nan");
    BGM_ASSERT_FAILS(bgm_metric_update(m, t, f), BGM_E_RANGE, "y_true[2] = 2 is outside [0, 2)");
    BGM_ASSERT_FAILS(bgm_metric_update(m, good, f2), BGM_E_SHAPE,
                     "y_true has 3 samples (shape (3,)) but y_pred has 2 (shape (2,))");
    ck_assert_int_eq(bgm_metric_zero_division(m), 1);  /* still empty */
    bgm_metric_free(m);
    bgm_tensor_free(t);
    bgm_tensor_free(good);
    bgm_tensor_free(sc);
    bgm_tensor_free(f);
    bgm_tensor_free(f2);
}
END_TEST

START_TEST(regression_rejects_mismatched_shapes)
{
    static const float v[6] = {1, 2, 3, 4, 5, 6};
    bgm_tensor *a = floats(v, 6, 0), *b = floats(v, 3, 2), *c = floats(v, 2, 3);
    bgm_tensor *d = floats(v, 3, 0), *scalar = NULL;
    bgm_metric *m = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&scalar, BGM_FLOAT32, NULL, 0));
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_R2, NULL));
    BGM_ASSERT_FAILS(bgm_metric_update(m, a, b), BGM_E_SHAPE,
                     "y_true has 6 samples (shape (6,)) but y_pred has 3 (shape (3, 2))");
    BGM_ASSERT_FAILS(bgm_metric_update(m, b, d), BGM_E_SHAPE,
                     "y_true of shape (3, 2) and y_pred of shape (3,) hold different");
    BGM_ASSERT_FAILS(bgm_metric_update(m, scalar, scalar), BGM_E_SHAPE,
                     "need a sample dimension");
    BGM_ASSERT_OK(bgm_metric_update(m, b, b));
    BGM_ASSERT_FAILS(bgm_metric_update(m, c, c), BGM_E_SHAPE,
                     "has 3 outputs per sample but earlier batches had 2");
    bgm_metric_free(m);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_tensor_free(d);
    bgm_tensor_free(scalar);
}
END_TEST

START_TEST(result_reset_and_accessors_handle_null)
{
    bgm_metric *m = NULL;
    double v = 7;
    BGM_ASSERT_OK(bgm_metric_create(&m, BGM_METRIC_MSE, NULL));
    BGM_ASSERT_FAILS(bgm_metric_result(NULL, m), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_metric_result(&v, NULL), BGM_E_INVALID, "'metric'");
    CLOSE(v, 0.0);
    BGM_ASSERT_FAILS(bgm_metric_reset(NULL), BGM_E_INVALID, "'metric'");
    ck_assert_int_eq(bgm_metric_zero_division(NULL), 0);
    ck_assert_str_eq(bgm_metric_name(NULL), "");
    ck_assert_int_eq(bgm_metric_get_kind(NULL), 0);
    bgm_metric_free(NULL);
    bgm_metric_free(m);
}
END_TEST

START_TEST(compute_rejects_bad_input_and_zeroes_its_outputs)
{
    bgm_tensor *t = ints(ex_true, 10), *b = ints(ex_true, 4);
    double v = 7;
    int zd = 7;
    BGM_ASSERT_FAILS(bgm_metric_compute(NULL, &zd, BGM_METRIC_ACCURACY, NULL, t, t),
                     BGM_E_INVALID, "'out'");
    ck_assert_int_eq(zd, 0);
    BGM_ASSERT_FAILS(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, NULL, NULL, t),
                     BGM_E_INVALID, "'y_true'");
    BGM_ASSERT_FAILS(bgm_metric_compute(&v, NULL, BGM_METRIC_ACCURACY, NULL, t, NULL),
                     BGM_E_INVALID, "'y_pred'");
    BGM_ASSERT_FAILS(bgm_metric_compute(&v, NULL, (bgm_metric_kind)42, NULL, t, t),
                     BGM_E_INVALID, "unknown metric kind 42");
    v = 7;
    BGM_ASSERT_FAILS(bgm_metric_compute(&v, &zd, BGM_METRIC_MAE, NULL, t, b), BGM_E_SHAPE,
                     "bgm_metric_compute (mae): y_true has 10 samples");
    CLOSE(v, 0.0);
    bgm_tensor_free(t);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(confusion_matrix_rejects_bad_input)
{
    static const int32_t bad[3] = {0, 3, 1};
    static const int32_t two_d[4] = {0, 1, 1, 0};
    int64_t shape2[2] = {2, 2};
    bgm_tensor *t = ints(ex_true, 3), *b = ints(bad, 3), *p4 = ints(ex_pred, 4);
    bgm_tensor *out = (bgm_tensor *)&out, *i2 = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&i2, BGM_INT32, shape2, 2, two_d));
    BGM_ASSERT_FAILS(bgm_confusion_matrix(NULL, t, t, 3), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, NULL, t, 3), BGM_E_INVALID, "'y_true'");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, t, NULL, 3), BGM_E_INVALID, "'y_pred'");
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, t, t, 0), BGM_E_INVALID,
                     "num_classes must be >= 1, got 0");
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, t, b, 3), BGM_E_RANGE,
                     "bgm_confusion_matrix: y_pred[1] = 3 is outside [0, 3)");
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, t, p4, 3), BGM_E_SHAPE,
                     "y_true has 3 samples (shape (3,)) but y_pred has 4 (shape (4,))");
    BGM_ASSERT_FAILS(bgm_confusion_matrix(&out, i2, i2, 2), BGM_E_DTYPE, "is int32");
    ck_assert_ptr_null(out);
    bgm_tensor_free(t);
    bgm_tensor_free(b);
    bgm_tensor_free(p4);
    bgm_tensor_free(i2);
}
END_TEST

START_TEST(classification_scores_rejects_bad_input)
{
    static const int32_t bad[3] = {0, 1, 9};
    double p[3];
    int zd = 7;
    bgm_tensor *t = ints(ex_true, 3), *b = ints(bad, 3);
    BGM_ASSERT_FAILS(bgm_classification_scores(p, NULL, NULL, NULL, &zd, NULL, t, 3, 0),
                     BGM_E_INVALID, "'y_true'");
    ck_assert_int_eq(zd, 0);
    BGM_ASSERT_FAILS(bgm_classification_scores(p, NULL, NULL, NULL, NULL, t, NULL, 3, 0),
                     BGM_E_INVALID, "'y_pred'");
    BGM_ASSERT_FAILS(bgm_classification_scores(p, NULL, NULL, NULL, NULL, t, t, -1, 0),
                     BGM_E_INVALID, "bgm_classification_scores: num_classes must be >= 1");
    BGM_ASSERT_FAILS(bgm_classification_scores(p, NULL, NULL, NULL, NULL, t, b, 3, 0),
                     BGM_E_RANGE, "y_pred[2] = 9 is outside [0, 3)");
    bgm_tensor_free(t);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(classification_report_rejects_bad_input)
{
    static const char *const names[3] = {"a", NULL, "c"};
    static const int32_t bad[3] = {0, 1, 3};
    char buf[256];
    size_t needed = 7;
    int zd = 7;
    bgm_tensor *t = ints(ex_true, 3), *b = ints(bad, 3), *p2 = ints(ex_pred, 2);
    BGM_ASSERT_FAILS(bgm_classification_report(NULL, 10, &needed, &zd, t, t, 3, NULL, 2),
                     BGM_E_INVALID, "'buf' is NULL with size 10");
    ck_assert_uint_eq(needed, 0);
    ck_assert_int_eq(zd, 0);
    buf[0] = 'x';
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, NULL, t, 3,
                                               NULL, 2), BGM_E_INVALID, "'y_true'");
    ck_assert_str_eq(buf, "");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, NULL, 3,
                                               NULL, 2), BGM_E_INVALID, "'y_pred'");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, t, 3, NULL,
                                               -1), BGM_E_INVALID, "digits must be in 0..30, got -1");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, t, 3, NULL,
                                               31), BGM_E_INVALID, "got 31");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, t, 3, names,
                                               2), BGM_E_INVALID, "class_names[1] is NULL");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, t, 0, NULL,
                                               2), BGM_E_INVALID, "num_classes must be >= 1");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, b, 3, NULL,
                                               2), BGM_E_RANGE, "y_pred[2] = 3 is outside [0, 3)");
    BGM_ASSERT_FAILS(bgm_classification_report(buf, sizeof buf, NULL, NULL, t, p2, 3, NULL,
                                               2), BGM_E_SHAPE, "but y_pred has 2");
    ck_assert_str_eq(buf, "");
    bgm_tensor_free(t);
    bgm_tensor_free(b);
    bgm_tensor_free(p2);
}
END_TEST

Suite *suite_metrics(void)
{
    Suite *s = suite_create("metrics");
    TCase *values = tcase_create("values");
    TCase *zero = tcase_create("zero_division");
    TCase *report = tcase_create("report");
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(values, confusion_matrix_counts_true_rows_and_predicted_columns);
    tcase_add_test(values, per_class_scores_match_the_hand_computation);
    tcase_add_test(values, averages_match_the_hand_computation);
    tcase_add_test(values, top_k_accuracy_breaks_ties_toward_the_larger_class);
    tcase_add_test(values, auc_counts_tied_scores_as_one_half);
    tcase_add_test(values, auc_reads_column_pos_label_of_two_column_scores);
    tcase_add_test(values, regression_metrics_match_the_hand_computation);
    tcase_add_test(values, r2_of_several_outputs_is_their_uniform_mean);
    tcase_add_test(values, streaming_over_batches_equals_one_shot);
    tcase_add_test(values, reset_forgets_the_samples_and_keeps_the_options);
    tcase_add_test(values, names_suit_progress_lines);
    tcase_add_test(values, binary_scores_are_thresholded_above_the_threshold);
    tcase_add_test(values, one_hot_labels_are_read_by_argmax);
    tcase_add_test(values, options_init_fills_the_documented_defaults);
    suite_add_tcase(s, values);
    tcase_add_test(zero, a_class_never_predicted_has_precision_zero_division);
    tcase_add_test(zero, a_class_absent_from_y_true_has_recall_zero_division);
    tcase_add_test(zero, a_class_absent_everywhere_takes_the_value_in_all_three);
    tcase_add_test(zero, a_metric_without_samples_gives_the_zero_division_value);
    tcase_add_test(zero, auc_of_a_single_class_is_undefined);
    tcase_add_test(zero, r2_of_a_constant_target_follows_force_finite);
    suite_add_tcase(s, zero);
    tcase_add_test(report, report_matches_scikit_learn_layout);
    tcase_add_test(report, report_shows_micro_avg_when_a_class_never_occurs);
    tcase_add_test(report, report_widens_for_long_names_counting_code_points);
    tcase_add_test(report, report_truncates_like_snprintf_and_tells_the_size);
    suite_add_tcase(s, report);
    tcase_add_test(bad, options_init_rejects_bad_sizes);
    tcase_add_test(bad, create_rejects_bad_kinds_and_options);
    tcase_add_test(bad, update_rejects_null_arguments);
    tcase_add_test(bad, update_names_both_shapes_when_sample_counts_differ);
    tcase_add_test(bad, update_rejects_labels_outside_the_classes_and_keeps_its_state);
    tcase_add_test(bad, update_rejects_wrong_dtypes_and_shapes);
    tcase_add_test(bad, auc_rejects_nan_scores_and_bad_labels);
    tcase_add_test(bad, regression_rejects_mismatched_shapes);
    tcase_add_test(bad, result_reset_and_accessors_handle_null);
    tcase_add_test(bad, compute_rejects_bad_input_and_zeroes_its_outputs);
    tcase_add_test(bad, confusion_matrix_rejects_bad_input);
    tcase_add_test(bad, classification_scores_rejects_bad_input);
    tcase_add_test(bad, classification_report_rejects_bad_input);
    suite_add_tcase(s, bad);
    return s;
}
