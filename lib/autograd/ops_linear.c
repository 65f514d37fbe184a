/*
 * The affine map of Dense and attention projections as one op: y = x W + b
 * over x's trailing axes, with x's leading axes kept, in one sgemm and one
 * bias pass. Against matmul + add between reshapes, it records one result
 * instead of two (the bias sum is a copy of the product a backward never
 * needs) and no reshape gradients to copy.
 *
 * x (lead..., k...) with the trailing axes holding k elements, kernel of k
 * * n elements read as (k, n), bias NULL or of n elements, y (lead...,
 * tail...) with tail holding n.
 */
#include <limits.h>
#include <string.h>

#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "tape.h"

/* in[0] = x, in[1] = kernel, in[2] = bias (when present); attr[0] = k. */
static void affine_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *x = node->in[0], *w = node->in[1];
    int64_t k = node->attr[0], n = w->numel / k, rows = x->numel / k;
    if (gin[0]) /* dX (rows, k) += gY (rows, n) W^T */
        bgm__gemm(0, 1, rows, k, n, 1.0f, gout, n, w->data, n,
                  node->fresh & 1 ? 0.0f : 1.0f, gin[0], k);
    if (gin[1]) /* dW (k, n) += X^T gY */
        bgm__gemm(1, 0, k, n, rows, 1.0f, x->data, k, gout, n,
                  node->fresh & 2 ? 0.0f : 1.0f, gin[1], n);
    if (node->nin > 2 && gin[2]) {
        if (node->fresh & 4)
            memset(gin[2], 0, (size_t)n * sizeof *gin[2]);
        bgm__bias_sum_rows(gin[2], gout, rows, n);
    }
}

static const bgm__op op_affine = {"affine", affine_backward, 1};

bgm_status bgm__op_affine(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                          const bgm_tensor *kernel, const bgm_tensor *bias, int64_t k,
                          const int64_t *tail, int ntail, const char *fn)
{
    const bgm_tensor *in[3] = {x, kernel, bias};
    char sx[BGM__SHAPE_STR_SIZE], sw[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS], n = 1, inner = 1, rows;
    int nin = bias ? 3 : 2, lead, d;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    if (s != BGM_OK)
        return s;
    for (d = 0; d < ntail; d++)
        n *= tail[d];
    /* at least the last axis, even when k is 1: x (N, 1) is N rows */
    for (lead = x->ndim; lead > 0 && (inner < k || lead == x->ndim); lead--)
        inner *= x->shape[lead - 1];
    if (k < 1 || inner != k || lead < 1 || lead + ntail > BGM_MAX_DIMS)
        return bgm__fail(BGM_E_SHAPE, "%s: the trailing axes of x %s do not hold the %lld "
                         "inputs of the kernel (after at least one leading axis)", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x), (long long)k);
    if (kernel->numel != k * n)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s does not map %lld inputs to %lld "
                         "outputs", fn, bgm__tensor_shape_str(sw, sizeof sw, kernel),
                         (long long)k, (long long)n);
    if (bias && bias->numel != n)
        return bgm__fail(BGM_E_SHAPE, "%s: bias %s does not hold %lld values", fn,
                         bgm__tensor_shape_str(sw, sizeof sw, bias), (long long)n);
    rows = x->numel / k;
    if (rows > INT_MAX || k > INT_MAX || n > INT_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: BLAS takes matrix dimensions up to %d", fn,
                         INT_MAX);
    memcpy(shape, x->shape, (size_t)lead * sizeof *shape);
    memcpy(shape + lead, tail, (size_t)ntail * sizeof *shape);
    s = bgm__op_begin(&c, fn, out, tape, &op_affine, in, nin, shape, lead + ntail, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        c.node->fills_fresh = 1;
        c.node->attr[0] = k;
    }
    bgm__gemm(0, 0, rows, n, k, 1.0f, x->data, k, kernel->data, n, 0.0f, c.out->data, n);
    if (bias)
        bgm__bias_add_rows(c.out->data, bias->data, rows, n);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_linear(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias)
{
    static const char *fn = "bgm_op_linear";
    char sx[BGM__SHAPE_STR_SIZE], sw[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *in[3] = {x, kernel, bias};
    bgm_status s = bgm__op_check(fn, out, in, bias ? 3 : 2);
    if (s != BGM_OK)
        return s;
    if (kernel->ndim != 2)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s must be (inputs, units)", fn,
                         bgm__tensor_shape_str(sw, sizeof sw, kernel));
    if (x->ndim < 2 || x->shape[x->ndim - 1] != kernel->shape[0])
        return bgm__fail(BGM_E_SHAPE, "%s: cannot map x %s with kernel %s: x needs a batch "
                         "axis and a last axis of %lld", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x),
                         bgm__tensor_shape_str(sw, sizeof sw, kernel),
                         (long long)kernel->shape[0]);
    if (bias && (bias->ndim != 1 || bias->shape[0] != kernel->shape[1]))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%lld,) for kernel %s, got %s", fn,
                         (long long)kernel->shape[1], bgm__tensor_shape_str(sw, sizeof sw,
                                                                           kernel),
                         bgm__tensor_shape_str(sx, sizeof sx, bias));
    return bgm__op_affine(out, tape, x, kernel, bias, kernel->shape[0], &kernel->shape[1], 1,
                          fn);
}
