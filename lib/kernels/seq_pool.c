/* Weighted time means (see seq_pool.h), threaded over sequences. */
#include "seq_pool.h"

#include <stddef.h>

#include "core/threads.h"
#include "simd.h"

#define PIECE_MIN_ELEMS ((int64_t)1 << 14)

typedef struct seq_job {
    const float *src, *w;   /* x (forward) or gy (backward) */
    float *dst;             /* y or gx */
    int64_t t, c;
    int overwrite;
} seq_job;

void bgm__seq_pool_weights(const float *mask, int64_t n, int64_t t, float *w)
{
    int64_t i, s;
    for (i = 0; i < n; i++) {
        const float *mr = mask ? mask + i * t : NULL;
        float *wr = w + i * t;
        double count = 0.0;
        float inv;
        if (!mr) {
            for (s = 0; s < t; s++)
                wr[s] = 1.0f / (float)t;
            continue;
        }
        for (s = 0; s < t; s++)
            count += mr[s];
        inv = count != 0.0 ? (float)(1.0 / count) : 0.0f;
        for (s = 0; s < t; s++)
            wr[s] = mr[s] * inv;
    }
}

BGM__HOT static void forward_range(void *ctx, int64_t begin, int64_t end)
{
    const seq_job *j = ctx;
    int64_t i, s, ch, t = j->t, c = j->c;
    for (i = begin; i < end; i++) {
        const float *x = j->src + i * t * c, *w = j->w + i * t;
        float *y = j->dst + i * c;
        for (ch = 0; ch < c; ch++)
            y[ch] = 0.0f;
        for (s = 0; s < t; s++)
            for (ch = 0; ch < c; ch++)
                y[ch] += w[s] * x[s * c + ch];
    }
}

BGM__HOT static void backward_range(void *ctx, int64_t begin, int64_t end)
{
    const seq_job *j = ctx;
    int64_t i, s, ch, t = j->t, c = j->c;
    for (i = begin; i < end; i++) {
        const float *gy = j->src + i * c, *w = j->w + i * t;
        float *gx = j->dst + i * t * c;
        for (s = 0; s < t; s++) {
            if (j->overwrite)
                for (ch = 0; ch < c; ch++) gx[s * c + ch] = w[s] * gy[ch];
            else
                for (ch = 0; ch < c; ch++) gx[s * c + ch] += w[s] * gy[ch];
        }
    }
}

static void run(bgm__range_fn fn, seq_job *j, int64_t n)
{
    int64_t per = j->t * j->c;
    if (n > 0 && per > 0)
        bgm__parallel_for(n, per < PIECE_MIN_ELEMS ? PIECE_MIN_ELEMS / per : 1, fn, j);
}

void bgm__seq_pool_forward(const float *x, const float *w, int64_t n, int64_t t, int64_t c,
                           float *y)
{
    seq_job j = {x, w, y, t, c, 1};
    run(forward_range, &j, n);
}

void bgm__seq_pool_backward(const float *gy, const float *w, int64_t n, int64_t t,
                            int64_t c, float *gx, int overwrite)
{
    seq_job j = {gy, w, gx, t, c, overwrite != 0};
    run(backward_range, &j, n);
}
