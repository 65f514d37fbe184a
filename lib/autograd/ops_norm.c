/*
 * Batch normalization and dropout: the two operations that behave
 * differently in training and in inference.
 */
#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "kernels/batchnorm.h"
#include "tape.h"

/* ---- batch normalization ------------------------------------------------- */

/*
 * Per-channel arrays of one call, in one block: the statistics used by the
 * forward pass (mean, invstd; kept for backward) and workspace, so backward
 * never allocates.
 */
typedef struct bn_state {
    int64_t m, c;
    int training;
    int gamma_at, beta_at;  /* input index of gamma / beta, -1 when absent */
    double *acc;            /* 2c */
    float *mean, *var, *invstd;
    float *coef;            /* 2c */
} bn_state;

static size_t bn_block_bytes(int64_t c)
{
    return (size_t)c * (2 * sizeof(double) + 5 * sizeof(float));
}

static void bn_carve(bn_state *st, void *block)
{
    int64_t c = st->c;
    st->acc = block;
    st->mean = (float *)(st->acc + 2 * c);
    st->var = st->mean + c;
    st->invstd = st->var + c;
    st->coef = st->invstd + c;
}

typedef struct bn_job {
    const bn_state *st;
    const float *x, *gamma, *beta;
    float *y;
} bn_job;

static void bn_normalize_range(void *ctx, int64_t begin, int64_t end)
{
    const bn_job *j = ctx;
    int64_t c = j->st->c;
    bgm__bn_normalize(j->x + begin * c, end - begin, c, j->st->mean, j->st->invstd,
                      j->gamma, j->beta, j->y + begin * c);
}

static void bn_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bn_state *st = node->saved;
    const float *gamma = st->gamma_at >= 0 ? node->in[st->gamma_at]->data : NULL;
    bgm__bn_backward(node->in[0]->data, gout, st->m, st->c, st->mean, st->invstd, gamma,
                     st->training, gin[0], st->gamma_at >= 0 ? gin[st->gamma_at] : NULL,
                     st->beta_at >= 0 ? gin[st->beta_at] : NULL, st->acc, st->coef);
}

static const bgm__op op_batch_norm = {"batch_norm", bn_backward};

/* Fails unless p is a float32 vector of c elements. */
static bgm_status bn_check_param(const char *fn, const char *name, const bgm_tensor *p,
                                 const bgm_tensor *x)
{
    char sp[BGM__SHAPE_STR_SIZE], sx[BGM__SHAPE_STR_SIZE];
    if (p->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: %s must be float32", fn, name);
    if (p->ndim != 1 || p->shape[0] != x->shape[x->ndim - 1])
        return bgm__fail(BGM_E_SHAPE, "%s: %s must be (%lld,) for x %s, got shape %s", fn,
                         name, (long long)x->shape[x->ndim - 1],
                         bgm__tensor_shape_str(sx, sizeof sx, x),
                         bgm__tensor_shape_str(sp, sizeof sp, p));
    return BGM_OK;
}

static bgm_status bn_check(const char *fn, const bgm_tensor *x, const bgm_tensor *gamma,
                           const bgm_tensor *beta, const bgm_tensor *running_mean,
                           const bgm_tensor *running_var, float momentum, float epsilon,
                           int training)
{
    char sx[BGM__SHAPE_STR_SIZE];
    bgm_status s = BGM_OK;
    if (x->ndim < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: x must have a channel dimension, got a scalar",
                         fn);
    if ((running_mean == NULL) != (running_var == NULL))
        return bgm__fail(BGM_E_INVALID, "%s: give both running_mean and running_var, or "
                         "neither", fn);
    if (!training && !running_mean)
        return bgm__fail(BGM_E_INVALID, "%s: inference (training = 0) needs running_mean "
                         "and running_var", fn);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: momentum must be in [0, 1], got %g", fn,
                         (double)momentum);
    if (!(epsilon > 0.0f))
        return bgm__fail(BGM_E_INVALID, "%s: epsilon must be > 0, got %g", fn,
                         (double)epsilon);
    if (gamma)
        s = bn_check_param(fn, "gamma", gamma, x);
    if (s == BGM_OK && beta)
        s = bn_check_param(fn, "beta", beta, x);
    if (s == BGM_OK && running_mean)
        s = bn_check_param(fn, "running_mean", running_mean, x);
    if (s == BGM_OK && running_var)
        s = bn_check_param(fn, "running_var", running_var, x);
    if (s == BGM_OK && training && x->numel == 0 && x->shape[x->ndim - 1] > 0)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has no elements to compute batch "
                         "statistics from", fn, bgm__tensor_shape_str(sx, sizeof sx, x));
    return s;
}

BGM_API bgm_status bgm_op_batch_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     const bgm_tensor *gamma, const bgm_tensor *beta,
                                     bgm_tensor *running_mean, bgm_tensor *running_var,
                                     float momentum, float epsilon, int training)
{
    static const char *fn = "bgm_op_batch_norm";
    const bgm_tensor *in[3];
    bn_state local, *st = &local;
    void *block = NULL;
    bgm__op_call c;
    bn_job j;
    int64_t ch, i;
    int nin = 0;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    s = bn_check(fn, x, gamma, beta, running_mean, running_var, momentum, epsilon, training);
    if (s != BGM_OK)
        return s;
    memset(&local, 0, sizeof local);
    local.c = x->shape[x->ndim - 1];
    local.m = 1;
    for (i = 0; i < x->ndim - 1; i++)
        local.m *= x->shape[i];
    local.training = training != 0;
    in[nin++] = x;
    local.gamma_at = gamma ? nin : -1;
    if (gamma)
        in[nin++] = gamma;
    local.beta_at = beta ? nin : -1;
    if (beta)
        in[nin++] = beta;

    s = bgm__op_begin(&c, fn, out, tape, &op_batch_norm, in, nin, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        st = bgm__op_save(&c, sizeof *st);
        block = st ? bgm__op_save(&c, bn_block_bytes(local.c)) : NULL;
        if (block) {
            *st = local;
            c.node->saved = st;
        }
    } else {
        block = bgm__scratch_alloc(bn_block_bytes(local.c));
    }
    if (!block)
        return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
    bn_carve(st, block);

    if (st->training) {
        bgm__bn_stats(x->data, st->m, st->c, st->mean, st->var, st->acc);
        for (ch = 0; ch < st->c; ch++)
            st->invstd[ch] = 1.0f / sqrtf(st->var[ch] + epsilon);
    } else {
        const float *rm = running_mean->data, *rv = running_var->data;
        for (ch = 0; ch < st->c; ch++) {
            st->mean[ch] = rm[ch];
            st->invstd[ch] = 1.0f / sqrtf(rv[ch] + epsilon);
        }
    }
    j.st = st;
    j.x = x->data;
    j.gamma = gamma ? gamma->data : NULL;
    j.beta = beta ? beta->data : NULL;
    j.y = c.out->data;
    bgm__parallel_for(st->m, st->c > 0 && st->c < 4096 ? 4096 / st->c : 1,
                      bn_normalize_range, &j);

    s = bgm__op_end(&c, out);
    /* Only a call that succeeded moves the running statistics. */
    if (s == BGM_OK && st->training && running_mean) {
        float factor = st->m > 1 ? (float)((double)st->m / (double)(st->m - 1)) : 1.0f;
        bgm__bn_update_running(running_mean->data, running_var->data, st->mean, st->var,
                               st->c, momentum, factor);
    }
    if (!c.node)
        bgm__scratch_free(block);
    return s;
}

/* ---- dropout ------------------------------------------------------------- */

/* attr[0]: 1 when the mask applies; fattr: the scale of kept elements. */
static void dropout_backward(const bgm__node *node, const float *gout, float **gin)
{
    const uint8_t *keep = node->saved;
    int64_t i, n = node->out->numel;
    float scale = node->fattr;
    if (!gin[0])
        return;
    if (!node->attr[0]) {
        for (i = 0; i < n; i++)
            gin[0][i] += gout[i];
        return;
    }
    for (i = 0; i < n; i++)
        if (keep[i])
            gin[0][i] += gout[i] * scale;
}

static const bgm__op op_dropout = {"dropout", dropout_backward};

BGM_API bgm_status bgm_op_dropout(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                  float rate, bgm_rng *rng, int training)
{
    static const char *fn = "bgm_op_dropout";
    bgm__op_call c;
    uint8_t *keep = NULL;
    const float *xd;
    float *yd, scale;
    int64_t i;
    int active = training && rate > 0.0f;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (!(rate >= 0.0f && rate < 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: rate must be in [0, 1), got %g", fn,
                         (double)rate);
    if (active && !rng)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'rng' is NULL (needed in training "
                         "with rate %g)", fn, (double)rate);
    s = bgm__op_begin(&c, fn, out, tape, &op_dropout, &x, 1, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    xd = x->data;
    yd = c.out->data;
    scale = 1.0f / (1.0f - rate);
    if (active && c.node && !(keep = bgm__op_save(&c, (size_t)x->numel)))
        return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the mask", fn));
    if (!active) {
        memcpy(yd, xd, (size_t)x->numel * sizeof *yd);
    } else {
        /* One draw per element in order: the documented, reproducible mask. */
        for (i = 0; i < x->numel; i++) {
            int kept = !(bgm_rng_uniform(rng) < rate);
            yd[i] = kept ? xd[i] * scale : 0.0f;
            if (keep)
                keep[i] = (uint8_t)kept;
        }
    }
    if (c.node) {
        c.node->attr[0] = active;
        c.node->fattr = scale;
        c.node->saved = keep;
    }
    return bgm__op_end(&c, out);
}
