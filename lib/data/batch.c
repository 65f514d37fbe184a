/* bgm_batch_iter: batches of a dataset copied into one reusable buffer. */
#include "dataset_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"

struct bgm_batch_iter {
    bgm_tensor *x, *y;     /* views of the dataset's tensors (y may be NULL) */
    bgm_tensor *bx, *by;   /* buffers of min(batch, n) samples */
    bgm_tensor *px, *py;   /* views of the buffers' first n % batch rows: the
                            * last, partial batch (NULL when there is none) */
    int64_t n, batch, pos;
    int drop;
    int64_t *order;        /* sample order of this pass, or NULL for 0..n-1 */
    bgm_rng rng;
};

BGM_API void bgm_batch_iter_free(bgm_batch_iter *it)
{
    if (!it)
        return;
    bgm_tensor_free(it->x);
    bgm_tensor_free(it->y);
    bgm_tensor_free(it->bx);
    bgm_tensor_free(it->by);
    bgm_tensor_free(it->px);
    bgm_tensor_free(it->py);
    free(it->order);
    free(it);
}

/* The buffer for t's samples, and the view of its first `partial` rows. */
static bgm_status make_buffers(bgm_tensor **buf, bgm_tensor **part, const char *func,
                               const bgm_tensor *t, int64_t rows, int64_t partial)
{
    int64_t shape[BGM_MAX_DIMS];
    bgm_status s;
    if (!t)
        return BGM_OK;
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
    static const char *fn = "bgm_batch_iter_create";
    bgm_batch_iter *it;
    bgm_status s;
    int64_t n, rows;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ds, fn);
    if (batch_size < 1)
        return bgm__fail(BGM_E_INVALID, "%s: batch_size must be >= 1, got %lld", fn,
                         (long long)batch_size);
    it = calloc(1, sizeof *it);
    if (!it)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    n = ds->x->shape[0];
    rows = batch_size < n ? batch_size : n;
    it->n = n;
    it->batch = batch_size;
    it->drop = drop_remainder != 0;
    s = bgm_tensor_slice(&it->x, ds->x, 0, n);
    if (s == BGM_OK && ds->y)
        s = bgm_tensor_slice(&it->y, ds->y, 0, n);
    if (s == BGM_OK)
        s = make_buffers(&it->bx, &it->px, fn, it->x, rows, n % batch_size);
    if (s == BGM_OK)
        s = make_buffers(&it->by, &it->py, fn, it->y, rows, n % batch_size);
    if (s != BGM_OK) {
        bgm_batch_iter_free(it);
        return s;
    }
    *out = it;
    return BGM_OK;
}

/* Copies `count` samples of this pass, starting at position pos, into dst. */
static void fill(bgm_tensor *dst, const bgm_tensor *src, const int64_t *order, int64_t pos,
                 int64_t count)
{
    size_t row;
    if (!dst)
        return;
    if (order) {
        bgm__gather_rows(dst, src, order + pos, count);
        return;
    }
    row = (size_t)bgm__sample_numel(src) * bgm_dtype_size(src->dtype);
    if (row && count)
        memcpy(dst->data, (const char *)src->data + (size_t)pos * row, (size_t)count * row);
}

BGM_API bgm_status bgm_batch_iter_next(int *has_batch, const bgm_tensor **x,
                                       const bgm_tensor **y, bgm_batch_iter *it)
{
    static const char *fn = "bgm_batch_iter_next";
    int64_t left, count;
    int full;
    if (x)
        *x = NULL;
    if (y)
        *y = NULL;
    BGM__CHECK_NULL(has_batch, fn);
    *has_batch = 0;
    BGM__CHECK_NULL(it, fn);
    left = it->n - it->pos;
    if (left <= 0 || (it->drop && left < it->batch))
        return BGM_OK;
    full = left >= it->batch;
    count = full ? it->batch : left;
    fill(it->bx, it->x, it->order, it->pos, count);
    fill(it->by, it->y, it->order, it->pos, count);
    it->pos += count;
    *has_batch = 1;
    if (x)
        *x = full ? it->bx : it->px;
    if (y)
        *y = full ? it->by : it->py;
    return BGM_OK;
}

BGM_API void bgm_batch_iter_reset(bgm_batch_iter *it)
{
    if (!it)
        return;
    it->pos = 0;
    if (it->order)
        bgm__permutation(it->order, it->n, &it->rng);
}

BGM_API bgm_status bgm_batch_iter_shuffle(bgm_batch_iter *it, uint64_t seed)
{
    static const char *fn = "bgm_batch_iter_shuffle";
    BGM__CHECK_NULL(it, fn);
    if (!it->order) {
        it->order = malloc((size_t)(it->n ? it->n : 1) * sizeof *it->order);
        if (!it->order)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld indices", fn,
                             (long long)it->n);
    }
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
