/*
 * Writes the model files of test/data/v1 with the release that wrote model
 * format v1 (commit 272a372): a CNN and a text model, each trained a little
 * so its optimizer state is not empty, the inputs the test predicts on and
 * the predictions that release made. Built against that release:
 *     cc -std=c11 -Iinclude make_v1_models.c -Lbuild -lbigmodel -o make_v1
 */
#include <bigmodel.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(expr)                                                                    \
    do {                                                                               \
        if ((expr) != BGM_OK) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, bgm_last_error());      \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

static void train(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y, int epochs)
{
    bgm_fit_options fo;
    CHECK(bgm_fit_options_init(&fo, sizeof fo));
    fo.epochs = epochs;
    fo.batch_size = 8;
    fo.verbose = 0;
    CHECK(bgm_model_fit(NULL, m, x, y, &fo));
}

static void predict_and_save(bgm_model *m, const bgm_tensor *x, const char *name)
{
    char path[256];
    bgm_tensor *y = NULL;
    CHECK(bgm_model_predict(&y, m, x, 0));
    snprintf(path, sizeof path, "%s.bgm", name);
    CHECK(bgm_model_save(m, path, 0));
    snprintf(path, sizeof path, "%s_x.npy", name);
    CHECK(bgm_npy_save(x, path));
    snprintf(path, sizeof path, "%s_y.npy", name);
    CHECK(bgm_npy_save(y, path));
    bgm_tensor_free(y);
}

int main(void)
{
    bgm_rng *rng = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *opt = NULL;
    bgm_layer *conv = bgm_layer_conv2d(8, 3, BGM_ACT_RELU);
    bgm_layer *lstm = bgm_layer_lstm(6), *emb = bgm_layer_embedding(50, 8);
    bgm_tensor *x = NULL, *y = NULL;
    bgm_metric_kind acc = BGM_METRIC_ACCURACY;
    int64_t i;
    CHECK(bgm_rng_create(&rng, 2026));

    /* A CNN on (10, 10, 1) images, 10 classes. */
    CHECK(bgm_tensor_randn(&x, rng, (int64_t[]){32, 10, 10, 1}, 4, 0.0f, 1.0f));
    CHECK(bgm_tensor_zeros(&y, BGM_INT32, (int64_t[]){32}, 1));
    for (i = 0; i < 32; i++)
        ((int32_t *)bgm_tensor_data(y))[i] = (int32_t)(i % 10);
    CHECK(bgm_model_create(&m, (int64_t[]){10, 10, 1}, 3, 7));
    CHECK(bgm_layer_set_padding(conv, BGM_PADDING_SAME));
    CHECK(bgm_model_add(m, conv));
    CHECK(bgm_model_add(m, bgm_layer_batch_norm()));
    CHECK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    CHECK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    CHECK(bgm_model_add(m, bgm_layer_flatten()));
    CHECK(bgm_model_add(m, bgm_layer_dense(16, BGM_ACT_RELU)));
    CHECK(bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR)));
    CHECK(bgm_optimizer_adam(&opt, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON));
    CHECK(bgm_model_compile(m, opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, &acc, 1));
    train(m, x, y, 2);
    predict_and_save(m, x, "cnn");
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);

    /* A text model on 12 token ids, padding 0 masked. */
    CHECK(bgm_tensor_zeros(&x, BGM_INT32, (int64_t[]){16, 12}, 2));
    CHECK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){16, 1}, 2));
    for (i = 0; i < 16 * 12; i++)
        ((int32_t *)bgm_tensor_data(x))[i] = i % 12 < (i / 12) % 5 ? 0
                                              : (int32_t)(bgm_rng_next_u64(rng) % 49 + 1);
    for (i = 0; i < 16; i++)
        ((float *)bgm_tensor_data(y))[i] = (float)(i % 2);
    CHECK(bgm_model_create(&m, (int64_t[]){12}, 1, 8));
    CHECK(bgm_layer_set_mask_zero(emb, 1));
    CHECK(bgm_model_add(m, emb));
    CHECK(bgm_model_add(m, bgm_layer_bidirectional(lstm)));
    CHECK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_SIGMOID)));
    CHECK(bgm_optimizer_sgd(&opt, 0.05f, 0.9f, 0));
    CHECK(bgm_model_compile(m, opt, BGM_LOSS_BINARY_CROSSENTROPY, 0, &acc, 1));
    train(m, x, y, 1);
    predict_and_save(m, x, "text");
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_rng_free(rng);
    return 0;
}
