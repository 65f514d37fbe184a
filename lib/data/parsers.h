/* Internal in-memory parsers behind the file loaders. They take a buffer, so
 * the fuzz targets (test/fuzz) drive them without files. `func` and `name`
 * (the file's path) start every message. */
#ifndef BGM_DATA_PARSERS_H
#define BGM_DATA_PARSERS_H

#include <stddef.h>

#include "bigmodel/data.h"

/* An IDX file of unsigned bytes with want_ndim dimensions: idx3 images become
 * float32 (N, H, W, 1), idx1 labels int32 (N,). */
bgm_status bgm__idx_parse(bgm_tensor **out, const char *func, const char *name,
                          const unsigned char *buf, size_t len, int want_ndim);

/* Validates a CIFAR binary file of the given kind and counts its records. */
bgm_status bgm__cifar_count(int64_t *records, const char *func, const char *name,
                            const unsigned char *buf, size_t len, bgm_cifar_kind kind);

/* Converts n validated records to NHWC floats (n * 3072) and labels (n). */
void bgm__cifar_convert(float *x, int32_t *y, const unsigned char *buf, int64_t n,
                        bgm_cifar_kind kind);

/* A CSV file as a dataset; opts already validated and filled. */
bgm_status bgm__csv_parse(bgm_dataset **out, const char *func, const char *name,
                          const char *buf, size_t len, const bgm_csv_options *opts);

/* A .npy file as a tensor. */
bgm_status bgm__npy_parse(bgm_tensor **out, const char *func, const char *name,
                          const unsigned char *buf, size_t len);

/* Big-endian 32-bit value at p. */
static inline uint32_t bgm__be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Product of dims[0..n) when the data it describes, elem bytes per element,
 * fits in avail bytes: sets *numel and returns 1. Returns 0 when it does not
 * fit (or overflows). A zero dimension gives 0 whatever the others are.
 */
static inline int bgm__dims_fit(const int64_t *dims, int n, size_t elem, size_t avail,
                                int64_t *numel)
{
    uint64_t limit = avail / elem, prod = 1;
    int i;
    for (i = 0; i < n; i++)
        if (dims[i] == 0) {
            *numel = 0;
            return 1;
        }
    for (i = 0; i < n; i++) {
        if (dims[i] < 0 || (uint64_t)dims[i] > limit / prod)
            return 0;
        prod *= (uint64_t)dims[i];
    }
    *numel = (int64_t)prod;
    return 1;
}

#endif
