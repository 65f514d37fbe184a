/* im2col / col2im over NHWC images: each patch row is kh runs of kw*c
 * contiguous channels, so both directions copy whole channel vectors. */
#include "im2col.h"

#include <string.h>

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

void bgm__im2col(const bgm__window *g, const float *x, float *col)
{
    const int64_t c = g->c, rowlen = g->kh * g->kw * c;
    int64_t oy, ox, ky;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            float *row = col + (oy * g->ow + ox) * rowlen;
            int64_t y0 = oy * g->sh - g->pad_top, x0 = ox * g->sw - g->pad_left;
            for (ky = 0; ky < g->kh; ky++) {
                int64_t y = y0 + ky;
                float *dst = row + ky * g->kw * c;
                if (y < 0 || y >= g->h) {
                    memset(dst, 0, (size_t)(g->kw * c) * sizeof *dst);
                    continue;
                }
                /* The in-range kx form one run of contiguous pixels. */
                {
                    int64_t lo = x0 < 0 ? -x0 : 0, hi = g->w - x0;
                    if (lo > g->kw)
                        lo = g->kw;
                    if (hi > g->kw)
                        hi = g->kw;
                    if (hi < lo)
                        hi = lo;
                    memset(dst, 0, (size_t)(lo * c) * sizeof *dst);
                    if (hi > lo)
                        memcpy(dst + lo * c, x + (y * g->w + x0 + lo) * c,
                               (size_t)((hi - lo) * c) * sizeof *dst);
                    memset(dst + hi * c, 0, (size_t)((g->kw - hi) * c) * sizeof *dst);
                }
            }
        }
    }
}

void bgm__col2im(const bgm__window *g, const float *col, float *dx)
{
    const int64_t c = g->c, rowlen = g->kh * g->kw * c;
    int64_t oy, ox, ky, kx, ch;
    for (oy = 0; oy < g->oh; oy++) {
        for (ox = 0; ox < g->ow; ox++) {
            const float *row = col + (oy * g->ow + ox) * rowlen;
            int64_t y0 = oy * g->sh - g->pad_top, x0 = ox * g->sw - g->pad_left;
            for (ky = 0; ky < g->kh; ky++) {
                int64_t y = y0 + ky;
                if (y < 0 || y >= g->h)
                    continue;
                for (kx = 0; kx < g->kw; kx++) {
                    int64_t xx = x0 + kx;
                    const float *src = row + (ky * g->kw + kx) * c;
                    float *dst;
                    if (xx < 0 || xx >= g->w)
                        continue;
                    dst = dx + (y * g->w + xx) * c;
                    for (ch = 0; ch < c; ch++)
                        dst[ch] += src[ch];
                }
            }
        }
    }
}
