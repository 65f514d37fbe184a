/*
 * Kernels of the sequence operations: embedding gather / scatter and the
 * per-step gate math of the LSTM and GRU cells, one sample (one row of
 * `hidden` units) per call. Matrix products are not here: the ops do them
 * with bgm__gemm for all samples of a step (or all steps) at once.
 *
 * Gate blocks lie side by side in a row: LSTM i, f, g, o (4 * hidden
 * floats); GRU z, r, n (3 * hidden), as Keras orders them.
 */
#ifndef BGM_KERNELS_RNN_H
#define BGM_KERNELS_RNN_H

#include <stdint.h>

/* out row k = table row ids[k] (dim floats each), k in [0, n); ids valid. */
void bgm__embedding_forward(const int32_t *ids, int64_t n, const float *table, int64_t dim,
                            float *out);

/* gtable row ids[k] += gout row k: repeated ids accumulate. */
void bgm__embedding_backward(const int32_t *ids, int64_t n, const float *gout, int64_t dim,
                             float *gtable);

/*
 * One LSTM step of one sample. gates holds the pre-activations x W + h U on
 * entry, to which bias (4 * hidden, or NULL) is added first, and the
 * activations i, f, g, o on return; c = f * c_prev + i * g, tanh_c =
 * tanh(c), h = o * tanh_c. No output may alias an input.
 */
void bgm__lstm_cell_forward(int64_t hidden, float *gates, const float *bias,
                            const float *c_prev, float *c, float *tanh_c, float *h);

/*
 * Backward of bgm__lstm_cell_forward given dh = dL/dh of this step, which is
 * zeroed on return (h_prev reaches the loss only through the recurrent
 * product). dc holds dL/dc from the later steps on entry and dL/dc_prev on
 * return; dgates is set to dL/d(pre-activations). gates are the saved
 * activations.
 */
void bgm__lstm_cell_backward(int64_t hidden, const float *gates, const float *c_prev,
                             const float *tanh_c, float *dh, float *dc, float *dgates);

/* The cells' sigmoid and tanh (vectorizable arithmetic, within a few ulp of
 * libm's; NaN stays NaN), one value at a time for tests. */
float bgm__rnn_sigmoid(float v);
float bgm__rnn_tanh(float v);

/*
 * One GRU step (reset_after) of one sample. xg holds x W + b_i on entry and
 * the activations z, r, n on return; rg is h U + b_h (3 blocks); rec_n is set
 * to rg's n block (saved for backward); h = z * h_prev + (1 - z) * n.
 */
void bgm__gru_cell_forward(int64_t hidden, float *xg, const float *rg, const float *h_prev,
                           float *rec_n, float *h);

/*
 * Backward of bgm__gru_cell_forward. dh holds dL/dh on entry and the direct
 * part of dL/dh_prev (dh * z) on return; dxg is set to dL/d(x W + b_i) and
 * drg to dL/d(h U + b_h).
 */
void bgm__gru_cell_backward(int64_t hidden, const float *gates, const float *rec_n,
                            const float *h_prev, float *dh, float *dxg, float *drg);

/* y[i] = a[i] * b[i]. */
void bgm__rnn_mul(int64_t n, const float *a, const float *b, float *y);

/* y[i] += a[i] * b[i]. */
void bgm__rnn_mul_add(int64_t n, const float *a, const float *b, float *y);

/* dst (cols, rows) = src (rows, cols) transposed. */
void bgm__rnn_transpose(int64_t rows, int64_t cols, const float *src, float *dst);

/* y[i] += x[i]. */
void bgm__rnn_add_row(int64_t n, const float *x, float *y);

/* y[j] += sum over rows i of x[i * ld + j], j in [0, cols). */
void bgm__rnn_add_column_sums(int64_t rows, int64_t cols, const float *x, int64_t ld,
                              float *y);

#endif
