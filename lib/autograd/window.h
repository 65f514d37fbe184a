/* Validation and geometry shared by the sliding-window operations
 * (convolution and pooling) over NHWC images. */
#ifndef BGM_AUTOGRAD_WINDOW_H
#define BGM_AUTOGRAD_WINDOW_H

#include "bigmodel/nn_ops.h"
#include "kernels/im2col.h"

/*
 * bgm__window_plan (below) for a window over images of nhwc[4] = (N, H, W,
 * C); x is the tensor they are, or NULL for images that are not one (a
 * fused pooling over a convolution's output).
 */
bgm_status bgm__window_dims(const char *fn, bgm__window *g, const int64_t *nhwc, int64_t kh,
                            int64_t kw, int sh, int sw, bgm_padding padding,
                            const bgm_tensor *kernel, const bgm_tensor *x);

/*
 * Fills g for a kh x kw window with strides sh, sw over x (N, H, W, C).
 * Checks x's rank, the strides, the padding and, with VALID padding, that
 * the window fits. Messages name the window as "kernel (3, 3, 1, 8)" when
 * kernel is given, else as "pool 2x2"; they are formatted only on failure
 * (plans are made on every call). Sets the error and returns its status.
 */
bgm_status bgm__window_plan(const char *fn, bgm__window *g, const bgm_tensor *x,
                            int64_t kh, int64_t kw, int sh, int sw, bgm_padding padding,
                            const bgm_tensor *kernel);

#endif
