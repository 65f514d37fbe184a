/* Internal layout of bgm_tensor, shared by core and autograd. Never public. */
#ifndef BGM_CORE_TENSOR_IMPL_H
#define BGM_CORE_TENSOR_IMPL_H

#include "bigmodel/tensor.h"

/* Reference-counted buffer shared by a tensor and its views. */
typedef struct bgm__storage {
    void *data;
    int refcount;           /* atomic */
    bgm_deleter deleter;    /* NULL: borrowed (or ours when owned is set) */
    void *ctx;
    int owned;              /* data came from bgm__aligned_alloc */
} bgm__storage;

struct bgm_tape;

struct bgm_tensor {
    bgm_dtype dtype;
    int ndim;
    int64_t shape[BGM_MAX_DIMS];
    int64_t numel;
    void *data;                /* first element */
    bgm__storage *storage;     /* NULL when the tensor lives in a tape's arena */
    struct bgm_tape *tape;     /* owning tape, or NULL for caller-owned tensors */
    int32_t node;              /* producing node on tape, or -1 */
    uint8_t requires_grad;
};

/* Checks dtype, ndim and dims; computes the element count. Sets the error. */
bgm_status bgm__check_shape(const char *func, bgm_dtype dtype, const int64_t *shape,
                            int ndim, int64_t *numel);

/* Fills t's metadata (dtype, ndim, shape, numel); no allocation. */
void bgm__tensor_set_meta(bgm_tensor *t, bgm_dtype dtype, const int64_t *shape,
                          int ndim, int64_t numel);

/* New caller-owned tensor with uninitialized data. Sets the error. */
bgm_status bgm__tensor_new(bgm_tensor **out, const char *func, bgm_dtype dtype,
                           const int64_t *shape, int ndim);

/* Formats t's shape with bgm__shape_str. */
char *bgm__tensor_shape_str(char *buf, size_t size, const bgm_tensor *t);

/* Resolves a single -1 in shape against numel; BGM_E_SHAPE names both shapes. */
bgm_status bgm__resolve_reshape(const char *func, const bgm_tensor *t,
                                const int64_t *shape, int ndim, int64_t *resolved);

#endif
