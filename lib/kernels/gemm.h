/*
 * Matrix products through cblas_sgemm, the one place the library calls BLAS
 * for them. Row-major throughout.
 */
#ifndef BGM_KERNELS_GEMM_H
#define BGM_KERNELS_GEMM_H

#include <stdint.h>

/*
 * C = alpha * op(A) * op(B) + beta * C, where op(A) is m x k, op(B) is k x n
 * and C is m x n; op(X) is X, or X transposed when trans_x is nonzero. lda,
 * ldb, ldc are the row strides of A, B, C as stored. Degenerate sizes (any
 * of m, n, k zero) are handled here, so BLAS only sees valid arguments; with
 * beta == 0, C's old contents are ignored (NaN included). Every size must
 * fit in an int (the caller checks).
 */
void bgm__gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
               float *c, int64_t ldc);

/*
 * C_e = A_e B_e for e < count (row-major, neither transposed, C_e's old
 * contents ignored), where A_e = a + e * sa, B_e = b + e * sb and C_e = c + e
 * * sc: the products of one group of Winograd slots. Each is what
 * bgm__gemm(0, 0, m, n, k, 1, A_e, lda, B_e, ldb, 0, C_e, ldc) computes, to
 * the bit; small ones run on the own kernels in one call (no dispatch per
 * product), large ones through bgm__gemm (split over the pool).
 */
void bgm__gemm_slots(int64_t count, int64_t m, int64_t n, int64_t k, const float *a,
                     int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                     float *c, int64_t ldc, int64_t sc);

/* The most batch dimensions bgm__gemm_batched walks. */
#define BGM__GEMM_MAX_BATCH_DIMS 8

/*
 * One bgm__gemm per index of a batch of shape batch_shape[0..nbatch-1].
 * The matrices of batch index (i0, i1, ...) start at a + sum(i_d *
 * a_strides[d]) (likewise b, c; element strides). A stride of 0 repeats a
 * matrix over that dimension (NumPy broadcasting). When c repeats, the
 * products are summed into it in order, so beta must then be 1: that is
 * how gradients are reduced over broadcast dimensions.
 */
void bgm__gemm_batched(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, int nbatch,
                       const int64_t *batch_shape, const int64_t *a_strides,
                       const int64_t *b_strides, const int64_t *c_strides);

#endif
