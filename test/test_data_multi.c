/* Datasets of several features and targets tensors: every derived dataset
 * and every batch keeps the samples of all tensors aligned; bad tensors are
 * named. */
#include "testutil.h"

/* n samples where every tensor's row i holds i: a (n, 2) float, b (n,) int32
 * features, t (n, 1) float targets holding 10 i. */
typedef struct rows {
    bgm_tensor *t[3];
} rows;

static rows make_rows(int64_t n)
{
    rows r;
    float *a, *t;
    int32_t *b;
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&r.t[0], BGM_FLOAT32, (int64_t[]){n, 2}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&r.t[1], BGM_INT32, (int64_t[]){n}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&r.t[2], BGM_FLOAT32, (int64_t[]){n, 1}, 2));
    a = bgm_tensor_data(r.t[0]);
    b = bgm_tensor_data(r.t[1]);
    t = bgm_tensor_data(r.t[2]);
    for (i = 0; i < n; i++) {
        a[2 * i] = a[2 * i + 1] = (float)i;
        b[i] = (int32_t)i;
        t[i] = 10.0f * (float)i;
    }
    return r;
}

static void free_rows(rows *r)
{
    int i;
    for (i = 0; i < 3; i++)
        bgm_tensor_free(r->t[i]);
}

/* Checks that row k of each of ds's tensors holds the same sample; returns
 * the sum of the sample ids. */
static int64_t assert_aligned(const bgm_dataset *ds)
{
    const float *a = bgm_tensor_data(bgm_dataset_feature_tensor(ds, 0));
    const int32_t *b = bgm_tensor_data(bgm_dataset_feature_tensor(ds, 1));
    const float *t = bgm_tensor_data(bgm_dataset_target_tensor(ds, 0));
    int64_t k, sum = 0;
    for (k = 0; k < bgm_dataset_size(ds); k++) {
        ck_assert_float_eq(a[2 * k], (float)b[k]);
        ck_assert_float_eq(a[2 * k + 1], (float)b[k]);
        ck_assert_float_eq(t[k], 10.0f * (float)b[k]);
        sum += b[k];
    }
    return sum;
}

START_TEST(multi_tensor_datasets_keep_samples_aligned_everywhere)
{
    rows r = make_rows(10);
    bgm_dataset *ds = NULL, *sh = NULL, *take = NULL, *both = NULL, *tr = NULL, *te = NULL;
    bgm_batch_iter *it = NULL;
    const bgm_tensor *xb[2], *yb[1], *x1;
    bgm_kfold *kf = NULL;
    const int32_t *ids;
    int more, batches = 0, moved = 0, k;
    int64_t seen = 0;
    BGM_ASSERT_OK(bgm_dataset_from_tensors_multi(&ds, (const bgm_tensor *const *)r.t, 2,
                                                 (const bgm_tensor *const *)&r.t[2], 1));
    ck_assert_int_eq(bgm_dataset_num_feature_tensors(ds), 2);
    ck_assert_int_eq(bgm_dataset_num_target_tensors(ds), 1);
    ck_assert_ptr_eq(bgm_dataset_features(ds), bgm_dataset_feature_tensor(ds, 0));
    ck_assert_ptr_eq(bgm_dataset_targets(ds), bgm_dataset_target_tensor(ds, 0));
    ck_assert_ptr_null(bgm_dataset_feature_tensor(ds, 2));
    ck_assert_ptr_null(bgm_dataset_target_tensor(ds, 1));
    ck_assert_int_eq(bgm_dataset_size(ds), 10);
    /* one permutation for every tensor */
    BGM_ASSERT_OK(bgm_dataset_shuffle(&sh, ds, 3));
    ck_assert_int_eq(assert_aligned(sh), 45);
    ids = bgm_tensor_data(bgm_dataset_feature_tensor(sh, 1));
    for (k = 0; k < 10; k++)
        moved += ids[k] != k;
    ck_assert_int_gt(moved, 0);
    BGM_ASSERT_OK(bgm_dataset_take(&take, sh, 4));
    ck_assert_int_eq(bgm_dataset_num_feature_tensors(take), 2);
    assert_aligned(take);
    BGM_ASSERT_OK(bgm_dataset_concatenate(&both, take, sh));
    ck_assert_int_eq(bgm_dataset_size(both), 14);
    assert_aligned(both);
    BGM_ASSERT_OK(bgm_dataset_train_test_split(&tr, &te, ds, 0.3, 5, 0));
    ck_assert_int_eq(assert_aligned(tr) + assert_aligned(te), 45);
    BGM_ASSERT_OK(bgm_kfold_create(&kf, ds, 5, 1, 7, 0));
    bgm_dataset_free(tr);
    bgm_dataset_free(te);
    BGM_ASSERT_OK(bgm_kfold_get(&tr, &te, kf, 2));
    ck_assert_int_eq(assert_aligned(tr) + assert_aligned(te), 45);
    /* batches: the same samples of every tensor, in one order */
    BGM_ASSERT_OK(bgm_batch_iter_create(&it, ds, 4, 0));
    BGM_ASSERT_OK(bgm_batch_iter_shuffle(it, 9));
    BGM_ASSERT_FAILS(bgm_batch_iter_next(&more, &x1, NULL, it), BGM_E_INVALID,
                     "bgm_batch_iter_next_multi");
    BGM_ASSERT_FAILS(bgm_batch_iter_next_multi(&more, xb, 1, yb, 1, it), BGM_E_INVALID,
                     "holds 2 features and 1 targets tensors, got room for 1 and 1");
    while (bgm_batch_iter_next_multi(&more, xb, 2, yb, 1, it) == BGM_OK && more) {
        const float *a = bgm_tensor_data(xb[0]), *t = bgm_tensor_data(yb[0]);
        const int32_t *b = bgm_tensor_data(xb[1]);
        for (k = 0; k < bgm_tensor_dim(xb[0], 0); k++) {
            ck_assert_float_eq(a[2 * k], (float)b[k]);
            ck_assert_float_eq(t[k], 10.0f * (float)b[k]);
            seen += b[k];
        }
        batches++;
    }
    ck_assert_int_eq(batches, 3);
    ck_assert_int_eq(seen, 45);
    ck_assert_ptr_null(xb[0]);
    ck_assert_ptr_null(yb[0]);
    bgm_batch_iter_free(it);
    bgm_kfold_free(kf);
    bgm_dataset_free(tr);
    bgm_dataset_free(te);
    bgm_dataset_free(both);
    bgm_dataset_free(take);
    bgm_dataset_free(sh);
    bgm_dataset_free(ds);
    free_rows(&r);
}
END_TEST

START_TEST(multi_tensor_datasets_reject_bad_tensors_by_name)
{
    rows r = make_rows(10), s = make_rows(9);
    bgm_dataset *ds = NULL, *pair = NULL, *out = (bgm_dataset *)&out;
    bgm_scaler *sc = NULL;
    const bgm_tensor *xs[2], *ys[2];
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(NULL, xs, 1, NULL, 0), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, NULL, 1, NULL, 0), BGM_E_INVALID,
                     "'xs'");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, xs, 0, NULL, 0), BGM_E_INVALID,
                     "nx = 0");
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, xs, 1, NULL, 1), BGM_E_INVALID,
                     "'ys' is NULL with ny = 1");
    xs[0] = r.t[0];
    xs[1] = NULL;
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, xs, 2, NULL, 0), BGM_E_INVALID,
                     "xs[1] is NULL");
    xs[1] = s.t[1];
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, xs, 2, NULL, 0), BGM_E_SHAPE,
                     "xs[0] (10, 2) and xs[1] (9,) hold different sample counts (10 and 9)");
    xs[1] = r.t[1];
    ys[0] = r.t[2];
    ys[1] = s.t[2];
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors_multi(&out, xs, 2, ys, 2), BGM_E_SHAPE,
                     "ys[1] (9, 1) hold different sample counts");
    BGM_ASSERT_OK(bgm_dataset_from_tensors_multi(&ds, xs, 2, ys, 1));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&pair, r.t[0], r.t[2]));
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, ds, pair), BGM_E_INVALID,
                     "the first dataset holds 2 features and 1 targets tensors, the second "
                     "1 and 1");
    BGM_ASSERT_OK(bgm_scaler_rescale(&sc, 255.0f));
    BGM_ASSERT_FAILS(bgm_scaler_fit_dataset(sc, ds), BGM_E_INVALID,
                     "the dataset holds 2 features and 1 targets tensors");
    BGM_ASSERT_FAILS(bgm_dataset_one_hot(&out, ds, 3), BGM_E_INVALID,
                     "at most one targets tensor");
    bgm_scaler_free(sc);
    bgm_dataset_free(pair);
    bgm_dataset_free(ds);
    free_rows(&r);
    free_rows(&s);
}
END_TEST

Suite *suite_data_multi(void)
{
    Suite *s = suite_create("data_multi");
    TCase *tc = tcase_create("multi");
    tcase_add_test(tc, multi_tensor_datasets_keep_samples_aligned_everywhere);
    tcase_add_test(tc, multi_tensor_datasets_reject_bad_tensors_by_name);
    suite_add_tcase(s, tc);
    return s;
}
