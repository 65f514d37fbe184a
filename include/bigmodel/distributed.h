/*
 * bigmodel/distributed.h — communicators for data-parallel training.
 *
 * A communicator (bgm_comm) connects the processes ("ranks") that train one
 * model together. The core library only calls the callbacks of a table that
 * the caller fills in, so it links no transport: libbigmodel-mpi
 * (<bigmodel/mpi.h>) fills the table over Open MPI, and a program may fill it
 * over anything else (sockets, shared memory, a test's threads).
 *
 * Attach one to a model with bgm_model_set_comm() and every fit of that model
 * trains data-parallel: rank 0's weights, optimizer state and generator are
 * broadcast at the start, each rank takes its own disjoint share of every
 * epoch's samples, and the gradients, losses and metrics of each step are
 * summed over the ranks with one all-reduce (docs/distributed.md).
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 */
#ifndef BIGMODEL_DISTRIBUTED_H
#define BIGMODEL_DISTRIBUTED_H

#include "core.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A communicator: a table of callbacks and the context they share. Opaque. */
typedef struct bgm_comm bgm_comm;

/**
 * The callbacks of a communicator. Each returns 0 on success and any other
 * int on failure (the transport's own code, which error_string describes);
 * ctx is the pointer given to bgm_comm_create. Every rank must make the same
 * collective calls (allreduce_sum, broadcast, barrier) in the same order with
 * the same sizes. Versioned as the options structures of docs/abi.md: fill it
 * with bgm_comm_ops_init(&ops, sizeof ops), then set the callbacks.
 */
typedef struct bgm_comm_ops {
    size_t size; /**< sizeof(bgm_comm_ops) as the caller compiled it (set by init) */
    /** Required: this process's rank, 0 <= rank < num_ranks. Asked once, at create. */
    int (*rank)(void *ctx, int *rank);
    /** Required: the number of ranks, >= 1. Asked once, at create. */
    int (*num_ranks)(void *ctx, int *num_ranks);
    /** Required: replaces data[0..n) on every rank by its sum over all ranks. */
    int (*allreduce_sum)(void *ctx, float *data, int64_t n);
    /** Required: copies root's data[0..nbytes) into data on every other rank. */
    int (*broadcast)(void *ctx, void *data, int64_t nbytes, int root);
    /** Optional: returns once every rank has called it (NULL: an all-reduce of one float). */
    int (*barrier)(void *ctx);
    /**
     * Optional: called when this rank fails in fit where the other ranks cannot
     * learn of it (a callback's error between two steps), so that they do not
     * wait for it forever; code is the bgm_status, message bgm_last_error()'s
     * text. The transport may end the job (MPI_Abort) or do nothing.
     */
    void (*abort)(void *ctx, int code, const char *message);
    /** Optional: a text for a failure code of the callbacks (borrowed until the next call). */
    const char *(*error_string)(void *ctx, int code);
    /** Optional: releases ctx; called once by bgm_comm_free (and by a failed create). */
    void (*free_ctx)(void *ctx);
    /* Appended in 0.2 (a table of the size above still works): a
     * non-blocking all-reduce, so that fit reduces a bucket of gradients
     * while backward computes the next (docs/distributed.md). Without
     * allreduce_start and wait the library calls allreduce_sum at once. */
    /**
     * Optional (with wait): starts what allreduce_sum does on data[0..n) and
     * returns at once, *request set to the transport's handle of it (any
     * value). data stays untouched by the library until wait returns. Every
     * rank starts the same reductions in the same order; the library may make
     * other collective calls before it waits.
     */
    int (*allreduce_start)(void *ctx, float *data, int64_t n, void **request);
    /**
     * Required with allreduce_start: returns once the reduction of request is
     * complete (data then holds the sums) or has failed. Called exactly once
     * per started request, in the order they were started, also after test
     * said it was done.
     */
    int (*wait)(void *ctx, void *request);
    /**
     * Optional: lets the transport progress request (MPI_Test) and sets *done
     * to 1 when it is complete. The library calls it between the operations
     * of backward for a transport that only progresses inside its calls.
     */
    int (*test)(void *ctx, void *request, int *done);
} bgm_comm_ops;

/**
 * Fills ops with NULL callbacks and its size field with size (the caller's
 * sizeof ops). Errors: BGM_E_INVALID (NULL ops, size smaller than the first
 * release's), BGM_E_UNSUPPORTED (size larger than this library's: a program
 * built against a newer header).
 */
BGM_API bgm_status bgm_comm_ops_init(bgm_comm_ops *ops, size_t size);

/**
 * New communicator calling ops (copied) with ctx (borrowed, unless ops->free_ctx
 * is set: then the communicator owns it, and frees it even when create fails).
 * Asks rank and num_ranks once. Free with bgm_comm_free. Errors: BGM_E_INVALID
 * (NULL out or ops, a required callback missing, a rank outside [0, num_ranks)),
 * BGM_E_IO (rank or num_ranks failed: the message holds the transport's text),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_comm_create(bgm_comm **out, const bgm_comm_ops *ops, void *ctx);

/** Frees c (calling its free_ctx). NULL is a no-op. A model using c must let it go first. */
BGM_API void bgm_comm_free(bgm_comm *c);

/** c's rank (0 for NULL). */
BGM_API int bgm_comm_rank(const bgm_comm *c);

/** c's number of ranks (0 for NULL). */
BGM_API int bgm_comm_num_ranks(const bgm_comm *c);

/**
 * Sums data[0..n) over all ranks, in place (a collective call). Errors:
 * BGM_E_INVALID (NULL c, NULL data with n > 0, n < 0), BGM_E_IO (the callback
 * failed: the message names the call and holds the transport's text).
 */
BGM_API bgm_status bgm_comm_allreduce_sum(bgm_comm *c, float *data, int64_t n);

/**
 * Copies root's data[0..nbytes) to every other rank (a collective call).
 * Errors: BGM_E_INVALID (NULL c, NULL data with nbytes > 0, nbytes < 0, root
 * outside [0, num_ranks)), BGM_E_IO (the callback failed).
 */
BGM_API bgm_status bgm_comm_broadcast(bgm_comm *c, void *data, int64_t nbytes, int root);

/** Returns once every rank has called it. Errors: BGM_E_INVALID (NULL c), BGM_E_IO. */
BGM_API bgm_status bgm_comm_barrier(bgm_comm *c);

/**
 * For a custom training loop (bgm_tape_gradient): replaces each of
 * tensors[0..n) (float32, e.g. this rank's gradients) by its mean over the
 * ranks, with one allreduce_sum over all of them collated (in a buffer c
 * keeps between calls). A collective call: every rank passes tensors of the
 * same shapes in the same order (not checked; fit checks its own). Errors:
 * BGM_E_INVALID (NULL c, NULL tensors with n > 0, a NULL entry, n < 0),
 * BGM_E_DTYPE (a tensor not float32), BGM_E_NOMEM, BGM_E_IO (the callback).
 */
BGM_API bgm_status bgm_comm_average(bgm_comm *c, bgm_tensor *const *tensors, int n);

/**
 * Copies root's tensors[0..n) (any dtype) into every other rank's, e.g. rank
 * 0's bgm_model_trainable_params before a custom loop starts. A collective
 * call, shapes as bgm_comm_average. Errors: BGM_E_INVALID (as
 * bgm_comm_average, and a root outside [0, num_ranks)), BGM_E_IO.
 */
BGM_API bgm_status bgm_comm_broadcast_tensors(bgm_comm *c, bgm_tensor *const *tensors, int n,
                                              int root);

/**
 * Attaches c (borrowed: keep it alive while m uses it) to m, so that fit
 * (bgm_model_fit, _multi, _dataset, _stream) trains data-parallel over c's
 * ranks; NULL detaches. Every rank calls fit on a model of the same
 * architecture and compile, with the same options: on arrays and datasets,
 * the same training data (each rank takes its own share of every epoch); on
 * streams, each rank its own stream and steps_per_epoch > 0. batch_size is
 * per rank, so N ranks step as one process with N times the batch. Progress
 * lines are written and callbacks run on rank 0 only; the other ranks follow
 * its decisions (stop, learning rate, errors). A rank that differs or fails
 * makes every rank's fit fail (docs/distributed.md). evaluate (arrays,
 * datasets, streams) becomes a collective call too: every rank must call it,
 * each evaluates its share (of the arrays; its own stream) and all get the
 * loss and metrics of all the samples (AUC, R² and the other metrics merged
 * from their whole states, not averaged); fit's validation does the same. To
 * evaluate on one rank alone, detach first. train_on_batch (_multi,
 * _weighted) becomes a data-parallel step: every rank calls it with its own
 * batch, the gradients are averaged over all the ranks' samples, every rank
 * applies the same step and gets the loss and metrics of all the rows; the
 * first call after attaching gives every rank rank 0's weights, optimizer
 * state and generator, as fit does at its start (later calls do not: change
 * weights on every rank alike, or attach again). Every training-mode
 * forward (fit, train_on_batch, bgm_model_forward with training = 1) of a
 * model with a synchronized BatchNormalization is collective: its
 * statistics are those of all the ranks' rows. predict runs on each rank
 * alone, with no collective call (each rank predicts what it is given, as
 * PyTorch's DDP and Keras do). Not saved in model files.
 * Errors: BGM_E_INVALID (NULL m), BGM_E_STATE (fit is running).
 */
BGM_API bgm_status bgm_model_set_comm(bgm_model *m, bgm_comm *c);

/** The communicator attached to m (borrowed), or NULL. */
BGM_API bgm_comm *bgm_model_comm(const bgm_model *m);

#ifdef __cplusplus
}
#endif

#endif
