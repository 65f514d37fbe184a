/*
 * For fuzz targets of .bgm containers: runs a reader on the input as it is
 * and again with every checksum recomputed (the three section CRCs and the
 * header's own, see docs/file-format.md), so mutations reach the parsers
 * behind the checksums instead of stopping at them.
 */
#ifndef BGM_FUZZ_CONTAINER_CRC_H
#define BGM_FUZZ_CONTAINER_CRC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint64_t fuzz_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    while (n-- > 0)
        v = v << 8 | p[n];
    return v;
}

static void fuzz_put_le32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* CRC of the section whose offset and length fields are at off_field. */
static void fuzz_fix_section(uint8_t *f, size_t size, int off_field, int crc_field)
{
    uint64_t off = fuzz_le(f + off_field, 8), len = fuzz_le(f + off_field + 8, 8);
    if (off <= size && len <= size - off)
        fuzz_put_le32(f + crc_field, (uint32_t)crc32(0, f + off, (uInt)len));
}

/* read(data, size), then read() of a copy with its checksums made right. */
static void fuzz_read_container(const uint8_t *data, size_t size,
                                void (*read)(const uint8_t *, size_t))
{
    uint8_t *f;
    read(data, size);
    if (size < 96 || !(f = malloc(size)))
        return;
    memcpy(f, data, size);
    fuzz_fix_section(f, size, 24, 80);
    fuzz_fix_section(f, size, 40, 84);
    fuzz_fix_section(f, size, 56, 88);
    fuzz_put_le32(f + 92, (uint32_t)crc32(0, f, 92));
    read(f, size);
    free(f);
}

#endif
