/* A whole JSON document as a tree (model configs): objects keep their keys
 * in order, numbers keep whether they were written as integers, and every
 * value remembers its byte offset so that messages can point at it. */
#ifndef BGM_IO_JSON_VALUE_H
#define BGM_IO_JSON_VALUE_H

#include <stddef.h>
#include <stdint.h>

typedef enum bgm__jv_type {
    BGM__JV_NULL,
    BGM__JV_BOOL,
    BGM__JV_NUMBER,
    BGM__JV_STRING,
    BGM__JV_ARRAY,
    BGM__JV_OBJECT
} bgm__jv_type;

typedef struct bgm__jv {
    bgm__jv_type type;
    size_t pos;                /* byte offset of the value in the text */
    int boolean;               /* BGM__JV_BOOL */
    double number;             /* BGM__JV_NUMBER */
    int is_int;                /* the number was an integer within int64 */
    int64_t integer;           /*   and its value */
    char *string;              /* BGM__JV_STRING (NUL-terminated UTF-8) */
    struct bgm__jv *items;     /* n items of an array or values of an object */
    char **keys;               /* BGM__JV_OBJECT: n keys */
    size_t n;
} bgm__jv;

/* Parses text[0..len) (one value, nested at most 64 deep) into a new tree
 * (free with bgm__jv_free). On failure returns 0 with err set to "<what>
 * at offset <k>"; on allocation failure err says "out of memory". */
int bgm__jv_parse(bgm__jv **out, const char *text, size_t len, char *err, size_t errsize);

void bgm__jv_free(bgm__jv *v);

/* The value of key in an object, or NULL (also when v is not an object). */
const bgm__jv *bgm__jv_get(const bgm__jv *v, const char *key);

/* "an integer", "a string", ... for messages. */
const char *bgm__jv_type_name(const bgm__jv *v);

#endif
