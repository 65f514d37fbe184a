/*
 * The seed CNN (cifar10_cnn.c) trained data-parallel on Fashion-MNIST over
 * Open MPI (docs/distributed.md): every rank loads the whole set, fit gives
 * each rank its share of every epoch and averages the gradients each step,
 * every rank evaluates its share of the test set, and rank 0 prints the
 * progress and the test values, and saves.
 *
 *     mpirun -np 2 ddp_fashion [-e EPOCHS (1)] [-b BATCH_PER_RANK (32)]
 *                              [-n TRAIN_SAMPLES (all)] [-t THREADS_PER_RANK (1)]
 *                              [-o MODEL_FILE]
 *
 * N ranks with -b B train as one process with batch N * B. Built by `make`
 * when mpicc is found; as root mpirun also wants --allow-run-as-root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bigmodel.h>
#include <bigmodel/mpi.h>

#include "seed_cnn.h"

typedef struct args {
    int epochs, threads;
    int64_t batch, samples;
    const char *out;
} args;

static int parse(args *a, int argc, char **argv)
{
    int i;
    a->epochs = 1;
    a->threads = 1;
    a->batch = 32;
    a->samples = 0;
    a->out = NULL;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-e") == 0) a->epochs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-b") == 0) a->batch = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "-n") == 0) a->samples = atoll(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0) a->threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-o") == 0) a->out = argv[i + 1];
        else return 0;
    }
    return i == argc;
}

/* The first n samples of *ds (all when n is 0 or more than it holds). */
static bgm_status keep_first(bgm_dataset **ds, int64_t n)
{
    bgm_dataset *first = NULL;
    bgm_status s;
    if (n <= 0 || n >= bgm_dataset_size(*ds))
        return BGM_OK;
    s = bgm_dataset_take(&first, *ds, n);
    if (s == BGM_OK) {
        bgm_dataset_free(*ds);
        *ds = first;
    }
    return s;
}

int main(int argc, char **argv)
{
    bgm_dataset *train = NULL, *test = NULL;
    bgm_comm *comm = NULL;
    bgm_model *m = NULL;
    bgm_fit_options fit;
    double results[2] = {0, 0};
    bgm_status s;
    int rank = 0, size = 1;
    args a;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (!parse(&a, argc, argv)) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np N %s [-e EPOCHS] [-b BATCH_PER_RANK] "
                    "[-n TRAIN_SAMPLES] [-t THREADS_PER_RANK] [-o MODEL_FILE]\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    bgm_fit_options_init(&fit, sizeof fit);
    fit.epochs = a.epochs;
    fit.batch_size = a.batch;

    s = bgm_set_num_threads(a.threads); /* threads per rank x ranks <= cores */
    if (s == BGM_OK) s = bgm_mpi_comm_create(&comm, MPI_COMM_WORLD, 0);
    if (s == BGM_OK) s = fashion_load(&train, &test);
    if (s == BGM_OK) s = keep_first(&train, a.samples);
    if (s == BGM_OK) s = rescale_pixels(train, test);
    if (s == BGM_OK) s = seed_cnn_build(&m, bgm_dataset_element_shape(train, NULL));
    if (s == BGM_OK) s = bgm_model_set_comm(m, comm);
    if (s == BGM_OK && rank == 0)
        printf("%s: %d ranks x batch %lld (one process of batch %lld), %d thread(s) each, "
               "%lld training samples\n", argv[0], size, (long long)a.batch,
               (long long)(a.batch * size), a.threads, (long long)bgm_dataset_size(train));
    if (s == BGM_OK) s = bgm_model_fit_dataset(NULL, m, train, NULL, &fit);
    /* Every rank evaluates its share of the test set; all get the totals. */
    if (s == BGM_OK) s = bgm_model_evaluate_dataset(results, 2, m, test, 256);
    if (s == BGM_OK && rank == 0) {
        printf("test loss: %.4f - test accuracy: %.4f\n", results[0], results[1]);
        if (a.out)
            s = bgm_model_save(m, a.out, 0);
    }
    if (s != BGM_OK)
        fprintf(stderr, "%s: rank %d: %s: %s\n", argv[0], rank, bgm_status_string(s),
                bgm_last_error());

    bgm_model_free(m); /* lets the communicator go */
    bgm_comm_free(comm); /* before MPI_Finalize */
    bgm_dataset_free(train);
    bgm_dataset_free(test);
    MPI_Finalize();
    return s == BGM_OK ? 0 : 1;
}
