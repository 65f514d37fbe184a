/* Byte-order swaps, UTF-8 validation and CRC-32 over any length. */
#include "bytes.h"

#include <zlib.h>

void bgm__swap32(void *data, size_t n)
{
    unsigned char *p = data, t;
    size_t i;
    for (i = 0; i + 4 <= n; i += 4) {
        t = p[i];
        p[i] = p[i + 3];
        p[i + 3] = t;
        t = p[i + 1];
        p[i + 1] = p[i + 2];
        p[i + 2] = t;
    }
}

int bgm__utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0, len, k;
    uint32_t cp, min;
    while (i < n) {
        unsigned char c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

uint32_t bgm__crc32(uint32_t crc, const void *data, uint64_t n)
{
    const unsigned char *p = data;
    /* zlib takes an unsigned int length: feed large buffers in pieces. */
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, p, piece);
        p += piece;
        n -= piece;
    }
    return crc;
}
