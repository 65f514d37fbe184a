/*
 * 1-D convolution over (N, T, C) sequences as im2col + GEMM, with strides,
 * dilation and VALID / SAME / CAUSAL padding (Keras' Conv1D).
 *
 * The windows of a chunk of sequences form one (rows, K*C) matrix, rows =
 * sequences * OT, which times the kernel seen as a (K*C, F) matrix is the
 * output chunk. A chunk's patches fit CONV1D_CHUNK_BYTES (or are one
 * sequence's), so the workspace stays small; the backward pass recomputes
 * them into the same workspace, kept on the tape, and never allocates.
 */
#include <limits.h>
#include <string.h>

#include "bigmodel/nn_ops.h"
#include "kernels/bias.h"
#include "kernels/conv1d.h"
#include "kernels/gemm.h"
#include "tape.h"

#define CONV1D_CHUNK_BYTES ((int64_t)1 << 20)

typedef struct conv1d_plan {
    bgm__window1d g;
    int64_t n, f, kc;          /* sequences, filters, columns of a patch row (K*C) */
    int64_t chunk;             /* sequences per matrix product */
    float *col;                /* chunk * OT * K*C floats */
} conv1d_plan;

static void conv1d_backward(const bgm__node *node, const float *gout, float **gin)
{
    const conv1d_plan *p = node->saved;
    const bgm__window1d *g = &p->g;
    const float *x = node->in[0]->data, *w = node->in[1]->data;
    float *gx = gin[0], *gw = gin[1], *gb = node->nin > 2 ? gin[2] : NULL;
    int64_t i0, i;
    for (i0 = 0; i0 < p->n; i0 += p->chunk) {
        int64_t count = p->n - i0 < p->chunk ? p->n - i0 : p->chunk, rows = count * g->ot;
        const float *gy = gout + i0 * g->ot * p->f;
        if (gb)
            bgm__bias_sum_rows(gb, gy, rows, p->f);
        if (gw) { /* dK (K*C, F) += col^T (K*C, rows) @ gy (rows, F) */
            for (i = 0; i < count; i++)
                bgm__im2col1d(g, x + (i0 + i) * g->t * g->c, p->col + i * g->ot * p->kc);
            bgm__gemm(1, 0, p->kc, p->f, rows, 1.0f, p->col, p->kc, gy, p->f, 1.0f, gw, p->f);
        }
        if (gx) { /* dcol = gy @ K^T, scattered back onto the steps it read */
            bgm__gemm(0, 1, rows, p->kc, p->f, 1.0f, gy, p->f, w, p->f, 0.0f, p->col, p->kc);
            for (i = 0; i < count; i++)
                bgm__col2im1d(g, p->col + i * g->ot * p->kc, gx + (i0 + i) * g->t * g->c);
        }
    }
}

static const bgm__op op_conv1d = {"conv1d", conv1d_backward, 1};

/* Checks the arguments and fills p (all but col). */
static bgm_status conv1d_plan_make(const char *fn, conv1d_plan *p, const bgm_tensor *x,
                                   const bgm_tensor *kernel, const bgm_tensor *bias,
                                   int stride, int dilation, bgm_padding padding)
{
    char sx[BGM__SHAPE_STR_SIZE], sk[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    int64_t per_seq;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    bgm__tensor_shape_str(sk, sizeof sk, kernel);
    if (x->ndim != 3)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, T, C), got shape %s", fn, sx);
    if (kernel->ndim != 3)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel must be (K, C, F), got shape %s", fn, sk);
    if (x->shape[2] != kernel->shape[1])
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has %lld channels but kernel %s expects "
                         "%lld", fn, sx, (long long)x->shape[2], sk,
                         (long long)kernel->shape[1]);
    if (bias && (bias->ndim != 1 || bias->shape[0] != kernel->shape[2]))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%lld,) for kernel %s, got shape "
                         "%s", fn, (long long)kernel->shape[2], sk,
                         bgm__tensor_shape_str(sb, sizeof sb, bias));
    if (kernel->shape[0] < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s has no taps", fn, sk);
    if (stride < 1 || dilation < 1)
        return bgm__fail(BGM_E_INVALID, "%s: stride and dilation must be >= 1, got stride "
                         "%d, dilation %d", fn, stride, dilation);
    if (padding != BGM_PADDING_VALID && padding != BGM_PADDING_SAME &&
        padding != BGM_PADDING_CAUSAL)
        return bgm__fail(BGM_E_INVALID, "%s: unknown padding %d (use BGM_PADDING_VALID, "
                         "BGM_PADDING_SAME or BGM_PADDING_CAUSAL)", fn, (int)padding);
    if (bgm__window1d_plan(&p->g, x->shape[1], x->shape[2], kernel->shape[0], stride,
                           dilation, (int)padding) < 0)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s with dilation %d spans %lld steps, "
                         "more than the %lld of x %s with VALID padding", fn, sk, dilation,
                         (long long)(dilation * (kernel->shape[0] - 1) + 1),
                         (long long)x->shape[1], sx);
    p->n = x->shape[0];
    p->f = kernel->shape[2];
    p->kc = kernel->shape[0] * kernel->shape[1];
    /* BLAS takes int sizes: K*C, F and the rows of a chunk must fit. */
    if (p->kc > INT_MAX || p->f > INT_MAX || p->g.ot > INT_MAX)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s with kernel %s is too large for one "
                         "matrix product", fn, sx, sk);
    per_seq = p->g.ot * p->kc * (int64_t)sizeof(float);
    p->chunk = per_seq > 0 ? CONV1D_CHUNK_BYTES / per_seq : p->n;
    if (p->g.ot > 0 && p->chunk > INT_MAX / p->g.ot)
        p->chunk = INT_MAX / p->g.ot;
    if (p->chunk > p->n)
        p->chunk = p->n;
    if (p->chunk < 1)
        p->chunk = 1;
    p->col = NULL;
    return BGM_OK;
}

BGM_API bgm_status bgm_op_conv1d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride, int dilation, bgm_padding padding)
{
    static const char *fn = "bgm_op_conv1d";
    const bgm_tensor *in[3] = {x, kernel, bias};
    int nin = bias ? 3 : 2;
    conv1d_plan plan, *p = &plan;
    bgm__op_call c;
    int64_t shape[3], i0, i;
    size_t bytes;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    if (s != BGM_OK)
        return s;
    s = conv1d_plan_make(fn, &plan, x, kernel, bias, stride, dilation, padding);
    if (s != BGM_OK)
        return s;
    if (!bgm__mul_size((size_t)(plan.chunk * plan.g.ot), (size_t)plan.kc, &bytes) ||
        !bgm__mul_size(bytes, sizeof(float), &bytes))
        return bgm__fail(BGM_E_NOMEM, "%s: the workspace of x with this kernel does not "
                         "fit in memory", fn);
    if (bytes == 0)
        bytes = sizeof(float);
    shape[0] = plan.n;
    shape[1] = plan.g.ot;
    shape[2] = plan.f;
    s = bgm__op_begin(&c, fn, out, tape, &op_conv1d, in, nin, shape, 3, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) { /* backward reuses the workspace: it lives on the tape */
        p = bgm__op_save(&c, sizeof *p);
        if (p) {
            *p = plan;
            p->col = bgm__op_save(&c, bytes);
        }
        c.node->saved = p;
    } else {
        p->col = bgm__op_workspace(&c, bytes);
    }
    if (!p || !p->col)
        return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the "
                                          "convolution workspace (%zu bytes)", fn, bytes));
    for (i0 = 0; i0 < p->n; i0 += p->chunk) {
        int64_t count = p->n - i0 < p->chunk ? p->n - i0 : p->chunk, rows = count * p->g.ot;
        float *y = (float *)c.out->data + i0 * p->g.ot * p->f;
        for (i = 0; i < count; i++)
            bgm__im2col1d(&p->g, (const float *)x->data + (i0 + i) * p->g.t * p->g.c,
                          p->col + i * p->g.ot * p->kc);
        bgm__gemm(0, 0, rows, p->f, p->kc, 1.0f, p->col, p->kc, kernel->data, p->f, 0.0f,
                  y, p->f);
        if (bias)
            bgm__bias_add_rows(y, bias->data, rows, p->f);
    }
    if (!c.node)
        bgm__op_workspace_release(&c, p->col);
    return bgm__op_end(&c, out);
}
