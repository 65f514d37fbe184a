/* bgm_kfold: K-fold and stratified K-fold train/validation splits. */
#include "split.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor_impl.h"

struct bgm_kfold {
    bgm_dataset *ds;      /* a view of the source dataset */
    int k, next;
    int32_t *fold_of;     /* validation fold of each sample */
    int64_t *order;       /* sample positions grouped by fold, ascending within */
    int64_t *start;       /* k + 1 offsets into order */
};

BGM_API void bgm_kfold_free(bgm_kfold *kf)
{
    if (!kf)
        return;
    bgm_dataset_free(kf->ds);
    free(kf->fold_of);
    free(kf->order);
    free(kf->start);
    free(kf);
}

/* scikit-learn's KFold: consecutive folds of a (shuffled) order, the first n % k larger. */
static bgm_status assign_plain(bgm_kfold *kf, const char *func, int64_t n, int shuffle,
                               bgm_rng *rng)
{
    int64_t *idx = malloc((size_t)(n ? n : 1) * sizeof *idx), pos = 0, i, size;
    int f;
    if (!idx)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", func,
                         (long long)n);
    if (shuffle) {
        bgm__permutation(idx, n, rng);
    } else {
        for (i = 0; i < n; i++)
            idx[i] = i;
    }
    for (f = 0; f < kf->k; f++) {
        size = n / kf->k + (f < n % kf->k);
        for (i = 0; i < size; i++)
            kf->fold_of[idx[pos++]] = f;
    }
    free(idx);
    return BGM_OK;
}

/*
 * scikit-learn's StratifiedKFold: the class codes, sorted, are dealt to the
 * folds round-robin (position p goes to fold p % k), which fixes each fold's
 * count of each class; a class's samples then take its fold numbers in
 * ascending order, or shuffled, in data order.
 */
static bgm_status assign_stratified(bgm_kfold *kf, const char *func, const bgm_dataset *ds,
                                    int shuffle, bgm_rng *rng)
{
    bgm__classes cl;
    int64_t n = ds->x->shape[0], *folds = NULL, *next = NULL, *per_fold = NULL;
    int64_t c, largest = 0, pos = 0, i, j, cls;
    int k = kf->k, f;
    bgm_status s = bgm__classes_encode(&cl, func, ds);
    if (s != BGM_OK)
        return s;
    c = cl.n_classes;
    for (cls = 0; cls < c; cls++)
        if (cl.count[cls] > largest)
            largest = cl.count[cls];
    if (largest < k) {
        s = bgm__fail(BGM_E_INVALID, "%s: k = %d folds is more than every class's sample "
                      "count (the largest class has %lld)", func, k, (long long)largest);
        goto done;
    }
    folds = malloc((size_t)n * sizeof *folds);
    next = malloc((size_t)c * sizeof *next);
    per_fold = malloc((size_t)k * sizeof *per_fold);
    if (!folds || !next || !per_fold) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld samples", func, (long long)n);
        goto done;
    }
    /* class cls owns sorted positions [pos, pos + count) and their fold numbers */
    for (cls = 0; cls < c; cls++) {
        memset(per_fold, 0, (size_t)k * sizeof *per_fold);
        for (i = pos; i < pos + cl.count[cls]; i++)
            per_fold[i % k]++;
        next[cls] = pos;
        for (f = 0, j = pos; f < k; f++)
            for (i = 0; i < per_fold[f]; i++)
                folds[j++] = f;
        if (shuffle)
            bgm__shuffle_indices(folds + pos, cl.count[cls], rng);
        pos += cl.count[cls];
    }
    for (i = 0; i < n; i++)
        kf->fold_of[i] = (int32_t)folds[next[cl.code[i]]++];
done:
    free(folds);
    free(next);
    free(per_fold);
    bgm__classes_free(&cl);
    return s;
}

/* Groups the sample positions by fold (a counting sort keeps them ascending). */
static void build_order(bgm_kfold *kf, int64_t n)
{
    int64_t i;
    int f;
    memset(kf->start, 0, (size_t)(kf->k + 1) * sizeof *kf->start);
    for (i = 0; i < n; i++)
        kf->start[kf->fold_of[i] + 1]++;
    for (f = 0; f < kf->k; f++)
        kf->start[f + 1] += kf->start[f];
    for (i = 0; i < n; i++)
        kf->order[kf->start[kf->fold_of[i]]++] = i;
    /* the fill moved each start to the next fold's: shift back */
    for (f = kf->k; f > 0; f--)
        kf->start[f] = kf->start[f - 1];
    kf->start[0] = 0;
}

bgm_status bgm__kfold_create(bgm_kfold **out, const char *func, const bgm_dataset *ds,
                             int k, int shuffle, uint64_t seed, int stratified)
{
    bgm_kfold *kf;
    bgm_rng rng;
    bgm_status s;
    int64_t n;
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    BGM__CHECK_NULL(ds, func);
    n = bgm_dataset_size(ds);
    if (k < 2)
        return bgm__fail(BGM_E_INVALID, "%s: k = %d folds; K-fold needs at least 2",
                         func, k);
    if (k > n)
        return bgm__fail(BGM_E_INVALID, "%s: k = %d folds need at least %d samples, the "
                         "dataset has %lld", func, k, k, (long long)n);
    kf = calloc(1, sizeof *kf);
    if (!kf)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    kf->k = k;
    kf->fold_of = malloc((size_t)n * sizeof *kf->fold_of);
    kf->order = malloc((size_t)n * sizeof *kf->order);
    kf->start = malloc((size_t)(k + 1) * sizeof *kf->start);
    if (!kf->fold_of || !kf->order || !kf->start) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld samples", func, (long long)n);
        goto fail;
    }
    bgm__rng_seed(&rng, seed);
    s = stratified ? assign_stratified(kf, func, ds, shuffle, &rng)
                   : assign_plain(kf, func, n, shuffle, &rng);
    if (s == BGM_OK)
        s = bgm_dataset_take(&kf->ds, ds, n);
    if (s != BGM_OK)
        goto fail;
    build_order(kf, n);
    *out = kf;
    return BGM_OK;
fail:
    bgm_kfold_free(kf);
    return s;
}

BGM_API bgm_status bgm_kfold_create(bgm_kfold **out, const bgm_dataset *ds, int k,
                                    int shuffle, uint64_t seed, int stratified)
{
    return bgm__kfold_create(out, "bgm_kfold_create", ds, k, shuffle, seed, stratified);
}

BGM_API int bgm_kfold_count(const bgm_kfold *kf) { return kf ? kf->k : 0; }

BGM_API int64_t bgm_kfold_val_size(const bgm_kfold *kf, int fold)
{
    if (!kf || fold < 0 || fold >= kf->k)
        return 0;
    return kf->start[fold + 1] - kf->start[fold];
}

BGM_API const int64_t *bgm_kfold_val_indices(const bgm_kfold *kf, int fold)
{
    if (!kf || fold < 0 || fold >= kf->k)
        return NULL;
    return kf->order + kf->start[fold];
}

bgm_status bgm__kfold_get(bgm_dataset **train, bgm_dataset **val, const char *func,
                          const bgm_kfold *kf, int fold)
{
    int64_t n, n_val, *idx, i, t = 0;
    bgm_status s;
    if (train)
        *train = NULL;
    if (val)
        *val = NULL;
    BGM__CHECK_NULL(train, func);
    BGM__CHECK_NULL(val, func);
    BGM__CHECK_NULL(kf, func);
    if (fold < 0 || fold >= kf->k)
        return bgm__fail(BGM_E_RANGE, "%s: fold %d is outside [0, %d)", func, fold, kf->k);
    n = bgm_dataset_size(kf->ds);
    n_val = bgm_kfold_val_size(kf, fold);
    idx = malloc((size_t)(n - n_val + 1) * sizeof *idx);
    if (!idx)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", func,
                         (long long)(n - n_val));
    for (i = 0; i < n; i++)
        if (kf->fold_of[i] != fold)
            idx[t++] = i;
    s = bgm__dataset_gather(train, func, kf->ds, idx, t);
    if (s == BGM_OK)
        s = bgm__dataset_gather(val, func, kf->ds, bgm_kfold_val_indices(kf, fold), n_val);
    free(idx);
    if (s != BGM_OK) {
        bgm_dataset_free(*train);
        *train = NULL;
    }
    return s;
}

BGM_API bgm_status bgm_kfold_get(bgm_dataset **train, bgm_dataset **val,
                                 const bgm_kfold *kf, int fold)
{
    return bgm__kfold_get(train, val, "bgm_kfold_get", kf, fold);
}

BGM_API bgm_status bgm_kfold_next(int *has_fold, bgm_dataset **train, bgm_dataset **val,
                                  bgm_kfold *kf)
{
    static const char *fn = "bgm_kfold_next";
    bgm_status s;
    if (train)
        *train = NULL;
    if (val)
        *val = NULL;
    BGM__CHECK_NULL(has_fold, fn);
    *has_fold = 0;
    BGM__CHECK_NULL(train, fn);
    BGM__CHECK_NULL(val, fn);
    BGM__CHECK_NULL(kf, fn);
    if (kf->next >= kf->k)
        return BGM_OK;
    s = bgm__kfold_get(train, val, fn, kf, kf->next);
    if (s == BGM_OK) {
        kf->next++;
        *has_fold = 1;
    }
    return s;
}

BGM_API void bgm_kfold_reset(bgm_kfold *kf)
{
    if (kf)
        kf->next = 0;
}
