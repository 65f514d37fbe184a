/*
 * libbigmodel-mpi: the callbacks of a bgm_comm (distributed.h) over MPI.
 * Its own library, so that libbigmodel.so links no MPI. Every MPI call
 * goes to a duplicate of the caller's communicator whose error handler is
 * MPI_ERRORS_RETURN: an MPI failure is a code the library turns into a
 * status, with MPI's text from error_string.
 */
#include "bigmodel/mpi.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct mpi_ctx {
    MPI_Comm comm;   /* the duplicate, MPI_ERRORS_RETURN */
    int flags;
    int finalize;    /* this communicator initialized MPI: free finalizes it */
    char text[MPI_MAX_ERROR_STRING + 32];
} mpi_ctx;

/* Sets the library's message, "<fn>: <what>", and returns status. */
static bgm_status fail(const char *fn, bgm_status status, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING + 128];
    snprintf(msg, sizeof msg, "%s: %s", fn, what);
    return bgm_set_last_error(status, msg);
}

/* MPI counts are int: long buffers go in pieces. */
#define PIECE ((int64_t)1 << 30)

static int mpi_rank(void *ctx, int *rank)
{
    return MPI_Comm_rank(((mpi_ctx *)ctx)->comm, rank);
}

static int mpi_num_ranks(void *ctx, int *n)
{
    return MPI_Comm_size(((mpi_ctx *)ctx)->comm, n);
}

static int mpi_allreduce(void *ctx, float *data, int64_t n)
{
    MPI_Comm comm = ((mpi_ctx *)ctx)->comm;
    int64_t at;
    int rc = MPI_SUCCESS;
    for (at = 0; rc == MPI_SUCCESS && at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        rc = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, comm);
    }
    return rc;
}

static int mpi_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    MPI_Comm comm = ((mpi_ctx *)ctx)->comm;
    int64_t at;
    int rc = MPI_SUCCESS;
    for (at = 0; rc == MPI_SUCCESS && at < nbytes; at += PIECE) {
        int count = (int)(nbytes - at < PIECE ? nbytes - at : PIECE);
        rc = MPI_Bcast((char *)data + at, count, MPI_BYTE, root, comm);
    }
    return rc;
}

static int mpi_barrier(void *ctx)
{
    return MPI_Barrier(((mpi_ctx *)ctx)->comm);
}

static void mpi_abort(void *ctx, int code, const char *message)
{
    mpi_ctx *c = ctx;
    if (!(c->flags & BGM_MPI_ABORT_ON_ERROR))
        return;
    (void)message; /* the caller has it from bgm_last_error() */
    MPI_Abort(c->comm, code < 0 ? -code : 1);
}

static const char *mpi_error_string(void *ctx, int code)
{
    mpi_ctx *c = ctx;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "unknown MPI error");
    snprintf(c->text, sizeof c->text, "MPI: %s", text);
    return c->text;
}

static void mpi_free(void *ctx)
{
    mpi_ctx *c = ctx;
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized && c->comm != MPI_COMM_NULL)
        MPI_Comm_free(&c->comm);
    if (!finalized && c->finalize)
        MPI_Finalize();
    free(c);
}

/* bgm_mpi_comm_create; finalize: the communicator finalizes MPI when freed. */
static bgm_status create(bgm_comm **out, MPI_Comm comm, int flags, int finalize,
                         const char *fn)
{
    bgm_comm_ops ops;
    mpi_ctx *c;
    int up = 0, down = 0, rc;
    if (!out)
        return fail(fn, BGM_E_INVALID, "argument 'out' is NULL");
    *out = NULL;
    if (comm == MPI_COMM_NULL)
        return fail(fn, BGM_E_INVALID, "comm is MPI_COMM_NULL");
    if (flags & ~BGM_MPI_ABORT_ON_ERROR)
        return fail(fn, BGM_E_INVALID, "unknown flags (only BGM_MPI_ABORT_ON_ERROR is known)");
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (!up || down)
        return fail(fn, BGM_E_STATE, down ? "MPI is already finalized; finalize it after "
                    "bgm_comm_free" : "MPI is not initialized; call MPI_Init first");
    c = calloc(1, sizeof *c);
    if (!c)
        return fail(fn, BGM_E_NOMEM, "out of memory");
    c->flags = flags;
    c->finalize = finalize;
    c->comm = MPI_COMM_NULL;
    rc = MPI_Comm_dup(comm, &c->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) {
        bgm_status s = fail(fn, BGM_E_IO, mpi_error_string(c, rc));
        mpi_free(c);
        return s;
    }
    bgm_comm_ops_init(&ops, sizeof ops);
    ops.rank = mpi_rank;
    ops.num_ranks = mpi_num_ranks;
    ops.allreduce_sum = mpi_allreduce;
    ops.broadcast = mpi_broadcast;
    ops.barrier = mpi_barrier;
    ops.abort = mpi_abort;
    ops.error_string = mpi_error_string;
    ops.free_ctx = mpi_free;
    return bgm_comm_create(out, &ops, c); /* owns c from here, even on failure */
}

BGM_API bgm_status bgm_mpi_comm_create(bgm_comm **out, MPI_Comm comm, int flags)
{
    return create(out, comm, flags, 0, "bgm_mpi_comm_create");
}

BGM_API bgm_status bgm_mpi_comm_create_world(bgm_comm **out, int flags)
{
    static const char *fn = "bgm_mpi_comm_create_world";
    int up = 0, down = 0, level = 0, rc;
    if (out)
        *out = NULL;
    MPI_Initialized(&up);
    MPI_Finalized(&down);
    if (up || down) /* the caller's MPI, or a finalized one: create says which */
        return create(out, MPI_COMM_WORLD, flags, 0, fn);
    if (!out || (flags & ~BGM_MPI_ABORT_ON_ERROR)) /* refused before MPI starts */
        return create(out, MPI_COMM_WORLD, flags, 0, fn);
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &level);
    if (rc != MPI_SUCCESS)
        return fail(fn, BGM_E_IO, "MPI_Init_thread failed");
    return create(out, MPI_COMM_WORLD, flags, 1, fn);
}
