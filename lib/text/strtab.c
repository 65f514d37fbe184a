/* Open-addressing hash table of unique strings (FNV-1a, linear probing). */
#include "strtab.h"

#include <stdlib.h>
#include <string.h>

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

void bgm__strtab_init(bgm__strtab *t)
{
    memset(t, 0, sizeof *t);
}

void bgm__strtab_release(bgm__strtab *t)
{
    free(t->chars);
    free(t->offsets);
    free(t->hashes);
    free(t->slots);
    bgm__strtab_init(t);
}

static int64_t probe(const bgm__strtab *t, const char *s, size_t n, uint32_t h, size_t *slot)
{
    size_t mask = t->nslots - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        int64_t id = t->slots[i];
        if (id < 0) {
            *slot = i;
            return -1;
        }
        if (t->hashes[id] == h && bgm__strtab_len(t, id) == n) {
            if (memcmp(t->chars + t->offsets[id], s, n) == 0) {
                *slot = i;
                return id;
            }
        }
    }
}

int64_t bgm__strtab_find(const bgm__strtab *t, const char *s, size_t n)
{
    size_t slot;
    if (t->count == 0)
        return -1;
    return probe(t, s, n, hash_bytes(s, n), &slot);
}

static int grow_slots(bgm__strtab *t)
{
    size_t n = t->nslots ? t->nslots * 2 : 64, i, mask = n - 1;
    int64_t *slots, id;
    if (n > SIZE_MAX / sizeof *slots)
        return 0;
    slots = malloc(n * sizeof *slots);
    if (!slots)
        return 0;
    for (i = 0; i < n; i++)
        slots[i] = -1;
    for (id = 0; id < t->count; id++) {
        for (i = t->hashes[id] & mask; slots[i] >= 0; i = (i + 1) & mask)
            ;
        slots[i] = id;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = n;
    return 1;
}

static int grow_ids(bgm__strtab *t)
{
    int64_t cap = t->cap ? t->cap * 2 : 64;
    int64_t *offsets;
    uint32_t *hashes;
    if ((uint64_t)cap > SIZE_MAX / sizeof *offsets)
        return 0;
    offsets = realloc(t->offsets, (size_t)cap * sizeof *offsets);
    if (!offsets)
        return 0;
    t->offsets = offsets;
    hashes = realloc(t->hashes, (size_t)cap * sizeof *hashes);
    if (!hashes)
        return 0;
    t->hashes = hashes;
    t->cap = cap;
    return 1;
}

static int grow_chars(bgm__strtab *t, size_t need)
{
    size_t cap = t->chars_cap ? t->chars_cap : 4096;
    char *p;
    while (cap - t->chars_len < need) {
        if (cap > SIZE_MAX / 2)
            return 0;
        cap *= 2;
    }
    p = realloc(t->chars, cap);
    if (!p)
        return 0;
    t->chars = p;
    t->chars_cap = cap;
    return 1;
}

int bgm__strtab_intern(bgm__strtab *t, const char *s, size_t n, int64_t *id, int *added)
{
    uint32_t h = hash_bytes(s, n);
    size_t slot;
    *added = 0;
    if ((size_t)(t->count + 1) * 2 > t->nslots && !grow_slots(t))
        return 0;
    *id = probe(t, s, n, h, &slot);
    if (*id >= 0)
        return 1;
    if (t->count == t->cap && !grow_ids(t))
        return 0;
    if (n >= SIZE_MAX - t->chars_len || (t->chars_cap - t->chars_len < n + 1 &&
                                         !grow_chars(t, n + 1)))
        return 0;
    memcpy(t->chars + t->chars_len, s, n);
    t->chars[t->chars_len + n] = '\0';
    t->offsets[t->count] = (int64_t)t->chars_len;
    t->hashes[t->count] = h;
    t->chars_len += n + 1;
    t->slots[slot] = t->count;
    *id = t->count++;
    *added = 1;
    return 1;
}
