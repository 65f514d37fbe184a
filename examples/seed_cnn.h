/*
 * The seed CNN of the Keras tutorial, Conv2D(32) -> MaxPool -> Conv2D(64)
 * -> MaxPool -> Conv2D(64) -> Flatten -> Dense(64) -> Dense(10), with Adam on
 * sparse categorical cross-entropy from logits, and Fashion-MNIST from
 * Debian's package: shared by cifar10_cnn.c and ddp_fashion.c. A header of
 * the examples, not of the library: it defines the functions it declares.
 */
#ifndef SEED_CNN_H
#define SEED_CNN_H

#include <bigmodel.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

/* Fashion-MNIST's training and test sets, pixels as stored (0 to 255). */
static inline bgm_status fashion_load(bgm_dataset **train, bgm_dataset **test)
{
    bgm_status s = bgm_dataset_load_idx(train, FASHION "train-images-idx3-ubyte.gz",
                                        FASHION "train-labels-idx1-ubyte.gz");
    if (s == BGM_OK)
        s = bgm_dataset_load_idx(test, FASHION "t10k-images-idx3-ubyte.gz",
                                 FASHION "t10k-labels-idx1-ubyte.gz");
    return s;
}

/* Scales the pixels of both sets to [0, 1]. */
static inline bgm_status rescale_pixels(bgm_dataset *train, bgm_dataset *test)
{
    bgm_scaler *rescale = NULL;
    bgm_status s = bgm_scaler_rescale(&rescale, 255.0f);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(rescale, train);
    if (s == BGM_OK) s = bgm_scaler_transform_dataset_inplace(rescale, test);
    bgm_scaler_free(rescale);
    return s;
}

/* The model, for images of the given shape, compiled. */
static inline bgm_status seed_cnn_build(bgm_model **m, const int64_t *image_shape)
{
    bgm_optimizer *adam = NULL;
    bgm_status s = bgm_model_create(m, image_shape, 3, 42);
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(32, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_max_pool2d(2));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_max_pool2d(2));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(64, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_adam(&adam, BGM_ADAM_LEARNING_RATE, BGM_ADAM_BETA1,
                                            BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
    if (s == BGM_OK)
        s = bgm_model_compile(*m, adam, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                              /*from_logits*/ 1, (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
    return s;
}

#endif
