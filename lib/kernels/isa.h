/*
 * Which of the library's own vector kernels run: the widest instruction set
 * the CPU has, or a narrower one forced by the environment so that every
 * path can be tested and measured on one machine.
 *
 *   BIGMODEL_ISA=avx512|avx2|generic   at most this path (a path the CPU
 *                                       lacks falls back to the next one down)
 *   BIGMODEL_GEMM=blas                 every matrix product through BLAS
 *
 * Both are read once, at the first call. The BGM__HOT elementwise loops
 * (simd.h) pick their clone by CPU alone: they give the same bits on
 * every clone.
 */
#ifndef BGM_KERNELS_ISA_H
#define BGM_KERNELS_ISA_H

typedef enum bgm__isa_path {
    BGM__ISA_GENERIC = 0, /* C loops; products through BLAS */
    BGM__ISA_AVX2 = 1,    /* AVX2 + FMA: 8 lanes, 16 registers */
    BGM__ISA_AVX512 = 2   /* AVX-512F: 16 lanes, 32 registers */
} bgm__isa_path;

/* The path in use (see above). Thread-safe. */
bgm__isa_path bgm__isa(void);

/* The path the library's own SGEMM kernels run on: bgm__isa(), or
 * BGM__ISA_GENERIC (meaning BLAS) under BIGMODEL_GEMM=blas. */
bgm__isa_path bgm__isa_gemm(void);

/* "avx512", "avx2" or "generic". */
const char *bgm__isa_name(bgm__isa_path path);

#endif
