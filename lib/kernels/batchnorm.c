/* Batch normalization kernels. Rows are the outer loop and channels the
 * inner one, so every pass streams x once with vectorizable inner loops
 * (per-channel accumulators: no sum is reordered by vectorizing). */
#include "batchnorm.h"

#include "simd.h"

BGM__HOT void bgm__bn_sum(const float *x, int64_t m, int64_t c, double *sum)
{
    int64_t i, ch;
    for (i = 0; i < m; i++)
        for (ch = 0; ch < c; ch++)
            sum[ch] += (double)x[i * c + ch];
}

BGM__HOT void bgm__bn_sum_sq(const float *x, int64_t m, int64_t c, const float *mean,
                             double *sq)
{
    int64_t i, ch;
    for (i = 0; i < m; i++) {
        for (ch = 0; ch < c; ch++) {
            double d = (double)x[i * c + ch] - (double)mean[ch];
            sq[ch] += d * d;
        }
    }
}

void bgm__bn_update_running(float *running_mean, float *running_var, const float *mean,
                            const float *var, int64_t c, float momentum, float var_factor)
{
    int64_t ch;
    for (ch = 0; ch < c; ch++) {
        running_mean[ch] = momentum * running_mean[ch] + (1.0f - momentum) * mean[ch];
        running_var[ch] = momentum * running_var[ch] + (1.0f - momentum) * var[ch] * var_factor;
    }
}

BGM__HOT void bgm__bn_normalize(const float *x, int64_t m, int64_t c, const float *mean,
                                const float *invstd, const float *gamma, const float *beta,
                                float *y)
{
    int64_t i, ch;
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c;
        float *yr = y + i * c;
        for (ch = 0; ch < c; ch++) {
            float v = (xr[ch] - mean[ch]) * invstd[ch];
            if (gamma)
                v *= gamma[ch];
            if (beta)
                v += beta[ch];
            yr[ch] = v;
        }
    }
}

BGM__HOT void bgm__bn_backward_sums(const float *x, const float *gy, int64_t m, int64_t c,
                                    const float *mean, const float *invstd, double *sum_g,
                                    double *sum_gx)
{
    int64_t i, ch;
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c, *gr = gy + i * c;
        for (ch = 0; ch < c; ch++) {
            sum_g[ch] += (double)gr[ch];
            sum_gx[ch] += (double)gr[ch] * ((xr[ch] - mean[ch]) * invstd[ch]);
        }
    }
}

BGM__HOT void bgm__bn_backward_dx(const float *x, const float *gy, int64_t m, int64_t c,
                                  const float *mean, const float *invstd, const float *scale,
                                  const float *mean_g, const float *mean_gx, int accumulate,
                                  float *gx)
{
    int64_t i, ch;
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c, *gr = gy + i * c;
        float *dr = gx + i * c;
        if (accumulate) {
            for (ch = 0; ch < c; ch++) {
                float xhat = (xr[ch] - mean[ch]) * invstd[ch];
                dr[ch] += scale[ch] * (gr[ch] - mean_g[ch] - xhat * mean_gx[ch]);
            }
        } else {
            for (ch = 0; ch < c; ch++) {
                float xhat = (xr[ch] - mean[ch]) * invstd[ch];
                dr[ch] = scale[ch] * (gr[ch] - mean_g[ch] - xhat * mean_gx[ch]);
            }
        }
    }
}
