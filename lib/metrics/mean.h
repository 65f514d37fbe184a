/* A running mean inside a bgm_metric handle: the state of custom metric
 * functions of compiled models (Keras' MeanMetricWrapper). Not a public
 * kind: bgm_metric_create does not make it. */
#ifndef BGM_METRICS_MEAN_H
#define BGM_METRICS_MEAN_H

#include "bigmodel/metrics.h"

/* The kind of such a handle; bgm_metric_name calls it "mean". */
#define BGM__METRIC_MEAN ((bgm_metric_kind)0)

/* New running mean (result 0 with the zero-division flag until a value). */
bgm_status bgm__metric_create_mean(bgm_metric **out);

/* Adds count samples whose values sum to sum. */
void bgm__metric_add(bgm_metric *m, double sum, int64_t count);

/* Keras' weighted_metrics: the kinds that can be weighted by sample weights
 * (running means of per-row values: accuracy, top-k accuracy, MSE, MAE and
 * the running mean of custom metric functions). */
int bgm__metric_weighable(bgm_metric_kind kind);

/* Makes m (of a weighable kind) report sum(w * row value) / sum(w) over the
 * rows it is given with bgm__metric_update_weighted / _add_weighted. */
void bgm__metric_set_weighted(bgm_metric *m);

/* A weighted running mean (set weighted) takes wsum = sum(w * value) and
 * wtotal = sum(w). */
void bgm__metric_add_weighted(bgm_metric *m, double wsum, double wtotal);

/* Updates a weighted m with the rows of y_true / y_pred (as bgm_metric_update
 * takes them), row i weighing w[i] (w NULL: 1 each). Messages name caller. */
bgm_status bgm__metric_update_weighted(bgm_metric *m, const char *caller,
                                       const bgm_tensor *y_true, const bgm_tensor *y_pred,
                                       const float *w);

/* Data-parallel fit sums metric states over processes: the number of floats
 * of m's state, a sum of counts and sums (accuracy, top-k accuracy,
 * precision, recall, F1, running means), or -1 for the kinds whose state is
 * not such a sum (AUC keeps its scores, R2 merges variances, MSE / MAE share
 * its state): fit gathers those whole (bgm__metric_gather_*). */
int64_t bgm__metric_state_size(const bgm_metric *m);

/* Writes m's state into out (bgm__metric_state_size floats). */
void bgm__metric_state_get(const bgm_metric *m, float *out);

/* Adds a state of the same kind and size (a sum of some ranks' states) to m. */
void bgm__metric_state_add(bgm_metric *m, const float *in);

/* A whole state, for evaluation over processes (any kind): its size in
 * floats, written by gather_put, merged into m by gather_merge (a state of
 * the same kind and options from another process, in in[0..avail); *used
 * gets its floats). */
int64_t bgm__metric_gather_size(const bgm_metric *m);
void bgm__metric_gather_put(const bgm_metric *m, float *out);
bgm_status bgm__metric_gather_merge(bgm_metric *m, const float *in, int64_t avail,
                                    int64_t *used, const char *fn);

/* Makes room in m for merging gathered states of up to floats floats in
 * all, so that those merges cannot fail; *grew = 1 when it had to allocate
 * (which depends on m's state and floats only: ranks whose m are alike
 * allocate at the same calls). */
bgm_status bgm__metric_gather_reserve(bgm_metric *m, int64_t floats, int *grew,
                                      const char *fn);

#endif
