/* Little-endian fixed-width packing, bounded cursors and UTF-8 checks shared
 * by the file formats of lib/io. Files never depend on the host's byte order
 * or on size_t: every integer goes through these helpers. */
#ifndef BGM_IO_BYTES_H
#define BGM_IO_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void bgm__put_u16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void bgm__put_u32(unsigned char *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void bgm__put_u64(unsigned char *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t bgm__get_u16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t bgm__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t bgm__get_u64(const unsigned char *p)
{
    return (uint64_t)bgm__get_u32(p) | (uint64_t)bgm__get_u32(p + 4) << 32;
}

static inline uint64_t bgm__f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static inline double bgm__bits_f64(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* 1 when the host stores integers little-endian (tensor data is copied as is
 * then; otherwise each 4-byte element is reversed). */
static inline int bgm__host_is_le(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Reverses each 4-byte element of n bytes (n a multiple of 4) in place. */
void bgm__swap32(void *data, size_t n);

/* 1 when n bytes at s are well-formed UTF-8 without NUL, overlong forms or
 * surrogates. */
int bgm__utf8_valid(const unsigned char *s, size_t n);

/* CRC-32 (zlib's) of n bytes continued from crc (start with 0); any size. */
uint32_t bgm__crc32(uint32_t crc, const void *data, uint64_t n);

#endif
