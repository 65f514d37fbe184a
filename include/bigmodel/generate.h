/*
 * bigmodel/generate.h — text generation with a language model: sampling
 * from a prompt (greedy, temperature, top-k, top-p), stop tokens,
 * streaming, and incremental decoding with a key/value cache.
 *
 * Part of the libbigmodel public API; include <bigmodel.h> rather than this file.
 *
 * A language model here is a model with one int32 input of shape (T) —
 * token ids, T its context length — and an output of shape (T, vocab)
 * holding each position's next-token logits (a decoder-only Transformer,
 * an LSTM over an Embedding, ...). A model compiled with a cross-entropy
 * loss and from_logits 0 outputs probabilities; they are read as such.
 *
 *     bgm_generate_options go;
 *     bgm_tensor *text = NULL;
 *     bgm_generate_options_init(&go, sizeof go);
 *     go.max_new_tokens = 200;
 *     go.temperature = 0.8f;
 *     go.top_k = 40;
 *     s = bgm_model_generate(&text, m, prompt, prompt_len, &go);
 *
 * Incremental decoding: when every layer of the model can decode one
 * position at a time (Dense, Embedding, normalizations, merges, activations,
 * position embeddings, and MultiHeadAttention with a causal mask, which
 * keeps the keys and values of earlier positions), each new token costs one
 * position. A model holding a layer that cannot (LSTM, Flatten, Conv1D, ...)
 * re-runs its whole window for each token instead; both give the same
 * logits.
 *
 * The window: a model sees at most T positions. When the sequence outgrows
 * it, the decoder drops the oldest tokens so that the newest T - T/4 remain
 * and runs them again from position 0 (with or without the cache), so
 * generation may go on past T tokens; the prompt itself must fit in T.
 *
 * Threads: a decoder is used by one thread at a time. Several decoders may
 * run on one model at once, as long as nothing trains or changes the model
 * meanwhile.
 */
#ifndef BIGMODEL_GENERATE_H
#define BIGMODEL_GENERATE_H

#include "bigmodel/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Incremental decoding state of one sequence on a language model (opaque). */
typedef struct bgm_decoder bgm_decoder;

/**
 * New decoder of one sequence on m, empty. use_cache 1 keeps the layers'
 * keys and values between calls when m's layers allow it (see above), 0
 * always re-runs the window (a reference for the cached path). The decoder
 * borrows m: free it before m, and do not change m's layers or weights
 * while it holds positions (bgm_decoder_reset after training).
 * Errors: BGM_E_INVALID (NULL), BGM_E_STATE (m is not a language model as
 * described above, with its shapes in the message), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_decoder_create(bgm_decoder **out, bgm_model *m, int use_cache);

/** Frees d; NULL is ignored. */
BGM_API void bgm_decoder_free(bgm_decoder *d);

/** Forgets every position (the next append starts a new sequence). NULL is ignored. */
BGM_API void bgm_decoder_reset(bgm_decoder *d);

/** 1 when d keeps a cache (use_cache and the model allows it), 0 otherwise or for NULL. */
BGM_API int bgm_decoder_uses_cache(const bgm_decoder *d);

/** Tokens d's sequence holds (the prompt and everything appended), 0 for NULL. */
BGM_API int64_t bgm_decoder_length(const bgm_decoder *d);

/**
 * Appends tokens[0..n) to d's sequence and sets *logits to a new float32
 * tensor (n, vocab): the next-token logits after each appended token (the
 * caller frees it). n may exceed what the window holds only when d is
 * empty and n fits the context. Errors: BGM_E_INVALID (NULL, n < 1),
 * BGM_E_RANGE (a token outside [0, vocab)), BGM_E_SHAPE (n tokens do not
 * fit the context), BGM_E_NOMEM; on error d is unchanged.
 */
BGM_API bgm_status bgm_decoder_append(bgm_tensor **logits, bgm_decoder *d,
                                      const int32_t *tokens, int64_t n);

/**
 * Called with each generated token in order (index 0 is the first new
 * one). Return 0 to go on, nonzero to stop after this token (streaming
 * cancel: generation then ends normally with the tokens so far).
 */
typedef int (*bgm_token_fn)(int32_t token, int64_t index, void *user_data);

/**
 * Options of bgm_model_generate. Fill with bgm_generate_options_init(),
 * then change the fields you need. Later versions only append fields; size
 * tells the library which the caller knows.
 */
typedef struct bgm_generate_options {
    /** sizeof(bgm_generate_options), set by init. */
    size_t size;
    /** Most tokens to generate (64); 0 generates none. */
    int64_t max_new_tokens;
    /** Divides the logits before sampling (1.0); 0 picks the most likely
     *  token every time (greedy decoding, no randomness). */
    float temperature;
    /** Samples among the k most likely tokens only; 0 (default) for all. */
    int64_t top_k;
    /** Nucleus sampling: samples among the fewest most likely tokens whose
     *  probabilities sum to at least top_p, in (0, 1]; 1 (default) for all. */
    float top_p;
    /** Seed of the sampling draws (0): the same seed, model and options
     *  give the same tokens on every platform with the same build. */
    uint64_t seed;
    /** Tokens that end generation (num_stop_tokens of them, or NULL): a
     *  generated stop token is the last one returned. */
    const int32_t *stop_tokens;
    int num_stop_tokens;
    /** Streaming: called with each new token (NULL: none). */
    bgm_token_fn on_token;
    void *user_data;
    /** 1 (default): decode with the key/value cache when the model allows
     *  it; 0: re-run the window for each token. */
    int use_cache;
} bgm_generate_options;

/** Sets *opts to the defaults; size is sizeof(bgm_generate_options). Errors: BGM_E_INVALID. */
BGM_API bgm_status bgm_generate_options_init(bgm_generate_options *opts, size_t size);

/**
 * Generates up to opts->max_new_tokens tokens after prompt[0..prompt_len)
 * with language model m (see above; opts NULL: the defaults). *out receives
 * a new int32 tensor (count) of the generated tokens only, the caller
 * frees it; generation ends early at a stop token or when on_token returns
 * nonzero. Errors: BGM_E_INVALID (NULL, empty prompt, temperature < 0 or
 * not finite, top_k < 0, top_p outside (0, 1], max_new_tokens < 0, a
 * negative num_stop_tokens or stop_tokens NULL with a count), BGM_E_RANGE
 * (a prompt or stop token outside [0, vocab)), BGM_E_SHAPE (the prompt is
 * longer than the context), BGM_E_STATE (m is not a language model),
 * BGM_E_NOMEM. Nothing is left allocated on error.
 */
BGM_API bgm_status bgm_model_generate(bgm_tensor **out, bgm_model *m, const int32_t *prompt,
                                      int64_t prompt_len, const bgm_generate_options *opts);

#ifdef __cplusplus
}
#endif

#endif
