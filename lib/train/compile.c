/* compile: the optimizer, the loss kind and the metrics a model reports. */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Number of output columns (last output dimension). */
static int64_t output_columns(const bgm_model *m)
{
    int ndim;
    const int64_t *shape = bgm_model_output_shape(m, &ndim);
    return shape[ndim - 1];
}

/* Options a metric gets when compiled by kind, fitted to the output. */
static bgm_status default_options(const bgm_model *m, bgm_metric_kind kind,
                                  bgm_metric_options *o, const char *fn)
{
    int64_t c = output_columns(m);
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
        if (c > 2)
            return bgm__fail(BGM_E_INVALID, "%s: AUC needs a binary output of 1 or 2 "
                             "columns, the model outputs %lld", fn, (long long)c);
        break;
    default:
        break;
    }
    return BGM_OK;
}

/* Appends a metric spec, checking the options by creating an instance. */
static bgm_status push_metric(bgm__metric_spec **specs, int *n,
                              bgm_metric_kind kind, const bgm_metric_options *opts,
                              const char *fn)
{
    bgm__metric_spec *grown, *sp;
    bgm_metric *probe = NULL;
    char msg[900];
    int i, k;
    bgm_status s = bgm_metric_create(&probe, kind, opts);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: %s", fn, msg);
    }
    grown = realloc(*specs, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) {
        bgm_metric_free(probe);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    *specs = grown;
    sp = &grown[*n];
    memset(sp, 0, sizeof *sp);
    sp->kind = kind;
    if (opts)
        memcpy(&sp->opts, opts, opts->size < sizeof sp->opts ? opts->size : sizeof sp->opts);
    else
        bgm_metric_options_init(&sp->opts, sizeof sp->opts);
    sp->opts.size = sizeof sp->opts;
    /* Keras names a repeated metric precision, precision_1, ... */
    for (k = 0;; k++) {
        int taken = 0;
        if (k == 0)
            snprintf(sp->name, sizeof sp->name, "%s", bgm_metric_name(probe));
        else
            snprintf(sp->name, sizeof sp->name, "%s_%d", bgm_metric_name(probe), k);
        for (i = 0; i < *n; i++)
            taken |= strcmp(grown[i].name, sp->name) == 0;
        if (!taken)
            break;
    }
    bgm_metric_free(probe);
    (*n)++;
    return BGM_OK;
}

BGM_API bgm_status bgm_model_compile(bgm_model *m, bgm_optimizer *optimizer,
                                     bgm_loss_kind loss, int from_logits,
                                     const bgm_metric_kind *metrics, int nmetrics)
{
    static const char *fn = "bgm_model_compile";
    bgm__metric_spec *specs = NULL;
    int n = 0, i;
    bgm_status s;
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
    if (m->noutputs != 1) {
        s = bgm__fail(BGM_E_UNSUPPORTED, "%s: the model has %d outputs; compile takes "
                      "one loss for one output so far", fn, m->noutputs);
        goto fail;
    }
    if (loss < BGM_LOSS_MSE || loss > BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) {
        s = bgm__fail(BGM_E_INVALID, "%s: unknown loss %d", fn, (int)loss);
        goto fail;
    }
    if (from_logits && (loss == BGM_LOSS_MSE || loss == BGM_LOSS_MAE)) {
        s = bgm__fail(BGM_E_INVALID, "%s: from_logits applies to the cross-entropy losses, "
                      "not to %s", fn, bgm__loss_name(loss));
        goto fail;
    }
    if (nmetrics < 0 || (nmetrics > 0 && !metrics)) {
        s = bgm__fail(BGM_E_INVALID, "%s: nmetrics = %d with metrics %s", fn, nmetrics,
                      metrics ? "given" : "NULL");
        goto fail;
    }
    for (i = 0; i < nmetrics; i++) {
        bgm_metric_options o;
        s = default_options(m, metrics[i], &o, fn);
        if (s == BGM_OK)
            s = push_metric(&specs, &n, metrics[i], &o, fn);
        if (s != BGM_OK)
            goto fail;
    }
    bgm_optimizer_free(m->optimizer);
    free(m->metrics);
    m->optimizer = optimizer;
    m->loss = loss;
    m->from_logits = from_logits != 0;
    m->metrics = specs;
    m->nmetrics = n;
    return BGM_OK;
fail:
    free(specs);
    bgm_optimizer_free(optimizer);
    return s;
}

BGM_API bgm_status bgm_model_add_metric(bgm_model *m, bgm_metric_kind kind,
                                        const bgm_metric_options *opts)
{
    static const char *fn = "bgm_model_add_metric";
    BGM__CHECK_NULL(m, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    return push_metric(&m->metrics, &m->nmetrics, kind, opts, fn);
}

BGM_API bgm_optimizer *bgm_model_optimizer(const bgm_model *m)
{
    return m ? m->optimizer : NULL;
}

BGM_API int bgm_model_num_metrics(const bgm_model *m)
{
    return m && m->optimizer ? 1 + m->nmetrics : 0;
}

BGM_API const char *bgm_model_metric_name(const bgm_model *m, int i)
{
    if (!m || !m->optimizer || i < 0 || i > m->nmetrics)
        return NULL;
    return i == 0 ? "loss" : m->metrics[i - 1].name;
}

bgm_status bgm__metrics_create(const bgm_model *m, bgm_metric ***out)
{
    bgm_metric **ms = calloc((size_t)m->nmetrics + 1, sizeof *ms);
    int i;
    *out = NULL;
    if (!ms)
        return bgm__fail(BGM_E_NOMEM, "out of memory for the metrics");
    for (i = 0; i < m->nmetrics; i++) {
        bgm_status s = bgm_metric_create(&ms[i], m->metrics[i].kind, &m->metrics[i].opts);
        if (s != BGM_OK) {
            bgm__metrics_free(ms, i);
            return s;
        }
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

bgm_status bgm__check_single_io(const bgm_model *m, const char *fn)
{
    if (m->ninputs != 1 || m->noutputs != 1)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the model has %d inputs and %d outputs; "
                         "this function takes models of one input and one output so far "
                         "(train others with bgm_model_forward_multi on a tape)", fn,
                         m->ninputs, m->noutputs);
    return BGM_OK;
}
