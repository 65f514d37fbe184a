/*
 * The thread pool and the one thread-count knob shared with BLAS.
 *
 * A job cuts its range into a few contiguous pieces per thread, dealt out as
 * one run of pieces (a share) per thread; the posting thread takes a share
 * too, and threads done with theirs take what is left of the others' (see
 * struct share). Workers sleep on a condition variable between jobs, and
 * join a job only while it is open: the posting thread never waits for a
 * worker that has not woken up yet (a futex wake-up can take longer than a
 * short job on a virtual machine), but once the pieces are gone it closes
 * the job and waits only for the workers still running one. After a job a
 * worker polls for the next one for up to WORKER_SPIN_NS before it sleeps:
 * a training step posts its jobs back to back, and a worker that is still
 * awake joins a job within a microsecond, where a futex wake-up costs tens
 * (which made splitting the products of a small MLP step pay nothing). It
 * yields its core between polls, so other work waiting for the core runs,
 * and the bound keeps an idle pool asleep.
 *
 * BLAS runs single-threaded: the library splits large products itself
 * (kernels/gemm.c), so the pool is the only pool and no two sets of threads
 * spin against each other.
 */
#define _GNU_SOURCE
#include "threads.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "bigmodel/core.h"
#include "error.h"

#define BGM__MAX_THREADS 1024

/* Polls of the posting thread's wait for workers still inside a job before
 * it sleeps: tens of microseconds (they are running, so it is short). */
#define JOIN_SPIN_POLLS 4000

/* How long a worker polls for the next job before it sleeps (see above). */
#define WORKER_SPIN_NS 100000L

/* Polls between two looks at the clock while a worker spins. */
#define WORKER_SPIN_POLLS_PER_CHECK 32

/* Pieces a job is cut into per thread (fewer when min_chunk forbids). */
#define PIECES_PER_THREAD 4

typedef struct job {
    bgm__range_fn fn;
    void *ctx;
    int64_t n, chunk;
    int nshares;         /* threads the pieces were dealt to */
    int active;          /* workers that joined and are still running pieces */
} job;

/*
 * A thread's share of the current job: a run of consecutive pieces it takes
 * first, so that successive jobs over the same data (a layer's output, then
 * its activation, then pooling) find each part in the cache of the core
 * that made it. Claims are atomic; once its own share is done a thread
 * takes what is left of the others', so a preempted thread delays little.
 * One cache line each.
 */
typedef struct share {
    int64_t next, end;   /* next unclaimed piece (atomic) and one past the last */
    char pad[64 - 2 * sizeof(int64_t)];
} share;

static struct {
    pthread_mutex_t run_lock;   /* held by the thread running a job */
    pthread_mutex_t lock;       /* guards the fields below */
    pthread_cond_t wake, done;
    pthread_t workers[BGM__MAX_THREADS];
    int nworkers;               /* started workers (threads - 1) */
    int threads;                /* setting; 0 = not yet decided */
    unsigned long generation;   /* bumped per job; read atomically while spinning */
    unsigned long start_generation; /* the generation when workers were started */
    int stopping;
    job *current;               /* the open job, NULL once closed */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0, 0, 0, 0};

/* Share i belongs to the caller's thread (0) or worker i - 1; dealt under
 * run_lock before a job is posted. */
static _Alignas(64) share shares[BGM__MAX_THREADS];

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void run_share(const job *j, int s)
{
    for (;;) {
        int64_t piece = __atomic_fetch_add(&shares[s].next, 1, __ATOMIC_RELAXED), begin;
        if (piece >= shares[s].end)
            break;
        begin = piece * j->chunk;
        j->fn(j->ctx, begin, begin + j->chunk < j->n ? begin + j->chunk : j->n);
    }
}

/* Thread self's own share, then whatever is left of the others'. */
static void run_pieces(const job *j, int self)
{
    int k;
    for (k = 0; k < j->nshares; k++)
        run_share(j, (self + k) % j->nshares);
}

static long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000000000L + (now.tv_nsec - since->tv_nsec);
}

/* Polls, without the lock, until a job after generation seen is posted, the
 * pool stops, or WORKER_SPIN_NS have passed. */
static void spin_for_job(unsigned long seen)
{
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        int i;
        for (i = 0; i < WORKER_SPIN_POLLS_PER_CHECK; i++) {
            if (__atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE) != seen ||
                __atomic_load_n(&pool.stopping, __ATOMIC_RELAXED))
                return;
            cpu_relax();
        }
        sched_yield(); /* lets whatever else waits for this core run */
    } while (elapsed_ns(&start) < WORKER_SPIN_NS);
}

static void *worker_main(void *arg)
{
    const int self = (int)(intptr_t)arg;
    /* The generation current at creation: a job posted later is new to us. */
    unsigned long seen = pool.start_generation;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        job *j;
        if (!pool.stopping && pool.generation == seen) {
            pthread_mutex_unlock(&pool.lock);
            spin_for_job(seen);
            pthread_mutex_lock(&pool.lock);
        }
        while (!pool.stopping && pool.generation == seen)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (pool.stopping)
            break;
        seen = pool.generation;
        j = pool.current;
        if (!j)
            continue; /* closed before we woke up: its pieces are done */
        __atomic_add_fetch(&j->active, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&pool.lock);
        run_pieces(j, self < j->nshares ? self : 0);
        pthread_mutex_lock(&pool.lock);
        if (__atomic_sub_fetch(&j->active, 1, __ATOMIC_RELEASE) == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static pthread_once_t cores_once = PTHREAD_ONCE_INIT;
static int cores;

static void count_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cores = n < 1 ? 1 : n > BGM__MAX_THREADS ? BGM__MAX_THREADS : (int)n;
}

/* Counted once: glibc's sysconf reads a file in /sys on every call, and
 * bgm__pool_threads runs before every matrix product. */
static int online_cores(void)
{
    pthread_once(&cores_once, count_cores);
    return cores;
}

/* Starts threads - 1 workers; called with run_lock held. */
static void pool_start(void)
{
    int i;
    if (pool.threads == 0)
        __atomic_store_n(&pool.threads, online_cores(), __ATOMIC_RELAXED);
    pool.start_generation = pool.generation;
    for (i = 0; i < pool.threads - 1; i++) {
        void *self = (void *)(intptr_t)(i + 1);
        if (pthread_create(&pool.workers[i], NULL, worker_main, self) != 0)
            break; /* run with fewer threads rather than fail */
        pool.nworkers = i + 1;
    }
}

static void pool_stop(void)
{
    int i;
    pthread_mutex_lock(&pool.lock);
    __atomic_store_n(&pool.stopping, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (i = 0; i < pool.nworkers; i++)
        pthread_join(pool.workers[i], NULL);
    pool.nworkers = 0;
    __atomic_store_n(&pool.stopping, 0, __ATOMIC_RELAXED);
}

void bgm__parallel_for(int64_t n, int64_t min_chunk, bgm__range_fn fn, void *ctx)
{
    job j;
    int64_t pieces;
    int i;
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
    /* A few pieces per thread: a thread the OS preempts then holds up only
     * a small piece, which the others can take over. */
    pieces = (int64_t)(pool.nworkers + 1) * PIECES_PER_THREAD;
    j.fn = fn;
    j.ctx = ctx;
    j.n = n;
    j.chunk = (n + pieces - 1) / pieces;
    if (j.chunk < min_chunk)
        j.chunk = min_chunk;
    pieces = (n + j.chunk - 1) / j.chunk;
    j.nshares = pool.nworkers + 1;
    for (i = 0; i < j.nshares; i++) {
        shares[i].next = pieces * i / j.nshares;
        shares[i].end = pieces * (i + 1) / j.nshares;
    }
    j.active = 0;
    pthread_mutex_lock(&pool.lock);
    pool.current = &j;
    __atomic_store_n(&pool.generation, pool.generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_pieces(&j, 0);
    /* Close the job: late workers skip it; wait for those inside it. */
    pthread_mutex_lock(&pool.lock);
    pool.current = NULL;
    pthread_mutex_unlock(&pool.lock);
    for (i = 0; i < JOIN_SPIN_POLLS && __atomic_load_n(&j.active, __ATOMIC_ACQUIRE) > 0; i++)
        cpu_relax();
    pthread_mutex_lock(&pool.lock);
    while (j.active > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.run_lock);
}

static void blas_single_thread(void) { bgm__blas_set_threads(1); }

int bgm__pool_threads(void)
{
    int n = __atomic_load_n(&pool.threads, __ATOMIC_RELAXED);
    pthread_once(&blas_once, blas_single_thread);
    return n ? n : online_cores();
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
    __atomic_store_n(&pool.threads, n == 0 ? online_cores() : n, __ATOMIC_RELAXED);
    pthread_once(&blas_once, blas_single_thread);
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
