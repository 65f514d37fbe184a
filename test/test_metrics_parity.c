/* scikit-learn parity of the classification report and averaged metrics:
 * zero_division printed as given, and labels= listing a subset of the
 * classes present (num_labels). Expected texts are computed by hand (and
 * equal scikit-learn 1.2's output on the same inputs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static bgm_tensor *ints(const int32_t *v, int64_t n)
{
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, &n, 1, v));
    return t;
}

START_TEST(report_prints_the_zero_division_value)
{
    /* class 2 is never predicted: precision = zero_division = 1, recall
     * 0/1 = 0, F1 = 2*1*0 / (1+0) = 0; macro P = (1 + 2/3 + 1)/3 = 0.89,
     * weighted P = (1*1 + 2*2/3 + 1*1)/4 = 0.83, weighted F1 = (1 + 1.6)/4 = 0.65 */
    static const int32_t yt[] = {0, 1, 1, 2}, yp[] = {0, 1, 1, 1};
    static const char *const want =
        "              precision    recall  f1-score   support\n\n"
        "           0       1.00      1.00      1.00         1\n"
        "           1       0.67      1.00      0.80         2\n"
        "           2       1.00      0.00      0.00         1\n\n"
        "    accuracy                           0.75         4\n"
        "   macro avg       0.89      0.67      0.60         4\n"
        "weighted avg       0.83      0.75      0.65         4\n";
    bgm_tensor *t = ints(yt, 4), *p = ints(yp, 4);
    bgm_report_options o;
    char buf[1024];
    size_t needed = 0;
    int zd = 0;
    BGM_ASSERT_OK(bgm_report_options_init(&o, sizeof o));
    ck_assert_int_eq(o.digits, 2);
    o.zero_division = 1.0;
    BGM_ASSERT_OK(bgm_classification_report_ex(buf, sizeof buf, &needed, &zd, t, p, 3, &o));
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(needed, strlen(want) + 1);
    ck_assert_int_eq(zd, BGM_ZERO_DIVISION_PRECISION);
    /* the default (and the old function) still print 0 */
    BGM_ASSERT_OK(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, p, 3, NULL));
    ck_assert_ptr_nonnull(strstr(buf, "           2       0.00      0.00      0.00         1\n"));
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(report_over_listed_labels_only)
{
    /* labels [0, 1] of classes {0, 1, 2}: class 0 predicted twice (samples
     * 0, 4), right once: P 1/2, R 1/1; class 1 predicted twice (2, 3), right
     * once: P 1/2, R 1/2. micro: tp 2, predicted 4, true 3. */
    static const int32_t yt[] = {0, 1, 2, 1, 2}, yp[] = {0, 2, 1, 1, 0};
    static const char *const names[] = {"cat", "dog"};
    static const char *const want =
        "              precision    recall  f1-score   support\n\n"
        "         cat       0.50      1.00      0.67         1\n"
        "         dog       0.50      0.50      0.50         2\n\n"
        "   micro avg       0.50      0.67      0.57         3\n"
        "   macro avg       0.50      0.75      0.58         3\n"
        "weighted avg       0.50      0.67      0.56         3\n";
    bgm_tensor *t = ints(yt, 5), *p = ints(yp, 5);
    bgm_report_options o;
    char buf[1024];
    BGM_ASSERT_OK(bgm_report_options_init(&o, sizeof o));
    o.num_labels = 2;
    o.class_names = names;
    o.zero_division = 1.0;
    BGM_ASSERT_OK(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, p, 3, &o));
    ck_assert_str_eq(buf, want);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(averages_over_listed_labels_only)
{
    static const int32_t yt[] = {0, 1, 2, 1, 2}, yp[] = {0, 2, 1, 1, 0};
    static const struct {
        bgm_metric_kind kind;
        bgm_average average;
        double want;
    } cases[] = {
        {BGM_METRIC_PRECISION, BGM_AVERAGE_MACRO, 0.5},
        {BGM_METRIC_RECALL, BGM_AVERAGE_MACRO, 0.75},
        {BGM_METRIC_PRECISION, BGM_AVERAGE_MICRO, 0.5},
        {BGM_METRIC_RECALL, BGM_AVERAGE_MICRO, 2.0 / 3.0},
        {BGM_METRIC_F1, BGM_AVERAGE_MICRO, 4.0 / 7.0},
        {BGM_METRIC_RECALL, BGM_AVERAGE_WEIGHTED, 2.0 / 3.0},
        {BGM_METRIC_F1, BGM_AVERAGE_WEIGHTED, (2.0 / 3.0 + 2 * 0.5) / 3.0},
    };
    bgm_tensor *t = ints(yt, 5), *p = ints(yp, 5);
    bgm_metric_options o;
    bgm_metric *m = NULL;
    double v;
    size_t i;
    BGM_ASSERT_OK(bgm_metric_options_init(&o, sizeof o));
    ck_assert_int_eq(o.num_labels, 0);
    o.num_classes = 3;
    o.num_labels = 2;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.average = cases[i].average;
        BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, cases[i].kind, &o, t, p));
        ck_assert_msg(fabs(v - cases[i].want) < 1e-15, "case %zu: %.17g, want %.17g", i, v,
                      cases[i].want);
    }
    /* num_labels = 0 or 3: every class (micro = accuracy = 2/5) */
    o.average = BGM_AVERAGE_MICRO;
    o.num_labels = 3;
    BGM_ASSERT_OK(bgm_metric_compute(&v, NULL, BGM_METRIC_PRECISION, &o, t, p));
    ck_assert(fabs(v - 0.4) < 1e-15);
    o.num_labels = 4;
    BGM_ASSERT_FAILS(bgm_metric_create(&m, BGM_METRIC_PRECISION, &o), BGM_E_INVALID,
                     "num_labels = 4, expected 0 (all) to num_classes = 3");
    ck_assert_ptr_null(m);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(report_options_are_checked)
{
    static const int32_t y[] = {0, 1};
    bgm_tensor *t = ints(y, 2);
    bgm_report_options o;
    char buf[256];
    BGM_ASSERT_FAILS(bgm_report_options_init(NULL, sizeof o), BGM_E_INVALID, "NULL");
    BGM_ASSERT_FAILS(bgm_report_options_init(&o, 4), BGM_E_INVALID,
                     "bgm_report_options_init: size 4");
    BGM_ASSERT_FAILS(bgm_report_options_init(&o, sizeof o + 8), BGM_E_UNSUPPORTED,
                     "bgm_report_options_init");
    BGM_ASSERT_OK(bgm_report_options_init(&o, sizeof o));
    o.num_labels = 3;
    BGM_ASSERT_FAILS(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, t, 2, &o),
                     BGM_E_INVALID, "bgm_classification_report_ex: num_labels = 3");
    ck_assert_str_eq(buf, "");
    o.num_labels = 0;
    o.zero_division = NAN;
    BGM_ASSERT_FAILS(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, t, 2, &o),
                     BGM_E_INVALID, "zero_division = nan is not finite");
    o.zero_division = 0.0;
    o.digits = 31;
    BGM_ASSERT_FAILS(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, t, 2, &o),
                     BGM_E_INVALID, "digits must be in 0..30, got 31");
    o.digits = 2;
    o.size = 3;
    BGM_ASSERT_FAILS(bgm_classification_report_ex(buf, sizeof buf, NULL, NULL, t, t, 2, &o),
                     BGM_E_INVALID, "initialize the options with bgm_report_options_init");
    bgm_tensor_free(t);
}
END_TEST

Suite *suite_metrics_parity(void)
{
    Suite *s = suite_create("metrics_parity");
    TCase *tc = tcase_create("sklearn");
    tcase_add_test(tc, report_prints_the_zero_division_value);
    tcase_add_test(tc, report_over_listed_labels_only);
    tcase_add_test(tc, averages_over_listed_labels_only);
    tcase_add_test(tc, report_options_are_checked);
    suite_add_tcase(s, tc);
    return s;
}
