/*
 * Misuse of every exported function (docs/reliability.md, "Misuse of the
 * API"). test/misuse_calls.inc, generated from the headers by
 * tools/gen_misuse.py, has one caller per public function that passes NULL
 * for every pointer and 0, -1 or a huge value for every number; the table
 * here says what each must answer, and the run fails when a symbol of
 * test/exported_symbols.txt has no caller. Hand-written tests below cover
 * bad constructor arguments, NULL out-pointers next to valid handles and
 * calls in the wrong state.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

typedef enum { MU_VOID, MU_STATUS, MU_PTR, MU_REAL, MU_NUMBER } mu_kind;

typedef struct mu_result {
    mu_kind kind;
    bgm_status status;
    const void *ptr;
    double real;
    int64_t number;
    void (*free)(void *p);     /* frees ptr when the call made an object */
    void (*out_free)(void *p); /* frees mu_out[0] the same way */
    int nulls;                 /* pointers left NULL in variant 4 */
    int has_out;               /* variant 3 passes mu_out */
} mu_result;

typedef struct mu_caller {
    const char *name;
    void (*call)(int v, mu_result *r);
    int nparams;
} mu_caller;

/* The variants: 0, -1 and huge numbers (NaN for reals, an unknown constant
 * for enums) with every pointer NULL; then 1 for numbers with a real place
 * for the first out-pointer (mu_out); then 1 for numbers with valid objects
 * (mu_fix) for the const handles and NULL for every other pointer. */
#define MU_VARIANTS 5
#define MU_PICK(v, zero, minus, huge, one) \
    ((v) == 0 ? (zero) : (v) == 1 ? (minus) : (v) == 2 ? (huge) : (one))
#define MU_INT(v) MU_PICK(v, 0, -1, INT_MAX, 1)
#define MU_I32(v) ((int32_t)MU_INT(v))
#define MU_I64(v) MU_PICK(v, (int64_t)0, (int64_t)-1, INT64_MAX, (int64_t)1)
#define MU_SIZE(v) MU_PICK(v, (size_t)0, SIZE_MAX, SIZE_MAX / 2, (size_t)1)
#define MU_U64(v) MU_PICK(v, (uint64_t)0, UINT64_MAX, UINT64_MAX / 2, (uint64_t)1)
#define MU_UINT(v) MU_PICK(v, 0u, UINT_MAX, UINT_MAX / 2, 1u)
#define MU_REAL(v) MU_PICK(v, 0.0, -1.0, (double)NAN, 1.0)
#define MU_ENUM(v) MU_PICK(v, 0, -1, 1000, 0)

/* Where variant 3 puts the out-pointer's object; a sentinel before each call. */
static void *mu_out[4];
static char mu_sentinel;

/* The valid objects of variant 4, made by mu_fix_create. */
static struct {
    const bgm_tensor *tensor, *const *tensors;
    const bgm_model *model;
    const bgm_dataset *dataset;
    const bgm_layer *layer;
    const bgm_archive *archive;
    const bgm_node *node;
    const bgm_scaler *scaler;
    const bgm_history *history;
    const bgm_optimizer *optimizer;
    const bgm_kfold *kfold;
    const bgm_metric *metric;
} mu_fix;

#include "misuse_calls.inc"

#define MU_NCALLERS ((int)(sizeof mu_callers / sizeof mu_callers[0]))

/* ---- what each caller must answer ------------------------------------- */

/*
 * The default answers, from docs/abi.md: a bgm_status function fails, with
 * BGM_E_INVALID when all pointers are NULL (variant 0), and leaves a message
 * naming it; a function returning a new object returns NULL with such a
 * message; an accessor returns NULL, 0 or its documented value for NULL
 * without touching the message; a void function (the *_free ones) returns.
 * A rule changes that for one function.
 */
enum {
    MU_OK0 = 1 << 0, /* variants whose call succeeds or makes an object */
    MU_OK1 = 1 << 1,
    MU_OK2 = 1 << 2,
    MU_OK3 = 1 << 3,
    MU_OK4 = 1 << 4,
    MU_OK_ALL = 31,
    MU_BORROWED = 1 << 5, /* returns a borrowed object: NULL without a message */
    MU_ANY_MSG = 1 << 6,  /* the message is the caller's own (bgm_layer_kind_fail) */
    MU_ANY_NUMBER = 1 << 7
};

typedef struct mu_rule {
    const char *name;
    unsigned flags;
    double value; /* documented value of a number or real function for NULL */
} mu_rule;

static const mu_rule mu_rules[] = {
    {"bgm_set_num_threads", MU_OK0 | MU_OK3, 0}, /* 0: one per core */
    {"bgm_get_num_threads", MU_ANY_NUMBER, 0},   /* >= 1, checked below */
    {"bgm_version_number", 0, BGM_VERSION_NUMBER},
    {"bgm_version_string", MU_OK_ALL, 0},
    {"bgm_kernel_isa", MU_OK_ALL, 0},
    {"bgm_status_string", MU_OK_ALL, 0},
    {"bgm_last_error", MU_OK_ALL, 0},
    {"bgm_metric_name", MU_OK_ALL, 0}, /* a name for any kind, "unknown" too */
    {"bgm_layer_kind_fail", MU_ANY_MSG, 0},
    {"bgm_model_summary", MU_OK4, 0}, /* write NULL: to stdout */
    {"bgm_node_dtype", 0, BGM_FLOAT32},
    {"bgm_callback_stopped_epoch", 0, -1},
    {"bgm_history_epoch", 0, -1},
    {"bgm_model_weight_index", 0, -1},
    {"bgm_vocab_id", 0, -1},
    {"bgm_word2vec_index", 0, -1},
    {"bgm_logs_value", 0, NAN},
    {"bgm_layer_weight", MU_BORROWED, 0},
    {"bgm_model_weight", MU_BORROWED, 0},
    {"bgm_model_optimizer", MU_BORROWED, 0},
    {"bgm_model_comm", MU_BORROWED, 0},
    /* layer constructors whose arguments are valid in some variants */
    {"bgm_layer_add", MU_OK_ALL, 0},
    {"bgm_layer_subtract", MU_OK_ALL, 0},
    {"bgm_layer_multiply", MU_OK_ALL, 0},
    {"bgm_layer_average", MU_OK_ALL, 0},
    {"bgm_layer_maximum", MU_OK_ALL, 0},
    {"bgm_layer_minimum", MU_OK_ALL, 0},
    {"bgm_layer_flatten", MU_OK_ALL, 0},
    {"bgm_layer_batch_norm", MU_OK_ALL, 0},
    {"bgm_layer_layer_norm", MU_OK_ALL, 0},
    {"bgm_layer_rms_norm", MU_OK_ALL, 0},
    {"bgm_layer_global_avg_pool1d", MU_OK_ALL, 0},
    {"bgm_layer_global_avg_pool2d", MU_OK_ALL, 0},
    {"bgm_layer_activation", MU_OK0 | MU_OK3, 0},
    {"bgm_layer_concatenate", MU_OK0 | MU_OK1 | MU_OK3, 0},
    {"bgm_layer_dropout", MU_OK0, 0},           /* rate 0 */
    {"bgm_layer_normalization", MU_OK0 | MU_OK3, 0}, /* invert is 0 or 1 */
    {"bgm_layer_rescaling", MU_OK0 | MU_OK1 | MU_OK3, 0},
    {"bgm_layer_text_vectorization", MU_OK0, 0}, /* 0: no limit */
    {"bgm_layer_zero_padding2d", MU_OK0 | MU_OK3, 0},
    /* valid when every number is 1 (variant 3: the object comes back) */
    {"bgm_layer_dense", MU_OK3, 0},
    {"bgm_layer_conv1d", MU_OK3, 0},
    {"bgm_layer_conv2d", MU_OK3, 0},
    {"bgm_layer_max_pool2d", MU_OK3, 0},
    {"bgm_layer_avg_pool2d", MU_OK3, 0},
    {"bgm_layer_embedding", MU_OK3, 0},
    {"bgm_layer_lstm", MU_OK3, 0},
    {"bgm_layer_gru", MU_OK3, 0},
    {"bgm_layer_multi_head_attention", MU_OK3, 0},
    {"bgm_layer_position_embedding", MU_OK3, 0},
    {"bgm_layer_sine_position_encoding", MU_OK3, 0},
    {"bgm_archive_create", MU_OK3, 0},
    {"bgm_graph_create", MU_OK3, 0},
    {"bgm_tape_create", MU_OK3, 0},
    {"bgm_rng_create", MU_OK3, 0},
    {"bgm_optimizer_sgd", MU_OK3, 0},
    {"bgm_callback_terminate_on_nan", MU_OK3, 0},
    {"bgm_lr_schedule_constant", MU_OK3, 0},
    {"bgm_lr_schedule_cosine_decay", MU_OK3, 0},
    {"bgm_lr_schedule_exponential_decay", MU_OK3, 0},
    {"bgm_lr_schedule_step_decay", MU_OK3, 0},
    {"bgm_scaler_l2_normalize", MU_OK3, 0},
    {"bgm_scaler_rescale", MU_OK3, 0},
};

static const mu_rule *mu_rule_of(const char *name)
{
    static const mu_rule none = {NULL, 0, 0};
    for (size_t i = 0; i < sizeof mu_rules / sizeof mu_rules[0]; i++)
        if (strcmp(mu_rules[i].name, name) == 0)
            return &mu_rules[i];
    return &none;
}

static int mu_same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* Appends one line to the report of wrong answers. */
static void mu_report(char *buf, size_t size, int *nbad, const char *name, int v,
                      const char *what)
{
    size_t used = strlen(buf);
    if (++*nbad <= 40 && used < size)
        snprintf(buf + used, size - used, "\n  %s (variant %d): %s", name, v, what);
}

/* Runs one caller in variant v and checks its answer; returns 0 or the
 * text of what was wrong (static storage). */
static const char *mu_check(const mu_caller *c, int v)
{
    static char why[1200];
    const mu_rule *rule = mu_rule_of(c->name);
    const int ok = (rule->flags >> v) & 1;
    mu_result r = {0};
    const char *msg;
    mu_out[0] = &mu_sentinel;
    bgm_clear_error();
    c->call(v, &r);
    msg = bgm_last_error();
    why[0] = '\0';
    if (v == 4) { /* valid handles: a failure names the function */
        if (r.kind == MU_STATUS && r.status == BGM_OK && r.nulls && !ok)
            snprintf(why, sizeof why, "BGM_OK with %d NULL pointer(s)", r.nulls);
        else if (r.kind == MU_STATUS && r.status != BGM_OK && !(rule->flags & MU_ANY_MSG) &&
                 !strstr(msg, c->name))
            snprintf(why, sizeof why, "%s with message \"%s\", which does not name it",
                     bgm_status_string(r.status), msg);
        else if (r.kind == MU_PTR && !r.ptr && r.free && !(rule->flags & MU_BORROWED) &&
                 !strstr(msg, c->name))
            snprintf(why, sizeof why, "NULL with message \"%s\", which does not name it", msg);
        if (r.kind == MU_PTR && r.ptr && r.free && !(rule->flags & MU_BORROWED))
            r.free((void *)r.ptr);
        return why[0] ? why : NULL;
    }
    switch (r.kind) {
    case MU_STATUS:
        if (ok && r.status != BGM_OK)
            snprintf(why, sizeof why, "%s, expected BGM_OK: %s", bgm_status_string(r.status), msg);
        else if (!ok && r.status == BGM_OK)
            snprintf(why, sizeof why, "BGM_OK, expected an error");
        else if (!ok && v == 0 && r.status != BGM_E_INVALID && !(rule->flags & MU_ANY_MSG))
            snprintf(why, sizeof why, "%s, expected BGM_E_INVALID: %s",
                     bgm_status_string(r.status), msg);
        else if (!ok && !(rule->flags & MU_ANY_MSG) && !strstr(msg, c->name))
            snprintf(why, sizeof why, "%s with message \"%s\", which does not name it",
                     bgm_status_string(r.status), msg);
        else if (!ok && !msg[0])
            snprintf(why, sizeof why, "%s with an empty message", bgm_status_string(r.status));
        else if (!ok && v == 3 && r.has_out && mu_out[0] != NULL)
            snprintf(why, sizeof why, "failed but left %s in *out",
                     mu_out[0] == &mu_sentinel ? "the old value" : "an object");
        if (r.status == BGM_OK && v == 3 && r.out_free && mu_out[0] != &mu_sentinel)
            r.out_free(mu_out[0]);
        break;
    case MU_PTR:
        if (ok && !r.ptr)
            snprintf(why, sizeof why, "NULL, expected an object: %s", msg);
        else if (!ok && r.ptr)
            snprintf(why, sizeof why, "an object, expected NULL");
        else if (!ok && r.free && !(rule->flags & MU_BORROWED) && !strstr(msg, c->name))
            snprintf(why, sizeof why, "NULL with message \"%s\", which does not name it", msg);
        if (r.ptr && r.free)
            r.free((void *)r.ptr);
        break;
    case MU_NUMBER:
        if (!(rule->flags & MU_ANY_NUMBER) && r.number != (int64_t)rule->value)
            snprintf(why, sizeof why, "%lld, expected %lld", (long long)r.number,
                     (long long)rule->value);
        else if ((rule->flags & MU_ANY_NUMBER) && r.number < 1)
            snprintf(why, sizeof why, "%lld, expected >= 1", (long long)r.number);
        else if (msg[0])
            snprintf(why, sizeof why, "an accessor that set the message \"%s\"", msg);
        break;
    case MU_REAL:
        if (!mu_same(r.real, rule->value))
            snprintf(why, sizeof why, "%g, expected %g", r.real, rule->value);
        else if (msg[0])
            snprintf(why, sizeof why, "an accessor that set the message \"%s\"", msg);
        break;
    case MU_VOID:
        break;
    }
    return why[0] ? why : NULL;
}

START_TEST(test_every_symbol_has_a_caller)
{
    /* the run's working directory is the repository root (make check) */
    FILE *f = fopen("test/exported_symbols.txt", "r");
    char line[256], missing[2048] = "";
    int nsyms = 0, nmissing = 0;
    ck_assert_msg(f != NULL, "cannot open test/exported_symbols.txt");
    while (fgets(line, sizeof line, f)) {
        int found = 0;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        nsyms++;
        for (int i = 0; i < MU_NCALLERS && !found; i++)
            found = strcmp(mu_callers[i].name, line) == 0;
        if (!found && ++nmissing <= 20) {
            strncat(missing, " ", sizeof missing - strlen(missing) - 1);
            strncat(missing, line, sizeof missing - strlen(missing) - 1);
        }
    }
    fclose(f);
    ck_assert_msg(nmissing == 0,
                  "%d exported symbol(s) without a misuse caller (run make misuse-calls "
                  "and give them a rule in test/test_misuse.c if needed):%s",
                  nmissing, missing);
    /* and no caller of a function the library does not export */
    ck_assert_msg(nsyms == MU_NCALLERS, "%d exported symbols, %d callers: "
                  "test/misuse_calls.inc is stale (make misuse-calls)", nsyms, MU_NCALLERS);
}
END_TEST

/* Objects of every const handle kind variant 4 passes (mu_fix). */
static struct {
    bgm_tensor *x, *y;
    const bgm_tensor *list[1];
    bgm_model *model;
    bgm_dataset *dataset;
    bgm_archive *archive;
    bgm_graph *graph;
    bgm_scaler *scaler;
    bgm_history *history;
    bgm_optimizer *optimizer;
    bgm_kfold *kfold;
    bgm_metric *metric;
} mu_own;

static bgm_model *mu_model(int compiled, bgm_layer **dense);

static void mu_fix_create(void)
{
    const int64_t xs[2] = {6, 4}, ys[2] = {6, 3}, in[1] = {4};
    bgm_node *node = NULL;
    bgm_layer *dense = NULL;
    mu_own.x = bgm_test_randn(xs, 2, 3);
    mu_own.y = bgm_test_randn(ys, 2, 4);
    mu_own.list[0] = mu_own.x;
    mu_own.model = mu_model(1, &dense);
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit(&mu_own.history, mu_own.model, mu_own.x, mu_own.y, &o));
    BGM_ASSERT_OK(bgm_dataset_from_tensors(&mu_own.dataset, mu_own.x, mu_own.y));
    BGM_ASSERT_OK(bgm_archive_create(&mu_own.archive));
    BGM_ASSERT_OK(bgm_archive_add_int64(mu_own.archive, "k", 3));
    BGM_ASSERT_OK(bgm_graph_create(&mu_own.graph));
    BGM_ASSERT_OK(bgm_graph_input(&node, mu_own.graph, in, 1, BGM_FLOAT32, "x"));
    BGM_ASSERT_OK(bgm_scaler_standard(&mu_own.scaler, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_OK(bgm_scaler_fit(mu_own.scaler, mu_own.x));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&mu_own.optimizer, 0.1f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_kfold_create(&mu_own.kfold, mu_own.dataset, 3, 0, 1, 0));
    BGM_ASSERT_OK(bgm_metric_create(&mu_own.metric, BGM_METRIC_MSE, NULL));
    mu_fix.tensor = mu_own.x;
    mu_fix.tensors = mu_own.list;
    mu_fix.model = mu_own.model;
    mu_fix.dataset = mu_own.dataset;
    mu_fix.layer = dense;
    mu_fix.archive = mu_own.archive;
    mu_fix.node = node;
    mu_fix.scaler = mu_own.scaler;
    mu_fix.history = mu_own.history;
    mu_fix.optimizer = mu_own.optimizer;
    mu_fix.kfold = mu_own.kfold;
    mu_fix.metric = mu_own.metric;
}

static void mu_fix_free(void)
{
    bgm_metric_free(mu_own.metric);
    bgm_kfold_free(mu_own.kfold);
    bgm_optimizer_free(mu_own.optimizer);
    bgm_scaler_free(mu_own.scaler);
    bgm_graph_free(mu_own.graph);
    bgm_archive_free(mu_own.archive);
    bgm_dataset_free(mu_own.dataset);
    bgm_history_free(mu_own.history);
    bgm_model_free(mu_own.model);
    bgm_tensor_free(mu_own.x);
    bgm_tensor_free(mu_own.y);
    memset(&mu_fix, 0, sizeof mu_fix);
}

START_TEST(test_every_function_with_null_and_bad_numbers)
{
    char report[8192] = "";
    int nbad = 0, ncalls = 0;
    mu_fix_create();
    for (int i = 0; i < MU_NCALLERS; i++)
        for (int v = 0; v < MU_VARIANTS; v++) {
            const char *why = mu_check(&mu_callers[i], v);
            ncalls++;
            if (why)
                mu_report(report, sizeof report, &nbad, mu_callers[i].name, v, why);
        }
    mu_fix_free();
    ck_assert_msg(nbad == 0, "%d of %d calls answered wrong:%s", nbad, ncalls, report);
    ck_assert_int_eq(ncalls, MU_NCALLERS * MU_VARIANTS);
}
END_TEST

/* ---- layer constructors: NULL and a message naming the bad value -------- */

/* Fails unless the constructor call made no layer and set a message holding
 * fn and the text of the bad value. */
#define MU_BAD_LAYER(call, fn, value)                                            \
    do {                                                                         \
        bgm_layer *l_;                                                           \
        bgm_clear_error();                                                       \
        l_ = (call);                                                             \
        if (l_ != NULL)                                                          \
            mu_report(report, sizeof report, &nwrong, #call, 0, "made a layer"); \
        else if (!strstr(bgm_last_error(), fn) || !strstr(bgm_last_error(), value)) \
            mu_report(report, sizeof report, &nwrong, #call, 0, bgm_last_error()); \
        bgm_layer_free(l_);                                                      \
        nbad++;                                                                  \
    } while (0)

START_TEST(test_layer_constructors_refuse_bad_arguments)
{
    const int64_t shape_bad[2] = {4, 0}, shape_neg[2] = {-3, 2};
    const int dims_dup[2] = {1, 1}, dims_zero[2] = {0, 1};
    char report[8192] = "";
    int nbad = 0, nwrong = 0;
    MU_BAD_LAYER(bgm_layer_dense(0, BGM_ACT_RELU), "bgm_layer_dense", "0");
    MU_BAD_LAYER(bgm_layer_dense(-5, BGM_ACT_RELU), "bgm_layer_dense", "-5");
    MU_BAD_LAYER(bgm_layer_dense(8, (bgm_activation)99), "bgm_layer_dense", "99");
    MU_BAD_LAYER(bgm_layer_conv2d(0, 3, BGM_ACT_LINEAR), "bgm_layer_conv2d", "0");
    MU_BAD_LAYER(bgm_layer_conv2d(4, 0, BGM_ACT_LINEAR), "bgm_layer_conv2d", "0");
    MU_BAD_LAYER(bgm_layer_conv2d(4, -2, BGM_ACT_LINEAR), "bgm_layer_conv2d", "-2");
    MU_BAD_LAYER(bgm_layer_conv1d(-1, 3, BGM_ACT_LINEAR), "bgm_layer_conv1d", "-1");
    MU_BAD_LAYER(bgm_layer_conv1d(4, 0, BGM_ACT_LINEAR), "bgm_layer_conv1d", "0");
    MU_BAD_LAYER(bgm_layer_max_pool2d(0), "bgm_layer_max_pool2d", "0");
    MU_BAD_LAYER(bgm_layer_avg_pool2d(-2), "bgm_layer_avg_pool2d", "-2");
    MU_BAD_LAYER(bgm_layer_dropout(-0.5f), "bgm_layer_dropout", "-0.5");
    MU_BAD_LAYER(bgm_layer_dropout(1.0f), "bgm_layer_dropout", "1");
    MU_BAD_LAYER(bgm_layer_dropout(NAN), "bgm_layer_dropout", "nan");
    MU_BAD_LAYER(bgm_layer_activation((bgm_activation)-1), "bgm_layer_activation", "-1");
    MU_BAD_LAYER(bgm_layer_embedding(0, 4), "bgm_layer_embedding", "0");
    MU_BAD_LAYER(bgm_layer_embedding(10, -4), "bgm_layer_embedding", "-4");
    MU_BAD_LAYER(bgm_layer_position_embedding(0), "bgm_layer_position_embedding", "0");
    MU_BAD_LAYER(bgm_layer_sine_position_encoding(-1.0f), "bgm_layer_sine_position_encoding", "-1");
    MU_BAD_LAYER(bgm_layer_lstm(0), "bgm_layer_lstm", "0");
    MU_BAD_LAYER(bgm_layer_gru(-3), "bgm_layer_gru", "-3");
    MU_BAD_LAYER(bgm_layer_multi_head_attention(0, 8), "bgm_layer_multi_head_attention", "0");
    MU_BAD_LAYER(bgm_layer_multi_head_attention(2, -8), "bgm_layer_multi_head_attention", "-8");
    MU_BAD_LAYER(bgm_layer_concatenate(INT_MAX), "bgm_layer_concatenate", "2147483647");
    MU_BAD_LAYER(bgm_layer_reshape(NULL, 2), "bgm_layer_reshape", "shape");
    MU_BAD_LAYER(bgm_layer_reshape(shape_bad, 2), "bgm_layer_reshape", "0");
    MU_BAD_LAYER(bgm_layer_reshape(shape_neg, 2), "bgm_layer_reshape", "-3");
    MU_BAD_LAYER(bgm_layer_reshape(shape_bad, -1), "bgm_layer_reshape", "-1");
    MU_BAD_LAYER(bgm_layer_permute(NULL, 2), "bgm_layer_permute", "dims");
    MU_BAD_LAYER(bgm_layer_permute(dims_dup, 2), "bgm_layer_permute", "1");
    MU_BAD_LAYER(bgm_layer_permute(dims_zero, 2), "bgm_layer_permute", "0");
    MU_BAD_LAYER(bgm_layer_zero_padding2d(1, -1, 0, 0), "bgm_layer_zero_padding2d", "-1");
    MU_BAD_LAYER(bgm_layer_rescaling(NAN, 0.0f), "bgm_layer_rescaling", "nan");
    MU_BAD_LAYER(bgm_layer_normalization(2), "bgm_layer_normalization", "2");
    MU_BAD_LAYER(bgm_layer_text_vectorization(-1, BGM_TEXT_OUTPUT_INT, 0),
                 "bgm_layer_text_vectorization", "-1");
    MU_BAD_LAYER(bgm_layer_text_vectorization(10, (bgm_text_output_mode)7, 0),
                 "bgm_layer_text_vectorization", "7");
    MU_BAD_LAYER(bgm_layer_text_vectorization(10, BGM_TEXT_OUTPUT_INT, -2),
                 "bgm_layer_text_vectorization", "-2");
    /* Bidirectional wraps an LSTM or GRU only; the refused layer is freed */
    MU_BAD_LAYER(bgm_layer_bidirectional(bgm_layer_dense(4, BGM_ACT_LINEAR)),
                 "bgm_layer_bidirectional", "Dense");
    /* a failed constructor's message survives the call that gets its NULL */
    MU_BAD_LAYER(bgm_layer_bidirectional(bgm_layer_lstm(0)), "bgm_layer_lstm", "0");
    ck_assert_msg(nwrong == 0, "%d of %d bad constructor calls answered wrong:%s", nwrong,
                  nbad, report);
    ck_assert_int_eq(nbad, 38);
}
END_TEST

/* ---- calls in the wrong state ------------------------------------------ */

/* A Sequential model (4) -> Dense(3), *dense (may be NULL) its layer;
 * compiled with SGD and MSE if asked. */
static bgm_model *mu_model(int compiled, bgm_layer **dense)
{
    const int64_t in[1] = {4};
    bgm_model *m = NULL;
    bgm_optimizer *opt = NULL;
    bgm_layer *l = bgm_layer_dense(3, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_model_create(&m, in, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    if (dense)
        *dense = l;
    if (compiled) {
        BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.01f, 0.0f, 0));
        BGM_ASSERT_OK(bgm_model_compile(m, opt, BGM_LOSS_MSE, 0, NULL, 0));
    }
    return m;
}

START_TEST(test_wrong_state_sequences)
{
    const int64_t xs[2] = {5, 4}, ys[2] = {5, 3}, in[1] = {4};
    bgm_tensor *x = bgm_test_randn(xs, 2, 1), *y = bgm_test_randn(ys, 2, 2), *out = NULL;
    bgm_layer *l;
    bgm_model *m = mu_model(0, &l), *other = NULL, *empty = NULL, *loaded = NULL;
    bgm_history *h = NULL;
    bgm_scaler *sc = NULL;
    bgm_optimizer *opt = NULL;
    bgm_fit_options o;
    double res[4];
    float state[4];
    int64_t step = 0;

    /* fit, evaluate and the batch calls before compile */
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, x, y, NULL), BGM_E_STATE, "bgm_model_fit");
    ck_assert_ptr_null(h);
    BGM_ASSERT_FAILS(bgm_model_evaluate(res, 1, m, x, y, 0), BGM_E_STATE,
                     "bgm_model_evaluate");
    BGM_ASSERT_FAILS(bgm_model_train_on_batch(res, 1, m, x, y), BGM_E_STATE,
                     "bgm_model_train_on_batch");
    BGM_ASSERT_FAILS(bgm_model_test_on_batch(res, 1, m, x, y), BGM_E_STATE,
                     "bgm_model_test_on_batch");

    /* predict on a model without layers */
    BGM_ASSERT_OK(bgm_model_create(&empty, in, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_predict(&out, empty, x, 0), BGM_E_STATE, "bgm_model_predict");
    ck_assert_ptr_null(out);
    bgm_model_free(empty);

    /* a layer added to two models stays with the first */
    BGM_ASSERT_OK(bgm_model_create(&other, in, 1, 1));
    BGM_ASSERT_FAILS(bgm_model_add(other, l), BGM_E_STATE, "bgm_model_add");
    bgm_clear_error();
    BGM_ASSERT_FAILS(bgm_model_add(other, NULL), BGM_E_INVALID, "bgm_model_add");
    BGM_ASSERT_FAILS(bgm_model_add(other, bgm_layer_dense(0, BGM_ACT_LINEAR)), BGM_E_INVALID,
                     "bgm_layer_dense");
    ck_assert_int_eq(bgm_model_num_layers(other), 0);
    bgm_model_free(other);

    /* a built layer's options are fixed; adding after compile is refused */
    BGM_ASSERT_OK(bgm_model_predict(&out, m, x, 0));
    bgm_tensor_free(out);
    out = NULL;
    BGM_ASSERT_FAILS(bgm_layer_set_use_bias(l, 0), BGM_E_STATE, "bgm_layer_set_use_bias");
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.01f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, opt, BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_FAILS(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)), BGM_E_STATE,
                     "bgm_model_add");
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &o));
    bgm_history_free(h);

    /* a failed load leaves NULL, and the NULL is refused by name afterwards */
    loaded = m;
    BGM_ASSERT_FAILS(bgm_model_load(&loaded, "/nonexistent/dir/model.bgm"), BGM_E_IO,
                     "/nonexistent/dir/model.bgm");
    ck_assert_ptr_null(loaded);
    BGM_ASSERT_FAILS(bgm_model_predict(&out, loaded, x, 0), BGM_E_INVALID,
                     "bgm_model_predict");
    BGM_ASSERT_FAILS(bgm_model_save(m, "/nonexistent/dir/model.bgm", 0), BGM_E_IO,
                     "/nonexistent/dir");

    /* an optimizer's state before its first step; a scaler before its fit */
    BGM_ASSERT_OK(bgm_optimizer_sgd(&opt, 0.01f, 0.9f, 0));
    BGM_ASSERT_FAILS(bgm_optimizer_get_state(opt, state, 4, &step), BGM_E_STATE,
                     "bgm_optimizer_get_state");
    bgm_optimizer_free(opt);
    BGM_ASSERT_OK(bgm_scaler_standard(&sc, BGM_SCALE_PER_FEATURE));
    BGM_ASSERT_FAILS(bgm_scaler_transform(&out, sc, x), BGM_E_STATE, "bgm_scaler_transform");
    ck_assert_ptr_null(out);
    bgm_scaler_free(sc);

    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

/* ---- a stream used twice; fit and compile from inside fit -------------- */

typedef struct mu_reenter {
    bgm_stream *stream;
    const bgm_tensor *x, *y;
    bgm_status eval, fit, compile;
    char eval_msg[256], fit_msg[256], compile_msg[256];
    int calls;
} mu_reenter;

static bgm_status mu_fill(void *ctx, int64_t batch, bgm_tensor *const *xs,
                          bgm_tensor *const *ys, int64_t *rows, char *msg, size_t size)
{
    (void)ctx, (void)batch, (void)msg, (void)size;
    memset(bgm_tensor_data(xs[0]), 0, (size_t)bgm_tensor_nbytes(xs[0]));
    memset(bgm_tensor_data(ys[0]), 0, (size_t)bgm_tensor_nbytes(ys[0]));
    *rows = bgm_tensor_dim(xs[0], 0);
    return BGM_OK;
}

/* At the first batch's end: the stream being fitted, fit and compile of m. */
static int mu_reenter_cb(void *ctx, bgm_model *m, bgm_callback_event event, int epoch,
                         int64_t batch, const bgm_logs *logs)
{
    mu_reenter *r = ctx;
    bgm_optimizer *opt = NULL;
    double res;
    (void)epoch, (void)batch, (void)logs;
    if (event != BGM_EVENT_BATCH_END || r->calls++)
        return 0;
    r->eval = bgm_model_evaluate_stream(&res, 1, m, r->stream, 1);
    snprintf(r->eval_msg, sizeof r->eval_msg, "%s", bgm_last_error());
    r->fit = bgm_model_fit(NULL, m, r->x, r->y, NULL);
    snprintf(r->fit_msg, sizeof r->fit_msg, "%s", bgm_last_error());
    if (bgm_optimizer_sgd(&opt, 0.1f, 0.0f, 0) == BGM_OK)
        r->compile = bgm_model_compile(m, opt, BGM_LOSS_MSE, 0, NULL, 0);
    snprintf(r->compile_msg, sizeof r->compile_msg, "%s", bgm_last_error());
    return 0;
}

START_TEST(test_stream_used_twice_and_fit_inside_fit)
{
    const int64_t xs[2] = {4, 4}, ys[2] = {4, 3};
    bgm_stream_tensor xd = {BGM_FLOAT32, 1, {4}}, yd = {BGM_FLOAT32, 1, {3}};
    bgm_stream_spec sp;
    bgm_fit_options o;
    bgm_callback *cb = NULL;
    mu_reenter r = {0};
    bgm_model *m = mu_model(1, NULL);
    bgm_tensor *x = bgm_test_randn(xs, 2, 5), *y = bgm_test_randn(ys, 2, 6);
    bgm_stream_spec_init(&sp);
    sp.x = &xd;
    sp.num_y = 1;
    sp.y = &yd;
    sp.batch_size = 4;
    sp.batches_per_epoch = 2;
    sp.fill = mu_fill;
    BGM_ASSERT_OK(bgm_stream_create(&r.stream, &sp));
    r.x = x;
    r.y = y;
    BGM_ASSERT_OK(bgm_callback_lambda(&cb, mu_reenter_cb, &r));
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.verbose = 0;
    o.callbacks = &cb;
    o.num_callbacks = 1;
    BGM_ASSERT_OK(bgm_model_fit_stream(NULL, m, r.stream, 2, NULL, 0, &o));
    ck_assert_int_eq(r.eval, BGM_E_STATE);
    ck_assert_msg(strstr(r.eval_msg, "bgm_model_evaluate_stream") &&
                  strstr(r.eval_msg, "in use"), "%s", r.eval_msg);
    ck_assert_int_eq(r.fit, BGM_E_STATE);
    ck_assert_msg(strstr(r.fit_msg, "bgm_model_fit"), "%s", r.fit_msg);
    ck_assert_int_eq(r.compile, BGM_E_STATE);
    ck_assert_msg(strstr(r.compile_msg, "bgm_model_compile"), "%s", r.compile_msg);
    /* the stream is free again once fit returned */
    BGM_ASSERT_OK(bgm_model_fit_stream(NULL, m, r.stream, 1, NULL, 0, &o));
    bgm_callback_free(cb);
    bgm_stream_free(r.stream);
    bgm_model_free(m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
}
END_TEST

Suite *suite_misuse(void)
{
    Suite *s = suite_create("misuse");
    TCase *tc = tcase_create("misuse");
    tcase_add_test(tc, test_every_symbol_has_a_caller);
    tcase_add_test(tc, test_every_function_with_null_and_bad_numbers);
    tcase_add_test(tc, test_layer_constructors_refuse_bad_arguments);
    tcase_add_test(tc, test_wrong_state_sequences);
    tcase_add_test(tc, test_stream_used_twice_and_fit_inside_fit);
    suite_add_tcase(s, tc);
    return s;
}
