/*
 * Spam or ham with a small Transformer encoder on the SpamAssassin public
 * corpus: the same mails, split, cleaning and 20,000-word vocabulary as
 * examples/spam_lstm.c, so the two accuracies compare.
 *     sh tools/fetch_text_data.sh          (once: the corpus into data/)
 *     build/examples/spam_transformer [data/spam-assassin/data]
 * Token embedding (mask_zero: padding is masked) + learned position
 * embedding, two post-LN encoder blocks as in Keras' "Text classification
 * with Transformer" (self-attention -> Dropout -> Add -> LayerNorm, Dense
 * ReLU -> Dense -> Dropout -> Add -> LayerNorm), global average pooling over
 * the unmasked positions, Dropout, Dense(20, ReLU), Dense(1) on a logit.
 */
#include <time.h>

#include "spam_corpus.h"

#define MAXLEN 200 /* ids per mail: its last 200 words */
#define VOCAB 20000
#define DIM 64
#define HEADS 2
#define FF 128
#define EPOCHS 4
#define CHECK(x) do { if ((s = (x)) != BGM_OK) goto done; } while (0)

/* *x = layer(*x) while s is BGM_OK; otherwise frees layer and passes s on. */
static bgm_status call(bgm_status s, bgm_node **x, bgm_layer *layer)
{
    bgm_node *in = *x;
    if (s != BGM_OK) {
        bgm_layer_free(layer);
        return s;
    }
    return bgm_layer_call(x, layer, &in, 1);
}

/* *x = LayerNorm(*x + y). */
static bgm_status add_norm(bgm_status s, bgm_node **x, bgm_node *y)
{
    if (s == BGM_OK)
        s = bgm_layer_call(x, bgm_layer_add(), (bgm_node *[]){*x, y}, 2);
    return call(s, x, bgm_layer_layer_norm());
}

static bgm_status encoder_block(bgm_node **x)
{
    bgm_node *h = NULL, *f = *x;
    bgm_layer *mha = bgm_layer_multi_head_attention(HEADS, DIM / HEADS);
    bgm_status s = mha ? bgm_layer_call(&h, mha, (bgm_node *[]){*x, *x}, 2) : BGM_E_NOMEM;
    s = call(s, &h, bgm_layer_dropout(0.1f));
    s = add_norm(s, x, h);
    f = *x;
    s = call(s, &f, bgm_layer_dense(FF, BGM_ACT_RELU));
    s = call(s, &f, bgm_layer_dense(DIM, BGM_ACT_LINEAR));
    s = call(s, &f, bgm_layer_dropout(0.1f));
    return add_norm(s, x, f);
}

static bgm_status build(bgm_model **m)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *x = NULL, *pos = NULL;
    bgm_layer *emb = bgm_layer_embedding(VOCAB, DIM);
    bgm_optimizer *opt = NULL;
    bgm_status s = bgm_layer_set_mask_zero(emb, 1);
    if (s == BGM_OK) s = bgm_graph_create(&g);
    if (s == BGM_OK) s = bgm_graph_input(&in, g, (int64_t[]){MAXLEN}, 1, BGM_INT32, "words");
    x = in;
    s = call(s, &x, emb);
    pos = x;
    s = call(s, &pos, bgm_layer_position_embedding(MAXLEN));
    if (s == BGM_OK) s = bgm_layer_call(&x, bgm_layer_add(), (bgm_node *[]){x, pos}, 2);
    if (s == BGM_OK) s = encoder_block(&x);
    if (s == BGM_OK) s = encoder_block(&x);
    s = call(s, &x, bgm_layer_global_avg_pool1d());
    s = call(s, &x, bgm_layer_dropout(0.1f));
    s = call(s, &x, bgm_layer_dense(20, BGM_ACT_RELU));
    s = call(s, &x, bgm_layer_dropout(0.1f));
    s = call(s, &x, bgm_layer_dense(1, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_model_create_graph(m, &in, 1, &x, 1, /*seed*/ 42);
    bgm_graph_free(g);
    if (s == BGM_OK)
        s = bgm_optimizer_adam(&opt, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
    if (s == BGM_OK) {
        s = bgm_model_compile(*m, opt, BGM_LOSS_BINARY_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
        opt = NULL; /* the model owns it now, even on error */
    }
    bgm_optimizer_free(opt);
    return s;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/spam-assassin/data";
    spam_split sp = {0};
    bgm_tensor *x_tr = NULL, *x_te = NULL;
    bgm_model *model = NULL;
    bgm_vocab *vocab = NULL;
    bgm_callback *stop = NULL;
    bgm_text_clean_options clean;
    bgm_vocab_options vo;
    bgm_fit_options fo;
    struct timespec t0, t1;
    int64_t i;
    bgm_status s;

    read_corpus(dir);
    printf("%lld mails read from %s\n", (long long)ndocs, dir);
    CHECK(split_corpus(&sp));
    spam_clean_options(&clean);
    bgm_vocab_options_init(&vo);
    vo.max_size = VOCAB;
    vo.clean = &clean;
    CHECK(bgm_vocab_build(&vocab, sp.train, NULL, sp.ntrain, &vo));
    /* the last MAXLEN words, padded after them (the mask hides the padding) */
    CHECK(bgm_vocab_encode_padded(&x_tr, vocab, sp.train, NULL, sp.ntrain, MAXLEN, BGM_PAD_POST,
                                  BGM_PAD_PRE, &clean));
    CHECK(bgm_vocab_encode_padded(&x_te, vocab, sp.test, NULL, sp.ntest, MAXLEN, BGM_PAD_POST,
                                  BGM_PAD_PRE, &clean));
    CHECK(build(&model));
    CHECK(bgm_model_summary(model, NULL, NULL));
    CHECK(bgm_callback_early_stopping(&stop, "val_loss", 1, 0.0f, 1));
    bgm_fit_options_init(&fo, sizeof fo);
    fo.epochs = EPOCHS;
    fo.verbose = 2;
    fo.validation_split = 0.1;
    fo.callbacks = &stop;
    fo.num_callbacks = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(bgm_model_fit(NULL, model, x_tr, sp.y_train, &fo));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    {
        double acc = report("Transformer on the test mails:", model, x_te, sp.y_test);
        printf("\ntest accuracy: Transformer %.4f, trained in %.1f s\n", acc,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
done:
    if (s != BGM_OK)
        fprintf(stderr, "spam_transformer: %s\n", bgm_last_error());
    for (i = 0; i < ndocs; i++)
        free(docs[i]);
    spam_split_free(&sp);
    bgm_tensor_free(x_tr), bgm_tensor_free(x_te);
    bgm_model_free(model), bgm_vocab_free(vocab), bgm_callback_free(stop);
    return s == BGM_OK ? 0 : 1;
}
