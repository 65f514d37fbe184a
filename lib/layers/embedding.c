/*
 * Embedding: rows of a (vocabulary, dimension) table picked by int32 token
 * ids, with Keras' mask_zero and initial rows from a matrix or word2vec.
 */
#include "layers/torch_map.h"

#include <stdlib.h>
#include <string.h>

#include "bigmodel/text.h"

BGM_API bgm_layer *bgm_layer_embedding(int64_t vocab_size, int64_t dim)
{
    bgm_layer *l;
    if (vocab_size > (int64_t)INT32_MAX + 1) {
        bgm__fail(BGM_E_INVALID, "bgm_layer_embedding: vocab_size = %lld, but token ids are "
                  "int32 (at most %lld rows)", (long long)vocab_size,
                  (long long)INT32_MAX + 1);
        return NULL;
    }
    l = bgm__layer_new(&bgm__embedding_ops, "bgm_layer_embedding");
    if (l) {
        l->input_dim = vocab_size;
        l->units = dim;
        l->kernel_init = BGM_INIT_RANDOM_UNIFORM;
    }
    return bgm__layer_checked(l);
}

/* Replaces the layer's initial rows with table (taken) and known (taken, NULL: all). */
static void set_table(bgm_layer *l, float *table, unsigned char *known)
{
    free(l->init_table);
    free(l->init_known);
    l->init_table = table;
    l->init_known = known;
}

BGM_API bgm_status bgm_layer_set_embedding_matrix(bgm_layer *layer, const bgm_tensor *matrix)
{
    static const char *fn = "bgm_layer_set_embedding_matrix";
    char got[BGM__SHAPE_STR_SIZE];
    const int64_t *shape;
    float *table;
    bgm_status s = bgm__layer_unbuilt(layer, fn);
    if (s == BGM_OK && layer->ops != &bgm__embedding_ops)
        s = bgm__layer_lacks(layer, fn, "embedding matrix");
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(matrix, fn);
    if (bgm_tensor_dtype(matrix) != BGM_FLOAT32)
        return bgm__fail(BGM_E_DTYPE, "%s: the matrix is int32, expected float32", fn);
    shape = bgm_tensor_shape(matrix);
    if (bgm_tensor_ndim(matrix) != 2 || shape[0] != layer->input_dim ||
        shape[1] != layer->units)
        return bgm__fail(BGM_E_SHAPE, "%s: the matrix has shape %s, the layer's table is "
                         "(%lld, %lld) (vocab_size, dim)", fn,
                         bgm__shape_str(got, sizeof got, shape, bgm_tensor_ndim(matrix)),
                         (long long)layer->input_dim, (long long)layer->units);
    table = malloc(bgm_tensor_nbytes(matrix));
    if (!table)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    memcpy(table, bgm_tensor_data(matrix), bgm_tensor_nbytes(matrix));
    set_table(layer, table, NULL);
    return BGM_OK;
}

BGM_API bgm_status bgm_layer_set_embedding_word2vec(bgm_layer *layer,
                                                    const bgm_word2vec *w2v,
                                                    const bgm_vocab *vocab)
{
    static const char *fn = "bgm_layer_set_embedding_word2vec";
    bgm_tensor *matrix = NULL;
    unsigned char *known;
    float *table;
    int64_t nv, i;
    bgm_status s = bgm__layer_unbuilt(layer, fn);
    if (s == BGM_OK && layer->ops != &bgm__embedding_ops)
        s = bgm__layer_lacks(layer, fn, "embedding matrix");
    if (s != BGM_OK)
        return s;
    BGM__CHECK_NULL(w2v, fn);
    BGM__CHECK_NULL(vocab, fn);
    if (bgm_word2vec_dim(w2v) != layer->units)
        return bgm__fail(BGM_E_SHAPE, "%s: the word vectors have %lld dimensions, the "
                         "layer's dim is %lld", fn, (long long)bgm_word2vec_dim(w2v),
                         (long long)layer->units);
    nv = bgm_vocab_size(vocab);
    if (nv > layer->input_dim)
        return bgm__fail(BGM_E_SHAPE, "%s: the vocabulary has %lld ids, more than the "
                         "layer's vocab_size %lld", fn, (long long)nv,
                         (long long)layer->input_dim);
    s = bgm_word2vec_embedding_matrix(&matrix, w2v, vocab);
    if (s != BGM_OK)
        return s;
    table = malloc((size_t)(nv * layer->units) * sizeof *table);
    known = calloc((size_t)layer->input_dim, 1);
    if (!table || !known) {
        free(table);
        free(known);
        bgm_tensor_free(matrix);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    memcpy(table, bgm_tensor_data(matrix), bgm_tensor_nbytes(matrix));
    bgm_tensor_free(matrix);
    /* The reserved ids and words word2vec never saw keep their random rows. */
    for (i = BGM_VOCAB_OOV + 1; i < nv; i++)
        known[i] = bgm_word2vec_index(w2v, bgm_vocab_token(vocab, (int32_t)i)) >= 0;
    set_table(layer, table, known);
    return BGM_OK;
}

/* The table's weight spec, the same for both uses. */
static void add_table_spec(bgm_layer *l)
{
    int64_t shape[2];
    shape[0] = l->input_dim;
    shape[1] = l->units;
    bgm__layer_add_spec(l, "embeddings", shape, 2, 1, l->kernel_init, l->input_dim,
                        l->units, 0);
}

/* Build of the tied output projection: (..., dim) float32 to (..., vocab_size). */
static bgm_status reverse_build(bgm_layer *l, const bgm__shape *in, bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->ndim < 1 || in->d[in->ndim - 1] != l->units)
        return bgm__layer_fail(l, BGM_E_SHAPE, "called on float32 input %s as the tied "
                               "output projection, whose last dimension must be the "
                               "embedding dimension %lld",
                               bgm__batch_shape_str(got, sizeof got, in->d, in->ndim),
                               (long long)l->units);
    add_table_spec(l);
    bgm__same_shape(in, out);
    out->d[in->ndim - 1] = l->input_dim;
    return BGM_OK;
}

static bgm_status embedding_build(bgm_layer *l, const bgm__shape *in, int nin,
                                  bgm__shape *out)
{
    char got[BGM__SHAPE_STR_SIZE];
    if (in->dtype == BGM_FLOAT32 && bgm__layer_called(l)) /* a second call: the tied projection */
        return reverse_build(l, in, out);
    if (in->dtype != BGM_INT32) {
        if (l->index > 0)
            return bgm__layer_fail(l, BGM_E_DTYPE, "takes int32 token ids, so it must be "
                                   "the model's first layer; here its input would be the "
                                   "float32 output of layer %d", l->index - 1);
        return bgm__layer_fail(l, BGM_E_DTYPE, "takes int32 token ids, so its input must "
                               "be an int32 model input; here it is float32 (only a "
                               "second call takes float32: the tied output projection)");
    }
    if (in->ndim + 1 >= BGM_MAX_DIMS)
        return bgm__layer_fail(l, BGM_E_SHAPE, "input %s leaves no room for the embedding "
                               "dimension", bgm__shape_str(got, sizeof got, in->d,
                                                            in->ndim));
    add_table_spec(l);
    bgm__same_shape(in, out);
    out->d[in->ndim] = l->units;
    out->ndim = in->ndim + 1;
    return BGM_OK;
}

static bgm_status embedding_forward(const bgm_layer *l, const bgm__forward_ctx *ctx,
                                    bgm_tensor *const *w, const bgm_tensor *const *x,
                                    int nx, bgm_tensor **y)
{
    if (bgm_tensor_dtype(x[0]) == BGM_FLOAT32) /* the tied projection: x E^T */
        return bgm_op_matmul_nt(y, ctx->tape, x[0], w[0]);
    return bgm_op_embedding(y, ctx->tape, x[0], w[0]);
}

static bgm_status embedding_mask(const bgm_layer *l, const bgm_tensor *x,
                                 const bgm_tensor *const *masks, int nx,
                                 const bgm_tensor **out, bgm_tensor **made)
{
    bgm_status s;
    *out = NULL;
    *made = NULL;
    if (bgm_tensor_dtype(x) == BGM_FLOAT32) /* the projection keeps the positions */
        return bgm__pass_mask(l, x, masks, nx, out, made);
    if (!l->mask_zero)
        return BGM_OK;
    s = bgm_sequence_mask(made, x);
    *out = *made;
    return s;
}

static void embedding_init(const bgm_layer *l, float *const *w)
{
    int64_t rows, r;
    size_t row = (size_t)l->units * sizeof(float);
    if (!l->init_table)
        return;
    if (!l->init_known) {
        memcpy(w[0], l->init_table, (size_t)l->input_dim * row);
        return;
    }
    rows = l->input_dim;
    for (r = 0; r < rows; r++)
        if (l->init_known[r])
            memcpy(w[0] + r * l->units, l->init_table + r * l->units, row);
}

/* nn.Embedding: weight (vocab, dim), the same layout. */
static void embedding_torch(const bgm_layer *l, bgm__torch_map *map)
{
    bgm__torch_add(map, "weight", "", 0, BGM__TORCH_SAME, 2, l->input_dim, l->units, 0, 0);
}

/* Token ids are int32: at most 2^31 rows. */
static const bgm__field embedding_fields[] = {
    {.key = "input_dim", .what = "vocabulary size", .label = "vocab_size",
     .type = BGM__FIELD_INT, .offset = BGM__OFFSET(input_dim), .lo = 1,
     .hi = BGM__INT32_MAX + 1.0},
    {.key = "output_dim", .what = "dimension", .label = "dim", .type = BGM__FIELD_INT,
     .offset = BGM__OFFSET(units), .lo = 1, .hi = BGM__INT32_MAX},
    BGM__FIELD_KERNEL_INIT("embeddings_initializer"),
    {.key = "mask_zero", .what = "mask_zero", .label = "mask_zero", .type = BGM__FIELD_BOOL,
     .offset = BGM__OFFSET(mask_zero)}};

const bgm__layer_ops bgm__embedding_ops = {
    .kind = "Embedding", .prefix = "embedding", .ctor = "bgm_layer_embedding",
    .fields = embedding_fields, .nfields = BGM__NFIELDS(embedding_fields),
    .build = embedding_build, .forward = embedding_forward, .compute_mask = embedding_mask,
    .init_weights = embedding_init, .torch = embedding_torch, .takes_ids = 1,
    .decode = BGM__DECODE_POINTWISE};
