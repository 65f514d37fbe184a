/* Internal error reporting: the thread-local message behind bgm_last_error(). */
#ifndef BGM_CORE_ERROR_H
#define BGM_CORE_ERROR_H

#include "bigmodel/core.h"

#if defined(__GNUC__)
#define BGM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define BGM__PRINTF(f, a)
#endif

/* Sets the calling thread's message (printf-style) and returns status. */
bgm_status bgm__fail(bgm_status status, const char *fmt, ...) BGM__PRINTF(2, 3);

/*
 * BGM_E_INVALID for a NULL layer argument of fn: the message names fn and
 * keeps, first, the message already set (the constructor that failed and
 * returned the NULL, as in bgm_layer_call(&y, bgm_layer_dense(0, ...), ...)).
 * BGM_E_NOMEM instead when that constructor ran out of memory (the thread's
 * last bgm__fail status).
 */
bgm_status bgm__fail_null_layer(const char *fn);

/* Writes "(2, 3, 4)" into buf (always NUL-terminated); returns buf. */
char *bgm__shape_str(char *buf, size_t size, const int64_t *shape, int ndim);

/* Size of the buffer bgm__shape_str needs for any shape. */
#define BGM__SHAPE_STR_SIZE 200

/* Returns BGM_E_INVALID with a message naming a NULL argument of func. */
#define BGM__CHECK_NULL(ptr, func)                                            \
    do {                                                                      \
        if ((ptr) == NULL)                                                    \
            return bgm__fail(BGM_E_INVALID, "%s: argument '%s' is NULL",      \
                             func, #ptr);                                     \
    } while (0)

#endif
