/*
 * bgm_model_save: a model as a .bgm archive. Metadata holds the
 * architecture (each layer's kind and configuration), the compile state
 * (loss, metrics, optimizer hyperparameters, schedule), the generator's
 * state and the epoch count; tensors hold the weights and the optimizer's
 * slot buffer. docs/file-format.md lists every key.
 */
#include "model/model_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/optimizer_config.h"

#define KEY_SIZE 96

/* Adds "<prefix><field>" with an int64 / float64 / string / int64 pair. */
static bgm_status put_int(bgm_archive *a, const char *prefix, const char *field, int64_t v)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "%s%s", prefix, field);
    return bgm_archive_add_int64(a, key, v);
}

static bgm_status put_float(bgm_archive *a, const char *prefix, const char *field, double v)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "%s%s", prefix, field);
    return bgm_archive_add_float64(a, key, v);
}

static bgm_status put_str(bgm_archive *a, const char *prefix, const char *field,
                          const char *v)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "%s%s", prefix, field);
    return bgm_archive_add_string(a, key, v);
}

static bgm_status put_pair(bgm_archive *a, const char *prefix, const char *field,
                           int64_t v0, int64_t v1)
{
    char key[KEY_SIZE];
    int64_t v[2];
    v[0] = v0;
    v[1] = v1;
    snprintf(key, sizeof key, "%s%s", prefix, field);
    return bgm_archive_add_int64_array(a, key, v, 2);
}

/* Checks that m is a Sequential model of layer kinds files know. */
static bgm_status check_kinds(const bgm_model *m, const char *fn)
{
    int i;
    if (!m->sequential)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: model files (format %d) hold Sequential "
                         "models; graph models are not written yet (bgm_model_get_weights "
                         "copies their weights)", fn, BGM__MODEL_FORMAT_VERSION);
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        const bgm_layer *inner = l->inner;
        if (!bgm__layer_kind_of(l->ops))
            return bgm__fail(BGM_E_UNSUPPORTED, "%s: layer %d '%s' (%s): model files do "
                             "not know this layer kind yet", fn, i, l->name, l->ops->kind);
        if (inner && !bgm__layer_kind_of(inner->ops))
            return bgm__fail(BGM_E_UNSUPPORTED, "%s: layer %d '%s' (%s) wraps a %s layer, "
                             "which model files do not know yet", fn, i, l->name,
                             l->ops->kind, inner->ops->kind);
    }
    return BGM_OK;
}

/* The configuration of l under prefix ("layers.3." or "layers.3.layer."). */
static bgm_status put_layer(bgm_archive *a, const char *prefix, const bgm_layer *l,
                            int wrapped)
{
    const bgm__layer_kind *k = bgm__layer_kind_of(l->ops);
    unsigned f = k->fields;
    bgm_status s = put_str(a, prefix, "kind", l->ops->kind);
    if (s == BGM_OK && !wrapped)
        s = put_str(a, prefix, "name", l->name);
    if (s == BGM_OK && !wrapped)
        s = put_int(a, prefix, "trainable", l->trainable);
    if (s == BGM_OK && (f & BGM__CFG_UNITS))
        s = put_int(a, prefix, "units", l->units);
    if (s == BGM_OK && (f & BGM__CFG_FILTERS))
        s = put_int(a, prefix, "filters", l->units);
    if (s == BGM_OK && (f & BGM__CFG_KERNEL_SIZE))
        s = put_pair(a, prefix, "kernel_size", l->kh, l->kw);
    if (s == BGM_OK && (f & BGM__CFG_POOL_SIZE))
        s = put_pair(a, prefix, "pool_size", l->kh, l->kw);
    if (s == BGM_OK && (f & BGM__CFG_STRIDES))
        s = put_pair(a, prefix, "strides", l->sh, l->sw);
    if (s == BGM_OK && (f & BGM__CFG_PADDING))
        s = put_str(a, prefix, "padding", bgm__enum_to_name(bgm__padding_names, l->padding));
    if (s == BGM_OK && (f & BGM__CFG_ACTIVATION))
        s = put_str(a, prefix, "activation",
                    bgm__enum_to_name(bgm__activation_names, l->activation));
    if (s == BGM_OK && (f & BGM__CFG_ACTIVATION))
        s = put_float(a, prefix, "leaky_relu_alpha", l->leaky_alpha);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = put_int(a, prefix, "use_bias", l->use_bias);
    if (s == BGM_OK && (f & BGM__CFG_BIAS))
        s = put_str(a, prefix, "bias_initializer",
                    bgm__enum_to_name(bgm__initializer_names, l->bias_init));
    if (s == BGM_OK && (f & BGM__CFG_KERNEL_INIT))
        s = put_str(a, prefix, "kernel_initializer",
                    bgm__enum_to_name(bgm__initializer_names, l->kernel_init));
    if (s == BGM_OK && (f & BGM__CFG_L2))
        s = put_float(a, prefix, "kernel_l2", l->l2);
    if (s == BGM_OK && (f & BGM__CFG_RATE))
        s = put_float(a, prefix, "rate", l->rate);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = put_float(a, prefix, "momentum", l->momentum);
    if (s == BGM_OK && (f & BGM__CFG_NORM))
        s = put_float(a, prefix, "epsilon", l->epsilon);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = put_int(a, prefix, "input_dim", l->input_dim);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = put_int(a, prefix, "output_dim", l->units);
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = put_str(a, prefix, "embeddings_initializer",
                    bgm__enum_to_name(bgm__initializer_names, l->kernel_init));
    if (s == BGM_OK && (f & BGM__CFG_EMBEDDING))
        s = put_int(a, prefix, "mask_zero", l->mask_zero);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = put_int(a, prefix, "return_sequences", l->return_sequences);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = put_float(a, prefix, "dropout", l->dropout);
    if (s == BGM_OK && (f & BGM__CFG_RECURRENT))
        s = put_float(a, prefix, "recurrent_dropout", l->recurrent_dropout);
    if (s == BGM_OK && (f & BGM__CFG_WRAPPED)) {
        char inner[KEY_SIZE];
        snprintf(inner, sizeof inner, "%slayer.", prefix);
        s = put_layer(a, inner, l->inner, 1);
    }
    return s;
}

static bgm_status put_architecture(bgm_archive *a, const bgm_model *m)
{
    int64_t rng[6];
    uint32_t spare;
    int i;
    int ndim;
    const int64_t *shape = bgm_model_input_shape(m, &ndim);
    bgm_status s = bgm_archive_add_string(a, "model.type", BGM__MODEL_TYPE);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.format_version", BGM__MODEL_FORMAT_VERSION);
    if (s == BGM_OK)
        s = bgm_archive_add_int64_array(a, "model.input_shape", shape, ndim);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.seed", (int64_t)m->seed);
    /* The generator, spare normal included, so dropout and shuffles continue. */
    for (i = 0; i < 4; i++)
        rng[i] = (int64_t)m->rng.s[i];
    memcpy(&spare, &m->rng.spare, sizeof spare);
    rng[4] = m->rng.has_spare;
    rng[5] = spare;
    if (s == BGM_OK)
        s = bgm_archive_add_int64_array(a, "model.rng_state", rng, 6);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.epochs_completed", m->epochs_done);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.num_layers", m->nlayers);
    for (i = 0; s == BGM_OK && i < m->nlayers; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "layers.%d.", i);
        s = put_layer(a, prefix, m->layers[i], 0);
    }
    return s;
}

static bgm_status put_weights(bgm_archive *a, const bgm_model *m)
{
    char name[BGM__FILE_TENSOR_NAME_SIZE];
    bgm_status s = BGM_OK;
    int i;
    for (i = 0; s == BGM_OK && i < m->nweights; i++) {
        bgm__model_file_tensor_name(name, sizeof name, m->weights[i].layer,
                                    m->weights[i].name);
        s = bgm_archive_add_tensor(a, name, m->weights[i].view);
    }
    return s;
}

static bgm_status put_schedule(bgm_archive *a, const bgm_lr_schedule *sch, const char *fn)
{
    const char *p = "optimizer.schedule.";
    bgm_status s;
    if (sch->kind == BGM__SCHED_CALLBACK)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: the optimizer's learning-rate schedule "
                         "is a C callback, which a file cannot hold; detach it "
                         "(bgm_optimizer_set_schedule(opt, NULL)) before saving and "
                         "attach it again after loading", fn);
    s = put_str(a, p, "kind", bgm__enum_to_name(bgm__schedule_names, sch->kind));
    if (s == BGM_OK)
        s = put_float(a, p, "learning_rate", sch->lr);
    if (s == BGM_OK)
        s = put_int(a, p, "steps", sch->steps);
    if (s == BGM_OK)
        s = put_float(a, p, "rate", sch->rate);
    if (s == BGM_OK)
        s = put_int(a, p, "staircase", sch->staircase);
    if (s == BGM_OK)
        s = put_int(a, p, "warmup_steps", sch->warmup_steps);
    if (s == BGM_OK)
        s = put_float(a, p, "warmup_learning_rate", sch->warmup_start_lr);
    return s;
}

static bgm_status put_optimizer(bgm_archive *a, const bgm_optimizer *opt, const char *fn)
{
    const char *p = "optimizer.";
    bgm__optimizer_config c;
    int64_t size = bgm_optimizer_state_size(opt), step = bgm_optimizer_step_count(opt);
    int built;
    bgm_status s;
    bgm__optimizer_get_config(opt, &c);
    s = put_str(a, p, "kind", bgm__enum_to_name(bgm__optimizer_names, c.kind));
    if (s == BGM_OK)
        s = put_float(a, p, "learning_rate", c.lr);
    if (s == BGM_OK && (c.kind == BGM_OPTIMIZER_SGD || c.kind == BGM_OPTIMIZER_RMSPROP))
        s = put_float(a, p, "momentum", c.momentum);
    if (s == BGM_OK && c.kind == BGM_OPTIMIZER_SGD)
        s = put_int(a, p, "nesterov", c.nesterov);
    if (s == BGM_OK && (c.kind == BGM_OPTIMIZER_ADAM || c.kind == BGM_OPTIMIZER_ADAMW))
        s = put_float(a, p, "beta_1", c.beta1);
    if (s == BGM_OK && (c.kind == BGM_OPTIMIZER_ADAM || c.kind == BGM_OPTIMIZER_ADAMW))
        s = put_float(a, p, "beta_2", c.beta2);
    if (s == BGM_OK && c.kind == BGM_OPTIMIZER_RMSPROP)
        s = put_float(a, p, "rho", c.rho);
    if (s == BGM_OK && c.kind != BGM_OPTIMIZER_SGD)
        s = put_float(a, p, "epsilon", c.epsilon);
    if (s == BGM_OK && c.kind == BGM_OPTIMIZER_ADAMW)
        s = put_float(a, p, "weight_decay", c.weight_decay);
    if (s == BGM_OK)
        s = put_float(a, p, "clipnorm", c.clipnorm);
    if (s == BGM_OK)
        s = put_float(a, p, "global_clipnorm", c.global_clipnorm);
    if (s == BGM_OK)
        s = put_float(a, p, "clipvalue", c.clipvalue);
    if (s == BGM_OK && c.schedule)
        s = put_schedule(a, c.schedule, fn);
    built = c.built;
    if (s == BGM_OK)
        s = put_int(a, p, "built", built);
    if (s == BGM_OK)
        s = put_int(a, p, "iterations", step);
    if (s == BGM_OK && built && size > 0) {
        bgm_tensor *slots = NULL;
        s = bgm_tensor_zeros(&slots, BGM_FLOAT32, &size, 1);
        if (s == BGM_OK)
            s = bgm_optimizer_get_state(opt, bgm_tensor_data(slots), size, NULL);
        if (s == BGM_OK)
            s = bgm_archive_add_tensor(a, BGM__SLOTS_TENSOR, slots);
        bgm_tensor_free(slots);
    }
    return s;
}

static bgm_status put_compile(bgm_archive *a, const bgm_model *m, const char *fn)
{
    bgm_status s;
    int i;
    if (!m->optimizer)
        return BGM_OK;
    s = bgm_archive_add_string(a, "compile.loss", bgm__enum_to_name(bgm__loss_names, m->loss));
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "compile.from_logits", m->from_logits);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "compile.num_metrics", m->nmetrics);
    for (i = 0; s == BGM_OK && i < m->nmetrics; i++) {
        const bgm__metric_spec *sp = &m->metrics[i];
        const char *avg = bgm__enum_to_name(bgm__average_names, sp->opts.average);
        char prefix[48];
        snprintf(prefix, sizeof prefix, "compile.metrics.%d.", i);
        s = put_str(a, prefix, "kind", bgm__enum_to_name(bgm__metric_kind_names, sp->kind));
        if (s == BGM_OK)
            s = put_int(a, prefix, "num_classes", sp->opts.num_classes);
        if (s == BGM_OK)
            s = put_int(a, prefix, "k", sp->opts.k);
        if (s == BGM_OK)
            s = put_str(a, prefix, "average", avg ? avg : "binary");
        if (s == BGM_OK)
            s = put_int(a, prefix, "pos_label", sp->opts.pos_label);
        if (s == BGM_OK)
            s = put_float(a, prefix, "threshold", sp->opts.threshold);
        if (s == BGM_OK)
            s = put_float(a, prefix, "zero_division", sp->opts.zero_division);
    }
    if (s == BGM_OK)
        s = put_optimizer(a, m->optimizer, fn);
    return s;
}

BGM_API bgm_status bgm_model_save(const bgm_model *m, const char *path, unsigned flags)
{
    static const char *fn = "bgm_model_save";
    char msg[1024];
    bgm_archive *a = NULL;
    bgm_status s;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    if (flags & ~BGM_ARCHIVE_COMPRESS)
        return bgm__fail(BGM_E_INVALID, "%s: unknown flag bits 0x%x (only "
                         "BGM_ARCHIVE_COMPRESS is defined)", fn, flags & ~BGM_ARCHIVE_COMPRESS);
    s = check_kinds(m, fn);
    if (s == BGM_OK)
        s = bgm_archive_create(&a);
    if (s == BGM_OK)
        s = put_architecture(a, m);
    if (s == BGM_OK)
        s = put_weights(a, m);
    if (s == BGM_OK)
        s = put_compile(a, m, fn);
    if (s == BGM_OK)
        s = bgm_archive_save(a, path, flags);
    bgm_archive_free(a);
    if (s != BGM_OK && strncmp(bgm_last_error(), fn, strlen(fn)) != 0) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        bgm__fail(s, "%s: %s", fn, msg);
    }
    return s;
}

BGM_API int bgm_model_epochs_completed(const bgm_model *m)
{
    return m ? m->epochs_done : 0;
}
