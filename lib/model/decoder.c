/*
 * Incremental decoding of one sequence (generate.h). The decoder keeps the
 * whole token history and a window [w0, len) of at most the model's
 * context. With the cache, the layers' decode states hold the window's
 * positions and each append runs only the new tokens; without it, each
 * append re-runs the window padded with token 0 to the context (the model
 * is causal, so padding after the last position changes nothing before it).
 * When the window would outgrow the context, it restarts at position 0 on
 * the newest tokens: both paths then run the same window.
 */
#include "model/model_impl.h"

#include "bigmodel/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bgm_decoder {
    bgm_model *m;
    int64_t context, vocab;
    int cached;                /* the layers keep decode states */
    int probabilities;         /* the model outputs probabilities: logits = log */
    int32_t *tokens;           /* the history, len of cap */
    int64_t len, cap;
    int64_t w0;                /* the window's first token */
    int64_t pos;               /* positions in the states (cached) */
    int stale;                 /* a failed append left the states behind: rebuild */
    void **states;             /* one per step of m's plan (cached) */
    bgm__infer_tapes *tapes;
};

static int all_decodable(const bgm_model *m)
{
    int i;
    for (i = 0; i < m->nlayers; i++)
        if (m->layers[i]->ops->decode == BGM__DECODE_NONE)
            return 0;
    return 1;
}

/* Checks that m is a language model: (T) int32 in, (T, vocab) float32 out. */
static bgm_status check_language_model(const bgm_model *m, const char *fn)
{
    char in[BGM__SHAPE_STR_SIZE], out[BGM__SHAPE_STR_SIZE];
    const bgm__shape *x, *y;
    if (m->nlayers == 0)
        return bgm__fail(BGM_E_STATE, "%s: the model has no layers", fn);
    x = &m->inputs[0]->shape;
    y = &m->outputs[0]->shape;
    if (m->ninputs != 1 || x->dtype != BGM_INT32 || x->ndim != 1 || y->ndim != 2 ||
        y->d[0] != x->d[0] || y->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_STATE, "%s: expected a language model: one int32 input of "
                         "token ids (T) and an output of next-token logits (T, vocab); the "
                         "model takes %s%s%s and outputs %s %s", fn,
                         x->dtype == BGM_INT32 ? "int32 " : "float32 ",
                         bgm__batch_shape_str(in, sizeof in, x->d, x->ndim),
                         m->ninputs > 1 ? " and more inputs" : "",
                         y->dtype == BGM_INT32 ? "int32" : "float32",
                         bgm__batch_shape_str(out, sizeof out, y->d, y->ndim));
    return BGM_OK;
}

BGM_API bgm_status bgm_decoder_create(bgm_decoder **out, bgm_model *m, int use_cache)
{
    static const char *fn = "bgm_decoder_create";
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    return bgm__decoder_new(out, m, use_cache, fn);
}

bgm_status bgm__decoder_new(bgm_decoder **out, bgm_model *m, int use_cache, const char *fn)
{
    bgm_decoder *d;
    bgm_status s = check_language_model(m, fn);
    if (s != BGM_OK)
        return s;
    d = calloc(1, sizeof *d);
    if (!d)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    d->m = m;
    d->context = m->inputs[0]->shape.d[0];
    d->vocab = m->outputs[0]->shape.d[1];
    d->cached = use_cache && all_decodable(m);
    d->probabilities = m->out_specs && !m->out_specs[0].from_logits &&
                       (m->out_specs[0].loss == BGM_LOSS_CATEGORICAL_CROSSENTROPY ||
                        m->out_specs[0].loss == BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY);
    d->states = calloc((size_t)m->nsteps, sizeof *d->states);
    d->tapes = bgm__infer_tapes_take(m);
    if (!d->states || !d->tapes) {
        bgm_decoder_free(d);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    *out = d;
    return BGM_OK;
}

BGM_API void bgm_decoder_reset(bgm_decoder *d)
{
    if (!d)
        return;
    bgm__model_free_states(d->m, d->states);
    d->len = d->w0 = d->pos = 0;
    d->stale = 0;
}

BGM_API void bgm_decoder_free(bgm_decoder *d)
{
    if (!d)
        return;
    if (d->states)
        bgm__model_free_states(d->m, d->states);
    free(d->states);
    bgm__infer_tapes_give(d->m, d->tapes);
    free(d->tokens);
    free(d);
}

BGM_API int bgm_decoder_uses_cache(const bgm_decoder *d)
{
    return d ? d->cached : 0;
}

BGM_API int64_t bgm_decoder_length(const bgm_decoder *d)
{
    return d ? d->len : 0;
}

/* Runs tokens[from, to) of the history at position pos of the states (cached)
 * or the window [w0, to) (not cached), and copies the logits after each of
 * tokens[first, to) into rows. */
static bgm_status run_window(bgm_decoder *d, int64_t from, int64_t first, int64_t to,
                             float *rows)
{
    int64_t shape[2] = {1, 0}, i, r0;
    bgm_tensor *x = NULL, *y = NULL;
    const float *logits;
    int32_t *ids;
    bgm_status s;
    if (d->cached) {
        shape[1] = to - from;
        s = bgm_tensor_zeros(&x, BGM_INT32, shape, 2);
        if (s == BGM_OK)
            memcpy(bgm_tensor_data(x), d->tokens + from, (size_t)shape[1] * sizeof *ids);
        r0 = first - from;
    } else {
        shape[1] = d->context;
        s = bgm_tensor_zeros(&x, BGM_INT32, shape, 2);
        if (s == BGM_OK)
            memcpy(bgm_tensor_data(x), d->tokens + d->w0, (size_t)(to - d->w0) * sizeof *ids);
        r0 = first - d->w0;
    }
    if (s == BGM_OK)
        s = bgm__model_decode(d->m, d->tapes, (const bgm_tensor *const *)&x,
                              d->cached ? d->pos : 0, d->cached ? d->states : NULL, &y);
    if (s == BGM_OK) {
        logits = (const float *)bgm_tensor_data(y) + r0 * d->vocab;
        for (i = 0; i < (to - first) * d->vocab; i++)
            rows[i] = d->probabilities ? logf(logits[i]) : logits[i];
        if (d->cached)
            d->pos += to - from;
    }
    bgm_tensor_free(x);
    return s;
}

BGM_API bgm_status bgm_decoder_append(bgm_tensor **logits, bgm_decoder *d,
                                      const int32_t *tokens, int64_t n)
{
    static const char *fn = "bgm_decoder_append";
    int64_t shape[2], i, keep, w0, from;
    bgm_tensor *out = NULL;
    bgm_status s;
    BGM__CHECK_NULL(logits, fn);
    *logits = NULL;
    BGM__CHECK_NULL(d, fn);
    BGM__CHECK_NULL(tokens, fn);
    if (n < 1)
        return bgm__fail(BGM_E_INVALID, "%s: n = %lld, expected at least 1 token", fn,
                         (long long)n);
    if (n > d->context)
        return bgm__fail(BGM_E_SHAPE, "%s: %lld tokens do not fit the model's context of "
                         "%lld", fn, (long long)n, (long long)d->context);
    for (i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= d->vocab)
            return bgm__fail(BGM_E_RANGE, "%s: tokens[%lld] = %d is outside the vocabulary "
                             "[0, %lld)", fn, (long long)i, (int)tokens[i],
                             (long long)d->vocab);
    if (d->len + n > d->cap) {
        int64_t cap = d->cap ? 2 * d->cap : 256;
        int32_t *grown;
        while (cap < d->len + n)
            cap *= 2;
        grown = realloc(d->tokens, (size_t)cap * sizeof *grown);
        if (!grown)
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld tokens", fn,
                             (long long)cap);
        d->tokens = grown;
        d->cap = cap;
    }
    shape[0] = n;
    shape[1] = d->vocab;
    s = bgm_tensor_zeros(&out, BGM_FLOAT32, shape, 2);
    if (s != BGM_OK)
        return s;
    memcpy(d->tokens + d->len, tokens, (size_t)n * sizeof *tokens);
    w0 = d->w0;
    if (d->len + n - w0 > d->context) { /* restart the window on the newest tokens */
        keep = d->context - d->context / 4;
        w0 = d->len + n - (keep > n ? keep : n);
    }
    from = d->len;
    if (d->cached && (w0 != d->w0 || d->stale)) { /* run the window from position 0 */
        bgm__model_free_states(d->m, d->states);
        d->pos = 0;
        d->stale = 0;
        from = w0;
    }
    d->w0 = w0;
    s = run_window(d, from, d->len, d->len + n, (float *)bgm_tensor_data(out));
    if (s != BGM_OK) {
        /* Some layers may have cached the new positions: rebuild next time. */
        d->stale = d->cached;
        bgm_tensor_free(out);
        return s;
    }
    d->len += n;
    *logits = out;
    return BGM_OK;
}
