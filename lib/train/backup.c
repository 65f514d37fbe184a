/*
 * Keras' BackupAndRestore: the model file of every epoch end in a backup
 * folder, taken back when fit begins, so a fit that was killed resumes at
 * the epoch after the last backup with everything an uninterrupted fit
 * would have: weights, optimizer state and rate, generator, epoch count.
 */
#include "train/train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKUP_FILE "latest.bgm"

typedef struct backup {
    char *dir, *path;          /* the folder, and the file in it */
    int delete_checkpoint;
} backup;

/* BGM_E_INVALID unless the backup b holds m's weights (names, sizes) and an
 * optimizer of m's kind with slots for the weights m trains. */
static bgm_status check_same(const backup *bk, const bgm_model *m, const bgm_model *b)
{
    int i;
    if (b->nweights != m->nweights || b->nparams != m->nparams || b->nstate != m->nstate)
        return bgm__fail(BGM_E_INVALID, "BackupAndRestore: the backup '%s' holds %d weights "
                         "(%lld values), the model %d (%lld): a backup of another model",
                         bk->path, b->nweights, (long long)(b->nparams + b->nstate),
                         m->nweights, (long long)(m->nparams + m->nstate));
    for (i = 0; i < m->nweights; i++)
        if (strcmp(b->weights[i].name, m->weights[i].name) != 0 ||
            b->weights[i].numel != m->weights[i].numel)
            return bgm__fail(BGM_E_INVALID, "BackupAndRestore: weight %d of the backup '%s' is "
                             "'%s' (%lld values), the model's is '%s' (%lld)", i, bk->path,
                             b->weights[i].name, (long long)b->weights[i].numel,
                             m->weights[i].name, (long long)m->weights[i].numel);
    if (!b->optimizer ||
        bgm_optimizer_get_kind(b->optimizer) != bgm_optimizer_get_kind(m->optimizer) ||
        b->ntrainable != m->ntrainable)
        return bgm__fail(BGM_E_INVALID, "BackupAndRestore: the backup '%s' was %s; compile "
                         "the model as it was when the backup was made", bk->path,
                         !b->optimizer ? "not compiled"
                         : b->ntrainable != m->ntrainable ? "trained with other layers frozen"
                                                          : "made with another optimizer");
    return BGM_OK;
}

/* m takes b's weights, optimizer state and rate, generator and epoch count. */
static bgm_status take_state(const backup *bk, bgm_model *m, const bgm_model *b)
{
    int64_t size = bgm_optimizer_state_size(b->optimizer), step = 0;
    float *slots = NULL;
    bgm_status s = BGM_OK;
    if (m->ntrainable > 0)
        s = bgm_optimizer_build(m->optimizer, m->trainable, m->ntrainable);
    if (s == BGM_OK && size > 0 && !(slots = malloc((size_t)size * sizeof *slots)))
        s = bgm__fail(BGM_E_NOMEM, "BackupAndRestore: out of memory for the optimizer state");
    if (s == BGM_OK && size > 0)
        s = bgm_optimizer_get_state(b->optimizer, slots, size, &step);
    if (s == BGM_OK && size > 0)
        s = bgm_optimizer_set_state(m->optimizer, slots, size, step);
    else if (s == BGM_OK && m->ntrainable > 0) /* an optimizer without slots (plain SGD) */
        s = bgm_optimizer_set_state(m->optimizer, &(float){0.0f}, 0,
                                    bgm_optimizer_step_count(b->optimizer));
    free(slots);
    if (s == BGM_OK)
        s = bgm_optimizer_set_lr(m->optimizer, bgm_optimizer_get_lr(b->optimizer));
    if (s != BGM_OK) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "BackupAndRestore: cannot restore the optimizer from '%s': %s",
                         bk->path, msg);
    }
    memcpy(m->params, b->params, (size_t)m->nparams * sizeof *m->params);
    memcpy(m->state, b->state, (size_t)m->nstate * sizeof *m->state);
    m->rng = b->rng;
    m->epochs_done = b->epochs_done;
    return BGM_OK;
}

static bgm_status bk_train_begin(void *impl, bgm__train_state *st)
{
    backup *bk = impl;
    bgm_model *b = NULL;
    bgm_status s;
    if (access(bk->path, F_OK) != 0)
        return BGM_OK; /* no backup yet: a fresh start */
    s = bgm_model_load(&b, bk->path);
    if (s == BGM_OK)
        s = check_same(bk, st->model, b);
    if (s == BGM_OK)
        s = take_state(bk, st->model, b);
    if (s == BGM_OK)
        st->initial_epoch = st->model->epochs_done;
    bgm_model_free(b);
    return s;
}

static bgm_status bk_epoch_end(void *impl, bgm__train_state *st, int epoch, bgm_logs *logs)
{
    backup *bk = impl;
    char msg[1200];
    bgm_status s = bgm__make_dirs(bk->dir, 1, "BackupAndRestore");
    if (s == BGM_OK)
        s = bgm_model_save(st->model, bk->path, 0);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "BackupAndRestore: cannot write the backup of epoch %d: %s",
                         epoch + 1, msg);
    }
    return BGM_OK;
}

static bgm_status bk_train_end(void *impl, bgm__train_state *st, int ok)
{
    backup *bk = impl;
    if (!ok || !bk->delete_checkpoint)
        return BGM_OK;
    if (remove(bk->path) != 0 && errno != ENOENT)
        return bgm__fail(BGM_E_IO, "BackupAndRestore: cannot delete '%s': %s", bk->path,
                         strerror(errno));
    rmdir(bk->dir); /* only when nothing else is in it */
    return BGM_OK;
}

static void bk_free(void *impl)
{
    backup *bk = impl;
    if (bk) {
        free(bk->dir);
        free(bk->path);
    }
    free(bk);
}

static const bgm__callback_ops backup_ops = {
    .train_begin = bk_train_begin, .epoch_end = bk_epoch_end, .train_end = bk_train_end,
    .free_impl = bk_free};

BGM_API bgm_status bgm_callback_backup_and_restore(bgm_callback **out, const char *backup_dir,
                                                   int delete_checkpoint)
{
    static const char *fn = "bgm_callback_backup_and_restore";
    backup *bk;
    size_t n;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(backup_dir, fn);
    n = strlen(backup_dir);
    if (n == 0)
        return bgm__fail(BGM_E_INVALID, "%s: backup_dir is empty", fn);
    bk = calloc(1, sizeof *bk);
    if (bk) {
        bk->dir = malloc(n + 1);
        bk->path = malloc(n + sizeof BACKUP_FILE + 1);
    }
    if (!bk || !bk->dir || !bk->path) {
        bk_free(bk);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    strcpy(bk->dir, backup_dir);
    snprintf(bk->path, n + sizeof BACKUP_FILE + 1, "%s%s%s", backup_dir,
             backup_dir[n - 1] == '/' ? "" : "/", BACKUP_FILE);
    bk->delete_checkpoint = delete_checkpoint != 0;
    return bgm__callback_new_ops(out, &backup_ops, bk, fn);
}
