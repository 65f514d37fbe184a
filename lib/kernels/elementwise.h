/*
 * Unary elementwise kernels: y = f(x) and its backward gx += f'(x) * gy.
 * One entry point per direction, selected by bgm__unary; alpha is the op's
 * scalar (scale factor, exponent, leaky slope) and ignored by the others.
 */
#ifndef BGM_KERNELS_ELEMENTWISE_H
#define BGM_KERNELS_ELEMENTWISE_H

#include <stdint.h>

typedef enum bgm__unary {
    BGM__UN_NEG,
    BGM__UN_SCALE,
    BGM__UN_EXP,
    BGM__UN_LOG,
    BGM__UN_SQRT,
    BGM__UN_POW,
    BGM__UN_RELU,
    BGM__UN_LEAKY_RELU,
    BGM__UN_SIGMOID,
    BGM__UN_TANH,
    BGM__UN_GELU,
    BGM__UN_GELU_TANH,
    BGM__UN_SILU
} bgm__unary;

/* y[i] = f(x[i]) for i in [0, n); y may equal x. */
void bgm__unary_forward(bgm__unary op, float alpha, const float *x, float *y, int64_t n);

/* gx[i] += f'(x[i]) * gy[i], or gx[i] = f'(x[i]) * gy[i] when overwrite is
 * nonzero (gx then need not be initialized); y holds the forward result
 * (some derivatives are cheapest from it). */
void bgm__unary_backward(bgm__unary op, float alpha, const float *x, const float *y,
                         const float *gy, float *gx, int64_t n, int overwrite);

/* y[i] += x[i] for i in [0, n), vectorized; y and x do not overlap. */
void bgm__accumulate(float *restrict y, const float *restrict x, int64_t n);

/* y[i] = max(a[i] + b[i], 0): bgm_op_add then a ReLU, the same bits; y
 * may equal a or b. */
void bgm__add_relu_forward(const float *a, const float *b, float *y, int64_t n);

/* Its backward from the result y: g = gy where y > 0, else 0, written into
 * ga (fresh_a) or added to it, and the same for gb; either may be NULL. */
void bgm__add_relu_backward(const float *y, const float *gy, float *ga, int fresh_a,
                            float *gb, int fresh_b, int64_t n);

#endif
