/* Model files: bgm_model_save / bgm_model_load round trips, resuming fit in
 * a new process bit for bit, atomic saving under SIGKILL, rejection of
 * corrupt and inconsistent files, concurrent inference on a loaded model,
 * and the safetensors weights export / import. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

/* A fresh folder for one test's files; removed (with its files) by cleanup. */
static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bgm_model_save_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static const char *tmp(char *buf, const char *name)
{
    snprintf(buf, 256, "%s/%s", tmpdir, name);
    return buf;
}

static bgm_fit_options quiet(int initial_epoch, int epochs)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.initial_epoch = initial_epoch;
    o.epochs = epochs;
    o.batch_size = 8;
    o.verbose = 0;
    return o;
}

/* Every weight of m, params and state, in a new buffer of *n floats. */
static float *weights_of(const bgm_model *m, int64_t *n)
{
    float *buf;
    *n = bgm_model_num_params(m);
    buf = malloc((size_t)(*n + 1) * sizeof *buf);
    ck_assert_ptr_nonnull(buf);
    BGM_ASSERT_OK(bgm_model_get_weights(m, buf, *n));
    return buf;
}

static void assert_same_weights(const bgm_model *a, const bgm_model *b)
{
    int64_t na, nb;
    float *wa = weights_of(a, &na), *wb = weights_of(b, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert_msg(memcmp(wa, wb, (size_t)na * sizeof *wa) == 0, "weights differ");
    free(wa);
    free(wb);
}

static void assert_same_tensor(const bgm_tensor *a, const bgm_tensor *b)
{
    ck_assert_int_eq(bgm_tensor_numel(a), bgm_tensor_numel(b));
    ck_assert_msg(memcmp(bgm_tensor_data(a), bgm_tensor_data(b), bgm_tensor_nbytes(a)) == 0,
                  "tensors differ");
}

static bgm_tensor *predict(const bgm_model *m, const bgm_tensor *x)
{
    bgm_tensor *y = NULL;
    BGM_ASSERT_OK(bgm_model_predict(&y, m, x, 0));
    return y;
}

/* int32 labels 0..classes-1 from a fixed pattern. */
static bgm_tensor *labels(int64_t n, int classes)
{
    bgm_tensor *y = NULL;
    int32_t *v;
    int64_t i;
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_INT32, &n, 1));
    v = bgm_tensor_data(y);
    for (i = 0; i < n; i++)
        v[i] = (int32_t)((i * 7 + i / 3) % classes);
    return y;
}

static char *read_all(const char *path, long *size)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)*size + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fread(buf, 1, (size_t)*size, f), (size_t)*size);
    fclose(f);
    return buf;
}

static void write_all(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

/* ---- models ----------------------------------------------------------------- */

/* Images (8, 8, 3) through most layer kinds with non-default options. */
static bgm_model *cnn(uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_layer *l;
    bgm_optimizer *o = NULL;
    bgm_lr_schedule *sch = NULL;
    bgm_metric_options mo;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){8, 8, 3}, 3, seed));
    l = bgm_layer_conv2d(4, 3, BGM_ACT_LEAKY_RELU);
    BGM_ASSERT_OK(bgm_layer_set_kernel_size(l, 3, 2));
    BGM_ASSERT_OK(bgm_layer_set_padding(l, BGM_PADDING_SAME));
    BGM_ASSERT_OK(bgm_layer_set_leaky_relu_alpha(l, 0.1f));
    BGM_ASSERT_OK(bgm_layer_set_kernel_initializer(l, BGM_INIT_HE_NORMAL));
    BGM_ASSERT_OK(bgm_layer_set_kernel_l2(l, 1e-3f));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    l = bgm_layer_batch_norm();
    BGM_ASSERT_OK(bgm_layer_set_momentum(l, 0.9f));
    BGM_ASSERT_OK(bgm_layer_set_epsilon(l, 1e-2f));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_max_pool2d(2)));
    l = bgm_layer_avg_pool2d(2);
    BGM_ASSERT_OK(bgm_layer_set_pool_size(l, 2, 1));
    BGM_ASSERT_OK(bgm_layer_set_strides(l, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_flatten()));
    l = bgm_layer_dense(5, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_use_bias(l, 0));
    BGM_ASSERT_OK(bgm_layer_set_name(l, "hidden"));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_activation(BGM_ACT_TANH)));
    l = bgm_layer_dense(3, BGM_ACT_LINEAR);
    BGM_ASSERT_OK(bgm_layer_set_bias_initializer(l, BGM_INIT_ONES));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 1e-2f, 0.85f, 0.99f, 1e-6f));
    BGM_ASSERT_OK(bgm_optimizer_set_clipnorm(o, 5.0f));
    BGM_ASSERT_OK(bgm_lr_schedule_exponential_decay(&sch, 1e-2f, 3, 0.5f, 1));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(o, sch));
    bgm_lr_schedule_free(sch);
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    (bgm_metric_kind[]){BGM_METRIC_ACCURACY,
                                                        BGM_METRIC_PRECISION}, 2));
    BGM_ASSERT_OK(bgm_metric_options_init(&mo, sizeof mo));
    mo.k = 2;
    BGM_ASSERT_OK(bgm_model_add_metric(m, BGM_METRIC_TOP_K_ACCURACY, &mo));
    return m;
}

static bgm_tensor *images(int64_t n, uint64_t seed)
{
    return bgm_test_randn((int64_t[]){n, 8, 8, 3}, 4, seed);
}

/* Token ids (10) through Embedding, Bidirectional LSTM and GRU; RMSprop. */
static bgm_model *sequence_model(uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_layer *l, *inner;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){10}, 1, seed));
    l = bgm_layer_embedding(20, 6);
    BGM_ASSERT_OK(bgm_layer_set_mask_zero(l, 1));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    inner = bgm_layer_lstm(5);
    BGM_ASSERT_OK(bgm_layer_set_return_sequences(inner, 1));
    BGM_ASSERT_OK(bgm_layer_set_dropout(inner, 0.2f));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_bidirectional(inner)));
    l = bgm_layer_gru(4);
    BGM_ASSERT_OK(bgm_layer_set_recurrent_dropout(l, 0.1f));
    BGM_ASSERT_OK(bgm_layer_set_bias_initializer(l, BGM_INIT_RANDOM_UNIFORM));
    BGM_ASSERT_OK(bgm_model_add(m, l));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_SIGMOID)));
    BGM_ASSERT_OK(bgm_optimizer_rmsprop(&o, 1e-2f, 0.8f, 0.5f, 1e-6f));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_BINARY_CROSSENTROPY, 0,
                                    (bgm_metric_kind[]){BGM_METRIC_AUC}, 1));
    return m;
}

static bgm_tensor *token_ids(int64_t n)
{
    bgm_tensor *x = NULL;
    int32_t *v;
    int64_t i, shape[2] = {n, 10};
    BGM_ASSERT_OK(bgm_tensor_zeros(&x, BGM_INT32, shape, 2));
    v = bgm_tensor_data(x);
    for (i = 0; i < n * 10; i++) /* leading zeros are padding */
        v[i] = i % 10 < (i / 10) % 4 ? 0 : (int32_t)(1 + (i * 13) % 19);
    return x;
}

/* The summary as a string, to compare architectures. */
static char *summary(const bgm_model *m)
{
    size_t need = 0;
    char *buf;
    BGM_ASSERT_OK(bgm_model_summary_string(NULL, 0, &need, m));
    buf = malloc(need);
    ck_assert_ptr_nonnull(buf);
    BGM_ASSERT_OK(bgm_model_summary_string(buf, need, NULL, m));
    return buf;
}

static void assert_same_model(const bgm_model *a, const bgm_model *b)
{
    char *sa = summary(a), *sb = summary(b);
    int i;
    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
    assert_same_weights(a, b);
    ck_assert_int_eq(bgm_model_num_metrics(a), bgm_model_num_metrics(b));
    for (i = 0; i < bgm_model_num_metrics(a); i++)
        ck_assert_str_eq(bgm_model_metric_name(a, i), bgm_model_metric_name(b, i));
    ck_assert_int_eq(bgm_model_epochs_completed(a), bgm_model_epochs_completed(b));
    for (i = 0; i < bgm_model_num_weights(a); i++) {
        ck_assert_str_eq(bgm_model_weight_name(a, i), bgm_model_weight_name(b, i));
        ck_assert_int_eq(bgm_model_weight_trainable(a, i), bgm_model_weight_trainable(b, i));
    }
}

static void assert_same_optimizer(const bgm_optimizer *a, const bgm_optimizer *b)
{
    int64_t n = bgm_optimizer_state_size(a), sa = 0, sb = 0;
    float *va = malloc((size_t)(n + 1) * sizeof *va), *vb = malloc((size_t)(n + 1) * sizeof *vb);
    ck_assert_int_eq(bgm_optimizer_get_kind(a), bgm_optimizer_get_kind(b));
    ck_assert_float_eq(bgm_optimizer_get_lr(a), bgm_optimizer_get_lr(b));
    ck_assert_int_eq(n, bgm_optimizer_state_size(b));
    BGM_ASSERT_OK(bgm_optimizer_get_state(a, va, n, &sa));
    BGM_ASSERT_OK(bgm_optimizer_get_state(b, vb, n, &sb));
    ck_assert_int_eq(sa, sb);
    ck_assert_msg(memcmp(va, vb, (size_t)n * sizeof *va) == 0, "optimizer slots differ");
    free(va);
    free(vb);
}

/* ---- round trips ------------------------------------------------------------ */

START_TEST(a_trained_cnn_reloads_with_its_architecture_weights_and_compile_state)
{
    char path[256];
    bgm_model *m = cnn(3), *back = NULL;
    bgm_tensor *x = images(24, 1), *y = labels(24, 3), *p1, *p2;
    bgm_fit_options fo = quiet(0, 2);
    double r1[4], r2[4];
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "cnn.bgm"), 0));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    assert_same_model(m, back);
    ck_assert_int_eq(bgm_model_epochs_completed(back), 2);
    ck_assert_str_eq(bgm_layer_name(bgm_model_layer(back, 6)), "hidden");
    ck_assert_str_eq(bgm_model_metric_name(back, 3), "top_k_accuracy");
    assert_same_optimizer(bgm_model_optimizer(m), bgm_model_optimizer(back));
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(back)), 6);
    p1 = predict(m, x);
    p2 = predict(back, x);
    assert_same_tensor(p1, p2);
    BGM_ASSERT_OK(bgm_model_evaluate(r1, 4, m, x, y, 0));
    BGM_ASSERT_OK(bgm_model_evaluate(r2, 4, back, x, y, 0));
    ck_assert_msg(memcmp(r1, r2, sizeof r1) == 0, "evaluate differs");
    bgm_tensor_free(p1);
    bgm_tensor_free(p2);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(back);
    remove_tmpdir();
}
END_TEST

START_TEST(a_compressed_file_is_smaller_and_loads_the_same)
{
    char plain[256], packed[256];
    bgm_model *m = NULL, *a = NULL, *b = NULL;
    struct stat sp, sc;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){40}, 1, 5));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(300, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm())); /* zeros and ones compress */
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save(m, tmp(plain, "plain.bgm"), 0));
    BGM_ASSERT_OK(bgm_model_save(m, tmp(packed, "packed.bgm"), BGM_ARCHIVE_COMPRESS));
    ck_assert_int_eq(stat(plain, &sp), 0);
    ck_assert_int_eq(stat(packed, &sc), 0);
    ck_assert_int_lt(sc.st_size, sp.st_size);
    BGM_ASSERT_OK(bgm_model_load(&a, plain));
    BGM_ASSERT_OK(bgm_model_load(&b, packed));
    assert_same_model(a, b);
    assert_same_model(m, b);
    ck_assert_ptr_null(bgm_model_optimizer(b)); /* it was never compiled */
    bgm_model_free(m);
    bgm_model_free(a);
    bgm_model_free(b);
    remove_tmpdir();
}
END_TEST

START_TEST(a_sequence_model_reloads_and_predicts_the_same_bits)
{
    char path[256];
    bgm_model *m = sequence_model(9), *back = NULL;
    bgm_tensor *x = token_ids(16), *y = NULL, *p1, *p2;
    bgm_fit_options fo = quiet(0, 1);
    float *yv;
    int64_t i, shape[2] = {16, 1};
    BGM_ASSERT_OK(bgm_tensor_zeros(&y, BGM_FLOAT32, shape, 2));
    yv = bgm_tensor_data(y);
    for (i = 0; i < 16; i++)
        yv[i] = (float)(i % 2);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "seq.bgm"), BGM_ARCHIVE_COMPRESS));
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    assert_same_model(m, back);
    assert_same_optimizer(bgm_model_optimizer(m), bgm_model_optimizer(back));
    ck_assert_str_eq(bgm_layer_kind(bgm_model_layer(back, 1)), "Bidirectional");
    p1 = predict(m, x);
    p2 = predict(back, x);
    assert_same_tensor(p1, p2);
    bgm_tensor_free(p1);
    bgm_tensor_free(p2);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(back);
    remove_tmpdir();
}
END_TEST

START_TEST(a_model_loads_from_memory)
{
    char path[256];
    bgm_model *m = cnn(4), *back = NULL;
    long size;
    char *bytes;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "m.bgm"), 0));
    bytes = read_all(path, &size);
    BGM_ASSERT_OK(bgm_model_load_memory(&back, bytes, (size_t)size));
    assert_same_model(m, back);
    bgm_model_free(back);
    BGM_ASSERT_FAILS(bgm_model_load_memory(&back, bytes, (size_t)size - 1), BGM_E_FORMAT,
                     "truncated");
    ck_assert_msg(strncmp(bgm_last_error(), "bgm_model_load_memory: ", 23) == 0 &&
                  strstr(bgm_last_error(), "<memory>") != NULL, "%s", bgm_last_error());
    ck_assert_ptr_null(back);
    free(bytes);
    bgm_model_free(m);
    remove_tmpdir();
}
END_TEST

/* ---- resuming in a new process --------------------------------------------- */

/* 6 features -> Dense 16 relu -> BatchNorm -> Dropout 0.3 -> Dense 3, Adam. */
static bgm_model *resumable(void)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6}, 1, 1234));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(16, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_batch_norm()));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.3f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, 1e-2f, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1,
                                    (bgm_metric_kind[]){BGM_METRIC_ACCURACY}, 1));
    return m;
}

/* In a child process: load ckpt, fit epochs 2 and 3, save to out. No Check
 * assertions here: the exit code says what failed. */
static int resume_in_child(const char *ckpt, const char *out, const bgm_tensor *x,
                           const bgm_tensor *y)
{
    bgm_model *m = NULL;
    bgm_fit_options fo;
    if (bgm_model_load(&m, ckpt) != BGM_OK)
        return 1;
    fo = quiet(bgm_model_epochs_completed(m), 4);
    fo.shuffle = 1;
    if (fo.initial_epoch != 2)
        return 2;
    if (bgm_model_fit(NULL, m, x, y, &fo) != BGM_OK)
        return 3;
    if (bgm_model_save(m, out, 0) != BGM_OK)
        return 4;
    bgm_model_free(m);
    return 0;
}

START_TEST(resuming_in_a_new_process_matches_an_uninterrupted_fit_bit_for_bit)
{
    char ckpt[256], resumed[256], straight[256];
    bgm_model *m = resumable(), *ref = resumable(), *back = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){50, 6}, 2, 77), *y = labels(50, 3);
    bgm_tensor *p1, *p2;
    bgm_fit_options fo;
    int64_t n2, n4;
    float *w2, *w4;
    long sa, sb;
    char *fa, *fb;
    int status;
    pid_t pid;
    make_tmpdir();
    /* Stops the pool's workers, so the child starts with none of the
     * parent's threads (it starts its own), at the same thread count. */
    BGM_ASSERT_OK(bgm_set_num_threads(2));
    fo = quiet(0, 2);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    w2 = weights_of(m, &n2);
    BGM_ASSERT_OK(bgm_model_save(m, tmp(ckpt, "epoch2.bgm"), 0));
    BGM_ASSERT_OK(bgm_set_num_threads(2));
    pid = bgm_test_fork();
    if (pid == 0) {
        int rc = resume_in_child(ckpt, tmp(resumed, "resumed.bgm"), x, y);
        /* what the child inherited, freed so leak checkers see a clean exit */
        bgm_model_free(m);
        bgm_model_free(ref);
        bgm_tensor_free(x);
        bgm_tensor_free(y);
        free(w2);
        _exit(rc);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the resuming child failed (status %d)", status);
    fo = quiet(0, 4);
    BGM_ASSERT_OK(bgm_model_fit(NULL, ref, x, y, &fo));
    BGM_ASSERT_OK(bgm_model_load(&back, tmp(resumed, "resumed.bgm")));
    ck_assert_int_eq(bgm_model_epochs_completed(back), 4);
    assert_same_weights(ref, back);
    assert_same_optimizer(bgm_model_optimizer(ref), bgm_model_optimizer(back));
    /* Training went on after the checkpoint (the comparison is not vacuous). */
    w4 = weights_of(back, &n4);
    ck_assert_msg(memcmp(w2, w4, (size_t)n2 * sizeof *w2) != 0, "epochs 2-3 changed nothing");
    p1 = predict(ref, x);
    p2 = predict(back, x);
    assert_same_tensor(p1, p2);
    /* Generator included: the two files are the same bytes. */
    BGM_ASSERT_OK(bgm_model_save(ref, tmp(straight, "straight.bgm"), 0));
    fa = read_all(straight, &sa);
    fb = read_all(resumed, &sb);
    ck_assert_int_eq(sa, sb);
    ck_assert_msg(memcmp(fa, fb, (size_t)sa) == 0, "the files differ");
    free(fa);
    free(fb);
    free(w2);
    free(w4);
    bgm_tensor_free(p1);
    bgm_tensor_free(p2);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
    bgm_model_free(ref);
    bgm_model_free(back);
    remove_tmpdir();
}
END_TEST

START_TEST(fit_counts_completed_epochs_for_initial_epoch)
{
    bgm_model *m = resumable();
    bgm_tensor *x = bgm_test_randn((int64_t[]){20, 6}, 2, 7), *y = labels(20, 3);
    bgm_fit_options fo = quiet(0, 3);
    ck_assert_int_eq(bgm_model_epochs_completed(m), 0);
    ck_assert_int_eq(bgm_model_epochs_completed(NULL), 0);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    ck_assert_int_eq(bgm_model_epochs_completed(m), 3);
    fo = quiet(3, 5);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, x, y, &fo));
    ck_assert_int_eq(bgm_model_epochs_completed(m), 5);
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_model_free(m);
}
END_TEST

/* ---- atomic saving ------------------------------------------------------------ */

/* 1 when folder dir holds a non-empty "<base>.tmp-*" file. */
static int temp_file_written(const char *base)
{
    char path[512], prefix[256];
    struct dirent *e;
    struct stat st;
    int found = 0;
    DIR *d = opendir(tmpdir);
    snprintf(prefix, sizeof prefix, "%s.tmp-", base);
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
        found = stat(path, &st) == 0 && st.st_size > 0;
    }
    closedir(d);
    return found;
}

static bgm_model *big_model(uint64_t seed)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2000}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2000, BGM_ACT_LINEAR)));
    return m;
}

START_TEST(a_writer_killed_mid_save_leaves_the_previous_model_intact)
{
    char path[256];
    bgm_model *old = big_model(1), *next = big_model(2), *back = NULL;
    bgm_tensor *x = bgm_test_randn((int64_t[]){2, 2000}, 2, 3), *want = predict(old, x), *got;
    struct timespec pause = {0, 200000};
    int attempt, killed_mid_write = 0, status, polls;
    pid_t pid;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save(old, tmp(path, "model.bgm"), 0));
    BGM_ASSERT_OK(bgm_set_num_threads(2));
    for (attempt = 0; attempt < 10 && !killed_mid_write; attempt++) {
        pid = bgm_test_fork();
        if (pid == 0)
            _exit(bgm_model_save(next, path, 0) == BGM_OK ? 0 : 1);
        for (polls = 0; polls < 200000 && !temp_file_written("model.bgm"); polls++)
            if (waitpid(pid, &status, WNOHANG) == pid)
                break;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        /* Killed before the rename when its temporary file is still there. */
        killed_mid_write = WIFSIGNALED(status) && temp_file_written("model.bgm");
        nanosleep(&pause, NULL);
        if (!killed_mid_write) { /* it finished first: put the old model back */
            BGM_ASSERT_OK(bgm_model_save(old, path, 0));
        }
    }
    ck_assert_msg(killed_mid_write, "never caught the writer mid-save");
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    got = predict(back, x);
    assert_same_tensor(want, got);
    assert_same_weights(old, back);
    bgm_tensor_free(want);
    bgm_tensor_free(got);
    bgm_tensor_free(x);
    bgm_model_free(old);
    bgm_model_free(next);
    bgm_model_free(back);
    remove_tmpdir(); /* the stray temporary file included */
}
END_TEST

/* ---- inference from several threads ---------------------------------------- */

typedef struct predict_job {
    const bgm_model *m;
    const bgm_tensor *x;
    bgm_tensor *y;
    bgm_status s;
} predict_job;

static void *predict_thread(void *arg)
{
    predict_job *j = arg;
    int i;
    for (i = 0; i < 5 && j->s == BGM_OK; i++) {
        bgm_tensor_free(j->y);
        j->y = NULL;
        j->s = bgm_model_predict(&j->y, j->m, j->x, 8);
    }
    return NULL;
}

START_TEST(a_loaded_model_predicts_from_four_threads_as_from_one)
{
    char path[256];
    bgm_model *m = cnn(11), *back = NULL;
    bgm_tensor *x = images(40, 5), *want;
    pthread_t th[4];
    predict_job jobs[4];
    int i;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "m.bgm"), 0));
    bgm_model_free(m);
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    BGM_ASSERT_OK(bgm_model_predict(&want, back, x, 8));
    for (i = 0; i < 4; i++) {
        jobs[i].m = back;
        jobs[i].x = x;
        jobs[i].y = NULL;
        jobs[i].s = BGM_OK;
        ck_assert_int_eq(pthread_create(&th[i], NULL, predict_thread, &jobs[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert_int_eq(jobs[i].s, BGM_OK);
        assert_same_tensor(want, jobs[i].y);
        bgm_tensor_free(jobs[i].y);
    }
    bgm_tensor_free(want);
    bgm_tensor_free(x);
    bgm_model_free(back);
    remove_tmpdir();
}
END_TEST

/* ---- bad calls --------------------------------------------------------------- */

START_TEST(bad_arguments_fail_with_a_message)
{
    char path[256];
    bgm_model *m = cnn(1), *out = (bgm_model *)&out;
    make_tmpdir();
    tmp(path, "m.bgm");
    BGM_ASSERT_FAILS(bgm_model_save(NULL, path, 0), BGM_E_INVALID, "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_save(m, NULL, 0), BGM_E_INVALID, "'path' is NULL");
    BGM_ASSERT_FAILS(bgm_model_save(m, path, 6), BGM_E_INVALID, "unknown flag bits 0x6");
    BGM_ASSERT_FAILS(bgm_model_save(m, "/nonexistent-dir/m.bgm", 0), BGM_E_IO,
                     "/nonexistent-dir/m.bgm");
    BGM_ASSERT_FAILS(bgm_model_load(NULL, path), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_model_load(&out, NULL), BGM_E_INVALID, "'path' is NULL");
    ck_assert_ptr_null(out);
    BGM_ASSERT_FAILS(bgm_model_load(&out, path), BGM_E_IO, "m.bgm");
    BGM_ASSERT_FAILS(bgm_model_load_memory(NULL, "", 0), BGM_E_INVALID, "'out' is NULL");
    BGM_ASSERT_FAILS(bgm_model_load_memory(&out, NULL, 5), BGM_E_INVALID,
                     "'data' is NULL with size 5");
    BGM_ASSERT_FAILS(bgm_model_load_memory(&out, NULL, 0), BGM_E_FORMAT, "<memory>");
    BGM_ASSERT_FAILS(bgm_model_save_weights_safetensors(NULL, path), BGM_E_INVALID,
                     "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_save_weights_safetensors(m, NULL), BGM_E_INVALID,
                     "'path' is NULL");
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(NULL, path), BGM_E_INVALID,
                     "'m' is NULL");
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(m, NULL), BGM_E_INVALID,
                     "'path' is NULL");
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(m, path), BGM_E_IO, "m.bgm");
    bgm_model_free(m);
    remove_tmpdir();
}
END_TEST

static float halving(int64_t step, float lr, void *ctx)
{
    return lr * 0.5f;
}

START_TEST(a_callback_schedule_cannot_be_saved)
{
    char path[256];
    bgm_model *m = cnn(1);
    bgm_lr_schedule *sch = NULL;
    struct stat st;
    BGM_ASSERT_OK(bgm_lr_schedule_callback(&sch, halving, NULL));
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(bgm_model_optimizer(m), sch));
    make_tmpdir();
    BGM_ASSERT_FAILS(bgm_model_save(m, tmp(path, "m.bgm"), 0), BGM_E_UNSUPPORTED,
                     "schedule is a C callback");
    ck_assert_int_ne(stat(path, &st), 0); /* nothing written */
    BGM_ASSERT_OK(bgm_optimizer_set_schedule(bgm_model_optimizer(m), NULL));
    BGM_ASSERT_OK(bgm_model_save(m, path, 0));
    bgm_lr_schedule_free(sch);
    bgm_model_free(m);
    remove_tmpdir();
}
END_TEST

/* ---- corrupt and inconsistent files ---------------------------------------- */

/* Writes a model file, applies f to its bytes, and expects load to fail. */
static void expect_rejected_bytes(void (*f)(char *bytes, long *size), bgm_status want,
                                  const char *needle)
{
    char path[256];
    bgm_model *m = NULL, *back = (bgm_model *)&m;
    long size;
    char *bytes;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "m.bgm"), 0));
    bytes = read_all(path, &size);
    f(bytes, &size);
    write_all(path, bytes, (size_t)size);
    BGM_ASSERT_FAILS(bgm_model_load(&back, path), want, needle);
    ck_assert_ptr_null(back);
    ck_assert_msg(strstr(bgm_last_error(), "bgm_model_load") != NULL, "%s", bgm_last_error());
    free(bytes);
    bgm_model_free(m);
}

static void spoil_magic(char *b, long *size) { b[0] = 'X'; }
static void newer_major(char *b, long *size) { b[4] = 2; }
static void flip_data_byte(char *b, long *size) { b[*size - 5] ^= 0x40; }
static void truncate_file(char *b, long *size) { *size -= 100; }

START_TEST(corrupt_files_are_rejected_with_the_reason)
{
    make_tmpdir();
    expect_rejected_bytes(spoil_magic, BGM_E_FORMAT, "magic");
    expect_rejected_bytes(newer_major, BGM_E_UNSUPPORTED, "version 2");
    expect_rejected_bytes(flip_data_byte, BGM_E_FORMAT, "CRC mismatch");
    expect_rejected_bytes(truncate_file, BGM_E_FORMAT, "truncated");
    remove_tmpdir();
}
END_TEST

/* A copy of the archive at path without the metadata key and tensor named
 * skip (either may be NULL), for changed files. */

/* Saves a and expects bgm_model_load to fail with want and needle. */
static void expect_rejected(bgm_archive *a, bgm_status want, const char *needle)
{
    char path[256];
    bgm_model *back = NULL;
    BGM_ASSERT_OK(bgm_archive_save(a, tmp(path, "changed.bgm"), 0));
    bgm_archive_free(a);
    BGM_ASSERT_FAILS(bgm_model_load(&back, path), want, needle);
    ck_assert_ptr_null(back);
}

START_TEST(inconsistent_model_files_are_rejected_naming_the_problem)
{
    char path[256], copy[256];
    bgm_model *m = NULL, *back = NULL;
    bgm_optimizer *o = NULL;
    bgm_tensor *const *params = NULL;
    int nparams = 0;
    bgm_archive *a;
    bgm_tensor *t;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){2}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.5f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(2, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_optimizer_sgd(&o, 0.1f, 0.9f, 0));
    BGM_ASSERT_OK(bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_OK(bgm_model_trainable_params(&params, &nparams, m));
    BGM_ASSERT_OK(bgm_optimizer_build(o, params, nparams)); /* SGD momentum: slots */
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "m.bgm"), 0));
    /* the unchanged copy loads: the helper itself is sound */
    a = bgm_test_archive_copy_without(path, NULL);
    BGM_ASSERT_OK(bgm_archive_save(a, tmp(copy, "copy.bgm"), 0));
    bgm_archive_free(a);
    BGM_ASSERT_OK(bgm_model_load(&back, copy));
    assert_same_model(m, back);
    bgm_model_free(back);

    /* a kernel whose shape does not match the layer's configuration */
    a = bgm_test_archive_copy_without(path, "dense/kernel");
    t = bgm_test_randn((int64_t[]){3, 8}, 2, 1);
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "dense/kernel", t));
    bgm_tensor_free(t);
    expect_rejected(a, BGM_E_FORMAT, "layer 0 (Dense): tensor 'dense/kernel' is "
                                     "float32 (3, 8), but the layer's configuration needs "
                                     "float32 (2, 8)");
    /* a configuration that does not match its kernel */
    a = bgm_test_archive_copy_without(path, "layers.2.units");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "layers.2.units", 5));
    expect_rejected(a, BGM_E_FORMAT, "needs float32 (8, 5)");
    /* unknown layer kind */
    a = bgm_test_archive_copy_without(path, "layers.1.kind");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "layers.1.kind", "Transformer"));
    expect_rejected(a, BGM_E_FORMAT, "layer 1: unknown layer kind 'Transformer'");
    /* missing weight */
    a = bgm_test_archive_copy_without(path, "dense_1/bias");
    expect_rejected(a, BGM_E_FORMAT, "missing weight tensor 'dense_1/bias'");
    /* a tensor no layer owns */
    a = bgm_test_archive_copy_without(path, NULL);
    t = bgm_test_randn((int64_t[]){2}, 1, 1);
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "dropout/kernel", t));
    bgm_tensor_free(t);
    expect_rejected(a, BGM_E_FORMAT, "tensor 'dropout/kernel' belongs to no weight");
    /* missing key, wrong type, out-of-range value, unknown enum name */
    a = bgm_test_archive_copy_without(path, "layers.0.activation");
    expect_rejected(a, BGM_E_FORMAT, "missing key 'layers.0.activation'");
    a = bgm_test_archive_copy_without(path, "model.seed");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "model.seed", "42"));
    expect_rejected(a, BGM_E_FORMAT, "key 'model.seed' holds a string, expected an int64");
    a = bgm_test_archive_copy_without(path, "layers.1.rate");
    BGM_ASSERT_OK(bgm_archive_add_float64(a, "layers.1.rate", 1.5));
    expect_rejected(a, BGM_E_FORMAT, "layer 1: bgm_layer_dropout: rate = 1.5");
    a = bgm_test_archive_copy_without(path, "layers.0.activation");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "layers.0.activation", "swish"));
    expect_rejected(a, BGM_E_FORMAT, "key 'layers.0.activation' = 'swish' is not a known");
    a = bgm_test_archive_copy_without(path, "layers.0.units");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "layers.0.units", (int64_t)1 << 40));
    expect_rejected(a, BGM_E_FORMAT, "key 'layers.0.units' = 1099511627776 is outside");
    a = bgm_test_archive_copy_without(path, "model.num_layers");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "model.num_layers", 4));
    expect_rejected(a, BGM_E_FORMAT, "missing key 'layers.3.kind'");
    a = bgm_test_archive_copy_without(path, "model.rng_state");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "model.rng_state",
                                              (int64_t[]){0, 0, 0, 0, 0, 0}, 6));
    expect_rejected(a, BGM_E_FORMAT, "model.rng_state is all zeros");
    /* the optimizer's slots do not fit the model */
    a = bgm_test_archive_copy_without(path, "optimizer/slots");
    t = bgm_test_randn((int64_t[]){7}, 1, 1);
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "optimizer/slots", t));
    bgm_tensor_free(t);
    expect_rejected(a, BGM_E_FORMAT, "tensor 'optimizer/slots' has shape (7,), the "
                                     "optimizer's state is float32 (42)");
    a = bgm_test_archive_copy_without(path, "optimizer/slots");
    expect_rejected(a, BGM_E_FORMAT, "missing tensor 'optimizer/slots'");
    a = bgm_test_archive_copy_without(path, "optimizer.kind");
    BGM_ASSERT_OK(bgm_archive_add_string(a, "optimizer.kind", "lbfgs"));
    expect_rejected(a, BGM_E_FORMAT, "key 'optimizer.kind' = 'lbfgs'");
    /* a newer model layout, and an archive that is no model */
    a = bgm_test_archive_copy_without(path, "model.format_version");
    BGM_ASSERT_OK(bgm_archive_add_int64(a, "model.format_version", 3));
    expect_rejected(a, BGM_E_UNSUPPORTED, "model format version 3 is newer");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_string(a, "note", "just tensors"));
    expect_rejected(a, BGM_E_FORMAT, "not a model file");
    bgm_model_free(m);
    remove_tmpdir();
}
END_TEST

START_TEST(a_layer_too_big_for_its_input_fails_before_allocating)
{
    char path[256];
    bgm_model *m = NULL;
    bgm_archive *a;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){6, 6, 1}, 3, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_conv2d(2, 3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_save(m, tmp(path, "m.bgm"), 0));
    /* a 7x7 VALID window over a 6x6 input */
    a = bgm_test_archive_copy_without(path, "layers.0.kernel_size");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "layers.0.kernel_size",
                                              (int64_t[]){7, 7}, 2));
    expect_rejected(a, BGM_E_FORMAT, "is larger than the input");
    /* an absurd input shape whose flattening would overflow */
    a = bgm_test_archive_copy_without(path, "nodes.0.shape");
    BGM_ASSERT_OK(bgm_archive_add_int64_array(a, "nodes.0.shape",
                                              (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40,
                                                          1}, 3));
    expect_rejected(a, BGM_E_FORMAT, "more than 2^63 elements");
    bgm_model_free(m);
    remove_tmpdir();
}
END_TEST

/* ---- safetensors ------------------------------------------------------------- */

START_TEST(safetensors_weights_use_pytorch_names_and_layouts)
{
    char path[256];
    bgm_model *m = cnn(21), *other = cnn(22);
    bgm_archive *a = NULL;
    const bgm_tensor *t = NULL;
    const float *k, *w;
    bgm_tensor *p1, *p2, *x = images(6, 2);
    int64_t kh, kw, c, f;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save_weights_safetensors(m, tmp(path, "w.safetensors")));
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&a, path));
    /* Sequential indices: conv 0, its LeakyReLU 1, batch norm 2, pools 3 and 4,
     * dropout 5, flatten 6, hidden Linear 7, Tanh 8, Linear 9. */
    ck_assert_int_eq(bgm_archive_num_tensors(a), 10);
    ck_assert_str_eq(bgm_archive_tensor_name(a, 0), "0.weight");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 1), "0.bias");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 2), "2.weight");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 4), "2.running_mean");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 5), "2.running_var");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 6), "2.num_batches_tracked");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 7), "7.weight");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 8), "9.weight");
    ck_assert_str_eq(bgm_archive_tensor_name(a, 9), "9.bias");
    /* conv kernel (KH, KW, C, F) = (3, 2, 3, 4) as (F, C, KH, KW) */
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "0.weight"));
    ck_assert_int_eq(bgm_tensor_ndim(t), 4);
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 4);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 3);
    ck_assert_int_eq(bgm_tensor_dim(t, 2), 3);
    ck_assert_int_eq(bgm_tensor_dim(t, 3), 2);
    k = bgm_tensor_data(bgm_model_weight(m, 0));
    w = bgm_tensor_data(t);
    for (kh = 0; kh < 3; kh++)
        for (kw = 0; kw < 2; kw++)
            for (c = 0; c < 3; c++)
                for (f = 0; f < 4; f++)
                    ck_assert_float_eq(w[((f * 3 + c) * 3 + kh) * 2 + kw],
                                       k[((kh * 2 + kw) * 3 + c) * 4 + f]);
    /* the Dense after Flatten of (3, 4, 4): in features reordered (H, W, C) -> (C, H, W) */
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "7.weight"));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 5);
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 48);
    k = bgm_tensor_data(bgm_model_weight(m, 6)); /* hidden/kernel (48, 5) */
    w = bgm_tensor_data(t);
    /* feature (h=1, w=2, c=3): ours (1*4+2)*4+3 = 27, torch (3*3+1)*4+2 = 42 */
    ck_assert_float_eq(w[4 * 48 + 42], k[27 * 5 + 4]);
    /* back into a model with other weights: the same predictions */
    BGM_ASSERT_OK(bgm_model_load_weights_safetensors(other, path));
    assert_same_weights(m, other);
    p1 = predict(m, x);
    p2 = predict(other, x);
    assert_same_tensor(p1, p2);
    bgm_tensor_free(p1);
    bgm_tensor_free(p2);
    bgm_tensor_free(x);
    bgm_archive_free(a);
    bgm_model_free(m);
    bgm_model_free(other);
    remove_tmpdir();
}
END_TEST

START_TEST(safetensors_round_trip_recurrent_layers)
{
    char path[256];
    bgm_model *m = sequence_model(5), *other = sequence_model(6);
    bgm_archive *a = NULL;
    const bgm_tensor *t = NULL;
    const float *b, *gru;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_save_weights_safetensors(m, tmp(path, "seq.safetensors")));
    BGM_ASSERT_OK(bgm_archive_load_safetensors(&a, path));
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "1.weight_ih_l0_reverse"));
    ck_assert_int_eq(bgm_tensor_dim(t, 0), 20); /* 4 gates x 5 units */
    ck_assert_int_eq(bgm_tensor_dim(t, 1), 6);
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "1.bias_hh_l0"));
    b = bgm_tensor_data(t);
    ck_assert_float_eq(b[0], 0.0f); /* an LSTM's one bias goes to bias_ih */
    /* GRU: the library's z, r, n blocks are PyTorch's r, z, n */
    BGM_ASSERT_OK(bgm_archive_find_tensor(&t, a, "2.bias_ih_l0"));
    ck_assert_str_eq(bgm_model_weight_name(m, 9), "gru/bias");
    gru = bgm_tensor_data(bgm_model_weight(m, 9)); /* (2, 12) */
    ck_assert_float_eq(((const float *)bgm_tensor_data(t))[0], gru[4]);
    ck_assert_float_eq(((const float *)bgm_tensor_data(t))[4], gru[0]);
    ck_assert_float_ne(gru[0], gru[4]);
    BGM_ASSERT_OK(bgm_model_load_weights_safetensors(other, path));
    assert_same_weights(m, other);
    bgm_archive_free(a);
    bgm_model_free(m);
    bgm_model_free(other);
    remove_tmpdir();
}
END_TEST

START_TEST(safetensors_import_rejects_another_architecture_and_keeps_the_weights)
{
    char path[256], bad[256];
    bgm_model *m = cnn(1), *small = NULL;
    bgm_archive *a = NULL;
    bgm_tensor *t;
    int64_t n1, n2;
    float *before, *after;
    make_tmpdir();
    BGM_ASSERT_OK(bgm_model_create(&small, (int64_t[]){4}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(small, bgm_layer_dense(3, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_save_weights_safetensors(small, tmp(path, "small.safetensors")));
    before = weights_of(m, &n1);
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(m, path), BGM_E_SHAPE,
                     "tensor '0.weight' has shape (3, 4), weight 'conv2d/kernel' needs "
                     "(4, 3, 3, 2)");
    after = weights_of(m, &n2);
    ck_assert_msg(memcmp(before, after, (size_t)n1 * sizeof *before) == 0, "m changed");
    BGM_ASSERT_OK(bgm_archive_create(&a));
    t = bgm_test_randn((int64_t[]){3, 4}, 2, 1);
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "0.weight", t));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "5.weight", t));
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, tmp(bad, "extra.safetensors")));
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(small, bad), BGM_E_FORMAT,
                     "tensor '5.weight' belongs to no weight");
    bgm_archive_free(a);
    BGM_ASSERT_OK(bgm_archive_create(&a));
    BGM_ASSERT_OK(bgm_archive_add_tensor(a, "0.weight", t));
    BGM_ASSERT_OK(bgm_archive_save_safetensors(a, bad));
    BGM_ASSERT_FAILS(bgm_model_load_weights_safetensors(small, bad), BGM_E_FORMAT,
                     "no tensor '0.bias' for weight 'dense/bias' of layer 0 (Dense)");
    bgm_tensor_free(t);
    bgm_archive_free(a);
    free(before);
    free(after);
    bgm_model_free(m);
    bgm_model_free(small);
    remove_tmpdir();
}
END_TEST

Suite *suite_model_save(void)
{
    Suite *s = suite_create("model_save");
    TCase *tc = tcase_create("files");
    TCase *slow = tcase_create("processes");
    tcase_add_test(tc, a_trained_cnn_reloads_with_its_architecture_weights_and_compile_state);
    tcase_add_test(tc, a_compressed_file_is_smaller_and_loads_the_same);
    tcase_add_test(tc, a_sequence_model_reloads_and_predicts_the_same_bits);
    tcase_add_test(tc, a_model_loads_from_memory);
    tcase_add_test(tc, fit_counts_completed_epochs_for_initial_epoch);
    tcase_add_test(tc, a_loaded_model_predicts_from_four_threads_as_from_one);
    tcase_add_test(tc, bad_arguments_fail_with_a_message);
    tcase_add_test(tc, a_callback_schedule_cannot_be_saved);
    tcase_add_test(tc, corrupt_files_are_rejected_with_the_reason);
    tcase_add_test(tc, inconsistent_model_files_are_rejected_naming_the_problem);
    tcase_add_test(tc, a_layer_too_big_for_its_input_fails_before_allocating);
    tcase_add_test(tc, safetensors_weights_use_pytorch_names_and_layouts);
    tcase_add_test(tc, safetensors_round_trip_recurrent_layers);
    tcase_add_test(tc, safetensors_import_rejects_another_architecture_and_keeps_the_weights);
    BGM_TEST_SLOW(tc, 60);
    tcase_add_test(slow, resuming_in_a_new_process_matches_an_uninterrupted_fit_bit_for_bit);
    tcase_add_test(slow, a_writer_killed_mid_save_leaves_the_previous_model_intact);
    BGM_TEST_SLOW(slow, 120);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, slow);
    return s;
}
