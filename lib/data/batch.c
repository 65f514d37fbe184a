/* bgm_batch_iter: batches of a dataset copied into one reusable buffer. */
#include "dataset_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"

struct bgm_batch_iter {
    int nt, nx;            /* tensors: nx features then nt - nx targets */
    bgm_tensor **src;      /* nt views of the dataset's tensors */
    bgm_tensor **buf;      /* nt buffers of min(batch, n) samples */
    bgm_tensor **part;     /* nt views of the buffers' first n % batch rows: the
                            * last, partial batch (NULL when there is none) */
    bgm_tensor **cur;      /* nt: the batch handed out (buffers or parts) */
    int64_t n, batch, pos;
    int drop;
    int64_t *order;        /* sample order of this pass, or NULL for 0..n-1 */
    bgm_rng rng;
    /* A shard (bgm__batch_iter_create_shard): the pass is samples
     * rank, rank + nranks, ... of the order over all total samples; n of them. */
    int rank, nranks;
    int64_t total;
    int shuffled;          /* order is drawn from rng (bgm_batch_iter_shuffle) */
};

BGM_API void bgm_batch_iter_free(bgm_batch_iter *it)
{
    int i;
    if (!it)
        return;
    for (i = 0; it->src && i < it->nt; i++) {
        bgm_tensor_free(it->src[i]);
        bgm_tensor_free(it->buf[i]);
        bgm_tensor_free(it->part[i]);
    }
    free(it->src);
    free(it->order);
    free(it);
}

/* The buffer for t's samples, and the view of its first `partial` rows. */
static bgm_status make_buffers(bgm_tensor **buf, bgm_tensor **part, const char *func,
                               const bgm_tensor *t, int64_t rows, int64_t partial)
{
    int64_t shape[BGM_MAX_DIMS];
    bgm_status s;
    memcpy(shape, t->shape, sizeof shape);
    shape[0] = rows;
    s = bgm__tensor_new(buf, func, t->dtype, shape, t->ndim);
    if (s == BGM_OK && partial > 0)
        s = bgm_tensor_slice(part, *buf, 0, partial);
    return s;
}

BGM_API bgm_status bgm_batch_iter_create(bgm_batch_iter **out, const bgm_dataset *ds,
                                         int64_t batch_size, int drop_remainder)
{
    return bgm__batch_iter_create_shard(out, ds, batch_size, drop_remainder, 0, 1);
}

/* The pass's order for a shard: every nranks-th index of the order over all
 * samples (it->order filled for total), from rank on, moved to the front. */
static void take_shard(bgm_batch_iter *it)
{
    int64_t j;
    for (j = 0; j < it->n; j++) /* rank + nranks * j >= j: a forward copy is safe */
        it->order[j] = it->order[it->rank + (int64_t)it->nranks * j];
}

bgm_status bgm__batch_iter_create_shard(bgm_batch_iter **out, const bgm_dataset *ds,
                                        int64_t batch_size, int drop_remainder, int rank,
                                        int nranks)
{
    static const char *fn = "bgm_batch_iter_create";
    bgm_batch_iter *it;
    bgm_status s = BGM_OK;
    int64_t n, rows;
    int i;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ds, fn);
    if (batch_size < 1)
        return bgm__fail(BGM_E_INVALID, "%s: batch_size must be >= 1, got %lld", fn,
                         (long long)batch_size);
    it = calloc(1, sizeof *it);
    if (it) /* the four arrays of nt entries in one block */
        it->src = calloc(4 * (size_t)(ds->nx + ds->ny), sizeof *it->src);
    if (!it || !it->src) {
        free(it);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    it->nt = ds->nx + ds->ny;
    it->nx = ds->nx;
    it->buf = it->src + it->nt;
    it->part = it->buf + it->nt;
    it->cur = it->part + it->nt;
    it->total = ds->x->shape[0];
    it->rank = rank;
    it->nranks = nranks;
    n = it->total / nranks; /* the same count on every rank: the remainder sits out */
    rows = batch_size < n ? batch_size : n;
    it->n = n;
    it->batch = batch_size;
    it->drop = drop_remainder != 0;
    for (i = 0; s == BGM_OK && i < it->nt; i++) {
        s = bgm_tensor_slice(&it->src[i], ds->t[i], 0, it->total);
        if (s == BGM_OK)
            s = make_buffers(&it->buf[i], &it->part[i], fn, it->src[i], rows,
                             n % batch_size);
    }
    if (s == BGM_OK && nranks > 1) { /* even unshuffled, a shard reads through order */
        it->order = malloc((size_t)(it->total ? it->total : 1) * sizeof *it->order);
        if (!it->order)
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", fn,
                          (long long)it->total);
    }
    if (s != BGM_OK) {
        bgm_batch_iter_free(it);
        return s;
    }
    bgm_batch_iter_reset(it);
    *out = it;
    return BGM_OK;
}

/* Copies `count` samples of this pass, starting at position pos, into dst. */
static void fill(bgm_tensor *dst, const bgm_tensor *src, const int64_t *order, int64_t pos,
                 int64_t count)
{
    size_t row;
    if (order) {
        bgm__gather_rows(dst, src, order + pos, count);
        return;
    }
    row = (size_t)bgm__sample_numel(src) * bgm_dtype_size(src->dtype);
    if (row && count)
        memcpy(dst->data, (const char *)src->data + (size_t)pos * row, (size_t)count * row);
}

/* Fills every buffer with the next batch and points it->cur at them; 0 at
 * the end of the pass. */
static int advance(bgm_batch_iter *it)
{
    int64_t left = it->n - it->pos, count;
    int full, i;
    if (left <= 0 || (it->drop && left < it->batch))
        return 0;
    full = left >= it->batch;
    count = full ? it->batch : left;
    for (i = 0; i < it->nt; i++) {
        fill(it->buf[i], it->src[i], it->order, it->pos, count);
        it->cur[i] = full ? it->buf[i] : it->part[i];
    }
    it->pos += count;
    return 1;
}

BGM_API bgm_status bgm_batch_iter_next(int *has_batch, const bgm_tensor **x,
                                       const bgm_tensor **y, bgm_batch_iter *it)
{
    static const char *fn = "bgm_batch_iter_next";
    if (x)
        *x = NULL;
    if (y)
        *y = NULL;
    BGM__CHECK_NULL(has_batch, fn);
    *has_batch = 0;
    BGM__CHECK_NULL(it, fn);
    if (it->nx != 1 || it->nt > 2)
        return bgm__fail(BGM_E_INVALID, "%s: the dataset holds %d features and %d targets "
                         "tensors; take its batches with bgm_batch_iter_next_multi", fn,
                         it->nx, it->nt - it->nx);
    *has_batch = advance(it);
    if (*has_batch && x)
        *x = it->cur[0];
    if (*has_batch && y && it->nt == 2)
        *y = it->cur[1];
    return BGM_OK;
}

BGM_API bgm_status bgm_batch_iter_next_multi(int *has_batch, const bgm_tensor **xs, int nx,
                                             const bgm_tensor **ys, int ny,
                                             bgm_batch_iter *it)
{
    static const char *fn = "bgm_batch_iter_next_multi";
    int i;
    BGM__CHECK_NULL(has_batch, fn);
    *has_batch = 0;
    BGM__CHECK_NULL(it, fn);
    BGM__CHECK_NULL(xs, fn);
    if (ny > 0)
        BGM__CHECK_NULL(ys, fn);
    if (nx != it->nx || ny != it->nt - it->nx)
        return bgm__fail(BGM_E_INVALID, "%s: the dataset holds %d features and %d targets "
                         "tensors, got room for %d and %d", fn, it->nx, it->nt - it->nx,
                         nx, ny);
    *has_batch = advance(it);
    for (i = 0; i < it->nt; i++) {
        const bgm_tensor *t = *has_batch ? it->cur[i] : NULL;
        if (i < nx)
            xs[i] = t;
        else
            ys[i - nx] = t;
    }
    return BGM_OK;
}

BGM_API void bgm_batch_iter_reset(bgm_batch_iter *it)
{
    if (!it)
        return;
    it->pos = 0;
    if (!it->order)
        return;
    if (it->shuffled) {
        bgm__permutation(it->order, it->total, &it->rng);
    } else {
        int64_t j;
        for (j = 0; j < it->total; j++)
            it->order[j] = j;
    }
    if (it->nranks > 1)
        take_shard(it);
}

BGM_API bgm_status bgm_batch_iter_shuffle(bgm_batch_iter *it, uint64_t seed)
{
    static const char *fn = "bgm_batch_iter_shuffle";
    BGM__CHECK_NULL(it, fn);
    if (!it->order) {
        it->order = malloc((size_t)(it->total ? it->total : 1) * sizeof *it->order);
        if (!it->order)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", fn,
                             (long long)it->total);
    }
    it->shuffled = 1;
    bgm__rng_seed(&it->rng, seed);
    bgm_batch_iter_reset(it);
    return BGM_OK;
}

BGM_API int64_t bgm_batch_iter_num_batches(const bgm_batch_iter *it)
{
    if (!it)
        return 0;
    return it->n / it->batch + (!it->drop && it->n % it->batch != 0);
}
