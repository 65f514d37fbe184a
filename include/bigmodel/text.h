/*
 * bigmodel/text.h — text cleaning, word tokenization, vocabularies (bgm_vocab),
 * padding of id sequences, text datasets, and word2vec (bgm_word2vec).
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * The classic text-classification pipeline, as Keras' TextVectorization:
 *
 *     bgm_dataset *train = NULL;
 *     bgm_vocab *vocab = NULL;
 *     bgm_text_dataset_options o;
 *     bgm_text_dataset_options_init(&o);
 *     o.max_size = 20000;          (vocabulary size, reserved ids included)
 *     o.sequence_length = 100;     (ids per document, padded/truncated 'pre')
 *     s = bgm_text_dataset_from_directory(&train, &vocab, NULL, "aclImdb/train", &o);
 *     ... features (N, 100) int32 token ids, targets (N,) int32 class labels ...
 *
 * Text is bytes, normally UTF-8. Every function here accepts any bytes:
 * invalid UTF-8 never stops a function or loses the rest of a document
 * (cleaning replaces each invalid byte with a space). Lengths are int64_t;
 * a negative length means "up to the terminating NUL".
 *
 * Strings and lists the library hands out are freed with bgm_text_free and
 * bgm_text_list_free; NULL is a no-op for both.
 */
#ifndef BIGMODEL_TEXT_H
#define BIGMODEL_TEXT_H

#include "data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cleaning ----------------------------------------------------------- */

/** What bgm_text_clean does; set up with bgm_text_clean_options_init (defaults shown). */
typedef struct bgm_text_clean_options {
    /** sizeof(bgm_text_clean_options) as the caller was compiled, set by
     *  bgm_text_clean_options_init_v2; the library reads only the fields it covers.
     *  struct_size is its former name, kept for older sources. */
    BGM_OPTIONS_SIZE_FIELD;
    int lowercase;           /**< A-Z and the Latin-1 capitals U+00C0..U+00DE as UTF-8 to lower case (1) */
    int strip_punctuation;   /**< punctuation to a space, apostrophes removed (1) */
    int strip_digits;        /**< ASCII digits 0-9 to a space (0) */
    int collapse_whitespace; /**< runs of whitespace to one space, none at either end (1) */
    int strip_headers;       /**< drop e-mail headers, see bgm_text_clean (0) */
} bgm_text_clean_options;

/**
 * Fills the first size bytes of opts (pass sizeof *opts) with the defaults
 * shown above and sets opts->size = size: fields appended to bgm_text_clean_options
 * in later releases keep their defaults for programs built against this
 * header (docs/abi.md). Errors: BGM_E_INVALID (NULL opts, size smaller than
 * the first version of the struct), BGM_E_UNSUPPORTED (size larger than this
 * library's struct: the program was built against a newer header).
 */
BGM_API bgm_status bgm_text_clean_options_init_v2(bgm_text_clean_options *opts, size_t size);

/** bgm_text_clean_options_init_v2(opts, size of the first version of the struct), for
 *  programs built before _v2; NULL is a no-op. New code: bgm_text_clean_options_init_v2. */
BGM_API void bgm_text_clean_options_init(bgm_text_clean_options *opts);

/**
 * New cleaned copy of text[0..len) (len < 0: up to the NUL), NUL-terminated,
 * in *out (free with bgm_text_free); *out_len (may be NULL) gets its length.
 * opts NULL means the defaults. The rules, applied in one pass:
 * - Always: each byte that is not part of a valid UTF-8 sequence (stray
 *   continuation bytes, 0xC0/0xC1/0xF5..0xFF, truncated, overlong or
 *   surrogate sequences) becomes a space, and so do control characters
 *   (U+0000..U+001F other than whitespace, U+007F..U+009F); the bytes after
 *   it are cleaned as usual. The result is therefore always valid UTF-8
 *   without NULs, and never longer than the input.
 *   Unicode spaces (U+00A0, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F,
 *   U+3000) become an ASCII space.
 * - strip_headers: when the text starts with a mail header line ("Name:
 *   value", Name made of printable ASCII without ':' or space) or an mbox
 *   "From " line, everything up to and including the first empty line is
 *   removed (all of it when there is no empty line).
 * - lowercase: ASCII A-Z, and U+00C0..U+00DE except U+00D7 (À..Þ) to their
 *   small forms; other characters are kept.
 * - strip_punctuation: ASCII punctuation, the Latin-1 signs U+00A1..U+00BF
 *   (except ª µ º) and U+00D7 U+00F7, and the general punctuation block
 *   U+2010..U+2027, U+2030..U+205E become a space, except apostrophes (' and
 *   U+2019), which are removed so that "don't" stays one word "dont".
 * - strip_digits: ASCII 0-9 become a space.
 * - collapse_whitespace: runs of ASCII whitespace become one space, with
 *   none at the start or end. Without it ASCII whitespace is kept as is.
 * Errors: BGM_E_INVALID (NULL out or text, struct_size too small), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_text_clean(char **out, int64_t *out_len, const char *text,
                                  int64_t len, const bgm_text_clean_options *opts);

/**
 * Finds the first word of text[0..len) (len < 0: up to the NUL) at or after
 * byte pos, words being runs of bytes other than ASCII whitespace (space,
 * \t \n \v \f \r): *start and *length receive its byte offset and length,
 * or *start = len and *length = 0 when none is left. Allocates nothing; use
 * it on cleaned text to walk its words:
 *     for (pos = 0; bgm_text_next_token(&st, &n, txt, len, pos) == BGM_OK && n > 0; pos = st + n)
 * Errors: BGM_E_INVALID (NULL pointers, pos < 0).
 */
BGM_API bgm_status bgm_text_next_token(int64_t *start, int64_t *length, const char *text,
                                       int64_t len, int64_t pos);

/**
 * Cleans text[0..len) with opts (NULL: defaults) and splits it into words
 * (see bgm_text_next_token). *out receives a new NULL-terminated array of
 * *count NUL-terminated words (count may be NULL), freed with one call to
 * bgm_text_list_free. A document without words gives an array holding only
 * the terminating NULL.
 * Errors: as bgm_text_clean.
 */
BGM_API bgm_status bgm_text_tokenize(char ***out, int64_t *count, const char *text,
                                     int64_t len, const bgm_text_clean_options *opts);

/** Frees a string returned by the library. NULL is a no-op. */
BGM_API void bgm_text_free(char *s);

/** Frees a list returned by the library (tokens, class names). NULL is a no-op. */
BGM_API void bgm_text_list_free(char **list);

/* ---- vocabularies ------------------------------------------------------- */

/** A token <-> id mapping with corpus counts. Opaque. */
typedef struct bgm_vocab bgm_vocab;

/** Id 0: padding ("" in Keras' TextVectorization vocabulary). */
#define BGM_VOCAB_PAD 0
/** Id 1: out-of-vocabulary tokens ("[UNK]" in Keras). */
#define BGM_VOCAB_OOV 1

/** How bgm_vocab_build chooses tokens; set up with bgm_vocab_options_init. */
typedef struct bgm_vocab_options {
    /** sizeof(bgm_vocab_options) as the caller was compiled, set by
     *  bgm_vocab_options_init_v2; the library reads only the fields it covers.
     *  struct_size is its former name, kept for older sources. */
    BGM_OPTIONS_SIZE_FIELD;
    int64_t min_count;    /**< keep tokens seen at least this often (1) */
    int64_t max_size;     /**< at most this many ids, the 2 reserved ones included,
                               as Keras' max_tokens; 0 = no limit (0) */
    const bgm_text_clean_options *clean; /**< cleaning of every document (NULL: defaults) */
} bgm_vocab_options;

/**
 * Fills the first size bytes of opts (pass sizeof *opts) with the defaults
 * shown above and sets opts->size = size: fields appended to bgm_vocab_options
 * in later releases keep their defaults for programs built against this
 * header (docs/abi.md). Errors: BGM_E_INVALID (NULL opts, size smaller than
 * the first version of the struct), BGM_E_UNSUPPORTED (size larger than this
 * library's struct: the program was built against a newer header).
 */
BGM_API bgm_status bgm_vocab_options_init_v2(bgm_vocab_options *opts, size_t size);

/** bgm_vocab_options_init_v2(opts, size of the first version of the struct), for
 *  programs built before _v2; NULL is a no-op. New code: bgm_vocab_options_init_v2. */
BGM_API void bgm_vocab_options_init(bgm_vocab_options *opts);

/**
 * New vocabulary of the words of ndocs documents docs[i] of lens[i] bytes
 * (lens NULL, or a negative entry: NUL-terminated), each cleaned with
 * opts->clean and split on whitespace. Ids 0 and 1 are reserved (padding,
 * out-of-vocabulary); the kept tokens get ids 2, 3, ... most frequent
 * first, ties broken by first appearance in the documents, so the result is
 * deterministic. Tokens rarer than min_count are left out, then the list is
 * cut to max_size ids. opts NULL means the defaults. Free with bgm_vocab_free.
 * Errors: BGM_E_INVALID (NULL out, NULL docs with ndocs > 0, a NULL
 * document, ndocs < 0, min_count < 1, max_size 1 or negative, struct_size
 * too small), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_vocab_build(bgm_vocab **out, const char *const *docs,
                                   const int64_t *lens, int64_t ndocs,
                                   const bgm_vocab_options *opts);

/** Frees a vocabulary. NULL is a no-op. */
BGM_API void bgm_vocab_free(bgm_vocab *v);

/** Number of ids, the 2 reserved ones included (0 for NULL). */
BGM_API int64_t bgm_vocab_size(const bgm_vocab *v);

/**
 * Id of token[0..len) (len < 0: up to the NUL), compared byte for byte with
 * the stored (cleaned) tokens: BGM_VOCAB_OOV when it is not in v (also for
 * "" and "[UNK]"), -1 when v or token is NULL.
 */
BGM_API int32_t bgm_vocab_id(const bgm_vocab *v, const char *token, int64_t len);

/**
 * Token of id, borrowed (valid while v lives): "" for 0, "[UNK]" for 1, NULL
 * when id is outside [0, size) or v is NULL.
 */
BGM_API const char *bgm_vocab_token(const bgm_vocab *v, int32_t id);

/** How often token id occurred in the documents it was built from (0 for reserved or unknown ids). */
BGM_API int64_t bgm_vocab_count(const bgm_vocab *v, int32_t id);

/**
 * Writes v to path as UTF-8 text: one line "token count\n" per id from 2
 * upwards (the reserved ids are implied, not written). The file is written
 * to a temporary file and renamed over path.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (naming the file and the reason).
 */
BGM_API bgm_status bgm_vocab_save(const bgm_vocab *v, const char *path);

/**
 * Loads a vocabulary written by bgm_vocab_save: line i (from 1) is the token
 * of id i + 1, optionally followed by a space or tab and its count, so a
 * plain list of tokens, one per line, loads too. A UTF-8 byte order mark
 * and CRLF line ends are accepted.
 * Errors: BGM_E_IO, BGM_E_FORMAT naming the file and line (empty line,
 * token with a space, bad count, a token twice, a reserved token ""/"[UNK]"),
 * BGM_E_INVALID, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_vocab_load(bgm_vocab **out, const char *path);

/**
 * New int32 tensor (n,) of the ids of the words of text[0..len) (len < 0:
 * up to the NUL), cleaned with clean (NULL: defaults; use the options the
 * vocabulary was built with); unknown words give BGM_VOCAB_OOV.
 * Errors: BGM_E_INVALID (NULL out, v or text), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_vocab_encode(bgm_tensor **out, const bgm_vocab *v, const char *text,
                                    int64_t len, const bgm_text_clean_options *clean);

/** Where bgm_pad_sequences pads or cuts. Values are part of the ABI. */
typedef enum bgm_pad_side {
    BGM_PAD_PRE = 0,  /**< at the start (Keras 'pre', the default) */
    BGM_PAD_POST = 1  /**< at the end (Keras 'post') */
} bgm_pad_side;

/**
 * New int32 tensor (n, maxlen) of n id sequences seqs[i] of lens[i] ids, as
 * Keras' pad_sequences: a sequence longer than maxlen loses its first ids
 * (truncating PRE) or its last (POST); a shorter one is filled up with value
 * before (padding PRE) or after (POST) it. maxlen 0 means the longest length.
 * seqs[i] may be NULL when lens[i] == 0.
 * Errors: BGM_E_INVALID (NULL out, NULL seqs/lens with n > 0, NULL sequence
 * with a length, n, maxlen or a length negative, unknown side), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_pad_sequences(bgm_tensor **out, const int32_t *const *seqs,
                                     const int64_t *lens, int64_t n, int64_t maxlen,
                                     bgm_pad_side padding, bgm_pad_side truncating,
                                     int32_t value);

/**
 * New int32 tensor (ndocs, maxlen): the ids of every document (as
 * bgm_vocab_encode) padded/cut as bgm_pad_sequences does with value 0
 * (BGM_VOCAB_PAD). maxlen 0 means the longest document. lens as in
 * bgm_vocab_build.
 * Errors: as bgm_vocab_build and bgm_pad_sequences.
 */
BGM_API bgm_status bgm_vocab_encode_padded(bgm_tensor **out, const bgm_vocab *v,
                                           const char *const *docs, const int64_t *lens,
                                           int64_t ndocs, int64_t maxlen,
                                           bgm_pad_side padding, bgm_pad_side truncating,
                                           const bgm_text_clean_options *clean);

/* ---- text datasets ------------------------------------------------------ */

/** How text datasets are made; set up with bgm_text_dataset_options_init. */
typedef struct bgm_text_dataset_options {
    /** sizeof(bgm_text_dataset_options) as the caller was compiled, set by
     *  bgm_text_dataset_options_init_v2; the library reads only the fields it covers.
     *  struct_size is its former name, kept for older sources. */
    BGM_OPTIONS_SIZE_FIELD;
    const bgm_text_clean_options *clean; /**< cleaning (NULL: defaults) */
    const bgm_vocab *vocab;   /**< use this vocabulary (e.g. the training set's);
                                   NULL: build one from these documents (NULL) */
    int64_t min_count;        /**< for a built vocabulary, as bgm_vocab_options (1) */
    int64_t max_size;         /**< for a built vocabulary, as bgm_vocab_options (0) */
    int64_t sequence_length;  /**< ids per document; 0: the longest document (0) */
    bgm_pad_side padding;     /**< (BGM_PAD_PRE) */
    bgm_pad_side truncating;  /**< (BGM_PAD_PRE) */
} bgm_text_dataset_options;

/**
 * Fills the first size bytes of opts (pass sizeof *opts) with the defaults
 * shown above and sets opts->size = size: fields appended to bgm_text_dataset_options
 * in later releases keep their defaults for programs built against this
 * header (docs/abi.md). Errors: BGM_E_INVALID (NULL opts, size smaller than
 * the first version of the struct), BGM_E_UNSUPPORTED (size larger than this
 * library's struct: the program was built against a newer header).
 */
BGM_API bgm_status bgm_text_dataset_options_init_v2(bgm_text_dataset_options *opts, size_t size);

/** bgm_text_dataset_options_init_v2(opts, size of the first version of the struct), for
 *  programs built before _v2; NULL is a no-op. New code: bgm_text_dataset_options_init_v2. */
BGM_API void bgm_text_dataset_options_init(bgm_text_dataset_options *opts);

/**
 * New dataset from a folder with one subfolder per class, as Keras'
 * text_dataset_from_directory: the subfolder names sorted byte-wise give
 * labels 0, 1, ...; every regular file below a class folder (searched
 * recursively, names sorted, hidden names starting with '.' skipped; plain
 * or gzip) is one document. Samples come in that order, not shuffled (see
 * bgm_dataset_shuffle). Features: int32 (N, sequence_length) token ids
 * padded as bgm_vocab_encode_padded; targets: int32 (N,).
 * *vocab (vocab may be NULL when unwanted) receives a new vocabulary: the
 * one built from these documents, or a copy of opts->vocab.
 * *class_names (may be NULL) receives a new NULL-terminated list of the
 * class folder names (free with bgm_text_list_free). opts NULL: defaults.
 * Errors: BGM_E_INVALID (NULL out or dir, bad options), BGM_E_IO (a folder
 * or file that cannot be read, named), BGM_E_FORMAT (no class folders, or
 * no documents), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_text_dataset_from_directory(bgm_dataset **out, bgm_vocab **vocab,
                                                   char ***class_names, const char *dir,
                                                   const bgm_text_dataset_options *opts);

/**
 * New dataset of n files paths[i] (plain or gzip) with labels[i], in that
 * order; features, targets and *vocab as bgm_text_dataset_from_directory.
 * Errors: BGM_E_INVALID (NULL out, paths or labels with n > 0, a NULL
 * path, n < 0, bad options), BGM_E_IO, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_text_dataset_from_files(bgm_dataset **out, bgm_vocab **vocab,
                                               const char *const *paths,
                                               const int32_t *labels, int64_t n,
                                               const bgm_text_dataset_options *opts);

/* ---- word2vec ----------------------------------------------------------- */

/** Word vectors trained or loaded. Immutable once made. Opaque. */
typedef struct bgm_word2vec bgm_word2vec;

/** Training architecture. Values are part of the ABI. */
typedef enum bgm_word2vec_arch {
    BGM_WORD2VEC_SKIPGRAM = 0, /**< predict the context words from a word */
    BGM_WORD2VEC_CBOW = 1      /**< predict a word from the mean of its context */
} bgm_word2vec_arch;

/**
 * Progress report, called on the training thread after each slice of about
 * a million words and after each epoch: epoch counts from 1, progress is
 * the fraction of all epochs done (0..1], words_per_sec the rate over the
 * last slice, alpha the current learning rate and loss the mean negative-
 * sampling loss per (word, context) pair over the last slice. Returning
 * nonzero stops training: bgm_word2vec_train then fails with BGM_E_CANCELLED.
 */
typedef int (*bgm_word2vec_progress_fn)(void *ctx, int epoch, double progress,
                                        double words_per_sec, float alpha, float loss);

/** Word2vec hyper-parameters; set up with bgm_word2vec_options_init (defaults shown). */
typedef struct bgm_word2vec_options {
    /** sizeof(bgm_word2vec_options) as the caller was compiled, set by
     *  bgm_word2vec_options_init_v2; the library reads only the fields it covers.
     *  struct_size is its former name, kept for older sources. */
    BGM_OPTIONS_SIZE_FIELD;
    bgm_word2vec_arch arch;   /**< (BGM_WORD2VEC_SKIPGRAM) */
    int64_t vector_size;      /**< dimension of the vectors (100) */
    int window;               /**< context words each side; each word draws its
                                   own window in 1..window, as word2vec does (5) */
    int64_t min_count;        /**< ignore words seen fewer times (5) */
    int64_t max_vocab;        /**< keep at most this many most frequent words, 0: all (0) */
    int negative;             /**< negative samples per positive pair, drawn from
                                   the unigram distribution to the power 0.75 (5) */
    double sample;            /**< sub-sampling threshold t: a word of corpus
                                   frequency f is kept with probability
                                   (sqrt(f/t) + 1) * t/f; 0 turns it off (1e-3) */
    int epochs;               /**< passes over the corpus (5) */
    float alpha;              /**< starting learning rate (0.025; CBOW often 0.05) */
    float min_alpha;          /**< learning rate reached at the end, falling
                                   linearly with the words processed (0.0001) */
    int threads;              /**< slices trained at once, 0: bgm_get_num_threads() (1) */
    uint64_t seed;            /**< initial vectors, windows, samples (1) */
    const bgm_text_clean_options *clean; /**< cleaning of the documents (NULL: defaults) */
    bgm_word2vec_progress_fn progress;   /**< optional progress report (NULL) */
    void *progress_ctx;       /**< passed to progress (NULL) */
} bgm_word2vec_options;

/**
 * Fills the first size bytes of opts (pass sizeof *opts) with the defaults
 * shown above and sets opts->size = size: fields appended to bgm_word2vec_options
 * in later releases keep their defaults for programs built against this
 * header (docs/abi.md). Errors: BGM_E_INVALID (NULL opts, size smaller than
 * the first version of the struct), BGM_E_UNSUPPORTED (size larger than this
 * library's struct: the program was built against a newer header).
 */
BGM_API bgm_status bgm_word2vec_options_init_v2(bgm_word2vec_options *opts, size_t size);

/** bgm_word2vec_options_init_v2(opts, size of the first version of the struct), for
 *  programs built before _v2; NULL is a no-op. New code: bgm_word2vec_options_init_v2. */
BGM_API void bgm_word2vec_options_init(bgm_word2vec_options *opts);

/**
 * Trains word vectors with negative sampling on ndocs documents (lens as
 * in bgm_vocab_build; context windows never cross a document's end), each
 * cleaned with opts->clean and split on whitespace. opts NULL: defaults.
 * Words are numbered most frequent first (ties: first appearance).
 * Determinism: with threads == 1 the same corpus, options and seed give the
 * same vectors bit for bit. With more threads the slices update shared
 * vectors without locks ("Hogwild", as the original word2vec tool), so
 * results vary slightly from run to run.
 * Errors: BGM_E_INVALID (NULL out, docs or a document; ndocs < 1; a corpus
 * without any word seen min_count times; vector_size, window, epochs or
 * min_count < 1; negative < 1; sample < 0; alpha <= 0; min_alpha < 0 or
 * > alpha; threads < 0; struct_size too small), BGM_E_CANCELLED (the
 * progress callback asked to stop), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_word2vec_train(bgm_word2vec **out, const char *const *docs,
                                      const int64_t *lens, int64_t ndocs,
                                      const bgm_word2vec_options *opts);

/** Frees a model. NULL is a no-op. */
BGM_API void bgm_word2vec_free(bgm_word2vec *m);

/** Number of words (0 for NULL). */
BGM_API int64_t bgm_word2vec_vocab_size(const bgm_word2vec *m);

/** Vector dimension (0 for NULL). */
BGM_API int64_t bgm_word2vec_dim(const bgm_word2vec *m);

/** Word number i, borrowed (valid while m lives); NULL when i is out of range. */
BGM_API const char *bgm_word2vec_word(const bgm_word2vec *m, int64_t i);

/** Number of word (NUL-terminated) in m, or -1 when absent (or NULL arguments). */
BGM_API int64_t bgm_word2vec_index(const bgm_word2vec *m, const char *word);

/**
 * New float32 tensor (dim,) holding word's vector.
 * Errors: BGM_E_INVALID (NULL), BGM_E_RANGE (word not in the vocabulary,
 * named), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_word2vec_vector(bgm_tensor **out, const bgm_word2vec *m,
                                       const char *word);

/**
 * The k words most similar to word by cosine similarity, best first (ties:
 * lower word number first), word itself left out. words[0..k) receive
 * borrowed pointers to m's words (valid while m lives), scores[0..k) (may
 * be NULL) their cosines, *found (may be NULL) how many were filled: fewer
 * than k when the vocabulary is small; the remaining entries get NULL and 0.
 * Errors: BGM_E_INVALID (NULL m, word or words; k < 1), BGM_E_RANGE (word
 * not in the vocabulary, named).
 */
BGM_API bgm_status bgm_word2vec_most_similar(const char **words, float *scores, int *found,
                                             const bgm_word2vec *m, const char *word, int k);

/**
 * New float32 tensor (ndocs, dim): row i is the mean of the vectors of the
 * words of document i that m knows (cleaned with clean, NULL: defaults),
 * or zeros when it has none.
 * Errors: BGM_E_INVALID (NULL out or m, NULL docs with ndocs > 0, a NULL
 * document, ndocs < 0), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_word2vec_document_vectors(bgm_tensor **out, const bgm_word2vec *m,
                                                 const char *const *docs,
                                                 const int64_t *lens, int64_t ndocs,
                                                 const bgm_text_clean_options *clean);

/**
 * New float32 tensor (bgm_vocab_size(v), dim) to initialize an Embedding
 * layer: row i holds the vector of v's token i, or zeros for the reserved
 * ids and tokens m does not know.
 * Errors: BGM_E_INVALID (NULL), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_word2vec_embedding_matrix(bgm_tensor **out, const bgm_word2vec *m,
                                                 const bgm_vocab *v);

/**
 * Writes m to path in the word2vec text format that the original tool and
 * gensim read: a line "<words> <dim>\n", then per word "word v1 v2 ... vdim\n"
 * with values printed with 9 significant digits (so they load back exactly),
 * in the C locale whatever the process locale. Written to a temporary file
 * and renamed over path.
 * Errors: BGM_E_INVALID (NULL), BGM_E_IO (naming the file and the reason).
 */
BGM_API bgm_status bgm_word2vec_save(const bgm_word2vec *m, const char *path);

/**
 * Loads vectors in the word2vec text format (as written by bgm_word2vec_save,
 * the original tool's -binary 0 or gensim's save_word2vec_format); words
 * are separated from values by spaces or tabs, a space before the line end
 * and CRLF line ends are accepted; words keep the file's order.
 * Errors: BGM_E_IO, BGM_E_FORMAT naming the file and line (bad header, a
 * line with the wrong number of values, a value that is not a finite
 * number, fewer lines than declared, a word twice), BGM_E_INVALID, BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_word2vec_load(bgm_word2vec **out, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* BIGMODEL_TEXT_H */
