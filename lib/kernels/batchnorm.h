/*
 * Batch normalization over a (m, c) matrix: m rows (every position of every
 * example) and c channels, channels innermost (NHWC, or (N, C) after a
 * Dense layer). Statistics are per channel.
 *
 * The reductions add the rows they are given into double accumulators, so
 * a caller may split the rows over threads, sum each part into its own
 * accumulators and add the parts in a fixed order.
 */
#ifndef BGM_KERNELS_BATCHNORM_H
#define BGM_KERNELS_BATCHNORM_H

#include <stdint.h>

/* sum[ch] += x[i][ch] over the m rows. */
void bgm__bn_sum(const float *x, int64_t m, int64_t c, double *sum);

/* sq[ch] += (x[i][ch] - mean[ch])^2 over the m rows: the second pass of the
 * variance, around the mean (no cancellation as in E[x^2] - E[x]^2). */
void bgm__bn_sum_sq(const float *x, int64_t m, int64_t c, const float *mean, double *sq);

/* running = momentum * running + (1 - momentum) * batch, per channel, for
 * the mean and for the variance (var multiplied by var_factor first). */
void bgm__bn_update_running(float *running_mean, float *running_var, const float *mean,
                            const float *var, int64_t c, float momentum, float var_factor);

/* y = gamma * (x - mean) * invstd + beta, then max(y, 0) when relu; gamma /
 * beta NULL mean 1 / 0. */
void bgm__bn_normalize(const float *x, int64_t m, int64_t c, const float *mean,
                       const float *invstd, const float *gamma, const float *beta, int relu,
                       float *y);

/* The affine part of a normalization followed by a ReLU, for backward:
 * gamma and beta as given to bgm__bn_normalize, both c floats (ones and
 * zeros where it had NULL: the same outputs, so the same mask). */
typedef struct bgm__bn_relu {
    const float *gamma, *beta;
} bgm__bn_relu;

/* The sums of the backward pass over m rows: sum_g[ch] += gy and
 * sum_gx[ch] += gy * xhat, xhat = (x - mean) * invstd. With relu (the
 * normalization had relu) gy counts only where the output was > 0, as
 * through the ReLU's backward: the output is recomputed from x with the
 * same operations as bgm__bn_normalize, so the mask is the forward's
 * exactly and the output need not be read. NULL: all of gy. */
void bgm__bn_backward_sums(const float *x, const float *gy, int64_t m, int64_t c,
                           const float *mean, const float *invstd, const bgm__bn_relu *relu,
                           double *sum_g, double *sum_gx);

/*
 * gx = scale * (gy - mean_g - xhat * mean_gx) per channel over m rows,
 * written (accumulate == 0) or added to gx. scale is gamma * invstd (the
 * derivative of y in x); mean_g and mean_gx are the means of gy and
 * gy * xhat over the batch in training, zeros when the statistics are
 * constants (inference). relu masks gy as in bgm__bn_backward_sums.
 */
void bgm__bn_backward_dx(const float *x, const float *gy, int64_t m, int64_t c,
                         const float *mean, const float *invstd, const bgm__bn_relu *relu,
                         const float *scale, const float *mean_g, const float *mean_gx,
                         int accumulate, float *gx);

#endif
