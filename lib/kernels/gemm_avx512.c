/* The own SGEMM tiles (gemm_tiles.h) on 16 lanes: AVX-512F, 12 x 32
 * tiles of 24 accumulators out of 32 registers. Masked loads and stores
 * cost no more than plain ones. */
#include "gemm_own.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stddef.h>
#include <string.h>

#include "vec_avx512.h"

#define GT_MR 12
#define GT_MR1 24
#define GT_CASES_MR TILE_CASES_12
#define GT_CASES_MR1 TILE_CASES_24
#define GT_RUN bgm__gemm_avx512_run
#define GT_ROWS bgm__gemm_avx512_rows

#include "gemm_tiles.h"

#endif
