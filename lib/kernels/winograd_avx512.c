/* The Winograd transforms (winograd_tiles.h) on 16 lanes: AVX-512F, whose
 * masked loads and stores cost no more than plain ones. */
#include "winograd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define WT_VL 16
#define WT_SPLIT_FULL 0
#define WT_TARGET __attribute__((target("avx512f")))
#define WT_PATH bgm__winograd_avx512

typedef __m512 wt_vec;
typedef __mmask16 wt_mask;

#define WT_ZERO() _mm512_setzero_ps()
#define WT_SET1(x) _mm512_set1_ps(x)
#define WT_ADD(a, b) _mm512_add_ps(a, b)
#define WT_SUB(a, b) _mm512_sub_ps(a, b)
#define WT_MUL(a, b) _mm512_mul_ps(a, b)
#define WT_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define WT_FNMA(a, b, c) _mm512_fnmadd_ps(a, b, c)
#define WT_MAX0(v) _mm512_max_ps(v, _mm512_setzero_ps())
#define WT_LOAD(mask, full, p) ((void)(full), _mm512_maskz_loadu_ps(mask, p))
#define WT_STORE(p, mask, full, v) ((void)(full), _mm512_mask_storeu_ps(p, mask, v))

static inline wt_mask wt_lanes(int64_t n)
{
    return (wt_mask)((1u << n) - 1);
}

#include "winograd_tiles.h"

#endif
