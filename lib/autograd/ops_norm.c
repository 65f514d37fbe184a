/*
 * Normalization and dropout: batch normalization and dropout, the two
 * operations that behave differently in training and in inference, and
 * layer / RMS normalization over the last axis.
 */
#include <math.h>
#include <string.h>

#include "core/comm.h"
#include "core/threads.h"
#include "kernels/batchnorm.h"
#include "kernels/layernorm.h"
#include "ops_fused.h"
#include "tape.h"

/* ---- batch normalization ------------------------------------------------- */

/* Rows of x per slot of the threaded reductions, at the least: below that
 * the pass is shorter than waking a worker. */
#define BN_SLOT_MIN_ELEMS ((int64_t)1 << 14)

/*
 * Per-channel arrays of one call, in one block: the statistics used by the
 * forward pass (mean, invstd; kept for backward) and workspace, so backward
 * never allocates. The reductions over rows are split into slots of
 * `piece` rows, each summed into its own accumulators (part) and added in
 * slot order: the result depends on the thread count, not on scheduling.
 */
typedef struct bn_state {
    int64_t m, c;
    int64_t slots, piece;
    int training;
    int relu;               /* a ReLU applied within (bgm__op_batch_norm_sync) */
    int gamma_at, beta_at;  /* input index of gamma / beta, -1 when absent */
    double *part;           /* slots * 2c */
    struct bgm_comm *sync;  /* SyncBatchNormalization's communicator, or NULL */
    double rows;            /* rows of the statistics: m, or all ranks' with sync */
    double *tot;            /* 2c + 1: sums over the slots, for sync */
    float *mean, *var, *invstd;
    float *coef;            /* 3c: mean of gy, mean of gy * xhat, gamma * invstd */
    float *affine;          /* with relu, 2c: gamma (or ones) and beta (or zeros) */
} bn_state;

static void bn_plan(bn_state *st)
{
    int64_t min_rows = st->c > 0 ? (BN_SLOT_MIN_ELEMS + st->c - 1) / st->c : st->m;
    st->slots = 2 * (int64_t)bgm__pool_threads();
    if (min_rows < 1)
        min_rows = 1;
    if (st->slots > st->m / min_rows)
        st->slots = st->m / min_rows;
    if (st->slots < 1)
        st->slots = 1;
    st->piece = (st->m + st->slots - 1) / st->slots;
    if (st->piece < 1)
        st->piece = 1;
}

static size_t bn_block_bytes(const bn_state *st)
{
    return (size_t)st->c * ((size_t)st->slots * 2 * sizeof(double) +
                            (st->relu ? 8 : 6) * sizeof(float)) +
           (st->sync ? (2 * (size_t)st->c + 1) * sizeof(double) : 0);
}

static void bn_carve(bn_state *st, void *block)
{
    int64_t c = st->c;
    st->part = block;
    st->mean = (float *)(st->part + 2 * c * st->slots);
    st->var = st->mean + c;
    st->invstd = st->var + c;
    st->coef = st->invstd + c;
    st->affine = st->relu ? st->coef + 3 * c : NULL;
    st->tot = st->sync ? (double *)(st->coef + (st->relu ? 5 : 3) * c) : NULL;
}

typedef struct bn_job {
    const bn_state *st;
    const float *x, *gamma, *beta, *gy;
    const bgm__bn_relu *relu; /* backward: the ReLU applied within, or NULL */
    float *y, *gx;
    int pass;               /* reductions: 0 sums, 1 squares around the mean */
    int accumulate;         /* backward: add into gx rather than write it */
} bn_job;

/* The rows [begin, end) of slot s, clipped to m. */
static int64_t bn_slot_rows(const bn_state *st, int64_t s, int64_t *begin)
{
    int64_t end = (s + 1) * st->piece < st->m ? (s + 1) * st->piece : st->m;
    *begin = s * st->piece < st->m ? s * st->piece : st->m;
    return end - *begin;
}

static void bn_stats_range(void *ctx, int64_t begin, int64_t end)
{
    const bn_job *j = ctx;
    const bn_state *st = j->st;
    int64_t c = st->c, s, r0, rows, ch;
    for (s = begin; s < end; s++) {
        double *acc = st->part + s * 2 * c + j->pass * c;
        for (ch = 0; ch < c; ch++)
            acc[ch] = 0.0;
        rows = bn_slot_rows(st, s, &r0);
        if (j->pass == 0)
            bgm__bn_sum(j->x + r0 * c, rows, c, acc);
        else
            bgm__bn_sum_sq(j->x + r0 * c, rows, c, st->mean, acc);
    }
}

/* out[ch] = (sum over slots of part[s][offset + ch]) / m, slots in order;
 * with sync, over the ranks' rows too (st->rows, set by the first call). */
static bgm_status bn_reduce(bn_state *st, int64_t offset, float *out)
{
    int64_t ch, s;
    bgm_status e = BGM_OK;
    for (ch = 0; ch < st->c; ch++) {
        double total = 0.0;
        for (s = 0; s < st->slots; s++)
            total += st->part[s * 2 * st->c + offset + ch];
        if (st->sync)
            st->tot[ch] = total;
        else
            out[ch] = (float)(total / (double)st->m);
    }
    if (!st->sync)
        return BGM_OK;
    st->tot[st->c] = (double)st->m;
    e = bgm__comm_sum_doubles(st->sync, st->tot, st->c + 1, 2 * st->c + 1,
                              "SyncBatchNormalization's statistics", "bgm_op_batch_norm");
    st->rows = st->tot[st->c];
    for (ch = 0; e == BGM_OK && ch < st->c; ch++)
        out[ch] = (float)(st->tot[ch] / st->rows);
    return e;
}

static bgm_status bn_stats(bn_state *st, const float *x)
{
    bgm_status e;
    bn_job j;
    j.st = st;
    j.x = x;
    j.pass = 0;
    bgm__parallel_for(st->slots, 1, bn_stats_range, &j);
    e = bn_reduce(st, 0, st->mean);
    j.pass = 1;
    if (e == BGM_OK)
        bgm__parallel_for(st->slots, 1, bn_stats_range, &j);
    return e == BGM_OK ? bn_reduce(st, st->c, st->var) : e;
}

static void bn_normalize_range(void *ctx, int64_t begin, int64_t end)
{
    const bn_job *j = ctx;
    int64_t c = j->st->c;
    bgm__bn_normalize(j->x + begin * c, end - begin, c, j->st->mean, j->st->invstd,
                      j->gamma, j->beta, j->st->relu, j->y + begin * c);
}

static void bn_backward_sums_range(void *ctx, int64_t begin, int64_t end)
{
    const bn_job *j = ctx;
    const bn_state *st = j->st;
    int64_t c = st->c, s, r0, rows, ch;
    for (s = begin; s < end; s++) {
        double *acc = st->part + s * 2 * c;
        for (ch = 0; ch < 2 * c; ch++)
            acc[ch] = 0.0;
        rows = bn_slot_rows(st, s, &r0);
        bgm__bn_backward_sums(j->x + r0 * c, j->gy + r0 * c, rows, c, st->mean, st->invstd,
                              j->relu, acc, acc + c);
    }
}

static void bn_backward_dx_range(void *ctx, int64_t begin, int64_t end)
{
    const bn_job *j = ctx;
    const bn_state *st = j->st;
    int64_t c = st->c;
    bgm__bn_backward_dx(j->x + begin * c, j->gy + begin * c, end - begin, c, st->mean,
                        st->invstd, j->relu, st->coef + 2 * c, st->coef, st->coef + c,
                        j->accumulate, j->gx + begin * c);
}

/* With sync, the means of gy and gy * xhat over every rank's rows (their
 * sums in st->tot); a failure waits in the communicator for the step. */
static void bn_sync_backward(const bn_state *st, float *mean_g, float *mean_gx)
{
    int64_t ch, c = st->c;
    bgm_status e = bgm__comm_sum_doubles(st->sync, st->tot, 2 * c, 2 * c + 1,
                                         "SyncBatchNormalization's gradients",
                                         "bgm_op_batch_norm");
    if (e != BGM_OK) {
        bgm__comm_defer(st->sync, e);
        return;
    }
    for (ch = 0; ch < c; ch++) {
        mean_g[ch] = (float)(st->tot[ch] / st->rows);
        mean_gx[ch] = (float)(st->tot[c + ch] / st->rows);
    }
}

/* gin[0] = x, then gamma and beta when present; all three honour fresh. */
static void bn_backward(const bgm__node *node, const float *gout, float **gin)
{
    const bn_state *st = node->saved;
    const float *gamma = st->gamma_at >= 0 ? node->in[st->gamma_at]->data : NULL;
    float *ggamma = st->gamma_at >= 0 ? gin[st->gamma_at] : NULL;
    float *gbeta = st->beta_at >= 0 ? gin[st->beta_at] : NULL;
    float *mean_g = st->coef, *mean_gx = st->coef + st->c, *scale = st->coef + 2 * st->c;
    int fresh_gamma = st->gamma_at >= 0 && (node->fresh >> st->gamma_at & 1);
    int fresh_beta = st->beta_at >= 0 && (node->fresh >> st->beta_at & 1);
    int64_t c = st->c, ch, s;
    bgm__bn_relu relu;
    bn_job j;
    j.st = st;
    j.x = node->in[0]->data;
    j.gy = gout;
    relu.gamma = st->affine;
    relu.beta = st->affine + c;
    j.relu = st->relu ? &relu : NULL;
    j.gx = gin[0];
    j.accumulate = !(node->fresh & 1);
    bgm__parallel_for(st->slots, 1, bn_backward_sums_range, &j);
    for (ch = 0; ch < c; ch++) {
        double sum_g = 0.0, sum_gx = 0.0;
        for (s = 0; s < st->slots; s++) {
            sum_g += st->part[s * 2 * c + ch];
            sum_gx += st->part[s * 2 * c + c + ch];
        }
        if (ggamma)
            ggamma[ch] = (fresh_gamma ? 0.0f : ggamma[ch]) + (float)sum_gx;
        if (gbeta)
            gbeta[ch] = (fresh_beta ? 0.0f : gbeta[ch]) + (float)sum_g;
        /* Batch statistics depend on every row: subtract the mean of gy and
         * the projection on xhat (each scaled by gamma). */
        mean_g[ch] = st->training ? (float)(sum_g / st->rows) : 0.0f;
        mean_gx[ch] = st->training ? (float)(sum_gx / st->rows) : 0.0f;
        scale[ch] = gamma ? gamma[ch] * st->invstd[ch] : st->invstd[ch];
        if (st->sync && st->training) {
            st->tot[ch] = sum_g;
            st->tot[c + ch] = sum_gx;
        }
    }
    if (st->sync && st->training) /* every rank's rows: the sums of all */
        bn_sync_backward(st, mean_g, mean_gx);
    if (j.gx)
        bgm__parallel_for(st->m, c > 0 && c < 4096 ? 4096 / c : 1, bn_backward_dx_range, &j);
}

static const bgm__op op_batch_norm = {"batch_norm", bn_backward, 1};

/* Fails unless p (named name) is a float32 vector as long as x's last axis. */
static bgm_status check_feature_param(const char *fn, const char *name,
                                      const bgm_tensor *p, const bgm_tensor *x)
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
        s = check_feature_param(fn, "gamma", gamma, x);
    if (s == BGM_OK && beta)
        s = check_feature_param(fn, "beta", beta, x);
    if (s == BGM_OK && running_mean)
        s = check_feature_param(fn, "running_mean", running_mean, x);
    if (s == BGM_OK && running_var)
        s = check_feature_param(fn, "running_var", running_var, x);
    if (s == BGM_OK && training && x->numel == 0 && x->shape[x->ndim - 1] > 0)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has no elements to compute batch "
                         "statistics from", fn, bgm__tensor_shape_str(sx, sizeof sx, x));
    return s;
}

bgm_status bgm__op_batch_norm_sync(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                   const bgm_tensor *gamma, const bgm_tensor *beta,
                                   bgm_tensor *running_mean, bgm_tensor *running_var,
                                   float momentum, float epsilon, int training, int relu,
                                   struct bgm_comm *sync)
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
    local.sync = training ? sync : NULL;
    local.rows = (double)local.m;
    local.relu = relu != 0;
    in[nin++] = x;
    local.gamma_at = gamma ? nin : -1;
    if (gamma)
        in[nin++] = gamma;
    local.beta_at = beta ? nin : -1;
    if (beta)
        in[nin++] = beta;

    s = bgm__op_begin(&c, fn, out, tape, &op_batch_norm, in, nin,
                      x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    bn_plan(&local);
    if (c.node) {
        st = bgm__op_save(&c, sizeof *st);
        block = st ? bgm__op_save(&c, bn_block_bytes(&local)) : NULL;
        if (block) {
            *st = local;
            c.node->saved = st;
            c.node->fills_fresh = 1;
        }
    } else {
        block = bgm__scratch_alloc(bn_block_bytes(&local));
    }
    if (!block)
        return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
    bn_carve(st, block);
    for (ch = 0; st->relu && ch < st->c; ch++) { /* the forward's, for the ReLU's mask */
        st->affine[ch] = gamma ? ((const float *)gamma->data)[ch] : 1.0f;
        st->affine[st->c + ch] = beta ? ((const float *)beta->data)[ch] : 0.0f;
    }

    if (st->training) {
        s = bn_stats(st, x->data);
        if (s != BGM_OK) {
            if (!c.node)
                bgm__scratch_free(block);
            return bgm__op_fail(&c, s);
        }
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
        float factor = st->rows > 1.0 ? (float)(st->rows / (st->rows - 1.0)) : 1.0f;
        bgm__bn_update_running(running_mean->data, running_var->data, st->mean, st->var,
                               st->c, momentum, factor);
    }
    if (!c.node)
        bgm__scratch_free(block);
    return s;
}

BGM_API bgm_status bgm_op_batch_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     const bgm_tensor *gamma, const bgm_tensor *beta,
                                     bgm_tensor *running_mean, bgm_tensor *running_var,
                                     float momentum, float epsilon, int training)
{
    return bgm__op_batch_norm_sync(out, tape, x, gamma, beta, running_mean, running_var,
                                   momentum, epsilon, training, 0, NULL);
}

/* ---- layer and RMS normalization ---------------------------------------- */

/* Recording keeps the per-row mean and 1 / std (8 bytes a row) and the work
 * space of the weight gradients' partial sums, so backward never allocates;
 * x itself the tape keeps alive. */
typedef struct norm_saved {
    int64_t m, d;
    int rms;
    int gamma_at, beta_at;  /* input index of gamma / beta, -1 when absent */
    float *mean, *rstd;     /* m each */
    float *part;            /* bgm__norm_backward_slots(m, d) * 2d */
} norm_saved;

static void norm_backward(const bgm__node *node, const float *gout, float **gin)
{
    const norm_saved *sv = node->saved;
    const float *gamma = sv->gamma_at >= 0 ? node->in[sv->gamma_at]->data : NULL;
    float *ggamma = sv->gamma_at >= 0 ? gin[sv->gamma_at] : NULL;
    float *gbeta = sv->beta_at >= 0 ? gin[sv->beta_at] : NULL;
    bgm__norm_backward(node->in[0]->data, gout, sv->m, sv->d, sv->rms, gamma, sv->mean,
                       sv->rstd, gin[0], node->fresh & 1, ggamma,
                       sv->gamma_at >= 0 && (node->fresh >> sv->gamma_at & 1), gbeta,
                       sv->beta_at >= 0 && (node->fresh >> sv->beta_at & 1), sv->part);
}

static const bgm__op op_layer_norm = {"layer_norm", norm_backward, 1};
static const bgm__op op_rms_norm = {"rms_norm", norm_backward, 1};

static bgm_status normalize(const char *fn, const bgm__op *op, int rms, bgm_tensor **out,
                            bgm_tape *tape, const bgm_tensor *x, const bgm_tensor *gamma,
                            const bgm_tensor *beta, float epsilon)
{
    const bgm_tensor *in[3];
    norm_saved sv;
    bgm__op_call c;
    int nin = 0, i;
    bgm_status s = bgm__op_check(fn, out, &x, 1);
    if (s != BGM_OK)
        return s;
    if (x->ndim < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: x must have a feature axis to normalize over, "
                         "got a scalar", fn);
    if (!(epsilon > 0.0f) || isinf(epsilon))
        return bgm__fail(BGM_E_INVALID, "%s: epsilon must be finite and > 0, got %g", fn,
                         (double)epsilon);
    if (gamma && (s = check_feature_param(fn, rms ? "scale" : "gamma", gamma, x)) != BGM_OK)
        return s;
    if (beta && (s = check_feature_param(fn, "beta", beta, x)) != BGM_OK)
        return s;
    memset(&sv, 0, sizeof sv);
    sv.d = x->shape[x->ndim - 1];
    sv.m = 1;
    for (i = 0; i < x->ndim - 1; i++)
        sv.m *= x->shape[i];
    sv.rms = rms;
    in[nin++] = x;
    sv.gamma_at = gamma ? nin : -1;
    if (gamma)
        in[nin++] = gamma;
    sv.beta_at = beta ? nin : -1;
    if (beta)
        in[nin++] = beta;

    s = bgm__op_begin(&c, fn, out, tape, op, in, nin, x->shape, x->ndim, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        norm_saved *keep = bgm__op_save(&c, sizeof *keep);
        size_t rows = (size_t)sv.m * 2 * sizeof(float);
        size_t part = (size_t)(bgm__norm_backward_slots(sv.m, sv.d) * 2 * sv.d) *
                      sizeof(float);
        char *block = keep && rows + part > 0 ? bgm__op_save(&c, rows + part) : NULL;
        if (!keep || (!block && rows + part > 0))
            return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn));
        sv.mean = (float *)block;
        sv.rstd = sv.mean + sv.m;
        sv.part = (float *)(block + rows);
        *keep = sv;
        c.node->saved = keep;
        c.node->fills_fresh = 1;
    }
    bgm__norm_forward(x->data, sv.m, sv.d, epsilon, rms, gamma ? gamma->data : NULL,
                      beta ? beta->data : NULL, c.out->data, sv.mean, sv.rstd);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_layer_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                     const bgm_tensor *gamma, const bgm_tensor *beta,
                                     float epsilon)
{
    return normalize("bgm_op_layer_norm", &op_layer_norm, 0, out, tape, x, gamma, beta,
                     epsilon);
}

BGM_API bgm_status bgm_op_rms_norm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                   const bgm_tensor *scale, float epsilon)
{
    return normalize("bgm_op_rms_norm", &op_rms_norm, 1, out, tape, x, scale, NULL,
                     epsilon);
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

static const bgm__op op_dropout = {"dropout", dropout_backward, 0};

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
