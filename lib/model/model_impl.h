/*
 * Internal layout of bgm_model, shared by lib/model and lib/train.
 *
 * Weights live in two contiguous buffers: params (trainable) and state
 * (non-trainable). Every weight tensor is a borrowed view into one of them,
 * so optimizers, clipping and saving are single loops.
 */
#ifndef BGM_MODEL_MODEL_IMPL_H
#define BGM_MODEL_MODEL_IMPL_H

#include <pthread.h>

#include "bigmodel/distributed.h"
#include "core/rng.h"
#include "model/graph.h"

#define BGM__WEIGHT_NAME_SIZE (2 * BGM__NAME_SIZE)

/* Most inputs or outputs predict takes (its per-batch arrays live on the stack). */
#define BGM__MAX_IO 64

typedef struct bgm__weight {
    char name[BGM__WEIGHT_NAME_SIZE]; /* "dense_1/kernel" */
    bgm_tensor *view;          /* into params or state */
    int param;                 /* 1: in params (its kind trains it unless the layer is
                                  frozen), 0: in state (moving statistics) */
    int layer;                 /* index of the owning layer */
    int64_t offset;            /* in floats, within params or state */
    int64_t numel;
} bgm__weight;

/* A name in logs and histories: "val_" + an output name + "_" + a metric
 * name (+ "_1" for a repeated one). */
#define BGM__KEY_SIZE (2 * BGM__NAME_SIZE)

/* A metric the model reports, from which fit / evaluate make instances. */
typedef struct bgm__metric_spec {
    bgm_metric_kind kind;
    bgm_metric_options opts;
    int output;                /* the output whose targets and predictions it reads */
    char name[BGM__KEY_SIZE];  /* as logs show it: "accuracy", or "cls_accuracy" when
                                  the model has several outputs */
    /* A custom metric function (bgm_model_add_metric_fn) when fn_name is set;
     * fn NULL until given again after loading. */
    char fn_name[BGM__NAME_SIZE];
    bgm_loss_fn fn;
    void *fn_ctx;
    int weighted;              /* Keras' weighted_metrics: weighed by sample weights */
} bgm__metric_spec;

/* How compile trains one output (Keras' per-output loss and loss weight). */
typedef struct bgm__output_spec {
    bgm_loss_kind loss;
    int from_logits;
    float weight;                 /* its loss_weights entry (1) */
    char name[BGM__NAME_SIZE];    /* Keras' output name: the name of the layer (or
                                     input) that made the output node, with "_1",
                                     "_2", ... when several outputs share it */
    char loss_key[BGM__KEY_SIZE]; /* "<name>_loss" */
    /* BGM_LOSS_CUSTOM: the name (set by bgm_model_set_loss_fn or read from a
     * file) and the function (NULL until set: a loaded model's). */
    char loss_name[BGM__NAME_SIZE];
    bgm_loss_fn loss_fn;
    void *loss_ctx;
} bgm__output_spec;

/* The tapes of one inference call (see bgm__model_infer): as many as
 * activations were alive at once, each counted by the live values on it. */
typedef struct bgm__infer_tapes {
    bgm_tape **tapes;
    int *refs;
    int ntapes, cap;
    struct bgm__infer_tapes *next;
} bgm__infer_tapes;

/* One node of the model's plan, in topological order. */
typedef struct bgm__step {
    bgm_node *node;
    int input;                 /* for an input node: its index among the inputs, else -1 */
    int layer;                 /* index of its layer in the model's layers, or -1 */
    int *in;                   /* nin indices of the inbound steps */
    int nin;
    int uses;                  /* inbound edges of later steps + times it is an output */
} bgm__step;

struct bgm_model {
    bgm_graph *graph;          /* holds the layers and nodes (a reference) */
    int sequential;            /* made by bgm_model_create: bgm_model_add works */
    bgm_node **inputs, **outputs;
    int ninputs, noutputs;
    int *output_step;          /* noutputs step indices */
    bgm__step *steps;          /* every node the outputs need, inputs included */
    int nsteps;
    int *edges;                /* the steps' in arrays, one allocation */
    bgm_layer **layers;        /* the layers of the steps, in order of first call */
    int nlayers, layer_cap;
    bgm_rng rng;               /* init, shuffling seeds, dropout */
    uint64_t seed;             /* the creation seed, kept for model files */
    int epochs_done;           /* epochs fit has completed (Keras' next initial_epoch) */

    float *params, *state;
    int64_t nparams, nstate;
    bgm__weight *weights;
    bgm_tensor **views;        /* nweights: weights[i].view, for the layers' forward */
    int nweights;
    /* Weights stay in their buffer whether their layer is frozen or not; the
     * lists below say which ones are trained. */
    bgm_tensor **trainable;    /* views of the weights fit trains (the layers' flags as
                                  the last compile saw them, else as they are), in order */
    int ntrainable;
    bgm_tensor **current;      /* bgm_model_trainable_params' list (the flags as they
                                  are), refilled by each call */
    int ncurrent;
    int *compiled_trainable;   /* nlayers flags saved by compile (NULL before): fit
                                  and train_on_batch follow these, not the layers' */
    int fitting;               /* fit is running: compile is refused */
    bgm_log_fn log;            /* bgm_model_set_log's function (NULL: silent) */
    bgm_comm *comm;            /* bgm_model_set_comm's (borrowed), or NULL: fit alone */
    int comm_synced;           /* train_on_batch gave every rank rank 0's start since */
    void *log_ctx;

    /* set by compile */
    bgm_optimizer *optimizer;
    bgm_loss_kind loss;        /* output 0's loss: the loss of a single-output model */
    int from_logits;           /* output 0's */
    bgm__metric_spec *metrics; /* every output's metrics, in the order logs show them */
    int nmetrics;
    bgm__output_spec *out_specs; /* noutputs entries: each output's loss, weight, names */

    bgm_tape *tape;            /* the training step's tape, reused */

    /* Idle tape pairs of predict/evaluate, kept so their memory stays mapped
     * between calls (a page fault costs 11-16 us on these VMs); as many as
     * calls ever ran at once. Logically const: guarded by infer_lock. */
    pthread_mutex_t infer_lock;
    bgm__infer_tapes *infer_idle;
};

/* A tape pair for one inference call on m: an idle one of m's, else a new
 * one; NULL when out of memory. Thread-safe. */
bgm__infer_tapes *bgm__infer_tapes_take(const bgm_model *m);

/* Gives the pair back to m for later calls (NULL is ignored). Thread-safe. */
void bgm__infer_tapes_give(const bgm_model *m, bgm__infer_tapes *t);

/* Frees m's idle pairs (when m is freed). */
void bgm__infer_tapes_free_all(bgm_model *m);

/* Reallocates the weight buffers for the layers [0, nlayers) when layers
 * were appended: keeps the earlier layers' values, initializes the new
 * layers' weights from m->rng and remakes every view. */
bgm_status bgm__model_grow_weights(bgm_model *m, const char *fn);

/* Frees the buffers and views. */
void bgm__model_free_weights(bgm_model *m);

/* Initializes w (spec's numel floats) as spec's initializer says, drawing from rng. */
bgm_status bgm__weight_init(bgm_rng *rng, const bgm__weight_spec *spec, float *w,
                           const char *fn);

/* Eager weights (eager.c). When l owns weights made by bgm_layer_apply,
 * copies its weight k into dst (when dst is not NULL) and returns 1; else 0. */
int bgm__eager_weights_out(const bgm_layer *l, int k, float *dst);

/* m lets go of l: l's own weights (if bgm_layer_apply made them) take the
 * model's current values, so the layer keeps what the model trained. */
void bgm__eager_weights_back(const bgm_model *m, const bgm_layer *l);

/* Makes m's plan (steps, layers) from its inputs and outputs; the layers
 * that join m get m as their model. On error m's plan is empty. */
bgm_status bgm__model_plan(bgm_model *m, const char *fn);

/* Runs the plan on xs[0..ninputs) (N, input...) on tape, outs[0..noutputs)
 * receiving the outputs. The inputs' shapes must have been checked. With
 * compiled, frozen layers are those of the last compile (fit), else those
 * whose flag says so now (custom loops). */
bgm_status bgm__model_run(const bgm_model *m, bgm_tape *tape, const bgm_tensor *const *xs,
                          int training, int compiled, bgm_rng *rng, bgm_tensor **outs);

/* ---- freezing (freeze.c) ---- */

/* 1 when layer i of m is frozen: as the last compile saw it with compiled
 * (when m was compiled), else as its flag says now. */
int bgm__model_layer_frozen(const bgm_model *m, int i, int compiled);

/* 1 when weight i is trained (a parameter of a layer not frozen; see above). */
int bgm__model_weight_trained(const bgm_model *m, int i, int compiled);

/* Saves every layer's flag for fit (flags[0..nlayers) as given, or the
 * layers' own when NULL) and remakes m->trainable from them. */
bgm_status bgm__model_freeze_compiled(bgm_model *m, const int64_t *flags, const char *fn);

/* Remakes m->trainable from the flags fit follows. */
void bgm__model_list_trained(bgm_model *m);

/* Inference (training off) on the tapes of t, all reset here: each layer
 * runs on a tape that holds no value still needed, so a batch's memory peaks
 * at the largest set of activations alive at once instead of all of them.
 * The outputs live on t's tapes until they are reset; t->tapes[0] may
 * record more (the loss). */
bgm_status bgm__model_infer(const bgm_model *m, bgm__infer_tapes *t,
                            const bgm_tensor *const *xs, bgm_tensor **outs);

/* bgm__model_infer for incremental decoding (generate.h): xs hold the
 * positions [pos, pos + T) of the sequences, their sample shapes may differ
 * from the inputs' (not checked), and layer step k keeps its state in
 * states[k] (NULL at first; free with bgm__model_free_states). */
bgm_status bgm__model_decode(const bgm_model *m, bgm__infer_tapes *t,
                             const bgm_tensor *const *xs, int64_t pos, void **states,
                             bgm_tensor **outs);

/* What inference fusion (lib/model/fusion.c) does with one step. */
typedef struct bgm__fuse {
    int into;                  /* a Conv2D step does this step's work (-1: none); the
                                  step passes on its input in[pass] */
    int pass;
    int conv;                  /* a Conv2D step that runs fused: */
    int bn;                    /*   the BatchNormalization step it folds in, or -1 */
    int res;                   /*   the step whose value it adds (an Add), or -1 */
    int relu;                  /*   ReLU after them */
    int pool;                  /*   the pooling step it runs last, or -1 */
} bgm__fuse;

/* The fusion plan of m's steps (m->nsteps entries, free()), or NULL when
 * nothing fuses, BIGMODEL_FUSION=0 is set, or memory ran out. */
bgm__fuse *bgm__fusion_plan(const bgm_model *m);

/* Flags of bgm__tape_fusion_plan's steps. */
#define BGM__DEFER_RELU 1      /* a Conv2D that leaves out its ReLU... */
#define BGM__RELU_AFTER 2      /* ...which the max pooling reading it applies */
#define BGM__FUSE_RELU 4       /* a BatchNormalization that applies a ReLU... */
#define BGM__PASS_ON 8         /* ...so the Activation(relu) after it passes it on */

/* What fuses in a run that records a tape (fusion.c): m->nsteps flags
 * (free()), or NULL when nothing does, BIGMODEL_FUSION=0 is set, or memory
 * ran out. */
unsigned char *bgm__tape_fusion_plan(const bgm_model *m);

/* Runs fused Conv2D step k (f[k].conv) on x into *y on tape, res the value
 * of step f[k].res (or NULL). */
bgm_status bgm__fused_conv(const bgm_model *m, const bgm__fuse *f, int k, bgm_tape *tape,
                           const bgm_tensor *x, const bgm_tensor *res, bgm_tensor **y);

/* Frees and clears the states[0..m->nsteps) of bgm__model_decode. */
void bgm__model_free_states(const bgm_model *m, void **states);

struct bgm_decoder;

/* bgm_decoder_create, naming fn in messages. */
bgm_status bgm__decoder_new(struct bgm_decoder **out, bgm_model *m, int use_cache,
                            const char *fn);

/* Checks that x is (N, shape of input i...) of that input's type; names fn
 * and what ("x"). */
bgm_status bgm__check_input(const bgm_model *m, int i, const char *fn, const char *what,
                            const bgm_tensor *x);

/* The checks of a call with inputs xs[0..nx) and nout outputs: m has layers,
 * the counts are m's, each input fits its node, all hold as many samples. */
bgm_status bgm__check_io(const bgm_model *m, const bgm_tensor *const *xs, int nx, int nout,
                         const char *fn);

/* Shape of output 0 (the input's for a Sequential model without layers). */
const bgm__shape *bgm__model_out_shape(const bgm_model *m);

/* "sparse categorical cross-entropy", for messages. */
const char *bgm__loss_name(bgm_loss_kind loss);

/* Checks that y fits output j's compiled loss for n samples; what names y
 * in messages. *view receives y or a new reshaped view of it ((N, 1) labels
 * as (N), (N) targets as (N, 1)), or for float32 labels of the sparse
 * cross-entropy an int32 copy (Keras casts them; values that are not whole
 * numbers fail naming the first), that the caller frees when it differs
 * from y. */
bgm_status bgm__check_targets(const bgm_model *m, int j, const char *fn, const char *what,
                              const bgm_tensor *y, int64_t n, bgm_tensor **view);

/* The compiled losses on tape: per[j] (noutputs entries) receives output j's
 * loss of preds[j] against ys[j], *total the sum of the losses times their
 * weights plus the L2 penalties (Keras' total loss). sw (NULL: none) holds
 * the batch's sample weights, (N) or (N, T), checked. Messages start with fn. */
bgm_status bgm__model_loss(const bgm_model *m, bgm_tape *tape, const bgm_tensor *const *ys,
                           bgm_tensor *const *preds, const bgm_tensor *sw, bgm_tensor **per,
                           bgm_tensor **total, const char *fn);

/* Calls a user's loss or metric function f (NULL: not given again after
 * loading, BGM_E_STATE pointing at setter) and checks its result: float32,
 * a scalar or one value per sample of y_pred. Messages start with fn and
 * name the function as what ("custom loss 'f' (output 'cls')"). */
bgm_status bgm__call_user_fn(bgm_tensor **out, bgm_loss_fn f, void *ctx, bgm_tape *tape,
                             const bgm_tensor *y_true, const bgm_tensor *y_pred,
                             const char *what, const char *setter, const char *fn);

/* Output j's predictions as its metrics read them: probabilities when it
 * outputs logits and has metrics, else y_pred itself. */
bgm_status bgm__metric_input(const bgm_model *m, int j, bgm_tape *tape,
                             const bgm_tensor *y_pred, bgm_tensor **out);

/* New instances of the model's metrics (count m->nmetrics). */
bgm_status bgm__metrics_create(const bgm_model *m, bgm_metric ***out);

/* bgm_model_add_metric_fn on a compiled m without its NULL checks (f may be
 * NULL: a loaded model's metric, given again later); messages start with fn. */
bgm_status bgm__model_add_metric_fn(bgm_model *m, int output, const char *name,
                                    bgm_loss_fn f, void *ctx, const char *fn);
void bgm__metrics_free(bgm_metric **metrics, int n);


/* Sends a warning to m's log function, if any (log.c). */
void bgm__model_warn(const bgm_model *m, const char *fmt, ...) BGM__PRINTF(2, 3);
/* Copies all weights (params then state) to / from buf of nparams + nstate floats. */
void bgm__model_copy_weights_out(const bgm_model *m, float *buf);
void bgm__model_copy_weights_in(bgm_model *m, const float *buf);

#endif
