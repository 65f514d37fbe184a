/* The ops behind Keras' Maximum / Minimum merges and ZeroPadding2D:
 * elementwise maximum and minimum (broadcasting, ties, NaN) and zero padding
 * of NHWC images. Forward values by hand, gradients by hand where a rule is
 * at stake and by finite differences everywhere, and bad input. The bad
 * input of maximum / minimum shared with every broadcasting binary op (NULL,
 * int32, shapes that do not broadcast) is in test_ops_elementwise.c. */
#include <math.h>
#include <stdint.h>

#include "testutil.h"

#define GRAD_EPS 1e-3
#define GRAD_TOL 1e-3

typedef bgm_status (*binary_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *,
                                const bgm_tensor *);

/* Fails unless the gradients of sum(op(a, b)) are want_ga and want_gb. */
static void assert_sum_gradients(binary_fn op, bgm_tensor *a, bgm_tensor *b,
                                 const float *want_ga, const float *want_gb)
{
    bgm_tensor *y = NULL, *loss = NULL, *g[2];
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, a));
    BGM_ASSERT_OK(bgm_tape_watch(tape, b));
    BGM_ASSERT_OK(op(&y, tape, a, b));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){a, b}, 2, g));
    bgm_test_assert_close(g[0], bgm_tensor_shape(a), bgm_tensor_ndim(a), want_ga, 0);
    bgm_test_assert_close(g[1], bgm_tensor_shape(b), bgm_tensor_ndim(b), want_gb, 0);
    bgm_tape_free(tape);
}

/* ---- maximum and minimum: forward ----------------------------------------- */

START_TEST(maximum_and_minimum_broadcast_a_row_over_rows)
{
    int64_t s23[] = {2, 3}, s3[] = {3};
    bgm_tensor *a = bgm_test_tensor(s23, 2, (float[]){1, 5, -2, 4, 0, 7});
    bgm_tensor *b = bgm_test_tensor(s3, 1, (float[]){2, 4, 6});
    bgm_tensor *o = NULL;
    BGM_ASSERT_OK(bgm_op_maximum(&o, NULL, a, b));
    bgm_test_assert_close(o, s23, 2, (float[]){2, 5, 6, 4, 4, 7}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_minimum(&o, NULL, a, b));
    bgm_test_assert_close(o, s23, 2, (float[]){1, 4, -2, 2, 0, 6}, 0);
    bgm_tensor_free(o);
    /* The other way round: the same values, b broadcast as the first operand. */
    BGM_ASSERT_OK(bgm_op_maximum(&o, NULL, b, a));
    bgm_test_assert_close(o, s23, 2, (float[]){2, 5, 6, 4, 4, 7}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(maximum_of_a_column_and_a_row_and_of_a_scalar)
{
    int64_t s21[] = {2, 1}, s13[] = {1, 3}, s23[] = {2, 3};
    bgm_tensor *col = bgm_test_tensor(s21, 2, (float[]){0, 10});
    bgm_tensor *row = bgm_test_tensor(s13, 2, (float[]){-1, 5, 20});
    bgm_tensor *zero = bgm_test_tensor(NULL, 0, (float[]){0});
    bgm_tensor *o = NULL;
    BGM_ASSERT_OK(bgm_op_maximum(&o, NULL, col, row));
    bgm_test_assert_close(o, s23, 2, (float[]){0, 5, 20, 10, 10, 20}, 0);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_minimum(&o, NULL, col, row));
    bgm_test_assert_close(o, s23, 2, (float[]){-1, 0, 0, -1, 5, 10}, 0);
    bgm_tensor_free(o);
    /* maximum(x, 0) is relu. */
    BGM_ASSERT_OK(bgm_op_maximum(&o, NULL, row, zero));
    bgm_test_assert_close(o, s13, 2, (float[]){0, 5, 20}, 0);
    bgm_tensor_free(o);
    bgm_tensor_free(col);
    bgm_tensor_free(row);
    bgm_tensor_free(zero);
}
END_TEST

START_TEST(a_nan_in_either_operand_gives_nan)
{
    int64_t s3[] = {3};
    bgm_tensor *a = bgm_test_tensor(s3, 1, (float[]){NAN, 1, NAN});
    bgm_tensor *b = bgm_test_tensor(s3, 1, (float[]){1, NAN, NAN});
    bgm_tensor *o = NULL;
    const float *d;
    int k;
    for (k = 0; k < 2; k++) {
        BGM_ASSERT_OK((k ? bgm_op_minimum : bgm_op_maximum)(&o, NULL, a, b));
        d = bgm_tensor_data(o);
        ck_assert(isnan(d[0]) && isnan(d[1]) && isnan(d[2]));
        bgm_tensor_free(o);
    }
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(on_a_tie_the_result_is_the_first_operand)
{
    int64_t s2[] = {2};
    bgm_tensor *neg = bgm_test_tensor(s2, 1, (float[]){-0.0f, 3});
    bgm_tensor *pos = bgm_test_tensor(s2, 1, (float[]){0.0f, 3});
    bgm_tensor *o = NULL;
    const float *d;
    BGM_ASSERT_OK(bgm_op_maximum(&o, NULL, neg, pos));
    d = bgm_tensor_data(o);
    ck_assert(d[0] == 0.0f && signbit(d[0]));
    ck_assert_float_eq(d[1], 3);
    bgm_tensor_free(o);
    BGM_ASSERT_OK(bgm_op_minimum(&o, NULL, pos, neg));
    d = bgm_tensor_data(o);
    ck_assert(d[0] == 0.0f && !signbit(d[0]));
    bgm_tensor_free(o);
    bgm_tensor_free(neg);
    bgm_tensor_free(pos);
}
END_TEST

/* ---- maximum and minimum: gradients --------------------------------------- */

START_TEST(the_gradient_goes_to_the_winner_and_splits_half_half_on_a_tie)
{
    /* As torch.maximum / torch.minimum: a tie sends g / 2 to each operand. */
    int64_t s4[] = {4};
    bgm_tensor *a = bgm_test_tensor(s4, 1, (float[]){1, 2, 3, -1});
    bgm_tensor *b = bgm_test_tensor(s4, 1, (float[]){1, 1, 4, -1});
    assert_sum_gradients(bgm_op_maximum, a, b, (float[]){0.5f, 1, 0, 0.5f},
                         (float[]){0.5f, 0, 1, 0.5f});
    assert_sum_gradients(bgm_op_minimum, a, b, (float[]){0.5f, 0, 1, 0.5f},
                         (float[]){0.5f, 1, 0, 0.5f});
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(a_broadcast_operand_sums_its_wins_and_half_ties)
{
    /* b = 2 against a = (1, 2, 3; 2, 2, 0): maximum gives b wins at 1 and 0
     * and ties at the three 2s: 2 + 3 * 0.5 = 3.5. */
    int64_t s23[] = {2, 3}, s1[] = {1};
    bgm_tensor *a = bgm_test_tensor(s23, 2, (float[]){1, 2, 3, 2, 2, 0});
    bgm_tensor *b = bgm_test_tensor(s1, 1, (float[]){2});
    assert_sum_gradients(bgm_op_maximum, a, b, (float[]){0, 0.5f, 1, 0.5f, 0.5f, 0},
                         (float[]){3.5f});
    assert_sum_gradients(bgm_op_minimum, a, b, (float[]){1, 0.5f, 0, 0.5f, 0.5f, 1},
                         (float[]){2.5f});
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(where_either_operand_is_nan_both_get_the_whole_gradient)
{
    /* PyTorch's rule: no comparison holds with a NaN, so nothing is masked. */
    int64_t s3[] = {3};
    bgm_tensor *a = bgm_test_tensor(s3, 1, (float[]){NAN, 1, 5});
    bgm_tensor *b = bgm_test_tensor(s3, 1, (float[]){0, NAN, 2});
    assert_sum_gradients(bgm_op_maximum, a, b, (float[]){1, 1, 1}, (float[]){1, 1, 0});
    assert_sum_gradients(bgm_op_minimum, a, b, (float[]){1, 1, 0}, (float[]){1, 1, 1});
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(maximum_of_a_tensor_with_itself_passes_the_gradient_through)
{
    int64_t s3[] = {3};
    bgm_tensor *x = bgm_test_tensor(s3, 1, (float[]){-1, 0, 2}), *y = NULL, *loss = NULL;
    bgm_tensor *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_maximum(&y, tape, x, x));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, s3, 1, (float[]){1, 1, 1}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

typedef struct binary_box {
    binary_fn fn;
} binary_box;

static bgm_status call_binary(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    return ((binary_box *)ctx)->fn(out, tape, in[0], in[1]);
}

/* N(0, 1) values rounded to multiples of 0.25: two of them either tie
 * exactly or lie at least 0.25 apart, so a central difference of step
 * GRAD_EPS never straddles a kink except at a tie, where it measures the
 * half-half split. */
static bgm_tensor *on_a_grid(const int64_t *shape, int ndim, uint64_t seed)
{
    bgm_tensor *t = bgm_test_randn(shape, ndim, seed);
    float *d = bgm_tensor_data(t);
    int64_t i;
    for (i = 0; i < bgm_tensor_numel(t); i++)
        d[i] = roundf(d[i] * 4.0f) / 4.0f;
    return t;
}

typedef struct shape_pair {
    int64_t a[4], b[4];
    int na, nb;
} shape_pair;

static const shape_pair grad_shapes[] = {
    {{3, 4}, {3, 4}, 2, 2},
    {{2, 3}, {3}, 2, 1},
    {{3}, {2, 3}, 1, 2},
    {{2, 1}, {1, 3}, 2, 2},
    {{0}, {2, 3}, 0, 2}, /* a 0-dimensional scalar against a matrix */
    {{2, 1, 3, 1}, {1, 4, 1, 2}, 4, 4},
};

START_TEST(maximum_and_minimum_gradients_match_finite_differences)
{
    const shape_pair *sp = &grad_shapes[_i];
    binary_box boxes[2] = {{bgm_op_maximum}, {bgm_op_minimum}};
    bgm_tensor *in[2];
    int k;
    in[0] = on_a_grid(sp->a, sp->na, 41);
    in[1] = on_a_grid(sp->b, sp->nb, 42);
    for (k = 0; k < 2; k++) {
        double err = bgm_test_gradcheck(call_binary, in, 2, &boxes[k], GRAD_EPS);
        ck_assert_msg(err < GRAD_TOL, "%s, case %d: relative gradient error %g",
                      k ? "minimum" : "maximum", _i, err);
    }
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}
END_TEST

START_TEST(finite_differences_see_the_half_half_split_at_exact_ties)
{
    /* Every element ties: the gradient is exactly half of each side's. */
    int64_t s23[] = {2, 3};
    binary_box boxes[2] = {{bgm_op_maximum}, {bgm_op_minimum}};
    bgm_tensor *in[2];
    int k;
    in[0] = on_a_grid(s23, 2, 43);
    BGM_ASSERT_OK(bgm_tensor_clone(&in[1], in[0]));
    for (k = 0; k < 2; k++) {
        double err = bgm_test_gradcheck(call_binary, in, 2, &boxes[k], GRAD_EPS);
        ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    }
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}
END_TEST

/* ---- zero padding ----------------------------------------------------------- */

START_TEST(zero_pad2d_of_a_2x2_image_by_hand)
{
    int64_t xs[] = {1, 2, 2, 1}, ys[] = {1, 3, 4, 1};
    bgm_tensor *x = bgm_test_tensor(xs, 4, (float[]){1, 2, 3, 4}), *y = NULL;
    /* top 1, bottom 0, left 1, right 1 */
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, NULL, x, 1, 0, 1, 1));
    bgm_test_assert_close(y, ys, 4, (float[]){0, 0, 0, 0,
                                              0, 1, 2, 0,
                                              0, 3, 4, 0}, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(zero_pad2d_keeps_images_and_channels_apart)
{
    /* Two 1x1 images of two channels, padded by one on every side. */
    int64_t xs[] = {2, 1, 1, 2}, ys[] = {2, 3, 3, 2};
    bgm_tensor *x = bgm_test_tensor(xs, 4, (float[]){1, 2, 3, 4}), *y = NULL;
    float want[36] = {0};
    want[8] = 1; /* image 0, pixel (1, 1): 4 * 2 */
    want[9] = 2;
    want[18 + 8] = 3;
    want[18 + 9] = 4;
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, NULL, x, 1, 1, 1, 1));
    bgm_test_assert_close(y, ys, 4, want, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(zero_pad2d_by_nothing_copies_and_of_empty_images_gives_zeros)
{
    int64_t xs[] = {2, 3, 2, 2}, es[] = {1, 0, 0, 3}, eys[] = {1, 2, 1, 3};
    int64_t nbatch[] = {0, 2, 2, 1}, nys[] = {0, 3, 5, 1};
    bgm_tensor *x = bgm_test_arange(xs, 4, 1), *e = NULL, *n0 = NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, NULL, x, 0, 0, 0, 0));
    bgm_test_assert_close(y, xs, 4, bgm_tensor_data(x), 0);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_tensor_zeros(&e, BGM_FLOAT32, es, 4));
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, NULL, e, 1, 1, 0, 1));
    bgm_test_assert_close(y, eys, 4, (float[]){0, 0, 0, 0, 0, 0}, 0);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_tensor_zeros(&n0, BGM_FLOAT32, nbatch, 4));
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, NULL, n0, 1, 0, 2, 1));
    bgm_test_assert_close(y, nys, 4, NULL, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(e);
    bgm_tensor_free(n0);
}
END_TEST

/* L = sum(zero_pad2d(x) * w) + 3 sum(x), the padding recorded first or last:
 * its backward then adds to x's gradient, or fills it fresh. */
static void assert_pad_gradient(int pad_first)
{
    int64_t xs[] = {1, 2, 2, 1}, ys[] = {1, 3, 4, 1};
    bgm_tensor *x = bgm_test_tensor(xs, 4, (float[]){1, 2, 3, 4});
    bgm_tensor *w = bgm_test_arange(ys, 4, 0), *y = NULL, *yw = NULL, *x3 = NULL;
    bgm_tensor *l1 = NULL, *l2 = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    if (!pad_first)
        BGM_ASSERT_OK(bgm_op_scale(&x3, tape, x, 3.0f));
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, tape, x, 1, 0, 1, 1));
    if (pad_first)
        BGM_ASSERT_OK(bgm_op_scale(&x3, tape, x, 3.0f));
    BGM_ASSERT_OK(bgm_op_mul(&yw, tape, y, w));
    BGM_ASSERT_OK(bgm_op_sum_all(&l1, tape, yw));
    BGM_ASSERT_OK(bgm_op_sum_all(&l2, tape, x3));
    BGM_ASSERT_OK(bgm_op_add(&loss, tape, l1, l2));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    /* w is 0..11 over the 3x4 output; x sits at rows 1-2, columns 1-2. */
    bgm_test_assert_close(g, xs, 4, (float[]){5 + 3, 6 + 3, 9 + 3, 10 + 3}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
}

START_TEST(zero_pad2d_gradient_is_the_cropped_output_gradient)
{
    assert_pad_gradient(0);
    assert_pad_gradient(1);
}
END_TEST

typedef struct pad_case {
    int64_t x[4];
    int64_t pads[4]; /* top, bottom, left, right */
} pad_case;

static const pad_case pad_cases[] = {
    {{1, 3, 3, 1}, {1, 1, 1, 1}},
    {{2, 2, 3, 3}, {0, 2, 1, 0}},
    {{1, 4, 2, 2}, {3, 0, 0, 2}},
    {{2, 2, 2, 1}, {0, 0, 0, 0}},
};

static bgm_status call_pad(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                           void *ctx)
{
    const int64_t *p = ((const pad_case *)ctx)->pads;
    return bgm_op_zero_pad2d(out, tape, in[0], p[0], p[1], p[2], p[3]);
}

START_TEST(zero_pad2d_gradients_match_finite_differences)
{
    const pad_case *pc = &pad_cases[_i];
    bgm_tensor *x = bgm_test_randn(pc->x, 4, 51);
    double err = bgm_test_gradcheck(call_pad, &x, 1, (void *)pc, GRAD_EPS);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative gradient error %g", _i, err);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(zero_pad2d_refuses_bad_input)
{
    int64_t xs[] = {1, 2, 2, 1}, s3[] = {3, 2, 2};
    bgm_tensor *x = NULL, *x3 = NULL, *xi = NULL, *y = (bgm_tensor *)&y;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&x3, BGM_FLOAT32, s3, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 4));
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(NULL, NULL, x, 1, 1, 1, 1), BGM_E_INVALID,
                     "bgm_op_zero_pad2d: argument 'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, NULL, 1, 1, 1, 1), BGM_E_INVALID,
                     "bgm_op_zero_pad2d: input 0 is NULL");
    ck_assert_ptr_null(y);
    y = x;
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, xi, 1, 1, 1, 1), BGM_E_DTYPE,
                     "bgm_op_zero_pad2d: input 0 is int32, expected float32");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, x3, 1, 1, 1, 1), BGM_E_SHAPE,
                     "bgm_op_zero_pad2d: x must be (N, H, W, C), got shape (3, 2, 2)");
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, x, 0, -1, 2, 0), BGM_E_INVALID,
                     "paddings must be >= 0, got top 0, bottom -1, left 2, right 0");
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, x, 0, 0, 0, -3), BGM_E_INVALID,
                     "right -3");
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, x, INT64_MAX, 0, 0, 0), BGM_E_SHAPE,
                     "padding x (1, 2, 2, 1) by top 9223372036854775807");
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, NULL, x, 0, 0, INT64_MAX - 2, 1), BGM_E_SHAPE,
                     "overflows");
    ck_assert_ptr_null(y);
    bgm_tensor_free(x);
    bgm_tensor_free(x3);
    bgm_tensor_free(xi);
}
END_TEST

START_TEST(a_refused_zero_pad2d_leaves_the_tape_usable)
{
    int64_t xs[] = {1, 2, 2, 1};
    bgm_tensor *x = bgm_test_arange(xs, 4, 1), *y = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_FAILS(bgm_op_zero_pad2d(&y, tape, x, -1, 0, 0, 0), BGM_E_INVALID, "top -1");
    ck_assert_ptr_null(y);
    BGM_ASSERT_OK(bgm_op_zero_pad2d(&y, tape, x, 1, 1, 1, 1));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    ck_assert_float_eq(*(const float *)bgm_tensor_data(loss), 10.0f);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, xs, 4, (float[]){1, 1, 1, 1}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

Suite *suite_ops_merge(void)
{
    Suite *s = suite_create("ops_merge");
    TCase *fwd = tcase_create("maximum_minimum");
    TCase *grad = tcase_create("maximum_minimum_gradients");
    TCase *pad = tcase_create("zero_pad2d");
    int nshapes = (int)(sizeof grad_shapes / sizeof grad_shapes[0]);
    int npads = (int)(sizeof pad_cases / sizeof pad_cases[0]);

    tcase_add_test(fwd, maximum_and_minimum_broadcast_a_row_over_rows);
    tcase_add_test(fwd, maximum_of_a_column_and_a_row_and_of_a_scalar);
    tcase_add_test(fwd, a_nan_in_either_operand_gives_nan);
    tcase_add_test(fwd, on_a_tie_the_result_is_the_first_operand);
    suite_add_tcase(s, fwd);

    tcase_add_test(grad, the_gradient_goes_to_the_winner_and_splits_half_half_on_a_tie);
    tcase_add_test(grad, a_broadcast_operand_sums_its_wins_and_half_ties);
    tcase_add_test(grad, where_either_operand_is_nan_both_get_the_whole_gradient);
    tcase_add_test(grad, maximum_of_a_tensor_with_itself_passes_the_gradient_through);
    tcase_add_loop_test(grad, maximum_and_minimum_gradients_match_finite_differences, 0,
                        nshapes);
    tcase_add_test(grad, finite_differences_see_the_half_half_split_at_exact_ties);
    BGM_TEST_SLOW(grad, 30);
    suite_add_tcase(s, grad);

    tcase_add_test(pad, zero_pad2d_of_a_2x2_image_by_hand);
    tcase_add_test(pad, zero_pad2d_keeps_images_and_channels_apart);
    tcase_add_test(pad, zero_pad2d_by_nothing_copies_and_of_empty_images_gives_zeros);
    tcase_add_test(pad, zero_pad2d_gradient_is_the_cropped_output_gradient);
    tcase_add_loop_test(pad, zero_pad2d_gradients_match_finite_differences, 0, npads);
    tcase_add_test(pad, zero_pad2d_refuses_bad_input);
    tcase_add_test(pad, a_refused_zero_pad2d_leaves_the_tape_usable);
    BGM_TEST_SLOW(pad, 30);
    suite_add_tcase(s, pad);
    return s;
}
