/*
 * bigmodel/data.h — datasets (bgm_dataset), batch iteration (bgm_batch_iter)
 * and file loaders: IDX (MNIST), CIFAR-10/100 binary, CSV and NumPy .npy.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * A dataset is an in-memory pair of tensors: features x (float32, or int32
 * token ids for text; first dimension = sample count N) and optional targets
 * y (int32 class labels or float32 values, first dimension N). A model of
 * several inputs and outputs trains on a dataset of several features
 * tensors and several targets tensors (bgm_dataset_from_tensors_multi):
 * every function that reorders, splits or batches a dataset treats all of
 * its tensors alike, so sample i stays sample i in each of them. From files
 * to batches in a few calls:
 *
 *     bgm_dataset *train = NULL, *shuffled = NULL;
 *     bgm_batch_iter *it = NULL;
 *     const bgm_tensor *x, *y;
 *     int more;
 *     s = bgm_dataset_load_idx(&train, "train-images-idx3-ubyte.gz",
 *                              "train-labels-idx1-ubyte.gz");
 *     if (s == BGM_OK) s = bgm_dataset_shuffle(&shuffled, train, 42);
 *     if (s == BGM_OK) s = bgm_batch_iter_create(&it, shuffled, 32, 0);
 *     while (s == BGM_OK && (s = bgm_batch_iter_next(&more, &x, &y, it)) == BGM_OK && more)
 *         ... x is (32, 28, 28, 1) float32, y is (32,) int32 ...
 *
 * Storage: a dataset holds views of tensors, never copies unless a function
 * says so. Whether the caller's own array is copied or borrowed is decided
 * when the caller makes the tensor: bgm_tensor_from_data copies it,
 * bgm_tensor_wrap borrows it (the array must then outlive every dataset and
 * iterator built on it). Datasets made from each other may share storage;
 * writing through one tensor's data pointer is seen by all that share it.
 * Images are NHWC with raw 0..255 values; scaling is a preprocessing step.
 */
#ifndef BIGMODEL_DATA_H
#define BIGMODEL_DATA_H

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Features and optional targets of N samples. Opaque. */
typedef struct bgm_dataset bgm_dataset;

/** Walks a dataset in batches through one reusable buffer. Opaque. */
typedef struct bgm_batch_iter bgm_batch_iter;

/* ---- datasets ---------------------------------------------------------- */

/**
 * New dataset over features x and targets y (y may be NULL). The dataset keeps
 * views of x and y (shared storage, no copy): the caller may free its handles
 * right after the call.
 * x: float32 (or int32 token ids) with at least one dimension; y: int32 or
 * float32 with at least one dimension and y's first dimension equal to x's.
 * Errors: BGM_E_INVALID (NULL out or x, scalar tensors), BGM_E_DTYPE,
 * BGM_E_SHAPE (sample counts differ, both shapes named), BGM_E_STATE (a
 * tensor owned by a tape), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_from_tensors(bgm_dataset **out, const bgm_tensor *x,
                                            const bgm_tensor *y);

/**
 * New dataset over nx >= 1 features tensors xs (float32 or int32 token ids,
 * e.g. one per input of a model) and ny >= 0 targets tensors ys (int32 or
 * float32, e.g. one per output; ys may be NULL when ny is 0), all with the
 * same first dimension N. Views, as bgm_dataset_from_tensors: the caller
 * may free its handles right after the call. Shuffle, take, skip, subset,
 * concatenate, the splits, K-fold and the batch iterator move the samples
 * of every tensor together (one permutation). The functions of
 * preprocess.h that transform features or targets (scalers, one-hot) take
 * pairs only; stratified splits stratify by the first targets tensor.
 * Errors: BGM_E_INVALID (NULL out, xs, ys with ny > 0, or an element; nx
 * < 1, ny < 0; scalar tensors), BGM_E_DTYPE, BGM_E_SHAPE (sample counts
 * differ: the message names "xs[i]" / "ys[j]" and both shapes), BGM_E_STATE
 * (a tensor owned by a tape), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_from_tensors_multi(bgm_dataset **out,
                                                  const bgm_tensor *const *xs, int nx,
                                                  const bgm_tensor *const *ys, int ny);

/** Frees a dataset handle (and its storage once nothing else shares it). NULL is a no-op. */
BGM_API void bgm_dataset_free(bgm_dataset *ds);

/** Number of samples N (0 for NULL). */
BGM_API int64_t bgm_dataset_size(const bgm_dataset *ds);

/** The (first) features tensor (N, ...), borrowed: valid while ds lives. NULL for NULL. */
BGM_API const bgm_tensor *bgm_dataset_features(const bgm_dataset *ds);

/** The (first) targets tensor (N, ...), borrowed: valid while ds lives. NULL when ds has none. */
BGM_API const bgm_tensor *bgm_dataset_targets(const bgm_dataset *ds);

/** Number of features tensors (1 for a pair; 0 for NULL). */
BGM_API int bgm_dataset_num_feature_tensors(const bgm_dataset *ds);

/** Features tensor i, borrowed: valid while ds lives. NULL when out of range. */
BGM_API const bgm_tensor *bgm_dataset_feature_tensor(const bgm_dataset *ds, int i);

/** Number of targets tensors (0 or 1 for a pair; 0 for NULL). */
BGM_API int bgm_dataset_num_target_tensors(const bgm_dataset *ds);

/** Targets tensor i, borrowed: valid while ds lives. NULL when out of range. */
BGM_API const bgm_tensor *bgm_dataset_target_tensor(const bgm_dataset *ds, int i);

/**
 * Shape of one sample's features (the features shape without its first
 * dimension), borrowed: valid while ds lives. *ndim receives its length
 * (0 for features of shape (N,)); ndim may be NULL. NULL (and 0) for NULL ds.
 */
BGM_API const int64_t *bgm_dataset_element_shape(const bgm_dataset *ds, int *ndim);

/* ---- datasets from datasets ---------------------------------------------
 * Each writes a new dataset to *out (free it with bgm_dataset_free; it does
 * not depend on the source handle staying alive). On error *out is NULL.
 */

/**
 * New dataset with ds's samples in a random order: a permutation drawn from
 * a bgm_rng seeded with seed (same seed, same order, on every platform).
 * Copies the samples. Errors: BGM_E_INVALID, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_shuffle(bgm_dataset **out, const bgm_dataset *ds,
                                       uint64_t seed);

/**
 * New dataset of the first min(n, N) samples of ds (a view, no copy).
 * Errors: BGM_E_INVALID (NULL, n < 0), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_take(bgm_dataset **out, const bgm_dataset *ds, int64_t n);

/**
 * New dataset of ds without its first min(n, N) samples (a view, no copy).
 * Errors: BGM_E_INVALID (NULL, n < 0), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_skip(bgm_dataset **out, const bgm_dataset *ds, int64_t n);

/**
 * New dataset of a's samples followed by b's (copied). Both must have the
 * same element shape and dtypes, and either both or neither have targets
 * (whose per-sample shapes must agree too).
 * Errors: BGM_E_INVALID (NULL, targets on one side only), BGM_E_SHAPE and
 * BGM_E_DTYPE (naming both datasets' shapes or dtypes), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_concatenate(bgm_dataset **out, const bgm_dataset *a,
                                           const bgm_dataset *b);

/**
 * New dataset of the samples indices[0..n) of ds, in that order (copied;
 * an index may repeat). indices is borrowed for the call; it may be NULL when n == 0.
 * Errors: BGM_E_INVALID (NULL, n < 0), BGM_E_RANGE (an index outside
 * [0, N), its position named), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_dataset_subset(bgm_dataset **out, const bgm_dataset *ds,
                                      const int64_t *indices, int64_t n);

/* ---- batch iteration --------------------------------------------------- */

/**
 * New iterator over ds in batches of batch_size samples, in order. With
 * drop_remainder != 0 a last batch smaller than batch_size is skipped. The
 * iterator keeps its own views of ds's storage, so ds may be freed first.
 * One buffer of batch_size samples is allocated here and reused by every
 * batch. Free with bgm_batch_iter_free.
 * Errors: BGM_E_INVALID (NULL, batch_size < 1), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_batch_iter_create(bgm_batch_iter **out, const bgm_dataset *ds,
                                         int64_t batch_size, int drop_remainder);

/**
 * Next batch: *has_batch = 1 and *x, *y point at tensors of shape (B, ...)
 * holding copies of the next B samples (B = batch_size, or fewer for a last
 * partial batch). At the end *has_batch = 0 and *x, *y are NULL, until
 * bgm_batch_iter_reset. *y is NULL when the dataset has no targets. x and y
 * may be NULL when unwanted. The tensors are borrowed from the iterator:
 * their contents are valid until the next call to next/reset/free, and
 * every batch reuses the same buffers (same data pointers); no allocation
 * happens here.
 * Errors: BGM_E_INVALID (NULL it or has_batch; a dataset of several features
 * or targets tensors, whose batches bgm_batch_iter_next_multi gives).
 */
BGM_API bgm_status bgm_batch_iter_next(int *has_batch, const bgm_tensor **x,
                                       const bgm_tensor **y, bgm_batch_iter *it);

/**
 * bgm_batch_iter_next for a dataset of any number of tensors: xs[0..nx)
 * and ys[0..ny) receive the batch of every features and targets tensor (the
 * same samples in each), borrowed from the iterator as above; all NULL at
 * the end of a pass. nx and ny must be the dataset's counts (ys may be NULL
 * when ny is 0).
 * Errors: BGM_E_INVALID (NULL has_batch, it, xs, or ys with ny > 0; counts
 * that differ from the dataset's, both named).
 */
BGM_API bgm_status bgm_batch_iter_next_multi(int *has_batch, const bgm_tensor **xs, int nx,
                                             const bgm_tensor **ys, int ny,
                                             bgm_batch_iter *it);

/**
 * Starts the iterator over from the first batch. When shuffling was turned
 * on with bgm_batch_iter_shuffle, the next pass visits the samples in a new
 * order. NULL is a no-op.
 */
BGM_API void bgm_batch_iter_reset(bgm_batch_iter *it);

/**
 * Makes every pass (epoch) visit the samples in a new random order drawn
 * from a generator seeded with seed: the sequence of orders is the same for
 * the same seed. Takes effect now (the iterator is reset).
 * Errors: BGM_E_INVALID (NULL), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_batch_iter_shuffle(bgm_batch_iter *it, uint64_t seed);

/** Number of batches one pass yields (0 for NULL). */
BGM_API int64_t bgm_batch_iter_num_batches(const bgm_batch_iter *it);

/** Frees an iterator and its buffers. NULL is a no-op. */
BGM_API void bgm_batch_iter_free(bgm_batch_iter *it);

/* ---- streams: batches made by a callback ------------------------------------
 * For data that is not one array in memory (files larger than memory, a
 * database, a generator): a bgm_stream asks a user callback to fill each
 * batch into buffers the stream owns, and runs that callback on a
 * background thread of its own, up to `prefetch` batches ahead of the
 * training step (a bounded queue: the buffers of prefetch + 1 batches are
 * allocated once, when the stream is made, and reused; nothing is
 * allocated per batch except a small view for a batch shorter than
 * batch_size). bgm_model_fit_stream, bgm_model_evaluate_stream and
 * bgm_model_predict_stream (model.h) train, test and predict on it.
 *
 * Passes: each of those calls starts a pass (reset, then fill until the
 * callback reports the end, or until the call's step limit), and a fit epoch
 * continues the pass where the previous epoch stopped unless that pass
 * ended. The thread starts with the call and is joined before the call
 * returns, on success or error; batches prefetched but not used are dropped.
 *
 * Threading: reset and fill run on the stream's thread, never on the
 * caller's, one call at a time (never concurrently with each other). They
 * must not call the model being trained. One fit / evaluate / predict at a
 * time may use a stream (another gets BGM_E_STATE).
 */

/** Opaque: a source of batches filled by a callback. */
typedef struct bgm_stream bgm_stream;

/** The type and per-sample shape of one features or targets tensor of a stream. */
typedef struct bgm_stream_tensor {
    bgm_dtype dtype;                /**< BGM_FLOAT32, or BGM_INT32 (token ids, labels) */
    int ndim;                       /**< dimensions of one sample, 0..BGM_MAX_DIMS - 1 */
    int64_t shape[BGM_MAX_DIMS];    /**< one sample's shape (the batch adds a first dimension) */
} bgm_stream_tensor;

/**
 * Fills the next batch: writes up to batch_size samples into the buffers
 * xs[0..num_x) and ys[0..num_y) (tensors of shape (batch_size, sample
 * shape...), reached with bgm_tensor_data; rows 0..*rows-1 are used) and sets
 * *rows to the number written, or to 0 at the end of the pass. batch is the
 * index of the batch in the pass (0, 1, ...). Returns BGM_OK, or an error
 * status with a message written into msg (msg_size bytes, NUL-terminated);
 * the call using the stream then fails with that status and message.
 * ys is NULL when num_y is 0; it has num_y + 1 buffers when the spec
 * declares sample_weight, the last for the weights. Runs on the stream's thread. The buffers are
 * the stream's: never keep them. Buffers hold the previous contents of
 * their slot, not zeros.
 */
typedef bgm_status (*bgm_stream_fill_fn)(void *ctx, int64_t batch, bgm_tensor *const *xs,
                                         bgm_tensor *const *ys, int64_t *rows, char *msg,
                                         size_t msg_size);

/**
 * Starts a new pass (rewind a file, re-run a query); called on the stream's
 * thread before the first fill of every pass. Errors as for fill.
 */
typedef bgm_status (*bgm_stream_reset_fn)(void *ctx, char *msg, size_t msg_size);

/** What bgm_stream_create needs; set it up with bgm_stream_spec_init. */
typedef struct bgm_stream_spec {
    size_t size;                    /**< sizeof(bgm_stream_spec): set by init */
    int num_x;                      /**< features tensors per batch, >= 1 (1) */
    const bgm_stream_tensor *x;     /**< num_x descriptions, copied by create (NULL) */
    int num_y;                      /**< targets tensors per batch, >= 0 (0) */
    const bgm_stream_tensor *y;     /**< num_y descriptions, copied by create (NULL) */
    int64_t batch_size;             /**< rows of every buffer: the largest batch (32) */
    int64_t batches_per_epoch;      /**< batches of a pass when known, for progress
                                     *  bars; -1: unknown, the callback says (-1) */
    int prefetch;                   /**< batches filled ahead, >= 1 (2) */
    bgm_stream_fill_fn fill;        /**< required (NULL) */
    bgm_stream_reset_fn reset;      /**< NULL: nothing to do at a new pass (NULL) */
    void *ctx;                      /**< passed to fill and reset (NULL) */
    /* Fields appended after the first version (size tells whether the
     * caller knows them). */
    /** Keras' sample_weight of every batch, or NULL for none: float32, ndim
     *  0 (one weight per sample, (batch)) or the per-step shape (T...) for
     *  outputs (N, T, ...), as bgm_fit_options.sample_weight. fill writes
     *  the batch's weights into one more buffer, ys[num_y] (so num_y >= 1).
     *  fit and evaluate on the stream weigh each batch's loss with them:
     *  sum(w * l) / (number of values of l). Copied by create (NULL). */
    const bgm_stream_tensor *sample_weight;
} bgm_stream_spec;

/** Fills spec with the defaults shown above. NULL is a no-op. */
BGM_API void bgm_stream_spec_init(bgm_stream_spec *spec);

/**
 * New stream from spec (copied; ctx is borrowed and must outlive the
 * stream). Allocates the buffers of prefetch + 1 batches. Free with
 * bgm_stream_free.
 * Errors: BGM_E_INVALID (NULL out, spec or fill; num_x < 1, num_y < 0,
 * counts above 16, NULL descriptions, batch_size < 1, prefetch < 1,
 * batches_per_epoch < -1 or 0, a bad ndim or negative dimension, struct size
 * too small, sample_weight with num_y = 0 — each naming the field and
 * value), BGM_E_DTYPE (a dtype other than float32 / int32, sample_weight
 * other than float32), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_stream_create(bgm_stream **out, const bgm_stream_spec *spec);

/** Frees a stream and its buffers (it must not be in use). NULL is a no-op. */
BGM_API void bgm_stream_free(bgm_stream *st);

/** batches_per_epoch of the spec (-1 when unknown; 0 for NULL). */
BGM_API int64_t bgm_stream_batches_per_epoch(const bgm_stream *st);

/** Number of features tensors per batch (0 for NULL). */
BGM_API int bgm_stream_num_x(const bgm_stream *st);

/** Number of targets tensors per batch (0 for NULL). */
BGM_API int bgm_stream_num_y(const bgm_stream *st);

/** 1 when the stream's batches carry sample weights (spec.sample_weight), else 0 (also for NULL). */
BGM_API int bgm_stream_has_sample_weight(const bgm_stream *st);

/* ---- loaders ------------------------------------------------------------
 * Every loader rejects a malformed file with BGM_E_FORMAT (or BGM_E_IO when
 * it cannot be opened or read) and a message naming the file and the byte
 * offset, or line and column, of the problem. Sizes declared in a file are
 * checked against the file's real size before anything is allocated.
 * Common errors: BGM_E_INVALID (NULL arguments), BGM_E_NOMEM.
 */

/**
 * Loads IDX images (idx3, unsigned bytes, as MNIST and Fashion-MNIST ship
 * them) as a float32 tensor (N, H, W, 1) of raw 0..255 values. The file may
 * be gzip-compressed (recognized by its first bytes, 1f 8b). Offsets in
 * messages about a compressed file count decompressed bytes.
 * Errors also: BGM_E_UNSUPPORTED (element type other than unsigned byte).
 */
BGM_API bgm_status bgm_idx_load_images(bgm_tensor **out, const char *path);

/** Loads IDX labels (idx1, unsigned bytes), plain or gzip, as an int32 tensor (N,). */
BGM_API bgm_status bgm_idx_load_labels(bgm_tensor **out, const char *path);

/**
 * New dataset from an IDX images file and an IDX labels file (see above):
 * features (N, H, W, 1) float32, targets (N,) int32.
 * Errors also: BGM_E_SHAPE when the two files hold different counts.
 */
BGM_API bgm_status bgm_dataset_load_idx(bgm_dataset **out, const char *images_path,
                                        const char *labels_path);

/** Which labels a CIFAR binary file holds, and which to keep. Values are ABI. */
typedef enum bgm_cifar_kind {
    BGM_CIFAR10 = 1,          /**< 1 label byte (0..9) + 3072 pixel bytes per record */
    BGM_CIFAR100_FINE = 2,    /**< coarse byte, fine byte (0..99) + 3072: keep fine */
    BGM_CIFAR100_COARSE = 3   /**< same records: keep the coarse label (0..19) */
} bgm_cifar_kind;

/**
 * New dataset from CIFAR binary batch files (data_batch_1.bin ..., or
 * train.bin / test.bin of CIFAR-100), their records concatenated in the
 * order given: features (N, 32, 32, 3) float32 NHWC with raw 0..255 values
 * (the files store CHW), targets (N,) int32. Files may be gzip-compressed.
 * paths holds npaths >= 1 file names.
 * Errors also: BGM_E_FORMAT for a size that is not a whole number of
 * records, or a label outside the kind's range (offset named).
 */
BGM_API bgm_status bgm_dataset_load_cifar(bgm_dataset **out, const char *const *paths,
                                          int npaths, bgm_cifar_kind kind);

/** Options of bgm_dataset_load_csv; set them up with bgm_csv_options_init. */
typedef struct bgm_csv_options {
    /** sizeof(bgm_csv_options) as the caller was compiled, set by
     *  bgm_csv_options_init_v2; the library reads only the fields it covers.
     *  struct_size is its former name, kept for older sources. */
    BGM_OPTIONS_SIZE_FIELD;
    int skip_lines;            /**< lines to skip before the header (0) */
    int has_header;            /**< first line (after skip_lines) names the columns (1) */
    const char *label_name;    /**< label column by header name (NULL: use label_column) */
    int label_column;          /**< label column by index, negative counts from the end (-1: last) */
    int no_label;              /**< 1: every column is a feature, no targets (0) */
    bgm_dtype label_dtype;     /**< BGM_INT32 for class labels, BGM_FLOAT32 for regression (BGM_INT32) */
    char delimiter;            /**< field separator (',') */
} bgm_csv_options;

/**
 * Fills the first size bytes of opts (pass sizeof *opts) with the defaults
 * shown above and sets opts->size = size: fields appended to bgm_csv_options
 * in later releases keep their defaults for programs built against this
 * header (docs/abi.md). Errors: BGM_E_INVALID (NULL opts, size smaller than
 * the first version of the struct), BGM_E_UNSUPPORTED (size larger than this
 * library's struct: the program was built against a newer header).
 */
BGM_API bgm_status bgm_csv_options_init_v2(bgm_csv_options *opts, size_t size);

/** bgm_csv_options_init_v2(opts, size of the first version of the struct), for
 *  programs built before _v2; NULL is a no-op. New code: bgm_csv_options_init_v2. */
BGM_API void bgm_csv_options_init(bgm_csv_options *opts);

/**
 * New dataset from a CSV file: every column but the label is a numeric
 * feature, giving features (N, columns - 1) float32 and targets (N,) of
 * opts->label_dtype (int32 labels must be whole numbers). opts may be NULL
 * for the defaults. Fields may be double-quoted; blank lines, a UTF-8 byte
 * order mark and CRLF line ends are accepted. Numbers are read in the C
 * locale whatever the process locale is.
 * For scikit-learn's bundled files (iris.csv, wine_data.csv, whose first
 * line holds counts and class names rather than column names) use
 * skip_lines = 1, has_header = 0 and the default last-column label.
 * Errors also: BGM_E_FORMAT naming line and column for a missing value, a
 * non-numeric or non-finite value, a fractional or out-of-range label, a row
 * with the wrong number of fields, an unknown label_name; BGM_E_INVALID for
 * bad options (label_name without a header, label_column out of range,
 * label_dtype other than int32/float32, struct_size too small).
 */
BGM_API bgm_status bgm_dataset_load_csv(bgm_dataset **out, const char *path,
                                        const bgm_csv_options *opts);

/**
 * Loads a NumPy .npy file (format 1.0, 2.0 or 3.0, C order, little-endian)
 * as a new tensor: '<f4' gives float32, '<i4' int32, and unsigned bytes
 * ('|u1') load as float32 holding 0..255, like the image loaders.
 * Errors also: BGM_E_UNSUPPORTED naming the dtype for other dtypes
 * (float64, int64, big-endian, ...; convert with arr.astype(np.float32)),
 * for Fortran order and for more than BGM_MAX_DIMS dimensions;
 * BGM_E_FORMAT for a bad magic, header or size (offset named).
 */
BGM_API bgm_status bgm_npy_load(bgm_tensor **out, const char *path);

/**
 * Writes t to path as a NumPy .npy file (format 1.0, '<f4' or '<i4', C
 * order) that numpy.load reads. The file is written to a temporary file in
 * the same folder and renamed over path, so path never holds half a file.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (naming the file and the reason).
 */
BGM_API bgm_status bgm_npy_save(const bgm_tensor *t, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_DATA_H */
