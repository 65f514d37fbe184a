/*
 * libbigmodel side of the GPT benchmark (test/bench/bench_gpt.sh):
 *
 *     bench_gpt gpt_train|gpt_generate|gpt768_train [SECONDS]
 *
 * The pre-LN character GPT of examples/char_gpt.c (vocabulary 65, context
 * 128): token + learned position embedding, blocks of LayerNorm -> causal
 * multi-head attention -> Add, LayerNorm -> Dense 4d GELU -> Dense d -> Add,
 * final LayerNorm, Dense logits. Two sizes:
 *   gpt_train, gpt_generate: the example's default, d 128, 4 blocks of 4 heads;
 *   gpt768_train: GPT-2 small's shape, d 768, 12 blocks of 12 heads
 *   (85,254,209 parameters), the large-model row of issue 16.
 * Training: AdamW (1e-3) steps of train_on_batch on one batch of random
 * windows (16 of them at d 128, 4 at d 768), sparse categorical cross-entropy
 * from logits at every position, tokens/s. gpt_generate: greedy
 * bgm_model_generate of 256 tokens after a 32-token prompt, batch 1, with the
 * key/value cache, new tokens/s. The same model and work as
 * test/bench/bench_gpt_torch.py. Prints one line the script reads:
 *     BENCH name=... batch=... rate=... latency_ms=... rss_mib=... steps=... threads=...
 *           params=... flops_per_sample=... samples_per_step=... bytes_per_step=... isa=...
 * A sample is a token: flops_per_sample (training) is 2 x the multiply-adds of
 * one token's share of a step (train_flops), samples_per_step the tokens of a
 * step, bytes_per_step what the step moves besides its products (train_bytes):
 * the two terms of the roofline floor. 0 for generation.
 * Threads: BENCH_THREADS (default 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <bigmodel.h>

#include "bench_util.h"

#define VOCAB 65
#define PROMPT 32
#define NEW_TOKENS 256

/* One size of the GPT and how its training step is timed. */
typedef struct gpt_shape {
    int64_t dim, heads, layers, context, batch;
    int warmup; /* untimed steps first: the first maps the tape and the AdamW moments */
} gpt_shape;

static const gpt_shape small_gpt = {128, 4, 4, 128, 16, 3};
/* Context 128 at batch 4: about 265 GFLOP a step, 1.5-2 s on the 2-core Zen 4. */
static const gpt_shape gpt768 = {768, 12, 12, 128, 4, 1};

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

static bgm_status add(bgm_status s, bgm_node **x, bgm_node *y)
{
    return s == BGM_OK ? bgm_layer_call(x, bgm_layer_add(), (bgm_node *[]){*x, y}, 2) : s;
}

static bgm_status block(bgm_node **x, const gpt_shape *g)
{
    bgm_node *h = *x;
    bgm_layer *mha = bgm_layer_multi_head_attention(g->heads, g->dim / g->heads);
    bgm_status s = bgm_layer_set_use_causal_mask(mha, 1);
    s = call(s, &h, bgm_layer_layer_norm());
    if (s == BGM_OK)
        s = bgm_layer_call(&h, mha, (bgm_node *[]){h, h}, 2);
    else
        bgm_layer_free(mha);
    s = add(s, x, h);
    h = *x;
    s = call(s, &h, bgm_layer_layer_norm());
    s = call(s, &h, bgm_layer_dense(4 * g->dim, BGM_ACT_GELU));
    s = call(s, &h, bgm_layer_dense(g->dim, BGM_ACT_LINEAR));
    return add(s, x, h);
}

static bgm_status build(bgm_model **m, const gpt_shape *g)
{
    bgm_graph *gr = NULL;
    bgm_node *in = NULL, *x = NULL, *pos = NULL;
    bgm_optimizer *opt = NULL;
    int i;
    bgm_status s = bgm_graph_create(&gr);
    if (s == BGM_OK) s = bgm_graph_input(&in, gr, (int64_t[]){g->context}, 1, BGM_INT32, "tokens");
    x = in;
    s = call(s, &x, bgm_layer_embedding(VOCAB, g->dim));
    pos = x;
    s = call(s, &pos, bgm_layer_position_embedding(g->context));
    s = add(s, &x, pos);
    for (i = 0; i < g->layers && s == BGM_OK; i++)
        s = block(&x, g);
    s = call(s, &x, bgm_layer_layer_norm());
    s = call(s, &x, bgm_layer_dense(VOCAB, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_model_create_graph(m, &in, 1, &x, 1, 42);
    bgm_graph_free(gr);
    if (s == BGM_OK) s = bgm_optimizer_adamw(&opt, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f);
    if (s == BGM_OK) {
        s = bgm_model_compile(*m, opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, NULL, 0);
        opt = NULL;
    }
    bgm_optimizer_free(opt);
    return s;
}

static bgm_status random_ids(bgm_tensor **t, int64_t n, int64_t len, uint64_t seed)
{
    bgm_rng *rng = NULL;
    bgm_status s = bgm_rng_create(&rng, seed);
    if (s == BGM_OK) s = bgm_tensor_zeros(t, BGM_INT32, (int64_t[]){n, len}, 2);
    for (int64_t i = 0; s == BGM_OK && i < n * len; i++)
        ((int32_t *)bgm_tensor_data(*t))[i] = (int32_t)(bgm_rng_next_u64(rng) % VOCAB);
    bgm_rng_free(rng);
    return s;
}

typedef struct result {
    double rate, latency_ms;
    long steps;
} result;

static bgm_status time_train(result *r, bgm_model *m, const gpt_shape *g, double seconds)
{
    bgm_tensor *x = NULL, *y = NULL;
    double t0;
    long steps = 0;
    bgm_status s = random_ids(&x, g->batch, g->context, 1);
    if (s == BGM_OK) s = random_ids(&y, g->batch, g->context, 2);
    for (int i = 0; s == BGM_OK && i < g->warmup; i++)
        s = bgm_model_train_on_batch(NULL, 0, m, x, y);
    t0 = now();
    while (s == BGM_OK && now() - t0 < seconds) {
        s = bgm_model_train_on_batch(NULL, 0, m, x, y);
        steps++;
    }
    r->steps = steps;
    r->rate = (double)steps * (double)(g->batch * g->context) / (now() - t0);
    r->latency_ms = 1e3 * (now() - t0) / (double)(steps ? steps : 1);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

static bgm_status time_generate(result *r, bgm_model *m, double seconds)
{
    bgm_tensor *prompt = NULL, *out = NULL;
    bgm_generate_options go;
    double t0;
    long runs = 0;
    bgm_status s = random_ids(&prompt, 1, PROMPT, 3);
    bgm_generate_options_init(&go, sizeof go);
    go.temperature = 0; /* greedy: the same work as the PyTorch side */
    go.max_new_tokens = NEW_TOKENS;
    if (s == BGM_OK) /* warm-up */
        s = bgm_model_generate(&out, m, bgm_tensor_data(prompt), PROMPT, &go);
    bgm_tensor_free(out);
    t0 = now();
    while (s == BGM_OK && (runs == 0 || now() - t0 < seconds)) {
        out = NULL;
        s = bgm_model_generate(&out, m, bgm_tensor_data(prompt), PROMPT, &go);
        if (s == BGM_OK && bgm_tensor_numel(out) != NEW_TOKENS)
            s = BGM_E_INTERNAL;
        bgm_tensor_free(out);
        runs++;
    }
    r->steps = runs;
    r->rate = (double)runs * NEW_TOKENS / (now() - t0);
    r->latency_ms = 1e3 * (now() - t0) / ((double)runs * NEW_TOKENS);
    bgm_tensor_free(prompt);
    return s;
}

/* FLOPs per token of a training step. Forward, per token and block: the q, k,
 * v and output projections (4 d^2 multiply-adds) and the feed-forward pair
 * (8 d^2), then attention's scores and weighted sum over the positions the
 * causal mask keeps (2 d (t + 1) at position t: d (T + 1) on average over a
 * window of T); the head takes d x vocabulary. Training is 3 x forward (input
 * and weight gradients; the first product's input is the embedding, whose
 * gradient it needs). LayerNorm, GELU, softmax and the loss are no products. */
static double train_flops(const gpt_shape *g)
{
    double d = (double)g->dim;
    double block = 12.0 * d * d + d * (double)(g->context + 1);
    return 2.0 * 3.0 * ((double)g->layers * block + d * VOCAB);
}

/* Bytes a training step moves besides its products, in floats per token,
 * each elementwise pass reading its inputs and writing its output once (as
 * mlp_bytes in bench_models.c counts the MLP's). Per block: the two
 * LayerNorms (forward reads x, writes y: 2d; backward reads x and dy, writes
 * dx: 3d), the two residual adds (forward 3d; backward adds the branch's
 * input gradient into the stream's: 3d), GELU over 4d (forward 2, backward
 * 3 floats each) and the bias gradients reading the output gradients of
 * q, k, v, the projection and both feed-forward products (9d): 51d. Outside
 * the blocks: the final LayerNorm (5d); the embeddings (forward reads the
 * token and position rows and writes their sum, 3d; backward reads its
 * gradient and adds it into both rows' gradients, 5d); per logit the loss
 * reads it, writes its gradient and the head's bias gradient reads that (3).
 * Not counted: attention's scores and probabilities (a fused kernel keeps a
 * tile of them in cache; this library's does), zeroing the gradients, the
 * products' own operands. Plus AdamW: it reads each parameter, its gradient
 * and both moments and writes back the parameter and the moments (7 floats). */
static double train_bytes(const gpt_shape *g, double params)
{
    double d = (double)g->dim, tokens = (double)(g->batch * g->context);
    double per_token = (double)g->layers * 51.0 * d + 13.0 * d + 3.0 * VOCAB;
    return 4.0 * (7.0 * params + tokens * per_token);
}

int main(int argc, char **argv)
{
    const char *workload = argc > 1 ? argv[1] : "";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    const char *env = getenv("BENCH_THREADS");
    int threads = env ? atoi(env) : 2;
    int large = strcmp(workload, "gpt768_train") == 0;
    int train = large || strcmp(workload, "gpt_train") == 0;
    const gpt_shape *g = large ? &gpt768 : &small_gpt;
    double params;
    bgm_model *m = NULL;
    result r = {0};
    bgm_status s;
    if (!train && strcmp(workload, "gpt_generate") != 0) {
        fprintf(stderr, "usage: %s gpt_train|gpt_generate|gpt768_train [SECONDS]\n", argv[0]);
        return 2;
    }
    bgm_set_num_threads(threads);
    s = build(&m, g);
    if (s == BGM_OK)
        s = train ? time_train(&r, m, g, seconds) : time_generate(&r, m, seconds);
    if (s != BGM_OK) {
        fprintf(stderr, "bench_gpt: %s: %s\n", bgm_status_string(s), bgm_last_error());
        bgm_model_free(m);
        return 1;
    }
    params = (double)bgm_model_num_params(m);
    printf("BENCH name=%s batch=%lld rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%ld "
           "threads=%d params=%.0f flops_per_sample=%.0f samples_per_step=%lld "
           "bytes_per_step=%.0f isa=%s\n", workload, train ? (long long)g->batch : 1LL,
           r.rate, r.latency_ms, peak_rss_mib(), r.steps, threads, params,
           train ? train_flops(g) : 0.0, train ? (long long)(g->batch * g->context) : 1LL,
           train ? train_bytes(g, params) : 0.0, bgm_kernel_isa());
    bgm_model_free(m);
    return 0;
}
