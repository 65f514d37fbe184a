/*
 * bgm_op_matmul: (..., m, k) @ (..., k, n) with NumPy-broadcast batch
 * dimensions, every product through cblas_sgemm (kernels/gemm.h).
 *
 * The batch is described by strides over the output's batch dimensions, 0
 * where an operand is broadcast; the backward walks the same description
 * with sgemm's transposes and beta = 1, which sums the gradient of a
 * broadcast operand over the dimensions it was repeated along. When b has
 * no batch of its own (the common x @ W), a's batch folds into its rows and
 * each pass is a single sgemm.
 */
#include <limits.h>
#include <string.h>

#include "kernels/gemm.h"
#include "tape.h"

typedef struct mm_plan {
    int64_t m, k, n;
    int nbatch;
    int64_t batch[BGM_MAX_DIMS];           /* output batch shape */
    int64_t sa[BGM_MAX_DIMS], sb[BGM_MAX_DIMS], sc[BGM_MAX_DIMS];
    int64_t batch_count, b_count;          /* output / b matrices */
} mm_plan;

/* Element stride of each batch dimension of t aligned to the output's
 * nbatch batch dimensions; 0 where t is absent or of size 1. */
static void batch_strides(const bgm_tensor *t, int nbatch, int64_t *strides, int64_t *count)
{
    int tb = t->ndim - 2, d;
    int64_t s = t->shape[t->ndim - 2] * t->shape[t->ndim - 1];
    *count = 1;
    for (d = nbatch - 1; d >= 0; d--) {
        int td = d - (nbatch - tb);
        int64_t size = td >= 0 ? t->shape[td] : 1;
        strides[d] = size == 1 ? 0 : s;
        s *= size;
        *count *= size;
    }
}

/* Fills p and the output shape; 0 when the batch dimensions do not broadcast. */
static int plan_matmul(mm_plan *p, const bgm_tensor *a, const bgm_tensor *b,
                       int64_t *shape, int *ndim)
{
    int na = a->ndim - 2, nb = b->ndim - 2, d;
    int64_t a_count;
    p->m = a->shape[a->ndim - 2];
    p->k = a->shape[a->ndim - 1];
    p->n = b->shape[b->ndim - 1];
    p->nbatch = na > nb ? na : nb;
    for (d = 0; d < p->nbatch; d++) {
        int da = d - (p->nbatch - na), db = d - (p->nbatch - nb);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1)
            return 0;
        p->batch[d] = sa == 1 ? sb : sa;
        shape[d] = p->batch[d];
    }
    shape[p->nbatch] = p->m;
    shape[p->nbatch + 1] = p->n;
    *ndim = p->nbatch + 2;
    batch_strides(a, p->nbatch, p->sa, &a_count);
    batch_strides(b, p->nbatch, p->sb, &p->b_count);
    p->batch_count = 1;
    for (d = 0; d < p->nbatch; d++)
        p->batch_count *= p->batch[d];
    /* The output is contiguous. */
    for (d = p->nbatch - 1; d >= 0; d--)
        p->sc[d] = d == p->nbatch - 1 ? p->m * p->n : p->sc[d + 1] * p->batch[d + 1];
    return 1;
}

/* a's batch folds into rows when b is one matrix shared by the whole batch. */
static int can_fold(const mm_plan *p)
{
    return p->b_count == 1 && p->batch_count <= INT_MAX / (p->m > 0 ? p->m : 1);
}

static void matmul_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *a = node->in[0], *b = node->in[1];
    int64_t shape[BGM_MAX_DIMS];
    int ndim;
    mm_plan p;
    plan_matmul(&p, a, b, shape, &ndim);
    if (can_fold(&p)) {
        int64_t rows = p.batch_count * p.m;
        /* A fresh (uninitialized) gradient is written: beta = 0. */
        if (gin[0]) /* dA (rows, k) += gC (rows, n) @ B^T */
            bgm__gemm(0, 1, rows, p.k, p.n, 1.0f, gout, p.n, b->data, p.n,
                      node->fresh & 1 ? 0.0f : 1.0f, gin[0], p.k);
        if (gin[1]) /* dB (k, n) += A^T (k, rows) @ gC (rows, n) */
            bgm__gemm(1, 0, p.k, p.n, rows, 1.0f, a->data, p.k, gout, p.n,
                      node->fresh & 2 ? 0.0f : 1.0f, gin[1], p.n);
        return;
    }
    if (gin[0] && (node->fresh & 1))
        memset(gin[0], 0, (size_t)a->numel * sizeof *gin[0]);
    if (gin[1] && (node->fresh & 2))
        memset(gin[1], 0, (size_t)b->numel * sizeof *gin[1]);
    if (gin[0])
        bgm__gemm_batched(0, 1, p.m, p.k, p.n, 1.0f, gout, p.n, b->data, p.n, 1.0f,
                          gin[0], p.k, p.nbatch, p.batch, p.sc, p.sb, p.sa);
    if (gin[1])
        bgm__gemm_batched(1, 0, p.k, p.n, p.m, 1.0f, a->data, p.k, gout, p.n, 1.0f,
                          gin[1], p.n, p.nbatch, p.batch, p.sa, p.sc, p.sb);
}

static const bgm__op op_matmul = {"matmul", matmul_backward, 1};

BGM_API bgm_status bgm_op_matmul(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                                 const bgm_tensor *b)
{
    static const char *fn = "bgm_op_matmul";
    const bgm_tensor *in[2] = {a, b};
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS];
    int ndim;
    mm_plan p;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sa, sizeof sa, a);
    bgm__tensor_shape_str(sb, sizeof sb, b);
    if (a->ndim < 2 || b->ndim < 2)
        return bgm__fail(BGM_E_SHAPE, "%s: cannot multiply %s by %s: both operands need "
                         "at least 2 dimensions", fn, sa, sb);
    if (a->shape[a->ndim - 1] != b->shape[b->ndim - 2])
        return bgm__fail(BGM_E_SHAPE, "%s: cannot multiply %s by %s: inner dimensions "
                         "%lld and %lld differ", fn, sa, sb,
                         (long long)a->shape[a->ndim - 1], (long long)b->shape[b->ndim - 2]);
    if (!plan_matmul(&p, a, b, shape, &ndim)) {
        char ba[BGM__SHAPE_STR_SIZE], bb[BGM__SHAPE_STR_SIZE];
        return bgm__fail(BGM_E_SHAPE, "%s: cannot multiply %s by %s: batch dimensions "
                         "%s and %s do not broadcast", fn, sa, sb,
                         bgm__shape_str(ba, sizeof ba, a->shape, a->ndim - 2),
                         bgm__shape_str(bb, sizeof bb, b->shape, b->ndim - 2));
    }
    if (p.m > INT_MAX || p.k > INT_MAX || p.n > INT_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: cannot multiply %s by %s: BLAS takes "
                         "matrix dimensions up to %d", fn, sa, sb, INT_MAX);
    s = bgm__op_begin(&c, fn, out, tape, &op_matmul, in, 2, shape, ndim, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node)
        c.node->fills_fresh = 1;
    if (can_fold(&p))
        bgm__gemm(0, 0, p.batch_count * p.m, p.n, p.k, 1.0f, a->data, p.k, b->data, p.n,
                  0.0f, c.out->data, p.n);
    else
        bgm__gemm_batched(0, 0, p.m, p.n, p.k, 1.0f, a->data, p.k, b->data, p.n, 0.0f,
                          c.out->data, p.n, p.nbatch, p.batch, p.sa, p.sb, p.sc);
    return bgm__op_end(&c, out);
}
