/*
 * Loss kernels. Each forward returns the plain sum of the per-element (or
 * per-row) losses in double; the caller divides by the batch count. Each
 * backward adds scale * d(sum)/d(input) into the gradients it is given
 * (NULL: not wanted), where scale is d(loss)/d(sum), usually gout / count.
 * Class-wise losses see rows of c classes, classes innermost.
 */
#ifndef BGM_KERNELS_LOSSES_H
#define BGM_KERNELS_LOSSES_H

#include <stdint.h>

/* Clipping of probabilities, as Keras' backend epsilon. */
#define BGM__LOSS_EPS 1e-7f

/* sum (p - t)^2 */
double bgm__mse_sum(const float *p, const float *t, int64_t n);
void bgm__mse_backward(const float *p, const float *t, int64_t n, float scale, float *gp,
                       float *gt);

/* sum |p - t| (the gradient at p == t is 0) */
double bgm__mae_sum(const float *p, const float *t, int64_t n);
void bgm__mae_backward(const float *p, const float *t, int64_t n, float scale, float *gp,
                       float *gt);

/* sum max(x, 0) - x t + log1p(exp(-|x|)): binary cross-entropy of logits x */
double bgm__bce_logits_sum(const float *x, const float *t, int64_t n);
void bgm__bce_logits_backward(const float *x, const float *t, int64_t n, float scale,
                              float *gx, float *gt);

/* sum -(t log pc + (1 - t) log(1 - pc)), pc = p clipped to [eps, 1 - eps]
 * (clipped probabilities get no gradient) */
double bgm__bce_probs_sum(const float *p, const float *t, int64_t n);
void bgm__bce_probs_backward(const float *p, const float *t, int64_t n, float scale,
                             float *gp, float *gt);

/* sum over rows of -sum_j t_j log_softmax(x)_j */
double bgm__cce_logits_sum(const float *x, const float *t, int64_t rows, int64_t c);
void bgm__cce_logits_backward(const float *x, const float *t, int64_t rows, int64_t c,
                              float scale, float *gx, float *gt);

/* sum over rows of -sum_j t_j log qc_j, q = p / sum(p) per row, qc = q
 * clipped to [eps, 1 - eps] (Keras' probability path) */
double bgm__cce_probs_sum(const float *p, const float *t, int64_t rows, int64_t c);
void bgm__cce_probs_backward(const float *p, const float *t, int64_t rows, int64_t c,
                             float scale, float *gp, float *gt);

/* The same two with integer labels (each in [0, c), checked by the caller)
 * in place of one-hot rows. */
double bgm__scce_logits_sum(const float *x, const int32_t *labels, int64_t rows,
                            int64_t c);
void bgm__scce_logits_backward(const float *x, const int32_t *labels, int64_t rows,
                               int64_t c, float scale, float *gx);
double bgm__scce_probs_sum(const float *p, const int32_t *labels, int64_t rows,
                           int64_t c);
void bgm__scce_probs_backward(const float *p, const int32_t *labels, int64_t rows,
                              int64_t c, float scale, float *gp);

#endif
