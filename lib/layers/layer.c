/*
 * Layer configurations: allocation, option setters, accessors, and the
 * activation functions every layer kind shares.
 */
#include "layers/layer.h"

#include "kernels/im2col.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bgm_layer *bgm__layer_new(const bgm__layer_ops *ops, const char *fn)
{
    bgm_layer *l = calloc(1, sizeof *l);
    if (!l) {
        bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    l->ops = ops;
    l->index = -1;
    l->units = 0;
    l->kh = l->kw = 1;
    l->sh = l->sw = 1;
    l->padding = BGM_PADDING_VALID;
    l->activation = BGM_ACT_LINEAR;
    l->leaky_alpha = 0.2f;
    l->use_bias = 1;
    l->kernel_init = BGM_INIT_GLOROT_UNIFORM;
    l->bias_init = BGM_INIT_ZEROS;
    l->momentum = 0.99f;
    l->epsilon = 1e-3f;
    l->trainable = 1;
    return l;
}

bgm_status bgm__layer_fail(const bgm_layer *l, bgm_status status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (l->index >= 0)
        return bgm__fail(status, "layer %d (%s): %s", l->index, l->ops->kind, msg);
    return bgm__fail(status, "layer '%s' (%s): %s", l->name, l->ops->kind, msg);
}

char *bgm__batch_shape_str(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t used;
    int i;
    if (size == 0)
        return buf;
    used = (size_t)snprintf(buf, size, "(None");
    for (i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, ", %lld", (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, ")");
    return buf;
}

void bgm__same_shape(const bgm__shape *in, bgm__shape *out)
{
    *out = *in;
    out->dtype = BGM_FLOAT32;
}

void bgm__layer_add_spec(bgm_layer *l, const char *name, const int64_t *shape, int ndim,
                         int trainable, bgm_initializer init, int64_t fan_in,
                         int64_t fan_out, int l2)
{
    bgm__weight_spec *s;
    if (l->nweights == l->spec_cap) {
        int cap = l->spec_cap ? 2 * l->spec_cap : 4;
        bgm__weight_spec *grown = realloc(l->specs, (size_t)cap * sizeof *grown);
        if (!grown) {
            l->spec_oom = 1;
            return;
        }
        l->specs = grown;
        l->spec_cap = cap;
    }
    s = &l->specs[l->nweights++];
    memset(s, 0, sizeof *s);
    s->name = name;
    memcpy(s->shape, shape, (size_t)ndim * sizeof *shape);
    s->ndim = ndim;
    s->trainable = trainable;
    s->init = init;
    s->fan_in = fan_in;
    s->fan_out = fan_out;
    s->l2 = l2;
}

int bgm__activation_valid(bgm_activation act)
{
    return act >= BGM_ACT_LINEAR && act <= BGM_ACT_GELU;
}

bgm_status bgm__apply_activation(bgm_tape *tape, bgm_activation act, float alpha,
                                 const bgm_tensor *x, bgm_tensor **y)
{
    switch (act) {
    case BGM_ACT_LINEAR:
        *y = (bgm_tensor *)x;
        return BGM_OK;
    case BGM_ACT_RELU: return bgm_op_relu(y, tape, x);
    case BGM_ACT_SIGMOID: return bgm_op_sigmoid(y, tape, x);
    case BGM_ACT_TANH: return bgm_op_tanh(y, tape, x);
    case BGM_ACT_SOFTMAX: return bgm_op_softmax(y, tape, x, -1);
    case BGM_ACT_LEAKY_RELU: return bgm_op_leaky_relu(y, tape, x, alpha);
    case BGM_ACT_GELU: return bgm_op_gelu(y, tape, x);
    }
    return bgm__fail(BGM_E_INTERNAL, "unknown activation %d", (int)act);
}

/* ---- constructors ------------------------------------------------------- */

static bgm_layer *with_activation(const bgm__layer_ops *ops, const char *fn,
                                  bgm_activation act)
{
    bgm_layer *l;
    if (!bgm__activation_valid(act)) {
        bgm__fail(BGM_E_INVALID, "%s: unknown activation %d", fn, (int)act);
        return NULL;
    }
    l = bgm__layer_new(ops, fn);
    if (l)
        l->activation = act;
    return l;
}

BGM_API bgm_layer *bgm_layer_dense(int64_t units, bgm_activation activation)
{
    bgm_layer *l;
    if (units < 1) {
        bgm__fail(BGM_E_INVALID, "bgm_layer_dense: units = %lld, expected at least 1",
                  (long long)units);
        return NULL;
    }
    l = with_activation(&bgm__dense_ops, "bgm_layer_dense", activation);
    if (l)
        l->units = units;
    return l;
}

BGM_API bgm_layer *bgm_layer_conv2d(int64_t filters, int64_t kernel_size,
                                    bgm_activation activation)
{
    bgm_layer *l;
    if (filters < 1 || kernel_size < 1) {
        bgm__fail(BGM_E_INVALID, "bgm_layer_conv2d: filters = %lld and kernel_size = %lld "
                  "must both be at least 1", (long long)filters, (long long)kernel_size);
        return NULL;
    }
    l = with_activation(&bgm__conv2d_ops, "bgm_layer_conv2d", activation);
    if (l) {
        l->units = filters;
        l->kh = l->kw = kernel_size;
    }
    return l;
}

static bgm_layer *pool(const bgm__layer_ops *ops, const char *fn, int64_t size)
{
    bgm_layer *l;
    if (size < 1) {
        bgm__fail(BGM_E_INVALID, "%s: pool = %lld, expected at least 1", fn,
                  (long long)size);
        return NULL;
    }
    l = bgm__layer_new(ops, fn);
    if (l) {
        l->kh = l->kw = size;
        l->sh = l->sw = size;
    }
    return l;
}

BGM_API bgm_layer *bgm_layer_max_pool2d(int64_t pool_size)
{
    return pool(&bgm__max_pool2d_ops, "bgm_layer_max_pool2d", pool_size);
}

BGM_API bgm_layer *bgm_layer_avg_pool2d(int64_t pool_size)
{
    return pool(&bgm__avg_pool2d_ops, "bgm_layer_avg_pool2d", pool_size);
}

BGM_API bgm_layer *bgm_layer_global_avg_pool2d(void)
{
    return bgm__layer_new(&bgm__global_avg_pool2d_ops, "bgm_layer_global_avg_pool2d");
}

BGM_API bgm_layer *bgm_layer_flatten(void)
{
    return bgm__layer_new(&bgm__flatten_ops, "bgm_layer_flatten");
}

BGM_API bgm_layer *bgm_layer_dropout(float rate)
{
    bgm_layer *l;
    if (!(rate >= 0.0f && rate < 1.0f)) {
        bgm__fail(BGM_E_INVALID, "bgm_layer_dropout: rate = %g, expected a value in [0, 1)",
                  (double)rate);
        return NULL;
    }
    l = bgm__layer_new(&bgm__dropout_ops, "bgm_layer_dropout");
    if (l)
        l->rate = rate;
    return l;
}

BGM_API bgm_layer *bgm_layer_batch_norm(void)
{
    return bgm__layer_new(&bgm__batch_norm_ops, "bgm_layer_batch_norm");
}

BGM_API bgm_layer *bgm_layer_activation(bgm_activation activation)
{
    return with_activation(&bgm__activation_ops, "bgm_layer_activation", activation);
}

BGM_API void bgm_layer_free(bgm_layer *layer)
{
    if (!layer)
        return;
    bgm_layer_free(layer->inner);
    free(layer->specs);
    free(layer->init_table);
    free(layer->init_known);
    free(layer);
}

bgm_status bgm__pass_mask(const bgm_layer *l, const bgm_tensor *x, const bgm_tensor *mask,
                          const bgm_tensor **out, bgm_tensor **made)
{
    *out = mask;
    *made = NULL;
    return BGM_OK;
}

bgm_status bgm__window_layer_build(bgm_layer *l, const bgm__shape *in, const char *kind,
                                   int64_t channels, bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    int64_t pad, oh, ow;
    int same = l->padding == BGM_PADDING_SAME;
    if (in->ndim != 3)
        return bgm__layer_fail(l, BGM_E_SHAPE, "expected input of 3 dimensions (height, "
                               "width, channels), got %s",
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    oh = bgm__window_out(in->d[0], l->kh, l->sh, same, &pad);
    ow = bgm__window_out(in->d[1], l->kw, l->sw, same, &pad);
    if (oh < 1 || ow < 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "%s %lldx%lld is larger than the input %s "
                               "with VALID padding", kind, (long long)l->kh,
                               (long long)l->kw,
                               bgm__shape_str(got, sizeof got, in->d, in->ndim));
    out->d[0] = oh;
    out->d[1] = ow;
    out->d[2] = channels;
    out->ndim = 3;
    out->dtype = BGM_FLOAT32;
    return BGM_OK;
}

/* ---- setters ------------------------------------------------------------ */

bgm_status bgm__layer_built_fail(const bgm_layer *l, const char *fn)
{
    if (l->model || l->index >= 0)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' belongs to a model; set options "
                         "before bgm_model_add", fn, l->name);
    return bgm__fail(BGM_E_STATE, "%s: layer '%s' has been called on a node, which built "
                     "it; set options before calling it", fn, l->name);
}

/* Common checks: a NULL layer keeps the constructor's message; a layer in
 * a model (or wrapped by Bidirectional) is frozen; the option must belong
 * to the kind (nkinds < 0: any kind). */
bgm_status bgm__layer_settable(const bgm_layer *l, const char *fn, const char *option,
                               const bgm__layer_ops *const *kinds, int nkinds)
{
    int i;
    if (!l)
        return BGM_E_INVALID;
    if (l->graph)
        return bgm__layer_built_fail(l, fn);
    if (l->wrapped)
        return bgm__fail(BGM_E_STATE, "%s: the %s layer is wrapped by a Bidirectional "
                         "layer; set its options before wrapping it", fn, l->ops->kind);
    if (nkinds < 0)
        return BGM_OK;
    for (i = 0; i < nkinds; i++)
        if (l->ops == kinds[i])
            return BGM_OK;
    return bgm__fail(BGM_E_UNSUPPORTED, "%s: %s %s layer has no %s", fn,
                     strchr("AEIOU", l->ops->kind[0]) || strcmp(l->ops->kind, "LSTM") == 0
                         ? "an" : "a", l->ops->kind, option);
}

static const bgm__layer_ops *const conv_kinds[] = {&bgm__conv2d_ops};
static const bgm__layer_ops *const pool_kinds[] = {&bgm__max_pool2d_ops,
                                                   &bgm__avg_pool2d_ops};
static const bgm__layer_ops *const window_kinds[] = {&bgm__conv2d_ops, &bgm__max_pool2d_ops,
                                                     &bgm__avg_pool2d_ops};
static const bgm__layer_ops *const weighted_kinds[] = {&bgm__dense_ops, &bgm__conv2d_ops,
                                                       &bgm__lstm_ops, &bgm__gru_ops};
static const bgm__layer_ops *const dense_conv_kinds[] = {&bgm__dense_ops, &bgm__conv2d_ops};
static const bgm__layer_ops *const kernel_kinds[] = {&bgm__dense_ops, &bgm__conv2d_ops,
                                                     &bgm__lstm_ops, &bgm__gru_ops,
                                                     &bgm__embedding_ops};
static const bgm__layer_ops *const activated_kinds[] = {&bgm__dense_ops, &bgm__conv2d_ops,
                                                        &bgm__activation_ops};
static const bgm__layer_ops *const bn_kinds[] = {&bgm__batch_norm_ops};

#define NKINDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

BGM_API bgm_status bgm_layer_set_kernel_size(bgm_layer *layer, int64_t kh, int64_t kw)
{
    static const char *fn = "bgm_layer_set_kernel_size";
    bgm_status s = bgm__layer_settable(layer, fn, "kernel size", conv_kinds,
                                       NKINDS(conv_kinds));
    if (s != BGM_OK)
        return s;
    if (kh < 1 || kw < 1)
        return bgm__fail(BGM_E_INVALID, "%s: kernel size %lldx%lld, expected at least 1x1",
                         fn, (long long)kh, (long long)kw);
    layer->kh = kh;
    layer->kw = kw;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_pool_size(bgm_layer *layer, int64_t ph, int64_t pw)
{
    static const char *fn = "bgm_layer_set_pool_size";
    bgm_status s = bgm__layer_settable(layer, fn, "pool size", pool_kinds,
                                       NKINDS(pool_kinds));
    if (s != BGM_OK)
        return s;
    if (ph < 1 || pw < 1)
        return bgm__fail(BGM_E_INVALID, "%s: pool size %lldx%lld, expected at least 1x1",
                         fn, (long long)ph, (long long)pw);
    layer->kh = layer->sh = ph;
    layer->kw = layer->sw = pw;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_strides(bgm_layer *layer, int64_t sh, int64_t sw)
{
    static const char *fn = "bgm_layer_set_strides";
    bgm_status s = bgm__layer_settable(layer, fn, "strides", window_kinds,
                                       NKINDS(window_kinds));
    if (s != BGM_OK)
        return s;
    if (sh < 1 || sw < 1)
        return bgm__fail(BGM_E_INVALID, "%s: strides (%lld, %lld), expected at least 1",
                         fn, (long long)sh, (long long)sw);
    layer->sh = sh;
    layer->sw = sw;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_padding(bgm_layer *layer, bgm_padding padding)
{
    static const char *fn = "bgm_layer_set_padding";
    bgm_status s = bgm__layer_settable(layer, fn, "padding", window_kinds,
                                       NKINDS(window_kinds));
    if (s != BGM_OK)
        return s;
    if (padding != BGM_PADDING_VALID && padding != BGM_PADDING_SAME)
        return bgm__fail(BGM_E_INVALID, "%s: unknown padding %d", fn, (int)padding);
    layer->padding = padding;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_use_bias(bgm_layer *layer, int use_bias)
{
    bgm_status s = bgm__layer_settable(layer, "bgm_layer_set_use_bias", "bias",
                                       weighted_kinds, NKINDS(weighted_kinds));
    if (s == BGM_OK)
        layer->use_bias = use_bias != 0;
    return s;
}

static int initializer_valid(bgm_initializer init)
{
    return init >= BGM_INIT_GLOROT_UNIFORM && init <= BGM_INIT_RANDOM_UNIFORM;
}

BGM_API bgm_status bgm_layer_set_kernel_initializer(bgm_layer *layer, bgm_initializer init)
{
    static const char *fn = "bgm_layer_set_kernel_initializer";
    bgm_status s = bgm__layer_settable(layer, fn, "kernel initializer", kernel_kinds,
                                       NKINDS(kernel_kinds));
    if (s != BGM_OK)
        return s;
    if (!initializer_valid(init))
        return bgm__fail(BGM_E_INVALID, "%s: unknown initializer %d", fn, (int)init);
    layer->kernel_init = init;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_bias_initializer(bgm_layer *layer, bgm_initializer init)
{
    static const char *fn = "bgm_layer_set_bias_initializer";
    bgm_status s = bgm__layer_settable(layer, fn, "bias initializer", weighted_kinds,
                                       NKINDS(weighted_kinds));
    if (s != BGM_OK)
        return s;
    if (!initializer_valid(init))
        return bgm__fail(BGM_E_INVALID, "%s: unknown initializer %d", fn, (int)init);
    layer->bias_init = init;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_kernel_l2(bgm_layer *layer, float l2)
{
    static const char *fn = "bgm_layer_set_kernel_l2";
    bgm_status s = bgm__layer_settable(layer, fn, "kernel regularizer", dense_conv_kinds,
                                       NKINDS(dense_conv_kinds));
    if (s != BGM_OK)
        return s;
    if (!(l2 >= 0.0f) || isinf(l2))
        return bgm__fail(BGM_E_INVALID, "%s: l2 = %g, expected a finite value >= 0", fn,
                         (double)l2);
    layer->l2 = l2;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_leaky_relu_alpha(bgm_layer *layer, float alpha)
{
    static const char *fn = "bgm_layer_set_leaky_relu_alpha";
    bgm_status s = bgm__layer_settable(layer, fn, "activation", activated_kinds,
                                       NKINDS(activated_kinds));
    if (s != BGM_OK)
        return s;
    if (!isfinite(alpha))
        return bgm__fail(BGM_E_INVALID, "%s: alpha = %g is not finite", fn, (double)alpha);
    layer->leaky_alpha = alpha;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_momentum(bgm_layer *layer, float momentum)
{
    static const char *fn = "bgm_layer_set_momentum";
    bgm_status s = bgm__layer_settable(layer, fn, "momentum", bn_kinds, NKINDS(bn_kinds));
    if (s != BGM_OK)
        return s;
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: momentum = %g, expected a value in [0, 1]",
                         fn, (double)momentum);
    layer->momentum = momentum;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_epsilon(bgm_layer *layer, float epsilon)
{
    static const char *fn = "bgm_layer_set_epsilon";
    bgm_status s = bgm__layer_settable(layer, fn, "epsilon", bn_kinds, NKINDS(bn_kinds));
    if (s != BGM_OK)
        return s;
    if (!(epsilon > 0.0f) || isinf(epsilon))
        return bgm__fail(BGM_E_INVALID, "%s: epsilon = %g, expected a finite value > 0",
                         fn, (double)epsilon);
    layer->epsilon = epsilon;
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_trainable(bgm_layer *layer, int trainable)
{
    bgm_status s = bgm__layer_settable(layer, "bgm_layer_set_trainable", "trainable", NULL,
                                       -1);
    if (s == BGM_OK)
        layer->trainable = trainable != 0;
    return s;
}

bgm_status bgm__check_name(const char *name, const char *fn)
{
    size_t i, n = strlen(name);
    if (n == 0 || n >= BGM__NAME_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: a name has 1 to %d bytes, '%s' has %zu", fn,
                         BGM__NAME_SIZE - 1, n ? name : "", n);
    for (i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return bgm__fail(BGM_E_INVALID, "%s: character %zu of '%s' is not one of "
                             "[A-Za-z0-9_.-]", fn, i, name);
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_name(bgm_layer *layer, const char *name)
{
    static const char *fn = "bgm_layer_set_name";
    bgm_status s;
    if (!layer)
        return BGM_E_INVALID;
    if (layer->graph)
        return bgm__layer_built_fail(layer, fn);
    BGM__CHECK_NULL(name, fn);
    s = bgm__check_name(name, fn);
    if (s != BGM_OK)
        return s;
    memcpy(layer->name, name, strlen(name) + 1);
    layer->named_by_user = 1;
    return BGM_OK;
}

/* ---- accessors ---------------------------------------------------------- */

BGM_API const char *bgm_layer_kind(const bgm_layer *layer)
{
    return layer ? layer->ops->kind : NULL;
}

BGM_API const char *bgm_layer_name(const bgm_layer *layer)
{
    return layer ? layer->name : NULL;
}

BGM_API const int64_t *bgm_layer_output_shape(const bgm_layer *layer, int *ndim)
{
    if (!layer || !layer->graph) {
        if (ndim)
            *ndim = 0;
        return NULL;
    }
    if (ndim)
        *ndim = layer->out_ndim;
    return layer->out_shape;
}

BGM_API int64_t bgm_layer_num_params(const bgm_layer *layer)
{
    int64_t total = 0;
    int i, d;
    if (!layer || !layer->graph)
        return 0;
    for (i = 0; i < layer->nweights; i++) {
        int64_t n = 1;
        for (d = 0; d < layer->specs[i].ndim; d++)
            n *= layer->specs[i].shape[d];
        total += n;
    }
    return total;
}
