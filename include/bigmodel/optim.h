/*
 * bigmodel/optim.h — optimizers, gradient clipping and learning-rate schedules.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * An optimizer updates a list of float32 parameter tensors in place from
 * same-shape gradient tensors (for instance the ones bgm_tape_gradient()
 * returns), which is all a GradientTape-style training loop needs:
 *
 *     bgm_optimizer *opt = NULL;
 *     bgm_optimizer_adam(&opt, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
 *     for (...) {
 *         ... forward on a tape, bgm_tape_gradient(tape, loss, params, n, grads) ...
 *         bgm_optimizer_step(opt, params, grads, n);
 *         bgm_tape_reset(tape);
 *     }
 *     bgm_optimizer_free(opt);
 *
 * Per-parameter state (momentum, first and second moments) is keyed by the
 * position of a tensor in the list, so every step must pass the same number
 * of parameters with the same shapes in the same order. All of that state
 * lives in one contiguous float buffer, which bgm_optimizer_get_state() and
 * bgm_optimizer_set_state() copy out and in for checkpoints.
 *
 * The update rules follow torch.optim (the defaults below are the Keras ones
 * where the two libraries differ; the PyTorch value is named beside them).
 */
#ifndef BIGMODEL_OPTIM_H
#define BIGMODEL_OPTIM_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Updates parameters from gradients. Opaque; one thread at a time. */
typedef struct bgm_optimizer bgm_optimizer;

/** A learning rate as a function of the step number. Opaque, immutable. */
typedef struct bgm_lr_schedule bgm_lr_schedule;

/** Which update rule an optimizer applies. Values are part of the ABI. */
typedef enum bgm_optimizer_kind {
    BGM_OPTIMIZER_SGD = 1,
    BGM_OPTIMIZER_ADAM = 2,
    BGM_OPTIMIZER_ADAMW = 3,
    BGM_OPTIMIZER_RMSPROP = 4
} bgm_optimizer_kind;

/* ---- default hyperparameters ------------------------------------------- */

#define BGM_SGD_LEARNING_RATE 0.01f      /**< Keras (PyTorch has no default) */
#define BGM_SGD_MOMENTUM 0.0f            /**< Keras and PyTorch */
#define BGM_ADAM_LEARNING_RATE 0.001f    /**< Keras and PyTorch */
#define BGM_ADAM_BETA1 0.9f              /**< Keras and PyTorch */
#define BGM_ADAM_BETA2 0.999f            /**< Keras and PyTorch */
#define BGM_ADAM_EPSILON 1e-7f           /**< Keras; PyTorch uses 1e-8 */
#define BGM_ADAMW_WEIGHT_DECAY 0.004f    /**< Keras; PyTorch uses 0.01 */
#define BGM_RMSPROP_LEARNING_RATE 0.001f /**< Keras; PyTorch uses 0.01 */
#define BGM_RMSPROP_RHO 0.9f             /**< Keras; PyTorch's alpha is 0.99 */
#define BGM_RMSPROP_MOMENTUM 0.0f        /**< Keras and PyTorch */
#define BGM_RMSPROP_EPSILON 1e-7f        /**< Keras; PyTorch uses 1e-8 */

/* ---- creating optimizers -----------------------------------------------
 * Each constructor writes a new optimizer to *out, freed with
 * bgm_optimizer_free(). On error *out is NULL.
 * Common errors: BGM_E_INVALID (NULL out; a learning rate, epsilon or weight
 * decay that is negative or not finite; a beta or rho outside [0, 1); a
 * momentum outside [0, 1]), BGM_E_NOMEM.
 */

/**
 * Stochastic gradient descent, PyTorch's form of momentum:
 * v = momentum * v + g; p -= lr * v, or with nesterov != 0
 * p -= lr * (g + momentum * v). momentum == 0 is plain p -= lr * g.
 * Errors also: BGM_E_INVALID when nesterov is set with momentum == 0.
 */
BGM_API bgm_status bgm_optimizer_sgd(bgm_optimizer **out, float lr, float momentum,
                                     int nesterov);

/**
 * Adam with bias correction (torch.optim.Adam, keras.optimizers.Adam):
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * m_hat / (sqrt(v_hat) + epsilon), m_hat = m / (1-b1^t),
 * v_hat = v / (1-b2^t), t the 1-based step number.
 */
BGM_API bgm_status bgm_optimizer_adam(bgm_optimizer **out, float lr, float beta1,
                                      float beta2, float epsilon);

/**
 * AdamW (torch.optim.AdamW): decoupled weight decay p -= lr * weight_decay * p
 * first, then the Adam update.
 */
BGM_API bgm_status bgm_optimizer_adamw(bgm_optimizer **out, float lr, float beta1,
                                       float beta2, float epsilon, float weight_decay);

/**
 * RMSprop as torch.optim.RMSprop(alpha=rho, centered=False):
 * s = rho s + (1-rho) g^2; d = g / (sqrt(s) + epsilon) (epsilon outside the
 * square root); p -= lr * d, or with momentum b = momentum b + d; p -= lr * b.
 */
BGM_API bgm_status bgm_optimizer_rmsprop(bgm_optimizer **out, float lr, float rho,
                                         float momentum, float epsilon);

/** Frees an optimizer and its state. NULL is a no-op. */
BGM_API void bgm_optimizer_free(bgm_optimizer *opt);

/* ---- stepping ---------------------------------------------------------- */

/**
 * Fixes the parameter list the optimizer serves and allocates its state
 * (zeros), as Keras' optimizer.build(). bgm_optimizer_step() does this on
 * its first call; call it yourself to restore a state before any step.
 * params is borrowed for the call only. Calling it again with the same
 * shapes is a no-op.
 * Errors: BGM_E_INVALID (NULL, n < 1), BGM_E_DTYPE (a parameter is not
 * float32), BGM_E_STATE (built before for another number of parameters),
 * BGM_E_SHAPE (parameter i has another shape than before), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_optimizer_build(bgm_optimizer *opt, bgm_tensor *const *params,
                                       int n);

/**
 * Applies one update to params[0..n-1] in place from grads[0..n-1].
 * grads[i] must have the shape of params[i]. When clipping is set on the
 * optimizer, the gradients are clipped in place first (norm per tensor, then
 * global norm, then value), so grads hold the clipped values afterwards.
 * With a schedule attached, the learning rate of this step is the schedule's
 * value at bgm_optimizer_step_count() (0 for the first step, as Keras'
 * optimizer.iterations) and becomes the optimizer's current rate.
 * Tensors are borrowed for the call. On error nothing is changed.
 * Errors: BGM_E_INVALID (NULL, n < 1, the schedule gave a negative or
 * non-finite rate), BGM_E_DTYPE (a tensor is not float32), BGM_E_SHAPE
 * (grads[i] differs in shape from params[i], or params[i] from earlier
 * steps), BGM_E_STATE (n differs from earlier steps), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_optimizer_step(bgm_optimizer *opt, bgm_tensor *const *params,
                                      bgm_tensor *const *grads, int n);

/** Number of updates applied so far (0 for NULL). */
BGM_API int64_t bgm_optimizer_step_count(const bgm_optimizer *opt);

/** The update rule of opt (0 for NULL). */
BGM_API bgm_optimizer_kind bgm_optimizer_get_kind(const bgm_optimizer *opt);

/* ---- learning rate ----------------------------------------------------- */

/**
 * Sets the current learning rate. With a built-in schedule attached, the
 * next step replaces it; a callback schedule receives it as current_lr.
 * Errors: BGM_E_INVALID (NULL, lr negative or not finite).
 */
BGM_API bgm_status bgm_optimizer_set_lr(bgm_optimizer *opt, float lr);

/**
 * The current learning rate: the one set last, or with a schedule the one
 * the latest step used (0 for NULL).
 */
BGM_API float bgm_optimizer_get_lr(const bgm_optimizer *opt);

/**
 * Attaches a copy of schedule to opt (replacing any earlier one); NULL
 * detaches it, after which steps use the current rate. The caller keeps
 * ownership of schedule and may free it right after this call; the ctx of a
 * callback schedule is borrowed and must stay valid while opt uses it.
 * Errors: BGM_E_INVALID (NULL opt).
 */
BGM_API bgm_status bgm_optimizer_set_schedule(bgm_optimizer *opt,
                                              const bgm_lr_schedule *schedule);

/* ---- clipping inside step (Keras' clipnorm, global_clipnorm, clipvalue) - */

/**
 * Clips each gradient tensor to L2 norm at most max_norm before each update
 * (Keras clipnorm). 0 turns it off. Errors: BGM_E_INVALID (NULL, negative or
 * non-finite max_norm).
 */
BGM_API bgm_status bgm_optimizer_set_clipnorm(bgm_optimizer *opt, float max_norm);

/**
 * Clips all gradients together to global L2 norm at most max_norm before
 * each update, as bgm_clip_grad_norm (Keras global_clipnorm). 0 turns it off.
 * Errors: BGM_E_INVALID (NULL, negative or non-finite max_norm).
 */
BGM_API bgm_status bgm_optimizer_set_global_clipnorm(bgm_optimizer *opt, float max_norm);

/**
 * Clamps every gradient element to [-clip, clip] before each update (Keras
 * clipvalue). 0 turns it off. Errors: BGM_E_INVALID (NULL, negative or
 * non-finite clip).
 */
BGM_API bgm_status bgm_optimizer_set_clipvalue(bgm_optimizer *opt, float clip);

/* ---- saving and restoring state --------------------------------------- */

/**
 * Number of floats in the optimizer's state (its slot buffer): 0 before the
 * optimizer is built or for NULL. The layout is the slots one after another
 * (SGD: velocity; Adam/AdamW: m, v; RMSprop: square average, then momentum
 * buffer), each slot the parameters' elements in list order.
 */
BGM_API int64_t bgm_optimizer_state_size(const bgm_optimizer *opt);

/**
 * Copies the state into buf (count floats, count == bgm_optimizer_state_size)
 * and the step count into *step_out (may be NULL). Together with the
 * hyperparameters and the current learning rate they resume training with
 * identical bits. Errors: BGM_E_INVALID (NULL opt or buf), BGM_E_STATE (not
 * built yet), BGM_E_SHAPE (count differs from the state size).
 */
BGM_API bgm_status bgm_optimizer_get_state(const bgm_optimizer *opt, float *buf,
                                           int64_t count, int64_t *step_out);

/**
 * Overwrites the state from buf (count floats) and sets the step count.
 * The optimizer must be built (bgm_optimizer_build or a step) for the same
 * parameter list the state came from. buf is borrowed for the call.
 * Errors: BGM_E_INVALID (NULL, step < 0), BGM_E_STATE (not built yet),
 * BGM_E_SHAPE (count differs from the state size).
 */
BGM_API bgm_status bgm_optimizer_set_state(bgm_optimizer *opt, const float *buf,
                                           int64_t count, int64_t step);

/* ---- gradient clipping as functions ------------------------------------ */

/**
 * Scales grads[0..n-1] in place so that their global L2 norm (over every
 * element of every tensor) is at most max_norm: when
 * coef = max_norm / (norm + 1e-6) is below 1 every element is multiplied by
 * coef (torch.nn.utils.clip_grad_norm_). *total_norm_out (may be NULL)
 * receives the norm before clipping, so a caller can detect inf or NaN.
 * Errors: BGM_E_INVALID (NULL grads or element, n < 0, max_norm not
 * positive and finite), BGM_E_DTYPE (a tensor is not float32). On error no
 * tensor is changed.
 */
BGM_API bgm_status bgm_clip_grad_norm(double *total_norm_out, bgm_tensor *const *grads,
                                      int n, float max_norm);

/**
 * Clamps every element of grads[0..n-1] to [-clip, clip] in place (NaN stays
 * NaN). Errors: BGM_E_INVALID (NULL, n < 0, clip not positive and finite),
 * BGM_E_DTYPE.
 */
BGM_API bgm_status bgm_clip_grad_value(bgm_tensor *const *grads, int n, float clip);

/* ---- learning-rate schedules -------------------------------------------
 * Each constructor writes a new schedule to *out, freed with
 * bgm_lr_schedule_free(). On error *out is NULL. Steps count from 0.
 * Common errors: BGM_E_INVALID (NULL out, a rate that is negative or not
 * finite, a step count below 1), BGM_E_NOMEM.
 */

/** Called for the rate of step `step`; current_lr is the optimizer's current rate. */
typedef float (*bgm_lr_fn)(int64_t step, float current_lr, void *ctx);

/** The same rate lr at every step. */
BGM_API bgm_status bgm_lr_schedule_constant(bgm_lr_schedule **out, float lr);

/**
 * lr * gamma^floor(step / step_size) (torch.optim.lr_scheduler.StepLR).
 * Errors also: step_size < 1, gamma negative or not finite.
 */
BGM_API bgm_status bgm_lr_schedule_step_decay(bgm_lr_schedule **out, float lr,
                                              int64_t step_size, float gamma);

/**
 * lr * decay_rate^(step / decay_steps), with the exponent floored when
 * staircase != 0 (keras.optimizers.schedules.ExponentialDecay).
 * Errors also: decay_steps < 1, decay_rate not positive and finite.
 */
BGM_API bgm_status bgm_lr_schedule_exponential_decay(bgm_lr_schedule **out, float lr,
                                                     int64_t decay_steps,
                                                     float decay_rate, int staircase);

/**
 * Linear warmup from warmup_start_lr to lr over warmup_steps steps, then
 * cosine decay from lr to alpha * lr over decay_steps steps, then alpha * lr
 * (keras.optimizers.schedules.CosineDecay with warmup_target = lr). With
 * warmup_steps == 0 it is plain cosine decay and warmup_start_lr is unused.
 * Errors also: decay_steps < 1, warmup_steps < 0, alpha outside [0, 1].
 */
BGM_API bgm_status bgm_lr_schedule_cosine_decay(bgm_lr_schedule **out, float lr,
                                                int64_t decay_steps, float alpha,
                                                int64_t warmup_steps,
                                                float warmup_start_lr);

/**
 * fn(step, current_lr, ctx) for each step. ctx is borrowed: it must stay
 * valid as long as this schedule or an optimizer holding a copy of it is
 * used. A returned rate that is negative or not finite fails the step.
 * Errors also: fn NULL.
 */
BGM_API bgm_status bgm_lr_schedule_callback(bgm_lr_schedule **out, bgm_lr_fn fn,
                                            void *ctx);

/**
 * The schedule's rate at step into *lr_out. current_lr is passed on to a
 * callback and ignored by the built-in schedules.
 * Errors: BGM_E_INVALID (NULL, step < 0, a callback returned a negative or
 * non-finite rate).
 */
BGM_API bgm_status bgm_lr_schedule_value(float *lr_out, const bgm_lr_schedule *schedule,
                                         int64_t step, float current_lr);

/** Frees a schedule. NULL is a no-op. Optimizers hold their own copies. */
BGM_API void bgm_lr_schedule_free(bgm_lr_schedule *schedule);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_OPTIM_H */
