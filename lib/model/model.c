/*
 * bgm_model: the Sequential builder (bgm_model_create + bgm_model_add, a
 * chain in a graph of the model's own), models built from graph nodes, the
 * plan both run, and accessors.
 */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bgm_model *model_new(bgm_graph *g, uint64_t seed, const char *fn)
{
    bgm_model *m = calloc(1, sizeof *m);
    if (!m) {
        bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    if (pthread_mutex_init(&m->infer_lock, NULL) != 0) {
        free(m);
        bgm__fail(BGM_E_NOMEM, "%s: cannot create a mutex", fn);
        return NULL;
    }
    bgm__graph_retain(g);
    m->graph = g;
    bgm__rng_seed(&m->rng, seed);
    m->seed = seed;
    return m;
}

static void free_plan(bgm_model *m)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (m->layers[i]->model == m) {
            bgm__eager_weights_back(m, m->layers[i]);
            m->layers[i]->model = NULL;
        }
    free(m->steps);
    free(m->edges);
    free(m->layers);
    m->steps = NULL;
    m->edges = NULL;
    m->layers = NULL;
    m->nsteps = m->nlayers = m->layer_cap = 0;
}

BGM_API void bgm_model_free(bgm_model *m)
{
    if (!m)
        return;
    free_plan(m);
    free(m->inputs);
    free(m->outputs);
    free(m->output_step);
    bgm__model_free_weights(m);
    bgm_optimizer_free(m->optimizer);
    free(m->metrics);
    free(m->out_specs);
    free(m->compiled_trainable);
    bgm_tape_free(m->tape);
    bgm__infer_tapes_free_all(m);
    pthread_mutex_destroy(&m->infer_lock);
    bgm__graph_release(m->graph);
    free(m);
}

/* ---- the plan ------------------------------------------------------------- */

static int node_index(bgm_node *const *nodes, int n, const bgm_node *node)
{
    int i;
    for (i = 0; i < n; i++)
        if (nodes[i] == node)
            return i;
    return -1;
}

/* Index of l among m's layers, or -1. */
static int layer_index(const bgm_model *m, const bgm_layer *l)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (m->layers[i] == l)
            return i;
    return -1;
}

bgm_status bgm__model_plan(bgm_model *m, const char *fn)
{
    bgm_graph *g = m->graph;
    char *needed = calloc((size_t)g->nnodes + 1, 1);
    int *step_of = malloc(((size_t)g->nnodes + 1) * sizeof *step_of);
    int i, k, nedges = 0, e = 0;
    bgm_status s = BGM_OK;
    free_plan(m);
    if (!needed || !step_of)
        goto nomem;
    /* Node ids are a topological order: walking them downwards marks every
     * node an output needs before looking at it. */
    for (i = 0; i < m->noutputs; i++)
        needed[m->outputs[i]->id] = 1;
    for (i = g->nnodes - 1; i >= 0; i--) {
        const bgm_node *node = g->nodes[i];
        if (!needed[i])
            continue;
        m->nsteps++;
        nedges += node->nin;
        for (k = 0; k < node->nin; k++)
            needed[node->in[k]->id] = 1;
    }
    m->steps = calloc((size_t)m->nsteps + 1, sizeof *m->steps);
    m->edges = malloc(((size_t)nedges + 1) * sizeof *m->edges);
    m->layers = malloc(((size_t)m->nsteps + 1) * sizeof *m->layers);
    if (!m->steps || !m->edges || !m->layers)
        goto nomem;
    m->layer_cap = m->nsteps + 1;
    for (i = 0, k = 0; i < g->nnodes; i++) {
        bgm_node *node = g->nodes[i];
        bgm__step *st;
        int j;
        if (!needed[i])
            continue;
        st = &m->steps[k];
        st->node = node;
        st->input = node->layer ? -1 : node_index(m->inputs, m->ninputs, node);
        st->in = m->edges + e;
        st->nin = node->nin;
        for (j = 0; j < node->nin; j++) {
            st->in[j] = step_of[node->in[j]->id];
            m->steps[st->in[j]].uses++;
        }
        e += node->nin;
        step_of[i] = k++;
        st->layer = node->layer ? layer_index(m, node->layer) : -1;
        if (node->layer && st->layer < 0) {
            st->layer = m->nlayers;
            m->layers[m->nlayers++] = node->layer;
        }
    }
    for (i = 0; i < m->noutputs; i++) {
        m->output_step[i] = step_of[m->outputs[i]->id];
        m->steps[m->output_step[i]].uses++;
    }
    goto done;
nomem:
    free_plan(m);
    s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
done:
    free(needed);
    free(step_of);
    return s;
}

/* The plan's layers become m's. */
static void claim_layers(bgm_model *m)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        m->layers[i]->model = m;
}

/* ---- Sequential ------------------------------------------------------------ */

BGM_API bgm_status bgm_model_create(bgm_model **out, const int64_t *input_shape, int ndim,
                                    uint64_t seed)
{
    static const char *fn = "bgm_model_create";
    bgm_graph *g;
    bgm_model *m;
    bgm_node *in = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(input_shape, fn);
    g = bgm__graph_new(fn);
    if (!g)
        return BGM_E_NOMEM;
    s = bgm__graph_input(&in, g, input_shape, ndim, BGM_FLOAT32, "input", fn);
    m = s == BGM_OK ? model_new(g, seed, fn) : NULL;
    bgm__graph_release(g); /* the model holds it now */
    if (!m)
        return s != BGM_OK ? s : BGM_E_NOMEM;
    m->sequential = 1;
    m->inputs = malloc(sizeof *m->inputs);
    m->outputs = malloc(sizeof *m->outputs);
    m->output_step = malloc(sizeof *m->output_step);
    if (!m->inputs || !m->outputs || !m->output_step) {
        bgm_model_free(m);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    m->inputs[0] = m->outputs[0] = in;
    m->ninputs = m->noutputs = 1;
    /* An empty model still has (empty) weight buffers, so accessors never see NULL. */
    s = bgm__model_plan(m, fn);
    if (s == BGM_OK)
        s = bgm__model_grow_weights(m, fn);
    if (s != BGM_OK) {
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
}

static int layer_named(const bgm_model *m, const char *name)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0)
            return 1;
    return 0;
}

BGM_API bgm_status bgm_model_add(bgm_model *m, bgm_layer *layer)
{
    static const char *fn = "bgm_model_add";
    bgm_node *node = NULL, *prev;
    bgm__shape saved_in;
    bgm_status s;
    if (!layer)
        return m ? bgm__fail_null_layer(fn)
                 : bgm__fail(BGM_E_INVALID, "%s: argument 'm' is NULL", fn);
    if (layer->model || layer->index >= 0)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' already belongs to a model", fn,
                         layer->name);
    if (layer->graph)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' has been called on a node of a graph; "
                         "a Sequential model takes layers never called", fn, layer->name);
    if (layer->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by a Bidirectional "
                         "layer; add the Bidirectional layer", fn, layer->ops->kind);
    if (!m) {
        bgm_layer_free(layer);
        return bgm__fail(BGM_E_INVALID, "%s: argument 'm' is NULL", fn);
    }
    if (!m->sequential)
        s = bgm__fail(BGM_E_STATE, "%s: the model was built from graph nodes; call layers "
                      "on nodes (bgm_layer_call) instead", fn);
    else if (m->optimizer)
        s = bgm__fail(BGM_E_STATE, "%s: the model is compiled; add layers before "
                      "bgm_model_compile", fn);
    else if (layer->named_by_user && layer_named(m, layer->name))
        s = bgm__fail(BGM_E_INVALID, "%s: the model already has a layer named '%s'", fn,
                      layer->name);
    else
        s = BGM_OK;
    if (s != BGM_OK) {
        bgm_layer_free(layer);
        return s;
    }
    /* A Sequential model takes token ids when its first layer does. */
    prev = m->outputs[0];
    if (m->nlayers == 0)
        prev->shape.dtype = layer->ops->takes_ids ? BGM_INT32 : BGM_FLOAT32;
    saved_in = prev->shape;
    if (m->nlayers == 0 && layer->ops->model_input) {
        s = layer->ops->model_input(layer, &prev->shape);
        if (s != BGM_OK) {
            prev->shape = saved_in;
            bgm_layer_free(layer);
            return s;
        }
    }
    layer->index = m->nlayers;
    s = bgm__graph_call(&node, m->graph, layer, &prev, 1, fn); /* frees layer on error */
    if (s != BGM_OK) {
        prev->shape = saved_in;
        return s;
    }
    m->outputs[0] = node;
    s = bgm__model_plan(m, fn);
    if (s == BGM_OK) {
        claim_layers(m);
        s = bgm__model_grow_weights(m, fn);
    }
    if (s != BGM_OK) {
        m->outputs[0] = prev;
        prev->shape = saved_in;
        layer->model = NULL;
        free_plan(m); /* before the layer it lists goes */
        bgm__graph_pop_call(m->graph); /* frees layer */
        if (bgm__model_plan(m, fn) != BGM_OK)
            return BGM_E_NOMEM;
        claim_layers(m);
    }
    return s;
}

/* ---- models from graph nodes ------------------------------------------------ */

/* Checks a list of nodes: non-NULL, of graph g (set from the first when
 * NULL), no node twice; inputs must be input nodes. */
static bgm_status check_nodes(bgm_graph **g, bgm_node *const *nodes, int n, const char *what,
                              int inputs, const char *fn)
{
    char label[BGM__NAME_SIZE + 16];
    int i;
    if (!nodes || n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: a model needs at least one %s node (%s is %s, "
                         "count %d)", fn, what, what, nodes ? "given" : "NULL", n);
    for (i = 0; i < n; i++) {
        if (!nodes[i])
            return bgm__fail(BGM_E_INVALID, "%s: %s[%d] is NULL", fn, what, i);
        if (!*g)
            *g = nodes[i]->graph;
        if (nodes[i]->graph != *g)
            return bgm__fail(BGM_E_INVALID, "%s: %s[%d] (%s) belongs to another graph than "
                             "the model's other nodes", fn, what, i,
                             bgm__node_label(label, sizeof label, nodes[i]));
        if (inputs && nodes[i]->layer)
            return bgm__fail(BGM_E_INVALID, "%s: inputs[%d] is the output of layer '%s', not "
                             "an input node (bgm_graph_input)", fn, i, nodes[i]->layer->name);
        if (inputs && node_index(nodes, i, nodes[i]) >= 0)
            return bgm__fail(BGM_E_INVALID, "%s: inputs[%d] (%s) is given twice", fn, i,
                             bgm__node_label(label, sizeof label, nodes[i]));
    }
    return BGM_OK;
}

/* After the plan: every input node the outputs need is an input of the
 * model, every input is needed, layers belong to no other model, names are
 * unique. */
static bgm_status check_plan(const bgm_model *m, const char *fn)
{
    int i, j, k;
    for (i = 0; i < m->nsteps; i++)
        if (!m->steps[i].node->layer && m->steps[i].input < 0)
            return bgm__fail(BGM_E_INVALID, "%s: the outputs need input '%s', which is not "
                             "among the model's inputs", fn, m->steps[i].node->name);
    for (i = 0; i < m->ninputs; i++) {
        int used = 0;
        for (k = 0; k < m->nsteps && !used; k++)
            used = m->steps[k].input == i;
        if (!used)
            return bgm__fail(BGM_E_INVALID, "%s: input '%s' is not needed by any output; "
                             "an output may not be reachable from it", fn, m->inputs[i]->name);
    }
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        if (l->model && l->model != m)
            return bgm__fail(BGM_E_STATE, "%s: layer '%s' (%s) belongs to another model; a "
                             "layer is part of one model at a time", fn, l->name,
                             l->ops->kind);
        for (j = 0; j < i; j++)
            if (strcmp(m->layers[j]->name, l->name) == 0)
                return bgm__fail(BGM_E_INVALID, "%s: two layers are named '%s' (a %s and "
                                 "a %s); names must be unique within a model", fn, l->name,
                                 m->layers[j]->ops->kind, l->ops->kind);
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_model_create_graph(bgm_model **out, bgm_node *const *inputs,
                                          int ninputs, bgm_node *const *outputs, int noutputs,
                                          uint64_t seed)
{
    static const char *fn = "bgm_model_create_graph";
    bgm_graph *g = NULL;
    bgm_model *m;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = check_nodes(&g, inputs, ninputs, "inputs", 1, fn);
    if (s == BGM_OK)
        s = check_nodes(&g, outputs, noutputs, "outputs", 0, fn);
    if (s != BGM_OK)
        return s;
    m = model_new(g, seed, fn);
    if (!m)
        return BGM_E_NOMEM;
    m->inputs = malloc((size_t)ninputs * sizeof *m->inputs);
    m->outputs = malloc((size_t)noutputs * sizeof *m->outputs);
    m->output_step = malloc((size_t)noutputs * sizeof *m->output_step);
    if (!m->inputs || !m->outputs || !m->output_step) {
        bgm_model_free(m);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    memcpy(m->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    memcpy(m->outputs, outputs, (size_t)noutputs * sizeof *outputs);
    m->ninputs = ninputs;
    m->noutputs = noutputs;
    s = bgm__model_plan(m, fn);
    if (s == BGM_OK)
        s = check_plan(m, fn);
    if (s == BGM_OK) {
        claim_layers(m);
        s = bgm__model_grow_weights(m, fn);
    }
    if (s != BGM_OK) {
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
}

/* ---- accessors ------------------------------------------------------------- */

BGM_API int bgm_model_num_layers(const bgm_model *m)
{
    return m ? m->nlayers : 0;
}

BGM_API const bgm_layer *bgm_model_layer(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->nlayers ? m->layers[i] : NULL;
}

BGM_API const bgm_layer *bgm_model_get_layer(const bgm_model *m, const char *name)
{
    int i;
    if (!m || !name)
        return NULL;
    for (i = 0; i < m->nlayers; i++)
        if (strcmp(m->layers[i]->name, name) == 0)
            return m->layers[i];
    return NULL;
}

BGM_API const char *bgm_model_class_name(const bgm_model *m)
{
    return !m ? NULL : m->sequential ? "Sequential" : "Functional";
}

BGM_API int bgm_model_num_inputs(const bgm_model *m)
{
    return m ? m->ninputs : 0;
}

BGM_API const bgm_node *bgm_model_input(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->ninputs ? m->inputs[i] : NULL;
}

BGM_API int bgm_model_num_outputs(const bgm_model *m)
{
    return m ? m->noutputs : 0;
}

BGM_API const bgm_node *bgm_model_output(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->noutputs ? m->outputs[i] : NULL;
}

BGM_API const int64_t *bgm_model_input_shape(const bgm_model *m, int *ndim)
{
    return bgm_node_shape(m ? m->inputs[0] : NULL, ndim);
}

const bgm__shape *bgm__model_out_shape(const bgm_model *m)
{
    return &m->outputs[0]->shape;
}

BGM_API const int64_t *bgm_model_output_shape(const bgm_model *m, int *ndim)
{
    return bgm_node_shape(m ? m->outputs[0] : NULL, ndim);
}
