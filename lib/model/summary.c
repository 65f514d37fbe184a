/*
 * model.summary(): Keras' tables with their column positions and their rule
 * of cutting a field that runs into the next column: Sequential's three
 * columns (29, 55, 65), and the functional layout (32, 53, 65, 98) with its
 * input layers and "Connected to" column.
 */
#include "model/model_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 98

static const int seq_positions[3] = {29, 55, 65};
static const int graph_positions[4] = {32, 53, 65, 98};

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

static void rule(text *t, char c, int width)
{
    char line[MAX_LINE + 2];
    memset(line, c, (size_t)width);
    line[width] = '\n';
    line[width + 1] = '\0';
    put(t, line);
}

/* Keras' print_row: each field cut at its column's end, the last cell of a
 * column turned into a space before the next field starts. */
static void row(text *t, const char *const *fields, const int *positions, int n_fields)
{
    char line[MAX_LINE + 2];
    size_t len = 0;
    int i;
    for (i = 0; i < n_fields; i++) {
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

static void totals(const bgm_model *m, text *t, int width)
{
    char count[32], line[128];
    with_commas(count, sizeof count, m->nparams + m->nstate);
    snprintf(line, sizeof line, "Total params: %s\n", count);
    put(t, line);
    with_commas(count, sizeof count, m->nparams);
    snprintf(line, sizeof line, "Trainable params: %s\n", count);
    put(t, line);
    with_commas(count, sizeof count, m->nstate);
    snprintf(line, sizeof line, "Non-trainable params: %s\n", count);
    put(t, line);
    rule(t, '_', width);
}

static void sequential_text(const bgm_model *m, text *t)
{
    char name[BGM__NAME_SIZE + 40], shape[BGM__SHAPE_STR_SIZE], count[32];
    const char *header[3] = {"Layer (type)", "Output Shape", "Param #"};
    int i;
    put(t, "Model: \"sequential\"\n");
    rule(t, '_', 65);
    row(t, header, seq_positions, 3);
    rule(t, '=', 65);
    for (i = 0; i < m->nlayers; i++) {
        const bgm_layer *l = m->layers[i];
        const char *fields[3];
        snprintf(name, sizeof name, "%s (%s)", l->name, l->ops->kind);
        bgm__batch_shape_str(shape, sizeof shape, l->out_shape, l->out_ndim);
        snprintf(count, sizeof count, "%lld", (long long)bgm_layer_num_params(l));
        fields[0] = name;
        fields[1] = shape;
        fields[2] = count;
        row(t, fields, seq_positions, 3);
        rule(t, i == m->nlayers - 1 ? '=' : '_', 65);
    }
    if (m->nlayers == 0)
        rule(t, '=', 65);
    totals(m, t, 65);
}

/* Keras' "<layer>[<call>][<output>]" for the node of step k: call is the
 * position of the node's call among the plan's calls of its layer (0 for an
 * input), output which of the call's outputs it is. */
static void node_ref(char *buf, size_t size, const bgm_model *m, int k)
{
    const bgm_node *node = m->steps[k].node;
    int call = 0, j;
    for (j = 0; j < k; j++)
        call += node->layer && m->steps[j].node->layer == node->layer &&
                m->steps[j].node->output == 0;
    if (node->output > 0) /* its call was counted at its output 0 */
        call--;
    snprintf(buf, size, "%s[%d][%d]", node->layer ? node->layer->name : node->name, call,
             node->output);
}

/* "[(None, 5, 8), (None, 2, 5, 5)]": the shapes of every output of node's call. */
static void call_shapes(char *buf, size_t size, const bgm_node *node)
{
    char s[BGM__SHAPE_STR_SIZE];
    size_t used = 0;
    int j;
    for (j = 0; j < node->noutputs && used < size; j++) {
        const bgm_node *o = bgm__node_sibling(node, j);
        used += (size_t)snprintf(buf + used, size - used, "%s%s", j ? ", " : "[",
                                 bgm__batch_shape_str(s, sizeof s, o->shape.d,
                                                      o->shape.ndim));
    }
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* One row per input and per layer, in plan order; a layer's row lists the
 * nodes every call of it takes, one per line. */
static void graph_text(const bgm_model *m, text *t)
{
    char name[BGM__NAME_SIZE + 40], shape[BGM__SHAPE_STR_SIZE + 4], count[32];
    char conn[BGM__NAME_SIZE + 24];
    const char *header[4] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
    int k, j, e, rows = 0;
    put(t, "Model: \"model\"\n");
    rule(t, '_', 98);
    row(t, header, graph_positions, 4);
    rule(t, '=', 98);
    for (k = 0; k < m->nsteps; k++) {
        const bgm_node *node = m->steps[k].node;
        const char *fields[4];
        int first = 1, same_shape = 1;
        for (j = 0; node->layer && j < k; j++)
            if (m->steps[j].node->layer == node->layer)
                break;
        if (node->layer && j < k)
            continue; /* the layer has its row */
        if (rows++)
            rule(t, '_', 98);
        if (!node->layer) {
            char s[BGM__SHAPE_STR_SIZE];
            snprintf(name, sizeof name, "%s (InputLayer)", node->name);
            snprintf(shape, sizeof shape, "[%s]",
                     bgm__batch_shape_str(s, sizeof s, node->shape.d, node->shape.ndim));
            fields[0] = name;
            fields[1] = shape;
            fields[2] = "0";
            fields[3] = "";
            row(t, fields, graph_positions, 4);
            continue;
        }
        for (j = k + 1; j < m->nsteps; j++)
            if (m->steps[j].node->layer == node->layer && m->steps[j].node->output == 0 &&
                (m->steps[j].node->shape.ndim != node->shape.ndim ||
                 memcmp(m->steps[j].node->shape.d, node->shape.d,
                        (size_t)node->shape.ndim * sizeof(int64_t)) != 0))
                same_shape = 0;
        snprintf(name, sizeof name, "%s (%s)", node->layer->name, node->layer->ops->kind);
        if (same_shape && node->noutputs > 1)
            call_shapes(shape, sizeof shape, node);
        else if (same_shape)
            bgm__batch_shape_str(shape, sizeof shape, node->shape.d, node->shape.ndim);
        else
            snprintf(shape, sizeof shape, "multiple");
        snprintf(count, sizeof count, "%lld", (long long)bgm_layer_num_params(node->layer));
        for (j = k; j < m->nsteps; j++) {
            const bgm__step *st = &m->steps[j];
            if (st->node->layer != node->layer || st->node->output > 0)
                continue;
            for (e = 0; e < st->nin; e++) {
                node_ref(conn, sizeof conn, m, st->in[e]);
                fields[0] = first ? name : "";
                fields[1] = first ? shape : "";
                fields[2] = first ? count : "";
                fields[3] = conn;
                row(t, fields, graph_positions, 4);
                first = 0;
            }
        }
    }
    rule(t, '=', 98);
    totals(m, t, 98);
}

static bgm_status build_text(const bgm_model *m, text *t)
{
    if (m->sequential)
        sequential_text(m, t);
    else
        graph_text(m, t);
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
