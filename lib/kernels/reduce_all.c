/*
 * Whole-buffer reductions. The sum keeps several double accumulators so the
 * adds do not wait on each other and large buffers lose no precision.
 */
#include "reduce_all.h"

#include <math.h>

#define LANES 8

double bgm__sum_all(const float *x, int64_t n)
{
    double acc[LANES] = {0}, total = 0.0;
    int64_t i = 0, k;
    for (; i + LANES <= n; i += LANES)
        for (k = 0; k < LANES; k++)
            acc[k] += x[i + k];
    for (; i < n; i++)
        acc[0] += x[i];
    for (k = 0; k < LANES; k++)
        total += acc[k];
    return total;
}

int64_t bgm__argmax_all(const float *x, int64_t n)
{
    int64_t i, best = 0;
    if (isnan(x[0]))
        return 0;
    for (i = 1; i < n; i++) {
        if (isnan(x[i]))
            return i;
        if (x[i] > x[best])
            best = i;
    }
    return best;
}

void bgm__add_scalar_into(float *g, float v, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        g[i] += v;
}
