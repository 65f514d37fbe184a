/* bgm_tensor: creation, views, accessors, copies and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

START_TEST(zeros_ones_full_hold_the_value)
{
    int64_t shape[] = {2, 3};
    bgm_tensor *z = NULL, *o = NULL, *f = NULL, *i = NULL;
    const float zeros[6] = {0}, ones[6] = {1, 1, 1, 1, 1, 1};
    const float sevens[6] = {7.5f, 7.5f, 7.5f, 7.5f, 7.5f, 7.5f};
    BGM_ASSERT_OK(bgm_tensor_zeros(&z, BGM_FLOAT32, shape, 2));
    BGM_ASSERT_OK(bgm_tensor_ones(&o, BGM_FLOAT32, shape, 2));
    BGM_ASSERT_OK(bgm_tensor_full(&f, BGM_FLOAT32, shape, 2, 7.5));
    BGM_ASSERT_OK(bgm_tensor_full(&i, BGM_INT32, shape, 2, -3));
    bgm_test_assert_close(z, shape, 2, zeros, 0);
    bgm_test_assert_close(o, shape, 2, ones, 0);
    bgm_test_assert_close(f, shape, 2, sevens, 0);
    ck_assert_int_eq(bgm_tensor_dtype(i), BGM_INT32);
    ck_assert_int_eq(((int32_t *)bgm_tensor_data(i))[5], -3);
    ck_assert_uint_eq(bgm_tensor_nbytes(i), 24);
    bgm_tensor_free(z);
    bgm_tensor_free(o);
    bgm_tensor_free(f);
    bgm_tensor_free(i);
}
END_TEST

START_TEST(scalar_and_eight_dimensions)
{
    int64_t shape[8] = {1, 2, 1, 2, 1, 2, 1, 2};
    bgm_tensor *s = NULL, *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_full(&s, BGM_FLOAT32, NULL, 0, 2.0));
    ck_assert_int_eq(bgm_tensor_ndim(s), 0);
    ck_assert_int_eq(bgm_tensor_numel(s), 1);
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, shape, 8));
    ck_assert_int_eq(bgm_tensor_numel(t), 16);
    ck_assert_int_eq(bgm_tensor_dim(t, -1), 2);
    ck_assert_int_eq(bgm_tensor_dim(t, 8), 0);
    bgm_tensor_free(s);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(from_data_copies_and_copy_to_returns_it)
{
    int64_t shape[] = {3};
    float src[3] = {1, 2, 3}, back[3] = {0};
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_FLOAT32, shape, 1, src));
    src[0] = 100; /* the tensor holds its own copy */
    BGM_ASSERT_OK(bgm_tensor_copy_to(t, back, sizeof back));
    ck_assert_float_eq(back[0], 1);
    ck_assert_float_eq(back[2], 3);
    BGM_ASSERT_FAILS(bgm_tensor_copy_to(t, back, 8), BGM_E_SHAPE, "8 bytes");
    BGM_ASSERT_OK(bgm_tensor_copy_from(t, src, sizeof src));
    ck_assert_float_eq(((float *)bgm_tensor_data(t))[0], 100);
    bgm_tensor_free(t);
}
END_TEST

static int deleter_calls;
static void count_deleter(void *data, void *ctx)
{
    deleter_calls++;
    ck_assert_ptr_eq(ctx, &deleter_calls);
    free(data);
}

START_TEST(wrap_borrows_or_calls_the_deleter_once)
{
    int64_t shape[] = {2, 2}, flat[] = {4};
    float buf[4] = {1, 2, 3, 4};
    float *heap = malloc(4 * sizeof *heap);
    bgm_tensor *b = NULL, *h = NULL, *view = NULL;
    BGM_ASSERT_OK(bgm_tensor_wrap(&b, BGM_FLOAT32, shape, 2, buf, NULL, NULL));
    ck_assert_ptr_eq(bgm_tensor_data(b), buf);
    buf[3] = 9;
    ck_assert_float_eq(((float *)bgm_tensor_data(b))[3], 9);
    bgm_tensor_free(b);

    deleter_calls = 0;
    BGM_ASSERT_OK(bgm_tensor_wrap(&h, BGM_FLOAT32, shape, 2, heap, count_deleter,
                                  &deleter_calls));
    BGM_ASSERT_OK(bgm_tensor_reshape(&view, h, flat, 1));
    bgm_tensor_free(h);
    ck_assert_int_eq(deleter_calls, 0); /* the view keeps the buffer alive */
    bgm_tensor_free(view);
    ck_assert_int_eq(deleter_calls, 1);
}
END_TEST

START_TEST(reshape_and_slice_are_views)
{
    int64_t shape[] = {4, 3}, infer[] = {2, -1};
    float v[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    bgm_tensor *t = bgm_test_tensor(shape, 2, v), *r = NULL, *s = NULL;
    const float rows12[] = {3, 4, 5, 6, 7, 8};
    BGM_ASSERT_OK(bgm_tensor_reshape(&r, t, infer, 2));
    ck_assert_int_eq(bgm_tensor_dim(r, 1), 6);
    ck_assert_ptr_eq(bgm_tensor_data(r), bgm_tensor_data(t));
    BGM_ASSERT_OK(bgm_tensor_slice(&s, t, 1, 3));
    bgm_test_assert_close(s, (int64_t[]){2, 3}, 2, rows12, 0);
    ((float *)bgm_tensor_data(s))[0] = -1; /* writes go through to t */
    ck_assert_float_eq(((float *)bgm_tensor_data(t))[3], -1);
    bgm_tensor_free(t);
    bgm_tensor_free(r);
    bgm_tensor_free(s);
}
END_TEST

START_TEST(clone_is_independent)
{
    int64_t shape[] = {2};
    bgm_tensor *t = bgm_test_tensor(shape, 1, (float[]){1, 2}), *c = NULL;
    BGM_ASSERT_OK(bgm_tensor_clone(&c, t));
    ((float *)bgm_tensor_data(t))[0] = 5;
    ck_assert_float_eq(((float *)bgm_tensor_data(c))[0], 1);
    bgm_tensor_free(t);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(random_tensors_repeat_for_a_seed)
{
    int64_t shape[] = {1000};
    bgm_rng *r1 = NULL, *r2 = NULL;
    bgm_tensor *a = NULL, *b = NULL, *u = NULL;
    const float *pa, *pu;
    double mean = 0, var = 0;
    int i;
    BGM_ASSERT_OK(bgm_rng_create(&r1, 7));
    BGM_ASSERT_OK(bgm_rng_create(&r2, 7));
    BGM_ASSERT_OK(bgm_tensor_randn(&a, r1, shape, 1, 1.0f, 2.0f));
    BGM_ASSERT_OK(bgm_tensor_randn(&b, r2, shape, 1, 1.0f, 2.0f));
    ck_assert_int_eq(memcmp(bgm_tensor_data(a), bgm_tensor_data(b), 4000), 0);
    pa = bgm_tensor_data(a);
    for (i = 0; i < 1000; i++)
        mean += pa[i] / 1000.0;
    for (i = 0; i < 1000; i++)
        var += (pa[i] - mean) * (pa[i] - mean) / 999.0;
    /* 1000 draws: the mean is within 4 standard errors (4 * 2/sqrt(1000)). */
    ck_assert_double_lt(fabs(mean - 1.0), 0.26);
    ck_assert_double_lt(fabs(sqrt(var) - 2.0), 0.2);
    BGM_ASSERT_OK(bgm_tensor_rand_uniform(&u, r1, shape, 1, -1.0f, 3.0f));
    pu = bgm_tensor_data(u);
    for (i = 0; i < 1000; i++)
        ck_assert(pu[i] >= -1.0f && pu[i] < 3.0f);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(u);
    bgm_rng_free(r1);
    bgm_rng_free(r2);
}
END_TEST

START_TEST(axpy_updates_in_place)
{
    int64_t shape[] = {3};
    bgm_tensor *y = bgm_test_tensor(shape, 1, (float[]){1, 2, 3});
    bgm_tensor *x = bgm_test_tensor(shape, 1, (float[]){10, 20, 30});
    const float want[] = {-4, -8, -12};
    BGM_ASSERT_OK(bgm_tensor_axpy(y, -0.5f, x));
    bgm_test_assert_close(y, shape, 1, want, 0);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(bad_input_is_refused_with_a_message)
{
    int64_t shape[] = {2, 3}, neg[] = {2, -1}, huge[] = {INT64_MAX / 2, 4};
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, wrong[] = {4, 2};
    bgm_tensor *t = (bgm_tensor *)0x1, *ok = NULL, *i32 = NULL;
    float f = 0;
    BGM_ASSERT_FAILS(bgm_tensor_zeros(NULL, BGM_FLOAT32, shape, 2), BGM_E_INVALID, "out");
    BGM_ASSERT_FAILS(bgm_tensor_zeros(&t, BGM_FLOAT32, neg, 2), BGM_E_INVALID, "negative");
    ck_assert_ptr_null(t);
    BGM_ASSERT_FAILS(bgm_tensor_zeros(&t, BGM_FLOAT32, huge, 2), BGM_E_NOMEM, "too large");
    BGM_ASSERT_FAILS(bgm_tensor_zeros(&t, BGM_FLOAT32, nine, 9), BGM_E_INVALID, "ndim 9");
    BGM_ASSERT_FAILS(bgm_tensor_zeros(&t, (bgm_dtype)77, shape, 2), BGM_E_INVALID, "dtype");
    BGM_ASSERT_FAILS(bgm_tensor_zeros(&t, BGM_FLOAT32, NULL, 2), BGM_E_INVALID, "shape");
    BGM_ASSERT_FAILS(bgm_tensor_from_data(&t, BGM_FLOAT32, shape, 2, NULL), BGM_E_INVALID,
                     "data");
    BGM_ASSERT_FAILS(bgm_tensor_wrap(&t, BGM_FLOAT32, shape, 2, NULL, NULL, NULL),
                     BGM_E_INVALID, "data");
    BGM_ASSERT_FAILS(bgm_tensor_wrap(&t, BGM_FLOAT32, shape, 1, (char *)&f + 1, NULL, NULL),
                     BGM_E_INVALID, "aligned");
    BGM_ASSERT_FAILS(bgm_tensor_randn(&t, NULL, shape, 2, 0, 1), BGM_E_INVALID, "rng");
    BGM_ASSERT_FAILS(bgm_tensor_clone(&t, NULL), BGM_E_INVALID, "'t'");

    BGM_ASSERT_OK(bgm_tensor_zeros(&ok, BGM_FLOAT32, shape, 2));
    BGM_ASSERT_FAILS(bgm_tensor_reshape(&t, ok, wrong, 2), BGM_E_SHAPE, "(2, 3)");
    ck_assert_msg(strstr(bgm_last_error(), "(4, 2)"), "%s", bgm_last_error());
    BGM_ASSERT_FAILS(bgm_tensor_slice(&t, ok, 1, 3), BGM_E_RANGE, "[1, 3)");
    BGM_ASSERT_FAILS(bgm_tensor_slice(&t, ok, 2, 1), BGM_E_RANGE, "outside");
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, shape, 2));
    BGM_ASSERT_FAILS(bgm_tensor_axpy(ok, 1.0f, i32), BGM_E_DTYPE, "float32");
    BGM_ASSERT_FAILS(bgm_tensor_copy_to(NULL, &f, 4), BGM_E_INVALID, "'t'");
    BGM_ASSERT_FAILS(bgm_tensor_fill(NULL, 1.0), BGM_E_INVALID, "'t'");

    /* Accessors and free accept NULL. */
    ck_assert_int_eq(bgm_tensor_ndim(NULL), 0);
    ck_assert_ptr_null(bgm_tensor_data(NULL));
    ck_assert_ptr_null(bgm_tensor_shape(NULL));
    bgm_tensor_free(NULL);
    bgm_rng_free(NULL);
    bgm_tensor_free(ok);
    bgm_tensor_free(i32);
}
END_TEST

START_TEST(status_strings_and_versions)
{
    ck_assert_str_eq(bgm_status_string(BGM_E_SHAPE), "BGM_E_SHAPE");
    ck_assert_str_eq(bgm_status_string((bgm_status)-999), "BGM_E_UNKNOWN");
    ck_assert_int_eq(bgm_version_number(), BGM_VERSION_NUMBER);
    ck_assert_str_eq(bgm_version_string(), BGM_VERSION_STRING);
    bgm_clear_error();
    ck_assert_str_eq(bgm_last_error(), "");
    BGM_ASSERT_FAILS(bgm_set_num_threads(-1), BGM_E_INVALID, "-1");
    BGM_ASSERT_OK(bgm_set_num_threads(2));
    ck_assert_int_eq(bgm_get_num_threads(), 2);
    BGM_ASSERT_OK(bgm_set_num_threads(0));
    ck_assert_int_ge(bgm_get_num_threads(), 1);
}
END_TEST

Suite *suite_tensor(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, zeros_ones_full_hold_the_value);
    tcase_add_test(tc, scalar_and_eight_dimensions);
    tcase_add_test(tc, from_data_copies_and_copy_to_returns_it);
    tcase_add_test(tc, wrap_borrows_or_calls_the_deleter_once);
    tcase_add_test(tc, reshape_and_slice_are_views);
    tcase_add_test(tc, clone_is_independent);
    tcase_add_test(tc, random_tensors_repeat_for_a_seed);
    tcase_add_test(tc, axpy_updates_in_place);
    tcase_add_test(tc, bad_input_is_refused_with_a_message);
    tcase_add_test(tc, status_strings_and_versions);
    suite_add_tcase(s, tc);
    return s;
}
