/* bgm_archive_load / bgm_archive_load_memory: the .bgm reader. Nothing a
 * file declares is trusted before it is checked against the file's real
 * length and its section's CRC, so no allocation exceeds what the file's
 * size justifies (compressed data: 1032 times its stored size, deflate's
 * limit), and every rejection names the file and a byte offset. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive_impl.h"
#include "bgm_format.h"
#include "bytes.h"
#include "core/error.h"
#include "core/tensor_impl.h"
#include "source.h"

#define CHUNK ((size_t)1 << 16)

typedef struct reader {
    bgm__source src;
    unsigned major, minor;
    uint32_t flags, header_size;
    uint64_t size;               /* real length of the file (src.size) */
    uint64_t meta_off, meta_len, table_off, table_len, data_off, data_len, raw_len;
    uint32_t meta_crc, table_crc, data_crc;
} reader;

#define fail_at(r, status, ...) bgm__source_fail(&(r)->src, status, __VA_ARGS__)
#define src_read(r, off, buf, n) bgm__source_read(&(r)->src, off, buf, n)

/* A section's bytes: borrowed from memory, or read into a new buffer. */
static bgm_status section_get(const reader *r, uint64_t off, uint64_t len,
                              const unsigned char **p, unsigned char **owned)
{
    *owned = NULL;
    if (r->src.mem) {
        *p = r->src.mem + off;
        return BGM_OK;
    }
    *owned = malloc(len ? (size_t)len : 1);
    if (!*owned)
        return fail_at(r, BGM_E_NOMEM, off, "out of memory for a %llu-byte section",
                       (unsigned long long)len);
    *p = *owned;
    return src_read(r, off, *owned, (size_t)len);
}

/* ---- header ----------------------------------------------------------- */

static bgm_status truncated(const reader *r, uint64_t need, const char *what)
{
    return fail_at(r, BGM_E_FORMAT, r->size,
                   "truncated: the file has %llu bytes, %s needs %llu",
                   (unsigned long long)r->size, what, (unsigned long long)need);
}

static bgm_status check_section(const reader *r, const char *name, uint64_t off,
                                uint64_t len, uint64_t min_off, int field)
{
    if (off < min_off || off > r->size || len > r->size - off)
        return fail_at(r, BGM_E_FORMAT, (uint64_t)field,
                       "the %s section (offset %llu, length %llu) does not lie within "
                       "bytes %llu..%llu of the file", name, (unsigned long long)off,
                       (unsigned long long)len, (unsigned long long)min_off,
                       (unsigned long long)r->size);
    return BGM_OK;
}

static bgm_status read_header(reader *r)
{
    unsigned char fixed[BGMF_HEADER_SIZE], *h = fixed, *big = NULL;
    uint64_t declared;
    uint32_t stored, crc;
    bgm_status s;
    if (r->size < 4)
        return truncated(r, 4, "the magic");
    if ((s = src_read(r, 0, fixed, r->size < BGMF_HEADER_SIZE ? (size_t)r->size
                                                              : BGMF_HEADER_SIZE)) != BGM_OK)
        return s;
    if (memcmp(fixed, BGMF_MAGIC, 4) != 0)
        return fail_at(r, BGM_E_FORMAT, 0, "not a .bgm file: the magic is %02x %02x %02x "
                       "%02x, expected \"BGMF\"", fixed[0], fixed[1], fixed[2], fixed[3]);
    if (r->size < 8)
        return truncated(r, 8, "the format version");
    r->major = bgm__get_u16(fixed + BGMF_OFF_MAJOR);
    r->minor = bgm__get_u16(fixed + BGMF_OFF_MINOR);
    if (r->major > BGM_FILE_FORMAT_MAJOR)
        return fail_at(r, BGM_E_UNSUPPORTED, BGMF_OFF_MAJOR,
                       "format version %u.%u is newer than this library reads (%d.x; it "
                       "writes %d.%d)", r->major, r->minor, BGM_FILE_FORMAT_MAJOR,
                       BGM_FILE_FORMAT_MAJOR, BGM_FILE_FORMAT_MINOR);
    if (r->major < 1)
        return fail_at(r, BGM_E_FORMAT, BGMF_OFF_MAJOR, "format version %u.%u does not "
                       "exist (the first is 1.0)", r->major, r->minor);
    if (r->size < BGMF_HEADER_SIZE)
        return truncated(r, BGMF_HEADER_SIZE, "the header");
    r->header_size = bgm__get_u32(fixed + BGMF_OFF_HEADER_SIZE);
    if (r->header_size < BGMF_HEADER_SIZE || r->header_size > BGMF_HEADER_MAX)
        return fail_at(r, BGM_E_FORMAT, BGMF_OFF_HEADER_SIZE, "header size %u is outside "
                       "%d..%d", r->header_size, BGMF_HEADER_SIZE, BGMF_HEADER_MAX);
    if (r->header_size > r->size)
        return truncated(r, r->header_size, "the header");
    if (r->header_size > BGMF_HEADER_SIZE) {
        /* A later minor's longer header: its CRC covers the new fields too. */
        big = malloc(r->header_size);
        if (!big)
            return fail_at(r, BGM_E_NOMEM, 0, "out of memory");
        if ((s = src_read(r, 0, big, r->header_size)) != BGM_OK) {
            free(big);
            return s;
        }
        h = big;
    }
    stored = bgm__get_u32(h + r->header_size - 4);
    crc = bgm__crc32(0, h, r->header_size - 4);
    free(big);
    if (stored != crc)
        return fail_at(r, BGM_E_FORMAT, r->header_size - 4, "CRC mismatch in the header "
                       "(bytes 0..%u): stored 0x%08x, computed 0x%08x", r->header_size,
                       stored, crc);
    h = fixed;
    declared = bgm__get_u64(h + BGMF_OFF_FILE_SIZE);
    if (declared > r->size)
        return fail_at(r, BGM_E_FORMAT, r->size, "truncated: the file has %llu bytes, the "
                       "header (byte %d) says %llu", (unsigned long long)r->size,
                       BGMF_OFF_FILE_SIZE, (unsigned long long)declared);
    if (declared < r->size)
        return fail_at(r, BGM_E_FORMAT, declared, "%llu unexpected bytes after the end the "
                       "header gives (%llu)", (unsigned long long)(r->size - declared),
                       (unsigned long long)declared);
    r->flags = bgm__get_u32(h + BGMF_OFF_FLAGS);
    if (r->flags & BGMF_FLAGS_REQUIRED_MASK & ~BGMF_FLAGS_KNOWN_REQUIRED)
        return fail_at(r, BGM_E_UNSUPPORTED, BGMF_OFF_FLAGS, "flags 0x%08x ask for features "
                       "this library (format %d.%d) does not know", r->flags,
                       BGM_FILE_FORMAT_MAJOR, BGM_FILE_FORMAT_MINOR);
    r->meta_off = bgm__get_u64(h + BGMF_OFF_META_OFFSET);
    r->meta_len = bgm__get_u64(h + BGMF_OFF_META_LENGTH);
    r->table_off = bgm__get_u64(h + BGMF_OFF_TABLE_OFFSET);
    r->table_len = bgm__get_u64(h + BGMF_OFF_TABLE_LENGTH);
    r->data_off = bgm__get_u64(h + BGMF_OFF_DATA_OFFSET);
    r->data_len = bgm__get_u64(h + BGMF_OFF_DATA_LENGTH);
    r->raw_len = bgm__get_u64(h + BGMF_OFF_DATA_RAW_LENGTH);
    r->meta_crc = bgm__get_u32(h + BGMF_OFF_META_CRC);
    r->table_crc = bgm__get_u32(h + BGMF_OFF_TABLE_CRC);
    r->data_crc = bgm__get_u32(h + BGMF_OFF_DATA_CRC);
    if ((s = check_section(r, "metadata", r->meta_off, r->meta_len, r->header_size,
                           BGMF_OFF_META_OFFSET)) != BGM_OK ||
        (s = check_section(r, "tensor table", r->table_off, r->table_len,
                           r->meta_off + r->meta_len, BGMF_OFF_TABLE_OFFSET)) != BGM_OK ||
        (s = check_section(r, "data", r->data_off, r->data_len,
                           r->table_off + r->table_len, BGMF_OFF_DATA_OFFSET)) != BGM_OK)
        return s;
    if (r->data_off % BGMF_ALIGN != 0)
        return fail_at(r, BGM_E_FORMAT, BGMF_OFF_DATA_OFFSET, "the data section offset "
                       "%llu is not a multiple of %d", (unsigned long long)r->data_off,
                       BGMF_ALIGN);
    if (r->data_off + r->data_len != r->size)
        return fail_at(r, BGM_E_FORMAT, r->data_off + r->data_len, "the data section "
                       "ends at byte %llu, not at the end of the file (%llu)",
                       (unsigned long long)(r->data_off + r->data_len),
                       (unsigned long long)r->size);
    if (r->flags & BGMF_FLAG_DEFLATE ? r->raw_len / BGMF_DEFLATE_MAX_RATIO > r->data_len
                                     : r->raw_len != r->data_len)
        return fail_at(r, BGM_E_FORMAT, BGMF_OFF_DATA_RAW_LENGTH, "%llu bytes of tensor "
                       "data cannot come from a %s data section of %llu bytes",
                       (unsigned long long)r->raw_len,
                       r->flags & BGMF_FLAG_DEFLATE ? "compressed" : "plain",
                       (unsigned long long)r->data_len);
    return BGM_OK;
}

/* ---- sections: a bounded cursor --------------------------------------- */

typedef struct cursor {
    const reader *r;
    const unsigned char *p;
    uint64_t pos, len, base;    /* base: file offset of p[0] */
} cursor;

static bgm_status need(const cursor *c, uint64_t n, const char *what)
{
    if (n > c->len - c->pos)
        return fail_at(c->r, BGM_E_FORMAT, c->base + c->pos, "%s needs %llu bytes, the "
                       "section has %llu left", what, (unsigned long long)n,
                       (unsigned long long)(c->len - c->pos));
    return BGM_OK;
}

static uint32_t take_u32(cursor *c)
{
    uint32_t v = bgm__get_u32(c->p + c->pos);
    c->pos += 4;
    return v;
}

static uint64_t take_u64(cursor *c)
{
    uint64_t v = bgm__get_u64(c->p + c->pos);
    c->pos += 8;
    return v;
}

static bgm_status open_section(cursor *c, const reader *r, const char *name, uint64_t off,
                               uint64_t len, uint32_t stored_crc, const unsigned char *p)
{
    uint32_t crc = bgm__crc32(0, p, len);
    c->r = r;
    c->p = p;
    c->pos = 0;
    c->len = len;
    c->base = off;
    if (crc != stored_crc)
        return fail_at(r, BGM_E_FORMAT, off, "CRC mismatch in the %s section (bytes "
                       "%llu..%llu): stored 0x%08x, computed 0x%08x", name,
                       (unsigned long long)off, (unsigned long long)(off + len),
                       stored_crc, crc);
    return BGM_OK;
}

/* Reads a key or name into a new string; its checks give the entry kind. */
static bgm_status take_name(char **out, cursor *c, const char *kind)
{
    uint64_t at = c->base + c->pos;
    uint32_t n;
    const char *problem;
    bgm_status s;
    *out = NULL;
    if ((s = need(c, 4, kind)) != BGM_OK)
        return s;
    n = take_u32(c);
    if (n == 0 || n > BGM_ARCHIVE_MAX_NAME)
        return fail_at(c->r, BGM_E_FORMAT, at, "%s length %u is outside 1..%d", kind, n,
                       BGM_ARCHIVE_MAX_NAME);
    if ((s = need(c, n, kind)) != BGM_OK)
        return s;
    problem = bgm__archive_name_problem((const char *)c->p + c->pos, n);
    if (problem)
        return fail_at(c->r, BGM_E_FORMAT, at + 4, "%s %s", kind, problem);
    *out = strndup((const char *)c->p + c->pos, n);
    if (!*out)
        return fail_at(c->r, BGM_E_NOMEM, at, "out of memory");
    c->pos += n;
    return BGM_OK;
}

/* ---- metadata --------------------------------------------------------- */

static bgm_status take_meta_value(bgm__meta *m, cursor *c, uint64_t vlen, uint64_t at)
{
    const unsigned char *v = c->p + c->pos;
    uint64_t i;
    switch (m->type) {
    case BGM_META_INT64:
    case BGM_META_FLOAT64:
        if (vlen != 8)
            return fail_at(c->r, BGM_E_FORMAT, at, "a %s value takes 8 bytes, not %llu",
                           bgm__meta_type_name(m->type), (unsigned long long)vlen);
        if (m->type == BGM_META_INT64)
            m->i = (int64_t)bgm__get_u64(v);
        else
            m->f = bgm__bits_f64(bgm__get_u64(v));
        return BGM_OK;
    case BGM_META_STRING:
        if (memchr(v, 0, (size_t)vlen))
            return fail_at(c->r, BGM_E_FORMAT, at + 8, "the string holds a NUL byte");
        m->values = malloc((size_t)vlen + 1);
        if (!m->values)
            return fail_at(c->r, BGM_E_NOMEM, at, "out of memory");
        memcpy(m->values, v, (size_t)vlen);
        ((char *)m->values)[vlen] = '\0';
        m->count = (int64_t)vlen;
        return BGM_OK;
    case BGM_META_INT64_ARRAY:
    case BGM_META_FLOAT64_ARRAY:
        if (vlen % 8 != 0)
            return fail_at(c->r, BGM_E_FORMAT, at, "a %s takes a multiple of 8 bytes, not "
                           "%llu", bgm__meta_type_name(m->type), (unsigned long long)vlen);
        m->count = (int64_t)(vlen / 8);
        if (vlen == 0)
            return BGM_OK;
        m->values = malloc((size_t)vlen);
        if (!m->values)
            return fail_at(c->r, BGM_E_NOMEM, at, "out of memory");
        for (i = 0; i < vlen / 8; i++) {
            uint64_t u = bgm__get_u64(v + 8 * i);
            if (m->type == BGM_META_INT64_ARRAY)
                ((int64_t *)m->values)[i] = (int64_t)u;
            else
                ((double *)m->values)[i] = bgm__bits_f64(u);
        }
        return BGM_OK;
    case BGM_META_NONE:
        break;
    }
    return BGM_E_INTERNAL;
}

static bgm_status read_meta(reader *r, bgm_archive *a)
{
    const unsigned char *p = NULL;
    unsigned char *owned = NULL;
    cursor c;
    uint32_t count, i, type;
    uint64_t vlen, at;
    bgm__meta m;
    bgm_status s = section_get(r, r->meta_off, r->meta_len, &p, &owned);
    if (s == BGM_OK)
        s = open_section(&c, r, "metadata", r->meta_off, r->meta_len, r->meta_crc, p);
    if (s == BGM_OK)
        s = need(&c, 4, "the metadata count");
    if (s != BGM_OK)
        goto done;
    count = take_u32(&c);
    if (count > (r->meta_len - 4) / BGMF_META_ENTRY_MIN) {
        s = fail_at(r, BGM_E_FORMAT, r->meta_off, "%u metadata entries cannot fit in a "
                    "%llu-byte section", count, (unsigned long long)r->meta_len);
        goto done;
    }
    for (i = 0; i < count; i++) {
        memset(&m, 0, sizeof m);
        at = c.base + c.pos;
        if ((s = take_name(&m.key, &c, "a metadata key")) != BGM_OK)
            goto done;
        if ((s = need(&c, 12, "a metadata type and length")) != BGM_OK)
            goto fail_entry;
        type = take_u32(&c);
        vlen = take_u64(&c);
        if ((s = need(&c, vlen, "a metadata value")) != BGM_OK)
            goto fail_entry;
        if (type < BGM_META_INT64 || type > BGM_META_FLOAT64_ARRAY) {
            /* A later minor may add types; their length lets us step over them. */
            if (r->minor > BGM_FILE_FORMAT_MINOR) {
                c.pos += vlen;
                bgm__meta_clear(&m);
                continue;
            }
            s = fail_at(r, BGM_E_FORMAT, c.base + c.pos - 12, "metadata key '%.64s' has "
                        "unknown type %u", m.key, type);
            goto fail_entry;
        }
        m.type = (bgm_meta_type)type;
        if ((s = take_meta_value(&m, &c, vlen, c.base + c.pos - 8)) != BGM_OK)
            goto fail_entry;
        c.pos += vlen;
        if (bgm__archive_meta_index(a, m.key) >= 0) {
            s = fail_at(r, BGM_E_FORMAT, at, "metadata key '%.64s' appears twice", m.key);
            goto fail_entry;
        }
        if ((s = bgm__archive_put_meta(a, r->src.fn, &m)) != BGM_OK)
            goto done;
    }
    if (c.pos != c.len)
        s = fail_at(r, BGM_E_FORMAT, c.base + c.pos, "%llu unexpected bytes after the "
                    "last metadata entry", (unsigned long long)(c.len - c.pos));
    goto done;
fail_entry:
    bgm__meta_clear(&m);
done:
    free(owned);
    return s;
}

/* ---- tensor table ----------------------------------------------------- */

typedef struct slot {
    bgm_tensor *t;          /* borrowed from the archive */
    uint64_t offset;        /* in the raw data */
} slot;

static bgm_status take_tensor(reader *r, bgm_archive *a, cursor *c, uint64_t *end,
                              slot *out)
{
    uint64_t at = c->base + c->pos, dim, offset, nbytes, numel = 1;
    int64_t shape[BGM_MAX_DIMS];
    uint32_t dtype, ndim, d;
    int bad = 0, zero = 0;
    bgm_tensor *t = NULL;
    char *name = NULL;
    bgm_status s;
    if ((s = take_name(&name, c, "a tensor name")) != BGM_OK)
        return s;
    if ((s = need(c, 8, "a tensor's dtype and rank")) != BGM_OK)
        goto fail;
    dtype = take_u32(c);
    ndim = take_u32(c);
    if (dtype != BGM_FLOAT32 && dtype != BGM_INT32) {
        s = fail_at(r, r->minor > BGM_FILE_FORMAT_MINOR ? BGM_E_UNSUPPORTED : BGM_E_FORMAT,
                    c->base + c->pos - 8, "tensor '%.64s' has dtype %u; this library "
                    "reads 1 (float32) and 2 (int32)", name, dtype);
        goto fail;
    }
    if (ndim > BGM_MAX_DIMS) {
        s = fail_at(r, BGM_E_FORMAT, c->base + c->pos - 4, "tensor '%.64s' has %u "
                    "dimensions, more than %d", name, ndim, BGM_MAX_DIMS);
        goto fail;
    }
    if ((s = need(c, 8 * (uint64_t)ndim + 16, "a tensor's shape, offset and length")) !=
        BGM_OK)
        goto fail;
    for (d = 0; d < ndim; d++) {
        dim = take_u64(c);
        bad |= dim > INT64_MAX;
        zero |= dim == 0;
        shape[d] = (int64_t)(dim & INT64_MAX);
    }
    offset = take_u64(c);
    nbytes = take_u64(c);
    /* The product is bounded by the data's length before it can overflow. */
    for (d = 0; d < ndim && !bad && !zero; d++) {
        if (numel > r->raw_len / 4 / (uint64_t)shape[d])
            bad = 1;
        numel *= (uint64_t)shape[d];
    }
    if (zero && !bad)
        numel = 0;
    if (bad || numel * 4 != nbytes) {
        s = fail_at(r, BGM_E_FORMAT, at, "tensor '%.64s': its shape and byte length %llu "
                    "do not agree, or exceed the %llu bytes of tensor data", name,
                    (unsigned long long)nbytes, (unsigned long long)r->raw_len);
        goto fail;
    }
    if (offset % BGMF_ALIGN != 0 || offset < *end || offset > r->raw_len ||
        nbytes > r->raw_len - offset) {
        s = fail_at(r, BGM_E_FORMAT, c->base + c->pos - 16, "tensor '%.64s': bytes "
                    "%llu..%llu of the data are not 64-byte aligned, after the previous "
                    "tensor (ending at %llu) and within the data (%llu bytes)", name,
                    (unsigned long long)offset, (unsigned long long)(offset + nbytes),
                    (unsigned long long)*end, (unsigned long long)r->raw_len);
        goto fail;
    }
    if (bgm__archive_tensor_index(a, name) >= 0) {
        s = fail_at(r, BGM_E_FORMAT, at, "tensor name '%.64s' appears twice", name);
        goto fail;
    }
    if ((s = bgm__tensor_new(&t, r->src.fn, (bgm_dtype)dtype, shape, (int)ndim)) != BGM_OK)
        goto fail;
    if ((s = bgm__archive_put_tensor(a, r->src.fn, name, t)) != BGM_OK)
        return s;
    *end = offset + nbytes;
    out->t = t;
    out->offset = offset;
    return BGM_OK;
fail:
    free(name);
    return s;
}

static bgm_status read_table(reader *r, bgm_archive *a, slot **slots, uint32_t *count)
{
    const unsigned char *p = NULL;
    unsigned char *owned = NULL;
    cursor c;
    uint64_t end = 0;
    uint32_t i;
    bgm_status s = section_get(r, r->table_off, r->table_len, &p, &owned);
    *slots = NULL;
    *count = 0;
    if (s == BGM_OK)
        s = open_section(&c, r, "tensor table", r->table_off, r->table_len, r->table_crc, p);
    if (s == BGM_OK)
        s = need(&c, 4, "the tensor count");
    if (s != BGM_OK)
        goto done;
    *count = take_u32(&c);
    if (*count > (r->table_len - 4) / BGMF_TENSOR_ENTRY_MIN) {
        s = fail_at(r, BGM_E_FORMAT, r->table_off, "%u tensors cannot fit in a %llu-byte "
                    "table", *count, (unsigned long long)r->table_len);
        goto done;
    }
    *slots = calloc(*count ? *count : 1, sizeof **slots);
    if (!*slots) {
        s = fail_at(r, BGM_E_NOMEM, r->table_off, "out of memory");
        goto done;
    }
    for (i = 0; i < *count && s == BGM_OK; i++)
        s = take_tensor(r, a, &c, &end, &(*slots)[i]);
    if (s == BGM_OK && c.pos != c.len)
        s = fail_at(r, BGM_E_FORMAT, c.base + c.pos, "%llu unexpected bytes after the last "
                    "tensor entry", (unsigned long long)(c.len - c.pos));
    if (s == BGM_OK && end != r->raw_len)
        s = fail_at(r, BGM_E_FORMAT, BGMF_OFF_DATA_RAW_LENGTH, "the tensor data is %llu "
                    "bytes but the last tensor ends at %llu", (unsigned long long)r->raw_len,
                    (unsigned long long)end);
done:
    free(owned);
    return s;
}

/* ---- data: the raw bytes, read in order, plain or inflated ------------- */

typedef struct data_in {
    reader *r;
    uint64_t pos;           /* stored bytes consumed (CRC'd) */
    uint64_t raw_pos;       /* raw bytes produced */
    uint32_t crc;
    int deflate;
    z_stream z;
    unsigned char *in;      /* CHUNK bytes of stored data for inflate */
} data_in;

/* Reads the next n stored bytes into buf and adds them to the CRC. */
static bgm_status take_stored(data_in *d, unsigned char *buf, size_t n)
{
    bgm_status s = src_read(d->r, d->r->data_off + d->pos, buf, n);
    if (s == BGM_OK) {
        d->crc = bgm__crc32(d->crc, buf, n);
        d->pos += n;
    }
    return s;
}

/* Produces the next n raw bytes into dst. */
static bgm_status data_read(data_in *d, unsigned char *dst, uint64_t n)
{
    reader *r = d->r;
    bgm_status s;
    int z;
    if (!d->deflate) {
        while (n > 0) {
            size_t piece = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)n;
            if ((s = take_stored(d, dst, piece)) != BGM_OK)
                return s;
            dst += piece;
            n -= piece;
            d->raw_pos += piece;
        }
        return BGM_OK;
    }
    while (n > 0) {
        uInt room = n > (1u << 30) ? (1u << 30) : (uInt)n;
        if (d->z.avail_in == 0 && d->pos < r->data_len) {
            size_t piece = r->data_len - d->pos < CHUNK ? (size_t)(r->data_len - d->pos)
                                                          : CHUNK;
            if ((s = take_stored(d, d->in, piece)) != BGM_OK)
                return s;
            d->z.next_in = d->in;
            d->z.avail_in = (uInt)piece;
        }
        d->z.next_out = dst;
        d->z.avail_out = room;
        z = inflate(&d->z, Z_NO_FLUSH);
        dst += room - d->z.avail_out;
        n -= room - d->z.avail_out;
        d->raw_pos += room - d->z.avail_out;
        if (z == Z_STREAM_END && n > 0)
            return fail_at(r, BGM_E_FORMAT, r->data_off + d->pos, "the compressed data "
                           "ends after %llu of %llu bytes",
                           (unsigned long long)d->raw_pos, (unsigned long long)r->raw_len);
        if (z == Z_BUF_ERROR && d->pos == r->data_len && d->z.avail_in == 0)
            return fail_at(r, BGM_E_FORMAT, r->data_off + d->pos, "the compressed data "
                           "stops after %llu of %llu bytes",
                           (unsigned long long)d->raw_pos, (unsigned long long)r->raw_len);
        if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR)
            return fail_at(r, z == Z_MEM_ERROR ? BGM_E_NOMEM : BGM_E_FORMAT,
                           r->data_off + d->pos, "corrupt compressed data: %s",
                           d->z.msg ? d->z.msg : "zlib error");
    }
    return BGM_OK;
}

/* Consumes the n raw bytes between tensors, which must be zero. */
static bgm_status data_skip(data_in *d, uint64_t n, unsigned char *scratch)
{
    uint64_t at = d->raw_pos;
    size_t piece, i;
    bgm_status s;
    while (n > 0) {
        piece = n < CHUNK ? (size_t)n : CHUNK;
        if ((s = data_read(d, scratch, piece)) != BGM_OK)
            return s;
        for (i = 0; i < piece; i++)
            if (scratch[i] != 0)
                return fail_at(d->r, BGM_E_FORMAT, d->r->data_off + at, "padding byte "
                               "%llu of the tensor data is 0x%02x, not zero",
                               (unsigned long long)(at + i), scratch[i]);
        n -= piece;
        at += piece;
    }
    return BGM_OK;
}

/* After the last tensor: a compressed stream must end exactly here. */
static bgm_status data_finish(data_in *d)
{
    reader *r = d->r;
    unsigned char extra;
    int z;
    if (!d->deflate)
        return BGM_OK;
    for (;;) {
        if (d->z.avail_in == 0 && d->pos < r->data_len) {
            size_t piece = r->data_len - d->pos < CHUNK ? (size_t)(r->data_len - d->pos)
                                                          : CHUNK;
            bgm_status s = take_stored(d, d->in, piece);
            if (s != BGM_OK)
                return s;
            d->z.next_in = d->in;
            d->z.avail_in = (uInt)piece;
        }
        d->z.next_out = &extra;
        d->z.avail_out = 1;
        z = inflate(&d->z, Z_NO_FLUSH);
        if (d->z.avail_out == 0)
            return fail_at(r, BGM_E_FORMAT, r->data_off + d->pos, "the compressed data "
                           "holds more than the %llu bytes the header gives",
                           (unsigned long long)r->raw_len);
        if (z == Z_STREAM_END)
            break;
        if (z != Z_OK && !(z == Z_BUF_ERROR && d->pos < r->data_len))
            return fail_at(r, BGM_E_FORMAT, r->data_off + d->pos, "the compressed data "
                           "does not end properly: %s", d->z.msg ? d->z.msg : "truncated");
    }
    if (d->z.avail_in != 0 || d->pos != r->data_len)
        return fail_at(r, BGM_E_FORMAT, r->data_off + d->pos - d->z.avail_in,
                       "%llu bytes follow the end of the compressed data",
                       (unsigned long long)(r->data_len - d->pos + d->z.avail_in));
    return BGM_OK;
}

/* After a failure inside the data: a wrong CRC is the better diagnosis. */
static bgm_status crc_verdict(data_in *d, bgm_status s, unsigned char *scratch)
{
    reader *r = d->r;
    while (d->pos < r->data_len) {
        size_t piece = r->data_len - d->pos < CHUNK ? (size_t)(r->data_len - d->pos) : CHUNK;
        if (take_stored(d, scratch, piece) != BGM_OK)
            return s;
    }
    if (d->crc != r->data_crc)
        return fail_at(r, BGM_E_FORMAT, r->data_off, "CRC mismatch in the data section "
                       "(bytes %llu..%llu): stored 0x%08x, computed 0x%08x",
                       (unsigned long long)r->data_off,
                       (unsigned long long)(r->data_off + r->data_len), r->data_crc, d->crc);
    return s;
}

static bgm_status read_data(reader *r, const slot *slots, uint32_t count)
{
    data_in d;
    unsigned char *scratch = malloc(CHUNK);
    bgm_status s = BGM_OK;
    uint32_t i;
    memset(&d, 0, sizeof d);
    d.r = r;
    d.deflate = (r->flags & BGMF_FLAG_DEFLATE) != 0;
    if (!scratch)
        return fail_at(r, BGM_E_NOMEM, r->data_off, "out of memory");
    if (d.deflate) {
        d.in = malloc(CHUNK);
        if (!d.in || inflateInit(&d.z) != Z_OK) {
            free(d.in);
            free(scratch);
            return fail_at(r, BGM_E_NOMEM, r->data_off, "out of memory");
        }
    }
    for (i = 0; i < count && s == BGM_OK; i++) {
        bgm_tensor *t = slots[i].t;
        s = data_skip(&d, slots[i].offset - d.raw_pos, scratch);
        if (s == BGM_OK)
            s = data_read(&d, bgm_tensor_data(t), bgm_tensor_nbytes(t));
        if (s == BGM_OK && !bgm__host_is_le())
            bgm__swap32(bgm_tensor_data(t), bgm_tensor_nbytes(t));
    }
    if (s == BGM_OK)
        s = data_finish(&d);
    if (s != BGM_OK)
        s = crc_verdict(&d, s, scratch);
    else if (d.crc != r->data_crc)
        s = fail_at(r, BGM_E_FORMAT, r->data_off, "CRC mismatch in the data section (bytes "
                    "%llu..%llu): stored 0x%08x, computed 0x%08x",
                    (unsigned long long)r->data_off,
                    (unsigned long long)(r->data_off + r->data_len), r->data_crc, d.crc);
    if (d.deflate)
        inflateEnd(&d.z);
    free(d.in);
    free(scratch);
    return s;
}

/* ---- entry points ----------------------------------------------------- */

static bgm_status read_archive(bgm_archive **out, reader *r)
{
    slot *slots = NULL;
    uint32_t count = 0;
    bgm_status s = read_header(r);
    if (s == BGM_OK)
        s = bgm_archive_create(out);
    if (s == BGM_OK)
        s = read_meta(r, *out);
    if (s == BGM_OK)
        s = read_table(r, *out, &slots, &count);
    if (s == BGM_OK)
        s = read_data(r, slots, count);
    free(slots);
    if (s != BGM_OK) {
        bgm_archive_free(*out);
        *out = NULL;
    }
    return s;
}

BGM_API bgm_status bgm_archive_load(bgm_archive **out, const char *path)
{
    reader r;
    bgm_status s;
    BGM__CHECK_NULL(out, "bgm_archive_load");
    *out = NULL;
    BGM__CHECK_NULL(path, "bgm_archive_load");
    memset(&r, 0, sizeof r);
    if ((s = bgm__source_open(&r.src, "bgm_archive_load", path)) != BGM_OK)
        return s;
    r.size = r.src.size;
    s = read_archive(out, &r);
    bgm__source_close(&r.src);
    return s;
}

BGM_API bgm_status bgm_archive_load_memory(bgm_archive **out, const void *data, size_t size)
{
    reader r;
    BGM__CHECK_NULL(out, "bgm_archive_load_memory");
    *out = NULL;
    if (size > 0)
        BGM__CHECK_NULL(data, "bgm_archive_load_memory");
    memset(&r, 0, sizeof r);
    bgm__source_memory(&r.src, "bgm_archive_load_memory", data, size);
    r.size = size;
    return read_archive(out, &r);
}
