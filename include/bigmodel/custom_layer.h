/*
 * Layer kinds defined at run time (Keras' Layer subclassing, in C).
 *
 * A program describes a kind with a bgm_layer_kind_def (build: input shapes to
 * output shape and weights; forward: the output from public ops recorded on
 * the tape, so backward comes for free) and registers it by name. Layers of
 * the kind are made with bgm_layer_create(&l, "Name") and then behave as any
 * other layer: bgm_layer_call in graph models, Sequential models, fit,
 * evaluate, predict, summaries, model files.
 *
 *     static bgm_status scale_build(bgm_layer *l, const int64_t *const *in,
 *                                   const int *ndim, int nin, int64_t *out,
 *                                   int *out_ndim, void *user)
 *     {
 *         memcpy(out, in[0], (size_t)ndim[0] * sizeof *out);
 *         *out_ndim = ndim[0];
 *         return bgm_layer_add_weight(l, "alpha", (int64_t[]){1}, 1, BGM_INIT_ONES, 1);
 *     }
 *     static bgm_status scale_forward(bgm_tensor **y, bgm_tape *tape,
 *                                     const bgm_layer *l, bgm_tensor *const *w, int nw,
 *                                     const bgm_tensor *const *x, int nx, int training,
 *                                     void *user)
 *     {
 *         return bgm_op_mul(y, tape, x[0], w[0]);
 *     }
 *     bgm_layer_kind_def k;
 *     bgm_layer_kind_init(&k, sizeof k);
 *     k.name = "Scale";
 *     k.build = scale_build;
 *     k.forward = scale_forward;
 *     bgm_layer_kind_register(&k);
 *
 * A model file stores a custom layer by its kind name and its config
 * entries (bgm_layer_set_config_*), never code: loading it needs the kind
 * registered again, and fails naming the kind otherwise.
 *
 * Threads: the registry of kinds is process-wide and guarded by a mutex
 * (the one global state besides the error slot and the thread count; see
 * docs/design.md). Registering and unregistering may happen on any thread.
 * The callbacks of a kind may run on several threads at once when several
 * models (or several bgm_model_predict calls) run at once.
 */
#ifndef BIGMODEL_CUSTOM_LAYER_H
#define BIGMODEL_CUSTOM_LAYER_H

#include "bigmodel/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Infers the shape of one output sample: in[i][0..ndim[i]) is input i's
 * sample shape (no batch axis), for i < nin; the callback writes the output
 * sample shape to out[0..*out_ndim) (room for BGM_MAX_DIMS - 1 entries) and
 * declares the layer's weights with bgm_layer_add_weight. It may run more
 * than once for a layer (each call, each load), and must declare the same
 * weights each time. Return BGM_OK, or an error status after setting a
 * message with bgm_layer_kind_fail.
 */
typedef bgm_status (*bgm_layer_build_fn)(bgm_layer *layer, const int64_t *const *in,
                                         const int *ndim, int nin, int64_t *out,
                                         int *out_ndim, void *user_data);

/*
 * The output *y of layer on inputs x[0..nx) (batched float32 tensors) with
 * the layer's weights w[0..nw) (in the order build declared them), made by
 * ops (include/bigmodel/autograd.h, nn_ops.h) recorded on tape: *y must be
 * owned by tape (or be one of x, w). training is 1 in fit and in a
 * training-mode forward. The library checks *y's shape against build's
 * (batch, out...) and fails naming the layer and both shapes otherwise.
 */
typedef bgm_status (*bgm_layer_forward_fn)(bgm_tensor **y, bgm_tape *tape,
                                           const bgm_layer *layer, bgm_tensor *const *w,
                                           int nw, const bgm_tensor *const *x, int nx,
                                           int training, void *user_data);

/* A layer kind. Fill it after bgm_layer_kind_init; later versions append fields. */
typedef struct bgm_layer_kind_def {
    size_t size;               /* sizeof(bgm_layer_kind_def), set by bgm_layer_kind_init */
    const char *name;          /* the kind's name (Keras' class name, "Scale"), also
                                  its name in model files: 1 to 63 bytes of
                                  [A-Za-z0-9_.>-], not a built-in kind's */
    const char *prefix;        /* automatic layer names ("scale_1"); NULL: the name in
                                  snake case, as Keras */
    int min_inputs, max_inputs; /* inputs per call (default 1 and 1; max -1: no limit) */
    bgm_layer_build_fn build;  /* required */
    bgm_layer_forward_fn forward; /* required */
    /* Optional: called on every layer bgm_layer_create makes (not on loaded
     * ones, which get their config from the file), e.g. to set defaults. */
    bgm_status (*init)(bgm_layer *layer, void *user_data);
    /* Optional: called when a layer of the kind that holds a pointer of
     * bgm_layer_set_user_data is freed, with that pointer (bindings drop
     * their object there). */
    void (*release)(void *layer_data, void *user_data);
    void *user_data;           /* passed to every callback */
    /* Optional: frees user_data when the kind goes (after unregistering, once
     * the last layer of the kind is freed). */
    void (*free_user_data)(void *user_data);
} bgm_layer_kind_def;

/** Sets *kind to its defaults (size, 1 input, no callbacks). Errors: BGM_E_INVALID
 * (NULL kind, or size smaller than the first version of the struct). */
BGM_API bgm_status bgm_layer_kind_init(bgm_layer_kind_def *kind, size_t size);

/**
 * Registers a kind process-wide (the strings are copied). Errors:
 * BGM_E_INVALID (NULL kind or callback, bad name, input counts), BGM_E_STATE
 * (a kind of that name is registered, or it is a built-in kind's), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_kind_register(const bgm_layer_kind_def *kind);

/**
 * Removes a registered kind: bgm_layer_create and loading no longer find
 * it; layers of it that exist keep working, and the kind's user_data is
 * freed with the last of them. Errors: BGM_E_INVALID (NULL name, or no kind
 * of that name is registered).
 */
BGM_API bgm_status bgm_layer_kind_unregister(const char *name);

/** 1 when a kind named name is registered at run time, 0 otherwise (built-ins included). */
BGM_API int bgm_layer_kind_registered(const char *name);

/**
 * New layer of the registered kind named kind, freed with bgm_layer_free
 * (or owned by the model or graph it joins). Runs the kind's init.
 * Errors: BGM_E_INVALID (NULL argument; no kind of that name: the message
 * names it, and for a built-in kind its constructor), BGM_E_NOMEM, and what
 * init returns.
 */
BGM_API bgm_status bgm_layer_create(bgm_layer **out, const char *kind);

/**
 * Inside a build callback only: declares a weight of layer, named
 * "<layer name>/<name>" in the model (name: 1 to 63 bytes of [A-Za-z0-9_.-],
 * unique in the layer), of shape[0..ndim), initialized by init with Keras'
 * fans (shape[-2], shape[-1] times the receptive field), trainable or not.
 * Errors: BGM_E_INVALID (bad arguments, duplicate name), BGM_E_STATE (not
 * in a build callback), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_add_weight(bgm_layer *layer, const char *name,
                                        const int64_t *shape, int ndim,
                                        bgm_initializer init, int trainable);

/**
 * Config entries of a custom layer (Keras' get_config), saved in model files
 * and shown by bgm_layer_config_string: key is 1 to 63 bytes of
 * [A-Za-z0-9_.-] and not "name" or "trainable"; setting a key again
 * replaces its value (and type). A string value is UTF-8, at most 4095
 * bytes, copied. Set them before the layer is called or added to a model.
 * Errors: BGM_E_INVALID (NULL or bad key/value; not a custom layer),
 * BGM_E_STATE (the layer is built), BGM_E_NOMEM.
 */
BGM_API bgm_status bgm_layer_set_config_int(bgm_layer *layer, const char *key, int64_t value);
BGM_API bgm_status bgm_layer_set_config_float(bgm_layer *layer, const char *key,
                                              double value);
BGM_API bgm_status bgm_layer_set_config_string(bgm_layer *layer, const char *key,
                                               const char *value);

/**
 * Reads a config entry of a custom layer (from a callback, or after load).
 * The string is borrowed from the layer. Errors: BGM_E_INVALID (NULL
 * argument, not a custom layer, no such key: the message names it),
 * BGM_E_DTYPE (the entry has another type).
 */
BGM_API bgm_status bgm_layer_get_config_int(int64_t *out, const bgm_layer *layer,
                                            const char *key);
BGM_API bgm_status bgm_layer_get_config_float(double *out, const bgm_layer *layer,
                                              const char *key);
BGM_API bgm_status bgm_layer_get_config_string(const char **out, const bgm_layer *layer,
                                               const char *key);

/**
 * A pointer the caller attaches to a custom layer (bindings keep their
 * object there); never saved, never freed by the library. The scratch
 * copies a build may run on share it. Errors: BGM_E_INVALID (NULL or not a
 * custom layer).
 */
BGM_API bgm_status bgm_layer_set_user_data(bgm_layer *layer, void *data);

/** The pointer bgm_layer_set_user_data attached, or NULL (none, NULL or not custom). */
BGM_API void *bgm_layer_user_data(const bgm_layer *layer);

/**
 * For callbacks: fails with status (BGM_E_INTERNAL when it is not negative) and "layer '<name>' (<Kind>): <message>"
 * as the built-in kinds' messages read, and returns status.
 */
BGM_API bgm_status bgm_layer_kind_fail(const bgm_layer *layer, bgm_status status,
                                       const char *message);

#ifdef __cplusplus
}
#endif

#endif
