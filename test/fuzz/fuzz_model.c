/* libFuzzer target: bgm_model_load_memory, the whole model reader (the
 * archive container, then the model's keys, layer configurations, weight
 * shapes, compile and optimizer state). As in fuzz_bgm.c every input is
 * read twice, the second time with its CRCs recomputed, so mutations reach
 * the model reader behind the checksums. A loaded model also runs predict
 * on one zero sample, so a file that loads must give a model that works. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bigmodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void fix_section(uint8_t *f, size_t size, int off_field, int crc_field)
{
    uint64_t off = le(f + off_field, 8), len = le(f + off_field + 8, 8);
    if (off <= size && len <= size - off)
        put_le32(f + crc_field, (uint32_t)crc32(0, f + off, (uInt)len));
}

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
    uint8_t *f;
    load(data, size);
    if (size < 96)
        return 0;
    f = malloc(size);
    if (!f)
        return 0;
    memcpy(f, data, size);
    fix_section(f, size, 24, 80);
    fix_section(f, size, 40, 84);
    fix_section(f, size, 56, 88);
    put_le32(f + 92, (uint32_t)crc32(0, f, 92));
    load(f, size);
    free(f);
    return 0;
}
