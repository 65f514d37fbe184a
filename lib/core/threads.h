/* Internal thread pool: the one pool of the library. */
#ifndef BGM_CORE_THREADS_H
#define BGM_CORE_THREADS_H

#include <stdint.h>

/* Work on items [begin, end) of a range; must not fail. */
typedef void (*bgm__range_fn)(void *ctx, int64_t begin, int64_t end);

/*
 * Runs fn over [0, n) split in contiguous pieces of at least min_chunk items
 * on the pool's threads (the caller's thread takes a piece too) and returns
 * when all are done. When the pool is busy (another thread, or a nested
 * call) the whole range runs on the calling thread, so it never deadlocks.
 * Pieces start at multiples of one chunk >= min_chunk, so begin / min_chunk
 * tells pieces apart (a slot index below ceil(n / min_chunk)) whichever
 * thread runs them.
 */
void bgm__parallel_for(int64_t n, int64_t min_chunk, bgm__range_fn fn, void *ctx);

/*
 * The number of threads bgm__parallel_for may use (the bgm_set_num_threads
 * setting, else the online cores). The first call also makes BLAS
 * single-threaded: the library splits products over its own pool.
 */
int bgm__pool_threads(void);

/* Tells BLAS to use n threads (no-op when the BLAS has no such knob). */
void bgm__blas_set_threads(int n);

#endif
