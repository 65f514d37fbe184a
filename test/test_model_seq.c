/* Sequence layers in the model: Embedding (mask_zero, pretrained rows,
 * frozen), LSTM, GRU and Bidirectional: Keras' parameter counts and shapes,
 * initializers, masking, dropout, training, and bad calls. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static bgm_tensor *ids_tensor(int64_t n, int64_t t, const int32_t *ids)
{
    bgm_tensor *x = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&x, BGM_INT32, (int64_t[]){n, t}, 2, ids));
    return x;
}

static bgm_optimizer *adam(float lr)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    return o;
}

static const float *weight(const bgm_model *m, int i)
{
    return bgm_tensor_data(bgm_model_weight(m, i));
}

/* 1 when text has the summary row of Keras' columns (29, 26, rest). */
static int has_row(const char *text, const char *layer, const char *shape, const char *count)
{
    char row[256];
    snprintf(row, sizeof row, "%-29s%-26s%s", layer, shape, count);
    return strstr(text, row) != NULL;
}

static bgm_fit_options quiet(int epochs, int64_t batch)
{
    bgm_fit_options fo;
    bgm_fit_options_init(&fo, sizeof fo);
    fo.epochs = epochs;
    fo.batch_size = batch;
    fo.verbose = 0;
    return fo;
}

/* ---- parameter counts and shapes --------------------------------------- */

START_TEST(lstm_text_classifier_has_keras_parameter_counts)
{
    bgm_model *m = NULL;
    char text[4096];
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){100}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(20000, 128)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(128)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 0)), 2560000);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 1)), 131584);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 2)), 129);
    ck_assert_int_eq(bgm_model_num_params(m), 2691713);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 2691713);
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "embedding/embeddings");
    ck_assert_str_eq(bgm_model_weight_name(m, 1), "lstm/kernel");
    ck_assert_str_eq(bgm_model_weight_name(m, 2), "lstm/recurrent_kernel");
    ck_assert_str_eq(bgm_model_weight_name(m, 3), "lstm/bias");
    BGM_ASSERT_OK(bgm_model_summary_string(text, sizeof text, NULL, m));
    ck_assert(has_row(text, "embedding (Embedding)", "(None, 100, 128)", "2560000"));
    ck_assert(has_row(text, "lstm (LSTM)", "(None, 128)", "131584"));
    ck_assert(has_row(text, "dense (Dense)", "(None, 1)", "129"));
    ck_assert_ptr_nonnull(strstr(text, "Total params: 2,691,713\n"));
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 0\n"));
    bgm_model_free(m);
}
END_TEST

START_TEST(gru_and_bidirectional_have_keras_parameter_counts_and_names)
{
    bgm_model *m = NULL;
    bgm_layer *inner = bgm_layer_lstm(16);
    const int64_t *shape;
    char text[4096];
    int ndim;
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(inner, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){10, 8}, 2, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_bidirectional(inner)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_gru(64)));
    /* 2 * 4 * (8*16 + 16*16 + 16) and 3 * (32*64 + 64*64 + 2*64) */
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 0)), 3200);
    ck_assert_int_eq(bgm_layer_num_params(bgm_model_layer(m, 1)), 18816);
    shape = bgm_layer_output_shape(bgm_model_layer(m, 0), &ndim);
    ck_assert_int_eq(ndim, 2);
    ck_assert_int_eq(shape[0], 10);
    ck_assert_int_eq(shape[1], 32);
    ck_assert_str_eq(bgm_model_weight_name(m, 0), "bidirectional/forward_lstm/kernel");
    ck_assert_str_eq(bgm_model_weight_name(m, 5), "bidirectional/backward_lstm/bias");
    ck_assert_str_eq(bgm_model_weight_name(m, 8), "gru/bias");
    ck_assert_int_eq(bgm_tensor_dim(bgm_model_weight(m, 8), 0), 2);
    ck_assert_int_eq(bgm_tensor_dim(bgm_model_weight(m, 8), 1), 192);
    BGM_ASSERT_OK(bgm_model_summary_string(text, sizeof text, NULL, m));
    /* Keras cuts a name running into the next column */
    ck_assert_ptr_nonnull(strstr(text, "bidirectional (Bidirectional (None, 10, 32)       "
                                       "     3200"));
    ck_assert(has_row(text, "gru (GRU)", "(None, 64)", "18816"));
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(m, 0)), "Bidirectional");
    bgm_model_free(m);
}
END_TEST

/* predict's output shape for a recurrent layer (bidirectional or not) on (3, 7, 5). */
static void check_predict_shape(bgm_layer *layer, int64_t d1, int64_t d2)
{
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){3, 7, 5}, 3, 9), *y = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){7, 5}, 2, 1));
    BGM_ASSERT_OK(bgm_model_add(m, layer));
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 2));
    ck_assert_int_eq(bgm_tensor_ndim(y), d2 ? 3 : 2);
    ck_assert_int_eq(bgm_tensor_dim(y, 0), 3);
    ck_assert_int_eq(bgm_tensor_dim(y, 1), d1);
    if (d2)
        ck_assert_int_eq(bgm_tensor_dim(y, 2), d2);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}

START_TEST(outputs_have_the_shapes_keras_gives)
{
    bgm_layer *l;
    check_predict_shape(bgm_layer_lstm(6), 6, 0);
    l = bgm_layer_lstm(6);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    check_predict_shape(l, 7, 6);
    check_predict_shape(bgm_layer_gru(4), 4, 0);
    l = bgm_layer_gru(4);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    check_predict_shape(l, 7, 4);
    check_predict_shape(bgm_layer_bidirectional(bgm_layer_gru(4)), 8, 0);
    l = bgm_layer_lstm(3);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    check_predict_shape(bgm_layer_bidirectional(l), 7, 6);
}
END_TEST

START_TEST(bidirectional_concatenates_the_forward_and_the_reversed_layer)
{
    /* Its halves equal an LSTM run on the input and on the time-reversed input. */
    bgm_model *bi = NULL, *one = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 4, 3}, 3, 5), *xr = NULL, *yb = NULL;
    bgm_tensor *yf = NULL, *yr = NULL;
    float *w = NULL, *xrd;
    int64_t n, t, f, nw;
    const float *b, *pf, *pr;
    BGM_ASSERT_OK(bgm_model_create(&bi, (int64_t[]){4, 3}, 2, 7));
    BGM_ASSERT_OK(bgm_model_add(bi, bgm_layer_bidirectional(bgm_layer_lstm(5))));
    BGM_ASSERT_OK(bgm_model_create(&one, (int64_t[]){4, 3}, 2, 8));
    BGM_ASSERT_OK(bgm_model_add(one, bgm_layer_lstm(5)));
    nw = bgm_model_num_params(bi);
    ck_assert_int_eq(nw, 2 * bgm_model_num_params(one));
    w = malloc((size_t)nw * sizeof *w);
    BGM_ASSERT_OK(bgm_model_get_weights(bi, w, nw));
    BGM_ASSERT_OK(bgm_model_predict(&yb, bi, x, 0));
    BGM_ASSERT_OK(bgm_tensor_clone(&xr, x));
    xrd = bgm_tensor_data(xr);
    for (n = 0; n < 2; n++)
        for (t = 0; t < 4; t++)
            for (f = 0; f < 3; f++)
                xrd[(n * 4 + t) * 3 + f] =
                    ((const float *)bgm_tensor_data(x))[(n * 4 + 3 - t) * 3 + f];
    BGM_ASSERT_OK(bgm_model_set_weights(one, w, nw / 2));
    BGM_ASSERT_OK(bgm_model_predict(&yf, one, x, 0));
    BGM_ASSERT_OK(bgm_model_set_weights(one, w + nw / 2, nw / 2));
    BGM_ASSERT_OK(bgm_model_predict(&yr, one, xr, 0));
    b = bgm_tensor_data(yb);
    pf = bgm_tensor_data(yf);
    pr = bgm_tensor_data(yr);
    for (n = 0; n < 2; n++)
        for (f = 0; f < 5; f++) {
            ck_assert_float_eq_tol(b[n * 10 + f], pf[n * 5 + f], 1e-6f);
            ck_assert_float_eq_tol(b[n * 10 + 5 + f], pr[n * 5 + f], 1e-6f);
        }
    free(w);
    bgm_tensor_free(x);
    bgm_tensor_free(xr);
    bgm_tensor_free(yb);
    bgm_tensor_free(yf);
    bgm_tensor_free(yr);
    bgm_model_free(bi);
    bgm_model_free(one);
}
END_TEST

/* ---- initializers ------------------------------------------------------- */

START_TEST(recurrent_kernels_are_orthogonal_and_the_forget_bias_is_one)
{
    bgm_model *m = NULL;
    const int64_t h = 8, f = 5;
    const float *k, *rk, *bias;
    double limit = sqrt(6.0 / (double)(f + 4 * h));
    int64_t i, j, c;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3, f}, 2, 11));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(h)));
    k = weight(m, 0);
    rk = weight(m, 1);
    bias = weight(m, 2);
    for (i = 0; i < f * 4 * h; i++)
        ck_assert(fabs(k[i]) <= limit);
    /* (H, 4H) with orthonormal rows: rk rk^T = I */
    for (i = 0; i < h; i++)
        for (j = 0; j < h; j++) {
            double dot = 0.0;
            for (c = 0; c < 4 * h; c++)
                dot += (double)rk[i * 4 * h + c] * rk[j * 4 * h + c];
            ck_assert_double_eq_tol(dot, i == j ? 1.0 : 0.0, 1e-5);
        }
    for (i = 0; i < 4 * h; i++)
        ck_assert_float_eq(bias[i], i >= h && i < 2 * h ? 1.0f : 0.0f);
    bgm_model_free(m);
}
END_TEST

START_TEST(orthogonal_dense_kernel_has_orthonormal_columns_when_taller)
{
    bgm_model *m = NULL;
    bgm_layer *d = bgm_layer_dense(3, BGM_ACT_LINEAR);
    const float *k;
    int64_t i, j, r;
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(d, BGM_INIT_ORTHOGONAL));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){7}, 1, 2));
    BGM_ASSERT_OK(bgm_model_add(m, d));
    k = weight(m, 0);
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) {
            double dot = 0.0;
            for (r = 0; r < 7; r++)
                dot += (double)k[r * 3 + i] * k[r * 3 + j];
            ck_assert_double_eq_tol(dot, i == j ? 1.0 : 0.0, 1e-5);
        }
    bgm_model_free(m);
}
END_TEST

START_TEST(embedding_starts_uniform_within_five_hundredths)
{
    bgm_model *m = NULL;
    const float *e;
    float lo = 1.0f, hi = -1.0f;
    int64_t i;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(50, 20)));
    e = weight(m, 0);
    for (i = 0; i < 1000; i++) {
        lo = e[i] < lo ? e[i] : lo;
        hi = e[i] > hi ? e[i] : hi;
    }
    ck_assert(lo >= -0.05f && lo < -0.045f);
    ck_assert(hi <= 0.05f && hi > 0.045f);
    bgm_model_free(m);
}
END_TEST

/* ---- masking ------------------------------------------------------------- */

/* Embedding(12, 5, mask_zero) [+ Dropout] + rnn + Dense(1) on sequences of t ids. */
static bgm_model *masked_model(int64_t t, bgm_layer *rnn, int with_dropout)
{
    bgm_model *m = NULL;
    bgm_layer *e = bgm_layer_embedding(12, 5);
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(e, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){t}, 1, 21));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    if (with_dropout)
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.5f)));
    BGM_ASSERT_OK(bgm_model_add(m, rnn));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    return m;
}

/* Output of m on one sequence. */
static float predict_one(const bgm_model *m, int64_t t, const int32_t *ids)
{
    bgm_tensor *x = ids_tensor(1, t, ids), *y = NULL;
    float v;
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    v = ((const float *)bgm_tensor_data(y))[0];
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return v;
}

static void check_padding_is_irrelevant(bgm_layer *(*make)(void), int with_dropout)
{
    static const int32_t seq[3] = {3, 7, 2};
    static const int32_t pad2[5] = {0, 0, 3, 7, 2};
    static const int32_t pad5[8] = {0, 0, 0, 0, 0, 3, 7, 2};
    bgm_model *short_m = masked_model(3, make(), with_dropout);
    bgm_model *long_m = masked_model(8, make(), with_dropout);
    bgm_model *mid_m = masked_model(5, make(), with_dropout);
    float want = predict_one(short_m, 3, seq);
    /* same seed and layers: the same weights whatever the sequence length */
    ck_assert_int_eq(bgm_model_num_params(short_m), bgm_model_num_params(long_m));
    ck_assert_float_eq_tol(predict_one(long_m, 8, pad5), want, 1e-6f);
    ck_assert_float_eq_tol(predict_one(mid_m, 5, pad2), want, 1e-6f);
    bgm_model_free(short_m);
    bgm_model_free(long_m);
    bgm_model_free(mid_m);
}

static bgm_layer *make_lstm(void) { return bgm_layer_lstm(4); }
static bgm_layer *make_gru(void) { return bgm_layer_gru(4); }
static bgm_layer *make_bi_gru(void) { return bgm_layer_bidirectional(bgm_layer_gru(3)); }

static bgm_layer *make_stacked(void)
{
    /* the first returns sequences, so the mask reaches the second */
    bgm_layer *l = bgm_layer_lstm(4);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    return bgm_layer_bidirectional(l);
}

START_TEST(pre_padding_with_mask_zero_gives_the_unpadded_output)
{
    check_padding_is_irrelevant(make_lstm, 0);
    check_padding_is_irrelevant(make_gru, 0);
    check_padding_is_irrelevant(make_bi_gru, 0);
    check_padding_is_irrelevant(make_lstm, 1); /* through a Dropout layer */
}
END_TEST

START_TEST(mask_passes_through_a_recurrent_layer_returning_sequences)
{
    static const int32_t seq[2] = {4, 9};
    static const int32_t padded[6] = {0, 0, 0, 0, 4, 9};
    bgm_model *a = NULL, *b = NULL;
    int k;
    for (k = 0; k < 2; k++) {
        bgm_model **m = k ? &b : &a;
        bgm_layer *e = bgm_layer_embedding(12, 5);
        BGM_ASSERT_OK(bgm_layer_set_mask_zero(e, 1));
        BGM_ASSERT_OK(bgm_model_create(m, (int64_t[]){k ? 6 : 2}, 1, 5));
        BGM_ASSERT_OK(bgm_model_add(*m, e));
        BGM_ASSERT_OK(bgm_model_add(*m, make_stacked()));
        BGM_ASSERT_OK(bgm_model_add(*m, bgm_layer_gru(3)));
        BGM_ASSERT_OK(bgm_model_add(*m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    }
    ck_assert_float_eq_tol(predict_one(b, 6, padded), predict_one(a, 2, seq), 1e-6f);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(without_mask_zero_padding_changes_the_output)
{
    static const int32_t seq[3] = {3, 7, 2};
    static const int32_t pad5[8] = {0, 0, 0, 0, 0, 3, 7, 2};
    bgm_model *a = NULL, *b = NULL;
    BGM_ASSERT_OK(bgm_model_create(&a, (int64_t[]){3}, 1, 21));
    BGM_ASSERT_OK(bgm_model_create(&b, (int64_t[]){8}, 1, 21));
    BGM_ASSERT_OK(bgm_model_add(a, bgm_layer_embedding(12, 5)));
    BGM_ASSERT_OK(bgm_model_add(b, bgm_layer_embedding(12, 5)));
    BGM_ASSERT_OK(bgm_model_add(a, bgm_layer_lstm(4)));
    BGM_ASSERT_OK(bgm_model_add(b, bgm_layer_lstm(4)));
    BGM_ASSERT_OK(bgm_model_add(a, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_add(b, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    ck_assert(fabsf(predict_one(a, 3, seq) - predict_one(b, 8, pad5)) > 1e-5f);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

/* ---- frozen and pretrained embeddings ---------------------------------- */

/* 64 sequences of 6 ids in 1..9 and labels (1 when id 5 appears). */
static void toy_data(bgm_tensor **x, bgm_tensor **y, int64_t n, uint64_t seed)
{
    bgm_rng *rng = NULL;
    int32_t *ids = malloc((size_t)(n * 6) * sizeof *ids);
    float *labels = malloc((size_t)n * sizeof *labels);
    int64_t i, t;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    for (i = 0; i < n; i++) {
        labels[i] = 0.0f;
        for (t = 0; t < 6; t++) {
            ids[i * 6 + t] = 1 + (int32_t)(bgm_rng_uniform(rng) * 9.0f) % 9;
            if (ids[i * 6 + t] == 5)
                labels[i] = 1.0f;
        }
    }
    *x = ids_tensor(n, 6, ids);
    BGM_ASSERT_OK(bgm_tensor_from_data(y, BGM_FLOAT32, (int64_t[]){n, 1}, 2, labels));
    bgm_rng_free(rng);
    free(ids);
    free(labels);
}

START_TEST(frozen_embedding_is_unchanged_by_fit_and_counts_as_non_trainable)
{
    bgm_model *m = NULL;
    bgm_layer *e = bgm_layer_embedding(10, 4);
    bgm_tensor *x, *y, *const *params;
    bgm_fit_options fo = quiet(2, 16);
    float before[40], lstm_before[16 * 4];
    char text[4096];
    int count;
    BGM_ASSERT_OK(bgm_layer_set_trainable(e, 0));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(4)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    ck_assert_int_eq(bgm_model_num_params(m), 40 + 4 * (16 + 16 + 4) + 5);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 4 * (16 + 16 + 4) + 5);
    ck_assert_int_eq(bgm_model_weight_trainable(m, 0), 0);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, m));
    ck_assert_int_eq(count, 5);
    BGM_ASSERT_OK(bgm_model_summary_string(text, sizeof text, NULL, m));
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 40\n"));
    memcpy(before, weight(m, 0), sizeof before);
    memcpy(lstm_before, weight(m, 1), sizeof lstm_before);
    toy_data(&x, &y, 64, 3);
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_BINARY_CROSSENTROPY, 1, NULL,
                                    0));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    ck_assert_int_eq(memcmp(before, weight(m, 0), sizeof before), 0);
    ck_assert_int_ne(memcmp(lstm_before, weight(m, 1), sizeof lstm_before), 0);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(embedding_matrix_is_copied_into_the_table)
{
    bgm_model *m = NULL;
    bgm_layer *e = bgm_layer_embedding(3, 2);
    bgm_tensor *mat = bgm_test_tensor((int64_t[]){3, 2}, 2,
                                      (float[]){1, 2, 3, 4, 5, 6});
    static const float want[6] = {1, 2, 3, 4, 5, 6};
    BGM_ASSERT_OK(bgm_layer_set_embedding_matrix(e, mat));
    bgm_tensor_free(mat); /* copied */
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    ck_assert_int_eq(memcmp(weight(m, 0), want, sizeof want), 0);
    bgm_model_free(m);
}
END_TEST

START_TEST(word2vec_init_copies_known_rows_and_keeps_random_ones)
{
    /* "rare" is in the vocabulary but below word2vec's min_count */
    static const char *docs[] = {"the cat sat on the mat", "the dog sat on the log",
                                 "a cat and a dog", "the rare bird"};
    bgm_word2vec_options wo;
    bgm_word2vec *w2v = NULL;
    bgm_vocab *vocab = NULL;
    bgm_model *m = NULL, *plain = NULL;
    bgm_layer *e = bgm_layer_embedding(20, 4);
    bgm_tensor *vec = NULL;
    int64_t nv, i, known = 0;
    bgm_word2vec_options_init(&wo);
    wo.vector_size = 4;
    wo.min_count = 2;
    wo.epochs = 1;
    BGM_ASSERT_OK(bgm_word2vec_train(&w2v, docs, NULL, 4, &wo));
    BGM_ASSERT_OK(bgm_vocab_build(&vocab, docs, NULL, 4, NULL));
    nv = bgm_vocab_size(vocab);
    BGM_ASSERT_OK(bgm_layer_set_embedding_word2vec(e, w2v, vocab));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 8));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    BGM_ASSERT_OK(bgm_model_create(&plain, (int64_t[]){3}, 1, 8));
    BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_embedding(20, 4)));
    for (i = 0; i < 20; i++) {
        const char *tok = i < nv ? bgm_vocab_token(vocab, (int32_t)i) : NULL;
        const float *row = weight(m, 0) + i * 4;
        if (tok && i > 1 && bgm_word2vec_index(w2v, tok) >= 0) {
            BGM_ASSERT_OK(bgm_word2vec_vector(&vec, w2v, tok));
            ck_assert_int_eq(memcmp(row, bgm_tensor_data(vec), 4 * sizeof(float)), 0);
            bgm_tensor_free(vec);
            known++;
        } else {
            ck_assert_int_eq(memcmp(row, weight(plain, 0) + i * 4, 4 * sizeof(float)), 0);
        }
    }
    ck_assert_int_eq(known, bgm_word2vec_vocab_size(w2v));
    ck_assert_int_ge(bgm_vocab_id(vocab, "rare", -1), 2);
    ck_assert_int_eq(bgm_word2vec_index(w2v, "rare"), -1);
    bgm_model_free(m);
    bgm_model_free(plain);
    bgm_vocab_free(vocab);
    bgm_word2vec_free(w2v);
}
END_TEST

/* ---- dropout -------------------------------------------------------------- */

START_TEST(dropout_is_inactive_at_inference_and_active_in_training)
{
    bgm_model *m = NULL, *plain = NULL;
    bgm_layer *l = bgm_layer_lstm(6);
    bgm_tensor *x = bgm_test_randn((int64_t[]){4, 5, 3}, 3, 2), *a = NULL, *b = NULL;
    bgm_tensor *c = NULL, *train_out;
    bgm_tape *tape = NULL;
    int64_t i, differ = 0;
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.5f));
    BGM_ASSERT_OK(bgm_layer_set_recurrent_dropout(l, 0.5f));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){5, 3}, 2, 6));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_create(&plain, (int64_t[]){5, 3}, 2, 6));
    BGM_ASSERT_OK(bgm_model_add(plain, bgm_layer_lstm(6)));
    BGM_ASSERT_OK(bgm_model_predict(&a, m, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&b, m, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&c, plain, x, 0));
    ck_assert_int_eq(memcmp(bgm_tensor_data(a), bgm_tensor_data(b), bgm_tensor_nbytes(a)), 0);
    ck_assert_int_eq(memcmp(bgm_tensor_data(a), bgm_tensor_data(c), bgm_tensor_nbytes(a)), 0);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&train_out, m, tape, x, 1));
    for (i = 0; i < 24; i++)
        differ += fabsf(((float *)bgm_tensor_data(train_out))[i] -
                        ((float *)bgm_tensor_data(a))[i]) > 1e-6f;
    ck_assert_int_gt(differ, 12);
    bgm_tape_free(tape);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(c);
    bgm_tensor_free(x);
    bgm_model_free(m);
    bgm_model_free(plain);
}
END_TEST

START_TEST(input_dropout_mask_is_shared_by_every_step)
{
    /* Keras draws one input mask per sequence for all steps: a sequence whose
     * only non-zero feature is dropped gives the output of an all-zero input
     * at every step; one whose feature is kept differs from it from step 0. */
    bgm_model *m = NULL;
    bgm_layer *l = bgm_layer_gru(2);
    bgm_tensor *x = NULL, *y, *zero_y;
    bgm_tape *tape = NULL;
    float xs[3 * 64 * 4];
    int64_t n, t, kept_all = 0, dropped_all = 0;
    memset(xs, 0, sizeof xs);
    for (n = 0; n < 64; n++)
        for (t = 0; t < 4; t++)
            xs[(n * 4 + t) * 3 + 1] = 1.0f; /* only feature 1 */
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.5f));
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4, 3}, 2, 6));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    x = bgm_test_tensor((int64_t[]){64, 4, 3}, 3, xs);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&y, m, tape, x, 1));
    memset(xs, 0, sizeof xs);
    {
        bgm_tensor *zx = bgm_test_tensor((int64_t[]){64, 4, 3}, 3, xs);
        BGM_ASSERT_OK(bgm_model_predict(&zero_y, m, zx, 0));
        bgm_tensor_free(zx);
    }
    for (n = 0; n < 64; n++) {
        const float *a = (const float *)bgm_tensor_data(y) + n * 8;
        const float *z = (const float *)bgm_tensor_data(zero_y) + n * 8;
        int same = 1;
        for (t = 0; t < 8; t++)
            same &= fabsf(a[t] - z[t]) < 1e-7f;
        if (same)
            dropped_all++;
        else
            kept_all++;
    }
    ck_assert_int_eq(dropped_all + kept_all, 64);
    ck_assert_int_gt(dropped_all, 16);
    ck_assert_int_gt(kept_all, 16);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(zero_y);
    bgm_model_free(m);
}
END_TEST

/* ---- training ------------------------------------------------------------- */

/* n sequences of 12 ids, pre-padded to random lengths 3..12; half hold token 5. */
static void token5_data(bgm_tensor **x, bgm_tensor **y, int64_t n, uint64_t seed)
{
    bgm_rng *rng = NULL;
    int32_t *ids = calloc((size_t)(n * 12), sizeof *ids);
    float *labels = malloc((size_t)n * sizeof *labels);
    int64_t i, t;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    for (i = 0; i < n; i++) {
        int64_t len = 3 + (int64_t)(bgm_rng_next_u64(rng) % 10), start = 12 - len;
        int has = (int)(bgm_rng_next_u64(rng) & 1);
        for (t = start; t < 12; t++) {
            int32_t v;
            do
                v = 1 + (int32_t)(bgm_rng_next_u64(rng) % 9);
            while (v == 5);
            ids[i * 12 + t] = v;
        }
        if (has)
            ids[i * 12 + start + (int64_t)(bgm_rng_next_u64(rng) % (uint64_t)len)] = 5;
        labels[i] = (float)has;
    }
    *x = ids_tensor(n, 12, ids);
    BGM_ASSERT_OK(bgm_tensor_from_data(y, BGM_FLOAT32, (int64_t[]){n, 1}, 2, labels));
    bgm_rng_free(rng);
    free(ids);
    free(labels);
}

static void check_learns_token5(bgm_layer *rnn)
{
    bgm_model *m = NULL;
    bgm_layer *e = bgm_layer_embedding(10, 8);
    bgm_tensor *x, *y, *tx, *ty;
    bgm_fit_options fo = quiet(12, 32);
    bgm_metric_kind acc = BGM_METRIC_ACCURACY;
    double results[2];
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(e, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){12}, 1, 12));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    BGM_ASSERT_OK(bgm_model_add(m, rnn));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_BINARY_CROSSENTROPY, 1, &acc,
                                    1));
    token5_data(&x, &y, 1024, 1);
    token5_data(&tx, &ty, 256, 2);
    fo.validation_split = 0.1;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    BGM_ASSERT_OK(bgm_model_evaluate(results, 2, m, tx, ty, 0));
    ck_assert_msg(results[1] >= 0.9, "test accuracy %g", results[1]);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(tx);
    bgm_tensor_free(ty);
    bgm_model_free(m);
}

START_TEST(fit_learns_whether_token_5_appears)
{
    bgm_layer *l = bgm_layer_lstm(16);
    BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.1f));
    BGM_ASSERT_OK(bgm_layer_set_recurrent_dropout(l, 0.1f));
    check_learns_token5(l);
    check_learns_token5(bgm_layer_bidirectional(bgm_layer_gru(8)));
}
END_TEST

START_TEST(same_seed_gives_the_same_training_with_dropout)
{
    float w[2][40 + 4 * (16 + 16 + 4) + 5];
    int k;
    for (k = 0; k < 2; k++) {
        bgm_model *m = NULL;
        bgm_layer *l = bgm_layer_lstm(4);
        bgm_tensor *x, *y;
        bgm_fit_options fo = quiet(1, 16);
        BGM_ASSERT_OK(bgm_layer_set_dropout(l, 0.3f));
        BGM_ASSERT_OK(bgm_layer_set_recurrent_dropout(l, 0.3f));
        BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 77));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(10, 4)));
        BGM_ASSERT_OK(bgm_model_add(m, l));
        BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
        ck_assert_int_eq(bgm_model_num_params(m), (int64_t)(sizeof w[0] / sizeof(float)));
        BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_BINARY_CROSSENTROPY, 1,
                                        NULL, 0));
        toy_data(&x, &y, 64, 3);
        BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
        BGM_ASSERT_OK(bgm_model_get_weights(m, w[k], (int64_t)(sizeof w[0] / sizeof(float))));
        bgm_tensor_free(x);
        bgm_tensor_free(y);
        bgm_model_free(m);
    }
    ck_assert_int_eq(memcmp(w[0], w[1], sizeof w[0]), 0);
}
END_TEST

/* ---- bad input -------------------------------------------------------------- */

START_TEST(float_input_to_an_embedding_model_names_the_layer)
{
    bgm_model *m = NULL;
    bgm_tensor *xf = bgm_test_randn((int64_t[]){2, 6}, 2, 1), *out = NULL;
    bgm_tensor *y = bgm_test_tensor((int64_t[]){2, 1}, 2, (float[]){0, 1});
    bgm_tape *tape = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(10, 4)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(3)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_BINARY_CROSSENTROPY, 1, NULL,
                                    0));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, xf, 0), BGM_E_DTYPE,
                     "bgm_model_predict: x is float32, but layer 0 (Embedding) takes int32 "
                     "token ids");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, m, xf, y, NULL), BGM_E_DTYPE,
                     "layer 0 (Embedding) takes int32 token ids");
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_FAILS(bgm_model_forward(&out, m, tape, xf, 0), BGM_E_DTYPE,
                     "layer 0 (Embedding)");
    bgm_tape_free(tape);
    bgm_tensor_free(xf);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(ids_beyond_the_vocabulary_fail_with_range)
{
    static const int32_t ids[6] = {1, 2, 3, 4, 20, 0};
    bgm_model *m = NULL;
    bgm_tensor *x = ids_tensor(1, 6, ids), *out = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(20, 4)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_gru(3)));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, x, 0), BGM_E_RANGE,
                     "layer 0 (Embedding): bgm_op_embedding: id 20 at position [0, 4] is "
                     "outside [0, 20)");
    ck_assert_ptr_null(out);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(int32_input_to_a_float_model_suggests_an_embedding)
{
    static const int32_t ids[6] = {1, 2, 3, 4, 5, 6};
    bgm_model *m = NULL;
    bgm_tensor *x = ids_tensor(1, 6, ids), *out = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 4));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, m, x, 0), BGM_E_DTYPE,
                     "x is int32, the model takes float32 inputs (token ids need an "
                     "Embedding layer first)");
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(layers_that_cannot_take_their_input_fail_when_added)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 4));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_lstm(3)), BGM_E_SHAPE,
                     "layer 0 (LSTM): expected input of 2 dimensions (timesteps, features), "
                     "got (6,) — token ids need an Embedding layer before it");
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_bidirectional(bgm_layer_gru(3))),
                     BGM_E_SHAPE, "layer 0 (Bidirectional): expected input of 2 dimensions");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(10, 4)));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_embedding(10, 4)), BGM_E_DTYPE,
                     "layer 1 (Embedding): takes int32 token ids, so it must be the model's "
                     "first layer");
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(3)));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_gru(3)), BGM_E_SHAPE,
                     "layer 2 (GRU): expected input of 2 dimensions (timesteps, features), "
                     "got (3,)");
    ck_assert_int_eq(bgm_model_num_layers(m), 2);
    bgm_model_free(m);
}
END_TEST

START_TEST(constructors_reject_bad_arguments)
{
    bgm_model *m = NULL;
    bgm_layer *d;
    ck_assert_ptr_null(bgm_layer_embedding(0, 4));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_embedding: vocab_size = 0, "
                                                   "expected at least 1"));
    ck_assert_ptr_null(bgm_layer_embedding(5, -1));
    ck_assert_ptr_null(bgm_layer_embedding((int64_t)1 << 40, 4));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "token ids are int32"));
    ck_assert_ptr_null(bgm_layer_lstm(0));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_lstm: units = 0"));
    ck_assert_ptr_null(bgm_layer_gru(-2));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_gru: units = -2"));
    /* a NULL inner layer keeps its constructor's message */
    ck_assert_ptr_null(bgm_layer_bidirectional(bgm_layer_lstm(0)));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_lstm: units = 0"));
    ck_assert_ptr_null(bgm_layer_bidirectional(bgm_layer_dense(3, BGM_ACT_RELU)));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_bidirectional: wraps an LSTM "
                                                   "or GRU layer, got a Dense layer"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4, 2}, 2, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_lstm(2)));
    ck_assert_ptr_null(bgm_layer_bidirectional((bgm_layer *)bgm_model_layer(m, 0)));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "belongs to a model"));
    ck_assert_int_eq(bgm_model_num_layers(m), 1); /* still the model's */
    d = bgm_layer_bidirectional(bgm_layer_gru(2));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_embedding(4, 2)), BGM_E_DTYPE,
                     "must be the model's first layer");
    bgm_layer_free(d);
    bgm_model_free(m);
}
END_TEST

START_TEST(a_wrapped_layer_cannot_be_changed_added_or_wrapped_again)
{
    bgm_model *m = NULL;
    bgm_layer *inner = bgm_layer_lstm(3), *bi = bgm_layer_bidirectional(inner);
    ck_assert_ptr_nonnull(bi);
    BGM_ASSERT_FAILS(bgm_layer_set_return_sequences(inner, 1), BGM_E_STATE,
                     "bgm_layer_set_return_sequences: the LSTM layer is wrapped by a "
                     "Bidirectional layer; set its options before wrapping it");
    ck_assert_ptr_null(bgm_layer_bidirectional(inner));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "wrapped by another Bidirectional"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4, 2}, 2, 1));
    BGM_ASSERT_FAILS(bgm_model_add(m, inner), BGM_E_STATE,
                     "the LSTM layer is wrapped by a Bidirectional layer; add the "
                     "Bidirectional layer");
    BGM_ASSERT_OK(bgm_model_add(m, bi));
    ck_assert_int_eq(bgm_model_num_layers(m), 1);
    bgm_model_free(m);
}
END_TEST

START_TEST(setters_reject_other_kinds_bad_values_and_added_layers)
{
    bgm_layer *d = bgm_layer_dense(2, BGM_ACT_LINEAR), *l = bgm_layer_lstm(2);
    bgm_layer *e = bgm_layer_embedding(5, 2);
    bgm_model *m = NULL;
    BGM_ASSERT_FAILS(bgm_layer_set_return_sequences(d, 1), BGM_E_UNSUPPORTED,
                     "bgm_layer_set_return_sequences: a Dense layer has no return_sequences");
    BGM_ASSERT_FAILS(bgm_layer_set_dropout(e, 0.1f), BGM_E_UNSUPPORTED,
                     "an Embedding layer has no input dropout");
    BGM_ASSERT_FAILS(bgm_layer_set_recurrent_dropout(d, 0.1f), BGM_E_UNSUPPORTED,
                     "a Dense layer has no recurrent dropout");
    BGM_ASSERT_FAILS(bgm_layer_set_mask_zero(l, 1), BGM_E_UNSUPPORTED,
                     "bgm_layer_set_mask_zero: an LSTM layer has no mask_zero");
    BGM_ASSERT_FAILS(bgm_layer_set_kernel_l2(l, 0.1f), BGM_E_UNSUPPORTED,
                     "an LSTM layer has no kernel regularizer");
    BGM_ASSERT_FAILS(bgm_layer_set_dropout(l, 1.0f), BGM_E_INVALID,
                     "bgm_layer_set_dropout: rate = 1, expected a value in [0, 1)");
    BGM_ASSERT_FAILS(bgm_layer_set_recurrent_dropout(l, -0.5f), BGM_E_INVALID,
                     "rate = -0.5");
    BGM_ASSERT_FAILS(bgm_layer_set_recurrent_dropout(l, NAN), BGM_E_INVALID, "rate = nan");
    ck_assert_int_eq(bgm_layer_set_dropout(NULL, 0.1f), BGM_E_INVALID);
    ck_assert_int_eq(bgm_layer_set_mask_zero(NULL, 1), BGM_E_INVALID);
    ck_assert_int_eq(bgm_layer_set_trainable(NULL, 0), BGM_E_INVALID);
    ck_assert_int_eq(bgm_layer_set_return_sequences(NULL, 1), BGM_E_INVALID);
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(l, BGM_INIT_HE_UNIFORM));
    BGM_ASSERT_OK(bgm_layer_set_use_bias(l, 0));
    BGM_ASSERT_FAILS(bgm_layer_set_kernel_initializer(l, (bgm_initializer)9),
                     BGM_E_INVALID, "unknown initializer 9");
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, e));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    ck_assert_int_eq(bgm_layer_num_params(l), 4 * (2 * 2 + 2 * 2)); /* no bias */
    BGM_ASSERT_FAILS(bgm_layer_set_mask_zero(e, 1), BGM_E_STATE, "belongs to a model");
    BGM_ASSERT_FAILS(bgm_layer_set_trainable(l, 0), BGM_E_STATE, "belongs to a model");
    BGM_ASSERT_FAILS(bgm_layer_set_dropout(l, 0.2f), BGM_E_STATE, "belongs to a model");
    bgm_layer_free(d);
    bgm_model_free(m);
}
END_TEST

START_TEST(embedding_initial_rows_reject_bad_matrices_and_vectors)
{
    static const char *docs[] = {"one two three two one", "three two one one"};
    bgm_word2vec_options wo;
    bgm_word2vec *w2v = NULL;
    bgm_vocab *vocab = NULL;
    bgm_layer *e = bgm_layer_embedding(4, 3), *small = bgm_layer_embedding(3, 5);
    bgm_layer *l = bgm_layer_lstm(2);
    bgm_tensor *bad_shape = bgm_test_randn((int64_t[]){4, 2}, 2, 1), *ints = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&ints, BGM_INT32, (int64_t[]){4, 3}, 2));
    bgm_word2vec_options_init(&wo);
    wo.vector_size = 5;
    wo.min_count = 1;
    wo.epochs = 1;
    BGM_ASSERT_OK(bgm_word2vec_train(&w2v, docs, NULL, 2, &wo));
    BGM_ASSERT_OK(bgm_vocab_build(&vocab, docs, NULL, 2, NULL)); /* 5 ids */
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_matrix(e, NULL), BGM_E_INVALID, "NULL");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_matrix(e, bad_shape), BGM_E_SHAPE,
                     "bgm_layer_set_embedding_matrix: the matrix has shape (4, 2), the "
                     "layer's table is (4, 3) (vocab_size, dim)");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_matrix(e, ints), BGM_E_DTYPE,
                     "the matrix is int32, expected float32");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_matrix(l, bad_shape), BGM_E_UNSUPPORTED,
                     "an LSTM layer has no embedding matrix");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_word2vec(e, NULL, vocab), BGM_E_INVALID,
                     "NULL");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_word2vec(e, w2v, NULL), BGM_E_INVALID, "NULL");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_word2vec(e, w2v, vocab), BGM_E_SHAPE,
                     "the word vectors have 5 dimensions, the layer's dim is 3");
    BGM_ASSERT_FAILS(bgm_layer_set_embedding_word2vec(small, w2v, vocab), BGM_E_SHAPE,
                     "the vocabulary has 5 ids, more than the layer's vocab_size 3");
    bgm_layer_free(e);
    bgm_layer_free(small);
    bgm_layer_free(l);
    bgm_tensor_free(bad_shape);
    bgm_tensor_free(ints);
    bgm_vocab_free(vocab);
    bgm_word2vec_free(w2v);
}
END_TEST

START_TEST(a_layer_with_pretrained_rows_is_freed_when_never_added)
{
    /* run under valgrind: the copied rows go with the layer */
    bgm_layer *e = bgm_layer_embedding(3, 2);
    bgm_tensor *mat = bgm_test_randn((int64_t[]){3, 2}, 2, 1);
    BGM_ASSERT_OK(bgm_layer_set_embedding_matrix(e, mat));
    BGM_ASSERT_OK(bgm_layer_set_embedding_matrix(e, mat)); /* replaces the first copy */
    bgm_layer_free(e);
    bgm_layer_free(NULL);
    bgm_tensor_free(mat);
}
END_TEST

/* Keras' Dense passes the mask on: Embedding(mask_zero) -> Dense -> masked
 * pooling ignores the padding, so a padded sequence pools like the bare one. */
static bgm_model *embed_dense_pool(int64_t t)
{
    bgm_model *m = NULL;
    bgm_layer *emb = bgm_layer_embedding(10, 4);
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(emb, 1));
    BGM_ASSERT_OK(bgm_model_create(&m, &t, 1, 5));
    BGM_ASSERT_OK(bgm_model_add(m, emb));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_TANH)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_global_avg_pool1d()));
    return m;
}

START_TEST(dense_passes_the_mask_on_to_masked_pooling)
{
    bgm_model *bare = embed_dense_pool(3), *padded = embed_dense_pool(6);
    bgm_tensor *x3 = ids_tensor(1, 3, (int32_t[]){3, 4, 5});
    bgm_tensor *x6 = ids_tensor(1, 6, (int32_t[]){3, 4, 5, 0, 0, 0});
    bgm_tensor *a = NULL, *b = NULL;
    float w[10 * 4 + 4 * 3 + 3];
    BGM_ASSERT_OK(bgm_model_get_weights(bare, w, 55));
    BGM_ASSERT_OK(bgm_model_set_weights(padded, w, 55));
    BGM_ASSERT_OK(bgm_model_predict(&a, bare, x3, 0));
    BGM_ASSERT_OK(bgm_model_predict(&b, padded, x6, 0));
    bgm_test_assert_close(b, (int64_t[]){1, 3}, 2, bgm_tensor_data(a), 1e-6);
    bgm_tensor_free(a);
    bgm_tensor_free(b);
    bgm_tensor_free(x3);
    bgm_tensor_free(x6);
    bgm_model_free(bare);
    bgm_model_free(padded);
}
END_TEST

/* A per-position output (N, T, V) with labels (N, T): accuracy counts every
 * position, as Keras' sparse_categorical_accuracy does. */
START_TEST(accuracy_of_a_sequence_output_counts_every_position)
{
    bgm_model *m = NULL;
    bgm_tensor *x, *y, *p = NULL;
    int32_t ids[4 * 6], labels[4 * 6];
    double results[2];
    int i, j, best;
    for (i = 0; i < 24; i++)
        ids[i] = (i * 5 + 3) % 7;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 11));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_embedding(7, 5)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(7, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(1e-3f), BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                                    1, (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1));
    x = ids_tensor(4, 6, ids);
    BGM_ASSERT_OK(bgm_model_predict(&p, m, x, 0));
    /* the predicted class at 9 positions of 24, another one elsewhere */
    for (i = 0; i < 24; i++) {
        const float *row = (const float *)bgm_tensor_data(p) + i * 7;
        for (best = 0, j = 1; j < 7; j++)
            if (row[j] > row[best])
                best = j;
        labels[i] = i % 8 < 3 ? best : (best + 1 + i % 5) % 7;
    }
    y = ids_tensor(4, 6, labels);
    BGM_ASSERT_OK(bgm_model_evaluate(results, 2, m, x, y, 3));
    ck_assert_double_eq_tol(results[1], 9.0 / 24, 1e-9);
    bgm_tensor_free(p);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model_seq(void)
{
    Suite *s = suite_create("model_seq");
    TCase *shapes = tcase_create("shapes");
    TCase *init = tcase_create("init");
    TCase *mask = tcase_create("mask");
    TCase *embed = tcase_create("embedding");
    TCase *drop = tcase_create("dropout");
    TCase *train = tcase_create("train");
    TCase *bad = tcase_create("bad_input");
    tcase_add_test(shapes, lstm_text_classifier_has_keras_parameter_counts);
    tcase_add_test(shapes, gru_and_bidirectional_have_keras_parameter_counts_and_names);
    tcase_add_test(shapes, outputs_have_the_shapes_keras_gives);
    tcase_add_test(shapes, bidirectional_concatenates_the_forward_and_the_reversed_layer);
    tcase_add_test(init, recurrent_kernels_are_orthogonal_and_the_forget_bias_is_one);
    tcase_add_test(init, orthogonal_dense_kernel_has_orthonormal_columns_when_taller);
    tcase_add_test(init, embedding_starts_uniform_within_five_hundredths);
    tcase_add_test(mask, pre_padding_with_mask_zero_gives_the_unpadded_output);
    tcase_add_test(mask, mask_passes_through_a_recurrent_layer_returning_sequences);
    tcase_add_test(mask, without_mask_zero_padding_changes_the_output);
    tcase_add_test(embed, frozen_embedding_is_unchanged_by_fit_and_counts_as_non_trainable);
    tcase_add_test(embed, embedding_matrix_is_copied_into_the_table);
    tcase_add_test(embed, word2vec_init_copies_known_rows_and_keeps_random_ones);
    tcase_add_test(embed, a_layer_with_pretrained_rows_is_freed_when_never_added);
    tcase_add_test(drop, dropout_is_inactive_at_inference_and_active_in_training);
    tcase_add_test(drop, input_dropout_mask_is_shared_by_every_step);
    tcase_add_test(train, fit_learns_whether_token_5_appears);
    tcase_add_test(train, same_seed_gives_the_same_training_with_dropout);
    BGM_TEST_SLOW(train, 120);
    BGM_TEST_SLOW(embed, 20);
    tcase_add_test(mask, accuracy_of_a_sequence_output_counts_every_position);
    tcase_add_test(mask, dense_passes_the_mask_on_to_masked_pooling);
    tcase_add_test(bad, float_input_to_an_embedding_model_names_the_layer);
    tcase_add_test(bad, ids_beyond_the_vocabulary_fail_with_range);
    tcase_add_test(bad, int32_input_to_a_float_model_suggests_an_embedding);
    tcase_add_test(bad, layers_that_cannot_take_their_input_fail_when_added);
    tcase_add_test(bad, constructors_reject_bad_arguments);
    tcase_add_test(bad, a_wrapped_layer_cannot_be_changed_added_or_wrapped_again);
    tcase_add_test(bad, setters_reject_other_kinds_bad_values_and_added_layers);
    tcase_add_test(bad, embedding_initial_rows_reject_bad_matrices_and_vectors);
    suite_add_tcase(s, shapes);
    suite_add_tcase(s, init);
    suite_add_tcase(s, mask);
    suite_add_tcase(s, embed);
    suite_add_tcase(s, drop);
    suite_add_tcase(s, train);
    suite_add_tcase(s, bad);
    return s;
}
