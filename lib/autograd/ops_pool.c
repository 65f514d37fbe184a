/*
 * Pooling over NHWC images: max and average windows, and the global
 * average. Every image is independent, so forward and backward are
 * threaded over the batch. Max pooling saves the index of each window's
 * maximum for the backward pass.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/pool.h"
#include "tape.h"
#include "window.h"

typedef struct pool_saved {
    bgm__window g;
    int32_t *argmax;    /* max pooling: N * OH * OW * C indices into each image */
} pool_saved;

typedef struct pool_job {
    const bgm__window *g;
    const float *x;     /* forward input, or NULL */
    float *y;           /* forward output */
    const float *gy;    /* backward input */
    float *gx;          /* backward output */
    int32_t *argmax;
    int zero;           /* backward: gx is uninitialized, clear each image first */
} pool_job;

static int64_t image_in(const bgm__window *g) { return g->h * g->w * g->c; }
static int64_t image_out(const bgm__window *g) { return g->oh * g->ow * g->c; }

static void max_forward_range(void *ctx, int64_t begin, int64_t end)
{
    const pool_job *j = ctx;
    int64_t i, in = image_in(j->g), out = image_out(j->g);
    for (i = begin; i < end; i++)
        bgm__max_pool(j->g, j->x + i * in, j->y + i * out,
                      j->argmax ? j->argmax + i * out : NULL);
}

static void max_backward_range(void *ctx, int64_t begin, int64_t end)
{
    const pool_job *j = ctx;
    int64_t i, in = image_in(j->g), out = image_out(j->g);
    /* Windows that tile the image without overlap or padding write every
     * cell in one pass. */
    const bgm__window *g = j->g;
    int tiles = g->sh == g->kh && g->sw == g->kw && g->pad_top == 0 && g->pad_left == 0 &&
                g->oh * g->kh <= g->h && g->ow * g->kw <= g->w;
    for (i = begin; i < end; i++) {
        if (j->zero && tiles) {
            bgm__max_pool_backward_set(g, j->gy + i * out, j->argmax + i * out, j->gx + i * in);
            continue;
        }
        /* Cleared image by image, just before the scatter, while in cache. */
        if (j->zero)
            memset(j->gx + i * in, 0, (size_t)in * sizeof *j->gx);
        bgm__max_pool_backward(j->g, j->gy + i * out, j->argmax + i * out, j->gx + i * in);
    }
}

static void avg_forward_range(void *ctx, int64_t begin, int64_t end)
{
    const pool_job *j = ctx;
    int64_t i, in = image_in(j->g), out = image_out(j->g);
    for (i = begin; i < end; i++)
        bgm__avg_pool(j->g, j->x + i * in, j->y + i * out);
}

static void avg_backward_range(void *ctx, int64_t begin, int64_t end)
{
    const pool_job *j = ctx;
    int64_t i, in = image_in(j->g), out = image_out(j->g);
    for (i = begin; i < end; i++) {
        if (j->zero)
            memset(j->gx + i * in, 0, (size_t)in * sizeof *j->gx);
        bgm__avg_pool_backward(j->g, j->gy + i * out, j->gx + i * in);
    }
}

static void max_pool_backward(const bgm__node *node, const float *gout, float **gin)
{
    const pool_saved *sv = node->saved;
    pool_job j = {&sv->g, NULL, NULL, gout, gin[0], sv->argmax, (int)(node->fresh & 1)};
    if (gin[0])
        bgm__parallel_for(sv->g.n, 1, max_backward_range, &j);
}

static void avg_pool_backward(const bgm__node *node, const float *gout, float **gin)
{
    const pool_saved *sv = node->saved;
    pool_job j = {&sv->g, NULL, NULL, gout, gin[0], NULL, (int)(node->fresh & 1)};
    if (gin[0])
        bgm__parallel_for(sv->g.n, 1, avg_backward_range, &j);
}

static const bgm__op op_max_pool2d = {"max_pool2d", max_pool_backward, 0};
static const bgm__op op_avg_pool2d = {"avg_pool2d", avg_pool_backward, 0};

static bgm_status pool2d(const char *fn, int is_max, bgm_tensor **out, bgm_tape *tape,
                         const bgm_tensor *x, int pool_h, int pool_w, int stride_h,
                         int stride_w, bgm_padding padding)
{
    bgm__window g;
    pool_saved *sv = NULL;
    bgm__op_call c;
    pool_job j;
    int64_t shape[4];
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (pool_h < 1 || pool_w < 1)
        return bgm__fail(BGM_E_INVALID, "%s: pool size must be >= 1, got %d x %d", fn,
                         pool_h, pool_w);
    s = bgm__window_plan(fn, &g, x, pool_h, pool_w, stride_h, stride_w, padding, NULL);
    if (s != BGM_OK)
        return s;
    if (is_max && image_in(&g) > INT32_MAX) {
        char sx[BGM__SHAPE_STR_SIZE];
        return bgm__fail(BGM_E_SHAPE, "%s: images of x %s have more than 2^31 elements",
                         fn, bgm__tensor_shape_str(sx, sizeof sx, x));
    }
    shape[0] = g.n;
    shape[1] = g.oh;
    shape[2] = g.ow;
    shape[3] = g.c;
    s = bgm__op_begin(&c, fn, out, tape, is_max ? &op_max_pool2d : &op_avg_pool2d, &x, 1,
                      shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        sv = bgm__op_save(&c, sizeof *sv);
        if (!sv)
            goto nomem;
        sv->g = g;
        sv->argmax = NULL;
        if (is_max && !(sv->argmax = bgm__op_save(&c, (size_t)c.out->numel *
                                                          sizeof *sv->argmax)))
            goto nomem;
        c.node->saved = sv;
        c.node->fills_fresh = 1;
    }
    j.g = &g;
    j.x = x->data;
    j.y = c.out->data;
    j.gy = NULL;
    j.gx = NULL;
    j.argmax = sv ? sv->argmax : NULL;
    j.zero = 0;
    bgm__parallel_for(g.n, 1, is_max ? max_forward_range : avg_forward_range, &j);
    return bgm__op_end(&c, out);
nomem:
    return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
}

BGM_API bgm_status bgm_op_max_pool2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int pool_h, int pool_w, int stride_h, int stride_w,
                                     bgm_padding padding)
{
    return pool2d("bgm_op_max_pool2d", 1, out, tape, x, pool_h, pool_w, stride_h, stride_w,
                  padding);
}

BGM_API bgm_status bgm_op_avg_pool2d(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     int pool_h, int pool_w, int stride_h, int stride_w,
                                     bgm_padding padding)
{
    return pool2d("bgm_op_avg_pool2d", 0, out, tape, x, pool_h, pool_w, stride_h, stride_w,
                  padding);
}

/* ---- global average ------------------------------------------------------ */

static void global_avg_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *x = node->in[0];
    int64_t i, hw = x->shape[1] * x->shape[2], c = x->shape[3];
    if (!gin[0])
        return;
    for (i = 0; i < x->shape[0]; i++)
        bgm__global_avg_pool_backward(gout + i * c, hw, c, gin[0] + i * hw * c);
}

static const bgm__op op_global_avg_pool2d = {"global_avg_pool2d", global_avg_backward, 0};

BGM_API bgm_status bgm_op_global_avg_pool2d(bgm_tensor **out, bgm_tape *tape,
                                            const bgm_tensor *x)
{
    static const char *fn = "bgm_op_global_avg_pool2d";
    char sx[BGM__SHAPE_STR_SIZE];
    bgm__op_call c;
    int64_t i, hw, shape[2];
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    if (x->ndim != 4)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, H, W, C), got shape %s", fn, sx);
    hw = x->shape[1] * x->shape[2];
    if (hw == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has no pixels to average", fn, sx);
    shape[0] = x->shape[0];
    shape[1] = x->shape[3];
    s = bgm__op_begin(&c, fn, out, tape, &op_global_avg_pool2d, &x, 1, shape, 2, NULL);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < shape[0]; i++)
        bgm__global_avg_pool((const float *)x->data + i * hw * shape[1], hw, shape[1],
                             (float *)c.out->data + i * shape[1]);
    return bgm__op_end(&c, out);
}
