/* Reductions of a whole tensor to a 0-dimensional scalar: sum, mean, max. */
#include "tape.h"

#include "kernels/reduce_all.h"

static void sum_all_backward(const bgm__node *node, const float *gout, float **gin)
{
    if (gin[0])
        bgm__add_scalar_into(gin[0], gout[0], node->in[0]->numel);
}

static void mean_all_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t n = node->in[0]->numel;
    if (gin[0] && n > 0)
        bgm__add_scalar_into(gin[0], (float)((double)gout[0] / (double)n), n);
}

/* attr[0]: index of the maximum chosen by the forward pass. */
static void max_all_backward(const bgm__node *node, const float *gout, float **gin)
{
    if (gin[0])
        gin[0][node->attr[0]] += gout[0];
}

static const bgm__op op_sum_all = {"sum_all", sum_all_backward, 0};
static const bgm__op op_mean_all = {"mean_all", mean_all_backward, 0};
static const bgm__op op_max_all = {"max_all", max_all_backward, 0};

BGM_API bgm_status bgm_op_sum_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    bgm__op_call c;
    bgm_status s = bgm__op_begin(&c, "bgm_op_sum_all", out, tape, &op_sum_all, &x, 1,
                                 NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    *(float *)c.out->data = (float)bgm__sum_all(x->data, x->numel);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_mean_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    bgm__op_call c;
    bgm_status s = bgm__op_begin(&c, "bgm_op_mean_all", out, tape, &op_mean_all, &x, 1,
                                 NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    /* The mean of nothing is NaN, as in NumPy and PyTorch. */
    *(float *)c.out->data = (float)(bgm__sum_all(x->data, x->numel) / (double)x->numel);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_max_all(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    static const char *fn = "bgm_op_max_all";
    char sx[BGM__SHAPE_STR_SIZE];
    bgm__op_call c;
    int64_t best;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (x->numel == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: the maximum of an empty tensor of shape %s "
                         "is undefined", fn, bgm__tensor_shape_str(sx, sizeof sx, x));
    s = bgm__op_begin(&c, fn, out, tape, &op_max_all, &x, 1, NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    best = bgm__argmax_all(x->data, x->numel);
    *(float *)c.out->data = ((const float *)x->data)[best];
    if (c.node)
        c.node->attr[0] = best;
    return bgm__op_end(&c, out);
}
