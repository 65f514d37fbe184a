/*
 * bgm_stream: batches filled by a user callback on a background thread.
 *
 * A ring of prefetch + 1 slots, each with its own buffers made at create.
 * The producer (the stream's thread) fills the slot after the last filled
 * one while fewer than depth slots are filled or held; the consumer (fit,
 * evaluate or predict) takes the oldest filled slot and holds it until its
 * next call. A slot carries a batch, the end of a pass, or a failure;
 * after an end or failure the producer sleeps until the consumer asks for
 * a new pass (reset) or stops it. One mutex guards the ring; the producer
 * runs the callbacks without it.
 */
#include "data/stream.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"

#define MSG_SIZE 512
#define SPEC_V1_SIZE (offsetof(bgm_stream_spec, ctx) + sizeof(void *))

enum { SLOT_BATCH, SLOT_END, SLOT_ERROR };

typedef struct slot {
    bgm_tensor **buf;   /* nt buffers of batch_size rows */
    bgm_tensor **part;  /* nt views of the first rows of a short batch, or NULL */
    int64_t rows;
    int kind;
    bgm_status status;
    char msg[MSG_SIZE];
} slot;

struct bgm_stream {
    bgm_stream_spec spec;
    /* num_x then num_y, then the sample weights' when weighted */
    bgm_stream_tensor desc[2 * BGM__STREAM_MAX_TENSORS + 1];
    int nt, depth;
    int weighted;       /* the batches carry sample weights (the last buffer) */
    slot *slots;

    pthread_mutex_t mu;
    pthread_cond_t can_fill, can_take;
    pthread_t thread;
    int running;        /* the thread exists (joined by close) */
    int busy;           /* a call has the stream open */
    int head, count;    /* oldest filled slot, and how many are filled */
    int held;           /* slot handed to the consumer, or -1 */
    int stop;           /* consumer: the thread must exit */
    int ended;          /* consumer took an end or failure: the pass is over */
    int waiting;        /* producer: stored an end or failure, sleeps */
    int restart;        /* consumer: start a new pass */
    int64_t batch;      /* producer: index of the next batch in the pass */
};

BGM_API void bgm_stream_spec_init(bgm_stream_spec *spec)
{
    if (!spec)
        return;
    memset(spec, 0, sizeof *spec);
    spec->size = sizeof *spec;
    spec->num_x = 1;
    spec->batch_size = 32;
    spec->batches_per_epoch = -1;
    spec->prefetch = 2;
}

const bgm_stream_tensor *bgm__stream_tensor(const bgm_stream *st, int i)
{
    return &st->desc[i];
}

/* Checks description i of the spec (named what). */
static bgm_status check_desc(const bgm_stream_tensor *d, const char *what, const char *fn)
{
    int k;
    if (d->dtype != BGM_FLOAT32 && d->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: %s.dtype = %d, expected BGM_FLOAT32 or "
                         "BGM_INT32", fn, what, (int)d->dtype);
    if (d->ndim < 0 || d->ndim >= BGM_MAX_DIMS)
        return bgm__fail(BGM_E_INVALID, "%s: %s.ndim = %d, expected 0..%d (one sample's "
                         "dimensions)", fn, what, d->ndim, BGM_MAX_DIMS - 1);
    for (k = 0; k < d->ndim; k++)
        if (d->shape[k] < 0)
            return bgm__fail(BGM_E_INVALID, "%s: %s.shape[%d] = %lld is negative", fn, what,
                             k, (long long)d->shape[k]);
    return BGM_OK;
}

static bgm_status check_spec(const bgm_stream_spec *sp, const char *fn)
{
    char what[16];
    bgm_status s = BGM_OK;
    int i;
    if (sp->size < SPEC_V1_SIZE)
        return bgm__fail(BGM_E_INVALID, "%s: spec->size = %zu is too small (%zu expected); "
                         "set the spec up with bgm_stream_spec_init", fn, sp->size,
                         sizeof *sp);
    if (!sp->fill)
        return bgm__fail(BGM_E_INVALID, "%s: spec->fill is NULL", fn);
    if (sp->num_x < 1 || sp->num_x > BGM__STREAM_MAX_TENSORS || sp->num_y < 0 ||
        sp->num_y > BGM__STREAM_MAX_TENSORS)
        return bgm__fail(BGM_E_INVALID, "%s: num_x = %d and num_y = %d, expected 1..%d "
                         "features and 0..%d targets tensors", fn, sp->num_x, sp->num_y,
                         BGM__STREAM_MAX_TENSORS, BGM__STREAM_MAX_TENSORS);
    if (!sp->x || (sp->num_y > 0 && !sp->y))
        return bgm__fail(BGM_E_INVALID, "%s: spec->%s is NULL", fn, sp->x ? "y" : "x");
    if (sp->batch_size < 1)
        return bgm__fail(BGM_E_INVALID, "%s: batch_size = %lld, expected at least 1", fn,
                         (long long)sp->batch_size);
    if (sp->prefetch < 1)
        return bgm__fail(BGM_E_INVALID, "%s: prefetch = %d, expected at least 1", fn,
                         sp->prefetch);
    if (sp->batches_per_epoch == 0 || sp->batches_per_epoch < -1)
        return bgm__fail(BGM_E_INVALID, "%s: batches_per_epoch = %lld, expected a positive "
                         "count or -1 (unknown)", fn, (long long)sp->batches_per_epoch);
    for (i = 0; s == BGM_OK && i < sp->num_x + sp->num_y; i++) {
        snprintf(what, sizeof what, "%s[%d]", i < sp->num_x ? "x" : "y",
                 i < sp->num_x ? i : i - sp->num_x);
        s = check_desc(i < sp->num_x ? &sp->x[i] : &sp->y[i - sp->num_x], what, fn);
    }
    if (s != BGM_OK || sp->size < sizeof *sp || !sp->sample_weight)
        return s;
    if (sp->num_y < 1)
        return bgm__fail(BGM_E_INVALID, "%s: sample_weight with num_y = 0: weights go with "
                         "targets", fn);
    if (sp->sample_weight->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: sample_weight.dtype = %d, expected BGM_FLOAT32",
                         fn, (int)sp->sample_weight->dtype);
    return check_desc(sp->sample_weight, "sample_weight", fn);
}

static void free_parts(slot *sl, int nt)
{
    int i;
    for (i = 0; i < nt; i++) {
        bgm_tensor_free(sl->part[i]);
        sl->part[i] = NULL;
    }
}

BGM_API void bgm_stream_free(bgm_stream *st)
{
    int k, i;
    if (!st)
        return;
    bgm__stream_close(st);
    for (k = 0; st->slots && k < st->depth; k++) {
        if (!st->slots[k].buf)
            continue;
        free_parts(&st->slots[k], st->nt);
        for (i = 0; i < st->nt; i++)
            bgm_tensor_free(st->slots[k].buf[i]);
        free(st->slots[k].buf);
    }
    free(st->slots);
    pthread_mutex_destroy(&st->mu);
    pthread_cond_destroy(&st->can_fill);
    pthread_cond_destroy(&st->can_take);
    free(st);
}

/* The buffers of one slot. */
static bgm_status make_slot(slot *sl, const bgm_stream *st, const char *fn)
{
    int64_t shape[BGM_MAX_DIMS];
    bgm_status s = BGM_OK;
    int i;
    sl->buf = calloc(2 * (size_t)st->nt, sizeof *sl->buf);
    if (!sl->buf)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    sl->part = sl->buf + st->nt;
    for (i = 0; s == BGM_OK && i < st->nt; i++) {
        const bgm_stream_tensor *d = &st->desc[i];
        shape[0] = st->spec.batch_size;
        memcpy(shape + 1, d->shape, (size_t)d->ndim * sizeof *shape);
        s = bgm__tensor_new(&sl->buf[i], fn, d->dtype, shape, d->ndim + 1);
    }
    return s;
}

BGM_API bgm_status bgm_stream_create(bgm_stream **out, const bgm_stream_spec *spec)
{
    static const char *fn = "bgm_stream_create";
    bgm_stream *st;
    bgm_status s;
    int k;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(spec, fn);
    s = check_spec(spec, fn);
    if (s != BGM_OK)
        return s;
    st = calloc(1, sizeof *st);
    if (!st)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    memcpy(&st->spec, spec, spec->size < sizeof *spec ? spec->size : sizeof *spec);
    st->spec.size = sizeof st->spec;
    st->nt = spec->num_x + spec->num_y;
    memcpy(st->desc, spec->x, (size_t)spec->num_x * sizeof *spec->x);
    if (spec->num_y > 0)
        memcpy(st->desc + spec->num_x, spec->y, (size_t)spec->num_y * sizeof *spec->y);
    if (st->spec.sample_weight) {
        st->desc[st->nt] = *st->spec.sample_weight;
        st->spec.sample_weight = &st->desc[st->nt++];
        st->weighted = 1;
    }
    st->spec.x = st->desc;
    st->spec.y = st->desc + spec->num_x;
    st->depth = spec->prefetch + 1;
    st->held = -1;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->can_fill, NULL);
    pthread_cond_init(&st->can_take, NULL);
    st->slots = calloc((size_t)st->depth, sizeof *st->slots);
    s = st->slots ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    for (k = 0; s == BGM_OK && k < st->depth; k++)
        s = make_slot(&st->slots[k], st, fn);
    if (s != BGM_OK) {
        bgm_stream_free(st);
        return s;
    }
    *out = st;
    return BGM_OK;
}

BGM_API int64_t bgm_stream_batches_per_epoch(const bgm_stream *st)
{
    return st ? st->spec.batches_per_epoch : 0;
}

BGM_API int bgm_stream_num_x(const bgm_stream *st) { return st ? st->spec.num_x : 0; }

BGM_API int bgm_stream_num_y(const bgm_stream *st) { return st ? st->spec.num_y : 0; }

BGM_API int bgm_stream_has_sample_weight(const bgm_stream *st)
{
    return st ? st->weighted : 0;
}

/* ---- the producer ------------------------------------------------------------ */

/* Runs the callbacks for one slot (without the lock): reset first when a
 * pass starts, then fill; sets the slot's kind, rows and failure. */
static void produce(bgm_stream *st, slot *sl, int new_pass)
{
    const bgm_stream_spec *sp = &st->spec;
    const char *which = "reset";
    bgm_status s = BGM_OK;
    int64_t rows = 0;
    sl->msg[0] = '\0';
    if (new_pass) {
        st->batch = 0;
        if (sp->reset)
            s = sp->reset(sp->ctx, sl->msg, sizeof sl->msg);
    }
    if (s == BGM_OK) {
        which = "fill";
        s = sp->fill(sp->ctx, st->batch, sl->buf, sp->num_y ? sl->buf + sp->num_x : NULL,
                     &rows, sl->msg, sizeof sl->msg);
    }
    sl->msg[sizeof sl->msg - 1] = '\0';
    if (s == BGM_OK && (rows < 0 || rows > sp->batch_size)) {
        s = BGM_E_RANGE;
        snprintf(sl->msg, sizeof sl->msg, "the fill callback reported %lld rows for batch "
                 "%lld, expected 0..%lld (batch_size)", (long long)rows,
                 (long long)st->batch, (long long)sp->batch_size);
    } else if (s != BGM_OK && !sl->msg[0]) {
        snprintf(sl->msg, sizeof sl->msg, "the %s callback returned %s without a message",
                 which, bgm_status_string(s));
    }
    sl->status = s;
    sl->rows = rows;
    sl->kind = s != BGM_OK ? SLOT_ERROR : rows == 0 ? SLOT_END : SLOT_BATCH;
    st->batch++;
}

static void *producer(void *arg)
{
    bgm_stream *st = arg;
    int new_pass = 1;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        slot *sl;
        while (!st->stop && (st->count + (st->held >= 0) >= st->depth ||
                             (st->waiting && !st->restart)))
            pthread_cond_wait(&st->can_fill, &st->mu);
        if (st->stop)
            break;
        if (st->waiting) {
            st->waiting = st->restart = 0;
            new_pass = 1;
        }
        sl = &st->slots[(st->head + st->count) % st->depth];
        pthread_mutex_unlock(&st->mu);
        produce(st, sl, new_pass);
        new_pass = 0;
        pthread_mutex_lock(&st->mu);
        st->count++;
        st->waiting = sl->kind != SLOT_BATCH;
        pthread_cond_signal(&st->can_take);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

/* ---- the consumer ------------------------------------------------------------ */

bgm_status bgm__stream_open(bgm_stream *st, const char *fn)
{
    int was_busy;
    BGM__CHECK_NULL(st, fn);
    pthread_mutex_lock(&st->mu);
    was_busy = st->busy;
    st->busy = 1;
    pthread_mutex_unlock(&st->mu);
    if (was_busy)
        return bgm__fail(BGM_E_STATE, "%s: the stream is in use by another fit, evaluate "
                         "or predict call", fn);
    return BGM_OK;
}

bgm_status bgm__stream_begin(bgm_stream *st, const char *fn)
{
    bgm_status s = BGM_OK;
    int err;
    pthread_mutex_lock(&st->mu);
    if (!st->running) {
        st->ended = 0;
        err = pthread_create(&st->thread, NULL, producer, st);
        if (err == 0)
            st->running = 1;
        else
            s = bgm__fail(BGM_E_NOMEM, "%s: cannot start the stream's thread (error %d)",
                          fn, err);
    } else {
        /* Mid-pass, unless the end of the pass is next in the queue (the last
         * epoch took exactly the pass's batches): then it is taken here. */
        if (!st->ended) {
            while (st->count == 0)
                pthread_cond_wait(&st->can_take, &st->mu);
            if (st->slots[st->head].kind == SLOT_END) {
                st->head = (st->head + 1) % st->depth;
                st->count--;
                st->ended = 1;
            }
        }
        if (st->ended) {
            st->ended = 0;
            st->restart = 1;
            pthread_cond_signal(&st->can_fill);
        }
    }
    pthread_mutex_unlock(&st->mu);
    return s;
}

/* Gives the held slot back (its short-batch views freed). Lock held. */
static void release_held(bgm_stream *st)
{
    if (st->held < 0)
        return;
    free_parts(&st->slots[st->held], st->nt);
    st->held = -1;
    pthread_cond_signal(&st->can_fill);
}

bgm_status bgm__stream_next(bgm_stream *st, int *has, const bgm_tensor **xs,
                            const bgm_tensor **ys, const char *fn)
{
    bgm_status s = BGM_OK;
    slot *sl;
    int i, idx;
    *has = 0;
    pthread_mutex_lock(&st->mu);
    release_held(st);
    if (st->ended) { /* the pass is over until the next begin */
        pthread_mutex_unlock(&st->mu);
        return BGM_OK;
    }
    while (st->count == 0)
        pthread_cond_wait(&st->can_take, &st->mu);
    idx = st->head;
    sl = &st->slots[idx];
    st->head = (st->head + 1) % st->depth;
    st->count--;
    if (sl->kind != SLOT_BATCH) {
        st->ended = 1;
        if (sl->kind == SLOT_ERROR)
            s = bgm__fail(sl->status, "%s: the stream failed: %s", fn, sl->msg);
        pthread_cond_signal(&st->can_fill);
        pthread_mutex_unlock(&st->mu);
        return s;
    }
    st->held = idx;
    pthread_mutex_unlock(&st->mu);
    /* The slot is the consumer's now: views of a short batch are made here. */
    for (i = 0; s == BGM_OK && sl->rows < st->spec.batch_size && i < st->nt; i++)
        s = bgm_tensor_slice(&sl->part[i], sl->buf[i], 0, sl->rows);
    if (s != BGM_OK)
        return s;
    for (i = 0; i < st->nt; i++) {
        const bgm_tensor *t = sl->part[i] ? sl->part[i] : sl->buf[i];
        if (i < st->spec.num_x)
            xs[i] = t;
        else if (ys)
            ys[i - st->spec.num_x] = t;
    }
    *has = 1;
    return BGM_OK;
}

void bgm__stream_close(bgm_stream *st)
{
    int k;
    if (!st)
        return;
    pthread_mutex_lock(&st->mu);
    release_held(st);
    st->stop = 1;
    pthread_cond_signal(&st->can_fill);
    pthread_mutex_unlock(&st->mu);
    if (st->running)
        pthread_join(st->thread, NULL);
    for (k = 0; st->slots && k < st->depth; k++)
        if (st->slots[k].buf)
            free_parts(&st->slots[k], st->nt);
    st->running = st->stop = st->ended = st->waiting = st->restart = 0;
    st->head = st->count = 0;
    st->held = -1;
    st->busy = 0;
}
