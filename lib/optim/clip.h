/* Gradient clipping shared by the public bgm_clip_* functions and the
 * optimizer's clipnorm / global_clipnorm / clipvalue options. The apply
 * functions expect tensors already checked to be float32. */
#ifndef BGM_OPTIM_CLIP_H
#define BGM_OPTIM_CLIP_H

#include "bigmodel/optim.h"

/* Global L2 norm of the tensors, in double. */
double bgm__grad_global_norm(bgm_tensor *const *grads, int n);

/* Scales all tensors by max_norm / (norm + 1e-6) when that is below 1;
 * returns the norm before clipping. */
double bgm__clip_global_norm(bgm_tensor *const *grads, int n, float max_norm);

/* Scales each tensor whose own L2 norm exceeds max_norm down to max_norm. */
void bgm__clip_each_norm(bgm_tensor *const *grads, int n, float max_norm);

/* Clamps every element to [-clip, clip]. */
void bgm__clip_each_value(bgm_tensor *const *grads, int n, float clip);

#endif
