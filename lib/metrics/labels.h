/* Reading class ids out of y_true / y_pred tensors (ids, one-hot rows, scores). */
#ifndef BGM_METRICS_LABELS_H
#define BGM_METRICS_LABELS_H

#include "bigmodel/tensor.h"

/* How label i is read from the tensor. */
typedef enum bgm__labels_mode {
    BGM__LABELS_INT = 1,    /* int32 ids */
    BGM__LABELS_FLOAT,      /* float32 whole numbers */
    BGM__LABELS_ARGMAX,     /* float32 rows of `width` scores or one-hot values */
    BGM__LABELS_THRESHOLD   /* float32 binary scores: 1 when > threshold */
} bgm__labels_mode;

/* A validated, borrowed view of N labels; reading one never fails. */
typedef struct bgm__labels {
    bgm__labels_mode mode;
    const void *data;
    int64_t n;
    int64_t width;
    float threshold;
} bgm__labels;

/*
 * Checks y_true and y_pred (non-NULL) against each other and num_classes
 * (0 = no upper bound) and fills the two views. Ids are range-checked here,
 * so bgm__label_at never sees a bad one. Sets the error message, prefixed
 * with func.
 */
bgm_status bgm__labels_pair(bgm__labels *t, bgm__labels *p, const char *func,
                            const bgm_tensor *y_true, const bgm_tensor *y_pred,
                            int num_classes, float threshold);

/* Only y_true (binary labels of AUC): same rules as in bgm__labels_pair. */
bgm_status bgm__labels_true(bgm__labels *t, const char *func, const bgm_tensor *y_true,
                            int num_classes);

/* Writes "... has N samples (shape S) but ... has M (shape T)" for func. */
bgm_status bgm__fail_samples(const char *func, const char *name_a, const bgm_tensor *a,
                             const char *name_b, const bgm_tensor *b);

/* Index of the largest of row[0..width-1]; the first one on ties, as numpy. */
static inline int32_t bgm__argmax(const float *row, int64_t width)
{
    int64_t j, best = 0;
    for (j = 1; j < width; j++)
        if (row[j] > row[best])
            best = j;
    return (int32_t)best;
}

static inline int32_t bgm__label_at(const bgm__labels *l, int64_t i)
{
    switch (l->mode) {
    case BGM__LABELS_INT:
        return ((const int32_t *)l->data)[i];
    case BGM__LABELS_FLOAT:
        return (int32_t)((const float *)l->data)[i];
    case BGM__LABELS_ARGMAX:
        return bgm__argmax((const float *)l->data + i * l->width, l->width);
    case BGM__LABELS_THRESHOLD:
        return ((const float *)l->data)[i] > l->threshold;
    }
    return 0;
}

#endif
