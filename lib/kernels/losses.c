/* Loss kernels: sums in double, gradients accumulated in float. */
#include "losses.h"

#include <math.h>

static const double eps = BGM__LOSS_EPS, one_minus_eps = 1.0 - (double)BGM__LOSS_EPS;

static double clip(double p)
{
    return p < eps ? eps : p > one_minus_eps ? one_minus_eps : p;
}

static int unclipped(double p)
{
    return p >= eps && p <= one_minus_eps;
}

/* log(sum_j exp(x_j)) of one row, shifted by its maximum. */
static double row_logsumexp(const float *x, int64_t c)
{
    double m = -INFINITY, s = 0.0;
    int64_t j;
    for (j = 0; j < c; j++)
        if (x[j] > m)
            m = x[j];
    if (isinf(m))
        return m; /* all -inf (or +inf present): avoid inf - inf */
    for (j = 0; j < c; j++)
        s += exp((double)x[j] - m);
    return m + log(s);
}

static double row_sum(const float *p, int64_t c)
{
    double s = 0.0;
    int64_t j;
    for (j = 0; j < c; j++)
        s += p[j];
    return s;
}

double bgm__mse_sum(const float *p, const float *t, int64_t n)
{
    double s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        double d = (double)p[i] - t[i];
        s += d * d;
    }
    return s;
}

void bgm__mse_backward(const float *p, const float *t, int64_t n, float scale, float *gp,
                       float *gt)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float g = 2.0f * scale * (p[i] - t[i]);
        if (gp)
            gp[i] += g;
        if (gt)
            gt[i] -= g;
    }
}

double bgm__mae_sum(const float *p, const float *t, int64_t n)
{
    double s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++)
        s += fabs((double)p[i] - t[i]);
    return s;
}

void bgm__mae_backward(const float *p, const float *t, int64_t n, float scale, float *gp,
                       float *gt)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float g = p[i] > t[i] ? scale : p[i] < t[i] ? -scale : 0.0f;
        if (gp)
            gp[i] += g;
        if (gt)
            gt[i] -= g;
    }
}

double bgm__bce_logits_sum(const float *x, const float *t, int64_t n)
{
    double s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        double v = x[i];
        s += (v > 0.0 ? v : 0.0) - v * t[i] + log1p(exp(-fabs(v)));
    }
    return s;
}

void bgm__bce_logits_backward(const float *x, const float *t, int64_t n, float scale,
                              float *gx, float *gt)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        double v = x[i], e = exp(-fabs(v));
        double sig = v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        if (gx)
            gx[i] += (float)(scale * (sig - t[i]));
        if (gt)
            gt[i] -= scale * x[i];
    }
}

double bgm__bce_probs_sum(const float *p, const float *t, int64_t n)
{
    double s = 0.0;
    int64_t i;
    for (i = 0; i < n; i++) {
        double pc = clip(p[i]);
        s -= t[i] * log(pc) + (1.0 - t[i]) * log(1.0 - pc);
    }
    return s;
}

void bgm__bce_probs_backward(const float *p, const float *t, int64_t n, float scale,
                             float *gp, float *gt)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        double pc = clip(p[i]);
        if (gp && unclipped(p[i]))
            gp[i] += (float)(scale * (-t[i] / pc + (1.0 - t[i]) / (1.0 - pc)));
        if (gt)
            gt[i] += (float)(scale * (log(1.0 - pc) - log(pc)));
    }
}

double bgm__cce_logits_sum(const float *x, const float *t, int64_t rows, int64_t c)
{
    double s = 0.0;
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * c, *tr = t + r * c;
        double lse = row_logsumexp(xr, c);
        for (j = 0; j < c; j++)
            if (tr[j] != 0.0f)
                s += tr[j] * (lse - xr[j]);
    }
    return s;
}

void bgm__cce_logits_backward(const float *x, const float *t, int64_t rows, int64_t c,
                              float scale, float *gx, float *gt)
{
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * c, *tr = t + r * c;
        double lse = row_logsumexp(xr, c), total = gx ? row_sum(tr, c) : 0.0;
        for (j = 0; j < c; j++) {
            double logp = xr[j] - lse;
            if (gx)
                gx[r * c + j] += (float)(scale * (exp(logp) * total - tr[j]));
            if (gt)
                gt[r * c + j] -= (float)(scale * logp);
        }
    }
}

double bgm__cce_probs_sum(const float *p, const float *t, int64_t rows, int64_t c)
{
    double s = 0.0;
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *pr = p + r * c, *tr = t + r * c;
        double sum = row_sum(pr, c);
        for (j = 0; j < c; j++)
            if (tr[j] != 0.0f)
                s -= tr[j] * log(clip(pr[j] / sum));
    }
    return s;
}

void bgm__cce_probs_backward(const float *p, const float *t, int64_t rows, int64_t c,
                             float scale, float *gp, float *gt)
{
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *pr = p + r * c, *tr = t + r * c;
        double sum = row_sum(pr, c), dot = 0.0;
        /* d/dq_j = -t_j / q_j where unclipped; through q = p / sum that is
         * d/dp_i = (d/dq_i - sum_j d/dq_j q_j) / sum. */
        for (j = 0; j < c; j++) {
            double q = pr[j] / sum;
            if (unclipped(q))
                dot -= tr[j];
        }
        for (j = 0; j < c; j++) {
            double q = pr[j] / sum, gq = unclipped(q) ? -tr[j] / q : 0.0;
            if (gp)
                gp[r * c + j] += (float)(scale * (gq - dot) / sum);
            if (gt)
                gt[r * c + j] -= (float)(scale * log(clip(q)));
        }
    }
}

double bgm__scce_logits_sum(const float *x, const int32_t *labels, int64_t rows,
                            int64_t c)
{
    double s = 0.0;
    int64_t r;
    for (r = 0; r < rows; r++)
        s += row_logsumexp(x + r * c, c) - x[r * c + labels[r]];
    return s;
}

void bgm__scce_logits_backward(const float *x, const int32_t *labels, int64_t rows,
                               int64_t c, float scale, float *gx)
{
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        double lse = row_logsumexp(xr, c);
        for (j = 0; j < c; j++)
            gx[r * c + j] += (float)(scale * exp(xr[j] - lse));
        gx[r * c + labels[r]] -= scale;
    }
}

double bgm__scce_probs_sum(const float *p, const int32_t *labels, int64_t rows,
                           int64_t c)
{
    double s = 0.0;
    int64_t r;
    for (r = 0; r < rows; r++) {
        const float *pr = p + r * c;
        s -= log(clip(pr[labels[r]] / row_sum(pr, c)));
    }
    return s;
}

void bgm__scce_probs_backward(const float *p, const int32_t *labels, int64_t rows,
                              int64_t c, float scale, float *gp)
{
    int64_t r, j;
    for (r = 0; r < rows; r++) {
        const float *pr = p + r * c;
        double sum = row_sum(pr, c), q = pr[labels[r]] / sum;
        if (!unclipped(q))
            continue;
        /* Only q_label matters: d/dp_i = (delta_i,label / q - 1) * (-1 / sum). */
        for (j = 0; j < c; j++)
            gp[r * c + j] += (float)(scale / sum);
        gp[r * c + labels[r]] -= (float)(scale / (q * sum));
    }
}
