/*
 * fit: the Keras training loop. One step = reset the model's tape, forward
 * in training mode, loss + L2 penalties, gradients into the model's gradient
 * buffer, one optimizer step. Epochs end with validation, callbacks, the
 * progress line and a history entry.
 */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of the first published bgm_fit_options. */
#define FIT_OPTIONS_V1_SIZE (offsetof(bgm_fit_options, cancel) + sizeof(const int *))

BGM_API bgm_status bgm_fit_options_init(bgm_fit_options *opts, size_t size)
{
    static const char *fn = "bgm_fit_options_init";
    BGM__CHECK_NULL(opts, fn);
    if (size < FIT_OPTIONS_V1_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: size = %zu is smaller than any version of "
                         "bgm_fit_options (%zu)", fn, size, (size_t)FIT_OPTIONS_V1_SIZE);
    if (size > sizeof *opts)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: size = %zu is larger than this library's "
                         "bgm_fit_options (%zu): the caller was built against a newer "
                         "header", fn, size, sizeof *opts);
    memset(opts, 0, size);
    opts->size = size;
    opts->epochs = 1;
    opts->batch_size = 32;
    opts->shuffle = 1;
    opts->verbose = 1;
    return BGM_OK;
}

static bgm_status read_options(bgm_fit_options *o, const bgm_fit_options *opts,
                               const char *fn)
{
    bgm_fit_options_init(o, sizeof *o);
    if (!opts)
        return BGM_OK;
    if (opts->size < FIT_OPTIONS_V1_SIZE || opts->size > sizeof *o)
        return bgm__fail(BGM_E_INVALID, "%s: opts->size = %zu; fill the options with "
                         "bgm_fit_options_init(&opts, sizeof opts)", fn, opts->size);
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
    return BGM_OK;
}

/* Everything one fit call holds. */
typedef struct fit_run {
    bgm_model *m;
    bgm_fit_options o;
    bgm_dataset *train;
    bgm_tensor *val_x, *val_y;       /* checked views, or NULL */
    bgm_batch_iter *it;
    bgm_metric **metrics, **val_metrics;
    bgm_tensor **grads;              /* the tape's gradients of one step */
    bgm_history *history;
    bgm__progress progress;
    bgm__train_state st;
    int callbacks_begun;
    int has_lambda;
} fit_run;

static bgm_status train_step(fit_run *r, const bgm_tensor *x, const bgm_tensor *y,
                             double *loss_value)
{
    bgm_model *m = r->m;
    bgm_tensor *pred, *loss, *probs;
    bgm_status s = bgm_tape_reset(m->tape);
    int i;
    for (i = 0; s == BGM_OK && i < m->ntrainable; i++)
        s = bgm_tape_watch(m->tape, m->trainable[i]);
    if (s == BGM_OK)
        s = bgm__model_run(m, m->tape, &x, 1, &m->rng, &pred);
    if (s == BGM_OK)
        s = bgm__model_loss(m, m->tape, y, pred, &loss);
    if (s == BGM_OK && m->ntrainable > 0) {
        s = bgm_tape_gradient(m->tape, loss, m->trainable, m->ntrainable, r->grads);
        if (s == BGM_OK)
            s = bgm_optimizer_step(m->optimizer, m->trainable, r->grads, m->ntrainable);
    }
    if (s == BGM_OK)
        s = bgm__metric_input(m, m->tape, pred, &probs);
    for (i = 0; s == BGM_OK && i < m->nmetrics; i++)
        s = bgm_metric_update(r->metrics[i], y, probs);
    if (s == BGM_OK)
        *loss_value = *(const float *)bgm_tensor_data(loss);
    return s;
}

/* logs = loss and metric results (prefix "" or "val_"). */
static bgm_status collect(const bgm_model *m, bgm_metric **metrics, double loss,
                          const char *prefix, bgm_logs *logs)
{
    char name[BGM__NAME_SIZE + 8];
    double v;
    int i;
    snprintf(name, sizeof name, "%sloss", prefix);
    bgm__logs_set(logs, name, loss);
    for (i = 0; i < m->nmetrics; i++) {
        bgm_status s = bgm_metric_result(&v, metrics[i]);
        if (s != BGM_OK)
            return s;
        snprintf(name, sizeof name, "%s%s", prefix, m->metrics[i].name);
        bgm__logs_set(logs, name, v);
    }
    return BGM_OK;
}

static int cancelled(const fit_run *r)
{
    return r->o.cancel && __atomic_load_n(r->o.cancel, __ATOMIC_ACQUIRE) != 0;
}

static bgm_status run_epoch(fit_run *r, int epoch, const char *fn)
{
    bgm_model *m = r->m;
    const bgm_tensor *x, *y;
    int64_t steps = bgm_batch_iter_num_batches(r->it), step = 0, seen = 0;
    double loss_sum = 0.0, loss;
    bgm_logs logs;
    bgm_status s = BGM_OK;
    int i, more;
    logs.n = 0;
    for (i = 0; s == BGM_OK && i < r->o.num_callbacks; i++)
        s = bgm__callback_epoch_begin(r->o.callbacks[i], &r->st, epoch, &logs);
    if (s != BGM_OK)
        return s;
    bgm__progress_epoch_begin(&r->progress, epoch, r->o.epochs, steps);
    for (i = 0; i < m->nmetrics; i++)
        bgm_metric_reset(r->metrics[i]);
    /* The epoch's order is drawn from the model's generator here, between
     * the previous epoch's dropout draws and this one's, so that a model
     * saved after epoch e and resumed with initial_epoch = e + 1 draws
     * exactly what an uninterrupted fit would. */
    if (r->o.shuffle)
        s = bgm_batch_iter_shuffle(r->it, bgm_rng_next_u64(&m->rng));
    else
        bgm_batch_iter_reset(r->it);
    if (s != BGM_OK)
        return s;
    while ((s = bgm_batch_iter_next(&more, &x, &y, r->it)) == BGM_OK && more) {
        int64_t b = bgm_tensor_dim(x, 0);
        s = train_step(r, x, y, &loss);
        if (s != BGM_OK)
            return s;
        loss_sum += loss * (double)b;
        seen += b;
        step++;
        if (r->has_lambda || bgm__progress_due(&r->progress, step)) {
            s = collect(m, r->metrics, loss_sum / (double)seen, "", &logs);
            if (s != BGM_OK)
                return s;
            bgm__progress_update(&r->progress, step, &logs);
            for (i = 0; s == BGM_OK && i < r->o.num_callbacks; i++)
                s = bgm__callback_batch_end(r->o.callbacks[i], &r->st, epoch, step - 1,
                                            &logs);
            if (s != BGM_OK)
                return s;
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
    if (s != BGM_OK)
        return s;
    logs.n = 0;
    s = collect(m, r->metrics, seen ? loss_sum / (double)seen : 0.0, "", &logs);
    if (s == BGM_OK && r->val_x) {
        double val_loss;
        bgm__infer_tapes *it = bgm__infer_tapes_take(m);
        s = it ? bgm__evaluate_tensors(m, it, r->val_x, r->val_y, r->o.batch_size,
                                       r->val_metrics, &val_loss)
               : bgm__fail(BGM_E_NOMEM, "%s: out of memory for validation", fn);
        bgm__infer_tapes_give(m, it);
        if (s == BGM_OK)
            s = collect(m, r->val_metrics, val_loss, "val_", &logs);
    }
    /* Counted before EPOCH_END, so a model saved by a callback resumes after it. */
    if (s == BGM_OK)
        m->epochs_done = epoch + 1;
    for (i = 0; s == BGM_OK && i < r->o.num_callbacks; i++)
        s = bgm__callback_epoch_end(r->o.callbacks[i], &r->st, epoch, &logs);
    if (s != BGM_OK)
        return s;
    bgm__progress_epoch_end(&r->progress, step, &logs);
    return bgm__history_append(r->history, epoch, &logs);
}

/* Checked views of x and y; *yv is y or a reshaped view the caller frees. */
static bgm_status check_pair(const bgm_model *m, const char *fn, const char *xname,
                             const char *yname, const bgm_tensor *x, const bgm_tensor *y,
                             bgm_tensor **yv)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    bgm_status s = bgm__check_input(m, 0, fn, xname, x);
    *yv = NULL;
    if (s != BGM_OK)
        return s;
    if (bgm_tensor_ndim(y) < 1 || bgm_tensor_dim(y, 0) != bgm_tensor_dim(x, 0))
        return bgm__fail(BGM_E_SHAPE, "%s: %s %s and %s %s hold different numbers of "
                         "samples", fn, xname,
                         bgm__shape_str(a, sizeof a, bgm_tensor_shape(x), bgm_tensor_ndim(x)),
                         yname,
                         bgm__shape_str(b, sizeof b, bgm_tensor_shape(y), bgm_tensor_ndim(y)));
    return bgm__check_targets(m, fn, yname, y, bgm_tensor_dim(x, 0), yv);
}

static void free_view(bgm_tensor *view, const bgm_tensor *of)
{
    if (view != of)
        bgm_tensor_free(view);
}

/* Splits off validation data and sets up everything the epochs need. */
static bgm_status prepare(fit_run *r, const bgm_tensor *x, const bgm_tensor *y,
                          const bgm_tensor *vx, const bgm_tensor *vy, const char *fn)
{
    bgm_model *m = r->m;
    bgm_tensor *yv = NULL, *vyv = NULL, *tx = NULL, *ty = NULL;
    int64_t n = bgm_tensor_dim(x, 0), split = n;
    bgm_status s = check_pair(m, fn, "x", "y", x, y, &yv);
    if (s == BGM_OK && vx)
        s = check_pair(m, fn, "validation_x", "validation_y", vx, vy, &vyv);
    if (s != BGM_OK)
        goto done;
    if (!vx && r->o.validation_split > 0.0) {
        /* As Keras: the last samples, before any shuffling. */
        split = (int64_t)floor((double)n * (1.0 - r->o.validation_split));
        if (split == n || split == 0) {
            s = bgm__fail(BGM_E_INVALID, "%s: validation_split = %g of %lld samples leaves "
                          "%s empty", fn, r->o.validation_split, (long long)n,
                          split == n ? "the validation set" : "the training set");
            goto done;
        }
        s = bgm_tensor_slice(&r->val_x, x, split, n);
        if (s == BGM_OK)
            s = bgm_tensor_slice(&r->val_y, yv, split, n);
    } else if (vx) {
        s = bgm_tensor_slice(&r->val_x, vx, 0, bgm_tensor_dim(vx, 0));
        if (s == BGM_OK)
            s = bgm_tensor_slice(&r->val_y, vyv, 0, bgm_tensor_dim(vx, 0));
    }
    if (s == BGM_OK && n == 0)
        s = bgm__fail(BGM_E_INVALID, "%s: x holds no samples", fn);
    if (s == BGM_OK)
        s = bgm_tensor_slice(&tx, x, 0, split);
    if (s == BGM_OK)
        s = bgm_tensor_slice(&ty, yv, 0, split);
    if (s == BGM_OK)
        s = bgm_dataset_from_tensors(&r->train, tx, ty);
    if (s == BGM_OK)
        s = bgm_batch_iter_create(&r->it, r->train, r->o.batch_size, 0);
    if (s == BGM_OK)
        s = bgm__metrics_create(m, &r->metrics);
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
done:
    bgm_tensor_free(tx);
    bgm_tensor_free(ty);
    free_view(yv, y);
    free_view(vyv, vy);
    return s;
}

static void release(fit_run *r)
{
    bgm_tensor_free(r->val_x);
    bgm_tensor_free(r->val_y);
    bgm_batch_iter_free(r->it);
    bgm_dataset_free(r->train);
    bgm__metrics_free(r->metrics, r->m->nmetrics);
    bgm__metrics_free(r->val_metrics, r->m->nmetrics);
    free(r->grads);
    bgm_history_free(r->history);
    if (r->m->tape)
        bgm_tape_reset(r->m->tape);
}

static bgm_status fit(bgm_history **history, bgm_model *m, const bgm_tensor *x,
                      const bgm_tensor *y, const bgm_tensor *vx, const bgm_tensor *vy,
                      const bgm_fit_options *opts, const char *fn)
{
    fit_run r;
    bgm_status s;
    int i, epoch;
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(y, fn);
    if (!m->optimizer)
        return bgm__fail(BGM_E_STATE, "%s: compile the model before fitting it", fn);
    s = bgm__check_single_io(m, fn);
    if (s != BGM_OK)
        return s;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.st.model = m;
    s = read_options(&r.o, opts, fn);
    if (s != BGM_OK)
        return s;
    if (!vx) {
        vx = r.o.validation_x;
        vy = r.o.validation_y;
    }
    s = prepare(&r, x, y, vx, vy, fn);
    if (s != BGM_OK) {
        release(&r);
        return s;
    }
    bgm__progress_init(&r.progress, r.o.verbose, r.o.output, r.o.output_ctx);
    for (i = 0; s == BGM_OK && i < r.o.num_callbacks; i++) {
        s = bgm__callback_train_begin(r.o.callbacks[i], &r.st);
        if (s == BGM_OK)
            r.callbacks_begun = i + 1;
    }
    for (i = 0; i < r.o.num_callbacks; i++)
        r.has_lambda |= bgm__callback_wants_batches(r.o.callbacks[i]);
    for (epoch = r.o.initial_epoch; s == BGM_OK && epoch < r.o.epochs && !r.st.stop; epoch++)
        s = run_epoch(&r, epoch, fn);
    for (i = 0; i < r.callbacks_begun; i++) {
        bgm_status e = bgm__callback_train_end(r.o.callbacks[i], &r.st, s == BGM_OK);
        if (s == BGM_OK)
            s = e;
    }
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
    return fit(history, m, x, y, NULL, NULL, opts, "bgm_model_fit");
}

BGM_API bgm_status bgm_model_fit_dataset(bgm_history **history, bgm_model *m,
                                         const bgm_dataset *train,
                                         const bgm_dataset *validation,
                                         const bgm_fit_options *opts)
{
    static const char *fn = "bgm_model_fit_dataset";
    if (history)
        *history = NULL;
    BGM__CHECK_NULL(train, fn);
    if (!bgm_dataset_targets(train))
        return bgm__fail(BGM_E_INVALID, "%s: the training dataset has no targets", fn);
    if (validation && !bgm_dataset_targets(validation))
        return bgm__fail(BGM_E_INVALID, "%s: the validation dataset has no targets", fn);
    return fit(history, m, bgm_dataset_features(train), bgm_dataset_targets(train),
               validation ? bgm_dataset_features(validation) : NULL,
               validation ? bgm_dataset_targets(validation) : NULL, opts, fn);
}
