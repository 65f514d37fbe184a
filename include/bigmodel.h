/*
 * bigmodel.h — the public API of libbigmodel, an embeddable deep-learning library.
 *
 * Rules that hold for every function (stated once here):
 *
 * Naming   Functions are bgm_<object>_<verb>; macros and enum constants BGM_*.
 * Handles  Every object (tensor, tape, rng, ...) is an opaque pointer. No
 *          struct layout is public; read fields through accessors.
 * Status   Fallible functions return bgm_status: BGM_OK (0) or a negative
 *          error. Results come back through out-parameters placed first.
 *          After an error, bgm_last_error() tells what was wrong on this
 *          thread, and out-parameters are set to NULL/0.
 * Never    The library never aborts, exits, asserts on input or prints on its
 *          own; output goes through callbacks the caller may replace.
 * Ownership  *_create / *_load / *_clone and tensor creators hand the caller a
 *          new object, freed with the matching *_free, which accepts NULL.
 *          A pointer returned directly (accessors, bgm_last_error) is
 *          borrowed and lives as long as its parent. Input buffers are
 *          borrowed for the call unless the function's comment says otherwise.
 * Threads  One handle is used by one thread at a time; distinct handles are
 *          independent. The only process-wide state is the per-thread error
 *          message and the thread-count setting (bgm_set_num_threads).
 * Layout   float32 for compute, int32 for labels and ids, row-major, images
 *          NHWC (channels last), as NumPy and Keras.
 * ABI      See docs/abi.md: within one major version, functions are only
 *          added, never changed or removed, and enum values never change.
 */
#ifndef BIGMODEL_H
#define BIGMODEL_H

#include "bigmodel/core.h"
#include "bigmodel/tensor.h"
#include "bigmodel/autograd.h"
#include "bigmodel/metrics.h"
#include "bigmodel/optim.h"
#include "bigmodel/nn_ops.h"
#include "bigmodel/rnn_ops.h"
#include "bigmodel/data.h"
#include "bigmodel/preprocess.h"
#include "bigmodel/text.h"
#include "bigmodel/io.h"
#include "bigmodel/model.h"
#include "bigmodel/graph.h"
#include "bigmodel/generate.h"
#include "bigmodel/preproc_layers.h"
#include "bigmodel/custom_layer.h"
#include "bigmodel/distributed.h"

#endif /* BIGMODEL_H */
