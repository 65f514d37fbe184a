/* Strict JSON reading primitives for the safetensors header. */
#include "json.h"

#include <stdlib.h>

#include "bytes.h"

void bgm__json_init(bgm__json *j, const void *text, size_t len)
{
    j->p = text;
    j->len = len;
    j->pos = 0;
    j->error = NULL;
    j->error_pos = 0;
}

int bgm__json_fail(bgm__json *j, const char *what)
{
    if (!j->error) {
        j->error = what;
        j->error_pos = j->pos;
    }
    return 0;
}

static void skip_space(bgm__json *j)
{
    while (j->pos < j->len && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
                               j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
        j->pos++;
}

int bgm__json_peek(bgm__json *j)
{
    skip_space(j);
    return j->pos < j->len ? j->p[j->pos] : -1;
}

int bgm__json_expect(bgm__json *j, char c)
{
    static const char *const msgs[] = {"expected '{'", "expected '}'", "expected '['",
                                       "expected ']'", "expected ':'", "expected ','",
                                       "expected a character"};
    const char *chars = "{}[]:,";
    const char *m = msgs[6];
    int i;
    if (j->error)
        return 0;
    if (bgm__json_peek(j) == (unsigned char)c) {
        j->pos++;
        return 1;
    }
    for (i = 0; chars[i]; i++)
        if (chars[i] == c)
            m = msgs[i];
    return bgm__json_fail(j, m);
}

int bgm__json_next(bgm__json *j, char close, size_t *count)
{
    int c;
    if (j->error)
        return -1;
    c = bgm__json_peek(j);
    if (c == close) {
        j->pos++;
        return 0;
    }
    if (*count > 0) {
        if (c != ',') {
            bgm__json_fail(j, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
            return -1;
        }
        j->pos++;
        if (bgm__json_peek(j) == close) {
            bgm__json_fail(j, "trailing comma");
            return -1;
        }
    }
    ++*count;
    return 1;
}

static int hex4(bgm__json *j, uint32_t *out)
{
    uint32_t v = 0;
    int i;
    if (j->len - j->pos < 4)
        return bgm__json_fail(j, "truncated \\u escape");
    for (i = 0; i < 4; i++) {
        unsigned char c = j->p[j->pos + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return bgm__json_fail(j, "bad hex digit in \\u escape");
    }
    j->pos += 4;
    *out = v;
    return 1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escape after a backslash into o; returns bytes written or 0. */
static size_t escape(bgm__json *j, char *o)
{
    uint32_t cp, lo;
    unsigned char c;
    if (j->pos >= j->len)
        return bgm__json_fail(j, "unterminated string");
    c = j->p[j->pos++];
    switch (c) {
    case '"': *o = '"'; return 1;
    case '\\': *o = '\\'; return 1;
    case '/': *o = '/'; return 1;
    case 'b': *o = '\b'; return 1;
    case 'f': *o = '\f'; return 1;
    case 'n': *o = '\n'; return 1;
    case 'r': *o = '\r'; return 1;
    case 't': *o = '\t'; return 1;
    case 'u': break;
    default: j->pos--; return bgm__json_fail(j, "unknown escape");
    }
    if (!hex4(j, &cp))
        return 0;
    if (cp == 0)
        return bgm__json_fail(j, "\\u0000 is not allowed in names");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return bgm__json_fail(j, "lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->len - j->pos < 2 || j->p[j->pos] != '\\' || j->p[j->pos + 1] != 'u')
            return bgm__json_fail(j, "high surrogate without its low half");
        j->pos += 2;
        if (!hex4(j, &lo))
            return 0;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return bgm__json_fail(j, "high surrogate without its low half");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return put_utf8(o, cp);
}

int bgm__json_string(bgm__json *j, char **out, size_t *len)
{
    size_t start, n = 0, k;
    char *o;
    *out = NULL;
    *len = 0;
    if (j->error)
        return 0;
    if (bgm__json_peek(j) != '"')
        return bgm__json_fail(j, "expected a string");
    start = ++j->pos;
    /* Decoding never grows a string, so its raw length bounds the buffer. */
    while (j->pos < j->len && j->p[j->pos] != '"')
        j->pos += j->p[j->pos] == '\\' && j->pos + 1 < j->len ? 2 : 1;
    if (j->pos >= j->len) {
        j->pos = start - 1;
        return bgm__json_fail(j, "unterminated string");
    }
    o = malloc(j->pos - start + 1);
    if (!o)
        return bgm__json_fail(j, "out of memory");
    j->pos = start;
    while (j->p[j->pos] != '"') {
        unsigned char c = j->p[j->pos];
        if (c < 0x20) {
            free(o);
            return bgm__json_fail(j, "control character in a string");
        }
        if (c == '\\') {
            j->pos++;
            k = escape(j, o + n);
            if (k == 0) {
                free(o);
                return 0;
            }
            n += k;
        } else {
            o[n++] = (char)c;
            j->pos++;
        }
    }
    if (!bgm__utf8_valid((const unsigned char *)o, n)) {
        free(o);
        j->pos = start;
        return bgm__json_fail(j, "string is not valid UTF-8");
    }
    j->pos++;
    o[n] = '\0';
    *out = o;
    *len = n;
    return 1;
}

int bgm__json_uint(bgm__json *j, uint64_t *out)
{
    uint64_t v = 0;
    size_t start;
    int c;
    *out = 0;
    if (j->error)
        return 0;
    c = bgm__json_peek(j);
    if (c == '-')
        return bgm__json_fail(j, "negative number");
    if (c < '0' || c > '9')
        return bgm__json_fail(j, "expected an integer");
    start = j->pos;
    while (j->pos < j->len && j->p[j->pos] >= '0' && j->p[j->pos] <= '9') {
        unsigned d = j->p[j->pos] - '0';
        if (v > ((uint64_t)INT64_MAX - d) / 10) {
            j->pos = start;
            return bgm__json_fail(j, "integer larger than 2^63 - 1");
        }
        v = v * 10 + d;
        j->pos++;
    }
    if (j->p[start] == '0' && j->pos - start > 1) {
        j->pos = start;
        return bgm__json_fail(j, "integer with a leading zero");
    }
    if (j->pos < j->len && (j->p[j->pos] == '.' || j->p[j->pos] == 'e' ||
                            j->p[j->pos] == 'E'))
        return bgm__json_fail(j, "expected an integer, not a fraction or exponent");
    *out = v;
    return 1;
}

int bgm__json_at_end(bgm__json *j)
{
    skip_space(j);
    return j->pos == j->len;
}
