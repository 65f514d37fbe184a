/* bgm_archive_save: serializes an archive to the .bgm format and writes it
 * atomically. The tensor data is streamed from the archive's tensors (once
 * for its CRC, once into the file) so saving needs no second copy of the
 * weights unless the data is compressed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "archive_impl.h"
#include "atomic.h"
#include "bgm_format.h"
#include "bytes.h"
#include "core/error.h"

#define FN "bgm_archive_save"
#define CHUNK ((size_t)1 << 16)

/* A growing byte buffer; ok drops to 0 on the first failed allocation. */
typedef struct bytebuf {
    unsigned char *p;
    size_t len, cap;
    int ok;
} bytebuf;

static unsigned char *buf_extend(bytebuf *b, size_t n)
{
    size_t want;
    unsigned char *p;
    if (!b->ok)
        return NULL;
    if (n > SIZE_MAX - b->len) {
        b->ok = 0;
        return NULL;
    }
    if (b->len + n > b->cap) {
        want = b->cap ? b->cap : 256;
        while (want < b->len + n)
            want = want > SIZE_MAX / 2 ? b->len + n : want * 2;
        p = realloc(b->p, want);
        if (!p) {
            b->ok = 0;
            return NULL;
        }
        b->p = p;
        b->cap = want;
    }
    p = b->p + b->len;
    b->len += n;
    return p;
}

static void buf_u32(bytebuf *b, uint32_t v)
{
    unsigned char *p = buf_extend(b, 4);
    if (p)
        bgm__put_u32(p, v);
}

static void buf_u64(bytebuf *b, uint64_t v)
{
    unsigned char *p = buf_extend(b, 8);
    if (p)
        bgm__put_u64(p, v);
}

static void buf_bytes(bytebuf *b, const void *data, size_t n)
{
    unsigned char *p = buf_extend(b, n);
    if (p && n)
        memcpy(p, data, n);
}

/* ---- metadata and table sections ----------------------------------------- */

static void put_meta_entry(bytebuf *b, const char *key, const bgm__meta *m)
{
    size_t klen = strlen(key);
    int64_t i;
    buf_u32(b, (uint32_t)klen);
    buf_bytes(b, key, klen);
    buf_u32(b, (uint32_t)m->type);
    switch (m->type) {
    case BGM_META_INT64:
        buf_u64(b, 8);
        buf_u64(b, (uint64_t)m->i);
        break;
    case BGM_META_FLOAT64:
        buf_u64(b, 8);
        buf_u64(b, bgm__f64_bits(m->f));
        break;
    case BGM_META_STRING:
        buf_u64(b, (uint64_t)m->count);
        buf_bytes(b, m->values, (size_t)m->count);
        break;
    case BGM_META_INT64_ARRAY:
        buf_u64(b, (uint64_t)m->count * 8);
        for (i = 0; i < m->count; i++)
            buf_u64(b, (uint64_t)((const int64_t *)m->values)[i]);
        break;
    case BGM_META_FLOAT64_ARRAY:
        buf_u64(b, (uint64_t)m->count * 8);
        for (i = 0; i < m->count; i++)
            buf_u64(b, bgm__f64_bits(((const double *)m->values)[i]));
        break;
    case BGM_META_NONE:
        break;
    }
}

static int is_reserved(const char *key)
{
    return strncmp(key, BGM__RESERVED_PREFIX, strlen(BGM__RESERVED_PREFIX)) == 0;
}

/* The library's own entries come first; reserved keys an archive got from a
 * loaded file are replaced by them. */
static void build_meta(bytebuf *b, const bgm_archive *a)
{
    bgm__meta version = {0}, number = {0};
    uint32_t count = 2;
    int64_t i;
    for (i = 0; i < a->nmeta; i++)
        count += !is_reserved(a->meta[i].key);
    buf_u32(b, count);
    version.type = BGM_META_STRING;
    version.values = (void *)bgm_version_string();
    version.count = (int64_t)strlen(bgm_version_string());
    put_meta_entry(b, BGM__KEY_VERSION, &version);
    number.type = BGM_META_INT64;
    number.i = bgm_version_number();
    put_meta_entry(b, BGM__KEY_VERSION_NUMBER, &number);
    for (i = 0; i < a->nmeta; i++)
        if (!is_reserved(a->meta[i].key))
            put_meta_entry(b, a->meta[i].key, &a->meta[i]);
}

/* Places tensors at 64-byte aligned offsets of the raw data; returns its length. */
static uint64_t build_table(bytebuf *b, const bgm_archive *a)
{
    uint64_t end = 0, off;
    int64_t i;
    int d;
    buf_u32(b, (uint32_t)a->ntensors);
    for (i = 0; i < a->ntensors; i++) {
        const bgm_tensor *t = a->tensors[i].t;
        size_t nlen = strlen(a->tensors[i].name);
        off = bgmf_align(end);
        buf_u32(b, (uint32_t)nlen);
        buf_bytes(b, a->tensors[i].name, nlen);
        buf_u32(b, (uint32_t)bgm_tensor_dtype(t));
        buf_u32(b, (uint32_t)bgm_tensor_ndim(t));
        for (d = 0; d < bgm_tensor_ndim(t); d++)
            buf_u64(b, (uint64_t)bgm_tensor_shape(t)[d]);
        buf_u64(b, off);
        buf_u64(b, (uint64_t)bgm_tensor_nbytes(t));
        end = off + bgm_tensor_nbytes(t);
    }
    return end;
}

/* ---- the raw data stream ----------------------------------------------- */

/* Receives the next n bytes of the data section; returns 0 or an errno value. */
typedef int (*sink_fn)(void *ctx, const unsigned char *p, size_t n);

static const unsigned char zeros[BGMF_ALIGN];

/* Feeds the raw data (tensors at aligned offsets, zero padding, elements
 * little-endian) to sink. scratch holds CHUNK bytes, used on big-endian hosts. */
static int emit_raw(const bgm_archive *a, sink_fn sink, void *ctx, unsigned char *scratch)
{
    uint64_t pos = 0;
    int64_t i;
    int err;
    for (i = 0; i < a->ntensors; i++) {
        const bgm_tensor *t = a->tensors[i].t;
        const unsigned char *p = bgm_tensor_data(t);
        size_t n = bgm_tensor_nbytes(t), pad = (size_t)(bgmf_align(pos) - pos), piece;
        if (pad && (err = sink(ctx, zeros, pad)) != 0)
            return err;
        pos += pad + n;
        while (n > 0) {
            piece = n < CHUNK ? n : CHUNK;
            if (bgm__host_is_le()) {
                err = sink(ctx, p, piece);
            } else {
                memcpy(scratch, p, piece);
                bgm__swap32(scratch, piece);
                err = sink(ctx, scratch, piece);
            }
            if (err)
                return err;
            p += piece;
            n -= piece;
        }
    }
    return 0;
}

static int sink_crc(void *ctx, const unsigned char *p, size_t n)
{
    uint32_t *crc = ctx;
    *crc = bgm__crc32(*crc, p, n);
    return 0;
}

typedef struct deflater {
    z_stream z;
    bytebuf out;
} deflater;

/* Runs deflate over the input in z until it needs more (or, with Z_FINISH,
 * until the stream ends). */
static int deflate_pump(deflater *d, int flush)
{
    int r;
    do {
        unsigned char *p = buf_extend(&d->out, CHUNK);
        if (!p)
            return ENOMEM;
        d->z.next_out = p;
        d->z.avail_out = (uInt)CHUNK;
        r = deflate(&d->z, flush);
        d->out.len -= d->z.avail_out;
        if (r == Z_STREAM_ERROR)
            return EIO;
    } while (d->z.avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
    return 0;
}

static int sink_deflate(void *ctx, const unsigned char *p, size_t n)
{
    deflater *d = ctx;
    d->z.next_in = (unsigned char *)p;
    d->z.avail_in = (uInt)n;
    return deflate_pump(d, Z_NO_FLUSH);
}

/* ---- writing the file ----------------------------------------------------- */

typedef struct plan {
    const bgm_archive *a;
    bytebuf meta, table, packed;   /* packed: the compressed data, if any */
    unsigned char header[BGMF_HEADER_SIZE];
    uint64_t data_offset, raw_len;
    int compressed;
    unsigned char *scratch;
} plan;

static int sink_file(void *ctx, const unsigned char *p, size_t n)
{
    FILE *f = ctx;
    return fwrite(p, 1, n, f) == n ? 0 : (errno ? errno : EIO);
}

static int write_file(FILE *f, void *ctx)
{
    plan *pl = ctx;
    uint64_t pos = BGMF_HEADER_SIZE + pl->meta.len + pl->table.len;
    int err;
    if ((err = sink_file(f, pl->header, sizeof pl->header)) != 0 ||
        (err = sink_file(f, pl->meta.p, pl->meta.len)) != 0 ||
        (err = sink_file(f, pl->table.p, pl->table.len)) != 0 ||
        (err = sink_file(f, zeros, (size_t)(pl->data_offset - pos))) != 0)
        return err;
    if (pl->compressed)
        return sink_file(f, pl->packed.p, pl->packed.len);
    return emit_raw(pl->a, sink_file, f, pl->scratch);
}

static int compress_data(plan *pl)
{
    deflater d;
    int err;
    memset(&d, 0, sizeof d);
    d.out.ok = 1;
    /* Float weights shrink little at any level; the fastest keeps frequent
     * checkpoints cheap while zero runs (fresh optimizer slots) still vanish. */
    if (deflateInit(&d.z, Z_BEST_SPEED) != Z_OK)
        return ENOMEM;
    err = emit_raw(pl->a, sink_deflate, &d, pl->scratch);
    if (!err) {
        d.z.next_in = NULL;
        d.z.avail_in = 0;
        err = deflate_pump(&d, Z_FINISH);
    }
    deflateEnd(&d.z);
    if (err) {
        free(d.out.p);
        return err;
    }
    pl->packed = d.out;
    return 0;
}

static void build_header(plan *pl, uint32_t data_crc, uint64_t data_len)
{
    unsigned char *h = pl->header;
    uint64_t meta_off = BGMF_HEADER_SIZE, table_off = meta_off + pl->meta.len;
    memset(h, 0, sizeof pl->header);
    memcpy(h + BGMF_OFF_MAGIC, BGMF_MAGIC, 4);
    bgm__put_u16(h + BGMF_OFF_MAJOR, BGM_FILE_FORMAT_MAJOR);
    bgm__put_u16(h + BGMF_OFF_MINOR, BGM_FILE_FORMAT_MINOR);
    bgm__put_u32(h + BGMF_OFF_HEADER_SIZE, BGMF_HEADER_SIZE);
    bgm__put_u32(h + BGMF_OFF_FLAGS, pl->compressed ? BGMF_FLAG_DEFLATE : 0);
    bgm__put_u64(h + BGMF_OFF_FILE_SIZE, pl->data_offset + data_len);
    bgm__put_u64(h + BGMF_OFF_META_OFFSET, meta_off);
    bgm__put_u64(h + BGMF_OFF_META_LENGTH, pl->meta.len);
    bgm__put_u64(h + BGMF_OFF_TABLE_OFFSET, table_off);
    bgm__put_u64(h + BGMF_OFF_TABLE_LENGTH, pl->table.len);
    bgm__put_u64(h + BGMF_OFF_DATA_OFFSET, pl->data_offset);
    bgm__put_u64(h + BGMF_OFF_DATA_LENGTH, data_len);
    bgm__put_u64(h + BGMF_OFF_DATA_RAW_LENGTH, pl->raw_len);
    bgm__put_u32(h + BGMF_OFF_META_CRC, bgm__crc32(0, pl->meta.p, pl->meta.len));
    bgm__put_u32(h + BGMF_OFF_TABLE_CRC, bgm__crc32(0, pl->table.p, pl->table.len));
    bgm__put_u32(h + BGMF_OFF_DATA_CRC, data_crc);
    bgm__put_u32(h + BGMF_HEADER_SIZE - 4, bgm__crc32(0, h, BGMF_HEADER_SIZE - 4));
}

BGM_API bgm_status bgm_archive_save(const bgm_archive *a, const char *path, unsigned flags)
{
    plan pl;
    uint32_t data_crc = 0;
    uint64_t data_len;
    bgm_status s;
    int err;
    BGM__CHECK_NULL(a, FN);
    BGM__CHECK_NULL(path, FN);
    if (flags & ~BGM_ARCHIVE_COMPRESS)
        return bgm__fail(BGM_E_INVALID, "%s: %s: unknown flag bits 0x%x", FN, path,
                         flags & ~BGM_ARCHIVE_COMPRESS);
    /* Counts are u32 in the file. */
    if (a->nmeta > (int64_t)UINT32_MAX - 2 || a->ntensors > (int64_t)UINT32_MAX)
        return bgm__fail(BGM_E_INVALID, "%s: %s: %lld metadata entries and %lld tensors "
                         "exceed the format's limit of 2^32 - 1 each", FN, path,
                         (long long)a->nmeta, (long long)a->ntensors);
    memset(&pl, 0, sizeof pl);
    pl.a = a;
    pl.compressed = (flags & BGM_ARCHIVE_COMPRESS) != 0;
    pl.meta.ok = pl.table.ok = 1;
    pl.scratch = malloc(CHUNK);
    build_meta(&pl.meta, a);
    pl.raw_len = build_table(&pl.table, a);
    if (!pl.scratch || !pl.meta.ok || !pl.table.ok) {
        s = bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", FN, path);
        goto done;
    }
    pl.data_offset = bgmf_align(BGMF_HEADER_SIZE + pl.meta.len + pl.table.len);
    if (pl.compressed) {
        err = compress_data(&pl);
        if (err) {
            s = bgm__fail(err == ENOMEM ? BGM_E_NOMEM : BGM_E_INTERNAL,
                          "%s: %s: compressing %llu bytes of tensor data failed", FN, path,
                          (unsigned long long)pl.raw_len);
            goto done;
        }
        data_len = pl.packed.len;
        data_crc = bgm__crc32(0, pl.packed.p, pl.packed.len);
    } else {
        data_len = pl.raw_len;
        emit_raw(a, sink_crc, &data_crc, pl.scratch);
    }
    build_header(&pl, data_crc, data_len);
    s = bgm__atomic_write(FN, path, write_file, &pl);
done:
    free(pl.meta.p);
    free(pl.table.p);
    free(pl.packed.p);
    free(pl.scratch);
    return s;
}
