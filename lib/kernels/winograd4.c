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
 * 1e-7 for F(2x2, 3x3)), which is why training keeps F(2x2, 3x3).
 */
#include "winograd.h"

#include <string.h>

#include "gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define ADD _mm512_add_ps
#define SUB _mm512_sub_ps
#define FMA _mm512_fmadd_ps
#define FNMA _mm512_fnmadd_ps
#define SET1 _mm512_set1_ps

int bgm__winograd4_available(void) { return 1; }

static inline __mmask16 lanes4(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* o[0..6) = B^T x[0..6), x[k] at x[k * xs]. */
AVX512 static inline void bt6(const __m512 *x, int xs, __m512 *o, int os)
{
    const __m512 four = SET1(4.0f), five = SET1(5.0f), two = SET1(2.0f);
    __m512 x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs],
           x5 = x[5 * xs];
    __m512 a = FNMA(four, x2, x4), b = FNMA(four, x1, x3); /* x4 - 4 x2, x3 - 4 x1 */
    __m512 c = SUB(x4, x2), d = _mm512_mul_ps(two, SUB(x3, x1));
    o[0] = ADD(FNMA(five, x2, x4), _mm512_mul_ps(four, x0));
    o[os] = ADD(a, b);
    o[2 * os] = SUB(a, b);
    o[3 * os] = ADD(c, d);
    o[4 * os] = SUB(c, d);
    o[5 * os] = ADD(FNMA(five, x3, x5), _mm512_mul_ps(four, x1));
}

/* v[e * vs + ch] = (B^T d B)[e] for the 6x6 block d whose element (i, j)
 * is src[i * 6 + j][ch]. */
AVX512 static void input_tile4(const float *const *src, int64_t c, float *v, int64_t vs)
{
    int64_t ch;
    for (ch = 0; ch < c; ch += 16) {
        const __mmask16 k = lanes4(c - ch);
        __m512 d[36], t[36], o[6];
        int i, j;
        for (i = 0; i < 36; i++)
            d[i] = _mm512_maskz_loadu_ps(k, src[i] + ch);
        for (j = 0; j < 6; j++) /* t = B^T d, column j */
            bt6(d + j, 6, t + j, 6);
        for (i = 0; i < 6; i++) { /* v = t B, row i */
            bt6(t + 6 * i, 1, o, 1);
            for (j = 0; j < 6; j++)
                _mm512_mask_storeu_ps(v + (6 * i + j) * vs + ch, k, o[j]);
        }
    }
}

/* o[0..4) = A^T x[0..6), x[k] at x[k * xs]. */
AVX512 static inline void at6(const __m512 *x, int xs, __m512 *o, int os)
{
    const __m512 two = SET1(2.0f), four = SET1(4.0f), eight = SET1(8.0f);
    __m512 s12 = ADD(x[xs], x[2 * xs]), d12 = SUB(x[xs], x[2 * xs]);
    __m512 s34 = ADD(x[3 * xs], x[4 * xs]), d34 = SUB(x[3 * xs], x[4 * xs]);
    o[0] = ADD(ADD(x[0], s12), s34);
    o[os] = FMA(two, d34, d12);
    o[2 * os] = FMA(four, s34, s12);
    o[3 * os] = ADD(FMA(eight, d34, d12), x[5 * xs]);
}

/* The 4x4 outputs of one tile, rows < nr and columns < nc of them, from
 * m[e * ms + fo]; out[a * 4 + b] is where output (a, b) goes, res[a * 4 +
 * b] its residual (or res NULL), the bias before it and ReLU after. */
AVX512 static void output_tile4(const float *m, int64_t ms, int64_t f, int nr, int nc,
                                float *const *out, const float *const *res,
                                const float *bias, int relu)
{
    int64_t fo;
    for (fo = 0; fo < f; fo += 16) {
        const __mmask16 k = lanes4(f - fo);
        __m512 q[36], t[24], y[16];
        int i;
        for (i = 0; i < 36; i++)
            q[i] = _mm512_maskz_loadu_ps(k, m + i * ms + fo);
        for (i = 0; i < 6; i++) /* t = A^T q, column i */
            at6(q + i, 6, t + i, 6);
        for (i = 0; i < 4; i++) /* y = t A, row i */
            at6(t + 6 * i, 1, y + 4 * i, 1);
        for (i = 0; i < 16; i++) {
            __m512 o = y[i];
            if (i / 4 >= nr || i % 4 >= nc)
                continue;
            if (bias)
                o = ADD(o, _mm512_maskz_loadu_ps(k, bias + fo));
            if (res)
                o = ADD(o, _mm512_maskz_loadu_ps(k, res[i] + fo));
            if (relu) /* max with 0 gives 0 for NaN, as the ReLU kernel */
                o = _mm512_max_ps(o, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(out[i] + fo, k, o);
        }
    }
}

/* o[0..6) = G x[0..3). */
AVX512 static inline void g6(__m512 x0, __m512 x1, __m512 x2, __m512 *o, int os)
{
    const __m512 s = ADD(x0, x2), a = _mm512_mul_ps(SET1(1.0f / 24.0f), x0);
    const __m512 b = _mm512_mul_ps(SET1(1.0f / 12.0f), x1);
    const __m512 c = _mm512_mul_ps(SET1(1.0f / 6.0f), x2);
    o[0] = _mm512_mul_ps(SET1(0.25f), x0);
    o[os] = _mm512_mul_ps(SET1(-1.0f / 6.0f), ADD(s, x1));
    o[2 * os] = _mm512_mul_ps(SET1(-1.0f / 6.0f), SUB(s, x1));
    o[3 * os] = ADD(ADD(a, b), c);
    o[4 * os] = ADD(SUB(a, b), c);
    o[5 * os] = x2;
}

AVX512 static void kernel_transform4(const float *w, int64_t c, int64_t f, float *u)
{
    const int64_t cf = c * f;
    int64_t e;
    for (e = 0; e < cf; e += 16) {
        const __mmask16 k = lanes4(cf - e);
        __m512 t[18], o[6]; /* t[row * 3 + column] */
        int i, j;
        for (j = 0; j < 3; j++) /* t = G g, column j */
            g6(_mm512_maskz_loadu_ps(k, w + j * cf + e),
               _mm512_maskz_loadu_ps(k, w + (3 + j) * cf + e),
               _mm512_maskz_loadu_ps(k, w + (6 + j) * cf + e), t + j, 3);
        for (i = 0; i < 6; i++) { /* u = t G^T, row i */
            g6(t[3 * i], t[3 * i + 1], t[3 * i + 2], o, 1);
            for (j = 0; j < 6; j++)
                _mm512_mask_storeu_ps(u + (6 * i + j) * cf + e, k, o[j]);
        }
    }
}

void bgm__winograd4_kernel(const float *w, int64_t c, int64_t f, float *u)
{
    kernel_transform4(w, c, f, u);
}

void bgm__winograd4_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                           const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws)
{
    const int64_t c = g->c, tw = (g->ow + 3) / 4, th = (g->oh + 3) / 4, nt = count * tw * th;
    float *v = ws, *m = v + 36 * nt * c, *zero = m + 36 * nt * f;
    int64_t n, ty, tx, e;
    memset(zero, 0, (size_t)c * sizeof *zero);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                const float *src[36];
                bgm__winograd_tile_sources(g, x + n * g->h * g->w * c, 4 * ty, 4 * tx, 6, zero,
                                           src);
                input_tile4(src, c, v + ((n * th + ty) * tw + tx) * 36 * c, c);
            }
    for (e = 0; e < 36; e++)
        bgm__gemm(0, 0, nt, f, c, 1.0f, v + e * c, 36 * c, u + e * c * f, f, 0.0f, m + e * f,
                  36 * f);
    for (n = 0; n < count; n++)
        for (ty = 0; ty < th; ty++)
            for (tx = 0; tx < tw; tx++) {
                float *out[16];
                const float *res[16];
                int nc, nr = bgm__winograd_tile_outputs(g, f, 4, n * g->oh * g->ow, 4 * ty,
                                                        4 * tx, y, ep, out, res, &nc);
                output_tile4(m + ((n * th + ty) * tw + tx) * 36 * f, f, f, nr, nc, out,
                             ep && ep->res ? res : NULL, ep ? ep->bias : NULL,
                             ep ? ep->relu : 0);
            }
}

#else /* F(4x4, 3x3) runs on the AVX-512 path only */

int bgm__winograd4_available(void) { return 0; }

void bgm__winograd4_kernel(const float *w, int64_t c, int64_t f, float *u)
{
    (void)w, (void)c, (void)f, (void)u;
}

void bgm__winograd4_images(const bgm__window *g, int64_t f, int64_t count, const float *x,
                           const float *u, const bgm__gemm_epilogue *ep, float *y, float *ws)
{
    (void)g, (void)f, (void)count, (void)x, (void)u, (void)ep, (void)y, (void)ws;
}

#endif
