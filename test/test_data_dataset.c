/* bgm_dataset and bgm_batch_iter: views, shuffling, take/skip/concat/subset,
 * batching through a reused buffer, and bad input. */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* Dataset of n samples: features (n, 2) = [i, 100 + i], int32 labels i. */
static bgm_dataset *numbered(int64_t n)
{
    int64_t xs[] = {n, 2}, ys[] = {n};
    float *x = malloc((size_t)(n ? n : 1) * 2 * sizeof *x);
    int32_t *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    bgm_tensor *tx = NULL, *ty = NULL;
    bgm_dataset *ds = NULL;
    int64_t i;
    for (i = 0; i < n; i++) {
        x[2 * i] = (float)i;
        x[2 * i + 1] = (float)(100 + i);
        y[i] = (int32_t)i;
    }
    BGM_ASSERT_OK(bgm_tensor_from_data(&tx, BGM_FLOAT32, xs, 2, x));
    BGM_ASSERT_OK(bgm_tensor_from_data(&ty, BGM_INT32, ys, 1, y));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, tx, ty));
    bgm_tensor_free(tx);
    bgm_tensor_free(ty);
    free(x);
    free(y);
    return ds;
}

static float feat(const bgm_dataset *ds, int64_t i, int j)
{
    return ((const float *)bgm_tensor_data(bgm_dataset_features(ds)))[i * 2 + j];
}

static int32_t label(const bgm_dataset *ds, int64_t i)
{
    return ((const int32_t *)bgm_tensor_data(bgm_dataset_targets(ds)))[i];
}

/* Every row of ds still pairs feature [k, 100 + k] with label k. */
static void assert_rows_paired(const bgm_dataset *ds)
{
    int64_t i;
    for (i = 0; i < bgm_dataset_size(ds); i++) {
        ck_assert_float_eq(feat(ds, i, 0), (float)label(ds, i));
        ck_assert_float_eq(feat(ds, i, 1), (float)(100 + label(ds, i)));
    }
}

START_TEST(from_tensors_keeps_views_after_the_caller_frees_its_handles)
{
    int64_t xs[] = {3, 2, 2}, ys[] = {3};
    float x[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    int32_t y[3] = {7, 8, 9};
    bgm_tensor *tx = NULL, *ty = NULL;
    bgm_dataset *ds = NULL;
    const int64_t *elem;
    void *xdata;
    int ndim = -1;
    BGM_ASSERT_OK(bgm_tensor_from_data(&tx, BGM_FLOAT32, xs, 3, x));
    BGM_ASSERT_OK(bgm_tensor_from_data(&ty, BGM_INT32, ys, 1, y));
    xdata = bgm_tensor_data(tx);
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, tx, ty));
    bgm_tensor_free(tx);
    bgm_tensor_free(ty);
    ck_assert_int_eq(bgm_dataset_size(ds), 3);
    /* shared storage: the dataset sees the very buffer the tensor had */
    ck_assert_ptr_eq(bgm_tensor_data(bgm_dataset_features(ds)), xdata);
    ck_assert_float_eq(((const float *)xdata)[11], 11);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(bgm_dataset_targets(ds)))[2], 9);
    elem = bgm_dataset_element_shape(ds, &ndim);
    ck_assert_int_eq(ndim, 2);
    ck_assert_int_eq(elem[0], 2);
    ck_assert_int_eq(elem[1], 2);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(wrapped_arrays_are_borrowed_not_copied)
{
    int64_t xs[] = {4, 1};
    float x[4] = {1, 2, 3, 4};
    bgm_tensor *tx = NULL;
    bgm_dataset *ds = NULL;
    BGM_ASSERT_OK(bgm_tensor_wrap(&tx, BGM_FLOAT32, xs, 2, x, NULL, NULL));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, tx, NULL));
    bgm_tensor_free(tx);
    ck_assert_ptr_eq(bgm_tensor_data(bgm_dataset_features(ds)), x);
    ck_assert_ptr_null(bgm_dataset_targets(ds));
    x[3] = 40; /* the caller's array is the dataset's storage */
    ck_assert_float_eq(((const float *)bgm_tensor_data(bgm_dataset_features(ds)))[3], 40);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(float_targets_and_one_dimensional_features_are_accepted)
{
    int64_t s5[] = {5};
    bgm_tensor *x = bgm_test_tensor(s5, 1, (float[]){1, 2, 3, 4, 5});
    bgm_tensor *y = bgm_test_tensor(s5, 1, (float[]){.5f, 1, 1.5f, 2, 2.5f});
    bgm_dataset *ds = NULL;
    int ndim = -1;
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, x, y));
    ck_assert_ptr_nonnull(bgm_dataset_element_shape(ds, &ndim));
    ck_assert_int_eq(ndim, 0);
    ck_assert_int_eq(bgm_tensor_dtype(bgm_dataset_targets(ds)), BGM_FLOAT32);
    bgm_dataset_free(ds);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(shuffle_is_a_permutation_that_repeats_for_a_seed)
{
    bgm_dataset *ds = numbered(1000), *a = NULL, *b = NULL, *c = NULL;
    char seen[1000] = {0};
    int64_t i, moved = 0, differ = 0;
    BGM_ASSERT_OK(bgm_dataset_shuffle(&a, ds, 42));
    BGM_ASSERT_OK(bgm_dataset_shuffle(&b, ds, 42));
    BGM_ASSERT_OK(bgm_dataset_shuffle(&c, ds, 43));
    ck_assert_int_eq(bgm_dataset_size(a), 1000);
    ck_assert_int_eq(memcmp(bgm_tensor_data(bgm_dataset_features(a)),
                            bgm_tensor_data(bgm_dataset_features(b)), 8000), 0);
    assert_rows_paired(a);
    for (i = 0; i < 1000; i++) {
        int32_t k = label(a, i);
        ck_assert(k >= 0 && k < 1000 && !seen[k]);
        seen[k] = 1;
        moved += k != i;
        differ += k != label(c, i);
    }
    /* A uniform permutation of 1000 leaves about one element in place. */
    ck_assert_int_gt(moved, 990);
    ck_assert_int_gt(differ, 990);
    /* The source is untouched. */
    ck_assert_int_eq(label(ds, 17), 17);
    bgm_dataset_free(ds);
    bgm_dataset_free(a);
    bgm_dataset_free(b);
    bgm_dataset_free(c);
}
END_TEST

START_TEST(take_and_skip_are_views_clamped_to_the_size)
{
    bgm_dataset *ds = numbered(5), *t = NULL, *s = NULL, *all = NULL, *none = NULL;
    BGM_ASSERT_OK(bgm_dataset_take(&t, ds, 3));
    BGM_ASSERT_OK(bgm_dataset_skip(&s, ds, 2));
    ck_assert_int_eq(bgm_dataset_size(t), 3);
    ck_assert_int_eq(bgm_dataset_size(s), 3);
    ck_assert_int_eq(label(t, 2), 2);
    ck_assert_int_eq(label(s, 0), 2);
    ck_assert_float_eq(feat(s, 2, 1), 104);
    ck_assert_ptr_eq(bgm_tensor_data(bgm_dataset_features(t)),
                     bgm_tensor_data(bgm_dataset_features(ds)));
    bgm_dataset_free(ds); /* views outlive their source */
    ck_assert_int_eq(label(s, 1), 3);
    BGM_ASSERT_OK(bgm_dataset_take(&all, t, 100));
    BGM_ASSERT_OK(bgm_dataset_skip(&none, s, 100));
    ck_assert_int_eq(bgm_dataset_size(all), 3);
    ck_assert_int_eq(bgm_dataset_size(none), 0);
    ck_assert_int_eq(bgm_tensor_dim(bgm_dataset_features(none), 1), 2);
    bgm_dataset_free(t);
    bgm_dataset_free(s);
    bgm_dataset_free(all);
    bgm_dataset_free(none);
}
END_TEST

START_TEST(concatenate_appends_the_second_dataset)
{
    bgm_dataset *a = numbered(2), *b = numbered(3), *ab = NULL;
    const int32_t want[] = {0, 1, 0, 1, 2};
    int i;
    BGM_ASSERT_OK(bgm_dataset_concatenate(&ab, a, b));
    ck_assert_int_eq(bgm_dataset_size(ab), 5);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(label(ab, i), want[i]);
    assert_rows_paired(ab);
    bgm_dataset_free(a);
    bgm_dataset_free(b);
    bgm_dataset_free(ab);
}
END_TEST

START_TEST(concatenate_refuses_mismatched_datasets_naming_both)
{
    int64_t s23[] = {2, 3}, s2[] = {2};
    bgm_dataset *a = numbered(2), *wide = NULL, *floaty = NULL, *bare = NULL,
                *out = (bgm_dataset *)0x1;
    bgm_tensor *x3 = NULL, *x2 = NULL, *yf = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x3, BGM_FLOAT32, s23, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&yf, BGM_FLOAT32, s2, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&x2, BGM_FLOAT32, (int64_t[]){2, 2}, 2));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&wide, x3, yf));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&floaty, x2, yf));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&bare, x2, NULL));
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, a, wide), BGM_E_SHAPE, "(2, 2)");
    ck_assert_ptr_null(out);
    ck_assert_msg(strstr(bgm_last_error(), "(2, 3)"), "%s", bgm_last_error());
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, a, floaty), BGM_E_DTYPE, "int32");
    ck_assert_msg(strstr(bgm_last_error(), "float32"), "%s", bgm_last_error());
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, bare, a), BGM_E_INVALID, "targets");
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, NULL, a), BGM_E_INVALID, "'a'");
    BGM_ASSERT_FAILS(bgm_dataset_concatenate(&out, a, NULL), BGM_E_INVALID, "'b'");
    bgm_tensor_free(x3);
    bgm_tensor_free(x2);
    bgm_tensor_free(yf);
    bgm_dataset_free(a);
    bgm_dataset_free(wide);
    bgm_dataset_free(floaty);
    bgm_dataset_free(bare);
}
END_TEST

START_TEST(subset_picks_rows_in_the_given_order)
{
    bgm_dataset *ds = numbered(6), *sub = NULL, *empty = NULL, *out = (bgm_dataset *)0x1;
    const int64_t idx[] = {5, 0, 0, 3}, bad[] = {1, 6};
    BGM_ASSERT_OK(bgm_dataset_subset(&sub, ds, idx, 4));
    ck_assert_int_eq(bgm_dataset_size(sub), 4);
    ck_assert_int_eq(label(sub, 0), 5);
    ck_assert_int_eq(label(sub, 2), 0);
    ck_assert_int_eq(label(sub, 3), 3);
    assert_rows_paired(sub);
    BGM_ASSERT_OK(bgm_dataset_subset(&empty, ds, NULL, 0));
    ck_assert_int_eq(bgm_dataset_size(empty), 0);
    BGM_ASSERT_FAILS(bgm_dataset_subset(&out, ds, bad, 2), BGM_E_RANGE,
                     "index 6 at position 1");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_dataset_subset(&out, ds, (int64_t[]){-1}, 1), BGM_E_RANGE,
                     "[0, 6)");
    BGM_ASSERT_FAILS(bgm_dataset_subset(&out, ds, NULL, 2), BGM_E_INVALID, "indices");
    BGM_ASSERT_FAILS(bgm_dataset_subset(&out, ds, idx, -1), BGM_E_INVALID, "negative");
    bgm_dataset_free(ds);
    bgm_dataset_free(sub);
    bgm_dataset_free(empty);
}
END_TEST

START_TEST(batches_reuse_one_buffer_and_end_with_a_partial_batch)
{
    bgm_dataset *ds = numbered(10);
    bgm_batch_iter *it = NULL;
    const bgm_tensor *x = NULL, *y = NULL;
    const int64_t sizes[] = {4, 4, 2};
    void *xbuf = NULL, *ybuf = NULL;
    int more = -1, b, i, pass;
    BGM_ASSERT_OK(bgm_batch_iter_create(&it, ds, 4, 0));
    bgm_dataset_free(ds); /* the iterator keeps its own views */
    ck_assert_int_eq(bgm_batch_iter_num_batches(it), 3);
    for (pass = 0; pass < 2; pass++) {
        for (b = 0; b < 3; b++) {
            BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, it));
            ck_assert_int_eq(more, 1);
            ck_assert_int_eq(bgm_tensor_dim(x, 0), sizes[b]);
            ck_assert_int_eq(bgm_tensor_dim(x, 1), 2);
            ck_assert_int_eq(bgm_tensor_dim(y, 0), sizes[b]);
            if (!xbuf) {
                xbuf = bgm_tensor_data(x);
                ybuf = bgm_tensor_data(y);
            }
            ck_assert_ptr_eq(bgm_tensor_data(x), xbuf);
            ck_assert_ptr_eq(bgm_tensor_data(y), ybuf);
            for (i = 0; i < sizes[b]; i++) {
                ck_assert_int_eq(((const int32_t *)ybuf)[i], 4 * b + i);
                ck_assert_float_eq(((const float *)xbuf)[2 * i + 1], 100 + 4 * b + i);
            }
        }
        BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, it));
        ck_assert_int_eq(more, 0);
        ck_assert_ptr_null(x);
        ck_assert_ptr_null(y);
        BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, it));
        ck_assert_int_eq(more, 0);
        bgm_batch_iter_reset(it);
    }
    bgm_batch_iter_free(it);
}
END_TEST

START_TEST(drop_remainder_skips_the_short_last_batch)
{
    bgm_dataset *ds = numbered(10);
    bgm_batch_iter *it = NULL;
    const bgm_tensor *x = NULL;
    int more = 0, count = 0;
    BGM_ASSERT_OK(bgm_batch_iter_create(&it, ds, 4, 1));
    ck_assert_int_eq(bgm_batch_iter_num_batches(it), 2);
    while (bgm_batch_iter_next(&more, &x, NULL, it) == BGM_OK && more) {
        ck_assert_int_eq(bgm_tensor_dim(x, 0), 4);
        count++;
    }
    ck_assert_int_eq(count, 2);
    bgm_batch_iter_free(it);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(a_batch_larger_than_the_dataset_yields_it_whole_once)
{
    bgm_dataset *ds = numbered(3), *empty = NULL;
    bgm_batch_iter *it = NULL, *dropping = NULL, *none = NULL;
    const bgm_tensor *x = NULL, *y = NULL;
    int more = 0;
    BGM_ASSERT_OK(bgm_batch_iter_create(&it, ds, 1000000000000LL, 0));
    BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, it));
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(bgm_tensor_dim(x, 0), 3);
    ck_assert_int_eq(((const int32_t *)bgm_tensor_data(y))[2], 2);
    BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, it));
    ck_assert_int_eq(more, 0);
    BGM_ASSERT_OK(bgm_batch_iter_create(&dropping, ds, 4, 1));
    ck_assert_int_eq(bgm_batch_iter_num_batches(dropping), 0);
    BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, dropping));
    ck_assert_int_eq(more, 0);
    BGM_ASSERT_OK(bgm_dataset_take(&empty, ds, 0));
    BGM_ASSERT_OK(bgm_batch_iter_create(&none, empty, 2, 0));
    BGM_ASSERT_OK(bgm_batch_iter_next(&more, &x, &y, none));
    ck_assert_int_eq(more, 0);
    bgm_batch_iter_free(it);
    bgm_batch_iter_free(dropping);
    bgm_batch_iter_free(none);
    bgm_dataset_free(ds);
    bgm_dataset_free(empty);
}
END_TEST

/* Labels of one pass of it (batch size 3 over 10 samples) into order[10]. */
static void one_pass(bgm_batch_iter *it, int32_t *order)
{
    const bgm_tensor *x = NULL, *y = NULL;
    int more = 0, n = 0, i;
    while (bgm_batch_iter_next(&more, &x, &y, it) == BGM_OK && more) {
        for (i = 0; i < bgm_tensor_dim(y, 0); i++) {
            ck_assert_float_eq(((const float *)bgm_tensor_data(x))[2 * i],
                               (float)((const int32_t *)bgm_tensor_data(y))[i]);
            order[n++] = ((const int32_t *)bgm_tensor_data(y))[i];
        }
    }
    ck_assert_int_eq(n, 10);
}

START_TEST(shuffled_iteration_draws_a_new_order_every_pass)
{
    bgm_dataset *ds = numbered(10);
    bgm_batch_iter *a = NULL, *b = NULL;
    int32_t a1[10], a2[10], b1[10], b2[10];
    int i, seen[10] = {0};
    BGM_ASSERT_OK(bgm_batch_iter_create(&a, ds, 3, 0));
    BGM_ASSERT_OK(bgm_batch_iter_create(&b, ds, 3, 0));
    BGM_ASSERT_OK(bgm_batch_iter_shuffle(a, 5));
    BGM_ASSERT_OK(bgm_batch_iter_shuffle(b, 5));
    one_pass(a, a1);
    bgm_batch_iter_reset(a);
    one_pass(a, a2);
    one_pass(b, b1);
    bgm_batch_iter_reset(b);
    one_pass(b, b2);
    ck_assert_int_eq(memcmp(a1, b1, sizeof a1), 0);
    ck_assert_int_eq(memcmp(a2, b2, sizeof a2), 0);
    ck_assert_int_ne(memcmp(a1, a2, sizeof a1), 0);
    for (i = 0; i < 10; i++)
        seen[a2[i]]++;
    for (i = 0; i < 10; i++)
        ck_assert_int_eq(seen[i], 1);
    bgm_batch_iter_free(a);
    bgm_batch_iter_free(b);
    bgm_dataset_free(ds);
}
END_TEST

START_TEST(bad_input_is_refused_with_a_message)
{
    int64_t s32[] = {3, 2}, s4[] = {4};
    bgm_tensor *x = NULL, *xi = NULL, *y4 = NULL, *scalar = NULL, *sum = NULL;
    bgm_dataset *ds = (bgm_dataset *)0x1, *good = numbered(3);
    bgm_batch_iter *it = (bgm_batch_iter *)0x1;
    bgm_tape *tape = NULL;
    int more = 7;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, s32, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, s32, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y4, BGM_INT32, s4, 1));
    BGM_ASSERT_OK(bgm_tensor_full(&scalar, BGM_FLOAT32, NULL, 0, 1.0));
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(NULL, x, NULL), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(&ds, NULL, NULL), BGM_E_INVALID, "'x'");
    ck_assert_ptr_null(ds);
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, xi, NULL)); /* token ids */
    ck_assert_int_eq(bgm_tensor_dtype(bgm_dataset_features(ds)), BGM_INT32);
    bgm_dataset_free(ds);
    ds = NULL;
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(&ds, scalar, NULL), BGM_E_INVALID, "scalar");
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(&ds, x, scalar), BGM_E_INVALID, "scalar");
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(&ds, x, y4), BGM_E_SHAPE, "(3, 2)");
    ck_assert_msg(strstr(bgm_last_error(), "(4,)"), "%s", bgm_last_error());
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_add(&sum, tape, x, x));
    BGM_ASSERT_FAILS(bgm_dataset_from_tensors(&ds, sum, NULL), BGM_E_STATE, "tape");
    BGM_ASSERT_FAILS(bgm_dataset_shuffle(&ds, NULL, 1), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_dataset_take(&ds, good, -1), BGM_E_INVALID, "-1");
    BGM_ASSERT_FAILS(bgm_dataset_skip(&ds, good, -2), BGM_E_INVALID, "-2");
    BGM_ASSERT_FAILS(bgm_dataset_skip(NULL, good, 1), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_batch_iter_create(&it, good, 0, 0), BGM_E_INVALID, "batch_size");
    ck_assert_ptr_null(it);
    BGM_ASSERT_FAILS(bgm_batch_iter_create(&it, NULL, 2, 0), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_batch_iter_next(&more, NULL, NULL, NULL), BGM_E_INVALID, "'it'");
    ck_assert_int_eq(more, 0);
    BGM_ASSERT_FAILS(bgm_batch_iter_shuffle(NULL, 1), BGM_E_INVALID, "'it'");
    BGM_ASSERT_OK(bgm_batch_iter_create(&it, good, 2, 0));
    BGM_ASSERT_FAILS(bgm_batch_iter_next(NULL, NULL, NULL, it), BGM_E_INVALID, "has_batch");
    /* NULL handles are harmless where nothing can fail. */
    ck_assert_int_eq(bgm_dataset_size(NULL), 0);
    ck_assert_ptr_null(bgm_dataset_features(NULL));
    ck_assert_ptr_null(bgm_dataset_targets(NULL));
    ck_assert_ptr_null(bgm_dataset_element_shape(NULL, NULL));
    ck_assert_int_eq(bgm_batch_iter_num_batches(NULL), 0);
    bgm_batch_iter_reset(NULL);
    bgm_batch_iter_free(NULL);
    bgm_dataset_free(NULL);
    bgm_batch_iter_free(it);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(xi);
    bgm_tensor_free(y4);
    bgm_tensor_free(scalar);
    bgm_dataset_free(good);
}
END_TEST

Suite *suite_data_dataset(void)
{
    Suite *s = suite_create("data_dataset");
    TCase *tc = tcase_create("dataset");
    TCase *tb = tcase_create("batches");
    tcase_add_test(tc, from_tensors_keeps_views_after_the_caller_frees_its_handles);
    tcase_add_test(tc, wrapped_arrays_are_borrowed_not_copied);
    tcase_add_test(tc, float_targets_and_one_dimensional_features_are_accepted);
    tcase_add_test(tc, shuffle_is_a_permutation_that_repeats_for_a_seed);
    tcase_add_test(tc, take_and_skip_are_views_clamped_to_the_size);
    tcase_add_test(tc, concatenate_appends_the_second_dataset);
    tcase_add_test(tc, concatenate_refuses_mismatched_datasets_naming_both);
    tcase_add_test(tc, subset_picks_rows_in_the_given_order);
    tcase_add_test(tc, bad_input_is_refused_with_a_message);
    tcase_add_test(tb, batches_reuse_one_buffer_and_end_with_a_partial_batch);
    tcase_add_test(tb, drop_remainder_skips_the_short_last_batch);
    tcase_add_test(tb, a_batch_larger_than_the_dataset_yields_it_whole_once);
    tcase_add_test(tb, shuffled_iteration_draws_a_new_order_every_pass);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tb);
    return s;
}
