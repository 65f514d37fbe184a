/*
 * bgm_model_load: a model rebuilt from a .bgm archive through the public
 * constructors and setters (so a file gets exactly the checks a program
 * gets), with its weights, compile state, optimizer state and generator.
 *
 * A file is untrusted input: every value is checked before it is used, and
 * every weight tensor is checked against the shape its layer's
 * configuration implies before the layer is added, so nothing is allocated
 * for a layer that the file does not back with data of its own.
 */
#include "model/model_file.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/schedule.h"

#define KEY_SIZE 96

typedef struct loader {
    const bgm_archive *a;
    const char *src;           /* the path, or "<memory>" */
    const char *fn;
} loader;

/* BGM_E_FORMAT with "fn: src: message". */
static bgm_status bad(const loader *ld, const char *fmt, ...) BGM__PRINTF(2, 3);

static bgm_status bad(const loader *ld, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bgm__fail(BGM_E_FORMAT, "%s: %s: %s", ld->fn, ld->src, msg);
}

/* A library call on file values failed: the file is inconsistent (except
 * when memory ran out). what says where ("layer 2 (Dense)"). */
static bgm_status wrap(const loader *ld, bgm_status s, const char *what)
{
    char msg[900];
    if (s == BGM_OK || s == BGM_E_NOMEM)
        return s;
    snprintf(msg, sizeof msg, "%s", bgm_last_error());
    return bad(ld, "%s: %s", what, msg);
}

static const char *type_name(bgm_meta_type t)
{
    switch (t) {
    case BGM_META_INT64: return "an int64";
    case BGM_META_FLOAT64: return "a float64";
    case BGM_META_STRING: return "a string";
    case BGM_META_INT64_ARRAY: return "an int64 array";
    case BGM_META_FLOAT64_ARRAY: return "a float64 array";
    default: return "nothing";
    }
}

/* Checks that key exists with type want. */
static bgm_status expect(const loader *ld, const char *key, bgm_meta_type want)
{
    bgm_meta_type t = bgm_archive_meta_type(ld->a, key);
    if (t == BGM_META_NONE)
        return bad(ld, "missing key '%s'", key);
    if (t != want)
        return bad(ld, "key '%s' holds %s, expected %s", key, type_name(t), type_name(want));
    return BGM_OK;
}

static bgm_status get_int(const loader *ld, const char *key, int64_t *v)
{
    bgm_status s = expect(ld, key, BGM_META_INT64);
    return s == BGM_OK ? bgm_archive_get_int64(v, ld->a, key) : s;
}

/* An int64 in [lo, hi]. */
static bgm_status get_range(const loader *ld, const char *key, int64_t lo, int64_t hi,
                            int64_t *v)
{
    bgm_status s = get_int(ld, key, v);
    if (s == BGM_OK && (*v < lo || *v > hi))
        return bad(ld, "key '%s' = %lld is outside [%lld, %lld]", key, (long long)*v,
                   (long long)lo, (long long)hi);
    return s;
}

/* A float64 as a float; values beyond float's range become infinities (a
 * plain conversion would be undefined), which every setter rejects. */
static bgm_status get_float(const loader *ld, const char *key, float *v)
{
    double d = 0.0;
    bgm_status s = expect(ld, key, BGM_META_FLOAT64);
    if (s == BGM_OK)
        s = bgm_archive_get_float64(&d, ld->a, key);
    if (s != BGM_OK)
        return s;
    if (isnan(d))
        *v = NAN;
    else if (d > FLT_MAX)
        *v = INFINITY;
    else if (d < -FLT_MAX)
        *v = -INFINITY;
    else
        *v = (float)d;
    return BGM_OK;
}

static bgm_status get_str(const loader *ld, const char *key, const char **v)
{
    bgm_status s = expect(ld, key, BGM_META_STRING);
    return s == BGM_OK ? bgm_archive_get_string(v, ld->a, key) : s;
}

/* A string naming a value of table. */
static bgm_status get_enum(const loader *ld, const char *key, const bgm__enum_name *table,
                           int *v)
{
    const char *name = NULL;
    bgm_status s = get_str(ld, key, &name);
    if (s == BGM_OK && !bgm__enum_from_name(table, name, v))
        return bad(ld, "key '%s' = '%.80s' is not a known value", key, name);
    return s;
}

/* Two int64 values, each in [1, INT32_MAX] (window sizes and strides). */
static bgm_status get_pair(const loader *ld, const char *key, int64_t *v)
{
    const int64_t *vals = NULL;
    int64_t n = 0;
    bgm_status s = expect(ld, key, BGM_META_INT64_ARRAY);
    if (s == BGM_OK)
        s = bgm_archive_get_int64_array(&vals, &n, ld->a, key);
    if (s != BGM_OK)
        return s;
    if (n != 2)
        return bad(ld, "key '%s' holds %lld values, expected 2", key, (long long)n);
    if (vals[0] < 1 || vals[0] > INT32_MAX || vals[1] < 1 || vals[1] > INT32_MAX)
        return bad(ld, "key '%s' = (%lld, %lld) is outside [1, %d]", key,
                   (long long)vals[0], (long long)vals[1], INT32_MAX);
    v[0] = vals[0];
    v[1] = vals[1];
    return BGM_OK;
}

/* ---- layers -------------------------------------------------------------- */

/* Every configuration field a file may give a layer. */
typedef struct layer_cfg {
    int64_t units, kernel[2], pool[2], strides[2], input_dim;
    int padding, activation, bias_init, kernel_init;
    int64_t use_bias, mask_zero, return_sequences, trainable;
    float alpha, l2, rate, momentum, epsilon, dropout, recurrent_dropout;
} layer_cfg;

static bgm_status read_fields(const loader *ld, const char *prefix, unsigned f,
                              layer_cfg *c)
{
    char k[KEY_SIZE];
    bgm_status s = BGM_OK;
#define KEY(field) (snprintf(k, sizeof k, "%s%s", prefix, field), k)
    if (f & BGM__CFG_UNITS)
        s = get_range(ld, KEY("units"), 1, INT32_MAX, &c->units);
    if (s == BGM_OK && (f & BGM__CFG_FILTERS))
        s = get_range(ld, KEY("filters"), 1, INT32_MAX, &c->units);
    if (s == BGM_OK && (f & BGM__CFG_KERNEL_SIZE))
        s = get_pair(ld, KEY("kernel_size"), c->kernel);
    if (s == BGM_OK && (f & BGM__CFG_POOL_SIZE))
        s = get_pair(ld, KEY("pool_size"), c->pool);
    if (s == BGM_OK && (f & BGM__CFG_STRIDES))
        s = get_pair(ld, KEY("strides"), c->strides);
    if (s == BGM_OK && (f & BGM__CFG_PADDING))
        s = get_enum(ld, KEY("padding"), bgm__padding_names, &c->padding);
    if (s == BGM_OK && (f & BGM__CFG_ACTIVATION))
        s = get_enum(ld, KEY("activation"), bgm__activation_names, &c->activation);
    if (s == BGM_OK && (f & BGM__CFG_ACTIVATION))
        s = get_float(ld, KEY("leaky_relu_alpha"), &c->alpha);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = get_int(ld, KEY("use_bias"), &c->use_bias);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = get_enum(ld, KEY("bias_initializer"), bgm__initializer_names, &c->bias_init);
    if (s == BGM_OK && (f & BGM__CFG_KERNEL_INIT))
        s = get_enum(ld, KEY("kernel_initializer"), bgm__initializer_names,
                     &c->kernel_init);
    if (s == BGM_OK && (f & BGM__CFG_L2))
        s = get_float(ld, KEY("kernel_l2"), &c->l2);
    if (s == BGM_OK && (f & BGM__CFG_RATE))
        s = get_float(ld, KEY("rate"), &c->rate);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = get_float(ld, KEY("momentum"), &c->momentum);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = get_float(ld, KEY("epsilon"), &c->epsilon);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = get_range(ld, KEY("input_dim"), 1, (int64_t)INT32_MAX + 1, &c->input_dim);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = get_range(ld, KEY("output_dim"), 1, INT32_MAX, &c->units);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = get_enum(ld, KEY("embeddings_initializer"), bgm__initializer_names,
                     &c->kernel_init);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = get_int(ld, KEY("mask_zero"), &c->mask_zero);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = get_int(ld, KEY("return_sequences"), &c->return_sequences);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = get_float(ld, KEY("dropout"), &c->dropout);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = get_float(ld, KEY("recurrent_dropout"), &c->recurrent_dropout);
#undef KEY
    return s;
}

/* The options after construction, in an order where none undoes another
 * (the pool size resets the strides). */
static bgm_status apply_fields(bgm_layer *l, unsigned f, const layer_cfg *c)
{
    bgm_status s = BGM_OK;
    if (f & BGM__CFG_KERNEL_SIZE)
        s = bgm_layer_set_kernel_size(l, c->kernel[0], c->kernel[1]);
    if (s == BGM_OK && (f & BGM__CFG_POOL_SIZE))
        s = bgm_layer_set_pool_size(l, c->pool[0], c->pool[1]);
    if (s == BGM_OK && (f & BGM__CFG_STRIDES))
        s = bgm_layer_set_strides(l, c->strides[0], c->strides[1]);
    if (s == BGM_OK && (f & BGM__CFG_PADDING))
        s = bgm_layer_set_padding(l, (bgm_padding)c->padding);
    if (s == BGM_OK && (f & BGM__CFG_ACTIVATION))
        s = bgm_layer_set_leaky_relu_alpha(l, c->alpha);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = bgm_layer_set_use_bias(l, c->use_bias != 0);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = bgm_layer_set_bias_initializer(l, (bgm_initializer)c->bias_init);
    if (s == BGM_OK && (f & (BGM__CFG_KERNEL_INIT | BGM__CFG_EMBEDDING)))
        s = bgm_layer_set_kernel_initializer(l, (bgm_initializer)c->kernel_init);
    if (s == BGM_OK && (f & BGM__CFG_L2))
        s = bgm_layer_set_kernel_l2(l, c->l2);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = bgm_layer_set_momentum(l, c->momentum);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = bgm_layer_set_epsilon(l, c->epsilon);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = bgm_layer_set_mask_zero(l, c->mask_zero != 0);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = bgm_layer_set_return_sequences(l, c->return_sequences != 0);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = bgm_layer_set_dropout(l, c->dropout);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = bgm_layer_set_recurrent_dropout(l, c->recurrent_dropout);
    return s;
}

/* The layer described under prefix, configured but not added; what names
 * it in messages. */
static bgm_status read_layer(const loader *ld, const char *prefix, const char *what,
                             int depth, bgm_layer **out)
{
    char key[KEY_SIZE];
    const bgm__layer_kind *kind;
    const char *kind_name = NULL;
    bgm_layer *l = NULL, *inner = NULL;
    layer_cfg c;
    bgm_status s;
    *out = NULL;
    memset(&c, 0, sizeof c);
    snprintf(key, sizeof key, "%skind", prefix);
    s = get_str(ld, key, &kind_name);
    if (s != BGM_OK)
        return s;
    kind = bgm__layer_kind_by_name(kind_name);
    if (!kind)
        return bad(ld, "%s: unknown layer kind '%.80s'", what, kind_name);
    s = read_fields(ld, prefix, kind->fields, &c);
    if (s != BGM_OK)
        return s;
    if (kind->fields & BGM__CFG_WRAPPED) {
        char inner_prefix[KEY_SIZE];
        if (depth > 0)
            return bad(ld, "%s: a %s layer inside another", what, kind_name);
        snprintf(inner_prefix, sizeof inner_prefix, "%slayer.", prefix);
        s = read_layer(ld, inner_prefix, what, depth + 1, &inner);
        if (s != BGM_OK)
            return s;
    }
    if (kind->ops == &bgm__dense_ops)
        l = bgm_layer_dense(c.units, (bgm_activation)c.activation);
    else if (kind->ops == &bgm__conv2d_ops)
        l = bgm_layer_conv2d(c.units, c.kernel[0], (bgm_activation)c.activation);
    else if (kind->ops == &bgm__max_pool2d_ops)
        l = bgm_layer_max_pool2d(c.pool[0]);
    else if (kind->ops == &bgm__avg_pool2d_ops)
        l = bgm_layer_avg_pool2d(c.pool[0]);
    else if (kind->ops == &bgm__global_avg_pool2d_ops)
        l = bgm_layer_global_avg_pool2d();
    else if (kind->ops == &bgm__flatten_ops)
        l = bgm_layer_flatten();
    else if (kind->ops == &bgm__dropout_ops)
        l = bgm_layer_dropout(c.rate);
    else if (kind->ops == &bgm__batch_norm_ops)
        l = bgm_layer_batch_norm();
    else if (kind->ops == &bgm__activation_ops)
        l = bgm_layer_activation((bgm_activation)c.activation);
    else if (kind->ops == &bgm__embedding_ops)
        l = bgm_layer_embedding(c.input_dim, c.units);
    else if (kind->ops == &bgm__lstm_ops)
        l = bgm_layer_lstm(c.units);
    else if (kind->ops == &bgm__gru_ops)
        l = bgm_layer_gru(c.units);
    else if (kind->ops == &bgm__bidirectional_ops)
        l = bgm_layer_bidirectional(inner); /* takes inner, even on error */
    else
        return bgm__fail(BGM_E_INTERNAL, "%s: %s: no constructor for kind %s", ld->fn,
                         ld->src, kind_name);
    if (!l) /* constructors say only that they failed; their message says why */
        return wrap(ld, strstr(bgm_last_error(), "out of memory") ? BGM_E_NOMEM
                                                                   : BGM_E_INVALID, what);
    s = apply_fields(l, kind->fields, &c);
    if (s != BGM_OK) {
        bgm_layer_free(l);
        return wrap(ld, s, what);
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
 * Builds l against the model's current output (as bgm_model_add will) and
 * checks that the file holds every weight the configuration implies, of
 * exactly that shape, before bgm_model_add allocates anything for it.
 */
static bgm_status check_layer(const loader *ld, const bgm_model *m, bgm_layer *l, int index,
                              const char *what)
{
    char a_str[BGM__SHAPE_STR_SIZE], b_str[BGM__SHAPE_STR_SIZE];
    char name[BGM__FILE_TENSOR_NAME_SIZE], weight[BGM__WEIGHT_NAME_SIZE];
    bgm__shape in = *bgm__model_out_shape(m), out;
    int64_t n;
    int k;
    bgm_status s;
    /* Conv2D multiplies its window by the channels and filters for fans. */
    if (l->ops == &bgm__conv2d_ops && in.ndim == 3) {
        int64_t dims[4];
        dims[0] = l->kh;
        dims[1] = l->kw;
        dims[2] = in.d[2];
        dims[3] = l->units;
        if (!shape_product(dims, 4, &n))
            return bad(ld, "%s: a %lldx%lld kernel over %lld channels into %lld filters "
                       "has more than 2^63 elements", what, (long long)l->kh,
                       (long long)l->kw, (long long)in.d[2], (long long)l->units);
    }
    if (index == 0)
        in.dtype = l->ops->takes_ids ? BGM_INT32 : BGM_FLOAT32;
    l->index = index;
    l->nweights = 0;
    memset(&out, 0, sizeof out);
    s = l->ops->build(l, &in, 1, &out);
    l->index = -1;
    if (s == BGM_OK && l->spec_oom)
        s = bgm__fail(BGM_E_NOMEM, "out of memory");
    if (s != BGM_OK) {
        l->nweights = 0;
        return wrap(ld, s, "configuration");
    }
    if (!shape_product(out.d, out.ndim, &n)) {
        l->nweights = 0;
        return bad(ld, "%s: output %s has more than 2^63 elements per sample", what,
                   bgm__shape_str(a_str, sizeof a_str, out.d, out.ndim));
    }
    for (k = 0; k < l->nweights; k++) {
        const bgm__weight_spec *sp = &l->specs[k];
        const bgm_tensor *t = NULL;
        snprintf(weight, sizeof weight, "%s/%s", l->name, sp->name);
        bgm__model_file_tensor_name(name, sizeof name, index, weight);
        if (bgm_archive_find_tensor(&t, ld->a, name) != BGM_OK) {
            l->nweights = 0;
            return bad(ld, "%s: missing weight tensor '%s'", what, name);
        }
        if (bgm_tensor_dtype(t) != BGM_FLOAT32 || bgm_tensor_ndim(t) != sp->ndim ||
            memcmp(bgm_tensor_shape(t), sp->shape, (size_t)sp->ndim * sizeof(int64_t)) != 0) {
            l->nweights = 0;
            return bad(ld, "%s: tensor '%s' is %s %s, but the layer's configuration needs "
                       "float32 %s", what, name,
                       bgm_tensor_dtype(t) == BGM_FLOAT32 ? "float32" : "int32",
                       bgm__shape_str(a_str, sizeof a_str, bgm_tensor_shape(t),
                                      bgm_tensor_ndim(t)),
                       bgm__shape_str(b_str, sizeof b_str, sp->shape, sp->ndim));
        }
    }
    l->nweights = 0;
    return BGM_OK;
}

static bgm_status read_layers(const loader *ld, bgm_model *m)
{
    char prefix[32], key[KEY_SIZE], what[BGM__NAME_SIZE + 48];
    int64_t nlayers, trainable;
    const char *name;
    int i;
    bgm_status s = get_range(ld, "model.num_layers", 0,
                             bgm_archive_num_meta(ld->a) < INT32_MAX
                                 ? bgm_archive_num_meta(ld->a) : INT32_MAX,
                             &nlayers);
    for (i = 0; s == BGM_OK && i < nlayers; i++) {
        bgm_layer *l = NULL;
        snprintf(prefix, sizeof prefix, "layers.%d.", i);
        snprintf(what, sizeof what, "layer %d", i);
        s = read_layer(ld, prefix, what, 0, &l);
        if (s != BGM_OK)
            break;
        snprintf(what, sizeof what, "layer %d (%s)", i, l->ops->kind);
        snprintf(key, sizeof key, "%sname", prefix);
        s = get_str(ld, key, &name);
        if (s == BGM_OK)
            s = wrap(ld, bgm_layer_set_name(l, name), what);
        snprintf(key, sizeof key, "%strainable", prefix);
        if (s == BGM_OK)
            s = get_int(ld, key, &trainable);
        if (s == BGM_OK)
            s = wrap(ld, bgm_layer_set_trainable(l, trainable != 0), what);
        if (s == BGM_OK)
            s = check_layer(ld, m, l, i, what);
        if (s != BGM_OK) {
            bgm_layer_free(l);
            break;
        }
        s = wrap(ld, bgm_model_add(m, l), what);
    }
    return s;
}

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
            bgm__model_file_tensor_name(name, sizeof name, m->weights[w].layer,
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
        bgm__model_file_tensor_name(name, sizeof name, m->weights[w].layer,
                                    m->weights[w].name);
        s = wrap(ld, bgm_archive_copy_tensor(m->weights[w].view, ld->a, name), "weights");
    }
    return s;
}

/* ---- compile state --------------------------------------------------------- */

static bgm_status read_schedule(const loader *ld, bgm_optimizer *opt)
{
    const char *p = "optimizer.schedule.";
    char k[KEY_SIZE];
    bgm_lr_schedule *sch = NULL;
    int kind = 0;
    int64_t steps = 0, staircase = 0, warmup = 0;
    float lr = 0.0f, rate = 0.0f, warmup_lr = 0.0f;
    bgm_status s;
#define KEY(field) (snprintf(k, sizeof k, "%s%s", p, field), k)
    if (bgm_archive_meta_type(ld->a, KEY("kind")) == BGM_META_NONE)
        return BGM_OK;
    s = get_enum(ld, KEY("kind"), bgm__schedule_names, &kind);
    if (s == BGM_OK)
        s = get_float(ld, KEY("learning_rate"), &lr);
    if (s == BGM_OK)
        s = get_int(ld, KEY("steps"), &steps);
    if (s == BGM_OK)
        s = get_float(ld, KEY("rate"), &rate);
    if (s == BGM_OK)
        s = get_int(ld, KEY("staircase"), &staircase);
    if (s == BGM_OK)
        s = get_int(ld, KEY("warmup_steps"), &warmup);
    if (s == BGM_OK)
        s = get_float(ld, KEY("warmup_learning_rate"), &warmup_lr);
#undef KEY
    if (s != BGM_OK)
        return s;
    switch (kind) {
    case BGM__SCHED_CONSTANT:
        s = bgm_lr_schedule_constant(&sch, lr);
        break;
    case BGM__SCHED_STEP:
        s = bgm_lr_schedule_step_decay(&sch, lr, steps, rate);
        break;
    case BGM__SCHED_EXPONENTIAL:
        s = bgm_lr_schedule_exponential_decay(&sch, lr, steps, rate, staircase != 0);
        break;
    default:
        s = bgm_lr_schedule_cosine_decay(&sch, lr, steps, rate, warmup, warmup_lr);
        break;
    }
    if (s == BGM_OK)
        s = bgm_optimizer_set_schedule(opt, sch);
    bgm_lr_schedule_free(sch);
    return wrap(ld, s, "the optimizer's schedule");
}

/* A new optimizer from the file's hyperparameters (no state yet). */
static bgm_status read_optimizer(const loader *ld, bgm_optimizer **out)
{
    bgm_optimizer *opt = NULL;
    int kind = 0;
    int64_t nesterov = 0;
    float lr = 0, momentum = 0, beta1 = 0, beta2 = 0, rho = 0, eps = 0, wd = 0;
    float clipnorm = 0, global_clipnorm = 0, clipvalue = 0;
    bgm_status s = get_enum(ld, "optimizer.kind", bgm__optimizer_names, &kind);
    int sgd = kind == BGM_OPTIMIZER_SGD, rms = kind == BGM_OPTIMIZER_RMSPROP;
    int adam = kind == BGM_OPTIMIZER_ADAM || kind == BGM_OPTIMIZER_ADAMW;
    *out = NULL;
    if (s == BGM_OK)
        s = get_float(ld, "optimizer.learning_rate", &lr);
    if (s == BGM_OK && (sgd || rms))
        s = get_float(ld, "optimizer.momentum", &momentum);
    if (s == BGM_OK && sgd)
        s = get_int(ld, "optimizer.nesterov", &nesterov);
    if (s == BGM_OK && adam)
        s = get_float(ld, "optimizer.beta_1", &beta1);
    if (s == BGM_OK && adam)
        s = get_float(ld, "optimizer.beta_2", &beta2);
    if (s == BGM_OK && rms)
        s = get_float(ld, "optimizer.rho", &rho);
    if (s == BGM_OK && !sgd)
        s = get_float(ld, "optimizer.epsilon", &eps);
    if (s == BGM_OK && kind == BGM_OPTIMIZER_ADAMW)
        s = get_float(ld, "optimizer.weight_decay", &wd);
    if (s == BGM_OK)
        s = get_float(ld, "optimizer.clipnorm", &clipnorm);
    if (s == BGM_OK)
        s = get_float(ld, "optimizer.global_clipnorm", &global_clipnorm);
    if (s == BGM_OK)
        s = get_float(ld, "optimizer.clipvalue", &clipvalue);
    if (s != BGM_OK)
        return s;
    switch (kind) {
    case BGM_OPTIMIZER_SGD:
        s = bgm_optimizer_sgd(&opt, lr, momentum, nesterov != 0);
        break;
    case BGM_OPTIMIZER_ADAM:
        s = bgm_optimizer_adam(&opt, lr, beta1, beta2, eps);
        break;
    case BGM_OPTIMIZER_ADAMW:
        s = bgm_optimizer_adamw(&opt, lr, beta1, beta2, eps, wd);
        break;
    default:
        s = bgm_optimizer_rmsprop(&opt, lr, rho, momentum, eps);
        break;
    }
    if (s == BGM_OK)
        s = bgm_optimizer_set_clipnorm(opt, clipnorm);
    if (s == BGM_OK)
        s = bgm_optimizer_set_global_clipnorm(opt, global_clipnorm);
    if (s == BGM_OK)
        s = bgm_optimizer_set_clipvalue(opt, clipvalue);
    s = wrap(ld, s, "the optimizer");
    if (s == BGM_OK)
        s = read_schedule(ld, opt);
    if (s != BGM_OK) {
        bgm_optimizer_free(opt);
        return s;
    }
    *out = opt;
    return BGM_OK;
}

static bgm_status read_metrics(const loader *ld, bgm_model *m)
{
    char k[KEY_SIZE], prefix[48], what[64];
    int64_t n, j, v = 0;
    bgm_status s = get_range(ld, "compile.num_metrics", 0, 64, &n);
    for (j = 0; s == BGM_OK && j < n; j++) {
        bgm_metric_options o;
        int kind = 0, avg = 0;
        float threshold = 0.0f;
        double zero = 0.0;
        bgm_metric_options_init(&o, sizeof o);
        snprintf(prefix, sizeof prefix, "compile.metrics.%lld.", (long long)j);
        snprintf(what, sizeof what, "metric %lld", (long long)j);
#define KEY(field) (snprintf(k, sizeof k, "%s%s", prefix, field), k)
        s = get_enum(ld, KEY("kind"), bgm__metric_kind_names, &kind);
        if (s == BGM_OK)
            s = get_range(ld, KEY("num_classes"), INT_MIN, INT_MAX, &v);
        o.num_classes = (int)v;
        if (s == BGM_OK)
            s = get_range(ld, KEY("k"), INT_MIN, INT_MAX, &v);
        o.k = (int)v;
        if (s == BGM_OK)
            s = get_enum(ld, KEY("average"), bgm__average_names, &avg);
        o.average = (bgm_average)avg;
        if (s == BGM_OK)
            s = get_range(ld, KEY("pos_label"), INT_MIN, INT_MAX, &v);
        o.pos_label = (int)v;
        if (s == BGM_OK)
            s = get_float(ld, KEY("threshold"), &threshold);
        o.threshold = threshold;
        if (s == BGM_OK)
            s = expect(ld, KEY("zero_division"), BGM_META_FLOAT64);
        if (s == BGM_OK)
            s = bgm_archive_get_float64(&zero, ld->a, k);
        o.zero_division = zero;
#undef KEY
        if (s == BGM_OK)
            s = wrap(ld, bgm_model_add_metric(m, (bgm_metric_kind)kind, &o), what);
    }
    return s;
}

/* The optimizer's slots and step count, once it is the model's. */
static bgm_status read_optimizer_state(const loader *ld, bgm_model *m)
{
    char a_str[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *slots = NULL;
    int64_t built, step, size;
    int has_slots = bgm_archive_find_tensor(&slots, ld->a, BGM__SLOTS_TENSOR) == BGM_OK;
    bgm_status s = get_range(ld, "optimizer.built", 0, 1, &built);
    if (s == BGM_OK)
        s = get_range(ld, "optimizer.iterations", 0, INT64_MAX, &step);
    if (s != BGM_OK)
        return s;
    if (!built) {
        if (step != 0 || has_slots)
            return bad(ld, "the optimizer has %s but was never built",
                       has_slots ? "slots" : "taken steps");
        return BGM_OK;
    }
    if (m->ntrainable == 0)
        return bad(ld, "the optimizer was built, but the model has no trainable weights");
    s = wrap(ld, bgm_optimizer_build(m->optimizer, m->trainable, m->ntrainable),
             "the optimizer");
    if (s != BGM_OK)
        return s;
    size = bgm_optimizer_state_size(m->optimizer);
    if (size == 0) {
        float none = 0.0f;
        if (has_slots)
            return bad(ld, "tensor '%s' is present, but this optimizer keeps no slots",
                       BGM__SLOTS_TENSOR);
        return wrap(ld, bgm_optimizer_set_state(m->optimizer, &none, 0, step),
                    "the optimizer");
    }
    if (!has_slots)
        return bad(ld, "missing tensor '%s' (%lld floats) of the built optimizer",
                   BGM__SLOTS_TENSOR, (long long)size);
    if (bgm_tensor_dtype(slots) != BGM_FLOAT32 || bgm_tensor_ndim(slots) != 1 ||
        bgm_tensor_dim(slots, 0) != size)
        return bad(ld, "tensor '%s' has shape %s, the optimizer's state is float32 (%lld)",
                   BGM__SLOTS_TENSOR,
                   bgm__shape_str(a_str, sizeof a_str, bgm_tensor_shape(slots),
                                  bgm_tensor_ndim(slots)),
                   (long long)size);
    return wrap(ld, bgm_optimizer_set_state(m->optimizer, bgm_tensor_data(slots), size,
                                            step),
                "the optimizer");
}

static bgm_status read_compile(const loader *ld, bgm_model *m)
{
    const bgm_tensor *slots = NULL;
    bgm_optimizer *opt = NULL;
    int loss = 0;
    int64_t from_logits;
    bgm_status s;
    if (bgm_archive_meta_type(ld->a, "compile.loss") == BGM_META_NONE) {
        if (bgm_archive_find_tensor(&slots, ld->a, BGM__SLOTS_TENSOR) == BGM_OK)
            return bad(ld, "tensor '%s' is present, but the model is not compiled",
                       BGM__SLOTS_TENSOR);
        return BGM_OK;
    }
    s = get_enum(ld, "compile.loss", bgm__loss_names, &loss);
    if (s == BGM_OK)
        s = get_int(ld, "compile.from_logits", &from_logits);
    if (s == BGM_OK)
        s = read_optimizer(ld, &opt);
    if (s == BGM_OK) /* compile takes opt in every case */
        s = wrap(ld, bgm_model_compile(m, opt, (bgm_loss_kind)loss, from_logits != 0, NULL, 0),
                 "compile");
    if (s == BGM_OK)
        s = read_metrics(ld, m);
    if (s == BGM_OK)
        s = read_optimizer_state(ld, m);
    return s;
}

/* ---- the model ------------------------------------------------------------- */

static bgm_status read_header(const loader *ld)
{
    const char *type = NULL;
    int64_t version;
    bgm_status s;
    if (bgm_archive_meta_type(ld->a, "model.type") == BGM_META_NONE)
        return bad(ld, "not a model file: no 'model.type' key (an archive of tensors "
                   "reads with bgm_archive_load)");
    s = get_str(ld, "model.type", &type);
    if (s == BGM_OK && strcmp(type, BGM__MODEL_TYPE) != 0)
        return bad(ld, "model.type is '%.80s'; this library reads '%s' models", type,
                   BGM__MODEL_TYPE);
    if (s == BGM_OK)
        s = get_int(ld, "model.format_version", &version);
    if (s == BGM_OK && version > BGM__MODEL_FORMAT_VERSION)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s: model format version %lld is newer "
                         "than this library reads (up to %d); load it with a newer "
                         "libbigmodel", ld->fn, ld->src, (long long)version,
                         BGM__MODEL_FORMAT_VERSION);
    if (s == BGM_OK && version < 1)
        return bad(ld, "model format version %lld does not exist", (long long)version);
    return s;
}

static bgm_status create_model(const loader *ld, bgm_model **out)
{
    const int64_t *shape = NULL;
    int64_t ndim = 0, n, seed;
    bgm_status s = expect(ld, "model.input_shape", BGM_META_INT64_ARRAY);
    if (s == BGM_OK)
        s = bgm_archive_get_int64_array(&shape, &ndim, ld->a, "model.input_shape");
    if (s == BGM_OK && (ndim < 1 || ndim >= BGM_MAX_DIMS))
        return bad(ld, "model.input_shape has %lld dimensions, expected 1 to %d",
                   (long long)ndim, BGM_MAX_DIMS - 1);
    if (s == BGM_OK && !shape_product(shape, (int)ndim, &n))
        return bad(ld, "model.input_shape has more than 2^63 elements");
    if (s == BGM_OK)
        s = get_int(ld, "model.seed", &seed);
    if (s == BGM_OK)
        s = wrap(ld, bgm_model_create(out, shape, (int)ndim, (uint64_t)seed),
                 "model.input_shape");
    return s;
}

static bgm_status read_training_state(const loader *ld, bgm_model *m)
{
    const int64_t *v = NULL;
    int64_t n = 0, epochs;
    uint32_t spare;
    int i;
    bgm_status s = expect(ld, "model.rng_state", BGM_META_INT64_ARRAY);
    if (s == BGM_OK)
        s = bgm_archive_get_int64_array(&v, &n, ld->a, "model.rng_state");
    if (s != BGM_OK)
        return s;
    if (n != 6)
        return bad(ld, "model.rng_state holds %lld values, expected 6", (long long)n);
    if ((v[0] | v[1] | v[2] | v[3]) == 0)
        return bad(ld, "model.rng_state is all zeros, a state the generator never reaches");
    if (v[4] < 0 || v[4] > 1 || v[5] < 0 || v[5] > (int64_t)UINT32_MAX)
        return bad(ld, "model.rng_state has a bad spare normal (%lld, %lld)",
                   (long long)v[4], (long long)v[5]);
    s = get_range(ld, "model.epochs_completed", 0, INT_MAX, &epochs);
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

static bgm_status load_archive(bgm_model **out, const bgm_archive *a, const char *src,
                               const char *fn)
{
    loader ld;
    bgm_model *m = NULL;
    bgm_status s;
    ld.a = a;
    ld.src = src;
    ld.fn = fn;
    s = read_header(&ld);
    if (s == BGM_OK)
        s = create_model(&ld, &m);
    if (s == BGM_OK)
        s = read_layers(&ld, m);
    if (s == BGM_OK)
        s = check_tensor_names(&ld, m);
    if (s == BGM_OK)
        s = copy_weights(&ld, m);
    if (s == BGM_OK)
        s = read_compile(&ld, m);
    if (s == BGM_OK)
        s = read_training_state(&ld, m);
    if (s != BGM_OK) {
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
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
