/* Layer / RMS normalization, the GELU tanh and SiLU activations and masked
 * global average pooling over time: ops (values, finite-difference
 * gradients, bad input) and layers (build errors, configs, model files). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define GRAD_TOL 1e-3

static float *data_of(const bgm_tensor *t) { return bgm_tensor_data(t); }

/* ---- layer norm / rms norm ops ------------------------------------------ */

START_TEST(layer_norm_normalizes_each_row)
{
    int64_t xs[] = {2, 4}, ds[] = {4};
    bgm_tensor *x = bgm_test_tensor(xs, 2, (const float[]){1, 2, 3, 4, 10, 10, 10, 14});
    bgm_tensor *gamma = bgm_test_tensor(ds, 1, (const float[]){1, 2, 0.5f, -1});
    bgm_tensor *beta = bgm_test_tensor(ds, 1, (const float[]){0, 1, 0, 3}), *y = NULL;
    /* row 0: mean 2.5, var 1.25; row 1: mean 11, var 3 */
    double r0 = 1.0 / sqrt(1.25 + 1e-3), r1 = 1.0 / sqrt(3.0 + 1e-3);
    float want[8] = {(float)(-1.5 * r0), (float)(-0.5 * r0 * 2 + 1), (float)(0.5 * r0 * 0.5),
                     (float)(-1.5 * r0 + 3), (float)(-1 * r1), (float)(-1 * r1 * 2 + 1),
                     (float)(-1 * r1 * 0.5), (float)(-3 * r1 + 3)};
    BGM_ASSERT_OK(bgm_op_layer_norm(&y, NULL, x, gamma, beta, 1e-3f));
    bgm_test_assert_close(y, xs, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(gamma);
    bgm_tensor_free(beta);
}
END_TEST

START_TEST(rms_norm_divides_by_the_root_mean_square)
{
    int64_t xs[] = {1, 4}, ds[] = {4};
    bgm_tensor *x = bgm_test_tensor(xs, 2, (const float[]){1, 2, 3, -4});
    bgm_tensor *scale = bgm_test_tensor(ds, 1, (const float[]){1, 2, 1, 0.5f}), *y = NULL;
    double r = 1.0 / sqrt(7.5 + 1e-6);
    BGM_ASSERT_OK(bgm_op_rms_norm(&y, NULL, x, scale, 1e-6f));
    bgm_test_assert_close(y, xs, 2,
                          (const float[]){(float)r, (float)(4 * r), (float)(3 * r),
                                          (float)(-2 * r)},
                          1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(scale);
}
END_TEST

/* Long rows (beyond the 16 summing lanes) with a large offset: the two-pass
 * variance keeps its digits where E[x^2] - E[x]^2 would lose them all. */
START_TEST(layer_norm_is_exact_on_long_offset_rows)
{
    int64_t xs[] = {3, 37};
    bgm_tensor *x = bgm_test_randn(xs, 2, 5), *y = NULL;
    float *xv = data_of(x);
    const float *yv;
    int64_t i, j;
    for (i = 0; i < 3 * 37; i++)
        xv[i] = 1000.0f + xv[i];
    BGM_ASSERT_OK(bgm_op_layer_norm(&y, NULL, x, NULL, NULL, 1e-5f));
    yv = data_of(y);
    for (i = 0; i < 3; i++) {
        double mean = 0.0, var = 0.0;
        for (j = 0; j < 37; j++)
            mean += xv[i * 37 + j];
        mean /= 37;
        for (j = 0; j < 37; j++)
            var += (xv[i * 37 + j] - mean) * (xv[i * 37 + j] - mean);
        var /= 37;
        for (j = 0; j < 37; j++) {
            double want = (xv[i * 37 + j] - mean) / sqrt(var + 1e-5);
            ck_assert_msg(fabs(yv[i * 37 + j] - want) < 2e-4 * (1 + fabs(want)),
                          "row %lld col %lld: %g vs %g", (long long)i, (long long)j,
                          yv[i * 37 + j], want);
        }
    }
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

typedef struct norm_case {
    int rms, with_gamma, with_beta;
    float eps;
    int64_t shape[3];
    int ndim;
} norm_case;

static const norm_case norm_cases[] = {
    {0, 1, 1, 1e-3f, {3, 4, 5}, 3}, {0, 1, 0, 1e-3f, {2, 37}, 2},
    {0, 0, 1, 1e-3f, {4, 6}, 2},    {0, 0, 0, 0.5f, {2, 3, 17}, 3},
    {1, 1, 0, 1e-6f, {3, 4, 5}, 3}, {1, 0, 0, 0.5f, {2, 37}, 2},
    {1, 1, 0, 1e-6f, {1, 33}, 2},
};

static bgm_status call_norm(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                            void *ctx)
{
    const norm_case *nc = ctx;
    const bgm_tensor *gamma = nc->with_gamma ? in[1] : NULL;
    const bgm_tensor *beta = nc->with_beta ? in[nc->with_gamma ? 2 : 1] : NULL;
    if (nc->rms)
        return bgm_op_rms_norm(out, tape, in[0], gamma, nc->eps);
    return bgm_op_layer_norm(out, tape, in[0], gamma, beta, nc->eps);
}

START_TEST(norm_gradients_match_finite_differences)
{
    const norm_case *nc = &norm_cases[_i];
    int64_t ds[1] = {nc->shape[nc->ndim - 1]};
    bgm_tensor *in[3];
    int n = 0, i;
    double err;
    in[n++] = bgm_test_randn(nc->shape, nc->ndim, 80 + (uint64_t)_i);
    if (nc->with_gamma)
        in[n++] = bgm_test_uniform(ds, 1, 0.5f, 2.0f, 90);
    if (nc->with_beta)
        in[n++] = bgm_test_randn(ds, 1, 91);
    err = bgm_test_gradcheck(call_norm, in, n, (void *)nc, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    for (i = 0; i < n; i++)
        bgm_tensor_free(in[i]);
}
END_TEST

/* Many rows: backward splits them into per-thread partial sums; the weight
 * gradients still equal the sums over all rows (a double reference). */
START_TEST(norm_weight_gradients_sum_every_row_of_a_large_batch)
{
    int64_t xs[] = {6000, 8}, ds[] = {8};
    bgm_tensor *x = bgm_test_randn(xs, 2, 7);
    bgm_tensor *gamma = bgm_test_uniform(ds, 1, 0.5f, 2.0f, 8);
    bgm_tensor *beta = bgm_test_randn(ds, 1, 9), *y = NULL, *loss = NULL, *g[2] = {NULL, NULL};
    bgm_tape *tape = NULL;
    double want_g[8] = {0}, want_b[8] = {0};
    const float *xv = data_of(x), *gv, *bv;
    int64_t i, j;
    bgm_set_num_threads(2);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(gamma, 1));
    BGM_ASSERT_OK(bgm_tensor_set_requires_grad(beta, 1));
    BGM_ASSERT_OK(bgm_op_layer_norm(&y, tape, x, gamma, beta, 1e-3f));
    BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, (bgm_tensor *[]){gamma, beta}, 2, g));
    /* d(sum y)/d gamma = sum of xhat, d/d beta = rows */
    for (i = 0; i < 6000; i++) {
        double mean = 0.0, var = 0.0;
        for (j = 0; j < 8; j++)
            mean += xv[i * 8 + j];
        mean /= 8;
        for (j = 0; j < 8; j++)
            var += (xv[i * 8 + j] - mean) * (xv[i * 8 + j] - mean);
        var /= 8;
        for (j = 0; j < 8; j++) {
            want_g[j] += (xv[i * 8 + j] - mean) / sqrt(var + 1e-3);
            want_b[j] += 1.0;
        }
    }
    gv = data_of(g[0]);
    bv = data_of(g[1]);
    for (j = 0; j < 8; j++) {
        ck_assert_msg(fabs(gv[j] - want_g[j]) < 1e-2, "gamma %lld: %g vs %g", (long long)j,
                      gv[j], want_g[j]);
        ck_assert_msg(bv[j] == 6000.0f, "beta %lld: %g", (long long)j, bv[j]);
    }
    bgm_tensor_free(g[0]);
    bgm_tensor_free(g[1]);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(gamma);
    bgm_tensor_free(beta);
    bgm_set_num_threads(0);
}
END_TEST

/* No rows, or rows of no features: empty results, zero weight gradients. */
START_TEST(norm_ops_take_empty_inputs)
{
    static const int64_t shapes[2][2] = {{0, 4}, {3, 0}};
    int k;
    for (k = 0; k < 2; k++) {
        int64_t ds[1] = {shapes[k][1]};
        bgm_tensor *x = NULL, *gamma = NULL, *y = NULL, *loss = NULL, *g = NULL;
        bgm_tape *tape = NULL;
        BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_FLOAT32, shapes[k], 2));
        BGM_ASSERT_OK(bgm_tensor_ones(&gamma, BGM_FLOAT32, ds, 1));
        BGM_ASSERT_OK(bgm_tensor_set_requires_grad(gamma, 1));
        BGM_ASSERT_OK(bgm_tape_create(&tape));
        BGM_ASSERT_OK(bgm_op_layer_norm(&y, tape, x, gamma, NULL, 1e-3f));
        ck_assert_int_eq(bgm_tensor_numel(y), 0);
        BGM_ASSERT_OK(bgm_op_sum_all(&loss, tape, y));
        BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &gamma, 1, &g));
        ck_assert_int_eq(bgm_tensor_numel(g), ds[0]);
        if (ds[0] > 0)
            ck_assert_float_eq(data_of(g)[0], 0.0f);
        bgm_tensor_free(g);
        bgm_tape_free(tape);
        bgm_tensor_free(x);
        bgm_tensor_free(gamma);
    }
}
END_TEST

START_TEST(norm_ops_reject_bad_input)
{
    int64_t xs[] = {2, 3}, ds[] = {3}, d4[] = {4};
    bgm_tensor *x = bgm_test_randn(xs, 2, 1), *g = bgm_test_randn(ds, 1, 2);
    bgm_tensor *g4 = bgm_test_randn(d4, 1, 3), *xi = NULL, *gi = NULL, *scalar = NULL;
    bgm_tensor *y = x;
    BGM_ASSERT_OK(bgm_tensor_zeros(&xi, BGM_INT32, xs, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&gi, BGM_INT32, ds, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&scalar, BGM_FLOAT32, NULL, 0));
    BGM_ASSERT_FAILS(bgm_op_layer_norm(NULL, NULL, x, g, g, 1e-3f), BGM_E_INVALID,
                     "bgm_op_layer_norm: argument 'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, NULL, g, g, 1e-3f), BGM_E_INVALID,
                     "bgm_op_layer_norm: input 0 is NULL");
    ck_assert_ptr_null(y);
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, xi, NULL, NULL, 1e-3f), BGM_E_DTYPE,
                     "bgm_op_layer_norm");
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, scalar, NULL, NULL, 1e-3f), BGM_E_SHAPE,
                     "bgm_op_layer_norm: x must have a feature axis");
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, x, NULL, NULL, 0.0f), BGM_E_INVALID,
                     "bgm_op_layer_norm: epsilon must be finite and > 0, got 0");
    BGM_ASSERT_FAILS(bgm_op_rms_norm(&y, NULL, x, NULL, -1.0f), BGM_E_INVALID,
                     "bgm_op_rms_norm: epsilon must be finite and > 0, got -1");
    BGM_ASSERT_FAILS(bgm_op_rms_norm(&y, NULL, x, NULL, INFINITY), BGM_E_INVALID,
                     "got inf");
    BGM_ASSERT_FAILS(bgm_op_rms_norm(&y, NULL, x, NULL, NAN), BGM_E_INVALID, "got nan");
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, x, g4, NULL, 1e-3f), BGM_E_SHAPE,
                     "bgm_op_layer_norm: gamma must be (3,) for x (2, 3), got shape (4,)");
    BGM_ASSERT_FAILS(bgm_op_layer_norm(&y, NULL, x, g, g4, 1e-3f), BGM_E_SHAPE,
                     "beta must be (3,)");
    BGM_ASSERT_FAILS(bgm_op_rms_norm(&y, NULL, x, g4, 1e-3f), BGM_E_SHAPE,
                     "bgm_op_rms_norm: scale must be (3,)");
    BGM_ASSERT_FAILS(bgm_op_rms_norm(&y, NULL, x, gi, 1e-3f), BGM_E_DTYPE,
                     "bgm_op_rms_norm: scale must be float32");
    ck_assert_ptr_null(y);
    bgm_tensor_free(x);
    bgm_tensor_free(g);
    bgm_tensor_free(g4);
    bgm_tensor_free(xi);
    bgm_tensor_free(gi);
    bgm_tensor_free(scalar);
}
END_TEST

/* ---- activations ---------------------------------------------------------- */

static void check_values(bgm_status (*fn)(bgm_tensor **, bgm_tape *, const bgm_tensor *),
                         const float *x, const float *want, int64_t n, double tol)
{
    bgm_tensor *t = bgm_test_tensor(&n, 1, x), *y = NULL;
    BGM_ASSERT_OK(fn(&y, NULL, t));
    bgm_test_assert_close(y, &n, 1, want, tol);
    bgm_tensor_free(y);
    bgm_tensor_free(t);
}

START_TEST(gelu_tanh_and_silu_values)
{
    /* torch.nn.functional.gelu(x, approximate='tanh') and silu(x) in float64 */
    static const float x[6] = {-6, -3, -1, 0, 0.5f, 3};
    check_values(bgm_op_gelu_tanh, x,
                 (const float[]){-8.43964898e-11f, -0.00363739208f, -0.158808009f, 0,
                                 0.34571401f, 2.99636261f},
                 6, 1e-6);
    check_values(bgm_op_silu, x,
                 (const float[]){-0.0148357389f, -0.14227762f, -0.268941421f, 0,
                                 0.311229666f, 2.85772238f},
                 6, 1e-6);
    /* far tails: finite, and tend to 0 and to x */
    check_values(bgm_op_silu, (const float[]){-100, 100},
                 (const float[]){0, 100}, 2, 1e-6);
    check_values(bgm_op_gelu_tanh, (const float[]){-100, 100},
                 (const float[]){0, 100}, 2, 1e-6);
}
END_TEST

START_TEST(gelu_tanh_and_silu_propagate_nan)
{
    int64_t n = 1;
    bgm_tensor *x = bgm_test_tensor(&n, 1, (const float[]){NAN}), *y = NULL;
    BGM_ASSERT_OK(bgm_op_silu(&y, NULL, x));
    ck_assert(isnan(data_of(y)[0]));
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_op_gelu_tanh(&y, NULL, x));
    ck_assert(isnan(data_of(y)[0]));
    bgm_tensor_free(y);
    bgm_tensor_free(x);
}
END_TEST

static bgm_status call_act(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                           void *ctx)
{
    return ctx ? bgm_op_silu(out, tape, in[0]) : bgm_op_gelu_tanh(out, tape, in[0]);
}

START_TEST(gelu_tanh_and_silu_gradients_match_finite_differences)
{
    int64_t shape[] = {5, 7};
    bgm_tensor *x = bgm_test_randn(shape, 2, 33);
    double err = bgm_test_gradcheck(call_act, &x, 1, NULL, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "gelu_tanh: relative error %g", err);
    err = bgm_test_gradcheck(call_act, &x, 1, (void *)1, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "silu: relative error %g", err);
    bgm_tensor_free(x);
}
END_TEST

START_TEST(new_activations_reject_null_and_int32)
{
    int64_t s2[] = {2};
    bgm_tensor *i32 = NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&i32, BGM_INT32, s2, 1));
    BGM_ASSERT_FAILS(bgm_op_silu(&y, NULL, NULL), BGM_E_INVALID,
                     "bgm_op_silu: input 0 is NULL");
    BGM_ASSERT_FAILS(bgm_op_gelu_tanh(&y, NULL, i32), BGM_E_DTYPE, "bgm_op_gelu_tanh");
    bgm_tensor_free(i32);
}
END_TEST

/* Dense with each new activation equals Dense then the op. */
START_TEST(dense_and_activation_layers_take_gelu_tanh_and_silu)
{
    static const bgm_activation acts[2] = {BGM_ACT_GELU_TANH, BGM_ACT_SILU};
    static const char *const names[2] = {"\"activation\": \"gelu_tanh\"",
                                         "\"activation\": \"silu\""};
    int64_t in_shape[] = {3}, xs[] = {4, 3};
    bgm_tensor *x = bgm_test_randn(xs, 2, 4), *y = NULL, *lin = NULL, *want = NULL;
    bgm_model *m = NULL, *plain = NULL;
    char cfg[512];
    int k;
    for (k = 0; k < 2; k++) {
        BGM_ASSERT_OK(bgm_model_create(&m, in_shape, 1, 3));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(5, acts[k])));
        BGM_ASSERT_OK(bgm_model_create(&plain, in_shape, 1, 3));
        BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_dense(5, BGM_ACT_LINEAR)));
        BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_activation(acts[k])));
        BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
        BGM_ASSERT_OK(bgm_model_predict(&lin, plain, x, 0));
        ck_assert_int_eq(memcmp(data_of(y), data_of(lin), 20 * sizeof(float)), 0);
        BGM_ASSERT_OK(k ? bgm_op_silu(&want, NULL, lin) : bgm_op_gelu_tanh(&want, NULL, lin));
        BGM_ASSERT_OK(bgm_layer_config_string(cfg, sizeof cfg, NULL, bgm_model_layer(m, 0)));
        ck_assert_msg(strstr(cfg, names[k]) != NULL, "%s", cfg);
        bgm_tensor_free(y);
        bgm_tensor_free(lin);
        bgm_tensor_free(want);
        bgm_model_free(m);
        bgm_model_free(plain);
    }
    bgm_tensor_free(x);
}
END_TEST

/* ---- global average pooling over time -------------------------------------- */

START_TEST(global_avg_pool1d_averages_unmasked_steps)
{
    int64_t xs[] = {2, 3, 2}, ms[] = {2, 3}, ys[] = {2, 2}, ks[] = {2, 1, 2};
    bgm_tensor *x = bgm_test_tensor(xs, 3, (const float[]){1, 2, 3, 4, 5, 6,
                                                           7, 8, 9, 10, 11, 12});
    bgm_tensor *mask = bgm_test_tensor(ms, 2, (const float[]){1, 1, 0, 0, 0, 0});
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_op_global_avg_pool1d(&y, NULL, x, NULL, 0));
    bgm_test_assert_close(y, ys, 2, (const float[]){3, 4, 9, 10}, 1e-6);
    bgm_tensor_free(y);
    /* the second sequence is all padding: zeros */
    BGM_ASSERT_OK(bgm_op_global_avg_pool1d(&y, NULL, x, mask, 1));
    bgm_test_assert_close(y, ks, 3, (const float[]){2, 3, 0, 0}, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_tensor_free(mask);
}
END_TEST

typedef struct pool_ctx {
    const bgm_tensor *mask;
    int keepdims;
} pool_ctx;

static bgm_status call_pool1d(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    const pool_ctx *pc = ctx;
    return bgm_op_global_avg_pool1d(out, tape, in[0], pc->mask, pc->keepdims);
}

START_TEST(global_avg_pool1d_gradients_match_finite_differences)
{
    int64_t xs[] = {3, 5, 4}, ms[] = {3, 5};
    bgm_tensor *x = bgm_test_randn(xs, 3, 12);
    bgm_tensor *mask = bgm_test_tensor(ms, 2, (const float[]){1, 1, 1, 0, 0, 1, 0, 1, 0, 1,
                                                              0, 0, 0, 0, 0});
    pool_ctx pcs[3] = {{NULL, 0}, {mask, 0}, {mask, 1}};
    int k;
    for (k = 0; k < 3; k++) {
        double err = bgm_test_gradcheck(call_pool1d, &x, 1, &pcs[k], 1e-2);
        ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", k, err);
    }
    bgm_tensor_free(x);
    bgm_tensor_free(mask);
}
END_TEST

START_TEST(global_avg_pool1d_rejects_bad_input)
{
    int64_t xs[] = {2, 3, 4}, x2[] = {2, 3}, m23[] = {2, 4};
    bgm_tensor *x = bgm_test_randn(xs, 3, 1), *flat = bgm_test_randn(x2, 2, 2);
    bgm_tensor *bad = bgm_test_randn(m23, 2, 3), *mi = NULL, *empty = NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&mi, BGM_INT32, x2, 2));
    BGM_ASSERT_OK(bgm_tensor_zeros(&empty, BGM_FLOAT32, (int64_t[]){2, 0, 4}, 3));
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool1d(&y, NULL, flat, NULL, 0), BGM_E_SHAPE,
                     "bgm_op_global_avg_pool1d: x must be (N, T, C), got shape (2, 3)");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool1d(&y, NULL, empty, NULL, 0), BGM_E_SHAPE,
                     "has no steps to average");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool1d(&y, NULL, x, bad, 0), BGM_E_SHAPE,
                     "mask must be (2, 3) for x (2, 3, 4), got shape (2, 4)");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool1d(&y, NULL, x, mi, 0), BGM_E_DTYPE,
                     "bgm_op_global_avg_pool1d: mask must be float32");
    BGM_ASSERT_FAILS(bgm_op_global_avg_pool1d(&y, NULL, NULL, NULL, 0), BGM_E_INVALID,
                     "input 0 is NULL");
    ck_assert_ptr_null(y);
    bgm_tensor_free(x);
    bgm_tensor_free(flat);
    bgm_tensor_free(bad);
    bgm_tensor_free(mi);
    bgm_tensor_free(empty);
}
END_TEST

/* ---- layers ------------------------------------------------------------------ */

/* Builds a graph input of shape in (ndim) and calls l on it: the call's status. */
static bgm_status build_on(bgm_layer *l, const int64_t *in, int ndim, bgm_dtype dtype)
{
    bgm_graph *g = NULL;
    bgm_node *x = NULL, *y = NULL;
    bgm_status s;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&x, g, in, ndim, dtype, NULL));
    s = bgm_layer_call(&y, l, &x, 1);
    bgm_graph_free(g);
    return s;
}

START_TEST(norm_layers_normalize_the_last_axis_only)
{
    int64_t seq[] = {5, 8};
    bgm_layer *l = bgm_layer_layer_norm();
    BGM_ASSERT_OK(bgm_layer_set_axis(l, 1));
    BGM_ASSERT_FAILS(build_on(l, seq, 2, BGM_FLOAT32), BGM_E_SHAPE,
                     "(LayerNormalization): normalizes over the last axis only (axis -1 "
                     "or 2), got axis 1 for input (None, 5, 8)");
    l = bgm_layer_rms_norm();
    BGM_ASSERT_OK(bgm_layer_set_axis(l, 0));
    BGM_ASSERT_FAILS(build_on(l, seq, 2, BGM_FLOAT32), BGM_E_SHAPE,
                     "(RMSNormalization): axis 0 is the batch axis of input (None, 5, 8)");
    l = bgm_layer_layer_norm();
    BGM_ASSERT_OK(bgm_layer_set_axis(l, -4));
    BGM_ASSERT_FAILS(build_on(l, seq, 2, BGM_FLOAT32), BGM_E_SHAPE,
                     "axis -4 is out of range for input (None, 5, 8)");
    l = bgm_layer_layer_norm();
    BGM_ASSERT_FAILS(build_on(l, seq, 2, BGM_INT32), BGM_E_DTYPE,
                     "LayerNormalization takes float32 values");
    /* the last axis by its number works */
    l = bgm_layer_layer_norm();
    BGM_ASSERT_OK(bgm_layer_set_axis(l, 2));
    BGM_ASSERT_OK(build_on(l, seq, 2, BGM_FLOAT32));
    l = bgm_layer_global_avg_pool1d();
    BGM_ASSERT_FAILS(build_on(l, (int64_t[]){8}, 1, BGM_FLOAT32), BGM_E_SHAPE,
                     "(GlobalAveragePooling1D): expected input of 2 dimensions (steps, "
                     "channels), got (None, 8)");
}
END_TEST

static void assert_config(const bgm_layer *l, const char *want)
{
    char buf[1024];
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, l));
    ck_assert_msg(strstr(buf, want) != NULL, "config %s lacks %s", buf, want);
}

START_TEST(norm_layer_setters_check_kind_and_value)
{
    bgm_layer *ln = bgm_layer_layer_norm(), *rms = bgm_layer_rms_norm();
    bgm_layer *dense = bgm_layer_dense(3, BGM_ACT_RELU), *pool = bgm_layer_global_avg_pool1d();
    bgm_layer *concat = bgm_layer_concatenate(-1);
    BGM_ASSERT_FAILS(bgm_layer_set_epsilon(ln, 0.0f), BGM_E_INVALID,
                     "bgm_layer_set_epsilon: epsilon = 0, expected a finite value > 0");
    BGM_ASSERT_FAILS(bgm_layer_set_epsilon(rms, INFINITY), BGM_E_INVALID, "epsilon = inf");
    BGM_ASSERT_FAILS(bgm_layer_set_center(rms, 0), BGM_E_UNSUPPORTED,
                     "a RMSNormalization layer has no center");
    BGM_ASSERT_FAILS(bgm_layer_set_scale(dense, 0), BGM_E_UNSUPPORTED,
                     "a Dense layer has no scale");
    BGM_ASSERT_FAILS(bgm_layer_set_keepdims(ln, 1), BGM_E_UNSUPPORTED,
                     "has no keepdims");
    BGM_ASSERT_FAILS(bgm_layer_set_axis(dense, -1), BGM_E_UNSUPPORTED, "has no axis");
    BGM_ASSERT_FAILS(bgm_layer_set_axis(ln, 9), BGM_E_INVALID, "axis = 9");
    BGM_ASSERT_OK(bgm_layer_set_keepdims(pool, 1));
    BGM_ASSERT_OK(bgm_layer_set_axis(concat, 1));
    assert_config(concat, "\"axis\": 1");
    BGM_ASSERT_OK(bgm_layer_set_center(ln, 0));
    bgm_layer_free(ln);
    bgm_layer_free(rms);
    bgm_layer_free(dense);
    bgm_layer_free(pool);
    bgm_layer_free(concat);
}
END_TEST

START_TEST(norm_layer_configs_are_keras_configs)
{
    bgm_layer *ln = bgm_layer_layer_norm(), *rms = bgm_layer_rms_norm();
    bgm_layer *pool = bgm_layer_global_avg_pool1d();
    BGM_ASSERT_OK(bgm_layer_set_scale(ln, 0));
    assert_config(ln, "{\"class_name\": \"LayerNormalization\"");
    assert_config(ln, "\"axis\": -1, \"epsilon\": 0.00100000005, \"center\": true, "
                      "\"scale\": false");
    assert_config(rms, "{\"class_name\": \"RMSNormalization\"");
    assert_config(rms, "\"axis\": -1, \"epsilon\": 9.99999997e-07");
    assert_config(pool, "\"keepdims\": false");
    bgm_layer_free(ln);
    bgm_layer_free(rms);
    bgm_layer_free(pool);
}
END_TEST

/* Embedding(mask_zero) -> LayerNorm -> Activation(gelu_tanh) -> RMSNorm ->
 * Activation(silu) -> LayerNorm -> GlobalAveragePooling1D -> Dense(gelu_tanh)
 * -> Dense(silu): the padding mask reaches the pooling through the norms
 * (Dense drops masks in this library, so it comes after the pooling). */
static bgm_model *text_model(void)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in = NULL, *h;
    bgm_layer *emb = bgm_layer_embedding(20, 8), *ln = bgm_layer_layer_norm();
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(emb, 1));
    BGM_ASSERT_OK(bgm_layer_set_center(ln, 0));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&in, g, (int64_t[]){6}, 1, BGM_INT32, "ids"));
    h = bgm_test_call(emb, &in, 1);
    h = bgm_test_call(ln, &h, 1);
    h = bgm_test_call(bgm_layer_activation(BGM_ACT_GELU_TANH), &h, 1);
    h = bgm_test_call(bgm_layer_rms_norm(), &h, 1);
    h = bgm_test_call(bgm_layer_activation(BGM_ACT_SILU), &h, 1);
    h = bgm_test_call(bgm_layer_layer_norm(), &h, 1);
    h = bgm_test_call(bgm_layer_global_avg_pool1d(), &h, 1);
    h = bgm_test_call(bgm_layer_dense(4, BGM_ACT_GELU_TANH), &h, 1);
    h = bgm_test_call(bgm_layer_dense(2, BGM_ACT_SILU), &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &h, 1, 17));
    bgm_graph_free(g);
    return m;
}

static bgm_tensor *ids_batch(const int32_t *v, int64_t n)
{
    bgm_tensor *t = NULL;
    int64_t shape[2] = {n, 6};
    BGM_ASSERT_OK(bgm_tensor_zeros(&t, BGM_INT32, shape, 2));
    memcpy(bgm_tensor_data(t), v, (size_t)(n * 6) * sizeof *v);
    return t;
}

START_TEST(padding_does_not_change_the_pooled_result)
{
    /* the same tokens with more padding after them: the same output */
    bgm_model *m = text_model();
    bgm_tensor *a = ids_batch((const int32_t[]){3, 7, 0, 0, 0, 0, 3, 7, 5, 0, 0, 0}, 2);
    bgm_tensor *b = ids_batch((const int32_t[]){3, 7, 0, 0, 0, 0, 3, 7, 5, 0, 0, 0}, 2);
    bgm_tensor *ya = NULL, *yb = NULL;
    int32_t *bv = bgm_tensor_data(b);
    bv[2] = 9; /* a token where a had padding changes row 0 only */
    bv[3] = 0;
    BGM_ASSERT_OK(bgm_model_predict(&ya, m, a, 0));
    BGM_ASSERT_OK(bgm_model_predict(&yb, m, b, 0));
    ck_assert(memcmp(data_of(ya), data_of(yb), 2 * sizeof(float)) != 0);
    ck_assert_int_eq(memcmp(data_of(ya) + 2, data_of(yb) + 2, 2 * sizeof(float)), 0);
    bgm_tensor_free(ya);
    bgm_tensor_free(yb);
    bgm_tensor_free(b);
    /* padded steps hold other values than real ones, yet the mean skips them:
     * a sequence of only token 3 equals one of token 3 then padding */
    b = ids_batch((const int32_t[]){3, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3}, 2);
    BGM_ASSERT_OK(bgm_model_predict(&yb, m, b, 0));
    ck_assert_msg(fabsf(data_of(yb)[0] - data_of(yb)[2]) < 1e-5f &&
                      fabsf(data_of(yb)[1] - data_of(yb)[3]) < 1e-5f,
                  "(%g, %g) vs (%g, %g)", data_of(yb)[0], data_of(yb)[1], data_of(yb)[2],
                  data_of(yb)[3]);
    bgm_tensor_free(yb);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_model_free(m);
}
END_TEST

START_TEST(a_model_with_norm_layers_round_trips_bit_exact)
{
    char path[512];
    bgm_model *m = text_model(), *back = NULL;
    bgm_tensor *ids = ids_batch((const int32_t[]){1, 4, 9, 0, 0, 0, 2, 2, 19, 7, 5, 1}, 2);
    bgm_tensor *y = NULL, *z = NULL;
    float *w;
    int i, j;
    /* weights away from their initial ones and zeros */
    for (i = 0; i < bgm_model_num_weights(m); i++) {
        bgm_tensor *t = bgm_model_weight(m, i);
        w = bgm_tensor_data(t);
        for (j = 0; j < bgm_tensor_numel(t); j++)
            w[j] += 0.01f * (float)((i * 7 + j) % 13);
    }
    bgm_test_tmpdir_create("norm_layers");
    snprintf(path, sizeof path, "%s", bgm_test_path("m.bgm"));
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_num_weights(back), bgm_model_num_weights(m));
    for (i = 0; i < bgm_model_num_weights(m); i++) {
        const bgm_tensor *a = bgm_model_weight(m, i), *b = bgm_model_weight(back, i);
        ck_assert_int_eq(bgm_tensor_numel(a), bgm_tensor_numel(b));
        ck_assert_int_eq(memcmp(bgm_tensor_data(a), bgm_tensor_data(b),
                                bgm_tensor_nbytes(a)), 0);
    }
    for (i = 0; i < bgm_model_num_layers(m); i++) {
        char ca[1024], cb[1024];
        BGM_ASSERT_OK(bgm_layer_config_string(ca, sizeof ca, NULL, bgm_model_layer(m, i)));
        BGM_ASSERT_OK(bgm_layer_config_string(cb, sizeof cb, NULL, bgm_model_layer(back, i)));
        ck_assert_str_eq(ca, cb);
    }
    BGM_ASSERT_OK(bgm_model_predict(&y, m, ids, 0));
    BGM_ASSERT_OK(bgm_model_predict(&z, back, ids, 0));
    ck_assert_int_eq(memcmp(data_of(y), data_of(z), bgm_tensor_nbytes(y)), 0);
    bgm_tensor_free(y);
    bgm_tensor_free(z);
    bgm_tensor_free(ids);
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

/* A language model of pointwise layers only (Embedding, LayerNorm, Dense
 * with GELU-tanh, RMSNorm, Dense with SiLU, Dense): the decoder keeps its
 * cache and its logits, one token at a time, are predict's on the window. */
START_TEST(norm_layers_decode_position_by_position)
{
    static const int32_t ids[8] = {1, 4, 2, 2, 5, 0, 3, 1};
    bgm_model *m = NULL;
    bgm_decoder *d = NULL;
    bgm_tensor *x = NULL, *ref = NULL, *y = NULL;
    int64_t t, k;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){8}, 1, 11));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(6, 8)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_layer_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(12, BGM_ACT_GELU_TANH)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_rms_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_SILU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(6, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_tensor_from_data(&x, BGM_INT32, (int64_t[]){1, 8}, 2, ids));
    BGM_ASSERT_OK(bgm_model_predict(&ref, m, x, 1));
    BGM_ASSERT_OK(bgm_decoder_create(&d, m, 1));
    ck_assert_int_eq(bgm_decoder_uses_cache(d), 1);
    for (t = 0; t < 8; t++) {
        const float *want = (const float *)bgm_tensor_data(ref) + t * 6;
        BGM_ASSERT_OK(bgm_decoder_append(&y, d, &ids[t], 1));
        for (k = 0; k < 6; k++)
            ck_assert_msg(fabsf(data_of(y)[k] - want[k]) <= 1e-5f * (fabsf(want[k]) + 1e-3f),
                          "position %lld logit %lld: %g vs %g", (long long)t, (long long)k,
                          data_of(y)[k], want[k]);
        bgm_tensor_free(y);
    }
    bgm_decoder_free(d);
    bgm_tensor_free(ref);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

Suite *suite_ops_norm_layers(void)
{
    Suite *s = suite_create("ops_norm_layers");
    TCase *ops = tcase_create("ops"), *acts = tcase_create("activations");
    TCase *pool = tcase_create("pool1d"), *layers = tcase_create("layers");
    tcase_add_test(ops, layer_norm_normalizes_each_row);
    tcase_add_test(ops, rms_norm_divides_by_the_root_mean_square);
    tcase_add_test(ops, layer_norm_is_exact_on_long_offset_rows);
    tcase_add_loop_test(ops, norm_gradients_match_finite_differences, 0,
                        (int)(sizeof norm_cases / sizeof norm_cases[0]));
    tcase_add_test(ops, norm_weight_gradients_sum_every_row_of_a_large_batch);
    tcase_add_test(ops, norm_ops_take_empty_inputs);
    tcase_add_test(ops, norm_ops_reject_bad_input);
    tcase_add_test(acts, gelu_tanh_and_silu_values);
    tcase_add_test(acts, gelu_tanh_and_silu_propagate_nan);
    tcase_add_test(acts, gelu_tanh_and_silu_gradients_match_finite_differences);
    tcase_add_test(acts, new_activations_reject_null_and_int32);
    tcase_add_test(acts, dense_and_activation_layers_take_gelu_tanh_and_silu);
    tcase_add_test(pool, global_avg_pool1d_averages_unmasked_steps);
    tcase_add_test(pool, global_avg_pool1d_gradients_match_finite_differences);
    tcase_add_test(pool, global_avg_pool1d_rejects_bad_input);
    tcase_add_test(layers, norm_layers_normalize_the_last_axis_only);
    tcase_add_test(layers, norm_layer_setters_check_kind_and_value);
    tcase_add_test(layers, norm_layer_configs_are_keras_configs);
    tcase_add_test(layers, padding_does_not_change_the_pooled_result);
    tcase_add_test(layers, a_model_with_norm_layers_round_trips_bit_exact);
    tcase_add_test(layers, norm_layers_decode_position_by_position);
    suite_add_tcase(s, ops);
    suite_add_tcase(s, acts);
    suite_add_tcase(s, pool);
    suite_add_tcase(s, layers);
    return s;
}
