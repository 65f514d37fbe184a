/* Precision, recall and F1 from confusion counts. Averages reproduce numpy's
 * summation order so that rounded report values agree with scikit-learn's
 * even when a value sits on a rounding boundary. */
#include "classification.h"

#include <stdlib.h>

#include "confusion.h"
#include "core/error.h"

/* numpy's pairwise summation (8 accumulators, blocks of 128). */
static double pairwise_sum(const double *a, int64_t n)
{
    double r[8], res = 0.0;
    int64_t i;
    int j;
    if (n < 8) {
        for (i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        for (j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (j = 0; j < 8; j++)
                r[j] += a[i + j];
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    i = n / 2;
    i -= i % 8;
    return pairwise_sum(a, i) + pairwise_sum(a + i, n - i);
}

static void prf_from_counts(bgm__prf *out, int *flags, int64_t tp, int64_t predicted,
                            int64_t truth, double zero_division)
{
    int f = 0;
    double denom;
    if (predicted == 0) {
        out->precision = zero_division;
        f |= BGM_ZERO_DIVISION_PRECISION;
    } else {
        out->precision = (double)tp / (double)predicted;
    }
    if (truth == 0) {
        out->recall = zero_division;
        f |= BGM_ZERO_DIVISION_RECALL;
    } else {
        out->recall = (double)tp / (double)truth;
    }
    /* sklearn: (1 + beta^2) P R / (beta^2 P + R), with a zero denominator replaced by 1 */
    denom = out->precision + out->recall;
    if (denom == 0.0)
        denom = 1.0;
    out->f1 = 2.0 * out->precision * out->recall / denom;
    /* F1 only depends on zero_division when both precision and recall do:
     * with tp = 0 and one of them defined, that one is 0 and so is F1 */
    if (f == (BGM_ZERO_DIVISION_PRECISION | BGM_ZERO_DIVISION_RECALL))
        f |= BGM_ZERO_DIVISION_F1;
    *flags |= f;
}

void bgm__prf_class(bgm__prf *out, int64_t *support, int *flags, const int64_t *cm,
                    int num_classes, int c, double zero_division)
{
    int64_t predicted = 0, truth = 0;
    int i;
    for (i = 0; i < num_classes; i++) {
        predicted += cm[(int64_t)i * num_classes + c];
        truth += cm[(int64_t)c * num_classes + i];
    }
    *support = truth;
    prf_from_counts(out, flags, cm[(int64_t)c * num_classes + c], predicted, truth,
                    zero_division);
}

void bgm__prf_average(bgm__prf *out, int *flags, const int64_t *cm, int num_classes,
                      int num_listed, bgm_average average, int pos_label,
                      double zero_division, double *scratch)
{
    double *p = scratch, *r = p + num_classes, *f = r + num_classes, *w = f + num_classes;
    double total;
    int64_t tp = 0, n = 0, predicted = 0, support;
    int c, i;
    if (average == BGM_AVERAGE_BINARY) {
        bgm__prf_class(out, &support, flags, cm, num_classes, pos_label, zero_division);
        return;
    }
    if (average == BGM_AVERAGE_MICRO) {
        /* sums of the listed classes' counts; with every class listed both
         * totals are the number of samples */
        for (c = 0; c < num_listed; c++) {
            tp += cm[(int64_t)c * num_classes + c];
            for (i = 0; i < num_classes; i++) {
                n += cm[(int64_t)c * num_classes + i];
                predicted += cm[(int64_t)i * num_classes + c];
            }
        }
        prf_from_counts(out, flags, tp, predicted, n, zero_division);
        return;
    }
    for (c = 0; c < num_listed; c++) {
        bgm__prf s;
        bgm__prf_class(&s, &support, flags, cm, num_classes, c, zero_division);
        p[c] = s.precision;
        r[c] = s.recall;
        f[c] = s.f1;
        w[c] = (double)support;
        n += support;
    }
    if (average == BGM_AVERAGE_MACRO) {
        out->precision = pairwise_sum(p, num_listed) / num_listed;
        out->recall = pairwise_sum(r, num_listed) / num_listed;
        out->f1 = pairwise_sum(f, num_listed) / num_listed;
        return;
    }
    /* weighted by the listed classes' supports */
    if (n == 0) {
        out->precision = out->recall = out->f1 = zero_division;
        *flags |= BGM_ZERO_DIVISION_PRECISION | BGM_ZERO_DIVISION_RECALL |
                  BGM_ZERO_DIVISION_F1;
        return;
    }
    total = pairwise_sum(w, num_listed);
    for (c = 0; c < num_listed; c++) {
        p[c] *= w[c];
        r[c] *= w[c];
        f[c] *= w[c];
    }
    out->precision = pairwise_sum(p, num_listed) / total;
    out->recall = pairwise_sum(r, num_listed) / total;
    out->f1 = pairwise_sum(f, num_listed) / total;
}

BGM_API bgm_status bgm_classification_scores(double *precision, double *recall,
                                             double *f1, int64_t *support,
                                             int *zero_division,
                                             const bgm_tensor *y_true,
                                             const bgm_tensor *y_pred,
                                             int num_classes,
                                             double zero_division_value)
{
    static const char func[] = "bgm_classification_scores";
    int64_t *cm = NULL, count;
    int c, flags = 0;
    bgm_status s;
    if (zero_division)
        *zero_division = 0;
    BGM__CHECK_NULL(y_true, func);
    BGM__CHECK_NULL(y_pred, func);
    s = bgm__confusion_from_tensors(&cm, func, y_true, y_pred, num_classes);
    if (s != BGM_OK)
        return s;
    for (c = 0; c < num_classes; c++) {
        bgm__prf one;
        bgm__prf_class(&one, &count, &flags, cm, num_classes, c, zero_division_value);
        if (precision)
            precision[c] = one.precision;
        if (recall)
            recall[c] = one.recall;
        if (f1)
            f1[c] = one.f1;
        if (support)
            support[c] = count;
    }
    free(cm);
    if (zero_division)
        *zero_division = flags;
    return BGM_OK;
}
