/* Import and export of the safetensors format: an 8-byte little-endian
 * header length N, N bytes of JSON
 *   {"__metadata__": {"k": "v", ...},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
 * then the tensors' bytes, row-major and little-endian, the offsets counted
 * from the first byte after the header. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_impl.h"
#include "atomic.h"
#include "bytes.h"
#include "core/error.h"
#include "core/tensor_impl.h"
#include "json.h"
#include "safetensors.h"
#include "source.h"

#define CHUNK ((size_t)1 << 16)
/* The reference implementation's limit on the header. */
#define HEADER_MAX 100000000ull

/* ---- export ----------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
    int ok;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (!t->ok)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t want = t->cap ? t->cap : 1024;
        char *p;
        while (want < t->len + n + 1)
            want *= 2;
        p = realloc(t->p, want);
        if (!p) {
            t->ok = 0;
            return;
        }
        t->p = p;
        t->cap = want;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_int(text *t, uint64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    put(t, buf, (size_t)n);
}

/* A JSON string literal of n bytes of UTF-8. */
static void put_string(text *t, const char *s, size_t n)
{
    size_t i;
    char esc[8];
    puts_(t, "\"");
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(t, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(t, esc, 6);
        } else {
            put(t, (const char *)&c, 1);
        }
    }
    puts_(t, "\"");
}

/* A metadata value as safetensors' string. */
static void put_meta_value(text *t, const bgm__meta *m)
{
    text v = {NULL, 0, 0, 1};
    char num[40];
    int64_t i;
    switch (m->type) {
    case BGM_META_STRING:
        put_string(t, m->values, (size_t)m->count);
        return;
    case BGM_META_INT64:
        snprintf(num, sizeof num, "%lld", (long long)m->i);
        puts_(&v, num);
        break;
    case BGM_META_FLOAT64:
        snprintf(num, sizeof num, "%.17g", m->f);
        puts_(&v, num);
        break;
    case BGM_META_INT64_ARRAY:
    case BGM_META_FLOAT64_ARRAY:
        puts_(&v, "[");
        for (i = 0; i < m->count; i++) {
            if (m->type == BGM_META_INT64_ARRAY)
                snprintf(num, sizeof num, "%lld", (long long)((const int64_t *)m->values)[i]);
            else
                snprintf(num, sizeof num, "%.17g", ((const double *)m->values)[i]);
            if (i)
                puts_(&v, ", ");
            puts_(&v, num);
        }
        puts_(&v, "]");
        break;
    case BGM_META_NONE:
        break;
    }
    if (!v.ok)
        t->ok = 0;
    else
        put_string(t, v.p ? v.p : "", v.len);
    free(v.p);
}

static bgm_status build_header(text *t, const bgm_archive *a, const char *fn,
                               const char *path)
{
    uint64_t off = 0;
    int64_t i;
    int d;
    puts_(t, "{\"__metadata__\":{");
    if (bgm__archive_meta_index(a, "format") < 0)
        puts_(t, "\"format\":\"pt\"");
    for (i = 0; i < a->nmeta; i++) {
        const bgm__meta *m = &a->meta[i];
        if (m->type == BGM_META_STRING &&
            !bgm__utf8_valid(m->values, (size_t)m->count))
            return bgm__fail(BGM_E_INVALID, "%s: %s: metadata key '%.64s' holds a string "
                             "that is not UTF-8, which JSON cannot carry", fn, path, m->key);
        if (i > 0 || bgm__archive_meta_index(a, "format") < 0)
            puts_(t, ",");
        put_string(t, m->key, strlen(m->key));
        puts_(t, ":");
        put_meta_value(t, m);
    }
    puts_(t, "}");
    for (i = 0; i < a->ntensors; i++) {
        const bgm_tensor *x = a->tensors[i].t;
        puts_(t, ",");
        put_string(t, a->tensors[i].name, strlen(a->tensors[i].name));
        puts_(t, bgm_tensor_dtype(x) == BGM_FLOAT32 ? ":{\"dtype\":\"F32\",\"shape\":["
                                                     : ":{\"dtype\":\"I32\",\"shape\":[");
        for (d = 0; d < bgm_tensor_ndim(x); d++) {
            if (d)
                puts_(t, ",");
            put_int(t, (uint64_t)bgm_tensor_shape(x)[d]);
        }
        puts_(t, "],\"data_offsets\":[");
        put_int(t, off);
        puts_(t, ",");
        put_int(t, off + bgm_tensor_nbytes(x));
        puts_(t, "]}");
        off += bgm_tensor_nbytes(x);
    }
    puts_(t, "}");
    /* Spaces up to a multiple of 8 keep the data 8-byte aligned, as the
     * reference writer does. */
    while (t->ok && (8 + t->len) % 8 != 0)
        puts_(t, " ");
    return t->ok ? BGM_OK : bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", fn, path);
}

typedef struct export_ctx {
    const bgm_archive *a;
    const text *header;
    unsigned char *scratch;
} export_ctx;

static int write_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : (errno ? errno : EIO);
}

static int write_safetensors(FILE *f, void *ctx)
{
    export_ctx *e = ctx;
    unsigned char len[8];
    int64_t i;
    int err;
    bgm__put_u64(len, e->header->len);
    if ((err = write_all(f, len, 8)) != 0 ||
        (err = write_all(f, e->header->p, e->header->len)) != 0)
        return err;
    for (i = 0; i < e->a->ntensors; i++) {
        const unsigned char *p = bgm_tensor_data(e->a->tensors[i].t);
        size_t n = bgm_tensor_nbytes(e->a->tensors[i].t), piece;
        if (bgm__host_is_le()) {
            if ((err = write_all(f, p, n)) != 0)
                return err;
            continue;
        }
        for (; n > 0; n -= piece, p += piece) {
            piece = n < CHUNK ? n : CHUNK;
            memcpy(e->scratch, p, piece);
            bgm__swap32(e->scratch, piece);
            if ((err = write_all(f, e->scratch, piece)) != 0)
                return err;
        }
    }
    return 0;
}

BGM_API bgm_status bgm_archive_save_safetensors(const bgm_archive *a, const char *path)
{
    const char *fn = "bgm_archive_save_safetensors";
    text header = {NULL, 0, 0, 1};
    export_ctx e;
    bgm_status s;
    BGM__CHECK_NULL(a, fn);
    BGM__CHECK_NULL(path, fn);
    e.a = a;
    e.header = &header;
    e.scratch = malloc(CHUNK);
    if (!e.scratch)
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", fn, path);
    s = build_header(&header, a, fn, path);
    if (s == BGM_OK)
        s = bgm__atomic_write(fn, path, write_safetensors, &e);
    free(header.p);
    free(e.scratch);
    return s;
}

/* ---- import ----------------------------------------------------------- */

typedef enum st_dtype { ST_F32 = 1, ST_I32, ST_I64 } st_dtype;

typedef struct st_entry {
    char *name;
    st_dtype dtype;
    int ndim;
    int64_t shape[BGM_MAX_DIMS];
    uint64_t begin, end;
    uint64_t at;             /* header offset of the entry, for messages */
} st_entry;

typedef struct st_reader {
    bgm__source src;
    bgm__json j;
    uint64_t data_off, data_len;
    st_entry *entries;
    size_t n, cap;
} st_reader;

/* A JSON problem as BGM_E_FORMAT at its file offset. */
static bgm_status json_fail(st_reader *r)
{
    bgm_status s = strcmp(r->j.error, "out of memory") == 0 ? BGM_E_NOMEM : BGM_E_FORMAT;
    return bgm__source_fail(&r->src, s, 8 + r->j.error_pos, "malformed header: %s",
                            r->j.error);
}

static bgm_status add_metadata(st_reader *r, bgm_archive *a)
{
    size_t count = 0, klen, vlen;
    uint64_t at;
    bgm__meta m;
    int more;
    const char *problem;
    if (!bgm__json_expect(&r->j, '{'))
        return json_fail(r);
    while ((more = bgm__json_next(&r->j, '}', &count)) == 1) {
        memset(&m, 0, sizeof m);
        at = 8 + r->j.pos;
        if (!bgm__json_string(&r->j, &m.key, &klen) || !bgm__json_expect(&r->j, ':'))
            goto fail_json;
        if (bgm__json_peek(&r->j) != '"') {
            bgm__json_fail(&r->j, "__metadata__ values must be strings");
            goto fail_json;
        }
        if (!bgm__json_string(&r->j, (char **)&m.values, &vlen))
            goto fail_json;
        problem = bgm__archive_name_problem(m.key, klen);
        if (problem) {
            bgm__meta_clear(&m);
            return bgm__source_fail(&r->src, BGM_E_FORMAT, at, "metadata key %s", problem);
        }
        if (bgm__archive_meta_index(a, m.key) >= 0) {
            bgm_status s = bgm__source_fail(&r->src, BGM_E_FORMAT, at, "metadata key "
                                            "'%.64s' appears twice", m.key);
            bgm__meta_clear(&m);
            return s;
        }
        m.type = BGM_META_STRING;
        m.count = (int64_t)vlen;
        if (bgm__archive_put_meta(a, r->src.fn, &m) != BGM_OK)
            return BGM_E_NOMEM;
    }
    return more == 0 ? BGM_OK : json_fail(r);
fail_json:
    bgm__meta_clear(&m);
    return json_fail(r);
}

static bgm_status parse_dtype(st_reader *r, st_entry *e)
{
    uint64_t at = 8 + r->j.pos;
    char *s = NULL;
    size_t n;
    bgm_status st = BGM_OK;
    if (!bgm__json_string(&r->j, &s, &n))
        return json_fail(r);
    if (strcmp(s, "F32") == 0)
        e->dtype = ST_F32;
    else if (strcmp(s, "I32") == 0)
        e->dtype = ST_I32;
    else if (strcmp(s, "I64") == 0)
        e->dtype = ST_I64;
    else
        st = bgm__source_fail(&r->src, BGM_E_UNSUPPORTED, at, "tensor '%.64s' has dtype "
                              "\"%.16s\"; this library reads F32, I32 and I64", e->name, s);
    free(s);
    return st;
}

static bgm_status parse_shape(st_reader *r, st_entry *e)
{
    size_t count = 0;
    uint64_t v, at = 8 + r->j.pos;
    int more;
    if (!bgm__json_expect(&r->j, '['))
        return json_fail(r);
    while ((more = bgm__json_next(&r->j, ']', &count)) == 1) {
        if (!bgm__json_uint(&r->j, &v))
            return json_fail(r);
        if (count > BGM_MAX_DIMS)
            return bgm__source_fail(&r->src, BGM_E_UNSUPPORTED, at, "tensor '%.64s' has "
                                    "more than %d dimensions", e->name, BGM_MAX_DIMS);
        e->shape[count - 1] = (int64_t)v;
    }
    if (more < 0)
        return json_fail(r);
    e->ndim = (int)count;
    return BGM_OK;
}

static bgm_status parse_offsets(st_reader *r, st_entry *e)
{
    size_t count = 0;
    uint64_t v[2] = {0, 0}, x;
    int more;
    if (!bgm__json_expect(&r->j, '['))
        return json_fail(r);
    while ((more = bgm__json_next(&r->j, ']', &count)) == 1) {
        if (count > 2) {
            bgm__json_fail(&r->j, "data_offsets holds more than 2 numbers");
            return json_fail(r);
        }
        if (!bgm__json_uint(&r->j, &x))
            return json_fail(r);
        v[count - 1] = x;
    }
    if (more < 0)
        return json_fail(r);
    if (count != 2) {
        bgm__json_fail(&r->j, "data_offsets needs 2 numbers");
        return json_fail(r);
    }
    e->begin = v[0];
    e->end = v[1];
    return BGM_OK;
}

/* Parses one tensor's object (after its name and ':'). */
static bgm_status parse_entry(st_reader *r, st_entry *e)
{
    size_t count = 0, klen;
    int more, seen = 0, bit;
    char *key = NULL;
    bgm_status s;
    if (!bgm__json_expect(&r->j, '{'))
        return json_fail(r);
    while ((more = bgm__json_next(&r->j, '}', &count)) == 1) {
        size_t key_pos = r->j.pos;
        if (!bgm__json_string(&r->j, &key, &klen) || !bgm__json_expect(&r->j, ':')) {
            free(key);
            return json_fail(r);
        }
        bit = strcmp(key, "dtype") == 0 ? 1 : strcmp(key, "shape") == 0 ? 2
              : strcmp(key, "data_offsets") == 0 ? 4 : 0;
        free(key);
        key = NULL;
        if (bit == 0 || (seen & bit)) {
            r->j.pos = key_pos;
            bgm__json_fail(&r->j, bit ? "repeated key in a tensor entry"
                                      : "unknown key in a tensor entry (expected dtype, "
                                        "shape, data_offsets)");
            return json_fail(r);
        }
        seen |= bit;
        s = bit == 1 ? parse_dtype(r, e) : bit == 2 ? parse_shape(r, e) : parse_offsets(r, e);
        if (s != BGM_OK)
            return s;
    }
    if (more < 0)
        return json_fail(r);
    if (seen != 7)
        return bgm__source_fail(&r->src, BGM_E_FORMAT, e->at, "tensor '%.64s' lacks %s",
                                e->name, !(seen & 1) ? "\"dtype\"" : !(seen & 2)
                                ? "\"shape\"" : "\"data_offsets\"");
    return BGM_OK;
}

static bgm_status parse_header(st_reader *r, bgm_archive *a)
{
    size_t count = 0, nlen;
    int more, seen_meta = 0;
    char *name = NULL;
    uint64_t at;
    const char *problem;
    bgm_status s;
    if (!bgm__json_expect(&r->j, '{'))
        return json_fail(r);
    while ((more = bgm__json_next(&r->j, '}', &count)) == 1) {
        at = 8 + r->j.pos;
        if (!bgm__json_string(&r->j, &name, &nlen) || !bgm__json_expect(&r->j, ':')) {
            free(name);
            return json_fail(r);
        }
        if (strcmp(name, "__metadata__") == 0) {
            free(name);
            if (seen_meta++)
                return bgm__source_fail(&r->src, BGM_E_FORMAT, at, "\"__metadata__\" "
                                        "appears twice");
            if ((s = add_metadata(r, a)) != BGM_OK)
                return s;
            continue;
        }
        if ((problem = bgm__archive_name_problem(name, nlen)) != NULL) {
            free(name);
            return bgm__source_fail(&r->src, BGM_E_FORMAT, at, "tensor name %s", problem);
        }
        if (r->n == r->cap) {
            size_t want = r->cap ? r->cap * 2 : 16;
            st_entry *p = realloc(r->entries, want * sizeof *p);
            if (!p) {
                free(name);
                return bgm__source_fail(&r->src, BGM_E_NOMEM, at, "out of memory");
            }
            r->entries = p;
            r->cap = want;
        }
        memset(&r->entries[r->n], 0, sizeof r->entries[r->n]);
        r->entries[r->n].name = name;
        r->entries[r->n].at = at;
        r->n++;
        if ((s = parse_entry(r, &r->entries[r->n - 1])) != BGM_OK)
            return s;
    }
    if (more < 0)
        return json_fail(r);
    if (!bgm__json_at_end(&r->j)) {
        bgm__json_fail(&r->j, "unexpected bytes after the header's object");
        return json_fail(r);
    }
    return BGM_OK;
}

static size_t st_size(st_dtype d) { return d == ST_I64 ? 8 : 4; }

static int by_begin(const void *x, const void *y)
{
    const st_entry *a = *(const st_entry *const *)x, *b = *(const st_entry *const *)y;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

/* Every entry's byte range matches its shape; together they tile the data. */
static bgm_status check_ranges(st_reader *r)
{
    st_entry **order;
    uint64_t pos = 0, numel;
    size_t i;
    int d;
    for (i = 0; i < r->n; i++) {
        st_entry *e = &r->entries[i];
        int bad = 0, zero = 0;
        numel = 1;
        for (d = 0; d < e->ndim; d++)
            zero |= e->shape[d] == 0;
        for (d = 0; d < e->ndim && !zero && !bad; d++) {
            if (numel > r->data_len / st_size(e->dtype) / (uint64_t)e->shape[d])
                bad = 1;
            numel *= (uint64_t)e->shape[d];
        }
        if (zero)
            numel = 0;
        if (e->end < e->begin || e->end > r->data_len)
            return bgm__source_fail(&r->src, BGM_E_FORMAT, e->at, "tensor '%.64s': "
                                    "data_offsets [%llu, %llu] are not a range within the "
                                    "%llu bytes of data", e->name,
                                    (unsigned long long)e->begin, (unsigned long long)e->end,
                                    (unsigned long long)r->data_len);
        if (bad || numel * st_size(e->dtype) != e->end - e->begin)
            return bgm__source_fail(&r->src, BGM_E_FORMAT, e->at, "tensor '%.64s': its "
                                    "shape needs a different byte length than "
                                    "data_offsets [%llu, %llu] give", e->name,
                                    (unsigned long long)e->begin,
                                    (unsigned long long)e->end);
    }
    order = malloc((r->n ? r->n : 1) * sizeof *order);
    if (!order)
        return bgm__source_fail(&r->src, BGM_E_NOMEM, 8, "out of memory");
    for (i = 0; i < r->n; i++)
        order[i] = &r->entries[i];
    qsort(order, r->n, sizeof *order, by_begin);
    for (i = 0; i < r->n; i++) {
        if (order[i]->begin != pos) {
            st_entry *e = order[i];
            bgm_status s = bgm__source_fail(&r->src, BGM_E_FORMAT, e->at, "tensor '%.64s' "
                                            "starts at data byte %llu, but the previous "
                                            "bytes end at %llu (%s)", e->name,
                                            (unsigned long long)e->begin,
                                            (unsigned long long)pos,
                                            e->begin < pos ? "overlap" : "a hole");
            free(order);
            return s;
        }
        pos = order[i]->end;
    }
    free(order);
    if (pos != r->data_len)
        return bgm__source_fail(&r->src, BGM_E_FORMAT, r->data_off + pos, "the tensors "
                                "cover %llu of the %llu data bytes", (unsigned long long)pos,
                                (unsigned long long)r->data_len);
    return BGM_OK;
}

/* Reads entry e's data into a new tensor of the archive. */
static bgm_status load_tensor(st_reader *r, bgm_archive *a, st_entry *e,
                              unsigned char *scratch)
{
    bgm_tensor *t = NULL;
    uint64_t off = r->data_off + e->begin, n = e->end - e->begin, i;
    int32_t *dst;
    bgm_status s = bgm__tensor_new(&t, r->src.fn, e->dtype == ST_F32 ? BGM_FLOAT32 : BGM_INT32,
                                   e->shape, e->ndim);
    if (s != BGM_OK)
        return s;
    if (e->dtype != ST_I64) {
        s = bgm__source_read(&r->src, off, bgm_tensor_data(t), (size_t)n);
        if (s == BGM_OK && !bgm__host_is_le())
            bgm__swap32(bgm_tensor_data(t), (size_t)n);
    } else {
        dst = bgm_tensor_data(t);
        while (s == BGM_OK && n > 0) {
            size_t piece = n < CHUNK ? (size_t)n : CHUNK;
            s = bgm__source_read(&r->src, off, scratch, piece);
            for (i = 0; s == BGM_OK && i < piece / 8; i++) {
                int64_t v = (int64_t)bgm__get_u64(scratch + 8 * i);
                if (v < INT32_MIN || v > INT32_MAX)
                    s = bgm__source_fail(&r->src, BGM_E_UNSUPPORTED, off + 8 * i, "I64 "
                                         "tensor '%.64s' holds %lld, outside int32", e->name,
                                         (long long)v);
                *dst++ = (int32_t)v;
            }
            off += piece;
            n -= piece;
        }
    }
    if (s != BGM_OK) {
        bgm_tensor_free(t);
        return s;
    }
    s = bgm__archive_put_tensor(a, r->src.fn, e->name, t);
    e->name = NULL;
    return s;
}

static bgm_status import(bgm_archive **out, st_reader *r)
{
    unsigned char len[8], *header = NULL, *scratch = NULL;
    uint64_t hlen;
    size_t i;
    bgm_status s;
    if (r->src.size < 8)
        return bgm__source_fail(&r->src, BGM_E_FORMAT, r->src.size, "truncated: the file "
                                "has %llu bytes, the header length needs 8",
                                (unsigned long long)r->src.size);
    if ((s = bgm__source_read(&r->src, 0, len, 8)) != BGM_OK)
        return s;
    hlen = bgm__get_u64(len);
    if (hlen > r->src.size - 8 || hlen > HEADER_MAX)
        return bgm__source_fail(&r->src, BGM_E_FORMAT, 0, "header length %llu exceeds the "
                                "%llu bytes after it%s", (unsigned long long)hlen,
                                (unsigned long long)(r->src.size - 8),
                                hlen > HEADER_MAX ? " or the 100 MB limit" : "");
    r->data_off = 8 + hlen;
    r->data_len = r->src.size - r->data_off;
    header = malloc(hlen ? (size_t)hlen : 1);
    scratch = malloc(CHUNK);
    if (!header || !scratch) {
        s = bgm__source_fail(&r->src, BGM_E_NOMEM, 8, "out of memory");
        goto done;
    }
    if ((s = bgm__source_read(&r->src, 8, header, (size_t)hlen)) != BGM_OK)
        goto done;
    if (hlen == 0 || header[0] != '{') {
        s = bgm__source_fail(&r->src, BGM_E_FORMAT, 8, "the header must start with '{'");
        goto done;
    }
    bgm__json_init(&r->j, header, (size_t)hlen);
    if ((s = bgm_archive_create(out)) != BGM_OK || (s = parse_header(r, *out)) != BGM_OK ||
        (s = check_ranges(r)) != BGM_OK)
        goto done;
    for (i = 0; i < r->n; i++) {
        if (bgm__archive_tensor_index(*out, r->entries[i].name) >= 0) {
            s = bgm__source_fail(&r->src, BGM_E_FORMAT, r->entries[i].at, "tensor name "
                                 "'%.64s' appears twice", r->entries[i].name);
            goto done;
        }
        if ((s = load_tensor(r, *out, &r->entries[i], scratch)) != BGM_OK)
            goto done;
    }
done:
    for (i = 0; i < r->n; i++)
        free(r->entries[i].name);
    free(r->entries);
    free(header);
    free(scratch);
    if (s != BGM_OK) {
        bgm_archive_free(*out);
        *out = NULL;
    }
    return s;
}

bgm_status bgm__safetensors_parse(bgm_archive **out, const void *data, size_t size)
{
    st_reader r;
    memset(&r, 0, sizeof r);
    *out = NULL;
    bgm__source_memory(&r.src, "bgm_archive_load_safetensors", data, size);
    return import(out, &r);
}

BGM_API bgm_status bgm_archive_load_safetensors(bgm_archive **out, const char *path)
{
    st_reader r;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_load_safetensors");
    *out = NULL;
    BGM__CHECK_NULL(path, "bgm_archive_load_safetensors");
    memset(&r, 0, sizeof r);
    if ((s = bgm__source_open(&r.src, "bgm_archive_load_safetensors", path)) != BGM_OK)
        return s;
    s = import(out, &r);
    bgm__source_close(&r.src);
    return s;
}
