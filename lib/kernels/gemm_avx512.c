/* The own SGEMM tiles (gemm_tiles.h) on 16 lanes: AVX-512F, 12 x 32
 * tiles of 24 accumulators out of 32 registers. Masked loads and stores
 * cost no more than plain ones. */
#include "gemm_own.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define GT_VL 16
#define GT_MR 12
#define GT_MR1 24
#define GT_CASES_MR TILE_CASES_12
#define GT_CASES_MR1 TILE_CASES_24
#define GT_SPLIT_FULL 0
#define GT_TARGET __attribute__((target("avx512f")))
#define GT_RUN bgm__gemm_avx512_run
#define GT_ROWS bgm__gemm_avx512_rows

typedef __m512 gt_vec;
typedef __mmask16 gt_mask;

#define GT_ZERO() _mm512_setzero_ps()
#define GT_SET1(x) _mm512_set1_ps(x)
#define GT_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define GT_MUL(a, b) _mm512_mul_ps(a, b)
#define GT_ADD(a, b) _mm512_add_ps(a, b)
#define GT_MAX0(v) _mm512_max_ps(v, _mm512_setzero_ps())
#define GT_LOAD(mask, full, p) ((void)(full), _mm512_maskz_loadu_ps(mask, p))
#define GT_STORE(p, mask, full, v) ((void)(full), _mm512_mask_storeu_ps(p, mask, v))

static inline gt_mask gt_lanes(int64_t n)
{
    return (gt_mask)((1u << n) - 1);
}

#include "gemm_tiles.h"

#endif
