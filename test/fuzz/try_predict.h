/* What the model fuzz targets do with a model that loaded: predict one
 * all-zero sample, so that a model that loads must also run. */
#ifndef BGM_FUZZ_TRY_PREDICT_H
#define BGM_FUZZ_TRY_PREDICT_H

#include "bigmodel.h"

/* 1 when every layer's output holds at most 2^20 values per sample: a file
 * may describe a model whose activations do not fit in memory (a huge
 * ZeroPadding2D), which is no bug of the reader. */
static int small_activations(const bgm_model *m)
{
    int i, k, ndim;
    for (i = 0; i < bgm_model_num_layers(m); i++) {
        const int64_t *shape = bgm_layer_output_shape(bgm_model_layer(m, i), &ndim);
        int64_t n = 1;
        for (k = 0; k < ndim; k++)
            if (shape[k] > (1 << 20) || (n *= shape[k]) > (1 << 20))
                return 0;
    }
    return 1;
}

/* Predicts one all-zero sample per input (of the input's dtype) when the
 * inputs and activations are small enough to be cheap. */
static void try_predict(const bgm_model *m)
{
    bgm_tensor *xs[8] = {NULL}, *ys[8] = {NULL};
    int nx = bgm_model_num_inputs(m), ny = bgm_model_num_outputs(m), i, k, ok = 1;
    if (nx > 8 || ny > 8 || bgm_model_num_params(m) > 100000 || !small_activations(m))
        return;
    for (k = 0; ok && k < nx; k++) {
        const bgm_node *in = bgm_model_input(m, k);
        int64_t shape[BGM_MAX_DIMS], n = 1;
        int ndim;
        const int64_t *dims = bgm_node_shape(in, &ndim);
        shape[0] = 1;
        for (i = 0; ok && i < ndim; i++) {
            ok = dims[i] <= 4096 && (n *= dims[i]) <= 4096;
            shape[i + 1] = dims[i];
        }
        ok = ok && bgm_tensor_zeros(&xs[k], bgm_node_dtype(in), shape, ndim + 1) == BGM_OK;
    }
    if (ok && bgm_model_predict_multi(ys, ny, m, (const bgm_tensor *const *)xs, nx, 1) ==
                  BGM_OK)
        for (k = 0; k < ny; k++)
            bgm_tensor_free(ys[k]);
    for (k = 0; k < nx; k++)
        bgm_tensor_free(xs[k]);
}

#endif
