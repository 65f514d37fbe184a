/*
 * Layer and RMS normalization of the rows of a (m, d) matrix: each row
 * (one position of one example) is normalized over its d features.
 *
 *   layer: y = (x - mean) * rstd * gamma + beta,  rstd = 1 / sqrt(var + eps)
 *   rms:   y = x * rstd * gamma,                  rstd = 1 / sqrt(mean(x^2) + eps)
 *
 * (the rms form is the layer form with the mean held at 0 and no beta).
 * The variance is two-pass, around the mean. Row sums run in 16 float lanes
 * added in a fixed order, so they vectorize and every ISA gives the same
 * bits. Both directions thread over rows on the library's pool.
 */
#ifndef BGM_KERNELS_LAYERNORM_H
#define BGM_KERNELS_LAYERNORM_H

#include <stdint.h>

/* Forward over m rows of d: y as above (gamma / beta NULL mean 1 / 0; beta
 * is ignored with rms). mean and rstd (m each) receive the statistics
 * backward needs, or are NULL (inference); mean is all zeros with rms. */
void bgm__norm_forward(const float *x, int64_t m, int64_t d, float eps, int rms,
                       const float *gamma, const float *beta, float *y, float *mean,
                       float *rstd);

/* How many partial sums backward splits its rows into (its work buffer
 * holds 2 d floats per slot); depends on m, d and the thread count only. */
int64_t bgm__norm_backward_slots(int64_t m, int64_t d);

/*
 * Backward of bgm__norm_forward given gy = dL/dy and the saved mean / rstd:
 * gx (may be NULL) receives dL/dx, written when overwrite is nonzero and
 * added to otherwise; ggamma / gbeta (may be NULL) likewise receive the
 * sums over rows of gy * xhat and of gy, overwriting when overwrite_gamma /
 * overwrite_beta. part: bgm__norm_backward_slots(m, d) * 2 d floats of work
 * space (unused when ggamma and gbeta are both NULL).
 */
void bgm__norm_backward(const float *x, const float *gy, int64_t m, int64_t d, int rms,
                        const float *gamma, const float *mean, const float *rstd, float *gx,
                        int overwrite, float *ggamma, int overwrite_gamma, float *gbeta,
                        int overwrite_beta, float *part);

#endif
