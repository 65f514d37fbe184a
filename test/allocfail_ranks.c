/*
 * Allocation failures on one rank of two (`make check-allocfail`,
 * docs/distributed.md "When a rank fails"): the ranks are threads of this
 * process over a communicator whose waits are bounded, and the allocation
 * hook (lib/core/alloc_hook.h) counts rank 1's allocations only. Each
 * scenario runs once without failures to count them (N), then N times,
 * failing rank 1's k-th allocation for k = 1 ... N. Whenever the failure
 * was delivered, rank 1 must return BGM_E_NOMEM with a message, no rank
 * may wait out the bound, and either
 *   - every rank fails in an agreement: rank 0 with BGM_E_STATE and the
 *     documented message naming the ranks that failed ("... (see their
 *     messages)"), and nobody called the abort hook, or
 *   - rank 1's failure fell between two collectives, where the library
 *     calls the communicator's abort hook (this one fails every later and
 *     pending collective of the group, as MPI_Abort ends the job).
 * It prints how many failures each way took. ALLOCFAIL_ONLY=<scenario>
 * runs one scenario, ALLOCFAIL_K=<k> one k; ALLOCFAIL_VERBOSE=1 names the
 * failures that took the abort hook.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bigmodel.h"
/* the hook's control functions, without its macros: the harness's own
 * allocations are not counted */
#define BGM__ALLOC_HOOK_IMPL
#include "core/alloc_hook.h"

#if defined(__GNUC__)
#define PRINTF_CHECK(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_CHECK(f, a)
#endif

#define NRANKS 2
#define WAIT_LIMIT 10.0 /* seconds a rank may wait for the others in one collective */

enum { E_ABORTED = 101, E_TIMEOUT, E_MISMATCH, E_NOMEM };

/* The ranks of one run. */
typedef struct group {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    unsigned gen;
    int aborted;       /* a rank's abort hook ran, or a wait ran out */
    int abort_calls;   /* abort hook calls */
    int timed_out;
    char why[512];
    const void *slot[NRANKS];
    int64_t len[NRANKS];
} group;

typedef struct rank_ctx {
    group *g;
    int rank;
    float *sum;
    int64_t cap;
    char err[640];
} rank_ctx;

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* 0 once every rank came; E_ABORTED after an abort, E_TIMEOUT when the
 * others did not come within WAIT_LIMIT seconds of waiting. A wait that
 * stretched far past its slice (the process stopped by SIGSTOP) counts
 * only its slice, so a paused machine is not taken for a hang. */
static int wait_all(rank_ctx *t)
{
    group *g = t->g;
    double waited = 0.0;
    unsigned gen;
    int rc = 0;
    pthread_mutex_lock(&g->mu);
    if (g->aborted) {
        pthread_mutex_unlock(&g->mu);
        return E_ABORTED;
    }
    gen = g->gen;
    if (++g->arrived == NRANKS) {
        g->arrived = 0;
        g->gen++;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        return 0;
    }
    while (g->gen == gen && !g->aborted && waited < WAIT_LIMIT) {
        double t0 = seconds(CLOCK_MONOTONIC), t1 = seconds(CLOCK_REALTIME) + 0.1;
        struct timespec deadline;
        deadline.tv_sec = (time_t)t1;
        deadline.tv_nsec = (long)((t1 - (double)deadline.tv_sec) * 1e9);
        pthread_cond_timedwait(&g->cv, &g->mu, &deadline);
        waited += fmin(seconds(CLOCK_MONOTONIC) - t0, 0.2);
    }
    if (g->gen != gen) {
        rc = 0;
    } else if (g->aborted) {
        rc = E_ABORTED;
    } else {
        g->aborted = g->timed_out = 1;
        snprintf(g->why, sizeof g->why, "rank %d waited %.0f s for the others", t->rank,
                 WAIT_LIMIT);
        pthread_cond_broadcast(&g->cv);
        rc = E_TIMEOUT;
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

static void abort_group(group *g, const char *fmt, int rank, const char *text)
{
    pthread_mutex_lock(&g->mu);
    if (!g->aborted)
        snprintf(g->why, sizeof g->why, fmt, rank, text);
    g->aborted = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static int tr_rank(void *ctx, int *rank)
{
    *rank = ((rank_ctx *)ctx)->rank;
    return 0;
}

static int tr_size(void *ctx, int *n)
{
    (void)ctx;
    *n = NRANKS;
    return 0;
}

/* Publishes data (len: its size) and waits for every rank's. */
static int publish(rank_ctx *t, const void *data, int64_t len)
{
    int r, rc;
    pthread_mutex_lock(&t->g->mu); /* after an abort the others' buffers may be gone */
    rc = t->g->aborted ? E_ABORTED : 0;
    t->g->slot[t->rank] = rc ? NULL : data;
    t->g->len[t->rank] = rc ? -1 : len;
    pthread_mutex_unlock(&t->g->mu);
    if (rc == 0)
        rc = wait_all(t);
    for (r = 0; rc == 0 && r < NRANKS; r++)
        if (t->g->len[r] != len) {
            abort_group(t->g, "collectives out of step (rank %d: %s)", t->rank,
                        "another size than this rank's");
            rc = E_MISMATCH;
        }
    return rc;
}

static int tr_allreduce(void *ctx, float *data, int64_t n)
{
    rank_ctx *t = ctx;
    int64_t i;
    int r, rc;
    if (n > t->cap) {
        free(t->sum);
        t->sum = malloc((size_t)n * sizeof *t->sum);
        t->cap = t->sum ? n : 0;
        if (!t->sum)
            return E_NOMEM;
    }
    rc = publish(t, data, n);
    for (i = 0; rc == 0 && i < n; i++) {
        float s = 0.0f;
        for (r = 0; r < NRANKS; r++)
            s += ((const float *)t->g->slot[r])[i];
        t->sum[i] = s;
    }
    if (rc == 0)
        rc = wait_all(t);
    if (rc == 0)
        memcpy(data, t->sum, (size_t)n * sizeof *data);
    return rc;
}

static int tr_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    rank_ctx *t = ctx;
    int rc = publish(t, data, nbytes);
    if (rc == 0 && t->rank != root)
        memcpy(data, t->g->slot[root], (size_t)nbytes);
    return rc == 0 ? wait_all(t) : rc;
}

/* The library's hook for a failure the other ranks cannot see. */
static void tr_abort(void *ctx, int code, const char *message)
{
    rank_ctx *t = ctx;
    (void)code;
    pthread_mutex_lock(&t->g->mu);
    t->g->abort_calls++;
    pthread_mutex_unlock(&t->g->mu);
    abort_group(t->g, "aborted by rank %d: %s", t->rank, message);
}

static const char *tr_error(void *ctx, int code)
{
    rank_ctx *t = ctx;
    pthread_mutex_lock(&t->g->mu);
    snprintf(t->err, sizeof t->err, "%s (%s)",
             code == E_ABORTED ? "the job was aborted" : code == E_TIMEOUT ? "timed out"
             : code == E_MISMATCH ? "mismatched collective" : "out of memory", t->g->why);
    pthread_mutex_unlock(&t->g->mu);
    return t->err;
}

/* ---- scenarios ------------------------------------------------------------ */

static bgm_tensor *xs, *ys, *yb; /* 40 samples of 6 features; classes 0..2; 0 / 1 */

/* s = expr, and on to done: when it failed */
#define TRY(expr) do { if ((s = (expr)) != BGM_OK) goto done; } while (0)

/* Dense, synchronized BatchNormalization, Dropout, 3 softmax classes; or
 * (binary) Dense and a sigmoid with AUC and MSE, whose states fit gathers. */
static bgm_status build(bgm_model **out, int binary, int rank)
{
    bgm_metric_kind cls = BGM_METRIC_ACCURACY, bin[2] = {BGM_METRIC_AUC, BGM_METRIC_MSE};
    bgm_optimizer *opt = NULL;
    bgm_layer *bn = NULL;
    bgm_model *m = NULL;
    bgm_status s;
    TRY(bgm_model_create(&m, (int64_t[]){6}, 1, 7 + (uint64_t)rank));
    TRY(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_RELU)));
    if (!binary) {
        bn = bgm_layer_batch_norm();
        TRY(bgm_layer_set_synchronized(bn, 1));
        s = bgm_model_add(m, bn); /* takes bn */
        bn = NULL;
        TRY(s);
        TRY(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    }
    TRY(bgm_model_add(m, bgm_layer_dense(binary ? 1 : 3,
                                       binary ? BGM_ACT_SIGMOID : BGM_ACT_SOFTMAX)));
    TRY(bgm_optimizer_adam(&opt, 0.01f, 0.9f, 0.999f, 1e-7f));
    TRY(bgm_model_compile(m, opt,
                        binary ? BGM_LOSS_BINARY_CROSSENTROPY
                               : BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                        0, binary ? bin : &cls, binary ? 2 : 1));
done:
    bgm_layer_free(bn);
    if (s != BGM_OK)
        bgm_model_free(m);
    else
        *out = m;
    return s;
}

/* One rank's part of a scenario: its inputs, made before its allocations
 * are watched (a failure there would not be the library's). */
typedef struct job {
    rank_ctx rc;
    bgm_model *m;
    bgm_tensor *xb[3], *yb[3]; /* train_on_batch: this rank's 4 rows of every 8 */
    bgm_status status;
    char msg[1024];
} job;

static bgm_status fit(job *j, const bgm_tensor *y)
{
    bgm_fit_options o;
    bgm_history *h = NULL;
    bgm_status s = bgm_fit_options_init(&o, sizeof o);
    o.epochs = 1;
    o.batch_size = 4;
    o.verbose = 0;
    o.validation_split = 0.25f;
    if (s == BGM_OK)
        s = bgm_model_fit(&h, j->m, xs, y, &o);
    bgm_history_free(h);
    return s;
}

static bgm_status run_fit(job *j) { return fit(j, ys); }

static bgm_status run_fit_gathered(job *j) { return fit(j, yb); }

static bgm_status run_evaluate(job *j)
{
    double r[2];
    return bgm_model_evaluate(r, 2, j->m, xs, ys, 8);
}

static bgm_status run_train_on_batch(job *j)
{
    double r[2];
    bgm_status s = BGM_OK;
    int k;
    for (k = 0; s == BGM_OK && k < 3; k++)
        s = bgm_model_train_on_batch(r, 2, j->m, j->xb[k], j->yb[k]);
    return s;
}

typedef struct scenario {
    const char *name;
    bgm_status (*run)(job *);
    int binary;        /* the binary model with gathered metrics */
    int batches;       /* slice this rank's train_on_batch rows first */
} scenario;

static const scenario scenarios[] = {
    {"ranks_fit", run_fit, 0, 0},
    {"ranks_fit_gathered", run_fit_gathered, 1, 0},
    {"ranks_train_on_batch", run_train_on_batch, 0, 1},
    {"ranks_evaluate", run_evaluate, 0, 0},
};

static const scenario *cur;

static void *rank_main(void *arg)
{
    job *j = arg;
    bgm_comm_ops ops;
    bgm_comm *c = NULL;
    bgm_status s;
    int k, ready = 0;
    TRY(bgm_comm_ops_init(&ops, sizeof ops));
    ops.rank = tr_rank;
    ops.num_ranks = tr_size;
    ops.allreduce_sum = tr_allreduce;
    ops.broadcast = tr_broadcast;
    ops.abort = tr_abort;
    ops.error_string = tr_error;
    TRY(bgm_comm_create(&c, &ops, &j->rc));
    TRY(build(&j->m, cur->binary, j->rc.rank));
    TRY(bgm_model_set_comm(j->m, c));
    for (k = 0; cur->batches && k < 3; k++) {
        int64_t at = 8 * k + 4 * j->rc.rank;
        TRY(bgm_tensor_slice(&j->xb[k], xs, at, at + 4));
        TRY(bgm_tensor_slice(&j->yb[k], ys, at, at + 4));
    }
    ready = 1;
    if (j->rc.rank == 1)
        bgm__alloc_hook_watch_thread(1);
    s = cur->run(j);
    bgm__alloc_hook_watch_thread(0);
done:
    j->status = s;
    snprintf(j->msg, sizeof j->msg, "%s", s != BGM_OK ? bgm_last_error() : "");
    if (s != BGM_OK && !ready) /* the set-up failed: nobody may wait for this rank */
        abort_group(j->rc.g, "rank %d could not set up: %s", j->rc.rank, j->msg);
    bgm_model_set_comm(j->m, NULL);
    bgm_model_free(j->m);
    bgm_comm_free(c);
    for (k = 0; k < 3; k++) {
        bgm_tensor_free(j->xb[k]);
        bgm_tensor_free(j->yb[k]);
    }
    free(j->rc.sum);
    return NULL;
}

/* Runs the current scenario on NRANKS threads of a new group. */
static void run_ranks(job *jobs, group *g)
{
    pthread_t th[NRANKS];
    int r;
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    memset(jobs, 0, NRANKS * sizeof *jobs);
    for (r = 0; r < NRANKS; r++) {
        jobs[r].rc.g = g;
        jobs[r].rc.rank = r;
        if (pthread_create(&th[r], NULL, rank_main, &jobs[r]) != 0) {
            fprintf(stderr, "allocfail_ranks: no thread\n");
            exit(2);
        }
    }
    for (r = 0; r < NRANKS; r++)
        pthread_join(th[r], NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

static int failures;

/* A problem found: said on stderr, counted for the exit status. */
static void problem(const char *fmt, ...) PRINTF_CHECK(1, 2);
static void problem(const char *fmt, ...)
{
    va_list ap;
    fputs("allocfail_ranks: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    failures++;
}

/* The messages of a rank that learns of another's failure in an agreement. */
static int names_the_others(const char *msg)
{
    return strstr(msg, "see their messages)") || strstr(msg, "see its message)");
}

static void run_scenario(const scenario *sc, long only_k)
{
    job jobs[NRANKS];
    group g;
    long n, k, agreed = 0, aborted = 0, absorbed = 0;
    time_t t0 = time(NULL);
    cur = sc;
    bgm__alloc_hook_only_watched(1);
    bgm__alloc_hook_arm(0);
    run_ranks(jobs, &g);
    n = bgm__alloc_hook_count();
    if (jobs[0].status != BGM_OK || jobs[1].status != BGM_OK || g.aborted) {
        problem("%s: fails without failures: rank 0: %s; rank 1: %s\n", sc->name, jobs[0].msg,
             jobs[1].msg);
        return;
    }
    for (k = only_k > 0 ? only_k : 1; k <= (only_k > 0 ? only_k : n); k++) {
        const job *r0 = &jobs[0], *r1 = &jobs[1];
        bgm__alloc_hook_arm(k);
        run_ranks(jobs, &g);
        if (!bgm__alloc_hook_failed())
            continue;
        if (g.timed_out) {
            problem("%s k=%ld: a rank hung (%s); rank 0: %s; rank 1: %s\n", sc->name, k, g.why,
                 r0->msg, r1->msg);
        } else if (r1->status == BGM_OK) {
            absorbed++; /* a documented fallback: then every rank went on */
            if (r0->status != BGM_OK || g.aborted)
                problem("%s k=%ld: rank 1 absorbed its failure, rank 0: %s\n", sc->name, k,
                     r0->msg);
        } else if (r1->status != BGM_E_NOMEM || !r1->msg[0]) {
            problem("%s k=%ld: rank 1: status %d, not BGM_E_NOMEM: %s\n", sc->name, k,
                 (int)r1->status, r1->msg);
        } else if (g.abort_calls > 0) {
            aborted++; /* between collectives: the transport ended the job */
            if (getenv("ALLOCFAIL_VERBOSE"))
                printf("%s k=%ld: abort hook: %s\n", sc->name, k, r1->msg);
            if (r0->status == BGM_E_STATE && names_the_others(r0->msg))
                problem("%s k=%ld: the ranks agreed, yet the abort hook ran: %s\n", sc->name, k,
                     r0->msg);
            else if (r0->status != BGM_OK && !strstr(r0->msg, "aborted by rank 1"))
                problem("%s k=%ld: rank 1 aborted, rank 0 failed otherwise: %s\n", sc->name, k,
                     r0->msg);
        } else if (r0->status == BGM_E_STATE && names_the_others(r0->msg)) {
            agreed++;
        } else {
            problem("%s k=%ld: rank 1 failed (%s), rank 0: status %d: %s\n", sc->name, k,
                 r1->msg, (int)r0->status, r0->status ? r0->msg : "went on");
        }
    }
    bgm__alloc_hook_arm(0);
    bgm__alloc_hook_only_watched(0);
    printf("%-22s N = %5ld  agreed %5ld  abort hook %4ld  absorbed %3ld  %4ld s\n", sc->name,
           n, agreed, aborted, absorbed, (long)(time(NULL) - t0));
    fflush(stdout);
}

int main(void)
{
    const char *only = getenv("ALLOCFAIL_ONLY");
    long only_k = getenv("ALLOCFAIL_K") ? atol(getenv("ALLOCFAIL_K")) : 0;
    bgm_rng *rng = NULL;
    bgm_status s;
    size_t i;
    int64_t r;
    TRY(bgm_set_num_threads(1));
    TRY(bgm_rng_create(&rng, 5));
    TRY(bgm_tensor_randn(&xs, rng, (int64_t[]){40, 6}, 2, 0.0f, 1.0f));
    TRY(bgm_tensor_zeros(&ys, BGM_INT32, (int64_t[]){40}, 1));
    TRY(bgm_tensor_zeros(&yb, BGM_FLOAT32, (int64_t[]){40, 1}, 2));
done:
    if (s != BGM_OK) {
        fprintf(stderr, "allocfail_ranks: set-up: %s\n", bgm_last_error());
        return 2;
    }
    for (r = 0; r < 40; r++) {
        ((int32_t *)bgm_tensor_data(ys))[r] = (int32_t)(r % 3);
        ((float *)bgm_tensor_data(yb))[r] = ((const float *)bgm_tensor_data(xs))[6 * r] > 0.0f;
    }
    bgm_rng_free(rng);
    for (i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
        if (!only || strcmp(only, scenarios[i].name) == 0)
            run_scenario(&scenarios[i], only_k);
    bgm_tensor_free(xs);
    bgm_tensor_free(ys);
    bgm_tensor_free(yb);
    printf("allocfail_ranks: %d problem(s)\n", failures);
    return failures ? 1 : 0;
}
