/* bgm_stream: batches filled by a callback on a background thread. fit,
 * evaluate and predict on a stream give the numbers of the same data in
 * memory, steps_per_epoch continues the pass, a failing callback ends the
 * call with its status and leaves model and stream usable, bad specs are
 * refused, and a file larger than a memory budget trains within it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* ---- a stream over arrays in memory ----------------------------------------- */

typedef struct rows_src {
    const float *x;        /* n samples of nf floats */
    const int32_t *y;      /* n labels */
    int64_t n, nf, batch, pos;
    int resets;
    int fail_pass, fail_batch;  /* fail fill of that batch in that pass (1-based pass) */
    int fail_reset;             /* fail the reset of pass fail_reset */
    int too_many_rows;          /* report batch + 1 rows */
    int *cancel;                /* stored 1 (atomically) when filling batch cancel_at */
    int64_t cancel_at;
    bgm_stream *reenter;        /* evaluate other on it from fill, once */
    const bgm_model *other;
    bgm_status reenter_status;
    char reenter_msg[256];
} rows_src;

static bgm_status src_reset(void *ctx, char *msg, size_t size)
{
    rows_src *r = ctx;
    r->resets++;
    r->pos = 0;
    if (r->fail_reset == r->resets) {
        snprintf(msg, size, "cannot rewind the source");
        return BGM_E_IO;
    }
    return BGM_OK;
}

static bgm_status src_fill(void *ctx, int64_t batch, bgm_tensor *const *xs,
                           bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    rows_src *r = ctx;
    int64_t b = r->n - r->pos < r->batch ? r->n - r->pos : r->batch;
    if (r->fail_pass > 0 && r->resets == r->fail_pass && batch == r->fail_batch) {
        snprintf(msg, size, "disk gone at batch %lld", (long long)batch);
        return BGM_E_IO;
    }
    if (r->reenter) {
        double res;
        r->reenter_status = bgm_model_evaluate_stream(&res, 1, r->other, r->reenter, 0);
        snprintf(r->reenter_msg, sizeof r->reenter_msg, "%s", bgm_last_error());
        r->reenter = NULL;
    }
    if (r->cancel && batch == r->cancel_at)
        __atomic_store_n(r->cancel, 1, __ATOMIC_RELEASE);
    if (r->too_many_rows) {
        *rows = r->batch + 1;
        return BGM_OK;
    }
    memcpy(bgm_tensor_data(xs[0]), r->x + r->pos * r->nf, (size_t)(b * r->nf) * sizeof(float));
    if (ys)
        memcpy(bgm_tensor_data(ys[0]), r->y + r->pos, (size_t)b * sizeof(int32_t));
    r->pos += b;
    *rows = b;
    return BGM_OK;
}

/* A stream of r's samples in order, batches of r->batch, with labels when
 * with_y; known says whether the batch count is given. */
static bgm_stream *rows_stream(rows_src *r, int with_y, int known, int prefetch)
{
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {r->nf}}, yd = {BGM_INT32, 0, {0}};
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.num_y = with_y;
    sp.y = &yd;
    sp.batch_size = r->batch;
    sp.batches_per_epoch = known ? (r->n + r->batch - 1) / r->batch : -1;
    sp.prefetch = prefetch;
    sp.fill = src_fill;
    sp.reset = src_reset;
    sp.ctx = r;
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    return st;
}

/* Two Gaussian blobs in 2-D, labels alternating 0, 1. */
static void blobs(bgm_tensor **x, bgm_tensor **y, int64_t n, uint64_t seed)
{
    bgm_rng *rng = NULL;
    float *xv;
    int32_t *yv;
    int64_t i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    BGM_ASSERT_OK(bgm_tensor_randn(x, rng, (int64_t[]){n, 2}, 2, 0.0f, 1.0f));
    BGM_ASSERT_OK(bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1));
    xv = bgm_tensor_data(*x);
    yv = bgm_tensor_data(*y);
    for (i = 0; i < n; i++) {
        yv[i] = (int32_t)(i % 2);
        xv[2 * i] += yv[i] ? 1.5f : -1.5f;
        xv[2 * i + 1] += yv[i] ? 1.5f : -1.5f;
    }
    bgm_rng_free(rng);
}

/* 2 -> 16 relu (dropout) -> 2 logits, Adam, sparse cross-entropy, accuracy. */
static bgm_model *classifier(uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(16, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.01f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1));
    return m;
}

static bgm_fit_options quiet(int epochs)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.verbose = 0;
    o.batch_size = 8;
    o.shuffle = 0;
    return o;
}

static rows_src source_of(const bgm_tensor *x, const bgm_tensor *y, int64_t batch)
{
    rows_src r;
    memset(&r, 0, sizeof r);
    r.x = bgm_tensor_data(x);
    r.y = y ? bgm_tensor_data(y) : NULL;
    r.n = bgm_tensor_dim(x, 0);
    r.nf = bgm_tensor_dim(x, 1);
    r.batch = batch;
    return r;
}

/* ---- the same numbers as in memory ------------------------------------------ */

START_TEST(streamed_fit_equals_in_memory_fit)
{
    bgm_tensor *x, *y, *vx, *vy;
    bgm_history *h0 = NULL, *h1 = NULL;
    bgm_fit_options o = quiet(3);
    int known;
    blobs(&x, &y, 50, 3); /* 7 batches of 8, the last of 2 */
    blobs(&vx, &vy, 21, 4);
    for (known = 0; known <= 1; known++) {
        bgm_model *mem = classifier(11), *str = classifier(11);
        rows_src r = source_of(x, y, 8), vr = source_of(vx, vy, 8);
        bgm_stream *st = rows_stream(&r, 1, known, known ? 3 : 1);
        bgm_stream *vst = rows_stream(&vr, 1, known, 2);
        o.validation_x = vx;
        o.validation_y = vy;
        BGM_ASSERT_OK(bgm_model_fit(&h0, mem, x, y, &o));
        o.validation_x = o.validation_y = NULL;
        BGM_ASSERT_OK(bgm_model_fit_stream(&h1, str, st, 0, vst, 0, &o));
        bgm_test_assert_same_weights(mem, str);
        ck_assert_int_eq(r.resets, 3);  /* one pass per epoch */
        ck_assert_int_eq(vr.resets, 3);
        for (int e = 0; e < 3; e++) {
            ck_assert(bgm_history_values(h0, "loss")[e] == bgm_history_values(h1, "loss")[e]);
            ck_assert(bgm_history_values(h0, "val_loss")[e] ==
                      bgm_history_values(h1, "val_loss")[e]);
            ck_assert(bgm_history_values(h0, "val_accuracy")[e] ==
                      bgm_history_values(h1, "val_accuracy")[e]);
        }
        bgm_history_free(h0);
        bgm_history_free(h1);
        bgm_stream_free(st);
        bgm_stream_free(vst);
        bgm_model_free(mem);
        bgm_model_free(str);
    }
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(vx);
    bgm_tensor_free(vy);
}
END_TEST

START_TEST(streamed_evaluate_and_predict_equal_in_memory)
{
    bgm_tensor *x, *y, *p0 = NULL, *p1 = NULL;
    bgm_model *m = classifier(5);
    bgm_fit_options o = quiet(2);
    double r0[2], r1[2];
    rows_src r, rx;
    bgm_stream *st, *sx;
    blobs(&x, &y, 45, 8);
    r = source_of(x, y, 16);
    rx = source_of(x, NULL, 16);
    st = rows_stream(&r, 1, 1, 2);
    sx = rows_stream(&rx, 0, 0, 2);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    BGM_ASSERT_OK(bgm_model_evaluate(r0, 2, m, x, y, 16));
    BGM_ASSERT_OK(bgm_model_evaluate_stream(r1, 2, m, st, 0));
    ck_assert(r0[0] == r1[0] && r0[1] == r1[1]);
    BGM_ASSERT_OK(bgm_model_predict(&p0, m, x, 16));
    BGM_ASSERT_OK(bgm_model_predict_stream(&p1, 1, m, sx, 0));
    ck_assert_int_eq(bgm_tensor_dim(p1, 0), 45);
    ck_assert_int_eq(bgm_tensor_dim(p1, 1), 2);
    ck_assert(memcmp(bgm_tensor_data(p0), bgm_tensor_data(p1), 90 * sizeof(float)) == 0);
    bgm_tensor_free(p1);
    /* A stream with targets predicts too (they are not read); steps limits it. */
    BGM_ASSERT_OK(bgm_model_predict_stream(&p1, 1, m, st, 2));
    ck_assert_int_eq(bgm_tensor_dim(p1, 0), 32);
    ck_assert(memcmp(bgm_tensor_data(p0), bgm_tensor_data(p1), 64 * sizeof(float)) == 0);
    /* evaluate over the first batch only equals evaluate on those samples. */
    {
        bgm_tensor *x16 = NULL, *y16 = NULL;
        BGM_ASSERT_OK(bgm_tensor_slice(&x16, x, 0, 16));
        BGM_ASSERT_OK(bgm_tensor_slice(&y16, y, 0, 16));
        BGM_ASSERT_OK(bgm_model_evaluate(r0, 2, m, x16, y16, 16));
        BGM_ASSERT_OK(bgm_model_evaluate_stream(r1, 2, m, st, 1));
        ck_assert(r0[0] == r1[0] && r0[1] == r1[1]);
        bgm_tensor_free(x16);
        bgm_tensor_free(y16);
    }
    bgm_tensor_free(p0);
    bgm_tensor_free(p1);
    bgm_stream_free(st);
    bgm_stream_free(sx);
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(steps_per_epoch_continues_the_pass)
{
    bgm_tensor *x, *y, *x48 = NULL, *y48 = NULL;
    bgm_model *mem = classifier(2), *str = classifier(2);
    bgm_fit_options o = quiet(2);
    rows_src r;
    bgm_stream *st;
    blobs(&x, &y, 56, 9); /* 7 batches of 8 */
    r = source_of(x, y, 8);
    st = rows_stream(&r, 1, 1, 2);
    /* Two epochs of 3 steps: batches 0-2 then 3-5, one pass. */
    BGM_ASSERT_OK(bgm_model_fit_stream(NULL, str, st, 3, NULL, 0, &o));
    ck_assert_int_eq(r.resets, 1);
    o.epochs = 1;
    BGM_ASSERT_OK(bgm_tensor_slice(&x48, x, 0, 48));
    BGM_ASSERT_OK(bgm_tensor_slice(&y48, y, 0, 48));
    BGM_ASSERT_OK(bgm_model_fit(NULL, mem, x48, y48, &o));
    bgm_test_assert_same_weights(mem, str);
    /* Three epochs of 3 steps of a 7-batch pass: the third epoch ends with the
     * pass after 1 step, and each call starts a new pass. */
    o.epochs = 3;
    BGM_ASSERT_OK(bgm_model_fit_stream(NULL, str, st, 3, NULL, 0, &o));
    ck_assert_int_eq(r.resets, 2);
    o.epochs = 1;
    BGM_ASSERT_OK(bgm_model_fit(NULL, mem, x, y, &o));
    bgm_test_assert_same_weights(mem, str);
    /* steps_per_epoch = the pass's 7 batches: every epoch is a whole pass. */
    o.epochs = 2;
    BGM_ASSERT_OK(bgm_model_fit_stream(NULL, str, st, 7, NULL, 0, &o));
    ck_assert_int_eq(r.resets, 4);
    BGM_ASSERT_OK(bgm_model_fit(NULL, mem, x, y, &o));
    bgm_test_assert_same_weights(mem, str);
    bgm_stream_free(st);
    bgm_model_free(mem);
    bgm_model_free(str);
    bgm_tensor_free(x48);
    bgm_tensor_free(y48);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

/* ---- failures ------------------------------------------------------------------- */

START_TEST(failing_callback_ends_the_call_and_everything_stays_usable)
{
    bgm_tensor *x, *y, *p = NULL;
    bgm_model *m = classifier(4);
    bgm_fit_options o = quiet(3);
    bgm_history *h = NULL;
    double res[2];
    rows_src r;
    bgm_stream *st;
    blobs(&x, &y, 50, 5);
    r = source_of(x, y, 8);
    st = rows_stream(&r, 1, 1, 2);
    r.fail_pass = 2; /* mid-epoch 2 */
    r.fail_batch = 4;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(&h, m, st, 0, NULL, 0, &o), BGM_E_IO,
                     "bgm_model_fit_stream: the stream failed: disk gone at batch 4");
    ck_assert_ptr_null(h);
    ck_assert_int_eq(bgm_model_epochs_completed(m), 1);
    /* The next fit works and trains: the stream is reset, its thread was joined. */
    r.fail_pass = 0;
    BGM_ASSERT_OK(bgm_model_fit_stream(&h, m, st, 0, NULL, 0, &o));
    ck_assert(bgm_history_values(h, "loss")[2] < bgm_history_values(h, "loss")[0]);
    bgm_history_free(h);
    /* A failing reset, and in evaluate and predict. */
    r.fail_reset = r.resets + 1;
    BGM_ASSERT_FAILS(bgm_model_evaluate_stream(res, 2, m, st, 0), BGM_E_IO,
                     "bgm_model_evaluate_stream: the stream failed: cannot rewind");
    r.fail_reset = 0;
    r.fail_pass = r.resets + 1;
    r.fail_batch = 0;
    BGM_ASSERT_FAILS(bgm_model_predict_stream(&p, 1, m, st, 0), BGM_E_IO,
                     "bgm_model_predict_stream: the stream failed: disk gone at batch 0");
    ck_assert_ptr_null(p);
    r.fail_pass = 0;
    r.too_many_rows = 1;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_RANGE,
                     "reported 9 rows for batch 0, expected 0..8");
    r.too_many_rows = 0;
    /* Cancelled from the stream's thread: fit stops after a batch, the thread
     * is joined, the next call works. */
    {
        int flag = 0;
        r.cancel = &flag;
        r.cancel_at = 2;
        o.cancel = &flag;
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o),
                         BGM_E_CANCELLED, "cancelled after batch");
        r.cancel = NULL;
        o.cancel = NULL;
    }
    /* A stream in use refuses a second call (made here from its own fill). */
    {
        bgm_model *other = classifier(9);
        r.reenter = st;
        r.other = other;
        BGM_ASSERT_OK(bgm_model_evaluate_stream(res, 2, m, st, 0));
        ck_assert_int_eq(r.reenter_status, BGM_E_STATE);
        ck_assert_str_eq(r.reenter_msg, "bgm_model_evaluate_stream: the stream is in use by "
                         "another fit, evaluate or predict call");
        bgm_model_free(other);
    }
    BGM_ASSERT_OK(bgm_model_evaluate_stream(res, 2, m, st, 0));
    ck_assert(res[1] > 0.8);
    bgm_stream_free(st);
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

static bgm_status fill_nothing(void *ctx, int64_t batch, bgm_tensor *const *xs,
                               bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    *rows = 0;
    return BGM_OK;
}

START_TEST(bad_specs_and_calls_get_clear_statuses)
{
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {3}}, yd = {BGM_INT32, 0, {0}};
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    bgm_model *m = classifier(1);
    bgm_fit_options o = quiet(1);
    bgm_tensor *p[2] = {NULL, NULL}; /* outs has nout entries, even in a wrong call */
    double res[2];
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.y = &yd;
    sp.num_y = 1;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID,
                     "bgm_stream_create: spec->fill is NULL");
    sp.fill = fill_nothing;
    sp.batch_size = 0;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "batch_size = 0");
    sp.batch_size = 4;
    sp.prefetch = 0;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "prefetch = 0");
    sp.prefetch = 2;
    sp.batches_per_epoch = 0;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "batches_per_epoch = 0");
    sp.batches_per_epoch = -1;
    xd.dtype = (bgm_dtype)99;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_DTYPE, "x[0].dtype = 99");
    xd.dtype = BGM_FLOAT32;
    yd.ndim = -1;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "y[0].ndim = -1");
    yd.ndim = 0;
    sp.num_x = 0;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "num_x = 0");
    sp.num_x = 1;
    sp.size = 8;
    BGM_ASSERT_FAILS(bgm_stream_create(&st, &sp), BGM_E_INVALID, "bgm_stream_spec_init");
    sp.size = sizeof sp;
    ck_assert_ptr_null(st);
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    ck_assert_int_eq(bgm_stream_num_x(st), 1);
    ck_assert_int_eq(bgm_stream_num_y(st), 1);
    ck_assert_int_eq(bgm_stream_batches_per_epoch(st), -1);
    /* Samples of 3 features for a model of 2 inputs: the shapes are named. */
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "the training stream gave no batch in epoch 1");
    sp.fill = src_fill;
    bgm_stream_free(st);
    {
        float xs[12] = {0};
        int32_t ys[4] = {0};
        rows_src r;
        memset(&r, 0, sizeof r);
        r.x = xs;
        r.y = ys;
        r.n = 4;
        r.nf = 3;
        r.batch = 4;
        sp.ctx = &r;
        BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_SHAPE,
                         "bgm_model_fit_stream: x");
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, st, 0, &o), BGM_E_INVALID,
                         "the same stream");
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, -1, NULL, 0, &o), BGM_E_INVALID,
                         "steps_per_epoch = -1");
        o.validation_split = 0.2;
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                         "validation_split = 0.2");
        BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, NULL, 0, NULL, 0, &o), BGM_E_INVALID,
                         "'train' is NULL");
        BGM_ASSERT_FAILS(bgm_model_evaluate_stream(res, 2, m, st, -2), BGM_E_INVALID,
                         "steps = -2");
        BGM_ASSERT_FAILS(bgm_model_predict_stream(p, 2, m, st, 0), BGM_E_INVALID,
                         "nout = 2, the model has 1 output");
        bgm_stream_free(st);
    }
    /* A stream without targets cannot train. */
    sp.num_y = 0;
    BGM_ASSERT_OK(bgm_stream_create(&st, &sp));
    o.validation_split = 0;
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &o), BGM_E_INVALID,
                     "the training stream gives 1 features and 0 targets tensors");
    bgm_stream_free(st);
    bgm_stream_free(NULL);
    bgm_model_free(m);
}
END_TEST

/* ---- a file larger than the memory budget --------------------------------------- */

#define REC_FLOATS 257        /* 256 features, then the target */
#define BUDGET_MB 64

typedef struct file_src {
    int fd;
    int64_t n, batch, pos;
    float *rec;               /* one batch of records, read with one pread */
} file_src;

static bgm_status file_reset(void *ctx, char *msg, size_t size)
{
    ((file_src *)ctx)->pos = 0;
    return BGM_OK;
}

static bgm_status file_fill(void *ctx, int64_t batch, bgm_tensor *const *xs,
                            bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    file_src *f = ctx;
    int64_t b = f->n - f->pos < f->batch ? f->n - f->pos : f->batch, i;
    size_t want = (size_t)b * REC_FLOATS * sizeof(float);
    float *x = bgm_tensor_data(xs[0]), *y = bgm_tensor_data(ys[0]);
    if (b > 0 && pread(f->fd, f->rec, want, (off_t)f->pos * REC_FLOATS * sizeof(float)) !=
                     (ssize_t)want) {
        snprintf(msg, size, "short read at sample %lld", (long long)f->pos);
        return BGM_E_IO;
    }
    for (i = 0; i < b; i++) {
        memcpy(x + i * (REC_FLOATS - 1), f->rec + i * REC_FLOATS,
               (REC_FLOATS - 1) * sizeof(float));
        y[i] = f->rec[i * REC_FLOATS + REC_FLOATS - 1];
    }
    f->pos += b;
    *rows = b;
    return BGM_OK;
}

/* Peak resident memory of this process in KiB (VmHWM), or -1. */
static long peak_rss_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(fp);
    return kib;
}

/* Writes n records: x uniform in [-1, 1) from a fixed generator and the
 * target sum_k x_k * w_k, w_k = ((k % 7) - 3) / 8. */
static void write_records(const char *path, int64_t n)
{
    enum { CHUNK = 1024 };
    float *buf = malloc((size_t)CHUNK * REC_FLOATS * sizeof *buf);
    uint64_t state = 12345;
    FILE *fp = fopen(path, "wb");
    int64_t done, i;
    int k;
    ck_assert_ptr_nonnull(buf);
    ck_assert_ptr_nonnull(fp);
    for (done = 0; done < n; done += CHUNK) {
        int64_t c = n - done < CHUNK ? n - done : CHUNK;
        for (i = 0; i < c; i++) {
            float *rec = buf + i * REC_FLOATS, t = 0.0f;
            for (k = 0; k < REC_FLOATS - 1; k++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                rec[k] = (float)((double)(state >> 40) / (double)(1 << 24) * 2.0 - 1.0);
                t += rec[k] * (float)((k % 7) - 3) / 8.0f;
            }
            rec[REC_FLOATS - 1] = t;
        }
        ck_assert_int_eq(fwrite(buf, sizeof *buf, (size_t)(c * REC_FLOATS), fp),
                         (size_t)(c * REC_FLOATS));
    }
    ck_assert_int_eq(fclose(fp), 0);
    free(buf);
}

/* In the child: one epoch over the file; 0 when it trained (the loss of the
 * first batches fell) within the budget, else a code naming the failure. */
static int train_from_file(const char *path, int64_t n, int check_rss)
{
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {REC_FLOATS - 1}}, yd = {BGM_FLOAT32, 1, {1}};
    file_src f = {0, n, 512, 0, NULL};
    bgm_stream_spec sp;
    bgm_stream *st = NULL;
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_fit_options fo;
    double before, after;
    long peak;
    int code = 0;
    f.fd = open(path, O_RDONLY);
    f.rec = malloc((size_t)f.batch * REC_FLOATS * sizeof(float));
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.num_y = 1;
    sp.y = &yd;
    sp.batch_size = f.batch;
    sp.batches_per_epoch = (n + f.batch - 1) / f.batch;
    sp.fill = file_fill;
    sp.reset = file_reset;
    sp.ctx = &f;
    bgm_fit_options_init(&fo, sizeof fo);
    fo.verbose = 0;
    if (f.fd < 0 || !f.rec || bgm_stream_create(&st, &sp) != BGM_OK ||
        bgm_model_create(&m, (int64_t[]){REC_FLOATS - 1}, 1, 1) != BGM_OK ||
        bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)) != BGM_OK ||
        bgm_optimizer_sgd(&o, 0.01f, 0.0f, 0) != BGM_OK ||
        bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0) != BGM_OK ||
        bgm_model_evaluate_stream(&before, 1, m, st, 4) != BGM_OK ||
        bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, &fo) != BGM_OK ||
        bgm_model_evaluate_stream(&after, 1, m, st, 4) != BGM_OK) {
        fprintf(stderr, "train_from_file: %s\n", bgm_last_error());
        code = 2;
    } else if (!(after < (check_rss ? 0.05 : 0.95) * before)) {
        /* the short file of valgrind and ASan runs (1/40 of the steps) only
         * has to make the loss fall */
        fprintf(stderr, "train_from_file: loss %g -> %g\n", before, after);
        code = 3;
    }
    peak = peak_rss_kib();
    if (code == 0 && check_rss && (peak < 0 || peak > BUDGET_MB * 1024L)) {
        fprintf(stderr, "train_from_file: peak RSS %ld KiB over the budget of %d MiB\n",
                peak, BUDGET_MB);
        code = 4;
    }
    bgm_stream_free(st);
    bgm_model_free(m);
    free(f.rec);
    if (f.fd >= 0)
        close(f.fd);
    return code;
}

START_TEST(a_file_larger_than_the_memory_budget_trains_within_it)
{
    /* 160 MiB of records against a 64 MiB budget. Under valgrind (which
     * preloads its vgpreload library) or AddressSanitizer (make
     * check-sanitize) a 4 MiB file checks the same code for leaks, and RSS,
     * which both inflate, is not measured. */
    const char *pre = getenv("LD_PRELOAD");
    int valgrind = pre && strstr(pre, "vgpreload") != NULL;
#if defined(__SANITIZE_ADDRESS__)
    valgrind = 1;
#endif
    int64_t n = valgrind ? 4096 : 163840;
    char path[512];
    pid_t pid;
    int status = 0;
    ck_assert((double)n * REC_FLOATS * 4 > (valgrind ? 0.0 : 2.0 * BUDGET_MB * 1048576.0));
    bgm_test_tmpdir_create("stream");
    snprintf(path, sizeof path, "%s/records.f32", bgm_test_tmpdir());
    write_records(path, n);
    if (valgrind) {
        ck_assert_int_eq(train_from_file(path, n, 0), 0);
    } else {
        pid = bgm_test_fork();
        if (pid == 0)
            _exit(train_from_file(path, n, 1));
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "the child failed with code %d", WEXITSTATUS(status));
    }
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_data_stream(void)
{
    Suite *s = suite_create("data_stream");
    TCase *tc = tcase_create("stream");
    TCase *big = tcase_create("larger_than_memory");
    BGM_TEST_SLOW(tc, 30);
    BGM_TEST_SLOW(big, 120);
    tcase_add_test(tc, streamed_fit_equals_in_memory_fit);
    tcase_add_test(tc, streamed_evaluate_and_predict_equal_in_memory);
    tcase_add_test(tc, steps_per_epoch_continues_the_pass);
    tcase_add_test(tc, failing_callback_ends_the_call_and_everything_stays_usable);
    tcase_add_test(tc, bad_specs_and_calls_get_clear_statuses);
    tcase_add_test(big, a_file_larger_than_the_memory_budget_trains_within_it);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, big);
    return s;
}
