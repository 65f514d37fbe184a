/*
 * Keras' warnings about a compiled model that is likely wrong, sent to the
 * model's log (bgm_model_set_log) when compile succeeds. The texts are
 * Keras' own, so that people recognise them.
 */
#include "train/train.h"

#include <stddef.h>

/* Keras' name of a loss, as its warnings spell it. */
static const char *keras_loss_name(bgm_loss_kind loss)
{
    switch (loss) {
    case BGM_LOSS_BINARY_CROSSENTROPY:
        return "binary_crossentropy";
    case BGM_LOSS_CATEGORICAL_CROSSENTROPY:
        return "categorical_crossentropy";
    case BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
        return "sparse_categorical_crossentropy";
    default:
        return NULL;
    }
}

/* The activation layer l applies last, or BGM_ACT_LINEAR for a kind without one. */
static bgm_activation last_activation(const bgm_layer *l)
{
    if (!bgm__layer_field(l->ops, offsetof(bgm_layer, activation), "activation"))
        return BGM_ACT_LINEAR;
    return l->activation;
}

/* 1 when l's output has a last axis of size 1; its batch shape then goes to
 * shape ("(None, 1)"). */
static int one_unit(const bgm_layer *l, char *shape, size_t size)
{
    if (l->out_ndim == 0 || l->out_shape[l->out_ndim - 1] != 1)
        return 0;
    bgm__batch_shape_str(shape, size, l->out_shape, l->out_ndim);
    return 1;
}

/* The layer that makes output j, or NULL for an output that is an input. */
static const bgm_layer *output_layer(const bgm_model *m, int j)
{
    int layer = m->steps[m->output_step[j]].layer;
    return layer >= 0 ? m->layers[layer] : NULL;
}

static void warn_output(const bgm_model *m, int j)
{
    const bgm__output_spec *o = &m->out_specs[j];
    const bgm_layer *l = output_layer(m, j);
    const char *loss = keras_loss_name(o->loss);
    char shape[BGM__SHAPE_STR_SIZE];
    bgm_activation act;
    if (!l || !loss)
        return;
    act = last_activation(l);
    if (o->from_logits && ((act == BGM_ACT_SOFTMAX && o->loss != BGM_LOSS_BINARY_CROSSENTROPY) ||
                           (act == BGM_ACT_SIGMOID && o->loss == BGM_LOSS_BINARY_CROSSENTROPY)))
        bgm__model_warn(m, "\"`%s` received `from_logits=True`, but the `output` argument "
                        "was produced by a %s activation and thus does not represent "
                        "logits. Was this intended?\" (output '%s', layer '%s')", loss,
                        act == BGM_ACT_SOFTMAX ? "Softmax" : "Sigmoid", o->name, l->name);
    if (o->loss == BGM_LOSS_CATEGORICAL_CROSSENTROPY && one_unit(l, shape, sizeof shape))
        bgm__model_warn(m, "In loss categorical_crossentropy, expected y_pred.shape to be "
                        "(batch_size, num_classes) with num_classes > 1. Received: "
                        "y_pred.shape=%s. Consider using 'binary_crossentropy' if you only "
                        "have 2 classes. (output '%s')", shape, o->name);
}

void bgm__compile_warnings(const bgm_model *m)
{
    char shape[BGM__SHAPE_STR_SIZE];
    int i;
    if (!m->log)
        return;
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        if (last_activation(l) == BGM_ACT_SOFTMAX && one_unit(l, shape, sizeof shape))
            bgm__model_warn(m, "You are using a softmax over axis -1 of a tensor of shape "
                            "%s. This axis has size 1. The softmax operation will always "
                            "return the value 1, which is likely not what you intended. Did "
                            "you mean to use a sigmoid instead? (layer '%s')", shape, l->name);
    }
    for (i = 0; i < m->noutputs; i++)
        warn_output(m, i);
}
