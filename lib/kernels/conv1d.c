/* im2col / col2im over (T, C) sequences: each tap copies one channel vector. */
#include "conv1d.h"

#include <string.h>

#include "im2col.h"

int64_t bgm__window1d_plan(bgm__window1d *g, int64_t t, int64_t c, int64_t k, int64_t s,
                           int64_t d, int padding)
{
    const int64_t span = d * (k - 1) + 1;
    g->t = t;
    g->c = c;
    g->k = k;
    g->s = s;
    g->d = d;
    g->pad_left = 0;
    if (padding == BGM__PAD1D_CAUSAL) {
        g->pad_left = t > 0 ? span - 1 : 0;
        g->ot = t > 0 ? (t - 1) / s + 1 : 0;
    } else {
        g->ot = bgm__window_out(t, span, s, padding == BGM__PAD1D_SAME, &g->pad_left);
    }
    return g->ot;
}

void bgm__im2col1d(const bgm__window1d *g, const float *x, float *col)
{
    const size_t run = (size_t)g->c * sizeof *x;
    int64_t i, k;
    for (i = 0; i < g->ot; i++)
        for (k = 0; k < g->k; k++) {
            int64_t at = i * g->s + k * g->d - g->pad_left;
            float *dst = col + (i * g->k + k) * g->c;
            if (at >= 0 && at < g->t)
                memcpy(dst, x + at * g->c, run);
            else
                memset(dst, 0, run);
        }
}

void bgm__col2im1d(const bgm__window1d *g, const float *col, float *dx)
{
    int64_t i, k, ch;
    for (i = 0; i < g->ot; i++)
        for (k = 0; k < g->k; k++) {
            int64_t at = i * g->s + k * g->d - g->pad_left;
            const float *src = col + (i * g->k + k) * g->c;
            float *dst = dx + at * g->c;
            if (at < 0 || at >= g->t)
                continue;
            for (ch = 0; ch < g->c; ch++)
                dst[ch] += src[ch];
        }
}
