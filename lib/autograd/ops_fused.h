/*
 * Ops that run several layers' work in one pass, for inference only
 * (lib/model/fusion.c picks them); never recorded on a tape. (BatchNorm +
 * ReLU, which fuses in training too, is bgm__op_batch_norm_sync's relu.)
 */
#ifndef BGM_AUTOGRAD_OPS_FUSED_H
#define BGM_AUTOGRAD_OPS_FUSED_H

#include "bigmodel/nn_ops.h"

/* A pooling after a convolution: max (or average) over kh x kw windows
 * with strides sh, sw, as bgm_op_max_pool2d / bgm_op_avg_pool2d. */
typedef struct bgm__pool_spec {
    int max;
    int kh, kw, sh, sw;
    bgm_padding padding;
} bgm__pool_spec;

/*
 * y = pool(act(conv2d(x, kernel) + bias + res)) as bgm_op_conv2d computes
 * the convolution, with bias (F) and res (a float32 tensor of the
 * convolution's output shape) optional (NULL), act ReLU when relu, the
 * identity otherwise, and pool the pooling (NULL: none): bias, res and ReLU
 * added per chunk of output rows while it is in cache, the pooling per few
 * images from a buffer, so the convolution's full output never exists.
 * *out is new (tape-owned when tape is not NULL). BGM_E_SHAPE for a res of
 * another shape or a pool window larger than the output, BGM_E_INVALID for
 * a bad pool spec, BGM_E_STATE when an input needs a gradient on tape, and
 * bgm_op_conv2d's errors.
 */
bgm_status bgm__conv2d_infer(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                             const bgm_tensor *kernel, const bgm_tensor *bias,
                             const bgm_tensor *res, int relu, const bgm__pool_spec *pool,
                             int stride_h, int stride_w, bgm_padding padding);

#endif
