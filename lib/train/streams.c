/*
 * evaluate and predict on a bgm_stream, and the pieces fit uses to take
 * streamed batches: every batch is checked against the model as arrays are,
 * and the stream's thread is joined before a call returns.
 */
#include "train/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/comm.h"
#include "data/stream.h"

bgm_status bgm__stream_check(bgm_stream *st, const bgm_model *m, const char *role,
                             const char *fn)
{
    int nx = bgm_stream_num_x(st), ny = bgm_stream_num_y(st);
    int want_y = strcmp(role, "predict") == 0 ? ny : m->noutputs;
    if (nx != m->ninputs || ny != want_y)
        return bgm__fail(BGM_E_INVALID, "%s: the model has %d input%s and %d output%s; the "
                         "%s stream gives %d features and %d targets tensors", fn,
                         m->ninputs, m->ninputs == 1 ? "" : "s", m->noutputs,
                         m->noutputs == 1 ? "" : "s", role, nx, ny);
    if (nx > BGM__MAX_IO || ny > BGM__MAX_IO)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: streams of more than %d features or "
                         "targets tensors are not supported", fn, BGM__MAX_IO);
    return BGM_OK;
}

bgm_status bgm__stream_batch(bgm_stream *st, int *more, bgm__arrays *a, const bgm_model *m,
                             const float *cw, int ncw, const char *xname, const char *yname,
                             const char *fn)
{
    const bgm_tensor *xs[BGM__STREAM_MAX_TENSORS], *ys[BGM__STREAM_MAX_TENSORS + 1];
    int ny = bgm_stream_num_y(st);
    bgm_status s = bgm__stream_next(st, more, xs, ys, fn);
    memset(a, 0, sizeof *a);
    if (s != BGM_OK || !*more)
        return s;
    s = bgm__arrays_check(a, m, xs, bgm_stream_num_x(st), ys, ny, xname, yname, fn);
    /* The weights' name follows the data's: "sample_weight" of the training
     * stream, "validation_sample_weight" of a validation stream. */
    if (s == BGM_OK)
        s = bgm__weights_check(a, m, bgm_stream_has_sample_weight(st) ? ys[ny] : NULL, cw,
                               ncw, strncmp(xname, "validation", 10) == 0 ?
                               "validation_sample_weight" : "sample_weight", fn);
    if (s != BGM_OK) {
        bgm__arrays_free(a);
        *more = 0;
    }
    return s;
}

bgm_status bgm__evaluate_stream(const bgm_model *m, bgm__infer_tapes *t, bgm_stream *st,
                                int64_t steps, bgm_metric **metrics, bgm__losses means,
                                int64_t *samples, const char *xname, const char *yname,
                                const char *fn)
{
    bgm__losses sums = {0}, losses;
    bgm__arrays a;
    int64_t n = 0, step;
    bgm_status s = bgm__stream_begin(st, fn);
    int i, more = 1;
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(metrics[i]);
    for (step = 0; s == BGM_OK && more && (steps == 0 || step < steps); step++) {
        s = bgm__stream_batch(st, &more, &a, m, NULL, 0, xname, yname, fn);
        if (s != BGM_OK || !more)
            break;
        s = bgm__test_batch(m, t, a.x, a.y, a.w, metrics, losses, fn);
        for (i = 0; s == BGM_OK && i <= m->noutputs; i++)
            sums[i] += losses[i] * (double)a.n;
        n += a.n;
        bgm__arrays_free(&a);
    }
    for (i = 0; i < t->ntapes; i++)
        bgm_tape_reset(t->tapes[i]);
    if (s == BGM_OK && n == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: the %s stream gave no batch", fn,
                      strncmp(xname, "validation", 10) == 0 ? "validation" : "test");
    for (i = 0; i <= m->noutputs; i++)
        means[i] = n > 0 ? sums[i] / (double)n : 0.0;
    *samples = n;
    return s;
}

/* The checks every stream call starts with. */
static bgm_status check_call(const bgm_model *m, bgm_stream *st, int64_t steps,
                             const char *fn)
{
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(st, fn);
    if (steps < 0)
        return bgm__fail(BGM_E_INVALID, "%s: steps = %lld is negative", fn,
                         (long long)steps);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_evaluate_stream(double *results, int n, const bgm_model *m,
                                             bgm_stream *st, int64_t steps)
{
    static const char *fn = "bgm_model_evaluate_stream";
    bgm__infer_tapes *t = NULL;
    bgm_metric **metrics = NULL;
    bgm__losses means;
    int64_t samples = 0;
    bgm_status s;
    int opened = 0, shared = 0;
    BGM__CHECK_NULL(results, fn);
    BGM__CHECK_NULL(m, fn);
    /* With a communicator a rank whose call is wrong still joins the others. */
    s = check_call(m, st, steps, fn);
    if (s == BGM_OK && n < 1)
        s = bgm__fail(BGM_E_INVALID, "%s: n = %d, room for at least the loss is needed", fn,
                      n);
    if (s == BGM_OK && !m->optimizer)
        s = bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    if (s == BGM_OK)
        s = bgm__stream_check(st, m, "test", fn);
    if (s == BGM_OK)
        opened = (s = bgm__stream_open(st, fn)) == BGM_OK;
    if (s == BGM_OK && !(t = bgm__infer_tapes_take(m)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &metrics);
    if (s == BGM_OK)
        s = bgm__evaluate_stream(m, t, st, steps, metrics, means, &samples, "x", "y", fn);
    if (opened)
        bgm__stream_close(st);
    if (m->comm) /* each rank streamed its own share: the values of all */
        s = bgm__dist_eval_reduce(m->comm, m, metrics, means, samples, s, &shared, fn);
    if (s != BGM_OK && m->comm && !shared) /* the others may wait for this rank */
        bgm__comm_abort(m->comm, s);
    if (s == BGM_OK)
        s = bgm__results(results, n, m, metrics, means);
    bgm__metrics_free(metrics, m->nmetrics);
    if (t)
        bgm__infer_tapes_give(m, t);
    return s;
}

/* Predictions of one output, gathered batch by batch. */
typedef struct gathered {
    float *data;
    int64_t rows, cap, per_row;   /* samples held, room, floats per sample */
    int64_t shape[BGM_MAX_DIMS];  /* the first batch's shape */
    int ndim;
} gathered;

static bgm_status append_rows(gathered *g, const bgm_tensor *pred, int64_t b, const char *fn)
{
    if (g->ndim == 0) {
        g->ndim = bgm_tensor_ndim(pred);
        memcpy(g->shape, bgm_tensor_shape(pred), (size_t)g->ndim * sizeof *g->shape);
        g->per_row = b > 0 ? bgm_tensor_numel(pred) / b : 0;
    }
    if (g->rows + b > g->cap) {
        int64_t cap = g->cap ? g->cap : 256;
        float *p;
        while (cap < g->rows + b)
            cap *= 2;
        p = realloc(g->data, (size_t)(cap * (g->per_row ? g->per_row : 1)) * sizeof *p);
        if (!p)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld predictions", fn,
                             (long long)cap);
        g->data = p;
        g->cap = cap;
    }
    memcpy(g->data + g->rows * g->per_row, bgm_tensor_data(pred),
           (size_t)(b * g->per_row) * sizeof(float));
    g->rows += b;
    return BGM_OK;
}

/* Runs every batch of the pass (at most steps) through m into g[0..nout). */
static bgm_status predict_batches(gathered *g, int nout, const bgm_model *m, bgm_stream *st,
                                  int64_t steps, const char *fn)
{
    const bgm_tensor *xs[BGM__STREAM_MAX_TENSORS];
    bgm_tensor *pred[BGM__MAX_IO];
    bgm__infer_tapes *t = bgm__infer_tapes_take(m);
    bgm_status s = t ? bgm__stream_begin(st, fn) : bgm__fail(BGM_E_NOMEM, "%s: out of "
                                                              "memory", fn);
    int64_t step;
    int j, more = 1;
    for (step = 0; s == BGM_OK && (steps == 0 || step < steps); step++) {
        s = bgm__stream_next(st, &more, xs, NULL, fn);
        if (s != BGM_OK || !more)
            break;
        s = bgm__check_io(m, xs, bgm_stream_num_x(st), nout, fn);
        if (s == BGM_OK)
            s = bgm__model_infer(m, t, xs, pred);
        for (j = 0; s == BGM_OK && j < nout; j++)
            s = append_rows(&g[j], pred[j], bgm_tensor_dim(xs[0], 0), fn);
    }
    bgm__infer_tapes_give(m, t);
    if (s == BGM_OK && g[0].rows == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: the stream gave no batch", fn);
    return s;
}

BGM_API bgm_status bgm_model_predict_stream(bgm_tensor **outs, int nout, const bgm_model *m,
                                            bgm_stream *st, int64_t steps)
{
    static const char *fn = "bgm_model_predict_stream";
    gathered g[BGM__MAX_IO];
    bgm_status s;
    int j;
    BGM__CHECK_NULL(outs, fn);
    for (j = 0; j < nout; j++)
        outs[j] = NULL;
    s = check_call(m, st, steps, fn);
    if (s != BGM_OK)
        return s;
    if (nout < 1 || nout > BGM__MAX_IO || nout != m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: nout = %d, the model has %d output%s", fn, nout,
                         m->noutputs, m->noutputs == 1 ? "" : "s");
    s = bgm__stream_check(st, m, "predict", fn);
    if (s == BGM_OK)
        s = bgm__stream_open(st, fn);
    if (s != BGM_OK)
        return s;
    memset(g, 0, sizeof g);
    s = predict_batches(g, nout, m, st, steps, fn);
    bgm__stream_close(st);
    for (j = 0; s == BGM_OK && j < nout; j++) {
        g[j].shape[0] = g[j].rows;
        s = bgm_tensor_from_data(&outs[j], BGM_FLOAT32, g[j].shape, g[j].ndim, g[j].data);
    }
    for (j = 0; j < nout; j++) {
        free(g[j].data);
        if (s != BGM_OK) {
            bgm_tensor_free(outs[j]);
            outs[j] = NULL;
        }
    }
    return s;
}
