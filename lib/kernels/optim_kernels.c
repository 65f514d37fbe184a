/* Optimizer update rules and clipping loops (see optim_kernels.h). */
#include "optim_kernels.h"

#include <math.h>

#include "core/threads.h"
#include "isa.h"
#include "simd.h"

/* Parameters per thread below which one thread updates them all (an Adam
 * step over 8 Ki parameters takes a few microseconds). */
#define OPTIM_MIN_CHUNK ((int64_t)1 << 13)

BGM__HOT void bgm__sgd_update(float *p, const float *g, int64_t n, float lr)
{
    int64_t i;
    for (i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

BGM__HOT void bgm__sgd_momentum_update(float *p, const float *g, float *v, int64_t n, float lr,
                              float mu, int nesterov)
{
    int64_t i;
    if (nesterov) {
        for (i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            p[i] -= lr * (g[i] + mu * v[i]);
        }
    } else {
        for (i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            p[i] -= lr * v[i];
        }
    }
}

/* The Adam step of elements [i, n), one at a time. */
static void adam_scalar(float *p, const float *g, float *m, float *v, int64_t i, int64_t n,
                        float step_size, float beta1, float omb1, float beta2, float omb2,
                        float bc2_sqrt, float eps)
{
    for (; i < n; i++) {
        float gi = g[i];
        float denom;
        m[i] = beta1 * m[i] + omb1 * gi;
        v[i] = beta2 * v[i] + omb2 * gi * gi;
        /* Same order of operations as torch.optim.Adam, so float results agree. */
        denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/*
 * The same operations in the same order on 16 lanes (the compiler will not
 * vectorize sqrtf while it may set errno). IEEE sqrt and division are
 * exact, so the bits equal adam_scalar's. Returns how many elements it did.
 */
__attribute__((target("avx512f"))) static int64_t adam_avx512(
    float *p, const float *g, float *m, float *v, int64_t n, float step_size, float beta1,
    float omb1, float beta2, float omb2, float bc2_sqrt, float eps)
{
    const __m512 b1 = _mm512_set1_ps(beta1), o1 = _mm512_set1_ps(omb1);
    const __m512 b2 = _mm512_set1_ps(beta2), o2 = _mm512_set1_ps(omb2);
    const __m512 bc = _mm512_set1_ps(bc2_sqrt), ep = _mm512_set1_ps(eps);
    const __m512 ss = _mm512_set1_ps(step_size);
    int64_t i;
    for (i = 0; i + 16 <= n; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_loadu_ps(m + i)),
                                  _mm512_mul_ps(o1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_loadu_ps(v + i)),
                                  _mm512_mul_ps(_mm512_mul_ps(o2, gi), gi));
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc), ep);
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i),
                                              _mm512_mul_ps(ss, _mm512_div_ps(mi, denom))));
    }
    return i;
}

/* The same on 8 lanes. */
__attribute__((target("avx"))) static int64_t adam_avx(
    float *p, const float *g, float *m, float *v, int64_t n, float step_size, float beta1,
    float omb1, float beta2, float omb2, float bc2_sqrt, float eps)
{
    const __m256 b1 = _mm256_set1_ps(beta1), o1 = _mm256_set1_ps(omb1);
    const __m256 b2 = _mm256_set1_ps(beta2), o2 = _mm256_set1_ps(omb2);
    const __m256 bc = _mm256_set1_ps(bc2_sqrt), ep = _mm256_set1_ps(eps);
    const __m256 ss = _mm256_set1_ps(step_size);
    int64_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)),
                                  _mm256_mul_ps(o1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(o2, gi), gi));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc), ep);
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i),
                                              _mm256_mul_ps(ss, _mm256_div_ps(mi, denom))));
    }
    return i;
}
#endif

typedef struct adam_job {
    float *p, *m, *v;
    const float *g;
    float step_size, beta1, omb1, beta2, omb2, bc2_sqrt, eps;
} adam_job;

static void adam_range(void *ctx, int64_t begin, int64_t end)
{
    const adam_job *j = ctx;
    float *p = j->p + begin, *m = j->m + begin, *v = j->v + begin;
    const float *g = j->g + begin;
    int64_t n = end - begin, i = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    if (bgm__isa() == BGM__ISA_AVX512)
        i = adam_avx512(p, g, m, v, n, j->step_size, j->beta1, j->omb1, j->beta2, j->omb2,
                        j->bc2_sqrt, j->eps);
    else if (bgm__isa() == BGM__ISA_AVX2)
        i = adam_avx(p, g, m, v, n, j->step_size, j->beta1, j->omb1, j->beta2, j->omb2,
                     j->bc2_sqrt, j->eps);
#endif
    adam_scalar(p, g, m, v, i, n, j->step_size, j->beta1, j->omb1, j->beta2, j->omb2,
                j->bc2_sqrt, j->eps);
}

void bgm__adam_update(float *p, const float *g, float *m, float *v, int64_t n,
                      float step_size, float beta1, float omb1, float beta2, float omb2,
                      float bc2_sqrt, float eps)
{
    adam_job j = {p, m, v, g, step_size, beta1, omb1, beta2, omb2, bc2_sqrt, eps};
    /* Elementwise, so threads change no bits; below the chunk, one thread. */
    bgm__parallel_for(n, OPTIM_MIN_CHUNK, adam_range, &j);
}

BGM__HOT void bgm__rmsprop_update(float *p, const float *g, float *s, float *buf, int64_t n,
                         float lr, float rho, float omr, float mu, float eps)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float d;
        s[i] = rho * s[i] + omr * gi * gi;
        d = gi / (sqrtf(s[i]) + eps);
        if (buf) {
            buf[i] = mu * buf[i] + d;
            d = buf[i];
        }
        p[i] -= lr * d;
    }
}

BGM__HOT void bgm__scale_inplace(float *x, int64_t n, float factor)
{
    int64_t i;
    for (i = 0; i < n; i++)
        x[i] *= factor;
}

double bgm__sum_squares(const float *x, int64_t n)
{
    double sum = 0.0;
    int64_t i;
    for (i = 0; i < n; i++)
        sum += (double)x[i] * (double)x[i];
    return sum;
}

BGM__HOT void bgm__clip_values(float *x, int64_t n, float clip)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        if (x[i] > clip)
            x[i] = clip;
        else if (x[i] < -clip)
            x[i] = -clip;
    }
}
