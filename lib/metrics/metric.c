/* The streaming bgm_metric handle, its options, and one-shot computation. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"
#include "auc.h"
#include "classification.h"
#include "confusion.h"
#include "core/alloc.h"
#include "core/comm.h"
#include "core/error.h"
#include "core/tensor_impl.h"
#include "labels.h"
#include "mean.h"
#include "regression.h"

/* Size of the first released bgm_metric_options; smaller sizes are garbage. */
#define BGM__METRIC_OPTIONS_V1_SIZE \
    (offsetof(bgm_metric_options, zero_division) + sizeof(double))

struct bgm_metric {
    bgm_metric_kind kind;
    bgm_metric_options opts;
    int num_classes;          /* classes of the confusion counts */
    int64_t hits, total;      /* accuracy, top-k accuracy */
    int64_t *cm;              /* precision, recall, F1: C x C counts */
    double *scratch;          /* BGM__PRF_SCRATCH(C) doubles for averaging */
    bgm__auc auc;
    bgm__regression reg;
    double sum;               /* a running mean (BGM__METRIC_MEAN): sum / total */
    int weighted;             /* Keras' weighted_metrics: wsum / wtotal is the value */
    double wsum, wtotal;      /* sum of w * (each row's value), sum of w */
};

static const char *kind_name(bgm_metric_kind kind)
{
    switch (kind) {
    case BGM_METRIC_ACCURACY: return "accuracy";
    case BGM_METRIC_TOP_K_ACCURACY: return "top_k_accuracy";
    case BGM_METRIC_PRECISION: return "precision";
    case BGM_METRIC_RECALL: return "recall";
    case BGM_METRIC_F1: return "f1";
    case BGM_METRIC_AUC: return "auc";
    case BGM_METRIC_MSE: return "mse";
    case BGM_METRIC_MAE: return "mae";
    case BGM_METRIC_R2: return "r2";
    }
    return NULL;
}

static const char *average_name(bgm_average average)
{
    switch (average) {
    case BGM_AVERAGE_BINARY: return "binary";
    case BGM_AVERAGE_MACRO: return "macro";
    case BGM_AVERAGE_MICRO: return "micro";
    case BGM_AVERAGE_WEIGHTED: return "weighted";
    }
    return NULL;
}

static void options_defaults(bgm_metric_options *o)
{
    const bgm_metric_options defaults = BGM_METRIC_OPTIONS_INIT;
    *o = defaults;
}

static bgm_status check_options_size(const char *func, size_t size)
{
    if (size < BGM__METRIC_OPTIONS_V1_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: options size %zu is smaller than any "
                         "bgm_metric_options (%zu); initialize them with "
                         "bgm_metric_options_init(&opts, sizeof opts)", func, size,
                         (size_t)BGM__METRIC_OPTIONS_V1_SIZE);
    if (size > sizeof(bgm_metric_options))
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: options size %zu is larger than this "
                         "library's bgm_metric_options (%zu): the program was built "
                         "against a newer libbigmodel", func, size,
                         sizeof(bgm_metric_options));
    return BGM_OK;
}

BGM_API bgm_status bgm_metric_options_init(bgm_metric_options *opts, size_t size)
{
    static const char func[] = "bgm_metric_options_init";
    bgm_metric_options defaults;
    bgm_status s;
    BGM__CHECK_NULL(opts, func);
    s = check_options_size(func, size);
    if (s != BGM_OK)
        return s;
    options_defaults(&defaults);
    memcpy(opts, &defaults, size);
    opts->size = size;
    return BGM_OK;
}

/* Copies the fields the caller's struct holds; later fields keep defaults. */
static bgm_status read_options(bgm_metric_options *o, const char *func,
                               const bgm_metric_options *opts)
{
    bgm_status s;
    options_defaults(o);
    if (!opts)
        return BGM_OK;
    s = check_options_size(func, opts->size);
    if (s != BGM_OK)
        return s;
#define BGM__TAKE(field)                                                        \
    if (offsetof(bgm_metric_options, field) + sizeof opts->field <= opts->size) \
        o->field = opts->field
    BGM__TAKE(num_classes);
    BGM__TAKE(k);
    BGM__TAKE(average);
    BGM__TAKE(pos_label);
    BGM__TAKE(threshold);
    BGM__TAKE(zero_division);
    BGM__TAKE(num_labels);
#undef BGM__TAKE
    return BGM_OK;
}

static bgm_status check_binary(const char *func, const char *what,
                               const bgm_metric_options *o)
{
    if (o->num_classes != 0 && o->num_classes != 2)
        return bgm__fail(BGM_E_INVALID, "%s: %s needs num_classes 2 (or 0), got %d%s",
                         func, what, o->num_classes,
                         o->average == BGM_AVERAGE_BINARY
                             ? "; choose BGM_AVERAGE_MACRO, _MICRO or _WEIGHTED for "
                               "more classes" : "");
    if (o->pos_label != 0 && o->pos_label != 1)
        return bgm__fail(BGM_E_INVALID, "%s: %s needs pos_label 0 or 1, got %d", func,
                         what, o->pos_label);
    return BGM_OK;
}

static bgm_status check_kind_options(const char *func, bgm_metric_kind kind,
                                     const bgm_metric_options *o)
{
    const char *name = kind_name(kind);
    if (!name)
        return bgm__fail(BGM_E_INVALID, "%s: unknown metric kind %d", func, (int)kind);
    if (o->num_classes < 0)
        return bgm__fail(BGM_E_INVALID, "%s: num_classes must be >= 0, got %d", func,
                         o->num_classes);
    if (isnan(o->threshold))
        return bgm__fail(BGM_E_INVALID, "%s: threshold is NaN", func);
    switch (kind) {
    case BGM_METRIC_TOP_K_ACCURACY:
        if (o->k < 1)
            return bgm__fail(BGM_E_INVALID, "%s: top-k accuracy needs k >= 1, got %d",
                             func, o->k);
        break;
    case BGM_METRIC_PRECISION:
    case BGM_METRIC_RECALL:
    case BGM_METRIC_F1:
        if (!average_name(o->average))
            return bgm__fail(BGM_E_INVALID, "%s: unknown average %d for %s", func,
                             (int)o->average, name);
        if (o->average == BGM_AVERAGE_BINARY)
            return check_binary(func, "BGM_AVERAGE_BINARY", o);
        if (o->num_classes < 1)
            return bgm__fail(BGM_E_INVALID, "%s: %s with %s averaging needs num_classes "
                             ">= 1, got %d", func, name, average_name(o->average),
                             o->num_classes);
        if (o->num_labels < 0 || o->num_labels > o->num_classes)
            return bgm__fail(BGM_E_INVALID, "%s: num_labels = %d, expected 0 (all) to "
                             "num_classes = %d", func, o->num_labels, o->num_classes);
        break;
    case BGM_METRIC_AUC:
        return check_binary(func, "AUC", o);
    default:
        break;
    }
    return BGM_OK;
}

BGM_API void bgm_metric_free(bgm_metric *metric)
{
    if (!metric)
        return;
    free(metric->cm);
    free(metric->scratch);
    bgm__auc_release(&metric->auc);
    bgm__regression_release(&metric->reg);
    free(metric);
}

static int uses_confusion(bgm_metric_kind kind)
{
    return kind == BGM_METRIC_PRECISION || kind == BGM_METRIC_RECALL ||
           kind == BGM_METRIC_F1;
}

BGM_API bgm_status bgm_metric_create(bgm_metric **out, bgm_metric_kind kind,
                                     const bgm_metric_options *opts)
{
    static const char func[] = "bgm_metric_create";
    bgm_metric_options o;
    bgm_metric *m;
    size_t cells;
    bgm_status s;
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    s = read_options(&o, func, opts);
    if (s == BGM_OK)
        s = check_kind_options(func, kind, &o);
    if (s != BGM_OK)
        return s;
    m = calloc(1, sizeof *m);
    if (!m)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    m->kind = kind;
    m->opts = o;
    m->opts.size = sizeof m->opts;
    bgm__auc_init(&m->auc);
    bgm__regression_init(&m->reg);
    if (uses_confusion(kind)) {
        m->num_classes = o.average == BGM_AVERAGE_BINARY ? 2 : o.num_classes;
        if (!bgm__mul_size((size_t)m->num_classes, (size_t)m->num_classes, &cells) ||
            (m->cm = calloc(cells, sizeof *m->cm)) == NULL ||
            (m->scratch = calloc(BGM__PRF_SCRATCH(m->num_classes),
                                 sizeof *m->scratch)) == NULL) {
            bgm_metric_free(m);
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %d classes", func,
                             o.num_classes);
        }
    }
    *out = m;
    return BGM_OK;
}

/* The labels of a top-k accuracy batch: scores (N, C), C >= 2. */
static bgm_status top_k_labels(bgm__labels *t, bgm__labels *p, const bgm_metric *m,
                               const char *func, const bgm_tensor *y_true,
                               const bgm_tensor *y_pred)
{
    char sh[BGM__SHAPE_STR_SIZE];
    int classes;
    if (y_pred->dtype != BGM_FLOAT32 || y_pred->ndim != 2 || y_pred->shape[1] < 2)
        return bgm__fail(y_pred->dtype != BGM_FLOAT32 ? BGM_E_DTYPE : BGM_E_SHAPE,
                         "%s: y_pred must hold float32 scores of shape (N, C), C >= 2, "
                         "got %s %s", func, y_pred->dtype == BGM_INT32 ? "int32" : "float32",
                         bgm__tensor_shape_str(sh, sizeof sh, y_pred));
    classes = m->opts.num_classes;
    if (classes == 0 && y_pred->shape[1] <= INT32_MAX)
        classes = (int)y_pred->shape[1];
    return bgm__labels_pair(t, p, func, y_true, y_pred, classes, m->opts.threshold);
}

static bgm_status update_top_k(bgm_metric *m, const char *func, const bgm_tensor *y_true,
                               const bgm_tensor *y_pred)
{
    bgm__labels t, p;
    bgm_status s = top_k_labels(&t, &p, m, func, y_true, y_pred);
    if (s != BGM_OK)
        return s;
    m->hits += bgm__count_top_k(&t, y_pred->data, p.width, m->opts.k);
    m->total += t.n;
    return BGM_OK;
}

static bgm_status update_named(bgm_metric *m, const char *caller,
                               const bgm_tensor *y_true, const bgm_tensor *y_pred)
{
    char func[96];
    bgm__labels t, p;
    bgm_status s;
    snprintf(func, sizeof func, "%s (%s)", caller, kind_name(m->kind));
    switch (m->kind) {
    case BGM_METRIC_ACCURACY:
        s = bgm__labels_pair(&t, &p, func, y_true, y_pred, m->opts.num_classes,
                             m->opts.threshold);
        if (s == BGM_OK) {
            m->hits += bgm__count_correct(&t, &p);
            m->total += t.n;
        }
        return s;
    case BGM_METRIC_TOP_K_ACCURACY:
        return update_top_k(m, func, y_true, y_pred);
    case BGM_METRIC_PRECISION:
    case BGM_METRIC_RECALL:
    case BGM_METRIC_F1:
        s = bgm__labels_pair(&t, &p, func, y_true, y_pred, m->num_classes,
                             m->opts.threshold);
        if (s == BGM_OK)
            bgm__confusion_add(m->cm, m->num_classes, &t, &p);
        return s;
    case BGM_METRIC_AUC:
        return bgm__auc_add(&m->auc, func, y_true, y_pred, m->opts.pos_label);
    case BGM_METRIC_MSE:
    case BGM_METRIC_MAE:
    case BGM_METRIC_R2:
        return bgm__regression_add(&m->reg, func, y_true, y_pred);
    }
    return bgm__fail(BGM_E_INTERNAL, "%s: metric has unknown kind %d", func, (int)m->kind);
}

BGM_API bgm_status bgm_metric_update(bgm_metric *metric, const bgm_tensor *y_true,
                                     const bgm_tensor *y_pred)
{
    static const char func[] = "bgm_metric_update";
    BGM__CHECK_NULL(metric, func);
    BGM__CHECK_NULL(y_true, func);
    BGM__CHECK_NULL(y_pred, func);
    return update_named(metric, func, y_true, y_pred);
}

/* The value of every kind but AUC (which sorts); sets *undefined. */
static double value_of(const bgm_metric *m, int *undefined)
{
    const double zd = m->opts.zero_division;
    bgm__prf prf;
    int flags = 0;
    *undefined = 0;
    if (m->weighted) {
        *undefined = m->wtotal == 0.0;
        return m->wtotal == 0.0 ? zd : m->wsum / m->wtotal;
    }
    if (m->kind == BGM__METRIC_MEAN) {
        *undefined = m->total == 0;
        return m->total == 0 ? zd : m->sum / (double)m->total;
    }
    switch (m->kind) {
    case BGM_METRIC_ACCURACY:
    case BGM_METRIC_TOP_K_ACCURACY:
        *undefined = m->total == 0;
        return m->total == 0 ? zd : (double)m->hits / (double)m->total;
    case BGM_METRIC_PRECISION:
    case BGM_METRIC_RECALL:
    case BGM_METRIC_F1:
        bgm__prf_average(&prf, &flags, m->cm, m->num_classes,
                         m->opts.num_labels ? m->opts.num_labels : m->num_classes,
                         m->opts.average, m->opts.pos_label, zd, m->scratch);
        if (m->kind == BGM_METRIC_PRECISION) {
            *undefined = (flags & BGM_ZERO_DIVISION_PRECISION) != 0;
            return prf.precision;
        }
        if (m->kind == BGM_METRIC_RECALL) {
            *undefined = (flags & BGM_ZERO_DIVISION_RECALL) != 0;
            return prf.recall;
        }
        *undefined = (flags & BGM_ZERO_DIVISION_F1) != 0;
        return prf.f1;
    case BGM_METRIC_AUC:
        *undefined = bgm__auc_undefined(&m->auc);
        return zd;
    case BGM_METRIC_MSE:
        return bgm__regression_mse(&m->reg, zd, undefined);
    case BGM_METRIC_MAE:
        return bgm__regression_mae(&m->reg, zd, undefined);
    case BGM_METRIC_R2:
        return bgm__regression_r2(&m->reg, undefined);
    }
    return zd;
}

BGM_API bgm_status bgm_metric_result(double *out, bgm_metric *metric)
{
    static const char func[] = "bgm_metric_result";
    int undefined;
    BGM__CHECK_NULL(out, func);
    *out = 0;
    BGM__CHECK_NULL(metric, func);
    *out = value_of(metric, &undefined);
    if (metric->kind == BGM_METRIC_AUC && !undefined)
        *out = bgm__auc_area(&metric->auc);
    return BGM_OK;
}

BGM_API int bgm_metric_zero_division(const bgm_metric *metric)
{
    int undefined = 0;
    if (metric)
        value_of(metric, &undefined);
    return undefined;
}

BGM_API bgm_status bgm_metric_reset(bgm_metric *metric)
{
    BGM__CHECK_NULL(metric, "bgm_metric_reset");
    metric->hits = metric->total = 0;
    metric->sum = metric->wsum = metric->wtotal = 0.0;
    if (metric->cm)
        memset(metric->cm, 0,
               (size_t)metric->num_classes * (size_t)metric->num_classes * sizeof *metric->cm);
    bgm__auc_reset(&metric->auc);
    bgm__regression_reset(&metric->reg);
    return BGM_OK;
}

BGM_API const char *bgm_metric_name(const bgm_metric *metric)
{
    if (metric && metric->kind == BGM__METRIC_MEAN)
        return "mean";
    return metric ? kind_name(metric->kind) : "";
}

/* The scalars of a summable state: hits, total, sum, wsum, wtotal; then the
 * confusion counts. */
#define STATE_SCALARS 5

int64_t bgm__metric_state_size(const bgm_metric *m)
{
    if (m->kind == BGM_METRIC_AUC || m->kind == BGM_METRIC_MSE || m->kind == BGM_METRIC_MAE ||
        m->kind == BGM_METRIC_R2)
        return -1;
    return STATE_SCALARS + (m->cm ? (int64_t)m->num_classes * m->num_classes : 0);
}

void bgm__metric_state_get(const bgm_metric *m, float *out)
{
    int64_t i, cells = bgm__metric_state_size(m) - STATE_SCALARS;
    out[0] = (float)m->hits;
    out[1] = (float)m->total;
    out[2] = (float)m->sum;
    out[3] = (float)m->wsum;
    out[4] = (float)m->wtotal;
    for (i = 0; i < cells; i++)
        out[STATE_SCALARS + i] = (float)m->cm[i];
}

void bgm__metric_state_add(bgm_metric *m, const float *in)
{
    int64_t i, cells = bgm__metric_state_size(m) - STATE_SCALARS;
    /* Counts come back as exact float integers (a step's counts are far below 2^24). */
    m->hits += (int64_t)llrintf(in[0]);
    m->total += (int64_t)llrintf(in[1]);
    m->sum += in[2];
    m->wsum += in[3];
    m->wtotal += in[4];
    for (i = 0; i < cells; i++)
        m->cm[i] += (int64_t)llrintf(in[STATE_SCALARS + i]);
}

/* ---- a whole state, to gather from other processes -------------------------- */

/* Doubles of m's whole state: the scalars, the confusion counts, and the
 * regression sums (n, outputs, 4 per output) or the AUC's samples (n,
 * positives, 2 per sample). */
static int64_t gather_doubles(const bgm_metric *m)
{
    int64_t n = STATE_SCALARS + (m->cm ? (int64_t)m->num_classes * m->num_classes : 0);
    if (m->kind == BGM_METRIC_MSE || m->kind == BGM_METRIC_MAE || m->kind == BGM_METRIC_R2)
        n += 2 + 4 * m->reg.outputs;
    if (m->kind == BGM_METRIC_AUC)
        n += 2 + 2 * m->auc.n;
    return n;
}

int64_t bgm__metric_gather_size(const bgm_metric *m)
{
    return 2 * gather_doubles(m);
}

void bgm__metric_gather_put(const bgm_metric *m, float *out)
{
    int64_t i, cells = m->cm ? (int64_t)m->num_classes * m->num_classes : 0;
    bgm__comm_put_double(&out, (double)m->hits);
    bgm__comm_put_double(&out, (double)m->total);
    bgm__comm_put_double(&out, m->sum);
    bgm__comm_put_double(&out, m->wsum);
    bgm__comm_put_double(&out, m->wtotal);
    for (i = 0; i < cells; i++)
        bgm__comm_put_double(&out, (double)m->cm[i]);
    if (m->kind == BGM_METRIC_MSE || m->kind == BGM_METRIC_MAE || m->kind == BGM_METRIC_R2) {
        bgm__comm_put_double(&out, (double)m->reg.n);
        bgm__comm_put_double(&out, (double)m->reg.outputs);
        for (i = 0; i < 4 * m->reg.outputs; i++)
            bgm__comm_put_double(&out, m->reg.mean[i]);
    }
    if (m->kind == BGM_METRIC_AUC) {
        bgm__comm_put_double(&out, (double)m->auc.n);
        bgm__comm_put_double(&out, (double)m->auc.positives);
        for (i = 0; i < m->auc.n; i++) {
            bgm__comm_put_double(&out, m->auc.samples[i].score);
            bgm__comm_put_double(&out, (double)m->auc.samples[i].positive);
        }
    }
}

bgm_status bgm__metric_gather_merge(bgm_metric *m, const float *in, int64_t avail,
                                    int64_t *used, const char *fn)
{
    int64_t i, n, k, cells = m->cm ? (int64_t)m->num_classes * m->num_classes : 0;
    const float *start = in, *end = in + avail;
    bgm_status s = BGM_OK;
    int reg = m->kind == BGM_METRIC_MSE || m->kind == BGM_METRIC_MAE || m->kind == BGM_METRIC_R2;
    *used = 0;
    if (avail < 2 * (STATE_SCALARS + cells + 2 * (reg || m->kind == BGM_METRIC_AUC)))
        goto short_state;
    m->hits += llrint(bgm__comm_take_double(&in));
    m->total += llrint(bgm__comm_take_double(&in));
    m->sum += bgm__comm_take_double(&in);
    m->wsum += bgm__comm_take_double(&in);
    m->wtotal += bgm__comm_take_double(&in);
    for (i = 0; i < cells; i++)
        m->cm[i] += llrint(bgm__comm_take_double(&in));
    if (reg) {
        n = llrint(bgm__comm_take_double(&in));
        k = llrint(bgm__comm_take_double(&in));
        if (k < 0 || end - in < 8 * k)
            goto short_state;
        s = bgm__regression_merge(&m->reg, fn, n, k, in);
        in += 8 * k;
    }
    if (m->kind == BGM_METRIC_AUC) {
        n = llrint(bgm__comm_take_double(&in));
        m->auc.positives += llrint(bgm__comm_take_double(&in));
        if (n < 0 || end - in < 4 * n)
            goto short_state;
        s = bgm__auc_reserve(&m->auc, fn, n);
        for (i = 0; s == BGM_OK && i < n; i++) {
            bgm__auc_sample *dst = &m->auc.samples[m->auc.n + i];
            dst->score = bgm__comm_take_double(&in);
            dst->positive = (int32_t)llrint(bgm__comm_take_double(&in));
        }
        if (s == BGM_OK)
            m->auc.n += n;
    }
    *used = in - start;
    return s;
short_state:
    return bgm__fail(BGM_E_INTERNAL, "%s: a gathered %s state does not fit its %lld floats",
                     fn, bgm_metric_name(m), (long long)avail);
}

bgm_status bgm__metric_gather_reserve(bgm_metric *m, int64_t floats, int *grew,
                                      const char *fn)
{
    *grew = 0;
    if (m->kind == BGM_METRIC_AUC) { /* a sample takes 4 floats */
        *grew = m->auc.n + floats / 4 > m->auc.capacity;
        return *grew ? bgm__auc_reserve(&m->auc, fn, floats / 4) : BGM_OK;
    }
    if (m->kind == BGM_METRIC_MSE || m->kind == BGM_METRIC_MAE || m->kind == BGM_METRIC_R2)
        return bgm__regression_reserve(&m->reg, fn, floats / 8, grew); /* 8 per output */
    return BGM_OK;
}

bgm_status bgm__metric_create_mean(bgm_metric **out)
{
    bgm_metric *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return bgm__fail(BGM_E_NOMEM, "out of memory for a metric");
    m->kind = BGM__METRIC_MEAN;
    options_defaults(&m->opts);
    m->opts.size = sizeof m->opts;
    bgm__auc_init(&m->auc);
    bgm__regression_init(&m->reg);
    *out = m;
    return BGM_OK;
}

void bgm__metric_add(bgm_metric *m, double sum, int64_t count)
{
    m->sum += sum;
    m->total += count;
}

int bgm__metric_weighable(bgm_metric_kind kind)
{
    return kind == BGM__METRIC_MEAN || kind == BGM_METRIC_ACCURACY ||
           kind == BGM_METRIC_TOP_K_ACCURACY || kind == BGM_METRIC_MSE ||
           kind == BGM_METRIC_MAE;
}

void bgm__metric_set_weighted(bgm_metric *m)
{
    m->weighted = 1;
}

void bgm__metric_add_weighted(bgm_metric *m, double wsum, double wtotal)
{
    m->wsum += wsum;
    m->wtotal += wtotal;
}

/* Row i of t as a float (float32 or int32 data). */
static double value_at(const bgm_tensor *t, int64_t i)
{
    return t->dtype == BGM_INT32 ? (double)((const int32_t *)t->data)[i]
                                 : (double)((const float *)t->data)[i];
}

/* MSE or MAE rows: each row's mean error over its values, weighted. */
static bgm_status add_error_rows(bgm_metric *m, const char *func, const bgm_tensor *y_true,
                                 const bgm_tensor *y_pred, const float *w)
{
    int64_t n = y_pred->ndim ? y_pred->shape[0] : 1, per, r, k;
    if (y_pred->dtype != BGM_FLOAT32 || bgm_tensor_numel(y_true) != bgm_tensor_numel(y_pred))
        return bgm__fail_samples(func, "y_true", y_true, "y_pred", y_pred);
    per = n ? bgm_tensor_numel(y_pred) / n : 0;
    for (r = 0; r < n && per > 0; r++) {
        double e = 0.0;
        for (k = 0; k < per; k++) {
            double d = value_at(y_pred, r * per + k) - value_at(y_true, r * per + k);
            e += m->kind == BGM_METRIC_MSE ? d * d : fabs(d);
        }
        m->wsum += (w ? w[r] : 1.0) * (e / (double)per);
        m->wtotal += w ? w[r] : 1.0;
    }
    return BGM_OK;
}

bgm_status bgm__metric_update_weighted(bgm_metric *m, const char *caller,
                                       const bgm_tensor *y_true, const bgm_tensor *y_pred,
                                       const float *w)
{
    char func[96];
    bgm__labels t, p;
    bgm_status s = BGM_OK;
    int64_t i;
    snprintf(func, sizeof func, "%s (%s)", caller, kind_name(m->kind));
    switch (m->kind) {
    case BGM_METRIC_ACCURACY:
        s = bgm__labels_pair(&t, &p, func, y_true, y_pred, m->opts.num_classes,
                             m->opts.threshold);
        for (i = 0; s == BGM_OK && i < t.n; i++) {
            m->wsum += (w ? w[i] : 1.0) * (bgm__label_at(&t, i) == bgm__label_at(&p, i));
            m->wtotal += w ? w[i] : 1.0;
        }
        return s;
    case BGM_METRIC_TOP_K_ACCURACY:
        s = top_k_labels(&t, &p, m, func, y_true, y_pred);
        for (i = 0; s == BGM_OK && i < t.n; i++) {
            m->wsum += (w ? w[i] : 1.0) *
                       (double)bgm__count_top_k_row(&t, y_pred->data, p.width, m->opts.k, i);
            m->wtotal += w ? w[i] : 1.0;
        }
        return s;
    case BGM_METRIC_MSE:
    case BGM_METRIC_MAE:
        return add_error_rows(m, func, y_true, y_pred, w);
    default:
        return bgm__fail(BGM_E_INTERNAL, "%s: not a weighted metric", func);
    }
}

BGM_API bgm_metric_kind bgm_metric_get_kind(const bgm_metric *metric)
{
    return metric ? metric->kind : (bgm_metric_kind)0;
}

BGM_API bgm_status bgm_metric_compute(double *out, int *zero_division,
                                      bgm_metric_kind kind,
                                      const bgm_metric_options *opts,
                                      const bgm_tensor *y_true,
                                      const bgm_tensor *y_pred)
{
    static const char func[] = "bgm_metric_compute";
    bgm_metric *m = NULL;
    bgm_status s;
    if (zero_division)
        *zero_division = 0;
    BGM__CHECK_NULL(out, func);
    *out = 0;
    BGM__CHECK_NULL(y_true, func);
    BGM__CHECK_NULL(y_pred, func);
    s = bgm_metric_create(&m, kind, opts);
    if (s == BGM_OK)
        s = update_named(m, func, y_true, y_pred);
    if (s == BGM_OK)
        s = bgm_metric_result(out, m);
    if (s == BGM_OK && zero_division)
        *zero_division = bgm_metric_zero_division(m);
    bgm_metric_free(m);
    return s;
}
