/*
 * Unary elementwise kernels, threaded over contiguous pieces of the buffer.
 * Derivatives follow PyTorch's choices at the edges: relu and leaky relu
 * take the x <= 0 branch at 0, pow with exponent 0 has gradient 0.
 */
#include "elementwise.h"

#include <math.h>
#include <stddef.h>

#include "core/threads.h"
#include "fastexp.h"
#include "simd.h"

/* Below this many elements, threads cost more than they save. */
#define ELEMENTWISE_MIN_CHUNK 32768

typedef struct unary_ctx {
    bgm__unary op;
    float alpha;
    const float *x, *y, *gy;
    float *out;               /* y for forward, gx for backward */
    int overwrite;            /* backward: gx = rather than += */
} unary_ctx;

/* 1 / (1 + e^-v) without overflow: e^-|v| never exceeds 1. */
BGM__INLINE float sigmoid(float v)
{
    if (v >= 0.0f)
        return 1.0f / (1.0f + expf(-v));
    else {
        float e = expf(v);
        return e / (1.0f + e);
    }
}

#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

/* erfc(z) as straight-line arithmetic (a libm call would stop the loops
 * from vectorizing): for a = |z|, t = 1 / (1 + a/2), erfc(a) = t exp(-a^2 +
 * P(t)) with the degree-9 Chebyshev fit of Numerical Recipes' erfcc
 * (relative error below 1.2e-7 for every a >= 0), and erfc(-a) = 2 -
 * erfc(a). Relative accuracy holds in the far tail, where 1 - erf(a) would
 * cancel. Measured against double erfc: GELU within 1.2e-6 relative for
 * v >= -3, 1.7e-5 down to v = -12 (values near 1e-30). NaN stays NaN. */
BGM__INLINE float fast_erfc(float z)
{
    float a = z < 0.0f ? -z : z, t = 1.0f / (1.0f + 0.5f * a), y;
    float p = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f +
              t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (1.48851587f +
              t * (-0.82215223f + t * 0.17087277f))))))));
    y = t * bgm__fast_exp(p - a * a);
    return z < 0.0f ? 2.0f - y : y;
}

/* Phi(v) as erfc: 1 + erf(v / sqrt 2) cancels to a few correct digits for
 * v below about -2, where PyTorch's float32 GELU loses them. */
BGM__INLINE float normal_cdf(float v)
{
    return 0.5f * fast_erfc(-v * INV_SQRT2);
}

BGM__INLINE float gelu(float v)
{
    return v * normal_cdf(v);
}

/* d/dv of v * Phi(v) = Phi(v) + v * phi(v). */
BGM__INLINE float gelu_grad(float v)
{
    return normal_cdf(v) + v * INV_SQRT_2PI * bgm__fast_exp(-0.5f * v * v);
}

/* The tanh form of GELU (PyTorch's approximate='tanh', Keras' approximate=True):
 * 0.5 v (1 + tanh(u)), u = sqrt(2 / pi) (v + 0.044715 v^3), computed as
 * v * sigmoid(2u), which is the same function. gelu_tanh_s is sigmoid(2u). */
#define SQRT_2_OVER_PI 0.79788456080286535588f
#define GELU_TANH_C 0.044715f

BGM__INLINE float gelu_tanh_s(float v)
{
    float u = SQRT_2_OVER_PI * (v + GELU_TANH_C * v * v * v);
    return 1.0f / (1.0f + bgm__fast_exp(-2.0f * u));
}

/* d/dv of v * s(v), s = sigmoid(2u): s + v * 2 s (1 - s) du/dv. */
BGM__INLINE float gelu_tanh_grad(float v)
{
    float s = gelu_tanh_s(v);
    return s + v * 2.0f * s * (1.0f - s) * SQRT_2_OVER_PI *
                   (1.0f + 3.0f * GELU_TANH_C * v * v);
}

/* SiLU (swish): v * sigmoid(v); the derivative s (1 + v (1 - s)). */
BGM__INLINE float silu_s(float v)
{
    return 1.0f / (1.0f + bgm__fast_exp(-v));
}

BGM__INLINE float silu_grad(float v)
{
    float s = silu_s(v);
    return s * (1.0f + v * (1.0f - s));
}

BGM__HOT static void forward_range(void *vctx, int64_t begin, int64_t end)
{
    const unary_ctx *c = vctx;
    const float *x = c->x, a = c->alpha;
    float *y = c->out;
    int64_t i;
    switch (c->op) {
    case BGM__UN_NEG:
        for (i = begin; i < end; i++) y[i] = -x[i];
        break;
    case BGM__UN_SCALE:
        for (i = begin; i < end; i++) y[i] = a * x[i];
        break;
    case BGM__UN_EXP:
        for (i = begin; i < end; i++) y[i] = expf(x[i]);
        break;
    case BGM__UN_LOG:
        for (i = begin; i < end; i++) y[i] = logf(x[i]);
        break;
    case BGM__UN_SQRT:
        for (i = begin; i < end; i++) y[i] = sqrtf(x[i]);
        break;
    case BGM__UN_POW:
        if (a == 2.0f)
            for (i = begin; i < end; i++) y[i] = x[i] * x[i];
        else
            for (i = begin; i < end; i++) y[i] = powf(x[i], a);
        break;
    case BGM__UN_RELU:
        for (i = begin; i < end; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case BGM__UN_LEAKY_RELU:
        for (i = begin; i < end; i++) y[i] = x[i] > 0.0f ? x[i] : a * x[i];
        break;
    case BGM__UN_SIGMOID:
        for (i = begin; i < end; i++) y[i] = sigmoid(x[i]);
        break;
    case BGM__UN_TANH:
        for (i = begin; i < end; i++) y[i] = tanhf(x[i]);
        break;
    case BGM__UN_GELU:
        for (i = begin; i < end; i++) y[i] = gelu(x[i]);
        break;
    case BGM__UN_GELU_TANH:
        for (i = begin; i < end; i++) y[i] = x[i] * gelu_tanh_s(x[i]);
        break;
    case BGM__UN_SILU:
        for (i = begin; i < end; i++) y[i] = x[i] * silu_s(x[i]);
        break;
    }
}

BGM__INLINE float relu_grad(float v, float g) { return v > 0.0f ? g : 0.0f; }

BGM__INLINE float leaky_relu_grad(float v, float g, float a) { return v > 0.0f ? g : a * g; }

/* gx[i] = expr, or gx[i] += expr, over [begin, end). Both operands of the
 * relu selections are loaded either way, so the loops have no branch. */
#define GRAD_LOOP(expr)                                                            \
    do {                                                                           \
        if (c->overwrite)                                                          \
            for (i = begin; i < end; i++) gx[i] = (expr);                          \
        else                                                                       \
            for (i = begin; i < end; i++) gx[i] += (expr);                         \
    } while (0)

BGM__HOT static void backward_range(void *vctx, int64_t begin, int64_t end)
{
    const unary_ctx *c = vctx;
    const float *x = c->x, *y = c->y, *gy = c->gy, a = c->alpha;
    float *gx = c->out;
    int64_t i;
    switch (c->op) {
    case BGM__UN_NEG:
        GRAD_LOOP(-gy[i]);
        break;
    case BGM__UN_SCALE:
        GRAD_LOOP(a * gy[i]);
        break;
    case BGM__UN_EXP:
        GRAD_LOOP(gy[i] * y[i]);
        break;
    case BGM__UN_LOG:
        GRAD_LOOP(gy[i] / x[i]);
        break;
    case BGM__UN_SQRT:
        GRAD_LOOP(gy[i] / (2.0f * y[i]));
        break;
    case BGM__UN_POW:
        if (a == 0.0f && !c->overwrite)
            break;
        if (a == 0.0f)
            GRAD_LOOP(0.0f);
        else if (a == 2.0f)
            GRAD_LOOP(2.0f * x[i] * gy[i]);
        else
            GRAD_LOOP(a * powf(x[i], a - 1.0f) * gy[i]);
        break;
    case BGM__UN_RELU:
        GRAD_LOOP(relu_grad(x[i], gy[i]));
        break;
    case BGM__UN_LEAKY_RELU:
        GRAD_LOOP(leaky_relu_grad(x[i], gy[i], a));
        break;
    case BGM__UN_SIGMOID:
        GRAD_LOOP(gy[i] * y[i] * (1.0f - y[i]));
        break;
    case BGM__UN_TANH:
        GRAD_LOOP(gy[i] * (1.0f - y[i] * y[i]));
        break;
    case BGM__UN_GELU:
        GRAD_LOOP(gy[i] * gelu_grad(x[i]));
        break;
    case BGM__UN_GELU_TANH:
        GRAD_LOOP(gy[i] * gelu_tanh_grad(x[i]));
        break;
    case BGM__UN_SILU:
        GRAD_LOOP(gy[i] * silu_grad(x[i]));
        break;
    }
}

#undef GRAD_LOOP

void bgm__unary_forward(bgm__unary op, float alpha, const float *x, float *y, int64_t n)
{
    unary_ctx c = {op, alpha, x, NULL, NULL, y, 0};
    if (n > 0)
        bgm__parallel_for(n, ELEMENTWISE_MIN_CHUNK, forward_range, &c);
}

void bgm__unary_backward(bgm__unary op, float alpha, const float *x, const float *y,
                         const float *gy, float *gx, int64_t n, int overwrite)
{
    unary_ctx c = {op, alpha, x, y, gy, gx, overwrite != 0};
    if (n > 0)
        bgm__parallel_for(n, ELEMENTWISE_MIN_CHUNK, backward_range, &c);
}

BGM__HOT void bgm__accumulate(float *restrict y, const float *restrict x, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] += x[i];
}

/* ---- a sum and a ReLU in one pass (a residual block's Add + ReLU) ---- */

typedef struct add_relu_ctx {
    const float *a, *b, *y, *gy;
    float *ga, *gb;
    int fresh_a, fresh_b;
} add_relu_ctx;

BGM__HOT static void add_relu_forward_range(void *vctx, int64_t begin, int64_t end)
{
    const add_relu_ctx *c = vctx;
    const float *a = c->a, *b = c->b;
    float *y = (float *)c->y;
    int64_t i;
    for (i = begin; i < end; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

/* g written or added, as GRAD_LOOP does. */
#define RELU_GRAD_INTO(g, fresh)                                                       do {                                                                                   if (fresh)                                                                             for (i = begin; i < end; i++) g[i] = relu_grad(y[i], gy[i]);                  else                                                                                   for (i = begin; i < end; i++) g[i] += relu_grad(y[i], gy[i]);             } while (0)

BGM__HOT static void add_relu_backward_range(void *vctx, int64_t begin, int64_t end)
{
    const add_relu_ctx *c = vctx;
    const float *y = c->y, *gy = c->gy;
    float *ga = c->ga, *gb = c->gb;
    int64_t i;
    if (ga)
        RELU_GRAD_INTO(ga, c->fresh_a);
    if (gb)
        RELU_GRAD_INTO(gb, c->fresh_b);
}

#undef RELU_GRAD_INTO

void bgm__add_relu_forward(const float *a, const float *b, float *y, int64_t n)
{
    add_relu_ctx c = {a, b, y, NULL, NULL, NULL, 0, 0};
    if (n > 0)
        bgm__parallel_for(n, ELEMENTWISE_MIN_CHUNK, add_relu_forward_range, &c);
}

void bgm__add_relu_backward(const float *y, const float *gy, float *ga, int fresh_a,
                            float *gb, int fresh_b, int64_t n)
{
    add_relu_ctx c = {NULL, NULL, y, gy, ga, gb, fresh_a != 0, fresh_b != 0};
    if (n > 0 && (ga || gb))
        bgm__parallel_for(n, ELEMENTWISE_MIN_CHUNK, add_relu_backward_range, &c);
}
