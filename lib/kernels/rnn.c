/* Gate math of the recurrent cells and the embedding gather / scatter. */
#include "rnn.h"

#include <string.h>

#include "fastexp.h"
#include "simd.h"

void bgm__embedding_forward(const int32_t *ids, int64_t n, const float *table, int64_t dim,
                            float *out)
{
    int64_t k;
    for (k = 0; k < n; k++)
        memcpy(out + k * dim, table + (int64_t)ids[k] * dim, (size_t)dim * sizeof *out);
}

BGM__HOT void bgm__embedding_backward(const int32_t *ids, int64_t n,
                                      const float *restrict gout, int64_t dim,
                                      float *restrict gtable)
{
    int64_t k, j;
    for (k = 0; k < n; k++) {
        float *row = gtable + (int64_t)ids[k] * dim;
        const float *g = gout + k * dim;
        for (j = 0; j < dim; j++)
            row[j] += g[j];
    }
}

/* 1 / (1 + e^-v) as straight-line arithmetic, so that the cell loops
 * vectorize (libm's expf kept them scalar, 22 % of an LSTM training step):
 * within 3e-7 relative of double precision for every float from -87 up
 * (below, about 1e-38 instead of 0); NaN stays NaN. */
BGM__INLINE float cell_sigmoid(float v)
{
    float s = 1.0f / (1.0f + bgm__fast_exp(-v));
    return v == v ? s : v;
}

/* tanh likewise: (1 - e) / (1 + e), e = e^-2|v|, where that does not
 * cancel, and its Taylor series to v^11 below |v| = 1/4 (the next term is
 * below 2e-10 relative there); within 3e-7 relative everywhere. NaN stays
 * NaN (it takes the series). */
BGM__INLINE float cell_tanh(float v)
{
    float a = __builtin_fabsf(v), a2 = a * a, e = bgm__fast_exp(-2.0f * a);
    float far = (1.0f - e) / (1.0f + e);
    float near = a + a * a2 * (-3.33333333e-1f + a2 * (1.33333333e-1f + a2 * (
                 -5.39682540e-2f + a2 * (2.18694885e-2f + a2 * -8.86323552e-3f))));
    float t = a > 0.25f ? far : near;
    return __builtin_copysignf(t, v);
}

float bgm__rnn_sigmoid(float v)
{
    return cell_sigmoid(v);
}

float bgm__rnn_tanh(float v)
{
    return cell_tanh(v);
}

BGM__HOT void bgm__lstm_cell_forward(int64_t hidden, float *restrict gates,
                                     const float *restrict bias,
                                     const float *restrict c_prev, float *restrict c,
                                     float *restrict tanh_c, float *restrict h)
{
    float *gi = gates, *gf = gates + hidden, *gg = gates + 2 * hidden;
    float *go = gates + 3 * hidden;
    int64_t j;
    if (bias)
        for (j = 0; j < 4 * hidden; j++)
            gates[j] += bias[j];
    for (j = 0; j < hidden; j++) {
        float i = cell_sigmoid(gi[j]), f = cell_sigmoid(gf[j]), g = cell_tanh(gg[j]);
        float o = cell_sigmoid(go[j]), cj = f * c_prev[j] + i * g, tc = cell_tanh(cj);
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        c[j] = cj;
        tanh_c[j] = tc;
        h[j] = o * tc;
    }
}

BGM__HOT void bgm__lstm_cell_backward(int64_t hidden, const float *restrict gates,
                                      const float *restrict c_prev,
                                      const float *restrict tanh_c, float *restrict dh,
                                      float *restrict dc, float *restrict dgates)
{
    const float *gi = gates, *gf = gates + hidden, *gg = gates + 2 * hidden;
    const float *go = gates + 3 * hidden;
    int64_t j;
    for (j = 0; j < hidden; j++) {
        float i = gi[j], f = gf[j], g = gg[j], o = go[j], tc = tanh_c[j];
        float dct = dc[j] + dh[j] * o * (1.0f - tc * tc);
        dgates[j] = dct * g * i * (1.0f - i);
        dgates[hidden + j] = dct * c_prev[j] * f * (1.0f - f);
        dgates[2 * hidden + j] = dct * i * (1.0f - g * g);
        dgates[3 * hidden + j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = dct * f;
        dh[j] = 0.0f;
    }
}

BGM__HOT void bgm__gru_cell_forward(int64_t hidden, float *restrict xg,
                                    const float *restrict rg, const float *restrict h_prev,
                                    float *restrict rec_n, float *restrict h)
{
    int64_t j;
    for (j = 0; j < hidden; j++) {
        float z = cell_sigmoid(xg[j] + rg[j]);
        float r = cell_sigmoid(xg[hidden + j] + rg[hidden + j]);
        float rn = rg[2 * hidden + j];
        float n = cell_tanh(xg[2 * hidden + j] + r * rn);
        xg[j] = z;
        xg[hidden + j] = r;
        xg[2 * hidden + j] = n;
        rec_n[j] = rn;
        h[j] = n + z * (h_prev[j] - n);
    }
}

BGM__HOT void bgm__gru_cell_backward(int64_t hidden, const float *restrict gates,
                                     const float *restrict rec_n,
                                     const float *restrict h_prev, float *restrict dh,
                                     float *restrict dxg, float *restrict drg)
{
    int64_t j;
    for (j = 0; j < hidden; j++) {
        float z = gates[j], r = gates[hidden + j], n = gates[2 * hidden + j], d = dh[j];
        float dn = d * (1.0f - z) * (1.0f - n * n);
        float dz = d * (h_prev[j] - n) * z * (1.0f - z);
        float dr = dn * rec_n[j] * r * (1.0f - r);
        dxg[j] = dz;
        dxg[hidden + j] = dr;
        dxg[2 * hidden + j] = dn;
        drg[j] = dz;
        drg[hidden + j] = dr;
        drg[2 * hidden + j] = dn * r;
        dh[j] = d * z;
    }
}

void bgm__rnn_mul(int64_t n, const float *a, const float *b, float *y)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] = a[i] * b[i];
}

void bgm__rnn_mul_add(int64_t n, const float *a, const float *b, float *y)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] += a[i] * b[i];
}

BGM__HOT void bgm__rnn_add_column_sums(int64_t rows, int64_t cols, const float *restrict x,
                                       int64_t ld, float *restrict y)
{
    int64_t i, j;
    for (i = 0; i < rows; i++) {
        const float *row = x + i * ld;
        for (j = 0; j < cols; j++)
            y[j] += row[j];
    }
}

void bgm__rnn_transpose(int64_t rows, int64_t cols, const float *src, float *dst)
{
    int64_t i, j;
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            dst[j * rows + i] = src[i * cols + j];
}

BGM__HOT void bgm__rnn_add_row(int64_t n, const float *restrict x, float *restrict y)
{
    int64_t i;
    for (i = 0; i < n; i++)
        y[i] += x[i];
}
