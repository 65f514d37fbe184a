/* One versioning scheme for every options struct (docs/abi.md): a size_t
 * size first, set by an init function taking the caller's sizeof. A program
 * compiled against an older, shorter struct keeps working after fields are
 * appended, and the library never reads or writes past the caller's size. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

/* bgm_fit_options as it was before its last appended field,
 * validation_sample_weight: what an older program was compiled with. */
typedef struct old_fit_options {
    size_t size;
    int epochs;
    int64_t batch_size;
    int shuffle;
    double validation_split;
    const bgm_tensor *validation_x;
    const bgm_tensor *validation_y;
    int initial_epoch;
    int verbose;
    bgm_write_fn output;
    void *output_ctx;
    bgm_callback *const *callbacks;
    int num_callbacks;
    const int *cancel;
    const bgm_tensor *const *validation_xs;
    int num_validation_xs;
    const bgm_tensor *const *validation_ys;
    int num_validation_ys;
    const bgm_tensor *sample_weight;
    const float *class_weight;
    int num_class_weights;
} old_fit_options;

/* The old struct followed by bytes that are not the caller's. */
typedef struct guarded_fit_options {
    old_fit_options o;
    unsigned char guard[64];
} guarded_fit_options;

static void assert_guard_intact(const unsigned char *g, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        ck_assert_msg(g[i] == 0xAB, "byte %zu past the caller's struct was written", i);
}

static bgm_model *regressor(void)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 7));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    return m;
}

START_TEST(a_program_built_with_the_shorter_fit_options_still_fits)
{
    bgm_tensor *x = bgm_test_randn((int64_t[]){16, 4}, 2, 1);
    bgm_tensor *y = bgm_test_randn((int64_t[]){16, 2}, 2, 2);
    bgm_tensor *vx = bgm_test_randn((int64_t[]){8, 4}, 2, 3);
    bgm_tensor *vy = bgm_test_randn((int64_t[]){8, 2}, 2, 4);
    bgm_model *old_m = regressor(), *new_m = regressor();
    bgm_history *old_h = NULL, *new_h = NULL;
    guarded_fit_options g;
    bgm_fit_options full;
    const double *a, *b;
    int e;
    ck_assert_uint_lt(sizeof(old_fit_options), sizeof(bgm_fit_options));
    memset(&g, 0xAB, sizeof g);
    /* The init fills only the caller's bytes, with the defaults. */
    BGM_ASSERT_OK(bgm_fit_options_init((bgm_fit_options *)&g.o, sizeof g.o));
    assert_guard_intact(g.guard, sizeof g.guard);
    ck_assert_uint_eq(g.o.size, sizeof(old_fit_options));
    ck_assert_int_eq(g.o.epochs, 1);
    ck_assert_int_eq(g.o.batch_size, 32);
    g.o.epochs = 3;
    g.o.batch_size = 4;
    g.o.verbose = 0;
    g.o.validation_x = vx;
    g.o.validation_y = vy;
    /* The guard bytes sit where validation_sample_weight is now: fit must
     * take its default (NULL) instead of reading them. */
    BGM_ASSERT_OK(bgm_model_fit(&old_h, old_m, x, y, (const bgm_fit_options *)&g.o));
    assert_guard_intact(g.guard, sizeof g.guard);
    /* The same fit by a program built against the current header. */
    BGM_ASSERT_OK(bgm_fit_options_init(&full, sizeof full));
    full.epochs = 3;
    full.batch_size = 4;
    full.verbose = 0;
    full.validation_x = vx;
    full.validation_y = vy;
    BGM_ASSERT_OK(bgm_model_fit(&new_h, new_m, x, y, &full));
    a = bgm_history_values(old_h, "val_loss");
    b = bgm_history_values(new_h, "val_loss");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    for (e = 0; e < 3; e++)
        ck_assert_msg(a[e] == b[e], "epoch %d: val_loss %.17g vs %.17g", e, a[e], b[e]);
    bgm_history_free(old_h);
    bgm_history_free(new_h);
    bgm_model_free(old_m);
    bgm_model_free(new_m);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_tensor_free(vx);
    bgm_tensor_free(vy);
}
END_TEST

/* The structs that used to have a void init and a struct_size field now
 * follow the same scheme through *_init_v2; the old init keeps working. */
START_TEST(csv_options_follow_the_size_scheme_and_the_old_init_still_works)
{
    struct {
        bgm_csv_options o;
        unsigned char guard[64];
    } g;
    bgm_csv_options o;
    bgm_dataset *ds = NULL;
    const char *path;
    bgm_test_tmpdir_create("abi");
    path = bgm_test_path("t.csv");
    bgm_test_write_file(path, "a;b;label\n1;2;0\n3;4;1\n", 22);
    /* The old entry point: defaults, size = the first version's, nothing past it. */
    memset(&g, 0xAB, sizeof g);
    bgm_csv_options_init(&g.o);
    assert_guard_intact(g.guard, sizeof g.guard);
    ck_assert_uint_eq(g.o.size, sizeof g.o);
    ck_assert_uint_eq(g.o.struct_size, g.o.size); /* the former name of the field */
    ck_assert_int_eq(g.o.has_header, 1);
    ck_assert_int_eq(g.o.delimiter, ',');
    bgm_csv_options_init(NULL);
    /* The new one, and what it refuses. */
    BGM_ASSERT_OK(bgm_csv_options_init_v2(&o, sizeof o));
    ck_assert_uint_eq(o.size, sizeof o);
    ck_assert_int_eq(o.label_column, -1);
    o.delimiter = ';';
    BGM_ASSERT_OK(bgm_dataset_load_csv(&ds, path, &o));
    ck_assert_int_eq(bgm_dataset_size(ds), 2);
    bgm_dataset_free(ds);
    ds = NULL;
    BGM_ASSERT_FAILS(bgm_csv_options_init_v2(NULL, sizeof o), BGM_E_INVALID, "opts is NULL");
    BGM_ASSERT_FAILS(bgm_csv_options_init_v2(&o, sizeof(size_t)), BGM_E_INVALID,
                     "smaller than any version of bgm_csv_options");
    BGM_ASSERT_FAILS(bgm_csv_options_init_v2(&o, sizeof o + 8), BGM_E_UNSUPPORTED,
                     "built against a newer header");
    /* Readers check the size field the same way. */
    BGM_ASSERT_OK(bgm_csv_options_init_v2(&o, sizeof o));
    o.size = sizeof o + 8;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, path, &o), BGM_E_UNSUPPORTED,
                     "bgm_dataset_load_csv: options size (struct_size)");
    o.struct_size = 4;
    BGM_ASSERT_FAILS(bgm_dataset_load_csv(&ds, path, &o), BGM_E_INVALID,
                     "bgm_csv_options_init_v2(&opts, sizeof opts)");
    ck_assert_ptr_null(ds);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(text_and_word2vec_options_have_a_sized_init)
{
    bgm_text_clean_options c;
    bgm_vocab_options v;
    bgm_text_dataset_options d;
    bgm_word2vec_options w;
    BGM_ASSERT_OK(bgm_text_clean_options_init_v2(&c, sizeof c));
    ck_assert_uint_eq(c.size, sizeof c);
    ck_assert_int_eq(c.lowercase, 1);
    BGM_ASSERT_OK(bgm_vocab_options_init_v2(&v, sizeof v));
    ck_assert_uint_eq(v.size, sizeof v);
    ck_assert_int_eq(v.min_count, 1);
    BGM_ASSERT_OK(bgm_text_dataset_options_init_v2(&d, sizeof d));
    ck_assert_uint_eq(d.size, sizeof d);
    ck_assert_int_eq(d.padding, BGM_PAD_PRE);
    BGM_ASSERT_OK(bgm_word2vec_options_init_v2(&w, sizeof w));
    ck_assert_uint_eq(w.size, sizeof w);
    ck_assert_int_eq(w.vector_size, 100);
    BGM_ASSERT_FAILS(bgm_word2vec_options_init_v2(&w, 1), BGM_E_INVALID,
                     "bgm_word2vec_options_init_v2: options size (struct_size) = 1");
    BGM_ASSERT_FAILS(bgm_vocab_options_init_v2(NULL, sizeof v), BGM_E_INVALID, "NULL");
}
END_TEST

Suite *suite_abi_options(void)
{
    Suite *s = suite_create("abi_options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, a_program_built_with_the_shorter_fit_options_still_fits);
    tcase_add_test(tc, csv_options_follow_the_size_scheme_and_the_old_init_still_works);
    tcase_add_test(tc, text_and_word2vec_options_have_a_sized_init);
    suite_add_tcase(s, tc);
    return s;
}
