/*
 * Layers called on concrete tensors (Keras' eager `layer(x)`). The first
 * call builds the layer against its inputs' shapes and gives it weights of
 * its own (struct bgm__eager), initialized as a model would. A model that
 * later takes the layer copies those weights in and from then holds them:
 * calls use the model's weights, and when the model lets the layer go its
 * values are copied back, so the layer keeps what the model trained.
 */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bgm__eager {
    bgm_rng rng;               /* initial weights, dropout in training */
    bgm_tensor **w;            /* n weights of the layer's own, or NULL */
    int n;
};

/* Each layer built on tensors draws from its own seed: the n-th such layer
 * of a process gets the n-th seed. */
static uint64_t next_seed(void)
{
    static uint64_t counter;
    return 0x9E3779B97F4A7C15ull * (__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
}

static void free_weights(struct bgm__eager *e)
{
    int k;
    for (k = 0; k < e->n; k++)
        bgm_tensor_free(e->w[k]);
    free(e->w);
    e->w = NULL;
    e->n = 0;
}

void bgm__eager_free(struct bgm__eager *e)
{
    if (!e)
        return;
    free_weights(e);
    free(e);
}

/* 1 when l's own weights exist and fit its specs. */
static int owns_weights(const bgm_layer *l)
{
    return l->eager && l->eager->w && l->eager->n == l->nweights;
}

int bgm__eager_weights_out(const bgm_layer *l, int k, float *dst)
{
    const bgm_tensor *w;
    if (!owns_weights(l) || k < 0 || k >= l->nweights)
        return 0;
    w = l->eager->w[k];
    if (dst)
        memcpy(dst, bgm_tensor_data(w), (size_t)bgm_tensor_numel(w) * sizeof(float));
    return 1;
}

void bgm__eager_weights_back(const bgm_model *m, const bgm_layer *l)
{
    int k;
    if (!owns_weights(l) || !m->weights || l->first_weight < 0 ||
        l->first_weight + l->nweights > m->nweights)
        return;
    for (k = 0; k < l->nweights; k++) {
        const bgm__weight *w = &m->weights[l->first_weight + k];
        if (w->layer >= 0 && w->layer < m->nlayers && m->layers[w->layer] == l &&
            w->numel == bgm_tensor_numel(l->eager->w[k]))
            memcpy(bgm_tensor_data(l->eager->w[k]), bgm_tensor_data(w->view),
                   (size_t)w->numel * sizeof(float));
    }
}

/* Makes l's own weights from its specs (initializers, then the kind's
 * init_weights hook). */
static bgm_status make_weights(bgm_layer *l, const char *fn)
{
    struct bgm__eager *e = l->eager;
    float *data[64];
    bgm_status s = BGM_OK;
    int k;
    free_weights(e);
    if (l->nweights == 0)
        return BGM_OK;
    e->w = calloc((size_t)l->nweights, sizeof *e->w);
    if (!e->w)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the weights of layer '%s'", fn,
                         l->name);
    e->n = l->nweights;
    for (k = 0; k < l->nweights && s == BGM_OK; k++) {
        const bgm__weight_spec *spec = &l->specs[k];
        s = bgm_tensor_zeros(&e->w[k], BGM_FLOAT32, spec->shape, spec->ndim);
        if (s == BGM_OK)
            s = bgm__weight_init(&e->rng, spec, bgm_tensor_data(e->w[k]), fn);
    }
    if (s == BGM_OK && l->ops->init_weights && l->nweights <= 64) {
        for (k = 0; k < l->nweights; k++)
            data[k] = bgm_tensor_data(e->w[k]);
        l->ops->init_weights(l, data);
    }
    if (s != BGM_OK)
        free_weights(e);
    return s;
}

/* The checks that need no build: counts, inputs with a batch axis. */
static bgm_status check_call(const bgm_layer *l, int nout, const bgm_tensor *const *inputs,
                             int nin, const char *fn)
{
    const char *who = l->name[0] ? l->name : l->ops->prefix;
    int i;
    bgm_status s = bgm__layer_check_arity(l, nin, fn);
    if (s != BGM_OK)
        return s;
    if (nout != bgm__layer_num_outputs(l))
        return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) makes %d output%s, nout is %d",
                         fn, who, l->ops->kind, bgm__layer_num_outputs(l),
                         bgm__layer_num_outputs(l) == 1 ? "" : "s", nout);
    for (i = 0; i < nin; i++) {
        if (!inputs[i])
            return bgm__fail(BGM_E_INVALID, "%s: input %d of layer '%s' is NULL", fn, i, who);
        if (bgm_tensor_ndim(inputs[i]) < 1)
            return bgm__fail(BGM_E_SHAPE, "%s: input %d of layer '%s' (%s) is a scalar; "
                             "inputs are batches (batch axis first)", fn, i, who,
                             l->ops->kind);
    }
    return BGM_OK;
}

/* BGM_E_SHAPE unless y is a batch of n samples of shape want. */
static bgm_status check_output(const bgm_layer *l, const bgm_tensor *y, int64_t n,
                               const bgm__shape *want, int j, const char *fn)
{
    char got[BGM__SHAPE_STR_SIZE], exp[BGM__SHAPE_STR_SIZE];
    const int64_t *shape;
    int ok, d;
    if (!y)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (%s) made no output %d", fn, l->name,
                         l->ops->kind, j);
    shape = bgm_tensor_shape(y);
    ok = bgm_tensor_ndim(y) == want->ndim + 1 && shape[0] == n;
    for (d = 0; ok && d < want->ndim; d++)
        ok = shape[d + 1] == want->d[d];
    if (ok)
        return BGM_OK;
    return bgm__fail(BGM_E_SHAPE, "%s: layer '%s' (%s) made output %d of shape %s, its build "
                     "said %s for %lld samples", fn, l->name, l->ops->kind, j,
                     bgm__shape_str(got, sizeof got, shape, bgm_tensor_ndim(y)),
                     bgm__batch_shape_str(exp, sizeof exp, want->d, want->ndim),
                     (long long)n);
}

BGM_API bgm_status bgm_layer_apply(bgm_tensor **outs, int nout, bgm_layer *layer,
                                   bgm_tape *tape, const bgm_tensor *const *inputs, int nin,
                                   int training)
{
    static const char *fn = "bgm_layer_apply";
    bgm__shape in_stack[4], *in = in_stack, shapes[BGM__MAX_OUTPUTS];
    bgm_tensor *y[BGM__MAX_OUTPUTS] = {NULL};
    bgm_tensor *const *w = NULL;
    bgm_tape *run_tape = tape;
    bgm__forward_ctx ctx;
    int fresh, i, j;
    bgm_status s;
    BGM__CHECK_NULL(outs, fn);
    for (j = 0; j < nout && j < BGM__MAX_OUTPUTS; j++)
        outs[j] = NULL;
    BGM__CHECK_NULL(layer, fn);
    BGM__CHECK_NULL(inputs, fn);
    s = check_call(layer, nout, inputs, nin, fn);
    if (s != BGM_OK)
        return s;
    fresh = !bgm__layer_called(layer);
    if (nin > 4 && !(in = malloc((size_t)nin * sizeof *in)))
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    for (i = 0; i < nin; i++) {
        in[i].ndim = bgm_tensor_ndim(inputs[i]) - 1;
        memcpy(in[i].d, bgm_tensor_shape(inputs[i]) + 1, (size_t)in[i].ndim * sizeof(int64_t));
        in[i].dtype = bgm_tensor_dtype(inputs[i]);
    }
    s = bgm__layer_build(layer, in, nin, shapes, fn);
    if (in != in_stack)
        free(in);
    if (s != BGM_OK)
        return s;
    if (!layer->eager) {
        layer->eager = calloc(1, sizeof *layer->eager);
        if (!layer->eager) {
            layer->nweights = 0;
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        }
        bgm__rng_seed(&layer->eager->rng, next_seed());
        if (!layer->name[0]) /* Keras' automatic name; a graph makes it unique */
            snprintf(layer->name, sizeof layer->name, "%s", layer->ops->prefix);
    }
    if (layer->model)
        w = layer->model->views + layer->first_weight;
    else if (owns_weights(layer) || (s = make_weights(layer, fn)) == BGM_OK)
        w = layer->eager->w;
    if (s == BGM_OK && !run_tape)
        s = bgm_tape_create(&run_tape);
    /* Keras' tape watches trainable variables on its own. */
    for (i = 0; tape && layer->trainable && i < layer->nweights && s == BGM_OK; i++)
        if (layer->specs[i].trainable)
            s = bgm_tape_watch(tape, w[i]);
    memset(&ctx, 0, sizeof ctx);
    ctx.tape = run_tape;
    ctx.training = training != 0;
    ctx.rng = training ? &layer->eager->rng : NULL;
    ctx.frozen = !layer->trainable;
    if (s == BGM_OK)
        s = layer->ops->forward(layer, &ctx, w, inputs, nin, y);
    for (j = 0; j < nout && s == BGM_OK; j++)
        s = check_output(layer, y[j], bgm_tensor_shape(inputs[0])[0], &shapes[j], j, fn);
    for (j = 0; j < nout && s == BGM_OK; j++)
        s = tape ? (outs[j] = y[j], BGM_OK) : bgm_tensor_clone(&outs[j], y[j]);
    if (s != BGM_OK)
        for (j = 0; j < nout; j++) {
            if (!tape)
                bgm_tensor_free(outs[j]);
            outs[j] = NULL;
        }
    if (!tape)
        bgm_tape_free(run_tape);
    if (s != BGM_OK && fresh) { /* a failed first call leaves the layer unbuilt */
        bgm__eager_free(layer->eager);
        layer->eager = NULL;
        layer->nweights = 0;
    }
    return s;
}

BGM_API int bgm_layer_num_weights(const bgm_layer *layer)
{
    return layer && bgm__layer_called(layer) ? layer->nweights : 0;
}

BGM_API bgm_tensor *bgm_layer_weight(const bgm_layer *layer, int i)
{
    if (!layer || i < 0 || i >= bgm_layer_num_weights(layer))
        return NULL;
    if (layer->model)
        return layer->model->views[layer->first_weight + i];
    return owns_weights(layer) ? layer->eager->w[i] : NULL;
}

BGM_API const char *bgm_layer_weight_name(const bgm_layer *layer, int i)
{
    if (!layer || i < 0 || i >= bgm_layer_num_weights(layer))
        return NULL;
    return layer->specs[i].name;
}

BGM_API int bgm_layer_weight_trainable(const bgm_layer *layer, int i)
{
    if (!layer || i < 0 || i >= bgm_layer_num_weights(layer))
        return 0;
    return layer->specs[i].trainable;
}
