/*
 * The SGEMM tiles of the library's own kernels, written once for both
 * vector widths: gemm_avx512.c and gemm_avx2.c each define the vector
 * type and operations below, then include this file (it has no include
 * guard on purpose and defines only static functions plus GT_RUN and
 * GT_ROWS).
 *
 * The products of a training step are narrow: N is a layer's width (32 or
 * 64 channels, a few hundred units) and one of M or K is short, where a
 * general BLAS spends much of its time packing operands (and a BLAS pinned
 * to an older core type, as OPENBLAS_CORETYPE=Haswell does, runs at half
 * the vector width). Here C is cut into MR x 2 VL tiles (12 x 32 with
 * AVX-512, 6 x 16 with AVX2); a tile keeps its accumulators in registers
 * for the whole of K, reading two vectors of a row of op(B) and
 * broadcasting MR elements of op(A) per step (blocks of at most VL columns
 * take one vector and MR1 = 2 MR rows). Row-major B is read in place, and
 * so is A whether transposed or not (MR rows of A are MR short streams;
 * columns of a transposed A are contiguous). Only a transposed B, and a
 * long B whose rows lie pages apart, are packed, 128 rows of one 2 VL-column
 * panel at a time, into a buffer on the stack.
 * Every element of C is one sum over k in order, whatever the tiling and
 * the vector width, so results depend neither on how callers split the
 * product nor on the path (a transposed B longer than one panel in k adds
 * its panels to C in turn).
 *
 * The including file includes vec_avx512.h or vec_avx2.h (the vector type
 * v_vec, the operations V_*, V_VL lanes, V_TARGET, V_SPLIT_FULL) and
 * defines:
 *   GT_MR, GT_MR1               rows of a two- and a one-vector tile
 *   GT_CASES_MR, GT_CASES_MR1   TILE_CASES_<n> for n = GT_MR and GT_MR1
 *   GT_RUN, GT_ROWS             the names of the two functions defined here
 */

#define NR (2 * V_VL)          /* columns of a tile: two vectors */
#define KC_PACKED 128           /* k per packed panel of B */
#define PACK_MIN_LDB 1024       /* row stride of B (floats) from which it is packed */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* o, the vector of row r at column col of a tile, through the epilogue:
 * + bias, + the residual, then ReLU (max with 0 gives 0 for NaN, as the
 * ReLU kernel does). ep's pointers start at the tile's first row and column. */
V_TARGET ALWAYS_INLINE v_vec epilogue(const bgm__gemm_epilogue *ep, int r, int col,
                                        v_mask mask, int full, v_vec o)
{
    if (ep->bias)
        o = V_ADD(o, V_LOAD(mask, full, ep->bias + col));
    if (ep->res)
        o = V_ADD(o, V_LOAD(mask, full, ep->res + r * ep->ldres + col));
    if (ep->relu)
        o = V_MAX0(o);
    return o;
}

/* One stored vector: alpha * acc + beta * C, through the epilogue. */
V_TARGET ALWAYS_INLINE void store_row(float *cr, v_vec acc, v_mask mask, int full,
                                       float alpha, float beta, const bgm__gemm_epilogue *ep,
                                       int r, int col)
{
    v_vec o = V_MUL(V_SET1(alpha), acc);
    if (beta != 0.0f)
        o = V_ADD(o, V_MUL(V_SET1(beta), V_LOAD(mask, full, cr)));
    if (ep)
        o = epilogue(ep, r, col, mask, full, o);
    V_STORE(cr, mask, full, o);
}

/*
 * C[0..mr)[columns of m0, m1] = alpha * sum over kk of op(A)(r, kk) *
 * B(kk, :) + beta * C, with row kk of B at b + kk * ldb, and op(A)(r, kk)
 * at a[r * ars + kk * aks], or with gather at a[rtab[r] + ktab[kk]]. nv is
 * the number of vectors per row (2, or 1 for a block of at most VL
 * columns, where m1 is empty); full: the block has all its columns (with
 * two vectors the first is always whole). Columns outside the masks are
 * neither read nor written. beta == 0 ignores C's old contents. Inlined
 * with constant mr, nv and gather, so the accumulators are registers.
 */
V_TARGET ALWAYS_INLINE void tile(int mr, int nv, int gather, int64_t k, const float *a,
                                  int64_t ars, int64_t aks, const int64_t *rtab,
                                  const int64_t *ktab, const float *b, int64_t ldb,
                                  v_mask m0, v_mask m1, int full, float alpha, float beta,
                                  float *c, int64_t ldc, const bgm__gemm_epilogue *ep)
{
    const int full0 = nv == 2 || full;
    v_vec acc0[GT_MR1], acc1[GT_MR];
    int64_t kk, roff[GT_MR1];
    int r;
#pragma GCC unroll 24
    for (r = 0; r < GT_MR1; r++) {
        acc0[r] = V_ZERO();
        if (r < GT_MR)
            acc1[r] = V_ZERO();
        roff[r] = gather && r < mr ? rtab[r] : r * ars;
    }
    for (kk = 0; kk < k; kk++) {
        const v_vec b0 = V_LOAD(m0, full0, b + kk * ldb);
        const v_vec b1 = nv == 2 ? V_LOAD(m1, full, b + kk * ldb + V_VL) : b0;
        const float *ak = gather ? a + ktab[kk] : a + kk * aks;
#pragma GCC unroll 24
        for (r = 0; r < GT_MR1; r++) {
            if (r < mr) {
                const v_vec av = V_SET1(ak[roff[r]]);
                acc0[r] = V_FMA(av, b0, acc0[r]);
                if (nv == 2 && r < GT_MR)
                    acc1[r] = V_FMA(av, b1, acc1[r]);
            }
        }
    }
#pragma GCC unroll 24
    for (r = 0; r < GT_MR1; r++) {
        if (r < mr) {
            store_row(c + r * ldc, acc0[r], m0, full0, alpha, beta, ep, r, 0);
            if (nv == 2 && r < GT_MR)
                store_row(c + r * ldc + V_VL, acc1[r], m1, full, alpha, beta, ep, r, V_VL);
        }
    }
}

#define TILE_CASE(R, NV, G, E, F)                                                      \
    case R:                                                                            \
        tile(R, NV, G, k, a, ars, aks, rtab, ktab, b, ldb, m0, m1, F, alpha, beta, c,  \
             ldc, E);                                                                  \
        break;
#define TILE_CASES_6(NV, G, E, F)                                                      \
    TILE_CASE(1, NV, G, E, F) TILE_CASE(2, NV, G, E, F) TILE_CASE(3, NV, G, E, F)        \
    TILE_CASE(4, NV, G, E, F) TILE_CASE(5, NV, G, E, F) TILE_CASE(6, NV, G, E, F)
#define TILE_CASES_12(NV, G, E, F)                                                     \
    TILE_CASES_6(NV, G, E, F)                                                          \
    TILE_CASE(7, NV, G, E, F) TILE_CASE(8, NV, G, E, F) TILE_CASE(9, NV, G, E, F)        \
    TILE_CASE(10, NV, G, E, F) TILE_CASE(11, NV, G, E, F) TILE_CASE(12, NV, G, E, F)
#define TILE_CASES_24(NV, G, E, F)                                                     \
    TILE_CASES_12(NV, G, E, F)                                                         \
    TILE_CASE(13, NV, G, E, F) TILE_CASE(14, NV, G, E, F) TILE_CASE(15, NV, G, E, F)     \
    TILE_CASE(16, NV, G, E, F) TILE_CASE(17, NV, G, E, F) TILE_CASE(18, NV, G, E, F)     \
    TILE_CASE(19, NV, G, E, F) TILE_CASE(20, NV, G, E, F) TILE_CASE(21, NV, G, E, F)     \
    TILE_CASE(22, NV, G, E, F) TILE_CASE(23, NV, G, E, F) TILE_CASE(24, NV, G, E, F)

/* One switch over mr of tile() with epilogue E and fullness F. */
#define TILE_SWITCH(CASES, NV, G, E, F)                                                \
    switch (mr) {                                                                      \
    CASES(NV, G, E, F)                                                                 \
    default: break;                                                                    \
    }

/* tile() for every mr of one (nv, gather) pair, each case compiled with its
 * own register set, and twice: with the epilogue and, for plain products,
 * with none at all (not even its test in the stores). Where masked forms
 * cost more (V_SPLIT_FULL), whole blocks get their own copies without
 * masks, which also frees the mask's register. */
#define DEFINE_TILE_ROWS(NAME, CASES, NV, G)                                           \
    V_TARGET static void NAME(int mr, int64_t k, const float *a, int64_t ars,         \
                               int64_t aks, const int64_t *rtab, const int64_t *ktab,  \
                               const float *b, int64_t ldb, v_mask m0, v_mask m1,    \
                               int full, float alpha, float beta, float *c,            \
                               int64_t ldc, const bgm__gemm_epilogue *ep)              \
    {                                                                                  \
        if (V_SPLIT_FULL && full) {                                                   \
            if (ep)                                                                    \
                TILE_SWITCH(CASES, NV, G, ep, 1)                                       \
            else                                                                       \
                TILE_SWITCH(CASES, NV, G, NULL, 1)                                     \
        } else if (ep) {                                                               \
            TILE_SWITCH(CASES, NV, G, ep, full)                                        \
        } else {                                                                       \
            TILE_SWITCH(CASES, NV, G, NULL, full)                                      \
        }                                                                              \
    }

DEFINE_TILE_ROWS(tile_rows, GT_CASES_MR, 2, 0)
DEFINE_TILE_ROWS(tile_rows_narrow, GT_CASES_MR1, 1, 0)
DEFINE_TILE_ROWS(tile_rows_gather, GT_CASES_MR, 2, 1)
DEFINE_TILE_ROWS(tile_rows_narrow_gather, GT_CASES_MR1, 1, 1)

#undef DEFINE_TILE_ROWS
#undef TILE_SWITCH
#undef TILE_CASES_24
#undef TILE_CASES_12
#undef TILE_CASES_6
#undef TILE_CASE

/* ep moved to the column block starting at column j (NULL stays NULL). */
static const bgm__gemm_epilogue *ep_at(const bgm__gemm_epilogue *ep, int64_t j,
                                       bgm__gemm_epilogue *buf)
{
    if (!ep)
        return NULL;
    *buf = *ep;
    if (buf->bias)
        buf->bias += j;
    if (buf->res)
        buf->res += j;
    return buf;
}

/* Every tile of C against one block of columns [j0, j0 + nr) whose rows of
 * op(B) are at b + kk * ldb; op(A) is addressed as in tile(), by rtab and
 * ktab when rtab is not NULL. */
V_TARGET static void column_block(int64_t m, int64_t nr, int64_t k, float alpha,
                                   const float *a, int64_t ars, int64_t aks,
                                   const int64_t *rtab, const int64_t *ktab, const float *b,
                                   int64_t ldb, float beta, float *c, int64_t ldc,
                                   const bgm__gemm_epilogue *ep)
{
    bgm__gemm_epilogue e, *tep = NULL;
    const v_mask m0 = v_lanes(nr < V_VL ? nr : V_VL);
    const v_mask m1 = v_lanes(nr > NR ? V_VL : nr > V_VL ? nr - V_VL : 0);
    int64_t i;
    if (ep) {
        e = *ep;
        tep = &e;
    }
    if (nr <= V_VL) {
        /* A block of one vector: twice the rows keep the FMA units as busy. */
        const int full = nr == V_VL;
        for (i = 0; i < m; i += GT_MR1) {
            int mr = m - i < GT_MR1 ? (int)(m - i) : GT_MR1;
            if (ep && ep->res)
                e.res = ep->res + i * ep->ldres;
            if (rtab)
                tile_rows_narrow_gather(mr, k, a, 0, 0, rtab + i, ktab, b, ldb, m0, m1, full,
                                        alpha, beta, c + i * ldc, ldc, tep);
            else
                tile_rows_narrow(mr, k, a + i * ars, ars, aks, NULL, NULL, b, ldb, m0, m1,
                                 full, alpha, beta, c + i * ldc, ldc, tep);
        }
        return;
    }
    for (i = 0; i < m; i += GT_MR) {
        const int full = nr == NR;
        int mr = m - i < GT_MR ? (int)(m - i) : GT_MR;
        if (ep && ep->res)
            e.res = ep->res + i * ep->ldres;
        if (rtab)
            tile_rows_gather(mr, k, a, 0, 0, rtab + i, ktab, b, ldb, m0, m1, full, alpha, beta,
                             c + i * ldc, ldc, tep);
        else
            tile_rows(mr, k, a + i * ars, ars, aks, NULL, NULL, b, ldb, m0, m1, full, alpha,
                      beta, c + i * ldc, ldc, tep);
    }
}

/* panel[kk * NR + jj] = B(j0 + jj, k0 + kk) for jj < nr, kk < kc, where B is
 * stored (n, k) with row stride ldb: the transpose of an NR-row strip. */
V_TARGET static void pack_transposed(float *panel, const float *b, int64_t ldb, int64_t nr,
                                      int64_t kc)
{
    int64_t jj, kk;
    for (jj = 0; jj < nr; jj++) {
        const float *row = b + jj * ldb;
        for (kk = 0; kk < kc; kk++)
            panel[kk * NR + jj] = row[kk];
    }
}

/* panel[kk * NR + jj] = B(k0 + kk, j0 + jj) for jj < nr, kk < kc, where B is
 * stored (k, n) with row stride ldb: a copy of a kc x NR block. */
V_TARGET static void pack_rows(float *panel, const float *b, int64_t ldb, int64_t nr,
                                int64_t kc)
{
    int64_t kk;
    for (kk = 0; kk < kc; kk++)
        memcpy(panel + kk * NR, b + kk * ldb, (size_t)nr * sizeof *panel);
}

int GT_ROWS(void) { return GT_MR; }

/* One product of p, with its A, B and C at a, b and c. */
V_TARGET static void run_one(const bgm__gemm_call *p, const float *a, const float *b,
                              float *c)
{
    const int64_t ars = p->trans_a ? 1 : p->lda, aks = p->trans_a ? p->lda : 1;
    const int64_t m = p->m, n = p->n, k = p->k;
    bgm__gemm_epilogue e;
    int64_t j;
    /* Rows of a row-major B far apart lie on a new page each: copied in
     * blocks, as a transposed B is. The choice depends on B alone, so
     * splitting a product by rows of C changes no bits. */
    const int pack = !p->rtab && !p->ep &&
                     (p->trans_b || (p->ldb >= PACK_MIN_LDB && k > KC_PACKED));
    if (!pack) {
        for (j = 0; j < n; j += NR)
            column_block(m, n - j < NR ? n - j : NR, k, p->alpha, a, ars, aks, p->rtab,
                         p->ktab, b + j, p->ldb, p->beta, c + j, p->ldc, ep_at(p->ep, j, &e));
        return;
    }
    for (j = 0; j < n; j += NR) {
        float panel[KC_PACKED * NR] __attribute__((aligned(64)));
        int64_t nr = n - j < NR ? n - j : NR, k0;
        for (k0 = 0; k0 < k; k0 += KC_PACKED) {
            int64_t kc = k - k0 < KC_PACKED ? k - k0 : KC_PACKED;
            if (p->trans_b)
                pack_transposed(panel, b + j * p->ldb + k0, p->ldb, nr, kc);
            else
                pack_rows(panel, b + k0 * p->ldb + j, p->ldb, nr, kc);
            /* Later blocks of k add to what the first wrote. */
            column_block(m, nr, kc, p->alpha, a + k0 * aks, ars, aks, NULL, NULL, panel, NR,
                         k0 == 0 ? p->beta : 1.0f, c + j, p->ldc, NULL);
        }
    }
}

V_TARGET void GT_RUN(const bgm__gemm_call *p)
{
    /* count > 1: the products one after the other, with no dispatch
     * between them (gemm_own.h) */
    const int64_t count = p->count > 1 ? p->count : 1;
    int64_t s;
    for (s = 0; s < count; s++)
        run_one(p, p->a + s * p->sa, p->b + s * p->sb, p->c + s * p->sc);
}

#undef ALWAYS_INLINE
#undef KC_PACKED
#undef PACK_MIN_LDB
#undef NR
