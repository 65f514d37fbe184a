/* ROC AUC over batches: the scores are kept and sorted when asked. */
#ifndef BGM_METRICS_AUC_H
#define BGM_METRICS_AUC_H

#include "bigmodel/tensor.h"

typedef struct bgm__auc_sample {
    double score;
    int32_t positive;
} bgm__auc_sample;

typedef struct bgm__auc {
    bgm__auc_sample *samples;  /* growable; order changes when the area is computed */
    int64_t n, capacity;
    int64_t positives;
} bgm__auc;

void bgm__auc_init(bgm__auc *a);
void bgm__auc_release(bgm__auc *a);
/* Forgets the samples, keeps the buffer. */
void bgm__auc_reset(bgm__auc *a);

/* Makes room for extra more samples (a->samples[a->n .. a->n + extra)). */
bgm_status bgm__auc_reserve(bgm__auc *a, const char *func, int64_t extra);

/* Appends a batch: y_true binary labels (sample i is positive when its class
 * is pos_label), y_score scores (N,), (N, 1) or (N, 2) (column pos_label).
 * On error a is unchanged. Sets the error for func. */
bgm_status bgm__auc_add(bgm__auc *a, const char *func, const bgm_tensor *y_true,
                        const bgm_tensor *y_score, int pos_label);

/* 1 when the area is undefined: no positive or no negative sample. */
int bgm__auc_undefined(const bgm__auc *a);

/* Trapezoidal area under the ROC curve over distinct thresholds (ties count
 * one half). Requires a defined area. Sorts the samples. */
double bgm__auc_area(bgm__auc *a);

#endif
