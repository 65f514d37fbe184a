/* The own SGEMM kernels on every path this CPU has (AVX-512, AVX2 + FMA),
 * called directly so that one process tests them all: each product
 * against a double-precision reference, the paths bit-identical to each
 * other (each element is the same sequence of fused multiply-adds), and
 * nothing written outside C's columns. Shapes cover every partial tile of
 * both widths, a transposed B longer than one packed panel, the epilogue
 * and the gathered A of implicit convolutions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "kernels/gemm_own.h"

#define SENTINEL 1234.5f

typedef void (*run_fn)(const bgm__gemm_call *);

typedef struct path {
    const char *name;
    run_fn run;
    int present;
} path;

static int paths(path *out)
{
    int n = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    out[n++] = (path){"avx512", bgm__gemm_avx512_run, __builtin_cpu_supports("avx512f")};
    out[n++] = (path){"avx2", bgm__gemm_avx2_run,
                      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")};
#endif
    (void)out;
    return n;
}

static float *filled(int64_t count, uint64_t seed)
{
    float *x = malloc((size_t)count * sizeof *x);
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    int64_t i;
    ck_assert_ptr_nonnull(x);
    for (i = 0; i < count; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((int64_t)(s >> 40) % 2001 - 1000) / 500.0f;
    }
    return x;
}

/* op(A)(r, kk) of a call, gathered or strided. */
static double a_at(const bgm__gemm_call *p, int64_t r, int64_t kk)
{
    if (p->rtab)
        return p->a[p->rtab[r] + p->ktab[kk]];
    return p->trans_a ? p->a[kk * p->lda + r] : p->a[r * p->lda + kk];
}

static double b_at(const bgm__gemm_call *p, int64_t kk, int64_t j)
{
    return p->trans_b ? p->b[j * p->ldb + kk] : p->b[kk * p->ldb + j];
}

/* Runs p on every present path from the same C0 and compares. */
static void check_call(const bgm__gemm_call *tmpl, const float *c0, int64_t csize)
{
    path ps[2];
    int np = paths(ps), i, done = 0;
    float *first = NULL;
    for (i = 0; i < np; i++) {
        bgm__gemm_call p = *tmpl;
        float *c;
        int64_t r, j, kk;
        if (!ps[i].present)
            continue;
        c = malloc((size_t)csize * sizeof *c);
        ck_assert_ptr_nonnull(c);
        memcpy(c, c0, (size_t)csize * sizeof *c);
        p.c = c;
        ps[i].run(&p);
        for (r = 0; r < p.m; r++) {
            for (j = 0; j < p.ldc; j++) {
                float got = c[r * p.ldc + j];
                double want = 0.0, mag = 0.0;
                if (j >= p.n) {
                    ck_assert_msg(got == SENTINEL, "%s: column %lld beyond n written",
                                  ps[i].name, (long long)j);
                    continue;
                }
                for (kk = 0; kk < p.k; kk++) {
                    want += a_at(&p, r, kk) * b_at(&p, kk, j);
                    mag += fabs(a_at(&p, r, kk) * b_at(&p, kk, j));
                }
                want *= p.alpha;
                mag *= fabs(p.alpha);
                if (p.beta != 0.0f) {
                    want += (double)p.beta * c0[r * p.ldc + j];
                    mag += fabs((double)p.beta * c0[r * p.ldc + j]);
                }
                if (p.ep) {
                    if (p.ep->bias)
                        want += p.ep->bias[j], mag += fabs(p.ep->bias[j]);
                    if (p.ep->res)
                        want += p.ep->res[r * p.ep->ldres + j],
                            mag += fabs(p.ep->res[r * p.ep->ldres + j]);
                    if (p.ep->relu && want < 0.0)
                        want = 0.0;
                }
                ck_assert_msg(fabs(got - want) <= 1e-5 * (mag + 1.0),
                              "%s m %lld n %lld k %lld ta %d tb %d: C[%lld][%lld] = %.7g, "
                              "expected %.7g",
                              ps[i].name, (long long)p.m, (long long)p.n, (long long)p.k,
                              p.trans_a, p.trans_b, (long long)r, (long long)j, got, want);
            }
        }
        if (first)
            ck_assert_msg(memcmp(first, c, (size_t)csize * sizeof *c) == 0,
                          "%s differs from %s in some bits (m %lld n %lld k %lld)", ps[i].name,
                          ps[0].name, (long long)p.m, (long long)p.n, (long long)p.k);
        if (!first)
            first = c;
        else
            free(c);
        done++;
    }
    free(first);
}

static float *sentinel_c(const float *vals, int64_t m, int64_t n, int64_t ldc)
{
    float *c = malloc((size_t)(m * ldc) * sizeof *c);
    int64_t r, j;
    ck_assert_ptr_nonnull(c);
    for (r = 0; r < m; r++)
        for (j = 0; j < ldc; j++)
            c[r * ldc + j] = j < n ? vals[r * ldc + j] : SENTINEL;
    return c;
}

/* C = alpha op(A) op(B) + beta C on every path, for operands of these
 * shapes and strides filled with draws seeded by the shape. */
static void check_plain(int ta, int tb, int64_t m, int64_t n, int64_t k, int64_t lda,
                        int64_t ldb, int64_t ldc, float alpha, float beta)
{
    float *a = filled((ta ? k : m) * lda, 1 + m), *b = filled((tb ? n : k) * ldb, 2 + n);
    float *vals = filled(m * ldc, 3 + k), *c0 = sentinel_c(vals, m, n, ldc);
    bgm__gemm_call call = {ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, a, b, NULL,
                           NULL, NULL, NULL, 0, 0, 0, 0};
    check_call(&call, c0, m * ldc);
    free(a);
    free(b);
    free(vals);
    free(c0);
}

static const int64_t ms[] = {1, 5, 6, 7, 12, 13, 24, 25, 50};
static const int64_t ns[] = {1, 7, 8, 9, 16, 17, 31, 32, 33, 70};
static const int64_t ks[] = {1, 3, 130};

START_TEST(plain_and_transposed_products_agree_on_every_path)
{
    size_t mi, ni, ki;
    int variant;
    for (mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (ni = 0; ni < sizeof ns / sizeof *ns; ni++)
            for (ki = 0; ki < sizeof ks / sizeof *ks; ki++)
                for (variant = 0; variant < 3; variant++) {
                    const int64_t m = ms[mi], n = ns[ni], k = ks[ki], ldc = n + 3;
                    const int ta = variant == 1, tb = variant == 2;
                    /* A transposed B is packed only for a whole tile of rows */
                    const int64_t lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1;
                    check_plain(ta, tb, m, n, k, lda, ldb, ldc, variant == 0 ? 1.0f : 0.75f,
                                variant == 2 ? 0.5f : 0.0f);
                }
}
END_TEST

START_TEST(epilogue_and_gathered_a_agree_on_every_path)
{
    size_t mi, ni;
    for (mi = 0; mi < sizeof ms / sizeof *ms; mi++)
        for (ni = 0; ni < sizeof ns / sizeof *ns; ni++) {
            const int64_t m = ms[mi], n = ns[ni], k = 11, ldc = n + 2, src = m * 3 + k * 2;
            int64_t *rtab = malloc((size_t)m * sizeof *rtab);
            int64_t *ktab = malloc((size_t)k * sizeof *ktab), i;
            float *a = filled(src, 7 + m), *b = filled(k * n, 8 + n);
            float *bias = filled(n, 9), *res = filled(m * ldc, 10);
            float *c0 = sentinel_c(res, m, n, ldc);
            bgm__gemm_epilogue ep = {bias, res, ldc, 1};
            bgm__gemm_call call = {0, 0, m, n, k, 0, n, ldc, 1.0f, 0.0f, a, b, NULL,
                                   rtab, ktab, &ep, 0, 0, 0, 0};
            ck_assert(rtab && ktab);
            for (i = 0; i < m; i++)
                rtab[i] = i * 3;
            for (i = 0; i < k; i++)
                ktab[i] = (i * 7) % (2 * k);
            check_call(&call, c0, m * ldc); /* gathered, bias + residual + ReLU */
            call.rtab = call.ktab = NULL;
            call.lda = 2; /* overlapping rows of a: any strides work */
            ep.res = NULL;
            check_call(&call, c0, m * ldc);
            free(rtab);
            free(ktab);
            free(a);
            free(b);
            free(bias);
            free(res);
            free(c0);
        }
}
END_TEST

START_TEST(long_rows_of_b_are_packed_the_same_on_every_path)
{
    /* B's rows 1030 floats apart and k past one packed block: B is copied
     * in blocks of k, whose sums add to C in turn */
    static const int64_t rows[] = {1, 7, 13}, cols[] = {5, 33};
    size_t mi, ni;
    for (mi = 0; mi < sizeof rows / sizeof *rows; mi++)
        for (ni = 0; ni < sizeof cols / sizeof *cols; ni++) {
            const int64_t m = rows[mi], n = cols[ni], k = 300, ldb = 1030, ldc = n + 1;
            check_plain(0, 0, m, n, k, k, ldb, ldc, 1.5f, 0.25f);
        }
}
END_TEST

/* A run of count products (bgm__gemm_call.count, as bgm__gemm_slots makes
 * for Winograd's slots) gives each product's C exactly as one call for it
 * alone, on every path; with B's rows far apart and k past a packed block
 * too. Nothing between the products' C is written. */
START_TEST(a_run_of_products_gives_each_the_bits_of_its_own_call)
{
    static const int64_t shapes[][4] = {{49, 16, 16, 16}, {13, 33, 7, 40}, {7, 5, 300, 1030}};
    path ps[2];
    int np = paths(ps), i, t;
    for (t = 0; t < 3; t++)
        for (i = 0; i < np; i++) {
            const int64_t m = shapes[t][0], n = shapes[t][1], k = shapes[t][2];
            const int64_t ldb = shapes[t][3], count = 5, lda = count * k + 1;
            const int64_t ldc = count * n + 2, sb = k * ldb;
            float *a = filled(m * lda, 31 + m), *b = filled(count * sb, 32 + n);
            float *run = filled(m * ldc, 33), *one = malloc((size_t)(m * ldc) * sizeof *one);
            bgm__gemm_call call = {0, 0, m, n, k, lda, ldb, ldc, 1.0f, 0.0f, a, b, run,
                                   NULL, NULL, NULL, count, k, sb, n};
            int64_t e;
            if (!ps[i].present) {
                free(a), free(b), free(run), free(one);
                continue;
            }
            ck_assert_ptr_nonnull(one);
            memcpy(one, run, (size_t)(m * ldc) * sizeof *one);
            ps[i].run(&call);
            call.count = 0;
            for (e = 0; e < count; e++) {
                call.a = a + e * k;
                call.b = b + e * sb;
                call.c = one + e * n;
                ps[i].run(&call);
            }
            ck_assert_msg(!memcmp(run, one, (size_t)(m * ldc) * sizeof *one),
                          "%s, m %lld n %lld k %lld: a run of products differs from one "
                          "call each", ps[i].name, (long long)m, (long long)n, (long long)k);
            free(a);
            free(b);
            free(run);
            free(one);
        }
}
END_TEST

Suite *suite_gemm_paths(void)
{
    Suite *s = suite_create("gemm_paths");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plain_and_transposed_products_agree_on_every_path);
    tcase_add_test(tc, epilogue_and_gathered_a_agree_on_every_path);
    tcase_add_test(tc, long_rows_of_b_are_packed_the_same_on_every_path);
    tcase_add_test(tc, a_run_of_products_gives_each_the_bits_of_its_own_call);
    suite_add_tcase(s, tc);
    return s;
}
