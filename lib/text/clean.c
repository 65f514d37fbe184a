/* Text cleaning and word splitting: byte-safe, one pass, never longer than the input. */
#include "text_impl.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"

#define CLEAN_OPTIONS_V1_SIZE BGM__OPTIONS_SIZE(bgm_text_clean_options, strip_headers)

static void clean_defaults(bgm_text_clean_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->lowercase = 1;
    o->strip_punctuation = 1;
    o->strip_digits = 0;
    o->collapse_whitespace = 1;
    o->strip_headers = 0;
}

BGM__OPTIONS_INIT_FUNCTIONS(bgm_text_clean_options, bgm_text_clean_options_init, clean_defaults,
                            CLEAN_OPTIONS_V1_SIZE)

bgm_status bgm__clean_options(const bgm_text_clean_options **o,
                              bgm_text_clean_options *defaults, const char *func,
                              const bgm_text_clean_options *opts)
{
    clean_defaults(defaults);
    *o = defaults;
    if (!opts)
        return BGM_OK;
    return bgm__options_read(defaults, sizeof *defaults, opts, CLEAN_OPTIONS_V1_SIZE,
                             "bgm_text_clean_options", "bgm_text_clean_options_init_v2", func);
}

/* Length of the valid UTF-8 sequence starting s[0..n) and its code point, or 0. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2 || c > 0xF4)
        return 0; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = (uint32_t)(c & 0x1F) << 6 | (s[1] & 0x3F);
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        *cp = (uint32_t)(c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return *cp < 0x800 || (*cp >= 0xD800 && *cp <= 0xDFFF) ? 0 : 3;
    }
    if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
        return 0;
    *cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
          (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
    return *cp < 0x10000 || *cp > 0x10FFFF ? 0 : 4;
}

static int is_unicode_space(uint32_t cp)
{
    return cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

static int is_control(uint32_t cp)
{
    return (cp < 0x20 && !bgm__is_space((unsigned char)cp)) || (cp >= 0x7F && cp < 0xA0);
}

static int is_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2019;
}

static int is_punctuation(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') ||
               (cp >= '[' && cp <= '`') || (cp >= '{' && cp <= '~');
    if (cp >= 0xA1 && cp <= 0xBF)
        return cp != 0xAA && cp != 0xB5 && cp != 0xBA; /* ª µ º are letters */
    return cp == 0xD7 || cp == 0xF7 || (cp >= 0x2010 && cp <= 0x2027) ||
           (cp >= 0x2030 && cp <= 0x205E);
}

/* "Name:" with Name of printable ASCII other than ':' (RFC 5322 field name). */
static int is_header_line(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 5 && memcmp(s, "From ", 5) == 0)
        return 1; /* mbox envelope line, as in the SpamAssassin corpus */
    while (i < n && s[i] > ' ' && s[i] < 127 && s[i] != ':')
        i++;
    return i > 0 && i < n && s[i] == ':';
}

/* Where the body starts: after the first empty line when s starts with headers. */
static size_t body_start(const char *s, size_t n)
{
    size_t pos = 0, end;
    if (!is_header_line(s, n))
        return 0;
    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        end = nl ? (size_t)(nl - s) : n;
        if (end == pos || (end == pos + 1 && s[pos] == '\r'))
            return end < n ? end + 1 : n;
        pos = end + 1;
    }
    return n;
}

size_t bgm__text_clean_into(char *dst, const char *src, size_t n,
                            const bgm_text_clean_options *o)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t i = o->strip_headers ? body_start(src, n) : 0, k, len = 0;
    int pending_space = 0;
    uint32_t cp = 0;
    while (i < n) {
        int space = 0;
        k = utf8_decode(s + i, n - i, &cp);
        if (k == 0 || is_control(cp) || is_unicode_space(cp)) {
            space = 1;
            cp = ' ';
            k = k ? k : 1;
        } else if (cp < 0x80 && bgm__is_space((unsigned char)cp)) {
            space = 1;
        } else if (o->strip_punctuation && is_apostrophe(cp)) {
            i += k;
            continue;
        } else if ((o->strip_punctuation && is_punctuation(cp)) ||
                   (o->strip_digits && cp >= '0' && cp <= '9')) {
            space = 1;
            cp = ' ';
        }
        if (space) {
            if (o->collapse_whitespace)
                pending_space = len > 0;
            else
                dst[len++] = (char)cp;
            i += k;
            continue;
        }
        if (pending_space) {
            dst[len++] = ' ';
            pending_space = 0;
        }
        if (o->lowercase && cp >= 'A' && cp <= 'Z') {
            dst[len++] = (char)(cp + 32);
        } else if (o->lowercase && cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) {
            dst[len++] = (char)0xC3; /* À..Þ and à..þ differ by 0x20 in the second byte */
            dst[len++] = (char)(s[i + 1] + 0x20);
        } else {
            memcpy(dst + len, s + i, k);
            len += k;
        }
        i += k;
    }
    dst[len] = '\0';
    return len;
}

int bgm__textbuf_clean(bgm__textbuf *b, const char *src, size_t n,
                       const bgm_text_clean_options *o, size_t *len)
{
    if (n >= SIZE_MAX)
        return 0;
    if (b->cap < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < n + 1)
            cap = cap > SIZE_MAX / 2 ? n + 1 : cap * 2;
        p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    *len = bgm__text_clean_into(b->p, src, n, o);
    return 1;
}

size_t bgm__doc_len(const char *const *docs, const int64_t *lens, int64_t i)
{
    return lens && lens[i] >= 0 ? (size_t)lens[i] : strlen(docs[i]);
}

bgm_status bgm__check_docs(const char *func, const char *const *docs, int64_t ndocs)
{
    int64_t i;
    if (ndocs < 0)
        return bgm__fail(BGM_E_INVALID, "%s: document count %lld is negative", func,
                         (long long)ndocs);
    if (ndocs > 0 && !docs)
        return bgm__fail(BGM_E_INVALID, "%s: argument 'docs' is NULL with %lld documents",
                         func, (long long)ndocs);
    for (i = 0; i < ndocs; i++)
        if (!docs[i])
            return bgm__fail(BGM_E_INVALID, "%s: document %lld is NULL", func, (long long)i);
    return BGM_OK;
}

static size_t text_len(const char *text, int64_t len)
{
    return len < 0 ? strlen(text) : (size_t)len;
}

/* New cleaned copy of text; arguments are checked here, messages name func. */
static bgm_status clean_copy(char **out, size_t *out_len, const char *func, const char *text,
                             int64_t len, const bgm_text_clean_options *opts)
{
    bgm_text_clean_options defaults;
    const bgm_text_clean_options *o = NULL;
    bgm_status s;
    size_t n;
    *out = NULL;
    *out_len = 0;
    BGM__CHECK_NULL(text, func);
    s = bgm__clean_options(&o, &defaults, func, opts);
    if (s != BGM_OK)
        return s;
    n = text_len(text, len);
    *out = n < SIZE_MAX ? malloc(n + 1) : NULL;
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %zu bytes", func, n);
    *out_len = bgm__text_clean_into(*out, text, n, o);
    return BGM_OK;
}

BGM_API bgm_status bgm_text_clean(char **out, int64_t *out_len, const char *text,
                                  int64_t len, const bgm_text_clean_options *opts)
{
    static const char *fn = "bgm_text_clean";
    size_t m = 0;
    bgm_status s;
    if (out_len)
        *out_len = 0;
    BGM__CHECK_NULL(out, fn);
    s = clean_copy(out, &m, fn, text, len, opts);
    if (s == BGM_OK && out_len)
        *out_len = (int64_t)m;
    return s;
}

BGM_API bgm_status bgm_text_next_token(int64_t *start, int64_t *length, const char *text,
                                       int64_t len, int64_t pos)
{
    static const char *fn = "bgm_text_next_token";
    size_t n, p, st = 0, k = 0;
    if (start)
        *start = 0;
    if (length)
        *length = 0;
    BGM__CHECK_NULL(start, fn);
    BGM__CHECK_NULL(length, fn);
    BGM__CHECK_NULL(text, fn);
    if (pos < 0)
        return bgm__fail(BGM_E_INVALID, "%s: position %lld is negative", fn, (long long)pos);
    n = text_len(text, len);
    p = (uint64_t)pos < n ? (size_t)pos : n;
    if (!bgm__next_word(text, n, &p, &st, &k))
        st = n;
    *start = (int64_t)st;
    *length = (int64_t)k;
    return BGM_OK;
}

char **bgm__list_new(const char *const *strs, const size_t *lens, int64_t n)
{
    size_t bytes = (size_t)(n + 1) * sizeof(char *), at;
    char **list, *chars;
    int64_t i;
    for (i = 0; i < n; i++) {
        if (lens[i] >= SIZE_MAX - bytes - 1)
            return NULL;
        bytes += lens[i] + 1;
    }
    list = malloc(bytes);
    if (!list)
        return NULL;
    chars = (char *)(list + n + 1);
    for (i = 0, at = 0; i < n; i++) {
        list[i] = chars + at;
        memcpy(chars + at, strs[i], lens[i]);
        chars[at + lens[i]] = '\0';
        at += lens[i] + 1;
    }
    list[n] = NULL;
    return list;
}

BGM_API bgm_status bgm_text_tokenize(char ***out, int64_t *count, const char *text,
                                     int64_t len, const bgm_text_clean_options *opts)
{
    static const char *fn = "bgm_text_tokenize";
    char *clean = NULL;
    const char **words = NULL;
    size_t *lens = NULL, pos = 0, st, k, nwords = 0, n = 0;
    bgm_status s;
    if (count)
        *count = 0;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    s = clean_copy(&clean, &n, fn, text, len, opts);
    if (s != BGM_OK)
        return s;
    /* a word takes at least two bytes of the cleaned text, its separator included */
    words = malloc((n / 2 + 1) * sizeof *words);
    lens = malloc((n / 2 + 1) * sizeof *lens);
    if (words && lens) {
        while (bgm__next_word(clean, n, &pos, &st, &k)) {
            words[nwords] = clean + st;
            lens[nwords++] = k;
        }
        *out = bgm__list_new(words, lens, (int64_t)nwords);
    }
    free(words);
    free(lens);
    free(clean);
    if (!*out)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory for %zu words", fn, nwords);
    if (count)
        *count = (int64_t)nwords;
    return BGM_OK;
}

BGM_API void bgm_text_free(char *s)
{
    free(s);
}

BGM_API void bgm_text_list_free(char **list)
{
    free(list);
}
