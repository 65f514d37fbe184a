/* Graph models in model files (format 2): round trips, resuming, bad files. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two inputs, a shared Dense, BatchNorm and Dropout, a merge and two outputs. */
static bgm_model *two_headed(void)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *a = NULL, *b = NULL, *ha, *hb, *h, *outs[2];
    bgm_layer *shared = bgm_layer_dense(6, BGM_ACT_RELU), *head;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&a, g, (int64_t[]){4}, 1, BGM_FLOAT32, "left"));
    BGM_ASSERT_OK(bgm_graph_input(&b, g, (int64_t[]){4}, 1, BGM_FLOAT32, "right"));
    BGM_ASSERT_OK(bgm_layer_set_name(shared, "trunk"));
    ha = bgm_test_call(shared, &a, 1);
    hb = bgm_test_call(shared, &b, 1);
    h = bgm_test_call(bgm_layer_concatenate(-1), (bgm_node *[]){ha, hb}, 2);
    h = bgm_test_call(bgm_layer_batch_norm(), &h, 1);
    h = bgm_test_call(bgm_layer_dropout(0.3f), &h, 1);
    head = bgm_layer_dense(3, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_trainable(head, 1));
    outs[0] = bgm_test_call(head, &h, 1);
    outs[1] = bgm_test_call(bgm_layer_reshape((int64_t[]){2, -1}, 2),
                   (bgm_node *[]){bgm_test_call(bgm_layer_subtract(), (bgm_node *[]){ha, hb}, 2)}, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, (bgm_node *[]){a, b}, 2, outs, 2, 21));
    bgm_graph_free(g);
    return m;
}

static void predict2(bgm_tensor **y, const bgm_model *m, bgm_tensor *const *xs)
{
    BGM_ASSERT_OK(bgm_model_predict_multi(y, 2, m, (const bgm_tensor *const *)xs, 2, 0));
}

static void assert_same_bits(const bgm_tensor *a, const bgm_tensor *b)
{
    ck_assert_int_eq(bgm_tensor_numel(a), bgm_tensor_numel(b));
    ck_assert_int_eq(memcmp(bgm_tensor_data(a), bgm_tensor_data(b), bgm_tensor_nbytes(a)), 0);
}

START_TEST(a_graph_model_round_trips_through_a_file)
{
    char path[512];
    bgm_model *m = two_headed(), *back = NULL;
    bgm_tensor *xs[2], *y[2], *z[2];
    bgm_archive *a = NULL;
    const bgm_tensor *t = NULL;
    int i;
    xs[0] = bgm_test_randn((int64_t[]){5, 4}, 2, 1);
    xs[1] = bgm_test_randn((int64_t[]){5, 4}, 2, 2);
    bgm_test_tmpdir_create("graph_file");
    snprintf(path, sizeof path, "%s", bgm_test_path("m.bgm"));
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_num_inputs(back), 2);
    ck_assert_str_eq(bgm_model_class_name(back), "Functional");
    ck_assert_int_eq(bgm_model_num_outputs(back), 2);
    ck_assert_str_eq(bgm_node_name(bgm_model_input(back, 1)), "right");
    ck_assert_int_eq(bgm_model_num_layers(back), bgm_model_num_layers(m));
    for (i = 0; i < bgm_model_num_layers(m); i++)
        ck_assert_str_eq(bgm_layer_name(bgm_model_layer(back, i)),
                         bgm_layer_name(bgm_model_layer(m, i)));
    ck_assert_int_eq(bgm_node_num_inputs(bgm_node_input(bgm_model_output(back, 1), 0)), 2);
    predict2(y, m, xs);
    predict2(z, back, xs);
    for (i = 0; i < 2; i++) {
        assert_same_bits(y[i], z[i]);
        bgm_tensor_free(y[i]);
        bgm_tensor_free(z[i]);
    }
    /* weights are named <layer>/<weight> in the file; the shared layer once */
    BGM_ASSERT_OK(bgm_archive_load(&a, path));
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "trunk/kernel"));
    ck_assert_int_eq(bgm_archive_num_tensors(a), bgm_model_num_weights(m));
    bgm_archive_free(a);
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_tensor_free(xs[0]);
    bgm_tensor_free(xs[1]);
    bgm_test_tmpdir_remove();
}
END_TEST

/* A residual regression model compiled with Adam. */
static bgm_model *residual_regressor(void)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *adam = NULL;
    bgm_node *in = NULL, *h, *out;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&in, g, (int64_t[]){6}, 1, BGM_FLOAT32, NULL));
    h = bgm_test_call(bgm_layer_dense(6, BGM_ACT_TANH), &in, 1);
    h = bgm_test_call(bgm_layer_dropout(0.2f), &h, 1);
    h = bgm_test_call(bgm_layer_add(), (bgm_node *[]){h, in}, 2);
    out = bgm_test_call(bgm_layer_dense(1, BGM_ACT_LINEAR), &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 5));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_optimizer_adam(&adam, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, adam, BGM_LOSS_MSE, 0, NULL, 0));
    return m;
}

/* Silent fit options for epochs [from, to) in batches of batch. */
static bgm_fit_options quiet(int from, int to, int64_t batch)
{
    bgm_fit_options fo;
    BGM_ASSERT_OK(bgm_fit_options_init(&fo, sizeof fo));
    fo.initial_epoch = from;
    fo.epochs = to;
    fo.verbose = 0;
    fo.batch_size = batch;
    return fo;
}

static void fit_epochs(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y, int from,
                       int to)
{
    bgm_fit_options fo = quiet(from, to, 8);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
}

START_TEST(a_graph_model_resumes_training_bit_for_bit)
{
    bgm_model *whole = residual_regressor(), *part = residual_regressor(), *back = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){40, 6}, 2, 3);
    bgm_tensor *y = bgm_test_randn((int64_t[]){40, 1}, 2, 4);
    int64_t n = bgm_model_num_params(whole);
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    fit_epochs(whole, x, y, 0, 4);
    fit_epochs(part, x, y, 0, 2);
    bgm_test_tmpdir_create("graph_resume");
    BGM_ASSERT_OK(bgm_model_save(part, bgm_test_path("ckpt.bgm"), BGM_ARCHIVE_COMPRESS));
    bgm_model_free(part);
    BGM_ASSERT_OK(bgm_model_load(&back, bgm_test_path("ckpt.bgm")));
    ck_assert_int_eq(bgm_model_epochs_completed(back), 2);
    fit_epochs(back, x, y, 2, 4);
    BGM_ASSERT_OK(bgm_model_get_weights(whole, a, n));
    BGM_ASSERT_OK(bgm_model_get_weights(back, b, n));
    ck_assert_int_eq(memcmp(a, b, (size_t)n * sizeof *a), 0);
    free(a);
    free(b);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(whole);
    bgm_model_free(back);
    bgm_test_tmpdir_remove();
}
END_TEST

static void expect_rejected(bgm_archive *a, bgm_status want, const char *needle)
{
    bgm_model *back = NULL;
    BGM_ASSERT_OK(bgm_archive_save(a, bgm_test_path("bad.bgm"), 0));
    bgm_archive_free(a);
    BGM_ASSERT_FAILS(bgm_model_load(&back, bgm_test_path("bad.bgm")), want, needle);
    ck_assert_ptr_null(back);
}

START_TEST(bad_graph_files_are_rejected_naming_the_node)
{
    char path[512];
    bgm_model *m = two_headed();
    bgm_archive *a;
    bgm_test_tmpdir_create("graph_bad");
    snprintf(path, sizeof path, "%s", bgm_test_path("m.bgm"));
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    /* a node taking a later node */
    a = bgm_test_archive_copy_without(path, "nodes.2.inputs");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "nodes.2.inputs", (int64_t[]){5}, 1));
    expect_rejected(a, BGM_E_FORMAT, "key 'nodes.2.inputs' names node 5; a node takes "
                                     "earlier nodes");
    /* a layer called on inputs it cannot take: Subtract on one input */
    a = bgm_test_archive_copy_without(path, "nodes.8.inputs");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "nodes.8.inputs", (int64_t[]){2}, 1));
    expect_rejected(a, BGM_E_FORMAT, "(Subtract) takes 2 inputs, got 1");
    /* a node of an unknown layer, an output out of range, an input's dtype */
    a = bgm_test_archive_copy_without(path, "nodes.2.layer");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "nodes.2.layer", 99));
    expect_rejected(a, BGM_E_FORMAT, "key 'nodes.2.layer' = 99 is outside");
    a = bgm_test_archive_copy_without(path, "model.outputs");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "model.outputs", (int64_t[]){6, 40}, 2));
    expect_rejected(a, BGM_E_FORMAT, "key 'model.outputs' names node 40");
    a = bgm_test_archive_copy_without(path, "nodes.0.dtype");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "nodes.0.dtype", "float16"));
    expect_rejected(a, BGM_E_FORMAT, "key 'nodes.0.dtype' = 'float16' is not a known value");
    /* an input no output needs; a layer no node calls */
    a = bgm_test_archive_copy_without(path, "model.inputs");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "model.inputs", (int64_t[]){0}, 1));
    expect_rejected(a, BGM_E_FORMAT, "the outputs need input 'right'");
    a = bgm_test_archive_copy_without(path, "model.num_layers");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "model.num_layers", 5));
    expect_rejected(a, BGM_E_FORMAT, "key 'nodes.8.layer' = 5 is outside");
    /* a weight of the wrong shape is found before anything is allocated */
    a = bgm_test_archive_copy_without(path, "trunk/bias");
    {
        bgm_tensor *t = bgm_test_randn((int64_t[]){7}, 1, 1);
        BGM_ASSERT_OK(bgm_archive_add_tensor(a, "trunk/bias", t));
        bgm_tensor_free(t);
    }
    expect_rejected(a, BGM_E_FORMAT, "tensor 'trunk/bias' is float32 (7,), but the layer's "
                                     "configuration needs float32 (6,)");
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(a_graph_model_exports_weights_by_name_to_safetensors)
{
    bgm_model *m = two_headed(), *other = two_headed();
    bgm_archive *a = NULL;
    const bgm_tensor *t = NULL;
    int64_t n = bgm_model_num_params(m), i;
    float *w = malloc((size_t)n * sizeof *w), *v = malloc((size_t)n * sizeof *v);
    int k = bgm_model_weight_index(m, "trunk/kernel");
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(bgm_model_weight_index(m, "trunk/nothing"), -1);
    ck_assert_int_eq(bgm_model_weight_index(m, "batch_normalization/moving_mean"), 4);
    for (i = 0; i < n; i++) /* different weights in the other model */
        w[i] = (float)i * 0.01f;
    BGM_ASSERT_OK(bgm_model_set_weights(other, w, n));
    bgm_test_tmpdir_create("graph_st");
    BGM_ASSERT_OK(bgm_model_save_weights_safetensors(m, bgm_test_path("w.safetensors")));
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&a, bgm_test_path("w.safetensors")));
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "trunk/kernel"));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 4); /* our layout: (in, units) */
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 6);
    bgm_archive_free(a);
    BGM_ASSERT_OK(bgm_model_load_weights_safetensors(other, bgm_test_path("w.safetensors")));
    BGM_ASSERT_OK(bgm_model_get_weights(m, w, n));
    BGM_ASSERT_OK(bgm_model_get_weights(other, v, n));
    ck_assert_int_eq(memcmp(w, v, (size_t)n * sizeof *w), 0);
    free(w);
    free(v);
    bgm_model_free(m);
    bgm_model_free(other);
    bgm_test_tmpdir_remove();
}
END_TEST

/* two_headed, compiled with a loss, a weight and metrics per output. */
static bgm_model *two_headed_compiled(void)
{
    bgm_model *m = two_headed();
    bgm_optimizer *adam = NULL;
    bgm_compile_options co;
    static const bgm_metric_kind acc = BGM_METRIC_ACCURACY, mae = BGM_METRIC_MAE;
    const bgm_metric_kind *metrics[2] = {&acc, &mae};
    BGM_ASSERT_OK(bgm_optimizer_adam(&adam, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_compile_options_init(&co, sizeof co));
    co.num_outputs = 2;
    co.output_losses = (bgm_loss_kind[]){BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                         BGM_LOSS_MSE};
    co.output_from_logits = (int[]){1, 0};
    co.loss_weights = (float[]){0.5f, 2.0f};
    co.output_metrics = metrics;
    co.output_num_metrics = (int[]){1, 1};
    BGM_ASSERT_OK(bgm_model_compile_v2(m, adam, &co));
    return m;
}

static void fit_multi(bgm_model *m, bgm_tensor *const *xs, bgm_tensor *const *ys, int from,
                      int to)
{
    bgm_fit_options fo = quiet(from, to, 4);
    BGM_ASSERT_OK(bgm_model_fit_multi(NULL, m, (const bgm_tensor *const *)xs, 2,
                                      (const bgm_tensor *const *)ys, 2, &fo));
}

START_TEST(a_multi_output_compile_state_survives_a_file)
{
    bgm_model *whole = two_headed_compiled(), *part = two_headed_compiled(), *back = NULL;
    bgm_tensor *xs[2], *ys[2];
    double r1[8], r2[8];
    int64_t i, n = bgm_model_num_params(whole);
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    int k;
    xs[0] = bgm_test_randn((int64_t[]){12, 4}, 2, 1);
    xs[1] = bgm_test_randn((int64_t[]){12, 4}, 2, 2);
    ys[1] = bgm_test_randn((int64_t[]){12, 2, 3}, 3, 3);
    BGM_ASSERT_OK(bgm_tensor_zeros(&ys[0], BGM_INT32, (int64_t[]){12}, 1));
    for (i = 0; i < 12; i++)
        ((int32_t *)bgm_tensor_data(ys[0]))[i] = (int32_t)(i % 3);
    fit_multi(whole, xs, ys, 0, 3);
    fit_multi(part, xs, ys, 0, 1);
    bgm_test_tmpdir_create("graph_compile");
    BGM_ASSERT_OK(bgm_model_save(part, bgm_test_path("m.bgm"), 0));
    bgm_model_free(part);
    BGM_ASSERT_OK(bgm_model_load(&back, bgm_test_path("m.bgm")));
    ck_assert_int_eq(bgm_model_num_metrics(back), bgm_model_num_metrics(whole));
    for (k = 0; k < bgm_model_num_metrics(whole); k++)
        ck_assert_str_eq(bgm_model_metric_name(back, k), bgm_model_metric_name(whole, k));
    ck_assert_str_eq(bgm_model_metric_name(back, 3), "dense_1_accuracy");
    fit_multi(back, xs, ys, 1, 3);
    BGM_ASSERT_OK(bgm_model_get_weights(whole, a, n));
    BGM_ASSERT_OK(bgm_model_get_weights(back, b, n));
    ck_assert_int_eq(memcmp(a, b, (size_t)n * sizeof *a), 0);
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r1, 8, whole, (const bgm_tensor *const *)xs, 2,
                                           (const bgm_tensor *const *)ys, 2, 0));
    BGM_ASSERT_OK(bgm_model_evaluate_multi(r2, 8, back, (const bgm_tensor *const *)xs, 2,
                                           (const bgm_tensor *const *)ys, 2, 0));
    for (k = 0; k < bgm_model_num_metrics(whole); k++)
        ck_assert_double_eq(r1[k], r2[k]);
    free(a);
    free(b);
    for (k = 0; k < 2; k++) {
        bgm_tensor_free(xs[k]);
        bgm_tensor_free(ys[k]);
    }
    bgm_model_free(whole);
    bgm_model_free(back);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_model_graph_file(void)
{
    Suite *s = suite_create("model_graph_file");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_graph_model_round_trips_through_a_file);
    tcase_add_test(tc, a_graph_model_resumes_training_bit_for_bit);
    tcase_add_test(tc, bad_graph_files_are_rejected_naming_the_node);
    tcase_add_test(tc, a_graph_model_exports_weights_by_name_to_safetensors);
    tcase_add_test(tc, a_multi_output_compile_state_survives_a_file);
    suite_add_tcase(s, tc);
    return s;
}
