/* Precision, recall and F1 from confusion counts, per class and averaged,
 * with scikit-learn's zero_division rule and summation order. */
#ifndef BGM_METRICS_CLASSIFICATION_H
#define BGM_METRICS_CLASSIFICATION_H

#include "bigmodel/metrics.h"

typedef struct bgm__prf {
    double precision, recall, f1;
} bgm__prf;

/* Doubles of scratch space bgm__prf_average needs for C classes. */
#define BGM__PRF_SCRATCH(num_classes) (4 * (size_t)(num_classes))

/* Scores of class c from the C x C counts cm (row = true class); ORs
 * BGM_ZERO_DIVISION_* bits into *flags; *support gets the true count. */
void bgm__prf_class(bgm__prf *out, int64_t *support, int *flags, const int64_t *cm,
                    int num_classes, int c, double zero_division);

/* Averaged scores (sklearn's np.average, bit for bit) over classes
 * 0..num_listed-1 (sklearn's labels=; the counts of each over every class);
 * pos_label is used by BGM_AVERAGE_BINARY only. scratch holds
 * BGM__PRF_SCRATCH(C) doubles. */
void bgm__prf_average(bgm__prf *out, int *flags, const int64_t *cm, int num_classes,
                      int num_listed, bgm_average average, int pos_label,
                      double zero_division, double *scratch);

#endif
