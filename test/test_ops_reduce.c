/* Axis reductions (sum, mean, max) and softmax / log_softmax. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_EPS 1e-3
#define GRAD_TOL 1e-3

typedef bgm_status (*axis_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *, int, int);

/* Runs fn(x, axis, keepdims) and checks shape and values. */
static void check_reduce(axis_fn fn, const bgm_tensor *x, int axis, int keepdims,
                         const int64_t *shape, int ndim, const float *want)
{
    bgm_tensor *r = NULL;
    BGM_ASSERT_OK(fn(&r, NULL, x, axis, keepdims));
    bgm_test_assert_close(r, shape, ndim, want, 1e-6);
    bgm_tensor_free(r);
}

/* ---- values ------------------------------------------------------------- */

START_TEST(sum_over_an_axis_with_and_without_keepdims)
{
    /* x = [[0 1 2], [3 4 5]] */
    int64_t sx[] = {2, 3};
    bgm_tensor *x = bgm_test_arange(sx, 2, 0);
    check_reduce(bgm_op_sum, x, 0, 0, (int64_t[]){3}, 1, (float[]){3, 5, 7});
    check_reduce(bgm_op_sum, x, 0, 1, (int64_t[]){1, 3}, 2, (float[]){3, 5, 7});
    check_reduce(bgm_op_sum, x, 1, 0, (int64_t[]){2}, 1, (float[]){3, 12});
    check_reduce(bgm_op_sum, x, -1, 1, (int64_t[]){2, 1}, 2, (float[]){3, 12});
    bgm_tensor_free(x);
}
END_TEST

START_TEST(sum_over_the_middle_axis_of_a_3d_tensor)
{
    int64_t sx[] = {2, 3, 2};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0);
    check_reduce(bgm_op_sum, x, 1, 0, (int64_t[]){2, 2}, 2, (float[]){6, 9, 24, 27});
    check_reduce(bgm_op_sum, x, 1, 1, (int64_t[]){2, 1, 2}, 3, (float[]){6, 9, 24, 27});
    bgm_tensor_free(x);
}
END_TEST

START_TEST(mean_divides_the_sum_by_the_axis_length)
{
    int64_t sx[] = {2, 3};
    bgm_tensor *x = bgm_test_arange(sx, 2, 0);
    check_reduce(bgm_op_mean, x, 0, 0, (int64_t[]){3}, 1, (float[]){1.5f, 2.5f, 3.5f});
    check_reduce(bgm_op_mean, x, 1, 1, (int64_t[]){2, 1}, 2, (float[]){1, 4});
    bgm_tensor_free(x);
}
END_TEST

START_TEST(max_over_an_axis_with_and_without_keepdims)
{
    int64_t sx[] = {2, 3};
    bgm_tensor *x = bgm_test_tensor(sx, 2, (float[]){1, 7, -2, 4, 0, 5});
    check_reduce(bgm_op_max, x, 0, 0, (int64_t[]){3}, 1, (float[]){4, 7, 5});
    check_reduce(bgm_op_max, x, 1, 0, (int64_t[]){2}, 1, (float[]){7, 5});
    check_reduce(bgm_op_max, x, -1, 1, (int64_t[]){2, 1}, 2, (float[]){7, 5});
    bgm_tensor_free(x);
}
END_TEST

START_TEST(a_nan_is_the_maximum_of_its_slice)
{
    int64_t sx[] = {2, 2};
    bgm_tensor *x = bgm_test_tensor(sx, 2, (float[]){1, NAN, 3, 2}), *r = NULL;
    const float *d;
    BGM_ASSERT_OK(bgm_op_max(&r, NULL, x, 1, 0));
    d = bgm_tensor_data(r);
    ck_assert(isnan(d[0]));
    ck_assert_float_eq(d[1], 3);
    bgm_tensor_free(x);
    bgm_tensor_free(r);
}
END_TEST

START_TEST(a_large_reduction_matches_a_plain_loop)
{
    /* Big enough for the threaded and blocked paths of the kernels. */
    int64_t sx[] = {3, 300, 500};
    bgm_tensor *x = bgm_test_randn(sx, 3, 9), *s = NULL, *m = NULL;
    const float *px = bgm_tensor_data(x), *ps, *pm;
    int64_t o, j, i;
    BGM_ASSERT_OK(bgm_op_sum(&s, NULL, x, 1, 0));
    BGM_ASSERT_OK(bgm_op_max(&m, NULL, x, 1, 0));
    ps = bgm_tensor_data(s);
    pm = bgm_tensor_data(m);
    for (o = 0; o < 3; o++)
        for (i = 0; i < 500; i++) {
            double acc = 0;
            float best = -INFINITY;
            for (j = 0; j < 300; j++) {
                float v = px[(o * 300 + j) * 500 + i];
                acc += v;
                best = v > best ? v : best;
            }
            ck_assert_double_eq_tol(ps[o * 500 + i], acc, 1e-3);
            ck_assert_float_eq(pm[o * 500 + i], best);
        }
    bgm_tensor_free(x);
    bgm_tensor_free(s);
    bgm_tensor_free(m);
}
END_TEST

START_TEST(softmax_rows_sum_to_one_and_match_hand_values)
{
    int64_t sx[] = {2, 3};
    bgm_tensor *x = bgm_test_tensor(sx, 2, (float[]){1, 2, 3, 1, 1, 1}), *y = NULL;
    const float third = 1.0f / 3.0f;
    BGM_ASSERT_OK(bgm_op_softmax(&y, NULL, x, -1));
    bgm_test_assert_close(y, sx, 2,
                          (float[]){0.0900305733f, 0.244728476f, 0.665240943f,
                                    third, third, third}, 1e-6);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_softmax(&y, NULL, x, 0));
    bgm_test_assert_close(y, sx, 2,
                          (float[]){0.5f, 0.731058598f, 0.880797029f,
                                    0.5f, 0.268941432f, 0.119202919f}, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(softmax_of_huge_inputs_stays_finite)
{
    int64_t sx[] = {1, 3};
    bgm_tensor *x = bgm_test_tensor(sx, 2, (float[]){1000, 1001, 1002}), *y = NULL, *l = NULL;
    BGM_ASSERT_OK(bgm_op_softmax(&y, NULL, x, 1));
    bgm_test_assert_close(y, sx, 2, (float[]){0.0900305733f, 0.244728476f, 0.665240943f},
                          1e-6);
    BGM_ASSERT_OK(bgm_op_log_softmax(&l, NULL, x, 1));
    bgm_test_assert_close(l, sx, 2, (float[]){-2.40760589f, -1.40760589f, -0.407605946f},
                          1e-6);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(l);
}
END_TEST

START_TEST(log_softmax_is_the_log_of_softmax_on_any_axis)
{
    int64_t sx[] = {3, 4, 70}; /* the last axis spans two column blocks */
    bgm_tensor *x = bgm_test_randn(sx, 3, 3), *y = NULL, *l = NULL;
    const float *py, *pl;
    int axis;
    int64_t i;
    for (axis = 0; axis < 3; axis++) {
        BGM_ASSERT_OK(bgm_op_softmax(&y, NULL, x, axis));
        BGM_ASSERT_OK(bgm_op_log_softmax(&l, NULL, x, axis));
        py = bgm_tensor_data(y);
        pl = bgm_tensor_data(l);
        for (i = 0; i < bgm_tensor_numel(x); i++)
            ck_assert_double_eq_tol(logf(py[i]), pl[i], 1e-5);
        bgm_tensor_free(y);
        bgm_tensor_free(l);
    }
    bgm_tensor_free(x);
}
END_TEST

/* ---- gradients ---------------------------------------------------------- */

typedef struct axis_box {
    int kind, axis, keepdims;
} axis_box;

enum { SUM, MEAN, MAX, SOFTMAX, LOG_SOFTMAX };

static bgm_status call_axis(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                            void *ctx)
{
    const axis_box *b = ctx;
    switch (b->kind) {
    case SUM: return bgm_op_sum(out, tape, in[0], b->axis, b->keepdims);
    case MEAN: return bgm_op_mean(out, tape, in[0], b->axis, b->keepdims);
    case MAX: return bgm_op_max(out, tape, in[0], b->axis, b->keepdims);
    case SOFTMAX: return bgm_op_softmax(out, tape, in[0], b->axis);
    default: return bgm_op_log_softmax(out, tape, in[0], b->axis);
    }
}

START_TEST(axis_operation_gradients_match_finite_differences)
{
    int64_t sx[] = {2, 3, 4};
    bgm_tensor *x = bgm_test_randn(sx, 3, 41);
    int kind, axis;
    for (kind = SUM; kind <= LOG_SOFTMAX; kind++) {
        for (axis = -1; axis < 3; axis++) {
            axis_box box = {kind, axis, axis == 1};
            double err = bgm_test_gradcheck(call_axis, &x, 1, &box, GRAD_EPS);
            ck_assert_msg(err < GRAD_TOL, "kind %d axis %d: relative gradient error %g",
                          kind, axis, err);
        }
    }
    bgm_tensor_free(x);
}
END_TEST

START_TEST(max_gradient_goes_to_the_first_maximum)
{
    int64_t sx[] = {2, 3};
    bgm_tensor *x = bgm_test_tensor(sx, 2, (float[]){1, 3, 3, 5, 5, 2});
    bgm_tensor *m = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_max(&m, tape, x, 1, 1));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, m));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, sx, 2, (float[]){0, 1, 0, 1, 0, 0}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(softmax_gradient_of_a_weighted_sum_is_hand_computable)
{
    /* y = softmax([0, ln 2]) = [1/3, 2/3]; L = y0 gives dL/dx = y0 * (e0 - y)
     * = [2/9, -2/9]. */
    int64_t sx[] = {2};
    bgm_tensor *x = bgm_test_tensor(sx, 1, (float[]){0, 0.693147181f});
    bgm_tensor *y = NULL, *y0 = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_softmax(&y, tape, x, 0));
    BGM_ASSERT_OK(bgm_op_slice(&y0, tape, y, 0, 0, 1));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y0));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, sx, 1, (float[]){2.0f / 9, -2.0f / 9}, 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(axis_operations_refuse_bad_input_with_a_message)
{
    static const char *names[] = {"bgm_op_sum", "bgm_op_mean", "bgm_op_max",
                                  "bgm_op_softmax", "bgm_op_log_softmax"};
    int64_t s23[] = {2, 3};
    bgm_tensor *x = bgm_test_randn(s23, 2, 1), *i = NULL, *scalar = NULL, *out = NULL;
    int kind;
    BGM_ASSERT_OK(bgm_tensor_zeros(&i, BGM_INT32, s23, 2));
    BGM_ASSERT_OK(bgm_tensor_full(&scalar, BGM_FLOAT32, NULL, 0, 1.0));
    for (kind = SUM; kind <= LOG_SOFTMAX; kind++) {
        axis_box ok = {kind, 0, 0}, far = {kind, 2, 0}, neg = {kind, -3, 0};
        bgm_tensor *in[1];
        out = x;
        BGM_ASSERT_FAILS(call_axis(NULL, NULL, &x, &ok), BGM_E_INVALID, "'out' is NULL");
        in[0] = NULL;
        BGM_ASSERT_FAILS(call_axis(&out, NULL, in, &ok), BGM_E_INVALID, "input 0 is NULL");
        ck_assert_ptr_null(out);
        BGM_ASSERT_FAILS(call_axis(&out, NULL, &i, &ok), BGM_E_DTYPE, "int32");
        BGM_ASSERT_FAILS(call_axis(&out, NULL, &x, &far), BGM_E_INVALID,
                         "axis 2 is out of range for 2 dimensions");
        BGM_ASSERT_FAILS(call_axis(&out, NULL, &x, &neg), BGM_E_INVALID,
                         "axis -3 is out of range");
        BGM_ASSERT_FAILS(call_axis(&out, NULL, &scalar, &ok), BGM_E_INVALID,
                         "out of range for 0 dimensions");
        ck_assert_msg(strstr(bgm_last_error(), names[kind]) != NULL, "%s",
                      bgm_last_error());
    }
    bgm_tensor_free(x);
    bgm_tensor_free(i);
    bgm_tensor_free(scalar);
}
END_TEST

START_TEST(max_over_an_empty_axis_is_refused)
{
    int64_t s[] = {2, 0};
    bgm_tensor *x = NULL, *out = NULL, *sum = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, s, 2));
    BGM_ASSERT_FAILS(bgm_op_max(&out, NULL, x, 1, 0), BGM_E_SHAPE,
                     "axis 1 of (2, 0) is empty");
    ck_assert_ptr_null(out);
    /* A sum over it is fine: zeros. */
    BGM_ASSERT_OK(bgm_op_sum(&sum, NULL, x, 1, 0));
    bgm_test_assert_close(sum, (int64_t[]){2}, 1, (float[]){0, 0}, 0);
    bgm_tensor_free(sum);
    bgm_tensor_free(x);
}
END_TEST

Suite *suite_ops_reduce(void)
{
    Suite *s = suite_create("ops_reduce");
    TCase *tc = tcase_create("values");
    TCase *grad = tcase_create("gradients");
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(tc, sum_over_an_axis_with_and_without_keepdims);
    tcase_add_test(tc, sum_over_the_middle_axis_of_a_3d_tensor);
    tcase_add_test(tc, mean_divides_the_sum_by_the_axis_length);
    tcase_add_test(tc, max_over_an_axis_with_and_without_keepdims);
    tcase_add_test(tc, a_nan_is_the_maximum_of_its_slice);
    tcase_add_test(tc, a_large_reduction_matches_a_plain_loop);
    tcase_add_test(tc, softmax_rows_sum_to_one_and_match_hand_values);
    tcase_add_test(tc, softmax_of_huge_inputs_stays_finite);
    tcase_add_test(tc, log_softmax_is_the_log_of_softmax_on_any_axis);
    BGM_TEST_SLOW(tc, 20);
    suite_add_tcase(s, tc);
    BGM_TEST_SLOW(grad, 30);
    tcase_add_test(grad, axis_operation_gradients_match_finite_differences);
    tcase_add_test(grad, max_gradient_goes_to_the_first_maximum);
    tcase_add_test(grad, softmax_gradient_of_a_weighted_sum_is_hand_computable);
    suite_add_tcase(s, grad);
    tcase_add_test(bad, axis_operations_refuse_bad_input_with_a_message);
    tcase_add_test(bad, max_over_an_empty_axis_is_refused);
    suite_add_tcase(s, bad);
    return s;
}
