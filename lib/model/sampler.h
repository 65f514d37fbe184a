/* Picking the next token from a row of logits: greedy, temperature, top-k, top-p. */
#ifndef BGM_MODEL_SAMPLER_H
#define BGM_MODEL_SAMPLER_H

#include "core/rng.h"
#include "core/error.h"

typedef struct bgm__sampler_pick {
    double p;                  /* the candidate's logit, then its probability */
    int32_t token;
} bgm__sampler_pick;

typedef struct bgm__sampler {
    float temperature;         /* 0: greedy */
    int64_t top_k;             /* 0: every token */
    float top_p;               /* 1: every token */
    bgm_rng rng;
    int64_t vocab;
    bgm__sampler_pick *scratch; /* vocab entries */
} bgm__sampler;

/* Sets up s for rows of vocab logits (the options checked by the caller).
 * Errors: BGM_E_NOMEM, naming fn. */
bgm_status bgm__sampler_init(bgm__sampler *s, int64_t vocab, float temperature,
                             int64_t top_k, float top_p, uint64_t seed, const char *fn);

void bgm__sampler_free(bgm__sampler *s);

/* The next token after logits[0..vocab); NaN counts as -inf. Errors:
 * BGM_E_STATE when no logit is finite or +inf (a model that diverged). */
bgm_status bgm__sampler_next(bgm__sampler *s, const float *logits, int32_t *token,
                             const char *fn);

#endif
