/* Generation (generate.h): the decoder's logits against predict, the cache
 * against re-running the window, the window past the context, sampling
 * (greedy, temperature, top-k, top-p) against hand-computed distributions,
 * stop tokens, streaming, save/load, and bad calls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define VOCAB 6
#define CONTEXT 8

/* Embedding -> Dense(vocab) [-> softmax]: a bigram language model whose
 * every layer decodes position by position. */
static bgm_model *bigram(int softmax)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){CONTEXT}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(VOCAB, 5)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(16, BGM_ACT_TANH)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(VOCAB, softmax ? BGM_ACT_SOFTMAX
                                                                  : BGM_ACT_LINEAR)));
    return m;
}

/* Scales every weight of m by k: logits k times further apart (roughly). */
static void sharpen(bgm_model *m, float k)
{
    int64_t n = bgm_model_num_params(m), i;
    float *w = malloc((size_t)n * sizeof *w);
    ck_assert_ptr_nonnull(w);
    BGM_ASSERT_OK(bgm_model_get_weights(m, w, n));
    for (i = 0; i < n; i++)
        w[i] *= k;
    BGM_ASSERT_OK(bgm_model_set_weights(m, w, n));
    free(w);
}

/* The same with an LSTM: each token re-runs the window. */
static bgm_model *recurrent(void)
{
    bgm_model *m = NULL;
    bgm_layer *lstm = bgm_layer_lstm(8);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(lstm, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){CONTEXT}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(VOCAB, 4)));
    BGM_ASSERT_OK(bgm_model_add(m, lstm));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(VOCAB, BGM_ACT_LINEAR)));
    return m;
}

/* predict's logits (CONTEXT, VOCAB) for ids padded with 0 to the context. */
static bgm_tensor *predict_window(bgm_model *m, const int32_t *ids, int64_t n)
{
    int32_t window[CONTEXT] = {0};
    bgm_tensor *x = NULL, *y = NULL;
    memcpy(window, ids, (size_t)n * sizeof *ids);
    BGM_ASSERT_OK(bgm_tensor_from_data(&x, BGM_INT32, (int64_t[]){1, CONTEXT}, 2, window));
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 1));
    bgm_tensor_free(x);
    return y;
}

static void assert_rows_close(const float *a, const float *b, int64_t n, double rel)
{
    int64_t i;
    for (i = 0; i < n; i++)
        ck_assert_msg(fabs(a[i] - b[i]) <= rel * (fabs(b[i]) + 1e-6),
                      "element %lld: %.8g vs %.8g", (long long)i, a[i], b[i]);
}

static const int32_t sentence[] = {1, 4, 2, 2, 5, 0, 3, 1, 4, 4, 2, 5, 1, 3, 0, 2, 2, 4, 1,
                                   5, 3, 3, 0, 1};
#define SENTENCE_LEN ((int64_t)(sizeof sentence / sizeof sentence[0]))

START_TEST(decoder_logits_match_predict_on_the_prefix)
{
    bgm_model *m = bigram(0);
    int cache;
    for (cache = 0; cache <= 1; cache++) {
        bgm_decoder *d = NULL;
        bgm_tensor *y = NULL, *ref;
        int64_t t;
        BGM_ASSERT_OK(bgm_decoder_create(&d, m, cache));
        ck_assert_int_eq(bgm_decoder_uses_cache(d), cache);
        /* a prompt of 3, then one token at a time up to the context */
        BGM_ASSERT_OK(bgm_decoder_append(&y, d, sentence, 3));
        ck_assert_int_eq(bgm_tensor_dim(y, 0), 3);
        ref = predict_window(m, sentence, CONTEXT);
        assert_rows_close(bgm_tensor_data(y), bgm_tensor_data(ref), 3 * VOCAB, 1e-6);
        bgm_tensor_free(y);
        for (t = 3; t < CONTEXT; t++) {
            BGM_ASSERT_OK(bgm_decoder_append(&y, d, &sentence[t], 1));
            assert_rows_close(bgm_tensor_data(y), (const float *)bgm_tensor_data(ref) + t * VOCAB,
                              VOCAB, 1e-6);
            bgm_tensor_free(y);
        }
        ck_assert_int_eq(bgm_decoder_length(d), CONTEXT);
        bgm_tensor_free(ref);
        bgm_decoder_free(d);
    }
    bgm_model_free(m);
}
END_TEST

/* Past the context the window restarts on the newest 3/4 of it; a model
 * that cannot cache re-runs the same window, so both paths agree, and each
 * row equals predict on that window. */
START_TEST(window_past_the_context_restarts_on_the_newest_tokens)
{
    bgm_model *m = recurrent();
    bgm_decoder *cached = NULL, *plain = NULL;
    bgm_tensor *y = NULL, *ref;
    int64_t t, w0 = 0;
    BGM_ASSERT_OK(bgm_decoder_create(&cached, m, 1));
    ck_assert_int_eq(bgm_decoder_uses_cache(cached), 0); /* the LSTM cannot */
    BGM_ASSERT_OK(bgm_decoder_create(&plain, m, 0));
    for (t = 0; t < SENTENCE_LEN; t++) {
        bgm_tensor *z = NULL;
        BGM_ASSERT_OK(bgm_decoder_append(&y, cached, &sentence[t], 1));
        BGM_ASSERT_OK(bgm_decoder_append(&z, plain, &sentence[t], 1));
        if (t + 1 - w0 > CONTEXT)
            w0 = t + 1 - (CONTEXT - CONTEXT / 4);
        ref = predict_window(m, sentence + w0, t + 1 - w0);
        assert_rows_close(bgm_tensor_data(y),
                          (const float *)bgm_tensor_data(ref) + (t - w0) * VOCAB, VOCAB, 1e-6);
        assert_rows_close(bgm_tensor_data(z), bgm_tensor_data(y), VOCAB, 0);
        bgm_tensor_free(ref);
        bgm_tensor_free(y);
        bgm_tensor_free(z);
    }
    bgm_decoder_free(cached);
    bgm_decoder_free(plain);
    bgm_model_free(m);
}
END_TEST

START_TEST(cached_and_uncached_decoding_agree_past_the_context)
{
    bgm_model *m = bigram(0);
    bgm_decoder *cached = NULL, *plain = NULL;
    bgm_tensor *y = NULL, *z = NULL;
    int64_t t;
    BGM_ASSERT_OK(bgm_decoder_create(&cached, m, 1));
    BGM_ASSERT_OK(bgm_decoder_create(&plain, m, 0));
    ck_assert_int_eq(bgm_decoder_uses_cache(cached), 1);
    ck_assert_int_eq(bgm_decoder_uses_cache(plain), 0);
    BGM_ASSERT_OK(bgm_decoder_append(&y, cached, sentence, 5));
    BGM_ASSERT_OK(bgm_decoder_append(&z, plain, sentence, 5));
    assert_rows_close(bgm_tensor_data(y), bgm_tensor_data(z), 5 * VOCAB, 1e-6);
    for (t = 5; t < SENTENCE_LEN; t++) {
        bgm_tensor_free(y);
        bgm_tensor_free(z);
        BGM_ASSERT_OK(bgm_decoder_append(&y, cached, &sentence[t], 1));
        BGM_ASSERT_OK(bgm_decoder_append(&z, plain, &sentence[t], 1));
        assert_rows_close(bgm_tensor_data(y), bgm_tensor_data(z), VOCAB, 1e-6);
    }
    bgm_tensor_free(y);
    bgm_tensor_free(z);
    ck_assert_int_eq(bgm_decoder_length(cached), SENTENCE_LEN);
    bgm_decoder_reset(cached);
    ck_assert_int_eq(bgm_decoder_length(cached), 0);
    bgm_decoder_free(cached);
    bgm_decoder_free(plain);
    bgm_model_free(m);
}
END_TEST

/* A softmax output compiled with from_logits 0 gives log-probabilities. */
START_TEST(probability_outputs_are_read_as_log_probabilities)
{
    bgm_model *m = bigram(1);
    bgm_optimizer *o = NULL;
    bgm_decoder *d = NULL;
    bgm_tensor *y = NULL, *ref;
    int64_t i;
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_decoder_create(&d, m, 1));
    BGM_ASSERT_OK(bgm_decoder_append(&y, d, sentence, 4));
    ref = predict_window(m, sentence, 4);
    for (i = 0; i < 4 * VOCAB; i++)
        ck_assert_double_eq_tol(((float *)bgm_tensor_data(y))[i],
                                log(((float *)bgm_tensor_data(ref))[i]), 1e-5);
    bgm_tensor_free(ref);
    bgm_tensor_free(y);
    bgm_decoder_free(d);
    bgm_model_free(m);
}
END_TEST

static bgm_tensor *generate(bgm_model *m, const int32_t *prompt, int64_t n,
                            const bgm_generate_options *go)
{
    bgm_tensor *out = NULL;
    BGM_ASSERT_OK(bgm_model_generate(&out, m, prompt, n, go));
    return out;
}

static int64_t argmax_of(const float *row, int64_t n)
{
    int64_t i, best = 0;
    for (i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

static int64_t argmax(const float *row)
{
    int64_t i, best = 0;
    for (i = 1; i < VOCAB; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

START_TEST(greedy_generation_follows_the_most_likely_token)
{
    bgm_model *m = bigram(0);
    bgm_generate_options go;
    bgm_decoder *d = NULL;
    bgm_tensor *out, *y = NULL;
    const int32_t *tok;
    int64_t i;
    bgm_generate_options_init(&go, sizeof go);
    go.temperature = 0;
    go.max_new_tokens = 20; /* past the context */
    out = generate(m, sentence, 2, &go);
    ck_assert_int_eq(bgm_tensor_numel(out), 20);
    tok = bgm_tensor_data(out);
    BGM_ASSERT_OK(bgm_decoder_create(&d, m, 0));
    BGM_ASSERT_OK(bgm_decoder_append(&y, d, sentence, 2));
    ck_assert_int_eq(tok[0], argmax((const float *)bgm_tensor_data(y) + VOCAB));
    for (i = 1; i < 20; i++) {
        bgm_tensor_free(y);
        BGM_ASSERT_OK(bgm_decoder_append(&y, d, &tok[i - 1], 1));
        ck_assert_int_eq(tok[i], argmax(bgm_tensor_data(y)));
    }
    bgm_tensor_free(y);
    bgm_decoder_free(d);
    bgm_tensor_free(out);
    bgm_model_free(m);
}
END_TEST

/* Draws of the first token against the distribution computed by hand from
 * the prompt's logits: temperature, then top-k, then top-p. */
static void first_token_frequencies(bgm_model *m, float temperature, int64_t top_k,
                                    float top_p, double *freq, int draws)
{
    bgm_generate_options go;
    int i;
    bgm_generate_options_init(&go, sizeof go);
    go.max_new_tokens = 1;
    go.temperature = temperature;
    go.top_k = top_k;
    go.top_p = top_p;
    memset(freq, 0, VOCAB * sizeof *freq);
    for (i = 0; i < draws; i++) {
        bgm_tensor *out;
        go.seed = (uint64_t)i * 7919u + 1;
        out = generate(m, sentence, 1, &go);
        freq[((int32_t *)bgm_tensor_data(out))[0]] += 1.0 / draws;
        bgm_tensor_free(out);
    }
}

static void expected_distribution(const float *logits, float temperature, int64_t top_k,
                                  float top_p, double *p)
{
    int order[VOCAB], i, j, kept;
    double sum = 0, mass = 0;
    for (i = 0; i < VOCAB; i++)
        order[i] = i;
    for (i = 0; i < VOCAB; i++) /* by logit, descending */
        for (j = i + 1; j < VOCAB; j++)
            if (logits[order[j]] > logits[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    kept = top_k > 0 && top_k < VOCAB ? (int)top_k : VOCAB;
    memset(p, 0, VOCAB * sizeof *p);
    for (i = 0; i < kept; i++)
        sum += p[order[i]] = exp((logits[order[i]] - logits[order[0]]) / temperature);
    for (i = 0; i < kept; i++)
        p[order[i]] /= sum;
    for (i = 0; i < kept && mass < top_p; i++)
        mass += p[order[i]];
    for (j = i; j < kept; j++)
        p[order[j]] = 0;
    for (j = 0; j < i; j++)
        p[order[j]] /= mass;
}

START_TEST(sampling_draws_follow_temperature_top_k_and_top_p)
{
    static const struct {
        float temperature;
        int64_t top_k;
        float top_p;
    } cases[] = {{1.0f, 0, 1.0f}, {2.5f, 0, 1.0f}, {0.5f, 0, 1.0f},
                 {1.0f, 2, 1.0f}, {1.0f, 0, 0.6f}, {1.5f, 4, 0.8f}};
    bgm_model *m = bigram(0);
    bgm_decoder *d = NULL;
    bgm_tensor *y = NULL;
    double freq[VOCAB], p[VOCAB];
    size_t c;
    int i, draws = 4000;
    sharpen(m, 4); /* logits about 1 apart: each option moves the distribution */
    BGM_ASSERT_OK(bgm_decoder_create(&d, m, 1));
    BGM_ASSERT_OK(bgm_decoder_append(&y, d, sentence, 1));
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        first_token_frequencies(m, cases[c].temperature, cases[c].top_k, cases[c].top_p, freq,
                                draws);
        expected_distribution(bgm_tensor_data(y), cases[c].temperature, cases[c].top_k,
                              cases[c].top_p, p);
        for (i = 0; i < VOCAB; i++) {
            /* 4.5 standard deviations of a frequency over 4000 draws */
            double sd = sqrt(p[i] * (1 - p[i]) / draws);
            ck_assert_msg(fabs(freq[i] - p[i]) <= 4.5 * sd + 1e-9,
                          "case %zu, token %d: drawn %.4f, expected %.4f", c, i, freq[i], p[i]);
        }
    }
    bgm_tensor_free(y);
    bgm_decoder_free(d);
    bgm_model_free(m);
}
END_TEST

START_TEST(same_seed_same_tokens_and_a_saved_model_generates_the_same_text)
{
    bgm_model *m = bigram(0), *back = NULL;
    bgm_generate_options go;
    bgm_tensor *a, *b, *c;
    char path[512];
    bgm_generate_options_init(&go, sizeof go);
    go.seed = 1234;
    go.max_new_tokens = 40;
    go.top_k = 5;
    go.top_p = 0.95f;
    a = generate(m, sentence, 3, &go);
    b = generate(m, sentence, 3, &go);
    ck_assert_mem_eq(bgm_tensor_data(a), bgm_tensor_data(b), 40 * sizeof(int32_t));
    bgm_test_tmpdir_create("generate");
    snprintf(path, sizeof path, "%s/lm.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    c = generate(back, sentence, 3, &go);
    ck_assert_mem_eq(bgm_tensor_data(a), bgm_tensor_data(c), 40 * sizeof(int32_t));
    go.use_cache = 0; /* the re-run window draws the same tokens */
    bgm_tensor_free(c);
    c = generate(back, sentence, 3, &go);
    ck_assert_mem_eq(bgm_tensor_data(a), bgm_tensor_data(c), 40 * sizeof(int32_t));
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

typedef struct seen {
    int32_t tokens[64];
    int64_t n;
    int64_t cancel_after;      /* stop after this many, or -1 */
} seen;

static int on_token(int32_t token, int64_t index, void *user)
{
    seen *s = user;
    ck_assert_int_eq(index, s->n);
    s->tokens[s->n++] = token;
    return s->n == s->cancel_after;
}

START_TEST(stop_tokens_and_the_callback_end_generation)
{
    bgm_model *m = bigram(0);
    bgm_generate_options go;
    bgm_tensor *all, *out;
    const int32_t *tok;
    seen s = {{0}, 0, -1};
    int32_t stop;
    int64_t i, first = -1;
    bgm_generate_options_init(&go, sizeof go);
    go.seed = 99;
    go.max_new_tokens = 30;
    go.on_token = on_token;
    go.user_data = &s;
    all = generate(m, sentence, 2, &go); /* streamed: every token, in order */
    ck_assert_int_eq(bgm_tensor_numel(all), 30);
    ck_assert_int_eq(s.n, 30);
    tok = bgm_tensor_data(all);
    ck_assert_mem_eq(s.tokens, tok, 30 * sizeof *tok);
    /* a stop token: generation ends with its first occurrence */
    stop = tok[7];
    for (i = 0; i < 30 && first < 0; i++)
        if (tok[i] == stop)
            first = i;
    go.stop_tokens = &stop;
    go.num_stop_tokens = 1;
    go.on_token = NULL;
    out = generate(m, sentence, 2, &go);
    ck_assert_int_eq(bgm_tensor_numel(out), first + 1);
    ck_assert_mem_eq(bgm_tensor_data(out), tok, (size_t)(first + 1) * sizeof *tok);
    bgm_tensor_free(out);
    /* the callback cancels after 5 tokens: those 5 come back */
    go.stop_tokens = NULL;
    go.num_stop_tokens = 0;
    go.on_token = on_token;
    s.n = 0;
    s.cancel_after = 5;
    out = generate(m, sentence, 2, &go);
    ck_assert_int_eq(bgm_tensor_numel(out), 5);
    ck_assert_mem_eq(bgm_tensor_data(out), tok, 5 * sizeof *tok);
    bgm_tensor_free(out);
    go.on_token = NULL;
    go.max_new_tokens = 0;
    out = generate(m, sentence, 2, &go);
    ck_assert_int_eq(bgm_tensor_numel(out), 0);
    bgm_tensor_free(out);
    bgm_tensor_free(all);
    bgm_model_free(m);
}
END_TEST

START_TEST(bad_calls_fail_with_clear_messages)
{
    bgm_model *m = bigram(0), *image = NULL;
    bgm_generate_options go;
    bgm_decoder *d = NULL;
    bgm_tensor *out = NULL;
    int32_t bad[CONTEXT + 1] = {0}, stop = VOCAB;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 0, NULL), BGM_E_INVALID,
                     "prompt is empty");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, NULL, 3, NULL), BGM_E_INVALID, "prompt");
    BGM_ASSERT_FAILS(bgm_model_generate(NULL, m, sentence, 3, NULL), BGM_E_INVALID, "out");
    bad[1] = VOCAB;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, bad, 2, NULL), BGM_E_RANGE,
                     "prompt[1] = 6 is outside the vocabulary [0, 6)");
    bad[1] = -1;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, bad, 2, NULL), BGM_E_RANGE, "prompt[1] = -1");
    bad[1] = 0;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, bad, CONTEXT + 1, NULL), BGM_E_SHAPE,
                     "the prompt holds 9 tokens, more than the model's context of 8");
    bgm_generate_options_init(&go, sizeof go);
    go.top_p = 0;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID,
                     "top_p = 0, expected a value in (0, 1]");
    go.top_p = 1.5f;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID, "top_p");
    go.top_p = 1;
    go.temperature = -0.5f;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID,
                     "temperature = -0.5");
    go.temperature = NAN;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID,
                     "temperature");
    go.temperature = 1;
    go.top_k = -2;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID, "top_k");
    go.top_k = 0;
    go.max_new_tokens = -1;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID,
                     "max_new_tokens");
    go.max_new_tokens = 4;
    go.num_stop_tokens = 1;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_INVALID,
                     "stop_tokens NULL");
    go.stop_tokens = &stop;
    BGM_ASSERT_FAILS(bgm_model_generate(&out, m, sentence, 2, &go), BGM_E_RANGE,
                     "stop_tokens[0] = 6");
    ck_assert_int_eq(bgm_generate_options_init(NULL, sizeof go), BGM_E_INVALID);
    /* not a language model */
    BGM_ASSERT_OK(bgm_model_create(&image, (int64_t[]){4, 4, 1}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(image, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(image, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_generate(&out, image, sentence, 2, NULL), BGM_E_STATE,
                     "expected a language model");
    BGM_ASSERT_FAILS(bgm_decoder_create(&d, image, 1), BGM_E_STATE, "(None, 4, 4, 1)");
    ck_assert_ptr_null(d);
    /* the decoder's own checks */
    BGM_ASSERT_OK(bgm_decoder_create(&d, m, 1));
    BGM_ASSERT_FAILS(bgm_decoder_append(&out, d, sentence, 0), BGM_E_INVALID, "n = 0");
    BGM_ASSERT_FAILS(bgm_decoder_append(&out, d, bad, CONTEXT + 1), BGM_E_SHAPE,
                     "9 tokens do not fit the model's context of 8");
    bad[2] = 17;
    BGM_ASSERT_FAILS(bgm_decoder_append(&out, d, bad, 3), BGM_E_RANGE, "tokens[2] = 17");
    ck_assert_int_eq(bgm_decoder_length(d), 0);
    BGM_ASSERT_FAILS(bgm_decoder_create(NULL, m, 1), BGM_E_INVALID, "out");
    bgm_decoder_free(d);
    bgm_decoder_free(NULL);
    bgm_decoder_reset(NULL);
    ck_assert_int_eq(bgm_decoder_length(NULL), 0);
    bgm_model_free(image);
    bgm_model_free(m);
}
END_TEST

/* ---- a GPT: pre-LN blocks of causal attention and GELU feed-forward ---- */

#define GPT_VOCAB 13
#define GPT_CONTEXT 128

static bgm_node *call1(bgm_layer *l, bgm_node *x)
{
    return bgm_test_call(l, &x, 1);
}

static bgm_node *add2(bgm_node *a, bgm_node *b)
{
    return bgm_test_call(bgm_layer_add(), (bgm_node *[]){a, b}, 2);
}

static bgm_model *small_gpt(void)
{
    bgm_graph *g = NULL;
    bgm_node *ids, *x, *h;
    bgm_model *m = NULL;
    int b;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){GPT_CONTEXT}, 1, BGM_INT32, "ids"));
    x = call1(bgm_layer_embedding(GPT_VOCAB, 16), ids);
    x = add2(x, call1(bgm_layer_position_embedding(GPT_CONTEXT), x));
    for (b = 0; b < 2; b++) {
        bgm_layer *mha = bgm_layer_multi_head_attention(2, 8);
        BGM_ASSERT_OK(bgm_layer_set_use_causal_mask(mha, 1));
        h = call1(bgm_layer_layer_norm(), x);
        x = add2(x, bgm_test_call(mha, (bgm_node *[]){h, h}, 2));
        h = call1(bgm_layer_dense(64, BGM_ACT_GELU), call1(bgm_layer_layer_norm(), x));
        x = add2(x, call1(bgm_layer_dense(16, BGM_ACT_LINEAR), h));
    }
    x = call1(bgm_layer_dense(GPT_VOCAB, BGM_ACT_LINEAR), call1(bgm_layer_layer_norm(), x));
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &ids, 1, &x, 1, 21));
    bgm_graph_free(g);
    sharpen(m, 3); /* logits of some spread: greedy and sampled paths differ */
    return m;
}

/* 100 steps after an 8-token prompt: the key/value cache gives the logits of
 * re-running the whole prefix, to 1e-5 relative. */
START_TEST(a_gpt_decodes_100_steps_with_the_cache_as_without)
{
    bgm_model *m = small_gpt();
    bgm_decoder *cached = NULL, *plain = NULL;
    bgm_tensor *a = NULL, *b = NULL;
    int32_t prompt[8] = {1, 5, 9, 2, 6, 5, 3, 5};
    int step;
    BGM_ASSERT_OK(bgm_decoder_create(&cached, m, 1));
    BGM_ASSERT_OK(bgm_decoder_create(&plain, m, 0));
    ck_assert_int_eq(bgm_decoder_uses_cache(cached), 1);
    BGM_ASSERT_OK(bgm_decoder_append(&a, cached, prompt, 8));
    BGM_ASSERT_OK(bgm_decoder_append(&b, plain, prompt, 8));
    for (step = 0; step <= 100; step++) {
        const float *x = bgm_tensor_data(a), *y = bgm_tensor_data(b);
        int64_t n = bgm_tensor_numel(a), i;
        int32_t next = (int32_t)argmax_of(x + n - GPT_VOCAB, GPT_VOCAB);
        float scale = 0; /* relative to the largest logit: near-zero ones carry rounding */
        ck_assert_int_eq(n, bgm_tensor_numel(b));
        for (i = 0; i < n; i++)
            scale = fabsf(y[i]) > scale ? fabsf(y[i]) : scale;
        for (i = 0; i < n; i++)
            ck_assert_msg(fabsf(x[i] - y[i]) <= 1e-5f * scale,
                          "step %d, logit %lld: %.8g cached, %.8g re-run (largest %.8g)", step,
                          (long long)i, x[i], y[i], scale);
        bgm_tensor_free(a);
        bgm_tensor_free(b);
        if (step == 100)
            break;
        BGM_ASSERT_OK(bgm_decoder_append(&a, cached, &next, 1));
        BGM_ASSERT_OK(bgm_decoder_append(&b, plain, &next, 1));
    }
    ck_assert_int_eq(bgm_decoder_length(cached), 108);
    bgm_decoder_free(cached);
    bgm_decoder_free(plain);
    bgm_model_free(m);
}
END_TEST

START_TEST(a_saved_gpt_generates_the_same_text_for_the_same_seed)
{
    bgm_model *m = small_gpt(), *back = NULL;
    bgm_generate_options go;
    bgm_tensor *a, *b, *c;
    int32_t prompt[3] = {4, 2, 7};
    char path[512];
    bgm_generate_options_init(&go, sizeof go);
    go.seed = 77;
    go.max_new_tokens = 150; /* past the context: a window restart too */
    go.temperature = 0.9f;
    go.top_p = 0.9f;
    a = generate(m, prompt, 3, &go);
    bgm_test_tmpdir_create("generate-gpt");
    snprintf(path, sizeof path, "%s/gpt.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    b = generate(back, prompt, 3, &go);
    ck_assert_int_eq(bgm_tensor_numel(a), 150);
    ck_assert_mem_eq(bgm_tensor_data(a), bgm_tensor_data(b), 150 * sizeof(int32_t));
    go.seed = 78; /* and the seed matters */
    c = generate(back, prompt, 3, &go);
    ck_assert(memcmp(bgm_tensor_data(a), bgm_tensor_data(c), 150 * sizeof(int32_t)) != 0);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_generate(void)
{
    Suite *s = suite_create("generate");
    TCase *decode = tcase_create("decoder"), *sample = tcase_create("sampling");
    tcase_add_test(decode, decoder_logits_match_predict_on_the_prefix);
    tcase_add_test(decode, window_past_the_context_restarts_on_the_newest_tokens);
    tcase_add_test(decode, cached_and_uncached_decoding_agree_past_the_context);
    tcase_add_test(decode, probability_outputs_are_read_as_log_probabilities);
    tcase_add_test(sample, greedy_generation_follows_the_most_likely_token);
    tcase_add_test(sample, sampling_draws_follow_temperature_top_k_and_top_p);
    tcase_add_test(sample, same_seed_same_tokens_and_a_saved_model_generates_the_same_text);
    tcase_add_test(sample, stop_tokens_and_the_callback_end_generation);
    tcase_add_test(sample, bad_calls_fail_with_clear_messages);
    tcase_add_test(decode, a_gpt_decodes_100_steps_with_the_cache_as_without);
    tcase_add_test(sample, a_saved_gpt_generates_the_same_text_for_the_same_seed);
    BGM_TEST_SLOW(sample, 30);
    BGM_TEST_SLOW(decode, 30);
    suite_add_tcase(s, decode);
    suite_add_tcase(s, sample);
    return s;
}
