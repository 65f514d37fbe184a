/*
 * Weighted losses (Keras' sample_weight and class_weight): the losses of
 * ops_loss.c per sample, each times its weight, summed and divided by the
 * number of per-sample losses (Keras 3's "sum_over_batch_size").
 */
#ifndef BGM_AUTOGRAD_OPS_LOSS_WEIGHTED_H
#define BGM_AUTOGRAD_OPS_LOSS_WEIGHTED_H

#include "bigmodel/model.h"

/*
 * The unweighted kernels by loss kind (not custom), shared by the losses of
 * ops_loss.c and the weighted ones: the sum of the losses of rows x c values
 * (the elementwise kinds sum every value; the categorical ones each row of
 * c classes; labels: the int32 ids of the sparse kind, else unused), and
 * its backward, adding scale * d(sum)/d(input) into gp and gt (NULL: not
 * wanted; the sparse kind has no gt).
 */
double bgm__loss_sum(bgm_loss_kind kind, int logits, const float *p, const float *t,
                     const int32_t *labels, int64_t rows, int64_t c);
void bgm__loss_backward(bgm_loss_kind kind, int logits, const float *p, const float *t,
                        const int32_t *labels, int64_t rows, int64_t c, float scale, float *gp,
                        float *gt);

/*
 * The loss kind of pred against target, weighted: pred (R..., C) seen as
 * rows r over all but its last dimension, each row's loss l_r as Keras
 * computes it per sample (the mean over the last axis for MSE, MAE and
 * binary cross-entropy; the sum over classes for the categorical ones), and
 * the result sum_r w(r) l_r / rows, where weights (float32) holds one value
 * per sample of a leading part of pred's shape ((N) or (N, T) for pred
 * (N, T, C)) and w(r) is the value of row r's sample. target is float32 of
 * pred's shape, or int32 class ids of pred's shape without its last
 * dimension for BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY (checked in range).
 * Gradients flow to pred and to float targets; the weights and labels are
 * copied onto the tape. Errors: BGM_E_INVALID, BGM_E_DTYPE, BGM_E_SHAPE
 * (weights not a leading part of pred's shape), BGM_E_RANGE, BGM_E_NOMEM.
 */
bgm_status bgm__op_weighted_loss(bgm_tensor **out, bgm_tape *tape, bgm_loss_kind kind,
                                 const bgm_tensor *pred, const bgm_tensor *target,
                                 const bgm_tensor *weights, int from_logits);

#endif
