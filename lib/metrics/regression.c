/* MSE, MAE and R² accumulated over batches. Each batch's mean and squared
 * deviations are computed in two passes and merged with Chan et al.'s
 * formula: a running sum of squares would lose R²'s denominator to
 * cancellation when |mean| is large against the spread. */
#include "regression.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "labels.h"

void bgm__regression_init(bgm__regression *r) { memset(r, 0, sizeof *r); }

void bgm__regression_release(bgm__regression *r)
{
    free(r->mean);
    bgm__regression_init(r);
}

void bgm__regression_reset(bgm__regression *r)
{
    r->n = 0;
    r->outputs = 0;
}

static int64_t trailing(const bgm_tensor *t)
{
    int64_t d = 1;
    int i;
    for (i = 1; i < t->ndim; i++)
        d *= t->shape[i];
    return d;
}

static double value_at(const bgm_tensor *t, int64_t k)
{
    if (t->dtype == BGM_INT32)
        return ((const int32_t *)t->data)[k];
    return ((const float *)t->data)[k];
}

static bgm_status check_shapes(const bgm__regression *r, const char *func,
                               const bgm_tensor *y_true, const bgm_tensor *y_pred,
                               int64_t *outputs)
{
    char st[BGM__SHAPE_STR_SIZE], sp[BGM__SHAPE_STR_SIZE];
    int64_t d;
    if (y_true->ndim < 1 || y_pred->ndim < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: y_true %s and y_pred %s need a sample "
                         "dimension", func, bgm__tensor_shape_str(st, sizeof st, y_true),
                         bgm__tensor_shape_str(sp, sizeof sp, y_pred));
    if (y_true->shape[0] != y_pred->shape[0])
        return bgm__fail_samples(func, "y_true", y_true, "y_pred", y_pred);
    d = trailing(y_true);
    if (d != trailing(y_pred) || d == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: y_true of shape %s and y_pred of shape %s "
                         "hold different values per sample", func,
                         bgm__tensor_shape_str(st, sizeof st, y_true),
                         bgm__tensor_shape_str(sp, sizeof sp, y_pred));
    if (r->outputs != 0 && d != r->outputs)
        return bgm__fail(BGM_E_SHAPE, "%s: y_true of shape %s has %lld outputs per "
                         "sample but earlier batches had %lld", func,
                         bgm__tensor_shape_str(st, sizeof st, y_true), (long long)d,
                         (long long)r->outputs);
    *outputs = d;
    return BGM_OK;
}

static bgm_status reserve(bgm__regression *r, const char *func, int64_t outputs)
{
    double *block;
    if (outputs <= r->capacity)
        return BGM_OK;
    if ((uint64_t)outputs > SIZE_MAX / (4 * sizeof *block) ||
        (block = malloc((size_t)outputs * 4 * sizeof *block)) == NULL)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld outputs", func,
                         (long long)outputs);
    free(r->mean);
    r->mean = block;
    r->capacity = outputs;
    return BGM_OK;
}

/* Lays out r's allocation for d outputs, all zero. */
static void set_outputs(bgm__regression *r, int64_t d)
{
    r->outputs = d;
    r->m2 = r->mean + d;
    r->sse = r->m2 + d;
    r->sae = r->sse + d;
    memset(r->mean, 0, (size_t)d * 4 * sizeof *r->mean);
}

/* Merges n samples of output j with mean, squared deviations m2 and error
 * sums into r (Chan et al.); r->n counts the samples before them. */
static void merge_output(bgm__regression *r, int64_t j, int64_t n, double mean, double m2,
                         double sse, double sae)
{
    double total = (double)(r->n + n), delta = mean - r->mean[j];
    r->mean[j] += delta * ((double)n / total);
    r->m2[j] += m2 + delta * delta * ((double)r->n * (double)n / total);
    r->sse[j] += sse;
    r->sae[j] += sae;
}

bgm_status bgm__regression_add(bgm__regression *r, const char *func,
                               const bgm_tensor *y_true, const bgm_tensor *y_pred)
{
    int64_t i, j, n, d;
    bgm_status s = check_shapes(r, func, y_true, y_pred, &d);
    if (s != BGM_OK)
        return s;
    n = y_true->shape[0];
    if (n == 0)
        return BGM_OK;
    if (r->outputs == 0) {
        s = reserve(r, func, d);
        if (s != BGM_OK)
            return s;
        set_outputs(r, d);
    }
    for (j = 0; j < d; j++) {
        double first = value_at(y_true, j), sum = 0, m2 = 0, sse = 0, sae = 0;
        double mean;
        int constant = 1;
        for (i = 0; i < n; i++) {
            double t = value_at(y_true, i * d + j);
            sum += t;
            constant &= t == first;
        }
        /* sum / n can miss a constant column's value by an ulp, and R² must
         * see such a column's deviation as exactly 0 */
        mean = constant ? first : sum / (double)n;
        for (i = 0; i < n; i++) {
            double t = value_at(y_true, i * d + j), e = t - value_at(y_pred, i * d + j);
            m2 += (t - mean) * (t - mean);
            sse += e * e;
            sae += fabs(e);
        }
        merge_output(r, j, n, mean, m2, sse, sae);
    }
    r->n += n;
    return BGM_OK;
}

bgm_status bgm__regression_reserve(bgm__regression *r, const char *func, int64_t outputs,
                                   int *grew)
{
    *grew = r->outputs == 0 && outputs > r->capacity;
    return *grew ? reserve(r, func, outputs) : BGM_OK;
}

bgm_status bgm__regression_merge(bgm__regression *r, const char *func, int64_t n,
                                 int64_t outputs, const float *pairs)
{
#define STAT(i) ((double)pairs[2 * (i)] + (double)pairs[2 * (i) + 1])
    int64_t j;
    bgm_status s;
    if (n == 0)
        return BGM_OK;
    if (r->outputs != 0 && outputs != r->outputs)
        return bgm__fail(BGM_E_SHAPE, "%s: a part of %lld outputs per sample merged into "
                         "one of %lld", func, (long long)outputs, (long long)r->outputs);
    if (r->outputs == 0) {
        s = reserve(r, func, outputs);
        if (s != BGM_OK)
            return s;
        set_outputs(r, outputs);
    }
    for (j = 0; j < outputs; j++)
        merge_output(r, j, n, STAT(j), STAT(outputs + j), STAT(2 * outputs + j),
                     STAT(3 * outputs + j));
    r->n += n;
    return BGM_OK;
#undef STAT
}

static double mean_over_outputs(const bgm__regression *r, const double *sums)
{
    double acc = 0;
    int64_t j;
    for (j = 0; j < r->outputs; j++)
        acc += sums[j] / (double)r->n;
    return acc / (double)r->outputs;
}

double bgm__regression_mse(const bgm__regression *r, double zero_division, int *undefined)
{
    *undefined = r->n == 0;
    return r->n == 0 ? zero_division : mean_over_outputs(r, r->sse);
}

double bgm__regression_mae(const bgm__regression *r, double zero_division, int *undefined)
{
    *undefined = r->n == 0;
    return r->n == 0 ? zero_division : mean_over_outputs(r, r->sae);
}

double bgm__regression_r2(const bgm__regression *r, int *undefined)
{
    double acc = 0;
    int64_t j;
    *undefined = 0;
    if (r->n < 2) {
        *undefined = 1;
        return NAN;
    }
    for (j = 0; j < r->outputs; j++) {
        if (r->m2[j] == 0.0)
            *undefined = 1;
        if (r->sse[j] == 0.0)
            acc += 1.0;
        else if (r->m2[j] != 0.0)
            acc += 1.0 - r->sse[j] / r->m2[j];
    }
    return acc / (double)r->outputs;
}
