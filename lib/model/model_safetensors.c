/*
 * Weights-only export and import in the safetensors format, under the names
 * and layouts of the equivalent torch.nn.Sequential's state_dict, so a
 * PyTorch user loads them with model.load_state_dict(). Each layer becomes
 * a fixed number of torch modules (Dense with an activation is Linear then
 * the activation), which fixes the "<index>." of every name; the table is
 * in docs/file-format.md.
 *
 * PyTorch's images are NCHW where ours are NHWC: kernels are permuted, and
 * a Flatten of images orders features (H, W, C) here but (C, H, W) there,
 * so the input features of the Dense after it (and of any BatchNormalization
 * in between) are permuted too: the torch model then uses a plain
 * nn.Flatten.
 */
#include "model/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum transform {
    T_SAME,        /* same layout */
    T_CONV,        /* (KH, KW, C, F) <-> (F, C, KH, KW) */
    T_DENSE,       /* (in, out) <-> (out, in), in permuted after a Flatten */
    T_VEC,         /* per-feature vector, permuted after a Flatten */
    T_RNN_KERNEL,  /* (R, gH) <-> (gH, R), gate blocks reordered */
    T_RNN_BIAS,    /* LSTM (4H) or GRU (2, 3H) <-> bias_ih / bias_hh (gH) */
    T_COUNTER      /* BatchNorm's num_batches_tracked: exported as 0, ignored */
} transform;

typedef struct torch_entry {
    char name[BGM__WEIGHT_NAME_SIZE];
    int weight;                /* index in m->weights; -1 for T_COUNTER */
    transform t;
    int part;                  /* T_RNN_BIAS: 0 bias_ih, 1 bias_hh */
    int gates;                 /* T_RNN_*: 4 (LSTM) or 3 (GRU) */
    int64_t units;             /* T_RNN_*: H */
    int64_t shape[BGM_MAX_DIMS]; /* torch's shape */
    int ndim;
    int64_t hwc[3];            /* T_DENSE / T_VEC after a Flatten of images, else 0 */
} torch_entry;

typedef struct plan {
    torch_entry *e;
    int n, cap;
} plan;

static torch_entry *add_entry(plan *p, int index, const char *param, const char *suffix,
                              int weight, transform t)
{
    torch_entry *e = &p->e[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%d.%s%s", index, param, suffix);
    e->weight = weight;
    e->t = t;
    return e;
}

static void set_shape(torch_entry *e, int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
    e->ndim = ndim;
    e->shape[0] = a;
    e->shape[1] = b;
    e->shape[2] = c;
    e->shape[3] = d;
}

/* The four (or three) tensors of one direction of an LSTM / GRU. */
static void add_rnn(plan *p, int index, const bgm_layer *cfg, int w0, int64_t features,
                    const char *suffix)
{
    int g = cfg->ops == &bgm__lstm_ops ? 4 : 3, k;
    int64_t h = cfg->units;
    const char *names[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"};
    for (k = 0; k < (cfg->use_bias ? 4 : 2); k++) {
        torch_entry *e = add_entry(p, index, names[k], suffix, w0 + (k < 2 ? k : 2),
                                   k < 2 ? T_RNN_KERNEL : T_RNN_BIAS);
        e->gates = g;
        e->units = h;
        e->part = k == 3;
        if (k < 2)
            set_shape(e, 2, g * h, k == 0 ? features : h, 0, 0);
        else
            set_shape(e, 1, g * h, 0, 0, 0);
    }
}

/* A graph model has no torch.nn.Sequential twin: its weights keep their
 * names ("conv2d_1/kernel") and layouts. */
static bgm_status keras_plan(const bgm_model *m, plan *p)
{
    int i;
    for (i = 0; i < m->nweights; i++) {
        const bgm_tensor *w = m->weights[i].view;
        torch_entry *e = &p->e[p->n++];
        snprintf(e->name, sizeof e->name, "%s", m->weights[i].name);
        e->weight = i;
        e->t = T_SAME;
        e->ndim = bgm_tensor_ndim(w);
        memcpy(e->shape, bgm_tensor_shape(w), (size_t)e->ndim * sizeof *e->shape);
    }
    return BGM_OK;
}

/* The torch tensors of m's weights, in state_dict order. */
static bgm_status make_plan(const bgm_model *m, plan *p, const char *fn)
{
    static const char *const bn_names[4] = {"weight", "bias", "running_mean", "running_var"};
    int64_t hwc[3] = {0, 0, 0};
    int i, k, t = 0;
    p->cap = 2 * m->nweights + m->nlayers + 1;
    p->n = 0;
    p->e = calloc((size_t)p->cap, sizeof *p->e);
    if (!p->e)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (!m->sequential)
        return keras_plan(m, p);
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        const bgm__layer_ops *ops = l->ops;
        int w0 = l->first_weight, keep_perm = 0, modules = 1;
        torch_entry *e;
        if (ops == &bgm__dense_ops) {
            e = add_entry(p, t, "weight", "", w0, T_DENSE);
            set_shape(e, 2, l->units, l->in_shape[l->in_ndim - 1], 0, 0);
            if (l->in_ndim == 1)
                memcpy(e->hwc, hwc, sizeof hwc);
            if (l->use_bias) {
                e = add_entry(p, t, "bias", "", w0 + 1, T_SAME);
                set_shape(e, 1, l->units, 0, 0, 0);
            }
            modules += l->activation != BGM_ACT_LINEAR;
        } else if (ops == &bgm__conv2d_ops) {
            e = add_entry(p, t, "weight", "", w0, T_CONV);
            set_shape(e, 4, l->units, l->in_shape[2], l->kernel[0], l->kernel[1]);
            if (l->use_bias) {
                e = add_entry(p, t, "bias", "", w0 + 1, T_SAME);
                set_shape(e, 1, l->units, 0, 0, 0);
            }
            modules += l->activation != BGM_ACT_LINEAR;
        } else if (ops == &bgm__batch_norm_ops) {
            for (k = 0; k < 4; k++) {
                e = add_entry(p, t, bn_names[k], "", w0 + k, T_VEC);
                set_shape(e, 1, l->in_shape[l->in_ndim - 1], 0, 0, 0);
                if (l->in_ndim == 1)
                    memcpy(e->hwc, hwc, sizeof hwc);
            }
            e = add_entry(p, t, "num_batches_tracked", "", -1, T_COUNTER);
            e->ndim = 0;
            keep_perm = 1;
        } else if (ops == &bgm__flatten_ops) {
            if (l->in_ndim == 3)
                memcpy(hwc, l->in_shape, sizeof hwc);
            else
                memset(hwc, 0, sizeof hwc);
            keep_perm = 1;
        } else if (ops == &bgm__dropout_ops || ops == &bgm__activation_ops) {
            keep_perm = 1;
        } else if (ops == &bgm__global_avg_pool2d_ops) {
            modules = 2; /* nn.AdaptiveAvgPool2d(1), nn.Flatten() */
        } else if (ops == &bgm__max_pool2d_ops || ops == &bgm__avg_pool2d_ops) {
            /* no weights */
        } else if (ops == &bgm__embedding_ops) {
            e = add_entry(p, t, "weight", "", w0, T_SAME);
            set_shape(e, 2, l->input_dim, l->units, 0, 0);
        } else if (ops == &bgm__lstm_ops || ops == &bgm__gru_ops) {
            add_rnn(p, t, l, w0, l->in_shape[1], "");
        } else if (ops == &bgm__bidirectional_ops) {
            add_rnn(p, t, l->inner, w0, l->in_shape[1], "");
            add_rnn(p, t, l->inner, w0 + l->nweights / 2, l->in_shape[1], "_reverse");
        } else {
            free(p->e);
            p->e = NULL;
            return bgm__fail(BGM_E_UNSUPPORTED, "%s: layer %d '%s' (%s) has no PyTorch "
                             "equivalent in the safetensors mapping yet", fn, i, l->name,
                             ops->kind);
        }
        if (!keep_perm)
            memset(hwc, 0, sizeof hwc);
        t += modules;
    }
    return BGM_OK;
}

/* Index of feature i (H, W, C order) in PyTorch's (C, H, W) order. */
static int64_t torch_feature(const int64_t *hwc, int64_t i)
{
    int64_t c, hw;
    if (hwc[0] == 0)
        return i;
    c = i % hwc[2];
    hw = i / hwc[2];
    return c * (hwc[0] * hwc[1]) + hw;
}

/* Source gate block of torch block b: GRU's z, r, n are r, z, n in PyTorch. */
static int gate_src(int gates, int b)
{
    static const int gru[3] = {1, 0, 2};
    return gates == 3 ? gru[b] : b;
}

/* ours -> torch (to_torch) or torch -> ours. ours has the weight's shape. */
static void convert(const torch_entry *e, const int64_t *wshape, float *ours, float *torch,
                    int to_torch)
{
    int64_t i, j, n = 1, a, b, c, d;
    int k;
    for (k = 0; k < e->ndim; k++)
        n *= e->shape[k];
    switch (e->t) {
    case T_SAME:
        if (to_torch)
            memcpy(torch, ours, (size_t)n * sizeof *torch);
        else
            memcpy(ours, torch, (size_t)n * sizeof *torch);
        break;
    case T_VEC:
        for (i = 0; i < n; i++) {
            float *o = &ours[i], *t = &torch[torch_feature(e->hwc, i)];
            if (to_torch)
                *t = *o;
            else
                *o = *t;
        }
        break;
    case T_CONV: { /* ours (KH, KW, C, F), torch (F, C, KH, KW) */
        int64_t kh = wshape[0], kw = wshape[1], ch = wshape[2], f = wshape[3];
        for (a = 0; a < kh; a++)
            for (b = 0; b < kw; b++)
                for (c = 0; c < ch; c++)
                    for (d = 0; d < f; d++) {
                        float *o = &ours[((a * kw + b) * ch + c) * f + d];
                        float *t = &torch[((d * ch + c) * kh + a) * kw + b];
                        if (to_torch)
                            *t = *o;
                        else
                            *o = *t;
                    }
        break;
    }
    case T_DENSE: { /* ours (in, out), torch (out, in) */
        int64_t in = wshape[0], out = wshape[1];
        for (i = 0; i < in; i++) {
            int64_t ti = torch_feature(e->hwc, i);
            for (j = 0; j < out; j++) {
                float *o = &ours[i * out + j], *t = &torch[j * in + ti];
                if (to_torch)
                    *t = *o;
                else
                    *o = *t;
            }
        }
        break;
    }
    case T_RNN_KERNEL: { /* ours (R, gH), torch (gH, R) */
        int64_t r = wshape[0], h = e->units, gh = wshape[1];
        for (k = 0; k < e->gates; k++)
            for (j = 0; j < h; j++)
                for (i = 0; i < r; i++) {
                    float *o = &ours[i * gh + gate_src(e->gates, k) * h + j];
                    float *t = &torch[(k * h + j) * r + i];
                    if (to_torch)
                        *t = *o;
                    else
                        *o = *t;
                }
        break;
    }
    case T_RNN_BIAS: {
        /* LSTM: one bias, exported as bias_ih with a zero bias_hh and read
         * back as their sum; GRU: row part of (2, 3H). */
        int64_t h = e->units, row = e->gates == 3 ? e->part * 3 * h : 0;
        for (k = 0; k < e->gates; k++)
            for (j = 0; j < h; j++) {
                float *o = &ours[row + gate_src(e->gates, k) * h + j];
                float *t = &torch[k * h + j];
                if (e->gates == 4 && e->part == 1) {
                    if (to_torch)
                        *t = 0.0f;
                    else
                        *o += *t;
                } else if (to_torch) {
                    *t = *o;
                } else {
                    *o = *t;
                }
            }
        break;
    }
    case T_COUNTER:
        break;
    }
}

BGM_API bgm_status bgm_model_save_weights_safetensors(const bgm_model *m, const char *path)
{
    static const char *fn = "bgm_model_save_weights_safetensors";
    bgm_archive *a = NULL;
    bgm_tensor *t = NULL;
    plan p;
    bgm_status s;
    int i;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    s = make_plan(m, &p, fn);
    if (s != BGM_OK)
        return s;
    s = bgm_archive_create(&a);
    for (i = 0; s == BGM_OK && i < p.n; i++) {
        const torch_entry *e = &p.e[i];
        if (e->t == T_COUNTER) {
            s = bgm_tensor_zeros(&t, BGM_INT32, NULL, 0);
        } else {
            bgm_tensor *w = m->weights[e->weight].view;
            s = bgm_tensor_zeros(&t, BGM_FLOAT32, e->shape, e->ndim);
            if (s == BGM_OK)
                convert(e, bgm_tensor_shape(w), bgm_tensor_data(w), bgm_tensor_data(t), 1);
        }
        if (s == BGM_OK)
            s = bgm_archive_add_tensor(a, e->name, t);
        bgm_tensor_free(t);
        t = NULL;
    }
    if (s == BGM_OK)
        s = bgm_archive_save_safetensors(a, path);
    bgm_archive_free(a);
    free(p.e);
    return s;
}

/* The plan entry named name, or NULL. */
static const torch_entry *find_entry(const plan *p, const char *name)
{
    int i;
    for (i = 0; i < p->n; i++)
        if (strcmp(p->e[i].name, name) == 0)
            return &p->e[i];
    return NULL;
}

/* Converts every planned tensor of a into scratch (all weights, params then state). */
static bgm_status import_into(const bgm_model *m, const plan *p, const bgm_archive *a,
                              float *scratch, const char *path, const char *fn)
{
    char got[BGM__SHAPE_STR_SIZE], want[BGM__SHAPE_STR_SIZE];
    int64_t i, n = bgm_archive_num_tensors(a);
    int k;
    for (i = 0; i < n; i++) {
        const char *name = bgm_archive_tensor_name(a, i);
        if (!find_entry(p, name))
            return bgm__fail(BGM_E_FORMAT, "%s: %s: tensor '%.100s' belongs to no weight of "
                             "the model", fn, path, name);
    }
    for (k = 0; k < p->n; k++) {
        const torch_entry *e = &p->e[k];
        const bgm__weight *w = e->weight >= 0 ? &m->weights[e->weight] : NULL;
        const bgm_tensor *t = NULL;
        if (bgm_archive_find_tensor(&t, a, e->name) != BGM_OK) {
            if (e->t == T_COUNTER)
                continue;
            return bgm__fail(BGM_E_FORMAT, "%s: %s: no tensor '%s' for weight '%s' of layer "
                             "%d (%s)", fn, path, e->name, w->name, w->layer,
                             m->layers[w->layer]->ops->kind);
        }
        if (e->t == T_COUNTER)
            continue;
        if (bgm_tensor_dtype(t) != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: %s: tensor '%s' is int32, weight '%s' is "
                             "float32", fn, path, e->name, w->name);
        if (bgm_tensor_ndim(t) != e->ndim ||
            memcmp(bgm_tensor_shape(t), e->shape, (size_t)e->ndim * sizeof(int64_t)) != 0)
            return bgm__fail(BGM_E_SHAPE, "%s: %s: tensor '%s' has shape %s, weight '%s' "
                             "needs %s in PyTorch's layout", fn, path, e->name,
                             bgm__shape_str(got, sizeof got, bgm_tensor_shape(t),
                                            bgm_tensor_ndim(t)),
                             w->name, bgm__shape_str(want, sizeof want, e->shape, e->ndim));
        convert(e, bgm_tensor_shape(w->view),
                scratch + (w->trainable ? 0 : m->nparams) + w->offset,
                (float *)bgm_tensor_data(t), 0);
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_model_load_weights_safetensors(bgm_model *m, const char *path)
{
    static const char *fn = "bgm_model_load_weights_safetensors";
    char msg[900];
    bgm_archive *a = NULL;
    float *scratch;
    plan p;
    bgm_status s;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    s = bgm_archive_load_safetensors(&a, path);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "%s: %s", fn, msg);
    }
    s = make_plan(m, &p, fn);
    if (s != BGM_OK) {
        bgm_archive_free(a);
        return s;
    }
    scratch = malloc((size_t)(m->nparams + m->nstate + 1) * sizeof *scratch);
    if (!scratch) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    } else {
        /* Converted into a copy first, so a failure leaves m as it was. */
        bgm__model_copy_weights_out(m, scratch);
        s = import_into(m, &p, a, scratch, path, fn);
        if (s == BGM_OK)
            bgm__model_copy_weights_in(m, scratch);
    }
    free(scratch);
    free(p.e);
    bgm_archive_free(a);
    return s;
}
