/*
 * Data-parallel fit over a communicator: the check that all ranks hold the
 * same model, rank 0's starting point given to all, and one all-reduce per
 * step over one buffer:
 *
 *     [ gradients of every trained weight, in m->trainable's order
 *     | b * loss (1 + noutputs) | b | failed | cancel | metric states
 *     | the size of each rank's gathered metric states (2 floats per rank) ]
 *
 * so that one collective carries the step's gradients, its losses and
 * metrics for the progress lines, and any rank's failure or cancel request.
 * Metrics whose state is a sum of counts are summed there. The others (AUC
 * keeps every score, R² merges variances, MSE and MAE sit with it) are
 * gathered whole by a second all-reduce, each rank's in its own place, and
 * merged in rank order as evaluate merges them: their values are those of
 * all the ranks' samples, never a mean of the ranks' values.
 */
#include "train/dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/comm.h"
#include "metrics/mean.h"

/* Rank 0's layout, broadcast to every rank; the fields before H_OPT_STEP
 * must be equal to rank 0's, the others are rank 0's to give. */
enum { H_PARAMS, H_STATE, H_TRAINED, H_TRAINED_NUMEL, H_OPT_STATE, H_METRIC_STATE,
       H_SAMPLES, H_STEPS, H_BATCH, H_EPOCHS, H_OUTPUTS, H_ACCUM, H_BUCKET, H_OPT_STEP,
       H_FAILED, H_COUNT };

static const char *const header_names[H_OPT_STEP] = {
    "parameters", "state values (moving statistics)", "trained weight tensors",
    "trained parameters", "optimizer state values", "metric state values",
    "training samples", "steps per epoch", "batch_size", "epochs", "outputs",
    "gradient_accumulation_steps", "allreduce_bucket_bytes"};

/* Per rank in the layout reduction: its own mismatch and failure flags and
 * its parameter count (in two exact floats). */
enum { F_MISMATCH, F_FAILED, F_PARAMS_HI, F_PARAMS_LO, F_COUNT };

#define SPLIT 16777216.0 /* 2^24: floats hold integers below it exactly */

/* Slots after the gradients. */
static int64_t slot_b(const bgm_model *m) { return 1 + m->noutputs; }

static bgm_status fail_shared(bgm__dist *d, bgm_status s)
{
    d->shared = 1;
    return s;
}

/* The run's figures prepare_local takes: nsamples, steps, batch_size, epochs,
 * accum, bucket_bytes. */
#define RUN_COUNT 6

/* This rank's side of the checks: metrics that can be summed, the optimizer
 * built, the buffers; fills h. */
static bgm_status prepare_local(bgm__dist *d, bgm_model *m, int64_t *h, const int64_t *run,
                                const char *fn)
{
    int64_t nmetric = 0, k, n;
    bgm_status s = BGM_OK;
    int i;
    memset(h, 0, H_COUNT * sizeof *h);
    s = bgm__metrics_create(m, &d->metrics);
    d->nmetrics = m->nmetrics;
    for (i = 0; s == BGM_OK && i < m->nmetrics; i++) {
        n = bgm__metric_state_size(d->metrics[i]);
        d->ngathered += n < 0;
        nmetric += n < 0 ? 0 : n;
    }
    if (d->ngathered > 0) /* each rank's size of its gathered states */
        nmetric += 2 * (int64_t)d->nranks;
    if (s == BGM_OK && m->ntrainable > 0)
        s = bgm_optimizer_build(m->optimizer, m->trainable, m->ntrainable);
    if (s != BGM_OK)
        return s;
    for (k = 0, i = 0; i < m->ntrainable; i++)
        k += bgm_tensor_numel(m->trainable[i]);
    d->ngrads = k;
    d->syncs = bgm__dist_syncs_in_step(m);
    d->metric_off = k + slot_b(m) + 3;
    d->nbuf = d->metric_off + nmetric;
    d->gather_off = d->nbuf - (d->ngathered > 0 ? 2 * (int64_t)d->nranks : 0);
    d->buf = malloc((size_t)d->nbuf * sizeof *d->buf);
    if (!d->buf)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the reduction buffer (%lld "
                         "floats)", fn, (long long)d->nbuf);
    s = bgm__grad_views(&d->views, m, d->buf, fn);
    if (s == BGM_OK)
        s = bgm__buckets_init(&d->bk, m, d->buf, d->comm, run[5], fn);
    if (s != BGM_OK)
        return s;
    d->opt = malloc(((size_t)bgm_optimizer_state_size(m->optimizer) + 1) * sizeof *d->opt);
    if (!d->opt)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the optimizer state", fn);
    h[H_PARAMS] = m->nparams;
    h[H_STATE] = m->nstate;
    h[H_TRAINED] = m->ntrainable;
    h[H_TRAINED_NUMEL] = k;
    h[H_OPT_STATE] = bgm_optimizer_state_size(m->optimizer);
    h[H_OPT_STEP] = bgm_optimizer_step_count(m->optimizer);
    h[H_METRIC_STATE] = nmetric;
    h[H_SAMPLES] = run[0];
    h[H_STEPS] = run[1];
    h[H_BATCH] = run[2];
    h[H_EPOCHS] = run[3];
    h[H_OUTPUTS] = m->noutputs;
    h[H_ACCUM] = run[4];
    h[H_BUCKET] = run[5];
    return BGM_OK;
}

/* The first way this rank's h differs from rank 0's h0, as a message; 0 when
 * they agree. */
static int describe_mismatch(char *msg, size_t size, const bgm__dist *d, const int64_t *h,
                             const int64_t *h0)
{
    int i;
    if (h0[H_FAILED]) /* rank 0's layout is unknown: its failure is what counts */
        return 0;
    for (i = 0; i < H_OPT_STEP; i++)
        if (h[i] != h0[i]) {
            snprintf(msg, size, "rank %d's model has %lld %s, rank 0's has %lld: every rank "
                     "must fit the same model, compiled alike, on the same data",
                     d->rank, (long long)h[i], header_names[i], (long long)h0[i]);
            return 1;
        }
    return 0;
}

/* The message of a rank that learns of other ranks' failure: which ranks,
 * and their parameter counts when they differ from rank 0's. */
static bgm_status others_failed(const bgm__dist *d, const float *f, const char *fn)
{
    char list[256];
    size_t used = 0;
    int r, mismatch = 0;
    list[0] = '\0';
    for (r = 0; r < d->nranks && used + 48 < sizeof list; r++) {
        const float *e = f + (size_t)r * F_COUNT;
        double params = (double)e[F_PARAMS_HI] * SPLIT + (double)e[F_PARAMS_LO];
        if (e[F_MISMATCH] == 0.0f && e[F_FAILED] == 0.0f)
            continue;
        mismatch |= e[F_MISMATCH] != 0.0f;
        used += (size_t)snprintf(list + used, sizeof list - used, "%srank %d (%.0f "
                                 "parameters%s)", used ? ", " : "", r, params,
                                 e[F_MISMATCH] != 0.0f ? "" : ", failed");
    }
    if (mismatch)
        return bgm__fail(BGM_E_STATE, "%s: the ranks' models do not match: rank 0's has "
                         "%.0f parameters; differing: %s; no step was taken", fn,
                         (double)f[F_PARAMS_HI] * SPLIT + (double)f[F_PARAMS_LO], list);
    return bgm__fail(BGM_E_STATE, "%s: %s could not start data-parallel training (see "
                     "its message); no step was taken", fn, list);
}

/* Every rank learns whether some rank's model differs or its setup failed
 * (local: this rank's status so far, its message in msg), in f (nranks *
 * F_COUNT floats, allocated by the caller before any collective; NULL when
 * that failed: then all ranks learn that first, and fail). */
static bgm_status agree(bgm__dist *d, const bgm_model *m, float *f, bgm_status local,
                        int mismatch, const char *msg, const char *fn)
{
    float *mine;
    bgm_status s = f ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory for the check "
                                          "that all ranks hold the same model", fn);
    int r, any = 0, shared = 0;
    s = bgm__comm_agree(d->comm, s, &shared, "allocate the start-up check", fn);
    if (s != BGM_OK)
        return shared ? fail_shared(d, s) : s;
    mine = f + (size_t)d->rank * F_COUNT;
    mine[F_MISMATCH] = (float)mismatch;
    mine[F_FAILED] = (float)(local != BGM_OK);
    mine[F_PARAMS_HI] = (float)floor((double)m->nparams / SPLIT);
    mine[F_PARAMS_LO] = (float)((double)m->nparams - (double)mine[F_PARAMS_HI] * SPLIT);
    s = bgm__comm_allreduce(d->comm, f, (int64_t)d->nranks * F_COUNT,
                            "the check that all ranks hold the same model", fn);
    for (r = 0; s == BGM_OK && r < d->nranks; r++)
        any |= f[r * F_COUNT + F_MISMATCH] != 0.0f || f[r * F_COUNT + F_FAILED] != 0.0f;
    if (s == BGM_OK && any) {
        if (local != BGM_OK || mismatch)
            s = bgm__fail(local != BGM_OK ? local : BGM_E_STATE, "%s%s%s",
                          mismatch ? fn : "", mismatch ? ": " : "", msg);
        else
            s = others_failed(d, f, fn);
        s = fail_shared(d, s);
    }
    return s;
}

/* Rank 0's weights, moving statistics, optimizer state and generator to all. */
static bgm_status broadcast_start(bgm__dist *d, bgm_model *m, int64_t opt_step,
                                  const char *fn)
{
    int64_t nopt = bgm_optimizer_state_size(m->optimizer);
    bgm_status s = bgm__comm_broadcast0(d->comm, m->params, m->nparams * (int64_t)sizeof(float),
                                        "rank 0's weights", fn);
    if (s == BGM_OK && m->nstate > 0)
        s = bgm__comm_broadcast0(d->comm, m->state, m->nstate * (int64_t)sizeof(float),
                                 "rank 0's moving statistics", fn);
    if (s == BGM_OK && nopt > 0) { /* in d->opt, allocated before the first collective */
        s = bgm_optimizer_get_state(m->optimizer, d->opt, nopt, NULL);
        if (s == BGM_OK)
            s = bgm__comm_broadcast0(d->comm, d->opt, nopt * (int64_t)sizeof *d->opt,
                                     "rank 0's optimizer state", fn);
        if (s == BGM_OK)
            s = bgm_optimizer_set_state(m->optimizer, d->opt, nopt, opt_step);
    }
    if (s == BGM_OK)
        s = bgm__comm_broadcast0(d->comm, &m->rng, (int64_t)sizeof m->rng,
                                 "rank 0's generator", fn);
    return s;
}

bgm_status bgm__dist_begin(bgm__dist *d, bgm_model *m, int64_t nsamples, int64_t steps,
                           int64_t batch_size, int epochs, int accum, int64_t bucket_bytes,
                           const int *cancel, bgm_status local, const char *fn)
{
    const int64_t run[RUN_COUNT] = {nsamples, steps, batch_size, epochs, accum, bucket_bytes};
    int64_t h[H_COUNT], h0[H_COUNT];
    char msg[1024];
    float *f;
    bgm_status s;
    int mismatch = 0;
    memset(d, 0, sizeof *d);
    memset(h, 0, sizeof h);
    d->rng = &m->rng;
    if (!m->comm)
        return local;
    d->comm = m->comm;
    d->rank = bgm_comm_rank(d->comm);
    d->nranks = bgm_comm_num_ranks(d->comm);
    d->cancel = cancel;
    d->accum = accum;
    if (local == BGM_OK)
        local = prepare_local(d, m, h, run, fn);
    /* Every buffer of the collectives below exists before the first. */
    f = calloc((size_t)d->nranks * F_COUNT, sizeof *f);
    snprintf(msg, sizeof msg, "%s", local != BGM_OK ? bgm_last_error() : "");
    h[H_FAILED] = local != BGM_OK;
    memcpy(h0, h, sizeof h0);
    s = bgm__comm_broadcast0(d->comm, h0, (int64_t)sizeof h0, "rank 0's model layout", fn);
    if (s == BGM_OK && local == BGM_OK)
        mismatch = describe_mismatch(msg, sizeof msg, d, h, h0);
    if (s == BGM_OK)
        s = agree(d, m, f, local, mismatch, msg, fn);
    free(f);
    if (s == BGM_OK)
        s = broadcast_start(d, m, h0[H_OPT_STEP], fn);
    if (s == BGM_OK && d->rank > 0) {
        /* Dropout draws of its own, from rank 0's generator as it now is. */
        bgm_rng copy = m->rng;
        bgm__rng_seed(&d->own_rng,
                      bgm_rng_next_u64(&copy) ^ (0x9E3779B97F4A7C15ull * (uint64_t)d->rank));
        d->rng = &d->own_rng;
    }
    if (s != BGM_OK) { /* what fit still needs: who this is, whether all know */
        bgm__dist d_keep = *d;
        bgm__dist_end(d, m);
        d->comm = d_keep.comm;
        d->rank = d_keep.rank;
        d->nranks = d_keep.nranks;
        d->shared = d_keep.shared;
        d->rng = &m->rng;
    }
    return s;
}

bgm_status bgm__dist_begin_batch(bgm__dist *d, bgm_model *m, bgm_status local,
                                 const char *fn)
{
    const int64_t run[RUN_COUNT] = {0, 0, 0, 0, 1, 0}; /* no epochs: batch sizes may differ */
    int64_t h[H_COUNT];
    bgm_status s;
    int shared = 0;
    if (!m->comm_synced) {
        s = bgm__dist_begin(d, m, 0, 0, 0, 0, 1, 0, NULL, local, fn);
        if (s == BGM_OK && d->rank > 0) /* its own draws, from call to call */
            m->rng = d->own_rng;
        d->rng = &m->rng;
        m->comm_synced = s == BGM_OK;
        return s;
    }
    memset(d, 0, sizeof *d);
    d->comm = m->comm;
    d->rank = bgm_comm_rank(d->comm);
    d->nranks = bgm_comm_num_ranks(d->comm);
    d->accum = 1;
    d->rng = &m->rng;
    if (local == BGM_OK)
        local = prepare_local(d, m, h, run, fn);
    /* the step's buffers exist on every rank before its reduction */
    s = bgm__comm_agree(d->comm, local, &shared, "set up its step", fn);
    if (s != BGM_OK) {
        bgm__dist_end(d, m);
        d->comm = m->comm;
        d->shared = shared;
    }
    return s;
}

bgm_status bgm__dist_follow(bgm__dist *d, bgm__train_state *st, int *has_lambda,
                            bgm_status s, const char *when, const char *fn)
{
    struct {
        int32_t status, stop, initial_epoch, has_lambda;
        float lr;
    } c;
    bgm_status e;
    if (!d->comm)
        return s;
    memset(&c, 0, sizeof c);
    c.status = (int32_t)s;
    c.stop = st->stop;
    c.initial_epoch = st->initial_epoch;
    c.has_lambda = has_lambda ? *has_lambda : 0;
    c.lr = bgm_optimizer_get_lr(st->model->optimizer);
    e = bgm__comm_broadcast0(d->comm, &c, (int64_t)sizeof c, "rank 0's callbacks' decisions",
                             fn);
    if (s != BGM_OK) { /* its own failure first; with rank 0's, every rank knows */
        d->shared |= d->rank == 0 || c.status != BGM_OK;
        return s;
    }
    if (e != BGM_OK)
        return e;
    if (c.status != BGM_OK)
        return fail_shared(d, bgm__fail(BGM_E_STATE, "%s: rank 0 failed %s (%s; see its "
                                        "message)", fn, when,
                                        bgm_status_string((bgm_status)c.status)));
    st->stop = c.stop;
    st->initial_epoch = c.initial_epoch;
    if (has_lambda)
        *has_lambda = c.has_lambda;
    if (d->rank > 0 && c.lr != bgm_optimizer_get_lr(st->model->optimizer))
        return bgm_optimizer_set_lr(st->model->optimizer, c.lr);
    return BGM_OK;
}

bgm_status bgm__dist_finish(bgm__dist *d, bgm__train_state *st, bgm_status s,
                            const char *fn)
{
    bgm_model *m = st->model;
    s = bgm__dist_follow(d, st, NULL, s, "at the end of training", fn);
    if (s == BGM_OK && d->comm)
        s = bgm__comm_broadcast0(d->comm, m->params, m->nparams * (int64_t)sizeof(float),
                                 "rank 0's final weights", fn);
    if (s == BGM_OK && d->comm && m->nstate > 0)
        s = bgm__comm_broadcast0(d->comm, m->state, m->nstate * (int64_t)sizeof(float),
                                 "rank 0's final moving statistics", fn);
    return s;
}

void bgm__dist_end(bgm__dist *d, const bgm_model *m)
{
    bgm__metrics_free(d->metrics, d->nmetrics);
    bgm__grad_views_free(d->views, m);
    bgm__buckets_free(&d->bk);
    free(d->buf);
    free(d->gbuf);
    free(d->opt);
    memset(d, 0, sizeof *d);
}

bgm_status bgm__dist_epoch_seed(bgm__dist *d, bgm_model *m, uint64_t *seed, const char *fn)
{
    *seed = bgm_rng_next_u64(&m->rng);
    return bgm__comm_broadcast0(d->comm, seed, (int64_t)sizeof *seed,
                                "the epoch's shuffling seed", fn);
}

/* Adds this rank's batch (b samples; grads NULL: none) to the group in
 * d->buf, which a new group starts from zero. */
static void add_batch(bgm__dist *d, const bgm_model *m, bgm_tensor *const *grads,
                      const bgm__losses losses, int64_t b)
{
    float *p = d->buf, *tail = d->buf + d->ngrads;
    int64_t n, k;
    int i, j;
    if (!d->group_open)
        memset(d->buf, 0, (size_t)d->metric_off * sizeof *d->buf);
    d->group_open = 1;
    if (!grads)
        return;
    /* b times the mean over this rank's samples: their sum, which the
     * batches of the group and the ranks add up (bgm__dist_hook's batch
     * added its gradients during backward). */
    for (i = 0; !d->bk.hooked && i < m->ntrainable; i++) {
        const float *g = bgm_tensor_data(grads[i]);
        n = bgm_tensor_numel(grads[i]);
        for (k = 0; k < n; k++)
            p[k] += g[k] * (float)b;
        p += n;
    }
    for (j = 0; j <= m->noutputs; j++)
        tail[j] += (float)(losses[j] * (double)b);
    tail[slot_b(m)] += (float)b;
}

/* 1 when metric i's state is gathered whole rather than summed. */
static int gathered(const bgm__dist *d, int i)
{
    return bgm__metric_state_size(d->metrics[i]) < 0;
}

/* Writes this rank's part of the group's reduction into d->buf: its sums,
 * the failure and cancel flags, the metric states of its batches that are
 * sums, and the size of the others (kept for gather_metrics). */
static void pack(bgm__dist *d, const bgm_model *m, bgm_tensor *const *grads,
                 const bgm__losses losses, int64_t b, bgm_status local)
{
    float *p, *tail = d->buf + d->ngrads;
    int64_t own = 0;
    int i;
    if (local != BGM_OK) { /* nothing of a failed group counts; buckets in flight stay */
        memset(d->buf, 0, (size_t)bgm__buckets_idle_end(&d->bk, d->ngrads) * sizeof *d->buf);
        memset(tail, 0, (size_t)(d->nbuf - d->ngrads) * sizeof *d->buf);
        tail[slot_b(m) + 1] = 1.0f;
    } else {
        add_batch(d, m, grads, losses, b);
        tail[slot_b(m) + 1] = 0.0f;
        p = d->buf + d->metric_off;
        for (i = 0; i < d->nmetrics; i++) {
            if (gathered(d, i)) {
                own += bgm__metric_gather_size(d->metrics[i]);
                continue;
            }
            bgm__metric_state_get(d->metrics[i], p);
            p += bgm__metric_state_size(d->metrics[i]);
        }
        if (d->ngathered > 0) {
            p = d->buf + d->gather_off;
            memset(p, 0, 2 * (size_t)d->nranks * sizeof *p);
            p[2 * d->rank] = (float)(own / (int64_t)SPLIT);
            p[2 * d->rank + 1] = (float)(own % (int64_t)SPLIT);
        }
    }
    for (i = 0; i < d->nmetrics; i++)
        if (local != BGM_OK || !gathered(d, i))
            bgm_metric_reset(d->metrics[i]);
    tail[slot_b(m) + 2] = (float)(d->cancel && __atomic_load_n(d->cancel, __ATOMIC_ACQUIRE));
    d->group_open = 0;
}

/* Rank r's floats of gathered metric states, as the step's reduction summed them. */
static int64_t gathered_size(const bgm__dist *d, int r)
{
    const float *g = d->buf + d->gather_off + 2 * r;
    return (int64_t)g[0] * (int64_t)SPLIT + (int64_t)g[1];
}

/* After the step's reduction: every rank's gathered metric states to every
 * rank (in d->gbuf, rank after rank), by one all-reduce of a zeroed buffer
 * in which each rank writes its own. gbuf only grows, and so does the room
 * the running metrics (d->sink) need to merge them (AUC's scores, the
 * regression's outputs), so that the merge cannot fail on one rank alone;
 * when either must grow (on every rank at the same step: it depends on
 * states every rank holds alike), a one-float agreement first, so that a
 * rank out of memory fails every rank instead of leaving them waiting. */
static bgm_status gather_metrics(bgm__dist *d, const char *fn)
{
    int64_t total = 0, before = 0;
    bgm_status s = BGM_OK, e;
    float *p;
    int r, i, shared = 0, grew;
    for (r = 0; r < d->nranks; r++) {
        before += r < d->rank ? gathered_size(d, r) : 0;
        total += gathered_size(d, r);
    }
    grew = total > d->gcap;
    if (grew) {
        float *grown = malloc((size_t)total * sizeof *grown);
        if (grown) {
            free(d->gbuf);
            d->gbuf = grown;
            d->gcap = total;
        } else {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory gathering the ranks' metric "
                          "states (%lld floats)", fn, (long long)total);
        }
    }
    for (i = 0; i < d->nmetrics; i++) {
        int g = 0;
        if (!gathered(d, i))
            continue;
        e = bgm__metric_gather_reserve(d->sink[i], total, &g, fn);
        s = s != BGM_OK ? s : e;
        grew |= g;
    }
    if (grew)
        s = bgm__comm_agree(d->comm, s, &shared, "allocate a step's metric states", fn);
    if (s == BGM_OK) {
        memset(d->gbuf, 0, (size_t)total * sizeof *d->gbuf);
        p = d->gbuf + before;
        for (i = 0; i < d->nmetrics; i++)
            if (gathered(d, i)) {
                bgm__metric_gather_put(d->metrics[i], p);
                p += bgm__metric_gather_size(d->metrics[i]);
            }
    }
    for (i = 0; i < d->nmetrics; i++) /* the next group starts afresh, failed or not */
        if (gathered(d, i))
            bgm_metric_reset(d->metrics[i]);
    if (s == BGM_OK)
        s = bgm__comm_allreduce(d->comm, d->gbuf, total, "a step's metric states", fn);
    return shared ? fail_shared(d, s) : s;
}

bgm_status bgm__dist_step(bgm__dist *d, const bgm_model *m, bgm_tensor *const *grads,
                          bgm__losses losses, int64_t b, bgm_status local, int last,
                          int epoch, int64_t step, const char *fn)
{
    const float *tail = d->buf + d->ngrads;
    float *p = d->buf, total_b;
    char msg[1024];
    bgm_status s;
    int64_t k;
    int j, failed;
    d->total_b = 0;
    if (local == BGM_OK) /* a failure in backward (SyncBatchNormalization's reduction) */
        local = bgm__comm_deferred(d->comm);
    if (local != BGM_OK && d->pending == BGM_OK) { /* told at the group's reduction */
        d->pending = local;
        snprintf(d->pending_msg, sizeof d->pending_msg, "%s", bgm_last_error());
    }
    if (!last) {
        if (d->pending == BGM_OK)
            add_batch(d, m, grads, losses, b);
        return BGM_OK;
    }
    local = d->pending;
    snprintf(msg, sizeof msg, "%s", local != BGM_OK ? d->pending_msg : "");
    d->pending = BGM_OK;
    pack(d, m, grads, losses, b, local);
    if (d->bk.n > 1) /* the buckets' reductions, started in backward, and the rest */
        s = bgm__buckets_reduce(&d->bk, d->buf + d->ngrads, d->nbuf - d->ngrads);
    else
        s = bgm__comm_allreduce(d->comm, d->buf, d->nbuf, "a step's gradients", fn);
    if (s != BGM_OK)
        return s;
    d->cancelled = tail[slot_b(m) + 2] != 0.0f;
    failed = (int)lrintf(tail[slot_b(m) + 1]);
    if (failed > 0 && local != BGM_OK)
        return fail_shared(d, bgm__fail(local, "%s", msg));
    if (failed > 0)
        return fail_shared(d, bgm__fail(BGM_E_STATE, "%s: epoch %d, step %lld: %d of %d ranks "
                                        "failed (see their messages); the step was not "
                                        "applied", fn, epoch + 1, (long long)step + 1,
                                        failed, d->nranks));
    if (d->ngathered > 0 && (s = gather_metrics(d, fn)) != BGM_OK)
        return s;
    d->total_b = (int64_t)lrintf(tail[slot_b(m)]);
    for (j = 0; j <= m->noutputs; j++)
        losses[j] = (double)tail[j] / (double)tail[slot_b(m)];
    /* The mean over all ranks' samples, in place (d->views). With equal
     * power-of-two batches (arrays of batch_size 2^k) and no accumulation
     * this is bit for bit the mean of the ranks' means; a stream's last,
     * shorter batch counts by its size. */
    total_b = tail[slot_b(m)];
    for (k = 0; k < d->ngrads; k++)
        p[k] /= total_b;
    return BGM_OK;
}

const bgm__grad_hook *bgm__dist_hook(bgm__dist *d, int64_t b)
{
    if (d->bk.n < 2 || d->pending != BGM_OK)
        return NULL;
    if (!d->group_open) /* before any bucket is in flight */
        memset(d->buf, 0, (size_t)d->metric_off * sizeof *d->buf);
    d->group_open = 1;
    return bgm__buckets_hook(&d->bk, b);
}

int bgm__dist_syncs_in_step(const bgm_model *m)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (m->layers[i]->synchronized && !bgm__model_layer_frozen(m, i, 1))
            return 1;
    return 0;
}

bgm_status bgm__dist_add_metrics(const bgm__dist *d, bgm_metric **metrics, const char *fn)
{
    const float *p = d->buf + d->metric_off, *end;
    bgm_status s = BGM_OK;
    int64_t used;
    int i, r;
    for (i = 0; i < d->nmetrics; i++) {
        if (gathered(d, i))
            continue;
        bgm__metric_state_add(metrics[i], p);
        p += bgm__metric_state_size(metrics[i]);
    }
    p = d->gbuf;
    for (r = 0; d->ngathered > 0 && s == BGM_OK && r < d->nranks; r++) {
        end = p + gathered_size(d, r);
        for (i = 0; s == BGM_OK && i < d->nmetrics; i++)
            if (gathered(d, i)) {
                s = bgm__metric_gather_merge(metrics[i], p, end - p, &used, fn);
                p += used;
            }
        p = end;
    }
    return s;
}

BGM_API bgm_status bgm_model_set_comm(bgm_model *m, bgm_comm *c)
{
    static const char *fn = "bgm_model_set_comm";
    BGM__CHECK_NULL(m, fn);
    if (m->fitting)
        return bgm__fail(BGM_E_STATE, "%s: fit is running on this model (called from a "
                         "callback?)", fn);
    m->comm = c;
    m->comm_synced = 0;
    return BGM_OK;
}

BGM_API bgm_comm *bgm_model_comm(const bgm_model *m)
{
    return m ? m->comm : NULL;
}
