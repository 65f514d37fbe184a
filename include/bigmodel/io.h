/*
 * bigmodel/io.h — archives (bgm_archive): named tensors with typed key/value
 * metadata, saved to and loaded from .bgm files or safetensors files.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * An archive is an in-memory dictionary with two namespaces: metadata keys
 * (each holding an int64, a float64, a string, or an array of int64 or
 * float64) and tensor names (each holding a float32 or int32 tensor of any
 * shape, scalars and empty tensors included). Build one and save it, or load
 * a file and read it back by key:
 *
 *     bgm_archive *a = NULL;
 *     bgm_status s = bgm_archive_create(&a);
 *     if (s == BGM_OK) s = bgm_archive_add_string(a, "model.kind", "mlp");
 *     if (s == BGM_OK) s = bgm_archive_add_tensor(a, "dense.kernel", w);
 *     if (s == BGM_OK) s = bgm_archive_save(a, "mlp.bgm", BGM_ARCHIVE_COMPRESS);
 *     bgm_archive_free(a);
 *
 * The .bgm layout is specified byte by byte in docs/file-format.md. Saving is
 * atomic: the file is written beside the target under a temporary name,
 * synced and renamed over it, so a crash leaves either the old file or the
 * whole new one (and at worst a stray "<target>.tmp-*" file).
 *
 * Names and keys are 1 to BGM_ARCHIVE_MAX_NAME bytes of UTF-8 without NUL.
 * Keys starting with "bgm." are reserved: save writes "bgm.library_version"
 * (string) and "bgm.library_version_number" (int64) itself, and they are
 * visible after load.
 *
 * Threads: the const functions (getters, save) may run on one archive from
 * several threads at once while no thread changes it.
 */
#ifndef BIGMODEL_IO_H
#define BIGMODEL_IO_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The .bgm format version this library writes; it reads every minor of this major. */
#define BGM_FILE_FORMAT_MAJOR 1
#define BGM_FILE_FORMAT_MINOR 0

/** Longest metadata key or tensor name, in bytes. */
#define BGM_ARCHIVE_MAX_NAME 4096

/** Flag of bgm_archive_save: deflate-compress the tensor data (zlib). */
#define BGM_ARCHIVE_COMPRESS 1u

/** Named tensors and typed metadata. Opaque. */
typedef struct bgm_archive bgm_archive;

/** Type of a metadata value. Values are part of the ABI and of the file format. */
typedef enum bgm_meta_type {
    BGM_META_NONE = 0,          /**< no such key (returned by bgm_archive_meta_type) */
    BGM_META_INT64 = 1,
    BGM_META_FLOAT64 = 2,
    BGM_META_STRING = 3,
    BGM_META_INT64_ARRAY = 4,
    BGM_META_FLOAT64_ARRAY = 5
} bgm_meta_type;

/* ---- life cycle -------------------------------------------------------- */

/** New empty archive, freed with bgm_archive_free(). Errors: BGM_E_INVALID, BGM_E_NOMEM. */
BGM_API bgm_status bgm_archive_create(bgm_archive **out);

/** Frees an archive with everything it holds. NULL is a no-op. */
BGM_API void bgm_archive_free(bgm_archive *a);

/**
 * Writes a to path in the .bgm format, atomically (see above). flags is 0 or
 * BGM_ARCHIVE_COMPRESS. The archive is not changed.
 * Errors: BGM_E_INVALID (NULL, unknown flag bits), BGM_E_IO (naming the path
 * and the reason; the previous file at path is then untouched),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_save(const bgm_archive *a, const char *path, unsigned flags);

/**
 * New archive holding everything in the .bgm file at path. Every section's
 * CRC is checked and every size is validated against the file's length
 * before anything is allocated for it.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (cannot open or read),
 * BGM_E_FORMAT (not a .bgm file, truncated, CRC mismatch, malformed or
 * absurd sizes: the message names the file and the byte offset),
 * BGM_E_UNSUPPORTED (a newer major format version, naming both versions),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_load(bgm_archive **out, const char *path);

/**
 * Same as bgm_archive_load, from size bytes at data (borrowed for the call;
 * messages call it "<memory>"). data may be NULL when size is 0.
 */
BGM_API bgm_status bgm_archive_load_memory(bgm_archive **out, const void *data,
                                           size_t size);

/* ---- metadata ----------------------------------------------------------
 * Adding copies the key and the value. Common errors: BGM_E_INVALID (NULL
 * archive or key, key empty, longer than BGM_ARCHIVE_MAX_NAME, not UTF-8,
 * reserved "bgm." prefix, or already present), BGM_E_NOMEM.
 */

/** Adds key holding an int64. */
BGM_API bgm_status bgm_archive_add_int64(bgm_archive *a, const char *key, int64_t value);

/** Adds key holding a float64 (any bits, NaN and infinities included). */
BGM_API bgm_status bgm_archive_add_float64(bgm_archive *a, const char *key, double value);

/**
 * Adds key holding a copy of value, a NUL-terminated string of any bytes.
 * Errors also: NULL value.
 */
BGM_API bgm_status bgm_archive_add_string(bgm_archive *a, const char *key,
                                          const char *value);

/** Adds key holding a copy of count int64 values (count >= 0; values may be NULL if 0). */
BGM_API bgm_status bgm_archive_add_int64_array(bgm_archive *a, const char *key,
                                               const int64_t *values, int64_t count);

/** Adds key holding a copy of count float64 values (count >= 0; values may be NULL if 0). */
BGM_API bgm_status bgm_archive_add_float64_array(bgm_archive *a, const char *key,
                                                 const double *values, int64_t count);

/* Getters write the value to the out-parameters placed first. Pointers
 * handed out are borrowed: valid until the archive is freed.
 * Common errors: BGM_E_INVALID (NULL argument, or no such key: the message
 * names the key), BGM_E_DTYPE (the key holds another type: both are named).
 */

/** The int64 under key. */
BGM_API bgm_status bgm_archive_get_int64(int64_t *out, const bgm_archive *a,
                                         const char *key);

/** The float64 under key. */
BGM_API bgm_status bgm_archive_get_float64(double *out, const bgm_archive *a,
                                           const char *key);

/** The string under key (borrowed, NUL-terminated). */
BGM_API bgm_status bgm_archive_get_string(const char **out, const bgm_archive *a,
                                          const char *key);

/** The int64 array under key: *values (borrowed; NULL when *count is 0) and *count. */
BGM_API bgm_status bgm_archive_get_int64_array(const int64_t **values, int64_t *count,
                                               const bgm_archive *a, const char *key);

/** The float64 array under key: *values (borrowed; NULL when *count is 0) and *count. */
BGM_API bgm_status bgm_archive_get_float64_array(const double **values, int64_t *count,
                                                 const bgm_archive *a, const char *key);

/** Type of key's value, or BGM_META_NONE when a or key is NULL or the key is absent. */
BGM_API bgm_meta_type bgm_archive_meta_type(const bgm_archive *a, const char *key);

/** Number of metadata entries (0 for NULL). */
BGM_API int64_t bgm_archive_num_meta(const bgm_archive *a);

/** Key of entry i in insertion (or file) order, borrowed; NULL when out of range. */
BGM_API const char *bgm_archive_meta_key(const bgm_archive *a, int64_t i);

/* ---- tensors ----------------------------------------------------------- */

/**
 * Adds a copy of t's elements under name (t is not kept).
 * Errors: BGM_E_INVALID (NULL, bad name as for keys, name already present),
 * BGM_E_DTYPE (t is not float32 or int32), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_add_tensor(bgm_archive *a, const char *name,
                                          const bgm_tensor *t);

/**
 * New tensor holding a copy of the tensor stored under name; the caller
 * frees it. Errors: BGM_E_INVALID (NULL, no such name), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_get_tensor(bgm_tensor **out, const bgm_archive *a,
                                          const char *name);

/**
 * Copies the tensor stored under name into dst, which must have the same
 * dtype and shape (e.g. a model's weight view).
 * Errors: BGM_E_INVALID (NULL, no such name), BGM_E_DTYPE, BGM_E_SHAPE
 * (both shapes named).
 */
BGM_API bgm_status bgm_archive_copy_tensor(bgm_tensor *dst, const bgm_archive *a,
                                           const char *name);

/**
 * Borrowed handle of the tensor stored under name, for reading without a
 * copy: valid until the archive is freed; do not free it or write to it.
 * Errors: BGM_E_INVALID (NULL, no such name).
 */
BGM_API bgm_status bgm_archive_find_tensor(const bgm_tensor **out, const bgm_archive *a,
                                           const char *name);

/** Number of tensors (0 for NULL). */
BGM_API int64_t bgm_archive_num_tensors(const bgm_archive *a);

/** Name of tensor i in insertion (or file) order, borrowed; NULL when out of range. */
BGM_API const char *bgm_archive_tensor_name(const bgm_archive *a, int64_t i);

/* ---- safetensors -------------------------------------------------------
 * The format PyTorch and Hugging Face use for weights: an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw row-major data.
 */

/**
 * Writes a's tensors to path in the safetensors format, atomically, in
 * insertion order, with dtypes "F32" and "I32". Metadata goes into
 * "__metadata__" as strings: strings as they are, numbers as decimal text
 * (float64 with 17 significant digits), arrays as "[1, 2, 3]".
 * Errors: BGM_E_INVALID (NULL; a string or name that is not UTF-8),
 * BGM_E_IO (naming the path; the previous file is then untouched),
 * BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_save_safetensors(const bgm_archive *a, const char *path);

/**
 * New archive with the tensors of the safetensors file at path and its
 * "__metadata__" as string metadata. "F32" and "I32" tensors load bit for
 * bit; "I64" tensors (PyTorch's BatchNorm num_batches_tracked) load as
 * int32 when every value fits. The header is parsed as strict JSON, and the
 * data offsets must lie within the data, not overlap and cover it whole.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO, BGM_E_FORMAT (malformed or
 * inconsistent header, naming the file and the byte offset),
 * BGM_E_UNSUPPORTED (another dtype, or an I64 value outside int32, naming
 * the tensor), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_archive_load_safetensors(bgm_archive **out, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_IO_H */
