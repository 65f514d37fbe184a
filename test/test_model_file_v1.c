/* Model files written by the release that wrote format v1 (test/data/v1) still load. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>

/* Loads test/data/v1/<name>.bgm and checks its predictions on the stored
 * inputs against the ones that release made (other GEMM paths round
 * differently, hence a tolerance). */
static bgm_model *load_and_compare(const char *name)
{
    char path[128];
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *want = NULL, *got = NULL;
    const float *a, *b;
    int64_t i;
    snprintf(path, sizeof path, "test/data/v1/%s.bgm", name);
    BGM_ASSERT_OK(bgm_model_load(&m, path));
    snprintf(path, sizeof path, "test/data/v1/%s_x.npy", name);
    BGM_ASSERT_OK(bgm_npy_load(&x, path));
    snprintf(path, sizeof path, "test/data/v1/%s_y.npy", name);
    BGM_ASSERT_OK(bgm_npy_load(&want, path));
    BGM_ASSERT_OK(bgm_model_predict(&got, m, x, 0));
    ck_assert_int_eq(bgm_tensor_numel(got), bgm_tensor_numel(want));
    a = bgm_tensor_data(got);
    b = bgm_tensor_data(want);
    for (i = 0; i < bgm_tensor_numel(got); i++)
        ck_assert_double_le(fabs((double)a[i] - b[i]), 1e-5 + 1e-5 * fabs((double)b[i]));
    bgm_tensor_free(x);
    bgm_tensor_free(want);
    bgm_tensor_free(got);
    return m;
}

START_TEST(a_v1_cnn_file_loads_and_predicts_what_its_release_predicted)
{
    bgm_model *m = load_and_compare("cnn");
    ck_assert_int_eq(bgm_model_num_layers(m), 7);
    ck_assert_str_eq(bgm_model_class_name(m), "Sequential");
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 1)), "batch_normalization");
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "conv2d/kernel");
    ck_assert_int_eq(bgm_model_epochs_completed(m), 2);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(m)), 8);
    bgm_model_free(m);
}
END_TEST

START_TEST(a_v1_text_file_loads_and_predicts_what_its_release_predicted)
{
    bgm_model *m = load_and_compare("text");
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(m, 1)), "Bidirectional");
    ck_assert_int_eq(bgm_node_dtype(bgm_model_input(m, 0)), BGM_INT32);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model_file_v1(void)
{
    Suite *s = suite_create("model_file_v1");
    TCase *tc = tcase_create("v1");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, a_v1_cnn_file_loads_and_predicts_what_its_release_predicted);
    tcase_add_test(tc, a_v1_text_file_loads_and_predicts_what_its_release_predicted);
    suite_add_tcase(s, tc);
    return s;
}
