/*
 * Names in model files: the text an enum value takes in a file (Keras'
 * spelling where Keras has one; the layer enums live with the layers).
 * Files store names rather than enum numbers so they read like a Keras
 * config and survive a renumbering the ABI would never allow anyway.
 */
#include "model/model_file.h"

#include <stdio.h>
#include <string.h>

#include "optim/schedule.h"

const bgm__enum_name bgm__loss_names[] = {
    {BGM_LOSS_MSE, "mean_squared_error"},
    {BGM_LOSS_MAE, "mean_absolute_error"},
    {BGM_LOSS_BINARY_CROSSENTROPY, "binary_crossentropy"},
    {BGM_LOSS_CATEGORICAL_CROSSENTROPY, "categorical_crossentropy"},
    {BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, "sparse_categorical_crossentropy"},
    {BGM_LOSS_CUSTOM, "custom"},
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

const bgm__enum_name bgm__dtype_names[] = {
    {BGM_FLOAT32, "float32"}, {BGM_INT32, "int32"}, {0, NULL}};

void bgm__model_file_tensor_name(char *buf, size_t size, int version, int layer,
                                 const char *weight)
{
    if (version >= 2)
        snprintf(buf, size, "%s", weight);
    else
        snprintf(buf, size, "layer_%d/%s", layer, weight);
}
