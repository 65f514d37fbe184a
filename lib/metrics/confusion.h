/* Confusion counts: the sufficient statistics of precision, recall and F1. */
#ifndef BGM_METRICS_CONFUSION_H
#define BGM_METRICS_CONFUSION_H

#include "labels.h"

/* Adds the (true, predicted) pairs of t and p (same n, ids in [0, C)) to the
 * C x C row-major counts cm: row = true class, column = predicted class. */
void bgm__confusion_add(int64_t *cm, int num_classes, const bgm__labels *t,
                        const bgm__labels *p);

/* New zeroed C x C count matrix (free with free()) filled from the tensors;
 * checks them as bgm_confusion_matrix documents. Sets the error for func. */
bgm_status bgm__confusion_from_tensors(int64_t **out, const char *func,
                                       const bgm_tensor *y_true, const bgm_tensor *y_pred,
                                       int num_classes);

#endif
