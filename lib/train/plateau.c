/*
 * Keras' ReduceLROnPlateau: lowers the learning rate when the monitored
 * value stops improving, with Keras' patience, cooldown and floor.
 */
#include "train/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct plateau {
    bgm__monitor mon;
    double factor, min_delta, min_lr;
    int patience, verbose, cooldown;
    int wait, cooldown_left;
} plateau;

static bgm_status pl_train_begin(void *impl, bgm__train_state *st)
{
    plateau *p = impl;
    p->mon.best = p->mon.maximize ? -INFINITY : INFINITY;
    p->wait = 0;
    p->cooldown_left = 0;
    return BGM_OK;
}

static bgm_status pl_epoch_end(void *impl, bgm__train_state *st, int epoch, bgm_logs *logs)
{
    plateau *p = impl;
    bgm_optimizer *opt = bgm_model_optimizer(st->model);
    float lr = bgm_optimizer_get_lr(opt);
    int k = bgm__logs_find(logs, p->mon.name);
    double current;
    bgm__logs_set(logs, "learning_rate", lr);
    if (k < 0) {
        char have[1024];
        size_t h = 0;
        int i;
        have[0] = '\0';
        for (i = 0; i < logs->n && h < sizeof have; i++)
            h += (size_t)snprintf(have + h, sizeof have - h, "%s%s", i ? "," : "",
                                  logs->names[i]);
        bgm__model_warn(st->model, "Learning rate reduction is conditioned on metric `%s` "
                        "which is not available. Available metrics are: %s.", p->mon.name,
                        have);
        return BGM_OK;
    }
    current = logs->values[k];
    if (p->cooldown_left > 0) {
        p->cooldown_left--;
        p->wait = 0;
    }
    if (bgm__monitor_improved(&p->mon, current, p->min_delta)) {
        p->mon.best = current;
        p->wait = 0;
    } else if (p->cooldown_left == 0 && ++p->wait >= p->patience) {
        if (lr > (float)p->min_lr) { /* Keras: old_lr > np.float32(min_lr) */
            double new_lr = fmax((double)lr * p->factor, p->min_lr);
            bgm_status s = bgm_optimizer_set_lr(opt, (float)new_lr);
            if (s != BGM_OK)
                return s;
            if (p->verbose) {
                char text[40];
                bgm__format_repr(text, sizeof text, new_lr); /* Keras prints the double */
                bgm__train_say(st, "\nEpoch %d: ReduceLROnPlateau reducing learning rate to "
                               "%s.\n", epoch + 1, text);
            }
            p->cooldown_left = p->cooldown;
            p->wait = 0;
        }
    }
    return BGM_OK;
}

static const bgm__callback_ops plateau_ops = {
    .train_begin = pl_train_begin, .epoch_end = pl_epoch_end, .free_impl = free};

BGM_API bgm_status bgm_callback_reduce_lr_on_plateau(bgm_callback **out, const char *monitor,
                                                     double factor, int patience, int verbose,
                                                     const char *mode, double min_delta,
                                                     int cooldown, double min_lr)
{
    static const char *fn = "bgm_callback_reduce_lr_on_plateau";
    plateau *p;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(monitor, fn);
    if (!(factor >= 0.0 && factor < 1.0))
        return bgm__fail(BGM_E_INVALID, "%s: factor = %g; ReduceLROnPlateau needs a factor in "
                         "[0, 1)", fn, factor);
    if (patience < 0 || cooldown < 0)
        return bgm__fail(BGM_E_INVALID, "%s: patience = %d and cooldown = %d must not be "
                         "negative", fn, patience, cooldown);
    if (!(min_delta >= 0.0) || isinf(min_delta) || !(min_lr >= 0.0) || isinf(min_lr))
        return bgm__fail(BGM_E_INVALID, "%s: min_delta = %g and min_lr = %g, expected finite "
                         "values >= 0", fn, min_delta, min_lr);
    if (verbose != 0 && verbose != 1)
        return bgm__fail(BGM_E_INVALID, "%s: verbose = %d, expected 0 or 1", fn, verbose);
    p = calloc(1, sizeof *p);
    if (!p)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    s = bgm__monitor_init(&p->mon, monitor, mode, fn);
    if (s != BGM_OK) {
        free(p);
        return s;
    }
    p->factor = factor;
    p->patience = patience;
    p->verbose = verbose;
    p->min_delta = min_delta;
    p->cooldown = cooldown;
    p->min_lr = min_lr;
    return bgm__callback_new_ops(out, &plateau_ops, p, fn);
}
