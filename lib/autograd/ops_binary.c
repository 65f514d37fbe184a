/*
 * Broadcasting elementwise binary operations: add, sub, mul, div, maximum
 * and minimum. They share one forward and one backward; the node remembers
 * which operation it was (attr[0]). The broadcast plan is not stored on the
 * node; backward rebuilds it from the input shapes, which the tape keeps
 * alive.
 */
#include "tape.h"

#include "kernels/broadcast.h"
#include "kernels/elementwise.h"

#include <string.h>

/* A sum or difference of operands of one shape (a residual connection):
 * each gradient is the output gradient, or its negation, written straight
 * into a fresh buffer (which the tape then need not clear). */
static int plain_sum(bgm__binop kind, const bgm__bcast *p)
{
    return (kind == BGM__BIN_ADD || kind == BGM__BIN_SUB) && p->anumel == p->numel &&
           p->bnumel == p->numel;
}

static void binary_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bgm_tensor *a = node->in[0], *b = node->in[1];
    bgm__bcast p;
    int k;
    if (node->fills_fresh) { /* plain_sum */
        for (k = 0; k < 2; k++)
            if (gin[k])
                bgm__unary_backward(BGM__UN_SCALE,
                                    k == 1 && node->attr[0] == BGM__BIN_SUB ? -1.0f : 1.0f,
                                    NULL, NULL, gout, gin[k], node->out->numel,
                                    (int)(node->fresh >> k & 1));
        return;
    }
    /* The shapes broadcast when recorded and have not changed since. */
    if (bgm__bcast_plan(&p, a->shape, a->ndim, b->shape, b->ndim) != 0)
        return;
    bgm__bcast_backward((bgm__binop)node->attr[0], &p, a->data, b->data, gout, gin[0],
                        gin[1]);
}

/* Indexed by bgm__binop. */
static const bgm__op binary_ops[] = {
    {"add", binary_backward, 1}, {"sub", binary_backward, 1}, {"mul", binary_backward, 0},
    {"div", binary_backward, 0}, {"maximum", binary_backward, 0}, {"minimum", binary_backward, 0},
};

static bgm_status binary(const char *fn, bgm__binop kind, bgm_tensor **out,
                         bgm_tape *tape, const bgm_tensor *a, const bgm_tensor *b)
{
    const bgm_tensor *in[2] = {a, b};
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    bgm__op_call c;
    bgm__bcast p;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    if (bgm__bcast_plan(&p, a->shape, a->ndim, b->shape, b->ndim) != 0)
        return bgm__fail(BGM_E_SHAPE, "%s: shapes %s and %s do not broadcast", fn,
                         bgm__tensor_shape_str(sa, sizeof sa, a),
                         bgm__tensor_shape_str(sb, sizeof sb, b));
    s = bgm__op_begin(&c, fn, out, tape, &binary_ops[kind], in, 2, p.shape, p.ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__bcast_forward(kind, &p, a->data, b->data, c.out->data);
    if (c.node) {
        c.node->attr[0] = kind;
        c.node->fills_fresh = (uint8_t)plain_sum(kind, &p);
    }
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_add(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                              const bgm_tensor *b)
{
    return binary("bgm_op_add", BGM__BIN_ADD, out, tape, a, b);
}

BGM_API bgm_status bgm_op_sub(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                              const bgm_tensor *b)
{
    return binary("bgm_op_sub", BGM__BIN_SUB, out, tape, a, b);
}

BGM_API bgm_status bgm_op_mul(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                              const bgm_tensor *b)
{
    return binary("bgm_op_mul", BGM__BIN_MUL, out, tape, a, b);
}

BGM_API bgm_status bgm_op_div(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                              const bgm_tensor *b)
{
    return binary("bgm_op_div", BGM__BIN_DIV, out, tape, a, b);
}

BGM_API bgm_status bgm_op_maximum(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                                  const bgm_tensor *b)
{
    return binary("bgm_op_maximum", BGM__BIN_MAX, out, tape, a, b);
}

BGM_API bgm_status bgm_op_minimum(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                                  const bgm_tensor *b)
{
    return binary("bgm_op_minimum", BGM__BIN_MIN, out, tape, a, b);
}

/* ---- bgm_op_add then a ReLU, in one pass each way ------------------------- */

static void add_relu_backward(const bgm__node *node, const float *gout, float **gin)
{
    bgm__add_relu_backward(node->out->data, gout, gin[0], (int)(node->fresh & 1), gin[1],
                           (int)(node->fresh >> 1 & 1), node->out->numel);
}

/* backward reads the result (the ReLU's mask) */
static const bgm__op op_add_relu = {"add_relu", add_relu_backward, 0};

bgm_status bgm__op_add_relu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                            const bgm_tensor *b)
{
    static const char *fn = "bgm_op_add";
    const bgm_tensor *in[2] = {a, b};
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    if (a->ndim != b->ndim || memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof *a->shape))
        return bgm__fail(BGM_E_SHAPE, "%s: the fused add and ReLU takes operands of one "
                         "shape", fn);
    s = bgm__op_begin(&c, fn, out, tape, &op_add_relu, in, 2, a->shape, a->ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__add_relu_forward(a->data, b->data, c.out->data, c.out->numel);
    if (c.node)
        c.node->fills_fresh = 1;
    return bgm__op_end(&c, out);
}
