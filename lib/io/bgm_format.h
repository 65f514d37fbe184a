/* Layout constants of the .bgm file format (docs/file-format.md), shared by
 * its writer and reader. */
#ifndef BGM_IO_BGM_FORMAT_H
#define BGM_IO_BGM_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "bigmodel/core.h"

#define BGMF_MAGIC "BGMF"
#define BGMF_HEADER_SIZE 96     /* of format 1.0; later minors may grow it */
#define BGMF_HEADER_MAX 65536
#define BGMF_ALIGN 64           /* tensor data offsets, in the file and the data */

/* Byte offsets of the header fields. */
#define BGMF_OFF_MAGIC 0
#define BGMF_OFF_MAJOR 4
#define BGMF_OFF_MINOR 6
#define BGMF_OFF_HEADER_SIZE 8
#define BGMF_OFF_FLAGS 12
#define BGMF_OFF_FILE_SIZE 16
#define BGMF_OFF_META_OFFSET 24
#define BGMF_OFF_META_LENGTH 32
#define BGMF_OFF_TABLE_OFFSET 40
#define BGMF_OFF_TABLE_LENGTH 48
#define BGMF_OFF_DATA_OFFSET 56
#define BGMF_OFF_DATA_LENGTH 64
#define BGMF_OFF_DATA_RAW_LENGTH 72
#define BGMF_OFF_META_CRC 80
#define BGMF_OFF_TABLE_CRC 84
#define BGMF_OFF_DATA_CRC 88
/* The header's own CRC is its last 4 bytes, over every byte before them. */

/* Flags: bits 0-15 change how the file must be read (a reader rejects a set
 * bit it does not know); bits 16-31 are hints a reader may ignore. */
#define BGMF_FLAG_DEFLATE 0x1u
#define BGMF_FLAGS_KNOWN_REQUIRED BGMF_FLAG_DEFLATE
#define BGMF_FLAGS_REQUIRED_MASK 0xFFFFu

/* Smallest encodings, which bound entry counts by section lengths. */
#define BGMF_META_ENTRY_MIN (4 + 1 + 4 + 8)
#define BGMF_TENSOR_ENTRY_MIN (4 + 1 + 4 + 4 + 8 + 8)

/* Deflate cannot expand data by more than 1032:1 (258-byte matches coded in
 * 2 bits), so a stream's declared output beyond that is a lie. */
#define BGMF_DEFLATE_MAX_RATIO 1032

static inline uint64_t bgmf_align(uint64_t x)
{
    return (x + BGMF_ALIGN - 1) / BGMF_ALIGN * BGMF_ALIGN;
}

#endif
