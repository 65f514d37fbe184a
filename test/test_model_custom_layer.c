/* Layer kinds registered at run time: a scaled-residual kind,
 * y = residual_scale * x + alpha * tanh(x W), in graph and Sequential
 * models: forward against hand-computed values, gradients against finite
 * differences, fit, save/load (bit-exact when the kind is registered again,
 * an error naming it when not), the kind's life after unregistering, and
 * bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ---- the kind ------------------------------------------------------------------- */

static bgm_status residual_init(bgm_layer *l, void *user)
{
    return bgm_layer_set_config_float(l, "residual_scale", 1.0);
}

static bgm_status residual_build(bgm_layer *l, const int64_t *const *in, const int *ndim,
                                 int nin, int64_t *out, int *out_ndim, void *user)
{
    int64_t d = in[0][ndim[0] - 1];
    bgm_status s;
    if (ndim[0] != 1)
        return bgm_layer_kind_fail(l, BGM_E_SHAPE, "expected input of 1 dimension");
    out[0] = d;
    *out_ndim = 1;
    s = bgm_layer_add_weight(l, "kernel", (int64_t[]){d, d}, 2, BGM_INIT_GLOROT_UNIFORM, 1);
    if (s == BGM_OK)
        s = bgm_layer_add_weight(l, "alpha", (int64_t[]){1}, 1, BGM_INIT_ONES, 1);
    return s;
}

static bgm_status residual_forward(bgm_tensor **y, bgm_tape *tape, const bgm_layer *l,
                                   bgm_tensor *const *w, int nw, const bgm_tensor *const *x,
                                   int nx, int training, void *user)
{
    bgm_tensor *h = NULL, *t = NULL, *a = NULL, *r = NULL;
    double scale = 0.0;
    bgm_status s = bgm_layer_get_config_float(&scale, l, "residual_scale");
    if (s == BGM_OK)
        s = bgm_op_matmul(&h, tape, x[0], w[0]);
    if (s == BGM_OK)
        s = bgm_op_tanh(&t, tape, h);
    if (s == BGM_OK)
        s = bgm_op_mul(&a, tape, t, w[1]);
    if (s == BGM_OK)
        s = bgm_op_scale(&r, tape, x[0], (float)scale);
    if (s == BGM_OK)
        s = bgm_op_add(y, tape, r, a);
    return s;
}

static int freed_user_data;

static void count_free(void *user)
{
    freed_user_data += *(int *)user;
}

static int released;

static void count_release(void *layer_data, void *user)
{
    released += *(int *)layer_data;
}

static void register_residual(void)
{
    bgm_layer_kind_def k;
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "ScaledResidual";
    k.build = residual_build;
    k.forward = residual_forward;
    k.init = residual_init;
    BGM_ASSERT_OK(bgm_layer_kind_register(&k));
}

static bgm_layer *residual(double scale)
{
    bgm_layer *l = NULL;
    BGM_ASSERT_OK(bgm_layer_create(&l, "ScaledResidual"));
    BGM_ASSERT_OK(bgm_layer_set_config_float(l, "residual_scale", scale));
    return l;
}

/* in (3) -> ScaledResidual(scale) -> Dense(2) */
static bgm_model *graph_model(double scale, uint64_t seed)
{
    bgm_graph *g = NULL;
    bgm_node *in, *h, *out;
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in = bgm_test_input(g, (int64_t[]){3}, 1, "x");
    h = bgm_test_call(residual(scale), &in, 1);
    out = bgm_test_call(bgm_layer_dense(2, BGM_ACT_LINEAR), &h, 1);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, &in, 1, &out, 1, seed));
    bgm_graph_free(g);
    return m;
}

/* ---- forward and gradients ------------------------------------------------------- */

START_TEST(custom_layer_forward_equals_hand_computed_values)
{
    static const float x[2 * 3] = {0.5f, -1.0f, 2.0f, 0.0f, 0.25f, -0.75f};
    static const float w[9] = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, -0.7f, 0.8f, 0.9f};
    static const float alpha = 0.7f;
    const float scale = 0.5f;
    float weights[9 + 1 + 6 + 2], want[2 * 2];
    bgm_model *m;
    bgm_tensor *xt = bgm_test_tensor((int64_t[]){2, 3}, 2, x), *y = NULL;
    int n, i, j, k;
    register_residual();
    m = graph_model(scale, 3);
    ck_assert_int_eq(bgm_model_num_params(m), 9 + 1 + 6 + 2);
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(m, 0)), "scaled_residual");
    ck_assert_str_eq(bgm_model_weight_name(m, 1), "scaled_residual/alpha");
    memcpy(weights, w, sizeof w);
    weights[9] = alpha;
    for (i = 0; i < 8; i++)
        weights[10 + i] = 0.1f * (float)(i + 1); /* dense kernel (3, 2) then bias (2) */
    BGM_ASSERT_OK(bgm_model_set_weights(m, weights, 18));
    for (n = 0; n < 2; n++) {
        double h[3];
        for (j = 0; j < 3; j++) {
            double acc = 0.0;
            for (k = 0; k < 3; k++)
                acc += (double)x[n * 3 + k] * w[k * 3 + j];
            h[j] = scale * x[n * 3 + j] + alpha * tanh(acc);
        }
        for (j = 0; j < 2; j++) {
            double acc = weights[16 + j];
            for (k = 0; k < 3; k++)
                acc += h[k] * weights[10 + k * 2 + j];
            want[n * 2 + j] = (float)acc;
        }
    }
    BGM_ASSERT_OK(bgm_model_predict(&y, m, xt, 0));
    bgm_test_assert_close(y, (int64_t[]){2, 2}, 2, want, 1e-5);
    bgm_tensor_free(y);
    bgm_tensor_free(xt);
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

typedef struct {
    bgm_model *m;
    bgm_tensor *x;
} forward_ctx;

static bgm_status model_fn(bgm_tensor **out, bgm_tape *tape, bgm_tensor *const *w, void *ctx)
{
    forward_ctx *c = ctx;
    bgm_tape *own = NULL;
    bgm_tensor *y = NULL;
    bgm_status st;
    if (!tape && bgm_tape_create(&own) != BGM_OK)
        return BGM_E_NOMEM;
    st = bgm_model_forward(&y, c->m, tape ? tape : own, c->x, 0);
    if (st == BGM_OK && own)
        st = bgm_tensor_clone(out, y);
    else if (st == BGM_OK)
        *out = y;
    bgm_tape_free(own);
    return st;
}

START_TEST(custom_layer_gradients_match_finite_differences)
{
    bgm_tensor *const *params;
    forward_ctx c;
    int count;
    double err;
    register_residual();
    c.m = graph_model(0.8, 5);
    c.x = bgm_test_randn((int64_t[]){4, 3}, 2, 11);
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &count, c.m));
    ck_assert_int_eq(count, 4); /* kernel, alpha, dense kernel, dense bias */
    err = bgm_test_gradcheck(model_fn, params, count, &c, 1e-3);
    ck_assert_double_lt(err, 2e-3);
    bgm_tensor_free(c.x);
    bgm_model_free(c.m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

/* ---- training and files ------------------------------------------------------------ */

static bgm_model *sequential_model(void)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, residual(1.0)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    return m;
}

static double evaluate(const bgm_model *m, const bgm_tensor *x, const bgm_tensor *y)
{
    double loss = 0.0;
    BGM_ASSERT_OK(bgm_model_evaluate(&loss, 1, m, x, y, 16));
    return loss;
}

START_TEST(fit_trains_a_model_holding_a_custom_layer)
{
    bgm_tensor *x, *y = NULL;
    bgm_optimizer *o = NULL;
    bgm_fit_options fo;
    bgm_model *m;
    float *yv;
    int i;
    double before, after;
    register_residual();
    m = sequential_model();
    x = bgm_test_uniform((int64_t[]){64, 3}, 2, -1.0f, 1.0f, 4);
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){64, 1}, 2));
    yv = bgm_tensor_data(y);
    for (i = 0; i < 64; i++) {
        const float *r = (const float *)bgm_tensor_data(x) + 3 * i;
        yv[i] = sinf(2.0f * r[0]) + r[1] * r[2];
    }
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 0.02f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    before = evaluate(m, x, y);
    BGM_ASSERT_OK(bgm_fit_options_init(&fo, sizeof fo));
    fo.epochs = 40;
    fo.batch_size = 16;
    fo.verbose = 0;
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    after = evaluate(m, x, y);
    ck_assert_msg(after < 0.5 * before, "loss %g -> %g", before, after);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

START_TEST(saved_custom_layer_loads_bit_exact_when_registered_and_fails_naming_it_when_not)
{
    char path[512], a[512], b[512];
    bgm_model *m, *back = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){5, 3}, 2, 8), *ya = NULL, *yb = NULL;
    const bgm_layer *l;
    double scale = 0.0;
    register_residual();
    bgm_test_tmpdir_create("custom");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    m = graph_model(0.25, 13);
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
    BGM_ASSERT_FAILS(bgm_model_load(&back, path), BGM_E_FORMAT,
                     "unknown layer kind 'ScaledResidual'");
    ck_assert_ptr_null(back);
    register_residual();
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    l = bgm_model_layer(back, 0);
    ck_assert_str_eq(bgm_layer_kind(l), "ScaledResidual");
    BGM_ASSERT_OK(bgm_layer_get_config_float(&scale, l, "residual_scale"));
    ck_assert(scale == 0.25);
    BGM_ASSERT_OK(bgm_layer_config_string(a, sizeof a, NULL, bgm_model_layer(m, 0)));
    BGM_ASSERT_OK(bgm_layer_config_string(b, sizeof b, NULL, l));
    ck_assert_str_eq(a, "{\"class_name\": \"ScaledResidual\", \"config\": {\"name\": "
                        "\"scaled_residual\", \"trainable\": true, \"residual_scale\": 0.25}}");
    ck_assert_str_eq(a, b);
    BGM_ASSERT_OK(bgm_model_predict(&ya, m, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&yb, back, x, 0));
    ck_assert_mem_eq(bgm_tensor_data(ya), bgm_tensor_data(yb), 5 * 2 * sizeof(float));
    bgm_tensor_free(ya);
    bgm_tensor_free(yb);
    bgm_tensor_free(x);
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

START_TEST(a_json_config_rebuilds_a_registered_kind_with_its_entries)
{
    char json[4096];
    bgm_model *m, *back = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){4, 3}, 2, 9), *ya = NULL, *yb = NULL;
    double scale = 0.0;
    register_residual();
    m = graph_model(0.75, 21);
    BGM_ASSERT_OK(bgm_model_to_json(json, sizeof json, NULL, m));
    ck_assert_ptr_nonnull(strstr(json, "\"class_name\": \"ScaledResidual\""));
    BGM_ASSERT_OK(bgm_model_from_json(&back, json, 21)); /* same seed: same draws */
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(back, 0)), "ScaledResidual");
    BGM_ASSERT_OK(bgm_layer_get_config_float(&scale, bgm_model_layer(back, 0), "residual_scale"));
    ck_assert(scale == 0.75);
    BGM_ASSERT_OK(bgm_model_predict(&ya, m, x, 0));
    BGM_ASSERT_OK(bgm_model_predict(&yb, back, x, 0));
    ck_assert_mem_eq(bgm_tensor_data(ya), bgm_tensor_data(yb), 4 * 2 * sizeof(float));
    bgm_model_free(back);
    back = NULL;
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
    BGM_ASSERT_FAILS(bgm_model_from_json(&back, json, 21), BGM_E_INVALID,
                     "unknown layer class_name 'ScaledResidual'");
    ck_assert_ptr_null(back);
    bgm_tensor_free(ya);
    bgm_tensor_free(yb);
    bgm_tensor_free(x);
    bgm_model_free(m);
}
END_TEST

START_TEST(config_entries_of_every_type_round_trip_through_a_file)
{
    char path[512], buf[512];
    bgm_model *m = NULL, *back = NULL;
    const bgm_layer *l;
    int64_t i64 = 0;
    double f64 = 0.0;
    const char *str = NULL;
    bgm_layer *r;
    register_residual();
    bgm_test_tmpdir_create("custom");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 7));
    r = residual(2.0);
    BGM_ASSERT_OK(bgm_layer_set_config_int(r, "depth", -42));
    BGM_ASSERT_OK(bgm_layer_set_config_float(r, "tenth", 0.1));
    BGM_ASSERT_OK(bgm_layer_set_config_float(r, "third", 1.0 / 3.0));
    BGM_ASSERT_OK(bgm_layer_set_config_string(r, "note", "say \"hi\"\\"));
    BGM_ASSERT_OK(bgm_model_add(m, r));
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    l = bgm_model_layer(back, 0);
    BGM_ASSERT_OK(bgm_layer_get_config_int(&i64, l, "depth"));
    ck_assert_int_eq(i64, -42);
    BGM_ASSERT_OK(bgm_layer_get_config_float(&f64, l, "third"));
    ck_assert(f64 == 1.0 / 3.0); /* bit-exact through the file */
    BGM_ASSERT_OK(bgm_layer_get_config_string(&str, l, "note"));
    ck_assert_str_eq(str, "say \"hi\"\\");
    BGM_ASSERT_FAILS(bgm_layer_get_config_int(&i64, l, "note"), BGM_E_DTYPE,
                     "'note' of layer 'scaled_residual' is a string, not an int");
    BGM_ASSERT_FAILS(bgm_layer_get_config_int(&i64, l, "width"), BGM_E_INVALID,
                     "has no config entry 'width'");
    BGM_ASSERT_OK(bgm_layer_config_string(buf, sizeof buf, NULL, l));
    ck_assert_str_eq(buf, "{\"class_name\": \"ScaledResidual\", \"config\": {\"name\": "
                          "\"scaled_residual\", \"trainable\": true, \"residual_scale\": "
                          "2.0, \"depth\": -42, \"tenth\": 0.1, \"third\": "
                          "0.3333333333333333, \"note\": \"say \\\"hi\\\"\\\\\"}}");
    bgm_model_free(back);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

/* ---- the kind's life --------------------------------------------------------------- */

START_TEST(an_unregistered_kind_lives_until_its_last_layer_goes)
{
    static int one = 1;
    bgm_layer_kind_def k;
    bgm_layer *l = NULL, *none = NULL;
    bgm_model *m;
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 3}, 2, 1), *y = NULL;
    freed_user_data = 0;
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "ScaledResidual";
    k.build = residual_build;
    k.forward = residual_forward;
    k.init = residual_init;
    k.user_data = &one;
    k.free_user_data = count_free;
    k.release = count_release;
    released = 0;
    BGM_ASSERT_OK(bgm_layer_kind_register(&k));
    ck_assert_int_eq(bgm_layer_kind_registered("ScaledResidual"), 1);
    m = graph_model(1.0, 2);
    BGM_ASSERT_OK(bgm_layer_create(&l, "ScaledResidual"));
    BGM_ASSERT_OK(bgm_layer_set_user_data(l, &one));
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
    ck_assert_int_eq(bgm_layer_kind_registered("ScaledResidual"), 0);
    BGM_ASSERT_FAILS(bgm_layer_create(&none, "ScaledResidual"), BGM_E_INVALID,
                     "no layer kind named 'ScaledResidual' is registered");
    ck_assert_ptr_null(none);
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0)); /* the model's layer still works */
    bgm_tensor_free(y);
    bgm_model_free(m);
    ck_assert_int_eq(freed_user_data, 0); /* l still holds the kind */
    ck_assert_int_eq(released, 0);
    bgm_layer_free(l);
    ck_assert_int_eq(released, 1); /* the release callback saw l's pointer */
    ck_assert_int_eq(freed_user_data, 1);
    bgm_tensor_free(x);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------- */

static bgm_status wrong_forward(bgm_tensor **y, bgm_tape *tape, const bgm_layer *l,
                                bgm_tensor *const *w, int nw, const bgm_tensor *const *x,
                                int nx, int training, void *user)
{
    /* (N, 3) in, build said (N, 3) out, but this drops the last column */
    return bgm_op_slice(y, tape, x[0], 1, 0, 2);
}

START_TEST(forward_of_the_wrong_shape_fails_naming_the_layer_and_both_shapes)
{
    bgm_layer_kind_def k;
    bgm_model *m = NULL;
    bgm_layer *l = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){4, 3}, 2, 1), *y = NULL;
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "Shrink";
    k.build = residual_build;
    k.forward = wrong_forward;
    BGM_ASSERT_OK(bgm_layer_kind_register(&k));
    BGM_ASSERT_OK(bgm_layer_create(&l, "Shrink"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_FAILS(bgm_model_predict(&y, m, x, 0), BGM_E_SHAPE,
                     "(Shrink): forward returned (4, 2), expected (4, 3)");
    ck_assert_ptr_null(y);
    bgm_tensor_free(x);
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("Shrink"));
}
END_TEST

START_TEST(registration_refuses_duplicates_builtin_names_and_missing_callbacks)
{
    bgm_layer_kind_def k;
    bgm_layer *l = NULL;
    register_residual();
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "ScaledResidual";
    k.build = residual_build;
    k.forward = residual_forward;
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_STATE,
                     "a layer kind named 'ScaledResidual' is already registered");
    k.name = "Dense";
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_STATE,
                     "'Dense' is a built-in layer kind (bgm_layer_dense)");
    k.name = "Mine";
    k.forward = NULL;
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_INVALID,
                     "kind 'Mine' has no forward callback");
    k.forward = residual_forward;
    k.build = NULL;
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_INVALID,
                     "kind 'Mine' has no build callback");
    k.build = residual_build;
    k.name = "my layer";
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_INVALID,
                     "character 2 of kind name 'my layer'");
    k.name = "Mine";
    k.min_inputs = 2;
    k.max_inputs = 1;
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_INVALID, "takes 2 to 1 inputs");
    k.size = 8;
    BGM_ASSERT_FAILS(bgm_layer_kind_register(&k), BGM_E_INVALID, "call bgm_layer_kind_init");
    BGM_ASSERT_FAILS(bgm_layer_kind_register(NULL), BGM_E_INVALID, "bgm_layer_kind_register");
    BGM_ASSERT_FAILS(bgm_layer_kind_init(&k, 8), BGM_E_INVALID, "size 8");
    BGM_ASSERT_FAILS(bgm_layer_kind_unregister("Mine"), BGM_E_INVALID,
                     "no layer kind named 'Mine' is registered");
    BGM_ASSERT_FAILS(bgm_layer_create(&l, "Dense"), BGM_E_INVALID,
                     "'Dense' is a built-in layer kind; make it with bgm_layer_dense");
    BGM_ASSERT_FAILS(bgm_layer_create(&l, "Nope"), BGM_E_INVALID,
                     "no layer kind named 'Nope' is registered");
    BGM_ASSERT_FAILS(bgm_layer_create(NULL, "Nope"), BGM_E_INVALID, "bgm_layer_create");
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

START_TEST(custom_layer_calls_refuse_misuse)
{
    bgm_layer *l = NULL, *d = bgm_layer_dense(2, BGM_ACT_LINEAR);
    bgm_model *m = NULL;
    double v;
    register_residual();
    BGM_ASSERT_OK(bgm_layer_create(&l, "ScaledResidual"));
    BGM_ASSERT_FAILS(bgm_layer_add_weight(l, "w", (int64_t[]){2}, 1, BGM_INIT_ZEROS, 1),
                     BGM_E_STATE, "declares weights in its kind's build callback only");
    BGM_ASSERT_FAILS(bgm_layer_set_config_float(l, "name", 1.0), BGM_E_INVALID,
                     "'name' is not a config entry of its own");
    BGM_ASSERT_FAILS(bgm_layer_set_config_float(l, "x", NAN), BGM_E_INVALID,
                     "'x' = nan, expected a finite value");
    BGM_ASSERT_FAILS(bgm_layer_set_config_int(l, "bad key", 1), BGM_E_INVALID,
                     "character 3 of 'bad key'");
    BGM_ASSERT_FAILS(bgm_layer_set_config_float(d, "x", 1.0), BGM_E_INVALID,
                     "is a built-in Dense layer");
    BGM_ASSERT_FAILS(bgm_layer_get_config_float(&v, d, "x"), BGM_E_INVALID,
                     "is a built-in Dense layer");
    BGM_ASSERT_FAILS(bgm_layer_set_user_data(d, &v), BGM_E_INVALID, "built-in Dense");
    ck_assert_ptr_null(bgm_layer_user_data(d));
    BGM_ASSERT_OK(bgm_layer_set_user_data(l, &v));
    ck_assert_ptr_eq(bgm_layer_user_data(l), &v);
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_FAILS(bgm_layer_set_config_float(l, "residual_scale", 2.0), BGM_E_STATE,
                     "belongs to a model");
    bgm_model_free(m);
    bgm_layer_free(d);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

static bgm_status twice_build(bgm_layer *l, const int64_t *const *in, const int *ndim,
                              int nin, int64_t *out, int *out_ndim, void *user)
{
    bgm_status s;
    memcpy(out, in[0], (size_t)ndim[0] * sizeof *out);
    *out_ndim = ndim[0];
    s = bgm_layer_add_weight(l, "w", (int64_t[]){0}, 1, BGM_INIT_ZEROS, 1);
    ck_assert_int_eq(s, BGM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "weight 'w' of shape (0,)"));
    s = bgm_layer_add_weight(l, "w", (int64_t[]){2}, 1, (bgm_initializer)99, 1);
    ck_assert_int_eq(s, BGM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bgm_last_error(), "unknown initializer 99"));
    s = bgm_layer_add_weight(l, "w", (int64_t[]){2}, 1, BGM_INIT_ZEROS, 1);
    return s == BGM_OK ? bgm_layer_add_weight(l, "w", (int64_t[]){2}, 1, BGM_INIT_ZEROS, 1)
                       : s;
}

START_TEST(build_errors_of_a_custom_kind_name_the_layer)
{
    bgm_layer_kind_def k;
    bgm_layer *l = NULL;
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "Twice";
    k.build = twice_build;
    k.forward = residual_forward;
    BGM_ASSERT_OK(bgm_layer_kind_register(&k));
    BGM_ASSERT_OK(bgm_layer_create(&l, "Twice"));
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 7));
    BGM_ASSERT_FAILS(bgm_model_add(m, l), BGM_E_INVALID,
                     "layer 'twice' (Twice) already has a weight named 'w'");
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("Twice"));
    register_residual();
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3, 2}, 2, 7));
    BGM_ASSERT_FAILS(bgm_model_add(m, residual(1.0)), BGM_E_SHAPE,
                     "(ScaledResidual): expected input of 1 dimension");
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("ScaledResidual"));
}
END_TEST

/* A two-input kind: y = a * x0 + (1 - a) * x1, a a learnable scalar. */
static bgm_status mix_build(bgm_layer *l, const int64_t *const *in, const int *ndim, int nin,
                            int64_t *out, int *out_ndim, void *user)
{
    if (nin != 2 || ndim[0] != ndim[1] || memcmp(in[0], in[1], (size_t)ndim[0] * 8) != 0)
        return bgm_layer_kind_fail(l, BGM_E_SHAPE, "expected two inputs of one shape");
    memcpy(out, in[0], (size_t)ndim[0] * sizeof *out);
    *out_ndim = ndim[0];
    return bgm_layer_add_weight(l, "a", (int64_t[]){1}, 1, BGM_INIT_ZEROS, 1);
}

static bgm_status mix_forward(bgm_tensor **y, bgm_tape *tape, const bgm_layer *l,
                              bgm_tensor *const *w, int nw, const bgm_tensor *const *x, int nx,
                              int training, void *user)
{
    bgm_tensor *d = NULL, *ad = NULL;
    bgm_status s = bgm_op_sub(&d, tape, x[0], x[1]);
    if (s == BGM_OK)
        s = bgm_op_mul(&ad, tape, d, w[0]);
    if (s == BGM_OK)
        s = bgm_op_add(y, tape, x[1], ad); /* x1 + a (x0 - x1) */
    return s;
}

START_TEST(a_two_input_custom_kind_mixes_its_inputs)
{
    static const float a[4] = {1, 2, 3, 4}, b[4] = {10, 20, 30, 40};
    const float want[4] = {0.25f * 1 + 0.75f * 10, 0.25f * 2 + 0.75f * 20,
                           0.25f * 3 + 0.75f * 30, 0.25f * 4 + 0.75f * 40};
    bgm_layer_kind_def k;
    bgm_graph *g = NULL;
    bgm_node *in[2], *out = NULL, *three[3];
    bgm_model *m = NULL;
    bgm_tensor *ta = bgm_test_tensor((int64_t[]){2, 2}, 2, a);
    bgm_tensor *tb = bgm_test_tensor((int64_t[]){2, 2}, 2, b), *y = NULL;
    bgm_layer *l = NULL;
    float alpha = 0.25f;
    BGM_ASSERT_OK(bgm_layer_kind_init(&k, sizeof k));
    k.name = "Mix";
    k.build = mix_build;
    k.forward = mix_forward;
    k.min_inputs = k.max_inputs = 2;
    BGM_ASSERT_OK(bgm_layer_kind_register(&k));
    BGM_ASSERT_OK(bgm_graph_create(&g));
    in[0] = bgm_test_input(g, (int64_t[]){2}, 1, "a");
    in[1] = bgm_test_input(g, (int64_t[]){2}, 1, "b");
    three[0] = in[0];
    three[1] = in[1];
    three[2] = in[0];
    BGM_ASSERT_OK(bgm_layer_create(&l, "Mix"));
    BGM_ASSERT_FAILS(bgm_layer_call(&out, l, three, 3), BGM_E_INVALID,
                     "(Mix) takes 2 inputs, got 3");
    BGM_ASSERT_OK(bgm_layer_create(&l, "Mix"));
    out = bgm_test_call(l, in, 2);
    BGM_ASSERT_OK(bgm_model_create_graph(&m, in, 2, &out, 1, 1));
    bgm_graph_free(g);
    BGM_ASSERT_OK(bgm_model_set_weights(m, &alpha, 1));
    BGM_ASSERT_OK(bgm_model_predict_multi(&y, 1, m, (const bgm_tensor *[]){ta, tb}, 2, 0));
    bgm_test_assert_close(y, (int64_t[]){2, 2}, 2, want, 1e-6);
    bgm_tensor_free(y);
    bgm_tensor_free(ta);
    bgm_tensor_free(tb);
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_layer_kind_unregister("Mix"));
}
END_TEST

Suite *suite_model_custom_layer(void)
{
    Suite *s = suite_create("model_custom_layer");
    TCase *tc = tcase_create("custom_layer");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, custom_layer_forward_equals_hand_computed_values);
    tcase_add_test(tc, custom_layer_gradients_match_finite_differences);
    tcase_add_test(tc, fit_trains_a_model_holding_a_custom_layer);
    tcase_add_test(tc, saved_custom_layer_loads_bit_exact_when_registered_and_fails_naming_it_when_not);
    tcase_add_test(tc, config_entries_of_every_type_round_trip_through_a_file);
    tcase_add_test(tc, a_json_config_rebuilds_a_registered_kind_with_its_entries);
    tcase_add_test(tc, an_unregistered_kind_lives_until_its_last_layer_goes);
    tcase_add_test(tc, forward_of_the_wrong_shape_fails_naming_the_layer_and_both_shapes);
    tcase_add_test(tc, registration_refuses_duplicates_builtin_names_and_missing_callbacks);
    tcase_add_test(tc, custom_layer_calls_refuse_misuse);
    tcase_add_test(tc, build_errors_of_a_custom_kind_name_the_layer);
    tcase_add_test(tc, a_two_input_custom_kind_mixes_its_inputs);
    suite_add_tcase(s, tc);
    return s;
}
