/*
 * bgm_op_embedding: rows of a table picked by integer ids, and the padding
 * mask of an id batch.
 *
 * The ids are not an input of the node (the tape only knows float32
 * inputs): a copy travels in node->saved, so the backward pass scatters
 * into the table gradient without looking at the caller's tensor again.
 */
#include <stdio.h>
#include <string.h>

#include "kernels/rnn.h"
#include "tape.h"

typedef struct embedding_saved {
    int32_t *ids;
    int64_t n;
} embedding_saved;

/* in[0] = table. */
static void embedding_backward(const bgm__node *node, const float *gout, float **gin)
{
    const embedding_saved *sv = node->saved;
    if (gin[0])
        bgm__embedding_backward(sv->ids, sv->n, gout, node->in[0]->shape[1], gin[0]);
}

static const bgm__op op_embedding = {"embedding", embedding_backward, 0};

/* Writes the multi-index of flat position k in shape as "[i, j, ...]". */
static void format_position(char *buf, size_t size, const int64_t *shape, int ndim, int64_t k)
{
    int64_t idx[BGM_MAX_DIMS];
    size_t used = 0;
    int d;
    for (d = ndim - 1; d >= 0; d--) {
        idx[d] = shape[d] ? k % shape[d] : 0;
        k = shape[d] ? k / shape[d] : 0;
    }
    used += (size_t)snprintf(buf, size, "[");
    for (d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld",
                                 (long long)idx[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
}

/* BGM_E_RANGE naming the first id that is not a row of table. */
static bgm_status check_ids(const char *fn, const bgm_tensor *ids, const bgm_tensor *table)
{
    int64_t rows = table->shape[0];
    const int32_t *v = ids->data;
    int64_t k;
    for (k = 0; k < ids->numel; k++) {
        if (v[k] < 0 || v[k] >= rows) {
            char pos[BGM__SHAPE_STR_SIZE], st[BGM__SHAPE_STR_SIZE];
            format_position(pos, sizeof pos, ids->shape, ids->ndim, k);
            return bgm__fail(BGM_E_RANGE, "%s: id %ld at position %s is outside [0, %lld), "
                             "the rows of table %s", fn, (long)v[k], pos, (long long)rows,
                             bgm__tensor_shape_str(st, sizeof st, table));
        }
    }
    return BGM_OK;
}

static bgm_status check_ids_dtype(const char *fn, const bgm_tensor *ids)
{
    if (ids->dtype != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: ids are %s, expected int32", fn,
                         ids->dtype == BGM_FLOAT32 ? "float32" : "of an unknown dtype");
    return BGM_OK;
}

BGM_API bgm_status bgm_op_embedding(bgm_tensor **out, bgm_tape *tape, const bgm_tensor *ids,
                                    const bgm_tensor *table)
{
    static const char *fn = "bgm_op_embedding";
    const bgm_tensor *in[1] = {table};
    char st[BGM__SHAPE_STR_SIZE];
    int64_t shape[BGM_MAX_DIMS];
    bgm__op_call c;
    bgm_status s;
    int d;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ids, fn);
    BGM__CHECK_NULL(table, fn);
    s = check_ids_dtype(fn, ids);
    if (s != BGM_OK)
        return s;
    if (table->dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: the table is %s, expected float32", fn,
                         table->dtype == BGM_INT32 ? "int32" : "of an unknown dtype");
    bgm__tensor_shape_str(st, sizeof st, table);
    if (table->ndim != 2)
        return bgm__fail(BGM_E_SHAPE, "%s: the table must be (V, D), got shape %s", fn, st);
    if (ids->ndim + 1 > BGM_MAX_DIMS) {
        char si[BGM__SHAPE_STR_SIZE];
        return bgm__fail(BGM_E_SHAPE, "%s: ids %s leave no room for the embedding "
                         "dimension (at most %d dimensions)", fn,
                         bgm__tensor_shape_str(si, sizeof si, ids), BGM_MAX_DIMS);
    }
    s = check_ids(fn, ids, table);
    if (s != BGM_OK)
        return s;
    for (d = 0; d < ids->ndim; d++)
        shape[d] = ids->shape[d];
    shape[ids->ndim] = table->shape[1];
    s = bgm__op_begin(&c, fn, out, tape, &op_embedding, in, 1, shape, ids->ndim + 1, NULL);
    if (s != BGM_OK)
        return s;
    if (c.node) {
        embedding_saved *sv = bgm__op_save(&c, sizeof *sv);
        int32_t *copy = sv ? bgm__op_save(&c, (size_t)ids->numel * sizeof *copy) : NULL;
        if (!copy)
            return bgm__op_fail(&c, bgm__fail(BGM_E_NOMEM, "%s: out of memory saving "
                                              "the ids", fn));
        memcpy(copy, ids->data, (size_t)ids->numel * sizeof *copy);
        sv->ids = copy;
        sv->n = ids->numel;
        c.node->saved = sv;
    }
    bgm__embedding_forward(ids->data, ids->numel, table->data, table->shape[1], c.out->data);
    return bgm__op_end(&c, out);
}

BGM_API bgm_status bgm_sequence_mask(bgm_tensor **out, const bgm_tensor *ids)
{
    static const char *fn = "bgm_sequence_mask";
    const int32_t *v;
    float *m;
    int64_t k;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(ids, fn);
    s = check_ids_dtype(fn, ids);
    if (s != BGM_OK)
        return s;
    s = bgm__tensor_new(out, fn, BGM_FLOAT32, ids->shape, ids->ndim);
    if (s != BGM_OK)
        return s;
    v = ids->data;
    m = (*out)->data;
    for (k = 0; k < ids->numel; k++)
        m[k] = v[k] != 0 ? 1.0f : 0.0f;
    return BGM_OK;
}
