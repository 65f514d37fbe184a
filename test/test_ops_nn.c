/* Neural-network ops: convolution, pooling, batch normalization, dropout and
 * losses. Forward values by hand and against a naive reference, gradients by
 * finite differences, and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_TOL 1e-3

static const float img3x3[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const float k2x2[4] = {1, 2, 3, 4};

static float *data_of(const bgm_tensor *t) { return bgm_tensor_data(t); }

/* Tensor of shape with values start, start + step, ... in a shuffled order
 * (a fixed permutation), so no two elements tie. */
static bgm_tensor *distinct(const int64_t *shape, int ndim, float start, float step,
                            uint64_t seed)
{
    bgm_tensor *t = NULL;
    bgm_rng *rng = NULL;
    float *d;
    int64_t i, n;
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, shape, ndim));
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    n = bgm_tensor_numel(t);
    d = data_of(t);
    for (i = 0; i < n; i++)
        d[i] = start + step * (float)i;
    for (i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(bgm_rng_next_u64(rng) % (uint64_t)(i + 1));
        float tmp = d[i];
        d[i] = d[j];
        d[j] = tmp;
    }
    bgm_rng_free(rng);
    return t;
}

/* ---- a naive convolution to compare with ------------------------------- */

typedef struct geom {
    int64_t n, h, w, c, kh, kw, f, sh, sw, oh, ow, pt, pl;
} geom;

static geom make_geom(const int64_t *xs, const int64_t *ks, int sh, int sw, int same)
{
    geom g;
    g.n = xs[0];
    g.h = xs[1];
    g.w = xs[2];
    g.c = xs[3];
    g.kh = ks[0];
    g.kw = ks[1];
    g.f = ks[3];
    g.sh = sh;
    g.sw = sw;
    if (same) {
        int64_t th, tw;
        g.oh = (g.h + sh - 1) / sh;
        g.ow = (g.w + sw - 1) / sw;
        th = (g.oh - 1) * sh + g.kh - g.h;
        tw = (g.ow - 1) * sw + g.kw - g.w;
        g.pt = th > 0 ? th / 2 : 0;
        g.pl = tw > 0 ? tw / 2 : 0;
    } else {
        g.oh = (g.h - g.kh) / sh + 1;
        g.ow = (g.w - g.kw) / sw + 1;
        g.pt = g.pl = 0;
    }
    return g;
}

/* Calls visit(x index, w index, y index) for every multiply of the conv. */
#define FOR_EACH_TAP(g, BODY)                                                        \
    do {                                                                             \
        int64_t n_, oy_, ox_, ky_, kx_, c_, f_;                                      \
        for (n_ = 0; n_ < (g).n; n_++)                                               \
            for (oy_ = 0; oy_ < (g).oh; oy_++)                                       \
                for (ox_ = 0; ox_ < (g).ow; ox_++)                                   \
                    for (ky_ = 0; ky_ < (g).kh; ky_++)                               \
                        for (kx_ = 0; kx_ < (g).kw; kx_++) {                         \
                            int64_t iy_ = oy_ * (g).sh - (g).pt + ky_;               \
                            int64_t ix_ = ox_ * (g).sw - (g).pl + kx_;               \
                            if (iy_ < 0 || iy_ >= (g).h || ix_ < 0 || ix_ >= (g).w)  \
                                continue;                                            \
                            for (c_ = 0; c_ < (g).c; c_++)                           \
                                for (f_ = 0; f_ < (g).f; f_++) {                     \
                                    int64_t xi = ((n_ * (g).h + iy_) * (g).w + ix_) * \
                                                     (g).c + c_;                     \
                                    int64_t wi = ((ky_ * (g).kw + kx_) * (g).c + c_) * \
                                                     (g).f + f_;                     \
                                    int64_t yi = ((n_ * (g).oh + oy_) * (g).ow + ox_) * \
                                                     (g).f + f_;                     \
                                    (void)xi, (void)wi, (void)yi;                    \
                                    BODY;                                            \
                                }                                                    \
                        }                                                            \
    } while (0)

/* y = conv(x, w) + b in double. */
static double *naive_conv(const geom *g, const float *x, const float *w, const float *b)
{
    double *y = calloc((size_t)(g->n * g->oh * g->ow * g->f), sizeof *y);
    int64_t i;
    ck_assert_ptr_nonnull(y);
    FOR_EACH_TAP(*g, y[yi] += (double)x[xi] * w[wi]);
    if (b)
        for (i = 0; i < g->n * g->oh * g->ow * g->f; i++)
            y[i] += b[i % g->f];
    return y;
}

static void assert_near_double(const float *got, const double *want, int64_t n, double tol,
                               const char *what)
{
    int64_t i;
    for (i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])),
                      "%s[%lld]: got %.7g, want %.7g", what, (long long)i, got[i], want[i]);
}

/* ---- convolution: forward ---------------------------------------------- */

static void conv_by_hand(int sh, int sw, bgm_padding pad, const int64_t *yshape,
                         const float *want, const float *bias_value)
{
    int64_t xs[] = {1, 3, 3, 1}, ks[] = {2, 2, 1, 1}, bs[] = {1};
    bgm_tensor *x = bgm_test_tensor(xs, 4, img3x3), *k = bgm_test_tensor(ks, 4, k2x2);
    bgm_tensor *b = bias_value ? bgm_test_tensor(bs, 1, bias_value) : NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_op_conv2d(&y, NULL, x, k, b, sh, sw, pad));
    bgm_test_assert_close(y, yshape, 4, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
    bgm_tensor_free(b);
}

START_TEST(conv2d_of_a_3x3_image_with_a_2x2_kernel_by_hand)
{
    /* y[i][j] = x[i][j] + 2 x[i][j+1] + 3 x[i+1][j] + 4 x[i+1][j+1]; SAME pads
     * one zero row / column at the bottom / right only (TensorFlow). */
    const int64_t valid1[] = {1, 2, 2, 1}, same1[] = {1, 3, 3, 1};
    const int64_t valid2[] = {1, 1, 1, 1}, same2[] = {1, 2, 2, 1};
    const float bias = 0.5f;
    conv_by_hand(1, 1, BGM_PADDING_VALID, valid1, (const float[]){37, 47, 67, 77}, NULL);
    conv_by_hand(1, 1, BGM_PADDING_VALID, valid1,
                 (const float[]){37.5f, 47.5f, 67.5f, 77.5f}, &bias);
    conv_by_hand(1, 1, BGM_PADDING_SAME, same1,
                 (const float[]){37, 47, 21, 67, 77, 33, 23, 26, 9}, NULL);
    conv_by_hand(2, 2, BGM_PADDING_VALID, valid2, (const float[]){37}, NULL);
    conv_by_hand(2, 2, BGM_PADDING_SAME, same2, (const float[]){37, 21, 23, 9}, NULL);
    /* Strides differ per axis: rows 0 and 2 of the SAME result, every column. */
    conv_by_hand(2, 1, BGM_PADDING_SAME, (const int64_t[]){1, 2, 3, 1},
                 (const float[]){37, 47, 21, 23, 26, 9}, NULL);
}
END_TEST

typedef struct conv_case {
    int64_t xs[4], ks[4];
    int sh, sw;
    bgm_padding pad;
    int bias;
} conv_case;

static const conv_case conv_cases[] = {
    {{2, 5, 6, 3}, {3, 2, 3, 4}, 2, 1, BGM_PADDING_SAME, 1},
    {{2, 5, 6, 3}, {3, 3, 3, 4}, 1, 1, BGM_PADDING_SAME, 1},   /* padding on all sides */
    {{2, 7, 5, 2}, {3, 3, 2, 3}, 2, 2, BGM_PADDING_VALID, 0},
    {{3, 4, 4, 5}, {1, 1, 5, 2}, 1, 1, BGM_PADDING_VALID, 1},  /* 1x1: no im2col */
    {{1, 5, 5, 2}, {1, 1, 2, 3}, 2, 2, BGM_PADDING_SAME, 0},   /* 1x1 strided */
    {{1, 4, 4, 1}, {4, 4, 1, 2}, 3, 3, BGM_PADDING_SAME, 1},   /* kernel as big as x */
};

START_TEST(conv2d_matches_a_naive_loop_for_channels_strides_and_padding)
{
    const conv_case *cc = &conv_cases[_i];
    int64_t bs[1] = {cc->ks[3]};
    bgm_tensor *x = bgm_test_randn(cc->xs, 4, 10 + (uint64_t)_i);
    bgm_tensor *k = bgm_test_randn(cc->ks, 4, 20 + (uint64_t)_i);
    bgm_tensor *b = cc->bias ? bgm_test_randn(bs, 1, 30) : NULL, *y = NULL;
    geom g = make_geom(cc->xs, cc->ks, cc->sh, cc->sw, cc->pad == BGM_PADDING_SAME);
    double *want;
    BGM_ASSERT_OK(bgm_op_conv2d(&y, NULL, x, k, b, cc->sh, cc->sw, cc->pad));
    ck_assert_int_eq(bgm_tensor_dim(y, 0), g.n);
    ck_assert_int_eq(bgm_tensor_dim(y, 1), g.oh);
    ck_assert_int_eq(bgm_tensor_dim(y, 2), g.ow);
    ck_assert_int_eq(bgm_tensor_dim(y, 3), g.f);
    want = naive_conv(&g, data_of(x), data_of(k), b ? data_of(b) : NULL);
    assert_near_double(data_of(y), want, bgm_tensor_numel(y), 1e-5, "y");
    free(want);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
    bgm_tensor_free(b);
}
END_TEST

/* Patches of one image here take 36 MiB, more than the 16 MiB workspace, so the
 * batch runs one image per matrix product, forward and backward. */
START_TEST(conv2d_splits_a_large_batch_into_groups_forward_and_backward)
{
    int64_t xs[] = {2, 128, 128, 64}, ks[] = {3, 3, 64, 2}, bs[] = {2};
    bgm_tensor *x = bgm_test_randn(xs, 4, 1), *k = bgm_test_randn(ks, 4, 2);
    bgm_tensor *b = bgm_test_randn(bs, 1, 3), *y = NULL, *loss = NULL, *grads[3];
    bgm_tensor *srcs[3] = {x, k, b};
    bgm_tape *tape = NULL;
    geom g = make_geom(xs, ks, 1, 1, 1);
    double *want, *gx, *gw;
    int64_t i;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (i = 0; i < 3; i++)
        BGM_ASSERT_OK(bgm_tensor_set_requires_grad(srcs[i], 1));
    BGM_ASSERT_OK(bgm_op_conv2d(&y, tape, x, k, b, 1, 1, BGM_PADDING_SAME));
    want = naive_conv(&g, data_of(x), data_of(k), data_of(b));
    assert_near_double(data_of(y), want, bgm_tensor_numel(y), 1e-4, "y");
    /* d(sum y)/dx and /dw: every tap contributes its other factor. */
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, srcs, 3, grads));
    gx = calloc((size_t)bgm_tensor_numel(x), sizeof *gx);
    gw = calloc((size_t)bgm_tensor_numel(k), sizeof *gw);
    FOR_EACH_TAP(g, (gx[xi] += data_of(k)[wi], gw[wi] += data_of(x)[xi]));
    assert_near_double(data_of(grads[0]), gx, bgm_tensor_numel(x), 1e-4, "gx");
    /* Each gw element sums 32768 N(0,1) terms down to O(0.1): the float
     * rounding of that sum depends on the BLAS's summation order (the
     * reference BLAS adds sequentially), so allow 1e-6 per term on top. */
    for (i = 0; i < bgm_tensor_numel(k); i++)
        ck_assert_msg(fabs(data_of(grads[1])[i] - gw[i]) <= 1e-4 * (1.0 + fabs(gw[i])) +
                          1e-6 * 2 * 128 * 128,
                      "gw[%lld]: got %.7g, want %.7g", (long long)i, data_of(grads[1])[i],
                      gw[i]);
    ck_assert_float_eq(data_of(grads[2])[0], (float)(2 * 128 * 128));
    free(want);
    free(gx);
    free(gw);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
    bgm_tensor_free(b);
}
END_TEST

START_TEST(conv2d_of_an_empty_batch_is_empty)
{
    int64_t xs[] = {0, 4, 4, 2}, ks[] = {3, 3, 2, 5};
    bgm_tensor *x = NULL, *k = bgm_test_randn(ks, 4, 1), *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 4));
    BGM_ASSERT_OK(bgm_op_conv2d(&y, NULL, x, k, NULL, 1, 1, BGM_PADDING_SAME));
    ck_assert_int_eq(bgm_tensor_numel(y), 0);
    ck_assert_int_eq(bgm_tensor_dim(y, 3), 5);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
}
END_TEST

/* ---- convolution: gradients --------------------------------------------- */

static bgm_status call_conv(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                            void *ctx)
{
    const conv_case *cc = ctx;
    return bgm_op_conv2d(out, tape, in[0], in[1], cc->bias ? in[2] : NULL, cc->sh, cc->sw,
                         cc->pad);
}

START_TEST(conv2d_gradients_match_finite_differences)
{
    const conv_case *cc = &conv_cases[_i];
    int64_t bs[1] = {cc->ks[3]};
    bgm_tensor *in[3];
    double err;
    in[0] = bgm_test_randn(cc->xs, 4, 40 + (uint64_t)_i);
    in[1] = bgm_test_randn(cc->ks, 4, 50 + (uint64_t)_i);
    in[2] = bgm_test_randn(bs, 1, 60);
    err = bgm_test_gradcheck(call_conv, in, cc->bias ? 3 : 2, (void *)cc, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
    bgm_tensor_free(in[2]);
}
END_TEST

/* ---- pooling ------------------------------------------------------------- */

static const float img4x4[16] = {1, 5, 2, 0, 3, 4, 8, 7, 9, 6, 1, 2, 0, 3, 4, 5};

static void pool_by_hand(int is_max, int pool, int stride, bgm_padding pad,
                         const float *want)
{
    int64_t xs[] = {1, 4, 4, 1}, ys[] = {1, 2, 2, 1};
    bgm_tensor *x = bgm_test_tensor(xs, 4, img4x4), *y = NULL;
    if (is_max)
        BGM_ASSERT_OK(bgm_op_max_pool2d(&y, NULL, x, pool, pool, stride, stride, pad));
    else
        BGM_ASSERT_OK(bgm_op_avg_pool2d(&y, NULL, x, pool, pool, stride, stride, pad));
    bgm_test_assert_close(y, ys, 4, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}

START_TEST(pooling_a_4x4_image_by_hand)
{
    /* 3x3 windows, stride 2, SAME: one padded row / column at the bottom /
     * right; average divides by the real cells only (9, 6, 6, 4). */
    pool_by_hand(1, 2, 2, BGM_PADDING_VALID, (const float[]){5, 8, 9, 5});
    pool_by_hand(1, 3, 2, BGM_PADDING_SAME, (const float[]){9, 8, 9, 5});
    pool_by_hand(0, 2, 2, BGM_PADDING_VALID, (const float[]){3.25f, 4.25f, 4.5f, 3.0f});
    pool_by_hand(0, 3, 2, BGM_PADDING_SAME,
                 (const float[]){39.0f / 9, 20.0f / 6, 23.0f / 6, 12.0f / 4});
}
END_TEST

START_TEST(pooling_keeps_channels_apart)
{
    /* Two channels: the second is the negated first. */
    int64_t xs[] = {1, 2, 2, 2}, ys[] = {1, 1, 1, 2};
    const float xv[8] = {1, -1, 4, -4, 2, -2, 3, -3};
    bgm_tensor *x = bgm_test_tensor(xs, 4, xv), *y = NULL, *a = NULL;
    BGM_ASSERT_OK(bgm_op_max_pool2d(&y, NULL, x, 2, 2, 2, 2, BGM_PADDING_VALID));
    bgm_test_assert_close(y, ys, 4, (const float[]){4, -1}, 0);
    BGM_ASSERT_OK(bgm_op_avg_pool2d(&a, NULL, x, 2, 2, 1, 1, BGM_PADDING_VALID));
    bgm_test_assert_close(a, ys, 4, (const float[]){2.5f, -2.5f}, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(a);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(max_pool_gradient_goes_to_the_first_maximum)
{
    /* Every value ties: each 2x2 window sends its gradient to its top-left. */
    int64_t xs[] = {1, 4, 4, 1};
    bgm_tensor *x = NULL, *y = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    const float want[16] = {1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0};
    BGM_ASSERT_OK(bgm_tensor_full(&x, BGM_FLOAT32, xs, 4, 3.0));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_max_pool2d(&y, tape, x, 2, 2, 2, 2, BGM_PADDING_VALID));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    bgm_test_assert_close(g, xs, 4, want, 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(global_avg_pool_averages_each_channel)
{
    int64_t xs[] = {2, 2, 1, 2}, ys[] = {2, 2};
    const float xv[8] = {1, 10, 3, 30, 5, 50, 7, 70};
    bgm_tensor *x = bgm_test_tensor(xs, 4, xv), *y = NULL;
    BGM_ASSERT_OK(bgm_op_global_avg_pool2d(&y, NULL, x));
    bgm_test_assert_close(y, ys, 2, (const float[]){2, 20, 6, 60}, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

typedef struct pool_case {
    int is_max, ph, pw, sh, sw;
    bgm_padding pad;
} pool_case;

static const pool_case pool_cases[] = {
    {1, 2, 2, 2, 2, BGM_PADDING_VALID}, {1, 3, 3, 2, 2, BGM_PADDING_SAME},
    {1, 3, 2, 1, 1, BGM_PADDING_SAME},  {0, 2, 2, 2, 2, BGM_PADDING_VALID},
    {0, 3, 3, 2, 2, BGM_PADDING_SAME},  {0, 3, 2, 1, 2, BGM_PADDING_SAME},
};

static bgm_status call_pool(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                            void *ctx)
{
    const pool_case *pc = ctx;
    if (pc->is_max)
        return bgm_op_max_pool2d(out, tape, in[0], pc->ph, pc->pw, pc->sh, pc->sw, pc->pad);
    return bgm_op_avg_pool2d(out, tape, in[0], pc->ph, pc->pw, pc->sh, pc->sw, pc->pad);
}

static bgm_status call_global_avg(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                                  void *ctx)
{
    return bgm_op_global_avg_pool2d(out, tape, in[0]);
}

START_TEST(pooling_gradients_match_finite_differences)
{
    /* Distinct values 0.1 apart: a step of 0.01 never changes a maximum. */
    int64_t xs[] = {2, 5, 6, 3};
    bgm_tensor *x = distinct(xs, 4, -9.0f, 0.1f, 7 + (uint64_t)_i);
    double err = bgm_test_gradcheck(call_pool, &x, 1, (void *)&pool_cases[_i], 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(global_avg_pool_gradient_matches_finite_differences)
{
    int64_t xs[] = {2, 3, 4, 3};
    bgm_tensor *x = bgm_test_randn(xs, 4, 5);
    double err = bgm_test_gradcheck(call_global_avg, &x, 1, NULL, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "relative error %g", err);
    bgm_tensor_free(x);
}
END_TEST

/* ---- batch normalization ------------------------------------------------- */

START_TEST(batch_norm_training_normalizes_and_updates_running_stats)
{
    /* Channel 0: 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3);
     * channel 1: constant 2 (var 0: the output is beta). */
    int64_t xs[] = {4, 2}, cs[] = {2};
    const float xv[8] = {1, 2, 2, 2, 3, 2, 4, 2};
    bgm_tensor *x = bgm_test_tensor(xs, 2, xv);
    bgm_tensor *gamma = bgm_test_tensor(cs, 1, (const float[]){2, 1});
    bgm_tensor *beta = bgm_test_tensor(cs, 1, (const float[]){0.5f, -1});
    bgm_tensor *rm = bgm_test_tensor(cs, 1, (const float[]){0, 0});
    bgm_tensor *rv = bgm_test_tensor(cs, 1, (const float[]){1, 1}), *y = NULL;
    const double eps = 1e-3, inv = 1.0 / sqrt(1.25 + eps);
    float want[8];
    int i;
    for (i = 0; i < 4; i++) {
        want[2 * i] = (float)(2.0 * (i + 1 - 2.5) * inv + 0.5);
        want[2 * i + 1] = -1.0f;
    }
    BGM_ASSERT_OK(bgm_op_batch_norm(&y, NULL, x, gamma, beta, rm, rv, 0.9f, 1e-3f, 1));
    bgm_test_assert_close(y, xs, 2, want, 1e-5);
    /* running = 0.9 running + 0.1 batch, the variance unbiased. */
    bgm_test_assert_close(rm, cs, 1, (const float[]){0.25f, 0.2f}, 1e-6);
    bgm_test_assert_close(rv, cs, 1, (const float[]){0.9f + 0.1f * 5.0f / 3.0f, 0.9f}, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(gamma);
    bgm_tensor_free(beta);
    bgm_tensor_free(rm);
    bgm_tensor_free(rv);
}
END_TEST

START_TEST(batch_norm_inference_uses_running_stats_and_leaves_them)
{
    int64_t xs[] = {1, 2, 1, 2}, cs[] = {2};
    bgm_tensor *x = bgm_test_tensor(xs, 4, (const float[]){1, 2, 3, 4});
    bgm_tensor *rm = bgm_test_tensor(cs, 1, (const float[]){1, -1});
    bgm_tensor *rv = bgm_test_tensor(cs, 1, (const float[]){4, 0.25f}), *y = NULL;
    const float want[4] = {0, (float)(3 / sqrt(0.25 + 1e-5)), (float)(2 / sqrt(4 + 1e-5)),
                           (float)(5 / sqrt(0.25 + 1e-5))};
    BGM_ASSERT_OK(bgm_op_batch_norm(&y, NULL, x, NULL, NULL, rm, rv, 0.99f, 1e-5f, 0));
    bgm_test_assert_close(y, xs, 4, want, 1e-5);
    bgm_test_assert_close(rm, cs, 1, (const float[]){1, -1}, 0);
    bgm_test_assert_close(rv, cs, 1, (const float[]){4, 0.25f}, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(rm);
    bgm_tensor_free(rv);
}
END_TEST

START_TEST(batch_norm_running_stats_converge_to_the_data)
{
    /* Repeating one batch: the running mean tends to its mean geometrically. */
    int64_t xs[] = {3, 1}, cs[] = {1};
    bgm_tensor *x = bgm_test_tensor(xs, 2, (const float[]){1, 2, 6});
    bgm_tensor *rm = NULL, *rv = NULL, *y = NULL;
    int step;
    BGM_ASSERT_OK(bgm_tensor_zeros(&rm, BGM_FLOAT32, cs, 1));
    BGM_ASSERT_OK(bgm_tensor_ones(&rv, BGM_FLOAT32, cs, 1));
    for (step = 0; step < 3; step++) {
        BGM_ASSERT_OK(bgm_op_batch_norm(&y, NULL, x, NULL, NULL, rm, rv, 0.5f, 1e-3f, 1));
        bgm_tensor_free(y);
    }
    /* mean 3, unbiased var 7: after 3 steps 3 (1 - 0.5^3) and 0.125 + 7 * 0.875. */
    bgm_test_assert_close(rm, cs, 1, (const float[]){2.625f}, 1e-6);
    bgm_test_assert_close(rv, cs, 1, (const float[]){0.125f + 7.0f * 0.875f}, 1e-6);
    bgm_tensor_free(x);
    bgm_tensor_free(rm);
    bgm_tensor_free(rv);
}
END_TEST

typedef struct bn_case {
    int training, with_params;
} bn_case;

static bgm_status call_bn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                          void *ctx)
{
    const bn_case *bc = ctx;
    /* Inference reads the running statistics in[3], in[4]; training leaves
     * them out so repeated calls do not move them. */
    return bgm_op_batch_norm(out, tape, in[0], bc->with_params ? in[1] : NULL,
                             bc->with_params ? in[2] : NULL, bc->training ? NULL : in[3],
                             bc->training ? NULL : in[4], 0.9f, 1e-3f, bc->training);
}

START_TEST(batch_norm_gradients_match_finite_differences)
{
    static const bn_case cases[] = {{1, 1}, {1, 0}, {0, 1}};
    const bn_case *bc = &cases[_i];
    int64_t xs[] = {3, 2, 2, 3}, cs[] = {3};
    bgm_tensor *in[5];
    double err;
    int i;
    in[0] = bgm_test_randn(xs, 4, 70);
    in[1] = bgm_test_uniform(cs, 1, 0.5f, 2.0f, 71);
    in[2] = bgm_test_randn(cs, 1, 72);
    in[3] = bgm_test_randn(cs, 1, 73);
    in[4] = bgm_test_uniform(cs, 1, 0.5f, 2.0f, 74);
    err = bgm_test_gradcheck(call_bn, in, bc->with_params ? 3 : 1, (void *)bc, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    for (i = 0; i < 5; i++)
        bgm_tensor_free(in[i]);
}
END_TEST

/* ---- dropout ------------------------------------------------------------- */

START_TEST(dropout_mask_is_one_uniform_draw_per_element)
{
    int64_t xs[] = {40, 25};
    bgm_tensor *x = bgm_test_randn(xs, 2, 3), *y = NULL;
    bgm_rng *rng = NULL, *ref = NULL;
    const float rate = 0.3f, scale = 1.0f / (1.0f - rate);
    const float *xv, *yv;
    int64_t i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, 99));
    BGM_ASSERT_OK(bgm_rng_create(&ref, 99));
    BGM_ASSERT_OK(bgm_op_dropout(&y, NULL, x, rate, rng, 1));
    xv = data_of(x);
    yv = data_of(y);
    for (i = 0; i < 1000; i++) {
        float want = bgm_rng_uniform(ref) < rate ? 0.0f : xv[i] * scale;
        ck_assert_msg(yv[i] == want, "element %lld: got %g, want %g", (long long)i, yv[i],
                      want);
    }
    /* Exactly 1000 draws were taken: both streams continue in step. */
    ck_assert_uint_eq(bgm_rng_next_u64(rng), bgm_rng_next_u64(ref));
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_rng_free(rng);
    bgm_rng_free(ref);
}
END_TEST

START_TEST(dropout_keeps_the_expected_fraction_and_the_mean)
{
    int64_t xs[] = {100000};
    bgm_tensor *x = NULL, *y = NULL;
    bgm_rng *rng = NULL;
    const double rate = 0.25, keep = 1.0 - rate, n = 100000.0;
    const double sigma = sqrt(keep * rate / n);
    double kept = 0.0, sum = 0.0;
    const float *yv;
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_ones(&x, BGM_FLOAT32, xs, 1));
    BGM_ASSERT_OK(bgm_rng_create(&rng, 2024));
    BGM_ASSERT_OK(bgm_op_dropout(&y, NULL, x, (float)rate, rng, 1));
    yv = data_of(y);
    for (i = 0; i < 100000; i++) {
        kept += yv[i] != 0.0f;
        sum += yv[i];
    }
    ck_assert_msg(fabs(kept / n - keep) < 4 * sigma, "kept fraction %g", kept / n);
    /* The mean is kept / (1 - rate): its deviation is sigma / (1 - rate). */
    ck_assert_msg(fabs(sum / n - 1.0) < 4 * sigma / keep, "mean %g", sum / n);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_rng_free(rng);
}
END_TEST

START_TEST(dropout_is_identity_in_inference_and_at_rate_zero)
{
    int64_t xs[] = {3, 4};
    bgm_tensor *x = bgm_test_randn(xs, 2, 4), *a = NULL, *b = NULL;
    bgm_rng *rng = NULL, *ref = NULL;
    BGM_ASSERT_OK(bgm_rng_create(&rng, 5));
    BGM_ASSERT_OK(bgm_rng_create(&ref, 5));
    BGM_ASSERT_OK(bgm_op_dropout(&a, NULL, x, 0.5f, NULL, 0));
    BGM_ASSERT_OK(bgm_op_dropout(&b, NULL, x, 0.0f, rng, 1));
    bgm_test_assert_close(a, xs, 2, data_of(x), 0);
    bgm_test_assert_close(b, xs, 2, data_of(x), 0);
    ck_assert_uint_eq(bgm_rng_next_u64(rng), bgm_rng_next_u64(ref)); /* no draw */
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(x);
    bgm_rng_free(rng);
    bgm_rng_free(ref);
}
END_TEST

typedef struct dropout_case {
    float rate;
    int training;
} dropout_case;

/* A fresh generator per call: every evaluation draws the same mask. */
static bgm_status call_dropout(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                               void *ctx)
{
    const dropout_case *dc = ctx;
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, 11);
    if (s == BGM_OK)
        s = bgm_op_dropout(out, tape, in[0], dc->rate, rng, dc->training);
    bgm_rng_free(rng);
    return s;
}

START_TEST(dropout_gradients_match_finite_differences)
{
    static const dropout_case cases[] = {{0.4f, 1}, {0.4f, 0}};
    int64_t xs[] = {6, 7};
    bgm_tensor *x = bgm_test_randn(xs, 2, 8);
    double err = bgm_test_gradcheck(call_dropout, &x, 1, (void *)&cases[_i], 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    bgm_tensor_free(x);
}
END_TEST

/* ---- losses -------------------------------------------------------------- */

static float scalar_of(const bgm_tensor *t)
{
    ck_assert_int_eq(bgm_tensor_ndim(t), 0);
    return data_of(t)[0];
}

START_TEST(regression_losses_by_hand)
{
    int64_t s[] = {2, 2};
    bgm_tensor *p = bgm_test_tensor(s, 2, (const float[]){1, 2, 3, 4});
    bgm_tensor *t = bgm_test_tensor(s, 2, (const float[]){0, 2, 5, 3.5f}), *l = NULL;
    BGM_ASSERT_OK(bgm_op_mse_loss(&l, NULL, p, t));
    ck_assert_float_eq_tol(scalar_of(l), (1 + 0 + 4 + 0.25f) / 4, 1e-6);
    bgm_tensor_free(l);
    BGM_ASSERT_OK(bgm_op_mae_loss(&l, NULL, p, t));
    ck_assert_float_eq_tol(scalar_of(l), (1 + 0 + 2 + 0.5f) / 4, 1e-6);
    bgm_tensor_free(l);
    bgm_tensor_free(p);
    bgm_tensor_free(t);
}
END_TEST

START_TEST(binary_crossentropy_by_hand_and_stable_for_large_logits)
{
    int64_t s[] = {3};
    bgm_tensor *x = bgm_test_tensor(s, 1, (const float[]){0, 2, -100});
    bgm_tensor *t = bgm_test_tensor(s, 1, (const float[]){1, 0, 1}), *l = NULL;
    bgm_tensor *p = bgm_test_tensor(s, 1, (const float[]){0.5f, 0.8f, 0});
    /* log 2, 2 + log(1 + e^-2), 100 + log(1 + e^-100). */
    double want = (log(2.0) + 2 + log1p(exp(-2.0)) + 100) / 3;
    BGM_ASSERT_OK(bgm_op_binary_crossentropy(&l, NULL, x, t, 1));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-4);
    bgm_tensor_free(l);
    /* Probabilities: -log 0.5, -log 0.2, and 0 clipped to 1e-7. */
    want = (log(2.0) - log(0.2) - log(1e-7)) / 3;
    BGM_ASSERT_OK(bgm_op_binary_crossentropy(&l, NULL, p, t, 0));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-4);
    bgm_tensor_free(l);
    bgm_tensor_free(x);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
}
END_TEST

START_TEST(categorical_crossentropy_by_hand)
{
    int64_t s[] = {2, 3}, ls[] = {2};
    bgm_tensor *x = bgm_test_tensor(s, 2, (const float[]){1, 2, 3, 0, 0, 1000});
    bgm_tensor *t = bgm_test_tensor(s, 2, (const float[]){0, 0, 1, 1, 0, 0});
    bgm_tensor *p = bgm_test_tensor(s, 2, (const float[]){1, 1, 2, 0.2f, 0.3f, 0.5f});
    bgm_tensor *lab = NULL, *l = NULL;
    const int32_t labels[2] = {2, 0};
    /* Row 0: log(e + e^2 + e^3) - 3; row 1: 1000 (stable, no overflow). */
    double row0 = log(exp(1.0) + exp(2.0) + exp(3.0)) - 3, want = (row0 + 1000) / 2;
    BGM_ASSERT_OK(bgm_tensor_from_data(&lab, BGM_INT32, ls, 1, labels));
    BGM_ASSERT_OK(bgm_op_categorical_crossentropy(&l, NULL, x, t, 1));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-3);
    bgm_tensor_free(l);
    BGM_ASSERT_OK(bgm_op_sparse_categorical_crossentropy(&l, NULL, x, lab, 1));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-3);
    bgm_tensor_free(l);
    /* Probabilities are normalized per row first: 2/4 and 0.2/1. */
    want = (-log(0.5) - log(0.2)) / 2;
    BGM_ASSERT_OK(bgm_op_categorical_crossentropy(&l, NULL, p, t, 0));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-6);
    bgm_tensor_free(l);
    BGM_ASSERT_OK(bgm_op_sparse_categorical_crossentropy(&l, NULL, p, lab, 0));
    ck_assert_double_eq_tol(scalar_of(l), want, 1e-6);
    bgm_tensor_free(l);
    bgm_tensor_free(x);
    bgm_tensor_free(t);
    bgm_tensor_free(p);
    bgm_tensor_free(lab);
}
END_TEST

START_TEST(sparse_labels_are_copied_onto_the_tape)
{
    int64_t s[] = {2, 3}, ls[] = {2};
    bgm_tensor *x = bgm_test_randn(s, 2, 1), *lab = NULL, *l = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    int32_t labels[2] = {1, 2};
    float before[6];
    BGM_ASSERT_OK(bgm_tensor_wrap(&lab, BGM_INT32, ls, 1, labels, NULL, NULL));
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_sparse_categorical_crossentropy(&l, tape, x, lab, 1));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l, &x, 1, &g));
    memcpy(before, data_of(g), sizeof before);
    labels[0] = labels[1] = 0; /* the caller reuses its buffer */
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l, &x, 1, &g));
    bgm_test_assert_close(g, s, 2, before, 0);
    /* softmax - onehot, halved: the label entries are negative. */
    ck_assert(before[1] < 0 && before[5] < 0 && before[0] > 0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(lab);
}
END_TEST

typedef bgm_status (*pair_loss_fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *,
                                   const bgm_tensor *);

typedef struct loss_case {
    const char *name;
    int kind;           /* 0 regression, 1 binary, 2 categorical, 3 sparse */
    pair_loss_fn fn;    /* kind 0 */
    int logits;
} loss_case;

static const loss_case loss_cases[] = {
    {"mse", 0, bgm_op_mse_loss, 0},
    {"mae", 0, bgm_op_mae_loss, 0},
    {"bce logits", 1, NULL, 1},
    {"bce probabilities", 1, NULL, 0},
    {"cce logits", 2, NULL, 1},
    {"cce probabilities", 2, NULL, 0},
    {"sparse logits", 3, NULL, 1},
    {"sparse probabilities", 3, NULL, 0},
};

typedef struct loss_ctx {
    const loss_case *lc;
    const bgm_tensor *labels;
} loss_ctx;

static bgm_status call_loss(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                            void *ctx)
{
    const loss_ctx *c = ctx;
    switch (c->lc->kind) {
    case 0:
        return c->lc->fn(out, tape, in[0], in[1]);
    case 1:
        return bgm_op_binary_crossentropy(out, tape, in[0], in[1], c->lc->logits);
    case 2:
        return bgm_op_categorical_crossentropy(out, tape, in[0], in[1], c->lc->logits);
    default:
        return bgm_op_sparse_categorical_crossentropy(out, tape, in[0], c->labels,
                                                      c->lc->logits);
    }
}

START_TEST(loss_gradients_match_finite_differences)
{
    const loss_case *lc = &loss_cases[_i];
    int64_t s[] = {4, 5}, ls[] = {4};
    const int32_t labels[4] = {0, 4, 2, 2};
    loss_ctx ctx = {lc, NULL};
    bgm_tensor *in[2], *lab = NULL;
    double err;
    BGM_ASSERT_OK(bgm_tensor_from_data(&lab, BGM_INT32, ls, 1, labels));
    ctx.labels = lab;
    /* Logits and regression values are spread out (no |p - t| near 0);
     * probabilities stay well inside the clipping range. */
    if (lc->logits || lc->kind == 0)
        in[0] = distinct(s, 2, -2.0f, 0.2f, 3);
    else
        in[0] = bgm_test_uniform(s, 2, 0.1f, 0.9f, 4);
    if (lc->kind == 0)
        in[1] = distinct(s, 2, -1.95f, 0.2f, 5);
    else
        /* soft targets exercise their gradient */
        in[1] = bgm_test_uniform(s, 2, 0.0f, 1.0f, 6);
    /* 1/p curves fast near 0.1: a smaller step keeps truncation error down. */
    err = bgm_test_gradcheck(call_loss, in, lc->kind == 3 ? 1 : 2, &ctx,
                             lc->kind == 0 || lc->logits ? 1e-2 : 1e-3);
    ck_assert_msg(err < GRAD_TOL, "%s: relative error %g", lc->name, err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
    bgm_tensor_free(lab);
}
END_TEST

START_TEST(losses_record_on_a_tape_as_scalars)
{
    int64_t s[] = {3, 2};
    bgm_tensor *p = bgm_test_randn(s, 2, 1), *t = bgm_test_randn(s, 2, 2), *l = NULL;
    bgm_tensor *g = NULL;
    bgm_tape *tape = NULL;
    float want[6];
    int i;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, p));
    BGM_ASSERT_OK(bgm_op_mse_loss(&l, tape, p, t));
    ck_assert_int_eq(bgm_tensor_ndim(l), 0);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l, &p, 1, &g));
    for (i = 0; i < 6; i++)
        want[i] = 2.0f * (data_of(p)[i] - data_of(t)[i]) / 6.0f;
    bgm_test_assert_close(g, s, 2, want, 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(p);
    bgm_tensor_free(t);
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

START_TEST(conv2d_refuses_bad_input)
{
    int64_t xs[] = {1, 3, 3, 2}, ks[] = {2, 2, 2, 4}, kbad[] = {2, 2, 3, 4}, kbig[] = {4, 4, 2, 1};
    int64_t s3[] = {3, 3, 2}, bs[] = {3};
    bgm_tensor *x = NULL, *k = NULL, *kc = NULL, *kb = NULL, *x3 = NULL, *b = NULL, *xi = NULL;
    bgm_tensor *y = (bgm_tensor *)&y;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&k, BGM_FLOAT32, ks, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&kc, BGM_FLOAT32, kbad, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&kb, BGM_FLOAT32, kbig, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&x3, BGM_FLOAT32, s3, 3));
    BGM_ASSERT_OK(bgm_tensor_zeros(&b, BGM_FLOAT32, bs, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 4));
    BGM_ASSERT_FAILS(bgm_op_conv2d(NULL, NULL, x, k, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, NULL, k, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "input 0 is NULL");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, NULL, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "input 1 is NULL");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, xi, k, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x3, k, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "(N, H, W, C), got shape (3, 3, 2)");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, x3, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "kernel must be (KH, KW, C, F)");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, kc, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "x (1, 3, 3, 2) has 2 channels but kernel (2, 2, 3, 4) "
                                  "expects 3");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, k, b, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "bias must be (4,)");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, kb, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "kernel (4, 4, 2, 1) is larger than the input x (1, 3, 3, 2)");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, k, NULL, 0, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "strides must be >= 1, got 0 x 1");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, k, NULL, 1, -2, BGM_PADDING_SAME),
                     BGM_E_INVALID, "strides must be >= 1");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, x, k, NULL, 1, 1, (bgm_padding)7),
                     BGM_E_INVALID, "unknown padding 7");
    bgm_tensor_free(x);
    bgm_tensor_free(k);
    bgm_tensor_free(kc);
    bgm_tensor_free(kb);
    bgm_tensor_free(x3);
    bgm_tensor_free(b);
    bgm_tensor_free(xi);
}
END_TEST

START_TEST(pooling_refuses_bad_input)
{
    int64_t xs[] = {1, 3, 3, 2}, s2[] = {3, 2}, empty[] = {1, 0, 3, 2};
    bgm_tensor *x = NULL, *x2 = NULL, *xi = NULL, *xe = NULL, *y = (bgm_tensor *)&y;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&x2, BGM_FLOAT32, s2, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 4));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xe, BGM_FLOAT32, empty, 4));
    BGM_ASSERT_FAILS(bgm_op_max_pool2d(NULL, NULL, x, 2, 2, 2, 2, BGM_PADDING_VALID),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_max_pool2d(&y, NULL, NULL, 2, 2, 2, 2, BGM_PADDING_VALID),
                     BGM_E_INVALID, "input 0 is NULL");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_avg_pool2d(&y, NULL, xi, 2, 2, 2, 2, BGM_PADDING_VALID),
                     BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_avg_pool2d(&y, NULL, x2, 2, 2, 2, 2, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "got shape (3, 2)");
    BGM_ASSERT_FAILS(bgm_op_max_pool2d(&y, NULL, x, 0, 2, 2, 2, BGM_PADDING_VALID),
                     BGM_E_INVALID, "pool size must be >= 1, got 0 x 2");
    BGM_ASSERT_FAILS(bgm_op_avg_pool2d(&y, NULL, x, 2, 2, 2, 0, BGM_PADDING_VALID),
                     BGM_E_INVALID, "strides must be >= 1");
    BGM_ASSERT_FAILS(bgm_op_max_pool2d(&y, NULL, x, 4, 2, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "pool 4x2 is larger than the input x (1, 3, 3, 2)");
    BGM_ASSERT_FAILS(bgm_op_max_pool2d(&y, NULL, x, 2, 2, 1, 1, (bgm_padding)-1),
                     BGM_E_INVALID, "unknown padding -1");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool2d(NULL, NULL, x), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool2d(&y, NULL, NULL), BGM_E_INVALID,
                     "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool2d(&y, NULL, xi), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool2d(&y, NULL, x2), BGM_E_SHAPE, "got shape (3, 2)");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool2d(&y, NULL, xe), BGM_E_SHAPE, "no pixels");
    bgm_tensor_free(x);
    bgm_tensor_free(x2);
    bgm_tensor_free(xi);
    bgm_tensor_free(xe);
}
END_TEST

START_TEST(batch_norm_refuses_bad_input)
{
    int64_t xs[] = {4, 3}, cs[] = {3}, c2[] = {2}, none[] = {0, 3};
    bgm_tensor *x = NULL, *p = NULL, *p2 = NULL, *pi = NULL, *xi = NULL, *s = NULL;
    bgm_tensor *xe = NULL, *y = (bgm_tensor *)&y;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 2));
    BGM_ASSERT_OK(bgm_tensor_ones(&p, BGM_FLOAT32, cs, 1));
    BGM_ASSERT_OK(bgm_tensor_ones(&p2, BGM_FLOAT32, c2, 1));
    BGM_ASSERT_OK(bgm_tensor_ones(&pi, BGM_INT32, cs, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&s, BGM_FLOAT32, NULL, 0));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xe, BGM_FLOAT32, none, 2));
    BGM_ASSERT_FAILS(bgm_op_batch_norm(NULL, NULL, x, p, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, NULL, p, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_INVALID, "input 0 is NULL");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, xi, p, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, s, NULL, NULL, NULL, NULL, 0.9f, 1e-3f, 1),
                     BGM_E_SHAPE, "got a scalar");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p2, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_SHAPE, "gamma must be (3,) for x (4, 3), got shape (2,)");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p2, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_SHAPE, "beta must be (3,)");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, p, p2, 0.9f, 1e-3f, 1),
                     BGM_E_SHAPE, "running_var must be (3,)");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, pi, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_DTYPE, "gamma must be float32");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, p, NULL, 0.9f, 1e-3f, 1),
                     BGM_E_INVALID, "both running_mean and running_var");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, NULL, NULL, 0.9f, 1e-3f, 0),
                     BGM_E_INVALID, "inference (training = 0) needs running_mean");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, p, p, 1.5f, 1e-3f, 1),
                     BGM_E_INVALID, "momentum must be in [0, 1], got 1.5");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, p, p, NAN, 1e-3f, 1),
                     BGM_E_INVALID, "momentum");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, x, p, p, p, p, 0.9f, 0.0f, 1),
                     BGM_E_INVALID, "epsilon must be > 0");
    BGM_ASSERT_FAILS(bgm_op_batch_norm(&y, NULL, xe, p, p, p, p, 0.9f, 1e-3f, 1),
                     BGM_E_SHAPE, "no elements");
    /* Running statistics were never touched by the failures. */
    bgm_test_assert_close(p, cs, 1, (const float[]){1, 1, 1}, 0);
    bgm_tensor_free(x);
    bgm_tensor_free(p);
    bgm_tensor_free(p2);
    bgm_tensor_free(pi);
    bgm_tensor_free(xi);
    bgm_tensor_free(s);
    bgm_tensor_free(xe);
}
END_TEST

START_TEST(dropout_refuses_bad_input)
{
    int64_t xs[] = {3};
    bgm_tensor *x = NULL, *xi = NULL, *y = (bgm_tensor *)&y;
    bgm_rng *rng = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, xs, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 1));
    BGM_ASSERT_OK(bgm_rng_create(&rng, 1));
    BGM_ASSERT_FAILS(bgm_op_dropout(NULL, NULL, x, 0.5f, rng, 1), BGM_E_INVALID,
                     "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, NULL, 0.5f, rng, 1), BGM_E_INVALID,
                     "input 0 is NULL");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, xi, 0.5f, rng, 1), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, x, 1.0f, rng, 1), BGM_E_INVALID,
                     "rate must be in [0, 1), got 1");
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, x, -0.1f, rng, 0), BGM_E_INVALID,
                     "rate must be in [0, 1)");
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, x, NAN, rng, 1), BGM_E_INVALID, "rate");
    BGM_ASSERT_FAILS(bgm_op_dropout(&y, NULL, x, 0.5f, NULL, 1), BGM_E_INVALID,
                     "'rng' is NULL");
    bgm_tensor_free(x);
    bgm_tensor_free(xi);
    bgm_rng_free(rng);
}
END_TEST

START_TEST(losses_refuse_bad_input)
{
    int64_t s[] = {2, 3}, s2[] = {3, 2}, ls[] = {2}, lbad[] = {3};
    bgm_tensor *p = NULL, *t = NULL, *t2 = NULL, *pi = NULL, *lab = NULL, *labf = NULL;
    bgm_tensor *lab3 = NULL, *sc = NULL, *y = (bgm_tensor *)&y;
    const int32_t over[2] = {0, 3}, under[2] = {-1, 0};
    pair_loss_fn pair[] = {bgm_op_mse_loss, bgm_op_mae_loss};
    int i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&p, BGM_FLOAT32, s, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_FLOAT32, s, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t2, BGM_FLOAT32, s2, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&pi, BGM_INT32, s, 2));
    BGM_ASSERT_OK(bgm_tensor_from_data(&lab, BGM_INT32, ls, 1, over));
    BGM_ASSERT_OK(bgm_tensor_zeros(&labf, BGM_FLOAT32, ls, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&lab3, BGM_INT32, lbad, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&sc, BGM_FLOAT32, NULL, 0));
    for (i = 0; i < 2; i++) {
        BGM_ASSERT_FAILS(pair[i](NULL, NULL, p, t), BGM_E_INVALID, "'out' is NULL");
        BGM_ASSERT_FAILS(pair[i](&y, NULL, NULL, t), BGM_E_INVALID, "input 0 is NULL");
        ck_assert_ptr_null(y);
        BGM_ASSERT_FAILS(pair[i](&y, NULL, p, NULL), BGM_E_INVALID, "input 1 is NULL");
        BGM_ASSERT_FAILS(pair[i](&y, NULL, pi, t), BGM_E_DTYPE, "int32");
        BGM_ASSERT_FAILS(pair[i](&y, NULL, p, t2), BGM_E_SHAPE,
                         "pred (2, 3) and target (3, 2) must have the same shape");
    }
    BGM_ASSERT_FAILS(bgm_op_binary_crossentropy(&y, NULL, p, t2, 1), BGM_E_SHAPE,
                     "pred (2, 3) and target (3, 2)");
    BGM_ASSERT_FAILS(bgm_op_binary_crossentropy(&y, NULL, p, pi, 0), BGM_E_DTYPE, "int32");
    BGM_ASSERT_FAILS(bgm_op_categorical_crossentropy(&y, NULL, p, t2, 1), BGM_E_SHAPE,
                     "pred (2, 3) and target (3, 2)");
    BGM_ASSERT_FAILS(bgm_op_categorical_crossentropy(&y, NULL, sc, sc, 1), BGM_E_SHAPE,
                     "class dimension");
    BGM_ASSERT_FAILS(bgm_op_categorical_crossentropy(NULL, NULL, p, t, 1), BGM_E_INVALID,
                     "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(NULL, NULL, p, lab, 1),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, NULL, lab, 1),
                     BGM_E_INVALID, "input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, p, NULL, 1),
                     BGM_E_INVALID, "'labels' is NULL");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, p, labf, 1),
                     BGM_E_DTYPE, "labels must be int32");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, p, lab3, 1),
                     BGM_E_SHAPE, "labels (3,) must have the shape of pred (2, 3)");
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, p, lab, 1),
                     BGM_E_RANGE, "row 1 has label 3, outside [0, 3)");
    BGM_ASSERT_OK(bgm_tensor_copy_from(lab, under, sizeof under));
    BGM_ASSERT_FAILS(bgm_op_sparse_categorical_crossentropy(&y, NULL, p, lab, 0),
                     BGM_E_RANGE, "row 0 has label -1");
    ck_assert_ptr_null(y);
    bgm_tensor_free(p);
    bgm_tensor_free(t);
    bgm_tensor_free(t2);
    bgm_tensor_free(pi);
    bgm_tensor_free(lab);
    bgm_tensor_free(labf);
    bgm_tensor_free(lab3);
    bgm_tensor_free(sc);
}
END_TEST

START_TEST(failed_ops_leave_the_tape_unrecorded)
{
    int64_t xs[] = {1, 3, 3, 2}, ks[] = {2, 2, 3, 1};
    bgm_tensor *x = bgm_test_randn(xs, 4, 1), *k = bgm_test_randn(ks, 4, 2);
    bgm_tensor *y = NULL, *loss = NULL, *g = NULL;
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, tape, x, k, NULL, 1, 1, BGM_PADDING_SAME),
                     BGM_E_SHAPE, "channels");
    ck_assert_ptr_null(y);
    BGM_ASSERT_OK(bgm_op_max_pool2d(&y, tape, x, 2, 2, 1, 1, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_op_mean_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &g));
    ck_assert_int_eq(bgm_tensor_numel(g), 18);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
}
END_TEST

Suite *suite_ops_nn(void)
{
    Suite *s = suite_create("ops_nn");
    TCase *conv = tcase_create("conv2d");
    TCase *pool = tcase_create("pooling");
    TCase *norm = tcase_create("batch_norm_dropout");
    TCase *loss = tcase_create("losses");
    TCase *bad = tcase_create("bad_input");
    int nconv = (int)(sizeof conv_cases / sizeof conv_cases[0]);
    int npool = (int)(sizeof pool_cases / sizeof pool_cases[0]);
    int nloss = (int)(sizeof loss_cases / sizeof loss_cases[0]);

    tcase_add_test(conv, conv2d_of_a_3x3_image_with_a_2x2_kernel_by_hand);
    tcase_add_loop_test(conv, conv2d_matches_a_naive_loop_for_channels_strides_and_padding,
                        0, nconv);
    tcase_add_test(conv, conv2d_splits_a_large_batch_into_groups_forward_and_backward);
    tcase_add_test(conv, conv2d_of_an_empty_batch_is_empty);
    tcase_add_loop_test(conv, conv2d_gradients_match_finite_differences, 0, nconv);
    BGM_TEST_SLOW(conv, 60);
    suite_add_tcase(s, conv);

    tcase_add_test(pool, pooling_a_4x4_image_by_hand);
    tcase_add_test(pool, pooling_keeps_channels_apart);
    tcase_add_test(pool, max_pool_gradient_goes_to_the_first_maximum);
    tcase_add_test(pool, global_avg_pool_averages_each_channel);
    tcase_add_loop_test(pool, pooling_gradients_match_finite_differences, 0, npool);
    tcase_add_test(pool, global_avg_pool_gradient_matches_finite_differences);
    BGM_TEST_SLOW(pool, 20);
    suite_add_tcase(s, pool);

    tcase_add_test(norm, batch_norm_training_normalizes_and_updates_running_stats);
    tcase_add_test(norm, batch_norm_inference_uses_running_stats_and_leaves_them);
    tcase_add_test(norm, batch_norm_running_stats_converge_to_the_data);
    tcase_add_loop_test(norm, batch_norm_gradients_match_finite_differences, 0, 3);
    tcase_add_test(norm, dropout_mask_is_one_uniform_draw_per_element);
    tcase_add_test(norm, dropout_keeps_the_expected_fraction_and_the_mean);
    tcase_add_test(norm, dropout_is_identity_in_inference_and_at_rate_zero);
    tcase_add_loop_test(norm, dropout_gradients_match_finite_differences, 0, 2);
    BGM_TEST_SLOW(norm, 20);
    suite_add_tcase(s, norm);

    tcase_add_test(loss, regression_losses_by_hand);
    tcase_add_test(loss, binary_crossentropy_by_hand_and_stable_for_large_logits);
    tcase_add_test(loss, categorical_crossentropy_by_hand);
    tcase_add_test(loss, sparse_labels_are_copied_onto_the_tape);
    tcase_add_loop_test(loss, loss_gradients_match_finite_differences, 0, nloss);
    tcase_add_test(loss, losses_record_on_a_tape_as_scalars);
    BGM_TEST_SLOW(loss, 20);
    suite_add_tcase(s, loss);

    tcase_add_test(bad, conv2d_refuses_bad_input);
    tcase_add_test(bad, pooling_refuses_bad_input);
    tcase_add_test(bad, batch_norm_refuses_bad_input);
    tcase_add_test(bad, dropout_refuses_bad_input);
    tcase_add_test(bad, losses_refuse_bad_input);
    tcase_add_test(bad, failed_ops_leave_the_tape_unrecorded);
    suite_add_tcase(s, bad);
    return s;
}
