/* bgm_archive: an insertion-ordered dictionary of typed metadata and named
 * tensors, with hash indices so lookups stay O(1) for large models. */
#include "archive_impl.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "core/error.h"

#define CHECK_NAME(name, func, what)                                              \
    do {                                                                          \
        const char *bgm_p_;                                                       \
        BGM__CHECK_NULL(name, func);                                              \
        bgm_p_ = bgm__archive_name_problem(name, strlen(name));                   \
        if (bgm_p_)                                                               \
            return bgm__fail(BGM_E_INVALID, "%s: %s '%.64s' %s", func, what, name, \
                             bgm_p_);                                             \
    } while (0)

/* ---- names and the hash index ------------------------------------------ */

const char *bgm__archive_name_problem(const char *name, size_t len)
{
    if (len == 0)
        return "is empty";
    if (len > BGM_ARCHIVE_MAX_NAME)
        return "is longer than BGM_ARCHIVE_MAX_NAME (4096) bytes";
    if (!bgm__utf8_valid((const unsigned char *)name, len))
        return "is not valid UTF-8 (or holds a NUL)";
    return NULL;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

/* Finds name's slot: the one holding it, or the empty one where it goes. */
static uint64_t index_slot(const bgm__name_index *ix, const char *name,
                           const char *(*name_at)(const bgm_archive *, int64_t),
                           const bgm_archive *a)
{
    uint64_t mask = ix->cap - 1, i = hash_name(name) & mask;
    while (ix->slots[i] != 0 && strcmp(name_at(a, ix->slots[i] - 1), name) != 0)
        i = (i + 1) & mask;
    return i;
}

static const char *meta_name_at(const bgm_archive *a, int64_t i) { return a->meta[i].key; }

static const char *tensor_name_at(const bgm_archive *a, int64_t i)
{
    return a->tensors[i].name;
}

static int64_t index_find(const bgm__name_index *ix, const char *name,
                          const char *(*name_at)(const bgm_archive *, int64_t),
                          const bgm_archive *a)
{
    if (ix->cap == 0)
        return -1;
    return ix->slots[index_slot(ix, name, name_at, a)] - 1;
}

/* Makes room for n entries (load factor <= 1/2), rehashing when it grows. */
static int index_reserve(bgm__name_index *ix, int64_t n,
                         const char *(*name_at)(const bgm_archive *, int64_t),
                         const bgm_archive *a)
{
    bgm__name_index grown;
    uint64_t cap = ix->cap ? ix->cap : 16;
    int64_t i;
    while (cap < (uint64_t)n * 2)
        cap *= 2;
    if (cap == ix->cap)
        return 1;
    grown.cap = cap;
    grown.slots = calloc(cap, sizeof *grown.slots);
    if (!grown.slots)
        return 0;
    for (i = 0; i < n - 1; i++)
        grown.slots[index_slot(&grown, name_at(a, i), name_at, a)] = i + 1;
    free(ix->slots);
    *ix = grown;
    return 1;
}

int64_t bgm__archive_meta_index(const bgm_archive *a, const char *key)
{
    return index_find(&a->meta_index, key, meta_name_at, a);
}

int64_t bgm__archive_tensor_index(const bgm_archive *a, const char *name)
{
    return index_find(&a->tensor_index, name, tensor_name_at, a);
}

/* ---- life cycle ------------------------------------------------------- */

BGM_API bgm_status bgm_archive_create(bgm_archive **out)
{
    BGM__CHECK_NULL(out, "bgm_archive_create");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "bgm_archive_create: out of memory");
    return BGM_OK;
}

void bgm__meta_clear(bgm__meta *m)
{
    free(m->key);
    free(m->values);
    m->key = NULL;
    m->values = NULL;
}

BGM_API void bgm_archive_free(bgm_archive *a)
{
    int64_t i;
    if (!a)
        return;
    for (i = 0; i < a->nmeta; i++)
        bgm__meta_clear(&a->meta[i]);
    for (i = 0; i < a->ntensors; i++) {
        free(a->tensors[i].name);
        bgm_tensor_free(a->tensors[i].t);
    }
    free(a->meta);
    free(a->tensors);
    free(a->meta_index.slots);
    free(a->tensor_index.slots);
    free(a);
}

/* ---- appending -------------------------------------------------------- */

static int grow(void **items, int64_t *cap, int64_t need, size_t item_size)
{
    int64_t want = *cap ? *cap : 8;
    void *p;
    if (need <= *cap)
        return 1;
    while (want < need)
        want *= 2;
    if ((uint64_t)want > SIZE_MAX / item_size)
        return 0;
    p = realloc(*items, (size_t)want * item_size);
    if (!p)
        return 0;
    *items = p;
    *cap = want;
    return 1;
}

bgm_status bgm__archive_put_meta(bgm_archive *a, const char *func, bgm__meta *m)
{
    void *items = a->meta;
    if (bgm__archive_meta_index(a, m->key) >= 0) {
        bgm_status s = bgm__fail(BGM_E_INVALID, "%s: metadata key '%.64s' is already present",
                                 func, m->key);
        bgm__meta_clear(m);
        return s;
    }
    if (!grow(&items, &a->meta_cap, a->nmeta + 1, sizeof *a->meta)) {
        bgm__meta_clear(m);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    }
    a->meta = items;
    a->meta[a->nmeta++] = *m;
    if (!index_reserve(&a->meta_index, a->nmeta, meta_name_at, a)) {
        bgm__meta_clear(&a->meta[--a->nmeta]);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    }
    a->meta_index.slots[index_slot(&a->meta_index, m->key, meta_name_at, a)] = a->nmeta;
    return BGM_OK;
}

bgm_status bgm__archive_put_tensor(bgm_archive *a, const char *func, char *name,
                                   bgm_tensor *t)
{
    void *items = a->tensors;
    bgm_status s = BGM_OK;
    if (bgm__archive_tensor_index(a, name) >= 0)
        s = bgm__fail(BGM_E_INVALID, "%s: tensor name '%.64s' is already present", func,
                      name);
    else if (!grow(&items, &a->tensor_cap, a->ntensors + 1, sizeof *a->tensors))
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    if (s != BGM_OK) {
        free(name);
        bgm_tensor_free(t);
        return s;
    }
    a->tensors = items;
    a->tensors[a->ntensors].name = name;
    a->tensors[a->ntensors].t = t;
    a->ntensors++;
    if (!index_reserve(&a->tensor_index, a->ntensors, tensor_name_at, a)) {
        a->ntensors--;
        free(name);
        bgm_tensor_free(t);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    }
    a->tensor_index.slots[index_slot(&a->tensor_index, name, tensor_name_at, a)] =
        a->ntensors;
    return BGM_OK;
}

/* Checks a and key for a public add and starts the entry with a copy of key. */
static bgm_status begin_add(bgm__meta *m, const char *func, bgm_archive *a, const char *key)
{
    memset(m, 0, sizeof *m);
    BGM__CHECK_NULL(a, func);
    CHECK_NAME(key, func, "metadata key");
    if (strncmp(key, BGM__RESERVED_PREFIX, strlen(BGM__RESERVED_PREFIX)) == 0)
        return bgm__fail(BGM_E_INVALID, "%s: metadata key '%.64s' uses the reserved prefix "
                         "'bgm.'", func, key);
    m->key = strdup(key);
    if (!m->key)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    return BGM_OK;
}

BGM_API bgm_status bgm_archive_add_int64(bgm_archive *a, const char *key, int64_t value)
{
    bgm__meta m;
    bgm_status s = begin_add(&m, "bgm_archive_add_int64", a, key);
    if (s != BGM_OK)
        return s;
    m.type = BGM_META_INT64;
    m.i = value;
    return bgm__archive_put_meta(a, "bgm_archive_add_int64", &m);
}

BGM_API bgm_status bgm_archive_add_float64(bgm_archive *a, const char *key, double value)
{
    bgm__meta m;
    bgm_status s = begin_add(&m, "bgm_archive_add_float64", a, key);
    if (s != BGM_OK)
        return s;
    m.type = BGM_META_FLOAT64;
    m.f = value;
    return bgm__archive_put_meta(a, "bgm_archive_add_float64", &m);
}

BGM_API bgm_status bgm_archive_add_string(bgm_archive *a, const char *key, const char *value)
{
    const char *fn = "bgm_archive_add_string";
    bgm__meta m;
    bgm_status s;
    BGM__CHECK_NULL(value, fn);
    s = begin_add(&m, fn, a, key);
    if (s != BGM_OK)
        return s;
    m.type = BGM_META_STRING;
    m.count = (int64_t)strlen(value);
    m.values = strdup(value);
    if (!m.values) {
        bgm__meta_clear(&m);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    return bgm__archive_put_meta(a, fn, &m);
}

static bgm_status add_array(const char *fn, bgm_archive *a, const char *key,
                            bgm_meta_type type, const void *values, int64_t count)
{
    bgm__meta m;
    bgm_status s;
    if (count < 0)
        return bgm__fail(BGM_E_INVALID, "%s: count %lld is negative", fn, (long long)count);
    if (count > 0)
        BGM__CHECK_NULL(values, fn);
    if ((uint64_t)count > SIZE_MAX / 8)
        return bgm__fail(BGM_E_NOMEM, "%s: %lld values do not fit in memory", fn,
                         (long long)count);
    s = begin_add(&m, fn, a, key);
    if (s != BGM_OK)
        return s;
    m.type = type;
    m.count = count;
    if (count > 0) {
        m.values = malloc((size_t)count * 8);
        if (!m.values) {
            bgm__meta_clear(&m);
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %lld values", fn,
                             (long long)count);
        }
        memcpy(m.values, values, (size_t)count * 8);
    }
    return bgm__archive_put_meta(a, fn, &m);
}

BGM_API bgm_status bgm_archive_add_int64_array(bgm_archive *a, const char *key,
                                               const int64_t *values, int64_t count)
{
    return add_array("bgm_archive_add_int64_array", a, key, BGM_META_INT64_ARRAY, values,
                     count);
}

BGM_API bgm_status bgm_archive_add_float64_array(bgm_archive *a, const char *key,
                                                 const double *values, int64_t count)
{
    return add_array("bgm_archive_add_float64_array", a, key, BGM_META_FLOAT64_ARRAY,
                     values, count);
}

BGM_API bgm_status bgm_archive_add_tensor(bgm_archive *a, const char *name,
                                          const bgm_tensor *t)
{
    const char *fn = "bgm_archive_add_tensor";
    bgm_tensor *copy = NULL;
    char *dup;
    bgm_dtype dt;
    BGM__CHECK_NULL(a, fn);
    CHECK_NAME(name, fn, "tensor name");
    BGM__CHECK_NULL(t, fn);
    dt = bgm_tensor_dtype(t);
    if (dt != BGM_FLOAT32 && dt != BGM_INT32)
        return bgm__fail(BGM_E_DTYPE, "%s: tensor '%.64s' has dtype %d; archives hold "
                         "float32 and int32", fn, name, (int)dt);
    if (bgm__archive_tensor_index(a, name) >= 0)
        return bgm__fail(BGM_E_INVALID, "%s: tensor name '%.64s' is already present", fn,
                         name);
    if (bgm_tensor_clone(&copy, t) != BGM_OK)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory copying tensor '%.64s'", fn, name);
    dup = strdup(name);
    if (!dup) {
        bgm_tensor_free(copy);
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    }
    return bgm__archive_put_tensor(a, fn, dup, copy);
}

/* ---- reading ---------------------------------------------------------- */

const char *bgm__meta_type_name(bgm_meta_type type)
{
    switch (type) {
    case BGM_META_INT64: return "int64";
    case BGM_META_FLOAT64: return "float64";
    case BGM_META_STRING: return "string";
    case BGM_META_INT64_ARRAY: return "int64 array";
    case BGM_META_FLOAT64_ARRAY: return "float64 array";
    case BGM_META_NONE: break;
    }
    return "unknown";
}

/* Points *m at the entry under key, which must hold type. */
static bgm_status find_meta(const bgm__meta **m, const char *fn, const bgm_archive *a,
                            const char *key, bgm_meta_type type)
{
    int64_t i;
    BGM__CHECK_NULL(a, fn);
    BGM__CHECK_NULL(key, fn);
    i = bgm__archive_meta_index(a, key);
    if (i < 0)
        return bgm__fail(BGM_E_INVALID, "%s: no metadata key '%.64s' in the archive", fn,
                         key);
    if (a->meta[i].type != type)
        return bgm__fail(BGM_E_DTYPE, "%s: metadata key '%.64s' has type %s, not %s", fn,
                         key, bgm__meta_type_name(a->meta[i].type),
                         bgm__meta_type_name(type));
    *m = &a->meta[i];
    return BGM_OK;
}

BGM_API bgm_status bgm_archive_get_int64(int64_t *out, const bgm_archive *a,
                                         const char *key)
{
    const bgm__meta *m = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_get_int64");
    *out = 0;
    s = find_meta(&m, "bgm_archive_get_int64", a, key, BGM_META_INT64);
    if (s == BGM_OK)
        *out = m->i;
    return s;
}

BGM_API bgm_status bgm_archive_get_float64(double *out, const bgm_archive *a,
                                           const char *key)
{
    const bgm__meta *m = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_get_float64");
    *out = 0;
    s = find_meta(&m, "bgm_archive_get_float64", a, key, BGM_META_FLOAT64);
    if (s == BGM_OK)
        *out = m->f;
    return s;
}

BGM_API bgm_status bgm_archive_get_string(const char **out, const bgm_archive *a,
                                          const char *key)
{
    const bgm__meta *m = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_get_string");
    *out = NULL;
    s = find_meta(&m, "bgm_archive_get_string", a, key, BGM_META_STRING);
    if (s == BGM_OK)
        *out = m->values;
    return s;
}

/* The array entry under key, which must hold type: *values (NULL on error or
 * for an empty array) and *count (0 on error). The caller checked values. */
static bgm_status get_array(const void **values, int64_t *count, const char *fn,
                            const bgm_archive *a, const char *key, bgm_meta_type type)
{
    const bgm__meta *m = NULL;
    bgm_status s;
    *values = NULL;
    BGM__CHECK_NULL(count, fn);
    *count = 0;
    s = find_meta(&m, fn, a, key, type);
    if (s == BGM_OK) {
        *values = m->values;
        *count = m->count;
    }
    return s;
}

BGM_API bgm_status bgm_archive_get_int64_array(const int64_t **values, int64_t *count,
                                               const bgm_archive *a, const char *key)
{
    const char *fn = "bgm_archive_get_int64_array";
    const void *v;
    bgm_status s;
    BGM__CHECK_NULL(values, fn);
    s = get_array(&v, count, fn, a, key, BGM_META_INT64_ARRAY);
    *values = v;
    return s;
}

BGM_API bgm_status bgm_archive_get_float64_array(const double **values, int64_t *count,
                                                 const bgm_archive *a, const char *key)
{
    const char *fn = "bgm_archive_get_float64_array";
    const void *v;
    bgm_status s;
    BGM__CHECK_NULL(values, fn);
    s = get_array(&v, count, fn, a, key, BGM_META_FLOAT64_ARRAY);
    *values = v;
    return s;
}

BGM_API bgm_meta_type bgm_archive_meta_type(const bgm_archive *a, const char *key)
{
    int64_t i;
    if (!a || !key)
        return BGM_META_NONE;
    i = bgm__archive_meta_index(a, key);
    return i < 0 ? BGM_META_NONE : a->meta[i].type;
}

BGM_API int64_t bgm_archive_num_meta(const bgm_archive *a) { return a ? a->nmeta : 0; }

BGM_API const char *bgm_archive_meta_key(const bgm_archive *a, int64_t i)
{
    return a && i >= 0 && i < a->nmeta ? a->meta[i].key : NULL;
}

/* Points *t at the tensor under name. */
static bgm_status find_tensor(const bgm_tensor **t, const char *fn, const bgm_archive *a,
                              const char *name)
{
    int64_t i;
    BGM__CHECK_NULL(a, fn);
    BGM__CHECK_NULL(name, fn);
    i = bgm__archive_tensor_index(a, name);
    if (i < 0)
        return bgm__fail(BGM_E_INVALID, "%s: no tensor named '%.64s' in the archive", fn,
                         name);
    *t = a->tensors[i].t;
    return BGM_OK;
}

BGM_API bgm_status bgm_archive_get_tensor(bgm_tensor **out, const bgm_archive *a,
                                          const char *name)
{
    const bgm_tensor *t = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_get_tensor");
    *out = NULL;
    s = find_tensor(&t, "bgm_archive_get_tensor", a, name);
    return s == BGM_OK ? bgm_tensor_clone(out, t) : s;
}

BGM_API bgm_status bgm_archive_copy_tensor(bgm_tensor *dst, const bgm_archive *a,
                                           const char *name)
{
    const char *fn = "bgm_archive_copy_tensor";
    char want[BGM__SHAPE_STR_SIZE], have[BGM__SHAPE_STR_SIZE];
    const bgm_tensor *t = NULL;
    bgm_status s;
    int d;
    BGM__CHECK_NULL(dst, fn);
    s = find_tensor(&t, fn, a, name);
    if (s != BGM_OK)
        return s;
    if (bgm_tensor_dtype(dst) != bgm_tensor_dtype(t))
        return bgm__fail(BGM_E_DTYPE, "%s: tensor '%.64s' is %s, the destination %s", fn,
                         name, bgm_tensor_dtype(t) == BGM_FLOAT32 ? "float32" : "int32",
                         bgm_tensor_dtype(dst) == BGM_FLOAT32 ? "float32" : "int32");
    for (d = 0; d < bgm_tensor_ndim(t); d++)
        if (bgm_tensor_ndim(dst) != bgm_tensor_ndim(t) ||
            bgm_tensor_shape(dst)[d] != bgm_tensor_shape(t)[d])
            break;
    if (bgm_tensor_ndim(dst) != bgm_tensor_ndim(t) || d < bgm_tensor_ndim(t))
        return bgm__fail(BGM_E_SHAPE, "%s: tensor '%.64s' has shape %s, the destination %s",
                         fn, name,
                         bgm__shape_str(have, sizeof have, bgm_tensor_shape(t),
                                        bgm_tensor_ndim(t)),
                         bgm__shape_str(want, sizeof want, bgm_tensor_shape(dst),
                                        bgm_tensor_ndim(dst)));
    return bgm_tensor_copy_from(dst, bgm_tensor_data(t), bgm_tensor_nbytes(t));
}

BGM_API bgm_status bgm_archive_find_tensor(const bgm_tensor **out, const bgm_archive *a,
                                           const char *name)
{
    BGM__CHECK_NULL(out, "bgm_archive_find_tensor");
    *out = NULL;
    return find_tensor(out, "bgm_archive_find_tensor", a, name);
}

BGM_API int64_t bgm_archive_num_tensors(const bgm_archive *a) { return a ? a->ntensors : 0; }

BGM_API const char *bgm_archive_tensor_name(const bgm_archive *a, int64_t i)
{
    return a && i >= 0 && i < a->ntensors ? a->tensors[i].name : NULL;
}
