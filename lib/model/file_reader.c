/* Checked getters of model-file metadata (see file_reader.h). */
#include "model/file_reader.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* BGM_E_FORMAT with "fn: src: message". */
bgm_status bgm__rd_bad(const bgm__reader *ld, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bgm__fail(BGM_E_FORMAT, "%s: %s: %s", ld->fn, ld->src, msg);
}

/* A library call on file values failed: the file is inconsistent (except
 * when memory ran out). what says where ("layer 2 (Dense)"). */
bgm_status bgm__rd_wrap(const bgm__reader *ld, bgm_status s, const char *what)
{
    char msg[900];
    if (s == BGM_OK || s == BGM_E_NOMEM)
        return s;
    snprintf(msg, sizeof msg, "%s", bgm_last_error());
    return bgm__rd_bad(ld, "%s: %s", what, msg);
}

static const char *type_name(bgm_meta_type t)
{
    switch (t) {
    case BGM_META_INT64: return "an int64";
    case BGM_META_FLOAT64: return "a float64";
    case BGM_META_STRING: return "a string";
    case BGM_META_INT64_ARRAY: return "an int64 array";
    case BGM_META_FLOAT64_ARRAY: return "a float64 array";
    default: return "nothing";
    }
}

/* Checks that key exists with type want. */
bgm_status bgm__rd_expect(const bgm__reader *ld, const char *key, bgm_meta_type want)
{
    bgm_meta_type t = bgm_archive_meta_type(ld->a, key);
    if (t == BGM_META_NONE)
        return bgm__rd_bad(ld, "missing key '%s'", key);
    if (t != want)
        return bgm__rd_bad(ld, "key '%s' holds %s, expected %s", key, type_name(t), type_name(want));
    return BGM_OK;
}

bgm_status bgm__rd_get_int(const bgm__reader *ld, const char *key, int64_t *v)
{
    bgm_status s = bgm__rd_expect(ld, key, BGM_META_INT64);
    return s == BGM_OK ? bgm_archive_get_int64(v, ld->a, key) : s;
}

/* An int64 in [lo, hi]. */
bgm_status bgm__rd_get_range(const bgm__reader *ld, const char *key, int64_t lo, int64_t hi,
                            int64_t *v)
{
    bgm_status s = bgm__rd_get_int(ld, key, v);
    if (s == BGM_OK && (*v < lo || *v > hi))
        return bgm__rd_bad(ld, "key '%s' = %lld is outside [%lld, %lld]", key, (long long)*v,
                   (long long)lo, (long long)hi);
    return s;
}

/* A float64 as a float; values beyond float's range become infinities (a
 * plain conversion would be undefined), which every setter rejects. */
bgm_status bgm__rd_get_float(const bgm__reader *ld, const char *key, float *v)
{
    double d = 0.0;
    bgm_status s = bgm__rd_expect(ld, key, BGM_META_FLOAT64);
    if (s == BGM_OK)
        s = bgm_archive_get_float64(&d, ld->a, key);
    if (s != BGM_OK)
        return s;
    if (isnan(d))
        *v = NAN;
    else if (d > FLT_MAX)
        *v = INFINITY;
    else if (d < -FLT_MAX)
        *v = -INFINITY;
    else
        *v = (float)d;
    return BGM_OK;
}

bgm_status bgm__rd_get_str(const bgm__reader *ld, const char *key, const char **v)
{
    bgm_status s = bgm__rd_expect(ld, key, BGM_META_STRING);
    return s == BGM_OK ? bgm_archive_get_string(v, ld->a, key) : s;
}

/* A string naming a value of table. */
bgm_status bgm__rd_get_enum(const bgm__reader *ld, const char *key, const bgm__enum_name *table,
                           int *v)
{
    const char *name = NULL;
    bgm_status s = bgm__rd_get_str(ld, key, &name);
    if (s == BGM_OK && !bgm__enum_from_name(table, name, v))
        return bgm__rd_bad(ld, "key '%s' = '%.80s' is not a known value", key, name);
    return s;
}

bgm_status bgm__rd_get_ints(const bgm__reader *ld, const char *key, const int64_t **vals,
                            int64_t *n)
{
    bgm_status s = bgm__rd_expect(ld, key, BGM_META_INT64_ARRAY);
    return s == BGM_OK ? bgm_archive_get_int64_array(vals, n, ld->a, key) : s;
}
