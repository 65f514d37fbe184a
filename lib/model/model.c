/* bgm_model: creation, adding layers (with shape inference), accessors. */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

BGM_API bgm_status bgm_model_create(bgm_model **out, const int64_t *input_shape, int ndim,
                                    uint64_t seed)
{
    static const char *fn = "bgm_model_create";
    bgm_model *m;
    int i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(input_shape, fn);
    if (ndim < 1 || ndim >= BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: ndim = %d, expected 1 to %d dimensions per "
                         "sample (without the batch dimension)", fn, ndim, BGM_MAX_DIMS - 1);
    for (i = 0; i < ndim; i++)
        if (input_shape[i] < 1)
            return bgm__fail(BGM_E_INVALID, "%s: input dimension %d is %lld, expected at "
                             "least 1", fn, i, (long long)input_shape[i]);
    m = calloc(1, sizeof *m);
    if (!m)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    memcpy(m->in_shape, input_shape, (size_t)ndim * sizeof *input_shape);
    m->in_ndim = ndim;
    if (pthread_mutex_init(&m->infer_lock, NULL) != 0) {
        free(m);
        return bgm__fail(BGM_E_NOMEM, "%s: cannot create a mutex", fn);
    }
    bgm__rng_seed(&m->rng, seed);
    m->seed = seed;
    /* An empty model still has (empty) weight buffers, so accessors never see NULL. */
    if (bgm__model_grow_weights(m, fn) != BGM_OK) {
        pthread_mutex_destroy(&m->infer_lock);
        free(m);
        return BGM_E_NOMEM;
    }
    *out = m;
    return BGM_OK;
}

BGM_API void bgm_model_free(bgm_model *m)
{
    int i;
    if (!m)
        return;
    for (i = 0; i < m->nlayers; i++)
        bgm_layer_free(m->layers[i]);
    free(m->layers);
    bgm__model_free_weights(m);
    bgm_optimizer_free(m->optimizer);
    free(m->metrics);
    bgm_tape_free(m->tape);
    bgm__infer_tapes_free_all(m);
    pthread_mutex_destroy(&m->infer_lock);
    free(m);
}

static int name_taken(const bgm_model *m, const char *name)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Keras' automatic names: dense, dense_1, dense_2, ... */
static void auto_name(const bgm_model *m, bgm_layer *l)
{
    int i, k = 0;
    for (i = 0; i < m->nlayers; i++)
        k += m->layers[i]->ops == l->ops;
    for (;; k++) {
        if (k == 0)
            snprintf(l->name, sizeof l->name, "%s", l->ops->prefix);
        else
            snprintf(l->name, sizeof l->name, "%s_%d", l->ops->prefix, k);
        if (!name_taken(m, l->name))
            return;
    }
}

BGM_API bgm_status bgm_model_add(bgm_model *m, bgm_layer *layer)
{
    static const char *fn = "bgm_model_add";
    char msg[1024];
    const int64_t *prev;
    int prev_ndim, i;
    bgm_status s;
    if (!layer)
        return m ? BGM_E_INVALID
                 : bgm__fail(BGM_E_INVALID, "%s: argument 'm' is NULL", fn);
    if (layer->index >= 0)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' already belongs to a model", fn,
                         layer->name);
    if (layer->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by a Bidirectional "
                         "layer; add the Bidirectional layer", fn, layer->ops->kind);
    if (!m) {
        bgm_layer_free(layer);
        return bgm__fail(BGM_E_INVALID, "%s: argument 'm' is NULL", fn);
    }
    if (m->optimizer) {
        s = bgm__fail(BGM_E_STATE, "%s: the model is compiled; add layers before "
                      "bgm_model_compile", fn);
        goto fail;
    }
    if (layer->named_by_user && name_taken(m, layer->name)) {
        s = bgm__fail(BGM_E_INVALID, "%s: the model already has a layer named '%s'", fn,
                      layer->name);
        goto fail;
    }
    if (m->nlayers == m->layer_cap) {
        int cap = m->layer_cap ? 2 * m->layer_cap : 8;
        bgm_layer **grown = realloc(m->layers, (size_t)cap * sizeof *grown);
        if (!grown) {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            goto fail;
        }
        m->layers = grown;
        m->layer_cap = cap;
    }
    prev = bgm_model_output_shape(m, &prev_ndim);
    memcpy(layer->in_shape, prev, (size_t)prev_ndim * sizeof *prev);
    layer->in_ndim = prev_ndim;
    layer->index = m->nlayers;
    layer->nweights = 0;
    layer->first_weight = m->nweights;
    s = layer->ops->build(layer);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        s = bgm__fail(s, "%s: %s", fn, msg);
        goto fail;
    }
    if (!layer->trainable)
        for (i = 0; i < layer->nweights; i++)
            layer->specs[i].trainable = 0;
    if (!layer->named_by_user)
        auto_name(m, layer);
    m->layers[m->nlayers++] = layer;
    s = bgm__model_grow_weights(m, fn);
    if (s != BGM_OK) {
        m->nlayers--;
        goto fail;
    }
    return BGM_OK;
fail:
    bgm_layer_free(layer);
    return s;
}

BGM_API int bgm_model_num_layers(const bgm_model *m)
{
    return m ? m->nlayers : 0;
}

BGM_API const bgm_layer *bgm_model_layer(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->nlayers ? m->layers[i] : NULL;
}

BGM_API const int64_t *bgm_model_input_shape(const bgm_model *m, int *ndim)
{
    if (ndim)
        *ndim = m ? m->in_ndim : 0;
    return m ? m->in_shape : NULL;
}

BGM_API const int64_t *bgm_model_output_shape(const bgm_model *m, int *ndim)
{
    const bgm_layer *last;
    if (!m || m->nlayers == 0)
        return bgm_model_input_shape(m, ndim);
    last = m->layers[m->nlayers - 1];
    if (ndim)
        *ndim = last->out_ndim;
    return last->out_shape;
}

char *bgm__batch_shape_str(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t used;
    int i;
    if (size == 0)
        return buf;
    used = (size_t)snprintf(buf, size, "(None");
    for (i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, ", %lld", (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, ")");
    return buf;
}
