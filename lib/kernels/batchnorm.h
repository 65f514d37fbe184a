/*
 * Batch normalization over a (m, c) matrix: m rows (every position of every
 * example) and c channels, channels innermost (NHWC, or (N, C) after a
 * Dense layer). Statistics are per channel.
 */
#ifndef BGM_KERNELS_BATCHNORM_H
#define BGM_KERNELS_BATCHNORM_H

#include <stdint.h>

/* Per-channel mean and biased variance (divided by m) of x, in two passes
 * with double accumulators; acc holds 2*c doubles of workspace. m >= 1. */
void bgm__bn_stats(const float *x, int64_t m, int64_t c, float *mean, float *var,
                   double *acc);

/* running = momentum * running + (1 - momentum) * batch, per channel, for
 * the mean and for the variance (var multiplied by var_factor first). */
void bgm__bn_update_running(float *running_mean, float *running_var, const float *mean,
                            const float *var, int64_t c, float momentum, float var_factor);

/* y = gamma * (x - mean) * invstd + beta; gamma / beta NULL mean 1 / 0. */
void bgm__bn_normalize(const float *x, int64_t m, int64_t c, const float *mean,
                       const float *invstd, const float *gamma, const float *beta,
                       float *y);

/*
 * Backward of bgm__bn_normalize given gy. Adds into ggamma (sum gy * xhat),
 * gbeta (sum gy) and gx; any of the three may be NULL. With training != 0,
 * mean and invstd are the batch's own statistics and gx includes their
 * dependence on x; otherwise they are constants. Workspace: acc 2*c
 * doubles, coef 2*c floats.
 */
void bgm__bn_backward(const float *x, const float *gy, int64_t m, int64_t c,
                      const float *mean, const float *invstd, const float *gamma,
                      int training, float *gx, float *ggamma, float *gbeta, double *acc,
                      float *coef);

#endif
