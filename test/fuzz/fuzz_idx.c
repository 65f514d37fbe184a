/* libFuzzer target: IDX parsing (images and labels) from a memory buffer. */
#include <stddef.h>
#include <stdint.h>

#include "data/parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bgm_tensor *t = NULL;
    if (bgm__idx_parse(&t, "fuzz", "input", data, size, 3) == BGM_OK)
        bgm_tensor_free(t);
    if (bgm__idx_parse(&t, "fuzz", "input", data, size, 1) == BGM_OK)
        bgm_tensor_free(t);
    return 0;
}
