/* Internal view of bgm_rng (xoshiro256**), for modules that draw numbers. */
#ifndef BGM_CORE_RNG_H
#define BGM_CORE_RNG_H

#include "bigmodel/tensor.h"

struct bgm_rng {
    uint64_t s[4];
    int has_spare;    /* Box-Muller makes normals in pairs */
    float spare;
};

/* Seeds an embedded generator (no allocation). */
void bgm__rng_seed(bgm_rng *rng, uint64_t seed);
/* Standard normal draw. */
float bgm__rng_normal(bgm_rng *rng);
/* Uniform integer in [0, n), without modulo bias; n > 0. */
uint64_t bgm__rng_below(bgm_rng *rng, uint64_t n);

#endif
