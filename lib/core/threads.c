/*
 * The thread pool and the one thread-count knob shared with BLAS.
 * Workers sleep on a condition variable between jobs; a job hands out
 * contiguous pieces of its range through an atomic counter.
 */
#define _GNU_SOURCE
#include "threads.h"

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include "bigmodel/core.h"
#include "error.h"

#define BGM__MAX_THREADS 1024

typedef struct job {
    bgm__range_fn fn;
    void *ctx;
    int64_t n, chunk;
    int64_t next;        /* atomic: next unclaimed item */
    int pending;         /* atomic: workers still busy with this job */
} job;

static struct {
    pthread_mutex_t run_lock;   /* held by the thread running a job */
    pthread_mutex_t lock;       /* guards the fields below */
    pthread_cond_t wake, done;
    pthread_t workers[BGM__MAX_THREADS];
    int nworkers;               /* started workers (threads - 1) */
    int threads;                /* setting; 0 = not yet decided */
    unsigned long generation;   /* bumped per job */
    int stopping;
    job *current;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0, 0, 0};

static void run_pieces(job *j)
{
    for (;;) {
        int64_t begin = __atomic_fetch_add(&j->next, j->chunk, __ATOMIC_RELAXED);
        if (begin >= j->n)
            break;
        j->fn(j->ctx, begin, begin + j->chunk < j->n ? begin + j->chunk : j->n);
    }
}

static void *worker_main(void *arg)
{
    /* The generation current at creation: a job posted later is new to us. */
    unsigned long seen = (unsigned long)(uintptr_t)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        job *j;
        while (!pool.stopping && pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stopping)
            break;
        seen = pool.generation;
        j = pool.current;
        pthread_mutex_unlock(&pool.lock);
        run_pieces(j);
        pthread_mutex_lock(&pool.lock);
        if (--j->pending == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > BGM__MAX_THREADS ? BGM__MAX_THREADS : (int)n;
}

/* Starts threads - 1 workers; called with run_lock held. */
static void pool_start(void)
{
    int i;
    if (pool.threads == 0)
        pool.threads = online_cores();
    for (i = 0; i < pool.threads - 1; i++) {
        if (pthread_create(&pool.workers[i], NULL, worker_main,
                           (void *)(uintptr_t)pool.generation) != 0)
            break; /* run with fewer threads rather than fail */
        pool.nworkers = i + 1;
    }
}

static void pool_stop(void)
{
    int i;
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (i = 0; i < pool.nworkers; i++)
        pthread_join(pool.workers[i], NULL);
    pool.nworkers = 0;
    pool.stopping = 0;
}

void bgm__parallel_for(int64_t n, int64_t min_chunk, bgm__range_fn fn, void *ctx)
{
    job j;
    int64_t pieces;
    if (n <= 0)
        return;
    if (min_chunk < 1)
        min_chunk = 1;
    if (n <= min_chunk || pthread_mutex_trylock(&pool.run_lock) != 0) {
        fn(ctx, 0, n);
        return;
    }
    if (pool.nworkers == 0 && pool.threads != 1)
        pool_start();
    if (pool.nworkers == 0) {
        pthread_mutex_unlock(&pool.run_lock);
        fn(ctx, 0, n);
        return;
    }
    pieces = pool.nworkers + 1;
    j.fn = fn;
    j.ctx = ctx;
    j.n = n;
    j.chunk = (n + pieces - 1) / pieces;
    if (j.chunk < min_chunk)
        j.chunk = min_chunk;
    j.next = 0;
    j.pending = pool.nworkers;
    pthread_mutex_lock(&pool.lock);
    pool.current = &j;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_pieces(&j);
    pthread_mutex_lock(&pool.lock);
    while (j.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pool.current = NULL;
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.run_lock);
}

void bgm__blas_set_threads(int n)
{
    /* Looked up at run time so any CBLAS links; OpenBLAS has the knob. */
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set)
        set(n);
}

BGM_API bgm_status bgm_set_num_threads(int n)
{
    if (n < 0 || n > BGM__MAX_THREADS)
        return bgm__fail(BGM_E_INVALID, "bgm_set_num_threads: n = %d is outside 0..%d", n,
                         BGM__MAX_THREADS);
    pthread_mutex_lock(&pool.run_lock);
    pool_stop();
    pool.threads = n == 0 ? online_cores() : n;
    bgm__blas_set_threads(pool.threads);
    pthread_mutex_unlock(&pool.run_lock);
    return BGM_OK;
}

BGM_API int bgm_get_num_threads(void)
{
    int n;
    pthread_mutex_lock(&pool.run_lock);
    n = pool.threads ? pool.threads : online_cores();
    pthread_mutex_unlock(&pool.run_lock);
    return n;
}
