/*
 * Attention operations. The fused one keeps, for backward, only the
 * log-sum-exp of each query row (N * H * T floats) and its workspace; the
 * probabilities are recomputed one tile at a time (docs/design.md has the
 * memory figures). The probabilities / apply pair materializes (N, H, T, S)
 * for the callers that need them: attention scores as an output, dropout on
 * the probabilities.
 */
#include "attention.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct attn_saved {
    bgm__attn a;
    float *lse, *work;
} attn_saved;

static void attention_backward(const bgm__node *node, const float *gout, float **gin)
{
    attn_saved *sv = node->saved;
    bgm__attn_backward(&sv->a, node->out->data, gout, sv->lse, gin[0], gin[1], gin[2],
                       sv->work);
}

static void probs_backward(const bgm__node *node, const float *gout, float **gin)
{
    attn_saved *sv = node->saved;
    if (gin[0] || gin[1])
        bgm__attn_probs_backward(&sv->a, node->out->data, gout, gin[0], gin[1], sv->work);
}

static void apply_backward(const bgm__node *node, const float *gout, float **gin)
{
    attn_saved *sv = node->saved;
    if (gin[0] || gin[1])
        bgm__attn_apply_backward(&sv->a, node->in[0]->data, gout, gin[0], gin[1]);
}

static const bgm__op op_attention = {"attention", attention_backward, 0};
static const bgm__op op_probs = {"attention_probs", probs_backward, 0};
static const bgm__op op_apply = {"attention_apply", apply_backward, 1};

static bgm_status shape_fail(const char *fn, const char *why, const char *na,
                             const bgm_tensor *a, const char *nb, const bgm_tensor *b)
{
    char sa[BGM__SHAPE_STR_SIZE], sb[BGM__SHAPE_STR_SIZE];
    if (!b)
        return bgm__fail(BGM_E_SHAPE, "%s: %s has shape %s, %s", fn, na,
                         bgm__tensor_shape_str(sa, sizeof sa, a), why);
    return bgm__fail(BGM_E_SHAPE, "%s: %s %s and %s %s: %s", fn, na,
                     bgm__tensor_shape_str(sa, sizeof sa, a), nb,
                     bgm__tensor_shape_str(sb, sizeof sb, b), why);
}

/* Checks the shapes of q, k, v (v may be NULL) and o's mask; fills a. */
static bgm_status check(const char *fn, const bgm_tensor *q, const bgm_tensor *k,
                        const bgm_tensor *v, const bgm__attn_opts *o, bgm__attn *a)
{
    const bgm_tensor *mask = o->mask;
    memset(a, 0, sizeof *a);
    if (q->ndim != 4)
        return shape_fail(fn, "expected 4 dimensions (batch, queries, heads, key_dim)", "q",
                          q, NULL, NULL);
    if (k->ndim != 4)
        return shape_fail(fn, "expected 4 dimensions (batch, keys, heads, key_dim)", "k", k,
                          NULL, NULL);
    if (k->shape[0] != q->shape[0] || k->shape[2] != q->shape[2] ||
        k->shape[3] != q->shape[3])
        return shape_fail(fn, "batch, heads and key_dim (dimensions 0, 2, 3) differ", "q",
                          q, "k", k);
    if (v && v->ndim != 4)
        return shape_fail(fn, "expected 4 dimensions (batch, keys, heads, value_dim)", "v",
                          v, NULL, NULL);
    if (v && (v->shape[0] != k->shape[0] || v->shape[1] != k->shape[1] ||
              v->shape[2] != k->shape[2]))
        return shape_fail(fn, "batch, keys and heads (dimensions 0, 1, 2) differ", "k", k,
                          "v", v);
    if (mask && (mask->ndim != 3 || mask->shape[0] != q->shape[0] ||
                 mask->shape[1] != q->shape[1] || mask->shape[2] != k->shape[1]))
        return bgm__fail(BGM_E_SHAPE, "%s: the mask has shape %s, expected (%lld, %lld, "
                         "%lld) (batch, queries, keys)", fn,
                         bgm__tensor_shape_str((char[BGM__SHAPE_STR_SIZE]){0},
                                               BGM__SHAPE_STR_SIZE, mask),
                         (long long)q->shape[0], (long long)q->shape[1],
                         (long long)k->shape[1]);
    if (!isfinite(o->scale))
        return bgm__fail(BGM_E_INVALID, "%s: scale = %g, expected a finite number", fn,
                         (double)o->scale);
    a->n = q->shape[0];
    a->t = q->shape[1];
    a->s = k->shape[1];
    a->h = q->shape[2];
    a->dk = q->shape[3];
    a->dv = v ? v->shape[3] : 0;
    if (a->t > INT_MAX || a->s > INT_MAX || a->h * a->dk > INT_MAX || a->h * a->dv > INT_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: q %lld x %lld x %lld, keys %lld: a "
                         "dimension exceeds INT_MAX, the most the GEMM takes", fn,
                         (long long)a->t, (long long)a->h, (long long)a->dk,
                         (long long)a->s);
    a->q = q->data;
    a->k = k->data;
    a->v = v ? v->data : NULL;
    a->k_batch = a->s * a->h * a->dk;
    a->v_batch = a->s * a->h * a->dv;
    a->mask = mask ? mask->data : NULL;
    a->query_mask = o->query_mask;
    a->key_mask = o->key_mask;
    a->key_mask_batch = a->s;
    a->causal = o->causal;
    a->offset = o->offset;
    a->scale = o->scale;
    return BGM_OK;
}

/* The saved state of a recorded call: a (with copies of the row masks),
 * nlse floats and nwork floats of workspace. NULL when out of memory. */
static attn_saved *save(bgm__op_call *c, const bgm__attn *a, size_t nlse, size_t nwork)
{
    attn_saved *sv = bgm__op_save(c, sizeof *sv);
    size_t nq = a->query_mask ? (size_t)(a->n * a->t) : 0;
    size_t nk = a->key_mask ? (size_t)(a->n * a->s) : 0;
    float *block = sv ? bgm__op_save(c, (nlse + nwork + nq + nk) * sizeof(float) + 1) : NULL;
    if (!block)
        return NULL;
    sv->a = *a;
    sv->lse = block;
    sv->work = block + nlse;
    if (nq) {
        memcpy(block + nlse + nwork, a->query_mask, nq * sizeof(float));
        sv->a.query_mask = block + nlse + nwork;
    }
    if (nk) {
        memcpy(block + nlse + nwork + nq, a->key_mask, nk * sizeof(float));
        sv->a.key_mask = block + nlse + nwork + nq;
    }
    c->node->saved = sv;
    return sv;
}

static bgm_status nomem(bgm__op_call *c, const char *fn)
{
    return bgm__op_fail(c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the attention "
                                     "workspace", fn));
}

/* The forward of a begun call c: the output (fused) or the probabilities.
 * Recorded, it saves what backward needs (the row log-sum-exp when fused, a
 * workspace); else it works in a workspace of its own. */
static bgm_status run_forward(bgm__op_call *c, bgm_tensor **out, bgm__attn *a,
                              int fused, const char *fn)
{
    float *res = c->out->data, *work, *lse = NULL;
    if (c->node) {
        attn_saved *sv = save(c, a, fused ? (size_t)(a->n * a->h * a->t) : 0,
                              bgm__attn_work_floats(a, 1));
        if (!sv)
            return nomem(c, fn);
        work = sv->work;
        lse = fused ? sv->lse : NULL;
    } else if (!(work = bgm__op_workspace(c, bgm__attn_work_floats(a, 0) * sizeof(float) +
                                                  1))) {
        return nomem(c, fn);
    }
    bgm__attn_forward(a, fused ? res : NULL, lse, fused ? NULL : res, work);
    if (!c->node)
        bgm__op_workspace_release(c, work);
    return bgm__op_end(c, out);
}

/* The fused op (v given) or the probabilities op (v NULL). */
static bgm_status attention_op(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                               const bgm_tensor *k, const bgm_tensor *v, int fused,
                               const bgm__attn_opts *o, const char *fn)
{
    const bgm_tensor *in[4] = {q, k, NULL, NULL};
    int nin = 2;
    int64_t shape[4];
    bgm__attn a;
    bgm__op_call c;
    bgm_status s;
    if (fused)
        in[nin++] = v;
    if (o->mask)
        in[nin++] = o->mask;
    s = bgm__op_check(fn, out, in, nin);
    if (s == BGM_OK)
        s = check(fn, q, k, v, o, &a);
    if (s != BGM_OK)
        return s;
    shape[0] = a.n;
    shape[1] = fused ? a.t : a.h;
    shape[2] = fused ? a.h : a.t;
    shape[3] = fused ? a.dv : a.s;
    s = bgm__op_begin(&c, fn, out, tape, fused ? &op_attention : &op_probs, in, nin, shape, 4,
                      NULL);
    return s == BGM_OK ? run_forward(&c, out, &a, fused, fn) : s;
}

bgm_status bgm__op_attention(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                             const bgm_tensor *k, const bgm_tensor *v,
                             const bgm__attn_opts *o, const char *fn)
{
    return attention_op(out, tape, q, k, v, 1, o, fn);
}

bgm_status bgm__op_attention_probs(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                                   const bgm_tensor *k, const bgm__attn_opts *o,
                                   const char *fn)
{
    return attention_op(out, tape, q, k, NULL, 0, o, fn);
}

bgm_status bgm__op_attention_apply(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *probs, const bgm_tensor *v,
                                   const char *fn)
{
    const bgm_tensor *in[2] = {probs, v};
    int64_t shape[4];
    bgm__attn a;
    bgm__op_call c;
    bgm_status s = bgm__op_check(fn, out, in, 2);
    if (s != BGM_OK)
        return s;
    if (probs->ndim != 4 || v->ndim != 4 || probs->shape[0] != v->shape[0] ||
        probs->shape[1] != v->shape[2] || probs->shape[3] != v->shape[1])
        return shape_fail(fn, "expected (N, H, T, S) and (N, S, H, dv)", "probs", probs, "v",
                          v);
    memset(&a, 0, sizeof a);
    a.n = probs->shape[0];
    a.h = probs->shape[1];
    a.t = probs->shape[2];
    a.s = probs->shape[3];
    a.dv = v->shape[3];
    a.v = v->data;
    a.v_batch = a.s * a.h * a.dv;
    shape[0] = a.n;
    shape[1] = a.t;
    shape[2] = a.h;
    shape[3] = a.dv;
    s = bgm__op_begin(&c, fn, out, tape, &op_apply, in, 2, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        attn_saved *sv = save(&c, &a, 0, 0);
        if (!sv)
            return nomem(&c, fn);
    }
    bgm__attn_apply(&a, probs->data, c.out->data);
    return bgm__op_end(&c, out);
}

bgm_status bgm__op_attention_cached(bgm_tensor **out, bgm_tensor **probs, bgm_tape *tape,
                                    const bgm_tensor *q, const bgm__attn *kv,
                                    const char *fn)
{
    bgm__attn a = *kv;
    int64_t shape[4];
    bgm__op_call c, cp;
    float *work;
    bgm_status s;
    a.q = q->data;
    shape[0] = a.n;
    shape[1] = a.t;
    shape[2] = a.h;
    shape[3] = a.dv;
    s = bgm__op_begin(&c, fn, out, tape, &op_attention, &q, 1, shape, 4, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node)
        return bgm__op_fail(&c, bgm__fail(BGM_E_STATE, "%s: incremental decoding runs "
                                          "without gradients", fn));
    memset(&cp, 0, sizeof cp);
    if (probs) {
        shape[1] = a.h;
        shape[2] = a.t;
        shape[3] = a.s;
        s = bgm__op_begin(&cp, fn, probs, tape, &op_probs, &q, 1, shape, 4, NULL);
        if (s != BGM_OK)
            return bgm__op_fail(&c, s);
    }
    work = bgm__op_workspace(&c, bgm__attn_work_floats(&a, 0) * sizeof(float) + 1);
    if (!work) {
        if (probs)
            bgm__op_fail(&cp, BGM_E_NOMEM);
        return nomem(&c, fn);
    }
    bgm__attn_forward(&a, c.out->data, NULL, probs ? cp.out->data : NULL, work);
    bgm__op_workspace_release(&c, work);
    if (probs)
        bgm__op_end(&cp, probs);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_op_attention(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                                    const bgm_tensor *k, const bgm_tensor *v,
                                    const bgm_tensor *mask, int causal, float scale)
{
    bgm__attn_opts o;
    memset(&o, 0, sizeof o);
    o.mask = mask;
    o.causal = causal != 0;
    o.scale = scale;
    return bgm__op_attention(out, tape, q, k, v, &o, "bgm_op_attention");
}
