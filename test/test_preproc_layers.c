/* Preprocessing inside the model (Keras' Rescaling, Normalization,
 * TextVectorization): outputs against hand-computed values, adapt, the
 * input gradients against finite differences, models trained on raw
 * strings, save / load bit-exact, and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static bgm_model *sequential(const int64_t *shape, int ndim)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, shape, ndim, 7));
    return m;
}

static bgm_tensor *predict(const bgm_model *m, const bgm_tensor *x)
{
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    return y;
}

/* The model's forward pass on the tape, for the gradient checks. */
static bgm_status model_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in, void *ctx)
{
    bgm_tape *own = NULL;
    bgm_tensor *y = NULL;
    bgm_status s;
    if (tape)
        return bgm_model_forward(out, ctx, tape, in[0], 0);
    s = bgm_tape_create(&own); /* the caller owns *out: a copy off a tape of our own */
    if (s == BGM_OK)
        s = bgm_model_forward(&y, ctx, own, in[0], 0);
    if (s == BGM_OK)
        s = bgm_tensor_clone(out, y);
    bgm_tape_free(own);
    return s;
}

/* m saved and loaded again (compiled state included). */
static bgm_model *reload(const bgm_model *m, const char *tag)
{
    char path[512];
    bgm_model *b = NULL;
    bgm_test_tmpdir_create(tag);
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&b, path));
    bgm_test_tmpdir_remove();
    return b;
}

static void assert_same_bits(const bgm_tensor *a, const bgm_tensor *b)
{
    ck_assert_int_eq(bgm_tensor_numel(a), bgm_tensor_numel(b));
    ck_assert(memcmp(bgm_tensor_data(a), bgm_tensor_data(b), bgm_tensor_nbytes(a)) == 0);
}

static char *config(const bgm_layer *l)
{
    static char buf[4096];
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, l));
    return buf;
}

/* ---- Rescaling, Normalization -------------------------------------------------- */

START_TEST(rescaling_scales_and_offsets)
{
    int64_t shape[2] = {2, 3}, in = 3;
    float xv[6] = {0, 255, 51, -2, 1.5f, 100}, want[6];
    bgm_model *m = sequential(&in, 1);
    bgm_tensor *x = bgm_test_tensor(shape, 2, xv), *y;
    int i;
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_rescaling(1.0f / 127.5f, -1.0f)));
    ck_assert_int_eq(bgm_model_num_weights(m), 0);
    y = predict(m, x);
    for (i = 0; i < 6; i++)
        want[i] = xv[i] * (1.0f / 127.5f) + -1.0f;
    bgm_test_assert_close(y, shape, 2, want, 1e-7);
    ck_assert_ptr_nonnull(strstr(config(bgm_model_layer(m, 0)),
                                 "\"class_name\": \"Rescaling\""));
    ck_assert_ptr_nonnull(strstr(config(bgm_model_layer(m, 0)), "\"offset\": -1"));
    ck_assert_double_lt(bgm_test_gradcheck(model_fn, &x, 1, m, 1e-2), 1e-3);
    bgm_tensor_free(y);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(normalization_adapts_and_normalizes_as_keras)
{
    /* feature 0: 1..4; feature 1: constant (variance 0: Keras divides by 1e-7) */
    int64_t shape[2] = {4, 2}, in = 2;
    float xv[8] = {1, 5, 2, 5, 3, 5, 4, 5}, want[8], mean[2], var[2];
    bgm_model *m = sequential(&in, 1), *b;
    bgm_layer *l = bgm_layer_normalization(0);
    bgm_tensor *x = bgm_test_tensor(shape, 2, xv), *y, *y2;
    int i;
    BGM_ASSERT_OK(bgm_layer_normalization_adapt(l, x));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    ck_assert_int_eq(bgm_model_num_weights(m), 2);
    ck_assert_int_eq(bgm_model_weight_trainable(m, 0), 0);
    ck_assert_int_eq(bgm_model_weight_trainable(m, 1), 0);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 0);
    memcpy(mean, bgm_tensor_data(bgm_model_weight(m, 0)), sizeof mean);
    memcpy(var, bgm_tensor_data(bgm_model_weight(m, 1)), sizeof var);
    ck_assert(mean[0] == 2.5f && mean[1] == 5.0f);
    ck_assert(var[0] == 1.25f && var[1] == 0.0f); /* population variance */
    y = predict(m, x);
    for (i = 0; i < 8; i++) {
        float sd = sqrtf(var[i % 2]);
        want[i] = (xv[i] - mean[i % 2]) / (sd > 1e-7f ? sd : 1e-7f);
    }
    bgm_test_assert_close(y, shape, 2, want, 0);
    ck_assert_double_lt(bgm_test_gradcheck(model_fn, &x, 1, m, 1e-2), 1e-3);
    b = reload(m, "norm");
    y2 = predict(b, x);
    assert_same_bits(y, y2);
    ck_assert_ptr_nonnull(strstr(config(bgm_model_layer(b, 0)), "\"invert\": false"));
    bgm_tensor_free(y);
    bgm_tensor_free(y2);
    bgm_tensor_free(x);
    bgm_model_free(m);
    bgm_model_free(b);
}
END_TEST

START_TEST(normalization_stats_invert_and_adapt_after_build)
{
    int64_t shape[2] = {2, 3}, in = 3;
    float xv[6] = {1, 2, 3, -1, 0, 4}, want[6], mean = 2.0f, var = 4.0f;
    float nm[6] = {10, 10, 10, 20, 20, 30};
    bgm_model *m = sequential(&in, 1), *m2 = sequential(&in, 1);
    bgm_layer *inv = bgm_layer_normalization(1), *late = bgm_layer_normalization(0);
    bgm_tensor *x = bgm_test_tensor(shape, 2, xv), *y, *data;
    int i;
    /* one value broadcast to every feature, inverted: mean + x * sqrt(var) */
    BGM_ASSERT_OK(bgm_layer_normalization_set_stats(inv, &mean, &var, 1));
    BGM_ASSERT_OK(bgm_model_add(m, inv));
    y = predict(m, x);
    for (i = 0; i < 6; i++)
        want[i] = 2.0f + xv[i] * 2.0f;
    bgm_test_assert_close(y, shape, 2, want, 0);
    bgm_tensor_free(y);
    /* adapt on a layer already in a model rewrites the model's weights */
    BGM_ASSERT_OK(bgm_model_add(m2, late));
    y = predict(m2, x); /* 0 and 1 before adapt: the identity */
    bgm_test_assert_close(y, shape, 2, xv, 0);
    bgm_tensor_free(y);
    data = bgm_test_tensor(shape, 2, nm);
    BGM_ASSERT_OK(bgm_layer_normalization_adapt(late, data));
    y = predict(m2, x);
    /* means 15, 15, 20; variances 25, 25, 100 */
    for (i = 0; i < 6; i++)
        want[i] = (xv[i] - (i % 3 == 2 ? 20.0f : 15.0f)) / (i % 3 == 2 ? 10.0f : 5.0f);
    bgm_test_assert_close(y, shape, 2, want, 0);
    bgm_tensor_free(y);
    bgm_tensor_free(data);
    bgm_tensor_free(x);
    bgm_model_free(m);
    bgm_model_free(m2);
}
END_TEST

START_TEST(normalization_and_rescaling_bad_input)
{
    int64_t shape[2] = {2, 3}, in = 2, two = 2;
    float xv[6] = {0}, mean[2] = {0, 0}, var[2] = {1, -1};
    bgm_layer *l = bgm_layer_normalization(0), *d = bgm_layer_dense(2, BGM_ACT_LINEAR);
    bgm_tensor *x = bgm_test_tensor(shape, 2, xv), *ids = NULL, *empty = NULL;
    bgm_model *m = sequential(&in, 1);
    int64_t zero_shape[2] = {0, 3};
    ck_assert_ptr_null(bgm_layer_rescaling(NAN, 0));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_rescaling: scale = nan"));
    ck_assert_ptr_null(bgm_layer_normalization(2));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "invert = 2"));
    BGM_ASSERT_FAILS(bgm_layer_normalization_set_stats(l, mean, var, 2), BGM_E_INVALID,
                     "variance[1] = -1");
    BGM_ASSERT_FAILS(bgm_layer_normalization_adapt(d, x), BGM_E_UNSUPPORTED,
                     "a Dense layer has no mean and variance");
    BGM_ASSERT_OK(bgm_tensor_zeros(&ids, BGM_INT32, shape, 2));
    BGM_ASSERT_FAILS(bgm_layer_normalization_adapt(l, ids), BGM_E_DTYPE, "int32");
    BGM_ASSERT_OK(bgm_tensor_zeros(&empty, BGM_FLOAT32, zero_shape, 2));
    BGM_ASSERT_FAILS(bgm_layer_normalization_adapt(l, empty), BGM_E_INVALID, "no samples");
    xv[4] = NAN;
    bgm_tensor_free(x);
    x = bgm_test_tensor(shape, 2, xv);
    BGM_ASSERT_FAILS(bgm_layer_normalization_adapt(l, x), BGM_E_INVALID,
                     "data[4] = nan is not finite");
    /* statistics of 3 features, a model input of 2 */
    xv[4] = 0;
    bgm_tensor_free(x);
    x = bgm_test_tensor(shape, 2, xv);
    BGM_ASSERT_OK(bgm_layer_normalization_adapt(l, x));
    BGM_ASSERT_FAILS(bgm_model_add(m, l), BGM_E_SHAPE,
                     "its mean and variance have 3 entries, the input's last axis 2");
    l = bgm_layer_normalization(0);
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_FAILS(bgm_layer_normalization_adapt(l, x), BGM_E_SHAPE,
                     "data has 3 features (last axis)");
    BGM_ASSERT_FAILS(bgm_layer_normalization_set_stats(l, mean, var, 1), BGM_E_STATE,
                     "belongs to a model");
    (void)two;
    bgm_layer_free(d);
    bgm_tensor_free(ids);
    bgm_tensor_free(empty);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* ---- TextVectorization ------------------------------------------------------------ */

static const char *const corpus[] = {"The cat sat.", "the Dog sat!", "a cat, a dog; a bird"};

START_TEST(text_vectorization_int_mode_by_hand)
{
    /* counts: a 3; the, sat, dog, cat 2 (ties: bytes descending); bird 1 */
    static const char *const want_vocab[] = {"", "[UNK]", "a", "the", "sat", "dog", "cat"};
    const char *const texts[] = {"The bird sat on a cat", "Cat", ""};
    int32_t want[15] = {3, 1, 4, 1, 2, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    bgm_layer *l = bgm_layer_text_vectorization(7, BGM_TEXT_OUTPUT_INT, 5);
    bgm_tensor *y = NULL;
    int64_t i, len;
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(l, corpus, 3));
    ck_assert_int_eq(bgm_layer_vocabulary_size(l), 7); /* bird cut by max_tokens */
    for (i = 0; i < 7; i++) {
        ck_assert_str_eq(bgm_layer_vocabulary_token(l, i, &len), want_vocab[i]);
        ck_assert_int_eq(len, (int64_t)strlen(want_vocab[i]));
    }
    ck_assert_ptr_null(bgm_layer_vocabulary_token(l, 7, NULL));
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&y, l, texts, 3));
    ck_assert_int_eq(bgm_tensor_dtype(y), BGM_INT32);
    ck_assert_int_eq(bgm_tensor_dim(y, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(y, 1), 5);
    ck_assert(memcmp(bgm_tensor_data(y), want, sizeof want) == 0);
    ck_assert_ptr_nonnull(strstr(config(l), "\"vocabulary\": [\"a\", \"the\", \"sat\", "
                                            "\"dog\", \"cat\"]"));
    ck_assert_ptr_nonnull(strstr(config(l), "\"max_tokens\": 7, \"standardize\": "
                                            "\"lower_and_strip_punctuation\", \"split\": "
                                            "\"whitespace\", \"output_mode\": \"int\", "
                                            "\"output_sequence_length\": 5"));
    bgm_tensor_free(y);
    bgm_layer_free(l);
}
END_TEST

START_TEST(text_vectorization_bag_modes_by_hand)
{
    /* non-int modes: [UNK] is index 0, then a, the, sat, dog, cat, bird */
    const char *const text[] = {"a A cat zebra!"};
    float counts[7] = {1, 2, 0, 0, 0, 1, 0}, hot[7] = {1, 1, 0, 0, 0, 1, 0}, want[7];
    double df[7] = {0, 1, 2, 2, 2, 2, 1}, idf[7], mean = 0;
    int64_t shape[2] = {1, 7};
    bgm_layer *c = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_COUNT, 0);
    bgm_layer *h = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_MULTI_HOT, 0);
    bgm_layer *t = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_TF_IDF, 0);
    bgm_tensor *y = NULL;
    int i;
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(c, corpus, 3));
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(h, corpus, 3));
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(t, corpus, 3));
    ck_assert_int_eq(bgm_layer_vocabulary_size(c), 7);
    ck_assert_str_eq(bgm_layer_vocabulary_token(c, 0, NULL), "[UNK]");
    ck_assert_str_eq(bgm_layer_vocabulary_token(c, 6, NULL), "bird");
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&y, c, text, 1));
    bgm_test_assert_close(y, shape, 2, counts, 0);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&y, h, text, 1));
    bgm_test_assert_close(y, shape, 2, hot, 0);
    bgm_tensor_free(y);
    /* Keras: idf = log(1 + N / (1 + df)), [UNK]'s the mean of the others */
    for (i = 1; i < 7; i++) {
        idf[i] = (float)log(1.0 + 3.0 / (1.0 + df[i]));
        mean += idf[i];
    }
    idf[0] = mean / 6;
    for (i = 0; i < 7; i++)
        want[i] = (float)(counts[i] * idf[i]);
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&y, t, text, 1));
    bgm_test_assert_close(y, shape, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_layer_free(c);
    bgm_layer_free(h);
    bgm_layer_free(t);
}
END_TEST

/* The ids (4 of them) an "int" layer with these options and tokens gives doc. */
static void assert_ids(bgm_text_standardize std, bgm_text_split split,
                       const char *const *tokens, int64_t ntokens, const char *doc,
                       const int32_t *want)
{
    bgm_layer *l = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_INT, 4);
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_layer_set_standardize(l, std));
    BGM_ASSERT_OK(bgm_layer_set_split(l, split));
    BGM_ASSERT_OK(bgm_layer_set_vocabulary(l, tokens, ntokens, NULL));
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&y, l, &doc, 1));
    ck_assert_msg(memcmp(bgm_tensor_data(y), want, 4 * sizeof *want) == 0,
                  "options %d/%d: got %d %d %d %d", (int)std, (int)split,
                  ((int32_t *)bgm_tensor_data(y))[0], ((int32_t *)bgm_tensor_data(y))[1],
                  ((int32_t *)bgm_tensor_data(y))[2], ((int32_t *)bgm_tensor_data(y))[3]);
    bgm_tensor_free(y);
    bgm_layer_free(l);
}

START_TEST(text_vectorization_standardize_and_split_options)
{
    const char *doc = "Ab-C ab\xC3\x89 x"; /* É */
    const char *const vocab[] = {"ab-c", "ab\xC3\xA9", "Ab-C", "abc"};
    const char *const chars[] = {"a", "b", "-"};
    const int32_t lower[4] = {2, 3, 1, 0}, none[4] = {4, 1, 1, 0}, by_char[4] = {2, 3, 4, 1};
    const int32_t stripped[4] = {5, 3, 1, 0}; /* Keras' regex removes the hyphen */
    const int32_t strip_only[4] = {1, 0, 0, 0}; /* one token "AbC": not in the vocabulary */
    bgm_layer *l = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_INT, 4);
    assert_ids(BGM_TEXT_LOWER, BGM_TEXT_SPLIT_WHITESPACE, vocab, 4, doc, lower);
    assert_ids(BGM_TEXT_LOWER_AND_STRIP_PUNCTUATION, BGM_TEXT_SPLIT_WHITESPACE, vocab, 4,
               doc, stripped);
    assert_ids(BGM_TEXT_STANDARDIZE_NONE, BGM_TEXT_SPLIT_WHITESPACE, vocab, 4, doc, none);
    assert_ids(BGM_TEXT_LOWER, BGM_TEXT_SPLIT_CHARACTER, chars, 3, doc, by_char);
    assert_ids(BGM_TEXT_STRIP_PUNCTUATION, BGM_TEXT_SPLIT_NONE, vocab, 4, "Ab-C", strip_only);
    BGM_ASSERT_OK(bgm_layer_set_split(l, BGM_TEXT_SPLIT_CHARACTER));
    ck_assert_ptr_nonnull(strstr(config(l), "\"split\": \"character\""));
    bgm_layer_free(l);
}
END_TEST

/* n synthetic reviews: label 1 holds a positive word, 0 a negative one. */
static char **reviews(int n, float *labels, uint64_t seed)
{
    static const char *const pos[] = {"great", "good", "excellent", "lovely", "superb"};
    static const char *const neg[] = {"bad", "awful", "terrible", "boring", "poor"};
    static const char *const fill[] = {"the", "movie", "was", "plot", "actors", "really",
                                       "quite", "a", "story", "film", "and", "it"};
    char **t = malloc((size_t)n * sizeof *t);
    uint64_t r = seed;
    int i, k;
    for (i = 0; i < n; i++) {
        char buf[256] = "";
        int y = i % 2;
        for (k = 0; k < 6; k++) {
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            if (k == (int)((r >> 33) % 6))
                strcat(buf, y ? pos[(r >> 40) % 5] : neg[(r >> 40) % 5]);
            else
                strcat(buf, fill[(r >> 45) % 12]);
            strcat(buf, k == 5 ? "!" : " ");
        }
        if (!strstr(buf, y ? "great" : "bad")) /* make sure a sentiment word is there */
            strcat(buf, y ? " Great." : " Bad.");
        t[i] = strdup(buf);
        labels[i] = (float)y;
    }
    return t;
}

static void free_texts(char **t, int n)
{
    int i;
    for (i = 0; i < n; i++)
        free(t[i]);
    free(t);
}

START_TEST(text_classifier_trains_on_raw_strings_and_reloads_bit_exact)
{
    enum { N = 300 };
    float labels[N];
    char **texts = reviews(N, labels, 11);
    const char *const *tx = (const char *const *)texts;
    int64_t one = 1, yshape[2] = {N, 1};
    bgm_layer *tv = bgm_layer_text_vectorization(200, BGM_TEXT_OUTPUT_INT, 8);
    bgm_model *m = sequential(&one, 1), *b;
    bgm_tensor *y = bgm_test_tensor(yshape, 2, labels), *p = NULL, *p2 = NULL;
    bgm_optimizer *opt = NULL;
    bgm_fit_options o;
    bgm_metric_kind acc = BGM_METRIC_ACCURACY;
    double res[2];
    const int64_t *ishape;
    int nd;
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(tv, tx, N));
    BGM_ASSERT_OK(bgm_model_add(m, tv));
    ishape = bgm_model_input_shape(m, &nd); /* the vectorized strings */
    ck_assert_int_eq(nd, 1);
    ck_assert_int_eq(ishape[0], 8);
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(200, 8)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_global_avg_pool1d()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_SIGMOID)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&opt, 0.05f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, opt, BGM_LOSS_BINARY_CROSSENTROPY, 0, &acc, 1));
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = 15;
    o.batch_size = 32;
    o.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit_strings(NULL, m, tx, N, y, &o));
    BGM_ASSERT_OK(bgm_model_evaluate_strings(res, 2, m, tx, N, y, 0));
    ck_assert_msg(res[1] > 0.95, "accuracy %g", res[1]);
    BGM_ASSERT_OK(bgm_model_predict_strings(&p, m, tx, N, 0));
    b = reload(m, "textmodel");
    BGM_ASSERT_OK(bgm_model_predict_strings(&p2, b, tx, N, 0));
    assert_same_bits(p, p2);
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(b, 0)), "TextVectorization");
    ck_assert_int_eq(bgm_layer_vocabulary_size(bgm_model_layer(b, 0)),
                     bgm_layer_vocabulary_size(bgm_model_layer(m, 0)));
    bgm_tensor_free(p);
    bgm_tensor_free(p2);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(b);
    free_texts(texts, N);
}
END_TEST

START_TEST(tf_idf_model_keeps_its_idf_weights_through_save_and_load)
{
    enum { N = 60 };
    float labels[N];
    char **texts = reviews(N, labels, 5);
    const char *const *tx = (const char *const *)texts;
    int64_t one = 1, v;
    bgm_layer *tv = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_TF_IDF, 0);
    bgm_model *m = sequential(&one, 1), *b;
    bgm_tensor *p = NULL, *p2 = NULL, *direct = NULL, *counts = NULL;
    const float *idf, *c, *d;
    int64_t i, j;
    BGM_ASSERT_OK(bgm_layer_text_vectorization_adapt(tv, tx, N));
    v = bgm_layer_vocabulary_size(tv);
    BGM_ASSERT_OK(bgm_model_add(m, tv));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_SOFTMAX)));
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "text_vectorization/idf_weights");
    ck_assert_int_eq(bgm_model_weight_trainable(m, 0), 0);
    /* the graph's input is the counts; the layer applies the idf weights */
    BGM_ASSERT_OK(bgm_model_vectorize_strings(&counts, m, tx, N));
    BGM_ASSERT_OK(bgm_layer_text_vectorize(&direct, bgm_model_layer(m, 0), tx, N));
    idf = bgm_tensor_data(bgm_model_weight(m, 0));
    c = bgm_tensor_data(counts);
    d = bgm_tensor_data(direct);
    for (i = 0; i < N; i++)
        for (j = 0; j < v; j++)
            ck_assert(d[i * v + j] == c[i * v + j] * idf[j]);
    BGM_ASSERT_OK(bgm_model_predict_strings(&p, m, tx, N, 0));
    b = reload(m, "tfidf");
    BGM_ASSERT_OK(bgm_model_predict_strings(&p2, b, tx, N, 0));
    assert_same_bits(p, p2);
    assert_same_bits(bgm_model_weight(m, 0), bgm_model_weight(b, 0));
    bgm_tensor_free(p);
    bgm_tensor_free(p2);
    bgm_tensor_free(direct);
    bgm_tensor_free(counts);
    bgm_model_free(m);
    bgm_model_free(b);
    free_texts(texts, N);
}
END_TEST

START_TEST(functional_text_model_takes_strings)
{
    const char *const vocab[] = {"yes", "no"};
    const char *const texts[] = {"yes yes no maybe", "no"};
    int64_t three = 3, shape[2] = {2, 3};
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *out;
    bgm_layer *tv = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_COUNT, 0);
    bgm_model *m = NULL, *b;
    bgm_tensor *p = NULL;
    float want[6] = {1, 2, 1, 0, 0, 1};
    BGM_ASSERT_OK(bgm_layer_set_vocabulary(tv, vocab, 2, NULL));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&in, g, &three, 1, BGM_FLOAT32, "text"));
    out = bgm_test_call(tv, &in, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 3));
    BGM_ASSERT_OK(bgm_model_predict_strings(&p, m, texts, 2, 0));
    bgm_test_assert_close(p, shape, 2, want, 0);
    bgm_tensor_free(p);
    b = reload(m, "functext"); /* the vocabulary comes back with the graph */
    BGM_ASSERT_OK(bgm_model_predict_strings(&p, b, texts, 2, 0));
    bgm_test_assert_close(p, shape, 2, want, 0);
    bgm_tensor_free(p);
    bgm_model_free(b);
    bgm_model_free(m);
    bgm_graph_free(g);
}
END_TEST

START_TEST(text_vectorization_bad_input)
{
    const char *const empty[] = {"", " ?! ", "..."};
    const char *const dup[] = {"a", "b", "a"};
    const char *const res[] = {"a", "[UNK]"};
    const char *const quote[] = {"he\"y", "back\\slash"};
    const char *const texts[] = {"a b", NULL};
    int64_t one = 1, shape[2] = {2, 8};
    bgm_layer *l = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_INT, 8);
    bgm_layer *cnt = bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_COUNT, 0);
    bgm_model *m = sequential(&one, 1), *plain = sequential(&one, 1);
    bgm_tensor *x = NULL, *out = NULL;
    float zeros[16] = {0};
    ck_assert_ptr_null(bgm_layer_text_vectorization(0, BGM_TEXT_OUTPUT_COUNT, 5));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "output_sequence_length = 5 is only "
                                                   "valid in output_mode 'int', not 'count'"));
    ck_assert_ptr_null(bgm_layer_text_vectorization(2, BGM_TEXT_OUTPUT_INT, 5));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "max_tokens = 2 leaves no id"));
    ck_assert_ptr_null(bgm_layer_text_vectorization(0, (bgm_text_output_mode)9, 0));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "unknown output_mode 9"));
    BGM_ASSERT_FAILS(bgm_layer_text_vectorization_adapt(l, empty, 0), BGM_E_INVALID,
                     "n = 0 texts");
    BGM_ASSERT_FAILS(bgm_layer_text_vectorization_adapt(l, empty, 3), BGM_E_INVALID,
                     "the 3 texts hold no token");
    BGM_ASSERT_FAILS(bgm_layer_text_vectorization_adapt(l, texts, 2), BGM_E_INVALID,
                     "texts[1] is NULL");
    BGM_ASSERT_FAILS(bgm_layer_set_vocabulary(l, dup, 3, NULL), BGM_E_INVALID,
                     "vocabulary entry 2 'a' appears twice");
    BGM_ASSERT_FAILS(bgm_layer_set_vocabulary(l, res, 2, NULL), BGM_E_INVALID,
                     "'[UNK]', a reserved token");
    BGM_ASSERT_FAILS(bgm_layer_set_vocabulary(l, quote, 2, zeros), BGM_E_INVALID,
                     "idf weights belong to output_mode 'tf_idf' only");
    BGM_ASSERT_FAILS(bgm_layer_set_split(cnt, (bgm_text_split)7), BGM_E_INVALID,
                     "unknown split 7");
    BGM_ASSERT_FAILS(bgm_layer_set_standardize(cnt, (bgm_text_standardize)5),
                     BGM_E_INVALID, "unknown standardize 5");
    /* quotes and backslashes are escaped in the JSON config */
    BGM_ASSERT_OK(bgm_layer_set_vocabulary(l, quote, 2, NULL));
    ck_assert_ptr_nonnull(strstr(config(l), "[\"he\\\"y\", \"back\\\\slash\"]"));
    /* a bag mode needs its vocabulary before a model can take it */
    BGM_ASSERT_FAILS(bgm_layer_text_vectorize(&out, cnt, texts, 1), BGM_E_STATE,
                     "has no vocabulary");
    BGM_ASSERT_FAILS(bgm_model_add(plain, cnt), BGM_E_STATE,
                     "output_mode 'count' needs the vocabulary");
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_FAILS(bgm_layer_text_vectorization_adapt(l, texts, 1), BGM_E_STATE,
                     "belongs to a model");
    /* numbers on a string model: its input is int32 token ids */
    x = bgm_test_tensor(shape, 2, zeros);
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, x, 0), BGM_E_DTYPE, "int32");
    /* strings on a model without TextVectorization */
    BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_predict_strings(&out, plain, texts, 1, 0), BGM_E_UNSUPPORTED,
                     "does not go to a TextVectorization layer");
    BGM_ASSERT_FAILS(bgm_model_predict_strings(&out, m, texts, 0, 0), BGM_E_INVALID,
                     "n = 0 texts");
    bgm_tensor_free(x);
    bgm_model_free(m);
    bgm_model_free(plain);
}
END_TEST

Suite *suite_preproc_layers(void)
{
    Suite *s = suite_create("preproc_layers");
    TCase *tc = tcase_create("preproc");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, rescaling_scales_and_offsets);
    tcase_add_test(tc, normalization_adapts_and_normalizes_as_keras);
    tcase_add_test(tc, normalization_stats_invert_and_adapt_after_build);
    tcase_add_test(tc, normalization_and_rescaling_bad_input);
    tcase_add_test(tc, text_vectorization_int_mode_by_hand);
    tcase_add_test(tc, text_vectorization_bag_modes_by_hand);
    tcase_add_test(tc, text_vectorization_standardize_and_split_options);
    tcase_add_test(tc, text_classifier_trains_on_raw_strings_and_reloads_bit_exact);
    tcase_add_test(tc, tf_idf_model_keeps_its_idf_weights_through_save_and_load);
    tcase_add_test(tc, functional_text_model_takes_strings);
    tcase_add_test(tc, text_vectorization_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
