/* Scalers (fit on train, apply to test), one-hot encoding, and their bad input.
 * Expected values come from scikit-learn 1.2 (StandardScaler, MinMaxScaler,
 * normalize) on the same numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static bgm_tensor *tensor2(int64_t rows, int64_t cols, const float *v)
{
    return bgm_test_tensor((int64_t[]){rows, cols}, 2, v);
}

START_TEST(standard_scaler_centers_and_divides_by_the_population_std)
{
    const float train[] = {1, 10, 2, 20, 3, 30, 4, 40};
    const float want[] = {-1.3416408f, -1.3416408f, -0.4472136f, -0.4472136f,
                          0.4472136f, 0.4472136f, 1.3416408f, 1.3416408f};
    bgm_tensor *x = tensor2(4, 2, train), *y = NULL;
    bgm_scaler *sc = NULL;
    double mean[2], std[2];
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    ck_assert_int_eq(bgm_scaler_is_fitted(sc), 0);
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x));
    ck_assert_int_eq(bgm_scaler_is_fitted(sc), 1);
    ck_assert_int_eq(bgm_scaler_num_features(sc), 2);
    BGM_ASSERT_OK(bgm_scaler_get_statistics(mean, std, 2, sc));
    ck_assert_double_eq_tol(mean[0], 2.5, 1e-12);
    ck_assert_double_eq_tol(mean[1], 25.0, 1e-12);
    ck_assert_double_eq_tol(std[0], 1.118033988749895, 1e-12);
    ck_assert_double_eq_tol(std[1], 11.180339887498949, 1e-12);
    BGM_ASSERT_OK(bgm_scaler_transform(&y, sc, x));
    bgm_test_assert_close(y, (int64_t[]){4, 2}, 2, want, 1e-6);
    ck_assert_float_eq(((float *)bgm_tensor_data(x))[0], 1.0f);   /* input untouched */
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(statistics_come_from_the_fitted_data_only)
{
    const float train[] = {1, 10, 2, 20, 3, 30, 4, 40}, test[] = {5, 0};
    const float want[] = {2.2360680f, -2.2360680f};
    bgm_tensor *xtr = tensor2(4, 2, train), *xte = tensor2(1, 2, test), *y = NULL;
    bgm_scaler *sc = NULL;
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, xtr));
    BGM_ASSERT_OK(bgm_scaler_transform(&y, sc, xte));
    bgm_test_assert_close(y, (int64_t[]){1, 2}, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(xtr);
    bgm_tensor_free(xte);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(zero_variance_feature_is_only_centered_like_sklearn)
{
    const float train[] = {1, 7, 3, 7}, test[] = {0, 9};
    const float want_train[] = {-1, 0, 1, 0}, want_test[] = {-2, 2};
    bgm_tensor *xtr = tensor2(2, 2, train), *xte = tensor2(1, 2, test), *a = NULL, *b = NULL;
    bgm_scaler *sc = NULL;
    double std[2];
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, xtr));
    BGM_ASSERT_OK(bgm_scaler_get_statistics(NULL, std, 2, sc));
    ck_assert_double_eq(std[1], 1.0);   /* scikit-learn's scale_ for a constant feature */
    BGM_ASSERT_OK(bgm_scaler_transform(&a, sc, xtr));
    BGM_ASSERT_OK(bgm_scaler_transform(&b, sc, xte));
    bgm_test_assert_close(a, (int64_t[]){2, 2}, 2, want_train, 1e-6);
    bgm_test_assert_close(b, (int64_t[]){1, 2}, 2, want_test, 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(xtr);
    bgm_tensor_free(xte);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(per_channel_standardization_pools_nhwc_positions)
{
    /* (2, 1, 2, 2): channel 0 holds 1, 3, 5, 7 and channel 1 holds 10x that */
    const float img[] = {1, 10, 3, 30, 5, 50, 7, 70};
    const float want[] = {-1.3416408f, -1.3416408f, -0.4472136f, -0.4472136f,
                          0.4472136f, 0.4472136f, 1.3416408f, 1.3416408f};
    const float other[] = {4, 40, 6, 80}; /* (1, 2, 1, 2): another image size, same channels */
    const float want_other[] = {0, 0, 0.8944272f, 1.7888544f};
    int64_t shape[] = {2, 1, 2, 2}, oshape[] = {1, 2, 1, 2};
    bgm_tensor *x = bgm_test_tensor(shape, 4, img), *o = bgm_test_tensor(oshape, 4, other);
    bgm_tensor *y = NULL, *yo = NULL;
    bgm_scaler *sc = NULL;
    double mean[2], std[2];
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_CHANNEL));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x));
    ck_assert_int_eq(bgm_scaler_num_features(sc), 2);
    BGM_ASSERT_OK(bgm_scaler_get_statistics(mean, std, 2, sc));
    ck_assert_double_eq_tol(mean[0], 4.0, 1e-12);
    ck_assert_double_eq_tol(mean[1], 40.0, 1e-12);
    ck_assert_double_eq_tol(std[0], 2.23606797749979, 1e-12);
    BGM_ASSERT_OK(bgm_scaler_transform(&y, sc, x));
    bgm_test_assert_close(y, shape, 4, want, 1e-6);
    BGM_ASSERT_OK(bgm_scaler_transform(&yo, sc, o));
    bgm_test_assert_close(yo, oshape, 4, want_other, 1e-6);
    bgm_tensor_free(x);
    bgm_tensor_free(o);
    bgm_tensor_free(y);
    bgm_tensor_free(yo);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(per_feature_standardization_of_images_keeps_every_pixel_apart)
{
    /* (2, 2, 1, 1): two pixels, each its own feature */
    const float img[] = {0, 4, 2, 8}, want[] = {-1, -1, 1, 1};
    int64_t shape[] = {2, 2, 1, 1};
    bgm_tensor *x = bgm_test_tensor(shape, 4, img);
    bgm_scaler *sc = NULL;
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x));
    ck_assert_int_eq(bgm_scaler_num_features(sc), 2);
    BGM_ASSERT_OK(bgm_scaler_transform_inplace(sc, x));
    bgm_test_assert_close(x, shape, 4, want, 1e-6);
    bgm_tensor_free(x);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(minmax_maps_the_fitted_range_onto_low_high_without_clipping)
{
    const float train[] = {0, 3, 5, 3, 10, 3}, test[] = {15, 4};
    const float want_train[] = {-1, -1, 0, -1, 1, -1}, want_test[] = {2, 1};
    bgm_tensor *xtr = tensor2(3, 2, train), *xte = tensor2(1, 2, test), *a = NULL, *b = NULL;
    bgm_scaler *sc = NULL;
    double lo[2], hi[2];
    BGM_ASSERT_OK(bgm_scaler_minmax(&sc, -1.0f, 1.0f, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, xtr));
    BGM_ASSERT_OK(bgm_scaler_get_statistics(lo, hi, 2, sc));
    ck_assert_double_eq(lo[0], 0.0);
    ck_assert_double_eq(hi[0], 10.0);
    ck_assert_double_eq(lo[1], 3.0);
    ck_assert_double_eq(hi[1], 3.0);
    BGM_ASSERT_OK(bgm_scaler_transform(&a, sc, xtr));
    BGM_ASSERT_OK(bgm_scaler_transform(&b, sc, xte));
    bgm_test_assert_close(a, (int64_t[]){3, 2}, 2, want_train, 1e-6);
    bgm_test_assert_close(b, (int64_t[]){1, 2}, 2, want_test, 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(xtr);
    bgm_tensor_free(xte);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(rescale_divides_by_max_value_and_needs_no_fit)
{
    const float px[] = {0, 127.5f, 255, 51}, want[] = {0, 0.5f, 1, 0.2f};
    bgm_tensor *x = tensor2(2, 2, px), *y = NULL;
    bgm_scaler *sc = NULL;
    BGM_ASSERT_OK(bgm_scaler_rescale(&sc, 255.0f));
    ck_assert_int_eq(bgm_scaler_is_fitted(sc), 1);
    ck_assert_int_eq(bgm_scaler_num_features(sc), 0);
    BGM_ASSERT_OK(bgm_scaler_transform(&y, sc, x));
    bgm_test_assert_close(y, (int64_t[]){2, 2}, 2, want, 1e-7);
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x));   /* accepted, changes nothing */
    BGM_ASSERT_FAILS(bgm_scaler_get_statistics(NULL, NULL, 0, sc), BGM_E_UNSUPPORTED,
                     "keeps no statistics");
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(l2_normalize_makes_each_sample_unit_length_and_leaves_zeros)
{
    const float v[] = {3, 4, 0, 0, 1, 0}, want[] = {0.6f, 0.8f, 0, 0, 1, 0};
    const float cube[] = {1, 1, 1, 1, 0, 2, 0, 0}, want_cube[] = {0.5f, 0.5f, 0.5f, 0.5f,
                                                                   0, 1, 0, 0};
    int64_t cshape[] = {2, 2, 2};
    bgm_tensor *x = tensor2(3, 2, v), *c = bgm_test_tensor(cshape, 3, cube), *y = NULL;
    bgm_scaler *sc = NULL;
    BGM_ASSERT_OK(bgm_scaler_l2_normalize(&sc));
    BGM_ASSERT_OK(bgm_scaler_transform(&y, sc, x));
    bgm_test_assert_close(y, (int64_t[]){3, 2}, 2, want, 1e-7);
    BGM_ASSERT_OK(bgm_scaler_transform_inplace(sc, c));   /* the norm spans the whole sample */
    bgm_test_assert_close(c, cshape, 3, want_cube, 1e-7);
    bgm_tensor_free(x);
    bgm_tensor_free(c);
    bgm_tensor_free(y);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(refit_replaces_the_statistics)
{
    const float a[] = {0, 2}, b[] = {10, 20, 30, 40, 50, 60};
    bgm_tensor *xa = tensor2(2, 1, a), *xb = tensor2(2, 3, b);
    bgm_scaler *sc = NULL;
    double mean[3];
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, xa));
    ck_assert_int_eq(bgm_scaler_num_features(sc), 1);
    BGM_ASSERT_OK(bgm_scaler_fit(sc, xb));
    ck_assert_int_eq(bgm_scaler_num_features(sc), 3);
    BGM_ASSERT_OK(bgm_scaler_get_statistics(mean, NULL, 3, sc));
    ck_assert_double_eq(mean[2], 45.0);
    bgm_tensor_free(xa);
    bgm_tensor_free(xb);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(dataset_transform_copies_features_and_shares_targets)
{
    const float v[] = {1, 10, 2, 20, 3, 30, 4, 40};
    const int32_t labels[] = {0, 1, 0, 1};
    bgm_tensor *x = tensor2(4, 2, v), *y = NULL;
    bgm_dataset *ds = NULL, *out = NULL;
    bgm_scaler *sc = NULL;
    const float *got;
    BGM_ASSERT_OK(bgm_tensor_from_data(&y, BGM_INT32, (int64_t[]){4}, 1, labels));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, x, y));
    BGM_ASSERT_OK(bgm_scaler_minmax(&sc, 0.0f, 1.0f, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit_dataset(sc, ds));
    BGM_ASSERT_OK(bgm_scaler_transform_dataset(&out, sc, ds));
    ck_assert_int_eq(bgm_dataset_size(out), 4);
    got = bgm_tensor_data(bgm_dataset_features(out));
    ck_assert_float_eq_tol(got[2], 1.0f / 3.0f, 1e-6f);
    ck_assert_float_eq(got[7], 1.0f);
    ck_assert_float_eq(((float *)bgm_tensor_data(x))[2], 2.0f);   /* source untouched */
    ck_assert_ptr_eq(bgm_tensor_data(bgm_dataset_targets(out)), bgm_tensor_data(y));
    /* in place: the dataset's (and the caller's shared) features change */
    BGM_ASSERT_OK(bgm_scaler_transform_dataset_inplace(sc, ds));
    ck_assert_float_eq_tol(((float *)bgm_tensor_data(x))[2], 1.0f / 3.0f, 1e-6f);
    bgm_dataset_free(out);
    bgm_dataset_free(ds);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_scaler_free(sc);
}
END_TEST

START_TEST(one_hot_encodes_labels_as_float_rows)
{
    const int32_t lab[] = {2, 0, 1};
    const float want[] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0};
    const float want_inferred[] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    bgm_tensor *l = NULL, *col = NULL, *o = NULL, *oc = NULL, *oi = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&l, BGM_INT32, (int64_t[]){3}, 1, lab));
    BGM_ASSERT_OK(bgm_tensor_from_data(&col, BGM_INT32, (int64_t[]){3, 1}, 2, lab));
    BGM_ASSERT_OK(bgm_tensor_one_hot(&o, l, 4));
    bgm_test_assert_close(o, (int64_t[]){3, 4}, 2, want, 0);
    BGM_ASSERT_OK(bgm_tensor_one_hot(&oc, col, 4));   /* (N, 1) gives (N, C) too */
    bgm_test_assert_close(oc, (int64_t[]){3, 4}, 2, want, 0);
    BGM_ASSERT_OK(bgm_tensor_one_hot(&oi, l, 0));     /* C inferred as max + 1 = 3 */
    bgm_test_assert_close(oi, (int64_t[]){3, 3}, 2, want_inferred, 0);
    bgm_tensor_free(l);
    bgm_tensor_free(col);
    bgm_tensor_free(o);
    bgm_tensor_free(oc);
    bgm_tensor_free(oi);
}
END_TEST

START_TEST(one_hot_of_sequences_adds_a_class_dimension)
{
    const int32_t lab[] = {1, 0, 0, 1};
    const float want[] = {0, 1, 1, 0, 1, 0, 0, 1};
    bgm_tensor *l = NULL, *o = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&l, BGM_INT32, (int64_t[]){2, 2}, 2, lab));
    BGM_ASSERT_OK(bgm_tensor_one_hot(&o, l, 2));
    bgm_test_assert_close(o, (int64_t[]){2, 2, 2}, 3, want, 0);
    bgm_tensor_free(l);
    bgm_tensor_free(o);
}
END_TEST

START_TEST(dataset_one_hot_keeps_features_and_encodes_targets)
{
    const float v[] = {1, 2, 3};
    const int32_t lab[] = {1, 1, 0};
    const float want[] = {0, 1, 0, 1, 1, 0};
    bgm_tensor *x = tensor2(3, 1, v), *y = NULL;
    bgm_dataset *ds = NULL, *oh = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&y, BGM_INT32, (int64_t[]){3}, 1, lab));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, x, y));
    BGM_ASSERT_OK(bgm_dataset_one_hot(&oh, ds, 2));
    bgm_test_assert_close(bgm_dataset_targets(oh), (int64_t[]){3, 2}, 2, want, 0);
    ck_assert_ptr_eq(bgm_tensor_data(bgm_dataset_features(oh)), bgm_tensor_data(x));
    bgm_dataset_free(ds);
    bgm_dataset_free(oh);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(one_hot_rejects_bad_labels_naming_row_and_value)
{
    const int32_t lab[] = {0, 5, 1}, neg[] = {0, -1};
    const float f[] = {0, 1};
    bgm_tensor *l = NULL, *n = NULL, *fl = tensor2(2, 1, f), *o = (bgm_tensor *)1;
    bgm_tensor *scalar = NULL, *empty = NULL, *deep = NULL;
    bgm_dataset *ds = NULL, *dso = (bgm_dataset *)1;
    int64_t deep_shape[8] = {1, 1, 1, 1, 1, 1, 1, 2};
    BGM_ASSERT_OK(bgm_tensor_from_data(&l, BGM_INT32, (int64_t[]){3}, 1, lab));
    BGM_ASSERT_OK(bgm_tensor_from_data(&n, BGM_INT32, (int64_t[]){2}, 1, neg));
    BGM_ASSERT_OK(bgm_tensor_zeros(&scalar, BGM_INT32, NULL, 0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&empty, BGM_INT32, (int64_t[]){0}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&deep, BGM_INT32, deep_shape, 8));
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, l, 3), BGM_E_RANGE, "label 5 at row 1 is "
                     "outside [0, 3)");
    ck_assert_ptr_null(o);
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, n, 0), BGM_E_RANGE, "label -1 at row 1");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, fl, 2), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, l, -2), BGM_E_INVALID, "negative");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, empty, 0), BGM_E_INVALID, "infer");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, scalar, 2), BGM_E_INVALID, "scalar");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, deep, 2), BGM_E_INVALID, "no room");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(&o, NULL, 2), BGM_E_INVALID, "'labels'");
    BGM_ASSERT_FAILS(bgm_tensor_one_hot(NULL, l, 2), BGM_E_INVALID, "'out'");
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, fl, NULL));
    BGM_ASSERT_FAILS(bgm_dataset_one_hot(&dso, ds, 2), BGM_E_INVALID, "no targets");
    ck_assert_ptr_null(dso);
    BGM_ASSERT_FAILS(bgm_dataset_one_hot(&dso, NULL, 2), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_dataset_one_hot(NULL, ds, 2), BGM_E_INVALID, "'out'");
    bgm_dataset_free(ds);
    bgm_tensor_free(l);
    bgm_tensor_free(n);
    bgm_tensor_free(fl);
    bgm_tensor_free(scalar);
    bgm_tensor_free(empty);
    bgm_tensor_free(deep);
}
END_TEST

START_TEST(scaler_constructors_reject_bad_parameters)
{
    bgm_scaler *sc = (bgm_scaler *)1;
    BGM_ASSERT_FAILS(bgm_scaler_rescale(&sc, 0.0f), BGM_E_INVALID, "non-zero");
    ck_assert_ptr_null(sc);
    BGM_ASSERT_FAILS(bgm_scaler_rescale(&sc, INFINITY), BGM_E_INVALID, "finite");
    BGM_ASSERT_FAILS(bgm_scaler_minmax(&sc, 1.0f, 1.0f, BGM_SCALE_PER_FEATURE),
                     BGM_E_INVALID, "low < high, got [1, 1]");
    BGM_ASSERT_FAILS(bgm_scaler_minmax(&sc, NAN, 1.0f, BGM_SCALE_PER_FEATURE),
                     BGM_E_INVALID, "low < high");
    BGM_ASSERT_FAILS(bgm_scaler_standard(&sc, (bgm_scale_axis)7), BGM_E_INVALID,
                     "unknown axis 7");
    BGM_ASSERT_FAILS(bgm_scaler_minmax(&sc, 0.0f, 1.0f, (bgm_scale_axis)0), BGM_E_INVALID,
                     "unknown axis 0");
    BGM_ASSERT_FAILS(bgm_scaler_standard(NULL, BGM_SCALE_PER_FEATURE), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_scaler_rescale(NULL, 1.0f), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_scaler_minmax(NULL, 0.0f, 1.0f, BGM_SCALE_PER_FEATURE),
                     BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_scaler_l2_normalize(NULL), BGM_E_INVALID, "'out'");
    bgm_scaler_free(NULL);
    ck_assert_int_eq(bgm_scaler_is_fitted(NULL), 0);
    ck_assert_int_eq(bgm_scaler_num_features(NULL), 0);
}
END_TEST

START_TEST(fit_rejects_bad_data_and_keeps_the_earlier_fit)
{
    const float good[] = {0, 2}, bad[] = {1, NAN, 3, 4};
    bgm_tensor *g = tensor2(2, 1, good), *b = tensor2(2, 2, bad), *i32 = NULL;
    bgm_tensor *empty = NULL, *scalar = NULL, *flat = NULL, *hollow = NULL;
    bgm_scaler *sc = NULL, *ch = NULL;
    bgm_dataset *ds = NULL;
    double mean[1];
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, (int64_t[]){2, 1}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&empty, BGM_FLOAT32, (int64_t[]){0, 3}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&scalar, BGM_FLOAT32, NULL, 0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&flat, BGM_FLOAT32, (int64_t[]){4}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&hollow, BGM_FLOAT32, (int64_t[]){3, 0}, 2));
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_standard(&ch, BGM_SCALE_PER_CHANNEL));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, g));
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, b), BGM_E_INVALID,
                     "non-finite value (nan) at sample 0, element 1");
    BGM_ASSERT_OK(bgm_scaler_get_statistics(mean, NULL, 1, sc));   /* earlier fit kept */
    ck_assert_double_eq(mean[0], 1.0);
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, i32), BGM_E_DTYPE, "float32, got int32");
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, empty), BGM_E_INVALID, "(0, 3) holds no samples");
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, scalar), BGM_E_INVALID, "scalar");
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, hollow), BGM_E_SHAPE, "without elements");
    BGM_ASSERT_FAILS(bgm_scaler_fit(ch, flat), BGM_E_SHAPE,
                     "per-channel scaler needs samples with a last (channel) dimension, "
                     "x has shape (4,)");
    BGM_ASSERT_FAILS(bgm_scaler_fit(sc, NULL), BGM_E_INVALID, "'x'");
    BGM_ASSERT_FAILS(bgm_scaler_fit(NULL, g), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, g, NULL));
    BGM_ASSERT_FAILS(bgm_scaler_fit_dataset(NULL, ds), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_FAILS(bgm_scaler_fit_dataset(sc, NULL), BGM_E_INVALID, "'ds'");
    bgm_dataset_free(ds);
    bgm_tensor_free(g);
    bgm_tensor_free(b);
    bgm_tensor_free(i32);
    bgm_tensor_free(empty);
    bgm_tensor_free(scalar);
    bgm_tensor_free(flat);
    bgm_tensor_free(hollow);
    bgm_scaler_free(sc);
    bgm_scaler_free(ch);
}
END_TEST

START_TEST(transform_names_fitted_and_given_shapes_on_mismatch)
{
    const float four[] = {1, 2, 3, 4, 5, 6, 7, 8}, three[] = {1, 2, 3};
    int64_t img_shape[] = {1, 2, 2, 2}, img1_shape[] = {1, 2, 2, 1};
    bgm_tensor *x4 = tensor2(2, 4, four), *x3 = tensor2(1, 3, three), *out = (bgm_tensor *)1;
    bgm_tensor *img = bgm_test_tensor(img_shape, 4, four), *img1 = NULL, *flat = NULL;
    bgm_scaler *sc = NULL, *ch = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&img1, BGM_FLOAT32, img1_shape, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&flat, BGM_FLOAT32, (int64_t[]){3}, 1));
    BGM_ASSERT_OK(bgm_scaler_minmax(&sc, 0.0f, 1.0f, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_standard(&ch, BGM_SCALE_PER_CHANNEL));
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x4));
    BGM_ASSERT_OK(bgm_scaler_fit(ch, img));
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, sc, x3), BGM_E_SHAPE,
                     "fitted on samples of shape (4,), but x (1, 3) has samples of shape (3,)");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_scaler_transform_inplace(sc, x3), BGM_E_SHAPE, "(4,)");
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, ch, img1), BGM_E_SHAPE,
                     "fitted per channel on samples of shape (2, 2, 2) (2 channels), but "
                     "x (1, 2, 2, 1) has another channel count");
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, ch, flat), BGM_E_SHAPE, "no channel dimension");
    bgm_tensor_free(x4);
    bgm_tensor_free(x3);
    bgm_tensor_free(img);
    bgm_tensor_free(img1);
    bgm_tensor_free(flat);
    bgm_scaler_free(sc);
    bgm_scaler_free(ch);
}
END_TEST

START_TEST(transform_rejects_null_dtype_unfitted_and_tape_tensors)
{
    const float v[] = {1, 2};
    bgm_tensor *x = tensor2(2, 1, v), *i32 = NULL, *out = (bgm_tensor *)1, *r = NULL;
    bgm_scaler *sc = NULL, *mm = NULL;
    bgm_dataset *ds = NULL, *dout = (bgm_dataset *)1;
    bgm_tape *tape = NULL;
    double a[1];
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, (int64_t[]){2, 1}, 2));
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_minmax(&mm, 0.0f, 1.0f, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&ds, x, NULL));
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, sc, x), BGM_E_STATE,
                     "the standard scaler is not fitted");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_scaler_transform_inplace(mm, x), BGM_E_STATE, "min-max scaler is "
                     "not fitted");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset(&dout, sc, ds), BGM_E_STATE, "not fitted");
    ck_assert_ptr_null(dout);
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset_inplace(sc, ds), BGM_E_STATE, "not fitted");
    BGM_ASSERT_FAILS(bgm_scaler_get_statistics(a, a, 1, sc), BGM_E_STATE, "not fitted");
    BGM_ASSERT_OK(bgm_scaler_fit(sc, x));
    BGM_ASSERT_FAILS(bgm_scaler_get_statistics(a, a, 2, sc), BGM_E_SHAPE,
                     "has 1 features, n is 2");
    BGM_ASSERT_FAILS(bgm_scaler_get_statistics(a, a, 1, NULL), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, sc, i32), BGM_E_DTYPE, "got int32");
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, sc, NULL), BGM_E_INVALID, "'x'");
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, NULL, x), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_FAILS(bgm_scaler_transform(NULL, sc, x), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_inplace(NULL, x), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_inplace(sc, NULL), BGM_E_INVALID, "'x'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset(NULL, sc, ds), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset(&dout, sc, NULL), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset(&dout, NULL, ds), BGM_E_INVALID, "'sc'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset_inplace(sc, NULL), BGM_E_INVALID, "'ds'");
    BGM_ASSERT_FAILS(bgm_scaler_transform_dataset_inplace(NULL, ds), BGM_E_INVALID, "'sc'");
    /* a recorded result must not change under the tape */
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_scale(&r, tape, x, 2.0f));
    BGM_ASSERT_FAILS(bgm_scaler_transform_inplace(sc, r), BGM_E_STATE, "owned by a tape");
    BGM_ASSERT_OK(bgm_scaler_transform(&out, sc, r));   /* a copy is fine */
    bgm_tensor_free(out);
    bgm_tape_free(tape);
    bgm_dataset_free(ds);
    bgm_tensor_free(x);
    bgm_tensor_free(i32);
    bgm_scaler_free(sc);
    bgm_scaler_free(mm);
}
END_TEST

Suite *suite_data_preprocess(void)
{
    Suite *s = suite_create("data_preprocess");
    TCase *tc = tcase_create("scalers");
    tcase_add_test(tc, standard_scaler_centers_and_divides_by_the_population_std);
    tcase_add_test(tc, statistics_come_from_the_fitted_data_only);
    tcase_add_test(tc, zero_variance_feature_is_only_centered_like_sklearn);
    tcase_add_test(tc, per_channel_standardization_pools_nhwc_positions);
    tcase_add_test(tc, per_feature_standardization_of_images_keeps_every_pixel_apart);
    tcase_add_test(tc, minmax_maps_the_fitted_range_onto_low_high_without_clipping);
    tcase_add_test(tc, rescale_divides_by_max_value_and_needs_no_fit);
    tcase_add_test(tc, l2_normalize_makes_each_sample_unit_length_and_leaves_zeros);
    tcase_add_test(tc, refit_replaces_the_statistics);
    tcase_add_test(tc, dataset_transform_copies_features_and_shares_targets);
    suite_add_tcase(s, tc);
    tc = tcase_create("one_hot");
    tcase_add_test(tc, one_hot_encodes_labels_as_float_rows);
    tcase_add_test(tc, one_hot_of_sequences_adds_a_class_dimension);
    tcase_add_test(tc, dataset_one_hot_keeps_features_and_encodes_targets);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_add_test(tc, one_hot_rejects_bad_labels_naming_row_and_value);
    tcase_add_test(tc, scaler_constructors_reject_bad_parameters);
    tcase_add_test(tc, fit_rejects_bad_data_and_keeps_the_earlier_fit);
    tcase_add_test(tc, transform_names_fitted_and_given_shapes_on_mismatch);
    tcase_add_test(tc, transform_rejects_null_dtype_unfitted_and_tape_tensors);
    suite_add_tcase(s, tc);
    return s;
}
