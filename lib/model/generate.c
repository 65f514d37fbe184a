/* bgm_model_generate: a decoder, a sampler and the stopping rules. */
#include "model/model_impl.h"
#include "model/sampler.h"

#include "bigmodel/generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

BGM_API bgm_status bgm_generate_options_init(bgm_generate_options *opts, size_t size)
{
    if (!opts || size < sizeof(size_t))
        return bgm__fail(BGM_E_INVALID, "bgm_generate_options_init: %s",
                         opts ? "size is smaller than the size field" : "opts is NULL");
    memset(opts, 0, size);
    opts->size = size;
#define SET(field, value)                                                                \
    if (size >= offsetof(bgm_generate_options, field) + sizeof opts->field)              \
    opts->field = value
    SET(max_new_tokens, 64);
    SET(temperature, 1.0f);
    SET(top_p, 1.0f);
    SET(use_cache, 1);
#undef SET
    return BGM_OK;
}

static bgm_status check_options(const bgm_generate_options *o, const char *fn)
{
    if (o->max_new_tokens < 0)
        return bgm__fail(BGM_E_INVALID, "%s: max_new_tokens = %lld, expected >= 0", fn,
                         (long long)o->max_new_tokens);
    if (!(o->temperature >= 0) || isinf(o->temperature))
        return bgm__fail(BGM_E_INVALID, "%s: temperature = %g, expected a finite value >= 0 "
                         "(0: greedy)", fn, (double)o->temperature);
    if (o->top_k < 0)
        return bgm__fail(BGM_E_INVALID, "%s: top_k = %lld, expected >= 0 (0: every token)",
                         fn, (long long)o->top_k);
    if (!(o->top_p > 0 && o->top_p <= 1))
        return bgm__fail(BGM_E_INVALID, "%s: top_p = %g, expected a value in (0, 1]", fn,
                         (double)o->top_p);
    if (o->num_stop_tokens < 0 || (o->num_stop_tokens > 0 && !o->stop_tokens))
        return bgm__fail(BGM_E_INVALID, "%s: num_stop_tokens = %d with stop_tokens %s", fn,
                         o->num_stop_tokens, o->stop_tokens ? "set" : "NULL");
    return BGM_OK;
}

static int is_stop(const bgm_generate_options *o, int32_t token)
{
    int i;
    for (i = 0; i < o->num_stop_tokens; i++)
        if (o->stop_tokens[i] == token)
            return 1;
    return 0;
}

/* The loop: logits holds the row after the last token; tokens[0..*count). */
static bgm_status generate(bgm_decoder *d, bgm__sampler *sampler,
                           const bgm_generate_options *o, const float *row, int32_t *tokens,
                           int64_t *count, const char *fn)
{
    bgm_tensor *logits = NULL;
    bgm_status s = BGM_OK;
    int64_t i;
    for (i = 0; i < o->max_new_tokens; i++) {
        s = bgm__sampler_next(sampler, row, &tokens[i], fn);
        if (s != BGM_OK)
            break;
        *count = i + 1;
        if (o->on_token && o->on_token(tokens[i], i, o->user_data) != 0)
            break;
        if (is_stop(o, tokens[i]) || i + 1 == o->max_new_tokens)
            break;
        bgm_tensor_free(logits);
        s = bgm_decoder_append(&logits, d, &tokens[i], 1);
        if (s != BGM_OK)
            break;
        row = bgm_tensor_data(logits);
    }
    bgm_tensor_free(logits);
    return s;
}

BGM_API bgm_status bgm_model_generate(bgm_tensor **out, bgm_model *m, const int32_t *prompt,
                                      int64_t prompt_len, const bgm_generate_options *opts)
{
    static const char *fn = "bgm_model_generate";
    bgm_generate_options o;
    bgm_decoder *d = NULL;
    bgm_tensor *logits = NULL;
    bgm__sampler sampler = {0};
    int32_t *tokens = NULL;
    int64_t count = 0, vocab, i;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(prompt, fn);
    bgm_generate_options_init(&o, sizeof o);
    if (opts)
        memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    o.size = sizeof o;
    if (prompt_len < 1)
        return bgm__fail(BGM_E_INVALID, "%s: the prompt is empty (prompt_len = %lld); "
                         "generation needs at least one token", fn, (long long)prompt_len);
    s = check_options(&o, fn);
    if (s == BGM_OK)
        s = bgm__decoder_new(&d, m, o.use_cache, fn);
    if (s != BGM_OK)
        return s;
    vocab = m->outputs[0]->shape.d[1];
    for (i = 0; s == BGM_OK && i < prompt_len; i++)
        if (prompt[i] < 0 || prompt[i] >= vocab)
            s = bgm__fail(BGM_E_RANGE, "%s: prompt[%lld] = %d is outside the vocabulary "
                          "[0, %lld)", fn, (long long)i, (int)prompt[i], (long long)vocab);
    for (i = 0; s == BGM_OK && i < o.num_stop_tokens; i++)
        if (o.stop_tokens[i] < 0 || o.stop_tokens[i] >= vocab)
            s = bgm__fail(BGM_E_RANGE, "%s: stop_tokens[%lld] = %d is outside the vocabulary "
                          "[0, %lld)", fn, (long long)i, (int)o.stop_tokens[i],
                          (long long)vocab);
    if (s == BGM_OK && prompt_len > m->inputs[0]->shape.d[0])
        s = bgm__fail(BGM_E_SHAPE, "%s: the prompt holds %lld tokens, more than the model's "
                      "context of %lld", fn, (long long)prompt_len,
                      (long long)m->inputs[0]->shape.d[0]);
    if (s == BGM_OK)
        s = bgm__sampler_init(&sampler, vocab, o.temperature, o.top_k, o.top_p, o.seed, fn);
    if (s == BGM_OK && !(tokens = malloc((size_t)(o.max_new_tokens + 1) * sizeof *tokens)))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld tokens", fn,
                      (long long)o.max_new_tokens);
    if (s == BGM_OK)
        s = bgm_decoder_append(&logits, d, prompt, prompt_len);
    if (s == BGM_OK)
        s = generate(d, &sampler, &o,
                     (const float *)bgm_tensor_data(logits) + (prompt_len - 1) * vocab, tokens,
                     &count, fn);
    if (s == BGM_OK)
        s = bgm_tensor_from_data(out, BGM_INT32, &count, 1, tokens);
    bgm_tensor_free(logits);
    bgm__sampler_free(&sampler);
    bgm_decoder_free(d);
    free(tokens);
    return s;
}
