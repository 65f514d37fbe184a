/* Internal allocation: 64-byte aligned buffers, overflow-checked sizes, arenas. */
#ifndef BGM_CORE_ALLOC_H
#define BGM_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define BGM__ALIGN 64

/* 64-byte aligned buffer of size bytes (size 0 gives a valid pointer), or NULL. */
void *bgm__aligned_alloc(size_t size);
void bgm__aligned_free(void *p);

/* *out = a * b; returns 0 on overflow of size_t. */
int bgm__mul_size(size_t a, size_t b, size_t *out);

/*
 * A bump allocator made of chunks. Reset keeps the chunks mapped so the next
 * step reuses the same pages (page faults are expensive on these machines).
 */
typedef struct bgm__arena_chunk bgm__arena_chunk;
typedef struct bgm__arena {
    bgm__arena_chunk *head;    /* chunk being filled */
    bgm__arena_chunk *chunks;  /* all chunks, in order of use */
    size_t total;              /* bytes held in chunks */
} bgm__arena;

void bgm__arena_init(bgm__arena *a);
/* size bytes aligned to BGM__ALIGN, uninitialized; NULL when out of memory. */
void *bgm__arena_alloc(bgm__arena *a, size_t size);
/* Same, zero-filled. */
void *bgm__arena_calloc(bgm__arena *a, size_t size);
/* Forget every allocation, keep the memory. */
void bgm__arena_reset(bgm__arena *a);
/* Give all memory back. */
void bgm__arena_release(bgm__arena *a);
/* 1 when p points into one of the arena's chunks, used or not. */
int bgm__arena_contains(const bgm__arena *a, const void *p);

#endif
