/*
 * Global average pooling over the time axis of (N, T, C) sequences,
 * honouring a padding mask. The mask is no input of the node (it gets no
 * gradient): the per-step weights mask / count it becomes are saved
 * instead (N * T floats), so the caller may free the mask after the call.
 */
#include "kernels/seq_pool.h"
#include "tape.h"

static void seq_pool_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *x = node->in[0];
    if (gin[0])
        bgm__seq_pool_backward(gout, node->saved, x->shape[0], x->shape[1], x->shape[2],
                               gin[0], node->fresh & 1);
}

static const bgm__op op_global_avg_pool1d = {"global_avg_pool1d", seq_pool_backward, 1};

static bgm_status check_mask(const char *fn, const bgm_tensor *mask, const bgm_tensor *x)
{
    char sm[BGM__SHAPE_STR_SIZE], sx[BGM__SHAPE_STR_SIZE];
    if (mask->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: mask must be float32 (1 = keep, 0 = padding)", fn);
    if (mask->ndim != 2 || mask->shape[0] != x->shape[0] || mask->shape[1] != x->shape[1])
        return bgm__fail(BGM_E_SHAPE, "%s: mask must be (%lld, %lld) for x %s, got shape %s",
                         fn, (long long)x->shape[0], (long long)x->shape[1],
                         bgm__tensor_shape_str(sx, sizeof sx, x),
                         bgm__tensor_shape_str(sm, sizeof sm, mask));
    return BGM_OK;
}

BGM_API bgm_status bgm_op_global_avg_pool1d(bgm_tensor **out, bgm_tape *tape,
                                            const bgm_tensor *x, const bgm_tensor *mask,
                                            int keepdims)
{
    static const char *fn = "bgm_op_global_avg_pool1d";
    char sx[BGM__SHAPE_STR_SIZE];
    bgm__op_call c;
    int64_t shape[3];
    float *w;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (x->ndim != 3)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, T, C), got shape %s", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    if (x->shape[1] == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has no steps to average", fn,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    if (mask && (s = check_mask(fn, mask, x)) != BGM_OK)
        return s;
    shape[0] = x->shape[0];
    shape[1] = keepdims ? 1 : x->shape[2];
    shape[2] = x->shape[2];
    s = bgm__op_begin(&c, fn, out, tape, &op_global_avg_pool1d, &x, 1, shape,
                      keepdims ? 3 : 2, NULL);
    if (s != BGM_OK)
        return s;
    w = c.node ? bgm__op_save(&c, (size_t)(x->shape[0] * x->shape[1]) * sizeof *w)
               : bgm__op_workspace(&c, (size_t)(x->shape[0] * x->shape[1]) * sizeof *w);
    if (!w && x->shape[0] > 0)
        return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
    bgm__seq_pool_weights(mask ? mask->data : NULL, x->shape[0], x->shape[1], w);
    bgm__seq_pool_forward(x->data, w, x->shape[0], x->shape[1], x->shape[2], c.out->data);
    if (c.node) {
        c.node->saved = w;
        c.node->fills_fresh = 1;
    } else {
        bgm__op_workspace_release(&c, w);
    }
    return bgm__op_end(&c, out);
}
