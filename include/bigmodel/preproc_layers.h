/*
 * bigmodel/preproc_layers.h — preprocessing inside the model, saved with it
 * (Keras' Rescaling, Normalization, TextVectorization), and the entry
 * points that feed raw UTF-8 strings to a model that starts with
 * TextVectorization.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * Strings never enter the tape: a text model's input is the vectorized
 * text (int32 token ids (output_sequence_length,) in "int" mode, float32
 * (vocabulary size,) otherwise), which the *_strings functions make from
 * the strings with the model's own TextVectorization layer before running
 * the graph. The vocabulary is part of the layer's configuration and the
 * tf_idf weights are a non-trainable weight, so one model file holds the
 * whole pipeline:
 *
 *     bgm_layer *tv = bgm_layer_text_vectorization(1000, BGM_TEXT_OUTPUT_INT, 20);
 *     s = bgm_layer_text_vectorization_adapt(tv, texts, ntexts);
 *     s = bgm_model_create(&m, (int64_t[]){1}, 1, 42);   (one string per sample)
 *     s = bgm_model_add(m, tv);       (as the first layer it sets the model's
 *                                       input, whatever it was: int32 (20,) here)
 *     s = bgm_model_add(m, bgm_layer_embedding(1000, 16)); ...
 *     s = bgm_model_fit_strings(&h, m, texts, ntexts, labels, &opts);
 *     s = bgm_model_predict_strings(&probs, m, new_texts, n, 0);
 */
#ifndef BIGMODEL_PREPROC_LAYERS_H
#define BIGMODEL_PREPROC_LAYERS_H

#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Rescaling, Normalization ------------------------------------------- */

/**
 * Keras' Rescaling: y = x * scale + offset, elementwise, any float32 input
 * shape, no weights. scale and offset finite.
 * Returns NULL (error set) for a bad value or out of memory.
 */
BGM_API bgm_layer *bgm_layer_rescaling(float scale, float offset);

/**
 * Keras' Normalization over the last axis (axis = -1): y = (x - mean) /
 * max(sqrt(variance), 1e-7) per feature, as Keras 3 computes it (1e-7 is
 * Keras' backend epsilon). mean and variance are non-trainable weights
 * "mean" and "variance" (features,) saved in the model file; before adapt
 * or bgm_layer_normalization_set_stats they are 0 and 1. invert 1 gives
 * Keras' invert=True: y = mean + x * max(sqrt(variance), 1e-7).
 * Returns NULL (error set) when out of memory or invert is not 0 or 1.
 */
BGM_API bgm_layer *bgm_layer_normalization(int invert);

/**
 * Keras' Normalization.adapt: the mean and (population) variance of each
 * feature (last axis) of data, a float32 tensor of at least 1 dimension
 * whose other axes are all samples (a 1-D tensor is one sample), computed
 * in double. On a layer not yet
 * in a model the statistics become its initial weights; on a layer of a
 * model they overwrite the model's "mean" and "variance" weights.
 * Errors: BGM_E_INVALID (NULL, not a Normalization layer, no samples, a
 * NaN or infinity in data), BGM_E_DTYPE (int32 data), BGM_E_SHAPE (the
 * feature count differs from the layer's, once built), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_normalization_adapt(bgm_layer *layer, const bgm_tensor *data);

/**
 * Keras' Normalization(mean=..., variance=...): mean[0..n) and
 * variance[0..n) (n features, or n = 1 for one value broadcast to every
 * feature) are copied; the layer must not be built yet. A broadcast value
 * takes the feature count when the layer is built.
 * Errors: BGM_E_INVALID (NULL, n < 1, a negative or non-finite value, not
 * a Normalization layer), BGM_E_STATE (built), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_normalization_set_stats(bgm_layer *layer, const float *mean,
                                                     const float *variance, int64_t n);

/* ---- TextVectorization --------------------------------------------------- */

/** TextVectorization's output_mode. Values are part of the ABI. */
typedef enum bgm_text_output_mode {
    BGM_TEXT_OUTPUT_INT = 0,       /* token ids, 0 padding, 1 [UNK] */
    BGM_TEXT_OUTPUT_MULTI_HOT = 1, /* 1 where the token occurs; index 0 is [UNK] */
    BGM_TEXT_OUTPUT_COUNT = 2,     /* occurrences of each token; index 0 is [UNK] */
    BGM_TEXT_OUTPUT_TF_IDF = 3     /* count * idf weight */
} bgm_text_output_mode;

/** TextVectorization's standardize. Values are part of the ABI. */
typedef enum bgm_text_standardize {
    BGM_TEXT_LOWER_AND_STRIP_PUNCTUATION = 0, /* Keras' default */
    BGM_TEXT_LOWER = 1,
    BGM_TEXT_STRIP_PUNCTUATION = 2,
    BGM_TEXT_STANDARDIZE_NONE = 3             /* Keras' None */
} bgm_text_standardize;

/** TextVectorization's split. Values are part of the ABI. */
typedef enum bgm_text_split {
    BGM_TEXT_SPLIT_WHITESPACE = 0, /* Keras' default */
    BGM_TEXT_SPLIT_CHARACTER = 1,  /* each UTF-8 character a token */
    BGM_TEXT_SPLIT_NONE = 2        /* the whole standardized string is one token */
} bgm_text_split;

/**
 * Keras' TextVectorization(max_tokens, output_mode, output_sequence_length)
 * with standardize "lower_and_strip_punctuation" and split "whitespace"
 * (change them with bgm_layer_set_standardize / bgm_layer_set_split).
 * max_tokens 0 means None (no limit); otherwise it counts the reserved
 * ids too (padding and [UNK] in "int" mode, [UNK] in the others) and is at
 * least 3 ("int") or 2. output_sequence_length 0 means None; "int" mode
 * needs it (>= 1) before the layer is built, since a model's input has a
 * fixed shape, and the other modes refuse it, as Keras does. Standardizing
 * lowercases ASCII and Latin-1 letters (A-Z, U+00C0..U+00DE but U+00D7) and
 * removes the ASCII punctuation of Keras' regex (!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~);
 * splitting on whitespace uses ASCII whitespace.
 * Returns NULL (error set) for a bad value or out of memory.
 */
BGM_API bgm_layer *bgm_layer_text_vectorization(int64_t max_tokens,
                                                bgm_text_output_mode output_mode,
                                                int64_t output_sequence_length);

/** TextVectorization's standardize (before the layer is built). Errors as the setters. */
BGM_API bgm_status bgm_layer_set_standardize(bgm_layer *layer, bgm_text_standardize standardize);

/** TextVectorization's split (before the layer is built). Errors as the setters. */
BGM_API bgm_status bgm_layer_set_split(bgm_layer *layer, bgm_text_split split);

/**
 * Keras' TextVectorization.adapt: the vocabulary of texts[0..n) (UTF-8,
 * NUL-terminated), standardized and split as the layer says: tokens by
 * count, most frequent first, ties broken by the tokens' bytes in reverse
 * order (Keras' sort), cut to max_tokens minus the reserved ids. In
 * "tf_idf" mode also the idf weights log(1 + n / (1 + df)) (df: the texts
 * holding the token), [UNK]'s being their mean. Tokens holding a newline
 * (possible with split "character" or "none") are left out: vocabulary
 * entries are lines. The layer must not be built yet (a model's input
 * shape depends on the vocabulary).
 * Errors: BGM_E_INVALID (NULL, n < 1, a NULL text, no token in any text,
 * not a TextVectorization layer), BGM_E_STATE (built), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_text_vectorization_adapt(bgm_layer *layer,
                                                      const char *const *texts, int64_t n);

/**
 * Keras' vocabulary= / set_vocabulary: tokens[0..n) (without the reserved
 * "" and "[UNK]"; each non-empty, without a newline, no token twice), and
 * in "tf_idf" mode idf[0..n + 1) ([UNK]'s first; NULL elsewhere). Copied.
 * Errors: BGM_E_INVALID (NULL, n < 1, a bad token naming it, more tokens
 * than max_tokens allows, idf missing or given where it does not belong),
 * BGM_E_STATE (built), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_set_vocabulary(bgm_layer *layer, const char *const *tokens,
                                            int64_t n, const float *idf);

/**
 * Number of entries of Keras' get_vocabulary() (the reserved ones included;
 * 0 before adapt or for another kind).
 */
BGM_API int64_t bgm_layer_vocabulary_size(const bgm_layer *layer);

/**
 * Entry i of Keras' get_vocabulary(): "" and "[UNK]" first in "int" mode,
 * "[UNK]" first in the others. Borrowed (valid until the layer changes or
 * is freed; *len receives its length when len is not NULL); NULL when out
 * of range.
 */
BGM_API const char *bgm_layer_vocabulary_token(const bgm_layer *layer, int64_t i,
                                               int64_t *len);

/**
 * Calls a TextVectorization layer on texts[0..n) as Keras does: *out is a
 * new int32 tensor (n, output_sequence_length) of token ids (padded with 0
 * and cut at the end) in "int" mode, else float32 (n, vocabulary size).
 * In "tf_idf" mode the counts are multiplied by the idf weights (the
 * model's, once the layer is in a model). Thread-safe on a built layer.
 * Errors: BGM_E_INVALID (NULL, n < 1, a NULL text), BGM_E_STATE (no
 * vocabulary, or "int" mode without output_sequence_length), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_text_vectorize(bgm_tensor **out, const bgm_layer *layer,
                                            const char *const *texts, int64_t n);

/* ---- models on raw strings ------------------------------------------------ */

/**
 * The input tensor of m for texts[0..n): m has one input, fed to a
 * TextVectorization layer (a Sequential model's first layer), which
 * vectorizes the texts as the model's graph expects them (tf_idf: the
 * counts; the graph applies the idf weights). *out is new.
 * Errors: BGM_E_INVALID (NULL, n < 1, a NULL text), BGM_E_UNSUPPORTED (m's
 * input does not go to a TextVectorization layer), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_model_vectorize_strings(bgm_tensor **out, const bgm_model *m,
                                               const char *const *texts, int64_t n);

/** bgm_model_predict on the texts (see bgm_model_vectorize_strings). */
BGM_API bgm_status bgm_model_predict_strings(bgm_tensor **out, const bgm_model *m,
                                             const char *const *texts, int64_t n,
                                             int64_t batch_size);

/** bgm_model_evaluate on the texts and targets y (y's samples: n). */
BGM_API bgm_status bgm_model_evaluate_strings(double *results, int nresults,
                                              const bgm_model *m, const char *const *texts,
                                              int64_t n, const bgm_tensor *y,
                                              int64_t batch_size);

/**
 * bgm_model_fit on the texts and targets y. Validation data in opts are
 * tensors: vectorize validation texts with bgm_model_vectorize_strings.
 */
BGM_API bgm_status bgm_model_fit_strings(bgm_history **history, bgm_model *m,
                                         const char *const *texts, int64_t n,
                                         const bgm_tensor *y, const bgm_fit_options *opts);

#ifdef __cplusplus
}
#endif

#endif
