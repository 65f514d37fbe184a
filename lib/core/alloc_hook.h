/*
 * Allocation-failure hook of the test build (docs/reliability.md, "Allocation
 * failures"). The allocfail build compiles every library source with
 * `-DBGM_ALLOC_HOOK -include lib/core/alloc_hook.h`, which sends the
 * library's malloc, calloc, realloc, strdup, strndup and posix_memalign to
 * counting wrappers (lib/core/alloc_hook.c) that can fail the k-th call.
 * Release builds neither include this header nor compile the wrappers.
 *
 * No system header is included here: the macros are function-like, so the
 * C library's own declarations, read later, declare the wrappers with the
 * same types, and sources that set feature macros (_GNU_SOURCE) still can.
 */
#ifndef BGM_CORE_ALLOC_HOOK_H
#define BGM_CORE_ALLOC_HOOK_H

#ifdef BGM_ALLOC_HOOK

void *bgm__hook_malloc(__SIZE_TYPE__ size);
void *bgm__hook_calloc(__SIZE_TYPE__ n, __SIZE_TYPE__ size);
void *bgm__hook_realloc(void *p, __SIZE_TYPE__ size);
char *bgm__hook_strdup(const char *s);
char *bgm__hook_strndup(const char *s, __SIZE_TYPE__ n);
int bgm__hook_posix_memalign(void **p, __SIZE_TYPE__ align, __SIZE_TYPE__ size);

/* Arm the hook: the fail_at-th allocation from now (1 = the next) returns
 * NULL (posix_memalign: ENOMEM); 0 fails none. Resets the count. */
void bgm__alloc_hook_arm(long fail_at);
/* Allocations counted since the last arm. */
long bgm__alloc_hook_count(void);
/* 1 when the armed failure was delivered since the last arm. */
int bgm__alloc_hook_failed(void);
/* With on = 1, only the allocations of threads that called
 * bgm__alloc_hook_watch_thread(1) are counted and can fail (ranks as
 * threads, one of them out of memory); 0 counts every thread again. */
void bgm__alloc_hook_only_watched(int on);
/* Marks the calling thread watched (1) or not (0). */
void bgm__alloc_hook_watch_thread(int on);

/* alloc_hook.c and the harness define BGM__ALLOC_HOOK_IMPL: no macros there */
#ifndef BGM__ALLOC_HOOK_IMPL
#define malloc(n) bgm__hook_malloc(n)
#define calloc(n, s) bgm__hook_calloc(n, s)
#define realloc(p, n) bgm__hook_realloc(p, n)
#define strdup(s) bgm__hook_strdup(s)
#define strndup(s, n) bgm__hook_strndup(s, n)
#define posix_memalign(p, a, n) bgm__hook_posix_memalign(p, a, n)
#endif

#endif /* BGM_ALLOC_HOOK */
#endif
