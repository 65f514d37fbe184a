/*
 * Layer configurations driven by each kind's table of fields: the names
 * enums take in configs and files, setting one field with its checks, and
 * checking a whole configuration (after a constructor or a file).
 */
#include "layers/layer.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const bgm__enum_name bgm__activation_names[] = {
    {BGM_ACT_LINEAR, "linear"},   {BGM_ACT_RELU, "relu"},
    {BGM_ACT_SIGMOID, "sigmoid"}, {BGM_ACT_TANH, "tanh"},
    {BGM_ACT_SOFTMAX, "softmax"}, {BGM_ACT_LEAKY_RELU, "leaky_relu"},
    {BGM_ACT_GELU, "gelu"},       {BGM_ACT_GELU_TANH, "gelu_tanh"},
    {BGM_ACT_SILU, "silu"},       {0, NULL}};

const bgm__enum_name bgm__initializer_names[] = {
    {BGM_INIT_GLOROT_UNIFORM, "glorot_uniform"}, {BGM_INIT_GLOROT_NORMAL, "glorot_normal"},
    {BGM_INIT_HE_NORMAL, "he_normal"},           {BGM_INIT_HE_UNIFORM, "he_uniform"},
    {BGM_INIT_ZEROS, "zeros"},                   {BGM_INIT_ONES, "ones"},
    {BGM_INIT_ORTHOGONAL, "orthogonal"},         {BGM_INIT_RANDOM_UNIFORM, "random_uniform"},
    {0, NULL}};

const bgm__enum_name bgm__padding_names[] = {
    {BGM_PADDING_VALID, "valid"}, {BGM_PADDING_SAME, "same"}, {0, NULL}};

const char *bgm__enum_to_name(const bgm__enum_name *table, int value)
{
    for (; table->name; table++)
        if (table->value == value)
            return table->name;
    return NULL;
}

int bgm__enum_from_name(const bgm__enum_name *table, const char *name, int *value)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0) {
            *value = table->value;
            return 1;
        }
    return 0;
}

const bgm__field *bgm__layer_field(const bgm__layer_ops *ops, size_t offset,
                                   const char *what)
{
    int i;
    for (i = 0; i < ops->nfields; i++)
        if (ops->fields[i].offset == offset && strcmp(ops->fields[i].what, what) == 0)
            return &ops->fields[i];
    return NULL;
}

int bgm__field_count(const bgm_layer *l, const bgm__field *f)
{
    int n;
    if (f->count)
        return f->count;
    memcpy(&n, (const char *)l + f->count_offset, sizeof n);
    return n;
}

static int in_range(const bgm__field *f, double v)
{
    if (isnan(v))
        return 0;
    if (f->lo_open ? !(v > f->lo) : !(v >= f->lo))
        return 0;
    if (f->hi_open ? !(v < f->hi) : !(v <= f->hi))
        return 0;
    return 1;
}

/* ", expected a value in [0, 1)" and the like. */
static void expectation(char *buf, size_t size, const bgm__field *f)
{
    if (f->type == BGM__FIELD_INT || f->type == BGM__FIELD_INTS) {
        if (f->hi >= 2147483647.0)
            snprintf(buf, size, "expected at least %.0f", f->lo);
        else
            snprintf(buf, size, "expected a value in [%.0f, %.0f]", f->lo, f->hi);
    } else if (isinf(f->lo) && isinf(f->hi)) {
        snprintf(buf, size, "expected a finite value");
    } else if (isinf(f->hi)) {
        snprintf(buf, size, "expected a finite value %s %g", f->lo_open ? ">" : ">=", f->lo);
    } else {
        snprintf(buf, size, "expected a value in %c%g, %g%c", f->lo_open ? '(' : '[', f->lo,
                 f->hi, f->hi_open ? ')' : ']');
    }
}

bgm_status bgm__field_check(const bgm_layer *l, const bgm__field *f, const char *fn)
{
    const char *p = (const char *)l + f->offset;
    char want[96];
    expectation(want, sizeof want, f);
    switch (f->type) {
    case BGM__FIELD_INT: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        if (!in_range(f, (double)v))
            return bgm__fail(BGM_E_INVALID, "%s: %s = %lld, %s", fn, f->label, (long long)v,
                             want);
        return BGM_OK;
    }
    case BGM__FIELD_FLOAT: {
        float v;
        memcpy(&v, p, sizeof v);
        if (!in_range(f, (double)v))
            return bgm__fail(BGM_E_INVALID, "%s: %s = %g, %s", fn, f->label, (double)v, want);
        return BGM_OK;
    }
    case BGM__FIELD_BOOL: {
        int v;
        memcpy(&v, p, sizeof v);
        if (v != 0 && v != 1)
            return bgm__fail(BGM_E_INVALID, "%s: %s = %d, expected 0 or 1", fn, f->label, v);
        return BGM_OK;
    }
    case BGM__FIELD_ENUM: {
        int v;
        memcpy(&v, p, sizeof v);
        if (!bgm__enum_to_name(f->names, v))
            return bgm__fail(BGM_E_INVALID, "%s: unknown %s %d", fn, f->label, v);
        return BGM_OK;
    }
    case BGM__FIELD_INTS: {
        int n = bgm__field_count(l, f), i, ok = n >= 1 && n < BGM_MAX_DIMS, minus = 0;
        int64_t v[BGM_MAX_DIMS];
        char got[BGM__SHAPE_STR_SIZE];
        if (!ok)
            return bgm__fail(BGM_E_INVALID, "%s: %s has %d entries, expected 1 to %d", fn,
                             f->label, n, BGM_MAX_DIMS - 1);
        memcpy(v, p, (size_t)n * sizeof *v);
        for (i = 0; i < n && ok; i++) {
            if (f->minus_one && v[i] == -1 && !minus++)
                continue;
            ok = in_range(f, (double)v[i]);
        }
        if (!ok)
            return bgm__fail(BGM_E_INVALID, "%s: %s %s, %s%s", fn, f->label,
                             bgm__shape_str(got, sizeof got, v, n), want,
                             f->minus_one ? " (one entry may be -1)" : "");
        return BGM_OK;
    }
    case BGM__FIELD_LAYER:
        return BGM_OK; /* the kind's check looks at the wrapped layer */
    case BGM__FIELD_LINES:
        return BGM_OK; /* the kind's check looks at the lines */
    }
    return bgm__fail(BGM_E_INTERNAL, "%s: field '%s' of unknown type", fn, f->key);
}

bgm_status bgm__layer_check_config(const bgm_layer *l, const char *fn)
{
    int i;
    for (i = 0; i < l->ops->nfields; i++) {
        bgm_status s = bgm__field_check(l, &l->ops->fields[i], fn);
        if (s != BGM_OK)
            return s;
    }
    return l->ops->check ? l->ops->check(l, fn) : BGM_OK;
}

/* Bytes a field's value takes in struct bgm_layer. */
static size_t field_size(const bgm_layer *l, const bgm__field *f)
{
    switch (f->type) {
    case BGM__FIELD_INT: return sizeof(int64_t);
    case BGM__FIELD_FLOAT: return sizeof(float);
    case BGM__FIELD_INTS: return (size_t)bgm__field_count(l, f) * sizeof(int64_t);
    case BGM__FIELD_LAYER: return sizeof(bgm_layer *);
    case BGM__FIELD_LINES: return sizeof(char *);
    default: return sizeof(int);
    }
}

bgm_status bgm__layer_unbuilt(const bgm_layer *l, const char *fn)
{
    if (!l)
        return bgm__fail_null_layer(fn);
    if (bgm__layer_called(l))
        return bgm__layer_built_fail(l, fn);
    if (l->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by a Bidirectional "
                         "layer; set its options before wrapping it", fn, l->ops->kind);
    return BGM_OK;
}

bgm_status bgm__layer_lacks(const bgm_layer *l, const char *fn, const char *what)
{
    return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s %s layer has no %s", fn,
                     strchr("AEIOU", l->ops->kind[0]) || strcmp(l->ops->kind, "LSTM") == 0
                         ? "an" : "a", l->ops->kind, what);
}

bgm_status bgm__layer_set(bgm_layer *l, const char *fn, const char *what, size_t offset,
                          const void *value)
{
    unsigned char saved[BGM_MAX_DIMS * sizeof(int64_t)];
    const bgm__field *f;
    size_t size;
    bgm_status s = bgm__layer_unbuilt(l, fn);
    if (s != BGM_OK)
        return s;
    f = bgm__layer_field(l->ops, offset, what);
    if (!f)
        return bgm__layer_lacks(l, fn, what);
    size = field_size(l, f);
    memcpy(saved, (char *)l + offset, size);
    memcpy((char *)l + offset, value, size);
    s = bgm__field_check(l, f, fn);
    if (s == BGM_OK && l->ops->check)
        s = l->ops->check(l, fn);
    if (s != BGM_OK)
        memcpy((char *)l + offset, saved, size);
    return s;
}

bgm_layer *bgm__layer_checked(bgm_layer *l)
{
    if (l && bgm__layer_check_config(l, l->ops->ctor) != BGM_OK) {
        bgm_layer_free(l);
        return NULL;
    }
    return l;
}

/* ---- the config as JSON ------------------------------------------------------ */

void bgm__append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(*used < size ? buf + *used : NULL, *used < size ? size - *used : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

#define append bgm__append

/* lines ('\n'-separated) as a JSON list of strings, escaped; NULL as null. */
static void lines_json(char *buf, size_t size, size_t *used, const char *lines)
{
    const char *p;
    if (!lines) {
        append(buf, size, used, "null");
        return;
    }
    append(buf, size, used, "[\"");
    for (p = lines; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '\n')
            append(buf, size, used, "\", \"");
        else if (c == '"' || c == '\\')
            append(buf, size, used, "\\%c", c);
        else if (c < 0x20)
            append(buf, size, used, "\\u%04x", c);
        else
            append(buf, size, used, "%c", c);
    }
    append(buf, size, used, "\"]");
}

/* The fields Keras spells otherwise in configs: the L2 factor is Keras'
 * kernel_regularizer, leaky_relu_alpha only shows with a leaky ReLU, and
 * ZeroPadding2D's four sizes are ((top, bottom), (left, right)). Returns 1
 * when it wrote (or deliberately skipped) f. */
static int keras_field(char *buf, size_t size, size_t *used, const bgm_layer *l,
                       const bgm__field *f, const char *sep)
{
    if (strcmp(f->key, "kernel_l2") == 0) {
        if (l->l2 > 0)
            append(buf, size, used, "%s\"kernel_regularizer\": {\"module\": "
                   "\"keras.regularizers\", \"class_name\": \"L2\", \"config\": "
                   "{\"l2\": %.9g}, \"registered_name\": null}", sep, (double)l->l2);
        else
            append(buf, size, used, "%s\"kernel_regularizer\": null", sep);
        return 1;
    }
    if (strcmp(f->key, "leaky_relu_alpha") == 0)
        return l->activation != BGM_ACT_LEAKY_RELU;
    if (f->type == BGM__FIELD_INTS && f->count == 4) {
        append(buf, size, used, "%s\"%s\": [[%lld, %lld], [%lld, %lld]]", sep, f->key,
               (long long)l->pad[0], (long long)l->pad[1], (long long)l->pad[2],
               (long long)l->pad[3]);
        return 1;
    }
    return 0;
}

/* {"class_name": "Dense", "config": {"name": ..., "trainable": ..., fields}
 * without the closing brace, so a model's config can add keys. Names, kinds
 * and enum names are [A-Za-z0-9_.-], so nothing needs escaping. */
void bgm__layer_config_json(char *buf, size_t size, size_t *used, const bgm_layer *l,
                            int wrapped)
{
    int i, k, first = 1;
    append(buf, size, used, "{\"class_name\": \"%s\", \"config\": {", l->ops->kind);
    if (!wrapped) {
        append(buf, size, used, "\"name\": \"%s\", \"trainable\": %s", l->name,
               l->trainable ? "true" : "false");
        first = 0;
    }
    for (i = 0; i < l->ops->nfields; i++) {
        const bgm__field *f = &l->ops->fields[i];
        const char *p = (const char *)l + f->offset;
        const char *sep = first ? "" : ", ";
        int64_t v[BGM_MAX_DIMS];
        float x;
        int e;
        bgm_layer *inner;
        size_t before = *used;
        if (keras_field(buf, size, used, l, f, sep)) {
            first = first && *used == before;
            continue;
        }
        first = 0;
        append(buf, size, used, "%s\"%s\": ", sep, f->key);
        switch (f->type) {
        case BGM__FIELD_INT:
            memcpy(v, p, sizeof *v);
            if (f->zero_null && v[0] == 0)
                append(buf, size, used, "null");
            else
                append(buf, size, used, "%lld", (long long)v[0]);
            break;
        case BGM__FIELD_FLOAT:
            memcpy(&x, p, sizeof x);
            append(buf, size, used, "%.9g", (double)x);
            break;
        case BGM__FIELD_BOOL:
            memcpy(&e, p, sizeof e);
            append(buf, size, used, "%s", e ? "true" : "false");
            break;
        case BGM__FIELD_ENUM:
            memcpy(&e, p, sizeof e);
            append(buf, size, used, "\"%s\"", bgm__enum_to_name(f->names, e));
            break;
        case BGM__FIELD_INTS:
            memcpy(v, p, (size_t)bgm__field_count(l, f) * sizeof *v);
            for (k = 0; k < bgm__field_count(l, f); k++)
                append(buf, size, used, "%s%lld", k ? ", " : "[", (long long)v[k]);
            append(buf, size, used, "]");
            break;
        case BGM__FIELD_LAYER:
            memcpy(&inner, p, sizeof inner);
            bgm__layer_config_json(buf, size, used, inner, 1);
            append(buf, size, used, "}");
            break;
        case BGM__FIELD_LINES: {
            const char *lines;
            memcpy(&lines, p, sizeof lines);
            lines_json(buf, size, used, lines);
            break;
        }
        }
    }
    for (i = 0; i < bgm__custom_num_entries(l); i++) {
        const bgm__config_entry *e = bgm__custom_entry(l, i);
        const char *c;
        append(buf, size, used, ", \"%s\": ", e->key);
        if (e->type == BGM__ENTRY_INT) {
            append(buf, size, used, "%lld", (long long)e->i);
        } else if (e->type == BGM__ENTRY_FLOAT) {
            /* the fewest digits that read back as the same double (0.1, not
             * 0.10000000000000001); a whole number keeps a point so JSON
             * readers see a float */
            char num[32];
            int digits = 15;
            do
                snprintf(num, sizeof num, "%.*g", digits, e->f);
            while (strtod(num, NULL) != e->f && ++digits < 17);
            if (digits == 17)
                snprintf(num, sizeof num, "%.17g", e->f);
            append(buf, size, used, "%s%s", num, strpbrk(num, ".en") ? "" : ".0");
        } else {
            append(buf, size, used, "\"");
            for (c = e->s; *c; c++) {
                unsigned char u = (unsigned char)*c;
                if (u == '"' || u == '\\')
                    append(buf, size, used, "\\%c", *c);
                else if (u < 0x20)
                    append(buf, size, used, "\\u%04x", u);
                else
                    append(buf, size, used, "%c", *c);
            }
            append(buf, size, used, "\"");
        }
    }
    append(buf, size, used, "}");
}

bgm_status bgm__string_out(char *buf, size_t size, size_t *needed, const void *obj,
                           const char *what, bgm__text_writer write, const char *fn)
{
    size_t used = 0;
    if (needed)
        *needed = 0;
    if (size > 0 && !buf)
        return bgm__fail(BGM_E_INVALID, "%s: buf is NULL with size %zu", fn, size);
    if (size > 0)
        buf[0] = '\0';
    if (!obj)
        return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL", fn, what);
    write(buf, size, &used, obj);
    if (needed)
        *needed = used + 1;
    if (size > 0 && used >= size)
        buf[size - 1] = '\0';
    return BGM_OK;
}

static void layer_config(char *buf, size_t size, size_t *used, const void *layer)
{
    bgm__layer_config_json(buf, size, used, layer, 0);
    append(buf, size, used, "}");
}

BGM_API bgm_status bgm_layer_config_string(char *buf, size_t size, size_t *needed,
                                           const bgm_layer *layer)
{
    return bgm__string_out(buf, size, needed, layer, "layer", layer_config,
                           "bgm_layer_config_string");
}
