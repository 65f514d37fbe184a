/*
 * bigmodel/rnn_ops.h — sequence operations: embedding lookup and the LSTM and
 * GRU recurrences, as differentiable operations.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * These follow the conventions of bigmodel/autograd.h: the form
 * bgm_op_NAME(bgm_tensor **out, bgm_tape *tape, inputs..., options...), a
 * caller-owned result without a tape and a tape-owned one with a tape, inputs
 * borrowed until the tape is reset or freed, *out NULL and the tape unchanged
 * on error. Optional inputs may be NULL.
 *
 * Sequences are batch-major (N, T, features), as Keras. Weights are laid out
 * as Keras stores them: an input kernel (F, G*H), a recurrent kernel
 * (H, G*H), the G gate blocks side by side in Keras' order. PyTorch keeps the
 * transposes (weight_ih_l0 is w_ih^T) and, for the GRU, another gate order.
 *
 * Masks: mask (N, T) marks the steps to process (nonzero) and the padding
 * (0). As in Keras, a padded step leaves the state unchanged and its output
 * repeats the previous step's output (zeros before the first unpadded step).
 * The recurrent mask (N, H) multiplies the state before every recurrent
 * product: it is how a layer applies recurrent dropout with one mask per
 * sequence. Masks are constants: no gradient flows into them.
 *
 * reverse != 0 processes time from the last step to the first (Keras'
 * go_backwards), but outputs stay aligned with the input: out[:, t] is the
 * state after step t, so a bidirectional layer concatenates the forward and
 * the reverse results as they come (as PyTorch's bidirectional RNNs and
 * Keras' Bidirectional do). Without return_sequences the result is the
 * output of the last step processed (t = 0 when reverse).
 */
#ifndef BIGMODEL_RNN_OPS_H
#define BIGMODEL_RNN_OPS_H

#include "autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Looks up rows of a table: ids int32 of any shape, table float32 (V, D),
 * out float32 of shape ids.shape + (D): out[..., :] = table[ids[...], :]
 * (Keras' Embedding, PyTorch's nn.Embedding). The gradient adds each output
 * row into the table row it came from, so repeated ids accumulate. The ids
 * are copied when recorded; no gradient flows into them.
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (ids not int32, table not
 * float32), BGM_E_SHAPE (table not 2-D, ids with BGM_MAX_DIMS dimensions),
 * BGM_E_RANGE (an id outside [0, V): the message names its position and
 * value), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_embedding(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *ids,
                                    const bgm_tensor *table);

/**
 * The padding mask of a batch of id sequences: a new float32 tensor of ids'
 * shape, 1 where the id is not 0 and 0 where it is (Keras' mask_zero), for
 * the mask argument of bgm_op_lstm / bgm_op_gru. The caller frees it.
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (ids not int32), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_sequence_mask(bgm_tensor **out, const bgm_tensor *ids);

/**
 * Long short-term memory over a batch of sequences (Keras' LSTM):
 *     i = sigmoid(x W_i + h U_i + b_i)    f = sigmoid(x W_f + h U_f + b_f)
 *     g = tanh(x W_g + h U_g + b_g)       o = sigmoid(x W_o + h U_o + b_o)
 *     c' = f * c + i * g                  h' = o * tanh(c')
 * x (N, T, F); w_ih (F, 4H) and w_hh (H, 4H) with the gate blocks in the
 * order i, f, g, o (Keras' kernel and recurrent_kernel; PyTorch's
 * weight_ih_l0 / weight_hh_l0 transposed, same order); bias (4H) or NULL
 * (PyTorch's bias_ih + bias_hh); h0 and c0 (N, H) or NULL for zeros; mask
 * (N, T) or NULL; recurrent_mask (N, H) or NULL (see the file comment).
 * out is (N, T, H) with return_sequences, else (N, H).
 * The input projections of all steps are one matrix product, then one per
 * step; recording keeps the gate activations and states of every step,
 * and room for their gradients (about 11 * N * T * H floats in all), so
 * the backward pass allocates nothing.
 * Errors: BGM_E_INVALID (NULL out, x, w_ih or w_hh), BGM_E_DTYPE (any
 * tensor not float32), BGM_E_SHAPE (any shape that does not fit the others;
 * no time steps), BGM_E_UNSUPPORTED (sizes beyond BLAS' int), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_op_lstm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                               const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                               const bgm_tensor *bias, const bgm_tensor *h0,
                               const bgm_tensor *c0, const bgm_tensor *mask,
                               const bgm_tensor *recurrent_mask, int return_sequences,
                               int reverse);

/**
 * Gated recurrent unit over a batch of sequences (Keras' GRU with its default
 * reset_after=True, which is also PyTorch's nn.GRU):
 *     z = sigmoid(x W_z + b_iz + h U_z + b_hz)
 *     r = sigmoid(x W_r + b_ir + h U_r + b_hr)
 *     n = tanh(x W_n + b_in + r * (h U_n + b_hn))
 *     h' = z * h + (1 - z) * n
 * x (N, T, F); w_ih (F, 3H) and w_hh (H, 3H) with the gate blocks in Keras'
 * order z, r, n (PyTorch orders r, z, n: swap the first two blocks and
 * transpose); bias (2, 3H) or NULL: row 0 the input biases, row 1 the
 * recurrent ones (Keras' bias; PyTorch's bias_ih_l0 and bias_hh_l0, blocks
 * swapped likewise); h0 (N, H) or NULL for zeros; mask (N, T) or NULL;
 * recurrent_mask (N, H) or NULL (it multiplies h in the recurrent product
 * only, not in the final blend, as Keras). out is (N, T, H) with
 * return_sequences, else (N, H). Computed and recorded like bgm_op_lstm
 * (about 8 * N * T * H floats kept).
 * Errors: as bgm_op_lstm.
 */
BGM_API bgm_status bgm_op_gru(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                              const bgm_tensor *bias, const bgm_tensor *h0,
                              const bgm_tensor *mask, const bgm_tensor *recurrent_mask,
                              int return_sequences, int reverse);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_RNN_OPS_H */
