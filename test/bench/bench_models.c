/*
 * libbigmodel side of `make bench`: one workload per process, so the peak
 * RSS printed is that workload's alone.
 *
 *     bench_models WORKLOAD [SECONDS]
 *
 * WORKLOAD is cnn_train32, cnn_train64, mlp_train64, cnn_infer256,
 * cnn_latency1, resnet_train64, resnet_infer64 or mlp37m_train64 (the
 * 37M-parameter MLP 784-4096-4096-4096-10 on random data). Prints one line
 * that test/bench/run.sh reads:
 *     BENCH name=... batch=... rate=... latency_ms=... rss_mib=... minflt_per_step=...
 *           flops_per_sample=... bytes_per_step=...
 * rate is samples per second; latency_ms the mean time of one step; fast_ms
 * its 10th percentile, which other jobs on the machine move much less than
 * the mean (for comparing two builds on a busy VM). BENCH_PCT=1 also
 * writes the step times' percentiles to stderr (how wide they spread).
 * flops_per_sample counts the multiply-adds (x2) of the matrix products and
 * convolutions a sample needs, forward and, in training, backward (see
 * workload_flops); bytes_per_step, for the dense MLPs only (0 otherwise), the
 * memory traffic of the optimizer and of the elementwise ops of one step
 * (see mlp_bytes): the two terms of the roofline floor.
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
#include "../../examples/seed_cnn.h"

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

/* The seed CNN of the Keras tutorial (examples/seed_cnn.h, the same model
 * the examples train), compiled with Adam on sparse CE from logits. */
static bgm_status build_cnn(bgm_model **m)
{
    return seed_cnn_build(m, (int64_t[]){32, 32, 3});
}

/* The dense MLPs: widths of the input, the ReLU layers and the logits. */
static const int64_t mlp_small[] = {784, 256, 128, 10};
static const int64_t mlp_large[] = {784, 4096, 4096, 4096, 10}; /* 36,818,954 weights */
#define MLP_LAYERS(w) ((int)(sizeof(w) / sizeof *(w)) - 1)

/* Dense(ReLU) layers of widths w[1..layers-1], then Dense(w[layers]) on
 * logits; same optimizer and loss. */
static bgm_status build_mlp(bgm_model **m, const int64_t *w, int layers)
{
    bgm_status s = bgm_model_create(m, (int64_t[]){w[0]}, 1, 42);
    for (int i = 1; i <= layers && s == BGM_OK; i++)
        s = bgm_model_add(*m, bgm_layer_dense(w[i], i < layers ? BGM_ACT_RELU
                                                               : BGM_ACT_LINEAR));
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

/* Random samples of shape `shape` (samples first) in [0, 1) and labels 0..9. */
static bgm_status random_samples(bgm_tensor **x, bgm_tensor **y, const int64_t *shape,
                                 int ndim)
{
    int64_t n = shape[0];
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, 7);
    *x = *y = NULL;
    if (s == BGM_OK)
        s = bgm_tensor_rand_uniform(x, rng, shape, ndim, 0.0f, 1.0f);
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
    double rate, latency_ms, minflt_per_step, fast_ms;
    long steps;
} result;

/* The times of the first STEP_TIMES steps, for their 10th percentile. */
#define STEP_TIMES 4096

typedef struct step_times {
    double last, t[STEP_TIMES];
    long n;
} step_times;

static void step_time(step_times *st)
{
    double t = now();
    if (st->last > 0.0 && st->n < STEP_TIMES)
        st->t[st->n++] = t - st->last;
    st->last = t;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 10th percentile of the recorded step times, in ms (0 without any). */
static double fast_ms(step_times *st)
{
    if (st->n == 0)
        return 0.0;
    qsort(st->t, (size_t)st->n, sizeof st->t[0], by_value);
    if (getenv("BENCH_PCT"))
        fprintf(stderr, "PCT p10 %.2f p25 %.2f p50 %.2f p75 %.2f p90 %.2f max %.2f\n",
                1e3 * st->t[st->n / 10], 1e3 * st->t[st->n / 4], 1e3 * st->t[st->n / 2],
                1e3 * st->t[3 * st->n / 4], 1e3 * st->t[9 * st->n / 10], 1e3 * st->t[st->n - 1]);
    return 1e3 * st->t[st->n / 10];
}

/* Stops fit after `limit` batches or once `seconds` have passed. */
typedef struct step_clock {
    double start, seconds;
    long steps, limit;
    step_times *times; /* NULL: not recorded */
} step_clock;

static int count_step(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                      int64_t batch, const bgm_logs *logs)
{
    step_clock *c = ctx;
    (void)m, (void)epoch, (void)batch, (void)logs;
    if (event != BGM_EVENT_BATCH_END)
        return 0;
    c->steps++;
    if (c->times)
        step_time(c->times);
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
    static step_times times;
    step_clock clock = {0.0, 1e9, 0, WARMUP_STEPS, NULL};
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
    clock.times = &times;
    f0 = minor_faults();
    t0 = clock.start = times.last = now();
    if (s == BGM_OK)
        s = bgm_model_fit(NULL, m, x, y, &fo);
    t1 = now();
    bgm_callback_free(cb);
    r->steps = clock.steps;
    r->rate = (double)(clock.steps * batch) / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)clock.steps;
    r->fast_ms = fast_ms(&times);
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
    static step_times times;
    f0 = minor_faults();
    t0 = t1 = times.last = now();
    while (s == BGM_OK && (calls < INFER_CALLS_MIN || t1 - t0 < seconds)) {
        s = bgm_model_predict(&out, m, x, n);
        bgm_tensor_free(out);
        calls++;
        step_time(&times);
        t1 = now();
    }
    r->fast_ms = fast_ms(&times);
    r->steps = calls;
    r->rate = (double)(calls * n) / (t1 - t0);
    r->latency_ms = 1e3 * (t1 - t0) / (double)calls;
    r->minflt_per_step = (double)(minor_faults() - f0) / (double)calls;
    return s;
}

/* ---- FLOPs and bytes of the roofline -------------------------------------
 * A layer's forward pass takes the multiply-adds below; training adds two
 * products of the same size per layer (the gradient of its input and of its
 * weights), but none for the first layer's input gradient, which nothing
 * needs: training = 3 forward - the first layer's forward. Convolutions are
 * counted as direct ones (Winograd does fewer multiplies: counting its own
 * would hide the gain); pooling, BatchNorm, activations and the loss do no
 * products and are not counted. */

/* A k x k convolution from cin to cout channels with an out_h x out_w output. */
static double conv_macs(int64_t out_h, int64_t out_w, int64_t cin, int64_t cout, int64_t k)
{
    return (double)(out_h * out_w * cout) * (double)(k * k * cin);
}

/* Forward multiply-adds per sample of the seed CNN (32x32x3, VALID); *first
 * gets those of its first layer. */
static double cnn_macs(double *first)
{
    *first = conv_macs(30, 30, 3, 32, 3);
    return *first + conv_macs(13, 13, 32, 64, 3) + conv_macs(4, 4, 64, 64, 3) +
           4.0 * 4 * 64 * 64 + 64.0 * 10;
}

/* Forward multiply-adds per sample of build_resnet's network (SAME, 28x28x1),
 * stage by stage as it is built. */
static double resnet_macs(double *first)
{
    double macs = *first = conv_macs(28, 28, 1, 16, 3);
    int64_t side = 28, cin = 16;
    for (int stage = 0; stage < 3; stage++) {
        int64_t f = (int64_t)16 << stage;
        for (int block = 0; block < 2; block++) {
            int64_t stride = stage > 0 && block == 0 ? 2 : 1;
            side /= stride;
            macs += conv_macs(side, side, cin, f, 3) + conv_macs(side, side, f, f, 3);
            if (stride != 1 || cin != f) /* the 1x1 projection */
                macs += conv_macs(side, side, cin, f, 1);
            cin = f;
        }
    }
    return macs + 64.0 * 10;
}

/* Forward multiply-adds per sample of a dense MLP of widths w[0..layers]. */
static double mlp_macs(const int64_t *w, int layers, double *first)
{
    double macs = 0.0;
    for (int i = 1; i <= layers; i++)
        macs += (double)w[i - 1] * (double)w[i];
    *first = (double)w[0] * (double)w[1];
    return macs;
}

/* Bytes a training step of a dense MLP must move besides its products:
 * Adam reads each weight, its gradient and both moments and writes back the
 * weight and the moments (7 floats a weight); per hidden activation ReLU
 * reads and writes it forward (2 floats), reads the gradient and the
 * activation and writes the gradient backward (3), and the bias gradient
 * reads the activation's gradient (1); per logit the loss reads the logit and
 * writes its gradient and the bias gradient reads that (3). */
static double mlp_bytes(const int64_t *w, int layers, int64_t batch)
{
    double weights = 0.0, hidden = 0.0;
    for (int i = 1; i <= layers; i++)
        weights += (double)(w[i - 1] * w[i] + w[i]);
    for (int i = 1; i < layers; i++)
        hidden += (double)w[i];
    return 4.0 * (7.0 * weights + (double)batch * (6.0 * hidden + 3.0 * (double)w[layers]));
}

typedef struct workload {
    const char *name;
    int64_t batch;
    int train;
    char model; /* 'c' seed CNN, 'm' small MLP, 'M' 37M MLP, 'r' ResNet */
} workload;

static const workload workloads[] = {
    {"cnn_train32", 32, 1, 'c'},   {"cnn_train64", 64, 1, 'c'},
    {"mlp_train64", 64, 1, 'm'},   {"cnn_infer256", 256, 0, 'c'},
    {"cnn_latency1", 1, 0, 'c'},   {"resnet_train64", 64, 1, 'r'},
    {"resnet_infer64", 64, 0, 'r'}, {"mlp37m_train64", 64, 1, 'M'},
};

/* FLOPs per sample of workload w (2 per multiply-add), forward and backward
 * in training; *bytes gets the step's optimizer + elementwise bytes (MLPs). */
static double workload_flops(const workload *w, double *bytes)
{
    double first, fwd;
    *bytes = 0.0;
    switch (w->model) {
    case 'c': fwd = cnn_macs(&first); break;
    case 'r': fwd = resnet_macs(&first); break;
    case 'm':
        fwd = mlp_macs(mlp_small, MLP_LAYERS(mlp_small), &first);
        if (w->train) *bytes = mlp_bytes(mlp_small, MLP_LAYERS(mlp_small), w->batch);
        break;
    default:
        fwd = mlp_macs(mlp_large, MLP_LAYERS(mlp_large), &first);
        if (w->train) *bytes = mlp_bytes(mlp_large, MLP_LAYERS(mlp_large), w->batch);
        break;
    }
    return 2.0 * (w->train ? 3.0 * fwd - first : fwd);
}

/* Builds w's model and its data: Fashion-MNIST for the small MLP, random
 * samples otherwise (a training set of CIFAR_TRAIN_SAMPLES, one batch for
 * inference). */
static bgm_status setup(const workload *w, bgm_model **m, bgm_tensor **x, bgm_tensor **y)
{
    int64_t n = w->train ? CIFAR_TRAIN_SAMPLES : w->batch;
    bgm_status s;
    switch (w->model) {
    case 'm':
        s = build_mlp(m, mlp_small, MLP_LAYERS(mlp_small));
        return s == BGM_OK ? fashion(x, y) : s;
    case 'M':
        s = build_mlp(m, mlp_large, MLP_LAYERS(mlp_large));
        return s == BGM_OK ? random_samples(x, y, (int64_t[]){n, 784}, 2) : s;
    case 'r':
        s = build_resnet(m);
        return s == BGM_OK ? random_samples(x, y, (int64_t[]){n, 28, 28, 1}, 4) : s;
    default:
        s = build_cnn(m);
        return s == BGM_OK ? random_samples(x, y, (int64_t[]){n, 32, 32, 3}, 4) : s;
    }
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "";
    const char *threads_env = getenv("BENCH_THREADS");
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    int threads = threads_env ? atoi(threads_env) : 2;
    const workload *w = NULL;
    bgm_model *m = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    double flops, bytes;
    result r;
    bgm_status s;
    for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
        if (!strcmp(name, workloads[i].name))
            w = &workloads[i];
    if (!w) {
        fprintf(stderr, "usage: bench_models WORKLOAD [SECONDS]; WORKLOAD is one of");
        for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
            fprintf(stderr, " %s", workloads[i].name);
        fprintf(stderr, "\n");
        return 2;
    }
    s = bgm_set_num_threads(threads);
    if (s != BGM_OK)
        return fail("threads", s);
    s = setup(w, &m, &x, &y);
    if (s != BGM_OK)
        return fail("setup", s);
    s = w->train ? time_fit(&r, m, x, y, w->batch, seconds) : time_predict(&r, m, x, seconds);
    if (s != BGM_OK)
        return fail(w->name, s);
    flops = workload_flops(w, &bytes);
    printf("BENCH name=%s batch=%lld rate=%.1f latency_ms=%.4f rss_mib=%.1f "
           "minflt_per_step=%.1f steps=%ld threads=%d flops_per_sample=%.0f "
           "bytes_per_step=%.0f isa=%s fast_ms=%.4f\n",
           w->name, (long long)w->batch, r.rate, r.latency_ms, peak_rss_mib(),
           r.minflt_per_step, r.steps, threads, flops, bytes, bgm_kernel_isa(), r.fast_ms);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    return 0;
}
