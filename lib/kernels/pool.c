/* Max and average pooling over NHWC images. Channels are the innermost
 * loop everywhere, so each window cell is one contiguous vector. */
#include "pool.h"

#include <math.h>
#include <stddef.h>

#include "simd.h"

/* Real-cell bounds [y0, y1) x [x0, x1) of the window at output (oy, ox). */
static void window_bounds(const bgm__window *g, int64_t oy, int64_t ox, int64_t *y0,
                          int64_t *y1, int64_t *x0, int64_t *x1)
{
    int64_t ys = oy * g->sh - g->pad_top, xs = ox * g->sw - g->pad_left;
    *y0 = ys < 0 ? 0 : ys;
    *y1 = ys + g->kh > g->h ? g->h : ys + g->kh;
    *x0 = xs < 0 ? 0 : xs;
    *x1 = xs + g->kw > g->w ? g->w : xs + g->kw;
}

/* Whether cell value v replaces the running maximum b: strictly greater
 * keeps the first maximum; a NaN replaces a number but not an earlier NaN. */
BGM__INLINE int max_takes(float v, float b) { return (v > b) | ((v != v) & (b == b)); }

/* One more window cell v into the running maximum, written without
 * branches so the channel loop vectorizes. */
BGM__INLINE void max_step(float *best, const float *v, int64_t c)
{
    int64_t ch;
    for (ch = 0; ch < c; ch++) {
        float b = best[ch], val = v[ch];
        best[ch] = max_takes(val, b) ? val : b;
    }
}

BGM__INLINE void max_step_arg(float *best, int32_t *arg, const float *v, int32_t base,
                                int64_t c)
{
    int64_t ch;
    for (ch = 0; ch < c; ch++) {
        float b = best[ch], val = v[ch];
        int take = max_takes(val, b);
        best[ch] = take ? val : b;
        arg[ch] = take ? base + (int32_t)ch : arg[ch];
    }
}

/* max_takes as a selection: b unless v takes its place. */
BGM__INLINE float max_of(float b, float v)
{
    float m = v <= b ? b : v;
    return b == b ? m : b;
}

/* A 2 x 2 window wholly inside the image, the cells p0..p3 in row-major
 * window order at offsets i0..i3 of the image: the common case, with the
 * running maximum in registers rather than in y. Written as selections on
 * float comparisons only (v took b's place exactly when the maximum changed
 * and b was a number), which GCC vectorizes where it does not max_takes. */
BGM__INLINE void max_pool_2x2(const float *p0, const float *p1, const float *p2,
                              const float *p3, int32_t i0, int32_t i1, int32_t i2,
                              int32_t i3, int64_t c, float *best, int32_t *arg)
{
    int64_t ch;
    if (!arg) {
        for (ch = 0; ch < c; ch++)
            best[ch] = max_of(max_of(max_of(p0[ch], p1[ch]), p2[ch]), p3[ch]);
        return;
    }
    for (ch = 0; ch < c; ch++) {
        float b0 = p0[ch], b1, b2, b3;
        int32_t a = i0 + (int32_t)ch;
        b1 = max_of(b0, p1[ch]);
        a = ((b1 != b0) & (b0 == b0)) ? i1 + (int32_t)ch : a;
        b2 = max_of(b1, p2[ch]);
        a = ((b2 != b1) & (b1 == b1)) ? i2 + (int32_t)ch : a;
        b3 = max_of(b2, p3[ch]);
        a = ((b3 != b2) & (b2 == b2)) ? i3 + (int32_t)ch : a;
        best[ch] = b3;
        arg[ch] = a;
    }
}

BGM__HOT void bgm__max_pool(const bgm__window *g, const float *x, float *y, int32_t *argmax)
{
    const int64_t c = g->c;
    int64_t oy, ox, yy, xx, ch, y0, y1, x0, x1;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            int64_t o = (oy * g->ow + ox) * c, first;
            float *best = y + o;
            int32_t *arg = argmax ? argmax + o : NULL;
            window_bounds(g, oy, ox, &y0, &y1, &x0, &x1);
            if (g->kh == 2 && g->kw == 2 && y1 - y0 == 2 && x1 - x0 == 2) {
                const int64_t i0 = (y0 * g->w + x0) * c, i2 = i0 + g->w * c;
                max_pool_2x2(x + i0, x + i0 + c, x + i2, x + i2 + c, (int32_t)i0,
                             (int32_t)(i0 + c), (int32_t)i2, (int32_t)(i2 + c), c, best, arg);
                continue;
            }
            if (y1 <= y0 || x1 <= x0) {
                for (ch = 0; ch < c; ch++)
                    best[ch] = -INFINITY;
                if (arg)
                    for (ch = 0; ch < c; ch++)
                        arg[ch] = -1;
                continue;
            }
            /* The first real cell starts the maximum. */
            first = (y0 * g->w + x0) * c;
            for (ch = 0; ch < c; ch++)
                best[ch] = x[first + ch];
            if (arg)
                for (ch = 0; ch < c; ch++)
                    arg[ch] = (int32_t)(first + ch);
            for (yy = y0; yy < y1; yy++) {
                for (xx = yy == y0 ? x0 + 1 : x0; xx < x1; xx++) {
                    int64_t base = (yy * g->w + xx) * c;
                    if (arg)
                        max_step_arg(best, arg, x + base, (int32_t)base, c);
                    else
                        max_step(best, x + base, c);
                }
            }
        }
    }
}

void bgm__max_pool_backward(const bgm__window *g, const float *gy, const int32_t *argmax,
                            float *gx)
{
    int64_t i, n = g->oh * g->ow * g->c;
    for (i = 0; i < n; i++)
        if (argmax[i] >= 0)
            gx[argmax[i]] += gy[i];
}

BGM__HOT void bgm__max_pool_backward_set(const bgm__window *g, const float *gy,
                                         const int32_t *argmax, float *gx)
{
    const int64_t c = g->c, row = g->w * c, covered_w = g->ow * g->kw * c;
    int64_t oy, ox, ky, kx, ch, y;
    for (oy = 0; oy < g->oh; oy++) {
        for (ky = 0; ky < g->kh; ky++) {
            y = oy * g->kh + ky;
            for (ox = 0; ox < g->ow; ox++) {
                const int64_t o = (oy * g->ow + ox) * c;
                for (kx = 0; kx < g->kw; kx++) {
                    const int32_t cell = (int32_t)(y * row + (ox * g->kw + kx) * c);
                    float *d = gx + cell;
                    for (ch = 0; ch < c; ch++)
                        d[ch] = argmax[o + ch] == cell + (int32_t)ch ? gy[o + ch] : 0.0f;
                }
            }
            for (ch = covered_w; ch < row; ch++)
                gx[y * row + ch] = 0.0f;
        }
    }
    for (y = g->oh * g->kh; y < g->h; y++)
        for (ch = 0; ch < row; ch++)
            gx[y * row + ch] = 0.0f;
}

void bgm__avg_pool(const bgm__window *g, const float *x, float *y)
{
    const int64_t c = g->c;
    int64_t oy, ox, yy, xx, ch, y0, y1, x0, x1;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            float *acc = y + (oy * g->ow + ox) * c;
            int64_t count;
            float inv;
            for (ch = 0; ch < c; ch++)
                acc[ch] = 0.0f;
            window_bounds(g, oy, ox, &y0, &y1, &x0, &x1);
            for (yy = y0; yy < y1; yy++) {
                for (xx = x0; xx < x1; xx++) {
                    const float *v = x + (yy * g->w + xx) * c;
                    for (ch = 0; ch < c; ch++)
                        acc[ch] += v[ch];
                }
            }
            count = (y1 > y0 && x1 > x0) ? (y1 - y0) * (x1 - x0) : 0;
            inv = count ? 1.0f / (float)count : 0.0f;
            for (ch = 0; ch < c; ch++)
                acc[ch] *= inv;
        }
    }
}

void bgm__avg_pool_backward(const bgm__window *g, const float *gy, float *gx)
{
    const int64_t c = g->c;
    int64_t oy, ox, yy, xx, ch, y0, y1, x0, x1;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            const float *grow = gy + (oy * g->ow + ox) * c;
            float inv;
            window_bounds(g, oy, ox, &y0, &y1, &x0, &x1);
            if (y1 <= y0 || x1 <= x0)
                continue;
            inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
            for (yy = y0; yy < y1; yy++) {
                for (xx = x0; xx < x1; xx++) {
                    float *d = gx + (yy * g->w + xx) * c;
                    for (ch = 0; ch < c; ch++)
                        d[ch] += grow[ch] * inv;
                }
            }
        }
    }
}

void bgm__global_avg_pool(const float *x, int64_t hw, int64_t c, float *y)
{
    int64_t p, ch;
    for (ch = 0; ch < c; ch++)
        y[ch] = 0.0f;
    for (p = 0; p < hw; p++)
        for (ch = 0; ch < c; ch++)
            y[ch] += x[p * c + ch];
    for (ch = 0; ch < c; ch++)
        y[ch] /= (float)hw;
}

void bgm__global_avg_pool_backward(const float *gy, int64_t hw, int64_t c, float *gx)
{
    int64_t p, ch;
    float inv = 1.0f / (float)hw;
    for (p = 0; p < hw; p++)
        for (ch = 0; ch < c; ch++)
            gx[p * c + ch] += gy[ch] * inv;
}
