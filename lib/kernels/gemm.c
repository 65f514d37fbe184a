/* Matrix products: a thin, checked layer over cblas_sgemm. */
#include "gemm.h"

#include <cblas.h>

/* C = beta * C without BLAS; beta == 0 clears, as sgemm does. */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc)
{
    int64_t i, j;
    for (i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0.0f) {
            for (j = 0; j < n; j++)
                row[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (j = 0; j < n; j++)
                row[j] *= beta;
        }
    }
}

void bgm__gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
               float *c, int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    /* The reference BLAS rejects a leading dimension of 0 even when k == 0,
     * and some builds print on it: do the k == 0 case here. */
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void bgm__gemm_batched(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       float alpha, const float *a, int64_t lda, const float *b,
                       int64_t ldb, float beta, float *c, int64_t ldc, int nbatch,
                       const int64_t *batch_shape, const int64_t *a_strides,
                       const int64_t *b_strides, const int64_t *c_strides)
{
    int64_t idx[BGM__GEMM_MAX_BATCH_DIMS] = {0};
    int64_t total = 1, t, oa = 0, ob = 0, oc = 0;
    int d;
    for (d = 0; d < nbatch; d++)
        total *= batch_shape[d];
    for (t = 0; t < total; t++) {
        bgm__gemm(trans_a, trans_b, m, n, k, alpha, a + oa, lda, b + ob, ldb, beta,
                  c + oc, ldc);
        /* Odometer step over the batch index, keeping the offsets current. */
        for (d = nbatch - 1; d >= 0; d--) {
            if (++idx[d] < batch_shape[d]) {
                oa += a_strides[d];
                ob += b_strides[d];
                oc += c_strides[d];
                break;
            }
            idx[d] = 0;
            oa -= (batch_shape[d] - 1) * a_strides[d];
            ob -= (batch_shape[d] - 1) * b_strides[d];
            oc -= (batch_shape[d] - 1) * c_strides[d];
        }
    }
}
