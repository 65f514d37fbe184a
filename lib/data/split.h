/* Internal helpers shared by the splits, K-fold and cross-validation files. */
#ifndef BGM_DATA_SPLIT_H
#define BGM_DATA_SPLIT_H

#include "dataset_impl.h"
#include "bigmodel/preprocess.h"

/* A dataset's int32 labels as class codes 0..n_classes-1. */
typedef struct bgm__classes {
    int32_t *code;        /* per sample */
    int64_t *count;       /* samples per class */
    int32_t *label;       /* the label value of each class */
    int64_t n_classes;
} bgm__classes;

/*
 * Encodes ds's targets, ranking classes by their first appearance (as
 * scikit-learn's StratifiedKFold does). Needs int32 targets (N,) or (N, 1).
 * Errors name func: BGM_E_INVALID (no targets), BGM_E_DTYPE, BGM_E_SHAPE,
 * BGM_E_NOMEM. On error *out holds nothing to free.
 */
bgm_status bgm__classes_encode(bgm__classes *out, const char *func, const bgm_dataset *ds);

void bgm__classes_free(bgm__classes *c);

/* Shuffles a[0..n) in place (Fisher-Yates). */
void bgm__shuffle_indices(int64_t *a, int64_t n, bgm_rng *rng);

/* bgm_kfold_create with messages naming func. */
bgm_status bgm__kfold_create(bgm_kfold **out, const char *func, const bgm_dataset *ds,
                             int k, int shuffle, uint64_t seed, int stratified);

/* bgm_kfold_get with messages naming func. */
bgm_status bgm__kfold_get(bgm_dataset **train, bgm_dataset **val, const char *func,
                          const bgm_kfold *kf, int fold);

#endif
