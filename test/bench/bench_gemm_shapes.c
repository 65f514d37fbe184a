/*
 * Where the library's own SGEMM kernels beat BLAS and where they lose: one
 * thread, every shape of a grid of (m, n, k) in the three forms a layer
 * uses (A B forward, A B^T input gradient, A^T B kernel gradient), the own
 * kernel on this process's path (BIGMODEL_ISA) against cblas_sgemm, each
 * the best of a few repeats, timed in the thread's CPU time. Prints one line per shape; kernels/gemm.c's
 * choice of kernel per shape comes from these tables (docs/performance.md).
 *
 *     bench_gemm_shapes [seconds per shape, default 0.05] [m n k]
 *
 * (m n k: that one shape only, in the three forms)
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "bigmodel/core.h"
#include "kernels/gemm_own.h"

static const int64_t ms[] = {16, 64, 256, 1024};
static const int64_t ns[] = {32, 128, 512, 1024, 4096};
static const int64_t ks[] = {64, 256, 1024, 4096};

static void run_blas(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
                     const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)n, (int)k, 1.0f, a, ta ? (int)m : (int)k, b, tb ? (int)k : (int)n,
                0.0f, c, (int)n);
}

/* Seconds of this thread's CPU time: other processes on a shared machine
 * take turns on the core without counting here. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* GFLOP/s of the best of several spans of about `seconds` / 3 CPU time. */
static double gflops(int own, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
                     const float *b, float *c, double seconds)
{
    double best = 0.0;
    int rep;
    for (rep = 0; rep < 3; rep++) {
        double t0 = cpu_now(), t;
        long calls = 0;
        do {
            if (own)
                bgm__gemm_own(ta, tb, m, n, k, 1.0f, a, ta ? m : k, b, tb ? k : n, 0.0f, c, n);
            else
                run_blas(ta, tb, m, n, k, a, b, c);
            calls++;
            t = cpu_now() - t0;
        } while (t < seconds / 3);
        if (2.0 * (double)m * n * k * calls / t / 1e9 > best)
            best = 2.0 * (double)m * n * k * calls / t / 1e9;
    }
    return best;
}

int main(int argc, char **argv)
{
    const double seconds = argc > 1 ? atof(argv[1]) : 0.05;
    const int one = argc == 5;
    const int64_t big = 4096 * 4096;
    float *a = malloc((size_t)big * sizeof *a), *b = malloc((size_t)big * sizeof *b);
    float *c = malloc((size_t)big * sizeof *c);
    const char *forms[] = {"A B", "A B^T", "A^T B"};
    int64_t i;
    size_t mi, ni, ki;
    int form;
    if (!a || !b || !c)
        return 1;
    for (i = 0; i < big; i++) {
        a[i] = (float)(i % 17) / 17.0f - 0.5f;
        b[i] = (float)(i % 13) / 13.0f - 0.5f;
    }
    (void)peak_rss_mib, (void)now;
    bgm_set_num_threads(1);
    if (!bgm__gemm_own_available()) {
        printf("own kernels not in use on this path (%s)\n", bgm_kernel_isa());
        return 0;
    }
    printf("path %s, 1 thread; GFLOP/s own / BLAS and their ratio\n", bgm_kernel_isa());
    printf("%-6s %6s %6s %6s %8s %8s %6s\n", "form", "m", "n", "k", "own", "blas", "ratio");
    for (form = 0; form < 3; form++)
        for (mi = 0; mi < (one ? 1 : sizeof ms / sizeof *ms); mi++)
            for (ni = 0; ni < (one ? 1 : sizeof ns / sizeof *ns); ni++)
                for (ki = 0; ki < (one ? 1 : sizeof ks / sizeof *ks); ki++) {
                    const int ta = form == 2, tb = form == 1;
                    const int64_t m = one ? atoll(argv[2]) : ms[mi];
                    const int64_t n = one ? atoll(argv[3]) : ns[ni];
                    const int64_t k = one ? atoll(argv[4]) : ks[ki];
                    double own = gflops(1, ta, tb, m, n, k, a, b, c, seconds);
                    double blas = gflops(0, ta, tb, m, n, k, a, b, c, seconds);
                    printf("%-6s %6lld %6lld %6lld %8.1f %8.1f %6.2f\n", forms[form],
                           (long long)m, (long long)n, (long long)k, own, blas, own / blas);
                    fflush(stdout);
                }
    free(a);
    free(b);
    free(c);
    return 0;
}
