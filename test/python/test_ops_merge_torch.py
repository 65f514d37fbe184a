"""maximum, minimum and zero_pad2d against PyTorch (torch.maximum,
torch.minimum, torch.nn.functional.pad) on random data: forward values and
gradients within rtol 1e-5, broadcasting, exact ties and NaN included.

Ties follow torch's rule (each operand gets half the gradient), and where
either operand is NaN both get all of it; values on a grid of 0.5 make ties
common. zero_pad2d takes NHWC images, which F.pad pads from the last
dimension inwards: (C, C, W left, W right, H top, H bottom)."""
import ctypes

import numpy as np
import pytest

from cbridge import I64, P, PP, compare_with_torch, declare_tensor_api, to_tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    for name in ("bgm_op_maximum", "bgm_op_minimum"):
        getattr(lib, name).argtypes = [PP, P, P, P]
    lib.bgm_op_zero_pad2d.argtypes = [PP, P, P, I64, I64, I64, I64]
    return lib


RNG = np.random.default_rng(1913)

BROADCASTS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
              ((), (5,)), ((2, 1, 3, 1), (4, 1, 2))]


def grid(shape):
    """N(0, 1) values rounded to multiples of 0.5: many exact ties."""
    return np.round(RNG.normal(0, 1, shape) * 2) / 2


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@pytest.mark.parametrize("shape_a,shape_b", BROADCASTS)
def test_maximum_and_minimum_match_torch(api, op, shape_a, shape_b):
    a, b = RNG.normal(0, 1, shape_a), RNG.normal(0, 1, shape_b)
    compare_with_torch(api, getattr(api, "bgm_op_" + op), getattr(torch, op), [a, b])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
@pytest.mark.parametrize("shape_a,shape_b", BROADCASTS)
def test_ties_split_the_gradient_as_torch_does(api, op, shape_a, shape_b):
    a, b = grid(shape_a), grid(shape_b)
    compare_with_torch(api, getattr(api, "bgm_op_" + op), getattr(torch, op), [a, b])


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_nan_propagates_and_passes_the_gradient_to_both(api, op):
    a = np.array([[np.nan, 1.0, 2.0], [3.0, np.nan, -1.0]])
    b = np.array([0.5, np.nan, 2.0])
    compare_with_torch(api, getattr(api, "bgm_op_" + op), getattr(torch, op), [a, b])


PAD_CASES = [
    # x (N, H, W, C), (top, bottom, left, right)
    ((2, 5, 4, 3), (1, 1, 1, 1)),
    ((1, 3, 6, 2), (2, 0, 0, 3)),
    ((3, 4, 4, 1), (0, 3, 2, 0)),
    ((2, 2, 3, 4), (0, 0, 0, 0)),
    ((1, 1, 1, 8), (4, 4, 4, 4)),
]


@pytest.mark.parametrize("shape,pads", PAD_CASES,
                         ids=lambda v: "x".join(map(str, v)))
def test_zero_pad2d_matches_torch_pad(api, shape, pads):
    top, bottom, left, right = pads
    x = RNG.normal(0, 1, shape)
    compare_with_torch(api, api.bgm_op_zero_pad2d,
                       lambda t: F.pad(t, (0, 0, left, right, top, bottom)), [x], pads)


def test_zero_pad2d_refuses_negative_padding(api):
    t = to_tensor(api, np.zeros((1, 2, 2, 1), np.float32))
    out = P()
    try:
        status = api.bgm_op_zero_pad2d(ctypes.byref(out), None, t, 0, 0, -1, 0)
        assert api.bgm_status_string(status) == b"BGM_E_INVALID"
        assert not out
        assert b"left -1" in api.bgm_last_error()
    finally:
        api.bgm_tensor_free(t)
