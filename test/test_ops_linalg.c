/* bgm_op_matmul and the shape operations: values, gradients, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_EPS_LINEAR 1e-2 /* these ops are linear: a large step loses nothing */
#define GRAD_TOL 1e-3

/* c (m, n) = a (m, k) @ b (k, n), the plain triple loop, in double. */
static void ref_matmul(const float *a, const float *b, float *c, int m, int k, int n)
{
    int i, j, p;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double acc = 0.0;
            for (p = 0; p < k; p++)
                acc += (double)a[i * k + p] * b[p * n + j];
            c[i * n + j] = (float)acc;
        }
}

/* ---- matmul values ------------------------------------------------------ */

START_TEST(matmul_of_2x3_by_3x2_gives_the_textbook_product)
{
    int64_t sa[] = {2, 3}, sb[] = {3, 2}, sc[] = {2, 2};
    bgm_tensor *a = bgm_test_tensor(sa, 2, (float[]){1, 2, 3, 4, 5, 6});
    bgm_tensor *b = bgm_test_tensor(sb, 2, (float[]){7, 8, 9, 10, 11, 12});
    bgm_tensor *c = NULL;
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    bgm_test_assert_close(c, sc, 2, (float[]){58, 64, 139, 154}, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(matmul_of_a_batch_by_one_matrix_multiplies_each_item)
{
    /* (2, 2, 3) @ (3, 4): a's batch folds into one sgemm. */
    int64_t sa[] = {2, 2, 3}, sb[] = {3, 4}, sc[] = {2, 2, 4};
    bgm_tensor *a = bgm_test_arange(sa, 3, 0), *b = bgm_test_arange(sb, 2, 0), *c = NULL;
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    bgm_test_assert_close(c, sc, 3,
                          (float[]){20, 23, 26, 29, 56, 68, 80, 92,
                                    92, 113, 134, 155, 128, 158, 188, 218}, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(matmul_of_two_batches_pairs_the_items)
{
    int64_t sa[] = {2, 2, 3}, sb[] = {2, 3, 2}, sc[] = {2, 2, 2};
    bgm_tensor *a = bgm_test_arange(sa, 3, 0), *b = bgm_test_arange(sb, 3, 0), *c = NULL;
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    /* item 0: [0 1 2; 3 4 5] @ [0 1; 2 3; 4 5]; item 1: [6..11] @ [6..11]. */
    bgm_test_assert_close(c, sc, 3, (float[]){10, 13, 28, 40, 172, 193, 244, 274}, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(matmul_broadcasts_batch_dimensions_like_numpy)
{
    /* (2, 1, 2, 3) @ (3, 3, 4) -> (2, 3, 2, 4): out[i, j] = a[i, 0] @ b[j]. */
    int64_t sa[] = {2, 1, 2, 3}, sb[] = {3, 3, 4}, sc[] = {2, 3, 2, 4};
    bgm_tensor *a = bgm_test_randn(sa, 4, 1), *b = bgm_test_randn(sb, 3, 2), *c = NULL;
    const float *pa = bgm_tensor_data(a), *pb = bgm_tensor_data(b);
    float want[48];
    int i, j;
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            ref_matmul(pa + i * 6, pb + j * 12, want + (i * 3 + j) * 8, 2, 3, 4);
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    bgm_test_assert_close(c, sc, 4, want, 1e-5);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(matmul_of_one_matrix_by_a_batch_reuses_the_matrix)
{
    int64_t sa[] = {2, 3}, sb[] = {4, 3, 2}, sc[] = {4, 2, 2};
    bgm_tensor *a = bgm_test_randn(sa, 2, 3), *b = bgm_test_randn(sb, 3, 4), *c = NULL;
    const float *pa = bgm_tensor_data(a), *pb = bgm_tensor_data(b);
    float want[16];
    int i;
    for (i = 0; i < 4; i++)
        ref_matmul(pa, pb + i * 6, want + i * 4, 2, 3, 2);
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    bgm_test_assert_close(c, sc, 3, want, 1e-5);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
}
END_TEST

START_TEST(matmul_with_empty_dimensions_gives_zeros_or_nothing)
{
    int64_t sa[] = {2, 0}, sb[] = {0, 3}, sc[] = {2, 3}, sr[] = {3, 2}, se[] = {0, 2};
    bgm_tensor *a = NULL, *b = NULL, *r = NULL, *c = NULL, *e = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&a, BGM_FLOAT32, sa, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&b, BGM_FLOAT32, sb, 2));
    BGM_ASSERT_OK(bgm_tensor_full(&r, BGM_FLOAT32, sr, 2, NAN));
    BGM_ASSERT_OK(bgm_op_matmul(&c, NULL, a, b));
    bgm_test_assert_close(c, sc, 2, (float[]){0, 0, 0, 0, 0, 0}, 0);
    BGM_ASSERT_OK(bgm_op_matmul(&e, NULL, b, r));
    bgm_test_assert_close(e, se, 2, NULL, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(r);
    bgm_tensor_free(c);
    bgm_tensor_free(e);
}
END_TEST

/* ---- shape operation values --------------------------------------------- */

START_TEST(transpose_swaps_the_last_two_dimensions)
{
    int64_t sx[] = {2, 3, 4}, st[] = {2, 4, 3};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *t = NULL;
    BGM_ASSERT_OK(bgm_op_transpose(&t, NULL, x));
    bgm_test_assert_close(t, st, 3,
                          (float[]){0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11,
                                    12, 16, 20, 13, 17, 21, 14, 18, 22, 15, 19, 23}, 0);
    bgm_tensor_free(x);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(permute_takes_dimension_perm_i_as_dimension_i)
{
    int64_t sx[] = {2, 3, 4}, sp[] = {4, 2, 3};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *p = NULL, *q = NULL;
    BGM_ASSERT_OK(bgm_op_permute(&p, NULL, x, (int[]){2, 0, 1}, 3));
    bgm_test_assert_close(p, sp, 3,
                          (float[]){0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21,
                                    2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23}, 0);
    /* Negative entries count from the end, as in NumPy. */
    BGM_ASSERT_OK(bgm_op_permute(&q, NULL, x, (int[]){-1, 0, -2}, 3));
    bgm_test_assert_close(q, sp, 3, bgm_tensor_data(p), 0);
    bgm_tensor_free(x);
    bgm_tensor_free(p);
    bgm_tensor_free(q);
}
END_TEST

START_TEST(a_large_permutation_matches_the_index_formula)
{
    /* Big enough for the tiled and threaded paths of the copy kernel. */
    int64_t sx[] = {3, 70, 130}, sp[] = {130, 3, 70};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *p = NULL;
    const float *d;
    int64_t i, j, k;
    BGM_ASSERT_OK(bgm_op_permute(&p, NULL, x, (int[]){2, 0, 1}, 3));
    ck_assert_int_eq(bgm_tensor_dim(p, 0), sp[0]);
    d = bgm_tensor_data(p);
    for (k = 0; k < 130; k++)
        for (i = 0; i < 3; i++)
            for (j = 0; j < 70; j++)
                ck_assert_float_eq(d[(k * 3 + i) * 70 + j], (float)((i * 70 + j) * 130 + k));
    bgm_tensor_free(x);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(a_large_batched_transpose_matches_the_index_formula)
{
    int64_t sx[] = {4, 70, 130};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *t = NULL;
    const float *d;
    int64_t b, i, j;
    BGM_ASSERT_OK(bgm_op_transpose(&t, NULL, x));
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 130);
    d = bgm_tensor_data(t);
    for (b = 0; b < 4; b++)
        for (j = 0; j < 130; j++)
            for (i = 0; i < 70; i++)
                ck_assert_float_eq(d[(b * 130 + j) * 70 + i], (float)((b * 70 + i) * 130 + j));
    bgm_tensor_free(x);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(reshape_keeps_the_elements_and_infers_minus_one)
{
    int64_t sx[] = {2, 3, 4}, sr[] = {4, -1}, want[] = {4, 6};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *r = NULL, *t = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_op_reshape(&r, NULL, x, sr, 2));
    bgm_test_assert_close(r, want, 2, bgm_tensor_data(x), 0);
    ck_assert_ptr_ne(bgm_tensor_data(r), bgm_tensor_data(x)); /* caller-owned: a copy */
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_op_reshape(&t, tape, x, sr, 2));
    ck_assert_ptr_eq(bgm_tensor_data(t), bgm_tensor_data(x)); /* on a tape: an alias */
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 6);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(r);
}
END_TEST

START_TEST(concat_joins_three_inputs_on_any_axis)
{
    int64_t s0[] = {1, 2}, s1[] = {2, 2}, s2[] = {3, 2}, w0[] = {6, 2};
    int64_t c0[] = {2, 1}, c1[] = {2, 2}, c2[] = {2, 3}, w1[] = {2, 6};
    bgm_tensor *a = bgm_test_arange(s0, 2, 0), *b = bgm_test_arange(s1, 2, 10);
    bgm_tensor *c = bgm_test_arange(s2, 2, 20), *d = bgm_test_arange(c0, 2, 0);
    bgm_tensor *e = bgm_test_arange(c1, 2, 10), *f = bgm_test_arange(c2, 2, 20);
    bgm_tensor *r0 = NULL, *r1 = NULL, *r2 = NULL;
    BGM_ASSERT_OK(bgm_op_concat(&r0, NULL, (const bgm_tensor *[]){a, b, c}, 3, 0));
    bgm_test_assert_close(r0, w0, 2, (float[]){0, 1, 10, 11, 12, 13, 20, 21, 22, 23, 24, 25},
                          0);
    BGM_ASSERT_OK(bgm_op_concat(&r1, NULL, (const bgm_tensor *[]){d, e, f}, 3, 1));
    bgm_test_assert_close(r1, w1, 2, (float[]){0, 10, 11, 20, 21, 22, 1, 12, 13, 23, 24, 25},
                          0);
    BGM_ASSERT_OK(bgm_op_concat(&r2, NULL, (const bgm_tensor *[]){d, e, f}, 3, -1));
    bgm_test_assert_close(r2, w1, 2, bgm_tensor_data(r1), 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_tensor_free(d);
    bgm_tensor_free(e);
    bgm_tensor_free(f);
    bgm_tensor_free(r0);
    bgm_tensor_free(r1);
    bgm_tensor_free(r2);
}
END_TEST

START_TEST(concat_of_3d_tensors_on_the_middle_axis)
{
    int64_t sa[] = {2, 1, 2}, sb[] = {2, 2, 2}, sw[] = {2, 3, 2};
    bgm_tensor *a = bgm_test_arange(sa, 3, 0), *b = bgm_test_arange(sb, 3, 10), *r = NULL;
    BGM_ASSERT_OK(bgm_op_concat(&r, NULL, (const bgm_tensor *[]){a, b}, 2, 1));
    bgm_test_assert_close(r, sw, 3, (float[]){0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17}, 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(r);
}
END_TEST

START_TEST(slice_takes_a_range_on_one_axis)
{
    int64_t sx[] = {2, 3, 4}, s1[] = {2, 2, 4}, s2[] = {2, 3, 1}, s3[] = {0, 3, 4};
    bgm_tensor *x = bgm_test_arange(sx, 3, 0), *a = NULL, *b = NULL, *e = NULL;
    BGM_ASSERT_OK(bgm_op_slice(&a, NULL, x, 1, 1, 3));
    bgm_test_assert_close(a, s1, 3, (float[]){4, 5, 6, 7, 8, 9, 10, 11,
                                              16, 17, 18, 19, 20, 21, 22, 23}, 0);
    BGM_ASSERT_OK(bgm_op_slice(&b, NULL, x, -1, 2, 3));
    bgm_test_assert_close(b, s2, 3, (float[]){2, 6, 10, 14, 18, 22}, 0);
    BGM_ASSERT_OK(bgm_op_slice(&e, NULL, x, 0, 1, 1));
    bgm_test_assert_close(e, s3, 3, NULL, 0);
    bgm_tensor_free(x);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(e);
}
END_TEST

/* ---- gradients ---------------------------------------------------------- */

static bgm_status call_matmul(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    return bgm_op_matmul(out, tape, in[0], in[1]);
}

static void gradcheck_matmul(const int64_t *sa, int na, const int64_t *sb, int nb)
{
    bgm_tensor *in[2];
    double err;
    in[0] = bgm_test_randn(sa, na, 21);
    in[1] = bgm_test_randn(sb, nb, 22);
    err = bgm_test_gradcheck(call_matmul, in, 2, NULL, GRAD_EPS_LINEAR);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}

START_TEST(matmul_gradients_match_finite_differences)
{
    gradcheck_matmul((int64_t[]){2, 3}, 2, (int64_t[]){3, 4}, 2);
    gradcheck_matmul((int64_t[]){2, 2, 3}, 3, (int64_t[]){3, 4}, 2);
    gradcheck_matmul((int64_t[]){2, 2, 3}, 3, (int64_t[]){2, 3, 4}, 3);
    gradcheck_matmul((int64_t[]){2, 1, 2, 3}, 4, (int64_t[]){3, 3, 2}, 3);
    gradcheck_matmul((int64_t[]){3, 2}, 2, (int64_t[]){4, 2, 3}, 3);
    gradcheck_matmul((int64_t[]){1, 3, 2, 3}, 4, (int64_t[]){2, 1, 3, 2}, 4);
}
END_TEST

static bgm_status call_linear(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    return bgm_op_linear(out, tape, in[0], in[1], ctx ? NULL : in[2]);
}

/* linear = matmul + bias over the last axis of any batch shape, with its
 * gradients by finite differences, fresh or accumulated. */
START_TEST(linear_is_the_product_plus_bias_over_the_last_axis)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 3, 4}, 3, 31);
    bgm_tensor *w = bgm_test_randn((int64_t[]){4, 5}, 2, 32);
    bgm_tensor *b = bgm_test_randn((int64_t[]){5}, 1, 33);
    bgm_tensor *y = NULL, *p = NULL, *ref = NULL, *in[3] = {x, w, b};
    double err;
    BGM_ASSERT_OK(bgm_op_linear(&y, NULL, x, w, b));
    BGM_ASSERT_OK(bgm_op_matmul(&p, NULL, x, w));
    BGM_ASSERT_OK(bgm_op_add(&ref, NULL, p, b));
    bgm_test_assert_close(y, (int64_t[]){2, 3, 5}, 3, bgm_tensor_data(ref), 1e-6);
    bgm_tensor_free(y);
    y = NULL;
    err = bgm_test_gradcheck(call_linear, in, 3, NULL, GRAD_EPS_LINEAR);
    ck_assert_msg(err < GRAD_TOL, "linear gradient error %g", err);
    err = bgm_test_gradcheck(call_linear, in, 2, (void *)1, GRAD_EPS_LINEAR); /* no bias */
    ck_assert_msg(err < GRAD_TOL, "linear (no bias) gradient error %g", err);
    BGM_ASSERT_FAILS(bgm_op_linear(&y, NULL, b, w, NULL), BGM_E_SHAPE, "needs a batch axis");
    BGM_ASSERT_FAILS(bgm_op_linear(&y, NULL, x, b, NULL), BGM_E_SHAPE,
                     "kernel (5,) must be (inputs, units)");
    BGM_ASSERT_FAILS(bgm_op_linear(&y, NULL, x, w, x), BGM_E_SHAPE, "bias must be (5,)");
    BGM_ASSERT_FAILS(bgm_op_linear(NULL, NULL, x, w, b), BGM_E_INVALID, "out");
    bgm_tensor_free(p);
    bgm_tensor_free(ref);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(b);
}
END_TEST

static bgm_status call_square(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    return bgm_op_matmul(out, tape, in[0], in[0]);
}

START_TEST(matmul_of_a_tensor_by_itself_sums_both_gradients)
{
    int64_t s[] = {3, 3};
    bgm_tensor *x = bgm_test_randn(s, 2, 5);
    double err = bgm_test_gradcheck(call_square, &x, 1, NULL, GRAD_EPS_LINEAR);
    ck_assert_msg(err < GRAD_TOL, "relative gradient error %g", err);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(matmul_gradient_of_a_sum_is_hand_computable)
{
    /* d sum(A @ B) / dA = ones @ B^T: each row holds B's row sums. */
    int64_t sa[] = {2, 3}, sb[] = {3, 2};
    bgm_tensor *a = bgm_test_tensor(sa, 2, (float[]){1, 2, 3, 4, 5, 6});
    bgm_tensor *b = bgm_test_tensor(sb, 2, (float[]){7, 8, 9, 10, 11, 12});
    bgm_tensor *c = NULL, *loss = NULL, *g[2] = {NULL, NULL};
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, a));
    BGM_ASSERT_OK(bgm_tape_watch(tape, b));
    BGM_ASSERT_OK(bgm_op_matmul(&c, tape, a, b));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, c));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){a, b}, 2, g));
    bgm_test_assert_close(g[0], sa, 2, (float[]){15, 19, 23, 15, 19, 23}, 0);
    bgm_test_assert_close(g[1], sb, 2, (float[]){5, 5, 7, 7, 9, 9}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

typedef struct shape_box {
    int kind;
    int perm[BGM_MAX_DIMS];
    int64_t shape[BGM_MAX_DIMS];
    int ndim, axis;
    int64_t start, stop;
} shape_box;

enum { TRANSPOSE, PERMUTE, RESHAPE, SLICE, CONCAT };

static bgm_status call_shape(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                             void *ctx)
{
    const shape_box *b = ctx;
    switch (b->kind) {
    case TRANSPOSE: return bgm_op_transpose(out, tape, in[0]);
    case PERMUTE: return bgm_op_permute(out, tape, in[0], b->perm, b->ndim);
    case RESHAPE: return bgm_op_reshape(out, tape, in[0], b->shape, b->ndim);
    case SLICE: return bgm_op_slice(out, tape, in[0], b->axis, b->start, b->stop);
    default:
        return bgm_op_concat(out, tape, (const bgm_tensor *const *)in, b->ndim, b->axis);
    }
}

static void gradcheck_shape(const shape_box *box, bgm_tensor *const *in, int n)
{
    double err = bgm_test_gradcheck(call_shape, in, n, (void *)box, GRAD_EPS_LINEAR);
    ck_assert_msg(err < GRAD_TOL, "kind %d: relative gradient error %g", box->kind, err);
}

START_TEST(shape_operation_gradients_match_finite_differences)
{
    int64_t sx[] = {2, 3, 4};
    bgm_tensor *x = bgm_test_randn(sx, 3, 31);
    bgm_tensor *parts[3];
    shape_box t = {.kind = TRANSPOSE};
    shape_box p = {.kind = PERMUTE, .perm = {1, 2, 0}, .ndim = 3};
    shape_box r = {.kind = RESHAPE, .shape = {4, -1}, .ndim = 2};
    shape_box s1 = {.kind = SLICE, .axis = 1, .start = 1, .stop = 3};
    shape_box s2 = {.kind = SLICE, .axis = -1, .start = 0, .stop = 1};
    shape_box c = {.kind = CONCAT, .ndim = 3, .axis = 1};
    gradcheck_shape(&t, &x, 1);
    gradcheck_shape(&p, &x, 1);
    gradcheck_shape(&r, &x, 1);
    gradcheck_shape(&s1, &x, 1);
    gradcheck_shape(&s2, &x, 1);
    parts[0] = bgm_test_randn((int64_t[]){2, 1, 4}, 3, 32);
    parts[1] = bgm_test_randn((int64_t[]){2, 3, 4}, 3, 33);
    parts[2] = bgm_test_randn((int64_t[]){2, 2, 4}, 3, 34);
    gradcheck_shape(&c, parts, 3);
    bgm_tensor_free(parts[0]);
    bgm_tensor_free(parts[1]);
    bgm_tensor_free(parts[2]);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(a_tensor_concatenated_with_itself_gets_both_gradients)
{
    int64_t s[] = {2, 2};
    bgm_tensor *x = bgm_test_tensor(s, 2, (float[]){1, 2, 3, 4});
    bgm_tensor *c = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_concat(&c, tape, (const bgm_tensor *[]){x, x}, 2, 0));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, c));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, s, 2, (float[]){2, 2, 2, 2}, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

START_TEST(matmul_refuses_bad_input_with_a_message)
{
    int64_t s23[] = {2, 3}, s45[] = {4, 5}, s3[] = {3}, b1[] = {2, 2, 3}, b2[] = {3, 3, 4};
    bgm_tensor *a = bgm_test_randn(s23, 2, 1), *b = bgm_test_randn(s45, 2, 2);
    bgm_tensor *v = bgm_test_randn(s3, 1, 3), *i = NULL, *out = a;
    bgm_tensor *x1 = bgm_test_randn(b1, 3, 4), *x2 = bgm_test_randn(b2, 3, 5);
    BGM_ASSERT_OK(bgm_tensor_zeros(&i, BGM_INT32, s23, 2));
    BGM_ASSERT_FAILS(bgm_op_matmul(NULL, NULL, a, b), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, NULL, b), BGM_E_INVALID, "input 0 is NULL");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, a, NULL), BGM_E_INVALID, "input 1 is NULL");
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, i, a), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, a, b), BGM_E_SHAPE,
                     "cannot multiply (2, 3) by (4, 5): inner dimensions 3 and 4 differ");
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, a, v), BGM_E_SHAPE, "at least 2 dimensions");
    BGM_ASSERT_FAILS(bgm_op_matmul(&out, NULL, x1, x2), BGM_E_SHAPE,
                     "batch dimensions (2,) and (3,) do not broadcast");
    ck_assert_ptr_null(out);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(v);
    bgm_tensor_free(i);
    bgm_tensor_free(x1);
    bgm_tensor_free(x2);
}
END_TEST

START_TEST(shape_operations_refuse_bad_input_with_a_message)
{
    int64_t s23[] = {2, 3}, s3[] = {3}, s24[] = {2, 4}, s234[] = {2, 3, 4};
    bgm_tensor *x = bgm_test_randn(s23, 2, 1), *v = bgm_test_randn(s3, 1, 2);
    bgm_tensor *y = bgm_test_randn(s24, 2, 3), *z = bgm_test_randn(s234, 3, 4);
    bgm_tensor *i = NULL, *out = x;
    BGM_ASSERT_OK(bgm_tensor_zeros(&i, BGM_INT32, s23, 2));

    BGM_ASSERT_FAILS(bgm_op_transpose(NULL, NULL, x), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_transpose(&out, NULL, NULL), BGM_E_INVALID, "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_transpose(&out, NULL, i), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_transpose(&out, NULL, v), BGM_E_SHAPE,
                     "cannot transpose (3,): it needs at least 2 dimensions");

    BGM_ASSERT_FAILS(bgm_op_permute(NULL, NULL, x, (int[]){1, 0}, 2), BGM_E_INVALID,
                     "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, NULL, (int[]){1, 0}, 2), BGM_E_INVALID,
                     "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, i, (int[]){1, 0}, 2), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, x, NULL, 2), BGM_E_INVALID,
                     "'perm' is NULL");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, x, (int[]){0, 1, 2}, 3), BGM_E_INVALID,
                     "perm has 3 entries but x (2, 3) has 2 dimensions");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, x, (int[]){1, 1}, 2), BGM_E_INVALID,
                     "perm names dimension 1 twice");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, x, (int[]){0, 2}, 2), BGM_E_INVALID,
                     "perm[1] = 2 is out of range");
    BGM_ASSERT_FAILS(bgm_op_permute(&out, NULL, x, (int[]){0, -3}, 2), BGM_E_INVALID,
                     "perm[1] = -3 is out of range");

    BGM_ASSERT_FAILS(bgm_op_reshape(NULL, NULL, x, (int64_t[]){6}, 1), BGM_E_INVALID,
                     "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, NULL, (int64_t[]){6}, 1), BGM_E_INVALID,
                     "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, i, (int64_t[]){6}, 1), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, x, (int64_t[]){4, 2}, 2), BGM_E_SHAPE,
                     "cannot reshape (2, 3) (6 elements) to (4, 2)");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, x, (int64_t[]){4, -1}, 2), BGM_E_SHAPE,
                     "to (4, -1)");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, x, (int64_t[]){-1, -1}, 2), BGM_E_INVALID,
                     "more than one dimension is -1");
    BGM_ASSERT_FAILS(bgm_op_reshape(&out, NULL, x, NULL, 2), BGM_E_INVALID,
                     "'shape' is NULL");

    BGM_ASSERT_FAILS(bgm_op_concat(NULL, NULL, (const bgm_tensor *[]){x}, 1, 0),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, NULL, 1, 0), BGM_E_INVALID, "'xs' is NULL");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x}, 0, 0),
                     BGM_E_INVALID, "need at least one tensor");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x, NULL}, 2, 0),
                     BGM_E_INVALID, "input 1 is NULL");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x, i}, 2, 0),
                     BGM_E_DTYPE, "input 1 is int32");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x, y}, 2, 0),
                     BGM_E_SHAPE, "cannot join input 0 (2, 3) and input 1 (2, 4) along "
                     "axis 0");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x, z}, 2, 0),
                     BGM_E_SHAPE, "input 1 (2, 3, 4)");
    BGM_ASSERT_FAILS(bgm_op_concat(&out, NULL, (const bgm_tensor *[]){x, y}, 2, 2),
                     BGM_E_INVALID, "axis 2 is out of range for 2 dimensions");

    BGM_ASSERT_FAILS(bgm_op_slice(NULL, NULL, x, 0, 0, 1), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, NULL, 0, 0, 1), BGM_E_INVALID,
                     "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, i, 0, 0, 1), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, x, -3, 0, 1), BGM_E_INVALID,
                     "axis -3 is out of range");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, x, 1, 2, 4), BGM_E_RANGE,
                     "[2, 4) is outside [0, 3) on axis 1 of (2, 3)");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, x, 0, -1, 1), BGM_E_RANGE, "[-1, 1)");
    BGM_ASSERT_FAILS(bgm_op_slice(&out, NULL, x, 0, 2, 1), BGM_E_RANGE, "[2, 1)");
    ck_assert_ptr_null(out);

    bgm_tensor_free(x);
    bgm_tensor_free(v);
    bgm_tensor_free(y);
    bgm_tensor_free(z);
    bgm_tensor_free(i);
}
END_TEST

START_TEST(a_failed_operation_leaves_the_tape_usable)
{
    int64_t s23[] = {2, 3}, s32[] = {3, 2};
    bgm_tensor *a = bgm_test_randn(s23, 2, 1), *b = bgm_test_randn(s32, 2, 2);
    bgm_tensor *c = NULL, *bad = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(a, 1));
    BGM_ASSERT_FAILS(bgm_op_matmul(&bad, tape, a, a), BGM_E_SHAPE, "inner dimensions");
    BGM_ASSERT_FAILS(bgm_op_slice(&bad, tape, a, 0, 0, 5), BGM_E_RANGE, "outside");
    ck_assert_ptr_null(bad);
    BGM_ASSERT_OK(bgm_op_matmul(&c, tape, a, b));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, c));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &a, 1, &g));
    ck_assert_int_eq(bgm_tensor_numel(g), 6);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

Suite *suite_ops_linalg(void)
{
    Suite *s = suite_create("ops_linalg");
    TCase *tc = tcase_create("values");
    TCase *grad = tcase_create("gradients");
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(tc, matmul_of_2x3_by_3x2_gives_the_textbook_product);
    tcase_add_test(tc, linear_is_the_product_plus_bias_over_the_last_axis);
    tcase_add_test(tc, matmul_of_a_batch_by_one_matrix_multiplies_each_item);
    tcase_add_test(tc, matmul_of_two_batches_pairs_the_items);
    tcase_add_test(tc, matmul_broadcasts_batch_dimensions_like_numpy);
    tcase_add_test(tc, matmul_of_one_matrix_by_a_batch_reuses_the_matrix);
    tcase_add_test(tc, matmul_with_empty_dimensions_gives_zeros_or_nothing);
    tcase_add_test(tc, transpose_swaps_the_last_two_dimensions);
    tcase_add_test(tc, permute_takes_dimension_perm_i_as_dimension_i);
    tcase_add_test(tc, a_large_permutation_matches_the_index_formula);
    tcase_add_test(tc, a_large_batched_transpose_matches_the_index_formula);
    tcase_add_test(tc, reshape_keeps_the_elements_and_infers_minus_one);
    tcase_add_test(tc, concat_joins_three_inputs_on_any_axis);
    tcase_add_test(tc, concat_of_3d_tensors_on_the_middle_axis);
    tcase_add_test(tc, slice_takes_a_range_on_one_axis);
    suite_add_tcase(s, tc);
    BGM_TEST_SLOW(grad, 30);
    tcase_add_test(grad, matmul_gradients_match_finite_differences);
    tcase_add_test(grad, matmul_of_a_tensor_by_itself_sums_both_gradients);
    tcase_add_test(grad, matmul_gradient_of_a_sum_is_hand_computable);
    tcase_add_test(grad, shape_operation_gradients_match_finite_differences);
    tcase_add_test(grad, a_tensor_concatenated_with_itself_gets_both_gradients);
    suite_add_tcase(s, grad);
    tcase_add_test(bad, matmul_refuses_bad_input_with_a_message);
    tcase_add_test(bad, shape_operations_refuse_bad_input_with_a_message);
    tcase_add_test(bad, a_failed_operation_leaves_the_tape_usable);
    suite_add_tcase(s, bad);
    return s;
}
