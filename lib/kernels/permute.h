/*
 * Strided N-d copies: the one kernel behind transpose, permute, concat and
 * slice (forward and backward). Element strides, float32.
 */
#ifndef BGM_KERNELS_PERMUTE_H
#define BGM_KERNELS_PERMUTE_H

#include <stdint.h>

/* The most dimensions these kernels take. */
#define BGM__COPY_MAX_DIMS 8

/*
 * For every index (i0, ..., i[ndim-1]) of shape: dst[sum i_d * dst_strides[d]]
 * = src[sum i_d * src_strides[d]], or += with accumulate. The destination
 * positions must be distinct (no dst stride of 0 over a dimension longer
 * than 1) and must not overlap src. ndim == 0 copies one element.
 */
void bgm__strided_copy(float *dst, const int64_t *dst_strides, const float *src,
                       const int64_t *src_strides, int ndim, const int64_t *shape,
                       int accumulate);

/* Row-major (contiguous) strides of shape. */
void bgm__contiguous_strides(const int64_t *shape, int ndim, int64_t *strides);

/*
 * dst (contiguous, shape src_shape[perm[0]], ..., src_shape[perm[ndim-1]])
 * = src (contiguous, shape src_shape) with its dimensions reordered: dst
 * dimension i is src dimension perm[i]. With accumulate, adds instead.
 */
void bgm__permute(float *dst, const float *src, int ndim, const int64_t *src_shape,
                  const int *perm, int accumulate);

#endif
