/* im2col / col2im over NHWC images: each patch row is kh runs of kw*c
 * contiguous channels, so both directions copy whole channel vectors. */
#include "im2col.h"

#include <string.h>

#include "simd.h"

int64_t bgm__window_out(int64_t in, int64_t k, int64_t s, int same, int64_t *pad_before)
{
    int64_t out, total;
    *pad_before = 0;
    if (!same)
        return k > in ? -1 : (in - k) / s + 1;
    out = (in + s - 1) / s;
    total = (out - 1) * s + k - in;
    if (out > 0 && total > 0)
        *pad_before = total / 2;
    return out;
}

/*
 * Runs are kw * c floats, often short (9 for a 3x3 window over RGB), where
 * a libc call or a vectorized loop's prologue and epilogue cost more than
 * the copy. Fixed-size blocks compile to single vector moves; the last
 * block of a copy overlaps the one before rather than falling back to a
 * scalar tail (rewriting a float with the same value is harmless).
 */
BGM__INLINE void copy_run(float *dst, const float *src, int64_t n)
{
    int64_t i = 0;
    if (n >= 16) {
        for (; i + 16 <= n; i += 16)
            memcpy(dst + i, src + i, 16 * sizeof *dst);
        if (i < n)
            memcpy(dst + n - 16, src + n - 16, 16 * sizeof *dst);
    } else if (n >= 8) {
        memcpy(dst, src, 8 * sizeof *dst);
        memcpy(dst + n - 8, src + n - 8, 8 * sizeof *dst);
    } else if (n >= 4) {
        memcpy(dst, src, 4 * sizeof *dst);
        memcpy(dst + n - 4, src + n - 4, 4 * sizeof *dst);
    } else {
        for (; i < n; i++)
            dst[i] = src[i];
    }
}

BGM__INLINE void zero_run(float *dst, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        dst[i] = 0.0f;
}

BGM__INLINE void add_run(float *dst, const float *src, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        dst[i] += src[i];
}

/* The in-range kx [lo, hi) of a window row starting at column x0. */
BGM__INLINE void run_bounds(const bgm__window *g, int64_t x0, int64_t *lo, int64_t *hi)
{
    *lo = x0 < 0 ? -x0 : 0;
    *hi = g->w - x0;
    if (*lo > g->kw)
        *lo = g->kw;
    if (*hi > g->kw)
        *hi = g->kw;
    if (*hi < *lo)
        *hi = *lo;
}

BGM__HOT void bgm__im2col(const bgm__window *g, const float *x, float *col)
{
    const int64_t c = g->c, rowlen = g->kh * g->kw * c, run = g->kw * c;
    int64_t oy, ox, ky;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            float *row = col + (oy * g->ow + ox) * rowlen;
            int64_t y0 = oy * g->sh - g->pad_top, x0 = ox * g->sw - g->pad_left, lo, hi;
            run_bounds(g, x0, &lo, &hi);
            if (y0 >= 0 && y0 + g->kh <= g->h && lo == 0 && hi == g->kw) {
                /* The whole window is inside the image (always so with
                 * VALID padding): kh plain copies. */
                const float *src = x + (y0 * g->w + x0) * c;
                for (ky = 0; ky < g->kh; ky++)
                    copy_run(row + ky * run, src + ky * g->w * c, run);
                continue;
            }
            for (ky = 0; ky < g->kh; ky++) {
                int64_t y = y0 + ky;
                float *dst = row + ky * run;
                if (y < 0 || y >= g->h) {
                    zero_run(dst, run);
                    continue;
                }
                /* The in-range kx form one run of contiguous pixels. */
                zero_run(dst, lo * c);
                copy_run(dst + lo * c, x + (y * g->w + x0 + lo) * c, (hi - lo) * c);
                zero_run(dst + hi * c, (g->kw - hi) * c);
            }
        }
    }
}

BGM__HOT void bgm__col2im(const bgm__window *g, const float *col, float *dx)
{
    const int64_t c = g->c, rowlen = g->kh * g->kw * c, run = g->kw * c;
    int64_t oy, ox, ky;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            const float *row = col + (oy * g->ow + ox) * rowlen;
            int64_t y0 = oy * g->sh - g->pad_top, x0 = ox * g->sw - g->pad_left, lo, hi;
            run_bounds(g, x0, &lo, &hi);
            for (ky = 0; ky < g->kh; ky++) {
                int64_t y = y0 + ky;
                if (y < 0 || y >= g->h)
                    continue;
                add_run(dx + (y * g->w + x0 + lo) * c, row + ky * run + lo * c,
                        (hi - lo) * c);
            }
        }
    }
}
