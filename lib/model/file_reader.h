/*
 * Reading model files: the reader's state and checked getters of archive
 * metadata. Every failure is BGM_E_FORMAT with "fn: source: message"
 * naming the key, so a bad file says where it is bad.
 */
#ifndef BGM_MODEL_FILE_READER_H
#define BGM_MODEL_FILE_READER_H

#include "model/model_file.h"

#define BGM__FILE_KEY_SIZE 96

typedef struct bgm__reader {
    const bgm_archive *a;
    const char *src;           /* the path, or "<memory>" */
    const char *fn;
    int version;               /* model.format_version */
    int arch_only;             /* 1: the architecture alone (configs, clones): no
                                  weight tensors are looked for */
} bgm__reader;

/* BGM_E_FORMAT with "fn: src: message". */
bgm_status bgm__rd_bad(const bgm__reader *ld, const char *fmt, ...) BGM__PRINTF(2, 3);

/* A library call on file values failed with s: the file is inconsistent
 * (except when memory ran out); what says where ("layer 2 (Dense)"). */
bgm_status bgm__rd_wrap(const bgm__reader *ld, bgm_status s, const char *what);

/* Checks that key exists with type want. */
bgm_status bgm__rd_expect(const bgm__reader *ld, const char *key, bgm_meta_type want);

/* Typed values of key: an int64, one in [lo, hi], a float64 as a float
 * (beyond float's range: an infinity), a string, a string naming a value
 * of table. */
bgm_status bgm__rd_get_int(const bgm__reader *ld, const char *key, int64_t *v);
bgm_status bgm__rd_get_range(const bgm__reader *ld, const char *key, int64_t lo, int64_t hi,
                             int64_t *v);
bgm_status bgm__rd_get_float(const bgm__reader *ld, const char *key, float *v);
bgm_status bgm__rd_get_str(const bgm__reader *ld, const char *key, const char **v);
bgm_status bgm__rd_get_enum(const bgm__reader *ld, const char *key,
                            const bgm__enum_name *table, int *v);

/* An int64 array of key: *vals (borrowed from the archive) and *n. */
bgm_status bgm__rd_get_ints(const bgm__reader *ld, const char *key, const int64_t **vals,
                            int64_t *n);

/* Reads the compile state (loss, metrics, optimizer and its slots) into m. */
bgm_status bgm__rd_compile(const bgm__reader *ld, bgm_model *m);

#endif
