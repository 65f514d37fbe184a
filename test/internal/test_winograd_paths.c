/* The Winograd transforms (F(2x2, 3x3) and F(4x4, 3x3)) on every path this
 * CPU has (AVX-512, AVX2 + FMA; the plain C ones elsewhere), called
 * directly so that one process tests them all: each against a
 * double-precision product with the matrices B, G and A written out here,
 * the paths bit-identical to each other (each lane is the same sequence of
 * operations), and nothing written past the channels or outside the tile.
 * Channel and filter counts cover whole vectors and tails of both widths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "kernels/isa.h"
#include "kernels/winograd.h"

#define SENTINEL (-777.25f)
#define PAD 3 /* floats after each row's channels that must stay untouched */

typedef struct path {
    const char *name;
    const bgm__winograd_path *ops;
} path;

static int present_paths(path *out)
{
    int n = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        out[n++] = (path){"avx512", &bgm__winograd_avx512};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        out[n++] = (path){"avx2", &bgm__winograd_avx2};
#else
    out[n++] = (path){"plain", bgm__winograd_path_in_use()};
#endif
    return n;
}

static const int64_t counts[] = {1, 5, 8, 9, 15, 16, 17, 23, 24, 33, 40};
#define NCOUNTS ((int)(sizeof counts / sizeof *counts))

/* F(2x2, 3x3) and F(4x4, 3x3): B^T, G, A^T, and A (for the gradient). */
static const double bt2[16] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double g2[12] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
static const double at2[8] = {1, 1, 1, 0, 0, 1, -1, -1};
static const double a2[8] = {1, 0, 1, 1, 1, -1, 0, -1};
static const double bt4[36] = {4, 0, -5, 0, 1, 0, 0, -4, -4, 1, 1, 0, 0, 4, -4, -1, 1, 0,
                               0, -2, -1, 2, 1, 0, 0, 2, -1, -2, 1, 0, 0, 4, 0, -5, 0, 1};
static const double g4[18] = {1.0 / 4,  0,        0,        -1.0 / 6, -1.0 / 6, -1.0 / 6,
                              -1.0 / 6, 1.0 / 6,  -1.0 / 6, 1.0 / 24, 1.0 / 12, 1.0 / 6,
                              1.0 / 24, -1.0 / 12, 1.0 / 6, 0,        0,        1};
static const double at4[24] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0,
                               0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};

/* m (cols x rows) = the transpose of t (rows x cols). */
static void transpose(const double *t, int rows, int cols, double *m)
{
    int i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            m[j * rows + i] = t[i * cols + j];
}

/* y (rows x rows) = L x L^T for L (rows x inner), x (inner x inner); mag
 * the same sum of absolute terms (the scale of its rounding). */
static void sandwich(const double *l, int rows, int inner, const double *x, double *y,
                     double *mag)
{
    int i, j, a, b;
    for (i = 0; i < rows; i++)
        for (j = 0; j < rows; j++) {
            double s = 0.0, m = 0.0;
            for (a = 0; a < inner; a++)
                for (b = 0; b < inner; b++) {
                    s += l[i * inner + a] * x[a * inner + b] * l[j * inner + b];
                    m += fabs(l[i * inner + a] * x[a * inner + b] * l[j * inner + b]);
                }
            y[i * rows + j] = s;
            mag[i * rows + j] = m;
        }
}

/* count floats in [-2, 2] from seed, with SENTINEL every stride floats
 * from offset valid on (the PAD floats of each row). */
static float *values(int64_t count, uint64_t seed, int64_t stride, int64_t valid)
{
    float *x = malloc((size_t)count * sizeof *x);
    uint64_t s = seed ^ 0x2545f4914f6cdd1dull;
    int64_t i;
    ck_assert_ptr_nonnull(x);
    for (i = 0; i < count; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = i % stride >= valid ? SENTINEL : (float)((int64_t)(s % 4001) - 2000) / 1000.0f;
    }
    return x;
}

static void assert_close(const char *what, const char *name, int64_t count, int64_t at,
                         float got, double want, double mag)
{
    ck_assert_msg(fabs(got - want) <= 1e-6 * mag + 1e-7,
                  "%s on %s, %lld channels: element %lld = %.8g, expected %.8g", what, name,
                  (long long)count, (long long)at, got, want);
}

/* Nothing written past the first valid floats of each of the rows of x
 * (stride st): they still hold SENTINEL. */
static void assert_untouched(const float *x, int64_t rows, int64_t st, int64_t valid,
                             const char *what, const char *name)
{
    int64_t r, j;
    for (r = 0; r < rows; r++)
        for (j = valid; j < st; j++)
            ck_assert_msg(x[r * st + j] == SENTINEL, "%s on %s wrote past %lld channels", what,
                          name, (long long)valid);
}

/* The rows x stride result of a path: the first path's kept in *first
 * (the caller frees it), the others compared with it bit for bit. */
static void same_bits(float **first, float *got, int64_t n, const char *what,
                      const char *name, int64_t count)
{
    if (!*first) {
        *first = got;
        return;
    }
    ck_assert_msg(memcmp(*first, got, (size_t)n * sizeof *got) == 0,
                  "%s on %s, %lld channels: not the same bits as the first path", what, name,
                  (long long)count);
    free(got);
}

/* The input transform of F(side - 2 x side - 2, 3x3) on c channels: rows
 * of the block in an image of stride c + PAD, v rows of the same stride. */
static void check_input(const path *p, int side, int64_t c, float **first)
{
    const int64_t st = c + PAD, e_n = side * side;
    const double *bt = side == 4 ? bt2 : bt4;
    float *img = values(e_n * st, 11 + (uint64_t)c, st, c), *v = values(e_n * st, 0, 1, 0);
    const float *src[36];
    double d[36] = {0}, want[36], mag[36];
    int64_t e, ch;
    for (e = 0; e < e_n; e++) /* rows out of order, as tiles pick them */
        src[e] = img + ((e * 7) % e_n) * st;
    (side == 4 ? p->ops->input2 : p->ops->input4)(src, c, v, st);
    for (ch = 0; ch < c; ch++) {
        for (e = 0; e < e_n; e++)
            d[e] = src[e][ch];
        sandwich(bt, side, side, d, want, mag);
        for (e = 0; e < e_n; e++)
            assert_close("input", p->name, c, e * st + ch, v[e * st + ch], want[e], mag[e]);
    }
    assert_untouched(v, e_n, st, c, "input", p->name);
    free(img);
    same_bits(first, v, e_n * st, "input", p->name, c);
}

/* check(path, side, count, &first) for both tile sizes and every count,
 * on every path with that size, the paths' bits compared. */
static void on_every_path(void (*check)(const path *, int, int64_t, float **))
{
    path ps[2];
    int np = present_paths(ps), i, k, side;
    for (side = 4; side <= 6; side += 2)
        for (k = 0; k < NCOUNTS; k++) {
            float *first = NULL;
            for (i = 0; i < np; i++)
                if (side == 4 || ps[i].ops->input4)
                    check(&ps[i], side, counts[k], &first);
            free(first);
        }
}

START_TEST(input_transforms_agree_on_every_path)
{
    on_every_path(check_input);
}
END_TEST

/* The output transform of F(mo x mo, 3x3) on f filters for the rows < nr
 * and columns < nc of the tile, with bias, residual and ReLU when ep;
 * outputs outside the tile or past f must stay as they were. */
static void check_output(const path *p, int mo, int64_t f, int nr, int nc, int ep,
                         float **first)
{
    const int side = mo + 2, e_n = side * side;
    const int64_t st = f + PAD;
    const double *at = mo == 2 ? at2 : at4;
    float *m = values(e_n * st, 21 + (uint64_t)f, st, f);
    float *y = values(mo * mo * st, 22 + (uint64_t)f, st, f), *y0;
    float *res = values(mo * mo * st, 23, st, f), *bias = values(f, 24, f, f);
    float *out[16];
    const float *resp[16];
    double q[36], want[16], mag[16];
    int64_t fo, o;
    ck_assert_ptr_nonnull(y0 = malloc((size_t)(mo * mo * st) * sizeof *y0));
    memcpy(y0, y, (size_t)(mo * mo * st) * sizeof *y0);
    for (o = 0; o < mo * mo; o++) {
        out[o] = y + o * st;
        resp[o] = res + o * st;
    }
    (mo == 2 ? p->ops->output2 : p->ops->output4)(m, st, f, nr, nc, out, ep ? resp : NULL,
                                                  ep ? bias : NULL, ep);
    for (fo = 0; fo < f; fo++) {
        int e;
        for (e = 0; e < e_n; e++)
            q[e] = m[e * st + fo];
        sandwich(at, mo, side, q, want, mag);
        for (o = 0; o < mo * mo; o++) {
            const float got = y[o * st + fo];
            double w = want[o];
            if (o / mo >= nr || o % mo >= nc) {
                ck_assert_msg(got == y0[o * st + fo], "output on %s, f %lld: (%lld, %lld) "
                              "outside a %d x %d tile written", p->name, (long long)f,
                              (long long)(o / mo), (long long)(o % mo), nr, nc);
                continue;
            }
            if (ep) {
                w += (double)bias[fo] + res[o * st + fo];
                w = w > 0.0 ? w : 0.0;
            }
            assert_close("output", p->name, f, o * st + fo, got, w, mag[o] + 4.0 * ep);
        }
    }
    assert_untouched(y, mo * mo, st, f, "output", p->name);
    free(m);
    free(y0);
    free(res);
    free(bias);
    same_bits(first, y, mo * mo * st, "output", p->name, f);
}

START_TEST(output_transforms_agree_on_every_path)
{
    path ps[2];
    int np = present_paths(ps), i, k, mo, nr, nc, ep;
    for (mo = 2; mo <= 4; mo += 2)
        for (k = 0; k < NCOUNTS; k++)
            for (nr = 1; nr <= mo; nr++)
                for (nc = 1; nc <= mo; nc++)
                    for (ep = 0; ep < 2; ep++) {
                        float *first = NULL;
                        for (i = 0; i < np; i++)
                            if (mo == 2 || ps[i].ops->output4)
                                check_output(&ps[i], mo, counts[k], nr, nc, ep, &first);
                        free(first);
                    }
}
END_TEST

/* The output-gradient transform of F(mo x mo, 3x3): A dy A^T, dy's
 * elements present as the bits of which say (NULL, meaning zero,
 * elsewhere; bit e % 16 for element e). */
static void check_grad(const path *p, int mo, int64_t f, int which, float **first)
{
    const int side = mo + 2, e_n = side * side;
    const int64_t st = f + PAD;
    float *dy = values(mo * mo * st, 31 + (uint64_t)f, st, f);
    float *m = values(e_n * st, 0, 1, 0);
    const float *dyp[16];
    double d[16], a4[24], want[36], mag[36];
    int64_t fo;
    int e;
    transpose(at4, 4, 6, a4);
    for (e = 0; e < mo * mo; e++)
        dyp[e] = which >> (e % 16) & 1 ? dy + e * st : NULL;
    (mo == 2 ? p->ops->grad2 : p->ops->grad4)(dyp, f, m, st);
    for (fo = 0; fo < f; fo++) {
        for (e = 0; e < mo * mo; e++)
            d[e] = dyp[e] ? dyp[e][fo] : 0.0;
        sandwich(mo == 2 ? a2 : a4, side, mo, d, want, mag);
        for (e = 0; e < e_n; e++)
            assert_close("grad", p->name, f, e * st + fo, m[e * st + fo], want[e], mag[e]);
    }
    assert_untouched(m, e_n, st, f, "grad", p->name);
    free(dy);
    same_bits(first, m, e_n * st, "grad", p->name, f);
}

START_TEST(gradient_transforms_agree_on_every_path)
{
    path ps[2];
    int np = present_paths(ps), i, k, which, mo;
    for (mo = 2; mo <= 4; mo += 2)
        for (k = 0; k < NCOUNTS; k++)
            for (which = 0; which < 16; which++) {
                float *first = NULL;
                for (i = 0; i < np; i++)
                    if (mo == 2 || ps[i].ops->grad4)
                        check_grad(&ps[i], mo, counts[k], mo == 2 ? which : which * 0x1111,
                                   &first);
                free(first);
            }
}
END_TEST

/* The F(4x4, 3x3) transforms of a block inside the image (input4_grid,
 * output4_grid, grad4_grid: element (i, j) at i * rs + j * c) give the bits
 * of the table-driven ones on the same block, with and without bias,
 * residual and ReLU. */
static void check_grid(const path *p, int64_t c)
{
    const int64_t rs = 6 * c + 5, n = 6 * rs;
    float *img = values(n, 61 + (uint64_t)c, n, n), *res = values(n, 62, n, n);
    float *bias = values(c, 63, c, c), *a = values(36 * c, 0, 1, 0), *b = values(36 * c, 0, 1, 0);
    float *ya = values(n, 64, n, n), *yb = values(n, 64, n, n);
    const float *src[36], *resp[16];
    float *out[16];
    int i, j, ep;
    for (i = 0; i < 6; i++)
        for (j = 0; j < 6; j++)
            src[6 * i + j] = img + i * rs + j * c;
    p->ops->input4(src, c, a, c);
    p->ops->input4_grid(img, rs, c, b, c);
    ck_assert_msg(!memcmp(a, b, (size_t)(36 * c) * sizeof *a), "input4_grid on %s, %lld "
                  "channels: not input4's bits", p->name, (long long)c);
    for (i = 0; i < 16; i++) { /* the 4 x 4 block's gradient, in place of dy */
        src[i] = img + (i / 4) * rs + (i % 4) * c;
        out[i] = ya + (i / 4) * rs + (i % 4) * c;
        resp[i] = res + (i / 4) * rs + (i % 4) * c;
    }
    p->ops->grad4(src, c, a, c);
    p->ops->grad4_grid(img, rs, c, b, c);
    ck_assert_msg(!memcmp(a, b, (size_t)(36 * c) * sizeof *a), "grad4_grid on %s, %lld "
                  "filters: not grad4's bits", p->name, (long long)c);
    for (ep = 0; ep < 2; ep++) {
        p->ops->output4(img, c, c, 4, 4, out, ep ? resp : NULL, ep ? bias : NULL, ep);
        p->ops->output4_grid(img, c, c, yb, ep ? res : NULL, rs, ep ? bias : NULL, ep);
        ck_assert_msg(!memcmp(ya, yb, (size_t)n * sizeof *ya), "output4_grid on %s, %lld "
                      "filters, epilogue %d: not output4's bits", p->name, (long long)c, ep);
    }
    free(img);
    free(res);
    free(bias);
    free(a);
    free(b);
    free(ya);
    free(yb);
}

START_TEST(grid_transforms_match_the_table_ones)
{
    path ps[2];
    int np = present_paths(ps), i, k;
    for (i = 0; i < np; i++)
        for (k = 0; k < NCOUNTS && ps[i].ops->input4_grid; k++)
            check_grid(&ps[i], counts[k]);
}
END_TEST

/* The kernel gradient of F(side - 2 x side - 2, 3x3) for (channel,
 * filter) pairs cf = c * 3: gw += G^T du G per pair, run in two ranges
 * (the second not a whole number of vectors); gw's old values kept. */
static void check_kernel_grad(const path *p, int side, int64_t c, float **first)
{
    const int64_t cf = c * 3, e_n = side * side;
    const double *g = side == 4 ? g2 : g4;
    bgm__winograd_kernel_grad_fn fn = side == 4 ? p->ops->kernel_grad2 : p->ops->kernel_grad4;
    float *du = values(e_n * cf, 51 + (uint64_t)cf, 1, 1);
    float *gw = values(9 * cf + PAD, 52 + (uint64_t)cf, 9 * cf + PAD, 9 * cf), *gw0;
    double gt[18], q[36], want[9], mag[9];
    int64_t at;
    int e;
    transpose(g, side, 3, gt);
    ck_assert_ptr_nonnull(gw0 = malloc((size_t)(9 * cf) * sizeof *gw0));
    memcpy(gw0, gw, (size_t)(9 * cf) * sizeof *gw0);
    fn(du, cf, 0, cf / 2, gw);
    fn(du, cf, cf / 2, cf, gw);
    for (at = 0; at < cf; at++) {
        for (e = 0; e < e_n; e++)
            q[e] = du[e * cf + at];
        sandwich(gt, 3, side, q, want, mag);
        for (e = 0; e < 9; e++)
            assert_close("kernel gradient", p->name, cf, e * cf + at, gw[e * cf + at],
                         gw0[e * cf + at] + want[e], mag[e] + fabs(gw0[e * cf + at]));
    }
    for (at = 9 * cf; at < 9 * cf + PAD; at++)
        ck_assert_msg(gw[at] == SENTINEL, "kernel gradient on %s wrote past gw", p->name);
    free(du);
    free(gw0);
    same_bits(first, gw, 9 * cf + PAD, "kernel gradient", p->name, cf);
}

START_TEST(kernel_gradients_agree_on_every_path)
{
    on_every_path(check_kernel_grad);
}
END_TEST

/* bgm__winograd_kernel_grad_slots: the slots' sums of du added into du[0]
 * in slot order, then the path's kernel gradient over the pool. */
START_TEST(kernel_gradient_slots_are_summed_in_order)
{
    const int64_t c = 5, f = 7, cf = c * f, slots = 3;
    path ps[2];
    int side;
    present_paths(ps);
    for (side = 4; side <= 6; side += 2) {
        const int64_t e_n = side * side;
        bgm__winograd_kernel_grad_fn fn =
            side == 4 ? ps[0].ops->kernel_grad2 : ps[0].ops->kernel_grad4;
        float *du = values(slots * e_n * cf, 61 + (uint64_t)side, 1, 1);
        float *sum = values(e_n * cf, 0, 1, 1), *gw = values(9 * cf, 62, 1, 1);
        float *want = values(9 * cf, 62, 1, 1);
        int64_t at, s;
        if (!fn)
            continue;
        for (at = 0; at < e_n * cf; at++) {
            sum[at] = du[at];
            for (s = 1; s < slots; s++)
                sum[at] += du[s * e_n * cf + at];
        }
        fn(sum, cf, 0, cf, want);
        bgm__winograd_kernel_grad_slots(fn, side - 2, du, slots, c, f, gw);
        ck_assert_msg(memcmp(du, sum, (size_t)(e_n * cf) * sizeof *du) == 0,
                      "side %d: the slots are not summed in slot order into du[0]", side);
        ck_assert_msg(memcmp(gw, want, (size_t)(9 * cf) * sizeof *gw) == 0,
                      "side %d: not the kernel gradient of the summed slots", side);
        free(du), free(sum), free(gw), free(want);
    }
}
END_TEST

/* The kernel transform of F(side - 2 x side - 2, 3x3) of a (3, 3, c, 3)
 * kernel: u (side^2, c, 3), and nothing written after it. */
static void check_kernel(const path *p, int side, int64_t c, float **first)
{
    const int64_t f = 3, cf = c * f, e_n = side * side;
    const double *g = side == 4 ? g2 : g4;
    float *w = values(9 * cf, 41 + (uint64_t)cf, 9 * cf, 9 * cf);
    float *u = values(e_n * cf + PAD, 0, 1, 0);
    double x[9], want[36], mag[36];
    int64_t at;
    int e;
    /* in two ranges, the second not a whole number of vectors */
    (side == 4 ? p->ops->kernel2 : p->ops->kernel4)(w, cf, 0, cf / 2, u);
    (side == 4 ? p->ops->kernel2 : p->ops->kernel4)(w, cf, cf / 2, cf, u);
    for (at = 0; at < cf; at++) {
        for (e = 0; e < 9; e++)
            x[e] = w[e * cf + at];
        sandwich(g, side, 3, x, want, mag);
        for (e = 0; e < e_n; e++)
            assert_close("kernel", p->name, cf, e * cf + at, u[e * cf + at], want[e], mag[e]);
    }
    for (at = e_n * cf; at < e_n * cf + PAD; at++)
        ck_assert_msg(u[at] == SENTINEL, "kernel on %s wrote past u", p->name);
    free(w);
    same_bits(first, u, e_n * cf + PAD, "kernel", p->name, cf);
}

START_TEST(kernel_transforms_agree_on_every_path)
{
    on_every_path(check_kernel);
}
END_TEST

/* Convolutions take Winograd (both sizes) wherever the own products run,
 * with the transforms of that path: AVX-512 or AVX2, not the generic path
 * nor BIGMODEL_GEMM=blas (run this suite under BIGMODEL_ISA to see each). */
START_TEST(winograd_runs_wherever_the_own_products_run)
{
    const int own = bgm__gemm_own_available();
    ck_assert_int_eq(bgm__winograd_available(), own);
    ck_assert_int_eq(bgm__winograd4_available(), own);
#if defined(__x86_64__) && defined(__GNUC__)
    if (bgm__isa() == BGM__ISA_AVX512)
        ck_assert_ptr_eq(bgm__winograd_path_in_use(), &bgm__winograd_avx512);
    else if (bgm__isa() == BGM__ISA_AVX2)
        ck_assert_ptr_eq(bgm__winograd_path_in_use(), &bgm__winograd_avx2);
    else
        ck_assert_ptr_null(bgm__winograd_path_in_use());
#endif
}
END_TEST

Suite *suite_winograd_paths(void)
{
    Suite *s = suite_create("winograd_paths");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, input_transforms_agree_on_every_path);
    tcase_add_test(tc, output_transforms_agree_on_every_path);
    tcase_add_test(tc, gradient_transforms_agree_on_every_path);
    tcase_add_test(tc, grid_transforms_match_the_table_ones);
    tcase_add_test(tc, kernel_transforms_agree_on_every_path);
    tcase_add_test(tc, kernel_gradients_agree_on_every_path);
    tcase_add_test(tc, kernel_gradient_slots_are_summed_in_order);
    tcase_add_test(tc, winograd_runs_wherever_the_own_products_run);
    suite_add_tcase(s, tc);
    return s;
}
