"""Elementwise ops against PyTorch on random data: forward values and gradients."""
import ctypes

import numpy as np
import pytest

from conftest import check

torch = pytest.importorskip("torch")

FLOAT32 = 1
P = ctypes.c_void_p


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
    for name in ("add", "sub", "mul", "div"):
        getattr(lib, "bgm_op_" + name).argtypes = [ctypes.POINTER(P), P, P, P]
    for name in ("exp", "log", "sigmoid", "tanh", "gelu", "sum_all"):
        getattr(lib, "bgm_op_" + name).argtypes = [ctypes.POINTER(P), P, P]
    for name in ("pow", "leaky_relu"):
        getattr(lib, "bgm_op_" + name).argtypes = [ctypes.POINTER(P), P, P, ctypes.c_float]
    return lib


def to_tensor(lib, array):
    array = np.array(array, dtype=np.float32, order="C")  # keeps 0-d arrays 0-d
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


def run_ours(lib, op, inputs, extra=()):
    """Forward without a tape, then out, gradients of sum(out * w) with a tape."""
    tensors = [to_tensor(lib, x) for x in inputs]
    plain = P()
    check(lib, op(ctypes.byref(plain), None, *tensors, *extra))
    forward = to_numpy(lib, plain)
    lib.bgm_tensor_free(plain)

    weights = np.random.default_rng(7).uniform(-1, 1, forward.shape).astype(np.float32)
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
    sources = (P * n)(*tensors)
    grads = (P * n)()
    check(lib, lib.bgm_tape_gradient(tape, loss, sources, n, grads))
    result = [to_numpy(lib, g) for g in grads]
    lib.bgm_tape_free(tape)
    for t in tensors + [w]:
        lib.bgm_tensor_free(t)
    return forward, result, weights


def run_torch(fn, inputs, weights):
    """The reference in float64 from the same float32 inputs: it shows our
    float32 error, not the sum of ours and PyTorch's."""
    xs = [torch.tensor(np.asarray(x, dtype=np.float32), dtype=torch.float64, requires_grad=True)
          for x in inputs]
    out = fn(*xs)
    (out * torch.tensor(weights, dtype=torch.float64)).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() for x in xs]


def compare(lib, op, torch_fn, inputs, extra=()):
    forward, grads, weights = run_ours(lib, op, inputs, extra)
    want, want_grads = run_torch(torch_fn, inputs, weights)
    np.testing.assert_allclose(forward, want, rtol=1e-5, atol=1e-7)
    assert len(grads) == len(want_grads)
    for got, ref in zip(grads, want_grads):
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


RNG = np.random.default_rng(2024)


def test_gelu_matches_torch_exact_gelu(api):
    x = RNG.normal(0, 3, (7, 9))
    compare(api, api.bgm_op_gelu, torch.nn.functional.gelu, [x])


def test_sigmoid_matches_torch_including_saturated_inputs(api):
    x = np.concatenate([RNG.normal(0, 4, 50), [-100, -30, 30, 100]])
    compare(api, api.bgm_op_sigmoid, torch.sigmoid, [x])


def test_tanh_matches_torch(api):
    compare(api, api.bgm_op_tanh, torch.tanh, [RNG.normal(0, 2, (4, 5))])


@pytest.mark.parametrize("shape_a,shape_b", [((3, 4), (4,)), ((3, 1), (1, 4)),
                                             ((2, 3, 4), (3, 1)), ((), (5,))])
def test_div_with_broadcasting_matches_torch(api, shape_a, shape_b):
    a = RNG.normal(0, 1, shape_a)
    b = RNG.uniform(0.5, 2, shape_b) * RNG.choice([-1, 1], shape_b)
    compare(api, api.bgm_op_div, torch.div, [a, b])


def test_mul_and_sub_with_broadcasting_match_torch(api):
    a, b = RNG.normal(0, 1, (2, 1, 3)), RNG.normal(0, 1, (4, 1))
    compare(api, api.bgm_op_mul, torch.mul, [a, b])
    compare(api, api.bgm_op_sub, torch.sub, [a, b])


@pytest.mark.parametrize("p", [2.0, 1.7, -0.5, 3.0])
def test_pow_matches_torch(api, p):
    x = RNG.uniform(0.3, 3, (6, 5))
    compare(api, api.bgm_op_pow, lambda t: torch.pow(t, p), [x], (p,))


def test_log_exp_and_leaky_relu_match_torch(api):
    compare(api, api.bgm_op_log, torch.log, [RNG.uniform(0.1, 5, 20)])
    compare(api, api.bgm_op_exp, torch.exp, [RNG.normal(0, 2, 20)])
    x = RNG.normal(0, 1, 30)
    compare(api, api.bgm_op_leaky_relu,
            lambda t: torch.nn.functional.leaky_relu(t, 0.2), [x], (0.2,))
