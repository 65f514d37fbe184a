/* Internal layout of bgm_word2vec, shared by training, queries and file I/O. */
#ifndef BGM_TEXT_WORD2VEC_IMPL_H
#define BGM_TEXT_WORD2VEC_IMPL_H

#include "text_impl.h"

struct bgm_word2vec {
    bgm__strtab words;   /* word number -> word */
    int64_t dim;
    float *vectors;      /* words.count rows of dim floats */
    float *inv_norms;    /* 1 / |row| (0 for a zero row), for cosines */
};

/* New empty model of dimension dim (words are added by the caller). */
bgm_status bgm__word2vec_new(bgm_word2vec **out, const char *func, int64_t dim);

/* Sizes vectors for n words (uninitialized) and inv_norms; 0 when out of memory. */
int bgm__word2vec_reserve(bgm_word2vec *m, int64_t n);

/* Computes inv_norms once the vectors are final. */
void bgm__word2vec_finish(bgm_word2vec *m);

#endif
