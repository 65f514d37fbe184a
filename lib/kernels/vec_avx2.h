/*
 * The vector operations of the AVX2 + FMA kernels (gemm_avx2.c,
 * winograd_avx2.c) under the names their shared templates use
 * (gemm_tiles.h, winograd_tiles.h): 8 lanes, masks as __m256i. Masked
 * loads and stores (vmaskmovps) are slower than plain ones, so whole
 * vectors (`full`) use the plain forms and the templates compile whole
 * blocks apart (V_SPLIT_FULL). Include only from such a file, after
 * <immintrin.h>.
 */
#ifndef BGM_KERNELS_VEC_AVX2_H
#define BGM_KERNELS_VEC_AVX2_H

#include <stdint.h>

#define V_VL 8
#define V_SPLIT_FULL 1
#define V_TARGET __attribute__((target("avx2,fma")))

typedef __m256 v_vec;
typedef __m256i v_mask;

#define V_ZERO() _mm256_setzero_ps()
#define V_SET1(x) _mm256_set1_ps(x)
#define V_ADD(a, b) _mm256_add_ps(a, b)
#define V_SUB(a, b) _mm256_sub_ps(a, b)
#define V_MUL(a, b) _mm256_mul_ps(a, b)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_FNMA(a, b, c) _mm256_fnmadd_ps(a, b, c)
#define V_MAX0(v) _mm256_max_ps(v, _mm256_setzero_ps())
/* Masked load (zeros outside the mask) and store; full: every lane is in. */
#define V_LOAD(mask, full, p) ((full) ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask))
#define V_STORE(p, mask, full, v)                                                      \
    ((full) ? _mm256_storeu_ps(p, v) : _mm256_maskstore_ps(p, mask, v))

/* Lane i of the mask of the first n lanes is v_lane_table[8 - n + i]. */
static const int32_t v_lane_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                         0,  0,  0,  0,  0,  0,  0,  0};

/* The mask of the first n lanes, 0 <= n <= 8. */
V_TARGET static inline v_mask v_lanes(int64_t n)
{
    return _mm256_loadu_si256((const __m256i *)(v_lane_table + 8 - n));
}

#endif
