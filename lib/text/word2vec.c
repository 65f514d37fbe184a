/* bgm_word2vec: the model handle, lookups, cosine neighbours, document vectors. */
#include "word2vec_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/tensor_impl.h"

bgm_status bgm__word2vec_new(bgm_word2vec **out, const char *func, int64_t dim)
{
    bgm_word2vec *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    bgm__strtab_init(&m->words);
    m->dim = dim;
    *out = m;
    return BGM_OK;
}

int bgm__word2vec_reserve(bgm_word2vec *m, int64_t n)
{
    size_t rows = (size_t)(n ? n : 1), bytes;
    float *v, *norms;
    if (!bgm__mul_size(rows, (size_t)m->dim, &bytes) ||
        !bgm__mul_size(bytes, sizeof(float), &bytes))
        return 0;
    v = realloc(m->vectors, bytes ? bytes : sizeof(float));
    if (!v)
        return 0;
    m->vectors = v;
    norms = realloc(m->inv_norms, rows * sizeof *norms);
    if (!norms)
        return 0;
    m->inv_norms = norms;
    return 1;
}

void bgm__word2vec_finish(bgm_word2vec *m)
{
    int64_t i, j, n = m->words.count;
    for (i = 0; i < n; i++) {
        const float *v = m->vectors + i * m->dim;
        double ss = 0;
        for (j = 0; j < m->dim; j++)
            ss += (double)v[j] * v[j];
        m->inv_norms[i] = ss > 0 ? (float)(1.0 / sqrt(ss)) : 0.0f;
    }
}

BGM_API void bgm_word2vec_free(bgm_word2vec *m)
{
    if (!m)
        return;
    bgm__strtab_release(&m->words);
    free(m->vectors);
    free(m->inv_norms);
    free(m);
}

BGM_API int64_t bgm_word2vec_vocab_size(const bgm_word2vec *m)
{
    return m ? m->words.count : 0;
}

BGM_API int64_t bgm_word2vec_dim(const bgm_word2vec *m)
{
    return m ? m->dim : 0;
}

BGM_API const char *bgm_word2vec_word(const bgm_word2vec *m, int64_t i)
{
    if (!m || i < 0 || i >= m->words.count)
        return NULL;
    return bgm__strtab_str(&m->words, i);
}

BGM_API int64_t bgm_word2vec_index(const bgm_word2vec *m, const char *word)
{
    if (!m || !word)
        return -1;
    return bgm__strtab_find(&m->words, word, strlen(word));
}

/* Index of word, or BGM_E_RANGE naming it. */
static bgm_status find_word(int64_t *idx, const char *func, const bgm_word2vec *m,
                            const char *word)
{
    *idx = bgm__strtab_find(&m->words, word, strlen(word));
    if (*idx < 0)
        return bgm__fail(BGM_E_RANGE, "%s: word '%.80s' is not in the vocabulary of %lld "
                         "words", func, word, (long long)m->words.count);
    return BGM_OK;
}

BGM_API bgm_status bgm_word2vec_vector(bgm_tensor **out, const bgm_word2vec *m,
                                       const char *word)
{
    static const char *fn = "bgm_word2vec_vector";
    int64_t idx, shape[1];
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(word, fn);
    s = find_word(&idx, fn, m, word);
    if (s != BGM_OK)
        return s;
    shape[0] = m->dim;
    return bgm_tensor_from_data(out, BGM_FLOAT32, shape, 1, m->vectors + idx * m->dim);
}

BGM_API bgm_status bgm_word2vec_most_similar(const char **words, float *scores, int *found,
                                             const bgm_word2vec *m, const char *word, int k)
{
    static const char *fn = "bgm_word2vec_most_similar";
    int64_t w, i, j, *best = NULL;
    float *best_score = NULL;
    int n = 0, pos;
    bgm_status s;
    if (found)
        *found = 0;
    BGM__CHECK_NULL(words, fn);
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(word, fn);
    if (k < 1)
        return bgm__fail(BGM_E_INVALID, "%s: k = %d, expected at least 1", fn, k);
    for (pos = 0; pos < k; pos++) {
        words[pos] = NULL;
        if (scores)
            scores[pos] = 0;
    }
    s = find_word(&w, fn, m, word);
    if (s != BGM_OK)
        return s;
    best = malloc((size_t)k * sizeof *best);
    best_score = malloc((size_t)k * sizeof *best_score);
    if (!best || !best_score) {
        free(best);
        free(best_score);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for k = %d", fn, k);
    }
    for (i = 0; i < m->words.count; i++) {
        const float *a = m->vectors + w * m->dim, *b = m->vectors + i * m->dim;
        float dot = 0, cos;
        if (i == w)
            continue;
        for (j = 0; j < m->dim; j++)
            dot += a[j] * b[j];
        cos = dot * m->inv_norms[w] * m->inv_norms[i];
        if (n == k && cos <= best_score[k - 1])
            continue; /* equal scores keep the lower word number, seen first */
        pos = n < k ? n++ : k - 1;
        for (; pos > 0 && best_score[pos - 1] < cos; pos--) {
            best[pos] = best[pos - 1];
            best_score[pos] = best_score[pos - 1];
        }
        best[pos] = i;
        best_score[pos] = cos;
    }
    for (pos = 0; pos < n; pos++) {
        words[pos] = bgm__strtab_str(&m->words, best[pos]);
        if (scores)
            scores[pos] = best_score[pos];
    }
    if (found)
        *found = n;
    free(best);
    free(best_score);
    return BGM_OK;
}

BGM_API bgm_status bgm_word2vec_document_vectors(bgm_tensor **out, const bgm_word2vec *m,
                                                 const char *const *docs,
                                                 const int64_t *lens, int64_t ndocs,
                                                 const bgm_text_clean_options *clean)
{
    static const char *fn = "bgm_word2vec_document_vectors";
    bgm_text_clean_options defaults;
    const bgm_text_clean_options *o = NULL;
    bgm__textbuf buf = {NULL, 0};
    int64_t d, j, shape[2];
    size_t len, pos, st, k;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    s = bgm__check_docs(fn, docs, ndocs);
    if (s == BGM_OK)
        s = bgm__clean_options(&o, &defaults, fn, clean);
    if (s != BGM_OK)
        return s;
    shape[0] = ndocs;
    shape[1] = m->dim;
    s = bgm_tensor_zeros(out, BGM_FLOAT32, shape, 2);
    for (d = 0; s == BGM_OK && d < ndocs; d++) {
        float *row = (float *)(*out)->data + d * m->dim;
        int64_t hits = 0;
        if (!bgm__textbuf_clean(&buf, docs[d], bgm__doc_len(docs, lens, d), o, &len)) {
            s = bgm__fail(BGM_E_NOMEM, "%s: out of memory cleaning document %lld", fn,
                          (long long)d);
            break;
        }
        for (pos = 0; bgm__next_word(buf.p, len, &pos, &st, &k);) {
            int64_t w = bgm__strtab_find(&m->words, buf.p + st, k);
            if (w < 0)
                continue;
            for (j = 0; j < m->dim; j++)
                row[j] += m->vectors[w * m->dim + j];
            hits++;
        }
        for (j = 0; hits > 0 && j < m->dim; j++)
            row[j] /= (float)hits;
    }
    free(buf.p);
    if (s != BGM_OK) {
        bgm_tensor_free(*out);
        *out = NULL;
    }
    return s;
}

BGM_API bgm_status bgm_word2vec_embedding_matrix(bgm_tensor **out, const bgm_word2vec *m,
                                                 const bgm_vocab *v)
{
    static const char *fn = "bgm_word2vec_embedding_matrix";
    int64_t i, shape[2];
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(v, fn);
    shape[0] = bgm_vocab_size(v);
    shape[1] = m->dim;
    s = bgm_tensor_zeros(out, BGM_FLOAT32, shape, 2);
    for (i = 0; s == BGM_OK && i < v->tokens.count; i++) {
        int64_t w = bgm__strtab_find(&m->words, bgm__strtab_str(&v->tokens, i),
                                     bgm__strtab_len(&v->tokens, i));
        if (w >= 0)
            memcpy((float *)(*out)->data + (i + BGM__VOCAB_RESERVED) * m->dim,
                   m->vectors + w * m->dim, (size_t)m->dim * sizeof(float));
    }
    return s;
}
