/*
 * bgm_optimizer: hyperparameters, the slot buffer (all per-parameter state in
 * one allocation), and the step that validates, clips and dispatches to the
 * update kernels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clip.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kernels/optim_kernels.h"
#include "optimizer_config.h"
#include "schedule.h"

/* Where one parameter's elements sit inside every slot array. */
typedef struct bgm__param_layout {
    int ndim;
    int64_t shape[BGM_MAX_DIMS];
    int64_t offset;
    int64_t numel;
} bgm__param_layout;

struct bgm_optimizer {
    bgm_optimizer_kind kind;
    float lr;
    float momentum;         /* SGD, RMSprop */
    int nesterov;           /* SGD */
    float beta1, beta2;     /* Adam, AdamW; beta2 is rho for RMSprop */
    float epsilon;
    float weight_decay;     /* AdamW */
    float clipnorm, global_clipnorm, clipvalue;  /* 0 = off */
    int has_schedule;
    bgm_lr_schedule schedule;
    int64_t step;
    int nslots;             /* state arrays per parameter element */
    /* Fixed by the first build: */
    int nparams;            /* 0 until built */
    bgm__param_layout *layout;
    int64_t total;          /* elements over all parameters */
    float *slots;           /* nslots * total floats, slot-major */
};

/* ---- construction ------------------------------------------------------ */

static int nonneg_finite(float x) { return x >= 0.0f && isfinite(x); }

static bgm_status check_nonneg(const char *func, const char *name, float x)
{
    if (!nonneg_finite(x))
        return bgm__fail(BGM_E_INVALID, "%s: %s %g must be finite and >= 0", func, name, x);
    return BGM_OK;
}

static bgm_status check_unit_open(const char *func, const char *name, float x)
{
    if (!(x >= 0.0f && x < 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: %s %g must be in [0, 1)", func, name, x);
    return BGM_OK;
}

static bgm_status check_unit_closed(const char *func, const char *name, float x)
{
    if (!(x >= 0.0f && x <= 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: %s %g must be in [0, 1]", func, name, x);
    return BGM_OK;
}

static bgm_status optimizer_new(bgm_optimizer **out, const char *func,
                                const bgm_optimizer *value)
{
    bgm_optimizer *opt = malloc(sizeof *opt);
    if (!opt)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    *opt = *value;
    *out = opt;
    return BGM_OK;
}

BGM_API bgm_status bgm_optimizer_sgd(bgm_optimizer **out, float lr, float momentum,
                                     int nesterov)
{
    static const char *fn = "bgm_optimizer_sgd";
    bgm_optimizer v = {0};
    bgm_status st;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if ((st = check_nonneg(fn, "learning rate", lr)) != BGM_OK ||
        (st = check_unit_closed(fn, "momentum", momentum)) != BGM_OK)
        return st;
    if (nesterov && momentum == 0.0f)
        return bgm__fail(BGM_E_INVALID, "%s: nesterov needs a momentum > 0", fn);
    v.kind = BGM_OPTIMIZER_SGD;
    v.lr = lr;
    v.momentum = momentum;
    v.nesterov = nesterov != 0;
    v.nslots = momentum > 0.0f ? 1 : 0;
    return optimizer_new(out, fn, &v);
}

static bgm_status adam_new(bgm_optimizer **out, const char *fn, bgm_optimizer_kind kind,
                           float lr, float beta1, float beta2, float epsilon,
                           float weight_decay)
{
    bgm_optimizer v = {0};
    bgm_status st;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if ((st = check_nonneg(fn, "learning rate", lr)) != BGM_OK ||
        (st = check_unit_open(fn, "beta1", beta1)) != BGM_OK ||
        (st = check_unit_open(fn, "beta2", beta2)) != BGM_OK ||
        (st = check_nonneg(fn, "epsilon", epsilon)) != BGM_OK ||
        (st = check_nonneg(fn, "weight_decay", weight_decay)) != BGM_OK)
        return st;
    v.kind = kind;
    v.lr = lr;
    v.beta1 = beta1;
    v.beta2 = beta2;
    v.epsilon = epsilon;
    v.weight_decay = weight_decay;
    v.nslots = 2;
    return optimizer_new(out, fn, &v);
}

BGM_API bgm_status bgm_optimizer_adam(bgm_optimizer **out, float lr, float beta1,
                                      float beta2, float epsilon)
{
    return adam_new(out, "bgm_optimizer_adam", BGM_OPTIMIZER_ADAM, lr, beta1, beta2,
                    epsilon, 0.0f);
}

BGM_API bgm_status bgm_optimizer_adamw(bgm_optimizer **out, float lr, float beta1,
                                       float beta2, float epsilon, float weight_decay)
{
    return adam_new(out, "bgm_optimizer_adamw", BGM_OPTIMIZER_ADAMW, lr, beta1, beta2,
                    epsilon, weight_decay);
}

BGM_API bgm_status bgm_optimizer_rmsprop(bgm_optimizer **out, float lr, float rho,
                                         float momentum, float epsilon)
{
    static const char *fn = "bgm_optimizer_rmsprop";
    bgm_optimizer v = {0};
    bgm_status st;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    if ((st = check_nonneg(fn, "learning rate", lr)) != BGM_OK ||
        (st = check_unit_open(fn, "rho", rho)) != BGM_OK ||
        (st = check_unit_closed(fn, "momentum", momentum)) != BGM_OK ||
        (st = check_nonneg(fn, "epsilon", epsilon)) != BGM_OK)
        return st;
    v.kind = BGM_OPTIMIZER_RMSPROP;
    v.lr = lr;
    v.beta2 = rho;
    v.momentum = momentum;
    v.epsilon = epsilon;
    v.nslots = momentum > 0.0f ? 2 : 1;
    return optimizer_new(out, fn, &v);
}

BGM_API void bgm_optimizer_free(bgm_optimizer *opt)
{
    if (!opt)
        return;
    free(opt->layout);
    bgm__aligned_free(opt->slots);
    free(opt);
}

/* ---- settings and accessors ------------------------------------------- */

BGM_API int64_t bgm_optimizer_step_count(const bgm_optimizer *opt)
{
    return opt ? opt->step : 0;
}

BGM_API bgm_optimizer_kind bgm_optimizer_get_kind(const bgm_optimizer *opt)
{
    return opt ? opt->kind : (bgm_optimizer_kind)0;
}

BGM_API bgm_status bgm_optimizer_set_lr(bgm_optimizer *opt, float lr)
{
    static const char *fn = "bgm_optimizer_set_lr";
    bgm_status st;
    BGM__CHECK_NULL(opt, fn);
    if ((st = check_nonneg(fn, "learning rate", lr)) != BGM_OK)
        return st;
    opt->lr = lr;
    return BGM_OK;
}

BGM_API float bgm_optimizer_get_lr(const bgm_optimizer *opt) { return opt ? opt->lr : 0.0f; }

BGM_API bgm_status bgm_optimizer_set_schedule(bgm_optimizer *opt,
                                              const bgm_lr_schedule *schedule)
{
    BGM__CHECK_NULL(opt, "bgm_optimizer_set_schedule");
    opt->has_schedule = schedule != NULL;
    if (schedule)
        opt->schedule = *schedule;
    return BGM_OK;
}

static bgm_status set_clip(bgm_optimizer *opt, const char *func, float *field, float value)
{
    bgm_status st;
    BGM__CHECK_NULL(opt, func);
    if ((st = check_nonneg(func, "clip threshold", value)) != BGM_OK)
        return st;
    *field = value;
    return BGM_OK;
}

BGM_API bgm_status bgm_optimizer_set_clipnorm(bgm_optimizer *opt, float max_norm)
{
    return set_clip(opt, "bgm_optimizer_set_clipnorm", opt ? &opt->clipnorm : NULL,
                    max_norm);
}

BGM_API bgm_status bgm_optimizer_set_global_clipnorm(bgm_optimizer *opt, float max_norm)
{
    return set_clip(opt, "bgm_optimizer_set_global_clipnorm",
                    opt ? &opt->global_clipnorm : NULL, max_norm);
}

BGM_API bgm_status bgm_optimizer_set_clipvalue(bgm_optimizer *opt, float clip)
{
    return set_clip(opt, "bgm_optimizer_set_clipvalue", opt ? &opt->clipvalue : NULL, clip);
}

/* ---- the parameter list ------------------------------------------------ */

static int same_shape(const bgm__param_layout *l, const bgm_tensor *t)
{
    return l->ndim == bgm_tensor_ndim(t) &&
           memcmp(l->shape, bgm_tensor_shape(t), (size_t)l->ndim * sizeof(int64_t)) == 0;
}

/* Checks params (and grads when not NULL) against each other and against the
 * list the optimizer was built for. */
static bgm_status check_tensors(const bgm_optimizer *opt, const char *func,
                                bgm_tensor *const *params, bgm_tensor *const *grads, int n)
{
    char a[BGM__SHAPE_STR_SIZE], b[BGM__SHAPE_STR_SIZE];
    int i;
    BGM__CHECK_NULL(params, func);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %d must be >= 1", func, n);
    if (opt->nparams && n != opt->nparams)
        return bgm__fail(BGM_E_STATE,
                         "%s: called with %d parameters, but the optimizer was built "
                         "for %d",
                         func, n, opt->nparams);
    for (i = 0; i < n; i++) {
        const bgm_tensor *p = params[i];
        if (!p)
            return bgm__fail(BGM_E_INVALID, "%s: params[%d] is NULL", func, i);
        if (bgm_tensor_dtype(p) != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: params[%d] is not float32", func, i);
        if (opt->nparams && !same_shape(&opt->layout[i], p))
            return bgm__fail(BGM_E_SHAPE,
                             "%s: parameter %d has shape %s, but had %s when the "
                             "optimizer was built",
                             func, i, bgm__shape_str(a, sizeof a, bgm_tensor_shape(p),
                                                     bgm_tensor_ndim(p)),
                             bgm__shape_str(b, sizeof b, opt->layout[i].shape,
                                            opt->layout[i].ndim));
        if (!grads)
            continue;
        if (!grads[i])
            return bgm__fail(BGM_E_INVALID, "%s: grads[%d] is NULL", func, i);
        if (bgm_tensor_dtype(grads[i]) != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: grads[%d] is not float32", func, i);
        if (bgm_tensor_ndim(grads[i]) != bgm_tensor_ndim(p) ||
            memcmp(bgm_tensor_shape(grads[i]), bgm_tensor_shape(p),
                   (size_t)bgm_tensor_ndim(p) * sizeof(int64_t)) != 0)
            return bgm__fail(BGM_E_SHAPE,
                             "%s: grads[%d] has shape %s but params[%d] has shape %s",
                             func, i,
                             bgm__shape_str(a, sizeof a, bgm_tensor_shape(grads[i]),
                                            bgm_tensor_ndim(grads[i])),
                             i, bgm__shape_str(b, sizeof b, bgm_tensor_shape(p),
                                               bgm_tensor_ndim(p)));
    }
    return BGM_OK;
}

/* Records the layout and allocates zeroed slots; params already checked. */
static bgm_status build_layout(bgm_optimizer *opt, const char *func,
                               bgm_tensor *const *params, int n)
{
    bgm__param_layout *layout = calloc((size_t)n, sizeof *layout);
    float *slots = NULL;
    int64_t total = 0;
    size_t elems, bytes;
    int i;
    if (!layout)
        goto nomem;
    for (i = 0; i < n; i++) {
        layout[i].ndim = bgm_tensor_ndim(params[i]);
        memcpy(layout[i].shape, bgm_tensor_shape(params[i]),
               (size_t)layout[i].ndim * sizeof(int64_t));
        layout[i].offset = total;
        layout[i].numel = bgm_tensor_numel(params[i]);
        if (layout[i].numel > INT64_MAX - total)
            goto nomem;
        total += layout[i].numel;
    }
    if ((uint64_t)total > SIZE_MAX ||
        !bgm__mul_size((size_t)total, (size_t)opt->nslots, &elems) ||
        !bgm__mul_size(elems, sizeof(float), &bytes))
        goto nomem;
    slots = bgm__aligned_alloc(bytes);
    if (!slots)
        goto nomem;
    memset(slots, 0, bytes);
    opt->layout = layout;
    opt->slots = slots;
    opt->total = total;
    opt->nparams = n;
    return BGM_OK;
nomem:
    free(layout);
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the state of %d parameters",
                     func, n);
}

BGM_API bgm_status bgm_optimizer_build(bgm_optimizer *opt, bgm_tensor *const *params, int n)
{
    static const char *fn = "bgm_optimizer_build";
    bgm_status st;
    BGM__CHECK_NULL(opt, fn);
    if ((st = check_tensors(opt, fn, params, NULL, n)) != BGM_OK)
        return st;
    return opt->nparams ? BGM_OK : build_layout(opt, fn, params, n);
}

/* ---- the step ---------------------------------------------------------- */

static void apply_clipping(const bgm_optimizer *opt, bgm_tensor *const *grads, int n)
{
    if (opt->clipnorm > 0.0f)
        bgm__clip_each_norm(grads, n, opt->clipnorm);
    if (opt->global_clipnorm > 0.0f)
        bgm__clip_global_norm(grads, n, opt->global_clipnorm);
    if (opt->clipvalue > 0.0f)
        bgm__clip_each_value(grads, n, opt->clipvalue);
}

/* Updates parameter i; t is the 1-based number of this step. */
static void update_param(bgm_optimizer *opt, int i, float *p, const float *g, float lr,
                         int64_t t)
{
    int64_t count = opt->layout[i].numel;
    float *s0 = opt->slots + opt->layout[i].offset;
    float *s1 = s0 + opt->total;
    double bc1, bc2;
    switch (opt->kind) {
    case BGM_OPTIMIZER_SGD:
        if (opt->nslots)
            bgm__sgd_momentum_update(p, g, s0, count, lr, opt->momentum, opt->nesterov);
        else
            bgm__sgd_update(p, g, count, lr);
        break;
    case BGM_OPTIMIZER_ADAMW:
        bgm__scale_inplace(p, count, (float)(1.0 - (double)lr * opt->weight_decay));
        /* fall through */
    case BGM_OPTIMIZER_ADAM:
        bc1 = 1.0 - pow(opt->beta1, (double)t);
        bc2 = 1.0 - pow(opt->beta2, (double)t);
        bgm__adam_update(p, g, s0, s1, count, (float)(lr / bc1), opt->beta1,
                         (float)(1.0 - opt->beta1), opt->beta2, (float)(1.0 - opt->beta2),
                         (float)sqrt(bc2), opt->epsilon);
        break;
    case BGM_OPTIMIZER_RMSPROP:
        bgm__rmsprop_update(p, g, s0, opt->nslots > 1 ? s1 : NULL, count, lr, opt->beta2,
                            (float)(1.0 - opt->beta2), opt->momentum, opt->epsilon);
        break;
    }
}

BGM_API bgm_status bgm_optimizer_step(bgm_optimizer *opt, bgm_tensor *const *params,
                                      bgm_tensor *const *grads, int n)
{
    static const char *fn = "bgm_optimizer_step";
    float lr = 0.0f;
    bgm_status st;
    int i;
    BGM__CHECK_NULL(opt, fn);
    BGM__CHECK_NULL(grads, fn);
    if ((st = check_tensors(opt, fn, params, grads, n)) != BGM_OK)
        return st;
    lr = opt->lr;
    if (opt->has_schedule &&
        (st = bgm__schedule_eval(fn, &opt->schedule, opt->step, opt->lr, &lr)) != BGM_OK)
        return st;
    if (!opt->nparams && (st = build_layout(opt, fn, params, n)) != BGM_OK)
        return st;
    apply_clipping(opt, grads, n);
    for (i = 0; i < n; i++)
        update_param(opt, i, bgm_tensor_data(params[i]), bgm_tensor_data(grads[i]), lr,
                     opt->step + 1);
    opt->step++;
    opt->lr = lr;
    return BGM_OK;
}

/* ---- state ------------------------------------------------------------- */

BGM_API int64_t bgm_optimizer_state_size(const bgm_optimizer *opt)
{
    return opt ? opt->total * opt->nslots : 0;
}

static bgm_status check_state_count(const bgm_optimizer *opt, const char *func,
                                    int64_t count)
{
    if (!opt->nparams)
        return bgm__fail(BGM_E_STATE,
                         "%s: the optimizer has no state yet; call bgm_optimizer_build "
                         "or bgm_optimizer_step first",
                         func);
    if (count != opt->total * opt->nslots)
        return bgm__fail(BGM_E_SHAPE, "%s: count %lld differs from the state size %lld",
                         func, (long long)count, (long long)(opt->total * opt->nslots));
    return BGM_OK;
}

BGM_API bgm_status bgm_optimizer_get_state(const bgm_optimizer *opt, float *buf,
                                           int64_t count, int64_t *step_out)
{
    static const char *fn = "bgm_optimizer_get_state";
    bgm_status st;
    if (step_out)
        *step_out = 0;
    BGM__CHECK_NULL(opt, fn);
    BGM__CHECK_NULL(buf, fn);
    if ((st = check_state_count(opt, fn, count)) != BGM_OK)
        return st;
    if (count)
        memcpy(buf, opt->slots, (size_t)count * sizeof(float));
    if (step_out)
        *step_out = opt->step;
    return BGM_OK;
}

BGM_API bgm_status bgm_optimizer_set_state(bgm_optimizer *opt, const float *buf,
                                           int64_t count, int64_t step)
{
    static const char *fn = "bgm_optimizer_set_state";
    bgm_status st;
    BGM__CHECK_NULL(opt, fn);
    BGM__CHECK_NULL(buf, fn);
    if (step < 0)
        return bgm__fail(BGM_E_INVALID, "%s: step %lld must be >= 0", fn, (long long)step);
    if ((st = check_state_count(opt, fn, count)) != BGM_OK)
        return st;
    if (count)
        memcpy(opt->slots, buf, (size_t)count * sizeof(float));
    opt->step = step;
    return BGM_OK;
}

/* ---- configuration, for model files ------------------------------------- */

void bgm__optimizer_get_config(const bgm_optimizer *opt, bgm__optimizer_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = opt->kind;
    cfg->lr = opt->lr;
    cfg->momentum = opt->momentum;
    cfg->nesterov = opt->nesterov;
    if (opt->kind == BGM_OPTIMIZER_RMSPROP) {
        cfg->rho = opt->beta2; /* RMSprop keeps rho in beta2 */
    } else {
        cfg->beta1 = opt->beta1;
        cfg->beta2 = opt->beta2;
    }
    cfg->epsilon = opt->epsilon;
    cfg->weight_decay = opt->weight_decay;
    cfg->clipnorm = opt->clipnorm;
    cfg->global_clipnorm = opt->global_clipnorm;
    cfg->clipvalue = opt->clipvalue;
    cfg->schedule = opt->has_schedule ? &opt->schedule : NULL;
    cfg->built = opt->nparams > 0;
}
