/* Regression errors over batches: MSE, MAE and R², per output, merged with
 * Chan's parallel variance update so R² stays accurate across batches. */
#ifndef BGM_METRICS_REGRESSION_H
#define BGM_METRICS_REGRESSION_H

#include "bigmodel/tensor.h"

typedef struct bgm__regression {
    int64_t n;        /* samples so far */
    int64_t outputs;  /* values per sample; 0 until set by a batch */
    double *mean;     /* per output: mean of y_true, */
    double *m2;       /* sum of squared deviations of y_true from it, */
    double *sse;      /* sum of squared errors, */
    double *sae;      /* sum of absolute errors (all four in one allocation) */
    int64_t capacity; /* outputs the allocation holds */
} bgm__regression;

void bgm__regression_init(bgm__regression *r);
void bgm__regression_release(bgm__regression *r);
/* Forgets the samples and the output count, keeps the memory. */
void bgm__regression_reset(bgm__regression *r);

/* Adds a batch (float32 or int32 tensors of equal shape up to trailing 1s).
 * On error r is unchanged. Sets the error for func. */
bgm_status bgm__regression_add(bgm__regression *r, const char *func,
                               const bgm_tensor *y_true, const bgm_tensor *y_pred);

/* Merges the statistics of n more samples of outputs values each (another
 * part's: pairs holds its mean[outputs], m2[outputs], sse[outputs] and
 * sae[outputs] as bgm__regression keeps them, each double as two floats hi
 * + lo, bgm__comm_put_double's) into r. Fails only when r has no room yet
 * (bgm__regression_reserve). */
bgm_status bgm__regression_merge(bgm__regression *r, const char *func, int64_t n,
                                 int64_t outputs, const float *pairs);

/* Makes room for parts of up to outputs values per sample, so that the next
 * merges into an empty r cannot fail; *grew = 1 when it had to allocate. */
bgm_status bgm__regression_reserve(bgm__regression *r, const char *func, int64_t outputs,
                                   int *grew);

/* The metrics, uniformly averaged over outputs (sklearn's default). *undefined
 * is set to 1 when a value was replaced (see bigmodel/metrics.h). */
double bgm__regression_mse(const bgm__regression *r, double zero_division, int *undefined);
double bgm__regression_mae(const bgm__regression *r, double zero_division, int *undefined);
double bgm__regression_r2(const bgm__regression *r, int *undefined);

#endif
