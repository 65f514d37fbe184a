/* libFuzzer target: gzip-compressed IDX files through the public loaders
 * (bgm_idx_load_images / _labels). Each input is loaded twice: as given
 * (mostly corrupt gzip streams and lying size trailers: the gzip reader's
 * error paths) and gzip-compressed here (valid streams: the IDX parser
 * behind the decompression). */
#define _GNU_SOURCE /* memfd_create, memfile.h */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bigmodel.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_both(const void *bytes, size_t n)
{
    bgm_tensor *t = NULL;
    const char *path = fuzz_memfile(bytes, n);
    if (bgm_idx_load_images(&t, path) == BGM_OK)
        bgm_tensor_free(t);
    if (bgm_idx_load_labels(&t, path) == BGM_OK)
        bgm_tensor_free(t);
}

/* data gzip-compressed into a new buffer (*out, *out_len); 0 on failure. */
static int gzip_bytes(unsigned char **out, size_t *out_len, const uint8_t *data, size_t size)
{
    z_stream z;
    size_t cap = size + size / 8 + 64;
    unsigned char *buf = malloc(cap);
    if (!buf)
        return 0;
    memset(&z, 0, sizeof z);
    /* 15 + 16: a gzip header and trailer around the deflate stream */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(buf);
        return 0;
    }
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)size;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        deflateEnd(&z);
        free(buf);
        return 0;
    }
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    *out = buf;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *gz = NULL;
    size_t gz_len = 0;
    load_both(data, size);
    if (gzip_bytes(&gz, &gz_len, data, size)) {
        load_both(gz, gz_len);
        free(gz);
    }
    return 0;
}
