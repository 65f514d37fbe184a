/* CSV files as datasets: numeric feature columns and one label column. */
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/options.h"
#include "core/tensor_impl.h"
#include "dataset_impl.h"
#include "fileio.h"
#include "parsers.h"

/* Longest piece of a bad value quoted back in a message. */
#define SHOW 40

typedef struct csv {
    const char *func, *name;
    const char *buf;
    size_t len;
    char delim;
    char *field;            /* the current field, unquoted, NUL-terminated */
    size_t field_len;
    int64_t line;           /* 1-based number of the line being read */
    char **names;           /* header names (ncols), or NULL */
    int ncols, label;       /* label: column index, or -1 for none */
    bgm_dtype label_dtype;
} csv;

/* Finds the line starting at *pos: [*start, *end) without '\n' or a final '\r'. */
static int next_line(const csv *c, size_t *pos, size_t *start, size_t *end)
{
    const char *nl;
    size_t e;
    if (*pos >= c->len)
        return 0;
    *start = *pos;
    nl = memchr(c->buf + *pos, '\n', c->len - *pos);
    e = nl ? (size_t)(nl - c->buf) : c->len;
    *pos = nl ? e + 1 : c->len;
    if (e > *start && c->buf[e - 1] == '\r')
        e--;
    *end = e;
    return 1;
}

static int is_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t')
            return 0;
    return 1;
}

/* Blanks around a field are dropped, unless the blank is the delimiter (TSV). */
static int is_pad(const csv *c, char ch) { return (ch == ' ' || ch == '\t') && ch != c->delim; }

/* " ('name')" for column col (0-based) when the file has a header, else "". */
static const char *col_name(const csv *c, int col, char *buf, size_t size)
{
    buf[0] = '\0';
    if (c->names && col < c->ncols)
        snprintf(buf, size, " ('%.*s')", SHOW, c->names[col]);
    return buf;
}

/*
 * Reads the field starting at *p into c->field and moves *p past its
 * delimiter; *more says whether another field follows on this line.
 * Errors name line and column (1-based field number col + 1).
 */
static bgm_status next_field(csv *c, const char **p, const char *end, int col, int *more)
{
    const char *q = *p;
    size_t n = 0;
    while (q < end && is_pad(c, *q))
        q++;
    if (q < end && *q == '"') {
        for (q++;; q++) {
            if (q >= end)
                return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d: unterminated "
                                 "quoted field (quoted fields cannot span lines)", c->func,
                                 c->name, (long long)c->line, col + 1);
            if (*q == '"') {
                if (q + 1 < end && q[1] == '"') {
                    c->field[n++] = '"';
                    q++;
                    continue;
                }
                q++;
                break;
            }
            c->field[n++] = *q;
        }
        while (q < end && is_pad(c, *q))
            q++;
        if (q < end && *q != c->delim)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d: unexpected "
                             "character '%c' after a closing quote", c->func, c->name,
                             (long long)c->line, col + 1, *q);
    } else {
        const char *s = q, *e;
        while (q < end && *q != c->delim)
            q++;
        e = q;
        while (e > s && is_pad(c, e[-1]))
            e--;
        n = (size_t)(e - s);
        memcpy(c->field, s, n);
    }
    c->field[n] = '\0';
    c->field_len = n;
    *more = q < end;
    *p = *more ? q + 1 : q;
    return BGM_OK;
}

/* Number of fields on a line, or -1 (the message set) when the line is malformed. */
static int64_t count_fields(csv *c, const char *p, const char *end)
{
    int64_t n = 0;
    int more = 1;
    while (more) {
        if (next_field(c, &p, end, n < INT32_MAX ? (int)n : INT32_MAX - 1, &more) != BGM_OK)
            return -1;
        n++;
    }
    return n;
}

/* Parses c->field as a finite number; col is the 0-based column. */
static bgm_status field_number(csv *c, int col, double *v)
{
    char cn[SHOW + 8];
    char *stop;
    if (c->field_len == 0)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d%s: missing value",
                         c->func, c->name, (long long)c->line, col + 1,
                         col_name(c, col, cn, sizeof cn));
    *v = strtod(c->field, &stop);
    if (stop != c->field + c->field_len)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d%s: '%.*s' is not a "
                         "number", c->func, c->name, (long long)c->line, col + 1,
                         col_name(c, col, cn, sizeof cn), SHOW, c->field);
    if (!isfinite(*v))
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d%s: '%.*s' is a missing "
                         "or non-finite value", c->func, c->name, (long long)c->line,
                         col + 1, col_name(c, col, cn, sizeof cn), SHOW, c->field);
    if (fabs(*v) > FLT_MAX)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d%s: %.*s is outside "
                         "the float32 range", c->func, c->name, (long long)c->line,
                         col + 1, col_name(c, col, cn, sizeof cn), SHOW, c->field);
    return BGM_OK;
}

/* Parses one data line into row `row` of x and y (both NULL: only checks it). */
static bgm_status parse_row(csv *c, const char *p, const char *end, int64_t row, float *x,
                            void *y)
{
    char cn[SHOW + 8];
    int nfeat = c->label >= 0 ? c->ncols - 1 : c->ncols;
    int col = 0, more = 1;
    double v = 0;
    bgm_status s;
    for (col = 0; more && col < INT32_MAX - 1; col++) {
        s = next_field(c, &p, end, col, &more);
        if (s == BGM_OK && col < c->ncols)
            s = field_number(c, col, &v);
        if (s != BGM_OK)
            return s;
        if (col >= c->ncols)
            continue;
        if (col != c->label) {
            if (x)
                x[row * nfeat + (c->label >= 0 && col > c->label ? col - 1 : col)] =
                    (float)v;
        } else if (c->label_dtype == BGM_INT32) {
            if (v != floor(v) || v < INT32_MIN || v > INT32_MAX)
                return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld, column %d%s: label "
                                 "'%.*s' is not a whole number in the int32 range (for "
                                 "regression set label_dtype to BGM_FLOAT32)", c->func,
                                 c->name, (long long)c->line, col + 1,
                                 col_name(c, col, cn, sizeof cn), SHOW, c->field);
            if (y)
                ((int32_t *)y)[row] = (int32_t)v;
        } else if (y) {
            ((float *)y)[row] = (float)v;
        }
    }
    if (col != c->ncols)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld has %d fields, expected %d (as "
                         "on the %s)", c->func, c->name, (long long)c->line, col,
                         c->ncols, c->names ? "header" : "first data line");
    return BGM_OK;
}

/* Splits the header line into c->names. */
static bgm_status read_header(csv *c, const char *p, const char *end)
{
    int64_t n = count_fields(c, p, end);
    int more = 1, i;
    if (n < 0)
        return BGM_E_FORMAT;
    if (n > INT32_MAX / 2)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: too many columns", c->func,
                         c->name, (long long)c->line);
    c->ncols = (int)n;
    c->names = calloc((size_t)n, sizeof *c->names);
    if (!c->names)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", c->func);
    for (i = 0; i < c->ncols; i++) {
        if (next_field(c, &p, end, i, &more) != BGM_OK)
            return BGM_E_INTERNAL;
        c->names[i] = malloc(c->field_len + 1);
        if (!c->names[i])
            return bgm__fail(BGM_E_NOMEM, "%s: out of memory", c->func);
        memcpy(c->names[i], c->field, c->field_len + 1);
    }
    return BGM_OK;
}

/* Resolves the label column against the file's columns. */
static bgm_status pick_label(csv *c, const bgm_csv_options *o)
{
    int i, col;
    if (o->no_label) {
        c->label = -1;
        return BGM_OK;
    }
    if (o->label_name) {
        for (i = 0; i < c->ncols; i++)
            if (strcmp(c->names[i], o->label_name) == 0)
                break;
        if (i == c->ncols)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: the header (line %lld) has no column "
                             "named '%s'", c->func, c->name, (long long)c->line,
                             o->label_name);
        c->label = i;
    } else {
        col = o->label_column < 0 ? c->ncols + o->label_column : o->label_column;
        if (col < 0 || col >= c->ncols)
            return bgm__fail(BGM_E_INVALID, "%s: %s: label_column %d is outside the "
                             "file's %d columns", c->func, c->name, o->label_column,
                             c->ncols);
        c->label = col;
    }
    if (c->ncols < 2)
        return bgm__fail(BGM_E_FORMAT, "%s: %s: the file has 1 column, the label, and no "
                         "feature column", c->func, c->name);
    return BGM_OK;
}

/* Runs both passes over the data lines, from byte position pos. */
static bgm_status read_rows(bgm_dataset **out, csv *c, size_t pos, int64_t first_line)
{
    size_t p, start, end;
    int64_t rows = 0, row, shape[2];
    int nfeat = c->label >= 0 ? c->ncols - 1 : c->ncols, consistent = 1;
    bgm_tensor *x = NULL, *y = NULL;
    bgm_status s = BGM_OK;
    /* Pass 1: count rows and fields, so that the tensors are sized by what
     * the file really holds, never by a row count times a header width. */
    c->line = first_line;
    for (p = pos; next_line(c, &p, &start, &end); c->line++) {
        if (is_blank(c->buf + start, c->buf + end))
            continue;
        consistent = consistent && count_fields(c, c->buf + start, c->buf + end) == c->ncols;
        rows++;
    }
    if (consistent) {
        shape[0] = rows;
        shape[1] = nfeat;
        s = bgm__tensor_new(&x, c->func, BGM_FLOAT32, shape, 2);
        if (s == BGM_OK && c->label >= 0)
            s = bgm__tensor_new(&y, c->func, c->label_dtype, shape, 1);
        if (s != BGM_OK)
            goto fail;
    }
    /* Pass 2: parse (or, when pass 1 saw a bad line, find the first error). */
    c->line = first_line;
    row = 0;
    for (p = pos; next_line(c, &p, &start, &end); c->line++) {
        if (is_blank(c->buf + start, c->buf + end))
            continue;
        s = parse_row(c, c->buf + start, c->buf + end, row, x ? x->data : NULL,
                      y ? y->data : NULL);
        if (s != BGM_OK)
            goto fail;
        row++;
    }
    if (!consistent) {
        s = bgm__fail(BGM_E_INTERNAL, "%s: %s: inconsistent rows found no error", c->func,
                      c->name);
        goto fail;
    }
    return bgm__dataset_adopt(out, c->func, x, y);
fail:
    bgm_tensor_free(x);
    bgm_tensor_free(y);
    return s;
}

static bgm_status parse_in_c_locale(bgm_dataset **out, csv *c, const bgm_csv_options *o)
{
    size_t pos = 0, start, end;
    int64_t first_data_line;
    int i;
    bgm_status s;
    c->line = 1;
    /* A UTF-8 byte order mark, as spreadsheet programs write. */
    if (c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    for (i = 0; i < o->skip_lines; i++, c->line++)
        if (!next_line(c, &pos, &start, &end))
            return bgm__fail(BGM_E_FORMAT, "%s: %s: the file has %lld lines, fewer than "
                             "skip_lines (%d)", c->func, c->name, (long long)c->line - 1,
                             o->skip_lines);
    if (o->has_header) {
        for (;;) {
            if (!next_line(c, &pos, &start, &end))
                return bgm__fail(BGM_E_FORMAT, "%s: %s: no header line (the file ends at "
                                 "line %lld)", c->func, c->name, (long long)c->line);
            if (!is_blank(c->buf + start, c->buf + end))
                break;
            c->line++;
        }
        s = read_header(c, c->buf + start, c->buf + end);
        if (s != BGM_OK)
            return s;
        c->line++;
    } else {
        size_t p = pos;
        int64_t line = c->line, n = -1;
        while (next_line(c, &p, &start, &end)) {
            if (!is_blank(c->buf + start, c->buf + end)) {
                n = count_fields(c, c->buf + start, c->buf + end);
                if (n < 0)
                    return BGM_E_FORMAT;
                break;
            }
            c->line++;
        }
        if (n < 0)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: no data lines (the file ends at line "
                             "%lld)", c->func, c->name, (long long)c->line);
        if (n > INT32_MAX / 2)
            return bgm__fail(BGM_E_FORMAT, "%s: %s: line %lld: too many columns", c->func,
                             c->name, (long long)c->line);
        c->ncols = (int)n;
        c->line = line;
    }
    first_data_line = c->line;
    s = pick_label(c, o);
    if (s != BGM_OK)
        return s;
    return read_rows(out, c, pos, first_data_line);
}

bgm_status bgm__csv_parse(bgm_dataset **out, const char *func, const char *name,
                          const char *buf, size_t len, const bgm_csv_options *opts)
{
    csv c;
    locale_t cloc, old = (locale_t)0;
    bgm_status s;
    int i;
    *out = NULL;
    memset(&c, 0, sizeof c);
    c.func = func;
    c.name = name;
    c.buf = buf;
    c.len = len;
    c.delim = opts->delimiter;
    c.label_dtype = opts->label_dtype;
    c.field = malloc(len + 1);
    if (!c.field)
        return bgm__fail(BGM_E_NOMEM, "%s: out of memory", func);
    /* strtod follows LC_NUMERIC; a host program's locale must not turn "5.1" into 5. */
    cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (cloc)
        old = uselocale(cloc);
    s = parse_in_c_locale(out, &c, opts);
    if (cloc) {
        uselocale(old);
        freelocale(cloc);
    }
    for (i = 0; c.names && i < c.ncols; i++)
        free(c.names[i]);
    free(c.names);
    free(c.field);
    return s;
}

/* The struct as released first; fields appended later are not part of it. */
#define CSV_OPTIONS_V1_SIZE BGM__OPTIONS_SIZE(bgm_csv_options, delimiter)

static void csv_defaults(bgm_csv_options *o)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->has_header = 1;
    o->label_column = -1;
    o->label_dtype = BGM_INT32;
    o->delimiter = ',';
}

BGM__OPTIONS_INIT_FUNCTIONS(bgm_csv_options, bgm_csv_options_init, csv_defaults,
                            CSV_OPTIONS_V1_SIZE)

static bgm_status check_options(const char *fn, const bgm_csv_options *o)
{
    if (o->skip_lines < 0)
        return bgm__fail(BGM_E_INVALID, "%s: skip_lines %d is negative", fn, o->skip_lines);
    if (o->label_name && !o->has_header)
        return bgm__fail(BGM_E_INVALID, "%s: label_name '%s' needs has_header = 1", fn,
                         o->label_name);
    if (o->label_name && o->no_label)
        return bgm__fail(BGM_E_INVALID, "%s: label_name '%s' is set together with "
                         "no_label", fn, o->label_name);
    if (o->label_dtype != BGM_INT32 && o->label_dtype != BGM_FLOAT32)
        return bgm__fail(BGM_E_INVALID, "%s: label_dtype %d is neither BGM_INT32 nor "
                         "BGM_FLOAT32", fn, (int)o->label_dtype);
    if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r' ||
        o->delimiter == '\0')
        return bgm__fail(BGM_E_INVALID, "%s: delimiter 0x%02x cannot separate fields", fn,
                         (unsigned char)o->delimiter);
    return BGM_OK;
}

BGM_API bgm_status bgm_dataset_load_csv(bgm_dataset **out, const char *path,
                                        const bgm_csv_options *opts)
{
    static const char *fn = "bgm_dataset_load_csv";
    bgm_csv_options defaults;
    bgm__blob blob;
    bgm_status s;
    BGM__CHECK_NULL(out, fn);
    *out = NULL;
    BGM__CHECK_NULL(path, fn);
    csv_defaults(&defaults);
    s = opts ? bgm__options_read(&defaults, sizeof defaults, opts, CSV_OPTIONS_V1_SIZE,
                                 "bgm_csv_options", "bgm_csv_options_init_v2", fn)
             : BGM_OK;
    opts = &defaults;
    if (s == BGM_OK)
        s = check_options(fn, opts);
    if (s != BGM_OK)
        return s;
    s = bgm__read_file(&blob, fn, path);
    if (s != BGM_OK)
        return s;
    s = bgm__csv_parse(out, fn, path, (const char *)blob.data, blob.size, opts);
    bgm__blob_free(&blob);
    return s;
}
