/*
 * SGEMM kernels of the library's own, for CPUs with AVX-512 or AVX2 + FMA
 * (isa.h picks the path), which kernels/gemm.c prefers to BLAS for the
 * narrow products of neural networks (see gemm_tiles.h for why and how).
 * Both paths compute every element of C as the same sequence of fused
 * multiply-adds, so they give the same bits.
 */
#ifndef BGM_KERNELS_GEMM_OWN_H
#define BGM_KERNELS_GEMM_OWN_H

#include <stdint.h>

/*
 * What a product's tiles do to each row of C before storing it (fused
 * layers): C[r, j] = act(C[r, j] + bias[j] + res[r * ldres + j]), bias and
 * res optional (NULL), act ReLU when relu (NaN gives 0, as the ReLU
 * kernel), the identity otherwise.
 */
typedef struct bgm__gemm_epilogue {
    const float *bias;
    const float *res;
    int64_t ldres;
    int relu;
} bgm__gemm_epilogue;

/*
 * C = alpha * op(A) * op(B) + beta * C with the arguments of bgm__gemm
 * (row-major, m, n, k >= 1; beta == 0 ignores C). Returns 1 when done, 0
 * when the own kernels are not in use (bgm__gemm_own_available) or for the
 * cases not covered (A and B both transposed; B transposed with fewer rows
 * of A than a tile has): the caller then uses BLAS. Single-threaded; uses
 * up to 16 KiB of stack.
 */
int bgm__gemm_own(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc);

/* C = A B (row-major, neither transposed) with ep applied as C is stored;
 * 0 when the own kernels are not in use (the caller runs BLAS and the
 * epilogue itself). */
int bgm__gemm_own_ep(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc,
                     const bgm__gemm_epilogue *ep);

/*
 * C (m x n) = alpha * A B + beta * C with A gathered: A(r, kk) =
 * a[rtab[r] + ktab[kk]] (offsets in floats), B row-major (k x n, row
 * stride ldb), read in place, then ep applied (NULL: none). A convolution
 * reads its input this way without copying patches out (rtab: where each
 * output pixel's window starts, ktab: where each (ky, kx, channel) of the
 * window lies from there), and its kernel gradient with the tables
 * swapped. Returns 1 when done, 0 when the own kernels are not in use.
 * Single-threaded; every element of C is one sum over kk in order.
 */
int bgm__gemm_own_gather(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                         const int64_t *rtab, const int64_t *ktab, const float *b,
                         int64_t ldb, float beta, float *c, int64_t ldc,
                         const bgm__gemm_epilogue *ep);

/* bgm__gemm_slots on the own kernels (alpha 1, beta 0, no transpose); 0
 * when they are not in use. */
int bgm__gemm_own_slots(int64_t count, int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                        float *c, int64_t ldc, int64_t sc);

/* Whether the own kernels run here: an AVX-512 or AVX2 path (isa.h) and
 * BIGMODEL_GEMM not "blas". */
int bgm__gemm_own_available(void);

/* The per-path kernels behind the calls above (gemm_avx512.c,
 * gemm_avx2.c); op is what the call computes. */
typedef struct bgm__gemm_call {
    int trans_a, trans_b;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
    const int64_t *rtab, *ktab; /* gathered A when rtab is not NULL */
    const bgm__gemm_epilogue *ep;
    /* count > 1: count products, the e-th with a, b and c moved by e * sa,
     * e * sb, e * sc; 0 or 1: one */
    int64_t count, sa, sb, sc;
} bgm__gemm_call;

/* Rows a tile of the path has (a transposed B is packed only for at
 * least this many rows of A). */
int bgm__gemm_avx512_rows(void);
int bgm__gemm_avx2_rows(void);
void bgm__gemm_avx512_run(const bgm__gemm_call *call);
void bgm__gemm_avx2_run(const bgm__gemm_call *call);

#endif
