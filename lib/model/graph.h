/*
 * The graph of layer calls (Keras' functional API): input nodes, and one
 * node per call of a layer on nodes. Nodes are numbered in the order they
 * are made, and a call only takes nodes that exist, so that order is a
 * topological order. The graph owns its nodes and every layer called in it;
 * models built from it hold a reference. It never looks at a layer's kind.
 */
#ifndef BGM_MODEL_GRAPH_H
#define BGM_MODEL_GRAPH_H

#include "layers/layer.h"

struct bgm_node {
    struct bgm_graph *graph;
    bgm_layer *layer;          /* the layer whose call made it; NULL for an input */
    bgm_node **in;             /* nin inbound nodes */
    int nin;
    bgm__shape shape;          /* one sample's */
    int output;                /* which output of its call it is; an output j > 0
                                  has one inbound node, output 0 of the call,
                                  which is g->nodes[id - j] */
    int noutputs;              /* outputs of its call (1 for an input) */
    char name[BGM__NAME_SIZE]; /* an input's name */
    int id;                    /* position in the graph: a topological order */
};

struct bgm_graph {
    int refs;                  /* the creator's and each model's; atomic */
    bgm_node **nodes;
    int nnodes, node_cap;
    bgm_layer **layers;        /* every layer called in it, owned */
    int nlayers, layer_cap;
};

/* New graph with one reference; NULL (error set, naming fn) when out of memory. */
bgm_graph *bgm__graph_new(const char *fn);

/* Takes / drops a reference; the last drop frees nodes and layers. */
void bgm__graph_retain(bgm_graph *g);
void bgm__graph_release(bgm_graph *g);

/* A new input node (name NULL: "input_<k>"). */
bgm_status bgm__graph_input(bgm_node **out, bgm_graph *g, const int64_t *shape, int ndim,
                            bgm_dtype dtype, const char *name, const char *fn);

/*
 * layer called on inputs[0..n), all nodes of g: builds a fresh layer (it
 * joins g, named automatically unless named), or checks a layer of g called
 * before against its weights. Takes ownership of a fresh layer in every
 * case (freed on error). Errors name fn and the layer.
 */
bgm_status bgm__graph_call(bgm_node **out, bgm_graph *g, bgm_layer *layer,
                           bgm_node *const *inputs, int n, const char *fn);

/* BGM_E_STATE for a layer wrapped by a Bidirectional, BGM_E_INVALID unless n
 * is a number of inputs the layer's kind takes; messages start with fn. */
bgm_status bgm__layer_check_arity(const bgm_layer *layer, int n, const char *fn);

/* Builds layer against in[0..n), out[0..BGM__MAX_OUTPUTS) receiving its
 * outputs' shapes. A layer called before (on nodes or tensors) builds a
 * scratch copy, whose weights must match the layer's (BGM_E_SHAPE naming
 * the layer and both input shapes). Errors start with fn. */
bgm_status bgm__layer_build(bgm_layer *layer, const bgm__shape *in, int n, bgm__shape *out,
                           const char *fn);

/* Undoes the last successful call of a fresh layer (its nodes and the layer). */
void bgm__graph_pop_call(bgm_graph *g);

/* Output j of the call that made node (node itself for its own index). */
bgm_node *bgm__node_sibling(const bgm_node *node, int j);

/* The layer of g named name, or NULL. */
bgm_layer *bgm__graph_layer(const bgm_graph *g, const char *name);

/* "'dense_1'" or "input 'image'": how messages name a node. */
const char *bgm__node_label(char *buf, size_t size, const bgm_node *node);

#endif
