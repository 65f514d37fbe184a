/*
 * Names of model files: the text an enum value takes in a file (Keras'
 * spelling where Keras has one), and the configuration fields of each
 * layer kind. Files store names rather than enum numbers so they read like
 * a Keras config and survive a renumbering the ABI would never allow anyway.
 */
#include "model/model_file.h"

#include <stdio.h>
#include <string.h>

#include "optim/schedule.h"

const bgm__enum_name bgm__activation_names[] = {
    {BGM_ACT_LINEAR, "linear"},   {BGM_ACT_RELU, "relu"},
    {BGM_ACT_SIGMOID, "sigmoid"}, {BGM_ACT_TANH, "tanh"},
    {BGM_ACT_SOFTMAX, "softmax"}, {BGM_ACT_LEAKY_RELU, "leaky_relu"},
    {BGM_ACT_GELU, "gelu"},       {0, NULL}};

const bgm__enum_name bgm__initializer_names[] = {
    {BGM_INIT_GLOROT_UNIFORM, "glorot_uniform"}, {BGM_INIT_GLOROT_NORMAL, "glorot_normal"},
    {BGM_INIT_HE_NORMAL, "he_normal"},           {BGM_INIT_HE_UNIFORM, "he_uniform"},
    {BGM_INIT_ZEROS, "zeros"},                   {BGM_INIT_ONES, "ones"},
    {BGM_INIT_ORTHOGONAL, "orthogonal"},         {BGM_INIT_RANDOM_UNIFORM, "random_uniform"},
    {0, NULL}};

const bgm__enum_name bgm__padding_names[] = {
    {BGM_PADDING_VALID, "valid"}, {BGM_PADDING_SAME, "same"}, {0, NULL}};

const bgm__enum_name bgm__loss_names[] = {
    {BGM_LOSS_MSE, "mean_squared_error"},
    {BGM_LOSS_MAE, "mean_absolute_error"},
    {BGM_LOSS_BINARY_CROSSENTROPY, "binary_crossentropy"},
    {BGM_LOSS_CATEGORICAL_CROSSENTROPY, "categorical_crossentropy"},
    {BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, "sparse_categorical_crossentropy"},
    {0, NULL}};

const bgm__enum_name bgm__metric_kind_names[] = {
    {BGM_METRIC_ACCURACY, "accuracy"}, {BGM_METRIC_TOP_K_ACCURACY, "top_k_accuracy"},
    {BGM_METRIC_PRECISION, "precision"}, {BGM_METRIC_RECALL, "recall"},
    {BGM_METRIC_F1, "f1"},               {BGM_METRIC_AUC, "auc"},
    {BGM_METRIC_MSE, "mse"},             {BGM_METRIC_MAE, "mae"},
    {BGM_METRIC_R2, "r2"},               {0, NULL}};

const bgm__enum_name bgm__average_names[] = {
    {BGM_AVERAGE_BINARY, "binary"}, {BGM_AVERAGE_MACRO, "macro"},
    {BGM_AVERAGE_MICRO, "micro"},   {BGM_AVERAGE_WEIGHTED, "weighted"},
    {0, NULL}};

const bgm__enum_name bgm__optimizer_names[] = {
    {BGM_OPTIMIZER_SGD, "sgd"},   {BGM_OPTIMIZER_ADAM, "adam"},
    {BGM_OPTIMIZER_ADAMW, "adamw"}, {BGM_OPTIMIZER_RMSPROP, "rmsprop"},
    {0, NULL}};

const bgm__enum_name bgm__schedule_names[] = {
    {BGM__SCHED_CONSTANT, "constant"},
    {BGM__SCHED_STEP, "step_decay"},
    {BGM__SCHED_EXPONENTIAL, "exponential_decay"},
    {BGM__SCHED_COSINE, "cosine_decay"},
    {0, NULL}};

const char *bgm__enum_to_name(const bgm__enum_name *table, int value)
{
    for (; table->name; table++)
        if (table->value == value)
            return table->name;
    return NULL;
}

int bgm__enum_from_name(const bgm__enum_name *table, const char *name, int *value)
{
    for (; table->name; table++)
        if (strcmp(table->name, name) == 0) {
            *value = table->value;
            return 1;
        }
    return 0;
}

static const bgm__layer_kind kinds[] = {
    {&bgm__dense_ops, BGM__CFG_UNITS | BGM__CFG_ACTIVATION | BGM__CFG_BIAS |
                          BGM__CFG_KERNEL_INIT | BGM__CFG_L2},
    {&bgm__conv2d_ops, BGM__CFG_FILTERS | BGM__CFG_KERNEL_SIZE | BGM__CFG_STRIDES |
                           BGM__CFG_PADDING | BGM__CFG_ACTIVATION | BGM__CFG_BIAS |
                           BGM__CFG_KERNEL_INIT | BGM__CFG_L2},
    {&bgm__max_pool2d_ops, BGM__CFG_POOL_SIZE | BGM__CFG_STRIDES | BGM__CFG_PADDING},
    {&bgm__avg_pool2d_ops, BGM__CFG_POOL_SIZE | BGM__CFG_STRIDES | BGM__CFG_PADDING},
    {&bgm__global_avg_pool2d_ops, 0},
    {&bgm__flatten_ops, 0},
    {&bgm__dropout_ops, BGM__CFG_RATE},
    {&bgm__batch_norm_ops, BGM__CFG_NORM},
    {&bgm__activation_ops, BGM__CFG_ACTIVATION},
    {&bgm__embedding_ops, BGM__CFG_EMBEDDING},
    {&bgm__lstm_ops, BGM__CFG_UNITS | BGM__CFG_BIAS | BGM__CFG_KERNEL_INIT |
                         BGM__CFG_RECURRENT},
    {&bgm__gru_ops, BGM__CFG_UNITS | BGM__CFG_BIAS | BGM__CFG_KERNEL_INIT |
                        BGM__CFG_RECURRENT},
    {&bgm__bidirectional_ops, BGM__CFG_WRAPPED},
};

#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const bgm__layer_kind *bgm__layer_kind_by_name(const char *kind)
{
    int i;
    for (i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].ops->kind, kind) == 0)
            return &kinds[i];
    return NULL;
}

const bgm__layer_kind *bgm__layer_kind_of(const bgm__layer_ops *ops)
{
    int i;
    for (i = 0; i < NKINDS; i++)
        if (kinds[i].ops == ops)
            return &kinds[i];
    return NULL;
}

void bgm__model_file_tensor_name(char *buf, size_t size, int layer, const char *weight)
{
    snprintf(buf, size, "layer_%d/%s", layer, weight);
}
