/* The own SGEMM kernels' entry points: the path isa.h chose, or 0 so that
 * the caller uses BLAS. */
#include "gemm_own.h"

#include <stddef.h>

#include "isa.h"

int bgm__gemm_own_available(void)
{
    return bgm__isa_gemm() != BGM__ISA_GENERIC;
}

/* Runs call on the chosen path; 0 when there is none. */
static int run(const bgm__gemm_call *call)
{
#if defined(__x86_64__) && defined(__GNUC__)
    switch (bgm__isa_gemm()) {
    case BGM__ISA_AVX512:
        bgm__gemm_avx512_run(call);
        return 1;
    case BGM__ISA_AVX2:
        bgm__gemm_avx2_run(call);
        return 1;
    default:
        break;
    }
#endif
    (void)call;
    return 0;
}

/* Rows of a tile on the chosen path. */
static int64_t tile_rows(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return bgm__isa_gemm() == BGM__ISA_AVX512 ? bgm__gemm_avx512_rows()
                                              : bgm__gemm_avx2_rows();
#else
    return 1;
#endif
}

int bgm__gemm_own(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                  float *c, int64_t ldc)
{
    bgm__gemm_call call = {trans_a, trans_b, m, n, k, lda, ldb, ldc, alpha, beta,
                           a, b, c, NULL, NULL, NULL, 0, 0, 0, 0};
    /* Packing a transposed B pays off only over enough rows of A. */
    if (!bgm__gemm_own_available() || (trans_a && trans_b) || (trans_b && m < tile_rows()))
        return 0;
    return run(&call);
}

int bgm__gemm_own_slots(int64_t count, int64_t m, int64_t n, int64_t k, const float *a,
                        int64_t lda, int64_t sa, const float *b, int64_t ldb, int64_t sb,
                        float *c, int64_t ldc, int64_t sc)
{
    bgm__gemm_call call = {0, 0, m, n, k, lda, ldb, ldc, 1.0f, 0.0f, a, b, c,
                           NULL, NULL, NULL, count, sa, sb, sc};
    return bgm__gemm_own_available() && run(&call);
}

int bgm__gemm_own_ep(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc,
                     const bgm__gemm_epilogue *ep)
{
    bgm__gemm_call call = {0, 0, m, n, k, lda, ldb, ldc, 1.0f, 0.0f, a, b, c, NULL, NULL, ep,
                           0, 0, 0, 0};
    return run(&call);
}

int bgm__gemm_own_gather(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                         const int64_t *rtab, const int64_t *ktab, const float *b,
                         int64_t ldb, float beta, float *c, int64_t ldc,
                         const bgm__gemm_epilogue *ep)
{
    bgm__gemm_call call = {0, 0, m, n, k, 0, ldb, ldc, alpha, beta, a, b, c, rtab, ktab, ep,
                           0, 0, 0, 0};
    return run(&call);
}
