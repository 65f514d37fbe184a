/*
 * Shape operations: transpose, permute, reshape, concat and slice. All
 * data movement goes through the strided-copy kernel (kernels/permute.h);
 * each backward is the same copy the other way round, accumulating.
 */
#include <string.h>

#include "kernels/elementwise.h"
#include "kernels/permute.h"
#include "tape.h"

static int64_t prod(const int64_t *shape, int from, int to)
{
    int64_t p = 1;
    int d;
    for (d = from; d < to; d++)
        p *= shape[d];
    return p;
}

/* ---- permute and transpose ---------------------------------------------- */

static void permute_backward(const bgm__node *node, const float *gout, float **gin)
{
    int inv[BGM_MAX_DIMS], d, ndim = node->out->ndim;
    if (!gin[0])
        return;
    for (d = 0; d < ndim; d++)
        inv[node->attr[d]] = d;
    bgm__permute(gin[0], gout, ndim, node->out->shape, inv, 1);
}

static const bgm__op op_permute = {"permute", permute_backward, 0};
static const bgm__op op_transpose = {"transpose", permute_backward, 0};

/* perm is valid (a permutation of 0..x->ndim-1, already normalized). */
static bgm_status permute_run(const char *fn, const bgm__op *op, bgm_tensor **out,
                              bgm_tape *tape, const bgm_tensor *x, const int *perm)
{
    int64_t shape[BGM_MAX_DIMS];
    bgm__op_call c;
    bgm_status s;
    int d;
    for (d = 0; d < x->ndim; d++)
        shape[d] = x->shape[perm[d]];
    s = bgm__op_begin(&c, fn, out, tape, op, &x, 1, shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__permute(c.out->data, x->data, x->ndim, x->shape, perm, 0);
    if (c.node)
        for (d = 0; d < x->ndim; d++)
            c.node->attr[d] = perm[d];
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_transpose(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    static const char *fn = "bgm_op_transpose";
    char sx[BGM__SHAPE_STR_SIZE];
    int perm[BGM_MAX_DIMS], d;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (x->ndim < 2)
        return bgm__fail(BGM_E_SHAPE, "%s: cannot transpose %s: it needs at least 2 "
                         "dimensions", fn, bgm__tensor_shape_str(sx, sizeof sx, x));
    for (d = 0; d < x->ndim; d++)
        perm[d] = d;
    perm[x->ndim - 2] = x->ndim - 1;
    perm[x->ndim - 1] = x->ndim - 2;
    return permute_run(fn, &op_transpose, out, tape, x, perm);
}

BGM_API bgm_status bgm_op_permute(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  const int *perm, int ndim)
{
    static const char *fn = "bgm_op_permute";
    char sx[BGM__SHAPE_STR_SIZE];
    int norm[BGM_MAX_DIMS], seen[BGM_MAX_DIMS] = {0}, d;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (ndim > 0)
        BGM__CHECK_NULL(perm, fn);
    bgm__tensor_shape_str(sx, sizeof sx, x);
    if (ndim != x->ndim)
        return bgm__fail(BGM_E_INVALID, "%s: perm has %d entries but x %s has %d "
                         "dimensions", fn, ndim, sx, x->ndim);
    for (d = 0; d < ndim; d++) {
        int p = perm[d] < 0 ? perm[d] + ndim : perm[d];
        if (p < 0 || p >= ndim)
            return bgm__fail(BGM_E_INVALID, "%s: perm[%d] = %d is out of range for x %s",
                             fn, d, perm[d], sx);
        if (seen[p])
            return bgm__fail(BGM_E_INVALID, "%s: perm names dimension %d twice (x %s)",
                             fn, p, sx);
        seen[p] = 1;
        norm[d] = p;
    }
    return permute_run(fn, &op_permute, out, tape, x, norm);
}

/* ---- reshape ------------------------------------------------------------ */

static void reshape_backward(const bgm__node *node, const float *gout, float **gin)
{
    if (gin[0])
        bgm__accumulate(gin[0], gout, node->out->numel);
}

static const bgm__op op_reshape = {"reshape", reshape_backward, 0};

BGM_API bgm_status bgm_op_reshape(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  const int64_t *shape, int ndim)
{
    static const char *fn = "bgm_op_reshape";
    int64_t resolved[BGM_MAX_DIMS];
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bgm__resolve_reshape(fn, x, shape, ndim, resolved);
    if (s != BGM_OK)
        return s;
    /* On a tape the result shares x's memory (x stays alive and unchanged
     * while the tape lives); a caller-owned result gets its own copy. */
    s = bgm__op_begin(&c, fn, out, tape, &op_reshape, &x, 1, resolved, ndim,
                      tape ? x->data : NULL);
    if (s != BGM_OK)
        return s;
    if (!tape && x->numel > 0)
        memcpy(c.out->data, x->data, (size_t)x->numel * sizeof(float));
    return bgm__op_end(&c, out);
}

/* ---- concat and slice -------------------------------------------------- */

/* outer rows of width elements, from src (row stride src_row) into dst (row
 * stride dst_row): a concat or a slice is one such copy per input. */
static void rows_copy(float *dst, int64_t dst_row, const float *src, int64_t src_row,
                      int64_t outer, int64_t width, int accumulate)
{
    int64_t shape[2] = {outer, width}, ds[2] = {dst_row, 1}, ss[2] = {src_row, 1};
    bgm__strided_copy(dst, ds, src, ss, 2, shape, accumulate);
}

static void concat_backward(const bgm__node *node, const float *gout, float **gin)
{
    int axis = (int)node->attr[0], k;
    const bgm_tensor *o = node->out;
    int64_t outer = prod(o->shape, 0, axis), inner = prod(o->shape, axis + 1, o->ndim);
    int64_t offset = 0, row = o->shape[axis] * inner;
    for (k = 0; k < node->nin; k++) {
        int64_t width = node->in[k]->shape[axis] * inner;
        if (gin[k])
            rows_copy(gin[k], width, gout + offset, row, outer, width, 1);
        offset += width;
    }
}

static const bgm__op op_concat = {"concat", concat_backward, 0};

BGM_API bgm_status bgm_op_concat(bgm_tensor **out, bgm_tape *tape,
                                 const bgm_tensor *const *xs, int n, int axis)
{
    static const char *fn = "bgm_op_concat";
    char s0[BGM__SHAPE_STR_SIZE], sk[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS], outer, inner, offset = 0;
    bgm__op_call c;
    bgm_status s;
    int ax, k, d;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(xs, fn);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %d, need at least one tensor", fn, n);
    s = bgm__op_check(fn, out, xs, n);
    if (s != BGM_OK)
        return s;
    s = bgm__normalize_axis(fn, axis, xs[0]->ndim, &ax);
    if (s != BGM_OK)
        return s;
    memcpy(shape, xs[0]->shape, sizeof shape);
    shape[ax] = 0;
    for (k = 0; k < n; k++) {
        const bgm_tensor *x = xs[k];
        int fits = x->ndim == xs[0]->ndim;
        for (d = 0; fits && d < x->ndim; d++)
            fits = d == ax || x->shape[d] == xs[0]->shape[d];
        if (!fits)
            return bgm__fail(BGM_E_SHAPE, "%s: cannot join input 0 %s and input %d %s "
                             "along axis %d: the other dimensions differ", fn,
                             bgm__tensor_shape_str(s0, sizeof s0, xs[0]), k,
                             bgm__tensor_shape_str(sk, sizeof sk, x), axis);
        shape[ax] += x->shape[ax];
    }
    s = bgm__op_begin(&c, fn, out, tape, &op_concat, xs, n, shape, xs[0]->ndim, NULL);
    if (s != BGM_OK)
        return s;
    outer = prod(shape, 0, ax);
    inner = prod(shape, ax + 1, xs[0]->ndim);
    for (k = 0; k < n; k++) {
        int64_t width = xs[k]->shape[ax] * inner;
        rows_copy((float *)c.out->data + offset, shape[ax] * inner, xs[k]->data, width,
                  outer, width, 0);
        offset += width;
    }
    if (c.node)
        c.node->attr[0] = ax;
    return bgm__op_end(&c, out);
}

/* Slices hold rows of len * inner elements taken at start * inner of the
 * input's rows of dim * inner. */
static void slice_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *x = node->in[0];
    int axis = (int)node->attr[0];
    int64_t outer = prod(x->shape, 0, axis), inner = prod(x->shape, axis + 1, x->ndim);
    int64_t width = (node->attr[2] - node->attr[1]) * inner;
    if (gin[0])
        rows_copy(gin[0] + node->attr[1] * inner, x->shape[axis] * inner, gout, width,
                  outer, width, 1);
}

static const bgm__op op_slice = {"slice", slice_backward, 0};

BGM_API bgm_status bgm_op_slice(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                int axis, int64_t start, int64_t stop)
{
    static const char *fn = "bgm_op_slice";
    char sx[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS], outer, inner;
    bgm__op_call c;
    int ax;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bgm__normalize_axis(fn, axis, x->ndim, &ax);
    if (s != BGM_OK)
        return s;
    if (start < 0 || start > stop || stop > x->shape[ax])
        return bgm__fail(BGM_E_RANGE, "%s: [%lld, %lld) is outside [0, %lld) on axis %d "
                         "of %s", fn, (long long)start, (long long)stop,
                         (long long)x->shape[ax], axis,
                         bgm__tensor_shape_str(sx, sizeof sx, x));
    memcpy(shape, x->shape, sizeof shape);
    shape[ax] = stop - start;
    s = bgm__op_begin(&c, fn, out, tape, &op_slice, &x, 1, shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    outer = prod(x->shape, 0, ax);
    inner = prod(x->shape, ax + 1, x->ndim);
    rows_copy(c.out->data, shape[ax] * inner, (const float *)x->data + start * inner,
              x->shape[ax] * inner, outer, shape[ax] * inner, 0);
    if (c.node) {
        c.node->attr[0] = ax;
        c.node->attr[1] = start;
        c.node->attr[2] = stop;
    }
    return bgm__op_end(&c, out);
}
