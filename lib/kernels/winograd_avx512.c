/* The Winograd transforms (winograd_tiles.h) on 16 lanes: AVX-512F, whose
 * masked loads and stores cost no more than plain ones. */
#include "winograd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "vec_avx512.h"

#define WT_PATH bgm__winograd_avx512

#include "winograd_tiles.h"

#endif
