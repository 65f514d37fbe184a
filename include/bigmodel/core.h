/*
 * bigmodel/core.h — versions, status codes, errors and threads.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 */
#ifndef BIGMODEL_CORE_H
#define BIGMODEL_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- symbol visibility ------------------------------------------------ */

#if defined(BGM_BUILDING_LIBRARY) && defined(__GNUC__)
#define BGM_API __attribute__((visibility("default")))
#else
#define BGM_API
#endif

/*
 * The first field of the options structures first released with a field
 * named struct_size (bgm_csv_options and the text ones): it is their size,
 * named size as in every options structure, and struct_size as well where
 * the compiler has anonymous unions (C11, C++); strict C99 sees struct_size
 * only. Same offset and type either way, so the ABI is one.
 */
#if (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L) || defined(__cplusplus)
#define BGM_OPTIONS_SIZE_FIELD union { size_t size; size_t struct_size; }
#else
#define BGM_OPTIONS_SIZE_FIELD size_t struct_size
#endif

/* ---- versions ---------------------------------------------------------- */

#define BGM_VERSION_MAJOR 0
#define BGM_VERSION_MINOR 2
#define BGM_VERSION_PATCH 0
/** One integer that grows with every release: MAJOR*10000 + MINOR*100 + PATCH. */
#define BGM_VERSION_NUMBER \
    (BGM_VERSION_MAJOR * 10000 + BGM_VERSION_MINOR * 100 + BGM_VERSION_PATCH)
#define BGM_VERSION_STRING "0.2.0"

/** Version number of the library actually loaded (compare with BGM_VERSION_NUMBER). */
BGM_API int bgm_version_number(void);

/** Version string of the library actually loaded, e.g. "0.2.0". Static storage. */
BGM_API const char *bgm_version_string(void);

/* ---- status codes ------------------------------------------------------ */

/**
 * Result of every fallible function. 0 is success, errors are negative.
 * Values are part of the ABI and are never renumbered.
 */
typedef enum bgm_status {
    BGM_OK = 0,
    BGM_E_INVALID = -1,     /**< bad argument: NULL pointer, out-of-range value */
    BGM_E_NOMEM = -2,       /**< an allocation failed or the size overflows */
    BGM_E_SHAPE = -3,       /**< shapes do not fit together */
    BGM_E_DTYPE = -4,       /**< wrong element type */
    BGM_E_IO = -5,          /**< a file could not be opened, read or written */
    BGM_E_FORMAT = -6,      /**< a file or buffer is malformed, truncated or corrupt */
    BGM_E_STATE = -7,       /**< the object is not in a state that allows the call */
    BGM_E_UNSUPPORTED = -8, /**< valid request this build or version cannot do */
    BGM_E_RANGE = -9,       /**< an index is outside its valid range */
    BGM_E_CANCELLED = -10,  /**< stopped on request (cancel flag, callback) */
    BGM_E_INTERNAL = -11,   /**< an internal invariant failed: a library bug */
    BGM_E_NONFINITE = -12   /**< training met a NaN or infinite loss or gradient */
} bgm_status;

/**
 * Message describing the most recent error on the calling thread.
 * Never NULL ("" when no error happened yet). The string is owned by the
 * library and stays valid until the next failing call on this thread.
 */
BGM_API const char *bgm_last_error(void);

/** Clears the calling thread's error message. */
BGM_API void bgm_clear_error(void);

/**
 * For code built on the library (a communicator's transport, an add-on
 * library): makes message (copied, truncated to the library's limit) the
 * calling thread's error message and returns status, so that its failures
 * read like the library's own. Errors: BGM_E_INVALID (NULL message, or a
 * status that is not an error, i.e. not negative), with a message naming
 * this function.
 */
BGM_API bgm_status bgm_set_last_error(bgm_status status, const char *message);

/** Name of a status code, e.g. "BGM_E_SHAPE". Static storage; unknown codes give "BGM_E_UNKNOWN". */
BGM_API const char *bgm_status_string(bgm_status status);

/* ---- threads ----------------------------------------------------------- */

/**
 * Sets how many threads the library may use. Its own pool splits the work
 * and keeps OpenBLAS single-threaded, so the two never oversubscribe the
 * machine (the first call into the library sets OpenBLAS to one thread for
 * the whole process). n == 0 means one per online core. The setting is process-wide; call it when no other thread is
 * inside the library.
 * Errors: BGM_E_INVALID when n < 0 or n > 1024.
 */
BGM_API bgm_status bgm_set_num_threads(int n);

/** Number of threads currently in use by the library (>= 1). */
BGM_API int bgm_get_num_threads(void);

/* ---- kernels ----------------------------------------------------------- */

/**
 * Instruction-set path of the library's own kernels in this process:
 * "avx512", "avx2" (AVX2 + FMA) or "generic" (plain C, matrix products
 * through BLAS). It is the widest path the CPU has, capped by the
 * environment variable BIGMODEL_ISA (avx512, avx2 or generic) as it was at
 * the first call into a kernel; BIGMODEL_GEMM=blas further sends every
 * matrix product to BLAS. Static storage; never NULL.
 */
BGM_API const char *bgm_kernel_isa(void);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_CORE_H */
