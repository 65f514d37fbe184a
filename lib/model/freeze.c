/*
 * Freezing (Keras' layer.trainable): a layer's flag changes at any time and
 * what the model reports follows it at once (trainable weights, counts,
 * summaries, custom loops), while fit and train_on_batch follow the flags
 * the last compile saw, as Keras' compiled train function does. Weights never
 * move: params holds every weight a layer kind trains, frozen or not, and
 * lists of views say which are trained; a weight left out of a list is never
 * watched on the tape, so no gradient is computed for it and the optimizer
 * keeps no slots for it.
 */
#include "model/model_impl.h"

#include <stdlib.h>
#include <string.h>

int bgm__model_layer_frozen(const bgm_model *m, int i, int compiled)
{
    if (compiled && m->compiled_trainable)
        return !m->compiled_trainable[i];
    return !m->layers[i]->trainable;
}

int bgm__model_weight_trained(const bgm_model *m, int i, int compiled)
{
    const bgm__weight *w = &m->weights[i];
    return w->param && !bgm__model_layer_frozen(m, w->layer, compiled);
}

void bgm__model_list_trained(bgm_model *m)
{
    int i;
    m->ntrainable = 0;
    for (i = 0; i < m->nweights; i++)
        if (bgm__model_weight_trained(m, i, 1))
            m->trainable[m->ntrainable++] = m->weights[i].view;
}

bgm_status bgm__model_freeze_compiled(bgm_model *m, const int64_t *flags, const char *fn)
{
    int i;
    if (!m->compiled_trainable) {
        m->compiled_trainable = calloc((size_t)m->nlayers + 1, sizeof *m->compiled_trainable);
        if (!m->compiled_trainable)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    for (i = 0; i < m->nlayers; i++)
        m->compiled_trainable[i] = flags ? flags[i] != 0 : m->layers[i]->trainable;
    bgm__model_list_trained(m);
    return BGM_OK;
}

/* ---- public ---------------------------------------------------------------- */

BGM_API bgm_status bgm_model_set_trainable(bgm_model *m, int trainable)
{
    int i;
    BGM__CHECK_NULL(m, "bgm_model_set_trainable");
    for (i = 0; i < m->nlayers; i++) {
        m->layers[i]->trainable = trainable != 0;
        if (m->layers[i]->inner)
            m->layers[i]->inner->trainable = trainable != 0;
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_model_set_layer_trainable(bgm_model *m, const char *name,
                                                 int trainable)
{
    static const char *fn = "bgm_model_set_layer_trainable";
    int i;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(name, fn);
    for (i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0)
            return bgm_layer_set_trainable(m->layers[i], trainable);
    return bgm__fail(BGM_E_INVALID, "%s: the model has no layer named '%.64s'", fn, name);
}

BGM_API int64_t bgm_model_num_trainable_params(const bgm_model *m)
{
    int64_t n = 0;
    int i;
    for (i = 0; m && i < m->nweights; i++)
        if (bgm__model_weight_trained(m, i, 0))
            n += m->weights[i].numel;
    return n;
}

BGM_API bgm_status bgm_model_trainable_params(bgm_tensor *const **params, int *count,
                                              bgm_model *m)
{
    static const char *fn = "bgm_model_trainable_params";
    int i;
    BGM__CHECK_NULL(params, fn);
    *params = NULL;
    BGM__CHECK_NULL(count, fn);
    *count = 0;
    BGM__CHECK_NULL(m, fn);
    m->ncurrent = 0;
    for (i = 0; i < m->nweights; i++)
        if (bgm__model_weight_trained(m, i, 0))
            m->current[m->ncurrent++] = m->weights[i].view;
    *params = m->current;
    *count = m->ncurrent;
    return BGM_OK;
}

BGM_API int bgm_model_weight_trainable(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->nweights ? bgm__model_weight_trained(m, i, 0) : 0;
}
