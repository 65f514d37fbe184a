/*
 * Softmax kernels. As in reduce.c, work is split in units of (one outer
 * index, one block of up to BLOCK inner columns); per-column statistics of a
 * unit live on the stack, the axis is walked row by row so inner loops run
 * over contiguous memory, and units run on the thread pool without races.
 */
#include "softmax.h"

#include <math.h>
#include <stddef.h>

#include "core/threads.h"

#define BLOCK 64
#define PAR_MIN_ELEMS ((int64_t)1 << 14)

enum { SOFTMAX, LOG_SOFTMAX, SOFTMAX_BACKWARD, LOG_SOFTMAX_BACKWARD };

typedef struct softmax_job {
    int kind;
    float *dst;           /* y (forward) or gx (backward) */
    const float *src;     /* x (forward) or g (backward) */
    const float *y;       /* backward only */
    int64_t outer, n, inner, nblocks;
} softmax_job;

static void forward_unit(const softmax_job *r, int64_t base, int64_t w)
{
    const float *x = r->src + base;
    float *y = r->dst + base;
    float m[BLOCK], s[BLOCK];
    int64_t i, j, st = r->inner;
    for (i = 0; i < w; i++) {
        m[i] = -INFINITY;
        s[i] = 0.0f;
    }
    for (j = 0; j < r->n; j++)
        for (i = 0; i < w; i++)
            m[i] = x[j * st + i] > m[i] ? x[j * st + i] : m[i];
    /* A NaN never passes ">" above; it still turns its slice into NaN below. */
    if (r->kind == SOFTMAX) {
        for (j = 0; j < r->n; j++) {
            for (i = 0; i < w; i++) {
                float e = expf(x[j * st + i] - m[i]);
                y[j * st + i] = e;
                s[i] += e;
            }
        }
        for (i = 0; i < w; i++)
            s[i] = 1.0f / s[i];
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                y[j * st + i] *= s[i];
    } else {
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                s[i] += expf(x[j * st + i] - m[i]);
        /* (x - max) - log(s), in this order: folding log(s) into a large
         * max first would round away its low bits. */
        for (i = 0; i < w; i++)
            s[i] = logf(s[i]);
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                y[j * st + i] = (x[j * st + i] - m[i]) - s[i];
    }
}

static void backward_unit(const softmax_job *r, int64_t base, int64_t w)
{
    const float *g = r->src + base, *y = r->y + base;
    float *gx = r->dst + base;
    float acc[BLOCK];
    int64_t i, j, st = r->inner;
    for (i = 0; i < w; i++)
        acc[i] = 0.0f;
    if (r->kind == SOFTMAX_BACKWARD) {
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                acc[i] += g[j * st + i] * y[j * st + i];
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                gx[j * st + i] += y[j * st + i] * (g[j * st + i] - acc[i]);
    } else {
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                acc[i] += g[j * st + i];
        for (j = 0; j < r->n; j++)
            for (i = 0; i < w; i++)
                gx[j * st + i] += g[j * st + i] - expf(y[j * st + i]) * acc[i];
    }
}

static void run_units(void *ctx, int64_t begin, int64_t end)
{
    const softmax_job *r = ctx;
    int64_t u;
    for (u = begin; u < end; u++) {
        int64_t o = u / r->nblocks, i0 = (u % r->nblocks) * BLOCK;
        int64_t w = r->inner - i0 < BLOCK ? r->inner - i0 : BLOCK;
        int64_t base = o * r->n * r->inner + i0;
        if (r->kind == SOFTMAX || r->kind == LOG_SOFTMAX)
            forward_unit(r, base, w);
        else
            backward_unit(r, base, w);
    }
}

static void run(softmax_job *r)
{
    int64_t units, per_unit;
    if (r->outer == 0 || r->n == 0 || r->inner == 0)
        return;
    r->nblocks = (r->inner + BLOCK - 1) / BLOCK;
    units = r->outer * r->nblocks;
    per_unit = r->n * (r->inner < BLOCK ? r->inner : BLOCK);
    if (units * per_unit >= PAR_MIN_ELEMS)
        bgm__parallel_for(units, (PAR_MIN_ELEMS / 2 + per_unit - 1) / per_unit, run_units, r);
    else
        run_units(r, 0, units);
}

void bgm__softmax_forward(float *y, const float *x, int64_t outer, int64_t n,
                          int64_t inner)
{
    softmax_job r = {SOFTMAX, y, x, NULL, outer, n, inner, 0};
    run(&r);
}

void bgm__log_softmax_forward(float *y, const float *x, int64_t outer, int64_t n,
                              int64_t inner)
{
    softmax_job r = {LOG_SOFTMAX, y, x, NULL, outer, n, inner, 0};
    run(&r);
}

void bgm__softmax_backward(float *gx, const float *g, const float *y, int64_t outer,
                           int64_t n, int64_t inner)
{
    softmax_job r = {SOFTMAX_BACKWARD, gx, g, y, outer, n, inner, 0};
    run(&r);
}

void bgm__log_softmax_backward(float *gx, const float *g, const float *y, int64_t outer,
                               int64_t n, int64_t inner)
{
    softmax_job r = {LOG_SOFTMAX_BACKWARD, gx, g, y, outer, n, inner, 0};
    run(&r);
}
