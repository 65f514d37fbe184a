/*
 * bgm_op_gru: the GRU recurrence (reset_after, Keras' default and PyTorch's
 * formulation), forward and backward through time.
 *
 * Like the LSTM (ops_lstm.c): one sgemm for the input projections of all
 * steps into the gate buffer (T, N, 3H), one per step for the recurrent
 * product, the gate math in place. The recurrent product cannot be added
 * into the gate buffer because its n block is scaled by r first: it goes to
 * a per-step buffer, and its n block (h U_n + b_hn) is saved per step for
 * backward. Backward keeps two gradients of the pre-activations: of the
 * input projections (all steps, for dx and dw_ih at the end) and of the
 * recurrent one (per step, for dh_prev and dw_hh at once).
 */
#include <string.h>

#include "kernels/rnn.h"
#include "recurrence.h"

typedef struct gru_state {
    bgm__rnn r;
    int ib, ih0;        /* input indices of bias and h0; -1 when absent */
    float *gates;       /* (T, N, 3H): input projections, then activations z, r, n */
    float *xs, *dxs;    /* x in step order (T*N, F); dxs: its gradient */
    float *rec;         /* (N, 3H): recurrent projections of the current step */
    float *rec_n;       /* h U_n + b_hn of each step (N, H) */
    float *hs;          /* states after each step; slot 0 holds h0 */
    float *hm;          /* (N, H): h times the recurrent mask */
    float *dg;          /* (T, N, 3H) gradient of the input projections */
    float *drec;        /* (N, 3H) gradient of the recurrent projections */
    float *dh, *dhm;    /* (N, H) */
    float *w_hh_t;      /* (3H, H): w_hh transposed, for backward */
} gru_state;

static int64_t gru_layout(gru_state *st, char *base, float **mask, float **rmask,
                          int64_t **first)
{
    const bgm__rnn *r = &st->r;
    bgm__carver cv = {base, 0};
    int64_t nh = r->n * r->h * (int64_t)sizeof(float), all = r->n * r->t;
    int64_t slots = r->recording ? r->t + 1 : 2;
    st->gates = bgm__carve(&cv, all * 3 * r->h * (int64_t)sizeof(float));
    bgm__rnn_carve_inputs(&cv, r, &st->xs, &st->dxs);
    st->rec = bgm__carve(&cv, 3 * nh);
    st->rec_n = bgm__carve(&cv, (r->recording ? r->t : 1) * nh);
    st->hs = bgm__carve(&cv, slots * nh);
    st->hm = bgm__carve(&cv, nh);
    bgm__rnn_carve_masks(&cv, r, mask, rmask, first);
    if (r->recording) {
        st->dg = bgm__carve(&cv, all * 3 * r->h * (int64_t)sizeof(float));
        st->drec = bgm__carve(&cv, 3 * nh);
        st->dh = bgm__carve(&cv, nh);
        st->dhm = bgm__carve(&cv, nh);
        st->w_hh_t = bgm__carve(&cv, 3 * r->h * r->h * (int64_t)sizeof(float));
    }
    return cv.used;
}

/* ---- forward ------------------------------------------------------------- */

typedef struct gru_step {
    const gru_state *st;
    int64_t t;
    float *gates;       /* the step's rows */
    const float *h_prev;
    float *h, *rec_n;
} gru_step;

static void gru_rows_forward(void *ctx, int64_t begin, int64_t end)
{
    const gru_step *p = ctx;
    const bgm__rnn *r = &p->st->r;
    int64_t n, h = r->h;
    for (n = begin; n < end; n++) {
        if (bgm__rnn_valid(r, n, p->t))
            bgm__gru_cell_forward(h, p->gates + n * 3 * h,
                                  p->st->rec + n * 3 * h, p->h_prev + n * h,
                                  p->rec_n + n * h, p->h + n * h);
        else
            memcpy(p->h + n * h, p->h_prev + n * h, (size_t)h * sizeof(float));
    }
}

/* b_h is the recurrent bias (3H) or NULL. */
static void gru_forward(gru_state *st, const float *x, const float *w_ih,
                        const float *w_hh, const float *b_i, const float *b_h,
                        const float *h0, float *out)
{
    const bgm__rnn *r = &st->r;
    int64_t g3 = 3 * r->h, i, s;
    size_t row = (size_t)g3 * sizeof(float);
    bgm__rnn_project_inputs(r, x, w_ih, b_i, st->xs, st->gates);
    bgm__rnn_init_state(r, st->hs, h0);
    for (s = 0; s < r->t; s++) {
        gru_step p;
        p.st = st;
        p.t = bgm__rnn_time(r, s);
        p.gates = bgm__rnn_step_rows(r, st->gates, s, g3);
        p.h_prev = bgm__rnn_slot(r, st->hs, s);
        p.h = bgm__rnn_slot(r, st->hs, s + 1);
        p.rec_n = bgm__rnn_step_slot(r, st->rec_n, s);
        for (i = 0; i < r->n; i++) {
            if (b_h)
                memcpy(st->rec + i * g3, b_h, row);
            else
                memset(st->rec + i * g3, 0, row);
        }
        if (s > 0 || h0)
            bgm__rnn_recurrent_product(r, 0, r->n, p.h_prev, w_hh, st->hm, st->rec, g3);
        bgm__rnn_for_samples(r, gru_rows_forward, &p);
        bgm__rnn_emit(r, s, 0, r->n, p.h, out);
    }
}

/* ---- backward ------------------------------------------------------------ */

typedef struct gru_back_step {
    const gru_state *st;
    int64_t t;
    const float *gates, *h_prev, *rec_n;
    float *dg;
} gru_back_step;

static void gru_rows_backward(void *ctx, int64_t begin, int64_t end)
{
    const gru_back_step *p = ctx;
    const gru_state *st = p->st;
    const bgm__rnn *r = &st->r;
    int64_t n, h = r->h;
    size_t row = (size_t)(3 * h) * sizeof(float);
    for (n = begin; n < end; n++) {
        int64_t at = n * 3 * h;
        if (bgm__rnn_valid(r, n, p->t)) {
            bgm__gru_cell_backward(h, p->gates + at, p->rec_n + n * h, p->h_prev + n * h,
                                   st->dh + n * h, p->dg + at, st->drec + at);
        } else {
            memset(p->dg + at, 0, row);
            memset(st->drec + n * 3 * h, 0, row);
        }
    }
}

/* in: x, w_ih, w_hh, then bias, h0 where present. */
static void gru_backward(const bgm__node *node, const float *gout, float **gin)
{
    const gru_state *st = node->saved;
    const bgm__rnn *r = &st->r;
    const float *w_ih = node->in[1]->data, *w_hh = node->in[2]->data;
    float *gw_hh = gin[2], *gb = st->ib >= 0 ? gin[st->ib] : NULL;
    float *gh0 = st->ih0 >= 0 ? gin[st->ih0] : NULL;
    int64_t g3 = 3 * r->h, nh = r->n * r->h, s;
    memset(st->dh, 0, (size_t)nh * sizeof(float));
    bgm__rnn_transpose(r->h, g3, w_hh, st->w_hh_t);
    for (s = r->t - 1; s >= 0; s--) {
        gru_back_step p;
        int has_prev = s > 0 || st->ih0 >= 0;
        p.st = st;
        p.t = bgm__rnn_time(r, s);
        p.gates = bgm__rnn_step_rows(r, st->gates, s, g3);
        p.dg = bgm__rnn_step_rows(r, st->dg, s, g3);
        p.h_prev = bgm__rnn_slot(r, st->hs, s);
        p.rec_n = bgm__rnn_step_slot(r, st->rec_n, s);
        bgm__rnn_emit_backward(r, s, 0, r->n, gout, st->dh);
        bgm__rnn_for_samples(r, gru_rows_backward, &p);
        if (gb)
            bgm__rnn_add_column_sums(r->n, g3, st->drec, g3, gb + g3);
        if (gw_hh && has_prev)
            bgm__rnn_recurrent_weight_backward(r, p.h_prev, st->drec, g3, st->hm, gw_hh);
        if (has_prev && (s > 0 || gh0))
            bgm__rnn_recurrent_backward(r, 0, r->n, st->drec, g3, st->w_hh_t, st->dh,
                                        st->dhm);
    }
    bgm__rnn_init_state_backward(r, st->dh, gh0);
    bgm__rnn_project_inputs_backward(r, st->xs, w_ih, st->dg, st->dxs, gin[0], gin[1], gb);
}

static const bgm__op op_gru = {"gru", gru_backward, 0};

BGM_API bgm_status bgm_op_gru(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                              const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                              const bgm_tensor *bias, const bgm_tensor *h0,
                              const bgm_tensor *mask, const bgm_tensor *recurrent_mask,
                              int return_sequences, int reverse)
{
    static const char *fn = "bgm_op_gru";
    const bgm_tensor *in[6];
    gru_state st;
    int64_t shape[3], bytes, *first;
    float *mask_copy, *rmask_copy;
    const float *b;
    void *saved, *block;
    bgm__op_call c;
    int nin, ndim;
    bgm_status s = bgm__rnn_check(fn, &st.r, 3, out, x, w_ih, w_hh, h0, NULL, mask,
                                  recurrent_mask, return_sequences, reverse);
    if (s != BGM_OK || (s = bgm__rnn_check_bias(fn, &st.r, bias, 2)) != BGM_OK)
        return s;
    nin = bgm__rnn_inputs(in, &st.ib, &st.ih0, NULL, x, w_ih, w_hh, bias, h0, NULL);
    ndim = bgm__rnn_out_shape(&st.r, shape);
    s = bgm__op_begin(&c, fn, out, tape, &op_gru, in, nin, shape, ndim, NULL);
    if (s != BGM_OK)
        return s;
    st.r.recording = c.node != NULL;
    bytes = gru_layout(&st, NULL, &mask_copy, &rmask_copy, &first);
    s = bgm__rnn_reserve(&c, fn, &st.r, &st, sizeof st, bytes, &saved, &block);
    if (s != BGM_OK)
        return s;
    gru_layout(&st, block, &mask_copy, &rmask_copy, &first);
    bgm__rnn_init_masks(&st.r, mask, recurrent_mask, mask_copy, rmask_copy, first);
    b = bias ? bias->data : NULL;
    gru_forward(&st, x->data, w_ih->data, w_hh->data, b, b ? b + 3 * st.r.h : NULL,
                h0 ? h0->data : NULL, c.out->data);
    return bgm__rnn_finish(&c, out, saved, &st, sizeof st, block);
}
