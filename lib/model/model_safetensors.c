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

#include "layers/torch_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef bgm__torch_param torch_entry;

typedef struct plan {
    torch_entry *e;
    int n, cap;
} plan;

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
        e->layout = BGM__TORCH_SAME;
        e->ndim = bgm_tensor_ndim(w);
        memcpy(e->shape, bgm_tensor_shape(w), (size_t)e->ndim * sizeof *e->shape);
    }
    return BGM_OK;
}

/* The torch tensors of m's weights, in state_dict order: each layer's kind
 * names them (its torch hook), the modules before it fix its "<index>.". */
static bgm_status make_plan(const bgm_model *m, plan *p, const char *fn)
{
    bgm__torch_map map;
    int i;
    p->cap = 2 * m->nweights + m->nlayers + 1;
    p->n = 0;
    p->e = calloc((size_t)p->cap, sizeof *p->e);
    if (!p->e)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (!m->sequential)
        return keras_plan(m, p);
    memset(&map, 0, sizeof map);
    map.params = p->e;
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        if (!l->ops->torch) {
            free(p->e);
            p->e = NULL;
            return bgm__fail(BGM_E_UNSUPPORTED, "%s: layer %d '%s' (%s) has no PyTorch "
                             "equivalent in the safetensors mapping yet", fn, i, l->name,
                             l->ops->kind);
        }
        map.first_weight = l->first_weight;
        map.modules = 1;
        map.keeps_order = 0;
        l->ops->torch(l, &map);
        if (!map.keeps_order)
            memset(map.hwc, 0, sizeof map.hwc);
        map.index += map.modules;
    }
    p->n = map.n;
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
    switch (e->layout) {
    case BGM__TORCH_SAME:
        if (to_torch)
            memcpy(torch, ours, (size_t)n * sizeof *torch);
        else
            memcpy(ours, torch, (size_t)n * sizeof *torch);
        break;
    case BGM__TORCH_VEC:
        for (i = 0; i < n; i++) {
            float *o = &ours[i], *t = &torch[torch_feature(e->hwc, i)];
            if (to_torch)
                *t = *o;
            else
                *o = *t;
        }
        break;
    case BGM__TORCH_CONV: { /* ours (KH, KW, C, F), torch (F, C, KH, KW) */
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
    case BGM__TORCH_DENSE: { /* ours (in, out), torch (out, in) */
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
    case BGM__TORCH_RNN_KERNEL: { /* ours (R, gH), torch (gH, R) */
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
    case BGM__TORCH_RNN_BIAS: {
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
    case BGM__TORCH_COUNTER:
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
        if (e->layout == BGM__TORCH_COUNTER) {
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
            if (e->layout == BGM__TORCH_COUNTER)
                continue;
            return bgm__fail(BGM_E_FORMAT, "%s: %s: no tensor '%s' for weight '%s' of layer "
                             "%d (%s)", fn, path, e->name, w->name, w->layer,
                             m->layers[w->layer]->ops->kind);
        }
        if (e->layout == BGM__TORCH_COUNTER)
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
                scratch + (w->param ? 0 : m->nparams) + w->offset,
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
