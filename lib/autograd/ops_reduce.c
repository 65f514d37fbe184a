/*
 * Reductions over one axis: sum, mean and max, with or without keepdims.
 * The input is viewed as (outer, n, inner) around the axis (kernels/reduce.h).
 */
#include "kernels/reduce.h"
#include "tape.h"

/* Checks inputs, normalizes axis and gives the result's shape. */
static bgm_status reduce_prepare(const char *fn, bgm_tensor **out, const bgm_tensor *x,
                                 int axis, int keepdims, int *ax, int64_t *shape,
                                 int *ndim)
{
    int d, k = 0;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bgm__normalize_axis(fn, axis, x->ndim, ax);
    if (s != BGM_OK)
        return s;
    for (d = 0; d < x->ndim; d++) {
        if (d != *ax)
            shape[k++] = x->shape[d];
        else if (keepdims)
            shape[k++] = 1;
    }
    *ndim = k;
    return BGM_OK;
}

/* ---- sum and mean ------------------------------------------------------- */

static void sum_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t outer, n, inner;
    if (!gin[0])
        return;
    bgm__axis_view(node->in[0], (int)node->attr[0], &outer, &n, &inner);
    bgm__reduce_sum_backward(gin[0], gout, outer, n, inner, node->fattr);
}

static const bgm__op op_sum = {"sum", sum_backward, 0};
static const bgm__op op_mean = {"mean", sum_backward, 0};

static bgm_status sum_run(const char *fn, const bgm__op *op, int mean, bgm_tensor **out,
                          bgm_tape *tape, const bgm_tensor *x, int axis, int keepdims)
{
    int64_t shape[BGM_MAX_DIMS], outer, n, inner;
    int ax, ndim;
    float scale;
    bgm__op_call c;
    bgm_status s = reduce_prepare(fn, out, x, axis, keepdims, &ax, shape, &ndim);
    if (s != BGM_OK)
        return s;
    s = bgm__op_begin(&c, fn, out, tape, op, &x, 1, shape, ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__axis_view(x, ax, &outer, &n, &inner);
    /* The mean of an empty axis is NaN, as in NumPy: 0 * (1/0). */
    scale = mean ? (float)(1.0 / (double)n) : 1.0f;
    bgm__reduce_sum(c.out->data, x->data, outer, n, inner, scale);
    if (c.node) {
        c.node->attr[0] = ax;
        c.node->fattr = scale;
    }
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_sum(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              int axis, int keepdims)
{
    return sum_run("bgm_op_sum", &op_sum, 0, out, tape, x, axis, keepdims);
}

BGM_API bgm_status bgm_op_mean(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                               int axis, int keepdims)
{
    return sum_run("bgm_op_mean", &op_mean, 1, out, tape, x, axis, keepdims);
}

/* ---- max ---------------------------------------------------------------- */

/* node->saved holds the position of the first maximum of each slice. */
static void max_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t outer, n, inner;
    if (!gin[0])
        return;
    bgm__axis_view(node->in[0], (int)node->attr[0], &outer, &n, &inner);
    bgm__reduce_max_backward(gin[0], gout, node->saved, outer, n, inner);
}

static const bgm__op op_max = {"max", max_backward, 0};

BGM_API bgm_status bgm_op_max(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              int axis, int keepdims)
{
    static const char *fn = "bgm_op_max";
    char sx[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS], outer, n, inner, *argmax = NULL;
    int ax, ndim;
    bgm__op_call c;
    bgm_status s = reduce_prepare(fn, out, x, axis, keepdims, &ax, shape, &ndim);
    if (s != BGM_OK)
        return s;
    if (x->shape[ax] == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: axis %d of %s is empty: it has no maximum", fn,
                         axis, bgm__tensor_shape_str(sx, sizeof sx, x));
    s = bgm__op_begin(&c, fn, out, tape, &op_max, &x, 1, shape, ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__axis_view(x, ax, &outer, &n, &inner);
    if (c.node) {
        argmax = bgm__op_save(&c, (size_t)(outer * inner) * sizeof *argmax);
        if (!argmax)
            return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory saving the "
                                              "positions of the maxima", fn));
        c.node->attr[0] = ax;
        c.node->saved = argmax;
    }
    bgm__reduce_max(c.out->data, argmax, x->data, outer, n, inner);
    return bgm__op_end(&c, out);
}
