/*
 * Hot loops the compiler should vectorize. The build's -O2 only vectorizes
 * loops whose trip count it knows, and its baseline x86-64 target has 4-wide
 * SSE; BGM__HOT asks GCC for its -O3 vectorizer on one function (without
 * errno from sqrtf, and without floating-point traps, which can keep a
 * select such as a ReLU's mask from becoming branch-free; the library never
 * reads the exception flags, and neither option changes a value) and clones
 * the function for AVX2 and AVX-512, the best clone picked once at load time. Vectorizing elementwise
 * loops never reorders a sum, so every clone gives the same bits. Other
 * compilers get plain functions, and so does a ThreadSanitizer build: the
 * clones' resolver runs while the library is relocated, before the TSan
 * runtime is set up, and its instrumented code crashes there.
 */
#ifndef BGM_KERNELS_SIMD_H
#define BGM_KERNELS_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__)
#define BGM__HOT                                                                   \
    __attribute__((optimize("O3", "no-math-errno", "no-trapping-math",             \
                            "fp-contract=off"),                                    \
                   target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#elif defined(__GNUC__) && !defined(__clang__)
#define BGM__HOT                                                                   \
    __attribute__((optimize("O3", "no-math-errno", "no-trapping-math", "fp-contract=off")))
#else
#define BGM__HOT
#endif

/* Helpers of BGM__HOT functions: GCC inlines across differing optimize
 * attributes only when told to. */
#if defined(__GNUC__)
#define BGM__INLINE static inline __attribute__((always_inline))
#else
#define BGM__INLINE static inline
#endif

#endif
