/* Internal string table: unique byte strings numbered in insertion order,
 * found again by hashing. Shared by vocabularies and word2vec. */
#ifndef BGM_TEXT_STRTAB_H
#define BGM_TEXT_STRTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct bgm__strtab {
    char *chars;          /* every string, NUL-terminated, one after the other */
    size_t chars_len, chars_cap;
    int64_t *offsets;     /* id -> offset into chars */
    uint32_t *hashes;     /* id -> hash, so growing the slots rehashes nothing */
    int64_t count, cap;
    int64_t *slots;       /* open addressing: id, or -1 for an empty slot */
    size_t nslots;        /* a power of two, kept above twice count */
} bgm__strtab;

/* An empty table (allocates nothing). */
void bgm__strtab_init(bgm__strtab *t);
void bgm__strtab_release(bgm__strtab *t);

/* Id of s[0..n), or -1. */
int64_t bgm__strtab_find(const bgm__strtab *t, const char *s, size_t n);

/* Id of s[0..n), added when new (*added = 1). Returns 0 when out of memory.
 * s must not contain NUL bytes (stored strings are NUL-terminated). */
int bgm__strtab_intern(bgm__strtab *t, const char *s, size_t n, int64_t *id, int *added);

/* The string of id (0 <= id < count), borrowed. */
static inline const char *bgm__strtab_str(const bgm__strtab *t, int64_t id)
{
    return t->chars + t->offsets[id];
}

/* Length of the string of id: strings are stored back to back. */
static inline size_t bgm__strtab_len(const bgm__strtab *t, int64_t id)
{
    size_t end = id + 1 < t->count ? (size_t)t->offsets[id + 1] : t->chars_len;
    return end - (size_t)t->offsets[id] - 1;
}

#endif
