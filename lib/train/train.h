/*
 * Internal pieces of the training loop: logs (named values), histories,
 * callbacks and the progress printer.
 */
#ifndef BGM_TRAIN_TRAIN_H
#define BGM_TRAIN_TRAIN_H

#include "model/model_impl.h"

#define BGM__LOGS_MAX 64

/* Named values: "loss", "accuracy", "val_loss", ..., "learning_rate". */
struct bgm_logs {
    int n;
    char names[BGM__LOGS_MAX][BGM__KEY_SIZE];
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

/* ---- options structs --------------------------------------------------------- */

/* Checks the size given to the *_init of options struct type, whose first
 * version has v1 bytes and this library's full bytes. */
bgm_status bgm__options_init_check(size_t size, size_t v1, size_t full, const char *type,
                                   const char *fn);

/* Checks that caller's options of size bytes can be read (from v1 to full
 * bytes); the message points at the init function. */
bgm_status bgm__options_read_check(size_t size, size_t v1, size_t full, const char *init,
                                   const char *fn);

/* ---- data given to training and testing ------------------------------------ */

/* The features and targets a training or test function was given, checked
 * against the model: x[i] for input i, y[j] for output j (the caller's
 * tensor or a reshaped view in view[j], freed by bgm__arrays_free), n
 * samples each. */
typedef struct bgm__arrays {
    const bgm_tensor *x[BGM__MAX_IO];
    const bgm_tensor *y[BGM__MAX_IO];
    bgm_tensor *view[BGM__MAX_IO];
    int64_t n;
    const bgm_tensor *w;     /* sample weights (n) or (n, T), or NULL: see bgm__weights_check */
    bgm_tensor *w_own;       /* w when made here (from class weights) */
} bgm__arrays;

/* Checks xs[0..nx) and ys[0..ny) against m's inputs and compiled outputs:
 * counts, NULL entries, types, shapes and one sample count. Messages name
 * them after xname and yname: "x" / "y" for a model of one input / output,
 * "xs[1]" / "ys[1] (output 'cls')" otherwise ("validation_x" gives
 * "validation_xs[1]"). On error a is left with nothing to free. */
bgm_status bgm__arrays_check(bgm__arrays *a, const bgm_model *m, const bgm_tensor *const *xs,
                             int nx, const bgm_tensor *const *ys, int ny, const char *xname,
                             const char *yname, const char *fn);

/* Frees the views of a checked set (a zeroed one is fine). */
void bgm__arrays_free(bgm__arrays *a);

/* Sets a->w (a checked by bgm__arrays_check) from Keras' sample_weight sw
 * (float32 (n) or (n, T...) fitting every output's leading dimensions,
 * finite) or class_weight cw[0..ncw) (one output; ncw its number of
 * classes; each sample weighs cw[its class]); neither leaves a->w NULL.
 * Messages call sw wname. */
bgm_status bgm__weights_check(bgm__arrays *a, const bgm_model *m, const bgm_tensor *sw,
                              const float *cw, int ncw, const char *wname, const char *fn);

/* ds's features and targets tensors (the first BGM__MAX_IO of each) and
 * their counts, for bgm__arrays_check, which refuses counts beyond that. */
void bgm__dataset_arrays(const bgm_dataset *ds, const bgm_tensor **xs, int *nx,
                         const bgm_tensor **ys, int *ny);

/* ---- steps on one batch ---------------------------------------------------- */

/* Losses of one batch or pass: [0] the total (Keras' "loss"), [1 + j] output
 * j's unweighted loss. */
typedef double bgm__losses[1 + BGM__MAX_IO];

struct bgm__dist;

/* Gradient accumulation (bgm_fit_options.gradient_accumulation_steps): a
 * group of k batches makes one optimizer step. Without a communicator their
 * gradients are summed here, each times its batch's samples; with one, in
 * the communicator's reduction buffer (train/dist.h). */
typedef struct bgm__accum {
    int k;                 /* batches per optimizer step (1: each batch its own) */
    int count;             /* batches of the current group so far */
    float *state;          /* room for m->nstate floats: the moving statistics */
    bgm_rng rng;           /*   and the step's generator as the group began */
    float *sum;            /* no communicator and k > 1: sum of b * gradient */
    double b;              /*   the samples in it */
    bgm_tensor **views;    /*   sum's values shaped as m->trainable */
} bgm__accum;

/* Sets acc up for groups of k batches of m (sum only when with_sum). */
bgm_status bgm__accum_init(bgm__accum *acc, const bgm_model *m, int k, int with_sum,
                           const char *fn);

/* Releases what bgm__accum_init allocated (a zeroed acc is fine). */
void bgm__accum_free(bgm__accum *acc, const bgm_model *m);

/* Tensor views views[0..m->ntrainable) of buf's values shaped as m's
 * trainable weights, collated in their order (free with bgm__grad_views_free). */
bgm_status bgm__grad_views(bgm_tensor ***views, const bgm_model *m, float *buf,
                           const char *fn);
void bgm__grad_views_free(bgm_tensor **views, const bgm_model *m);

/* One training step of m on a batch (xs and ys checked): forward in training
 * mode on m's tape (reset first), the losses, gradients into grads
 * (m->ntrainable entries), one optimizer step when the batch ends acc's
 * group (k = 1: every batch), and metrics[0..m->nmetrics) updated with
 * the batch. A NaN or
 * infinite loss or gradient gives
 * BGM_E_NONFINITE (message: fn, "epoch E, step S: " from the 0-based epoch
 * and step unless epoch < 0, then the loss or the first weight concerned)
 * with losses set, no update applied, the group dropped, the moving
 * statistics and the generator put back as the group began and the
 * metrics untouched. With dist (a data-parallel fit's, or NULL), the
 * gradients, losses and metric counts are those of all ranks' batches
 * (train/dist.h), and the step's draws come from dist->rng. */
bgm_status bgm__train_batch(bgm_model *m, struct bgm__dist *dist, bgm__accum *acc,
                            const bgm_tensor *const *xs, const bgm_tensor *const *ys,
                            const bgm_tensor *sw, bgm_tensor **grads, bgm_metric **metrics,
                            bgm__losses losses, int epoch, int64_t step, const char *fn);

/* Applies the group acc holds when it is not whole (the end of an epoch or
 * a stop): with dist, after the reduction that every rank enters (losses
 * then the group's means over all ranks, dist->total_b its samples; else
 * losses are untouched: its batches reported theirs). Nothing when the group
 * is empty. Failures as bgm__train_batch's. */
bgm_status bgm__train_flush(bgm_model *m, struct bgm__dist *dist, bgm__accum *acc,
                            bgm_metric **metrics, bgm__losses losses, int epoch, int64_t step,
                            const char *fn);

/* One inference step on a batch, on the tapes t: losses and metrics updated.
 * sw: the batch's sample weights, or NULL. */
bgm_status bgm__test_batch(const bgm_model *m, bgm__infer_tapes *t, const bgm_tensor *const *xs,
                           const bgm_tensor *const *ys, const bgm_tensor *sw,
                           bgm_metric **metrics, bgm__losses losses, const char *fn);

/* Loss means (sample-weighted over batches) of m on the checked arrays a
 * (with their sample weights a->w) in inference mode, in batches of
 * batch_size, with metrics[0..m->nmetrics) reset, then updated; on the
 * tapes t (see bgm__model_infer). */
bgm_status bgm__evaluate_arrays(const bgm_model *m, bgm__infer_tapes *t, const bgm__arrays *a,
                                int64_t batch_size, bgm_metric **metrics, bgm__losses means,
                                const char *fn);

/* The same over samples [from, to) of a only. */
bgm_status bgm__evaluate_range(const bgm_model *m, bgm__infer_tapes *t, const bgm__arrays *a,
                               int64_t from, int64_t to, int64_t batch_size,
                               bgm_metric **metrics, bgm__losses means, const char *fn);

/* Sets the values bgm_model_metric_name lists, named prefix + name ("" or
 * "val_"), in logs: the losses, then the metrics' results. */
bgm_status bgm__logs_collect(bgm_logs *logs, const bgm_model *m, bgm_metric **metrics,
                             const bgm__losses losses, const char *prefix);

/* Writes the first min(n, bgm_model_num_metrics(m)) of those values to results. */
bgm_status bgm__results(double *results, int n, const bgm_model *m, bgm_metric **metrics,
                        const bgm__losses losses);

/* Keras' warnings about the compiled model m, to its log (warnings.c). */
void bgm__compile_warnings(const bgm_model *m);

/* ---- streamed data (streams.c) ---------------------------------------------- */

/* Checks that st's counts of features and targets tensors fit m (role:
 * "training", "validation" or "test"; predict needs no targets). */
bgm_status bgm__stream_check(bgm_stream *st, const bgm_model *m, const char *role,
                             const char *fn);

/* The next batch of st (open, pass begun), checked against m like arrays
 * named xname / yname, with its sample weights (those of a weighted stream,
 * or class_weight cw[0..ncw) when cw is not NULL) checked into a->w as
 * bgm__weights_check does: *more = 0 at the end of the pass. On *more, a
 * holds the batch; free it with bgm__arrays_free. */
bgm_status bgm__stream_batch(bgm_stream *st, int *more, bgm__arrays *a, const bgm_model *m,
                             const float *cw, int ncw, const char *xname, const char *yname,
                             const char *fn);

/* bgm__evaluate_arrays over at most steps batches (0: the rest of the pass)
 * of st (open): begins a pass, metrics reset then updated; *samples gets
 * the samples it read. */
bgm_status bgm__evaluate_stream(const bgm_model *m, bgm__infer_tapes *t, bgm_stream *st,
                                int64_t steps, bgm_metric **metrics, bgm__losses means,
                                int64_t *samples, const char *xname, const char *yname,
                                const char *fn);

/* ---- callbacks ------------------------------------------------------------ */

/* Everything a callback may touch during fit. */
typedef struct bgm__train_state {
    bgm_model *model;
    int stop;                  /* set by a callback: stop after this epoch */
    int initial_epoch;         /* the first epoch; TRAIN_BEGIN hooks may move it */
    bgm_write_fn write;        /* fit's output, for the callbacks' verbose lines */
    void *write_ctx;
} bgm__train_state;

/* The hooks of a callback kind implemented in its own file (NULL: nothing
 * to do at that event); impl is the kind's state, freed by free_impl. */
typedef struct bgm__callback_ops {
    int wants_batches;
    bgm_status (*train_begin)(void *impl, bgm__train_state *st);
    bgm_status (*batch_end)(void *impl, bgm__train_state *st, int epoch, int64_t batch,
                            const bgm_logs *logs);
    bgm_status (*epoch_end)(void *impl, bgm__train_state *st, int epoch, bgm_logs *logs);
    bgm_status (*train_end)(void *impl, bgm__train_state *st, int ok);
    void (*free_impl)(void *impl);
} bgm__callback_ops;

/* New callback running ops on impl (owned: freed with the callback, also
 * when this fails). */
bgm_status bgm__callback_new_ops(bgm_callback **out, const bgm__callback_ops *ops, void *impl,
                                 const char *fn);

/* Keras' "auto" mode: 1 when name is a metric that improves upwards. */
int bgm__monitor_auto_max(const char *name);

/* A monitored value: which log name, which way is better, the best so far. */
typedef struct bgm__monitor {
    char name[BGM__KEY_SIZE];
    int maximize;
    double best;               /* +-inf or Keras' initial value */
} bgm__monitor;

/* Sets mon from monitor and mode ("auto", "min", "max"; NULL is "auto"),
 * naming fn in messages; best starts at the worst value. */
bgm_status bgm__monitor_init(bgm__monitor *mon, const char *monitor, const char *mode,
                             const char *fn);

/* 1 when current beats mon->best by more than delta. */
int bgm__monitor_improved(const bgm__monitor *mon, double current, double delta);

/* v as Python's repr(float) writes it (the shortest text that reads back). */
void bgm__format_repr(char *out, size_t size, double v);

/* Writes a verbose line of a callback to fit's output (printf-style). */
void bgm__train_say(const bgm__train_state *st, const char *fmt, ...) BGM__PRINTF(2, 3);

/* Creates the folders of path (all of it with whole = 1, else up to its
 * last '/'), as mkdir -p; BGM_E_IO naming what and the folder. */
bgm_status bgm__make_dirs(const char *path, int whole, const char *what);

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
