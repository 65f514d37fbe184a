/* The Winograd transforms (winograd_tiles.h) on 8 lanes: AVX2 + FMA. Masked
 * loads and stores (vmaskmovps) are slower than plain ones, so whole
 * vectors use the plain forms. */
#include "winograd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "vec_avx2.h"

#define WT_PATH bgm__winograd_avx2

#include "winograd_tiles.h"

#endif
