/* bgm_model: building (shape inference and its errors), summaries, weights,
 * layers at inference, predict (reentrant), custom loops and bad calls. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The Keras CNN tutorial model on images of shape (h, w, c). */
static bgm_model *demo_cnn(int64_t h, int64_t w, int64_t c)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){h, w, c}, 3, 42));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(32, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(64, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR)));
    return m;
}

static bgm_optimizer *adam(float lr)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    return o;
}

/* ---- building ----------------------------------------------------------- */

START_TEST(a_layer_that_cannot_take_its_input_fails_naming_it_and_both_shapes)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){7, 7, 1}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU)));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_lstm(10)), BGM_E_SHAPE,
                     "layer 1 (LSTM): expected input of 2 dimensions (timesteps, features), "
                     "got (5, 5, 64)");
    ck_assert_int_eq(bgm_model_num_layers(m), 1);
    /* the model stays usable */
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR)));
    ck_assert_int_eq(bgm_model_num_layers(m), 3);
    bgm_model_free(m);
}
END_TEST

START_TEST(dense_on_images_applies_to_the_last_axis_as_keras)
{
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL, *k;
    const int64_t *shape;
    int ndim, i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){7, 7, 1}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR)));
    shape = bgm_model_output_shape(m, &ndim);
    ck_assert_int_eq(ndim, 3);
    ck_assert_int_eq(shape[0], 5);
    ck_assert_int_eq(shape[2], 10);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 1)), 64 * 10 + 10);
    /* every position gets the same product: a one-hot input row picks kernel rows */
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, (int64_t[]){2, 7, 7, 1}, 4));
    for (i = 0; i < 98; i++)
        ((float *)bgm_tensor_data(x))[i] = (float)(i % 5) - 2.0f;
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    ck_assert_int_eq(bgm_tensor_ndim(y), 4);
    ck_assert_int_eq(bgm_tensor_dim(y, 3), 10);
    {   /* position (1, 2, 3) of sample 1 against conv -> relu -> x W + b by hand */
        bgm_tensor *cv = NULL;
        bgm_model *c = NULL;
        const float *h, *w, *b, *out = bgm_tensor_data(y);
        int j, f;
        BGM_ASSERT_OK(bgm_model_create(&c, (int64_t[]){7, 7, 1}, 3, 1));
        BGM_ASSERT_OK(bgm_model_add(c, bgm_layer_conv2d(64, 3, BGM_ACT_RELU)));
        BGM_ASSERT_OK(bgm_model_predict(&cv, c, x, 0));
        h = (const float *)bgm_tensor_data(cv) + ((1 * 5 + 2) * 5 + 3) * 64;
        k = bgm_model_weight(m, 2);
        w = bgm_tensor_data(k);
        b = bgm_tensor_data(bgm_model_weight(m, 3));
        for (j = 0; j < 10; j++) {
            double sum = b[j];
            for (f = 0; f < 64; f++)
                sum += (double)h[f] * w[f * 10 + j];
            ck_assert_double_eq_tol(out[((1 * 5 + 2) * 5 + 3) * 10 + j], sum, 1e-4);
        }
        bgm_tensor_free(cv);
        bgm_model_free(c);
    }
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(conv_and_pool_reject_inputs_they_cannot_take)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4, 4, 2}, 3, 1));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_conv2d(8, 5, BGM_ACT_RELU)), BGM_E_SHAPE,
                     "layer 0 (Conv2D): kernel 5x5 is larger than the input (4, 4, 2) with "
                     "VALID padding");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_max_pool2d(8)), BGM_E_SHAPE,
                     "layer 0 (MaxPooling2D): pool 8x8 is larger");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_conv2d(8, 1, BGM_ACT_RELU)), BGM_E_SHAPE,
                     "layer 1 (Conv2D): expected input of 3 dimensions (height, width, "
                     "channels), got (32,)");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_global_avg_pool2d()), BGM_E_SHAPE,
                     "layer 1 (GlobalAveragePooling2D)");
    bgm_model_free(m);
}
END_TEST

START_TEST(add_takes_a_failed_constructor_and_keeps_its_message)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_dense(0, BGM_ACT_RELU)), BGM_E_INVALID,
                     "bgm_layer_dense: units = 0, expected at least 1");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_dropout(1.0f)), BGM_E_INVALID,
                     "rate = 1, expected a value in [0, 1)");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_activation((bgm_activation)99)),
                     BGM_E_INVALID, "unknown activation 99");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_conv2d(0, 3, BGM_ACT_RELU)), BGM_E_INVALID,
                     "filters = 0");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_max_pool2d(0)), BGM_E_INVALID, "pool = 0");
    BGM_ASSERT_FAILS(bgm_model_add(NULL, bgm_layer_flatten()), BGM_E_INVALID,
                     "argument 'm' is NULL");
    ck_assert_int_eq(bgm_model_num_layers(m), 0);
    bgm_model_free(m);
}
END_TEST

START_TEST(layers_get_keras_names_and_shapes)
{
    bgm_model *m = demo_cnn(28, 28, 1);
    const int64_t *shape;
    int ndim;
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 0)), "conv2d");
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 2)), "conv2d_1");
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 3)), "max_pooling2d_1");
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(m, 5)), "Flatten");
    shape = bgm_layer_output_shape(bgm_model_layer(m, 4), &ndim);
    ck_assert_int_eq(ndim, 3);
    ck_assert_int_eq(shape[0], 3);
    ck_assert_int_eq(shape[2], 64);
    shape = bgm_model_output_shape(m, &ndim);
    ck_assert_int_eq(ndim, 1);
    ck_assert_int_eq(shape[0], 10);
    ck_assert_ptr_null(bgm_model_layer(m, 8));
    bgm_model_free(m);
}
END_TEST

START_TEST(user_names_must_be_unique_and_valid)
{
    bgm_model *m = NULL;
    bgm_layer *l = bgm_layer_dense(4, BGM_ACT_RELU), *k;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_OK(bgm_layer_set_name(l, "hidden"));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    k = bgm_layer_dense(4, BGM_ACT_RELU);
    BGM_ASSERT_FAILS(bgm_layer_set_name(k, "bad name"), BGM_E_INVALID, "character 3");
    BGM_ASSERT_FAILS(bgm_layer_set_name(k, ""), BGM_E_INVALID, "1 to 63 bytes");
    BGM_ASSERT_OK(bgm_layer_set_name(k, "hidden"));
    BGM_ASSERT_FAILS(bgm_model_add(m, k), BGM_E_INVALID, "already has a layer named 'hidden'");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 1)), "dense_1");
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "hidden/kernel");
    /* a layer in a model is frozen */
    BGM_ASSERT_FAILS(bgm_layer_set_use_bias((bgm_layer *)bgm_model_layer(m, 0), 0),
                     BGM_E_STATE, "belongs to a model");
    bgm_model_free(m);
}
END_TEST

START_TEST(a_layer_config_is_keras_json_of_its_fields)
{
    char buf[1024];
    size_t needed = 0;
    bgm_layer *d = bgm_layer_dense(10, BGM_ACT_RELU), *b, *r;
    BGM_ASSERT_OK(bgm_layer_set_name(d, "head"));
    BGM_ASSERT_OK(bgm_layer_set_kernel_l2(d, 0.5f));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, &needed, d));
    ck_assert_str_eq(buf, "{\"class_name\": \"Dense\", \"config\": {\"name\": \"head\", "
                          "\"trainable\": true, \"units\": 10, \"activation\": \"relu\", "
                          "\"use_bias\": true, \"bias_initializer\": \"zeros\", "
                          "\"kernel_initializer\": \"glorot_uniform\", "
                          "\"kernel_regularizer\": {\"module\": \"keras.regularizers\", "
                          "\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}, "
                          "\"registered_name\": null}}}");
    ck_assert_uint_eq(needed, strlen(buf) + 1);
    /* snprintf-style: cut and NUL-terminated, the size needed reported */
    BGM_ASSERT_OK(bgm_layer_config_string(buf, 8, &needed, d));
    ck_assert_str_eq(buf, "{\"class");
    ck_assert_uint_gt(needed, 100);
    b = bgm_layer_bidirectional(bgm_layer_gru(3));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, b));
    ck_assert_str_eq(buf, "{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"\", "
                          "\"trainable\": true, \"layer\": {\"class_name\": \"GRU\", "
                          "\"config\": {\"units\": 3, \"use_bias\": true, \"bias_initializer\": "
                          "\"zeros\", \"kernel_initializer\": \"glorot_uniform\", "
                          "\"return_sequences\": false, \"dropout\": 0, \"recurrent_dropout\": "
                          "0}}}}");
    r = bgm_layer_reshape((int64_t[]){4, -1}, 2);
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, r));
    ck_assert_ptr_nonnull(strstr(buf, "\"target_shape\": [4, -1]"));
    BGM_ASSERT_FAILS(bgm_layer_config_string(NULL, 4, NULL, r), BGM_E_INVALID, "buf is NULL");
    BGM_ASSERT_FAILS(bgm_layer_config_string(buf, sizeof buf, NULL, NULL), BGM_E_INVALID,
                     "'layer' is NULL");
    bgm_layer_free(d);
    bgm_layer_free(b);
    bgm_layer_free(r);
}
END_TEST

START_TEST(setters_check_kind_and_value)
{
    bgm_layer *d = bgm_layer_dense(4, BGM_ACT_RELU), *c = bgm_layer_conv2d(4, 3, 0);
    bgm_layer *bn = bgm_layer_batch_norm();
    BGM_ASSERT_FAILS(bgm_layer_set_strides(d, 2, 2), BGM_E_UNSUPPORTED,
                     "a Dense layer has no strides");
    BGM_ASSERT_FAILS(bgm_layer_set_momentum(d, 0.5f), BGM_E_UNSUPPORTED, "no momentum");
    BGM_ASSERT_FAILS(bgm_layer_set_strides(c, 0, 1), BGM_E_INVALID, "strides (0, 1)");
    BGM_ASSERT_FAILS(bgm_layer_set_padding(c, (bgm_padding)7), BGM_E_INVALID,
                     "unknown padding 7");
    BGM_ASSERT_FAILS(bgm_layer_set_kernel_l2(d, -1.0f), BGM_E_INVALID, "l2 = -1");
    BGM_ASSERT_FAILS(bgm_layer_set_kernel_initializer(d, (bgm_initializer)0),
                     BGM_E_INVALID, "unknown initializer 0");
    BGM_ASSERT_FAILS(bgm_layer_set_momentum(bn, 1.5f), BGM_E_INVALID, "momentum = 1.5");
    BGM_ASSERT_FAILS(bgm_layer_set_epsilon(bn, 0.0f), BGM_E_INVALID, "epsilon = 0");
    BGM_ASSERT_FAILS(bgm_layer_set_pool_size(c, 2, 2), BGM_E_UNSUPPORTED,
                     "a Conv2D layer has no pool size");
    BGM_ASSERT_OK(bgm_layer_set_padding(c, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_layer_set_kernel_size(c, 1, 5));
    /* a NULL layer names the setter, after the message of the constructor
     * that failed and returned it */
    bgm_clear_error();
    BGM_ASSERT_FAILS(bgm_layer_set_strides(NULL, 1, 1), BGM_E_INVALID,
                     "bgm_layer_set_strides: argument 'layer' is NULL");
    BGM_ASSERT_FAILS(bgm_layer_set_strides(bgm_layer_max_pool2d(0), 1, 1), BGM_E_INVALID,
                     "bgm_layer_max_pool2d");
    ck_assert_msg(strstr(bgm_last_error(), "(then bgm_layer_set_strides: argument 'layer' "
                         "is NULL)"), "%s", bgm_last_error());
    ck_assert_ptr_null(bgm_layer_kind(NULL));
    ck_assert_ptr_null(bgm_layer_output_shape(d, NULL)); /* not added yet */
    bgm_layer_free(d);
    bgm_layer_free(c);
    bgm_layer_free(bn);
    bgm_layer_free(NULL);
}
END_TEST

START_TEST(same_padding_and_strides_give_tensorflow_shapes)
{
    bgm_model *m = NULL;
    bgm_layer *c = bgm_layer_conv2d(8, 3, BGM_ACT_RELU), *p = bgm_layer_avg_pool2d(2);
    const int64_t *shape;
    BGM_ASSERT_OK(bgm_layer_set_padding(c, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_layer_set_strides(c, 2, 2));
    BGM_ASSERT_OK(bgm_layer_set_padding(p, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){7, 5, 3}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(m, c));
    shape = bgm_layer_output_shape(bgm_model_layer(m, 0), NULL);
    ck_assert_int_eq(shape[0], 4); /* ceil(7 / 2) */
    ck_assert_int_eq(shape[1], 3); /* ceil(5 / 2) */
    BGM_ASSERT_OK(bgm_model_add(m, p));
    shape = bgm_layer_output_shape(bgm_model_layer(m, 1), NULL);
    ck_assert_int_eq(shape[0], 2);
    ck_assert_int_eq(shape[1], 2);
    ck_assert_int_eq(shape[2], 8);
    bgm_model_free(m);
}
END_TEST

/* ---- summary and parameter counts ---------------------------------------- */

/*
 * Keras' counts for the tutorial CNN (kernel KH*KW*C*F + bias F):
 *   Fashion-MNIST 28x28x1: conv 3*3*1*32+32 = 320 -> 26x26x32, pool -> 13x13x32,
 *   conv 3*3*32*64+64 = 18,496 -> 11x11x64, pool -> 5x5x64, conv 3*3*64*64+64 =
 *   36,928 -> 3x3x64, flatten 576, dense 576*64+64 = 36,928, dense 64*10+10 = 650:
 *   total 93,322.
 *   CIFAR-10 32x32x3: conv 3*3*3*32+32 = 896 -> 30x30x32 -> 15x15x32, conv 18,496 ->
 *   13x13x64 -> 6x6x64, conv 36,928 -> 4x4x64, flatten 1024, dense 1024*64+64 =
 *   65,600, dense 650: total 122,570 (the number the TensorFlow tutorial prints).
 */
START_TEST(parameter_counts_equal_keras_for_the_tutorial_cnn)
{
    static const int64_t fashion[8] = {320, 0, 18496, 0, 36928, 0, 36928, 650};
    bgm_model *m = demo_cnn(28, 28, 1), *c = demo_cnn(32, 32, 3);
    int i;
    for (i = 0; i < 8; i++)
        ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, i)), fashion[i]);
    ck_assert_int_eq(bgm_model_num_params(m), 93322);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 93322);
    ck_assert_int_eq(bgm_model_num_params(c), 122570);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(c, 0)), 896);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(c, 6)), 65600);
    ck_assert_int_eq(bgm_model_num_weights(c), 10);
    bgm_model_free(m);
    bgm_model_free(c);
}
END_TEST

static const char *const small_summary =
    "Model: \"sequential\"\n"
    "_________________________________________________________________\n"
    "Layer (type)                 Output Shape              Param #   \n"
    "=================================================================\n"
    "conv2d (Conv2D)              (None, 6, 6, 4)           40        \n"
    "_________________________________________________________________\n"
    "batch_normalization (BatchNo (None, 6, 6, 4)           16        \n"
    "_________________________________________________________________\n"
    "global_average_pooling2d (Gl (None, 4)                 0         \n"
    "_________________________________________________________________\n"
    "dense (Dense)                (None, 1000)              5000      \n"
    "=================================================================\n"
    "Total params: 5,056\n"
    "Trainable params: 5,048\n"
    "Non-trainable params: 8\n"
    "_________________________________________________________________\n";

static void collect_text(void *ctx, const char *text)
{
    strcat((char *)ctx, text);
}

START_TEST(summary_prints_the_keras_table)
{
    bgm_model *m = NULL;
    char buf[4096] = "", small[32];
    size_t needed = 0;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){8, 8, 1}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(4, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_global_avg_pool2d()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1000, BGM_ACT_SOFTMAX)));
    BGM_ASSERT_OK(bgm_model_summary(m, collect_text, buf));
    ck_assert_str_eq(buf, small_summary);
    BGM_ASSERT_OK(bgm_model_summary_string(small, sizeof small, &needed, m));
    ck_assert_uint_eq(needed, strlen(small_summary) + 1);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    BGM_ASSERT_OK(bgm_model_summary_string(NULL, 0, &needed, m));
    BGM_ASSERT_FAILS(bgm_model_summary_string(NULL, 5, &needed, m), BGM_E_INVALID,
                     "buf is NULL");
    BGM_ASSERT_FAILS(bgm_model_summary(NULL, NULL, NULL), BGM_E_INVALID, "'m' is NULL");
    bgm_model_free(m);
}
END_TEST

/* ---- weights -------------------------------------------------------------- */

START_TEST(weights_live_in_one_buffer_in_keras_order)
{
    bgm_model *m = NULL;
    bgm_tensor *const *params;
    float *all;
    int n, i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(4, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    ck_assert_int_eq(bgm_model_num_weights(m), 8);
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "dense/kernel");
    ck_assert_str_eq(bgm_model_weight_name(m, 1), "dense/bias");
    ck_assert_str_eq(bgm_model_weight_name(m, 2), "batch_normalization/gamma");
    ck_assert_str_eq(bgm_model_weight_name(m, 5), "batch_normalization/moving_variance");
    ck_assert_int_eq(bgm_model_weight_trainable(m, 4), 0);
    ck_assert_int_eq(bgm_model_weight_trainable(m, 6), 1);
    ck_assert_ptr_null(bgm_model_weight(m, 8));
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &n, m));
    ck_assert_int_eq(n, 6);
    /* trainable tensors are consecutive in one buffer */
    for (i = 1; i < n; i++)
        ck_assert_ptr_eq((float *)bgm_tensor_data(params[i - 1]) +
                             bgm_tensor_numel(params[i - 1]),
                         bgm_tensor_data(params[i]));
    ck_assert_int_eq(bgm_model_num_params(m), 12 + 4 + 16 + 10);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 12 + 4 + 8 + 10);
    /* initial values: bias 0, gamma 1, moving variance 1, kernel within Glorot's limit */
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 1)))[0], 0.0f);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 2)))[3], 1.0f);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 5)))[0], 1.0f);
    for (i = 0; i < 12; i++) {
        float w = ((float *)bgm_tensor_data(bgm_model_weight(m, 0)))[i];
        ck_assert(fabsf(w) <= sqrtf(6.0f / 7.0f) && w != 0.0f);
    }
    all = malloc(42 * sizeof *all);
    BGM_ASSERT_OK(bgm_model_get_weights(m, all, 42));
    ck_assert_float_eq(all[12 + 4], 1.0f);   /* gamma follows dense's kernel and bias */
    all[0] = 123.0f;
    all[41] = -5.0f;
    BGM_ASSERT_OK(bgm_model_set_weights(m, all, 42));
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 0)))[0], 123.0f);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 7)))[1], -5.0f);
    BGM_ASSERT_FAILS(bgm_model_get_weights(m, all, 41), BGM_E_SHAPE,
                     "count = 41, the model has 42 weights");
    BGM_ASSERT_FAILS(bgm_model_set_weights(m, NULL, 42), BGM_E_INVALID, "'buf' is NULL");
    BGM_ASSERT_FAILS(bgm_model_trainable_params(NULL, &n, m), BGM_E_INVALID, "NULL");
    free(all);
    bgm_model_free(m);
}
END_TEST

START_TEST(same_seed_gives_the_same_weight_bits)
{
    bgm_model *a = demo_cnn(28, 28, 1), *b = demo_cnn(28, 28, 1), *c = NULL;
    int64_t n = bgm_model_num_params(a);
    float *wa = malloc((size_t)n * sizeof *wa), *wb = malloc((size_t)n * sizeof *wb);
    BGM_ASSERT_OK(bgm_model_get_weights(a, wa, n));
    BGM_ASSERT_OK(bgm_model_get_weights(b, wb, n));
    ck_assert_int_eq(memcmp(wa, wb, (size_t)n * sizeof *wa), 0);
    BGM_ASSERT_OK(bgm_model_create(&c, (int64_t[]){28, 28, 1}, 3, 43));
    BGM_ASSERT_OK(bgm_model_add(c, bgm_layer_conv2d(32, 3, BGM_ACT_RELU)));
    ck_assert_int_ne(memcmp(bgm_tensor_data(bgm_model_weight(c, 0)), wa, 288 * sizeof(float)),
                     0);
    free(wa);
    free(wb);
    bgm_model_free(a);
    bgm_model_free(b);
    bgm_model_free(c);
}
END_TEST

START_TEST(initializers_draw_with_their_scales)
{
    bgm_model *m = NULL;
    bgm_layer *he = bgm_layer_dense(200, BGM_ACT_RELU), *z = bgm_layer_dense(3, 0);
    const float *w;
    double sum2 = 0.0, limit = 2.0 * sqrt(2.0 / 100.0) / 0.87962566103423978;
    int i;
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(he, BGM_INIT_HE_NORMAL));
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(z, BGM_INIT_ZEROS));
    BGM_ASSERT_OK(bgm_layer_set_bias_initializer(z, BGM_INIT_ONES));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){100}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, he));
    BGM_ASSERT_OK(bgm_model_add(m, z));
    w = bgm_tensor_data(bgm_model_weight(m, 0));
    for (i = 0; i < 20000; i++) {
        ck_assert(fabs(w[i]) <= limit + 1e-6); /* truncated at 2 standard deviations */
        sum2 += (double)w[i] * w[i];
    }
    /* He: variance 2 / fan_in = 0.02 */
    ck_assert(fabs(sum2 / 20000 - 0.02) < 0.002);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 2)))[5], 0.0f);
    ck_assert_float_eq(((float *)bgm_tensor_data(bgm_model_weight(m, 3)))[2], 1.0f);
    bgm_model_free(m);
}
END_TEST

/* ---- layers at inference ------------------------------------------------ */

START_TEST(predict_runs_dense_with_the_given_weights)
{
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_tensor((int64_t[]){2, 3}, 2, (float[]){1, 2, 3, -1, 0, 1});
    bgm_tensor *y = NULL;
    /* kernel (3, 2), bias (2) */
    const float w[8] = {1, 0, 0, 1, 1, -1, 0.5f, -0.5f};
    /* x W + b: (1+3+.5, 2-3-.5) = (4.5, -1.5); (-1+1+.5, 0-1-.5) = (0.5, -1.5); relu */
    const float want[4] = {4.5f, 0, 0.5f, 0};
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_set_weights(m, w, 8));
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 1));
    bgm_test_assert_close(y, (int64_t[]){2, 2}, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(dropout_and_batch_norm_are_inference_mode_in_predict)
{
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){5, 4}, 2, 9), *y = NULL;
    const float *xv, *yv;
    int i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.5f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_activation(BGM_ACT_TANH)));
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 2));
    xv = bgm_tensor_data(x);
    yv = bgm_tensor_data(y);
    /* moving mean 0, variance 1: y = tanh(x / sqrt(1 + 1e-3)), no dropout */
    for (i = 0; i < 20; i++)
        ck_assert(fabs(yv[i] - tanh(xv[i] / sqrt(1.001))) < 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(training_forward_drops_and_updates_moving_statistics)
{
    bgm_model *m = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *x = bgm_test_tensor((int64_t[]){4, 2}, 2, (float[]){1, 10, 3, 10, 5, 10, 7, 10});
    bgm_tensor *y = NULL;
    const float *mean;
    int zeros = 0, i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&y, m, tape, x, 1));
    mean = bgm_tensor_data(bgm_model_weight(m, 2));
    /* Keras: moving = 0.99 * moving + 0.01 * batch mean (4, 10) */
    ck_assert(fabsf(mean[0] - 0.04f) < 1e-6f);
    ck_assert(fabsf(mean[1] - 0.10f) < 1e-6f);
    bgm_model_free(m);
    m = NULL;
    BGM_ASSERT_OK(bgm_tape_reset(tape));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.5f)));
    BGM_ASSERT_OK(bgm_model_forward(&y, m, tape, x, 1));
    for (i = 0; i < 8; i++) {
        float v = ((float *)bgm_tensor_data(y))[i], in = ((float *)bgm_tensor_data(x))[i];
        zeros += v == 0.0f;
        ck_assert(v == 0.0f || v == 2.0f * in);
    }
    ck_assert(zeros > 0 && zeros < 8);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* ---- predict is reentrant ------------------------------------------------ */

typedef struct predict_job {
    const bgm_model *m;
    const bgm_tensor *x;
    bgm_tensor *out;
    bgm_status status;
} predict_job;

static void *predict_thread(void *arg)
{
    predict_job *j = arg;
    int k;
    for (k = 0; k < 3; k++) {
        bgm_tensor_free(j->out);
        j->out = NULL;
        j->status = bgm_model_predict(&j->out, j->m, j->x, 7);
        if (j->status != BGM_OK)
            break;
    }
    return NULL;
}

START_TEST(two_threads_predict_with_one_model_as_one_thread_does)
{
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){50, 10, 10, 2}, 4, 5), *ref = NULL;
    predict_job jobs[2];
    pthread_t th[2];
    int i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){10, 10, 2}, 3, 11));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(8, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.3f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(5, BGM_ACT_SOFTMAX)));
    BGM_ASSERT_OK(bgm_model_predict(&ref, m, x, 7));
    for (i = 0; i < 2; i++) {
        jobs[i].m = m;
        jobs[i].x = x;
        jobs[i].out = NULL;
        ck_assert_int_eq(pthread_create(&th[i], NULL, predict_thread, &jobs[i]), 0);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        BGM_ASSERT_OK(jobs[i].status);
        ck_assert_int_eq(bgm_tensor_dim(jobs[i].out, 1), 5);
        ck_assert_int_eq(memcmp(bgm_tensor_data(jobs[i].out), bgm_tensor_data(ref),
                                bgm_tensor_nbytes(ref)), 0);
        bgm_tensor_free(jobs[i].out);
    }
    bgm_tensor_free(ref);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* predict alternates two tapes by layer; views (Flatten) and pass-through
 * layers (Dropout at inference) must survive the tape being reset (each
 * Flatten feeds a Dense wider than its input, whose output would overwrite
 * rows of its input not yet read if the view's memory were reused). */
START_TEST(predict_on_two_tapes_equals_forward_on_one)
{
    bgm_model *m = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){30, 8, 8, 3}, 4, 21), *got = NULL, *want;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){8, 8, 3}, 3, 5));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(6, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(64, BGM_ACT_TANH)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.5f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(100, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(7, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_activation(BGM_ACT_SOFTMAX)));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&want, m, tape, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&got, m, x, 0));
    ck_assert_int_eq(bgm_tensor_dim(got, 0), 30);
    ck_assert_int_eq(bgm_tensor_dim(got, 1), 7);
    ck_assert_int_eq(memcmp(bgm_tensor_data(got), bgm_tensor_data(want),
                            bgm_tensor_nbytes(want)), 0);
    bgm_tensor_free(got);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* ---- a custom training loop (tf.GradientTape) ----------------------------- */

START_TEST(custom_loop_with_forward_loss_gradient_and_step_learns)
{
    bgm_model *m = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *x = bgm_test_tensor((int64_t[]){4, 2}, 2, (float[]){0, 0, 0, 1, 1, 0, 1, 1});
    bgm_tensor *y = bgm_test_tensor((int64_t[]){4, 1}, 2, (float[]){0, 1, 1, 0});
    bgm_tensor *const *params;
    bgm_tensor *grads[4], *pred, *loss;
    float first = 0.0f, last = 0.0f;
    int n, step;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_TANH)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.05f), BGM_LOSS_BINARY_CROSSENTROPY, 1, NULL, 0));
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &n, m));
    ck_assert_int_eq(n, 4);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (step = 0; step < 300; step++) {
        BGM_ASSERT_OK(bgm_tape_reset(tape));
        BGM_ASSERT_OK(bgm_model_forward(&pred, m, tape, x, 1));
        BGM_ASSERT_OK(bgm_model_compute_loss(&loss, m, tape, y, pred));
        BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, params, n, grads));
        BGM_ASSERT_OK(bgm_optimizer_step(bgm_model_optimizer(m), params, grads, n));
        if (step == 0)
            first = *(float *)bgm_tensor_data(loss);
        last = *(float *)bgm_tensor_data(loss);
    }
    ck_assert_msg(first > 0.6f && last < 0.05f, "XOR loss %g -> %g", first, last);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(l2_penalty_adds_l2_times_the_squared_kernel)
{
    bgm_model *m = NULL;
    bgm_layer *d = bgm_layer_dense(2, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_tensor((int64_t[]){1, 2}, 2, (float[]){1, 1});
    bgm_tensor *y = bgm_test_tensor((int64_t[]){1, 2}, 2, (float[]){0, 0});
    const float w[6] = {1, 2, 3, 4, 0, 0}; /* pred (4, 6): mse 26; sum w^2 = 30 */
    double r[1];
    BGM_ASSERT_OK(bgm_layer_set_kernel_l2(d, 0.1f));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, d));
    BGM_ASSERT_OK(bgm_model_set_weights(m, w, 6));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(r, 1, m, x, y, 0));
    ck_assert(fabs(r[0] - (26.0 + 0.1 * 30.0)) < 1e-4);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- bad calls ----------------------------------------------------------- */

START_TEST(bad_create_and_compile_calls_say_what_is_wrong)
{
    bgm_model *m = NULL;
    int64_t shape[2] = {3, 0};
    BGM_ASSERT_FAILS(bgm_model_create(NULL, shape, 1, 1), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_model_create(&m, NULL, 1, 1), BGM_E_INVALID, "'input_shape'");
    BGM_ASSERT_FAILS(bgm_model_create(&m, shape, 0, 1), BGM_E_INVALID, "ndim = 0");
    BGM_ASSERT_FAILS(bgm_model_create(&m, shape, 2, 1), BGM_E_INVALID,
                     "input dimension 1 is 0");
    ck_assert_ptr_null(m);
    BGM_ASSERT_OK(bgm_model_create(&m, shape, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MSE, 0, NULL, 0), BGM_E_STATE,
                     "no layers");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_compile(m, NULL, BGM_LOSS_MSE, 0, NULL, 0), BGM_E_INVALID,
                     "'optimizer' is NULL");
    BGM_ASSERT_FAILS(bgm_model_compile(m, adam(0.1f), (bgm_loss_kind)42, 0, NULL, 0),
                     BGM_E_INVALID, "unknown loss 42");
    BGM_ASSERT_FAILS(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MAE, 1, NULL, 0),
                     BGM_E_INVALID, "from_logits applies to the cross-entropy losses");
    BGM_ASSERT_FAILS(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MSE, 0, NULL, 2),
                     BGM_E_INVALID, "nmetrics = 2");
    BGM_ASSERT_FAILS(bgm_model_compile(NULL, adam(0.1f), BGM_LOSS_MSE, 0, NULL, 0),
                     BGM_E_INVALID, "'m' is NULL");
    ck_assert_ptr_null(bgm_model_optimizer(m));
    ck_assert_int_eq(bgm_model_num_metrics(m), 0);
    BGM_ASSERT_FAILS(bgm_model_add_metric(m, BGM_METRIC_MAE, NULL), BGM_E_STATE,
                     "compile the model first");
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MSE, 0,
                                    (bgm_metric_kind[]){BGM_METRIC_MAE, BGM_METRIC_MAE}, 2));
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_MSE, NULL));
    ck_assert_int_eq(bgm_model_num_metrics(m), 4);
    ck_assert_str_eq(bgm_model_metric_name(m, 0), "loss");
    ck_assert_str_eq(bgm_model_metric_name(m, 2), "mae_1");
    ck_assert_str_eq(bgm_model_metric_name(m, 3), "mse");
    ck_assert_ptr_null(bgm_model_metric_name(m, 4));
    BGM_ASSERT_FAILS(bgm_model_add_metric(m, (bgm_metric_kind)77, NULL), BGM_E_INVALID, "77");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)), BGM_E_STATE,
                     "the model is compiled");
    bgm_model_free(m);
    bgm_model_free(NULL);
}
END_TEST

START_TEST(bad_predict_forward_and_evaluate_calls_say_what_is_wrong)
{
    bgm_model *m = NULL;
    bgm_tape *tape = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){4, 3}, 2, 1), *wrong = NULL, *out = NULL;
    bgm_tensor *xi = NULL, *y = NULL;
    double r[2];
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, (int64_t[]){4, 3}, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){4, 2}, 2));
    wrong = bgm_test_randn((int64_t[]){4, 5}, 2, 2);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, x, 0), BGM_E_STATE, "no layers");
    BGM_ASSERT_FAILS(bgm_model_forward(&out, m, tape, x, 0), BGM_E_STATE, "no layers");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, wrong, 0), BGM_E_SHAPE,
                     "x has shape (4, 5), the model expects (None, 3)");
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, xi, 0), BGM_E_DTYPE,
                     "x is int32, the model takes float32");
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, x, -1), BGM_E_INVALID, "batch_size = -1");
    BGM_ASSERT_FAILS(bgm_model_predict(NULL, m, x, 0), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_model_predict(&out, NULL, x, 0), BGM_E_INVALID, "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_forward(&out, m, NULL, x, 1), BGM_E_INVALID, "'tape'");
    BGM_ASSERT_FAILS(bgm_model_forward(&out, m, tape, wrong, 1), BGM_E_SHAPE,
                     "bgm_model_forward: x has shape (4, 5)");
    BGM_ASSERT_FAILS(bgm_model_evaluate(r, 2, m, x, y, 0), BGM_E_STATE, "compile");
    BGM_ASSERT_FAILS(bgm_model_compute_loss(&out, m, tape, y, x), BGM_E_STATE, "compile");
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.1f), BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_FAILS(bgm_model_evaluate(r, 0, m, x, y, 0), BGM_E_INVALID, "n = 0");
    BGM_ASSERT_FAILS(bgm_model_evaluate(r, 2, m, x, xi, 0), BGM_E_DTYPE,
                     "mean squared error needs float32 targets, y is int32");
    BGM_ASSERT_FAILS(bgm_model_evaluate(r, 2, m, x, wrong, 0), BGM_E_SHAPE,
                     "y has shape (4, 5), the model's output is (None, 2)");
    BGM_ASSERT_FAILS(bgm_model_evaluate_dataset(r, 2, m, NULL, 0), BGM_E_INVALID, "'ds'");
    ck_assert_ptr_null(out);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(xi);
    bgm_tensor_free(y);
    bgm_tensor_free(wrong);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, a_layer_that_cannot_take_its_input_fails_naming_it_and_both_shapes);
    tcase_add_test(tc, dense_on_images_applies_to_the_last_axis_as_keras);
    tcase_add_test(tc, conv_and_pool_reject_inputs_they_cannot_take);
    tcase_add_test(tc, add_takes_a_failed_constructor_and_keeps_its_message);
    tcase_add_test(tc, layers_get_keras_names_and_shapes);
    tcase_add_test(tc, user_names_must_be_unique_and_valid);
    tcase_add_test(tc, setters_check_kind_and_value);
    tcase_add_test(tc, a_layer_config_is_keras_json_of_its_fields);
    tcase_add_test(tc, same_padding_and_strides_give_tensorflow_shapes);
    tcase_add_test(tc, parameter_counts_equal_keras_for_the_tutorial_cnn);
    tcase_add_test(tc, summary_prints_the_keras_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("weights");
    tcase_add_test(tc, weights_live_in_one_buffer_in_keras_order);
    tcase_add_test(tc, same_seed_gives_the_same_weight_bits);
    tcase_add_test(tc, initializers_draw_with_their_scales);
    suite_add_tcase(s, tc);
    tc = tcase_create("inference");
    BGM_TEST_SLOW(tc, 20);
    tcase_add_test(tc, predict_runs_dense_with_the_given_weights);
    tcase_add_test(tc, dropout_and_batch_norm_are_inference_mode_in_predict);
    tcase_add_test(tc, training_forward_drops_and_updates_moving_statistics);
    tcase_add_test(tc, two_threads_predict_with_one_model_as_one_thread_does);
    tcase_add_test(tc, custom_loop_with_forward_loss_gradient_and_step_learns);
    tcase_add_test(tc, predict_on_two_tapes_equals_forward_on_one);
    tcase_add_test(tc, l2_penalty_adds_l2_times_the_squared_kernel);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad calls");
    tcase_add_test(tc, bad_create_and_compile_calls_say_what_is_wrong);
    tcase_add_test(tc, bad_predict_forward_and_evaluate_calls_say_what_is_wrong);
    suite_add_tcase(s, tc);
    return s;
}
