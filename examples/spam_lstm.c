/*
 * Spam or ham: an LSTM text classifier on the SpamAssassin public corpus,
 * beside a baseline of word2vec document vectors + logistic regression.
 *     sh tools/fetch_text_data.sh          (once: the corpus into data/)
 *     build/examples/spam_lstm [data/spam-assassin/data]
 * Every mail of easy-ham-1/2, hard-ham-1 (ham, 0) and spam-1/2 (spam, 1) is
 * read from its raw .txt file; cleaning strips the mail headers so they do
 * not give the answer away.
 */
#include "spam_corpus.h"

#define MAXLEN 200 /* ids per mail: its last 200 words, which tell more than its first */
#define EPOCHS 4   /* a cap (with early stopping) that keeps the run to a few minutes */
#define CHECK(x) do { if ((s = (x)) != BGM_OK) goto done; } while (0)

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/spam-assassin/data";
    spam_split sp = {0};
    bgm_tensor *x_tr = NULL, *x_te = NULL, *v_tr = NULL, *v_te = NULL;
    bgm_model *lstm = NULL, *logreg = NULL;
    bgm_optimizer *opt = NULL;
    bgm_vocab *vocab = NULL;
    bgm_word2vec *w2v = NULL;
    bgm_scaler *scaler = NULL;
    bgm_callback *stop = NULL;
    bgm_layer *layer;
    bgm_text_clean_options clean;
    bgm_vocab_options vo;
    bgm_word2vec_options wo;
    bgm_fit_options fo;
    bgm_metric_kind accuracy = BGM_METRIC_ACCURACY;
    int64_t i;
    bgm_status s;

    read_corpus(dir);
    printf("%lld mails read from %s\n", (long long)ndocs, dir);
    CHECK(split_corpus(&sp));
    spam_clean_options(&clean);

    /* Baseline: each mail's mean word vector, standardized, into a logistic regression. */
    bgm_word2vec_options_init(&wo);
    wo.vector_size = 128;
    wo.min_count = 2;
    wo.clean = &clean; /* one thread (the default): the same vectors every run */
    printf("Training word2vec on the %lld training mails\n", (long long)sp.ntrain);
    CHECK(bgm_word2vec_train(&w2v, sp.train, NULL, sp.ntrain, &wo));
    CHECK(bgm_word2vec_document_vectors(&v_tr, w2v, sp.train, NULL, sp.ntrain, &clean));
    CHECK(bgm_word2vec_document_vectors(&v_te, w2v, sp.test, NULL, sp.ntest, &clean));
    CHECK(bgm_scaler_standard(&scaler, BGM_SCALE_PER_FEATURE));
    CHECK(bgm_scaler_fit(scaler, v_tr));
    CHECK(bgm_scaler_transform_inplace(scaler, v_tr));
    CHECK(bgm_scaler_transform_inplace(scaler, v_te));
    CHECK(bgm_model_create(&logreg, (int64_t[]){wo.vector_size}, 1, 42));
    CHECK(bgm_model_add(logreg, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    CHECK(bgm_optimizer_adam(&opt, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON));
    CHECK(bgm_model_compile(logreg, opt, BGM_LOSS_BINARY_CROSSENTROPY, 1, &accuracy, 1));
    bgm_fit_options_init(&fo, sizeof fo);
    fo.epochs = 30;
    fo.verbose = 0;
    fo.validation_split = 0.1;
    CHECK(bgm_model_fit(NULL, logreg, v_tr, sp.y_train, &fo));

    /* LSTM over the ids of a 20,000-word vocabulary of the training mails. */
    bgm_vocab_options_init(&vo);
    vo.max_size = 20000;
    vo.clean = &clean;
    CHECK(bgm_vocab_build(&vocab, sp.train, NULL, sp.ntrain, &vo));
    CHECK(bgm_vocab_encode_padded(&x_tr, vocab, sp.train, NULL, sp.ntrain, MAXLEN, BGM_PAD_PRE,
                                  BGM_PAD_PRE, &clean));
    CHECK(bgm_vocab_encode_padded(&x_te, vocab, sp.test, NULL, sp.ntest, MAXLEN, BGM_PAD_PRE,
                                  BGM_PAD_PRE, &clean));
    CHECK(bgm_model_create(&lstm, (int64_t[]){MAXLEN}, 1, 42));
    /* A setter on a NULL layer fails quietly; the add then reports the constructor's error. */
    bgm_layer_set_mask_zero(layer = bgm_layer_embedding(20000, 128), 1);
    CHECK(bgm_model_add(lstm, layer));
    bgm_layer_set_dropout(layer = bgm_layer_lstm(128), 0.2f);
    bgm_layer_set_recurrent_dropout(layer, 0.2f);
    CHECK(bgm_model_add(lstm, layer));
    CHECK(bgm_model_add(lstm, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    CHECK(bgm_model_summary(lstm, NULL, NULL));
    CHECK(bgm_optimizer_adam(&opt, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON));
    CHECK(bgm_model_compile(lstm, opt, BGM_LOSS_BINARY_CROSSENTROPY, 1, &accuracy, 1));
    CHECK(bgm_callback_early_stopping(&stop, "val_loss", 1, 0.0f, 1));
    fo.epochs = EPOCHS;
    fo.verbose = 2;
    fo.callbacks = &stop;
    fo.num_callbacks = 1;
    printf("Training the LSTM for at most %d epochs (capped to keep the run short)\n", EPOCHS);
    CHECK(bgm_model_fit(NULL, lstm, x_tr, sp.y_train, &fo));

    {
        double a = report("LSTM on the test mails:", lstm, x_te, sp.y_test);
        double b = report("word2vec document vectors + logistic regression:", logreg, v_te,
                          sp.y_test);
        printf("\ntest accuracy: LSTM %.4f, word2vec + logistic regression %.4f: %s\n", a, b,
               a > b ? "the LSTM wins" : "the baseline wins");
    }
done:
    if (s != BGM_OK)
        fprintf(stderr, "spam_lstm: %s\n", bgm_last_error());
    for (i = 0; i < ndocs; i++)
        free(docs[i]);
    spam_split_free(&sp);
    bgm_tensor_free(x_tr), bgm_tensor_free(x_te), bgm_tensor_free(v_tr), bgm_tensor_free(v_te);
    bgm_model_free(lstm), bgm_model_free(logreg), bgm_vocab_free(vocab);
    bgm_word2vec_free(w2v), bgm_scaler_free(scaler), bgm_callback_free(stop);
    return s == BGM_OK ? 0 : 1;
}
