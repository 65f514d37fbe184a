/*
 * bigmodel/tensor.h — n-dimensional arrays (bgm_tensor) and random generators (bgm_rng).
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 */
#ifndef BIGMODEL_TENSOR_H
#define BIGMODEL_TENSOR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most dimensions a tensor can have. */
#define BGM_MAX_DIMS 8

/** Element type. Values are part of the ABI. */
typedef enum bgm_dtype {
    BGM_FLOAT32 = 1,
    BGM_INT32 = 2
} bgm_dtype;

/** An n-dimensional row-major array. Opaque; see the accessors below. */
typedef struct bgm_tensor bgm_tensor;

/** A seeded pseudo-random generator (one stream; not thread-safe). */
typedef struct bgm_rng bgm_rng;

/** Called once when the last tensor using a wrapped buffer is freed. */
typedef void (*bgm_deleter)(void *data, void *ctx);

/* ---- creation ----------------------------------------------------------
 * Every creator writes a new tensor to *out, which the caller frees with
 * bgm_tensor_free(). On error *out is set to NULL.
 * Common errors: BGM_E_INVALID (NULL out, NULL shape with ndim > 0,
 * ndim outside 0..BGM_MAX_DIMS, negative dimension, unknown dtype),
 * BGM_E_NOMEM (allocation failed or the element count overflows).
 * ndim == 0 makes a scalar holding one element.
 */

/** New tensor of zeros. */
BGM_API bgm_status bgm_tensor_zeros(bgm_tensor **out, bgm_dtype dtype,
                                    const int64_t *shape, int ndim);

/** New tensor of ones. */
BGM_API bgm_status bgm_tensor_ones(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim);

/** New tensor with every element equal to value (converted to dtype). */
BGM_API bgm_status bgm_tensor_full(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim, double value);

/**
 * New tensor holding a copy of data (numel elements of dtype, row-major).
 * The caller keeps ownership of data. Errors also: BGM_E_INVALID when data is
 * NULL and the tensor has elements.
 */
BGM_API bgm_status bgm_tensor_from_data(bgm_tensor **out, bgm_dtype dtype,
                                        const int64_t *shape, int ndim,
                                        const void *data);

/**
 * New tensor that uses the caller's buffer without copying.
 * With deleter == NULL the buffer is borrowed: the caller keeps it alive and
 * unchanged in size until every tensor and view over it is freed. With a
 * deleter, the library calls deleter(data, ctx) once, when the last tensor or
 * view over the buffer is freed. On error the deleter is not called and the
 * caller still owns data.
 * data must be aligned to its element size (4 bytes).
 */
BGM_API bgm_status bgm_tensor_wrap(bgm_tensor **out, bgm_dtype dtype,
                                   const int64_t *shape, int ndim, void *data,
                                   bgm_deleter deleter, void *ctx);

/** New float32 tensor of draws from N(mean, stddev^2), from rng. Errors also: stddev < 0. */
BGM_API bgm_status bgm_tensor_randn(bgm_tensor **out, bgm_rng *rng,
                                    const int64_t *shape, int ndim,
                                    float mean, float stddev);

/** New float32 tensor of draws from the uniform distribution on [low, high). */
BGM_API bgm_status bgm_tensor_rand_uniform(bgm_tensor **out, bgm_rng *rng,
                                           const int64_t *shape, int ndim,
                                           float low, float high);

/** New tensor with its own copy of t's elements (same dtype and shape). */
BGM_API bgm_status bgm_tensor_clone(bgm_tensor **out, const bgm_tensor *t);

/**
 * New view of t with another shape and the same elements (no copy). One
 * dimension may be -1 and is then inferred. The view shares t's storage:
 * writes through one are seen through the other; the storage lives until
 * both are freed.
 * Errors: BGM_E_SHAPE when the element counts differ (both shapes named).
 */
BGM_API bgm_status bgm_tensor_reshape(bgm_tensor **out, const bgm_tensor *t,
                                      const int64_t *shape, int ndim);

/**
 * New view of rows [start, stop) of t's first dimension (no copy), sharing
 * storage as bgm_tensor_reshape does.
 * Errors: BGM_E_INVALID for a scalar, BGM_E_RANGE unless 0 <= start <= stop <= dim 0.
 */
BGM_API bgm_status bgm_tensor_slice(bgm_tensor **out, const bgm_tensor *t,
                                    int64_t start, int64_t stop);

/**
 * Frees a tensor handle and, with the last handle, its storage. NULL is a
 * no-op. Tensors owned by a tape (results of ops recorded on it) are freed
 * with the tape; calling this on them does nothing.
 */
BGM_API void bgm_tensor_free(bgm_tensor *t);

/* ---- accessors ---------------------------------------------------------
 * None of these fail; on a NULL tensor they return 0 / NULL.
 */

/** Number of dimensions (0 for a scalar). */
BGM_API int bgm_tensor_ndim(const bgm_tensor *t);

/** Size of dimension i; negative i counts from the end. 0 when i is out of range. */
BGM_API int64_t bgm_tensor_dim(const bgm_tensor *t, int i);

/** The shape array (ndim entries), borrowed: valid while t lives. */
BGM_API const int64_t *bgm_tensor_shape(const bgm_tensor *t);

/** Element type. 0 for NULL. */
BGM_API bgm_dtype bgm_tensor_dtype(const bgm_tensor *t);

/** Number of elements (product of the shape; 1 for a scalar). */
BGM_API int64_t bgm_tensor_numel(const bgm_tensor *t);

/** Bytes taken by the elements: numel * element size. */
BGM_API size_t bgm_tensor_nbytes(const bgm_tensor *t);

/**
 * Pointer to the first element, borrowed: valid while t (or another view of
 * the same storage) lives. Elements are contiguous and row-major. Writing
 * through it is allowed; do not write to a tensor a live tape still needs.
 */
BGM_API void *bgm_tensor_data(const bgm_tensor *t);

/** Size in bytes of one element of dtype (0 for an unknown dtype). */
BGM_API size_t bgm_dtype_size(bgm_dtype dtype);

/* ---- copying and updating --------------------------------------------- */

/**
 * Copies t's elements into buf, which holds nbytes bytes.
 * Errors: BGM_E_INVALID (NULL), BGM_E_SHAPE when nbytes != bgm_tensor_nbytes(t).
 */
BGM_API bgm_status bgm_tensor_copy_to(const bgm_tensor *t, void *buf, size_t nbytes);

/**
 * Overwrites t's elements from buf (nbytes bytes, same layout).
 * Errors: BGM_E_INVALID (NULL), BGM_E_SHAPE when nbytes != bgm_tensor_nbytes(t).
 */
BGM_API bgm_status bgm_tensor_copy_from(bgm_tensor *t, const void *buf, size_t nbytes);

/** Sets every element of t to value (converted to t's dtype). Errors: BGM_E_INVALID. */
BGM_API bgm_status bgm_tensor_fill(bgm_tensor *t, double value);

/**
 * In-place y += alpha * x over float32 tensors of the same element count:
 * the building block of hand-written optimizer steps.
 * Errors: BGM_E_INVALID (NULL), BGM_E_DTYPE (not float32), BGM_E_SHAPE.
 */
BGM_API bgm_status bgm_tensor_axpy(bgm_tensor *y, float alpha, const bgm_tensor *x);

/* ---- random generators ------------------------------------------------- */

/**
 * New generator seeded with seed; equal seeds give equal streams on every
 * platform. Free with bgm_rng_free(). Errors: BGM_E_INVALID, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_rng_create(bgm_rng **out, uint64_t seed);

/** Frees a generator; NULL is a no-op. */
BGM_API void bgm_rng_free(bgm_rng *rng);

/** Next 64 random bits from rng (0 for NULL). */
BGM_API uint64_t bgm_rng_next_u64(bgm_rng *rng);

/** Next float uniform on [0, 1) (0 for NULL). */
BGM_API float bgm_rng_uniform(bgm_rng *rng);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_TENSOR_H */
