/*
 * make bench-dist (not a test): training throughput of the seed CNN
 * (examples/seed_cnn.h) on 28x28x1 images over however many ranks mpirun
 * starts, with -t threads per rank, and the time of one all-reduce of its
 * gradients. Rank 0 prints one line. Synthetic images: the speed does not
 * depend on their values.
 *
 *     mpirun -np N bench_dist [-t THREADS_PER_RANK (1)] [-b BATCH_PER_RANK (32)]
 *                             [-s STEPS (60)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>
#include <bigmodel/mpi.h>

#include "../../examples/seed_cnn.h"

static int rank = 0;

static int fail(const char *what, bgm_status s)
{
    fprintf(stderr, "bench_dist: rank %d: %s: %s (%s)\n", rank, what, bgm_status_string(s),
            bgm_last_error());
    return 1;
}

/* n random images and labels. */
static bgm_status images(bgm_tensor **x, bgm_tensor **y, int64_t n)
{
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, 5);
    int64_t i;
    if (s == BGM_OK)
        s = bgm_tensor_rand_uniform(x, rng, (int64_t[]){n, 28, 28, 1}, 4, 0.0f, 1.0f);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1);
    for (i = 0; s == BGM_OK && i < n; i++)
        ((int32_t *)bgm_tensor_data(*y))[i] = (int32_t)(i % 10);
    bgm_rng_free(rng);
    return s;
}

/* Seconds of one fit epoch of steps steps per rank. */
static bgm_status timed_fit(double *seconds, bgm_model *m, const bgm_tensor *x,
                            const bgm_tensor *y, int64_t batch)
{
    bgm_fit_options o;
    double t0;
    bgm_status s = bgm_fit_options_init(&o, sizeof o);
    o.batch_size = batch;
    o.verbose = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &o);
    MPI_Barrier(MPI_COMM_WORLD);
    *seconds = MPI_Wtime() - t0;
    return s;
}

int main(int argc, char **argv)
{
    int64_t batch = 32, steps = 60, nparams;
    int threads = 1, size = 1, i, reps = 50, bad = 0;
    bgm_tensor *x = NULL, *y = NULL, *warm_x = NULL, *warm_y = NULL;
    bgm_comm *comm = NULL;
    bgm_model *m = NULL;
    float *grads = NULL;
    double fit_s = 0, reduce_s;
    bgm_status s;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-t")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-b")) batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) steps = atoll(argv[i + 1]);
    }
    s = bgm_set_num_threads(threads);
    if (s == BGM_OK) s = bgm_mpi_comm_create(&comm, MPI_COMM_WORLD, 0);
    if (s == BGM_OK) s = images(&x, &y, steps * batch * size);
    if (s == BGM_OK) s = images(&warm_x, &warm_y, 5 * batch * size);
    if (s == BGM_OK) s = seed_cnn_build(&m, (int64_t[]){28, 28, 1});
    if (s == BGM_OK) s = bgm_model_set_comm(m, comm);
    if (s == BGM_OK) s = timed_fit(&fit_s, m, warm_x, warm_y, batch); /* maps the memory */
    if (s == BGM_OK) s = timed_fit(&fit_s, m, x, y, batch);
    nparams = bgm_model_num_trainable_params(m);
    grads = calloc((size_t)nparams, sizeof *grads);
    if (s == BGM_OK && !grads)
        s = bgm_set_last_error(BGM_E_NOMEM, "bench_dist: out of memory");
    MPI_Barrier(MPI_COMM_WORLD);
    reduce_s = MPI_Wtime();
    for (i = 0; s == BGM_OK && i < reps; i++)
        s = bgm_comm_allreduce_sum(comm, grads, nparams);
    reduce_s = (MPI_Wtime() - reduce_s) / reps;
    if (s != BGM_OK)
        bad = fail("bench", s);
    else if (rank == 0)
        printf("bench_dist: %d rank(s) x %d thread(s), batch %lld per rank: %.0f images/s "
               "(%lld steps, %.2f ms/step); all-reduce of %lld floats: %.3f ms (%s path)\n",
               size, threads, (long long)batch,
               (double)(steps * batch * size) / fit_s, (long long)steps,
               1e3 * fit_s / (double)steps, (long long)nparams, 1e3 * reduce_s,
               bgm_kernel_isa());
    free(grads);
    bgm_model_free(m);
    bgm_comm_free(comm);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(warm_x);
    bgm_tensor_free(warm_y);
    MPI_Finalize();
    return bad;
}
