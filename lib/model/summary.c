/*
 * model.summary(): Keras' table, with its column positions (29, 55, 65) and
 * its rule of cutting a field that runs into the next column.
 */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE 65

static const int positions[3] = {29, 55, 65};

/* Growable text. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int oom;
} text;

static void put(text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->oom)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        char *grown;
        while (cap < t->len + n + 1)
            cap *= 2;
        grown = realloc(t->buf, cap);
        if (!grown) {
            t->oom = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n + 1);
    t->len += n;
}

static void rule(text *t, char c)
{
    char line[LINE + 2];
    memset(line, c, LINE);
    line[LINE] = '\n';
    line[LINE + 1] = '\0';
    put(t, line);
}

/* Keras' print_row: each field cut at its column's end, the last cell of a
 * column turned into a space before the next field starts. */
static void row(text *t, const char *const fields[3])
{
    char line[LINE + 2];
    size_t len = 0;
    int i;
    for (i = 0; i < 3; i++) {
        size_t n = strlen(fields[i]), end = (size_t)positions[i];
        if (i > 0 && len > 0)
            line[len - 1] = ' ';
        if (len + n > end)
            n = end > len ? end - len : 0;
        memcpy(line + len, fields[i], n);
        len += n;
        while (len < end)
            line[len++] = ' ';
    }
    line[len++] = '\n';
    line[len] = '\0';
    put(t, line);
}

/* 122570 -> "122,570" */
static void with_commas(char *buf, size_t size, int64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), i;
    size_t used = 0;
    for (i = 0; i < n && used + 2 < size; i++) {
        buf[used++] = digits[i];
        if (digits[i] != '-' && (n - i - 1) % 3 == 0 && i != n - 1)
            buf[used++] = ',';
    }
    buf[used] = '\0';
}

static bgm_status build_text(const bgm_model *m, text *t)
{
    char name[BGM__NAME_SIZE + 40], shape[BGM__SHAPE_STR_SIZE], count[32], line[128];
    const char *header[3] = {"Layer (type)", "Output Shape", "Param #"};
    int i;
    put(t, "Model: \"sequential\"\n");
    rule(t, '_');
    row(t, header);
    rule(t, '=');
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        const char *fields[3];
        snprintf(name, sizeof name, "%s (%s)", l->name, l->ops->kind);
        bgm__batch_shape_str(shape, sizeof shape, l->out_shape, l->out_ndim);
        snprintf(count, sizeof count, "%lld", (long long)bgm_layer_num_params(l));
        fields[0] = name;
        fields[1] = shape;
        fields[2] = count;
        row(t, fields);
        rule(t, i == m->nlayers - 1 ? '=' : '_');
    }
    if (m->nlayers == 0)
        rule(t, '=');
    with_commas(count, sizeof count, m->nparams + m->nstate);
    snprintf(line, sizeof line, "Total params: %s\n", count);
    put(t, line);
    with_commas(count, sizeof count, m->nparams);
    snprintf(line, sizeof line, "Trainable params: %s\n", count);
    put(t, line);
    with_commas(count, sizeof count, m->nstate);
    snprintf(line, sizeof line, "Non-trainable params: %s\n", count);
    put(t, line);
    rule(t, '_');
    if (t->oom) {
        free(t->buf);
        t->buf = NULL;
        return bgm__fail(BGM_E_NOMEM, "out of memory for the summary");
    }
    return BGM_OK;
}

BGM_API bgm_status bgm_model_summary(const bgm_model *m, bgm_write_fn write, void *ctx)
{
    text t = {NULL, 0, 0, 0};
    bgm_status s;
    BGM__CHECK_NULL(m, "bgm_model_summary");
    s = build_text(m, &t);
    if (s != BGM_OK)
        return s;
    if (write)
        write(ctx, t.buf);
    else
        fputs(t.buf, stdout);
    free(t.buf);
    return BGM_OK;
}

BGM_API bgm_status bgm_model_summary_string(char *buf, size_t size, size_t *needed,
                                            const bgm_model *m)
{
    static const char *fn = "bgm_model_summary_string";
    text t = {NULL, 0, 0, 0};
    bgm_status s;
    if (needed)
        *needed = 0;
    if (size > 0 && !buf)
        return bgm__fail(BGM_E_INVALID, "%s: buf is NULL with size %zu", fn, size);
    if (size > 0)
        buf[0] = '\0';
    BGM__CHECK_NULL(m, fn);
    s = build_text(m, &t);
    if (s != BGM_OK)
        return s;
    if (needed)
        *needed = t.len + 1;
    if (size > 0) {
        size_t n = t.len < size - 1 ? t.len : size - 1;
        memcpy(buf, t.buf, n);
        buf[n] = '\0';
    }
    free(t.buf);
    return BGM_OK;
}
