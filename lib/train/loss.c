/* The compiled losses: target checks, each output's loss, the weighted total
 * and L2 penalties as ops on a tape, and what metrics see of the predictions. */
#include "autograd/ops_loss_weighted.h"
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *bgm__loss_name(bgm_loss_kind loss)
{
    switch (loss) {
    case BGM_LOSS_MSE: return "mean squared error";
    case BGM_LOSS_MAE: return "mean absolute error";
    case BGM_LOSS_BINARY_CROSSENTROPY: return "binary cross-entropy";
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY: return "categorical cross-entropy";
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: return "sparse categorical cross-entropy";
    case BGM_LOSS_CUSTOM: return "custom loss";
    }
    return "unknown loss";
}

static bgm_status check_targets(const bgm_model *m, int j, const char *fn, const char *what,
                                const bgm_tensor *y, int64_t n, bgm_tensor **view)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE], out_str[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS + 1];
    const int64_t *out = NULL, *ys = bgm_tensor_shape(y);
    int ndim = 0, out_ndim, yd = bgm_tensor_ndim(y), i, sparse;
    bgm_loss_kind loss = m->out_specs[j].loss;
    bgm_dtype want_dtype;
    *view = NULL;
    out = bgm_node_shape(m->outputs[j], &out_ndim);
    if (loss == BGM_LOSS_CUSTOM) {
        /* The user's function reads the targets as they are. */
        if (yd < 1 || ys[0] != n)
            return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, expected %lld samples first",
                             fn, what, bgm__shape_str(got, sizeof got, ys, yd), (long long)n);
        *view = (bgm_tensor *)y;
        return BGM_OK;
    }
    sparse = loss == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    want_dtype = sparse ? BGM_INT32 : BGM_FLOAT32;
    if (bgm_tensor_dtype(y) != want_dtype)
        return bgm__fail(BGM_E_DTYPE, "%s: %s needs %s %s, %s is %s", fn,
                         bgm__loss_name(loss), sparse ? "int32" : "float32",
                         sparse ? "class ids" : "targets", what,
                         bgm_tensor_dtype(y) == BGM_INT32 ? "int32" : "float32");
    shape[ndim++] = n;
    for (i = 0; i < out_ndim - (sparse ? 1 : 0); i++)
        shape[ndim++] = out[i];
    if (yd == ndim) {
        for (i = 0; i < ndim && ys[i] == shape[i]; i++)
            ;
        if (i == ndim) {
            *view = (bgm_tensor *)y;
            return BGM_OK;
        }
    }
    /* Keras accepts labels (N, 1) for (N) and targets (N) for outputs (1). */
    if ((yd == ndim + 1 && ys[yd - 1] == 1) || (yd + 1 == ndim && shape[ndim - 1] == 1)) {
        int64_t a = 1, b = 1;
        for (i = 0; i < yd; i++)
            a *= ys[i];
        for (i = 0; i < ndim; i++)
            b *= shape[i];
        if (a == b && ys[0] == n) {
            bgm_status s = bgm_tensor_reshape(view, y, shape, ndim);
            if (s != BGM_OK)
                return s;
            return BGM_OK;
        }
    }
    if (sparse)
        return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s; for an output of %s, %s needs "
                         "class ids of shape %s", fn, what,
                         bgm__shape_str(got, sizeof got, ys, yd),
                         bgm__batch_shape_str(out_str, sizeof out_str, out, out_ndim),
                         bgm__loss_name(loss), bgm__shape_str(want, sizeof want, shape, ndim));
    return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, %s is %s", fn, what,
                     bgm__shape_str(got, sizeof got, ys, yd),
                     m->noutputs == 1 ? "the model's output" : "the output",
                     bgm__batch_shape_str(want, sizeof want, out, out_ndim));
}

/* " (output 'cls')" after a loss's name in messages of a model of several outputs. */
static const char *output_label(char *buf, size_t size, const bgm_model *m, int j)
{
    if (m->noutputs == 1)
        return "";
    snprintf(buf, size, " (output '%s')", m->out_specs[j].name);
    return buf;
}

/* Weights sw (N) of a batch as a tensor of values' rank, (N, 1, ...), on tape. */
static bgm_status weights_like(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *sw,
                               const bgm_tensor *values)
{
    int64_t shape[BGM_MAX_DIMS];
    int i, nd = bgm_tensor_ndim(values), wd = bgm_tensor_ndim(sw);
    for (i = 0; i < nd; i++)
        shape[i] = i < wd ? bgm_tensor_dim(sw, i) : 1;
    return bgm_op_reshape(out, tape, sw, shape, nd);
}

bgm_status bgm__call_user_fn(bgm_tensor **out, bgm_loss_fn f, void *ctx, bgm_tape *tape,
                             const bgm_tensor *y_true, const bgm_tensor *y_pred,
                             const char *what, const char *setter, const char *fn)
{
    char msg[900];
    bgm_tensor *v = NULL;
    bgm_status s;
    *out = NULL;
    if (!f)
        return bgm__fail(BGM_E_STATE, "%s: the %s is not set (a loaded model does not hold "
                         "code): give it again with %s", fn, what, setter);
    s = f(&v, tape, y_true, y_pred, ctx);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: the %s failed: %s", fn, what, msg);
    }
    if (!v || bgm_tensor_dtype(v) != BGM_FLOAT32)
        return bgm__fail(BGM_E_INVALID, "%s: the %s returned %s, expected a float32 tensor",
                         fn, what, v ? "an int32 tensor" : "NULL");
    if (bgm_tensor_ndim(v) > 0 && bgm_tensor_dim(v, 0) != bgm_tensor_dim(y_pred, 0)) {
        char got[BGM__SHAPE_STR_SIZE];
        return bgm__fail(BGM_E_SHAPE, "%s: the %s returned shape %s; expected a scalar or one "
                         "value per sample, (%lld, ...)", fn, what,
                         bgm__shape_str(got, sizeof got, bgm_tensor_shape(v), bgm_tensor_ndim(v)),
                         (long long)bgm_tensor_dim(y_pred, 0));
    }
    *out = v;
    return BGM_OK;
}

/* Output j's custom loss: the user's values, reduced as Keras'
 * "sum_over_batch_size" (weighted by sw when given). */
static bgm_status custom_loss(bgm_tensor **out, const bgm_model *m, int j, bgm_tape *tape,
                              const bgm_tensor *y_true, const bgm_tensor *y_pred,
                              const bgm_tensor *sw, const char *fn)
{
    char what[2 * BGM__NAME_SIZE + 48], lbl[BGM__NAME_SIZE + 16], got[BGM__SHAPE_STR_SIZE];
    char ws[BGM__SHAPE_STR_SIZE];
    const bgm__output_spec *o = &m->out_specs[j];
    bgm_tensor *v = NULL, *w = NULL, *wv = NULL, *sum = NULL;
    int64_t n = bgm_tensor_dim(y_pred, 0);
    bgm_status s;
    const char *at = output_label(lbl, sizeof lbl, m, j);
    int i, ok;
    snprintf(what, sizeof what, "custom loss '%s'%s", o->loss_name, at);
    s = bgm__call_user_fn(&v, o->loss_fn, o->loss_ctx, tape, y_true, y_pred, what,
                          "bgm_model_set_loss_fn", fn);
    if (s != BGM_OK)
        return s;
    bgm__shape_str(got, sizeof got, bgm_tensor_shape(v), bgm_tensor_ndim(v));
    if (bgm_tensor_ndim(v) == 0) {
        if (sw)
            return bgm__fail(BGM_E_INVALID, "%s: the custom loss '%s'%s returned a scalar; with "
                             "sample weights it must return one value per sample, (%lld)",
                             fn, o->loss_name, at, (long long)n);
        *out = v;
        return BGM_OK;
    }
    ok = bgm_tensor_dim(v, 0) == n;
    for (i = 1; ok && sw && i < bgm_tensor_ndim(sw); i++)
        ok = i < bgm_tensor_ndim(v) && bgm_tensor_dim(v, i) == bgm_tensor_dim(sw, i);
    if (!ok)
        return bgm__fail(BGM_E_SHAPE, "%s: the custom loss '%s'%s returned shape %s; expected "
                         "a scalar or one value per sample, (%lld, ...)%s%s", fn, o->loss_name,
                         at, got, (long long)n, sw ? " fitting the sample weights " : "",
                         sw ? bgm__shape_str(ws, sizeof ws, bgm_tensor_shape(sw),
                                             bgm_tensor_ndim(sw)) : "");
    if (!sw)
        return bgm_op_mean_all(out, tape, v);
    s = weights_like(&w, tape, sw, v);
    if (s == BGM_OK)
        s = bgm_op_mul(&wv, tape, v, w);
    if (s == BGM_OK)
        s = bgm_op_sum_all(&sum, tape, wv);
    if (s == BGM_OK)
        s = bgm_op_scale(out, tape, sum, (float)(1.0 / (double)bgm_tensor_numel(v)));
    return s;
}

/* Keras' sparse cross-entropy casts float labels to class ids: *out is a new
 * int32 copy of y, whose values must all be whole numbers in int32's range. */
static bgm_status float_labels(const char *fn, const char *what, const bgm_tensor *y,
                               bgm_tensor **out)
{
    const float *v = bgm_tensor_data(y);
    int64_t i, n = bgm_tensor_numel(y);
    int32_t *ids;
    bgm_status s;
    *out = NULL;
    for (i = 0; i < n; i++)
        if (!(v[i] == floorf(v[i]) && v[i] >= -2147483648.0f && v[i] < 2147483648.0f))
            return bgm__fail(BGM_E_INVALID, "%s: sparse categorical cross-entropy takes "
                             "class ids; float32 %s holds %g at flat index %lld, not a whole "
                             "number", fn, what, (double)v[i], (long long)i);
    s = bgm_tensor_zeros(out, BGM_INT32, bgm_tensor_shape(y), bgm_tensor_ndim(y));
    if (s != BGM_OK)
        return s;
    ids = bgm_tensor_data(*out);
    for (i = 0; i < n; i++)
        ids[i] = (int32_t)v[i];
    return BGM_OK;
}

bgm_status bgm__check_targets(const bgm_model *m, int j, const char *fn, const char *what,
                              const bgm_tensor *y, int64_t n, bgm_tensor **view)
{
    bgm_tensor *ids = NULL;
    bgm_status s;
    if (m->out_specs[j].loss != BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
        bgm_tensor_dtype(y) != BGM_FLOAT32)
        return check_targets(m, j, fn, what, y, n, view);
    *view = NULL;
    s = float_labels(fn, what, y, &ids);
    if (s == BGM_OK)
        s = check_targets(m, j, fn, what, ids, n, view);
    if (s != BGM_OK || *view != ids)
        bgm_tensor_free(ids); /* a reshaped view keeps the storage */
    return s;
}

/* Output o's loss of y_pred against y_true on tape. */
static bgm_status output_loss(bgm_tensor **out, bgm_tape *tape, const bgm__output_spec *o,
                              const bgm_tensor *y_true, const bgm_tensor *y_pred,
                              const bgm_tensor *sw)
{
    if (sw)
        return bgm__op_weighted_loss(out, tape, o->loss, y_pred, y_true, sw, o->from_logits);
    switch (o->loss) {
    case BGM_LOSS_MSE: return bgm_op_mse_loss(out, tape, y_pred, y_true);
    case BGM_LOSS_MAE: return bgm_op_mae_loss(out, tape, y_pred, y_true);
    case BGM_LOSS_BINARY_CROSSENTROPY:
        return bgm_op_binary_crossentropy(out, tape, y_pred, y_true, o->from_logits);
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY:
        return bgm_op_categorical_crossentropy(out, tape, y_pred, y_true, o->from_logits);
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        return bgm_op_sparse_categorical_crossentropy(out, tape, y_pred, y_true,
                                                      o->from_logits);
    case BGM_LOSS_CUSTOM:
        break;
    }
    return BGM_E_INTERNAL;
}

/* Adds the kernel L2 penalties to *loss. */
static bgm_status add_penalties(const bgm_model *m, bgm_tape *tape, bgm_tensor **loss)
{
    bgm_status s = BGM_OK;
    int i;
    for (i = 0; s == BGM_OK && i < m->nweights; i++) {
        const bgm__weight *w = &m->weights[i];
        const bgm_layer *l = m->layers[w->layer];
        bgm_tensor *sq, *sum, *pen;
        /* Keras 3 regularizes trainable weights only. */
        if (!l->specs[i - l->first_weight].l2 || l->l2 == 0.0f ||
            !bgm__model_weight_trained(m, i, 1))
            continue;
        s = bgm_op_mul(&sq, tape, w->view, w->view);
        if (s == BGM_OK)
            s = bgm_op_sum_all(&sum, tape, sq);
        if (s == BGM_OK)
            s = bgm_op_scale(&pen, tape, sum, l->l2);
        if (s == BGM_OK)
            s = bgm_op_add(loss, tape, *loss, pen);
    }
    return s;
}

bgm_status bgm__model_loss(const bgm_model *m, bgm_tape *tape, const bgm_tensor *const *ys,
                           bgm_tensor *const *preds, const bgm_tensor *sw, bgm_tensor **per,
                           bgm_tensor **total, const char *fn)
{
    bgm_tensor *loss = NULL, *term;
    bgm_status s = BGM_OK;
    int j;
    for (j = 0; s == BGM_OK && j < m->noutputs; j++) {
        const bgm__output_spec *o = &m->out_specs[j];
        if (o->loss == BGM_LOSS_CUSTOM)
            s = custom_loss(&per[j], m, j, tape, ys[j], preds[j], sw, fn);
        else
            s = output_loss(&per[j], tape, o, ys[j], preds[j], sw);
        term = per[j];
        /* A weight of 1 adds nothing to the tape: a model of one output
         * computes exactly the loss it always did. */
        if (s == BGM_OK && o->weight != 1.0f)
            s = bgm_op_scale(&term, tape, per[j], o->weight);
        if (s == BGM_OK && j > 0)
            s = bgm_op_add(&loss, tape, loss, term);
        else if (s == BGM_OK)
            loss = term;
    }
    if (s == BGM_OK)
        s = add_penalties(m, tape, &loss);
    *total = s == BGM_OK ? loss : NULL;
    return s;
}

bgm_status bgm__metric_input(const bgm_model *m, int j, bgm_tape *tape,
                             const bgm_tensor *y_pred, bgm_tensor **out)
{
    int i, used = 0;
    for (i = 0; i < m->nmetrics && !used; i++)
        used = m->metrics[i].output == j;
    if (!m->out_specs[j].from_logits || !used) {
        *out = (bgm_tensor *)y_pred;
        return BGM_OK;
    }
    if (m->out_specs[j].loss == BGM_LOSS_BINARY_CROSSENTROPY)
        return bgm_op_sigmoid(out, tape, y_pred);
    return bgm_op_softmax(out, tape, y_pred, -1);
}

/* The targets of one output for the tape: the caller's y, or a reshaped
 * view on tape (the tape keeps pointers to its inputs, so a view of its own
 * outlives the call) or, for int32 labels that the loss copies, a view in
 * *own the caller frees after the loss. */
static bgm_status taped_targets(const bgm_tensor **out, bgm_tensor **own, const bgm_model *m,
                                int j, bgm_tape *tape, const bgm_tensor *y, int64_t n,
                                const char *what, const char *fn)
{
    bgm_tensor *view = NULL, *taped = NULL;
    bgm_status s = bgm__check_targets(m, j, fn, what, y, n, &view);
    *own = NULL;
    *out = view;
    if (s != BGM_OK || view == y)
        return s;
    if (bgm_tensor_dtype(view) != BGM_FLOAT32) {
        *own = view;
        return BGM_OK;
    }
    s = bgm_op_reshape(&taped, tape, y, bgm_tensor_shape(view), bgm_tensor_ndim(view));
    bgm_tensor_free(view);
    *out = taped;
    return s;
}

/* compute_loss on arrays of n = m->noutputs targets and predictions, with
 * sample weights sw (checked here) or NULL. */
static bgm_status compute_loss(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                               const bgm_tensor *const *y_true,
                               const bgm_tensor *const *y_pred, const bgm_tensor *sw,
                               const char *fn)
{
    char yname[BGM__NAME_SIZE + 32], pname[32];
    const bgm_tensor *ys[BGM__MAX_IO];
    bgm_tensor *own[BGM__MAX_IO] = {NULL}, *per[BGM__MAX_IO];
    int multi = m->noutputs > 1, j;
    bgm_status s = BGM_OK;
    for (j = 0; s == BGM_OK && j < m->noutputs; j++) {
        snprintf(pname, sizeof pname, multi ? "y_pred[%d]" : "y_pred", j);
        if (multi)
            snprintf(yname, sizeof yname, "y_true[%d] (output '%s')", j,
                     m->out_specs[j].name);
        else
            snprintf(yname, sizeof yname, "y_true");
        if (!y_true[j] || !y_pred[j])
            s = bgm__fail(BGM_E_INVALID, "%s: %s is NULL", fn, y_true[j] ? pname : yname);
        else if (bgm_tensor_ndim(y_pred[j]) < 1)
            s = bgm__fail(BGM_E_SHAPE, "%s: %s is a scalar, expected (batch, ...)", fn, pname);
        else
            s = taped_targets(&ys[j], &own[j], m, j, tape, y_true[j],
                              bgm_tensor_dim(y_pred[j], 0), yname, fn);
    }
    if (s == BGM_OK && sw) {
        bgm__arrays a;
        memset(&a, 0, sizeof a);
        a.n = bgm_tensor_dim(y_pred[0], 0);
        s = bgm__weights_check(&a, m, sw, NULL, 0, "sample_weight", fn);
    }
    if (s == BGM_OK)
        s = bgm__model_loss(m, tape, ys, (bgm_tensor *const *)y_pred, sw, per, out, fn);
    for (j = 0; j < m->noutputs; j++)
        bgm_tensor_free(own[j]); /* int32 labels: the loss keeps its own copy */
    return s;
}

/* The checks both compute_loss functions start with (*out cleared first). */
static bgm_status check_call(bgm_tensor **out, const bgm_model *m, const bgm_tape *tape,
                             const void *y_true, const void *y_pred, const char *fn)
{
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(tape, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    BGM__CHECK_NULL(y_true, fn);
    BGM__CHECK_NULL(y_pred, fn);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_compute_loss(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                          const bgm_tensor *y_true, const bgm_tensor *y_pred)
{
    static const char *fn = "bgm_model_compute_loss";
    bgm_status s = check_call(out, m, tape, y_true, y_pred, fn);
    if (s != BGM_OK)
        return s;
    if (m->noutputs != 1)
        return bgm__fail(BGM_E_INVALID, "%s: the model has %d outputs; give every output's "
                         "targets and predictions to bgm_model_compute_loss_multi", fn,
                         m->noutputs);
    return compute_loss(out, m, tape, &y_true, &y_pred, NULL, fn);
}

/* The checks of the compute_loss functions of several outputs. */
static bgm_status check_multi(bgm_tensor **out, bgm_model *m, const bgm_tape *tape,
                              const bgm_tensor *const *y_true, int ny,
                              const bgm_tensor *const *y_pred, int npred, const char *fn)
{
    bgm_status s = check_call(out, m, tape, y_true, y_pred, fn);
    if (s != BGM_OK)
        return s;
    if (ny != m->noutputs || npred != m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: the model has %d output%s, got %d y_true and %d "
                         "y_pred tensors", fn, m->noutputs, m->noutputs == 1 ? "" : "s", ny,
                         npred);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_compute_loss_multi(bgm_tensor **out, bgm_model *m,
                                                bgm_tape *tape,
                                                const bgm_tensor *const *y_true, int ny,
                                                const bgm_tensor *const *y_pred, int npred)
{
    static const char *fn = "bgm_model_compute_loss_multi";
    bgm_status s = check_multi(out, m, tape, y_true, ny, y_pred, npred, fn);
    return s == BGM_OK ? compute_loss(out, m, tape, y_true, y_pred, NULL, fn) : s;
}

BGM_API bgm_status bgm_model_compute_loss_weighted(bgm_tensor **out, bgm_model *m,
                                                   bgm_tape *tape,
                                                   const bgm_tensor *const *y_true, int ny,
                                                   const bgm_tensor *const *y_pred, int npred,
                                                   const bgm_tensor *sample_weight)
{
    static const char *fn = "bgm_model_compute_loss_weighted";
    bgm_status s = check_multi(out, m, tape, y_true, ny, y_pred, npred, fn);
    return s == BGM_OK ? compute_loss(out, m, tape, y_true, y_pred, sample_weight, fn) : s;
}
