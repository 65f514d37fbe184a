/*
 * Gradient buckets of a data-parallel step (PyTorch DDP's idea): the
 * trained weights' gradients, in reverse order of m->trainable (about the
 * order backward finishes them), are grouped into buckets of at least
 * allreduce_bucket_bytes, each a contiguous range of the step's buffer. The
 * tape tells (bgm__grad_hook) when a weight's gradient is final; its share
 * is added into the buffer, and a bucket whose gradients are all there
 * starts its all-reduce at once, while backward goes on. Buckets start in
 * their order on every rank (a bucket found complete early waits for the
 * ones before it), so all ranks start the same reductions in the same order.
 */
#include "train/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DDP's default bucket_cap_mb. */
#define DEFAULT_BUCKET_BYTES ((int64_t)25 << 20)

static const char *const what = "a bucket of a step's gradients";

/* Starts the buckets whose gradients are all there, in order; the first
 * failure is kept for bgm__buckets_reduce. */
static void start_ready(bgm__buckets *bk)
{
    while (bk->next < bk->n && bk->b[bk->next].left == 0 && bk->error == BGM_OK) {
        bgm__bucket *u = &bk->b[bk->next];
        bk->error = bgm__comm_start(bk->comm, &u->req, bk->buf + u->off, u->n, what, bk->fn);
        if (bk->error != BGM_OK)
            snprintf(bk->msg, sizeof bk->msg, "%s", bgm_last_error());
        bk->next++;
    }
}

/* The tape's word that trained weight k's gradient is final: its share, b
 * times it, joins the group's sums, and its bucket may start. */
static void grad_ready(void *ctx, int k, const float *g)
{
    bgm__buckets *bk = ctx;
    float *p = bk->buf + bk->off[k], scale = (float)bk->scale;
    int64_t n = bk->off[k + 1] - bk->off[k], i;
    for (i = 0; g && i < n; i++)
        p[i] += g[i] * scale;
    bk->b[bk->of[k]].left--;
    start_ready(bk);
}

/* Between two ops of backward: the oldest reduction in flight may progress. */
static void progress(void *ctx)
{
    bgm__buckets *bk = ctx;
    int i;
    for (i = 0; i < bk->next; i++)
        if (bk->b[i].req.pending) {
            bgm__comm_progress(bk->comm, &bk->b[i].req);
            return;
        }
}

bgm_status bgm__buckets_init(bgm__buckets *bk, const bgm_model *m, float *buf, bgm_comm *c,
                             int64_t cap, const char *fn)
{
    int64_t bytes = 0;
    int i, nt = m->ntrainable;
    memset(bk, 0, sizeof *bk);
    bk->comm = c;
    bk->buf = buf;
    bk->fn = fn;
    bk->n = 1;
    if (cap == 0)
        cap = DEFAULT_BUCKET_BYTES;
    bk->off = malloc(((size_t)nt + 1) * sizeof *bk->off);
    bk->of = malloc(((size_t)nt + 1) * sizeof *bk->of);
    bk->b = malloc(((size_t)nt + 1) * sizeof *bk->b);
    if (!bk->off || !bk->of || !bk->b)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the gradient buckets", fn);
    for (bk->off[0] = 0, i = 0; i < nt; i++)
        bk->off[i + 1] = bk->off[i] + bgm_tensor_numel(m->trainable[i]);
    /* From the last weight back: a bucket closes once it holds cap bytes. */
    bk->n = 0;
    for (i = nt - 1; i >= 0; i--) {
        if (bytes == 0)
            memset(&bk->b[bk->n++], 0, sizeof *bk->b);
        bk->of[i] = bk->n - 1;
        bk->b[bk->n - 1].off = bk->off[i];
        bk->b[bk->n - 1].n += bk->off[i + 1] - bk->off[i];
        bk->b[bk->n - 1].size++;
        bytes += (bk->off[i + 1] - bk->off[i]) * (int64_t)sizeof(float);
        if (bytes >= cap)
            bytes = 0;
    }
    if (bk->n == 0)
        bk->n = 1;
    bk->hook.ready = grad_ready;
    bk->hook.between = progress;
    bk->hook.ctx = bk;
    return BGM_OK;
}

void bgm__buckets_free(bgm__buckets *bk)
{
    free(bk->off);
    free(bk->of);
    free(bk->b);
    memset(bk, 0, sizeof *bk);
}

const bgm__grad_hook *bgm__buckets_hook(bgm__buckets *bk, int64_t b)
{
    int i;
    if (bk->n < 2)
        return NULL;
    for (i = 0; i < bk->n; i++)
        bk->b[i].left = bk->b[i].size;
    bk->scale = b;
    bk->hooked = 1;
    return &bk->hook;
}

int64_t bgm__buckets_idle_end(const bgm__buckets *bk, int64_t ngrads)
{
    return bk->next > 0 ? bk->b[bk->next - 1].off : ngrads;
}

bgm_status bgm__buckets_reduce(bgm__buckets *bk, float *tail, int64_t ntail)
{
    bgm_status s, e;
    int i;
    for (i = 0; i < bk->n; i++) /* those the step did not start (a failure here) */
        bk->b[i].left = 0;
    start_ready(bk);
    s = bk->error;
    if (s == BGM_OK && (s = bgm__comm_allreduce(bk->comm, tail, ntail, "a step's losses and "
                                                "counts", bk->fn)) != BGM_OK)
        snprintf(bk->msg, sizeof bk->msg, "%s", bgm_last_error());
    for (i = 0; i < bk->next; i++) { /* every request started is waited for */
        e = bgm__comm_finish(bk->comm, &bk->b[i].req, what, bk->fn);
        if (s == BGM_OK && e != BGM_OK) {
            s = e;
            snprintf(bk->msg, sizeof bk->msg, "%s", bgm_last_error());
        }
    }
    bk->next = 0;
    bk->hooked = 0;
    bk->error = BGM_OK;
    return s != BGM_OK ? bgm__fail(s, "%s", bk->msg) : BGM_OK; /* the first failure's */
}
