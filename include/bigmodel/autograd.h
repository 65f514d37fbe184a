/*
 * bigmodel/autograd.h — differentiable operations and the gradient tape.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * Every operation has the form
 *
 *     bgm_status bgm_op_NAME(bgm_tensor **out, bgm_tape *tape, inputs..., options...);
 *
 * With tape == NULL the operation just computes: *out is a new tensor the
 * caller frees with bgm_tensor_free(). With a tape, the operation is also
 * recorded so that bgm_tape_gradient() can differentiate through it, and *out
 * is owned by the tape: it lives until bgm_tape_reset() or bgm_tape_free() and
 * the caller never frees it. Inputs are borrowed; the caller keeps them alive
 * and unchanged until the tape is reset or freed.
 *
 * Operations take float32 tensors (BGM_E_DTYPE otherwise). Binary elementwise
 * operations broadcast by NumPy's rules. Shape errors are reported by the call
 * that causes them (BGM_E_SHAPE), and the message names both shapes.
 * Common errors of every operation: BGM_E_INVALID (NULL out or input, bad
 * axis), BGM_E_DTYPE, BGM_E_SHAPE, BGM_E_NOMEM. On error *out is NULL and the
 * tape is unchanged.
 */
#ifndef BIGMODEL_AUTOGRAD_H
#define BIGMODEL_AUTOGRAD_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Records operations for reverse-mode differentiation (Keras' GradientTape). */
typedef struct bgm_tape bgm_tape;

/* ---- the tape ---------------------------------------------------------- */

/** New empty tape; free it with bgm_tape_free(). Errors: BGM_E_INVALID, BGM_E_NOMEM. */
BGM_API bgm_status bgm_tape_create(bgm_tape **out);

/** Frees the tape and every tensor it owns (op results, gradients). NULL is a no-op. */
BGM_API void bgm_tape_free(bgm_tape *tape);

/**
 * Forgets every recorded operation and frees the tensors the tape owns, but
 * keeps its memory for reuse: call it between training steps instead of
 * free + create. Watched tensors are forgotten too.
 * Errors: BGM_E_INVALID (NULL).
 */
BGM_API bgm_status bgm_tape_reset(bgm_tape *tape);

/**
 * Makes the tape differentiate with respect to t even though t does not
 * require gradients (tf.GradientTape.watch). t is borrowed.
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (not float32).
 */
BGM_API bgm_status bgm_tape_watch(bgm_tape *tape, const bgm_tensor *t);

/**
 * Marks a float32 tensor (typically a weight) so every tape differentiates
 * with respect to it, like PyTorch's requires_grad. Views made later do not
 * inherit the mark. Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE.
 */
BGM_API bgm_status bgm_tensor_set_requires_grad(bgm_tensor *t, int requires_grad);

/** 1 when t requires gradients, else 0 (also for NULL). */
BGM_API int bgm_tensor_requires_grad(const bgm_tensor *t);

/**
 * Gradients of the scalar loss with respect to sources[0..n-1].
 * loss must be a one-element tensor recorded on this tape (or a source
 * itself). grads_out[i] receives a tensor of the shape of sources[i], owned
 * by the tape (do not free it); a source that loss does not depend on gets
 * zeros. May be called more than once on one tape; each call recomputes.
 * Errors: BGM_E_INVALID (NULL, n < 0), BGM_E_SHAPE (loss has more than one
 * element), BGM_E_STATE (loss was not recorded on this tape), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_tape_gradient(bgm_tape *tape, const bgm_tensor *loss,
                                     bgm_tensor *const *sources, int n,
                                     bgm_tensor **grads_out);

/* ---- elementwise binary (broadcasting) --------------------------------- */

/** out = a + b. */
BGM_API bgm_status bgm_op_add(bgm_tensor **out, bgm_tape *tape,
                              const bgm_tensor *a, const bgm_tensor *b);
/** out = a - b. */
BGM_API bgm_status bgm_op_sub(bgm_tensor **out, bgm_tape *tape,
                              const bgm_tensor *a, const bgm_tensor *b);
/** out = a * b (elementwise). */
BGM_API bgm_status bgm_op_mul(bgm_tensor **out, bgm_tape *tape,
                              const bgm_tensor *a, const bgm_tensor *b);
/** out = a / b (elementwise; IEEE results for division by zero). */
BGM_API bgm_status bgm_op_div(bgm_tensor **out, bgm_tape *tape,
                              const bgm_tensor *a, const bgm_tensor *b);
/**
 * out = max(a, b) (elementwise; Keras' Maximum merge). A NaN in either
 * operand gives NaN; on a tie the result is a's value (0 or -0). Gradient as
 * PyTorch's torch.maximum: all of it to the larger operand, half to each on
 * a tie, all of it to both where either is NaN.
 */
BGM_API bgm_status bgm_op_maximum(bgm_tensor **out, bgm_tape *tape,
                                  const bgm_tensor *a, const bgm_tensor *b);
/**
 * out = min(a, b) (elementwise; Keras' Minimum merge). NaN, ties and the
 * gradient as bgm_op_maximum, with the smaller operand winning.
 */
BGM_API bgm_status bgm_op_minimum(bgm_tensor **out, bgm_tape *tape,
                                  const bgm_tensor *a, const bgm_tensor *b);

/* ---- elementwise unary ------------------------------------------------- */

/** out = -x. */
BGM_API bgm_status bgm_op_neg(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = alpha * x. */
BGM_API bgm_status bgm_op_scale(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                float alpha);
/** out = e^x. */
BGM_API bgm_status bgm_op_exp(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = ln x (NaN / -inf outside the domain, as IEEE says). */
BGM_API bgm_status bgm_op_log(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = sqrt x. */
BGM_API bgm_status bgm_op_sqrt(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = x^p for a scalar exponent p. */
BGM_API bgm_status bgm_op_pow(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              float p);
/** out = max(x, 0). */
BGM_API bgm_status bgm_op_relu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = x for x > 0, alpha * x otherwise. */
BGM_API bgm_status bgm_op_leaky_relu(bgm_tensor **out, bgm_tape *tape,
                                     const bgm_tensor *x, float alpha);
/** out = 1 / (1 + e^-x), computed without overflow. */
BGM_API bgm_status bgm_op_sigmoid(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = tanh x. */
BGM_API bgm_status bgm_op_tanh(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = x * Phi(x), the exact (erf) GELU, as PyTorch's default. */
BGM_API bgm_status bgm_op_gelu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/**
 * out = 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))), the tanh
 * approximation of GELU (PyTorch's approximate='tanh', Keras'
 * gelu(approximate=True)), computed as x * sigmoid(2u): within 5e-7
 * relative of that formula in exact arithmetic for x >= -2, 1.5e-6 at -4
 * and 2e-5 in the far left tail (float rounding of the cubic; 1 + tanh
 * loses every digit there).
 */
BGM_API bgm_status bgm_op_gelu_tanh(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** out = x * sigmoid(x): SiLU, also called swish. */
BGM_API bgm_status bgm_op_silu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);

/* ---- linear algebra and shapes ----------------------------------------- */

/**
 * Matrix product. a is (..., m, k), b is (..., k, n), out is (..., m, n);
 * both need at least 2 dimensions and the leading (batch) dimensions
 * broadcast by NumPy's rules. Computed with cblas_sgemm.
 * Errors also: BGM_E_SHAPE (fewer than 2 dimensions, inner dimensions differ,
 * batch dimensions do not broadcast), BGM_E_UNSUPPORTED (m, k or n above
 * INT_MAX, the most BLAS takes).
 */
BGM_API bgm_status bgm_op_matmul(bgm_tensor **out, bgm_tape *tape,
                                 const bgm_tensor *a, const bgm_tensor *b);

/**
 * A dense layer's affine map: out = x kernel + bias over the last axis of x,
 * x (..., k) with at least one leading axis, kernel (k, n), bias (n) or
 * NULL, out (..., n): every leading axis folded into the rows of one
 * cblas_sgemm, the bias added in the same op (Keras' Dense; PyTorch's
 * F.linear with the weight transposed). Gradients flow to x, kernel and bias.
 * Errors also: BGM_E_SHAPE (x has one axis, its last is not the kernel's
 * rows, bias is not (n)), BGM_E_UNSUPPORTED (sizes above INT_MAX).
 */
BGM_API bgm_status bgm_op_linear(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias);

/**
 * a times b transposed, without copying b: a is (..., k), b is (n, k), out
 * is (..., n) = a b^T, every leading dimension of a folded into the rows of
 * one cblas_sgemm (a tied output projection: hidden states times an
 * embedding matrix). Gradients flow to both.
 * Errors also: BGM_E_SHAPE (a of rank 0, b not 2-dimensional, a's last
 * dimension not k), BGM_E_UNSUPPORTED (a size above INT_MAX).
 */
BGM_API bgm_status bgm_op_matmul_nt(bgm_tensor **out, bgm_tape *tape,
                                    const bgm_tensor *a, const bgm_tensor *b);

/** Swaps the last two dimensions (x needs at least 2). */
BGM_API bgm_status bgm_op_transpose(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);

/**
 * Reorders dimensions: out dimension i is x dimension perm[i]; perm has ndim
 * entries (negative ones count from the end). Errors also: BGM_E_INVALID
 * unless perm names each of x's dimensions exactly once.
 */
BGM_API bgm_status bgm_op_permute(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  const int *perm, int ndim);

/**
 * Same elements in another shape (one entry may be -1). On a tape the result
 * shares x's memory; without one it is a copy. Errors also: BGM_E_SHAPE when
 * the element counts differ.
 */
BGM_API bgm_status bgm_op_reshape(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  const int64_t *shape, int ndim);

/**
 * Joins n >= 1 tensors along axis (negative counts from the end); all other
 * dimensions must match.
 */
BGM_API bgm_status bgm_op_concat(bgm_tensor **out, bgm_tape *tape,
                                 const bgm_tensor *const *xs, int n, int axis);

/**
 * Elements start, start+1, ..., stop-1 along axis (negative axis counts from
 * the end). Errors also: BGM_E_RANGE unless 0 <= start <= stop <= dim.
 */
BGM_API bgm_status bgm_op_slice(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                int axis, int64_t start, int64_t stop);

/* ---- reductions -------------------------------------------------------- */

/** Sum of all elements: a scalar (0-dimensional) tensor. */
BGM_API bgm_status bgm_op_sum_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** Mean of all elements: a scalar tensor. */
BGM_API bgm_status bgm_op_mean_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);
/** Maximum of all elements: a scalar tensor (gradient goes to the first maximum). */
BGM_API bgm_status bgm_op_max_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x);

/** Sum over one axis; keepdims keeps it with size 1. */
BGM_API bgm_status bgm_op_sum(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              int axis, int keepdims);
/** Mean over one axis. */
BGM_API bgm_status bgm_op_mean(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                               int axis, int keepdims);
/**
 * Maximum over one axis (gradient goes to the first maximum of each slice; a
 * NaN is the maximum of its slice). Errors also: BGM_E_SHAPE for an empty axis.
 */
BGM_API bgm_status bgm_op_max(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              int axis, int keepdims);

/* ---- normalizations ---------------------------------------------------- */

/** Softmax along axis, numerically stable (the maximum is subtracted first). */
BGM_API bgm_status bgm_op_softmax(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  int axis);
/** log(softmax(x)) along axis, computed as x - max - log(sum(exp(x - max))). */
BGM_API bgm_status bgm_op_log_softmax(bgm_tensor **out, bgm_tape *tape,
                                      const bgm_tensor *x, int axis);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_AUTOGRAD_H */
