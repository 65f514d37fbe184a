/*
 * Layer kinds registered at run time (bigmodel/custom_layer.h). Each kind
 * is a bgm__layer_ops table like the built-in ones, whose build and forward
 * call the kind's callbacks; the table sits first in the kind's record, so
 * the callbacks reach the record from l->ops. A layer of a custom kind keeps
 * a reference to its kind (which outlives unregistering while layers of it
 * exist), its config entries and the names of its weights in l->custom.
 *
 * The registry is process-wide behind one mutex: the single global state
 * besides the error slot and the thread count (docs/design.md).
 */
#include "layers/layer.h"

#include "bigmodel/custom_layer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct custom_kind {
    bgm__layer_ops ops;        /* first: l->ops points here */
    bgm_layer_kind_def def;
    char name[BGM__NAME_SIZE], prefix[BGM__NAME_SIZE];
    int refs;                  /* the registry's (while registered) + one per layer */
    struct custom_kind *next;
} custom_kind;

/* A weight name, kept as long as the layer (specs point at it). */
typedef struct weight_name {
    struct weight_name *next;
    char name[BGM__NAME_SIZE];
} weight_name;

struct bgm__custom {
    custom_kind *kind;
    bgm__config_entry *entries;
    int nentries, cap;
    weight_name *names;
    int building;              /* inside the kind's build callback */
    void *user;                /* bgm_layer_set_user_data */
};

#define MAX_STRING 4095

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static custom_kind *registry;  /* guarded by registry_lock */

static custom_kind *kind_of(const bgm_layer *l)
{
    return (custom_kind *)(void *)l->custom->kind;
}

/* Drops one reference; the last one frees the kind. Called with the lock held. */
static void kind_release_locked(custom_kind *k)
{
    if (--k->refs > 0)
        return;
    if (k->def.free_user_data)
        k->def.free_user_data(k->def.user_data);
    free(k);
}

/* ---- the trampolines ---------------------------------------------------------- */

static bgm_status custom_build(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    const int64_t **shapes = malloc((size_t)nin * sizeof *shapes);
    int *ndims = malloc((size_t)nin * sizeof *ndims), i;
    custom_kind *k = kind_of(l);
    bgm_status s = shapes && ndims ? BGM_OK : bgm__fail(BGM_E_NOMEM, "out of memory");
    for (i = 0; i < nin && s == BGM_OK; i++) {
        shapes[i] = in[i].d;
        ndims[i] = in[i].ndim;
        if (in[i].dtype != BGM_FLOAT32)
            s = bgm__layer_fail(l, BGM_E_DTYPE, "input %d is int32; a custom layer takes "
                                "float32 inputs", i);
    }
    memset(out->d, 0, sizeof out->d);
    out->ndim = 0;
    if (s == BGM_OK) {
        l->custom->building = 1;
        s = k->def.build(l, shapes, ndims, nin, out->d, &out->ndim, k->def.user_data);
        l->custom->building = 0;
    }
    free(shapes);
    free(ndims);
    if (s != BGM_OK)
        return s;
    if (out->ndim < 1 || out->ndim >= BGM_MAX_DIMS)
        return bgm__layer_fail(l, BGM_E_SHAPE, "build gave an output of %d dimensions, "
                               "expected 1 to %d (without the batch axis)", out->ndim,
                               BGM_MAX_DIMS - 1);
    for (i = 0; i < out->ndim; i++)
        if (out->d[i] < 1)
            return bgm__layer_fail(l, BGM_E_SHAPE, "build gave the output shape %s; every "
                                   "dimension must be at least 1",
                                   bgm__shape_str(got, sizeof got, out->d, out->ndim));
    out->dtype = BGM_FLOAT32;
    return BGM_OK;
}

static bgm_status custom_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                 bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                                 bgm_tensor **y)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE];
    int64_t expect[BGM_MAX_DIMS];
    custom_kind *k = kind_of(l);
    const bgm_tensor *r;
    bgm_status s;
    *y = NULL;
    s = k->def.forward(y, ctx->tape, l, w, l->nweights, x, nx, ctx->training,
                       k->def.user_data);
    if (s != BGM_OK)
        return s;
    r = *y;
    if (!r)
        return bgm__layer_fail(l, BGM_E_INTERNAL, "forward returned BGM_OK without an "
                               "output tensor");
    expect[0] = bgm_tensor_shape(x[0])[0];
    memcpy(expect + 1, l->out_shape, (size_t)l->out_ndim * sizeof *expect);
    if (bgm_tensor_ndim(r) != l->out_ndim + 1 ||
        memcmp(bgm_tensor_shape(r), expect, (size_t)(l->out_ndim + 1) * sizeof *expect) != 0)
        return bgm__layer_fail(l, BGM_E_SHAPE, "forward returned %s, expected %s (from build)",
                               bgm__shape_str(got, sizeof got, bgm_tensor_shape(r),
                                              bgm_tensor_ndim(r)),
                               bgm__shape_str(want, sizeof want, expect, l->out_ndim + 1));
    if (bgm_tensor_dtype(r) != BGM_FLOAT32)
        return bgm__layer_fail(l, BGM_E_DTYPE, "forward returned an int32 tensor, expected "
                               "float32");
    return BGM_OK;
}

/* ---- registering ---------------------------------------------------------------- */

BGM_API bgm_status bgm_layer_kind_init(bgm_layer_kind_def *kind, size_t size)
{
    static const char *fn = "bgm_layer_kind_init";
    BGM__CHECK_NULL(kind, fn);
    if (size < sizeof *kind)
        return bgm__fail(BGM_E_INVALID, "%s: size %zu is smaller than this library's "
                         "bgm_layer_kind_def (%zu)", fn, size, sizeof *kind);
    memset(kind, 0, sizeof *kind);
    kind->size = sizeof *kind;
    kind->min_inputs = kind->max_inputs = 1;
    return BGM_OK;
}

static bgm_status check_kind_name(const char *name, const char *fn)
{
    size_t i, n = strlen(name);
    if (n == 0 || n >= BGM__NAME_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: a kind name has 1 to %d bytes, '%s' has %zu",
                         fn, BGM__NAME_SIZE - 1, name, n);
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '>'))
            return bgm__fail(BGM_E_INVALID, "%s: character %zu of kind name '%s' is not one "
                             "of [A-Za-z0-9_.>-]", fn, i, name);
    }
    return BGM_OK;
}

/* Keras' automatic name: the class name in snake case ("ScaledResidual" to
 * "scaled_residual", "MLPBlock" to "mlp_block"), without a "package>" part. */
static void snake_case(char *out, size_t size, const char *name)
{
    const char *gt = strrchr(name, '>');
    size_t n = 0, i, len;
    if (gt)
        name = gt + 1;
    len = strlen(name);
    for (i = 0; i < len && n + 2 < size; i++) {
        char c = name[i], prev = i ? name[i - 1] : '\0', next = name[i + 1];
        int upper = c >= 'A' && c <= 'Z';
        int prev_lower = (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9');
        int prev_upper = prev >= 'A' && prev <= 'Z';
        if (upper && n > 0 && (prev_lower || (prev_upper && next >= 'a' && next <= 'z')))
            out[n++] = '_';
        if (upper)
            c = (char)(c - 'A' + 'a');
        else if (c == '.' || c == '-')
            c = '_';
        out[n++] = c;
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, size, "layer");
}

static custom_kind *find_locked(const char *name)
{
    custom_kind *k;
    for (k = registry; k; k = k->next)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

BGM_API bgm_status bgm_layer_kind_register(const bgm_layer_kind_def *kind)
{
    static const char *fn = "bgm_layer_kind_register";
    const bgm__layer_ops *builtin;
    custom_kind *k;
    bgm_status s;
    BGM__CHECK_NULL(kind, fn);
    if (kind->size < sizeof *kind)
        return bgm__fail(BGM_E_INVALID, "%s: kind->size is %zu, expected %zu (call "
                         "bgm_layer_kind_init first)", fn, kind->size, sizeof *kind);
    BGM__CHECK_NULL(kind->name, fn);
    s = check_kind_name(kind->name, fn);
    if (s != BGM_OK)
        return s;
    if (!kind->build || !kind->forward)
        return bgm__fail(BGM_E_INVALID, "%s: kind '%s' has no %s callback", fn, kind->name,
                         !kind->build ? "build" : "forward");
    if (kind->min_inputs < 1 || (kind->max_inputs != -1 && kind->max_inputs < kind->min_inputs))
        return bgm__fail(BGM_E_INVALID, "%s: kind '%s' takes %d to %d inputs; expected "
                         "min_inputs >= 1 and max_inputs >= min_inputs (or -1)", fn,
                         kind->name, kind->min_inputs, kind->max_inputs);
    if (kind->prefix && bgm__check_name(kind->prefix, fn) != BGM_OK)
        return BGM_E_INVALID;
    builtin = bgm__layer_kind_by_name(kind->name);
    if (builtin)
        return bgm__fail(BGM_E_STATE, "%s: '%s' is a built-in layer kind (%s); choose "
                         "another name", fn, kind->name, builtin->ctor);
    k = calloc(1, sizeof *k);
    if (!k)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    k->def = *kind;
    k->def.size = sizeof k->def;
    snprintf(k->name, sizeof k->name, "%s", kind->name);
    if (kind->prefix)
        snprintf(k->prefix, sizeof k->prefix, "%s", kind->prefix);
    else
        snake_case(k->prefix, sizeof k->prefix, kind->name);
    k->def.name = k->name;
    k->def.prefix = k->prefix;
    k->ops.kind = k->name;
    k->ops.prefix = k->prefix;
    k->ops.ctor = "bgm_layer_create";
    k->ops.build = custom_build;
    k->ops.forward = custom_forward;
    k->ops.decode = BGM__DECODE_NONE;
    k->ops.min_inputs = kind->min_inputs == 1 && kind->max_inputs == 1 ? 0 : kind->min_inputs;
    k->ops.max_inputs = kind->min_inputs == 1 && kind->max_inputs == 1 ? 0 : kind->max_inputs;
    k->refs = 1;
    pthread_mutex_lock(&registry_lock);
    if (find_locked(kind->name)) {
        pthread_mutex_unlock(&registry_lock);
        free(k);
        return bgm__fail(BGM_E_STATE, "%s: a layer kind named '%s' is already registered",
                         fn, kind->name);
    }
    k->next = registry;
    registry = k;
    pthread_mutex_unlock(&registry_lock);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_kind_unregister(const char *name)
{
    static const char *fn = "bgm_layer_kind_unregister";
    custom_kind **p;
    BGM__CHECK_NULL(name, fn);
    pthread_mutex_lock(&registry_lock);
    for (p = &registry; *p; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0) {
            custom_kind *k = *p;
            *p = k->next;
            kind_release_locked(k);
            pthread_mutex_unlock(&registry_lock);
            return BGM_OK;
        }
    pthread_mutex_unlock(&registry_lock);
    return bgm__fail(BGM_E_INVALID, "%s: no layer kind named '%.80s' is registered", fn, name);
}

BGM_API int bgm_layer_kind_registered(const char *name)
{
    int found;
    if (!name)
        return 0;
    pthread_mutex_lock(&registry_lock);
    found = find_locked(name) != NULL;
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* ---- layers ------------------------------------------------------------------- */

bgm_status bgm__custom_layer_new(bgm_layer **out, const char *kind, const char *fn)
{
    struct bgm__custom *c = calloc(1, sizeof *c);
    custom_kind *k;
    bgm_layer *l;
    *out = NULL;
    if (!c)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    pthread_mutex_lock(&registry_lock);
    k = find_locked(kind);
    if (k)
        k->refs++;
    pthread_mutex_unlock(&registry_lock);
    if (!k) {
        free(c);
        return bgm__fail(BGM_E_INVALID, "%s: no layer kind named '%.80s' is registered "
                         "(register it with bgm_layer_kind_register first)", fn, kind);
    }
    c->kind = k;
    l = bgm__layer_new(&k->ops, fn);
    if (!l) {
        pthread_mutex_lock(&registry_lock);
        kind_release_locked(k);
        pthread_mutex_unlock(&registry_lock);
        free(c);
        return BGM_E_NOMEM;
    }
    l->custom = c;
    *out = l;
    return BGM_OK;
}

void bgm__custom_free(struct bgm__custom *c)
{
    int i;
    if (!c)
        return;
    while (c->names) {
        weight_name *next = c->names->next;
        free(c->names);
        c->names = next;
    }
    if (c->user && c->kind->def.release)
        c->kind->def.release(c->user, c->kind->def.user_data);
    for (i = 0; i < c->nentries; i++)
        free(c->entries[i].s);
    free(c->entries);
    pthread_mutex_lock(&registry_lock);
    kind_release_locked(c->kind);
    pthread_mutex_unlock(&registry_lock);
    free(c);
}

BGM_API bgm_status bgm_layer_create(bgm_layer **out, const char *kind)
{
    static const char *fn = "bgm_layer_create";
    const bgm__layer_ops *builtin;
    custom_kind *k;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(kind, fn);
    builtin = bgm__layer_kind_by_name(kind);
    if (builtin)
        return bgm__fail(BGM_E_INVALID, "%s: '%s' is a built-in layer kind; make it with "
                         "%s", fn, kind, builtin->ctor);
    s = bgm__custom_layer_new(out, kind, fn);
    if (s != BGM_OK)
        return s;
    k = kind_of(*out);
    if (k->def.init) {
        s = k->def.init(*out, k->def.user_data);
        if (s != BGM_OK) {
            bgm_layer_free(*out);
            *out = NULL;
        }
    }
    return s;
}

/* BGM_E_INVALID unless layer is a custom layer (a NULL one included). */
static bgm_status need_custom(const bgm_layer *layer, const char *fn)
{
    BGM__CHECK_NULL(layer, fn);
    if (!layer->custom)
        return bgm__fail(BGM_E_INVALID, "%s: layer '%s' is a built-in %s layer, not one of "
                         "a kind registered with bgm_layer_kind_register", fn, layer->name,
                         layer->ops->kind);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_add_weight(bgm_layer *layer, const char *name,
                                        const int64_t *shape, int ndim,
                                        bgm_initializer init, int trainable)
{
    static const char *fn = "bgm_layer_add_weight";
    char got[BGM__SHAPE_STR_SIZE];
    int64_t fan_in = 1, fan_out = 1, field = 1;
    weight_name *wn;
    bgm_status s = need_custom(layer, fn);
    int i;
    if (s != BGM_OK)
        return s;
    if (!layer->custom->building)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (%s) declares weights in its kind's "
                         "build callback only", fn, layer->name, layer->ops->kind);
    BGM__CHECK_NULL(name, fn);
    s = bgm__check_name(name, fn);
    if (s != BGM_OK)
        return s;
    if (ndim < 0 || ndim >= BGM_MAX_DIMS || (ndim > 0 && !shape))
        return bgm__fail(BGM_E_INVALID, "%s: weight '%s' has %d dimensions, expected 0 to %d "
                         "(with a shape)", fn, name, ndim, BGM_MAX_DIMS - 1);
    for (i = 0; i < ndim; i++)
        if (shape[i] < 1)
            return bgm__fail(BGM_E_INVALID, "%s: weight '%s' of shape %s; every dimension "
                             "must be at least 1", fn, name,
                             bgm__shape_str(got, sizeof got, shape, ndim));
    if (!bgm__enum_to_name(bgm__initializer_names, (int)init))
        return bgm__fail(BGM_E_INVALID, "%s: weight '%s': unknown initializer %d", fn, name,
                         (int)init);
    if (trainable != 0 && trainable != 1)
        return bgm__fail(BGM_E_INVALID, "%s: trainable = %d, expected 0 or 1", fn, trainable);
    for (i = 0; i < layer->nweights; i++)
        if (strcmp(layer->specs[i].name, name) == 0)
            return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) already has a weight named "
                             "'%s'", fn, layer->name, layer->ops->kind, name);
    for (wn = layer->custom->names; wn && strcmp(wn->name, name) != 0; wn = wn->next)
        ;
    if (!wn) {
        wn = calloc(1, sizeof *wn);
        if (!wn)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        snprintf(wn->name, sizeof wn->name, "%s", name);
        wn->next = layer->custom->names;
        layer->custom->names = wn;
    }
    /* Keras' fans: a vector counts its length both ways, a kernel its last
     * two axes times the receptive field. */
    if (ndim == 1) {
        fan_in = fan_out = shape[0];
    } else if (ndim >= 2) {
        for (i = 0; i < ndim - 2; i++)
            field *= shape[i];
        fan_in = shape[ndim - 2] * field;
        fan_out = shape[ndim - 1] * field;
    }
    bgm__layer_add_spec(layer, wn->name, shape, ndim, trainable, init, fan_in, fan_out, 0);
    if (layer->spec_oom)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_kind_fail(const bgm_layer *layer, bgm_status status,
                                       const char *message)
{
    if (status >= 0)
        status = BGM_E_INTERNAL;
    if (!layer)
        return bgm__fail(status, "%s", message ? message : "(no message)");
    return bgm__layer_fail(layer, status, "%s", message ? message : "(no message)");
}

BGM_API bgm_status bgm_layer_set_user_data(bgm_layer *layer, void *data)
{
    bgm_status s = need_custom(layer, "bgm_layer_set_user_data");
    if (s == BGM_OK)
        layer->custom->user = data;
    return s;
}

BGM_API void *bgm_layer_user_data(const bgm_layer *layer)
{
    return layer && layer->custom ? layer->custom->user : NULL;
}

/* ---- config entries -------------------------------------------------------------- */

int bgm__custom_num_entries(const bgm_layer *l)
{
    return l->custom ? l->custom->nentries : 0;
}

const bgm__config_entry *bgm__custom_entry(const bgm_layer *l, int i)
{
    return &l->custom->entries[i];
}

/* The entry of key, or NULL. */
static bgm__config_entry *find_entry(const bgm_layer *l, const char *key)
{
    int i;
    for (i = 0; i < l->custom->nentries; i++)
        if (strcmp(l->custom->entries[i].key, key) == 0)
            return &l->custom->entries[i];
    return NULL;
}

bgm_status bgm__custom_set_entry(bgm_layer *l, const char *key, const bgm__config_entry *v,
                                 const char *fn)
{
    struct bgm__custom *c = l->custom;
    bgm__config_entry *e;
    char *copy = NULL;
    bgm_status s = bgm__check_name(key, fn);
    if (s != BGM_OK)
        return s;
    if (strcmp(key, "name") == 0 || strcmp(key, "trainable") == 0)
        return bgm__fail(BGM_E_INVALID, "%s: '%s' is not a config entry of its own (use "
                         "bgm_layer_set_%s)", fn, key, key);
    if (v->type == BGM__ENTRY_STRING) {
        size_t n = strlen(v->s);
        if (n > MAX_STRING)
            return bgm__fail(BGM_E_INVALID, "%s: the value of '%s' has %zu bytes, at most %d",
                             fn, key, n, MAX_STRING);
        copy = malloc(n + 1);
        if (!copy)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        memcpy(copy, v->s, n + 1);
    }
    e = find_entry(l, key);
    if (!e) {
        if (c->nentries == c->cap) {
            int cap = c->cap ? 2 * c->cap : 4;
            bgm__config_entry *grown = realloc(c->entries, (size_t)cap * sizeof *grown);
            if (!grown) {
                free(copy);
                return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            }
            c->entries = grown;
            c->cap = cap;
        }
        e = &c->entries[c->nentries++];
        memset(e, 0, sizeof *e);
        snprintf(e->key, sizeof e->key, "%s", key);
    }
    free(e->s);
    e->type = v->type;
    e->i = v->i;
    e->f = v->f;
    e->s = copy;
    return BGM_OK;
}

/* The checks of the public setters, then the entry. */
static bgm_status set_entry(bgm_layer *layer, const char *key, const bgm__config_entry *v,
                            const char *fn)
{
    bgm_status s = need_custom(layer, fn);
    if (s == BGM_OK)
        s = bgm__layer_unbuilt(layer, fn);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(key, fn);
    if (v->type == BGM__ENTRY_STRING)
        BGM__CHECK_NULL(v->s, fn);
    return bgm__custom_set_entry(layer, key, v, fn);
}

BGM_API bgm_status bgm_layer_set_config_int(bgm_layer *layer, const char *key, int64_t value)
{
    bgm__config_entry v = {.type = BGM__ENTRY_INT, .i = value};
    return set_entry(layer, key, &v, "bgm_layer_set_config_int");
}

BGM_API bgm_status bgm_layer_set_config_float(bgm_layer *layer, const char *key, double value)
{
    bgm__config_entry v = {.type = BGM__ENTRY_FLOAT, .f = value};
    if (!isfinite(value))
        return bgm__fail(BGM_E_INVALID, "bgm_layer_set_config_float: '%s' = %g, expected a "
                         "finite value", key ? key : "(null)", value);
    return set_entry(layer, key, &v, "bgm_layer_set_config_float");
}

BGM_API bgm_status bgm_layer_set_config_string(bgm_layer *layer, const char *key,
                                               const char *value)
{
    bgm__config_entry v = {.type = BGM__ENTRY_STRING, .s = (char *)value};
    return set_entry(layer, key, &v, "bgm_layer_set_config_string");
}

/* The entry of key of the given type, for the getters (out: their result). */
static bgm_status get_entry(const bgm__config_entry **e, const void *out,
                            const bgm_layer *layer, const char *key, int type, const char *fn)
{
    static const char *const types[] = {"an int", "a float", "a string"};
    bgm_status s = need_custom(layer, fn);
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(out, fn);
    BGM__CHECK_NULL(key, fn);
    *e = find_entry(layer, key);
    if (!*e)
        return bgm__fail(BGM_E_INVALID, "%s: layer '%s' (%s) has no config entry '%.80s'", fn,
                         layer->name, layer->ops->kind, key);
    if ((*e)->type != type)
        return bgm__fail(BGM_E_DTYPE, "%s: config entry '%s' of layer '%s' is %s, not %s", fn,
                         key, layer->name, types[(*e)->type], types[type]);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_get_config_int(int64_t *out, const bgm_layer *layer,
                                            const char *key)
{
    const bgm__config_entry *e;
    bgm_status s = get_entry(&e, out, layer, key, BGM__ENTRY_INT, "bgm_layer_get_config_int");
    if (s == BGM_OK)
        *out = e->i;
    return s;
}

BGM_API bgm_status bgm_layer_get_config_float(double *out, const bgm_layer *layer,
                                              const char *key)
{
    const bgm__config_entry *e;
    bgm_status s = get_entry(&e, out, layer, key, BGM__ENTRY_FLOAT,
                             "bgm_layer_get_config_float");
    if (s == BGM_OK)
        *out = e->f;
    return s;
}

BGM_API bgm_status bgm_layer_get_config_string(const char **out, const bgm_layer *layer,
                                               const char *key)
{
    const bgm__config_entry *e;
    bgm_status s = get_entry(&e, out, layer, key, BGM__ENTRY_STRING,
                             "bgm_layer_get_config_string");
    if (s == BGM_OK)
        *out = e->s;
    return s;
}
