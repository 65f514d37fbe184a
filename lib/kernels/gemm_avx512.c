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
#define KC_PACKED 128           /* k per packed panel of a transposed B: 16 KiB */

#define AVX512 __attribute__((target("avx512f")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/*
 * C[0..mr)[columns of m0, m1] = alpha * sum over kk of op(A)(r, kk) *
 * B(kk, :) + beta * C, with op(A)(r, kk) at a[r * ars + kk * aks] and row kk
 * of B at b + kk * ldb. Columns outside the masks are neither read nor
 * written. beta == 0 ignores C's old contents. Inlined with a constant mr,
 * so the accumulators are registers.
 */
AVX512 ALWAYS_INLINE void tile(int mr, int64_t k, const float *a, int64_t ars, int64_t aks,
                               const float *b, int64_t ldb, __mmask16 m0, __mmask16 m1,
                               float alpha, float beta, float *c, int64_t ldc)
{
    __m512 acc0[MR], acc1[MR];
    int64_t kk;
    int r;
#pragma GCC unroll 12
    for (r = 0; r < MR; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    for (kk = 0; kk < k; kk++) {
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, b + kk * ldb);
        const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + kk * ldb + 16);
        const float *ak = a + kk * aks;
#pragma GCC unroll 12
        for (r = 0; r < MR; r++) {
            if (r < mr) {
                const __m512 av = _mm512_set1_ps(ak[r * ars]);
                acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
            }
        }
    }
#pragma GCC unroll 12
    for (r = 0; r < MR; r++) {
        if (r < mr) {
            float *cr = c + r * ldc;
            __m512 o0 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc0[r]);
            __m512 o1 = _mm512_mul_ps(_mm512_set1_ps(alpha), acc1[r]);
            if (beta != 0.0f) {
                const __m512 vb = _mm512_set1_ps(beta);
                o0 = _mm512_add_ps(o0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, cr)));
                o1 = _mm512_add_ps(o1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16)));
            }
            _mm512_mask_storeu_ps(cr, m0, o0);
            _mm512_mask_storeu_ps(cr + 16, m1, o1);
        }
    }
}

#define TILE_CASE(R)                                                                   \
    case R:                                                                            \
        tile(R, k, a, ars, aks, b, ldb, m0, m1, alpha, beta, c, ldc);                  \
        break;

/* tile() for mr in 1..12, each case compiled with its own register set. */
AVX512 static void tile_rows(int mr, int64_t k, const float *a, int64_t ars, int64_t aks,
                             const float *b, int64_t ldb, __mmask16 m0, __mmask16 m1,
                             float alpha, float beta, float *c, int64_t ldc)
{
    switch (mr) {
    TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
    TILE_CASE(7) TILE_CASE(8) TILE_CASE(9) TILE_CASE(10) TILE_CASE(11) TILE_CASE(12)
    default: break;
    }
}

#undef TILE_CASE

/* The masks of the first nr (1..32) columns of a tile. */
static void column_masks(int64_t nr, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    *m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
}

/* Every tile of C against one block of columns [j0, j0 + nr) whose rows of
 * op(B) are at b + kk * ldb. */
AVX512 static void column_block(int64_t m, int64_t nr, int64_t k, float alpha,
                                const float *a, int64_t ars, int64_t aks, const float *b,
                                int64_t ldb, float beta, float *c, int64_t ldc)
{
    __mmask16 m0, m1;
    int64_t i;
    column_masks(nr, &m0, &m1);
    for (i = 0; i < m; i += MR) {
        int mr = m - i < MR ? (int)(m - i) : MR;
        tile_rows(mr, k, a + i * ars, ars, aks, b, ldb, m0, m1, alpha, beta, c + i * ldc,
                  ldc);
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
                               int64_t ldb, float beta, float *c, int64_t ldc)
{
    const int64_t ars = trans_a ? 1 : lda, aks = trans_a ? lda : 1;
    int64_t j;
    if (!trans_b) {
        for (j = 0; j < n; j += NR)
            column_block(m, n - j < NR ? n - j : NR, k, alpha, a, ars, aks, b + j, ldb,
                         beta, c + j, ldc);
        return;
    }
    for (j = 0; j < n; j += NR) {
        float panel[KC_PACKED * NR] __attribute__((aligned(64)));
        int64_t nr = n - j < NR ? n - j : NR, k0;
        for (k0 = 0; k0 < k; k0 += KC_PACKED) {
            int64_t kc = k - k0 < KC_PACKED ? k - k0 : KC_PACKED;
            pack_transposed(panel, b + j * ldb + k0, ldb, nr, kc);
            /* Later blocks of k add to what the first wrote. */
            column_block(m, nr, kc, alpha, a + k0 * aks, ars, aks, panel, NR,
                         k0 == 0 ? beta : 1.0f, c + j, ldc);
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
    gemm_avx512(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 1;
}

#else

int bgm__gemm_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                     float *c, int64_t ldc)
{
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k, (void)alpha, (void)a;
    (void)lda, (void)b, (void)ldb, (void)beta, (void)c, (void)ldc;
    return 0;
}

#endif
