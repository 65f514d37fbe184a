/* Elementwise ops (broadcasting arithmetic, unary functions) and whole-tensor
 * reductions: forward values, gradients, tape ownership and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

typedef bgm_status (*binary_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *,
                                const bgm_tensor *);
typedef bgm_status (*unary_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *);

/* Function pointers travel through the gradient checker's void *ctx in these. */
typedef struct binary_box {
    binary_fn fn;
} binary_box;
typedef struct unary_box {
    unary_fn fn;
} unary_box;

static bgm_status call_binary(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    return ((binary_box *)ctx)->fn(out, tape, in[0], in[1]);
}

static bgm_status call_unary(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                             void *ctx)
{
    return ((unary_box *)ctx)->fn(out, tape, in[0]);
}

/* Unary ops with a scalar argument, bound to fixed values. */
static bgm_status scale_by_minus_1_5(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return bgm_op_scale(out, tape, x, -1.5f);
}

static bgm_status pow_2_5(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return bgm_op_pow(out, tape, x, 2.5f);
}

static bgm_status pow_2(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return bgm_op_pow(out, tape, x, 2.0f);
}

static bgm_status pow_minus_0_5(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return bgm_op_pow(out, tape, x, -0.5f);
}

static bgm_status leaky_relu_0_1(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x)
{
    return bgm_op_leaky_relu(out, tape, x, 0.1f);
}

/* Moves every element at least margin away from 0, keeping its sign. */
static void keep_away_from_zero(bgm_tensor *t, float margin)
{
    float *d = bgm_tensor_data(t);
    int64_t i;
    for (i = 0; i < bgm_tensor_numel(t); i++)
        d[i] += d[i] < 0 ? -margin : margin;
}

/* Makes every element positive, at least margin. */
static void make_positive(bgm_tensor *t, float margin)
{
    float *d = bgm_tensor_data(t);
    int64_t i;
    for (i = 0; i < bgm_tensor_numel(t); i++)
        d[i] = fabsf(d[i]) + margin;
}

/* ---- forward: broadcasting arithmetic ------------------------------------ */

START_TEST(add_broadcasts_a_row_vector_over_rows)
{
    int64_t s23[] = {2, 3}, s3[] = {3};
    bgm_tensor *a = bgm_test_tensor(s23, 2, (float[]){1, 2, 3, 4, 5, 6});
    bgm_tensor *b = bgm_test_tensor(s3, 1, (float[]){10, 20, 30});
    bgm_tensor *ab = NULL, *ba = NULL;
    BGM_ASSERT_OK(bgm_op_add(&ab, NULL, a, b));
    BGM_ASSERT_OK(bgm_op_add(&ba, NULL, b, a));
    bgm_test_assert_close(ab, s23, 2, (float[]){11, 22, 33, 14, 25, 36}, 0);
    bgm_test_assert_close(ba, s23, 2, (float[]){11, 22, 33, 14, 25, 36}, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(ab);
    bgm_tensor_free(ba);
}
END_TEST

START_TEST(add_broadcasts_a_column_against_a_row)
{
    int64_t s21[] = {2, 1}, s13[] = {1, 3}, s23[] = {2, 3};
    bgm_tensor *a = bgm_test_tensor(s21, 2, (float[]){1, 2});
    bgm_tensor *b = bgm_test_tensor(s13, 2, (float[]){10, 20, 30});
    bgm_tensor *o = NULL;
    BGM_ASSERT_OK(bgm_op_add(&o, NULL, a, b));
    bgm_test_assert_close(o, s23, 2, (float[]){11, 21, 31, 12, 22, 32}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_sub(&o, NULL, b, a));
    bgm_test_assert_close(o, s23, 2, (float[]){9, 19, 29, 8, 18, 28}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(scalar_tensors_broadcast_against_anything)
{
    int64_t s23[] = {2, 3};
    bgm_tensor *s = bgm_test_tensor(NULL, 0, (float[]){2});
    bgm_tensor *t = bgm_test_tensor(s23, 2, (float[]){1, 2, 3, 4, 5, 6});
    bgm_tensor *o = NULL;
    BGM_ASSERT_OK(bgm_op_mul(&o, NULL, s, t));
    bgm_test_assert_close(o, s23, 2, (float[]){2, 4, 6, 8, 10, 12}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_sub(&o, NULL, t, s));
    bgm_test_assert_close(o, s23, 2, (float[]){-1, 0, 1, 2, 3, 4}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_div(&o, NULL, s, t));
    bgm_test_assert_close(o, s23, 2, (float[]){2, 1, 2.0f / 3, 0.5f, 0.4f, 2.0f / 6},
                          1e-7);
    bgm_tensor_free(o);
    /* Two 0-dimensional operands give a 0-dimensional result. */
    BGM_ASSERT_OK(bgm_op_add(&o, NULL, s, s));
    bgm_test_assert_close(o, NULL, 0, (float[]){4}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(s);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(mul_and_div_of_same_shapes_and_division_by_zero)
{
    int64_t s4[] = {4};
    bgm_tensor *a = bgm_test_tensor(s4, 1, (float[]){1, -2, 3, 0});
    bgm_tensor *b = bgm_test_tensor(s4, 1, (float[]){4, 5, 0, 0});
    bgm_tensor *o = NULL;
    const float *d;
    BGM_ASSERT_OK(bgm_op_mul(&o, NULL, a, b));
    bgm_test_assert_close(o, s4, 1, (float[]){4, -10, 0, 0}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_div(&o, NULL, a, b));
    d = bgm_tensor_data(o);
    ck_assert_float_eq(d[0], 0.25f);
    ck_assert_float_eq(d[1], -0.4f);
    ck_assert(isinf(d[2]) && d[2] > 0);
    ck_assert(isnan(d[3]));
    bgm_tensor_free(o);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(four_dimensional_broadcast_matches_index_arithmetic)
{
    int64_t sa[] = {2, 1, 3, 1}, sb[] = {4, 1, 2}, so[] = {2, 4, 3, 2};
    float av[6], bv[8], want[48];
    bgm_tensor *a, *b, *o = NULL;
    int i, j, k, l;
    for (i = 0; i < 6; i++)
        av[i] = (float)(i + 1);
    for (i = 0; i < 8; i++)
        bv[i] = (float)(10 * (i + 1));
    a = bgm_test_tensor(sa, 4, av);
    b = bgm_test_tensor(sb, 3, bv);
    /* out[i][j][k][l] = a[i][0][k][0] - b[j][0][l] */
    for (i = 0; i < 2; i++)
        for (j = 0; j < 4; j++)
            for (k = 0; k < 3; k++)
                for (l = 0; l < 2; l++)
                    want[((i * 4 + j) * 3 + k) * 2 + l] = av[i * 3 + k] - bv[j * 2 + l];
    ck_assert_float_eq(want[47], 6 - 80); /* spot check of the formula above */
    BGM_ASSERT_OK(bgm_op_sub(&o, NULL, a, b));
    bgm_test_assert_close(o, so, 4, want, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(size_one_and_empty_dimensions_broadcast)
{
    int64_t s10[] = {1, 0}, s3_1[] = {3, 1}, s30[] = {3, 0}, s1[] = {1};
    bgm_tensor *e = NULL, *c = bgm_test_tensor(s3_1, 2, (float[]){1, 2, 3}), *o = NULL;
    bgm_tensor *one = bgm_test_tensor(s1, 1, (float[]){5});
    BGM_ASSERT_OK(bgm_tensor_zeros(&e, BGM_FLOAT32, s10, 2));
    BGM_ASSERT_OK(bgm_op_add(&o, NULL, e, c));
    bgm_test_assert_close(o, s30, 2, NULL, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_mul(&o, NULL, c, one));
    bgm_test_assert_close(o, s3_1, 2, (float[]){5, 10, 15}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(e);
    bgm_tensor_free(c);
    bgm_tensor_free(one);
}
END_TEST

START_TEST(large_broadcasts_split_over_threads_give_exact_sums)
{
    /* 600 x 100 elements: above the threading threshold. */
    int64_t sx[] = {600, 100}, sbias[] = {100}, i;
    bgm_tensor *x = NULL, *bias = NULL, *y = NULL, *loss = NULL, *g[2];
    bgm_tape *tape = NULL;
    float *bd;
    const float *yd, *gx, *gb;
    BGM_ASSERT_OK(bgm_tensor_full(&x, BGM_FLOAT32, sx, 2, 1.0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&bias, BGM_FLOAT32, sbias, 1));
    bd = bgm_tensor_data(bias);
    for (i = 0; i < 100; i++)
        bd[i] = (float)i;
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(x, 1));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(bias, 1));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_add(&y, tape, x, bias));
    yd = bgm_tensor_data(y);
    for (i = 0; i < 60000; i++)
        ck_assert_float_eq(yd[i], 1.0f + (float)(i % 100));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    ck_assert_float_eq(*(const float *)bgm_tensor_data(loss), 60000.0f + 600.0f * 4950.0f);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){x, bias}, 2, g));
    gx = bgm_tensor_data(g[0]);
    gb = bgm_tensor_data(g[1]);
    for (i = 0; i < 60000; i++)
        ck_assert_float_eq(gx[i], 1.0f);
    for (i = 0; i < 100; i++)
        ck_assert_float_eq(gb[i], 600.0f);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(bias);
}
END_TEST

/* ---- forward: unary functions -------------------------------------------- */

static void check_unary(unary_fn fn, const float *in, const float *want, int n,
                        double tol)
{
    int64_t shape[] = {n};
    bgm_tensor *x = bgm_test_tensor(shape, 1, in), *y = NULL;
    BGM_ASSERT_OK(fn(&y, NULL, x));
    bgm_test_assert_close(y, shape, 1, want, tol);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}

static const float sample[5] = {-2.0f, -0.5f, 0.0f, 0.5f, 2.0f};
static const float positive[4] = {0.25f, 1.0f, 2.0f, 4.0f};

START_TEST(neg_scale_relu_and_leaky_relu_values)
{
    check_unary(bgm_op_neg, sample, (float[]){2, 0.5f, 0, -0.5f, -2}, 5, 0);
    check_unary(scale_by_minus_1_5, sample, (float[]){3, 0.75f, 0, -0.75f, -3}, 5, 0);
    check_unary(bgm_op_relu, sample, (float[]){0, 0, 0, 0.5f, 2}, 5, 0);
    check_unary(leaky_relu_0_1, sample, (float[]){-0.2f, -0.05f, 0, 0.5f, 2}, 5, 1e-7);
}
END_TEST

START_TEST(exp_log_sqrt_and_pow_values)
{
    check_unary(bgm_op_exp, sample,
                (float[]){0.135335283f, 0.60653066f, 1, 1.64872127f, 7.3890561f}, 5, 1e-6);
    check_unary(bgm_op_log, positive, (float[]){-1.38629436f, 0, 0.693147181f, 1.38629436f},
                4, 1e-6);
    check_unary(bgm_op_sqrt, positive, (float[]){0.5f, 1, 1.41421356f, 2}, 4, 1e-6);
    check_unary(pow_2, sample, (float[]){4, 0.25f, 0, 0.25f, 4}, 5, 0);
    check_unary(pow_minus_0_5, positive, (float[]){2, 1, 0.707106781f, 0.5f}, 4, 1e-6);
}
END_TEST

START_TEST(log_and_sqrt_follow_ieee_outside_their_domain)
{
    int64_t s2[] = {2};
    bgm_tensor *x = bgm_test_tensor(s2, 1, (float[]){0, -1}), *y = NULL;
    const float *d;
    BGM_ASSERT_OK(bgm_op_log(&y, NULL, x));
    d = bgm_tensor_data(y);
    ck_assert(isinf(d[0]) && d[0] < 0);
    ck_assert(isnan(d[1]));
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_sqrt(&y, NULL, x));
    d = bgm_tensor_data(y);
    ck_assert_float_eq(d[0], 0);
    ck_assert(isnan(d[1]));
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(sigmoid_tanh_and_gelu_values)
{
    check_unary(bgm_op_sigmoid, sample,
                (float[]){0.119202922f, 0.377540669f, 0.5f, 0.622459331f, 0.880797078f}, 5,
                1e-6);
    check_unary(bgm_op_tanh, sample,
                (float[]){-0.96402758f, -0.462117157f, 0, 0.462117157f, 0.96402758f}, 5,
                1e-6);
    check_unary(bgm_op_gelu, sample,
                (float[]){-0.0455002639f, -0.154268769f, 0, 0.345731231f, 1.95449974f}, 5,
                1e-6);
    /* PyTorch's F.gelu (exact erf form) at -3, -1, 1, 3. */
    check_unary(bgm_op_gelu, (float[]){-3, -1, 1, 3},
                (float[]){-0.00404969409f, -0.158655254f, 0.841344746f, 2.99595031f}, 4,
                1e-6);
    /* Far left tail: 1 + erf(x / sqrt 2) would keep one digit here. */
    check_unary(bgm_op_gelu, (float[]){-5}, (float[]){-1.43325786e-06f}, 1, 1e-12);
}
END_TEST

START_TEST(sigmoid_is_finite_and_saturates_at_plus_minus_100)
{
    int64_t s4[] = {4};
    bgm_tensor *x = bgm_test_tensor(s4, 1, (float[]){-1000, -100, 100, 1000}), *y = NULL;
    bgm_tensor *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    const float *d;
    int i;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_sigmoid(&y, tape, x));
    d = bgm_tensor_data(y);
    ck_assert_float_eq(d[0], 0.0f);
    ck_assert(d[1] >= 0.0f && d[1] < 1e-40f); /* e^-100 is 3.7e-44, a denormal */
    ck_assert_float_eq(d[2], 1.0f);
    ck_assert_float_eq(d[3], 1.0f);
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    d = bgm_tensor_data(g);
    for (i = 0; i < 4; i++) {
        ck_assert(isfinite(d[i]));
        ck_assert(d[i] >= 0.0f && d[i] < 1e-40f);
    }
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

/* ---- forward: whole-tensor reductions ------------------------------------ */

START_TEST(sum_mean_and_max_all_give_a_0_dimensional_scalar)
{
    int64_t s23[] = {2, 3};
    bgm_tensor *x = bgm_test_tensor(s23, 2, (float[]){1, -2, 7, 4, 7, 0.5f}), *o = NULL;
    BGM_ASSERT_OK(bgm_op_sum_all(&o, NULL, x));
    bgm_test_assert_close(o, NULL, 0, (float[]){17.5f}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_mean_all(&o, NULL, x));
    bgm_test_assert_close(o, NULL, 0, (float[]){17.5f / 6}, 1e-7);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_max_all(&o, NULL, x));
    bgm_test_assert_close(o, NULL, 0, (float[]){7}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(max_all_sends_the_gradient_to_the_first_maximum)
{
    int64_t s5[] = {5};
    bgm_tensor *x = bgm_test_tensor(s5, 1, (float[]){1, 9, 3, 9, -4}), *m = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_max_all(&m, tape, x));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, m, &x, 1, &g));
    bgm_test_assert_close(g, s5, 1, (float[]){0, 1, 0, 0, 0}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(sum_and_mean_of_an_empty_tensor_are_zero_and_nan)
{
    int64_t s0[] = {0};
    bgm_tensor *e = NULL, *o = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&e, BGM_FLOAT32, s0, 1));
    BGM_ASSERT_OK(bgm_op_sum_all(&o, NULL, e));
    ck_assert_float_eq(*(const float *)bgm_tensor_data(o), 0.0f);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_mean_all(&o, NULL, e));
    ck_assert(isnan(*(const float *)bgm_tensor_data(o)));
    bgm_tensor_free(o);
    BGM_ASSERT_FAILS(bgm_op_max_all(&o, NULL, e), BGM_E_SHAPE, "empty tensor of shape (0,)");
    ck_assert_ptr_null(o);
    bgm_tensor_free(e);
}
END_TEST

/* ---- gradients ----------------------------------------------------------- */

#define GRAD_EPS 1e-3
#define GRAD_TOL 1e-3

static void gradcheck_binary(binary_fn fn, const int64_t *sa, int na, const int64_t *sb,
                             int nb, int positive_b)
{
    binary_box box = {fn};
    bgm_tensor *in[2];
    double err;
    in[0] = bgm_test_randn(sa, na, 11);
    in[1] = bgm_test_randn(sb, nb, 12);
    if (positive_b)
        keep_away_from_zero(in[1], 0.5f);
    err = bgm_test_gradcheck(call_binary, in, 2, &box, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}

START_TEST(binary_gradients_match_finite_differences)
{
    static const binary_fn fns[4] = {bgm_op_add, bgm_op_sub, bgm_op_mul, bgm_op_div};
    int64_t s23[] = {2, 3}, s3[] = {3}, s21[] = {2, 1}, s13[] = {1, 3};
    int64_t s4a[] = {2, 1, 3, 1}, s4b[] = {1, 4, 1, 2};
    int i;
    for (i = 0; i < 4; i++) {
        int div = fns[i] == bgm_op_div;
        gradcheck_binary(fns[i], s23, 2, s23, 2, div);
        gradcheck_binary(fns[i], s23, 2, s3, 1, div);
        gradcheck_binary(fns[i], s3, 1, s23, 2, div);
        gradcheck_binary(fns[i], s21, 2, s13, 2, div);
        gradcheck_binary(fns[i], NULL, 0, s23, 2, div);
        gradcheck_binary(fns[i], s23, 2, NULL, 0, div);
        gradcheck_binary(fns[i], s4a, 4, s4b, 4, div);
    }
}
END_TEST

START_TEST(a_tensor_used_as_both_operands_gets_both_gradients)
{
    int64_t s4[] = {4};
    bgm_tensor *x = bgm_test_tensor(s4, 1, (float[]){1, -2, 3, 0.5f}), *y = NULL;
    bgm_tensor *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    binary_box box = {bgm_op_mul};
    double err;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(x, 1));
    BGM_ASSERT_OK(bgm_op_mul(&y, tape, x, x));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, s4, 1, (float[]){2, -4, 6, 1}, 0);
    bgm_tape_free(tape);
    err = bgm_test_gradcheck(call_binary, (bgm_tensor *[]){x, x}, 2, &box, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(x);
}
END_TEST

/* Unary gradient checks; domain: 0 any, 1 away from 0 (kinks), 2 positive. */
static void gradcheck_unary(unary_fn fn, int domain)
{
    int64_t shape[] = {3, 4};
    unary_box box = {fn};
    bgm_tensor *x = bgm_test_randn(shape, 2, 21);
    double err;
    if (domain == 1)
        keep_away_from_zero(x, 0.1f);
    else if (domain == 2)
        make_positive(x, 0.5f);
    err = bgm_test_gradcheck(call_unary, &x, 1, &box, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(x);
}

START_TEST(unary_gradients_match_finite_differences)
{
    gradcheck_unary(bgm_op_neg, 0);
    gradcheck_unary(scale_by_minus_1_5, 0);
    gradcheck_unary(bgm_op_exp, 0);
    gradcheck_unary(bgm_op_log, 2);
    gradcheck_unary(bgm_op_sqrt, 2);
    gradcheck_unary(pow_2, 0);
    gradcheck_unary(pow_2_5, 2);
    gradcheck_unary(pow_minus_0_5, 2);
    gradcheck_unary(bgm_op_relu, 1);
    gradcheck_unary(leaky_relu_0_1, 1);
    gradcheck_unary(bgm_op_sigmoid, 0);
    gradcheck_unary(bgm_op_tanh, 0);
    gradcheck_unary(bgm_op_gelu, 0);
}
END_TEST

START_TEST(reduction_gradients_match_finite_differences)
{
    gradcheck_unary(bgm_op_sum_all, 0);
    gradcheck_unary(bgm_op_mean_all, 0);
    gradcheck_unary(bgm_op_max_all, 0);
}
END_TEST

/* f(w, x) = mean(tanh(w * x) * exp(w) + x / exp(w) - relu(x)): w, x and
 * exp(w) each feed more than one op, so their gradients accumulate. */
static bgm_status chain(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in, void *ctx)
{
    bgm_tensor *wx = NULL, *t = NULL, *e = NULL, *te = NULL, *q = NULL, *s = NULL;
    bgm_tensor *r = NULL, *d = NULL, *m = NULL;
    bgm_tape *rec = tape;
    bgm_status st = BGM_OK;
    (void)ctx;
    /* Without a tape, record on a private one (so the intermediates are
     * freed together) and hand out a copy of the result. */
    if (!tape)
        st = bgm_tape_create(&rec);
    if (st == BGM_OK) st = bgm_op_mul(&wx, rec, in[0], in[1]);
    if (st == BGM_OK) st = bgm_op_tanh(&t, rec, wx);
    if (st == BGM_OK) st = bgm_op_exp(&e, rec, in[0]);
    if (st == BGM_OK) st = bgm_op_mul(&te, rec, t, e);
    if (st == BGM_OK) st = bgm_op_div(&q, rec, in[1], e);
    if (st == BGM_OK) st = bgm_op_add(&s, rec, te, q);
    if (st == BGM_OK) st = bgm_op_relu(&r, rec, in[1]);
    if (st == BGM_OK) st = bgm_op_sub(&d, rec, s, r);
    if (st == BGM_OK) st = bgm_op_mean_all(&m, rec, d);
    if (tape) {
        *out = m;
        return st;
    }
    if (st == BGM_OK)
        st = bgm_tensor_clone(out, m);
    bgm_tape_free(rec);
    return st;
}

START_TEST(a_chain_of_ops_differentiates_to_two_leaves)
{
    int64_t shape[] = {2, 3};
    bgm_tensor *in[2];
    double err;
    in[0] = bgm_test_randn(shape, 2, 31);
    in[1] = bgm_test_randn(shape, 2, 32);
    keep_away_from_zero(in[1], 0.1f); /* relu's kink */
    err = bgm_test_gradcheck(chain, in, 2, NULL, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}
END_TEST

START_TEST(gradients_accumulate_over_every_use_of_a_leaf)
{
    /* L = sum(w * x + w * w) => dL/dw = x + 2w, dL/dx = w. */
    int64_t s2[] = {2};
    bgm_tensor *w = bgm_test_tensor(s2, 1, (float[]){0.5f, -1});
    bgm_tensor *x = bgm_test_tensor(s2, 1, (float[]){2, 3});
    bgm_tensor *wx = NULL, *ww = NULL, *s = NULL, *loss = NULL, *g[2];
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(w, 1));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(x, 1));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_mul(&wx, tape, w, x));
    BGM_ASSERT_OK(bgm_op_mul(&ww, tape, w, w));
    BGM_ASSERT_OK(bgm_op_add(&s, tape, wx, ww));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, s));
    ck_assert_float_eq(*(const float *)bgm_tensor_data(loss), 1 - 3 + 0.25f + 1);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){w, x}, 2, g));
    bgm_test_assert_close(g[0], s2, 1, (float[]){3, 1}, 0);
    bgm_test_assert_close(g[1], s2, 1, (float[]){0.5f, -1}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(w);
    bgm_tensor_free(x);
}
END_TEST

/* ---- tape behaviour ------------------------------------------------------ */

START_TEST(results_owned_by_the_tape_survive_tensor_free)
{
    int64_t s3[] = {3};
    bgm_tensor *a = bgm_test_tensor(s3, 1, (float[]){1, 2, 3}), *o = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_exp(&o, tape, a));
    bgm_tensor_free(o); /* a no-op: the tape owns o */
    bgm_test_assert_close(o, s3, 1, (float[]){2.71828183f, 7.3890561f, 20.0855369f}, 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
}
END_TEST

START_TEST(tape_reset_reuses_the_memory_of_results)
{
    int64_t s[] = {64, 64};
    bgm_tensor *a = NULL, *o = NULL;
    bgm_tape *tape = NULL;
    void *first;
    BGM_ASSERT_OK(bgm_tensor_full(&a, BGM_FLOAT32, s, 2, 3.0));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_scale(&o, tape, a, 2.0f));
    first = bgm_tensor_data(o);
    BGM_ASSERT_OK(bgm_tape_reset(tape));
    BGM_ASSERT_OK(bgm_op_scale(&o, tape, a, 0.5f));
    ck_assert_ptr_eq(bgm_tensor_data(o), first);
    ck_assert_float_eq(((const float *)bgm_tensor_data(o))[4095], 1.5f);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
}
END_TEST

START_TEST(requires_grad_sources_get_gradients_and_unrelated_ones_zeros)
{
    int64_t s3[] = {3}, s2[] = {2};
    bgm_tensor *w = bgm_test_tensor(s3, 1, (float[]){1, 2, 3});
    bgm_tensor *other = bgm_test_tensor(s2, 1, (float[]){5, 6});
    bgm_tensor *y = NULL, *loss = NULL, *g1[2], *g2[2];
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(w, 1));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(other, 1));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_pow(&y, tape, w, 3.0f));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){w, other}, 2, g1));
    bgm_test_assert_close(g1[0], s3, 1, (float[]){3, 12, 27}, 1e-6);
    bgm_test_assert_close(g1[1], s2, 1, (float[]){0, 0}, 0);
    /* A second call recomputes and gives the same values, not twice them. */
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){w, other}, 2, g2));
    bgm_test_assert_close(g2[0], s3, 1, (float[]){3, 12, 27}, 1e-6);
    bgm_test_assert_close(g2[1], s2, 1, (float[]){0, 0}, 0);
    bgm_test_assert_close(g1[0], s3, 1, (float[]){3, 12, 27}, 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(w);
    bgm_tensor_free(other);
}
END_TEST

START_TEST(inputs_without_gradients_record_nothing)
{
    int64_t s2[] = {2};
    bgm_tensor *x = bgm_test_tensor(s2, 1, (float[]){1, 2}), *y = NULL, *loss = NULL;
    bgm_tensor *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_tanh(&y, tape, x));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, s2, 1, (float[]){0, 0}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

typedef struct named_unary {
    unary_fn fn;
    const char *name;
} named_unary;

static const named_unary all_unary[] = {
    {bgm_op_neg, "bgm_op_neg"},         {scale_by_minus_1_5, "bgm_op_scale"},
    {bgm_op_exp, "bgm_op_exp"},         {bgm_op_log, "bgm_op_log"},
    {bgm_op_sqrt, "bgm_op_sqrt"},       {pow_2_5, "bgm_op_pow"},
    {bgm_op_relu, "bgm_op_relu"},       {leaky_relu_0_1, "bgm_op_leaky_relu"},
    {bgm_op_sigmoid, "bgm_op_sigmoid"}, {bgm_op_tanh, "bgm_op_tanh"},
    {bgm_op_gelu, "bgm_op_gelu"},       {bgm_op_sum_all, "bgm_op_sum_all"},
    {bgm_op_mean_all, "bgm_op_mean_all"}, {bgm_op_max_all, "bgm_op_max_all"},
};

START_TEST(unary_ops_reject_null_and_int32)
{
    int64_t s2[] = {2};
    bgm_tensor *f = bgm_test_tensor(s2, 1, (float[]){1, 2}), *i32 = NULL, *o;
    char msg[128];
    size_t k;
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, s2, 1));
    for (k = 0; k < sizeof all_unary / sizeof all_unary[0]; k++) {
        const named_unary *u = &all_unary[k];
        snprintf(msg, sizeof msg, "%s: argument 'out' is NULL", u->name);
        BGM_ASSERT_FAILS(u->fn(NULL, NULL, f), BGM_E_INVALID, msg);
        o = f;
        snprintf(msg, sizeof msg, "%s: input 0 is NULL", u->name);
        BGM_ASSERT_FAILS(u->fn(&o, NULL, NULL), BGM_E_INVALID, msg);
        ck_assert_ptr_null(o);
        o = f;
        snprintf(msg, sizeof msg, "%s: input 0 is int32, expected float32", u->name);
        BGM_ASSERT_FAILS(u->fn(&o, NULL, i32), BGM_E_DTYPE, msg);
        ck_assert_ptr_null(o);
    }
    bgm_tensor_free(f);
    bgm_tensor_free(i32);
}
END_TEST

typedef struct named_binary {
    binary_fn fn;
    const char *name;
} named_binary;

static const named_binary all_binary[] = {
    {bgm_op_add, "bgm_op_add"},
    {bgm_op_sub, "bgm_op_sub"},
    {bgm_op_mul, "bgm_op_mul"},
    {bgm_op_div, "bgm_op_div"},
    {bgm_op_maximum, "bgm_op_maximum"},
    {bgm_op_minimum, "bgm_op_minimum"},
};

START_TEST(binary_ops_reject_null_int32_and_shapes_that_do_not_broadcast)
{
    int64_t s23[] = {2, 3}, s4[] = {4}, s324[] = {3, 2, 4}, s2[] = {2, 1, 1};
    bgm_tensor *a = NULL, *b = NULL, *c = NULL, *d = NULL, *i32 = NULL, *o;
    char msg[160];
    size_t k;
    BGM_ASSERT_OK(bgm_tensor_zeros(&a, BGM_FLOAT32, s23, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&b, BGM_FLOAT32, s4, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&c, BGM_FLOAT32, s324, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&d, BGM_FLOAT32, s2, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, s23, 2));
    for (k = 0; k < sizeof all_binary / sizeof all_binary[0]; k++) {
        const named_binary *op = &all_binary[k];
        snprintf(msg, sizeof msg, "%s: argument 'out' is NULL", op->name);
        BGM_ASSERT_FAILS(op->fn(NULL, NULL, a, a), BGM_E_INVALID, msg);
        o = a;
        snprintf(msg, sizeof msg, "%s: input 0 is NULL", op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, NULL, a), BGM_E_INVALID, msg);
        ck_assert_ptr_null(o);
        snprintf(msg, sizeof msg, "%s: input 1 is NULL", op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, a, NULL), BGM_E_INVALID, msg);
        snprintf(msg, sizeof msg, "%s: input 1 is int32, expected float32", op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, a, i32), BGM_E_DTYPE, msg);
        snprintf(msg, sizeof msg, "%s: input 0 is int32, expected float32", op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, i32, a), BGM_E_DTYPE, msg);
        o = a;
        snprintf(msg, sizeof msg, "%s: shapes (2, 3) and (4,) do not broadcast", op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, a, b), BGM_E_SHAPE, msg);
        ck_assert_ptr_null(o);
        snprintf(msg, sizeof msg, "%s: shapes (3, 2, 4) and (2, 3) do not broadcast",
                 op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, c, a), BGM_E_SHAPE, msg);
        /* (2, 1, 1) against (3, 2, 4): the leading 2 meets 3. */
        snprintf(msg, sizeof msg, "%s: shapes (2, 1, 1) and (3, 2, 4) do not broadcast",
                 op->name);
        BGM_ASSERT_FAILS(op->fn(&o, NULL, d, c), BGM_E_SHAPE, msg);
    }
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_tensor_free(d);
    bgm_tensor_free(i32);
}
END_TEST

START_TEST(a_failed_op_leaves_the_tape_usable)
{
    int64_t s23[] = {2, 3}, s4[] = {4};
    bgm_tensor *a = NULL, *b = NULL, *o = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tensor_full(&a, BGM_FLOAT32, s23, 2, 2.0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&b, BGM_FLOAT32, s4, 1));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(a, 1));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_FAILS(bgm_op_mul(&o, tape, a, b), BGM_E_SHAPE, "do not broadcast");
    ck_assert_ptr_null(o);
    BGM_ASSERT_OK(bgm_op_mean_all(&loss, tape, a));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &a, 1, &g));
    bgm_test_assert_close(g, s23, 2,
                          (float[]){1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 6, 1.0f / 6,
                                    1.0f / 6},
                          1e-7);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

Suite *suite_ops_elementwise(void)
{
    Suite *s = suite_create("ops_elementwise");
    TCase *fwd = tcase_create("forward");
    TCase *grad = tcase_create("gradients");
    TCase *tape = tcase_create("tape");
    TCase *bad = tcase_create("bad_input");

    tcase_add_test(fwd, add_broadcasts_a_row_vector_over_rows);
    tcase_add_test(fwd, add_broadcasts_a_column_against_a_row);
    tcase_add_test(fwd, scalar_tensors_broadcast_against_anything);
    tcase_add_test(fwd, mul_and_div_of_same_shapes_and_division_by_zero);
    tcase_add_test(fwd, four_dimensional_broadcast_matches_index_arithmetic);
    tcase_add_test(fwd, size_one_and_empty_dimensions_broadcast);
    tcase_add_test(fwd, large_broadcasts_split_over_threads_give_exact_sums);
    tcase_add_test(fwd, neg_scale_relu_and_leaky_relu_values);
    tcase_add_test(fwd, exp_log_sqrt_and_pow_values);
    tcase_add_test(fwd, log_and_sqrt_follow_ieee_outside_their_domain);
    tcase_add_test(fwd, sigmoid_tanh_and_gelu_values);
    tcase_add_test(fwd, sigmoid_is_finite_and_saturates_at_plus_minus_100);
    tcase_add_test(fwd, sum_mean_and_max_all_give_a_0_dimensional_scalar);
    tcase_add_test(fwd, max_all_sends_the_gradient_to_the_first_maximum);
    tcase_add_test(fwd, sum_and_mean_of_an_empty_tensor_are_zero_and_nan);
    BGM_TEST_SLOW(fwd, 30);
    suite_add_tcase(s, fwd);

    tcase_add_test(grad, binary_gradients_match_finite_differences);
    tcase_add_test(grad, a_tensor_used_as_both_operands_gets_both_gradients);
    tcase_add_test(grad, unary_gradients_match_finite_differences);
    tcase_add_test(grad, reduction_gradients_match_finite_differences);
    tcase_add_test(grad, a_chain_of_ops_differentiates_to_two_leaves);
    tcase_add_test(grad, gradients_accumulate_over_every_use_of_a_leaf);
    BGM_TEST_SLOW(grad, 60);
    suite_add_tcase(s, grad);

    tcase_add_test(tape, results_owned_by_the_tape_survive_tensor_free);
    tcase_add_test(tape, tape_reset_reuses_the_memory_of_results);
    tcase_add_test(tape, requires_grad_sources_get_gradients_and_unrelated_ones_zeros);
    tcase_add_test(tape, inputs_without_gradients_record_nothing);
    suite_add_tcase(s, tape);

    tcase_add_test(bad, unary_ops_reject_null_and_int32);
    tcase_add_test(bad, binary_ops_reject_null_int32_and_shapes_that_do_not_broadcast);
    tcase_add_test(bad, a_failed_op_leaves_the_tape_usable);
    suite_add_tcase(s, bad);
    return s;
}
