/*
 * Internal interface of layers. A bgm_layer is a configuration plus what
 * building it against its first call's input shapes inferred (weight
 * specs); it never holds activations, so a built model can run on many
 * threads. Each kind is one table (bgm__layer_ops): build and forward, plus
 * optional mask and init hooks. Layers know nothing of models or graphs:
 * lib/model calls them.
 */
#ifndef BGM_LAYERS_LAYER_H
#define BGM_LAYERS_LAYER_H

#include <math.h>
#include <stddef.h>

#include "bigmodel/model.h"
#include "bigmodel/rnn_ops.h"
#include "bigmodel/custom_layer.h"
#include "core/error.h"

#define BGM__NAME_SIZE 64

/* The most outputs one call of a layer makes. */
#define BGM__MAX_OUTPUTS 4

/* The shape of one sample (no batch dimension) and its element type. */
typedef struct bgm__shape {
    int64_t d[BGM_MAX_DIMS];
    int ndim;
    bgm_dtype dtype;
} bgm__shape;

/* One weight a layer asks the model for. */
typedef struct bgm__weight_spec {
    const char *name;          /* "kernel", "bias", "gamma", ... (static) */
    int64_t shape[BGM_MAX_DIMS];
    int ndim;
    int trainable;
    bgm_initializer init;
    int64_t fan_in, fan_out;   /* for the variance-scaling initializers */
    int l2;                    /* 1: the layer's L2 penalty applies to it */
} bgm__weight_spec;

struct bgm__torch_map; /* torch_map.h */

/* What a forward pass needs besides the input. */
typedef struct bgm__forward_ctx {
    bgm_tape *tape;            /* records the ops; never NULL */
    int training;
    bgm_rng *rng;              /* dropout draws; NULL when not training */
    const bgm_tensor *mask;    /* (N, T) padding mask of the input (Keras' mask
                                  propagation), or NULL */
    const bgm_tensor *const *masks; /* each input's mask (nx entries, masks[0] ==
                                  mask, any may be NULL), or NULL for none */
    int input_free;            /* 1: nothing reads x[0] after this call, so the
                                  layer may overwrite it (bgm__op_relu_over) */
    int frozen;                /* 1: the layer is frozen in this run (Keras'
                                  trainable = False); BatchNormalization then runs
                                  in inference mode even in training */
    int defer_relu;            /* 1: leave out the layer's own ReLU activation; the
                                  executor applies it after the max pooling that
                                  reads the value (bgm__tape_fusion_plan) */
    int fuse_relu;             /* 1: apply a ReLU to the result within the layer's
                                  op (BatchNormalization, Add of two inputs); the
                                  Activation(relu) after it passes it on
                                  (bgm__tape_fusion_plan) */
    /* Incremental decoding (generation with a KV cache), or NULL: the input
     * holds positions [decode->pos, decode->pos + T) of sequences whose
     * earlier positions ran through earlier calls. Only kinds whose
     * bgm__layer_ops.decode is not BGM__DECODE_NONE see it. */
    struct bgm__decode *decode;
    struct bgm_comm *comm;     /* fit's communicator while it trains data-parallel,
                                  or NULL (SyncBatchNormalization's) */
} bgm__forward_ctx;

/* What one layer keeps between the calls of an incremental decode. */
typedef struct bgm__decode {
    int64_t pos;               /* positions already run (the same for every sequence) */
    void **state;              /* this layer's slot: NULL before its first call; the
                                  layer keeps there what later positions need (a K/V
                                  cache) and ops->free_state frees it */
} bgm__decode;

/* How a kind takes part in incremental decoding (bgm__layer_ops.decode). */
enum {
    BGM__DECODE_NONE = 0,      /* its output at a position depends on other positions
                                  in a way it cannot cache (LSTM, Flatten): a model
                                  holding it decodes by re-running the whole prefix */
    BGM__DECODE_POINTWISE = 1, /* each position's output depends on that position's
                                  input only (Dense, LayerNorm, Add): runs unchanged */
    BGM__DECODE_STATEFUL = 2   /* reads ctx->decode (causal attention keeps its keys
                                  and values, a position embedding its offset) */
};

/* An enum value and its name in configs and files ("relu", "same", ...). */
typedef struct bgm__enum_name {
    int value;
    const char *name;
} bgm__enum_name;

extern const bgm__enum_name bgm__activation_names[], bgm__initializer_names[],
    bgm__padding_names[];

/* Name of value in table (NULL-terminated), or NULL when it has none. */
const char *bgm__enum_to_name(const bgm__enum_name *table, int value);

/* Value named name in table into *value; 0 when the name is unknown. */
int bgm__enum_from_name(const bgm__enum_name *table, const char *name, int *value);

/* How a configuration field is stored in struct bgm_layer. */
typedef enum bgm__field_type {
    BGM__FIELD_INT,            /* int64_t in [lo, hi] */
    BGM__FIELD_FLOAT,          /* float in [lo, hi] (see lo_open, hi_open) */
    BGM__FIELD_BOOL,           /* int, 0 or 1 */
    BGM__FIELD_ENUM,           /* int, one of names */
    BGM__FIELD_INTS,           /* int64_t[count], each in [lo, hi] or -1 when minus_one;
                                  count 0: as many as the int at count_offset, 1 to 7 */
    BGM__FIELD_LAYER,          /* bgm_layer *, a wrapped layer with fields of its own */
    BGM__FIELD_LINES           /* char *, owned, NULL for None: lines joined by '\n'
                                  (a list of strings in configs: TextVectorization's
                                  vocabulary) */
} bgm__field_type;

/*
 * One configuration field of a layer kind. The kind's table of fields
 * drives the setters' checks, the loader's checks, model files (key and
 * type) and configs: a field is described once.
 */
typedef struct bgm__field {
    const char *key;           /* config and file key, Keras' where it has one: "units" */
    const char *what;          /* the option in messages: "a Dense layer has no strides" */
    const char *label;         /* the value in messages: "rate = 1.5, expected ..." */
    bgm__field_type type;
    size_t offset;             /* of the value in struct bgm_layer */
    double lo, hi;             /* valid range of numbers */
    int lo_open, hi_open;      /* the bound itself is out of range */
    const bgm__enum_name *names; /* BGM__FIELD_ENUM */
    int count;                 /* BGM__FIELD_INTS: fixed count, or 0 */
    size_t count_offset;       /* BGM__FIELD_INTS with count 0: the int holding it */
    int minus_one;             /* BGM__FIELD_INTS: one entry may be -1 */
    int zero_null;             /* BGM__FIELD_INT: 0 means None (null in configs) */
    int optional;              /* added after format 1: a file without it keeps the
                                  constructor's value */
} bgm__field;

#define BGM__OFFSET(member) offsetof(struct bgm_layer, member)
#define BGM__INT32_MAX 2147483647.0

/* Fields several kinds share, as table entries. */
#define BGM__FIELD_UNITS(k)                                                              \
    {.key = k, .what = "units", .label = k, .type = BGM__FIELD_INT,                      \
     .offset = BGM__OFFSET(units), .lo = 1, .hi = BGM__INT32_MAX}
#define BGM__FIELD_ACTIVATION                                                            \
    {.key = "activation", .what = "activation", .label = "activation",                   \
     .type = BGM__FIELD_ENUM, .offset = BGM__OFFSET(activation),                        \
     .names = bgm__activation_names},                                                    \
    {.key = "leaky_relu_alpha", .what = "activation", .label = "alpha",                  \
     .type = BGM__FIELD_FLOAT, .offset = BGM__OFFSET(leaky_alpha), .lo = -INFINITY,       \
     .hi = INFINITY, .lo_open = 1, .hi_open = 1}
#define BGM__FIELD_BIAS                                                                  \
    {.key = "use_bias", .what = "bias", .label = "use_bias", .type = BGM__FIELD_BOOL,    \
     .offset = BGM__OFFSET(use_bias)},                                                   \
    {.key = "bias_initializer", .what = "bias initializer", .label = "initializer",      \
     .type = BGM__FIELD_ENUM, .offset = BGM__OFFSET(bias_init),                         \
     .names = bgm__initializer_names}
#define BGM__FIELD_KERNEL_INIT(k)                                                        \
    {.key = k, .what = "kernel initializer", .label = "initializer",                     \
     .type = BGM__FIELD_ENUM, .offset = BGM__OFFSET(kernel_init),                       \
     .names = bgm__initializer_names}
#define BGM__FIELD_KERNEL_L2                                                             \
    {.key = "kernel_l2", .what = "kernel regularizer", .label = "l2",                    \
     .type = BGM__FIELD_FLOAT, .offset = BGM__OFFSET(l2), .lo = 0, .hi = INFINITY,        \
     .hi_open = 1}
#define BGM__FIELD_WINDOW(k, w)                                                          \
    {.key = k, .what = w, .label = w, .type = BGM__FIELD_INTS,                           \
     .offset = BGM__OFFSET(kernel), .lo = 1, .hi = BGM__INT32_MAX, .count = 2},          \
    {.key = "strides", .what = "strides", .label = "strides", .type = BGM__FIELD_INTS,   \
     .offset = BGM__OFFSET(strides), .lo = 1, .hi = BGM__INT32_MAX, .count = 2},         \
    {.key = "padding", .what = "padding", .label = "padding", .type = BGM__FIELD_ENUM,   \
     .offset = BGM__OFFSET(padding), .names = bgm__padding_names}

#define BGM__NFIELDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct bgm__layer_ops {
    const char *kind;          /* Keras class name: "Dense" */
    const char *prefix;        /* Keras automatic name: "dense" */
    const char *ctor;          /* the public constructor, for messages: "bgm_layer_dense" */
    const bgm__field *fields;  /* the configuration, nfields entries */
    int nfields;
    /* Optional: checks between fields the table cannot express (Reshape's
     * one -1, Permute's permutation); names fn in messages. */
    bgm_status (*check)(const bgm_layer *l, const char *fn);
    /* Checks the sample shapes in[0..nin) (nin within the kind's input
     * count), sets out[0..num_outputs) (dtype float32 unless it says
     * otherwise) and appends l's weight specs with bgm__layer_add_spec.
     * Fails with BGM_E_SHAPE or BGM_E_DTYPE through bgm__layer_fail. */
    bgm_status (*build)(bgm_layer *l, const bgm__shape *in, int nin, bgm__shape *out);
    /* y[0..num_outputs) = layer(x[0..nx)) on ctx->tape with the layer's
     * weights w[0..nweights). */
    bgm_status (*forward)(const bgm_layer *l, const bgm__forward_ctx *ctx,
                          bgm_tensor *const *w, const bgm_tensor *const *x, int nx,
                          bgm_tensor **y);
    /* Optional: how many outputs a call makes (1 to BGM__MAX_OUTPUTS; without
     * it, 1). Fixed once the layer is called. */
    int (*num_outputs)(const bgm_layer *l);
    /* Optional. The mask of the output, from the first input x and the
     * inputs' masks masks[0..nx) (any may be NULL): *out is one of them,
     * NULL, or a new tensor also stored in *made for the caller to free.
     * Without it a layer drops the mask. */
    bgm_status (*compute_mask)(const bgm_layer *l, const bgm_tensor *x,
                               const bgm_tensor *const *masks, int nx,
                               const bgm_tensor **out, bgm_tensor **made);
    /* Optional. Adjusts the freshly initialized weights w[0..nweights)
     * (pretrained rows, LSTM's forget-gate bias). */
    void (*init_weights)(const bgm_layer *l, float *const *w);
    /* Optional. The PyTorch tensors of a layer of this kind, for the
     * safetensors export of Sequential models (torch_map.h); a kind without
     * it has no torch twin there. */
    void (*torch)(const bgm_layer *l, struct bgm__torch_map *map);
    /* BGM__DECODE_*: how the kind runs under incremental decoding. */
    int decode;
    /* Optional (BGM__DECODE_STATEFUL kinds): frees what forward left in
     * *ctx->decode->state. */
    void (*free_state)(void *state);
    /* 1 when the layer reads int32 token ids (a model input of int32). */
    int takes_ids;
    /* How many inputs a call takes: from min_inputs to max_inputs (0, 0:
     * exactly one; max_inputs -1: no limit). */
    int min_inputs, max_inputs;
    /* Optional: as the first layer of a Sequential model, sets the model's
     * input *in (TextVectorization: the vectorized strings). */
    bgm_status (*model_input)(const bgm_layer *l, bgm__shape *in);
    /* Optional: makes what the fields imply once a config set them, after
     * the kind's check (TextVectorization: the vocabulary's lookup). */
    bgm_status (*configured)(bgm_layer *l, const char *fn);
} bgm__layer_ops;

/* One config entry of a custom layer (custom.c). */
enum { BGM__ENTRY_INT = 0, BGM__ENTRY_FLOAT = 1, BGM__ENTRY_STRING = 2 };
typedef struct bgm__config_entry {
    char key[BGM__NAME_SIZE];
    int type;                  /* BGM__ENTRY_* */
    int64_t i;
    double f;
    char *s;                   /* owned */
} bgm__config_entry;

struct bgm__custom;            /* custom.c: a run-time kind's layer state */

struct bgm_layer {
    const bgm__layer_ops *ops;
    char name[BGM__NAME_SIZE];
    int named_by_user;
    int index;                 /* position in a Sequential model (messages say
                                  "layer 3"); -1 otherwise */
    struct bgm_graph *graph;   /* the graph that owns it since its first call */
    struct bgm_model *model;   /* the model it is part of, or NULL */
    int ncalls;                /* nodes it has made */

    /* configuration (each kind reads its own fields) */
    int64_t units;             /* Dense units, Conv2D filters */
    int64_t kernel[2];         /* Conv2D kernel or pooling window (rows, columns) */
    int64_t strides[2];        /* strides (rows, columns) */
    bgm_padding padding;
    bgm_activation activation;
    float leaky_alpha;
    int use_bias;
    bgm_initializer kernel_init, bias_init;
    float l2;
    float rate;                /* Dropout */
    float momentum, epsilon;   /* BatchNormalization */
    int synchronized;          /* BatchNormalization: statistics over every rank's rows */
    int trainable;             /* 0: frozen (Keras' trainable = False); changeable
                                  at any time, fit follows it from the next compile */
    int64_t input_dim;         /* Embedding: vocabulary size (units is the dimension) */
    int mask_zero;             /* Embedding: id 0 masks the step */
    float *init_table;         /* Embedding: (input_dim, units) initial rows, or NULL */
    unsigned char *init_known; /* which rows of init_table to use (NULL: all) */
    int return_sequences;      /* LSTM / GRU */
    float dropout, recurrent_dropout;
    bgm_layer *inner;          /* Bidirectional: the wrapped LSTM / GRU (owned) */
    int wrapped;               /* 1: this layer is the inner layer of a Bidirectional */
    int64_t axis;              /* Concatenate: on the batched tensor, as Keras */
    int64_t target[BGM_MAX_DIMS]; /* Reshape: the sample shape (one entry may be -1) */
    int target_ndim;
    int64_t perm[BGM_MAX_DIMS]; /* Permute: 1-based sample axes, as Keras (target_ndim) */
    int64_t pad[4];            /* ZeroPadding2D: top, bottom, left, right */
    int64_t num_heads, key_dim, value_dim; /* MultiHeadAttention */
    int64_t out_dim;           /* MultiHeadAttention's output_shape (0: the query's) */
    int use_causal_mask;       /* MultiHeadAttention */
    int return_scores;         /* MultiHeadAttention: a second output, the scores */
    int64_t dilation[2];       /* Conv1D dilation rate (dilation[0]) */
    float max_wavelength;      /* SinePositionEncoding */
    int center, scale;         /* LayerNormalization: with beta / with gamma */
    int keepdims;              /* GlobalAveragePooling1D: keep the time axis (as 1) */
    float rescale, offset;     /* Rescaling */
    int invert;                /* Normalization */
    float *stats;              /* Normalization: mean then variance (nstats each) from
                                  adapt / set_stats, or NULL (owned) */
    int64_t nstats;
    bgm_tensor *constant;      /* Rescaling's offset, Normalization's epsilon: (1,) made
                                  by build (owned) */
    int64_t max_tokens, sequence_length; /* TextVectorization (0: None) */
    int standardize, split, output_mode; /* TextVectorization */
    char *vocabulary;          /* TextVectorization: tokens joined by '\n' (owned) */
    float *idf;                /* TextVectorization tf_idf: vocabulary size weights from
                                  adapt / set_vocabulary, or NULL (owned) */
    struct bgm__text_lookup *lookup; /* TextVectorization: token -> id (owned) */
    struct bgm__custom *custom; /* a kind registered at run time: its reference, config
                                  entries, weight names (owned); NULL for built-ins */
    struct bgm__eager *eager;  /* set by the first bgm_layer_apply (which built the
                                  layer): its own weights while no model holds it, and
                                  its dropout generator (owned; lib/model/eager.c) */

    /* inferred at the first call */
    int64_t in_shape[BGM_MAX_DIMS], out_shape[BGM_MAX_DIMS]; /* input 0, output */
    int in_ndim, out_ndim;
    bgm__weight_spec *specs;   /* nweights specs (no fixed cap) */
    int nweights, spec_cap;
    int spec_oom;              /* bgm__layer_add_spec ran out of memory */
    int first_weight;          /* index of specs[0] in the model's weight list */
};

/* The number of outputs a call of l makes (ops->num_outputs, or 1). */
int bgm__layer_num_outputs(const bgm_layer *l);

/* New layer of a kind with Keras' defaults; NULL (error set) when out of memory. */
bgm_layer *bgm__layer_new(const bgm__layer_ops *ops, const char *fn);

/* Fails with status and "layer <index> (<Kind>): <message>" in a Sequential
 * model, "layer '<name>' (<Kind>): <message>" otherwise. */
bgm_status bgm__layer_fail(const bgm_layer *l, bgm_status status, const char *fmt, ...)
    BGM__PRINTF(3, 4);

/* Shape inference of a sliding-window layer (Conv2D, pooling) over NHWC
 * input: checks the input is (H, W, C) and that the window (kind names it in
 * messages: "kernel", "pool") fits, and sets out to (OH, OW, channels). */
bgm_status bgm__window_layer_build(bgm_layer *l, const bgm__shape *in, const char *kind,
                                   int64_t channels, bgm__shape *out);

/* *out = *in (a layer that keeps its input's shape). */
void bgm__same_shape(const bgm__shape *in, bgm__shape *out);

/* "(None, 26, 26, 32)" */
char *bgm__batch_shape_str(char *buf, size_t size, const int64_t *shape, int ndim);

/* Appends a weight spec to l (on out of memory it sets l->spec_oom, which
 * whoever builds the layer checks). */
void bgm__layer_add_spec(bgm_layer *l, const char *name, const int64_t *shape, int ndim,
                         int trainable, bgm_initializer init, int64_t fan_in,
                         int64_t fan_out, int l2);

/* A convolution's "kernel" kshape[0..ndim) (window..., in channels, l->units
 * filters; fans as Keras: receptive field times channels / filters) with
 * the L2 penalty, and with l->use_bias its "bias" (filters). */
void bgm__conv_add_specs(bgm_layer *l, const int64_t *kshape, int ndim);

/* y = activation(x) on the tape (y = x for BGM_ACT_LINEAR). */
bgm_status bgm__apply_activation(bgm_tape *tape, bgm_activation act, float alpha,
                                 const bgm_tensor *x, bgm_tensor **y);

/* bgm__apply_activation where x may be overwritten (nothing else reads it):
 * ReLU then runs in place when the tape allows it. */
bgm_status bgm__apply_activation_over(bgm_tape *tape, bgm_activation act, float alpha,
                                      bgm_tensor *x, bgm_tensor **y);

/* 1 when act is a known activation. */
int bgm__activation_valid(bgm_activation act);

/* The common checks of a setter: l non-NULL (a NULL layer keeps its
 * constructor's message), never called (nor added to a model), not wrapped. */
bgm_status bgm__layer_unbuilt(const bgm_layer *l, const char *fn);

/* BGM_E_UNSUPPORTED: "fn: a Dense layer has no <what>". */
bgm_status bgm__layer_lacks(const bgm_layer *l, const char *fn, const char *what);

/* The field of ops stored at offset for the option what ("kernel size"),
 * or NULL when the kind has none. */
const bgm__field *bgm__layer_field(const bgm__layer_ops *ops, size_t offset,
                                   const char *what);

/* Number of entries of a BGM__FIELD_INTS field in l. */
int bgm__field_count(const bgm_layer *l, const bgm__field *f);

/* BGM_E_INVALID naming fn and the field unless l's value of f is valid. */
bgm_status bgm__field_check(const bgm_layer *l, const bgm__field *f, const char *fn);

/* Every field of l and the kind's check. */
bgm_status bgm__layer_check_config(const bgm_layer *l, const char *fn);

/*
 * A setter: sets the field of l at offset to *value (stored as the field
 * stores it) when l is not NULL (a NULL layer keeps its constructor's
 * message), never called, not wrapped, of a kind with that field
 * (BGM_E_UNSUPPORTED: "fn: a Dense layer has no <what>") and the value is
 * valid; otherwise l is unchanged.
 */
bgm_status bgm__layer_set(bgm_layer *l, const char *fn, const char *what, size_t offset,
                          const void *value);

/* l after a constructor filled its fields: l, or NULL (freed, error set
 * naming the constructor) when a field is invalid. */
bgm_layer *bgm__layer_checked(bgm_layer *l);

/* Appends to buf[0..size) at *used like snprintf, counting in *used what
 * does not fit (so *used + 1 is the size a second call needs). */
void bgm__append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    BGM__PRINTF(4, 5);

/* Writes an object's text with bgm__append. */
typedef void (*bgm__text_writer)(char *buf, size_t size, size_t *used, const void *obj);

/* The snprintf-style public functions (bgm_layer_config_string): checks the
 * arguments (fn names them, what names obj), writes obj's text into
 * buf[0..size), always NUL-terminated when size > 0, and sets *needed (may
 * be NULL) to the size the whole text needs. */
bgm_status bgm__string_out(char *buf, size_t size, size_t *needed, const void *obj,
                           const char *what, bgm__text_writer write, const char *fn);

/* Appends l's Keras config {"class_name": ..., "config": {...} without the
 * closing brace (wrapped: without name and trainable, as inside a
 * Bidirectional). */
void bgm__layer_config_json(char *buf, size_t size, size_t *used, const bgm_layer *l,
                            int wrapped);

/* All kinds, for files and configs; NULL when none is called kind. */
const bgm__layer_ops *bgm__layer_kind_by_name(const char *kind);

/* BGM_E_INVALID unless name is 1 to 63 bytes of [A-Za-z0-9_.-]. */
bgm_status bgm__check_name(const char *name, const char *fn);

/* BGM_E_STATE: fn cannot change l, which a call has built (or a model holds). */
bgm_status bgm__layer_built_fail(const bgm_layer *l, const char *fn);

/* Mask hook of layers that keep the time axis: the first input's mask passes through. */
bgm_status bgm__pass_mask(const bgm_layer *l, const bgm_tensor *x,
                          const bgm_tensor *const *masks, int nx, const bgm_tensor **out,
                          bgm_tensor **made);

/* Recurrent layers (LSTM, GRU), used by Bidirectional for its two halves:
 * adds cfg's weight specs (names from names[0..3) or the defaults when NULL)
 * to l, checking the input shape in, and sets out for one direction. */
bgm_status bgm__rnn_build(bgm_layer *l, const bgm_layer *cfg, const char *const *names,
                          const bgm__shape *in, bgm__shape *out);

/* Runs cfg's recurrence on x with weights w (kernel, recurrent kernel and,
 * with a bias, bias), forward or reversed, with cfg's dropouts in training. */
bgm_status bgm__rnn_forward(const bgm_layer *cfg, const bgm__forward_ctx *ctx,
                            bgm_tensor *const *w, const bgm_tensor *x, int reverse,
                            bgm_tensor **y);

/* Sets the forget-gate quarter of an LSTM bias (4H) to 1 (Keras' unit_forget_bias). */
void bgm__lstm_unit_forget_bias(float *bias, int64_t units);

/* Frees what bgm_layer_apply gave l (lib/model/eager.c); NULL is a no-op. */
void bgm__eager_free(struct bgm__eager *e);

/* 1 once l was called on nodes or on tensors (its shapes and weight specs are known). */
static inline int bgm__layer_called(const bgm_layer *l)
{
    return l->graph || l->eager;
}

/* Run-time kinds (custom.c). A new layer of the registered kind named kind
 * (no init callback run); BGM_E_INVALID naming fn and kind when none is. */
bgm_status bgm__custom_layer_new(bgm_layer **out, const char *kind, const char *fn);

/* Frees a custom layer's state and drops its reference to the kind. */
void bgm__custom_free(struct bgm__custom *c);

/* The config entries of l (0 for a built-in layer): for saving and configs. */
int bgm__custom_num_entries(const bgm_layer *l);
const bgm__config_entry *bgm__custom_entry(const bgm_layer *l, int i);

/* Sets the entry key of custom layer l to *v (type and value; a string is
 * copied), checking the key and the string's length; for the loader. */
bgm_status bgm__custom_set_entry(bgm_layer *l, const char *key, const bgm__config_entry *v,
                                 const char *fn);

/* The kinds. */
extern const bgm__layer_ops bgm__dense_ops, bgm__conv2d_ops, bgm__max_pool2d_ops,
    bgm__avg_pool2d_ops, bgm__global_avg_pool2d_ops, bgm__flatten_ops, bgm__dropout_ops,
    bgm__batch_norm_ops, bgm__activation_ops, bgm__embedding_ops, bgm__lstm_ops,
    bgm__gru_ops, bgm__bidirectional_ops, bgm__add_ops, bgm__subtract_ops, bgm__multiply_ops,
    bgm__average_ops, bgm__maximum_ops, bgm__minimum_ops, bgm__concatenate_ops,
    bgm__reshape_ops, bgm__permute_ops, bgm__zero_padding2d_ops, bgm__conv1d_ops,
    bgm__position_embedding_ops, bgm__sine_position_encoding_ops, bgm__layer_norm_ops,
    bgm__rms_norm_ops, bgm__global_avg_pool1d_ops, bgm__multi_head_attention_ops,
    bgm__rescaling_ops, bgm__normalization_ops, bgm__text_vectorization_ops;

/* Frees what the preprocessing kinds own in l (stats, constant, vocabulary,
 * idf, lookup). */
void bgm__preproc_release(bgm_layer *l);

/* Frees a TextVectorization lookup table. */
void bgm__text_lookup_free(struct bgm__text_lookup *t);

#endif
