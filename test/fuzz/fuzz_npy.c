/* libFuzzer target: NumPy .npy header and data parsing. */
#include <stddef.h>
#include <stdint.h>

#include "data/parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bgm_tensor *t = NULL;
    if (bgm__npy_parse(&t, "fuzz", "input", data, size) == BGM_OK)
        bgm_tensor_free(t);
    return 0;
}
