/*
 * 2-D convolution over NHWC images as GEMM: im2col + GEMM, or implicit GEMM.
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
 * Other stride-1 kernels skip the patches too where the own SGEMM kernels
 * run (implicit GEMM, AVX-512 or AVX2): the product reads each patch element straight from
 * the image, padded once per chunk where SAME padding needs it, through a
 * table of where each output pixel's window starts and one of where each
 * (ky, kx, c) lies from there (bgm__gemm_own_gather). The kernel
 * gradient reads the same tables the other way round, and the input
 * gradient is itself such a convolution: of the output gradient, padded by
 * the window less one on each side, with the kernel flipped and its
 * channels swapped. No im2col, no col2im, no patch workspace.
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
#include "kernels/gemm_own.h"
#include "kernels/pool.h"
#include "kernels/winograd.h"
#include "kernels/zero_pad.h"
#include "ops_fused.h"
#include "tape.h"
#include "window.h"

/* A chunk holds at least this many output pixels (sgemm rows), so each
 * sgemm call is long enough to amortize its setup... */
#define CONV_CHUNK_MIN_ROWS 256
/* ...and, above that, as many images as fit this many bytes of patches. */
#define CONV_CHUNK_BYTES ((int64_t)256 << 10)
/* Winograd only from this many channels and filters (measured: see
 * docs/performance.md). */
#define WINO_MIN_C 16
#define WINO_MIN_F 16
/* Winograd only for batches of this many output pixels or more: below,
 * transforming the kernel on every call costs more than it saves (the
 * seed CNN's 4x4-pixel third convolution at batch 1: predict 9 % faster
 * without it). */
#define WINO_MIN_OUTPUTS 64
/* F(4x4, 3x3) only for batches of this many output pixels or more. */
#define WINO4_MIN_OUTPUTS 1024
/* A fused pooling reads the convolution's output from a buffer of about
 * this size per thread (a few images), pooled while in cache. */
#define CONV_POOL_BYTES ((int64_t)256 << 10)

typedef struct conv_plan {
    bgm__window g;
    int64_t f, k;       /* output channels, patch length */
    int64_t pix;        /* output pixels per image */
    int64_t chunk;      /* images per sgemm */
    int64_t piece;      /* images per slot */
    int64_t slots;
    int direct;         /* 1x1 stride 1: x is the patch matrix */
    int implicit;       /* other stride-1 windows on AVX-512: gathered, no patches */
    /* implicit: x padded to the grid its windows read (n = images of a
     * chunk); xpad.top etc. all 0 when the padding is VALID (x is read in
     * place); gpad, the output gradient padded for the input gradient. */
    bgm__pad2d xpad, gpad;
    int64_t xp_image, gp_image;     /* floats per padded image */
    /* implicit: gather tables of the forward / kernel gradient (rows of a
     * chunk, then k) and of the input gradient (input pixels of a chunk,
     * then kh * kw * f) */
    int64_t *rtab, *ktab, *rtab_gx, *ktab_gx;
    /* patches: slots * chunk * pix * k floats, NULL when direct; implicit:
     * slots * chunk * grid_image floats, where the padded images of x, and
     * in backward then those of the output gradient, take turns (NULL when
     * neither is needed) */
    float *col;
    int64_t grid_image;
    float *wflip;       /* implicit backward: the kernel flipped, (kh, kw, f, c) */
    float *partial;     /* backward: (slots - 1) * (k * f + f) floats, or NULL */
    /* Winograd F(2x2, 3x3), or F(4x4, 3x3) when wino4, for the forward
     * pass and both gradients, where it pays (winograd_pays): slots
     * workspaces of wino_ws floats each (in
     * scratch memory for the call, see conv_job), and the window of the
     * input gradient (a convolution of the output gradient, padded by the
     * window less the forward padding) */
    int winograd;
    int64_t wino_ws_floats;
    int64_t wino_group; /* images per group (bgm__winograd_group) */
    int wino4;          /* F(4x4, 3x3) instead, for a batch of enough outputs */
    bgm__window gwin;
    /* inference with a pooling fused (bgm__conv2d_infer): the pooling's
     * window over the convolution's output, images per pass, and per slot
     * a buffer of that many images of convolution output, pooled while in
     * cache; the full-size output never exists */
    const bgm__pool_spec *pool;
    bgm__window pwin;
    int64_t pool_images;
    float *ybuf;
} conv_plan;

typedef struct conv_job {
    const conv_plan *p;
    const float *x, *w, *bias, *gy;
    float *y, *gx, *gw, *gb;
    int gx_fresh;       /* gx is uninitialized: write it rather than add */
    const float *res;   /* forward, inference: added after the bias, or NULL */
    int relu;           /* forward, inference: ReLU last */
    /* Winograd (p->winograd and its scratch memory came): the transformed
     * kernel (forward) or flipped kernel (backward), the slots' gradients
     * of the transformed kernel (backward), the slots' workspaces. Scratch
     * for the call only, so a training step holds one convolution's at a
     * time rather than every convolution's on the tape. Without it the
     * implicit GEMM runs, whose buffers the plan always has. */
    int wino;
    float *wu, *wdu, *wws;
    void *own_scratch;  /* to free after the call, or NULL */
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
    if (!p->col)
        return NULL;
    return p->col + slot * p->chunk * (p->implicit ? p->grid_image : p->pix * p->k);
}

static int pads_x(const conv_plan *p)
{
    return p->xpad.top || p->xpad.bottom || p->xpad.left || p->xpad.right;
}

/* implicit: images [i0, i0 + count) of x on the grid the windows read:
 * padded into buf, or x itself under VALID padding. */
static const float *padded_images(const conv_plan *p, const float *x, int64_t i0,
                                  int64_t count, float *buf)
{
    bgm__pad2d g = p->xpad;
    if (!pads_x(p))
        return x + i0 * image_in(p);
    g.n = count;
    bgm__zero_pad2d(&g, x + i0 * image_in(p), buf);
    return buf;
}

/* Winograd: the next group of images from i0 below end: p->wino_group
 * images, cut at the end of i0's slot, so that the groups (and the sums of
 * a slot's kernel gradient) do not depend on how the pool split the batch. */
static int64_t wino_group_count(const conv_plan *p, int64_t i0, int64_t end)
{
    int64_t slot_end = (i0 / p->piece + 1) * p->piece, n = p->wino_group;
    if (slot_end < end)
        end = slot_end;
    return end - i0 < n ? end - i0 : n;
}

/* Winograd forward of images [begin, end), a group at a time, in slot's
 * workspace. */
static void winograd_range(const conv_job *j, int64_t slot, int64_t begin, int64_t end)
{
    const conv_plan *p = j->p;
    const int64_t out = p->pix * p->f;
    float *ws = j->wws + slot * p->wino_ws_floats;
    int64_t i, n;
    for (i = begin; i < end; i += n) {
        bgm__gemm_epilogue ep = {j->bias, j->res ? j->res + i * out : NULL, p->f, j->relu};
        n = wino_group_count(p, i, end);
        if (p->wino4)
            bgm__winograd4_images(&p->g, p->f, n, j->x + i * image_in(p), j->wu, &ep,
                                  j->y + i * out, ws);
        else
            bgm__winograd_images(&p->g, p->f, n, j->x + i * image_in(p), j->wu, &ep,
                                 j->y + i * out, ws);
    }
}

/* Winograd backward of images [begin, end): the kernel gradient into each
 * slot's du, the input gradient (added to gx unless fresh). */
static void winograd_backward(const conv_job *j, int64_t begin, int64_t end)
{
    const conv_plan *p = j->p;
    const int64_t out = p->pix * p->f;
    const int64_t size = bgm__winograd_kernel_floats(p->g.c, p->f, p->wino4 ? 4 : 2);
    float *ws = j->wws + (begin / p->piece) * p->wino_ws_floats;
    int64_t i, n;
    for (i = begin; i < end; i += n) {
        float *gx = j->gx ? j->gx + i * image_in(p) : NULL;
        bgm__gemm_epilogue ep = {NULL, j->gx_fresh ? NULL : gx, p->g.c, 0};
        n = wino_group_count(p, i, end);
        const float *x = j->x + i * image_in(p), *gy = j->gy + i * out;
        float *du = j->wdu ? j->wdu + i / p->piece * size : NULL;
        if (p->wino4) {
            if (du)
                bgm__winograd4_kernel_grad_images(&p->g, p->f, n, x, gy, du, ws);
            if (gx)
                bgm__winograd4_images(&p->gwin, p->g.c, n, gy, j->wu, &ep, gx, ws);
            continue;
        }
        if (du)
            bgm__winograd_kernel_grad_images(&p->g, p->f, n, x, gy, du, ws);
        if (gx)
            bgm__winograd_images(&p->gwin, p->g.c, n, gy, j->wu, &ep, gx, ws);
    }
}

/* A product this small (multiply-adds) is not split over the pool by rows:
 * the pieces would cost more to hand out than they save. */
#define CONV_ROW_SPLIT_MIN_MACS ((int64_t)1 << 18)
/* ...and pieces hold at least this many rows (whole tiles of 12 or 6). */
#define CONV_ROW_PIECE 24

/* y (rows x f) = the implicit product of padded images xp, with ep. */
typedef struct gather_job {
    int64_t f, k;
    const float *xp, *w;
    const int64_t *rtab, *ktab;
    float *y;
    const bgm__gemm_epilogue *ep;
} gather_job;

static void gather_range(void *ctx, int64_t begin, int64_t end)
{
    const gather_job *j = ctx;
    bgm__gemm_epilogue ep, *e = NULL;
    if (j->ep) {
        ep = *j->ep;
        if (ep.res)
            ep.res += begin * ep.ldres;
        e = &ep;
    }
    bgm__gemm_own_gather(end - begin, j->f, j->k, 1.0f, j->xp, j->rtab + begin, j->ktab, j->w,
                         j->f, 0.0f, j->y + begin * j->f, j->f, e);
}

/* The implicit product of a chunk: split by rows over the pool when the
 * pool is free, i.e. when the batch was too small to split by images (a
 * nested call runs on the calling thread). Every row is the same sum
 * either way. Returns 0 when the own kernels are not in use. */
static int gather_rows(const conv_plan *p, int64_t rows, const float *xp, const float *w,
                       float *y, const bgm__gemm_epilogue *ep)
{
    gather_job j = {p->f, p->k, xp, w, p->rtab, p->ktab, y, ep};
    if (!bgm__gemm_own_available())
        return 0;
    if (rows * p->f * p->k < CONV_ROW_SPLIT_MIN_MACS || rows < 2 * CONV_ROW_PIECE)
        gather_range(&j, 0, rows);
    else
        bgm__parallel_for(rows, CONV_ROW_PIECE, gather_range, &j);
    return 1;
}

/* The forward pass of images [begin, end) of j in slot's buffers. */
static void forward_images(const conv_job *j, int64_t slot, int64_t begin, int64_t end)
{
    const conv_plan *p = j->p;
    float *col = slot_col(p, slot);
    int64_t i0;
    if (j->wino) {
        winograd_range(j, slot, begin, end);
        return;
    }
    for (i0 = begin; i0 < end; i0 += p->chunk) {
        int64_t count = end - i0 < p->chunk ? end - i0 : p->chunk, rows = count * p->pix;
        float *y = j->y + i0 * p->pix * p->f;
        /* bias, residual and ReLU applied by the product's tiles as they
         * store y: the same sums as adding them afterwards */
        bgm__gemm_epilogue ep = {j->bias, j->res ? j->res + i0 * p->pix * p->f : NULL, p->f,
                                 j->relu};
        const bgm__gemm_epilogue *e = j->bias || j->res || j->relu ? &ep : NULL;
        int done;
        if (p->implicit) {
            done = gather_rows(p, rows, padded_images(p, j->x, i0, count, col), j->w, y, e);
        } else {
            const float *a = patches(p, j->x, i0, count, col);
            done = e && bgm__gemm_own_ep(rows, p->f, p->k, a, p->k, j->w, p->f, y, p->f, e);
            if (!done)
                bgm__gemm(0, 0, rows, p->f, p->k, 1.0f, a, p->k, j->w, p->f, 0.0f, y, p->f);
        }
        if (!done && e)
            bgm__bias_epilogue_rows(y, ep.bias, ep.res, ep.relu, rows, p->f);
    }
}

/* With a fused pooling: a few images at a time into the slot's buffer,
 * then pooled from there into j->y. */
static void forward_pooled(const conv_job *j, int64_t slot, int64_t begin, int64_t end)
{
    const conv_plan *p = j->p;
    const int64_t out = p->pix * p->f, pooled = p->pwin.oh * p->pwin.ow * p->f;
    float *buf = p->ybuf + slot * p->pool_images * out;
    int64_t i0, i;
    for (i0 = begin; i0 < end; i0 += p->pool_images) {
        const int64_t count = end - i0 < p->pool_images ? end - i0 : p->pool_images;
        conv_job part = *j;
        part.x = j->x + i0 * image_in(p);
        part.res = j->res ? j->res + i0 * out : NULL;
        part.y = buf;
        forward_images(&part, slot, 0, count);
        for (i = 0; i < count; i++) {
            if (p->pool->max)
                bgm__max_pool(&p->pwin, buf + i * out, j->y + (i0 + i) * pooled, NULL);
            else
                bgm__avg_pool(&p->pwin, buf + i * out, j->y + (i0 + i) * pooled);
        }
    }
}

static void forward_range(void *ctx, int64_t begin, int64_t end)
{
    const conv_job *j = ctx;
    if (j->p->pool)
        forward_pooled(j, begin / j->p->piece, begin, end);
    else
        forward_images(j, begin / j->p->piece, begin, end);
}

/* Winograd: j's scratch memory (see conv_job) for the forward pass or,
 * with backward, the backward pass: tape's, or allocated for the call
 * (j->own_scratch) when tape is NULL; 1 when j->wino is set. */
static int wino_scratch(const conv_plan *p, conv_job *j, bgm_tape *tape, int backward)
{
    const int64_t kf = bgm__winograd_kernel_floats(p->g.c, p->f, p->wino4 ? 4 : 2);
    const int64_t du = backward && j->gw ? p->slots * kf : 0;
    size_t bytes;
    j->wino = 0;
    j->wu = j->wdu = j->wws = NULL;
    j->own_scratch = NULL;
    if (!p->winograd ||
        !bgm__mul_size((size_t)(kf + du + p->slots * p->wino_ws_floats), sizeof(float),
                       &bytes))
        return 0;
    j->wu = tape ? bgm__tape_scratch(tape, bytes) : (j->own_scratch = bgm__scratch_alloc(bytes));
    if (!j->wu)
        return 0;
    j->wdu = du ? j->wu + kf : NULL;
    j->wws = j->wu + kf + du;
    j->wino = 1;
    return 1;
}

static void conv_forward(const conv_plan *p, bgm_tape *tape, const float *x, const float *w,
                         const float *bias, const float *res, int relu, float *y)
{
    conv_job j;
    memset(&j, 0, sizeof j);
    j.p = p;
    j.x = x;
    j.w = w;
    j.bias = bias;
    j.res = res;
    j.relu = relu;
    j.y = y;
    if (wino_scratch(p, &j, tape, 0)) {
        if (p->wino4)
            bgm__winograd4_kernel(w, p->g.c, p->f, j.wu);
        else
            bgm__winograd_kernel(w, p->g.c, p->f, j.wu);
    }
    bgm__parallel_for(p->g.n, p->piece, forward_range, &j);
    bgm__scratch_free(j.own_scratch);
}

/* implicit: the kernel and input gradients of images [i0, i0 + count),
 * the kernel's summed into gw. */
static void implicit_backward_chunk(const conv_job *j, int64_t i0, int64_t count, float *col,
                                    float *gw)
{
    const conv_plan *p = j->p;
    const int64_t rows = count * p->pix;
    const float *gy = j->gy + i0 * p->pix * p->f;
    if (gw) {
        const float *xp = padded_images(p, j->x, i0, count, col);
        bgm__gemm_own_gather(p->k, p->f, rows, 1.0f, xp, p->ktab, p->rtab, gy, p->f, 1.0f, gw,
                             p->f, NULL);
    }
    if (j->gx) { /* col is free again: gw is done with x */
        bgm__pad2d g = p->gpad;
        g.n = count;
        bgm__zero_pad2d(&g, gy, col);
        bgm__gemm_own_gather(count * p->g.h * p->g.w, p->g.c, p->g.kh * p->g.kw * p->f, 1.0f,
                             col, p->rtab_gx, p->ktab_gx, p->wflip, p->g.c,
                             j->gx_fresh ? 0.0f : 1.0f, j->gx + i0 * image_in(p), p->g.c, NULL);
    }
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
        if (j->wino)
            continue; /* below */
        if (p->implicit) {
            implicit_backward_chunk(j, i0, count, col, j->gw ? gw : NULL);
            continue;
        }
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
    if (j->wino)
        winograd_backward(j, begin, end);
}

/* wflip (kh, kw, f, c) = w (kh, kw, c, f) turned half a turn in the window
 * with the channel axes swapped: the kernel of the input gradient. */
static void flip_kernel(const conv_plan *p, const float *w, float *wflip)
{
    const int64_t kh = p->g.kh, kw = p->g.kw, c = p->g.c, f = p->f;
    int64_t ky, kx, ci, fo;
    for (ky = 0; ky < kh; ky++)
        for (kx = 0; kx < kw; kx++) {
            const float *src = w + (ky * kw + kx) * c * f;
            float *dst = wflip + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * f * c;
            for (ci = 0; ci < c; ci++)
                for (fo = 0; fo < f; fo++)
                    dst[fo * c + ci] = src[ci * f + fo];
        }
}

/* in[0] = x, in[1] = kernel, in[2] = bias (when present). */
static void conv_backward(const bgm__node *node, const float *gout, float **gin)
{
    const conv_plan *p = node->saved;
    const int64_t wsize = bgm__winograd_kernel_floats(p->g.c, p->f, p->wino4 ? 4 : 2);
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
    if (p->implicit && j.gx)
        flip_kernel(p, j.w, p->wflip);
    wino_scratch(p, &j, node->out->tape, 1);
    if (j.wino && j.gx)
        (p->wino4 ? bgm__winograd4_kernel : bgm__winograd_kernel)(p->wflip, p->f, p->g.c, j.wu);
    if (j.wdu)
        memset(j.wdu, 0, (size_t)(p->slots * wsize) * sizeof(float));
    bgm__parallel_for(p->g.n, p->piece, backward_range, &j);
    if (j.wdu) /* the slots' sums in slot order, then back to 3x3 */
        bgm__winograd_kernel_grad_slots(p->wino4 ? bgm__winograd4_kernel_grad
                                                 : bgm__winograd_kernel_grad,
                                        p->wino4 ? 4 : 2, j.wdu, p->slots, p->g.c, p->f, j.gw);
    bgm__scratch_free(j.own_scratch);
    for (slot = 1; slot < p->slots && (j.gw || j.gb); slot++) {
        const float *part = p->partial + (slot - 1) * (p->k * p->f + p->f);
        if (j.gw)
            bgm__bias_add_rows(j.gw, part, 1, p->k * p->f);
        if (j.gb)
            bgm__bias_add_rows(j.gb, part + p->k * p->f, 1, p->f);
    }
}

static const bgm__op op_conv2d = {"conv2d", conv_backward, 1};

/* Images per chunk: at least CONV_CHUNK_MIN_ROWS output pixels, and above
 * that as many as fit CONV_CHUNK_BYTES of per-image workspace. */
static int64_t chunk_images(int64_t pix, int64_t per_image_bytes, int64_t n)
{
    int64_t chunk = pix ? (CONV_CHUNK_MIN_ROWS + pix - 1) / pix : n;
    if (per_image_bytes && chunk < CONV_CHUNK_BYTES / per_image_bytes)
        chunk = CONV_CHUNK_BYTES / per_image_bytes;
    if (pix && chunk > INT_MAX / pix)
        chunk = INT_MAX / pix;
    return chunk;
}

/* implicit: the padded grids of x and of the output gradient. */
static void implicit_geometry(conv_plan *p)
{
    const bgm__window *g = &p->g;
    bgm__pad2d *xp = &p->xpad, *gp = &p->gpad;
    xp->n = gp->n = 0;
    xp->h = g->h, xp->w = g->w, xp->c = g->c;
    xp->top = g->pad_top;
    xp->left = g->pad_left;
    xp->bottom = g->oh + g->kh - 1 - g->h - xp->top;
    xp->right = g->ow + g->kw - 1 - g->w - xp->left;
    p->xp_image = (g->oh + g->kh - 1) * (g->ow + g->kw - 1) * g->c;
    gp->h = g->oh, gp->w = g->ow, gp->c = p->f;
    gp->top = gp->bottom = g->kh - 1;
    gp->left = gp->right = g->kw - 1;
    p->gp_image = (g->oh + 2 * (g->kh - 1)) * (g->ow + 2 * (g->kw - 1)) * p->f;
}

/* Checks the shapes and fills p (all but its buffers). */
static bgm_status conv_plan_make(const char *fn, conv_plan *p, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride_h, int stride_w, bgm_padding padding)
{
    /* shapes formatted only for a message: a plan is made on every call */
    char sx[BGM__SHAPE_STR_SIZE], sk[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    bgm_status s;
    if (kernel->ndim != 4)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel must be (KH, KW, C, F), got shape %s",
                         fn, bgm__tensor_shape_str(sk, sizeof sk, kernel));
    if (x->ndim == 4 && x->shape[3] != kernel->shape[2])
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has %lld channels but kernel %s expects "
                         "%lld", fn, bgm__tensor_shape_str(sx, sizeof sx, x),
                         (long long)x->shape[3], bgm__tensor_shape_str(sk, sizeof sk, kernel),
                         (long long)kernel->shape[2]);
    if (bias && (bias->ndim != 1 || bias->shape[0] != kernel->shape[3]))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%lld,) for kernel %s, got shape "
                         "%s", fn, (long long)kernel->shape[3],
                         bgm__tensor_shape_str(sk, sizeof sk, kernel),
                         bgm__tensor_shape_str(sb, sizeof sb, bias));
    if (kernel->shape[0] < 1 || kernel->shape[1] < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: kernel %s has an empty window", fn,
                         bgm__tensor_shape_str(sk, sizeof sk, kernel));
    s = bgm__window_plan(fn, &p->g, x, kernel->shape[0], kernel->shape[1], stride_h,
                         stride_w, padding, kernel);
    if (s != BGM_OK)
        return s;
    memset(&p->xpad, 0, sizeof p->xpad);
    p->winograd = 0;
    p->wino_ws_floats = 0;
    memset(&p->gpad, 0, sizeof p->gpad);
    p->xp_image = p->gp_image = p->grid_image = 0;
    p->f = kernel->shape[3];
    p->k = kernel->shape[0] * kernel->shape[1] * kernel->shape[2];
    p->pix = p->g.oh * p->g.ow;
    p->direct = p->g.kh == 1 && p->g.kw == 1 && p->g.sh == 1 && p->g.sw == 1;
    p->implicit = !p->direct && p->g.sh == 1 && p->g.sw == 1 && p->pix > 0 &&
                  bgm__gemm_own_available();
    /* BLAS takes int sizes: K, F and the rows of a chunk must fit. */
    if (p->k > INT_MAX || p->f > INT_MAX || p->pix > INT_MAX)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s with kernel %s is too large for one "
                         "matrix product", fn, bgm__tensor_shape_str(sx, sizeof sx, x),
                         bgm__tensor_shape_str(sk, sizeof sk, kernel));
    if (p->implicit) {
        /* Nothing to keep in cache between the steps of a chunk: just
         * enough rows for the tiles. */
        implicit_geometry(p);
        p->chunk = chunk_images(p->pix, 0, p->g.n);
    } else {
        p->chunk = chunk_images(p->pix, p->pix * p->k * (int64_t)sizeof(float), p->g.n);
    }
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
    p->xpad.n = p->gpad.n = p->chunk;
    return BGM_OK;
}

/* Winograd F(2x2, 3x3) for a stride-1 3x3 window where its transforms and
 * the own products run (bgm__winograd_available), with enough channels and
 * filters for its 16 products (K = channels) to keep the tiles busy. */
static int winograd_pays(const conv_plan *p)
{
    const bgm__window *g = &p->g;
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->c >= WINO_MIN_C &&
           p->f >= WINO_MIN_F && p->pix > 0 && g->n * p->pix >= WINO_MIN_OUTPUTS &&
           bgm__winograd_available();
}

/* Winograd: the window of the input gradient and the workspace size. */
static void winograd_geometry(conv_plan *p)
{
    const bgm__window *g = &p->g;
    bgm__window *gw = &p->gwin;
    const int m = p->wino4 ? 4 : 2;
    int64_t back;
    *gw = *g;
    gw->h = g->oh, gw->w = g->ow, gw->c = p->f;
    gw->oh = g->h, gw->ow = g->w;
    gw->pad_top = g->kh - 1 - g->pad_top;
    gw->pad_left = g->kw - 1 - g->pad_left;
    p->wino_group = bgm__winograd_group(g, m);
    if (p->wino_group > p->piece)
        p->wino_group = p->piece;
    p->wino_ws_floats = bgm__winograd_ws_floats(g, p->f, p->wino_group, m);
    back = bgm__winograd_ws_floats(gw, g->c, p->wino_group, m);
    if (back > p->wino_ws_floats)
        p->wino_ws_floats = back;
}

/* res must be a float32 tensor of the output's shape. */
static bgm_status res_check(const char *fn, const conv_plan *p, const bgm_tensor *res)
{
    char sr[BGM__SHAPE_STR_SIZE];
    if (res->dtype == BGM_FLOAT32 && res->ndim == 4 && res->shape[0] == p->g.n &&
        res->shape[1] == p->g.oh && res->shape[2] == p->g.ow && res->shape[3] == p->f)
        return BGM_OK;
    return bgm__fail(BGM_E_SHAPE, "%s: the residual must be float32 (%lld, %lld, %lld, %lld) "
                     "like the output, got shape %s", fn, (long long)p->g.n,
                     (long long)p->g.oh, (long long)p->g.ow, (long long)p->f,
                     bgm__tensor_shape_str(sr, sizeof sr, res));
}

/* Room for count items of size bytes at *at in the block at base (64-byte
 * aligned); NULL for none, or when base is NULL (sizing) or the total
 * overflows (*ok = 0). */
static void *carve(char *base, size_t *at, int *ok, int64_t count, size_t size)
{
    size_t bytes;
    void *ptr;
    if (count <= 0 || !*ok)
        return NULL;
    if (!bgm__mul_size((size_t)count, size, &bytes) || bytes > SIZE_MAX / 2 - *at) {
        *ok = 0;
        return NULL;
    }
    ptr = base ? base + *at : NULL;
    *at += (bytes + 63) & ~(size_t)63;
    return ptr;
}

/* a * b * c, or -1 when it overflows. */
static int64_t product3(int64_t a, int64_t b, int64_t c)
{
    size_t ab, abc;
    if (!bgm__mul_size((size_t)a, (size_t)b, &ab) || !bgm__mul_size(ab, (size_t)c, &abc) ||
        abc > (size_t)INT64_MAX)
        return -1;
    return (int64_t)abc;
}

/*
 * Lays p's buffers out one after another from base: those of the forward
 * pass, and with backward those only the backward pass uses. base NULL
 * sizes the block only. Returns its bytes, 0 on overflow.
 */
static size_t conv_carve(conv_plan *p, char *base, int backward)
{
    const bgm__window *g = &p->g;
    size_t at = 64; /* never 0, even with no buffer at all */
    int64_t col = 0;
    int ok;
    if (p->implicit) {
        p->grid_image = pads_x(p) ? p->xp_image : 0;
        if (backward && p->gp_image > p->grid_image)
            p->grid_image = p->gp_image;
        col = product3(p->slots, p->chunk, p->grid_image);
    } else if (!p->direct) {
        col = product3(p->slots, p->chunk, p->pix * p->k);
    }
    ok = col >= 0;
    p->col = carve(base, &at, &ok, col, sizeof(float));
    p->rtab = p->ktab = p->rtab_gx = p->ktab_gx = NULL;
    p->wflip = p->partial = NULL;
    if (p->implicit) {
        p->rtab = carve(base, &at, &ok, p->chunk * p->pix, sizeof(int64_t));
        p->ktab = carve(base, &at, &ok, p->k, sizeof(int64_t));
    }
    p->ybuf = p->pool ? carve(base, &at, &ok, product3(p->slots, p->pool_images, p->pix * p->f),
                              sizeof(float))
                      : NULL;
    if (!backward)
        return ok ? at : 0;
    p->partial = carve(base, &at, &ok, product3(p->slots - 1, p->k + 1, p->f), sizeof(float));
    if (p->implicit) {
        p->wflip = carve(base, &at, &ok, p->k * p->f, sizeof(float));
        p->rtab_gx = carve(base, &at, &ok, p->chunk * g->h * g->w, sizeof(int64_t));
        p->ktab_gx = carve(base, &at, &ok, g->kh * g->kw * p->f, sizeof(int64_t));
    }
    return ok ? at : 0;
}

/* implicit: the gather tables (see conv_plan). */
static void fill_tables(conv_plan *p)
{
    const bgm__window *g = &p->g;
    const int64_t wp = g->ow + g->kw - 1, wg = g->ow + 2 * (g->kw - 1);
    int64_t i, y, x, ch, at = 0;
    for (i = 0; i < p->chunk; i++)
        for (y = 0; y < g->oh; y++)
            for (x = 0; x < g->ow; x++)
                p->rtab[at++] = i * p->xp_image + (y * wp + x) * g->c;
    at = 0;
    for (y = 0; y < g->kh; y++)
        for (x = 0; x < g->kw; x++)
            for (ch = 0; ch < g->c; ch++)
                p->ktab[at++] = (y * wp + x) * g->c + ch;
    if (!p->rtab_gx)
        return;
    at = 0;
    for (i = 0; i < p->chunk; i++)
        for (y = 0; y < g->h; y++)
            for (x = 0; x < g->w; x++)
                p->rtab_gx[at++] = i * p->gp_image +
                                   ((y + g->pad_top) * wg + x + g->pad_left) * p->f;
    at = 0;
    for (y = 0; y < g->kh; y++)
        for (x = 0; x < g->kw; x++)
            for (ch = 0; ch < p->f; ch++)
                p->ktab_gx[at++] = (y * wg + x) * p->f + ch;
}

/* The window of pooling spec over the convolution's output and the images
 * per pass of the fused pooling (p->pool set). */
static bgm_status pool_plan(const char *fn, conv_plan *p)
{
    const bgm__pool_spec *ps = p->pool;
    const int64_t out[4] = {p->g.n, p->g.oh, p->g.ow, p->f};
    bgm_status s;
    if (ps->kh < 1 || ps->kw < 1)
        return bgm__fail(BGM_E_INVALID, "%s: pool size must be >= 1, got %d x %d", fn, ps->kh,
                         ps->kw);
    s = bgm__window_dims(fn, &p->pwin, out, ps->kh, ps->kw, ps->sh, ps->sw, ps->padding, NULL,
                         NULL);
    if (s != BGM_OK)
        return s;
    /* enough images to fill a buffer that stays in cache, at most a piece */
    p->pool_images = CONV_POOL_BYTES / ((p->pix * p->f > 0 ? p->pix * p->f : 1) *
                                        (int64_t)sizeof(float));
    if (p->pool_images > p->piece)
        p->pool_images = p->piece;
    if (p->pool_images < 1)
        p->pool_images = 1;
    return BGM_OK;
}

/* bgm_op_conv2d, or with res / relu / pool (never recorded)
 * bgm__conv2d_infer. */
static bgm_status conv2d(const char *fn, bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                         const bgm_tensor *kernel, const bgm_tensor *bias, int infer,
                         const bgm_tensor *res, int relu, const bgm__pool_spec *pool,
                         int stride_h, int stride_w, bgm_padding padding)
{
    const bgm_tensor *in[3] = {x, kernel, bias};
    int nin = bias ? 3 : 2;
    conv_plan plan, *p = &plan;
    bgm__op_call c;
    int64_t shape[4];
    size_t bytes;
    char *block;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    if (s != BGM_OK)
        return s;
    s = conv_plan_make(fn, &plan, x, kernel, bias, stride_h, stride_w, padding);
    if (s != BGM_OK)
        return s;
    if (res) {
        s = res_check(fn, &plan, res);
        if (s != BGM_OK)
            return s;
    }
    plan.pool = pool;
    if (pool) {
        s = pool_plan(fn, &plan);
        if (s != BGM_OK)
            return s;
    }
    plan.winograd = winograd_pays(&plan);
    /* the cheaper F(4x4, 3x3), once the batch has enough outputs to pay
     * for its larger kernel transform (a batch-1 predict of the seed CNN
     * was 20 % slower); in training only where an image holds a whole
     * 4x4 tile of outputs: below, the input gradient's tiles mostly
     * overhang (the seed CNN's 3x3 outputs: 2 % slower steps) */
    plan.wino4 = plan.winograd && plan.g.n * plan.pix >= WINO4_MIN_OUTPUTS &&
                 (infer || (plan.g.oh >= 4 && plan.g.ow >= 4)) && bgm__winograd4_available();
    if (plan.winograd)
        winograd_geometry(&plan);
    /* Sized for backward too: a recorded call keeps everything on the tape. */
    bytes = conv_carve(&plan, NULL, 1);
    if (!bytes)
        return bgm__fail(BGM_E_NOMEM, "%s: the workspace of x with this kernel does not "
                         "fit in memory", fn);
    shape[0] = plan.g.n;
    shape[1] = pool ? plan.pwin.oh : plan.g.oh;
    shape[2] = pool ? plan.pwin.ow : plan.g.ow;
    shape[3] = plan.f;
    s = bgm__op_begin(&c, fn, out, tape, &op_conv2d, in, nin, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node && infer)
        return bgm__op_fail(&c, bgm__fail(BGM_E_STATE, "%s: runs at inference only, but an "
                                          "input needs a gradient on this tape", fn));
    if (c.node) {
        p = bgm__op_save(&c, sizeof *p);
        block = p ? bgm__op_save(&c, bytes) : NULL;
        if (!block)
            goto nomem;
        *p = plan;
        conv_carve(p, block, 1);
        c.node->saved = p;
        c.node->fills_fresh = 1;
    } else {
        bytes = conv_carve(&plan, NULL, 0);
        if (!(block = bgm__op_workspace(&c, bytes)))
            goto nomem;
        conv_carve(p, block, 0);
    }
    if (p->rtab)
        fill_tables(p);
    conv_forward(p, tape, x->data, kernel->data, bias ? bias->data : NULL,
                 res ? res->data : NULL, relu, c.out->data);
    if (!c.node)
        bgm__op_workspace_release(&c, block);
    return bgm__op_end(&c, out);
nomem:
    return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the convolution "
                                      "workspace (%zu bytes)", fn, bytes));
}

BGM_API bgm_status bgm_op_conv2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                 const bgm_tensor *kernel, const bgm_tensor *bias,
                                 int stride_h, int stride_w, bgm_padding padding)
{
    return conv2d("bgm_op_conv2d", out, tape, x, kernel, bias, 0, NULL, 0, NULL, stride_h,
                  stride_w, padding);
}

bgm_status bgm__conv2d_infer(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                             const bgm_tensor *kernel, const bgm_tensor *bias,
                             const bgm_tensor *res, int relu, const bgm__pool_spec *pool,
                             int stride_h, int stride_w, bgm_padding padding)
{
    return conv2d("bgm__conv2d_infer", out, tape, x, kernel, bias, 1, res, relu, pool,
                  stride_h, stride_w, padding);
}
