/* The own SGEMM tiles (gemm_tiles.h) on 8 lanes: AVX2 + FMA, 6 x 16 tiles
 * of 12 accumulators out of 16 registers. Masked loads and stores
 * (vmaskmovps) are slower than plain ones, so whole vectors use the plain
 * forms. */
#include "gemm_own.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "vec_avx2.h"

#define GT_MR 6
#define GT_MR1 12
#define GT_CASES_MR TILE_CASES_6
#define GT_CASES_MR1 TILE_CASES_12
#define GT_RUN bgm__gemm_avx2_run
#define GT_ROWS bgm__gemm_avx2_rows

#include "gemm_tiles.h"

#endif
