/* The per-thread error message and status names. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#define BGM__ERROR_SIZE 1024

static _Thread_local char last_error[BGM__ERROR_SIZE];
static _Thread_local bgm_status last_status;

bgm_status bgm__fail(bgm_status status, const char *fmt, ...)
{
    va_list ap;
    last_status = status;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

bgm_status bgm__fail_null_layer(const char *fn)
{
    char prev[BGM__ERROR_SIZE];
    bgm_status status;
    if (!last_error[0])
        return bgm__fail(BGM_E_INVALID, "%s: argument 'layer' is NULL", fn);
    /* a constructor out of memory is not a misuse: keep its status */
    status = last_status == BGM_E_NOMEM ? BGM_E_NOMEM : BGM_E_INVALID;
    snprintf(prev, sizeof prev, "%s", last_error);
    return bgm__fail(status, "%s (then %s: argument 'layer' is NULL)", prev, fn);
}

char *bgm__shape_str(char *buf, size_t size, const int64_t *shape, int ndim)
{
    size_t used = 0;
    int i;
    if (size == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, size, "(");
    for (i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? ", %lld" : "%lld",
                                 (long long)shape[i]);
    if (used < size)
        snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
    return buf;
}

BGM_API const char *bgm_last_error(void) { return last_error; }

BGM_API void bgm_clear_error(void)
{
    last_error[0] = '\0';
    last_status = BGM_OK;
}

BGM_API bgm_status bgm_set_last_error(bgm_status status, const char *message)
{
    if (!message)
        return bgm__fail(BGM_E_INVALID, "bgm_set_last_error: argument 'message' is NULL");
    if (status >= 0)
        return bgm__fail(BGM_E_INVALID, "bgm_set_last_error: status %d is not an error (a "
                         "negative bgm_status)", (int)status);
    return bgm__fail(status, "%s", message);
}

BGM_API const char *bgm_status_string(bgm_status status)
{
    switch (status) {
    case BGM_OK: return "BGM_OK";
    case BGM_E_INVALID: return "BGM_E_INVALID";
    case BGM_E_NOMEM: return "BGM_E_NOMEM";
    case BGM_E_SHAPE: return "BGM_E_SHAPE";
    case BGM_E_DTYPE: return "BGM_E_DTYPE";
    case BGM_E_IO: return "BGM_E_IO";
    case BGM_E_FORMAT: return "BGM_E_FORMAT";
    case BGM_E_STATE: return "BGM_E_STATE";
    case BGM_E_UNSUPPORTED: return "BGM_E_UNSUPPORTED";
    case BGM_E_RANGE: return "BGM_E_RANGE";
    case BGM_E_CANCELLED: return "BGM_E_CANCELLED";
    case BGM_E_INTERNAL: return "BGM_E_INTERNAL";
    case BGM_E_NONFINITE: return "BGM_E_NONFINITE";
    }
    return "BGM_E_UNKNOWN";
}
