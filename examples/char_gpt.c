/*
 * A character-level GPT on the King James Bible: token + position
 * embedding, N pre-LN Transformer blocks (LayerNorm -> causal multi-head
 * attention -> Add, LayerNorm -> Dense 4d GELU -> Dense d -> Add), a final
 * LayerNorm and Dense logits over the characters. The text comes from
 * Debian's bible-kjv (`bible -f Gen1:1-Rev22:21`, verse labels stripped);
 * Romans to Revelation, the last tenth, is held out for validation.
 *
 * Training runs in epochs of random windows of the training text, AdamW
 * with a linear warmup and a cosine decay over the run, for a time budget
 * (-m; the decay's length is re-estimated after every epoch from the speed
 * so far) or a number of epochs (-e). Every epoch reports the training
 * loss, the validation loss and perplexity on 512 held-out windows, and saves
 * the model (-o). The end reports the loss over the whole held-out text and
 * samples text from a prompt with the key/value cache (generate.h).
 *
 *     char_gpt [-m MINUTES (10)] [-e EPOCHS] [-n LAYERS (4)] [-d DIM (128)]
 *              [-H HEADS (4)] [-c CONTEXT (128)] [-b BATCH (16)] [-l PEAK_LR (2e-3)]
 *              [-o MODEL_FILE (char_gpt.bgm)] [-p PROMPT] [TEXT_FILE]
 *
 * TEXT_FILE: a plain text instead of the Bible (the last tenth is held out).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bigmodel.h>

#define STEPS_PER_EPOCH 200
#define VAL_WINDOWS 512
#define WARMUP_STEPS 200

typedef struct config {
    double minutes;
    int epochs, layers, heads;
    int64_t dim, context, batch;
    float peak_lr;
    const char *out, *prompt, *text_file;
} config;

typedef struct corpus {
    unsigned char *text;       /* the characters, labels stripped */
    int64_t len, split;        /* validation starts at split */
    int32_t id[256];           /* character -> token (-1: absent) */
    unsigned char chr[256];    /* token -> character */
    int64_t vocab;
} corpus;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads the whole stream into c->text; with labels, drops each line's first
 * word (the verse label) and splits where Romans begins. */
static int read_text(corpus *c, FILE *f, int labels)
{
    int64_t cap = 1 << 22;
    char line[65536];
    c->text = malloc((size_t)cap);
    c->len = 0;
    c->split = -1;
    if (!c->text)
        return -1;
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        size_t n;
        if (labels) {
            if (strncmp(line, "Rom1:1 ", 7) == 0)
                c->split = c->len;
            p = strchr(line, ' ');
            p = p ? p + 1 : line;
        }
        n = strlen(p);
        if (c->len + (int64_t)n > cap) {
            unsigned char *grown = realloc(c->text, (size_t)(cap *= 2));
            if (!grown)
                return -1;
            c->text = grown;
        }
        memcpy(c->text + c->len, p, n);
        c->len += (int64_t)n;
    }
    if (c->split < 0)
        c->split = c->len - c->len / 10;
    return 0;
}

static int load_corpus(corpus *c, const char *path)
{
    FILE *f = path ? fopen(path, "rb") : popen("bible -f Gen1:1-Rev22:21", "r");
    int64_t i;
    int r, k;
    if (!f) {
        fprintf(stderr, "char_gpt: cannot read %s\n", path ? path : "the output of `bible`");
        return -1;
    }
    r = read_text(c, f, path == NULL);
    if (path)
        fclose(f);
    else if (pclose(f) != 0)
        r = -1;
    if (r != 0 || c->len < 4096) {
        fprintf(stderr, "char_gpt: no usable text%s\n",
                path ? "" : " (is bible-kjv installed? `make deps` installs it)");
        return -1;
    }
    for (k = 0; k < 256; k++)
        c->id[k] = -1;
    for (i = 0; i < c->len; i++)
        c->id[c->text[i]] = 0;
    c->vocab = 0;
    for (k = 0; k < 256; k++)
        if (c->id[k] == 0) {
            c->chr[c->vocab] = (unsigned char)k;
            c->id[k] = (int32_t)c->vocab++;
        }
    return 0;
}

/* x, y (n, context): windows of text [from, to) starting at random offsets
 * (step 0) or every `step` characters; y is x shifted by one. */
static bgm_status windows(bgm_tensor **x, bgm_tensor **y, const corpus *c, int64_t n,
                          int64_t context, int64_t from, int64_t to, int64_t step,
                          bgm_rng *rng)
{
    int64_t shape[2] = {n, context}, i, t;
    bgm_status s = bgm_tensor_zeros(x, BGM_INT32, shape, 2);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(y, BGM_INT32, shape, 2);
    for (i = 0; s == BGM_OK && i < n; i++) {
        int32_t *xi = (int32_t *)bgm_tensor_data(*x) + i * context;
        int32_t *yi = (int32_t *)bgm_tensor_data(*y) + i * context;
        int64_t at = step ? from + i * step
                          : from + (int64_t)(bgm_rng_next_u64(rng) %
                                             (uint64_t)(to - from - context - 1));
        for (t = 0; t < context; t++) {
            xi[t] = c->id[c->text[at + t]];
            yi[t] = c->id[c->text[at + t + 1]];
        }
    }
    return s;
}

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

/* x + MHA(LN(x)) causal, then x + Dense(GELU(Dense(LN(x), 4d))). */
static bgm_status block(bgm_node **x, const config *cfg)
{
    bgm_node *h = *x;
    bgm_layer *mha = bgm_layer_multi_head_attention(cfg->heads, cfg->dim / cfg->heads);
    bgm_status s = bgm_layer_set_use_causal_mask(mha, 1);
    s = call(s, &h, bgm_layer_layer_norm());
    if (s == BGM_OK)
        s = bgm_layer_call(&h, mha, (bgm_node *[]){h, h}, 2);
    else
        bgm_layer_free(mha);
    s = add(s, x, h);
    h = *x;
    s = call(s, &h, bgm_layer_layer_norm());
    s = call(s, &h, bgm_layer_dense(4 * cfg->dim, BGM_ACT_GELU));
    s = call(s, &h, bgm_layer_dense(cfg->dim, BGM_ACT_LINEAR));
    return add(s, x, h);
}

static bgm_status build(bgm_model **m, const config *cfg, int64_t vocab)
{
    bgm_graph *g = NULL;
    bgm_node *in = NULL, *x = NULL, *pos = NULL;
    int i;
    bgm_status s = bgm_graph_create(&g);
    if (s == BGM_OK)
        s = bgm_graph_input(&in, g, &cfg->context, 1, BGM_INT32, "tokens");
    x = in;
    s = call(s, &x, bgm_layer_embedding(vocab, cfg->dim));
    pos = x;
    s = call(s, &pos, bgm_layer_position_embedding(cfg->context));
    s = add(s, &x, pos);
    for (i = 0; i < cfg->layers && s == BGM_OK; i++)
        s = block(&x, cfg);
    s = call(s, &x, bgm_layer_layer_norm());
    s = call(s, &x, bgm_layer_dense(vocab, BGM_ACT_LINEAR));
    if (s == BGM_OK)
        s = bgm_model_create_graph(m, &in, 1, &x, 1, /*seed*/ 42);
    bgm_graph_free(g); /* the model keeps what it needs */
    return s;
}

/* AdamW; its rate warms up linearly over WARMUP_STEPS, then follows a cosine
 * down to a tenth of the peak at step total (Keras' CosineDecay). */
static bgm_status set_schedule(bgm_optimizer *opt, float peak, int64_t total)
{
    bgm_lr_schedule *lr = NULL;
    if (total < 2 * WARMUP_STEPS)
        total = 2 * WARMUP_STEPS;
    bgm_status s = bgm_lr_schedule_cosine_decay(&lr, peak, total - WARMUP_STEPS, 0.1f,
                                                WARMUP_STEPS, peak / 100);
    if (s == BGM_OK) s = bgm_optimizer_set_schedule(opt, lr); /* opt keeps a copy */
    bgm_lr_schedule_free(lr);
    return s;
}

static bgm_status compile(bgm_model *m, float peak, int64_t total)
{
    bgm_optimizer *opt = NULL;
    bgm_status s = bgm_optimizer_adamw(&opt, peak, 0.9f, 0.99f, 1e-8f, 0.01f);
    if (s == BGM_OK) s = bgm_optimizer_set_global_clipnorm(opt, 1.0f);
    if (s == BGM_OK) s = set_schedule(opt, peak, total);
    if (s == BGM_OK) {
        s = bgm_model_compile(m, opt, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, NULL, 0);
        opt = NULL; /* the model owns it now, even on error */
    }
    bgm_optimizer_free(opt);
    return s;
}

/* The loss over every character of the held-out text, in windows side by side. */
static bgm_status evaluate_all(bgm_model *m, const corpus *c, const config *cfg)
{
    int64_t n = (c->len - c->split - 1) / cfg->context;
    bgm_tensor *x = NULL, *y = NULL;
    double loss = 0;
    bgm_status s = windows(&x, &y, c, n, cfg->context, c->split, c->len, cfg->context, NULL);
    if (s == BGM_OK) s = bgm_model_evaluate(&loss, 1, m, x, y, 64);
    if (s == BGM_OK)
        printf("validation loss over all %lld held-out characters: %.4f nats/char "
               "(perplexity %.3f)\n", (long long)(n * cfg->context), loss, exp(loss));
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

static int print_token(int32_t token, int64_t index, void *user)
{
    const corpus *c = user;
    (void)index;
    putchar(c->chr[token]);
    fflush(stdout);
    return 0;
}

static bgm_status sample(bgm_model *m, const corpus *c, const char *prompt)
{
    bgm_generate_options go;
    bgm_tensor *out = NULL;
    int32_t ids[256];
    int64_t n = 0;
    double t0;
    bgm_status s;
    for (; prompt[n] && n < (int64_t)(sizeof ids / sizeof ids[0]); n++) {
        ids[n] = c->id[(unsigned char)prompt[n]];
        if (ids[n] < 0) {
            fprintf(stderr, "char_gpt: the prompt's character '%c' is not in the text\n",
                    prompt[n]);
            return BGM_E_INVALID;
        }
    }
    bgm_generate_options_init(&go, sizeof go);
    go.max_new_tokens = 600;
    go.temperature = 0.8f;
    go.top_k = 20;
    go.seed = 7;
    go.on_token = print_token;
    go.user_data = (void *)c;
    printf("\n--- sample (temperature 0.8, top-k 20) ---\n%s", prompt);
    t0 = now();
    s = bgm_model_generate(&out, m, ids, n, &go);
    if (s == BGM_OK)
        printf("\n--- %lld characters in %.2f s with the key/value cache ---\n",
               (long long)bgm_tensor_numel(out), now() - t0);
    bgm_tensor_free(out);
    return s;
}

static int parse(config *cfg, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            cfg->text_file = a;
            continue;
        }
        if (!v || strlen(a) != 2)
            return -1;
        i++;
        switch (a[1]) {
        case 'm': cfg->minutes = atof(v); break;
        case 'e': cfg->epochs = atoi(v); break;
        case 'n': cfg->layers = atoi(v); break;
        case 'd': cfg->dim = atoll(v); break;
        case 'H': cfg->heads = atoi(v); break;
        case 'c': cfg->context = atoll(v); break;
        case 'b': cfg->batch = atoll(v); break;
        case 'l': cfg->peak_lr = (float)atof(v); break;
        case 'o': cfg->out = v; break;
        case 'p': cfg->prompt = v; break;
        default: return -1;
        }
    }
    return cfg->layers > 0 && cfg->heads > 0 && cfg->dim % cfg->heads == 0 &&
                   cfg->context > 1 && cfg->batch > 0 && cfg->peak_lr > 0 &&
                   (cfg->minutes > 0 || cfg->epochs > 0)
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    config cfg = {10.0, 0, 4, 4, 128, 128, 16, 2e-3f, "char_gpt.bgm",
                  "And God said", NULL};
    corpus c = {0};
    bgm_model *m = NULL;
    bgm_tensor *vx = NULL, *vy = NULL;
    bgm_rng *rng = NULL;
    bgm_fit_options fit;
    double start, epoch_s = 0;
    bgm_status s;
    int epoch;

    if (parse(&cfg, argc, argv) != 0) {
        fprintf(stderr, "usage: %s [-m MINUTES] [-e EPOCHS] [-n LAYERS] [-d DIM] [-H HEADS] "
                "[-c CONTEXT] [-b BATCH] [-l PEAK_LR] [-o MODEL_FILE] [-p PROMPT] "
                "[TEXT_FILE]\n", argv[0]);
        return 2;
    }
    if (load_corpus(&c, cfg.text_file) != 0)
        return 1;
    printf("%lld characters (%lld training, %lld validation), vocabulary of %lld\n",
           (long long)c.len, (long long)c.split, (long long)(c.len - c.split),
           (long long)c.vocab);
    s = build(&m, &cfg, c.vocab);
    /* with a time budget, the schedule's length is set after the first epoch */
    if (s == BGM_OK)
        s = compile(m, cfg.peak_lr, (int64_t)(cfg.epochs > 0 ? cfg.epochs : 100) *
                                        STEPS_PER_EPOCH);
    if (s == BGM_OK) s = bgm_model_summary(m, NULL, NULL);
    if (s == BGM_OK) s = bgm_rng_create(&rng, 1);
    /* held-out windows, every (len / VAL_WINDOWS) characters of the validation text */
    if (s == BGM_OK)
        s = windows(&vx, &vy, &c, VAL_WINDOWS, cfg.context, c.split, c.len,
                    (c.len - c.split - cfg.context - 1) / VAL_WINDOWS, NULL);
    bgm_fit_options_init(&fit, sizeof fit);
    fit.batch_size = cfg.batch;
    fit.validation_x = vx;
    fit.validation_y = vy;
    start = now();
    for (epoch = 0; s == BGM_OK; epoch++) {
        bgm_tensor *x = NULL, *y = NULL;
        bgm_history *h = NULL;
        double t0 = now(), elapsed;
        if (cfg.epochs > 0 ? epoch >= cfg.epochs
                           : now() - start + epoch_s > 60.0 * cfg.minutes)
            break;
        s = windows(&x, &y, &c, STEPS_PER_EPOCH * cfg.batch, cfg.context, 0, c.split, 0, rng);
        fit.initial_epoch = epoch;
        fit.epochs = epoch + 1;
        if (s == BGM_OK) s = bgm_model_fit(&h, m, x, y, &fit);
        if (s == BGM_OK) {
            double val = bgm_history_values(h, "val_loss")[0];
            elapsed = now() - start;
            printf("epoch %d: validation loss %.4f nats/char, perplexity %.3f, %.1f min, "
                   "%.0f tokens/s\n", epoch + 1, val, exp(val), elapsed / 60,
                   (double)STEPS_PER_EPOCH * (double)(cfg.batch * cfg.context) / (now() - t0));
            epoch_s = now() - t0;
            if (cfg.epochs <= 0) { /* the schedule spans the epochs the budget allows */
                double left = 60.0 * cfg.minutes - elapsed, per_epoch = elapsed / (epoch + 1);
                int64_t more = left > 0 ? (int64_t)(left / per_epoch) : 0;
                s = set_schedule(bgm_model_optimizer(m), cfg.peak_lr,
                                 (epoch + 1 + more) * STEPS_PER_EPOCH);
            }
        }
        if (s == BGM_OK) s = bgm_model_save(m, cfg.out, 0);
        bgm_history_free(h);
        bgm_tensor_free(x);
        bgm_tensor_free(y);
    }
    if (s == BGM_OK) s = evaluate_all(m, &c, &cfg);
    if (s == BGM_OK) s = sample(m, &c, cfg.prompt);
    if (s != BGM_OK)
        fprintf(stderr, "%s: %s: %s\n", argv[0], bgm_status_string(s), bgm_last_error());
    bgm_tensor_free(vx);
    bgm_tensor_free(vy);
    bgm_rng_free(rng);
    bgm_model_free(m);
    free(c.text);
    return s == BGM_OK ? 0 : 1;
}
