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

#endif
