/*
 * How a layer kind's weights map onto PyTorch's equivalent modules, for the
 * safetensors export of Sequential models (lib/model/model_safetensors.c):
 * each kind with a torch twin has a hook that names its tensors in
 * state_dict order, their PyTorch shapes and how the layouts differ.
 */
#ifndef BGM_LAYERS_TORCH_MAP_H
#define BGM_LAYERS_TORCH_MAP_H

#include "layers/layer.h"

typedef enum bgm__torch_layout {
    BGM__TORCH_SAME,           /* same layout */
    BGM__TORCH_CONV,           /* (KH, KW, C, F) <-> (F, C, KH, KW) */
    BGM__TORCH_DENSE,          /* (in, out) <-> (out, in), in permuted after a Flatten */
    BGM__TORCH_VEC,            /* per-feature vector, permuted after a Flatten */
    BGM__TORCH_RNN_KERNEL,     /* (R, gH) <-> (gH, R), gate blocks reordered */
    BGM__TORCH_RNN_BIAS,       /* LSTM (4H) or GRU (2, 3H) <-> bias_ih / bias_hh (gH) */
    BGM__TORCH_COUNTER         /* BatchNorm's num_batches_tracked: exported as 0, ignored */
} bgm__torch_layout;

/* One torch tensor. */
typedef struct bgm__torch_param {
    char name[BGM__NAME_SIZE * 2]; /* "3.weight", or a weight's own name */
    int weight;                /* index in the model's weights; -1 for a counter */
    bgm__torch_layout layout;
    int part;                  /* RNN bias: 0 bias_ih, 1 bias_hh */
    int gates;                 /* RNN: 4 (LSTM) or 3 (GRU) */
    int64_t units;             /* RNN: H */
    int64_t shape[BGM_MAX_DIMS]; /* torch's shape */
    int ndim;
    int64_t hwc[3];            /* DENSE / VEC after a Flatten of images, else 0 */
} bgm__torch_param;

/* What a kind's hook fills for one layer. */
typedef struct bgm__torch_map {
    bgm__torch_param *params;  /* room for enough entries (see the export) */
    int n;
    int index;                 /* the layer's first torch module: "<index>." */
    int first_weight;          /* the layer's first weight in the model */
    int64_t hwc[3];            /* the (H, W, C) a Flatten before it left, or 0 */
    int modules;               /* torch modules the layer becomes (1) */
    int keeps_order;           /* the features keep a Flatten's order through it (0) */
} bgm__torch_map;

/* Appends "<index>.<param><suffix>" for the layer's weight number weight
 * (-1: none) in layout, shaped by the dims given (ndim of them). */
bgm__torch_param *bgm__torch_add(bgm__torch_map *map, const char *param, const char *suffix,
                                 int weight, bgm__torch_layout layout, int ndim, int64_t d0,
                                 int64_t d1, int64_t d2, int64_t d3);

/* The tensors of one direction of an LSTM / GRU configured as cfg, whose
 * weights start at the layer's weight w0, over features inputs; suffix
 * "_reverse" names the backward direction. */
void bgm__rnn_torch(const bgm_layer *cfg, bgm__torch_map *map, int w0, int64_t features,
                    const char *suffix);

#endif
