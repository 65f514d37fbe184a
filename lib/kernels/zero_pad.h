/*
 * Zero padding of NHWC images along height and width (Keras ZeroPadding2D,
 * channels_last): the forward copies each image row into the middle of a
 * wider row and zeroes the border; the backward crops the border off the
 * output gradient.
 */
#ifndef BGM_KERNELS_ZERO_PAD_H
#define BGM_KERNELS_ZERO_PAD_H

#include <stdint.h>

/* x is (n, h, w, c); y is (n, top + h + bottom, left + w + right, c). */
typedef struct bgm__pad2d {
    int64_t n, h, w, c;
    int64_t top, bottom, left, right;
} bgm__pad2d;

/* y = x surrounded by zeros. */
void bgm__zero_pad2d(const bgm__pad2d *g, const float *x, float *y);

/* gx += the part of gy that x was copied to; with fresh, gx = that part
 * (gx need not be initialized). */
void bgm__zero_pad2d_backward(const bgm__pad2d *g, const float *gy, float *gx, int fresh);

#endif
