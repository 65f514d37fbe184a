/*
 * libbigmodel side of `make bench`: one workload per process, so the peak
 * RSS printed is that workload's alone.
 *
 *     bench_models WORKLOAD [SECONDS]
 *
 * WORKLOAD is cnn_train32, cnn_train64, mlp_train64, cnn_infer256,
 * cnn_latency1, resnet_train64 or resnet_infer64. Prints one line that test/bench/run.sh reads:
 *     BENCH name=... batch=... rate=... latency_ms=... rss_mib=... minflt_per_step=...
 * rate is samples per second; latency_ms the mean time of one step.
 * Threads: BENCH_THREADS (default 2). Fashion-MNIST is read from
 * BENCH_FASHION_DIR (default /usr/share/datasets/fashion-mnist).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <bigmodel.h>

#include "bench_util.h"

#define CIFAR_TRAIN_SAMPLES 1024
#define MLP_TRAIN_SAMPLES 9984   /* of the 10,000 t10k images: 156 full batches of 64 */
#define WARMUP_STEPS 5
#define INFER_CALLS_MIN 3

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int fail(const char *what, bgm_status s)
{
    fprintf(stderr, "bench_models: %s: %s (%s)\n", what, bgm_last_error(),
            bgm_status_string(s));
    return 1;
}

/* Compiles m (when s is BGM_OK) with Adam (1e-3) on sparse CE from logits and accuracy. */
static bgm_status compile_adam(bgm_model *m, bgm_status s)
{
    bgm_optimizer *adam = NULL;
    if (s == BGM_OK) s = bgm_optimizer_adam(&adam, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                            BGM_ADAM_EPSILON);
    if (s == BGM_OK)
        s = bgm_model_compile(m, adam, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
    return s;
}

/* The seed CNN of the Keras tutorial, compiled with Adam on sparse CE from logits. */
static bgm_status build_cnn(bgm_model **m)
{
    bgm_status s = bgm_model_create(m, (int64_t[]){32, 32, 3}, 3, 42);
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(32, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_max_pool2d(2));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_max_pool2d(2));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_conv2d(64, 3, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_flatten());
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(64, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    return compile_adam(*m, s);
}

/* The MLP 784-256-128-10, same optimizer and loss. */
static bgm_status build_mlp(bgm_model **m)
{
    bgm_status s = bgm_model_create(m, (int64_t[]){784}, 1, 42);
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(256, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(128, BGM_ACT_RELU));
    if (s == BGM_OK) s = bgm_model_add(*m, bgm_layer_dense(10, BGM_ACT_LINEAR));
    return compile_adam(*m, s);
}

/* conv_bn for the ResNet: Conv2D (SAME, no bias) -> BatchNorm [-> ReLU], on *x. */
static bgm_status conv_bn(bgm_node **x, int64_t filters, int64_t k, int64_t stride, int relu)
{
    bgm_layer *conv = bgm_layer_conv2d(filters, k, BGM_ACT_LINEAR);
    bgm_node *in = *x;
    bgm_status s = bgm_layer_set_strides(conv, stride, stride);
    if (s == BGM_OK) s = bgm_layer_set_padding(conv, BGM_PADDING_SAME);
    if (s == BGM_OK) s = bgm_layer_set_use_bias(conv, 0);
    if (s != BGM_OK) {
        bgm_layer_free(conv);
        return s;
    }
    s = bgm_layer_call(x, conv, &in, 1);
    in = *x;
    if (s == BGM_OK) s = bgm_layer_call(x, bgm_layer_batch_norm(), &in, 1);
    in = *x;
    if (s == BGM_OK && relu) s = bgm_layer_call(x, bgm_layer_activation(BGM_ACT_RELU), &in, 1);
    return s;
}

/* The ResNet of examples/resnet_fashion.c: stem, three stages of two basic
 * blocks (16, 32, 64 filters; 1x1 stride-2 projections where a stage
 * downsamples), global average pooling, Dense(10); Adam, sparse CE. */
static bgm_status build_resnet(bgm_model **m)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *x, *h, *sc, *pair[2];
    int stage, block;
    bgm_status s = bgm_graph_create(&g);
    if (s == BGM_OK)
        s = bgm_graph_input(&in, g, (int64_t[]){28, 28, 1}, 3, BGM_FLOAT32, "image");
    x = in;
    if (s == BGM_OK) s = conv_bn(&x, 16, 3, 1, 1);
    for (stage = 0; stage < 3 && s == BGM_OK; stage++) {
        for (block = 0; block < 2 && s == BGM_OK; block++) {
            int64_t f = (int64_t)16 << stage, stride = stage > 0 && block == 0 ? 2 : 1;
            h = sc = x;
            s = conv_bn(&h, f, 3, stride, 1);
            if (s == BGM_OK) s = conv_bn(&h, f, 3, 1, 0);
            if (s == BGM_OK && (stride != 1 || bgm_node_shape(x, NULL)[2] != f))
                s = conv_bn(&sc, f, 1, stride, 0);
            pair[0] = h;
            pair[1] = sc;
            if (s == BGM_OK) s = bgm_layer_call(&x, bgm_layer_add(), pair, 2);
            h = x;
            if (s == BGM_OK) s = bgm_layer_call(&x, bgm_layer_activation(BGM_ACT_RELU), &h, 1);
        }
    }
    h = x;
    if (s == BGM_OK) s = bgm_layer_call(&x, bgm_layer_global_avg_pool2d(), &h, 1);
    h = x;
    if (s == BGM_OK) s = bgm_layer_call(&x, bgm_layer_dense(10, BGM_ACT_LINEAR), &h, 1);
    if (s == BGM_OK) s = bgm_model_create_graph(m, &in, 1, &x, 1, 42);
    bgm_graph_free(g);
    return compile_adam(*m, s);
}

/* n random images of shape (h, w, c) in [0, 1) and labels 0..9. */
static bgm_status random_images(bgm_tensor **x, bgm_tensor **y, int64_t n, int64_t h,
                                int64_t w, int64_t c)
{
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, 7);
    *x = *y = NULL;
    if (s == BGM_OK)
        s = bgm_tensor_rand_uniform(x, rng, (int64_t[]){n, h, w, c}, 4, 0.0f, 1.0f);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(y, BGM_INT32, (int64_t[]){n}, 1);
    if (s == BGM_OK) {
        int32_t *labels = bgm_tensor_data(*y);
        for (int64_t i = 0; i < n; i++)
            labels[i] = (int32_t)(bgm_rng_next_u64(rng) % 10);
    }
    bgm_rng_free(rng);
    return s;
}

/* The first MLP_TRAIN_SAMPLES of Fashion-MNIST's t10k images as (N, 784) in
 * [0, 1], with their labels. */
static bgm_status fashion(bgm_tensor **x, bgm_tensor **y)
{
    const char *dir = getenv("BENCH_FASHION_DIR");
    char images[4096], labels[4096];
    bgm_tensor *raw = NULL;
    bgm_status s;
    *x = *y = NULL;
    if (!dir)
        dir = "/usr/share/datasets/fashion-mnist";
    snprintf(images, sizeof images, "%s/t10k-images-idx3-ubyte.gz", dir);
    snprintf(labels, sizeof labels, "%s/t10k-labels-idx1-ubyte.gz", dir);
    s = bgm_idx_load_images(&raw, images);
    if (s == BGM_OK)
        s = bgm_idx_load_labels(y, labels);
    if (s == BGM_OK && bgm_tensor_dim(raw, 0) < MLP_TRAIN_SAMPLES)
        s = BGM_E_FORMAT;
    if (s == BGM_OK) {
        bgm_tensor *first = NULL, *all_labels = *y;
        s = bgm_tensor_slice(&first, raw, 0, MLP_TRAIN_SAMPLES);
        if (s == BGM_OK)
            s = bgm_tensor_slice(y, all_labels, 0, MLP_TRAIN_SAMPLES);
        if (s == BGM_OK)
            s = bgm_tensor_reshape(x, first, (int64_t[]){-1, 784}, 2);
        bgm_tensor_free(first);
        bgm_tensor_free(all_labels);
    }
    if (s == BGM_OK) {
        float *p = bgm_tensor_data(*x);
        for (int64_t i = 0; i < bgm_tensor_numel(*x); i++)
            p[i] /= 255.0f;
    }
    bgm_tensor_free(raw);
    return s;
}

typedef struct result {
    double rate, latency_ms, minflt_per_step;
    long steps;
} result;

/* Stops fit after `limit` batches or once `seconds` have passed. */
typedef struct step_clock {
    double start, seconds;
    long steps, limit;
} step_clock;

static int count_step(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                      int64_t batch, const bgm_logs *logs)
{
    step_clock *c = ctx;
    (void)m, (void)epoch, (void)batch, (void)logs;
    if (event != BGM_EVENT_BATCH_END)
        return 0;
    c->steps++;
    return c->steps >= c->limit || now() - c->start >= c->seconds;
}

/* Keras-style fit, as many shuffled epochs as it takes: a few warm-up
 * batches, then batches for `seconds`. Every batch is full (the caller
 * passes a multiple of batch samples). */
static bgm_status time_fit(result *r, bgm_model *m, const bgm_tensor *x, const bgm_tensor *y,
                           int64_t batch, double seconds)
{
    bgm_callback *cb = NULL;
    bgm_fit_options fo;
    step_clock clock = {0.0, 1e9, 0, WARMUP_STEPS};
    double t0, t1;
    long f0;
    bgm_status s = bgm_fit_options_init(&fo, sizeof fo);
    if (s == BGM_OK)
        s = bgm_callback_lambda(&cb, count_step, &clock);
    fo.batch_size = batch;
    fo.verbose = 0;
    fo.epochs = 1 << 20;
    fo.callbacks = &cb;
    fo.num_callbacks = 1;
    clock.start = now();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &fo);
    clock.steps = 0;
    clock.limit = 1L << 40;
    clock.seconds = seconds;
    f0 = minor_faults();
    t0 = clock.start = now();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &fo);
    t1 = now();
    bgm_callback_free(cb);
    r->steps = clock.steps;
    r->rate = (double)(clock.steps * batch) / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)clock.steps;
    r->minflt_per_step = (double)(minor_faults() - f0) / (double)clock.steps;
    return s;
}

/* predict(x) with batch = all of x, repeated for `seconds` after a warm-up. */
static bgm_status time_predict(result *r, const bgm_model *m, const bgm_tensor *x,
                               double seconds)
{
    int64_t n = bgm_tensor_dim(x, 0);
    bgm_tensor *out = NULL;
    bgm_status s = BGM_OK;
    double t0, t1;
    long calls = 0, f0;
    for (int i = 0; s == BGM_OK && i < INFER_CALLS_MIN; i++) {
        s = bgm_model_predict(&out, m, x, n);
        bgm_tensor_free(out);
    }
    f0 = minor_faults();
    t0 = t1 = now();
    while (s == BGM_OK && (calls < INFER_CALLS_MIN || t1 - t0 < seconds)) {
        s = bgm_model_predict(&out, m, x, n);
        bgm_tensor_free(out);
        calls++;
        t1 = now();
    }
    r->steps = calls;
    r->rate = (double)(calls * n) / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)calls;
    r->minflt_per_step = (double)(minor_faults() - f0) / (double)calls;
    return s;
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    const char *threads_env = getenv("BENCH_THREADS");
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int threads = threads_env ? atoi(threads_env) : 2;
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    int64_t batch;
    result r;
    bgm_status s;
    int train;
    if (!strcmp(w, "cnn_train32"))
        batch = 32, train = 1;
    else if (!strcmp(w, "cnn_train64"))
        batch = 64, train = 1;
    else if (!strcmp(w, "mlp_train64"))
        batch = 64, train = 1;
    else if (!strcmp(w, "cnn_infer256"))
        batch = 256, train = 0;
    else if (!strcmp(w, "cnn_latency1"))
        batch = 1, train = 0;
    else if (!strcmp(w, "resnet_train64"))
        batch = 64, train = 1;
    else if (!strcmp(w, "resnet_infer64"))
        batch = 64, train = 0;
    else {
        fprintf(stderr, "usage: bench_models cnn_train32|cnn_train64|mlp_train64|"
                        "cnn_infer256|cnn_latency1|resnet_train64|resnet_infer64 "
                        "[SECONDS]\n");
        return 2;
    }
    s = bgm_set_num_threads(threads);
    if (s != BGM_OK)
        return fail("threads", s);
    if (w[0] == 'm') {
        s = build_mlp(&m);
        if (s == BGM_OK)
            s = fashion(&x, &y);
    } else if (w[0] == 'r') {
        s = build_resnet(&m);
        if (s == BGM_OK)
            s = random_images(&x, &y, train ? CIFAR_TRAIN_SAMPLES : batch, 28, 28, 1);
    } else {
        s = build_cnn(&m);
        if (s == BGM_OK)
            s = random_images(&x, &y, train ? CIFAR_TRAIN_SAMPLES : batch, 32, 32, 3);
    }
    if (s != BGM_OK)
        return fail("setup", s);
    s = train ? time_fit(&r, m, x, y, batch, seconds) : time_predict(&r, m, x, seconds);
    if (s != BGM_OK)
        return fail(w, s);
    printf("BENCH name=%s batch=%lld rate=%.1f latency_ms=%.4f rss_mib=%.1f "
           "minflt_per_step=%.1f steps=%ld threads=%d\n",
           w, (long long)batch, r.rate, r.latency_ms, peak_rss_mib(), r.minflt_per_step,
           r.steps, threads);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    return 0;
}
