/* Freezing layers (Keras' layer.trainable): frozen weights keep their bits
 * through fit while the others train, fit follows the flags of the last
 * compile, summaries and weight lists follow them at once, a frozen
 * BatchNormalization runs in inference mode, model files keep the flags,
 * and the fine-tuning flow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

static bgm_optimizer *adam(void)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.01f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    return o;
}

static void compile_mse(bgm_model *m)
{
    BGM_ASSERT_OK(bgm_model_compile(m, adam(), BGM_LOSS_MSE, 0, NULL, 0));
}

static void fit(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y, int epochs)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.batch_size = 8;
    o.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
}

/* A copy of every weight of m, in order. */
static float *snapshot(const bgm_model *m)
{
    int64_t n = bgm_model_num_params(m);
    float *buf = malloc((size_t)(n + 1) * sizeof *buf);
    ck_assert_ptr_nonnull(buf);
    BGM_ASSERT_OK(bgm_model_get_weights(m, buf, n));
    return buf;
}

/* Checks each weight of m against before: unchanged bit for bit when its
 * layer's name is in frozen (a list ending with NULL), changed otherwise
 * (moving statistics, which fit updates unless the layer is frozen, included). */
static void assert_frozen_exactly(const bgm_model *m, const float *before,
                                  const char *const *frozen)
{
    const float *p = before;
    int i, k;
    for (i = 0; i < bgm_model_num_weights(m); i++) {
        const bgm_tensor *w = bgm_model_weight(m, i);
        const char *name = bgm_model_weight_name(m, i);
        int64_t n = bgm_tensor_numel(w);
        int is_frozen = 0, same = memcmp(p, bgm_tensor_data(w), (size_t)n * sizeof *p) == 0;
        for (k = 0; frozen[k]; k++)
            is_frozen |= strncmp(name, frozen[k], strlen(frozen[k])) == 0 &&
                         name[strlen(frozen[k])] == '/';
        if (is_frozen != same)
            ck_abort_msg("weight %s: %s after fit", name, same ? "unchanged" : "changed");
        p += n;
    }
}

/* Fits m (compiled) on x, y for epochs and checks that exactly the layers
 * named in frozen kept their weights. */
static void fit_checking(bgm_model *m, const bgm_tensor *x, const bgm_tensor *y, int epochs,
                         const char *const *frozen)
{
    float *before = snapshot(m);
    fit(m, x, y, epochs);
    assert_frozen_exactly(m, before, frozen);
    free(before);
}

static void release(bgm_model *m, bgm_tensor *x, bgm_tensor *y)
{
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}

static bgm_tensor *uniform(const int64_t *shape, int ndim, uint64_t seed)
{
    return bgm_test_uniform(shape, ndim, -1.0f, 1.0f, seed);
}

static bgm_tensor *int_ids(int64_t n, int64_t t, int vocab, uint64_t seed)
{
    bgm_tensor *x = NULL;
    bgm_rng *rng = NULL;
    int32_t *v;
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_INT32, (int64_t[]){n, t}, 2));
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    v = bgm_tensor_data(x);
    for (i = 0; i < n * t; i++)
        v[i] = (int32_t)(bgm_rng_uniform(rng) * vocab) % vocab;
    bgm_rng_free(rng);
    return x;
}

/* in -> Dense(8, relu) "base" -> Dense(8, relu) "mid" -> Dense(2) "head". */
static bgm_model *mlp(uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_layer *a = bgm_layer_dense(8, BGM_ACT_RELU), *b = bgm_layer_dense(8, BGM_ACT_RELU),
              *c = bgm_layer_dense(2, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_name(a, "base"));
    BGM_ASSERT_OK(bgm_layer_set_name(b, "mid"));
    BGM_ASSERT_OK(bgm_layer_set_name(c, "head"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, a));
    BGM_ASSERT_OK(bgm_model_add(m, b));
    BGM_ASSERT_OK(bgm_model_add(m, c));
    return m;
}

static void mlp_data(bgm_tensor **x, bgm_tensor **y)
{
    *x = uniform((int64_t[]){32, 4}, 2, 1);
    *y = uniform((int64_t[]){32, 2}, 2, 2);
}

/* ---- frozen weights keep their bits ------------------------------------------ */

START_TEST(frozen_dense_layer_keeps_its_bits_through_fit)
{
    bgm_model *m = mlp(7);
    bgm_tensor *x, *y;
    mlp_data(&x, &y);
    BGM_ASSERT_OK(bgm_layer_set_trainable((bgm_layer *)bgm_model_get_layer(m, "mid"), 0));
    compile_mse(m);
    fit_checking(m, x, y, 2, (const char *[]){"mid", NULL});
    release(m, x, y);
}
END_TEST

START_TEST(frozen_conv2d_layer_keeps_its_bits_through_fit)
{
    bgm_model *m = NULL;
    bgm_layer *conv = bgm_layer_conv2d(3, 3, BGM_ACT_RELU);
    bgm_tensor *x = uniform((int64_t[]){16, 6, 6, 2}, 4, 3);
    bgm_tensor *y = uniform((int64_t[]){16, 2}, 2, 4);
    BGM_ASSERT_OK(bgm_layer_set_name(conv, "conv"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6, 6, 2}, 3, 11));
    BGM_ASSERT_OK(bgm_model_add(m, conv));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(2, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_layer_set_trainable(conv, 0)); /* after it was added */
    compile_mse(m);
    fit_checking(m, x, y, 2, (const char *[]){"conv", NULL});
    release(m, x, y);
}
END_TEST

START_TEST(frozen_embedding_and_lstm_keep_their_bits_through_fit)
{
    /* Embedding -> LSTM -> LSTM -> Dense, freezing the Embedding and the
     * first LSTM: gradients still flow through the frozen LSTM to nothing
     * trainable below it, and through the second LSTM, which trains. */
    bgm_model *m = NULL;
    bgm_layer *emb = bgm_layer_embedding(10, 4), *l1 = bgm_layer_lstm(5),
              *l2 = bgm_layer_lstm(3);
    bgm_tensor *x = int_ids(16, 6, 10, 5), *y = uniform((int64_t[]){16, 2}, 2, 6);
    BGM_ASSERT_OK(bgm_layer_set_name(emb, "emb"));
    BGM_ASSERT_OK(bgm_layer_set_name(l1, "lstm_a"));
    BGM_ASSERT_OK(bgm_layer_set_name(l2, "lstm_b"));
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(l1, 1));
    BGM_ASSERT_OK(bgm_layer_set_trainable(emb, 0)); /* before it was added */
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 13));
    BGM_ASSERT_OK(bgm_model_add(m, emb));
    BGM_ASSERT_OK(bgm_model_add(m, l1));
    BGM_ASSERT_OK(bgm_model_add(m, l2));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "lstm_a", 0));
    compile_mse(m);
    fit_checking(m, x, y, 2, (const char *[]){"emb", "lstm_a", NULL});
    release(m, x, y);
}
END_TEST

START_TEST(frozen_bidirectional_freezes_both_directions)
{
    bgm_model *m = NULL;
    bgm_layer *inner = bgm_layer_gru(3), *bi = bgm_layer_bidirectional(inner);
    bgm_tensor *x = uniform((int64_t[]){8, 5, 2}, 3, 8), *y = uniform((int64_t[]){8, 1}, 2, 9);
    char cfg[2048];
    BGM_ASSERT_OK(bgm_layer_set_name(bi, "bi"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){5, 2}, 2, 17));
    BGM_ASSERT_OK(bgm_model_add(m, bi));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_FAILS(bgm_layer_set_trainable(inner, 0), BGM_E_STATE,
                     "wrapped by a Bidirectional layer");
    BGM_ASSERT_OK(bgm_layer_set_trainable(bi, 0));
    BGM_ASSERT_OK(bgm_layer_config_string(cfg, sizeof cfg, NULL, bi));
    ck_assert_ptr_nonnull(strstr(cfg, "\"name\": \"bi\", \"trainable\": false"));
    compile_mse(m);
    fit_checking(m, x, y, 1, (const char *[]){"bi", NULL});
    release(m, x, y);
}
END_TEST

/* ---- timing: the next compile ---------------------------------------------------- */

START_TEST(freezing_after_compile_changes_nothing_until_the_next_compile)
{
    bgm_model *a = mlp(21), *b = mlp(21);
    bgm_tensor *x, *y;
    float *wa, *wb;
    int64_t n = bgm_model_num_params(a);
    mlp_data(&x, &y);
    compile_mse(a);
    compile_mse(b);
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(a, "base", 0));
    /* What the model reports follows at once (Keras' trainable_weights)... */
    ck_assert_int_eq(bgm_model_num_trainable_params(a), 8 * 8 + 8 + 8 * 2 + 2);
    ck_assert_int_eq(bgm_model_weight_trainable(a, 0), 0);
    /* ... fit does not: a and b train to the same bits. */
    fit(a, x, y, 2);
    fit(b, x, y, 2);
    wa = snapshot(a);
    wb = snapshot(b);
    ck_assert_int_eq(memcmp(wa, wb, (size_t)n * sizeof *wa), 0);
    /* After compiling again, base stays as it is. */
    compile_mse(a);
    fit_checking(a, x, y, 1, (const char *[]){"base", NULL});
    free(wa);
    free(wb);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

START_TEST(unfreezing_trains_the_layer_again_from_the_next_compile)
{
    bgm_model *m = mlp(23);
    bgm_tensor *x, *y;
    mlp_data(&x, &y);
    BGM_ASSERT_OK(bgm_model_set_trainable(m, 0));
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 0);
    compile_mse(m);
    fit_checking(m, x, y, 1, (const char *[]){"base", "mid", "head", NULL});
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "head", 1));
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(m, "head")), 1);
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(m, "base")), 0);
    fit_checking(m, x, y, 1, (const char *[]){"base", "mid", "head", NULL});
    compile_mse(m);
    fit_checking(m, x, y, 1, (const char *[]){"base", "mid", NULL});
    release(m, x, y);
}
END_TEST

/* ---- counts and lists ---------------------------------------------------------- */

START_TEST(summary_and_weight_lists_count_frozen_weights_as_non_trainable)
{
    bgm_model *m = NULL;
    bgm_layer *bn = bgm_layer_batch_norm(), *d = bgm_layer_dense(3, BGM_ACT_LINEAR);
    bgm_tensor *const *params = NULL;
    char text[4096];
    int count = 0;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 3));
    BGM_ASSERT_OK(bgm_model_add(m, d));                        /* 15 */
    BGM_ASSERT_OK(bgm_model_add(m, bn));                       /* 6 + 6 state */
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR))); /* 8 */
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, m));
    ck_assert_int_eq(count, 6);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 29);
    BGM_ASSERT_OK(bgm_layer_set_trainable(d, 0));
    BGM_ASSERT_OK(bgm_layer_set_trainable(bn, 0));
    ck_assert_int_eq(bgm_model_num_params(m), 35);
    ck_assert_int_eq(bgm_model_num_trainable_params(m), 8);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, m));
    ck_assert_int_eq(count, 2);
    ck_assert_ptr_eq(params[0], bgm_model_weight(m, 6)); /* dense_1/kernel */
    ck_assert_str_eq(bgm_model_weight_name(m, 6), "dense_1/kernel");
    ck_assert_int_eq(bgm_model_weight_trainable(m, 0), 0);
    ck_assert_int_eq(bgm_model_weight_trainable(m, 2), 0); /* gamma */
    ck_assert_int_eq(bgm_model_weight_trainable(m, 6), 1);
    BGM_ASSERT_OK(bgm_model_summary_string(text, sizeof text, NULL, m));
    ck_assert_ptr_nonnull(strstr(text, "Total params: 35\n"));
    ck_assert_ptr_nonnull(strstr(text, "Trainable params: 8\n"));
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 27\n"));
    BGM_ASSERT_OK(bgm_model_set_trainable(m, 1));
    BGM_ASSERT_OK(bgm_model_summary_string(text, sizeof text, NULL, m));
    ck_assert_ptr_nonnull(strstr(text, "Trainable params: 29\n"));
    ck_assert_ptr_nonnull(strstr(text, "Non-trainable params: 6\n"));
    bgm_model_free(m);
}
END_TEST

/* ---- BatchNormalization -------------------------------------------------------- */

/* Dense(6) -> BatchNormalization "bn" -> Dense(2). */
static bgm_model *bn_model(uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_layer *bn = bgm_layer_batch_norm();
    BGM_ASSERT_OK(bgm_layer_set_name(bn, "bn"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(6, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bn));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    return m;
}

START_TEST(frozen_batch_norm_runs_in_inference_mode_and_keeps_its_statistics)
{
    bgm_model *m = bn_model(31);
    bgm_tensor *x, *y, *pred = NULL, *train_out = NULL;
    bgm_tape *tape = NULL;
    int i;
    mlp_data(&x, &y);
    /* Moving statistics away from their initial 0 / 1, so inference differs
     * from training mode. */
    compile_mse(m);
    fit(m, x, y, 1);
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "bn", 0));
    /* A training-mode forward now equals inference. */
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&train_out, m, tape, x, 1));
    BGM_ASSERT_OK(bgm_model_predict(&pred, m, x, 0));
    for (i = 0; i < 64; i++)
        ck_assert_float_eq(((float *)bgm_tensor_data(train_out))[i],
                           ((float *)bgm_tensor_data(pred))[i]);
    /* fit (compiled again) keeps gamma, beta and the moving statistics. */
    compile_mse(m);
    fit_checking(m, x, y, 2, (const char *[]){"bn", NULL});
    /* Unfrozen, training mode differs from inference (the test can fail). */
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "bn", 1));
    bgm_tensor_free(pred);
    BGM_ASSERT_OK(bgm_tape_reset(tape));
    BGM_ASSERT_OK(bgm_model_forward(&train_out, m, tape, x, 1));
    BGM_ASSERT_OK(bgm_model_predict(&pred, m, x, 0));
    ck_assert(memcmp(bgm_tensor_data(train_out), bgm_tensor_data(pred), 64 * sizeof(float)) !=
              0);
    bgm_tensor_free(pred);
    bgm_tape_free(tape);
    release(m, x, y);
}
END_TEST

/* ---- files ------------------------------------------------------------------------ */

START_TEST(save_and_load_keep_the_flags_and_the_compiled_ones)
{
    char path[512], text_a[4096], text_b[4096];
    bgm_model *a = mlp(41), *b = NULL;
    bgm_tensor *x, *y;
    float *wa, *wb;
    int64_t n = bgm_model_num_params(a);
    mlp_data(&x, &y);
    bgm_test_tmpdir_create("freeze");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(a, "base", 0));
    compile_mse(a);
    fit(a, x, y, 1);
    /* Frozen after compile: the file must keep what fit follows (base
     * frozen, mid trained) apart from the flags (mid frozen). */
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(a, "base", 1));
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(a, "mid", 0));
    BGM_ASSERT_OK(bgm_model_save(a, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&b, path));
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(b, "base")), 1);
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(b, "mid")), 0);
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(b, "head")), 1);
    BGM_ASSERT_OK(bgm_model_summary_string(text_a, sizeof text_a, NULL, a));
    BGM_ASSERT_OK(bgm_model_summary_string(text_b, sizeof text_b, NULL, b));
    ck_assert_str_eq(text_a, text_b);
    /* Both resume to the same bits (the optimizer's slots fit the list). */
    fit(a, x, y, 1);
    fit(b, x, y, 1);
    wa = snapshot(a);
    wb = snapshot(b);
    ck_assert_int_eq(memcmp(wa, wb, (size_t)n * sizeof *wa), 0);
    free(wa);
    free(wb);
    /* A file whose compiled flags do not fit the model is refused. */
    {
        bgm_archive *ar = bgm_test_archive_copy_without(path, "compile.trainable");
        bgm_model *c = NULL;
        BGM_ASSERT_OK(bgm_archive_add_int64_array(ar, "compile.trainable",
                                                  (int64_t[]){1, 2, 1}, 3));
        snprintf(path, sizeof path, "%s/bad.bgm", bgm_test_tmpdir());
        BGM_ASSERT_OK(bgm_archive_save(ar, path, 0));
        BGM_ASSERT_FAILS(bgm_model_load(&c, path), BGM_E_FORMAT,
                         "compile.trainable[1] = 2, expected 0 or 1");
        bgm_archive_free(ar);
    }
    bgm_test_tmpdir_remove();
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(a);
    bgm_model_free(b);
}
END_TEST

/* ---- the fine-tuning flow -------------------------------------------------------- */

START_TEST(fine_tuning_trains_the_head_only_after_freezing_the_base)
{
    bgm_model *m = mlp(51);
    bgm_tensor *x, *y;
    double before_loss, after_loss;
    float *before;
    mlp_data(&x, &y);
    compile_mse(m);
    fit(m, x, y, 3);
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "base", 0));
    BGM_ASSERT_OK(bgm_model_set_layer_trainable(m, "mid", 0));
    compile_mse(m); /* a fresh optimizer, with slots for the head only */
    BGM_ASSERT_OK(bgm_model_evaluate(&before_loss, 1, m, x, y, 0));
    before = snapshot(m);
    fit(m, x, y, 5);
    ck_assert_int_eq(bgm_optimizer_state_size(bgm_model_optimizer(m)), 2 * (8 * 2 + 2));
    BGM_ASSERT_OK(bgm_model_evaluate(&after_loss, 1, m, x, y, 0));
    ck_assert(after_loss < before_loss);
    assert_frozen_exactly(m, before, (const char *[]){"base", "mid", NULL});
    free(before);
    release(m, x, y);
}
END_TEST

/* ---- bad input -------------------------------------------------------------------- */

static int compile_mid_fit(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                           int64_t batch, const bgm_logs *logs)
{
    bgm_status *seen = ctx;
    if (event == BGM_EVENT_EPOCH_BEGIN) {
        /* Setting a flag is fine (takes effect at the next compile)... */
        seen[0] = bgm_model_set_layer_trainable(m, "head", 0);
        /* ... compiling is not. */
        seen[1] = bgm_model_compile(m, adam(), BGM_LOSS_MSE, 0, NULL, 0);
    }
    return 0;
}

START_TEST(bad_input_gets_clear_statuses)
{
    bgm_model *m = mlp(61);
    bgm_callback *cb = NULL;
    bgm_fit_options o;
    bgm_status seen[2] = {BGM_E_INTERNAL, BGM_E_INTERNAL};
    bgm_tensor *x, *y;
    float *before;
    mlp_data(&x, &y);
    ck_assert_int_eq(bgm_layer_set_trainable(NULL, 0), BGM_E_INVALID);
    ck_assert_int_eq(bgm_layer_trainable(NULL), 0);
    BGM_ASSERT_FAILS(bgm_model_set_trainable(NULL, 0), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_model_set_layer_trainable(NULL, "base", 0), BGM_E_INVALID, "'m'");
    BGM_ASSERT_FAILS(bgm_model_set_layer_trainable(m, NULL, 0), BGM_E_INVALID, "'name'");
    BGM_ASSERT_FAILS(bgm_model_set_layer_trainable(m, "basse", 0), BGM_E_INVALID,
                     "no layer named 'basse'");
    compile_mse(m);
    BGM_ASSERT_OK(bgm_callback_lambda(&cb, compile_mid_fit, seen));
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = 1;
    o.batch_size = 8;
    o.verbose = 0;
    o.callbacks = &cb;
    o.num_callbacks = 1;
    before = snapshot(m);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &o));
    ck_assert_int_eq(seen[0], BGM_OK);
    ck_assert_int_eq(seen[1], BGM_E_STATE);
    /* The flag set mid-fit did not stop head from training. */
    assert_frozen_exactly(m, before, (const char *[]){NULL});
    ck_assert_int_eq(bgm_layer_trainable(bgm_model_get_layer(m, "head")), 0);
    free(before);
    bgm_callback_free(cb);
    release(m, x, y);
}
END_TEST

Suite *suite_model_freeze(void)
{
    Suite *s = suite_create("model_freeze");
    TCase *tc = tcase_create("freeze");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, frozen_dense_layer_keeps_its_bits_through_fit);
    tcase_add_test(tc, frozen_conv2d_layer_keeps_its_bits_through_fit);
    tcase_add_test(tc, frozen_embedding_and_lstm_keep_their_bits_through_fit);
    tcase_add_test(tc, frozen_bidirectional_freezes_both_directions);
    tcase_add_test(tc, freezing_after_compile_changes_nothing_until_the_next_compile);
    tcase_add_test(tc, unfreezing_trains_the_layer_again_from_the_next_compile);
    tcase_add_test(tc, summary_and_weight_lists_count_frozen_weights_as_non_trainable);
    tcase_add_test(tc, frozen_batch_norm_runs_in_inference_mode_and_keeps_its_statistics);
    tcase_add_test(tc, save_and_load_keep_the_flags_and_the_compiled_ones);
    tcase_add_test(tc, fine_tuning_trains_the_head_only_after_freezing_the_base);
    tcase_add_test(tc, bad_input_gets_clear_statuses);
    suite_add_tcase(s, tc);
    return s;
}
