/* Internal pieces shared by the text module's files. Never public. */
#ifndef BGM_TEXT_TEXT_IMPL_H
#define BGM_TEXT_TEXT_IMPL_H

#include <stddef.h>

#include "bigmodel/text.h"
#include "strtab.h"

/* Token ids 2, 3, ... are tokens.ids 0, 1, ... */
struct bgm_vocab {
    bgm__strtab tokens;
    int64_t *counts;      /* per token (tokens.count entries) */
};

/* Number of reserved ids in front of the tokens. */
#define BGM__VOCAB_RESERVED 2

/* Checks opts (NULL: the defaults, written to *defaults) and points *o at
 * the options to use. Messages name func. */
bgm_status bgm__clean_options(const bgm_text_clean_options **o,
                              bgm_text_clean_options *defaults, const char *func,
                              const bgm_text_clean_options *opts);

/* Cleans src[0..n) into dst, which holds n + 1 bytes (cleaning never grows
 * text); returns the cleaned length and NUL-terminates dst. */
size_t bgm__text_clean_into(char *dst, const char *src, size_t n,
                            const bgm_text_clean_options *o);

/* A reusable buffer for cleaned documents. */
typedef struct bgm__textbuf {
    char *p;
    size_t cap;
} bgm__textbuf;

/* Cleans src[0..n) into b (grown as needed); *len gets the cleaned length.
 * Returns 0 when out of memory. */
int bgm__textbuf_clean(bgm__textbuf *b, const char *src, size_t n,
                       const bgm_text_clean_options *o, size_t *len);

/* ASCII whitespace: what words are split on. */
static inline int bgm__is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Next word of s[0..n) at or after *pos: sets *start and *len and moves *pos
 * past it. Returns 0 when no word is left. */
static inline int bgm__next_word(const char *s, size_t n, size_t *pos, size_t *start,
                                 size_t *len)
{
    size_t i = *pos, j;
    while (i < n && bgm__is_space((unsigned char)s[i]))
        i++;
    if (i >= n) {
        *pos = n;
        return 0;
    }
    for (j = i; j < n && !bgm__is_space((unsigned char)s[j]); j++)
        ;
    *start = i;
    *len = j - i;
    *pos = j;
    return 1;
}

/* Length of docs[i]: lens[i], or strlen when lens is NULL or lens[i] < 0. */
size_t bgm__doc_len(const char *const *docs, const int64_t *lens, int64_t i);

/* Checks a document array: ndocs >= 0, docs and every docs[i] non-NULL. */
bgm_status bgm__check_docs(const char *func, const char *const *docs, int64_t ndocs);

/* Checks vocabulary options and resolves their cleaning options. */
bgm_status bgm__vocab_options(const bgm_vocab_options **o, bgm_vocab_options *defaults,
                              const bgm_text_clean_options **clean,
                              bgm_text_clean_options *clean_defaults, const char *func,
                              const bgm_vocab_options *opts);

/* Builds a vocabulary (options already checked). */
bgm_status bgm__vocab_build(bgm_vocab **out, const char *func, const char *const *docs,
                            const int64_t *lens, int64_t ndocs, int64_t min_count,
                            int64_t max_size, const bgm_text_clean_options *clean);

/* A deep copy of v. */
bgm_status bgm__vocab_copy(bgm_vocab **out, const char *func, const bgm_vocab *v);

/* Checks maxlen and the two sides for padding. */
bgm_status bgm__check_padding(const char *func, int64_t maxlen, bgm_pad_side padding,
                              bgm_pad_side truncating);

/* Copies seq[0..len) into row[0..maxlen) with Keras pad_sequences rules. */
void bgm__pad_row(int32_t *row, int64_t maxlen, const int32_t *seq, int64_t len,
                  bgm_pad_side padding, bgm_pad_side truncating, int32_t value);

/*
 * Encodes ndocs documents with v and pads them into a new int32 tensor
 * (ndocs, maxlen; 0 = longest). Arguments already checked.
 */
bgm_status bgm__encode_padded(bgm_tensor **out, const char *func, const bgm_vocab *v,
                              const char *const *docs, const int64_t *lens, int64_t ndocs,
                              int64_t maxlen, bgm_pad_side padding, bgm_pad_side truncating,
                              const bgm_text_clean_options *clean);

/* A new NULL-terminated list holding copies of strs[0..n) (one allocation). */
char **bgm__list_new(const char *const *strs, const size_t *lens, int64_t n);

#endif
