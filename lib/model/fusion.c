/*
 * Inference-time fusion (predict, evaluate): a Conv2D absorbs the layers
 * after it that only it feeds, so Conv-BN-ReLU, Conv-BN-Add-ReLU or
 * Conv-ReLU-MaxPool runs as one convolution with an epilogue
 * (bgm__conv2d_infer) instead of three or four passes over the activation.
 *
 * - BatchNormalization (inference: y = (x - mean) * gamma / sqrt(var + eps)
 *   + beta) folds into the convolution: kernel[..., f] * scale[f], bias
 *   beta[f] + (bias[f] - mean[f]) * scale[f]. The folded copies are made on
 *   every call from the weights as they are then (about 1/1000 of the
 *   convolution's own multiplies at any batch size), never cached, so no
 *   write to the weights (set_weights, fit, load, a custom loop writing the
 *   views) can leave a stale copy behind; the weights themselves are never
 *   touched.
 * - Add of two inputs: the other input (computed earlier in the plan) is
 *   added in the epilogue.
 * - Activation(relu), or the convolution's own ReLU: applied in the
 *   epilogue.
 * - MaxPooling2D or AveragePooling2D last: the convolution's output goes
 *   to a per-thread buffer of a few images and is pooled from there while
 *   in cache, so its full-size output is never written.
 *
 * A step is absorbed only when the chain's value has no other reader (one
 * use, not a model output), so nothing ever sees the convolution's
 * unnormalized output. Results agree with the unfused layers to float
 * rounding. Training and bgm_model_forward do not fuse these: they need
 * the layers' results on the tape (but see bgm__tape_fusion_plan).
 * BIGMODEL_FUSION=0 in the environment turns fusion off (for comparisons).
 */
#include "model/model_impl.h"

#include "autograd/ops_fused.h"
#include "core/tensor_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_kind(const bgm_model *m, int k, const bgm__layer_ops *ops)
{
    const bgm_layer *l = k >= 0 ? m->steps[k].node->layer : NULL;
    return l && l->ops == ops;
}

static int same_shape(const bgm__shape *a, const bgm__shape *b)
{
    return a->ndim == b->ndim && a->dtype == b->dtype &&
           !memcmp(a->d, b->d, (size_t)a->ndim * sizeof a->d[0]);
}

/* Per step, the one step reading its value (-1: none, -2: several); NULL
 * when memory ran out. free() it. */
static int *readers(const bgm_model *m)
{
    int *reader = malloc((size_t)m->nsteps * sizeof *reader);
    int k, e;
    if (!reader)
        return NULL;
    for (k = 0; k < m->nsteps; k++)
        reader[k] = -1;
    for (k = 0; k < m->nsteps; k++)
        for (e = 0; e < m->steps[k].nin; e++) {
            int src = m->steps[k].in[e];
            reader[src] = reader[src] == -1 || reader[src] == k ? k : -2;
        }
    return reader;
}

/* The step reading step k's value when that is its only use, else -1. */
static int only_reader(const bgm_model *m, const int *reader, int k)
{
    return m->steps[k].uses == 1 && reader[k] >= 0 ? reader[k] : -1;
}

/* Marks step j as absorbed into conv step k, passing on its input tail. */
static int absorb(bgm__fuse *f, const bgm_model *m, int j, int k, int tail)
{
    int e;
    f[j].into = k;
    for (e = 0; e < m->steps[j].nin; e++)
        if (m->steps[j].in[e] == tail)
            f[j].pass = e;
    return j;
}

/* Fills f[k] for Conv2D step k and marks the steps it absorbs. */
static void plan_conv(const bgm_model *m, const int *reader, bgm__fuse *f, int k)
{
    const bgm_layer *l = m->steps[k].node->layer;
    int tail = k, j;
    if (l->activation == BGM_ACT_RELU) {
        f[k].relu = 1;
    } else if (l->activation == BGM_ACT_LINEAR) {
        j = only_reader(m, reader, tail);
        if (is_kind(m, j, &bgm__batch_norm_ops)) {
            f[k].bn = j;
            tail = absorb(f, m, j, k, tail);
        }
        j = only_reader(m, reader, tail);
        if (is_kind(m, j, &bgm__add_ops) && m->steps[j].nin == 2) {
            const bgm__step *a = &m->steps[j];
            int other = a->in[0] == tail ? a->in[1] : a->in[0];
            if (other < k && m->steps[other].node->shape.dtype == BGM_FLOAT32 &&
                same_shape(&m->steps[other].node->shape, &m->steps[k].node->shape)) {
                f[k].res = other;
                tail = absorb(f, m, j, k, tail);
            }
        }
        j = only_reader(m, reader, tail);
        if (is_kind(m, j, &bgm__activation_ops) &&
            m->steps[j].node->layer->activation == BGM_ACT_RELU) {
            f[k].relu = 1;
            tail = absorb(f, m, j, k, tail);
        }
    } else {
        return;
    }
    j = only_reader(m, reader, tail);
    if (is_kind(m, j, &bgm__max_pool2d_ops) || is_kind(m, j, &bgm__avg_pool2d_ops)) {
        f[k].pool = j;
        tail = absorb(f, m, j, k, tail);
    }
    f[k].conv = tail != k || f[k].relu;
}

bgm__fuse *bgm__fusion_plan(const bgm_model *m)
{
    const char *env = getenv("BIGMODEL_FUSION");
    bgm__fuse *f;
    int *reader;
    int k, any = 0;
    if (env && !strcmp(env, "0"))
        return NULL;
    f = malloc((size_t)m->nsteps * sizeof *f);
    reader = readers(m);
    if (!f || !reader) { /* fusion is an optimisation: run unfused */
        free(f);
        free(reader);
        return NULL;
    }
    for (k = 0; k < m->nsteps; k++) {
        f[k].into = f[k].bn = f[k].res = f[k].pool = -1;
        f[k].pass = f[k].conv = f[k].relu = 0;
    }
    for (k = 0; k < m->nsteps; k++)
        if (f[k].into < 0 && is_kind(m, k, &bgm__conv2d_ops)) {
            plan_conv(m, reader, f, k);
            any |= f[k].conv;
        }
    free(reader);
    if (!any) {
        free(f);
        return NULL;
    }
    return f;
}

/*
 * Runs that record a tape (training, bgm_model_forward) keep every layer's
 * result that a later op's backward needs, so only these two fuse there:
 * - a Conv2D with its own ReLU whose value only a MaxPooling2D reads runs
 *   without the ReLU, which is applied to the pooled value instead. ReLU is
 *   monotone, so max(relu(x)) = relu(max(x)) bit for bit, and the gradients
 *   agree too: where a window's maximum is positive both route the gradient
 *   to it, elsewhere both give zero. The ReLU and its backward then touch a
 *   quarter of the elements (2x2 pools).
 * - a BatchNormalization whose value only an Activation(relu) reads applies
 *   the ReLU itself (bgm__op_batch_norm_sync with relu: the same bits, no pass of the
 *   ReLU's own either way), and the Activation passes its input on; so does
 *   an Add of two inputs of one shape (bgm__op_add_relu: one pass each way
 *   where the two ops took two).
 */
/* Whether step k is an Add of two inputs of one shape. */
static int same_shape_pair(const bgm_model *m, int k)
{
    const bgm__step *st = &m->steps[k];
    return is_kind(m, k, &bgm__add_ops) && st->nin == 2 &&
           same_shape(&m->steps[st->in[0]].node->shape, &m->steps[st->in[1]].node->shape);
}

unsigned char *bgm__tape_fusion_plan(const bgm_model *m)
{
    const char *env = getenv("BIGMODEL_FUSION");
    unsigned char *plan;
    int *reader;
    int k, any = 0;
    if (env && !strcmp(env, "0"))
        return NULL;
    plan = calloc((size_t)m->nsteps, 1);
    reader = readers(m);
    if (!plan || !reader) {
        free(plan);
        free(reader);
        return NULL;
    }
    for (k = 0; k < m->nsteps; k++) {
        int j = only_reader(m, reader, k);
        if (is_kind(m, k, &bgm__conv2d_ops) &&
            m->steps[k].node->layer->activation == BGM_ACT_RELU &&
            is_kind(m, j, &bgm__max_pool2d_ops) && m->steps[j].nin == 1) {
            plan[k] |= BGM__DEFER_RELU;
            plan[j] |= BGM__RELU_AFTER;
            any = 1;
        } else if ((is_kind(m, k, &bgm__batch_norm_ops) || same_shape_pair(m, k)) &&
                   is_kind(m, j, &bgm__activation_ops) &&
                   m->steps[j].node->layer->activation == BGM_ACT_RELU &&
                   m->steps[j].nin == 1) {
            plan[k] |= BGM__FUSE_RELU;
            plan[j] |= BGM__PASS_ON;
            any = 1;
        }
    }
    free(reader);
    if (!any) {
        free(plan);
        return NULL;
    }
    return plan;
}

/* kernel and bias of conv layer l with the BatchNormalization of weights
 * bn (gamma, beta, moving mean, moving variance) folded in: new tensors. */
static bgm_status fold(const bgm_layer *l, bgm_tensor *const *w, const bgm_layer *bnl,
                       bgm_tensor *const *bn, bgm_tensor **kernel, bgm_tensor **bias)
{
    const float *gamma = bn[0]->data, *beta = bn[1]->data, *mean = bn[2]->data,
                *var = bn[3]->data, *b = l->use_bias ? w[1]->data : NULL;
    const int64_t f = w[0]->shape[3], rows = w[0]->numel / f;
    float *kd, *bd;
    int64_t r, ch;
    bgm_status s = bgm_tensor_zeros(kernel, BGM_FLOAT32, w[0]->shape, w[0]->ndim);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(bias, BGM_FLOAT32, &f, 1);
    if (s != BGM_OK)
        return s;
    kd = (*kernel)->data;
    bd = (*bias)->data;
    for (ch = 0; ch < f; ch++) { /* the scale as bgm_op_batch_norm computes it */
        float invstd = 1.0f / sqrtf(var[ch] + bnl->epsilon);
        bd[ch] = invstd * gamma[ch];
    }
    for (r = 0; r < rows; r++) {
        const float *src = (const float *)w[0]->data + r * f;
        for (ch = 0; ch < f; ch++)
            kd[r * f + ch] = src[ch] * bd[ch];
    }
    for (ch = 0; ch < f; ch++)
        bd[ch] = beta[ch] + ((b ? b[ch] : 0.0f) - mean[ch]) * bd[ch];
    return BGM_OK;
}

bgm_status bgm__fused_conv(const bgm_model *m, const bgm__fuse *f, int k, bgm_tape *tape,
                           const bgm_tensor *x, const bgm_tensor *res, bgm_tensor **y)
{
    const bgm_layer *l = m->steps[k].node->layer;
    bgm_tensor *const *w = m->views + l->first_weight;
    bgm_tensor *kernel = w[0], *bias = l->use_bias ? w[1] : NULL;
    bgm_tensor *fk = NULL, *fb = NULL;
    bgm__pool_spec pool;
    bgm_status s = BGM_OK;
    if (f[k].pool >= 0) {
        const bgm_layer *pl = m->steps[f[k].pool].node->layer;
        pool.max = pl->ops == &bgm__max_pool2d_ops;
        pool.kh = (int)pl->kernel[0];
        pool.kw = (int)pl->kernel[1];
        pool.sh = (int)pl->strides[0];
        pool.sw = (int)pl->strides[1];
        pool.padding = pl->padding;
    }
    if (f[k].bn >= 0) {
        const bgm_layer *bnl = m->steps[f[k].bn].node->layer;
        s = fold(l, w, bnl, m->views + bnl->first_weight, &fk, &fb);
        kernel = fk;
        bias = fb;
    }
    if (s == BGM_OK)
        s = bgm__conv2d_infer(y, tape, x, kernel, bias, res, f[k].relu,
                              f[k].pool >= 0 ? &pool : NULL, (int)l->strides[0],
                              (int)l->strides[1], l->padding);
    bgm_tensor_free(fk);
    bgm_tensor_free(fb);
    return s;
}
