/*
 * Weighted means over the time axis of (n, t, c) sequences, the kernels of
 * GlobalAveragePooling1D: y[i][ch] = sum over s of w[i][s] x[i][s][ch],
 * with per-step weights w (n, t) that encode the mask (mask / count).
 */
#ifndef BGM_KERNELS_SEQ_POOL_H
#define BGM_KERNELS_SEQ_POOL_H

#include <stdint.h>

/* w[i][s] = mask[i][s] / sum over s of mask[i][s] (0 where that sum is 0),
 * or 1 / t for every step when mask is NULL. */
void bgm__seq_pool_weights(const float *mask, int64_t n, int64_t t, float *w);

/* y (n, c) = the weighted sums of x (n, t, c) with w (n, t). */
void bgm__seq_pool_forward(const float *x, const float *w, int64_t n, int64_t t, int64_t c,
                           float *y);

/* gx[i][s][ch] = w[i][s] gy[i][ch], written when overwrite, else added. */
void bgm__seq_pool_backward(const float *gy, const float *w, int64_t n, int64_t t,
                            int64_t c, float *gx, int overwrite);

#endif
