/* Reductions over every element of a float buffer. */
#ifndef BGM_KERNELS_REDUCE_ALL_H
#define BGM_KERNELS_REDUCE_ALL_H

#include <stdint.h>

/* Sum of x[0..n-1], accumulated in double (0 for n == 0). */
double bgm__sum_all(const float *x, int64_t n);

/* Index of the first maximum of x[0..n-1] (n >= 1); a NaN counts as larger
 * than any number, so a NaN maximum propagates as in NumPy. */
int64_t bgm__argmax_all(const float *x, int64_t n);

/* g[i] += v for i in [0, n). */
void bgm__add_scalar_into(float *g, float v, int64_t n);

#endif
