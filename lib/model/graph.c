/* The graph of layer calls: inputs, calls, shared layers, node accessors. */
#include "model/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bgm_graph *bgm__graph_new(const char *fn)
{
    bgm_graph *g = calloc(1, sizeof *g);
    if (!g) {
        bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    g->refs = 1;
    return g;
}

void bgm__graph_retain(bgm_graph *g)
{
    __atomic_add_fetch(&g->refs, 1, __ATOMIC_RELAXED);
}

static void free_node(bgm_node *node)
{
    free(node->in);
    free(node);
}

void bgm__graph_release(bgm_graph *g)
{
    int i;
    if (!g || __atomic_sub_fetch(&g->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (i = 0; i < g->nnodes; i++)
        free_node(g->nodes[i]);
    for (i = 0; i < g->nlayers; i++)
        bgm_layer_free(g->layers[i]);
    free(g->nodes);
    free(g->layers);
    free(g);
}

static int grow(void **items, int *cap, int n, size_t size)
{
    void *grown;
    int c;
    if (n < *cap)
        return 1;
    c = *cap ? 2 * *cap : 16;
    grown = realloc(*items, (size_t)c * size);
    if (!grown)
        return 0;
    *items = grown;
    *cap = c;
    return 1;
}

static int name_taken(const bgm_graph *g, const char *name)
{
    int i;
    for (i = 0; i < g->nlayers; i++)
        if (strcmp(g->layers[i]->name, name) == 0)
            return 1;
    for (i = 0; i < g->nnodes; i++)
        if (!g->nodes[i]->layer && strcmp(g->nodes[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Keras' automatic names: prefix, prefix_1, prefix_2, ..., starting after
 * the layers of the same kind already made (first_suffix), skipping names
 * taken. */
static void auto_name(const bgm_graph *g, char *name, size_t size, const char *prefix,
                      int first_suffix)
{
    int k;
    for (k = first_suffix;; k++) {
        if (k == 0)
            snprintf(name, size, "%s", prefix);
        else
            snprintf(name, size, "%s_%d", prefix, k);
        if (!name_taken(g, name))
            return;
    }
}

const char *bgm__node_label(char *buf, size_t size, const bgm_node *node)
{
    if (node->layer)
        snprintf(buf, size, "'%s'", node->layer->name);
    else
        snprintf(buf, size, "input '%s'", node->name);
    return buf;
}

bgm_layer *bgm__graph_layer(const bgm_graph *g, const char *name)
{
    int i;
    for (i = 0; i < g->nlayers; i++)
        if (strcmp(g->layers[i]->name, name) == 0)
            return g->layers[i];
    return NULL;
}

static bgm_status add_node(bgm_graph *g, bgm_node *node, const char *fn)
{
    if (!grow((void **)&g->nodes, &g->node_cap, g->nnodes, sizeof *g->nodes))
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    node->graph = g;
    node->id = g->nnodes;
    g->nodes[g->nnodes++] = node;
    return BGM_OK;
}

bgm_status bgm__graph_input(bgm_node **out, bgm_graph *g, const int64_t *shape, int ndim,
                            bgm_dtype dtype, const char *name, const char *fn)
{
    bgm_node *node;
    bgm_status s;
    int i;
    *out = NULL;
    if (ndim < 1 || ndim >= BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: ndim = %d, expected 1 to %d dimensions per "
                         "sample (without the batch dimension)", fn, ndim, BGM_MAX_DIMS - 1);
    for (i = 0; i < ndim; i++)
        if (shape[i] < 1)
            return bgm__fail(BGM_E_INVALID, "%s: input dimension %d is %lld, expected at "
                             "least 1", fn, i, (long long)shape[i]);
    if (dtype != BGM_FLOAT32 && dtype != BGM_INT32)
        return bgm__fail(BGM_E_INVALID, "%s: dtype %d, expected BGM_FLOAT32 or BGM_INT32",
                         fn, (int)dtype);
    if (name && name_taken(g, name))
        return bgm__fail(BGM_E_INVALID, "%s: the graph already has an input or layer named "
                         "'%s'", fn, name);
    node = calloc(1, sizeof *node);
    if (!node)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    memcpy(node->shape.d, shape, (size_t)ndim * sizeof *shape);
    node->shape.ndim = ndim;
    node->shape.dtype = dtype;
    node->noutputs = 1;
    if (name)
        snprintf(node->name, sizeof node->name, "%s", name);
    else
        auto_name(g, node->name, sizeof node->name, "input", 1);
    s = add_node(g, node, fn);
    if (s != BGM_OK) {
        free_node(node);
        return s;
    }
    *out = node;
    return BGM_OK;
}

static int same_specs(const bgm_layer *a, const bgm_layer *b)
{
    int i;
    if (a->nweights != b->nweights)
        return 0;
    for (i = 0; i < a->nweights; i++)
        if (a->specs[i].ndim != b->specs[i].ndim ||
            memcmp(a->specs[i].shape, b->specs[i].shape,
                   (size_t)a->specs[i].ndim * sizeof(int64_t)) != 0)
            return 0;
    return 1;
}

bgm_status bgm__layer_build(bgm_layer *layer, const bgm__shape *in, int n, bgm__shape *out,
                           const char *fn)
{
    char msg[900], a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    bgm_layer scratch, *l = layer;
    bgm_status s;
    if (bgm__layer_called(layer)) {
        scratch = *layer;
        scratch.specs = NULL;
        scratch.nweights = scratch.spec_cap = scratch.spec_oom = 0;
        scratch.constant = NULL; /* build may remake it: the layer's stays */
        l = &scratch;
    }
    l->nweights = 0;
    memset(out, 0, BGM__MAX_OUTPUTS * sizeof *out);
    s = l->ops->build(l, in, n, out);
    if (s == BGM_OK && l->spec_oom)
        s = bgm__fail(BGM_E_NOMEM, "out of memory for the weights of layer '%s'", l->name);
    if (s == BGM_OK && l != layer && !same_specs(l, layer))
        s = bgm__layer_fail(layer, BGM_E_SHAPE, "reused on input %s, but its weights were "
                            "built for input %s",
                            bgm__batch_shape_str(a, sizeof a, in[0].d, in[0].ndim),
                            bgm__batch_shape_str(b, sizeof b, layer->in_shape,
                                                 layer->in_ndim));
    if (l != layer) {
        free(l->specs);
        bgm_tensor_free(l->constant);
    }
    if (s != BGM_OK) {
        if (l == layer)
            layer->nweights = 0;
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: %s", fn, msg);
    }
    if (l == layer) {
        memcpy(layer->in_shape, in[0].d, sizeof layer->in_shape);
        layer->in_ndim = in[0].ndim;
        memcpy(layer->out_shape, out->d, sizeof layer->out_shape);
        layer->out_ndim = out->ndim;
    }
    return BGM_OK;
}

bgm_status bgm__layer_check_arity(const bgm_layer *layer, int n, const char *fn)
{
    int lo = layer->ops->min_inputs ? layer->ops->min_inputs : 1;
    int hi = layer->ops->max_inputs ? layer->ops->max_inputs : 1;
    if (layer->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by a Bidirectional "
                         "layer; call the Bidirectional layer", fn, layer->ops->kind);
    if (n < lo || (hi > 0 && n > hi)) {
        const char *who = layer->name[0] ? layer->name : layer->ops->prefix;
        if (lo == hi)
            return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) takes %d input%s, got %d",
                             fn, who, layer->ops->kind, lo, lo == 1 ? "" : "s", n);
        if (hi > 0)
            return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) takes %d to %d inputs, got "
                             "%d", fn, who, layer->ops->kind, lo, hi, n);
        return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) takes %d or more inputs, got %d",
                         fn, who, layer->ops->kind, lo, n);
    }
    return BGM_OK;
}

/* The checks of a call that do not need the layer's build. */
static bgm_status check_call(const bgm_graph *g, const bgm_layer *layer, int n,
                             const char *fn)
{
    if (layer->graph && layer->graph != g && !layer->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (%s) belongs to another graph", fn,
                         layer->name, layer->ops->kind);
    return bgm__layer_check_arity(layer, n, fn);
}

/* Appends to the current error what made each input: "(inputs from 'a', 'b')". */
static void name_producers(bgm_status s, bgm_node *const *inputs, int n)
{
    char msg[1024], label[BGM__NAME_SIZE + 16];
    size_t used;
    int i;
    used = (size_t)snprintf(msg, sizeof msg, "%s (inputs from ", bgm_last_error());
    for (i = 0; i < n && used < sizeof msg; i++)
        used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", i ? ", " : "",
                                 bgm__node_label(label, sizeof label, inputs[i]));
    if (used < sizeof msg)
        snprintf(msg + used, sizeof msg - used, ")");
    bgm__fail(s, "%s", msg);
}

/* New nodes for outputs 1..nout) of the call whose output 0 is first, in
 * sibs[0..nout - 1); 0 when out of memory (none left allocated). */
static int make_siblings(bgm_node **sibs, bgm_node *first, const bgm__shape *shapes, int nout)
{
    int j;
    for (j = 1; j < nout; j++) {
        bgm_node *sib = calloc(1, sizeof *sib);
        if (!sib || !(sib->in = malloc(sizeof *sib->in))) {
            free(sib);
            while (--j >= 1)
                free_node(sibs[j - 1]);
            return 0;
        }
        sib->in[0] = first;
        sib->nin = 1;
        sib->layer = first->layer;
        sib->shape = shapes[j];
        sib->output = j;
        sib->noutputs = nout;
        sibs[j - 1] = sib;
    }
    return 1;
}

bgm_status bgm__graph_call(bgm_node **out, bgm_graph *g, bgm_layer *layer,
                           bgm_node *const *inputs, int n, const char *fn)
{
    bgm__shape in_stack[4], *in = in_stack, shapes[BGM__MAX_OUTPUTS];
    bgm_node *node = NULL, *sibs[BGM__MAX_OUTPUTS - 1];
    int fresh = !layer->graph, i, nout = bgm__layer_num_outputs(layer);
    bgm_status s = check_call(g, layer, n, fn);
    /* out may alias inputs (x = layer(x)): inputs are read before *out is set. */
    if (s == BGM_OK && n > 4 && !(in = malloc((size_t)n * sizeof *in)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s == BGM_OK)
        node = calloc(1, sizeof *node);
    if (s == BGM_OK && (!node || !(node->in = malloc((size_t)n * sizeof *node->in))))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (s != BGM_OK)
        goto fail;
    memcpy(node->in, inputs, (size_t)n * sizeof *inputs);
    *out = NULL;
    for (i = 0; i < n; i++)
        in[i] = node->in[i]->shape;
    if (fresh && !layer->named_by_user) {
        int same = 0;
        for (i = 0; i < g->nlayers; i++)
            same += g->layers[i]->ops == layer->ops;
        auto_name(g, layer->name, sizeof layer->name, layer->ops->prefix, same);
    }
    s = bgm__layer_build(layer, in, n, shapes, fn);
    if (s != BGM_OK && n > 1)
        name_producers(s, node->in, n);
    if (s != BGM_OK)
        goto fail;
    if (fresh && !grow((void **)&g->layers, &g->layer_cap, g->nlayers, sizeof *g->layers)) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    node->nin = n;
    node->layer = layer;
    node->shape = shapes[0];
    node->noutputs = nout;
    if (!make_siblings(sibs, node, shapes, nout)) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto fail;
    }
    /* Room for every node of the call first, so adding them cannot fail halfway. */
    while (g->nnodes + nout > g->node_cap)
        if (!grow((void **)&g->nodes, &g->node_cap, g->node_cap, sizeof *g->nodes)) {
            for (i = 0; i < nout - 1; i++)
                free_node(sibs[i]);
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            goto fail;
        }
    add_node(g, node, fn);
    for (i = 0; i < nout - 1; i++)
        add_node(g, sibs[i], fn);
    if (fresh) {
        g->layers[g->nlayers++] = layer;
        layer->graph = g;
    }
    layer->ncalls++;
    if (in != in_stack)
        free(in);
    *out = node;
    return BGM_OK;
fail:
    if (node)
        free_node(node);
    if (in != in_stack)
        free(in);
    if (fresh)
        bgm_layer_free(layer);
    *out = NULL;
    return s;
}

void bgm__graph_pop_call(bgm_graph *g)
{
    bgm_node *node;
    bgm_layer *layer;
    while (g->nodes[g->nnodes - 1]->output > 0)
        free_node(g->nodes[--g->nnodes]);
    node = g->nodes[--g->nnodes];
    layer = node->layer;
    free_node(node);
    if (--layer->ncalls == 0 && g->nlayers > 0 && g->layers[g->nlayers - 1] == layer) {
        g->nlayers--;
        bgm_layer_free(layer);
    }
}

bgm_node *bgm__node_sibling(const bgm_node *node, int j)
{
    return node->graph->nodes[node->id - node->output + j];
}

/* ---- public ---------------------------------------------------------------- */

BGM_API bgm_status bgm_graph_create(bgm_graph **out)
{
    BGM__CHECK_NULL(out, "bgm_graph_create");
    *out = bgm__graph_new("bgm_graph_create");
    return *out ? BGM_OK : BGM_E_NOMEM;
}

BGM_API void bgm_graph_free(bgm_graph *g)
{
    bgm__graph_release(g);
}

BGM_API bgm_status bgm_graph_input(bgm_node **out, bgm_graph *g, const int64_t *shape,
                                   int ndim, bgm_dtype dtype, const char *name)
{
    static const char *fn = "bgm_graph_input";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(g, fn);
    BGM__CHECK_NULL(shape, fn);
    if (name) {
        bgm_status s = bgm__check_name(name, fn);
        if (s != BGM_OK)
            return s;
    }
    return bgm__graph_input(out, g, shape, ndim, dtype, name, fn);
}

/* The checks of bgm_layer_call and bgm_layer_call_multi before the graph
 * call; frees a fresh layer on error (the library's rule). *g receives the
 * inputs' graph. */
static bgm_status check_public_call(bgm_graph **g, bgm_layer *layer, int has_out,
                                    bgm_node *const *inputs, int n, const char *fn)
{
    const char *why = NULL;
    int i, bad = -1;
    *g = NULL;
    if (!layer)
        return bgm__fail_null_layer(fn);
    if (!has_out)
        why = "argument 'out' is NULL";
    else if (!inputs)
        why = "argument 'inputs' is NULL";
    else if (n < 1)
        why = "n < 1: a layer is called on at least one node";
    for (i = 0; !why && i < n; i++) {
        if (!inputs[i])
            why = "is NULL";
        else if (*g && inputs[i]->graph != *g)
            why = "belongs to another graph than inputs[0]";
        else
            *g = inputs[i]->graph;
        bad = why ? i : -1;
    }
    if (!why)
        return BGM_OK;
    if (!layer->graph)
        bgm_layer_free(layer);
    if (bad >= 0)
        return bgm__fail(BGM_E_INVALID, "%s: inputs[%d] %s", fn, bad, why);
    return bgm__fail(BGM_E_INVALID, "%s: %s", fn, why);
}

BGM_API bgm_status bgm_layer_call(bgm_node **out, bgm_layer *layer, bgm_node *const *inputs,
                                  int n)
{
    static const char *fn = "bgm_layer_call";
    bgm_graph *g;
    bgm_status s = check_public_call(&g, layer, out != NULL, inputs, n, fn);
    if (s != BGM_OK) {
        if (out)
            *out = NULL;
        return s;
    }
    return bgm__graph_call(out, g, layer, inputs, n, fn);
}

BGM_API bgm_status bgm_layer_call_multi(bgm_node **outs, int nout, bgm_layer *layer,
                                        bgm_node *const *inputs, int n)
{
    static const char *fn = "bgm_layer_call_multi";
    bgm_graph *g;
    bgm_node *first = NULL;
    int i, want;
    bgm_status s = check_public_call(&g, layer, outs != NULL, inputs, n, fn);
    for (i = 0; outs && i < nout; i++)
        outs[i] = NULL;
    if (s != BGM_OK)
        return s;
    want = bgm__layer_num_outputs(layer);
    if (nout != want) {
        s = bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) makes %d output%s, nout = %d", fn,
                      layer->name[0] ? layer->name : layer->ops->prefix, layer->ops->kind,
                      want, want == 1 ? "" : "s", nout);
        if (!layer->graph)
            bgm_layer_free(layer);
        return s;
    }
    s = bgm__graph_call(&first, g, layer, inputs, n, fn);
    for (i = 0; s == BGM_OK && i < nout; i++)
        outs[i] = bgm__node_sibling(first, i);
    return s;
}

BGM_API int bgm_node_output_index(const bgm_node *node)
{
    return node ? node->output : 0;
}

BGM_API const int64_t *bgm_node_shape(const bgm_node *node, int *ndim)
{
    if (ndim)
        *ndim = node ? node->shape.ndim : 0;
    return node ? node->shape.d : NULL;
}

BGM_API bgm_dtype bgm_node_dtype(const bgm_node *node)
{
    return node ? node->shape.dtype : BGM_FLOAT32;
}

BGM_API const bgm_layer *bgm_node_layer(const bgm_node *node)
{
    return node ? node->layer : NULL;
}

BGM_API const char *bgm_node_name(const bgm_node *node)
{
    if (!node)
        return NULL;
    return node->layer ? node->layer->name : node->name;
}

BGM_API int bgm_node_num_inputs(const bgm_node *node)
{
    return node ? node->nin : 0;
}

BGM_API const bgm_node *bgm_node_input(const bgm_node *node, int i)
{
    return node && i >= 0 && i < node->nin ? node->in[i] : NULL;
}
