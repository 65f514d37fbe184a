/*
 * compile: the optimizer, each output's loss and loss weight, and the
 * metrics a model reports, named as Keras names them: "loss", then
 * "<output>_loss" per output and "<output>_<metric>" when the model has
 * several outputs, "accuracy" and the like when it has one.
 */
#include "metrics/mean.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of the first published bgm_compile_options. */
#define COMPILE_OPTIONS_V1_SIZE \
    (offsetof(bgm_compile_options, output_num_metrics) + sizeof(const int *))

BGM_API bgm_status bgm_compile_options_init(bgm_compile_options *opts, size_t size)
{
    static const char *fn = "bgm_compile_options_init";
    bgm_status s;
    BGM__CHECK_NULL(opts, fn);
    s = bgm__options_init_check(size, COMPILE_OPTIONS_V1_SIZE, sizeof *opts,
                                "bgm_compile_options", fn);
    if (s != BGM_OK)
        return s;
    memset(opts, 0, size);
    opts->size = size;
    return BGM_OK;
}

/* Number of columns (last dimension) of output j. */
static int64_t output_columns(const bgm_model *m, int j)
{
    int ndim;
    const int64_t *shape = bgm_node_shape(m->outputs[j], &ndim);
    return shape[ndim - 1];
}

/* Options a metric gets when compiled by kind, fitted to output j. */
static bgm_status default_options(const bgm_model *m, int j, bgm_metric_kind kind,
                                  bgm_metric_options *o, const char *fn)
{
    int64_t c = output_columns(m, j);
    bgm_metric_options_init(o, sizeof *o);
    switch (kind) {
    case BGM_METRIC_PRECISION:
    case BGM_METRIC_RECALL:
    case BGM_METRIC_F1:
        if (c > 2 && c <= INT32_MAX) {
            o->num_classes = (int)c;
            o->average = BGM_AVERAGE_MACRO;
        } else {
            o->num_classes = 2;
        }
        break;
    case BGM_METRIC_AUC:
        if (c > 2 && m->noutputs == 1)
            return bgm__fail(BGM_E_INVALID, "%s: AUC needs a binary output of 1 or 2 "
                             "columns, the model outputs %lld", fn, (long long)c);
        if (c > 2)
            return bgm__fail(BGM_E_INVALID, "%s: AUC needs a binary output of 1 or 2 "
                             "columns, output '%s' has %lld", fn,
                             bgm_node_name(m->outputs[j]), (long long)c);
        break;
    default:
        break;
    }
    return BGM_OK;
}

/* The metrics being compiled (or added) and the outputs they name. */
typedef struct metric_list {
    bgm__metric_spec *specs;
    int n;
    const bgm__output_spec *outs; /* the outputs' names */
    int noutputs;
} metric_list;

/* A zeroed new last entry of l (not counted yet), or NULL when out of memory. */
static bgm__metric_spec *grow(metric_list *l)
{
    bgm__metric_spec *grown = realloc(l->specs, (size_t)(l->n + 1) * sizeof *grown);
    if (!grown)
        return NULL;
    l->specs = grown;
    memset(&grown[l->n], 0, sizeof *grown);
    return &grown[l->n];
}

/* Names the new last entry sp of l (output j) after what: Keras names it
 * "<output>_<what>" when the model has several outputs, and a repeated
 * name gets "_1", "_2", ... */
static void name_metric(metric_list *l, bgm__metric_spec *sp, int j, const char *what)
{
    char base[BGM__KEY_SIZE - 16];
    int i, k;
    if (l->noutputs > 1)
        snprintf(base, sizeof base, "%s_%s", l->outs[j].name, what);
    else
        snprintf(base, sizeof base, "%s", what);
    for (k = 0;; k++) {
        int taken = 0;
        if (k == 0)
            snprintf(sp->name, sizeof sp->name, "%s", base);
        else
            snprintf(sp->name, sizeof sp->name, "%s_%d", base, k);
        for (i = 0; i < l->n; i++)
            taken |= strcmp(l->specs[i].name, sp->name) == 0;
        if (!taken)
            break;
    }
}

/* Appends a metric of output j, checking the options by creating an instance. */
static bgm_status push_metric(metric_list *l, int j, bgm_metric_kind kind,
                              const bgm_metric_options *opts, const char *fn)
{
    bgm__metric_spec *sp;
    bgm_metric *probe = NULL;
    char msg[900];
    bgm_status s = bgm_metric_create(&probe, kind, opts);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: %s", fn, msg);
    }
    sp = grow(l);
    if (!sp) {
        bgm_metric_free(probe);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    sp->kind = kind;
    sp->output = j;
    if (opts)
        memcpy(&sp->opts, opts, opts->size < sizeof sp->opts ? opts->size : sizeof sp->opts);
    else
        bgm_metric_options_init(&sp->opts, sizeof sp->opts);
    sp->opts.size = sizeof sp->opts;
    name_metric(l, sp, j, bgm_metric_name(probe));
    bgm_metric_free(probe);
    l->n++;
    return BGM_OK;
}

/* Appends the custom metric function fn_name (fn may be NULL: a loaded
 * model's) of output j. */
static bgm_status push_metric_fn(metric_list *l, int j, const char *fn_name, bgm_loss_fn f,
                                 void *ctx, const char *fn)
{
    bgm__metric_spec *sp = grow(l);
    if (!sp)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    sp->kind = BGM__METRIC_MEAN;
    sp->output = j;
    bgm_metric_options_init(&sp->opts, sizeof sp->opts);
    snprintf(sp->fn_name, sizeof sp->fn_name, "%s", fn_name);
    sp->fn = f;
    sp->fn_ctx = ctx;
    name_metric(l, sp, j, fn_name);
    l->n++;
    return BGM_OK;
}

/* Keras' output names: each output's layer name (an input's name for an
 * input node), with "_1", "_2", ... for a name already taken. */
static void name_outputs(bgm__output_spec *outs, const bgm_model *m)
{
    int j, i, k;
    for (j = 0; j < m->noutputs; j++) {
        const char *base = bgm_node_name(m->outputs[j]);
        for (k = 0;; k++) {
            int taken = 0;
            if (k == 0)
                snprintf(outs[j].name, sizeof outs[j].name, "%s", base);
            else
                snprintf(outs[j].name, sizeof outs[j].name, "%.*s_%d",
                         BGM__NAME_SIZE - 12, base, k);
            for (i = 0; i < j; i++)
                taken |= strcmp(outs[i].name, outs[j].name) == 0;
            if (!taken)
                break;
        }
        snprintf(outs[j].loss_key, sizeof outs[j].loss_key, "%s_loss", outs[j].name);
    }
}

/* " (output 'cls')" for output j of a model of several outputs, else "". */
static const char *output_label(char *buf, size_t size, const bgm_model *m, int j,
                                const bgm__output_spec *outs)
{
    if (m->noutputs == 1)
        return "";
    snprintf(buf, size, " (output '%s')", outs[j].name);
    return buf;
}

/* Checks output j's loss, from_logits and weight. */
static bgm_status check_output(const bgm_model *m, int j, const bgm__output_spec *outs,
                               const char *fn)
{
    char where[BGM__NAME_SIZE + 16];
    const bgm__output_spec *o = &outs[j];
    const char *at = output_label(where, sizeof where, m, j, outs);
    if (o->loss < BGM_LOSS_MSE || o->loss > BGM_LOSS_CUSTOM)
        return bgm__fail(BGM_E_INVALID, "%s: unknown loss %d%s", fn, (int)o->loss, at);
    if (o->from_logits && (o->loss == BGM_LOSS_MSE || o->loss == BGM_LOSS_MAE ||
                           o->loss == BGM_LOSS_CUSTOM))
        return bgm__fail(BGM_E_INVALID, "%s: from_logits applies to the cross-entropy losses, "
                         "not to %s%s", fn, bgm__loss_name(o->loss), at);
    if (!(o->weight >= 0.0f) || isinf(o->weight))
        return bgm__fail(BGM_E_INVALID, "%s: loss_weights[%d] = %g%s, expected a finite "
                         "value >= 0", fn, j, (double)o->weight, at);
    return BGM_OK;
}

/* Checks a list of metric kinds given with its count. */
static bgm_status check_kinds(const bgm_metric_kind *kinds, int n, const char *what,
                              const char *fn)
{
    if (n < 0 || (n > 0 && !kinds))
        return bgm__fail(BGM_E_INVALID, "%s: %s = %d with metrics %s", fn, what, n,
                         kinds ? "given" : "NULL");
    return BGM_OK;
}

/* Appends output j's metrics: the kinds of every output, then its own. */
static bgm_status push_output_metrics(metric_list *l, const bgm_model *m, int j,
                                      const bgm_compile_options *o, const char *fn)
{
    char what[48];
    const bgm_metric_kind *own = o->output_metrics ? o->output_metrics[j] : NULL;
    int nown = o->output_metrics ? o->output_num_metrics[j] : 0, i;
    bgm_status s = BGM_OK;
    snprintf(what, sizeof what, "output_num_metrics[%d]", j);
    if (o->output_metrics)
        s = check_kinds(own, nown, what, fn);
    for (i = 0; s == BGM_OK && i < o->num_metrics + nown; i++) {
        bgm_metric_kind kind = i < o->num_metrics ? o->metrics[i] : own[i - o->num_metrics];
        bgm_metric_options mo;
        s = default_options(m, j, kind, &mo, fn);
        if (s == BGM_OK)
            s = push_metric(l, j, kind, &mo, fn);
    }
    return s;
}

/* Room in the logs for every value, its "val_" twin and "learning_rate". */
static bgm_status check_log_room(const bgm_model *m, int nmetrics, const char *fn)
{
    int values = 1 + (m->noutputs > 1 ? m->noutputs : 0) + nmetrics;
    if (m->noutputs > 1 && 2 * values + 1 > BGM__LOGS_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the model would report %d values (losses "
                         "and metrics); logs hold at most %d", fn, values,
                         (BGM__LOGS_MAX - 1) / 2);
    return BGM_OK;
}

/* Checks the per-output arrays' count against the model's. */
static bgm_status check_counts(const bgm_model *m, const bgm_compile_options *o,
                               const char *fn)
{
    int per_output = o->output_losses || o->output_from_logits || o->loss_weights ||
                     o->output_metrics || o->output_num_metrics;
    if (per_output && o->num_outputs != m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: the per-output options hold num_outputs = %d "
                         "entries, the model has %d output%s", fn, o->num_outputs,
                         m->noutputs, m->noutputs == 1 ? "" : "s");
    if (!o->output_metrics != !o->output_num_metrics)
        return bgm__fail(BGM_E_INVALID, "%s: output_metrics and output_num_metrics go "
                         "together; only %s is set", fn,
                         o->output_metrics ? "output_metrics" : "output_num_metrics");
    return BGM_OK;
}

/* Compiles m from the options o (all of this library's fields); count names
 * o->num_metrics in messages as the caller knows it. */
static bgm_status compile(bgm_model *m, bgm_optimizer *optimizer,
                          const bgm_compile_options *o, const char *count, const char *fn)
{
    metric_list l = {NULL, 0, NULL, 0};
    bgm__output_spec *outs = NULL;
    bgm_status s;
    int j;
    if (!m) {
        s = bgm__fail(BGM_E_INVALID, "%s: argument 'm' is NULL", fn);
        goto fail;
    }
    if (!optimizer) {
        s = bgm__fail(BGM_E_INVALID, "%s: argument 'optimizer' is NULL", fn);
        goto fail;
    }
    if (m->nlayers == 0) {
        s = bgm__fail(BGM_E_STATE, "%s: the model has no layers", fn);
        goto fail;
    }
    if (m->fitting) {
        s = bgm__fail(BGM_E_STATE, "%s: fit is running on this model (a callback cannot "
                      "compile it); compile after fit returns", fn);
        goto fail;
    }
    if (m->noutputs > BGM__MAX_IO) {
        s = bgm__fail(BGM_E_UNSUPPORTED, "%s: the model has %d outputs; training takes at "
                      "most %d", fn, m->noutputs, BGM__MAX_IO);
        goto fail;
    }
    s = check_counts(m, o, fn);
    if (s != BGM_OK)
        goto fail;
    outs = calloc((size_t)m->noutputs, sizeof *outs);
    if (!outs) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    name_outputs(outs, m);
    for (j = 0; s == BGM_OK && j < m->noutputs; j++) {
        outs[j].loss = o->output_losses ? o->output_losses[j] : o->loss;
        outs[j].from_logits = (o->output_from_logits ? o->output_from_logits[j]
                                                     : o->from_logits) != 0;
        outs[j].weight = o->loss_weights ? o->loss_weights[j] : 1.0f;
        s = check_output(m, j, outs, fn);
    }
    if (s == BGM_OK)
        s = check_kinds(o->metrics, o->num_metrics, count, fn);
    l.outs = outs;
    l.noutputs = m->noutputs;
    for (j = 0; s == BGM_OK && j < m->noutputs; j++)
        s = push_output_metrics(&l, m, j, o, fn);
    if (s == BGM_OK)
        s = check_log_room(m, l.n, fn);
    /* Keras: the layers' trainable flags as of now hold until the next compile. */
    if (s == BGM_OK)
        s = bgm__model_freeze_compiled(m, NULL, fn);
    if (s != BGM_OK)
        goto fail;
    bgm_optimizer_free(m->optimizer);
    free(m->metrics);
    free(m->out_specs);
    m->optimizer = optimizer;
    m->loss = outs[0].loss;
    m->from_logits = outs[0].from_logits;
    m->metrics = l.specs;
    m->nmetrics = l.n;
    m->out_specs = outs;
    bgm__compile_warnings(m);
    return BGM_OK;
fail:
    free(l.specs);
    free(outs);
    bgm_optimizer_free(optimizer);
    return s;
}

BGM_API bgm_status bgm_model_compile(bgm_model *m, bgm_optimizer *optimizer,
                                     bgm_loss_kind loss, int from_logits,
                                     const bgm_metric_kind *metrics, int nmetrics)
{
    bgm_compile_options o;
    bgm_compile_options_init(&o, sizeof o);
    o.loss = loss;
    o.from_logits = from_logits;
    o.metrics = metrics;
    o.num_metrics = nmetrics;
    return compile(m, optimizer, &o, "nmetrics", "bgm_model_compile");
}

BGM_API bgm_status bgm_model_compile_v2(bgm_model *m, bgm_optimizer *optimizer,
                                        const bgm_compile_options *opts)
{
    static const char *fn = "bgm_model_compile_v2";
    bgm_compile_options o;
    if (!opts) {
        bgm_optimizer_free(optimizer);
        return bgm__fail(BGM_E_INVALID, "%s: argument 'opts' is NULL", fn);
    }
    if (bgm__options_read_check(opts->size, COMPILE_OPTIONS_V1_SIZE, sizeof o,
                                "bgm_compile_options_init", fn) != BGM_OK) {
        bgm_optimizer_free(optimizer);
        return BGM_E_INVALID;
    }
    bgm_compile_options_init(&o, sizeof o);
    memcpy(&o, opts, opts->size);
    if (!o.output_losses && o.loss == 0) {
        bgm_optimizer_free(optimizer);
        return bgm__fail(BGM_E_INVALID, "%s: no loss: set opts->loss (for every output) or "
                         "opts->output_losses", fn);
    }
    return compile(m, optimizer, &o, "num_metrics", fn);
}

/* Appends metric kind of output j (every output when j < 0) to a compiled
 * m; with fn_name, the custom metric function f of that name instead. */
static bgm_status add_metric(bgm_model *m, int j, bgm_metric_kind kind,
                             const bgm_metric_options *opts, const char *fn_name,
                             bgm_loss_fn f, void *ctx, const char *fn)
{
    metric_list l;
    int first = j < 0 ? 0 : j, last = j < 0 ? m->noutputs - 1 : j, k;
    bgm_status s = check_log_room(m, m->nmetrics + last - first + 1, fn);
    if (s != BGM_OK)
        return s;
    l.specs = m->metrics;
    l.n = m->nmetrics;
    l.outs = m->out_specs;
    l.noutputs = m->noutputs;
    for (k = first; s == BGM_OK && k <= last; k++)
        s = fn_name ? push_metric_fn(&l, k, fn_name, f, ctx, fn)
                    : push_metric(&l, k, kind, opts, fn);
    if (s != BGM_OK) /* keeps the model as it was, only its array may have grown */
        l.n = m->nmetrics;
    m->metrics = l.specs;
    m->nmetrics = l.n;
    return s;
}

BGM_API bgm_status bgm_model_add_metric(bgm_model *m, bgm_metric_kind kind,
                                        const bgm_metric_options *opts)
{
    static const char *fn = "bgm_model_add_metric";
    BGM__CHECK_NULL(m, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    return add_metric(m, -1, kind, opts, NULL, NULL, NULL, fn);
}

BGM_API bgm_status bgm_model_add_output_metric(bgm_model *m, int output, bgm_metric_kind kind,
                                               const bgm_metric_options *opts)
{
    static const char *fn = "bgm_model_add_output_metric";
    BGM__CHECK_NULL(m, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    if (output < 0 || output >= m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: output = %d, the model has %d output%s", fn,
                         output, m->noutputs, m->noutputs == 1 ? "" : "s");
    return add_metric(m, output, kind, opts, NULL, NULL, NULL, fn);
}

/* Checks a function's name (a loss's or a metric's): 1 to 63 characters, one line. */
static bgm_status check_fn_name(const char *name, const char *fn)
{
    size_t len = strlen(name);
    if (len == 0 || len >= BGM__NAME_SIZE || strchr(name, '\n'))
        return bgm__fail(BGM_E_INVALID, "%s: name '%.80s' must have 1 to %d characters on "
                         "one line", fn, name, BGM__NAME_SIZE - 1);
    return BGM_OK;
}

/* The checks of the functions that give a compiled model a loss or metric function. */
static bgm_status check_fn_call(const bgm_model *m, const char *name, bgm_loss_fn f,
                                const char *fn)
{
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(name, fn);
    if (!f)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'fn' is NULL", fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    if (m->fitting)
        return bgm__fail(BGM_E_STATE, "%s: fit is running on this model", fn);
    return BGM_OK;
}

bgm_status bgm__model_add_metric_fn(bgm_model *m, int output, const char *name,
                                    bgm_loss_fn f, void *ctx, const char *fn)
{
    bgm_status s = check_fn_name(name, fn);
    if (s != BGM_OK)
        return s;
    if (output < -1 || output >= m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: output = %d, the model has %d output%s (-1: "
                         "every output)", fn, output, m->noutputs, m->noutputs == 1 ? "" : "s");
    return add_metric(m, output, BGM__METRIC_MEAN, NULL, name, f, ctx, fn);
}

BGM_API bgm_status bgm_model_add_metric_fn(bgm_model *m, int output, const char *name,
                                           bgm_loss_fn fn, void *ctx)
{
    static const char *fn_name = "bgm_model_add_metric_fn";
    bgm_status s = check_fn_call(m, name, fn, fn_name);
    if (s != BGM_OK)
        return s;
    return bgm__model_add_metric_fn(m, output, name, fn, ctx, fn_name);
}

BGM_API bgm_status bgm_model_set_metric_fn(bgm_model *m, const char *name, bgm_loss_fn fn,
                                           void *ctx)
{
    static const char *fn_name = "bgm_model_set_metric_fn";
    char have[512] = "";
    size_t used = 0;
    int i, found = 0;
    BGM__CHECK_NULL(m, fn_name);
    BGM__CHECK_NULL(name, fn_name);
    if (!fn)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'fn' is NULL", fn_name);
    for (i = 0; i < m->nmetrics; i++) {
        bgm__metric_spec *sp = &m->metrics[i];
        if (!sp->fn_name[0])
            continue;
        if (strcmp(sp->fn_name, name) == 0) {
            sp->fn = fn;
            sp->fn_ctx = ctx;
            found = 1;
        } else if (used + strlen(sp->fn_name) + 5 < sizeof have) {
            used += (size_t)snprintf(have + used, sizeof have - used, "%s'%s'",
                                     used ? ", " : "", sp->fn_name);
        }
    }
    if (!found)
        return bgm__fail(BGM_E_INVALID, "%s: the model has no custom metric '%s' (it has %s)",
                         fn_name, name, used ? have : "none");
    return BGM_OK;
}

/* Index into m->metrics of value i of evaluate, or -1 when i is no metric's. */
static int metric_at(const bgm_model *m, int i)
{
    int nl = m->noutputs > 1 ? m->noutputs : 0;
    if (!m->optimizer || i < 1 + nl || i >= 1 + nl + m->nmetrics)
        return -1;
    return i - 1 - nl;
}

/* metric_at(m, i) into *k, or BGM_E_INVALID naming fn when i is no metric's. */
static bgm_status metric_index(const bgm_model *m, int i, int *k, const char *fn)
{
    *k = metric_at(m, i);
    if (*k < 0)
        return bgm__fail(BGM_E_INVALID, "%s: value %d is not a metric (the metrics are "
                         "values %d to %d)", fn, i, 1 + (m->noutputs > 1 ? m->noutputs : 0),
                         bgm_model_num_metrics(m) - 1);
    return BGM_OK;
}

BGM_API const char *bgm_model_metric_fn_name(const bgm_model *m, int i)
{
    int k = m ? metric_at(m, i) : -1;
    return k >= 0 && m->metrics[k].fn_name[0] ? m->metrics[k].fn_name : NULL;
}

BGM_API bgm_status bgm_model_set_metric_name(bgm_model *m, int i, const char *name)
{
    static const char *fn = "bgm_model_set_metric_name";
    int k, j, n;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(name, fn);
    if (metric_index(m, i, &k, fn) != BGM_OK)
        return BGM_E_INVALID;
    if (!name[0] || strlen(name) >= sizeof m->metrics[k].name - 4)
        return bgm__fail(BGM_E_INVALID, "%s: name '%.80s' must have 1 to %d characters", fn,
                         name, (int)sizeof m->metrics[k].name - 5);
    n = bgm_model_num_metrics(m);
    for (j = 0; j < n; j++)
        if (j != i && strcmp(bgm_model_metric_name(m, j), name) == 0)
            return bgm__fail(BGM_E_INVALID, "%s: value %d is called '%s' already", fn, j,
                             name);
    snprintf(m->metrics[k].name, sizeof m->metrics[k].name, "%s", name);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_set_metric_weighted(bgm_model *m, int i, int weighted)
{
    static const char *fn = "bgm_model_set_metric_weighted";
    int k;
    BGM__CHECK_NULL(m, fn);
    if (metric_index(m, i, &k, fn) != BGM_OK)
        return BGM_E_INVALID;
    if (m->fitting)
        return bgm__fail(BGM_E_STATE, "%s: fit is running on this model", fn);
    if (weighted && !m->metrics[k].fn_name[0] && !bgm__metric_weighable(m->metrics[k].kind))
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: metric '%s' cannot be weighted by sample "
                         "weights; accuracy, top-k accuracy, MSE, MAE and custom metric "
                         "functions can", fn, m->metrics[k].name);
    m->metrics[k].weighted = weighted != 0;
    return BGM_OK;
}

BGM_API int bgm_model_metric_weighted(const bgm_model *m, int i)
{
    int k = m ? metric_at(m, i) : -1;
    return k >= 0 && m->metrics[k].weighted;
}

BGM_API bgm_status bgm_model_set_loss_fn(bgm_model *m, int output, const char *name,
                                         bgm_loss_fn fn, void *ctx)
{
    static const char *fn_name = "bgm_model_set_loss_fn";
    bgm__output_spec *o;
    size_t len;
    bgm_status s = check_fn_call(m, name, fn, fn_name);
    if (s != BGM_OK)
        return s;
    if (output < 0 || output >= m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: output = %d, the model has %d output%s",
                         fn_name, output, m->noutputs, m->noutputs == 1 ? "" : "s");
    if (check_fn_name(name, fn_name) != BGM_OK)
        return BGM_E_INVALID;
    len = strlen(name);
    o = &m->out_specs[output];
    o->loss = BGM_LOSS_CUSTOM;
    o->from_logits = 0;
    memcpy(o->loss_name, name, len + 1);
    o->loss_fn = fn;
    o->loss_ctx = ctx;
    if (output == 0) {
        m->loss = BGM_LOSS_CUSTOM;
        m->from_logits = 0;
    }
    return BGM_OK;
}

BGM_API const char *bgm_model_loss_name(const bgm_model *m, int output)
{
    if (!m || !m->optimizer || output < 0 || output >= m->noutputs ||
        m->out_specs[output].loss != BGM_LOSS_CUSTOM || !m->out_specs[output].loss_name[0])
        return NULL;
    return m->out_specs[output].loss_name;
}

BGM_API bgm_optimizer *bgm_model_optimizer(const bgm_model *m)
{
    return m ? m->optimizer : NULL;
}

/* Losses reported besides the total: one per output when there are several. */
static int output_losses(const bgm_model *m)
{
    return m->noutputs > 1 ? m->noutputs : 0;
}

BGM_API int bgm_model_num_metrics(const bgm_model *m)
{
    return m && m->optimizer ? 1 + output_losses(m) + m->nmetrics : 0;
}

BGM_API const char *bgm_model_metric_name(const bgm_model *m, int i)
{
    int nl;
    if (!m || !m->optimizer || i < 0 || i >= bgm_model_num_metrics(m))
        return NULL;
    nl = output_losses(m);
    if (i == 0)
        return "loss";
    return i <= nl ? m->out_specs[i - 1].loss_key : m->metrics[i - 1 - nl].name;
}

BGM_API const char *bgm_model_output_name(const bgm_model *m, int i)
{
    if (!m || !m->optimizer || i < 0 || i >= m->noutputs)
        return NULL;
    return m->out_specs[i].name;
}

bgm_status bgm__metrics_create(const bgm_model *m, bgm_metric ***out)
{
    bgm_metric **ms = calloc((size_t)m->nmetrics + 1, sizeof *ms);
    int i;
    *out = NULL;
    if (!ms)
        return bgm__fail(BGM_E_NOMEM, "out of memory for the metrics");
    for (i = 0; i < m->nmetrics; i++) {
        bgm_status s = m->metrics[i].fn_name[0]
                           ? bgm__metric_create_mean(&ms[i])
                           : bgm_metric_create(&ms[i], m->metrics[i].kind, &m->metrics[i].opts);
        if (s != BGM_OK) {
            bgm__metrics_free(ms, i);
            return s;
        }
        if (m->metrics[i].weighted)
            bgm__metric_set_weighted(ms[i]);
    }
    *out = ms;
    return BGM_OK;
}

void bgm__metrics_free(bgm_metric **metrics, int n)
{
    int i;
    if (!metrics)
        return;
    for (i = 0; i < n; i++)
        bgm_metric_free(metrics[i]);
    free(metrics);
}
