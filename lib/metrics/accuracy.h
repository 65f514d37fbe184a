/* Counting correct predictions: accuracy and top-k accuracy. */
#ifndef BGM_METRICS_ACCURACY_H
#define BGM_METRICS_ACCURACY_H

#include "labels.h"

/* Samples whose predicted id equals the true id. */
int64_t bgm__count_correct(const bgm__labels *t, const bgm__labels *p);

/* Samples whose true class is among the k best of its row of `width` scores;
 * equal scores rank the larger class id first (sklearn's top_k_accuracy_score). */
int64_t bgm__count_top_k(const bgm__labels *t, const float *scores, int64_t width, int k);

/* 1 when sample i's true class is among the k best of its row, else 0. */
int bgm__count_top_k_row(const bgm__labels *t, const float *scores, int64_t width, int k,
                         int64_t i);

#endif
