/*
 * Attention kernels (see attention.h). A (batch, head) block is walked in
 * tiles of TILE query rows: one GEMM gives the tile's scores against the
 * keys it may see (causal tiles stop at their last row's horizon), the rows
 * are masked and normalized in place, one GEMM multiplies them by the
 * values. Blocks write disjoint parts of every result (their own rows of
 * out and gq, their own head's columns of gk and gv), so they run on the
 * pool without races and the bits do not depend on the thread count.
 */
#include "attention.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "fastexp.h"
#include "gemm.h"
#include "simd.h"

#define TILE 32

enum { FORWARD, BACKWARD, PROBS_BACKWARD, APPLY, APPLY_BACKWARD };

typedef struct attn_job {
    const bgm__attn *a;
    int kind, slots;
    size_t per_slot;
    float *out, *lse, *probs, *work, *gq, *gk, *gv, *gprobs;
    const float *cout, *gout, *clse, *cprobs, *cgprobs;
} attn_job;

/* Calls of fewer multiply-adds than this run on the calling thread: waking
 * a worker costs more than a decoding step's attention (one query over a
 * few hundred keys). */
#define ATTN_SPLIT_MIN_MACS ((double)(1 << 20))

static int slot_count(const bgm__attn *a)
{
    int64_t blocks = a->n * a->h;
    int threads = bgm__pool_threads();
    double macs = (double)blocks * (double)a->t * (double)a->s * (double)(a->dk + a->dv);
    if (blocks < 1 || macs < ATTN_SPLIT_MIN_MACS)
        return 1;
    return blocks < threads ? (int)blocks : threads;
}

static size_t per_slot_floats(const bgm__attn *a, int backward)
{
    return (size_t)TILE * (size_t)a->s * (backward ? 2 : 1) + TILE;
}

size_t bgm__attn_work_floats(bgm__attn *a, int backward)
{
    a->slots = slot_count(a);
    return per_slot_floats(a, backward) * (size_t)a->slots;
}

/* Columns row ti (a query index) considers: all, or up to its causal horizon. */
static int64_t row_limit(const bgm__attn *a, int64_t ti, int64_t ncols)
{
    int64_t lim;
    if (!a->causal)
        return ncols;
    lim = ti + a->offset + 1;
    return lim < 0 ? 0 : lim < ncols ? lim : ncols;
}

/* Columns a tile of rows [t0, t1) considers. */
static int64_t tile_cols(const bgm__attn *a, int64_t t1)
{
    return row_limit(a, t1 - 1, a->s);
}

/* Sets x[j] (j < lim) to -inf where a mask hides key j from query ti of
 * sequence b; returns 0 when the query mask hides the whole row. */
BGM__INLINE int mask_row(const bgm__attn *a, int64_t b, int64_t ti, float *x, int64_t lim)
{
    int64_t j;
    if (a->query_mask && a->query_mask[b * a->t + ti] == 0.0f)
        return 0;
    if (a->mask) {
        const float *m = a->mask + (b * a->t + ti) * a->s;
        for (j = 0; j < lim; j++)
            if (m[j] == 0.0f)
                x[j] = -INFINITY;
    }
    if (a->key_mask) {
        const float *m = a->key_mask + b * a->key_mask_batch;
        for (j = 0; j < lim; j++)
            if (m[j] == 0.0f)
                x[j] = -INFINITY;
    }
    return 1;
}

/* Softmax of x[0..lim) in place, zeros in x[lim..ncols); the row's
 * log-sum-exp (+inf when it sees nothing). */
BGM__HOT static float softmax_row(float *x, int64_t lim, int64_t ncols, int visible)
{
    float mx = -INFINITY, sum = 0.0f, inv;
    int64_t j;
    for (j = 0; visible && j < lim; j++)
        mx = x[j] > mx ? x[j] : mx;
    if (mx == -INFINITY) {
        memset(x, 0, (size_t)ncols * sizeof *x);
        return INFINITY;
    }
    for (j = 0; j < lim; j++) /* a hidden key (-inf) gets exactly 0 */
        x[j] = x[j] == -INFINITY ? 0.0f : bgm__fast_exp(x[j] - mx);
    for (j = 0; j < lim; j++)
        sum += x[j];
    inv = 1.0f / sum;
    for (j = 0; j < lim; j++)
        x[j] *= inv;
    for (j = lim; j < ncols; j++)
        x[j] = 0.0f;
    return mx + logf(sum);
}

/* The probabilities again from the scores x and the row's log-sum-exp. */
BGM__HOT static void recompute_row(float *x, int64_t lim, int64_t ncols, float lse)
{
    int64_t j;
    if (lse == INFINITY)
        lim = 0;
    for (j = 0; j < lim; j++)
        x[j] = x[j] == -INFINITY ? 0.0f : bgm__fast_exp(x[j] - lse);
    for (j = lim; j < ncols; j++)
        x[j] = 0.0f;
}

/* dS = P * (dP - dot) over one row of n, into dp (dot = sum(dP * P)). */
BGM__HOT static void softmax_grad_row(float *dp, const float *p, int64_t n, float dot)
{
    int64_t j;
    for (j = 0; j < n; j++)
        dp[j] = p[j] * (dp[j] - dot);
}

BGM__HOT static float dot_row(const float *x, const float *y, int64_t n)
{
    float s = 0.0f;
    int64_t j;
    for (j = 0; j < n; j++)
        s += x[j] * y[j];
    return s;
}

/* The pointers of block (b, hh) of a. */
typedef struct block {
    int64_t b, hh, qs, vs;     /* qs, vs: row strides of q / k and v / out */
    const float *q, *k, *v;
} block;

static block block_at(const bgm__attn *a, int64_t index)
{
    block bl;
    bl.b = index / a->h;
    bl.hh = index % a->h;
    bl.qs = a->h * a->dk;
    bl.vs = a->h * a->dv;
    bl.q = a->q + bl.b * a->t * bl.qs + bl.hh * a->dk;
    bl.k = a->k + bl.b * a->k_batch + bl.hh * a->dk;
    bl.v = a->v + bl.b * a->v_batch + bl.hh * a->dv;
    return bl;
}

/* Scaled, masked scores of rows [t0, t1) against keys [0, ncols) into x. */
static void tile_scores(const bgm__attn *a, const block *bl, int64_t t0, int64_t t1,
                        int64_t ncols, float *x)
{
    bgm__gemm(0, 1, t1 - t0, ncols, a->dk, a->scale, bl->q + t0 * bl->qs, bl->qs, bl->k,
              bl->qs, 0.0f, x, ncols);
}

static void forward_block(const attn_job *j, const block *bl, float *x)
{
    const bgm__attn *a = j->a;
    int64_t t0, i;
    for (t0 = 0; t0 < a->t; t0 += TILE) {
        int64_t t1 = t0 + TILE < a->t ? t0 + TILE : a->t, ncols = tile_cols(a, t1);
        float *out = j->out ? j->out + (bl->b * a->t + t0) * bl->vs + bl->hh * a->dv : NULL;
        tile_scores(a, bl, t0, t1, ncols, x);
        for (i = t0; i < t1; i++) {
            float *row = x + (i - t0) * ncols;
            int64_t lim = row_limit(a, i, ncols);
            float lse = softmax_row(row, lim, ncols, mask_row(a, bl->b, i, row, lim));
            if (j->lse)
                j->lse[(bl->b * a->h + bl->hh) * a->t + i] = lse;
            if (j->probs) {
                float *p = j->probs + ((bl->b * a->h + bl->hh) * a->t + i) * a->s;
                memcpy(p, row, (size_t)ncols * sizeof *p);
                memset(p + ncols, 0, (size_t)(a->s - ncols) * sizeof *p);
            }
        }
        if (out)
            bgm__gemm(0, 0, t1 - t0, a->dv, ncols, 1.0f, x, ncols, bl->v, bl->vs, 0.0f, out,
                      bl->vs);
    }
}

static void backward_block(const attn_job *j, const block *bl, float *x)
{
    const bgm__attn *a = j->a;
    float *dp = x + (size_t)TILE * (size_t)a->s, *dot = dp + (size_t)TILE * (size_t)a->s;
    int64_t t0, i;
    for (t0 = 0; t0 < a->t; t0 += TILE) {
        int64_t t1 = t0 + TILE < a->t ? t0 + TILE : a->t, ncols = tile_cols(a, t1);
        int64_t rows = t1 - t0, off = (bl->b * a->t + t0) * bl->vs + bl->hh * a->dv;
        int64_t qoff = (bl->b * a->t + t0) * bl->qs + bl->hh * a->dk;
        const float *go = j->gout + off, *o = j->cout + off;
        if (ncols == 0)
            continue;
        tile_scores(a, bl, t0, t1, ncols, x);
        for (i = t0; i < t1; i++) {
            float *row = x + (i - t0) * ncols;
            int64_t lim = row_limit(a, i, ncols);
            float lse = j->clse[(bl->b * a->h + bl->hh) * a->t + i];
            if (!mask_row(a, bl->b, i, row, lim))
                lse = INFINITY;
            recompute_row(row, lim, ncols, lse);
            /* sum(dP * P) = dO . O */
            dot[i - t0] = dot_row(go + (i - t0) * bl->vs, o + (i - t0) * bl->vs, a->dv);
        }
        if (j->gv)
            bgm__gemm(1, 0, ncols, a->dv, rows, 1.0f, x, ncols, go, bl->vs, 1.0f,
                      j->gv + bl->b * a->v_batch + bl->hh * a->dv, bl->vs);
        if (!j->gq && !j->gk)
            continue;
        bgm__gemm(0, 1, rows, ncols, a->dv, 1.0f, go, bl->vs, bl->v, bl->vs, 0.0f, dp, ncols);
        for (i = 0; i < rows; i++)
            softmax_grad_row(dp + i * ncols, x + i * ncols, ncols, dot[i]);
        if (j->gq)
            bgm__gemm(0, 0, rows, a->dk, ncols, a->scale, dp, ncols, bl->k, bl->qs, 1.0f,
                      j->gq + qoff, bl->qs);
        if (j->gk)
            bgm__gemm(1, 0, ncols, a->dk, rows, a->scale, dp, ncols, bl->q + t0 * bl->qs,
                      bl->qs, 1.0f, j->gk + bl->b * a->k_batch + bl->hh * a->dk, bl->qs);
    }
}

static void probs_backward_block(const attn_job *j, const block *bl, float *x)
{
    const bgm__attn *a = j->a;
    size_t base = (size_t)((bl->b * a->h + bl->hh) * a->t) * (size_t)a->s;
    int64_t t0, i;
    for (t0 = 0; t0 < a->t; t0 += TILE) {
        int64_t rows = (t0 + TILE < a->t ? t0 + TILE : a->t) - t0;
        const float *p = j->cprobs + base + (size_t)(t0 * a->s);
        memcpy(x, j->cgprobs + base + (size_t)(t0 * a->s), (size_t)(rows * a->s) * sizeof *x);
        for (i = 0; i < rows; i++)
            softmax_grad_row(x + i * a->s, p + i * a->s, a->s,
                             dot_row(x + i * a->s, p + i * a->s, a->s));
        if (j->gq)
            bgm__gemm(0, 0, rows, a->dk, a->s, a->scale, x, a->s, bl->k, bl->qs, 1.0f,
                      j->gq + (bl->b * a->t + t0) * bl->qs + bl->hh * a->dk, bl->qs);
        if (j->gk)
            bgm__gemm(1, 0, a->s, a->dk, rows, a->scale, x, a->s, bl->q + t0 * bl->qs,
                      bl->qs, 1.0f, j->gk + bl->b * a->k_batch + bl->hh * a->dk, bl->qs);
    }
}

static void apply_block(const attn_job *j, const block *bl)
{
    const bgm__attn *a = j->a;
    size_t base = (size_t)((bl->b * a->h + bl->hh) * a->t) * (size_t)a->s;
    int64_t off = bl->b * a->t * bl->vs + bl->hh * a->dv;
    if (j->kind == APPLY) {
        bgm__gemm(0, 0, a->t, a->dv, a->s, 1.0f, j->cprobs + base, a->s, bl->v, bl->vs, 0.0f,
                  j->out + off, bl->vs);
        return;
    }
    if (j->gprobs)
        bgm__gemm(0, 1, a->t, a->s, a->dv, 1.0f, j->gout + off, bl->vs, bl->v, bl->vs, 1.0f,
                  j->gprobs + base, a->s);
    if (j->gv)
        bgm__gemm(1, 0, a->s, a->dv, a->t, 1.0f, j->cprobs + base, a->s, j->gout + off,
                  bl->vs, 1.0f, j->gv + bl->b * a->v_batch + bl->hh * a->dv, bl->vs);
}

/* Slots [begin, end): each walks its share of the blocks with its workspace. */
static void run_slots(void *ctx, int64_t begin, int64_t end)
{
    const attn_job *j = ctx;
    int64_t blocks = j->a->n * j->a->h, p, idx;
    for (p = begin; p < end; p++) {
        float *x = j->work ? j->work + (size_t)p * j->per_slot : NULL;
        for (idx = p * blocks / j->slots; idx < (p + 1) * blocks / j->slots; idx++) {
            block bl = block_at(j->a, idx);
            if (j->kind == FORWARD)
                forward_block(j, &bl, x);
            else if (j->kind == BACKWARD)
                backward_block(j, &bl, x);
            else if (j->kind == PROBS_BACKWARD)
                probs_backward_block(j, &bl, x);
            else
                apply_block(j, &bl);
        }
    }
}

static void run(attn_job *j, int kind, int backward)
{
    j->kind = kind;
    j->slots = j->a->slots ? j->a->slots : slot_count(j->a);
    j->per_slot = per_slot_floats(j->a, backward);
    if (j->a->n * j->a->h > 0)
        bgm__parallel_for(j->slots, 1, run_slots, j);
}

void bgm__attn_forward(const bgm__attn *a, float *out, float *lse, float *probs, float *work)
{
    attn_job j = {.a = a, .out = out, .lse = lse, .probs = probs, .work = work};
    run(&j, FORWARD, 0);
}

void bgm__attn_backward(const bgm__attn *a, const float *out, const float *gout,
                        const float *lse, float *gq, float *gk, float *gv, float *work)
{
    attn_job j = {.a = a, .cout = out, .gout = gout, .clse = lse, .gq = gq, .gk = gk,
                  .gv = gv, .work = work};
    run(&j, BACKWARD, 1);
}

void bgm__attn_probs_backward(const bgm__attn *a, const float *probs, const float *gprobs,
                              float *gq, float *gk, float *work)
{
    attn_job j = {.a = a, .cprobs = probs, .cgprobs = gprobs, .gq = gq, .gk = gk,
                  .work = work};
    run(&j, PROBS_BACKWARD, 1);
}

void bgm__attn_apply(const bgm__attn *a, const float *probs, float *out)
{
    attn_job j = {.a = a, .cprobs = probs, .out = out};
    run(&j, APPLY, 0);
}

void bgm__attn_apply_backward(const bgm__attn *a, const float *probs, const float *gout,
                              float *gprobs, float *gv)
{
    attn_job j = {.a = a, .cprobs = probs, .gout = gout, .gprobs = gprobs, .gv = gv};
    run(&j, APPLY_BACKWARD, 0);
}
