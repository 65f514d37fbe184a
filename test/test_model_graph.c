/* Graph models: layer calls on nodes, shared layers, several inputs and outputs, merges. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bgm_node *call1(bgm_layer *l, bgm_node *x)
{
    return bgm_test_call(l, &x, 1);
}

static bgm_node *call2(bgm_layer *l, bgm_node *a, bgm_node *b)
{
    bgm_node *y = NULL;
    bgm_node *in[2];
    in[0] = a;
    in[1] = b;
    BGM_ASSERT_OK(bgm_layer_call(&y, l, in, 2));
    return y;
}

static bgm_layer *same_conv(int64_t filters, int64_t k, bgm_activation act)
{
    bgm_layer *l = bgm_layer_conv2d(filters, k, act);
    BGM_ASSERT_OK(bgm_layer_set_padding(l, BGM_PADDING_SAME));
    return l;
}

/* ---- building ------------------------------------------------------------- */

START_TEST(residual_block_adds_the_input_to_the_block_output)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL, *conv = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){3, 6, 6, 4}, 4, 7), *y = NULL, *h = NULL;
    bgm_node *in, *out;
    int64_t i;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){6, 6, 4}, 3, "image");
    out = call1(same_conv(4, 3, BGM_ACT_LINEAR), in);
    out = call2(bgm_layer_add(), out, in);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 5));
    bgm_graph_free(g); /* the model keeps what it needs */
    ck_assert_int_eq(bgm_model_num_layers(m), 2);
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(m, 1)), "Add");
    ck_assert_str_eq(bgm_node_name(bgm_model_input(m, 0)), "image");
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 2));
    /* the same convolution alone, with the same weights */
    BGM_ASSERT_OK(bgm_model_create(&conv, (int64_t[]){6, 6, 4}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(conv, same_conv(4, 3, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_set_weights(conv, bgm_tensor_data(bgm_model_weight(m, 0)),
                                        bgm_model_num_params(m)));
    BGM_ASSERT_OK(bgm_model_predict(&h, conv, x, 0));
    for (i = 0; i < bgm_tensor_numel(y); i++)
        ck_assert_float_eq_tol(((float *)bgm_tensor_data(y))[i],
                               ((float *)bgm_tensor_data(h))[i] +
                                   ((float *)bgm_tensor_data(x))[i], 1e-5f);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(h);
    bgm_model_free(conv);
    bgm_model_free(m);
}
END_TEST

START_TEST(automatic_names_are_unique_and_layers_are_found_by_name)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *a, *b, *ha, *hb, *h, *out;
    bgm_layer *named = bgm_layer_dense(3, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_graph_create(&g));
    a = bgm_test_input(g, (int64_t[]){4}, 1, NULL);
    b = bgm_test_input(g, (int64_t[]){4}, 1, NULL);
    ck_assert_str_eq(bgm_node_name(a), "input_1");
    ck_assert_str_eq(bgm_node_name(b), "input_2");
    ha = call1(bgm_layer_dense(2, BGM_ACT_RELU), a);
    hb = call1(bgm_layer_dense(2, BGM_ACT_RELU), b);
    h = call2(bgm_layer_concatenate(-1), ha, hb);
    BGM_ASSERT_OK(bgm_layer_set_name(named, "head"));
    out = call1(named, h);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, (bgm_node *[]){a, b}, 2, &out, 1, 1));
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 0)), "dense");
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 1)), "dense_1");
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 2)), "concatenate");
    ck_assert_ptr_eq(bgm_model_get_layer(m, "head"), named);
    ck_assert_ptr_null(bgm_model_get_layer(m, "nothing"));
    ck_assert_ptr_eq(bgm_node_layer(out), named);
    ck_assert_int_eq(bgm_node_num_inputs(h), 2);
    ck_assert_str_eq(bgm_node_name(bgm_node_input(h, 1)), "dense_1");
    ck_assert_int_eq(bgm_node_shape(h, NULL)[0], 4);
    ck_assert_str_eq(bgm_model_weight_name(m, 4), "head/kernel");
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

START_TEST(layers_not_needed_by_the_outputs_are_not_part_of_the_model)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *kept;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){4}, 1, NULL);
    call1(bgm_layer_dense(100, BGM_ACT_LINEAR), in); /* a dead branch */
    kept = call1(bgm_layer_dense(2, BGM_ACT_LINEAR), in);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &kept, 1, 1));
    ck_assert_int_eq(bgm_model_num_layers(m), 1);
    ck_assert_int_eq(bgm_model_num_params(m), 4 * 2 + 2);
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 0)), "dense_1");
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

/* ---- bad graphs ------------------------------------------------------------- */

START_TEST(bad_graphs_fail_naming_the_layer_or_node)
{
    bgm_graph *g = NULL, *other = NULL;
    bgm_model *m = NULL, *first = NULL;
    bgm_node *a, *b, *c, *x, *y, *z, *foreign, *out = NULL;
    bgm_layer *shared = bgm_layer_dense(3, BGM_ACT_LINEAR), *dup;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_create(&other));
    a = bgm_test_input(g, (int64_t[]){4, 4, 8}, 3, "a");
    b = bgm_test_input(g, (int64_t[]){4, 4, 16}, 3, "b");
    c = bgm_test_input(g, (int64_t[]){5}, 1, "c");
    foreign = bgm_test_input(other, (int64_t[]){4, 4, 8}, 3, "f");
    BGM_ASSERT_FAILS(bgm_graph_input(&x, g, (int64_t[]){2}, 1, BGM_FLOAT32, "a"),
                     BGM_E_INVALID, "already has an input or layer named 'a'");
    /* incompatible merge shapes name the layer and both shapes */
    x = call1(same_conv(8, 1, BGM_ACT_RELU), a);
    y = call1(same_conv(16, 1, BGM_ACT_RELU), b);
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_add(), (bgm_node *[]){x, y}, 2),
                     BGM_E_SHAPE, "layer 'add' (Add): input 1 (None, 4, 4, 16) does not "
                     "match input 0 (None, 4, 4, 8)");
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "'conv2d_1'"));
    ck_assert_ptr_null(out);
    /* the wrong number of inputs */
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_add(), &x, 1), BGM_E_INVALID,
                     "(Add) takes 2 or more inputs, got 1");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_dense(2, BGM_ACT_LINEAR),
                                    (bgm_node *[]){x, x}, 2),
                     BGM_E_INVALID, "(Dense) takes 1 input, got 2");
    /* a node of another graph */
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_add(), (bgm_node *[]){x, foreign}, 2),
                     BGM_E_INVALID, "inputs[1] belongs to another graph");
    /* a layer reused on an input its weights do not fit */
    z = call1(shared, c);
    BGM_ASSERT_FAILS(bgm_layer_call(&out, shared, &x, 1), BGM_E_SHAPE,
                     "layer 'dense' (Dense): reused on input (None, 4, 4, 8), but its "
                     "weights were built for input (None, 5)");
    /* an output that needs an input not given, an input no output needs */
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, &a, 1, &z, 1, 1), BGM_E_INVALID,
                     "the outputs need input 'c', which is not among the model's inputs");
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, (bgm_node *[]){c, a}, 2, &z, 1, 1),
                     BGM_E_INVALID, "input 'a' is not needed by any output");
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, &x, 1, &z, 1, 1), BGM_E_INVALID,
                     "inputs[0] is the output of layer 'conv2d', not an input node");
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, &foreign, 1, &z, 1, 1), BGM_E_INVALID,
                     "belongs to another graph");
    /* two layers with one name */
    dup = bgm_layer_dense(2, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_name(dup, "dense"));
    y = call1(dup, z);
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, &c, 1, &y, 1, 1), BGM_E_INVALID,
                     "two layers are named 'dense'");
    ck_assert_ptr_null(m);
    /* a layer is part of one model at a time */
    BGM_ASSERT_OK(bgm_model_create_graph(&first, &c, 1, &z, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, &c, 1, &z, 1, 1), BGM_E_STATE,
                     "layer 'dense' (Dense) belongs to another model");
    BGM_ASSERT_FAILS(bgm_layer_set_use_bias(shared, 0), BGM_E_STATE, "belongs to a model");
    BGM_ASSERT_FAILS(bgm_model_add(first, bgm_layer_dense(1, BGM_ACT_LINEAR)), BGM_E_STATE,
                     "built from graph nodes");
    bgm_model_free(first);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &c, 1, &z, 1, 1)); /* free again */
    bgm_model_free(m);
    /* a NULL layer keeps its constructor's message; NULL nodes are refused */
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_dense(0, BGM_ACT_LINEAR), &c, 1),
                     BGM_E_INVALID, "units = 0");
    BGM_ASSERT_FAILS(bgm_layer_call(&out, bgm_layer_add(), (bgm_node *[]){c, NULL}, 2),
                     BGM_E_INVALID, "inputs[1] is NULL");
    BGM_ASSERT_FAILS(bgm_model_create_graph(&m, NULL, 0, &z, 1, 1), BGM_E_INVALID,
                     "at least one inputs node");
    bgm_graph_free(other);
    bgm_graph_free(g); /* everything built so far, failed calls included, is freed */
}
END_TEST

/* ---- merges and reshapes ---------------------------------------------------- */

/* A model of one merge layer on two (2, 3) inputs, predicted on a and b. */
static bgm_tensor *merged(bgm_layer *layer, const float *a, const float *b)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_tensor *xs[2], *y = NULL;
    bgm_node *in[2], *out;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in[0] = bgm_test_input(g, (int64_t[]){3}, 1, NULL);
    in[1] = bgm_test_input(g, (int64_t[]){3}, 1, NULL);
    out = call2(layer, in[0], in[1]);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, in, 2, &out, 1, 1));
    xs[0] = bgm_test_tensor((int64_t[]){2, 3}, 2, a);
    xs[1] = bgm_test_tensor((int64_t[]){2, 3}, 2, b);
    BGM_ASSERT_OK(bgm_model_predict_multi(&y, 1, m, (const bgm_tensor *const *)xs, 2, 0));
    bgm_tensor_free(xs[0]);
    bgm_tensor_free(xs[1]);
    bgm_model_free(m);
    bgm_graph_free(g);
    return y;
}

START_TEST(merge_layers_compute_what_keras_computes)
{
    static const float a[6] = {1, -2, 3, 4, 0, -6}, b[6] = {2, 2, -1, 0.5f, -3, 4};
    struct {
        bgm_layer *layer;
        float want[12];
        int64_t cols;
    } cases[7];
    int i;
    cases[0].layer = bgm_layer_add();
    cases[1].layer = bgm_layer_subtract();
    cases[2].layer = bgm_layer_multiply();
    cases[3].layer = bgm_layer_average();
    cases[4].layer = bgm_layer_maximum();
    cases[5].layer = bgm_layer_minimum();
    cases[6].layer = bgm_layer_concatenate(-1);
    for (i = 0; i < 6; i++) {
        float *w = cases[i].want;
        int k;
        cases[i].cols = 3;
        for (k = 0; k < 6; k++)
            w[k] = i == 0 ? a[k] + b[k] : i == 1 ? a[k] - b[k] : i == 2 ? a[k] * b[k]
                 : i == 3 ? (a[k] + b[k]) / 2 : i == 4 ? fmaxf(a[k], b[k]) : fminf(a[k], b[k]);
    }
    cases[6].cols = 6;
    memcpy(cases[6].want, (float[]){1, -2, 3, 2, 2, -1, 4, 0, -6, 0.5f, -3, 4},
           sizeof cases[6].want);
    for (i = 0; i < 7; i++) {
        bgm_tensor *y = merged(cases[i].layer, a, b);
        bgm_test_assert_close(y, (int64_t[]){2, cases[i].cols}, 2, cases[i].want, 1e-6);
        bgm_tensor_free(y);
    }
}
END_TEST

START_TEST(reshape_permute_and_zero_padding_move_values_as_keras)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *outs[3];
    bgm_tensor *x = bgm_test_arange((int64_t[]){1, 2, 3, 1}, 4, 1.0f), *y[3] = {NULL};
    int64_t r, c;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){2, 3, 1}, 3, NULL);
    outs[0] = call1(bgm_layer_reshape((int64_t[]){3, -1}, 2), in);
    outs[1] = call1(bgm_layer_permute((int[]){2, 1, 3}, 3), in);
    outs[2] = call1(bgm_layer_zero_padding2d(1, 0, 0, 2), in);
    ck_assert_int_eq(bgm_node_shape(outs[0], NULL)[1], 2);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, outs, 3, 1));
    BGM_ASSERT_OK(bgm_model_predict_multi(y, 3, m, (const bgm_tensor *const *)&x, 1, 0));
    bgm_test_assert_close(y[0], (int64_t[]){1, 3, 2}, 3, (float[]){1, 2, 3, 4, 5, 6}, 0);
    bgm_test_assert_close(y[1], (int64_t[]){1, 3, 2, 1}, 4, (float[]){1, 4, 2, 5, 3, 6}, 0);
    for (r = 0; r < 3; r++)
        for (c = 0; c < 5; c++) {
            float want = r >= 1 && c < 3 ? (float)((r - 1) * 3 + c + 1) : 0.0f;
            ck_assert_float_eq(((float *)bgm_tensor_data(y[2]))[r * 5 + c], want);
        }
    BGM_ASSERT_FAILS(bgm_layer_call(&outs[0], bgm_layer_reshape((int64_t[]){4}, 1), &in, 1),
                     BGM_E_SHAPE, "cannot reshape input (2, 3, 1) (6 values per sample) to (4,)");
    ck_assert_ptr_null(bgm_layer_permute((int[]){1, 1}, 2));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "permutation"));
    ck_assert_ptr_null(bgm_layer_zero_padding2d(-1, 0, 0, 0));
    for (r = 0; r < 3; r++)
        bgm_tensor_free(y[r]);
    bgm_tensor_free(x);
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

/* ---- execution ---------------------------------------------------------------- */

/* A graph with branches, views (Flatten, Reshape), an identity (Dropout at
 * inference), a value used three times and two outputs. */
static bgm_model *branchy(void)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *c, *flat, *d1, *d2, *sum, *side, *outs[2];
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){5, 5, 2}, 3, NULL);
    c = call1(same_conv(3, 3, BGM_ACT_RELU), in);
    flat = call1(bgm_layer_flatten(), c);
    d1 = call1(bgm_layer_dense(6, BGM_ACT_TANH), flat);
    d1 = call1(bgm_layer_dropout(0.5f), d1);
    d2 = call1(bgm_layer_reshape((int64_t[]){75}, 1), c);
    d2 = call1(bgm_layer_dense(6, BGM_ACT_LINEAR), d2);
    sum = call2(bgm_layer_add(), d1, d2);
    outs[0] = call2(bgm_layer_multiply(), sum, d1);
    side = call1(bgm_layer_dense(2, BGM_ACT_LINEAR), flat);
    outs[1] = call2(bgm_layer_concatenate(1), sum, side);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, outs, 2, 3));
    bgm_graph_free(g);
    return m;
}

START_TEST(predict_frees_activations_early_and_equals_forward_on_one_tape)
{
    bgm_model *m = branchy();
    bgm_tensor *x = bgm_test_randn((int64_t[]){7, 5, 5, 2}, 4, 3), *p[2] = {NULL, NULL};
    bgm_tensor *f[2] = {NULL, NULL};
    bgm_tape *tape = NULL;
    int k;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_predict_multi(p, 2, m, (const bgm_tensor *const *)&x, 1, 3));
    BGM_ASSERT_OK(bgm_model_forward_multi(f, 2, m, tape, (const bgm_tensor *const *)&x, 1, 0));
    for (k = 0; k < 2; k++)
        bgm_test_assert_close(p[k], bgm_tensor_shape(f[k]), bgm_tensor_ndim(f[k]),
                              bgm_tensor_data(f[k]), 1e-6);
    bgm_tensor_free(p[0]);
    BGM_ASSERT_FAILS(bgm_model_predict(&p[0], m, x, 0), BGM_E_INVALID,
                     "the model has 1 input and 2 outputs, got 1 and 1");
    bgm_tensor_free(p[1]);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* The Siamese model's output for its weights w: |dense(a) - dense(b)| summed
 * by a last Dense (the weights are the model's views). */
typedef struct siamese {
    bgm_model *m;
    bgm_tensor *xs[2];
} siamese;

static bgm_status siamese_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *w,
                             void *ctx)
{
    siamese *s = ctx;
    bgm_tape *own = NULL;
    bgm_tensor *y = NULL;
    bgm_status st;
    if (!tape && bgm_tape_create(&own) != BGM_OK)
        return BGM_E_NOMEM;
    st = bgm_model_forward_multi(&y, 1, s->m, tape ? tape : own,
                                 (const bgm_tensor *const *)s->xs, 2, 0);
    if (st == BGM_OK && own)
        st = bgm_tensor_clone(out, y);
    else if (st == BGM_OK)
        *out = y;
    bgm_tape_free(own);
    return st;
}

START_TEST(a_shared_layer_gets_the_gradients_of_both_calls)
{
    bgm_graph *g = NULL;
    bgm_node *a, *b, *ha, *hb, *out;
    bgm_layer *shared = bgm_layer_dense(3, BGM_ACT_TANH);
    bgm_tensor *const *params;
    siamese s;
    int count;
    double err;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    a = bgm_test_input(g, (int64_t[]){4}, 1, "left");
    b = bgm_test_input(g, (int64_t[]){4}, 1, "right");
    ha = call1(shared, a);
    hb = call1(shared, b);
    out = call1(bgm_layer_dense(1, BGM_ACT_LINEAR), call2(bgm_layer_subtract(), ha, hb));
    BGM_ASSERT_OK(bgm_model_create_graph(&s.m, (bgm_node *[]){a, b}, 2, &out, 1, 9));
    bgm_graph_free(g);
    ck_assert_int_eq(bgm_model_num_layers(s.m), 3);
    ck_assert_int_eq(bgm_model_num_params(s.m), 4 * 3 + 3 + 3 + 1); /* shared once */
    s.xs[0] = bgm_test_randn((int64_t[]){5, 4}, 2, 1);
    s.xs[1] = bgm_test_randn((int64_t[]){5, 4}, 2, 2);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, s.m));
    ck_assert_int_eq(count, 4);
    err = bgm_test_gradcheck(siamese_fn, params, count, &s, 1e-3);
    ck_assert_double_lt(err, 2e-3);
    bgm_tensor_free(s.xs[0]);
    bgm_tensor_free(s.xs[1]);
    bgm_model_free(s.m);
}
END_TEST

static double fit_loss(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y, int epochs)
{
    bgm_fit_options fo;
    bgm_history *h = NULL;
    double loss;
    BGM_ASSERT_OK(bgm_fit_options_init(&fo, sizeof fo));
    fo.epochs = epochs;
    fo.verbose = 0;
    fo.batch_size = 16;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &fo));
    loss = bgm_history_values(h, "loss")[epochs - 1];
    bgm_history_free(h);
    return loss;
}

START_TEST(a_residual_model_trains_with_fit)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *adam = NULL;
    bgm_node *in, *h, *out;
    bgm_tensor *x = bgm_test_randn((int64_t[]){64, 8}, 2, 4), *y = NULL;
    double first, last, res[2];
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){64, 1}, 2));
    for (i = 0; i < 64; i++) /* a target the skip path alone cannot give */
        ((float *)bgm_tensor_data(y))[i] = ((float *)bgm_tensor_data(x))[i * 8] *
                                           ((float *)bgm_tensor_data(x))[i * 8 + 1];
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){8}, 1, NULL);
    h = call1(bgm_layer_dense(32, BGM_ACT_RELU), in);
    h = call1(bgm_layer_dense(8, BGM_ACT_LINEAR), h);
    h = call2(bgm_layer_add(), h, in);
    h = call1(bgm_layer_activation(BGM_ACT_RELU), h);
    out = call1(bgm_layer_dense(1, BGM_ACT_LINEAR), h);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 11));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_optimizer_adam(&adam, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, adam, BGM_LOSS_MSE, 0, NULL, 0));
    first = fit_loss(m, x, y, 1);
    last = fit_loss(m, x, y, 40);
    ck_assert_double_lt(last, 0.25 * first);
    BGM_ASSERT_OK(bgm_model_evaluate(res, 2, m, x, y, 0));
    ck_assert_double_lt(res[0], 0.25 * first);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(relu_in_place_keeps_values_other_readers_see_and_exact_gradients)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *h, *d, *r, *outs[2];
    bgm_tensor *x = bgm_test_randn((int64_t[]){4, 6, 6, 2}, 4, 5), *y[2] = {NULL, NULL};
    bgm_tape *tape = NULL;
    bgm_model *two = NULL;
    int64_t i, negatives = 0;
    int count;
    /* h feeds a ReLU through an identity (Dropout at rate 0) and is also an
     * output: the ReLU must not overwrite it */
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){6, 6, 2}, 3, NULL);
    h = call1(same_conv(3, 3, BGM_ACT_LINEAR), in);
    d = call1(bgm_layer_dropout(0.0f), h);
    r = call1(bgm_layer_activation(BGM_ACT_RELU), d);
    outs[0] = r;
    outs[1] = h;
    BGM_ASSERT_OK(bgm_model_create_graph(&two, &in, 1, outs, 2, 3));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(y, 2, two, tape, (const bgm_tensor *const *)&x, 1,
                                          1));
    for (i = 0; i < bgm_tensor_numel(y[1]); i++) {
        float a = ((float *)bgm_tensor_data(y[0]))[i], b = ((float *)bgm_tensor_data(y[1]))[i];
        negatives += b < 0.0f;
        ck_assert_float_eq(a, b > 0.0f ? b : 0.0f);
    }
    ck_assert_int_gt(negatives, 10);
    bgm_tape_free(tape);
    bgm_model_free(two);
    bgm_graph_free(g);
    /* Conv+ReLU fused, BatchNorm then an Activation ReLU that runs over the
     * BatchNorm's output: the same gradients, bit for bit, as the same ops
     * recorded one by one (where every ReLU writes new memory) */
    {
        bgm_model *m = NULL;
        bgm_tape *ta = NULL, *tb = NULL;
        bgm_tensor *w = bgm_test_randn((int64_t[]){4, 2}, 2, 9), *ya, *yb, *t, *la, *lb;
        bgm_tensor *ga[6], *gb[6];
        bgm_tensor *const *p;
        int k;
        BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6, 6, 2}, 3, 7));
        BGM_ASSERT_OK(bgm_model_add(m, same_conv(3, 3, BGM_ACT_RELU)));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_activation(BGM_ACT_RELU)));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
        BGM_ASSERT_OK(bgm_model_trainable_params(&p, &count, m));
        ck_assert_int_eq(count, 6);
        BGM_ASSERT_OK(bgm_tape_create(&ta));
        BGM_ASSERT_OK(bgm_model_forward(&ya, m, ta, x, 0));
        BGM_ASSERT_OK(bgm_op_mul(&la, ta, ya, w));
        BGM_ASSERT_OK(bgm_op_sum_all(&la, ta, la));
        BGM_ASSERT_OK(bgm_tape_gradient(ta, la, p, 6, ga));
        BGM_ASSERT_OK(bgm_tape_create(&tb));
        for (k = 0; k < 6; k++)
            BGM_ASSERT_OK(bgm_tape_watch(tb, p[k]));
        BGM_ASSERT_OK(bgm_op_conv2d(&t, tb, x, p[0], p[1], 1, 1, BGM_PADDING_SAME));
        BGM_ASSERT_OK(bgm_op_relu(&t, tb, t));
        BGM_ASSERT_OK(bgm_op_batch_norm(&t, tb, t, p[2], p[3], bgm_model_weight(m, 4),
                                        bgm_model_weight(m, 5), 0.99f, 1e-3f, 0));
        BGM_ASSERT_OK(bgm_op_relu(&t, tb, t));
        BGM_ASSERT_OK(bgm_op_reshape(&t, tb, t, (int64_t[]){4, 108}, 2));
        BGM_ASSERT_OK(bgm_op_matmul(&yb, tb, t, p[4]));
        BGM_ASSERT_OK(bgm_op_add(&yb, tb, yb, p[5]));
        BGM_ASSERT_OK(bgm_op_mul(&lb, tb, yb, w));
        BGM_ASSERT_OK(bgm_op_sum_all(&lb, tb, lb));
        BGM_ASSERT_OK(bgm_tape_gradient(tb, lb, p, 6, gb));
        for (k = 0; k < 6; k++)
            ck_assert_int_eq(memcmp(bgm_tensor_data(ga[k]), bgm_tensor_data(gb[k]),
                                    bgm_tensor_nbytes(ga[k])), 0);
        ck_assert_float_eq(*(float *)bgm_tensor_data(la), *(float *)bgm_tensor_data(lb));
        bgm_tape_free(ta);
        bgm_tape_free(tb);
        bgm_tensor_free(w);
        bgm_model_free(m);
    }
    bgm_tensor_free(x);
}
END_TEST

START_TEST(summary_of_a_graph_has_keras_connected_to_column)
{
    static const char want[] =
        "Model: \"model\"\n"
        "__________________________________________________________________________________________________\n"
        "Layer (type)                    Output Shape         Param #     Connected to                     \n"
        "==================================================================================================\n"
        "image (InputLayer)              [(None, 8, 8, 1)]    0                                            \n"
        "__________________________________________________________________________________________________\n"
        "conv2d (Conv2D)                 (None, 8, 8, 4)      40          image[0][0]                      \n"
        "__________________________________________________________________________________________________\n"
        "conv2d_1 (Conv2D)               (None, 8, 8, 4)      148         conv2d[0][0]                     \n"
        "__________________________________________________________________________________________________\n"
        "add (Add)                       (None, 8, 8, 4)      0           conv2d[0][0]                     \n"
        "                                                                 conv2d_1[0][0]                   \n"
        "__________________________________________________________________________________________________\n"
        "global_average_pooling2d (Globa (None, 4)            0           add[0][0]                        \n"
        "__________________________________________________________________________________________________\n"
        "dense (Dense)                   (None, 4)            20          global_average_pooling2d[0][0]   \n"
        "                                                                 dense[0][0]                      \n"
        "==================================================================================================\n"
        "Total params: 208\n"
        "Trainable params: 208\n"
        "Non-trainable params: 0\n"
        "__________________________________________________________________________________________________\n";
    char buf[4096];
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_layer *dense = bgm_layer_dense(4, BGM_ACT_LINEAR);
    bgm_node *in = NULL, *x, *c;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&in, g, (int64_t[]){8, 8, 1}, 3, BGM_FLOAT32, "image"));
    c = call1(same_conv(4, 3, BGM_ACT_RELU), in);
    /* out may be one of the inputs: x = layer(x) */
    BGM_ASSERT_OK(bgm_layer_call(&x, same_conv(4, 3, BGM_ACT_RELU), &c, 1));
    BGM_ASSERT_OK(bgm_layer_call(&x, bgm_layer_add(), (bgm_node *[]){c, x}, 2));
    BGM_ASSERT_OK(bgm_layer_call(&x, bgm_layer_global_avg_pool2d(), &x, 1));
    BGM_ASSERT_OK(bgm_layer_call(&x, dense, &x, 1));
    BGM_ASSERT_OK(bgm_layer_call(&x, dense, &x, 1)); /* shared: its row lists both calls */
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &x, 1, 1));
    BGM_ASSERT_OK(bgm_model_summary_string(buf, sizeof buf, NULL, m));
    ck_assert_str_eq(buf, want);
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

/* Merge layers combine padding masks as Keras does: a step is masked where
 * any input's is. Two id inputs (mask_zero embeddings) added, then masked
 * pooling: the mean runs over the steps where both ids are nonzero. */
START_TEST(merge_layers_and_their_inputs_masks)
{
    int32_t a_ids[5] = {3, 0, 2, 4, 0}, b_ids[5] = {1, 2, 0, 3, 0};
    bgm_graph *g = NULL;
    bgm_node *in[2], *e[2], *sum, *pooled;
    bgm_model *m = NULL;
    bgm_tensor *xa = NULL, *xb = NULL, *y = NULL;
    bgm_layer *emb[2];
    const float *ta, *tb;
    float want[4];
    int i, k;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    for (i = 0; i < 2; i++) {
        BGM_ASSERT_OK(bgm_graph_input(&in[i], g, (int64_t[]){5}, 1, BGM_INT32, NULL));
        emb[i] = bgm_layer_embedding(6, 4);
        BGM_ASSERT_OK(bgm_layer_set_mask_zero(emb[i], 1));
        e[i] = bgm_test_call(emb[i], &in[i], 1);
    }
    sum = bgm_test_call(bgm_layer_add(), e, 2);
    pooled = bgm_test_call(bgm_layer_global_avg_pool1d(), &sum, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, in, 2, &pooled, 1, 3));
    BGM_ASSERT_OK(bgm_tensor_from_data(&xa, BGM_INT32, (int64_t[]){1, 5}, 2, a_ids));
    BGM_ASSERT_OK(bgm_tensor_from_data(&xb, BGM_INT32, (int64_t[]){1, 5}, 2, b_ids));
    BGM_ASSERT_OK(bgm_model_predict_multi(&y, 1, m, (const bgm_tensor *[]){xa, xb}, 2, 0));
    ta = bgm_tensor_data(bgm_model_weight(m, 0));
    tb = bgm_tensor_data(bgm_model_weight(m, 1));
    for (k = 0; k < 4; k++) /* steps 0 and 3 have both ids nonzero */
        want[k] = (ta[3 * 4 + k] + tb[1 * 4 + k] + ta[4 * 4 + k] + tb[3 * 4 + k]) / 2;
    bgm_test_assert_close(y, (int64_t[]){1, 4}, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(xa);
    bgm_tensor_free(xb);
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

Suite *suite_model_graph(void)
{
    Suite *s = suite_create("model_graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, residual_block_adds_the_input_to_the_block_output);
    tcase_add_test(tc, automatic_names_are_unique_and_layers_are_found_by_name);
    tcase_add_test(tc, layers_not_needed_by_the_outputs_are_not_part_of_the_model);
    tcase_add_test(tc, bad_graphs_fail_naming_the_layer_or_node);
    tcase_add_test(tc, merge_layers_compute_what_keras_computes);
    tcase_add_test(tc, merge_layers_and_their_inputs_masks);
    tcase_add_test(tc, reshape_permute_and_zero_padding_move_values_as_keras);
    tcase_add_test(tc, predict_frees_activations_early_and_equals_forward_on_one_tape);
    tcase_add_test(tc, a_shared_layer_gets_the_gradients_of_both_calls);
    tcase_add_test(tc, a_residual_model_trains_with_fit);
    tcase_add_test(tc, summary_of_a_graph_has_keras_connected_to_column);
    tcase_add_test(tc, relu_in_place_keeps_values_other_readers_see_and_exact_gradients);
    suite_add_tcase(s, tc);
    return s;
}
