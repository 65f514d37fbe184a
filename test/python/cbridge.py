"""The ctypes side of the Python tests that call the C API directly: the
tensor and tape signatures, numpy arrays in and out of library tensors,
gradients of sum(out * w) on a tape, and the float64 references they are
compared with. The bindings tests use the bigmodel package instead."""
import ctypes

import numpy as np

from conftest import check

FLOAT32, INT32 = 1, 2
P = ctypes.c_void_p
PP = ctypes.POINTER(P)
I64 = ctypes.c_int64

_TENSOR_API = {
    "bgm_tensor_from_data": ([PP, ctypes.c_int, ctypes.POINTER(I64), ctypes.c_int, P],
                             ctypes.c_int),
    "bgm_tensor_wrap": ([PP, ctypes.c_int, ctypes.POINTER(I64), ctypes.c_int, P, P, P],
                        ctypes.c_int),
    "bgm_tensor_free": ([P], None),
    "bgm_tensor_data": ([P], P),
    "bgm_tensor_dtype": ([P], ctypes.c_int),
    "bgm_tensor_ndim": ([P], ctypes.c_int),
    "bgm_tensor_shape": ([P], ctypes.POINTER(I64)),
    "bgm_tensor_numel": ([P], I64),
    "bgm_tensor_nbytes": ([P], ctypes.c_size_t),
    "bgm_tensor_set_requires_grad": ([P, ctypes.c_int], ctypes.c_int),
    "bgm_tape_create": ([PP], ctypes.c_int),
    "bgm_tape_free": ([P], None),
    "bgm_tape_watch": ([P, P], ctypes.c_int),
    "bgm_tape_gradient": ([P, P, PP, ctypes.c_int, PP], ctypes.c_int),
    "bgm_op_mul": ([PP, P, P, P], ctypes.c_int),
    "bgm_op_sum_all": ([PP, P, P], ctypes.c_int),
}


def declare_tensor_api(lib):
    """Gives lib the signatures of the tensor and tape functions (and the mul
    and sum_all ops that build test losses); returns lib."""
    for name, (args, res) in _TENSOR_API.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


def _as_c_array(array, dtype):
    """array as a C-ordered float32 or int32 numpy array (0-d stays 0-d),
    with its library dtype: int32 where array is int32 or dtype says so."""
    array = np.asarray(array)
    if dtype is None:
        dtype = INT32 if array.dtype == np.int32 else FLOAT32
    return np.require(array, np.int32 if dtype == INT32 else np.float32, "C"), dtype


def to_tensor(lib, array, dtype=None):
    """A new library tensor holding a copy of array; the caller frees it."""
    a, dtype = _as_c_array(array, dtype)
    out = P()
    check(lib, lib.bgm_tensor_from_data(ctypes.byref(out), dtype, (I64 * max(a.ndim, 1))(
        *a.shape), a.ndim, a.ctypes.data_as(P)))
    return out


def wrap(lib, array, dtype=None):
    """A library tensor viewing the memory of array (converted first where it
    is not already C-ordered float32 / int32). Returns (handle, the array it
    views): the array must outlive the handle."""
    a, dtype = _as_c_array(array, dtype)
    out = P()
    check(lib, lib.bgm_tensor_wrap(ctypes.byref(out), dtype, (I64 * max(a.ndim, 1))(*a.shape),
                                   a.ndim, a.ctypes.data_as(P), None, None))
    return out, a


def to_numpy(lib, t):
    """A copy of tensor t as a numpy array of its dtype and shape."""
    shape = tuple(lib.bgm_tensor_shape(t)[i] for i in range(lib.bgm_tensor_ndim(t)))
    dtype = np.int32 if lib.bgm_tensor_dtype(t) == INT32 else np.float32
    nbytes = lib.bgm_tensor_nbytes(t)
    raw = ctypes.string_at(lib.bgm_tensor_data(t), nbytes) if nbytes else b""
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def model_predict(lib, model, x):
    """bgm_model_predict of model (a handle) on a copy of x, as numpy."""
    xt, out = to_tensor(lib, x), P()
    try:
        check(lib, lib.bgm_model_predict(ctypes.byref(out), model, xt, 0))
        return to_numpy(lib, out)
    finally:
        lib.bgm_tensor_free(xt)
        lib.bgm_tensor_free(out)


def op_gradients(lib, op, inputs, extra, weight_seed):
    """out = op(inputs, *extra) without a tape; then, on a tape with the
    inputs requiring gradients, the gradients of sum(out * w) for weights w
    drawn uniformly from [-1, 1) with weight_seed. Returns (out, gradients, w)."""
    tensors = [to_tensor(lib, x) for x in inputs]
    plain = P()
    check(lib, op(ctypes.byref(plain), None, *tensors, *extra))
    forward = to_numpy(lib, plain)
    lib.bgm_tensor_free(plain)

    weights = np.random.default_rng(weight_seed).uniform(-1, 1, forward.shape) \
        .astype(np.float32)
    w = to_tensor(lib, weights)
    tape = P()
    check(lib, lib.bgm_tape_create(ctypes.byref(tape)))
    for t in tensors:
        check(lib, lib.bgm_tensor_set_requires_grad(t, 1))
    out, prod, loss = P(), P(), P()
    check(lib, op(ctypes.byref(out), tape, *tensors, *extra))
    check(lib, lib.bgm_op_mul(ctypes.byref(prod), tape, out, w))
    check(lib, lib.bgm_op_sum_all(ctypes.byref(loss), tape, prod))
    n = len(tensors)
    grads = (P * n)()
    check(lib, lib.bgm_tape_gradient(tape, loss, (P * n)(*tensors), n, grads))
    result = [to_numpy(lib, g) for g in grads]
    lib.bgm_tape_free(tape)
    for t in tensors + [w]:
        lib.bgm_tensor_free(t)
    return forward, result, weights


def torch_op_gradients(fn, inputs, weights):
    """The reference of op_gradients: fn in float64 from the same float32
    inputs, so a comparison shows our float32 error, not the sum of ours and
    PyTorch's. Returns (out, gradients)."""
    import torch
    xs = [torch.tensor(np.asarray(x, dtype=np.float32), dtype=torch.float64,
                       requires_grad=True) for x in inputs]
    out = fn(*xs)
    (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def compare_with_torch(lib, op, torch_fn, inputs, extra=(), weight_seed=7):
    """op_gradients of op against torch_op_gradients of torch_fn: forward
    values and every gradient within rtol 1e-5 of PyTorch's (NaN matches NaN)."""
    forward, grads, weights = op_gradients(lib, op, inputs, extra, weight_seed)
    want, want_grads = torch_op_gradients(torch_fn, inputs, weights)
    np.testing.assert_allclose(forward, want, rtol=1e-5, atol=1e-7)
    assert len(grads) == len(want_grads)
    for got, ref in zip(grads, want_grads):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


class TapeSession:
    """A tape plus numpy arrays wrapped as tensors (kept alive here)."""

    def __init__(self, lib):
        self.lib = lib
        self.arrays, self.handles = [], []
        self.tape = P()
        check(lib, lib.bgm_tape_create(ctypes.byref(self.tape)))

    def tensor(self, array, watch=False):
        """array wrapped without a copy (None stays None); watch makes it a
        gradient source of the tape."""
        if array is None:
            return None
        h, a = wrap(self.lib, array)
        self.arrays.append(a)
        self.handles.append(h)
        if watch:
            check(self.lib, self.lib.bgm_tape_watch(self.tape, h))
        return h

    def call(self, name, *args):
        """Runs the op called name on the tape; its result belongs to the tape."""
        out = P()
        check(self.lib, getattr(self.lib, name)(ctypes.byref(out), self.tape, *args))
        return out

    def read(self, t):
        return to_numpy(self.lib, t)

    def grads(self, out, weight, sources):
        """Gradients of sum(out * weight) with respect to sources."""
        prod = self.call("bgm_op_mul", out, self.tensor(weight))
        loss = self.call("bgm_op_sum_all", prod)
        srcs = (P * len(sources))(*sources)
        grads = (P * len(sources))()
        check(self.lib, self.lib.bgm_tape_gradient(self.tape, loss, srcs, len(sources), grads))
        return [self.read(g) for g in grads]

    def close(self):
        self.lib.bgm_tape_free(self.tape)
        for h in self.handles:
            self.lib.bgm_tensor_free(h)


def t64(a, grad=True):
    """a as a float64 torch tensor, a gradient source unless grad is False."""
    import torch
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def assert_close(got, want, what, tol=1e-4):
    """Same shape, and the largest difference below tol relative to the
    largest reference value (at least 1e-6)."""
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, "%s: shape %s, want %s" % (what, got.shape, want.shape)
    scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-6)
    err = float(np.abs(got - want).max()) / scale if want.size else 0.0
    assert err < tol, "%s: relative error %.3g" % (what, err)
