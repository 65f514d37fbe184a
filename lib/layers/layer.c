/*
 * Layer configurations: allocation, option setters, accessors, and the
 * activation functions every layer kind shares.
 */
#include "layers/layer.h"

#include "autograd/tape.h"

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
    l->kernel[0] = l->kernel[1] = 1;
    l->strides[0] = l->strides[1] = 1;
    l->dilation[0] = l->dilation[1] = 1;
    l->max_wavelength = 10000.0f;
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

void bgm__conv_add_specs(bgm_layer *l, const int64_t *kshape, int ndim)
{
    int64_t field = 1, fan_in, fan_out;
    int i;
    for (i = 0; i < ndim - 2; i++)
        field *= kshape[i];
    fan_in = field * kshape[ndim - 2];
    fan_out = field * l->units;
    bgm__layer_add_spec(l, "kernel", kshape, ndim, 1, l->kernel_init, fan_in, fan_out, 1);
    if (l->use_bias)
        bgm__layer_add_spec(l, "bias", &l->units, 1, 1, l->bias_init, fan_in, fan_out, 0);
}

int bgm__activation_valid(bgm_activation act)
{
    return act >= BGM_ACT_LINEAR && act <= BGM_ACT_SILU;
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
    case BGM_ACT_GELU_TANH: return bgm_op_gelu_tanh(y, tape, x);
    case BGM_ACT_SILU: return bgm_op_silu(y, tape, x);
    }
    return bgm__fail(BGM_E_INTERNAL, "unknown activation %d", (int)act);
}

bgm_status bgm__apply_activation_over(bgm_tape *tape, bgm_activation act, float alpha,
                                      bgm_tensor *x, bgm_tensor **y)
{
    if (act == BGM_ACT_RELU)
        return bgm__op_relu_over(y, tape, x);
    return bgm__apply_activation(tape, act, alpha, x, y);
}

BGM_API void bgm_layer_free(bgm_layer *layer)
{
    if (!layer)
        return;
    bgm_layer_free(layer->inner);
    bgm__custom_free(layer->custom);
    bgm__eager_free(layer->eager);
    free(layer->specs);
    free(layer->init_table);
    free(layer->init_known);
    bgm__preproc_release(layer);
    free(layer);
}

int bgm__layer_num_outputs(const bgm_layer *l)
{
    return l->ops->num_outputs ? l->ops->num_outputs(l) : 1;
}

BGM_API int bgm_layer_num_outputs(const bgm_layer *layer)
{
    return layer ? bgm__layer_num_outputs(layer) : 0;
}

bgm_status bgm__pass_mask(const bgm_layer *l, const bgm_tensor *x,
                          const bgm_tensor *const *masks, int nx, const bgm_tensor **out,
                          bgm_tensor **made)
{
    *out = masks[0];
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
    oh = bgm__window_out(in->d[0], l->kernel[0], l->strides[0], same, &pad);
    ow = bgm__window_out(in->d[1], l->kernel[1], l->strides[1], same, &pad);
    if (oh < 1 || ow < 1)
        return bgm__layer_fail(l, BGM_E_SHAPE, "%s %lldx%lld is larger than the input %s "
                               "with VALID padding", kind, (long long)l->kernel[0],
                               (long long)l->kernel[1],
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
    if (!l->graph)
        return bgm__fail(BGM_E_STATE, "%s: layer '%s' (%s) has been called on tensors, which "
                         "built it; set options before calling it", fn, l->name, l->ops->kind);
    return bgm__fail(BGM_E_STATE, "%s: layer '%s' has been called on a node, which built "
                     "it; set options before calling it", fn, l->name);
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
        return bgm__fail_null_layer(fn);
    if (bgm__layer_called(layer))
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
    if (!layer || !bgm__layer_called(layer)) {
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
    if (!layer || !bgm__layer_called(layer))
        return 0;
    for (i = 0; i < layer->nweights; i++) {
        int64_t n = 1;
        for (d = 0; d < layer->specs[i].ndim; d++)
            n *= layer->specs[i].shape[d];
        total += n;
    }
    return total;
}
