"""Elementwise ops against PyTorch on random data: forward values and gradients."""
import ctypes

import numpy as np
import pytest

from cbridge import P, PP, compare_with_torch as compare, declare_tensor_api

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    for name in ("add", "sub", "mul", "div"):
        getattr(lib, "bgm_op_" + name).argtypes = [PP, P, P, P]
    for name in ("exp", "log", "sigmoid", "tanh", "gelu", "sum_all"):
        getattr(lib, "bgm_op_" + name).argtypes = [PP, P, P]
    for name in ("pow", "leaky_relu"):
        getattr(lib, "bgm_op_" + name).argtypes = [PP, P, P, ctypes.c_float]
    return lib


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
