/* What inference fusion decides (bgm__fusion_plan), which predict's
 * numbers alone cannot show: a fused Conv -> ReLU -> MaxPool gives the same
 * bits as the layers one by one (test_model_fusion.c checks the values). */
#include <stdlib.h>

#include "testutil.h"

#include "layers/layer.h"
#include "model/model_impl.h"

/* The index of the n-th step (from 0) running a layer of kind ops. */
static int step_of(const bgm_model *m, const bgm__layer_ops *ops, int n)
{
    int k;
    for (k = 0; k < m->nsteps; k++)
        if (m->steps[k].node->layer && m->steps[k].node->layer->ops == ops && n-- == 0)
            return k;
    ck_abort_msg("no such step");
    return -1;
}

static bgm_node *call1(bgm_layer *l, bgm_node *x) { return bgm_test_call(l, &x, 1); }

START_TEST(conv_relu_pool_chains_fuse_and_shared_values_do_not)
{
    static const int64_t shape[3] = {12, 12, 3};
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *c1, *p1, *c2, *p2, *out;
    bgm__fuse *f;
    int k1, k2, kp1, kp2;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape, 3, "x");
    c1 = call1(bgm_layer_conv2d(8, 3, BGM_ACT_RELU), in);
    p1 = call1(bgm_layer_max_pool2d(2), c1); /* only reader of c1: fuses */
    c2 = call1(bgm_layer_conv2d(8, 3, BGM_ACT_RELU), p1);
    p2 = call1(bgm_layer_avg_pool2d(2), c2);
    out = bgm_test_call(bgm_layer_concatenate(-1), (bgm_node *[]){call1(bgm_layer_flatten(), p2),
                                                                 call1(bgm_layer_flatten(), c2)},
                        2); /* c2 read twice: its pooling must not fuse */
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 1));
    bgm_graph_free(g);
    f = bgm__fusion_plan(m);
    ck_assert_ptr_nonnull(f);
    k1 = step_of(m, &bgm__conv2d_ops, 0);
    k2 = step_of(m, &bgm__conv2d_ops, 1);
    kp1 = step_of(m, &bgm__max_pool2d_ops, 0);
    kp2 = step_of(m, &bgm__avg_pool2d_ops, 0);
    ck_assert(f[k1].conv && f[k1].relu);
    ck_assert_int_eq(f[k1].pool, kp1);
    ck_assert_int_eq(f[kp1].into, k1);
    ck_assert_int_eq(f[k2].pool, -1);
    ck_assert_int_eq(f[kp2].into, -1);
    free(f);
    bgm_model_free(m);
}
END_TEST

/* Training moves a Conv2D's own ReLU after the max pooling that alone reads
 * its value; not after an average pooling, not past a shared value, not a
 * separate Activation layer's. */
START_TEST(relu_moves_after_a_max_pool_that_alone_reads_the_conv)
{
    static const int64_t shape[3] = {12, 12, 3};
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *c1, *p1, *c2, *p2, *c3, *p3, *out;
    unsigned char *plan;
    int k1, k2, k3, kp1, kp2, kp3;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape, 3, "x");
    c1 = call1(bgm_layer_conv2d(8, 3, BGM_ACT_RELU), in);
    p1 = call1(bgm_layer_max_pool2d(2), c1); /* only reader of c1: moves */
    c2 = call1(bgm_layer_conv2d(8, 3, BGM_ACT_RELU), p1);
    p2 = call1(bgm_layer_avg_pool2d(2), c2); /* average: stays */
    c3 = call1(bgm_layer_conv2d(4, 1, BGM_ACT_RELU), p1);
    p3 = call1(bgm_layer_max_pool2d(2), c3); /* c3 also read by the Concatenate */
    out = bgm_test_call(bgm_layer_concatenate(-1),
                        (bgm_node *[]){call1(bgm_layer_flatten(), p2),
                                       call1(bgm_layer_flatten(), p3),
                                       call1(bgm_layer_flatten(), c3)},
                        3);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 1));
    bgm_graph_free(g);
    plan = bgm__tape_fusion_plan(m);
    ck_assert_ptr_nonnull(plan);
    k1 = step_of(m, &bgm__conv2d_ops, 0);
    k2 = step_of(m, &bgm__conv2d_ops, 1);
    k3 = step_of(m, &bgm__conv2d_ops, 2);
    kp1 = step_of(m, &bgm__max_pool2d_ops, 0);
    kp2 = step_of(m, &bgm__avg_pool2d_ops, 0);
    kp3 = step_of(m, &bgm__max_pool2d_ops, 1);
    ck_assert_int_eq(plan[k1], BGM__DEFER_RELU);
    ck_assert_int_eq(plan[kp1], BGM__RELU_AFTER);
    ck_assert_int_eq(plan[k2] | plan[kp2] | plan[k3] | plan[kp3], 0);
    free(plan);
    ck_assert_int_eq(setenv("BIGMODEL_FUSION", "0", 1), 0);
    ck_assert_ptr_null(bgm__tape_fusion_plan(m));
    ck_assert_int_eq(unsetenv("BIGMODEL_FUSION"), 0);
    bgm_model_free(m);
}
END_TEST

/* m's tape plan fuses the first of its 3 steps of kind with the first
 * Activation (FUSE_RELU, PASS_ON) and leaves the other pairs alone; frees m. */
static void check_only_first_pair_fuses(bgm_model *m, const bgm__layer_ops *kind)
{
    unsigned char *plan = bgm__tape_fusion_plan(m);
    int i;
    ck_assert_ptr_nonnull(plan);
    ck_assert_int_eq(plan[step_of(m, kind, 0)], BGM__FUSE_RELU);
    ck_assert_int_eq(plan[step_of(m, &bgm__activation_ops, 0)], BGM__PASS_ON);
    for (i = 1; i < 3; i++)
        ck_assert_int_eq(plan[step_of(m, kind, i)] | plan[step_of(m, &bgm__activation_ops, i)],
                         0);
    free(plan);
    bgm_model_free(m);
}

/* BatchNormalization -> Activation(relu) fuses in a tape run; not when the
 * BN's value has another reader, nor for another activation. */
START_TEST(batch_norm_takes_the_relu_that_alone_reads_it)
{
    static const int64_t shape[3] = {6, 6, 3};
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *b1, *r1, *b2, *r2, *b3, *t3, *out;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape, 3, "x");
    b1 = call1(bgm_layer_batch_norm(), in);
    r1 = call1(bgm_layer_activation(BGM_ACT_RELU), b1); /* fuses */
    b2 = call1(bgm_layer_batch_norm(), r1);
    r2 = call1(bgm_layer_activation(BGM_ACT_RELU), b2); /* b2 also read by the Add */
    b3 = call1(bgm_layer_batch_norm(), r2);
    t3 = call1(bgm_layer_activation(BGM_ACT_TANH), b3); /* not a ReLU */
    out = bgm_test_call(bgm_layer_add(), (bgm_node *[]){t3, b2}, 2);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, 1));
    bgm_graph_free(g);
    check_only_first_pair_fuses(m, &bgm__batch_norm_ops);
}
END_TEST

/* Add -> Activation(relu) fuses too, for two inputs of one shape only:
 * not for three inputs, nor for a broadcasting pair. */
START_TEST(an_add_of_two_like_inputs_takes_the_relu_after_it)
{
    static const int64_t shape[3] = {4, 4, 3}, row[3] = {1, 1, 3};
    bgm_graph *g = NULL;
    bgm_model *m = NULL;
    bgm_node *in, *bias, *a1, *a2, *a3, *out;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, shape, 3, "x");
    bias = bgm_test_input(g, row, 3, "b");
    a1 = call1(bgm_layer_activation(BGM_ACT_RELU),
               bgm_test_call(bgm_layer_add(), (bgm_node *[]){in, in}, 2)); /* fuses */
    a2 = call1(bgm_layer_activation(BGM_ACT_RELU),
               bgm_test_call(bgm_layer_add(), (bgm_node *[]){a1, in, a1}, 3));
    a3 = call1(bgm_layer_activation(BGM_ACT_RELU),
               bgm_test_call(bgm_layer_add(), (bgm_node *[]){a2, bias}, 2)); /* broadcasts */
    out = a3;
    BGM_ASSERT_OK(bgm_model_create_graph(&m, (bgm_node *[]){in, bias}, 2, &out, 1, 1));
    bgm_graph_free(g);
    check_only_first_pair_fuses(m, &bgm__add_ops);
}
END_TEST

Suite *suite_fusion_plan(void)
{
    Suite *s = suite_create("fusion_plan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, conv_relu_pool_chains_fuse_and_shared_values_do_not);
    tcase_add_test(tc, relu_moves_after_a_max_pool_that_alone_reads_the_conv);
    tcase_add_test(tc, batch_norm_takes_the_relu_that_alone_reads_it);
    tcase_add_test(tc, an_add_of_two_like_inputs_takes_the_relu_after_it);
    suite_add_tcase(s, tc);
    return s;
}
