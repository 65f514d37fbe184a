/*
 * bigmodel/nn_ops.h — neural-network operations: convolution, pooling, batch
 * normalization, dropout and losses, as differentiable operations.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * These follow the conventions of bigmodel/autograd.h: the form
 * bgm_op_NAME(bgm_tensor **out, bgm_tape *tape, inputs..., options...), a
 * caller-owned result without a tape and a tape-owned one with a tape, inputs
 * borrowed until the tape is reset or freed, *out NULL and the tape unchanged
 * on error. Optional inputs (a bias, gamma, beta) may be NULL.
 *
 * Images are NHWC (batch, height, width, channels), as Keras. Kernels are
 * Keras-shaped (KH, KW, C_in, C_out). Losses return a 0-dimensional scalar:
 * the mean over the batch of the per-example loss.
 */
#ifndef BIGMODEL_NN_OPS_H
#define BIGMODEL_NN_OPS_H

#include "autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * How a sliding window treats the border. Values are part of the ABI.
 * VALID: no padding; out = (in - window) / stride + 1, and a window larger
 * than the input is an error. SAME: out = ceil(in / stride), the input padded
 * by max((out - 1) * stride + window - in, 0) cells split as TensorFlow does
 * (the odd cell at the bottom / right). CAUSAL (Conv1D only): the sequence
 * padded on the left by dilation * (window - 1) steps, so output step t sees
 * input steps up to t only; out = ceil(in / stride).
 */
typedef enum bgm_padding {
    BGM_PADDING_VALID = 0,
    BGM_PADDING_SAME = 1,
    BGM_PADDING_CAUSAL = 2
} bgm_padding;

/* ---- convolution and pooling ------------------------------------------- */

/**
 * 2-D convolution (cross-correlation, as Keras and PyTorch): x (N, H, W, C),
 * kernel (KH, KW, C, F), bias (F) or NULL, out (N, OH, OW, F), strides >= 1.
 * Computed as im2col + one cblas_sgemm per group of images; a 1x1 kernel with
 * stride 1 multiplies x directly. The patch workspace holds at most 16 MiB
 * (or one image's patches when larger); recording on a tape keeps it there
 * for the backward pass.
 * Errors: BGM_E_INVALID (NULL, stride < 1, unknown padding), BGM_E_DTYPE,
 * BGM_E_SHAPE (ranks, channels of x and kernel differ, bias is not (F),
 * kernel larger than the input with VALID padding), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_conv2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride_h, int stride_w, bgm_padding padding);

/**
 * 1-D convolution (cross-correlation, as Keras' Conv1D): x (N, T, C), kernel
 * (K, C, F), bias (F) or NULL, out (N, OT, F); output step i, tap k reads
 * input step i * stride + k * dilation - (left padding). Any of the three
 * paddings (CAUSAL pads dilation * (K - 1) steps on the left). Computed as
 * im2col + one sgemm per group of sequences, in a workspace of about 1 MiB
 * (or one sequence's windows) that a recorded call keeps on the tape for the
 * backward pass. Gradients flow to x, kernel and bias.
 * Errors: BGM_E_INVALID (NULL, stride or dilation < 1, unknown padding),
 * BGM_E_DTYPE, BGM_E_SHAPE (ranks, channels of x and kernel differ, bias is
 * not (F), the dilated window longer than T with VALID padding), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_conv1d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride, int dilation, bgm_padding padding);

/**
 * Max pooling: x (N, H, W, C) to (N, OH, OW, C). Padded cells are ignored.
 * The gradient goes to the first maximum of each window (row-major order).
 * Errors: BGM_E_INVALID (NULL, pool or stride < 1, unknown padding),
 * BGM_E_DTYPE, BGM_E_SHAPE (rank, pool larger than the input with VALID).
 */
BGM_API bgm_status bgm_op_max_pool2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int pool_h, int pool_w, int stride_h, int stride_w,
                                     bgm_padding padding);

/**
 * Average pooling: x (N, H, W, C) to (N, OH, OW, C). With SAME padding the
 * padded cells are left out of the count (TensorFlow / Keras). Errors as
 * bgm_op_max_pool2d.
 */
BGM_API bgm_status bgm_op_avg_pool2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int pool_h, int pool_w, int stride_h, int stride_w,
                                     bgm_padding padding);

/**
 * Mean over height and width: x (N, H, W, C) to (N, C).
 * Errors: BGM_E_INVALID, BGM_E_DTYPE, BGM_E_SHAPE (rank, H or W is 0).
 */
BGM_API bgm_status bgm_op_global_avg_pool2d(bgm_tensor **out, bgm_tape *tape,
                                            const bgm_tensor *x);

/**
 * Mean over the time axis of sequences: x (N, T, C) to (N, C), or (N, 1, C)
 * with keepdims != 0 (Keras' GlobalAveragePooling1D). mask (N, T) float32 or
 * NULL: step s of sequence i weighs mask[i][s] (1 = keep, 0 = padding), so
 * with a padding mask the mean is over the unmasked steps only; a sequence
 * whose mask sums to 0 gives zeros (where Keras divides by 0). The mask gets
 * no gradient and is not kept (it may be freed after the call).
 * Errors: BGM_E_INVALID (NULL x or out), BGM_E_DTYPE (x or mask not
 * float32), BGM_E_SHAPE (x not 3-dimensional, T = 0, mask not (N, T)),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_global_avg_pool1d(bgm_tensor **out, bgm_tape *tape,
                                            const bgm_tensor *x, const bgm_tensor *mask,
                                            int keepdims);

/**
 * Zero padding (Keras ZeroPadding2D, channels_last): x (N, H, W, C) to
 * (N, top + H + bottom, left + W + right, C), x in the middle and zeros
 * around it. The gradient of x is the middle of the output gradient.
 * Errors: BGM_E_INVALID (NULL, a padding < 0), BGM_E_DTYPE, BGM_E_SHAPE
 * (x is not 4-dimensional, the padded size overflows), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_zero_pad2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int64_t top, int64_t bottom, int64_t left,
                                     int64_t right);

/* ---- position encodings ------------------------------------------------ */

/**
 * Learned position embeddings (keras_hub's PositionEmbedding): out has x's
 * shape (..., T, d) and holds rows start .. start + T - 1 of table
 * (sequence_length, d) at every leading index. Only x's shape is read (x
 * gets no gradient); table's gradient is the output gradient summed over
 * the leading dimensions, in its rows start .. start + T - 1. start > 0
 * serves incremental decoding (the input holds positions start, ...).
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (table not float32),
 * BGM_E_SHAPE (x of rank < 2, table not (sequence_length, d)), BGM_E_RANGE
 * (start < 0, start + T > sequence_length), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_position_embedding(bgm_tensor **out, bgm_tape *tape,
                                             const bgm_tensor *x, const bgm_tensor *table,
                                             int64_t start);

/**
 * Fixed sinusoidal position encodings (keras_hub's SinePositionEncoding):
 * out has x's shape (..., T, d); at position p = start + t, feature j is
 * sin(p * r_j) for even j and cos(p * r_j) for odd j, with
 * r_j = max_wavelength^(-2 * floor(j / 2) / d), the same at every leading
 * index (computed in double, rounded to float32). Only x's shape is read;
 * nothing is differentiable, so nothing is recorded.
 * Errors: BGM_E_INVALID (NULL, max_wavelength not finite and > 0),
 * BGM_E_SHAPE (x of rank < 2), BGM_E_RANGE (start < 0), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_sine_position_encoding(bgm_tensor **out, bgm_tape *tape,
                                                 const bgm_tensor *x, float max_wavelength,
                                                 int64_t start);

/* ---- normalization and regularization ---------------------------------- */

/**
 * Batch normalization over every axis but the last (channels): x (..., C),
 * gamma, beta, running_mean, running_var all (C); gamma / beta may be NULL
 * (scale 1 / shift 0).
 * training != 0: normalizes with the batch mean and biased variance, and
 * updates running_mean / running_var in place (when given; they may be NULL
 * together in training) with Keras' convention
 *     running = momentum * running + (1 - momentum) * batch statistic,
 * where the variance fed to running_var is the unbiased one (times
 * M / (M - 1), M = elements per channel; as PyTorch; M == 1 uses the biased
 * value). PyTorch's momentum is 1 - this momentum.
 * training == 0: normalizes with running_mean and running_var (required).
 * y = gamma * (x - mean) / sqrt(var + epsilon) + beta. Gradients flow to x,
 * gamma and beta; the running statistics get none. The update happens even
 * when the call is recorded; do not read them on a tape that still needs them.
 * Errors: BGM_E_INVALID (NULL x or out, missing running statistics,
 * momentum outside [0, 1], epsilon <= 0), BGM_E_DTYPE, BGM_E_SHAPE (x is a
 * scalar, a parameter is not (C), training with no elements), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_batch_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     const bgm_tensor *gamma, const bgm_tensor *beta,
                                     bgm_tensor *running_mean, bgm_tensor *running_var,
                                     float momentum, float epsilon, int training);

/**
 * Layer normalization over the last axis (Keras' LayerNormalization with
 * axis -1, PyTorch's layer_norm over the last dimension): each row x[..., :]
 * of D features becomes
 *     y = (x - mean) / sqrt(var + epsilon) * gamma + beta,
 * mean and (biased) variance over the row. gamma and beta (D) may each be
 * NULL (scale 1 / shift 0). Gradients flow to x, gamma and beta. One fused
 * pass per row each way, threaded over rows; recording keeps 8 bytes per row.
 * Errors: BGM_E_INVALID (NULL x or out, epsilon not finite and > 0),
 * BGM_E_DTYPE, BGM_E_SHAPE (x is a scalar, gamma / beta not (D)), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_layer_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     const bgm_tensor *gamma, const bgm_tensor *beta,
                                     float epsilon);

/**
 * RMS normalization over the last axis (Keras' RMSNormalization):
 *     y = x / sqrt(mean(x^2) + epsilon) * scale,
 * the mean over the row's D features; scale (D) may be NULL (1). Gradients
 * flow to x and scale. Errors as bgm_op_layer_norm.
 */
BGM_API bgm_status bgm_op_rms_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                   const bgm_tensor *scale, float epsilon);

/**
 * Inverted dropout. With training != 0 and rate > 0, each element is dropped
 * (set to 0) with probability rate and kept elements are scaled by
 * 1 / (1 - rate), so the expectation is unchanged. The mask comes from rng:
 * exactly one bgm_rng_uniform(rng) per element in row-major order, and the
 * element is dropped when that draw is < rate. Otherwise out is a copy of x
 * and rng is not touched (it may then be NULL).
 * Errors: BGM_E_INVALID (NULL, rate outside [0, 1), rng NULL when it is
 * needed), BGM_E_DTYPE, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_dropout(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  float rate, bgm_rng *rng, int training);

/* ---- attention ----------------------------------------------------------- */

/**
 * Scaled dot-product attention, fused: out = softmax(scale * q k^T, masked) v
 * for every (batch, head), with the heads laid out as a projection leaves
 * them: q (N, T, H, dk), k (N, S, H, dk), v (N, S, H, dv), out (N, T, H, dv).
 * mask (N, T, S) float32 or NULL: query t attends to key s where it is
 * nonzero. causal nonzero also hides the keys s > t (Keras' causal mask,
 * aligned at the top left when T != S). A query that attends to no key gets
 * a zero output and zero gradients (PyTorch gives NaN there, Keras a uniform
 * average). Runs one (batch, head) block at a time in tiles of 32 queries on
 * the thread pool, never holding all T x S scores; a recorded call keeps
 * only each row's log-sum-exp (N * H * T floats) and a workspace, and
 * backward recomputes the probabilities. Gradients flow to q, k and v (not
 * to the mask).
 * Errors: BGM_E_INVALID (NULL q, k or v, scale not finite), BGM_E_DTYPE,
 * BGM_E_SHAPE (ranks, q and k differ in batch, heads or key_dim, v and k in
 * batch, keys or heads, mask not (N, T, S)), BGM_E_UNSUPPORTED (a dimension
 * above INT_MAX), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_attention(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                                    const bgm_tensor *k, const bgm_tensor *v,
                                    const bgm_tensor *mask, int causal, float scale);

/* ---- losses (0-dimensional results) ------------------------------------
 * pred and target are float32; gradients flow to both (targets are often
 * constants, in which case nobody asks for theirs).
 */

/** Mean squared error: mean of (pred - target)^2 over all elements (same shape). */
BGM_API bgm_status bgm_op_mse_loss(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *pred, const bgm_tensor *target);

/** Mean absolute error: mean of |pred - target| over all elements (same shape). */
BGM_API bgm_status bgm_op_mae_loss(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *pred, const bgm_tensor *target);

/**
 * Binary cross-entropy, mean over all elements (pred and target same shape,
 * targets in [0, 1]). from_logits != 0: pred are logits and the loss is
 * max(x, 0) - x t + log(1 + e^-|x|), stable for any x. Otherwise pred are
 * probabilities clipped to [1e-7, 1 - 1e-7] (Keras); clipped entries get no
 * gradient.
 */
BGM_API bgm_status bgm_op_binary_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                              const bgm_tensor *pred,
                                              const bgm_tensor *target, int from_logits);

/**
 * Categorical cross-entropy: pred and target (..., C), target one-hot (or
 * any distribution); the loss -sum_c target * log p, averaged over all rows.
 * from_logits != 0: p = softmax(pred) through log-sum-exp. Otherwise each
 * row of pred is divided by its sum and clipped to [1e-7, 1 - 1e-7] (Keras).
 * Errors also: BGM_E_SHAPE (pred is a scalar, shapes differ).
 */
BGM_API bgm_status bgm_op_categorical_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                                   const bgm_tensor *pred,
                                                   const bgm_tensor *target,
                                                   int from_logits);

/**
 * Categorical cross-entropy with integer labels: pred (..., C) float32,
 * labels int32 of pred's shape without the last dimension (e.g. (N, C) and
 * (N)), each in [0, C). Same from_logits meaning as
 * bgm_op_categorical_crossentropy. labels gets no gradient; a copy is kept
 * on the tape, so it may change after the call.
 * Errors also: BGM_E_DTYPE (labels not int32), BGM_E_SHAPE, BGM_E_RANGE (a
 * label outside [0, C): the message names the row and the value).
 */
BGM_API bgm_status bgm_op_sparse_categorical_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                                          const bgm_tensor *pred,
                                                          const bgm_tensor *labels,
                                                          int from_logits);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_NN_OPS_H */
