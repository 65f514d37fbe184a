/* libFuzzer target: the safetensors importer (header length, strict JSON
 * header, offset validation, data), from memory. */
#include <stddef.h>
#include <stdint.h>

#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bgm_archive *a = NULL;
    if (bgm__safetensors_parse(&a, data, size) == BGM_OK)
        bgm_archive_free(a);
    return 0;
}
