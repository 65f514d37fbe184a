/* JSON documents as trees, for model and layer configs. Strings go through
 * the strict reader of json.c; nesting is bounded, so the recursion is too. */
#include "io/json_value.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json.h"

#define MAX_DEPTH 64

static int parse_value(bgm__json *j, bgm__jv *v, int depth);

static int grow(bgm__json *j, bgm__jv *v, size_t *cap, int with_keys)
{
    size_t want = *cap ? 2 * *cap : 4;
    bgm__jv *items;
    if (v->n < *cap)
        return 1;
    items = realloc(v->items, want * sizeof *items);
    if (!items)
        return bgm__json_fail(j, "out of memory");
    v->items = items;
    if (with_keys) {
        char **keys = realloc(v->keys, want * sizeof *keys);
        if (!keys)
            return bgm__json_fail(j, "out of memory");
        v->keys = keys;
    }
    *cap = want;
    return 1;
}

static int parse_list(bgm__json *j, bgm__jv *v, int depth, int object)
{
    size_t count = 0, cap = 0;
    int more;
    j->pos++;
    while ((more = bgm__json_next(j, object ? '}' : ']', &count)) == 1) {
        size_t len;
        if (!grow(j, v, &cap, object))
            return 0;
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        if (object) {
            if (!bgm__json_string(j, &v->keys[v->n], &len))
                return 0;
            v->n++; /* the key is owned from here */
            if (!bgm__json_expect(j, ':'))
                return 0;
            if (!parse_value(j, &v->items[v->n - 1], depth + 1))
                return 0;
        } else {
            v->n++;
            if (!parse_value(j, &v->items[v->n - 1], depth + 1))
                return 0;
        }
    }
    return more == 0;
}

static int parse_number(bgm__json *j, bgm__jv *v)
{
    char buf[64];
    size_t start = j->pos, k = 0;
    int digits = 0, frac = 0;
    char *end;
    while (j->pos < j->len && strchr("+-0123456789.eE", j->p[j->pos]) && k + 1 < sizeof buf) {
        unsigned char c = j->p[j->pos++];
        digits += c >= '0' && c <= '9';
        frac |= c == '.' || c == 'e' || c == 'E';
        buf[k++] = (char)c;
    }
    buf[k] = '\0';
    v->number = strtod(buf, &end);
    if (!digits || *end || (buf[0] == '0' && k > 1 && buf[1] >= '0' && buf[1] <= '9') ||
        buf[0] == '+' || (buf[0] == '-' && (buf[1] < '0' || buf[1] > '9')) ||
        !isfinite(v->number)) {
        j->pos = start;
        return bgm__json_fail(j, "malformed number");
    }
    v->type = BGM__JV_NUMBER;
    if (!frac && v->number >= -9.2e18 && v->number <= 9.2e18) {
        v->is_int = 1;
        v->integer = strtoll(buf, NULL, 10);
    }
    return 1;
}

static int literal(bgm__json *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->pos < n || memcmp(j->p + j->pos, word, n) != 0)
        return bgm__json_fail(j, "expected a value");
    j->pos += n;
    return 1;
}

static int parse_value(bgm__json *j, bgm__jv *v, int depth)
{
    int c = bgm__json_peek(j);
    size_t len;
    v->pos = j->pos;
    if (depth > MAX_DEPTH)
        return bgm__json_fail(j, "nested more than 64 deep");
    switch (c) {
    case '{': v->type = BGM__JV_OBJECT; return parse_list(j, v, depth, 1);
    case '[': v->type = BGM__JV_ARRAY; return parse_list(j, v, depth, 0);
    case '"': v->type = BGM__JV_STRING; return bgm__json_string(j, &v->string, &len);
    case 't': v->type = BGM__JV_BOOL; v->boolean = 1; return literal(j, "true");
    case 'f': v->type = BGM__JV_BOOL; return literal(j, "false");
    case 'n': v->type = BGM__JV_NULL; return literal(j, "null");
    case -1: return bgm__json_fail(j, "unexpected end of text");
    default: return parse_number(j, v);
    }
}

static void free_items(bgm__jv *v)
{
    size_t i;
    for (i = 0; i < v->n; i++) {
        free_items(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

void bgm__jv_free(bgm__jv *v)
{
    if (v) {
        free_items(v);
        free(v);
    }
}

int bgm__jv_parse(bgm__jv **out, const char *text, size_t len, char *err, size_t errsize)
{
    bgm__json j;
    bgm__jv *v = calloc(1, sizeof *v);
    *out = NULL;
    if (!v) {
        snprintf(err, errsize, "out of memory");
        return 0;
    }
    bgm__json_init(&j, text, len);
    if (parse_value(&j, v, 0) && !bgm__json_at_end(&j))
        bgm__json_fail(&j, "text after the value");
    if (j.error) {
        if (strcmp(j.error, "out of memory") == 0)
            snprintf(err, errsize, "out of memory");
        else
            snprintf(err, errsize, "%s at offset %zu", j.error, j.error_pos);
        bgm__jv_free(v);
        return 0;
    }
    *out = v;
    return 1;
}

const bgm__jv *bgm__jv_get(const bgm__jv *v, const char *key)
{
    size_t i;
    if (!v || v->type != BGM__JV_OBJECT)
        return NULL;
    for (i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *bgm__jv_type_name(const bgm__jv *v)
{
    switch (v->type) {
    case BGM__JV_NULL: return "null";
    case BGM__JV_BOOL: return v->boolean ? "true" : "false";
    case BGM__JV_NUMBER: return v->is_int ? "an integer" : "a number";
    case BGM__JV_STRING: return "a string";
    case BGM__JV_ARRAY: return "an array";
    case BGM__JV_OBJECT: return "an object";
    }
    return "a value";
}
