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
#include "try_predict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
