/*
 * What the model files share between saving and loading: the version of
 * the model layout inside the .bgm container and the names enums take in
 * files. Layer configurations come from each kind's table of fields.
 */
#ifndef BGM_MODEL_MODEL_FILE_H
#define BGM_MODEL_MODEL_FILE_H

#include "model/model_impl.h"

/* Version of the model layout (keys and tensor names) written in
 * "model.format_version": 2 holds the graph (nodes and their inbound
 * edges) and names weights "<layer>/<weight>"; readers read 1 and 2 and
 * reject newer ones. */
#define BGM__MODEL_FORMAT_VERSION 2

/* "model.type": Keras' class names. */
#define BGM__MODEL_TYPE_SEQUENTIAL "Sequential"
#define BGM__MODEL_TYPE_FUNCTIONAL "Functional"

/* The tensor holding an optimizer's slot buffer. */
#define BGM__SLOTS_TENSOR "optimizer/slots"

extern const bgm__enum_name bgm__loss_names[], bgm__metric_kind_names[],
    bgm__average_names[], bgm__optimizer_names[], bgm__schedule_names[], bgm__dtype_names[];

/* Tensor name of a weight in a model file of the given format version:
 * the weight's name ("dense/kernel") from version 2, "layer_<layer>/<weight>"
 * in version 1. */
void bgm__model_file_tensor_name(char *buf, size_t size, int version, int layer,
                                 const char *weight);

/* Adds layer l's kind and fields under prefix ("layers.3."; wrapped: a
 * Bidirectional's inner layer, without name and trainable flag). */
bgm_status bgm__model_put_layer(bgm_archive *a, const char *prefix, const bgm_layer *l,
                                int wrapped);

/* Adds m's architecture to a (model.type, format version, seed as the
 * creation seed, generator, layers, nodes): what a model file and a clone
 * share. */
bgm_status bgm__model_put_architecture(bgm_archive *a, const bgm_model *m, uint64_t seed);

/* A new model, freshly initialized from its seed, of the architecture in a
 * (keys as bgm__model_put_architecture writes them; weights, compile state
 * and generator state are not read). Errors name fn and src. */
bgm_status bgm__model_from_architecture(bgm_model **out, const bgm_archive *a,
                                        const char *src, const char *fn);

/* Size of a buffer for a model file tensor name. */
#define BGM__FILE_TENSOR_NAME_SIZE (BGM__WEIGHT_NAME_SIZE + 32)

#endif
