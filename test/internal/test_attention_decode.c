/* MultiHeadAttention under incremental decoding (the layer side of
 * generation with a K/V cache), driven as the generation driver drives it:
 * the layer's forward with a hand-made bgm__forward_ctx whose decode holds
 * the position and the layer's state slot. A causal self-attention run over
 * a whole sequence and the same sequence decoded in chunks (a prompt, then
 * one position at a time) give the same outputs, with and without padding
 * masks; misuse fails with a clear status. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "layers/layer.h"
#include "model/model_impl.h"

#define N 2
#define T 9
#define D 8

/* A model of one causal MultiHeadAttention (2 heads of 3, value_dim 5) over
 * x (T, D), with random weights. */
static bgm_model *causal_model(int return_scores)
{
    bgm_graph *g = NULL;
    bgm_node *x, *out[2];
    bgm_layer *l = bgm_layer_multi_head_attention(2, 3);
    bgm_model *m = NULL;
    bgm_tensor *w;
    BGM_ASSERT_OK(bgm_layer_set_value_dim(l, 5));
    BGM_ASSERT_OK(bgm_layer_set_use_causal_mask(l, 1));
    BGM_ASSERT_OK(bgm_layer_set_return_attention_scores(l, return_scores));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    x = bgm_test_input(g, (int64_t[]){T, D}, 2, "x");
    BGM_ASSERT_OK(bgm_layer_call_multi(out, return_scores ? 2 : 1, l, (bgm_node *[]){x, x},
                                       2));
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &x, 1, out, 1, 3));
    bgm_graph_free(g);
    w = bgm_test_randn((int64_t[]){bgm_model_num_params(m)}, 1, 17);
    BGM_ASSERT_OK(bgm_model_set_weights(m, bgm_tensor_data(w), bgm_model_num_params(m)));
    bgm_tensor_free(w);
    return m;
}

/* Positions [from, from + len) of every sequence of x (N, T, width). */
static bgm_tensor *positions(const bgm_tensor *x, int64_t from, int64_t len)
{
    int64_t width = bgm_tensor_dim(x, 2), b;
    bgm_tensor *p = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&p, BGM_FLOAT32, (int64_t[]){N, len, width}, 3));
    for (b = 0; b < N; b++)
        memcpy((float *)bgm_tensor_data(p) + b * len * width,
               (const float *)bgm_tensor_data(x) + (b * T + from) * width,
               (size_t)(len * width) * sizeof(float));
    return p;
}

/* Mask positions [from, from + len): (N, len). */
static bgm_tensor *mask_positions(const float *mask, int64_t from, int64_t len)
{
    int64_t b;
    bgm_tensor *p = NULL;
    BGM_ASSERT_OK(bgm_tensor_zeros(&p, BGM_FLOAT32, (int64_t[]){N, len}, 2));
    for (b = 0; b < N; b++)
        memcpy((float *)bgm_tensor_data(p) + b * len, mask + b * T + from,
               (size_t)len * sizeof(float));
    return p;
}

/* The layer's forward on x as query and value, decoding (dec not NULL) or
 * not, with the padding mask m ((N, len) or NULL) on both. */
static bgm_status run_layer(bgm_tensor **y, const bgm_model *m, bgm_tape *tape,
                            bgm__decode *dec, const bgm_tensor *x, const bgm_tensor *mask)
{
    const bgm_layer *l = m->layers[0];
    const bgm_tensor *masks[2] = {mask, mask};
    bgm__forward_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.tape = tape;
    ctx.mask = mask;
    ctx.masks = masks;
    ctx.decode = dec;
    return l->ops->forward(l, &ctx, m->views + l->first_weight,
                           (const bgm_tensor *const[]){x, x}, 2, y);
}

/* Fails unless rows [from, from + len) of want (N, T, width) equal got
 * (N, len, width) to rel 1e-5. */
static void assert_rows(const bgm_tensor *got, const bgm_tensor *want, int64_t from,
                        int64_t len)
{
    int64_t width = bgm_tensor_dim(want, 2), b, i;
    const float *g = bgm_tensor_data(got), *w = bgm_tensor_data(want);
    ck_assert_int_eq(bgm_tensor_dim(got, 1), len);
    for (b = 0; b < N; b++)
        for (i = 0; i < len * width; i++) {
            float a = g[b * len * width + i], e = w[(b * T + from) * width + i];
            ck_assert_msg(fabsf(a - e) <= 1e-5f * (1.0f + fabsf(e)),
                          "sequence %lld, position %lld: %g, expected %g", (long long)b,
                          (long long)(from + i / width), a, e);
        }
}

/* Decodes x in chunks: the prompt of t0 positions, then one at a time,
 * checking each chunk against the whole run. */
static void decode_and_compare(const float *mask_data)
{
    bgm_model *m = causal_model(0);
    bgm_tensor *x = bgm_test_randn((int64_t[]){N, T, D}, 3, 5), *full = NULL, *mask = NULL;
    bgm_tape *tape = NULL;
    void *state = NULL;
    bgm__decode dec = {0, &state};
    int64_t pos = 0, t0 = 4;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    if (mask_data)
        mask = mask_positions(mask_data, 0, T);
    BGM_ASSERT_OK(run_layer(&full, m, tape, NULL, x, mask));
    while (pos < T) {
        int64_t len = pos == 0 ? t0 : 1;
        bgm_tensor *chunk = positions(x, pos, len), *cm = NULL, *y = NULL;
        bgm_tape *step = NULL;
        if (mask_data)
            cm = mask_positions(mask_data, pos, len);
        BGM_ASSERT_OK(bgm_tape_create(&step));
        dec.pos = pos;
        BGM_ASSERT_OK(run_layer(&y, m, step, &dec, chunk, cm));
        assert_rows(y, full, pos, len);
        pos += len;
        bgm_tape_free(step);
        bgm_tensor_free(chunk);
        bgm_tensor_free(cm);
    }
    m->layers[0]->ops->free_state(state);
    bgm_tape_free(tape);
    bgm_tensor_free(mask);
    bgm_tensor_free(x);
    bgm_model_free(m);
}

START_TEST(decoding_in_chunks_gives_the_whole_runs_outputs)
{
    ck_assert_int_eq(bgm__multi_head_attention_ops.decode, BGM__DECODE_STATEFUL);
    decode_and_compare(NULL);
}
END_TEST

/* Padding: sequence 0 ends early, sequence 1 has a hole; the cache keeps
 * which keys were hidden. */
START_TEST(decoding_with_padding_masks_gives_the_whole_runs_outputs)
{
    float mask[N * T];
    int i;
    for (i = 0; i < N * T; i++)
        mask[i] = 1.0f;
    mask[0 * T + 7] = mask[0 * T + 8] = 0.0f;
    mask[1 * T + 2] = 0.0f;
    mask[1 * T + 5] = 0.0f;
    decode_and_compare(mask);
}
END_TEST

/* With return_attention_scores, each step's scores are (N, H, len, pos + len). */
START_TEST(decoding_returns_scores_over_every_cached_position)
{
    bgm_model *m = causal_model(1);
    bgm_tensor *x = bgm_test_randn((int64_t[]){N, T, D}, 3, 6), *y[2];
    bgm_tape *tape = NULL;
    void *state = NULL;
    bgm__decode dec = {0, &state};
    const float *p;
    int64_t pos, s;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    for (pos = 0; pos < 3; pos++) {
        bgm_tensor *chunk = positions(x, pos, 1);
        double sum = 0.0;
        dec.pos = pos;
        BGM_ASSERT_OK(run_layer(y, m, tape, &dec, chunk, NULL));
        ck_assert_int_eq(bgm_tensor_ndim(y[1]), 4);
        ck_assert_int_eq(bgm_tensor_dim(y[1], 1), 2);
        ck_assert_int_eq(bgm_tensor_dim(y[1], 3), pos + 1);
        p = bgm_tensor_data(y[1]);
        for (s = 0; s <= pos; s++)
            sum += p[s];
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
        bgm_tensor_free(chunk);
    }
    m->layers[0]->ops->free_state(state);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(decoding_misuse_fails_clearly)
{
    bgm_model *m = causal_model(0);
    const bgm_layer *l = m->layers[0];
    bgm_tensor *x = bgm_test_randn((int64_t[]){N, 3, D}, 3, 7), *y = NULL;
    bgm_tensor *one = bgm_test_randn((int64_t[]){1, 1, D}, 3, 8);
    bgm_tensor *mask = bgm_test_randn((int64_t[]){N, 3, 3}, 3, 9);
    bgm_tensor *v2 = bgm_test_randn((int64_t[]){N, 2, D}, 3, 10);
    bgm_tape *tape = NULL;
    void *state = NULL;
    bgm__decode dec = {2, &state};
    bgm__forward_ctx ctx;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_FAILS(run_layer(&y, m, tape, &dec, x, NULL), BGM_E_STATE,
                     "(MultiHeadAttention): decoding from position 2, but its cache holds 0 "
                     "positions");
    ck_assert_ptr_null(state);
    dec.pos = 0;
    BGM_ASSERT_OK(run_layer(&y, m, tape, &dec, x, NULL));
    dec.pos = 3;
    BGM_ASSERT_FAILS(run_layer(&y, m, tape, &dec, one, NULL), BGM_E_SHAPE,
                     "decoding 1 sequences, but its cache holds 2");
    memset(&ctx, 0, sizeof ctx);
    ctx.tape = tape;
    ctx.decode = &dec;
    BGM_ASSERT_FAILS(l->ops->forward(l, &ctx, m->views + l->first_weight,
                                     (const bgm_tensor *const[]){x, x, x, mask}, 4, &y),
                     BGM_E_UNSUPPORTED, "incremental decoding takes no attention_mask input");
    BGM_ASSERT_FAILS(l->ops->forward(l, &ctx, m->views + l->first_weight,
                                     (const bgm_tensor *const[]){x, v2}, 2, &y),
                     BGM_E_UNSUPPORTED, "the value holds 2 positions and the query 3");
    ctx.training = 1;
    BGM_ASSERT_FAILS(l->ops->forward(l, &ctx, m->views + l->first_weight,
                                     (const bgm_tensor *const[]){x, x}, 2, &y),
                     BGM_E_STATE, "incremental decoding runs in inference");
    l->ops->free_state(state);
    l->ops->free_state(NULL);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_tensor_free(one);
    bgm_tensor_free(mask);
    bgm_tensor_free(v2);
    bgm_model_free(m);
}
END_TEST

Suite *suite_attention_decode(void)
{
    Suite *s = suite_create("attention_decode");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, decoding_in_chunks_gives_the_whole_runs_outputs);
    tcase_add_test(tc, decoding_with_padding_masks_gives_the_whole_runs_outputs);
    tcase_add_test(tc, decoding_returns_scores_over_every_cached_position);
    tcase_add_test(tc, decoding_misuse_fails_clearly);
    suite_add_tcase(s, tc);
    return s;
}
