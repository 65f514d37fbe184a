/*
 * bgm_model_load: a model rebuilt from a .bgm archive, with its weights,
 * compile state, optimizer state and generator. Layers are made from their
 * kind's table of fields and checked as a constructor checks them; a
 * Sequential model is rebuilt with bgm_model_add, a functional one by
 * calling its layers on their nodes (format 2).
 *
 * A file is untrusted input: every value is checked before it is used, and
 * every weight tensor is checked against the shape its layer's
 * configuration implies before the model allocates weights, so nothing is
 * allocated for a layer that the file does not back with data of its own.
 */
#include "model/file_reader.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define bad bgm__rd_bad
#define wrap bgm__rd_wrap
#define KEY_SIZE BGM__FILE_KEY_SIZE

typedef bgm__reader loader;

/* ---- layers ---------------------------------------------------------------- */

static bgm_status read_layer(const loader *ld, const char *prefix, const char *what,
                             int depth, bgm_layer **out);

/* Field f of the layer under prefix, into l. */
static bgm_status read_field(const loader *ld, const char *prefix, const bgm__field *f,
                             bgm_layer *l, int depth, const char *what)
{
    char key[KEY_SIZE], got[BGM__SHAPE_STR_SIZE];
    char *p = (char *)l + f->offset;
    const int64_t *vals = NULL;
    int64_t i64 = 0, n = 0, i;
    float f32 = 0.0f;
    int v = 0;
    bgm_layer *inner = NULL;
    bgm_status s = BGM_OK;
    snprintf(key, sizeof key, "%s%s", prefix, f->key);
    if (f->optional && bgm_archive_meta_type(ld->a, key) == BGM_META_NONE)
        return BGM_OK; /* a file from before the field */
    switch (f->type) {
    case BGM__FIELD_INT:
        s = bgm__rd_get_range(ld, key, (int64_t)f->lo, (int64_t)f->hi, &i64);
        memcpy(p, &i64, sizeof i64);
        break;
    case BGM__FIELD_FLOAT:
        s = bgm__rd_get_float(ld, key, &f32);
        memcpy(p, &f32, sizeof f32);
        break;
    case BGM__FIELD_BOOL:
        s = bgm__rd_get_range(ld, key, 0, 1, &i64);
        v = (int)i64;
        memcpy(p, &v, sizeof v);
        break;
    case BGM__FIELD_ENUM:
        s = bgm__rd_get_enum(ld, key, f->names, &v);
        memcpy(p, &v, sizeof v);
        break;
    case BGM__FIELD_INTS:
        s = bgm__rd_get_ints(ld, key, &vals, &n);
        if (s != BGM_OK)
            return s;
        if (f->count ? n != f->count : (n < 1 || n >= BGM_MAX_DIMS))
            return bad(ld, "key '%s' holds %lld values, expected %s", key, (long long)n,
                       f->count == 2 ? "2" : f->count == 4 ? "4" : "1 to 7");
        for (i = 0; i < n; i++)
            if (!(vals[i] >= f->lo && vals[i] <= f->hi) && !(f->minus_one && vals[i] == -1))
                return bad(ld, "key '%s' = %s is outside [%.0f, %.0f]", key,
                           bgm__shape_str(got, sizeof got, vals, (int)n), f->lo, f->hi);
        memcpy(p, vals, (size_t)n * sizeof *vals);
        if (!f->count) {
            v = (int)n;
            memcpy((char *)l + f->count_offset, &v, sizeof v);
        }
        break;
    case BGM__FIELD_LAYER:
        if (depth > 0)
            return bad(ld, "%s: a %s layer inside another", what, l->ops->kind);
        snprintf(key, sizeof key, "%s%s.", prefix, f->key);
        s = read_layer(ld, key, what, depth + 1, &inner);
        if (s == BGM_OK) {
            inner->wrapped = 1;
            memcpy(p, &inner, sizeof inner);
        }
        break;
    case BGM__FIELD_LINES: {
        const char *str = NULL;
        char *copy = NULL;
        s = bgm__rd_get_str(ld, key, &str);
        if (s != BGM_OK)
            return s;
        if (str[0]) { /* "": None; the kind's check looks at the lines */
            copy = strdup(str);
            if (!copy)
                return bgm__fail(BGM_E_NOMEM, "%s: out of memory", ld->fn);
        }
        memcpy(p, &copy, sizeof copy);
        break;
    }
    }
    return s;
}

/* The config entries of custom layer l: the keys "<prefix>config.<key>". */
static bgm_status read_entries(const loader *ld, const char *prefix, bgm_layer *l)
{
    char start[KEY_SIZE];
    size_t n = (size_t)snprintf(start, sizeof start, "%sconfig.", prefix);
    int64_t i, count = bgm_archive_num_meta(ld->a);
    bgm_status s = BGM_OK;
    for (i = 0; s == BGM_OK && i < count; i++) {
        const char *key = bgm_archive_meta_key(ld->a, i);
        bgm__config_entry e = {.type = BGM__ENTRY_INT};
        const char *str = NULL;
        if (!key || strncmp(key, start, n) != 0)
            continue;
        switch (bgm_archive_meta_type(ld->a, key)) {
        case BGM_META_INT64:
            s = bgm__rd_get_int(ld, key, &e.i);
            break;
        case BGM_META_FLOAT64:
            e.type = BGM__ENTRY_FLOAT;
            s = bgm_archive_get_float64(&e.f, ld->a, key);
            if (s == BGM_OK && !isfinite(e.f))
                s = bad(ld, "key '%s' is not finite", key);
            break;
        case BGM_META_STRING:
            e.type = BGM__ENTRY_STRING;
            s = bgm__rd_get_str(ld, key, &str);
            e.s = (char *)str;
            break;
        default:
            return bad(ld, "key '%s' of a custom layer's config is not an int, float or "
                       "string", key);
        }
        if (s == BGM_OK)
            s = wrap(ld, bgm__custom_set_entry(l, key + n, &e, ld->fn), "config");
    }
    return s;
}

/* The layer described under prefix, configured and checked; what names it
 * in messages. */
static bgm_status read_layer(const loader *ld, const char *prefix, const char *what,
                             int depth, bgm_layer **out)
{
    char key[KEY_SIZE];
    const bgm__layer_ops *ops;
    const char *kind = NULL;
    bgm_layer *l;
    bgm_status s;
    int i;
    *out = NULL;
    snprintf(key, sizeof key, "%skind", prefix);
    s = bgm__rd_get_str(ld, key, &kind);
    if (s != BGM_OK)
        return s;
    ops = bgm__layer_kind_by_name(kind);
    if (!ops) {
        /* a kind registered at run time, or one this program lacks */
        if (bgm__custom_layer_new(&l, kind, ld->fn) != BGM_OK)
            return bad(ld, "%s: unknown layer kind '%.80s': not a built-in kind, and no "
                       "kind of that name is registered (register it before loading)",
                       what, kind);
        ops = l->ops;
        s = read_entries(ld, prefix, l);
    } else {
        l = bgm__layer_new(ops, ld->fn);
        if (!l)
            return BGM_E_NOMEM;
    }
    for (i = 0; s == BGM_OK && i < ops->nfields; i++)
        s = read_field(ld, prefix, &ops->fields[i], l, depth, what);
    if (s == BGM_OK)
        s = wrap(ld, bgm__layer_check_config(l, ops->ctor), what);
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return s;
    }
    *out = l;
    return BGM_OK;
}

/* Layer i of the file with its name and trainable flag. */
static bgm_status read_named_layer(const loader *ld, int i, bgm_layer **out)
{
    char prefix[32], key[KEY_SIZE], what[BGM__NAME_SIZE + 48];
    const char *name = NULL;
    int64_t trainable = 1;
    bgm_layer *l = NULL;
    bgm_status s;
    snprintf(prefix, sizeof prefix, "layers.%d.", i);
    snprintf(what, sizeof what, "layer %d", i);
    s = read_layer(ld, prefix, what, 0, &l);
    if (s != BGM_OK)
        return s;
    snprintf(what, sizeof what, "layer %d (%s)", i, l->ops->kind);
    snprintf(key, sizeof key, "%sname", prefix);
    s = bgm__rd_get_str(ld, key, &name);
    if (s == BGM_OK)
        s = wrap(ld, bgm_layer_set_name(l, name), what);
    snprintf(key, sizeof key, "%strainable", prefix);
    if (s == BGM_OK)
        s = bgm__rd_get_range(ld, key, 0, 1, &trainable);
    if (s == BGM_OK)
        s = wrap(ld, bgm_layer_set_trainable(l, trainable != 0), what);
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return s;
    }
    *out = l;
    return BGM_OK;
}

/* *out = product of shape, 0 when it does not fit in int64. */
static int shape_product(const int64_t *shape, int ndim, int64_t *out)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && n > INT64_MAX / shape[i]))
            return 0;
        n *= shape[i];
    }
    *out = n;
    return 1;
}

/*
 * Before building l on inputs in[0..n): its sizes (the integer fields) and
 * its inputs' dimensions must multiply to less than 2^62, so no shape or fan
 * a build computes can overflow, whatever the file says.
 */
static bgm_status check_sizes(const loader *ld, const bgm_layer *l, const bgm__shape *in,
                              int n, const char *what)
{
    double bits = 0.0;
    int i, k;
    for (i = 0; i < n; i++)
        for (k = 0; k < in[i].ndim; k++)
            bits += log2((double)(in[i].d[k] > 1 ? in[i].d[k] : 1));
    for (i = 0; i < l->ops->nfields; i++) {
        const bgm__field *f = &l->ops->fields[i];
        const char *p = (const char *)l + f->offset;
        int64_t v[BGM_MAX_DIMS];
        int count = f->type == BGM__FIELD_INT ? 1
                    : f->type == BGM__FIELD_INTS ? bgm__field_count(l, f) : 0;
        memcpy(v, p, (size_t)count * sizeof *v);
        for (k = 0; k < count; k++)
            bits += log2((double)(v[k] > 1 ? v[k] : 1));
    }
    if (bits >= 62.0)
        return bad(ld, "%s: its sizes and its input's multiply to more than 2^62; a shape "
                   "of more than 2^63 elements would follow", what);
    return BGM_OK;
}

/*
 * Checks that the file holds every weight of l (just built), of exactly the
 * shape its configuration implies, and that its output fits in int64.
 */
static bgm_status check_weights(const loader *ld, const bgm_layer *l, int index,
                                const bgm__shape *out, const char *what)
{
    char a_str[BGM__SHAPE_STR_SIZE], b_str[BGM__SHAPE_STR_SIZE];
    char name[BGM__FILE_TENSOR_NAME_SIZE], weight[BGM__WEIGHT_NAME_SIZE];
    int64_t n;
    int k;
    if (!shape_product(out->d, out->ndim, &n))
        return bad(ld, "%s: output %s has more than 2^63 elements per sample", what,
                   bgm__shape_str(a_str, sizeof a_str, out->d, out->ndim));
    for (k = 0; !ld->arch_only && k < l->nweights; k++) {
        const bgm__weight_spec *sp = &l->specs[k];
        const bgm_tensor *t = NULL;
        snprintf(weight, sizeof weight, "%s/%s", l->name, sp->name);
        bgm__model_file_tensor_name(name, sizeof name, ld->version, index, weight);
        if (bgm_archive_find_tensor(&t, ld->a, name) != BGM_OK)
            return bad(ld, "%s: missing weight tensor '%s'", what, name);
        if (bgm_tensor_dtype(t) != BGM_FLOAT32 || bgm_tensor_ndim(t) != sp->ndim ||
            memcmp(bgm_tensor_shape(t), sp->shape, (size_t)sp->ndim * sizeof(int64_t)) != 0)
            return bad(ld, "%s: tensor '%s' is %s %s, but the layer's configuration needs "
                       "float32 %s", what, name,
                       bgm_tensor_dtype(t) == BGM_FLOAT32 ? "float32" : "int32",
                       bgm__shape_str(a_str, sizeof a_str, bgm_tensor_shape(t),
                                      bgm_tensor_ndim(t)),
                       bgm__shape_str(b_str, sizeof b_str, sp->shape, sp->ndim));
    }
    return BGM_OK;
}

/* ---- Sequential models -------------------------------------------------------- */

/*
 * Builds l against the model's current output (as bgm_model_add will) and
 * checks its weights in the file before bgm_model_add allocates them.
 */
static bgm_status check_layer(const loader *ld, const bgm_model *m, bgm_layer *l, int index,
                              const char *what)
{
    bgm__shape in = *bgm__model_out_shape(m), out[BGM__MAX_OUTPUTS];
    bgm_status s;
    if (index == 0)
        in.dtype = l->ops->takes_ids ? BGM_INT32 : BGM_FLOAT32;
    if (index == 0 && l->ops->model_input) {
        s = l->ops->model_input(l, &in);
        if (s != BGM_OK)
            return wrap(ld, s, "configuration");
    }
    s = check_sizes(ld, l, &in, 1, what);
    if (s != BGM_OK)
        return s;
    l->index = index;
    l->nweights = 0;
    memset(&out, 0, sizeof out);
    s = l->ops->build(l, &in, 1, out);
    l->index = -1;
    if (s == BGM_OK && l->spec_oom)
        s = bgm__fail(BGM_E_NOMEM, "out of memory");
    if (s != BGM_OK)
        s = wrap(ld, s, "configuration");
    if (s == BGM_OK)
        s = check_weights(ld, l, index, &out[0], what);
    l->nweights = 0;
    return s;
}

/* The input of a Sequential file: model.input_shape (format 1) or the
 * input node (format 2, which must hold a chain of the layers in order). */
static bgm_status chain_input(const loader *ld, int64_t nlayers, const int64_t **shape,
                              int64_t *ndim)
{
    const int64_t *v = NULL;
    int64_t n = 0, nodes = 0, k, layer = 0;
    char key[KEY_SIZE];
    bgm_status s;
    if (ld->version < 2)
        return bgm__rd_get_ints(ld, "model.input_shape", shape, ndim);
    s = bgm__rd_get_int(ld, "model.num_nodes", &nodes);
    if (s == BGM_OK && nodes != nlayers + 1)
        return bad(ld, "a Sequential model of %lld layers has %lld nodes", (long long)nlayers,
                   (long long)nodes);
    for (k = 0; s == BGM_OK && k < nodes; k++) {
        snprintf(key, sizeof key, "nodes.%lld.layer", (long long)k);
        s = bgm__rd_get_int(ld, key, &layer);
        if (s == BGM_OK && k > 0) {
            snprintf(key, sizeof key, "nodes.%lld.inputs", (long long)k);
            s = bgm__rd_get_ints(ld, key, &v, &n);
        }
        if (s == BGM_OK && (layer != k - 1 || (k > 0 && (n != 1 || v[0] != k - 1))))
            return bad(ld, "node %lld of a Sequential model is not layer %lld called on "
                       "node %lld", (long long)k, (long long)k - 1, (long long)k - 1);
    }
    if (s == BGM_OK)
        s = bgm__rd_get_ints(ld, "model.outputs", &v, &n);
    if (s == BGM_OK && (n != 1 || v[0] != nodes - 1))
        return bad(ld, "a Sequential model's output is its last node");
    return s == BGM_OK ? bgm__rd_get_ints(ld, "nodes.0.shape", shape, ndim) : s;
}

static bgm_status read_sequential(const loader *ld, uint64_t seed, bgm_model **out)
{
    const int64_t *shape = NULL;
    int64_t ndim = 0, n, nlayers = 0;
    char what[BGM__NAME_SIZE + 48];
    bgm_model *m = NULL;
    bgm_layer **layers = NULL;
    int i;
    bgm_status s = bgm__rd_get_range(ld, "model.num_layers", 0,
                                     bgm_archive_num_meta(ld->a) < INT32_MAX
                                         ? bgm_archive_num_meta(ld->a) : INT32_MAX,
                                     &nlayers);
    if (s == BGM_OK && !(layers = calloc((size_t)nlayers + 1, sizeof *layers)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", ld->fn);
    for (i = 0; s == BGM_OK && i < nlayers; i++)
        s = read_named_layer(ld, i, &layers[i]);
    if (s == BGM_OK)
        s = chain_input(ld, nlayers, &shape, &ndim);
    if (s == BGM_OK && (ndim < 1 || ndim >= BGM_MAX_DIMS))
        s = bad(ld, "the input shape has %lld dimensions, expected 1 to %d", (long long)ndim,
                BGM_MAX_DIMS - 1);
    if (s == BGM_OK && !shape_product(shape, (int)ndim, &n))
        s = bad(ld, "the input shape has more than 2^63 elements");
    if (s == BGM_OK)
        s = wrap(ld, bgm_model_create(&m, shape, (int)ndim, seed), "model.input_shape");
    for (i = 0; s == BGM_OK && i < nlayers; i++) {
        bgm_layer *l = layers[i];
        snprintf(what, sizeof what, "layer %d (%s)", i, l->ops->kind);
        s = check_layer(ld, m, l, i, what);
        if (s == BGM_OK) {
            layers[i] = NULL; /* the model's from here, even on error */
            s = wrap(ld, bgm_model_add(m, l), what);
        }
    }
    for (i = 0; layers && i < nlayers; i++)
        bgm_layer_free(layers[i]);
    free(layers);
    if (s != BGM_OK) {
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
}

/* ---- functional models ------------------------------------------------------- */

/* Input node k of the file into g. */
static bgm_status read_input_node(const loader *ld, bgm_graph *g, int64_t k, bgm_node **out)
{
    char key[KEY_SIZE];
    const char *name = NULL;
    const int64_t *shape = NULL;
    int64_t ndim = 0, n;
    int dtype = 0;
    bgm_status s;
    snprintf(key, sizeof key, "nodes.%lld.name", (long long)k);
    s = bgm__rd_get_str(ld, key, &name);
    snprintf(key, sizeof key, "nodes.%lld.dtype", (long long)k);
    if (s == BGM_OK)
        s = bgm__rd_get_enum(ld, key, bgm__dtype_names, &dtype);
    snprintf(key, sizeof key, "nodes.%lld.shape", (long long)k);
    if (s == BGM_OK)
        s = bgm__rd_get_ints(ld, key, &shape, &ndim);
    if (s == BGM_OK && (ndim < 1 || ndim >= BGM_MAX_DIMS || !shape_product(shape, (int)ndim,
                                                                           &n)))
        return bad(ld, "key '%s' is not a shape of 1 to 7 dimensions and fewer than 2^63 "
                   "elements", key);
    if (s == BGM_OK)
        s = wrap(ld, bgm__check_name(name, ld->fn), key);
    if (s == BGM_OK)
        s = wrap(ld, bgm__graph_input(out, g, shape, (int)ndim, (bgm_dtype)dtype, name,
                                      ld->fn), key);
    return s;
}

/* Node k of the file when it is output j > 0 (key nodes.<k>.output) of a
 * call: the node that call made, its one input naming the call's output 0.
 * *found is 0 for an output 0 (no key). */
static bgm_status read_extra_output(const loader *ld, int64_t k, const bgm_layer *l,
                                    bgm_node **nodes, int *found)
{
    char key[KEY_SIZE];
    const int64_t *v = NULL;
    int64_t j = 0, n = 0;
    bgm_node *first;
    bgm_status s;
    *found = 0;
    snprintf(key, sizeof key, "nodes.%lld.output", (long long)k);
    if (bgm_archive_meta_type(ld->a, key) == BGM_META_NONE)
        return BGM_OK;
    *found = 1;
    s = bgm__rd_get_range(ld, key, 1, BGM__MAX_OUTPUTS - 1, &j);
    snprintf(key, sizeof key, "nodes.%lld.inputs", (long long)k);
    if (s == BGM_OK)
        s = bgm__rd_get_ints(ld, key, &v, &n);
    if (s != BGM_OK)
        return s;
    if (n != 1 || v[0] < 0 || v[0] >= k)
        return bad(ld, "node %lld is output %lld of a call: key '%s' must name that call's "
                   "output 0, an earlier node", (long long)k, (long long)j, key);
    first = nodes[v[0]];
    if (first->layer != l || first->output != 0 || j >= first->noutputs)
        return bad(ld, "node %lld is output %lld of layer '%s', but node %lld is not a call "
                   "of it with that many outputs", (long long)k, (long long)j, l->name,
                   (long long)v[0]);
    nodes[k] = bgm__node_sibling(first, (int)j);
    return BGM_OK;
}

/* Node k of the file, a call of one of layers[0..nlayers) on earlier nodes. */
static bgm_status read_call_node(const loader *ld, bgm_graph *g, int64_t k,
                                 bgm_layer **layers, int64_t layer, bgm_node **nodes)
{
    char key[KEY_SIZE], what[BGM__NAME_SIZE + 64];
    bgm_node *ins[64];
    bgm__shape shapes[64];
    const int64_t *v = NULL;
    int64_t n = 0, i;
    bgm_layer *l = layers[layer];
    int extra = 0;
    bgm_status s = l ? read_extra_output(ld, k, l, nodes, &extra) : BGM_OK;
    if (s != BGM_OK || extra)
        return s;
    snprintf(key, sizeof key, "nodes.%lld.inputs", (long long)k);
    s = bgm__rd_get_ints(ld, key, &v, &n);
    if (s != BGM_OK)
        return s;
    if (n < 1 || n > 64)
        return bad(ld, "key '%s' holds %lld nodes, expected 1 to 64", key, (long long)n);
    for (i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= k)
            return bad(ld, "key '%s' names node %lld; a node takes earlier nodes", key,
                       (long long)v[i]);
        ins[i] = nodes[v[i]];
        shapes[i] = ins[i]->shape;
    }
    snprintf(what, sizeof what, "node %lld (layer '%s', %s)", (long long)k, l->name,
             l->ops->kind);
    s = check_sizes(ld, l, shapes, (int)n, what);
    if (s == BGM_OK) {
        int fresh = !l->graph;
        s = wrap(ld, bgm__graph_call(&nodes[k], g, l, ins, (int)n, ld->fn), what);
        if (s != BGM_OK && fresh)
            layers[layer] = NULL; /* the failed first call freed it */
    }
    if (s == BGM_OK)
        s = check_weights(ld, l, (int)layer, &nodes[k]->shape, what);
    return s;
}

/* The nodes listed in key ("model.inputs"), as nodes of the file. */
static bgm_status node_list(const loader *ld, const char *key, bgm_node **nodes,
                            int64_t nnodes, bgm_node ***out, int64_t *n)
{
    const int64_t *v = NULL;
    int64_t i;
    bgm_status s = bgm__rd_get_ints(ld, key, &v, n);
    if (s != BGM_OK)
        return s;
    *out = malloc((size_t)*n * sizeof **out);
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", ld->fn);
    for (i = 0; i < *n; i++) {
        if (v[i] < 0 || v[i] >= nnodes)
            return bad(ld, "key '%s' names node %lld of %lld", key, (long long)v[i],
                       (long long)nnodes);
        (*out)[i] = nodes[v[i]];
    }
    return BGM_OK;
}

static bgm_status read_functional(const loader *ld, uint64_t seed, bgm_model **out)
{
    int64_t nlayers = 0, nnodes = 0, k, layer, nin = 0, nout = 0;
    int64_t most = bgm_archive_num_meta(ld->a) < INT32_MAX ? bgm_archive_num_meta(ld->a)
                                                           : INT32_MAX;
    char key[KEY_SIZE];
    bgm_layer **layers = NULL;
    bgm_node **nodes = NULL, **ins = NULL, **outs = NULL;
    bgm_graph *g = bgm__graph_new(ld->fn);
    bgm_status s = g ? bgm__rd_get_range(ld, "model.num_layers", 0, most, &nlayers)
                     : BGM_E_NOMEM;
    if (s == BGM_OK)
        s = bgm__rd_get_range(ld, "model.num_nodes", 1, most, &nnodes);
    if (s == BGM_OK) {
        layers = calloc((size_t)nlayers + 1, sizeof *layers);
        nodes = calloc((size_t)nnodes, sizeof *nodes);
        if (!layers || !nodes)
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", ld->fn);
    }
    for (k = 0; s == BGM_OK && k < nlayers; k++)
        s = read_named_layer(ld, (int)k, &layers[k]);
    for (k = 0; s == BGM_OK && k < nnodes; k++) {
        snprintf(key, sizeof key, "nodes.%lld.layer", (long long)k);
        s = bgm__rd_get_range(ld, key, -1, nlayers - 1, &layer);
        if (s == BGM_OK && layer < 0)
            s = read_input_node(ld, g, k, &nodes[k]);
        else if (s == BGM_OK)
            s = read_call_node(ld, g, k, layers, layer, nodes);
    }
    for (k = 0; s == BGM_OK && k < nlayers; k++)
        if (!layers[k]->graph)
            s = bad(ld, "layer %lld ('%s') is called by no node", (long long)k,
                    layers[k]->name);
    if (s == BGM_OK)
        s = node_list(ld, "model.inputs", nodes, nnodes, &ins, &nin);
    if (s == BGM_OK)
        s = node_list(ld, "model.outputs", nodes, nnodes, &outs, &nout);
    if (s == BGM_OK)
        s = wrap(ld, bgm_model_create_graph(out, ins, (int)nin, outs, (int)nout, seed),
                 "the graph");
    for (k = 0; layers && k < nlayers; k++)
        if (layers[k] && !layers[k]->graph)
            bgm_layer_free(layers[k]);
    free(layers);
    free(nodes);
    free(ins);
    free(outs);
    bgm__graph_release(g);
    return s;
}

/* ---- weights ------------------------------------------------------------------ */

/* Every tensor must be a weight of m or the optimizer's slots. */
static bgm_status check_tensor_names(const loader *ld, const bgm_model *m)
{
    char name[BGM__FILE_TENSOR_NAME_SIZE];
    int64_t i, n = bgm_archive_num_tensors(ld->a);
    int w, found;
    for (i = 0; i < n; i++) {
        const char *t = bgm_archive_tensor_name(ld->a, i);
        if (strcmp(t, BGM__SLOTS_TENSOR) == 0)
            continue;
        found = 0;
        for (w = 0; w < m->nweights && !found; w++) {
            bgm__model_file_tensor_name(name, sizeof name, ld->version, m->weights[w].layer,
                                        m->weights[w].name);
            found = strcmp(name, t) == 0;
        }
        if (!found)
            return bad(ld, "tensor '%.200s' belongs to no weight of the model's layers", t);
    }
    return BGM_OK;
}

static bgm_status copy_weights(const loader *ld, bgm_model *m)
{
    char name[BGM__FILE_TENSOR_NAME_SIZE];
    bgm_status s = BGM_OK;
    int w;
    for (w = 0; s == BGM_OK && w < m->nweights; w++) {
        bgm__model_file_tensor_name(name, sizeof name, ld->version, m->weights[w].layer,
                                    m->weights[w].name);
        s = wrap(ld, bgm_archive_copy_tensor(m->weights[w].view, ld->a, name), "weights");
    }
    return s;
}

/* ---- the model ------------------------------------------------------------- */

/* model.type and model.format_version; *functional says which type. */
static bgm_status read_header(loader *ld, int *functional)
{
    const char *type = NULL;
    int64_t version;
    bgm_status s;
    if (bgm_archive_meta_type(ld->a, "model.type") == BGM_META_NONE)
        return bad(ld, "not a model file: no 'model.type' key (an archive of tensors "
                   "reads with bgm_archive_load)");
    s = bgm__rd_get_str(ld, "model.type", &type);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, "model.format_version", &version);
    if (s != BGM_OK)
        return s;
    if (version > BGM__MODEL_FORMAT_VERSION)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: model format version %lld is newer "
                         "than this library reads (up to %d); load it with a newer "
                         "libbigmodel", ld->fn, ld->src, (long long)version,
                         BGM__MODEL_FORMAT_VERSION);
    if (version < 1)
        return bad(ld, "model format version %lld does not exist", (long long)version);
    ld->version = (int)version;
    *functional = strcmp(type, BGM__MODEL_TYPE_FUNCTIONAL) == 0;
    if (strcmp(type, BGM__MODEL_TYPE_SEQUENTIAL) != 0 && (!*functional || version < 2))
        return bad(ld, "model.type is '%.80s'; this library reads '%s' and (from format 2) "
                   "'%s' models", type, BGM__MODEL_TYPE_SEQUENTIAL, BGM__MODEL_TYPE_FUNCTIONAL);
    return BGM_OK;
}

static bgm_status read_training_state(const loader *ld, bgm_model *m)
{
    const int64_t *v = NULL;
    int64_t n = 0, epochs;
    uint32_t spare;
    int i;
    bgm_status s = bgm__rd_get_ints(ld, "model.rng_state", &v, &n);
    if (s != BGM_OK)
        return s;
    if (n != 6)
        return bad(ld, "model.rng_state holds %lld values, expected 6", (long long)n);
    if ((v[0] | v[1] | v[2] | v[3]) == 0)
        return bad(ld, "model.rng_state is all zeros, a state the generator never reaches");
    if (v[4] < 0 || v[4] > 1 || v[5] < 0 || v[5] > (int64_t)UINT32_MAX)
        return bad(ld, "model.rng_state has a bad spare normal (%lld, %lld)",
                   (long long)v[4], (long long)v[5]);
    s = bgm__rd_get_range(ld, "model.epochs_completed", 0, INT_MAX, &epochs);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < 4; i++)
        m->rng.s[i] = (uint64_t)v[i];
    m->rng.has_spare = (int)v[4];
    spare = (uint32_t)v[5];
    memcpy(&m->rng.spare, &spare, sizeof spare);
    m->epochs_done = (int)epochs;
    return BGM_OK;
}

/* The model of the architecture in a (header, seed, layers and graph). */
static bgm_status read_architecture(loader *ld, const bgm_archive *a, const char *src,
                                    const char *fn, int arch_only, bgm_model **out)
{
    int64_t seed = 0;
    int functional = 0;
    bgm_status s;
    ld->a = a;
    ld->src = src;
    ld->fn = fn;
    ld->version = 0;
    ld->arch_only = arch_only;
    s = read_header(ld, &functional);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, "model.seed", &seed);
    if (s == BGM_OK)
        s = functional ? read_functional(ld, (uint64_t)seed, out)
                       : read_sequential(ld, (uint64_t)seed, out);
    return s;
}

static bgm_status load_archive(bgm_model **out, const bgm_archive *a, const char *src,
                               const char *fn)
{
    loader ld;
    bgm_model *m = NULL;
    bgm_status s;
    s = read_architecture(&ld, a, src, fn, 0, &m);
    if (s == BGM_OK)
        s = check_tensor_names(&ld, m);
    if (s == BGM_OK)
        s = copy_weights(&ld, m);
    if (s == BGM_OK)
        s = bgm__rd_compile(&ld, m);
    if (s == BGM_OK)
        s = read_training_state(&ld, m);
    if (s != BGM_OK) {
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
}

bgm_status bgm__model_from_architecture(bgm_model **out, const bgm_archive *a,
                                        const char *src, const char *fn)
{
    loader ld;
    *out = NULL;
    return read_architecture(&ld, a, src, fn, 1, out);
}

/* Prefixes an archive error with fn, keeping its status. */
static bgm_status archive_error(bgm_status s, const char *fn)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s", bgm_last_error());
    return bgm__fail(s, "%s: %s", fn, msg);
}

BGM_API bgm_status bgm_model_load(bgm_model **out, const char *path)
{
    static const char *fn = "bgm_model_load";
    bgm_archive *a = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    s = bgm_archive_load(&a, path);
    if (s != BGM_OK)
        return archive_error(s, fn);
    s = load_archive(out, a, path, fn);
    bgm_archive_free(a);
    return s;
}

BGM_API bgm_status bgm_model_load_memory(bgm_model **out, const void *data, size_t size)
{
    static const char *fn = "bgm_model_load_memory";
    bgm_archive *a = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (!data && size > 0)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'data' is NULL with size %zu", fn,
                         size);
    s = bgm_archive_load_memory(&a, data, size);
    if (s != BGM_OK)
        return archive_error(s, fn);
    s = load_archive(out, a, "<memory>", fn);
    bgm_archive_free(a);
    return s;
}
