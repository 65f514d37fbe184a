/*
 * Keras' model configs as JSON: a model's config (bgm_model_to_json), a
 * model from one (bgm_model_from_json), and bgm_model_clone. A model config
 * is turned into the same keys a model file holds (each layer checked by
 * layer_json.c first) and read by the model file's reader without weights
 * (bgm__model_from_architecture), so a JSON config passes every check a
 * file does.
 */
#include "model/layer_json.h"
#include "model/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SIZE 96
#define MSG_SIZE 256

/* ---- a model's config -------------------------------------------------------- */

#define append bgm__append

static void shape_json(char *buf, size_t size, size_t *used, const bgm__shape *shape)
{
    int k;
    append(buf, size, used, "[null");
    for (k = 0; k < shape->ndim; k++)
        append(buf, size, used, ", %lld", (long long)shape->d[k]);
    append(buf, size, used, "]");
}

static void input_layer_json(char *buf, size_t size, size_t *used, const bgm_node *in)
{
    append(buf, size, used, "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": ");
    shape_json(buf, size, used, &in->shape);
    append(buf, size, used, ", \"dtype\": \"%s\", \"sparse\": false, \"name\": \"%s\"}",
           bgm__enum_to_name(bgm__dtype_names, in->shape.dtype), in->name);
}

/* Keras' keras_history of node: [layer or input name, call index, output index]. */
static void history_json(char *buf, size_t size, size_t *used, const bgm_model *m,
                         const bgm_node *node)
{
    const bgm_node *call = node->output > 0 ? node->in[0] : node;
    int k, index = 0;
    if (!node->layer) {
        append(buf, size, used, "[\"%s\", 0, 0]", node->name);
        return;
    }
    for (k = 0; k < m->nsteps && m->steps[k].node != call; k++)
        if (m->steps[k].node->layer == call->layer && m->steps[k].node->output == 0)
            index++;
    append(buf, size, used, "[\"%s\", %d, %d]", call->layer->name, index, node->output);
}

static void tensor_json(char *buf, size_t size, size_t *used, const bgm_model *m,
                        const bgm_node *node)
{
    append(buf, size, used, "{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": ");
    shape_json(buf, size, used, &node->shape);
    append(buf, size, used, ", \"dtype\": \"%s\", \"keras_history\": ",
           bgm__enum_to_name(bgm__dtype_names, node->shape.dtype));
    history_json(buf, size, used, m, node);
    append(buf, size, used, "}}");
}

/* Layer i of a functional model with its inbound nodes (one per call). */
static void called_layer_json(char *buf, size_t size, size_t *used, const bgm_model *m,
                              int i)
{
    const bgm_layer *l = m->layers[i];
    int k, j, calls = 0;
    bgm__layer_config_json(buf, size, used, l, 0);
    append(buf, size, used, ", \"name\": \"%s\", \"inbound_nodes\": [", l->name);
    for (k = 0; k < m->nsteps; k++) {
        const bgm__step *st = &m->steps[k];
        if (st->node->layer != l || st->node->output > 0)
            continue;
        append(buf, size, used, "%s{\"args\": [%s", calls++ ? ", " : "",
               st->nin > 1 ? "[" : "");
        for (j = 0; j < st->nin; j++) {
            append(buf, size, used, "%s", j ? ", " : "");
            tensor_json(buf, size, used, m, m->steps[st->in[j]].node);
        }
        append(buf, size, used, "%s], \"kwargs\": {}}", st->nin > 1 ? "]" : "");
    }
    append(buf, size, used, "]}");
}

static void model_json(char *buf, size_t size, size_t *used, const void *model)
{
    const bgm_model *m = model;
    int i;
    append(buf, size, used, "{\"class_name\": \"%s\", \"config\": {\"name\": \"%s\", "
           "\"trainable\": true, \"layers\": [",
           m->sequential ? BGM__MODEL_TYPE_SEQUENTIAL : BGM__MODEL_TYPE_FUNCTIONAL,
           m->sequential ? "sequential" : "functional");
    for (i = 0; i < m->ninputs; i++) {
        append(buf, size, used, "%s", i ? ", " : "");
        input_layer_json(buf, size, used, m->inputs[i]);
        if (!m->sequential)
            append(buf, size, used, ", \"name\": \"%s\", \"inbound_nodes\": []",
                   m->inputs[i]->name);
        append(buf, size, used, "}");
    }
    for (i = 0; i < m->nlayers; i++) {
        append(buf, size, used, ", ");
        if (m->sequential) {
            bgm__layer_config_json(buf, size, used, m->layers[i], 0);
            append(buf, size, used, "}");
        } else {
            called_layer_json(buf, size, used, m, i);
        }
    }
    append(buf, size, used, "]");
    if (m->sequential) {
        append(buf, size, used, ", \"build_input_shape\": ");
        shape_json(buf, size, used, &m->inputs[0]->shape);
    } else {
        append(buf, size, used, ", \"input_layers\": [");
        for (i = 0; i < m->ninputs; i++) {
            append(buf, size, used, "%s", i ? ", " : "");
            history_json(buf, size, used, m, m->inputs[i]);
        }
        append(buf, size, used, "], \"output_layers\": [");
        for (i = 0; i < m->noutputs; i++) {
            append(buf, size, used, "%s", i ? ", " : "");
            history_json(buf, size, used, m, m->outputs[i]);
        }
        append(buf, size, used, "]");
    }
    append(buf, size, used, "}}");
}

BGM_API bgm_status bgm_model_to_json(char *buf, size_t size, size_t *needed,
                                     const bgm_model *m)
{
    return bgm__string_out(buf, size, needed, m, "m", model_json, "bgm_model_to_json");
}

/* ---- a model from its config ------------------------------------------------- */

/* The model file keys a config turns into. */
typedef struct builder {
    bgm_archive *a;
    const char *fn;
    int nnodes, nlayers;
} builder;

static bgm_status node_int(builder *b, int k, const char *field, int64_t v)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "nodes.%d.%s", k, field);
    return bgm_archive_add_int64(b->a, key, v);
}

static bgm_status node_ints(builder *b, int k, const char *field, const int64_t *v, int n)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "nodes.%d.%s", k, field);
    return bgm_archive_add_int64_array(b->a, key, v, n);
}

/* Node b->nnodes: a call of layer on the nodes ins[0..n) (output: which
 * output of the call it is; then ins[0] is the call's output 0). */
static bgm_status add_call(builder *b, int layer, const int64_t *ins, int n, int output)
{
    bgm_status s = node_int(b, b->nnodes, "layer", layer);
    if (s == BGM_OK)
        s = node_ints(b, b->nnodes, "inputs", ins, n);
    if (s == BGM_OK && output > 0)
        s = node_int(b, b->nnodes, "output", output);
    if (s == BGM_OK)
        b->nnodes++;
    return s;
}

/* Keras' automatic name of an unnamed layer of l's kind: "dense" for the
 * first Dense layer of the config, then "dense_1", ... */
static void auto_name(builder *b, bgm_layer *l)
{
    char key[KEY_SIZE];
    const char *kind;
    int i, same = 0;
    for (i = 0; i < b->nlayers; i++) {
        snprintf(key, sizeof key, "layers.%d.kind", i);
        same += bgm_archive_get_string(&kind, b->a, key) == BGM_OK &&
                strcmp(kind, l->ops->kind) == 0;
    }
    if (same)
        snprintf(l->name, sizeof l->name, "%s_%d", l->ops->prefix, same);
    else
        snprintf(l->name, sizeof l->name, "%s", l->ops->prefix);
}

/* Layer config e as layer b->nlayers of the file, after the checks of
 * bgm_layer_from_config; an unnamed layer gets Keras' automatic name. */
static bgm_status add_layer(builder *b, const bgm__jv *e, const char *name)
{
    char what[MSG_SIZE], prefix[32];
    bgm_layer *l = NULL;
    bgm_status s;
    snprintf(what, sizeof what, "%s: layer %d%s%.64s%s", b->fn, b->nlayers,
             name ? " ('" : "", name ? name : "", name ? "')" : "");
    s = bgm__layer_from_jv(&l, e, what, 0);
    if (s == BGM_OK && !l->name[0])
        auto_name(b, l);
    snprintf(prefix, sizeof prefix, "layers.%d.", b->nlayers);
    if (s == BGM_OK)
        s = bgm__model_put_layer(b->a, prefix, l, 0);
    bgm_layer_free(l);
    if (s == BGM_OK)
        b->nlayers++;
    return s;
}

static const char *entry_name(const bgm__jv *e)
{
    const bgm__jv *n = bgm__jv_get(e, "name");
    if (!n)
        n = bgm__jv_get(bgm__jv_get(e, "config"), "name");
    return n && n->type == BGM__JV_STRING ? n->string : NULL;
}

static int is_input_layer(const bgm__jv *e)
{
    const bgm__jv *cls = bgm__jv_get(e, "class_name");
    return cls && cls->type == BGM__JV_STRING && strcmp(cls->string, "InputLayer") == 0;
}

/* An InputLayer config e (batch_shape, or Keras 2's batch_input_shape, with
 * the batch entry first) as input node b->nnodes; e NULL: a float32 input of
 * the given batch shape. */
static bgm_status add_input(builder *b, const bgm__jv *e, const bgm__jv *shape)
{
    const bgm__jv *cfg = bgm__jv_get(e, "config"), *dtype = bgm__jv_get(cfg, "dtype");
    const char *name = e ? entry_name(e) : NULL;
    int64_t d[BGM_MAX_DIMS];
    size_t k;
    int dt = BGM_FLOAT32;
    bgm_status s;
    if (!shape)
        shape = bgm__jv_get(cfg, "batch_shape");
    if (!shape)
        shape = bgm__jv_get(cfg, "batch_input_shape");
    if (!shape || shape->type != BGM__JV_ARRAY || shape->n < 2 || shape->n > BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: input %d needs batch_shape [null, d1, ...] of 1 "
                         "to %d sample dimensions (at offset %zu)", b->fn, b->nnodes,
                         BGM_MAX_DIMS - 1, shape ? shape->pos : e->pos);
    for (k = 1; k < shape->n; k++) {
        const bgm__jv *x = &shape->items[k];
        if (x->type != BGM__JV_NUMBER || !x->is_int || x->integer < 1)
            return bgm__fail(BGM_E_INVALID, "%s: input %d: dimension %zu of batch_shape is "
                             "%s at offset %zu, expected a positive integer (variable "
                             "sizes are not supported)", b->fn, b->nnodes, k,
                             bgm__jv_type_name(x), x->pos);
        d[k - 1] = x->integer;
    }
    if (dtype && (dtype->type != BGM__JV_STRING ||
                  !bgm__enum_from_name(bgm__dtype_names, dtype->string, &dt)))
        return bgm__fail(BGM_E_INVALID, "%s: input %d: dtype at offset %zu must be "
                         "\"float32\" or \"int32\"", b->fn, b->nnodes, dtype->pos);
    s = node_int(b, b->nnodes, "layer", -1);
    if (s == BGM_OK) {
        char key[KEY_SIZE];
        snprintf(key, sizeof key, "nodes.%d.name", b->nnodes);
        s = bgm_archive_add_string(b->a, key, name && name[0] ? name : "input_layer");
    }
    if (s == BGM_OK) {
        char key[KEY_SIZE];
        snprintf(key, sizeof key, "nodes.%d.dtype", b->nnodes);
        s = bgm_archive_add_string(b->a, key, bgm__enum_to_name(bgm__dtype_names, dt));
    }
    if (s == BGM_OK)
        s = node_ints(b, b->nnodes, "shape", d, (int)shape->n - 1);
    if (s == BGM_OK)
        b->nnodes++;
    return s;
}

static bgm_status sequential_from(builder *b, const bgm__jv *cfg)
{
    const bgm__jv *layers = bgm__jv_get(cfg, "layers");
    const bgm__jv *bis = bgm__jv_get(cfg, "build_input_shape");
    size_t i, first;
    bgm_status s;
    if (!layers || layers->type != BGM__JV_ARRAY)
        return bgm__fail(BGM_E_INVALID, "%s: a Sequential config needs \"layers\", a list "
                         "(at offset %zu)", b->fn, (layers ? layers : cfg)->pos);
    first = layers->n > 0 && is_input_layer(&layers->items[0]);
    if (!first && !bis)
        return bgm__fail(BGM_E_INVALID, "%s: a Sequential config needs its input shape: an "
                         "InputLayer first in \"layers\" or \"build_input_shape\"", b->fn);
    s = add_input(b, first ? &layers->items[0] : NULL, first ? NULL : bis);
    for (i = first; s == BGM_OK && i < layers->n; i++) {
        int64_t prev = b->nnodes - 1;
        s = add_layer(b, &layers->items[i], entry_name(&layers->items[i]));
        if (s == BGM_OK)
            s = add_call(b, b->nlayers - 1, &prev, 1, 0);
    }
    if (s == BGM_OK) {
        int64_t in = 0, out = b->nnodes - 1;
        s = bgm_archive_add_int64_array(b->a, "model.inputs", &in, 1);
        if (s == BGM_OK)
            s = bgm_archive_add_int64_array(b->a, "model.outputs", &out, 1);
    }
    return s;
}

/* One entry of a functional config's "layers" and what became of it. */
typedef struct entry {
    const bgm__jv *v;
    const char *name;
    int input;                 /* an InputLayer: its node */
    int layer;                 /* else its index among the file's layers */
    const bgm__jv *calls;      /* its inbound_nodes */
    int *call_node;            /* the node of each call's output 0, or -1 */
    int *sibling[BGM__MAX_OUTPUTS]; /* the node of each call's output j > 0, or -1 */
} entry;

typedef struct graph_cfg {
    builder *b;
    entry *e;
    size_t n;
} graph_cfg;

/* The node a keras_history ([name, call, output], Keras 2 adds kwargs)
 * names: *node, or -1 when that call has no node yet. */
static bgm_status resolve(graph_cfg *g, const bgm__jv *h, int *node)
{
    const bgm__jv *name = h->n >= 3 ? &h->items[0] : NULL;
    const bgm__jv *ci = h->n >= 3 ? &h->items[1] : NULL, *ti = h->n >= 3 ? &h->items[2] : NULL;
    entry *e = NULL;
    size_t i;
    *node = -1;
    if (!name || name->type != BGM__JV_STRING || ci->type != BGM__JV_NUMBER || !ci->is_int ||
        ti->type != BGM__JV_NUMBER || !ti->is_int)
        return bgm__fail(BGM_E_INVALID, "%s: a keras_history is [layer name, call index, "
                         "output index]; got something else at offset %zu", g->b->fn, h->pos);
    for (i = 0; i < g->n && !e; i++)
        if (g->e[i].name && strcmp(g->e[i].name, name->string) == 0)
            e = &g->e[i];
    if (!e)
        return bgm__fail(BGM_E_INVALID, "%s: keras_history at offset %zu names layer "
                         "'%.64s', which is not in \"layers\"", g->b->fn, h->pos, name->string);
    if (e->input >= 0) {
        if (ci->integer != 0 || ti->integer != 0)
            return bgm__fail(BGM_E_INVALID, "%s: keras_history at offset %zu: input '%.64s' "
                             "has one tensor, [name, 0, 0]", g->b->fn, h->pos, name->string);
        *node = e->input;
        return BGM_OK;
    }
    if (ci->integer < 0 || ci->integer >= (int64_t)e->calls->n || ti->integer < 0 ||
        ti->integer >= BGM__MAX_OUTPUTS)
        return bgm__fail(BGM_E_INVALID, "%s: keras_history at offset %zu names call %lld, "
                         "output %lld of layer '%.64s', which has %zu calls", g->b->fn,
                         h->pos, (long long)ci->integer, (long long)ti->integer,
                         name->string, e->calls->n);
    if (e->call_node[ci->integer] < 0 || ti->integer == 0) {
        *node = e->call_node[ci->integer];
        return BGM_OK;
    }
    if (e->sibling[ti->integer][ci->integer] < 0) {
        int64_t first = e->call_node[ci->integer];
        bgm_status s = add_call(g->b, e->layer, &first, 1, (int)ti->integer);
        if (s != BGM_OK)
            return s;
        e->sibling[ti->integer][ci->integer] = g->b->nnodes - 1;
    }
    *node = e->sibling[ti->integer][ci->integer];
    return BGM_OK;
}

/* Appends the keras_history of every tensor in v (a call's args or kwargs,
 * Keras 3's __keras_tensor__ objects or Keras 2's [name, call, output, {}]
 * lists) to refs[*n..64). */
static bgm_status gather(graph_cfg *g, const bgm__jv *v, const bgm__jv **refs, int *n)
{
    const bgm__jv *h = bgm__jv_get(bgm__jv_get(v, "config"), "keras_history");
    size_t i;
    bgm_status s = BGM_OK;
    if (v->type == BGM__JV_ARRAY && v->n >= 3 && v->items[0].type == BGM__JV_STRING)
        h = v;
    if (h && h->type == BGM__JV_ARRAY) {
        if (*n >= 64)
            return bgm__fail(BGM_E_INVALID, "%s: a call at offset %zu takes more than 64 "
                             "tensors", g->b->fn, v->pos);
        refs[(*n)++] = h;
        return BGM_OK;
    }
    if (v->type == BGM__JV_ARRAY || v->type == BGM__JV_OBJECT)
        for (i = 0; s == BGM_OK && i < v->n; i++)
            s = gather(g, &v->items[i], refs, n);
    return s;
}

/* Makes the node of call c of e when the nodes it takes exist (*made = 1). */
static bgm_status try_call(graph_cfg *g, entry *e, size_t c, int *made)
{
    const bgm__jv *refs[64];
    int64_t ids[64];
    int n = 0, k, node;
    const bgm__jv *call = &e->calls->items[c];
    bgm_status s = gather(g, call, refs, &n);
    *made = 0;
    for (k = 0; s == BGM_OK && k < n; k++) {
        s = resolve(g, refs[k], &node);
        if (s == BGM_OK && node < 0)
            return BGM_OK; /* not yet */
        ids[k] = node;
    }
    if (s == BGM_OK && n == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: call %zu of layer '%.64s' (at offset %zu) takes "
                      "no tensor", g->b->fn, c, e->name, call->pos);
    if (s == BGM_OK)
        s = add_call(g->b, e->layer, ids, n, 0);
    if (s == BGM_OK) {
        e->call_node[c] = g->b->nnodes - 1;
        *made = 1;
    }
    return s;
}

/* "input_layers" / "output_layers" as the nodes of the file (key). */
static bgm_status node_refs(graph_cfg *g, const bgm__jv *cfg, const char *field,
                            const char *key)
{
    const bgm__jv *v = bgm__jv_get(cfg, field), *refs[64];
    int64_t ids[64];
    int n = 0, k, node;
    bgm_status s = v ? gather(g, v, refs, &n) : BGM_OK;
    if (s == BGM_OK && n == 0)
        return bgm__fail(BGM_E_INVALID, "%s: a Functional config needs \"%s\", a list of "
                         "[layer name, call index, output index]", g->b->fn, field);
    for (k = 0; s == BGM_OK && k < n; k++) {
        s = resolve(g, refs[k], &node);
        if (s == BGM_OK && node < 0)
            s = bgm__fail(BGM_E_INVALID, "%s: \"%s\" names a call that takes tensors no "
                          "call makes (at offset %zu)", g->b->fn, field, refs[k]->pos);
        ids[k] = node;
    }
    return s == BGM_OK ? bgm_archive_add_int64_array(g->b->a, key, ids, n) : s;
}

static bgm_status entry_init(graph_cfg *g, entry *e, const bgm__jv *v)
{
    int j;
    size_t c;
    e->v = v;
    e->name = entry_name(v);
    e->input = e->layer = -1;
    e->calls = bgm__jv_get(v, "inbound_nodes");
    if (!e->name)
        return bgm__fail(BGM_E_INVALID, "%s: the layer at offset %zu has no name; a "
                         "Functional config names every layer", g->b->fn, v->pos);
    if (is_input_layer(v)) {
        e->input = g->b->nnodes;
        return add_input(g->b, v, NULL);
    }
    if (!e->calls || e->calls->type != BGM__JV_ARRAY)
        return bgm__fail(BGM_E_INVALID, "%s: layer '%.64s' needs \"inbound_nodes\", a list "
                         "(at offset %zu)", g->b->fn, e->name, v->pos);
    e->layer = g->b->nlayers;
    for (j = 0; j < BGM__MAX_OUTPUTS; j++) {
        e->sibling[j] = malloc((e->calls->n + 1) * sizeof *e->sibling[j]);
        if (!e->sibling[j])
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", g->b->fn);
        for (c = 0; c < e->calls->n; c++)
            e->sibling[j][c] = -1;
    }
    e->call_node = e->sibling[0];
    return add_layer(g->b, v, e->name);
}

static bgm_status functional_from(builder *b, const bgm__jv *cfg)
{
    const bgm__jv *layers = bgm__jv_get(cfg, "layers");
    graph_cfg g = {b, NULL, 0};
    size_t i, c;
    int j, progress = 1, made;
    bgm_status s = BGM_OK;
    if (!layers || layers->type != BGM__JV_ARRAY)
        return bgm__fail(BGM_E_INVALID, "%s: a Functional config needs \"layers\", a list "
                         "(at offset %zu)", b->fn, (layers ? layers : cfg)->pos);
    g.e = calloc(layers->n + 1, sizeof *g.e);
    if (!g.e)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", b->fn);
    g.n = layers->n;
    /* the inputs first, so that they are nodes 0, 1, ... */
    for (i = 0; s == BGM_OK && i < g.n; i++)
        if (is_input_layer(&layers->items[i]))
            s = entry_init(&g, &g.e[i], &layers->items[i]);
    for (i = 0; s == BGM_OK && i < g.n; i++)
        if (!is_input_layer(&layers->items[i]))
            s = entry_init(&g, &g.e[i], &layers->items[i]);
    while (s == BGM_OK && progress)
        for (progress = 0, i = 0; s == BGM_OK && i < g.n; i++)
            for (c = 0; g.e[i].input < 0 && s == BGM_OK && c < g.e[i].calls->n; c++)
                if (g.e[i].call_node[c] < 0) {
                    s = try_call(&g, &g.e[i], c, &made);
                    progress |= made;
                }
    for (i = 0; s == BGM_OK && i < g.n; i++)
        for (c = 0; g.e[i].input < 0 && s == BGM_OK && c < g.e[i].calls->n; c++)
            if (g.e[i].call_node[c] < 0)
                s = bgm__fail(BGM_E_INVALID, "%s: call %zu of layer '%.64s' takes a tensor "
                              "that no call makes (a cycle?)", b->fn, c, g.e[i].name);
    if (s == BGM_OK)
        s = node_refs(&g, cfg, "input_layers", "model.inputs");
    if (s == BGM_OK)
        s = node_refs(&g, cfg, "output_layers", "model.outputs");
    for (i = 0; i < g.n; i++)
        for (j = 0; j < BGM__MAX_OUTPUTS; j++)
            free(g.e[i].sibling[j]);
    free(g.e);
    return s;
}

BGM_API bgm_status bgm_model_from_json(bgm_model **out, const char *json, uint64_t seed)
{
    static const char *fn = "bgm_model_from_json";
    bgm__jv *v = NULL;
    const bgm__jv *cls, *cfg;
    builder b = {NULL, fn, 0, 0};
    int functional = 0;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(json, fn);
    s = bgm__json_parse(&v, json, fn);
    if (s != BGM_OK)
        return s;
    cls = bgm__jv_get(v, "class_name");
    cfg = bgm__jv_get(v, "config");
    if (!cls || cls->type != BGM__JV_STRING || !cfg || cfg->type != BGM__JV_OBJECT)
        s = bgm__fail(BGM_E_INVALID, "%s: expected a model config {\"class_name\": "
                      "\"Sequential\" or \"Functional\", \"config\": {...}}", fn);
    else if (strcmp(cls->string, "Functional") == 0 || strcmp(cls->string, "Model") == 0)
        functional = 1;
    else if (strcmp(cls->string, "Sequential") != 0)
        s = bgm__fail(BGM_E_INVALID, "%s: unknown model class_name '%.64s' at offset %zu "
                      "(expected \"Sequential\" or \"Functional\")", fn, cls->string,
                      cls->pos);
    if (s == BGM_OK)
        s = bgm_archive_create(&b.a);
    if (s == BGM_OK)
        s = functional ? functional_from(&b, cfg) : sequential_from(&b, cfg);
    if (s == BGM_OK)
        s = bgm_archive_add_string(b.a, "model.type", functional ? BGM__MODEL_TYPE_FUNCTIONAL
                                                               : BGM__MODEL_TYPE_SEQUENTIAL);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(b.a, "model.format_version", BGM__MODEL_FORMAT_VERSION);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(b.a, "model.seed", (int64_t)seed);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(b.a, "model.num_layers", b.nlayers);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(b.a, "model.num_nodes", b.nnodes);
    if (s == BGM_OK)
        s = bgm__model_from_architecture(out, b.a, "the config", fn);
    bgm_archive_free(b.a);
    bgm__jv_free(v);
    return s;
}

/* ---- clones ----------------------------------------------------------------- */

BGM_API bgm_status bgm_model_clone(bgm_model **out, const bgm_model *m, uint64_t seed)
{
    static const char *fn = "bgm_model_clone";
    bgm_archive *a = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    s = bgm_archive_create(&a);
    if (s == BGM_OK)
        s = bgm__model_put_architecture(a, m, seed);
    if (s == BGM_OK)
        s = bgm__model_from_architecture(out, a, "the model", fn);
    bgm_archive_free(a);
    return s;
}
