/* Keras' ModelCheckpoint, ReduceLROnPlateau and BackupAndRestore, and the
 * model's log of Keras' warnings: file names filled in from the epoch and
 * the logs, best-only saving by mode, a resumed fit that ends bit for bit
 * where an uninterrupted one does, the learning rate in the history, and
 * each warning exactly when Keras gives it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

/* What the log and fit's output received. */
typedef struct capture {
    int nwarnings;
    char warnings[8][1024];
    char out[8192];
} capture;

static void on_log(void *ctx, bgm_log_level level, const char *message)
{
    capture *c = ctx;
    ck_assert_int_eq(level, BGM_LOG_WARNING);
    if (c->nwarnings < 8)
        snprintf(c->warnings[c->nwarnings], sizeof c->warnings[0], "%s", message);
    c->nwarnings++;
}

static void on_output(void *ctx, const char *text)
{
    capture *c = ctx;
    size_t n = strlen(c->out);
    snprintf(c->out + n, sizeof c->out - n, "%s", text);
}

static bgm_optimizer *adam(float lr)
{
    bgm_optimizer *o = NULL;
    BGM_ASSERT_OK(bgm_optimizer_adam(&o, lr, BGM_ADAM_BETA1, BGM_ADAM_BETA2,
                                     BGM_ADAM_EPSILON));
    return o;
}

/* 4 -> 8 relu -> dropout -> 1, Adam, MSE: dropout and shuffling make a
 * resumed fit depend on the generator too. */
static bgm_model *regressor(uint64_t seed)
{
    bgm_model *m = NULL;
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){4}, 1, seed));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(8, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), BGM_LOSS_MSE, 0, NULL, 0));
    return m;
}

typedef struct data {
    bgm_tensor *x, *y, *vx, *vy;
} data;

static data make_data(void)
{
    data d;
    d.x = bgm_test_randn((int64_t[]){40, 4}, 2, 11);
    d.y = bgm_test_randn((int64_t[]){40, 1}, 2, 12);
    d.vx = bgm_test_randn((int64_t[]){12, 4}, 2, 13);
    d.vy = bgm_test_randn((int64_t[]){12, 1}, 2, 14);
    return d;
}

static void free_data(data *d)
{
    bgm_tensor_free(d->x);
    bgm_tensor_free(d->y);
    bgm_tensor_free(d->vx);
    bgm_tensor_free(d->vy);
}

static bgm_fit_options options(int epochs, data *d, bgm_callback **cbs, int ncbs)
{
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_fit_options_init(&o, sizeof o));
    o.epochs = epochs;
    o.batch_size = 8;
    o.verbose = 0;
    o.validation_x = d->vx;
    o.validation_y = d->vy;
    o.callbacks = cbs;
    o.num_callbacks = ncbs;
    return o;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static float *weights_of(const bgm_model *m)
{
    int64_t n = bgm_model_num_params(m);
    float *w = malloc((size_t)(n + 1) * sizeof *w);
    ck_assert_ptr_nonnull(w);
    BGM_ASSERT_OK(bgm_model_get_weights(m, w, n));
    return w;
}

static void assert_same_weights(const bgm_model *a, const bgm_model *b)
{
    float *wa = weights_of(a), *wb = weights_of(b);
    ck_assert_int_eq(bgm_model_num_params(a), bgm_model_num_params(b));
    ck_assert_msg(memcmp(wa, wb, (size_t)bgm_model_num_params(a) * sizeof *wa) == 0,
                  "weights differ");
    free(wa);
    free(wb);
}

/* ---- ModelCheckpoint ------------------------------------------------------------ */

/* Fits m for epochs on make_data()'s data with a ModelCheckpoint of path
 * (monitor "loss", mode NULL) saving every save_freq batches (0: epochs). */
static void fit_checkpoint(bgm_model *m, const char *path, int weights_only, int64_t save_freq,
                           int epochs)
{
    data d = make_data();
    bgm_callback *cb = NULL;
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&cb, path, "loss", 0, 0, weights_only, NULL,
                                                save_freq, NAN));
    o = options(epochs, &d, &cb, 1);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, d.x, d.y, &o));
    bgm_callback_free(cb);
    free_data(&d);
}


START_TEST(checkpoint_fills_the_fields_and_makes_missing_folders)
{
    char pattern[512], path[512];
    data d = make_data();
    bgm_model *m = regressor(1), *back = NULL;
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    const double *val;
    int e;
    bgm_test_tmpdir_create("ckpt");
    snprintf(pattern, sizeof pattern, "%s/a/b/m-{epoch:02d}-{val_loss:.3f}.bgm",
             bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&cb, pattern, "val_loss", 0, 0, 0, "auto", 0,
                                                NAN));
    o = options(3, &d, &cb, 1);
    BGM_ASSERT_OK(bgm_model_fit(&h, m, d.x, d.y, &o));
    val = bgm_history_values(h, "val_loss");
    ck_assert_ptr_nonnull(val);
    for (e = 0; e < 3; e++) {
        snprintf(path, sizeof path, "%s/a/b/m-%02d-%.3f.bgm", bgm_test_tmpdir(), e + 1, val[e]);
        ck_assert_msg(exists(path), "missing %s", path);
    }
    /* The last file is the model as fit left it, with its epoch count. */
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_epochs_completed(back), 3);
    assert_same_weights(m, back);
    bgm_model_free(back);
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_model_free(m);
    free_data(&d);
    bgm_test_tmpdir_remove();
}
END_TEST

/* Fits 3 epochs with a verbose best-only checkpoint of monitor "loss" in
 * mode; returns the loss history (3 values, malloc'ed). */
static double *fit_best_only(capture *c, const char *path, const char *mode, double initial)
{
    data d = make_data();
    bgm_model *m = regressor(2);
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    double *loss = malloc(3 * sizeof *loss);
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&cb, path, "loss", 1, 1, 0, mode, 0, initial));
    o = options(3, &d, &cb, 1);
    o.output = on_output;
    o.output_ctx = c;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, d.x, d.y, &o));
    memcpy(loss, bgm_history_values(h, "loss"), 3 * sizeof *loss);
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_model_free(m);
    free_data(&d);
    return loss;
}

START_TEST(checkpoint_saves_only_improvements_by_mode_with_keras_lines)
{
    char path[512], line[1024];
    capture c;
    double *loss;
    bgm_model *back = NULL;
    bgm_test_tmpdir_create("ckbest");
    snprintf(path, sizeof path, "%s/best.bgm", bgm_test_tmpdir());
    /* min: the loss falls every epoch, so every epoch saves. */
    memset(&c, 0, sizeof c);
    loss = fit_best_only(&c, path, "min", NAN);
    ck_assert(loss[1] < loss[0] && loss[2] < loss[1]);
    snprintf(line, sizeof line, "\nEpoch 1: loss improved from inf to %.5f, saving model to "
             "%s\n", loss[0], path);
    ck_assert_msg(strstr(c.out, line), "output lacks [%s]: [%s]", line, c.out);
    snprintf(line, sizeof line, "\nEpoch 3: loss improved from %.5f to %.5f, saving model to "
             "%s\n", loss[1], loss[2], path);
    ck_assert_msg(strstr(c.out, line), "output lacks [%s]: [%s]", line, c.out);
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_epochs_completed(back), 3);
    bgm_model_free(back);
    free(loss);
    /* max: only the first epoch beats -inf; the file keeps epoch 1. */
    memset(&c, 0, sizeof c);
    loss = fit_best_only(&c, path, "max", NAN);
    snprintf(line, sizeof line, "\nEpoch 2: loss did not improve from %.5f\n", loss[0]);
    ck_assert_msg(strstr(c.out, line), "output lacks [%s]: [%s]", line, c.out);
    snprintf(line, sizeof line, "\nEpoch 3: loss did not improve from %.5f\n", loss[0]);
    ck_assert_msg(strstr(c.out, line), "output lacks [%s]: [%s]", line, c.out);
    BGM_ASSERT_OK(bgm_model_load(&back, path));
    ck_assert_int_eq(bgm_model_epochs_completed(back), 1);
    bgm_model_free(back);
    free(loss);
    /* initial_value_threshold below any loss: nothing is ever saved. */
    ck_assert_int_eq(remove(path), 0);
    memset(&c, 0, sizeof c);
    loss = fit_best_only(&c, path, "min", 1e-9);
    ck_assert(!exists(path));
    ck_assert_msg(strstr(c.out, "\nEpoch 3: loss did not improve from 0.00000\n"), "%s", c.out);
    free(loss);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(checkpoint_weights_only_writes_weights_files_that_load_back)
{
    char path[512];
    bgm_model *m = regressor(3), *other = regressor(99);
    bgm_test_tmpdir_create("ckw");
    snprintf(path, sizeof path, "%s/w{epoch}.safetensors", bgm_test_tmpdir());
    fit_checkpoint(m, path, 1, 0, 2);
    snprintf(path, sizeof path, "%s/w2.safetensors", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_load_weights_safetensors(other, path));
    assert_same_weights(m, other);
    bgm_model_free(m);
    bgm_model_free(other);
    /* any other name: the library's weights file (bgm_model_save_weights) */
    m = regressor(5);
    other = regressor(98);
    snprintf(path, sizeof path, "%s/w{epoch}.weights", bgm_test_tmpdir());
    fit_checkpoint(m, path, 1, 0, 2);
    snprintf(path, sizeof path, "%s/w2.weights", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_load_weights(other, path));
    assert_same_weights(m, other);
    bgm_model_free(m);
    bgm_model_free(other);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(checkpoint_every_n_batches_names_epoch_and_batch)
{
    char path[512];
    bgm_model *m = regressor(4);
    int e, b;
    bgm_test_tmpdir_create("ckb");
    snprintf(path, sizeof path, "%s/e{epoch}b{batch:03d}.bgm", bgm_test_tmpdir());
    /* 5 batches per epoch: saves after batches 2 and 4, then after epoch 2's
     * batches 1, 3 and 5 (every 2nd batch overall, as Keras counts). */
    fit_checkpoint(m, path, 0, 2, 2);
    for (e = 1; e <= 2; e++)
        for (b = 1; b <= 5; b++) {
            int want = (e == 1 && (b == 2 || b == 4)) || (e == 2 && (b == 1 || b == 3 || b == 5));
            snprintf(path, sizeof path, "%s/e%db%03d.bgm", bgm_test_tmpdir(), e, b);
            ck_assert_msg(exists(path) == want, "%s: exists %d, expected %d", path,
                          exists(path), want);
        }
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(checkpoint_format_specs_follow_python)
{
    /* The expected name is Python's: "{epoch:>4}|{epoch:<3}|{epoch:^5}|{epoch:+d}|
     * {epoch:*^6}|{epoch:05d}|{epoch:.2f}|{epoch:e}|{epoch:.0%}|{{x}}".format(epoch=2). */
    char path[512], want[512];
    bgm_model *m = regressor(5);
    bgm_test_tmpdir_create("ckfmt");
    snprintf(path, sizeof path, "%s/{epoch:>4}|{epoch:<3}|{epoch:^5}|{epoch:+d}|{epoch:*^6}|"
             "{epoch:05d}|{epoch:.2f}|{epoch:e}|{epoch:.0%%}|{{x}}", bgm_test_tmpdir());
    fit_checkpoint(m, path, 0, 0, 2);
    snprintf(want, sizeof want, "%s/   2|2  |  2  |+2|**2***|00002|2.00|2.000000e+00|200%%|{x}",
             bgm_test_tmpdir());
    ck_assert_msg(exists(want), "missing %s", want);
    bgm_model_free(m);
    bgm_test_tmpdir_remove();
}
END_TEST

/* A one-epoch fit of m with a ModelCheckpoint of path fails with status and
 * a message holding needle, and returns no history. */
static void fit_checkpoint_fails(bgm_model *m, const char *path, bgm_status status,
                                 const char *needle)
{
    data d = make_data();
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&cb, path, "loss", 0, 0, 0, NULL, 0, NAN));
    o = options(1, &d, &cb, 1);
    BGM_ASSERT_FAILS(bgm_model_fit(&h, m, d.x, d.y, &o), status, needle);
    ck_assert_ptr_null(h);
    bgm_callback_free(cb);
    free_data(&d);
}

START_TEST(checkpoint_bad_input_gets_clear_statuses)
{
    char path[512], blocker[512];
    data d = make_data();
    bgm_model *m = regressor(6);
    bgm_callback *cb = NULL;
    bgm_fit_options o;
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m{epoch:q}.bgm", "loss", 0, 0, 0,
                                                   NULL, 0, NAN),
                     BGM_E_INVALID, "format spec 'q' is not supported");
    ck_assert_ptr_null(cb);
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m{epoch.bgm", "loss", 0, 0, 0, NULL,
                                                   0, NAN),
                     BGM_E_INVALID, "no closing '}'");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m}.bgm", "loss", 0, 0, 0, NULL, 0,
                                                   NAN),
                     BGM_E_INVALID, "a single '}'");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m{}.bgm", "loss", 0, 0, 0, NULL, 0,
                                                   NAN),
                     BGM_E_INVALID, "needs a name");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m.bgm", "loss", 0, 0, 0, "biggest",
                                                   0, NAN),
                     BGM_E_INVALID, "mode = 'biggest'");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m.bgm", "loss", 2, 0, 0, NULL, 0, NAN),
                     BGM_E_INVALID, "verbose = 2");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, "m.bgm", "loss", 0, 0, 0, NULL, -1, NAN),
                     BGM_E_INVALID, "save_freq = -1");
    BGM_ASSERT_FAILS(bgm_callback_model_checkpoint(&cb, NULL, "loss", 0, 0, 0, NULL, 0, NAN),
                     BGM_E_INVALID, "'filepath' is NULL");
    bgm_test_tmpdir_create("ckbad");
    /* A field naming no log value: fit fails naming it and listing the others. */
    snprintf(path, sizeof path, "%s/m{val_acc:.2f}.bgm", bgm_test_tmpdir());
    fit_checkpoint_fails(m, path, BGM_E_INVALID,
                         "no value called 'val_acc' (there are: epoch, loss, val_loss)");
    /* "d" on a float value, as Python refuses it. */
    snprintf(path, sizeof path, "%s/m{loss:d}.bgm", bgm_test_tmpdir());
    fit_checkpoint_fails(m, path, BGM_E_INVALID, "unknown format code 'd' for 'loss'");
    /* A folder that cannot be made (a file is in the way): BGM_E_IO naming it. */
    snprintf(blocker, sizeof blocker, "%s/file", bgm_test_tmpdir());
    bgm_test_write_file(blocker, "x", 1);
    snprintf(path, sizeof path, "%s/file/sub/m.bgm", bgm_test_tmpdir());
    fit_checkpoint_fails(m, path, BGM_E_IO, "cannot create folder");
    ck_assert_msg(strstr(bgm_last_error(), path), "%s", bgm_last_error());
    /* The model stays usable. */
    o = options(1, &d, NULL, 0);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, d.x, d.y, &o));
    bgm_model_free(m);
    free_data(&d);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- ReduceLROnPlateau --------------------------------------------------------------- */

START_TEST(plateau_reduces_after_patience_with_cooldown_and_floor)
{
    data d = make_data();
    bgm_model *m = regressor(7);
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    capture c;
    const double *lr;
    /* mode max with min_delta 1e6: only the first epoch counts as an
     * improvement, so the schedule is known: patience 2, cooldown 1, factor
     * 0.5, floor 0.003. */
    static const float want[8] = {0.01f, 0.01f, 0.01f, 0.005f, 0.005f, 0.003f, 0.003f, 0.003f};
    int e;
    memset(&c, 0, sizeof c);
    BGM_ASSERT_OK(bgm_callback_reduce_lr_on_plateau(&cb, "loss", 0.5, 2, 1, "max", 1e6, 1,
                                                    0.003));
    o = options(8, &d, &cb, 1);
    o.output = on_output;
    o.output_ctx = &c;
    BGM_ASSERT_OK(bgm_model_fit(&h, m, d.x, d.y, &o));
    lr = bgm_history_values(h, "learning_rate");
    ck_assert_ptr_nonnull(lr);
    for (e = 0; e < 8; e++)
        ck_assert_msg(lr[e] == (double)want[e], "epoch %d: learning_rate %.9g, expected %.9g",
                      e, lr[e], (double)want[e]);
    ck_assert_float_eq(bgm_optimizer_get_lr(bgm_model_optimizer(m)), 0.003f);
    /* Keras prints the product as a Python float: 0.01f * 0.5. */
    ck_assert_msg(strstr(c.out, "\nEpoch 3: ReduceLROnPlateau reducing learning rate to "
                                "0.004999999888241291.\n"), "%s", c.out);
    ck_assert_msg(strstr(c.out, "\nEpoch 5: ReduceLROnPlateau reducing learning rate to "
                                "0.003.\n"), "%s", c.out); /* min_lr */
    ck_assert_ptr_null(strstr(c.out, "Epoch 7: ReduceLROnPlateau"));
    bgm_history_free(h);
    bgm_callback_free(cb);
    bgm_model_free(m);
    free_data(&d);
}
END_TEST

START_TEST(plateau_with_a_missing_monitor_warns_and_changes_nothing)
{
    data d = make_data();
    bgm_model *m = regressor(8);
    bgm_callback *cb = NULL;
    bgm_history *h = NULL;
    bgm_fit_options o;
    capture c;
    memset(&c, 0, sizeof c);
    BGM_ASSERT_OK(bgm_model_set_log(m, on_log, &c));
    BGM_ASSERT_OK(bgm_callback_reduce_lr_on_plateau(&cb, "val_accuracy", 0.1, 0, 0, NULL,
                                                    1e-4, 0, 0.0));
    o = options(2, &d, &cb, 1);
    BGM_ASSERT_OK(bgm_model_fit(&h, m, d.x, d.y, &o));
    ck_assert_int_eq(c.nwarnings, 2); /* once per epoch, as Keras */
    ck_assert_str_eq(c.warnings[0], "Learning rate reduction is conditioned on metric "
                                    "`val_accuracy` which is not available. Available metrics "
                                    "are: loss,val_loss,learning_rate.");
    ck_assert(bgm_history_values(h, "learning_rate")[1] == (double)0.01f);
    ck_assert_float_eq(bgm_optimizer_get_lr(bgm_model_optimizer(m)), 0.01f);
    bgm_history_free(h);
    bgm_callback_free(cb);
    BGM_ASSERT_FAILS(bgm_callback_reduce_lr_on_plateau(&cb, "loss", 1.0, 0, 0, NULL, 0, 0, 0),
                     BGM_E_INVALID, "factor = 1");
    BGM_ASSERT_FAILS(bgm_callback_reduce_lr_on_plateau(&cb, "loss", 0.1, -1, 0, NULL, 0, 0, 0),
                     BGM_E_INVALID, "patience = -1");
    BGM_ASSERT_FAILS(bgm_callback_reduce_lr_on_plateau(&cb, "loss", 0.1, 1, 0, "up", 0, 0, 0),
                     BGM_E_INVALID, "mode = 'up'");
    BGM_ASSERT_FAILS(bgm_callback_reduce_lr_on_plateau(&cb, "loss", 0.1, 1, 0, NULL, 0, 0,
                                                       -1.0),
                     BGM_E_INVALID, "min_lr = -1");
    ck_assert_ptr_null(cb);
    bgm_model_free(m);
    free_data(&d);
}
END_TEST

/* ---- BackupAndRestore ------------------------------------------------------------- */

/* A lambda that sets the cancel flag at the end of epoch ctx->at: the next
 * batch ends fit with BGM_E_CANCELLED, as a kill would end it. */
typedef struct killer {
    int at;
    int flag;
} killer;

static int kill_at(void *ctx, bgm_model *m, bgm_callback_event event, int epoch, int64_t batch,
                   const bgm_logs *logs)
{
    killer *k = ctx;
    if (event == BGM_EVENT_EPOCH_END && epoch == k->at)
        k->flag = 1;
    return 0;
}

START_TEST(backup_and_restore_resumes_a_killed_fit_bit_for_bit)
{
    char dir[512], file[600];
    data d = make_data();
    bgm_model *whole = regressor(21), *first = regressor(21), *second = regressor(21);
    bgm_callback *backup = NULL, *kill = NULL, *cbs[2];
    bgm_history *h = NULL;
    bgm_fit_options o;
    killer k = {2, 0};
    bgm_test_tmpdir_create("backup");
    snprintf(dir, sizeof dir, "%s/bk/dir", bgm_test_tmpdir());
    snprintf(file, sizeof file, "%s/latest.bgm", dir);
    /* The uninterrupted run. */
    o = options(5, &d, NULL, 0);
    BGM_ASSERT_OK(bgm_model_fit(NULL, whole, d.x, d.y, &o));
    /* Killed in epoch 3 (index 3), after the backup of epoch index 2. */
    BGM_ASSERT_OK(bgm_callback_backup_and_restore(&backup, dir, 1));
    BGM_ASSERT_OK(bgm_callback_lambda(&kill, kill_at, &k));
    cbs[0] = backup;
    cbs[1] = kill;
    o = options(5, &d, cbs, 2);
    o.cancel = &k.flag;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, first, d.x, d.y, &o), BGM_E_CANCELLED, "cancelled");
    ck_assert(exists(file)); /* a failed fit keeps its backup */
    /* A new process: a fresh model and the same fit resume at epoch 3. */
    o = options(5, &d, cbs, 1);
    BGM_ASSERT_OK(bgm_model_fit(&h, second, d.x, d.y, &o));
    ck_assert_int_eq(bgm_history_num_epochs(h), 2);
    ck_assert_int_eq(bgm_history_epoch(h, 0), 3);
    ck_assert_int_eq(bgm_model_epochs_completed(second), 5);
    assert_same_weights(whole, second);
    ck_assert_int_eq(bgm_optimizer_step_count(bgm_model_optimizer(second)),
                     bgm_optimizer_step_count(bgm_model_optimizer(whole)));
    bgm_history_free(h);
    /* The fit succeeded: the backup and its folder are gone. */
    ck_assert(!exists(file));
    ck_assert(!exists(dir));
    /* The same model object, with the weights of the half epoch, also resumes. */
    k.at = 2;
    k.flag = 0;
    bgm_model_free(first);
    first = regressor(21);
    o = options(5, &d, cbs, 2);
    o.cancel = &k.flag;
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, first, d.x, d.y, &o), BGM_E_CANCELLED, "cancelled");
    k.at = -1;
    k.flag = 0;
    BGM_ASSERT_OK(bgm_model_fit(NULL, first, d.x, d.y, &o));
    assert_same_weights(whole, first);
    bgm_callback_free(backup);
    bgm_callback_free(kill);
    bgm_model_free(whole);
    bgm_model_free(first);
    bgm_model_free(second);
    free_data(&d);
    bgm_test_tmpdir_remove();
}
END_TEST

START_TEST(backup_of_another_model_is_refused)
{
    char dir[512];
    data d = make_data();
    bgm_model *m = regressor(22), *other = NULL;
    bgm_callback *backup = NULL;
    bgm_fit_options o;
    bgm_test_tmpdir_create("bkbad");
    snprintf(dir, sizeof dir, "%s/bk", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_callback_backup_and_restore(&backup, dir, 0));
    o = options(1, &d, &backup, 1);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, d.x, d.y, &o));
    /* delete_checkpoint = 0 keeps it; a wider model cannot take it. */
    BGM_ASSERT_OK(bgm_model_create(&other, (int64_t[]){4}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_dense(9, BGM_ACT_RELU)));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_dropout(0.25f)));
    BGM_ASSERT_OK(bgm_model_add(other, bgm_layer_dense(1, BGM_ACT_LINEAR)));
    BGM_ASSERT_OK(bgm_model_compile(other, adam(0.01f), BGM_LOSS_MSE, 0, NULL, 0));
    BGM_ASSERT_FAILS(bgm_model_fit(NULL, other, d.x, d.y, &o), BGM_E_INVALID,
                     "a backup of another model");
    ck_assert_msg(strstr(bgm_last_error(), "latest.bgm"), "%s", bgm_last_error());
    bgm_callback_free(backup);
    BGM_ASSERT_FAILS(bgm_callback_backup_and_restore(&backup, "", 1), BGM_E_INVALID,
                     "backup_dir is empty");
    ck_assert_ptr_null(backup);
    bgm_model_free(other);
    bgm_model_free(m);
    free_data(&d);
    bgm_test_tmpdir_remove();
}
END_TEST

/* ---- warnings ------------------------------------------------------------------- */

/* Compiles 3 -> Dense(units, act) with loss and from_logits, logging into c. */
static void compile_head(capture *c, int64_t units, bgm_activation act, bgm_loss_kind loss,
                         int from_logits)
{
    bgm_model *m = NULL;
    memset(c, 0, sizeof *c);
    BGM_ASSERT_OK(bgm_model_create(&m, (int64_t[]){3}, 1, 1));
    BGM_ASSERT_OK(bgm_model_add(m, bgm_layer_dense(units, act)));
    BGM_ASSERT_OK(bgm_model_set_log(m, on_log, c));
    BGM_ASSERT_OK(bgm_model_compile(m, adam(0.01f), loss, from_logits, NULL, 0));
    bgm_model_free(m);
}

START_TEST(from_logits_after_softmax_or_sigmoid_warns_once)
{
    capture c;
    compile_head(&c, 3, BGM_ACT_SOFTMAX, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1);
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert_msg(strstr(c.warnings[0], "\"`sparse_categorical_crossentropy` received "
                                        "`from_logits=True`, but the `output` argument was "
                                        "produced by a Softmax activation and thus does not "
                                        "represent logits. Was this intended?\""),
                  "%s", c.warnings[0]);
    ck_assert_msg(strstr(c.warnings[0], "layer 'dense"), "%s", c.warnings[0]);
    compile_head(&c, 3, BGM_ACT_SOFTMAX, BGM_LOSS_CATEGORICAL_CROSSENTROPY, 1);
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert(strstr(c.warnings[0], "`categorical_crossentropy` received") != NULL);
    compile_head(&c, 1, BGM_ACT_SIGMOID, BGM_LOSS_BINARY_CROSSENTROPY, 1);
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert(strstr(c.warnings[0], "`binary_crossentropy` received `from_logits=True`, but "
                                    "the `output` argument was produced by a Sigmoid") != NULL);
    /* The right pairings are silent. */
    compile_head(&c, 3, BGM_ACT_SOFTMAX, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0);
    ck_assert_int_eq(c.nwarnings, 0);
    compile_head(&c, 3, BGM_ACT_LINEAR, BGM_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1);
    ck_assert_int_eq(c.nwarnings, 0);
    compile_head(&c, 1, BGM_ACT_SIGMOID, BGM_LOSS_BINARY_CROSSENTROPY, 0);
    ck_assert_int_eq(c.nwarnings, 0);
    compile_head(&c, 1, BGM_ACT_LINEAR, BGM_LOSS_BINARY_CROSSENTROPY, 1);
    ck_assert_int_eq(c.nwarnings, 0);
    compile_head(&c, 3, BGM_ACT_RELU, BGM_LOSS_MSE, 0);
    ck_assert_int_eq(c.nwarnings, 0);
}
END_TEST

START_TEST(one_unit_softmax_and_categorical_loss_warn)
{
    capture c;
    compile_head(&c, 1, BGM_ACT_SOFTMAX, BGM_LOSS_BINARY_CROSSENTROPY, 0);
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert_msg(strstr(c.warnings[0], "You are using a softmax over axis -1 of a tensor of "
                                        "shape (None, 1). This axis has size 1. The softmax "
                                        "operation will always return the value 1, which is "
                                        "likely not what you intended. Did you mean to use a "
                                        "sigmoid instead?"),
                  "%s", c.warnings[0]);
    compile_head(&c, 1, BGM_ACT_SIGMOID, BGM_LOSS_CATEGORICAL_CROSSENTROPY, 0);
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert_msg(strstr(c.warnings[0], "In loss categorical_crossentropy, expected "
                                        "y_pred.shape to be (batch_size, num_classes) with "
                                        "num_classes > 1. Received: y_pred.shape=(None, 1). "
                                        "Consider using 'binary_crossentropy' if you only have "
                                        "2 classes."),
                  "%s", c.warnings[0]);
    compile_head(&c, 2, BGM_ACT_SOFTMAX, BGM_LOSS_CATEGORICAL_CROSSENTROPY, 0);
    ck_assert_int_eq(c.nwarnings, 0);
}
END_TEST

START_TEST(checkpoint_best_only_without_its_monitor_warns_and_saves)
{
    char path[512];
    data d = make_data();
    bgm_model *m = regressor(9);
    bgm_callback *cb = NULL;
    bgm_fit_options o;
    capture c;
    memset(&c, 0, sizeof c);
    bgm_test_tmpdir_create("ckwarn");
    snprintf(path, sizeof path, "%s/m.bgm", bgm_test_tmpdir());
    BGM_ASSERT_OK(bgm_model_set_log(m, on_log, &c));
    BGM_ASSERT_OK(bgm_callback_model_checkpoint(&cb, path, "val_auc", 0, 1, 0, NULL, 0, NAN));
    o = options(1, &d, &cb, 1);
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, d.x, d.y, &o));
    ck_assert_int_eq(c.nwarnings, 1);
    ck_assert_str_eq(c.warnings[0], "Can save best model only with val_auc available.");
    ck_assert(exists(path));
    /* Without a log function nothing is reported and nothing breaks. */
    BGM_ASSERT_OK(bgm_model_set_log(m, NULL, NULL));
    BGM_ASSERT_OK(bgm_model_fit(NULL, m, d.x, d.y, &o));
    ck_assert_int_eq(c.nwarnings, 1);
    BGM_ASSERT_FAILS(bgm_model_set_log(NULL, on_log, &c), BGM_E_INVALID, "bgm_model_set_log");
    bgm_callback_free(cb);
    bgm_model_free(m);
    free_data(&d);
    bgm_test_tmpdir_remove();
}
END_TEST

Suite *suite_callbacks_keras(void)
{
    Suite *s = suite_create("callbacks_keras");
    TCase *tc = tcase_create("callbacks_keras");
    BGM_TEST_SLOW(tc, 30);
    tcase_add_test(tc, checkpoint_fills_the_fields_and_makes_missing_folders);
    tcase_add_test(tc, checkpoint_saves_only_improvements_by_mode_with_keras_lines);
    tcase_add_test(tc, checkpoint_weights_only_writes_weights_files_that_load_back);
    tcase_add_test(tc, checkpoint_every_n_batches_names_epoch_and_batch);
    tcase_add_test(tc, checkpoint_format_specs_follow_python);
    tcase_add_test(tc, checkpoint_bad_input_gets_clear_statuses);
    tcase_add_test(tc, plateau_reduces_after_patience_with_cooldown_and_floor);
    tcase_add_test(tc, plateau_with_a_missing_monitor_warns_and_changes_nothing);
    tcase_add_test(tc, backup_and_restore_resumes_a_killed_fit_bit_for_bit);
    tcase_add_test(tc, backup_of_another_model_is_refused);
    tcase_add_test(tc, from_logits_after_softmax_or_sigmoid_warns_once);
    tcase_add_test(tc, one_unit_softmax_and_categorical_loss_warn);
    tcase_add_test(tc, checkpoint_best_only_without_its_monitor_warns_and_saves);
    suite_add_tcase(s, tc);
    return s;
}
