/*
 * bgm_comm: a caller's table of collective callbacks behind one handle. The
 * library calls the table only; transports (MPI, a test's threads) live
 * outside it. A callback's nonzero code becomes BGM_E_IO with the
 * transport's text.
 */
#include "core/comm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"
#include "core/tensor_impl.h"

struct bgm_comm {
    bgm_comm_ops ops;
    void *ctx;
    int rank, num_ranks;
    float *buf;          /* bgm_comm_average's collated tensors, kept between calls */
    int64_t cap;
    float *dbuf;         /* bgm__comm_sum_doubles's ranks' values, kept */
    int64_t dcap;        /*   the values per rank it holds */
    bgm_status deferred; /* bgm__comm_defer's failure, and its message */
    char deferred_msg[512];
    int agreed;          /* an agreement failed every rank (bgm__comm_take_agreed) */
};

/* The fields of the first published bgm_comm_ops. */
#define COMM_OPS_V1_SIZE BGM__OPTIONS_SIZE(bgm_comm_ops, free_ctx)

BGM_API bgm_status bgm_comm_ops_init(bgm_comm_ops *ops, size_t size)
{
    bgm_comm_ops d;
    memset(&d, 0, sizeof d);
    return bgm__options_fill(ops, size, &d, COMM_OPS_V1_SIZE, sizeof d, "bgm_comm_ops",
                             "bgm_comm_ops_init");
}

/* BGM_E_IO for code returned by c's callback `call`, with the transport's text. */
static bgm_status transport_error(const bgm_comm_ops *ops, void *ctx, int code,
                                  const char *call, const char *what, const char *fn)
{
    const char *text = ops->error_string ? ops->error_string(ctx, code) : NULL;
    return bgm__fail(BGM_E_IO, "%s: the communicator's %s failed%s%s (code %d)%s%s", fn, call,
                     what[0] ? " for " : "", what, code, text ? ": " : "", text ? text : "");
}

static void release_ctx(const bgm_comm_ops *ops, void *ctx)
{
    if (ops->free_ctx)
        ops->free_ctx(ctx);
}

/* Checks the callbacks and asks rank and size into c; on error ops' ctx stays. */
static bgm_status ask_layout(bgm_comm *c, const char *fn)
{
    const bgm_comm_ops *o = &c->ops;
    const char *missing = !o->rank ? "rank" : !o->num_ranks ? "num_ranks" :
                          !o->allreduce_sum ? "allreduce_sum" : !o->broadcast ? "broadcast" :
                          NULL;
    int code;
    if (missing)
        return bgm__fail(BGM_E_INVALID, "%s: ops->%s is NULL; rank, num_ranks, allreduce_sum "
                         "and broadcast are required", fn, missing);
    if (!o->allreduce_start != !o->wait)
        return bgm__fail(BGM_E_INVALID, "%s: ops->%s is NULL; allreduce_start and wait go "
                         "together", fn, o->wait ? "allreduce_start" : "wait");
    if ((code = o->rank(c->ctx, &c->rank)) != 0)
        return transport_error(o, c->ctx, code, "rank", "", fn);
    if ((code = o->num_ranks(c->ctx, &c->num_ranks)) != 0)
        return transport_error(o, c->ctx, code, "num_ranks", "", fn);
    if (c->num_ranks < 1 || c->rank < 0 || c->rank >= c->num_ranks)
        return bgm__fail(BGM_E_INVALID, "%s: the communicator says rank %d of %d ranks; "
                         "expected 0 <= rank < num_ranks", fn, c->rank, c->num_ranks);
    return BGM_OK;
}

BGM_API bgm_status bgm_comm_create(bgm_comm **out, const bgm_comm_ops *ops, void *ctx)
{
    static const char *fn = "bgm_comm_create";
    bgm_comm *c;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ops, fn);
    c = calloc(1, sizeof *c);
    if (!c) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        if (ops->size >= COMM_OPS_V1_SIZE && ops->size <= sizeof *ops)
            release_ctx(ops, ctx);
        return s;
    }
    bgm_comm_ops_init(&c->ops, sizeof c->ops);
    s = bgm__options_read(&c->ops, sizeof c->ops, ops, COMM_OPS_V1_SIZE, "bgm_comm_ops",
                          "bgm_comm_ops_init", fn);
    c->ctx = ctx;
    if (s == BGM_OK)
        s = ask_layout(c, fn);
    if (s != BGM_OK) {
        bgm_comm_free(c);
        return s;
    }
    *out = c;
    return BGM_OK;
}

BGM_API void bgm_comm_free(bgm_comm *c)
{
    if (!c)
        return;
    release_ctx(&c->ops, c->ctx);
    free(c->buf);
    free(c->dbuf);
    free(c);
}

BGM_API int bgm_comm_rank(const bgm_comm *c)
{
    return c ? c->rank : 0;
}

BGM_API int bgm_comm_num_ranks(const bgm_comm *c)
{
    return c ? c->num_ranks : 0;
}

bgm_status bgm__comm_allreduce(bgm_comm *c, float *data, int64_t n, const char *what,
                               const char *fn)
{
    int code = c->ops.allreduce_sum(c->ctx, data, n);
    return code ? transport_error(&c->ops, c->ctx, code, "allreduce_sum", what, fn) : BGM_OK;
}

bgm_status bgm__comm_start(bgm_comm *c, bgm__comm_request *r, float *data, int64_t n,
                           const char *what, const char *fn)
{
    int code;
    r->handle = NULL;
    r->pending = 0;
    if (!c->ops.allreduce_start) /* a transport without: the reduction, now */
        return bgm__comm_allreduce(c, data, n, what, fn);
    code = c->ops.allreduce_start(c->ctx, data, n, &r->handle);
    if (code)
        return transport_error(&c->ops, c->ctx, code, "allreduce_start", what, fn);
    r->pending = 1;
    return BGM_OK;
}

void bgm__comm_progress(bgm_comm *c, bgm__comm_request *r)
{
    int done = 0;
    if (r->pending && c->ops.test)
        c->ops.test(c->ctx, r->handle, &done); /* a failure comes back from wait */
}

bgm_status bgm__comm_finish(bgm_comm *c, bgm__comm_request *r, const char *what,
                            const char *fn)
{
    int code;
    if (!r->pending)
        return BGM_OK;
    r->pending = 0;
    code = c->ops.wait(c->ctx, r->handle);
    return code ? transport_error(&c->ops, c->ctx, code, "wait", what, fn) : BGM_OK;
}

bgm_status bgm__comm_broadcast0(bgm_comm *c, void *data, int64_t nbytes, const char *what,
                                const char *fn)
{
    int code = c->ops.broadcast(c->ctx, data, nbytes, 0);
    return code ? transport_error(&c->ops, c->ctx, code, "broadcast", what, fn) : BGM_OK;
}

BGM_API bgm_status bgm_comm_allreduce_sum(bgm_comm *c, float *data, int64_t n)
{
    static const char *fn = "bgm_comm_allreduce_sum";
    BGM__CHECK_NULL(c, fn);
    if (n < 0 || (n > 0 && !data))
        return bgm__fail(BGM_E_INVALID, "%s: n = %lld with data %s", fn, (long long)n,
                         data ? "given" : "NULL");
    return bgm__comm_allreduce(c, data, n, "", fn);
}

BGM_API bgm_status bgm_comm_broadcast(bgm_comm *c, void *data, int64_t nbytes, int root)
{
    static const char *fn = "bgm_comm_broadcast";
    int code;
    BGM__CHECK_NULL(c, fn);
    if (nbytes < 0 || (nbytes > 0 && !data))
        return bgm__fail(BGM_E_INVALID, "%s: nbytes = %lld with data %s", fn,
                         (long long)nbytes, data ? "given" : "NULL");
    if (root < 0 || root >= c->num_ranks)
        return bgm__fail(BGM_E_INVALID, "%s: root %d is not a rank of %d", fn, root,
                         c->num_ranks);
    code = c->ops.broadcast(c->ctx, data, nbytes, root);
    return code ? transport_error(&c->ops, c->ctx, code, "broadcast", "", fn) : BGM_OK;
}

BGM_API bgm_status bgm_comm_barrier(bgm_comm *c)
{
    static const char *fn = "bgm_comm_barrier";
    float one = 1.0f;
    int code;
    BGM__CHECK_NULL(c, fn);
    if (!c->ops.barrier) /* a collective every rank must enter: as good as a barrier */
        return bgm__comm_allreduce(c, &one, 1, "a barrier", fn);
    code = c->ops.barrier(c->ctx);
    return code ? transport_error(&c->ops, c->ctx, code, "barrier", "", fn) : BGM_OK;
}

void bgm__comm_abort(bgm_comm *c, bgm_status status)
{
    if (c && c->ops.abort)
        c->ops.abort(c->ctx, (int)status, bgm_last_error());
}

/* BGM_E_INVALID / BGM_E_DTYPE unless tensors[0..n) are there (and float32
 * when need_float); *total gets their elements. */
static bgm_status check_tensors(int64_t *total, bgm_tensor *const *tensors, int n,
                                int need_float, const char *fn)
{
    int i;
    *total = 0;
    if (n < 0 || (n > 0 && !tensors))
        return bgm__fail(BGM_E_INVALID, "%s: n = %d with tensors %s", fn, n,
                         tensors ? "given" : "NULL");
    for (i = 0; i < n; i++) {
        if (!tensors[i])
            return bgm__fail(BGM_E_INVALID, "%s: tensors[%d] is NULL", fn, i);
        if (need_float && tensors[i]->dtype != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: tensors[%d] is not float32", fn, i);
        *total += tensors[i]->numel;
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_comm_average(bgm_comm *c, bgm_tensor *const *tensors, int n)
{
    static const char *fn = "bgm_comm_average";
    int64_t total, at, k;
    float scale;
    bgm_status s;
    int i;
    BGM__CHECK_NULL(c, fn);
    s = check_tensors(&total, tensors, n, 1, fn);
    if (s != BGM_OK)
        return s;
    if (total + 1 > c->cap) {
        float *grown = realloc(c->buf, (size_t)(total + 1) * sizeof *grown);
        if (!grown)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld floats", fn,
                             (long long)total);
        c->buf = grown;
        c->cap = total + 1;
    }
    for (at = 0, i = 0; i < n; at += tensors[i]->numel, i++)
        memcpy(c->buf + at, tensors[i]->data, (size_t)tensors[i]->numel * sizeof(float));
    /* One more float: a synchronized BatchNormalization's backward that
     * failed here (bgm__comm_defer) fails every rank's average. */
    c->buf[total] = (float)(c->deferred != BGM_OK);
    s = bgm__comm_allreduce(c, c->buf, total + 1, "the averaged tensors", fn);
    if (s == BGM_OK && c->deferred != BGM_OK)
        s = bgm__comm_deferred(c);
    else if (s == BGM_OK && c->buf[total] != 0.0f)
        s = bgm__fail(BGM_E_STATE, "%s: %.0f of %d ranks failed in a synchronized "
                      "BatchNormalization's backward (see their messages)", fn,
                      (double)c->buf[total], c->num_ranks);
    if (s != BGM_OK)
        return s;
    scale = 1.0f / (float)c->num_ranks;
    for (at = 0, i = 0; i < n; at += tensors[i]->numel, i++) {
        float *d = tensors[i]->data;
        for (k = 0; k < tensors[i]->numel; k++)
            d[k] = c->buf[at + k] * scale;
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_comm_broadcast_tensors(bgm_comm *c, bgm_tensor *const *tensors, int n,
                                              int root)
{
    static const char *fn = "bgm_comm_broadcast_tensors";
    int64_t total;
    bgm_status s;
    int i;
    BGM__CHECK_NULL(c, fn);
    s = check_tensors(&total, tensors, n, 0, fn);
    if (s == BGM_OK && (root < 0 || root >= c->num_ranks))
        s = bgm__fail(BGM_E_INVALID, "%s: root %d is not a rank of %d", fn, root,
                      c->num_ranks);
    for (i = 0; s == BGM_OK && i < n; i++) {
        int64_t nbytes = tensors[i]->numel * (int64_t)bgm_dtype_size(tensors[i]->dtype);
        int code = c->ops.broadcast(c->ctx, tensors[i]->data, nbytes, root);
        if (code)
            s = transport_error(&c->ops, c->ctx, code, "broadcast", "a tensor", fn);
    }
    return s;
}

bgm_status bgm__comm_agree(bgm_comm *c, bgm_status local, int *shared, const char *what,
                           const char *fn)
{
    char msg[1024], desc[256];
    float failed = (float)(local != BGM_OK);
    bgm_status s;
    snprintf(msg, sizeof msg, "%s", local != BGM_OK ? bgm_last_error() : "");
    snprintf(desc, sizeof desc, "the check that every rank could %s", what);
    if (shared)
        *shared = 0;
    s = bgm__comm_allreduce(c, &failed, 1, desc, fn);
    if (s != BGM_OK)
        return local != BGM_OK ? bgm__fail(local, "%s", msg) : s;
    if (failed == 0.0f)
        return BGM_OK;
    c->agreed = 1;
    if (shared)
        *shared = 1;
    if (local != BGM_OK)
        return bgm__fail(local, "%s", msg);
    return bgm__fail(BGM_E_STATE, "%s: %.0f of %d ranks could not %s (see their messages)",
                     fn, (double)failed, c->num_ranks, what);
}

bgm_status bgm__comm_sum_doubles(bgm_comm *c, double *v, int64_t n, int64_t reserve,
                                 const char *what, const char *fn)
{
    int64_t want = n > reserve ? n : reserve, i;
    const float *p;
    float *mine;
    bgm_status s = BGM_OK;
    int r;
    if (want > c->dcap) {
        float *grown = malloc((size_t)want * 2 * (size_t)c->num_ranks * sizeof *grown);
        if (grown) {
            free(c->dbuf);
            c->dbuf = grown;
            c->dcap = want;
        }
        s = bgm__comm_agree(c, grown ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory "
                                                          "for %s", fn, what),
                            NULL, "allocate a buffer for a reduction", fn);
        if (s != BGM_OK) { /* all start again from nothing, at the same call */
            free(c->dbuf);
            c->dbuf = NULL;
            c->dcap = 0;
            return s;
        }
    }
    memset(c->dbuf, 0, (size_t)n * 2 * (size_t)c->num_ranks * sizeof *c->dbuf);
    mine = c->dbuf + (size_t)c->rank * 2 * (size_t)n;
    for (i = 0; i < n; i++)
        bgm__comm_put_double(&mine, v[i]);
    s = bgm__comm_allreduce(c, c->dbuf, n * 2 * c->num_ranks, what, fn);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < n; i++)
        v[i] = 0.0;
    for (r = 0, p = c->dbuf; r < c->num_ranks; r++)
        for (i = 0; i < n; i++)
            v[i] += bgm__comm_take_double(&p);
    return BGM_OK;
}

int bgm__comm_take_agreed(bgm_comm *c)
{
    int agreed = c->agreed;
    c->agreed = 0;
    return agreed;
}

void bgm__comm_defer(bgm_comm *c, bgm_status s)
{
    if (c->deferred != BGM_OK || s == BGM_OK)
        return;
    c->deferred = s;
    snprintf(c->deferred_msg, sizeof c->deferred_msg, "%s", bgm_last_error());
}

bgm_status bgm__comm_deferred(bgm_comm *c)
{
    bgm_status s = c->deferred;
    c->deferred = BGM_OK;
    return s != BGM_OK ? bgm__fail(s, "%s", c->deferred_msg) : BGM_OK;
}

void bgm__comm_put_double(float **p, double v)
{
    float hi = (float)v;
    (*p)[0] = hi;
    (*p)[1] = isfinite(v) ? (float)(v - (double)hi) : 0.0f;
    *p += 2;
}

double bgm__comm_take_double(const float **p)
{
    double v = (double)(*p)[0] + (double)(*p)[1];
    *p += 2;
    return v;
}
