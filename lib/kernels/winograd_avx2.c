/* The Winograd transforms (winograd_tiles.h) on 8 lanes: AVX2 + FMA. Masked
 * loads and stores (vmaskmovps) are slower than plain ones, so whole
 * vectors use the plain forms. */
#include "winograd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define WT_VL 8
#define WT_SPLIT_FULL 1
#define WT_TARGET __attribute__((target("avx2,fma")))
#define WT_PATH bgm__winograd_avx2

typedef __m256 wt_vec;
typedef __m256i wt_mask;

#define WT_ZERO() _mm256_setzero_ps()
#define WT_SET1(x) _mm256_set1_ps(x)
#define WT_ADD(a, b) _mm256_add_ps(a, b)
#define WT_SUB(a, b) _mm256_sub_ps(a, b)
#define WT_MUL(a, b) _mm256_mul_ps(a, b)
#define WT_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define WT_FNMA(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define WT_MAX0(v) _mm256_max_ps(v, _mm256_setzero_ps())
#define WT_LOAD(mask, full, p) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask))
#define WT_STORE(p, mask, full, v)                                                     \
    ((full) ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, mask, v))

/* Lane i of the mask of the first n lanes is lane_table[8 - n + i]. */
static const int32_t lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

WT_TARGET static inline wt_mask wt_lanes(int64_t n)
{
    return _mm256_loadu_si256((const __m256i *)(lane_table + 8 - n));
}

#include "winograd_tiles.h"

#endif
