"""Finding, loading and checking libbigmodel, and the table of C signatures.

Search order (the first library that loads and has a compatible ABI wins):

1. ``$BIGMODEL_LIBRARY`` when set: the path of the library to use. It is the
   only candidate then, so a wrong override fails loudly instead of silently
   picking another library.
2. Next to the package: ``libbigmodel.so.<ABI_MAJOR>`` in the folder of this
   package (a copy shipped inside it).
3. The in-tree build, only when the package is imported from a source tree:
   ``../../build/libbigmodel.so`` relative to ``bindings/python``.
4. The LIBDIR that ``make install`` put the library in, when the package was
   installed by it (it writes that folder into ``_libdir.py``).
5. The system: ``ctypes.util.find_library("bigmodel")``, then the soname
   ``libbigmodel.so.<ABI_MAJOR>`` through the dynamic loader's own search
   (``LD_LIBRARY_PATH``, ``/etc/ld.so.cache``, the default folders).

A library fits when ``bgm_version_number()`` has major version ABI_MAJOR and
minor version ABI_MINOR or more, and it exports every required symbol. When
none fits, importing ``bigmodel`` raises ImportError naming every path tried
and why each was rejected.
"""
import atexit
import ctypes
import ctypes.util
import os
import threading

from . import errors

ABI_MAJOR = 0        # the library's major version this package speaks
ABI_MINOR = 2        # the oldest minor version that has every required symbol

ENV_VAR = "BIGMODEL_LIBRARY"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_SOURCE_ROOT = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "..", ".."))
# The in-tree build is a candidate only where the package sits in a source
# tree: an installed package has no build folder three levels up.
IN_TREE = (os.path.join(_SOURCE_ROOT, "build", "libbigmodel.so")
           if os.path.isfile(os.path.join(_SOURCE_ROOT, "include", "bigmodel.h")) else None)
try:
    from ._libdir import LIBDIR as INSTALL_LIBDIR  # written by `make install`
except ImportError:
    INSTALL_LIBDIR = None

# ---- C types ---------------------------------------------------------------

c_int, c_int64, c_uint64, c_float, c_double = (ctypes.c_int, ctypes.c_int64,
                                               ctypes.c_uint64, ctypes.c_float,
                                               ctypes.c_double)
c_size_t, c_char_p, c_void_p = ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p
H = c_void_p                          # any opaque handle
PH = ctypes.POINTER(c_void_p)         # handle out-parameter, or array of handles
I64P = ctypes.POINTER(c_int64)
IP = ctypes.POINTER(c_int)
DP = ctypes.POINTER(c_double)
FP = ctypes.POINTER(c_float)
SZP = ctypes.POINTER(c_size_t)
STATUS = "status"                     # restype marker: c_int checked by raise_for_status

DELETER = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)
LR_FN = ctypes.CFUNCTYPE(c_float, c_int64, c_float, c_void_p)
CV_FN = ctypes.CFUNCTYPE(c_int, DP, c_void_p, c_void_p, c_int, c_void_p)


class MetricOptions(ctypes.Structure):
    """struct bgm_metric_options (include/bigmodel/metrics.h)."""
    _fields_ = [("size", c_size_t), ("num_classes", c_int), ("k", c_int),
                ("average", c_int), ("pos_label", c_int), ("threshold", c_float),
                ("zero_division", c_double), ("num_labels", c_int)]


class ReportOptions(ctypes.Structure):
    """struct bgm_report_options (include/bigmodel/metrics.h)."""
    _fields_ = [("size", c_size_t), ("digits", c_int), ("zero_division", c_double),
                ("class_names", ctypes.POINTER(c_char_p)), ("num_labels", c_int)]


# model.h callbacks: text output, training events, per-epoch learning rates.
WRITE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_char_p)
CALLBACK_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_int, c_int, c_int64, c_void_p)
EPOCH_LR_FN = ctypes.CFUNCTYPE(c_float, c_int, c_float, c_void_p)
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class FitOptions(ctypes.Structure):
    """struct bgm_fit_options (include/bigmodel/model.h)."""
    _fields_ = [("size", c_size_t), ("epochs", c_int), ("batch_size", c_int64),
                ("shuffle", c_int), ("validation_split", c_double),
                ("validation_x", c_void_p), ("validation_y", c_void_p),
                ("initial_epoch", c_int), ("verbose", c_int), ("output", WRITE_FN),
                ("output_ctx", c_void_p), ("callbacks", PH), ("num_callbacks", c_int),
                ("cancel", IP),
                # appended in the 0.1 series: validation data of several tensors
                ("validation_xs", PH), ("num_validation_xs", c_int),
                ("validation_ys", PH), ("num_validation_ys", c_int),
                # appended for Keras' sample_weight / class_weight
                ("sample_weight", c_void_p), ("class_weight", FP),
                ("num_class_weights", c_int), ("validation_sample_weight", c_void_p),
                # appended for gradient accumulation
                ("gradient_accumulation_steps", c_int),
                # appended for the gradient buckets of data-parallel fit
                ("allreduce_bucket_bytes", c_int64)]


class CompileOptions(ctypes.Structure):
    """struct bgm_compile_options (include/bigmodel/model.h)."""
    _fields_ = [("size", c_size_t), ("loss", c_int), ("from_logits", c_int),
                ("metrics", IP), ("num_metrics", c_int), ("num_outputs", c_int),
                ("output_losses", IP), ("output_from_logits", IP), ("loss_weights", FP),
                ("output_metrics", ctypes.POINTER(IP)), ("output_num_metrics", IP)]


# custom losses (model.h's bgm_loss_fn): out, tape, y_true, y_pred, ctx
LOSS_FN = ctypes.CFUNCTYPE(c_int, PH, c_void_p, c_void_p, c_void_p, c_void_p)


# generate.h
TOKEN_FN = ctypes.CFUNCTYPE(c_int, ctypes.c_int32, c_int64, c_void_p)


class GenerateOptions(ctypes.Structure):
    """struct bgm_generate_options (include/bigmodel/generate.h)."""
    _fields_ = [("size", c_size_t), ("max_new_tokens", c_int64), ("temperature", c_float),
                ("top_k", c_int64), ("top_p", c_float), ("seed", ctypes.c_uint64),
                ("stop_tokens", ctypes.POINTER(ctypes.c_int32)), ("num_stop_tokens", c_int),
                ("on_token", TOKEN_FN), ("user_data", c_void_p), ("use_cache", c_int)]


class TextCleanOptions(ctypes.Structure):
    """struct bgm_text_clean_options (include/bigmodel/text.h)."""
    _fields_ = [("struct_size", c_size_t), ("lowercase", c_int), ("strip_punctuation", c_int),
                ("strip_digits", c_int), ("collapse_whitespace", c_int),
                ("strip_headers", c_int)]


class VocabOptions(ctypes.Structure):
    """struct bgm_vocab_options (include/bigmodel/text.h)."""
    _fields_ = [("struct_size", c_size_t), ("min_count", c_int64), ("max_size", c_int64),
                ("clean", ctypes.POINTER(TextCleanOptions))]


class TextDatasetOptions(ctypes.Structure):
    """struct bgm_text_dataset_options (include/bigmodel/text.h)."""
    _fields_ = [("struct_size", c_size_t), ("clean", ctypes.POINTER(TextCleanOptions)),
                ("vocab", c_void_p), ("min_count", c_int64), ("max_size", c_int64),
                ("sequence_length", c_int64), ("padding", c_int), ("truncating", c_int)]


W2V_PROGRESS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_double, c_double, c_float,
                                   c_float)


class Word2VecOptions(ctypes.Structure):
    """struct bgm_word2vec_options (include/bigmodel/text.h)."""
    _fields_ = [("struct_size", c_size_t), ("arch", c_int), ("vector_size", c_int64),
                ("window", c_int), ("min_count", c_int64), ("max_vocab", c_int64),
                ("negative", c_int), ("sample", c_double), ("epochs", c_int),
                ("alpha", c_float), ("min_alpha", c_float), ("threads", c_int),
                ("seed", c_uint64), ("clean", ctypes.POINTER(TextCleanOptions)),
                ("progress", W2V_PROGRESS_FN), ("progress_ctx", c_void_p)]


# streaming (#14 item 4): struct bgm_stream_tensor / bgm_stream_spec and the
# callbacks of include/bigmodel/data.h.
class StreamTensor(ctypes.Structure):
    _fields_ = [("dtype", c_int), ("ndim", c_int), ("shape", c_int64 * 8)]


STREAM_FILL_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_int64, PH, PH, I64P, c_void_p, c_size_t)
STREAM_RESET_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)


class StreamSpec(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("num_x", c_int), ("x", ctypes.POINTER(StreamTensor)),
                ("num_y", c_int), ("y", ctypes.POINTER(StreamTensor)),
                ("batch_size", c_int64), ("batches_per_epoch", c_int64),
                ("prefetch", c_int), ("fill", STREAM_FILL_FN), ("reset", STREAM_RESET_FN),
                ("ctx", c_void_p),
                # streamweights: the batches' sample weights (appended field)
                ("sample_weight", ctypes.POINTER(StreamTensor))]


class CsvOptions(ctypes.Structure):
    """struct bgm_csv_options (include/bigmodel/data.h)."""
    _fields_ = [("struct_size", c_size_t), ("skip_lines", c_int), ("has_header", c_int),
                ("label_name", c_char_p), ("label_column", c_int), ("no_label", c_int),
                ("label_dtype", c_int), ("delimiter", ctypes.c_char)]


# ---- the signature table ---------------------------------------------------
# name: (restype, [argtypes]). REQUIRED functions are in every library of
# ABI_MAJOR.ABI_MINOR or newer; OPTIONAL ones (headers not yet released) may
# be missing, and calling one then raises UnsupportedError instead of failing
# the import.

_UNARY = (STATUS, [PH, H, H])
_BINARY = (STATUS, [PH, H, H, H])
_AXIS = (STATUS, [PH, H, H, c_int, c_int])
_POOL = (STATUS, [PH, H, H, c_int, c_int, c_int, c_int, c_int])
_LOSS = (STATUS, [PH, H, H, H, c_int])

REQUIRED = {
    # core.h
    "bgm_version_number": (c_int, []),
    "bgm_version_string": (c_char_p, []),
    "bgm_last_error": (c_char_p, []),
    "bgm_clear_error": (None, []),
    "bgm_status_string": (c_char_p, [c_int]),
    "bgm_set_num_threads": (STATUS, [c_int]),
    "bgm_get_num_threads": (c_int, []),
    "bgm_kernel_isa": (c_char_p, []),
    # tensor.h
    "bgm_tensor_zeros": (STATUS, [PH, c_int, I64P, c_int]),
    "bgm_tensor_ones": (STATUS, [PH, c_int, I64P, c_int]),
    "bgm_tensor_full": (STATUS, [PH, c_int, I64P, c_int, c_double]),
    "bgm_tensor_from_data": (STATUS, [PH, c_int, I64P, c_int, c_void_p]),
    "bgm_tensor_wrap": (STATUS, [PH, c_int, I64P, c_int, c_void_p, DELETER, c_void_p]),
    "bgm_tensor_randn": (STATUS, [PH, H, I64P, c_int, c_float, c_float]),
    "bgm_tensor_rand_uniform": (STATUS, [PH, H, I64P, c_int, c_float, c_float]),
    "bgm_tensor_clone": (STATUS, [PH, H]),
    "bgm_tensor_reshape": (STATUS, [PH, H, I64P, c_int]),
    "bgm_tensor_slice": (STATUS, [PH, H, c_int64, c_int64]),
    "bgm_tensor_free": (None, [H]),
    "bgm_tensor_ndim": (c_int, [H]),
    "bgm_tensor_shape": (I64P, [H]),
    "bgm_tensor_dtype": (c_int, [H]),
    "bgm_tensor_numel": (c_int64, [H]),
    "bgm_tensor_nbytes": (c_size_t, [H]),
    "bgm_tensor_data": (c_void_p, [H]),
    "bgm_tensor_copy_to": (STATUS, [H, c_void_p, c_size_t]),
    "bgm_tensor_copy_from": (STATUS, [H, c_void_p, c_size_t]),
    "bgm_tensor_fill": (STATUS, [H, c_double]),
    "bgm_tensor_axpy": (STATUS, [H, c_float, H]),
    "bgm_rng_create": (STATUS, [PH, c_uint64]),
    "bgm_rng_free": (None, [H]),
    "bgm_rng_next_u64": (c_uint64, [H]),
    "bgm_rng_uniform": (c_float, [H]),
    # autograd.h
    "bgm_tape_create": (STATUS, [PH]),
    "bgm_tape_free": (None, [H]),
    "bgm_tape_reset": (STATUS, [H]),
    "bgm_tape_watch": (STATUS, [H, H]),
    "bgm_tensor_set_requires_grad": (STATUS, [H, c_int]),
    "bgm_tensor_requires_grad": (c_int, [H]),
    "bgm_tape_gradient": (STATUS, [H, H, PH, c_int, PH]),
    "bgm_op_add": _BINARY, "bgm_op_sub": _BINARY, "bgm_op_mul": _BINARY,
    "bgm_op_div": _BINARY, "bgm_op_matmul": _BINARY,
    "bgm_op_neg": _UNARY, "bgm_op_exp": _UNARY, "bgm_op_log": _UNARY,
    "bgm_op_sqrt": _UNARY, "bgm_op_relu": _UNARY, "bgm_op_sigmoid": _UNARY,
    "bgm_op_tanh": _UNARY, "bgm_op_gelu": _UNARY, "bgm_op_transpose": _UNARY,
    "bgm_op_sum_all": _UNARY, "bgm_op_mean_all": _UNARY, "bgm_op_max_all": _UNARY,
    "bgm_op_scale": (STATUS, [PH, H, H, c_float]),
    "bgm_op_pow": (STATUS, [PH, H, H, c_float]),
    "bgm_op_leaky_relu": (STATUS, [PH, H, H, c_float]),
    "bgm_op_permute": (STATUS, [PH, H, H, IP, c_int]),
    "bgm_op_reshape": (STATUS, [PH, H, H, I64P, c_int]),
    "bgm_op_concat": (STATUS, [PH, H, PH, c_int, c_int]),
    "bgm_op_slice": (STATUS, [PH, H, H, c_int, c_int64, c_int64]),
    "bgm_op_sum": _AXIS, "bgm_op_mean": _AXIS, "bgm_op_max": _AXIS,
    "bgm_op_softmax": (STATUS, [PH, H, H, c_int]),
    "bgm_op_log_softmax": (STATUS, [PH, H, H, c_int]),
    # metrics.h
    "bgm_metric_options_init": (STATUS, [ctypes.POINTER(MetricOptions), c_size_t]),
    "bgm_metric_create": (STATUS, [PH, c_int, ctypes.POINTER(MetricOptions)]),
    "bgm_metric_update": (STATUS, [H, H, H]),
    "bgm_metric_result": (STATUS, [DP, H]),
    "bgm_metric_zero_division": (c_int, [H]),
    "bgm_metric_reset": (STATUS, [H]),
    "bgm_metric_name": (c_char_p, [H]),
    "bgm_metric_get_kind": (c_int, [H]),
    "bgm_metric_free": (None, [H]),
    "bgm_metric_compute": (STATUS, [DP, IP, c_int, ctypes.POINTER(MetricOptions), H, H]),
    "bgm_confusion_matrix": (STATUS, [PH, H, H, c_int]),
    "bgm_classification_scores": (STATUS, [DP, DP, DP, I64P, IP, H, H, c_int, c_double]),
    "bgm_classification_report": (STATUS, [c_void_p, c_size_t, SZP, IP, H, H, c_int,
                                           ctypes.POINTER(c_char_p), c_int]),
    # optim.h
    "bgm_optimizer_sgd": (STATUS, [PH, c_float, c_float, c_int]),
    "bgm_optimizer_adam": (STATUS, [PH, c_float, c_float, c_float, c_float]),
    "bgm_optimizer_adamw": (STATUS, [PH, c_float, c_float, c_float, c_float, c_float]),
    "bgm_optimizer_rmsprop": (STATUS, [PH, c_float, c_float, c_float, c_float]),
    "bgm_optimizer_free": (None, [H]),
    "bgm_optimizer_build": (STATUS, [H, PH, c_int]),
    "bgm_optimizer_step": (STATUS, [H, PH, PH, c_int]),
    "bgm_optimizer_step_count": (c_int64, [H]),
    "bgm_optimizer_get_kind": (c_int, [H]),
    "bgm_optimizer_set_lr": (STATUS, [H, c_float]),
    "bgm_optimizer_get_lr": (c_float, [H]),
    "bgm_optimizer_set_schedule": (STATUS, [H, H]),
    "bgm_optimizer_set_clipnorm": (STATUS, [H, c_float]),
    "bgm_optimizer_set_global_clipnorm": (STATUS, [H, c_float]),
    "bgm_optimizer_set_clipvalue": (STATUS, [H, c_float]),
    "bgm_optimizer_state_size": (c_int64, [H]),
    "bgm_optimizer_get_state": (STATUS, [H, FP, c_int64, I64P]),
    "bgm_optimizer_set_state": (STATUS, [H, FP, c_int64, c_int64]),
    "bgm_clip_grad_norm": (STATUS, [DP, PH, c_int, c_float]),
    "bgm_clip_grad_value": (STATUS, [PH, c_int, c_float]),
    "bgm_lr_schedule_constant": (STATUS, [PH, c_float]),
    "bgm_lr_schedule_step_decay": (STATUS, [PH, c_float, c_int64, c_float]),
    "bgm_lr_schedule_exponential_decay": (STATUS, [PH, c_float, c_int64, c_float, c_int]),
    "bgm_lr_schedule_cosine_decay": (STATUS, [PH, c_float, c_int64, c_float, c_int64,
                                              c_float]),
    "bgm_lr_schedule_callback": (STATUS, [PH, LR_FN, c_void_p]),
    "bgm_lr_schedule_value": (STATUS, [FP, H, c_int64, c_float]),
    "bgm_lr_schedule_free": (None, [H]),
    # data.h
    "bgm_dataset_from_tensors": (STATUS, [PH, H, H]),
    "bgm_dataset_free": (None, [H]),
    "bgm_dataset_size": (c_int64, [H]),
    "bgm_dataset_features": (H, [H]),
    "bgm_dataset_targets": (H, [H]),
    "bgm_dataset_element_shape": (I64P, [H, IP]),
    "bgm_dataset_shuffle": (STATUS, [PH, H, c_uint64]),
    "bgm_dataset_take": (STATUS, [PH, H, c_int64]),
    "bgm_dataset_skip": (STATUS, [PH, H, c_int64]),
    "bgm_dataset_concatenate": (STATUS, [PH, H, H]),
    "bgm_dataset_subset": (STATUS, [PH, H, I64P, c_int64]),
    "bgm_batch_iter_create": (STATUS, [PH, H, c_int64, c_int]),
    "bgm_batch_iter_next": (STATUS, [IP, PH, PH, H]),
    "bgm_batch_iter_reset": (None, [H]),
    "bgm_batch_iter_shuffle": (STATUS, [H, c_uint64]),
    "bgm_batch_iter_num_batches": (c_int64, [H]),
    "bgm_batch_iter_free": (None, [H]),
    "bgm_idx_load_images": (STATUS, [PH, c_char_p]),
    "bgm_idx_load_labels": (STATUS, [PH, c_char_p]),
    "bgm_dataset_load_idx": (STATUS, [PH, c_char_p, c_char_p]),
    "bgm_dataset_load_cifar": (STATUS, [PH, ctypes.POINTER(c_char_p), c_int, c_int]),
    "bgm_csv_options_init": (None, [ctypes.POINTER(CsvOptions)]),
    "bgm_dataset_load_csv": (STATUS, [PH, c_char_p, ctypes.POINTER(CsvOptions)]),
    "bgm_npy_load": (STATUS, [PH, c_char_p]),
    "bgm_npy_save": (STATUS, [H, c_char_p]),
    # nn_ops.h
    "bgm_op_conv2d": (STATUS, [PH, H, H, H, H, c_int, c_int, c_int]),
    "bgm_op_attention": (STATUS, [PH, H, H, H, H, H, c_int, c_float]),
    "bgm_op_max_pool2d": _POOL, "bgm_op_avg_pool2d": _POOL,
    "bgm_op_global_avg_pool2d": _UNARY,
    "bgm_op_batch_norm": (STATUS, [PH, H, H, H, H, H, H, c_float, c_float, c_int]),
    "bgm_op_dropout": (STATUS, [PH, H, H, c_float, H, c_int]),
    "bgm_op_mse_loss": _BINARY, "bgm_op_mae_loss": _BINARY,
    "bgm_op_binary_crossentropy": _LOSS,
    "bgm_op_categorical_crossentropy": _LOSS,
    "bgm_op_sparse_categorical_crossentropy": _LOSS,
    # preprocess.h
    "bgm_scaler_rescale": (STATUS, [PH, c_float]),
    "bgm_scaler_standard": (STATUS, [PH, c_int]),
    "bgm_scaler_minmax": (STATUS, [PH, c_float, c_float, c_int]),
    "bgm_scaler_l2_normalize": (STATUS, [PH]),
    "bgm_scaler_free": (None, [H]),
    "bgm_scaler_fit": (STATUS, [H, H]),
    "bgm_scaler_fit_dataset": (STATUS, [H, H]),
    "bgm_scaler_transform": (STATUS, [PH, H, H]),
    "bgm_scaler_transform_inplace": (STATUS, [H, H]),
    "bgm_scaler_transform_dataset": (STATUS, [PH, H, H]),
    "bgm_scaler_transform_dataset_inplace": (STATUS, [H, H]),
    "bgm_scaler_is_fitted": (c_int, [H]),
    "bgm_scaler_num_features": (c_int64, [H]),
    "bgm_scaler_get_statistics": (STATUS, [DP, DP, c_int64, H]),
    "bgm_tensor_one_hot": (STATUS, [PH, H, c_int64]),
    "bgm_dataset_one_hot": (STATUS, [PH, H, c_int64]),
    "bgm_dataset_train_test_split": (STATUS, [PH, PH, H, c_double, c_uint64, c_int]),
    "bgm_dataset_validation_split": (STATUS, [PH, PH, H, c_double]),
    "bgm_kfold_create": (STATUS, [PH, H, c_int, c_int, c_uint64, c_int]),
    "bgm_kfold_free": (None, [H]),
    "bgm_kfold_count": (c_int, [H]),
    "bgm_kfold_get": (STATUS, [PH, PH, H, c_int]),
    "bgm_kfold_val_size": (c_int64, [H, c_int]),
    "bgm_kfold_val_indices": (I64P, [H, c_int]),
    "bgm_cross_validate": (STATUS, [DP, DP, DP, H, c_int, c_int, c_uint64, CV_FN, c_void_p]),
    # custom losses, sample and class weights (issue #14, items 3 and 5)
    "bgm_model_set_loss_fn": (STATUS, [H, c_int, c_char_p, LOSS_FN, c_void_p]),
    "bgm_model_loss_name": (c_char_p, [H, c_int]),
    "bgm_model_evaluate_weighted": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int, H, c_int64]),
    "bgm_model_train_on_batch_weighted": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int, H, FP,
                                                   c_int]),
    "bgm_model_test_on_batch_weighted": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int, H]),
    "bgm_model_add_metric_fn": (STATUS, [H, c_int, c_char_p, LOSS_FN, c_void_p]),
    "bgm_model_set_metric_fn": (STATUS, [H, c_char_p, LOSS_FN, c_void_p]),
    "bgm_model_metric_fn_name": (c_char_p, [H, c_int]),
    "bgm_model_set_metric_name": (STATUS, [H, c_int, c_char_p]),
    "bgm_model_compute_loss_weighted": (STATUS, [PH, H, H, PH, c_int, PH, c_int, H]),
    # layers called on concrete tensors (issue #14, item 2 follow-up: eager)
    "bgm_layer_apply": (STATUS, [PH, c_int, H, H, PH, c_int, c_int]),
    "bgm_layer_num_weights": (c_int, [H]),
    "bgm_layer_weight": (H, [H, c_int]),
    "bgm_layer_weight_name": (c_char_p, [H, c_int]),
    "bgm_layer_weight_trainable": (c_int, [H, c_int]),
}

OPTIONAL = {
    # generate.h (text generation) arrived during the 0.1 series.
    "bgm_decoder_create": (STATUS, [PH, H, c_int]),
    "bgm_decoder_free": (None, [H]),
    "bgm_decoder_reset": (None, [H]),
    "bgm_decoder_uses_cache": (c_int, [H]),
    "bgm_decoder_length": (c_int64, [H]),
    "bgm_decoder_append": (STATUS, [PH, H, ctypes.POINTER(ctypes.c_int32), c_int64]),
    "bgm_op_linear": (STATUS, [PH, H, H, H, H]),
    "bgm_generate_options_init": (STATUS, [ctypes.POINTER(GenerateOptions), c_size_t]),
    "bgm_model_generate": (STATUS, [PH, H, ctypes.POINTER(ctypes.c_int32), c_int64,
                                    ctypes.POINTER(GenerateOptions)]),
    # model.h (the Keras-style model) arrived during the 0.1 series: libraries
    # of 0.1 built before it load, and calling into the model then raises
    # UnsupportedError naming the missing function.
    "bgm_layer_dense": (H, [c_int64, c_int]),
    "bgm_layer_conv2d": (H, [c_int64, c_int64, c_int]),
    "bgm_layer_max_pool2d": (H, [c_int64]),
    "bgm_layer_avg_pool2d": (H, [c_int64]),
    "bgm_layer_global_avg_pool2d": (H, []),
    "bgm_layer_flatten": (H, []),
    "bgm_layer_dropout": (H, [c_float]),
    "bgm_layer_batch_norm": (H, []),
    "bgm_layer_activation": (H, [c_int]),
    "bgm_layer_free": (None, [H]),
    # sequence layers (model.h), newer in the 0.1 series
    "bgm_layer_embedding": (H, [c_int64, c_int64]),
    "bgm_layer_lstm": (H, [c_int64]),
    "bgm_layer_gru": (H, [c_int64]),
    "bgm_layer_bidirectional": (H, [H]),
    "bgm_layer_set_trainable": (STATUS, [H, c_int]),
    "bgm_layer_trainable": (c_int, [H]),
    "bgm_model_set_trainable": (STATUS, [H, c_int]),
    "bgm_model_set_layer_trainable": (STATUS, [H, c_char_p, c_int]),
    "bgm_layer_set_mask_zero": (STATUS, [H, c_int]),
    "bgm_layer_set_embedding_matrix": (STATUS, [H, H]),
    "bgm_layer_set_return_sequences": (STATUS, [H, c_int]),
    "bgm_layer_set_dropout": (STATUS, [H, c_float]),
    "bgm_layer_set_recurrent_dropout": (STATUS, [H, c_float]),
    "bgm_layer_set_kernel_size": (STATUS, [H, c_int64, c_int64]),
    "bgm_layer_set_pool_size": (STATUS, [H, c_int64, c_int64]),
    "bgm_layer_set_strides": (STATUS, [H, c_int64, c_int64]),
    "bgm_layer_set_padding": (STATUS, [H, c_int]),
    "bgm_layer_set_use_bias": (STATUS, [H, c_int]),
    "bgm_layer_set_kernel_initializer": (STATUS, [H, c_int]),
    "bgm_layer_set_bias_initializer": (STATUS, [H, c_int]),
    "bgm_layer_set_kernel_l2": (STATUS, [H, c_float]),
    "bgm_layer_set_leaky_relu_alpha": (STATUS, [H, c_float]),
    "bgm_layer_set_momentum": (STATUS, [H, c_float]),
    "bgm_layer_set_synchronized": (STATUS, [H, c_int]),
    "bgm_layer_set_epsilon": (STATUS, [H, c_float]),
    # Transformer sequence layers (model.h), newer in the 0.1 series
    "bgm_layer_conv1d": (H, [c_int64, c_int64, c_int]),
    "bgm_layer_position_embedding": (H, [c_int64]),
    "bgm_layer_sine_position_encoding": (H, [c_float]),
    "bgm_layer_set_dilation_rate": (STATUS, [H, c_int64, c_int64]),
    "bgm_layer_set_max_wavelength": (STATUS, [H, c_float]),
    "bgm_layer_set_name": (STATUS, [H, c_char_p]),
    "bgm_layer_kind": (c_char_p, [H]),
    "bgm_layer_name": (c_char_p, [H]),
    "bgm_layer_output_shape": (I64P, [H, IP]),
    "bgm_layer_num_params": (c_int64, [H]),
    "bgm_model_create": (STATUS, [PH, I64P, c_int, c_uint64]),
    "bgm_model_free": (None, [H]),
    "bgm_model_add": (STATUS, [H, H]),
    "bgm_model_num_layers": (c_int, [H]),
    "bgm_model_layer": (H, [H, c_int]),
    "bgm_model_input_shape": (I64P, [H, IP]),
    "bgm_model_output_shape": (I64P, [H, IP]),
    "bgm_model_summary_string": (STATUS, [c_void_p, c_size_t, SZP, H]),
    "bgm_layer_config_string": (STATUS, [c_void_p, c_size_t, SZP, H]),
    "bgm_model_num_params": (c_int64, [H]),
    "bgm_model_num_trainable_params": (c_int64, [H]),
    "bgm_model_trainable_params": (STATUS, [ctypes.POINTER(PH), IP, H]),
    "bgm_model_num_weights": (c_int, [H]),
    "bgm_model_weight": (H, [H, c_int]),
    "bgm_model_weight_name": (c_char_p, [H, c_int]),
    "bgm_model_weight_trainable": (c_int, [H, c_int]),
    "bgm_model_get_weights": (STATUS, [H, FP, c_int64]),
    "bgm_model_set_weights": (STATUS, [H, FP, c_int64]),
    "bgm_model_add_metric": (STATUS, [H, c_int, ctypes.POINTER(MetricOptions)]),
    "bgm_model_optimizer": (H, [H]),
    "bgm_model_num_metrics": (c_int, [H]),
    "bgm_model_metric_name": (c_char_p, [H, c_int]),
    "bgm_fit_options_init": (STATUS, [ctypes.POINTER(FitOptions), c_size_t]),
    # graphs of layer calls (graph.h), newer in the 0.1 series
    "bgm_graph_create": (STATUS, [PH]),
    "bgm_graph_free": (None, [H]),
    "bgm_graph_input": (STATUS, [PH, H, I64P, c_int, c_int, c_char_p]),
    "bgm_layer_call": (STATUS, [PH, H, PH, c_int]),
    "bgm_node_shape": (I64P, [H, IP]),
    "bgm_node_dtype": (c_int, [H]),
    "bgm_node_layer": (H, [H]),
    "bgm_node_name": (c_char_p, [H]),
    "bgm_node_num_inputs": (c_int, [H]),
    "bgm_node_input": (H, [H, c_int]),
    "bgm_model_create_graph": (STATUS, [PH, PH, c_int, PH, c_int, c_uint64]),
    "bgm_model_num_inputs": (c_int, [H]),
    "bgm_model_input": (H, [H, c_int]),
    "bgm_model_num_outputs": (c_int, [H]),
    "bgm_model_output": (H, [H, c_int]),
    "bgm_model_get_layer": (H, [H, c_char_p]),
    "bgm_model_predict_multi": (STATUS, [PH, c_int, H, PH, c_int, c_int64]),
    "bgm_model_forward_multi": (STATUS, [PH, c_int, H, H, PH, c_int, c_int]),
    "bgm_model_class_name": (c_char_p, [H]),
    # training models of several inputs and outputs (model.h, data.h), newer in
    # the 0.1 series: every model trains through these
    "bgm_compile_options_init": (STATUS, [ctypes.POINTER(CompileOptions), c_size_t]),
    "bgm_model_compile_v2": (STATUS, [H, H, ctypes.POINTER(CompileOptions)]),
    "bgm_model_add_output_metric": (STATUS, [H, c_int, c_int,
                                             ctypes.POINTER(MetricOptions)]),
    "bgm_model_output_name": (c_char_p, [H, c_int]),
    "bgm_model_fit_multi": (STATUS, [PH, H, PH, c_int, PH, c_int,
                                     ctypes.POINTER(FitOptions)]),
    "bgm_model_evaluate_multi": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int, c_int64]),
    "bgm_model_train_on_batch_multi": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int]),
    "bgm_model_test_on_batch_multi": (STATUS, [DP, c_int, H, PH, c_int, PH, c_int]),
    "bgm_model_compute_loss_multi": (STATUS, [PH, H, H, PH, c_int, PH, c_int]),
    "bgm_dataset_from_tensors_multi": (STATUS, [PH, PH, c_int, PH, c_int]),
    "bgm_dataset_num_feature_tensors": (c_int, [H]),
    "bgm_dataset_feature_tensor": (H, [H, c_int]),
    "bgm_dataset_num_target_tensors": (c_int, [H]),
    "bgm_dataset_target_tensor": (H, [H, c_int]),
    "bgm_batch_iter_next_multi": (STATUS, [IP, PH, c_int, PH, c_int, H]),
    "bgm_layer_add": (H, []),
    "bgm_layer_subtract": (H, []),
    "bgm_layer_multiply": (H, []),
    "bgm_layer_average": (H, []),
    "bgm_layer_maximum": (H, []),
    "bgm_layer_minimum": (H, []),
    "bgm_layer_concatenate": (H, [c_int]),
    "bgm_layer_reshape": (H, [I64P, c_int]),
    "bgm_layer_permute": (H, [IP, c_int]),
    "bgm_layer_zero_padding2d": (H, [c_int64, c_int64, c_int64, c_int64]),
    "bgm_layer_multi_head_attention": (H, [c_int, c_int64]),
    "bgm_layer_set_value_dim": (STATUS, [H, c_int64]),
    "bgm_layer_set_output_dim": (STATUS, [H, c_int64]),
    "bgm_layer_set_use_causal_mask": (STATUS, [H, c_int]),
    "bgm_layer_set_return_attention_scores": (STATUS, [H, c_int]),
    "bgm_layer_num_outputs": (c_int, [H]),
    "bgm_layer_call_multi": (STATUS, [PH, c_int, H, PH, c_int]),
    "bgm_node_output_index": (c_int, [H]),
    # normalization, GELU (tanh) / SiLU and sequence pooling (issue 13)
    "bgm_op_gelu_tanh": _UNARY, "bgm_op_silu": _UNARY,
    "bgm_op_layer_norm": (STATUS, [PH, H, H, H, H, c_float]),
    "bgm_op_rms_norm": (STATUS, [PH, H, H, H, c_float]),
    "bgm_op_global_avg_pool1d": (STATUS, [PH, H, H, H, c_int]),
    "bgm_layer_layer_norm": (H, []),
    "bgm_layer_rms_norm": (H, []),
    "bgm_layer_global_avg_pool1d": (H, []),
    "bgm_layer_set_axis": (STATUS, [H, c_int64]),
    "bgm_layer_set_center": (STATUS, [H, c_int]),
    "bgm_layer_set_scale": (STATUS, [H, c_int]),
    "bgm_layer_set_keepdims": (STATUS, [H, c_int]),
    # model files (model.h), newer in the 0.1 series
    "bgm_model_save": (STATUS, [H, c_char_p, ctypes.c_uint]),
    "bgm_model_load": (STATUS, [PH, c_char_p]),
    "bgm_model_epochs_completed": (c_int, [H]),
    "bgm_model_save_weights_safetensors": (STATUS, [H, c_char_p]),
    "bgm_model_load_weights_safetensors": (STATUS, [H, c_char_p]),
    "bgm_history_num_epochs": (c_int, [H]),
    "bgm_history_epoch": (c_int, [H, c_int]),
    "bgm_history_num_keys": (c_int, [H]),
    "bgm_history_key": (c_char_p, [H, c_int]),
    "bgm_history_values": (DP, [H, c_char_p]),
    "bgm_history_free": (None, [H]),
    "bgm_callback_early_stopping": (STATUS, [PH, c_char_p, c_int, c_float, c_int]),
    "bgm_callback_lr_scheduler": (STATUS, [PH, EPOCH_LR_FN, c_void_p]),
    "bgm_callback_csv_logger": (STATUS, [PH, c_char_p, c_int]),
    "bgm_callback_lambda": (STATUS, [PH, CALLBACK_FN, c_void_p]),
    "bgm_callback_stopped_epoch": (c_int, [H]),
    "bgm_callback_free": (None, [H]),
    "bgm_logs_count": (c_int, [H]),
    "bgm_logs_name": (c_char_p, [H, c_int]),
    "bgm_logs_value": (c_double, [H, c_int]),
    # rnn_ops.h, also new in the 0.1 series
    "bgm_op_embedding": _BINARY,
    "bgm_sequence_mask": (STATUS, [PH, H]),
    "bgm_op_lstm": (STATUS, [PH, H, H, H, H, H, H, H, H, H, c_int, c_int]),
    "bgm_op_gru": (STATUS, [PH, H, H, H, H, H, H, H, H, c_int, c_int]),
    # text.h, also new in the 0.1 series
    "bgm_text_clean_options_init": (None, [ctypes.POINTER(TextCleanOptions)]),
    "bgm_text_clean": (STATUS, [PH, I64P, c_char_p, c_int64,
                                ctypes.POINTER(TextCleanOptions)]),
    "bgm_text_tokenize": (STATUS, [PH, I64P, c_char_p, c_int64,
                                   ctypes.POINTER(TextCleanOptions)]),
    "bgm_text_free": (None, [c_void_p]),
    "bgm_text_list_free": (None, [c_void_p]),
    "bgm_vocab_options_init": (None, [ctypes.POINTER(VocabOptions)]),
    "bgm_vocab_build": (STATUS, [PH, ctypes.POINTER(c_char_p), I64P, c_int64,
                                 ctypes.POINTER(VocabOptions)]),
    "bgm_vocab_free": (None, [H]),
    "bgm_vocab_size": (c_int64, [H]),
    "bgm_vocab_id": (ctypes.c_int32, [H, c_char_p, c_int64]),
    "bgm_vocab_token": (c_char_p, [H, ctypes.c_int32]),
    "bgm_vocab_count": (c_int64, [H, ctypes.c_int32]),
    "bgm_vocab_save": (STATUS, [H, c_char_p]),
    "bgm_vocab_load": (STATUS, [PH, c_char_p]),
    "bgm_vocab_encode": (STATUS, [PH, H, c_char_p, c_int64, ctypes.POINTER(TextCleanOptions)]),
    "bgm_pad_sequences": (STATUS, [PH, PH, I64P, c_int64, c_int64, c_int, c_int,
                                   ctypes.c_int32]),
    "bgm_vocab_encode_padded": (STATUS, [PH, H, ctypes.POINTER(c_char_p), I64P, c_int64,
                                         c_int64, c_int, c_int,
                                         ctypes.POINTER(TextCleanOptions)]),
    "bgm_text_dataset_options_init": (None, [ctypes.POINTER(TextDatasetOptions)]),
    "bgm_text_dataset_from_directory": (STATUS, [PH, PH, PH, c_char_p,
                                                 ctypes.POINTER(TextDatasetOptions)]),
    "bgm_text_dataset_from_files": (STATUS, [PH, PH, ctypes.POINTER(c_char_p),
                                             ctypes.POINTER(ctypes.c_int32), c_int64,
                                             ctypes.POINTER(TextDatasetOptions)]),
    "bgm_word2vec_options_init": (None, [ctypes.POINTER(Word2VecOptions)]),
    "bgm_word2vec_train": (STATUS, [PH, ctypes.POINTER(c_char_p), I64P, c_int64,
                                    ctypes.POINTER(Word2VecOptions)]),
    "bgm_word2vec_free": (None, [H]),
    "bgm_word2vec_vocab_size": (c_int64, [H]),
    "bgm_word2vec_dim": (c_int64, [H]),
    "bgm_word2vec_word": (c_char_p, [H, c_int64]),
    "bgm_word2vec_index": (c_int64, [H, c_char_p]),
    "bgm_word2vec_vector": (STATUS, [PH, H, c_char_p]),
    "bgm_word2vec_most_similar": (STATUS, [ctypes.POINTER(c_char_p), FP, IP, H, c_char_p,
                                           c_int]),
    "bgm_word2vec_document_vectors": (STATUS, [PH, H, ctypes.POINTER(c_char_p), I64P,
                                               c_int64, ctypes.POINTER(TextCleanOptions)]),
    "bgm_word2vec_embedding_matrix": (STATUS, [PH, H, H]),
    "bgm_word2vec_save": (STATUS, [H, c_char_p]),
    "bgm_word2vec_load": (STATUS, [PH, c_char_p]),
    # preproc_layers.h (#14 item 8: Rescaling, Normalization, TextVectorization,
    # models on raw strings).
    "bgm_layer_rescaling": (H, [c_float, c_float]),
    "bgm_layer_normalization": (H, [c_int]),
    "bgm_layer_normalization_adapt": (STATUS, [H, H]),
    "bgm_layer_normalization_set_stats": (STATUS, [H, FP, FP, c_int64]),
    "bgm_layer_text_vectorization": (H, [c_int64, c_int, c_int64]),
    "bgm_layer_set_standardize": (STATUS, [H, c_int]),
    "bgm_layer_set_split": (STATUS, [H, c_int]),
    "bgm_layer_text_vectorization_adapt": (STATUS, [H, ctypes.POINTER(c_char_p), c_int64]),
    "bgm_layer_set_vocabulary": (STATUS, [H, ctypes.POINTER(c_char_p), c_int64, FP]),
    "bgm_layer_vocabulary_size": (c_int64, [H]),
    "bgm_layer_vocabulary_token": (ctypes.POINTER(ctypes.c_char), [H, c_int64, I64P]),
    "bgm_layer_text_vectorize": (STATUS, [PH, H, ctypes.POINTER(c_char_p), c_int64]),
    "bgm_model_vectorize_strings": (STATUS, [PH, H, ctypes.POINTER(c_char_p), c_int64]),
    # callbacks (#14 items 9 and 11): ModelCheckpoint, ReduceLROnPlateau,
    # BackupAndRestore, and the model's log of Keras' warnings
    "bgm_callback_model_checkpoint": (STATUS, [PH, c_char_p, c_char_p, c_int, c_int, c_int,
                                               c_char_p, c_int64, c_double]),
    "bgm_callback_reduce_lr_on_plateau": (STATUS, [PH, c_char_p, c_double, c_int, c_int,
                                                   c_char_p, c_double, c_int, c_double]),
    "bgm_callback_backup_and_restore": (STATUS, [PH, c_char_p, c_int]),
    "bgm_model_set_log": (STATUS, [H, LOG_FN, c_void_p]),
    # user-defined layers (bigmodel/custom_layer.h; bigmodel._custom)
    "bgm_layer_kind_init": (STATUS, [c_void_p, c_size_t]),
    "bgm_layer_kind_register": (STATUS, [c_void_p]),
    "bgm_layer_kind_unregister": (STATUS, [c_char_p]),
    "bgm_layer_kind_registered": (c_int, [c_char_p]),
    "bgm_layer_create": (STATUS, [PH, c_char_p]),
    "bgm_layer_add_weight": (STATUS, [H, c_char_p, I64P, c_int, c_int, c_int]),
    "bgm_layer_set_config_int": (STATUS, [H, c_char_p, c_int64]),
    "bgm_layer_set_config_float": (STATUS, [H, c_char_p, c_double]),
    "bgm_layer_set_config_string": (STATUS, [H, c_char_p, c_char_p]),
    "bgm_layer_set_user_data": (STATUS, [H, c_void_p]),
    "bgm_layer_user_data": (c_void_p, [H]),
    "bgm_layer_kind_fail": (c_int, [H, c_int, c_char_p]),
    # streaming (#14 item 4): bgm_stream, batches filled by a callback (data.h)
    "bgm_stream_spec_init": (None, [ctypes.POINTER(StreamSpec)]),
    "bgm_stream_create": (STATUS, [PH, ctypes.POINTER(StreamSpec)]),
    "bgm_stream_free": (None, [H]),
    "bgm_stream_batches_per_epoch": (c_int64, [H]),
    "bgm_stream_num_x": (c_int, [H]),
    "bgm_stream_num_y": (c_int, [H]),
    "bgm_model_fit_stream": (STATUS, [PH, H, H, c_int64, H, c_int64,
                                      ctypes.POINTER(FitOptions)]),
    "bgm_model_evaluate_stream": (STATUS, [DP, c_int, H, H, c_int64]),
    "bgm_model_predict_stream": (STATUS, [PH, c_int, H, H, c_int64]),
    # configs, JSON, clones and weights files (issue #14 item 7, branch configs)
    "bgm_layer_from_config": (STATUS, [PH, c_char_p]),
    "bgm_model_to_json": (STATUS, [c_void_p, c_size_t, SZP, H]),
    "bgm_model_from_json": (STATUS, [PH, c_char_p, c_uint64]),
    "bgm_model_clone": (STATUS, [PH, H, c_uint64]),
    "bgm_model_save_weights": (STATUS, [H, c_char_p]),
    "bgm_model_load_weights": (STATUS, [H, c_char_p]),
    "bgm_model_predict_on_batch": (STATUS, [PH, c_int, H, PH, c_int]),
    # non-finite training (issue #15 item 4)
    "bgm_callback_terminate_on_nan": (STATUS, [PH, c_int]),
    # metrics parity with scikit-learn (issue #15 item 8)
    "bgm_report_options_init": (STATUS, [ctypes.POINTER(ReportOptions), c_size_t]),
    "bgm_classification_report_ex": (STATUS, [c_void_p, c_size_t, SZP, IP, H, H, c_int,
                                              ctypes.POINTER(ReportOptions)]),
    # streamweights (#14 item 5 follow-up): weighted streams, Keras' weighted_metrics
    "bgm_stream_has_sample_weight": (c_int, [H]),
    "bgm_model_set_metric_weighted": (STATUS, [H, c_int, c_int]),
    "bgm_model_metric_weighted": (c_int, [H, c_int]),
    # data-parallel training (#17): communicators (distributed.h)
    "bgm_comm_free": (None, [H]),
    "bgm_comm_rank": (c_int, [H]),
    "bgm_comm_num_ranks": (c_int, [H]),
    "bgm_comm_barrier": (STATUS, [H]),
    "bgm_comm_average": (STATUS, [H, PH, c_int]),
    "bgm_comm_broadcast_tensors": (STATUS, [H, PH, c_int, c_int]),
    "bgm_model_set_comm": (STATUS, [H, H]),
}

# ---- errors ----------------------------------------------------------------


def raise_for_status(status, func=None, args=None):
    """ctypes errcheck: a negative status becomes the matching exception."""
    if status >= 0:
        return None
    message = lib.bgm_last_error()
    text = message.decode("utf-8", "replace") if message else ""
    name = getattr(func, "__name__", "")
    pending = getattr(callback_error, "value", None)
    if pending is not None:
        # a Python callback (a custom layer's build or call) raised: the caller
        # gets that exception, when the library's message is the one it left
        callback_error.value = None
        exc, marker = pending
        if marker in text:
            raise exc
    raise errors.error_for_status(status, text or "%s failed" % name)


# The exception a Python callback raised, with the message it left in the
# library's error slot, for raise_for_status to re-raise (per thread).
callback_error = threading.local()


def _missing(name, path):
    def call(*args):
        raise errors.UnsupportedError(
            "%s is not exported by %s (version %s): it needs a newer libbigmodel"
            % (name, path, lib.bgm_version_string().decode()))
    call.__name__ = name
    return call


# ---- loading ---------------------------------------------------------------


def candidates():
    """(label, path) pairs in the order the loader tries them."""
    override = os.environ.get(ENV_VAR)
    if override:
        return [("$" + ENV_VAR, override)]
    soname = "libbigmodel.so.%d" % ABI_MAJOR
    found = [("next to the package", os.path.join(PACKAGE_DIR, soname))]
    if IN_TREE:
        found.append(("in-tree build", IN_TREE))
    if INSTALL_LIBDIR:
        found.append(("make install's LIBDIR", os.path.join(INSTALL_LIBDIR, soname)))
    system = ctypes.util.find_library("bigmodel")
    if system:
        found.append(("ctypes.util.find_library('bigmodel')", system))
    found.append(("system loader", soname))
    return found


class _DlInfo(ctypes.Structure):
    """Dl_info of <dlfcn.h>, filled by dladdr."""
    _fields_ = [("dli_fname", c_char_p), ("dli_fbase", c_void_p),
                ("dli_sname", c_char_p), ("dli_saddr", c_void_p)]


def loaded_file(cdll, fallback):
    """The file the dynamic loader mapped for cdll (a bare soname such as
    libbigmodel.so.0 becomes the path it resolved to), else fallback."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except (OSError, AttributeError):
        return fallback
    dladdr.argtypes, dladdr.restype = [c_void_p, ctypes.POINTER(_DlInfo)], c_int
    info = _DlInfo()
    if not dladdr(ctypes.cast(cdll.bgm_version_number, c_void_p), ctypes.byref(info)) \
            or not info.dli_fname:
        return fallback
    return os.path.abspath(os.fsdecode(info.dli_fname))


def split_version(number):
    return number // 10000, number // 100 % 100, number % 100


def check_abi(cdll, expected_major=None, min_minor=None):
    """None when cdll fits this package, else the reason it does not."""
    major_needed = ABI_MAJOR if expected_major is None else expected_major
    minor_needed = ABI_MINOR if min_minor is None else min_minor
    try:
        version = cdll.bgm_version_number
    except AttributeError:
        return "not a libbigmodel: it has no bgm_version_number()"
    version.restype, version.argtypes = c_int, []
    major, minor, patch = split_version(version())
    if major != major_needed or minor < minor_needed:
        return ("library version %d.%d.%d has ABI %d, but this package needs ABI %d "
                "at version %d.%d or newer (rebuild the library or use the bigmodel "
                "package that ships with it)"
                % (major, minor, patch, major, major_needed, major_needed, minor_needed))
    missing = [name for name in REQUIRED if not hasattr(cdll, name)]
    if missing:
        return "library version %d.%d.%d lacks %d symbol(s) this package needs: %s" % (
            major, minor, patch, len(missing), ", ".join(missing[:5]))
    return None


def open_library(expected_major=None, min_minor=None):
    """(CDLL, path, label) of the first candidate that loads and fits, else
    ImportError; label says which search step found it."""
    tried = []
    for label, path in candidates():
        try:
            cdll = ctypes.CDLL(path)
        except OSError as exc:
            tried.append("%s: %s: cannot load: %s" % (label, path, exc))
            continue
        reason = check_abi(cdll, expected_major, min_minor)
        if reason is None:
            return cdll, loaded_file(cdll, path), label
        tried.append("%s: %s: %s" % (label, path, reason))
    major = ABI_MAJOR if expected_major is None else expected_major
    minor = ABI_MINOR if min_minor is None else min_minor
    raise ImportError(
        "bigmodel: no usable libbigmodel (this package needs ABI %d, version %d.%d or "
        "newer). Tried, in order:\n  %s\nBuild it with `make` in the source tree, install "
        "it with `make install`, or set %s to the path of libbigmodel.so."
        % (major, major, minor, "\n  ".join(tried), ENV_VAR))


class _Lib:
    """The loaded library: one attribute per function of the signature table."""

    def __init__(self, cdll, path, origin):
        self.path = path
        self.origin = origin
        self.missing = set()
        for table, optional in ((REQUIRED, False), (OPTIONAL, True)):
            for name, (restype, argtypes) in table.items():
                try:
                    fn = getattr(cdll, name)
                except AttributeError:
                    if not optional:
                        raise
                    self.missing.add(name)
                    setattr(self, name, _missing(name, path))
                    continue
                fn.argtypes = argtypes
                if restype == STATUS:
                    fn.restype = c_int
                    fn.errcheck = raise_for_status
                else:
                    fn.restype = restype
                setattr(self, name, fn)

    def has(self, name):
        """Whether the loaded library exports the function name."""
        return hasattr(self, name) and name not in self.missing


lib = _Lib(*open_library())

# ---- handle bookkeeping ------------------------------------------------------
# Counts of handles the package owns right now, by kind ("tensor", "tape",
# ...): the leak tests read them, and they cost one dict update per handle.

live = {}
_live_lock = threading.Lock()
exiting = False  # set at interpreter exit: no more frees (the process is ending)


@atexit.register
def _at_exit():
    global exiting
    exiting = True


def count(kind, delta):
    with _live_lock:
        live[kind] = live.get(kind, 0) + delta


def out_handle():
    return c_void_p()


def shape_array(shape):
    """(int64 array, ndim) for a shape tuple; a 1-element dummy for scalars."""
    shape = tuple(int(d) for d in shape)
    return (c_int64 * max(len(shape), 1))(*shape), len(shape)


def handle_array(handles):
    return (c_void_p * max(len(handles), 1))(*handles)


def tensor_array(tensors):
    """A C array of the tensors' handles (the xs / ys of the *_multi functions)."""
    return handle_array([t._h for t in tensors])
