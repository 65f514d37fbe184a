/* Optimizer update rules and clipping loops (see optim_kernels.h). */
#include "optim_kernels.h"

#include <math.h>

void bgm__sgd_update(float *p, const float *g, int64_t n, float lr)
{
    int64_t i;
    for (i = 0; i < n; i++)
        p[i] -= lr * g[i];
}

void bgm__sgd_momentum_update(float *p, const float *g, float *v, int64_t n, float lr,
                              float mu, int nesterov)
{
    int64_t i;
    if (nesterov) {
        for (i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            p[i] -= lr * (g[i] + mu * v[i]);
        }
    } else {
        for (i = 0; i < n; i++) {
            v[i] = mu * v[i] + g[i];
            p[i] -= lr * v[i];
        }
    }
}

void bgm__adam_update(float *p, const float *g, float *m, float *v, int64_t n,
                      float step_size, float beta1, float omb1, float beta2, float omb2,
                      float bc2_sqrt, float eps)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float denom;
        m[i] = beta1 * m[i] + omb1 * gi;
        v[i] = beta2 * v[i] + omb2 * gi * gi;
        /* Same order of operations as torch.optim.Adam, so float results agree. */
        denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

void bgm__rmsprop_update(float *p, const float *g, float *s, float *buf, int64_t n,
                         float lr, float rho, float omr, float mu, float eps)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float d;
        s[i] = rho * s[i] + omr * gi * gi;
        d = gi / (sqrtf(s[i]) + eps);
        if (buf) {
            buf[i] = mu * buf[i] + d;
            d = buf[i];
        }
        p[i] -= lr * d;
    }
}

void bgm__scale_inplace(float *x, int64_t n, float factor)
{
    int64_t i;
    for (i = 0; i < n; i++)
        x[i] *= factor;
}

double bgm__sum_squares(const float *x, int64_t n)
{
    double sum = 0.0;
    int64_t i;
    for (i = 0; i < n; i++)
        sum += (double)x[i] * (double)x[i];
    return sum;
}

void bgm__clip_values(float *x, int64_t n, float clip)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        if (x[i] > clip)
            x[i] = clip;
        else if (x[i] < -clip)
            x[i] = -clip;
    }
}
