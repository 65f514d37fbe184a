/*
 * Scaled dot-product attention over heads laid out as a projection leaves
 * them: q (N, T, H, dk), k (N, S, H, dk), v (N, S, H, dv), out (N, T, H, dv).
 * One (batch, head) block at a time, in tiles of query rows, so the T x S
 * scores of one tile are all that exist at once; blocks run on the pool.
 *
 * Masks: a key s is seen by query t when every given mask allows it:
 * mask[n, t, s] != 0, query_mask[n, t] != 0, key_mask[n, s] != 0 and, when
 * causal, s <= t + offset. A query that sees no key gets zero probabilities,
 * a zero output and zero gradients.
 */
#ifndef BGM_KERNELS_ATTENTION_H
#define BGM_KERNELS_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

typedef struct bgm__attn {
    int64_t n, t, s, h, dk, dv;
    const float *q, *k, *v;
    int64_t k_batch, v_batch;  /* floats from one sequence's keys (values) to the
                                  next: s * h * dk (dv), more for a cache */
    const float *mask;         /* (n, t, s) or NULL */
    const float *query_mask;   /* (n, t) or NULL */
    const float *key_mask;     /* n rows key_mask_batch apart, or NULL */
    int64_t key_mask_batch;
    int causal;
    int64_t offset;
    float scale;
    int slots;                 /* workspaces (threads) the calls use: set by
                                  bgm__attn_work_floats; 0 before */
} bgm__attn;

/* Floats of workspace the calls below need (all threads together); fixes
 * a->slots, so a backward run later with a copy of a fits the same
 * workspace whatever the thread count has become. */
size_t bgm__attn_work_floats(bgm__attn *a, int backward);

/*
 * out = softmax(scale q k^T, masked) v. lse (n, h, t) receives each row's
 * log-sum-exp (+inf for a row that sees nothing) when not NULL; probs
 * (n, h, t, s) the probabilities when not NULL, and out may then be NULL.
 */
void bgm__attn_forward(const bgm__attn *a, float *out, float *lse, float *probs,
                       float *work);

/*
 * Backward of bgm__attn_forward from its out and lse, recomputing the
 * probabilities tile by tile: gq, gk, gv (each NULL when not wanted) +=.
 */
void bgm__attn_backward(const bgm__attn *a, const float *out, const float *gout,
                        const float *lse, float *gq, float *gk, float *gv, float *work);

/* Backward of the probabilities (n, h, t, s) alone: gq, gk += from gprobs. */
void bgm__attn_probs_backward(const bgm__attn *a, const float *probs, const float *gprobs,
                              float *gq, float *gk, float *work);

/* out (n, t, h, dv) = probs (n, h, t, s) times v (a->v, a->v_batch). */
void bgm__attn_apply(const bgm__attn *a, const float *probs, float *out);

/* Backward of bgm__attn_apply: gprobs, gv (NULL when not wanted) +=. */
void bgm__attn_apply_backward(const bgm__attn *a, const float *probs, const float *gout,
                              float *gprobs, float *gv);

#endif
