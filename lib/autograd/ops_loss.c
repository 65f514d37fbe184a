/*
 * Losses as operations with a 0-dimensional result: the mean over the
 * batch of the per-example loss. Elementwise losses (MSE, MAE, binary
 * cross-entropy) average over every element, as Keras and PyTorch do;
 * categorical ones sum over the last (class) axis and average over the
 * rows. One backward serves them all: the node remembers the kind.
 */
#include <string.h>

#include "autograd/ops_loss_weighted.h"
#include "kernels/losses.h"
#include "tape.h"

double bgm__loss_sum(bgm_loss_kind kind, int logits, const float *p, const float *t,
                     const int32_t *labels, int64_t rows, int64_t c)
{
    switch (kind) {
    case BGM_LOSS_MSE: return bgm__mse_sum(p, t, rows * c);
    case BGM_LOSS_MAE: return bgm__mae_sum(p, t, rows * c);
    case BGM_LOSS_BINARY_CROSSENTROPY:
        return logits ? bgm__bce_logits_sum(p, t, rows * c) : bgm__bce_probs_sum(p, t, rows * c);
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY:
        return logits ? bgm__cce_logits_sum(p, t, rows, c) : bgm__cce_probs_sum(p, t, rows, c);
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        return logits ? bgm__scce_logits_sum(p, labels, rows, c)
                      : bgm__scce_probs_sum(p, labels, rows, c);
    case BGM_LOSS_CUSTOM:
        break;
    }
    return 0.0;
}

void bgm__loss_backward(bgm_loss_kind kind, int logits, const float *p, const float *t,
                        const int32_t *labels, int64_t rows, int64_t c, float scale, float *gp,
                        float *gt)
{
    int64_t n = rows * c;
    switch (kind) {
    case BGM_LOSS_MSE:
        bgm__mse_backward(p, t, n, scale, gp, gt);
        break;
    case BGM_LOSS_MAE:
        bgm__mae_backward(p, t, n, scale, gp, gt);
        break;
    case BGM_LOSS_BINARY_CROSSENTROPY:
        if (logits)
            bgm__bce_logits_backward(p, t, n, scale, gp, gt);
        else
            bgm__bce_probs_backward(p, t, n, scale, gp, gt);
        break;
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY:
        if (logits)
            bgm__cce_logits_backward(p, t, rows, c, scale, gp, gt);
        else
            bgm__cce_probs_backward(p, t, rows, c, scale, gp, gt);
        break;
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        if (!gp)
            break;
        if (logits)
            bgm__scce_logits_backward(p, labels, rows, c, scale, gp);
        else
            bgm__scce_probs_backward(p, labels, rows, c, scale, gp);
        break;
    case BGM_LOSS_CUSTOM:
        break;
    }
}

/* attr[0]: the bgm_loss_kind, attr[1]: from_logits, attr[2]: rows averaged
 * over, attr[3]: classes (1 for the elementwise losses, whose rows are the
 * elements); saved: the labels (sparse only). */
static void loss_backward(const bgm__node *node, const float *gout, float **gin)
{
    int64_t rows = node->attr[2];
    float scale = (float)((double)gout[0] / (double)rows);
    bgm__loss_backward((bgm_loss_kind)node->attr[0], (int)node->attr[1], node->in[0]->data,
                       node->nin > 1 ? node->in[1]->data : NULL, node->saved, rows,
                       node->attr[3], scale, gin[0], node->nin > 1 ? gin[1] : NULL);
}

static const bgm__op op_mse = {"mse_loss", loss_backward, 0};
static const bgm__op op_mae = {"mae_loss", loss_backward, 0};
static const bgm__op op_bce = {"binary_crossentropy", loss_backward, 0};
static const bgm__op op_cce = {"categorical_crossentropy", loss_backward, 0};
static const bgm__op op_scce = {"sparse_categorical_crossentropy", loss_backward, 0};

/* Rows of pred seen as (rows, classes), classes the last dimension. */
static int64_t leading_rows(const bgm_tensor *pred)
{
    int64_t rows = 1;
    int i;
    for (i = 0; i < pred->ndim - 1; i++)
        rows *= pred->shape[i];
    return rows;
}

static bgm_status pair_loss(const char *fn, bgm_loss_kind kind, const bgm__op *op,
                            bgm_tensor **out, bgm_tape *tape, const bgm_tensor *pred,
                            const bgm_tensor *target, int from_logits)
{
    char sp[BGM__SHAPE_STR_SIZE], st[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *in[2] = {pred, target};
    const float *p, *t;
    bgm__op_call c;
    int64_t i, rows, classes = 1;
    double sum = 0.0;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    bgm__tensor_shape_str(sp, sizeof sp, pred);
    bgm__tensor_shape_str(st, sizeof st, target);
    if (pred->ndim != target->ndim)
        goto mismatch;
    for (i = 0; i < pred->ndim; i++)
        if (pred->shape[i] != target->shape[i])
            goto mismatch;
    rows = pred->numel;
    if (kind == BGM_LOSS_CATEGORICAL_CROSSENTROPY) {
        if (pred->ndim < 1)
            return bgm__fail(BGM_E_SHAPE, "%s: pred must have a class dimension, got a "
                             "scalar", fn);
        rows = leading_rows(pred);
        classes = pred->shape[pred->ndim - 1];
    }
    s = bgm__op_begin(&c, fn, out, tape, op, in, 2, NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    p = pred->data;
    t = target->data;
    sum = bgm__loss_sum(kind, from_logits, p, t, NULL, rows, classes);
    /* The mean of no rows is NaN, as in PyTorch. */
    *(float *)c.out->data = (float)(sum / (double)rows);
    if (c.node) {
        c.node->attr[0] = kind;
        c.node->attr[1] = from_logits != 0;
        c.node->attr[2] = rows;
        c.node->attr[3] = classes;
    }
    return bgm__op_end(&c, out);
mismatch:
    return bgm__fail(BGM_E_SHAPE, "%s: pred %s and target %s must have the same shape", fn,
                     sp, st);
}

BGM_API bgm_status bgm_op_mse_loss(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *pred, const bgm_tensor *target)
{
    return pair_loss("bgm_op_mse_loss", BGM_LOSS_MSE, &op_mse, out, tape, pred, target, 0);
}

BGM_API bgm_status bgm_op_mae_loss(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *pred, const bgm_tensor *target)
{
    return pair_loss("bgm_op_mae_loss", BGM_LOSS_MAE, &op_mae, out, tape, pred, target, 0);
}

BGM_API bgm_status bgm_op_binary_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                              const bgm_tensor *pred,
                                              const bgm_tensor *target, int from_logits)
{
    return pair_loss("bgm_op_binary_crossentropy", BGM_LOSS_BINARY_CROSSENTROPY, &op_bce, out, tape, pred,
                     target, from_logits);
}

BGM_API bgm_status bgm_op_categorical_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                                   const bgm_tensor *pred,
                                                   const bgm_tensor *target,
                                                   int from_logits)
{
    return pair_loss("bgm_op_categorical_crossentropy", BGM_LOSS_CATEGORICAL_CROSSENTROPY,
                     &op_cce, out, tape, pred,
                     target, from_logits);
}

/* Checks labels against pred: int32, pred's shape without the class axis,
 * every value a class index. */
static bgm_status check_labels(const char *fn, const bgm_tensor *pred,
                               const bgm_tensor *labels)
{
    char sp[BGM__SHAPE_STR_SIZE], sl[BGM__SHAPE_STR_SIZE];
    const int32_t *lab;
    int64_t i, classes;
    if (labels == NULL)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'labels' is NULL", fn);
    if (labels->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: labels must be int32 class indices", fn);
    bgm__tensor_shape_str(sp, sizeof sp, pred);
    bgm__tensor_shape_str(sl, sizeof sl, labels);
    if (pred->ndim < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: pred must have a class dimension, got a scalar",
                         fn);
    if (labels->ndim != pred->ndim - 1)
        goto mismatch;
    for (i = 0; i < labels->ndim; i++)
        if (labels->shape[i] != pred->shape[i])
            goto mismatch;
    classes = pred->shape[pred->ndim - 1];
    lab = labels->data;
    for (i = 0; i < labels->numel; i++)
        if (lab[i] < 0 || lab[i] >= classes)
            return bgm__fail(BGM_E_RANGE, "%s: row %lld has label %d, outside [0, %lld)",
                             fn, (long long)i, (int)lab[i], (long long)classes);
    return BGM_OK;
mismatch:
    return bgm__fail(BGM_E_SHAPE, "%s: labels %s must have the shape of pred %s without "
                     "its last (class) dimension", fn, sl, sp);
}

BGM_API bgm_status bgm_op_sparse_categorical_crossentropy(bgm_tensor **out, bgm_tape *tape,
                                                          const bgm_tensor *pred,
                                                          const bgm_tensor *labels,
                                                          int from_logits)
{
    static const char *fn = "bgm_op_sparse_categorical_crossentropy";
    const int32_t *lab;
    bgm__op_call c;
    int64_t rows, classes;
    double sum;
    bgm_status s = bgm__op_check(fn, out, &pred, 1);
    if (s != BGM_OK)
        return s;
    s = check_labels(fn, pred, labels);
    if (s != BGM_OK)
        return s;
    rows = labels->numel;
    classes = pred->shape[pred->ndim - 1];
    /* Only pred is an input of the node: labels are integers, without a
     * gradient, and a copy is kept so the caller may reuse its buffer. */
    s = bgm__op_begin(&c, fn, out, tape, &op_scce, &pred, 1, NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    lab = labels->data;
    sum = bgm__loss_sum(BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, from_logits, pred->data, NULL,
                        lab, rows, classes);
    *(float *)c.out->data = (float)(sum / (double)rows);
    if (c.node) {
        int32_t *copy = bgm__op_save(&c, (size_t)rows * sizeof *copy);
        if (!copy)
            return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
        memcpy(copy, lab, (size_t)rows * sizeof *copy);
        c.node->saved = copy;
        c.node->attr[0] = BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        c.node->attr[1] = from_logits != 0;
        c.node->attr[2] = rows;
        c.node->attr[3] = classes;
    }
    return bgm__op_end(&c, out);
}
