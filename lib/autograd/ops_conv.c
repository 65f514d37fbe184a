/*
 * 2-D convolution over NHWC images as im2col + GEMM.
 *
 * The patches of a group of images form one (rows, K) matrix, rows =
 * images * OH * OW and K = KH * KW * C, which times the kernel seen as a
 * (K, F) matrix is the output group (rows, F) in NHWC order: one sgemm per
 * group, threaded by BLAS, while im2col / col2im are threaded over images
 * by the library's pool (never both at once). Groups are as large as a
 * fixed workspace allows. A 1x1 stride-1 kernel needs no patches: x itself
 * is the (N*H*W, C) matrix.
 *
 * The backward pass needs the patches again; it recomputes them into the
 * same workspace, saved on the tape at forward time, so backward never
 * allocates and the tape never holds a whole batch of patches.
 */
#include <limits.h>
#include <stdio.h>

#include "core/threads.h"
#include "kernels/gemm.h"
#include "tape.h"
#include "window.h"

/* Most bytes of patches per group (at least one image is always allowed).
 * Below glibc's largest mmap threshold (32 MiB), so a call without a tape
 * reuses heap pages instead of faulting in a fresh mapping every time. */
#define CONV_WORKSPACE_BYTES ((int64_t)16 << 20)

typedef struct conv_plan {
    bgm__window g;
    int64_t f, k;       /* output channels, patch length */
    int64_t group;      /* images per sgemm */
    int direct;         /* 1x1 stride 1: x is the patch matrix */
    float *col;         /* group * OH * OW * K floats, NULL when direct */
} conv_plan;

/* One im2col or col2im over the images [begin, end) of a group. */
typedef struct conv_job {
    const conv_plan *p;
    const float *x;     /* first image of the group */
    float *dx;
    float *col;
} conv_job;

static void im2col_range(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    const bgm__window *g = &j->p->g;
    int64_t i, in = g->h * g->w * g->c, cols = g->oh * g->ow * j->p->k;
    for (i = begin; i < end; i++)
        bgm__im2col(g, j->x + i * in, j->col + i * cols);
}

static void col2im_range(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    const bgm__window *g = &j->p->g;
    int64_t i, in = g->h * g->w * g->c, cols = g->oh * g->ow * j->p->k;
    for (i = begin; i < end; i++)
        bgm__col2im(g, j->col + i * cols, j->dx + i * in);
}

/* The patch matrix of images [n0, n0 + count): x itself when direct. */
static const float *patches(const conv_plan *p, const float *x, int64_t n0, int64_t count)
{
    conv_job j;
    const float *first = x + n0 * p->g.h * p->g.w * p->g.c;
    if (p->direct)
        return first;
    j.p = p;
    j.x = first;
    j.dx = NULL;
    j.col = p->col;
    bgm__parallel_for(count, 1, im2col_range, &j);
    return p->col;
}

static void conv_forward(const conv_plan *p, const float *x, const float *w,
                         const float *bias, float *y)
{
    const bgm__window *g = &p->g;
    int64_t n0, i, ch, pix = g->oh * g->ow;
    if (bias) {
        for (i = 0; i < g->n * pix; i++)
            for (ch = 0; ch < p->f; ch++)
                y[i * p->f + ch] = bias[ch];
    }
    for (n0 = 0; n0 < g->n; n0 += p->group) {
        int64_t count = g->n - n0 < p->group ? g->n - n0 : p->group;
        const float *a = patches(p, x, n0, count);
        bgm__gemm(0, 0, count * pix, p->f, p->k, 1.0f, a, p->k, w, p->f,
                  bias ? 1.0f : 0.0f, y + n0 * pix * p->f, p->f);
    }
}

/* in[0] = x, in[1] = kernel, in[2] = bias (when present). */
static void conv_backward(const bgm__node *node, const float *gout, float **gin)
{
    const conv_plan *p = node->saved;
    const bgm__window *g = &p->g;
    const float *x = node->in[0]->data, *w = node->in[1]->data;
    float *gx = gin[0], *gw = gin[1], *gb = node->nin > 2 ? gin[2] : NULL;
    int64_t n0, i, ch, pix = g->oh * g->ow, in = g->h * g->w * g->c;
    if (gb) {
        for (i = 0; i < g->n * pix; i++)
            for (ch = 0; ch < p->f; ch++)
                gb[ch] += gout[i * p->f + ch];
    }
    for (n0 = 0; n0 < g->n; n0 += p->group) {
        int64_t count = g->n - n0 < p->group ? g->n - n0 : p->group, rows = count * pix;
        const float *gy = gout + n0 * pix * p->f;
        if (gw) {
            const float *a = patches(p, x, n0, count);
            bgm__gemm(1, 0, p->k, p->f, rows, 1.0f, a, p->k, gy, p->f, 1.0f, gw, p->f);
        }
        if (gx && p->direct) {
            bgm__gemm(0, 1, rows, p->k, p->f, 1.0f, gy, p->f, w, p->f, 1.0f, gx + n0 * in,
                      p->k);
        } else if (gx) {
            conv_job j;
            bgm__gemm(0, 1, rows, p->k, p->f, 1.0f, gy, p->f, w, p->f, 0.0f, p->col, p->k);
            j.p = p;
            j.x = NULL;
            j.dx = gx + n0 * in;
            j.col = p->col;
            bgm__parallel_for(count, 1, col2im_range, &j);
        }
    }
}

static const bgm__op op_conv2d = {"conv2d", conv_backward};

/* Checks the shapes and fills p (all but col). */
static bgm_status conv_plan_make(const char *fn, conv_plan *p, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride_h, int stride_w, bgm_padding padding)
{
    char sx[BGM__SHAPE_STR_SIZE], sk[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    char what[BGM__SHAPE_STR_SIZE + 16];
    int64_t per_image;
    bgm_status s;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    bgm__tensor_shape_str(sk, sizeof sk, kernel);
    if (kernel->ndim != 4)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel must be (KH, KW, C, F), got shape %s",
                         fn, sk);
    if (x->ndim == 4 && x->shape[3] != kernel->shape[2])
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has %lld channels but kernel %s expects "
                         "%lld", fn, sx, (long long)x->shape[3], sk,
                         (long long)kernel->shape[2]);
    if (bias && (bias->ndim != 1 || bias->shape[0] != kernel->shape[3]))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%lld,) for kernel %s, got shape "
                         "%s", fn, (long long)kernel->shape[3], sk,
                         bgm__tensor_shape_str(sb, sizeof sb, bias));
    if (kernel->shape[0] < 1 || kernel->shape[1] < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s has an empty window", fn, sk);
    snprintf(what, sizeof what, "kernel %s", sk);
    s = bgm__window_plan(fn, &p->g, x, kernel->shape[0], kernel->shape[1], stride_h,
                         stride_w, padding, what);
    if (s != BGM_OK)
        return s;
    p->f = kernel->shape[3];
    p->k = kernel->shape[0] * kernel->shape[1] * kernel->shape[2];
    p->direct = p->g.kh == 1 && p->g.kw == 1 && p->g.sh == 1 && p->g.sw == 1;
    p->col = NULL;
    /* BLAS takes int sizes: K, F and the rows of a group must fit. */
    per_image = p->g.oh * p->g.ow;
    if (p->k > INT_MAX || p->f > INT_MAX || per_image > INT_MAX)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s with kernel %s is too large for one "
                         "matrix product", fn, sx, sk);
    if (p->direct) {
        p->group = per_image ? INT_MAX / per_image : 1;
    } else {
        int64_t bytes = per_image * p->k * (int64_t)sizeof(float);
        p->group = bytes ? CONV_WORKSPACE_BYTES / bytes : INT_MAX;
        if (per_image && p->group > INT_MAX / per_image)
            p->group = INT_MAX / per_image;
    }
    if (p->group > p->g.n)
        p->group = p->g.n;
    if (p->group < 1)
        p->group = 1;
    return BGM_OK;
}

BGM_API bgm_status bgm_op_conv2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride_h, int stride_w, bgm_padding padding)
{
    static const char *fn = "bgm_op_conv2d";
    const bgm_tensor *in[3] = {x, kernel, bias};
    int nin = bias ? 3 : 2;
    conv_plan plan, *p = &plan;
    bgm__op_call c;
    int64_t shape[4];
    size_t col_bytes;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    if (s != BGM_OK)
        return s;
    s = conv_plan_make(fn, &plan, x, kernel, bias, stride_h, stride_w, padding);
    if (s != BGM_OK)
        return s;
    shape[0] = plan.g.n;
    shape[1] = plan.g.oh;
    shape[2] = plan.g.ow;
    shape[3] = plan.f;
    s = bgm__op_begin(&c, fn, out, tape, &op_conv2d, in, nin, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    col_bytes = plan.direct ? 0
                            : (size_t)(plan.group * plan.g.oh * plan.g.ow * plan.k) *
                                  sizeof(float);
    if (c.node) {
        p = bgm__op_save(&c, sizeof *p);
        if (!p)
            goto nomem;
        *p = plan;
        if (col_bytes && !(p->col = bgm__op_save(&c, col_bytes)))
            goto nomem;
        c.node->saved = p;
    } else if (col_bytes && !(p->col = bgm__scratch_alloc(col_bytes))) {
        goto nomem;
    }
    conv_forward(p, x->data, kernel->data, bias ? bias->data : NULL, c.out->data);
    if (!c.node)
        bgm__scratch_free(p->col);
    return bgm__op_end(&c, out);
nomem:
    return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the patch "
                                      "workspace (%zu bytes)", fn, col_bytes));
}
