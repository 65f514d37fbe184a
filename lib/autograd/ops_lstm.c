/*
 * bgm_op_lstm: the LSTM recurrence, forward and backward through time.
 *
 * Forward: the input projections of every step, x (T*N, F in step order) @
 * w_ih, are one sgemm into the gate buffer (T, N, 4H); each step then adds
 * h @ w_hh into its N contiguous rows (one sgemm) and runs the gate math in
 * place (the bias added there, not copied into every row before the first
 * sgemm), leaving the activations there for backward. States are kept per
 * step when recording, else in two alternating slots.
 *
 * Backward walks the steps in reverse: the gate math gives the gradient of
 * the step's pre-activations (into a buffer shaped like the gates), which
 * feeds one sgemm for the gradient of the previous state. After the loop,
 * dw_hh (the kept states against the gradients of all steps), dx and dw_ih
 * are one sgemm each. Every buffer is allocated at forward time, so
 * backward cannot fail.
 */
#include <string.h>

#include "kernels/gemm.h"
#include "kernels/rnn.h"
#include "recurrence.h"

typedef struct lstm_state {
    bgm__rnn r;
    int ib, ih0, ic0;   /* input indices of bias, h0, c0; -1 when absent */
    int has_rmask;      /* a recurrent mask was given */
    float *gates;       /* (T, N, 4H): pre-activations, then activations */
    float *xs, *dxs;    /* x in step order (T*N, F); dxs: its gradient */
    float *hs, *cs;     /* states after each step; slot 0 holds h0 / c0 */
    float *tc;          /* tanh(c) of each step */
    float *hm;          /* (N, H): h times the recurrent mask; every step's
                         * when recording with a recurrent mask */
    float *dg;          /* (T, N, 4H) gradient of the pre-activations */
    float *dh, *dc;     /* (N, H) gradients of the running state */
    float *dhm;         /* (N, H) scratch */
    float *w_hh_t;      /* (4H, H): w_hh transposed, for backward */
} lstm_state;

/* Carves st's buffers from base (NULL: only counts); returns the bytes. */
static int64_t lstm_layout(lstm_state *st, char *base, float **mask, float **rmask,
                           int64_t **first)
{
    const bgm__rnn *r = &st->r;
    bgm__carver cv = {base, 0};
    int64_t nh = r->n * r->h * (int64_t)sizeof(float), all = r->n * r->t;
    int64_t slots = r->recording ? r->t + 1 : 2;
    st->gates = bgm__carve(&cv, all * 4 * r->h * (int64_t)sizeof(float));
    bgm__rnn_carve_inputs(&cv, r, &st->xs, &st->dxs);
    st->hs = bgm__carve(&cv, slots * nh);
    st->cs = bgm__carve(&cv, slots * nh);
    st->tc = bgm__carve(&cv, (r->recording ? r->t : 1) * nh);
    st->hm = bgm__carve(&cv, (r->recording && st->has_rmask ? r->t : 1) * nh);
    bgm__rnn_carve_masks(&cv, r, mask, rmask, first);
    if (r->recording) {
        st->dg = bgm__carve(&cv, all * 4 * r->h * (int64_t)sizeof(float));
        st->dh = bgm__carve(&cv, nh);
        st->dc = bgm__carve(&cv, nh);
        st->dhm = bgm__carve(&cv, nh);
        st->w_hh_t = bgm__carve(&cv, 4 * r->h * r->h * (int64_t)sizeof(float));
    }
    return cv.used;
}

/* ---- forward ------------------------------------------------------------- */

/* What the sequences of a range of samples need. */
typedef struct lstm_run {
    const lstm_state *st;
    const float *w_hh;      /* forward: (H, 4H); backward: transposed (4H, H) */
    const float *bias;      /* forward: (4H) or NULL */
    int has_h0;
    const float *gout;      /* backward */
    float *out;             /* forward */
    float *gh0;             /* backward: NULL when h0's gradient is not wanted */
} lstm_run;

/* Where step s's h times the recurrent mask goes (kept per step for dw_hh
 * when recording). */
static float *lstm_masked_slot(const lstm_state *st, int64_t s)
{
    return st->r.recording && st->r.rmask ? bgm__rnn_step_slot(&st->r, st->hm, s) : st->hm;
}

/* Every step of samples [begin, end): the recurrent product of their rows,
 * the gate math, the outputs. */
static void lstm_sequences_forward(void *ctx, int64_t begin, int64_t end)
{
    const lstm_run *p = ctx;
    const lstm_state *st = p->st;
    const bgm__rnn *r = &st->r;
    int64_t h = r->h, g4 = 4 * h, s, n;
    for (s = 0; s < r->t; s++) {
        int64_t t = bgm__rnn_time(r, s);
        float *gates = bgm__rnn_step_rows(r, st->gates, s, g4);
        const float *h_prev = bgm__rnn_slot(r, st->hs, s);
        const float *c_prev = bgm__rnn_slot(r, st->cs, s);
        float *hn = bgm__rnn_slot(r, st->hs, s + 1), *cn = bgm__rnn_slot(r, st->cs, s + 1);
        float *tc = bgm__rnn_step_slot(r, st->tc, s);
        if (s > 0 || p->has_h0)
            bgm__rnn_recurrent_product(r, begin, end, h_prev, p->w_hh,
                                       lstm_masked_slot(st, s), gates, g4);
        for (n = begin; n < end; n++) {
            if (bgm__rnn_valid(r, n, t)) {
                bgm__lstm_cell_forward(h, gates + n * g4, p->bias, c_prev + n * h,
                                       cn + n * h, tc + n * h, hn + n * h);
            } else {
                memcpy(hn + n * h, h_prev + n * h, (size_t)h * sizeof(float));
                memcpy(cn + n * h, c_prev + n * h, (size_t)h * sizeof(float));
            }
        }
        bgm__rnn_emit(r, s, begin, end, hn, p->out);
    }
}

static void lstm_forward(lstm_state *st, const float *x, const float *w_ih,
                         const float *w_hh, const float *bias, const float *h0,
                         const float *c0, float *out)
{
    lstm_run p = {st, w_hh, bias, h0 != NULL, NULL, out, NULL};
    bgm__rnn_project_inputs(&st->r, x, w_ih, NULL, st->xs, st->gates);
    bgm__rnn_init_state(&st->r, st->hs, h0);
    bgm__rnn_init_state(&st->r, st->cs, c0);
    bgm__rnn_for_sequences(&st->r, lstm_sequences_forward, &p);
}

/* ---- backward ------------------------------------------------------------ */

/* Every step of samples [begin, end) in reverse: the outputs' gradients,
 * the gate math's backward, the gradient of the previous state. */
static void lstm_sequences_backward(void *ctx, int64_t begin, int64_t end)
{
    const lstm_run *p = ctx;
    const lstm_state *st = p->st;
    const bgm__rnn *r = &st->r;
    int64_t h = r->h, g4 = 4 * h, s, n;
    for (s = r->t - 1; s >= 0; s--) {
        int64_t t = bgm__rnn_time(r, s);
        const float *gates = bgm__rnn_step_rows(r, st->gates, s, g4);
        const float *c_prev = bgm__rnn_slot(r, st->cs, s);
        const float *tc = bgm__rnn_step_slot(r, st->tc, s);
        float *dg = bgm__rnn_step_rows(r, st->dg, s, g4);
        bgm__rnn_emit_backward(r, s, begin, end, p->gout, st->dh);
        for (n = begin; n < end; n++) {
            if (bgm__rnn_valid(r, n, t))
                bgm__lstm_cell_backward(h, gates + n * g4, c_prev + n * h, tc + n * h,
                                        st->dh + n * h, st->dc + n * h, dg + n * g4);
            else
                memset(dg + n * g4, 0, (size_t)g4 * sizeof(float));
        }
        /* step 0 has a previous state only with h0 */
        if (s > 0 || (p->has_h0 && p->gh0))
            bgm__rnn_recurrent_backward(r, begin, end, dg, g4, p->w_hh, st->dh, st->dhm);
    }
}

/* in: x, w_ih, w_hh, then bias, h0, c0 where present. */
static void lstm_backward(const bgm__node *node, const float *gout, float **gin)
{
    const lstm_state *st = node->saved;
    const bgm__rnn *r = &st->r;
    const float *w_ih = node->in[1]->data, *w_hh = node->in[2]->data;
    float *gw_hh = gin[2], *gh0 = st->ih0 >= 0 ? gin[st->ih0] : NULL;
    float *gc0 = st->ic0 >= 0 ? gin[st->ic0] : NULL;
    int64_t g4 = 4 * r->h, nh = r->n * r->h;
    /* the first step with a previous state (s = 0 has h0 or nothing) */
    int64_t s0 = st->ih0 >= 0 ? 0 : 1;
    lstm_run p = {st, st->w_hh_t, NULL, st->ih0 >= 0, gout, NULL, gh0};
    memset(st->dh, 0, (size_t)nh * sizeof(float));
    memset(st->dc, 0, (size_t)nh * sizeof(float));
    bgm__rnn_transpose(r->h, g4, w_hh, st->w_hh_t);
    bgm__rnn_for_sequences(r, lstm_sequences_backward, &p);
    /* dw_hh over all steps at once: the recurrent inputs of steps s0.. lie
     * one after another (hs slots, or the masked copies). */
    if (gw_hh && r->t > s0) {
        const float *a = r->rmask ? lstm_masked_slot(st, s0) : bgm__rnn_slot(r, st->hs, s0);
        bgm__gemm(1, 0, r->h, g4, (r->t - s0) * r->n, 1.0f, a, r->h,
                  bgm__rnn_step_rows(r, st->dg, s0, g4), g4, 1.0f, gw_hh, g4);
    }
    bgm__rnn_init_state_backward(r, st->dh, gh0);
    bgm__rnn_init_state_backward(r, st->dc, gc0);
    bgm__rnn_project_inputs_backward(r, st->xs, w_ih, st->dg, st->dxs, gin[0], gin[1],
                                     st->ib >= 0 ? gin[st->ib] : NULL);
}

static const bgm__op op_lstm = {"lstm", lstm_backward, 0};

BGM_API bgm_status bgm_op_lstm(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *x,
                               const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                               const bgm_tensor *bias, const bgm_tensor *h0,
                               const bgm_tensor *c0, const bgm_tensor *mask,
                               const bgm_tensor *recurrent_mask, int return_sequences,
                               int reverse)
{
    static const char *fn = "bgm_op_lstm";
    const bgm_tensor *in[6];
    lstm_state st;
    int64_t shape[3], bytes, *first;
    float *mask_copy, *rmask_copy;
    void *saved, *block;
    bgm__op_call c;
    int nin, ndim;
    bgm_status s = bgm__rnn_check(fn, &st.r, 4, out, x, w_ih, w_hh, h0, c0, mask,
                                  recurrent_mask, return_sequences, reverse);
    if (s != BGM_OK || (s = bgm__rnn_check_bias(fn, &st.r, bias, 0)) != BGM_OK)
        return s;
    nin = bgm__rnn_inputs(in, &st.ib, &st.ih0, &st.ic0, x, w_ih, w_hh, bias, h0, c0);
    ndim = bgm__rnn_out_shape(&st.r, shape);
    s = bgm__op_begin(&c, fn, out, tape, &op_lstm, in, nin, shape, ndim, NULL);
    if (s != BGM_OK)
        return s;
    st.r.recording = c.node != NULL;
    st.has_rmask = recurrent_mask != NULL;
    bytes = lstm_layout(&st, NULL, &mask_copy, &rmask_copy, &first);
    s = bgm__rnn_reserve(&c, fn, &st.r, &st, sizeof st, bytes, &saved, &block);
    if (s != BGM_OK)
        return s;
    lstm_layout(&st, block, &mask_copy, &rmask_copy, &first);
    bgm__rnn_init_masks(&st.r, mask, recurrent_mask, mask_copy, rmask_copy, first);
    lstm_forward(&st, x->data, w_ih->data, w_hh->data, bias ? bias->data : NULL,
                 h0 ? h0->data : NULL, c0 ? c0->data : NULL, c.out->data);
    return bgm__rnn_finish(&c, out, saved, &st, sizeof st, block);
}
