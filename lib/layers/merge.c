/*
 * Keras' merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum
 * (elementwise, inputs of one shape where a dimension of 1 broadcasts) and
 * Concatenate (along an axis).
 */
#include "layers/layer.h"

#include "autograd/tape.h"

#include <stdio.h>

/* "input 1 (None, 8, 8, 16) does not match input 0 (None, 8, 8, 32)" */
static bgm_status mismatch(const bgm_layer *l, const bgm__shape *in, int i, const char *why)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    return bgm__layer_fail(l, BGM_E_SHAPE, "input %d %s does not match input 0 %s%s", i,
                           bgm__batch_shape_str(a, sizeof a, in[i].d, in[i].ndim),
                           bgm__batch_shape_str(b, sizeof b, in[0].d, in[0].ndim), why);
}

static bgm_status elementwise_build(bgm_layer *l, const bgm__shape *in, int nin,
                                    bgm__shape *out)
{
    int i, d;
    bgm__same_shape(&in[0], out);
    for (i = 0; i < nin; i++) {
        if (in[i].dtype != BGM_FLOAT32)
            return bgm__layer_fail(l, BGM_E_DTYPE, "input %d holds int32 token ids; merge "
                                   "layers take float32 values", i);
        if (in[i].ndim != in[0].ndim)
            return mismatch(l, in, i, "");
        for (d = 0; d < in[i].ndim; d++) {
            int64_t a = in[i].d[d], b = out->d[d];
            if (a != b && a != 1 && b != 1)
                return mismatch(l, in, i, "");
            if (b == 1)
                out->d[d] = a;
        }
    }
    return BGM_OK;
}

typedef bgm_status (*binary_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *,
                                const bgm_tensor *);

/* Keras' merge mask: a step is masked where any input's is (an input without
 * a mask masks nothing); one distinct mask passes through as it is. */
static bgm_status merge_mask(const bgm_layer *l, const bgm_tensor *x,
                             const bgm_tensor *const *masks, int nx, const bgm_tensor **out,
                             bgm_tensor **made)
{
    const bgm_tensor *first = NULL;
    bgm_tensor *acc = NULL, *next = NULL;
    bgm_status s = BGM_OK;
    int j;
    *out = NULL;
    *made = NULL;
    for (j = 0; j < nx; j++) {
        if (!masks[j] || masks[j] == first)
            continue;
        if (!first) {
            first = masks[j];
            continue;
        }
        s = bgm_op_mul(&next, NULL, acc ? acc : first, masks[j]); /* 0/1: and */
        bgm_tensor_free(acc);
        acc = next;
        if (s != BGM_OK)
            return s;
    }
    *out = acc ? acc : first;
    *made = acc;
    return BGM_OK;
}

/* x[0] op x[1] op ... op x[nx - 1], left to right. */
static bgm_status fold(binary_fn op, const bgm__forward_ctx *ctx, const bgm_tensor *const *x,
                       int nx, bgm_tensor **y)
{
    bgm_tensor *acc = NULL;
    bgm_status s = op(&acc, ctx->tape, x[0], x[1]);
    int i;
    for (i = 2; s == BGM_OK && i < nx; i++)
        s = op(&acc, ctx->tape, acc, x[i]);
    *y = acc;
    return s;
}

static bgm_status add_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                              bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                              bgm_tensor **y)
{
    if (ctx->fuse_relu && nx == 2) /* then the Activation(relu) after it passes it on */
        return bgm__op_add_relu(y, ctx->tape, x[0], x[1]);
    return fold(bgm_op_add, ctx, x, nx, y);
}

static bgm_status subtract_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return bgm_op_sub(y, ctx->tape, x[0], x[1]);
}

static bgm_status multiply_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                   bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                   bgm_tensor **y)
{
    return fold(bgm_op_mul, ctx, x, nx, y);
}

static bgm_status average_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    bgm_tensor *sum = NULL;
    bgm_status s = fold(bgm_op_add, ctx, x, nx, &sum);
    return s == BGM_OK ? bgm_op_scale(y, ctx->tape, sum, 1.0f / (float)nx) : s;
}

static bgm_status maximum_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    return fold(bgm_op_maximum, ctx, x, nx, y);
}

static bgm_status minimum_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                  bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                  bgm_tensor **y)
{
    return fold(bgm_op_minimum, ctx, x, nx, y);
}

/* The sample axis of the layer's batched axis, or -1 when it is the batch
 * axis or out of range. */
static int sample_axis(const bgm_layer *l, int ndim)
{
    int axis = (int)(l->axis < 0 ? l->axis + ndim + 1 : l->axis);
    return axis >= 1 && axis <= ndim ? axis - 1 : -1;
}

static bgm_status concatenate_build(bgm_layer *l, const bgm__shape *in, int nin,
                                    bgm__shape *out)
{
    char a[BGM__SHAPE_STR_SIZE];
    int axis = sample_axis(l, in[0].ndim), i, d;
    if (axis < 0)
        return bgm__layer_fail(l, BGM_E_SHAPE, "axis %d is %s for inputs %s", (int)l->axis,
                               l->axis == 0 ? "the batch axis" : "out of range",
                               bgm__batch_shape_str(a, sizeof a, in[0].d, in[0].ndim));
    bgm__same_shape(&in[0], out);
    out->d[axis] = 0;
    for (i = 0; i < nin; i++) {
        if (in[i].dtype != BGM_FLOAT32)
            return bgm__layer_fail(l, BGM_E_DTYPE, "input %d holds int32 token ids; "
                                   "Concatenate takes float32 values", i);
        if (in[i].ndim != in[0].ndim)
            return mismatch(l, in, i, "");
        for (d = 0; d < in[i].ndim; d++)
            if (d != axis && in[i].d[d] != in[0].d[d])
                return mismatch(l, in, i, " on the axes other than the concatenation axis");
        out->d[axis] += in[i].d[axis];
    }
    return BGM_OK;
}

static bgm_status concatenate_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                      bgm_tensor *const *w, const bgm_tensor *const *x,
                                      int nx, bgm_tensor **y)
{
    return bgm_op_concat(y, ctx->tape, x, nx, sample_axis(l, bgm_tensor_ndim(x[0]) - 1) + 1);
}

BGM_API bgm_layer *bgm_layer_add(void)
{
    return bgm__layer_new(&bgm__add_ops, "bgm_layer_add");
}

BGM_API bgm_layer *bgm_layer_subtract(void)
{
    return bgm__layer_new(&bgm__subtract_ops, "bgm_layer_subtract");
}

BGM_API bgm_layer *bgm_layer_multiply(void)
{
    return bgm__layer_new(&bgm__multiply_ops, "bgm_layer_multiply");
}

BGM_API bgm_layer *bgm_layer_average(void)
{
    return bgm__layer_new(&bgm__average_ops, "bgm_layer_average");
}

BGM_API bgm_layer *bgm_layer_maximum(void)
{
    return bgm__layer_new(&bgm__maximum_ops, "bgm_layer_maximum");
}

BGM_API bgm_layer *bgm_layer_minimum(void)
{
    return bgm__layer_new(&bgm__minimum_ops, "bgm_layer_minimum");
}

BGM_API bgm_layer *bgm_layer_concatenate(int axis)
{
    bgm_layer *l = bgm__layer_new(&bgm__concatenate_ops, "bgm_layer_concatenate");
    if (l)
        l->axis = axis;
    return bgm__layer_checked(l);
}

#define ELEMENTWISE(k, p, f, most)                                                       \
    {.kind = k, .prefix = p, .ctor = "bgm_layer_" p, .build = elementwise_build,        \
     .forward = f, .compute_mask = merge_mask, .min_inputs = 2, .max_inputs = most,     \
     .decode = BGM__DECODE_POINTWISE}

const bgm__layer_ops bgm__add_ops = ELEMENTWISE("Add", "add", add_forward, -1);
const bgm__layer_ops bgm__subtract_ops = ELEMENTWISE("Subtract", "subtract",
                                                     subtract_forward, 2);
const bgm__layer_ops bgm__multiply_ops = ELEMENTWISE("Multiply", "multiply",
                                                     multiply_forward, -1);
const bgm__layer_ops bgm__average_ops = ELEMENTWISE("Average", "average", average_forward, -1);
const bgm__layer_ops bgm__maximum_ops = ELEMENTWISE("Maximum", "maximum", maximum_forward, -1);
const bgm__layer_ops bgm__minimum_ops = ELEMENTWISE("Minimum", "minimum", minimum_forward, -1);

static const bgm__field concatenate_fields[] = {
    {.key = "axis", .what = "axis", .label = "axis", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(axis), .lo = -(BGM_MAX_DIMS - 1), .hi = BGM_MAX_DIMS - 1}};

const bgm__layer_ops bgm__concatenate_ops = {
    .kind = "Concatenate", .prefix = "concatenate", .ctor = "bgm_layer_concatenate",
    .fields = concatenate_fields, .nfields = BGM__NFIELDS(concatenate_fields),
    .build = concatenate_build, .forward = concatenate_forward, .min_inputs = 2,
    .max_inputs = -1};
