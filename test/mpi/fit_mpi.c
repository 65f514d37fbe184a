/*
 * Data-parallel fit over Open MPI, run by test/mpi/check_mpi.sh under
 * `mpirun -np 2`. Every rank fits the problem of test/dist_problem.h with
 * batch 64 / size over libbigmodel-mpi's communicator, then fits it alone
 * with batch 64 and no communicator, and compares (rel 1e-5). With
 * "mismatch", rank 1 builds a wider model and every rank must fail with
 * BGM_E_STATE naming the parameter counts. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include "bigmodel/mpi.h"
#include "dist_problem.h"

static int rank;

static int fail(const char *what, bgm_status s)
{
    fprintf(stderr, "fit_mpi: rank %d: FAIL: %s: %s (%s)\n", rank, what,
            bgm_status_string(s), bgm_last_error());
    return 1;
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
    /* MPI is the caller's here: the communicator leaves it initialized. */
    if ((s = bgm_mpi_comm_create_world(&c, 0)) != BGM_OK)
        return fail("bgm_mpi_comm_create_world", s);
    bgm_comm_free(c);
    MPI_Finalized(&finalized);
    if (finalized)
        return fail("bgm_comm_free finalized the caller's MPI", BGM_OK);
    return 0;
}

/* The equivalence: this rank's share against one process alone. */
static int equivalence(bgm_comm *c, const bgm_test_dist_data *d, int size)
{
    bgm_model *m = NULL, *ref = NULL;
    bgm_history *h = NULL, *href = NULL;
    char msg[512];
    bgm_status s = bgm_test_dist_model(&m, 100 + (uint64_t)rank, 16);
    int bad = 0;
    if (s == BGM_OK)
        s = bgm_model_set_comm(m, c);
    if (s == BGM_OK)
        s = bgm_test_dist_fit(&h, m, d, BGM_DIST_GLOBAL_BATCH / size);
    if (s != BGM_OK)
        bad = fail("data-parallel fit", s);
    if (!bad && (s = bgm_test_dist_model(&ref, 100, 16)) == BGM_OK)
        s = bgm_test_dist_fit(&href, ref, d, BGM_DIST_GLOBAL_BATCH);
    if (!bad && s != BGM_OK)
        bad = fail("the one-process fit", s);
    if (!bad && bgm_test_dist_compare(msg, sizeof msg, m, h, ref, href, 1e-5)) {
        fprintf(stderr, "fit_mpi: rank %d: FAIL: %d ranks x batch %d against 1 x batch %d: "
                "%s\n", rank, size, BGM_DIST_GLOBAL_BATCH / size, BGM_DIST_GLOBAL_BATCH, msg);
        bad = 1;
    }
    if (!bad)
        printf("fit_mpi: rank %d: %d ranks x batch %d = 1 x batch %d after %d steps "
               "(weights and history, rel 1e-5); loss %.4f -> %.4f\n", rank, size,
               BGM_DIST_GLOBAL_BATCH / size, BGM_DIST_GLOBAL_BATCH,
               BGM_DIST_SAMPLES / BGM_DIST_GLOBAL_BATCH * BGM_DIST_EPOCHS,
               bgm_history_values(h, "loss")[0], bgm_history_values(h, "loss")[1]);
    bgm_model_set_comm(m, NULL);
    bgm_model_free(m);
    bgm_model_free(ref);
    bgm_history_free(h);
    bgm_history_free(href);
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

int main(int argc, char **argv)
{
    bgm_test_dist_data d;
    bgm_comm *c = NULL;
    bgm_status s;
    int size = 1, bad;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bad = bgm_set_num_threads(1) != BGM_OK; /* one thread per rank: 2 ranks on 2 cores */
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
    if (!bad) {
        bad = argc > 1 && !strcmp(argv[1], "mismatch") ? mismatch(c, &d, size)
                                                       : equivalence(c, &d, size);
        bgm_test_dist_data_free(&d);
    }
    if (!bad && (s = bgm_comm_barrier(c)) != BGM_OK)
        bad = fail("bgm_comm_barrier", s);
    bgm_comm_free(c);
    MPI_Finalize();
    return bad;
}
