/*
 * Pooling over one NHWC image (h*w*c floats in, oh*ow*c out) for a window
 * described by bgm__window (n is not used: callers loop over images).
 * Padded cells never take part: max ignores them and average divides by
 * the number of real cells in the window (TensorFlow / Keras SAME pooling).
 */
#ifndef BGM_KERNELS_POOL_H
#define BGM_KERNELS_POOL_H

#include <stdint.h>

#include "im2col.h"

/*
 * y = the maximum of each window, per channel; a NaN in a window wins.
 * When argmax is not NULL it receives, per output element, the index into x
 * of the first maximum in row-major window order (-1 for a window without
 * real cells, whose output is -inf).
 */
void bgm__max_pool(const bgm__window *g, const float *x, float *y, int32_t *argmax);

/* gx[argmax[i]] += gy[i] over the oh*ow*c outputs of one image. */
void bgm__max_pool_backward(const bgm__window *g, const float *gy, const int32_t *argmax,
                            float *gx);

/*
 * gx = the gradient bgm__max_pool_backward adds, written rather than added
 * (gx need not be initialized): every cell gets gy at its window's maximum
 * and 0 elsewhere. Only for windows that tile the image without overlap or
 * padding (strides equal to the window, VALID); cells past the last window
 * get 0.
 */
void bgm__max_pool_backward_set(const bgm__window *g, const float *gy, const int32_t *argmax,
                                float *gx);

/* y = the mean of the real cells of each window, per channel (0 when none). */
void bgm__avg_pool(const bgm__window *g, const float *x, float *y);

/* gx += gy spread evenly over the real cells of each window. */
void bgm__avg_pool_backward(const bgm__window *g, const float *gy, float *gx);

/* y[ch] = mean over the hw pixels of x (hw*c floats); hw >= 1. */
void bgm__global_avg_pool(const float *x, int64_t hw, int64_t c, float *y);

/* gx[p, ch] += gy[ch] / hw for every pixel p. */
void bgm__global_avg_pool_backward(const float *gy, int64_t hw, int64_t c, float *gx);

#endif
