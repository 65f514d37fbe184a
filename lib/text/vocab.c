/* bgm_vocab: building from documents, lookups, save/load, encoding text to ids. */
#include "text_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/tensor_impl.h"
#include "core/options.h"
#include "data/fileio.h"
#include "wordcount.h"
#include "io/atomic.h"

static const char UNK[] = "[UNK]";

#define VOCAB_OPTIONS_V1_SIZE BGM__OPTIONS_SIZE(bgm_vocab_options, clean)

static void vocab_defaults(bgm_vocab_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->min_count = 1;
    o->max_size = 0;
    o->clean = NULL;
}

BGM__OPTIONS_INIT_FUNCTIONS(bgm_vocab_options, bgm_vocab_options_init, vocab_defaults,
                            VOCAB_OPTIONS_V1_SIZE)

bgm_status bgm__vocab_options(const bgm_vocab_options **o, bgm_vocab_options *defaults,
                              const bgm_text_clean_options **clean,
                              bgm_text_clean_options *clean_defaults, const char *func,
                              const bgm_vocab_options *opts)
{
    bgm_status s;
    vocab_defaults(defaults);
    s = opts ? bgm__options_read(defaults, sizeof *defaults, opts, VOCAB_OPTIONS_V1_SIZE,
                                 "bgm_vocab_options", "bgm_vocab_options_init_v2", func)
             : BGM_OK;
    if (s != BGM_OK)
        return s;
    opts = defaults;
    if (opts->min_count < 1)
        return bgm__fail(BGM_E_INVALID, "%s: min_count %lld must be at least 1", func,
                         (long long)opts->min_count);
    if (opts->max_size < 0 || opts->max_size == 1)
        return bgm__fail(BGM_E_INVALID, "%s: max_size %lld must be 0 (no limit) or at least "
                         "2 (the reserved padding and out-of-vocabulary ids)", func,
                         (long long)opts->max_size);
    *o = opts;
    return bgm__clean_options(clean, clean_defaults, func, opts->clean);
}

static bgm_vocab *vocab_new(void)
{
    bgm_vocab *v = malloc(sizeof *v);
    if (!v)
        return NULL;
    bgm__strtab_init(&v->tokens);
    v->counts = NULL;
    return v;
}

/* Appends token s[0..n) (known to be new) with its count; 0 when out of memory. */
static int vocab_append(bgm_vocab *v, const char *s, size_t n, int64_t count)
{
    int64_t id;
    int added;
    if (v->tokens.count % 1024 == 0) {
        int64_t *c = realloc(v->counts, (size_t)(v->tokens.count + 1024) * sizeof *c);
        if (!c)
            return 0;
        v->counts = c;
    }
    if (!bgm__strtab_intern(&v->tokens, s, n, &id, &added))
        return 0;
    v->counts[id] = count;
    return 1;
}

bgm_status bgm__vocab_build(bgm_vocab **out, const char *func, const char *const *docs,
                            const int64_t *lens, int64_t ndocs, int64_t min_count,
                            int64_t max_size, const bgm_text_clean_options *clean)
{
    bgm__wordcount wc;
    bgm_vocab *v = NULL;
    int64_t *order = NULL, n = 0, i, unk;
    bgm_status s;
    *out = NULL;
    bgm__wordcount_init(&wc);
    s = bgm__wordcount_docs(&wc, NULL, func, docs, lens, ndocs, clean);
    if (s == BGM_OK)
        s = bgm__wordcount_rank(&order, &n, func, &wc, min_count);
    if (s != BGM_OK)
        goto done;
    v = vocab_new();
    if (!v)
        goto nomem;
    unk = bgm__strtab_find(&wc.words, UNK, sizeof UNK - 1);
    for (i = 0; i < n; i++) {
        if (max_size > 0 && v->tokens.count + BGM__VOCAB_RESERVED >= max_size)
            break;
        if (order[i] == unk)
            continue; /* id 1 stands for it already, as in Keras */
        if (!vocab_append(v, bgm__strtab_str(&wc.words, order[i]),
                          bgm__strtab_len(&wc.words, order[i]), wc.counts[order[i]]))
            goto nomem;
    }
    *out = v;
    v = NULL;
    goto done;
nomem:
    s = bgm__fail(BGM_E_NOMEM, "%s: out of memory for a vocabulary of %lld tokens", func,
                  (long long)n);
done:
    bgm_vocab_free(v);
    free(order);
    bgm__wordcount_release(&wc);
    return s;
}

BGM_API bgm_status bgm_vocab_build(bgm_vocab **out, const char *const *docs,
                                   const int64_t *lens, int64_t ndocs,
                                   const bgm_vocab_options *opts)
{
    static const char *fn = "bgm_vocab_build";
    bgm_vocab_options defaults;
    bgm_text_clean_options clean_defaults;
    const bgm_vocab_options *o;
    const bgm_text_clean_options *clean;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = bgm__check_docs(fn, docs, ndocs);
    if (s == BGM_OK)
        s = bgm__vocab_options(&o, &defaults, &clean, &clean_defaults, fn, opts);
    if (s != BGM_OK)
        return s;
    return bgm__vocab_build(out, fn, docs, lens, ndocs, o->min_count, o->max_size, clean);
}

bgm_status bgm__vocab_copy(bgm_vocab **out, const char *func, const bgm_vocab *v)
{
    bgm_vocab *c = vocab_new();
    int64_t i;
    *out = NULL;
    for (i = 0; c && i < v->tokens.count; i++)
        if (!vocab_append(c, bgm__strtab_str(&v->tokens, i), bgm__strtab_len(&v->tokens, i),
                          v->counts[i])) {
            bgm_vocab_free(c);
            c = NULL;
        }
    if (!c)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory copying a vocabulary", func);
    *out = c;
    return BGM_OK;
}

BGM_API void bgm_vocab_free(bgm_vocab *v)
{
    if (!v)
        return;
    bgm__strtab_release(&v->tokens);
    free(v->counts);
    free(v);
}

BGM_API int64_t bgm_vocab_size(const bgm_vocab *v)
{
    return v ? v->tokens.count + BGM__VOCAB_RESERVED : 0;
}

BGM_API int32_t bgm_vocab_id(const bgm_vocab *v, const char *token, int64_t len)
{
    int64_t id;
    if (!v || !token)
        return -1;
    id = bgm__strtab_find(&v->tokens, token, len < 0 ? strlen(token) : (size_t)len);
    return id < 0 ? BGM_VOCAB_OOV : (int32_t)(id + BGM__VOCAB_RESERVED);
}

BGM_API const char *bgm_vocab_token(const bgm_vocab *v, int32_t id)
{
    if (!v || id < 0 || id >= bgm_vocab_size(v))
        return NULL;
    if (id == BGM_VOCAB_PAD)
        return "";
    if (id == BGM_VOCAB_OOV)
        return UNK;
    return bgm__strtab_str(&v->tokens, id - BGM__VOCAB_RESERVED);
}

BGM_API int64_t bgm_vocab_count(const bgm_vocab *v, int32_t id)
{
    if (!v || id < BGM__VOCAB_RESERVED || id >= bgm_vocab_size(v))
        return 0;
    return v->counts[id - BGM__VOCAB_RESERVED];
}

/* ---- save / load -------------------------------------------------------- */

static int write_vocab(FILE *f, void *ctx)
{
    const bgm_vocab *v = ctx;
    int64_t i;
    for (i = 0; i < v->tokens.count; i++)
        if (fprintf(f, "%s %lld\n", bgm__strtab_str(&v->tokens, i), (long long)v->counts[i]) < 0)
            return EIO;
    return 0;
}

BGM_API bgm_status bgm_vocab_save(const bgm_vocab *v, const char *path)
{
    static const char *fn = "bgm_vocab_save";
    BGM__CHECK_NULL(v, fn);
    BGM__CHECK_NULL(path, fn);
    return bgm__atomic_write(fn, path, write_vocab, (void *)v);
}

/* Parses one line (without its line end) into v. */
static bgm_status parse_vocab_line(bgm_vocab *v, const char *func, const char *path,
                                   int64_t line, const char *s, size_t n)
{
    size_t t = 0, i;
    int64_t count = 0, prev;
    while (t < n && s[t] != ' ' && s[t] != '\t') {
        unsigned char c = (unsigned char)s[t];
        if (c < ' ' || c == 0x7F)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: control byte 0x%02x in the "
                             "token", func, path, (long long)line, c);
        t++;
    }
    if (t == 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: empty token (every line holds "
                         "one token and an optional count)", func, path, (long long)line);
    i = t;
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < n) {
        size_t digits = 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            if (count > (INT64_MAX - (s[i] - '0')) / 10)
                return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: count too large", func,
                                 path, (long long)line);
            count = count * 10 + (s[i] - '0');
        }
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (digits == 0 || i < n)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: expected 'token count' with "
                             "a non-negative whole count, got \"%.*s\"", func, path,
                             (long long)line, (int)(n < 60 ? n : 60), s);
    }
    if ((t == sizeof UNK - 1 && memcmp(s, UNK, t) == 0))
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: the reserved token %s must not be "
                         "listed (ids 0 and 1 are implied)", func, path, (long long)line, UNK);
    prev = bgm__strtab_find(&v->tokens, s, t);
    if (prev >= 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: token '%.*s' already on line %lld",
                         func, path, (long long)line, (int)t, s, (long long)prev + 1);
    if (!vocab_append(v, s, t, count))
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory at line %lld", func, path,
                         (long long)line);
    return BGM_OK;
}

BGM_API bgm_status bgm_vocab_load(bgm_vocab **out, const char *path)
{
    static const char *fn = "bgm_vocab_load";
    bgm__blob blob = {NULL, 0, 0};
    bgm_vocab *v = NULL;
    const char *s;
    size_t pos = 0, end, n;
    int64_t line = 0;
    bgm_status st;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    st = bgm__read_file(&blob, fn, path);
    if (st != BGM_OK)
        return st;
    s = (const char *)blob.data;
    if (blob.size >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    v = vocab_new();
    if (!v) {
        st = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
        goto done;
    }
    while (pos < blob.size) {
        const char *nl = memchr(s + pos, '\n', blob.size - pos);
        end = nl ? (size_t)(nl - s) : blob.size;
        n = end - pos;
        if (n > 0 && s[end - 1] == '\r')
            n--;
        st = parse_vocab_line(v, fn, path, ++line, s + pos, n);
        if (st != BGM_OK)
            goto done;
        pos = end + 1;
    }
    *out = v;
    v = NULL;
done:
    bgm_vocab_free(v);
    bgm__blob_free(&blob);
    return st;
}

/* ---- encoding ----------------------------------------------------------- */

/* Ids of one cleaned document appended to ids (grown as needed). */
static int append_ids(int32_t **ids, int64_t *n, int64_t *cap, const bgm_vocab *v,
                      const char *text, size_t len)
{
    size_t pos, st, k;
    for (pos = 0; bgm__next_word(text, len, &pos, &st, &k);) {
        int64_t id;
        if (*n == *cap) {
            int64_t c = *cap ? *cap * 2 : 1024;
            int32_t *p = realloc(*ids, (size_t)c * sizeof *p);
            if (!p)
                return 0;
            *ids = p;
            *cap = c;
        }
        id = bgm__strtab_find(&v->tokens, text + st, k);
        (*ids)[(*n)++] = id < 0 ? BGM_VOCAB_OOV : (int32_t)(id + BGM__VOCAB_RESERVED);
    }
    return 1;
}

BGM_API bgm_status bgm_vocab_encode(bgm_tensor **out, const bgm_vocab *v, const char *text,
                                    int64_t len, const bgm_text_clean_options *clean)
{
    static const char *fn = "bgm_vocab_encode";
    bgm_text_clean_options defaults;
    const bgm_text_clean_options *o = NULL;
    bgm__textbuf buf = {NULL, 0};
    int32_t *ids = NULL;
    int64_t n = 0, cap = 0, shape[1];
    size_t clen;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(v, fn);
    BGM__CHECK_NULL(text, fn);
    s = bgm__clean_options(&o, &defaults, fn, clean);
    if (s != BGM_OK)
        return s;
    if (!bgm__textbuf_clean(&buf, text, len < 0 ? strlen(text) : (size_t)len, o, &clen) ||
        !append_ids(&ids, &n, &cap, v, buf.p, clen)) {
        s = bgm__fail(BGM_E_NOMEM, "%s: out of memory", fn);
    } else {
        shape[0] = n;
        s = bgm__tensor_new(out, fn, BGM_INT32, shape, 1);
        if (s == BGM_OK && n > 0)
            memcpy((*out)->data, ids, (size_t)n * sizeof *ids);
    }
    free(buf.p);
    free(ids);
    return s;
}

bgm_status bgm__encode_padded(bgm_tensor **out, const char *func, const bgm_vocab *v,
                              const char *const *docs, const int64_t *lens, int64_t ndocs,
                              int64_t maxlen, bgm_pad_side padding, bgm_pad_side truncating,
                              const bgm_text_clean_options *clean)
{
    bgm__textbuf buf = {NULL, 0};
    int32_t *ids = NULL;
    int64_t *starts = malloc((size_t)(ndocs + 1) * sizeof *starts);
    int64_t n = 0, cap = 0, d, longest = 0, shape[2];
    size_t clen;
    bgm_status s;
    *out = NULL;
    if (!starts)
        goto nomem;
    starts[0] = 0;
    for (d = 0; d < ndocs; d++) {
        if (!bgm__textbuf_clean(&buf, docs[d], bgm__doc_len(docs, lens, d), clean, &clen) ||
            !append_ids(&ids, &n, &cap, v, buf.p, clen))
            goto nomem;
        starts[d + 1] = n;
        if (n - starts[d] > longest)
            longest = n - starts[d];
    }
    shape[0] = ndocs;
    shape[1] = maxlen > 0 ? maxlen : longest;
    s = bgm__tensor_new(out, func, BGM_INT32, shape, 2);
    for (d = 0; s == BGM_OK && d < ndocs; d++)
        bgm__pad_row((int32_t *)(*out)->data + d * shape[1], shape[1],
                     ids ? ids + starts[d] : NULL, /* NULL: no document had a word */
                     starts[d + 1] - starts[d], padding, truncating, BGM_VOCAB_PAD);
    goto done;
nomem:
    s = bgm__fail(BGM_E_NOMEM, "%s: out of memory encoding %lld documents", func,
                  (long long)ndocs);
done:
    free(buf.p);
    free(ids);
    free(starts);
    return s;
}

BGM_API bgm_status bgm_vocab_encode_padded(bgm_tensor **out, const bgm_vocab *v,
                                           const char *const *docs, const int64_t *lens,
                                           int64_t ndocs, int64_t maxlen,
                                           bgm_pad_side padding, bgm_pad_side truncating,
                                           const bgm_text_clean_options *clean)
{
    static const char *fn = "bgm_vocab_encode_padded";
    bgm_text_clean_options defaults;
    const bgm_text_clean_options *o = NULL;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(v, fn);
    s = bgm__check_docs(fn, docs, ndocs);
    if (s == BGM_OK)
        s = bgm__check_padding(fn, maxlen, padding, truncating);
    if (s == BGM_OK)
        s = bgm__clean_options(&o, &defaults, fn, clean);
    if (s != BGM_OK)
        return s;
    return bgm__encode_padded(out, fn, v, docs, lens, ndocs, maxlen, padding, truncating, o);
}
