"""Model weights as safetensors for PyTorch: the demo CNN built in C through
ctypes (Conv2D, BatchNormalization, MaxPooling2D, Flatten, Dropout, Dense)
exports its weights; plain Python (struct + json + numpy, no safetensors
package) reads them into the equivalent torch.nn.Sequential with
load_state_dict(strict=True), which then predicts what the library predicts
within 1e-5 on the same images (NHWC for the library, NCHW for torch). The
other way round, a state_dict written from torch imports into the C model
with the same result."""
import ctypes

import numpy as np
import pytest

from cbridge import declare_tensor_api, model_predict
from conftest import check
from safetensors_plain import read_safetensors, write_safetensors

torch = pytest.importorskip("torch")

ACT_LINEAR, ACT_RELU = 0, 1

H, W, C = 12, 12, 3


@pytest.fixture(scope="module")
def api(lib):
    vp, pvp, i64 = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_int64
    lib.bgm_model_create.argtypes = [pvp, ctypes.POINTER(i64), ctypes.c_int, ctypes.c_uint64]
    lib.bgm_model_free.argtypes = [vp]
    lib.bgm_model_add.argtypes = [vp, vp]
    for name in ("bgm_layer_conv2d",):
        getattr(lib, name).restype = vp
        getattr(lib, name).argtypes = [i64, i64, ctypes.c_int]
    lib.bgm_layer_dense.restype = vp
    lib.bgm_layer_dense.argtypes = [i64, ctypes.c_int]
    lib.bgm_layer_max_pool2d.restype = vp
    lib.bgm_layer_max_pool2d.argtypes = [i64]
    lib.bgm_layer_dropout.restype = vp
    lib.bgm_layer_dropout.argtypes = [ctypes.c_float]
    lib.bgm_layer_batch_norm.restype = vp
    lib.bgm_layer_batch_norm.argtypes = []
    lib.bgm_layer_flatten.restype = vp
    lib.bgm_layer_flatten.argtypes = []
    lib.bgm_model_num_weights.argtypes = [vp]
    lib.bgm_model_weight.restype = vp
    lib.bgm_model_weight.argtypes = [vp, ctypes.c_int]
    lib.bgm_model_weight_name.restype = ctypes.c_char_p
    lib.bgm_model_weight_name.argtypes = [vp, ctypes.c_int]
    lib.bgm_model_predict.argtypes = [pvp, vp, vp, i64]
    lib.bgm_model_save_weights_safetensors.argtypes = [vp, ctypes.c_char_p]
    lib.bgm_model_load_weights_safetensors.argtypes = [vp, ctypes.c_char_p]
    return declare_tensor_api(lib)


def demo_cnn(api, seed=42):
    """The library's demo CNN: conv-BN-pool-conv-flatten-dropout-dense-dense."""
    m = ctypes.c_void_p()
    shape = (ctypes.c_int64 * 3)(H, W, C)
    check(api, api.bgm_model_create(ctypes.byref(m), shape, 3, seed))
    for layer in (api.bgm_layer_conv2d(8, 3, ACT_RELU),
                  api.bgm_layer_batch_norm(),
                  api.bgm_layer_max_pool2d(2),
                  api.bgm_layer_conv2d(16, 3, ACT_RELU),
                  api.bgm_layer_flatten(),
                  api.bgm_layer_dropout(0.5),
                  api.bgm_layer_dense(32, ACT_RELU),
                  api.bgm_layer_dense(10, ACT_LINEAR)):
        check(api, api.bgm_model_add(m, layer))
    return m


def torch_cnn():
    """The same network as PyTorch writes it (NCHW, plain nn.Flatten)."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(C, 8, 3), torch.nn.ReLU(),          # 0, 1
        torch.nn.BatchNorm2d(8, eps=1e-3, momentum=0.01),   # 2
        torch.nn.MaxPool2d(2),                              # 3
        torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(),         # 4, 5
        torch.nn.Flatten(),                                 # 6
        torch.nn.Dropout(0.5),                              # 7
        torch.nn.Linear(3 * 3 * 16, 32), torch.nn.ReLU(),   # 8, 9
        torch.nn.Linear(32, 10))                            # 10


def weight_array(api, m, i):
    """A writable numpy view of the model's weight i."""
    t = api.bgm_model_weight(m, i)
    n = api.bgm_tensor_numel(t)
    return np.ctypeslib.as_array((ctypes.c_float * n).from_address(api.bgm_tensor_data(t)))


def spread_batch_norm(api, m, rng):
    """Gives BatchNorm's four vectors values far from their 1 / 0 start."""
    for i in range(api.bgm_model_num_weights(m)):
        name = api.bgm_model_weight_name(m, i).decode()
        if name.startswith("batch_normalization/"):
            w = weight_array(api, m, i)
            w[:] = rng.uniform(0.5, 2.0, w.shape) if name.endswith(("gamma", "variance")) \
                else rng.normal(0.0, 0.5, w.shape)


def c_predict(api, m, x):
    return model_predict(api, m, x).reshape(x.shape[0], -1)


def images(n, seed):
    return np.random.default_rng(seed).normal(size=(n, H, W, C)).astype(np.float32)


def torch_predict(net, x_nhwc):
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(x_nhwc.transpose(0, 3, 1, 2).copy())).numpy()


def test_exported_weights_load_into_the_torch_sequential_and_predict_the_same(api, tmp_path):
    m = demo_cnn(api)
    try:
        spread_batch_norm(api, m, np.random.default_rng(0))
        path = tmp_path / "cnn.safetensors"
        check(api, api.bgm_model_save_weights_safetensors(m, str(path).encode()))
        tensors, _ = read_safetensors(path)
        net = torch_cnn()
        assert list(tensors) == list(net.state_dict())  # names and order
        net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()},
                            strict=True)
        x = images(7, 1)
        want = c_predict(api, m, x)
        got = torch_predict(net, x)
        assert np.abs(want).max() > 0.1  # not a vacuous comparison
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    finally:
        api.bgm_model_free(m)


def test_a_torch_state_dict_imports_into_the_c_model(api, tmp_path):
    torch.manual_seed(3)
    net = torch_cnn()
    with torch.no_grad():  # trained-looking BatchNorm statistics
        net[2].running_mean.uniform_(-0.5, 0.5)
        net[2].running_var.uniform_(0.5, 2.0)
        net[2].weight.uniform_(0.5, 1.5)
        net[2].bias.uniform_(-0.3, 0.3)
        net[2].num_batches_tracked.fill_(17)
    path = tmp_path / "from_torch.safetensors"
    write_safetensors(path, {k: v.numpy() for k, v in net.state_dict().items()})
    m = demo_cnn(api, seed=7)
    try:
        check(api, api.bgm_model_load_weights_safetensors(m, str(path).encode()))
        x = images(5, 2)
        np.testing.assert_allclose(c_predict(api, m, x), torch_predict(net, x),
                                   rtol=0, atol=1e-5)
    finally:
        api.bgm_model_free(m)
