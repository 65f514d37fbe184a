/*
 * Internal interface between the tape and the operations recorded on it.
 *
 * An operation is a forward function (the public bgm_op_*) plus a backward
 * function registered in a bgm__op. The forward calls bgm__op_begin() to
 * check inputs and get its result tensor (tape-owned or caller-owned) and,
 * when an input needs a gradient, a node; it runs its kernel; it ends with
 * bgm__op_end(). Backward functions accumulate (+=) into input gradients,
 * except where the node says a buffer is fresh (see bgm__node.fresh).
 */
#ifndef BGM_AUTOGRAD_TAPE_H
#define BGM_AUTOGRAD_TAPE_H

#include "bigmodel/autograd.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/tensor_impl.h"

typedef struct bgm__node bgm__node;

/*
 * Adds d(loss)/d(input i) into gin[i] given gout = d(loss)/d(output).
 * gin[i] is NULL for inputs that need no gradient. Buffers are contiguous
 * float32 with the input's (resp. output's) element count.
 */
typedef void (*bgm__backward_fn)(const bgm__node *node, const float *gout, float **gin);

typedef struct bgm__op {
    const char *name;          /* for messages: "matmul" */
    bgm__backward_fn backward;
    /* 1 when backward never reads the result's data (nor saves a pointer to
     * it): a later op may then overwrite the result in place (see
     * bgm__op_relu_over). 0 when unsure. */
    int out_unread;
} bgm__op;

#define BGM__NODE_ATTRS 2 * BGM_MAX_DIMS

struct bgm__node {
    const bgm__op *op;
    bgm_tensor *out;
    const bgm_tensor **in;     /* nin inputs, borrowed */
    int nin;
    int64_t attr[BGM__NODE_ATTRS]; /* small integer attributes (axis, perm, ...) */
    float fattr;               /* a float attribute (alpha, exponent, ...) */
    void *saved;               /* extra data saved for backward (tape arena) */
    float *grad;               /* gradient of out, valid when grad_epoch matches */
    uint32_t grad_epoch;
    /* Set by the forward when its backward honours fresh: the tape then
     * skips zeroing the gradient buffers it hands over for the first time. */
    uint8_t fills_fresh;
    uint8_t aliased;           /* the result uses another tensor's memory */
    /* Set by the tape before each backward call: bit i means gin[i] holds
     * garbage and the backward must write all of it instead of adding to
     * it. Always 0 without fills_fresh. */
    uint32_t fresh;
};

/* State of one forward call in progress. */
typedef struct bgm__op_call {
    const char *fn;            /* public function name, for messages */
    bgm_tape *tape;
    bgm_tensor *out;
    bgm__node *node;           /* NULL when nothing is recorded */
} bgm__op_call;

/*
 * Checks out and the nin inputs (non-NULL, float32), then creates the result
 * tensor of the given shape (uninitialized) and, when recording, the node.
 * With alias != NULL the result uses that memory instead of new memory
 * (reshape-like ops). On error nothing is left allocated.
 */
bgm_status bgm__op_begin(bgm__op_call *c, const char *fn, bgm_tensor **out,
                         bgm_tape *tape, const bgm__op *op,
                         const bgm_tensor *const *in, int nin,
                         const int64_t *shape, int ndim, void *alias);

/* Checks out/inputs only (non-NULL, float32): for ops that validate more
 * before bgm__op_begin. */
bgm_status bgm__op_check(const char *fn, bgm_tensor **out, const bgm_tensor *const *in,
                         int nin);

/* Memory for data saved for backward: from the tape arena when recording,
 * NULL otherwise (also when out of memory: check c->node first). */
void *bgm__op_save(bgm__op_call *c, size_t size);

/* Publishes the result: *out = c->out, records the node. */
bgm_status bgm__op_end(bgm__op_call *c, bgm_tensor **out);

/* Undoes bgm__op_begin after a later failure; returns status. */
bgm_status bgm__op_fail(bgm__op_call *c, bgm_status status);

/*
 * Workspace of one forward call, size bytes: from the tape arena when the
 * call has a tape, recorded or not (so it stays mapped between steps and
 * lives as long as the tape's results), else from the heap. Hand it back
 * with bgm__op_workspace_release, which frees only the heap kind. NULL when
 * out of memory.
 */
void *bgm__op_workspace(bgm__op_call *c, size_t size);
void bgm__op_workspace_release(bgm__op_call *c, void *p);

/* 1 when x is a result of an op recorded on tape whose backward never
 * reads it (bgm__op.out_unread) and whose memory is its own (not a view):
 * a caller that knows nothing else reads x may overwrite it in place. */
int bgm__tape_result_overwritable(const bgm_tape *tape, const bgm_tensor *x);

/*
 * y = relu(x) on tape, written over x's memory when x is overwritable
 * (above) and the caller guarantees x has no other reader; else a plain
 * bgm_op_relu. The same values and gradients either way.
 */
bgm_status bgm__op_relu_over(bgm_tensor **y, bgm_tape *tape, bgm_tensor *x);

/* relu(bgm_op_add(a, b)) for a and b of one shape (else BGM_E_SHAPE), with
 * the same bits: one pass forward and one backward (which reads the result
 * for the ReLU's mask and writes both gradients). */
bgm_status bgm__op_add_relu(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *a,
                            const bgm_tensor *b);

/* bgm_op_batch_norm, with two options:
 * - relu: max(y, 0) is applied as each row is normalized, and backward
 *   takes the output gradient only where the output is > 0, inside the
 *   normalization's own passes: relu(bgm_op_batch_norm(...)) in one op,
 *   with the same bits, and no pass of a ReLU of its own either way.
 * - sync (a communicator; NULL: none): the training statistics are those
 *   of every rank's rows: the per-channel sums and squared deviations are
 *   summed over the ranks in forward, and the sums of gy and gy * xhat in
 *   backward (SyncBatchNormalization). Every rank must make the same
 *   calls. A failure of the reduction in backward, which cannot return it,
 *   is kept in sync (bgm__comm_deferred). */
struct bgm_comm;
bgm_status bgm__op_batch_norm_sync(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                                   const bgm_tensor *gamma, const bgm_tensor *beta,
                                   bgm_tensor *running_mean, bgm_tensor *running_var,
                                   float momentum, float epsilon, int training, int relu,
                                   struct bgm_comm *sync);

/*
 * y = x kernel + bias over x's trailing axes (ops_linear.c): the trailing
 * axes of x hold k elements, kernel k * n read as (k, n), bias NULL or n
 * elements; y keeps x's leading axes (at least one) and ends with
 * tail[0..ntail), whose product is n. One result on the tape, no reshapes.
 * Errors (naming fn): those of the bgm_op_* functions, BGM_E_SHAPE.
 */
bgm_status bgm__op_affine(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                          const bgm_tensor *kernel, const bgm_tensor *bias, int64_t k,
                          const int64_t *tail, int ntail, const char *fn);

/* 1 when t is a result of tape or its data lies in the tape's memory (a
 * view of a result): resetting the tape would then invalidate t. */
int bgm__tape_holds(const bgm_tape *tape, const bgm_tensor *t);

/* Calls from backward for a caller that acts on gradients as soon as they
 * are final (data-parallel fit starts reducing them while backward goes on). */
typedef struct bgm__grad_hook {
    /* Source k's gradient is final: no later operation of this backward adds
     * to it (every op that read the tensor has run, so a weight used twice
     * is final after its second use). grad: its values, NULL for zeros.
     * Called once per source, in the order they become final; those no
     * recorded op reads, at the end. */
    void (*ready)(void *ctx, int k, const float *grad);
    /* After each operation's backward (NULL: none): a moment to progress
     * transfers. */
    void (*between)(void *ctx);
    void *ctx;
} bgm__grad_hook;

/* Sets the hook of tape's next bgm_tape_gradient calls (borrowed; NULL
 * clears it). */
void bgm__tape_set_grad_hook(bgm_tape *tape, const bgm__grad_hook *hook);

/* Scratch memory of at least size bytes that tape keeps, and grows, from
 * call to call until it is freed: for an op's temporary buffers that
 * should neither pile up on the arena nor be allocated and freed at every
 * call (glibc then keeps growing its heap). Contents undefined; valid until
 * the next call on the same tape (a tape runs one op at a time). NULL when
 * out of memory. */
void *bgm__tape_scratch(bgm_tape *tape, size_t size);

/* Scratch memory for the duration of one call (freed with bgm__scratch_free). */
void *bgm__scratch_alloc(size_t size);
void bgm__scratch_free(void *p);

/* Normalizes a possibly negative axis against ndim; BGM_E_INVALID when out of range. */
bgm_status bgm__normalize_axis(const char *fn, int axis, int ndim, int *out);

/* Views t as (outer, n, inner) around axis: the layout axis kernels take. */
void bgm__axis_view(const bgm_tensor *t, int axis, int64_t *outer, int64_t *n,
                    int64_t *inner);

#endif
