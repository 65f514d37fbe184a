/*
 * Binary elementwise kernels with NumPy broadcasting: a plan computed once
 * from the two shapes, a forward kernel, and a backward kernel that sums the
 * output gradient over the dimensions an operand was broadcast along.
 */
#ifndef BGM_KERNELS_BROADCAST_H
#define BGM_KERNELS_BROADCAST_H

#include <stdint.h>

#include "bigmodel/tensor.h"

typedef enum bgm__binop {
    BGM__BIN_ADD,
    BGM__BIN_SUB,
    BGM__BIN_MUL,
    BGM__BIN_DIV,
    /* Elementwise maximum / minimum, NaN-propagating. The gradient goes to
     * the larger (smaller) operand; on a tie each operand gets half, and
     * where either is NaN both get all of it (PyTorch's torch.maximum /
     * torch.minimum rules). */
    BGM__BIN_MAX,
    BGM__BIN_MIN
} bgm__binop;

/*
 * How to walk the output. shape/ndim is the broadcast result as the caller
 * sees it. The iteration dimensions are the same walk with size-1 dimensions
 * dropped and neighbours merged wherever both operands allow it, so that
 * same-shape operands become one flat loop and a bias row becomes (rows, n).
 * astride/bstride are element strides per iteration dimension; 0 marks a
 * dimension the operand is broadcast along.
 */
typedef struct bgm__bcast {
    int ndim;
    int64_t shape[BGM_MAX_DIMS];
    int64_t numel;
    int nit;
    int64_t it[BGM_MAX_DIMS];
    int64_t astride[BGM_MAX_DIMS];
    int64_t bstride[BGM_MAX_DIMS];
    int64_t anumel, bnumel;
} bgm__bcast;

/* Fills p for operands of shapes ashape and bshape. Returns 0, or -1 when
 * the shapes do not broadcast. */
int bgm__bcast_plan(bgm__bcast *p, const int64_t *ashape, int andim,
                    const int64_t *bshape, int bndim);

/* out = a op b over p's output (p->numel elements). */
void bgm__bcast_forward(bgm__binop op, const bgm__bcast *p, const float *a,
                        const float *b, float *out);

/*
 * Accumulates the gradients of out = a op b: ga += d/da, gb += d/db, each
 * summed over the operand's broadcast dimensions. ga or gb may be NULL
 * (not wanted); they may be the same buffer when a and b are one tensor.
 */
void bgm__bcast_backward(bgm__binop op, const bgm__bcast *p, const float *a,
                         const float *b, const float *gout, float *ga, float *gb);

#endif
