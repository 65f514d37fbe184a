/*
 * bgm_tape: records operations and runs reverse-mode differentiation.
 *
 * Every tensor a tape owns (results, saved data, gradients, node records)
 * lives in the tape's arena, so reset and free are one sweep and the memory
 * stays mapped between training steps. Leaves (caller-owned tensors that
 * need gradients) are looked up in a small open-addressing table.
 *
 * The gradient of an operation's result is dead once that operation's
 * backward has run (every consumer ran before it): its buffer goes to a
 * list of spares that later gradients of the same size take, so a
 * backward pass holds the gradients of a few layers at a time rather than
 * one per recorded result (for a ResNet step, half of the tape's memory).
 */
#include "tape.h"

#include <stdlib.h>
#include <string.h>

/* A dead gradient buffer, listed in its own first bytes. */
typedef struct spare {
    struct spare *next;
    size_t bytes;
} spare;

typedef struct leaf {
    const bgm_tensor *t;     /* NULL: empty slot */
    float *grad;
    uint32_t grad_epoch;
    uint8_t watched;
    uint32_t hook_epoch;     /* a source of the hooked gradient of that epoch */
    int32_t uses;            /*   its ops that backward has yet to run */
} leaf;

struct bgm_tape {
    bgm__arena arena;
    bgm__node **nodes;
    int32_t nnodes, cap;
    leaf *leaves;            /* open addressing, capacity a power of two */
    size_t nleaves, leaf_cap;
    uint32_t epoch;          /* bumped by each gradient computation */
    spare *spares;           /* dead gradient buffers, in the arena */
    void *scratch;           /* bgm__tape_scratch's buffer, scratch_bytes long */
    size_t scratch_bytes;
    const bgm__grad_hook *hook; /* bgm__tape_set_grad_hook's, or NULL */
};

/* ---- leaves -------------------------------------------------------------- */

static size_t ptr_hash(const void *p, size_t cap)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (cap - 1);
}

static leaf *leaf_find(const bgm_tape *tape, const bgm_tensor *t)
{
    size_t i;
    if (tape->leaf_cap == 0)
        return NULL;
    for (i = ptr_hash(t, tape->leaf_cap);; i = (i + 1) & (tape->leaf_cap - 1)) {
        if (tape->leaves[i].t == t)
            return &tape->leaves[i];
        if (tape->leaves[i].t == NULL)
            return NULL;
    }
}

static leaf *leaf_insert(bgm_tape *tape, const bgm_tensor *t)
{
    size_t i;
    leaf *found = leaf_find(tape, t);
    if (found)
        return found;
    if ((tape->nleaves + 1) * 2 > tape->leaf_cap) {
        size_t cap = tape->leaf_cap ? tape->leaf_cap * 2 : 64, j;
        leaf *old = tape->leaves, *grown = calloc(cap, sizeof *grown);
        if (!grown)
            return NULL;
        tape->leaves = grown;
        for (j = 0; j < tape->leaf_cap; j++) {
            if (old[j].t) {
                for (i = ptr_hash(old[j].t, cap); grown[i].t; i = (i + 1) & (cap - 1))
                    ;
                grown[i] = old[j];
            }
        }
        free(old);
        tape->leaf_cap = cap;
    }
    for (i = ptr_hash(t, tape->leaf_cap); tape->leaves[i].t; i = (i + 1) & (tape->leaf_cap - 1))
        ;
    memset(&tape->leaves[i], 0, sizeof tape->leaves[i]);
    tape->leaves[i].t = t;
    tape->nleaves++;
    return &tape->leaves[i];
}

/* 1 when gradients must flow into t on this tape. */
static int needs_grad(const bgm_tape *tape, const bgm_tensor *t)
{
    const leaf *l;
    if (t->tape == tape)
        return t->node >= 0;
    if (t->requires_grad)
        return 1;
    l = leaf_find(tape, t);
    return l && l->watched;
}

/* ---- the tape's life ----------------------------------------------------- */

BGM_API bgm_status bgm_tape_create(bgm_tape **out)
{
    BGM__CHECK_NULL(out, "bgm_tape_create");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "bgm_tape_create: out of memory");
    bgm__arena_init(&(*out)->arena);
    return BGM_OK;
}

int bgm__tape_holds(const bgm_tape *tape, const bgm_tensor *t)
{
    return t->tape == tape || bgm__arena_contains(&tape->arena, t->data);
}

BGM_API bgm_status bgm_tape_reset(bgm_tape *tape)
{
    BGM__CHECK_NULL(tape, "bgm_tape_reset");
    bgm__arena_reset(&tape->arena);
    tape->spares = NULL;
    tape->nnodes = 0;
    if (tape->leaves)
        memset(tape->leaves, 0, tape->leaf_cap * sizeof *tape->leaves);
    tape->nleaves = 0;
    return BGM_OK;
}

BGM_API void bgm_tape_free(bgm_tape *tape)
{
    if (!tape)
        return;
    bgm__arena_release(&tape->arena);
    bgm__aligned_free(tape->scratch);
    free(tape->nodes);
    free(tape->leaves);
    free(tape);
}

BGM_API bgm_status bgm_tape_watch(bgm_tape *tape, const bgm_tensor *t)
{
    leaf *l;
    BGM__CHECK_NULL(tape, "bgm_tape_watch");
    BGM__CHECK_NULL(t, "bgm_tape_watch");
    if (t->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "bgm_tape_watch: only float32 tensors have "
                         "gradients");
    if (t->tape == tape)
        return BGM_OK; /* results of this tape are tracked already */
    l = leaf_insert(tape, t);
    if (!l)
        return bgm__fail(BGM_E_NOMEM, "bgm_tape_watch: out of memory");
    l->watched = 1;
    return BGM_OK;
}

BGM_API bgm_status bgm_tensor_set_requires_grad(bgm_tensor *t, int requires_grad)
{
    BGM__CHECK_NULL(t, "bgm_tensor_set_requires_grad");
    if (t->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "bgm_tensor_set_requires_grad: only float32 "
                         "tensors have gradients");
    t->requires_grad = requires_grad != 0;
    return BGM_OK;
}

BGM_API int bgm_tensor_requires_grad(const bgm_tensor *t)
{
    return t && t->requires_grad;
}

/* ---- recording ----------------------------------------------------------- */

bgm_status bgm__normalize_axis(const char *fn, int axis, int ndim, int *out)
{
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim)
        return bgm__fail(BGM_E_INVALID, "%s: axis %d is out of range for %d dimensions",
                         fn, axis, ndim);
    *out = a;
    return BGM_OK;
}

void bgm__axis_view(const bgm_tensor *t, int axis, int64_t *outer, int64_t *n,
                    int64_t *inner)
{
    int d;
    *outer = 1;
    *inner = 1;
    for (d = 0; d < axis; d++)
        *outer *= t->shape[d];
    for (d = axis + 1; d < t->ndim; d++)
        *inner *= t->shape[d];
    *n = t->shape[axis];
}

bgm_status bgm__op_check(const char *fn, bgm_tensor **out, const bgm_tensor *const *in,
                         int nin)
{
    int i;
    if (out == NULL)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'out' is NULL", fn);
    *out = NULL;
    for (i = 0; i < nin; i++) {
        if (in[i] == NULL)
            return bgm__fail(BGM_E_INVALID, "%s: input %d is NULL", fn, i);
        if (in[i]->dtype != BGM_FLOAT32)
            return bgm__fail(BGM_E_DTYPE, "%s: input %d is %s, expected float32", fn, i,
                             in[i]->dtype == BGM_INT32 ? "int32" : "of an unknown dtype");
    }
    return BGM_OK;
}

bgm_status bgm__op_begin(bgm__op_call *c, const char *fn, bgm_tensor **out,
                         bgm_tape *tape, const bgm__op *op,
                         const bgm_tensor *const *in, int nin,
                         const int64_t *shape, int ndim, void *alias)
{
    int64_t numel;
    size_t nbytes;
    int i, record = 0;
    bgm_status s = bgm__op_check(fn, out, in, nin);
    memset(c, 0, sizeof *c);
    c->fn = fn;
    c->tape = tape;
    if (s != BGM_OK)
        return s;
    s = bgm__check_shape(fn, BGM_FLOAT32, shape, ndim, &numel);
    if (s != BGM_OK)
        return s;
    if (!tape) {
        if (!alias)
            return bgm__tensor_new(&c->out, fn, BGM_FLOAT32, shape, ndim);
        return bgm__fail(BGM_E_INTERNAL, "%s: aliasing result without a tape", fn);
    }
    for (i = 0; i < nin; i++)
        record |= needs_grad(tape, in[i]);
    nbytes = (size_t)numel * sizeof(float);
    c->out = bgm__arena_calloc(&tape->arena, sizeof *c->out);
    if (!c->out)
        goto nomem;
    bgm__tensor_set_meta(c->out, BGM_FLOAT32, shape, ndim, numel);
    c->out->tape = tape;
    c->out->node = -1;
    c->out->data = alias ? alias : bgm__arena_alloc(&tape->arena, nbytes);
    if (!c->out->data)
        goto nomem;
    if (record) {
        c->node = bgm__arena_calloc(&tape->arena, sizeof *c->node);
        if (!c->node)
            goto nomem;
        c->node->in = bgm__arena_alloc(&tape->arena, (size_t)nin * sizeof *c->node->in);
        if (!c->node->in)
            goto nomem;
        for (i = 0; i < nin; i++)
            c->node->in[i] = in[i];
        c->node->nin = nin;
        c->node->op = op;
        c->node->out = c->out;
        c->node->aliased = alias != NULL;
    }
    return BGM_OK;
nomem:
    c->out = NULL;
    c->node = NULL;
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory for the result", fn);
}

void *bgm__op_save(bgm__op_call *c, size_t size)
{
    return c->node ? bgm__arena_alloc(&c->tape->arena, size) : NULL;
}

int bgm__tape_result_overwritable(const bgm_tape *tape, const bgm_tensor *x)
{
    const bgm__node *node;
    if (!tape || x->tape != tape || x->node < 0 || x->node >= tape->nnodes)
        return 0;
    node = tape->nodes[x->node];
    return node->out == x && !node->aliased && node->op->out_unread;
}

bgm_status bgm__op_end(bgm__op_call *c, bgm_tensor **out)
{
    bgm_tape *tape = c->tape;
    if (c->node) {
        if (tape->nnodes == tape->cap) {
            int32_t cap = tape->cap ? tape->cap * 2 : 256;
            bgm__node **grown = realloc(tape->nodes, (size_t)cap * sizeof *grown);
            if (!grown)
                return bgm__op_fail(c, bgm__fail(BGM_E_NOMEM, "%s: out of memory "
                                                 "recording the operation", c->fn));
            tape->nodes = grown;
            tape->cap = cap;
        }
        c->out->node = tape->nnodes;
        tape->nodes[tape->nnodes++] = c->node;
    }
    *out = c->out;
    return BGM_OK;
}

bgm_status bgm__op_fail(bgm__op_call *c, bgm_status status)
{
    if (c->out && !c->out->tape)
        bgm_tensor_free(c->out);
    c->out = NULL;
    c->node = NULL;
    return status;
}

void *bgm__op_workspace(bgm__op_call *c, size_t size)
{
    return c->tape ? bgm__arena_alloc(&c->tape->arena, size) : bgm__aligned_alloc(size);
}

void bgm__op_workspace_release(bgm__op_call *c, void *p)
{
    if (!c->tape)
        bgm__aligned_free(p);
}

void *bgm__scratch_alloc(size_t size) { return bgm__aligned_alloc(size); }

void *bgm__tape_scratch(bgm_tape *tape, size_t size)
{
    void *p;
    if (size <= tape->scratch_bytes)
        return tape->scratch;
    if (!(p = bgm__aligned_alloc(size)))
        return NULL;
    bgm__aligned_free(tape->scratch);
    tape->scratch = p;
    tape->scratch_bytes = size;
    return p;
}

void bgm__scratch_free(void *p) { bgm__aligned_free(p); }

/* ---- differentiation ----------------------------------------------------- */

/* A spare buffer of exactly bytes (the layers of a network repeat their
 * sizes), or NULL. */
static float *take_spare(bgm_tape *tape, size_t bytes)
{
    spare **at;
    for (at = &tape->spares; *at; at = &(*at)->next) {
        if ((*at)->bytes == bytes) {
            spare *s = *at;
            *at = s->next;
            return (float *)s;
        }
    }
    return NULL;
}

/* Lists node's gradient buffer as a spare (its backward has run) unless a
 * caller asked for that gradient or it is too small to list. */
static void retire_grad(bgm_tape *tape, bgm__node *node, bgm_tensor *const *sources, int n)
{
    size_t bytes = (size_t)node->out->numel * sizeof(float);
    spare *s = (spare *)(void *)node->grad;
    int k;
    if (!s || bytes < sizeof *s)
        return;
    for (k = 0; k < n; k++)
        if (sources[k] == node->out)
            return;
    s->bytes = bytes;
    s->next = tape->spares;
    tape->spares = s;
    node->grad = NULL;
}

/* Zeroed gradient buffer of t for the current epoch, or NULL (no gradient or
 * out of memory: *oom tells which). With fresh != NULL a buffer new to this
 * epoch is left uninitialized and *fresh set to 1: its first writer fills it
 * (zeroing many megabytes that the next kernel overwrites costs a full pass
 * over memory). */
static float *grad_of(bgm_tape *tape, const bgm_tensor *t, int *oom, int *fresh)
{
    float **gp;
    uint32_t *ep;
    if (t->tape == tape) {
        bgm__node *n;
        if (t->node < 0)
            return NULL;
        n = tape->nodes[t->node];
        gp = &n->grad;
        ep = &n->grad_epoch;
    } else {
        leaf *l;
        if (!needs_grad(tape, t))
            return NULL;
        l = leaf_insert(tape, t);
        if (!l) {
            *oom = 1;
            return NULL;
        }
        gp = &l->grad;
        ep = &l->grad_epoch;
    }
    if (*ep != tape->epoch || *gp == NULL) {
        if (*gp == NULL)
            *gp = take_spare(tape, (size_t)t->numel * sizeof(float));
        if (*gp == NULL)
            *gp = bgm__arena_alloc(&tape->arena, (size_t)t->numel * sizeof(float));
        if (*gp == NULL) {
            *oom = 1;
            return NULL;
        }
        if (fresh)
            *fresh = 1;
        else
            memset(*gp, 0, (size_t)t->numel * sizeof(float));
        *ep = tape->epoch;
    }
    return *gp;
}

/* The current gradient of t if one was made in this epoch, else NULL. */
static float *grad_if_any(const bgm_tape *tape, const bgm_tensor *t)
{
    if (t->tape == tape) {
        const bgm__node *n;
        if (t->node < 0)
            return NULL;
        n = tape->nodes[t->node];
        return n->grad_epoch == tape->epoch ? n->grad : NULL;
    } else {
        const leaf *l = leaf_find(tape, t);
        return l && l->grad_epoch == tape->epoch ? l->grad : NULL;
    }
}

/* Makes the tape forget t's gradient buffer (handed to the caller). */
static void detach_grad(bgm_tape *tape, const bgm_tensor *t)
{
    if (t->tape == tape) {
        if (t->node >= 0)
            tape->nodes[t->node]->grad = NULL;
    } else {
        leaf *l = leaf_find(tape, t);
        if (l)
            l->grad = NULL;
    }
}

#define GIN_STACK 8

void bgm__tape_set_grad_hook(bgm_tape *tape, const bgm__grad_hook *hook)
{
    tape->hook = hook;
}

/* The leaf of t when t is a source of the hooked gradient now running. */
static leaf *hooked_source(const bgm_tape *tape, const bgm_tensor *t)
{
    leaf *l;
    if (t->tape == tape)
        return NULL;
    l = leaf_find(tape, t);
    return l && l->hook_epoch == tape->epoch ? l : NULL;
}

/* Marks the leaf sources of the hooked gradient and counts their uses by
 * the ops backward will visit (nodes 0..last). 0 when out of memory. */
static int count_source_uses(bgm_tape *tape, bgm_tensor *const *sources, int n, int32_t last)
{
    int32_t i;
    int k;
    for (k = 0; k < n; k++) {
        leaf *l;
        if (sources[k]->tape == tape)
            continue;
        if (!(l = leaf_insert(tape, sources[k])))
            return 0;
        l->hook_epoch = tape->epoch;
        l->uses = 0;
    }
    for (i = 0; i <= last; i++) {
        const bgm__node *node = tape->nodes[i];
        for (k = 0; k < node->nin; k++) {
            leaf *l = hooked_source(tape, node->in[k]);
            if (l)
                l->uses++;
        }
    }
    return 1;
}

/* After node's backward (or its skip): the sources it was the last op to
 * read have their final gradients. */
static void release_sources(bgm_tape *tape, const bgm__node *node,
                            bgm_tensor *const *sources, int n)
{
    const bgm__grad_hook *h = tape->hook;
    int i, k;
    for (i = 0; i < node->nin; i++) {
        leaf *l = hooked_source(tape, node->in[i]);
        if (!l || --l->uses != 0)
            continue;
        l->uses = -1; /* told */
        for (k = 0; k < n; k++) /* every place the caller listed it */
            if (sources[k] == node->in[i])
                h->ready(h->ctx, k, l->grad_epoch == tape->epoch ? l->grad : NULL);
    }
    if (h->between)
        h->between(h->ctx);
}

/* Whether input k of node may receive an uninitialized gradient buffer:
 * its op fills such buffers, and no other input is the same tensor (its
 * gradient would then be one buffer both written and added to). */
static int may_fill_fresh(const bgm__node *node, int k)
{
    int i;
    if (!node->fills_fresh || k >= 32)
        return 0;
    for (i = 0; i < node->nin; i++)
        if (i != k && node->in[i] == node->in[k])
            return 0;
    return 1;
}

BGM_API bgm_status bgm_tape_gradient(bgm_tape *tape, const bgm_tensor *loss,
                                     bgm_tensor *const *sources, int n,
                                     bgm_tensor **grads_out)
{
    static const char *fn = "bgm_tape_gradient";
    char a[BGM__SHAPE_STR_SIZE];
    float *gloss, *gin_stack[GIN_STACK], **gin = gin_stack;
    int32_t i;
    int k, oom = 0, loss_is_source = 0, hooked;
    for (k = 0; grads_out && k < n; k++)
        grads_out[k] = NULL;
    BGM__CHECK_NULL(tape, fn);
    BGM__CHECK_NULL(loss, fn);
    if (n < 0)
        return bgm__fail(BGM_E_INVALID, "%s: n = %d is negative", fn, n);
    if (n > 0) {
        BGM__CHECK_NULL(sources, fn);
        BGM__CHECK_NULL(grads_out, fn);
    }
    for (k = 0; k < n; k++) {
        if (!sources[k])
            return bgm__fail(BGM_E_INVALID, "%s: sources[%d] is NULL", fn, k);
        loss_is_source |= sources[k] == loss;
    }
    if (loss->numel != 1)
        return bgm__fail(BGM_E_SHAPE, "%s: the loss must have one element, it has "
                         "shape %s", fn, bgm__tensor_shape_str(a, sizeof a, loss));
    if (loss->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: the loss must be float32", fn);
    if (loss->tape != tape && !loss_is_source)
        return bgm__fail(BGM_E_STATE, "%s: the loss was not computed by an operation "
                         "recorded on this tape", fn);

    tape->epoch++;
    if (tape->epoch == 0)
        tape->epoch = 1; /* 0 marks "never": keep it unused */
    hooked = tape->hook && loss->tape == tape && loss->node >= 0;
    if (hooked && !count_source_uses(tape, sources, n, loss->node))
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    if (loss->tape == tape && loss->node >= 0) {
        gloss = grad_of(tape, loss, &oom, NULL);
        if (gloss)
            gloss[0] = 1.0f;
        for (i = loss->node; i >= 0 && !oom; i--) {
            bgm__node *node = tape->nodes[i];
            if (node->grad_epoch != tape->epoch) { /* the loss does not depend on it */
                if (hooked)
                    release_sources(tape, node, sources, n);
                continue;
            }
            if (node->nin > GIN_STACK) {
                if (gin != gin_stack)
                    free(gin);
                gin = malloc((size_t)node->nin * sizeof *gin);
                if (!gin) {
                    gin = gin_stack;
                    oom = 1;
                    break;
                }
            }
            node->fresh = 0;
            for (k = 0; k < node->nin; k++) {
                int fresh = 0;
                gin[k] = grad_of(tape, node->in[k], &oom,
                                 may_fill_fresh(node, k) ? &fresh : NULL);
                node->fresh |= (uint32_t)fresh << k;
            }
            if (oom)
                break;
            node->op->backward(node, node->grad, gin);
            retire_grad(tape, node, sources, n);
            if (hooked)
                release_sources(tape, node, sources, n);
        }
    }
    if (gin != gin_stack)
        free(gin);
    if (oom)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for gradients", fn);

    for (k = 0; k < n; k++) {
        const bgm_tensor *src = sources[k];
        bgm_tensor *g = bgm__arena_calloc(&tape->arena, sizeof *g);
        size_t nbytes = (size_t)src->numel * sizeof(float);
        float *data = NULL;
        int first;
        if (!g)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        bgm__tensor_set_meta(g, BGM_FLOAT32, src->shape, src->ndim, src->numel);
        g->tape = tape;
        g->node = -1;
        for (first = 0; first < k && sources[first] != src; first++)
            ;
        if (first == k && src != loss && (data = grad_if_any(tape, src)) != NULL) {
            /* Handed over without a copy: the tape forgets the buffer, so a
             * later call computes into a new one and leaves this intact. */
            g->data = data;
            detach_grad(tape, src);
        } else {
            g->data = bgm__arena_alloc(&tape->arena, nbytes);
            if (!g->data)
                return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
            if (first < k) /* a source listed twice gets its own copy */
                memcpy(g->data, grads_out[first]->data, nbytes);
            else if (src == loss)
                ((float *)g->data)[0] = 1.0f;
            else
                memset(g->data, 0, nbytes);
        }
        grads_out[k] = g;
    }
    for (k = 0; tape->hook && k < n; k++) { /* those no visited op read */
        const leaf *l = hooked_source(tape, sources[k]);
        if (!l || l->uses >= 0)
            tape->hook->ready(tape->hook->ctx, k, grads_out[k]->data);
    }
    return BGM_OK;
}
