/*
 * Sliding-window geometry over NHWC images, and the im2col / col2im pair
 * that turns a convolution into one matrix product.
 *
 * For one image, the column matrix has OH*OW rows (output pixels, row-major)
 * and KH*KW*C columns ordered (kh, kw, c): the order of a Keras kernel
 * (KH, KW, C, F) seen as a (KH*KW*C, F) matrix, so out = col * kernel.
 */
#ifndef BGM_KERNELS_IM2COL_H
#define BGM_KERNELS_IM2COL_H

#include <stdint.h>

/* A window of kh x kw moving with strides sh, sw over an h x w x c image
 * padded by pad_top / pad_left (the bottom / right padding is implied by
 * oh / ow). */
typedef struct bgm__window {
    int64_t n, h, w, c;
    int64_t kh, kw, sh, sw;
    int64_t pad_top, pad_left;
    int64_t oh, ow;
} bgm__window;

/*
 * Output size and leading padding along one axis of size in, for a window k
 * with stride s (both >= 1). same == 0 (valid): out = (in - k) / s + 1, no
 * padding, and -1 when k > in. same != 0: out = ceil(in / s) and the total
 * padding max((out - 1) * s + k - in, 0) is split as TensorFlow does, the
 * extra cell going after (bottom / right).
 */
int64_t bgm__window_out(int64_t in, int64_t k, int64_t s, int same, int64_t *pad_before);

/* col (oh*ow rows of kh*kw*c) = the patches of one image x (h*w*c);
 * padded cells read as 0. */
void bgm__im2col(const bgm__window *g, const float *x, float *col);

/* dx (one image) += the patches of col scattered back: the adjoint of
 * bgm__im2col. */
void bgm__col2im(const bgm__window *g, const float *col, float *dx);

#endif
