"""Differentiable operations (bigmodel/autograd.h and bigmodel/nn_ops.h).

Each function computes eagerly and, inside ``with GradientTape():`` (or with
``tape=`` given), is recorded for differentiation. Inputs may be Tensors or
anything Tensor() accepts; Python numbers and lists become float32 tensors.
Binary elementwise operations broadcast by NumPy's rules. Operations take
float32 tensors and raise DTypeError otherwise; shape errors raise ShapeError
naming both shapes.
"""
import ctypes

from . import _lib
from ._lib import lib
from .errors import InvalidArgumentError
from .tape import recording_memory
from .tensor import Tensor, as_tensor, float32, int32

__all__ = [
    "add", "subtract", "multiply", "divide", "negative", "scale", "exp", "log", "sqrt",
    "pow", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "swish", "matmul", "linear",
    "transpose",
    "permute", "reshape", "concat", "slice", "reduce_sum", "reduce_mean", "reduce_max",
    "softmax", "log_softmax", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d",
    "batch_norm", "layer_norm", "rms_norm", "global_avg_pool1d", "dropout", "mse_loss", "mae_loss", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "embedding",
    "sequence_mask", "lstm", "gru", "attention",
]

_PADDING = {"valid": 0, "same": 1}


def _operand(x, dtype=float32):
    return x if isinstance(x, Tensor) or x is None else as_tensor(x, dtype)


def _prepared(memory, inputs):
    """inputs, where a custom layer's call records on a library-owned tape:
    operands Python owns are copied onto that tape first (bigmodel._custom)."""
    return memory.own(inputs) if getattr(memory, "external", False) else inputs


def _run(fn, inputs, extra=(), tape=None):
    """Calls bgm_op_*(&out, tape, inputs..., extra...) and wraps the result."""
    memory = recording_memory(tape)
    inputs = _prepared(memory, inputs)
    handles = [None if t is None else t._h for t in inputs]
    out = ctypes.c_void_p()
    fn(ctypes.byref(out), memory.ptr if memory else None, *handles, *extra)
    if memory is None:
        return Tensor._adopt(out.value)
    memory.borrow(inputs)
    return Tensor._adopt(out.value, memory)


def _unary(fn, x, tape, *extra):
    return _run(fn, [_operand(x)], extra, tape)


def _binary(fn, a, b, tape):
    return _run(fn, [_operand(a), _operand(b)], (), tape)


# ---- elementwise --------------------------------------------------------------


def add(a, b, tape=None):
    return _binary(lib.bgm_op_add, a, b, tape)


def subtract(a, b, tape=None):
    return _binary(lib.bgm_op_sub, a, b, tape)


def multiply(a, b, tape=None):
    if isinstance(b, (int, float)) and isinstance(a, Tensor):
        return scale(a, b, tape)
    if isinstance(a, (int, float)) and isinstance(b, Tensor):
        return scale(b, a, tape)
    return _binary(lib.bgm_op_mul, a, b, tape)


def divide(a, b, tape=None):
    if isinstance(b, (int, float)) and b != 0 and isinstance(a, Tensor):
        return scale(a, 1.0 / b, tape)
    return _binary(lib.bgm_op_div, a, b, tape)


def negative(x, tape=None):
    return _unary(lib.bgm_op_neg, x, tape)


def scale(x, alpha, tape=None):
    """alpha * x for a Python number alpha."""
    return _unary(lib.bgm_op_scale, x, tape, float(alpha))


def exp(x, tape=None):
    return _unary(lib.bgm_op_exp, x, tape)


def log(x, tape=None):
    return _unary(lib.bgm_op_log, x, tape)


def sqrt(x, tape=None):
    return _unary(lib.bgm_op_sqrt, x, tape)


def pow(x, exponent, tape=None):  # noqa: A001  (mirrors the C name)
    """x ** exponent for a Python number exponent."""
    if not isinstance(exponent, (int, float)):
        raise InvalidArgumentError("pow: the exponent must be a number, got %s"
                                   % type(exponent).__name__)
    return _unary(lib.bgm_op_pow, x, tape, float(exponent))


def relu(x, tape=None):
    return _unary(lib.bgm_op_relu, x, tape)


def leaky_relu(x, alpha=0.2, tape=None):
    return _unary(lib.bgm_op_leaky_relu, x, tape, float(alpha))


def sigmoid(x, tape=None):
    return _unary(lib.bgm_op_sigmoid, x, tape)


def tanh(x, tape=None):
    return _unary(lib.bgm_op_tanh, x, tape)


def gelu(x, approximate=False, tape=None):
    """GELU: exact (erf) by default; approximate=True takes the tanh form
    (Keras' approximate=True, PyTorch's approximate='tanh')."""
    if not isinstance(approximate, bool):  # a tape passed where the flag goes
        raise InvalidArgumentError("gelu: approximate must be True or False, got %s"
                                   % type(approximate).__name__)
    return _unary(lib.bgm_op_gelu_tanh if approximate else lib.bgm_op_gelu, x, tape)


def silu(x, tape=None):
    """x * sigmoid(x)."""
    return _unary(lib.bgm_op_silu, x, tape)


swish = silu


# ---- linear algebra and shapes ------------------------------------------------------


def matmul(a, b, tape=None):
    return _binary(lib.bgm_op_matmul, a, b, tape)


def linear(x, kernel, bias=None, tape=None):
    """x @ kernel + bias over the last axis of x (a Dense layer's map), one op."""
    return _run(lib.bgm_op_linear, [_operand(x), _operand(kernel), _operand(bias)], (), tape)


def transpose(x, tape=None):
    """Swaps the last two dimensions."""
    return _unary(lib.bgm_op_transpose, x, tape)


def permute(x, perm, tape=None):
    perm = [int(p) for p in perm]
    return _unary(lib.bgm_op_permute, x, tape, (ctypes.c_int * max(len(perm), 1))(*perm),
                  len(perm))


def reshape(x, shape, tape=None):
    """x with another shape (one entry may be -1).

    Outside a tape, reshaping a caller-owned tensor gives a view sharing its
    memory; on a tape the result is recorded (and shares the memory too).
    """
    x = _operand(x, None)
    memory = recording_memory(tape)
    dims, ndim = _lib.shape_array(shape)
    if memory is None and not x.tape_owned:
        out = ctypes.c_void_p()
        lib.bgm_tensor_reshape(ctypes.byref(out), x._h, dims, ndim)
        return Tensor._adopt(out.value)
    return _run(lib.bgm_op_reshape, [x], (dims, ndim), tape)


def concat(tensors, axis=0, tape=None):
    memory = recording_memory(tape)
    ts = _prepared(memory, [_operand(t) for t in tensors])
    out = ctypes.c_void_p()
    lib.bgm_op_concat(ctypes.byref(out), memory.ptr if memory else None,
                      _lib.handle_array([t._h for t in ts]), len(ts), int(axis))
    if memory is None:
        return Tensor._adopt(out.value)
    memory.borrow(ts)
    return Tensor._adopt(out.value, memory)


def slice(x, start, stop, axis=0, tape=None):  # noqa: A001
    """Elements start..stop-1 along axis. Rows of a caller-owned tensor outside
    a tape (axis 0) are a view sharing its memory; otherwise a copy."""
    x = _operand(x, None)
    memory = recording_memory(tape)
    if memory is None and axis == 0 and not x.tape_owned:
        out = ctypes.c_void_p()
        lib.bgm_tensor_slice(ctypes.byref(out), x._h, int(start), int(stop))
        return Tensor._adopt(out.value)
    return _run(lib.bgm_op_slice, [x], (int(axis), int(start), int(stop)), tape)


# ---- reductions and normalizations ---------------------------------------------------


def _reduce(all_fn, axis_fn, x, axis, keepdims, tape):
    if axis is None:
        if keepdims:
            raise InvalidArgumentError("keepdims needs an axis")
        return _unary(all_fn, x, tape)
    return _unary(axis_fn, x, tape, int(axis), 1 if keepdims else 0)


def reduce_sum(x, axis=None, keepdims=False, tape=None):
    """Sum over one axis, or over everything (a 0-dimensional tensor) when axis is None."""
    return _reduce(lib.bgm_op_sum_all, lib.bgm_op_sum, x, axis, keepdims, tape)


def reduce_mean(x, axis=None, keepdims=False, tape=None):
    return _reduce(lib.bgm_op_mean_all, lib.bgm_op_mean, x, axis, keepdims, tape)


def reduce_max(x, axis=None, keepdims=False, tape=None):
    return _reduce(lib.bgm_op_max_all, lib.bgm_op_max, x, axis, keepdims, tape)


def softmax(x, axis=-1, tape=None):
    return _unary(lib.bgm_op_softmax, x, tape, int(axis))


def log_softmax(x, axis=-1, tape=None):
    return _unary(lib.bgm_op_log_softmax, x, tape, int(axis))


# ---- neural-network operations (bigmodel/nn_ops.h) --------------------------------------


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(a) for a in v)


def _padding(padding):
    try:
        return _PADDING[padding.lower()]
    except (KeyError, AttributeError):
        raise InvalidArgumentError("padding must be 'valid' or 'same', got %r"
                                   % (padding,)) from None


def conv2d(x, kernel, bias=None, strides=1, padding="valid", tape=None):
    """NHWC convolution with a Keras-shaped kernel (KH, KW, C_in, C_out)."""
    sh, sw = _pair(strides)
    return _run(lib.bgm_op_conv2d, [_operand(x), _operand(kernel), _operand(bias)],
                (sh, sw, _padding(padding)), tape)


def attention(q, k, v, mask=None, causal=False, scale=None, tape=None):
    """Fused scaled dot-product attention (bgm_op_attention): q (N, T, H, dk),
    k (N, S, H, dk), v (N, S, H, dv) to (N, T, H, dv); mask (N, T, S), nonzero
    attends; causal hides keys after the query; scale defaults to 1/sqrt(dk)."""
    q = _operand(q)
    if scale is None:
        scale = 1.0 / float(q.shape[-1]) ** 0.5
    return _run(lib.bgm_op_attention, [q, _operand(k), _operand(v), _operand(mask)],
                (1 if causal else 0, float(scale)), tape)


def max_pool2d(x, pool_size=2, strides=None, padding="valid", tape=None):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides if strides is not None else pool_size)
    return _unary(lib.bgm_op_max_pool2d, x, tape, ph, pw, sh, sw, _padding(padding))


def avg_pool2d(x, pool_size=2, strides=None, padding="valid", tape=None):
    ph, pw = _pair(pool_size)
    sh, sw = _pair(strides if strides is not None else pool_size)
    return _unary(lib.bgm_op_avg_pool2d, x, tape, ph, pw, sh, sw, _padding(padding))


def global_avg_pool2d(x, tape=None):
    return _unary(lib.bgm_op_global_avg_pool2d, x, tape)


def batch_norm(x, gamma=None, beta=None, running_mean=None, running_var=None,
               momentum=0.99, epsilon=1e-3, training=False, tape=None):
    """Batch normalization over the last axis (running statistics updated in place)."""
    ins = [_operand(x), _operand(gamma), _operand(beta)]
    stats = [running_mean, running_var]
    for s in stats:
        if s is not None and not isinstance(s, Tensor):
            raise InvalidArgumentError("batch_norm: running statistics must be Tensors "
                                       "(they are updated in place)")
    return _run(lib.bgm_op_batch_norm, ins + stats,
                (float(momentum), float(epsilon), 1 if training else 0), tape)


def layer_norm(x, gamma=None, beta=None, epsilon=1e-3, tape=None):
    """Layer normalization over the last axis; gamma / beta (D) optional."""
    return _run(lib.bgm_op_layer_norm, [_operand(x), _operand(gamma), _operand(beta)],
                (float(epsilon),), tape)


def rms_norm(x, scale=None, epsilon=1e-6, tape=None):
    """x / sqrt(mean(x^2) + epsilon) * scale over the last axis; scale (D) optional."""
    return _run(lib.bgm_op_rms_norm, [_operand(x), _operand(scale)], (float(epsilon),),
                tape)


def global_avg_pool1d(x, mask=None, keepdims=False, tape=None):
    """Mean over the steps of (N, T, C) sequences, over the steps where mask (N, T)
    is nonzero when given."""
    return _run(lib.bgm_op_global_avg_pool1d, [_operand(x), _operand(mask)],
                (1 if keepdims else 0,), tape)


def dropout(x, rate, generator=None, training=True, tape=None):
    """Inverted dropout drawing its mask from generator (a bigmodel.Generator)."""
    memory = recording_memory(tape)
    x = _prepared(memory, [_operand(x)])[0]
    out = ctypes.c_void_p()
    lib.bgm_op_dropout(ctypes.byref(out), memory.ptr if memory else None, x._h,
                       float(rate), generator._h if generator is not None else None,
                       1 if training else 0)
    if memory is None:
        return Tensor._adopt(out.value)
    memory.borrow([x])
    return Tensor._adopt(out.value, memory)


def mse_loss(pred, target, tape=None):
    return _binary(lib.bgm_op_mse_loss, pred, target, tape)


def mae_loss(pred, target, tape=None):
    return _binary(lib.bgm_op_mae_loss, pred, target, tape)


def binary_crossentropy(pred, target, from_logits=False, tape=None):
    return _run(lib.bgm_op_binary_crossentropy, [_operand(pred), _operand(target)],
                (1 if from_logits else 0,), tape)


def categorical_crossentropy(pred, target, from_logits=False, tape=None):
    return _run(lib.bgm_op_categorical_crossentropy, [_operand(pred), _operand(target)],
                (1 if from_logits else 0,), tape)


def sparse_categorical_crossentropy(pred, labels, from_logits=False, tape=None):
    """Cross-entropy of (..., C) predictions against int32 class ids (...)."""
    return _run(lib.bgm_op_sparse_categorical_crossentropy,
                [_operand(pred), _operand(labels, int32)], (1 if from_logits else 0,), tape)



# ---- sequences (bigmodel/rnn_ops.h) ---------------------------------------------


def embedding(ids, table, tape=None):
    """Rows of table (V, D) for int32 ids of any shape: ids.shape + (D,)."""
    return _run(lib.bgm_op_embedding, [_operand(ids, int32), _operand(table)], (), tape)


def sequence_mask(ids):
    """float32 mask of ids' shape: 1 where the id is not 0 (padding), else 0."""
    ids = _operand(ids, int32)
    out = ctypes.c_void_p()
    lib.bgm_sequence_mask(ctypes.byref(out), ids._h)
    return Tensor._adopt(out.value)


def lstm(x, w_ih, w_hh, bias=None, h0=None, c0=None, mask=None, recurrent_mask=None,
         return_sequences=False, reverse=False, tape=None):
    """Keras' LSTM over x (N, T, F): kernels (F, 4H) and (H, 4H), gates i, f, g, o;
    bias (4H,); out (N, T, H) with return_sequences, else (N, H). mask (N, T)
    skips padded steps; reverse runs time backwards (outputs stay aligned)."""
    ins = [_operand(t) for t in (x, w_ih, w_hh, bias, h0, c0, mask, recurrent_mask)]
    return _run(lib.bgm_op_lstm, ins,
                (1 if return_sequences else 0, 1 if reverse else 0), tape)


def gru(x, w_ih, w_hh, bias=None, h0=None, mask=None, recurrent_mask=None,
        return_sequences=False, reverse=False, tape=None):
    """Keras' GRU (reset_after=True) over x (N, T, F): kernels (F, 3H) and (H, 3H),
    gates z, r, n; bias (2, 3H) (input row, recurrent row); as lstm otherwise."""
    ins = [_operand(t) for t in (x, w_ih, w_hh, bias, h0, mask, recurrent_mask)]
    return _run(lib.bgm_op_gru, ins,
                (1 if return_sequences else 0, 1 if reverse else 0), tape)
