/*
 * exp(v) as straight-line float arithmetic, for BGM__HOT loops: a call to
 * libm's expf stops GCC from vectorizing a loop (its vector variants need
 * -ffast-math), this inline does not. Range reduction v = n ln 2 + r with
 * |r| <= ln 2 / 2 (ln 2 in two parts), a degree-6 Taylor polynomial of e^r
 * (truncation below 2e-7 relative) and 2^n built in the exponent bits.
 * Within 3 ulp of exp on [-87.3, 88.3] (every 64th float checked against
 * double exp); arguments beyond are clamped there, so the result stays
 * finite and nonzero (callers use it where the ends do not matter:
 * 1 / (1 + e^v)). NaN gives e^-87.3: callers that must propagate NaN
 * multiply by their input.
 */
#ifndef BGM_KERNELS_FASTEXP_H
#define BGM_KERNELS_FASTEXP_H

#include <stdint.h>
#include <string.h>

#include "simd.h"

BGM__INLINE float bgm__fast_exp(float v)
{
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f,
                ln2_lo = 1.42860682030941723e-6f, round = 12582912.0f; /* 1.5 * 2^23 */
    float n, r, p;
    int32_t bits;
    float scale;
    /* written so that NaN becomes -87.3 too: no NaN reaches the int conversion */
    v = v >= -87.3f ? v : -87.3f;
    v = v <= 88.3f ? v : 88.3f;
    /* n = nearest integer to v / ln 2: adding 1.5 * 2^23 rounds to an integer */
    n = (v * log2e + round) - round;
    r = (v - n * ln2_hi) - n * ln2_lo;
    p = 1.0f + r * (1.0f + r * (0.5f + r * (1.6666667e-1f +
                    r * (4.1666668e-2f + r * (8.3333338e-3f + r * 1.3888889e-3f)))));
    bits = ((int32_t)n + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif
