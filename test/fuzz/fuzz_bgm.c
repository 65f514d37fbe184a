/* libFuzzer target: the .bgm archive reader (header, metadata, tensor table,
 * plain and deflated data), from memory. Every input is read twice: as it
 * is, and with its CRCs recomputed, so mutations reach the parsers behind
 * the checksums instead of stopping at them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bigmodel/io.h"

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

/* CRC of the section whose offset and length fields are at off_field. */
static void fix_section(uint8_t *f, size_t size, int off_field, int crc_field)
{
    uint64_t off = le(f + off_field, 8), len = le(f + off_field + 8, 8);
    if (off <= size && len <= size - off)
        put_le32(f + crc_field, (uint32_t)crc32(0, f + off, (uInt)len));
}

static void load(const uint8_t *data, size_t size)
{
    bgm_archive *a = NULL;
    if (bgm_archive_load_memory(&a, data, size) == BGM_OK)
        bgm_archive_free(a);
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
