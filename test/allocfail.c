/*
 * Allocation-failure harness (`make check-allocfail`, docs/reliability.md):
 * built against the allocfail library (lib/core/alloc_hook.h), under ASan.
 * Each scenario runs once with no failure to count its allocations N, then
 * N more times, failing the k-th allocation for k = 1 ... N. A run whose
 * failure was delivered must return BGM_E_NOMEM with a message (or BGM_OK
 * when the library documented a fallback, listed as "absorbed"), and free
 * everything it made; the leak checker at exit sees every leak. Training
 * scenarios then retry without failures and must succeed, and a failed
 * train_on_batch step must leave weights and optimizer state untouched.
 *
 * ALLOCFAIL_ONLY=<scenario> runs one scenario, ALLOCFAIL_K=<k> one k.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bigmodel.h"
/* the hook's control functions, without its macros: the harness's own
 * allocations are not counted */
#define BGM__ALLOC_HOOK_IMPL
#include "core/alloc_hook.h"

static char dir[64];
static char p_idx_img[128], p_idx_lab[128], p_idx_img_gz[128], p_idx_lab_gz[128];
static char p_cifar[128], p_csv[128], p_npy[128], p_model[128], p_st[128];
static char p_vocab[128], p_w2v[128];

/* The shared inputs, made once before any failure is armed. */
static bgm_tensor *xs, *ys, *x_tok, *x_img, *x_ids, *x_seq;
static const bgm_tensor *cur_x; /* the input of the model in pre */
static char p_model2[128];
static const char *docs[] = {"the cat sat on the mat", "the dog ate the cat food",
                             "a cat and a dog on a mat", "the mat was red"};
static int64_t doc_lens[4];

#define T(expr)                     \
    do {                            \
        s = (expr);                 \
        if (s != BGM_OK)            \
            goto done;              \
    } while (0)

/* ---- models -------------------------------------------------------------- */

/* A Sequential model of the given layers (all taken, also on error). */
static bgm_status build_layers(bgm_model **out, const int64_t *in, int ndim, uint64_t seed,
                               bgm_layer **layers, int n)
{
    bgm_status s;
    bgm_model *m = NULL;
    int i = 0;
    T(bgm_model_create(&m, in, ndim, seed));
    for (; i < n; i++)
        T(bgm_model_add(m, layers[i]));
done:
    if (s != BGM_OK) {
        bgm_model_free(m);
        for (i += m != NULL; i < n; i++) /* bgm_model_add took layers[i] */
            bgm_layer_free(layers[i]);
    } else {
        *out = m;
    }
    return s;
}

/* Dense, BatchNormalization, Dropout: 6 features. */
static bgm_status build_seq(bgm_model **out)
{
    int64_t in[] = {6};
    bgm_layer *l[] = {bgm_layer_dense(8, BGM_ACT_RELU), bgm_layer_batch_norm(),
                      bgm_layer_dropout(0.25f), bgm_layer_dense(3, BGM_ACT_SOFTMAX)};
    return build_layers(out, in, 1, 7, l, 4);
}

/* Conv2D, pooling, Flatten: images (6, 6, 1). */
static bgm_status build_conv(bgm_model **out)
{
    int64_t in[] = {6, 6, 1};
    bgm_layer *l[] = {bgm_layer_conv2d(4, 3, BGM_ACT_RELU), bgm_layer_max_pool2d(2),
                      bgm_layer_flatten(), bgm_layer_dense(3, BGM_ACT_SOFTMAX)};
    return build_layers(out, in, 3, 5, l, 4);
}

/* Embedding, LSTM, LayerNormalization: 5 token ids below 10. */
static bgm_status build_rnn(bgm_model **out)
{
    int64_t in[] = {5};
    bgm_layer *l[] = {bgm_layer_embedding(10, 4), bgm_layer_lstm(4), bgm_layer_layer_norm(),
                      bgm_layer_dense(3, BGM_ACT_SOFTMAX)};
    return build_layers(out, in, 1, 9, l, 4);
}

static bgm_status build_graph(bgm_model **out)
{
    int64_t in[] = {6};
    bgm_status s;
    bgm_graph *g = NULL;
    bgm_node *x, *a, *b, *c, *y;
    T(bgm_graph_create(&g));
    T(bgm_graph_input(&x, g, in, 1, BGM_FLOAT32, "x"));
    T(bgm_layer_call(&a, bgm_layer_dense(4, BGM_ACT_TANH), &x, 1));
    T(bgm_layer_call(&b, bgm_layer_dense(4, BGM_ACT_RELU), &x, 1));
    {
        bgm_node *ab[2] = {a, b};
        T(bgm_layer_call(&c, bgm_layer_concatenate(-1), ab, 2));
    }
    T(bgm_layer_call(&y, bgm_layer_dense(3, BGM_ACT_SOFTMAX), &c, 1));
    T(bgm_model_create_graph(out, &x, 1, &y, 1, 11));
done:
    bgm_graph_free(g);
    return s;
}

/* MultiHeadAttention on itself, GlobalAveragePooling1D: sequences (5, 6). */
static bgm_status build_attention(bgm_model **out)
{
    int64_t in[] = {5, 6};
    bgm_status s;
    bgm_graph *g = NULL;
    bgm_node *x, *a, *p, *y;
    T(bgm_graph_create(&g));
    T(bgm_graph_input(&x, g, in, 2, BGM_FLOAT32, "x"));
    {
        bgm_node *qv[2] = {x, x};
        T(bgm_layer_call(&a, bgm_layer_multi_head_attention(2, 3), qv, 2));
    }
    T(bgm_layer_call(&p, bgm_layer_global_avg_pool1d(), &a, 1));
    T(bgm_layer_call(&y, bgm_layer_dense(3, BGM_ACT_SOFTMAX), &p, 1));
    T(bgm_model_create_graph(out, &x, 1, &y, 1, 13));
done:
    bgm_graph_free(g);
    return s;
}

static bgm_status compile(bgm_model *m)
{
    bgm_status s;
    bgm_optimizer *opt = NULL;
    bgm_metric_kind met = BGM_METRIC_ACCURACY;
    /* compile takes the optimizer in every case */
    T(bgm_optimizer_adam(&opt, 0.01f, 0.9f, 0.999f, 1e-7f));
    s = bgm_model_compile(m, opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, &met, 1);
done:
    return s;
}

/* With callbacks set, fit_epoch runs 2 epochs with a ModelCheckpoint (whole
 * model, every epoch), an EarlyStopping keeping the best weights and a
 * CSVLogger, made inside the scenario. */
static int with_callbacks;
static char p_ckpt[128], p_log[128];

/* fit_epoch's allreduce_bucket_bytes (set by its scenario). */
static int64_t fit_bucket_bytes;

static bgm_status fit_epoch(bgm_model *m)
{
    bgm_status s;
    bgm_history *h = NULL;
    bgm_fit_options o;
    bgm_callback *cb[3] = {NULL, NULL, NULL};
    T(bgm_fit_options_init(&o, sizeof o));
    if (with_callbacks) {
        T(bgm_callback_model_checkpoint(&cb[0], p_ckpt, "val_loss", 0, 0, 0, "auto", 0, NAN));
        T(bgm_callback_early_stopping(&cb[1], "val_loss", 1, 0.0f, 1));
        T(bgm_callback_csv_logger(&cb[2], p_log, 0));
        o.callbacks = cb;
        o.num_callbacks = 3;
    }
    o.epochs = with_callbacks ? 2 : 1;
    o.batch_size = 4;
    o.verbose = 0;
    o.validation_split = 0.25f;
    o.allreduce_bucket_bytes = fit_bucket_bytes;
    s = bgm_model_fit(&h, m, cur_x, ys, &o);
done:
    bgm_history_free(h);
    bgm_callback_free(cb[0]);
    bgm_callback_free(cb[1]);
    bgm_callback_free(cb[2]);
    return s;
}

/* The builder of the build scenario being run. */
static bgm_status (*cur_build)(bgm_model **);

static bgm_status sc_build(void)
{
    bgm_model *m = NULL;
    bgm_status s = cur_build(&m);
    bgm_model_free(m);
    return s;
}

/* The model is made before the hook is armed (the scenarios' prologue). */
static bgm_model *pre;

/* What a fit or predict run computed, to compare a run whose failure was
 * absorbed (a documented fallback) with the run without failures. */
static float *result;
static int64_t result_n;

static void keep_result(const float *v, int64_t n)
{
    free(result);
    result = malloc((size_t)(n + 1) * sizeof *result);
    if (!result)
        exit(2);
    memcpy(result, v, (size_t)n * sizeof *v);
    result_n = n;
}

static bgm_status sc_compile(void) { return compile(pre); }

static float *weights(const bgm_model *m, int64_t *n);

static bgm_status sc_fit(void)
{
    bgm_status s = fit_epoch(pre);
    if (s == BGM_OK) {
        int64_t n;
        float *w = weights(pre, &n);
        keep_result(w, n);
        free(w);
    }
    return s;
}

/* A communicator of one rank: its sums and broadcasts leave the values. */
static int one_rank(void *ctx, int *v)
{
    (void)ctx;
    *v = 0;
    return 0;
}

static int one_size(void *ctx, int *v)
{
    (void)ctx;
    *v = 1;
    return 0;
}

static int one_sum(void *ctx, float *data, int64_t n)
{
    (void)ctx;
    (void)data;
    (void)n;
    return 0;
}

static int one_broadcast(void *ctx, void *data, int64_t nbytes, int root)
{
    (void)ctx;
    (void)data;
    (void)nbytes;
    (void)root;
    return 0;
}

/* Its non-blocking reductions: nothing to start or wait for. */
static int one_start(void *ctx, float *data, int64_t n, void **request)
{
    (void)data;
    (void)n;
    *request = ctx;
    return 0;
}

static int one_wait(void *ctx, void *request)
{
    (void)ctx;
    (void)request;
    return 0;
}

/* fit_epoch made data-parallel over that communicator (made in the
 * scenario); with buckets, one per weight tensor, reduced during backward. */
static bgm_status fit_one_rank(int buckets)
{
    bgm_comm_ops ops;
    bgm_comm *c = NULL;
    bgm_status s = bgm_comm_ops_init(&ops, sizeof ops);
    ops.rank = one_rank;
    ops.num_ranks = one_size;
    ops.allreduce_sum = one_sum;
    ops.broadcast = one_broadcast;
    if (buckets) {
        ops.allreduce_start = one_start;
        ops.wait = one_wait;
    }
    fit_bucket_bytes = buckets;
    if (s == BGM_OK)
        s = bgm_comm_create(&c, &ops, NULL);
    if (s == BGM_OK)
        s = bgm_model_set_comm(pre, c);
    if (s == BGM_OK)
        s = sc_fit();
    bgm_model_set_comm(pre, NULL);
    bgm_comm_free(c);
    fit_bucket_bytes = 0;
    return s;
}

static bgm_status sc_fit_comm(void)
{
    return fit_one_rank(0);
}

static bgm_status sc_fit_comm_buckets(void)
{
    return fit_one_rank(1);
}

static bgm_status sc_predict(void)
{
    bgm_tensor *out = NULL;
    bgm_status s = bgm_model_predict(&out, pre, cur_x, 5);
    if (s == BGM_OK)
        keep_result(bgm_tensor_data(out), bgm_tensor_numel(out));
    bgm_tensor_free(out);
    return s;
}

static bgm_status sc_evaluate(void)
{
    double r[2];
    bgm_status s = bgm_model_evaluate(r, 2, pre, cur_x, ys, 8);
    if (s == BGM_OK) {
        float v[2] = {(float)r[0], (float)r[1]};
        keep_result(v, 2);
    }
    return s;
}

static bgm_status sc_save(void) { return bgm_model_save(pre, p_model, 0); }

static bgm_status sc_load(void)
{
    bgm_model *m = NULL;
    bgm_status s = bgm_model_load(&m, p_model);
    bgm_model_free(m);
    return s;
}

static bgm_status sc_save_load(void)
{
    bgm_model *m = NULL;
    bgm_status s = bgm_model_save(pre, p_model2, 0);
    if (s == BGM_OK)
        s = bgm_model_load(&m, p_model2);
    bgm_model_free(m);
    return s;
}

static bgm_status sc_st_save(void) { return bgm_model_save_weights_safetensors(pre, p_st); }

static bgm_status sc_st_load(void) { return bgm_model_load_weights_safetensors(pre, p_st); }

/* ---- loaders ------------------------------------------------------------- */

/* Which dataset file sc_dataset reads: 0 IDX, 1 IDX.gz, 2 CIFAR, 3 CSV. */
static int cur_file;

static bgm_status sc_dataset(void)
{
    bgm_dataset *d = NULL;
    const char *paths[] = {p_cifar, p_cifar};
    bgm_status s = cur_file == 0 ? bgm_dataset_load_idx(&d, p_idx_img, p_idx_lab)
                   : cur_file == 1 ? bgm_dataset_load_idx(&d, p_idx_img_gz, p_idx_lab_gz)
                   : cur_file == 2 ? bgm_dataset_load_cifar(&d, paths, 2, BGM_CIFAR10)
                                   : bgm_dataset_load_csv(&d, p_csv, NULL);
    bgm_dataset_free(d);
    return s;
}

static bgm_status sc_npy(void)
{
    bgm_tensor *t = NULL;
    bgm_status s = bgm_npy_load(&t, p_npy);
    bgm_tensor_free(t);
    return s;
}

static bgm_status sc_vocab(void)
{
    bgm_status s;
    bgm_vocab *v = NULL, *w = NULL;
    bgm_tensor *ids = NULL;
    T(bgm_vocab_build(&v, docs, doc_lens, 4, NULL));
    T(bgm_vocab_save(v, p_vocab));
    T(bgm_vocab_load(&w, p_vocab));
    T(bgm_vocab_encode(&ids, w, docs[1], doc_lens[1], NULL));
done:
    bgm_tensor_free(ids);
    bgm_vocab_free(v);
    bgm_vocab_free(w);
    return s;
}

static bgm_status sc_word2vec(void)
{
    bgm_status s;
    bgm_word2vec *m = NULL, *l = NULL;
    bgm_word2vec_options o;
    T(bgm_word2vec_options_init_v2(&o, sizeof o));
    o.vector_size = 4;
    o.min_count = 1;
    o.epochs = 1;
    o.threads = 1;
    T(bgm_word2vec_train(&m, docs, doc_lens, 4, &o));
    T(bgm_word2vec_save(m, p_w2v));
    T(bgm_word2vec_load(&l, p_w2v));
done:
    bgm_word2vec_free(m);
    bgm_word2vec_free(l);
    return s;
}

/* ---- the loop ------------------------------------------------------------ */

typedef struct scenario {
    const char *name;
    bgm_status (*run)(void);
    int prologue;  /* 0 none, 1 built Sequential in pre, 2 compiled too, 3 graph compiled,
                      4 conv compiled, 5 Embedding + LSTM compiled,
                      6 MultiHeadAttention graph compiled */
    int retry;     /* after a failure, the same call without failures must succeed */
    bgm_status (*build)(bgm_model **); /* for sc_build */
    int file;                           /* for sc_dataset; for sc_fit: with callbacks */
} scenario;

static const scenario scenarios[] = {
    {"build_sequential", sc_build, 0, 0, build_seq, 0},
    {"build_graph", sc_build, 0, 0, build_graph, 0},
    {"compile", sc_compile, 1, 1, NULL, 0},
    {"fit_epoch_sequential", sc_fit, 2, 1, NULL, 0},
    {"fit_epoch_graph", sc_fit, 3, 1, NULL, 0},
    {"fit_callbacks", sc_fit, 2, 1, NULL, 1},
    {"fit_communicator", sc_fit_comm, 2, 1, NULL, 0},
    {"fit_communicator_buckets", sc_fit_comm_buckets, 2, 1, NULL, 0},
    {"build_conv", sc_build, 0, 0, build_conv, 0},
    {"build_rnn", sc_build, 0, 0, build_rnn, 0},
    {"fit_epoch_conv", sc_fit, 4, 1, NULL, 0},
    {"fit_epoch_rnn", sc_fit, 5, 1, NULL, 0},
    {"predict", sc_predict, 2, 0, NULL, 0},
    {"evaluate", sc_evaluate, 2, 0, NULL, 0},
    {"predict_conv", sc_predict, 4, 0, NULL, 0},
    {"predict_rnn", sc_predict, 5, 0, NULL, 0},
    {"build_attention", sc_build, 0, 0, build_attention, 0},
    {"fit_epoch_attention", sc_fit, 6, 1, NULL, 0},
    {"predict_attention", sc_predict, 6, 0, NULL, 0},
    {"save_load_attention", sc_save_load, 6, 0, NULL, 0},
    {"save_load_conv", sc_save_load, 4, 0, NULL, 0},
    {"save_load_rnn", sc_save_load, 5, 0, NULL, 0},
    {"save", sc_save, 2, 0, NULL, 0},
    {"load", sc_load, 0, 0, NULL, 0},
    {"safetensors_save", sc_st_save, 2, 0, NULL, 0},
    {"safetensors_load", sc_st_load, 2, 1, NULL, 0},
    {"load_idx", sc_dataset, 0, 0, NULL, 0},
    {"load_idx_gz", sc_dataset, 0, 0, NULL, 1},
    {"load_cifar", sc_dataset, 0, 0, NULL, 2},
    {"load_csv", sc_dataset, 0, 0, NULL, 3},
    {"load_npy", sc_npy, 0, 0, NULL, 0},
    {"text_vocab", sc_vocab, 0, 0, NULL, 0},
    {"word2vec", sc_word2vec, 0, 0, NULL, 0},
};

static const struct {
    const char *name;
    int kind, bad;
} retries[] = {
    {"step1_retry_dense", 2, 1}, {"step2_retry_dense", 2, 2},
    {"step1_retry_conv", 4, 1},  {"step2_retry_conv", 4, 2},
    {"step1_retry_rnn", 5, 1},   {"step2_retry_rnn", 5, 2},
    {"step1_retry_attention", 6, 1}, {"step2_retry_attention", 6, 2},
};

static int failures;

#define FAIL(...)                          \
    do {                                   \
        fprintf(stderr, "allocfail: " __VA_ARGS__); \
        failures++;                        \
    } while (0)

static void must(bgm_status s, const char *what)
{
    if (s != BGM_OK) {
        fprintf(stderr, "allocfail: setup %s: %s\n", what, bgm_last_error());
        exit(2);
    }
}

static void prologue(int kind)
{
    bgm_model_free(pre);
    pre = NULL;
    if (kind == 0)
        return;
    must(kind == 6 ? build_attention(&pre) : kind == 5 ? build_rnn(&pre)
         : kind == 4 ? build_conv(&pre)
         : kind == 3 ? build_graph(&pre) : build_seq(&pre), "model");
    cur_x = kind == 6 ? x_seq : kind == 5 ? x_ids : kind == 4 ? x_img : xs;
    if (kind >= 2)
        must(compile(pre), "compile");
}

static void run_scenario(const scenario *sc, long only_k)
{
    long n, k, nomem = 0, absorbed = 0;
    float *expect = NULL;
    int64_t expect_n = 0;
    bgm_status s;
    clock_t t0 = clock();
    cur_build = sc->build;
    cur_file = sc->file;
    with_callbacks = sc->run == sc_fit && sc->file;
    prologue(sc->prologue);
    bgm__alloc_hook_arm(0);
    s = sc->run();
    n = bgm__alloc_hook_count();
    if (s != BGM_OK) {
        FAIL("%s: fails without failures: %s\n", sc->name, bgm_last_error());
        return;
    }
    expect = result;
    expect_n = result_n;
    result = NULL;
    for (k = only_k > 0 ? only_k : 1; k <= (only_k > 0 ? only_k : n); k++) {
        int hit;
        free(result);
        result = NULL;
        prologue(sc->prologue);
        bgm__alloc_hook_arm(k);
        s = sc->run();
        hit = bgm__alloc_hook_failed();
        bgm__alloc_hook_arm(0);
        if (!hit) {
            if (s != BGM_OK)
                FAIL("%s k=%ld: no failure delivered, status %d: %s\n", sc->name, k, (int)s,
                     bgm_last_error());
            continue;
        }
        if (s == BGM_OK) {
            /* only where the result is the same: a fallback, not a lost error */
            absorbed++;
            if (!expect || !result || result_n != expect_n ||
                memcmp(result, expect, (size_t)expect_n * sizeof *expect) != 0)
                FAIL("%s k=%ld: failure absorbed (status OK), result differs or unchecked\n",
                     sc->name, k);
        } else if (s != BGM_E_NOMEM) {
            FAIL("%s k=%ld: status %d (%s), not BGM_E_NOMEM: %s\n", sc->name, k, (int)s,
                 bgm_status_string(s), bgm_last_error());
        } else {
            nomem++;
            if (!bgm_last_error() || !bgm_last_error()[0])
                FAIL("%s k=%ld: BGM_E_NOMEM without a message\n", sc->name, k);
        }
        if (sc->retry && (s = sc->run()) != BGM_OK)
            FAIL("%s k=%ld: retry without failures fails: %s\n", sc->name, k, bgm_last_error());
    }
    prologue(0);
    free(expect);
    free(result);
    result = NULL;
    printf("%-22s N = %5ld  NOMEM %5ld  absorbed %3ld  %6.2f s\n", sc->name, n, nomem, absorbed,
           (double)(clock() - t0) / CLOCKS_PER_SEC);
    fflush(stdout);
}

/* ---- a failed step leaves the model as it was ----------------------------- */

static float *weights(const bgm_model *m, int64_t *n)
{
    float *w;
    *n = bgm_model_num_params(m);
    w = malloc((size_t)(*n + 1) * sizeof *w);
    if (!w)
        exit(2);
    must(bgm_model_get_weights(m, w, *n), "get_weights");
    return w;
}

/* Three train_on_batch steps, the k-th allocation of step `bad` (1: the
 * first, which makes the optimizer's slots; 2: a later one) failed, then
 * that step again: the weights must equal bit for bit those of three
 * uninterrupted steps, for the model of prologue kind. */
static void step_retry(int kind, int bad, const char *name, long only_k)
{
    bgm_model *ref = NULL;
    bgm_tensor *xb = NULL, *yb = NULL;
    int64_t n_ref, n, i;
    float *w_ref, *w;
    long per_step = 0, k, checked = 0;
    double r;
    prologue(kind);
    ref = pre;
    pre = NULL;
    must(bgm_tensor_slice(&xb, cur_x, 0, 8), "slice");
    must(bgm_tensor_slice(&yb, ys, 0, 8), "slice");
    for (i = 1; i <= 3; i++) {
        bgm__alloc_hook_arm(0);
        must(bgm_model_train_on_batch(&r, 1, ref, xb, yb), "train_on_batch");
        if (i == bad)
            per_step = bgm__alloc_hook_count();
    }
    w_ref = weights(ref, &n_ref);
    for (k = only_k > 0 ? only_k : 1; k <= (only_k > 0 ? only_k : per_step); k++) {
        bgm_status s = BGM_OK;
        prologue(kind);
        for (i = 1; i <= 3; i++) {
            bgm__alloc_hook_arm(i == bad ? k : 0);
            s = bgm_model_train_on_batch(&r, 1, pre, xb, yb);
            bgm__alloc_hook_arm(0);
            if (i == bad && s != BGM_OK) {
                if (s != BGM_E_NOMEM)
                    FAIL("%s k=%ld: status %d: %s\n", name, k, (int)s, bgm_last_error());
                checked++;
                s = bgm_model_train_on_batch(&r, 1, pre, xb, yb);
            }
            must(s, "train_on_batch without failures");
        }
        w = weights(pre, &n);
        if (n != n_ref || memcmp(w, w_ref, (size_t)n * sizeof *w) != 0)
            FAIL("%s k=%ld: weights differ from the uninterrupted run\n", name, k);
        free(w);
    }
    prologue(0);
    printf("%-22s N = %5ld  NOMEM %5ld, retried: same weights as uninterrupted\n", name,
           per_step, checked);
    free(w_ref);
    bgm_model_free(ref);
    bgm_tensor_free(xb);
    bgm_tensor_free(yb);
}

/* ---- input files ----------------------------------------------------------- */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void write_file(const char *path, const void *data, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || gzwrite(f, data, (unsigned)n) != (int)n || gzclose(f) != Z_OK)
            exit(2);
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0)
            exit(2);
    }
}

static void make_inputs(void)
{
    unsigned char img[16 + 5 * 4 * 4], lab[8 + 5], rec[2 * (1 + 3072)];
    int64_t shape[] = {40, 6}, yshape[] = {40}, tshape[] = {3, 5};
    bgm_rng *rng = NULL;
    int i;
    snprintf(dir, sizeof dir, "/tmp/bgm_allocfail_XXXXXX");
    if (!mkdtemp(dir))
        exit(2);
#define P(var, name) snprintf(var, sizeof var, "%s/%s", dir, name)
    P(p_idx_img, "img.idx"); P(p_idx_lab, "lab.idx");
    P(p_idx_img_gz, "img.idx.gz"); P(p_idx_lab_gz, "lab.idx.gz");
    P(p_cifar, "data_batch_1.bin"); P(p_csv, "data.csv"); P(p_npy, "x.npy");
    P(p_model, "model.bgm"); P(p_model2, "model2.bgm"); P(p_st, "model.safetensors");
    P(p_ckpt, "ckpt-{epoch:02d}.bgm"); P(p_log, "log.csv");
    P(p_vocab, "vocab.txt"); P(p_w2v, "vectors.txt");
#undef P
    put_be32(img, 0x803); put_be32(img + 4, 5); put_be32(img + 8, 4); put_be32(img + 12, 4);
    put_be32(lab, 0x801); put_be32(lab + 4, 5);
    for (i = 0; i < 5 * 16; i++)
        img[16 + i] = (unsigned char)(i * 7);
    for (i = 0; i < 5; i++)
        lab[8 + i] = (unsigned char)i;
    write_file(p_idx_img, img, sizeof img, 0);
    write_file(p_idx_lab, lab, sizeof lab, 0);
    write_file(p_idx_img_gz, img, sizeof img, 1);
    write_file(p_idx_lab_gz, lab, sizeof lab, 1);
    for (i = 0; i < (int)sizeof rec; i++)
        rec[i] = (unsigned char)(i % 251);
    rec[0] = 3;
    rec[3073] = 9;
    write_file(p_cifar, rec, sizeof rec, 0);
    {
        const char csv[] = "a,b,c,label\n1.5,2,3,0\n4,5.25,6,1\n\"7\",8,9e-1,2\n";
        write_file(p_csv, csv, sizeof csv - 1, 0);
    }
    for (i = 0; i < 4; i++)
        doc_lens[i] = (int64_t)strlen(docs[i]);
    must(bgm_rng_create(&rng, 3), "rng");
    must(bgm_tensor_randn(&xs, rng, shape, 2, 0.0f, 1.0f), "x");
    must(bgm_tensor_zeros(&ys, BGM_INT32, yshape, 1), "y");
    for (i = 0; i < 40; i++)
        ((int32_t *)bgm_tensor_data(ys))[i] = i % 3;
    must(bgm_tensor_randn(&x_tok, rng, tshape, 2, 0.0f, 1.0f), "npy");
    must(bgm_npy_save(x_tok, p_npy), "npy save");
    {
        int64_t ishape[] = {40, 6, 6, 1}, dshape[] = {40, 5};
        int64_t sshape[] = {40, 5, 6};
        must(bgm_tensor_randn(&x_img, rng, ishape, 4, 0.0f, 1.0f), "images");
        must(bgm_tensor_randn(&x_seq, rng, sshape, 3, 0.0f, 1.0f), "sequences");
        must(bgm_tensor_zeros(&x_ids, BGM_INT32, dshape, 2), "ids");
        for (i = 0; i < 200; i++)
            ((int32_t *)bgm_tensor_data(x_ids))[i] = (i * 7 + i / 5) % 10;
    }
    bgm_rng_free(rng);
    /* the files the load scenarios read */
    prologue(2);
    must(fit_epoch(pre), "fit");
    must(bgm_model_save(pre, p_model, 0), "save");
    must(bgm_model_save_weights_safetensors(pre, p_st), "safetensors");
    prologue(0);
}

static void remove_inputs(void)
{
    const char *files[] = {p_idx_img, p_idx_lab, p_idx_img_gz, p_idx_lab_gz, p_cifar, p_csv,
                           p_npy, p_model, p_model2, p_st, p_log, p_vocab, p_w2v};
    char ckpt[160];
    size_t i;
    for (i = 0; i < sizeof files / sizeof *files; i++)
        remove(files[i]);
    for (i = 1; i <= 2; i++) {
        snprintf(ckpt, sizeof ckpt, "%s/ckpt-%02d.bgm", dir, (int)i);
        remove(ckpt);
    }
    rmdir(dir);
}

int main(void)
{
    const char *only = getenv("ALLOCFAIL_ONLY");
    long only_k = getenv("ALLOCFAIL_K") ? atol(getenv("ALLOCFAIL_K")) : 0;
    size_t i;
    time_t t0 = time(NULL);
    must(bgm_set_num_threads(1), "threads");
    make_inputs();
    for (i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
        if (!only || strcmp(only, scenarios[i].name) == 0)
            run_scenario(&scenarios[i], only_k);
    for (i = 0; i < sizeof retries / sizeof *retries; i++)
        if (!only || strcmp(only, retries[i].name) == 0)
            step_retry(retries[i].kind, retries[i].bad, retries[i].name, only_k);
    bgm_tensor_free(xs);
    bgm_tensor_free(ys);
    bgm_tensor_free(x_tok);
    bgm_tensor_free(x_img);
    bgm_tensor_free(x_ids);
    bgm_tensor_free(x_seq);
    remove_inputs();
    printf("allocfail: %d problem(s), %ld s\n", failures, (long)(time(NULL) - t0));
    return failures ? 1 : 0;
}
