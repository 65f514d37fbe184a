/*
 * evaluate over a communicator: each rank evaluates its share, then one
 * all-reduce gathers every rank's loss means, sample count and whole metric
 * states (each rank writes its own place of a zeroed buffer), and every
 * rank merges them in rank order. Metrics that are not sums of counts (AUC
 * keeps its scores, R² merges variances) come out as over all the samples at
 * once, not as a mean of the ranks' values.
 */
#include "train/dist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/comm.h"
#include "metrics/mean.h"

/* Per rank in the first reduction: its failure flag, the floats of its
 * evaluation (two exact floats), its metric and output counts. */
enum { E_FAILED, E_FLOATS_HI, E_FLOATS_LO, E_METRICS, E_OUTPUTS, E_COUNT };

#define SPLIT 16777216.0 /* 2^24: floats hold integers below it exactly */

static int64_t floats_of(const float *e)
{
    return (int64_t)e[E_FLOATS_HI] * (int64_t)SPLIT + (int64_t)e[E_FLOATS_LO];
}

/* BGM_OK when every rank evaluated and holds this model's metric and output
 * counts; else the failure every rank returns (local: this rank's status). */
static bgm_status check_heads(const float *head, int nranks, const bgm_model *m,
                              bgm_status local, const char *msg, const char *fn)
{
    char list[256];
    size_t used = 0;
    int r, failed = 0;
    list[0] = '\0';
    for (r = 0; r < nranks; r++) {
        const float *e = head + (size_t)r * E_COUNT;
        if (e[E_FAILED] == 0.0f)
            continue;
        failed++;
        if (used + 16 < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", used ? ", " : "",
                                     r);
    }
    if (local != BGM_OK)
        return bgm__fail(local, "%s", msg);
    if (failed)
        return bgm__fail(BGM_E_STATE, "%s: %d of %d ranks failed to evaluate (rank %s; see "
                         "their messages)", fn, failed, nranks, list);
    for (r = 0; r < nranks; r++) {
        const float *e = head + (size_t)r * E_COUNT;
        if ((int)e[E_METRICS] != m->nmetrics || (int)e[E_OUTPUTS] != m->noutputs)
            return bgm__fail(BGM_E_STATE, "%s: rank %d's model has %d metrics and %d outputs, "
                             "this rank's %d and %d: every rank must evaluate the same model",
                             fn, r, (int)e[E_METRICS], (int)e[E_OUTPUTS], m->nmetrics,
                             m->noutputs);
    }
    return BGM_OK;
}

/* Merges the gathered evaluations of all ranks (buf, rank r's at the sum of
 * the floats before it) into metrics and means. */
static bgm_status merge(const bgm_model *m, bgm_metric **metrics, bgm__losses means,
                        const float *buf, const float *head, int nranks, const char *fn)
{
    bgm__losses sums = {0};
    double total = 0.0, n;
    bgm_status s = BGM_OK;
    int r, i, j;
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(metrics[i]);
    for (r = 0; s == BGM_OK && r < nranks; r++) {
        const float *p = buf, *end = buf + floats_of(head + (size_t)r * E_COUNT);
        double part[1 + BGM__MAX_IO];
        int64_t used;
        for (j = 0; j <= m->noutputs; j++)
            part[j] = bgm__comm_take_double(&p);
        n = bgm__comm_take_double(&p);
        for (j = 0; j <= m->noutputs; j++)
            sums[j] += part[j] * n;
        total += n;
        for (i = 0; s == BGM_OK && i < m->nmetrics; i++) {
            s = bgm__metric_gather_merge(metrics[i], p, end - p, &used, fn);
            p += used;
        }
        buf = end;
    }
    for (j = 0; j <= m->noutputs; j++)
        means[j] = total > 0.0 ? sums[j] / total : 0.0;
    return s;
}

bgm_status bgm__dist_eval_reduce(bgm_comm *c, const bgm_model *m, bgm_metric **metrics,
                                 bgm__losses means, int64_t n, bgm_status local, int *shared,
                                 const char *fn)
{
    int rank = bgm_comm_rank(c), nranks = bgm_comm_num_ranks(c), r, i, j;
    int64_t mine = 0, total = 0, before = 0;
    float *head, *buf = NULL, *p, *e;
    char msg[1024];
    bgm_status s;
    snprintf(msg, sizeof msg, "%s", local != BGM_OK ? bgm_last_error() : "");
    if (local == BGM_OK) {
        mine = 2 * (2 + (int64_t)m->noutputs);
        for (i = 0; i < m->nmetrics; i++)
            mine += bgm__metric_gather_size(metrics[i]);
    }
    /* A rank without a buffer for a collective still joins the agreement
     * before it, so that every rank fails there instead of waiting. */
    head = calloc((size_t)nranks * E_COUNT, sizeof *head);
    s = bgm__comm_agree(c, head ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn),
                        shared, "allocate the evaluation's buffers", fn);
    if (s != BGM_OK) {
        free(head);
        return s;
    }
    e = head + (size_t)rank * E_COUNT;
    e[E_FAILED] = (float)(local != BGM_OK);
    e[E_FLOATS_HI] = (float)(mine / (int64_t)SPLIT);
    e[E_FLOATS_LO] = (float)(mine % (int64_t)SPLIT);
    e[E_METRICS] = (float)m->nmetrics;
    e[E_OUTPUTS] = (float)m->noutputs;
    s = bgm__comm_allreduce(c, head, (int64_t)nranks * E_COUNT,
                            "the sizes of the ranks' evaluations", fn);
    if (s == BGM_OK) {
        s = check_heads(head, nranks, m, local, msg, fn);
        *shared = s != BGM_OK; /* every rank saw the same heads */
    }
    for (r = 0; s == BGM_OK && r < nranks; r++) {
        before += r < rank ? floats_of(head + (size_t)r * E_COUNT) : 0;
        total += floats_of(head + (size_t)r * E_COUNT);
    }
    if (s == BGM_OK) {
        buf = calloc((size_t)total + 1, sizeof *buf);
        s = bgm__comm_agree(c, buf ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory "
                                                        "gathering the ranks' evaluations "
                                                        "(%lld floats)", fn, (long long)total),
                            shared, "allocate the evaluation's buffers", fn);
    }
    if (s == BGM_OK) {
        p = buf + before;
        for (j = 0; j <= m->noutputs; j++)
            bgm__comm_put_double(&p, means[j]);
        bgm__comm_put_double(&p, (double)n);
        for (i = 0; i < m->nmetrics; i++) {
            bgm__metric_gather_put(metrics[i], p);
            p += bgm__metric_gather_size(metrics[i]);
        }
        s = bgm__comm_allreduce(c, buf, total, "the ranks' evaluations", fn);
    }
    if (s == BGM_OK)
        s = merge(m, metrics, means, buf, head, nranks, fn);
    free(buf);
    free(head);
    return s;
}

bgm_status bgm__dist_evaluate_arrays(const bgm_model *m, bgm__infer_tapes *t,
                                     const bgm__arrays *a, int64_t batch_size,
                                     bgm_metric **metrics, bgm__losses means,
                                     bgm_status local, int *shared, const char *fn)
{
    int rank = bgm_comm_rank(m->comm), nranks = bgm_comm_num_ranks(m->comm);
    int64_t from = local == BGM_OK ? a->n * rank / nranks : 0;
    int64_t to = local == BGM_OK ? a->n * (rank + 1) / nranks : 0;
    if (local == BGM_OK)
        local = bgm__evaluate_range(m, t, a, from, to, batch_size, metrics, means, fn);
    return bgm__dist_eval_reduce(m->comm, m, metrics, means, to - from, local, shared, fn);
}
