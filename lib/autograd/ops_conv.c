/*
 * 2-D convolution over NHWC images as im2col + GEMM.
 *
 * The patches of a chunk of images form one (rows, K) matrix, rows =
 * images * OH * OW and K = KH * KW * C, which times the kernel seen as a
 * (K, F) matrix is the output chunk (rows, F) in NHWC order. The batch is
 * split into contiguous pieces (slots), two per thread of the library's
 * pool; a thread walks its piece chunk by chunk (im2col, then one
 * single-threaded sgemm, then the bias) in a workspace of its own, small
 * enough that the patches are still in cache when sgemm reads them. A 1x1
 * stride-1 kernel needs no patches: x itself is the (N*H*W, C) matrix.
 *
 * The backward pass recomputes the patches of each chunk into the same
 * workspace, saved on the tape at forward time, so backward never allocates
 * and the tape never holds a whole batch of patches. Kernel and bias
 * gradients are summed per piece (the first piece straight into the
 * gradient, the others into partial sums added in piece order), so the
 * result depends on the thread count but not on the scheduling.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/bias.h"
#include "kernels/gemm.h"
#include "tape.h"
#include "window.h"

/* A chunk holds at least this many output pixels (sgemm rows), so each
 * sgemm call is long enough to amortize its setup... */
#define CONV_CHUNK_MIN_ROWS 256
/* ...and, above that, as many images as fit this many bytes of patches. */
#define CONV_CHUNK_BYTES ((int64_t)256 << 10)

typedef struct conv_plan {
    bgm__window g;
    int64_t f, k;       /* output channels, patch length */
    int64_t pix;        /* output pixels per image */
    int64_t chunk;      /* images per sgemm */
    int64_t piece;      /* images per slot */
    int64_t slots;
    int direct;         /* 1x1 stride 1: x is the patch matrix */
    float *col;         /* slots * chunk * pix * k floats, NULL when direct */
    float *partial;     /* backward: (slots - 1) * (k * f + f) floats, or NULL */
} conv_plan;

typedef struct conv_job {
    const conv_plan *p;
    const float *x, *w, *bias, *gy;
    float *y, *gx, *gw, *gb;
    int gx_fresh;       /* gx is uninitialized: write it rather than add */
} conv_job;

static int64_t image_in(const conv_plan *p) { return p->g.h * p->g.w * p->g.c; }

/* The patch matrix of images [i0, i0 + count) in col: x itself when direct. */
static const float *patches(const conv_plan *p, const float *x, int64_t i0, int64_t count,
                            float *col)
{
    const float *first = x + i0 * image_in(p);
    int64_t i, cols = p->pix * p->k;
    if (p->direct)
        return first;
    for (i = 0; i < count; i++)
        bgm__im2col(&p->g, first + i * image_in(p), col + i * cols);
    return col;
}

static float *slot_col(const conv_plan *p, int64_t slot)
{
    return p->col ? p->col + slot * p->chunk * p->pix * p->k : NULL;
}

static void forward_range(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    const conv_plan *p = j->p;
    float *col = slot_col(p, begin / p->piece);
    int64_t i0;
    for (i0 = begin; i0 < end; i0 += p->chunk) {
        int64_t count = end - i0 < p->chunk ? end - i0 : p->chunk, rows = count * p->pix;
        float *y = j->y + i0 * p->pix * p->f;
        const float *a = patches(p, j->x, i0, count, col);
        bgm__gemm(0, 0, rows, p->f, p->k, 1.0f, a, p->k, j->w, p->f, 0.0f, y, p->f);
        if (j->bias)
            bgm__bias_add_rows(y, j->bias, rows, p->f);
    }
}

static void conv_forward(const conv_plan *p, const float *x, const float *w,
                         const float *bias, float *y)
{
    conv_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.x = x;
    j.w = w;
    j.bias = bias;
    j.y = y;
    bgm__parallel_for(p->g.n, p->piece, forward_range, &j);
}

static void backward_range(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    const conv_plan *p = j->p;
    const int64_t stride = p->k * p->f + p->f;
    int64_t slot = begin / p->piece, last = (end - 1) / p->piece, i0, i, s;
    float *col = slot_col(p, slot), *gw = j->gw, *gb = j->gb;
    if (j->gw || j->gb) {
        /* Slot 0 sums straight into the gradients; the others into partial
         * sums added afterwards. A range run in one go (pool busy) spans
         * several slots and sums them all into its first: the partial sums
         * of the rest are zero. */
        for (s = slot > 1 ? slot : 1; s <= last; s++)
            memset(p->partial + (s - 1) * stride, 0, (size_t)stride * sizeof *gw);
        if (slot > 0) {
            gw = p->partial + (slot - 1) * stride;
            gb = gw + p->k * p->f;
        }
    }
    for (i0 = begin; i0 < end; i0 += p->chunk) {
        int64_t count = end - i0 < p->chunk ? end - i0 : p->chunk, rows = count * p->pix;
        const float *gy = j->gy + i0 * p->pix * p->f;
        if (j->gb)
            bgm__bias_sum_rows(gb, gy, rows, p->f);
        if (j->gw) {
            const float *a = patches(p, j->x, i0, count, col);
            bgm__gemm(1, 0, p->k, p->f, rows, 1.0f, a, p->k, gy, p->f, 1.0f, gw, p->f);
        }
        if (j->gx && p->direct) {
            bgm__gemm(0, 1, rows, p->k, p->f, 1.0f, gy, p->f, j->w, p->f,
                      j->gx_fresh ? 0.0f : 1.0f, j->gx + i0 * image_in(p), p->k);
        } else if (j->gx) {
            float *gx = j->gx + i0 * image_in(p);
            bgm__gemm(0, 1, rows, p->k, p->f, 1.0f, gy, p->f, j->w, p->f, 0.0f, col, p->k);
            if (j->gx_fresh) /* cleared chunk by chunk, while in cache */
                memset(gx, 0, (size_t)(count * image_in(p)) * sizeof *gx);
            for (i = 0; i < count; i++)
                bgm__col2im(&p->g, col + i * p->pix * p->k, gx + i * image_in(p));
        }
    }
}

/* in[0] = x, in[1] = kernel, in[2] = bias (when present). */
static void conv_backward(const bgm__node *node, const float *gout, float **gin)
{
    const conv_plan *p = node->saved;
    conv_job j;
    int64_t slot;
    j.p = p;
    j.x = node->in[0]->data;
    j.w = node->in[1]->data;
    j.bias = NULL;
    j.gy = gout;
    j.y = NULL;
    j.gx = gin[0];
    j.gw = gin[1];
    j.gb = node->nin > 2 ? gin[2] : NULL;
    j.gx_fresh = (int)(node->fresh & 1);
    if (j.gw && (node->fresh & 2))
        memset(j.gw, 0, (size_t)(p->k * p->f) * sizeof *j.gw);
    if (j.gb && (node->fresh & 4))
        memset(j.gb, 0, (size_t)p->f * sizeof *j.gb);
    bgm__parallel_for(p->g.n, p->piece, backward_range, &j);
    for (slot = 1; slot < p->slots && (j.gw || j.gb); slot++) {
        const float *part = p->partial + (slot - 1) * (p->k * p->f + p->f);
        if (j.gw)
            bgm__bias_add_rows(j.gw, part, 1, p->k * p->f);
        if (j.gb)
            bgm__bias_add_rows(j.gb, part + p->k * p->f, 1, p->f);
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
    p->pix = p->g.oh * p->g.ow;
    p->direct = p->g.kh == 1 && p->g.kw == 1 && p->g.sh == 1 && p->g.sw == 1;
    p->col = NULL;
    p->partial = NULL;
    /* BLAS takes int sizes: K, F and the rows of a chunk must fit. */
    if (p->k > INT_MAX || p->f > INT_MAX || p->pix > INT_MAX)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s with kernel %s is too large for one "
                         "matrix product", fn, sx, sk);
    per_image = p->pix * p->k * (int64_t)sizeof(float);
    p->chunk = p->pix ? (CONV_CHUNK_MIN_ROWS + p->pix - 1) / p->pix : p->g.n;
    if (per_image && p->chunk < CONV_CHUNK_BYTES / per_image)
        p->chunk = CONV_CHUNK_BYTES / per_image;
    if (p->pix && p->chunk > INT_MAX / p->pix)
        p->chunk = INT_MAX / p->pix;
    /* Two slots per thread, each a contiguous piece of the batch: enough for
     * one thread to outrun another the OS preempts, few enough that the
     * partial sums of the kernel gradient stay cheap. */
    p->slots = 2 * (int64_t)bgm__pool_threads();
    if (p->slots > p->g.n)
        p->slots = p->g.n;
    if (p->slots < 1)
        p->slots = 1;
    p->piece = (p->g.n + p->slots - 1) / p->slots;
    if (p->piece < 1)
        p->piece = 1;
    p->slots = (p->g.n + p->piece - 1) / p->piece;
    if (p->slots < 1)
        p->slots = 1;
    if (p->chunk > p->piece)
        p->chunk = p->piece;
    if (p->chunk < 1)
        p->chunk = 1;
    return BGM_OK;
}

/* Bytes of the patch workspace and of the backward partial sums; 0 on overflow. */
static int workspace_bytes(const conv_plan *p, size_t *col, size_t *partial)
{
    size_t per_slot;
    *col = 0;
    *partial = 0;
    if (!p->direct &&
        (!bgm__mul_size((size_t)(p->chunk * p->pix), (size_t)p->k, &per_slot) ||
         !bgm__mul_size(per_slot, (size_t)p->slots * sizeof(float), col)))
        return 0;
    return bgm__mul_size((size_t)(p->slots - 1), (size_t)(p->k * p->f + p->f) * sizeof(float),
                         partial);
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
    size_t col_bytes, partial_bytes;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    if (s != BGM_OK)
        return s;
    s = conv_plan_make(fn, &plan, x, kernel, bias, stride_h, stride_w, padding);
    if (s != BGM_OK)
        return s;
    if (!workspace_bytes(&plan, &col_bytes, &partial_bytes))
        return bgm__fail(BGM_E_NOMEM, "%s: the patch workspace of x with this kernel does "
                         "not fit in memory", fn);
    shape[0] = plan.g.n;
    shape[1] = plan.g.oh;
    shape[2] = plan.g.ow;
    shape[3] = plan.f;
    s = bgm__op_begin(&c, fn, out, tape, &op_conv2d, in, nin, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        p = bgm__op_save(&c, sizeof *p);
        if (!p)
            goto nomem;
        *p = plan;
        if (col_bytes && !(p->col = bgm__op_save(&c, col_bytes)))
            goto nomem;
        if (partial_bytes && !(p->partial = bgm__op_save(&c, partial_bytes)))
            goto nomem;
        c.node->saved = p;
        c.node->fills_fresh = 1;
    } else if (col_bytes && !(p->col = bgm__op_workspace(&c, col_bytes))) {
        goto nomem;
    }
    conv_forward(p, x->data, kernel->data, bias ? bias->data : NULL, c.out->data);
    if (!c.node)
        bgm__op_workspace_release(&c, p->col);
    return bgm__op_end(&c, out);
nomem:
    return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the patch "
                                      "workspace (%zu bytes)", fn, col_bytes));
}
