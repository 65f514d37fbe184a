/*
 * evaluate and predict: inference-mode passes that only read the model.
 * Every call works on tapes of its own (the executor frees each activation
 * after its last consumer), so calls may run on many threads, and the model
 * keeps idle tape sets so their memory stays mapped.
 */
#include "train/dist.h"

#include "core/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 32

/* Frees views[0..n). */
static void free_views(bgm_tensor **views, int n)
{
    int i;
    for (i = 0; i < n; i++)
        bgm_tensor_free(views[i]);
}

bgm_status bgm__evaluate_arrays(const bgm_model *m, bgm__infer_tapes *t, const bgm__arrays *a,
                                int64_t batch_size, bgm_metric **metrics, bgm__losses means,
                                const char *fn)
{
    return bgm__evaluate_range(m, t, a, 0, a->n, batch_size, metrics, means, fn);
}

bgm_status bgm__evaluate_range(const bgm_model *m, bgm__infer_tapes *t, const bgm__arrays *a,
                               int64_t from, int64_t to, int64_t batch_size,
                               bgm_metric **metrics, bgm__losses means, const char *fn)
{
    bgm_tensor *views[2 * BGM__MAX_IO + 1];
    const bgm_tensor *xb[BGM__MAX_IO], *yb[BGM__MAX_IO];
    bgm__losses sums = {0}, losses;
    int64_t n = to - from, start;
    bgm_status s = BGM_OK;
    int i, nx = m->ninputs, ny = m->noutputs;
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(metrics[i]);
    for (start = from; start < to && s == BGM_OK; start += batch_size) {
        int64_t stop = start + batch_size < to ? start + batch_size : to;
        int made = 0, nw = a->w ? 1 : 0;
        for (i = 0; s == BGM_OK && i < nx + ny + nw; i++) {
            s = bgm_tensor_slice(&views[i], i < nx ? a->x[i] : i < nx + ny ? a->y[i - nx]
                                                                        : a->w, start, stop);
            made += s == BGM_OK;
            if (i < nx)
                xb[i] = views[i];
            else if (i < nx + ny)
                yb[i - nx] = views[i];
        }
        if (s == BGM_OK)
            s = bgm__test_batch(m, t, xb, yb, nw ? views[nx + ny] : NULL, metrics, losses, fn);
        for (i = 0; s == BGM_OK && i <= ny; i++)
            sums[i] += losses[i] * (double)(stop - start);
        free_views(views, made);
    }
    for (i = 0; i < t->ntapes; i++)
        bgm_tape_reset(t->tapes[i]);
    for (i = 0; i <= ny; i++)
        means[i] = n > 0 ? sums[i] / (double)n : 0.0;
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

static bgm_status evaluate(double *results, int n, const bgm_model *m,
                           const bgm_tensor *const *xs, int nx, const bgm_tensor *const *ys,
                           int ny, const bgm_tensor *sw, int64_t batch_size, const char *fn)
{
    bgm__arrays a;
    bgm__infer_tapes *it = NULL;
    bgm_metric **metrics = NULL;
    bgm__losses means;
    bgm_status s;
    int shared = 0;
    memset(&a, 0, sizeof a);
    BGM__CHECK_NULL(results, fn);
    BGM__CHECK_NULL(m, fn);
    /* With a communicator a rank whose call is wrong still joins the others. */
    if (n < 1)
        s = bgm__fail(BGM_E_INVALID, "%s: n = %d, room for at least the loss is needed", fn,
                      n);
    else if (!m->optimizer)
        s = bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    else
        s = check_batch_size(&batch_size, fn);
    if (s == BGM_OK)
        s = bgm__arrays_check(&a, m, xs, nx, ys, ny, "x", "y", fn);
    if (s == BGM_OK)
        s = bgm__weights_check(&a, m, sw, NULL, 0, "sample_weight", fn);
    if (s == BGM_OK && !(it = bgm__infer_tapes_take(m)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &metrics);
    if (m->comm) /* each rank its share; the values of all */
        s = bgm__dist_evaluate_arrays(m, it, &a, batch_size, metrics, means, s, &shared, fn);
    else if (s == BGM_OK)
        s = bgm__evaluate_arrays(m, it, &a, batch_size, metrics, means, fn);
    if (s != BGM_OK && m->comm && !shared) /* the others may wait for this rank */
        bgm__comm_abort(m->comm, s);
    if (s == BGM_OK)
        s = bgm__results(results, n, m, metrics, means);
    bgm__arrays_free(&a);
    bgm__metrics_free(metrics, m->nmetrics);
    bgm__infer_tapes_give(m, it);
    return s;
}

BGM_API bgm_status bgm_model_evaluate(double *results, int n, const bgm_model *m,
                                      const bgm_tensor *x, const bgm_tensor *y,
                                      int64_t batch_size)
{
    static const char *fn = "bgm_model_evaluate";
    BGM__CHECK_NULL(results, fn);
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    return evaluate(results, n, m, &x, 1, &y, 1, NULL, batch_size, fn);
}

BGM_API bgm_status bgm_model_evaluate_multi(double *results, int n, const bgm_model *m,
                                            const bgm_tensor *const *xs, int nx,
                                            const bgm_tensor *const *ys, int ny,
                                            int64_t batch_size)
{
    return evaluate(results, n, m, xs, nx, ys, ny, NULL, batch_size,
                    "bgm_model_evaluate_multi");
}

BGM_API bgm_status bgm_model_evaluate_weighted(double *results, int n, const bgm_model *m,
                                               const bgm_tensor *const *xs, int nx,
                                               const bgm_tensor *const *ys, int ny,
                                               const bgm_tensor *sample_weight,
                                               int64_t batch_size)
{
    return evaluate(results, n, m, xs, nx, ys, ny, sample_weight, batch_size,
                    "bgm_model_evaluate_weighted");
}

BGM_API bgm_status bgm_model_evaluate_dataset(double *results, int n, const bgm_model *m,
                                              const bgm_dataset *ds, int64_t batch_size)
{
    static const char *fn = "bgm_model_evaluate_dataset";
    const bgm_tensor *xs[BGM__MAX_IO], *ys[BGM__MAX_IO];
    int nx, ny;
    BGM__CHECK_NULL(ds, fn);
    if (!bgm_dataset_targets(ds))
        return bgm__fail(BGM_E_INVALID, "%s: the dataset has no targets", fn);
    bgm__dataset_arrays(ds, xs, &nx, ys, &ny);
    return evaluate(results, n, m, xs, nx, ys, ny, NULL, batch_size, fn);
}

/* Frees outs[0..n) and sets them to NULL. */
static void free_all(bgm_tensor **outs, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        bgm_tensor_free(outs[i]);
        outs[i] = NULL;
    }
}

static bgm_status predict(bgm_tensor **outs, int nout, const bgm_model *m,
                          const bgm_tensor *const *xs, int nx, int64_t batch_size,
                          const char *fn)
{
    int64_t shape[BGM_MAX_DIMS], n = 0, start, rows[BGM_MAX_DIMS];
    const bgm_tensor *xb[BGM__MAX_IO];
    bgm_tensor *views[BGM__MAX_IO], *pred[BGM__MAX_IO];
    bgm__infer_tapes *it = NULL;
    bgm_status s = bgm__check_io(m, xs, nx, nout, fn);
    int i, j, ndim;
    if (s == BGM_OK && (nx > BGM__MAX_IO || nout > BGM__MAX_IO))
        s = bgm__fail(BGM_E_UNSUPPORTED, "%s: predict takes at most %d inputs and outputs",
                      fn, BGM__MAX_IO);
    if (s == BGM_OK)
        s = check_batch_size(&batch_size, fn);
    if (s != BGM_OK)
        return s;
    n = bgm_tensor_dim(xs[0], 0);
    for (j = 0; s == BGM_OK && j < nout; j++) {
        const int64_t *os = bgm_node_shape(m->outputs[j], &ndim);
        shape[0] = n;
        rows[j] = 1;
        for (i = 0; i < ndim; i++) {
            shape[i + 1] = os[i];
            rows[j] *= os[i];
        }
        s = bgm_tensor_zeros(&outs[j], BGM_FLOAT32, shape, ndim + 1);
    }
    if (s == BGM_OK && !(it = bgm__infer_tapes_take(m)))
        s = BGM_E_NOMEM;
    for (start = 0; s == BGM_OK && start < n; start += batch_size) {
        int64_t stop = start + batch_size < n ? start + batch_size : n;
        int made = 0;
        for (i = 0; s == BGM_OK && i < nx; i++) {
            s = bgm_tensor_slice(&views[i], xs[i], start, stop);
            made += s == BGM_OK;
            xb[i] = views[i];
        }
        if (s == BGM_OK)
            s = bgm__model_infer(m, it, xb, pred);
        for (j = 0; s == BGM_OK && j < nout; j++)
            memcpy((float *)bgm_tensor_data(outs[j]) + start * rows[j],
                   bgm_tensor_data(pred[j]), (size_t)((stop - start) * rows[j]) * sizeof(float));
        for (i = 0; i < made; i++)
            bgm_tensor_free(views[i]);
    }
    bgm__infer_tapes_give(m, it);
    if (s != BGM_OK) {
        char msg[900];
        free_all(outs, nout);
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        if (strncmp(msg, fn, strlen(fn)) != 0)
            bgm__fail(s, "%s: %s", fn, msg);
    }
    return s;
}

BGM_API bgm_status bgm_model_predict(bgm_tensor **out, const bgm_model *m,
                                     const bgm_tensor *x, int64_t batch_size)
{
    static const char *fn = "bgm_model_predict";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    return predict(out, 1, m, &x, 1, batch_size, fn);
}

/* bgm_model_predict_multi under fn's name; whole: the batch size is the
 * number of samples. */
static bgm_status predict_multi(bgm_tensor **outs, int nout, const bgm_model *m,
                                const bgm_tensor *const *xs, int nx, int64_t batch_size,
                                int whole, const char *fn)
{
    int i;
    BGM__CHECK_NULL(outs, fn);
    for (i = 0; i < nout; i++)
        outs[i] = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(xs, fn);
    if (whole) /* predict checks xs; a bad one gets its message there */
        batch_size = nx > 0 && xs[0] && bgm_tensor_ndim(xs[0]) > 0 && bgm_tensor_dim(xs[0], 0) > 0
                         ? bgm_tensor_dim(xs[0], 0) : 1;
    return predict(outs, nout, m, xs, nx, batch_size, fn);
}

BGM_API bgm_status bgm_model_predict_multi(bgm_tensor **outs, int nout, const bgm_model *m,
                                           const bgm_tensor *const *xs, int nx,
                                           int64_t batch_size)
{
    return predict_multi(outs, nout, m, xs, nx, batch_size, 0, "bgm_model_predict_multi");
}

BGM_API bgm_status bgm_model_predict_on_batch(bgm_tensor **outs, int nout, const bgm_model *m,
                                              const bgm_tensor *const *xs, int nx)
{
    return predict_multi(outs, nout, m, xs, nx, 0, 1, "bgm_model_predict_on_batch");
}
