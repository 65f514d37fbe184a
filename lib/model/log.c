/*
 * A model's log: where the library sends warnings about likely mistakes,
 * since it never prints on its own. Per model, so nothing global changes.
 */
#include "model/model_impl.h"

#include <stdarg.h>
#include <stdio.h>

BGM_API bgm_status bgm_model_set_log(bgm_model *m, bgm_log_fn fn, void *ctx)
{
    BGM__CHECK_NULL(m, "bgm_model_set_log");
    m->log = fn;
    m->log_ctx = fn ? ctx : NULL;
    return BGM_OK;
}

void bgm__model_warn(const bgm_model *m, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    if (!m || !m->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->log(m->log_ctx, BGM_LOG_WARNING, msg);
}
