/* Communicators (distributed.h) and data-parallel fit, in one process: a
 * fake transport whose ranks are threads, and fakes that fail. The same
 * equivalence over Open MPI processes is test/mpi/fit_mpi.c. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist_problem.h"
#include "testutil.h"

/* The problem's data, made for each test (Check's fixture). */
static bgm_test_dist_data problem;

static void make_data(void)
{
    BGM_ASSERT_OK(bgm_test_dist_data_make(&problem));
}

static void free_data(void)
{
    bgm_test_dist_data_free(&problem);
}

/* ---- ranks as threads ---------------------------------------------------------- */

#define MAX_RANKS 4

/* What the threads of one group share: each collective publishes every
 * rank's buffer, waits for all, reads, and waits again before returning. */
typedef struct group {
    int nranks;
    pthread_barrier_t barrier;
    void *slot[MAX_RANKS];
} group;

typedef struct thread_rank {
    group *g;
    int rank;
    float *sum;          /* room for one reduction */
    int64_t sum_cap;
    int collectives;     /* collective calls made */
    int nonblocking;     /* has allreduce_start / wait (the reduction runs in wait) */
    int starts, started; /* reductions started in all, and not waited for yet */
} thread_rank;

static int tr_rank(void *ctx, int *rank)
{
    *rank = ((thread_rank *)ctx)->rank;
    return 0;
}

static int tr_num_ranks(void *ctx, int *n)
{
    *n = ((thread_rank *)ctx)->g->nranks;
    return 0;
}

static int tr_allreduce(void *ctx, float *data, int64_t n)
{
    thread_rank *t = ctx;
    int64_t i;
    int r;
    t->collectives++;
    if (n > t->sum_cap) {
        free(t->sum);
        t->sum = malloc((size_t)n * sizeof *t->sum);
        t->sum_cap = t->sum ? n : 0;
        if (!t->sum)
            return 12;
    }
    t->g->slot[t->rank] = data;
    pthread_barrier_wait(&t->g->barrier);
    /* Every rank adds in rank order: the same bits everywhere. */
    for (i = 0; i < n; i++) {
        float s = 0.0f;
        for (r = 0; r < t->g->nranks; r++)
            s += ((const float *)t->g->slot[r])[i];
        t->sum[i] = s;
    }
    pthread_barrier_wait(&t->g->barrier);
    memcpy(data, t->sum, (size_t)n * sizeof *data);
    return 0;
}

/* A reduction started: it runs when waited for, in the order started, as
 * every rank waits in that order. */
typedef struct tr_request {
    float *data;
    int64_t n;
} tr_request;

static int tr_start(void *ctx, float *data, int64_t n, void **request)
{
    thread_rank *t = ctx;
    tr_request *r = malloc(sizeof *r);
    if (!r)
        return 12;
    r->data = data;
    r->n = n;
    *request = r;
    t->starts++;
    t->started++;
    return 0;
}

static int tr_wait(void *ctx, void *request)
{
    tr_request *r = request;
    int code = tr_allreduce(ctx, r->data, r->n);
    ((thread_rank *)ctx)->started--;
    free(r);
    return code;
}

static int tr_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    thread_rank *t = ctx;
    t->collectives++;
    t->g->slot[t->rank] = data;
    pthread_barrier_wait(&t->g->barrier);
    if (t->rank != root)
        memcpy(data, t->g->slot[root], (size_t)nbytes);
    pthread_barrier_wait(&t->g->barrier);
    return 0;
}

/* One rank's fit of the problem. */
typedef struct rank_job {
    thread_rank tr;
    const bgm_test_dist_data *data;
    int64_t hidden, batch;
    uint64_t seed;
    int verbose;         /* fit's verbose; its lines are counted in lines */
    int lines;
    bgm_callback *const *callbacks;  /* fit's callbacks (the same on every rank) */
    int ncallbacks;
    bgm_loss_fn loss;    /* a custom loss for the model, or NULL */
    int loss_calls;
    int64_t stream_batches; /* > 0: fit from a stream of this rank's rows, which
                               ends after that many batches */
    int loop;            /* train with custom_loop instead of fit */
    int graph;           /* the problem's functional model instead of the Sequential */
    int accum;           /* gradient_accumulation_steps (0: the default) */
    int64_t samples;     /* fit on the first so many samples (0: all) */
    int metrics;         /* 1 + regression: bgm_test_dist_metrics_model instead */
    int batches;         /* train with bgm_test_dist_batch_loop instead of fit */
    int bad_call;        /*   its call that gives bad targets (-1: none) */
    double results[2];   /*   the last call's loss and accuracy */
    int64_t bucket_bytes;/* allreduce_bucket_bytes (0: bgm_test_dist_bucket_bytes) */
    bgm_model *m;
    bgm_history *h;
    bgm_status status;
    char message[1024];
} rank_job;

static void count_lines(void *ctx, const char *text)
{
    for (; *text; text++)
        *(int *)ctx += *text == '\n';
}

/* A communicator over the thread group of t. */
static bgm_status thread_comm(bgm_comm **c, thread_rank *t)
{
    bgm_comm_ops ops;
    bgm_status s = bgm_comm_ops_init(&ops, sizeof ops);
    ops.rank = tr_rank;
    ops.num_ranks = tr_num_ranks;
    ops.allreduce_sum = tr_allreduce;
    ops.broadcast = tr_broadcast;
    if (t->nonblocking) {
        ops.allreduce_start = tr_start;
        ops.wait = tr_wait;
    }
    return s == BGM_OK ? bgm_comm_create(c, &ops, t) : s;
}

/* Batch k of rank r's stream: rows 64 k' + r + n j of the problem (n ranks,
 * j < 64 / n, k' = k mod 10: the pass goes on over epochs), the share of its
 * rows that one process's batch k' holds; no batch from stream_batches on. */
static bgm_status fill_share(void *ctx, int64_t batch, bgm_tensor *const *xs,
                             bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    const rank_job *j = ctx;
    int64_t per = j->batch, pass = BGM_DIST_SAMPLES / BGM_DIST_GLOBAL_BATCH, i;
    (void)msg;
    (void)size;
    *rows = batch < j->stream_batches ? per : 0;
    for (i = 0; i < *rows; i++) {
        int64_t row = BGM_DIST_GLOBAL_BATCH * (batch % pass) + j->tr.rank + j->tr.g->nranks * i;
        memcpy((float *)bgm_tensor_data(xs[0]) + 6 * i,
               (const float *)bgm_tensor_data(j->data->x) + 6 * row, 6 * sizeof(float));
        ((int32_t *)bgm_tensor_data(ys[0]))[i] =
            ((const int32_t *)bgm_tensor_data(j->data->y))[row];
    }
    return BGM_OK;
}

/* A stream of the problem's samples (6 floats, a label) in batches of batch. */
static bgm_status problem_stream(bgm_stream **st, bgm_stream_fill_fn fill, void *ctx,
                                 int64_t batch)
{
    static const bgm_stream_tensor x = {BGM_FLOAT32, 1, {6}}, y = {BGM_INT32, 0, {0}};
    bgm_stream_spec spec;
    bgm_stream_spec_init(&spec);
    spec.x = &x;
    spec.num_y = 1;
    spec.y = &y;
    spec.batch_size = batch;
    spec.fill = fill;
    spec.ctx = ctx;
    return bgm_stream_create(st, &spec);
}

/* fit_stream of the problem from this rank's share (validation as bgm_test_dist_fit). */
static bgm_status fit_share(rank_job *j)
{
    bgm_stream *st = NULL;
    bgm_fit_options o;
    bgm_status s = problem_stream(&st, fill_share, j, j->batch);
    if (s == BGM_OK)
        s = bgm_fit_options_init(&o, sizeof o);
    if (s == BGM_OK) {
        o.epochs = BGM_DIST_EPOCHS;
        o.verbose = 0;
        o.gradient_accumulation_steps = j->accum ? j->accum : 1;
        o.allreduce_bucket_bytes = bgm_test_dist_bucket_bytes;
        o.validation_x = j->data->vx;
        o.validation_y = j->data->vy;
        s = bgm_model_fit_stream(&j->h, j->m, st, BGM_DIST_SAMPLES / BGM_DIST_GLOBAL_BATCH,
                                 NULL, 0, &o);
    }
    bgm_stream_free(st);
    return s;
}

static void *run_rank(void *arg)
{
    rank_job *j = arg;
    bgm_comm *c = NULL;
    if (j->metrics)
        j->status = bgm_test_dist_metrics_model(&j->m, j->metrics - 1, j->seed, j->hidden);
    else
        j->status = bgm_test_dist_model_of(&j->m, j->graph, j->seed, j->hidden);
    if (j->status == BGM_OK && j->loss)
        j->status = bgm_model_set_loss_fn(j->m, 0, "flaky", j->loss, j);
    if (j->status == BGM_OK)
        j->status = thread_comm(&c, &j->tr);
    if (j->status == BGM_OK)
        j->status = bgm_model_set_comm(j->m, c);
    if (j->status == BGM_OK && j->batches) {
        j->status = bgm_test_dist_batch_loop(j->m, j->data, j->batch, j->tr.rank * j->batch,
                                             j->bad_call, j->results);
    } else if (j->status == BGM_OK && j->loop) {
        j->status = bgm_test_dist_custom_loop(j->m, c, j->data, j->batch, j->tr.rank * j->batch);
    } else if (j->status == BGM_OK && j->stream_batches > 0) {
        j->status = fit_share(j);
    } else if (j->status == BGM_OK && j->accum) {
        j->status = bgm_test_dist_fit_k(&j->h, j->m, j->data, j->batch, j->accum, j->samples);
    } else if (j->status == BGM_OK) { /* bgm_test_dist_fit's options, and these */
        bgm_fit_options o;
        bgm_fit_options_init(&o, sizeof o);
        o.epochs = BGM_DIST_EPOCHS;
        o.batch_size = j->batch;
        o.validation_x = j->data->vx;
        o.validation_y = j->data->vy;
        o.verbose = j->verbose;
        o.output = count_lines;
        o.output_ctx = &j->lines;
        o.callbacks = j->callbacks;
        o.num_callbacks = j->ncallbacks;
        o.allreduce_bucket_bytes = j->bucket_bytes ? j->bucket_bytes
                                                   : bgm_test_dist_bucket_bytes;
        j->status = bgm_model_fit(&j->h, j->m, j->data->x, j->data->y, &o);
    }
    snprintf(j->message, sizeof j->message, "%s", j->status ? bgm_last_error() : "");
    bgm_model_set_comm(j->m, NULL);
    bgm_comm_free(c);
    free(j->tr.sum);
    return NULL;
}

/* Fits the problem on nranks threads (rank r's model seeded 100 + r, with
 * hidden[r] units), each with these callbacks; jobs[r] holds each rank's
 * outcome. */
/* How the ranks of one run fit, besides their models' widths. */
typedef struct run_spec {
    int loop;                       /* custom_loop instead of fit */
    int graph;                      /* the functional model */
    int verbose;
    bgm_callback *const *callbacks; /* given to every rank */
    int ncallbacks;
    bgm_loss_fn loss;               /* a custom loss of every rank's model, or NULL */
    const int64_t *stream_batches;  /* per rank: fit from a stream of its share that
                                       ends after so many batches; NULL: arrays */
    const int *accum;               /* per rank: gradient_accumulation_steps (NULL: 1);
                                       the batch is 64 / (ranks * rank 0's) */
    int64_t samples;                /* arrays: the first so many samples (0: all) */
    int metrics;                    /* 1 + regression: the metrics model (dist_problem.h) */
    int batches;                    /* bgm_test_dist_batch_loop instead of fit */
    int bad_call;                   /*   rank 1's call with bad targets (0: none) */
    const bgm_test_dist_data *data; /* its data (NULL: the problem's) */
    const int64_t *bucket_bytes;    /* per rank: allreduce_bucket_bytes (NULL: all
                                       bgm_test_dist_bucket_bytes) */
} run_spec;

/* 1: the ranks' communicators have allreduce_start and wait (a test that
 * sets it puts it back). */
static int comm_nonblocking;

/* Runs fn on nranks threads of one group, thread r on the job at jobs + r *
 * size, which starts with its thread_rank (its group and rank set here). */
static void run_group(int nranks, void *(*fn)(void *), void *jobs, size_t size)
{
    pthread_t th[MAX_RANKS];
    group g;
    int r;
    memset(&g, 0, sizeof g);
    g.nranks = nranks;
    ck_assert_int_eq(pthread_barrier_init(&g.barrier, NULL, (unsigned)nranks), 0);
    for (r = 0; r < nranks; r++) {
        thread_rank *t = (thread_rank *)((char *)jobs + (size_t)r * size);
        t->g = &g;
        t->rank = r;
        ck_assert_int_eq(pthread_create(&th[r], NULL, fn, t), 0);
    }
    for (r = 0; r < nranks; r++)
        pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g.barrier);
}

/* Fits the problem on nranks threads as sp says (rank r's model seeded
 * 100 + r, with hidden[r] units); jobs[r] holds each rank's outcome. */
static void run_ranks_spec(rank_job *jobs, int nranks, const int64_t *hidden,
                           const run_spec *sp)
{
    int r;
    memset(jobs, 0, (size_t)nranks * sizeof *jobs);
    for (r = 0; r < nranks; r++) {
        jobs[r].data = sp->data ? sp->data : &problem;
        jobs[r].metrics = sp->metrics;
        jobs[r].batches = sp->batches;
        jobs[r].bad_call = r == 1 && sp->bad_call ? sp->bad_call : -1;
        jobs[r].hidden = hidden[r];
        jobs[r].batch = BGM_DIST_GLOBAL_BATCH / nranks / (sp->accum ? sp->accum[0] : 1);
        jobs[r].accum = sp->accum ? sp->accum[r] : 0;
        jobs[r].samples = sp->samples;
        jobs[r].seed = 100 + (uint64_t)r;
        jobs[r].verbose = sp->verbose;
        jobs[r].callbacks = sp->callbacks;
        jobs[r].ncallbacks = sp->ncallbacks;
        jobs[r].loss = sp->loss;
        jobs[r].stream_batches = sp->stream_batches ? sp->stream_batches[r] : 0;
        jobs[r].loop = sp->loop;
        jobs[r].graph = sp->graph;
        jobs[r].tr.nonblocking = comm_nonblocking;
        jobs[r].bucket_bytes = sp->bucket_bytes ? sp->bucket_bytes[r] : 0;
    }
    run_group(nranks, run_rank, jobs, sizeof *jobs);
}

static void run_ranks(rank_job *jobs, int nranks, const int64_t *hidden, int verbose)
{
    run_spec sp = {.verbose = verbose};
    run_ranks_spec(jobs, nranks, hidden, &sp);
}

static void free_jobs(rank_job *jobs, int nranks)
{
    int r;
    for (r = 0; r < nranks; r++) {
        bgm_model_free(jobs[r].m);
        bgm_history_free(jobs[r].h);
    }
}

/* ---- equivalence ------------------------------------------------------------- */

/* nranks threads with batch 64 / nranks, on the model of kind graph
 * (bgm_test_dist_model_of), against one process with batch 64 on the kind
 * ref_graph: equal within rel 1e-5, or (equal = 0) not within 1e-3. */
static void compare_with_one(int nranks, int graph, int ref_graph, int equal)
{
    rank_job jobs[MAX_RANKS];
    int64_t hidden[MAX_RANKS] = {16, 16, 16, 16};
    bgm_model *ref = NULL;
    bgm_history *href = NULL;
    char msg[512];
    int r;
    BGM_ASSERT_OK(bgm_test_dist_model_of(&ref, ref_graph, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit(&href, ref, &problem, BGM_DIST_GLOBAL_BATCH));
    run_ranks_spec(jobs, nranks, hidden, &(run_spec){.graph = graph});
    for (r = 0; r < nranks; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, jobs[r].h, ref, href,
                                            equal ? 1e-5 : 1e-3) == !equal,
                      "rank %d of %d against one process: %s", r, nranks,
                      equal ? msg : "equal");
    }
    /* A real fit: the loss fell over the 20 steps. */
    ck_assert(bgm_history_values(href, "loss")[1] < bgm_history_values(href, "loss")[0]);
    free_jobs(jobs, nranks);
    bgm_model_free(ref);
    bgm_history_free(href);
}

static void check_equivalence(int nranks, int graph)
{
    compare_with_one(nranks, graph, graph, 1);
}

START_TEST(two_ranks_of_batch_32_train_as_one_of_batch_64)
{
    check_equivalence(2, 0);
}
END_TEST

START_TEST(two_ranks_of_a_graph_model_train_as_one_of_batch_64)
{
    check_equivalence(2, 1);
}
END_TEST

START_TEST(four_ranks_of_batch_16_train_as_one_of_batch_64)
{
    check_equivalence(4, 0);
}
END_TEST

/* The metrics that are no sums of counts (AUC; MSE, MAE, R²) in the
 * history of nranks of batch 64 / nranks equal one process's of batch 64. */
static void check_metrics_on_ranks(int nranks, int regression)
{
    static const char *const keys[2][3] = {{"auc", "accuracy", "precision"},
                                           {"mse", "mae", "r2"}};
    rank_job jobs[MAX_RANKS];
    int64_t hidden[MAX_RANKS] = {16, 16, 16, 16};
    bgm_test_dist_data md;
    bgm_model *ref = NULL;
    bgm_history *href = NULL;
    char msg[512], val[16];
    int r, k;
    BGM_ASSERT_OK(bgm_test_dist_metrics_data(&md, &problem, regression));
    BGM_ASSERT_OK(bgm_test_dist_metrics_model(&ref, regression, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit(&href, ref, &md, BGM_DIST_GLOBAL_BATCH));
    run_ranks_spec(jobs, nranks, hidden, &(run_spec){.metrics = 1 + regression, .data = &md});
    for (r = 0; r < nranks; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(!bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, jobs[r].h, ref, href,
                                             1e-5),
                      "rank %d of %d against one process: %s", r, nranks, msg);
    }
    /* Real values in the history after the second epoch: no AUC or R² at a
     * trivial 0, 1 or NaN (R² after the first is near 0, from below). */
    for (k = 0; k < 3; k++) {
        double v = bgm_history_values(href, keys[regression][k])[1];
        snprintf(val, sizeof val, "val_%s", keys[regression][k]);
        ck_assert_ptr_nonnull(bgm_history_values(jobs[0].h, val));
        ck_assert_msg(v > 0.05 && v < (regression ? 5.0 : 0.999), "%s = %g",
                      keys[regression][k], v);
    }
    free_jobs(jobs, nranks);
    bgm_model_free(ref);
    bgm_history_free(href);
    bgm_test_dist_data_free(&md);
}

START_TEST(ranks_report_auc_of_all_their_scores_as_one_process)
{
    check_metrics_on_ranks(2, 0);
    check_metrics_on_ranks(4, 0);
}
END_TEST

START_TEST(ranks_report_mse_mae_and_r2_of_all_their_samples_as_one_process)
{
    check_metrics_on_ranks(2, 1);
    check_metrics_on_ranks(4, 1);
}
END_TEST

START_TEST(one_rank_communicator_trains_bit_for_bit_as_no_communicator)
{
    rank_job job;
    int64_t hidden = 16;
    bgm_model *ref = NULL;
    bgm_history *href = NULL;
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit(&href, ref, &problem, BGM_DIST_GLOBAL_BATCH));
    run_ranks(&job, 1, &hidden, 0);
    ck_assert_msg(job.status == BGM_OK, "%s", job.message);
    bgm_test_assert_same_weights(job.m, ref);
    ck_assert(bgm_history_values(job.h, "loss")[1] == bgm_history_values(href, "loss")[1]);
    free_jobs(&job, 1);
    bgm_model_free(ref);
    bgm_history_free(href);
}
END_TEST

START_TEST(rank_with_another_parameter_count_fails_every_rank_naming_it)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 17};
    run_ranks(jobs, 2, hidden, 0);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    ck_assert_int_eq(jobs[1].status, BGM_E_STATE);
    /* 6*16+16 + 16*3+3 = 163 parameters; 6*17+17 + 17*3+3 = 173. */
    ck_assert_msg(strstr(jobs[1].message, "rank 1's model has 173 parameters, rank 0's has "
                         "163") != NULL, "%s", jobs[1].message);
    ck_assert_msg(strstr(jobs[0].message, "rank 0's has 163 parameters; differing: rank 1 "
                         "(173 parameters)") != NULL, "%s", jobs[0].message);
    /* No step was taken: rank 1 keeps its own initial weights' count and no history. */
    ck_assert_ptr_null(jobs[0].h);
    ck_assert_ptr_null(jobs[1].h);
    free_jobs(jobs, 2);
}
END_TEST

START_TEST(only_rank_0_writes_progress_lines)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    run_ranks(jobs, 2, hidden, 2);
    ck_assert_msg(jobs[0].status == BGM_OK, "%s", jobs[0].message);
    ck_assert_msg(jobs[1].status == BGM_OK, "%s", jobs[1].message);
    /* verbose 2, two epochs: "Epoch 1/2", its summary line, and again. */
    ck_assert_int_eq(jobs[0].lines, 4);
    ck_assert_int_eq(jobs[1].lines, 0);
    free_jobs(jobs, 2);
}
END_TEST

/* Counts its calls (on whichever rank) and stops after batch 3 of epoch 2. */
static int stop_in_epoch_2(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                           int64_t batch, const bgm_logs *logs)
{
    (void)m;
    (void)logs;
    __atomic_add_fetch((int *)ctx, 1, __ATOMIC_RELAXED);
    return event == BGM_EVENT_BATCH_END && epoch == 1 && batch == 2;
}

static float halve_after_epoch_1(int epoch, float lr, void *ctx)
{
    (void)ctx;
    return epoch == 0 ? lr : lr / 2;
}

START_TEST(rank_0s_callbacks_decide_for_every_rank)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    bgm_callback *cbs[3] = {NULL, NULL, NULL};
    char path[512];
    unsigned char *csv;
    size_t len, i;
    float w0[163], w1[163];
    int r, calls = 0, rows = 0;
    bgm_test_tmpdir_create("dist-callbacks");
    snprintf(path, sizeof path, "%s/log.csv", bgm_test_tmpdir());
    /* Every rank is given the same callbacks, as one program run n times. */
    BGM_ASSERT_OK(bgm_callback_lambda(&cbs[0], stop_in_epoch_2, &calls));
    BGM_ASSERT_OK(bgm_callback_lr_scheduler(&cbs[1], halve_after_epoch_1, NULL));
    BGM_ASSERT_OK(bgm_callback_csv_logger(&cbs[2], path, 0));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.callbacks = cbs, .ncallbacks = 3});
    for (r = 0; r < 2; r++)
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
    /* They ran on rank 0 only: train begin, 2 epoch begins, 10 + 3 batch ends,
     * 2 epoch ends, train end. */
    ck_assert_int_eq(calls, 1 + 2 + 13 + 2 + 1);
    /* Both ranks stopped after batch 3 of epoch 2, at the rate rank 0's
     * scheduler set, with the same weights. */
    for (r = 0; r < 2; r++) {
        ck_assert_int_eq(bgm_history_num_epochs(jobs[r].h), 2);
        ck_assert_float_eq(bgm_optimizer_get_lr(bgm_model_optimizer(jobs[r].m)), 0.025f);
    }
    BGM_ASSERT_OK(bgm_model_get_weights(jobs[0].m, w0, 163));
    BGM_ASSERT_OK(bgm_model_get_weights(jobs[1].m, w1, 163));
    ck_assert(memcmp(w0, w1, sizeof w0) == 0);
    /* The CSV, written once: a header and two rows. */
    csv = bgm_test_read_file(path, &len);
    for (i = 0; i < len; i++)
        rows += csv[i] == '\n';
    ck_assert_int_eq(rows, 3);
    free(csv);
    free_jobs(jobs, 2);
    for (r = 0; r < 3; r++)
        bgm_callback_free(cbs[r]);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(a_callback_failing_on_rank_0_fails_every_rank)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    bgm_callback *csv = NULL;
    BGM_ASSERT_OK(bgm_callback_csv_logger(&csv, "/nonexistent-bgm-dir/log.csv", 0));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.callbacks = &csv, .ncallbacks = 1});
    ck_assert_int_eq(jobs[0].status, BGM_E_IO);
    ck_assert_msg(strstr(jobs[0].message, "/nonexistent-bgm-dir/log.csv") != NULL, "%s",
                  jobs[0].message);
    ck_assert_int_eq(jobs[1].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[1].message, "rank 0 (163 parameters, failed) could not start") != NULL,
                  "%s", jobs[1].message);
    free_jobs(jobs, 2);
    bgm_callback_free(csv);
    /* A checkpoint that cannot be written fails at the end of epoch 1. */
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&csv, "/proc/bgm-none/m.bgm", "loss", 0, 0, 0,
                                                NULL, 0, NAN));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.callbacks = &csv, .ncallbacks = 1});
    ck_assert_int_eq(jobs[0].status, BGM_E_IO);
    ck_assert_int_eq(jobs[1].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[1].message, "rank 0 failed at the end of an epoch (BGM_E_IO") !=
                  NULL, "%s", jobs[1].message);
    ck_assert_ptr_null(jobs[1].h);
    free_jobs(jobs, 2);
    bgm_callback_free(csv);
}
END_TEST

START_TEST(custom_loop_averaging_gradients_trains_as_one_process)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    bgm_model *ref = NULL;
    char msg[512];
    int r;
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_custom_loop(ref, NULL, &problem, 64, 0));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.loop = 1});
    for (r = 0; r < 2; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(!bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, NULL, ref, NULL,
                                             1e-5), "rank %d: %s", r, msg);
    }
    free_jobs(jobs, 2);
    bgm_model_free(ref);
}
END_TEST

/* 2 ranks of train_on_batch (graph 0) or a custom loop on the model of kind
 * graph, each on its 32 rows of every 64, against one process on all 64:
 * equal within rel 1e-5, or (equal = 0) not within 1e-3 (ref_graph's model
 * for the reference). */
static void compare_loop_with_one(int batches, int graph, int ref_graph, int equal)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    bgm_model *ref = NULL;
    double want[2];
    char msg[512];
    int r;
    BGM_ASSERT_OK(bgm_test_dist_model_of(&ref, ref_graph, 100, 16));
    if (batches)
        BGM_ASSERT_OK(bgm_test_dist_batch_loop(ref, &problem, 64, 0, -1, want));
    else
        BGM_ASSERT_OK(bgm_test_dist_custom_loop(ref, NULL, &problem, 64, 0));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.loop = !batches, .batches = batches,
                                                .graph = graph});
    for (r = 0; r < 2; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, NULL, ref, NULL,
                                            equal ? 1e-5 : 1e-3) == !equal,
                      "rank %d against one process: %s", r, equal ? msg : "equal");
        /* train_on_batch returns the loss and accuracy of all 64 rows */
        if (batches && equal) {
            ck_assert_msg(fabs(jobs[r].results[0] - want[0]) <= 1e-5 * want[0],
                          "rank %d: loss %.9g, one process %.9g", r, jobs[r].results[0],
                          want[0]);
            ck_assert_msg(jobs[r].results[1] == want[1], "rank %d: accuracy %.9g, one "
                          "process %.9g", r, jobs[r].results[1], want[1]);
        }
    }
    free_jobs(jobs, 2);
    bgm_model_free(ref);
}

START_TEST(two_ranks_train_on_batch_of_32_as_one_of_64)
{
    compare_loop_with_one(1, 0, 0, 1);
}
END_TEST

START_TEST(synchronized_batch_norm_trains_on_batch_and_in_custom_loops_over_all_ranks)
{
    compare_loop_with_one(1, BGM_DIST_SYNC_BN, BGM_DIST_SYNC_BN, 1);
    compare_loop_with_one(0, BGM_DIST_SYNC_BN, BGM_DIST_SYNC_BN, 1);
    /* the control: not synchronised, each rank's 32 rows are not 64 */
    compare_loop_with_one(1, BGM_DIST_BN, BGM_DIST_SYNC_BN, 0);
    compare_loop_with_one(0, BGM_DIST_BN, BGM_DIST_SYNC_BN, 0);
}
END_TEST

START_TEST(a_bad_train_on_batch_call_on_one_rank_fails_every_rank)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.batches = 1, .bad_call = 3});
    ck_assert_int_ne(jobs[1].status, BGM_OK);
    ck_assert_msg(strstr(jobs[1].message, "bgm_model_train_on_batch") != NULL, "%s",
                  jobs[1].message);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[0].message, "bgm_model_train_on_batch: 1 of 2 ranks could not "
                         "set up its step") != NULL, "%s", jobs[0].message);
    /* the 3 steps before were applied alike */
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(jobs[0].m)), 3);
    bgm_test_assert_same_weights(jobs[0].m, jobs[1].m);
    free_jobs(jobs, 2);
}
END_TEST

/* Sparse cross-entropy from logits, except that rank 1 fails its 4th call. */
static bgm_status flaky_loss(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                             const bgm_tensor *y_pred, void *ctx)
{
    rank_job *j = ctx;
    if (j->tr.rank == 1 && ++j->loss_calls == 4)
        return bgm_set_last_error(BGM_E_RANGE, "flaky: rank 1 refuses its 4th batch");
    return bgm_op_sparse_categorical_crossentropy(out, tape, y_pred, y_true, 1);
}

/* Rank 1's 4th batch fails (flaky_loss), with accum batches per step (NULL:
 * 1): every rank fails in step `where` ("epoch 1, step 4"), after `applied`
 * optimizer steps applied alike on both. */
static void check_flaky_rank(const int *accum, const char *where, int64_t applied)
{
    rank_job jobs[2];
    int64_t hidden[2] = {16, 16};
    float w0[163], w1[163];
    char want[64];
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.loss = flaky_loss, .accum = accum});
    ck_assert_int_eq(jobs[1].status, BGM_E_RANGE);
    ck_assert_msg(strstr(jobs[1].message, "refuses its 4th batch") != NULL, "%s",
                  jobs[1].message);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    snprintf(want, sizeof want, "%s: 1 of 2 ranks failed", where);
    ck_assert_msg(strstr(jobs[0].message, want) != NULL, "%s", jobs[0].message);
    BGM_ASSERT_OK(bgm_model_get_weights(jobs[0].m, w0, 163));
    BGM_ASSERT_OK(bgm_model_get_weights(jobs[1].m, w1, 163));
    ck_assert(memcmp(w0, w1, sizeof w0) == 0);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(jobs[0].m)), applied);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(jobs[1].m)), applied);
    free_jobs(jobs, 2);
}

START_TEST(a_step_failing_on_one_rank_fails_every_rank_in_that_step)
{
    /* Three steps were applied on both, the fourth on neither. */
    check_flaky_rank(NULL, "epoch 1, step 4", 3);
}
END_TEST

/* Each of 2 ranks streams its share; rank 1's stream ends after stop_1 batches. */
static void run_streams(rank_job *jobs, int64_t stop_1, const int *accum)
{
    const int64_t hidden[2] = {16, 16}, batches[2] = {1000, stop_1};
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.stream_batches = batches, .accum = accum});
}

/* Rank 1's stream ends after stop_1 batches, in epoch 2 (accum batches per
 * step, NULL: 1): rank 1 fails naming how many it gave, rank 0 in epoch 2,
 * step 4, after `applied` optimizer steps. */
static void check_short_stream(const int *accum, int64_t stop_1, int64_t applied)
{
    rank_job jobs[2];
    char want[128];
    run_streams(jobs, stop_1, accum);
    ck_assert_int_eq(jobs[1].status, BGM_E_INVALID);
    snprintf(want, sizeof want, "rank 1's stream ended after %lld of steps_per_epoch = 10 "
             "batches in epoch 2", (long long)stop_1 - 10);
    ck_assert_msg(strstr(jobs[1].message, want) != NULL, "%s", jobs[1].message);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[0].message, "epoch 2, step 4: 1 of 2 ranks failed") != NULL,
                  "%s", jobs[0].message);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(jobs[0].m)), applied);
    free_jobs(jobs, 2);
}

START_TEST(ranks_streaming_their_shares_train_as_one_process)
{
    rank_job jobs[2];
    bgm_model *ref = NULL;
    bgm_history *href = NULL;
    bgm_fit_options o;
    char msg[512];
    int r;
    /* One process, the batches of 64 in order (a stream is not shuffled). */
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = BGM_DIST_EPOCHS;
    o.batch_size = BGM_DIST_GLOBAL_BATCH;
    o.shuffle = 0;
    o.verbose = 0;
    o.validation_x = problem.vx;
    o.validation_y = problem.vy;
    BGM_ASSERT_OK(bgm_model_fit(&href, ref, problem.x, problem.y, &o));
    run_streams(jobs, 1000, NULL);
    for (r = 0; r < 2; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(!bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, jobs[r].h, ref, href,
                                             1e-5), "rank %d: %s", r, msg);
    }
    free_jobs(jobs, 2);
    /* Rank 1's stream ends after 13 batches: both fail in epoch 2, step 4. */
    check_short_stream(NULL, 13, 13);
    bgm_model_free(ref);
    bgm_history_free(href);
}
END_TEST

/* ---- synchronised BatchNormalization ------------------------------------------- */

START_TEST(two_ranks_with_synchronized_batch_norm_train_as_one_of_batch_64)
{
    check_equivalence(2, BGM_DIST_SYNC_BN);
}
END_TEST

START_TEST(without_synchronization_batch_norm_keeps_each_ranks_statistics)
{
    /* The same model, its BatchNormalization not synchronised: each rank
     * normalises its 32 rows by their own statistics, which is not one
     * process's batch of 64 (what makes the test above mean something). */
    compare_with_one(2, BGM_DIST_BN, BGM_DIST_SYNC_BN, 0);
}
END_TEST

/* ---- gradient accumulation ---------------------------------------------------- */

/* One process: k batches of 64 / k per step on the first n samples (0: all)
 * train as batches of 64, every step (and the epoch's last, smaller one). */
static void check_accumulation_alone(int k, int64_t n)
{
    bgm_model *m = NULL, *ref = NULL;
    bgm_history *h = NULL, *href = NULL;
    int64_t steps = (n ? n : BGM_DIST_SAMPLES) / BGM_DIST_GLOBAL_BATCH;
    char msg[512];
    if ((n ? n : BGM_DIST_SAMPLES) % BGM_DIST_GLOBAL_BATCH)
        steps++;
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit_k(&href, ref, &problem, BGM_DIST_GLOBAL_BATCH, 1, n));
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit_k(&h, m, &problem, BGM_DIST_GLOBAL_BATCH / k, k, n));
    ck_assert_msg(!bgm_test_dist_compare(msg, sizeof msg, m, h, ref, href, 1e-5),
                  "%d x %d against batches of 64 on %lld samples: %s", k,
                  BGM_DIST_GLOBAL_BATCH / k, (long long)n, msg);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(m)),
                     BGM_DIST_EPOCHS * steps);
    ck_assert(bgm_history_values(href, "loss")[1] < bgm_history_values(href, "loss")[0]);
    bgm_model_free(m);
    bgm_model_free(ref);
    bgm_history_free(h);
    bgm_history_free(href);
}

START_TEST(accumulating_2_batches_of_32_trains_as_batches_of_64)
{
    check_accumulation_alone(2, 0);
}
END_TEST

START_TEST(accumulation_applies_an_epochs_last_partial_group_as_a_smaller_step)
{
    /* 608 samples: nine steps of 64 and a last one of 32, an epoch; with
     * k = 4 x 16 the last group holds 2 batches. */
    check_accumulation_alone(2, 608);
    check_accumulation_alone(4, 608);
}
END_TEST

START_TEST(options_of_a_caller_built_before_accumulation_step_every_batch)
{
    bgm_model *m = NULL, *ref = NULL;
    bgm_fit_options o;
    /* The size of the struct before gradient_accumulation_steps: the field
     * is not read (here garbage), each batch is a step. */
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit(NULL, ref, &problem, 32));
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 100, 16));
    BGM_ASSERT_OK(bgm_fit_options_init(&o, offsetof(bgm_fit_options,
                                                    gradient_accumulation_steps)));
    o.gradient_accumulation_steps = -7;
    o.epochs = BGM_DIST_EPOCHS;
    o.verbose = 0;
    o.validation_x = problem.vx;
    o.validation_y = problem.vy;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, problem.x, problem.y, &o));
    bgm_test_assert_same_weights(m, ref);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(m)), 40);
    bgm_model_free(m);
    bgm_model_free(ref);
}
END_TEST

START_TEST(fit_refuses_gradient_accumulation_steps_below_1)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 100, 16));
    ck_assert_int_eq(bgm_test_dist_fit_k(NULL, m, &problem, 32, 0, 0), BGM_E_INVALID);
    ck_assert_msg(strstr(bgm_last_error(), "gradient_accumulation_steps = 0, expected at "
                         "least 1") != NULL, "%s", bgm_last_error());
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(m)), 0);
    bgm_model_free(m);
}
END_TEST

/* 2 ranks, k batches of 64 / (2 k) per step, on the first n samples (0: all),
 * against one process with batches of 64. */
static void check_accumulation_ranks(int k, int64_t n)
{
    rank_job jobs[2];
    const int64_t hidden[2] = {16, 16};
    const int accum[2] = {k, k};
    bgm_model *ref = NULL;
    bgm_history *href = NULL;
    char msg[512];
    int r;
    BGM_ASSERT_OK(bgm_test_dist_model(&ref, 100, 16));
    BGM_ASSERT_OK(bgm_test_dist_fit_k(&href, ref, &problem, BGM_DIST_GLOBAL_BATCH, 1, n));
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.accum = accum, .samples = n});
    for (r = 0; r < 2; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        ck_assert_msg(!bgm_test_dist_compare(msg, sizeof msg, jobs[r].m, jobs[r].h, ref, href,
                                             1e-5),
                      "rank %d, %d x %lld on %lld samples: %s", r, k,
                      (long long)jobs[r].batch, (long long)n, msg);
        ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(jobs[r].m)),
                         bgm_optimizer_step_count(bgm_model_optimizer(ref)));
    }
    free_jobs(jobs, 2);
    bgm_model_free(ref);
    bgm_history_free(href);
}

START_TEST(two_ranks_accumulating_2_batches_of_16_train_as_one_of_batch_64)
{
    check_accumulation_ranks(2, 0);
    check_accumulation_ranks(2, 608); /* the last group of each epoch is one batch */
}
END_TEST

START_TEST(a_batch_failing_inside_a_group_fails_every_rank_at_its_reduction)
{
    const int accum[2] = {3, 3};
    /* Rank 1's 4th batch opens the second group of 3: all fail at its end. */
    check_flaky_rank(accum, "epoch 1, step 6", 1);
}
END_TEST

START_TEST(a_stream_ending_inside_a_group_fails_every_rank_at_its_reduction)
{
    const int accum[2] = {2, 2};
    /* Rank 1 has no 3rd batch in epoch 2, the first of a group of 2: rank 0
     * takes the 4th, and both fail at that group's reduction, after 5 + 1
     * steps. */
    check_short_stream(accum, 12, 6);
}
END_TEST

/* Rank 1, set up unlike rank 0, fails with want; rank 0 names it. */
static void check_rank_1_differs(rank_job *jobs, const char *want)
{
    ck_assert_int_eq(jobs[1].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[1].message, want) != NULL, "%s", jobs[1].message);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[0].message, "differing: rank 1") != NULL, "%s",
                  jobs[0].message);
    free_jobs(jobs, 2);
}

START_TEST(ranks_with_different_accumulation_fail_naming_it)
{
    rank_job jobs[2];
    const int64_t hidden[2] = {16, 16};
    const int accum[2] = {1, 2};
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.accum = accum});
    check_rank_1_differs(jobs, "rank 1's model has 2 gradient_accumulation_steps, rank 0's "
                         "has 1");
}
END_TEST

/* ---- evaluate over ranks -------------------------------------------------------- */

#define EVAL_SAMPLES 603 /* shares of 301 + 302 on 2 ranks, 201 each on 3 */

/* A binary classifier (accuracy, AUC, precision, recall, F1) or, with
 * regression, a model of 2 outputs (MSE, MAE, R²), seeded alike everywhere,
 * and its data: the problem's first EVAL_SAMPLES rows with targets made of
 * them. */
typedef struct eval_case {
    int regression;
    bgm_model *m;
    bgm_tensor *x, *y;
} eval_case;

static void eval_case_make(eval_case *e, int regression)
{
    static const bgm_metric_kind cls[] = {BGM_METRIC_ACCURACY, BGM_METRIC_AUC,
                                          BGM_METRIC_PRECISION, BGM_METRIC_RECALL,
                                          BGM_METRIC_F1};
    static const bgm_metric_kind reg[] = {BGM_METRIC_MSE, BGM_METRIC_MAE, BGM_METRIC_R2};
    bgm_optimizer *o = NULL;
    int64_t i, cols = regression ? 2 : 1;
    const float *x;
    float *y;
    e->regression = regression;
    BGM_ASSERT_OK(bgm_model_create(&e->m, (int64_t[]){6}, 1, 5));
    BGM_ASSERT_OK(bgm_model_add(e->m, bgm_layer_dense(8, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(e->m, bgm_layer_dense(cols, regression ? BGM_ACT_LINEAR
                                                                       : BGM_ACT_SIGMOID)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.01f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(e->m, o, regression ? BGM_LOSS_MSE
                                                        : BGM_LOSS_BINARY_CROSSENTROPY,
                                    0, regression ? reg : cls, regression ? 3 : 5));
    BGM_ASSERT_OK(bgm_tensor_slice(&e->x, problem.x, 0, EVAL_SAMPLES));
    BGM_ASSERT_OK(bgm_tensor_zeros(&e->y, BGM_FLOAT32, (int64_t[]){EVAL_SAMPLES, cols}, 2));
    x = bgm_tensor_data(e->x);
    y = bgm_tensor_data(e->y);
    for (i = 0; i < EVAL_SAMPLES; i++) {
        if (regression) {
            y[2 * i] = x[6 * i] - 0.5f * x[6 * i + 1];
            y[2 * i + 1] = 3.0f + x[6 * i + 2] * x[6 * i + 3];
        } else {
            y[i] = x[6 * i] + x[6 * i + 3] > 0.3f ? 1.0f : 0.0f;
        }
    }
}

static void eval_case_free(eval_case *e)
{
    bgm_model_free(e->m);
    bgm_tensor_free(e->x);
    bgm_tensor_free(e->y);
}

/* One rank's evaluate of its case over a thread communicator. */
typedef struct eval_job {
    thread_rank tr;
    eval_case c;
    int n;               /* results asked for (a rank may ask for 0, a bad call) */
    double results[8];
    bgm_status status;
    char message[1024];
} eval_job;

static void *run_eval_rank(void *arg)
{
    eval_job *j = arg;
    bgm_comm *c = NULL;
    j->status = thread_comm(&c, &j->tr);
    if (j->status == BGM_OK)
        j->status = bgm_model_set_comm(j->c.m, c);
    if (j->status == BGM_OK)
        j->status = bgm_model_evaluate(j->results, j->n, j->c.m, j->c.x, j->c.y, 50);
    snprintf(j->message, sizeof j->message, "%s", j->status ? bgm_last_error() : "");
    bgm_model_set_comm(j->c.m, NULL);
    bgm_comm_free(c);
    free(j->tr.sum);
    return NULL;
}

/* Evaluates on nranks threads (rank r asks for n[r] results). */
static void run_eval_ranks(eval_job *jobs, int nranks, int regression, const int *n)
{
    int r;
    memset(jobs, 0, (size_t)nranks * sizeof *jobs);
    for (r = 0; r < nranks; r++) {
        jobs[r].n = n[r];
        eval_case_make(&jobs[r].c, regression);
    }
    run_group(nranks, run_eval_rank, jobs, sizeof *jobs);
}

static void check_evaluate_on_ranks(int nranks, int regression)
{
    eval_job jobs[MAX_RANKS];
    const int n[MAX_RANKS] = {8, 8, 8, 8};
    eval_case one;
    double want[8];
    int r, k, nvalues;
    eval_case_make(&one, regression);
    nvalues = bgm_model_num_metrics(one.m);
    BGM_ASSERT_OK(bgm_model_evaluate(want, 8, one.m, one.x, one.y, 50));
    run_eval_ranks(jobs, nranks, regression, n);
    for (r = 0; r < nranks; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        for (k = 0; k < nvalues; k++)
            ck_assert_msg(fabs(jobs[r].results[k] - want[k]) <= 1e-5 * fabs(want[k]) + 1e-7,
                          "rank %d of %d, %s: %.9g against one process's %.9g", r, nranks,
                          bgm_model_metric_name(one.m, k), jobs[r].results[k], want[k]);
        eval_case_free(&jobs[r].c);
    }
    /* Real values: no classification metric at a trivial 0 or 1; the
     * regression's errors and R² away from 0. */
    for (k = 1; k < nvalues; k++)
        ck_assert_msg(regression ? isfinite(want[k]) && fabs(want[k]) > 0.01
                                 : want[k] > 0.05 && want[k] < 0.999,
                      "%s = %g", bgm_model_metric_name(one.m, k), want[k]);
    eval_case_free(&one);
}

START_TEST(evaluate_on_ranks_gives_every_rank_the_values_of_all_samples)
{
    check_evaluate_on_ranks(2, 0); /* accuracy, AUC, precision, recall, F1 */
    check_evaluate_on_ranks(3, 0);
    check_evaluate_on_ranks(2, 1); /* MSE, MAE, R² */
    check_evaluate_on_ranks(3, 1);
}
END_TEST

START_TEST(a_rank_whose_evaluate_call_is_wrong_fails_every_rank)
{
    eval_job jobs[2];
    const int n[2] = {8, 0};
    int r;
    run_eval_ranks(jobs, 2, 0, n);
    ck_assert_int_eq(jobs[1].status, BGM_E_INVALID);
    ck_assert_msg(strstr(jobs[1].message, "n = 0, room for at least the loss") != NULL, "%s",
                  jobs[1].message);
    ck_assert_int_eq(jobs[0].status, BGM_E_STATE);
    ck_assert_msg(strstr(jobs[0].message, "bgm_model_evaluate: 1 of 2 ranks failed to "
                         "evaluate (rank 1;") != NULL, "%s", jobs[0].message);
    for (r = 0; r < 2; r++)
        eval_case_free(&jobs[r].c);
}
END_TEST

/* ---- the seam itself ------------------------------------------------------------ */

/* A single-rank fake whose calls fail from the fail_at-th collective on. */
typedef struct fake {
    int rank, nranks;
    int calls, fail_at;
    int freed, aborts, abort_code;
    char abort_message[256];
} fake;

static int fk_rank(void *ctx, int *rank)
{
    *rank = ((fake *)ctx)->rank;
    return 0;
}

static int fk_num_ranks(void *ctx, int *n)
{
    *n = ((fake *)ctx)->nranks;
    return 0;
}

static int fk_collective(fake *f)
{
    return ++f->calls >= f->fail_at && f->fail_at > 0 ? 42 : 0;
}

static int fk_allreduce(void *ctx, float *data, int64_t n)
{
    (void)data;
    (void)n;
    return fk_collective(ctx);
}

static int fk_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    (void)data;
    (void)nbytes;
    (void)root;
    return fk_collective(ctx);
}

/* A reduction that starts and ends as the fake's collectives do (each a call). */
static int fk_start(void *ctx, float *data, int64_t n, void **request)
{
    (void)data;
    (void)n;
    *request = ctx;
    return fk_collective(ctx);
}

static int fk_wait(void *ctx, void *request)
{
    (void)request;
    return fk_collective(ctx);
}

/* 1: fit_over_failing_fake gives the fake fk_start and fk_wait and fits with
 * one bucket per weight tensor (a test that sets it puts it back). */
static int fake_buckets;

static const char *fk_error_string(void *ctx, int code)
{
    (void)ctx;
    return code == 42 ? "fake link down" : "unknown";
}

static void fk_abort(void *ctx, int code, const char *message)
{
    fake *f = ctx;
    f->aborts++;
    f->abort_code = code;
    snprintf(f->abort_message, sizeof f->abort_message, "%s", message);
}

static void fk_free(void *ctx)
{
    ((fake *)ctx)->freed++;
}

static bgm_comm_ops fake_ops(void)
{
    bgm_comm_ops ops;
    BGM_ASSERT_OK(bgm_comm_ops_init(&ops, sizeof ops));
    ops.rank = fk_rank;
    ops.num_ranks = fk_num_ranks;
    ops.allreduce_sum = fk_allreduce;
    ops.broadcast = fk_broadcast;
    ops.error_string = fk_error_string;
    ops.abort = fk_abort;
    ops.free_ctx = fk_free;
    return ops;
}

START_TEST(comm_reports_its_layout_and_frees_its_context_once)
{
    fake f = {.rank = 2, .nranks = 3};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    ck_assert_int_eq(bgm_comm_rank(c), 2);
    ck_assert_int_eq(bgm_comm_num_ranks(c), 3);
    ck_assert_int_eq(bgm_comm_rank(NULL), 0);
    ck_assert_int_eq(bgm_comm_num_ranks(NULL), 0);
    /* No barrier callback: one all-reduce of one float stands in for it. */
    BGM_ASSERT_OK(bgm_comm_barrier(c));
    ck_assert_int_eq(f.calls, 1);
    bgm_comm_free(c);
    ck_assert_int_eq(f.freed, 1);
    bgm_comm_free(NULL);
}
END_TEST

START_TEST(comm_create_refuses_bad_tables_and_layouts)
{
    fake f = {.rank = 3, .nranks = 3};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = (bgm_comm *)&f;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_INVALID, "rank 3 of 3 ranks");
    ck_assert_ptr_null(c);
    ck_assert_int_eq(f.freed, 1); /* a failed create releases the context it owned */
    f.rank = 0;
    ops.broadcast = NULL;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_INVALID, "ops->broadcast is NULL");
    ops = fake_ops();
    ops.size = 8;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_INVALID, "bgm_comm_ops_init");
    ops.size = sizeof ops + 8;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_UNSUPPORTED, "newer header");
    BGM_ASSERT_FAILS(bgm_comm_ops_init(&ops, 4), BGM_E_INVALID, "bgm_comm_ops");
}
END_TEST

START_TEST(comm_callback_failures_become_io_statuses_with_the_transport_text)
{
    fake f = {.rank = 0, .nranks = 2, .fail_at = 1};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    float v[3] = {1, 2, 3};
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    BGM_ASSERT_FAILS(bgm_comm_allreduce_sum(c, v, 3), BGM_E_IO,
                     "bgm_comm_allreduce_sum: the communicator's allreduce_sum failed (code "
                     "42): fake link down");
    BGM_ASSERT_FAILS(bgm_comm_broadcast(c, v, sizeof v, 1), BGM_E_IO, "fake link down");
    BGM_ASSERT_FAILS(bgm_comm_barrier(c), BGM_E_IO, "allreduce_sum failed for a barrier");
    BGM_ASSERT_FAILS(bgm_comm_broadcast(c, v, sizeof v, 2), BGM_E_INVALID, "root 2");
    BGM_ASSERT_FAILS(bgm_comm_allreduce_sum(c, NULL, 3), BGM_E_INVALID, "data NULL");
    BGM_ASSERT_FAILS(bgm_comm_allreduce_sum(NULL, v, 3), BGM_E_INVALID, "'c' is NULL");
    bgm_comm_free(c);
}
END_TEST

/* Fit over a single-rank fake that fails at its fail_at-th collective. */
static void fit_over_failing_fake(int fail_at, const char *needle)
{
    fake f = {.rank = 0, .nranks = 1, .fail_at = fail_at};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    if (fake_buckets) {
        ops.allreduce_start = fk_start;
        ops.wait = fk_wait;
        bgm_test_dist_bucket_bytes = 1;
    }
    bgm_model *m = NULL;
    bgm_history *h = (bgm_history *)&f;
    float before[163], after[163];
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 5, 16));
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    BGM_ASSERT_OK(bgm_model_set_comm(m, c));
    ck_assert_ptr_eq(bgm_model_comm(m), c);
    BGM_ASSERT_OK(bgm_model_get_weights(m, before, 163));
    BGM_ASSERT_FAILS(bgm_test_dist_fit(&h, m, &problem, 32), BGM_E_IO, needle);
    ck_assert_ptr_null(h);
    /* The fake's reduction adds nothing: a step that failed there changed nothing. */
    BGM_ASSERT_OK(bgm_model_get_weights(m, after, 163));
    ck_assert(memcmp(before, after, sizeof before) == 0);
    /* The other ranks would be waiting: the abort hook heard of it. */
    ck_assert_int_eq(f.aborts, 1);
    ck_assert_int_eq(f.abort_code, BGM_E_IO);
    ck_assert_msg(strstr(f.abort_message, needle) != NULL, "%s", f.abort_message);
    BGM_ASSERT_OK(bgm_model_set_comm(m, NULL));
    bgm_model_free(m);
    bgm_comm_free(c);
}

START_TEST(fit_turns_a_failed_broadcast_into_an_io_status)
{
    fit_over_failing_fake(1, "broadcast failed for rank 0's model layout (code 42): fake "
                             "link down");
}
END_TEST

START_TEST(fit_turns_a_failed_step_reduction_into_an_io_status)
{
    /* Collectives: layout, the check-buffer agreement, the agreement,
     * weights, optimizer state (momentum), generator, rank 0's decisions at
     * the start of training and of the epoch, the epoch's seed; then the
     * first step. */
    fit_over_failing_fake(10, "allreduce_sum failed for a step's gradients (code 42)");
}
END_TEST

START_TEST(fit_turns_a_failed_bucket_reduction_into_an_io_status)
{
    /* The first step with 4 buckets: their 4 starts (calls 10 to 13), the
     * losses and counts (14), the 4 waits (15 to 18). */
    fake_buckets = 1;
    fit_over_failing_fake(10, "allreduce_start failed for a bucket of a step's gradients "
                              "(code 42): fake link down");
    fit_over_failing_fake(13, "allreduce_start failed for a bucket of a step's gradients");
    fit_over_failing_fake(14, "allreduce_sum failed for a step's losses and counts");
    fit_over_failing_fake(15, "wait failed for a bucket of a step's gradients (code 42)");
    fit_over_failing_fake(18, "wait failed for a bucket of a step's gradients");
    fake_buckets = 0;
    bgm_test_dist_bucket_bytes = 0;
}
END_TEST

static bgm_status no_rows(void *ctx, int64_t batch, bgm_tensor *const *xs,
                         bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    (void)ctx;
    (void)batch;
    (void)xs;
    (void)ys;
    (void)msg;
    (void)size;
    *rows = 0;
    return BGM_OK;
}

START_TEST(fit_with_a_communicator_refuses_streams_without_steps)
{
    fake f = {.rank = 0, .nranks = 1};
    bgm_stream *st = NULL;
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 1, 4));
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    BGM_ASSERT_OK(bgm_model_set_comm(m, c));
    BGM_ASSERT_OK(problem_stream(&st, no_rows, NULL, 32));
    BGM_ASSERT_FAILS(bgm_model_fit_stream(NULL, m, st, 0, NULL, 0, NULL), BGM_E_INVALID,
                     "give steps_per_epoch");
    bgm_stream_free(st);
    BGM_ASSERT_FAILS(bgm_model_set_comm(NULL, c), BGM_E_INVALID, "'m' is NULL");
    ck_assert_ptr_null(bgm_model_comm(NULL));
    bgm_model_free(m);
    bgm_comm_free(c);
}
END_TEST

START_TEST(predict_with_a_communicator_runs_on_each_rank_alone)
{
    /* rank 0 of 2 predicts alone: no collective call, the same values as
     * without the communicator (one rank serving while others train) */
    fake f = {.rank = 0, .nranks = 2};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    bgm_model *m = NULL;
    bgm_tensor *got = NULL, *want = NULL;
    BGM_ASSERT_OK(bgm_test_dist_model_of(&m, BGM_DIST_SYNC_BN, 3, 8));
    BGM_ASSERT_OK(bgm_model_predict(&want, m, problem.vx, 32));
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    BGM_ASSERT_OK(bgm_model_set_comm(m, c));
    BGM_ASSERT_OK(bgm_model_predict(&got, m, problem.vx, 32));
    ck_assert_int_eq(f.calls, 0);
    ck_assert_int_eq(bgm_tensor_dim(got, 0), 96);
    ck_assert_mem_eq(bgm_tensor_data(got), bgm_tensor_data(want),
                     (size_t)bgm_tensor_numel(want) * sizeof(float));
    bgm_tensor_free(got);
    bgm_tensor_free(want);
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    bgm_comm_free(c);
}
END_TEST

START_TEST(set_last_error_lets_a_transport_fail_as_the_library_does)
{
    ck_assert_int_eq(bgm_set_last_error(BGM_E_IO, "my_transport: link down"), BGM_E_IO);
    ck_assert_str_eq(bgm_last_error(), "my_transport: link down");
    BGM_ASSERT_FAILS(bgm_set_last_error(BGM_OK, "fine"), BGM_E_INVALID,
                     "bgm_set_last_error: status 0 is not an error");
    BGM_ASSERT_FAILS(bgm_set_last_error(BGM_E_IO, NULL), BGM_E_INVALID, "'message' is NULL");
}
END_TEST

START_TEST(comm_average_refuses_bad_tensors)
{
    fake f = {.rank = 0, .nranks = 2};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    bgm_tensor *t[2] = {NULL, NULL};
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t[0], BGM_FLOAT32, (int64_t[]){3}, 1));
    BGM_ASSERT_OK(bgm_tensor_zeros(&t[1], BGM_INT32, (int64_t[]){3}, 1));
    BGM_ASSERT_FAILS(bgm_comm_average(c, t, 2), BGM_E_DTYPE, "tensors[1] is not float32");
    BGM_ASSERT_FAILS(bgm_comm_average(c, NULL, 2), BGM_E_INVALID, "tensors NULL");
    BGM_ASSERT_FAILS(bgm_comm_broadcast_tensors(c, t, 2, 5), BGM_E_INVALID, "root 5");
    /* The fake's sum adds nothing: the mean over 2 ranks halves. */
    ((float *)bgm_tensor_data(t[0]))[1] = 3.0f;
    BGM_ASSERT_OK(bgm_comm_average(c, t, 1));
    ck_assert_float_eq(((float *)bgm_tensor_data(t[0]))[1], 1.5f);
    f.fail_at = f.calls + 1;
    BGM_ASSERT_FAILS(bgm_comm_average(c, t, 1), BGM_E_IO,
                     "allreduce_sum failed for the averaged tensors (code 42)");
    BGM_ASSERT_FAILS(bgm_comm_broadcast_tensors(c, t, 2, 0), BGM_E_IO, "fake link down");
    bgm_tensor_free(t[0]);
    bgm_tensor_free(t[1]);
    bgm_comm_free(c);
}
END_TEST

/* ---- gradient buckets overlapping backward ------------------------------------ */

/* With buckets of `bytes` (1: one per weight tensor) and nonblocking
 * communicators or not, 2 ranks train as one process: the Sequential and
 * the functional model, 2 accumulated batches of 16, synchronised
 * BatchNormalization (whose reductions in backward come between the
 * buckets' starts). */
static void check_buckets(int64_t bytes, int nonblocking)
{
    bgm_test_dist_bucket_bytes = bytes;
    comm_nonblocking = nonblocking;
    check_equivalence(2, 0);
    check_equivalence(2, 1);
    check_equivalence(2, BGM_DIST_SYNC_BN);
    check_accumulation_ranks(2, 0);
    check_accumulation_ranks(2, 608);
    bgm_test_dist_bucket_bytes = 0;
    comm_nonblocking = 0;
}

START_TEST(one_bucket_per_weight_trains_as_one_process)
{
    check_buckets(1, 0);
}
END_TEST

START_TEST(buckets_reduced_without_blocking_train_as_one_process)
{
    check_buckets(1, 1);
    check_buckets(200, 1); /* {bias, kernel} of the last layer, then the rest */
}
END_TEST

START_TEST(each_step_starts_one_reduction_per_bucket_and_waits_for_all)
{
    rank_job jobs[2];
    const int64_t hidden[2] = {16, 16};
    int r;
    bgm_test_dist_bucket_bytes = 1;
    comm_nonblocking = 1;
    run_ranks_spec(jobs, 2, hidden, &(run_spec){0});
    for (r = 0; r < 2; r++) {
        ck_assert_msg(jobs[r].status == BGM_OK, "rank %d: %s", r, jobs[r].message);
        /* 20 steps of 4 buckets (2 kernels, 2 biases); none left in flight. */
        ck_assert_int_eq(jobs[r].tr.starts, 20 * 4);
        ck_assert_int_eq(jobs[r].tr.started, 0);
    }
    free_jobs(jobs, 2);
    bgm_test_dist_bucket_bytes = 0;
    comm_nonblocking = 0;
}
END_TEST

START_TEST(a_step_failing_on_one_rank_with_buckets_fails_every_rank_in_that_step)
{
    const int accum[2] = {3, 3};
    bgm_test_dist_bucket_bytes = 1;
    comm_nonblocking = 1;
    check_flaky_rank(NULL, "epoch 1, step 4", 3);
    check_flaky_rank(accum, "epoch 1, step 6", 1);
    bgm_test_dist_bucket_bytes = 0;
    comm_nonblocking = 0;
}
END_TEST

START_TEST(ranks_with_different_bucket_sizes_fail_naming_it)
{
    rank_job jobs[2];
    const int64_t hidden[2] = {16, 16}, bytes[2] = {0, 1024};
    run_ranks_spec(jobs, 2, hidden, &(run_spec){.bucket_bytes = bytes});
    check_rank_1_differs(jobs, "rank 1's model has 1024 allreduce_bucket_bytes, rank 0's "
                         "has 0");
}
END_TEST

START_TEST(fit_refuses_a_negative_bucket_size)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_test_dist_model(&m, 100, 16));
    bgm_test_dist_bucket_bytes = -1;
    ck_assert_int_eq(bgm_test_dist_fit(NULL, m, &problem, 32), BGM_E_INVALID);
    bgm_test_dist_bucket_bytes = 0;
    ck_assert_msg(strstr(bgm_last_error(), "allreduce_bucket_bytes = -1, expected at least 0")
                  != NULL, "%s", bgm_last_error());
    bgm_model_free(m);
}
END_TEST

START_TEST(comm_create_refuses_allreduce_start_without_wait)
{
    fake f = {.rank = 0, .nranks = 2};
    bgm_comm_ops ops = fake_ops();
    bgm_comm *c = NULL;
    ops.allreduce_start = tr_start;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_INVALID,
                     "ops->wait is NULL; allreduce_start and wait go together");
    ck_assert_ptr_null(c);
    ops.allreduce_start = NULL;
    ops.wait = tr_wait;
    BGM_ASSERT_FAILS(bgm_comm_create(&c, &ops, &f), BGM_E_INVALID,
                     "ops->allreduce_start is NULL");
    ck_assert_int_eq(f.freed, 2);
    /* A table of 0.2.0's size: what lies beyond it is not read. */
    ops.size = offsetof(bgm_comm_ops, allreduce_start);
    BGM_ASSERT_OK(bgm_comm_create(&c, &ops, &f));
    bgm_comm_free(c);
    ck_assert_int_eq(f.freed, 3);
}
END_TEST

Suite *suite_distributed(void)
{
    Suite *s = suite_create("distributed");
    TCase *seam = tcase_create("seam");
    TCase *fit = tcase_create("fit");
    tcase_add_test(seam, set_last_error_lets_a_transport_fail_as_the_library_does);
    tcase_add_test(seam, comm_reports_its_layout_and_frees_its_context_once);
    tcase_add_test(seam, comm_create_refuses_bad_tables_and_layouts);
    tcase_add_test(seam, comm_callback_failures_become_io_statuses_with_the_transport_text);
    tcase_add_test(seam, fit_turns_a_failed_broadcast_into_an_io_status);
    tcase_add_test(seam, fit_turns_a_failed_step_reduction_into_an_io_status);
    tcase_add_test(seam, fit_with_a_communicator_refuses_streams_without_steps);
    tcase_add_test(seam, comm_average_refuses_bad_tensors);
    tcase_add_test(seam, predict_with_a_communicator_runs_on_each_rank_alone);
    tcase_add_test(fit, one_rank_communicator_trains_bit_for_bit_as_no_communicator);
    tcase_add_test(fit, two_ranks_of_batch_32_train_as_one_of_batch_64);
    tcase_add_test(fit, four_ranks_of_batch_16_train_as_one_of_batch_64);
    tcase_add_test(fit, two_ranks_of_a_graph_model_train_as_one_of_batch_64);
    tcase_add_test(fit, ranks_report_auc_of_all_their_scores_as_one_process);
    tcase_add_test(fit, ranks_report_mse_mae_and_r2_of_all_their_samples_as_one_process);
    tcase_add_test(fit, rank_with_another_parameter_count_fails_every_rank_naming_it);
    tcase_add_test(fit, only_rank_0_writes_progress_lines);
    tcase_add_test(fit, rank_0s_callbacks_decide_for_every_rank);
    tcase_add_test(fit, a_callback_failing_on_rank_0_fails_every_rank);
    tcase_add_test(fit, custom_loop_averaging_gradients_trains_as_one_process);
    tcase_add_test(fit, two_ranks_train_on_batch_of_32_as_one_of_64);
    tcase_add_test(fit, synchronized_batch_norm_trains_on_batch_and_in_custom_loops_over_all_ranks);
    tcase_add_test(fit, a_bad_train_on_batch_call_on_one_rank_fails_every_rank);
    tcase_add_test(fit, a_step_failing_on_one_rank_fails_every_rank_in_that_step);
    tcase_add_test(fit, ranks_streaming_their_shares_train_as_one_process);
    tcase_add_test(fit, accumulating_2_batches_of_32_trains_as_batches_of_64);
    tcase_add_test(fit, accumulation_applies_an_epochs_last_partial_group_as_a_smaller_step);
    tcase_add_test(fit, options_of_a_caller_built_before_accumulation_step_every_batch);
    tcase_add_test(fit, fit_refuses_gradient_accumulation_steps_below_1);
    tcase_add_test(fit, two_ranks_accumulating_2_batches_of_16_train_as_one_of_batch_64);
    tcase_add_test(fit, a_batch_failing_inside_a_group_fails_every_rank_at_its_reduction);
    tcase_add_test(fit, a_stream_ending_inside_a_group_fails_every_rank_at_its_reduction);
    tcase_add_test(fit, ranks_with_different_accumulation_fail_naming_it);
    tcase_add_test(fit, two_ranks_with_synchronized_batch_norm_train_as_one_of_batch_64);
    tcase_add_test(fit, without_synchronization_batch_norm_keeps_each_ranks_statistics);
    tcase_add_test(fit, evaluate_on_ranks_gives_every_rank_the_values_of_all_samples);
    tcase_add_test(fit, a_rank_whose_evaluate_call_is_wrong_fails_every_rank);
    tcase_add_test(fit, one_bucket_per_weight_trains_as_one_process);
    tcase_add_test(fit, buckets_reduced_without_blocking_train_as_one_process);
    tcase_add_test(fit, each_step_starts_one_reduction_per_bucket_and_waits_for_all);
    tcase_add_test(fit, a_step_failing_on_one_rank_with_buckets_fails_every_rank_in_that_step);
    tcase_add_test(fit, fit_refuses_a_negative_bucket_size);
    tcase_add_test(fit, ranks_with_different_bucket_sizes_fail_naming_it);
    tcase_add_test(seam, comm_create_refuses_allreduce_start_without_wait);
    tcase_add_test(seam, fit_turns_a_failed_bucket_reduction_into_an_io_status);
    tcase_set_timeout(fit, 20);
    tcase_add_checked_fixture(seam, make_data, free_data);
    tcase_add_checked_fixture(fit, make_data, free_data);
    suite_add_tcase(s, seam);
    suite_add_tcase(s, fit);
    return s;
}
