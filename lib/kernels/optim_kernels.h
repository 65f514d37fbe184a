/*
 * Optimizer update rules and gradient-clipping loops over raw float arrays.
 * Each update kernel handles n elements of one parameter: p is updated in
 * place, g is its gradient, and the slot arrays (same length) carry the
 * optimizer's state between steps. Constants such as 1 - beta are passed in,
 * computed by the caller in double, so every kernel is a plain loop.
 */
#ifndef BGM_KERNELS_OPTIM_KERNELS_H
#define BGM_KERNELS_OPTIM_KERNELS_H

#include <stdint.h>

/* p -= lr * g */
void bgm__sgd_update(float *p, const float *g, int64_t n, float lr);

/* v = mu * v + g; p -= lr * v, or with nesterov p -= lr * (g + mu * v). */
void bgm__sgd_momentum_update(float *p, const float *g, float *v, int64_t n, float lr,
                              float mu, int nesterov);

/*
 * m = beta1 * m + omb1 * g; v = beta2 * v + omb2 * g^2;
 * p -= step_size * m / (sqrt(v) / bc2_sqrt + eps), where omb = 1 - beta,
 * step_size = lr / (1 - beta1^t) and bc2_sqrt = sqrt(1 - beta2^t).
 */
void bgm__adam_update(float *p, const float *g, float *m, float *v, int64_t n,
                      float step_size, float beta1, float omb1, float beta2, float omb2,
                      float bc2_sqrt, float eps);

/*
 * s = rho * s + omr * g^2; d = g / (sqrt(s) + eps), omr = 1 - rho;
 * without a buffer (buf NULL) p -= lr * d, else buf = mu * buf + d; p -= lr * buf.
 */
void bgm__rmsprop_update(float *p, const float *g, float *s, float *buf, int64_t n,
                         float lr, float rho, float omr, float mu, float eps);

/* x *= factor */
void bgm__scale_inplace(float *x, int64_t n, float factor);

/* Sum of x[i]^2, accumulated in double. */
double bgm__sum_squares(const float *x, int64_t n);

/* x[i] = clamp(x[i], -clip, clip); NaN stays NaN. */
void bgm__clip_values(float *x, int64_t n, float clip);

#endif
