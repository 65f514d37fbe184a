/*
 * libbigmodel side of the GPT benchmark (test/bench/bench_gpt.sh):
 *
 *     bench_gpt gpt_train|gpt_generate [SECONDS]
 *
 * The character GPT of examples/char_gpt.c at its default size: vocabulary
 * 65, context 128, d 128, 4 pre-LN blocks of 4 heads. gpt_train: AdamW
 * (1e-3) steps of train_on_batch on one batch of 16 random windows (sparse
 * categorical cross-entropy from logits at every position), tokens/s.
 * gpt_generate: greedy bgm_model_generate of 256 tokens after a 32-token
 * prompt, batch 1, with the key/value cache, new tokens/s. The same model
 * and work as test/bench/bench_gpt_torch.py. Prints one line the script reads:
 *     BENCH name=... batch=... rate=... latency_ms=... rss_mib=... steps=... threads=...
 *           flops_per_sample=... isa=...
 * flops_per_sample (gpt_train): 2 x the multiply-adds of one token's share of
 * a training step (see train_flops); 0 for generation.
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
#define CONTEXT 128
#define DIM 128
#define HEADS 4
#define LAYERS 4
#define BATCH 16
#define PROMPT 32
#define NEW_TOKENS 256

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

static bgm_status block(bgm_node **x)
{
    bgm_node *h = *x;
    bgm_layer *mha = bgm_layer_multi_head_attention(HEADS, DIM / HEADS);
    bgm_status s = bgm_layer_set_use_causal_mask(mha, 1);
    s = call(s, &h, bgm_layer_layer_norm());
    if (s == BGM_OK)
        s = bgm_layer_call(&h, mha, (bgm_node *[]){h, h}, 2);
    else
        bgm_layer_free(mha);
    s = add(s, x, h);
    h = *x;
    s = call(s, &h, bgm_layer_layer_norm());
    s = call(s, &h, bgm_layer_dense(4 * DIM, BGM_ACT_GELU));
    s = call(s, &h, bgm_layer_dense(DIM, BGM_ACT_LINEAR));
    return add(s, x, h);
}

static bgm_status build(bgm_model **m)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *x = NULL, *pos = NULL;
    bgm_optimizer *opt = NULL;
    int i;
    bgm_status s = bgm_graph_create(&g);
    if (s == BGM_OK) s = bgm_graph_input(&in, g, (int64_t[]){CONTEXT}, 1, BGM_INT32, "tokens");
    x = in;
    s = call(s, &x, bgm_layer_embedding(VOCAB, DIM));
    pos = x;
    s = call(s, &pos, bgm_layer_position_embedding(CONTEXT));
    s = add(s, &x, pos);
    for (i = 0; i < LAYERS && s == BGM_OK; i++)
        s = block(&x);
    s = call(s, &x, bgm_layer_layer_norm());
    s = call(s, &x, bgm_layer_dense(VOCAB, BGM_ACT_LINEAR));
    if (s == BGM_OK) s = bgm_model_create_graph(m, &in, 1, &x, 1, 42);
    bgm_graph_free(g);
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

static bgm_status time_train(result *r, bgm_model *m, double seconds)
{
    bgm_tensor *x = NULL, *y = NULL;
    double t0;
    long steps = 0;
    bgm_status s = random_ids(&x, BATCH, CONTEXT, 1);
    if (s == BGM_OK) s = random_ids(&y, BATCH, CONTEXT, 2);
    for (int i = 0; s == BGM_OK && i < 3; i++) /* warm-up */
        s = bgm_model_train_on_batch(NULL, 0, m, x, y);
    t0 = now();
    while (s == BGM_OK && now() - t0 < seconds) {
        s = bgm_model_train_on_batch(NULL, 0, m, x, y);
        steps++;
    }
    r->steps = steps;
    r->rate = (double)steps * BATCH * CONTEXT / (now() - t0);
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
static double train_flops(void)
{
    double block = 12.0 * DIM * DIM + (double)DIM * (CONTEXT + 1);
    return 2.0 * 3.0 * (LAYERS * block + (double)DIM * VOCAB);
}

int main(int argc, char **argv)
{
    const char *workload = argc > 1 ? argv[1] : "";
    double seconds = argc > 2 ? atof(argv[2]) : 3.0;
    const char *env = getenv("BENCH_THREADS");
    int threads = env ? atoi(env) : 2, train = strcmp(workload, "gpt_train") == 0;
    bgm_model *m = NULL;
    result r = {0};
    bgm_status s;
    if (!train && strcmp(workload, "gpt_generate") != 0) {
        fprintf(stderr, "usage: %s gpt_train|gpt_generate [SECONDS]\n", argv[0]);
        return 2;
    }
    bgm_set_num_threads(threads);
    s = build(&m);
    if (s == BGM_OK)
        s = train ? time_train(&r, m, seconds) : time_generate(&r, m, seconds);
    if (s != BGM_OK) {
        fprintf(stderr, "bench_gpt: %s: %s\n", bgm_status_string(s), bgm_last_error());
        bgm_model_free(m);
        return 1;
    }
    printf("BENCH name=%s batch=%d rate=%.1f latency_ms=%.4f rss_mib=%.1f steps=%ld "
           "threads=%d flops_per_sample=%.0f isa=%s\n", workload, train ? BATCH : 1, r.rate,
           r.latency_ms, peak_rss_mib(), r.steps, threads, train ? train_flops() : 0.0,
           bgm_kernel_isa());
    bgm_model_free(m);
    return 0;
}
