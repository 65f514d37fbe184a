/*
 * Data-parallel fit over Open MPI, run by test/mpi/check_mpi.sh under
 * `mpirun -np 2`. Every rank fits the problem of test/dist_problem.h with
 * batch 64 / size over libbigmodel-mpi's communicator, then fits it alone
 * with batch 64 and no communicator, and compares (rel 1e-5). With
 * "mismatch", rank 1 builds a wider model and every rank must fail with
 * BGM_E_STATE naming the parameter counts. With "kill DIR", rank 0
 * checkpoints every epoch into DIR and rank 1 kills itself once the first
 * checkpoint is there: the job must end (check_mpi.sh bounds the time), and
 * "load FILE" (one rank) then loads that checkpoint. Under `mpirun
 * --enable-recovery` with BIGMODEL_MPI_TIMEOUT set, the job goes on without
 * rank 1, and rank 0's fit must fail with the communicator's "no answer
 * from the other ranks" (it prints that and exits 0). With "buckets", the
 * equivalences run with one bucket of gradients per weight tensor, each
 * reduced by MPI_Iallreduce while backward goes on. Exit 0 on success.
 */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bigmodel/mpi.h"
#include "dist_problem.h"

static int rank;

static int fail(const char *what, bgm_status s)
{
    fprintf(stderr, "fit_mpi: rank %d: FAIL: %s: %s (%s)\n", rank, what,
            bgm_status_string(s), bgm_last_error());
    return 1;
}

/* BIGMODEL_MPI_TIMEOUT=soon fails the create naming it (BGM_OK), with the
 * variable put back as it was. */
static bgm_status bad_timeout_variable(void)
{
    char was[64] = "";
    const char *env = getenv("BIGMODEL_MPI_TIMEOUT");
    bgm_comm *c = NULL;
    bgm_status s;
    if (env)
        snprintf(was, sizeof was, "%s", env);
    setenv("BIGMODEL_MPI_TIMEOUT", "soon", 1);
    s = bgm_mpi_comm_create(&c, MPI_COMM_WORLD, 0);
    if (env)
        setenv("BIGMODEL_MPI_TIMEOUT", was, 1);
    else
        unsetenv("BIGMODEL_MPI_TIMEOUT");
    if (s == BGM_E_INVALID && !c && strstr(bgm_last_error(), "BIGMODEL_MPI_TIMEOUT='soon' is "
                                           "not a number of seconds"))
        return BGM_OK;
    bgm_comm_free(c);
    return s == BGM_OK ? BGM_E_INTERNAL : s;
}

/* Bad calls of bgm_mpi_comm_create come back as statuses. */
static int bad_calls(void)
{
    bgm_comm *c = NULL;
    int finalized = 0;
    bgm_status s = bgm_mpi_comm_create(NULL, MPI_COMM_WORLD, 0);
    if (s != BGM_E_INVALID || !strstr(bgm_last_error(), "bgm_mpi_comm_create: argument 'out'"))
        return fail("NULL out accepted", s);
    s = bgm_mpi_comm_create(&c, MPI_COMM_NULL, 0);
    if (s != BGM_E_INVALID || c || !strstr(bgm_last_error(), "MPI_COMM_NULL"))
        return fail("MPI_COMM_NULL accepted", s);
    s = bgm_mpi_comm_create(&c, MPI_COMM_WORLD, 8);
    if (s != BGM_E_INVALID || c || !strstr(bgm_last_error(), "unknown flags"))
        return fail("unknown flags accepted", s);
    s = bgm_mpi_comm_create_world(&c, 8);
    if (s != BGM_E_INVALID || c || !strstr(bgm_last_error(), "bgm_mpi_comm_create_world"))
        return fail("unknown flags accepted by bgm_mpi_comm_create_world", s);
    s = bgm_mpi_comm_create_timeout(&c, MPI_COMM_WORLD, 0, -1.0);
    if (s != BGM_E_INVALID || c || !strstr(bgm_last_error(), "timeout_s must be >= 0"))
        return fail("a negative timeout accepted", s);
    if ((s = bad_timeout_variable()) != BGM_OK)
        return fail("BIGMODEL_MPI_TIMEOUT=soon accepted", s);
    /* MPI is the caller's here: the communicator leaves it initialized. */
    if ((s = bgm_mpi_comm_create_world(&c, 0)) != BGM_OK)
        return fail("bgm_mpi_comm_create_world", s);
    bgm_comm_free(c);
    MPI_Finalized(&finalized);
    if (finalized)
        return fail("bgm_comm_free finalized the caller's MPI", BGM_OK);
    return 0;
}

/* evaluate with the communicator (each rank its share of the validation
 * data) gives every rank the values one process gets alone (rel 1e-5). */
static int evaluate_shares(const bgm_model *m, const bgm_model *ref,
                           const bgm_test_dist_data *d)
{
    double got[2], want[2];
    bgm_status s = bgm_model_evaluate(got, 2, m, d->vx, d->vy, 10);
    if (s != BGM_OK)
        return fail("evaluate with the communicator", s);
    if ((s = bgm_model_evaluate(want, 2, ref, d->vx, d->vy, 10)) != BGM_OK)
        return fail("evaluate alone", s);
    if (fabs(got[0] - want[0]) > 1e-5 * fabs(want[0]) || got[1] != want[1]) {
        fprintf(stderr, "fit_mpi: rank %d: FAIL: evaluate over the ranks gave loss %.9g, "
                "accuracy %.9g; one process %.9g, %.9g\n", rank, got[0], got[1], want[0],
                want[1]);
        return 1;
    }
    printf("fit_mpi: rank %d: evaluate over the ranks = one process: loss %.4f, accuracy "
           "%.4f\n", rank, got[0], got[1]);
    return 0;
}

/* This rank's model of kind graph (seeded apart from rank 0's), given c. */
static bgm_status attached_model(bgm_model **m, bgm_comm *c, int graph)
{
    bgm_status s = bgm_test_dist_model_of(m, graph, 100 + (uint64_t)rank, 16);
    return s == BGM_OK ? bgm_model_set_comm(*m, c) : s;
}

/* The equivalence: this rank's share against one process alone, for the
 * Sequential model or the functional one (graph), with k batches per step
 * (gradient accumulation); graph BGM_DIST_SYNC_BN: the Sequential one with
 * a synchronised BatchNormalization. */
static int equivalence(bgm_comm *c, const bgm_test_dist_data *d, int size, int graph, int k)
{
    const int batch = BGM_DIST_GLOBAL_BATCH / size / k;
    bgm_model *m = NULL, *ref = NULL;
    bgm_history *h = NULL, *href = NULL;
    char msg[512];
    bgm_status s = attached_model(&m, c, graph);
    int bad = 0;
    if (s == BGM_OK)
        s = bgm_test_dist_fit_k(&h, m, d, batch, k, 0);
    if (s != BGM_OK)
        bad = fail("data-parallel fit", s);
    if (!bad && (s = bgm_test_dist_model_of(&ref, graph, 100, 16)) == BGM_OK)
        s = bgm_test_dist_fit(&href, ref, d, BGM_DIST_GLOBAL_BATCH);
    if (!bad && s != BGM_OK)
        bad = fail("the one-process fit", s);
    if (!bad && k == 1 && !graph)
        bad = evaluate_shares(m, ref, d);
    if (!bad && bgm_test_dist_compare(msg, sizeof msg, m, h, ref, href, 1e-5)) {
        fprintf(stderr, "fit_mpi: rank %d: FAIL: %d ranks x %d batches of %d against 1 x "
                "batch %d: %s\n", rank, size, k, batch, BGM_DIST_GLOBAL_BATCH, msg);
        bad = 1;
    }
    if (!bad)
        printf("fit_mpi: rank %d: %s model: %d ranks x %s%d = 1 x batch %d after %d "
               "steps (weights and history, rel 1e-5); loss %.4f -> %.4f\n", rank,
               graph == BGM_DIST_SYNC_BN ? "synchronized BatchNormalization"
                                         : graph ? "functional" : "Sequential", size,
               k > 1 ? "accumulated batches of " : "batch ", batch, BGM_DIST_GLOBAL_BATCH,
               BGM_DIST_SAMPLES / BGM_DIST_GLOBAL_BATCH * BGM_DIST_EPOCHS,
               bgm_history_values(h, "loss")[0], bgm_history_values(h, "loss")[1]);
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    bgm_model_free(ref);
    bgm_history_free(h);
    bgm_history_free(href);
    return bad;
}

/* The metrics that are no sums of counts (AUC, or with regression MSE,
 * MAE and R²) in the history of the ranks' fit equal one process's. */
static int metrics_equivalence(bgm_comm *c, const bgm_test_dist_data *problem, int size,
                               int regression)
{
    bgm_test_dist_data d;
    bgm_model *m = NULL, *ref = NULL;
    bgm_history *h = NULL, *href = NULL;
    const char *key = regression ? "r2" : "auc";
    char msg[512];
    bgm_status s = bgm_test_dist_metrics_data(&d, problem, regression);
    int bad = 0;
    if (s == BGM_OK)
        s = bgm_test_dist_metrics_model(&m, regression, 100 + (uint64_t)rank, 16);
    if (s == BGM_OK)
        s = bgm_model_set_comm(m, c);
    if (s == BGM_OK)
        s = bgm_test_dist_fit(&h, m, &d, BGM_DIST_GLOBAL_BATCH / size);
    if (s != BGM_OK)
        bad = fail("data-parallel fit with AUC / MSE / MAE / R2", s);
    if (!bad && (s = bgm_test_dist_metrics_model(&ref, regression, 100, 16)) == BGM_OK)
        s = bgm_test_dist_fit(&href, ref, &d, BGM_DIST_GLOBAL_BATCH);
    if (!bad && s != BGM_OK)
        bad = fail("the one-process fit with AUC / MSE / MAE / R2", s);
    if (!bad && bgm_test_dist_compare(msg, sizeof msg, m, h, ref, href, 1e-5)) {
        fprintf(stderr, "fit_mpi: rank %d: FAIL: %s metrics on %d ranks against 1: %s\n", rank,
                regression ? "regression" : "AUC", size, msg);
        bad = 1;
    }
    if (!bad)
        printf("fit_mpi: rank %d: %s: %d ranks x batch %d = 1 x batch %d (history, rel "
               "1e-5); %s %.4f -> %.4f\n", rank, regression ? "MSE, MAE, R2" : "AUC, accuracy, "
               "precision", size, BGM_DIST_GLOBAL_BATCH / size, BGM_DIST_GLOBAL_BATCH, key,
               bgm_history_values(h, key)[0], bgm_history_values(h, key)[1]);
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    bgm_model_free(ref);
    bgm_history_free(h);
    bgm_history_free(href);
    bgm_test_dist_data_free(&d);
    return bad;
}

/* train_on_batch (batches) or a custom loop over the communicator, each
 * rank on its 64 / size rows of every 64, against one process on all 64
 * (weights, and train_on_batch's loss, rel 1e-5), on the model of kind
 * graph (BGM_DIST_SYNC_BN: a synchronized BatchNormalization). */
static int loop_equivalence(bgm_comm *c, const bgm_test_dist_data *d, int size, int batches,
                            int graph)
{
    const int64_t rows = BGM_DIST_GLOBAL_BATCH / size;
    bgm_model *m = NULL, *ref = NULL;
    double got[2], want[2];
    char msg[512];
    bgm_status s = attached_model(&m, c, graph);
    int bad = 0;
    if (s == BGM_OK)
        s = batches ? bgm_test_dist_batch_loop(m, d, rows, rank * rows, -1, got)
                    : bgm_test_dist_custom_loop(m, c, d, rows, rank * rows);
    if (s != BGM_OK)
        bad = fail(batches ? "train_on_batch over the ranks" : "a custom loop over the ranks",
                   s);
    if (!bad && (s = bgm_test_dist_model_of(&ref, graph, 100, 16)) == BGM_OK)
        s = batches ? bgm_test_dist_batch_loop(ref, d, BGM_DIST_GLOBAL_BATCH, 0, -1, want)
                    : bgm_test_dist_custom_loop(ref, NULL, d, BGM_DIST_GLOBAL_BATCH, 0);
    if (!bad && s != BGM_OK)
        bad = fail("the one-process loop", s);
    if (!bad && bgm_test_dist_compare(msg, sizeof msg, m, NULL, ref, NULL, 1e-5))
        bad = 1;
    else if (!bad && batches && fabs(got[0] - want[0]) > 1e-5 * want[0])
        bad = snprintf(msg, sizeof msg, "loss %.9g against %.9g", got[0], want[0]) > 0;
    if (bad && s == BGM_OK)
        fprintf(stderr, "fit_mpi: rank %d: FAIL: %s on %d ranks against 1: %s\n", rank,
                batches ? "train_on_batch" : "the custom loop", size, msg);
    else if (!bad)
        printf("fit_mpi: rank %d: %s%s: %d ranks x %lld rows = 1 x %d (weights, rel 1e-5)\n",
               rank, batches ? "train_on_batch" : "custom loop",
               graph == BGM_DIST_SYNC_BN ? " with synchronized BatchNormalization" : "", size,
               (long long)rows, BGM_DIST_GLOBAL_BATCH);
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    bgm_model_free(ref);
    return bad;
}

/* Rank 1's model is wider: every rank fails before the first step. */
static int mismatch(bgm_comm *c, const bgm_test_dist_data *d, int size)
{
    bgm_model *m = NULL;
    bgm_history *h = NULL;
    bgm_status s = bgm_test_dist_model(&m, 7, rank == 1 ? 17 : 16);
    const char *want = rank == 1 ? "rank 1's model has 173 parameters, rank 0's has 163"
                                 : "differing: rank 1 (173 parameters)";
    int bad = 0;
    if (s == BGM_OK)
        s = bgm_model_set_comm(m, c);
    if (s == BGM_OK)
        s = bgm_test_dist_fit(&h, m, d, BGM_DIST_GLOBAL_BATCH / size);
    if (s != BGM_E_STATE || h || !strstr(bgm_last_error(), want))
        bad = fail("a wider model on rank 1 was not refused as expected", s);
    else
        printf("fit_mpi: rank %d: refused: %s\n", rank, bgm_last_error());
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    return bad;
}

/* Rank 1's end: once path exists, a moment later (inside a later epoch). */
static void *kill_when_saved(void *path)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};
    while (access(path, F_OK) != 0)
        nanosleep(&tick, NULL);
    nanosleep(&tick, NULL);
    raise(SIGKILL);
    return NULL;
}

/* Trains "for ever" with a checkpoint per epoch on rank 0, until rank 1 dies. */
static int killed(bgm_comm *c, const bgm_test_dist_data *d, int size, const char *dir)
{
    char path[4096];
    bgm_callback *ckpt = NULL;
    bgm_model *m = NULL;
    bgm_fit_options o;
    pthread_t killer;
    bgm_status s;
    snprintf(path, sizeof path, "%s/ckpt.bgm", dir);
    s = bgm_test_dist_model(&m, 100 + (uint64_t)rank, 16);
    if (s == BGM_OK)
        s = bgm_callback_model_checkpoint(&ckpt, path, "loss", 0, 0, 0, NULL, 0, NAN);
    if (s == BGM_OK)
        s = bgm_model_set_comm(m, c);
    if (s == BGM_OK)
        s = bgm_fit_options_init(&o, sizeof o);
    if (s != BGM_OK)
        return fail("setting up", s);
    o.epochs = 1000000;
    o.batch_size = BGM_DIST_GLOBAL_BATCH / size;
    o.verbose = 0;
    o.callbacks = &ckpt;
    o.num_callbacks = 1;
    if (rank == 1 && pthread_create(&killer, NULL, kill_when_saved, path) != 0)
        return fail("no thread to kill rank 1", BGM_OK);
    s = bgm_model_fit(NULL, m, d->x, d->y, &o);
    /* Reached only when Open MPI lets the job go on without rank 1 (mpirun
     * --enable-recovery) and the communicator has a timeout. */
    if (rank == 0 && s == BGM_E_IO && strstr(bgm_last_error(), "no answer from the other "
                                             "ranks within")) {
        printf("fit_mpi: rank 0: rank 1 died; fit failed: %s\n", bgm_last_error());
        bgm_callback_free(ckpt);
        bgm_model_free(m);
        return 0;
    }
    fprintf(stderr, "fit_mpi: rank %d: FAIL: fit returned %s after rank 1 died: %s\n", rank,
            bgm_status_string(s), bgm_last_error());
    return 1;
}

/* The checkpoint the killed job left loads, with its epochs. */
static int load(const char *path)
{
    bgm_model *m = NULL;
    bgm_status s = bgm_model_load(&m, path);
    int bad = 0;
    if (s != BGM_OK)
        return fail(path, s);
    if (bgm_model_num_params(m) != 163 || bgm_model_epochs_completed(m) < 1) {
        fprintf(stderr, "fit_mpi: FAIL: %s holds %lld parameters after %d epochs\n", path,
                (long long)bgm_model_num_params(m), bgm_model_epochs_completed(m));
        bad = 1;
    } else {
        printf("fit_mpi: the checkpoint of the killed job loads: epoch %d, %lld parameters\n",
               bgm_model_epochs_completed(m), (long long)bgm_model_num_params(m));
    }
    bgm_model_free(m);
    return bad;
}

int main(int argc, char **argv)
{
    bgm_test_dist_data d;
    bgm_comm *c = NULL;
    bgm_status s;
    int size = 1, bad;
    const char *mode = argc > 1 ? argv[1] : "", *arg = argc > 2 ? argv[2] : "";
    memset(&d, 0, sizeof d);
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bad = bgm_set_num_threads(1) != BGM_OK; /* one thread per rank: 2 ranks on 2 cores */
    if (!bad && !strcmp(mode, "load")) {
        bad = load(arg);
        MPI_Finalize();
        return bad;
    }
    bad = bad || bad_calls();
    s = bgm_mpi_comm_create(&c, MPI_COMM_WORLD, 0);
    if (!bad && s != BGM_OK)
        bad = fail("bgm_mpi_comm_create", s);
    if (!bad && (bgm_comm_rank(c) != rank || bgm_comm_num_ranks(c) != size)) {
        fprintf(stderr, "fit_mpi: rank %d: FAIL: the communicator says rank %d of %d\n", rank,
                bgm_comm_rank(c), bgm_comm_num_ranks(c));
        bad = 1;
    }
    if (!bad && (s = bgm_test_dist_data_make(&d)) != BGM_OK)
        bad = fail("data", s);
    if (!strcmp(mode, "buckets"))
        bgm_test_dist_bucket_bytes = 1;
    if (!bad && !strcmp(mode, "kill")) {
        bad = killed(c, &d, size, arg);
        bgm_test_dist_data_free(&d);
        bgm_comm_free(c);
        MPI_Finalize();
        return bad;
    }
    else if (!bad && !strcmp(mode, "mismatch"))
        bad = mismatch(c, &d, size);
    else if (!bad)
        bad = equivalence(c, &d, size, 0, 1) || equivalence(c, &d, size, 1, 1) ||
              equivalence(c, &d, size, 0, 2) || equivalence(c, &d, size, BGM_DIST_SYNC_BN, 1) ||
              metrics_equivalence(c, &d, size, 0) || metrics_equivalence(c, &d, size, 1) ||
              loop_equivalence(c, &d, size, 1, 0) ||
              loop_equivalence(c, &d, size, 1, BGM_DIST_SYNC_BN) ||
              loop_equivalence(c, &d, size, 0, BGM_DIST_SYNC_BN);
    if (!bad && bgm_test_dist_bucket_bytes)
        printf("fit_mpi: rank %d: with one bucket per weight tensor, reduced by "
               "MPI_Iallreduce during backward\n", rank);
    if (!bad && (s = bgm_comm_barrier(c)) != BGM_OK)
        bad = fail("bgm_comm_barrier", s);
    bgm_test_dist_data_free(&d);
    bgm_comm_free(c);
    MPI_Finalize();
    return bad;
}
