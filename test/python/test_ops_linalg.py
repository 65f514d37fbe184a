"""matmul, softmax, log_softmax and max over an axis against PyTorch on random
data: forward values and gradients, relative error below 1e-5."""
import ctypes

import numpy as np
import pytest

from cbridge import P, PP, declare_tensor_api, op_gradients, torch_op_gradients

torch = pytest.importorskip("torch")

RTOL = 1e-5


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    lib.bgm_op_matmul.argtypes = [PP, P, P, P]
    lib.bgm_op_linear.argtypes = [PP, P, P, P, P]
    lib.bgm_op_softmax.argtypes = [PP, P, P, ctypes.c_int]
    lib.bgm_op_log_softmax.argtypes = [PP, P, P, ctypes.c_int]
    lib.bgm_op_max.argtypes = [PP, P, P, ctypes.c_int, ctypes.c_int]
    return lib


def assert_relative(got, want, what):
    assert got.shape == want.shape, what
    scale = max(np.abs(want).max(initial=0.0), 1e-30)
    err = np.abs(got.astype(np.float64) - want).max(initial=0.0) / scale
    assert err < RTOL, "%s: relative error %g" % (what, err)


def compare(lib, op, torch_fn, inputs, extra=()):
    forward, grads, weights = op_gradients(lib, op, inputs, extra, weight_seed=5)
    want, want_grads = torch_op_gradients(torch_fn, inputs, weights)
    assert_relative(forward, want, "forward")
    for k, (got, ref) in enumerate(zip(grads, want_grads)):
        assert_relative(got, ref, "gradient %d" % k)


RNG = np.random.default_rng(77)


@pytest.mark.parametrize("sx,units", [((64, 128), 32), ((3, 17, 40), 24), ((2, 3, 4, 9), 5)])
def test_linear_matches_torch_linear(api, sx, units):
    x = RNG.standard_normal(sx).astype(np.float32)
    kernel = RNG.standard_normal((sx[-1], units)).astype(np.float32)
    bias = RNG.standard_normal(units).astype(np.float32)
    compare(api, api.bgm_op_linear, lambda a, w, b: torch.nn.functional.linear(a, w.T, b),
            [x, kernel, bias])


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
