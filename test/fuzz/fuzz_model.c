/* libFuzzer target: bgm_model_load_memory, the whole model reader (the
 * archive container, then the model's keys, layer configurations, weight
 * shapes, compile and optimizer state). Like fuzz_bgm.c it reads every input
 * twice, the second time with its CRCs recomputed (container_crc.h), so
 * mutations reach the model reader behind the checksums. A loaded model
 * also runs predict on one zero sample, so a file that loads must give a
 * model that works. */
#include <stddef.h>
#include <stdint.h>

#include "bigmodel.h"

#include "container_crc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

static void load(const uint8_t *data, size_t size)
{
    bgm_model *m = NULL;
    if (bgm_model_load_memory(&m, data, size) == BGM_OK) {
        try_predict(m);
        bgm_model_free(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read_container(data, size, load);
    return 0;
}
