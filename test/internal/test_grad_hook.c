/* The tape's gradient hook (bgm__grad_hook), which data-parallel fit uses to
 * start reducing a bucket of gradients while backward goes on: each source
 * is told once, when no later op adds to its gradient (a weight used twice
 * after its second use), with the values bgm_tape_gradient then returns; a
 * source no op reads is told at the end, with zeros. */
#include <string.h>

#include "testutil.h"

#include "autograd/tape.h"

#define NSRC 4

typedef struct told {
    int order[8], n, between;
    float values[NSRC][9];
} told;

static void on_ready(void *ctx, int k, const float *grad)
{
    told *t = ctx;
    t->order[t->n++] = k;
    if (grad)
        memcpy(t->values[k], grad, sizeof t->values[k]);
    else
        memset(t->values[k], 0, sizeof t->values[k]);
}

static void on_between(void *ctx)
{
    ((told *)ctx)->between++;
}

START_TEST(each_source_is_told_once_when_its_gradient_is_final)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 3}, 2, 1);
    bgm_tensor *w = bgm_test_randn((int64_t[]){3, 3}, 2, 2);
    bgm_tensor *v = bgm_test_randn((int64_t[]){3, 3}, 2, 3);
    bgm_tensor *u = bgm_test_randn((int64_t[]){3, 3}, 2, 4);
    bgm_tensor *y, *z, *a, *loss, *grads[NSRC];
    bgm_tensor *const sources[NSRC] = {w, v, u, w}; /* w listed twice */
    bgm_tape *tape = NULL;
    told t;
    bgm__grad_hook hook = {on_ready, on_between, &t};
    int k, i;
    memset(&t, 0, sizeof t);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (k = 0; k < 3; k++)
        BGM_ASSERT_OK(bgm_tape_watch(tape, sources[k]));
    BGM_ASSERT_OK(bgm_op_matmul(&y, tape, x, w));
    BGM_ASSERT_OK(bgm_op_matmul(&z, tape, y, w)); /* w's second use */
    BGM_ASSERT_OK(bgm_op_matmul(&a, tape, z, v));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, a));
    bgm__tape_set_grad_hook(tape, &hook);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, sources, NSRC, grads));
    /* Backward runs sum, z @ v (v is final), y @ w, x @ w (w is final), and
     * u, which nothing read, comes last. */
    ck_assert_int_eq(t.n, 4);
    ck_assert_int_eq(t.order[0], 1);
    ck_assert_int_eq(t.order[1], 0);
    ck_assert_int_eq(t.order[2], 3);
    ck_assert_int_eq(t.order[3], 2);
    ck_assert_int_eq(t.between, 4);
    for (k = 0; k < NSRC; k++)
        for (i = 0; i < 9; i++)
            ck_assert_float_eq(t.values[k][i], ((const float *)bgm_tensor_data(grads[k]))[i]);
    /* w's gradient has both uses: not the first use's part alone. */
    ck_assert_float_ne(((const float *)bgm_tensor_data(grads[0]))[0], 0.0f);
    for (i = 0; i < 9; i++)
        ck_assert_float_eq(t.values[2][i], 0.0f);
    /* Cleared, the next gradient tells nobody. */
    bgm__tape_set_grad_hook(tape, NULL);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, sources, NSRC, grads));
    ck_assert_int_eq(t.n, 4);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(v);
    bgm_tensor_free(u);
}
END_TEST

Suite *suite_grad_hook(void)
{
    Suite *s = suite_create("grad_hook");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, each_source_is_told_once_when_its_gradient_is_final);
    suite_add_tcase(s, tc);
    return s;
}
