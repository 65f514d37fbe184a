/*
 * The roofline of `make bench`: what this machine can do at BENCH_THREADS
 * threads (default 2), so that each workload's GFLOP/s can be read as a
 * share of it.
 *
 *     bench_roofline isa              the library's kernel path (bgm_kernel_isa)
 *     bench_roofline sgemm-lib N...   square sgemm through the library's public
 *                                     bgm_op_matmul: its own kernels or BLAS,
 *                                     as it chooses for the shape and path
 *                                     (kernels/gemm.c; BLAS in the
 *                                     environment as it is)
 *     bench_roofline sgemm-blas N...  the same product through cblas_sgemm
 *     bench_roofline triad [MIB]      STREAM-style triad a = b + s c over three
 *                                     arrays of MIB each (default: 4 times
 *                                     the L3 as sysfs gives it, at least 64)
 *
 * Prints one line per measurement that test/bench/bench_lib.sh reads:
 *     ROOF kind=sgemm_lib n=4096 gflops=... seconds=... threads=... core=...
 *     ROOF kind=triad mib=... gbps=...
 * Each figure is the best of a few repetitions after a warm-up. FLOPs are
 * 2 n^3 per product; core names the library's kernel path (sgemm_lib) or
 * OpenBLAS's kernels (sgemm_blas). The triad counts 12 bytes per element (read b and c,
 * write a), as STREAM does: the cache lines of a that the CPU reads before
 * writing them are not counted, so the figure is a little under the bus's.
 * Run sgemm-blas with OPENBLAS_CORETYPE unset to get OpenBLAS's own kernels
 * for this CPU; the blas mode never calls into libbigmodel, so BLAS runs at
 * BENCH_THREADS threads.
 */
#include <cblas.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>

#include "bench_util.h"

#define SGEMM_REPS 3
#define TRIAD_REPS 10
#define TRIAD_BLOCK 16 /* a known trip count, so -O2 vectorizes the inner loop */

static int threads_from_env(void)
{
    const char *env = getenv("BENCH_THREADS");
    int n = env ? atoi(env) : 2;
    return n > 0 ? n : 2;
}

/* Fills p[0..n) with values in [-1, 1) from a fixed xorshift sequence. */
static void fill(float *p, size_t n, unsigned seed)
{
    unsigned x = seed | 1u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (float)(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

/* Seconds of the fastest of SGEMM_REPS products of two n x n matrices through
 * the library, after one warm-up; the tape keeps the result's memory mapped
 * between products, as a training step's arena does. */
static int sgemm_lib(double *best, int64_t n)
{
    bgm_tensor *a = NULL, *b = NULL, *c = NULL;
    bgm_tape *tape = NULL;
    bgm_status s = bgm_tensor_zeros(&a, BGM_FLOAT32, (int64_t[]){n, n}, 2);
    if (s == BGM_OK) s = bgm_tensor_zeros(&b, BGM_FLOAT32, (int64_t[]){n, n}, 2);
    if (s == BGM_OK) s = bgm_tape_create(&tape);
    if (s == BGM_OK) {
        fill(bgm_tensor_data(a), (size_t)(n * n), 1);
        fill(bgm_tensor_data(b), (size_t)(n * n), 2);
    }
    *best = 1e30;
    for (int rep = -1; s == BGM_OK && rep < SGEMM_REPS; rep++) {
        double t0 = now(), t;
        s = bgm_op_matmul(&c, tape, a, b);
        t = now() - t0;
        if (s == BGM_OK) s = bgm_tape_reset(tape);
        if (rep >= 0 && t < *best)
            *best = t;
    }
    if (s != BGM_OK)
        fprintf(stderr, "bench_roofline: sgemm %lld: %s (%s)\n", (long long)n,
                bgm_last_error(), bgm_status_string(s));
    bgm_tape_free(tape);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    return s == BGM_OK ? 0 : 1;
}

/* The same through cblas_sgemm at `threads` threads (OpenBLAS's setter when
 * the BLAS has one, looked up as the library does). */
static int sgemm_blas(double *best, int64_t n, int threads)
{
    void (*set_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    size_t count = (size_t)(n * n);
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    float *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_roofline: sgemm %lld: out of memory\n", (long long)n);
        free(a), free(b), free(c);
        return 1;
    }
    if (set_threads)
        set_threads(threads);
    fill(a, count, 1);
    fill(b, count, 2);
    memset(c, 0, count * sizeof *c);
    *best = 1e30;
    for (int rep = -1; rep < SGEMM_REPS; rep++) {
        double t0 = now(), t;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n, (int)n, 1.0f,
                    a, (int)n, b, (int)n, 0.0f, c, (int)n);
        t = now() - t0;
        if (rep >= 0 && t < *best)
            *best = t;
    }
    free(a), free(b), free(c);
    return 0;
}

typedef struct triad_share {
    float *a, *b, *c;
    size_t n; /* a multiple of TRIAD_BLOCK */
    pthread_barrier_t *start;
    double seconds;
} triad_share;

static void triad_pass(float *restrict a, const float *restrict b, const float *restrict c,
                       size_t n, float scalar)
{
    for (size_t i = 0; i < n; i += TRIAD_BLOCK)
        for (size_t j = 0; j < TRIAD_BLOCK; j++)
            a[i + j] = b[i + j] + scalar * c[i + j];
}

/* One thread's share: touched first by that thread (its pages local to it),
 * then a pass per repetition between barriers, the fastest kept. */
static void *triad_worker(void *arg)
{
    triad_share *t = arg;
    fill(t->b, t->n, 3);
    fill(t->c, t->n, 4);
    memset(t->a, 0, t->n * sizeof *t->a);
    t->seconds = 1e30;
    for (int rep = -1; rep < TRIAD_REPS; rep++) {
        double t0;
        pthread_barrier_wait(t->start);
        t0 = now();
        triad_pass(t->a, t->b, t->c, t->n, 3.0f);
        if (rep >= 0 && now() - t0 < t->seconds)
            t->seconds = now() - t0;
        pthread_barrier_wait(t->start);
    }
    return NULL;
}

/* Bytes per second of the triad over three arrays of `mib` MiB each, split
 * evenly over `threads` threads running together. */
static int triad(double *gbps, size_t mib, int threads)
{
    size_t per = (mib << 20) / sizeof(float) / (size_t)threads / TRIAD_BLOCK * TRIAD_BLOCK;
    float *mem = malloc(3 * per * (size_t)threads * sizeof *mem);
    triad_share *share = calloc((size_t)threads, sizeof *share);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    pthread_barrier_t start;
    double slowest = 0.0;
    int i;
    if (!mem || !share || !tid || pthread_barrier_init(&start, NULL, (unsigned)threads)) {
        fprintf(stderr, "bench_roofline: triad: out of memory\n");
        free(mem), free(share), free(tid);
        return 1;
    }
    for (i = 0; i < threads; i++) {
        share[i] = (triad_share){mem + 3 * per * (size_t)i, mem + (3 * (size_t)i + 1) * per,
                                 mem + (3 * (size_t)i + 2) * per, per, &start, 0.0};
        if (i > 0 && pthread_create(&tid[i], NULL, triad_worker, &share[i]) != 0) {
            /* the started workers wait on the barrier for good: leave with them */
            fprintf(stderr, "bench_roofline: triad: cannot start %d threads\n", threads);
            exit(1);
        }
    }
    triad_worker(&share[0]);
    for (i = 0; i < threads; i++) {
        if (i > 0)
            pthread_join(tid[i], NULL);
        if (share[i].seconds > slowest)
            slowest = share[i].seconds;
    }
    pthread_barrier_destroy(&start);
    free(mem), free(share), free(tid);
    *gbps = 12.0 * (double)per * threads / slowest / 1e9;
    return 0;
}

/* The L3 of CPU 0 in MiB, as sysfs gives it (0 when unknown; glibc's
 * sysconf answered 320 MiB for a 32 MiB L3 on an EPYC VM). */
static size_t l3_mib(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r");
    unsigned long kib = 0;
    if (f) {
        if (fscanf(f, "%luK", &kib) != 1)
            kib = 0;
        fclose(f);
    }
    return kib >> 10;
}

/* OpenBLAS's name for the kernels it runs ("unknown" for another BLAS). */
static const char *blas_core(void)
{
    char *(*core)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    return core ? core() : "unknown";
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_roofline isa | sgemm-lib N... | sgemm-blas N... | "
                    "triad [MIB]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int threads = threads_from_env();
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "isa")) {
        printf("ISA %s\n", bgm_kernel_isa());
        return 0;
    }
    if (!strcmp(mode, "sgemm-lib") || !strcmp(mode, "sgemm-blas")) {
        int blas = mode[6] == 'b';
        if (argc < 3)
            return usage();
        if (!blas && bgm_set_num_threads(threads) != BGM_OK) {
            fprintf(stderr, "bench_roofline: threads: %s\n", bgm_last_error());
            return 1;
        }
        for (int i = 2; i < argc; i++) {
            int64_t n = atoll(argv[i]);
            double t;
            if (n < 1 || n > 46340) /* n * n fits an int for BLAS */
                return usage();
            if (blas ? sgemm_blas(&t, n, threads) : sgemm_lib(&t, n))
                return 1;
            printf("ROOF kind=%s n=%lld gflops=%.1f seconds=%.4f threads=%d core=%s\n",
                   blas ? "sgemm_blas" : "sgemm_lib", (long long)n,
                   2.0 * (double)n * (double)n * (double)n / t / 1e9, t, threads,
                   blas ? blas_core() : bgm_kernel_isa());
        }
        return 0;
    }
    if (!strcmp(mode, "triad")) {
        size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 4 * l3_mib();
        double gbps;
        if (mib < 64 && argc <= 2)
            mib = 64;
        if (mib < 1)
            return usage();
        if (triad(&gbps, mib, threads))
            return 1;
        printf("ROOF kind=triad mib=%zu gbps=%.1f threads=%d\n", mib, gbps, threads);
        return 0;
    }
    return usage();
}
