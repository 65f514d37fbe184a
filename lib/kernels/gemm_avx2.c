/* The own SGEMM tiles (gemm_tiles.h) on 8 lanes: AVX2 + FMA, 6 x 16 tiles
 * of 12 accumulators out of 16 registers. Masked loads and stores
 * (vmaskmovps) are slower than plain ones, so whole vectors use the plain
 * forms. */
#include "gemm_own.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#define GT_VL 8
#define GT_MR 6
#define GT_MR1 12
#define GT_CASES_MR TILE_CASES_6
#define GT_CASES_MR1 TILE_CASES_12
#define GT_SPLIT_FULL 1
#define GT_TARGET __attribute__((target("avx2,fma")))
#define GT_RUN bgm__gemm_avx2_run
#define GT_ROWS bgm__gemm_avx2_rows

typedef __m256 gt_vec;
typedef __m256i gt_mask;

#define GT_ZERO() _mm256_setzero_ps()
#define GT_SET1(x) _mm256_set1_ps(x)
#define GT_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define GT_MUL(a, b) _mm256_mul_ps(a, b)
#define GT_ADD(a, b) _mm256_add_ps(a, b)
#define GT_MAX0(v) _mm256_max_ps(v, _mm256_setzero_ps())
#define GT_LOAD(mask, full, p) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask))
#define GT_STORE(p, mask, full, v)                                                     \
    ((full) ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, mask, v))

/* Lane i of the mask of the first n lanes is lane_table[8 - n + i]. */
static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

GT_TARGET static inline gt_mask gt_lanes(int64_t n)
{
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - n));
}

#include "gemm_tiles.h"

#endif
