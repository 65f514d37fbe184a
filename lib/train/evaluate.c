/*
 * evaluate and predict: inference-mode passes that only read the model.
 * Every call works on tapes of its own, so calls may run on many threads;
 * two tapes taking turns by layer keep only about two layers' activations,
 * and the model keeps idle pairs so their memory stays mapped.
 */
#include "train/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 32

bgm__infer_tapes *bgm__infer_tapes_take(const bgm_model *m)
{
    bgm_model *mm = (bgm_model *)m; /* only the guarded cache changes */
    bgm__infer_tapes *t;
    pthread_mutex_lock(&mm->infer_lock);
    t = mm->infer_idle;
    if (t)
        mm->infer_idle = t->next;
    pthread_mutex_unlock(&mm->infer_lock);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (t && bgm_tape_create(&t->tapes[0]) == BGM_OK &&
        bgm_tape_create(&t->tapes[1]) == BGM_OK)
        return t;
    if (t) {
        bgm_tape_free(t->tapes[0]);
        free(t);
    }
    bgm__fail(BGM_E_NOMEM, "out of memory for the inference tapes");
    return NULL;
}

void bgm__infer_tapes_give(const bgm_model *m, bgm__infer_tapes *t)
{
    bgm_model *mm = (bgm_model *)m;
    if (!t)
        return;
    /* Results die here; the memory stays for the next call. */
    bgm_tape_reset(t->tapes[0]);
    bgm_tape_reset(t->tapes[1]);
    pthread_mutex_lock(&mm->infer_lock);
    t->next = mm->infer_idle;
    mm->infer_idle = t;
    pthread_mutex_unlock(&mm->infer_lock);
}

void bgm__infer_tapes_free_all(bgm_model *m)
{
    while (m->infer_idle) {
        bgm__infer_tapes *t = m->infer_idle;
        m->infer_idle = t->next;
        bgm_tape_free(t->tapes[0]);
        bgm_tape_free(t->tapes[1]);
        free(t);
    }
}

bgm_status bgm__evaluate_tensors(const bgm_model *m, bgm_tape *tapes[2], const bgm_tensor *x,
                                 const bgm_tensor *y, int64_t batch_size,
                                 bgm_metric **metrics, double *loss_mean)
{
    int64_t n = bgm_tensor_dim(x, 0), start;
    double sum = 0.0;
    bgm_status s = BGM_OK;
    int i;
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(metrics[i]);
    for (start = 0; start < n && s == BGM_OK; start += batch_size) {
        int64_t stop = start + batch_size < n ? start + batch_size : n;
        bgm_tensor *xb = NULL, *yb = NULL, *pred, *loss, *probs;
        s = bgm_tensor_slice(&xb, x, start, stop);
        if (s == BGM_OK)
            s = bgm_tensor_slice(&yb, y, start, stop);
        if (s == BGM_OK)
            s = bgm__model_infer(m, tapes, xb, &pred);
        if (s == BGM_OK)
            s = bgm__model_loss(m, tapes[0], yb, pred, &loss);
        if (s == BGM_OK) {
            sum += (double)*(const float *)bgm_tensor_data(loss) * (double)(stop - start);
            s = bgm__metric_input(m, tapes[0], pred, &probs);
        }
        for (i = 0; s == BGM_OK && i < m->nmetrics; i++)
            s = bgm_metric_update(metrics[i], yb, probs);
        bgm_tensor_free(xb);
        bgm_tensor_free(yb);
    }
    bgm_tape_reset(tapes[0]);
    bgm_tape_reset(tapes[1]);
    *loss_mean = n > 0 ? sum / (double)n : 0.0;
    return s;
}

static bgm_status check_batch_size(int64_t *batch_size, const char *fn)
{
    if (*batch_size < 0)
        return bgm__fail(BGM_E_INVALID, "%s: batch_size = %lld is negative", fn,
                         (long long)*batch_size);
    if (*batch_size == 0)
        *batch_size = DEFAULT_BATCH;
    return BGM_OK;
}

static bgm_status evaluate(double *results, int n, const bgm_model *m, const bgm_tensor *x,
                           const bgm_tensor *y, int64_t batch_size, const char *fn)
{
    bgm_tensor *yv = NULL;
    bgm__infer_tapes *it = NULL;
    bgm_metric **metrics = NULL;
    double loss = 0.0, value;
    bgm_status s;
    int i;
    BGM__CHECK_NULL(results, fn);
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %d, room for at least the loss is needed",
                         fn, n);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    s = check_batch_size(&batch_size, fn);
    if (s == BGM_OK)
        s = bgm__check_input(m, fn, "x", x);
    if (s == BGM_OK)
        s = bgm__check_targets(m, fn, "y", y, bgm_tensor_dim(x, 0), &yv);
    if (s == BGM_OK && !(it = bgm__infer_tapes_take(m)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &metrics);
    if (s == BGM_OK)
        s = bgm__evaluate_tensors(m, it->tapes, x, yv, batch_size, metrics, &loss);
    if (s == BGM_OK)
        results[0] = loss;
    for (i = 0; s == BGM_OK && i < m->nmetrics && i + 1 < n; i++) {
        s = bgm_metric_result(&value, metrics[i]);
        results[i + 1] = value;
    }
    if (yv != y)
        bgm_tensor_free(yv);
    bgm__metrics_free(metrics, m->nmetrics);
    bgm__infer_tapes_give(m, it);
    return s;
}

BGM_API bgm_status bgm_model_evaluate(double *results, int n, const bgm_model *m,
                                      const bgm_tensor *x, const bgm_tensor *y,
                                      int64_t batch_size)
{
    return evaluate(results, n, m, x, y, batch_size, "bgm_model_evaluate");
}

BGM_API bgm_status bgm_model_evaluate_dataset(double *results, int n, const bgm_model *m,
                                              const bgm_dataset *ds, int64_t batch_size)
{
    static const char *fn = "bgm_model_evaluate_dataset";
    BGM__CHECK_NULL(ds, fn);
    if (!bgm_dataset_targets(ds))
        return bgm__fail(BGM_E_INVALID, "%s: the dataset has no targets", fn);
    return evaluate(results, n, m, bgm_dataset_features(ds), bgm_dataset_targets(ds),
                    batch_size, fn);
}

BGM_API bgm_status bgm_model_predict(bgm_tensor **out, const bgm_model *m,
                                     const bgm_tensor *x, int64_t batch_size)
{
    static const char *fn = "bgm_model_predict";
    int64_t shape[BGM_MAX_DIMS], n, start, row;
    const int64_t *os;
    bgm_tensor *result = NULL;
    bgm__infer_tapes *it = NULL;
    bgm_status s;
    int ndim, i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    if (m->nlayers == 0)
        return bgm__fail(BGM_E_STATE, "%s: the model has no layers", fn);
    s = check_batch_size(&batch_size, fn);
    if (s == BGM_OK)
        s = bgm__check_input(m, fn, "x", x);
    if (s != BGM_OK)
        return s;
    n = bgm_tensor_dim(x, 0);
    os = bgm_model_output_shape(m, &ndim);
    shape[0] = n;
    row = 1;
    for (i = 0; i < ndim; i++) {
        shape[i + 1] = os[i];
        row *= os[i];
    }
    s = bgm_tensor_zeros(&result, BGM_FLOAT32, shape, ndim + 1);
    if (s == BGM_OK && !(it = bgm__infer_tapes_take(m)))
        s = BGM_E_NOMEM;
    for (start = 0; s == BGM_OK && start < n; start += batch_size) {
        int64_t stop = start + batch_size < n ? start + batch_size : n;
        bgm_tensor *xb = NULL, *pred;
        s = bgm_tensor_slice(&xb, x, start, stop);
        if (s == BGM_OK)
            s = bgm__model_infer(m, it->tapes, xb, &pred);
        if (s == BGM_OK)
            memcpy((float *)bgm_tensor_data(result) + start * row, bgm_tensor_data(pred),
                   (size_t)((stop - start) * row) * sizeof(float));
        bgm_tensor_free(xb);
    }
    bgm__infer_tapes_give(m, it);
    if (s != BGM_OK) {
        char msg[900];
        bgm_tensor_free(result);
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        if (strncmp(msg, fn, strlen(fn)) != 0)
            bgm__fail(s, "%s: %s", fn, msg);
        return s;
    }
    *out = result;
    return BGM_OK;
}
