/* bgm_rng: xoshiro256** seeded through splitmix64, identical on every platform. */
#include "rng.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "tensor_impl.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bgm__rng_seed(bgm_rng *rng, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
    rng->has_spare = 0;
    rng->spare = 0.0f;
}

BGM_API uint64_t bgm_rng_next_u64(bgm_rng *rng)
{
    uint64_t *s, result, t;
    if (!rng)
        return 0;
    s = rng->s;
    result = rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

BGM_API float bgm_rng_uniform(bgm_rng *rng)
{
    /* 24 random bits: every value is exactly representable and < 1. */
    return rng ? (float)(bgm_rng_next_u64(rng) >> 40) * (1.0f / 16777216.0f) : 0.0f;
}

uint64_t bgm__rng_below(bgm_rng *rng, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = bgm_rng_next_u64(rng);
    while (x >= limit);
    return x % n;
}

float bgm__rng_normal(bgm_rng *rng)
{
    double u1, u2, r, theta;
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare;
    }
    /* 53-bit uniforms; u1 in (0, 1] keeps log finite. */
    u1 = ((double)(bgm_rng_next_u64(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    u2 = (double)(bgm_rng_next_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
    r = sqrt(-2.0 * log(u1));
    theta = 6.283185307179586 * u2;
    rng->spare = (float)(r * sin(theta));
    rng->has_spare = 1;
    return (float)(r * cos(theta));
}

BGM_API bgm_status bgm_rng_create(bgm_rng **out, uint64_t seed)
{
    BGM__CHECK_NULL(out, "bgm_rng_create");
    *out = malloc(sizeof **out);
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "bgm_rng_create: out of memory");
    bgm__rng_seed(*out, seed);
    return BGM_OK;
}

BGM_API void bgm_rng_free(bgm_rng *rng) { free(rng); }

BGM_API bgm_status bgm_tensor_randn(bgm_tensor **out, bgm_rng *rng,
                                    const int64_t *shape, int ndim,
                                    float mean, float stddev)
{
    static const char *fn = "bgm_tensor_randn";
    bgm_status s;
    float *p;
    int64_t i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(rng, fn);
    if (!(stddev >= 0.0f) || !isfinite(mean) || !isfinite(stddev))
        return bgm__fail(BGM_E_INVALID, "%s: need finite mean and stddev >= 0, got "
                         "mean %g stddev %g", fn, mean, stddev);
    s = bgm__tensor_new(out, fn, BGM_FLOAT32, shape, ndim);
    if (s != BGM_OK)
        return s;
    p = (*out)->data;
    for (i = 0; i < (*out)->numel; i++)
        p[i] = mean + stddev * bgm__rng_normal(rng);
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_rand_uniform(bgm_tensor **out, bgm_rng *rng,
                                           const int64_t *shape, int ndim,
                                           float low, float high)
{
    static const char *fn = "bgm_tensor_rand_uniform";
    bgm_status s;
    float *p;
    int64_t i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(rng, fn);
    if (!(low <= high) || !isfinite(low) || !isfinite(high))
        return bgm__fail(BGM_E_INVALID, "%s: need finite low <= high, got [%g, %g)", fn,
                         low, high);
    s = bgm__tensor_new(out, fn, BGM_FLOAT32, shape, ndim);
    if (s != BGM_OK)
        return s;
    p = (*out)->data;
    for (i = 0; i < (*out)->numel; i++)
        p[i] = low + (high - low) * bgm_rng_uniform(rng);
    return BGM_OK;
}
