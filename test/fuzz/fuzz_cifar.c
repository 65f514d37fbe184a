/* libFuzzer target: CIFAR-10/100 record validation and conversion. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/parsers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const bgm_cifar_kind kinds[] = {BGM_CIFAR10, BGM_CIFAR100_FINE,
                                           BGM_CIFAR100_COARSE};
    size_t k;
    for (k = 0; k < 3; k++) {
        int64_t n = 0;
        float *x;
        int32_t *y;
        if (bgm__cifar_count(&n, "fuzz", "input", data, size, kinds[k]) != BGM_OK)
            continue;
        x = malloc((size_t)n * 3072 * sizeof *x);
        y = malloc((size_t)n * sizeof *y);
        if (x && y)
            bgm__cifar_convert(x, y, data, n, kinds[k]);
        free(x);
        free(y);
    }
    return 0;
}
