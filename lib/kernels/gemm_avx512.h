/*
 * SGEMM kernels of the library's own for CPUs with AVX-512, which
 * kernels/gemm.c prefers to BLAS for the narrow products of neural
 * networks (see gemm_avx512.c for why).
 */
#ifndef BGM_KERNELS_GEMM_AVX512_H
#define BGM_KERNELS_GEMM_AVX512_H

#include <stdint.h>

/*
 * C = alpha * op(A) * op(B) + beta * C with the arguments of bgm__gemm
 * (row-major, m, n, k >= 1; beta == 0 ignores C). Returns 1 when done, 0
 * when this CPU lacks AVX-512F, when the environment variable BIGMODEL_GEMM
 * was "blas" at the first call, or for the cases not covered (A and B both
 * transposed; B transposed with fewer than 12 rows of A): the caller then
 * uses BLAS. Single-threaded; uses 16 KiB
 * of stack.
 */
int bgm__gemm_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                     float *c, int64_t ldc);

/*
 * C (m x n) = alpha * A B + beta * C with A gathered: A(r, kk) =
 * a[rtab[r] + ktab[kk]] (offsets in floats), B row-major (k x n, row
 * stride ldb), read in place. A convolution reads its input this way
 * without copying patches out (rtab: where each output pixel's window
 * starts, ktab: where each (ky, kx, channel) of the window lies from
 * there), and its kernel gradient with the tables swapped. Returns 1 when
 * done, 0 when the AVX-512 kernels are not in use (see
 * bgm__gemm_avx512_gather_available). Single-threaded; every element of C
 * is one sum over kk in order, as in bgm__gemm_avx512.
 */
int bgm__gemm_avx512_gather(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            const int64_t *rtab, const int64_t *ktab, const float *b,
                            int64_t ldb, float beta, float *c, int64_t ldc);

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

/* bgm__gemm_avx512_gather with ep applied to C as it is stored (ep NULL:
 * none); 0 when not done, as bgm__gemm_avx512_gather. */
int bgm__gemm_avx512_gather_ep(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                               const int64_t *rtab, const int64_t *ktab, const float *b,
                               int64_t ldb, float beta, float *c, int64_t ldc,
                               const bgm__gemm_epilogue *ep);

/* C = A B (row-major, neither transposed) with ep applied as C is stored;
 * 0 when the AVX-512 kernels are not in use (the caller runs BLAS and the
 * epilogue itself). */
int bgm__gemm_avx512_ep(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *c, int64_t ldc,
                        const bgm__gemm_epilogue *ep);

/* Whether bgm__gemm_avx512_gather runs here (AVX-512F, BIGMODEL_GEMM not "blas"). */
int bgm__gemm_avx512_gather_available(void);

#endif
