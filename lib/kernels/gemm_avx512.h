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

#endif
