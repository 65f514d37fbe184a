/*
 * libbigmodel-mpi: the callbacks of a bgm_comm (distributed.h) over MPI.
 * Its own library, so that libbigmodel.so links no MPI. Every MPI call
 * goes to a duplicate of the caller's communicator whose error handler is
 * MPI_ERRORS_RETURN: an MPI failure is a code the library turns into a
 * status, with MPI's text from error_string.
 */
#include "bigmodel/mpi.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mpi_ctx {
    MPI_Comm comm;   /* the duplicate, MPI_ERRORS_RETURN */
    int flags;
    int finalize;    /* this communicator initialized MPI: free finalizes it */
    double timeout;  /* seconds a collective may wait for the others (0: for ever) */
    int timed_out;   /* one did: a collective is left unfinished, the rest fail */
    char text[MPI_MAX_ERROR_STRING + 160];
} mpi_ctx;

/* Codes of this adapter's own failures (MPI's codes are not negative). */
enum { E_TIMEOUT = -1, E_TIMED_OUT_BEFORE = -2, E_NOMEM = -3 };

/* A non-blocking collective: one MPI request per piece. */
typedef struct mpi_request {
    int n;
    MPI_Request r[];
} mpi_request;

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

/* Waits for reqs[0..n), for ever or, with a timeout, polling MPI_Testall
 * until the deadline: then the requests stay unfinished (MPI cannot cancel
 * a collective) and the communicator refuses every later call. */
static int finish(mpi_ctx *c, MPI_Request *reqs, int n)
{
    double deadline;
    int done = 0, rc;
    if (c->timed_out) /* the others stopped answering: no second wait of timeout */
        return E_TIMED_OUT_BEFORE;
    if (c->timeout <= 0.0)
        return MPI_Waitall(n, reqs, MPI_STATUSES_IGNORE);
    deadline = MPI_Wtime() + c->timeout;
    for (;;) {
        rc = MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS || done)
            return rc;
        if (MPI_Wtime() > deadline) {
            c->timed_out = 1;
            return E_TIMEOUT;
        }
    }
}

/* Starts the all-reduce of data[0..n) in pieces; NULL *out on failure (rc). */
static int start_allreduce(mpi_ctx *c, float *data, int64_t n, mpi_request **out)
{
    int64_t at;
    int rc = MPI_SUCCESS, pieces = (int)((n + PIECE - 1) / PIECE);
    mpi_request *q;
    *out = NULL;
    if (c->timed_out)
        return E_TIMED_OUT_BEFORE;
    q = malloc(sizeof *q + (size_t)pieces * sizeof q->r[0]);
    if (!q)
        return E_NOMEM;
    for (q->n = 0, at = 0; rc == MPI_SUCCESS && at < n; at += PIECE, q->n++) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        rc = MPI_Iallreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, c->comm,
                            &q->r[q->n]);
    }
    if (rc != MPI_SUCCESS) {
        q->n--;
        finish(c, q->r, q->n); /* the pieces already started */
        free(q);
        return rc;
    }
    *out = q;
    return MPI_SUCCESS;
}

static int mpi_allreduce_start(void *ctx, float *data, int64_t n, void **request)
{
    mpi_request *q;
    int rc = start_allreduce(ctx, data, n, &q);
    *request = q;
    return rc;
}

static int mpi_wait(void *ctx, void *request)
{
    mpi_request *q = request;
    int rc;
    if (!q)
        return MPI_SUCCESS;
    rc = finish(ctx, q->r, q->n);
    if (rc != E_TIMEOUT && rc != E_TIMED_OUT_BEFORE) /* MPI may still write to an active one */
        free(q);
    return rc;
}

static int mpi_test(void *ctx, void *request, int *done)
{
    mpi_request *q = request;
    (void)ctx;
    *done = 1;
    return q ? MPI_Testall(q->n, q->r, done, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
}

static int mpi_allreduce(void *ctx, float *data, int64_t n)
{
    mpi_ctx *c = ctx;
    int64_t at;
    int rc = MPI_SUCCESS;
    if (c->timeout > 0.0 || c->timed_out) { /* started, then waited for with the deadline */
        void *q;
        rc = mpi_allreduce_start(c, data, n, &q);
        return rc == MPI_SUCCESS ? mpi_wait(c, q) : rc;
    }
    for (at = 0; rc == MPI_SUCCESS && at < n; at += PIECE) {
        int count = (int)(n - at < PIECE ? n - at : PIECE);
        rc = MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, c->comm);
    }
    return rc;
}

static int mpi_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    mpi_ctx *c = ctx;
    int64_t at;
    int rc = MPI_SUCCESS;
    if (c->timed_out)
        return E_TIMED_OUT_BEFORE;
    for (at = 0; rc == MPI_SUCCESS && at < nbytes; at += PIECE) {
        int count = (int)(nbytes - at < PIECE ? nbytes - at : PIECE);
        MPI_Request r;
        if (c->timeout <= 0.0) {
            rc = MPI_Bcast((char *)data + at, count, MPI_BYTE, root, c->comm);
            continue;
        }
        rc = MPI_Ibcast((char *)data + at, count, MPI_BYTE, root, c->comm, &r);
        if (rc == MPI_SUCCESS)
            rc = finish(c, &r, 1);
    }
    return rc;
}

static int mpi_barrier(void *ctx)
{
    mpi_ctx *c = ctx;
    MPI_Request r;
    int rc;
    if (c->timed_out)
        return E_TIMED_OUT_BEFORE;
    if (c->timeout <= 0.0)
        return MPI_Barrier(c->comm);
    rc = MPI_Ibarrier(c->comm, &r);
    return rc == MPI_SUCCESS ? finish(c, &r, 1) : rc;
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
    if (code == E_TIMEOUT || code == E_TIMED_OUT_BEFORE) {
        snprintf(c->text, sizeof c->text, "MPI: %sno answer from the other ranks within %g s "
                 "(BIGMODEL_MPI_TIMEOUT): a rank may have died or hung; this communicator "
                 "cannot be used any more", code == E_TIMED_OUT_BEFORE ? "an earlier call "
                 "had " : "", c->timeout);
        return c->text;
    }
    if (code == E_NOMEM) {
        snprintf(c->text, sizeof c->text, "MPI: out of memory for a request");
        return c->text;
    }
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
    /* After a timeout a collective on it never ends: freeing could wait too. */
    if (!finalized && c->comm != MPI_COMM_NULL && !c->timed_out)
        MPI_Comm_free(&c->comm);
    if (!finalized && c->finalize)
        MPI_Finalize();
    free(c);
}

/* *timeout from BIGMODEL_MPI_TIMEOUT (seconds; unset or empty: 0, none). */
static bgm_status timeout_from_env(double *timeout, const char *fn)
{
    const char *env = getenv("BIGMODEL_MPI_TIMEOUT");
    char *end, msg[160];
    *timeout = 0.0;
    if (!env || !env[0])
        return BGM_OK;
    *timeout = strtod(env, &end);
    if (*end == '\0' && isfinite(*timeout) && *timeout >= 0.0)
        return BGM_OK;
    snprintf(msg, sizeof msg, "BIGMODEL_MPI_TIMEOUT='%.40s' is not a number of seconds >= 0 "
             "(0 or unset: wait for ever)", env);
    return fail(fn, BGM_E_INVALID, msg);
}

/* bgm_mpi_comm_create; finalize: the communicator finalizes MPI when freed;
 * timeout < 0: BIGMODEL_MPI_TIMEOUT's. */
static bgm_status create(bgm_comm **out, MPI_Comm comm, int flags, int finalize,
                         double timeout, const char *fn)
{
    bgm_comm_ops ops;
    mpi_ctx *c;
    bgm_status s;
    int up = 0, down = 0, rc;
    if (!out)
        return fail(fn, BGM_E_INVALID, "argument 'out' is NULL");
    *out = NULL;
    if (comm == MPI_COMM_NULL)
        return fail(fn, BGM_E_INVALID, "comm is MPI_COMM_NULL");
    if (flags & ~BGM_MPI_ABORT_ON_ERROR)
        return fail(fn, BGM_E_INVALID, "unknown flags (only BGM_MPI_ABORT_ON_ERROR is known)");
    if (timeout < 0.0 && (s = timeout_from_env(&timeout, fn)) != BGM_OK)
        return s;
    if (!isfinite(timeout))
        return fail(fn, BGM_E_INVALID, "timeout_s is not finite");
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
    c->timeout = timeout;
    c->comm = MPI_COMM_NULL;
    rc = MPI_Comm_dup(comm, &c->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    if (rc != MPI_SUCCESS) {
        s = fail(fn, BGM_E_IO, mpi_error_string(c, rc));
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
    ops.allreduce_start = mpi_allreduce_start;
    ops.wait = mpi_wait;
    ops.test = mpi_test;
    return bgm_comm_create(out, &ops, c); /* owns c from here, even on failure */
}

BGM_API bgm_status bgm_mpi_comm_create(bgm_comm **out, MPI_Comm comm, int flags)
{
    return create(out, comm, flags, 0, -1.0, "bgm_mpi_comm_create");
}

BGM_API bgm_status bgm_mpi_comm_create_timeout(bgm_comm **out, MPI_Comm comm, int flags,
                                               double timeout_s)
{
    static const char *fn = "bgm_mpi_comm_create_timeout";
    if (!(timeout_s >= 0.0)) {
        if (out)
            *out = NULL;
        return fail(fn, BGM_E_INVALID, "timeout_s must be >= 0 (0: wait for ever)");
    }
    return create(out, comm, flags, 0, timeout_s, fn);
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
        return create(out, MPI_COMM_WORLD, flags, 0, -1.0, fn);
    if (!out || (flags & ~BGM_MPI_ABORT_ON_ERROR)) /* refused before MPI starts */
        return create(out, MPI_COMM_WORLD, flags, 0, -1.0, fn);
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &level);
    if (rc != MPI_SUCCESS)
        return fail(fn, BGM_E_IO, "MPI_Init_thread failed");
    return create(out, MPI_COMM_WORLD, flags, 1, -1.0, fn);
}
