/*
 * Internal attention operations (MultiHeadAttention uses them; the public
 * bgm_op_attention is the fused one with an (N, T, S) mask only). Layouts:
 * q (N, T, H, dk), k (N, S, H, dk), v (N, S, H, dv), out (N, T, H, dv),
 * probabilities (N, H, T, S); see kernels/attention.h for the masks.
 */
#ifndef BGM_AUTOGRAD_ATTENTION_H
#define BGM_AUTOGRAD_ATTENTION_H

#include "kernels/attention.h"
#include "tape.h"

typedef struct bgm__attn_opts {
    const bgm_tensor *mask;    /* (N, T, S) float32, nonzero attends, or NULL: an
                                  input of the op, borrowed as inputs are */
    const float *query_mask;   /* (N, T) or NULL; copied when recorded */
    const float *key_mask;     /* (N, S) or NULL; copied when recorded */
    int causal;                /* query t sees keys s <= t + offset */
    int64_t offset;
    float scale;
} bgm__attn_opts;

/* Fused softmax(scale q k^T, masked) v. Records the log-sum-exp of each row
 * (N * H * T floats) and recomputes the probabilities in backward. */
bgm_status bgm__op_attention(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                             const bgm_tensor *k, const bgm_tensor *v,
                             const bgm__attn_opts *o, const char *fn);

/* The probabilities (N, H, T, S) alone, differentiable in q and k. */
bgm_status bgm__op_attention_probs(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *q,
                                   const bgm_tensor *k, const bgm__attn_opts *o,
                                   const char *fn);

/* probs (N, H, T, S) times v (N, S, H, dv): (N, T, H, dv), differentiable in both. */
bgm_status bgm__op_attention_apply(bgm_tensor **out, bgm_tape *tape,
                                   const bgm_tensor *probs, const bgm_tensor *v,
                                   const char *fn);

/*
 * Inference only (fails when a gradient would be recorded): out (N, T, H,
 * dv) for q against keys and values that a holds as raw pointers (a K/V
 * cache, batches k_batch / v_batch floats apart); a's q is taken from q. When
 * probs is not NULL it receives a new (N, H, T, S) tensor on tape too.
 */
bgm_status bgm__op_attention_cached(bgm_tensor **out, bgm_tensor **probs, bgm_tape *tape,
                                    const bgm_tensor *q, const bgm__attn *a,
                                    const char *fn);

#endif
