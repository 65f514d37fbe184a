/* The fast paths behind the ops: matrix products around the 12 x 32 tiles of
 * the AVX-512 kernels (or BLAS where the CPU has none), gradients written
 * into fresh buffers versus added to used ones, max pooling's one-pass
 * backward, and convolutions split over the thread pool. Each against a
 * double-precision reference computed here. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

static float *data_of(const bgm_tensor *t) { return bgm_tensor_data(t); }

/* Fails unless got (n floats) is within tol * scale[i] + tol of want. */
static void assert_near(const char *what, const float *got, const double *want,
                        const double *scale, int64_t n, double tol)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        double bound = tol * (scale ? scale[i] : fabs(want[i])) + tol;
        ck_assert_msg(fabs((double)got[i] - want[i]) <= bound,
                      "%s[%lld] = %.9g, expected %.9g (bound %.3g)", what, (long long)i,
                      (double)got[i], want[i], bound);
    }
}

/* loss = sum(y * w) on tape, so that d loss / d y = w. */
static bgm_tensor *weighted_sum(bgm_tape *tape, const bgm_tensor *y, const bgm_tensor *w)
{
    bgm_tensor *p = NULL, *s = NULL;
    BGM_ASSERT_OK(bgm_op_mul(&p, tape, y, w));
    BGM_ASSERT_OK(bgm_op_sum_all(&s, tape, p));
    return s;
}

/* A new tape whose arena already holds NaN everywhere, as a tape reused
 * between steps does: a gradient buffer handed out fresh and not wholly
 * written then shows up as NaN. */
static bgm_tape *dirty_tape(void)
{
    /* Nearly all of the first 1 MiB chunk, then a second, larger one. */
    int64_t sizes[2] = {240 << 10, 3 << 18};
    bgm_tape *tape = NULL;
    int i;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (i = 0; i < 2; i++) {
        bgm_tensor *nan = NULL, *y = NULL;
        BGM_ASSERT_OK(bgm_tensor_full(&nan, BGM_FLOAT32, &sizes[i], 1, NAN));
        BGM_ASSERT_OK(bgm_op_neg(&y, tape, nan));
        bgm_tensor_free(nan);
    }
    BGM_ASSERT_OK(bgm_tape_reset(tape));
    return tape;
}

/* ---- matrix products ----------------------------------------------------- */

typedef struct mm_shape {
    int64_t m, k, n;
} mm_shape;

/* Edges of the 12-row and 32-column tiles, one and two vectors wide, and a
 * transposed operand longer than one 128-deep packed panel; blocks of at
 * most 16 columns, which run in tiles of 24 rows (N = 16, and the last 16
 * of 48). */
static const mm_shape mm_shapes[] = {
    {1, 1, 1},     {1, 64, 10},  {5, 7, 3},     {12, 27, 32},  {13, 27, 33},
    {25, 300, 17}, {24, 130, 64}, {37, 9, 150}, {64, 200, 129}, {11, 40, 300},
    {24, 144, 16}, {49, 20, 16},  {25, 33, 48},  {23, 5, 7},
};

START_TEST(matmul_and_its_gradients_match_a_double_reference_around_tile_edges)
{
    const mm_shape *sh = &mm_shapes[_i];
    int64_t as[2] = {sh->m, sh->k}, bs[2] = {sh->k, sh->n}, cs[2] = {sh->m, sh->n};
    bgm_tensor *a = bgm_test_randn(as, 2, 10 + (uint64_t)_i);
    bgm_tensor *b = bgm_test_randn(bs, 2, 20 + (uint64_t)_i);
    bgm_tensor *w = bgm_test_randn(cs, 2, 30 + (uint64_t)_i);
    bgm_tensor *c = NULL, *loss, *grads[2];
    bgm_tensor *src[2] = {a, b};
    const float *A = data_of(a), *B = data_of(b), *W = data_of(w);
    double *want_c = calloc((size_t)(sh->m * sh->n), sizeof(double));
    double *scale_c = calloc((size_t)(sh->m * sh->n), sizeof(double));
    double *want_a = calloc((size_t)(sh->m * sh->k), sizeof(double));
    double *scale_a = calloc((size_t)(sh->m * sh->k), sizeof(double));
    double *want_b = calloc((size_t)(sh->k * sh->n), sizeof(double));
    double *scale_b = calloc((size_t)(sh->k * sh->n), sizeof(double));
    bgm_tape *tape = NULL;
    int64_t i, j, p;
    ck_assert(want_c && scale_c && want_a && scale_a && want_b && scale_b);
    for (i = 0; i < sh->m; i++)
        for (j = 0; j < sh->n; j++)
            for (p = 0; p < sh->k; p++) {
                double t = (double)A[i * sh->k + p] * B[p * sh->n + j];
                want_c[i * sh->n + j] += t;
                scale_c[i * sh->n + j] += fabs(t);
                t = (double)W[i * sh->n + j] * B[p * sh->n + j]; /* dA = W B^T */
                want_a[i * sh->k + p] += t;
                scale_a[i * sh->k + p] += fabs(t);
                t = (double)A[i * sh->k + p] * W[i * sh->n + j]; /* dB = A^T W */
                want_b[p * sh->n + j] += t;
                scale_b[p * sh->n + j] += fabs(t);
            }
    tape = dirty_tape();
    BGM_ASSERT_OK(bgm_tape_watch(tape, a));
    BGM_ASSERT_OK(bgm_tape_watch(tape, b));
    BGM_ASSERT_OK(bgm_op_matmul(&c, tape, a, b));
    loss = weighted_sum(tape, c, w);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, src, 2, grads));
    assert_near("c", data_of(c), want_c, scale_c, sh->m * sh->n, 1e-6);
    assert_near("da", data_of(grads[0]), want_a, scale_a, sh->m * sh->k, 1e-6);
    assert_near("db", data_of(grads[1]), want_b, scale_b, sh->k * sh->n, 1e-6);
    bgm_tape_free(tape);
    free(want_c), free(scale_c), free(want_a), free(scale_a), free(want_b), free(scale_b);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(w);
}
END_TEST

START_TEST(a_gradient_reaching_a_tensor_twice_is_the_sum_of_both_paths)
{
    /* x feeds two products and two relus: the first backward to reach x
     * writes its gradient buffer, the second must add to it. */
    int64_t xs[2] = {20, 30}, ws[2] = {30, 40}, ys[2] = {20, 40};
    bgm_tensor *x = bgm_test_randn(xs, 2, 1), *w1 = bgm_test_randn(ws, 2, 2);
    bgm_tensor *w2 = bgm_test_randn(ws, 2, 3), *g = bgm_test_randn(ys, 2, 4);
    bgm_tensor *p1, *p2, *r1, *r2, *sum, *sum2, *loss, *total, *grad;
    const float *X = data_of(x), *W1 = data_of(w1), *W2 = data_of(w2), *G = data_of(g);
    double want[20 * 30];
    bgm_tape *tape = NULL;
    int64_t i, p, j;
    tape = dirty_tape();
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_matmul(&p1, tape, x, w1));
    BGM_ASSERT_OK(bgm_op_matmul(&p2, tape, x, w2));
    BGM_ASSERT_OK(bgm_op_add(&sum, tape, p1, p2));
    BGM_ASSERT_OK(bgm_op_relu(&r1, tape, x));
    BGM_ASSERT_OK(bgm_op_relu(&r2, tape, x));
    BGM_ASSERT_OK(bgm_op_add(&sum2, tape, r1, r2));
    loss = weighted_sum(tape, sum, g);
    BGM_ASSERT_OK(bgm_op_sum_all(&total, tape, sum2));
    BGM_ASSERT_OK(bgm_op_add(&loss, tape, loss, total));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &grad));
    for (i = 0; i < 20; i++)
        for (p = 0; p < 30; p++) {
            double v = X[i * 30 + p] > 0.0f ? 2.0 : 0.0;
            for (j = 0; j < 40; j++)
                v += (double)G[i * 40 + j] * ((double)W1[p * 40 + j] + W2[p * 40 + j]);
            want[i * 30 + p] = v;
        }
    assert_near("dx", data_of(grad), want, NULL, 20 * 30, 1e-5);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(w1);
    bgm_tensor_free(w2);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(gradients_handed_out_stay_intact_through_later_gradient_calls)
{
    /* The tape hands its gradient buffers over without copying them. */
    int64_t xs[1] = {6};
    const float xv[6] = {-2, -1, 0.5f, 1, 2, 3};
    bgm_tensor *x = bgm_test_tensor(xs, 1, xv), *sq, *l1, *tri, *l2;
    bgm_tensor *src[3], *g1[1], *g2[1], *g3[3];
    double want1[6], want2[6], want3[6];
    bgm_tape *tape = dirty_tape();
    int i;
    for (i = 0; i < 6; i++) {
        want1[i] = 2.0 * xv[i];
        want2[i] = 3.0;
        want3[i] = 2.0 * xv[i] + 3.0;
    }
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_mul(&sq, tape, x, x));
    BGM_ASSERT_OK(bgm_op_sum_all(&l1, tape, sq));
    BGM_ASSERT_OK(bgm_op_scale(&tri, tape, x, 3.0f));
    BGM_ASSERT_OK(bgm_op_sum_all(&l2, tape, tri));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l1, &x, 1, g1));
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l2, &x, 1, g2));
    BGM_ASSERT_OK(bgm_op_add(&l1, tape, l1, l2));
    /* x twice, and an intermediate result as a source. */
    src[0] = x;
    src[1] = x;
    src[2] = sq;
    BGM_ASSERT_OK(bgm_tape_gradient(tape, l1, src, 3, g3));
    assert_near("first call", data_of(g1[0]), want1, NULL, 6, 0.0);
    assert_near("second call", data_of(g2[0]), want2, NULL, 6, 0.0);
    assert_near("x", data_of(g3[0]), want3, NULL, 6, 0.0);
    assert_near("x again", data_of(g3[1]), want3, NULL, 6, 0.0);
    ck_assert_ptr_ne(data_of(g3[0]), data_of(g3[1]));
    for (i = 0; i < 6; i++)
        ck_assert_float_eq(data_of(g3[2])[i], 1.0f);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}
END_TEST

/* ---- max pooling ----------------------------------------------------------- */

START_TEST(max_pool_gradient_is_zero_outside_every_window_and_at_non_maxima)
{
    /* 5 x 5 with 2 x 2 windows: row 4 and column 4 belong to no window. */
    int64_t xs[4] = {2, 5, 5, 3}, ys[4] = {2, 2, 2, 3};
    bgm_tensor *x = bgm_test_randn(xs, 4, 9), *g = bgm_test_randn(ys, 4, 10);
    bgm_tensor *y = NULL, *loss, *grad;
    const float *X = data_of(x), *G = data_of(g);
    double want[2 * 5 * 5 * 3] = {0};
    bgm_tape *tape = NULL;
    int64_t n, oy, ox, ch, ky, kx;
    for (n = 0; n < 2; n++)
        for (oy = 0; oy < 2; oy++)
            for (ox = 0; ox < 2; ox++)
                for (ch = 0; ch < 3; ch++) {
                    int64_t best = -1;
                    for (ky = 0; ky < 2; ky++)
                        for (kx = 0; kx < 2; kx++) {
                            int64_t at = ((n * 5 + oy * 2 + ky) * 5 + ox * 2 + kx) * 3 + ch;
                            if (best < 0 || X[at] > X[best])
                                best = at;
                        }
                    want[best] = G[((n * 2 + oy) * 2 + ox) * 3 + ch];
                }
    tape = dirty_tape();
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_max_pool2d(&y, tape, x, 2, 2, 2, 2, BGM_PADDING_VALID));
    loss = weighted_sum(tape, y, g);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &grad));
    assert_near("dx", data_of(grad), want, NULL, 2 * 5 * 5 * 3, 0.0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(g);
}
END_TEST

START_TEST(max_pool_gradient_with_same_padding_reaches_only_real_cells)
{
    /* 2 x 2 windows, strides 2, SAME over 5 x 5: the last windows hang one
     * cell past the image. Every window's maximum gets its gradient. */
    int64_t xs[4] = {1, 5, 5, 2}, ys[4] = {1, 3, 3, 2};
    bgm_tensor *x = bgm_test_randn(xs, 4, 11), *g = bgm_test_randn(ys, 4, 12);
    bgm_tensor *y = NULL, *loss, *grad;
    const float *X = data_of(x), *G = data_of(g);
    double want[5 * 5 * 2] = {0};
    bgm_tape *tape = dirty_tape();
    int64_t oy, ox, ch, yy, xx;
    for (oy = 0; oy < 3; oy++)
        for (ox = 0; ox < 3; ox++)
            for (ch = 0; ch < 2; ch++) {
                int64_t best = -1;
                for (yy = 2 * oy; yy < 2 * oy + 2 && yy < 5; yy++)
                    for (xx = 2 * ox; xx < 2 * ox + 2 && xx < 5; xx++) {
                        int64_t at = (yy * 5 + xx) * 2 + ch;
                        if (best < 0 || X[at] > X[best])
                            best = at;
                    }
                want[best] += G[(oy * 3 + ox) * 2 + ch];
            }
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_op_max_pool2d(&y, tape, x, 2, 2, 2, 2, BGM_PADDING_SAME));
    loss = weighted_sum(tape, y, g);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, &x, 1, &grad));
    assert_near("dx", data_of(grad), want, NULL, 5 * 5 * 2, 0.0);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(g);
}
END_TEST

/* ---- convolution over the thread pool ------------------------------------- */

typedef struct conv_case {
    int64_t n, h, w, c, k, f;
    int stride;
    bgm_padding pad;
} conv_case;

/* Batches that do not split evenly over two threads; output widths on both
 * sides of the bias kernel's 16- and 64-column blocks; a 1x1 kernel; the
 * stride-1 windows of a ResNet (3x3 SAME over 16 and 32 channels), which
 * read their input in place on AVX-512 CPUs, with chunks of several images
 * and rows crossing image edges inside a tile. */
static const conv_case conv_cases[] = {
    {5, 9, 8, 3, 3, 10, 1, BGM_PADDING_VALID}, {3, 7, 7, 4, 3, 70, 2, BGM_PADDING_SAME},
    {7, 6, 5, 16, 1, 33, 1, BGM_PADDING_VALID}, {1, 12, 12, 2, 5, 32, 1, BGM_PADDING_SAME},
    {6, 7, 7, 16, 3, 16, 1, BGM_PADDING_SAME}, {5, 5, 6, 32, 3, 40, 1, BGM_PADDING_SAME},
    {9, 4, 4, 5, 3, 3, 1, BGM_PADDING_SAME},    {3, 10, 6, 8, 2, 17, 1, BGM_PADDING_SAME},
    /* 1,024 outputs or more: Winograd F(4x4, 3x3) on the AVX paths, tiles
     * overhanging on 7x7 and 13x12 */
    {24, 7, 7, 16, 3, 16, 1, BGM_PADDING_SAME}, {8, 15, 14, 17, 3, 20, 1, BGM_PADDING_VALID},
};

/* The outputs and gradients of conv(x, k) + b under loss sum(y * g). */
typedef struct conv_result {
    int64_t oh, ow;
    float *y, *dx, *dk, *db;
} conv_result;

static void conv_run(conv_result *r, const conv_case *cc, bgm_tensor *x, bgm_tensor *k,
                     bgm_tensor *b, uint64_t gseed)
{
    bgm_tensor *y = NULL, *g, *loss, *grads[3];
    bgm_tensor *src[3] = {x, k, b};
    bgm_tape *tape = NULL;
    tape = dirty_tape();
    BGM_ASSERT_OK(bgm_tape_watch(tape, x));
    BGM_ASSERT_OK(bgm_tape_watch(tape, k));
    BGM_ASSERT_OK(bgm_tape_watch(tape, b));
    BGM_ASSERT_OK(bgm_op_conv2d(&y, tape, x, k, b, cc->stride, cc->stride, cc->pad));
    g = bgm_test_randn(bgm_tensor_shape(y), 4, gseed);
    loss = weighted_sum(tape, y, g);
    BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, src, 3, grads));
    r->oh = bgm_tensor_dim(y, 1);
    r->ow = bgm_tensor_dim(y, 2);
    r->y = malloc(bgm_tensor_nbytes(y));
    r->dx = malloc(bgm_tensor_nbytes(x));
    r->dk = malloc(bgm_tensor_nbytes(k));
    r->db = malloc(bgm_tensor_nbytes(b));
    ck_assert(r->y && r->dx && r->dk && r->db);
    memcpy(r->y, data_of(y), bgm_tensor_nbytes(y));
    memcpy(r->dx, data_of(grads[0]), bgm_tensor_nbytes(x));
    memcpy(r->dk, data_of(grads[1]), bgm_tensor_nbytes(k));
    memcpy(r->db, data_of(grads[2]), bgm_tensor_nbytes(b));
    bgm_tensor_free(g);
    bgm_tape_free(tape);
}

static void conv_result_free(conv_result *r)
{
    free(r->y), free(r->dx), free(r->dk), free(r->db);
}

START_TEST(conv2d_split_over_threads_matches_a_double_reference)
{
    const conv_case *cc = &conv_cases[_i];
    int64_t xs[4] = {cc->n, cc->h, cc->w, cc->c}, ks[4] = {cc->k, cc->k, cc->c, cc->f};
    int64_t bs[1] = {cc->f}, nx = cc->n * cc->h * cc->w * cc->c;
    int64_t nk = cc->k * cc->k * cc->c * cc->f;
    bgm_tensor *x = bgm_test_randn(xs, 4, 40 + (uint64_t)_i);
    bgm_tensor *k = bgm_test_randn(ks, 4, 50 + (uint64_t)_i);
    bgm_tensor *b = bgm_test_randn(bs, 1, 60 + (uint64_t)_i);
    const float *X = data_of(x), *K = data_of(k), *B = data_of(b);
    int before = bgm_get_num_threads(), t;
    conv_result r[2];
    for (t = 0; t < 2; t++) {
        BGM_ASSERT_OK(bgm_set_num_threads(t + 1));
        conv_run(&r[t], cc, x, k, b, 70 + (uint64_t)_i);
    }
    BGM_ASSERT_OK(bgm_set_num_threads(before));
    {
        int64_t oh = r[0].oh, ow = r[0].ow, ny = cc->n * oh * ow * cc->f;
        int64_t n, oy, ox, ky, kx, ch, f, pt, pl;
        int64_t gs[4] = {cc->n, oh, ow, cc->f};
        bgm_tensor *g = bgm_test_randn(gs, 4, 70 + (uint64_t)_i);
        const float *G = data_of(g);
        double *y = calloc((size_t)ny, sizeof *y), *ys = calloc((size_t)ny, sizeof *ys);
        double *dx = calloc((size_t)nx, sizeof *dx), *dxs = calloc((size_t)nx, sizeof *dxs);
        double *dk = calloc((size_t)nk, sizeof *dk), *dks = calloc((size_t)nk, sizeof *dks);
        double db[70] = {0}, dbs[70] = {0};
        ck_assert(y && ys && dx && dxs && dk && dks);
        /* TensorFlow's SAME padding: the odd cell goes after. */
        pt = cc->pad == BGM_PADDING_SAME ? ((oh - 1) * cc->stride + cc->k - cc->h) / 2 : 0;
        pl = cc->pad == BGM_PADDING_SAME ? ((ow - 1) * cc->stride + cc->k - cc->w) / 2 : 0;
        pt = pt < 0 ? 0 : pt;
        pl = pl < 0 ? 0 : pl;
        for (n = 0; n < cc->n; n++)
            for (oy = 0; oy < oh; oy++)
                for (ox = 0; ox < ow; ox++)
                    for (f = 0; f < cc->f; f++) {
                        int64_t o = ((n * oh + oy) * ow + ox) * cc->f + f;
                        y[o] = B[f];
                        ys[o] = fabs(B[f]);
                        db[f] += G[o];
                        dbs[f] += fabs(G[o]);
                        for (ky = 0; ky < cc->k; ky++)
                            for (kx = 0; kx < cc->k; kx++)
                                for (ch = 0; ch < cc->c; ch++) {
                                    int64_t iy = oy * cc->stride + ky - pt;
                                    int64_t ix = ox * cc->stride + kx - pl, xi, ki;
                                    if (iy < 0 || iy >= cc->h || ix < 0 || ix >= cc->w)
                                        continue;
                                    xi = ((n * cc->h + iy) * cc->w + ix) * cc->c + ch;
                                    ki = ((ky * cc->k + kx) * cc->c + ch) * cc->f + f;
                                    y[o] += (double)X[xi] * K[ki];
                                    ys[o] += fabs((double)X[xi] * K[ki]);
                                    dx[xi] += (double)G[o] * K[ki];
                                    dxs[xi] += fabs((double)G[o] * K[ki]);
                                    dk[ki] += (double)G[o] * X[xi];
                                    dks[ki] += fabs((double)G[o] * X[xi]);
                                }
                    }
        for (t = 0; t < 2; t++) {
            assert_near("y", r[t].y, y, ys, ny, 1e-5);
            assert_near("dx", r[t].dx, dx, dxs, nx, 1e-5);
            assert_near("dk", r[t].dk, dk, dks, nk, 1e-5);
            assert_near("db", r[t].db, db, dbs, cc->f, 1e-5);
        }
        free(y), free(ys), free(dx), free(dxs), free(dk), free(dks);
        bgm_tensor_free(g);
    }
    conv_result_free(&r[0]);
    conv_result_free(&r[1]);
    bgm_tensor_free(x);
    bgm_tensor_free(k);
    bgm_tensor_free(b);
}
END_TEST

/* ---- batch normalization over the thread pool ------------------------------ */

/* Enough rows for the statistics and their gradients to be summed in
 * several slots (at least 2^14 elements each) on two threads. _i = 1 also
 * sends a second gradient into x (x * w, recorded after the batch norm, so
 * its backward runs first): the batch norm must then add to x's gradient
 * rather than write it. */
START_TEST(batch_norm_split_over_threads_matches_a_double_reference)
{
    const int64_t n = 61, hw = 64, c = 24, m = n * hw, numel = m * c;
    int64_t xs[4] = {n, 8, 8, c}, cs[1] = {c}, i, ch;
    bgm_tensor *x = bgm_test_randn(xs, 4, 81), *g = bgm_test_randn(xs, 4, 82);
    bgm_tensor *w = bgm_test_randn(xs, 4, 83), *gamma = bgm_test_randn(cs, 1, 84);
    bgm_tensor *beta = bgm_test_randn(cs, 1, 85);
    const float *X = data_of(x), *G = data_of(g), *W = data_of(w), *GA = data_of(gamma);
    const float *BE = data_of(beta);
    double *y = calloc((size_t)numel, sizeof *y), *dx = calloc((size_t)numel, sizeof *dx);
    double mean[24] = {0}, var[24] = {0}, sg[24] = {0}, sgx[24] = {0}, scale[24];
    int before = bgm_get_num_threads(), t;
    ck_assert(y && dx);
    for (i = 0; i < numel; i++)
        mean[i % c] += X[i];
    for (ch = 0; ch < c; ch++)
        mean[ch] /= (double)m;
    for (i = 0; i < numel; i++)
        var[i % c] += (X[i] - mean[i % c]) * (X[i] - mean[i % c]);
    for (ch = 0; ch < c; ch++) {
        var[ch] /= (double)m;
        scale[ch] = 1.0 / sqrt(var[ch] + 1e-3);
    }
    for (i = 0; i < numel; i++) {
        double xhat = (X[i] - mean[i % c]) * scale[i % c];
        y[i] = GA[i % c] * xhat + BE[i % c];
        sg[i % c] += G[i];
        sgx[i % c] += G[i] * xhat;
    }
    for (i = 0; i < numel; i++) {
        double xhat = (X[i] - mean[i % c]) * scale[i % c];
        dx[i] = GA[i % c] * scale[i % c] * (G[i] - sg[i % c] / m - xhat * sgx[i % c] / m) +
                (_i ? W[i] : 0.0);
    }
    for (t = 1; t <= 2; t++) {
        bgm_tensor *rm = NULL, *rv = NULL, *out = NULL, *loss, *grads[3];
        bgm_tensor *src[3] = {x, gamma, beta};
        bgm_tape *tape = dirty_tape();
        BGM_ASSERT_OK(bgm_set_num_threads(t));
        BGM_ASSERT_OK(bgm_tensor_zeros(&rm, BGM_FLOAT32, cs, 1));
        BGM_ASSERT_OK(bgm_tensor_full(&rv, BGM_FLOAT32, cs, 1, 1.0f));
        BGM_ASSERT_OK(bgm_tape_watch(tape, x));
        BGM_ASSERT_OK(bgm_tape_watch(tape, gamma));
        BGM_ASSERT_OK(bgm_tape_watch(tape, beta));
        BGM_ASSERT_OK(bgm_op_batch_norm(&out, tape, x, gamma, beta, rm, rv, 0.5f, 1e-3f, 1));
        loss = weighted_sum(tape, out, g);
        if (_i) {
            bgm_tensor *extra = weighted_sum(tape, x, w), *sum = NULL;
            BGM_ASSERT_OK(bgm_op_add(&sum, tape, loss, extra));
            loss = sum;
        }
        BGM_ASSERT_OK(bgm_tape_gradient(tape, loss, src, 3, grads));
        for (i = 0; i < numel; i++) {
            ck_assert_msg(fabs(data_of(out)[i] - y[i]) <= 1e-5 * (fabs(y[i]) + 1.0),
                          "y[%lld] = %.9g, expected %.9g", (long long)i,
                          (double)data_of(out)[i], y[i]);
            ck_assert_msg(fabs(data_of(grads[0])[i] - dx[i]) <= 1e-4 * (fabs(dx[i]) + 1.0),
                          "dx[%lld] = %.9g, expected %.9g", (long long)i,
                          (double)data_of(grads[0])[i], dx[i]);
        }
        for (ch = 0; ch < c; ch++) {
            ck_assert_msg(fabs(data_of(grads[1])[ch] - sgx[ch]) <= 1e-5 * (fabs(sgx[ch]) + m),
                          "dgamma[%lld]", (long long)ch);
            ck_assert_msg(fabs(data_of(grads[2])[ch] - sg[ch]) <= 1e-5 * (fabs(sg[ch]) + m),
                          "dbeta[%lld]", (long long)ch);
            ck_assert_float_eq_tol(data_of(rm)[ch], (float)(0.5 * mean[ch]), 1e-5f);
            ck_assert_float_eq_tol(data_of(rv)[ch],
                                   (float)(0.5 + 0.5 * var[ch] * m / (m - 1)), 1e-5f);
        }
        bgm_tape_free(tape);
        bgm_tensor_free(rm);
        bgm_tensor_free(rv);
    }
    BGM_ASSERT_OK(bgm_set_num_threads(before));
    free(y), free(dx);
    bgm_tensor_free(x), bgm_tensor_free(g), bgm_tensor_free(w);
    bgm_tensor_free(gamma), bgm_tensor_free(beta);
}
END_TEST

Suite *suite_fast_paths(void)
{
    Suite *s = suite_create("fast_paths");
    TCase *mm = tcase_create("matmul");
    TCase *grads = tcase_create("gradients");
    TCase *conv = tcase_create("conv");
    TCase *bn = tcase_create("batch_norm");
    tcase_add_loop_test(mm, matmul_and_its_gradients_match_a_double_reference_around_tile_edges,
                        0, (int)(sizeof mm_shapes / sizeof mm_shapes[0]));
    BGM_TEST_SLOW(mm, 30);
    suite_add_tcase(s, mm);
    tcase_add_test(grads, a_gradient_reaching_a_tensor_twice_is_the_sum_of_both_paths);
    tcase_add_test(grads, gradients_handed_out_stay_intact_through_later_gradient_calls);
    tcase_add_test(grads, max_pool_gradient_is_zero_outside_every_window_and_at_non_maxima);
    tcase_add_test(grads, max_pool_gradient_with_same_padding_reaches_only_real_cells);
    suite_add_tcase(s, grads);
    tcase_add_loop_test(conv, conv2d_split_over_threads_matches_a_double_reference, 0,
                        (int)(sizeof conv_cases / sizeof conv_cases[0]));
    BGM_TEST_SLOW(conv, 30);
    suite_add_tcase(s, conv);
    tcase_add_loop_test(bn, batch_norm_split_over_threads_matches_a_double_reference, 0, 2);
    suite_add_tcase(s, bn);
    return s;
}
