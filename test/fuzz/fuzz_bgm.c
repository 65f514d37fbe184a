/* libFuzzer target: the .bgm archive reader (header, metadata, tensor table,
 * plain and deflated data), from memory. Every input is read twice: as it
 * is, and with its CRCs recomputed, so mutations reach the parsers behind
 * the checksums instead of stopping at them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bigmodel/io.h"

#include "container_crc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const uint8_t *data, size_t size)
{
    bgm_archive *a = NULL;
    if (bgm_archive_load_memory(&a, data, size) == BGM_OK)
        bgm_archive_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_read_container(data, size, load);
    return 0;
}
