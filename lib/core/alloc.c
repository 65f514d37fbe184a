/* Aligned allocation and the chunked arena behind tapes and workspaces. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

void *bgm__aligned_alloc(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, BGM__ALIGN, size ? size : BGM__ALIGN) != 0)
        return NULL;
    return p;
}

void bgm__aligned_free(void *p) { free(p); }

int bgm__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

struct bgm__arena_chunk {
    bgm__arena_chunk *next;  /* older chunk */
    size_t size;             /* usable bytes in data */
    size_t used;
    unsigned char *data;
};

#define BGM__ARENA_MIN_CHUNK ((size_t)1 << 20)

static size_t round_up(size_t n) { return (n + BGM__ALIGN - 1) & ~(size_t)(BGM__ALIGN - 1); }

void bgm__arena_init(bgm__arena *a) { memset(a, 0, sizeof *a); }

static bgm__arena_chunk *chunk_new(size_t size)
{
    bgm__arena_chunk *c = malloc(sizeof *c);
    if (!c)
        return NULL;
    c->data = bgm__aligned_alloc(size);
    if (!c->data) {
        free(c);
        return NULL;
    }
    c->size = size;
    c->used = 0;
    c->next = NULL;
    return c;
}

void *bgm__arena_alloc(bgm__arena *a, size_t size)
{
    bgm__arena_chunk *c, *last = NULL;
    size_t need;
    if (size > SIZE_MAX - BGM__ALIGN)
        return NULL;
    need = round_up(size ? size : 1);
    /* Chunks are listed in order of use: the current one, then (after a
     * reset) the ones not yet reused. Take the first that has room. */
    for (c = a->head; c; last = c, c = c->next) {
        if (c->size - c->used >= need) {
            void *p = c->data + c->used;
            c->used += need;
            a->head = c;
            return p;
        }
    }
    c = chunk_new(need > BGM__ARENA_MIN_CHUNK ? need : BGM__ARENA_MIN_CHUNK);
    if (!c)
        return NULL;
    if (last)
        last->next = c;
    else
        a->chunks = c;
    a->head = c;
    a->total += c->size;
    c->used = need;
    return c->data;
}

void *bgm__arena_calloc(bgm__arena *a, size_t size)
{
    void *p = bgm__arena_alloc(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

void bgm__arena_reset(bgm__arena *a)
{
    bgm__arena_chunk *c;
    for (c = a->chunks; c; c = c->next)
        c->used = 0;
    a->head = a->chunks;
}

void bgm__arena_release(bgm__arena *a)
{
    bgm__arena_chunk *c = a->chunks;
    while (c) {
        bgm__arena_chunk *next = c->next;
        bgm__aligned_free(c->data);
        free(c);
        c = next;
    }
    bgm__arena_init(a);
}

int bgm__arena_contains(const bgm__arena *a, const void *p)
{
    const bgm__arena_chunk *c;
    uintptr_t u = (uintptr_t)p;
    for (c = a->chunks; c; c = c->next)
        if (u >= (uintptr_t)c->data && u < (uintptr_t)c->data + c->size)
            return 1;
    return 0;
}
