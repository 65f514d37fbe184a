/*
 * Reductions over one axis. The tensor is viewed as (outer, n, inner): n is
 * the reduced axis, outer the dimensions before it, inner those after it.
 * Outputs are (outer, inner), contiguous.
 */
#ifndef BGM_KERNELS_REDUCE_H
#define BGM_KERNELS_REDUCE_H

#include <stdint.h>

/* out[o, i] = scale * sum_j x[o, j, i]. */
void bgm__reduce_sum(float *out, const float *x, int64_t outer, int64_t n, int64_t inner,
                     float scale);

/* gx[o, j, i] += scale * g[o, i] for every j: the backward of bgm__reduce_sum. */
void bgm__reduce_sum_backward(float *gx, const float *g, int64_t outer, int64_t n,
                              int64_t inner, float scale);

/*
 * out[o, i] = max_j x[o, j, i], and argmax[o, i] (when argmax is not NULL)
 * the first j that reaches it. A NaN is the maximum of any slice that
 * holds one (as NumPy and PyTorch). n must be at least 1.
 */
void bgm__reduce_max(float *out, int64_t *argmax, const float *x, int64_t outer,
                     int64_t n, int64_t inner);

/* gx[o, argmax[o, i], i] += g[o, i]: the backward of bgm__reduce_max. */
void bgm__reduce_max_backward(float *gx, const float *g, const int64_t *argmax,
                              int64_t outer, int64_t n, int64_t inner);

#endif
