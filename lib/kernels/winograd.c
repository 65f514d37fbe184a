/*
 * Winograd F(2x2, 3x3) (see winograd.h). With d a 4x4 input block, g the
 * 3x3 kernel of one (channel, filter) pair and Y the 2x2 output:
 *
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A, summed over channels,
 *
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * The sum over channels of the 16 elementwise products is 16 matrix
 * products (tiles x C) (C x F), one per element of the 4x4 block, run by
 * bgm__gemm. The transforms loop over channels (filters) innermost, where
 * NHWC keeps them contiguous, so they vectorize: winograd_tiles.h, written
 * once for the AVX-512 and the AVX2 path (bgm__winograd_path_in_use).
 */
#include "winograd.h"

#include <string.h>

#include "core/threads.h"
#include "bias.h"
#include "gemm.h"
#include "isa.h"

/* Images are transformed together until their tiles make this many rows
 * of the 16 products (8 tiles of 12 rows of the AVX-512 kernels, 16 of 6
 * of the AVX2 ones). */
#define WINO_GROUP_ROWS 96
/* F(4x4, 3x3): half as many, so that the 36 blocks a tile has in the
 * workspace stay in a core's L2 (ResNet and seed CNN steps 2-5 % faster
 * on Zen 4 than with 96). */
#define WINO4_GROUP_ROWS 48

/* (channel, filter) pairs per piece of a threaded kernel transform. */
#define WINO_KERNEL_PIECE 1024

int bgm__winograd_available(void)
{
    return bgm__gemm_own_available() && bgm__winograd_path_in_use() != NULL;
}

int64_t bgm__winograd_kernel_floats(int64_t c, int64_t f, int m)
{
    return (m + 2) * (m + 2) * c * f;
}

static int64_t tiles_of(const bgm__window *g, int m)
{
    return ((g->oh + m - 1) / m) * ((g->ow + m - 1) / m);
}

int64_t bgm__winograd_group(const bgm__window *g, int m)
{
    int64_t t = tiles_of(g, m);
    int64_t rows = m == 4 ? WINO4_GROUP_ROWS : WINO_GROUP_ROWS;
    return t >= rows ? 1 : (rows + t - 1) / t;
}

int64_t bgm__winograd_ws_floats(const bgm__window *g, int64_t f, int64_t count, int m)
{
    /* v and m: (m + 2)^2 blocks of c (f) per tile, a row of c zeros */
    return (m + 2) * (m + 2) * count * tiles_of(g, m) * (g->c + f) + g->c;
}

void bgm__winograd_tile_sources(const bgm__window *g, const float *img, int64_t y0,
                                int64_t x0, int side, const float *zero, const float **src)
{
    /* rows and columns checked once each, not per element: on small
     * images this table costs as much as the transform it feeds */
    const int64_t h = g->h, w = g->w, c = g->c, top = g->pad_top, left = g->pad_left;
    int64_t col[6];
    int i, j, inside = 1;
    for (j = 0; j < side; j++) {
        int64_t xx = x0 + j - left;
        col[j] = xx >= 0 && xx < w ? xx * c : -1;
        inside &= col[j] >= 0;
    }
    for (i = 0; i < side; i++) {
        const int64_t yy = y0 + i - top;
        const float **row = src + i * side, *line = img + yy * w * c;
        if (yy < 0 || yy >= h) {
            for (j = 0; j < side; j++)
                row[j] = zero;
        } else if (inside) { /* most tiles: no branch per element */
            for (j = 0; j < side; j++)
                row[j] = line + col[j];
        } else {
            for (j = 0; j < side; j++)
                row[j] = col[j] >= 0 ? line + col[j] : zero;
        }
    }
}

int bgm__winograd_tile_outputs(const bgm__window *g, int64_t f, int m, int64_t at, int64_t y0,
                               int64_t x0, float *y, const bgm__gemm_epilogue *ep,
                               float **out, const float **res, int *nc)
{
    const int64_t ow = g->ow;
    const float *r = ep ? ep->res : NULL;
    int nr = g->oh - y0 < m ? (int)(g->oh - y0) : m, a, b;
    int64_t col[4];
    *nc = ow - x0 < m ? (int)(ow - x0) : m;
    /* clamped inside the image: written only when a < nr, b < nc */
    for (b = 0; b < m; b++)
        col[b] = (x0 + (b < *nc ? b : 0)) * f;
    for (a = 0; a < m; a++) {
        const int64_t row = (at + (y0 + (a < nr ? a : 0)) * ow) * f;
        for (b = 0; b < m; b++)
            out[a * m + b] = y + row + col[b];
        if (r)
            for (b = 0; b < m; b++)
                res[a * m + b] = r + row + col[b];
    }
    return nr;
}

void bgm__winograd_tile_grads(const bgm__window *g, int64_t f, int m, int64_t n, int64_t y0,
                              int64_t x0, const float *gy, const float **dy)
{
    int a, b;
    for (a = 0; a < m; a++)
        for (b = 0; b < m; b++) {
            const int64_t oy = y0 + a, ox = x0 + b;
            dy[a * m + b] =
                oy < g->oh && ox < g->ow ? gy + ((n * g->oh + oy) * g->ow + ox) * f : NULL;
        }
}

#if defined(__x86_64__) && defined(__GNUC__)

const bgm__winograd_path *bgm__winograd_path_in_use(void)
{
    switch (bgm__isa()) {
    case BGM__ISA_AVX512: return &bgm__winograd_avx512;
    case BGM__ISA_AVX2: return &bgm__winograd_avx2;
    default: return NULL;
    }
}

#else /* plain C transforms of F(2x2, 3x3) (not used: no own SGEMM here) */

static void input_tile(const float *const *src, int64_t c, float *v, int64_t vs)
{
    int64_t ch;
    for (ch = 0; ch < c; ch++) {
        float d[4][4], t[4][4];
        int i;
        for (i = 0; i < 16; i++)
            d[i / 4][i % 4] = src[i][ch];
        for (i = 0; i < 4; i++) {
            t[0][i] = d[0][i] - d[2][i];
            t[1][i] = d[1][i] + d[2][i];
            t[2][i] = d[2][i] - d[1][i];
            t[3][i] = d[1][i] - d[3][i];
        }
        for (i = 0; i < 4; i++) {
            v[(i * 4 + 0) * vs + ch] = t[i][0] - t[i][2];
            v[(i * 4 + 1) * vs + ch] = t[i][1] + t[i][2];
            v[(i * 4 + 2) * vs + ch] = t[i][2] - t[i][1];
            v[(i * 4 + 3) * vs + ch] = t[i][1] - t[i][3];
        }
    }
}

static void output_tile(const float *m, int64_t ms, int64_t f, int nr, int nc,
                        float *const *out, const float *const *res, const float *bias,
                        int relu)
{
    int64_t fo;
    for (fo = 0; fo < f; fo++) {
        float q[4][4], t[2][4], y[4];
        int i;
        for (i = 0; i < 16; i++)
            q[i / 4][i % 4] = m[i * ms + fo];
        for (i = 0; i < 4; i++) {
            t[0][i] = q[0][i] + q[1][i] + q[2][i];
            t[1][i] = q[1][i] - q[2][i] - q[3][i];
        }
        for (i = 0; i < 2; i++) {
            y[2 * i] = t[i][0] + t[i][1] + t[i][2];
            y[2 * i + 1] = t[i][1] - t[i][2] - t[i][3];
        }
        for (i = 0; i < 4; i++) {
            float o = y[i];
            if (i / 2 >= nr || i % 2 >= nc)
                continue;
            if (bias)
                o += bias[fo];
            if (res)
                o += res[i][fo];
            if (relu)
                o = o > 0.0f ? o : 0.0f;
            out[i][fo] = o;
        }
    }
}

static void grad_tile(const float *const *dy, int64_t f, float *m, int64_t ms)
{
    int64_t fo;
    for (fo = 0; fo < f; fo++) {
        float y[4], t[4][2];
        int i;
        for (i = 0; i < 4; i++)
            y[i] = dy[i] ? dy[i][fo] : 0.0f;
        for (i = 0; i < 2; i++) {
            t[0][i] = y[i];
            t[1][i] = y[i] + y[2 + i];
            t[2][i] = y[i] - y[2 + i];
            t[3][i] = -y[2 + i];
        }
        for (i = 0; i < 4; i++) {
            m[(4 * i) * ms + fo] = t[i][0];
            m[(4 * i + 1) * ms + fo] = t[i][0] + t[i][1];
            m[(4 * i + 2) * ms + fo] = t[i][0] - t[i][1];
            m[(4 * i + 3) * ms + fo] = -t[i][1];
        }
    }
}

static void kernel_transform(const float *w, int64_t cf, int64_t begin, int64_t end, float *u)
{
    int64_t e;
    for (e = begin; e < end; e++) {
        float t[4][3];
        int i;
        for (i = 0; i < 3; i++) {
            float x0 = w[i * cf + e], x1 = w[(3 + i) * cf + e], x2 = w[(6 + i) * cf + e];
            t[0][i] = x0;
            t[1][i] = 0.5f * (x0 + x1 + x2);
            t[2][i] = 0.5f * (x0 - x1 + x2);
            t[3][i] = x2;
        }
        for (i = 0; i < 4; i++) {
            u[(i * 4) * cf + e] = t[i][0];
            u[(i * 4 + 1) * cf + e] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[(i * 4 + 2) * cf + e] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[(i * 4 + 3) * cf + e] = t[i][2];
        }
    }
}

static void kernel_grad(const float *restrict du, int64_t cf, int64_t begin, int64_t end,
                        float *restrict gw)
{
    int64_t e, i, j;
    for (e = begin; e < end; e++) {
        float q[4][4], t[3][4];
        for (i = 0; i < 4; i++)
            for (j = 0; j < 4; j++)
                q[i][j] = du[(i * 4 + j) * cf + e];
        for (j = 0; j < 4; j++) { /* t = G^T q */
            t[0][j] = q[0][j] + 0.5f * (q[1][j] + q[2][j]);
            t[1][j] = 0.5f * (q[1][j] - q[2][j]);
            t[2][j] = 0.5f * (q[1][j] + q[2][j]) + q[3][j];
        }
        for (i = 0; i < 3; i++) { /* gw += t G */
            gw[(i * 3 + 0) * cf + e] += t[i][0] + 0.5f * (t[i][1] + t[i][2]);
            gw[(i * 3 + 1) * cf + e] += 0.5f * (t[i][1] - t[i][2]);
            gw[(i * 3 + 2) * cf + e] += 0.5f * (t[i][1] + t[i][2]) + t[i][3];
        }
    }
}

const bgm__winograd_path *bgm__winograd_path_in_use(void)
{
    static const bgm__winograd_path plain = {input_tile, output_tile, grad_tile, kernel_transform,
                                             kernel_grad, NULL, NULL, NULL, NULL, NULL};
    return &plain;
}

#endif

/* v (16, count * tiles, c) = the input transform of every tile of the
 * count images at x under g; zero: c floats of scratch. */
static void input_images(const bgm__window *g, int64_t count, const float *x, float *v,
                         float *zero)
{
    const bgm__winograd_path *p = bgm__winograd_path_in_use();
    const int64_t c = g->c, tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2, nt = tw * th;
    int64_t n, ty, tx;
    memset(zero, 0, (size_t)c * sizeof *zero);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                const float *src[16];
                bgm__winograd_tile_sources(g, x + n * g->h * g->w * c, 2 * ty, 2 * tx, 4, zero,
                                           src);
                p->input2(src, c, v + ((n * th + ty) * tw + tx) * c, count * nt * c);
            }
}

/* The 16 products of a Winograd pass: m[e] (nt x f) = v[e] (nt x c) u[e]. */
typedef struct wino_products {
    int64_t nt, f, c;
    const float *v, *u;
    float *m;
} wino_products;

static void products_range(void *ctx, int64_t begin, int64_t end)
{
    const wino_products *w = ctx;
    int64_t e;
    for (e = begin; e < end; e++)
        bgm__gemm(0, 0, w->nt, w->f, w->c, 1.0f, w->v + e * w->nt * w->c, w->c,
                  w->u + e * w->c * w->f, w->f, 0.0f, w->m + e * w->nt * w->f, w->f);
}

void bgm__winograd_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                          const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws)
{
    const int64_t c = g->c, tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2, nt = count * tw * th;
    const bgm__winograd_path *p = bgm__winograd_path_in_use();
    float *v = ws, *m = v + 16 * nt * c, *zero = m + 16 * nt * f;
    int64_t n, ty, tx;
    wino_products prod = {nt, f, c, v, u, m};
    input_images(g, count, x, v, zero);
    /* over the pool when it is free (a batch too small to split by images);
     * the same products either way */
    bgm__parallel_for(16, 1, products_range, &prod);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                float *out[4];
                const float *res[4];
                int nc, nr = bgm__winograd_tile_outputs(g, f, 2, n * g->oh * g->ow, 2 * ty,
                                                        2 * tx, y, ep, out, res, &nc);
                p->output2(m + ((n * th + ty) * tw + tx) * f, nt * f, f, nr, nc, out,
                           ep && ep->res ? res : NULL, ep ? ep->bias : NULL,
                           ep ? ep->relu : 0);
            }
}

/* A kernel transform of the pairs [begin, end), for bgm__parallel_for. */
typedef struct kernel_job {
    bgm__winograd_kernel_fn fn;
    const float *w;
    int64_t cf;
    float *u;
} kernel_job;

static void kernel_range(void *ctx, int64_t begin, int64_t end)
{
    const kernel_job *j = ctx;
    j->fn(j->w, j->cf, begin, end, j->u);
}

void bgm__winograd_kernel_with(bgm__winograd_kernel_fn fn, const float *w, int64_t c, int64_t f,
                               float *u)
{
    kernel_job j = {fn, w, c * f, u};
    /* made on every call (never stale); it runs before the images are
     * split, so it would hold the other threads up */
    bgm__parallel_for(c * f, WINO_KERNEL_PIECE, kernel_range, &j);
}

void bgm__winograd_kernel(const float *w, int64_t c, int64_t f, float *u)
{
    bgm__winograd_kernel_with(bgm__winograd_path_in_use()->kernel2, w, c, f, u);
}

void bgm__winograd_kernel_grad_images(const bgm__window *g, int64_t f, int64_t count,
                                      const float *x, const float *gy, float *du, float *ws)
{
    const int64_t c = g->c, tw = (g->ow + 1) / 2, th = (g->oh + 1) / 2, nt = count * tw * th;
    const bgm__winograd_path *p = bgm__winograd_path_in_use();
    float *v = ws, *m = v + 16 * nt * c, *zero = m + 16 * nt * f;
    int64_t n, ty, tx, e;
    input_images(g, count, x, v, zero);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                const float *dy[4];
                bgm__winograd_tile_grads(g, f, 2, n, 2 * ty, 2 * tx, gy, dy);
                p->grad2(dy, f, m + ((n * th + ty) * tw + tx) * f, nt * f);
            }
    for (e = 0; e < 16; e++)
        bgm__gemm(1, 0, c, f, nt, 1.0f, v + e * nt * c, c, m + e * nt * f, f, 1.0f,
                  du + e * c * f, f);
}

/* The slots' sums and the kernel gradient of the pairs [begin, end). */
typedef struct kernel_grad_job {
    bgm__winograd_kernel_grad_fn fn;
    int64_t elements, slots, cf;
    float *du, *gw;
} kernel_grad_job;

static void kernel_grad_range(void *ctx, int64_t begin, int64_t end)
{
    const kernel_grad_job *j = ctx;
    const int64_t size = j->elements * j->cf;
    int64_t s, e;
    for (s = 1; s < j->slots; s++)
        for (e = 0; e < j->elements; e++)
            bgm__bias_add_rows(j->du + e * j->cf + begin, j->du + s * size + e * j->cf + begin,
                               1, end - begin);
    j->fn(j->du, j->cf, begin, end, j->gw);
}

void bgm__winograd_kernel_grad_slots(bgm__winograd_kernel_grad_fn fn, int m, float *du,
                                     int64_t slots, int64_t c, int64_t f, float *gw)
{
    kernel_grad_job j = {fn, (int64_t)(m + 2) * (m + 2), slots, c * f, du, gw};
    bgm__parallel_for(c * f, WINO_KERNEL_PIECE, kernel_grad_range, &j);
}
