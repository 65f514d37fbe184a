/*
 * The Winograd transforms of F(2x2, 3x3) and F(4x4, 3x3) (winograd.c,
 * winograd4.c for the algebra), written once for both vector widths:
 * winograd_avx512.c and winograd_avx2.c each define the vector type and
 * operations below, then include this file (no include guard on purpose;
 * it defines static functions and the table WT_PATH).
 *
 * Every transform works on VL channels (filters) at a time, where NHWC
 * keeps them contiguous; each lane is the same sequence of operations on
 * both widths (fused multiply-adds where written, nothing the compiler
 * may contract), so the paths give the same bits.
 *
 * The including file includes vec_avx512.h or vec_avx2.h (the vector type
 * v_vec, the operations V_*, V_VL lanes, V_TARGET, V_SPLIT_FULL) and
 * defines WT_PATH, the name of the table of transforms.
 */

#define WT_INLINE static inline __attribute__((always_inline))

/* stmt once per vector of the n lanes from 0, with at the first lane, mask
 * and full naming the vector's lanes; with V_SPLIT_FULL whole vectors and
 * the tail are two copies of stmt, full a constant in each. */
#if V_SPLIT_FULL
#define WT_EACH_VECTOR(n, at, mask, full, stmt)                                        \
    do {                                                                               \
        int64_t at = 0;                                                                \
        for (; at + V_VL <= (n); at += V_VL) {                                       \
            const v_mask mask = v_lanes(V_VL);                                      \
            const int full = 1;                                                        \
            stmt;                                                                      \
        }                                                                              \
        if (at < (n)) {                                                                \
            const v_mask mask = v_lanes((n) - at);                                   \
            const int full = 0;                                                        \
            stmt;                                                                      \
        }                                                                              \
    } while (0)
#else
#define WT_EACH_VECTOR(n, at, mask, full, stmt)                                        \
    do {                                                                               \
        int64_t at;                                                                    \
        for (at = 0; at < (n); at += V_VL) {                                          \
            const v_mask mask = v_lanes((n) - at < V_VL ? (n) - at : V_VL);        \
            const int full = 0;                                                        \
            stmt;                                                                      \
        }                                                                              \
    } while (0)
#endif

/* An output vector through the epilogue: + bias, + residual (each when
 * not NULL), ReLU when relu, stored at out. */
V_TARGET WT_INLINE void wt_store_output(v_vec o, float *out, const float *res,
                                         const float *bias, int relu, v_mask k, int full)
{
    if (bias)
        o = V_ADD(o, V_LOAD(k, full, bias));
    if (res)
        o = V_ADD(o, V_LOAD(k, full, res));
    if (relu)
        o = V_MAX0(o);
    V_STORE(out, k, full, o);
}

/* The m x m outputs y of a tile through the epilogue, those in rows < nr
 * and columns < nc of it (bgm__winograd_path.output2 and output4). */
V_TARGET WT_INLINE void wt_store_tile(const v_vec *y, int m, int64_t fo, v_mask k, int full,
                                       int nr, int nc, float *const *out,
                                       const float *const *res, const float *bias, int relu)
{
    int i;
#pragma GCC unroll 16
    for (i = 0; i < m * m; i++)
        if (i / m < nr && i % m < nc)
            wt_store_output(y[i], out[i] + fo, res ? res[i] + fo : NULL,
                            bias ? bias + fo : NULL, relu, k, full);
}

/* The table's output transform name: at_fn over the vectors of f filters. */
#define WT_OUTPUT_FN(name, at_fn)                                                      \
    V_TARGET static void name(const float *m, int64_t ms, int64_t f, int nr, int nc,  \
                               float *const *out, const float *const *res,             \
                               const float *bias, int relu)                            \
    {                                                                                  \
        WT_EACH_VECTOR(f, fo, k, full,                                                 \
                       at_fn(m, ms, fo, k, full, nr, nc, out, res, bias, relu));       \
    }

/* ---- F(2x2, 3x3) ---- */

/* v[e * vs + ch] = (B^T d B)[e] for the 4x4 block d whose element (i, j)
 * is src[i * 4 + j][ch], channels ch.. of one vector. */
V_TARGET WT_INLINE void wt_input2_at(const float *const *src, int64_t ch, v_mask k, int full,
                                      float *v, int64_t vs)
{
    v_vec d[16], t[16];
    int i;
#pragma GCC unroll 16
    for (i = 0; i < 16; i++)
        d[i] = V_LOAD(k, full, src[i] + ch);
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) { /* t = B^T d, column i */
        t[0 + i] = V_SUB(d[0 + i], d[8 + i]);
        t[4 + i] = V_ADD(d[4 + i], d[8 + i]);
        t[8 + i] = V_SUB(d[8 + i], d[4 + i]);
        t[12 + i] = V_SUB(d[4 + i], d[12 + i]);
    }
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) { /* v = t B, row i */
        const v_vec *r = t + 4 * i;
        float *o = v + 4 * i * vs + ch;
        V_STORE(o, k, full, V_SUB(r[0], r[2]));
        V_STORE(o + vs, k, full, V_ADD(r[1], r[2]));
        V_STORE(o + 2 * vs, k, full, V_SUB(r[2], r[1]));
        V_STORE(o + 3 * vs, k, full, V_SUB(r[1], r[3]));
    }
}

V_TARGET static void wt_input2(const float *const *src, int64_t c, float *v, int64_t vs)
{
    WT_EACH_VECTOR(c, ch, k, full, wt_input2_at(src, ch, k, full, v, vs));
}

/* The 2x2 outputs of one tile from m[e * ms + fo], filters fo.. of one
 * vector (see bgm__winograd_path.output2). */
V_TARGET WT_INLINE void wt_output2_at(const float *m, int64_t ms, int64_t fo, v_mask k,
                                       int full, int nr, int nc, float *const *out,
                                       const float *const *res, const float *bias, int relu)
{
    v_vec q[16], t[8], y[4];
    int i;
#pragma GCC unroll 16
    for (i = 0; i < 16; i++)
        q[i] = V_LOAD(k, full, m + i * ms + fo);
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) { /* t = A^T q, column i */
        t[i] = V_ADD(V_ADD(q[i], q[4 + i]), q[8 + i]);
        t[4 + i] = V_SUB(V_SUB(q[4 + i], q[8 + i]), q[12 + i]);
    }
#pragma GCC unroll 2
    for (i = 0; i < 2; i++) { /* y = t A, row i */
        const v_vec *r = t + 4 * i;
        y[2 * i] = V_ADD(V_ADD(r[0], r[1]), r[2]);
        y[2 * i + 1] = V_SUB(V_SUB(r[1], r[2]), r[3]);
    }
    wt_store_tile(y, 2, fo, k, full, nr, nc, out, res, bias, relu);
}

WT_OUTPUT_FN(wt_output2, wt_output2_at)

/* m[e * ms + fo] = (A dy A^T)[e] for the 2x2 output gradient dy of one
 * tile (dy[i] NULL: zero), filters fo.. of one vector. */
V_TARGET WT_INLINE void wt_grad2_at(const float *const *dy, int64_t fo, v_mask k, int full,
                                     float *m, int64_t ms)
{
    v_vec y[4], t[8];
    int i;
#pragma GCC unroll 4
    for (i = 0; i < 4; i++)
        y[i] = dy[i] ? V_LOAD(k, full, dy[i] + fo) : V_ZERO();
#pragma GCC unroll 2
    for (i = 0; i < 2; i++) { /* t = A dy, column i */
        t[i] = y[i];
        t[2 + i] = V_ADD(y[i], y[2 + i]);
        t[4 + i] = V_SUB(y[i], y[2 + i]);
        t[6 + i] = V_SUB(V_ZERO(), y[2 + i]);
    }
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) { /* m = t A^T, row i */
        const v_vec *r = t + 2 * i;
        float *o = m + 4 * i * ms + fo;
        V_STORE(o, k, full, r[0]);
        V_STORE(o + ms, k, full, V_ADD(r[0], r[1]));
        V_STORE(o + 2 * ms, k, full, V_SUB(r[0], r[1]));
        V_STORE(o + 3 * ms, k, full, V_SUB(V_ZERO(), r[1]));
    }
}

V_TARGET static void wt_grad2(const float *const *dy, int64_t f, float *m, int64_t ms)
{
    WT_EACH_VECTOR(f, fo, k, full, wt_grad2_at(dy, fo, k, full, m, ms));
}

/* o[0..4) = G x[0..3), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
V_TARGET WT_INLINE void wt_g4(v_vec x0, v_vec x1, v_vec x2, v_vec *o)
{
    const v_vec h = V_SET1(0.5f);
    o[0] = x0;
    o[1] = V_MUL(h, V_ADD(V_ADD(x0, x1), x2));
    o[2] = V_MUL(h, V_ADD(V_SUB(x0, x1), x2));
    o[3] = x2;
}

/* u[e * cf + at] = (G g G^T)[e], g at w[(3 i + j) * cf + at]: one vector
 * of (channel, filter) pairs. */
V_TARGET WT_INLINE void wt_kernel2_at(const float *w, int64_t cf, int64_t at, v_mask k,
                                       int full, float *u)
{
    v_vec t[3][4], o[4];
    int i, j;
#pragma GCC unroll 3
    for (i = 0; i < 3; i++) /* t = G g, column i (stored as t[i][row]) */
        wt_g4(V_LOAD(k, full, w + i * cf + at), V_LOAD(k, full, w + (3 + i) * cf + at),
              V_LOAD(k, full, w + (6 + i) * cf + at), t[i]);
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) { /* u = t G^T, row i */
        wt_g4(t[0][i], t[1][i], t[2][i], o);
        for (j = 0; j < 4; j++)
            V_STORE(u + (i * 4 + j) * cf + at, k, full, o[j]);
    }
}

V_TARGET static void wt_kernel2(const float *w, int64_t cf, int64_t begin, int64_t end,
                                 float *u)
{
    WT_EACH_VECTOR(end - begin, at, k, full,
                   wt_kernel2_at(w + begin, cf, at, k, full, u + begin));
}

/* ---- F(4x4, 3x3) ---- */

/* o[0..6) = B^T x[0..6), x[i] at x[i * xs]. */
V_TARGET WT_INLINE void wt_bt6(const v_vec *x, int xs, v_vec *o, int os)
{
    const v_vec four = V_SET1(4.0f), five = V_SET1(5.0f), two = V_SET1(2.0f);
    const v_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs], x4 = x[4 * xs],
                 x5 = x[5 * xs];
    const v_vec a = V_FNMA(four, x2, x4), b = V_FNMA(four, x1, x3); /* x4 - 4 x2, x3 - 4 x1 */
    const v_vec c = V_SUB(x4, x2), d = V_MUL(two, V_SUB(x3, x1));
    o[0] = V_ADD(V_FNMA(five, x2, x4), V_MUL(four, x0));
    o[os] = V_ADD(a, b);
    o[2 * os] = V_SUB(a, b);
    o[3 * os] = V_ADD(c, d);
    o[4 * os] = V_SUB(c, d);
    o[5 * os] = V_ADD(V_FNMA(five, x3, x5), V_MUL(four, x1));
}

/* v[e * vs + ch] = (B^T d B)[e] for the 6x6 block d whose element (i, j)
 * is src[i * 6 + j][ch], channels ch.. of one vector. */
V_TARGET WT_INLINE void wt_input4_block(v_vec *d, int64_t ch, v_mask k, int full, float *v,
                                         int64_t vs)
{
    v_vec t[36], o[6];
    int i, j;
#pragma GCC unroll 6
    for (j = 0; j < 6; j++) /* t = B^T d, column j */
        wt_bt6(d + j, 6, t + j, 6);
#pragma GCC unroll 6
    for (i = 0; i < 6; i++) { /* v = t B, row i */
        wt_bt6(t + 6 * i, 1, o, 1);
#pragma GCC unroll 6
        for (j = 0; j < 6; j++)
            V_STORE(v + (6 * i + j) * vs + ch, k, full, o[j]);
    }
}

V_TARGET WT_INLINE void wt_input4_at(const float *const *src, int64_t ch, v_mask k, int full,
                                      float *v, int64_t vs)
{
    v_vec d[36];
    int i;
#pragma GCC unroll 36
    for (i = 0; i < 36; i++)
        d[i] = V_LOAD(k, full, src[i] + ch);
    wt_input4_block(d, ch, k, full, v, vs);
}

/* d[side * i + j] = the vector at base[i * rs + j * cs], a block of an image
 * (or an output gradient) read in place. */
V_TARGET WT_INLINE void wt_load_grid(v_vec *d, int side, const float *base, int64_t rs,
                                      int64_t cs, v_mask k, int full)
{
    int i, j;
#pragma GCC unroll 6
    for (i = 0; i < side; i++)
#pragma GCC unroll 6
        for (j = 0; j < side; j++)
            d[side * i + j] = V_LOAD(k, full, base + i * rs + j * cs);
}

/* The same with element (i, j) of the block at base[i * rs + j * c]. */
V_TARGET WT_INLINE void wt_input4_grid_at(const float *base, int64_t rs, int64_t c, int64_t ch,
                                           v_mask k, int full, float *v, int64_t vs)
{
    v_vec d[36];
    wt_load_grid(d, 6, base + ch, rs, c, k, full);
    wt_input4_block(d, ch, k, full, v, vs);
}

V_TARGET static void wt_input4(const float *const *src, int64_t c, float *v, int64_t vs)
{
    WT_EACH_VECTOR(c, ch, k, full, wt_input4_at(src, ch, k, full, v, vs));
}

V_TARGET static void wt_input4_grid(const float *base, int64_t rs, int64_t c, float *v,
                                    int64_t vs)
{
    WT_EACH_VECTOR(c, ch, k, full, wt_input4_grid_at(base, rs, c, ch, k, full, v, vs));
}

/* o[0..4) = A^T x[0..6), x[i] at x[i * xs]. */
V_TARGET WT_INLINE void wt_at6(const v_vec *x, int xs, v_vec *o, int os)
{
    const v_vec two = V_SET1(2.0f), four = V_SET1(4.0f), eight = V_SET1(8.0f);
    const v_vec s12 = V_ADD(x[xs], x[2 * xs]), d12 = V_SUB(x[xs], x[2 * xs]);
    const v_vec s34 = V_ADD(x[3 * xs], x[4 * xs]), d34 = V_SUB(x[3 * xs], x[4 * xs]);
    o[0] = V_ADD(V_ADD(x[0], s12), s34);
    o[os] = V_FMA(two, d34, d12);
    o[2 * os] = V_FMA(four, s34, s12);
    o[3 * os] = V_ADD(V_FMA(eight, d34, d12), x[5 * xs]);
}

/* The 4x4 outputs of one tile from m[e * ms + fo], filters fo.. of one
 * vector (see bgm__winograd_path.output4). */
V_TARGET WT_INLINE void wt_output4_y(const float *m, int64_t ms, int64_t fo, v_mask k,
                                      int full, v_vec *y)
{
    v_vec q[36], t[24];
    int i;
#pragma GCC unroll 36
    for (i = 0; i < 36; i++)
        q[i] = V_LOAD(k, full, m + i * ms + fo);
#pragma GCC unroll 6
    for (i = 0; i < 6; i++) /* t = A^T q, column i */
        wt_at6(q + i, 6, t + i, 6);
#pragma GCC unroll 4
    for (i = 0; i < 4; i++) /* y = t A, row i */
        wt_at6(t + 6 * i, 1, y + 4 * i, 1);
}

V_TARGET WT_INLINE void wt_output4_at(const float *m, int64_t ms, int64_t fo, v_mask k,
                                       int full, int nr, int nc, float *const *out,
                                       const float *const *res, const float *bias, int relu)
{
    v_vec y[16];
    wt_output4_y(m, ms, fo, k, full, y);
    wt_store_tile(y, 4, fo, k, full, nr, nc, out, res, bias, relu);
}

WT_OUTPUT_FN(wt_output4, wt_output4_at)

/* A whole 4x4 tile's outputs with output (a, b) at out[a * rs + b * f],
 * its residual at res[a * rs + b * f] (res NULL: none). */
V_TARGET WT_INLINE void wt_output4_grid_at(const float *m, int64_t ms, int64_t f, int64_t fo,
                                            v_mask k, int full, float *out, const float *res,
                                            int64_t rs, const float *bias, int relu)
{
    v_vec y[16];
    int a, b;
    wt_output4_y(m, ms, fo, k, full, y);
#pragma GCC unroll 4
    for (a = 0; a < 4; a++)
#pragma GCC unroll 4
        for (b = 0; b < 4; b++)
            wt_store_output(y[4 * a + b], out + a * rs + b * f + fo,
                            res ? res + a * rs + b * f + fo : NULL, bias ? bias + fo : NULL,
                            relu, k, full);
}

V_TARGET static void wt_output4_grid(const float *m, int64_t ms, int64_t f, float *out,
                                     const float *res, int64_t rs, const float *bias, int relu)
{
    WT_EACH_VECTOR(f, fo, k, full,
                   wt_output4_grid_at(m, ms, f, fo, k, full, out, res, rs, bias, relu));
}

/* o[0..6) = A x[0..4), x[i] at x[i * xs]: the transpose of wt_at6, for
 * the gradient. A^T as in winograd4.c. */
V_TARGET WT_INLINE void wt_a4(const v_vec *x, int xs, v_vec *o, int os)
{
    const v_vec two = V_SET1(2.0f), four = V_SET1(4.0f);
    const v_vec x0 = x[0], x1 = x[xs], x2 = x[2 * xs], x3 = x[3 * xs];
    const v_vec s02 = V_ADD(x0, x2), s13 = V_ADD(x1, x3);
    const v_vec a = V_FMA(four, x2, x0), b = V_MUL(two, V_FMA(four, x3, x1));
    o[0] = x0;
    o[os] = V_ADD(s02, s13);
    o[2 * os] = V_SUB(s02, s13);
    o[3 * os] = V_ADD(a, b);
    o[4 * os] = V_SUB(a, b);
    o[5 * os] = x3;
}

/* m[e * ms + fo] = (A dy A^T)[e] for the 4x4 output gradient dy of one
 * tile (dy[i] NULL: zero), filters fo.. of one vector. */
V_TARGET WT_INLINE void wt_grad4_block(const v_vec *y, int64_t fo, v_mask k, int full,
                                        float *m, int64_t ms)
{
    v_vec t[24], o[6]; /* t[row * 4 + column] */
    int i, j;
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) /* t = A dy, column j */
        wt_a4(y + j, 4, t + j, 4);
#pragma GCC unroll 6
    for (i = 0; i < 6; i++) { /* m = t A^T, row i */
        wt_a4(t + 4 * i, 1, o, 1);
#pragma GCC unroll 6
        for (j = 0; j < 6; j++)
            V_STORE(m + (6 * i + j) * ms + fo, k, full, o[j]);
    }
}

V_TARGET WT_INLINE void wt_grad4_at(const float *const *dy, int64_t fo, v_mask k, int full,
                                     float *m, int64_t ms)
{
    v_vec y[16];
    int i;
#pragma GCC unroll 16
    for (i = 0; i < 16; i++)
        y[i] = dy[i] ? V_LOAD(k, full, dy[i] + fo) : V_ZERO();
    wt_grad4_block(y, fo, k, full, m, ms);
}

V_TARGET static void wt_grad4(const float *const *dy, int64_t f, float *m, int64_t ms)
{
    WT_EACH_VECTOR(f, fo, k, full, wt_grad4_at(dy, fo, k, full, m, ms));
}

/* A whole tile's gradient with element (a, b) at dy[a * rs + b * f]. */
V_TARGET WT_INLINE void wt_grad4_grid_at(const float *dy, int64_t rs, int64_t f, int64_t fo,
                                          v_mask k, int full, float *m, int64_t ms)
{
    v_vec y[16];
    wt_load_grid(y, 4, dy + fo, rs, f, k, full);
    wt_grad4_block(y, fo, k, full, m, ms);
}

V_TARGET static void wt_grad4_grid(const float *dy, int64_t rs, int64_t f, float *m,
                                   int64_t ms)
{
    WT_EACH_VECTOR(f, fo, k, full, wt_grad4_grid_at(dy, rs, f, fo, k, full, m, ms));
}

/* o[0..6) = G x[0..3), G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
 * 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]. */
V_TARGET WT_INLINE void wt_g6(v_vec x0, v_vec x1, v_vec x2, v_vec *o, int os)
{
    const v_vec s = V_ADD(x0, x2), a = V_MUL(V_SET1(1.0f / 24.0f), x0);
    const v_vec b = V_MUL(V_SET1(1.0f / 12.0f), x1);
    const v_vec c = V_MUL(V_SET1(1.0f / 6.0f), x2);
    o[0] = V_MUL(V_SET1(0.25f), x0);
    o[os] = V_MUL(V_SET1(-1.0f / 6.0f), V_ADD(s, x1));
    o[2 * os] = V_MUL(V_SET1(-1.0f / 6.0f), V_SUB(s, x1));
    o[3 * os] = V_ADD(V_ADD(a, b), c);
    o[4 * os] = V_ADD(V_SUB(a, b), c);
    o[5 * os] = x2;
}

/* u[e * cf + at] = (G g G^T)[e] of F(4x4, 3x3), as wt_kernel2_at. */
V_TARGET WT_INLINE void wt_kernel4_at(const float *w, int64_t cf, int64_t at, v_mask k,
                                       int full, float *u)
{
    v_vec t[18], o[6]; /* t[row * 3 + column] */
    int i, j;
#pragma GCC unroll 3
    for (j = 0; j < 3; j++) /* t = G g, column j */
        wt_g6(V_LOAD(k, full, w + j * cf + at), V_LOAD(k, full, w + (3 + j) * cf + at),
              V_LOAD(k, full, w + (6 + j) * cf + at), t + j, 3);
#pragma GCC unroll 6
    for (i = 0; i < 6; i++) { /* u = t G^T, row i */
        wt_g6(t[3 * i], t[3 * i + 1], t[3 * i + 2], o, 1);
#pragma GCC unroll 6
        for (j = 0; j < 6; j++)
            V_STORE(u + (6 * i + j) * cf + at, k, full, o[j]);
    }
}

V_TARGET static void wt_kernel4(const float *w, int64_t cf, int64_t begin, int64_t end,
                                 float *u)
{
    WT_EACH_VECTOR(end - begin, at, k, full,
                   wt_kernel4_at(w + begin, cf, at, k, full, u + begin));
}

/* ---- kernel gradients: gw += G^T du G ---- */

/* o[0..3) = G^T q[0..4), q[i] at q[i * qs], G of F(2x2, 3x3). */
V_TARGET WT_INLINE void wt_gt4(const v_vec *q, int qs, v_vec *o, int os)
{
    const v_vec h = V_SET1(0.5f);
    const v_vec s = V_MUL(h, V_ADD(q[qs], q[2 * qs]));
    o[0] = V_ADD(q[0], s);
    o[os] = V_MUL(h, V_SUB(q[qs], q[2 * qs]));
    o[2 * os] = V_ADD(s, q[3 * qs]);
}

/* o[0..3) = G^T q[0..6), q[i] at q[i * qs], G of F(4x4, 3x3). */
V_TARGET WT_INLINE void wt_gt6(const v_vec *q, int qs, v_vec *o, int os)
{
    const v_vec s12 = V_ADD(q[qs], q[2 * qs]), d21 = V_SUB(q[2 * qs], q[qs]);
    const v_vec s34 = V_ADD(q[3 * qs], q[4 * qs]), d34 = V_SUB(q[3 * qs], q[4 * qs]);
    const v_vec sixth = V_SET1(1.0f / 6.0f);
    o[0] = V_ADD(V_SUB(V_MUL(V_SET1(0.25f), q[0]), V_MUL(s12, sixth)),
                 V_MUL(s34, V_SET1(1.0f / 24.0f)));
    o[os] = V_ADD(V_MUL(d21, sixth), V_MUL(d34, V_SET1(1.0f / 12.0f)));
    o[2 * os] = V_ADD(V_MUL(V_SUB(s34, s12), sixth), q[5 * qs]);
}

/* gw[(3 i + j) * cf + at] += (G^T q G)[i][j] for the side x side q at
 * du[e * cf + at] (side 4 or 6), one vector of (channel, filter) pairs. */
V_TARGET WT_INLINE void wt_kernel_grad_at(const float *du, int64_t cf, int64_t at, v_mask k,
                                           int full, int side, float *gw)
{
    v_vec q[36], t[18], o[3]; /* t[i * side + j] = (G^T q)[i][j] */
    int i, j;
#pragma GCC unroll 36
    for (i = 0; i < side * side; i++)
        q[i] = V_LOAD(k, full, du + i * cf + at);
#pragma GCC unroll 6
    for (j = 0; j < side; j++) /* G^T q, column j */
        (side == 4 ? wt_gt4 : wt_gt6)(q + j, side, t + j, side);
#pragma GCC unroll 3
    for (i = 0; i < 3; i++) { /* (G^T q) G, row i */
        (side == 4 ? wt_gt4 : wt_gt6)(t + side * i, 1, o, 1);
#pragma GCC unroll 3
        for (j = 0; j < 3; j++) {
            float *g = gw + (3 * i + j) * cf + at;
            V_STORE(g, k, full, V_ADD(V_LOAD(k, full, g), o[j]));
        }
    }
}

V_TARGET static void wt_kernel_grad2(const float *du, int64_t cf, int64_t begin, int64_t end,
                                      float *gw)
{
    WT_EACH_VECTOR(end - begin, at, k, full,
                   wt_kernel_grad_at(du + begin, cf, at, k, full, 4, gw + begin));
}

V_TARGET static void wt_kernel_grad4(const float *du, int64_t cf, int64_t begin, int64_t end,
                                      float *gw)
{
    WT_EACH_VECTOR(end - begin, at, k, full,
                   wt_kernel_grad_at(du + begin, cf, at, k, full, 6, gw + begin));
}

const bgm__winograd_path WT_PATH = {wt_input2,      wt_output2,      wt_grad2,
                                    wt_kernel2,     wt_kernel_grad2, wt_input4,
                                    wt_output4,     wt_grad4,        wt_kernel4,
                                    wt_kernel_grad4, wt_input4_grid, wt_output4_grid,
                                    wt_grad4_grid};

#undef WT_INLINE
#undef WT_EACH_VECTOR
#undef WT_OUTPUT_FN
