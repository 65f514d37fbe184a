/* Zero padding of NHWC images (see zero_pad.h). With channels innermost, an
 * image row of x is one contiguous run of w * c floats, and so is its place
 * in y: one memcpy per row, memsets for the border. */
#include "zero_pad.h"

#include <string.h>

#include "simd.h"

void bgm__zero_pad2d(const bgm__pad2d *g, const float *x, float *y)
{
    const int64_t oh = g->top + g->h + g->bottom, orow = (g->left + g->w + g->right) * g->c;
    const int64_t row = g->w * g->c, image = oh * orow;
    int64_t i, r;
    if (g->n * image == 0)
        return; /* y is empty (and its data possibly NULL) */
    for (i = 0; i < g->n; i++) {
        float *yi = y + i * image;
        const float *xi = x + i * g->h * row;
        memset(yi, 0, (size_t)(g->top * orow) * sizeof *y);
        for (r = 0; r < g->h; r++) {
            float *yr = yi + (g->top + r) * orow;
            memset(yr, 0, (size_t)(g->left * g->c) * sizeof *y);
            if (row > 0)
                memcpy(yr + g->left * g->c, xi + r * row, (size_t)row * sizeof *y);
            memset(yr + g->left * g->c + row, 0, (size_t)(g->right * g->c) * sizeof *y);
        }
        memset(yi + (g->top + g->h) * orow, 0, (size_t)(g->bottom * orow) * sizeof *y);
    }
}

BGM__HOT void bgm__zero_pad2d_backward(const bgm__pad2d *g, const float *gy, float *gx,
                                       int fresh)
{
    const int64_t oh = g->top + g->h + g->bottom, orow = (g->left + g->w + g->right) * g->c;
    const int64_t row = g->w * g->c;
    int64_t i, r, j;
    if (g->n * g->h * row == 0)
        return; /* x is empty */
    for (i = 0; i < g->n; i++)
        for (r = 0; r < g->h; r++) {
            const float *src = gy + (i * oh + g->top + r) * orow + g->left * g->c;
            float *dst = gx + (i * g->h + r) * row;
            if (fresh) {
                memcpy(dst, src, (size_t)row * sizeof *gx);
            } else {
                for (j = 0; j < row; j++)
                    dst[j] += src[j];
            }
        }
}
