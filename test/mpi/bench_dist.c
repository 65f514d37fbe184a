/*
 * make bench-dist (not a test): training throughput over however many
 * ranks mpirun starts, with -t threads per rank, of the seed CNN
 * (examples/seed_cnn.h) or of a wide MLP (-m mlp: 784-2048-2048-10, 5.8 M
 * weights, whose gradients take longer to reduce), on 28x28x1 images, in
 * three ways taken in turns (-r rounds; the medians are printed):
 *   - one bucket: all gradients reduced after backward (no overlap);
 *   - buckets of -B bytes (64 KiB), each reduced during backward as soon as
 *     its gradients are final (MPI_Iallreduce, progressed between ops);
 *   - each rank alone, without a communicator, on its own batch: the step's
 *     compute, so that step - alone is the reduction's cost not hidden.
 * and the time of one all-reduce of all the gradients. Rank 0 prints.
 * Synthetic images: the speed does not depend on their values.
 *
 *     mpirun -np N bench_dist [-t THREADS_PER_RANK (1)] [-b BATCH_PER_RANK (32)]
 *                             [-s STEPS (60)] [-m cnn|mlp] [-B BUCKET_BYTES] [-r ROUNDS (3)]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>
#include <bigmodel/mpi.h>

#include "../../examples/seed_cnn.h"

#define ROUNDS_MAX 15

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

/* 784 -> 2048 -> 2048 -> 10, ReLU, Adam: 5.8 M weights, 23 MB of gradients. */
static bgm_status mlp_build(bgm_model **m)
{
    bgm_optimizer *adam = NULL;
    bgm_status s = bgm_model_create(m, (int64_t[]){28, 28, 1}, 3, 42);
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(2048, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(2048, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_adam(&adam, BGM_ADAM_LEARNING_RATE, BGM_ADAM_BETA1,
                                            BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
    if (s == BGM_OK)
        s = bgm_model_compile(*m, adam, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
    return s;
}

/* Seconds of one fit epoch of m on x, y with batch and bucket bytes (on
 * every rank together). */
static bgm_status timed_fit(double *seconds, bgm_model *m, const bgm_tensor *x,
                            const bgm_tensor *y, int64_t batch, int64_t bucket)
{
    bgm_fit_options o;
    double t0;
    bgm_status s = bgm_fit_options_init(&o, sizeof o);
    o.batch_size = batch;
    o.verbose = 0;
    o.allreduce_bucket_bytes = bucket;
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &o);
    MPI_Barrier(MPI_COMM_WORLD);
    *seconds = MPI_Wtime() - t0;
    return s;
}

static int by_value(const void *a, const void *b)
{
    double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv)
{
    const int64_t one_bucket = (int64_t)1 << 50;
    int64_t batch = 32, steps = 60, bucket = 64 << 10, nparams;
    int threads = 1, size = 1, i, r, rounds = 3, reps = 50, bad = 0, mlp = 0;
    bgm_tensor *x = NULL, *y = NULL, *xa = NULL, *ya = NULL, *warm_x = NULL, *warm_y = NULL;
    bgm_comm *comm = NULL;
    bgm_model *m = NULL;
    float *grads = NULL;
    double t_one[ROUNDS_MAX], t_buckets[ROUNDS_MAX], t_alone[ROUNDS_MAX], reduce_s, warm;
    bgm_status s;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-t")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-b")) batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "-s")) steps = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "-B")) bucket = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "-r")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-m")) mlp = !strcmp(argv[i + 1], "mlp");
    }
    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 3;
    s = bgm_set_num_threads(threads);
    if (s == BGM_OK) s = bgm_mpi_comm_create(&comm, MPI_COMM_WORLD, 0);
    if (s == BGM_OK) s = images(&x, &y, steps * batch * size);
    if (s == BGM_OK) s = images(&xa, &ya, steps * batch);
    if (s == BGM_OK) s = images(&warm_x, &warm_y, 5 * batch * size);
    if (s == BGM_OK) s = mlp ? mlp_build(&m) : seed_cnn_build(&m, (int64_t[]){28, 28, 1});
    if (s == BGM_OK) s = bgm_model_set_comm(m, comm);
    /* Maps the memory of both ways. */
    if (s == BGM_OK) s = timed_fit(&warm, m, warm_x, warm_y, batch, one_bucket);
    if (s == BGM_OK) s = timed_fit(&warm, m, warm_x, warm_y, batch, bucket);
    for (r = 0; s == BGM_OK && r < rounds; r++) {
        s = timed_fit(&t_one[r], m, x, y, batch, one_bucket);
        if (s == BGM_OK)
            s = timed_fit(&t_buckets[r], m, x, y, batch, bucket);
        if (s == BGM_OK)
            s = bgm_model_set_comm(m, NULL);
        if (s == BGM_OK)
            s = timed_fit(&t_alone[r], m, xa, ya, batch, 0);
        if (s == BGM_OK)
            s = bgm_model_set_comm(m, comm);
    }
    nparams = bgm_model_num_trainable_params(m);
    grads = calloc((size_t)nparams, sizeof *grads);
    if (s == BGM_OK && !grads)
        s = bgm_set_last_error(BGM_E_NOMEM, "bench_dist: out of memory");
    MPI_Barrier(MPI_COMM_WORLD);
    reduce_s = MPI_Wtime();
    for (i = 0; s == BGM_OK && i < reps; i++)
        s = bgm_comm_allreduce_sum(comm, grads, nparams);
    reduce_s = (MPI_Wtime() - reduce_s) / reps;
    if (s != BGM_OK) {
        bad = fail("bench", s);
    } else if (rank == 0) {
        double one = median(t_one, rounds) / (double)steps * 1e3;
        double buckets = median(t_buckets, rounds) / (double)steps * 1e3;
        double alone = median(t_alone, rounds) / (double)steps * 1e3;
        double images = (double)(batch * size) * 1e3;
        printf("bench_dist: %s (%lld weights, %.0f KB of gradients), %d rank(s) x %d "
               "thread(s), batch %lld per rank, %lld steps, %s path; medians of %d rounds:\n",
               mlp ? "MLP 784-2048-2048-10" : "seed CNN", (long long)nparams,
               (double)nparams * 4e-3, size, threads, (long long)batch, (long long)steps,
               bgm_kernel_isa(), rounds);
        printf("bench_dist:   one bucket, reduced after backward: %.0f images/s, %.2f "
               "ms/step, all-reduce not hidden: %.2f ms/step\n", images / one, one,
               one - alone);
        printf("bench_dist:   buckets of %lld KiB, reduced during backward: %.0f images/s, "
               "%.2f ms/step, all-reduce not hidden: %.2f ms/step\n", (long long)bucket >> 10,
               images / buckets, buckets, buckets - alone);
        printf("bench_dist:   each rank alone (no communicator): %.2f ms/step; one "
               "all-reduce of all the gradients: %.3f ms\n", alone, 1e3 * reduce_s);
    }
    free(grads);
    bgm_model_free(m);
    bgm_comm_free(comm);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(xa);
    bgm_tensor_free(ya);
    bgm_tensor_free(warm_x);
    bgm_tensor_free(warm_y);
    MPI_Finalize();
    return bad;
}
