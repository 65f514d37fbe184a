/* Configs as JSON (bgm_layer_from_config, bgm_model_to_json /
 * bgm_model_from_json), clones and weights files: every kind's config
 * rebuilds an equal layer, model configs rebuild the same architecture with
 * fresh weights from a seed, weights files move weights between models of
 * one architecture, and bad input fails naming what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

/* out = the whole text of the snprintf-style fn(buf, size, needed, obj), malloc'd. */
#define TEXT_OF(out, fn, obj)                                                    \
    do {                                                                         \
        size_t needed_ = 0;                                                      \
        BGM_ASSERT_OK(fn(NULL, 0, &needed_, obj));                               \
        (out) = malloc(needed_);                                                 \
        ck_assert_ptr_nonnull(out);                                              \
        BGM_ASSERT_OK(fn(out, needed_, NULL, obj));                              \
        ck_assert_uint_eq(strlen(out) + 1, needed_);                             \
    } while (0)

static char *layer_config(const bgm_layer *l)
{
    char *text;
    TEXT_OF(text, bgm_layer_config_string, l);
    return text;
}

static char *model_json(const bgm_model *m)
{
    char *text;
    TEXT_OF(text, bgm_model_to_json, m);
    return text;
}

/* l's config rebuilds a layer with the same config; frees l. */
static void assert_round_trip(bgm_layer *l)
{
    char *a, *b;
    bgm_layer *r = NULL;
    ck_assert_ptr_nonnull(l);
    a = layer_config(l);
    BGM_ASSERT_OK(bgm_layer_from_config(&r, a));
    b = layer_config(r);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(bgm_layer_kind(r), bgm_layer_kind(l));
    free(a);
    free(b);
    bgm_layer_free(r);
    bgm_layer_free(l);
}

static bgm_layer *named(bgm_layer *l, const char *name)
{
    BGM_ASSERT_OK(bgm_layer_set_name(l, name));
    return l;
}

static float *weights_of(const bgm_model *m)
{
    int64_t n = bgm_model_num_params(m);
    float *buf = malloc((size_t)(n + 1) * sizeof *buf);
    ck_assert_ptr_nonnull(buf);
    BGM_ASSERT_OK(bgm_model_get_weights(m, buf, n));
    return buf;
}

static int same_weights(const bgm_model *a, const bgm_model *b)
{
    float *x = weights_of(a), *y = weights_of(b);
    int same = bgm_model_num_params(a) == bgm_model_num_params(b) &&
               memcmp(x, y, (size_t)bgm_model_num_params(a) * sizeof *x) == 0;
    free(x);
    free(y);
    return same;
}

/* (28, 28, 1) -> Conv2D -> BatchNorm -> MaxPool -> Flatten -> Dropout -> Dense(softmax). */
static bgm_model *cnn(uint64_t seed)
{
    int64_t shape[3] = {8, 8, 1};
    bgm_model *m = NULL;
    bgm_layer *c = bgm_layer_conv2d(4, 3, BGM_ACT_RELU);
    BGM_ASSERT_OK(bgm_layer_set_padding(c, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_layer_set_kernel_l2(c, 1e-3f));
    BGM_ASSERT_OK(bgm_model_create(&m, shape, 3, seed));
    BGM_ASSERT_OK(bgm_model_add(m, c));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_SOFTMAX)));
    return m;
}

/* Two inputs, a shared Dense, a Concatenate, two heads (one a Dense of the
 * merged, the other MultiHeadAttention's two outputs). */
static bgm_model *graph_model(uint64_t seed)
{
    int64_t s1[2] = {4, 6};
    bgm_graph *g = NULL;
    bgm_node *a, *b, *ha, *hb, *cat, *out1, *att[2], *outs[3], *ins[2];
    bgm_model *m = NULL;
    bgm_layer *shared = named(bgm_layer_dense(5, BGM_ACT_TANH), "shared");
    bgm_layer *mha = named(bgm_layer_multi_head_attention(2, 3), "mha");
    BGM_ASSERT_OK(bgm_layer_set_return_attention_scores(mha, 1));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    a = bgm_test_input(g, s1, 2, "left");
    b = bgm_test_input(g, s1, 2, "right");
    ha = bgm_test_call(shared, &a, 1);
    hb = bgm_test_call(shared, &b, 1);
    ins[0] = ha;
    ins[1] = hb;
    cat = bgm_test_call(named(bgm_layer_concatenate(-1), "cat"), ins, 2);
    out1 = bgm_test_call(named(bgm_layer_dense(2, BGM_ACT_LINEAR), "head"), &cat, 1);
    BGM_ASSERT_OK(bgm_layer_call_multi(att, 2, mha, ins, 2));
    outs[0] = out1;
    outs[1] = att[1];
    outs[2] = att[0];
    ins[0] = a;
    ins[1] = b;
    BGM_ASSERT_OK(bgm_model_create_graph(&m, ins, 2, outs, 3, seed));
    bgm_graph_free(g);
    return m;
}

static void assert_same_predictions(const bgm_model *a, const bgm_model *b)
{
    int n = bgm_model_num_inputs(a), nout = bgm_model_num_outputs(a), i;
    bgm_tensor *xs[4], *ya[4] = {0}, *yb[4] = {0};
    ck_assert_int_eq(nout, bgm_model_num_outputs(b));
    for (i = 0; i < n; i++) {
        int nd = 0;
        const int64_t *s = bgm_node_shape(bgm_model_input(a, i), &nd);
        int64_t shape[BGM_MAX_DIMS];
        shape[0] = 3;
        memcpy(shape + 1, s, (size_t)nd * sizeof *s);
        xs[i] = bgm_test_randn(shape, nd + 1, 100 + (uint64_t)i);
    }
    BGM_ASSERT_OK(bgm_model_predict_multi(ya, nout, a, (const bgm_tensor *const *)xs, n, 3));
    BGM_ASSERT_OK(bgm_model_predict_on_batch(yb, nout, b, (const bgm_tensor *const *)xs, n));
    for (i = 0; i < nout; i++) {
        ck_assert_int_eq(bgm_tensor_numel(ya[i]), bgm_tensor_numel(yb[i]));
        ck_assert_int_eq(memcmp(bgm_tensor_data(ya[i]), bgm_tensor_data(yb[i]),
                                (size_t)bgm_tensor_numel(ya[i]) * sizeof(float)), 0);
        bgm_tensor_free(ya[i]);
        bgm_tensor_free(yb[i]);
    }
    for (i = 0; i < n; i++)
        bgm_tensor_free(xs[i]);
}

static void release(char *a, char *b, bgm_model *m, bgm_model *r, bgm_model *c)
{
    free(a);
    free(b);
    bgm_model_free(m);
    bgm_model_free(r);
    bgm_model_free(c);
}

/* ---- layers ------------------------------------------------------------------ */

START_TEST(test_layer_configs_round_trip)
{
    int64_t target[2] = {3, -1};
    int perm[2] = {2, 1};
    bgm_layer *l;
    l = bgm_layer_dense(7, BGM_ACT_LEAKY_RELU);
    BGM_ASSERT_OK(bgm_layer_set_leaky_relu_alpha(l, 0.1f));
    BGM_ASSERT_OK(bgm_layer_set_use_bias(l, 0));
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(l, BGM_INIT_HE_NORMAL));
    BGM_ASSERT_OK(bgm_layer_set_kernel_l2(l, 0.25f));
    BGM_ASSERT_OK(bgm_layer_set_trainable(l, 0));
    assert_round_trip(named(l, "d1"));
    l = bgm_layer_conv2d(3, 5, BGM_ACT_RELU);
    BGM_ASSERT_OK(bgm_layer_set_kernel_size(l, 5, 2));
    BGM_ASSERT_OK(bgm_layer_set_strides(l, 2, 1));
    BGM_ASSERT_OK(bgm_layer_set_padding(l, BGM_PADDING_SAME));
    assert_round_trip(l);
    l = bgm_layer_max_pool2d(3);
    BGM_ASSERT_OK(bgm_layer_set_strides(l, 1, 2));
    assert_round_trip(l);
    assert_round_trip(bgm_layer_avg_pool2d(2));
    assert_round_trip(bgm_layer_global_avg_pool2d());
    assert_round_trip(bgm_layer_flatten());
    assert_round_trip(bgm_layer_dropout(0.3f));
    l = bgm_layer_batch_norm();
    BGM_ASSERT_OK(bgm_layer_set_momentum(l, 0.9f));
    BGM_ASSERT_OK(bgm_layer_set_epsilon(l, 1e-5f));
    assert_round_trip(l);
    assert_round_trip(bgm_layer_activation(BGM_ACT_GELU));
    l = bgm_layer_embedding(50, 8);
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(l, 1));
    assert_round_trip(l);
    l = bgm_layer_lstm(6);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.1f));
    assert_round_trip(l);
    assert_round_trip(bgm_layer_gru(4));
    l = bgm_layer_gru(3);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    assert_round_trip(bgm_layer_bidirectional(l));
    assert_round_trip(bgm_layer_add());
    assert_round_trip(bgm_layer_subtract());
    assert_round_trip(bgm_layer_multiply());
    assert_round_trip(bgm_layer_average());
    assert_round_trip(bgm_layer_maximum());
    assert_round_trip(bgm_layer_minimum());
    assert_round_trip(bgm_layer_concatenate(1));
    assert_round_trip(bgm_layer_reshape(target, 2));
    assert_round_trip(bgm_layer_permute(perm, 2));
    assert_round_trip(bgm_layer_zero_padding2d(1, 2, 3, 4));
    l = bgm_layer_conv1d(4, 3, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_padding(l, BGM_PADDING_CAUSAL));
    BGM_ASSERT_OK(bgm_layer_set_dilation_rate(l, 2, 2));
    assert_round_trip(l);
    assert_round_trip(bgm_layer_position_embedding(16));
    assert_round_trip(bgm_layer_sine_position_encoding(500.0f));
    l = bgm_layer_multi_head_attention(2, 8);
    BGM_ASSERT_OK(bgm_layer_set_value_dim(l, 4));
    BGM_ASSERT_OK(bgm_layer_set_output_dim(l, 5));
    BGM_ASSERT_OK(bgm_layer_set_use_causal_mask(l, 1));
    assert_round_trip(l);
    l = bgm_layer_layer_norm();
    BGM_ASSERT_OK(bgm_layer_set_center(l, 0));
    assert_round_trip(l);
    assert_round_trip(bgm_layer_rms_norm());
    l = bgm_layer_global_avg_pool1d();
    BGM_ASSERT_OK(bgm_layer_set_keepdims(l, 1));
    assert_round_trip(l);
}
END_TEST

/* What Keras 3 writes for a Dense layer reads as that layer. */
START_TEST(test_layer_from_keras3_config)
{
    const char *json =
        "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": "
        "\"dense_7\", \"trainable\": false, \"dtype\": {\"module\": \"keras\", \"class_name\": "
        "\"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, "
        "\"units\": 12, \"activation\": \"relu\", \"use_bias\": false, "
        "\"kernel_initializer\": {\"module\": \"keras.initializers\", \"class_name\": "
        "\"HeUniform\", \"config\": {\"seed\": null}, \"registered_name\": null}, "
        "\"bias_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"Zeros\", "
        "\"config\": {}, \"registered_name\": null}, \"kernel_regularizer\": {\"module\": "
        "\"keras.regularizers\", \"class_name\": \"L2\", \"config\": {\"l2\": 0.5}, "
        "\"registered_name\": null}, \"bias_regularizer\": null, \"kernel_constraint\": null, "
        "\"bias_constraint\": null}, \"registered_name\": null, \"build_config\": "
        "{\"input_shape\": [null, 4]}}";
    bgm_layer *l = NULL;
    char *cfg;
    BGM_ASSERT_OK(bgm_layer_from_config(&l, json));
    cfg = layer_config(l);
    ck_assert_str_eq(cfg, "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_7\", "
                          "\"trainable\": false, \"units\": 12, \"activation\": \"relu\", "
                          "\"use_bias\": false, \"bias_initializer\": \"zeros\", "
                          "\"kernel_initializer\": \"he_uniform\", \"kernel_regularizer\": "
                          "{\"module\": \"keras.regularizers\", \"class_name\": \"L2\", "
                          "\"config\": {\"l2\": 0.5}, \"registered_name\": null}}}");
    free(cfg);
    bgm_layer_free(l);
    /* missing keys keep Keras' defaults; a single kernel_size applies to both axes */
    BGM_ASSERT_OK(bgm_layer_from_config(&l, "{\"class_name\": \"Conv2D\", \"config\": "
                                            "{\"filters\": 2, \"kernel_size\": 3}}"));
    cfg = layer_config(l);
    ck_assert_ptr_nonnull(strstr(cfg, "\"kernel_size\": [3, 3], \"strides\": [1, 1], "
                                      "\"padding\": \"valid\", \"activation\": \"linear\""));
    free(cfg);
    bgm_layer_free(l);
}
END_TEST

/* A config, the status it fails with and what the message says. */
static const struct {
    const char *json, *needle;
    bgm_status status;
} bad_configs[] = {
    {"{\"class_name\": \"Dense\", \"config\": {", "malformed JSON: expected", BGM_E_INVALID},
    {"{\"class_name\": \"Dense\" \"config\": {}}", "expected ',' or '}' at offset 23",
     BGM_E_INVALID},
    {"{\"class_name\": \"Densely\"}", "unknown layer class_name 'Densely' at offset 15",
     BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": \"ten\"}}",
     "Dense option 'units' is a string at offset 44, expected an integer", BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": 0}}",
     "units = 0, expected at least 1", BGM_E_INVALID},
    {"{\"class_name\": \"Dropout\", \"config\": {\"rate\": 1.5}}", "rate = 1.5",
     BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"strides\": [1, 1]}}",
     "a Dense layer has no option 'strides'", BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"activation\": \"swishy\"}}",
     "option 'activation' has unknown value 'swishy'", BGM_E_INVALID},
    {"{\"class_name\": \"Conv2D\", \"config\": {\"filters\": 3, \"kernel_size\": [3, 3, 3]}}",
     "'kernel_size' has 3 entries", BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"dtype\": \"float16\"}}",
     "expected \"float32\"", BGM_E_INVALID},
    {"{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"kernel_regularizer\": \"l1\"}}",
     "kernel_regularizer", BGM_E_INVALID},
    {"{\"class_name\": \"Bidirectional\", \"config\": {\"layer\": {\"class_name\": "
     "\"Dense\", \"config\": {\"units\": 2}}}}",
     "wraps an LSTM or GRU layer, got Dense", BGM_E_INVALID},
};

/* Keras options the library implements one value of read at that value. */
START_TEST(test_layer_from_keras_defaults)
{
    bgm_layer *l = NULL;
    char *cfg;
    BGM_ASSERT_OK(bgm_layer_from_config(&l, "{\"class_name\": \"Conv2D\", \"config\": "
                                            "{\"filters\": 2, \"kernel_size\": [3, 3], "
                                            "\"data_format\": \"channels_last\", "
                                            "\"dilation_rate\": [1, 1], \"groups\": 1, "
                                            "\"activity_regularizer\": null}}"));
    bgm_layer_free(l);
    BGM_ASSERT_OK(bgm_layer_from_config(&l, "{\"class_name\": \"LSTM\", \"config\": "
                                            "{\"units\": 2, \"activation\": \"tanh\", "
                                            "\"recurrent_initializer\": {\"class_name\": "
                                            "\"Orthogonal\", \"config\": {\"gain\": 1.0}}, "
                                            "\"seed\": 7, \"unit_forget_bias\": true}}"));
    bgm_layer_free(l);
    BGM_ASSERT_OK(bgm_layer_from_config(&l, "{\"class_name\": \"MultiHeadAttention\", "
                                            "\"config\": {\"num_heads\": 2, \"key_dim\": 4, "
                                            "\"value_dim\": 4, \"output_shape\": [5], "
                                            "\"attention_axes\": null}}"));
    cfg = layer_config(l);
    ck_assert_ptr_nonnull(strstr(cfg, "\"output_shape\": 5"));
    free(cfg);
    bgm_layer_free(l);
    BGM_ASSERT_FAILS(bgm_layer_from_config(&l, "{\"class_name\": \"Conv2D\", \"config\": "
                                               "{\"filters\": 2, \"kernel_size\": 3, "
                                               "\"data_format\": \"channels_first\"}}"),
                     BGM_E_UNSUPPORTED, "Conv2D option 'data_format' at offset 83 must be "
                     "\"channels_last\", the only value the library implements");
    BGM_ASSERT_FAILS(bgm_layer_from_config(&l, "{\"class_name\": \"GRU\", \"config\": "
                                               "{\"units\": 2, \"reset_after\": false}}"),
                     BGM_E_UNSUPPORTED, "GRU option 'reset_after'");
    BGM_ASSERT_FAILS(bgm_layer_from_config(&l, "{\"class_name\": \"LSTM\", \"config\": "
                                               "{\"units\": 2, \"kernel_regularizer\": {"
                                               "\"class_name\": \"L2\", \"config\": "
                                               "{\"l2\": 0.1}}}}"),
                     BGM_E_UNSUPPORTED, "an LSTM layer has no kernel_regularizer");
    ck_assert_ptr_null(l);
}
END_TEST

START_TEST(test_layer_from_config_errors)
{
    bgm_layer *l = (bgm_layer *)1;
    size_t i;
    for (i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        BGM_ASSERT_FAILS(bgm_layer_from_config(&l, bad_configs[i].json), bad_configs[i].status,
                         bad_configs[i].needle);
        ck_assert_ptr_null(l);
    }
    BGM_ASSERT_FAILS(bgm_layer_from_config(NULL, "{}"), BGM_E_INVALID, "out");
    BGM_ASSERT_FAILS(bgm_layer_from_config(&l, NULL), BGM_E_INVALID, "json");
}
END_TEST

/* ---- models ------------------------------------------------------------------ */

START_TEST(test_sequential_json_round_trip)
{
    bgm_model *m = cnn(7), *r = NULL, *c = NULL;
    char *a = model_json(m), *b;
    ck_assert_ptr_nonnull(strstr(a, "{\"class_name\": \"Sequential\", \"config\": {\"name\": "
                                    "\"sequential\", \"trainable\": true, \"layers\": "
                                    "[{\"class_name\": \"InputLayer\", \"config\": "
                                    "{\"batch_shape\": [null, 8, 8, 1], \"dtype\": "
                                    "\"float32\", \"sparse\": false, \"name\": "));
    ck_assert_ptr_nonnull(strstr(a, "\"build_input_shape\": [null, 8, 8, 1]}}"));
    BGM_ASSERT_OK(bgm_model_from_json(&r, a, 7));
    b = model_json(r);
    ck_assert_str_eq(a, b);
    /* fresh weights from the seed: those m was created with */
    ck_assert(same_weights(m, r));
    assert_same_predictions(m, r);
    BGM_ASSERT_OK(bgm_model_clone(&c, m, 8));
    free(b);
    b = model_json(c);
    ck_assert_str_eq(a, b);
    ck_assert(!same_weights(m, c));
    ck_assert_ptr_null(bgm_model_optimizer(c));
    release(a, b, m, r, c);
}
END_TEST

START_TEST(test_functional_json_round_trip)
{
    bgm_model *m = graph_model(3), *r = NULL, *c = NULL;
    char *a = model_json(m), *b;
    /* a shared layer has two calls; MHA's scores are output 1 of its call */
    ck_assert_ptr_nonnull(strstr(a, "\"keras_history\": [\"shared\", 1, 0]"));
    ck_assert_ptr_nonnull(strstr(a, "\"output_layers\": [[\"head\", 0, 0], [\"mha\", 0, 1], "
                                    "[\"mha\", 0, 0]]"));
    ck_assert_ptr_nonnull(strstr(a, "\"input_layers\": [[\"left\", 0, 0], [\"right\", 0, 0]]"));
    BGM_ASSERT_OK(bgm_model_from_json(&r, a, 3));
    b = model_json(r);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(bgm_model_class_name(r), "Functional");
    ck_assert(same_weights(m, r));
    assert_same_predictions(m, r);
    BGM_ASSERT_OK(bgm_model_clone(&c, m, 3));
    assert_same_predictions(m, c);
    release(a, b, m, r, c);
}
END_TEST

/* A hand-written Keras 2 style functional config (the older inbound_nodes). */
START_TEST(test_functional_keras2_config)
{
    const char *json =
        "{\"class_name\": \"Model\", \"config\": {\"layers\": ["
        "{\"class_name\": \"Dense\", \"name\": \"out\", \"config\": {\"name\": \"out\", "
        "\"units\": 1}, \"inbound_nodes\": [[[\"hidden\", 0, 0, {}]]]}, "
        "{\"class_name\": \"InputLayer\", \"name\": \"x\", \"config\": {\"batch_input_shape\": "
        "[null, 3], \"dtype\": \"float32\", \"name\": \"x\"}, \"inbound_nodes\": []}, "
        "{\"class_name\": \"Dense\", \"name\": \"hidden\", \"config\": {\"name\": \"hidden\", "
        "\"units\": 4, \"activation\": \"relu\"}, \"inbound_nodes\": [[[\"x\", 0, 0, {}]]]}], "
        "\"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"out\", 0, 0]]}}";
    bgm_model *m = NULL;
    int nd = 0;
    BGM_ASSERT_OK(bgm_model_from_json(&m, json, 1));
    ck_assert_int_eq(bgm_model_num_layers(m), 2);
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 0)), "hidden");
    ck_assert_int_eq(bgm_model_output_shape(m, &nd)[0], 1);
    ck_assert_int_eq(bgm_model_num_params(m), 3 * 4 + 4 + 4 + 1);
    bgm_model_free(m);
}
END_TEST

START_TEST(test_model_from_json_errors)
{
    bgm_model *m = (bgm_model *)1;
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "[1, 2", 0), BGM_E_INVALID,
                     "bgm_model_from_json: malformed JSON");
    ck_assert_ptr_null(m);
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Graph\", \"config\": {}}", 0),
                     BGM_E_INVALID, "unknown model class_name 'Graph'");
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Sequential\", \"config\": "
                                             "{\"layers\": [{\"class_name\": \"Dense\", "
                                             "\"config\": {\"units\": 2}}]}}", 0),
                     BGM_E_INVALID, "needs its input shape");
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Sequential\", \"config\": "
                                             "{\"layers\": [{\"class_name\": \"Dense\", "
                                             "\"config\": {\"units\": -2}}], "
                                             "\"build_input_shape\": [null, 3]}}", 0),
                     BGM_E_INVALID, "layer 0: units = -2");
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Sequential\", \"config\": "
                                             "{\"layers\": [{\"class_name\": \"Conv2D\", "
                                             "\"config\": {\"filters\": 2, \"kernel_size\": "
                                             "3}}], \"build_input_shape\": [null, 3]}}", 0),
                     BGM_E_FORMAT, "layer 0 (Conv2D): expected input of 3 dimensions");
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Functional\", \"config\": "
                                             "{\"layers\": [{\"class_name\": \"InputLayer\", "
                                             "\"name\": \"x\", \"config\": {\"batch_shape\": "
                                             "[null, 2]}}, {\"class_name\": \"Dense\", \"name\": "
                                             "\"d\", \"config\": {\"units\": 1}, "
                                             "\"inbound_nodes\": [[[\"y\", 0, 0]]]}], "
                                             "\"input_layers\": [[\"x\", 0, 0]], "
                                             "\"output_layers\": [[\"d\", 0, 0]]}}", 0),
                     BGM_E_INVALID, "names layer 'y', which is not in \"layers\"");
    BGM_ASSERT_FAILS(bgm_model_from_json(&m, "{\"class_name\": \"Functional\", \"config\": "
                                             "{\"layers\": [{\"class_name\": \"InputLayer\", "
                                             "\"name\": \"x\", \"config\": {\"batch_shape\": "
                                             "[null, 2]}}, {\"class_name\": \"Dense\", \"name\": "
                                             "\"d\", \"config\": {\"units\": 1}, "
                                             "\"inbound_nodes\": [[[\"d\", 0, 0]]]}], "
                                             "\"input_layers\": [[\"x\", 0, 0]], "
                                             "\"output_layers\": [[\"d\", 0, 0]]}}", 0),
                     BGM_E_INVALID, "no call makes");
    ck_assert_ptr_null(m);
    BGM_ASSERT_FAILS(bgm_model_clone(&m, NULL, 0), BGM_E_INVALID, "bgm_model_clone");
    BGM_ASSERT_FAILS(bgm_model_predict_on_batch(NULL, 1, m, NULL, 1), BGM_E_INVALID,
                     "bgm_model_predict_on_batch: argument 'outs' is NULL");
    {
        bgm_model *g = graph_model(1);
        bgm_tensor *out[3], *x = bgm_test_randn((int64_t[]){2, 4, 6}, 3, 1);
        BGM_ASSERT_FAILS(bgm_model_predict_on_batch(out, 3, g, (const bgm_tensor *const *)&x,
                                                    1),
                         BGM_E_INVALID, "bgm_model_predict_on_batch");
        ck_assert_ptr_null(out[0]);
        bgm_tensor_free(x);
        bgm_model_free(g);
    }
}
END_TEST

/* Every prefix of a config and configs with a byte changed fail cleanly or
 * build a model: nothing crashes or leaks (valgrind runs this suite). */
START_TEST(test_mangled_configs_fail_cleanly)
{
    bgm_model *m = graph_model(1), *r = NULL;
    char *json = model_json(m), *copy = strdup(json);
    size_t n = strlen(json), k, c;
    const char subs[] = "\"{]0x-";
    int built = 0;
    ck_assert_ptr_nonnull(copy);
    for (k = 0; k < n; k++) {
        copy[k] = '\0';
        ck_assert_int_ne(bgm_model_from_json(&r, copy, 1), BGM_OK);
        ck_assert_ptr_null(r);
        copy[k] = json[k];
    }
    for (k = 0; k < n; k += 5)
        for (c = 0; c < sizeof subs - 1; c++) {
            copy[k] = subs[c];
            if (bgm_model_from_json(&r, copy, 1) == BGM_OK) {
                built++;
                bgm_model_free(r);
            } else {
                ck_assert_ptr_null(r);
                ck_assert_msg(strstr(bgm_last_error(), "bgm_model_from_json") != NULL, "%s", bgm_last_error());
            }
            copy[k] = json[k];
        }
    ck_assert_int_gt(built, 0); /* some changes are harmless (a name's letter) */
    free(json);
    free(copy);
    bgm_model_free(m);
}
END_TEST

/* ---- weights files ----------------------------------------------------------- */

START_TEST(test_weights_files)
{
    bgm_model *m = cnn(11), *c = NULL, *other = NULL;
    int64_t shape[3] = {8, 8, 2};
    char path[512], st[512], mf[512];
    float *w = weights_of(m);
    int64_t i, n = bgm_model_num_params(m);
    bgm_test_tmpdir_create("weights");
    snprintf(path, sizeof path, "%s", bgm_test_path("cnn.weights.bgm"));
    snprintf(st, sizeof st, "%s", bgm_test_path("cnn.safetensors"));
    snprintf(mf, sizeof mf, "%s", bgm_test_path("cnn.bgm"));
    for (i = 0; i < n; i++) /* weights no initializer makes */
        w[i] = 0.01f * (float)(i % 17) - 0.05f;
    BGM_ASSERT_OK(bgm_model_set_weights(m, w, n));
    BGM_ASSERT_OK(bgm_model_save_weights(m, path));
    BGM_ASSERT_OK(bgm_model_clone(&c, m, 99));
    ck_assert(!same_weights(m, c));
    BGM_ASSERT_OK(bgm_model_load_weights(c, path));
    ck_assert(same_weights(m, c));
    assert_same_predictions(m, c);
    /* safetensors by extension, and a whole model file serves as weights */
    bgm_model_free(c);
    BGM_ASSERT_OK(bgm_model_clone(&c, m, 98));
    BGM_ASSERT_OK(bgm_model_save_weights(m, st));
    BGM_ASSERT_OK(bgm_model_load_weights(c, st));
    ck_assert(same_weights(m, c));
    bgm_model_free(c);
    BGM_ASSERT_OK(bgm_model_clone(&c, m, 97));
    BGM_ASSERT_OK(bgm_model_save(m, mf, 0));
    BGM_ASSERT_OK(bgm_model_load_weights(c, mf));
    ck_assert(same_weights(m, c));
    /* another architecture: the first weight that differs is named, c unchanged */
    BGM_ASSERT_OK(bgm_model_create(&other, shape, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_conv2d(4, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_load_weights(other, path), BGM_E_SHAPE,
                     "weight 0 of the model, 'conv2d/kernel', is float32 (3, 3, 2, 4), but "
                     "the file's weight 0, 'conv2d/kernel', is float32 (3, 3, 1, 4)");
    BGM_ASSERT_OK(bgm_model_save_weights(other, path));
    BGM_ASSERT_FAILS(bgm_model_load_weights(c, path), BGM_E_SHAPE, "another architecture");
    ck_assert(same_weights(m, c));
    BGM_ASSERT_FAILS(bgm_model_load_weights(c, bgm_test_path("missing.bgm")), BGM_E_IO,
                     "bgm_model_load_weights");
    BGM_ASSERT_FAILS(bgm_model_save_weights(NULL, path), BGM_E_INVALID, "bgm_model_save_weights");
    free(w);
    bgm_model_free(m);
    bgm_model_free(c);
    bgm_model_free(other);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- sparse cross-entropy on float labels ----------------------------------- */

START_TEST(test_sparse_ce_float_labels)
{
    int64_t xs[2] = {6, 4}, ys[1] = {6}, ys2[2] = {6, 1};
    float fl[6] = {0, 2, 1, 1, 0, 2}, bad[6] = {0, 2, 1, 2.5f, 0, 2};
    int32_t il[6] = {0, 2, 1, 1, 0, 2};
    bgm_tensor *x = bgm_test_randn(xs, 2, 5), *yf = bgm_test_tensor(ys, 1, fl);
    bgm_tensor *yf2 = bgm_test_tensor(ys2, 2, fl), *yb = bgm_test_tensor(ys, 1, bad);
    bgm_tensor *yi = NULL;
    bgm_model *a = NULL, *b = NULL;
    bgm_optimizer *oa = NULL, *ob = NULL;
    double ra[2], rb[2], rc[2];
    BGM_ASSERT_OK(bgm_tensor_zeros(&yi, BGM_INT32, ys, 1));
    memcpy(bgm_tensor_data(yi), il, sizeof il);
    BGM_ASSERT_OK(bgm_model_create(&a, xs + 1, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(a, bgm_layer_dense(3, BGM_ACT_SOFTMAX)));
    BGM_ASSERT_OK(bgm_model_clone(&b, a, 4));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&oa, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&ob, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(a, oa, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_model_compile(b, ob, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(ra, 1, a, x, yi, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(rb, 1, a, x, yf, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(rc, 1, a, x, yf2, 0));
    ck_assert(ra[0] == rb[0] && ra[0] == rc[0]);
    /* one training step on each kind of label: the same weights after */
    BGM_ASSERT_OK(bgm_model_train_on_batch(ra, 1, a, x, yi));
    BGM_ASSERT_OK(bgm_model_train_on_batch(rb, 1, b, x, yf));
    ck_assert(ra[0] == rb[0]);
    ck_assert(same_weights(a, b));
    BGM_ASSERT_FAILS(bgm_model_evaluate(ra, 1, a, x, yb, 0), BGM_E_INVALID,
                     "holds 2.5 at flat index 3, not a whole number");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(ra, 1, a, x, yb), BGM_E_INVALID, "2.5");
    ck_assert(same_weights(a, b)); /* a refused batch trains nothing */
    bgm_model_free(a);
    bgm_model_free(b);
    bgm_tensor_free(x);
    bgm_tensor_free(yf);
    bgm_tensor_free(yf2);
    bgm_tensor_free(yb);
    bgm_tensor_free(yi);
}
END_TEST

Suite *suite_model_config(void)
{
    Suite *s = suite_create("model_config");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_layer_configs_round_trip);
    tcase_add_test(tc, test_layer_from_keras3_config);
    tcase_add_test(tc, test_layer_from_keras_defaults);
    tcase_add_test(tc, test_layer_from_config_errors);
    tcase_add_test(tc, test_sequential_json_round_trip);
    tcase_add_test(tc, test_functional_json_round_trip);
    tcase_add_test(tc, test_functional_keras2_config);
    tcase_add_test(tc, test_model_from_json_errors);
    tcase_add_test(tc, test_mangled_configs_fail_cleanly);
    tcase_add_test(tc, test_weights_files);
    tcase_add_test(tc, test_sparse_ce_float_labels);
    suite_add_tcase(s, tc);
    return s;
}
