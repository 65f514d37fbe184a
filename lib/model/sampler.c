/*
 * Sampling a token from logits. Temperature 0 takes the most likely token
 * (the lowest id among equals). Otherwise the candidates are sorted by
 * logit (ties by id, so draws do not depend on the sort), cut to the top_k
 * first, turned into probabilities at the temperature (in double), cut to
 * the shortest prefix whose mass reaches top_p, and one is drawn with the
 * seeded generator: the same seed gives the same tokens everywhere.
 */
#include "model/sampler.h"

#include <math.h>
#include <stdlib.h>

bgm_status bgm__sampler_init(bgm__sampler *s, int64_t vocab, float temperature,
                             int64_t top_k, float top_p, uint64_t seed, const char *fn)
{
    s->temperature = temperature;
    s->top_k = top_k > 0 && top_k < vocab ? top_k : vocab;
    s->top_p = top_p;
    s->vocab = vocab;
    bgm__rng_seed(&s->rng, seed);
    s->scratch = malloc((size_t)vocab * sizeof *s->scratch);
    if (!s->scratch)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for sampling over %lld tokens", fn,
                         (long long)vocab);
    return BGM_OK;
}

void bgm__sampler_free(bgm__sampler *s)
{
    free(s->scratch);
    s->scratch = NULL;
}

static int by_logit(const void *a, const void *b)
{
    const bgm__sampler_pick *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->token < y->token ? -1 : x->token > y->token;
}

/* A uniform double in [0, 1) with 53 random bits. */
static double uniform(bgm_rng *rng)
{
    return (double)(bgm_rng_next_u64(rng) >> 11) * (1.0 / 9007199254740992.0);
}

bgm_status bgm__sampler_next(bgm__sampler *s, const float *logits, int32_t *token,
                             const char *fn)
{
    bgm__sampler_pick *c = s->scratch;
    int64_t n = 0, i, keep;
    double top, sum = 0, mass, u;
    for (i = 0; i < s->vocab; i++) /* NaN and -inf can never be drawn */
        if (logits[i] > -INFINITY) {
            c[n].p = logits[i];
            c[n++].token = (int32_t)i;
        }
    if (n == 0)
        return bgm__fail(BGM_E_STATE, "%s: the model's logits hold no finite value (NaN or "
                         "-inf everywhere): it may have diverged", fn);
    if (s->temperature == 0) {
        keep = 0;
        for (i = 1; i < n; i++)
            if (c[i].p > c[keep].p)
                keep = i;
        *token = c[keep].token;
        return BGM_OK;
    }
    qsort(c, (size_t)n, sizeof *c, by_logit);
    keep = n < s->top_k ? n : s->top_k;
    top = c[0].p;
    if (isinf(top)) { /* +inf: the infinite logits share all the mass */
        for (i = 0; i < keep && c[i].p == top; i++)
            c[i].p = 1;
        keep = i;
    } else {
        for (i = 0; i < keep; i++) {
            c[i].p = exp((c[i].p - top) / s->temperature);
            sum += c[i].p;
        }
        for (i = 0; i < keep; i++)
            c[i].p /= sum;
    }
    if (s->top_p < 1) { /* the shortest prefix holding top_p of the mass */
        mass = 0;
        for (i = 0; i < keep; i++) {
            mass += c[i].p;
            if (mass >= s->top_p)
                break;
        }
        keep = i < keep ? i + 1 : keep;
    }
    mass = 0;
    for (i = 0; i < keep; i++)
        mass += c[i].p;
    u = uniform(&s->rng) * mass;
    for (i = 0; i < keep - 1; i++) {
        u -= c[i].p;
        if (u < 0)
            break;
    }
    *token = c[i].token;
    return BGM_OK;
}
