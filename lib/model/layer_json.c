/*
 * A layer from its Keras config (bgm_layer_from_config): the kind's table of
 * fields read from JSON with the kind's checks, Keras' spellings
 * (initializer objects, the L2 regularizer, the dtype policy), and Keras
 * options the library has no field for accepted at the one value it
 * implements.
 */
#include "model/layer_json.h"

#include "bigmodel/custom_layer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_SIZE 256

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

/* A lines field (TextVectorization's vocabulary) from null or a list of
 * strings, joined by '\n' into a new string (the kind's check then looks at
 * the tokens); a repeated key replaces the first. */
static bgm_status lines_value(const char *fn, bgm_layer *l, const bgm__field *f,
                              const bgm__jv *v)
{
    char *joined = NULL, *old;
    size_t i, len = 0;
    if (v->type != BGM__JV_NULL) {
        if (v->type != BGM__JV_ARRAY || v->n == 0)
            return value_fail(fn, l, f->key, v, "null or a non-empty list of strings");
        for (i = 0; i < v->n; i++) {
            const bgm__jv *x = &v->items[i];
            if (x->type != BGM__JV_STRING || !x->string[0] || strchr(x->string, '\n'))
                return value_fail(fn, l, f->key, x, "a non-empty string without a line break");
            len += strlen(x->string) + 1;
        }
        joined = malloc(len);
        if (!joined)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        for (len = 0, i = 0; i < v->n; i++) {
            size_t n = strlen(v->items[i].string);
            memcpy(joined + len, v->items[i].string, n);
            len += n;
            joined[len++] = i + 1 < v->n ? '\n' : '\0';
        }
    }
    memcpy(&old, (char *)l + f->offset, sizeof old);
    free(old);
    memcpy((char *)l + f->offset, &joined, sizeof joined);
    return BGM_OK;
}

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
        s = bgm__layer_from_jv(&inner, v, fn, 1);
        if (s != BGM_OK)
            return s;
        memcpy(&old, p, sizeof old); /* a repeated key replaces the first */
        bgm_layer_free(old);
        inner->wrapped = 1;
        memcpy(p, &inner, sizeof inner);
        return BGM_OK;
    case BGM__FIELD_LINES:
        return lines_value(fn, l, f, v);
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

/* One entry of a run-time kind's config: an integer, a number, a bool (as
 * 0 / 1, as bgm_layer_set_config_int) or a string; null is left out. */
static bgm_status custom_entry(const char *fn, bgm_layer *l, const char *key,
                               const bgm__jv *v)
{
    bgm__config_entry e = {.type = BGM__ENTRY_INT};
    switch (v->type) {
    case BGM__JV_NULL:
        return BGM_OK;
    case BGM__JV_BOOL:
        e.i = v->boolean;
        break;
    case BGM__JV_NUMBER:
        if (v->is_int) {
            e.i = v->integer;
        } else {
            e.type = BGM__ENTRY_FLOAT;
            e.f = v->number;
        }
        break;
    case BGM__JV_STRING:
        e.type = BGM__ENTRY_STRING;
        e.s = v->string;
        break;
    default:
        return value_fail(fn, l, key, v, "an integer, a number, a bool, a string or null "
                          "(what a run-time kind's config holds)");
    }
    return bgm__custom_set_entry(l, key, &e, fn);
}

/* A layer of a kind registered at run time: name and trainable as for any
 * layer, every other key an entry of its config. */
static bgm_status custom_from_jv(bgm_layer **out, const bgm__jv *cls, const bgm__jv *cfg,
                                 const char *fn, int wrapped)
{
    bgm_layer *l = NULL;
    bgm_status s;
    size_t i;
    if (wrapped)
        return bgm__fail(BGM_E_INVALID, "%s: a %s layer inside another at offset %zu", fn,
                         cls->string, cls->pos);
    s = bgm__custom_layer_new(&l, cls->string, fn);
    for (i = 0; s == BGM_OK && i < cfg->n; i++) {
        const char *key = cfg->keys[i];
        if (strcmp(key, "name") == 0 || strcmp(key, "trainable") == 0 ||
            strcmp(key, "dtype") == 0)
            s = config_key(fn, l, key, &cfg->items[i], 0);
        else
            s = custom_entry(fn, l, key, &cfg->items[i]);
    }
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return s;
    }
    *out = l;
    return BGM_OK;
}

bgm_status bgm__layer_from_jv(bgm_layer **out, const bgm__jv *v, const char *fn,
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
    if (!ops && cfg && cfg->type == BGM__JV_OBJECT && bgm_layer_kind_registered(cls->string))
        return custom_from_jv(out, cls, cfg, fn, wrapped);
    if (!ops)
        return bgm__fail(BGM_E_INVALID, "%s: unknown layer class_name '%.64s' at offset %zu "
                         "(neither a built-in kind nor one registered with "
                         "bgm_layer_kind_register)", fn, cls->string, cls->pos);
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
    if (s == BGM_OK && ops->configured)
        s = ops->configured(l, fn);
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return s;
    }
    *out = l;
    return BGM_OK;
}

bgm_status bgm__json_parse(bgm__jv **out, const char *json, const char *fn)
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
    s = bgm__json_parse(&v, json, fn);
    if (s == BGM_OK)
        s = bgm__layer_from_jv(out, v, fn, 0);
    bgm__jv_free(v);
    return s;
}
