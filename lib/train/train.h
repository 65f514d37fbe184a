/*
 * Internal pieces of the training loop: logs (named values), histories,
 * callbacks and the progress printer.
 */
#ifndef BGM_TRAIN_TRAIN_H
#define BGM_TRAIN_TRAIN_H

#include "model/model_impl.h"

#define BGM__LOGS_MAX 64

/* Named values: "loss", "accuracy", "val_loss", ..., "lr". */
struct bgm_logs {
    int n;
    char names[BGM__LOGS_MAX][BGM__NAME_SIZE];
    double values[BGM__LOGS_MAX];
};

/* Sets name to value (appending it when new); silently drops past the capacity. */
void bgm__logs_set(bgm_logs *logs, const char *name, double value);

/* Index of name, or -1. */
int bgm__logs_find(const bgm_logs *logs, const char *name);

/* New empty history; NULL when out of memory. */
bgm_history *bgm__history_new(void);

/* Records one epoch (every name in logs; names first seen later get NaN for
 * earlier epochs). */
bgm_status bgm__history_append(bgm_history *h, int epoch, const bgm_logs *logs);

/* ---- evaluation ------------------------------------------------------------ */

/* Loss (sample-weighted mean over batches) of m on x, y in inference mode,
 * with metrics[0..m->nmetrics) updated (they are reset first); on the two
 * tapes (see bgm__model_infer). x and y must have been checked. */
bgm_status bgm__evaluate_tensors(const bgm_model *m, bgm__infer_tapes *tapes,
                                 const bgm_tensor *x,
                                 const bgm_tensor *y, int64_t batch_size,
                                 bgm_metric **metrics, double *loss_mean);

/* Training and evaluating take one input and one output for now: BGM_E_UNSUPPORTED
 * naming fn otherwise. */
bgm_status bgm__check_single_io(const bgm_model *m, const char *fn);

/* ---- callbacks ------------------------------------------------------------ */

/* Everything a callback may touch during fit. */
typedef struct bgm__train_state {
    bgm_model *model;
    int stop;                  /* set by a callback: stop after this epoch */
} bgm__train_state;

/* Hooks fit calls on every callback, in order. Each returns BGM_OK or an
 * error that ends fit. train_end is always called once train_begin was,
 * on success or not (ok says which): it releases files and buffers. */
/* 1 when cb does something at batch ends (so fit must make batch logs). */
int bgm__callback_wants_batches(const bgm_callback *cb);
bgm_status bgm__callback_train_begin(bgm_callback *cb, bgm__train_state *st);
bgm_status bgm__callback_epoch_begin(bgm_callback *cb, bgm__train_state *st, int epoch,
                                     bgm_logs *logs);
bgm_status bgm__callback_batch_end(bgm_callback *cb, bgm__train_state *st, int epoch,
                                   int64_t batch, const bgm_logs *logs);
bgm_status bgm__callback_epoch_end(bgm_callback *cb, bgm__train_state *st, int epoch,
                                   bgm_logs *logs);
bgm_status bgm__callback_train_end(bgm_callback *cb, bgm__train_state *st, int ok);

/* ---- progress ------------------------------------------------------------- */

typedef struct bgm__progress {
    int verbose;
    int in_place;              /* rewrite the bar with \r (terminal) */
    bgm_write_fn write;
    void *ctx;
    int64_t target;            /* steps per epoch */
    double start, last_update; /* seconds */
    size_t last_width;
} bgm__progress;

/* Sets up printing; write NULL means stdout. */
void bgm__progress_init(bgm__progress *p, int verbose, bgm_write_fn write, void *ctx);

/* "Epoch 3/10" and the start of the timer. */
void bgm__progress_epoch_begin(bgm__progress *p, int epoch, int epochs, int64_t steps);

/* 1 when bgm__progress_update would redraw after this step. */
int bgm__progress_due(const bgm__progress *p, int64_t step);

/* After a step: the bar in place (throttled), when printing in place. */
void bgm__progress_update(bgm__progress *p, int64_t step, const bgm_logs *logs);

/* The epoch's final line. */
void bgm__progress_epoch_end(bgm__progress *p, int64_t steps, const bgm_logs *logs);

/* Formats the final line of an epoch into buf (exposed for reuse by tests of
 * the layout); elapsed in seconds. */
void bgm__progress_format(char *buf, size_t size, int64_t current, int64_t target,
                          double elapsed, int final, const bgm_logs *logs);

/* Monotonic clock in seconds. */
double bgm__now(void);

#endif
