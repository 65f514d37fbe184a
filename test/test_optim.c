/* Optimizers, gradient clipping and learning-rate schedules: hand-computed
 * steps, closed forms, bit-exact resume, and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const double pi = 3.14159265358979323846;

static bgm_tensor *vec(int64_t n, const float *values)
{
    return bgm_test_tensor(&n, 1, values);
}

static float at(const bgm_tensor *t, int64_t i) { return ((const float *)bgm_tensor_data(t))[i]; }

static void assert_near(double got, double want, double tol)
{
    ck_assert_msg(fabs(got - want) <= tol * (1.0 + fabs(want)), "got %.9g, want %.9g", got,
                  want);
}

/* Runs `steps` updates of opt on one parameter with a constant gradient. */
static void step_constant(bgm_optimizer *opt, bgm_tensor *p, bgm_tensor *g, int steps)
{
    int i;
    for (i = 0; i < steps; i++)
        BGM_ASSERT_OK(bgm_optimizer_step(opt, &p, &g, 1));
}

/* ---- the update rules ------------------------------------------------- */

START_TEST(sgd_without_momentum_subtracts_lr_times_gradient)
{
    /* p - 0.1 g: 1 - 0.05 = 0.95, -2 - 0.1 = -2.1, 3 + 0.2 = 3.2 */
    const float p0[] = {1, -2, 3}, g0[] = {0.5f, 1, -2}, want[] = {0.95f, -2.1f, 3.2f};
    int64_t shape[] = {3};
    bgm_tensor *p = vec(3, p0), *g = vec(3, g0);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.1f, 0.0f, 0));
    ck_assert_int_eq(bgm_optimizer_get_kind(opt), BGM_OPTIMIZER_SGD);
    step_constant(opt, p, g, 1);
    bgm_test_assert_close(p, shape, 1, want, 1e-7);
    ck_assert_int_eq(bgm_optimizer_step_count(opt), 1);
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 0);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(sgd_momentum_accumulates_velocity_the_pytorch_way)
{
    /* lr 0.1, mu 0.9, g = 1 twice:
     * v1 = 1,           p1 = 1 - 0.1 * 1 = 0.9
     * v2 = 0.9 + 1 = 1.9, p2 = 0.9 - 0.19 = 0.71 */
    const float one = 1.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &one);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.1f, 0.9f, 0));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.9, 1e-7);
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.71, 1e-6);
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 1);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(sgd_nesterov_steps_along_gradient_plus_momentum)
{
    /* lr 0.1, mu 0.9, g = 1 twice:
     * v1 = 1,   p1 = 1 - 0.1 * (1 + 0.9 * 1) = 0.81
     * v2 = 1.9, p2 = 0.81 - 0.1 * (1 + 0.9 * 1.9) = 0.81 - 0.271 = 0.539 */
    const float one = 1.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &one);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.1f, 0.9f, 1));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.81, 1e-7);
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.539, 1e-6);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(adam_two_steps_match_the_bias_corrected_formula)
{
    /* lr 0.1, b1 0.9, b2 0.999, eps 1e-8, p = 1, g = 2 then -1.
     * t=1: m = 0.2, v = 0.004, m_hat = 0.2/0.1 = 2, v_hat = 0.004/0.001 = 4,
     *      p = 1 - 0.1 * 2 / (2 + 1e-8) = 0.9
     * t=2: m = 0.18 - 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996,
     *      m_hat = 0.08 / 0.19 = 0.421053, v_hat = 0.004996 / 0.001999 = 2.49925,
     *      p = 0.9 - 0.1 * 0.421053 / 1.580901 = 0.873366 */
    const float one = 1.0f, two = 2.0f, minus_one = -1.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &two);
    bgm_optimizer *opt = NULL;
    float state[2];
    int64_t step = -1;
    BGM_ASSERT_OK(bgm_optimizer_adam(&opt, 0.1f, 0.9f, 0.999f, 1e-8f));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.9, 1e-6);
    BGM_ASSERT_OK(bgm_tensor_copy_from(g, &minus_one, sizeof minus_one));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.8733663, 1e-6);
    /* The state is m then v. */
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 2);
    BGM_ASSERT_OK(bgm_optimizer_get_state(opt, state, 2, &step));
    assert_near(state[0], 0.08, 1e-6);
    assert_near(state[1], 0.004996, 1e-6);
    ck_assert_int_eq(step, 2);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(adam_first_step_moves_each_element_by_lr_times_sign)
{
    /* At t = 1, m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps). */
    const float g0[] = {1e-3f, -2.5f, 40.0f, -1e3f, 0.25f};
    const float p0[] = {0, 0, 0, 0, 0};
    bgm_tensor *p = vec(5, p0), *g = vec(5, g0);
    bgm_optimizer *opt = NULL;
    int i;
    BGM_ASSERT_OK(bgm_optimizer_adam(&opt, 0.01f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    step_constant(opt, p, g, 1);
    for (i = 0; i < 5; i++)
        assert_near(at(p, i), g0[i] > 0 ? -0.01 : 0.01, 1e-4);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(adamw_decays_weights_before_the_adam_step)
{
    /* lr 0.1, wd 0.5: p = 2 * (1 - 0.1 * 0.5) = 1.9, then the first Adam step
     * subtracts 0.1 * sign(g): 1.9 - 0.1 = 1.8. With g = 0 only the decay acts. */
    const float two[] = {2, 2}, g0[] = {1, 0};
    bgm_tensor *p = vec(2, two), *g = vec(2, g0);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adamw(&opt, 0.1f, 0.9f, 0.999f, 1e-8f, 0.5f));
    ck_assert_int_eq(bgm_optimizer_get_kind(opt), BGM_OPTIMIZER_ADAMW);
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 1.8, 1e-6);
    assert_near(at(p, 1), 1.9, 1e-7);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(rmsprop_adds_epsilon_outside_the_square_root)
{
    /* lr 0.01, rho 0.9, eps 1e-8, p = 1, g = 2:
     * s = 0.1 * 4 = 0.4, d = 2 / (sqrt(0.4) + eps) = 3.162278, p = 0.968377.
     * With eps = 1 (large, to see where it goes): d = 2 / (0.632456 + 1) = 1.225148,
     * p = 1 - 0.01225148 = 0.987749 (eps inside the root would give 0.983397). */
    const float one = 1.0f, two = 2.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &two);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_rmsprop(&opt, 0.01f, 0.9f, 0.0f, 1e-8f));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.9683772, 1e-6);
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 1);
    bgm_optimizer_free(opt);
    BGM_ASSERT_OK(bgm_tensor_fill(p, 1.0));
    BGM_ASSERT_OK(bgm_optimizer_rmsprop(&opt, 0.01f, 0.9f, 0.0f, 1.0f));
    step_constant(opt, p, g, 1);
    assert_near(at(p, 0), 0.9877485, 1e-6);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(rmsprop_momentum_accumulates_the_scaled_gradient)
{
    /* lr 0.01, rho 0.9, mu 0.5, eps 1e-8, g = 2 twice:
     * t=1: s = 0.4,  d = 3.162278, b = 3.162278, p = 0.968377
     * t=2: s = 0.36 + 0.4 = 0.76, d = 2 / 0.871780 = 2.294157,
     *      b = 1.581139 + 2.294157 = 3.875296, p = 0.968377 - 0.038753 = 0.929624 */
    const float one = 1.0f, two = 2.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &two);
    bgm_optimizer *opt = NULL;
    BGM_ASSERT_OK(bgm_optimizer_rmsprop(&opt, 0.01f, 0.9f, 0.5f, 1e-8f));
    ck_assert_int_eq(bgm_optimizer_get_kind(opt), BGM_OPTIMIZER_RMSPROP);
    step_constant(opt, p, g, 2);
    assert_near(at(p, 0), 0.9296243, 1e-6);
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 2);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(default_hyperparameters_are_the_keras_ones)
{
    ck_assert_float_eq(BGM_SGD_LEARNING_RATE, 0.01f);
    ck_assert_float_eq(BGM_ADAM_LEARNING_RATE, 0.001f);
    ck_assert_float_eq(BGM_ADAM_BETA1, 0.9f);
    ck_assert_float_eq(BGM_ADAM_BETA2, 0.999f);
    ck_assert_float_eq(BGM_ADAM_EPSILON, 1e-7f);
    ck_assert_float_eq(BGM_ADAMW_WEIGHT_DECAY, 0.004f);
    ck_assert_float_eq(BGM_RMSPROP_RHO, 0.9f);
    ck_assert_float_eq(BGM_RMSPROP_EPSILON, 1e-7f);
}
END_TEST

/* ---- clipping ----------------------------------------------------------- */

START_TEST(clip_grad_norm_scales_everything_by_max_over_global_norm)
{
    /* |(3, 4)| = 5; max_norm 1: coef = 1 / (5 + 1e-6), so 0.6 and 0.8. */
    const float three = 3.0f, four = 4.0f;
    bgm_tensor *g[2];
    double norm = -1;
    g[0] = vec(1, &three);
    g[1] = vec(1, &four);
    BGM_ASSERT_OK(bgm_clip_grad_norm(&norm, g, 2, 10.0f));
    assert_near(norm, 5.0, 1e-12);
    ck_assert_float_eq(at(g[0], 0), 3.0f); /* below the limit: untouched */
    BGM_ASSERT_OK(bgm_clip_grad_norm(&norm, g, 2, 1.0f));
    assert_near(norm, 5.0, 1e-12);
    assert_near(at(g[0], 0), 0.6 * 5.0 / (5.0 + 1e-6), 1e-7);
    assert_near(at(g[1], 0), 0.8 * 5.0 / (5.0 + 1e-6), 1e-7);
    BGM_ASSERT_OK(bgm_clip_grad_norm(NULL, g, 2, 0.5f));
    assert_near(at(g[1], 0), 0.4, 1e-6);
    bgm_tensor_free(g[0]);
    bgm_tensor_free(g[1]);
}
END_TEST

START_TEST(clip_grad_value_clamps_each_element_and_keeps_nan)
{
    const float v[] = {-3.0f, 0.5f, 2.0f, NAN, -1.0f};
    bgm_tensor *g = vec(5, v);
    BGM_ASSERT_OK(bgm_clip_grad_value(&g, 1, 1.0f));
    ck_assert_float_eq(at(g, 0), -1.0f);
    ck_assert_float_eq(at(g, 1), 0.5f);
    ck_assert_float_eq(at(g, 2), 1.0f);
    ck_assert(isnan(at(g, 3)));
    ck_assert_float_eq(at(g, 4), -1.0f);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(optimizer_clips_gradients_inside_step)
{
    /* SGD with lr 1 turns p = 0 into -(clipped gradient). */
    const float g34[] = {3, 4}, small = 0.1f, zeros[] = {0, 0};
    bgm_tensor *p[2], *g[2];
    bgm_optimizer *opt = NULL;
    p[0] = vec(2, zeros);
    p[1] = vec(1, zeros);
    g[0] = vec(2, g34);
    g[1] = vec(1, &small);

    /* clipnorm 1 per tensor: (3, 4) -> (0.6, 0.8); 0.1 stays. */
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 1.0f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_optimizer_set_clipnorm(opt, 1.0f));
    BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    assert_near(at(p[0], 0), -0.6, 1e-6);
    assert_near(at(p[0], 1), -0.8, 1e-6);
    assert_near(at(p[1], 0), -0.1, 1e-7);
    bgm_optimizer_free(opt);

    /* global clipnorm 0.5 over (3, 4, 0.1): norm 5.001, everything * 0.5/5.001. */
    BGM_ASSERT_OK(bgm_tensor_copy_from(g[0], g34, sizeof g34));
    BGM_ASSERT_OK(bgm_tensor_copy_from(g[1], &small, sizeof small));
    BGM_ASSERT_OK(bgm_tensor_fill(p[0], 0));
    BGM_ASSERT_OK(bgm_tensor_fill(p[1], 0));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 1.0f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_optimizer_set_global_clipnorm(opt, 0.5f));
    BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    assert_near(at(p[0], 1), -4.0 * 0.5 / sqrt(25.01), 1e-6);
    assert_near(at(p[1], 0), -0.1 * 0.5 / sqrt(25.01), 1e-6);
    bgm_optimizer_free(opt);

    /* clipvalue 0.5: (3, 4) -> (0.5, 0.5), 0.1 stays. The global clip above
     * rescaled the gradients in place, so they are restored first. */
    BGM_ASSERT_OK(bgm_tensor_copy_from(g[0], g34, sizeof g34));
    BGM_ASSERT_OK(bgm_tensor_copy_from(g[1], &small, sizeof small));
    BGM_ASSERT_OK(bgm_tensor_fill(p[0], 0));
    BGM_ASSERT_OK(bgm_tensor_fill(p[1], 0));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 1.0f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_optimizer_set_clipvalue(opt, 0.5f));
    BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    ck_assert_float_eq(at(p[0], 0), -0.5f);
    ck_assert_float_eq(at(p[0], 1), -0.5f);
    assert_near(at(p[1], 0), -0.1, 1e-7);
    /* 0 turns clipping off again. */
    BGM_ASSERT_OK(bgm_optimizer_set_clipvalue(opt, 0.0f));
    BGM_ASSERT_OK(bgm_tensor_copy_from(g[0], g34, sizeof g34));
    BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    ck_assert_float_eq(at(p[0], 1), -4.5f);
    bgm_optimizer_free(opt);

    bgm_tensor_free(p[0]);
    bgm_tensor_free(p[1]);
    bgm_tensor_free(g[0]);
    bgm_tensor_free(g[1]);
}
END_TEST

/* ---- schedules -------------------------------------------------------- */

static float value_at(const bgm_lr_schedule *s, int64_t step)
{
    float lr = -1.0f;
    BGM_ASSERT_OK(bgm_lr_schedule_value(&lr, s, step, 123.0f));
    return lr;
}

START_TEST(constant_and_step_decay_schedules_follow_their_closed_forms)
{
    bgm_lr_schedule *c = NULL, *s = NULL;
    BGM_ASSERT_OK(bgm_lr_schedule_constant(&c, 0.25f));
    ck_assert_float_eq(value_at(c, 0), 0.25f);
    ck_assert_float_eq(value_at(c, 1000000), 0.25f);
    /* 1 * 0.5^floor(step / 3) */
    BGM_ASSERT_OK(bgm_lr_schedule_step_decay(&s, 1.0f, 3, 0.5f));
    ck_assert_float_eq(value_at(s, 0), 1.0f);
    ck_assert_float_eq(value_at(s, 2), 1.0f);
    ck_assert_float_eq(value_at(s, 3), 0.5f);
    ck_assert_float_eq(value_at(s, 5), 0.5f);
    ck_assert_float_eq(value_at(s, 6), 0.25f);
    ck_assert_float_eq(value_at(s, 30), 1.0f / 1024.0f);
    bgm_lr_schedule_free(c);
    bgm_lr_schedule_free(s);
}
END_TEST

START_TEST(exponential_decay_is_smooth_or_staircase)
{
    /* 0.1 * 0.5^(step / 10) */
    bgm_lr_schedule *e = NULL, *st = NULL;
    BGM_ASSERT_OK(bgm_lr_schedule_exponential_decay(&e, 0.1f, 10, 0.5f, 0));
    assert_near(value_at(e, 0), 0.1, 1e-7);
    assert_near(value_at(e, 5), 0.1 * sqrt(0.5), 1e-7);
    assert_near(value_at(e, 10), 0.05, 1e-7);
    assert_near(value_at(e, 25), 0.1 * pow(0.5, 2.5), 1e-7);
    BGM_ASSERT_OK(bgm_lr_schedule_exponential_decay(&st, 0.1f, 10, 0.5f, 1));
    assert_near(value_at(st, 5), 0.1, 1e-7);
    assert_near(value_at(st, 15), 0.05, 1e-7);
    assert_near(value_at(st, 20), 0.025, 1e-7);
    bgm_lr_schedule_free(e);
    bgm_lr_schedule_free(st);
}
END_TEST

START_TEST(cosine_decay_warms_up_linearly_then_follows_the_cosine)
{
    /* lr 1, 10 decay steps, alpha 0.1, 5 warmup steps from 0:
     * warmup: step / 5; decay: 0.1 + 0.9 * 0.5 * (1 + cos(pi * (step - 5) / 10)) */
    bgm_lr_schedule *w = NULL, *plain = NULL;
    BGM_ASSERT_OK(bgm_lr_schedule_cosine_decay(&w, 1.0f, 10, 0.1f, 5, 0.0f));
    assert_near(value_at(w, 0), 0.0, 1e-7);
    assert_near(value_at(w, 2), 0.4, 1e-7);
    assert_near(value_at(w, 5), 1.0, 1e-7);
    assert_near(value_at(w, 7), 0.1 + 0.45 * (1 + cos(pi * 0.2)), 1e-7);
    assert_near(value_at(w, 10), 0.55, 1e-7);
    assert_near(value_at(w, 15), 0.1, 1e-7);
    assert_near(value_at(w, 1000), 0.1, 1e-7);
    /* Without warmup (Keras' plain CosineDecay, alpha 0): 0.5 * (1 + cos(pi * step / 10)). */
    BGM_ASSERT_OK(bgm_lr_schedule_cosine_decay(&plain, 2.0f, 10, 0.0f, 0, 0.0f));
    assert_near(value_at(plain, 0), 2.0, 1e-7);
    assert_near(value_at(plain, 3), 1.0 + cos(pi * 0.3), 1e-7);
    assert_near(value_at(plain, 10), 0.0, 1e-7);
    assert_near(value_at(plain, 11), 0.0, 1e-7);
    bgm_lr_schedule_free(w);
    bgm_lr_schedule_free(plain);
}
END_TEST

static float halve_every_other_step(int64_t step, float current_lr, void *ctx)
{
    int *calls = ctx;
    (*calls)++;
    return step % 2 ? current_lr * 0.5f : current_lr;
}

START_TEST(callback_schedule_receives_step_and_current_rate)
{
    int calls = 0;
    bgm_lr_schedule *s = NULL;
    float lr = 0;
    BGM_ASSERT_OK(bgm_lr_schedule_callback(&s, halve_every_other_step, &calls));
    BGM_ASSERT_OK(bgm_lr_schedule_value(&lr, s, 3, 0.8f));
    ck_assert_float_eq(lr, 0.4f);
    BGM_ASSERT_OK(bgm_lr_schedule_value(&lr, s, 4, 0.8f));
    ck_assert_float_eq(lr, 0.8f);
    ck_assert_int_eq(calls, 2);
    bgm_lr_schedule_free(s);
}
END_TEST

START_TEST(optimizer_uses_its_copy_of_the_schedule_from_step_zero)
{
    /* SGD, g = 1, step decay 1 * 0.5^step: p = 0 -> -1 -> -1.5 -> -1.75. */
    const float zero = 0.0f, one = 1.0f;
    bgm_tensor *p = vec(1, &zero), *g = vec(1, &one);
    bgm_optimizer *opt = NULL;
    bgm_lr_schedule *s = NULL;
    int calls = 0;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 123.0f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_lr_schedule_step_decay(&s, 1.0f, 1, 0.5f));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(opt, s));
    bgm_lr_schedule_free(s); /* the optimizer keeps its own copy */
    step_constant(opt, p, g, 3);
    ck_assert_float_eq(at(p, 0), -1.75f);
    ck_assert_float_eq(bgm_optimizer_get_lr(opt), 0.25f);

    /* Detached: the current rate (0.25, the last one used) applies. */
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(opt, NULL));
    step_constant(opt, p, g, 1);
    ck_assert_float_eq(at(p, 0), -2.0f);

    /* A callback gets the current rate and halves it on odd step counts:
     * step count 4 keeps 0.25 (p = -2.25), 5 halves it to 0.125 (p = -2.375). */
    BGM_ASSERT_OK(bgm_lr_schedule_callback(&s, halve_every_other_step, &calls));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(opt, s));
    bgm_lr_schedule_free(s);
    step_constant(opt, p, g, 2);
    ck_assert_float_eq(at(p, 0), -2.375f);
    ck_assert_float_eq(bgm_optimizer_get_lr(opt), 0.125f);
    ck_assert_int_eq(calls, 2);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

/* ---- saving and restoring state ---------------------------------------- */

/* A deterministic gradient that depends on the parameters and the step, so a
 * wrong state or step count shows up in the bits. */
static void fill_grads(bgm_tensor *const *p, bgm_tensor *const *g, int n, int step)
{
    int i;
    int64_t j;
    for (i = 0; i < n; i++) {
        const float *pv = bgm_tensor_data(p[i]);
        float *gv = bgm_tensor_data(g[i]);
        for (j = 0; j < bgm_tensor_numel(p[i]); j++)
            gv[j] = 0.3f * pv[j] + sinf((float)(step * 7 + j + i)) - 0.1f;
    }
}

typedef bgm_status (*make_fn)(bgm_optimizer **out);
static bgm_status make_adam(bgm_optimizer **o) { return bgm_optimizer_adam(o, 0.05f, 0.9f, 0.99f, 1e-7f); }
static bgm_status make_adamw(bgm_optimizer **o) { return bgm_optimizer_adamw(o, 0.05f, 0.8f, 0.9f, 1e-7f, 0.1f); }
static bgm_status make_sgd(bgm_optimizer **o) { return bgm_optimizer_sgd(o, 0.1f, 0.9f, 1); }
static bgm_status make_rmsprop(bgm_optimizer **o) { return bgm_optimizer_rmsprop(o, 0.01f, 0.9f, 0.5f, 1e-7f); }

static void run_steps(bgm_optimizer *opt, bgm_tensor *const *p, bgm_tensor *const *g,
                      int from, int to)
{
    int s;
    for (s = from; s < to; s++) {
        fill_grads(p, g, 2, s);
        BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    }
}

static void check_resume(make_fn make)
{
    int64_t s0[] = {2, 3}, s1[] = {4};
    bgm_tensor *pa[2], *pb[2], *g[2];
    bgm_optimizer *a = NULL, *b = NULL, *c = NULL;
    bgm_lr_schedule *sched = NULL;
    float *state;
    int64_t size, step = 0;
    int i;
    pa[0] = bgm_test_randn(s0, 2, 1);
    pa[1] = bgm_test_randn(s1, 1, 2);
    g[0] = bgm_test_randn(s0, 2, 3);
    g[1] = bgm_test_randn(s1, 1, 4);
    BGM_ASSERT_OK(bgm_tensor_clone(&pb[0], pa[0]));
    BGM_ASSERT_OK(bgm_tensor_clone(&pb[1], pa[1]));
    BGM_ASSERT_OK(bgm_lr_schedule_cosine_decay(&sched, 1.0f, 8, 0.1f, 3, 0.1f));

    BGM_ASSERT_OK(make(&a));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(a, sched));
    run_steps(a, pa, g, 0, 10);

    BGM_ASSERT_OK(make(&b));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(b, sched));
    run_steps(b, pb, g, 0, 5);
    size = bgm_optimizer_state_size(b);
    state = malloc((size_t)size * sizeof *state + 1);
    BGM_ASSERT_OK(bgm_optimizer_get_state(b, state, size, &step));
    ck_assert_int_eq(step, 5);
    bgm_optimizer_free(b);

    BGM_ASSERT_OK(make(&c));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(c, sched));
    BGM_ASSERT_OK(bgm_optimizer_build(c, pb, 2));
    ck_assert_int_eq(bgm_optimizer_state_size(c), size);
    BGM_ASSERT_OK(bgm_optimizer_set_state(c, state, size, step));
    ck_assert_int_eq(bgm_optimizer_step_count(c), 5);
    run_steps(c, pb, g, 5, 10);

    for (i = 0; i < 2; i++)
        ck_assert_msg(memcmp(bgm_tensor_data(pa[i]), bgm_tensor_data(pb[i]),
                             bgm_tensor_nbytes(pa[i])) == 0,
                      "parameter %d differs after resuming", i);
    free(state);
    bgm_lr_schedule_free(sched);
    bgm_optimizer_free(a);
    bgm_optimizer_free(c);
    for (i = 0; i < 2; i++) {
        bgm_tensor_free(pa[i]);
        bgm_tensor_free(pb[i]);
        bgm_tensor_free(g[i]);
    }
}

START_TEST(saved_state_resumes_bit_exactly_for_every_optimizer)
{
    check_resume(make_adam);
    check_resume(make_adamw);
    check_resume(make_sgd);
    check_resume(make_rmsprop);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(constructors_refuse_bad_hyperparameters)
{
    bgm_optimizer *opt = (bgm_optimizer *)&opt;
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(NULL, 0.1f, 0, 0), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(&opt, -0.1f, 0, 0), BGM_E_INVALID, "learning rate -0.1");
    ck_assert_ptr_null(opt);
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(&opt, NAN, 0, 0), BGM_E_INVALID, "learning rate nan");
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(&opt, INFINITY, 0, 0), BGM_E_INVALID, "finite");
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(&opt, 0.1f, 1.5f, 0), BGM_E_INVALID, "momentum 1.5");
    BGM_ASSERT_FAILS(bgm_optimizer_sgd(&opt, 0.1f, 0, 1), BGM_E_INVALID, "nesterov");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(NULL, 0.1f, 0.9f, 0.999f, 1e-7f), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(&opt, -1e-3f, 0.9f, 0.999f, 1e-7f), BGM_E_INVALID,
                     "learning rate");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(&opt, 0.1f, 1.0f, 0.999f, 1e-7f), BGM_E_INVALID,
                     "beta1 1 must be in [0, 1)");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(&opt, 0.1f, 0.9f, -0.5f, 1e-7f), BGM_E_INVALID,
                     "beta2 -0.5");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(&opt, 0.1f, 0.9f, NAN, 1e-7f), BGM_E_INVALID,
                     "beta2 nan");
    BGM_ASSERT_FAILS(bgm_optimizer_adam(&opt, 0.1f, 0.9f, 0.999f, -1e-7f), BGM_E_INVALID,
                     "epsilon");
    BGM_ASSERT_FAILS(bgm_optimizer_adamw(&opt, 0.1f, 0.9f, 0.999f, 1e-7f, -0.01f),
                     BGM_E_INVALID, "weight_decay -0.01");
    BGM_ASSERT_FAILS(bgm_optimizer_adamw(&opt, 0.1f, 1.1f, 0.999f, 1e-7f, 0.01f),
                     BGM_E_INVALID, "beta1");
    BGM_ASSERT_FAILS(bgm_optimizer_rmsprop(NULL, 0.1f, 0.9f, 0, 1e-7f), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_optimizer_rmsprop(&opt, 0.1f, 1.0f, 0, 1e-7f), BGM_E_INVALID,
                     "rho 1");
    BGM_ASSERT_FAILS(bgm_optimizer_rmsprop(&opt, 0.1f, 0.9f, -0.1f, 1e-7f), BGM_E_INVALID,
                     "momentum -0.1");
    BGM_ASSERT_FAILS(bgm_optimizer_rmsprop(&opt, -0.1f, 0.9f, 0, 1e-7f), BGM_E_INVALID,
                     "learning rate");
    BGM_ASSERT_FAILS(bgm_optimizer_rmsprop(&opt, 0.1f, 0.9f, 0, NAN), BGM_E_INVALID,
                     "epsilon");
    ck_assert_ptr_null(opt);
    bgm_optimizer_free(NULL);
}
END_TEST

START_TEST(step_refuses_bad_tensors_and_changes_nothing)
{
    int64_t s23[] = {2, 3}, s32[] = {3, 2}, s6[] = {6};
    bgm_tensor *p[2], *g[2], *i32 = NULL, *wrong = NULL, *flat = NULL;
    bgm_tensor *none[2] = {NULL, NULL};
    bgm_optimizer *opt = NULL;
    float before[6];
    p[0] = bgm_test_randn(s23, 2, 1);
    p[1] = bgm_test_randn(s6, 1, 2);
    g[0] = bgm_test_randn(s23, 2, 3);
    g[1] = bgm_test_randn(s6, 1, 4);
    wrong = bgm_test_randn(s32, 2, 5);
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, s23, 2));
    BGM_ASSERT_OK(bgm_tensor_reshape(&flat, p[0], s6, 1));
    BGM_ASSERT_OK(bgm_optimizer_adam(&opt, 0.1f, 0.9f, 0.999f, 1e-7f));

    BGM_ASSERT_FAILS(bgm_optimizer_step(NULL, p, g, 2), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, NULL, g, 2), BGM_E_INVALID, "'params'");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, NULL, 2), BGM_E_INVALID, "'grads'");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, g, 0), BGM_E_INVALID, "n = 0");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, none, g, 2), BGM_E_INVALID, "params[0] is NULL");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, none, 2), BGM_E_INVALID, "grads[0] is NULL");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, &i32, g, 1), BGM_E_DTYPE, "params[0] is not float32");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, &i32, 1), BGM_E_DTYPE, "grads[0] is not float32");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, &wrong, 1), BGM_E_SHAPE,
                     "grads[0] has shape (3, 2) but params[0] has shape (2, 3)");
    ck_assert_int_eq(bgm_optimizer_state_size(opt), 0); /* nothing was built */

    BGM_ASSERT_OK(bgm_optimizer_step(opt, p, g, 2));
    memcpy(before, bgm_tensor_data(p[0]), sizeof before);
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, p, g, 1), BGM_E_STATE,
                     "called with 1 parameters, but the optimizer was built for 2");
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, (bgm_tensor *[]){flat, p[1]},
                                        (bgm_tensor *[]){g[1], g[1]}, 2),
                     BGM_E_SHAPE, "parameter 0 has shape (6,), but had (2, 3)");
    BGM_ASSERT_FAILS(bgm_optimizer_build(opt, (bgm_tensor *[]){flat, p[1]}, 2), BGM_E_SHAPE,
                     "parameter 0 has shape (6,)");
    BGM_ASSERT_OK(bgm_optimizer_build(opt, p, 2)); /* same list: a no-op */
    ck_assert_int_eq(bgm_optimizer_step_count(opt), 1);
    ck_assert_int_eq(memcmp(before, bgm_tensor_data(p[0]), sizeof before), 0);

    BGM_ASSERT_FAILS(bgm_optimizer_build(NULL, p, 2), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_build(opt, NULL, 2), BGM_E_INVALID, "'params'");
    BGM_ASSERT_FAILS(bgm_optimizer_build(opt, p, -1), BGM_E_INVALID, "n = -1");
    BGM_ASSERT_FAILS(bgm_optimizer_build(opt, (bgm_tensor *[]){i32, i32}, 2), BGM_E_DTYPE,
                     "params[0] is not float32");

    bgm_optimizer_free(opt);
    bgm_tensor_free(p[0]);
    bgm_tensor_free(p[1]);
    bgm_tensor_free(g[0]);
    bgm_tensor_free(g[1]);
    bgm_tensor_free(i32);
    bgm_tensor_free(wrong);
    bgm_tensor_free(flat);
}
END_TEST

static float negative_rate(int64_t step, float current_lr, void *ctx)
{
    return step >= 1 ? -0.5f : current_lr;
}

START_TEST(a_bad_rate_from_a_callback_fails_the_step)
{
    const float one = 1.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &one);
    bgm_optimizer *opt = NULL;
    bgm_lr_schedule *s = NULL;
    float lr = 7;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.5f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_lr_schedule_callback(&s, negative_rate, NULL));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(opt, s));
    step_constant(opt, p, g, 1);
    BGM_ASSERT_FAILS(bgm_optimizer_step(opt, &p, &g, 1), BGM_E_INVALID,
                     "returned learning rate -0.5 at step 1");
    ck_assert_int_eq(bgm_optimizer_step_count(opt), 1);
    ck_assert_float_eq(at(p, 0), 0.5f);
    BGM_ASSERT_FAILS(bgm_lr_schedule_value(&lr, s, 2, 1.0f), BGM_E_INVALID, "-0.5");
    bgm_lr_schedule_free(s);
    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(settings_and_state_accessors_refuse_bad_input)
{
    const float one = 1.0f;
    bgm_tensor *p = vec(1, &one), *g = vec(1, &one);
    bgm_optimizer *opt = NULL;
    float buf[4];
    int64_t step = 9;
    BGM_ASSERT_OK(bgm_optimizer_adam(&opt, 0.1f, 0.9f, 0.999f, 1e-7f));

    BGM_ASSERT_FAILS(bgm_optimizer_set_lr(NULL, 0.1f), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_lr(opt, -0.1f), BGM_E_INVALID, "learning rate -0.1");
    BGM_ASSERT_OK(bgm_optimizer_set_lr(opt, 0.2f));
    ck_assert_float_eq(bgm_optimizer_get_lr(opt), 0.2f);
    ck_assert_float_eq(bgm_optimizer_get_lr(NULL), 0.0f);
    ck_assert_int_eq(bgm_optimizer_step_count(NULL), 0);
    ck_assert_int_eq(bgm_optimizer_state_size(NULL), 0);
    ck_assert_int_eq(bgm_optimizer_get_kind(NULL), 0);
    BGM_ASSERT_FAILS(bgm_optimizer_set_schedule(NULL, NULL), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_clipnorm(NULL, 1), BGM_E_INVALID,
                     "bgm_optimizer_set_clipnorm");
    BGM_ASSERT_FAILS(bgm_optimizer_set_clipnorm(opt, -1), BGM_E_INVALID, "clip threshold -1");
    BGM_ASSERT_FAILS(bgm_optimizer_set_global_clipnorm(NULL, 1), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_global_clipnorm(opt, INFINITY), BGM_E_INVALID,
                     "clip threshold inf");
    BGM_ASSERT_FAILS(bgm_optimizer_set_clipvalue(NULL, 1), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_clipvalue(opt, NAN), BGM_E_INVALID, "clip threshold");

    BGM_ASSERT_FAILS(bgm_optimizer_get_state(opt, buf, 2, &step), BGM_E_STATE,
                     "no state yet");
    ck_assert_int_eq(step, 0);
    BGM_ASSERT_FAILS(bgm_optimizer_set_state(opt, buf, 2, 0), BGM_E_STATE, "no state yet");
    step_constant(opt, p, g, 1);
    BGM_ASSERT_FAILS(bgm_optimizer_get_state(NULL, buf, 2, NULL), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_get_state(opt, NULL, 2, NULL), BGM_E_INVALID, "'buf'");
    BGM_ASSERT_FAILS(bgm_optimizer_get_state(opt, buf, 4, NULL), BGM_E_SHAPE,
                     "count 4 differs from the state size 2");
    BGM_ASSERT_FAILS(bgm_optimizer_set_state(NULL, buf, 2, 0), BGM_E_INVALID, "'opt'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_state(opt, NULL, 2, 0), BGM_E_INVALID, "'buf'");
    BGM_ASSERT_FAILS(bgm_optimizer_set_state(opt, buf, 3, 0), BGM_E_SHAPE, "count 3");
    BGM_ASSERT_FAILS(bgm_optimizer_set_state(opt, buf, 2, -1), BGM_E_INVALID, "step -1");
    ck_assert_int_eq(bgm_optimizer_step_count(opt), 1);

    bgm_optimizer_free(opt);
    bgm_tensor_free(p);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(clip_functions_refuse_bad_input)
{
    const float one = 1.0f;
    int64_t s2[] = {2};
    bgm_tensor *g = vec(1, &one), *i32 = NULL, *none = NULL;
    double norm = 5;
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, s2, 1));
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, NULL, 1, 1.0f), BGM_E_INVALID, "'grads'");
    ck_assert(norm == 0.0);
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, &g, -1, 1.0f), BGM_E_INVALID, "n = -1");
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, &g, 1, 0.0f), BGM_E_INVALID, "max_norm 0");
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, &g, 1, NAN), BGM_E_INVALID, "max_norm nan");
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, &none, 1, 1.0f), BGM_E_INVALID,
                     "grads[0] is NULL");
    BGM_ASSERT_FAILS(bgm_clip_grad_norm(&norm, &i32, 1, 1.0f), BGM_E_DTYPE,
                     "grads[0] is not float32");
    BGM_ASSERT_FAILS(bgm_clip_grad_value(NULL, 1, 1.0f), BGM_E_INVALID, "'grads'");
    BGM_ASSERT_FAILS(bgm_clip_grad_value(&g, -2, 1.0f), BGM_E_INVALID, "n = -2");
    BGM_ASSERT_FAILS(bgm_clip_grad_value(&g, 1, -1.0f), BGM_E_INVALID, "clip -1");
    BGM_ASSERT_FAILS(bgm_clip_grad_value(&i32, 1, 1.0f), BGM_E_DTYPE, "not float32");
    BGM_ASSERT_OK(bgm_clip_grad_norm(&norm, &g, 0, 1.0f)); /* empty list: norm 0 */
    ck_assert(norm == 0.0);
    ck_assert_float_eq(at(g, 0), 1.0f);
    bgm_tensor_free(g);
    bgm_tensor_free(i32);
}
END_TEST

START_TEST(schedule_constructors_refuse_bad_input)
{
    bgm_lr_schedule *s = (bgm_lr_schedule *)&s;
    float lr = 3;
    BGM_ASSERT_FAILS(bgm_lr_schedule_constant(NULL, 0.1f), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_constant(&s, -0.1f), BGM_E_INVALID, "learning rate -0.1");
    ck_assert_ptr_null(s);
    BGM_ASSERT_FAILS(bgm_lr_schedule_step_decay(NULL, 0.1f, 1, 0.5f), BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_step_decay(&s, NAN, 1, 0.5f), BGM_E_INVALID,
                     "learning rate nan");
    BGM_ASSERT_FAILS(bgm_lr_schedule_step_decay(&s, 0.1f, 0, 0.5f), BGM_E_INVALID,
                     "step_size 0");
    BGM_ASSERT_FAILS(bgm_lr_schedule_step_decay(&s, 0.1f, 2, -0.5f), BGM_E_INVALID,
                     "gamma -0.5");
    BGM_ASSERT_FAILS(bgm_lr_schedule_exponential_decay(NULL, 0.1f, 10, 0.5f, 0),
                     BGM_E_INVALID, "'out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_exponential_decay(&s, -1, 10, 0.5f, 0), BGM_E_INVALID,
                     "learning rate -1");
    BGM_ASSERT_FAILS(bgm_lr_schedule_exponential_decay(&s, 0.1f, 0, 0.5f, 0), BGM_E_INVALID,
                     "decay_steps 0");
    BGM_ASSERT_FAILS(bgm_lr_schedule_exponential_decay(&s, 0.1f, 10, 0.0f, 0), BGM_E_INVALID,
                     "decay_rate 0");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(NULL, 0.1f, 10, 0, 0, 0), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(&s, -0.1f, 10, 0, 0, 0), BGM_E_INVALID,
                     "learning rate");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(&s, 0.1f, 0, 0, 0, 0), BGM_E_INVALID,
                     "decay_steps 0");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(&s, 0.1f, 10, 1.5f, 0, 0), BGM_E_INVALID,
                     "alpha 1.5");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(&s, 0.1f, 10, 0, -1, 0), BGM_E_INVALID,
                     "warmup_steps -1");
    BGM_ASSERT_FAILS(bgm_lr_schedule_cosine_decay(&s, 0.1f, 10, 0, 5, -0.1f), BGM_E_INVALID,
                     "warmup_start_lr -0.1");
    BGM_ASSERT_FAILS(bgm_lr_schedule_callback(NULL, negative_rate, NULL), BGM_E_INVALID,
                     "'out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_callback(&s, NULL, NULL), BGM_E_INVALID, "'lr_fn'");
    ck_assert_ptr_null(s);

    BGM_ASSERT_OK(bgm_lr_schedule_constant(&s, 0.1f));
    BGM_ASSERT_FAILS(bgm_lr_schedule_value(NULL, s, 0, 0), BGM_E_INVALID, "'lr_out'");
    BGM_ASSERT_FAILS(bgm_lr_schedule_value(&lr, NULL, 0, 0), BGM_E_INVALID, "'schedule'");
    ck_assert_float_eq(lr, 0.0f);
    BGM_ASSERT_FAILS(bgm_lr_schedule_value(&lr, s, -1, 0), BGM_E_INVALID, "step -1");
    bgm_lr_schedule_free(s);
    bgm_lr_schedule_free(NULL);
}
END_TEST

Suite *suite_optim(void)
{
    Suite *s = suite_create("optim");
    TCase *rules = tcase_create("update rules");
    TCase *clip = tcase_create("clipping");
    TCase *sched = tcase_create("schedules");
    TCase *state = tcase_create("state");
    TCase *bad = tcase_create("bad input");
    tcase_add_test(rules, sgd_without_momentum_subtracts_lr_times_gradient);
    tcase_add_test(rules, sgd_momentum_accumulates_velocity_the_pytorch_way);
    tcase_add_test(rules, sgd_nesterov_steps_along_gradient_plus_momentum);
    tcase_add_test(rules, adam_two_steps_match_the_bias_corrected_formula);
    tcase_add_test(rules, adam_first_step_moves_each_element_by_lr_times_sign);
    tcase_add_test(rules, adamw_decays_weights_before_the_adam_step);
    tcase_add_test(rules, rmsprop_adds_epsilon_outside_the_square_root);
    tcase_add_test(rules, rmsprop_momentum_accumulates_the_scaled_gradient);
    tcase_add_test(rules, default_hyperparameters_are_the_keras_ones);
    tcase_add_test(clip, clip_grad_norm_scales_everything_by_max_over_global_norm);
    tcase_add_test(clip, clip_grad_value_clamps_each_element_and_keeps_nan);
    tcase_add_test(clip, optimizer_clips_gradients_inside_step);
    tcase_add_test(sched, constant_and_step_decay_schedules_follow_their_closed_forms);
    tcase_add_test(sched, exponential_decay_is_smooth_or_staircase);
    tcase_add_test(sched, cosine_decay_warms_up_linearly_then_follows_the_cosine);
    tcase_add_test(sched, callback_schedule_receives_step_and_current_rate);
    tcase_add_test(sched, optimizer_uses_its_copy_of_the_schedule_from_step_zero);
    tcase_add_test(state, saved_state_resumes_bit_exactly_for_every_optimizer);
    tcase_add_test(bad, constructors_refuse_bad_hyperparameters);
    tcase_add_test(bad, step_refuses_bad_tensors_and_changes_nothing);
    tcase_add_test(bad, a_bad_rate_from_a_callback_fails_the_step);
    tcase_add_test(bad, settings_and_state_accessors_refuse_bad_input);
    tcase_add_test(bad, clip_functions_refuse_bad_input);
    tcase_add_test(bad, schedule_constructors_refuse_bad_input);
    suite_add_tcase(s, rules);
    suite_add_tcase(s, clip);
    suite_add_tcase(s, sched);
    suite_add_tcase(s, state);
    suite_add_tcase(s, bad);
    return s;
}
