"""matmul, softmax, log_softmax and max over an axis against PyTorch on random
data: forward values and gradients, relative error below 1e-5."""
import ctypes

import numpy as np
import pytest

from conftest import check

torch = pytest.importorskip("torch")

FLOAT32 = 1
P = ctypes.c_void_p
RTOL = 1e-5


@pytest.fixture(scope="module")
def api(lib):
    lib.bgm_tensor_from_data.argtypes = [ctypes.POINTER(P), ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_int64), ctypes.c_int, P]
    lib.bgm_tensor_data.restype = P
    lib.bgm_tensor_data.argtypes = [P]
    lib.bgm_tensor_numel.restype = ctypes.c_int64
    lib.bgm_tensor_numel.argtypes = [P]
    lib.bgm_tensor_ndim.argtypes = [P]
    lib.bgm_tensor_shape.restype = ctypes.POINTER(ctypes.c_int64)
    lib.bgm_tensor_shape.argtypes = [P]
    lib.bgm_tensor_free.argtypes = [P]
    lib.bgm_tensor_set_requires_grad.argtypes = [P, ctypes.c_int]
    lib.bgm_tape_create.argtypes = [ctypes.POINTER(P)]
    lib.bgm_tape_free.argtypes = [P]
    lib.bgm_tape_gradient.argtypes = [P, P, ctypes.POINTER(P), ctypes.c_int,
                                      ctypes.POINTER(P)]
    lib.bgm_op_mul.argtypes = [ctypes.POINTER(P), P, P, P]
    lib.bgm_op_matmul.argtypes = [ctypes.POINTER(P), P, P, P]
    lib.bgm_op_sum_all.argtypes = [ctypes.POINTER(P), P, P]
    lib.bgm_op_softmax.argtypes = [ctypes.POINTER(P), P, P, ctypes.c_int]
    lib.bgm_op_log_softmax.argtypes = [ctypes.POINTER(P), P, P, ctypes.c_int]
    lib.bgm_op_max.argtypes = [ctypes.POINTER(P), P, P, ctypes.c_int, ctypes.c_int]
    return lib


def to_tensor(lib, array):
    array = np.ascontiguousarray(array, dtype=np.float32)
    shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
    out = P()
    check(lib, lib.bgm_tensor_from_data(ctypes.byref(out), FLOAT32, shape, array.ndim,
                                        array.ctypes.data_as(P)))
    return out


def to_numpy(lib, t):
    ndim = lib.bgm_tensor_ndim(t)
    shape = tuple(lib.bgm_tensor_shape(t)[i] for i in range(ndim))
    n = lib.bgm_tensor_numel(t)
    buf = (ctypes.c_float * n).from_address(lib.bgm_tensor_data(t))
    return np.array(buf, dtype=np.float32).reshape(shape)


def run_ours(lib, op, inputs, extra):
    """out = op(inputs) without a tape; then the gradients of sum(out * w)."""
    tensors = [to_tensor(lib, x) for x in inputs]
    plain = P()
    check(lib, op(ctypes.byref(plain), None, *tensors, *extra))
    forward = to_numpy(lib, plain)
    lib.bgm_tensor_free(plain)

    weights = np.random.default_rng(5).uniform(-1, 1, forward.shape).astype(np.float32)
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


def run_torch(fn, inputs, weights):
    """Reference in float64 from the same float32 inputs."""
    xs = [torch.tensor(np.asarray(x, dtype=np.float32), dtype=torch.float64,
                       requires_grad=True) for x in inputs]
    out = fn(*xs)
    (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def assert_relative(got, want, what):
    assert got.shape == want.shape, what
    scale = max(np.abs(want).max(initial=0.0), 1e-30)
    err = np.abs(got.astype(np.float64) - want).max(initial=0.0) / scale
    assert err < RTOL, "%s: relative error %g" % (what, err)


def compare(lib, op, torch_fn, inputs, extra=()):
    forward, grads, weights = run_ours(lib, op, inputs, extra)
    want, want_grads = run_torch(torch_fn, inputs, weights)
    assert_relative(forward, want, "forward")
    for k, (got, ref) in enumerate(zip(grads, want_grads)):
        assert_relative(got, ref, "gradient %d" % k)


RNG = np.random.default_rng(77)


@pytest.mark.parametrize("sa,sb", [
    ((64, 128), (128, 32)),           # plain 2-D
    ((3, 4, 5, 6), (6, 7)),           # batch @ matrix: folds into one sgemm
    ((4, 5, 6), (4, 6, 3)),           # batch @ batch
    ((2, 1, 5, 6), (3, 6, 4)),        # batch dimensions broadcast both ways
    ((5, 6), (3, 6, 2)),              # matrix @ batch
    ((1, 3, 4, 8), (2, 1, 8, 5)),
])
def test_matmul_matches_torch(api, sa, sb):
    a = RNG.normal(size=sa)
    b = RNG.normal(size=sb)
    compare(api, api.bgm_op_matmul, torch.matmul, [a, b])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_matches_torch(api, axis):
    x = RNG.normal(0, 3, (4, 5, 70))
    compare(api, api.bgm_op_softmax, lambda t: torch.softmax(t, axis), [x], (axis,))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_log_softmax_matches_torch(api, axis):
    x = RNG.normal(0, 3, (4, 5, 70))
    compare(api, api.bgm_op_log_softmax, lambda t: torch.log_softmax(t, axis), [x],
            (axis,))


def test_softmax_and_log_softmax_of_large_logits_match_torch(api):
    x = RNG.normal(500, 10, (8, 33))
    compare(api, api.bgm_op_softmax, lambda t: torch.softmax(t, 1), [x], (1,))
    compare(api, api.bgm_op_log_softmax, lambda t: torch.log_softmax(t, 1), [x], (1,))


@pytest.mark.parametrize("axis,keepdims", [(0, 0), (1, 1), (2, 0), (-1, 1)])
def test_max_over_an_axis_matches_torch(api, axis, keepdims):
    x = RNG.normal(size=(6, 7, 300))
    compare(api, api.bgm_op_max,
            lambda t: torch.amax(t, dim=axis, keepdim=bool(keepdims)), [x],
            (axis, keepdims))


@pytest.mark.parametrize("axis", [0, 1])
def test_softmax_of_a_large_batch_matches_torch(api, axis):
    """Large enough for the kernels' threaded paths."""
    x = RNG.normal(0, 2, (96, 1000))
    compare(api, api.bgm_op_softmax, lambda t: torch.softmax(t, axis), [x], (axis,))
    compare(api, api.bgm_op_log_softmax, lambda t: torch.log_softmax(t, axis), [x],
            (axis,))
