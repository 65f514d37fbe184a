/* Crash-safe files (docs/reliability.md): every writer of the library —
 * model files, safetensors weights, archives, the checkpoint callback —
 * killed at 100 random points, run out of disk space or pointed at a
 * read-only folder leaves the previous file whole; files that claim huge
 * tensors are refused before anything near that size is allocated. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* ---- writers -------------------------------------------------------------- */

enum {
    W_MODEL,           /* bgm_model_save */
    W_WEIGHTS,         /* bgm_model_save_weights_safetensors */
    W_ARCHIVE,         /* bgm_archive_save_safetensors of the weights */
    W_CHECKPOINT,      /* one fit epoch with bgm_callback_model_checkpoint */
    W_CHECKPOINT_WEIGHTS,
    N_WRITERS
};

static const char *const writer_names[N_WRITERS] = {
    "bgm_model_save", "bgm_model_save_weights_safetensors", "bgm_archive_save_safetensors",
    "model checkpoint", "weights-only model checkpoint"};

static const char *writer_file(int w)
{
    return w == W_MODEL || w == W_CHECKPOINT ? "m.bgm" : "m.safetensors";
}

/* in features -> Dense(in) -> Dense(3), compiled, weights from seed; NULL
 * when that fails. Calls no Check function, so a forked child may use it. */
static bgm_model *model_or_null(int64_t in, uint64_t seed)
{
    bgm_model *m = NULL;
    bgm_optimizer *o = NULL;
    bgm_status s = bgm_model_create(&m, &in, 1, seed);
    if (s == BGM_OK)
        s = bgm_model_add(m, bgm_layer_dense(in, BGM_ACT_RELU));
    if (s == BGM_OK)
        s = bgm_model_add(m, bgm_layer_dense(3, BGM_ACT_LINEAR));
    if (s == BGM_OK)
        s = bgm_optimizer_adam(&o, 1e-3f, BGM_ADAM_BETA1, BGM_ADAM_BETA2, BGM_ADAM_EPSILON);
    if (s == BGM_OK)
        s = bgm_model_compile(m, o, BGM_LOSS_MSE, 0, NULL, 0);
    if (s != BGM_OK) {
        bgm_model_free(m);
        return NULL;
    }
    return m;
}

/* model_or_null, failing the test when it fails. */
static bgm_model *model(int64_t in, uint64_t seed)
{
    bgm_model *m = model_or_null(in, seed);
    ck_assert_msg(m != NULL, "building the model: %s", bgm_last_error());
    return m;
}

/* One fit epoch of m (in features) on 4 samples with a checkpoint to path. */
static bgm_status fit_with_checkpoint(bgm_model *m, int64_t in, const char *path,
                                      int weights_only)
{
    bgm_callback *cb = NULL;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_fit_options fo;
    bgm_status s = bgm_callback_model_checkpoint(&cb, path, "loss", 0, 0, weights_only, NULL,
                                                 0, NAN);
    if (s == BGM_OK)
        s = bgm_fit_options_init(&fo, sizeof fo);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(&x, BGM_FLOAT32, (int64_t[]){4, in}, 2);
    if (s == BGM_OK)
        s = bgm_tensor_zeros(&y, BGM_FLOAT32, (int64_t[]){4, 3}, 2);
    if (s == BGM_OK) {
        fo.epochs = 1;
        fo.batch_size = 4;
        fo.verbose = 0;
        fo.callbacks = &cb;
        fo.num_callbacks = 1;
        s = bgm_model_fit(NULL, m, x, y, &fo);
    }
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    bgm_callback_free(cb);
    return s;
}

/* Every weight of m as one float32 tensor "weights" in a safetensors file. */
static bgm_status save_archive(const bgm_model *m, const char *path)
{
    int64_t n = bgm_model_num_params(m);
    bgm_tensor *t = NULL;
    bgm_archive *a = NULL;
    bgm_status s = bgm_tensor_zeros(&t, BGM_FLOAT32, &n, 1);
    if (s == BGM_OK)
        s = bgm_model_get_weights(m, bgm_tensor_data(t), n);
    if (s == BGM_OK)
        s = bgm_archive_create(&a);
    if (s == BGM_OK)
        s = bgm_archive_add_tensor(a, "weights", t);
    if (s == BGM_OK)
        s = bgm_archive_save_safetensors(a, path);
    bgm_archive_free(a);
    bgm_tensor_free(t);
    return s;
}

/* Writes m (in features) to path with writer w. */
static bgm_status save_with(int w, bgm_model *m, int64_t in, const char *path)
{
    switch (w) {
    case W_MODEL:
        return bgm_model_save(m, path, 0);
    case W_WEIGHTS:
        return bgm_model_save_weights_safetensors(m, path);
    case W_ARCHIVE:
        return save_archive(m, path);
    default:
        return fit_with_checkpoint(m, in, path, w == W_CHECKPOINT_WEIGHTS);
    }
}

/* The writer whose file format w writes (checkpoints: a model or weights). */
static int format_of(int w)
{
    return w == W_CHECKPOINT ? W_MODEL : w == W_CHECKPOINT_WEIGHTS ? W_WEIGHTS : w;
}

/* Fails unless the file at path loads with writer w's reader and holds
 * exactly the weights of want. */
static void assert_loads_as(int w, const char *path, const bgm_model *want, int64_t in)
{
    int64_t n = bgm_model_num_params(want);
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)n * sizeof *b);
    bgm_model *back = NULL;
    bgm_archive *ar = NULL;
    bgm_tensor *t = NULL;
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    BGM_ASSERT_OK(bgm_model_get_weights(want, a, n));
    if (w == W_MODEL) {
        BGM_ASSERT_OK(bgm_model_load(&back, path));
    } else if (w == W_WEIGHTS) {
        back = model(in, 99);
        BGM_ASSERT_OK(bgm_model_load_weights_safetensors(back, path));
    } else {
        BGM_ASSERT_OK(bgm_archive_load_safetensors(&ar, path));
        BGM_ASSERT_OK(bgm_archive_get_tensor(&t, ar, "weights"));
        ck_assert_int_eq(bgm_tensor_numel(t), n);
        memcpy(b, bgm_tensor_data(t), (size_t)n * sizeof *b);
        bgm_tensor_free(t);
    }
    if (back)
        BGM_ASSERT_OK(bgm_model_get_weights(back, b, n));
    ck_assert_msg(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s: the weights differ", path);
    bgm_model_free(back);
    bgm_archive_free(ar);
    free(a);
    free(b);
}

/* Number of entries of the scratch folder's subfolder sub ("" for itself)
 * whose names contain ".tmp-"; removes them when remove is set. */
static int temp_files(const char *sub, int remove_them)
{
    char dir[512], path[1024];
    struct dirent *e;
    DIR *d;
    int n = 0;
    snprintf(dir, sizeof dir, "%s/%s", bgm_test_tmpdir(), sub);
    d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-")) {
            n++;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (remove_them)
                unlink(path);
        }
    closedir(d);
    return n;
}

static int same_bytes(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- SIGKILL at random points ------------------------------------------------ */

#define KILLS 100

/* The writer alternates between two models over one path while the test
 * kills it after a random delay of up to twice a save's duration: after
 * each kill the file is, byte for byte, the last complete save, and loads
 * to exactly that model's weights. A checkpoint writer fits a fresh copy of
 * the model for one epoch and saves it from the callback; the parent's
 * models went through the same fit, so they hold what the file must. */
START_TEST(a_writer_killed_at_100_random_points_leaves_the_last_complete_file)
{
    const int w = _i;
    const int64_t in = 256;
    bgm_model *models[2] = {model(in, 1), model(in, 2)};
    unsigned char *bytes[2], *now;
    size_t len[2], now_len;
    const char *path;
    unsigned seed = 2026u + (unsigned)w;
    long long t0, save_ns;
    int cur = 0, k, status, mid_save = 0, completed = 0;
    pid_t pid;
    bgm_test_tmpdir_create("safe");
    path = bgm_test_path(writer_file(w));
    /* One thread: the same fit in the parent and in a child gives the same
     * bits; also stops the pool's workers so children start without them. */
    BGM_ASSERT_OK(bgm_set_num_threads(1));
    /* The exact bytes of each model's file, and how long a save takes. */
    BGM_ASSERT_OK(save_with(w, models[1], in, path));
    bytes[1] = bgm_test_read_file(path, &len[1]);
    t0 = now_ns();
    BGM_ASSERT_OK(save_with(w, models[0], in, path));
    save_ns = now_ns() - t0;
    bytes[0] = bgm_test_read_file(path, &len[0]);
    ck_assert(!same_bytes(bytes[0], len[0], bytes[1], len[1]));
    for (k = 0; k < KILLS; k++) {
        long long delay = (long long)(rand_r(&seed) % 1000) * (2 * save_ns + 200000) / 1000;
        struct timespec nap = {(time_t)(delay / 1000000000), (long)(delay % 1000000000)};
        pid = bgm_test_fork();
        if (pid == 0) { /* no Check calls here (bgm_test_fork) */
            bgm_model *fresh = w >= W_CHECKPOINT ? model_or_null(in, 2 - (uint64_t)cur) : NULL;
            int rc = (w < W_CHECKPOINT || fresh) &&
                             save_with(w, fresh ? fresh : models[1 - cur], in, path) == BGM_OK
                         ? 0 : 1;
            bgm_model_free(fresh);
            /* what the child inherited, freed for leak checkers */
            bgm_model_free(models[0]);
            bgm_model_free(models[1]);
            free(bytes[0]);
            free(bytes[1]);
            _exit(rc);
        }
        nanosleep(&nap, NULL);
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "kill %d: the writer failed on its own", k);
        now = bgm_test_read_file(path, &now_len);
        if (same_bytes(now, now_len, bytes[1 - cur], len[1 - cur])) {
            cur = 1 - cur; /* the save completed before the kill */
            completed++;
        } else {
            ck_assert_msg(same_bytes(now, now_len, bytes[cur], len[cur]),
                          "kill %d after %lld ns: the file is neither the previous one nor "
                          "the new one (%zu bytes)", k, delay, now_len);
        }
        free(now);
        assert_loads_as(format_of(w), path, models[cur], in);
        mid_save += temp_files("", 1) > 0;
    }
    fprintf(stderr, "%s: %d kills: %d mid-save, %d after the rename\n", writer_names[w], KILLS,
            mid_save, completed);
    ck_assert_msg(mid_save > 0, "no kill landed while the temporary file existed");
    free(bytes[0]);
    free(bytes[1]);
    bgm_model_free(models[0]);
    bgm_model_free(models[1]);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- full disk and read-only folders ------------------------------------------ */

/* Saves a small model with writer w to sub/<file>, runs attempt (in a child
 * process when fork_it) saving a big model over it, and checks that it
 * failed with BGM_E_IO naming the path and reason, that the previous file
 * is byte for byte intact and that no temporary file is left. */
typedef void (*child_setup_fn)(void);

static void failed_save_keeps_the_file(int w, const char *sub, child_setup_fn setup,
                                       const char *reason)
{
    char path[512];
    bgm_model *small = model(4, 1), *big = model(300, 2);
    unsigned char *before, *after;
    size_t before_len, after_len;
    pid_t pid;
    snprintf(path, sizeof path, "%s/%s/%s", bgm_test_tmpdir(), sub, writer_file(w));
    BGM_ASSERT_OK(save_with(w, small, 4, path));
    before = bgm_test_read_file(path, &before_len);
    BGM_ASSERT_OK(bgm_set_num_threads(1));
    pid = bgm_test_fork();
    if (pid == 0) {
        bgm_status s;
        int ok;
        if (setup)
            setup();
        s = save_with(w, big, 300, path);
        ok = s == BGM_E_IO && strstr(bgm_last_error(), path) && strstr(bgm_last_error(), reason);
        if (!ok)
            fprintf(stderr, "%s: expected BGM_E_IO naming %s and \"%s\"; got %s: %s\n",
                    writer_names[w], path, reason, bgm_status_string(s), bgm_last_error());
        bgm_model_free(small);
        bgm_model_free(big);
        free(before);
        _exit(ok ? 0 : 1);
    }
    bgm_test_assert_child_ok(pid, writer_names[w]);
    after = bgm_test_read_file(path, &after_len);
    ck_assert_msg(same_bytes(before, before_len, after, after_len), "%s: %s changed",
                  writer_names[w], path);
    ck_assert_int_eq(temp_files(sub, 0), 0);
    assert_loads_as(format_of(w), path, small, 4);
    free(before);
    free(after);
    bgm_model_free(small);
    bgm_model_free(big);
}

/* A file size limit of 64 KiB: writes past it fail with EFBIG, as on a disk
 * that fills up (SIGXFSZ ignored, as servers do). */
static void limit_file_size(void)
{
    struct rlimit r = {64 << 10, 64 << 10};
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &r) != 0)
        _exit(2);
}

START_TEST(a_save_that_runs_out_of_space_fails_and_keeps_the_previous_file)
{
    const int w = _i;
    char disk[512];
    bgm_test_tmpdir_create("safe");
    ck_assert_int_eq(mkdir(bgm_test_path("fsize"), 0755), 0);
    failed_save_keeps_the_file(w, "fsize", limit_file_size, "File too large");
    /* A real full disk: a 64 KiB tmpfs, where mounting is allowed (root). */
    snprintf(disk, sizeof disk, "%s", bgm_test_path("disk"));
    ck_assert_int_eq(mkdir(disk, 0755), 0);
    if (mount("bgm-test", disk, "tmpfs", 0, "size=64k") == 0) {
        failed_save_keeps_the_file(w, "disk", NULL, "No space left on device");
        ck_assert_int_eq(umount(disk), 0);
    } else {
        fprintf(stderr, "%s: no tmpfs (%s): the full-disk case ran with RLIMIT_FSIZE only\n",
                writer_names[w], strerror(errno));
    }
    bgm_test_tmpdir_remove();
}
END_TEST

/* Root may write anywhere: the child gives that up to be an ordinary user. */
static void become_unprivileged(void)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        _exit(3);
}

START_TEST(a_save_into_a_read_only_folder_fails_and_keeps_the_previous_file)
{
    const int w = _i;
    bgm_test_tmpdir_create("safe");
    ck_assert_int_eq(chmod(bgm_test_tmpdir(), 0755), 0);
    ck_assert_int_eq(mkdir(bgm_test_path("ro"), 0755), 0);
    {
        char path[512];
        bgm_model *small = model(4, 1);
        snprintf(path, sizeof path, "%s/ro/%s", bgm_test_tmpdir(), writer_file(w));
        BGM_ASSERT_OK(save_with(w, small, 4, path));
        ck_assert_int_eq(chmod(path, 0644), 0);
        bgm_model_free(small);
    }
    ck_assert_int_eq(chmod(bgm_test_path("ro"), 0555), 0);
    failed_save_keeps_the_file(w, "ro", become_unprivileged, "Permission denied");
    ck_assert_int_eq(chmod(bgm_test_path("ro"), 0755), 0);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- untrusted sizes ------------------------------------------------------------ */

/* A safetensors file whose header claims a 16384 x 16384 float tensor (1 GiB)
 * over 16 bytes of data. */
static void write_lying_safetensors(const char *path)
{
    const char header[] = "{\"weights\":{\"dtype\":\"F32\",\"shape\":[16384,16384],"
                          "\"data_offsets\":[0,1073741824]}}";
    unsigned char buf[256];
    uint64_t n = sizeof header - 1;
    int i;
    for (i = 0; i < 8; i++)
        buf[i] = (unsigned char)(n >> (8 * i));
    memcpy(buf + 8, header, n);
    memset(buf + 8 + n, 0, 16);
    bgm_test_write_file(path, buf, 8 + n + 16);
}

START_TEST(a_file_claiming_a_huge_tensor_is_refused_without_allocating_it)
{
    const char *path;
    bgm_model *m = model(4, 1);
    pid_t pid;
    bgm_test_tmpdir_create("safe");
    path = bgm_test_path("lying.safetensors");
    write_lying_safetensors(path);
    BGM_ASSERT_OK(bgm_set_num_threads(1));
    pid = bgm_test_fork();
    if (pid == 0) {
        bgm_archive *a = NULL;
        bgm_status s1, s2;
        int ok;
        bgm_test_limit_address_space(64u << 20);
        /* With 64 MiB to spare, allocating the claimed 1 GiB would give
         * BGM_E_NOMEM: only a check against the file's size gives FORMAT. */
        s1 = bgm_archive_load_safetensors(&a, path);
        s2 = bgm_model_load_weights_safetensors(m, path);
        ok = s1 == BGM_E_FORMAT && s2 == BGM_E_FORMAT && !a;
        if (!ok)
            fprintf(stderr, "archive: %s, weights: %s: %s\n", bgm_status_string(s1),
                    bgm_status_string(s2), bgm_last_error());
        bgm_archive_free(a);
        bgm_model_free(m);
        _exit(ok ? 0 : 1);
    }
    bgm_test_assert_child_ok(pid, "a 1 GiB safetensors claim refused as FORMAT under a "
                                  "memory limit");
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_safe_files(void)
{
    Suite *s = suite_create("safe_files");
    TCase *kills = tcase_create("kills");
    TCase *fail = tcase_create("failures");
    tcase_add_loop_test(kills, a_writer_killed_at_100_random_points_leaves_the_last_complete_file,
                        0, N_WRITERS);
    BGM_TEST_SLOW(kills, 60);
    tcase_add_loop_test(fail, a_save_that_runs_out_of_space_fails_and_keeps_the_previous_file, 0,
                        N_WRITERS);
    tcase_add_loop_test(fail, a_save_into_a_read_only_folder_fails_and_keeps_the_previous_file, 0,
                        N_WRITERS);
    tcase_add_test(fail, a_file_claiming_a_huge_tensor_is_refused_without_allocating_it);
    BGM_TEST_SLOW(fail, 20);
    suite_add_tcase(s, kills);
    suite_add_tcase(s, fail);
    return s;
}
