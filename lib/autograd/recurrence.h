/*
 * What the LSTM and GRU operations share: argument checks, the masks, the
 * mapping of processing steps to time steps, the outputs of each step, the
 * recurrent product's backward, and memory for a call.
 *
 * Step s is the s-th step processed; its time index is s, or T - 1 - s when
 * reversed. Gate buffers are step-major (T, N, G*H): the gates of step s are
 * the N contiguous rows from s*N. x is copied in the same order (xs, T*N
 * rows of F), so the input products of all steps are single sgemms, and
 * the gradients of all steps line up with the states kept step by step:
 * dw_hh is one sgemm too. States are kept by step, (N, H) each: every
 * step's when recording (backward needs them), else two alternating slots.
 *
 * A node's inputs are x, w_ih, w_hh, then bias, h0 and c0 where present.
 */
#ifndef BGM_AUTOGRAD_RECURRENCE_H
#define BGM_AUTOGRAD_RECURRENCE_H

#include "core/threads.h"
#include "tape.h"

typedef struct bgm__rnn {
    int64_t n, t, f, h, g;   /* batch, steps, features, hidden units, gate blocks */
    int reverse, return_sequences;
    int recording;           /* the call has a node: states of every step are kept */
    const float *mask;       /* (N, T) copy, or NULL: every step counts */
    const float *rmask;      /* (N, H) copy, or NULL */
    int64_t *first;          /* per sample: first step that is not padding (T: none) */
} bgm__rnn;

/*
 * Checks out, x, the kernels, h0 / c0, the masks and the sizes BLAS and
 * memory can take, and fills r's sizes and flags (not the mask pointers).
 * gates is 4 (LSTM) or 3 (GRU); pass c0 = NULL when there is no cell state.
 */
bgm_status bgm__rnn_check(const char *fn, bgm__rnn *r, int gates, bgm_tensor **out,
                          const bgm_tensor *x, const bgm_tensor *w_ih,
                          const bgm_tensor *w_hh, const bgm_tensor *h0,
                          const bgm_tensor *c0, const bgm_tensor *mask,
                          const bgm_tensor *recurrent_mask, int return_sequences,
                          int reverse);

/* Checks an optional bias: (G*H) when rows == 0, else (rows, G*H). */
bgm_status bgm__rnn_check_bias(const char *fn, const bgm__rnn *r, const bgm_tensor *bias,
                               int rows);

/* Shape of the result; returns its number of dimensions. */
int bgm__rnn_out_shape(const bgm__rnn *r, int64_t *shape);

/* Packs the node's inputs into in (room for 6) and sets *ib, *ih0 and *ic0
 * (ic0 may be NULL when there is no cell state) to the positions of bias,
 * h0 and c0, -1 for an absent one. Returns the number of inputs. */
int bgm__rnn_inputs(const bgm_tensor **in, int *ib, int *ih0, int *ic0,
                    const bgm_tensor *x, const bgm_tensor *w_ih, const bgm_tensor *w_hh,
                    const bgm_tensor *bias, const bgm_tensor *h0, const bgm_tensor *c0);

/* Carves aligned pieces out of one block; with base == NULL it only counts. */
typedef struct bgm__carver {
    char *base;
    int64_t used;
} bgm__carver;

void *bgm__carve(bgm__carver *cv, int64_t bytes);

/* Carves xs (T*N, F) and, when recording, dxs (T*N, F) for dx in step
 * order. */
void bgm__rnn_carve_inputs(bgm__carver *cv, const bgm__rnn *r, float **xs, float **dxs);

/* Carves the room bgm__rnn_init_masks copies the masks into. */
void bgm__rnn_carve_masks(bgm__carver *cv, const bgm__rnn *r, float **mask, float **rmask,
                          int64_t **first);

/* Memory of one call: on the tape when recording (it lives as long as the
 * node), scratch otherwise, released by bgm__rnn_release. NULL when out of
 * memory. */
void *bgm__rnn_alloc(bgm__op_call *c, int64_t bytes);
void bgm__rnn_release(const bgm__op_call *c, void *p);

/*
 * Reserves the call's memory after bgm__op_begin: *saved gets room for the
 * op's state struct (size bytes; on the tape when recording, else local)
 * and *block `bytes` for its buffers. On failure the call is undone and
 * BGM_E_NOMEM reported.
 */
bgm_status bgm__rnn_reserve(bgm__op_call *c, const char *fn, const bgm__rnn *r, void *local,
                            size_t size, int64_t bytes, void **saved, void **block);

/* Ends the call: when recording, copies the state struct st to saved and
 * hangs it on the node; else releases block. */
bgm_status bgm__rnn_finish(bgm__op_call *c, bgm_tensor **out, void *saved, const void *st,
                           size_t size, void *block);

/* Copies the masks into the call's memory and finds each sample's first
 * unpadded step. mask_copy / rmask_copy may be NULL when the mask is. */
void bgm__rnn_init_masks(bgm__rnn *r, const bgm_tensor *mask,
                         const bgm_tensor *recurrent_mask, float *mask_copy,
                         float *rmask_copy, int64_t *first);

static inline int64_t bgm__rnn_time(const bgm__rnn *r, int64_t s)
{
    return r->reverse ? r->t - 1 - s : s;
}

/* State slot of step s in base (the state before step s; s = T: after the
 * last), (N, H). */
static inline float *bgm__rnn_slot(const bgm__rnn *r, float *base, int64_t s)
{
    return base + (r->recording ? s : s & 1) * r->n * r->h;
}

/* Slot of step s in a per-step buffer (N, H) kept only when recording. */
static inline float *bgm__rnn_step_slot(const bgm__rnn *r, float *base, int64_t s)
{
    return base + (r->recording ? s : 0) * r->n * r->h;
}

/* Rows of step s in a step-major buffer of width floats per sample. */
static inline float *bgm__rnn_step_rows(const bgm__rnn *r, float *base, int64_t s,
                                        int64_t width)
{
    return base + s * r->n * width;
}

/* 1 when sample n is processed at time t (not padding). */
static inline int bgm__rnn_valid(const bgm__rnn *r, int64_t n, int64_t t)
{
    return !r->mask || r->mask[n * r->t + t] != 0.0f;
}

/* The initial state (N, H): a copy of init, or zeros when init is NULL. */
void bgm__rnn_init_state(const bgm__rnn *r, float *state, const float *init);

/* Copies x (N, T, F) into xs in step order, then gates (T*N, G*H) = xs @
 * w_ih + bias (bias (G*H) or NULL). */
void bgm__rnn_project_inputs(const bgm__rnn *r, const float *x, const float *w_ih,
                             const float *bias, float *xs, float *gates);

/* Adds the gradients of the input projections dg (T*N, G*H, step order)
 * into gx (N, T, F), gw_ih and gbias (G*H); each may be NULL. xs is the
 * step-ordered x of the forward pass, dxs (T*N, F) scratch. */
void bgm__rnn_project_inputs_backward(const bgm__rnn *r, const float *xs,
                                      const float *w_ih, const float *dg, float *dxs,
                                      float *gx, float *gw_ih, float *gbias);

/* Adds the gradient of the initial state, dh (N, H), into gh0 (or NULL). */
void bgm__rnn_init_state_backward(const bgm__rnn *r, const float *dh, float *gh0);

/* Samples [begin, end) of the batch: the functions below that take a range
 * work on those rows of their (N, ...) arguments only, so that threads can
 * run whole sequences of disjoint samples. */

/* Writes the outputs of step s from the states after it (N, H). */
void bgm__rnn_emit(const bgm__rnn *r, int64_t s, int64_t begin, int64_t end,
                   const float *state, float *out);

/* Adds the gradient of step s's outputs into dh (N, H). */
void bgm__rnn_emit_backward(const bgm__rnn *r, int64_t s, int64_t begin, int64_t end,
                            const float *gout, float *dh);

/* The matrix multiplying w_hh: h itself, or h * recurrent mask written to hm
 * (rows [begin, end) of either). */
const float *bgm__rnn_recurrent_input(const bgm__rnn *r, int64_t begin, int64_t end,
                                      const float *h, float *hm);

/* dst (N, G*H, leading dimension ld) += (h_prev * recurrent mask) @ w_hh;
 * hm is (N, H) scratch. */
void bgm__rnn_recurrent_product(const bgm__rnn *r, int64_t begin, int64_t end,
                                const float *h_prev, const float *w_hh, float *hm,
                                float *dst, int64_t ld);

/* gw_hh += (h_prev * recurrent mask)^T @ dg; dg is (N, G*H) with leading
 * dimension ldg; hm is (N, H) scratch. */
void bgm__rnn_recurrent_weight_backward(const bgm__rnn *r, const float *h_prev,
                                        const float *dg, int64_t ldg, float *hm,
                                        float *gw_hh);

/* dh += (dg @ w_hh^T) * recurrent mask; dg is (N, G*H) with leading dimension
 * ldg, w_hh_t is w_hh transposed (G*H, H) (bgm__rnn_transpose once per
 * backward: a transposed operand would be packed again at every step); dhm
 * is (N, H) scratch. */
void bgm__rnn_recurrent_backward(const bgm__rnn *r, int64_t begin, int64_t end,
                                 const float *dg, int64_t ldg, const float *w_hh_t,
                                 float *dh, float *dhm);

/* Runs fn over the samples of one step, threaded when the step is large. */
void bgm__rnn_for_samples(const bgm__rnn *r, bgm__range_fn fn, void *ctx);

/* Runs fn over the samples in one contiguous piece per thread, for work
 * that walks every step of its samples (a sample's recurrence depends on no
 * other sample): one wake-up per call instead of one per step, and each
 * thread's per-step products keep all of its rows. */
void bgm__rnn_for_sequences(const bgm__rnn *r, bgm__range_fn fn, void *ctx);

#endif
