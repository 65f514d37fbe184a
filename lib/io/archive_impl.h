/* Internal layout of bgm_archive, shared by the archive itself and the file
 * formats that fill or write it (.bgm, safetensors). */
#ifndef BGM_IO_ARCHIVE_IMPL_H
#define BGM_IO_ARCHIVE_IMPL_H

#include "bigmodel/io.h"

/* One metadata entry. Strings keep their length in count and a NUL after. */
typedef struct bgm__meta {
    char *key;
    bgm_meta_type type;
    int64_t count;         /* array length, or string length in bytes */
    int64_t i;             /* BGM_META_INT64 */
    double f;              /* BGM_META_FLOAT64 */
    void *values;          /* string or array; NULL for an empty array */
} bgm__meta;

typedef struct bgm__named_tensor {
    char *name;
    bgm_tensor *t;         /* owned */
} bgm__named_tensor;

/* Open-addressing hash from names to entry indices (slot = index + 1). */
typedef struct bgm__name_index {
    int64_t *slots;
    uint64_t cap;          /* a power of two, or 0 */
} bgm__name_index;

struct bgm_archive {
    bgm__meta *meta;
    int64_t nmeta, meta_cap;
    bgm__named_tensor *tensors;
    int64_t ntensors, tensor_cap;
    bgm__name_index meta_index, tensor_index;
};

/* Index of key among the metadata / tensors, or -1. */
int64_t bgm__archive_meta_index(const bgm_archive *a, const char *key);
int64_t bgm__archive_tensor_index(const bgm_archive *a, const char *name);

/* Checks a key or name of len bytes: 1..BGM_ARCHIVE_MAX_NAME bytes of UTF-8.
 * Returns NULL when fine, else a phrase saying what is wrong. */
const char *bgm__archive_name_problem(const char *name, size_t len);

/* Appends m, taking ownership of m->key and m->values whether it succeeds
 * or not. No checks but the duplicate one (BGM_E_INVALID naming func). */
bgm_status bgm__archive_put_meta(bgm_archive *a, const char *func, bgm__meta *m);

/* Appends t under name, taking ownership of both whether it succeeds or not. */
bgm_status bgm__archive_put_tensor(bgm_archive *a, const char *func, char *name,
                                   bgm_tensor *t);

/* Frees a metadata entry's key and values. */
void bgm__meta_clear(bgm__meta *m);

/* Name of a metadata type ("int64", ...). */
const char *bgm__meta_type_name(bgm_meta_type type);

/* Reserved key prefix and the keys save writes under it. */
#define BGM__RESERVED_PREFIX "bgm."
#define BGM__KEY_VERSION "bgm.library_version"
#define BGM__KEY_VERSION_NUMBER "bgm.library_version_number"

#endif
