/* Choosing the kernels' instruction-set path once per process (see isa.h). */
#include "isa.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bigmodel/core.h"

static pthread_once_t isa_once = PTHREAD_ONCE_INIT;
static bgm__isa_path isa_cpu, isa_gemm;

/* The widest path this CPU runs. */
static bgm__isa_path cpu_path(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init(); /* needed when called before constructors ran */
    if (__builtin_cpu_supports("avx512f"))
        return BGM__ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return BGM__ISA_AVX2;
#endif
    return BGM__ISA_GENERIC;
}

static void choose(void)
{
    const char *isa = getenv("BIGMODEL_ISA"), *gemm = getenv("BIGMODEL_GEMM");
    bgm__isa_path cap = BGM__ISA_AVX512;
    if (isa && strcmp(isa, "avx2") == 0)
        cap = BGM__ISA_AVX2;
    else if (isa && strcmp(isa, "generic") == 0)
        cap = BGM__ISA_GENERIC;
    isa_cpu = cpu_path();
    if (isa_cpu > cap)
        isa_cpu = cap;
    isa_gemm = gemm && strcmp(gemm, "blas") == 0 ? BGM__ISA_GENERIC : isa_cpu;
}

bgm__isa_path bgm__isa(void)
{
    pthread_once(&isa_once, choose);
    return isa_cpu;
}

bgm__isa_path bgm__isa_gemm(void)
{
    pthread_once(&isa_once, choose);
    return isa_gemm;
}

const char *bgm__isa_name(bgm__isa_path path)
{
    switch (path) {
    case BGM__ISA_AVX512: return "avx512";
    case BGM__ISA_AVX2: return "avx2";
    default: return "generic";
    }
}

const char *bgm_kernel_isa(void)
{
    return bgm__isa_name(bgm__isa());
}
