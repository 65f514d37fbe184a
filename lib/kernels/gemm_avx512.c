/*
 * Row-major SGEMM for CPUs with AVX-512 (see gemm_avx512.h).
 *
 * The products of a training step are narrow: N is a layer's width (32 or
 * 64 channels, a few hundred units) and one of M or K is short, where a
 * general BLAS spends much of its time packing operands (and a BLAS pinned
 * to an older core type, as OPENBLAS_CORETYPE=Haswell does, runs at half
 * the vector width). Here C is cut into 12 x 32 tiles; a tile keeps its 24
 * accumulators in registers for the whole of K, reading two vectors of a
 * row of op(B) and broadcasting 12 elements of op(A) per step. Row-major B
 * is read in place, and so is A whether transposed or not (12 rows of A
 * are 12 short streams; columns of a transposed A are contiguous). Only a
 * transposed B is packed, one 32-column panel at a time, into a buffer on
 * the stack. Every element of C is one sum over k in order, whatever the
 * tiling, so results do not depend on how callers split the product (a
 * transposed B longer than one panel in k adds its panels to C in turn).
 */
#include "gemm_avx512.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MR 12                   /* rows of a tile */
#define NR 32                   /* columns of a tile: two vectors */
#define MR1 24                  /* rows of a tile one vector wide (at most 16 columns) */
#define KC_PACKED 128           /* k per packed panel of a transposed B: 16 KiB */

#define AVX512 __attribute__((target("avx512f")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* o, the vector of row r at column col of a tile, through the epilogue:
 * + bias, + the residual, then ReLU (max with 0 gives 0 for NaN, as the
 * ReLU kernel does). ep's pointers start at the tile's first row and column. */
AVX512 ALWAYS_INLINE __m512 epilogue(const bgm__gemm_epilogue *ep, int r, int col,
                                     __mmask16 mask, __m512 o)
{
    if (ep->bias)
        o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(mask, ep->bias + col));
    if (ep->res)
        o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(mask, ep->res + r * ep->ldres + col));
    if (ep->relu)
        o = _mm512_max_ps(o, _mm512_setzero_ps());
    return o;
}

/*
 * C[0..mr)[columns of m0, m1] = alpha * sum over kk of op(A)(r, kk) *
 * B(kk, :) + beta * C, with row kk of B at b + kk * ldb, and op(A)(r, kk)
 * at a[r * ars + kk * aks], or with gather at a[rtab[r] + ktab[kk]]. nv is
 * the number of vectors per row (2, or 1 for a block of at most 16
 * columns, where m1 is empty). Columns outside the masks are neither read
 * nor written. beta == 0 ignores C's old contents. Inlined with constant
 * mr, nv and gather, so the accumulators are registers.
 */
AVX512 ALWAYS_INLINE void tile(int mr, int nv, int gather, int64_t k, const float *a,
                               int64_t ars, int64_t aks, const int64_t *rtab,
                               const int64_t *ktab, const float *b, int64_t ldb, __mmask16 m0,
                               __mmask16 m1, float alpha, float beta, float *c, int64_t ldc,
                               const bgm__gemm_epilogue *ep)
{
    __m512 acc0[MR1], acc1[MR];
    int64_t kk, roff[MR1];
    int r;
#pragma GCC unroll 24
    for (r = 0; r < MR1; r++) {
        acc0[r] = _mm512_setzero_ps();
        if (r < MR)
            acc1[r] = _mm512_setzero_ps();
        roff[r] = gather && r < mr ? rtab[r] : r * ars;
    }
    for (kk = 0; kk < k; kk++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + kk * ldb);
        const __m512 b1 = nv == 2 ? _mm512_maskz_loadu_ps(m1, b + kk * ldb + 16) : b0;
        const float *ak = gather ? a + ktab[kk] : a + kk * aks;
#pragma GCC unroll 24
        for (r = 0; r < MR1; r++) {
            if (r < mr) {
                const __m512 av = _mm512_set1_ps(ak[roff[r]]);
                acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
                if (nv == 2 && r < MR)
                    acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
            }
        }
    }
#pragma GCC unroll 24
    for (r = 0; r < MR1; r++) {
        if (r < mr) {
            float *cr = c + r * ldc;
            __m512 o0 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc0[r]);
            if (beta != 0.0f)
                o0 = _mm512_add_ps(o0, _mm512_mul_ps(_mm512_set1_ps(beta),
                                                     _mm512_maskz_loadu_ps(m0, cr)));
            if (ep)
                o0 = epilogue(ep, r, 0, m0, o0);
            _mm512_mask_storeu_ps(cr, m0, o0);
            if (nv == 2 && r < MR) {
                __m512 o1 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc1[r]);
                if (beta != 0.0f)
                    o1 = _mm512_add_ps(o1, _mm512_mul_ps(_mm512_set1_ps(beta),
                                                         _mm512_maskz_loadu_ps(m1, cr + 16)));
                if (ep)
                    o1 = epilogue(ep, r, 16, m1, o1);
                _mm512_mask_storeu_ps(cr + 16, m1, o1);
            }
        }
    }
}

#define TILE_CASE(R, NV, G, E)                                                         \
    case R:                                                                            \
        tile(R, NV, G, k, a, ars, aks, rtab, ktab, b, ldb, m0, m1, alpha, beta, c, ldc, E); \
        break;
#define TILE_CASES_12(NV, G, E)                                                        \
    TILE_CASE(1, NV, G, E) TILE_CASE(2, NV, G, E) TILE_CASE(3, NV, G, E)                 \
    TILE_CASE(4, NV, G, E) TILE_CASE(5, NV, G, E) TILE_CASE(6, NV, G, E)                 \
    TILE_CASE(7, NV, G, E) TILE_CASE(8, NV, G, E) TILE_CASE(9, NV, G, E)                 \
    TILE_CASE(10, NV, G, E) TILE_CASE(11, NV, G, E) TILE_CASE(12, NV, G, E)
#define TILE_CASES_24(NV, G, E)                                                        \
    TILE_CASES_12(NV, G, E)                                                            \
    TILE_CASE(13, NV, G, E) TILE_CASE(14, NV, G, E) TILE_CASE(15, NV, G, E)              \
    TILE_CASE(16, NV, G, E) TILE_CASE(17, NV, G, E) TILE_CASE(18, NV, G, E)              \
    TILE_CASE(19, NV, G, E) TILE_CASE(20, NV, G, E) TILE_CASE(21, NV, G, E)              \
    TILE_CASE(22, NV, G, E) TILE_CASE(23, NV, G, E) TILE_CASE(24, NV, G, E)

/* tile() for every mr of one (nv, gather) pair, each case compiled with its
 * own register set, and twice: with the epilogue and, for plain products,
 * with none at all (not even its test in the stores). */
#define DEFINE_TILE_ROWS(NAME, CASES, NV, G)                                           \
    AVX512 static void NAME(int mr, int64_t k, const float *a, int64_t ars, int64_t aks, \
                            const int64_t *rtab, const int64_t *ktab, const float *b,   \
                            int64_t ldb, __mmask16 m0, __mmask16 m1, float alpha,       \
                            float beta, float *c, int64_t ldc,                          \
                            const bgm__gemm_epilogue *ep)                               \
    {                                                                                  \
        if (ep) {                                                                      \
            switch (mr) {                                                              \
            CASES(NV, G, ep)                                                           \
            default: break;                                                            \
            }                                                                          \
            return;                                                                    \
        }                                                                              \
        switch (mr) {                                                                  \
        CASES(NV, G, NULL)                                                             \
        default: break;                                                                \
        }                                                                              \
    }

DEFINE_TILE_ROWS(tile_rows, TILE_CASES_12, 2, 0)
DEFINE_TILE_ROWS(tile_rows_narrow, TILE_CASES_24, 1, 0)
DEFINE_TILE_ROWS(tile_rows_gather, TILE_CASES_12, 2, 1)
DEFINE_TILE_ROWS(tile_rows_narrow_gather, TILE_CASES_24, 1, 1)

#undef DEFINE_TILE_ROWS
#undef TILE_CASES_24
#undef TILE_CASES_12
#undef TILE_CASE

/* The masks of the first nr (1..32) columns of a tile. */
static void column_masks(int64_t nr, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    *m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
}

/* ep moved to the column block starting at column j (NULL stays NULL). */
static const bgm__gemm_epilogue *ep_at(const bgm__gemm_epilogue *ep, int64_t j,
                                       bgm__gemm_epilogue *buf)
{
    if (!ep)
        return NULL;
    *buf = *ep;
    if (buf->bias)
        buf->bias += j;
    if (buf->res)
        buf->res += j;
    return buf;
}

/* Every tile of C against one block of columns [j0, j0 + nr) whose rows of
 * op(B) are at b + kk * ldb; op(A) is addressed as in tile(), by rtab and
 * ktab when rtab is not NULL. */
AVX512 static void column_block(int64_t m, int64_t nr, int64_t k, float alpha,
                                const float *a, int64_t ars, int64_t aks,
                                const int64_t *rtab, const int64_t *ktab, const float *b,
                                int64_t ldb, float beta, float *c, int64_t ldc,
                                const bgm__gemm_epilogue *ep)
{
    bgm__gemm_epilogue e, *tep = NULL;
    __mmask16 m0, m1;
    int64_t i;
    column_masks(nr, &m0, &m1);
    if (ep) {
        e = *ep;
        tep = &e;
    }
    if (nr <= 16) {
        /* A block of one vector: twice the rows keep the FMA units as busy. */
        for (i = 0; i < m; i += MR1) {
            int mr = m - i < MR1 ? (int)(m - i) : MR1;
            if (ep && ep->res)
                e.res = ep->res + i * ep->ldres;
            if (rtab)
                tile_rows_narrow_gather(mr, k, a, 0, 0, rtab + i, ktab, b, ldb, m0, 0, alpha,
                                        beta, c + i * ldc, ldc, tep);
            else
                tile_rows_narrow(mr, k, a + i * ars, ars, aks, NULL, NULL, b, ldb, m0, 0,
                                 alpha, beta, c + i * ldc, ldc, tep);
        }
        return;
    }
    for (i = 0; i < m; i += MR) {
        int mr = m - i < MR ? (int)(m - i) : MR;
        if (ep && ep->res)
            e.res = ep->res + i * ep->ldres;
        if (rtab)
            tile_rows_gather(mr, k, a, 0, 0, rtab + i, ktab, b, ldb, m0, m1, alpha, beta,
                             c + i * ldc, ldc, tep);
        else
            tile_rows(mr, k, a + i * ars, ars, aks, NULL, NULL, b, ldb, m0, m1, alpha, beta,
                      c + i * ldc, ldc, tep);
    }
}

/* panel[kk * NR + jj] = B(j0 + jj, k0 + kk) for jj < nr, kk < kc, where B is
 * stored (n, k) with row stride ldb: the transpose of a 32-row strip. */
AVX512 static void pack_transposed(float *panel, const float *b, int64_t ldb, int64_t nr,
                                   int64_t kc)
{
    int64_t jj, kk;
    for (jj = 0; jj < nr; jj++) {
        const float *row = b + jj * ldb;
        for (kk = 0; kk < kc; kk++)
            panel[kk * NR + jj] = row[kk];
    }
}

AVX512 static void gemm_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc,
                               const bgm__gemm_epilogue *ep)
{
    const int64_t ars = trans_a ? 1 : lda, aks = trans_a ? lda : 1;
    bgm__gemm_epilogue e;
    int64_t j;
    if (!trans_b) {
        for (j = 0; j < n; j += NR)
            column_block(m, n - j < NR ? n - j : NR, k, alpha, a, ars, aks, NULL, NULL,
                         b + j, ldb, beta, c + j, ldc, ep_at(ep, j, &e));
        return;
    }
    for (j = 0; j < n; j += NR) {
        float panel[KC_PACKED * NR] __attribute__((aligned(64)));
        int64_t nr = n - j < NR ? n - j : NR, k0;
        for (k0 = 0; k0 < k; k0 += KC_PACKED) {
            int64_t kc = k - k0 < KC_PACKED ? k - k0 : KC_PACKED;
            pack_transposed(panel, b + j * ldb + k0, ldb, nr, kc);
            /* Later blocks of k add to what the first wrote. */
            column_block(m, nr, kc, alpha, a + k0 * aks, ars, aks, NULL, NULL, panel, NR,
                         k0 == 0 ? beta : 1.0f, c + j, ldc, NULL);
        }
    }
}

static pthread_once_t choice_once = PTHREAD_ONCE_INIT;
static int use_avx512;

/* Once per process: the CPU has AVX-512F and BIGMODEL_GEMM is not "blas". */
static void choose(void)
{
    const char *env = getenv("BIGMODEL_GEMM");
    __builtin_cpu_init(); /* needed when called before constructors ran */
    use_avx512 = __builtin_cpu_supports("avx512f") && !(env && strcmp(env, "blas") == 0);
}

int bgm__gemm_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                     float *c, int64_t ldc)
{
    pthread_once(&choice_once, choose);
    /* Packing a transposed B pays off only over enough rows of A. */
    if (!use_avx512 || (trans_a && trans_b) || (trans_b && m < MR))
        return 0;
    gemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, NULL);
    return 1;
}

int bgm__gemm_avx512_ep(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *c, int64_t ldc,
                        const bgm__gemm_epilogue *ep)
{
    if (!bgm__gemm_avx512_gather_available())
        return 0;
    gemm_avx512(0, 0, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc, ep);
    return 1;
}

int bgm__gemm_avx512_gather_ep(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                               const int64_t *rtab, const int64_t *ktab, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc,
                               const bgm__gemm_epilogue *ep)
{
    bgm__gemm_epilogue e;
    int64_t j;
    if (!bgm__gemm_avx512_gather_available())
        return 0;
    for (j = 0; j < n; j += NR)
        column_block(m, n - j < NR ? n - j : NR, k, alpha, a, 0, 0, rtab, ktab, b + j, ldb,
                     beta, c + j, ldc, ep_at(ep, j, &e));
    return 1;
}

int bgm__gemm_avx512_gather(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            const int64_t *rtab, const int64_t *ktab, const float *b,
                            int64_t ldb, float beta, float *c, int64_t ldc)
{
    return bgm__gemm_avx512_gather_ep(m, n, k, alpha, a, rtab, ktab, b, ldb, beta, c, ldc,
                                      NULL);
}

int bgm__gemm_avx512_gather_available(void)
{
    pthread_once(&choice_once, choose);
    return use_avx512;
}

#else

int bgm__gemm_avx512_gather(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            const int64_t *rtab, const int64_t *ktab, const float *b,
                            int64_t ldb, float beta, float *c, int64_t ldc)
{
    (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)rtab, (void)ktab, (void)b;
    (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
}

int bgm__gemm_avx512_gather_available(void) { return 0; }

int bgm__gemm_avx512_ep(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *c, int64_t ldc,
                        const bgm__gemm_epilogue *ep)
{
    (void)m, (void)n, (void)k, (void)a, (void)lda, (void)b, (void)ldb, (void)c, (void)ldc;
    (void)ep;
    return 0;
}

int bgm__gemm_avx512_gather_ep(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                               const int64_t *rtab, const int64_t *ktab, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc,
                               const bgm__gemm_epilogue *ep)
{
    (void)ep;
    return bgm__gemm_avx512_gather(m, n, k, alpha, a, rtab, ktab, b, ldb, beta, c, ldc);
}

int bgm__gemm_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                     float *c, int64_t ldc)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a;
    (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
}

#endif
