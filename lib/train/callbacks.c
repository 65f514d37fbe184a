/*
 * Training callbacks: early stopping, learning-rate scheduler, CSV logger
 * and user (lambda) callbacks, with the hooks fit calls on them.
 */
#include "train/train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind { EARLY_STOPPING = 1, LR_SCHEDULER, CSV_LOGGER, LAMBDA, OPS } kind;

struct bgm_callback {
    kind kind;
    /* early stopping */
    char monitor[BGM__KEY_SIZE];
    int patience, restore, maximize;
    float min_delta;
    double best;
    int wait, stopped_epoch, have_best;
    float *best_weights;
    /* learning-rate scheduler */
    bgm_epoch_lr_fn schedule;
    /* CSV logger */
    char *path;
    int append, header_written;
    FILE *file;
    bgm_logs keys;             /* column order, names only */
    /* lambda */
    bgm_callback_fn fn;
    void *ctx;
    /* a kind of its own file (checkpoint.c, plateau.c, backup.c) */
    const bgm__callback_ops *ops;
    void *impl;
};

static bgm_callback *new_callback(kind k, const char *fn)
{
    bgm_callback *cb = calloc(1, sizeof *cb);
    if (!cb) {
        bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    cb->kind = k;
    cb->stopped_epoch = -1;
    return cb;
}

int bgm__monitor_auto_max(const char *name)
{
    static const char *const up[] = {"acc", "auc", "precision", "recall", "f1", "r2"};
    size_t i;
    for (i = 0; i < sizeof up / sizeof up[0]; i++)
        if (strstr(name, up[i]))
            return 1;
    return 0;
}

BGM_API bgm_status bgm_callback_early_stopping(bgm_callback **out, const char *monitor,
                                               int patience, float min_delta,
                                               int restore_best_weights)
{
    static const char *fn = "bgm_callback_early_stopping";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(monitor, fn);
    if (strlen(monitor) == 0 || strlen(monitor) >= BGM__KEY_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: monitor must have 1 to %d bytes", fn,
                         BGM__KEY_SIZE - 1);
    if (patience < 0)
        return bgm__fail(BGM_E_INVALID, "%s: patience = %d is negative", fn, patience);
    if (!(min_delta >= 0.0f) || isinf(min_delta))
        return bgm__fail(BGM_E_INVALID, "%s: min_delta = %g, expected a finite value >= 0",
                         fn, (double)min_delta);
    *out = new_callback(EARLY_STOPPING, fn);
    if (!*out)
        return BGM_E_NOMEM;
    strcpy((*out)->monitor, monitor);
    (*out)->patience = patience;
    (*out)->min_delta = min_delta;
    (*out)->restore = restore_best_weights != 0;
    (*out)->maximize = bgm__monitor_auto_max(monitor);
    return BGM_OK;
}

BGM_API bgm_status bgm_callback_lr_scheduler(bgm_callback **out, bgm_epoch_lr_fn schedule,
                                             void *ctx)
{
    static const char *fn = "bgm_callback_lr_scheduler";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(schedule, fn);
    *out = new_callback(LR_SCHEDULER, fn);
    if (!*out)
        return BGM_E_NOMEM;
    (*out)->schedule = schedule;
    (*out)->ctx = ctx;
    return BGM_OK;
}

BGM_API bgm_status bgm_callback_csv_logger(bgm_callback **out, const char *path, int append)
{
    static const char *fn = "bgm_callback_csv_logger";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    *out = new_callback(CSV_LOGGER, fn);
    if (!*out)
        return BGM_E_NOMEM;
    (*out)->path = malloc(strlen(path) + 1);
    if (!(*out)->path) {
        free(*out);
        *out = NULL;
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    strcpy((*out)->path, path);
    (*out)->append = append != 0;
    return BGM_OK;
}

BGM_API bgm_status bgm_callback_lambda(bgm_callback **out, bgm_callback_fn fn_, void *ctx)
{
    static const char *fn = "bgm_callback_lambda";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if (!fn_)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'fn' is NULL", fn);
    *out = new_callback(LAMBDA, fn);
    if (!*out)
        return BGM_E_NOMEM;
    (*out)->fn = fn_;
    (*out)->ctx = ctx;
    return BGM_OK;
}

bgm_status bgm__callback_new_ops(bgm_callback **out, const bgm__callback_ops *ops, void *impl,
                                 const char *fn)
{
    *out = new_callback(OPS, fn);
    if (!*out) {
        ops->free_impl(impl);
        return BGM_E_NOMEM;
    }
    (*out)->ops = ops;
    (*out)->impl = impl;
    return BGM_OK;
}

BGM_API int bgm_callback_stopped_epoch(const bgm_callback *cb)
{
    return cb && cb->kind == EARLY_STOPPING ? cb->stopped_epoch : -1;
}

BGM_API void bgm_callback_free(bgm_callback *cb)
{
    if (!cb)
        return;
    if (cb->file)
        fclose(cb->file);
    if (cb->ops)
        cb->ops->free_impl(cb->impl);
    free(cb->best_weights);
    free(cb->path);
    free(cb);
}

/* ---- CSV values: Python's repr of a float, as Keras' CSVLogger writes ---- */

void bgm__format_repr(char *out, size_t size, double v)
{
    char tmp[40], digits[24];
    int p, exp, nd = 0, i;
    const char *c;
    size_t used = 0;
    if (isnan(v)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v < 0 ? "-inf" : "inf");
        return;
    }
    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    for (c = tmp; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    exp = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (v < 0 || (v == 0 && signbit(v)))
        used += (size_t)snprintf(out + used, size - used, "-");
    if (exp >= -4 && exp < 16) {
        if (exp >= 0) {
            for (i = 0; i <= exp; i++)
                used += (size_t)snprintf(out + used, size - used, "%c",
                                         i < nd ? digits[i] : '0');
            used += (size_t)snprintf(out + used, size - used, ".%s",
                                     nd > exp + 1 ? digits + exp + 1 : "0");
        } else {
            used += (size_t)snprintf(out + used, size - used, "0.");
            for (i = 0; i < -exp - 1; i++)
                used += (size_t)snprintf(out + used, size - used, "0");
            snprintf(out + used, size - used, "%s", digits);
        }
    } else {
        used += (size_t)snprintf(out + used, size - used, "%c%s%s", digits[0],
                                 nd > 1 ? "." : "", digits + 1);
        snprintf(out + used, size - used, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    }
}

static int compare_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static bgm_status csv_io_error(const bgm_callback *cb, const char *what)
{
    return bgm__fail(BGM_E_IO, "CSV logger: cannot %s '%s': %s", what, cb->path,
                     strerror(errno));
}

static bgm_status csv_epoch_end(bgm_callback *cb, int epoch, const bgm_logs *logs)
{
    char num[40];
    int i, ok = 1;
    if (!cb->header_written) {
        cb->keys = *logs;
        qsort(cb->keys.names, (size_t)cb->keys.n, sizeof cb->keys.names[0], compare_names);
        ok &= fputs("epoch", cb->file) >= 0;
        for (i = 0; i < cb->keys.n; i++)
            ok &= fprintf(cb->file, ",%s", cb->keys.names[i]) >= 0;
        ok &= fputs("\n", cb->file) >= 0;
        cb->header_written = 1;
    } else if (cb->keys.n == 0) {
        cb->keys = *logs; /* appending to a file: take the order as Keras would */
        qsort(cb->keys.names, (size_t)cb->keys.n, sizeof cb->keys.names[0], compare_names);
    }
    ok &= fprintf(cb->file, "%d", epoch) >= 0;
    for (i = 0; i < cb->keys.n; i++) {
        int k = bgm__logs_find(logs, cb->keys.names[i]);
        if (k >= 0)
            bgm__format_repr(num, sizeof num, logs->values[k]);
        else
            snprintf(num, sizeof num, "NA");
        ok &= fprintf(cb->file, ",%s", num) >= 0;
    }
    ok &= fputs("\n", cb->file) >= 0;
    ok &= fflush(cb->file) == 0;
    return ok ? BGM_OK : csv_io_error(cb, "write");
}

/* ---- hooks --------------------------------------------------------------- */

int bgm__callback_wants_batches(const bgm_callback *cb)
{
    return cb->kind == LAMBDA || (cb->kind == OPS && cb->ops->wants_batches);
}

bgm_status bgm__callback_train_begin(bgm_callback *cb, bgm__train_state *st)
{
    switch (cb->kind) {
    case EARLY_STOPPING:
        cb->wait = 0;
        cb->stopped_epoch = -1;
        cb->have_best = 0;
        cb->best = cb->maximize ? -INFINITY : INFINITY;
        free(cb->best_weights);
        cb->best_weights = NULL;
        if (cb->restore) {
            int64_t n = bgm_model_num_params(st->model);
            cb->best_weights = malloc((size_t)(n ? n : 1) * sizeof(float));
            if (!cb->best_weights)
                return bgm__fail(BGM_E_NOMEM, "early stopping: out of memory for the best "
                                 "weights");
        }
        return BGM_OK;
    case CSV_LOGGER:
        if (cb->file)
            fclose(cb->file);
        cb->header_written = 0;
        cb->keys.n = 0;
        cb->file = fopen(cb->path, cb->append ? "a" : "w");
        if (!cb->file)
            return csv_io_error(cb, "open");
        if (cb->append) {
            fseek(cb->file, 0, SEEK_END);
            cb->header_written = ftell(cb->file) > 0;
        }
        return BGM_OK;
    case LAMBDA:
        if (cb->fn(cb->ctx, st->model, BGM_EVENT_TRAIN_BEGIN, -1, -1, NULL))
            st->stop = 1;
        return BGM_OK;
    case OPS:
        return cb->ops->train_begin ? cb->ops->train_begin(cb->impl, st) : BGM_OK;
    default:
        return BGM_OK;
    }
}

bgm_status bgm__callback_epoch_begin(bgm_callback *cb, bgm__train_state *st, int epoch,
                                     bgm_logs *logs)
{
    bgm_optimizer *opt = bgm_model_optimizer(st->model);
    float lr;
    (void)logs;
    switch (cb->kind) {
    case LR_SCHEDULER:
        lr = cb->schedule(epoch, bgm_optimizer_get_lr(opt), cb->ctx);
        if (!(lr >= 0.0f) || isinf(lr))
            return bgm__fail(BGM_E_INVALID, "learning-rate scheduler: the schedule gave "
                             "%g for epoch %d, expected a finite rate >= 0", (double)lr,
                             epoch);
        return bgm_optimizer_set_lr(opt, lr);
    case LAMBDA:
        if (cb->fn(cb->ctx, st->model, BGM_EVENT_EPOCH_BEGIN, epoch, -1, NULL))
            st->stop = 1;
        return BGM_OK;
    default:
        return BGM_OK;
    }
}

bgm_status bgm__callback_batch_end(bgm_callback *cb, bgm__train_state *st, int epoch,
                                   int64_t batch, const bgm_logs *logs)
{
    if (cb->kind == LAMBDA && cb->fn(cb->ctx, st->model, BGM_EVENT_BATCH_END, epoch, batch,
                                     logs))
        st->stop = 1;
    if (cb->kind == OPS && cb->ops->batch_end)
        return cb->ops->batch_end(cb->impl, st, epoch, batch, logs);
    return BGM_OK;
}

static bgm_status early_stopping_epoch_end(bgm_callback *cb, bgm__train_state *st,
                                           int epoch, const bgm_logs *logs)
{
    double current, delta = cb->min_delta;
    int improved;
    bgm_status s = bgm_logs_get(&current, logs, cb->monitor);
    if (s != BGM_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "early stopping: cannot monitor '%s': %s", cb->monitor, msg);
    }
    if (cb->restore && !cb->have_best) {
        /* As Keras: the first epoch's weights, should nothing ever improve. */
        bgm__model_copy_weights_out(st->model, cb->best_weights);
        cb->have_best = 1;
    }
    cb->wait++;
    improved = cb->maximize ? current - delta > cb->best : current + delta < cb->best;
    if (improved) {
        cb->best = current;
        if (cb->restore)
            bgm__model_copy_weights_out(st->model, cb->best_weights);
        cb->wait = 0;
        return BGM_OK;
    }
    if (cb->wait >= cb->patience && epoch > 0) {
        cb->stopped_epoch = epoch;
        st->stop = 1;
        if (cb->restore && cb->have_best)
            bgm__model_copy_weights_in(st->model, cb->best_weights);
    }
    return BGM_OK;
}

bgm_status bgm__callback_epoch_end(bgm_callback *cb, bgm__train_state *st, int epoch,
                                   bgm_logs *logs)
{
    switch (cb->kind) {
    case EARLY_STOPPING:
        return early_stopping_epoch_end(cb, st, epoch, logs);
    case LR_SCHEDULER:
        bgm__logs_set(logs, "learning_rate", bgm_optimizer_get_lr(bgm_model_optimizer(st->model)));
        return BGM_OK;
    case CSV_LOGGER:
        return csv_epoch_end(cb, epoch, logs);
    case LAMBDA:
        if (cb->fn(cb->ctx, st->model, BGM_EVENT_EPOCH_END, epoch, -1, logs))
            st->stop = 1;
        return BGM_OK;
    case OPS:
        return cb->ops->epoch_end ? cb->ops->epoch_end(cb->impl, st, epoch, logs) : BGM_OK;
    }
    return BGM_OK;
}

bgm_status bgm__callback_train_end(bgm_callback *cb, bgm__train_state *st, int ok)
{
    bgm_status s = BGM_OK;
    switch (cb->kind) {
    case EARLY_STOPPING:
        free(cb->best_weights);
        cb->best_weights = NULL;
        break;
    case CSV_LOGGER:
        if (cb->file && fclose(cb->file) != 0 && ok)
            s = csv_io_error(cb, "close");
        cb->file = NULL;
        break;
    case LAMBDA:
        if (ok)
            cb->fn(cb->ctx, st->model, BGM_EVENT_TRAIN_END, -1, -1, NULL);
        break;
    case OPS:
        if (cb->ops->train_end)
            s = cb->ops->train_end(cb->impl, st, ok);
        break;
    default:
        break;
    }
    return s;
}
