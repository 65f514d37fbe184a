/* Train/test and validation splits of a dataset, and the class encoding stratification uses. */
#include "split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/tensor_impl.h"

/* ---- class encoding ----------------------------------------------------- */

typedef struct labeled {
    int32_t label;
    int64_t index;
} labeled;

static int by_label_then_index(const void *pa, const void *pb)
{
    const labeled *a = pa, *b = pb;
    if (a->label != b->label)
        return a->label < b->label ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

static int by_index(const void *pa, const void *pb)
{
    const labeled *a = pa, *b = pb;
    return (a->index > b->index) - (a->index < b->index);
}

void bgm__classes_free(bgm__classes *c)
{
    free(c->code);
    free(c->count);
    free(c->label);
    memset(c, 0, sizeof *c);
}

static bgm_status check_labels(const char *func, const bgm_dataset *ds)
{
    char sy[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *y = ds->y;
    if (!y)
        return bgm__fail(BGM_E_INVALID, "%s: stratifying needs class labels, but the "
                         "dataset has no targets", func);
    if (y->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: stratifying needs int32 class labels, got "
                         "float32 targets", func);
    if (y->ndim > 2 || (y->ndim == 2 && y->shape[1] != 1))
        return bgm__fail(BGM_E_SHAPE, "%s: stratifying needs one label per sample, "
                         "targets (N,) or (N, 1), got %s", func,
                         bgm__tensor_shape_str(sy, sizeof sy, y));
    return BGM_OK;
}

bgm_status bgm__classes_encode(bgm__classes *out, const char *func, const bgm_dataset *ds)
{
    const int32_t *y;
    labeled *sorted = NULL, *groups = NULL;
    int32_t *rank = NULL;
    int64_t n = ds->x->shape[0], i, g, c = 0;
    size_t cap = (size_t)(n ? n : 1);
    bgm_status s = check_labels(func, ds);
    memset(out, 0, sizeof *out);
    if (s != BGM_OK)
        return s;
    y = ds->y->data;
    sorted = malloc(cap * sizeof *sorted);
    groups = malloc(cap * sizeof *groups);
    rank = malloc(cap * sizeof *rank);
    out->code = malloc(cap * sizeof *out->code);
    out->count = calloc(cap, sizeof *out->count);
    out->label = malloc(cap * sizeof *out->label);
    if (!sorted || !groups || !rank || !out->code || !out->count || !out->label) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory encoding %lld labels", func,
                      (long long)n);
        goto done;
    }
    for (i = 0; i < n; i++) {
        sorted[i].label = y[i];
        sorted[i].index = i;
    }
    qsort(sorted, (size_t)n, sizeof *sorted, by_label_then_index);
    /* one entry per distinct label: its group number and first position */
    for (i = 0; i < n; i++)
        if (i == 0 || sorted[i].label != sorted[i - 1].label) {
            groups[c].label = (int32_t)c;
            groups[c].index = sorted[i].index;
            c++;
        }
    qsort(groups, (size_t)c, sizeof *groups, by_index);
    for (i = 0; i < c; i++) {
        rank[groups[i].label] = (int32_t)i;
        out->label[i] = y[groups[i].index];
    }
    for (i = 0, g = -1; i < n; i++) {
        if (i == 0 || sorted[i].label != sorted[i - 1].label)
            g++;
        out->code[sorted[i].index] = rank[g];
        out->count[rank[g]]++;
    }
    out->n_classes = c;
done:
    free(sorted);
    free(groups);
    free(rank);
    if (s != BGM_OK)
        bgm__classes_free(out);
    return s;
}

void bgm__shuffle_indices(int64_t *a, int64_t n, bgm_rng *rng)
{
    int64_t i, j, t;
    for (i = n - 1; i > 0; i--) {
        j = (int64_t)bgm__rng_below(rng, (uint64_t)i + 1);
        t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* ---- train / test split ------------------------------------------------- */

static bgm_status check_fraction(const char *func, const char *name, double f)
{
    if (!(f > 0.0 && f < 1.0))
        return bgm__fail(BGM_E_INVALID, "%s: %s must be in (0, 1), got %g", func, name, f);
    return BGM_OK;
}

/*
 * scikit-learn's _approximate_mode: splits n_draws among classes in
 * proportion to count[], each class's share rounded down, then one more to
 * the classes with the largest fractional parts, ties drawn at random.
 * rem and ties are scratch buffers of c entries.
 */
static void approximate_mode(int64_t *drawn, const int64_t *count, int64_t c,
                             int64_t n_draws, double *rem, int64_t *ties, bgm_rng *rng)
{
    int64_t total = 0, need = n_draws, i, nt, a, j, t;
    double best;
    for (i = 0; i < c; i++)
        total += count[i];
    for (i = 0; i < c; i++) {
        double share = (double)count[i] / (double)total * (double)n_draws;
        drawn[i] = (int64_t)floor(share);
        rem[i] = share - floor(share);
        need -= drawn[i];
    }
    while (need > 0) {
        best = -1.0;
        for (i = 0; i < c; i++)
            if (rem[i] > best && drawn[i] < count[i])
                best = rem[i];
        if (best < 0.0)
            break;   /* every class is exhausted: cannot happen for n_draws <= total */
        for (i = 0, nt = 0; i < c; i++)
            if (rem[i] == best && drawn[i] < count[i]) {
                ties[nt++] = i;
                rem[i] = -2.0;   /* considered */
            }
        for (a = 0; a < nt && need > 0; a++, need--) {
            j = a + (int64_t)bgm__rng_below(rng, (uint64_t)(nt - a));
            t = ties[a];
            ties[a] = ties[j];
            ties[j] = t;
            drawn[ties[a]]++;
        }
    }
}

/*
 * Writes n_train train positions then n_test test positions into idx,
 * keeping class proportions (scikit-learn's StratifiedShuffleSplit).
 */
static bgm_status stratified_indices(int64_t *idx, const char *func, const bgm_dataset *ds,
                                     int64_t n_train, int64_t n_test, bgm_rng *rng)
{
    bgm__classes cl;
    int64_t *train_n = NULL, *test_n = NULL, *left = NULL, *ties = NULL, *start = NULL;
    int64_t *members = NULL, c, i, k, n = n_train + n_test, ti = 0, vi = n_train;
    double *rem = NULL;
    bgm_status s = bgm__classes_encode(&cl, func, ds);
    if (s != BGM_OK)
        return s;
    c = cl.n_classes;
    for (k = 0; k < c; k++)
        if (cl.count[k] < 2) {
            s = bgm__fail(BGM_E_INVALID, "%s: class %d has only 1 sample; stratifying "
                          "needs at least 2 per class", func, (int)cl.label[k]);
            goto done;
        }
    if (n_train < c || n_test < c) {
        s = bgm__fail(BGM_E_INVALID, "%s: the %s set of %lld samples cannot hold one "
                      "sample of each of the %lld classes", func,
                      n_test < c ? "test" : "train", (long long)(n_test < c ? n_test : n_train),
                      (long long)c);
        goto done;
    }
    train_n = malloc((size_t)c * sizeof *train_n);
    test_n = malloc((size_t)c * sizeof *test_n);
    left = calloc((size_t)c, sizeof *left);
    ties = malloc((size_t)c * sizeof *ties);
    start = malloc((size_t)(c + 1) * sizeof *start);
    rem = malloc((size_t)c * sizeof *rem);
    members = malloc((size_t)n * sizeof *members);
    if (!train_n || !test_n || !left || !ties || !start || !rem || !members) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld classes", func, (long long)c);
        goto done;
    }
    approximate_mode(train_n, cl.count, c, n_train, rem, ties, rng);
    for (k = 0; k < c; k++)
        left[k] = cl.count[k] - train_n[k];
    approximate_mode(test_n, left, c, n_test, rem, ties, rng);
    /* members grouped by class, in data order */
    start[0] = 0;
    for (k = 0; k < c; k++)
        start[k + 1] = start[k] + cl.count[k];
    memcpy(left, start, (size_t)c * sizeof *left);
    for (i = 0; i < n; i++)
        members[left[cl.code[i]]++] = i;
    for (k = 0; k < c; k++) {
        int64_t *m = members + start[k];
        bgm__shuffle_indices(m, cl.count[k], rng);
        for (i = 0; i < train_n[k]; i++)
            idx[ti++] = m[i];
        for (i = 0; i < test_n[k]; i++)
            idx[vi++] = m[train_n[k] + i];
    }
    bgm__shuffle_indices(idx, n_train, rng);
    bgm__shuffle_indices(idx + n_train, n_test, rng);
done:
    free(train_n);
    free(test_n);
    free(left);
    free(ties);
    free(start);
    free(rem);
    free(members);
    bgm__classes_free(&cl);
    return s;
}

BGM_API bgm_status bgm_dataset_train_test_split(bgm_dataset **train, bgm_dataset **test,
                                                const bgm_dataset *ds,
                                                double test_fraction, uint64_t seed,
                                                int stratify)
{
    static const char *fn = "bgm_dataset_train_test_split";
    int64_t n, n_test, n_train, *idx;
    bgm_rng rng;
    bgm_status s;
    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    BGM__CHECK_NULL(train, fn);
    BGM__CHECK_NULL(test, fn);
    BGM__CHECK_NULL(ds, fn);
    s = check_fraction(fn, "test_fraction", test_fraction);
    if (s != BGM_OK)
        return s;
    n = ds->x->shape[0];
    n_test = (int64_t)ceil(test_fraction * (double)n);
    n_train = n - n_test;
    if (n_test == 0 || n_train <= 0)
        return bgm__fail(BGM_E_INVALID, "%s: test_fraction %g of %lld samples leaves the "
                         "%s set empty", fn, test_fraction, (long long)n,
                         n_test == 0 ? "test" : "train");
    idx = malloc((size_t)n * sizeof *idx);
    if (!idx)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", fn, (long long)n);
    bgm__rng_seed(&rng, seed);
    if (stratify) {
        s = stratified_indices(idx, fn, ds, n_train, n_test, &rng);
    } else {
        bgm__permutation(idx, n, &rng);
        s = BGM_OK;
    }
    if (s == BGM_OK)
        s = bgm__dataset_gather(train, fn, ds, idx, n_train);
    if (s == BGM_OK)
        s = bgm__dataset_gather(test, fn, ds, idx + n_train, n_test);
    free(idx);
    if (s != BGM_OK) {
        bgm_dataset_free(*train);
        *train = NULL;
    }
    return s;
}

/* ---- validation split ---------------------------------------------------- */

BGM_API bgm_status bgm_dataset_validation_split(bgm_dataset **train, bgm_dataset **val,
                                                const bgm_dataset *ds,
                                                double validation_fraction)
{
    static const char *fn = "bgm_dataset_validation_split";
    int64_t n, split_at;
    bgm_status s;
    if (train)
        *train = NULL;
    if (val)
        *val = NULL;
    BGM__CHECK_NULL(train, fn);
    BGM__CHECK_NULL(val, fn);
    BGM__CHECK_NULL(ds, fn);
    s = check_fraction(fn, "validation_fraction", validation_fraction);
    if (s != BGM_OK)
        return s;
    n = ds->x->shape[0];
    /* Keras: split_at = floor(N * (1 - validation_split)) */
    split_at = (int64_t)floor((double)n * (1.0 - validation_fraction));
    if (split_at <= 0 || split_at >= n)
        return bgm__fail(BGM_E_INVALID, "%s: validation_fraction %g of %lld samples "
                         "leaves the %s set empty", fn, validation_fraction, (long long)n,
                         split_at <= 0 ? "train" : "validation");
    s = bgm_dataset_take(train, ds, split_at);
    if (s == BGM_OK)
        s = bgm_dataset_skip(val, ds, split_at);
    if (s != BGM_OK) {
        bgm_dataset_free(*train);
        *train = NULL;
    }
    return s;
}
