/*
 * Unary elementwise operations. They share one forward and one backward;
 * the node remembers which function it was (attr[0]) and its scalar
 * (fattr). Backward reads the input and the output, both kept alive by the
 * tape, so nothing extra is saved.
 */
#include "tape.h"

#include "kernels/elementwise.h"

static void unary_backward(const bgm__node *node, const float *gout, float **gin)
{
    if (gin[0])
        bgm__unary_backward((bgm__unary)node->attr[0], node->fattr, node->in[0]->data,
                            node->out->data, gout, gin[0], node->out->numel,
                            node->fresh & 1);
}

/* Indexed by bgm__unary. */
static const bgm__op unary_ops[] = {
    {"neg", unary_backward, 0},     {"scale", unary_backward, 0},
    {"exp", unary_backward, 0},     {"log", unary_backward, 0},
    {"sqrt", unary_backward, 0},    {"pow", unary_backward, 0},
    {"relu", unary_backward, 0},    {"leaky_relu", unary_backward, 0},
    {"sigmoid", unary_backward, 0}, {"tanh", unary_backward, 0},
    {"gelu", unary_backward, 0},    {"gelu_tanh", unary_backward, 0},
    {"silu", unary_backward, 0},
};

static bgm_status unary(const char *fn, bgm__unary kind, float alpha, bgm_tensor **out,
                        bgm_tape *tape, const bgm_tensor *x)
{
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bgm__op_begin(&c, fn, out, tape, &unary_ops[kind], &x, 1, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__unary_forward(kind, alpha, x->data, c.out->data, x->numel);
    if (c.node) {
        c.node->attr[0] = kind;
        c.node->fattr = alpha;
        c.node->fills_fresh = 1;
    }
    return bgm__op_end(&c, out);
}

bgm_status bgm__op_relu_over(bgm_tensor **y, bgm_tape *tape, bgm_tensor *x)
{
    static const char *fn = "bgm_op_relu";
    bgm__op_call c;
    bgm_status s;
    if (!x || !bgm__tape_result_overwritable(tape, x))
        return bgm_op_relu(y, tape, x);
    s = bgm__op_begin(&c, fn, y, tape, &unary_ops[BGM__UN_RELU], (const bgm_tensor *const *)&x,
                      1, x->shape, x->ndim, x->data);
    if (s != BGM_OK)
        return s;
    /* relu(x) > 0 exactly where x > 0, so backward's mask is the same
     * whether it reads x (now overwritten) or the result. */
    bgm__unary_forward(BGM__UN_RELU, 0.0f, x->data, c.out->data, x->numel);
    if (c.node) {
        c.node->attr[0] = BGM__UN_RELU;
        c.node->fills_fresh = 1;
    }
    return bgm__op_end(&c, y);
}

BGM_API bgm_status bgm_op_neg(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_neg", BGM__UN_NEG, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_scale(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                float alpha)
{
    return unary("bgm_op_scale", BGM__UN_SCALE, alpha, out, tape, x);
}

BGM_API bgm_status bgm_op_exp(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_exp", BGM__UN_EXP, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_log(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_log", BGM__UN_LOG, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_sqrt(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_sqrt", BGM__UN_SQRT, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_pow(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              float p)
{
    return unary("bgm_op_pow", BGM__UN_POW, p, out, tape, x);
}

BGM_API bgm_status bgm_op_relu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_relu", BGM__UN_RELU, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_leaky_relu(bgm_tensor **out, bgm_tape *tape,
                                     const bgm_tensor *x, float alpha)
{
    return unary("bgm_op_leaky_relu", BGM__UN_LEAKY_RELU, alpha, out, tape, x);
}

BGM_API bgm_status bgm_op_sigmoid(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_sigmoid", BGM__UN_SIGMOID, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_tanh(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_tanh", BGM__UN_TANH, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_gelu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_gelu", BGM__UN_GELU, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_gelu_tanh(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_gelu_tanh", BGM__UN_GELU_TANH, 0.0f, out, tape, x);
}

BGM_API bgm_status bgm_op_silu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return unary("bgm_op_silu", BGM__UN_SILU, 0.0f, out, tape, x);
}
