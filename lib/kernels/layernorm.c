/*
 * Layer / RMS normalization kernels (see layernorm.h). One row at a time:
 * forward reads it three times (sum, squared deviations, output) while it
 * sits in L1; backward twice (the sums and the weight gradients' partial
 * rows, then dx). The row helpers are inlined with constant flags, so each
 * variant's inner loops are branch-free.
 */
#include "layernorm.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "simd.h"

#define LANES 16
/* Elements per piece of the threaded loops, at the least: below that a
 * piece is shorter than waking a worker. */
#define PIECE_MIN_ELEMS ((int64_t)1 << 14)

/* total = sum over j in [0, d) of expr (a function of the caller's j), in LANES
 * accumulators added in order, then the tail: vectorizes without
 * reassociation, so every clone gives the same bits. */
#define ROW_SUM(total, expr)                                                       \
    do {                                                                           \
        float acc_[LANES] = {0};                                                   \
        int64_t j0_, k_;                                                           \
        for (j0_ = 0; j0_ + LANES <= d; j0_ += LANES)                              \
            for (k_ = 0; k_ < LANES; k_++) {                                       \
                j = j0_ + k_;                                                      \
                acc_[k_] += (expr);                                                \
            }                                                                      \
        (total) = 0.0f;                                                            \
        for (k_ = 0; k_ < LANES; k_++)                                             \
            (total) += acc_[k_];                                                   \
        for (j = j0_; j < d; j++)                                                  \
            (total) += (expr);                                                     \
    } while (0)

BGM__INLINE void forward_row(const float *x, int64_t d, float eps, int rms,
                             const float *gamma, const float *beta, float *y,
                             float *mean_out, float *rstd_out)
{
    float mu = 0.0f, var, r;
    int64_t j;
    if (!rms) {
        ROW_SUM(mu, x[j]);
        mu /= (float)d;
    }
    ROW_SUM(var, (x[j] - mu) * (x[j] - mu));
    r = 1.0f / sqrtf(var / (float)d + eps);
    if (gamma && beta)
        for (j = 0; j < d; j++) y[j] = (x[j] - mu) * r * gamma[j] + beta[j];
    else if (gamma)
        for (j = 0; j < d; j++) y[j] = (x[j] - mu) * r * gamma[j];
    else if (beta)
        for (j = 0; j < d; j++) y[j] = (x[j] - mu) * r + beta[j];
    else
        for (j = 0; j < d; j++) y[j] = (x[j] - mu) * r;
    if (mean_out) {
        *mean_out = mu;
        *rstd_out = r;
    }
}

typedef struct norm_job {
    const float *x, *gy, *gamma, *beta, *mean, *rstd;
    float *y, *gx, *part;
    float *mean_out, *rstd_out;
    int64_t d, m, piece;
    float eps;
    int rms, overwrite, want_w;
} norm_job;

BGM__HOT static void forward_range(void *ctx, int64_t begin, int64_t end)
{
    const norm_job *jb = ctx;
    const int64_t d = jb->d;
    int64_t i;
    for (i = begin; i < end; i++)
        forward_row(jb->x + i * d, d, jb->eps, jb->rms, jb->gamma,
                    jb->rms ? NULL : jb->beta, jb->y + i * d,
                    jb->mean_out ? jb->mean_out + i : NULL,
                    jb->rstd_out ? jb->rstd_out + i : NULL);
}

void bgm__norm_forward(const float *x, int64_t m, int64_t d, float eps, int rms,
                       const float *gamma, const float *beta, float *y, float *mean,
                       float *rstd)
{
    norm_job jb;
    if (m <= 0 || d <= 0)
        return;
    memset(&jb, 0, sizeof jb);
    jb.x = x;
    jb.gamma = gamma;
    jb.beta = beta;
    jb.y = y;
    jb.mean_out = mean;
    jb.rstd_out = rstd;
    jb.d = d;
    jb.eps = eps;
    jb.rms = rms != 0;
    bgm__parallel_for(m, d < PIECE_MIN_ELEMS ? PIECE_MIN_ELEMS / d : 1, forward_range, &jb);
}

/* s1 / s2 = sums over j in [0, d) of e1 / e2 (as ROW_SUM), with the
 * statement side run for every j in the same loop. */
#define ROW_SUMS2(s1, e1, s2, e2, side)                                            \
    do {                                                                           \
        float a1_[LANES] = {0}, a2_[LANES] = {0};                                  \
        int64_t j0_, k_;                                                           \
        for (j0_ = 0; j0_ + LANES <= d; j0_ += LANES)                              \
            for (k_ = 0; k_ < LANES; k_++) {                                       \
                j = j0_ + k_;                                                      \
                a1_[k_] += (e1);                                                   \
                a2_[k_] += (e2);                                                   \
                side;                                                              \
            }                                                                      \
        (s1) = (s2) = 0.0f;                                                        \
        for (k_ = 0; k_ < LANES; k_++) {                                           \
            (s1) += a1_[k_];                                                       \
            (s2) += a2_[k_];                                                       \
        }                                                                          \
        for (j = j0_; j < d; j++) {                                                \
            (s1) += (e1);                                                          \
            (s2) += (e2);                                                          \
            side;                                                                  \
        }                                                                          \
    } while (0)

#define XHAT ((x[j] - mu) * r)
#define WEIGHT_SUMS (pg[j] += gy[j] * XHAT, pb[j] += gy[j])

/*
 * One row of backward. With g = gy * gamma and xhat = (x - mean) * rstd:
 * dx = rstd (g - mean(g) - xhat mean(g xhat)), the mean(g) term absent for
 * rms (its mean is no statistic). With want_w, pg / pb gain gy * xhat and gy
 * in the same pass as the two sums; dx is the second pass.
 */
BGM__INLINE void backward_row(const float *x, const float *gy, int64_t d, int rms,
                              const float *gamma, float mu, float r, float *gx,
                              int overwrite, int want_w, float *pg, float *pb)
{
    float sg, sgx, c1, c2;
    int64_t j;
    if (gamma && want_w)
        ROW_SUMS2(sg, gy[j] * gamma[j], sgx, gy[j] * gamma[j] * XHAT, WEIGHT_SUMS);
    else if (gamma)
        ROW_SUMS2(sg, gy[j] * gamma[j], sgx, gy[j] * gamma[j] * XHAT, (void)0);
    else if (want_w)
        ROW_SUMS2(sg, gy[j], sgx, gy[j] * XHAT, WEIGHT_SUMS);
    else
        ROW_SUMS2(sg, gy[j], sgx, gy[j] * XHAT, (void)0);
    if (!gx)
        return;
    c1 = rms ? 0.0f : sg / (float)d;
    c2 = sgx / (float)d;
    if (gamma && overwrite)
        for (j = 0; j < d; j++) gx[j] = r * (gy[j] * gamma[j] - c1 - XHAT * c2);
    else if (gamma)
        for (j = 0; j < d; j++) gx[j] += r * (gy[j] * gamma[j] - c1 - XHAT * c2);
    else if (overwrite)
        for (j = 0; j < d; j++) gx[j] = r * (gy[j] - c1 - XHAT * c2);
    else
        for (j = 0; j < d; j++) gx[j] += r * (gy[j] - c1 - XHAT * c2);
}

#undef XHAT
#undef WEIGHT_SUMS

BGM__HOT static void backward_slots(void *ctx, int64_t begin, int64_t end)
{
    const norm_job *jb = ctx;
    const int64_t d = jb->d;
    int64_t s, i;
    for (s = begin; s < end; s++) {
        int64_t r0 = s * jb->piece, r1 = r0 + jb->piece < jb->m ? r0 + jb->piece : jb->m;
        float *pg = jb->part + s * 2 * d, *pb = pg + d;
        if (jb->want_w)
            memset(pg, 0, (size_t)(2 * d) * sizeof *pg);
        for (i = r0; i < r1; i++) {
            float *gx = jb->gx ? jb->gx + i * d : NULL;
            if (jb->want_w)
                backward_row(jb->x + i * d, jb->gy + i * d, d, jb->rms, jb->gamma,
                             jb->mean[i], jb->rstd[i], gx, jb->overwrite, 1, pg, pb);
            else
                backward_row(jb->x + i * d, jb->gy + i * d, d, jb->rms, jb->gamma,
                             jb->mean[i], jb->rstd[i], gx, jb->overwrite, 0, NULL, NULL);
        }
    }
}

int64_t bgm__norm_backward_slots(int64_t m, int64_t d)
{
    int64_t min_rows = d > 0 && d < PIECE_MIN_ELEMS ? PIECE_MIN_ELEMS / d : 1;
    int64_t slots = 2 * (int64_t)bgm__pool_threads();
    if (slots > m / min_rows)
        slots = m / min_rows;
    return slots < 1 ? 1 : slots;
}

/* dst = (overwrite ? 0 : dst) + the slots' partials at offset, in slot order. */
static void reduce_slots(const float *part, int64_t slots, int64_t d, int64_t offset,
                         float *dst, int overwrite)
{
    int64_t s, j;
    if (overwrite)
        memset(dst, 0, (size_t)d * sizeof *dst);
    for (s = 0; s < slots; s++) {
        const float *p = part + s * 2 * d + offset;
        for (j = 0; j < d; j++)
            dst[j] += p[j];
    }
}

void bgm__norm_backward(const float *x, const float *gy, int64_t m, int64_t d, int rms,
                        const float *gamma, const float *mean, const float *rstd, float *gx,
                        int overwrite, float *ggamma, int overwrite_gamma, float *gbeta,
                        int overwrite_beta, float *part)
{
    norm_job jb;
    int64_t slots;
    if (d <= 0)
        return;
    if (m <= 0) { /* no rows: the weight gradients are sums over nothing */
        if (ggamma && overwrite_gamma)
            memset(ggamma, 0, (size_t)d * sizeof *ggamma);
        if (gbeta && overwrite_beta)
            memset(gbeta, 0, (size_t)d * sizeof *gbeta);
        return;
    }
    slots = bgm__norm_backward_slots(m, d);
    memset(&jb, 0, sizeof jb);
    jb.x = x;
    jb.gy = gy;
    jb.gamma = gamma;
    jb.mean = mean;
    jb.rstd = rstd;
    jb.gx = gx;
    jb.part = part;
    jb.d = d;
    jb.m = m;
    jb.piece = (m + slots - 1) / slots;
    jb.rms = rms != 0;
    jb.overwrite = overwrite != 0;
    jb.want_w = ggamma || gbeta;
    bgm__parallel_for(slots, 1, backward_slots, &jb);
    if (ggamma)
        reduce_slots(part, slots, d, 0, ggamma, overwrite_gamma);
    if (gbeta)
        reduce_slots(part, slots, d, d, gbeta, overwrite_beta);
}
