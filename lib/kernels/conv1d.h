/*
 * Geometry of a 1-D convolution over (T, C) sequences, and the im2col /
 * col2im pair that turns it into one matrix product.
 *
 * For one sequence the column matrix has OT rows (output steps) and K*C
 * columns ordered (k, c): the order of a Keras Conv1D kernel (K, C, F)
 * seen as a (K*C, F) matrix, so out = col * kernel. Tap k of output step i
 * reads input step i * s + k * d - pad_left; steps outside [0, T) read 0.
 */
#ifndef BGM_KERNELS_CONV1D_H
#define BGM_KERNELS_CONV1D_H

#include <stdint.h>

typedef struct bgm__window1d {
    int64_t t, c;              /* input steps, channels */
    int64_t k, s, d;           /* taps, stride, dilation (all >= 1) */
    int64_t pad_left;
    int64_t ot;                /* output steps */
} bgm__window1d;

/* Padding modes of bgm__window1d_plan (the values of bgm_padding). */
enum { BGM__PAD1D_VALID = 0, BGM__PAD1D_SAME = 1, BGM__PAD1D_CAUSAL = 2 };

/*
 * Fills g for t steps of c channels and a k-tap window with stride s and
 * dilation d: VALID pads nothing (ot = (t - span) / s + 1, span = d*(k-1)+1;
 * -1 when span > t), SAME pads as TensorFlow (ot = ceil(t / s), the odd
 * cell on the right), CAUSAL pads span - 1 steps on the left (ot =
 * ceil(t / s)). Returns g->ot.
 */
int64_t bgm__window1d_plan(bgm__window1d *g, int64_t t, int64_t c, int64_t k, int64_t s,
                           int64_t d, int padding);

/* col (ot rows of k*c) = the windows of one sequence x (t*c); padding reads 0. */
void bgm__im2col1d(const bgm__window1d *g, const float *x, float *col);

/* dx (one sequence) += col scattered back: the adjoint of bgm__im2col1d. */
void bgm__col2im1d(const bgm__window1d *g, const float *col, float *dx);

#endif
