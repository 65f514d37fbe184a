/*
 * Softmax and log-softmax along one axis of a tensor viewed as
 * (outer, n, inner), n being the axis. Numerically stable: the maximum of
 * each slice is subtracted before exponentiating.
 */
#ifndef BGM_KERNELS_SOFTMAX_H
#define BGM_KERNELS_SOFTMAX_H

#include <stdint.h>

/* y = exp(x - max) / sum(exp(x - max)) over each slice. y may equal x. */
void bgm__softmax_forward(float *y, const float *x, int64_t outer, int64_t n,
                          int64_t inner);

/* y = x - max - log(sum(exp(x - max))) over each slice. y may equal x. */
void bgm__log_softmax_forward(float *y, const float *x, int64_t outer, int64_t n,
                              int64_t inner);

/* gx += y * (g - sum(g * y)), y the softmax output. */
void bgm__softmax_backward(float *gx, const float *g, const float *y, int64_t outer,
                           int64_t n, int64_t inner);

/* gx += g - exp(y) * sum(g), y the log-softmax output. */
void bgm__log_softmax_backward(float *gx, const float *g, const float *y, int64_t outer,
                               int64_t n, int64_t inner);

#endif
