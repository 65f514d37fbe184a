/*
 * fit: the Keras training loop, for models of any number of inputs and
 * outputs. Epochs walk the training data in batches (the same samples of
 * every tensor), each a training step of step.c; they end with validation,
 * callbacks, the progress line and a history entry.
 */
#include "train/dist.h"

#include "core/comm.h"
#include "data/dataset_impl.h"
#include "data/stream.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of the first published bgm_fit_options. */
#define FIT_OPTIONS_V1_SIZE (offsetof(bgm_fit_options, cancel) + sizeof(const int *))

BGM_API bgm_status bgm_fit_options_init(bgm_fit_options *opts, size_t size)
{
    static const char *fn = "bgm_fit_options_init";
    bgm_status s;
    BGM__CHECK_NULL(opts, fn);
    s = bgm__options_init_check(size, FIT_OPTIONS_V1_SIZE, sizeof *opts, "bgm_fit_options",
                                fn);
    if (s != BGM_OK)
        return s;
    memset(opts, 0, size);
    opts->size = size;
    opts->epochs = 1;
    opts->batch_size = 32;
    opts->shuffle = 1;
    opts->verbose = 1;
    if (size >= offsetof(bgm_fit_options, gradient_accumulation_steps) + sizeof(int))
        opts->gradient_accumulation_steps = 1;
    return BGM_OK;
}

static bgm_status read_options(bgm_fit_options *o, const bgm_fit_options *opts,
                               const char *fn)
{
    bgm_fit_options_init(o, sizeof *o);
    if (!opts)
        return BGM_OK;
    if (bgm__options_read_check(opts->size, FIT_OPTIONS_V1_SIZE, sizeof *o,
                                "bgm_fit_options_init", fn) != BGM_OK)
        return BGM_E_INVALID;
    memcpy(o, opts, opts->size);
    if (o->epochs < 0 || o->initial_epoch < 0)
        return bgm__fail(BGM_E_INVALID, "%s: epochs = %d and initial_epoch = %d must not be "
                         "negative", fn, o->epochs, o->initial_epoch);
    if (o->batch_size < 1)
        return bgm__fail(BGM_E_INVALID, "%s: batch_size = %lld, expected at least 1", fn,
                         (long long)o->batch_size);
    if (!(o->validation_split >= 0.0 && o->validation_split < 1.0))
        return bgm__fail(BGM_E_INVALID, "%s: validation_split = %g, expected a fraction in "
                         "[0, 1)", fn, o->validation_split);
    if (o->gradient_accumulation_steps < 1)
        return bgm__fail(BGM_E_INVALID, "%s: gradient_accumulation_steps = %d, expected at "
                         "least 1 (1: one optimizer step per batch)", fn,
                         o->gradient_accumulation_steps);
    if (o->allreduce_bucket_bytes < 0)
        return bgm__fail(BGM_E_INVALID, "%s: allreduce_bucket_bytes = %lld, expected at "
                         "least 0 (0: 25 MiB)", fn, (long long)o->allreduce_bucket_bytes);
    if (o->verbose < 0 || o->verbose > 2)
        return bgm__fail(BGM_E_INVALID, "%s: verbose = %d, expected 0, 1 or 2", fn,
                         o->verbose);
    if (o->num_callbacks < 0 || (o->num_callbacks > 0 && !o->callbacks))
        return bgm__fail(BGM_E_INVALID, "%s: num_callbacks = %d with callbacks %s", fn,
                         o->num_callbacks, o->callbacks ? "given" : "NULL");
    for (int i = 0; i < o->num_callbacks; i++)
        if (!o->callbacks[i])
            return bgm__fail(BGM_E_INVALID, "%s: callbacks[%d] is NULL", fn, i);
    if (!o->validation_x != !o->validation_y)
        return bgm__fail(BGM_E_INVALID, "%s: validation_x and validation_y go together; "
                         "only %s is set", fn, o->validation_x ? "validation_x" : "validation_y");
    if (!o->validation_xs != !o->validation_ys)
        return bgm__fail(BGM_E_INVALID, "%s: validation_xs and validation_ys go together; "
                         "only %s is set", fn,
                         o->validation_xs ? "validation_xs" : "validation_ys");
    if (o->validation_xs && o->validation_x)
        return bgm__fail(BGM_E_INVALID, "%s: set validation_x / _y or validation_xs / _ys, "
                         "not both", fn);
    return BGM_OK;
}

/* Everything one fit call holds. */
typedef struct fit_run {
    bgm_model *m;
    bgm_fit_options o;
    bgm_dataset *train;              /* views of the checked training arrays */
    bgm__arrays val;                 /* checked validation arrays (val.n = 0: none) */
    bgm_dataset *val_views;          /* holds the validation split's views, or NULL */
    bgm_batch_iter *it;
    bgm_stream *stream, *val_stream; /* streamed training / validation data, or NULL */
    int64_t steps, val_steps;        /* their step limits per epoch (0: the whole pass) */
    int streams_open;                /* bgm__stream_open succeeded on both */
    bgm_metric **metrics, **val_metrics;
    bgm_tensor **grads;              /* the tape's gradients of one step */
    bgm__accum acc;                  /* the batches of one optimizer step */
    bgm_history *history;
    bgm__progress progress;
    bgm__train_state st;
    int ncb;                         /* callbacks run here: all, or none on ranks > 0 */
    int callbacks_begun;
    int has_lambda;
    int weighted;                    /* train has the sample weights as last targets */
    const bgm_tensor *sw;            /* a streamed batch's sample weights, or NULL */
    int64_t ntrain;                  /* training samples (arrays; 0 for streams) */
    bgm__dist dist;                  /* the data-parallel side (dist.comm NULL: none) */
} fit_run;

static int cancelled(const fit_run *r)
{
    if (r->dist.comm) /* any rank's flag, as the step's reduction found them */
        return r->dist.cancelled;
    return r->o.cancel && __atomic_load_n(r->o.cancel, __ATOMIC_ACQUIRE) != 0;
}

/* logs = the means of the sums over seen samples, and the metrics. */
static bgm_status collect_means(bgm_logs *logs, const bgm_model *m, bgm_metric **metrics,
                                const bgm__losses sums, int64_t seen)
{
    bgm__losses means;
    int j;
    for (j = 0; j <= m->noutputs; j++)
        means[j] = seen ? sums[j] / (double)seen : 0.0;
    return bgm__logs_collect(logs, m, metrics, means, "");
}

/* The validation values of the epoch, into logs. */
static bgm_status validate(fit_run *r, bgm_logs *logs, const char *fn)
{
    bgm__losses means;
    bgm__infer_tapes *t = bgm__infer_tapes_take(r->m);
    int64_t samples = 0;
    bgm_status s = t ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory for validation", fn);
    /* With a communicator every rank validates its share of the arrays (or
     * its own stream) and all get the values of all, failures included. */
    if (s == BGM_OK && r->val_stream)
        s = bgm__evaluate_stream(r->m, t, r->val_stream, r->val_steps, r->val_metrics, means,
                                 &samples, "validation_x", "validation_y", fn);
    if (r->val_stream && r->dist.comm)
        s = bgm__dist_eval_reduce(r->dist.comm, r->m, r->val_metrics, means, samples, s,
                                  &r->dist.shared, fn);
    else if (r->dist.comm)
        s = bgm__dist_evaluate_arrays(r->m, t, &r->val, r->o.batch_size, r->val_metrics, means,
                                      s, &r->dist.shared, fn);
    else if (s == BGM_OK && !r->val_stream)
        s = bgm__evaluate_arrays(r->m, t, &r->val, r->o.batch_size, r->val_metrics, means,
                                 fn);
    if (t)
        bgm__infer_tapes_give(r->m, t);
    if (s == BGM_OK)
        s = bgm__logs_collect(logs, r->m, r->val_metrics, means, "val_");
    return s;
}

/* The next training batch of the epoch into xb, yb (checked against the
 * model; views a frees), *more = 0 at its end. */
static bgm_status next_batch(fit_run *r, int *more, const bgm_tensor **xb,
                             const bgm_tensor **yb, bgm__arrays *a, int64_t step,
                             const char *fn)
{
    bgm_model *m = r->m;
    bgm_status s;
    /* Sample weights ride along as one more targets tensor. */
    if (!r->stream) {
        s = bgm_batch_iter_next_multi(more, xb, m->ninputs, yb, m->noutputs + r->weighted,
                                      r->it);
        r->sw = r->weighted ? yb[m->noutputs] : NULL;
        return s;
    }
    *more = 0;
    if (r->steps > 0 && step >= r->steps)
        return BGM_OK;
    s = bgm__stream_batch(r->stream, more, a, m, r->o.class_weight, r->o.num_class_weights,
                          "x", "y", fn);
    if (s == BGM_OK && *more) {
        memcpy(xb, a->x, sizeof a->x);
        memcpy(yb, a->y, sizeof a->y);
        r->sw = a->w;
    }
    return s;
}

/* Steps one epoch takes, as far as known before it runs (-1: unknown). */
static int64_t epoch_steps(const fit_run *r)
{
    int64_t known;
    if (!r->stream)
        return bgm_batch_iter_num_batches(r->it);
    known = bgm_stream_batches_per_epoch(r->stream);
    if (r->steps > 0 && (known < 0 || r->steps < known))
        return r->steps;
    return known;
}

/* A rank whose next batch failed (s: a stream's error, memory for the
 * batch's views) or whose stream ended before steps_per_epoch still joins
 * the reduction the others come to next, so that all fail there together:
 * at the end of this batch's group, or after the epoch's last batch (or a
 * stop); on the way it takes rank 0's decisions at every batch end, as they
 * do when callbacks want batches. */
static bgm_status batch_missing(fit_run *r, bgm_status s, int epoch, int64_t step,
                               const char *fn)
{
    bgm__losses losses = {0};
    int64_t steps = r->stream ? r->steps : epoch_steps(r);
    bgm_status e;
    if (s == BGM_OK)
        s = bgm__fail(BGM_E_INVALID, "%s: rank %d's stream ended after %lld of "
                      "steps_per_epoch = %lld batches in epoch %d", fn, r->dist.rank,
                      (long long)step, (long long)r->steps, epoch + 1);
    if (r->dist.syncs) /* the others are in a synchronized BatchNormalization's reduction */
        return s;
    while (r->acc.count + 1 < r->acc.k) {
        if (r->has_lambda) {
            e = bgm__dist_follow(&r->dist, &r->st, NULL, BGM_OK, "at the end of a batch", fn);
            if (e != BGM_OK)
                return e;
        }
        if (step + 1 >= steps || r->st.stop)
            break;
        r->acc.count++;
        step++;
    }
    r->dist.sink = r->metrics;
    return bgm__dist_step(&r->dist, r->m, NULL, losses, 0, s, 1, epoch, step, fn);
}

static bgm_status run_epoch(fit_run *r, int epoch, const char *fn)
{
    bgm_model *m = r->m;
    const bgm_tensor *xb[BGM__MAX_IO], *yb[BGM__MAX_IO + 1];
    bgm__arrays a;
    int64_t steps = epoch_steps(r), step = 0, seen = 0;
    bgm__losses sums = {0}, losses;
    bgm_logs logs;
    char nan_msg[1024];
    bgm_status s = BGM_OK;
    int i, more;
    logs.n = 0;
    for (i = 0; s == BGM_OK && i < r->ncb; i++)
        s = bgm__callback_epoch_begin(r->o.callbacks[i], &r->st, epoch, &logs);
    s = bgm__dist_follow(&r->dist, &r->st, NULL, s, "at the start of an epoch", fn);
    if (s != BGM_OK)
        return s;
    bgm__progress_epoch_begin(&r->progress, epoch, r->o.epochs, steps);
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(r->metrics[i]);
    /* The epoch's order is drawn from the model's generator here, between
     * the previous epoch's dropout draws and this one's, so that a model
     * saved after epoch e and resumed with initial_epoch = e + 1 draws
     * exactly what an uninterrupted fit would. */
    if (r->stream) {
        s = bgm__stream_begin(r->stream, fn);
    } else if (r->o.shuffle && r->dist.comm) {
        uint64_t seed;
        s = bgm__dist_epoch_seed(&r->dist, m, &seed, fn);
        if (s == BGM_OK)
            s = bgm_batch_iter_shuffle(r->it, seed);
    } else if (r->o.shuffle) {
        s = bgm_batch_iter_shuffle(r->it, bgm_rng_next_u64(&m->rng));
    } else {
        bgm_batch_iter_reset(r->it);
    }
    if (s != BGM_OK)
        return s;
    memset(&a, 0, sizeof a);
    while ((s = next_batch(r, &more, xb, yb, &a, step, fn)) == BGM_OK && more) {
        int64_t b = bgm_tensor_dim(xb[0], 0);
        int nan_loss;
        s = bgm__train_batch(m, r->dist.comm ? &r->dist : NULL, &r->acc, xb, yb, r->sw,
                             r->grads, r->metrics, losses, epoch, step, fn);
        if (r->dist.comm) /* the losses are the means over all ranks' samples */
            b = r->dist.total_b;
        bgm__arrays_free(&a);
        /* A non-finite loss still ends its batch for the callbacks, so that
         * one of them (TerminateOnNaN) may stop training cleanly. */
        nan_loss = s == BGM_E_NONFINITE && !isfinite(losses[0]) && r->has_lambda;
        if (s != BGM_OK && !nan_loss)
            return s;
        if (nan_loss)
            snprintf(nan_msg, sizeof nan_msg, "%s", bgm_last_error());
        for (i = 0; i <= m->noutputs; i++)
            sums[i] += losses[i] * (double)b;
        seen += b;
        step++;
        if (r->has_lambda || bgm__progress_due(&r->progress, step)) {
            s = collect_means(&logs, m, r->metrics, sums, seen);
            if (s != BGM_OK)
                return s;
            bgm__progress_update(&r->progress, step, &logs);
            for (i = 0; s == BGM_OK && i < r->ncb; i++)
                s = bgm__callback_batch_end(r->o.callbacks[i], &r->st, epoch, step - 1,
                                            &logs);
            if (r->has_lambda) /* every rank comes here at every step */
                s = bgm__dist_follow(&r->dist, &r->st, NULL, s, "at the end of a batch", fn);
            if (s != BGM_OK)
                return s;
        }
        if (nan_loss && !r->st.stop) {
            if (r->progress.in_place)
                r->progress.write(r->progress.ctx, "\n");
            return bgm__fail(BGM_E_NONFINITE, "%s", nan_msg);
        }
        if (cancelled(r)) {
            if (r->progress.in_place)
                r->progress.write(r->progress.ctx, "\n");
            return bgm__fail(BGM_E_CANCELLED, "%s: cancelled after batch %lld of epoch %d",
                             fn, (long long)step, epoch + 1);
        }
        if (r->st.stop)
            break;
    }
    if (r->dist.comm && (s != BGM_OK || (r->stream && step < r->steps && !r->st.stop)))
        return batch_missing(r, s, epoch, step, fn);
    /* The epoch's last batches that make no whole group: a smaller step. */
    if (s == BGM_OK && r->acc.count > 0) {
        s = bgm__train_flush(m, r->dist.comm ? &r->dist : NULL, &r->acc, r->metrics, losses,
                             epoch, step - 1, fn);
        for (i = 0; r->dist.comm && i <= m->noutputs; i++)
            sums[i] += losses[i] * (double)r->dist.total_b;
        seen += r->dist.total_b;
    }
    if (s != BGM_OK)
        return s;
    if (step == 0)
        return bgm__fail(BGM_E_INVALID, "%s: the training stream gave no batch in epoch %d",
                         fn, epoch + 1);
    if (r->progress.target < 0)
        r->progress.target = step; /* an unknown count is known at the end */
    logs.n = 0;
    s = collect_means(&logs, m, r->metrics, sums, seen);
    if (s == BGM_OK && (r->val.n > 0 || r->val_stream))
        s = validate(r, &logs, fn);
    if (s != BGM_OK)
        return s;
    /* Counted before EPOCH_END, so a model saved by a callback resumes after it. */
    m->epochs_done = epoch + 1;
    for (i = 0; s == BGM_OK && i < r->ncb; i++)
        s = bgm__callback_epoch_end(r->o.callbacks[i], &r->st, epoch, &logs);
    s = bgm__dist_follow(&r->dist, &r->st, NULL, s, "at the end of an epoch", fn);
    if (s != BGM_OK)
        return s;
    bgm__progress_epoch_end(&r->progress, step, &logs);
    s = bgm__history_append(r->history, epoch, &logs);
    if (r->dist.comm) /* the others go on to the next collective: fail them with it */
        s = bgm__comm_agree(r->dist.comm, s, &r->dist.shared, "record the epoch in its "
                            "history", fn);
    return s;
}

/* The training and validation data of one fit call: train holds the
 * training samples, r->val the validation arrays (explicit ones, or the
 * last samples when validation_split is set, as Keras, before any shuffling). */
typedef struct fit_data {
    const bgm_tensor *const *xs, *const *ys;     /* as the caller gave them */
    int nx, ny;
    const bgm_tensor *const *vxs, *const *vys;   /* explicit validation data, or NULL */
    int nvx, nvy;
    const char *vxname, *vyname;                 /* how messages name them */
    bgm_stream *stream, *val_stream;             /* streamed data (fit_stream), or NULL */
    int64_t steps, val_steps;
} fit_data;

/* What every fit needs besides its data: metrics, tape, gradients, history. */
static bgm_status prepare_common(fit_run *r, const char *fn)
{
    bgm_model *m = r->m;
    bgm_status s = bgm__metrics_create(m, &r->metrics);
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &r->val_metrics);
    if (s == BGM_OK && !m->tape)
        s = bgm_tape_create(&m->tape);
    if (s == BGM_OK) {
        r->grads = calloc((size_t)m->ntrainable + 1, sizeof *r->grads);
        r->history = bgm__history_new();
        if (!r->grads || !r->history)
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    if (s == BGM_OK)
        s = bgm__accum_init(&r->acc, m, r->o.gradient_accumulation_steps, !m->comm, fn);
    return s;
}

/* Streamed training (and validation) data: counts checked, both opened. */
static bgm_status prepare_streams(fit_run *r, const fit_data *d, const char *fn)
{
    bgm_status s = BGM_OK;
    if (r->o.validation_split > 0.0)
        return bgm__fail(BGM_E_INVALID, "%s: validation_split = %g cannot split a stream; "
                         "give a validation stream or arrays", fn, r->o.validation_split);
    /* Streamed batches carry their own weights (bgm_stream_spec.sample_weight). */
    if (r->o.sample_weight || (r->o.validation_sample_weight && d->val_stream))
        return bgm__fail(BGM_E_INVALID, "%s: %s with a %s stream: a stream's batches carry "
                         "their own weights (bgm_stream_spec.sample_weight)", fn,
                         r->o.sample_weight ? "sample_weight" : "validation_sample_weight",
                         r->o.sample_weight ? "training" : "validation");
    if (r->o.validation_sample_weight && !d->vxs)
        return bgm__fail(BGM_E_INVALID, "%s: validation_sample_weight without validation "
                         "arrays", fn);
    if (r->o.class_weight && bgm_stream_has_sample_weight(d->stream))
        return bgm__fail(BGM_E_INVALID, "%s: give class_weight or a stream of sample "
                         "weights, not both (as Keras)", fn);
    if (d->val_stream == d->stream)
        return bgm__fail(BGM_E_INVALID, "%s: the training and validation streams are the "
                         "same stream", fn);
    if (d->steps < 0 || d->val_steps < 0)
        return bgm__fail(BGM_E_INVALID, "%s: steps_per_epoch = %lld and validation_steps = "
                         "%lld must not be negative", fn, (long long)d->steps,
                         (long long)d->val_steps);
    s = bgm__stream_check(d->stream, r->m, "training", fn);
    if (s == BGM_OK && d->val_stream)
        s = bgm__stream_check(d->val_stream, r->m, "validation", fn);
    if (s == BGM_OK && d->vxs && !d->val_stream)
        s = bgm__arrays_check(&r->val, r->m, d->vxs, d->nvx, d->vys, d->nvy, d->vxname,
                              d->vyname, fn);
    if (s == BGM_OK && d->vxs && !d->val_stream)
        s = bgm__weights_check(&r->val, r->m, r->o.validation_sample_weight, NULL, 0,
                               "validation_sample_weight", fn);
    if (s == BGM_OK)
        s = bgm__stream_open(d->stream, fn);
    if (s == BGM_OK && d->val_stream && (s = bgm__stream_open(d->val_stream, fn)) != BGM_OK)
        bgm__stream_close(d->stream);
    if (s != BGM_OK)
        return s;
    r->streams_open = 1;
    r->stream = d->stream;
    r->val_stream = d->val_stream;
    r->steps = d->steps;
    r->val_steps = d->val_steps;
    return prepare_common(r, fn);
}

/* Splits off validation data and sets up everything the epochs need. */
static bgm_status prepare(fit_run *r, const fit_data *d, const char *fn)
{
    bgm_model *m = r->m;
    bgm__arrays a;
    bgm_dataset *all = NULL;
    const bgm_tensor *ys[BGM__MAX_IO + 1];
    int64_t n, split;
    int nvx, nvy, j;
    bgm_status s;
    if (d->stream && m->comm && d->steps <= 0)
        return bgm__fail(BGM_E_INVALID, "%s: the model has a communicator "
                         "(bgm_model_set_comm): give steps_per_epoch, so that every rank "
                         "takes that many batches from its own stream each epoch", fn);
    if (d->stream)
        return prepare_streams(r, d, fn);
    s = bgm__arrays_check(&a, m, d->xs, d->nx, d->ys, d->ny, "x", "y", fn);
    if (s == BGM_OK)
        s = bgm__weights_check(&a, m, r->o.sample_weight, r->o.class_weight,
                               r->o.num_class_weights, "sample_weight", fn);
    if (s == BGM_OK && r->o.validation_sample_weight && !d->vxs)
        s = bgm__fail(BGM_E_INVALID, "%s: validation_sample_weight without validation data "
                      "(validation_split holds out the weights of the held-out samples "
                      "from sample_weight)", fn);
    if (s == BGM_OK && d->vxs)
        s = bgm__arrays_check(&r->val, m, d->vxs, d->nvx, d->vys, d->nvy, d->vxname,
                              d->vyname, fn);
    if (s == BGM_OK && d->vxs)
        s = bgm__weights_check(&r->val, m, r->o.validation_sample_weight, NULL, 0,
                               "validation_sample_weight", fn);
    if (s != BGM_OK)
        goto done;
    n = split = a.n;
    if (!d->vxs && r->o.validation_split > 0.0) {
        split = (int64_t)floor((double)n * (1.0 - r->o.validation_split));
        if (split == n || split == 0) {
            s = bgm__fail(BGM_E_INVALID, "%s: validation_split = %g of %lld samples leaves "
                          "%s empty", fn, r->o.validation_split, (long long)n,
                          split == n ? "the validation set" : "the training set");
            goto done;
        }
    }
    if (n == 0) {
        s = bgm__fail(BGM_E_INVALID, "%s: x holds no samples", fn);
        goto done;
    }
    for (j = 0; j < m->noutputs; j++)
        ys[j] = a.y[j];
    ys[j] = a.w;
    r->weighted = a.w != NULL;
    s = bgm_dataset_from_tensors_multi(&all, a.x, m->ninputs, ys, m->noutputs + r->weighted);
    if (s == BGM_OK)
        s = bgm_dataset_take(&r->train, all, split);
    if (s == BGM_OK && split < n) {
        s = bgm_dataset_skip(&r->val_views, all, split);
        if (s == BGM_OK) {
            bgm__dataset_arrays(r->val_views, r->val.x, &nvx, r->val.y, &nvy);
            r->val.n = n - split;
            /* Keras splits before class weights apply: only sample weights
             * go with the held-out samples. */
            if (r->weighted && !r->o.class_weight)
                r->val.w = bgm_dataset_target_tensor(r->val_views, m->noutputs);
        }
    }
    r->ntrain = split;
    if (s == BGM_OK && m->comm) /* each rank its own share of every epoch */
        s = bgm__batch_iter_create_shard(&r->it, r->train, r->o.batch_size, 0,
                                         bgm_comm_rank(m->comm), bgm_comm_num_ranks(m->comm));
    else if (s == BGM_OK)
        s = bgm_batch_iter_create(&r->it, r->train, r->o.batch_size, 0);
    if (s == BGM_OK)
        s = prepare_common(r, fn);
done:
    bgm_dataset_free(all); /* train and the validation views keep what they need */
    bgm__arrays_free(&a);
    return s;
}

/* Tells the other ranks' transport (its abort hook) when this rank ends a
 * data-parallel fit with an error that they have not seen. */
static void end_alone(fit_run *r, bgm_status s)
{
    if (s != BGM_OK && r->m->comm && !r->dist.shared)
        bgm__comm_abort(r->m->comm, s);
}

static void write_nothing(void *ctx, const char *text)
{
    (void)ctx;
    (void)text;
}

static void release(fit_run *r)
{
    if (r->streams_open) { /* the threads are joined before anything else goes */
        bgm__stream_close(r->stream);
        bgm__stream_close(r->val_stream);
    }
    bgm__arrays_free(&r->val);
    bgm_dataset_free(r->val_views);
    bgm_batch_iter_free(r->it);
    bgm_dataset_free(r->train);
    bgm__metrics_free(r->metrics, r->m->nmetrics);
    bgm__metrics_free(r->val_metrics, r->m->nmetrics);
    free(r->grads);
    bgm__accum_free(&r->acc, r->m);
    bgm_history_free(r->history);
    bgm__dist_end(&r->dist, r->m);
    if (r->m->tape)
        bgm_tape_reset(r->m->tape);
}

static bgm_status fit(bgm_history **history, bgm_model *m, fit_data *d,
                      const bgm_fit_options *opts, const char *fn)
{
    fit_run r;
    bgm_status s;
    int i, epoch, together;
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(m, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model before fitting it", fn);
    if (m->fitting)
        return bgm__fail(BGM_E_STATE, "%s: fit is already running on this model (called "
                         "from a callback?)", fn);
    memset(&r, 0, sizeof r);
    r.m = m;
    r.st.model = m;
    s = read_options(&r.o, opts, fn);
    if (s != BGM_OK)
        return s;
    if (!d->vxs && r.o.validation_xs) {
        d->vxs = r.o.validation_xs;
        d->vys = r.o.validation_ys;
        d->nvx = r.o.num_validation_xs;
        d->nvy = r.o.num_validation_ys;
    } else if (!d->vxs && r.o.validation_x) {
        d->vxs = &r.o.validation_x;
        d->vys = &r.o.validation_y;
        d->nvx = d->nvy = 1;
    }
    d->vxname = "validation_x";
    d->vyname = "validation_y";
    s = prepare(&r, d, fn);
    /* With a communicator, progress and callbacks run on rank 0 only; the
     * other ranks follow its callbacks' decisions (bgm__dist_follow). */
    if (bgm_comm_rank(m->comm) > 0)
        bgm__progress_init(&r.progress, 0, write_nothing, NULL);
    else
        bgm__progress_init(&r.progress, r.o.verbose, r.o.output, r.o.output_ctx);
    r.ncb = bgm_comm_rank(m->comm) > 0 ? 0 : r.o.num_callbacks;
    r.st.initial_epoch = r.o.initial_epoch;
    r.st.write = r.progress.write;
    r.st.write_ctx = r.progress.ctx;
    m->fitting = 1;
    for (i = 0; s == BGM_OK && i < r.ncb; i++) {
        s = bgm__callback_train_begin(r.o.callbacks[i], &r.st);
        if (s == BGM_OK)
            r.callbacks_begun = i + 1;
    }
    for (i = 0; i < r.ncb; i++)
        r.has_lambda |= bgm__callback_wants_batches(r.o.callbacks[i]);
    /* After TRAIN_BEGIN, so that a backup rank 0 restored reaches every rank;
     * a rank that failed so far still comes, to fail with the others. */
    s = bgm__dist_begin(&r.dist, m, r.ntrain, epoch_steps(&r), r.o.batch_size, r.o.epochs,
                        r.o.gradient_accumulation_steps, r.o.allreduce_bucket_bytes,
                        r.o.cancel, s, fn);
    if (s == BGM_OK)
        s = bgm__dist_follow(&r.dist, &r.st, &r.has_lambda, s, "at the start of training", fn);
    for (epoch = r.st.initial_epoch; s == BGM_OK && epoch < r.o.epochs && !r.st.stop; epoch++)
        s = run_epoch(&r, epoch, fn);
    together = s == BGM_OK || r.dist.shared; /* every rank is here */
    for (i = 0; i < r.callbacks_begun; i++) {
        bgm_status e = bgm__callback_train_end(r.o.callbacks[i], &r.st, s == BGM_OK);
        if (s == BGM_OK)
            s = e;
    }
    if (together) /* rank 0's final weights (restore_best_weights) to all */
        s = bgm__dist_finish(&r.dist, &r.st, s, fn);
    m->fitting = 0;
    end_alone(&r, s);
    if (s == BGM_OK && history) {
        *history = r.history;
        r.history = NULL;
    }
    release(&r);
    return s;
}

BGM_API bgm_status bgm_model_fit(bgm_history **history, bgm_model *m, const bgm_tensor *x,
                                 const bgm_tensor *y, const bgm_fit_options *opts)
{
    static const char *fn = "bgm_model_fit";
    fit_data d;
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    memset(&d, 0, sizeof d);
    d.xs = &x;
    d.ys = &y;
    d.nx = d.ny = 1;
    return fit(history, m, &d, opts, fn);
}

BGM_API bgm_status bgm_model_fit_multi(bgm_history **history, bgm_model *m,
                                       const bgm_tensor *const *xs, int nx,
                                       const bgm_tensor *const *ys, int ny,
                                       const bgm_fit_options *opts)
{
    fit_data d;
    memset(&d, 0, sizeof d);
    d.xs = xs;
    d.ys = ys;
    d.nx = nx;
    d.ny = ny;
    return fit(history, m, &d, opts, "bgm_model_fit_multi");
}

BGM_API bgm_status bgm_model_fit_dataset(bgm_history **history, bgm_model *m,
                                         const bgm_dataset *train,
                                         const bgm_dataset *validation,
                                         const bgm_fit_options *opts)
{
    static const char *fn = "bgm_model_fit_dataset";
    const bgm_tensor *xs[BGM__MAX_IO], *ys[BGM__MAX_IO];
    const bgm_tensor *vxs[BGM__MAX_IO], *vys[BGM__MAX_IO];
    fit_data d;
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(train, fn);
    if (!bgm_dataset_targets(train))
        return bgm__fail(BGM_E_INVALID, "%s: the training dataset has no targets", fn);
    if (validation && !bgm_dataset_targets(validation))
        return bgm__fail(BGM_E_INVALID, "%s: the validation dataset has no targets", fn);
    memset(&d, 0, sizeof d);
    bgm__dataset_arrays(train, xs, &d.nx, ys, &d.ny);
    d.xs = xs;
    d.ys = ys;
    if (validation) {
        bgm__dataset_arrays(validation, vxs, &d.nvx, vys, &d.nvy);
        d.vxs = vxs;
        d.vys = vys;
    }
    return fit(history, m, &d, opts, fn);
}

BGM_API bgm_status bgm_model_fit_stream(bgm_history **history, bgm_model *m, bgm_stream *train,
                                        int64_t steps_per_epoch, bgm_stream *validation,
                                        int64_t validation_steps,
                                        const bgm_fit_options *opts)
{
    static const char *fn = "bgm_model_fit_stream";
    fit_data d;
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(train, fn);
    memset(&d, 0, sizeof d);
    d.stream = train;
    d.val_stream = validation;
    d.steps = steps_per_epoch;
    d.val_steps = validation_steps;
    return fit(history, m, &d, opts, fn);
}
