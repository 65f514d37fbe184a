/*
 * The vector operations of the AVX-512 kernels (gemm_avx512.c,
 * winograd_avx512.c) under the names their shared templates use
 * (gemm_tiles.h, winograd_tiles.h): 16 lanes, masks as __mmask16. Masked
 * loads and stores cost no more than plain ones, so `full` is ignored.
 * Include only from such a file, after <immintrin.h>.
 */
#ifndef BGM_KERNELS_VEC_AVX512_H
#define BGM_KERNELS_VEC_AVX512_H

#define V_VL 16
#define V_SPLIT_FULL 0 /* whole vectors need no code of their own */
#define V_TARGET __attribute__((target("avx512f")))

typedef __m512 v_vec;
typedef __mmask16 v_mask;

#define V_ZERO() _mm512_setzero_ps()
#define V_SET1(x) _mm512_set1_ps(x)
#define V_ADD(a, b) _mm512_add_ps(a, b)
#define V_SUB(a, b) _mm512_sub_ps(a, b)
#define V_MUL(a, b) _mm512_mul_ps(a, b)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_FNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define V_MAX0(v) _mm512_max_ps(v, _mm512_setzero_ps())
/* Masked load (zeros outside the mask) and store; full: every lane is in. */
#define V_LOAD(mask, full, p) ((void)(full), _mm512_maskz_loadu_ps(mask, p))
#define V_STORE(p, mask, full, v) ((void)(full), _mm512_mask_storeu_ps(p, mask, v))

/* The mask of the first n lanes, 0 <= n <= 16. */
static inline v_mask v_lanes(int64_t n)
{
    return (v_mask)((1u << n) - 1);
}

#endif
