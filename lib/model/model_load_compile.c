/*
 * The compile state of a model file: loss, metrics, the optimizer with its
 * hyperparameters and schedule, and the optimizer's slots and step count.
 */
#include "model/file_reader.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optim/schedule.h"


static bgm_status read_schedule(const bgm__reader *ld, bgm_optimizer *opt)
{
    const char *p = "optimizer.schedule.";
    char k[BGM__FILE_KEY_SIZE];
    bgm_lr_schedule *sch = NULL;
    int kind = 0;
    int64_t steps = 0, staircase = 0, warmup = 0;
    float lr = 0.0f, rate = 0.0f, warmup_lr = 0.0f;
    bgm_status s;
#define KEY(field) (snprintf(k, sizeof k, "%s%s", p, field), k)
    if (bgm_archive_meta_type(ld->a, KEY("kind")) == BGM_META_NONE)
        return BGM_OK;
    s = bgm__rd_get_enum(ld, KEY("kind"), bgm__schedule_names, &kind);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, KEY("learning_rate"), &lr);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, KEY("steps"), &steps);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, KEY("rate"), &rate);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, KEY("staircase"), &staircase);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, KEY("warmup_steps"), &warmup);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, KEY("warmup_learning_rate"), &warmup_lr);
#undef KEY
    if (s != BGM_OK)
        return s;
    switch (kind) {
    case BGM__SCHED_CONSTANT:
        s = bgm_lr_schedule_constant(&sch, lr);
        break;
    case BGM__SCHED_STEP:
        s = bgm_lr_schedule_step_decay(&sch, lr, steps, rate);
        break;
    case BGM__SCHED_EXPONENTIAL:
        s = bgm_lr_schedule_exponential_decay(&sch, lr, steps, rate, staircase != 0);
        break;
    default:
        s = bgm_lr_schedule_cosine_decay(&sch, lr, steps, rate, warmup, warmup_lr);
        break;
    }
    if (s == BGM_OK)
        s = bgm_optimizer_set_schedule(opt, sch);
    bgm_lr_schedule_free(sch);
    return bgm__rd_wrap(ld, s, "the optimizer's schedule");
}

/* A new optimizer from the file's hyperparameters (no state yet). */
static bgm_status read_optimizer(const bgm__reader *ld, bgm_optimizer **out)
{
    bgm_optimizer *opt = NULL;
    int kind = 0;
    int64_t nesterov = 0;
    float lr = 0, momentum = 0, beta1 = 0, beta2 = 0, rho = 0, eps = 0, wd = 0;
    float clipnorm = 0, global_clipnorm = 0, clipvalue = 0;
    bgm_status s = bgm__rd_get_enum(ld, "optimizer.kind", bgm__optimizer_names, &kind);
    int sgd = kind == BGM_OPTIMIZER_SGD, rms = kind == BGM_OPTIMIZER_RMSPROP;
    int adam = kind == BGM_OPTIMIZER_ADAM || kind == BGM_OPTIMIZER_ADAMW;
    *out = NULL;
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, "optimizer.learning_rate", &lr);
    if (s == BGM_OK && (sgd || rms))
        s = bgm__rd_get_float(ld, "optimizer.momentum", &momentum);
    if (s == BGM_OK && sgd)
        s = bgm__rd_get_int(ld, "optimizer.nesterov", &nesterov);
    if (s == BGM_OK && adam)
        s = bgm__rd_get_float(ld, "optimizer.beta_1", &beta1);
    if (s == BGM_OK && adam)
        s = bgm__rd_get_float(ld, "optimizer.beta_2", &beta2);
    if (s == BGM_OK && rms)
        s = bgm__rd_get_float(ld, "optimizer.rho", &rho);
    if (s == BGM_OK && !sgd)
        s = bgm__rd_get_float(ld, "optimizer.epsilon", &eps);
    if (s == BGM_OK && kind == BGM_OPTIMIZER_ADAMW)
        s = bgm__rd_get_float(ld, "optimizer.weight_decay", &wd);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, "optimizer.clipnorm", &clipnorm);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, "optimizer.global_clipnorm", &global_clipnorm);
    if (s == BGM_OK)
        s = bgm__rd_get_float(ld, "optimizer.clipvalue", &clipvalue);
    if (s != BGM_OK)
        return s;
    switch (kind) {
    case BGM_OPTIMIZER_SGD:
        s = bgm_optimizer_sgd(&opt, lr, momentum, nesterov != 0);
        break;
    case BGM_OPTIMIZER_ADAM:
        s = bgm_optimizer_adam(&opt, lr, beta1, beta2, eps);
        break;
    case BGM_OPTIMIZER_ADAMW:
        s = bgm_optimizer_adamw(&opt, lr, beta1, beta2, eps, wd);
        break;
    default:
        s = bgm_optimizer_rmsprop(&opt, lr, rho, momentum, eps);
        break;
    }
    if (s == BGM_OK)
        s = bgm_optimizer_set_clipnorm(opt, clipnorm);
    if (s == BGM_OK)
        s = bgm_optimizer_set_global_clipnorm(opt, global_clipnorm);
    if (s == BGM_OK)
        s = bgm_optimizer_set_clipvalue(opt, clipvalue);
    s = bgm__rd_wrap(ld, s, "the optimizer");
    if (s == BGM_OK)
        s = read_schedule(ld, opt);
    if (s != BGM_OK) {
        bgm_optimizer_free(opt);
        return s;
    }
    *out = opt;
    return BGM_OK;
}

/* <prefix>name, when present (files since custom metrics): the name the
 * last metric added had, set again (it may have been renamed). */
static bgm_status read_metric_name(const bgm__reader *ld, bgm_model *m, const char *prefix)
{
    char k[BGM__FILE_KEY_SIZE];
    const char *name = NULL;
    int i = bgm_model_num_metrics(m) - 1;
    int64_t weighted = 0;
    /* "weighted" is written for weighted metrics only (older files lack it). */
    snprintf(k, sizeof k, "%sweighted", prefix);
    if (bgm_archive_meta_type(ld->a, k) != BGM_META_NONE &&
        (bgm__rd_get_range(ld, k, 0, 1, &weighted) != BGM_OK ||
         bgm__rd_wrap(ld, bgm_model_set_metric_weighted(m, i, (int)weighted), k) != BGM_OK))
        return BGM_E_FORMAT;
    snprintf(k, sizeof k, "%sname", prefix);
    if (bgm_archive_meta_type(ld->a, k) == BGM_META_NONE)
        return BGM_OK;
    if (bgm__rd_get_str(ld, k, &name) != BGM_OK)
        return BGM_E_FORMAT;
    if (strcmp(bgm_model_metric_name(m, i), name) == 0)
        return BGM_OK;
    return bgm__rd_wrap(ld, bgm_model_set_metric_name(m, i, name), k);
}

/* A custom metric: its function's name and output; the function comes from
 * the caller later (bgm_model_set_metric_fn). */
static bgm_status read_metric_fn(const bgm__reader *ld, bgm_model *m, const char *prefix)
{
    char k[BGM__FILE_KEY_SIZE];
    const char *name = NULL;
    int64_t v = 0;
    bgm_status s;
    snprintf(k, sizeof k, "%sfn_name", prefix);
    s = bgm__rd_get_str(ld, k, &name);
    snprintf(k, sizeof k, "%soutput", prefix);
    if (s == BGM_OK)
        s = bgm__rd_get_range(ld, k, 0, m->noutputs - 1, &v);
    if (s == BGM_OK)
        s = bgm__rd_wrap(ld, bgm__model_add_metric_fn(m, (int)v, name, NULL, NULL, ld->fn),
                         "a custom metric");
    if (s == BGM_OK)
        s = read_metric_name(ld, m, prefix);
    return s;
}

static bgm_status read_metrics(const bgm__reader *ld, bgm_model *m)
{
    char k[BGM__FILE_KEY_SIZE], prefix[48], what[64];
    const char *text = NULL;
    int64_t n, j, v = 0;
    bgm_status s = bgm__rd_get_range(ld, "compile.num_metrics", 0, 64, &n);
    for (j = 0; s == BGM_OK && j < n; j++) {
        bgm_metric_options o;
        int kind = 0, avg = 0;
        float threshold = 0.0f;
        double zero = 0.0;
        bgm_metric_options_init(&o, sizeof o);
        snprintf(prefix, sizeof prefix, "compile.metrics.%lld.", (long long)j);
        snprintf(what, sizeof what, "metric %lld", (long long)j);
#define KEY(field) (snprintf(k, sizeof k, "%s%s", prefix, field), k)
        s = bgm__rd_get_str(ld, KEY("kind"), &text);
        if (s == BGM_OK && strcmp(text, "custom") == 0) {
            s = read_metric_fn(ld, m, prefix);
            continue;
        }
        if (s == BGM_OK)
            s = bgm__rd_get_enum(ld, KEY("kind"), bgm__metric_kind_names, &kind);
        if (s == BGM_OK)
            s = bgm__rd_get_range(ld, KEY("num_classes"), INT_MIN, INT_MAX, &v);
        o.num_classes = (int)v;
        if (s == BGM_OK)
            s = bgm__rd_get_range(ld, KEY("k"), INT_MIN, INT_MAX, &v);
        o.k = (int)v;
        if (s == BGM_OK)
            s = bgm__rd_get_enum(ld, KEY("average"), bgm__average_names, &avg);
        o.average = (bgm_average)avg;
        if (s == BGM_OK)
            s = bgm__rd_get_range(ld, KEY("pos_label"), INT_MIN, INT_MAX, &v);
        o.pos_label = (int)v;
        if (s == BGM_OK)
            s = bgm__rd_get_float(ld, KEY("threshold"), &threshold);
        o.threshold = threshold;
        if (s == BGM_OK)
            s = bgm__rd_expect(ld, KEY("zero_division"), BGM_META_FLOAT64);
        if (s == BGM_OK)
            s = bgm_archive_get_float64(&zero, ld->a, k);
        o.zero_division = zero;
        v = 0; /* format 1: the model's one output */
        if (s == BGM_OK && ld->version >= 2)
            s = bgm__rd_get_range(ld, KEY("output"), 0, m->noutputs - 1, &v);
#undef KEY
        if (s == BGM_OK)
            s = bgm__rd_wrap(ld, bgm_model_add_output_metric(m, (int)v, (bgm_metric_kind)kind,
                                                             &o), what);
        if (s == BGM_OK)
            s = read_metric_name(ld, m, prefix);
    }
    return s;
}

/* The optimizer's slots and step count, once it is the model's. */
static bgm_status read_optimizer_state(const bgm__reader *ld, bgm_model *m)
{
    char a_str[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *slots = NULL;
    int64_t built, step, size;
    int has_slots = bgm_archive_find_tensor(&slots, ld->a, BGM__SLOTS_TENSOR) == BGM_OK;
    bgm_status s = bgm__rd_get_range(ld, "optimizer.built", 0, 1, &built);
    if (s == BGM_OK)
        s = bgm__rd_get_range(ld, "optimizer.iterations", 0, INT64_MAX, &step);
    if (s != BGM_OK)
        return s;
    if (!built) {
        if (step != 0 || has_slots)
            return bgm__rd_bad(ld, "the optimizer has %s but was never built",
                       has_slots ? "slots" : "taken steps");
        return BGM_OK;
    }
    if (m->ntrainable == 0)
        return bgm__rd_bad(ld, "the optimizer was built, but the model has no trainable weights");
    s = bgm__rd_wrap(ld, bgm_optimizer_build(m->optimizer, m->trainable, m->ntrainable),
             "the optimizer");
    if (s != BGM_OK)
        return s;
    size = bgm_optimizer_state_size(m->optimizer);
    if (size == 0) {
        float none = 0.0f;
        if (has_slots)
            return bgm__rd_bad(ld, "tensor '%s' is present, but this optimizer keeps no slots",
                       BGM__SLOTS_TENSOR);
        return bgm__rd_wrap(ld, bgm_optimizer_set_state(m->optimizer, &none, 0, step),
                    "the optimizer");
    }
    if (!has_slots)
        return bgm__rd_bad(ld, "missing tensor '%s' (%lld floats) of the built optimizer",
                   BGM__SLOTS_TENSOR, (long long)size);
    if (bgm_tensor_dtype(slots) != BGM_FLOAT32 || bgm_tensor_ndim(slots) != 1 ||
        bgm_tensor_dim(slots, 0) != size)
        return bgm__rd_bad(ld, "tensor '%s' has shape %s, the optimizer's state is float32 (%lld)",
                   BGM__SLOTS_TENSOR,
                   bgm__shape_str(a_str, sizeof a_str, bgm_tensor_shape(slots),
                                  bgm_tensor_ndim(slots)),
                   (long long)size);
    return bgm__rd_wrap(ld, bgm_optimizer_set_state(m->optimizer, bgm_tensor_data(slots), size,
                                            step),
                "the optimizer");
}

/* compile.outputs.<j>.loss_name of the outputs with a custom loss: the
 * names, set on the compiled m; the functions come from the caller later. */
static bgm_status read_custom_names(const bgm__reader *ld, bgm_model *m)
{
    char k[BGM__FILE_KEY_SIZE];
    const char *name = NULL;
    bgm_status s = BGM_OK;
    int j;
    for (j = 0; s == BGM_OK && j < m->noutputs; j++) {
        bgm__output_spec *o = &m->out_specs[j];
        if (o->loss != BGM_LOSS_CUSTOM)
            continue;
        snprintf(k, sizeof k, "compile.outputs.%d.loss_name", j);
        s = bgm__rd_get_str(ld, k, &name);
        if (s == BGM_OK && (!name[0] || strlen(name) >= sizeof o->loss_name))
            s = bgm__rd_bad(ld, "%s must have 1 to %d characters", k,
                            (int)sizeof o->loss_name - 1);
        if (s == BGM_OK)
            snprintf(o->loss_name, sizeof o->loss_name, "%s", name);
    }
    return s;
}

/* Format 2: compile.outputs.<j>.{loss, from_logits, weight} into opts' arrays. */
static bgm_status read_outputs(const bgm__reader *ld, const bgm_model *m,
                               bgm_compile_options *opts, bgm_loss_kind *losses,
                               int *logits, float *weights)
{
    char k[BGM__FILE_KEY_SIZE];
    int64_t n = 0, flag = 0;
    int j, loss = 0;
    bgm_status s = bgm__rd_get_range(ld, "compile.num_outputs", m->noutputs, m->noutputs, &n);
    for (j = 0; s == BGM_OK && j < m->noutputs; j++) {
        snprintf(k, sizeof k, "compile.outputs.%d.loss", j);
        s = bgm__rd_get_enum(ld, k, bgm__loss_names, &loss);
        losses[j] = (bgm_loss_kind)loss;
        snprintf(k, sizeof k, "compile.outputs.%d.from_logits", j);
        if (s == BGM_OK)
            s = bgm__rd_get_range(ld, k, 0, 1, &flag);
        logits[j] = (int)flag;
        snprintf(k, sizeof k, "compile.outputs.%d.weight", j);
        if (s == BGM_OK)
            s = bgm__rd_get_float(ld, k, &weights[j]);
    }
    opts->num_outputs = m->noutputs;
    opts->output_losses = losses;
    opts->output_from_logits = logits;
    opts->loss_weights = weights;
    return s;
}

/* compile.trainable: the flags fit follows, when a layer was (un)frozen after
 * the compile (files without the key: the layers' own, which compile took). */
static bgm_status read_compiled_trainable(const bgm__reader *ld, bgm_model *m)
{
    const int64_t *v = NULL;
    int64_t n = 0;
    int i;
    bgm_status s;
    if (bgm_archive_meta_type(ld->a, "compile.trainable") == BGM_META_NONE)
        return BGM_OK;
    s = bgm__rd_get_ints(ld, "compile.trainable", &v, &n);
    if (s != BGM_OK)
        return s;
    if (n != m->nlayers)
        return bgm__rd_bad(ld, "compile.trainable holds %lld flags, the model has %d layers",
                           (long long)n, m->nlayers);
    for (i = 0; i < n; i++)
        if (v[i] != 0 && v[i] != 1)
            return bgm__rd_bad(ld, "compile.trainable[%d] = %lld, expected 0 or 1", i,
                               (long long)v[i]);
    return bgm__model_freeze_compiled(m, v, ld->fn);
}

bgm_status bgm__rd_compile(const bgm__reader *ld, bgm_model *m)
{
    const bgm_tensor *slots = NULL;
    bgm_optimizer *opt = NULL;
    bgm_compile_options opts;
    bgm_loss_kind *losses = NULL;
    int *logits = NULL;
    float *weights = NULL;
    int loss = 0;
    int64_t from_logits;
    bgm_status s;
    if (bgm_archive_meta_type(ld->a, "compile.loss") == BGM_META_NONE) {
        if (bgm_archive_find_tensor(&slots, ld->a, BGM__SLOTS_TENSOR) == BGM_OK)
            return bgm__rd_bad(ld, "tensor '%s' is present, but the model is not compiled",
                       BGM__SLOTS_TENSOR);
        return BGM_OK;
    }
    s = bgm__rd_get_enum(ld, "compile.loss", bgm__loss_names, &loss);
    if (s == BGM_OK)
        s = bgm__rd_get_int(ld, "compile.from_logits", &from_logits);
    bgm_compile_options_init(&opts, sizeof opts);
    opts.loss = (bgm_loss_kind)loss;
    opts.from_logits = from_logits != 0;
    if (s == BGM_OK && ld->version >= 2) {
        losses = calloc((size_t)m->noutputs, sizeof *losses);
        logits = calloc((size_t)m->noutputs, sizeof *logits);
        weights = calloc((size_t)m->noutputs, sizeof *weights);
        s = losses && logits && weights ? read_outputs(ld, m, &opts, losses, logits, weights)
                                        : bgm__fail(BGM_E_NOMEM, "%s: out of memory", ld->fn);
    }
    if (s == BGM_OK)
        s = read_optimizer(ld, &opt);
    if (s == BGM_OK) /* compile takes opt in every case */
        s = bgm__rd_wrap(ld, bgm_model_compile_v2(m, opt, &opts), "compile");
    free(losses);
    free(logits);
    free(weights);
    if (s == BGM_OK && ld->version >= 2)
        s = read_custom_names(ld, m);
    if (s == BGM_OK)
        s = read_compiled_trainable(ld, m);
    if (s == BGM_OK)
        s = read_metrics(ld, m);
    if (s == BGM_OK)
        s = read_optimizer_state(ld, m);
    return s;
}
