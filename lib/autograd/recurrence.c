/* Plumbing shared by the LSTM and GRU operations (see recurrence.h). */
#include "recurrence.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rnn.h"

/* Elements of gate math worth waking another thread for. */
#define RNN_MIN_CHUNK_ELEMENTS 2048

/* Multiply-adds of whole sequences worth waking another thread for. */
#define RNN_MIN_SEQUENCE_WORK 1e6

static bgm_status check_float(const char *fn, const char *name, const bgm_tensor *t)
{
    if (t && t->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: %s is %s, expected float32", fn, name,
                         t->dtype == BGM_INT32 ? "int32" : "of an unknown dtype");
    return BGM_OK;
}

/* BGM_E_SHAPE unless t (when present) is (rows, cols). */
static bgm_status check_matrix(const char *fn, const char *name, const bgm_tensor *t,
                               int64_t rows, int64_t cols, const char *dims,
                               const char *context)
{
    char st[BGM__SHAPE_STR_SIZE];
    if (!t || (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols))
        return BGM_OK;
    return bgm__fail(BGM_E_SHAPE, "%s: %s must be %s = (%lld, %lld) for %s, got shape %s",
                     fn, name, dims, (long long)rows, (long long)cols, context,
                     bgm__tensor_shape_str(st, sizeof st, t));
}

bgm_status bgm__rnn_check(const char *fn, bgm__rnn *r, int gates, bgm_tensor **out,
                          const bgm_tensor *x, const bgm_tensor *w_ih,
                          const bgm_tensor *w_hh, const bgm_tensor *h0,
                          const bgm_tensor *c0, const bgm_tensor *mask,
                          const bgm_tensor *recurrent_mask, int return_sequences,
                          int reverse)
{
    char sx[BGM__SHAPE_STR_SIZE], si[BGM__SHAPE_STR_SIZE], sh[BGM__SHAPE_STR_SIZE];
    char context[3 * BGM__SHAPE_STR_SIZE];
    const char *names[7] = {"x", "w_ih", "w_hh", "h0", "c0", "mask", "recurrent_mask"};
    const bgm_tensor *all[7] = {x, w_ih, w_hh, h0, c0, mask, recurrent_mask};
    bgm_status s;
    int k;
    memset(r, 0, sizeof *r);
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(x, fn);
    BGM__CHECK_NULL(w_ih, fn);
    BGM__CHECK_NULL(w_hh, fn);
    for (k = 0; k < 7; k++)
        if ((s = check_float(fn, names[k], all[k])) != BGM_OK)
            return s;
    bgm__tensor_shape_str(sx, sizeof sx, x);
    bgm__tensor_shape_str(si, sizeof si, w_ih);
    bgm__tensor_shape_str(sh, sizeof sh, w_hh);
    if (x->ndim != 3)
        return bgm__fail(BGM_E_SHAPE, "%s: x must be (N, T, F), got shape %s", fn, sx);
    if (w_ih->ndim != 2 || w_ih->shape[1] % gates != 0 || w_ih->shape[1] == 0)
        return bgm__fail(BGM_E_SHAPE, "%s: w_ih must be (F, %d*H) with H >= 1, got shape "
                         "%s", fn, gates, si);
    if (w_ih->shape[0] != x->shape[2])
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has %lld features but w_ih %s expects "
                         "%lld", fn, sx, (long long)x->shape[2], si,
                         (long long)w_ih->shape[0]);
    r->n = x->shape[0];
    r->t = x->shape[1];
    r->f = x->shape[2];
    r->g = gates;
    r->h = w_ih->shape[1] / gates;
    r->return_sequences = return_sequences != 0;
    r->reverse = reverse != 0;
    snprintf(context, sizeof context, "w_ih %s", si);
    if ((s = check_matrix(fn, "w_hh", w_hh, r->h, r->g * r->h, "(H, G*H)", context)) != BGM_OK)
        return s;
    if (r->t < 1)
        return bgm__fail(BGM_E_SHAPE, "%s: x %s has no time steps", fn, sx);
    snprintf(context, sizeof context, "x %s and w_hh %s", sx, sh);
    if ((s = check_matrix(fn, "h0", h0, r->n, r->h, "(N, H)", context)) != BGM_OK ||
        (s = check_matrix(fn, "c0", c0, r->n, r->h, "(N, H)", context)) != BGM_OK ||
        (s = check_matrix(fn, "recurrent_mask", recurrent_mask, r->n, r->h, "(N, H)",
                          context)) != BGM_OK)
        return s;
    snprintf(context, sizeof context, "x %s", sx);
    if ((s = check_matrix(fn, "mask", mask, r->n, r->t, "(N, T)", context)) != BGM_OK)
        return s;
    if (r->n * r->t > INT_MAX || r->f > INT_MAX || r->t * r->g * r->h > INT_MAX)
        return bgm__fail(BGM_E_UNSUPPORTED, "%s: x %s with w_ih %s is larger than BLAS "
                         "takes (matrix sizes up to %d)", fn, sx, si, INT_MAX);
    /* Keeps every size computed from these far from int64 overflow. */
    if ((double)r->n * (double)r->t * (double)(r->g * r->h + r->f) > (double)(1LL << 56))
        return bgm__fail(BGM_E_NOMEM, "%s: x %s with w_ih %s needs more memory than this "
                         "machine can address", fn, sx, si);
    return BGM_OK;
}

bgm_status bgm__rnn_check_bias(const char *fn, const bgm__rnn *r, const bgm_tensor *bias,
                               int rows)
{
    char sb[BGM__SHAPE_STR_SIZE];
    int64_t gh = r->g * r->h;
    bgm_status s = check_float(fn, "bias", bias);
    if (s != BGM_OK || !bias)
        return s;
    bgm__tensor_shape_str(sb, sizeof sb, bias);
    if (rows == 0 && (bias->ndim != 1 || bias->shape[0] != gh))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%lld,) = (%lld*H,) for H = %lld, "
                         "got shape %s", fn, (long long)gh, (long long)r->g,
                         (long long)r->h, sb);
    if (rows > 0 && (bias->ndim != 2 || bias->shape[0] != rows || bias->shape[1] != gh))
        return bgm__fail(BGM_E_SHAPE, "%s: bias must be (%d, %lld) = (%d, %lld*H) for H = "
                         "%lld, got shape %s", fn, rows, (long long)gh, rows,
                         (long long)r->g, (long long)r->h, sb);
    return BGM_OK;
}

int bgm__rnn_out_shape(const bgm__rnn *r, int64_t *shape)
{
    shape[0] = r->n;
    if (!r->return_sequences) {
        shape[1] = r->h;
        return 2;
    }
    shape[1] = r->t;
    shape[2] = r->h;
    return 3;
}

int bgm__rnn_inputs(const bgm_tensor **in, int *ib, int *ih0, int *ic0,
                    const bgm_tensor *x, const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                    const bgm_tensor *bias, const bgm_tensor *h0, const bgm_tensor *c0)
{
    const bgm_tensor *optional[3] = {bias, h0, c0};
    int *pos[3] = {ib, ih0, ic0};
    int nin = 3, k;
    in[0] = x;
    in[1] = w_ih;
    in[2] = w_hh;
    for (k = 0; k < 3; k++) {
        if (!pos[k])
            continue;
        *pos[k] = optional[k] ? nin : -1;
        if (optional[k])
            in[nin++] = optional[k];
    }
    return nin;
}

void *bgm__carve(bgm__carver *cv, int64_t bytes)
{
    void *p = cv->base ? cv->base + cv->used : NULL;
    cv->used += (bytes + BGM__ALIGN - 1) / BGM__ALIGN * BGM__ALIGN;
    return p;
}

void bgm__rnn_carve_inputs(bgm__carver *cv, const bgm__rnn *r, float **xs, float **dxs)
{
    int64_t bytes = r->n * r->t * r->f * (int64_t)sizeof(float);
    *xs = bgm__carve(cv, bytes);
    *dxs = r->recording ? bgm__carve(cv, bytes) : NULL;
}

void bgm__rnn_carve_masks(bgm__carver *cv, const bgm__rnn *r, float **mask, float **rmask,
                          int64_t **first)
{
    *mask = bgm__carve(cv, r->n * r->t * (int64_t)sizeof(float));
    *rmask = bgm__carve(cv, r->n * r->h * (int64_t)sizeof(float));
    *first = bgm__carve(cv, r->n * (int64_t)sizeof(int64_t));
}

void *bgm__rnn_alloc(bgm__op_call *c, int64_t bytes)
{
    if ((uint64_t)bytes > SIZE_MAX)
        return NULL;
    return c->node ? bgm__op_save(c, (size_t)bytes) : bgm__scratch_alloc((size_t)bytes);
}

void bgm__rnn_release(const bgm__op_call *c, void *p)
{
    if (!c->node)
        bgm__scratch_free(p);
}

bgm_status bgm__rnn_reserve(bgm__op_call *c, const char *fn, const bgm__rnn *r, void *local,
                            size_t size, int64_t bytes, void **saved, void **block)
{
    *saved = r->recording ? bgm__op_save(c, size) : local;
    *block = *saved ? bgm__rnn_alloc(c, bytes) : NULL;
    if (!*block)
        return bgm__op_fail(c, bgm__fail(BGM_E_NOMEM, "%s: out of memory for the states "
                                         "of %lld steps (%lld bytes)", fn, (long long)r->t,
                                         (long long)bytes));
    return BGM_OK;
}

bgm_status bgm__rnn_finish(bgm__op_call *c, bgm_tensor **out, void *saved, const void *st,
                           size_t size, void *block)
{
    if (c->node) {
        memcpy(saved, st, size);
        c->node->saved = saved;
    } else {
        bgm__rnn_release(c, block);
    }
    return bgm__op_end(c, out);
}

void bgm__rnn_init_masks(bgm__rnn *r, const bgm_tensor *mask,
                         const bgm_tensor *recurrent_mask, float *mask_copy,
                         float *rmask_copy, int64_t *first)
{
    int64_t n, s;
    r->mask = NULL;
    r->rmask = NULL;
    if (mask) {
        memcpy(mask_copy, mask->data, (size_t)(r->n * r->t) * sizeof(float));
        r->mask = mask_copy;
    }
    if (recurrent_mask) {
        memcpy(rmask_copy, recurrent_mask->data, (size_t)(r->n * r->h) * sizeof(float));
        r->rmask = rmask_copy;
    }
    for (n = 0; n < r->n; n++) {
        for (s = 0; s < r->t && !bgm__rnn_valid(r, n, bgm__rnn_time(r, s)); s++)
            ;
        first[n] = s;
    }
    r->first = first;
}

void bgm__rnn_init_state(const bgm__rnn *r, float *state, const float *init)
{
    size_t nh = (size_t)(r->n * r->h) * sizeof(float);
    if (init)
        memcpy(state, init, nh);
    else
        memset(state, 0, nh);
}

void bgm__rnn_project_inputs(const bgm__rnn *r, const float *x, const float *w_ih,
                             const float *bias, float *xs, float *gates)
{
    int64_t gh = r->g * r->h, rows = r->n * r->t, i, n, s;
    size_t row = (size_t)r->f * sizeof(float);
    for (s = 0; s < r->t; s++)
        for (n = 0; n < r->n; n++)
            memcpy(xs + (s * r->n + n) * r->f, x + (n * r->t + bgm__rnn_time(r, s)) * r->f,
                   row);
    if (bias)
        for (i = 0; i < rows; i++)
            memcpy(gates + i * gh, bias, (size_t)gh * sizeof(float));
    bgm__gemm(0, 0, rows, gh, r->f, 1.0f, xs, r->f, w_ih, gh, bias ? 1.0f : 0.0f, gates, gh);
}

void bgm__rnn_project_inputs_backward(const bgm__rnn *r, const float *xs,
                                      const float *w_ih, const float *dg, float *dxs,
                                      float *gx, float *gw_ih, float *gbias)
{
    int64_t gh = r->g * r->h, rows = r->n * r->t, n, s;
    if (gx) {
        bgm__gemm(0, 1, rows, r->f, gh, 1.0f, dg, gh, w_ih, gh, 0.0f, dxs, r->f);
        for (s = 0; s < r->t; s++)
            for (n = 0; n < r->n; n++)
                bgm__rnn_add_row(r->f, dxs + (s * r->n + n) * r->f,
                                 gx + (n * r->t + bgm__rnn_time(r, s)) * r->f);
    }
    if (gw_ih)
        bgm__gemm(1, 0, r->f, gh, rows, 1.0f, xs, r->f, dg, gh, 1.0f, gw_ih, gh);
    if (gbias)
        bgm__rnn_add_column_sums(rows, gh, dg, gh, gbias);
}

void bgm__rnn_init_state_backward(const bgm__rnn *r, const float *dh, float *gh0)
{
    int64_t i, nh = r->n * r->h;
    if (gh0)
        for (i = 0; i < nh; i++)
            gh0[i] += dh[i];
}

/* Where sample n's output of step s starts in out (-1: step s has none). */
static int64_t out_offset(const bgm__rnn *r, int64_t s, int64_t n)
{
    if (r->return_sequences)
        return (n * r->t + bgm__rnn_time(r, s)) * r->h;
    return s == r->t - 1 ? n * r->h : -1;
}

void bgm__rnn_emit(const bgm__rnn *r, int64_t s, int64_t begin, int64_t end,
                   const float *state, float *out)
{
    size_t row = (size_t)r->h * sizeof(float);
    int64_t n;
    for (n = begin; n < end; n++) {
        int64_t at = out_offset(r, s, n);
        if (at < 0)
            return;
        /* Keras: before the first unpadded step the previous output is zeros. */
        if (s >= r->first[n])
            memcpy(out + at, state + n * r->h, row);
        else
            memset(out + at, 0, row);
    }
}

void bgm__rnn_emit_backward(const bgm__rnn *r, int64_t s, int64_t begin, int64_t end,
                            const float *gout, float *dh)
{
    int64_t n;
    for (n = begin; n < end; n++) {
        int64_t at = out_offset(r, s, n);
        if (at < 0)
            return;
        if (s >= r->first[n])
            bgm__rnn_add_row(r->h, gout + at, dh + n * r->h);
    }
}

const float *bgm__rnn_recurrent_input(const bgm__rnn *r, int64_t begin, int64_t end,
                                      const float *h, float *hm)
{
    if (!r->rmask)
        return h + begin * r->h;
    bgm__rnn_mul((end - begin) * r->h, h + begin * r->h, r->rmask + begin * r->h,
                 hm + begin * r->h);
    return hm + begin * r->h;
}

void bgm__rnn_recurrent_product(const bgm__rnn *r, int64_t begin, int64_t end,
                                const float *h_prev, const float *w_hh, float *hm,
                                float *dst, int64_t ld)
{
    int64_t gh = r->g * r->h;
    const float *a = bgm__rnn_recurrent_input(r, begin, end, h_prev, hm);
    bgm__gemm(0, 0, end - begin, gh, r->h, 1.0f, a, r->h, w_hh, gh, 1.0f, dst + begin * ld,
              ld);
}

void bgm__rnn_recurrent_weight_backward(const bgm__rnn *r, const float *h_prev,
                                        const float *dg, int64_t ldg, float *hm,
                                        float *gw_hh)
{
    int64_t gh = r->g * r->h;
    const float *a = bgm__rnn_recurrent_input(r, 0, r->n, h_prev, hm);
    bgm__gemm(1, 0, r->h, gh, r->n, 1.0f, a, r->h, dg, ldg, 1.0f, gw_hh, gh);
}

void bgm__rnn_recurrent_backward(const bgm__rnn *r, int64_t begin, int64_t end,
                                 const float *dg, int64_t ldg, const float *w_hh_t,
                                 float *dh, float *dhm)
{
    int64_t gh = r->g * r->h, rows = end - begin, at = begin * r->h;
    dg += begin * ldg;
    if (!r->rmask) {
        bgm__gemm(0, 0, rows, r->h, gh, 1.0f, dg, ldg, w_hh_t, r->h, 1.0f, dh + at, r->h);
        return;
    }
    bgm__gemm(0, 0, rows, r->h, gh, 1.0f, dg, ldg, w_hh_t, r->h, 0.0f, dhm + at, r->h);
    bgm__rnn_mul_add(rows * r->h, dhm + at, r->rmask + at, dh + at);
}

void bgm__rnn_for_samples(const bgm__rnn *r, bgm__range_fn fn, void *ctx)
{
    bgm__parallel_for(r->n, (RNN_MIN_CHUNK_ELEMENTS + r->h - 1) / r->h, fn, ctx);
}

void bgm__rnn_for_sequences(const bgm__rnn *r, bgm__range_fn fn, void *ctx)
{
    /* multiply-adds of one sample's sequence: the recurrent product and
     * about 8 per unit for the gate math */
    double work = (double)r->t * (double)(r->g * r->h) * (double)(r->h + 8);
    int64_t threads = bgm__pool_threads(), chunk = (r->n + threads - 1) / threads;
    int64_t least = (int64_t)(RNN_MIN_SEQUENCE_WORK / work) + 1;
    bgm__parallel_for(r->n, chunk > least ? chunk : least, fn, ctx);
}
