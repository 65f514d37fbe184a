/* Counting the words of documents and ranking them by frequency. */
#include "wordcount.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void bgm__wordcount_init(bgm__wordcount *wc)
{
    bgm__strtab_init(&wc->words);
    wc->counts = NULL;
    wc->cap = 0;
}

void bgm__wordcount_release(bgm__wordcount *wc)
{
    bgm__strtab_release(&wc->words);
    free(wc->counts);
    bgm__wordcount_init(wc);
}

void bgm__idseq_release(bgm__idseq *seq)
{
    free(seq->ids);
    free(seq->doc_starts);
    memset(seq, 0, sizeof *seq);
}

static int count_word(bgm__wordcount *wc, const char *s, size_t n, int64_t *id)
{
    int added;
    if (!bgm__strtab_intern(&wc->words, s, n, id, &added))
        return 0;
    if (*id >= wc->cap) {
        int64_t cap = wc->cap ? wc->cap * 2 : 1024;
        int64_t *c = realloc(wc->counts, (size_t)cap * sizeof *c);
        if (!c)
            return 0;
        wc->counts = c;
        wc->cap = cap;
    }
    if (added)
        wc->counts[*id] = 0;
    wc->counts[*id]++;
    return 1;
}

static int push_id(bgm__idseq *seq, int64_t id)
{
    if (seq->n == seq->cap) {
        int64_t cap = seq->cap ? seq->cap * 2 : 4096;
        int32_t *p = realloc(seq->ids, (size_t)cap * sizeof *p);
        if (!p)
            return 0;
        seq->ids = p;
        seq->cap = cap;
    }
    seq->ids[seq->n++] = (int32_t)id;
    return 1;
}

bgm_status bgm__wordcount_docs(bgm__wordcount *wc, bgm__idseq *seq, const char *func,
                               const char *const *docs, const int64_t *lens,
                               int64_t ndocs, const bgm_text_clean_options *clean)
{
    bgm__textbuf buf = {NULL, 0};
    size_t len, pos, st, k;
    int64_t d, id;
    if (seq) {
        seq->doc_starts = malloc((size_t)(ndocs + 1) * sizeof *seq->doc_starts);
        if (!seq->doc_starts)
            goto nomem;
        seq->ndocs = ndocs;
        seq->doc_starts[0] = 0;
    }
    for (d = 0; d < ndocs; d++) {
        if (!bgm__textbuf_clean(&buf, docs[d], bgm__doc_len(docs, lens, d), clean, &len))
            goto nomem;
        for (pos = 0; bgm__next_word(buf.p, len, &pos, &st, &k);) {
            if (wc->words.count >= INT32_MAX) {
                free(buf.p);
                return bgm__fail(BGM_E_NOMEM, "%s: more than %d distinct words", func,
                                 INT32_MAX);
            }
            if (!count_word(wc, buf.p + st, k, &id) || (seq && !push_id(seq, id)))
                goto nomem;
        }
        if (seq)
            seq->doc_starts[d + 1] = seq->n;
    }
    free(buf.p);
    return BGM_OK;
nomem:
    free(buf.p);
    return bgm__fail(BGM_E_NOMEM, "%s: out of memory counting the words of %lld documents",
                     func, (long long)ndocs);
}

typedef struct ranked {
    int64_t count, id;
} ranked;

static int by_count_then_id(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

bgm_status bgm__wordcount_rank(int64_t **order, int64_t *n, const char *func,
                               const bgm__wordcount *wc, int64_t min_count)
{
    int64_t i, m = 0, total = wc->words.count;
    ranked *r = malloc((size_t)(total ? total : 1) * sizeof *r);
    *order = NULL;
    *n = 0;
    if (!r)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory ranking %lld words", func,
                         (long long)total);
    for (i = 0; i < total; i++)
        if (wc->counts[i] >= min_count) {
            r[m].count = wc->counts[i];
            r[m++].id = i;
        }
    qsort(r, (size_t)m, sizeof *r, by_count_then_id);
    /* the ids overwrite the pairs in place: element i is read before it is written */
    *order = (int64_t *)r;
    for (i = 0; i < m; i++)
        (*order)[i] = r[i].id;
    *n = m;
    return BGM_OK;
}
