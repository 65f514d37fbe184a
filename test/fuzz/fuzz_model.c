/* libFuzzer target: bgm_model_load_memory, the whole model reader (the
 * archive container, then the model's keys, layer configurations, weight
 * shapes, compile and optimizer state). Like fuzz_bgm.c it reads every input
 * twice, the second time with its CRCs recomputed (container_crc.h), so
 * mutations reach the model reader behind the checksums. A loaded model
 * also runs predict on one zero sample, so a file that loads must give a
 * model that works. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bigmodel.h"

#include "container_crc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Predicts one all-zero sample when the input is small enough to be cheap. */
static void try_predict(const bgm_model *m)
{
    int64_t shape[BGM_MAX_DIMS], n = 1;
    const int64_t *in;
    int ndim, i;
    bgm_tensor *x = NULL, *y = NULL;
    const bgm_layer *first = bgm_model_layer(m, 0);
    in = bgm_model_input_shape(m, &ndim);
    shape[0] = 1;
    for (i = 0; i < ndim; i++) {
        if (in[i] > 4096 || (n *= in[i]) > 4096)
            return;
        shape[i + 1] = in[i];
    }
    if (bgm_model_num_params(m) > 100000)
        return;
    if (bgm_tensor_zeros(&x, first && strcmp(bgm_layer_kind(first), "Embedding") == 0
                                 ? BGM_INT32 : BGM_FLOAT32,
                         shape, ndim + 1) != BGM_OK)
        return;
    if (bgm_model_predict(&y, m, x, 1) == BGM_OK)
        bgm_tensor_free(y);
    bgm_tensor_free(x);
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
