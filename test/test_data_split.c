/* Train/test and validation splits, K-fold iterators and cross-validation.
 * Expected sizes and class counts were computed with scikit-learn 1.2
 * (train_test_split, StratifiedShuffleSplit, KFold, StratifiedKFold) on the
 * same labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The labels of the scikit-learn comparisons: 11 of class 0, 6 of 1, 3 of 2. */
static const int32_t LABELS20[20] = {0, 0, 1, 2, 1, 0, 0, 2, 1, 0,
                                     0, 1, 0, 2, 0, 1, 0, 0, 1, 0};

/* A dataset of n samples whose single feature is the sample's position, with
 * int32 labels (or none when labels is NULL). */
static bgm_dataset *indexed_dataset(int64_t n, const int32_t *labels)
{
    bgm_tensor *x = NULL, *y = NULL;
    bgm_dataset *ds = NULL;
    float *v = malloc((size_t)n * sizeof *v);
    int64_t i;
    for (i = 0; i < n; i++)
        v[i] = (float)i;
    BGM_ASSERT_OK(bgm_tensor_from_data(&x, BGM_FLOAT32, (int64_t[]){n, 1}, 2, v));
    if (labels)
        BGM_ASSERT_OK(bgm_tensor_from_data(&y, BGM_INT32, (int64_t[]){n}, 1, labels));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, x, y));
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    free(v);
    return ds;
}

/* Position of sample i of ds (its feature). */
static int64_t position(const bgm_dataset *ds, int64_t i)
{
    return (int64_t)((const float *)bgm_tensor_data(bgm_dataset_features(ds)))[i];
}

/* Adds 1 to seen[position] for every sample of ds. */
static void mark(int *seen, const bgm_dataset *ds)
{
    int64_t i;
    for (i = 0; i < bgm_dataset_size(ds); i++)
        seen[position(ds, i)]++;
}

/* Counts of each of 3 classes among ds's labels. */
static void class_counts(int64_t *counts, const bgm_dataset *ds)
{
    const int32_t *y = bgm_tensor_data(bgm_dataset_targets(ds));
    int64_t i;
    memset(counts, 0, 3 * sizeof *counts);
    for (i = 0; i < bgm_dataset_size(ds); i++)
        counts[y[i]]++;
}

START_TEST(train_test_split_sizes_follow_sklearn)
{
    /* n_test = ceil(f * n): sklearn gives these (n, f) -> n_test */
    const struct { int64_t n; double f; int64_t n_test; } cases[] = {
        {10, 0.25, 3}, {10, 0.3, 3}, {20, 0.33, 7}, {7, 0.5, 4}, {150, 0.2, 30}};
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        bgm_dataset *ds = indexed_dataset(cases[c].n, NULL), *tr = NULL, *te = NULL;
        BGM_ASSERT_OK(bgm_dataset_train_test_split(&tr, &te, ds, cases[c].f, 42, 0));
        ck_assert_int_eq(bgm_dataset_size(te), cases[c].n_test);
        ck_assert_int_eq(bgm_dataset_size(tr), cases[c].n - cases[c].n_test);
        bgm_dataset_free(ds);
        bgm_dataset_free(tr);
        bgm_dataset_free(te);
    }
}
END_TEST

START_TEST(train_test_split_is_disjoint_and_covers_every_sample)
{
    bgm_dataset *ds = indexed_dataset(50, NULL), *tr = NULL, *te = NULL;
    int seen[50] = {0}, i, in_order = 1;
    BGM_ASSERT_OK(bgm_dataset_train_test_split(&tr, &te, ds, 0.3, 7, 0));
    mark(seen, tr);
    mark(seen, te);
    for (i = 0; i < 50; i++)
        ck_assert_int_eq(seen[i], 1);
    for (i = 1; i < bgm_dataset_size(tr); i++)
        in_order &= position(tr, i) > position(tr, i - 1);
    ck_assert_int_eq(in_order, 0);   /* shuffled, as sklearn's default */
    bgm_dataset_free(ds);
    bgm_dataset_free(tr);
    bgm_dataset_free(te);
}
END_TEST

START_TEST(train_test_split_is_deterministic_for_a_seed)
{
    bgm_dataset *ds = indexed_dataset(40, NULL), *a = NULL, *b = NULL, *c = NULL;
    bgm_dataset *ta = NULL, *tb = NULL, *tc = NULL;
    int64_t i, same_ab = 1, same_ac = 1;
    BGM_ASSERT_OK(bgm_dataset_train_test_split(&a, &ta, ds, 0.25, 123, 0));
    BGM_ASSERT_OK(bgm_dataset_train_test_split(&b, &tb, ds, 0.25, 123, 0));
    BGM_ASSERT_OK(bgm_dataset_train_test_split(&c, &tc, ds, 0.25, 124, 0));
    for (i = 0; i < bgm_dataset_size(a); i++) {
        same_ab &= position(a, i) == position(b, i);
        same_ac &= position(a, i) == position(c, i);
    }
    ck_assert_int_eq(same_ab, 1);
    ck_assert_int_eq(same_ac, 0);
    bgm_dataset_free(ds);
    bgm_dataset_free(a);
    bgm_dataset_free(b);
    bgm_dataset_free(c);
    bgm_dataset_free(ta);
    bgm_dataset_free(tb);
    bgm_dataset_free(tc);
}
END_TEST

START_TEST(stratified_split_keeps_class_counts_like_sklearn)
{
    /* StratifiedShuffleSplit on LABELS20: (test fraction) -> train, test counts */
    const struct { double f; int64_t train[3], test[3]; } cases[] = {
        {0.25, {8, 5, 2}, {3, 1, 1}},
        {0.3, {8, 4, 2}, {3, 2, 1}}};
    size_t c;
    uint64_t seed;
    for (c = 0; c < 2; c++)
        for (seed = 0; seed < 5; seed++) {
            bgm_dataset *ds = indexed_dataset(20, LABELS20), *tr = NULL, *te = NULL;
            int64_t got[3];
            int seen[20] = {0}, i;
            BGM_ASSERT_OK(bgm_dataset_train_test_split(&tr, &te, ds, cases[c].f, seed, 1));
            class_counts(got, tr);
            ck_assert_int_eq(got[0], cases[c].train[0]);
            ck_assert_int_eq(got[1], cases[c].train[1]);
            ck_assert_int_eq(got[2], cases[c].train[2]);
            class_counts(got, te);
            ck_assert_int_eq(got[0], cases[c].test[0]);
            ck_assert_int_eq(got[1], cases[c].test[1]);
            ck_assert_int_eq(got[2], cases[c].test[2]);
            mark(seen, tr);
            mark(seen, te);
            for (i = 0; i < 20; i++)
                ck_assert_int_eq(seen[i], 1);
            /* every sample keeps its own label */
            for (i = 0; i < bgm_dataset_size(te); i++)
                ck_assert_int_eq(((int32_t *)bgm_tensor_data(bgm_dataset_targets(te)))[i],
                                 LABELS20[position(te, i)]);
            bgm_dataset_free(ds);
            bgm_dataset_free(tr);
            bgm_dataset_free(te);
        }
}
END_TEST

START_TEST(stratified_split_breaks_rounding_ties_with_the_seed)
{
    /* f = 0.5: classes 0 and 2 tie for the last train sample (5.5 and 1.5),
     * so train is (6, 3, 1) or (5, 3, 2) and test the rest, like sklearn. */
    int got_a = 0, got_b = 0;
    uint64_t seed;
    for (seed = 0; seed < 20; seed++) {
        bgm_dataset *ds = indexed_dataset(20, LABELS20), *tr = NULL, *te = NULL;
        int64_t a[3], b[3];
        BGM_ASSERT_OK(bgm_dataset_train_test_split(&tr, &te, ds, 0.5, seed, 1));
        class_counts(a, tr);
        class_counts(b, te);
        ck_assert_int_eq(a[1], 3);
        ck_assert_int_eq(b[1], 3);
        ck_assert(a[0] + b[0] == 11 && a[2] + b[2] == 3);
        ck_assert((a[0] == 6 && a[2] == 1) || (a[0] == 5 && a[2] == 2));
        got_a += a[0] == 6;
        got_b += a[0] == 5;
        bgm_dataset_free(ds);
        bgm_dataset_free(tr);
        bgm_dataset_free(te);
    }
    ck_assert_int_gt(got_a, 0);
    ck_assert_int_gt(got_b, 0);
}
END_TEST

START_TEST(validation_split_takes_the_last_samples_like_keras)
{
    bgm_dataset *ds = indexed_dataset(10, NULL), *tr = NULL, *va = NULL;
    BGM_ASSERT_OK(bgm_dataset_validation_split(&tr, &va, ds, 0.2));
    ck_assert_int_eq(bgm_dataset_size(tr), 8);
    ck_assert_int_eq(bgm_dataset_size(va), 2);
    ck_assert_int_eq(position(tr, 0), 0);
    ck_assert_int_eq(position(va, 0), 8);
    ck_assert_int_eq(position(va, 1), 9);
    bgm_dataset_free(tr);
    bgm_dataset_free(va);
    /* floor(10 * 0.75) = 7 train samples */
    BGM_ASSERT_OK(bgm_dataset_validation_split(&tr, &va, ds, 0.25));
    ck_assert_int_eq(bgm_dataset_size(tr), 7);
    ck_assert_int_eq(bgm_dataset_size(va), 3);
    ck_assert_int_eq(position(va, 0), 7);
    bgm_dataset_free(tr);
    bgm_dataset_free(va);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(kfold_sizes_and_folds_match_sklearn_without_shuffle)
{
    /* KFold(3) on 10 samples: folds [0..3], [4..6], [7..9] */
    bgm_dataset *ds = indexed_dataset(10, NULL), *tr = NULL, *va = NULL;
    bgm_kfold *kf = NULL;
    const int64_t *idx;
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 3, 0, 0, 0));
    ck_assert_int_eq(bgm_kfold_count(kf), 3);
    ck_assert_int_eq(bgm_kfold_val_size(kf, 0), 4);
    ck_assert_int_eq(bgm_kfold_val_size(kf, 1), 3);
    ck_assert_int_eq(bgm_kfold_val_size(kf, 2), 3);
    idx = bgm_kfold_val_indices(kf, 1);
    ck_assert_int_eq(idx[0], 4);
    ck_assert_int_eq(idx[2], 6);
    BGM_ASSERT_OK(bgm_kfold_get(&tr, &va, kf, 1));
    ck_assert_int_eq(bgm_dataset_size(tr), 7);
    ck_assert_int_eq(bgm_dataset_size(va), 3);
    ck_assert_int_eq(position(va, 0), 4);
    ck_assert_int_eq(position(tr, 3), 3);
    ck_assert_int_eq(position(tr, 4), 7);
    bgm_dataset_free(tr);
    bgm_dataset_free(va);
    bgm_kfold_free(kf);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(shuffled_kfold_covers_every_sample_once)
{
    bgm_dataset *ds = indexed_dataset(23, NULL);
    bgm_kfold *kf = NULL, *again = NULL;
    int seen[23] = {0}, f, i, differs = 0;
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 5, 1, 9, 0));
    BGM_ASSERT_OK(bgm_kfold_create(&again, ds, 5, 1, 9, 0));
    bgm_dataset_free(ds);   /* the splitter keeps its own view */
    for (f = 0; f < 5; f++) {
        const int64_t *idx = bgm_kfold_val_indices(kf, f);
        bgm_dataset *tr = NULL, *va = NULL;
        int in_train[23] = {0};
        ck_assert_int_eq(bgm_kfold_val_size(kf, f), f < 3 ? 5 : 4);   /* 23 = 5+5+5+4+4 */
        for (i = 0; i < bgm_kfold_val_size(kf, f); i++) {
            seen[idx[i]]++;
            if (i > 0)
                ck_assert_int_lt(idx[i - 1], idx[i]);   /* ascending */
            differs |= idx[i] != bgm_kfold_val_indices(again, f)[i];
        }
        BGM_ASSERT_OK(bgm_kfold_get(&tr, &va, kf, f));
        mark(in_train, tr);
        mark(in_train, va);
        for (i = 0; i < 23; i++)
            ck_assert_int_eq(in_train[i], 1);   /* train and val partition the data */
        bgm_dataset_free(tr);
        bgm_dataset_free(va);
    }
    for (i = 0; i < 23; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_eq(differs, 0);   /* same seed, same folds */
    ck_assert_int_ne(bgm_kfold_val_indices(kf, 0)[4], 4);   /* shuffled: not 0..4 */
    bgm_kfold_free(kf);
    bgm_kfold_free(again);
}
END_TEST

START_TEST(stratified_kfold_equals_sklearn_without_shuffle)
{
    /* StratifiedKFold(k).split(X, LABELS20) test indices */
    static const int64_t k3[3][7] = {{0, 1, 2, 3, 4, 5, 6},
                                     {7, 8, 9, 10, 11, 12, 14},
                                     {13, 15, 16, 17, 18, 19, -1}};
    static const int64_t k4[4][5] = {{0, 1, 2, 4, 5},
                                     {3, 6, 8, 9, 10},
                                     {7, 11, 12, 14, 16},
                                     {13, 15, 17, 18, 19}};
    bgm_dataset *ds = indexed_dataset(20, LABELS20);
    bgm_kfold *kf = NULL;
    int f, i;
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 3, 0, 0, 1));
    for (f = 0; f < 3; f++) {
        ck_assert_int_eq(bgm_kfold_val_size(kf, f), f < 2 ? 7 : 6);
        for (i = 0; i < bgm_kfold_val_size(kf, f); i++)
            ck_assert_int_eq(bgm_kfold_val_indices(kf, f)[i], k3[f][i]);
    }
    bgm_kfold_free(kf);
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 4, 0, 0, 1));   /* class 2 has 3 < 4 */
    for (f = 0; f < 4; f++) {
        ck_assert_int_eq(bgm_kfold_val_size(kf, f), 5);
        for (i = 0; i < 5; i++)
            ck_assert_int_eq(bgm_kfold_val_indices(kf, f)[i], k4[f][i]);
    }
    bgm_kfold_free(kf);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(shuffled_stratified_kfold_keeps_sklearn_class_balance)
{
    /* per-fold class counts of StratifiedKFold(3) on LABELS20, any shuffle */
    static const int64_t want[3][3] = {{4, 2, 1}, {4, 2, 1}, {3, 2, 1}};
    bgm_dataset *ds = indexed_dataset(20, LABELS20), *tr = NULL, *va = NULL;
    bgm_kfold *kf = NULL, *plain = NULL;
    int has = 1, f = 0, seen[20] = {0}, i, differs = 0;
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 3, 1, 5, 1));
    BGM_ASSERT_OK(bgm_kfold_create(&plain, ds, 3, 0, 5, 1));
    for (;;) {
        int64_t got[3];
        BGM_ASSERT_OK(bgm_kfold_next(&has, &tr, &va, kf));
        if (!has)
            break;
        class_counts(got, va);
        for (i = 0; i < 3; i++)
            ck_assert_int_eq(got[i], want[f][i]);
        mark(seen, va);
        for (i = 0; i < bgm_dataset_size(va); i++)
            differs |= position(va, i) != bgm_kfold_val_indices(plain, f)[i];
        bgm_dataset_free(tr);
        bgm_dataset_free(va);
        f++;
    }
    ck_assert_int_eq(f, 3);
    ck_assert_ptr_null(tr);
    ck_assert_ptr_null(va);
    for (i = 0; i < 20; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_eq(differs, 1);
    bgm_kfold_reset(kf);   /* starts over at fold 0 */
    BGM_ASSERT_OK(bgm_kfold_next(&has, &tr, &va, kf));
    ck_assert_int_eq(has, 1);
    ck_assert_int_eq(bgm_dataset_size(va), 7);
    bgm_dataset_free(tr);
    bgm_dataset_free(va);
    bgm_kfold_free(kf);
    bgm_kfold_free(plain);
    bgm_dataset_free(ds);
}
END_TEST

/* Scores 0.5, 0.7, 0.9, ... by fold, after checking what it was handed. */
typedef struct cv_probe {
    int calls;
    int fail_at;              /* fold that fails, or -1 */
    int with_message;         /* fail through a library error, or bare */
    int64_t n, val_total;
} cv_probe;

static bgm_status score_by_fold(double *score, const bgm_dataset *train,
                                const bgm_dataset *val, int fold, void *ctx)
{
    cv_probe *p = ctx;
    p->calls++;
    ck_assert_int_eq(bgm_dataset_size(train) + bgm_dataset_size(val), p->n);
    p->val_total += bgm_dataset_size(val);
    if (fold == p->fail_at) {
        if (p->with_message)
            return bgm_tensor_zeros(NULL, BGM_FLOAT32, NULL, 0);
        return BGM_E_CANCELLED;
    }
    *score = 0.5 + 0.2 * fold;
    return BGM_OK;
}

START_TEST(cross_validate_returns_scores_mean_and_population_std)
{
    bgm_dataset *ds = indexed_dataset(20, LABELS20);
    cv_probe p = {0, -1, 0, 20, 0};
    double scores[3], mean, std;
    BGM_ASSERT_OK(bgm_cross_validate(scores, &mean, &std, ds, 3, 1, 42, score_by_fold, &p));
    ck_assert_int_eq(p.calls, 3);
    ck_assert_int_eq(p.val_total, 20);
    ck_assert_double_eq_tol(scores[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(scores[2], 0.9, 1e-12);
    ck_assert_double_eq_tol(mean, 0.7, 1e-12);
    ck_assert_double_eq_tol(std, 0.16329931618554522, 1e-12);   /* np.std([.5, .7, .9]) */
    p.calls = 0;
    BGM_ASSERT_OK(bgm_cross_validate(NULL, &mean, NULL, ds, 4, 0, 1, score_by_fold, &p));
    ck_assert_int_eq(p.calls, 4);
    ck_assert_double_eq_tol(mean, 0.8, 1e-12);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(cross_validate_stops_at_a_callback_error_and_keeps_its_message)
{
    bgm_dataset *ds = indexed_dataset(20, LABELS20);
    cv_probe p = {0, 1, 1, 20, 0};
    double scores[3] = {9, 9, 9}, mean = 9, std = 9;
    BGM_ASSERT_FAILS(bgm_cross_validate(scores, &mean, &std, ds, 3, 1, 42, score_by_fold, &p),
                     BGM_E_INVALID, "bgm_cross_validate: fold 2 of 3 failed: "
                     "bgm_tensor_zeros: argument 'out' is NULL");
    ck_assert_int_eq(p.calls, 2);
    ck_assert_double_eq(scores[0], 0.0);
    ck_assert_double_eq(mean, 0.0);
    ck_assert_double_eq(std, 0.0);
    p = (cv_probe){0, 2, 0, 20, 0};
    BGM_ASSERT_FAILS(bgm_cross_validate(scores, &mean, &std, ds, 3, 0, 42, score_by_fold, &p),
                     BGM_E_CANCELLED, "fold 3 of 3 failed: callback returned "
                     "BGM_E_CANCELLED");
    ck_assert_int_eq(p.calls, 3);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(splits_reject_bad_fractions_and_sizes)
{
    bgm_dataset *ds = indexed_dataset(10, NULL), *tr = (bgm_dataset *)1, *te = (bgm_dataset *)1;
    const double bad[] = {0.0, 1.0, -0.1, 1.5, NAN};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, ds, bad[i], 0, 0),
                         BGM_E_INVALID, "test_fraction must be in (0, 1)");
        ck_assert_ptr_null(tr);
        ck_assert_ptr_null(te);
        BGM_ASSERT_FAILS(bgm_dataset_validation_split(&tr, &te, ds, bad[i]), BGM_E_INVALID,
                         "validation_fraction must be in (0, 1)");
    }
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, ds, 0.95, 0, 0), BGM_E_INVALID,
                     "test_fraction 0.95 of 10 samples leaves the train set empty");
    BGM_ASSERT_FAILS(bgm_dataset_validation_split(&tr, &te, ds, 0.95), BGM_E_INVALID,
                     "leaves the train set empty");
    BGM_ASSERT_FAILS(bgm_dataset_validation_split(&tr, &te, ds, 1e-20), BGM_E_INVALID,
                     "leaves the validation set empty");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(NULL, &te, ds, 0.5, 0, 0), BGM_E_INVALID,
                     "'train'");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, NULL, ds, 0.5, 0, 0), BGM_E_INVALID,
                     "'test'");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, NULL, 0.5, 0, 0), BGM_E_INVALID,
                     "'ds'");
    BGM_ASSERT_FAILS(bgm_dataset_validation_split(NULL, &te, ds, 0.5), BGM_E_INVALID,
                     "'train'");
    BGM_ASSERT_FAILS(bgm_dataset_validation_split(&tr, NULL, ds, 0.5), BGM_E_INVALID, "'val'");
    BGM_ASSERT_FAILS(bgm_dataset_validation_split(&tr, &te, NULL, 0.5), BGM_E_INVALID, "'ds'");
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(stratifying_needs_int_labels_and_two_samples_per_class)
{
    const int32_t lonely[6] = {0, 0, 0, 1, 1, 7}, pairs[8] = {0, 0, 1, 1, 2, 2, 3, 3};
    bgm_dataset *none = indexed_dataset(6, NULL), *one = indexed_dataset(6, lonely);
    bgm_dataset *four = indexed_dataset(8, pairs), *fl = NULL, *wide = NULL;
    bgm_dataset *tr = NULL, *te = NULL;
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){6}, 1));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&fl, bgm_dataset_features(none), y));
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, (int64_t[]){6, 2}, 2));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&wide, bgm_dataset_features(none), y));
    bgm_tensor_free(y);
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, none, 0.5, 0, 1), BGM_E_INVALID,
                     "no targets");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, fl, 0.5, 0, 1), BGM_E_DTYPE,
                     "int32 class labels, got float32");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, wide, 0.5, 0, 1), BGM_E_SHAPE,
                     "got (6, 2)");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, one, 0.5, 0, 1), BGM_E_INVALID,
                     "class 7 has only 1 sample");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, four, 0.25, 0, 1), BGM_E_INVALID,
                     "the test set of 2 samples cannot hold one sample of each of the 4 "
                     "classes");
    BGM_ASSERT_FAILS(bgm_dataset_train_test_split(&tr, &te, four, 0.75, 0, 1), BGM_E_INVALID,
                     "the train set of 2 samples");
    ck_assert_ptr_null(tr);
    ck_assert_ptr_null(te);
    bgm_dataset_free(none);
    bgm_dataset_free(one);
    bgm_dataset_free(four);
    bgm_dataset_free(fl);
    bgm_dataset_free(wide);
}
END_TEST

START_TEST(kfold_rejects_bad_k_labels_and_folds)
{
    const int32_t small[6] = {0, 0, 1, 1, 2, 2};
    bgm_dataset *ds = indexed_dataset(5, NULL), *st = indexed_dataset(6, small);
    bgm_dataset *tr = (bgm_dataset *)1, *va = (bgm_dataset *)1;
    bgm_kfold *kf = (bgm_kfold *)1;
    int has = 1;
    BGM_ASSERT_FAILS(bgm_kfold_create(&kf, ds, 1, 0, 0, 0), BGM_E_INVALID,
                     "k = 1 folds; K-fold needs at least 2");
    ck_assert_ptr_null(kf);
    BGM_ASSERT_FAILS(bgm_kfold_create(&kf, ds, 6, 0, 0, 0), BGM_E_INVALID,
                     "k = 6 folds need at least 6 samples, the dataset has 5");
    BGM_ASSERT_FAILS(bgm_kfold_create(&kf, ds, 2, 0, 0, 1), BGM_E_INVALID, "no targets");
    BGM_ASSERT_FAILS(bgm_kfold_create(&kf, st, 3, 0, 0, 1), BGM_E_INVALID,
                     "k = 3 folds is more than every class's sample count (the largest "
                     "class has 2)");
    BGM_ASSERT_FAILS(bgm_kfold_create(NULL, ds, 2, 0, 0, 0), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_kfold_create(&kf, NULL, 2, 0, 0, 0), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 2, 0, 0, 0));
    BGM_ASSERT_FAILS(bgm_kfold_get(&tr, &va, kf, 2), BGM_E_RANGE, "fold 2 is outside [0, 2)");
    ck_assert_ptr_null(tr);
    ck_assert_ptr_null(va);
    BGM_ASSERT_FAILS(bgm_kfold_get(&tr, &va, kf, -1), BGM_E_RANGE, "fold -1");
    BGM_ASSERT_FAILS(bgm_kfold_get(NULL, &va, kf, 0), BGM_E_INVALID, "'train'");
    BGM_ASSERT_FAILS(bgm_kfold_get(&tr, NULL, kf, 0), BGM_E_INVALID, "'val'");
    BGM_ASSERT_FAILS(bgm_kfold_get(&tr, &va, NULL, 0), BGM_E_INVALID, "'kf'");
    BGM_ASSERT_FAILS(bgm_kfold_next(NULL, &tr, &va, kf), BGM_E_INVALID, "'has_fold'");
    BGM_ASSERT_FAILS(bgm_kfold_next(&has, &tr, &va, NULL), BGM_E_INVALID, "'kf'");
    ck_assert_int_eq(has, 0);
    ck_assert_int_eq(bgm_kfold_val_size(kf, 2), 0);
    ck_assert_ptr_null(bgm_kfold_val_indices(kf, -1));
    ck_assert_int_eq(bgm_kfold_count(NULL), 0);
    ck_assert_ptr_null(bgm_kfold_val_indices(NULL, 0));
    bgm_kfold_reset(NULL);
    bgm_kfold_free(NULL);
    bgm_kfold_free(kf);
    bgm_dataset_free(ds);
    bgm_dataset_free(st);
}
END_TEST

START_TEST(cross_validate_rejects_bad_arguments)
{
    bgm_dataset *ds = indexed_dataset(5, NULL);
    cv_probe p = {0, -1, 0, 5, 0};
    double mean = 9;
    BGM_ASSERT_FAILS(bgm_cross_validate(NULL, &mean, NULL, ds, 1, 0, 0, score_by_fold, &p),
                     BGM_E_INVALID, "bgm_cross_validate: k = 1 folds");
    ck_assert_double_eq(mean, 0.0);
    BGM_ASSERT_FAILS(bgm_cross_validate(NULL, NULL, NULL, ds, 9, 0, 0, score_by_fold, &p),
                     BGM_E_INVALID, "k = 9 folds need at least 9 samples");
    BGM_ASSERT_FAILS(bgm_cross_validate(NULL, NULL, NULL, ds, 2, 1, 0, score_by_fold, &p),
                     BGM_E_INVALID, "no targets");
    BGM_ASSERT_FAILS(bgm_cross_validate(NULL, NULL, NULL, NULL, 2, 0, 0, score_by_fold, &p),
                     BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_cross_validate(NULL, NULL, NULL, ds, 2, 0, 0, NULL, &p),
                     BGM_E_INVALID, "'fn'");
    ck_assert_int_eq(p.calls, 0);
    bgm_dataset_free(ds);
}
END_TEST

Suite *suite_data_split(void)
{
    Suite *s = suite_create("data_split");
    TCase *tc = tcase_create("train_test");
    tcase_add_test(tc, train_test_split_sizes_follow_sklearn);
    tcase_add_test(tc, train_test_split_is_disjoint_and_covers_every_sample);
    tcase_add_test(tc, train_test_split_is_deterministic_for_a_seed);
    tcase_add_test(tc, stratified_split_keeps_class_counts_like_sklearn);
    tcase_add_test(tc, stratified_split_breaks_rounding_ties_with_the_seed);
    tcase_add_test(tc, validation_split_takes_the_last_samples_like_keras);
    suite_add_tcase(s, tc);
    tc = tcase_create("kfold");
    tcase_add_test(tc, kfold_sizes_and_folds_match_sklearn_without_shuffle);
    tcase_add_test(tc, shuffled_kfold_covers_every_sample_once);
    tcase_add_test(tc, stratified_kfold_equals_sklearn_without_shuffle);
    tcase_add_test(tc, shuffled_stratified_kfold_keeps_sklearn_class_balance);
    suite_add_tcase(s, tc);
    tc = tcase_create("cross_validate");
    tcase_add_test(tc, cross_validate_returns_scores_mean_and_population_std);
    tcase_add_test(tc, cross_validate_stops_at_a_callback_error_and_keeps_its_message);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_add_test(tc, splits_reject_bad_fractions_and_sizes);
    tcase_add_test(tc, stratifying_needs_int_labels_and_two_samples_per_class);
    tcase_add_test(tc, kfold_rejects_bad_k_labels_and_folds);
    tcase_add_test(tc, cross_validate_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
