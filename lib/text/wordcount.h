/* Internal word counting over documents: the first step of both vocabularies
 * and word2vec. */
#ifndef BGM_TEXT_WORDCOUNT_H
#define BGM_TEXT_WORDCOUNT_H

#include "text_impl.h"

/* Distinct words in order of first appearance, with their counts. */
typedef struct bgm__wordcount {
    bgm__strtab words;
    int64_t *counts;
    int64_t cap;
} bgm__wordcount;

/* The corpus as word numbers of a bgm__wordcount, document by document. */
typedef struct bgm__idseq {
    int32_t *ids;
    int64_t n, cap;
    int64_t *doc_starts;   /* document d is ids[doc_starts[d] .. doc_starts[d + 1]) */
    int64_t ndocs;
} bgm__idseq;

void bgm__wordcount_init(bgm__wordcount *wc);
void bgm__wordcount_release(bgm__wordcount *wc);
void bgm__idseq_release(bgm__idseq *seq);

/*
 * Cleans and splits every document and counts its words into wc; with seq
 * non-NULL also records the word numbers of every document there.
 */
bgm_status bgm__wordcount_docs(bgm__wordcount *wc, bgm__idseq *seq, const char *func,
                               const char *const *docs, const int64_t *lens,
                               int64_t ndocs, const bgm_text_clean_options *clean);

/*
 * New array *order of the numbers of the words seen at least min_count
 * times, most frequent first, ties by first appearance; *n gets its length.
 */
bgm_status bgm__wordcount_rank(int64_t **order, int64_t *n, const char *func,
                               const bgm__wordcount *wc, int64_t min_count);

#endif
