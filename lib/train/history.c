/* bgm_history (per-epoch values) and bgm_logs (named values of one moment). */
#include "train/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bgm_history {
    int nepochs, cap;
    int *epochs;
    int nkeys;
    char keys[BGM__LOGS_MAX][BGM__KEY_SIZE];
    double *values[BGM__LOGS_MAX]; /* each cap entries */
};

/* ---- logs ---------------------------------------------------------------- */

int bgm__logs_find(const bgm_logs *logs, const char *name)
{
    int i;
    for (i = 0; i < logs->n; i++)
        if (strcmp(logs->names[i], name) == 0)
            return i;
    return -1;
}

void bgm__logs_set(bgm_logs *logs, const char *name, double value)
{
    int i = bgm__logs_find(logs, name);
    if (i < 0) {
        if (logs->n == BGM__LOGS_MAX)
            return;
        i = logs->n++;
        strncpy(logs->names[i], name, BGM__KEY_SIZE - 1);
        logs->names[i][BGM__KEY_SIZE - 1] = '\0';
    }
    logs->values[i] = value;
}

BGM_API int bgm_logs_count(const bgm_logs *logs)
{
    return logs ? logs->n : 0;
}

BGM_API const char *bgm_logs_name(const bgm_logs *logs, int i)
{
    return logs && i >= 0 && i < logs->n ? logs->names[i] : NULL;
}

BGM_API double bgm_logs_value(const bgm_logs *logs, int i)
{
    return logs && i >= 0 && i < logs->n ? logs->values[i] : NAN;
}

BGM_API bgm_status bgm_logs_get(double *value, const bgm_logs *logs, const char *name)
{
    static const char *fn = "bgm_logs_get";
    char list[512];
    size_t used = 0;
    int i;
    BGM__CHECK_NULL(value, fn);
    *value = 0.0;
    BGM__CHECK_NULL(logs, fn);
    BGM__CHECK_NULL(name, fn);
    i = bgm__logs_find(logs, name);
    if (i >= 0) {
        *value = logs->values[i];
        return BGM_OK;
    }
    list[0] = '\0';
    for (i = 0; i < logs->n && used + strlen(logs->names[i]) + 3 < sizeof list; i++) {
        strcat(list, i ? ", " : "");
        strcat(list, logs->names[i]);
        used = strlen(list);
    }
    return bgm__fail(BGM_E_INVALID, "%s: no value named '%s' (have: %s)", fn, name,
                     logs->n ? list : "none");
}

/* ---- history ------------------------------------------------------------- */

bgm_history *bgm__history_new(void)
{
    return calloc(1, sizeof(bgm_history));
}

bgm_status bgm__history_append(bgm_history *h, int epoch, const bgm_logs *logs)
{
    int i, k;
    if (h->nepochs == h->cap) {
        int cap = h->cap ? 2 * h->cap : 16;
        int *ep = realloc(h->epochs, (size_t)cap * sizeof *ep);
        if (!ep)
            return bgm__fail(BGM_E_NOMEM, "out of memory for the history");
        h->epochs = ep;
        for (k = 0; k < h->nkeys; k++) {
            double *v = realloc(h->values[k], (size_t)cap * sizeof *v);
            if (!v)
                return bgm__fail(BGM_E_NOMEM, "out of memory for the history");
            h->values[k] = v;
        }
        h->cap = cap;
    }
    for (i = 0; i < logs->n; i++) {
        for (k = 0; k < h->nkeys && strcmp(h->keys[k], logs->names[i]) != 0; k++)
            ;
        if (k == h->nkeys) {
            double *v;
            int e;
            if (h->nkeys == BGM__LOGS_MAX)
                continue;
            v = malloc((size_t)h->cap * sizeof *v);
            if (!v)
                return bgm__fail(BGM_E_NOMEM, "out of memory for the history");
            for (e = 0; e < h->nepochs; e++)
                v[e] = NAN;
            memcpy(h->keys[k], logs->names[i], BGM__KEY_SIZE);
            h->values[k] = v;
            h->nkeys++;
        }
    }
    for (k = 0; k < h->nkeys; k++) {
        i = bgm__logs_find(logs, h->keys[k]);
        h->values[k][h->nepochs] = i >= 0 ? logs->values[i] : NAN;
    }
    h->epochs[h->nepochs++] = epoch;
    return BGM_OK;
}

BGM_API int bgm_history_num_epochs(const bgm_history *h)
{
    return h ? h->nepochs : 0;
}

BGM_API int bgm_history_epoch(const bgm_history *h, int i)
{
    return h && i >= 0 && i < h->nepochs ? h->epochs[i] : -1;
}

BGM_API int bgm_history_num_keys(const bgm_history *h)
{
    return h ? h->nkeys : 0;
}

BGM_API const char *bgm_history_key(const bgm_history *h, int i)
{
    return h && i >= 0 && i < h->nkeys ? h->keys[i] : NULL;
}

BGM_API const double *bgm_history_values(const bgm_history *h, const char *key)
{
    int k;
    if (!h || !key)
        return NULL;
    for (k = 0; k < h->nkeys; k++)
        if (strcmp(h->keys[k], key) == 0)
            return h->values[k];
    return NULL;
}

BGM_API void bgm_history_free(bgm_history *h)
{
    int k;
    if (!h)
        return;
    for (k = 0; k < h->nkeys; k++)
        free(h->values[k]);
    free(h->epochs);
    free(h);
}
