/*
 * bgm_op_matmul_nt: (..., k) @ (n, k)^T, one sgemm with b transposed in
 * place, so a tied output projection never copies the embedding matrix.
 */
#include <limits.h>
#include <string.h>

#include "kernels/gemm.h"
#include "tape.h"

/* in[0] = a (rows, k), in[1] = b (n, k); out (rows, n). */
static void matmul_nt_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *a = node->in[0], *b = node->in[1];
    const int64_t n = b->shape[0], k = b->shape[1], rows = node->out->numel / (n ? n : 1);
    if (gin[0]) /* dA (rows, k) += gC (rows, n) @ B (n, k) */
        bgm__gemm(0, 0, rows, k, n, 1.0f, gout, n, b->data, k,
                  node->fresh & 1 ? 0.0f : 1.0f, gin[0], k);
    if (gin[1]) /* dB (n, k) += gC^T (n, rows) @ A (rows, k) */
        bgm__gemm(1, 0, n, k, rows, 1.0f, gout, n, a->data, k,
                  node->fresh & 2 ? 0.0f : 1.0f, gin[1], k);
}

static const bgm__op op_matmul_nt = {"matmul_nt", matmul_nt_backward, 1};

BGM_API bgm_status bgm_op_matmul_nt(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                                    const bgm_tensor *b)
{
    static const char *fn = "bgm_op_matmul_nt";
    const bgm_tensor *in[2] = {a, b};
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS], rows = 1, k;
    int d;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sa, sizeof sa, a);
    bgm__tensor_shape_str(sb, sizeof sb, b);
    if (a->ndim < 1 || b->ndim != 2 || a->shape[a->ndim - 1] != b->shape[1])
        return bgm__fail(BGM_E_SHAPE, "%s: cannot multiply %s by the transpose of %s: "
                         "expected a (..., k) and b (n, k)", fn, sa, sb);
    k = b->shape[1];
    for (d = 0; d < a->ndim - 1; d++)
        rows *= a->shape[d];
    if (rows > INT_MAX || k > INT_MAX || b->shape[0] > INT_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: cannot multiply %s by the transpose of "
                         "%s: BLAS takes matrix dimensions up to %d", fn, sa, sb, INT_MAX);
    memcpy(shape, a->shape, (size_t)a->ndim * sizeof *shape);
    shape[a->ndim - 1] = b->shape[0];
    s = bgm__op_begin(&c, fn, out, tape, &op_matmul_nt, in, 2, shape, a->ndim, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node)
        c.node->fills_fresh = 1;
    bgm__gemm(0, 1, rows, b->shape[0], k, 1.0f, a->data, k, b->data, k, 0.0f, c.out->data,
              b->shape[0]);
    return bgm__op_end(&c, out);
}
