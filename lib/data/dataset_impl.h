/* Internal layout of bgm_dataset, shared by the data module's files. Never public. */
#ifndef BGM_DATA_DATASET_IMPL_H
#define BGM_DATA_DATASET_IMPL_H

#include "bigmodel/data.h"
#include "core/rng.h"

/*
 * A dataset owns its tensor handles: nx >= 1 features tensors then ny >= 0
 * targets tensors of one sample count N (a pair: nx = 1, ny = 0 or 1; a
 * model of several inputs and outputs takes more). Each is a view of
 * (possibly shared) refcounted storage, so datasets derived by views (take,
 * skip) and the caller's tensors stay valid whichever is freed first.
 * Everything derived from a dataset (views, gathers, batches) treats all its
 * tensors alike, with one index list, so samples stay aligned across them.
 */
struct bgm_dataset {
    bgm_tensor **t;  /* nx features then ny targets tensors */
    int nx, ny;
    bgm_tensor *x;   /* t[0]: the (first) features (N, ...), float32 or int32 */
    bgm_tensor *y;   /* t[nx]: the (first) targets, int32 or float32, or NULL */
};

/* Checks that x and y (y may be NULL) can form a dataset; messages name func. */
bgm_status bgm__dataset_check(const char *func, const bgm_tensor *x, const bgm_tensor *y);

/*
 * New dataset that takes ownership of the caller-owned handles x and y
 * (y may be NULL): on failure they are freed too. Checks them first.
 */
bgm_status bgm__dataset_adopt(bgm_dataset **out, const char *func, bgm_tensor *x,
                              bgm_tensor *y);

/* BGM_E_INVALID naming func unless ds is a pair (one features tensor, at most
 * one targets tensor): for the functions that read only ds->x and ds->y. */
bgm_status bgm__dataset_need_pair(const char *func, const bgm_dataset *ds);

/* New dataset holding copies of ds's samples idx[0..n), in that order; every
 * index must be in [0, N) (checked: BGM_E_RANGE names the position). */
bgm_status bgm__dataset_gather(bgm_dataset **out, const char *func, const bgm_dataset *ds,
                               const int64_t *idx, int64_t n);

/* Elements in one sample of t: the product of t's dimensions after the first. */
int64_t bgm__sample_numel(const bgm_tensor *t);

/* Copies sample rows idx[0..n) of src into consecutive rows of dst (same dtype
 * and sample size, dst has >= n rows). Indices must already be valid. */
void bgm__gather_rows(bgm_tensor *dst, const bgm_tensor *src, const int64_t *idx, int64_t n);

/* bgm_batch_iter_create for rank's share of the samples among nranks
 * (1 <= nranks, 0 <= rank < nranks): each pass (reset or shuffle) orders all
 * N samples as one process would, then this rank takes positions rank,
 * rank + nranks, ...: floor(N / nranks) samples, so every rank makes the same
 * batches and step k of all ranks together is the k-th batch of nranks *
 * batch_size of the one-process order. */
bgm_status bgm__batch_iter_create_shard(bgm_batch_iter **out, const bgm_dataset *ds,
                                        int64_t batch_size, int drop_remainder, int rank,
                                        int nranks);

/* Writes a uniformly random permutation of 0..n-1 into idx (Fisher-Yates). */
void bgm__permutation(int64_t *idx, int64_t n, bgm_rng *rng);

#endif
