/* ROC AUC: sort by score, walk the distinct thresholds from the top and add
 * trapezoids. In units of (false positive, true positive) counts every
 * trapezoid's doubled area is an integer, so the sum is exact. */
#include "auc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "labels.h"

void bgm__auc_init(bgm__auc *a) { memset(a, 0, sizeof *a); }

void bgm__auc_release(bgm__auc *a)
{
    free(a->samples);
    bgm__auc_init(a);
}

void bgm__auc_reset(bgm__auc *a)
{
    a->n = 0;
    a->positives = 0;
}

int bgm__auc_undefined(const bgm__auc *a)
{
    return a->positives == 0 || a->positives == a->n;
}

bgm_status bgm__auc_reserve(bgm__auc *a, const char *func, int64_t extra)
{
    int64_t want = a->n + extra, cap = a->capacity ? a->capacity : 1024;
    bgm__auc_sample *grown;
    if (want <= a->capacity)
        return BGM_OK;
    while (cap < want && cap <= INT64_MAX / 2)
        cap *= 2;
    if (cap < want || (uint64_t)cap > SIZE_MAX / sizeof *grown)
        return bgm__fail(BGM_E_NOMEM, "%s: too many scores to keep (%lld)", func,
                         (long long)want);
    grown = realloc(a->samples, (size_t)cap * sizeof *grown);
    if (!grown)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory keeping %lld scores", func,
                         (long long)want);
    a->samples = grown;
    a->capacity = cap;
    return BGM_OK;
}

static double score_at(const bgm_tensor *t, int64_t i, int64_t stride, int column)
{
    int64_t k = i * stride + column;
    if (t->dtype == BGM_INT32)
        return ((const int32_t *)t->data)[k];
    return ((const float *)t->data)[k];
}

bgm_status bgm__auc_add(bgm__auc *a, const char *func, const bgm_tensor *y_true,
                        const bgm_tensor *y_score, int pos_label)
{
    char sh[BGM__SHAPE_STR_SIZE];
    bgm__labels t;
    int64_t i, n, cols = y_score->ndim == 2 ? y_score->shape[1] : 1;
    int column = cols == 2 ? pos_label : 0;
    bgm_status s;
    if (y_score->ndim < 1 || y_score->ndim > 2 || cols < 1 || cols > 2)
        return bgm__fail(BGM_E_SHAPE, "%s: y_pred must hold binary scores of shape (N,), "
                         "(N, 1) or (N, 2), got %s", func,
                         bgm__tensor_shape_str(sh, sizeof sh, y_score));
    if (y_true->ndim >= 1 && y_true->shape[0] != y_score->shape[0])
        return bgm__fail_samples(func, "y_true", y_true, "y_pred", y_score);
    s = bgm__labels_true(&t, func, y_true, 2);
    if (s != BGM_OK)
        return s;
    n = t.n;
    for (i = 0; i < n; i++)
        if (isnan(score_at(y_score, i, cols, column)))
            return bgm__fail(BGM_E_RANGE, "%s: y_pred[%lld] = nan is not a score", func,
                             (long long)i);
    s = bgm__auc_reserve(a, func, n);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < n; i++) {
        bgm__auc_sample *dst = &a->samples[a->n + i];
        dst->score = score_at(y_score, i, cols, column);
        dst->positive = bgm__label_at(&t, i) == pos_label;
        a->positives += dst->positive;
    }
    a->n += n;
    return BGM_OK;
}

static int by_score_descending(const void *pa, const void *pb)
{
    double a = ((const bgm__auc_sample *)pa)->score, b = ((const bgm__auc_sample *)pb)->score;
    return (a < b) - (a > b);
}

double bgm__auc_area(bgm__auc *a)
{
    double tp = 0, fp = 0, doubled = 0;
    int64_t i = 0;
    qsort(a->samples, (size_t)a->n, sizeof *a->samples, by_score_descending);
    while (i < a->n) {
        double threshold = a->samples[i].score, tp0 = tp, fp0 = fp;
        for (; i < a->n && a->samples[i].score == threshold; i++) {
            tp += a->samples[i].positive;
            fp += !a->samples[i].positive;
        }
        doubled += (fp - fp0) * (tp + tp0);
    }
    return doubled / (2.0 * tp * fp);
}
