/*
 * Strided N-d copies. The shape is first simplified (dimensions of size 1
 * dropped, neighbours that are contiguous in both src and dst merged), so a
 * slice or concat becomes a few long memcpy-like rows and a permutation
 * becomes its true rank. When the innermost dimension is strided on one side
 * and another dimension is contiguous there (a transpose), that pair is
 * walked in square tiles so both sides stay in cache.
 */
#include "permute.h"

#include <string.h>

#include "core/threads.h"

#define TILE 32
#define PAR_MIN_ELEMS ((int64_t)1 << 15)

typedef struct copy_plan {
    float *dst;
    const float *src;
    int ndim;
    int64_t shape[BGM__COPY_MAX_DIMS], ds[BGM__COPY_MAX_DIMS], ss[BGM__COPY_MAX_DIMS];
    int nouter;      /* dimensions [0, nouter) are walked one index at a time */
    int tiled;       /* the last two dimensions form a tiled block */
    int accumulate;
} copy_plan;

void bgm__contiguous_strides(const int64_t *shape, int ndim, int64_t *strides)
{
    int64_t s = 1;
    int d;
    for (d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= shape[d];
    }
}

static void swap_dims(copy_plan *p, int i, int j)
{
    int64_t t;
    t = p->shape[i], p->shape[i] = p->shape[j], p->shape[j] = t;
    t = p->ds[i], p->ds[i] = p->ds[j], p->ds[j] = t;
    t = p->ss[i], p->ss[i] = p->ss[j], p->ss[j] = t;
}

/* Drops size-1 dimensions and merges contiguous neighbours; 0 when empty. */
static int simplify(copy_plan *p, const int64_t *dst_strides, const int64_t *src_strides,
                    int ndim, const int64_t *shape)
{
    int d, n = 0;
    for (d = 0; d < ndim; d++) {
        if (shape[d] == 0)
            return 0;
        if (shape[d] == 1)
            continue;
        if (n > 0 && p->ds[n - 1] == dst_strides[d] * shape[d] &&
            p->ss[n - 1] == src_strides[d] * shape[d]) {
            p->shape[n - 1] *= shape[d];
            p->ds[n - 1] = dst_strides[d];
            p->ss[n - 1] = src_strides[d];
            continue;
        }
        p->shape[n] = shape[d];
        p->ds[n] = dst_strides[d];
        p->ss[n] = src_strides[d];
        n++;
    }
    p->ndim = n;
    return 1;
}

/* Picks the inner block: a plain row, or a tile when a transpose hides in it. */
static void choose_block(copy_plan *p)
{
    int last = p->ndim - 1, d;
    p->tiled = 0;
    p->nouter = last;
    if (p->ndim < 2 || (p->ss[last] == 1 && p->ds[last] == 1))
        return;
    for (d = 0; d < last; d++) {
        if ((p->ss[last] != 1 && p->ss[d] == 1) || (p->ds[last] != 1 && p->ds[d] == 1)) {
            swap_dims(p, d, last - 1);
            p->tiled = 1;
            p->nouter = last - 1;
            return;
        }
    }
}

static void copy_row(float *d, int64_t dstr, const float *s, int64_t sstr, int64_t n,
                     int accumulate)
{
    int64_t i;
    if (dstr == 1 && sstr == 1) {
        if (!accumulate) {
            memcpy(d, s, (size_t)n * sizeof *d);
            return;
        }
        for (i = 0; i < n; i++)
            d[i] += s[i];
    } else if (accumulate) {
        for (i = 0; i < n; i++)
            d[i * dstr] += s[i * sstr];
    } else {
        for (i = 0; i < n; i++)
            d[i * dstr] = s[i * sstr];
    }
}

static void copy_tile(const copy_plan *p, float *d, const float *s)
{
    int nd = p->ndim;
    int64_t n1 = p->shape[nd - 2], n0 = p->shape[nd - 1];
    int64_t ds1 = p->ds[nd - 2], ds0 = p->ds[nd - 1], ss1 = p->ss[nd - 2], ss0 = p->ss[nd - 1];
    int64_t a, b, i, e1, e0;
    for (a = 0; a < n1; a += TILE) {
        e1 = a + TILE < n1 ? a + TILE : n1;
        for (b = 0; b < n0; b += TILE) {
            e0 = b + TILE < n0 ? b + TILE : n0;
            for (i = a; i < e1; i++)
                copy_row(d + i * ds1 + b * ds0, ds0, s + i * ss1 + b * ss0, ss0, e0 - b,
                         p->accumulate);
        }
    }
}

/* Outer iterations [begin, end), each copying one inner block. */
static void copy_outer(void *ctx, int64_t begin, int64_t end)
{
    const copy_plan *p = ctx;
    int64_t idx[BGM__COPY_MAX_DIMS], od = 0, os = 0, it, rest = begin;
    int d, last = p->ndim - 1;
    for (d = p->nouter - 1; d >= 0; d--) {
        idx[d] = rest % p->shape[d];
        rest /= p->shape[d];
        od += idx[d] * p->ds[d];
        os += idx[d] * p->ss[d];
    }
    for (it = begin; it < end; it++) {
        if (p->tiled)
            copy_tile(p, p->dst + od, p->src + os);
        else
            copy_row(p->dst + od, p->ds[last], p->src + os, p->ss[last], p->shape[last],
                     p->accumulate);
        for (d = p->nouter - 1; d >= 0; d--) {
            if (++idx[d] < p->shape[d]) {
                od += p->ds[d];
                os += p->ss[d];
                break;
            }
            idx[d] = 0;
            od -= (p->shape[d] - 1) * p->ds[d];
            os -= (p->shape[d] - 1) * p->ss[d];
        }
    }
}

void bgm__strided_copy(float *dst, const int64_t *dst_strides, const float *src,
                       const int64_t *src_strides, int ndim, const int64_t *shape,
                       int accumulate)
{
    copy_plan p;
    int64_t outer = 1, block = 1;
    int d;
    if (!simplify(&p, dst_strides, src_strides, ndim, shape))
        return;
    p.dst = dst;
    p.src = src;
    p.accumulate = accumulate;
    if (p.ndim == 0) {
        if (accumulate)
            dst[0] += src[0];
        else
            dst[0] = src[0];
        return;
    }
    choose_block(&p);
    for (d = 0; d < p.ndim; d++) {
        if (d < p.nouter)
            outer *= p.shape[d];
        else
            block *= p.shape[d];
    }
    if (outer * block >= PAR_MIN_ELEMS)
        bgm__parallel_for(outer, (PAR_MIN_ELEMS / 2 + block - 1) / block, copy_outer, &p);
    else
        copy_outer(&p, 0, outer);
}

void bgm__permute(float *dst, const float *src, int ndim, const int64_t *src_shape,
                  const int *perm, int accumulate)
{
    int64_t src_strides[BGM__COPY_MAX_DIMS], shape[BGM__COPY_MAX_DIMS];
    int64_t dst_strides[BGM__COPY_MAX_DIMS], gathered[BGM__COPY_MAX_DIMS];
    int d;
    bgm__contiguous_strides(src_shape, ndim, src_strides);
    for (d = 0; d < ndim; d++) {
        shape[d] = src_shape[perm[d]];
        gathered[d] = src_strides[perm[d]];
    }
    bgm__contiguous_strides(shape, ndim, dst_strides);
    bgm__strided_copy(dst, dst_strides, src, gathered, ndim, shape, accumulate);
}
