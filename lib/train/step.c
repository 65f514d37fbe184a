/*
 * One step on one batch, the unit of every loop: a training step (forward
 * on the model's tape, the losses, gradients, one optimizer step) and a test
 * step (inference), both feeding the metrics; the values they report; and
 * Keras' train_on_batch / test_on_batch, which are one such step.
 */
#include "core/comm.h"
#include "kernels/simd.h"
#include "metrics/mean.h"
#include "train/dist.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The float value of a scalar loss tensor. */
static double scalar(const bgm_tensor *t)
{
    return *(const float *)bgm_tensor_data(t);
}

/* losses from the total and per-output loss tensors. */
static void read_losses(bgm__losses losses, const bgm_model *m, const bgm_tensor *total,
                        bgm_tensor *const *per)
{
    int j;
    losses[0] = scalar(total);
    for (j = 0; j < m->noutputs; j++)
        losses[1 + j] = scalar(per[j]);
}

/* Output scores (N, ..., C) with targets (N, ...) or (N, ..., C) as rows,
 * as Keras' metrics flatten sequence outputs: a view on tape (N*..., C) of
 * the scores and a view (N*...) or (N*..., C) of the caller's targets (the
 * caller frees it); NULL when the output is (N, C) already. */
static bgm_status rows_of(bgm_tape *tape, const bgm_tensor *y, const bgm_tensor *pred,
                          bgm_tensor **y_rows, bgm_tensor **pred_rows)
{
    int64_t shape[2];
    int nd = bgm_tensor_ndim(pred);
    bgm_status s;
    *y_rows = *pred_rows = NULL;
    if (nd < 3)
        return BGM_OK;
    shape[1] = bgm_tensor_dim(pred, nd - 1);
    shape[0] = bgm_tensor_numel(pred) / (shape[1] ? shape[1] : 1);
    s = bgm_op_reshape(pred_rows, tape, pred, shape, 2);
    if (s == BGM_OK)
        s = bgm_tensor_reshape(y_rows, y, shape, bgm_tensor_ndim(y) == nd ? 2 : 1);
    return s;
}

/* Adds the values v (n rows of per) of custom metric what to its weighted
 * running mean: each row's mean weighs its sample weight (sw of n), or each
 * value its own weight (sw of n * per); sw NULL weighs 1. */
static bgm_status add_weighted_fn(bgm_metric *metric, const bgm_tensor *v, int64_t n,
                                  int64_t per, const bgm_tensor *sw, const char *what,
                                  const char *fn)
{
    const float *d = bgm_tensor_data(v), *w = sw ? bgm_tensor_data(sw) : NULL;
    int64_t nw = sw ? bgm_tensor_numel(sw) : n, r, k;
    double wsum = 0.0, wtotal = 0.0;
    if (bgm_tensor_ndim(v) == 0 || (nw != n && nw != n * per))
        return bgm__fail(BGM_E_SHAPE, "%s: %s is weighted and returned %lld values for %lld "
                         "sample weights: a weighted custom metric returns one value per "
                         "sample (or per sample and step, as the weights)", fn, what,
                         (long long)bgm_tensor_numel(v), (long long)nw);
    for (r = 0; r < n; r++) {
        double row = 0.0;
        if (nw == n * per && per > 1) {
            for (k = 0; k < per; k++) {
                wsum += w[r * per + k] * (double)d[r * per + k];
                wtotal += w[r * per + k];
            }
            continue;
        }
        for (k = 0; k < per; k++)
            row += d[r * per + k];
        wsum += (w ? w[r] : 1.0) * (per ? row / (double)per : 0.0);
        wtotal += w ? w[r] : 1.0;
    }
    bgm__metric_add_weighted(metric, wsum, wtotal);
    return BGM_OK;
}

/* Feeds the batch to custom metric i: its function's values, each sample's
 * averaged, as Keras' MeanMetricWrapper (a scalar counts as one sample);
 * weighted by sw when the metric is. */
static bgm_status update_metric_fn(const bgm_model *m, int i, bgm_tape *tape,
                                   bgm_metric *metric, const bgm_tensor *y,
                                   const bgm_tensor *pred, const bgm_tensor *sw,
                                   const char *fn)
{
    char what[2 * BGM__KEY_SIZE];
    const bgm__metric_spec *sp = &m->metrics[i];
    bgm_tensor *v = NULL;
    const float *d;
    int64_t n, per, r, k;
    double sum = 0.0;
    bgm_status s;
    snprintf(what, sizeof what, "custom metric '%s'", sp->name);
    s = bgm__call_user_fn(&v, sp->fn, sp->fn_ctx, tape, y, pred, what,
                          "bgm_model_set_metric_fn", fn);
    if (s != BGM_OK)
        return s;
    d = bgm_tensor_data(v);
    n = bgm_tensor_ndim(v) ? bgm_tensor_dim(v, 0) : 1;
    per = n ? bgm_tensor_numel(v) / n : 0;
    if (sp->weighted)
        return add_weighted_fn(metric, v, n, per, sw, what, fn);
    if (bgm_tensor_ndim(v) == 0) {
        bgm__metric_add(metric, d[0], 1);
        return BGM_OK;
    }
    for (r = 0; r < n; r++) {
        double row = 0.0;
        for (k = 0; k < per; k++)
            row += d[r * per + k];
        sum += per ? row / (double)per : 0.0;
    }
    bgm__metric_add(metric, sum, n);
    return BGM_OK;
}

/* The weight of each of nrows metric rows from the batch's sample weights
 * sw: sw's own values when it has nrows, else each sample's weight repeated
 * over its steps (*own then holds them, for the caller to free); NULL for
 * no weights. */
static bgm_status row_weights(const float **w, float **own, const bgm_tensor *sw,
                              int64_t nrows, const char *fn)
{
    int64_t n = sw ? bgm_tensor_dim(sw, 0) : 0, nw = sw ? bgm_tensor_numel(sw) : 0, r;
    *w = NULL;
    *own = NULL;
    if (!sw || nw == nrows) {
        *w = sw ? bgm_tensor_data(sw) : NULL;
        return BGM_OK;
    }
    if (n == 0 || nrows % n != 0)
        return bgm__fail(BGM_E_SHAPE, "%s: %lld sample weights do not fit %lld metric rows",
                         fn, (long long)nw, (long long)nrows);
    *own = malloc((size_t)nrows * sizeof **own);
    if (!*own)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    for (r = 0; r < nrows; r++)
        (*own)[r] = ((const float *)bgm_tensor_data(sw))[r / (nrows / n)];
    *w = *own;
    return BGM_OK;
}

/* Feeds the batch to the metrics, on tape (probabilities for logits); the
 * weighted ones weigh sw (the batch's sample weights, or NULL). */
static bgm_status update_metrics(const bgm_model *m, bgm_tape *tape, bgm_metric **metrics,
                                 const bgm_tensor *const *ys, bgm_tensor *const *pred,
                                 const bgm_tensor *sw, const char *fn)
{
    bgm_tensor *probs[BGM__MAX_IO];
    bgm_status s = BGM_OK;
    int i;
    for (i = 0; s == BGM_OK && i < m->noutputs; i++)
        s = bgm__metric_input(m, i, tape, pred[i], &probs[i]);
    for (i = 0; s == BGM_OK && i < m->nmetrics; i++) {
        int j = m->metrics[i].output;
        bgm_tensor *y_rows, *p_rows;
        if (m->metrics[i].fn_name[0]) {
            s = update_metric_fn(m, i, tape, metrics[i], ys[j], pred[j], sw, fn);
            continue;
        }
        s = rows_of(tape, ys[j], probs[j], &y_rows, &p_rows);
        if (s == BGM_OK && m->metrics[i].weighted) {
            const bgm_tensor *p = p_rows ? p_rows : probs[j];
            const float *w;
            float *own;
            s = row_weights(&w, &own, sw, bgm_tensor_dim(p, 0), fn);
            if (s == BGM_OK)
                s = bgm__metric_update_weighted(metrics[i], fn, y_rows ? y_rows : ys[j], p,
                                                w);
            free(own);
        } else if (s == BGM_OK) {
            s = bgm_metric_update(metrics[i], y_rows ? y_rows : ys[j],
                                  p_rows ? p_rows : probs[j]);
        }
        bgm_tensor_free(y_rows);
    }
    return s;
}

/* 1 when none of d[0..n) is NaN or infinite: one branch-free pass (an
 * exponent of all ones marks both), vectorized (BGM__HOT: the build's -O2
 * left it scalar, 13% of a small MLP's step). */
BGM__HOT static int all_finite(const float *d, int64_t n)
{
    uint32_t bad = 0;
    int64_t i;
    for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &d[i], sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad == 0;
}

/* The name of trainable weight i ("dense_1/kernel"). */
static const char *trainable_name(const bgm_model *m, int i)
{
    int k;
    for (k = 0; k < m->nweights; k++)
        if (m->weights[k].view == m->trainable[i])
            return m->weights[k].name;
    return "?";
}

/* "epoch E, step S: " (from 1) in buf, or "" when epoch < 0 (train_on_batch). */
static const char *step_where(char *buf, size_t size, int epoch, int64_t step)
{
    buf[0] = '\0';
    if (epoch >= 0)
        snprintf(buf, size, "epoch %d, step %lld: ", epoch + 1, (long long)step + 1);
    return buf;
}

/* BGM_E_NONFINITE naming the first trainable weight whose gradient holds a
 * NaN or an infinity, or BGM_OK when all are finite. */
static bgm_status check_grads(const bgm_model *m, bgm_tensor *const *grads, int epoch,
                              int64_t step, const char *fn)
{
    char where[64];
    int i;
    for (i = 0; i < m->ntrainable; i++) {
        const float *d = bgm_tensor_data(grads[i]);
        int64_t n = bgm_tensor_numel(grads[i]), k = 0;
        if (all_finite(d, n))
            continue;
        while (k < n && isfinite(d[k]))
            k++;
        return bgm__fail(BGM_E_NONFINITE, "%s: %sthe gradient of '%s' holds %g (element "
                         "%lld of %lld); the step was not applied, the weights are those "
                         "of the last finite step", fn,
                         step_where(where, sizeof where, epoch, step), trainable_name(m, i),
                         (double)d[k], (long long)k, (long long)n);
    }
    return BGM_OK;
}

/* The checks and the optimizer step on the step's gradients grads. */
static bgm_status apply_step(bgm_model *m, bgm_tensor *const *grads, int epoch, int64_t step,
                             const char *fn)
{
    bgm_status s;
    if (m->ntrainable == 0)
        return BGM_OK;
    s = check_grads(m, grads, epoch, step, fn);
    if (s == BGM_OK)
        s = bgm_optimizer_step(m->optimizer, m->trainable, grads, m->ntrainable);
    return s;
}

bgm_status bgm__grad_views(bgm_tensor ***views, const bgm_model *m, float *buf, const char *fn)
{
    bgm_tensor **v = calloc((size_t)m->ntrainable + 1, sizeof *v);
    bgm_status s = v ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    int i;
    for (i = 0; s == BGM_OK && i < m->ntrainable; i++) {
        const bgm_tensor *w = m->trainable[i];
        s = bgm_tensor_wrap(&v[i], BGM_FLOAT32, bgm_tensor_shape(w), bgm_tensor_ndim(w), buf,
                            NULL, NULL);
        buf += bgm_tensor_numel(w);
    }
    if (s != BGM_OK) {
        bgm__grad_views_free(v, m);
        v = NULL;
    }
    *views = v;
    return s;
}

void bgm__grad_views_free(bgm_tensor **views, const bgm_model *m)
{
    int i;
    for (i = 0; views && i < m->ntrainable; i++)
        bgm_tensor_free(views[i]);
    free(views);
}

bgm_status bgm__accum_init(bgm__accum *acc, const bgm_model *m, int k, int with_sum,
                           const char *fn)
{
    int64_t n = 0;
    int i;
    memset(acc, 0, sizeof *acc);
    acc->k = k;
    acc->state = malloc(((size_t)m->nstate + 1) * sizeof *acc->state);
    if (!acc->state)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (!with_sum || k == 1)
        return BGM_OK;
    for (i = 0; i < m->ntrainable; i++)
        n += bgm_tensor_numel(m->trainable[i]);
    acc->sum = malloc(((size_t)n + 1) * sizeof *acc->sum);
    if (!acc->sum)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the accumulated gradients "
                         "(%lld floats)", fn, (long long)n);
    return bgm__grad_views(&acc->views, m, acc->sum, fn);
}

void bgm__accum_free(bgm__accum *acc, const bgm_model *m)
{
    free(acc->state);
    free(acc->sum);
    bgm__grad_views_free(acc->views, m);
    memset(acc, 0, sizeof *acc);
}

/* Adds b times grads (a batch of b samples) to acc's sum, which a new group
 * starts from zero. */
static void accum_add(bgm__accum *acc, const bgm_model *m, bgm_tensor *const *grads, int64_t b)
{
    float *p = acc->sum;
    int64_t n, k;
    int i;
    for (i = 0; i < m->ntrainable; i++) {
        const float *g = bgm_tensor_data(grads[i]);
        n = bgm_tensor_numel(grads[i]);
        for (k = 0; k < n; k++)
            p[k] = (acc->count ? p[k] : 0.0f) + g[k] * (float)b;
        p += n;
    }
    acc->b = (acc->count ? acc->b : 0.0) + (double)b;
}

/* The end of a batch (s: its status so far) or of a flush: when the group
 * ends (last), the loss check and the group's mean gradient, in apply,
 * applied; without dist a batch's loss is checked at once. On failure the
 * group is dropped and the moving statistics and draws are put back as it
 * began: a step that failed changes nothing, so the same call later gives
 * what it would have given now. */
static bgm_status finish_batch(bgm_model *m, bgm__dist *dist, bgm__accum *acc,
                               bgm_tensor *const *apply, const bgm__losses losses,
                               bgm_status s, int last, int epoch, int64_t step, const char *fn)
{
    char where[64];
    int64_t n, k;
    int i;
    if (s == BGM_OK && (last || !dist) && !isfinite(losses[0]))
        s = bgm__fail(BGM_E_NONFINITE, "%s: %sthe loss is %g; the step was not applied, "
                      "the weights are those of the last finite step", fn,
                      step_where(where, sizeof where, epoch, step), losses[0]);
    if (s == BGM_OK && last && !dist && acc->k > 1) { /* the mean over the group's samples */
        float *p = acc->sum;
        for (i = 0; i < m->ntrainable; i++) {
            n = bgm_tensor_numel(m->trainable[i]);
            for (k = 0; k < n; k++)
                p[k] /= (float)acc->b;
            p += n;
        }
    }
    if (s == BGM_OK && last)
        s = apply_step(m, apply, epoch, step, fn);
    if (s == BGM_E_NONFINITE && dist && last) /* found in the values of all ranks */
        dist->shared = 1;
    if (s != BGM_OK) {
        if (m->nstate > 0)
            memcpy(m->state, acc->state, (size_t)m->nstate * sizeof *acc->state);
        *(dist ? dist->rng : &m->rng) = acc->rng;
        acc->count = 0;
        return s;
    }
    acc->count = last ? 0 : acc->count + 1;
    return BGM_OK;
}

bgm_status bgm__train_batch(bgm_model *m, bgm__dist *dist, bgm__accum *acc,
                            const bgm_tensor *const *xs, const bgm_tensor *const *ys,
                            const bgm_tensor *sw, bgm_tensor **grads, bgm_metric **metrics,
                            bgm__losses losses, int epoch, int64_t step, const char *fn)
{
    bgm_tensor *pred[BGM__MAX_IO], *per[BGM__MAX_IO], *total = NULL;
    bgm_tensor *const *apply = grads;
    bgm_status s = bgm_tape_reset(m->tape);
    bgm_rng *draws = dist ? dist->rng : &m->rng;
    int64_t b = bgm_tensor_dim(xs[0], 0);
    int i, last = acc->count + 1 >= acc->k;
    if (dist)
        bgm__comm_take_agreed(dist->comm); /* only this batch's count below */
    if (acc->count == 0) { /* the moving statistics and draws before the group */
        if (m->nstate > 0)
            memcpy(acc->state, m->state, (size_t)m->nstate * sizeof *acc->state);
        acc->rng = *draws;
    }
    for (i = 0; s == BGM_OK && i < m->ntrainable; i++)
        s = bgm_tape_watch(m->tape, m->trainable[i]);
    if (s == BGM_OK)
        s = bgm__model_run(m, m->tape, xs, 1, 1, draws, pred);
    if (s == BGM_OK)
        s = bgm__model_loss(m, m->tape, ys, pred, sw, per, &total, fn);
    if (s == BGM_OK)
        read_losses(losses, m, total, per);
    if (s == BGM_OK && m->ntrainable > 0) {
        /* A data-parallel group's last batch reduces its buckets of
         * gradients while backward goes on. */
        bgm__tape_set_grad_hook(m->tape, dist && last ? bgm__dist_hook(dist, b) : NULL);
        s = bgm_tape_gradient(m->tape, total, m->trainable, m->ntrainable, grads);
        bgm__tape_set_grad_hook(m->tape, NULL);
    }
    if (dist && s != BGM_OK && dist->syncs && !bgm__comm_take_agreed(dist->comm)) {
        /* The others wait in a synchronized BatchNormalization's reduction
         * that this rank did not reach: its failure cannot travel in the
         * step's reduction, and fit ends it alone (the abort hook). After
         * an agreement that failed every rank, all stopped there alike. */
        return finish_batch(m, dist, acc, apply, losses, s, last, epoch, step, fn);
    } else if (dist) {
        /* Every rank enters the reduction whatever happened here; the
         * losses checked then are those of all ranks. */
        if (s == BGM_OK)
            s = update_metrics(m, m->tape, dist->metrics, ys, pred, sw, fn);
        dist->sink = metrics;
        s = bgm__dist_step(dist, m, grads, losses, b, s, last, epoch, step, fn);
        apply = dist->views;
    } else if (s == BGM_OK && acc->k > 1) {
        accum_add(acc, m, grads, b);
        apply = acc->views;
    }
    s = finish_batch(m, dist, acc, apply, losses, s, last, epoch, step, fn);
    if (s == BGM_OK && dist && last)
        s = bgm__dist_add_metrics(dist, metrics, fn);
    else if (s == BGM_OK && !dist)
        s = update_metrics(m, m->tape, metrics, ys, pred, sw, fn);
    return s;
}

bgm_status bgm__train_flush(bgm_model *m, bgm__dist *dist, bgm__accum *acc,
                            bgm_metric **metrics, bgm__losses losses, int epoch, int64_t step,
                            const char *fn)
{
    bgm_status s = BGM_OK;
    int j;
    for (j = 0; j <= m->noutputs; j++)
        losses[j] = 0.0;
    if (dist)
        dist->total_b = 0;
    if (acc->count == 0)
        return BGM_OK;
    if (dist) {
        dist->sink = metrics;
        s = bgm__dist_step(dist, m, NULL, losses, 0, BGM_OK, 1, epoch, step, fn);
    }
    s = finish_batch(m, dist, acc, dist ? dist->views : acc->views, losses, s, 1, epoch, step,
                     fn);
    if (s == BGM_OK && dist)
        s = bgm__dist_add_metrics(dist, metrics, fn);
    return s;
}

bgm_status bgm__test_batch(const bgm_model *m, bgm__infer_tapes *t, const bgm_tensor *const *xs,
                           const bgm_tensor *const *ys, const bgm_tensor *sw,
                           bgm_metric **metrics, bgm__losses losses, const char *fn)
{
    bgm_tensor *pred[BGM__MAX_IO], *per[BGM__MAX_IO], *total = NULL;
    bgm_status s = bgm__model_infer(m, t, xs, pred);
    if (s == BGM_OK)
        s = bgm__model_loss(m, t->tapes[0], ys, pred, sw, per, &total, fn);
    if (s == BGM_OK)
        s = update_metrics(m, t->tapes[0], metrics, ys, pred, sw, fn);
    if (s == BGM_OK)
        read_losses(losses, m, total, per);
    return s;
}

/* Value i of the list bgm_model_metric_name names. */
static bgm_status value_at(double *v, const bgm_model *m, bgm_metric **metrics,
                           const bgm__losses losses, int i)
{
    int nl = m->noutputs > 1 ? m->noutputs : 0;
    if (i <= nl) {
        *v = losses[i];
        return BGM_OK;
    }
    return bgm_metric_result(v, metrics[i - 1 - nl]);
}

bgm_status bgm__logs_collect(bgm_logs *logs, const bgm_model *m, bgm_metric **metrics,
                             const bgm__losses losses, const char *prefix)
{
    char name[BGM__KEY_SIZE + 8];
    double v;
    int i, n = bgm_model_num_metrics(m);
    for (i = 0; i < n; i++) {
        bgm_status s = value_at(&v, m, metrics, losses, i);
        if (s != BGM_OK)
            return s;
        snprintf(name, sizeof name, "%s%s", prefix, bgm_model_metric_name(m, i));
        bgm__logs_set(logs, name, v);
    }
    return BGM_OK;
}

bgm_status bgm__results(double *results, int n, const bgm_model *m, bgm_metric **metrics,
                        const bgm__losses losses)
{
    bgm_status s = BGM_OK;
    int i, count = bgm_model_num_metrics(m);
    for (i = 0; s == BGM_OK && i < count && i < n; i++)
        s = value_at(&results[i], m, metrics, losses, i);
    return s;
}

/* ---- train_on_batch / test_on_batch ---------------------------------------------- */

/* Keras' sample_weight and class_weight of a batch call. */
typedef struct batch_weights {
    const bgm_tensor *sample;
    const float *cls;
    int ncls;
} batch_weights;

static const batch_weights no_weights = {NULL, NULL, 0};

/* What both functions check before their step; a receives the checked
 * arrays and their weights. */
static bgm_status check_call(bgm__arrays *a, double *results, int n, const bgm_model *m,
                             const bgm_tensor *const *xs, int nx, const bgm_tensor *const *ys,
                             int ny, const batch_weights *w, const char *fn)
{
    bgm_status s;
    memset(a, 0, sizeof *a);
    BGM__CHECK_NULL(m, fn);
    if (n < 0 || (n > 0 && !results))
        return bgm__fail(BGM_E_INVALID, "%s: n = %d with results %s", fn, n,
                         results ? "given" : "NULL");
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    s = bgm__arrays_check(a, m, xs, nx, ys, ny, "x", "y", fn);
    if (s == BGM_OK)
        s = bgm__weights_check(a, m, w->sample, w->cls, w->ncls, "sample_weight", fn);
    if (s != BGM_OK)
        bgm__arrays_free(a);
    return s;
}

static bgm_status train_on_batch(double *results, int n, bgm_model *m,
                                 const bgm_tensor *const *xs, int nx,
                                 const bgm_tensor *const *ys, int ny, const batch_weights *w,
                                 const char *fn)
{
    bgm__arrays a;
    bgm__losses losses;
    bgm_metric **metrics = NULL;
    bgm_tensor **grads = NULL;
    bgm__accum acc;
    bgm__dist d;
    bgm_status s;
    if (m && m->comm && m->fitting) /* the other ranks are not here */
        return bgm__fail(BGM_E_STATE, "%s: fit is running on this model, whose "
                         "communicator makes train_on_batch a collective call (called from "
                         "a callback?)", fn);
    s = check_call(&a, results, n, m, xs, nx, ys, ny, w, fn);
    memset(&acc, 0, sizeof acc);
    memset(&d, 0, sizeof d);
    if (s == BGM_OK && !m->tape)
        s = bgm_tape_create(&m->tape);
    if (s == BGM_OK)
        s = bgm__accum_init(&acc, m, 1, 0, fn);
    if (s == BGM_OK && !(grads = calloc((size_t)m->ntrainable + 1, sizeof *grads)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    /* Metrics of this batch alone, as Keras' reset_metrics=True. */
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &metrics);
    /* With a communicator a data-parallel step, as fit's: every rank comes
     * with its own batch, whatever its status, and all fail together. */
    if (m && m->comm)
        s = bgm__dist_begin_batch(&d, m, s, fn);
    if (s == BGM_OK)
        s = bgm__train_batch(m, d.comm ? &d : NULL, &acc, a.x, a.y, a.w, grads, metrics,
                             losses, -1, 0, fn);
    if (s == BGM_OK)
        s = bgm__results(results, n, m, metrics, losses);
    if (s != BGM_OK && d.comm && !d.shared) /* the others may wait for this rank */
        bgm__comm_abort(d.comm, s);
    if (d.comm)
        bgm__dist_end(&d, m);
    if (m && m->tape)
        bgm_tape_reset(m->tape);
    bgm__metrics_free(metrics, m ? m->nmetrics : 0);
    free(grads);
    if (m)
        bgm__accum_free(&acc, m);
    bgm__arrays_free(&a);
    return s;
}

static bgm_status test_on_batch(double *results, int n, const bgm_model *m,
                                const bgm_tensor *const *xs, int nx,
                                const bgm_tensor *const *ys, int ny, const batch_weights *w,
                                const char *fn)
{
    bgm__arrays a;
    bgm__losses losses;
    bgm_metric **metrics = NULL;
    bgm__infer_tapes *t = NULL;
    bgm_status s = check_call(&a, results, n, m, xs, nx, ys, ny, w, fn);
    if (s == BGM_OK && !(t = bgm__infer_tapes_take(m)))
        s = BGM_E_NOMEM;
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &metrics);
    if (s == BGM_OK)
        s = bgm__test_batch(m, t, a.x, a.y, a.w, metrics, losses, fn);
    if (s == BGM_OK)
        s = bgm__results(results, n, m, metrics, losses);
    if (t)
        bgm__infer_tapes_give(m, t);
    bgm__metrics_free(metrics, m ? m->nmetrics : 0);
    bgm__arrays_free(&a);
    return s;
}

BGM_API bgm_status bgm_model_train_on_batch(double *results, int n, bgm_model *m,
                                            const bgm_tensor *x, const bgm_tensor *y)
{
    static const char *fn = "bgm_model_train_on_batch";
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    return train_on_batch(results, n, m, &x, 1, &y, 1, &no_weights, fn);
}

BGM_API bgm_status bgm_model_train_on_batch_multi(double *results, int n, bgm_model *m,
                                                  const bgm_tensor *const *xs, int nx,
                                                  const bgm_tensor *const *ys, int ny)
{
    return train_on_batch(results, n, m, xs, nx, ys, ny, &no_weights,
                          "bgm_model_train_on_batch_multi");
}

BGM_API bgm_status bgm_model_test_on_batch(double *results, int n, const bgm_model *m,
                                           const bgm_tensor *x, const bgm_tensor *y)
{
    static const char *fn = "bgm_model_test_on_batch";
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    return test_on_batch(results, n, m, &x, 1, &y, 1, &no_weights, fn);
}

BGM_API bgm_status bgm_model_test_on_batch_multi(double *results, int n, const bgm_model *m,
                                                 const bgm_tensor *const *xs, int nx,
                                                 const bgm_tensor *const *ys, int ny)
{
    return test_on_batch(results, n, m, xs, nx, ys, ny, &no_weights,
                         "bgm_model_test_on_batch_multi");
}

BGM_API bgm_status bgm_model_train_on_batch_weighted(double *results, int n, bgm_model *m,
                                                     const bgm_tensor *const *xs, int nx,
                                                     const bgm_tensor *const *ys, int ny,
                                                     const bgm_tensor *sample_weight,
                                                     const float *class_weight,
                                                     int num_class_weights)
{
    batch_weights w = {sample_weight, class_weight, num_class_weights};
    return train_on_batch(results, n, m, xs, nx, ys, ny, &w,
                          "bgm_model_train_on_batch_weighted");
}

BGM_API bgm_status bgm_model_test_on_batch_weighted(double *results, int n,
                                                    const bgm_model *m,
                                                    const bgm_tensor *const *xs, int nx,
                                                    const bgm_tensor *const *ys, int ny,
                                                    const bgm_tensor *sample_weight)
{
    batch_weights w = {sample_weight, NULL, 0};
    return test_on_batch(results, n, m, xs, nx, ys, ny, &w,
                         "bgm_model_test_on_batch_weighted");
}
