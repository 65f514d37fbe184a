/*
 * The executor: runs a model's plan (its nodes in topological order) on
 * tapes. Training and custom loops record every layer on one tape. Inference
 * gives each layer a tape holding no value still needed and counts, per
 * tape, the values alive on it: a value dies after its last consumer, so a
 * batch holds the largest set of activations alive at once, and a chain
 * needs two tapes taking turns.
 */
#include "model/model_impl.h"

#include "autograd/tape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_name(bgm_dtype dtype)
{
    return dtype == BGM_INT32 ? "int32" : dtype == BGM_FLOAT32 ? "float32" : "of unknown type";
}

bgm_status bgm__check_input(const bgm_model *m, int i, const char *fn, const char *what,
                            const bgm_tensor *x)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE];
    const bgm__shape *in = &m->inputs[i]->shape;
    const int64_t *shape = bgm_tensor_shape(x);
    int ndim = bgm_tensor_ndim(x), k, ok;
    bgm_dtype dtype = bgm_tensor_dtype(x);
    if (dtype != in->dtype) {
        if (in->dtype == BGM_INT32 && m->sequential)
            return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, but layer 0 (%s) takes int32 token "
                             "ids", fn, what, dtype_name(dtype), m->layers[0]->ops->kind);
        if (in->dtype == BGM_INT32)
            return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, input '%s' takes int32 token ids",
                             fn, what, dtype_name(dtype), m->inputs[i]->name);
        return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, the model takes float32 inputs%s", fn,
                         what, dtype_name(dtype), dtype == BGM_INT32 ? " (token ids need an "
                         "Embedding layer first)" : "");
    }
    ok = ndim == in->ndim + 1;
    for (k = 0; ok && k < in->ndim; k++)
        ok = shape[k + 1] == in->d[k];
    if (!ok)
        return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, the model expects %s (batch "
                         "first, then one sample's shape)", fn, what,
                         bgm__shape_str(got, sizeof got, shape, ndim),
                         bgm__batch_shape_str(want, sizeof want, in->d, in->ndim));
    return BGM_OK;
}

/* ---- inference tapes ------------------------------------------------------- */

bgm__infer_tapes *bgm__infer_tapes_take(const bgm_model *m)
{
    bgm_model *mm = (bgm_model *)m; /* only the guarded cache changes */
    bgm__infer_tapes *t;
    pthread_mutex_lock(&mm->infer_lock);
    t = mm->infer_idle;
    if (t)
        mm->infer_idle = t->next;
    pthread_mutex_unlock(&mm->infer_lock);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        bgm__fail(BGM_E_NOMEM, "out of memory for the inference tapes");
    return t;
}

void bgm__infer_tapes_give(const bgm_model *m, bgm__infer_tapes *t)
{
    bgm_model *mm = (bgm_model *)m;
    int i;
    if (!t)
        return;
    /* Results die here; the memory stays for the next call. */
    for (i = 0; i < t->ntapes; i++)
        bgm_tape_reset(t->tapes[i]);
    pthread_mutex_lock(&mm->infer_lock);
    t->next = mm->infer_idle;
    mm->infer_idle = t;
    pthread_mutex_unlock(&mm->infer_lock);
}

static void infer_tapes_free(bgm__infer_tapes *t)
{
    int i;
    for (i = 0; i < t->ntapes; i++)
        bgm_tape_free(t->tapes[i]);
    free(t->tapes);
    free(t->refs);
    free(t);
}

void bgm__infer_tapes_free_all(bgm_model *m)
{
    while (m->infer_idle) {
        bgm__infer_tapes *t = m->infer_idle;
        m->infer_idle = t->next;
        infer_tapes_free(t);
    }
}

/* Index of a tape of t that holds no live value, reset; a new one when all
 * do; -1 when out of memory. */
static int free_tape(bgm__infer_tapes *t)
{
    int i;
    for (i = 0; i < t->ntapes; i++)
        if (t->refs[i] == 0) {
            bgm_tape_reset(t->tapes[i]);
            return i;
        }
    if (t->ntapes == t->cap) {
        int cap = t->cap ? 2 * t->cap : 4;
        bgm_tape **tapes = realloc(t->tapes, (size_t)cap * sizeof *tapes);
        int *refs;
        if (!tapes)
            return -1;
        t->tapes = tapes;
        refs = realloc(t->refs, (size_t)cap * sizeof *refs);
        if (!refs)
            return -1;
        t->refs = refs;
        t->cap = cap;
    }
    if (bgm_tape_create(&t->tapes[t->ntapes]) != BGM_OK)
        return -1;
    t->refs[t->ntapes] = 0;
    return t->ntapes++;
}

/* ---- running the plan ------------------------------------------------------- */

/* What one run keeps per step: the value, its mask, and (inference) the
 * tapes its memory lies on: the one it was made on and, for a view, the
 * one holding the data (-1: none). */
typedef struct slot {
    bgm_tensor *value;
    bgm_tensor *extra[BGM__MAX_OUTPUTS - 1]; /* outputs 1.. of a call of several */
    const bgm_tensor *mask;
    int tape[2];
    int left;                  /* uses not yet run */
} slot;

/* Step k is output j > 0 of the call of step src (its one input): its value
 * is already made, on the tapes of src's. */
static void take_extra(slot *sl, int k, int src, int j, bgm__infer_tapes *t)
{
    int h;
    sl[k].value = sl[src].extra[j - 1];
    sl[k].tape[0] = sl[src].tape[0];
    sl[k].tape[1] = sl[src].tape[1];
    for (h = 0; t && h < 2; h++)
        if (sl[k].tape[h] >= 0)
            t->refs[sl[k].tape[h]]++;
}

/* Step k's value y was made on tape own from the values of st's inputs x:
 * records the tapes its memory lies on and counts it alive there. */
static void settle(slot *sl, int k, const bgm__step *st, const bgm_tensor *const *x,
                   bgm__infer_tapes *t, int own)
{
    slot *y = &sl[k];
    int j, h;
    y->tape[0] = y->tape[1] = -1;
    for (j = 0; j < st->nin; j++)
        if (y->value == x[j]) { /* an identity: y lives where its input does */
            y->tape[0] = sl[st->in[j]].tape[0];
            y->tape[1] = sl[st->in[j]].tape[1];
        }
    if (y->tape[0] < 0 && y->tape[1] < 0) {
        y->tape[0] = own;
        for (j = 0; j < st->nin; j++) /* a view: its data lies on an input's tape */
            for (h = 0; h < 2; h++) {
                int u = sl[st->in[j]].tape[h];
                if (u >= 0 && u != own && y->tape[1] < 0 &&
                    bgm__tape_holds(t->tapes[u], y->value))
                    y->tape[1] = u;
            }
    }
    for (h = 0; h < 2; h++)
        if (y->tape[h] >= 0)
            t->refs[y->tape[h]]++;
}

/* 1 when step k is the only reader left of its first input's value: the
 * value is another step's result, used once, and no other live step holds
 * the same tensor (an identity such as Dropout at rate 0 passes it on). */
static int input_free(const bgm_model *m, const slot *sl, int k)
{
    const bgm__step *st = &m->steps[k];
    int src = st->in[0], j;
    if (m->steps[src].uses != 1 || !m->steps[src].node->layer)
        return 0;
    for (j = 0; j < k; j++)
        if (j != src && sl[j].value == sl[src].value && sl[j].left > 0)
            return 0;
    return 1;
}

/* One use of step k's value has run; after the last its tapes may be reused. */
static void release(slot *sl, int k, bgm__infer_tapes *t)
{
    int h;
    if (--sl[k].left > 0 || !t)
        return;
    for (h = 0; h < 2; h++)
        if (sl[k].tape[h] >= 0)
            t->refs[sl[k].tape[h]]--;
}

/* states: NULL, or (incremental decoding at position pos) one state slot
 * per step. */
static bgm_status run(const bgm_model *m, bgm_tape *tape, bgm__infer_tapes *t,
                      const bgm_tensor *const *xs, int training, int compiled, bgm_rng *rng,
                      int64_t pos, void **states, bgm_tensor **outs)
{
    bgm__forward_ctx ctx;
    bgm__decode decode;
    slot *sl = calloc((size_t)m->nsteps + 1, sizeof *sl);
    const bgm_tensor **x = NULL, **masks = NULL;
    bgm_tensor **made = NULL;
    bgm__fuse *fuse = t && !states ? bgm__fusion_plan(m) : NULL;
    unsigned char *plan = !t && !states ? bgm__tape_fusion_plan(m) : NULL;
    int nmade = 0, maxin = 1, k, j;
    bgm_status s = BGM_OK;
    for (k = 0; k < m->nsteps; k++)
        if (m->steps[k].nin > maxin)
            maxin = m->steps[k].nin;
    x = malloc((size_t)maxin * sizeof *x);
    masks = malloc((size_t)maxin * sizeof *masks);
    made = calloc((size_t)m->nsteps + 1, sizeof *made);
    if (!sl || !x || !masks || !made) {
        s = bgm__fail(BGM_E_NOMEM, "out of memory for a forward pass");
        goto done;
    }
    ctx.training = training;
    ctx.rng = rng;
    /* Every training pass of a model with a communicator is a collective
     * one (fit, train_on_batch, a custom loop's forward): a synchronized
     * BatchNormalization sums its statistics over the ranks there. */
    ctx.comm = training ? m->comm : NULL;
    for (k = 0; k < m->nsteps && s == BGM_OK; k++) {
        const bgm__step *st = &m->steps[k];
        const bgm_layer *l = st->node->layer;
        bgm_tensor *y[BGM__MAX_OUTPUTS] = {NULL};
        int own = -1, absorbed;
        sl[k].left = st->uses;
        sl[k].tape[0] = sl[k].tape[1] = -1;
        if (!l) {
            sl[k].value = (bgm_tensor *)xs[st->input];
            continue;
        }
        if (st->node->output > 0) {
            take_extra(sl, k, st->in[0], st->node->output, t);
            release(sl, st->in[0], t);
            continue;
        }
        for (j = 0; j < st->nin; j++) {
            x[j] = sl[st->in[j]].value;
            masks[j] = sl[st->in[j]].mask;
        }
        /* done by a convolution before: the step passes its input on */
        absorbed = fuse && fuse[k].into >= 0;
        ctx.tape = tape;
        if (t && !absorbed) {
            own = free_tape(t);
            if (own < 0) {
                s = bgm__fail(BGM_E_NOMEM, "out of memory for the inference tapes");
                break;
            }
            ctx.tape = t->tapes[own];
        }
        ctx.mask = masks[0];
        ctx.masks = masks;
        decode.pos = pos;
        decode.state = states ? &states[k] : NULL;
        ctx.decode = states && l->ops->decode != BGM__DECODE_NONE ? &decode : NULL;
        ctx.input_free = !t && input_free(m, sl, k);
        ctx.frozen = training && bgm__model_layer_frozen(m, st->layer, compiled);
        ctx.defer_relu = plan && (plan[k] & BGM__DEFER_RELU);
        ctx.fuse_relu = plan && (plan[k] & BGM__FUSE_RELU);
        if (absorbed)
            y[0] = (bgm_tensor *)x[fuse[k].pass];
        else if (plan && (plan[k] & BGM__PASS_ON)) /* done by the step before */
            y[0] = (bgm_tensor *)x[0];
        else if (fuse && fuse[k].conv)
            s = bgm__fused_conv(m, fuse, k, ctx.tape, x[0],
                                fuse[k].res >= 0 ? sl[fuse[k].res].value : NULL, &y[0]);
        else
            s = l->ops->forward(l, &ctx, m->views + l->first_weight,
                                (const bgm_tensor *const *)x, st->nin, y);
        if (s == BGM_OK && plan && (plan[k] & BGM__RELU_AFTER))
            s = bgm__apply_activation_over(ctx.tape, BGM_ACT_RELU, 0.0f, y[0], &y[0]);
        /* Keras' mask propagation: the mask a layer passes on depends on its input. */
        if (s == BGM_OK && l->ops->compute_mask && st->uses > 0)
            s = l->ops->compute_mask(l, x[0], (const bgm_tensor *const *)masks, st->nin,
                                     &sl[k].mask, &made[nmade]);
        if (s != BGM_OK) {
            char msg[768];
            char who[BGM__NAME_SIZE + 16];
            snprintf(msg, sizeof msg, "%s", bgm_last_error());
            /* a layer that failed on its own already named itself */
            if (l->index >= 0)
                snprintf(who, sizeof who, "layer %d ", l->index);
            else
                snprintf(who, sizeof who, "layer '%s' ", l->name);
            if (strncmp(msg, who, strlen(who)) != 0)
                s = bgm__layer_fail(l, s, "%s", msg);
            break;
        }
        if (made[nmade])
            nmade++;
        sl[k].value = y[0];
        memcpy(sl[k].extra, y + 1, sizeof sl[k].extra);
        if (t)
            settle(sl, k, st, x, t, own);
        for (j = 0; j < st->nin; j++)
            release(sl, st->in[j], t);
    }
    if (s == BGM_OK)
        for (j = 0; j < m->noutputs; j++)
            outs[j] = sl[m->output_step[j]].value;
done:
    free(fuse);
    free(plan);
    for (j = 0; j < nmade; j++)
        bgm_tensor_free(made[j]);
    free(made);
    free(masks);
    free(x);
    free(sl);
    return s;
}

bgm_status bgm__model_run(const bgm_model *m, bgm_tape *tape, const bgm_tensor *const *xs,
                          int training, int compiled, bgm_rng *rng, bgm_tensor **outs)
{
    return run(m, tape, NULL, xs, training, compiled, rng, 0, NULL, outs);
}

bgm_status bgm__model_infer(const bgm_model *m, bgm__infer_tapes *t,
                            const bgm_tensor *const *xs, bgm_tensor **outs)
{
    return bgm__model_decode(m, t, xs, 0, NULL, outs);
}

bgm_status bgm__model_decode(const bgm_model *m, bgm__infer_tapes *t,
                             const bgm_tensor *const *xs, int64_t pos, void **states,
                             bgm_tensor **outs)
{
    int i;
    for (i = 0; i < t->ntapes; i++) {
        bgm_tape_reset(t->tapes[i]);
        t->refs[i] = 0;
    }
    /* Tape 0 always exists: evaluate records the loss there. */
    if (t->ntapes == 0 && free_tape(t) < 0)
        return bgm__fail(BGM_E_NOMEM, "out of memory for the inference tapes");
    return run(m, NULL, t, xs, 0, 0, NULL, pos, states, outs);
}

void bgm__model_free_states(const bgm_model *m, void **states)
{
    int k;
    for (k = 0; states && k < m->nsteps; k++) {
        const bgm_layer *l = m->steps[k].node->layer;
        if (states[k] && l && l->ops->free_state)
            l->ops->free_state(states[k]);
        states[k] = NULL;
    }
}

/* ---- public: forward on the caller's tape --------------------------------- */

bgm_status bgm__check_io(const bgm_model *m, const bgm_tensor *const *xs, int nx, int nout,
                        const char *fn)
{
    char what[32];
    bgm_status s = BGM_OK;
    int i;
    if (m->nlayers == 0)
        return bgm__fail(BGM_E_STATE, "%s: the model has no layers", fn);
    if (nx != m->ninputs || nout != m->noutputs)
        return bgm__fail(BGM_E_INVALID, "%s: the model has %d input%s and %d output%s, got "
                         "%d and %d", fn, m->ninputs, m->ninputs == 1 ? "" : "s",
                         m->noutputs, m->noutputs == 1 ? "" : "s", nx, nout);
    for (i = 0; s == BGM_OK && i < nx; i++) {
        if (!xs[i])
            return bgm__fail(BGM_E_INVALID, "%s: xs[%d] is NULL", fn, i);
        snprintf(what, sizeof what, nx == 1 ? "x" : "xs[%d]", i);
        s = bgm__check_input(m, i, fn, what, xs[i]);
        if (s == BGM_OK && bgm_tensor_dim(xs[i], 0) != bgm_tensor_dim(xs[0], 0))
            s = bgm__fail(BGM_E_SHAPE, "%s: xs[%d] holds %lld samples, xs[0] %lld", fn, i,
                          (long long)bgm_tensor_dim(xs[i], 0),
                          (long long)bgm_tensor_dim(xs[0], 0));
    }
    return s;
}

static bgm_status forward(bgm_tensor **outs, int nout, bgm_model *m, bgm_tape *tape,
                          const bgm_tensor *const *xs, int nx, int training, const char *fn)
{
    bgm_status s = bgm__check_io(m, xs, nx, nout, fn);
    int i;
    /* A custom loop follows the layers' flags as they are now. */
    for (i = 0; s == BGM_OK && i < m->nweights; i++)
        if (bgm__model_weight_trained(m, i, 0))
            s = bgm_tape_watch(tape, m->weights[i].view);
    if (s == BGM_OK)
        s = bgm__model_run(m, tape, xs, training, 0, training ? &m->rng : NULL, outs);
    if (s != BGM_OK) {
        char msg[900];
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        if (strncmp(msg, fn, strlen(fn)) != 0)
            bgm__fail(s, "%s: %s", fn, msg);
    }
    return s;
}

BGM_API bgm_status bgm_model_forward(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                     const bgm_tensor *x, int training)
{
    static const char *fn = "bgm_model_forward";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(tape, fn);
    BGM__CHECK_NULL(x, fn);
    return forward(out, 1, m, tape, &x, 1, training, fn);
}

BGM_API bgm_status bgm_model_forward_multi(bgm_tensor **outs, int nout, bgm_model *m,
                                           bgm_tape *tape, const bgm_tensor *const *xs,
                                           int nx, int training)
{
    static const char *fn = "bgm_model_forward_multi";
    int i;
    BGM__CHECK_NULL(outs, fn);
    for (i = 0; i < nout; i++)
        outs[i] = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(tape, fn);
    BGM__CHECK_NULL(xs, fn);
    return forward(outs, nout, m, tape, xs, nx, training, fn);
}
