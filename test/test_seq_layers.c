/* Sequence layers of a Transformer: Conv1D (bgm_op_conv1d), PositionEmbedding
 * and SinePositionEncoding (their ops, and their decoding offset through a
 * layer's forward), and the Embedding's tied output projection
 * (bgm_op_matmul_nt). Values against references computed here, gradients by
 * finite differences, model files bit for bit, and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "layers/layer.h" /* a layer's forward with a decoding context */

#define GRAD_TOL 2e-3

static float *data_of(const bgm_tensor *t) { return bgm_tensor_data(t); }

/* ---- Conv1D: the op ---------------------------------------------------------- */

typedef struct conv1d_case {
    int64_t n, t, c, k, f;
    int stride, dilation;
    bgm_padding pad;
    int bias;
} conv1d_case;

static const conv1d_case conv1d_cases[] = {
    {2, 7, 3, 3, 4, 1, 1, BGM_PADDING_VALID, 1},  {2, 7, 3, 3, 4, 2, 1, BGM_PADDING_VALID, 1},
    {2, 9, 2, 2, 3, 1, 3, BGM_PADDING_VALID, 0},  {3, 6, 2, 3, 2, 1, 1, BGM_PADDING_SAME, 1},
    {2, 7, 3, 4, 3, 2, 1, BGM_PADDING_SAME, 1},   {2, 8, 2, 3, 2, 1, 2, BGM_PADDING_SAME, 0},
    {2, 6, 3, 3, 4, 1, 1, BGM_PADDING_CAUSAL, 1}, {2, 8, 2, 2, 3, 1, 3, BGM_PADDING_CAUSAL, 1},
    {2, 7, 2, 3, 2, 3, 1, BGM_PADDING_CAUSAL, 0}, {1, 5, 1, 1, 2, 2, 1, BGM_PADDING_SAME, 1},
    {2, 9, 2, 3, 2, 2, 2, BGM_PADDING_SAME, 1},
};

/* Output steps and left padding of a case, worked out the long way. */
static int64_t conv1d_geometry(const conv1d_case *cc, int64_t *left)
{
    int64_t span = (int64_t)cc->dilation * (cc->k - 1) + 1, ot, total;
    *left = 0;
    if (cc->pad == BGM_PADDING_VALID)
        return (cc->t - span) / cc->stride + 1;
    ot = (cc->t + cc->stride - 1) / cc->stride;
    if (cc->pad == BGM_PADDING_CAUSAL) {
        *left = span - 1;
        return ot;
    }
    total = (ot - 1) * cc->stride + span - cc->t;
    *left = total > 0 ? total / 2 : 0;
    return ot;
}

START_TEST(conv1d_equals_the_sum_over_taps_for_every_padding)
{
    const conv1d_case *cc = &conv1d_cases[_i];
    int64_t left, ot = conv1d_geometry(cc, &left), i, o, f, k, ch;
    bgm_tensor *x = bgm_test_randn((int64_t[]){cc->n, cc->t, cc->c}, 3, 1 + (uint64_t)_i);
    bgm_tensor *w = bgm_test_randn((int64_t[]){cc->k, cc->c, cc->f}, 3, 2);
    bgm_tensor *b = bgm_test_randn((int64_t[]){cc->f}, 1, 3), *y = NULL;
    BGM_ASSERT_OK(bgm_op_conv1d(&y, NULL, x, w, cc->bias ? b : NULL, cc->stride,
                                cc->dilation, cc->pad));
    ck_assert_int_eq(bgm_tensor_dim(y, 0), cc->n);
    ck_assert_int_eq(bgm_tensor_dim(y, 1), ot);
    ck_assert_int_eq(bgm_tensor_dim(y, 2), cc->f);
    for (i = 0; i < cc->n; i++)
        for (o = 0; o < ot; o++)
            for (f = 0; f < cc->f; f++) {
                double want = cc->bias ? data_of(b)[f] : 0.0;
                for (k = 0; k < cc->k; k++) {
                    int64_t at = o * cc->stride + k * cc->dilation - left;
                    if (at < 0 || at >= cc->t)
                        continue;
                    for (ch = 0; ch < cc->c; ch++)
                        want += (double)data_of(x)[(i * cc->t + at) * cc->c + ch] *
                                data_of(w)[(k * cc->c + ch) * cc->f + f];
                }
                ck_assert_double_eq_tol(data_of(y)[(i * ot + o) * cc->f + f], want, 1e-5);
            }
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(b);
    bgm_tensor_free(y);
}
END_TEST

START_TEST(causal_conv1d_output_never_sees_later_steps)
{
    /* Changing step 4 of the input changes no output before step 4. */
    bgm_tensor *x = bgm_test_randn((int64_t[]){1, 8, 2}, 3, 5);
    bgm_tensor *w = bgm_test_randn((int64_t[]){3, 2, 2}, 3, 6), *y = NULL, *z = NULL;
    int64_t i;
    BGM_ASSERT_OK(bgm_op_conv1d(&y, NULL, x, w, NULL, 1, 2, BGM_PADDING_CAUSAL));
    data_of(x)[4 * 2] += 1.0f;
    BGM_ASSERT_OK(bgm_op_conv1d(&z, NULL, x, w, NULL, 1, 2, BGM_PADDING_CAUSAL));
    ck_assert_int_eq(bgm_tensor_dim(y, 1), 8);
    for (i = 0; i < 4 * 2; i++)
        ck_assert_float_eq(data_of(y)[i], data_of(z)[i]);
    ck_assert_float_ne(data_of(y)[4 * 2], data_of(z)[4 * 2]);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(y);
    bgm_tensor_free(z);
}
END_TEST

static bgm_status call_conv1d(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                              void *ctx)
{
    const conv1d_case *cc = ctx;
    return bgm_op_conv1d(out, tape, in[0], in[1], cc->bias ? in[2] : NULL, cc->stride,
                         cc->dilation, cc->pad);
}

START_TEST(conv1d_gradients_match_finite_differences)
{
    const conv1d_case *cc = &conv1d_cases[_i];
    bgm_tensor *in[3];
    double err;
    in[0] = bgm_test_randn((int64_t[]){cc->n, cc->t, cc->c}, 3, 10 + (uint64_t)_i);
    in[1] = bgm_test_randn((int64_t[]){cc->k, cc->c, cc->f}, 3, 20 + (uint64_t)_i);
    in[2] = bgm_test_randn((int64_t[]){cc->f}, 1, 30);
    err = bgm_test_gradcheck(call_conv1d, in, cc->bias ? 3 : 2, (void *)cc, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "case %d: relative error %g", _i, err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
    bgm_tensor_free(in[2]);
}
END_TEST

START_TEST(conv1d_refuses_bad_input)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 5, 3}, 3, 1);
    bgm_tensor *w = bgm_test_randn((int64_t[]){3, 3, 4}, 3, 2);
    bgm_tensor *w2 = bgm_test_randn((int64_t[]){3, 2, 4}, 3, 3);
    bgm_tensor *b = bgm_test_randn((int64_t[]){3}, 1, 4);
    bgm_tensor *img = bgm_test_randn((int64_t[]){1, 4, 4, 3}, 4, 5);
    bgm_tensor *k2 = bgm_test_randn((int64_t[]){2, 2, 3, 1}, 4, 6), *y = NULL;
    BGM_ASSERT_FAILS(bgm_op_conv1d(NULL, NULL, x, w, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, img, w, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "x must be (N, T, C), got shape (1, 4, 4, 3)");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, x, w2, NULL, 1, 1, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "x (2, 5, 3) has 3 channels but kernel (3, 2, 4) expects 2");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, x, w, b, 1, 1, BGM_PADDING_VALID), BGM_E_SHAPE,
                     "bias must be (4,)");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, x, w, NULL, 0, 1, BGM_PADDING_VALID),
                     BGM_E_INVALID, "got stride 0, dilation 1");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, x, w, NULL, 1, 1, (bgm_padding)7),
                     BGM_E_INVALID, "unknown padding 7");
    BGM_ASSERT_FAILS(bgm_op_conv1d(&y, NULL, x, w, NULL, 1, 3, BGM_PADDING_VALID),
                     BGM_E_SHAPE, "spans 7 steps, more than the 5 of x (2, 5, 3)");
    BGM_ASSERT_FAILS(bgm_op_conv2d(&y, NULL, img, k2, NULL, 1, 1, BGM_PADDING_CAUSAL),
                     BGM_E_INVALID, "CAUSAL is for 1-D convolutions");
    ck_assert_ptr_null(y);
    bgm_tensor_free(x);
    bgm_tensor_free(w);
    bgm_tensor_free(w2);
    bgm_tensor_free(b);
    bgm_tensor_free(img);
    bgm_tensor_free(k2);
}
END_TEST

/* ---- Conv1D: the layer -------------------------------------------------------- */

/* The sample shape of l called on an input of sample shape (t, c). */
static void conv1d_out(bgm_layer *l, int64_t t, int64_t c, int64_t want_t, int64_t want_f)
{
    bgm_graph *g = NULL;
    bgm_node *in, *out;
    const int64_t *shape;
    int ndim;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){t, c}, 2, NULL);
    out = bgm_test_call(l, &in, 1);
    shape = bgm_node_shape(out, &ndim);
    ck_assert_int_eq(ndim, 2);
    ck_assert_int_eq(shape[0], want_t);
    ck_assert_int_eq(shape[1], want_f);
    ck_assert_int_eq(bgm_layer_num_params(l), 3 * c * want_f + want_f);
    bgm_graph_free(g);
}

static bgm_layer *conv1d(int64_t filters, int64_t k, bgm_padding pad, int64_t stride,
                         int64_t dilation)
{
    bgm_layer *l = bgm_layer_conv1d(filters, k, BGM_ACT_RELU);
    ck_assert_ptr_nonnull(l);
    BGM_ASSERT_OK(bgm_layer_set_padding(l, pad));
    BGM_ASSERT_OK(bgm_layer_set_strides(l, stride, stride));
    BGM_ASSERT_OK(bgm_layer_set_dilation_rate(l, dilation, dilation));
    return l;
}

START_TEST(conv1d_layer_output_lengths_follow_keras)
{
    conv1d_out(conv1d(5, 3, BGM_PADDING_VALID, 1, 1), 10, 2, 8, 5);
    conv1d_out(conv1d(5, 3, BGM_PADDING_VALID, 1, 2), 10, 2, 6, 5);
    conv1d_out(conv1d(5, 3, BGM_PADDING_VALID, 3, 1), 10, 2, 3, 5);
    conv1d_out(conv1d(4, 3, BGM_PADDING_SAME, 1, 2), 10, 2, 10, 4);
    conv1d_out(conv1d(4, 3, BGM_PADDING_SAME, 3, 1), 10, 2, 4, 4);
    conv1d_out(conv1d(4, 3, BGM_PADDING_CAUSAL, 1, 4), 10, 2, 10, 4);
    conv1d_out(conv1d(4, 3, BGM_PADDING_CAUSAL, 2, 1), 10, 2, 5, 4);
}
END_TEST

START_TEST(conv1d_layer_config_is_keras_conv1d)
{
    char buf[1024];
    bgm_layer *l = conv1d(8, 3, BGM_PADDING_CAUSAL, 1, 2);
    BGM_ASSERT_OK(bgm_layer_set_name(l, "c1"));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, l));
    ck_assert_str_eq(buf, "{\"class_name\": \"Conv1D\", \"config\": {\"name\": \"c1\", "
                          "\"trainable\": true, \"filters\": 8, \"kernel_size\": [3], "
                          "\"strides\": [1], \"padding\": \"causal\", \"dilation_rate\": [2], "
                          "\"activation\": \"relu\", "
                          "\"use_bias\": true, \"bias_initializer\": \"zeros\", "
                          "\"kernel_initializer\": \"glorot_uniform\", "
                          "\"kernel_regularizer\": null}}");
    bgm_layer_free(l);
}
END_TEST

START_TEST(conv1d_layer_refuses_bad_options_and_inputs)
{
    bgm_layer *l = bgm_layer_conv1d(4, 3, BGM_ACT_LINEAR), *c2 = bgm_layer_conv2d(2, 3, 0);
    bgm_graph *g = NULL;
    bgm_node *img, *seq, *y = NULL;
    BGM_ASSERT_FAILS(bgm_layer_set_strides(l, 2, 3), BGM_E_INVALID,
                     "a Conv1D layer has one strides, got 2 and 3");
    BGM_ASSERT_FAILS(bgm_layer_set_kernel_size(l, 3, 1), BGM_E_INVALID,
                     "a Conv1D layer has one kernel size, got 3 and 1");
    BGM_ASSERT_OK(bgm_layer_set_strides(l, 2, 2));
    BGM_ASSERT_FAILS(bgm_layer_set_dilation_rate(l, 2, 2), BGM_E_INVALID,
                     "strides = 2 with dilation_rate = 2");
    BGM_ASSERT_FAILS(bgm_layer_set_dilation_rate(l, 0, 0), BGM_E_INVALID,
                     "dilation_rate (0,), expected at least 1");
    BGM_ASSERT_FAILS(bgm_layer_set_padding(c2, BGM_PADDING_CAUSAL), BGM_E_INVALID,
                     "unknown padding 2");
    BGM_ASSERT_FAILS(bgm_layer_set_dilation_rate(c2, 2, 2), BGM_E_UNSUPPORTED,
                     "a Conv2D layer has no dilation rate");
    ck_assert_ptr_null(bgm_layer_conv1d(0, 3, BGM_ACT_LINEAR));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "bgm_layer_conv1d: filters = 0"));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    img = bgm_test_input(g, (int64_t[]){4, 4, 3}, 3, "img");
    seq = bgm_test_input(g, (int64_t[]){2, 3}, 2, "seq");
    BGM_ASSERT_FAILS(bgm_layer_call(&y, l, &img, 1), BGM_E_SHAPE,
                     "expected input of 2 dimensions (steps, channels), got (4, 4, 3)");
    l = bgm_layer_conv1d(4, 3, BGM_ACT_LINEAR); /* the failed call freed it */
    BGM_ASSERT_FAILS(bgm_layer_call(&y, l, &seq, 1), BGM_E_SHAPE,
                     "kernel_size 3 with dilation_rate 1 spans 3 steps, more than the "
                     "input (2, 3) has");
    bgm_layer_free(c2);
    bgm_graph_free(g);
}
END_TEST

/* ---- position encodings: the ops ---------------------------------------------- */

START_TEST(position_embedding_gives_table_rows_from_start_for_every_sample)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){3, 2, 4}, 3, 1);
    bgm_tensor *table = bgm_test_arange((int64_t[]){6, 4}, 2, 0.0f), *y = NULL;
    int64_t n, i;
    BGM_ASSERT_OK(bgm_op_position_embedding(&y, NULL, x, table, 3));
    ck_assert_int_eq(bgm_tensor_ndim(y), 3);
    for (n = 0; n < 3; n++)
        for (i = 0; i < 8; i++) /* rows 3 and 4: 12, 13, ..., 19 */
            ck_assert_float_eq(data_of(y)[n * 8 + i], 12.0f + (float)i);
    bgm_tensor_free(y);
    BGM_ASSERT_FAILS(bgm_op_position_embedding(&y, NULL, x, table, 5), BGM_E_RANGE,
                     "positions 5 to 6 of x (3, 2, 4) (start 5) lie beyond the table's 6 "
                     "rows");
    BGM_ASSERT_FAILS(bgm_op_position_embedding(&y, NULL, x, table, -1), BGM_E_RANGE,
                     "start = -1");
    bgm_tensor_free(table);
    table = bgm_test_arange((int64_t[]){6, 5}, 2, 0.0f);
    BGM_ASSERT_FAILS(bgm_op_position_embedding(&y, NULL, x, table, 0), BGM_E_SHAPE,
                     "table must be (sequence_length, 4) for x (3, 2, 4), got shape (6, 5)");
    BGM_ASSERT_FAILS(bgm_op_position_embedding(&y, NULL, NULL, table, 0), BGM_E_INVALID,
                     "'x' is NULL");
    bgm_tensor_free(table);
    bgm_tensor_free(x);
}
END_TEST

static const bgm_tensor *pos_x;

static bgm_status call_position(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                                void *ctx)
{
    return bgm_op_position_embedding(out, tape, pos_x, in[0], *(const int64_t *)ctx);
}

START_TEST(position_embedding_gradient_matches_finite_differences)
{
    static const int64_t start = 2;
    bgm_tensor *x = bgm_test_randn((int64_t[]){3, 3, 4}, 3, 1);
    bgm_tensor *table = bgm_test_randn((int64_t[]){7, 4}, 2, 2);
    double err;
    pos_x = x;
    err = bgm_test_gradcheck(call_position, &table, 1, (void *)&start, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "relative error %g", err);
    bgm_tensor_free(x);
    bgm_tensor_free(table);
}
END_TEST

/* keras_hub's formula, evaluated here in double. */
static double sine_reference(int64_t pos, int64_t j, int64_t d, double max_wavelength)
{
    double rate = pow(1.0 / max_wavelength, (double)(2 * (j / 2)) / (double)d);
    return j % 2 ? cos((double)pos * rate) : sin((double)pos * rate);
}

START_TEST(sine_position_encoding_follows_the_keras_hub_formula)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 5, 6}, 3, 1), *y = NULL;
    int64_t n, t, j, start;
    for (start = 0; start <= 7; start += 7) {
        BGM_ASSERT_OK(bgm_op_sine_position_encoding(&y, NULL, x, 10000.0f, start));
        for (n = 0; n < 2; n++)
            for (t = 0; t < 5; t++)
                for (j = 0; j < 6; j++)
                    ck_assert_double_eq_tol(data_of(y)[(n * 5 + t) * 6 + j],
                                            sine_reference(start + t, j, 6, 10000.0), 1e-6);
        bgm_tensor_free(y);
    }
    /* position 0: sin 0 = 0 on even features, cos 0 = 1 on odd ones */
    BGM_ASSERT_OK(bgm_op_sine_position_encoding(&y, NULL, x, 50.0f, 0));
    ck_assert_float_eq(data_of(y)[0], 0.0f);
    ck_assert_float_eq(data_of(y)[1], 1.0f);
    bgm_tensor_free(y);
    BGM_ASSERT_FAILS(bgm_op_sine_position_encoding(&y, NULL, x, 0.0f, 0), BGM_E_INVALID,
                     "max_wavelength = 0, expected a finite value > 0");
    BGM_ASSERT_FAILS(bgm_op_sine_position_encoding(&y, NULL, x, 10.0f, -2), BGM_E_RANGE,
                     "start = -2");
    bgm_tensor_free(x);
    x = bgm_test_randn((int64_t[]){4}, 1, 1);
    BGM_ASSERT_FAILS(bgm_op_sine_position_encoding(&y, NULL, x, 10.0f, 0), BGM_E_SHAPE,
                     "x must be (..., T, d), got shape (4,)");
    bgm_tensor_free(x);
}
END_TEST

/* ---- position encodings: the layers, and their decoding offset ------------------ */

/* Calls l on a fresh (t, d) input: built, with its one call's graph in *g. */
static bgm_layer *built_on(bgm_layer *l, bgm_graph **g, int64_t t, int64_t d)
{
    bgm_node *in;
    BGM_ASSERT_OK(bgm_graph_create(g));
    in = bgm_test_input(*g, (int64_t[]){t, d}, 2, NULL);
    bgm_test_call(l, &in, 1);
    return l;
}

/* l's forward on x (N, T, d) with weights w, as the executor runs it, decoding
 * from position pos (-1: not decoding). */
static bgm_status forward_at(const bgm_layer *l, bgm_tensor *const *w, const bgm_tensor *x,
                             int64_t pos, bgm_tensor **y, bgm_tape *tape)
{
    bgm__decode dec;
    bgm__forward_ctx ctx;
    void *slot = NULL;
    memset(&ctx, 0, sizeof ctx);
    ctx.tape = tape;
    dec.pos = pos;
    dec.state = &slot;
    ctx.decode = pos >= 0 ? &dec : NULL;
    return l->ops->forward(l, &ctx, w, &x, 1, y);
}

START_TEST(position_layers_decode_from_the_offset_they_are_given)
{
    bgm_graph *g1 = NULL, *g2 = NULL;
    bgm_layer *pe = built_on(bgm_layer_position_embedding(8), &g1, 8, 4);
    bgm_layer *sine = built_on(bgm_layer_sine_position_encoding(100.0f), &g2, 8, 4);
    bgm_tensor *table = bgm_test_arange((int64_t[]){8, 4}, 2, 0.0f);
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 3, 4}, 3, 1), *y = NULL;
    bgm_tape *tape = NULL;
    int64_t n, t, j;
    ck_assert_int_eq(pe->ops->decode, BGM__DECODE_STATEFUL);
    ck_assert_int_eq(sine->ops->decode, BGM__DECODE_STATEFUL);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(forward_at(pe, &table, x, 5, &y, tape)); /* rows 5, 6, 7 */
    for (n = 0; n < 2; n++)
        for (j = 0; j < 12; j++)
            ck_assert_float_eq(data_of(y)[n * 12 + j], 20.0f + (float)j);
    BGM_ASSERT_OK(forward_at(pe, &table, x, -1, &y, tape)); /* not decoding: rows 0-2 */
    ck_assert_float_eq(data_of(y)[0], 0.0f);
    ck_assert_float_eq(data_of(y)[11], 11.0f);
    BGM_ASSERT_FAILS(forward_at(pe, &table, x, 6, &y, tape), BGM_E_RANGE,
                     "positions 6 to 8, beyond sequence_length = 8");
    BGM_ASSERT_OK(forward_at(sine, NULL, x, 4, &y, tape));
    for (n = 0; n < 2; n++)
        for (t = 0; t < 3; t++)
            for (j = 0; j < 4; j++)
                ck_assert_double_eq_tol(data_of(y)[(n * 3 + t) * 4 + j],
                                        sine_reference(4 + t, j, 4, 100.0), 1e-6);
    bgm_tape_free(tape);
    bgm_tensor_free(table);
    bgm_tensor_free(x);
    bgm_graph_free(g1);
    bgm_graph_free(g2);
}
END_TEST

START_TEST(position_embedding_layer_refuses_longer_inputs_and_bad_ranks)
{
    bgm_graph *g = NULL;
    bgm_node *in3, *in10, *ids, *y = NULL;
    bgm_layer *pe = bgm_layer_position_embedding(8);
    char buf[256];
    BGM_ASSERT_OK(bgm_layer_set_name(pe, "pos"));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, pe));
    ck_assert_str_eq(buf, "{\"class_name\": \"PositionEmbedding\", \"config\": {\"name\": "
                          "\"pos\", \"trainable\": true, \"sequence_length\": 8, "
                          "\"initializer\": \"glorot_uniform\"}}");
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in10 = bgm_test_input(g, (int64_t[]){10, 4}, 2, NULL);
    in3 = bgm_test_input(g, (int64_t[]){3, 4, 2}, 3, NULL);
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){5}, 1, BGM_INT32, "ids"));
    BGM_ASSERT_FAILS(bgm_layer_call(&y, pe, &in10, 1), BGM_E_SHAPE,
                     "layer 'pos' (PositionEmbedding): input of 10 steps, more than "
                     "sequence_length = 8");
    pe = bgm_layer_position_embedding(8);
    BGM_ASSERT_FAILS(bgm_layer_call(&y, pe, &in3, 1), BGM_E_SHAPE,
                     "expected input of 2 dimensions (steps, features), got (3, 4, 2)");
    pe = bgm_layer_sine_position_encoding(10000.0f);
    BGM_ASSERT_FAILS(bgm_layer_call(&y, pe, &ids, 1), BGM_E_SHAPE,
                     "expected input of 2 dimensions");
    ck_assert_ptr_null(bgm_layer_position_embedding(0));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "sequence_length = 0"));
    ck_assert_ptr_null(bgm_layer_sine_position_encoding(-1.0f));
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "max_wavelength = -1"));
    pe = bgm_layer_sine_position_encoding(10000.0f);
    BGM_ASSERT_FAILS(bgm_layer_set_max_wavelength(pe, INFINITY), BGM_E_INVALID,
                     "bgm_layer_set_max_wavelength: max_wavelength = inf, expected a finite "
                     "value > 0");
    BGM_ASSERT_OK(bgm_layer_set_max_wavelength(pe, 64.0f));
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, pe));
    ck_assert_ptr_nonnull(strstr(buf, "\"max_wavelength\": 64}"));
    bgm_layer_free(pe);
    pe = bgm_layer_position_embedding(8);
    BGM_ASSERT_FAILS(bgm_layer_set_max_wavelength(pe, 64.0f), BGM_E_UNSUPPORTED,
                     "a PositionEmbedding layer has no max_wavelength");
    bgm_layer_free(pe);
    bgm_graph_free(g);
}
END_TEST

/* ---- the tied output projection ------------------------------------------------- */

START_TEST(matmul_nt_multiplies_by_the_transpose)
{
    bgm_tensor *a = bgm_test_randn((int64_t[]){2, 3, 4}, 3, 1);
    bgm_tensor *b = bgm_test_randn((int64_t[]){5, 4}, 2, 2), *y = NULL;
    int64_t r, n, k;
    BGM_ASSERT_OK(bgm_op_matmul_nt(&y, NULL, a, b));
    ck_assert_int_eq(bgm_tensor_dim(y, 2), 5);
    for (r = 0; r < 6; r++)
        for (n = 0; n < 5; n++) {
            double want = 0;
            for (k = 0; k < 4; k++)
                want += (double)data_of(a)[r * 4 + k] * data_of(b)[n * 4 + k];
            ck_assert_double_eq_tol(data_of(y)[r * 5 + n], want, 1e-5);
        }
    bgm_tensor_free(y);
    BGM_ASSERT_FAILS(bgm_op_matmul_nt(&y, NULL, b, a), BGM_E_SHAPE,
                     "cannot multiply (5, 4) by the transpose of (2, 3, 4)");
    bgm_tensor_free(a);
    bgm_tensor_free(b);
}
END_TEST

static bgm_status call_matmul_nt(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in,
                                 void *ctx)
{
    return bgm_op_matmul_nt(out, tape, in[0], in[1]);
}

START_TEST(matmul_nt_gradients_match_finite_differences)
{
    bgm_tensor *in[2];
    double err;
    in[0] = bgm_test_randn((int64_t[]){2, 3, 4}, 3, 3);
    in[1] = bgm_test_randn((int64_t[]){6, 4}, 2, 4);
    err = bgm_test_gradcheck(call_matmul_nt, in, 2, NULL, 1e-2);
    ck_assert_msg(err < GRAD_TOL, "relative error %g", err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
}
END_TEST

/* ids (T) -> Embedding(vocab, d) -> Dense(d, tanh) -> the same Embedding as
 * the output projection: logits (T, vocab). */
static bgm_model *tied_lm(int64_t t, int64_t vocab, int64_t d, bgm_layer **emb_out)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *ids = NULL, *h, *logits;
    bgm_layer *emb = bgm_layer_embedding(vocab, d);
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){t}, 1, BGM_INT32, "ids"));
    h = bgm_test_call(emb, &ids, 1);
    h = bgm_test_call(bgm_layer_dense(d, BGM_ACT_TANH), &h, 1);
    logits = bgm_test_call(emb, &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &ids, 1, &logits, 1, 17));
    bgm_graph_free(g);
    if (emb_out)
        *emb_out = emb;
    return m;
}

typedef struct tied_ctx {
    bgm_model *m;
    bgm_tensor *ids;
} tied_ctx;

static bgm_status tied_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *w, void *ctx)
{
    tied_ctx *tc = ctx;
    bgm_tape *own = NULL;
    bgm_tensor *y = NULL;
    bgm_status st;
    if (!tape && bgm_tape_create(&own) != BGM_OK)
        return BGM_E_NOMEM;
    st = bgm_model_forward(&y, tc->m, tape ? tape : own, tc->ids, 0);
    if (st == BGM_OK && own)
        st = bgm_tensor_clone(out, y);
    else if (st == BGM_OK)
        *out = y;
    bgm_tape_free(own);
    return st;
}

static bgm_tensor *ids_tensor(const int64_t *shape, int ndim, const int32_t *ids)
{
    bgm_tensor *t = NULL;
    BGM_ASSERT_OK(bgm_tensor_from_data(&t, BGM_INT32, shape, ndim, ids));
    return t;
}

START_TEST(tied_embedding_shares_its_matrix_and_sums_both_gradients)
{
    static const int32_t ids[] = {1, 4, 4, 0, 2, 3, 1, 5};
    tied_ctx tc;
    bgm_layer *emb;
    bgm_tensor *const *params;
    bgm_tensor *y = NULL;
    const int64_t *shape;
    int count, ndim;
    double err;
    tc.m = tied_lm(4, 6, 3, &emb);
    tc.ids = ids_tensor((int64_t[]){2, 4}, 2, ids);
    ck_assert_int_eq(bgm_model_num_params(tc.m), 6 * 3 + 3 * 3 + 3); /* E once */
    shape = bgm_node_shape(bgm_model_output(tc.m, 0), &ndim);
    ck_assert_int_eq(ndim, 2);
    ck_assert_int_eq(shape[0], 4);
    ck_assert_int_eq(shape[1], 6);
    BGM_ASSERT_OK(bgm_model_predict(&y, tc.m, tc.ids, 0));
    ck_assert_int_eq(bgm_tensor_dim(y, 2), 6);
    bgm_tensor_free(y);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, tc.m));
    ck_assert_int_eq(count, 3);
    err = bgm_test_gradcheck(tied_fn, params, count, &tc, 1e-3);
    ck_assert_msg(err < GRAD_TOL, "relative error %g", err);
    bgm_tensor_free(tc.ids);
    bgm_model_free(tc.m);
}
END_TEST

START_TEST(tied_projection_logits_are_hidden_states_times_the_matrix_transposed)
{
    static const int32_t ids[] = {2, 0, 1};
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in = NULL, *h, *logits;
    bgm_layer *emb = bgm_layer_embedding(4, 2);
    bgm_tensor *x = ids_tensor((int64_t[]){1, 3}, 2, ids), *y = NULL;
    const float *e;
    int64_t t, v;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&in, g, (int64_t[]){3}, 1, BGM_INT32, "ids"));
    h = bgm_test_call(emb, &in, 1);
    logits = bgm_test_call(emb, &h, 1); /* E[id] . E[v] */
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &logits, 1, 3));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    e = data_of(bgm_model_weight(m, 0));
    for (t = 0; t < 3; t++)
        for (v = 0; v < 4; v++) {
            const float *a = e + ids[t] * 2, *b = e + v * 2;
            ck_assert_double_eq_tol(data_of(y)[t * 4 + v], (double)a[0] * b[0] +
                                    (double)a[1] * b[1], 1e-6);
        }
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(embedding_takes_float32_only_as_a_tied_projection_of_its_dimension)
{
    bgm_graph *g = NULL;
    bgm_node *ids = NULL, *f, *h, *y = NULL;
    bgm_layer *emb = bgm_layer_embedding(10, 4);
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){5}, 1, BGM_INT32, "ids"));
    f = bgm_test_input(g, (int64_t[]){5, 4}, 2, "f");
    BGM_ASSERT_OK(bgm_layer_set_name(emb, "tok"));
    BGM_ASSERT_FAILS(bgm_layer_call(&y, emb, &f, 1), BGM_E_DTYPE,
                     "only a second call takes float32: the tied output projection");
    emb = bgm_layer_embedding(10, 4);
    BGM_ASSERT_OK(bgm_layer_set_name(emb, "tok"));
    h = bgm_test_call(emb, &ids, 1);
    h = bgm_test_call(bgm_layer_dense(3, BGM_ACT_LINEAR), &h, 1);
    BGM_ASSERT_FAILS(bgm_layer_call(&y, emb, &h, 1), BGM_E_SHAPE,
                     "layer 'tok' (Embedding): called on float32 input (None, 5, 3) as the "
                     "tied output projection, whose last dimension must be the embedding "
                     "dimension 4");
    y = bgm_test_call(emb, &f, 1); /* the layer survives a refused call */
    ck_assert_int_eq(bgm_node_shape(y, NULL)[1], 10);
    bgm_graph_free(g);
}
END_TEST

START_TEST(a_tied_language_model_learns_to_predict_the_next_token_with_fit)
{
    /* Sequences that count up modulo 8 from a random start: the next id is a
     * function of the current one, which the tied model learns (a uniform
     * guess costs log 8 = 2.08 nats). */
    enum { N = 64, T = 6, V = 8 };
    int32_t ids[N * T], next[N * T];
    bgm_model *m = tied_lm(T, V, 16, NULL);
    bgm_optimizer *adam = NULL;
    bgm_tensor *x, *y;
    bgm_fit_options fo;
    bgm_history *h = NULL;
    const double *loss;
    int i, t;
    for (i = 0; i < N; i++)
        for (t = 0; t < T; t++) {
            ids[i * T + t] = (int32_t)((i * 5 + t) % V);
            next[i * T + t] = (int32_t)((i * 5 + t + 1) % V);
        }
    x = ids_tensor((int64_t[]){N, T}, 2, ids);
    y = ids_tensor((int64_t[]){N, T}, 2, next);
    BGM_ASSERT_OK(bgm_optimizer_adam(&adam, 3e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, adam, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    NULL, 0));
    BGM_ASSERT_OK(bgm_fit_options_init(&fo, sizeof fo));
    fo.epochs = 60;
    fo.verbose = 0;
    fo.batch_size = 16;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, x, y, &fo));
    loss = bgm_history_values(h, "loss");
    ck_assert_double_gt(loss[0], 1.5);
    ck_assert_double_lt(loss[59], 0.1);
    bgm_history_free(h);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

START_TEST(sequence_layers_refuse_token_ids)
{
    bgm_graph *g = NULL;
    bgm_node *ids = NULL, *y = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){5, 2}, 2, BGM_INT32, "ids"));
    BGM_ASSERT_FAILS(bgm_layer_call(&y, bgm_layer_conv1d(2, 1, BGM_ACT_LINEAR), &ids, 1),
                     BGM_E_DTYPE, "(Conv1D): takes float32 sequences, got int32");
    BGM_ASSERT_FAILS(bgm_layer_call(&y, bgm_layer_position_embedding(5), &ids, 1),
                     BGM_E_DTYPE, "(PositionEmbedding): takes the float32 output of an "
                     "Embedding, got int32 token ids");
    BGM_ASSERT_FAILS(bgm_layer_call(&y, bgm_layer_sine_position_encoding(9.0f), &ids, 1),
                     BGM_E_DTYPE, "(SinePositionEncoding): takes the float32 output");
    bgm_graph_free(g);
}
END_TEST

/* ids (T) -> token + learned position + sine encodings -> Dense -> the tied
 * projection: every layer decodes position by position. */
static bgm_model *positional_lm(int64_t t, int64_t vocab, int64_t d)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *ids = NULL, *tok, *pos, *sine, *h, *out;
    bgm_layer *emb = bgm_layer_embedding(vocab, d);
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){t}, 1, BGM_INT32, "ids"));
    tok = bgm_test_call(emb, &ids, 1);
    pos = bgm_test_call(bgm_layer_position_embedding(t), &tok, 1);
    sine = bgm_test_call(bgm_layer_sine_position_encoding(30.0f), &tok, 1);
    h = bgm_test_call(bgm_layer_add(), (bgm_node *[]){tok, pos, sine}, 3);
    h = bgm_test_call(bgm_layer_dense(d, BGM_ACT_TANH), &h, 1);
    out = bgm_test_call(emb, &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &ids, 1, &out, 1, 8));
    bgm_graph_free(g);
    return m;
}

START_TEST(the_decoder_caches_a_positional_model_and_matches_predict)
{
    /* One token at a time, the encodings come from the decoder's offset:
     * each row equals predict on the whole prefix at that position (a wrong
     * offset gives other rows of the table and other sines). */
    enum { T = 8, V = 9, D = 6 };
    static const int32_t tokens[T] = {4, 1, 7, 7, 0, 3, 8, 2};
    bgm_model *m = positional_lm(T, V, D);
    bgm_decoder *dec = NULL;
    bgm_tensor *x = ids_tensor((int64_t[]){1, T}, 2, tokens), *ref = NULL, *y = NULL;
    int64_t t, v;
    BGM_ASSERT_OK(bgm_model_predict(&ref, m, x, 0));
    BGM_ASSERT_OK(bgm_decoder_create(&dec, m, 1));
    ck_assert_int_eq(bgm_decoder_uses_cache(dec), 1);
    for (t = 0; t < T; t++) {
        BGM_ASSERT_OK(bgm_decoder_append(&y, dec, &tokens[t], 1));
        for (v = 0; v < V; v++)
            ck_assert_double_eq_tol(data_of(y)[v], data_of(ref)[t * V + v],
                                    1e-5 * (1 + fabs(data_of(ref)[t * V + v])));
        bgm_tensor_free(y);
    }
    bgm_decoder_free(dec);
    bgm_tensor_free(ref);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* ---- model files ----------------------------------------------------------------- */

/* A small language model with all of it: token + learned position + sine
 * encodings, a causal Conv1D, the tied output projection. */
static bgm_model *seq_lm(void)
{
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *ids = NULL, *tok, *pos, *sine, *h, *out;
    bgm_layer *emb = bgm_layer_embedding(11, 6), *conv = conv1d(6, 3, BGM_PADDING_CAUSAL, 1, 2);
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(emb, 1));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    BGM_ASSERT_OK(bgm_graph_input(&ids, g, (int64_t[]){7}, 1, BGM_INT32, "ids"));
    tok = bgm_test_call(emb, &ids, 1);
    pos = bgm_test_call(bgm_layer_position_embedding(9), &tok, 1);
    sine = bgm_test_call(bgm_layer_sine_position_encoding(500.0f), &tok, 1);
    h = bgm_test_call(bgm_layer_add(), (bgm_node *[]){tok, pos, sine}, 3);
    h = bgm_test_call(conv, &h, 1);
    out = bgm_test_call(emb, &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &ids, 1, &out, 1, 5));
    bgm_graph_free(g);
    return m;
}

START_TEST(a_model_with_the_sequence_layers_round_trips_bit_for_bit)
{
    static const int32_t ids[] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 0, 0, 0};
    bgm_model *m = seq_lm(), *back = NULL;
    bgm_tensor *x = ids_tensor((int64_t[]){2, 7}, 2, ids), *y = NULL, *z = NULL;
    char a[1024], b[1024];
    int i;
    bgm_test_tmpdir_create("seq_layers");
    BGM_ASSERT_OK(bgm_model_save(m, bgm_test_path("lm.bgm"), 0));
    BGM_ASSERT_OK(bgm_model_load(&back, bgm_test_path("lm.bgm")));
    ck_assert_int_eq(bgm_model_num_layers(back), bgm_model_num_layers(m));
    ck_assert_int_eq(bgm_model_num_params(back), 11 * 6 + 9 * 6 + 3 * 6 * 6 + 6);
    for (i = 0; i < bgm_model_num_layers(m); i++) {
        BGM_ASSERT_OK(bgm_layer_config_string(a, sizeof a, NULL, bgm_model_layer(m, i)));
        BGM_ASSERT_OK(bgm_layer_config_string(b, sizeof b, NULL, bgm_model_layer(back, i)));
        ck_assert_str_eq(a, b);
    }
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&z, back, x, 0));
    ck_assert_int_eq(bgm_tensor_dim(y, 2), 11);
    ck_assert_int_eq(memcmp(bgm_tensor_data(y), bgm_tensor_data(z), bgm_tensor_nbytes(y)), 0);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(z);
    bgm_model_free(m);
    bgm_model_free(back);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_seq_layers(void)
{
    Suite *s = suite_create("seq_layers");
    TCase *conv = tcase_create("conv1d");
    TCase *pos = tcase_create("position");
    TCase *tied = tcase_create("tied_embedding");
    TCase *file = tcase_create("file");
    const int nconv = (int)(sizeof conv1d_cases / sizeof conv1d_cases[0]);
    tcase_add_loop_test(conv, conv1d_equals_the_sum_over_taps_for_every_padding, 0, nconv);
    tcase_add_test(conv, causal_conv1d_output_never_sees_later_steps);
    tcase_add_loop_test(conv, conv1d_gradients_match_finite_differences, 0, nconv);
    tcase_add_test(conv, conv1d_refuses_bad_input);
    tcase_add_test(conv, conv1d_layer_output_lengths_follow_keras);
    tcase_add_test(conv, conv1d_layer_config_is_keras_conv1d);
    tcase_add_test(conv, conv1d_layer_refuses_bad_options_and_inputs);
    suite_add_tcase(s, conv);
    tcase_add_test(pos, position_embedding_gives_table_rows_from_start_for_every_sample);
    tcase_add_test(pos, position_embedding_gradient_matches_finite_differences);
    tcase_add_test(pos, sine_position_encoding_follows_the_keras_hub_formula);
    tcase_add_test(pos, position_layers_decode_from_the_offset_they_are_given);
    tcase_add_test(pos, position_embedding_layer_refuses_longer_inputs_and_bad_ranks);
    tcase_add_test(pos, sequence_layers_refuse_token_ids);
    tcase_add_test(pos, the_decoder_caches_a_positional_model_and_matches_predict);
    suite_add_tcase(s, pos);
    tcase_add_test(tied, matmul_nt_multiplies_by_the_transpose);
    tcase_add_test(tied, matmul_nt_gradients_match_finite_differences);
    tcase_add_test(tied, tied_embedding_shares_its_matrix_and_sums_both_gradients);
    tcase_add_test(tied, tied_projection_logits_are_hidden_states_times_the_matrix_transposed);
    tcase_add_test(tied, embedding_takes_float32_only_as_a_tied_projection_of_its_dimension);
    tcase_add_test(tied, a_tied_language_model_learns_to_predict_the_next_token_with_fit);
    BGM_TEST_SLOW(tied, 30);
    suite_add_tcase(s, tied);
    tcase_add_test(file, a_model_with_the_sequence_layers_round_trips_bit_for_bit);
    suite_add_tcase(s, file);
    return s;
}
