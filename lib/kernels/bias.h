/*
 * A per-column bias on a row-major (rows, n) matrix, as convolutions and
 * dense layers add it: the forward adds it to every row, the backward sums
 * the rows of the output gradient into it.
 */
#ifndef BGM_KERNELS_BIAS_H
#define BGM_KERNELS_BIAS_H

#include <stdint.h>

/* y[r, j] += b[j] for every row r. */
void bgm__bias_add_rows(float *y, const float *b, int64_t rows, int64_t n);

/* The epilogue of an inference convolution, one pass per row while it is
 * in cache: y[r, j] = act(y[r, j] + b[j] + res[r, j]), b and res optional
 * (NULL), act ReLU when relu, the identity otherwise. The sums in that
 * order, as a bias add, an Add layer and an Activation would do them. */
void bgm__bias_epilogue_rows(float *y, const float *b, const float *res, int relu,
                             int64_t rows, int64_t n);

/* gb[j] += sum over r of gy[r, j], the rows summed in order first. */
void bgm__bias_sum_rows(float *gb, const float *gy, int64_t rows, int64_t n);

#endif
