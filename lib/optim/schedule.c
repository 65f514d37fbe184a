/* Learning-rate schedules: constructors and their closed forms. */
#include "schedule.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

/* M_PI is not part of C11. */
static const double pi = 3.14159265358979323846;

static int rate_ok(float x) { return x >= 0.0f && isfinite(x); }

static bgm_status schedule_new(bgm_lr_schedule **out, const char *func,
                               const bgm_lr_schedule *value)
{
    bgm_lr_schedule *s = malloc(sizeof *s);
    if (!s)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    *s = *value;
    *out = s;
    return BGM_OK;
}

/* BGM_E_INVALID unless x is finite and >= 0. */
static bgm_status check_rate(const char *func, const char *name, float x)
{
    if (!rate_ok(x))
        return bgm__fail(BGM_E_INVALID, "%s: %s %g must be finite and >= 0", func, name, x);
    return BGM_OK;
}

/* BGM_E_INVALID unless steps >= min. */
static bgm_status check_steps(const char *func, const char *name, int64_t steps, int64_t min)
{
    if (steps < min)
        return bgm__fail(BGM_E_INVALID, "%s: %s %lld must be >= %lld", func, name,
                         (long long)steps, (long long)min);
    return BGM_OK;
}

/* What every constructor with a learning rate checks first. */
static bgm_status check_out_and_lr(bgm_lr_schedule **out, const char *func, float lr)
{
    BGM__CHECK_NULL(out, func);
    *out = NULL;
    return check_rate(func, "learning rate", lr);
}

BGM_API bgm_status bgm_lr_schedule_constant(bgm_lr_schedule **out, float lr)
{
    static const char *fn = "bgm_lr_schedule_constant";
    bgm_lr_schedule v = {0};
    bgm_status st = check_out_and_lr(out, fn, lr);
    if (st != BGM_OK)
        return st;
    v.kind = BGM__SCHED_CONSTANT;
    v.lr = lr;
    return schedule_new(out, fn, &v);
}

BGM_API bgm_status bgm_lr_schedule_step_decay(bgm_lr_schedule **out, float lr,
                                              int64_t step_size, float gamma)
{
    static const char *fn = "bgm_lr_schedule_step_decay";
    bgm_lr_schedule v = {0};
    bgm_status st = check_out_and_lr(out, fn, lr);
    if (st != BGM_OK || (st = check_steps(fn, "step_size", step_size, 1)) != BGM_OK ||
        (st = check_rate(fn, "gamma", gamma)) != BGM_OK)
        return st;
    v.kind = BGM__SCHED_STEP;
    v.lr = lr;
    v.steps = step_size;
    v.rate = gamma;
    return schedule_new(out, fn, &v);
}

BGM_API bgm_status bgm_lr_schedule_exponential_decay(bgm_lr_schedule **out, float lr,
                                                     int64_t decay_steps,
                                                     float decay_rate, int staircase)
{
    static const char *fn = "bgm_lr_schedule_exponential_decay";
    bgm_lr_schedule v = {0};
    bgm_status st = check_out_and_lr(out, fn, lr);
    if (st != BGM_OK || (st = check_steps(fn, "decay_steps", decay_steps, 1)) != BGM_OK)
        return st;
    if (!(decay_rate > 0.0f) || !isfinite(decay_rate))
        return bgm__fail(BGM_E_INVALID, "%s: decay_rate %g must be finite and > 0", fn,
                         decay_rate);
    v.kind = BGM__SCHED_EXPONENTIAL;
    v.lr = lr;
    v.steps = decay_steps;
    v.rate = decay_rate;
    v.staircase = staircase != 0;
    return schedule_new(out, fn, &v);
}

BGM_API bgm_status bgm_lr_schedule_cosine_decay(bgm_lr_schedule **out, float lr,
                                                int64_t decay_steps, float alpha,
                                                int64_t warmup_steps,
                                                float warmup_start_lr)
{
    static const char *fn = "bgm_lr_schedule_cosine_decay";
    bgm_lr_schedule v = {0};
    bgm_status st = check_out_and_lr(out, fn, lr);
    if (st != BGM_OK || (st = check_steps(fn, "decay_steps", decay_steps, 1)) != BGM_OK)
        return st;
    if (!(alpha >= 0.0f && alpha <= 1.0f))
        return bgm__fail(BGM_E_INVALID, "%s: alpha %g must be in [0, 1]", fn, alpha);
    if ((st = check_steps(fn, "warmup_steps", warmup_steps, 0)) != BGM_OK ||
        (st = check_rate(fn, "warmup_start_lr", warmup_start_lr)) != BGM_OK)
        return st;
    v.kind = BGM__SCHED_COSINE;
    v.lr = lr;
    v.steps = decay_steps;
    v.rate = alpha;
    v.warmup_steps = warmup_steps;
    v.warmup_start_lr = warmup_start_lr;
    return schedule_new(out, fn, &v);
}

BGM_API bgm_status bgm_lr_schedule_callback(bgm_lr_schedule **out, bgm_lr_fn lr_fn,
                                            void *ctx)
{
    static const char *fn = "bgm_lr_schedule_callback";
    bgm_lr_schedule v = {0};
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(lr_fn, fn);
    v.kind = BGM__SCHED_CALLBACK;
    v.fn = lr_fn;
    v.ctx = ctx;
    return schedule_new(out, fn, &v);
}

BGM_API void bgm_lr_schedule_free(bgm_lr_schedule *schedule) { free(schedule); }

/* Keras' CosineDecay: warmup while step < warmup_steps, then cosine over
 * decay_steps, the step held at the end of the decay afterwards. */
static double cosine_value(const bgm_lr_schedule *s, int64_t step)
{
    double warm = (double)s->warmup_steps, decay = (double)s->steps;
    double t = (double)step, frac;
    if (t > warm + decay)
        t = warm + decay;
    if (t < warm)
        return s->warmup_start_lr + (s->lr - (double)s->warmup_start_lr) * (t / warm);
    frac = (t - warm) / decay;
    return s->lr * ((1.0 - s->rate) * 0.5 * (1.0 + cos(pi * frac)) + s->rate);
}

bgm_status bgm__schedule_eval(const char *func, const bgm_lr_schedule *s, int64_t step,
                              float current_lr, float *lr_out)
{
    double value = s->lr, e;
    switch (s->kind) {
    case BGM__SCHED_CONSTANT:
        break;
    case BGM__SCHED_STEP:
        value = s->lr * pow(s->rate, (double)(step / s->steps));
        break;
    case BGM__SCHED_EXPONENTIAL:
        e = s->staircase ? (double)(step / s->steps) : (double)step / (double)s->steps;
        value = s->lr * pow(s->rate, e);
        break;
    case BGM__SCHED_COSINE:
        value = cosine_value(s, step);
        break;
    case BGM__SCHED_CALLBACK:
        value = s->fn(step, current_lr, s->ctx);
        if (!rate_ok((float)value))
            return bgm__fail(BGM_E_INVALID,
                             "%s: the schedule callback returned learning rate %g at "
                             "step %lld; it must be finite and >= 0",
                             func, value, (long long)step);
        break;
    }
    *lr_out = (float)value;
    return BGM_OK;
}

BGM_API bgm_status bgm_lr_schedule_value(float *lr_out, const bgm_lr_schedule *schedule,
                                         int64_t step, float current_lr)
{
    static const char *fn = "bgm_lr_schedule_value";
    BGM__CHECK_NULL(lr_out, fn);
    *lr_out = 0.0f;
    BGM__CHECK_NULL(schedule, fn);
    if (step < 0)
        return bgm__fail(BGM_E_INVALID, "%s: step %lld must be >= 0", fn, (long long)step);
    return bgm__schedule_eval(fn, schedule, step, current_lr, lr_out);
}
