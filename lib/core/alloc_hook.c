/* Counting allocation wrappers of the allocfail test build (alloc_hook.h).
 * Empty in every other build. */
#ifdef BGM_ALLOC_HOOK
#define BGM__ALLOC_HOOK_IMPL
#undef malloc
#undef calloc
#undef realloc
#undef strdup
#undef strndup
#undef posix_memalign
#include "alloc_hook.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* With ASan (the allocfail build), BGM_ALLOC_HOOK_TRACE=1 prints the stack
 * of the failed allocation: where a failure went. */
#if defined(__SANITIZE_ADDRESS__)
void __sanitizer_print_stack_trace(void);
#define TRACE() __sanitizer_print_stack_trace()
#else
#define TRACE() ((void)0)
#endif

static atomic_long hook_count;
static atomic_long hook_fail_at;
static atomic_int hook_failed;
static atomic_int hook_only_watched;
static _Thread_local int hook_watched;

void bgm__alloc_hook_arm(long fail_at)
{
    atomic_store(&hook_count, 0);
    atomic_store(&hook_failed, 0);
    atomic_store(&hook_fail_at, fail_at);
}

long bgm__alloc_hook_count(void) { return atomic_load(&hook_count); }

int bgm__alloc_hook_failed(void) { return atomic_load(&hook_failed); }

void bgm__alloc_hook_only_watched(int on) { atomic_store(&hook_only_watched, on); }

void bgm__alloc_hook_watch_thread(int on) { hook_watched = on; }

/* Counts one allocation; 1 when this one must fail. */
static int hook_fails(void)
{
    long n;
    if (atomic_load(&hook_only_watched) && !hook_watched)
        return 0;
    n = atomic_fetch_add(&hook_count, 1) + 1;
    if (n == atomic_load(&hook_fail_at)) {
        atomic_store(&hook_failed, 1);
        if (getenv("BGM_ALLOC_HOOK_TRACE"))
            TRACE();
        return 1;
    }
    return 0;
}

void *bgm__hook_malloc(size_t size) { return hook_fails() ? NULL : malloc(size); }

void *bgm__hook_calloc(size_t n, size_t size) { return hook_fails() ? NULL : calloc(n, size); }

void *bgm__hook_realloc(void *p, size_t size) { return hook_fails() ? NULL : realloc(p, size); }

char *bgm__hook_strdup(const char *s) { return hook_fails() ? NULL : strdup(s); }

char *bgm__hook_strndup(const char *s, size_t n) { return hook_fails() ? NULL : strndup(s, n); }

int bgm__hook_posix_memalign(void **p, size_t align, size_t size)
{
    return hook_fails() ? ENOMEM : posix_memalign(p, align, size);
}
#else
/* ISO C wants a translation unit to declare something. */
typedef int bgm__alloc_hook_unused;
#endif
