/* The compiled loss: target checks, the loss and L2 penalties as ops on a
 * tape, and what metrics see of the predictions. */
#include "model/model_impl.h"

const char *bgm__loss_name(bgm_loss_kind loss)
{
    switch (loss) {
    case BGM_LOSS_MSE: return "mean squared error";
    case BGM_LOSS_MAE: return "mean absolute error";
    case BGM_LOSS_BINARY_CROSSENTROPY: return "binary cross-entropy";
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY: return "categorical cross-entropy";
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: return "sparse categorical cross-entropy";
    }
    return "unknown loss";
}

bgm_status bgm__check_targets(const bgm_model *m, const char *fn, const char *what,
                              const bgm_tensor *y, int64_t n, bgm_tensor **view)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE], out_str[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS + 1];
    const int64_t *out = NULL, *ys = bgm_tensor_shape(y);
    int ndim = 0, out_ndim, yd = bgm_tensor_ndim(y), i, sparse;
    bgm_dtype want_dtype;
    *view = NULL;
    out = bgm_model_output_shape(m, &out_ndim);
    sparse = m->loss == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    want_dtype = sparse ? BGM_INT32 : BGM_FLOAT32;
    if (bgm_tensor_dtype(y) != want_dtype)
        return bgm__fail(BGM_E_DTYPE, "%s: %s needs %s %s, %s is %s", fn,
                         bgm__loss_name(m->loss), sparse ? "int32" : "float32",
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
                         bgm__loss_name(m->loss), bgm__shape_str(want, sizeof want, shape, ndim));
    return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, the model's output is %s", fn, what,
                     bgm__shape_str(got, sizeof got, ys, yd),
                     bgm__batch_shape_str(want, sizeof want, out, out_ndim));
}

bgm_status bgm__model_loss(const bgm_model *m, bgm_tape *tape, const bgm_tensor *y_true,
                           const bgm_tensor *y_pred, bgm_tensor **out)
{
    bgm_tensor *loss = NULL;
    bgm_status s = BGM_E_INTERNAL;
    int i;
    switch (m->loss) {
    case BGM_LOSS_MSE: s = bgm_op_mse_loss(&loss, tape, y_pred, y_true); break;
    case BGM_LOSS_MAE: s = bgm_op_mae_loss(&loss, tape, y_pred, y_true); break;
    case BGM_LOSS_BINARY_CROSSENTROPY:
        s = bgm_op_binary_crossentropy(&loss, tape, y_pred, y_true, m->from_logits);
        break;
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY:
        s = bgm_op_categorical_crossentropy(&loss, tape, y_pred, y_true, m->from_logits);
        break;
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        s = bgm_op_sparse_categorical_crossentropy(&loss, tape, y_pred, y_true,
                                                   m->from_logits);
        break;
    }
    for (i = 0; s == BGM_OK && i < m->nweights; i++) {
        const bgm__weight *w = &m->weights[i];
        const bgm_layer *l = m->layers[w->layer];
        bgm_tensor *sq, *sum, *pen;
        if (!l->specs[i - l->first_weight].l2 || l->l2 == 0.0f)
            continue;
        s = bgm_op_mul(&sq, tape, w->view, w->view);
        if (s == BGM_OK)
            s = bgm_op_sum_all(&sum, tape, sq);
        if (s == BGM_OK)
            s = bgm_op_scale(&pen, tape, sum, l->l2);
        if (s == BGM_OK)
            s = bgm_op_add(&loss, tape, loss, pen);
    }
    *out = s == BGM_OK ? loss : NULL;
    return s;
}

bgm_status bgm__metric_input(const bgm_model *m, bgm_tape *tape, const bgm_tensor *y_pred,
                             bgm_tensor **out)
{
    if (!m->from_logits || m->nmetrics == 0) {
        *out = (bgm_tensor *)y_pred;
        return BGM_OK;
    }
    if (m->loss == BGM_LOSS_BINARY_CROSSENTROPY)
        return bgm_op_sigmoid(out, tape, y_pred);
    return bgm_op_softmax(out, tape, y_pred, -1);
}

BGM_API bgm_status bgm_model_compute_loss(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                          const bgm_tensor *y_true, const bgm_tensor *y_pred)
{
    static const char *fn = "bgm_model_compute_loss";
    bgm_tensor *view = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(tape, fn);
    BGM__CHECK_NULL(y_true, fn);
    BGM__CHECK_NULL(y_pred, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model first", fn);
    if (bgm_tensor_ndim(y_pred) < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: y_pred is a scalar, expected (batch, ...)", fn);
    s = bgm__check_targets(m, fn, "y_true", y_true, bgm_tensor_dim(y_pred, 0), &view);
    if (s != BGM_OK)
        return s;
    if (view != y_true && bgm_tensor_dtype(view) == BGM_FLOAT32) {
        /* The tape keeps pointers to its inputs: a view of its own outlives this call. */
        bgm_tensor *taped = NULL;
        s = bgm_op_reshape(&taped, tape, y_true, bgm_tensor_shape(view), bgm_tensor_ndim(view));
        bgm_tensor_free(view);
        view = taped;
        if (s != BGM_OK)
            return s;
        s = bgm__model_loss(m, tape, view, y_pred, out);
        return s;
    }
    s = bgm__model_loss(m, tape, view, y_pred, out);
    if (view != y_true)
        bgm_tensor_free(view); /* int32 labels: the loss keeps its own copy */
    return s;
}
