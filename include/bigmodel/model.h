/*
 * bigmodel/model.h — layers, the model (bgm_model) built as Keras'
 * Sequential (here) or from a graph of layer calls (graph.h), and its
 * compile / fit / evaluate / predict loop with Keras-style progress,
 * histories and callbacks.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * A program reads like the Keras tutorial it replaces:
 *
 *     bgm_model *m = NULL;
 *     bgm_optimizer *adam = NULL;
 *     bgm_history *h = NULL;
 *     bgm_fit_options fo;
 *     bgm_status s = bgm_model_create(&m, (int64_t[]){28, 28, 1}, 3, 42);
 *     if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_conv2d(32, 3, BGM_ACT_RELU));
 *     if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_max_pool2d(2));
 *     if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_flatten());
 *     if (s == BGM_OK) s = bgm_model_add(m, bgm_layer_dense(10, BGM_ACT_LINEAR));
 *     if (s == BGM_OK) s = bgm_optimizer_adam(&adam, 1e-3f, BGM_ADAM_BETA1,
 *                                             BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
 *     if (s == BGM_OK) s = bgm_model_compile(m, adam,   // m owns adam from here
 *                              BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
 *                              (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1);
 *     bgm_fit_options_init(&fo, sizeof fo);
 *     fo.epochs = 5;
 *     if (s == BGM_OK) s = bgm_model_fit(&h, m, x_train, y_train, &fo);
 *     if (s != BGM_OK) fprintf(stderr, "training failed: %s\n", bgm_last_error());
 *
 * Shapes: a model is created with the shape of ONE sample (no batch
 * dimension); tensors given to fit / evaluate / predict / forward carry the
 * batch as their first dimension. Layer shapes are inferred when a layer is
 * added (or called on a node, graph.h), and a layer that cannot take its
 * input fails right there, naming its index (from 0) or name, its kind and
 * both shapes.
 *
 * Weights: all trainable parameters of a model live in one contiguous float
 * buffer; non-trainable state (BatchNorm's moving statistics) in a second. The tensors the
 * accessors return are views into those buffers. Initial values come from
 * the model's own generator, seeded at creation: the same seed and the same
 * layers give the same bits.
 *
 * Threads: one thread at a time per model, except bgm_model_predict and
 * bgm_model_evaluate, which only read the model: any number of threads may
 * run them at once on a model no thread is changing.
 *
 * Memory: inference (predict, evaluate, fit's validation) runs the layers
 * on two workspaces taking turns, so a batch holds about two layers'
 * activations at a time. The model keeps these workspaces between calls
 * (one pair per call that ran at the same time as others), so repeated
 * calls reuse mapped memory; bgm_model_free releases them.
 */
#ifndef BIGMODEL_MODEL_H
#define BIGMODEL_MODEL_H

#include "autograd.h"
#include "data.h"
#include "io.h"
#include "metrics.h"
#include "nn_ops.h"
#include "optim.h"
#include "text.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A layer configuration, made by a bgm_layer_* constructor. Opaque. */
typedef struct bgm_layer bgm_layer;

/**
 * A model: a graph of layer calls from input nodes to output nodes, with
 * its weights (bgm_model_create + bgm_model_add build a chain, Keras'
 * Sequential; bgm_model_create_graph in graph.h any graph). Opaque.
 */
typedef struct bgm_model bgm_model;

/** Builds graphs of layer calls: owns input nodes, layers and their nodes (graph.h). Opaque. */
typedef struct bgm_graph bgm_graph;

/** A symbolic value of a graph: an input, or the output of one layer call (graph.h). Opaque. */
typedef struct bgm_node bgm_node;

/** Per-epoch values of the loss and metrics recorded by fit. Opaque. */
typedef struct bgm_history bgm_history;

/** A training callback (early stopping, CSV logger, ...). Opaque. */
typedef struct bgm_callback bgm_callback;

/** Named values passed to a user callback ("loss", "accuracy", ...). Opaque. */
typedef struct bgm_logs bgm_logs;

/**
 * Receives text (progress lines, summaries). text is NUL-terminated and may
 * hold several lines, or a carriage return that rewrites the current line.
 */
typedef void (*bgm_write_fn)(void *ctx, const char *text);

/** Activation applied by a layer. Values are part of the ABI. */
typedef enum bgm_activation {
    BGM_ACT_LINEAR = 0,     /**< none: y = x */
    BGM_ACT_RELU = 1,
    BGM_ACT_SIGMOID = 2,
    BGM_ACT_TANH = 3,
    BGM_ACT_SOFTMAX = 4,    /**< over the last axis */
    BGM_ACT_LEAKY_RELU = 5, /**< slope 0.2 below 0 (tf.nn.leaky_relu); see
                                 bgm_layer_set_leaky_relu_alpha */
    BGM_ACT_GELU = 6,       /**< exact (erf) GELU */
    BGM_ACT_GELU_TANH = 7,  /**< tanh approximation of GELU (Keras' approximate=True,
                                 PyTorch's approximate='tanh'); "gelu_tanh" in configs */
    BGM_ACT_SILU = 8        /**< x * sigmoid(x), SiLU / swish; "silu" in configs */
} bgm_activation;

/**
 * How initial weights are drawn. Values are part of the ABI. The truncated
 * normals redraw values beyond 2 standard deviations and scale by 1 / 0.8796
 * so the variance is the one named, as Keras does.
 */
typedef enum bgm_initializer {
    BGM_INIT_GLOROT_UNIFORM = 1, /**< U(-l, l), l = sqrt(6 / (fan_in + fan_out));
                                      Keras' kernel default */
    BGM_INIT_GLOROT_NORMAL = 2,  /**< truncated normal, variance 2 / (fan_in + fan_out) */
    BGM_INIT_HE_NORMAL = 3,      /**< truncated normal, variance 2 / fan_in */
    BGM_INIT_HE_UNIFORM = 4,     /**< U(-l, l), l = sqrt(6 / fan_in) */
    BGM_INIT_ZEROS = 5,          /**< Keras' bias default */
    BGM_INIT_ONES = 6,
    BGM_INIT_ORTHOGONAL = 7,     /**< Keras' Orthogonal (gain 1): the weight seen as
                                      (all but the last dimension, last dimension)
                                      gets orthonormal rows or columns, whichever
                                      are fewer; the recurrent kernel default */
    BGM_INIT_RANDOM_UNIFORM = 8  /**< U(-0.05, 0.05), Keras' "uniform"; the
                                      Embedding default */
} bgm_initializer;

/** The loss a model is compiled with. Values are part of the ABI. */
typedef enum bgm_loss_kind {
    /** Mean squared error; float32 targets shaped like the output. */
    BGM_LOSS_MSE = 1,
    /** Mean absolute error; float32 targets shaped like the output. */
    BGM_LOSS_MAE = 2,
    /** float32 targets in [0, 1] shaped like the output. */
    BGM_LOSS_BINARY_CROSSENTROPY = 3,
    /** float32 one-hot targets (N, C). */
    BGM_LOSS_CATEGORICAL_CROSSENTROPY = 4,
    /** int32 class ids (N) or (N, 1); float32 labels holding whole numbers
     * are taken as class ids (as Keras casts them), others (2.5) fail with
     * BGM_E_INVALID naming the first. */
    BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY = 5,
    /** A user function, set with bgm_model_set_loss_fn after compiling
     *  (Keras' compile(loss=fn)); float32 or int32 targets with the batch
     *  as their first dimension, passed to it as they are. */
    BGM_LOSS_CUSTOM = 6
} bgm_loss_kind;

/**
 * A custom loss (Keras' loss function fn(y_true, y_pred)): records on tape
 * the loss of y_pred (the output, (N, ...)) against y_true (the targets as
 * given to fit, (N, ...)) and writes it to *out, a float32 tensor owned by
 * tape, built with the bgm_op_* functions: either one value per sample,
 * (N) or (N, T, ...) (Keras' per-sample losses; the library reduces them
 * as Keras does: sum(w * l) / number of values, w the sample weights or 1),
 * or a 0-dimensional scalar, taken as the batch's loss (it cannot be
 * weighted per sample). Return BGM_OK, or an error status (typically a
 * failed op's), which then ends the call that ran the loss with that
 * status and a message naming the loss. ctx is the pointer given to
 * bgm_model_set_loss_fn. Threads: evaluate and test_on_batch may run on
 * several threads at once (see Threads above), and call fn from each.
 */
typedef bgm_status (*bgm_loss_fn)(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *y_true,
                                  const bgm_tensor *y_pred, void *ctx);

/* ---- layers ------------------------------------------------------------
 * Each constructor returns a new layer, or NULL with bgm_last_error() set
 * (BGM_E_INVALID for a bad argument, BGM_E_NOMEM). Pass the result straight
 * to bgm_model_add(), which takes ownership, NULL included: the add then
 * fails keeping the constructor's message. A layer never added is freed with
 * bgm_layer_free().
 */

/**
 * Densely connected layer: y = act(x W + b) over the last axis, W (in,
 * units): (N, in) to (N, units), and (N, ..., in) to (N, ..., units) as
 * Keras does, each position through the same W. units >= 1.
 */
BGM_API bgm_layer *bgm_layer_dense(int64_t units, bgm_activation activation);

/**
 * 2-D convolution over NHWC images with a kernel_size x kernel_size window
 * (change with bgm_layer_set_kernel_size), stride 1, VALID padding:
 * y = act(conv(x, K) + b), K of shape (KH, KW, C, filters) as Keras.
 * filters >= 1, kernel_size >= 1.
 */
BGM_API bgm_layer *bgm_layer_conv2d(int64_t filters, int64_t kernel_size,
                                    bgm_activation activation);

/** Max pooling over pool x pool windows, strides = pool, VALID padding (Keras). pool >= 1. */
BGM_API bgm_layer *bgm_layer_max_pool2d(int64_t pool);

/** Average pooling over pool x pool windows, strides = pool, VALID padding. pool >= 1. */
BGM_API bgm_layer *bgm_layer_avg_pool2d(int64_t pool);

/** Mean over height and width: (H, W, C) to (C). */
BGM_API bgm_layer *bgm_layer_global_avg_pool2d(void);

/** Flattens each sample to one dimension. */
BGM_API bgm_layer *bgm_layer_flatten(void);

/** Inverted dropout of rate in [0, 1) in training; identity at inference. */
BGM_API bgm_layer *bgm_layer_dropout(float rate);

/**
 * Batch normalization over the last axis: batch statistics in training
 * (and updates of the moving mean / variance), moving statistics at
 * inference. Keras defaults: momentum 0.99, epsilon 1e-3; gamma starts at 1,
 * beta at 0, moving mean at 0, moving variance at 1.
 */
BGM_API bgm_layer *bgm_layer_batch_norm(void);

/** Applies an activation function. */
BGM_API bgm_layer *bgm_layer_activation(bgm_activation activation);

/**
 * Layer normalization (Keras' LayerNormalization): each position's features
 * (the last axis) become (x - mean) / sqrt(var + epsilon) * gamma + beta.
 * Keras defaults: axis -1, epsilon 1e-3, center and scale on. Weights
 * "gamma" (D) from ones (with scale) and "beta" (D) from zeros (with center).
 * Only the last axis is supported: another axis fails when the layer is
 * built (BGM_E_SHAPE). A padding mask passes through. Change with
 * bgm_layer_set_axis, bgm_layer_set_epsilon, bgm_layer_set_center,
 * bgm_layer_set_scale.
 */
BGM_API bgm_layer *bgm_layer_layer_norm(void);

/**
 * RMS normalization (Keras' RMSNormalization): x / sqrt(mean(x^2) + epsilon)
 * * scale over the last axis. Keras defaults: axis -1 (the only one
 * supported, as bgm_layer_layer_norm), epsilon 1e-6. Weight "scale" (D) from
 * ones. A padding mask passes through.
 */
BGM_API bgm_layer *bgm_layer_rms_norm(void);

/**
 * Mean over the steps of sequences (Keras' GlobalAveragePooling1D,
 * channels last): (T, C) to (C), or (1, C) with bgm_layer_set_keepdims. With
 * a padding mask (an Embedding with mask_zero before it) the mean is over
 * the unmasked steps only; a sequence with no unmasked step gives zeros. The
 * mask stops here.
 */
BGM_API bgm_layer *bgm_layer_global_avg_pool1d(void);

/* ---- sequence layers ---------------------------------------------------
 * Token ids are int32 (N, T) tensors; a model starting with an Embedding
 * layer takes them as input (its input shape is (T)), every other model
 * float32. Recurrent layers take (N, T, F) sequences.
 */

/**
 * Looks up a vector of dim floats for each token id in [0, vocab_size)
 * (Keras' Embedding): (T) int32 ids to (T, dim). Must be the first layer.
 * Weights: "embeddings" (vocab_size, dim), drawn from BGM_INIT_RANDOM_UNIFORM
 * (change with bgm_layer_set_kernel_initializer, or load rows with
 * bgm_layer_set_embedding_matrix / _word2vec). An id outside the table
 * fails the forward pass with BGM_E_RANGE naming its position.
 * vocab_size from 1 to 2^31, dim >= 1.
 *
 * Tied output projection (keras_hub's ReversibleEmbedding, reverse=True):
 * calling the layer again (bgm_layer_call) on a float32 node of shape
 * (..., dim) gives the logits x E^T of shape (..., vocab_size) with the same
 * "embeddings" matrix E, so a language model's output layer shares the
 * token embedding; training sums the gradients of both uses into E. The
 * call dispatches on its input's dtype: int32 ids look rows up, float32
 * vectors project. Only a second call may take float32 (a first one on
 * float32 fails with BGM_E_DTYPE), and its last dimension must be dim
 * (BGM_E_SHAPE otherwise). The projection passes the mask of its input on.
 */
BGM_API bgm_layer *bgm_layer_embedding(int64_t vocab_size, int64_t dim);

/**
 * Learned position embeddings (keras_hub's PositionEmbedding): called on
 * the (T, d) output of an Embedding, with T <= sequence_length, it returns
 * rows 0 .. T-1 of its weight "embeddings" (sequence_length, d), the same
 * for every sample, in the input's shape (T, d): add it to the token
 * embeddings with an Add layer. Initializer BGM_INIT_GLOROT_UNIFORM (change
 * with bgm_layer_set_kernel_initializer). It passes the input's mask on.
 * Under incremental decoding, where the input holds positions p .. p+T-1,
 * it returns those rows (BGM_E_RANGE past sequence_length). A longer input
 * fails the call with BGM_E_SHAPE. sequence_length >= 1.
 */
BGM_API bgm_layer *bgm_layer_position_embedding(int64_t sequence_length);

/**
 * Fixed sinusoidal position encodings (keras_hub's SinePositionEncoding,
 * "Attention is all you need"): called on (T, d) it returns, in that shape,
 * sin(p r_j) at even features j and cos(p r_j) at odd ones for positions
 * p = 0 .. T-1, r_j = max_wavelength^(-2 floor(j/2) / d); no weights. Add it
 * to the token embeddings. It passes the mask on; under incremental
 * decoding the positions start at the decoded offset. max_wavelength
 * finite and > 0 (Keras' default 10000).
 */
BGM_API bgm_layer *bgm_layer_sine_position_encoding(float max_wavelength);

/**
 * 1-D convolution over (T, C) sequences (Keras' Conv1D): a kernel_size-tap
 * window, stride 1, dilation 1, VALID padding (change with
 * bgm_layer_set_strides, _dilation_rate and _padding, which takes
 * BGM_PADDING_CAUSAL too: left padding of dilation (kernel_size - 1) steps,
 * so step t sees steps <= t): (T, C) to (T', filters), y = act(conv(x, K) +
 * b), K of shape (kernel_size, C, filters) as Keras. Strides > 1 and
 * dilation > 1 together are refused (as Keras). Drops the mask (as Keras).
 * filters >= 1, kernel_size >= 1.
 */
BGM_API bgm_layer *bgm_layer_conv1d(int64_t filters, int64_t kernel_size,
                                    bgm_activation activation);

/**
 * Long short-term memory with units hidden units (Keras' LSTM, gates i, f,
 * c, o): (T, F) to (units), or (T, units) with return_sequences. Weights:
 * "kernel" (F, 4 units) glorot_uniform, "recurrent_kernel" (units, 4 units)
 * orthogonal, "bias" (4 units) zeros with the forget-gate quarter at 1
 * (Keras' unit_forget_bias): 4 (F units + units^2 + units) parameters.
 * units >= 1.
 */
BGM_API bgm_layer *bgm_layer_lstm(int64_t units);

/**
 * Gated recurrent unit with units hidden units (Keras' GRU with
 * reset_after=True, the same cell as PyTorch's nn.GRU; gates z, r, n):
 * shapes as bgm_layer_lstm. Weights: "kernel" (F, 3 units),
 * "recurrent_kernel" (units, 3 units), "bias" (2, 3 units): input and
 * recurrent biases; 3 (F units + units^2 + 2 units) parameters. units >= 1.
 */
BGM_API bgm_layer *bgm_layer_gru(int64_t units);

/**
 * Runs layer (an LSTM or GRU, configured beforehand) forward and in reverse
 * over the input and concatenates both outputs on the last axis (Keras'
 * Bidirectional with merge_mode='concat'): (2 units), or (T, 2 units) with
 * return_sequences; twice the inner layer's weights, named
 * "forward_lstm/kernel", ..., "backward_lstm/bias" (gru for a GRU). Takes
 * ownership of layer (freed on error), except when layer belongs to a model
 * or another Bidirectional layer (BGM_E_STATE; it stays with its owner).
 * NULL layer: NULL, keeping the message of the constructor that failed.
 * Errors (NULL returned): BGM_E_INVALID (not an LSTM or GRU), BGM_E_STATE,
 * BGM_E_NOMEM.
 */
BGM_API bgm_layer *bgm_layer_bidirectional(bgm_layer *layer);

/** Frees a layer that was not added to a model. NULL is a no-op. */
BGM_API void bgm_layer_free(bgm_layer *layer);

/* ---- layer options -----------------------------------------------------
 * Setters change a layer before it is added (bgm_layer_set_trainable also
 * after). Each returns BGM_OK or:
 * BGM_E_INVALID for a NULL layer (keeping the message of the constructor
 * that returned NULL) or an out-of-range value; BGM_E_UNSUPPORTED when the
 * layer kind has no such option (the message names the kind); BGM_E_STATE
 * once the layer belongs to a model or a Bidirectional layer. A failed setter leaves the layer as it
 * was.
 */

/**
 * Conv2D window size kh x kw (>= 1). Conv1D: its kernel_size, given twice
 * (kh == kw, else BGM_E_INVALID).
 */
BGM_API bgm_status bgm_layer_set_kernel_size(bgm_layer *layer, int64_t kh, int64_t kw);

/** Pooling window size ph x pw (>= 1); also resets the strides to the window. */
BGM_API bgm_status bgm_layer_set_pool_size(bgm_layer *layer, int64_t ph, int64_t pw);

/** Conv2D / pooling strides (>= 1); Conv1D: its stride, given twice (sh == sw). */
BGM_API bgm_status bgm_layer_set_strides(bgm_layer *layer, int64_t sh, int64_t sw);

/**
 * Conv2D / pooling padding, BGM_PADDING_VALID or BGM_PADDING_SAME; Conv1D
 * also BGM_PADDING_CAUSAL.
 */
BGM_API bgm_status bgm_layer_set_padding(bgm_layer *layer, bgm_padding padding);

/**
 * Conv1D dilation rate (Keras' dilation_rate, >= 1, default 1): taps
 * dilation steps apart. Given twice (dh == dw, else BGM_E_INVALID), room
 * for a 2-D convolution's pair. Not with strides > 1 (BGM_E_INVALID).
 */
BGM_API bgm_status bgm_layer_set_dilation_rate(bgm_layer *layer, int64_t dh, int64_t dw);

/** SinePositionEncoding max_wavelength (finite, > 0; default 10000). */
BGM_API bgm_status bgm_layer_set_max_wavelength(bgm_layer *layer, float max_wavelength);

/** Dense / Conv2D / LSTM / GRU: whether the layer has a bias (default 1). */
BGM_API bgm_status bgm_layer_set_use_bias(bgm_layer *layer, int use_bias);

/**
 * Kernel initializer of Dense / Conv2D / LSTM / GRU (default
 * BGM_INIT_GLOROT_UNIFORM), the input kernel for the recurrent layers, and
 * the embeddings initializer of Embedding (default BGM_INIT_RANDOM_UNIFORM).
 */
BGM_API bgm_status bgm_layer_set_kernel_initializer(bgm_layer *layer, bgm_initializer init);

/**
 * Dense / Conv2D / LSTM / GRU bias initializer (default BGM_INIT_ZEROS; an
 * LSTM then sets its forget-gate quarter to 1).
 */
BGM_API bgm_status bgm_layer_set_bias_initializer(bgm_layer *layer, bgm_initializer init);

/**
 * Dense / Conv2D L2 kernel regularizer (Keras kernel_regularizer=l2(l2)):
 * l2 * sum(kernel^2) is added to the training loss. l2 >= 0 and finite; 0 = none.
 */
BGM_API bgm_status bgm_layer_set_kernel_l2(bgm_layer *layer, float l2);

/** Activation slope below 0 for BGM_ACT_LEAKY_RELU (default 0.2), finite. */
BGM_API bgm_status bgm_layer_set_leaky_relu_alpha(bgm_layer *layer, float alpha);

/** BatchNormalization momentum in [0, 1] (default 0.99). */
BGM_API bgm_status bgm_layer_set_momentum(bgm_layer *layer, float momentum);

/**
 * BatchNormalization: 1 synchronises the batch statistics across the ranks
 * of a data-parallel fit (Keras 3's synchronized, PyTorch's SyncBatchNorm):
 * in training the mean and variance are those of every rank's rows, with
 * the gradients to match, so N ranks of batch b train as one process of
 * N * b; 0 (the default) keeps each rank's own. Without a communicator it
 * changes nothing. Saved with the layer's config.
 */
BGM_API bgm_status bgm_layer_set_synchronized(bgm_layer *layer, int synchronized);

/**
 * BatchNormalization / LayerNormalization epsilon > 0 and finite (default
 * 1e-3), RMSNormalization's (default 1e-6).
 */
BGM_API bgm_status bgm_layer_set_epsilon(bgm_layer *layer, float epsilon);

/**
 * LayerNormalization / RMSNormalization axis on the batched tensor, as
 * Keras (default -1); only the last axis is supported, so another one fails
 * when the layer is built. Concatenate: its axis (as bgm_layer_concatenate).
 * Accepts -(BGM_MAX_DIMS - 1) to BGM_MAX_DIMS - 1.
 */
BGM_API bgm_status bgm_layer_set_axis(bgm_layer *layer, int64_t axis);

/** LayerNormalization: with a "beta" offset (Keras' center; default 1). */
BGM_API bgm_status bgm_layer_set_center(bgm_layer *layer, int center);

/** LayerNormalization: with a "gamma" scale (Keras' scale; default 1). */
BGM_API bgm_status bgm_layer_set_scale(bgm_layer *layer, int scale);

/** GlobalAveragePooling1D: keep the time axis, as 1 (Keras' keepdims; default 0). */
BGM_API bgm_status bgm_layer_set_keepdims(bgm_layer *layer, int keepdims);

/**
 * Keras' layer.trainable = False when trainable is 0 (any layer kind; default
 * 1), before or after the layer is added to a model or called, as often as
 * wanted. At once: its weights count as non-trainable (summary,
 * bgm_model_num_trainable_params, bgm_model_weight_trainable) and leave
 * bgm_model_trainable_params, and a forward pass in training mode on a
 * caller's tape (bgm_model_forward) computes no gradient for them. fit and
 * train_on_batch follow the flag from the next compile on, as Keras'
 * compiled training does: then the optimizer skips the weights (keeping no
 * slots for them), no gradient is computed for them, and their L2 penalty
 * leaves the loss (Keras 3 regularizes trainable weights only). A frozen
 * BatchNormalization runs in inference mode in training too: it normalizes
 * with its moving statistics and does not update them (Keras 3). Setting a
 * Bidirectional layer's flag sets its wrapped layer's. Changing the flag
 * while fit runs (from a callback) is allowed and takes effect at the next
 * compile. Model files keep the flag.
 * Errors: BGM_E_INVALID (NULL layer, keeping the message of the constructor
 * that failed), BGM_E_STATE (the layer is wrapped by a Bidirectional layer:
 * set the Bidirectional layer's flag).
 */
BGM_API bgm_status bgm_layer_set_trainable(bgm_layer *layer, int trainable);

/** The layer's trainable flag (bgm_layer_set_trainable): 1 or 0; 0 for NULL. */
BGM_API int bgm_layer_trainable(const bgm_layer *layer);

/**
 * Embedding: with mask_zero != 0, id 0 is padding (Keras' mask_zero=True):
 * the mask passes through Dropout / Activation / BatchNormalization layers
 * to the next LSTM / GRU / Bidirectional layer, which skips the padded steps
 * (state unchanged, output repeated), so padding before a sequence does not
 * change the result. A recurrent layer with return_sequences passes the
 * mask on; without, it uses it up. Default 0.
 */
BGM_API bgm_status bgm_layer_set_mask_zero(bgm_layer *layer, int mask_zero);

/**
 * Embedding: initial rows from matrix, float32 (vocab_size, dim), copied
 * now and written over the random initial values when the layer is added.
 * Errors also: BGM_E_INVALID (NULL matrix), BGM_E_DTYPE, BGM_E_SHAPE (not
 * (vocab_size, dim); both shapes named), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_set_embedding_matrix(bgm_layer *layer, const bgm_tensor *matrix);

/**
 * Embedding: initial row i is word2vec's vector of vocab's token i for the
 * tokens w2v knows; the reserved ids and unknown words keep their random
 * initial rows. The vectors are copied now; w2v and vocab are borrowed for
 * the call only. Combine with bgm_layer_set_trainable(layer, 0) to keep
 * them fixed.
 * Errors also: BGM_E_INVALID (NULL w2v or vocab), BGM_E_SHAPE (w2v's
 * dimension differs from dim, or vocab has more ids than vocab_size),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_set_embedding_word2vec(bgm_layer *layer,
                                                    const bgm_word2vec *w2v,
                                                    const bgm_vocab *vocab);

/** LSTM / GRU: output every step, (T, units), instead of the last one (default 0). */
BGM_API bgm_status bgm_layer_set_return_sequences(bgm_layer *layer, int return_sequences);

/**
 * LSTM / GRU input dropout rate in [0, 1) (Keras' dropout; default 0): in
 * training, a mask of the input features drawn per batch from the model's
 * generator and shared by every step scales them by 0 or 1 / (1 - rate).
 * MultiHeadAttention: dropout on the attention probabilities (one draw per
 * probability), as Keras. Inactive at inference.
 */
BGM_API bgm_status bgm_layer_set_dropout(bgm_layer *layer, float rate);

/**
 * LSTM / GRU recurrent dropout rate in [0, 1) (Keras' recurrent_dropout;
 * default 0): in training, one mask per sequence, drawn per batch, on the
 * state entering the recurrent product at every step. Inactive at inference.
 */
BGM_API bgm_status bgm_layer_set_recurrent_dropout(bgm_layer *layer, float rate);

/**
 * Layer name (1 to 63 bytes of [A-Za-z0-9_.-]); unique within a model. Without
 * it the model names layers as Keras does: "dense", "dense_1", "conv2d", ...
 * name is copied.
 */
BGM_API bgm_status bgm_layer_set_name(bgm_layer *layer, const char *name);

/* ---- layer accessors (NULL / 0 for a NULL layer) ------------------------ */

/** Kind as Keras calls it: "Dense", "Conv2D", "MaxPooling2D", ... Static storage. */
BGM_API const char *bgm_layer_kind(const bgm_layer *layer);

/** Name; "" for an unnamed layer not yet added. Borrowed: valid while the layer lives. */
BGM_API const char *bgm_layer_name(const bgm_layer *layer);

/**
 * Output shape of one sample (no batch dimension), known once the layer is
 * added; *ndim (may be NULL) receives its length. NULL before that.
 */
BGM_API const int64_t *bgm_layer_output_shape(const bgm_layer *layer, int *ndim);

/**
 * The layer's configuration as JSON, Keras' serialization of a layer:
 * {"class_name": "Dense", "config": {"name": "dense", "trainable": true,
 * "units": 10, "activation": "relu", ...}}, every field its kind has (the
 * keys of model files). snprintf-style: at most size bytes in buf, always
 * NUL-terminated when size > 0 (buf may be NULL when size is 0); *needed
 * (may be NULL) receives the size the whole text needs, NUL included.
 * Errors: BGM_E_INVALID (NULL layer, NULL buf with size > 0).
 */
BGM_API bgm_status bgm_layer_config_string(char *buf, size_t size, size_t *needed,
                                           const bgm_layer *layer);

/** Number of weights (trainable and not) of an added layer; 0 before. */
BGM_API int64_t bgm_layer_num_params(const bgm_layer *layer);

/** Number of outputs a call of layer makes (1 for most kinds; 0 for NULL). */
BGM_API int bgm_layer_num_outputs(const bgm_layer *layer);

/* ---- calling a layer on tensors (eager) ---------------------------------- */

/**
 * Runs layer on the batches inputs[0..nin) (batch axis first), Keras'
 * `layer(x)` on concrete data; outs[0..nout) receive its outputs (nout =
 * bgm_layer_num_outputs). The first call builds the layer against the
 * inputs' sample shapes and makes its weights, initialized as a model
 * would (each layer built so draws from its own seed); later calls reuse
 * them and take any input whose sample shape fits those weights (batch
 * size free). While the layer is not in a model it owns its weights
 * (bgm_layer_weight; freed with the layer). A model that later takes the
 * layer (bgm_model_add, or a call on nodes then bgm_model_create_graph)
 * starts from them, and from then holds the weights: calls use the
 * model's, and when the model is freed the layer's own take the model's
 * last values. A layer built by a call on tensors refuses its setters, as
 * after a call on nodes.
 *
 * tape: with a tape, the ops are recorded there (gradients reach the
 * inputs it watches and the layer's trainable weights, which it watches)
 * and outs are owned by the tape, or are one of the inputs, or views of an
 * input's data (keep the inputs alive while using them). With NULL, outs
 * are new tensors the caller frees with bgm_tensor_free. training: 1 runs
 * Dropout and BatchNormalization in training mode (dropout draws from the
 * layer's generator); a frozen layer (bgm_layer_set_trainable 0) runs
 * BatchNormalization in inference mode.
 * Errors (outs all NULL, the layer unchanged unless the first call's build
 * succeeded): BGM_E_INVALID (NULL, a wrong number of inputs or outputs),
 * BGM_E_SHAPE (an input without a batch axis, an input shape the kind
 * refuses, or one that does not fit the weights built by an earlier call:
 * the message names the layer and both shapes), BGM_E_DTYPE (e.g. int32
 * into Dense), BGM_E_STATE (a layer wrapped by a Bidirectional), BGM_E_NOMEM.
 * Threads: a call changes the layer (its build, its generator): one thread at
 * a time per layer, and not while a model holding it trains.
 */
BGM_API bgm_status bgm_layer_apply(bgm_tensor **outs, int nout, bgm_layer *layer,
                                   bgm_tape *tape, const bgm_tensor *const *inputs, int nin,
                                   int training);

/** Number of weight tensors of a built layer (called on tensors or nodes); 0 before. */
BGM_API int bgm_layer_num_weights(const bgm_layer *layer);

/**
 * Weight i of the layer, borrowed: the model's while a model holds the
 * layer, else the layer's own (made by bgm_layer_apply, valid until the
 * layer is freed); NULL when i is out of range or the layer has no weights
 * yet (built by a call on nodes, no model made).
 */
BGM_API bgm_tensor *bgm_layer_weight(const bgm_layer *layer, int i);

/** Name of weight i ("kernel", "bias", "gamma", ...; static), or NULL out of range. */
BGM_API const char *bgm_layer_weight_name(const bgm_layer *layer, int i);

/** 1 when weight i is a trainable parameter of its kind (not a moving statistic). */
BGM_API int bgm_layer_weight_trainable(const bgm_layer *layer, int i);

/* ---- building a model --------------------------------------------------- */

/**
 * New empty Sequential model taking samples of shape input_shape (ndim from
 * 1 to BGM_MAX_DIMS - 1 entries, each >= 1; no batch dimension). seed seeds
 * the model's generator: initial weights, shuffling, dropout.
 * Free with bgm_model_free().
 * Errors: BGM_E_INVALID (NULL out or input_shape, bad ndim or dimension), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_create(bgm_model **out, const int64_t *input_shape, int ndim,
                                    uint64_t seed);

/** Frees a model, its layers, weights, optimizer and workspaces. NULL is a no-op. */
BGM_API void bgm_model_free(bgm_model *m);

/**
 * Appends layer to m, taking ownership of it in every case: on error the
 * layer is freed (but not one that belongs to a model or a Bidirectional
 * layer). Infers the layer's output shape and allocates and initializes its
 * weights from the model's generator. Views returned earlier by
 * bgm_model_weight / bgm_model_trainable_params become invalid.
 * Errors: BGM_E_INVALID (NULL m; NULL layer, keeping the message of the
 * constructor that failed; a duplicate name), BGM_E_NOMEM also for a NULL
 * layer whose constructor ran out of memory, BGM_E_STATE (m is compiled, or
 * layer belongs to a model or a Bidirectional layer already), BGM_E_SHAPE
 * (the layer cannot take the previous output: "layer 3 (LSTM): expected
 * input of 2 dimensions (timesteps, features), got (5, 5, 64)"),
 * BGM_E_DTYPE (an Embedding layer that is not the first), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_add(bgm_model *m, bgm_layer *layer);

/** Number of layers (0 for NULL). */
BGM_API int bgm_model_num_layers(const bgm_model *m);

/** Layer i (0-based), borrowed: valid while m lives. NULL when out of range. */
BGM_API const bgm_layer *bgm_model_layer(const bgm_model *m, int i);

/** Shape of one input sample; *ndim (may be NULL) receives its length. Borrowed. */
BGM_API const int64_t *bgm_model_input_shape(const bgm_model *m, int *ndim);

/** Shape of one output sample (the input shape for a model with no layers). Borrowed. */
BGM_API const int64_t *bgm_model_output_shape(const bgm_model *m, int *ndim);

/**
 * Writes a Keras-like summary table (Layer (type), Output Shape, Param #,
 * totals, trainable and non-trainable counts) to write(ctx, text); write
 * NULL writes to stdout.
 * Errors: BGM_E_INVALID (NULL m).
 */
BGM_API bgm_status bgm_model_summary(const bgm_model *m, bgm_write_fn write, void *ctx);

/**
 * The summary text in buf, snprintf-style: at most size bytes, always
 * NUL-terminated when size > 0 (buf may be NULL when size is 0); *needed
 * (may be NULL) receives the size the whole text needs, NUL included.
 * Errors: BGM_E_INVALID (NULL m, NULL buf with size > 0), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_summary_string(char *buf, size_t size, size_t *needed,
                                            const bgm_model *m);

/* ---- weights ----------------------------------------------------------- */

/** Number of weight elements, trainable and not (Keras' "Total params"); 0 for NULL. */
BGM_API int64_t bgm_model_num_params(const bgm_model *m);

/** Number of trainable weight elements (Keras' "Trainable params": frozen
 * layers' weights and moving statistics left out); 0 for NULL. */
BGM_API int64_t bgm_model_num_trainable_params(const bgm_model *m);

/**
 * The trainable weight tensors in layer order (kernel then bias per layer,
 * gamma then beta for BatchNorm), for a custom training loop: pass them to
 * bgm_tape_gradient() and bgm_optimizer_step(). Frozen layers' weights (as
 * their flags are now, see bgm_layer_set_trainable) are left out. *params
 * receives a borrowed array of *count views, valid until the next
 * bgm_model_add or the model's free; the next call refills it (after
 * freezing a layer, call again); writing through the views changes the model.
 * Errors: BGM_E_INVALID (NULL).
 */
BGM_API bgm_status bgm_model_trainable_params(bgm_tensor *const **params, int *count,
                                              bgm_model *m);

/** Number of weight tensors, trainable and not (Keras' len(model.weights)). 0 for NULL. */
BGM_API int bgm_model_num_weights(const bgm_model *m);

/**
 * Weight tensor i in Keras order (per layer: kernel, bias; gamma, beta,
 * moving_mean, moving_variance), a borrowed view valid until the next
 * bgm_model_add; NULL when out of range.
 */
BGM_API bgm_tensor *bgm_model_weight(const bgm_model *m, int i);

/** Name of weight i, e.g. "dense_1/kernel"; NULL when out of range. Borrowed. */
BGM_API const char *bgm_model_weight_name(const bgm_model *m, int i);

/**
 * Index of the weight named name ("conv2d_1/kernel": layer name / weight
 * name), for bgm_model_weight and the others; -1 when m has none (or NULL).
 */
BGM_API int bgm_model_weight_index(const bgm_model *m, const char *name);

/** 1 when weight i is trainable (not BatchNorm's moving statistics, not of a
 * layer frozen now), else 0. */
BGM_API int bgm_model_weight_trainable(const bgm_model *m, int i);

/**
 * Keras' model.trainable = trainable: sets every layer's trainable flag
 * (bgm_layer_set_trainable, with its timing: fit follows it from the next
 * compile). A layer may be unfrozen again afterwards (unlike Keras, where a
 * model whose own flag is False reports no trainable weights at all).
 * Errors: BGM_E_INVALID (NULL m).
 */
BGM_API bgm_status bgm_model_set_trainable(bgm_model *m, int trainable);

/**
 * bgm_layer_set_trainable on m's layer called name (model.get_layer(name).
 * trainable = ...), for layers the caller holds only const (a loaded model's).
 * Errors: BGM_E_INVALID (NULL m or name, no layer of that name).
 */
BGM_API bgm_status bgm_model_set_layer_trainable(bgm_model *m, const char *name,
                                                 int trainable);

/**
 * Copies every weight, in bgm_model_weight order, into buf (count floats,
 * count == bgm_model_num_params).
 * Errors: BGM_E_INVALID (NULL), BGM_E_SHAPE (count differs; both counts named).
 */
BGM_API bgm_status bgm_model_get_weights(const bgm_model *m, float *buf, int64_t count);

/** Overwrites every weight from buf, in the same order. Errors as bgm_model_get_weights. */
BGM_API bgm_status bgm_model_set_weights(bgm_model *m, const float *buf, int64_t count);

/* ---- compiling ----------------------------------------------------------- */

/**
 * Sets how m trains: the optimizer, the loss and the metrics fit and
 * evaluate report. Takes ownership of optimizer in every case (it is freed
 * with the model, or right away on error); compiling again replaces the
 * previous optimizer and metrics. from_logits != 0 means the model outputs
 * logits (no final softmax / sigmoid) for the cross-entropy losses; metrics
 * then see probabilities. metrics holds nmetrics kinds (may be NULL when
 * nmetrics is 0), named in logs as bgm_metric_name() says; precision, recall
 * and F1 average over classes (macro) for outputs of more than one column,
 * binary otherwise; AUC takes binary outputs. For other options add a
 * metric with bgm_model_add_metric().
 * Errors: BGM_E_INVALID (NULL m or optimizer, unknown loss, from_logits with
 * MSE / MAE, nmetrics < 0, a metric the output cannot feed), BGM_E_STATE (m
 * has no layers, or fit is running on it), BGM_E_NOMEM.
 * Compiling takes a snapshot of the layers' trainable flags, which fit and
 * train_on_batch follow until the next compile (bgm_layer_set_trainable).
 */
BGM_API bgm_status bgm_model_compile(bgm_model *m, bgm_optimizer *optimizer,
                                     bgm_loss_kind loss, int from_logits,
                                     const bgm_metric_kind *metrics, int nmetrics);

/**
 * Options of bgm_model_compile_v2 (Keras' compile(loss=[...],
 * loss_weights=[...], metrics=...)) for models of any number of outputs.
 * Fill with bgm_compile_options_init(), then set the fields you need. The
 * per-output arrays are indexed by output (bgm_model_output order) and
 * hold num_outputs entries each. Later versions only append fields; size
 * tells the library which the caller knows.
 */
typedef struct bgm_compile_options {
    /** sizeof(bgm_compile_options), set by init. */
    size_t size;
    /** The loss of every output (Keras: one loss applies to all outputs);
     *  0 = none, output_losses must then be set (0). */
    bgm_loss_kind loss;
    /** from_logits of loss, as bgm_model_compile's (0). */
    int from_logits;
    /** Metric kinds reported for every output, as bgm_model_compile's
     *  metrics (NULL, 0). */
    const bgm_metric_kind *metrics;
    int num_metrics;
    /** Entries of each per-output array below; must equal the model's
     *  number of outputs when any of them is set (0). */
    int num_outputs;
    /** Loss of each output (NULL: loss for every output). */
    const bgm_loss_kind *output_losses;
    /** from_logits of each output (NULL: from_logits for every output). */
    const int *output_from_logits;
    /** Keras' loss_weights, finite and >= 0: the loss fit minimizes is
     *  sum_j loss_weights[j] * loss_j plus the L2 penalties (NULL: 1 each). */
    const float *loss_weights;
    /** Metrics of single outputs: output j also reports the
     *  output_num_metrics[j] kinds of output_metrics[j] (which may be NULL
     *  when that count is 0), after the metrics of every output. Both or
     *  neither are set (NULL, NULL). */
    const bgm_metric_kind *const *output_metrics;
    const int *output_num_metrics;
} bgm_compile_options;

/**
 * Fills opts with the defaults shown above; pass size = sizeof *opts.
 * Errors: BGM_E_INVALID (NULL, size smaller than the first version of the
 * struct), BGM_E_UNSUPPORTED (size larger than this library knows).
 */
BGM_API bgm_status bgm_compile_options_init(bgm_compile_options *opts, size_t size);

/**
 * bgm_model_compile for models of any number of outputs, with a loss,
 * from_logits and loss weight per output and metrics per output. Takes
 * ownership of optimizer in every case (freed with the model, or right away
 * on error); opts is read during the call only. Compiling again replaces
 * the previous optimizer, losses and metrics.
 * Names (Keras'): an output is named after the layer whose call made its
 * node (an input's name for an input node; "_1", "_2", ... when outputs
 * share a name). With several outputs, fit, evaluate and the *_on_batch
 * functions report "loss" (the weighted total), then "<output>_loss" per
 * output (unweighted), then each output's metrics as "<output>_<metric>"
 * ("cls_accuracy"); with one output the names are those of
 * bgm_model_compile ("loss", "accuracy"). bgm_model_metric_name lists them.
 * Errors: BGM_E_INVALID (NULL m, optimizer or opts; a bad opts->size; no
 * loss; num_outputs not the model's count; an unknown loss, from_logits
 * with MSE / MAE, a negative or non-finite weight, naming the output; bad
 * metric counts; a metric an output cannot feed), BGM_E_STATE (m has no
 * layers), BGM_E_UNSUPPORTED (more than 64 outputs, or more values than a
 * log holds), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_compile_v2(bgm_model *m, bgm_optimizer *optimizer,
                                        const bgm_compile_options *opts);

/**
 * Adds one more metric to a compiled model with explicit options (copied;
 * NULL for the defaults), to every output of a model of several outputs
 * (as Keras' list of metrics). It is named as bgm_metric_name() says
 * (after the output, "<output>_<metric>", with several outputs), with
 * "_1", "_2", ... appended when the name is taken.
 * Errors: BGM_E_INVALID (NULL m, bad kind or options), BGM_E_STATE (not compiled),
 * BGM_E_UNSUPPORTED (more values than a log holds), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_add_metric(bgm_model *m, bgm_metric_kind kind,
                                        const bgm_metric_options *opts);

/**
 * bgm_model_add_metric for output number output (from 0) only.
 * Errors: as bgm_model_add_metric; BGM_E_INVALID also for an output out of range.
 */
BGM_API bgm_status bgm_model_add_output_metric(bgm_model *m, int output, bgm_metric_kind kind,
                                               const bgm_metric_options *opts);

/**
 * Makes fn the loss of output number output (from 0) of the compiled m,
 * replacing its compiled loss (Keras' compile(loss=fn); compile with
 * BGM_LOSS_CUSTOM for the outputs that have one): fit, evaluate, the
 * *_on_batch functions and bgm_model_compute_loss then call fn on each
 * batch (see bgm_loss_fn); loss weights and L2 penalties apply as for the
 * built-in losses. name (copied, 1 to 63 characters; Keras names it after
 * the function) is saved in model files, which never hold code: a loaded
 * model whose output has a custom loss knows its name
 * (bgm_model_loss_name) and must get fn again through this call before it
 * trains or evaluates, which otherwise fail naming the loss. ctx is
 * borrowed and passed to fn. Compiling again drops the function.
 * Errors: BGM_E_INVALID (NULL m, fn or name, a bad name, output out of
 * range), BGM_E_STATE (not compiled, or fit is running on m).
 */
BGM_API bgm_status bgm_model_set_loss_fn(bgm_model *m, int output, const char *name,
                                         bgm_loss_fn fn, void *ctx);

/**
 * Name of the custom loss of output number output (as given to
 * bgm_model_set_loss_fn, or read from a model file), borrowed; NULL when
 * that output's loss is a built-in one, out of range or before compile.
 */
BGM_API const char *bgm_model_loss_name(const bgm_model *m, int output);

/**
 * Adds a custom metric function to the compiled m (Keras' compile(metrics=
 * [fn])): for output number output (from 0), or every output when output
 * is -1. fn has bgm_loss_fn's form: it records on tape the values of y_pred
 * (the output as the model returns it: logits stay logits) against y_true
 * (the targets as given) and returns one value per sample, (N) or (N, ...),
 * each sample's values averaged, or a 0-dimensional scalar, counted as one
 * sample. The metric reports the mean of those values over the samples of
 * the epoch (or evaluate's data), as Keras' MeanMetricWrapper; it is not
 * weighted by sample weights unless made weighted
 * (bgm_model_set_metric_weighted). It is named name (copied, 1 to 63
 * characters) in logs and histories, "<output>_<name>" with several
 * outputs, with "_1", "_2", ... when taken. Model files keep the name, not
 * the function: give it again with bgm_model_set_metric_fn after loading
 * (fit and evaluate fail naming it until then). ctx is borrowed.
 * Errors: BGM_E_INVALID (NULL m, fn or name, a bad name, output out of
 * range), BGM_E_STATE (not compiled, fit running), BGM_E_UNSUPPORTED (more
 * values than a log holds), BGM_E_NOMEM. During fit / evaluate, as a
 * custom loss's (bgm_loss_fn), naming the metric.
 */
BGM_API bgm_status bgm_model_add_metric_fn(bgm_model *m, int output, const char *name,
                                           bgm_loss_fn fn, void *ctx);

/**
 * Gives fn (and ctx) to every custom metric of m made with the function
 * name name, e.g. after bgm_model_load.
 * Errors: BGM_E_INVALID (NULL m, fn or name; no custom metric called name:
 * the message lists those m has).
 */
BGM_API bgm_status bgm_model_set_metric_fn(bgm_model *m, const char *name, bgm_loss_fn fn,
                                           void *ctx);

/**
 * The function name (as given to bgm_model_add_metric_fn) of value i of
 * evaluate (bgm_model_metric_name order) when it is a custom metric;
 * borrowed; NULL otherwise.
 */
BGM_API const char *bgm_model_metric_fn_name(const bgm_model *m, int i);

/**
 * Renames value i of evaluate (a metric, i past the losses) in logs and
 * histories (Keras' metric objects carry their name: "sparse_categorical_
 * accuracy"); model files keep the name. name is copied.
 * Errors: BGM_E_INVALID (NULL, i not a metric's index, an empty name, one
 * of 64 characters or more, or one another value has).
 */
BGM_API bgm_status bgm_model_set_metric_name(bgm_model *m, int i, const char *name);

/**
 * Makes value i of evaluate (a metric) one of Keras' weighted_metrics
 * (weighted = 1) or a plain metric (0): a weighted metric weighs each
 * sample's value (each step's for sequence outputs) by the batch's sample
 * weights (sample_weight, class_weight, a stream's weights; 1 each when
 * there are none) and reports sum(w * value) / sum(w), as Keras 3; plain
 * metrics ignore the weights. Accuracy, top-k accuracy, MSE, MAE and custom
 * metric functions can be weighted (a custom function must then return one
 * value per sample, or per sample and step as the weights). Model files
 * keep the flag.
 * Errors: BGM_E_INVALID (NULL m, i not a metric's index), BGM_E_STATE (fit
 * running), BGM_E_UNSUPPORTED (precision, recall, F1, AUC, R2).
 */
BGM_API bgm_status bgm_model_set_metric_weighted(bgm_model *m, int i, int weighted);

/** 1 when value i of evaluate is a weighted metric, else 0 (also for NULL or a bad i). */
BGM_API int bgm_model_metric_weighted(const bgm_model *m, int i);

/** The optimizer m was compiled with, borrowed (NULL before compile). */
BGM_API bgm_optimizer *bgm_model_optimizer(const bgm_model *m);

/**
 * Number of values evaluate returns: 1 (the loss) + one loss per output
 * when there are several + metrics. 0 before compile.
 */
BGM_API int bgm_model_num_metrics(const bgm_model *m);

/**
 * Name of value i of evaluate, as logs and histories call it: "loss" for 0,
 * then "<output>_loss" per output when there are several, then the
 * metrics' names. Borrowed; NULL when out of range or before compile.
 */
BGM_API const char *bgm_model_metric_name(const bgm_model *m, int i);

/**
 * Keras' name of output i of a compiled model ("cls"), which prefixes its
 * values' names. Borrowed; NULL when out of range or before compile.
 */
BGM_API const char *bgm_model_output_name(const bgm_model *m, int i);

/* ---- custom training loops (tf.GradientTape) ----------------------------- */

/**
 * Runs the model on x (N, input shape...) recording on tape, and watches the
 * trainable parameters on tape so bgm_tape_gradient() can differentiate with
 * respect to them. training != 0 runs Dropout and BatchNorm in training mode
 * (BatchNorm then updates its moving statistics, Dropout draws from the
 * model's generator). *out is owned by tape (valid until its reset or free).
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (x not float32, or not int32
 * for a model that starts with an Embedding layer), BGM_E_SHAPE (x's
 * sample shape differs from the model's input shape), BGM_E_STATE (no
 * layers), and a layer's error naming the layer.
 */
BGM_API bgm_status bgm_model_forward(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                     const bgm_tensor *x, int training);

/**
 * The compiled loss of y_pred against y_true, plus the kernel L2 penalties,
 * recorded on tape (Keras' model.compute_loss): a scalar owned by tape.
 * Errors: BGM_E_INVALID (NULL; a model of several outputs, which takes
 * bgm_model_compute_loss_multi), BGM_E_STATE (not compiled), BGM_E_DTYPE /
 * BGM_E_SHAPE (targets that do not fit the loss), BGM_E_RANGE (a class id
 * out of range).
 */
BGM_API bgm_status bgm_model_compute_loss(bgm_tensor **out, bgm_model *m, bgm_tape *tape,
                                          const bgm_tensor *y_true, const bgm_tensor *y_pred);

/**
 * bgm_model_compute_loss for a model of any number of outputs: y_true[j]
 * the targets and y_pred[j] the predictions of output j (e.g. from
 * bgm_model_forward_multi), ny = npred = the number of outputs. *out, owned
 * by tape, is the total fit minimizes: sum_j loss_weights[j] * loss_j plus
 * the L2 penalties. The tensors are borrowed for the call (the tape keeps
 * pointers to the predictions and float targets until its reset).
 * Errors: as bgm_model_compute_loss; BGM_E_INVALID also for counts that
 * differ from the model's or a NULL entry (named "y_true[1] (output 'cls')").
 */
BGM_API bgm_status bgm_model_compute_loss_multi(bgm_tensor **out, bgm_model *m,
                                                bgm_tape *tape,
                                                const bgm_tensor *const *y_true, int ny,
                                                const bgm_tensor *const *y_pred, int npred);

/**
 * bgm_model_compute_loss_multi with Keras' sample_weight (compute_loss(x, y,
 * y_pred, sample_weight)): float32 (N) or (N, T) weights of the batch, or
 * NULL; each output's loss is then sum(w * l) / (number of l), as fit
 * weighs a batch. sample_weight is borrowed until the tape's reset.
 * Errors: as bgm_model_compute_loss_multi; for the weights as
 * bgm_model_evaluate_weighted.
 */
BGM_API bgm_status bgm_model_compute_loss_weighted(bgm_tensor **out, bgm_model *m,
                                                   bgm_tape *tape,
                                                   const bgm_tensor *const *y_true, int ny,
                                                   const bgm_tensor *const *y_pred, int npred,
                                                   const bgm_tensor *sample_weight);

/* ---- training ------------------------------------------------------------- */

/**
 * Options of bgm_model_fit. Fill with bgm_fit_options_init(), then change
 * the fields you need. Later versions only append fields; size tells the
 * library which the caller knows.
 */
typedef struct bgm_fit_options {
    /** sizeof(bgm_fit_options), set by init. */
    size_t size;
    /** Index of the last epoch, as Keras' epochs (1). */
    int epochs;
    /** Samples per step (32). */
    int64_t batch_size;
    /** Reshuffle the training samples every epoch, from the model's generator (1). */
    int shuffle;
    /** Fraction in [0, 1) of the samples, taken from the end before any
     *  shuffling, held out for validation (0). */
    double validation_split;
    /** Validation features and targets, borrowed (NULL); they override
     *  validation_split. */
    const bgm_tensor *validation_x;
    const bgm_tensor *validation_y;
    /** Epoch to start from, for resuming (0). */
    int initial_epoch;
    /** 0 silent; 1 a progress bar, rewritten in place on a terminal and one
     *  line per epoch otherwise; 2 one line per epoch (1). */
    int verbose;
    /** Receives the progress text; NULL writes to stdout (NULL). */
    bgm_write_fn output;
    /** Passed to output (NULL). */
    void *output_ctx;
    /** num_callbacks callbacks, borrowed (NULL, 0). */
    bgm_callback *const *callbacks;
    int num_callbacks;
    /** When non-NULL and another thread stores a nonzero value there (with
     *  __atomic_store_n or a C11 atomic store), fit stops after the current
     *  batch and returns BGM_E_CANCELLED. Read atomically (NULL). */
    const int *cancel;
    /* Fields appended after the first version (size tells whether the
     * caller knows them). */
    /** Validation data of any model, one tensor per input and per output
     *  (the way to give it to a model of several inputs or outputs):
     *  num_validation_xs features and num_validation_ys targets tensors,
     *  borrowed (NULL, 0, NULL, 0). They override validation_split; set
     *  either these or validation_x / _y. */
    const bgm_tensor *const *validation_xs;
    int num_validation_xs;
    const bgm_tensor *const *validation_ys;
    int num_validation_ys;
    /** Keras' sample_weight: float32 (N) weights of the training samples
     *  (borrowed), or (N, T) per step for outputs (N, T, ...) (NULL). The
     *  loss of a batch is then sum_i w_i l_i / (number of values of l),
     *  Keras' "sum_over_batch_size"; metrics are not weighted (as Keras'
     *  metrics=) unless made weighted (bgm_model_set_metric_weighted).
     *  Every value finite. validation_split holds out the weights of the
     *  held-out samples with them. */
    const bgm_tensor *sample_weight;
    /** Keras' class_weight for a model of one output: class_weight[c] weighs
     *  the samples of class c (the target's class id, its argmax for
     *  one-hot rows, its rounded value for a one-column output);
     *  num_class_weights must be the number of classes (the output's
     *  columns, 2 for one column). Not with sample_weight. As in Keras, the
     *  samples validation_split holds out are not weighted (NULL, 0). */
    const float *class_weight;
    int num_class_weights;
    /** Sample weights of the explicit validation data (or of a validation
     *  dataset), as sample_weight (NULL). */
    const bgm_tensor *validation_sample_weight;
    /** Gradient accumulation (Keras 3's gradient_accumulation_steps): the
     *  gradients of this many consecutive batches are summed, each weighing
     *  its number of samples, and one optimizer step applies their mean, so
     *  k batches of b train as one batch of k * b (BatchNormalization aside,
     *  whose statistics stay those of each batch). The progress bar and
     *  callbacks still count batches; an epoch's last batches that do not
     *  make a whole group are applied as a smaller step at its end. With a
     *  communicator the ranks all-reduce once per group. At least 1 (1). */
    int gradient_accumulation_steps;
    /** With a communicator (bgm_model_set_comm): the size of a bucket of
     *  gradients, PyTorch DDP's bucket_cap_mb in bytes. The trained
     *  weights' gradients, from the last weight back, make buckets of at
     *  least this many bytes, and each bucket's all-reduce starts as soon as
     *  backward has finished its gradients, overlapping the rest of backward
     *  (docs/distributed.md). Every rank gives the same value. 0: 25 MiB
     *  (DDP's default); a model smaller than one bucket reduces everything
     *  at once after backward. At least 0 (0). */
    int64_t allreduce_bucket_bytes;
} bgm_fit_options;

/**
 * Fills opts with the defaults shown above; pass size = sizeof *opts.
 * Errors: BGM_E_INVALID (NULL, size smaller than the first version of the
 * struct), BGM_E_UNSUPPORTED (size larger than this library knows).
 */
BGM_API bgm_status bgm_fit_options_init(bgm_fit_options *opts, size_t size);

/**
 * Trains m on x (N, input shape...) float32 (int32 token ids for a model
 * that starts with an Embedding layer) and targets y (see
 * bgm_loss_kind) for epochs - initial_epoch epochs, printing Keras-style
 * progress unless verbose is 0:
 *     Epoch 3/10
 *     1875/1875 [==============================] - 9s 5ms/step - loss: 0.3011 - accuracy: 0.8897 - val_loss: 0.3290 - val_accuracy: 0.8810
 * Every step runs the layers in training mode on the model's tape (reset,
 * not freed, between steps), takes the gradients of the loss plus L2
 * penalties and applies the optimizer. *history (history may be NULL when
 * unwanted) receives a new bgm_history (free with bgm_history_free) with
 * each epoch's values. x, y and the options' tensors are borrowed for the
 * call. opts may be NULL for the defaults. A callback asking to stop ends
 * training early (see bgm_callback_fn) and fit returns BGM_OK.
 * Errors: BGM_E_INVALID (NULL m, x or y, bad options, a model of several
 * inputs or outputs: see bgm_model_fit_multi), BGM_E_STATE (not
 * compiled, or fit already running on m: a callback's), BGM_E_DTYPE (x of the wrong type for the model, y of the wrong
 * type for the loss: the message names both), BGM_E_SHAPE (x's sample shape differs from the
 * model's input, y does not fit the output, sample counts differ),
 * BGM_E_CANCELLED (the cancel flag was set), BGM_E_IO (a CSV logger could
 * not write), BGM_E_RANGE (a class id out of range), BGM_E_NOMEM; the
 * weights then hold the updates made so far. BGM_E_NONFINITE: a step's
 * loss or a gradient was NaN or infinite (always checked, before the
 * optimizer step); the message names the epoch and step (from 1) and the
 * loss or the first weight ("dense_1/kernel") whose gradient is not
 * finite; that step's update is not applied (weights, moving statistics
 * and optimizer state are those after the last finite step) and the model
 * can be trained again. With a non-finite loss the batch still ends for
 * the callbacks, and when one of them stops training
 * (bgm_callback_terminate_on_nan) fit ends normally with BGM_OK.
 */
BGM_API bgm_status bgm_model_fit(bgm_history **history, bgm_model *m, const bgm_tensor *x,
                                 const bgm_tensor *y, const bgm_fit_options *opts);

/**
 * bgm_model_fit for a model of any number of inputs and outputs (Keras'
 * fit with lists of arrays): xs[i] holds the samples of input i, ys[j] the
 * targets of output j (nx and ny the model's counts, every tensor with the
 * same number of samples), borrowed for the call. Batches and shuffles take
 * the same samples from every tensor (one permutation per epoch);
 * validation_split holds out the last samples of each. Explicit validation
 * data goes in opts->validation_xs / _ys. Progress lines and the history
 * name the values as bgm_model_metric_name does:
 *     loss: 0.61 - head_loss: 0.25 - cls_loss: 0.36 - cls_accuracy: 0.87 - val_loss: ...
 * Errors: as bgm_model_fit; BGM_E_INVALID also for NULL xs or ys, a NULL
 * entry, or counts that differ from the model's ("the model has 2 inputs
 * and 2 outputs, got 2 features and 1 targets tensor"); data errors name
 * the tensor as "xs[1]" or "ys[1] (output 'cls')".
 */
BGM_API bgm_status bgm_model_fit_multi(bgm_history **history, bgm_model *m,
                                       const bgm_tensor *const *xs, int nx,
                                       const bgm_tensor *const *ys, int ny,
                                       const bgm_fit_options *opts);

/**
 * bgm_model_fit on a dataset with targets: one features tensor per input
 * and one targets tensor per output (bgm_dataset_from_tensors_multi for a
 * model of several; a pair for the others). validation (may be NULL) is a
 * dataset used for validation; otherwise the options' validation data or
 * validation_split apply. Both datasets are borrowed for the call.
 * Errors: as bgm_model_fit_multi; BGM_E_INVALID also for a dataset without targets.
 */
BGM_API bgm_status bgm_model_fit_dataset(bgm_history **history, bgm_model *m,
                                         const bgm_dataset *train,
                                         const bgm_dataset *validation,
                                         const bgm_fit_options *opts);

/**
 * bgm_model_fit on batches made by a stream (data.h): the data need not fit
 * in memory. Epoch e takes steps_per_epoch batches (0: until the stream's
 * pass ends), continuing the stream's pass where epoch e - 1 stopped unless
 * that pass ended or has no batch left (then the stream is reset and a new
 * pass starts), as Keras' steps_per_epoch does with a generator. The
 * progress line counts steps_per_epoch, else the stream's
 * batches_per_epoch, else (unknown) the steps of the epoch once it ends.
 * Threads: the stream's callbacks run on its own thread (data.h) while
 * this call trains on the caller's. validation (may be NULL) is
 * another stream, validated on after every epoch for validation_steps
 * batches (0: a whole pass); otherwise the options' validation arrays
 * apply. The stream's batches and order are used as they come: opts'
 * shuffle is ignored, and batch_size only batches validation arrays.
 * Weights: a stream declaring sample_weight (data.h) weighs each of its
 * batches as opts.sample_weight weighs arrays (so opts.sample_weight is
 * refused here, and validation_sample_weight goes only with validation
 * arrays); opts.class_weight weighs the training stream's batches by
 * their targets' classes as on arrays (not with a weighted stream; the
 * validation data is not class-weighted, as Keras).
 * Both streams are borrowed for the call; their threads are joined
 * before it returns, whatever the outcome.
 * Errors: as bgm_model_fit_multi, data errors naming "x" / "y" as there;
 * a failing fill or reset callback ends fit with the callback's status and
 * "bgm_model_fit_stream: the stream failed: <its message>" (the model keeps
 * the steps made so far and stays ready for the next call); BGM_E_INVALID
 * also for a NULL train, tensor counts that differ from the model's inputs
 * and outputs, validation_split > 0, the same stream twice, negative steps,
 * an epoch without batches, opts.sample_weight, class_weight with a
 * weighted stream; weights errors as bgm_model_fit's, naming
 * "sample_weight" (or "validation_sample_weight" for the validation
 * stream); BGM_E_STATE for a stream in use by another call.
 */
BGM_API bgm_status bgm_model_fit_stream(bgm_history **history, bgm_model *m, bgm_stream *train,
                                        int64_t steps_per_epoch, bgm_stream *validation,
                                        int64_t validation_steps,
                                        const bgm_fit_options *opts);

/**
 * Loss and metrics of m on x, y in inference mode, in batches of batch_size
 * (0 means 32): results[0] = loss (with L2 penalties), then the metrics in
 * bgm_model_metric_name order; the first min(n, bgm_model_num_metrics(m))
 * values are written. Reentrant: reads m only.
 * Errors: BGM_E_INVALID (NULL, n < 1, batch_size < 0, a model of several
 * inputs or outputs: see bgm_model_evaluate_multi), BGM_E_STATE (not
 * compiled), and the data errors of bgm_model_fit.
 */
BGM_API bgm_status bgm_model_evaluate(double *results, int n, const bgm_model *m,
                                      const bgm_tensor *x, const bgm_tensor *y,
                                      int64_t batch_size);

/**
 * bgm_model_evaluate on a dataset with targets: one features tensor per
 * input and one targets tensor per output (bgm_dataset_from_tensors_multi).
 */
BGM_API bgm_status bgm_model_evaluate_dataset(double *results, int n, const bgm_model *m,
                                              const bgm_dataset *ds, int64_t batch_size);

/**
 * bgm_model_evaluate for a model of any number of inputs and outputs:
 * xs[i] holds the samples of input i, ys[j] the targets of output j (nx
 * and ny the model's counts, every tensor with the same number of
 * samples). results as bgm_model_evaluate: the total loss, the losses of
 * the outputs when there are several, then the metrics, in
 * bgm_model_metric_name order. Reentrant: reads m only.
 * Errors: as bgm_model_evaluate; BGM_E_INVALID also for NULL xs or ys, a
 * NULL entry, or counts that differ from the model's; messages name the
 * tensor as "xs[1]" or "ys[1] (output 'cls')".
 */
BGM_API bgm_status bgm_model_evaluate_multi(double *results, int n, const bgm_model *m,
                                            const bgm_tensor *const *xs, int nx,
                                            const bgm_tensor *const *ys, int ny,
                                            int64_t batch_size);

/**
 * bgm_model_evaluate_multi with Keras' sample_weight: sample_weight
 * (borrowed, may be NULL) as bgm_fit_options.sample_weight, for xs' samples.
 * The loss of each batch is sum_i w_i l_i / (values of l); the losses
 * reported are the batch losses averaged over samples; metrics unweighted.
 * Errors: as bgm_model_evaluate_multi; BGM_E_DTYPE / BGM_E_SHAPE for
 * weights that are not float32 (N) or (N, T), BGM_E_INVALID for a value
 * that is not finite (naming its index), or a custom loss that returns a
 * scalar with weights.
 */
BGM_API bgm_status bgm_model_evaluate_weighted(double *results, int n, const bgm_model *m,
                                               const bgm_tensor *const *xs, int nx,
                                               const bgm_tensor *const *ys, int ny,
                                               const bgm_tensor *sample_weight,
                                               int64_t batch_size);

/**
 * Keras' train_on_batch: one training step of m on the batch x, y (all
 * of it, in order; no shuffling), exactly the step fit takes on a batch:
 * forward in training mode, loss + L2 penalties, gradients, one optimizer
 * step. results (may be NULL when n is 0) receives the first
 * min(n, bgm_model_num_metrics(m)) values of this batch, in
 * bgm_model_metric_name order (metrics over this batch only, as Keras'
 * reset_metrics=True). Does not count an epoch. x and y are borrowed for
 * the call.
 * Errors: BGM_E_INVALID (NULL m, x or y; n < 0; NULL results with n > 0),
 * BGM_E_STATE (not compiled), and the data errors of bgm_model_fit; the
 * weights are unchanged unless the error came from the step itself.
 * BGM_E_NONFINITE as in bgm_model_fit (no epoch or step in the message):
 * the weights are left as before the call. With a communicator
 * (bgm_model_set_comm) a collective, data-parallel step: each rank its own
 * batch, the gradients and results those of all the ranks' rows, and a
 * rank whose call fails fails every rank (docs/distributed.md); called
 * from a fit callback then: BGM_E_STATE.
 */
BGM_API bgm_status bgm_model_train_on_batch(double *results, int n, bgm_model *m,
                                            const bgm_tensor *x, const bgm_tensor *y);

/**
 * bgm_model_train_on_batch for a model of any number of inputs and outputs
 * (arrays as bgm_model_evaluate_multi).
 */
BGM_API bgm_status bgm_model_train_on_batch_multi(double *results, int n, bgm_model *m,
                                                  const bgm_tensor *const *xs, int nx,
                                                  const bgm_tensor *const *ys, int ny);

/**
 * Keras' test_on_batch: the values of bgm_model_evaluate on the batch x, y
 * taken as one batch, in inference mode, into results as
 * bgm_model_train_on_batch. Reentrant: reads m only.
 * Errors: as bgm_model_train_on_batch.
 */
BGM_API bgm_status bgm_model_test_on_batch(double *results, int n, const bgm_model *m,
                                           const bgm_tensor *x, const bgm_tensor *y);

/** bgm_model_test_on_batch for a model of any number of inputs and outputs. */
BGM_API bgm_status bgm_model_test_on_batch_multi(double *results, int n, const bgm_model *m,
                                                 const bgm_tensor *const *xs, int nx,
                                                 const bgm_tensor *const *ys, int ny);

/**
 * bgm_model_train_on_batch_multi with Keras' sample_weight and class_weight
 * (either or neither; both may be NULL), as in bgm_fit_options.
 * Errors: as bgm_model_train_on_batch_multi and bgm_model_evaluate_weighted;
 * BGM_E_INVALID also for both weights at once, class weights on a model of
 * several outputs, a count that is not the number of classes, or a target
 * class outside them.
 */
BGM_API bgm_status bgm_model_train_on_batch_weighted(double *results, int n, bgm_model *m,
                                                     const bgm_tensor *const *xs, int nx,
                                                     const bgm_tensor *const *ys, int ny,
                                                     const bgm_tensor *sample_weight,
                                                     const float *class_weight,
                                                     int num_class_weights);

/** bgm_model_test_on_batch_multi with Keras' sample_weight (may be NULL). */
BGM_API bgm_status bgm_model_test_on_batch_weighted(double *results, int n,
                                                    const bgm_model *m,
                                                    const bgm_tensor *const *xs, int nx,
                                                    const bgm_tensor *const *ys, int ny,
                                                    const bgm_tensor *sample_weight);

/**
 * Keras' predict_on_batch: the outputs for the batch xs[0..nx) (one tensor
 * per input) run as one batch in inference mode, into outs[0..nout) (new
 * tensors the caller frees): bgm_model_predict_multi with the batch size set
 * to the number of samples. Reentrant.
 * Errors: as bgm_model_predict_multi.
 */
BGM_API bgm_status bgm_model_predict_on_batch(bgm_tensor **outs, int nout, const bgm_model *m,
                                              const bgm_tensor *const *xs, int nx);

/**
 * Outputs of m for x (N, input shape...) in inference mode, in batches of
 * batch_size (0 means 32): *out is a new tensor (N, output shape...) the
 * caller frees. Reentrant: each call takes a workspace of its own (kept by
 * the model for later calls, see Memory above), so threads may predict with
 * one model at once.
 * Errors: BGM_E_INVALID (NULL, batch_size < 0), BGM_E_STATE (no layers),
 * BGM_E_DTYPE, BGM_E_SHAPE (x's sample shape differs from the input shape),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_predict(bgm_tensor **out, const bgm_model *m,
                                     const bgm_tensor *x, int64_t batch_size);

/**
 * Loss and metrics of m (compiled) on the batches of one pass of st (at
 * most steps batches; 0: the whole pass), as bgm_model_evaluate: results
 * receives the first min(n, bgm_model_num_metrics(m)) values, sample-weighted
 * means over the batches. st gives a features tensor per input and a
 * targets tensor per output, and its batches' sample weights weigh each
 * batch's loss when it declares them; it is borrowed and its thread joined before
 * the call returns. Errors: as bgm_model_evaluate_multi; a failing callback
 * gives its status and message; BGM_E_INVALID also for counts that differ
 * from the model's, negative steps, a pass without batches; BGM_E_STATE
 * for a stream in use.
 */
BGM_API bgm_status bgm_model_evaluate_stream(double *results, int n, const bgm_model *m,
                                             bgm_stream *st, int64_t steps);

/**
 * Predictions of m on the features of one pass of st (at most steps
 * batches; 0: the whole pass; the stream's targets, if any, are not used):
 * outs[0..nout) (nout = the model's outputs) receive new float32 tensors of
 * (samples seen, output shape...), caller-owned. Only the predictions are
 * held in memory, not the features. Errors: as bgm_model_predict_multi;
 * a failing callback gives its status and message; BGM_E_INVALID also for
 * a features count that differs from the model's inputs, negative steps, a
 * pass without batches; BGM_E_STATE for a stream in use. On error every
 * outs[j] is NULL.
 */
BGM_API bgm_status bgm_model_predict_stream(bgm_tensor **outs, int nout, const bgm_model *m,
                                            bgm_stream *st, int64_t steps);

/* ---- history ----------------------------------------------------------- */

/** Number of epochs recorded (0 for NULL). */
BGM_API int bgm_history_num_epochs(const bgm_history *h);

/** Index of the i-th recorded epoch (initial_epoch + i); -1 when out of range. */
BGM_API int bgm_history_epoch(const bgm_history *h, int i);

/** Number of keys ("loss", "accuracy", "val_loss", ..., "learning_rate"); 0 for NULL. */
BGM_API int bgm_history_num_keys(const bgm_history *h);

/** Key i, borrowed; NULL when out of range. */
BGM_API const char *bgm_history_key(const bgm_history *h, int i);

/**
 * The bgm_history_num_epochs values of key, borrowed (valid while h lives),
 * or NULL when h has no such key.
 */
BGM_API const double *bgm_history_values(const bgm_history *h, const char *key);

/** Frees a history. NULL is a no-op. */
BGM_API void bgm_history_free(bgm_history *h);

/* ---- callbacks ---------------------------------------------------------
 * Callbacks are handed to fit through bgm_fit_options.callbacks (borrowed).
 * A callback may serve several fits in turn; its state restarts with each.
 * Each constructor writes a new callback to *out, freed with
 * bgm_callback_free(). On error *out is NULL.
 */

/** When a user callback runs. Values are part of the ABI. */
typedef enum bgm_callback_event {
    BGM_EVENT_TRAIN_BEGIN = 1,
    BGM_EVENT_EPOCH_BEGIN = 2,
    BGM_EVENT_BATCH_END = 3,  /**< logs hold the running means of this epoch */
    BGM_EVENT_EPOCH_END = 4,  /**< logs hold the epoch's values, validation included */
    BGM_EVENT_TRAIN_END = 5
} bgm_callback_event;

/**
 * A user callback. epoch is the epoch index, batch the batch index within it
 * (-1 outside BATCH_END); logs is borrowed for the call (NULL at TRAIN_BEGIN,
 * EPOCH_BEGIN and TRAIN_END). m may be read, its optimizer's rate
 * changed, and its layers' trainable flags set (they take effect at the next
 * compile); compiling or fitting m from a callback fails with BGM_E_STATE.
 * Return 0 to continue, nonzero to stop training (Keras' model.stop_training): at BATCH_END the epoch ends after this batch and is
 * closed as usual (validation, EPOCH_END, history); at other events training
 * ends after the current epoch. fit then returns BGM_OK.
 */
typedef int (*bgm_callback_fn)(void *ctx, bgm_model *m, bgm_callback_event event,
                               int epoch, int64_t batch, const bgm_logs *logs);

/**
 * Keras' EarlyStopping: stops when monitor ("val_loss", "accuracy", ...)
 * has not improved by more than min_delta for patience epochs. Improvement
 * means lower values, except for names holding "acc", "auc", "precision",
 * "recall", "f1" or "r2", where it means higher. With restore_best_weights
 * the weights of the best epoch are put back when it stops. monitor is copied.
 * Errors: BGM_E_INVALID (NULL out or monitor, patience < 0, min_delta < 0 or
 * not finite), BGM_E_NOMEM. During fit, a monitor missing from the logs
 * fails with BGM_E_INVALID listing the available names.
 */
BGM_API bgm_status bgm_callback_early_stopping(bgm_callback **out, const char *monitor,
                                               int patience, float min_delta,
                                               int restore_best_weights);

/** Learning rate of an epoch from the epoch index and the current rate. */
typedef float (*bgm_epoch_lr_fn)(int epoch, float lr, void *ctx);

/**
 * Keras' LearningRateScheduler: at the start of every epoch sets the
 * optimizer's rate to schedule(epoch, current rate, ctx), and records it as
 * "learning_rate" in the logs (Keras 3's name). ctx is borrowed.
 * Errors: BGM_E_INVALID (NULL out or schedule), BGM_E_NOMEM. During fit, a
 * negative or non-finite rate fails with BGM_E_INVALID.
 */
BGM_API bgm_status bgm_callback_lr_scheduler(bgm_callback **out, bgm_epoch_lr_fn schedule,
                                             void *ctx);

/**
 * Keras' CSVLogger: writes one row per epoch to path: a header
 * "epoch,<keys in sorted order>" then the epoch index and values (shortest
 * text that reads back to the same double). append != 0 adds to an existing
 * file (header only when it is empty). path is copied.
 * Errors: BGM_E_INVALID (NULL), BGM_E_NOMEM. During fit: BGM_E_IO naming the
 * file when it cannot be opened or written.
 */
BGM_API bgm_status bgm_callback_csv_logger(bgm_callback **out, const char *path, int append);

/** A callback calling fn(ctx, ...) at every event (Keras' LambdaCallback). ctx is borrowed. */
BGM_API bgm_status bgm_callback_lambda(bgm_callback **out, bgm_callback_fn fn, void *ctx);

/**
 * Keras' ModelCheckpoint: saves m during fit, at every epoch end
 * (save_freq 0, Keras' "epoch") or every save_freq batches, to filepath
 * with its fields filled in as Python's str.format would: "{epoch:02d}"
 * (the 1-based epoch, as Keras names files), "{batch}" (1-based, when
 * saving on batches), and any log name ("{val_loss:.2f}", "{accuracy}").
 * Format specs: [[fill]align][sign][0][width][.precision][type] with type
 * d, f, e, E, g, G, % or none (a float without spec is written as Python's
 * repr). save_weights_only writes the weights only (bgm_model_save_weights:
 * the library's weights file, or safetensors for a path ending in
 * ".safetensors"), else the whole model file (bgm_model_save). With save_best_only it saves only when monitor improved
 * on the best value so far (initial_value_threshold, or none when NaN;
 * unlike the other callbacks it carries over to the next fit, as in Keras):
 * lower is better with mode "min", higher with "max", and with "auto" (or
 * NULL) higher for accuracy-like names as bgm_callback_early_stopping. A
 * monitor missing from the logs is logged as a warning (bgm_model_set_log)
 * and the model is saved, as Keras does. Missing parent folders are
 * created. verbose 1 writes Keras' "Epoch 3: val_loss improved from ..."
 * lines to fit's output. filepath, monitor and mode are copied.
 * Errors: BGM_E_INVALID (NULL out, filepath or monitor; a malformed field
 * or an unsupported format spec in filepath, naming it; mode not "auto",
 * "min" or "max"; verbose not 0 or 1; save_freq < 0), BGM_E_NOMEM. During fit:
 * BGM_E_INVALID (a field naming no log value: the message lists them; a
 * spec that does not fit the value, as "{loss:d}"), BGM_E_IO (a folder that
 * cannot be created or a file that cannot be written, naming the path).
 */
BGM_API bgm_status bgm_callback_model_checkpoint(bgm_callback **out, const char *filepath,
                                                 const char *monitor, int verbose,
                                                 int save_best_only, int save_weights_only,
                                                 const char *mode, int64_t save_freq,
                                                 double initial_value_threshold);

/**
 * Keras' ReduceLROnPlateau: at each epoch end, records the optimizer's rate
 * as "learning_rate" in the logs (so the history shows it, before any
 * change at that epoch), then, when monitor has not improved by more than
 * min_delta for patience epochs (outside the cooldown epochs after a
 * reduction), multiplies the rate by factor, never below min_lr (in double
 * precision, then stored as the optimizer's float, as Keras). Improvement
 * follows mode as in bgm_callback_model_checkpoint. A monitor missing from
 * the logs is logged as a warning (bgm_model_set_log) and nothing changes,
 * as Keras does. verbose 1 writes "Epoch 5: ReduceLROnPlateau reducing
 * learning rate to 0.001." to fit's output. monitor and mode are copied.
 * Errors: BGM_E_INVALID (NULL out or monitor; factor not in [0, 1);
 * patience, cooldown < 0; min_delta, min_lr < 0 or not finite; mode unknown;
 * verbose not 0 or 1), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_callback_reduce_lr_on_plateau(bgm_callback **out, const char *monitor,
                                                     double factor, int patience, int verbose,
                                                     const char *mode, double min_delta,
                                                     int cooldown, double min_lr);

/**
 * Keras' BackupAndRestore (save_freq "epoch"): at every epoch end saves m
 * (bgm_model_save: weights, optimizer state, generator, epochs completed)
 * to "<backup_dir>/latest.bgm", creating the folder when missing. When fit
 * begins and that file exists, m takes its weights, optimizer state and
 * rate, generator and epochs completed, and fit starts at the epoch after
 * the backup's instead of initial_epoch: a fit that was killed or failed
 * resumes where it stopped and ends with the weights an uninterrupted fit
 * gives, bit for bit (same data, options and thread count). When fit ends
 * without error, delete_checkpoint != 0 removes the file and the folder
 * (when it is then empty). backup_dir is copied.
 * Errors: BGM_E_INVALID (NULL out or backup_dir, an empty backup_dir),
 * BGM_E_NOMEM. During fit: the errors of bgm_model_load on the backup,
 * BGM_E_INVALID (a backup of another architecture or optimizer, naming the
 * file), BGM_E_IO (the folder or file cannot be written, naming it).
 */
BGM_API bgm_status bgm_callback_backup_and_restore(bgm_callback **out, const char *backup_dir,
                                                   int delete_checkpoint);

/**
 * Keras' TerminateOnNaN: at the end of a batch whose running "loss" is NaN
 * or infinite, writes "Batch <b>: Invalid loss, terminating training" (b
 * counted from 0 in the epoch) to fit's output and stops training: the
 * epoch is closed as usual (its logs hold the non-finite loss) and fit
 * returns BGM_OK. That batch's update is not applied (see BGM_E_NONFINITE
 * at bgm_model_fit: without a callback that stops, fit returns that error).
 * raise_error = 1 (Keras' raise_error=True) fails fit there instead, with
 * BGM_E_NONFINITE and "TerminateOnNaN: NaN or Inf loss encountered at batch
 * <b> of epoch <e> ...", printing nothing.
 * Errors: BGM_E_INVALID (NULL out, raise_error not 0 or 1), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_callback_terminate_on_nan(bgm_callback **out, int raise_error);

/** Epoch index at which early stopping stopped training in the last fit; -1 if it did not. */
BGM_API int bgm_callback_stopped_epoch(const bgm_callback *cb);

/** Frees a callback. NULL is a no-op. */
BGM_API void bgm_callback_free(bgm_callback *cb);

/* ---- logs --------------------------------------------------------------- */

/** Number of named values (0 for NULL). */
BGM_API int bgm_logs_count(const bgm_logs *logs);

/** Name of value i, borrowed for the callback; NULL when out of range. */
BGM_API const char *bgm_logs_name(const bgm_logs *logs, int i);

/** Value i (NaN when out of range). */
BGM_API double bgm_logs_value(const bgm_logs *logs, int i);

/**
 * The value called name in *value. Errors: BGM_E_INVALID (NULL; no such
 * name: the message lists the names present).
 */
BGM_API bgm_status bgm_logs_get(double *value, const bgm_logs *logs, const char *name);

/* ---- log -----------------------------------------------------------------
 * The library never prints on its own: warnings about likely mistakes (the
 * ones Keras warns about: from_logits = 1 after a softmax or sigmoid output,
 * a softmax over one unit, categorical cross-entropy on one unit, a
 * callback's monitor missing from the logs) go to the model's log function,
 * which is unset (silent) by default. docs/keras.md lists every warning.
 */

/** How serious a log message is. Values are part of the ABI. */
typedef enum bgm_log_level {
    BGM_LOG_WARNING = 1   /**< a likely mistake (Keras' UserWarning) */
} bgm_log_level;

/** Receives one log message (borrowed for the call, one line, no newline). */
typedef void (*bgm_log_fn)(void *ctx, bgm_log_level level, const char *message);

/**
 * Sets m's log function (NULL: silent, the default); ctx is borrowed and
 * passed back. It is called from compile and from fit (its callbacks), on
 * the calling thread; it must not call back into m. Not saved in model
 * files. Errors: BGM_E_INVALID (NULL m).
 */
BGM_API bgm_status bgm_model_set_log(bgm_model *m, bgm_log_fn fn, void *ctx);

/* ---- model files ---------------------------------------------------------
 * A model file (.bgm, the archive format of io.h; docs/file-format.md lists
 * its keys and tensors) holds everything needed to predict with a model or
 * to resume its training bit for bit: the input shape and seed, every
 * layer's kind and configuration, the weights (BatchNorm's moving
 * statistics included), the compile state (loss, metrics, the optimizer's
 * hyperparameters, schedule, slots and step count), the model's generator
 * (which draws fit's shuffles and the dropout masks) and the number of
 * epochs completed. Callbacks, histories and the thread count are not part
 * of a model. Resuming:
 *
 *     bgm_model *m = NULL;
 *     bgm_status s = bgm_model_load(&m, "ckpt.bgm");    // a new process
 *     fo.initial_epoch = bgm_model_epochs_completed(m);  // e.g. 2
 *     fo.epochs = 4;
 *     if (s == BGM_OK) s = bgm_model_fit(&h, m, x, y, &fo);
 *
 * gives the weights an uninterrupted 4-epoch fit gives, bit for bit, with
 * the same data and thread count.
 */

/**
 * Writes m to path as a model file, atomically: the file is written beside
 * path under a temporary name, synced and renamed over it, so a crash
 * leaves either the previous file or the complete new one. flags is 0 or
 * BGM_ARCHIVE_COMPRESS (deflate the tensor data). m is only read: other
 * threads may predict with it meanwhile.
 * Errors: BGM_E_INVALID (NULL m or path, unknown flag bits),
 * BGM_E_UNSUPPORTED (a layer kind model files do not know, naming the
 * layer; an optimizer schedule made by bgm_lr_schedule_callback, which a
 * file cannot hold), BGM_E_IO (naming the path and the reason; the previous
 * file is then untouched), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_save(const bgm_model *m, const char *path, unsigned flags);

/**
 * New model from the model file at path, freed with bgm_model_free(): built,
 * with its weights, and compiled with its optimizer state when it was
 * compiled, ready to predict, evaluate or continue fit. The generator and
 * bgm_model_epochs_completed() are as they were at saving.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (cannot open or read the file),
 * BGM_E_FORMAT (not a .bgm file, truncated, a CRC mismatch, absurd sizes, not
 * a model, or an inconsistent model: a missing or unknown key, a value out
 * of range, an unknown layer kind, a missing weight, a weight whose shape
 * does not match its layer's configuration; the message names the file and
 * the layer or key), BGM_E_UNSUPPORTED (a newer container or model format
 * version), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_load(bgm_model **out, const char *path);

/**
 * bgm_model_load from size bytes at data (borrowed for the call; messages
 * call it "<memory>"), e.g. a model embedded in a program.
 * Errors: as bgm_model_load; BGM_E_INVALID also for NULL data with size > 0.
 */
BGM_API bgm_status bgm_model_load_memory(bgm_model **out, const void *data, size_t size);

/**
 * Number of epochs m's fits have completed (0 for a new model or NULL): the
 * index of the next epoch, to pass as initial_epoch when resuming a loaded
 * model. Each epoch fit completes sets it to that epoch's index + 1 (before
 * the EPOCH_END callbacks, so a model a callback saves there resumes after
 * the epoch).
 */
BGM_API int bgm_model_epochs_completed(const bgm_model *m);

/**
 * Writes m's weights (no architecture, no optimizer) to path in the
 * safetensors format, atomically. A graph model's weights keep their names
 * and layouts ("conv2d_1/kernel", (KH, KW, C, F)). A Sequential model's
 * take the names and layouts of the equivalent torch.nn.Sequential's
 * state_dict, so PyTorch loads them as they are: "0.weight", "0.bias",
 * "3.running_mean", ... Conv2D kernels become (F, C, KH, KW), Dense kernels
 * (out, in), with the input features of a Dense after a Flatten of images
 * reordered from our (H, W, C) order to PyTorch's (C, H, W).
 * docs/file-format.md gives the whole mapping (which torch module each
 * layer becomes, LSTM / GRU gate order included).
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (naming the path; the previous
 * file is untouched), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_save_weights_safetensors(const bgm_model *m, const char *path);

/**
 * Reads weights written by bgm_model_save_weights_safetensors into m: a
 * graph model's by their names, a Sequential model's from the names and
 * layouts of the equivalent PyTorch model (also when saved by PyTorch:
 * torch's state_dict through safetensors.torch.save_file), converting the
 * layouts back. Every weight of m must be present with the expected shape;
 * tensors that belong to no weight fail (BatchNorm's num_batches_tracked is
 * accepted and ignored). On error m is unchanged.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO, BGM_E_FORMAT (not safetensors, a
 * missing or unexpected tensor, naming it), BGM_E_SHAPE / BGM_E_DTYPE (a
 * tensor of another shape or type than its weight needs, naming both),
 * BGM_E_UNSUPPORTED (a dtype other than F32, I32 or I64), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_load_weights_safetensors(bgm_model *m, const char *path);

/* ---- configs, JSON, clones and weights files (Keras' get_config /
 * from_config, to_json / model_from_json, clone_model, save_weights /
 * load_weights) ---- */

/**
 * A new layer from its Keras config, the JSON bgm_layer_config_string
 * writes: {"class_name": "Dense", "config": {"units": 10, ...}}. Keys left
 * out keep Keras' defaults; "name", "trainable" and "dtype" ("float32")
 * are read, "kernel_regularizer" is null or Keras' L2 object, initializers
 * are names ("glorot_uniform") or Keras' objects ({"class_name":
 * "GlorotUniform", ...}), keys Keras writes with null (bias_regularizer,
 * constraints, ...) are accepted and ignored, and Keras options the library
 * has no field for are accepted at the one value it implements
 * ("data_format": "channels_last", GRU's "reset_after": true, ...). The
 * layer is checked as its constructor checks it. The caller owns *out
 * (bgm_layer_free).
 * Errors: BGM_E_INVALID (NULL, malformed JSON naming the byte offset, an
 * unknown class_name, an option the kind does not have, a value of the
 * wrong type naming its offset, or out of range naming the value),
 * BGM_E_UNSUPPORTED (a Keras option at a value the library does not
 * implement, naming it and its offset), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_from_config(bgm_layer **out, const char *json);

/**
 * m's architecture as Keras' model config JSON (model.to_json()):
 * {"class_name": "Sequential" | "Functional", "config": {"name", "layers":
 * [...], ...}}. A Sequential model lists an InputLayer and its layers'
 * configs (and build_input_shape); a functional one lists InputLayers and
 * layers, each with "name" and "inbound_nodes" (one {"args": [...],
 * "kwargs": {}} per call, tensors as Keras 3's __keras_tensor__ with
 * keras_history [layer, call, output]), then "input_layers" and
 * "output_layers". snprintf-style: writes at most size bytes (always
 * NUL-terminated when size > 0) and sets *needed (may be NULL) to the size
 * the whole text needs. Weights and compile state are not part of it.
 * Errors: BGM_E_INVALID (m NULL, buf NULL with size > 0).
 */
BGM_API bgm_status bgm_model_to_json(char *buf, size_t size, size_t *needed,
                                     const bgm_model *m);

/**
 * A new model, with fresh weights drawn from seed, of the architecture in
 * json: what bgm_model_to_json writes, or a Keras 3 (or Keras 2) model
 * config of the layers this library has. A Sequential config needs an
 * InputLayer first or "build_input_shape"; a functional one names every
 * layer and its inbound nodes. The caller owns *out (bgm_model_free).
 * Errors: BGM_E_INVALID (NULL, malformed JSON naming the offset, an unknown
 * class_name, a bad layer config naming the layer, a keras_history naming
 * an unknown layer or call), BGM_E_FORMAT (layers that cannot be built on
 * their inputs, naming the layer and the shapes, as for a model file),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_from_json(bgm_model **out, const char *json, uint64_t seed);

/**
 * A new model of m's architecture (the same layers, names, configs and
 * graph) with fresh weights drawn from seed, uncompiled (Keras'
 * clone_model). The caller owns *out (bgm_model_free).
 * Errors: BGM_E_INVALID (NULL), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_clone(bgm_model **out, const bgm_model *m, uint64_t seed);

/**
 * Writes m's weights alone to path, atomically: a .bgm archive holding
 * every weight under its name, in the model's order ("weights.format" =
 * "bigmodel-weights"); a path ending in ".safetensors" writes
 * bgm_model_save_weights_safetensors' file instead.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (naming the path), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_save_weights(const bgm_model *m, const char *path);

/**
 * Reads weights written by bgm_model_save_weights (or the weights of a
 * model file) into m, matched by position and shape as Keras does, so a
 * clone or a model rebuilt from its JSON reads them whatever its layer
 * names; ".safetensors" paths read with bgm_model_load_weights_safetensors.
 * On error m is unchanged.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO, BGM_E_FORMAT (not a weights or
 * model file), BGM_E_SHAPE (weights of another architecture: names the
 * first weight that does not match, with both shapes, or the first one
 * missing or extra), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_load_weights(bgm_model *m, const char *path);

#ifdef __cplusplus
}
#endif

#include "graph.h"

#endif /* BIGMODEL_MODEL_H */
