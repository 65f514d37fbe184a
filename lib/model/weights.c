/*
 * The model's weight buffers: one for trainable parameters, one for their
 * gradients, one for non-trainable state; views into them; initializers;
 * bulk copies.
 */
#include "model/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* Keras' truncated normal keeps draws within 2 standard deviations; this
 * constant is the standard deviation of a unit normal truncated so. */
#define TRUNCATED_SD 0.87962566103423978

static int64_t spec_numel(const bgm__weight_spec *s)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < s->ndim; d++)
        n *= s->shape[d];
    return n;
}

static float truncated_normal(bgm_rng *rng)
{
    for (;;) {
        float z = bgm__rng_normal(rng);
        if (z >= -2.0f && z <= 2.0f)
            return z;
    }
}

/*
 * Keras' Orthogonal (gain 1): the weight viewed as (rows, cols) =
 * (product of all but the last dimension, last dimension). A normal matrix
 * of shape (max, min) is orthonormalized column by column (Gram-Schmidt,
 * twice per column for accuracy, which gives QR with R's diagonal
 * positive, the sign Keras fixes); it is transposed when rows < cols, so
 * the rows or the columns of the weight are orthonormal, whichever are fewer.
 */
static bgm_status orthogonal(bgm_rng *rng, const bgm__weight_spec *s, float *w, int64_t n,
                             const char *fn)
{
    int64_t cols = s->ndim > 0 ? s->shape[s->ndim - 1] : 1, rows, big, small, i, j, k;
    double *q;
    int pass;
    if (n == 0)
        return BGM_OK;
    rows = n / cols;
    big = rows > cols ? rows : cols;
    small = rows > cols ? cols : rows;
    q = malloc((size_t)(big * small) * sizeof *q); /* q[i * small + j]: (big, small) */
    if (!q)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for an orthogonal initializer", fn);
    for (i = 0; i < big * small; i++)
        q[i] = bgm__rng_normal(rng);
    for (j = 0; j < small; j++) {
        double norm = 0.0;
        for (pass = 0; pass < 2; pass++)
            for (k = 0; k < j; k++) {
                double dot = 0.0;
                for (i = 0; i < big; i++)
                    dot += q[i * small + k] * q[i * small + j];
                for (i = 0; i < big; i++)
                    q[i * small + j] -= dot * q[i * small + k];
            }
        for (i = 0; i < big; i++)
            norm += q[i * small + j] * q[i * small + j];
        norm = sqrt(norm);
        for (i = 0; i < big; i++)
            q[i * small + j] = norm > 0.0 ? q[i * small + j] / norm : 0.0;
    }
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            w[i * cols + j] = (float)(rows >= cols ? q[i * small + j] : q[j * small + i]);
    free(q);
    return BGM_OK;
}

static bgm_status initialize(bgm_rng *rng, const bgm__weight_spec *s, float *w, int64_t n,
                             const char *fn)
{
    double fan_in = (double)s->fan_in, fan_out = (double)s->fan_out, limit, sd;
    int64_t i;
    switch (s->init) {
    case BGM_INIT_ORTHOGONAL:
        return orthogonal(rng, s, w, n, fn);
    case BGM_INIT_RANDOM_UNIFORM:
        for (i = 0; i < n; i++)
            w[i] = (float)(0.05 * (2.0 * bgm_rng_uniform(rng) - 1.0));
        break;
    case BGM_INIT_GLOROT_UNIFORM:
    case BGM_INIT_HE_UNIFORM:
        limit = s->init == BGM_INIT_GLOROT_UNIFORM ? sqrt(6.0 / (fan_in + fan_out))
                                                   : sqrt(6.0 / fan_in);
        for (i = 0; i < n; i++)
            w[i] = (float)(limit * (2.0 * bgm_rng_uniform(rng) - 1.0));
        break;
    case BGM_INIT_GLOROT_NORMAL:
    case BGM_INIT_HE_NORMAL:
        sd = (s->init == BGM_INIT_GLOROT_NORMAL ? sqrt(2.0 / (fan_in + fan_out))
                                                : sqrt(2.0 / fan_in)) / TRUNCATED_SD;
        for (i = 0; i < n; i++)
            w[i] = (float)(sd * truncated_normal(rng));
        break;
    case BGM_INIT_ONES:
        for (i = 0; i < n; i++)
            w[i] = 1.0f;
        break;
    case BGM_INIT_ZEROS:
    default:
        memset(w, 0, (size_t)n * sizeof *w);
        break;
    }
    return BGM_OK;
}

typedef struct buffers {
    float *params, *state;
    bgm__weight *weights;
    bgm_tensor **views, **trainable, **current;
    int nweights;
    int64_t nparams, nstate;
} buffers;

static void buffers_free(buffers *b)
{
    int i;
    for (i = 0; i < b->nweights; i++)
        bgm_tensor_free(b->weights[i].view);
    free(b->weights);
    free(b->views);
    free(b->trainable);
    free(b->current);
    bgm__aligned_free(b->params);
    bgm__aligned_free(b->state);
    memset(b, 0, sizeof *b);
}

/* Lays out the weights of every layer, making views into fresh buffers. */
static bgm_status layout(const bgm_model *m, buffers *b, const char *fn)
{
    int i, k, count = 0;
    for (i = 0; i < m->nlayers; i++)
        for (k = 0; k < m->layers[i]->nweights; k++) {
            const bgm__weight_spec *s = &m->layers[i]->specs[k];
            count++;
            if (s->trainable)
                b->nparams += spec_numel(s);
            else
                b->nstate += spec_numel(s);
        }
    b->params = bgm__aligned_alloc((size_t)b->nparams * sizeof(float));
    b->state = bgm__aligned_alloc((size_t)b->nstate * sizeof(float));
    b->weights = calloc((size_t)count + 1, sizeof *b->weights);
    b->views = calloc((size_t)count + 1, sizeof *b->views);
    b->trainable = calloc((size_t)count + 1, sizeof *b->trainable);
    b->current = calloc((size_t)count + 1, sizeof *b->current);
    if (!b->params || !b->state || !b->weights || !b->views || !b->trainable || !b->current)
        goto nomem;
    {
        int64_t poff = 0, soff = 0;
        for (i = 0; i < m->nlayers; i++) {
            bgm_layer *l = m->layers[i];
            l->first_weight = b->nweights;
            for (k = 0; k < l->nweights; k++) {
                const bgm__weight_spec *s = &l->specs[k];
                bgm__weight *w = &b->weights[b->nweights];
                int64_t n = spec_numel(s);
                float *data = s->trainable ? b->params + poff : b->state + soff;
                snprintf(w->name, sizeof w->name, "%s/%s", l->name, s->name);
                w->param = s->trainable;
                w->layer = i;
                w->offset = s->trainable ? poff : soff;
                w->numel = n;
                if (bgm_tensor_wrap(&w->view, BGM_FLOAT32, s->shape, s->ndim, data, NULL,
                                    NULL) != BGM_OK)
                    goto nomem;
                b->views[b->nweights++] = w->view;
                if (s->trainable)
                    poff += n;
                else
                    soff += n;
            }
        }
    }
    return BGM_OK;
nomem:
    buffers_free(b);
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the weights", fn);
}

bgm_status bgm__model_grow_weights(bgm_model *m, const char *fn)
{
    buffers b;
    bgm_status s;
    int i;
    memset(&b, 0, sizeof b);
    s = layout(m, &b, fn);
    if (s != BGM_OK)
        return s;
    /* Layers are only appended, so the old weights are a prefix of the new. */
    if (m->nparams)
        memcpy(b.params, m->params, (size_t)m->nparams * sizeof(float));
    if (m->nstate)
        memcpy(b.state, m->state, (size_t)m->nstate * sizeof(float));
    for (i = m->nweights; i < b.nweights; i++) {
        const bgm__weight *w = &b.weights[i];
        const bgm_layer *l = m->layers[w->layer];
        if (bgm__eager_weights_out(l, i - l->first_weight, bgm_tensor_data(w->view)))
            continue; /* built by a call on tensors: the model takes its weights */
        s = initialize(&m->rng, &l->specs[i - l->first_weight], bgm_tensor_data(w->view),
                       w->numel, fn);
        if (s != BGM_OK) {
            buffers_free(&b);
            return s;
        }
    }
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        float *data[64];
        int k;
        if (!l->ops->init_weights || l->nweights == 0 || l->first_weight < m->nweights ||
            bgm__eager_weights_out(l, 0, NULL))
            continue;
        for (k = 0; k < l->nweights && k < 64; k++)
            data[k] = bgm_tensor_data(b.weights[l->first_weight + k].view);
        l->ops->init_weights(l, data);
    }
    bgm__model_free_weights(m);
    m->params = b.params;
    m->state = b.state;
    m->nparams = b.nparams;
    m->nstate = b.nstate;
    m->weights = b.weights;
    m->views = b.views;
    m->nweights = b.nweights;
    m->trainable = b.trainable;
    m->current = b.current;
    bgm__model_list_trained(m);
    return BGM_OK;
}

void bgm__model_free_weights(bgm_model *m)
{
    buffers b;
    b.params = m->params;
    b.state = m->state;
    b.weights = m->weights;
    b.views = m->views;
    b.nweights = m->nweights;
    b.trainable = m->trainable;
    b.current = m->current;
    buffers_free(&b);
    m->params = m->state = NULL;
    m->weights = NULL;
    m->views = NULL;
    m->trainable = m->current = NULL;
    m->nweights = m->ntrainable = m->ncurrent = 0;
    m->nparams = m->nstate = 0;
}

void bgm__model_copy_weights_out(const bgm_model *m, float *buf)
{
    memcpy(buf, m->params, (size_t)m->nparams * sizeof(float));
    memcpy(buf + m->nparams, m->state, (size_t)m->nstate * sizeof(float));
}

void bgm__model_copy_weights_in(bgm_model *m, const float *buf)
{
    memcpy(m->params, buf, (size_t)m->nparams * sizeof(float));
    memcpy(m->state, buf + m->nparams, (size_t)m->nstate * sizeof(float));
}

bgm_status bgm__weight_init(bgm_rng *rng, const bgm__weight_spec *spec, float *w,
                           const char *fn)
{
    return initialize(rng, spec, w, spec_numel(spec), fn);
}

/* ---- public accessors ---------------------------------------------------- */

BGM_API int64_t bgm_model_num_params(const bgm_model *m)
{
    return m ? m->nparams + m->nstate : 0;
}

BGM_API int bgm_model_num_weights(const bgm_model *m)
{
    return m ? m->nweights : 0;
}

BGM_API bgm_tensor *bgm_model_weight(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->nweights ? m->weights[i].view : NULL;
}

BGM_API int bgm_model_weight_index(const bgm_model *m, const char *name)
{
    int i;
    for (i = 0; m && name && i < m->nweights; i++)
        if (strcmp(m->weights[i].name, name) == 0)
            return i;
    return -1;
}

BGM_API const char *bgm_model_weight_name(const bgm_model *m, int i)
{
    return m && i >= 0 && i < m->nweights ? m->weights[i].name : NULL;
}

static bgm_status check_count(const bgm_model *m, const void *buf, int64_t count,
                              const char *fn)
{
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(buf, fn);
    if (count != m->nparams + m->nstate)
        return bgm__fail(BGM_E_SHAPE, "%s: count = %lld, the model has %lld weights", fn,
                         (long long)count, (long long)(m->nparams + m->nstate));
    return BGM_OK;
}

BGM_API bgm_status bgm_model_get_weights(const bgm_model *m, float *buf, int64_t count)
{
    int i;
    bgm_status s = check_count(m, buf, count, "bgm_model_get_weights");
    if (s != BGM_OK)
        return s;
    for (i = 0; i < m->nweights; i++) {
        memcpy(buf, bgm_tensor_data(m->weights[i].view),
               (size_t)m->weights[i].numel * sizeof(float));
        buf += m->weights[i].numel;
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_model_set_weights(bgm_model *m, const float *buf, int64_t count)
{
    int i;
    bgm_status s = check_count(m, buf, count, "bgm_model_set_weights");
    if (s != BGM_OK)
        return s;
    for (i = 0; i < m->nweights; i++) {
        memcpy(bgm_tensor_data(m->weights[i].view), buf,
               (size_t)m->weights[i].numel * sizeof(float));
        buf += m->weights[i].numel;
    }
    return BGM_OK;
}
