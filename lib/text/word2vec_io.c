/* Word vectors in the word2vec text format: "<words> <dim>\n", then
 * "word v1 ... vdim\n" per word. Numbers are read and written in the C
 * locale whatever the host program's locale is. */
#include "word2vec_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "data/fileio.h"
#include "io/atomic.h"

static int write_vectors(FILE *f, void *ctx)
{
    const bgm_word2vec *m = ctx;
    int64_t i, j;
    if (fprintf(f, "%lld %lld\n", (long long)m->words.count, (long long)m->dim) < 0)
        return EIO;
    for (i = 0; i < m->words.count; i++) {
        const float *v = m->vectors + i * m->dim;
        if (fputs(bgm__strtab_str(&m->words, i), f) == EOF)
            return EIO;
        for (j = 0; j < m->dim; j++)
            if (fprintf(f, " %.9g", (double)v[j]) < 0)
                return EIO;
        if (fputc('\n', f) == EOF)
            return EIO;
    }
    return 0;
}

BGM_API bgm_status bgm_word2vec_save(const bgm_word2vec *m, const char *path)
{
    static const char *fn = "bgm_word2vec_save";
    locale_t cloc, old = (locale_t)0;
    bgm_status s;
    BGM__CHECK_NULL(m, fn);
    BGM__CHECK_NULL(path, fn);
    cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc)
        old = uselocale(cloc);
    s = bgm__atomic_write(fn, path, write_vectors, (void *)m);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    return s;
}

/* ---- loading ------------------------------------------------------------ */

typedef struct reader {
    const char *fn, *path;
    const char *s;          /* the file, NUL-terminated */
    size_t size, pos;
    int64_t line;           /* number of the line at pos, from 1 */
} reader;

/* Bounds [*b, *e) of the next line (line end excluded) and steps past it. */
static void next_line(reader *r, size_t *b, size_t *e)
{
    const char *nl = memchr(r->s + r->pos, '\n', r->size - r->pos);
    size_t end = nl ? (size_t)(nl - r->s) : r->size;
    *b = r->pos;
    *e = end > r->pos && r->s[end - 1] == '\r' ? end - 1 : end;
    r->pos = nl ? end + 1 : r->size;
    r->line++;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A whole non-negative number at s[*i..e), with at most max; -1 when none. */
static int64_t parse_count(const char *s, size_t *i, size_t e, int64_t max)
{
    int64_t v = 0;
    size_t start = *i;
    for (; *i < e && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        v = v * 10 + (s[*i] - '0');
        if (v > max)
            return -1;
    }
    return *i > start ? v : -1;
}

static bgm_status parse_header(int64_t *count, int64_t *dim, reader *r)
{
    size_t b, e, i;
    next_line(r, &b, &e);
    i = b;
    while (i < e && is_blank(r->s[i]))
        i++;
    *count = parse_count(r->s, &i, e, INT32_MAX);
    while (i < e && is_blank(r->s[i]))
        i++;
    *dim = parse_count(r->s, &i, e, 1 << 20);
    while (i < e && is_blank(r->s[i]))
        i++;
    if (*count < 0 || *dim < 1 || i < e)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line 1: expected the header \"<words> "
                         "<dimension>\" (dimension 1..%d), got \"%.*s\"", r->fn, r->path,
                         1 << 20, (int)(e - b < 60 ? e - b : 60), r->s + b);
    return BGM_OK;
}

/* Lines left from r->pos on, a last line without its newline included. */
static int64_t lines_left(const reader *r)
{
    int64_t n = 0;
    size_t p = r->pos;
    while (p < r->size) {
        const char *nl = memchr(r->s + p, '\n', r->size - p);
        n++;
        p = nl ? (size_t)(nl - r->s) + 1 : r->size;
    }
    return n;
}

static bgm_status parse_word_line(bgm_word2vec *m, reader *r)
{
    size_t b, e, i, w;
    int64_t id, j;
    int added;
    float *v = m->vectors + m->words.count * m->dim;
    next_line(r, &b, &e);
    for (w = b; w < e && !is_blank(r->s[w]); w++)
        if ((unsigned char)r->s[w] < ' ' || r->s[w] == 0x7F)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: control byte 0x%02x in the "
                             "word", r->fn, r->path, (long long)r->line,
                             (unsigned char)r->s[w]);
    if (w == b)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: expected \"word v1 ... v%lld\", "
                         "got an empty word", r->fn, r->path, (long long)r->line,
                         (long long)m->dim);
    id = bgm__strtab_find(&m->words, r->s + b, w - b);
    if (id >= 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: word '%.*s' already on line %lld",
                         r->fn, r->path, (long long)r->line, (int)(w - b < 80 ? w - b : 80),
                         r->s + b, (long long)id + 2);
    for (i = w, j = 0; j < m->dim; j++) {
        char *stop;
        float x;
        while (i < e && is_blank(r->s[i]))
            i++;
        if (i >= e)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: expected %lld values after "
                             "the word, found %lld", r->fn, r->path, (long long)r->line,
                             (long long)m->dim, (long long)j);
        errno = 0;
        x = strtof(r->s + i, &stop);
        if (stop == r->s + i || (size_t)(stop - r->s) > e ||
            ((size_t)(stop - r->s) < e && !is_blank(*stop)) || !isfinite(x))
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: value %lld is not a finite "
                             "number", r->fn, r->path, (long long)r->line, (long long)j + 1);
        v[j] = x;
        i = (size_t)(stop - r->s);
    }
    while (i < e && is_blank(r->s[i]))
        i++;
    if (i < e)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: more than %lld values after the "
                         "word", r->fn, r->path, (long long)r->line, (long long)m->dim);
    if (!bgm__strtab_intern(&m->words, r->s + b, w - b, &id, &added))
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory at line %lld", r->fn, r->path,
                         (long long)r->line);
    return BGM_OK;
}

/* Only blank lines may follow the declared words. */
static bgm_status check_rest(reader *r, int64_t count)
{
    while (r->pos < r->size) {
        size_t b, e;
        next_line(r, &b, &e);
        while (b < e && is_blank(r->s[b]))
            b++;
        if (b < e)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: more lines than the %lld "
                             "words the header declares", r->fn, r->path,
                             (long long)r->line, (long long)count);
    }
    return BGM_OK;
}

static bgm_status parse_vectors(bgm_word2vec **out, reader *r)
{
    bgm_word2vec *m = NULL;
    int64_t count, dim, i, left;
    size_t cells;
    bgm_status s = parse_header(&count, &dim, r);
    if (s != BGM_OK)
        return s;
    left = lines_left(r);
    if (count > left)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: the header declares %lld words "
                         "but only %lld lines follow", r->fn, r->path, (long long)r->line + left,
                         (long long)count, (long long)left);
    /* every value takes two bytes at least: a file cannot ask for more than it holds */
    if (!bgm__mul_size((size_t)count, (size_t)dim, &cells) || cells > r->size)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line 1: %lld words of dimension %lld cannot "
                         "fit in a file of %zu bytes", r->fn, r->path, (long long)count,
                         (long long)dim, r->size);
    s = bgm__word2vec_new(&m, r->fn, dim);
    if (s != BGM_OK)
        return s;
    if (!bgm__word2vec_reserve(m, count)) {
        bgm_word2vec_free(m);
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory for %lld vectors", r->fn,
                         r->path, (long long)count);
    }
    for (i = 0; i < count && s == BGM_OK; i++)
        s = parse_word_line(m, r);
    if (s == BGM_OK)
        s = check_rest(r, count);
    if (s != BGM_OK) {
        bgm_word2vec_free(m);
        return s;
    }
    bgm__word2vec_finish(m);
    *out = m;
    return BGM_OK;
}

BGM_API bgm_status bgm_word2vec_load(bgm_word2vec **out, const char *path)
{
    static const char *fn = "bgm_word2vec_load";
    bgm__blob blob = {NULL, 0, 0};
    locale_t cloc, old = (locale_t)0;
    unsigned char *grown;
    reader r;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    s = bgm__read_file(&blob, fn, path);
    if (s != BGM_OK)
        return s;
    /* a terminating NUL stops strtof at the end of the file */
    grown = realloc(blob.data, blob.size + 1);
    if (!grown) {
        bgm__blob_free(&blob);
        return bgm__fail(BGM_E_NOMEM, "%s: %s: out of memory", fn, path);
    }
    blob.data = grown;
    blob.data[blob.size] = '\0';
    r.fn = fn;
    r.path = path;
    r.s = (const char *)blob.data;
    r.size = blob.size;
    r.pos = 0;
    r.line = 0;
    cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc)
        old = uselocale(cloc);
    s = parse_vectors(out, &r);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    bgm__blob_free(&blob);
    return s;
}
