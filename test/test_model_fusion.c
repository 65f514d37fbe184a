/* Inference fusion (lib/model/fusion.c): predict runs Conv-BN-ReLU,
 * Conv-BN-Add-ReLU and Conv-...-Pool as one convolution with BatchNorm
 * folded in (test/internal/test_fusion_plan.c checks what fuses). Each model
 * here is checked against bgm_model_forward in inference mode, which runs
 * every layer on its own (never fused), and against predict with
 * BIGMODEL_FUSION=0. BatchNorm statistics and biases are random, so a fold
 * that forgot a term, or fused where another layer reads the unnormalized
 * value, shows up as a wrong number. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

#define SEED 7

/* Every weight of m to N(0, 1) draws; BatchNorm moving variances to draws in
 * [0.5, 2.5) so that the scale is far from 1. */
static void randomize_weights(bgm_model *m, uint64_t seed)
{
    bgm_rng *rng = NULL;
    int i;
    BGM_ASSERT_OK(bgm_rng_create(&rng, seed));
    for (i = 0; i < bgm_model_num_weights(m); i++) {
        bgm_tensor *w = bgm_model_weight(m, i);
        float *d = bgm_tensor_data(w);
        int var = strstr(bgm_model_weight_name(m, i), "moving_variance") != NULL;
        int kernel = strstr(bgm_model_weight_name(m, i), "kernel") != NULL;
        int64_t j, n = bgm_tensor_numel(w);
        for (j = 0; j < n; j++) {
            float u = bgm_rng_uniform(rng), v = bgm_rng_uniform(rng);
            float g = sqrtf(-2.0f * logf(u + 1e-12f)) * cosf(6.2831853f * v);
            d[j] = var ? 0.5f + 2.0f * u : kernel ? 0.3f * g : g;
        }
    }
    bgm_rng_free(rng);
}

/* Largest |a - b| / (max |b| + tiny) over the elements. */
static double rel_diff(const bgm_tensor *a, const bgm_tensor *b)
{
    const float *x = bgm_tensor_data(a), *y = bgm_tensor_data(b);
    double top = 0, worst = 0;
    int64_t i, n = bgm_tensor_numel(b);
    ck_assert_int_eq(bgm_tensor_numel(a), n);
    for (i = 0; i < n; i++)
        top = fmax(top, fabs(y[i]));
    for (i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)x[i] - y[i]) / (top + 1e-30));
    return worst;
}

/* predict (fused) agrees with the layers run one by one to rel tol, and
 * predict with BIGMODEL_FUSION=0 gives the same bits as they do (the whole
 * batch in one call: BLAS products' bits depend on their sizes). */
static void check_model(bgm_model *m, const int64_t *shape, int ndim, double tol)
{
    bgm_tensor *x = bgm_test_randn(shape, ndim, SEED), *fused = NULL, *plain = NULL,
               *ref = NULL;
    bgm_tape *tape = NULL;
    double d;
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward(&ref, m, tape, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&fused, m, x, shape[0]));
    ck_assert_int_eq(setenv("BIGMODEL_FUSION", "0", 1), 0);
    BGM_ASSERT_OK(bgm_model_predict(&plain, m, x, shape[0]));
    ck_assert_int_eq(unsetenv("BIGMODEL_FUSION"), 0);
    d = rel_diff(fused, ref);
    ck_assert_msg(d <= tol, "fused predict differs from the layers by rel %g", d);
    ck_assert_msg(rel_diff(plain, ref) == 0, "unfused predict differs from the layers");
    bgm_tensor_free(fused);
    bgm_tensor_free(plain);
    bgm_tape_free(tape);
    bgm_tensor_free(x);
}

static bgm_layer *conv(int64_t filters, int64_t k, int64_t stride, int bias,
                       bgm_activation act)
{
    bgm_layer *l = bgm_layer_conv2d(filters, k, act);
    BGM_ASSERT_OK(bgm_layer_set_strides(l, stride, stride));
    BGM_ASSERT_OK(bgm_layer_set_padding(l, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_layer_set_use_bias(l, bias));
    return l;
}

static bgm_node *call1(bgm_layer *l, bgm_node *x) { return bgm_test_call(l, &x, 1); }

static bgm_node *add2(bgm_node *a, bgm_node *b)
{
    return bgm_test_call(bgm_layer_add(), (bgm_node *[]){a, b}, 2);
}

static bgm_node *relu(bgm_node *x) { return call1(bgm_layer_activation(BGM_ACT_RELU), x); }

static bgm_model *model_of(bgm_graph *g, bgm_node *in, bgm_node *out)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, SEED));
    bgm_graph_free(g);
    randomize_weights(m, SEED + 1);
    return m;
}

static const int64_t img[4] = {3, 9, 8, 5};

/* A new graph *g and its input node of img's sample shape. */
static bgm_node *img_input(bgm_graph **g)
{
    BGM_ASSERT_OK(bgm_graph_create(g));
    return bgm_test_input(*g, img + 1, 3, "x");
}

/* The model of g from in to out (weights randomized) checked on img. */
static void check_graph(bgm_graph *g, bgm_node *in, bgm_node *out)
{
    bgm_model *m = model_of(g, in, out);
    check_model(m, img, 4, 1e-5);
    bgm_model_free(m);
}

START_TEST(conv_bn_relu_with_and_without_bias)
{
    int bias;
    for (bias = 0; bias < 2; bias++) {
        bgm_graph *g = NULL;
        bgm_node *in = img_input(&g);
        check_graph(g, in, relu(call1(bgm_layer_batch_norm(),
                                      call1(conv(7, 3, 1, bias, BGM_ACT_LINEAR), in))));
    }
}
END_TEST

/* conv -> bn (a model output: nothing to fuse after it); a strided conv ->
 * bn -> relu; a conv with its own ReLU; a conv -> relu without BN. */
START_TEST(conv_bn_output_strided_and_own_relu)
{
    bgm_graph *g = NULL;
    bgm_node *in = img_input(&g), *a, *b;
    a = call1(conv(6, 3, 1, 1, BGM_ACT_RELU), in);
    a = relu(call1(conv(6, 3, 1, 1, BGM_ACT_LINEAR), a));
    a = relu(call1(bgm_layer_batch_norm(), call1(conv(8, 3, 2, 0, BGM_ACT_LINEAR), a)));
    b = call1(bgm_layer_batch_norm(), call1(conv(4, 1, 1, 1, BGM_ACT_LINEAR), a));
    check_graph(g, in, b);
}
END_TEST

/* conv -> bn -> add -> relu, the shortcut computed before the convolution
 * (an identity block) and after it (a projection: the Add then fuses into
 * the projection's convolution). */
START_TEST(conv_bn_add_relu_both_orders)
{
    bgm_graph *g = NULL;
    bgm_node *in = img_input(&g), *a, *h, *sc;
    a = relu(call1(bgm_layer_batch_norm(), call1(conv(6, 3, 1, 0, BGM_ACT_LINEAR), in)));
    h = call1(bgm_layer_batch_norm(), call1(conv(6, 3, 1, 0, BGM_ACT_LINEAR), a));
    a = relu(add2(h, a)); /* identity shortcut */
    h = call1(bgm_layer_batch_norm(), call1(conv(10, 3, 2, 0, BGM_ACT_LINEAR), a));
    sc = call1(bgm_layer_batch_norm(), call1(conv(10, 1, 2, 1, BGM_ACT_LINEAR), a));
    a = relu(add2(sc, h)); /* projection shortcut, Add's inputs the other way */
    a = add2(call1(conv(10, 3, 1, 1, BGM_ACT_LINEAR), a), a); /* conv -> add, no BN, no relu */
    check_graph(g, in, a);
}
END_TEST

/* Where another layer reads the convolution's output, or the BatchNorm's,
 * nothing may fold past that point. */
START_TEST(no_fusion_past_a_value_with_other_readers)
{
    bgm_graph *g = NULL;
    bgm_node *in = img_input(&g), *c, *b, *r, *out, *c2, *c3;
    bgm_layer *shared;
    c = call1(conv(5, 3, 1, 1, BGM_ACT_LINEAR), in);
    b = call1(bgm_layer_batch_norm(), c);
    out = add2(b, c); /* conv output read twice: BN must not fold */
    b = call1(bgm_layer_batch_norm(), call1(conv(5, 3, 1, 0, BGM_ACT_LINEAR), out));
    r = relu(b);
    out = add2(r, b); /* BN output read twice: folds, the ReLU must not fuse */
    c = call1(conv(5, 3, 1, 0, BGM_ACT_LINEAR), out);
    b = call1(bgm_layer_batch_norm(), c);
    out = relu(add2(b, b)); /* the Add reads the BN twice: no residual fusion */
    shared = conv(5, 3, 1, 1, BGM_ACT_LINEAR); /* one layer, two calls, each with a BN */
    c2 = call1(bgm_layer_batch_norm(), bgm_test_call(shared, &out, 1));
    c3 = relu(call1(bgm_layer_batch_norm(), bgm_test_call(shared, &c2, 1)));
    check_graph(g, in, add2(c3, c2));
}
END_TEST

/* A model with two outputs: the BN's output is also a model output, so the
 * ReLU after it must not fuse (predict must return the normalized value). */
START_TEST(bn_output_is_a_model_output)
{
    bgm_graph *g = NULL;
    bgm_node *in = img_input(&g), *b, *outs[2];
    bgm_model *m = NULL;
    bgm_tensor *x = bgm_test_randn(img, 4, SEED), *fused[2] = {NULL, NULL},
               *ref[2] = {NULL, NULL};
    bgm_tape *tape = NULL;
    int i;
    b = call1(bgm_layer_batch_norm(), call1(conv(5, 3, 1, 0, BGM_ACT_LINEAR), in));
    outs[0] = relu(b);
    outs[1] = b;
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, outs, 2, SEED));
    bgm_graph_free(g);
    randomize_weights(m, SEED + 2);
    BGM_ASSERT_OK(bgm_tape_create(&tape));
    BGM_ASSERT_OK(bgm_model_forward_multi(ref, 2, m, tape, (const bgm_tensor *const *)&x, 1,
                                          0));
    BGM_ASSERT_OK(bgm_model_predict_multi(fused, 2, m, (const bgm_tensor *const *)&x, 1, 0));
    for (i = 0; i < 2; i++) {
        double d = rel_diff(fused[i], ref[i]);
        ck_assert_msg(d <= 1e-5, "output %d differs by rel %g", i, d);
        bgm_tensor_free(fused[i]);
    }
    bgm_tape_free(tape);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

/* 3x3 stride-1 convolutions of 16 channels or more run as Winograd at
 * inference, F(2x2, 3x3) for small batches and F(4x4, 3x3) from 1,024
 * output pixels (the last three sizes): odd and even output sizes (tiles
 * that overhang the output), SAME and VALID padding, channel and filter
 * counts that are not multiples of a vector (16), with bias, BatchNorm,
 * residual, ReLU. */
static bgm_layer *pooling(int max, int64_t size, int64_t stride, bgm_padding pad)
{
    bgm_layer *l = max ? bgm_layer_max_pool2d(size) : bgm_layer_avg_pool2d(size);
    BGM_ASSERT_OK(bgm_layer_set_strides(l, stride, stride));
    BGM_ASSERT_OK(bgm_layer_set_padding(l, pad));
    return l;
}

/* Conv -> pool runs as one convolution whose output is pooled a few images
 * at a time from a buffer: the seed CNN's chain (conv with its own ReLU ->
 * MaxPool 2, VALID; the second convolution on the Winograd path; 32x32
 * images of 64 filters fill the buffer one image at a time), conv -> BN ->
 * ReLU -> overlapping MaxPool 3 stride 2 SAME, conv -> AvgPool 2 SAME on odd
 * sizes, and a batch that leaves a partial pass. */
START_TEST(conv_pool_fuses_max_and_average)
{
    static const int64_t seed_img[4] = {5, 32, 32, 3}, odd_img[4] = {7, 11, 9, 5};
    bgm_graph *g = NULL;
    bgm_node *in, *a;
    bgm_model *m;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, seed_img + 1, 3, "x");
    a = call1(pooling(1, 2, 2, BGM_PADDING_VALID), call1(conv(64, 3, 1, 1, BGM_ACT_RELU), in));
    a = call1(pooling(1, 2, 2, BGM_PADDING_VALID), call1(conv(32, 3, 1, 1, BGM_ACT_RELU), a));
    m = model_of(g, in, a);
    check_model(m, seed_img, 4, 1e-5);
    bgm_model_free(m);

    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, odd_img + 1, 3, "x");
    a = relu(call1(bgm_layer_batch_norm(), call1(conv(18, 3, 1, 0, BGM_ACT_LINEAR), in)));
    a = call1(pooling(1, 3, 2, BGM_PADDING_SAME), a);
    a = call1(pooling(0, 2, 2, BGM_PADDING_SAME), call1(conv(17, 3, 1, 1, BGM_ACT_LINEAR), a));
    m = model_of(g, in, a);
    check_model(m, odd_img, 4, 1e-5);
    bgm_model_free(m);
}
END_TEST

/* A pooling whose input another layer reads too, or that is a model
 * output's input, must not fuse: the convolution's output must exist. */
START_TEST(no_pool_fusion_past_a_value_with_other_readers)
{
    bgm_graph *g = NULL;
    bgm_node *in = img_input(&g), *c, *p, *q;
    c = call1(conv(6, 3, 1, 1, BGM_ACT_RELU), in);
    p = call1(pooling(1, 2, 1, BGM_PADDING_SAME), c);
    q = add2(p, c); /* c read by the pooling and the Add */
    q = call1(pooling(0, 3, 1, BGM_PADDING_SAME), call1(conv(6, 3, 1, 1, BGM_ACT_LINEAR), q));
    check_graph(g, in, q);
}
END_TEST

/* Training runs a Conv2D's own ReLU after the max pooling that alone reads
 * its value (fusion.c, bgm__tape_fusion_plan): three SGD steps give the
 * same losses and the same weight bits as the layers one by one
 * (BIGMODEL_FUSION=0). Random weights leave windows of every sign. */
static void train_steps(bgm_model *m, const float *start, const bgm_tensor *x,
                        const bgm_tensor *y, double *losses, float *end)
{
    bgm_optimizer *sgd = NULL;
    int step;
    BGM_ASSERT_OK(bgm_model_set_weights(m, start, bgm_model_num_params(m)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&sgd, 0.05f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, sgd, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    NULL, 0));
    for (step = 0; step < 3; step++)
        BGM_ASSERT_OK(bgm_model_train_on_batch(&losses[step], 1, m, x, y));
    BGM_ASSERT_OK(bgm_model_get_weights(m, end, bgm_model_num_params(m)));
}

/* Trains the model of g from in to out (weights randomized) three SGD steps
 * on a batch of shape (4-d) with fusion and without: the same losses, and
 * the same bits in every weight (moving statistics included). */
static void check_training_bits(bgm_graph *g, bgm_node *in, bgm_node *out,
                                const int64_t *shape)
{
    bgm_model *m = model_of(g, in, out);
    bgm_tensor *x = bgm_test_randn(shape, 4, SEED), *y = NULL;
    double fused[3], plain[3];
    int64_t n = bgm_model_num_params(m), i;
    float *start = malloc((size_t)n * sizeof *start), *wf = malloc((size_t)n * sizeof *wf);
    float *wp = malloc((size_t)n * sizeof *wp), *labels;
    ck_assert(start && wf && wp);
    BGM_ASSERT_OK(bgm_model_get_weights(m, start, n));
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, shape, 1));
    labels = bgm_tensor_data(y);
    for (i = 0; i < shape[0]; i++)
        labels[i] = (float)(i % 3);
    train_steps(m, start, x, y, fused, wf);
    ck_assert_int_eq(setenv("BIGMODEL_FUSION", "0", 1), 0);
    train_steps(m, start, x, y, plain, wp);
    ck_assert_int_eq(unsetenv("BIGMODEL_FUSION"), 0);
    for (i = 0; i < 3; i++)
        ck_assert_msg(fused[i] == plain[i], "step %d: loss %.9g, unfused %.9g", (int)i,
                      fused[i], plain[i]);
    ck_assert_msg(fused[2] < fused[0], "the loss did not fall: %g -> %g", fused[0], fused[2]);
    for (i = 0; i < n; i++)
        ck_assert_msg(wf[i] == wp[i], "weight %lld: %.9g, unfused %.9g", (long long)i,
                      (double)wf[i], (double)wp[i]);
    free(start);
    free(wf);
    free(wp);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}

START_TEST(training_moves_relu_after_max_pool_with_the_same_bits)
{
    static const int64_t shape[4] = {6, 12, 11, 5};
    bgm_graph *g = NULL;
    bgm_node *in, *a;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape + 1, 3, "x");
    a = call1(pooling(1, 2, 2, BGM_PADDING_VALID), call1(conv(6, 3, 1, 1, BGM_ACT_RELU), in));
    a = call1(pooling(1, 3, 2, BGM_PADDING_SAME), call1(conv(16, 3, 1, 1, BGM_ACT_RELU), a));
    a = call1(bgm_layer_dense(3, BGM_ACT_LINEAR), call1(bgm_layer_flatten(), a));
    check_training_bits(g, in, a, shape);
}
END_TEST

/* Training runs BatchNormalization -> Activation(relu) as one op
 * (bgm__op_batch_norm_sync with relu), and Add -> Activation(relu) too
 * (bgm__op_add_relu): a residual block, whose first BN-ReLU and whose
 * Add-ReLU fuse, trains to the unfused bits. */
START_TEST(training_applies_relu_inside_batch_norm_with_the_same_bits)
{
    static const int64_t shape[4] = {6, 7, 6, 4};
    bgm_graph *g = NULL;
    bgm_node *in, *x, *h;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape + 1, 3, "x");
    x = relu(call1(bgm_layer_batch_norm(), call1(conv(8, 3, 1, 0, BGM_ACT_LINEAR), in)));
    h = relu(call1(bgm_layer_batch_norm(), call1(conv(8, 3, 1, 0, BGM_ACT_LINEAR), x)));
    h = call1(bgm_layer_batch_norm(), call1(conv(8, 3, 1, 0, BGM_ACT_LINEAR), h));
    h = relu(add2(h, x));
    h = call1(bgm_layer_dense(3, BGM_ACT_LINEAR), call1(bgm_layer_global_avg_pool2d(), h));
    check_training_bits(g, in, h, shape);
}
END_TEST

START_TEST(winograd_matches_the_direct_convolution)
{
    /* batches of at least 64 output pixels, or Winograd is not used */
    static const int64_t sizes[][4] = {{3, 7, 7, 16},  {3, 9, 6, 17},   {3, 5, 11, 32},
                                       {12, 2, 3, 20}, {64, 1, 1, 16},  {40, 7, 7, 16},
                                       {12, 9, 10, 17}, {3, 22, 19, 16}};
    int i, valid;
    for (i = 0; i < 8; i++)
        for (valid = 0; valid < 2; valid++) {
            const int64_t *sz = sizes[i];
            bgm_graph *g = NULL;
            bgm_node *in, *a, *b;
            bgm_layer *c1, *c2;
            bgm_model *m;
            if (valid && (sz[1] < 5 || sz[2] < 5))
                continue;
            c1 = conv(20, 3, 1, 1, BGM_ACT_RELU);
            if (valid)
                BGM_ASSERT_OK(bgm_layer_set_padding(c1, BGM_PADDING_VALID));
            BGM_ASSERT_OK(bgm_graph_create(&g));
            in = bgm_test_input(g, sz + 1, 3, "x");
            a = call1(c1, in); /* bias + ReLU, 20 filters */
            c2 = conv(33, 3, 1, 0, BGM_ACT_LINEAR);
            if (valid)
                BGM_ASSERT_OK(bgm_layer_set_padding(c2, BGM_PADDING_VALID));
            b = call1(bgm_layer_batch_norm(), call1(c2, a)); /* 20 -> 33, BN folded */
            b = call1(conv(20, 1, 1, 1, BGM_ACT_LINEAR), b);
            if (!valid) { /* conv -> BN -> Add -> ReLU on the Winograd path */
                b = call1(bgm_layer_batch_norm(), call1(conv(20, 3, 1, 0, BGM_ACT_LINEAR), b));
                b = relu(add2(b, a));
            }
            m = model_of(g, in, b);
            check_model(m, sz, 4, 1e-5);
            bgm_model_free(m);
        }
}
END_TEST

/* Training runs the forward pass and the input gradient of such
 * convolutions as Winograd too: their gradients against finite
 * differences (SAME and VALID; channels 16 and 17, filters 16 and 20). */
typedef struct wino_case {
    int64_t xs[4], ks[4];
    bgm_padding pad;
} wino_case;

static const wino_case wino_cases[] = {{{4, 5, 4, 16}, {3, 3, 16, 16}, BGM_PADDING_SAME},
                                       {{6, 5, 6, 17}, {3, 3, 17, 20}, BGM_PADDING_VALID}};

static bgm_status wino_conv(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *in, void *ctx)
{
    const wino_case *wc = ctx;
    return bgm_op_conv2d(out, tape, in[0], in[1], in[2], 1, 1, wc->pad);
}

START_TEST(winograd_training_gradients_match_finite_differences)
{
    const wino_case *wc = &wino_cases[_i];
    bgm_tensor *in[3];
    double err;
    in[0] = bgm_test_randn(wc->xs, 4, 80 + (uint64_t)_i);
    in[1] = bgm_test_randn(wc->ks, 4, 90 + (uint64_t)_i);
    in[2] = bgm_test_randn(wc->ks + 3, 1, 99);
    err = bgm_test_gradcheck(wino_conv, in, 3, (void *)wc, 1e-2);
    ck_assert_msg(err < 1e-3, "case %d: relative error %g", _i, err);
    bgm_tensor_free(in[0]);
    bgm_tensor_free(in[1]);
    bgm_tensor_free(in[2]);
}
END_TEST

/* The ResNet of examples/resnet_fashion.c (stem, three stages of two basic
 * blocks, global pooling, Dense). */
static bgm_node *conv_bn(bgm_node *x, int64_t filters, int64_t k, int64_t stride, int act)
{
    x = call1(bgm_layer_batch_norm(), call1(conv(filters, k, stride, 0, BGM_ACT_LINEAR), x));
    return act ? relu(x) : x;
}

static bgm_model *resnet(void)
{
    bgm_graph *g = NULL;
    bgm_node *in, *x;
    int stage, block;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){28, 28, 1}, 3, "image");
    x = conv_bn(in, 16, 3, 1, 1);
    for (stage = 0; stage < 3; stage++)
        for (block = 0; block < 2; block++) {
            int64_t filters = (int64_t)16 << stage, stride = stage > 0 && block == 0 ? 2 : 1;
            bgm_node *h = conv_bn(conv_bn(x, filters, 3, stride, 1), filters, 3, 1, 0);
            bgm_node *sc = stride != 1 || bgm_node_shape(x, NULL)[2] != filters
                               ? conv_bn(x, filters, 1, stride, 0) : x;
            x = relu(add2(h, sc));
        }
    x = call1(bgm_layer_global_avg_pool2d(), x);
    x = call1(bgm_layer_dense(10, BGM_ACT_LINEAR), x);
    return model_of(g, in, x);
}

START_TEST(resnet_fashion_predict_matches_the_layers)
{
    bgm_model *m = resnet();
    check_model(m, (int64_t[]){5, 28, 28, 1}, 4, 1e-5);
    bgm_model_free(m);
}
END_TEST

/* The folded weights are made from the weights of the moment: writing a
 * BatchNorm statistic through its view, set_weights and a training step
 * all show in the next predict. */
START_TEST(weight_writes_show_in_the_next_predict)
{
    bgm_graph *g = NULL;
    bgm_node *in, *y;
    bgm_model *m;
    bgm_optimizer *sgd = NULL;
    bgm_tensor *x = bgm_test_randn(img, 4, SEED + 3), *p0 = NULL, *p1 = NULL, *t = NULL;
    int64_t n;
    float *buf, *mean, *gamma;
    double r;
    int i, c;
    in = img_input(&g);
    y = relu(call1(bgm_layer_batch_norm(), call1(conv(4, 3, 1, 1, BGM_ACT_LINEAR), in)));
    m = model_of(g, in, y);
    BGM_ASSERT_OK(bgm_model_predict(&p0, m, x, 0));
    i = bgm_model_weight_index(m, "batch_normalization/moving_mean");
    ck_assert_int_ge(i, 0);
    /* mean -= 3 sign(gamma): every channel's output rises past the ReLU */
    mean = bgm_tensor_data(bgm_model_weight(m, i));
    gamma = bgm_tensor_data(bgm_model_weight(m, i - 2));
    for (c = 0; c < 4; c++)
        mean[c] -= gamma[c] > 0 ? 3.0f : -3.0f;
    BGM_ASSERT_OK(bgm_model_predict(&p1, m, x, 0));
    ck_assert_msg(rel_diff(p1, p0) > 1e-3, "a moving mean written in place did not show");
    check_model(m, img, 4, 1e-5);
    n = bgm_model_num_params(m);
    buf = malloc((size_t)n * sizeof *buf);
    BGM_ASSERT_OK(bgm_model_get_weights(m, buf, n));
    for (i = 0; i < n; i++)
        buf[i] *= 1.5f;
    BGM_ASSERT_OK(bgm_model_set_weights(m, buf, n));
    free(buf);
    check_model(m, img, 4, 1e-5);
    BGM_ASSERT_OK(bgm_optimizer_sgd(&sgd, 0.05f, 0.0f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, sgd, BGM_LOSS_MSE, 0, NULL, 0));
    t = bgm_test_randn((int64_t[]){3, 9, 8, 4}, 4, SEED + 4);
    BGM_ASSERT_OK(bgm_model_train_on_batch(NULL, 0, m, x, t));
    check_model(m, img, 4, 1e-5);
    BGM_ASSERT_OK(bgm_model_test_on_batch(&r, 1, m, x, t));
    ck_assert(isfinite(r));
    bgm_tensor_free(p0);
    bgm_tensor_free(p1);
    bgm_tensor_free(t);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

Suite *suite_model_fusion(void)
{
    Suite *s = suite_create("model_fusion");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, conv_bn_relu_with_and_without_bias);
    tcase_add_test(tc, conv_bn_output_strided_and_own_relu);
    tcase_add_test(tc, conv_bn_add_relu_both_orders);
    tcase_add_test(tc, no_fusion_past_a_value_with_other_readers);
    tcase_add_test(tc, bn_output_is_a_model_output);
    tcase_add_test(tc, conv_pool_fuses_max_and_average);
    tcase_add_test(tc, no_pool_fusion_past_a_value_with_other_readers);
    tcase_add_test(tc, training_moves_relu_after_max_pool_with_the_same_bits);
    tcase_add_test(tc, training_applies_relu_inside_batch_norm_with_the_same_bits);
    tcase_add_test(tc, winograd_matches_the_direct_convolution);
    tcase_add_loop_test(tc, winograd_training_gradients_match_finite_differences, 0, 2);
    tcase_add_test(tc, resnet_fashion_predict_matches_the_layers);
    tcase_add_test(tc, weight_writes_show_in_the_next_predict);
    suite_add_tcase(s, tc);
    return s;
}
