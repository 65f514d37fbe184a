/*
 * Axis reductions. Work is split in units of (one outer index, one block of
 * up to BLOCK inner columns): within a unit the reduced axis is walked row by
 * row, so the inner loop runs over contiguous columns and vectorizes, and
 * units write disjoint outputs, so they run on the thread pool without races.
 */
#include "reduce.h"

#include <string.h>

#include "core/threads.h"

#define BLOCK 256
#define PAR_MIN_ELEMS ((int64_t)1 << 15)

enum { SUM, SUM_BACKWARD, MAX, MAX_BACKWARD };

typedef struct reduce_job {
    int kind;
    float *out;           /* out (forward) or gx (backward) */
    const float *in;      /* x (forward) or g (backward) */
    int64_t *argmax;
    const int64_t *argmax_in;
    int64_t outer, n, inner, nblocks;
    float scale;
} reduce_job;

/* Sum of a contiguous row with eight partial sums (faster and more exact). */
static float sum_row(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t j = 0;
    int k;
    for (; j + 8 <= n; j += 8)
        for (k = 0; k < 8; k++)
            acc[k] += x[j + k];
    for (; j < n; j++)
        acc[0] += x[j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* Replaces best by v when v is larger, or v is the first NaN. */
static int beats(float v, float best)
{
    return v > best || (v != v && best == best);
}

static void sum_unit(const reduce_job *r, int64_t o, int64_t i0, int64_t w)
{
    const float *x = r->in + o * r->n * r->inner + i0;
    float *out = r->out + o * r->inner + i0;
    int64_t i, j;
    if (r->inner == 1) {
        out[0] = r->scale * sum_row(x, r->n);
        return;
    }
    for (i = 0; i < w; i++)
        out[i] = 0.0f;
    for (j = 0; j < r->n; j++)
        for (i = 0; i < w; i++)
            out[i] += x[j * r->inner + i];
    for (i = 0; i < w; i++)
        out[i] *= r->scale;
}

static void sum_backward_unit(const reduce_job *r, int64_t o, int64_t i0, int64_t w)
{
    float *gx = r->out + o * r->n * r->inner + i0;
    const float *g = r->in + o * r->inner + i0;
    float scaled[BLOCK];
    int64_t i, j;
    for (i = 0; i < w; i++)
        scaled[i] = r->scale * g[i];
    for (j = 0; j < r->n; j++)
        for (i = 0; i < w; i++)
            gx[j * r->inner + i] += scaled[i];
}

static void max_unit(const reduce_job *r, int64_t o, int64_t i0, int64_t w)
{
    const float *x = r->in + o * r->n * r->inner + i0;
    float *out = r->out + o * r->inner + i0;
    int64_t *arg = r->argmax ? r->argmax + o * r->inner + i0 : NULL;
    int64_t best_j[BLOCK];
    int64_t i, j;
    for (i = 0; i < w; i++) {
        out[i] = x[i];
        best_j[i] = 0;
    }
    for (j = 1; j < r->n; j++) {
        const float *row = x + j * r->inner;
        for (i = 0; i < w; i++) {
            if (beats(row[i], out[i])) {
                out[i] = row[i];
                best_j[i] = j;
            }
        }
    }
    if (arg)
        memcpy(arg, best_j, (size_t)w * sizeof *arg);
}

static void max_backward_unit(const reduce_job *r, int64_t o, int64_t i0, int64_t w)
{
    float *gx = r->out + o * r->n * r->inner + i0;
    const float *g = r->in + o * r->inner + i0;
    const int64_t *arg = r->argmax_in + o * r->inner + i0;
    int64_t i;
    for (i = 0; i < w; i++)
        gx[arg[i] * r->inner + i] += g[i];
}

static void run_units(void *ctx, int64_t begin, int64_t end)
{
    const reduce_job *r = ctx;
    int64_t u;
    for (u = begin; u < end; u++) {
        int64_t o = u / r->nblocks, i0 = (u % r->nblocks) * BLOCK;
        int64_t w = r->inner - i0 < BLOCK ? r->inner - i0 : BLOCK;
        switch (r->kind) {
        case SUM: sum_unit(r, o, i0, w); break;
        case SUM_BACKWARD: sum_backward_unit(r, o, i0, w); break;
        case MAX: max_unit(r, o, i0, w); break;
        default: max_backward_unit(r, o, i0, w); break;
        }
    }
}

static void run(reduce_job *r)
{
    int64_t units, per_unit;
    if (r->outer == 0 || r->inner == 0)
        return;
    r->nblocks = (r->inner + BLOCK - 1) / BLOCK;
    units = r->outer * r->nblocks;
    per_unit = (r->n > 0 ? r->n : 1) * (r->inner < BLOCK ? r->inner : BLOCK);
    if (units * per_unit >= PAR_MIN_ELEMS)
        bgm__parallel_for(units, (PAR_MIN_ELEMS / 2 + per_unit - 1) / per_unit, run_units, r);
    else
        run_units(r, 0, units);
}

void bgm__reduce_sum(float *out, const float *x, int64_t outer, int64_t n, int64_t inner,
                     float scale)
{
    reduce_job r = {SUM, out, x, NULL, NULL, outer, n, inner, 0, scale};
    run(&r);
}

void bgm__reduce_sum_backward(float *gx, const float *g, int64_t outer, int64_t n,
                              int64_t inner, float scale)
{
    reduce_job r = {SUM_BACKWARD, gx, g, NULL, NULL, outer, n, inner, 0, scale};
    if (n > 0)
        run(&r);
}

void bgm__reduce_max(float *out, int64_t *argmax, const float *x, int64_t outer,
                     int64_t n, int64_t inner)
{
    reduce_job r = {MAX, out, x, argmax, NULL, outer, n, inner, 0, 1.0f};
    if (n > 0)
        run(&r);
}

void bgm__reduce_max_backward(float *gx, const float *g, const int64_t *argmax,
                              int64_t outer, int64_t n, int64_t inner)
{
    reduce_job r = {MAX_BACKWARD, gx, g, NULL, argmax, outer, n, inner, 0, 1.0f};
    if (n > 0)
        run(&r);
}
