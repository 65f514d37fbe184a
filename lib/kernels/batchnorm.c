/* Batch normalization kernels. Rows are the outer loop and channels the
 * inner one, so every pass streams x once with vectorizable inner loops
 * (per-channel accumulators: no sum is reordered by vectorizing). */
#include "batchnorm.h"

#include <stddef.h>

#include "simd.h"

/* Rows summed in float this many at a time, then into the double sums:
 * the conversion to double leaves the inner loop (the ResNet step 2-3 %
 * faster on Zen 4). */
#define BN_FLOAT_ROWS 16
/* Channels per block of float partial sums (on the stack). */
#define BN_CHANNEL_BLOCK 256

/* out[ch] += the sum over the m rows of x[ch], or with squares of
 * (x[ch] - mean[ch])^2; inlined into each caller with squares constant. */
static inline __attribute__((always_inline)) void block_sums(const float *x, int64_t m,
                                                             int64_t c, const float *mean,
                                                             int squares, double *out)
{
    float part[BN_CHANNEL_BLOCK];
    int64_t c0, i0, i, ch;
    for (c0 = 0; c0 < c; c0 += BN_CHANNEL_BLOCK) {
        const int64_t cb = c - c0 < BN_CHANNEL_BLOCK ? c - c0 : BN_CHANNEL_BLOCK;
        for (i0 = 0; i0 < m; i0 += BN_FLOAT_ROWS) {
            const int64_t i1 = m - i0 < BN_FLOAT_ROWS ? m : i0 + BN_FLOAT_ROWS;
            for (ch = 0; ch < cb; ch++)
                part[ch] = 0.0f;
            for (i = i0; i < i1; i++)
                for (ch = 0; ch < cb; ch++) {
                    float d = x[i * c + c0 + ch];
                    if (squares) {
                        d -= mean[c0 + ch];
                        d *= d;
                    }
                    part[ch] += d;
                }
            for (ch = 0; ch < cb; ch++)
                out[c0 + ch] += (double)part[ch];
        }
    }
}

BGM__HOT void bgm__bn_sum(const float *x, int64_t m, int64_t c, double *sum)
{
    block_sums(x, m, c, NULL, 0, sum);
}

BGM__HOT void bgm__bn_sum_sq(const float *x, int64_t m, int64_t c, const float *mean,
                             double *sq)
{
    block_sums(x, m, c, mean, 1, sq);
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
                                int relu, float *y)
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
            yr[ch] = relu ? (v > 0.0f ? v : 0.0f) : v;
        }
    }
}

/* gy where the normalization's output xhat * gamma + beta (bgm__bn_normalize's
 * operations, in its order) was > 0, else 0: the gradient through its ReLU. */
static inline __attribute__((always_inline)) float through_relu(float xhat, float gy,
                                                                float gamma, float beta)
{
    return xhat * gamma + beta > 0.0f ? gy : 0.0f;
}

/* The loops below are written twice, without and with relu: GCC vectorizes
 * each, and the test of relu stays out of them. */
BGM__HOT void bgm__bn_backward_sums(const float *x, const float *gy, int64_t m, int64_t c,
                                    const float *mean, const float *invstd,
                                    const bgm__bn_relu *relu, double *sum_g, double *sum_gx)
{
    float pg[BN_CHANNEL_BLOCK], pgx[BN_CHANNEL_BLOCK];
    int64_t c0, i0, i, ch;
    for (c0 = 0; c0 < c; c0 += BN_CHANNEL_BLOCK) {
        const int64_t cb = c - c0 < BN_CHANNEL_BLOCK ? c - c0 : BN_CHANNEL_BLOCK;
        const float *mu = mean + c0, *is = invstd + c0;
        for (i0 = 0; i0 < m; i0 += BN_FLOAT_ROWS) {
            const int64_t i1 = m - i0 < BN_FLOAT_ROWS ? m : i0 + BN_FLOAT_ROWS;
            for (ch = 0; ch < cb; ch++)
                pg[ch] = pgx[ch] = 0.0f;
            for (i = i0; i < i1; i++) {
                const float *xr = x + i * c + c0, *gr = gy + i * c + c0;
                if (relu) {
                    const float *ga = relu->gamma + c0, *be = relu->beta + c0;
                    for (ch = 0; ch < cb; ch++) {
                        const float xhat = (xr[ch] - mu[ch]) * is[ch];
                        const float g = through_relu(xhat, gr[ch], ga[ch], be[ch]);
                        pg[ch] += g;
                        pgx[ch] += g * xhat;
                    }
                } else {
                    for (ch = 0; ch < cb; ch++) {
                        pg[ch] += gr[ch];
                        pgx[ch] += gr[ch] * ((xr[ch] - mu[ch]) * is[ch]);
                    }
                }
            }
            for (ch = 0; ch < cb; ch++) {
                sum_g[c0 + ch] += (double)pg[ch];
                sum_gx[c0 + ch] += (double)pgx[ch];
            }
        }
    }
}

BGM__HOT void bgm__bn_backward_dx(const float *x, const float *gy, int64_t m, int64_t c,
                                  const float *mean, const float *invstd,
                                  const bgm__bn_relu *relu, const float *scale,
                                  const float *mean_g, const float *mean_gx, int accumulate,
                                  float *gx)
{
    const float *ga = relu ? relu->gamma : NULL, *be = relu ? relu->beta : NULL;
    int64_t i, ch;
    for (i = 0; i < m; i++) {
        const float *xr = x + i * c, *gr = gy + i * c;
        float *dr = gx + i * c;
        if (relu && accumulate) {
            for (ch = 0; ch < c; ch++) {
                float xhat = (xr[ch] - mean[ch]) * invstd[ch];
                dr[ch] += scale[ch] * (through_relu(xhat, gr[ch], ga[ch], be[ch]) - mean_g[ch] -
                                       xhat * mean_gx[ch]);
            }
        } else if (relu) {
            for (ch = 0; ch < c; ch++) {
                float xhat = (xr[ch] - mean[ch]) * invstd[ch];
                dr[ch] = scale[ch] * (through_relu(xhat, gr[ch], ga[ch], be[ch]) - mean_g[ch] -
                                      xhat * mean_gx[ch]);
            }
        } else if (accumulate) {
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
