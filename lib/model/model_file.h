/*
 * What the model files share between saving and loading: the version
 * of the model layout inside the .bgm container, the names enums take in
 * files, and which configuration fields each layer kind stores.
 */
#ifndef BGM_MODEL_MODEL_FILE_H
#define BGM_MODEL_MODEL_FILE_H

#include "model/model_impl.h"

/* Version of the model layout (keys and tensor names) written in
 * "model.format_version"; readers reject newer ones. */
#define BGM__MODEL_FORMAT_VERSION 1

/* "Sequential", the value of "model.type". */
#define BGM__MODEL_TYPE "Sequential"

/* The tensor holding an optimizer's slot buffer. */
#define BGM__SLOTS_TENSOR "optimizer/slots"

/* An enum value and its name in files ("relu", "same", "adam", ...). */
typedef struct bgm__enum_name {
    int value;
    const char *name;
} bgm__enum_name;

extern const bgm__enum_name bgm__activation_names[], bgm__initializer_names[],
    bgm__padding_names[], bgm__loss_names[], bgm__metric_kind_names[],
    bgm__average_names[], bgm__optimizer_names[], bgm__schedule_names[];

/* Name of value in table (NULL-terminated), or NULL when it has none. */
const char *bgm__enum_to_name(const bgm__enum_name *table, int value);

/* Value named name in table into *value; 0 when the name is unknown. */
int bgm__enum_from_name(const bgm__enum_name *table, const char *name, int *value);

/* Configuration fields a layer kind stores, besides kind, name and trainable. */
enum {
    BGM__CFG_UNITS = 1 << 0,           /* "units" (Dense, LSTM, GRU) */
    BGM__CFG_FILTERS = 1 << 1,         /* "filters" (Conv2D; held in units) */
    BGM__CFG_KERNEL_SIZE = 1 << 2,     /* "kernel_size" [kh, kw] */
    BGM__CFG_POOL_SIZE = 1 << 3,       /* "pool_size" [kh, kw] */
    BGM__CFG_STRIDES = 1 << 4,         /* "strides" [sh, sw] */
    BGM__CFG_PADDING = 1 << 5,         /* "padding" */
    BGM__CFG_ACTIVATION = 1 << 6,      /* "activation", "leaky_relu_alpha" */
    BGM__CFG_BIAS = 1 << 7,            /* "use_bias", "bias_initializer" */
    BGM__CFG_KERNEL_INIT = 1 << 8,     /* "kernel_initializer" */
    BGM__CFG_L2 = 1 << 9,              /* "kernel_l2" */
    BGM__CFG_RATE = 1 << 10,           /* "rate" (Dropout) */
    BGM__CFG_NORM = 1 << 11,           /* "momentum", "epsilon" */
    BGM__CFG_EMBEDDING = 1 << 12,      /* "input_dim", "output_dim",
                                          "embeddings_initializer", "mask_zero" */
    BGM__CFG_RECURRENT = 1 << 13,      /* "return_sequences", "dropout",
                                          "recurrent_dropout" */
    BGM__CFG_WRAPPED = 1 << 14         /* the wrapped layer under "<prefix>layer." */
};

/* The kind named kind ("Dense") and its fields; NULL when unknown. */
typedef struct bgm__layer_kind {
    const bgm__layer_ops *ops;
    unsigned fields;
} bgm__layer_kind;

const bgm__layer_kind *bgm__layer_kind_by_name(const char *kind);
const bgm__layer_kind *bgm__layer_kind_of(const bgm__layer_ops *ops);

/* Tensor name of a weight in a model file: "layer_<layer>/<weight>", weight
 * being the model's name for it ("dense/kernel"). */
void bgm__model_file_tensor_name(char *buf, size_t size, int layer, const char *weight);

/* Size of a buffer for a model file tensor name. */
#define BGM__FILE_TENSOR_NAME_SIZE (BGM__WEIGHT_NAME_SIZE + 32)

#endif
