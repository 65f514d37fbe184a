/* Batch normalization kernels. Rows are the outer loop and channels the
 * inner one, so every pass streams x once with vectorizable inner loops. */
#include "batchnorm.h"

void bgm__bn_stats(const float *x, int64_t m, int64_t c, float *mean, float *var,
                   double *acc)
{
    double *sum = acc, *sq = acc + c;
    int64_t i, ch;
    for (ch = 0; ch < c; ch++)
        sum[ch] = sq[ch] = 0.0;
    for (i = 0; i < m; i++)
        for (ch = 0; ch < c; ch++)
            sum[ch] += x[i * c + ch];
    for (ch = 0; ch < c; ch++)
        mean[ch] = (float)(sum[ch] / (double)m);
    /* A second pass around the mean: no cancellation as in E[x^2] - E[x]^2. */
    for (i = 0; i < m; i++) {
        for (ch = 0; ch < c; ch++) {
            double d = (double)x[i * c + ch] - mean[ch];
            sq[ch] += d * d;
        }
    }
    for (ch = 0; ch < c; ch++)
        var[ch] = (float)(sq[ch] / (double)m);
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

void bgm__bn_normalize(const float *x, int64_t m, int64_t c, const float *mean,
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

void bgm__bn_backward(const float *x, const float *gy, int64_t m, int64_t c,
                      const float *mean, const float *invstd, const float *gamma,
                      int training, float *gx, float *ggamma, float *gbeta, double *acc,
                      float *coef)
{
    double *sum_g = acc, *sum_gx = acc + c;
    float *mean_g = coef, *mean_gx = coef + c;
    int64_t i, ch;
    for (ch = 0; ch < c; ch++)
        sum_g[ch] = sum_gx[ch] = 0.0;
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c, *gr = gy + i * c;
        for (ch = 0; ch < c; ch++) {
            sum_g[ch] += gr[ch];
            sum_gx[ch] += (double)gr[ch] * ((xr[ch] - mean[ch]) * invstd[ch]);
        }
    }
    for (ch = 0; ch < c; ch++) {
        if (ggamma)
            ggamma[ch] += (float)sum_gx[ch];
        if (gbeta)
            gbeta[ch] += (float)sum_g[ch];
    }
    if (!gx)
        return;
    /* Batch statistics depend on every row: subtract the mean of gy and
     * the projection on xhat (each scaled by gamma). */
    for (ch = 0; ch < c; ch++) {
        mean_g[ch] = training ? (float)(sum_g[ch] / (double)m) : 0.0f;
        mean_gx[ch] = training ? (float)(sum_gx[ch] / (double)m) : 0.0f;
    }
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c, *gr = gy + i * c;
        float *dr = gx + i * c;
        for (ch = 0; ch < c; ch++) {
            float xhat = (xr[ch] - mean[ch]) * invstd[ch];
            float scale = gamma ? gamma[ch] * invstd[ch] : invstd[ch];
            dr[ch] += scale * (gr[ch] - mean_g[ch] - xhat * mean_gx[ch]);
        }
    }
}
