/*
 * Data-parallel fit (distributed.h): what one fit call holds when its model
 * has a communicator, and the collective steps it takes. Every rank makes the
 * same calls in the same order; a failure on one rank travels in the sums of
 * the next reduction, so that all ranks fail together instead of waiting.
 */
#ifndef BGM_TRAIN_DIST_H
#define BGM_TRAIN_DIST_H

#include "autograd/tape.h"
#include "core/comm.h"
#include "train/train.h"

/* One bucket: a range of the step's buffer reduced as one (dist_buckets.c). */
typedef struct bgm__bucket {
    int64_t off, n;
    int size;               /* its trained weights */
    int left;               /* of them, those whose gradients are still to come */
    bgm__comm_request req;
} bgm__bucket;

/* The gradient buckets of a data-parallel fit. */
typedef struct bgm__buckets {
    bgm__bucket *b;         /* in the order they start */
    int n;                  /* buckets; 1: one reduction of the whole buffer after backward */
    int next;               /* buckets started in this step */
    int64_t *off;           /* per trained weight (and one past): its place in buf */
    int *of;                /* per trained weight: its bucket */
    int hooked;             /* this step's gradients came in through the hook */
    int64_t scale;          /*   multiplied by the batch's size */
    bgm_status error;       /* a start that failed; msg: the first failure's message */
    char msg[512];
    bgm_comm *comm;
    float *buf;
    const char *fn;
    bgm__grad_hook hook;
} bgm__buckets;

/* Plans m's buckets over buf (cap: allreduce_bucket_bytes, 0 for 25 MiB). */
bgm_status bgm__buckets_init(bgm__buckets *bk, const bgm_model *m, float *buf, bgm_comm *c,
                             int64_t cap, const char *fn);
void bgm__buckets_free(bgm__buckets *bk);

/* The hook of the last batch of a group (b samples), whose gradients it adds
 * to buf and whose buckets it starts; NULL with one bucket. */
const bgm__grad_hook *bgm__buckets_hook(bgm__buckets *bk, int64_t b);

/* Where the buckets in flight start in buf (they reach ngrads): below it
 * the buffer is the caller's to write. */
int64_t bgm__buckets_idle_end(const bgm__buckets *bk, int64_t ngrads);

/* Starts the buckets not started yet, sums tail[0..ntail) over the ranks,
 * and waits for every bucket; the step's next reductions start afresh. */
bgm_status bgm__buckets_reduce(bgm__buckets *bk, float *tail, int64_t ntail);

typedef struct bgm__dist {
    bgm_comm *comm;        /* NULL: this process trains alone (the rest is unused) */
    int rank, nranks;
    bgm_rng own_rng;       /* ranks > 0: their own dropout draws */
    bgm_rng *rng;          /* the generator of the steps' draws: m->rng on rank 0 */
    float *buf;            /* one step's collated sums (layout in dist.c) */
    int64_t ngrads, nbuf;  /* floats of the gradients at its front, of it all */
    int64_t metric_off;    /* where the metric states start in it */
    bgm_metric **metrics;  /* this step's metrics on this rank */
    bgm_metric **sink;     /* the running metrics the step's states go to (the caller's) */
    int nmetrics;
    int ngathered;         /* of them, those whose state is no sum (AUC, MSE, MAE, R2) */
    int64_t gather_off;    /* where the ranks' sizes of those states sit in buf */
    float *gbuf;           /* the step's gathered states, rank after rank */
    int64_t gcap;          /* floats gbuf holds */
    const int *cancel;     /* fit's cancel flag (bgm_fit_options.cancel), or NULL */
    int cancelled;         /* the last step found some rank's cancel flag set */
    int64_t total_b;       /* the last step's samples over all ranks */
    int shared;            /* the last failure is known to every rank */
    float *opt;            /* room for the optimizer state (rank 0's, at the start) */
    int accum;             /* gradient_accumulation_steps (the same on every rank) */
    int syncs;             /* the step's forward and backward make collective calls
                              (a synchronized BatchNormalization): a rank failing
                              before its backward ends cannot keep step with the
                              others, and must not enter the step's reduction */
    bgm_tensor **views;    /* the reduced mean gradient in buf, shaped as m->trainable */
    int group_open;        /* buf holds batches of a group not reduced yet */
    bgm_status pending;    /* a batch of the open group failed here: its status */
    char pending_msg[1024];/*   and message, given at the group's reduction */
    bgm__buckets bk;       /* the gradients' buckets */
} bgm__dist;

/* Sets d up for a fit of m over m's communicator (nothing when m has none;
 * then it returns local): checks that every rank holds the same model
 * (parameter counts compared, then state, optimizer, metrics, nsamples,
 * steps per epoch, batch_size, epochs, accum (the batches per group) and
 * bucket_bytes (allreduce_bucket_bytes)), builds the optimizer, and gives every rank rank
 * 0's weights, optimizer state and generator. local: this rank's status so
 * far; a rank that failed still comes, so that all fail together. On error
 * d keeps only comm, rank, nranks and shared. */
bgm_status bgm__dist_begin(bgm__dist *d, bgm_model *m, int64_t nsamples, int64_t steps,
                           int64_t batch_size, int epochs, int accum, int64_t bucket_bytes,
                           const int *cancel, bgm_status local, const char *fn);

/* The hook for the backward of a group's last batch (b samples), or NULL:
 * its gradients then go into the reduction buffer, bucket by bucket,
 * starting each bucket's all-reduce as soon as it is complete. */
const bgm__grad_hook *bgm__dist_hook(bgm__dist *d, int64_t b);

/* Sets d up for one train_on_batch of m over m's communicator (every rank
 * comes, local its status so far). The first call after
 * bgm_model_set_comm is bgm__dist_begin's (the models compared, rank 0's
 * weights, optimizer state and generator to all; ranks > 0 then draw from
 * a generator of their own, kept in m); later ones only agree that every
 * rank could set up. The step's draws come from m->rng on every rank. */
bgm_status bgm__dist_begin_batch(bgm__dist *d, bgm_model *m, bgm_status local,
                                 const char *fn);

/* After rank 0's callbacks ran at some point of fit (s: the status there on
 * this rank), every rank takes rank 0's decisions: its status (a failure
 * there fails every rank, when: "at the end of an epoch"), st's stop flag
 * and initial_epoch, *has_lambda (when not NULL) and the learning rate.
 * Every rank must come: call it only where s is BGM_OK on the ranks > 0
 * and only rank 0's callbacks may have failed. Without a communicator it
 * returns s. */
bgm_status bgm__dist_follow(bgm__dist *d, bgm__train_state *st, int *has_lambda,
                            bgm_status s, const char *when, const char *fn);

/* The end of fit: follows rank 0's TRAIN_END callbacks (s as above), then
 * gives every rank rank 0's final weights and moving statistics (a callback
 * may have restored the best ones). */
bgm_status bgm__dist_finish(bgm__dist *d, bgm__train_state *st, bgm_status s,
                            const char *fn);

/* Releases what begin set up. */
void bgm__dist_end(bgm__dist *d, const bgm_model *m);

/* The seed of an epoch's shuffle: drawn from m's generator on every rank,
 * rank 0's given to all. */
bgm_status bgm__dist_epoch_seed(bgm__dist *d, bgm_model *m, uint64_t *seed, const char *fn);

/* One batch of a data-parallel step, local the status of this rank's batch
 * so far (gradients grads and losses of a batch of b samples, d->metrics
 * updated, when BGM_OK; grads NULL and b = 0 add nothing). Batches before
 * the last of a group (last = 0) are summed into d->buf, a failure kept for
 * the reduction, and it returns BGM_OK with d->total_b = 0. The last one
 * adds its own, then every rank enters the reduction: after it d->views hold
 * the mean gradient and losses the mean losses over all ranks' samples of
 * the group (d->total_b of them), d->cancelled says whether any rank's
 * cancel flag was set; a failure on any rank fails every rank. */
bgm_status bgm__dist_step(bgm__dist *d, const bgm_model *m, bgm_tensor *const *grads,
                          bgm__losses losses, int64_t b, bgm_status local, int last,
                          int epoch, int64_t step, const char *fn);

/* 1 when a training step of m makes collective calls of its own: a
 * synchronized BatchNormalization that is not frozen. */
int bgm__dist_syncs_in_step(const bgm_model *m);

/* Adds the step's metric states of all ranks to metrics (after
 * bgm__dist_step succeeded): the summed ones, then the gathered ones
 * merged in rank order. Errors: BGM_E_NOMEM (this rank alone). */
bgm_status bgm__dist_add_metrics(const bgm__dist *d, bgm_metric **metrics, const char *fn);

/* evaluate over m->comm, which every rank enters whatever its local status:
 * this rank's samples [n * rank / ranks, n * (rank + 1) / ranks) of a (as
 * bgm__evaluate_arrays), then bgm__dist_eval_reduce. */
bgm_status bgm__dist_evaluate_arrays(const bgm_model *m, bgm__infer_tapes *t,
                                     const bgm__arrays *a, int64_t batch_size,
                                     bgm_metric **metrics, bgm__losses means,
                                     bgm_status local, int *shared, const char *fn);

/* After each rank evaluated its own n samples (means, metrics; local its
 * status): every rank gets the loss means and the metric states of all the
 * ranks' samples, merged in rank order; a failure on any rank (or models
 * with other metric or output counts) fails every rank, and *shared says
 * so (0 for a failure the others may not see: the transport's, memory). */
bgm_status bgm__dist_eval_reduce(bgm_comm *c, const bgm_model *m, bgm_metric **metrics,
                                 bgm__losses means, int64_t n, bgm_status local, int *shared,
                                 const char *fn);

#endif
