/*
 * Keras' ModelCheckpoint: saves the model (or its weights) during fit to a
 * path whose "{epoch:02d}" / "{val_loss:.4f}" fields are filled in as
 * Python's str.format does, for the subset of format specs that file names
 * use.
 */
#include "train/train.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct checkpoint {
    char *filepath;
    bgm__monitor mon;
    int verbose, save_best_only, save_weights_only;
    int64_t save_freq;         /* 0: at epoch ends, else every save_freq batches */
    int64_t since_save;        /* batches since the last save */
    /* best (in mon) and since_save carry over from one fit to the next, as
     * Keras' ModelCheckpoint keeps them */
} checkpoint;

/* One parsed format spec: [[fill]align][sign][0][width][.precision][type]. */
typedef struct spec {
    char fill, align, sign, type;
    int zero, width, precision;
} spec;

static const char *spec_end_error = "expected [[fill]align][sign][0][width][.precision][type] "
                                    "with type d, f, e, E, g, G or %";

/* Parses text[0..n) into sp; 0 when it is not a spec this file supports. */
static int parse_spec(spec *sp, const char *text, size_t n)
{
    size_t i = 0;
    memset(sp, 0, sizeof *sp);
    sp->fill = ' ';
    sp->precision = -1;
    if (n >= 2 && strchr("<>=^", text[1])) {
        sp->fill = text[0];
        sp->align = text[1];
        i = 2;
    } else if (n >= 1 && strchr("<>=^", text[0])) {
        sp->align = text[0];
        i = 1;
    }
    if (i < n && strchr("+- ", text[i]))
        sp->sign = text[i++];
    if (i < n && text[i] == '0') {
        sp->zero = 1;
        i++;
    }
    while (i < n && isdigit((unsigned char)text[i]) && sp->width < 1000)
        sp->width = sp->width * 10 + (text[i++] - '0');
    if (i < n && text[i] == '.') {
        if (++i >= n || !isdigit((unsigned char)text[i]))
            return 0;
        sp->precision = 0;
        while (i < n && isdigit((unsigned char)text[i]) && sp->precision < 100)
            sp->precision = sp->precision * 10 + (text[i++] - '0');
    }
    if (i < n && strchr("dfeEgG%", text[i]))
        sp->type = text[i++];
    if (i != n || (sp->precision >= 0 && !sp->type) || (sp->type == 'd' && sp->precision >= 0))
        return 0;
    return 1;
}

/* Formats v (an integer when is_int) by sp into out; 0 when the spec does
 * not fit the value (Python's ValueError: "d" on a float). */
static int format_value(char *out, size_t size, const spec *sp, double v, int is_int)
{
    char num[400], fmt[16], *body = num;
    const char *sign = "";
    size_t len, pad, left;
    int prec = sp->precision >= 0 ? sp->precision : 6;
    if (sp->type == 'd' && !is_int)
        return 0;
    if (signbit(v) && !isnan(v)) {
        sign = "-";
        v = -v;
    } else if (sp->sign == '+' || sp->sign == ' ') {
        sign = sp->sign == '+' ? "+" : " ";
    }
    if (!sp->type && is_int)
        snprintf(num, sizeof num, "%.0f", v);
    else if (!sp->type)
        bgm__format_repr(num, sizeof num, v);
    else if (sp->type == 'd')
        snprintf(num, sizeof num, "%.0f", v);
    else if (sp->type == '%') {
        snprintf(num, sizeof num, "%.*f%%", prec, v * 100.0);
    } else {
        snprintf(fmt, sizeof fmt, "%%.*%c", sp->type);
        snprintf(num, sizeof num, fmt, prec, v);
    }
    len = strlen(sign) + strlen(body);
    pad = sp->width > 0 && (size_t)sp->width > len ? (size_t)sp->width - len : 0;
    {
        char fill = sp->zero && !sp->align ? '0' : sp->fill;
        char align = sp->align ? sp->align : sp->zero ? '=' : '>';
        size_t i, used = 0;
        left = align == '<' ? 0 : align == '^' ? pad / 2 : pad;
        if (align == '=') {
            used += (size_t)snprintf(out + used, size - used, "%s", sign);
            for (i = 0; i < pad && used + 1 < size; i++)
                out[used++] = fill;
            snprintf(out + used, size - used, "%s", body);
            return 1;
        }
        for (i = 0; i < left && used + 1 < size; i++)
            out[used++] = fill;
        used += (size_t)snprintf(out + used, size - used, "%s%s", sign, body);
        for (i = left; i < pad && used + 1 < size; i++)
            out[used++] = fill;
        out[used < size ? used : size - 1] = '\0';
    }
    return 1;
}

/* Checks every field of path (names not yet known), naming fn. */
static bgm_status check_fields(const char *path, const char *fn)
{
    const char *p = path;
    spec sp;
    while (*p) {
        if (p[0] == '{' && p[1] == '{') {
            p += 2;
            continue;
        }
        if (p[0] == '}') {
            if (p[1] != '}')
                return bgm__fail(BGM_E_INVALID, "%s: filepath '%s': a single '}' at byte %d "
                                 "(write '}}' for a brace)", fn, path, (int)(p - path));
            p += 2;
            continue;
        }
        if (p[0] == '{') {
            const char *end = strchr(p, '}'), *colon;
            if (!end)
                return bgm__fail(BGM_E_INVALID, "%s: filepath '%s': the field at byte %d has "
                                 "no closing '}'", fn, path, (int)(p - path));
            colon = memchr(p, ':', (size_t)(end - p));
            if ((colon ? colon : end) == p + 1 || (size_t)((colon ? colon : end) - p - 1) >=
                                                      BGM__KEY_SIZE)
                return bgm__fail(BGM_E_INVALID, "%s: filepath '%s': the field at byte %d "
                                 "needs a name of 1 to %d bytes", fn, path, (int)(p - path),
                                 BGM__KEY_SIZE - 1);
            if (colon && !parse_spec(&sp, colon + 1, (size_t)(end - colon - 1)))
                return bgm__fail(BGM_E_INVALID, "%s: filepath '%s': format spec '%.*s' is not "
                                 "supported: %s", fn, path, (int)(end - colon - 1), colon + 1,
                                 spec_end_error);
            p = end + 1;
            continue;
        }
        p++;
    }
    return BGM_OK;
}

/* The path of a save: ck->filepath with epoch (0-based), batch (0-based,
 * or -1 at an epoch end) and the logs filled in. */
static bgm_status fill_path(char *out, size_t size, const checkpoint *ck, int epoch,
                            int64_t batch, const bgm_logs *logs)
{
    const char *p = ck->filepath;
    size_t used = 0;
    spec sp;
    while (*p) {
        char piece[512];
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            piece[0] = p[0];
            piece[1] = '\0';
            p += 2;
        } else if (p[0] == '{') {
            const char *end = strchr(p, '}');
            const char *colon = memchr(p, ':', (size_t)(end - p));
            const char *name_end = colon ? colon : end;
            char name[BGM__KEY_SIZE];
            double v;
            int is_int = 0, k;
            snprintf(name, sizeof name, "%.*s", (int)(name_end - p - 1), p + 1);
            parse_spec(&sp, colon ? colon + 1 : end, colon ? (size_t)(end - colon - 1) : 0);
            if (strcmp(name, "epoch") == 0) {
                v = epoch + 1;
                is_int = 1;
            } else if (strcmp(name, "batch") == 0 && batch >= 0) {
                v = (double)(batch + 1);
                is_int = 1;
            } else if ((k = bgm__logs_find(logs, name)) >= 0) {
                v = logs->values[k];
            } else {
                char have[1024];
                int i;
                size_t h = (size_t)snprintf(have, sizeof have, "epoch%s", batch >= 0 ? ", batch"
                                                                                      : "");
                for (i = 0; i < logs->n && h < sizeof have; i++)
                    h += (size_t)snprintf(have + h, sizeof have - h, ", %s", logs->names[i]);
                return bgm__fail(BGM_E_INVALID, "ModelCheckpoint: failed to format the "
                                 "filepath '%s': no value called '%s' (there are: %s)",
                                 ck->filepath, name, have);
            }
            if (!format_value(piece, sizeof piece, &sp, v, is_int))
                return bgm__fail(BGM_E_INVALID, "ModelCheckpoint: failed to format the "
                                 "filepath '%s': unknown format code 'd' for '%s' = %g, a "
                                 "float", ck->filepath, name, v);
            p = end + 1;
        } else {
            size_t run = strcspn(p, "{}");
            if (run == 0)
                run = 1;
            snprintf(piece, sizeof piece, "%.*s", (int)(run < 500 ? run : 500), p);
            p += run < 500 ? run : 500;
        }
        if (used + strlen(piece) >= size)
            return bgm__fail(BGM_E_INVALID, "ModelCheckpoint: the filepath made from '%s' is "
                             "longer than %zu bytes", ck->filepath, size - 1);
        memcpy(out + used, piece, strlen(piece) + 1);
        used += strlen(piece);
    }
    out[used] = '\0';
    return BGM_OK;
}

/* Keras' decision, with its verbose lines and warning: 1 to save. */
static int should_save(checkpoint *ck, bgm__train_state *st, int epoch, const char *path,
                       const bgm_logs *logs)
{
    int k;
    double current;
    if (!ck->save_best_only) {
        if (ck->verbose)
            bgm__train_say(st, "\nEpoch %d: saving model to %s\n", epoch + 1, path);
        return 1;
    }
    k = bgm__logs_find(logs, ck->mon.name);
    if (k < 0) {
        bgm__model_warn(st->model, "Can save best model only with %s available.", ck->mon.name);
        return 1;
    }
    current = logs->values[k];
    if (bgm__monitor_improved(&ck->mon, current, 0.0)) {
        if (ck->verbose)
            bgm__train_say(st, "\nEpoch %d: %s improved from %.5f to %.5f, saving model to "
                           "%s\n", epoch + 1, ck->mon.name, ck->mon.best, current, path);
        ck->mon.best = current;
        return 1;
    }
    if (ck->verbose)
        bgm__train_say(st, "\nEpoch %d: %s did not improve from %.5f\n", epoch + 1,
                       ck->mon.name, ck->mon.best);
    return 0;
}

static bgm_status save(checkpoint *ck, bgm__train_state *st, int epoch, int64_t batch,
                       const bgm_logs *logs)
{
    char path[4096], msg[1200];
    bgm_status s = fill_path(path, sizeof path, ck, epoch, batch, logs);
    if (s != BGM_OK || !should_save(ck, st, epoch, path, logs))
        return s;
    s = bgm__make_dirs(path, 0, "ModelCheckpoint");
    if (s != BGM_OK)
        return s;
    s = ck->save_weights_only ? bgm_model_save_weights(st->model, path)
                              : bgm_model_save(st->model, path, 0);
    if (s != BGM_OK) {
        snprintf(msg, sizeof msg, "%s", bgm_last_error());
        return bgm__fail(s, "ModelCheckpoint: cannot save to '%s': %s", path, msg);
    }
    return BGM_OK;
}

static bgm_status ck_batch_end(void *impl, bgm__train_state *st, int epoch, int64_t batch,
                               const bgm_logs *logs)
{
    checkpoint *ck = impl;
    if (ck->save_freq == 0 || ++ck->since_save < ck->save_freq)
        return BGM_OK;
    ck->since_save = 0;
    return save(ck, st, epoch, batch, logs);
}

static bgm_status ck_epoch_end(void *impl, bgm__train_state *st, int epoch, bgm_logs *logs)
{
    checkpoint *ck = impl;
    return ck->save_freq == 0 ? save(ck, st, epoch, -1, logs) : BGM_OK;
}

static void ck_free(void *impl)
{
    checkpoint *ck = impl;
    if (ck)
        free(ck->filepath);
    free(ck);
}

static const bgm__callback_ops checkpoint_ops = {
    .wants_batches = 0, .batch_end = ck_batch_end,
    .epoch_end = ck_epoch_end, .free_impl = ck_free};

static const bgm__callback_ops checkpoint_batch_ops = {
    .wants_batches = 1, .batch_end = ck_batch_end,
    .epoch_end = ck_epoch_end, .free_impl = ck_free};

BGM_API bgm_status bgm_callback_model_checkpoint(bgm_callback **out, const char *filepath,
                                                 const char *monitor, int verbose,
                                                 int save_best_only, int save_weights_only,
                                                 const char *mode, int64_t save_freq,
                                                 double initial_value_threshold)
{
    static const char *fn = "bgm_callback_model_checkpoint";
    checkpoint *ck;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(filepath, fn);
    BGM__CHECK_NULL(monitor, fn);
    if (filepath[0] == '\0')
        return bgm__fail(BGM_E_INVALID, "%s: filepath is empty", fn);
    if (verbose != 0 && verbose != 1)
        return bgm__fail(BGM_E_INVALID, "%s: verbose = %d, expected 0 or 1", fn, verbose);
    if (save_freq < 0)
        return bgm__fail(BGM_E_INVALID, "%s: save_freq = %lld, expected 0 (every epoch) or a "
                         "number of batches", fn, (long long)save_freq);
    s = check_fields(filepath, fn);
    if (s != BGM_OK)
        return s;
    ck = calloc(1, sizeof *ck);
    if (!ck || !(ck->filepath = malloc(strlen(filepath) + 1))) {
        free(ck);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    strcpy(ck->filepath, filepath);
    s = bgm__monitor_init(&ck->mon, monitor, mode, fn);
    if (s != BGM_OK) {
        ck_free(ck);
        return s;
    }
    ck->verbose = verbose;
    ck->save_best_only = save_best_only != 0;
    ck->save_weights_only = save_weights_only != 0;
    ck->save_freq = save_freq;
    if (!isnan(initial_value_threshold))
        ck->mon.best = initial_value_threshold;
    return bgm__callback_new_ops(out, save_freq ? &checkpoint_batch_ops : &checkpoint_ops, ck,
                                 fn);
}
