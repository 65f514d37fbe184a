/*
 * Ops that run several layers' work in one pass, for inference only
 * (lib/model/fusion.c picks them); never recorded on a tape.
 */
#ifndef BGM_AUTOGRAD_OPS_FUSED_H
#define BGM_AUTOGRAD_OPS_FUSED_H

#include "bigmodel/nn_ops.h"

/*
 * y = act(conv2d(x, kernel) + bias + res) as bgm_op_conv2d computes the
 * convolution, with bias (F) and res (a float32 tensor of y's shape)
 * optional (NULL) and act ReLU when relu, the identity otherwise: added per
 * chunk of output rows while it is in cache. *out is new (tape-owned when
 * tape is not NULL). BGM_E_SHAPE for a res of another shape, BGM_E_STATE
 * when an input needs a gradient on tape, and bgm_op_conv2d's errors.
 */
bgm_status bgm__conv2d_infer(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                             const bgm_tensor *kernel, const bgm_tensor *bias,
                             const bgm_tensor *res, int relu, int stride_h, int stride_w,
                             bgm_padding padding);

#endif
