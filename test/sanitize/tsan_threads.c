/*
 * Run by `make check-tsan` (built with -fsanitize=thread against a TSan build
 * of the library): the thread rules of bigmodel/model.h, exercised.
 *
 * 1. One compiled model, 4 threads x 2,000 bgm_model_predict calls each on
 *    the same input: every output equals, bit for bit, the output of one
 *    thread predicting alone (the library's own thread pool runs inside each
 *    call too).
 * 2. 4 threads each build and fit a model of their own (distinct seeds): the
 *    final weights equal those of the same fits run one after another.
 *
 * Exits 0 when every result matches; ThreadSanitizer's exit code otherwise.
 * PREDICT_CALLS in the environment overrides 2,000 (for quick local runs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmodel.h"

#define THREADS 4
#define N 16          /* samples */
#define H 24          /* image side: the conv's activations (16 x 22 x 22 x 16
                         floats) are large enough for the pool to split */
#define FIT_EPOCHS 3

static int predict_calls = 2000;

#define TRY(expr)                                                                 \
    do {                                                                          \
        bgm_status s_ = (expr);                                                   \
        if (s_ != BGM_OK) {                                                       \
            fprintf(stderr, "tsan_threads: %s: %s\n", #expr, bgm_last_error());   \
            return s_;                                                            \
        }                                                                         \
    } while (0)

/* A small convolutional classifier on H x H x 1 images, compiled; the
 * activation runs as its own layer so its elementwise kernel goes to the
 * library's thread pool. */
static bgm_status make_model(bgm_model **out, uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_optimizer *opt = NULL;
    bgm_status s = bgm_model_create(&m, (int64_t[]){H, H, 1}, 3, seed);
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_conv2d(16, 3, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_activation(BGM_ACT_TANH));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_max_pool2d(2));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_TANH));
    if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_optimizer_sgd(&opt, 0.05f, 0.9f, 0);
    if (s == BGM_OK)
        s = bgm_model_compile(m, opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, NULL, 0);
    if (s != BGM_OK) {
        fprintf(stderr, "tsan_threads: make_model: %s\n", bgm_last_error());
        bgm_model_free(m);
        return s;
    }
    *out = m;
    return BGM_OK;
}

/* Deterministic images x (N, H, H, 1) and labels y (N) from seed. */
static bgm_status make_data(bgm_tensor **x, bgm_tensor **y, uint64_t seed)
{
    bgm_rng *rng = NULL;
    int32_t labels[N];
    int i;
    TRY(bgm_rng_create(&rng, seed));
    if (bgm_tensor_randn(x, rng, (int64_t[]){N, H, H, 1}, 4, 0.0f, 1.0f) != BGM_OK) {
        bgm_rng_free(rng);
        return BGM_E_NOMEM;
    }
    bgm_rng_free(rng);
    for (i = 0; i < N; i++)
        labels[i] = i % 3;
    return bgm_tensor_from_data(y, BGM_INT32, (int64_t[]){N}, 1, labels);
}

struct predict_job {
    const bgm_model *m;
    const bgm_tensor *x;
    const float *expect;
    size_t nbytes;
    int mismatches;
    bgm_status status;
};

static void *predict_worker(void *arg)
{
    struct predict_job *j = arg;
    int i;
    for (i = 0; i < predict_calls; i++) {
        bgm_tensor *out = NULL;
        j->status = bgm_model_predict(&out, j->m, j->x, N);
        if (j->status != BGM_OK) {
            fprintf(stderr, "tsan_threads: predict %d: %s\n", i, bgm_last_error());
            return NULL;
        }
        if (bgm_tensor_nbytes(out) != j->nbytes ||
            memcmp(bgm_tensor_data(out), j->expect, j->nbytes) != 0)
            j->mismatches++;
        bgm_tensor_free(out);
    }
    return NULL;
}

static int concurrent_predict(void)
{
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL, *ref = NULL;
    struct predict_job jobs[THREADS];
    pthread_t th[THREADS];
    int i, bad = 0;
    TRY(make_model(&m, 7));
    TRY(make_data(&x, &y, 11));
    TRY(bgm_model_predict(&ref, m, x, N));
    for (i = 0; i < THREADS; i++) {
        jobs[i] = (struct predict_job){m, x, bgm_tensor_data(ref), bgm_tensor_nbytes(ref), 0,
                                       BGM_OK};
        if (pthread_create(&th[i], NULL, predict_worker, &jobs[i]) != 0) {
            fprintf(stderr, "tsan_threads: pthread_create failed\n");
            return 1;
        }
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].status != BGM_OK || jobs[i].mismatches) {
            fprintf(stderr, "tsan_threads: predict thread %d: status %d, %d of %d outputs differ\n",
                    i, (int)jobs[i].status, jobs[i].mismatches, predict_calls);
            bad = 1;
        }
    }
    bgm_tensor_free(ref);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    if (!bad)
        printf("tsan_threads: %d threads x %d predict calls on one model: identical to one thread\n",
               THREADS, predict_calls);
    return bad;
}

struct fit_job {
    uint64_t seed;
    float *weights;   /* out: final weights (malloc'd) */
    int64_t count;
    bgm_status status;
};

static bgm_status fit_one(struct fit_job *j)
{
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_history *h = NULL;
    bgm_fit_options fo;
    bgm_status s;
    TRY(make_model(&m, j->seed));
    s = make_data(&x, &y, j->seed + 100);
    if (s == BGM_OK) s = bgm_fit_options_init(&fo, sizeof fo);
    if (s == BGM_OK) {
        fo.epochs = FIT_EPOCHS;
        fo.batch_size = 4;
        fo.verbose = 0;
        s = bgm_model_fit(&h, m, x, y, &fo);
    }
    if (s == BGM_OK) {
        j->count = bgm_model_num_params(m);
        j->weights = malloc((size_t)j->count * sizeof *j->weights);
        s = j->weights ? bgm_model_get_weights(m, j->weights, j->count) : BGM_E_NOMEM;
    }
    if (s != BGM_OK)
        fprintf(stderr, "tsan_threads: fit (seed %llu): %s\n", (unsigned long long)j->seed,
                bgm_last_error());
    bgm_history_free(h);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    return s;
}

static void *fit_worker(void *arg)
{
    struct fit_job *j = arg;
    j->status = fit_one(j);
    return NULL;
}

static int concurrent_fit(void)
{
    struct fit_job alone[THREADS], together[THREADS];
    pthread_t th[THREADS];
    int i, bad = 0;
    for (i = 0; i < THREADS; i++) {
        alone[i] = (struct fit_job){(uint64_t)(1000 + i), NULL, 0, BGM_OK};
        together[i] = alone[i];
        if (fit_one(&alone[i]) != BGM_OK)
            return 1;
    }
    for (i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, fit_worker, &together[i]) != 0) {
            fprintf(stderr, "tsan_threads: pthread_create failed\n");
            return 1;
        }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        if (together[i].status != BGM_OK || together[i].count != alone[i].count ||
            memcmp(together[i].weights, alone[i].weights,
                   (size_t)alone[i].count * sizeof(float)) != 0) {
            fprintf(stderr, "tsan_threads: fit thread %d: status %d, weights differ from a lone fit\n",
                    i, (int)together[i].status);
            bad = 1;
        }
        free(alone[i].weights);
        free(together[i].weights);
    }
    if (!bad)
        printf("tsan_threads: %d concurrent fits of distinct models (%d epochs): weights identical "
               "to sequential fits\n", THREADS, FIT_EPOCHS);
    return bad;
}

int main(void)
{
    const char *calls = getenv("PREDICT_CALLS");
    if (calls && atoi(calls) > 0)
        predict_calls = atoi(calls);
    /* a pool of 4 threads whatever the machine's cores */
    if (bgm_set_num_threads(4) != BGM_OK)
        return 1;
    if (concurrent_predict() != 0)
        return 1;
    return concurrent_fit() != 0;
}
