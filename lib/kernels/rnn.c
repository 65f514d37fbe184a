/* Gate math of the recurrent cells and the embedding gather / scatter. */
#include "rnn.h"

#include <math.h>
#include <string.h>

/* 1 / (1 + e^-x) without overflow for either sign of x. */
static inline float sigmoid(float x)
{
    float e = expf(-fabsf(x));
    return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void bgm__embedding_forward(const int32_t *ids, int64_t n, const float *table, int64_t dim,
                            float *out)
{
    int64_t k;
    for (k = 0; k < n; k++)
        memcpy(out + k * dim, table + (int64_t)ids[k] * dim, (size_t)dim * sizeof *out);
}

void bgm__embedding_backward(const int32_t *ids, int64_t n, const float *gout, int64_t dim,
                             float *gtable)
{
    int64_t k, j;
    for (k = 0; k < n; k++) {
        float *row = gtable + (int64_t)ids[k] * dim;
        const float *g = gout + k * dim;
        for (j = 0; j < dim; j++)
            row[j] += g[j];
    }
}

void bgm__lstm_cell_forward(int64_t hidden, float *gates, const float *c_prev, float *c,
                            float *tanh_c, float *h)
{
    float *gi = gates, *gf = gates + hidden, *gg = gates + 2 * hidden;
    float *go = gates + 3 * hidden;
    int64_t j;
    for (j = 0; j < hidden; j++) {
        float i = sigmoid(gi[j]), f = sigmoid(gf[j]), g = tanhf(gg[j]);
        float o = sigmoid(go[j]), cj = f * c_prev[j] + i * g, tc = tanhf(cj);
        gi[j] = i;
        gf[j] = f;
        gg[j] = g;
        go[j] = o;
        c[j] = cj;
        tanh_c[j] = tc;
        h[j] = o * tc;
    }
}

void bgm__lstm_cell_backward(int64_t hidden, const float *gates, const float *c_prev,
                             const float *tanh_c, const float *dh, float *dc, float *dgates)
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
    }
}

void bgm__gru_cell_forward(int64_t hidden, float *xg, const float *rg, const float *h_prev,
                           float *rec_n, float *h)
{
    int64_t j;
    for (j = 0; j < hidden; j++) {
        float z = sigmoid(xg[j] + rg[j]);
        float r = sigmoid(xg[hidden + j] + rg[hidden + j]);
        float rn = rg[2 * hidden + j];
        float n = tanhf(xg[2 * hidden + j] + r * rn);
        xg[j] = z;
        xg[hidden + j] = r;
        xg[2 * hidden + j] = n;
        rec_n[j] = rn;
        h[j] = n + z * (h_prev[j] - n);
    }
}

void bgm__gru_cell_backward(int64_t hidden, const float *gates, const float *rec_n,
                            const float *h_prev, float *dh, float *dxg, float *drg)
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

void bgm__rnn_add_column_sums(int64_t rows, int64_t cols, const float *x, int64_t ld,
                              float *y)
{
    int64_t i, j;
    for (i = 0; i < rows; i++) {
        const float *row = x + i * ld;
        for (j = 0; j < cols; j++)
            y[j] += row[j];
    }
}
