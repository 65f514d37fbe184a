/* Max and average pooling over NHWC images. Channels are the innermost
 * loop everywhere, so each window cell is one contiguous vector. */
#include "pool.h"

#include <math.h>
#include <stddef.h>

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

void bgm__max_pool(const bgm__window *g, const float *x, float *y, int32_t *argmax)
{
    const int64_t c = g->c;
    int64_t oy, ox, yy, xx, ch, y0, y1, x0, x1;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            int64_t o = (oy * g->ow + ox) * c;
            float *best = y + o;
            int32_t *arg = argmax ? argmax + o : NULL;
            for (ch = 0; ch < c; ch++)
                best[ch] = -INFINITY;
            if (arg)
                for (ch = 0; ch < c; ch++)
                    arg[ch] = -1;
            window_bounds(g, oy, ox, &y0, &y1, &x0, &x1);
            for (yy = y0; yy < y1; yy++) {
                for (xx = x0; xx < x1; xx++) {
                    int64_t base = (yy * g->w + xx) * c;
                    const float *v = x + base;
                    for (ch = 0; ch < c; ch++) {
                        /* Strictly greater keeps the first maximum; a NaN
                         * replaces a number but not an earlier NaN. */
                        int take = v[ch] > best[ch] ||
                                   (isnan(v[ch]) && !isnan(best[ch])) ||
                                   (arg && arg[ch] < 0);
                        if (take) {
                            best[ch] = v[ch];
                            if (arg)
                                arg[ch] = (int32_t)(base + ch);
                        }
                    }
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
