/* libFuzzer target: vocabulary files (bgm_vocab_load), then the loaded
 * vocabulary encodes the input itself as a text (tokenizer and lookups). */
#define _GNU_SOURCE /* memfd_create, memfile.h */
#include <stddef.h>
#include <stdint.h>

#include "bigmodel.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bgm_vocab *v = NULL;
    bgm_tensor *ids = NULL;
    if (bgm_vocab_load(&v, fuzz_memfile(data, size)) != BGM_OK)
        return 0;
    if (bgm_vocab_encode(&ids, v, (const char *)data, (int64_t)size, NULL) == BGM_OK)
        bgm_tensor_free(ids);
    bgm_vocab_free(v);
    return 0;
}
