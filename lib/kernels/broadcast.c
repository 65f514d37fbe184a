/*
 * Broadcasting binary kernels. The output is walked in rows of its last
 * iteration dimension; inside a row each operand is either contiguous or a
 * single repeated value, so every inner loop is a plain vectorizable loop.
 */
#include "broadcast.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "simd.h"

/* Below this many elements, threads cost more than they save. */
#define BCAST_MIN_CHUNK 32768

int bgm__bcast_plan(bgm__bcast *p, const int64_t *ashape, int andim,
                    const int64_t *bshape, int bndim)
{
    int64_t ad[BGM_MAX_DIMS], bd[BGM_MAX_DIMS], as[BGM_MAX_DIMS], bs[BGM_MAX_DIMS];
    int64_t sa = 1, sb = 1;
    int nd = andim > bndim ? andim : bndim, i;

    memset(p, 0, sizeof *p);
    if (andim < 0 || bndim < 0 || nd > BGM_MAX_DIMS)
        return -1;
    p->ndim = nd;
    p->numel = p->anumel = p->bnumel = 1;
    for (i = 0; i < nd; i++) {
        ad[i] = i >= nd - andim ? ashape[i - (nd - andim)] : 1;
        bd[i] = i >= nd - bndim ? bshape[i - (nd - bndim)] : 1;
        if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1)
            return -1;
        p->shape[i] = ad[i] == 1 ? bd[i] : ad[i];
        p->numel *= p->shape[i];
        p->anumel *= ad[i];
        p->bnumel *= bd[i];
    }
    for (i = nd - 1; i >= 0; i--) {
        as[i] = ad[i] == 1 ? 0 : sa;
        bs[i] = bd[i] == 1 ? 0 : sb;
        sa *= ad[i];
        sb *= bd[i];
    }
    /* Size-1 dimensions do not move anything; a dimension merges into the
     * previous one when both operands step through the pair as one run. */
    for (i = 0; i < nd; i++) {
        int k = p->nit - 1;
        if (p->shape[i] == 1)
            continue;
        if (k >= 0 && p->astride[k] == as[i] * p->shape[i] &&
            p->bstride[k] == bs[i] * p->shape[i]) {
            p->it[k] *= p->shape[i];
            p->astride[k] = as[i];
            p->bstride[k] = bs[i];
        } else {
            p->it[p->nit] = p->shape[i];
            p->astride[p->nit] = as[i];
            p->bstride[p->nit] = bs[i];
            p->nit++;
        }
    }
    if (p->nit == 0) {
        p->nit = 1;
        p->it[0] = 1;
    }
    return 0;
}

/* Called per row: n elements from output offset o, operand offsets oa, ob. */
typedef void (*row_fn)(const void *ctx, int64_t n, int64_t o, int64_t oa, int64_t ob);

/* Visits output elements [begin, end) row by row. */
static void walk(const bgm__bcast *p, int64_t begin, int64_t end, row_fn fn,
                 const void *ctx)
{
    int64_t idx[BGM_MAX_DIMS], rem = begin, oa = 0, ob = 0, pos = begin;
    int last = p->nit - 1, d;
    for (d = last; d >= 0; d--) {
        idx[d] = rem % p->it[d];
        rem /= p->it[d];
        oa += idx[d] * p->astride[d];
        ob += idx[d] * p->bstride[d];
    }
    while (pos < end) {
        int64_t len = p->it[last] - idx[last];
        if (len > end - pos)
            len = end - pos;
        fn(ctx, len, pos, oa, ob);
        pos += len;
        idx[last] += len;
        oa += len * p->astride[last];
        ob += len * p->bstride[last];
        for (d = last; d > 0 && idx[d] == p->it[d]; d--) {
            oa += p->astride[d - 1] - p->it[d] * p->astride[d];
            ob += p->bstride[d - 1] - p->it[d] * p->bstride[d];
            idx[d] = 0;
            idx[d - 1]++;
        }
    }
}

/* ---- forward ------------------------------------------------------------- */

typedef struct fwd_ctx {
    bgm__binop op;
    const bgm__bcast *p;
    const float *a, *b;
    float *out;
} fwd_ctx;

#define FWD_LOOP(EXPR)                                                         \
    do {                                                                       \
        if (sa && sb) {                                                        \
            for (j = 0; j < n; j++)                                            \
                o[j] = EXPR(a[j], b[j]);                                       \
        } else if (!sb) {                                                      \
            const float bv = b[0];                                             \
            for (j = 0; j < n; j++)                                            \
                o[j] = EXPR(a[j * sa], bv);                                    \
        } else {                                                               \
            const float av = a[0];                                             \
            for (j = 0; j < n; j++)                                            \
                o[j] = EXPR(av, b[j]);                                         \
        }                                                                      \
    } while (0)

#define F_ADD(x, y) ((x) + (y))
#define F_SUB(x, y) ((x) - (y))
#define F_MUL(x, y) ((x) * (y))
#define F_DIV(x, y) ((x) / (y))
/* A NaN in either operand wins; on a tie (0 and -0 too) the result is x. */
#define F_MAX(x, y) ((x) < (y) || isnan(y) ? (y) : (x))
#define F_MIN(x, y) ((x) > (y) || isnan(y) ? (y) : (x))

BGM__HOT static void fwd_row(const void *vctx, int64_t n, int64_t off, int64_t oa, int64_t ob)
{
    const fwd_ctx *c = vctx;
    const int last = c->p->nit - 1;
    const int64_t sa = c->p->astride[last], sb = c->p->bstride[last];
    const float *a = c->a + oa, *b = c->b + ob;
    float *o = c->out + off;
    int64_t j;
    switch (c->op) {
    case BGM__BIN_ADD: FWD_LOOP(F_ADD); break;
    case BGM__BIN_SUB: FWD_LOOP(F_SUB); break;
    case BGM__BIN_MUL: FWD_LOOP(F_MUL); break;
    case BGM__BIN_DIV: FWD_LOOP(F_DIV); break;
    case BGM__BIN_MAX: FWD_LOOP(F_MAX); break;
    case BGM__BIN_MIN: FWD_LOOP(F_MIN); break;
    }
}

static void fwd_range(void *ctx, int64_t begin, int64_t end)
{
    const fwd_ctx *c = ctx;
    walk(c->p, begin, end, fwd_row, c);
}

void bgm__bcast_forward(bgm__binop op, const bgm__bcast *p, const float *a,
                        const float *b, float *out)
{
    fwd_ctx c = {op, p, a, b, out};
    if (p->numel > 0)
        bgm__parallel_for(p->numel, BCAST_MIN_CHUNK, fwd_range, &c);
}

/* ---- backward ------------------------------------------------------------ */

typedef struct bwd_ctx {
    bgm__binop op;
    const bgm__bcast *p;
    const float *a, *b, *g;
    float *gt;                 /* gradient being accumulated */
    int wrt_b;                 /* 0: gt is a's gradient, 1: b's */
} bwd_ctx;

/* gt's stride st is 0 when this row is summed into one gradient element. */
#define BWD_LOOP(T)                                                            \
    do {                                                                       \
        if (sa && sb) {                                                        \
            for (j = 0; j < n; j++)                                            \
                gt[j] += T(g[j], a[j], b[j]);                                  \
        } else if (!sb) {                                                      \
            const float bv = b[0];                                             \
            (void)bv; /* unused by terms that ignore the operands */          \
            if (st) {                                                          \
                for (j = 0; j < n; j++)                                        \
                    gt[j] += T(g[j], a[j * sa], bv);                           \
            } else {                                                           \
                double acc = 0.0;                                              \
                for (j = 0; j < n; j++)                                        \
                    acc += T(g[j], a[j * sa], bv);                             \
                gt[0] += (float)acc;                                           \
            }                                                                  \
        } else {                                                               \
            const float av = a[0];                                             \
            (void)av;                                                          \
            if (st) {                                                          \
                for (j = 0; j < n; j++)                                        \
                    gt[j] += T(g[j], av, b[j]);                                \
            } else {                                                           \
                double acc = 0.0;                                              \
                for (j = 0; j < n; j++)                                        \
                    acc += T(g[j], av, b[j]);                                  \
                gt[0] += (float)acc;                                           \
            }                                                                  \
        }                                                                      \
    } while (0)

#define D_ID(g, x, y) (g)
#define D_NEG(g, x, y) (-(g))
#define D_MUL_A(g, x, y) ((g) * (y))
#define D_MUL_B(g, x, y) ((g) * (x))
#define D_DIV_A(g, x, y) ((g) / (y))
/* As PyTorch: -g * (a / b) / b, which stays finite longer than g*a/(b*b). */
#define D_DIV_B(g, x, y) (-(g) * ((x) / (y)) / (y))
/* Maximum and minimum, as PyTorch: an operand gets g where it wins, half of
 * it on a tie, and all of it where either operand is NaN (no comparison
 * holds). x and y are always a and b: d max/da is zero where a < b, d max/db
 * where a > b; min swaps the two. */
#define D_ZERO_IF_LT(g, x, y) ((x) == (y) ? 0.5f * (g) : (x) < (y) ? 0.0f : (g))
#define D_ZERO_IF_GT(g, x, y) ((x) == (y) ? 0.5f * (g) : (x) > (y) ? 0.0f : (g))

BGM__HOT static void bwd_row(const void *vctx, int64_t n, int64_t off, int64_t oa, int64_t ob)
{
    const bwd_ctx *c = vctx;
    const int last = c->p->nit - 1;
    const int64_t sa = c->p->astride[last], sb = c->p->bstride[last];
    const int64_t st = c->wrt_b ? sb : sa;
    const float *a = c->a + oa, *b = c->b + ob, *g = c->g + off;
    float *gt = c->gt + (c->wrt_b ? ob : oa);
    int64_t j;
    switch (c->op * 2 + c->wrt_b) {
    case BGM__BIN_ADD * 2:
    case BGM__BIN_ADD * 2 + 1:
    case BGM__BIN_SUB * 2: BWD_LOOP(D_ID); break;
    case BGM__BIN_SUB * 2 + 1: BWD_LOOP(D_NEG); break;
    case BGM__BIN_MUL * 2: BWD_LOOP(D_MUL_A); break;
    case BGM__BIN_MUL * 2 + 1: BWD_LOOP(D_MUL_B); break;
    case BGM__BIN_DIV * 2: BWD_LOOP(D_DIV_A); break;
    case BGM__BIN_DIV * 2 + 1: BWD_LOOP(D_DIV_B); break;
    case BGM__BIN_MAX * 2:
    case BGM__BIN_MIN * 2 + 1: BWD_LOOP(D_ZERO_IF_LT); break;
    case BGM__BIN_MAX * 2 + 1:
    case BGM__BIN_MIN * 2: BWD_LOOP(D_ZERO_IF_GT); break;
    }
}

static void bwd_range(void *ctx, int64_t begin, int64_t end)
{
    const bwd_ctx *c = ctx;
    walk(c->p, begin, end, bwd_row, c);
}

/* An operand that was not broadcast owns one gradient element per output
 * element, so its rows may run in parallel; a broadcast one sums several
 * output rows into the same elements and runs on one thread. */
static void bwd_one(bwd_ctx *c, int64_t operand_numel)
{
    if (operand_numel == c->p->numel)
        bgm__parallel_for(c->p->numel, BCAST_MIN_CHUNK, bwd_range, c);
    else
        bwd_range(c, 0, c->p->numel);
}

void bgm__bcast_backward(bgm__binop op, const bgm__bcast *p, const float *a,
                         const float *b, const float *gout, float *ga, float *gb)
{
    bwd_ctx c = {op, p, a, b, gout, NULL, 0};
    if (p->numel == 0)
        return;
    if (ga) {
        c.gt = ga;
        c.wrt_b = 0;
        bwd_one(&c, p->anumel);
    }
    if (gb) {
        c.gt = gb;
        c.wrt_b = 1;
        bwd_one(&c, p->bnumel);
    }
}
