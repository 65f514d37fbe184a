/*
 * Keras-style configs as JSON: a layer from its config
 * (bgm_layer_from_config), a model's config (bgm_model_to_json) and a model
 * from one (bgm_model_from_json), and bgm_model_clone. A model config is
 * turned into the same keys a model file holds and read by the model
 * file's reader without weights (bgm__model_from_architecture), so a JSON
 * config passes every check a file does.
 */
#include "io/json_value.h"
#include "model/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_SIZE 96
#define MSG_SIZE 256

/* ---- a layer from its config ------------------------------------------------- */

/* "GlorotUniform" -> "glorot_uniform" (Keras' initializer class names). */
static void snake_case(char *out, size_t size, const char *camel)
{
    size_t k = 0;
    for (; *camel && k + 2 < size; camel++) {
        if (*camel >= 'A' && *camel <= 'Z') {
            if (k > 0)
                out[k++] = '_';
            out[k++] = (char)(*camel - 'A' + 'a');
        } else {
            out[k++] = *camel;
        }
    }
    out[k] = '\0';
}

static bgm_status value_fail(const char *fn, const bgm_layer *l, const char *key,
                             const bgm__jv *v, const char *want)
{
    return bgm__fail(BGM_E_INVALID, "%s: %s option '%s' is %s at offset %zu, expected %s",
                     fn, l->ops->kind, key, bgm__jv_type_name(v), v->pos, want);
}

static bgm_status enum_value(const char *fn, const bgm_layer *l, const bgm__field *f,
                             const bgm__jv *v, int *out)
{
    char name[64];
    const bgm__jv *cls = bgm__jv_get(v, "class_name");
    const char *text = v->type == BGM__JV_STRING ? v->string : NULL;
    if (cls && cls->type == BGM__JV_STRING) { /* {"class_name": "GlorotUniform", ...} */
        snake_case(name, sizeof name, cls->string);
        text = name;
    }
    if (!text)
        return value_fail(fn, l, f->key, v, "a name");
    if (!bgm__enum_from_name(f->names, text, out))
        return bgm__fail(BGM_E_INVALID, "%s: %s option '%s' has unknown value '%.64s' at "
                         "offset %zu", fn, l->ops->kind, f->key, text, v->pos);
    return BGM_OK;
}

/* The integers of an INTS field: an array (ZeroPadding2D's nested pairs
 * flattened) or, for a fixed count, one integer for every entry. */
static bgm_status ints_value(const char *fn, bgm_layer *l, const bgm__field *f,
                             const bgm__jv *v)
{
    int64_t vals[BGM_MAX_DIMS];
    size_t n = 0, i, k;
    int count;
    if (v->type == BGM__JV_NUMBER && v->is_int && f->count) {
        for (n = 0; n < (size_t)f->count; n++)
            vals[n] = v->integer;
    } else if (v->type == BGM__JV_ARRAY) {
        for (i = 0; i < v->n; i++) {
            const bgm__jv *e = &v->items[i];
            size_t m = e->type == BGM__JV_ARRAY ? e->n : 1;
            for (k = 0; k < m; k++) {
                const bgm__jv *x = e->type == BGM__JV_ARRAY ? &e->items[k] : e;
                if (x->type != BGM__JV_NUMBER || !x->is_int)
                    return value_fail(fn, l, f->key, x, "an integer");
                if (n >= BGM_MAX_DIMS - 1)
                    return bgm__fail(BGM_E_INVALID, "%s: %s option '%s' has more than %d "
                                     "entries at offset %zu", fn, l->ops->kind, f->key,
                                     BGM_MAX_DIMS - 1, v->pos);
                vals[n++] = x->integer;
            }
        }
    } else {
        return value_fail(fn, l, f->key, v, "a list of integers");
    }
    if (f->count && n != (size_t)f->count)
        return bgm__fail(BGM_E_INVALID, "%s: %s option '%s' has %zu entries at offset %zu, "
                         "expected %d", fn, l->ops->kind, f->key, n, v->pos, f->count);
    memcpy((char *)l + f->offset, vals, n * sizeof *vals);
    if (!f->count) {
        count = (int)n;
        memcpy((char *)l + f->count_offset, &count, sizeof count);
    }
    return BGM_OK;
}

static bgm_status layer_from_jv(bgm_layer **out, const bgm__jv *v, const char *fn,
                                int wrapped);

/* Sets field f of l from the config value v (wrapped: l is inside a
 * Bidirectional, so it cannot wrap a layer itself). */
static bgm_status field_value(const char *fn, bgm_layer *l, const bgm__field *f,
                              const bgm__jv *v, int wrapped)
{
    char *p = (char *)l + f->offset;
    int64_t i64;
    float f32;
    int e;
    bgm_layer *inner = NULL, *old;
    bgm_status s;
    switch (f->type) {
    case BGM__FIELD_INT:
        if (v->type == BGM__JV_ARRAY && v->n == 1) /* Keras' 1-tuples: output_shape */
            v = &v->items[0];
        if (v->type == BGM__JV_NULL && f->zero_null)
            i64 = 0;
        else if (v->type == BGM__JV_NUMBER && v->is_int)
            i64 = v->integer;
        else
            return value_fail(fn, l, f->key, v, f->zero_null ? "an integer or null"
                                                             : "an integer");
        memcpy(p, &i64, sizeof i64);
        return BGM_OK;
    case BGM__FIELD_FLOAT:
        if (v->type != BGM__JV_NUMBER)
            return value_fail(fn, l, f->key, v, "a number");
        f32 = (float)v->number;
        memcpy(p, &f32, sizeof f32);
        return BGM_OK;
    case BGM__FIELD_BOOL:
        if (v->type != BGM__JV_BOOL)
            return value_fail(fn, l, f->key, v, "true or false");
        memcpy(p, &v->boolean, sizeof v->boolean);
        return BGM_OK;
    case BGM__FIELD_ENUM:
        s = enum_value(fn, l, f, v, &e);
        if (s == BGM_OK)
            memcpy(p, &e, sizeof e);
        return s;
    case BGM__FIELD_INTS:
        return ints_value(fn, l, f, v);
    case BGM__FIELD_LAYER:
        if (wrapped)
            return bgm__fail(BGM_E_INVALID, "%s: a %s layer inside another at offset %zu",
                             fn, l->ops->kind, v->pos);
        s = layer_from_jv(&inner, v, fn, 1);
        if (s != BGM_OK)
            return s;
        memcpy(&old, p, sizeof old); /* a repeated key replaces the first */
        bgm_layer_free(old);
        inner->wrapped = 1;
        memcpy(p, &inner, sizeof inner);
        return BGM_OK;
    }
    return bgm__fail(BGM_E_INTERNAL, "%s: field '%s' of unknown type", fn, f->key);
}

/* Keras' kernel_regularizer: null or {"class_name": "L2", "config": {"l2": x}}. */
static bgm_status regularizer_value(const char *fn, bgm_layer *l, const bgm__jv *v)
{
    const bgm__jv *cls = bgm__jv_get(v, "class_name");
    const bgm__jv *x = bgm__jv_get(bgm__jv_get(v, "config"), "l2");
    int has = bgm__layer_field(l->ops, BGM__OFFSET(l2), "kernel regularizer") != NULL;
    if (v->type == BGM__JV_NULL) {
        l->l2 = 0.0f;
        return BGM_OK;
    }
    if (!has)
        return bgm__layer_lacks(l, fn, "kernel_regularizer");
    if (!cls || cls->type != BGM__JV_STRING || strcmp(cls->string, "L2") != 0 || !x ||
        x->type != BGM__JV_NUMBER)
        return value_fail(fn, l, "kernel_regularizer", v,
                          "null or {\"class_name\": \"L2\", \"config\": {\"l2\": x}} (the "
                          "only regularizer the library has)");
    l->l2 = (float)x->number;
    return BGM_OK;
}

/*
 * Keras options the library does not have as fields, accepted at the one
 * value it implements (Keras' default), so that configs Keras writes read.
 * kind NULL: any kind; value NULL: any value (a seed: the model's generator
 * draws instead).
 */
static const struct {
    const char *kind, *key, *value;
} keras_defaults[] = {
    {NULL, "data_format", "\"channels_last\""},
    {NULL, "return_state", "false"},
    {NULL, "go_backwards", "false"},
    {NULL, "stateful", "false"},
    {NULL, "unroll", "false"},
    {NULL, "zero_output_for_mask", "false"}, /* a padded step repeats the last output */
    {NULL, "seed", NULL},
    {"Conv2D", "dilation_rate", "[1, 1]"},
    {"Conv2D", "groups", "1"},
    {"Conv1D", "groups", "1"},
    {"BatchNormalization", "axis", "-1"},
    {"BatchNormalization", "center", "true"},
    {"BatchNormalization", "scale", "true"},
    {"BatchNormalization", "beta_initializer", "\"zeros\""},
    {"BatchNormalization", "gamma_initializer", "\"ones\""},
    {"BatchNormalization", "moving_mean_initializer", "\"zeros\""},
    {"BatchNormalization", "moving_variance_initializer", "\"ones\""},
    {"BatchNormalization", "synchronized", "false"},
    {"LayerNormalization", "rms_scaling", "false"},
    {"LayerNormalization", "beta_initializer", "\"zeros\""},
    {"LayerNormalization", "gamma_initializer", "\"ones\""},
    {"LSTM", "activation", "\"tanh\""},
    {"LSTM", "recurrent_activation", "\"sigmoid\""},
    {"LSTM", "recurrent_initializer", "\"orthogonal\""},
    {"LSTM", "unit_forget_bias", "true"},
    {"LSTM", "use_cudnn", NULL},
    {"GRU", "activation", "\"tanh\""},
    {"GRU", "recurrent_activation", "\"sigmoid\""},
    {"GRU", "recurrent_initializer", "\"orthogonal\""},
    {"GRU", "reset_after", "true"},
    {"GRU", "use_cudnn", NULL},
    {"Bidirectional", "merge_mode", "\"concat\""},
    {"GlobalAveragePooling2D", "keepdims", "false"},
};

/* 1 when v is the value of literal: the same JSON value, an initializer
 * object naming it, or for a list of equal integers the one integer. */
static int same_value(const bgm__jv *v, const bgm__jv *want)
{
    char name[64];
    const bgm__jv *cls = bgm__jv_get(v, "class_name");
    size_t i;
    if (want->type == BGM__JV_STRING && cls && cls->type == BGM__JV_STRING) {
        snake_case(name, sizeof name, cls->string);
        return strcmp(name, want->string) == 0;
    }
    if (want->type == BGM__JV_ARRAY && v->type == BGM__JV_NUMBER) {
        for (i = 0; i < want->n; i++)
            if (!same_value(v, &want->items[i]))
                return 0;
        return 1;
    }
    if (v->type != want->type)
        return 0;
    switch (v->type) {
    case BGM__JV_NULL: return 1;
    case BGM__JV_BOOL: return v->boolean == want->boolean;
    case BGM__JV_NUMBER: return v->number == want->number;
    case BGM__JV_STRING: return strcmp(v->string, want->string) == 0;
    case BGM__JV_ARRAY:
        if (v->n != want->n)
            return 0;
        for (i = 0; i < v->n; i++)
            if (!same_value(&v->items[i], &want->items[i]))
                return 0;
        return 1;
    case BGM__JV_OBJECT: return 0;
    }
    return 0;
}

/* *handled = 1 when key is one of keras_defaults for l's kind; then fails
 * unless v is the value the library implements. */
static bgm_status keras_default(const char *fn, const bgm_layer *l, const char *key,
                                const bgm__jv *v, int *handled)
{
    char err[MSG_SIZE];
    size_t i;
    *handled = 0;
    for (i = 0; i < sizeof keras_defaults / sizeof keras_defaults[0]; i++) {
        bgm__jv *want = NULL;
        int same;
        if (strcmp(keras_defaults[i].key, key) != 0 ||
            (keras_defaults[i].kind && strcmp(keras_defaults[i].kind, l->ops->kind) != 0))
            continue;
        *handled = 1;
        if (!keras_defaults[i].value)
            return BGM_OK;
        if (!bgm__jv_parse(&want, keras_defaults[i].value, strlen(keras_defaults[i].value),
                           err, sizeof err))
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        same = same_value(v, want);
        bgm__jv_free(want);
        if (same)
            return BGM_OK;
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s option '%s' at offset %zu must be %s, the "
                         "only value the library implements", fn, l->ops->kind, key, v->pos,
                         keras_defaults[i].value);
    }
    return BGM_OK;
}

/* One key of a layer's config. */
static bgm_status config_key(const char *fn, bgm_layer *l, const char *key,
                             const bgm__jv *v, int wrapped)
{
    int i, handled;
    bgm_status s;
    if (strcmp(key, "name") == 0) {
        if (v->type != BGM__JV_STRING)
            return value_fail(fn, l, key, v, "a string");
        if (wrapped || !v->string[0])
            return BGM_OK;
        s = bgm_layer_set_name(l, v->string);
        if (s != BGM_OK) { /* its message names bgm_layer_set_name */
            char msg[MSG_SIZE];
            snprintf(msg, sizeof msg, "%s", bgm_last_error());
            return bgm__fail(s, "%s: %s (at offset %zu)", fn, msg, v->pos);
        }
        return BGM_OK;
    }
    if (strcmp(key, "trainable") == 0) {
        if (v->type != BGM__JV_BOOL)
            return value_fail(fn, l, key, v, "true or false");
        l->trainable = v->boolean;
        return BGM_OK;
    }
    if (strcmp(key, "dtype") == 0) { /* a name or Keras 3's DTypePolicy */
        const bgm__jv *name = v->type == BGM__JV_STRING ? v : bgm__jv_get(bgm__jv_get(
                                  v, "config"), "name");
        if (v->type == BGM__JV_NULL ||
            (name && name->type == BGM__JV_STRING && strcmp(name->string, "float32") == 0))
            return BGM_OK;
        return value_fail(fn, l, key, v, "\"float32\" (layers compute in float32)");
    }
    if (strcmp(key, "kernel_regularizer") == 0)
        return regularizer_value(fn, l, v);
    for (i = 0; i < l->ops->nfields; i++)
        if (strcmp(l->ops->fields[i].key, key) == 0)
            return field_value(fn, l, &l->ops->fields[i], v, wrapped);
    s = keras_default(fn, l, key, v, &handled);
    if (handled)
        return s;
    if (v->type == BGM__JV_NULL) /* Keras' options left unset (bias_regularizer, ...) */
        return BGM_OK;
    return bgm__fail(BGM_E_INVALID, "%s: a %s layer has no option '%.64s' (at offset %zu)",
                     fn, l->ops->kind, key, v->pos);
}

/* The layer of {"class_name": ..., "config": {...}} (other keys ignored). */
static bgm_status layer_from_jv(bgm_layer **out, const bgm__jv *v, const char *fn,
                                int wrapped)
{
    const bgm__jv *cls = bgm__jv_get(v, "class_name"), *cfg = bgm__jv_get(v, "config");
    const bgm__layer_ops *ops;
    bgm_layer *l;
    bgm_status s = BGM_OK;
    size_t i;
    *out = NULL;
    if (!cls || cls->type != BGM__JV_STRING)
        return bgm__fail(BGM_E_INVALID, "%s: expected a layer config {\"class_name\": ..., "
                         "\"config\": {...}} at offset %zu", fn, v->pos);
    ops = bgm__layer_kind_by_name(cls->string);
    if (!ops)
        return bgm__fail(BGM_E_INVALID, "%s: unknown layer class_name '%.64s' at offset %zu",
                         fn, cls->string, cls->pos);
    if (cfg && cfg->type != BGM__JV_OBJECT)
        return bgm__fail(BGM_E_INVALID, "%s: the config of a %s layer is %s at offset %zu, "
                         "expected an object", fn, ops->kind, bgm__jv_type_name(cfg),
                         cfg->pos);
    l = bgm__layer_new(ops, fn);
    if (!l)
        return BGM_E_NOMEM;
    for (i = 0; s == BGM_OK && cfg && i < cfg->n; i++)
        s = config_key(fn, l, cfg->keys[i], &cfg->items[i], wrapped);
    if (s == BGM_OK)
        s = bgm__layer_check_config(l, fn);
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return s;
    }
    *out = l;
    return BGM_OK;
}

/* Parses json (NUL-terminated) into *out, failing with fn's message. */
static bgm_status parse(bgm__jv **out, const char *json, const char *fn)
{
    char err[MSG_SIZE];
    if (!bgm__jv_parse(out, json, strlen(json), err, sizeof err))
        return strcmp(err, "out of memory") == 0
                   ? bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn)
                   : bgm__fail(BGM_E_INVALID, "%s: malformed JSON: %s", fn, err);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_from_config(bgm_layer **out, const char *json)
{
    static const char *fn = "bgm_layer_from_config";
    bgm__jv *v = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(json, fn);
    s = parse(&v, json, fn);
    if (s == BGM_OK)
        s = layer_from_jv(out, v, fn, 0);
    bgm__jv_free(v);
    return s;
}

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
    s = layer_from_jv(&l, e, what, 0);
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
    s = parse(&v, json, fn);
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
