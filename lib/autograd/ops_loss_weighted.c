/*
 * Weighted losses: one row (sample) at a time through the loss kernels
 * (bgm__loss_sum / bgm__loss_backward of ops_loss.c), each row's sum scaled
 * by its weight. attr[0] the loss kind, attr[1] from_logits, attr[2] rows,
 * attr[3] classes (the last dimension), attr[4] rows per weight; saved: the
 * weights, then the labels (sparse).
 */
#include <string.h>

#include "autograd/ops_loss_weighted.h"
#include "tape.h"

/* Keras averages the elementwise losses over the last axis. */
static int elementwise(bgm_loss_kind kind)
{
    return kind == BGM_LOSS_MSE || kind == BGM_LOSS_MAE ||
           kind == BGM_LOSS_BINARY_CROSSENTROPY;
}

static void weighted_backward(const bgm__node *node, const float *gout, float **gin)
{
    bgm_loss_kind kind = (bgm_loss_kind)node->attr[0];
    int logits = (int)node->attr[1];
    int64_t rows = node->attr[2], c = node->attr[3], per = node->attr[4], r;
    const float *w = node->saved;
    const int32_t *labels = kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
                                ? (const int32_t *)(w + rows / per) : NULL;
    const float *p = node->in[0]->data;
    const float *t = node->nin > 1 ? node->in[1]->data : NULL;
    float *gp = gin[0], *gt = node->nin > 1 ? gin[1] : NULL;
    double denom = (double)rows * (elementwise(kind) ? (double)c : 1.0);
    for (r = 0; r < rows; r++) {
        float scale = (float)((double)gout[0] * (double)w[r / per] / denom);
        bgm__loss_backward(kind, logits, p + r * c, t ? t + r * c : NULL,
                           labels ? labels + r : NULL, 1, c, scale, gp ? gp + r * c : NULL,
                           gt ? gt + r * c : NULL);
    }
}

static const bgm__op op_weighted = {"weighted_loss", weighted_backward, 0};

/* Checks target (and its labels) and weights against pred; *per receives
 * the rows per weight. */
static bgm_status check_shapes(const char *fn, bgm_loss_kind kind, const bgm_tensor *pred,
                               const bgm_tensor *target, const bgm_tensor *weights,
                               int64_t *per)
{
    char sp[BGM__SHAPE_STR_SIZE], st[BGM__SHAPE_STR_SIZE];
    int sparse = kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, i, td;
    int64_t c, k;
    if (kind < BGM_LOSS_MSE || kind > BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)  /* not custom */
        return bgm__fail(BGM_E_INVALID, "%s: unknown loss %d", fn, (int)kind);
    if (!target || !weights)
        return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL", fn,
                         target ? "weights" : "target");
    if (target->dtype != (sparse ? BGM_INT32 : BGM_FLOAT32) || weights->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: %s must be %s and weights float32", fn,
                         sparse ? "labels" : "target", sparse ? "int32" : "float32");
    bgm__tensor_shape_str(sp, sizeof sp, pred);
    if (pred->ndim < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: pred must have a last dimension, got a scalar", fn);
    td = pred->ndim - (sparse ? 1 : 0);
    bgm__tensor_shape_str(st, sizeof st, target);
    for (i = 0; i < td && target->ndim == td; i++)
        if (target->shape[i] != pred->shape[i])
            break;
    if (target->ndim != td || i < td)
        return bgm__fail(BGM_E_SHAPE, "%s: target %s does not fit pred %s", fn, st, sp);
    bgm__tensor_shape_str(st, sizeof st, weights);
    if (weights->ndim < 1 || weights->ndim > pred->ndim - 1)
        goto bad_weights;
    for (i = 0, k = 1; i < pred->ndim - 1; i++) {
        if (i < weights->ndim && weights->shape[i] != pred->shape[i])
            goto bad_weights;
        if (i >= weights->ndim)
            k *= pred->shape[i];
    }
    *per = k;
    if (sparse) {
        const int32_t *lab = target->data;
        c = pred->shape[pred->ndim - 1];
        for (k = 0; k < target->numel; k++)
            if (lab[k] < 0 || lab[k] >= c)
                return bgm__fail(BGM_E_RANGE, "%s: row %lld has label %d, outside [0, %lld)",
                                 fn, (long long)k, (int)lab[k], (long long)c);
    }
    return BGM_OK;
bad_weights:
    return bgm__fail(BGM_E_SHAPE, "%s: weights %s must be a leading part of pred %s without "
                     "its last dimension, e.g. (%lld)", fn, st, sp, (long long)pred->shape[0]);
}

bgm_status bgm__op_weighted_loss(bgm_tensor **out, bgm_tape *tape, bgm_loss_kind kind,
                                 const bgm_tensor *pred, const bgm_tensor *target,
                                 const bgm_tensor *weights, int from_logits)
{
    static const char *fn = "weighted loss";
    int sparse = kind == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    const bgm_tensor *in[2] = {pred, target};
    const float *w, *p, *t;
    const int32_t *lab;
    bgm__op_call c;
    int64_t per = 1, rows, cols, r, nw;
    double sum = 0.0;
    bgm_status s = bgm__op_check(fn, out, in, 1);
    if (s == BGM_OK)
        s = check_shapes(fn, kind, pred, target, weights, &per);
    if (s != BGM_OK)
        return s;
    cols = pred->shape[pred->ndim - 1];
    rows = cols ? pred->numel / cols : 0;
    nw = per ? rows / per : 0;
    s = bgm__op_begin(&c, fn, out, tape, &op_weighted, in, sparse ? 1 : 2, NULL, 0, NULL);
    if (s != BGM_OK)
        return s;
    w = weights->data;
    p = pred->data;
    t = sparse ? NULL : target->data;
    lab = sparse ? target->data : NULL;
    for (r = 0; r < rows; r++)
        sum += (double)w[r / per] * bgm__loss_sum(kind, from_logits, p + r * cols,
                                                  t ? t + r * cols : NULL,
                                                  lab ? lab + r : NULL, 1, cols);
    if (elementwise(kind))
        sum /= (double)cols;
    /* The mean of no rows is NaN, as the unweighted losses. */
    *(float *)c.out->data = (float)(sum / (double)rows);
    if (c.node) {
        size_t wbytes = (size_t)nw * sizeof(float);
        size_t lbytes = sparse ? (size_t)rows * sizeof(int32_t) : 0;
        float *saved = bgm__op_save(&c, wbytes + lbytes + 1);
        if (!saved)
            return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
        memcpy(saved, w, wbytes);
        if (sparse)
            memcpy(saved + nw, lab, lbytes);
        c.node->saved = saved;
        c.node->attr[0] = kind;
        c.node->attr[1] = from_logits != 0;
        c.node->attr[2] = rows;
        c.node->attr[3] = cols;
        c.node->attr[4] = per;
    }
    return bgm__op_end(&c, out);
}
