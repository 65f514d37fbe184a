/*
 * bigmodel/metrics.h — evaluation metrics: accuracy, top-k accuracy,
 * precision / recall / F1, confusion matrix, ROC AUC, MSE / MAE / R², and a
 * text classification report.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * Two ways in:
 *   - a streaming bgm_metric handle that accumulates over batches (update,
 *     result, reset), as fit / evaluate use it;
 *   - one-shot functions on whole tensors (bgm_metric_compute,
 *     bgm_confusion_matrix, bgm_classification_scores,
 *     bgm_classification_report).
 * Both give the same numbers: a one-shot call is one update of a fresh handle.
 *
 * How labels and predictions are read (classification metrics)
 *   y_true  int32 class ids of shape (N,) or (N, 1);
 *           float32 of shape (N,) or (N, 1) holding whole numbers (Keras-style
 *           binary labels 0.0 / 1.0);
 *           float32 of shape (N, C), C >= 2: one-hot rows, read by argmax.
 *   y_pred  int32 class ids of shape (N,) or (N, 1);
 *           float32 scores / probabilities of shape (N, C), C >= 2, read by
 *           argmax (the first maximum wins, as numpy.argmax);
 *           float32 binary scores of shape (N,) or (N, 1): class 1 when the
 *           score is > threshold (0.5 unless the options say otherwise),
 *           else class 0 (Keras' rule); needs num_classes 0 or 2.
 *   Class ids must lie in [0, num_classes). num_classes 0 means: any id >= 0
 *   for accuracy, the score columns for top-k accuracy, 2 for BINARY
 *   averaging and AUC. A call that fails leaves the handle as it was.
 *
 * Undefined values (scikit-learn's zero_division convention)
 *   Precision of a class never predicted, recall of a class never present, the
 *   F1 of a class neither present nor predicted, ROC AUC when y_true holds one
 *   class only, and any metric over zero samples are undefined. They take the
 *   zero_division value of the options (default 0.0; scikit-learn's default
 *   too; 1.0 and NAN are the other usual choices), and the caller learns that
 *   it happened through bgm_metric_zero_division() or the zero_division
 *   out-parameter of the one-shot functions. R² follows scikit-learn's
 *   force_finite rule instead: an output whose y_true is constant scores 1.0
 *   when predicted exactly and 0.0 otherwise, and fewer than two samples give
 *   NAN; these set the flag too.
 *
 * Compatibility with scikit-learn: precision / recall / F1 / report equal
 * sklearn.metrics with labels=range(num_classes); top-k ties are broken as
 * top_k_accuracy_score does (among equal scores the larger class id ranks
 * first); ROC AUC is the trapezoid over distinct score thresholds, so ties
 * count one half, as roc_auc_score.
 */
#ifndef BIGMODEL_METRICS_H
#define BIGMODEL_METRICS_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a bgm_metric computes. Values are part of the ABI. */
typedef enum bgm_metric_kind {
    BGM_METRIC_ACCURACY = 1,       /**< fraction of samples whose class is right */
    BGM_METRIC_TOP_K_ACCURACY = 2, /**< fraction whose true class is among the k best scores */
    BGM_METRIC_PRECISION = 3,      /**< tp / (tp + fp), averaged as opts.average says */
    BGM_METRIC_RECALL = 4,         /**< tp / (tp + fn), averaged as opts.average says */
    BGM_METRIC_F1 = 5,             /**< 2 P R / (P + R), averaged as opts.average says */
    BGM_METRIC_AUC = 6,            /**< area under the ROC curve of binary scores */
    BGM_METRIC_MSE = 7,            /**< mean squared error */
    BGM_METRIC_MAE = 8,            /**< mean absolute error */
    BGM_METRIC_R2 = 9              /**< coefficient of determination (uniform over outputs) */
} bgm_metric_kind;

/** How per-class precision / recall / F1 become one number. Values are part of the ABI. */
typedef enum bgm_average {
    BGM_AVERAGE_BINARY = 1,   /**< the positive class (opts.pos_label) only; needs 2 classes */
    BGM_AVERAGE_MACRO = 2,    /**< unweighted mean over the classes */
    BGM_AVERAGE_MICRO = 3,    /**< from the total counts (equals accuracy for single-label data) */
    BGM_AVERAGE_WEIGHTED = 4  /**< mean weighted by each class's support (true count) */
} bgm_average;

/** Bits of the zero_division out-parameter of bgm_classification_scores / _report. */
#define BGM_ZERO_DIVISION_PRECISION 1 /**< a class was never predicted */
#define BGM_ZERO_DIVISION_RECALL 2    /**< a class never occurs in y_true */
#define BGM_ZERO_DIVISION_F1 4        /**< a class occurs in neither: its F1 is the value too */

/**
 * Options of a metric. Fill it with bgm_metric_options_init() (or the
 * BGM_METRIC_OPTIONS_INIT initializer), then change the fields you need.
 * `size` tells the library which fields the caller's header knows: later
 * versions only append fields, and fields beyond `size` take their defaults.
 * Fields a metric kind does not use are ignored.
 */
typedef struct bgm_metric_options {
    size_t size;          /**< sizeof(bgm_metric_options), set by the init function */
    int num_classes;      /**< number of classes C; 0 = unknown (accuracy, top-k, binary). Default 0 */
    int k;                /**< top-k accuracy: how many best scores count. Default 5 (Keras) */
    bgm_average average;  /**< precision / recall / F1 averaging. Default BGM_AVERAGE_BINARY (sklearn) */
    int pos_label;        /**< positive class (0 or 1) of BINARY averaging and AUC. Default 1 */
    float threshold;      /**< binary scores above it mean class 1. Default 0.5 */
    double zero_division; /**< value of undefined results (see above). Default 0.0 */
    /** MACRO / MICRO / WEIGHTED averaging over classes 0..num_labels-1 only,
     *  the counts of each still taken over all num_classes (scikit-learn's
     *  labels= listing a subset of the classes present: map the listed ones
     *  to 0..num_labels-1, the others after them). 0 = all. Default 0 */
    int num_labels;
} bgm_metric_options;

/** Static initializer holding the defaults: bgm_metric_options o = BGM_METRIC_OPTIONS_INIT; */
#define BGM_METRIC_OPTIONS_INIT \
    {sizeof(bgm_metric_options), 0, 5, BGM_AVERAGE_BINARY, 1, 0.5f, 0.0, 0}

/**
 * Fills opts with the defaults; pass size = sizeof *opts (libgit2's
 * *_options_init pattern).
 * Errors: BGM_E_INVALID (NULL, size smaller than the first version of the
 * struct), BGM_E_UNSUPPORTED (size larger than this library knows: the caller
 * was compiled against a newer header).
 */
BGM_API bgm_status bgm_metric_options_init(bgm_metric_options *opts, size_t size);

/* ---- streaming metrics -------------------------------------------------- */

/** A metric accumulating over batches. Opaque; one thread at a time. */
typedef struct bgm_metric bgm_metric;

/**
 * New metric of the given kind with no samples yet; free it with
 * bgm_metric_free(). opts may be NULL (defaults); it is copied.
 * Errors: BGM_E_INVALID (NULL out, unknown kind, opts not initialized,
 * num_classes < 0, k < 1 for top-k, unknown average, BINARY averaging or AUC
 * with num_classes other than 0 or 2 or pos_label other than 0 or 1,
 * PRECISION / RECALL / F1 with another averaging and num_classes < 1, NaN
 * threshold), BGM_E_UNSUPPORTED (opts from a newer header), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_metric_create(bgm_metric **out, bgm_metric_kind kind,
                                     const bgm_metric_options *opts);

/**
 * Adds one batch. Both tensors are borrowed for the call; their first
 * dimension is the sample count N and must agree (a batch of N = 0 is fine).
 * Classification kinds read them as described at the top of this file.
 * TOP_K_ACCURACY needs float32 scores (N, C) in y_pred. AUC takes y_true as
 * binary labels and y_pred as scores of shape (N,) or (N, 1), or (N, 2) whose
 * column pos_label is used; NaN scores are rejected. MSE / MAE / R² take
 * float32 or int32 tensors of equal shape up to trailing 1s: (N,) and (N, 1)
 * match; (N, D) means D outputs, and D must stay the same across batches.
 * Errors: BGM_E_INVALID (NULL), BGM_E_SHAPE (sample counts differ, naming
 * both shapes; unsupported shape; column count differs from num_classes),
 * BGM_E_DTYPE (int32 where scores or one-hot rows are needed), BGM_E_RANGE
 * (a class id outside [0, num_classes) or not a whole number, a NaN score:
 * the message names the index and the value), BGM_E_NOMEM (AUC keeps every
 * score). On error the metric is unchanged.
 */
BGM_API bgm_status bgm_metric_update(bgm_metric *metric, const bgm_tensor *y_true,
                                     const bgm_tensor *y_pred);

/**
 * The metric over every sample since creation or the last reset. Does not
 * change what was accumulated (AUC reorders its stored scores, hence the
 * non-const handle).
 * Errors: BGM_E_INVALID (NULL).
 */
BGM_API bgm_status bgm_metric_result(double *out, bgm_metric *metric);

/**
 * 1 when the value bgm_metric_result() gives for the samples accumulated so
 * far is undefined and was replaced by opts.zero_division (or R²'s rule), 0
 * otherwise (also for NULL).
 */
BGM_API int bgm_metric_zero_division(const bgm_metric *metric);

/** Forgets every sample; the kind and options stay. Errors: BGM_E_INVALID (NULL). */
BGM_API bgm_status bgm_metric_reset(bgm_metric *metric);

/**
 * Short name for progress lines and histories: "accuracy", "top_k_accuracy",
 * "precision", "recall", "f1", "auc", "mse", "mae", "r2". Static storage;
 * "" for NULL.
 */
BGM_API const char *bgm_metric_name(const bgm_metric *metric);

/** The kind metric was created with (0 for NULL). */
BGM_API bgm_metric_kind bgm_metric_get_kind(const bgm_metric *metric);

/** Frees a metric; NULL is a no-op. */
BGM_API void bgm_metric_free(bgm_metric *metric);

/* ---- one-shot functions ------------------------------------------------- */

/**
 * The metric of `kind` over y_true / y_pred in one call: the same as create,
 * one update, result, free. zero_division may be NULL; otherwise it receives
 * bgm_metric_zero_division()'s answer.
 * Errors: those of bgm_metric_create and bgm_metric_update; *out is 0 on error.
 */
BGM_API bgm_status bgm_metric_compute(double *out, int *zero_division,
                                      bgm_metric_kind kind,
                                      const bgm_metric_options *opts,
                                      const bgm_tensor *y_true,
                                      const bgm_tensor *y_pred);

/**
 * New int32 tensor (num_classes, num_classes) whose element [i][j] counts
 * the samples of true class i predicted as class j (scikit-learn's layout).
 * Binary scores are thresholded at 0.5. The caller frees *out.
 * Errors: BGM_E_INVALID (NULL, num_classes < 1), BGM_E_SHAPE, BGM_E_DTYPE,
 * BGM_E_RANGE (as bgm_metric_update; also more than INT32_MAX samples),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_confusion_matrix(bgm_tensor **out, const bgm_tensor *y_true,
                                        const bgm_tensor *y_pred, int num_classes);

/**
 * Per-class precision, recall, F1 and support (true count) for classes
 * 0..num_classes-1, written to caller arrays of num_classes entries; any of
 * the four may be NULL. Undefined values take zero_division_value;
 * zero_division (may be NULL) receives an OR of BGM_ZERO_DIVISION_* bits, 0
 * when every value was defined. Binary scores are thresholded at 0.5.
 * Errors: BGM_E_INVALID (NULL tensors, num_classes < 1), and those of
 * bgm_confusion_matrix. On error the arrays are untouched and *zero_division
 * is 0.
 */
BGM_API bgm_status bgm_classification_scores(double *precision, double *recall,
                                             double *f1, int64_t *support,
                                             int *zero_division,
                                             const bgm_tensor *y_true,
                                             const bgm_tensor *y_pred,
                                             int num_classes,
                                             double zero_division_value);

/**
 * Writes the text of scikit-learn's classification_report(y_true, y_pred,
 * labels=range(num_classes), target_names=class_names, digits=digits) into
 * buf, byte for byte: a header line, one line per class (precision, recall,
 * f1-score, support), a blank line, then "accuracy", "macro avg" and
 * "weighted avg" lines. As in scikit-learn, the accuracy line becomes a
 * "micro avg" line with all three scores when some class occurs in neither
 * y_true nor y_pred. Undefined values print as 0 (scikit-learn's default);
 * bgm_classification_report_ex takes another zero_division value.
 *
 * snprintf-style: writes at most size bytes and always NUL-terminates when
 * size > 0 (buf may be NULL when size is 0). *needed (may be NULL) receives
 * the buffer size the whole text needs, terminating NUL included: call once
 * with size 0, allocate, call again. A short buffer is not an error.
 * zero_division (may be NULL) receives BGM_ZERO_DIVISION_* bits as
 * bgm_classification_scores. class_names (may be NULL: the ids "0", "1", ...)
 * holds num_classes UTF-8 strings, borrowed; widths count code points, as
 * Python does.
 * Errors: BGM_E_INVALID (NULL tensors, NULL buf with size > 0, num_classes < 1,
 * a NULL class name, digits outside 0..30), and those of
 * bgm_confusion_matrix. On error *needed and *zero_division are 0 and buf
 * (when size > 0) holds "".
 */
BGM_API bgm_status bgm_classification_report(char *buf, size_t size, size_t *needed,
                                             int *zero_division,
                                             const bgm_tensor *y_true,
                                             const bgm_tensor *y_pred,
                                             int num_classes,
                                             const char *const *class_names,
                                             int digits);

/** Options of bgm_classification_report_ex; fill with bgm_report_options_init. */
typedef struct bgm_report_options {
    size_t size;                    /**< sizeof(bgm_report_options), set by the init function */
    int digits;                     /**< decimals, 0..30. Default 2 */
    double zero_division;           /**< printed for undefined values, finite (sklearn's
                                         zero_division; "warn" prints 0). Default 0.0 */
    const char *const *class_names; /**< num_labels (or num_classes) names, borrowed;
                                         NULL: the ids "0", "1", .... Default NULL */
    /** Report classes 0..num_labels-1 only (scikit-learn's labels= omitting
     *  classes present in the data: map the listed ones to 0..num_labels-1,
     *  the others after them): rows, averages and supports cover the listed
     *  classes, their counts every sample. 0 = all num_classes. Default 0 */
    int num_labels;
} bgm_report_options;

/**
 * Fills opts with the defaults above; pass size = sizeof *opts.
 * Errors: BGM_E_INVALID (NULL, size too small), BGM_E_UNSUPPORTED (size
 * larger than this library knows).
 */
BGM_API bgm_status bgm_report_options_init(bgm_report_options *opts, size_t size);

/**
 * bgm_classification_report with options (opts NULL: the defaults): sklearn's
 * classification_report(..., labels=[the first num_labels classes],
 * zero_division=opts->zero_division, digits=opts->digits) byte for byte.
 * With num_labels leaving out a class present in the data, the accuracy
 * line is a "micro avg" line over the listed classes, as in scikit-learn.
 * Errors: those of bgm_classification_report, and BGM_E_INVALID (opts not
 * initialized, num_labels outside 0..num_classes, zero_division not finite).
 */
BGM_API bgm_status bgm_classification_report_ex(char *buf, size_t size, size_t *needed,
                                                int *zero_division,
                                                const bgm_tensor *y_true,
                                                const bgm_tensor *y_pred, int num_classes,
                                                const bgm_report_options *opts);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_METRICS_H */
