/* Learning-rate schedules: the value type behind bgm_lr_schedule, which
 * optimizers copy into themselves. */
#ifndef BGM_OPTIM_SCHEDULE_H
#define BGM_OPTIM_SCHEDULE_H

#include "bigmodel/optim.h"

typedef enum bgm__schedule_kind {
    BGM__SCHED_CONSTANT,
    BGM__SCHED_STEP,
    BGM__SCHED_EXPONENTIAL,
    BGM__SCHED_COSINE,
    BGM__SCHED_CALLBACK
} bgm__schedule_kind;

struct bgm_lr_schedule {
    bgm__schedule_kind kind;
    float lr;
    int64_t steps;          /* step_size, decay_steps */
    float rate;             /* gamma, decay_rate, alpha */
    int staircase;
    int64_t warmup_steps;
    float warmup_start_lr;
    bgm_lr_fn fn;
    void *ctx;
};

/* *lr_out = s at step; fails (message prefixed with func) when a callback
 * returns a negative or non-finite rate. */
bgm_status bgm__schedule_eval(const char *func, const bgm_lr_schedule *s, int64_t step,
                              float current_lr, float *lr_out);

#endif
