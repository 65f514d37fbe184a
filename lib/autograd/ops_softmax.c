/*
 * Softmax and log-softmax along an axis. Both backwards read the op's own
 * output (node->out), which the tape keeps alive, so nothing extra is saved.
 */
#include "kernels/softmax.h"
#include "tape.h"

static void softmax_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t outer, n, inner;
    if (!gin[0])
        return;
    bgm__axis_view(node->out, (int)node->attr[0], &outer, &n, &inner);
    bgm__softmax_backward(gin[0], gout, node->out->data, outer, n, inner);
}

static void log_softmax_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t outer, n, inner;
    if (!gin[0])
        return;
    bgm__axis_view(node->out, (int)node->attr[0], &outer, &n, &inner);
    bgm__log_softmax_backward(gin[0], gout, node->out->data, outer, n, inner);
}

static const bgm__op op_softmax = {"softmax", softmax_backward, 0};
static const bgm__op op_log_softmax = {"log_softmax", log_softmax_backward, 0};

static bgm_status softmax_run(const char *fn, const bgm__op *op, int log, bgm_tensor **out,
                              bgm_tape *tape, const bgm_tensor *x, int axis)
{
    int64_t outer, n, inner;
    int ax;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bgm__normalize_axis(fn, axis, x->ndim, &ax);
    if (s != BGM_OK)
        return s;
    s = bgm__op_begin(&c, fn, out, tape, op, &x, 1, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    bgm__axis_view(x, ax, &outer, &n, &inner);
    if (log)
        bgm__log_softmax_forward(c.out->data, x->data, outer, n, inner);
    else
        bgm__softmax_forward(c.out->data, x->data, outer, n, inner);
    if (c.node)
        c.node->attr[0] = ax;
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_softmax(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  int axis)
{
    return softmax_run("bgm_op_softmax", &op_softmax, 0, out, tape, x, axis);
}

BGM_API bgm_status bgm_op_log_softmax(bgm_tensor **out, bgm_tape *tape,
                                      const bgm_tensor *x, int axis)
{
    return softmax_run("bgm_op_log_softmax", &op_log_softmax, 1, out, tape, x, axis);
}
