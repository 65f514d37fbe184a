/* libFuzzer target: word vectors in the word2vec text format
 * (bgm_word2vec_load). */
#define _GNU_SOURCE /* memfd_create, memfile.h */
#include <stddef.h>
#include <stdint.h>

#include "bigmodel.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bgm_word2vec *m = NULL;
    if (bgm_word2vec_load(&m, fuzz_memfile(data, size)) == BGM_OK)
        bgm_word2vec_free(m);
    return 0;
}
