/*
 * Winograd F(4x4, 3x3) for inference (see winograd.h): each 4x4 block of
 * outputs from a 6x6 block of input through 36 products, 2.25 multiplies
 * per output instead of 9 (4 for F(2x2, 3x3)). With d the 6x6 block, g the
 * 3x3 kernel of a (channel, filter) pair:
 *
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A, summed over channels,
 *
 *     B^T = [4  0 -5  0 1 0;  0 -4 -4  1 1 0;  0 4 -4 -1 1 0;
 *            0 -2 -1  2 1 0;  0  2 -1 -2 1 0;  0 4  0 -5 0 1]
 *     G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 *            1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *     A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 *
 * The larger coefficients cost precision (about 1e-6 relative here against
 * 1e-7 for F(2x2, 3x3); the tests hold both to 1e-5 of the sum of the
 * terms' sizes, in double, for the outputs and every gradient). The
 * gradients: dM = A dY A^T per tile and dg = G^T dU G. The transforms are
 * those of the path in use (winograd_tiles.h); there are none in plain C,
 * so F(4x4, 3x3) runs on the AVX-512 and AVX2 paths only.
 */
#include "winograd.h"

#include <string.h>

#include "gemm.h"

int bgm__winograd4_available(void)
{
    return bgm__winograd_available() && bgm__winograd_path_in_use()->input4 != NULL;
}

void bgm__winograd4_kernel(const float *w, int64_t c, int64_t f, float *u)
{
    bgm__winograd_kernel_with(bgm__winograd_path_in_use()->kernel4, w, c, f, u);
}

/* Tiles of the output under g, across and down. */
static void tile_grid(const bgm__window *g, int64_t *tw, int64_t *th)
{
    *tw = (g->ow + 3) / 4;
    *th = (g->oh + 3) / 4;
}

/* v (count * tiles, 36, c) = the input transform of every tile of the
 * count images at x under g; zero: c floats of scratch. */
static void input_images(const bgm__winograd_path *p, const bgm__window *g, int64_t count,
                         const float *x, float *v, float *zero)
{
    const int64_t c = g->c;
    int64_t n, ty, tx, tw, th;
    tile_grid(g, &tw, &th);
    memset(zero, 0, (size_t)c * sizeof *zero);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                const float *img = x + n * g->h * g->w * c, *src[36];
                const int64_t y0 = 4 * ty - g->pad_top, x0 = 4 * tx - g->pad_left;
                float *vt = v + ((n * th + ty) * tw + tx) * 36 * c;
                if (y0 >= 0 && y0 + 6 <= g->h && x0 >= 0 && x0 + 6 <= g->w) {
                    p->input4_grid(img + (y0 * g->w + x0) * c, g->w * c, c, vt, c);
                    continue;
                }
                bgm__winograd_tile_sources(g, img, 4 * ty, 4 * tx, 6, zero, src);
                p->input4(src, c, vt, c);
            }
}

/* The workspace ws of count images: v (count * tiles, 36, c), the input
 * transforms of x, then m (count * tiles, 36, f), then c floats of zeros;
 * the tiles across and down, and their number, returned. */
static int64_t transformed_inputs(const bgm__winograd_path *p, const bgm__window *g, int64_t f,
                                  int64_t count, const float *x, float *ws, float **v,
                                  float **m, int64_t *tw, int64_t *th)
{
    int64_t nt;
    tile_grid(g, tw, th);
    nt = count * *tw * *th;
    *v = ws;
    *m = ws + 36 * nt * g->c;
    input_images(p, g, count, x, *v, *m + 36 * nt * f);
    return nt;
}

void bgm__winograd4_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                           const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws)
{
    const bgm__winograd_path *p = bgm__winograd_path_in_use();
    const int64_t c = g->c;
    int64_t n, ty, tx, tw, th;
    float *v, *m;
    const int64_t nt = transformed_inputs(p, g, f, count, x, ws, &v, &m, &tw, &th);
    bgm__gemm_slots(36, nt, f, c, v, 36 * c, c, u, f, c * f, m, 36 * f, f);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                const float *mt = m + ((n * th + ty) * tw + tx) * 36 * f;
                const float *bias = ep ? ep->bias : NULL, *res[16];
                const int relu = ep ? ep->relu : 0;
                float *out[16];
                int nc, nr;
                if (4 * ty + 4 <= g->oh && 4 * tx + 4 <= g->ow) {
                    const int64_t at = ((n * g->oh + 4 * ty) * g->ow + 4 * tx) * f;
                    p->output4_grid(mt, f, f, y + at, ep && ep->res ? ep->res + at : NULL,
                                    g->ow * f, bias, relu);
                    continue;
                }
                nr = bgm__winograd_tile_outputs(g, f, 4, n * g->oh * g->ow, 4 * ty, 4 * tx, y,
                                                ep, out, res, &nc);
                p->output4(mt, f, f, nr, nc, out, ep && ep->res ? res : NULL, bias, relu);
            }
}

void bgm__winograd4_kernel_grad_images(const bgm__window *g, int64_t f, int64_t count,
                                       const float *x, const float *gy, float *du, float *ws)
{
    const bgm__winograd_path *p = bgm__winograd_path_in_use();
    const int64_t c = g->c;
    int64_t n, ty, tx, e, tw, th;
    float *v, *m;
    const int64_t nt = transformed_inputs(p, g, f, count, x, ws, &v, &m, &tw, &th);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                float *mt = m + ((n * th + ty) * tw + tx) * 36 * f;
                const float *dy[16];
                if (4 * ty + 4 <= g->oh && 4 * tx + 4 <= g->ow) {
                    p->grad4_grid(gy + ((n * g->oh + 4 * ty) * g->ow + 4 * tx) * f, g->ow * f, f,
                                  mt, f);
                    continue;
                }
                bgm__winograd_tile_grads(g, f, 4, n, 4 * ty, 4 * tx, gy, dy);
                p->grad4(dy, f, mt, f);
            }
    for (e = 0; e < 36; e++)
        bgm__gemm(1, 0, c, f, nt, 1.0f, v + e * c, 36 * c, m + e * f, 36 * f, 1.0f,
                  du + e * c * f, f);
}
