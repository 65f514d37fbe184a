/*
 * bigmodel/graph.h — models as graphs of layer calls (Keras' functional
 * API): input nodes, layers called on nodes, shared layers, several inputs
 * and outputs, and the layers that merge or reshape values.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * A residual block reads like its Keras original:
 *
 *     bgm_graph *g = NULL;
 *     bgm_node *in, *h, *y, *out;
 *     bgm_model *m = NULL;
 *     bgm_status s = bgm_graph_create(&g);
 *     if (s == BGM_OK) s = bgm_graph_input(&in, g, (int64_t[]){28, 28, 16}, 3,
 *                                          BGM_FLOAT32, "image");
 *     bgm_layer *conv = bgm_layer_conv2d(16, 3, BGM_ACT_RELU);
 *     bgm_layer_set_padding(conv, BGM_PADDING_SAME);
 *     if (s == BGM_OK) s = bgm_layer_call(&h, conv, &in, 1);
 *     if (s == BGM_OK) s = bgm_layer_call(&y, bgm_layer_add(), (bgm_node *[]){h, in}, 2);
 *     if (s == BGM_OK) s = bgm_layer_call(&out, bgm_layer_activation(BGM_ACT_RELU), &y, 1);
 *     if (s == BGM_OK) s = bgm_model_create_graph(&m, &in, 1, &out, 1, 42);
 *     bgm_graph_free(g);     // m keeps what it needs
 *
 * Ownership: a graph owns its input nodes, every layer called on its nodes
 * and the nodes those calls return; node pointers are borrowed from it. A
 * model built from a graph holds a reference to it, so bgm_graph_free may
 * come before or after the models' bgm_model_free: the graph goes when the
 * last of them lets go. A layer is part of at most one model at a time.
 *
 * Shapes: a node's shape is one sample's (no batch dimension). Each call
 * infers its output shape right away, and a layer that cannot take its
 * inputs fails there, naming the layer, its inputs and their shapes.
 *
 * Training (model.h): bgm_model_compile gives every output one loss;
 * bgm_model_compile_v2 a loss, weight and metrics per output. fit,
 * evaluate, train_on_batch and test_on_batch take one tensor per input and
 * per output (the *_multi functions, or bgm_model_fit_dataset on a dataset
 * of bgm_dataset_from_tensors_multi); a custom loop pairs
 * bgm_model_forward_multi with bgm_model_compute_loss_multi. Values are
 * named as Keras names them: "loss", "head_loss", "cls_accuracy", ...
 */
#ifndef BIGMODEL_GRAPH_H
#define BIGMODEL_GRAPH_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- graphs and nodes ---------------------------------------------------- */

/** New empty graph, freed with bgm_graph_free(). Errors: BGM_E_INVALID (NULL out), BGM_E_NOMEM. */
BGM_API bgm_status bgm_graph_create(bgm_graph **out);

/**
 * Lets go of the caller's hold on g: its nodes and layers are freed now, or
 * with the last model built from g. Node pointers of g must not be used
 * after this. NULL is a no-op.
 */
BGM_API void bgm_graph_free(bgm_graph *g);

/**
 * New input node of g (Keras' Input): samples of shape shape[0..ndim)
 * (ndim from 1 to BGM_MAX_DIMS - 1 entries, each >= 1), of dtype
 * BGM_FLOAT32 or BGM_INT32 (token ids, for an Embedding layer). name (may
 * be NULL: "input_1", "input_2", ...) follows the rule of
 * bgm_layer_set_name and is unique in g; it is copied. *out is borrowed from g.
 * Errors: BGM_E_INVALID (NULL out, g or shape, bad ndim, dimension, dtype
 * or name, a name g has already), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_graph_input(bgm_node **out, bgm_graph *g, const int64_t *shape,
                                   int ndim, bgm_dtype dtype, const char *name);

/**
 * Calls layer on inputs[0..n) (nodes of one graph), *out receiving the new
 * output node (borrowed from the graph). The first call builds the layer
 * for its inputs' shapes (weights are made when a model includes it) and
 * hands the layer to the graph, which owns it from then on, also when the
 * call fails (the layer is then freed, as bgm_model_add does). Calling the
 * layer again makes another node that shares its weights (a Siamese pair:
 * gradients from every call add up); the new inputs must fit the weights.
 * A NULL layer fails keeping the message of the constructor that failed,
 * with BGM_E_NOMEM when that constructor ran out of memory.
 * Errors: BGM_E_INVALID (NULL out or inputs, n < 1, a NULL node, nodes of
 * different graphs, the wrong number of inputs for the kind: "layer 'add'
 * (Add) takes 2 or more inputs, got 1"), BGM_E_STATE (the layer belongs to
 * another graph or is wrapped by a Bidirectional layer), BGM_E_SHAPE /
 * BGM_E_DTYPE (inputs the layer cannot take, or a reused layer whose
 * weights do not fit; the message names the layer, the inputs' producers
 * and the shapes), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_call(bgm_node **out, bgm_layer *layer, bgm_node *const *inputs,
                                  int n);

/**
 * bgm_layer_call for a layer whose call makes several outputs (a
 * MultiHeadAttention returning its attention scores): outs[0..nout)
 * receive them, in the layer's order (borrowed from the graph). nout must be
 * bgm_layer_num_outputs(layer). bgm_layer_call on such a layer makes the
 * same nodes and returns output 0. An output j > 0 has one inbound node,
 * output 0 of its call (bgm_node_input), and bgm_node_output_index j; any
 * output can be a model output or another layer's input.
 * Errors: as bgm_layer_call; BGM_E_INVALID also when nout differs (the
 * layer is then freed when fresh, as on every error).
 */
BGM_API bgm_status bgm_layer_call_multi(bgm_node **outs, int nout, bgm_layer *layer,
                                        bgm_node *const *inputs, int n);

/** Which output of its call node is (0 for the first, for an input node and NULL). */
BGM_API int bgm_node_output_index(const bgm_node *node);

/** Shape of one sample of node; *ndim (may be NULL) receives its length. Borrowed; NULL for NULL. */
BGM_API const int64_t *bgm_node_shape(const bgm_node *node, int *ndim);

/** Element type of node's values (BGM_FLOAT32 for NULL). */
BGM_API bgm_dtype bgm_node_dtype(const bgm_node *node);

/** The layer whose call made node, borrowed; NULL for an input node or NULL. */
BGM_API const bgm_layer *bgm_node_layer(const bgm_node *node);

/** An input's name, or the name of the layer that made node. Borrowed; NULL for NULL. */
BGM_API const char *bgm_node_name(const bgm_node *node);

/** Number of nodes node's layer was called on (0 for an input node or NULL; 1 for an
 * output j > 0 of a call: its output 0). */
BGM_API int bgm_node_num_inputs(const bgm_node *node);

/** Inbound node i of node, borrowed; NULL when out of range. */
BGM_API const bgm_node *bgm_node_input(const bgm_node *node, int i);

/* ---- models from graphs --------------------------------------------------- */

/**
 * New model (Keras' Model(inputs, outputs)), freed with bgm_model_free():
 * the layer calls the outputs depend on, run in a topological order fixed
 * now. inputs are input nodes, each needed by some output; every input node
 * the outputs need must be among them. Layers are numbered and their
 * weights laid out in the order of their first call, initialized from the
 * model's generator seeded with seed. The model takes a reference to the
 * nodes' graph and makes its layers its own (bgm_model_add does not apply).
 * An output may be listed twice (its values are then returned twice).
 * Errors: BGM_E_INVALID (NULL out, no inputs or outputs, NULL nodes, an
 * input listed twice, nodes of different graphs, an input that is a layer's output, an
 * output needing an input not given, an input no output needs, two layers
 * with one name), BGM_E_STATE (a layer is part of another model),
 * BGM_E_NOMEM. On error nothing is taken.
 */
BGM_API bgm_status bgm_model_create_graph(bgm_model **out, bgm_node *const *inputs,
                                          int ninputs, bgm_node *const *outputs, int noutputs,
                                          uint64_t seed);

/**
 * Keras' class of m: "Sequential" (made by bgm_model_create, grown with
 * bgm_model_add) or "Functional" (made by bgm_model_create_graph); a loaded
 * model has its saved class. Static storage; NULL for NULL.
 */
BGM_API const char *bgm_model_class_name(const bgm_model *m);

/** Number of input nodes of m (1 for a Sequential model, 0 for NULL). */
BGM_API int bgm_model_num_inputs(const bgm_model *m);

/** Input node i of m, borrowed; NULL when out of range. */
BGM_API const bgm_node *bgm_model_input(const bgm_model *m, int i);

/** Number of output nodes of m (0 for NULL). */
BGM_API int bgm_model_num_outputs(const bgm_model *m);

/** Output node i of m, borrowed; NULL when out of range (a Sequential model's moves as layers are added). */
BGM_API const bgm_node *bgm_model_output(const bgm_model *m, int i);

/** The layer of m named name, borrowed; NULL when there is none (or NULL arguments). */
BGM_API const bgm_layer *bgm_model_get_layer(const bgm_model *m, const char *name);

/**
 * bgm_model_predict for a model of several inputs and outputs: xs[i] holds
 * the samples of input i (all with the same number of samples), outs[j]
 * receives a new tensor for output j (the caller frees each). At most 64
 * inputs and outputs. Reentrant, as bgm_model_predict.
 * Errors: as bgm_model_predict; BGM_E_INVALID also when nx or nout differ
 * from the model's counts; BGM_E_SHAPE for inputs of different sample
 * counts. On error every outs[j] is NULL.
 */
BGM_API bgm_status bgm_model_predict_multi(bgm_tensor **outs, int nout, const bgm_model *m,
                                           const bgm_tensor *const *xs, int nx,
                                           int64_t batch_size);

/**
 * bgm_model_forward for a model of several inputs and outputs: outs[j]
 * receives output j, owned by tape. Errors: as bgm_model_forward;
 * BGM_E_INVALID also when nx or nout differ from the model's counts.
 */
BGM_API bgm_status bgm_model_forward_multi(bgm_tensor **outs, int nout, bgm_model *m,
                                           bgm_tape *tape, const bgm_tensor *const *xs,
                                           int nx, int training);

/* ---- layers for graphs ---------------------------------------------------
 * Constructors as in model.h: a new layer, or NULL with bgm_last_error()
 * set. The elementwise merges take two or more inputs (Subtract exactly
 * two) of the same shape, where a dimension of 1 broadcasts (Keras); their
 * output has the common shape.
 */

/** Keras' Add: the sum of the inputs. */
BGM_API bgm_layer *bgm_layer_add(void);

/** Keras' Subtract: inputs[0] - inputs[1]. */
BGM_API bgm_layer *bgm_layer_subtract(void);

/** Keras' Multiply: the elementwise product of the inputs. */
BGM_API bgm_layer *bgm_layer_multiply(void);

/** Keras' Average: the mean of the inputs. */
BGM_API bgm_layer *bgm_layer_average(void);

/** Keras' Maximum: the elementwise maximum of the inputs (see bgm_op_maximum for ties). */
BGM_API bgm_layer *bgm_layer_maximum(void);

/** Keras' Minimum: the elementwise minimum of the inputs. */
BGM_API bgm_layer *bgm_layer_minimum(void);

/**
 * Keras' Concatenate: the inputs joined along axis, counted on the batched
 * tensor as Keras does (-1, the default there, is the last axis; 0, the
 * batch axis, is refused when called). Every other dimension must match.
 */
BGM_API bgm_layer *bgm_layer_concatenate(int axis);

/**
 * Keras' Reshape: each sample to shape[0..ndim) (ndim from 1 to
 * BGM_MAX_DIMS - 1; one entry may be -1, inferred), the same elements in
 * the same order. shape is copied.
 * Errors (NULL returned): BGM_E_INVALID (NULL shape, bad ndim, an entry
 * below 1 other than one -1).
 */
BGM_API bgm_layer *bgm_layer_reshape(const int64_t *shape, int ndim);

/**
 * Keras' Permute: reorders the sample axes; dims[0..ndim) is a permutation
 * of 1..ndim (1-based, the batch axis stays first), e.g. {2, 1} swaps the
 * two axes of (T, F). dims is copied.
 * Errors (NULL returned): BGM_E_INVALID (NULL dims, bad ndim, not a permutation).
 */
BGM_API bgm_layer *bgm_layer_permute(const int *dims, int ndim);

/**
 * Keras' ZeroPadding2D on NHWC images: top and bottom rows, left and right
 * columns of zeros, (H, W, C) to (H + top + bottom, W + left + right, C).
 * Errors (NULL returned): BGM_E_INVALID (a negative padding).
 */
BGM_API bgm_layer *bgm_layer_zero_padding2d(int64_t top, int64_t bottom, int64_t left,
                                            int64_t right);

/**
 * Keras' MultiHeadAttention with num_heads heads of key_dim (value_dim =
 * key_dim, dropout 0, use_bias 1, output dimension the query's; change them
 * with bgm_layer_set_value_dim, bgm_layer_set_dropout, bgm_layer_set_use_bias,
 * bgm_layer_set_output_dim, bgm_layer_set_use_causal_mask). Called with
 * bgm_layer_call on 2 to 4 nodes: query (T, dim), value (S, dim_v), key
 * (S, dim_k; default: the value) and attention_mask (T, S) float32 (1:
 * query t attends to key s, 0: it does not; pass the value as the key to
 * give a mask without a key). Its output is (T, output_dim). Padding masks
 * of the query, value and key (an Embedding with mask_zero before them) are
 * combined with the attention mask and the causal mask as Keras combines
 * them; a query that may attend to nothing outputs the output bias alone
 * (zero attention), and the query's mask passes on. Scores are scaled by
 * 1 / sqrt(key_dim). Weights, as Keras lays them out: query/kernel (dim,
 * heads, key_dim), query/bias (heads, key_dim), key/kernel (dim_k, heads,
 * key_dim), key/bias, value/kernel (dim_v, heads, value_dim), value/bias
 * (heads, value_dim), attention_output/kernel (heads, value_dim, output_dim),
 * attention_output/bias (output_dim); docs/design.md maps them to PyTorch's
 * nn.MultiheadAttention.
 * Errors (NULL returned): BGM_E_INVALID (num_heads or key_dim < 1), BGM_E_NOMEM.
 */
BGM_API bgm_layer *bgm_layer_multi_head_attention(int num_heads, int64_t key_dim);

/** MultiHeadAttention: the width of each head's values (>= 1; default key_dim). */
BGM_API bgm_status bgm_layer_set_value_dim(bgm_layer *layer, int64_t value_dim);

/**
 * MultiHeadAttention: the last dimension of the output (Keras' output_shape;
 * >= 1, or 0 for the default: the query's last dimension).
 */
BGM_API bgm_status bgm_layer_set_output_dim(bgm_layer *layer, int64_t dim);

/**
 * MultiHeadAttention: hide from query t the keys after position t (Keras'
 * use_causal_mask call argument; default 0), for decoders.
 */
BGM_API bgm_status bgm_layer_set_use_causal_mask(bgm_layer *layer, int use_causal_mask);

/**
 * MultiHeadAttention: calls make a second output, the attention scores
 * (heads, T, S) (Keras' return_attention_scores; default 0): the softmax
 * probabilities before dropout, differentiable. Use bgm_layer_call_multi.
 * The attention then materializes the probabilities (N * H * T * S floats)
 * instead of running the fused kernel.
 */
BGM_API bgm_status bgm_layer_set_return_attention_scores(bgm_layer *layer, int return_scores);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_GRAPH_H */
