/*
 * bigmodel/preprocess.h — preprocessing (scalers, one-hot encoding), splits,
 * K-fold iterators and cross-validation over datasets (bgm_dataset).
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * Scalers work as scikit-learn's fit / transform: statistics come from the
 * training data only and are then applied, unchanged, to validation and
 * test data, so no information leaks from the data a model is judged on:
 *
 *     bgm_scaler *sc = NULL;
 *     bgm_dataset *train_std = NULL, *test_std = NULL;
 *     s = bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE);
 *     if (s == BGM_OK) s = bgm_scaler_fit_dataset(sc, train);
 *     if (s == BGM_OK) s = bgm_scaler_transform_dataset(&train_std, sc, train);
 *     if (s == BGM_OK) s = bgm_scaler_transform_dataset(&test_std, sc, test);
 *
 * Randomness (splits, shuffled folds) comes from a generator seeded with the
 * caller's seed: the same seed gives the same split on every platform. The
 * generator is not NumPy's, so which samples land where differs from
 * scikit-learn for the same seed; sizes and per-class counts follow
 * scikit-learn's rules, stated at each function.
 */
#ifndef BIGMODEL_PREPROCESS_H
#define BIGMODEL_PREPROCESS_H

#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scalers ----------------------------------------------------------- */

/** A feature transform with fit-then-apply semantics. Opaque. */
typedef struct bgm_scaler bgm_scaler;

/**
 * What one feature is, for the scalers that keep per-feature statistics.
 * Values are part of the ABI.
 */
typedef enum bgm_scale_axis {
    /** Every element position of a sample is its own feature: for x (N, 28,
     *  28, 1) there are 784 features, for x (N, 4) there are 4
     *  (scikit-learn's StandardScaler on the flattened samples). */
    BGM_SCALE_PER_FEATURE = 1,
    /** Every index of the last dimension is a feature, pooled over all
     *  other positions: per channel for NHWC images (x (N, 32, 32, 3) has 3
     *  features). Samples then need at least one dimension. */
    BGM_SCALE_PER_CHANNEL = 2
} bgm_scale_axis;

/* Each constructor writes a new scaler to *out, freed with bgm_scaler_free().
 * On error *out is NULL. Common errors: BGM_E_INVALID (NULL out, bad
 * parameter, unknown axis), BGM_E_NOMEM. */

/**
 * x / max_value, elementwise: with max_value = 255 it maps 0..255 images
 * onto [0, 1] (Keras' Rescaling(1/255)). Stateless: needs no fit (fit is
 * accepted and changes nothing).
 * Errors also: BGM_E_INVALID when max_value is 0 or not finite.
 */
BGM_API bgm_status bgm_scaler_rescale(bgm_scaler **out, float max_value);

/**
 * (x - mean) / std per feature, mean and population standard deviation
 * (ddof = 0) of the fitted data, as scikit-learn's StandardScaler. A
 * feature whose fitted std is 0 is only centered (divided by 1, as
 * scikit-learn does), so it becomes 0 on the fitted data.
 */
BGM_API bgm_status bgm_scaler_standard(bgm_scaler **out, bgm_scale_axis axis);

/**
 * Maps each feature's fitted [min, max] linearly onto [low, high]:
 * x * s + (low - min * s) with s = (high - low) / (max - min), as
 * scikit-learn's MinMaxScaler(feature_range=(low, high)) (no clipping:
 * data outside the fitted range maps outside [low, high]). A constant
 * feature (max == min) uses s = high - low, so it maps to low.
 * Errors also: BGM_E_INVALID unless low < high, both finite.
 */
BGM_API bgm_status bgm_scaler_minmax(bgm_scaler **out, float low, float high,
                                     bgm_scale_axis axis);

/**
 * Divides each sample (all its elements together) by its L2 norm, as
 * scikit-learn's normalize(norm="l2"); an all-zero sample stays zero.
 * Stateless: needs no fit.
 */
BGM_API bgm_status bgm_scaler_l2_normalize(bgm_scaler **out);

/** Frees a scaler. NULL is a no-op. */
BGM_API void bgm_scaler_free(bgm_scaler *sc);

/**
 * Computes the scaler's statistics from x (float32 (N, ...), N >= 1),
 * replacing those of an earlier fit. Statistics are accumulated in double.
 * x is borrowed for the call. For the stateless scalers this checks x and
 * changes nothing.
 * Errors: BGM_E_INVALID (NULL, scalar x, N == 0, a non-finite value in x:
 * sample and position named), BGM_E_DTYPE (x not float32), BGM_E_SHAPE
 * (samples without elements, or without dimensions for a per-channel
 * scaler), BGM_E_NOMEM. On error an earlier fit is kept.
 */
BGM_API bgm_status bgm_scaler_fit(bgm_scaler *sc, const bgm_tensor *x);

/** bgm_scaler_fit on the features of ds. Errors as bgm_scaler_fit. */
BGM_API bgm_status bgm_scaler_fit_dataset(bgm_scaler *sc, const bgm_dataset *ds);

/**
 * New float32 tensor holding the transform of x (float32 (N, ...)), which
 * is borrowed for the call and left unchanged.
 * Errors: BGM_E_INVALID (NULL, scalar x), BGM_E_DTYPE (x not float32),
 * BGM_E_STATE (a scaler that needs a fit was not fitted), BGM_E_SHAPE (x's
 * samples differ in shape from the fitted ones per feature, or in their
 * last dimension per channel: both shapes named), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_scaler_transform(bgm_tensor **out, const bgm_scaler *sc,
                                        const bgm_tensor *x);

/**
 * Transforms x in place (no allocation). Every tensor and dataset sharing
 * x's storage sees the new values.
 * Errors: as bgm_scaler_transform, and BGM_E_STATE for a tensor owned by a
 * tape (a recorded result must not change; transform a copy).
 */
BGM_API bgm_status bgm_scaler_transform_inplace(const bgm_scaler *sc, bgm_tensor *x);

/**
 * New dataset with ds's features transformed (a new buffer) and ds's targets
 * (shared, not copied): the "map" of a standard transform over a dataset.
 * Errors as bgm_scaler_transform.
 */
BGM_API bgm_status bgm_scaler_transform_dataset(bgm_dataset **out, const bgm_scaler *sc,
                                                const bgm_dataset *ds);

/**
 * Transforms ds's features in place, saving the copy for large datasets.
 * Every dataset and tensor sharing that storage (views made with take,
 * skip or from_tensors) sees the new values. Errors as bgm_scaler_transform.
 */
BGM_API bgm_status bgm_scaler_transform_dataset_inplace(const bgm_scaler *sc,
                                                        bgm_dataset *ds);

/** 1 when sc can transform (fitted, or stateless), else 0 (also for NULL). */
BGM_API int bgm_scaler_is_fitted(const bgm_scaler *sc);

/**
 * Number of features the fitted statistics cover (samples' element count
 * per feature, their last dimension per channel); 0 for a stateless or
 * unfitted scaler and for NULL.
 */
BGM_API int64_t bgm_scaler_num_features(const bgm_scaler *sc);

/**
 * Copies the fitted statistics, n = bgm_scaler_num_features(sc) of each:
 * a standard scaler gives mean and std (scikit-learn's mean_ and scale_: 1
 * where the std is 0), a min-max scaler gives the data's min and max
 * (data_min_, data_max_). Either buffer may be NULL when unwanted.
 * Errors: BGM_E_INVALID (NULL sc), BGM_E_UNSUPPORTED (a stateless scaler),
 * BGM_E_STATE (not fitted), BGM_E_SHAPE (n differs from the feature count).
 */
BGM_API bgm_status bgm_scaler_get_statistics(double *first, double *second, int64_t n,
                                             const bgm_scaler *sc);

/* ---- one-hot encoding -------------------------------------------------- */

/**
 * New float32 tensor with a 1 at each label's class and 0 elsewhere
 * (keras.utils.to_categorical). The result's shape is labels' shape, less
 * a last dimension of size 1 when labels have two or more dimensions, plus
 * a class dimension C: (N,) and (N, 1) both give (N, C), (N, T) gives
 * (N, T, C). num_classes == 0 infers C = max label + 1.
 * Errors: BGM_E_INVALID (NULL, scalar labels, num_classes < 0, 0 with no
 * labels to infer it from, too many dimensions), BGM_E_DTYPE (labels not
 * int32), BGM_E_RANGE (a label outside [0, C): its row, or flat position,
 * and value named), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_tensor_one_hot(bgm_tensor **out, const bgm_tensor *labels,
                                      int64_t num_classes);

/**
 * New dataset with ds's features (shared) and its int32 targets one-hot
 * encoded as by bgm_tensor_one_hot.
 * Errors as bgm_tensor_one_hot, and BGM_E_INVALID when ds has no targets.
 */
BGM_API bgm_status bgm_dataset_one_hot(bgm_dataset **out, const bgm_dataset *ds,
                                       int64_t num_classes);

/* ---- splits ------------------------------------------------------------
 * Each writes two new datasets, freed with bgm_dataset_free; on error both
 * are NULL. Stratification needs int32 class labels as targets, shaped
 * (N,) or (N, 1); any int32 values are classes.
 */

/**
 * Splits ds into a random train set and test set, as scikit-learn's
 * train_test_split(test_size=test_fraction, shuffle=True):
 * n_test = ceil(test_fraction * N), n_train = N - n_test, both in shuffled
 * order (copies).
 * With stratify != 0 every class keeps its proportion, with scikit-learn's
 * StratifiedShuffleSplit rounding: a class's train count is its share of
 * n_train rounded down, the samples still missing go one each to the
 * classes with the largest fractional parts (ties broken at random with the
 * seed); test counts are made the same way from what each class has left.
 * Errors: BGM_E_INVALID (NULL, test_fraction outside (0, 1), a train or
 * test set that would be empty; when stratifying: no targets, a class with
 * fewer than 2 samples, n_train or n_test below the number of classes),
 * BGM_E_DTYPE (float targets when stratifying), BGM_E_SHAPE (targets not
 * (N,) or (N, 1) when stratifying), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_train_test_split(bgm_dataset **train, bgm_dataset **test,
                                                const bgm_dataset *ds,
                                                double test_fraction, uint64_t seed,
                                                int stratify);

/**
 * Keras' validation_split: the LAST samples of ds, in their order and before
 * any shuffling, become the validation set. train holds the first
 * floor(N * (1 - validation_fraction)) samples, val the rest; both are views
 * of ds's storage (no copy). Shuffle ds first when its order is meaningful
 * (files sorted by class).
 * Errors: BGM_E_INVALID (NULL, validation_fraction outside (0, 1), a train
 * or validation set that would be empty), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_validation_split(bgm_dataset **train, bgm_dataset **val,
                                                const bgm_dataset *ds,
                                                double validation_fraction);

/* ---- K-fold ------------------------------------------------------------ */

/** The k train/validation splits of a dataset. Opaque. */
typedef struct bgm_kfold bgm_kfold;

/**
 * New K-fold splitter over ds: every sample lands in exactly one fold's
 * validation set, and fold i's train set is every other sample.
 * Plain (stratified == 0), as scikit-learn's KFold: the samples (in order,
 * or permuted with the seed when shuffle != 0) are cut into k consecutive
 * folds, the first N % k of them one sample larger than N / k. Without
 * shuffling the folds equal scikit-learn's.
 * Stratified, as scikit-learn's StratifiedKFold: the labels (classes ranked
 * by first appearance) are sorted and dealt round-robin to the folds, which
 * fixes how many of each class every fold gets; each class's samples then
 * go to their folds in data order, or in a random order with shuffle. Fold
 * sizes differ by at most one and without shuffling the folds equal
 * scikit-learn's. A class with fewer than k samples is missing from some
 * folds (scikit-learn warns about it).
 * The splitter keeps its own views of ds's storage; ds may be freed first.
 * Errors: BGM_E_INVALID (NULL, k < 2, k > N; when stratified: no targets,
 * k above every class's count), BGM_E_DTYPE and BGM_E_SHAPE (targets not
 * int32 (N,) or (N, 1) when stratified), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_kfold_create(bgm_kfold **out, const bgm_dataset *ds, int k,
                                    int shuffle, uint64_t seed, int stratified);

/** Frees a splitter. NULL is a no-op. */
BGM_API void bgm_kfold_free(bgm_kfold *kf);

/** Number of folds k (0 for NULL). */
BGM_API int bgm_kfold_count(const bgm_kfold *kf);

/**
 * Fold `fold` (0-based): *train gets every sample outside the fold, *val the
 * fold's samples, both new datasets (copies) in the dataset's order.
 * Errors: BGM_E_INVALID (NULL), BGM_E_RANGE (fold outside [0, k)), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_kfold_get(bgm_dataset **train, bgm_dataset **val,
                                 const bgm_kfold *kf, int fold);

/**
 * The next fold, as bgm_kfold_get: *has_fold = 1 and new datasets in *train
 * and *val, or after the last fold *has_fold = 0 and both NULL, until
 * bgm_kfold_reset. Errors: as bgm_kfold_get (and NULL has_fold).
 */
BGM_API bgm_status bgm_kfold_next(int *has_fold, bgm_dataset **train, bgm_dataset **val,
                                  bgm_kfold *kf);

/** Makes bgm_kfold_next start again at fold 0. NULL is a no-op. */
BGM_API void bgm_kfold_reset(bgm_kfold *kf);

/** Size of fold `fold`'s validation set (0 for NULL or a fold out of range). */
BGM_API int64_t bgm_kfold_val_size(const bgm_kfold *kf, int fold);

/**
 * Dataset positions of fold `fold`'s validation samples, ascending
 * (bgm_kfold_val_size of them), borrowed: valid while kf lives. NULL for
 * NULL or a fold out of range.
 */
BGM_API const int64_t *bgm_kfold_val_indices(const bgm_kfold *kf, int fold);

/* ---- cross-validation -------------------------------------------------- */

/**
 * Called once per fold by bgm_cross_validate: builds a fresh model, trains
 * it on train, evaluates it on val and writes the score to *score. train
 * and val are borrowed for the call only. fold is the 0-based fold number.
 * Return BGM_OK, or an error to stop the cross-validation (set a message
 * with a failing library call, or it reads "callback returned ...").
 */
typedef bgm_status (*bgm_cross_validate_fn)(double *score, const bgm_dataset *train,
                                            const bgm_dataset *val, int fold, void *ctx);

/**
 * K-fold cross-validation: for each fold of bgm_kfold_create(ds, k, shuffle
 * = 1, seed, stratified) it calls fn(&score, train, val, fold, ctx).
 * scores (k doubles) receives every fold's score, *mean their mean and *std
 * their population standard deviation (ddof = 0, as NumPy's np.std used on
 * cross_val_score results); any of the three may be NULL. ctx is passed
 * through untouched.
 * Errors: as bgm_kfold_create, BGM_E_INVALID (NULL ds or fn), and the first
 * error fn returns, which stops the loop: its status is returned and the
 * message names the fold and keeps fn's message. On error every output is 0.
 */
BGM_API bgm_status bgm_cross_validate(double *scores, double *mean, double *std,
                                      const bgm_dataset *ds, int k, int stratified,
                                      uint64_t seed, bgm_cross_validate_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_PREPROCESS_H */
