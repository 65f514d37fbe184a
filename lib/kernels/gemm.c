/* Matrix products: a thin, checked layer over cblas_sgemm (or the library's
 * own AVX-512 / AVX2 kernels where they are faster, see own_pays) that splits
 * large products over the library's thread pool (BLAS itself runs
 * single-threaded, see core/threads.h). */
#include "gemm.h"

#include <cblas.h>

#include "core/threads.h"
#include "gemm_own.h"

/* Products smaller than this many multiply-adds (some 10-20 us on one
 * core) run on one thread: below it, handing half to a worker (which spins
 * between the jobs of a step, see core/threads.c) and moving its operands
 * to that core's cache costs more than it saves. Measured on the MLP, seed
 * CNN and ResNet training steps (2^17 to 2^21 within noise of each other;
 * 2^25, when workers slept between jobs, ran a 784-256-128-10 MLP step on
 * one core). */
#define GEMM_SPLIT_MIN_MACS ((double)(1 << 20))

/* Row or column blocks are multiples of this (whole SIMD tiles of sgemm). */
#define GEMM_SPLIT_ALIGN 16

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

/*
 * Whether the own kernels beat BLAS on a plain product of this shape (one
 * thread; products split over the pool are decided per piece). Measured
 * with test/bench/bench_gemm_shapes (docs/performance.md, "Own kernels or
 * BLAS") against OpenBLAS 0.3.21 on its own kernels, on both paths: the own
 * tiles hold C in registers for the whole of K without blocking for the
 * caches, which wins on narrow products (N up to two AVX-512 vectors, or
 * four over a short K) and loses by up to 3x on wide ones, where BLAS packs
 * blocks that stay in cache. A transposed B pays for its packing only over enough rows; a
 * transposed A read across a long K touches a new page every step.
 */
static int own_pays(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k)
{
    if (trans_b)
        return n <= 32 && m >= 64;
    if (trans_a)
        return (n <= 32 && k <= 1024) || (n <= 64 && k <= 512);
    return n <= 32 || (n <= 64 && k <= 512);
}

static void sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc)
{
    if (own_pays(trans_a, trans_b, m, n, k) &&
        bgm__gemm_own(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* One product split by rows of C (by_rows) or by its columns. */
typedef struct gemm_job {
    int trans_a, trans_b, by_rows;
    int64_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_job;

static void gemm_range(void *ctx, int64_t begin, int64_t end)
{
    const gemm_job *j = ctx;
    if (j->by_rows) /* rows of op(A): rows of A, or columns when transposed */
        sgemm(j->trans_a, j->trans_b, end - begin, j->n, j->k, j->alpha,
              j->a + (j->trans_a ? begin : begin * j->lda), j->lda, j->b, j->ldb, j->beta,
              j->c + begin * j->ldc, j->ldc);
    else /* columns of op(B): columns of B, or rows when transposed */
        sgemm(j->trans_a, j->trans_b, j->m, end - begin, j->k, j->alpha, j->a, j->lda,
              j->b + (j->trans_b ? begin * j->ldb : begin), j->ldb, j->beta, j->c + begin,
              j->ldc);
}

void bgm__gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
               float *c, int64_t ldc)
{
    int threads;
    if (m == 0 || n == 0)
        return;
    /* The reference BLAS rejects a leading dimension of 0 even when k == 0,
     * and some builds print on it: do the k == 0 case here. */
    if (k == 0 || alpha == 0.0f) {
        scale_c(m, n, beta, c, ldc);
        return;
    }
    threads = bgm__pool_threads();
    if (threads > 1 && (double)m * (double)n * (double)k >= GEMM_SPLIT_MIN_MACS) {
        /* Split the longer side of C; every element still sums all of k in
         * one sgemm call. */
        gemm_job j = {trans_a, trans_b, m >= n, m, n, k, lda, ldb, ldc, alpha, beta,
                      a, b, c};
        int64_t len = j.by_rows ? m : n;
        int64_t piece = (len + threads - 1) / threads;
        piece = (piece + GEMM_SPLIT_ALIGN - 1) / GEMM_SPLIT_ALIGN * GEMM_SPLIT_ALIGN;
        bgm__parallel_for(len, piece, gemm_range, &j);
        return;
    }
    sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void bgm__gemm_slots(int64_t count, int64_t m, int64_t n, int64_t k, const float *a,
                     int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                     float *c, int64_t ldc, int64_t sc)
{
    int64_t e;
    const int split = bgm__pool_threads() > 1 &&
                      (double)m * (double)n * (double)k >= GEMM_SPLIT_MIN_MACS;
    if (count < 1 || m == 0 || n == 0)
        return;
    if (k > 0 && !split && own_pays(0, 0, m, n, k) &&
        bgm__gemm_own_slots(count, m, n, k, a, lda, sa, b, ldb, sb, c, ldc, sc))
        return;
    for (e = 0; e < count; e++)
        bgm__gemm(0, 0, m, n, k, 1.0f, a + e * sa, lda, b + e * sb, ldb, 0.0f, c + e * sc,
                  ldc);
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
