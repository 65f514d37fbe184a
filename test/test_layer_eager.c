/* Layers called on concrete tensors (bgm_layer_apply): build at the first
 * call, reuse, gradients, weights kept when a model takes the layer, errors. */
#include "testutil.h"

#include <math.h>

static const int64_t X24[2] = {2, 4};

/* y = x kernel + bias by hand, for a Dense layer with its own weights. */
static void dense_by_hand(const bgm_layer *l, const bgm_tensor *x, float *y)
{
    const float *k = bgm_tensor_data(bgm_layer_weight(l, 0));
    const float *b = bgm_tensor_data(bgm_layer_weight(l, 1));
    const float *xd = bgm_tensor_data(x);
    int64_t n = bgm_tensor_shape(x)[0], i, j, c;
    for (i = 0; i < n; i++)
        for (j = 0; j < 3; j++) {
            double s = b[j];
            for (c = 0; c < 4; c++)
                s += (double)xd[i * 4 + c] * k[c * 3 + j];
            y[i * 3 + j] = (float)s;
        }
}

START_TEST(dense_call_builds_once_then_reuses_its_weights)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_randn(X24, 2, 1), *x5, *y = NULL, *kernel;
    float want[15];
    ck_assert_int_eq(bgm_layer_num_weights(l), 0);
    ck_assert_ptr_null(bgm_layer_weight(l, 0));
    BGM_ASSERT_OK(bgm_layer_set_bias_initializer(l, BGM_INIT_ONES));
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    ck_assert_int_eq(bgm_layer_num_weights(l), 2);
    ck_assert_str_eq(bgm_layer_name(l), "dense"); /* Keras' automatic name */
    ck_assert_str_eq(bgm_layer_weight_name(l, 0), "kernel");
    ck_assert_str_eq(bgm_layer_weight_name(l, 1), "bias");
    ck_assert_int_eq(bgm_layer_weight_trainable(l, 0), 1);
    ck_assert_int_eq(bgm_layer_num_params(l), 15);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_layer_weight(l, 1)))[2], 1.0f);
    kernel = bgm_layer_weight(l, 0);
    ck_assert_int_eq(bgm_tensor_shape(kernel)[0], 4);
    ck_assert_int_eq(bgm_tensor_shape(kernel)[1], 3);
    dense_by_hand(l, x, want);
    bgm_test_assert_close(y, (int64_t[]){2, 3}, 2, want, 1e-5);
    bgm_tensor_free(y);
    /* another batch size: the same weights */
    x5 = bgm_test_randn((int64_t[]){5, 4}, 2, 2);
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x5}, 1, 0));
    ck_assert_ptr_eq(bgm_layer_weight(l, 0), kernel);
    dense_by_hand(l, x5, want);
    bgm_test_assert_close(y, (int64_t[]){5, 3}, 2, want, 1e-5);
    /* built: the options are fixed */
    BGM_ASSERT_FAILS(bgm_layer_set_use_bias(l, 0), BGM_E_STATE, "called on tensors");
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(x5);
    bgm_layer_free(l);
}
END_TEST

/* f(inputs) = LSTM(inputs[0]) with the layer's own weights inputs[1..]. */
static bgm_status apply_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *inputs,
                           void *ctx)
{
    return bgm_layer_apply(out, 1, ctx, tape, (const bgm_tensor *const *)inputs, 1, 0);
}

static void gradcheck_layer(bgm_layer *l, bgm_tensor *x)
{
    bgm_tensor *inputs[8], *y = NULL;
    int k, n;
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    bgm_tensor_free(y);
    n = bgm_layer_num_weights(l);
    ck_assert_int_le(n, 7);
    inputs[0] = x;
    for (k = 0; k < n; k++)
        inputs[k + 1] = bgm_layer_weight(l, k);
    /* finite differences perturb the weights in place: the layer reads them */
    ck_assert_double_lt(bgm_test_gradcheck(apply_fn, inputs, n + 1, l, 1e-2), 2e-2);
}

START_TEST(gradients_reach_the_inputs_and_the_layer_weights)
{
    bgm_layer *d = bgm_layer_dense(3, BGM_ACT_TANH), *r = bgm_layer_lstm(3);
    bgm_tensor *x = bgm_test_randn(X24, 2, 3);
    bgm_tensor *s = bgm_test_randn((int64_t[]){2, 4, 2}, 3, 4);
    gradcheck_layer(d, x);
    gradcheck_layer(r, s);
    bgm_tensor_free(x);
    bgm_tensor_free(s);
    bgm_layer_free(d);
    bgm_layer_free(r);
}
END_TEST

START_TEST(a_tape_records_the_call_and_owns_the_output)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_randn(X24, 2, 5), *y = NULL, *loss = NULL, *g[2];
    bgm_tensor *src[2];
    bgm_tape *tape = NULL;
    const float *gk, *xd;
    int c, j;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, tape, (const bgm_tensor *[]){x}, 1, 1));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    src[0] = bgm_layer_weight(l, 0);
    src[1] = bgm_layer_weight(l, 1);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, src, 2, g));
    /* d sum(x K + b) / dK[c][j] = sum_i x[i][c]; / db[j] = batch size */
    gk = bgm_tensor_data(g[0]);
    xd = bgm_tensor_data(x);
    for (c = 0; c < 4; c++)
        for (j = 0; j < 3; j++)
            ck_assert_float_eq_tol(gk[c * 3 + j], xd[c] + xd[4 + c], 1e-5);
    for (j = 0; j < 3; j++)
        ck_assert_float_eq_tol(((float *)bgm_tensor_data(g[1]))[j], 2.0f, 1e-6);
    bgm_tape_free(tape); /* frees y */
    bgm_tensor_free(x);
    bgm_layer_free(l);
}
END_TEST

START_TEST(a_layer_built_on_tensors_keeps_its_weights_in_a_model)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_RELU);
    bgm_tensor *x = bgm_test_randn(X24, 2, 6), *y = NULL, *p = NULL, *kept = NULL;
    bgm_graph *g = NULL;
    bgm_node *in, *out;
    bgm_model *m = NULL;
    float *mk;
    int64_t i;
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    BGM_ASSERT_OK(bgm_tensor_clone(&kept, bgm_layer_weight(l, 0)));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){4}, 1, NULL);
    out = bgm_test_call(l, &in, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 99));
    /* the model starts from the layer's weights, whatever its seed */
    mk = bgm_tensor_data(bgm_model_weight(m, 0));
    for (i = 0; i < 12; i++)
        ck_assert_float_eq(mk[i], ((float *)bgm_tensor_data(kept))[i]);
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 2));
    bgm_test_assert_close(p, (int64_t[]){2, 3}, 2, bgm_tensor_data(y), 1e-6);
    /* held by the model: the layer's weights are the model's */
    ck_assert_ptr_eq(bgm_layer_weight(l, 0), bgm_model_weight(m, 0));
    for (i = 0; i < 12; i++)
        mk[i] = 0.25f;
    bgm_model_free(m);
    /* let go: the layer keeps the model's last values */
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_layer_weight(l, 0)))[7], 0.25f);
    bgm_tensor_free(y);
    bgm_tensor_free(p);
    bgm_tensor_free(kept);
    bgm_tensor_free(x);
    bgm_graph_free(g);
}
END_TEST

START_TEST(a_layer_called_on_nodes_then_on_tensors_gives_its_weights_to_the_model)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_randn(X24, 2, 11), *y = NULL, *p = NULL;
    bgm_graph *g = NULL;
    bgm_node *in, *out;
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){4}, 1, NULL);
    out = bgm_test_call(l, &in, 1);
    ck_assert_int_eq(bgm_layer_num_weights(l), 2);
    ck_assert_ptr_null(bgm_layer_weight(l, 0)); /* specs known, no weights yet */
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    ck_assert_ptr_nonnull(bgm_layer_weight(l, 0));
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 3));
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 2));
    bgm_test_assert_close(p, (int64_t[]){2, 3}, 2, bgm_tensor_data(y), 1e-6);
    bgm_model_free(m);
    bgm_graph_free(g);
    bgm_tensor_free(y);
    bgm_tensor_free(p);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(a_sequential_model_takes_an_eagerly_built_layer)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR), *bad = bgm_layer_dense(3, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_randn(X24, 2, 7), *y = NULL, *p = NULL;
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 5));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 2));
    bgm_test_assert_close(p, (int64_t[]){2, 3}, 2, bgm_tensor_data(y), 1e-6);
    bgm_model_free(m);
    /* a model whose input does not fit the weights refuses the layer */
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, bad, NULL, (const bgm_tensor *[]){x}, 1, 0));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){5}, 1, 5));
    BGM_ASSERT_FAILS(bgm_model_add(m, bad), BGM_E_SHAPE, "(None, 4)"); /* frees bad */
    bgm_model_free(m);
    bgm_tensor_free(y);
    bgm_tensor_free(p);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(bad_calls_get_clear_errors)
{
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR), *add = bgm_layer_add();
    bgm_tensor *x = bgm_test_randn(X24, 2, 8), *x3 = bgm_test_randn((int64_t[]){2, 3}, 2, 9);
    bgm_tensor *ids = NULL, *y = NULL, *ys[2];
    BGM_ASSERT_OK(bgm_tensor_zeros(&ids, BGM_INT32, X24, 2));
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){ids}, 1, 0),
                     BGM_E_DTYPE, "int32");
    ck_assert_int_eq(bgm_layer_num_weights(l), 0); /* a failed first call builds nothing */
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x, x}, 2, 0),
                     BGM_E_INVALID, "takes 1 input, got 2");
    BGM_ASSERT_FAILS(bgm_layer_apply(ys, 2, l, NULL, (const bgm_tensor *[]){x}, 1, 0),
                     BGM_E_INVALID, "makes 1 output, nout is 2");
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, l, NULL, NULL, 1, 0), BGM_E_INVALID, "NULL");
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, NULL, NULL, (const bgm_tensor *[]){x}, 1, 0),
                     BGM_E_INVALID, "NULL");
    BGM_ASSERT_OK(bgm_layer_set_name(l, "proj"));
    BGM_ASSERT_OK(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x}, 1, 0));
    bgm_tensor_free(y);
    y = NULL;
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, l, NULL, (const bgm_tensor *[]){x3}, 1, 0),
                     BGM_E_SHAPE, "layer 'proj' (Dense): reused on input (None, 3), but its "
                     "weights were built for input (None, 4)");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, add, NULL, (const bgm_tensor *[]){x}, 1, 0),
                     BGM_E_INVALID, "takes 2 or more inputs, got 1");
    BGM_ASSERT_FAILS(bgm_layer_apply(&y, 1, add, NULL, (const bgm_tensor *[]){x, x3}, 2, 0),
                     BGM_E_SHAPE, "Add");
    bgm_tensor_free(ids);
    bgm_tensor_free(x);
    bgm_tensor_free(x3);
    bgm_layer_free(l);
    bgm_layer_free(add);
}
END_TEST

Suite *suite_layer_eager(void)
{
    Suite *s = suite_create("layer_eager");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, dense_call_builds_once_then_reuses_its_weights);
    tcase_add_test(tc, gradients_reach_the_inputs_and_the_layer_weights);
    tcase_add_test(tc, a_tape_records_the_call_and_owns_the_output);
    tcase_add_test(tc, a_layer_built_on_tensors_keeps_its_weights_in_a_model);
    tcase_add_test(tc, a_layer_called_on_nodes_then_on_tensors_gives_its_weights_to_the_model);
    tcase_add_test(tc, a_sequential_model_takes_an_eagerly_built_layer);
    tcase_add_test(tc, bad_calls_get_clear_errors);
    suite_add_tcase(s, tc);
    return s;
}
