/* Per-column bias of a row-major matrix (see bias.h). Both loops run along
 * a row, so they vectorize without reordering the sum of any column. */
#include "bias.h"

#include <stddef.h>

#include "simd.h"

BGM__HOT void bgm__bias_add_rows(float *y, const float *b, int64_t rows, int64_t n)
{
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        float *row = y + r * n;
        for (j = 0; j < n; j++)
            row[j] += b[j];
    }
}

/* gb[j0 + j] += column sums of gy for j < W, W a constant so the W
 * accumulators stay in registers over all the rows. */
#define SUM_COLUMNS(W)                                                             \
    do {                                                                           \
        float acc[W];                                                              \
        for (j = 0; j < (W); j++)                                                  \
            acc[j] = 0.0f;                                                         \
        for (r = 0; r < rows; r++)                                                 \
            for (j = 0; j < (W); j++)                                              \
                acc[j] += gy[r * n + j0 + j];                                      \
        for (j = 0; j < (W); j++)                                                  \
            gb[j0 + j] += acc[j];                                                  \
    } while (0)

BGM__HOT void bgm__bias_sum_rows(float *gb, const float *gy, int64_t rows, int64_t n)
{
    int64_t r, j, j0 = 0;
    for (; j0 + 64 <= n; j0 += 64)
        SUM_COLUMNS(64);
    if (j0 + 32 <= n) {
        SUM_COLUMNS(32);
        j0 += 32;
    }
    if (j0 + 16 <= n) {
        SUM_COLUMNS(16);
        j0 += 16;
    }
    for (; j0 < n; j0++) {
        float acc = 0.0f;
        for (r = 0; r < rows; r++)
            acc += gy[r * n + j0];
        gb[j0] += acc;
    }
}

#undef SUM_COLUMNS

/* One row of the fused epilogue; b and res may be NULL. */
BGM__INLINE void epilogue_row(float *y, const float *b, const float *res, int64_t n, int relu)
{
    int64_t j;
    if (b)
        for (j = 0; j < n; j++)
            y[j] += b[j];
    if (res)
        for (j = 0; j < n; j++)
            y[j] += res[j];
    if (relu)
        for (j = 0; j < n; j++)
            y[j] = y[j] > 0.0f ? y[j] : 0.0f;
}

BGM__HOT void bgm__bias_epilogue_rows(float *y, const float *b, const float *res, int relu,
                                      int64_t rows, int64_t n)
{
    int64_t r;
    for (r = 0; r < rows; r++)
        epilogue_row(y + r * n, b, res ? res + r * n : NULL, n, relu);
}
