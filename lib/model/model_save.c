/*
 * bgm_model_save: a model as a .bgm archive. Metadata holds the
 * architecture (each layer's kind and configuration, the graph of calls
 * between them), the compile state
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

/* The configuration of l under prefix ("layers.3." or "layers.3.layer."):
 * its kind and every field of the kind's table. */
bgm_status bgm__model_put_layer(bgm_archive *a, const char *prefix, const bgm_layer *l,
                                int wrapped)
{
    bgm_status s = put_str(a, prefix, "kind", l->ops->kind);
    int i;
    if (s == BGM_OK && !wrapped)
        s = put_str(a, prefix, "name", l->name);
    if (s == BGM_OK && !wrapped)
        s = put_int(a, prefix, "trainable", l->trainable);
    for (i = 0; s == BGM_OK && i < l->ops->nfields; i++) {
        const bgm__field *f = &l->ops->fields[i];
        const char *p = (const char *)l + f->offset;
        char key[KEY_SIZE];
        int64_t i64;
        float f32;
        int v;
        bgm_layer *inner;
        snprintf(key, sizeof key, "%s%s", prefix, f->key);
        switch (f->type) {
        case BGM__FIELD_INT:
            memcpy(&i64, p, sizeof i64);
            s = bgm_archive_add_int64(a, key, i64);
            break;
        case BGM__FIELD_FLOAT:
            memcpy(&f32, p, sizeof f32);
            s = bgm_archive_add_float64(a, key, f32);
            break;
        case BGM__FIELD_BOOL:
            memcpy(&v, p, sizeof v);
            s = bgm_archive_add_int64(a, key, v);
            break;
        case BGM__FIELD_ENUM:
            memcpy(&v, p, sizeof v);
            s = bgm_archive_add_string(a, key, bgm__enum_to_name(f->names, v));
            break;
        case BGM__FIELD_INTS:
            s = bgm_archive_add_int64_array(a, key, (const int64_t *)(const void *)p,
                                            bgm__field_count(l, f));
            break;
        case BGM__FIELD_LAYER:
            memcpy(&inner, p, sizeof inner);
            snprintf(key, sizeof key, "%s%s.", prefix, f->key);
            s = bgm__model_put_layer(a, key, inner, 1);
            break;
        case BGM__FIELD_LINES: {
            const char *lines;
            memcpy(&lines, p, sizeof lines);
            s = bgm_archive_add_string(a, key, lines ? lines : ""); /* "": None */
            break;
        }
        }
    }
    /* a run-time kind's config entries, under "<prefix>config.<key>" */
    for (i = 0; s == BGM_OK && i < bgm__custom_num_entries(l); i++) {
        const bgm__config_entry *e = bgm__custom_entry(l, i);
        char key[KEY_SIZE];
        snprintf(key, sizeof key, "%sconfig.%s", prefix, e->key);
        s = e->type == BGM__ENTRY_INT     ? bgm_archive_add_int64(a, key, e->i)
            : e->type == BGM__ENTRY_FLOAT ? bgm_archive_add_float64(a, key, e->f)
                                          : bgm_archive_add_string(a, key, e->s);
    }
    return s;
}

/* The nodes of m's plan, numbered in plan order: inputs with their shapes,
 * calls with their layer and inbound nodes. */
static bgm_status put_graph(bgm_archive *a, const bgm_model *m)
{
    char prefix[48];
    int64_t *ids = malloc(((size_t)m->nsteps + (size_t)m->ninputs + (size_t)m->noutputs + 1) *
                          sizeof *ids);
    bgm_status s = ids ? bgm_archive_add_int64(a, "model.num_nodes", m->nsteps)
                       : bgm__fail(BGM_E_NOMEM, "out of memory");
    int k, j;
    for (k = 0; s == BGM_OK && k < m->nsteps; k++) {
        const bgm__step *st = &m->steps[k];
        const bgm_node *node = st->node;
        int layer = -1;
        snprintf(prefix, sizeof prefix, "nodes.%d.", k);
        for (j = 0; node->layer && j < m->nlayers; j++)
            if (m->layers[j] == node->layer)
                layer = j;
        s = put_int(a, prefix, "layer", layer);
        if (s == BGM_OK && !node->layer) {
            s = put_str(a, prefix, "name", node->name);
            if (s == BGM_OK)
                s = put_str(a, prefix, "dtype",
                            bgm__enum_to_name(bgm__dtype_names, node->shape.dtype));
            if (s == BGM_OK) {
                snprintf(prefix, sizeof prefix, "nodes.%d.shape", k);
                s = bgm_archive_add_int64_array(a, prefix, node->shape.d, node->shape.ndim);
            }
        } else if (s == BGM_OK) {
            for (j = 0; j < st->nin; j++)
                ids[j] = st->in[j];
            snprintf(prefix, sizeof prefix, "nodes.%d.inputs", k);
            s = bgm_archive_add_int64_array(a, prefix, ids, st->nin);
            if (s == BGM_OK && node->output > 0) { /* its one input: output 0 of the call */
                snprintf(prefix, sizeof prefix, "nodes.%d.", k);
                s = put_int(a, prefix, "output", node->output);
            }
        }
    }
    for (j = 0; s == BGM_OK && j < m->ninputs; j++)
        for (k = 0; k < m->nsteps; k++)
            if (m->steps[k].input == j)
                ids[j] = k;
    if (s == BGM_OK)
        s = bgm_archive_add_int64_array(a, "model.inputs", ids, m->ninputs);
    for (j = 0; s == BGM_OK && j < m->noutputs; j++)
        ids[j] = m->output_step[j];
    if (s == BGM_OK)
        s = bgm_archive_add_int64_array(a, "model.outputs", ids, m->noutputs);
    free(ids);
    return s;
}

bgm_status bgm__model_put_architecture(bgm_archive *a, const bgm_model *m, uint64_t seed)
{
    int64_t rng[6];
    uint32_t spare;
    int i;
    bgm_status s = bgm_archive_add_string(a, "model.type",
                                          m->sequential ? BGM__MODEL_TYPE_SEQUENTIAL
                                                        : BGM__MODEL_TYPE_FUNCTIONAL);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.format_version", BGM__MODEL_FORMAT_VERSION);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "model.seed", (int64_t)seed);
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
        s = bgm__model_put_layer(a, prefix, m->layers[i], 0);
    }
    if (s == BGM_OK)
        s = put_graph(a, m);
    return s;
}

static bgm_status put_weights(bgm_archive *a, const bgm_model *m)
{
    char name[BGM__FILE_TENSOR_NAME_SIZE];
    bgm_status s = BGM_OK;
    int i;
    for (i = 0; s == BGM_OK && i < m->nweights; i++) {
        bgm__model_file_tensor_name(name, sizeof name, BGM__MODEL_FORMAT_VERSION,
                                    m->weights[i].layer, m->weights[i].name);
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

/* The layers' trainable flags as compile saw them (what fit follows and the
 * optimizer's slots cover), which may differ from the flags saved with the
 * layers when a layer was (un)frozen after compile. */
static bgm_status put_compiled_trainable(bgm_archive *a, const bgm_model *m)
{
    int64_t *flags = malloc(((size_t)m->nlayers + 1) * sizeof *flags);
    bgm_status s;
    int i;
    if (!flags)
        return bgm__fail(BGM_E_NOMEM, "out of memory");
    for (i = 0; i < m->nlayers; i++)
        flags[i] = !bgm__model_layer_frozen(m, i, 1);
    s = bgm_archive_add_int64_array(a, "compile.trainable", flags, m->nlayers);
    free(flags);
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
        s = bgm_archive_add_int64(a, "compile.num_outputs", m->noutputs);
    for (i = 0; s == BGM_OK && i < m->noutputs; i++) {
        const bgm__output_spec *o = &m->out_specs[i];
        char prefix[48];
        snprintf(prefix, sizeof prefix, "compile.outputs.%d.", i);
        s = put_str(a, prefix, "loss", bgm__enum_to_name(bgm__loss_names, o->loss));
        /* A custom loss is saved by its name: files never hold code. */
        if (s == BGM_OK && o->loss == BGM_LOSS_CUSTOM)
            s = put_str(a, prefix, "loss_name", o->loss_name);
        if (s == BGM_OK)
            s = put_int(a, prefix, "from_logits", o->from_logits);
        if (s == BGM_OK)
            s = put_float(a, prefix, "weight", o->weight);
    }
    if (s == BGM_OK)
        s = put_compiled_trainable(a, m);
    if (s == BGM_OK)
        s = bgm_archive_add_int64(a, "compile.num_metrics", m->nmetrics);
    for (i = 0; s == BGM_OK && i < m->nmetrics; i++) {
        const bgm__metric_spec *sp = &m->metrics[i];
        const char *avg = bgm__enum_to_name(bgm__average_names, sp->opts.average);
        char prefix[48];
        snprintf(prefix, sizeof prefix, "compile.metrics.%d.", i);
        /* A custom metric is saved by its function's name: files never hold code. */
        s = put_str(a, prefix, "kind", sp->fn_name[0] ? "custom"
                                           : bgm__enum_to_name(bgm__metric_kind_names,
                                                               sp->kind));
        if (s == BGM_OK && sp->fn_name[0])
            s = put_str(a, prefix, "fn_name", sp->fn_name);
        if (s == BGM_OK)
            s = put_str(a, prefix, "name", sp->name);
        if (s == BGM_OK)
            s = put_int(a, prefix, "output", sp->output);
        if (s == BGM_OK && sp->weighted) /* only then: unweighted files stay as they were */
            s = put_int(a, prefix, "weighted", 1);
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
    s = bgm_archive_create(&a);
    if (s == BGM_OK)
        s = bgm__model_put_architecture(a, m, m->seed);
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
