/* Running the layers: the forward pass shared by fit, predict and custom loops. */
#include "model/model_impl.h"

#include "autograd/tape.h"

#include <stdio.h>
#include <string.h>

bgm_status bgm__check_input(const bgm_model *m, const char *fn, const char *what,
                            const bgm_tensor *x)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE];
    const int64_t *shape = bgm_tensor_shape(x);
    int ndim = bgm_tensor_ndim(x), i, ok;
    bgm_dtype dtype = bgm_tensor_dtype(x);
    const bgm_layer *first = m->nlayers > 0 ? m->layers[0] : NULL;
    const char *name = dtype == BGM_INT32 ? "int32" : dtype == BGM_FLOAT32 ? "float32"
                                                                           : "of unknown type";
    if (first && first->ops->takes_ids) {
        if (dtype != BGM_INT32)
            return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, but layer 0 (%s) takes int32 token "
                             "ids", fn, what, name, first->ops->kind);
    } else if (dtype != BGM_FLOAT32) {
        return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, the model takes float32 inputs%s", fn,
                         what, name, dtype == BGM_INT32 ? " (token ids need an Embedding "
                         "layer first)" : "");
    }
    ok = ndim == m->in_ndim + 1;
    for (i = 0; ok && i < m->in_ndim; i++)
        ok = shape[i + 1] == m->in_shape[i];
    if (!ok)
        return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, the model expects %s (batch "
                         "first, then one sample's shape)", fn, what,
                         bgm__shape_str(got, sizeof got, shape, ndim),
                         bgm__batch_shape_str(want, sizeof want, m->in_shape, m->in_ndim));
    return BGM_OK;
}

/*
 * The tape for the next layer when alternating between two: one that holds
 * neither h nor its data can be reset and reused; when both do (h is a view
 * made on one tape of data on the other, as Flatten makes), the layer
 * records on h's own tape without a reset.
 */
static bgm_tape *next_tape(bgm_tape *const tapes[2], const bgm_tensor *h)
{
    int k;
    for (k = 0; k < 2; k++)
        if (!bgm__tape_holds(tapes[k], h)) {
            bgm_tape_reset(tapes[k]);
            return tapes[k];
        }
    return h->tape;
}

/* The layers on x, each on tapes[0] (ntapes 1) or on next_tape (ntapes 2). */
static bgm_status run_layers(const bgm_model *m, bgm_tape *const tapes[2], int ntapes,
                             const bgm_tensor *x, int training, bgm_rng *rng,
                             bgm_tensor **out)
{
    bgm__forward_ctx ctx;
    bgm_tensor *h = (bgm_tensor *)x, *owned_mask = NULL;
    const bgm_tensor *mask = NULL;
    bgm_status s = BGM_OK;
    int i, k;
    ctx.tape = tapes[0];
    ctx.training = training;
    ctx.rng = rng;
    *out = NULL;
    for (i = 0; i < m->nlayers && s == BGM_OK; i++) {
        const bgm_layer *l = m->layers[i];
        bgm_tensor *w[BGM__LAYER_MAX_WEIGHTS], *y = NULL, *made = NULL;
        const bgm_tensor *next = NULL;
        for (k = 0; k < l->nweights; k++)
            w[k] = m->weights[l->first_weight + k].view;
        if (ntapes == 2)
            ctx.tape = next_tape(tapes, h);
        ctx.mask = mask;
        s = l->ops->forward(l, &ctx, w, h, &y);
        /* Keras' mask propagation: the mask a layer passes on depends on its input. */
        if (s == BGM_OK && l->ops->compute_mask && i + 1 < m->nlayers)
            s = l->ops->compute_mask(l, h, mask, &next, &made);
        if (s != BGM_OK) {
            char msg[768];
            snprintf(msg, sizeof msg, "%s", bgm_last_error());
            s = bgm__layer_fail(l, s, "%s", msg);
            break;
        }
        if (made) {
            bgm_tensor_free(owned_mask);
            owned_mask = made;
        }
        mask = next;
        h = y;
    }
    bgm_tensor_free(owned_mask);
    if (s == BGM_OK)
        *out = h;
    return s;
}

bgm_status bgm__model_run(const bgm_model *m, bgm_tape *tape, const bgm_tensor *x,
                          int training, bgm_rng *rng, bgm_tensor **out)
{
    bgm_tape *const tapes[2] = {tape, NULL};
    return run_layers(m, tapes, 1, x, training, rng, out);
}

bgm_status bgm__model_infer(const bgm_model *m, bgm_tape *tapes[2], const bgm_tensor *x,
                            bgm_tensor **out)
{
    bgm_tape_reset(tapes[0]);
    bgm_tape_reset(tapes[1]);
    return run_layers(m, tapes, 2, x, 0, NULL, out);
}

BGM_API bgm_status bgm_model_forward(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                     const bgm_tensor *x, int training)
{
    static const char *fn = "bgm_model_forward";
    bgm_status s;
    int i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(tape, fn);
    BGM__CHECK_NULL(x, fn);
    if (m->nlayers == 0)
        return bgm__fail(BGM_E_STATE, "%s: the model has no layers", fn);
    s = bgm__check_input(m, fn, "x", x);
    for (i = 0; s == BGM_OK && i < m->ntrainable; i++)
        s = bgm_tape_watch(tape, m->trainable[i]);
    if (s == BGM_OK)
        s = bgm__model_run(m, tape, x, training, training ? &m->rng : NULL, out);
    if (s != BGM_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        if (strncmp(msg, fn, strlen(fn)) != 0)
            bgm__fail(s, "%s: %s", fn, msg);
    }
    return s;
}
