/* A strict, non-recursive JSON reader for the subset safetensors headers
 * use: objects, arrays, strings and non-negative integers. The caller walks
 * the grammar it expects; the first problem stops everything and is kept
 * with its byte offset. */
#ifndef BGM_IO_JSON_H
#define BGM_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct bgm__json {
    const unsigned char *p;
    size_t len, pos;
    const char *error;     /* first problem, or NULL */
    size_t error_pos;
} bgm__json;

void bgm__json_init(bgm__json *j, const void *text, size_t len);

/* Records a problem at the current position (the first one wins); returns 0. */
int bgm__json_fail(bgm__json *j, const char *what);

/* Consumes c after optional whitespace; 0 (with the error set) when absent. */
int bgm__json_expect(bgm__json *j, char c);

/* Next non-space byte without consuming it, or -1 at the end. */
int bgm__json_peek(bgm__json *j);

/*
 * Steps through an object or array whose opening bracket was consumed:
 * returns 1 when another element follows (for an object, its key comes
 * next), 0 after consuming the closing bracket, -1 on a malformed list.
 * *count starts at 0 and counts the elements.
 */
int bgm__json_next(bgm__json *j, char close, size_t *count);

/* Reads a string into a new NUL-terminated UTF-8 buffer (*len bytes).
 * Escapes are decoded; \u0000, lone surrogates, raw control characters and
 * invalid UTF-8 are rejected. Returns 1, or 0 with the error set (and, on
 * allocation failure, error "out of memory"). */
int bgm__json_string(bgm__json *j, char **out, size_t *len);

/* Reads a non-negative integer no larger than INT64_MAX, without sign,
 * fraction, exponent or leading zeros. */
int bgm__json_uint(bgm__json *j, uint64_t *out);

/* 1 when only whitespace remains. */
int bgm__json_at_end(bgm__json *j);

#endif
