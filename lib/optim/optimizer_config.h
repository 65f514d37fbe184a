/* Read access to an optimizer's hyperparameters, for the model file
 * (lib/model/model_save.c), which writes them and rebuilds the optimizer
 * through the public constructors and setters. */
#ifndef BGM_OPTIM_OPTIMIZER_CONFIG_H
#define BGM_OPTIM_OPTIMIZER_CONFIG_H

#include "schedule.h"

typedef struct bgm__optimizer_config {
    bgm_optimizer_kind kind;
    float lr;                  /* current rate */
    float momentum;            /* SGD, RMSprop */
    int nesterov;              /* SGD */
    float beta1, beta2;        /* Adam, AdamW */
    float rho;                 /* RMSprop */
    float epsilon;
    float weight_decay;        /* AdamW */
    float clipnorm, global_clipnorm, clipvalue; /* 0 = off */
    const bgm_lr_schedule *schedule; /* borrowed from the optimizer; NULL = none */
    int built;                 /* 1 once the slots exist (build or a step) */
} bgm__optimizer_config;

/* Fills cfg from opt (non-NULL). */
void bgm__optimizer_get_config(const bgm_optimizer *opt, bgm__optimizer_config *cfg);

#endif
