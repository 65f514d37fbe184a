"""Layers of a bgm_model against PyTorch on identical weights and inputs:
outputs at inference (bgm_model_predict), outputs and gradients in training
mode (bgm_model_forward on a tape), BatchNorm's moving statistics, Dropout's
masks. Keras layouts are mapped onto PyTorch's: Dense kernels (in, out) are
nn.Linear weights transposed, Conv2D kernels (KH, KW, C, F) are permuted to
(F, C, KH, KW), images NHWC to NCHW."""
import ctypes

import numpy as np
import pytest

from cbridge import (I64, P, declare_tensor_api, model_predict, tf_same_pads, to_numpy,
                     to_tensor)
from conftest import check

torch = pytest.importorskip("torch")
F = torch.nn.functional

LINEAR, RELU, SIGMOID, TANH, SOFTMAX, LEAKY_RELU, GELU = range(7)
VALID, SAME = 0, 1


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    sig = {
        "bgm_model_create": ([ctypes.POINTER(P), ctypes.POINTER(I64), ctypes.c_int,
                              ctypes.c_uint64], ctypes.c_int),
        "bgm_model_free": ([P], None),
        "bgm_model_add": ([P, P], ctypes.c_int),
        "bgm_model_num_params": ([P], I64),
        "bgm_model_set_weights": ([P, ctypes.POINTER(ctypes.c_float), I64], ctypes.c_int),
        "bgm_model_get_weights": ([P, ctypes.POINTER(ctypes.c_float), I64], ctypes.c_int),
        "bgm_model_trainable_params": ([ctypes.POINTER(ctypes.POINTER(P)),
                                        ctypes.POINTER(ctypes.c_int), P], ctypes.c_int),
        "bgm_model_predict": ([ctypes.POINTER(P), P, P, I64], ctypes.c_int),
        "bgm_model_forward": ([ctypes.POINTER(P), P, P, P, ctypes.c_int], ctypes.c_int),
        "bgm_layer_dense": ([I64, ctypes.c_int], P),
        "bgm_layer_conv2d": ([I64, I64, ctypes.c_int], P),
        "bgm_layer_max_pool2d": ([I64], P),
        "bgm_layer_avg_pool2d": ([I64], P),
        "bgm_layer_global_avg_pool2d": ([], P),
        "bgm_layer_flatten": ([], P),
        "bgm_layer_dropout": ([ctypes.c_float], P),
        "bgm_layer_batch_norm": ([], P),
        "bgm_layer_activation": ([ctypes.c_int], P),
        "bgm_layer_set_strides": ([P, I64, I64], ctypes.c_int),
        "bgm_layer_set_padding": ([P, ctypes.c_int], ctypes.c_int),
        "bgm_layer_set_pool_size": ([P, I64, I64], ctypes.c_int),
        "bgm_layer_set_momentum": ([P, ctypes.c_float], ctypes.c_int),
    }
    for name, (args, res) in sig.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


class Model:
    """A bgm_model built from (constructor, args, setters) layer specs."""

    def __init__(self, lib, input_shape, layers, seed=1):
        self.lib = lib
        self.m = P()
        check(lib, lib.bgm_model_create(ctypes.byref(self.m), (I64 * len(input_shape))(
            *input_shape), len(input_shape), seed))
        for ctor, args, setters in layers:
            layer = getattr(lib, "bgm_layer_" + ctor)(*args)
            for setter, sargs in setters:
                check(lib, getattr(lib, "bgm_layer_set_" + setter)(layer, *sargs))
            check(lib, lib.bgm_model_add(self.m, layer))

    def set_weights(self, weights):
        flat = np.concatenate([np.ravel(w) for w in weights]).astype(np.float32)
        assert flat.size == self.lib.bgm_model_num_params(self.m)
        check(self.lib, self.lib.bgm_model_set_weights(
            self.m, flat.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), flat.size))

    def weights(self):
        n = self.lib.bgm_model_num_params(self.m)
        buf = (ctypes.c_float * n)()
        check(self.lib, self.lib.bgm_model_get_weights(self.m, buf, n))
        return np.array(buf)

    def predict(self, x):
        return model_predict(self.lib, self.m, x)

    def train_forward(self, x, weight_seed=3):
        """Training-mode outputs and the gradients of sum(out * W) with
        respect to the trainable weights and x."""
        lib = self.lib
        xt, tape, out, w, prod, loss = to_tensor(lib, x), P(), P(), None, P(), P()
        check(lib, lib.bgm_tensor_set_requires_grad(xt, 1))
        check(lib, lib.bgm_tape_create(ctypes.byref(tape)))
        check(lib, lib.bgm_model_forward(ctypes.byref(out), self.m, tape, xt, 1))
        y = to_numpy(lib, out)
        wv = np.random.default_rng(weight_seed).uniform(-1, 1, y.shape).astype(np.float32)
        w = to_tensor(lib, wv)
        check(lib, lib.bgm_op_mul(ctypes.byref(prod), tape, out, w))
        check(lib, lib.bgm_op_sum_all(ctypes.byref(loss), tape, prod))
        params, n = ctypes.POINTER(P)(), ctypes.c_int()
        check(lib, lib.bgm_model_trainable_params(ctypes.byref(params), ctypes.byref(n),
                                                   self.m))
        sources = (P * (n.value + 1))(*[params[i] for i in range(n.value)], xt)
        grads = (P * (n.value + 1))()
        check(lib, lib.bgm_tape_gradient(tape, loss, sources, n.value + 1, grads))
        g = [to_numpy(lib, grads[i]) for i in range(n.value + 1)]
        lib.bgm_tape_free(tape)
        lib.bgm_tensor_free(w)
        lib.bgm_tensor_free(xt)
        return y, g[:-1], g[-1], wv

    def close(self):
        self.lib.bgm_model_free(self.m)


def torch_grads(fn, x, params, wv):
    """fn(x, *params) in float64; returns output, param grads, x grad."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ps = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    y = fn(xt, *ps)
    (y * torch.tensor(wv, dtype=torch.float64)).sum().backward()
    return y.detach().numpy(), [p.grad.numpy() for p in ps], xt.grad.numpy()


def close(got, want, what, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=what)


RNG = np.random.default_rng(11)

ACTS = {
    LINEAR: lambda t: t, RELU: F.relu, SIGMOID: torch.sigmoid, TANH: torch.tanh,
    SOFTMAX: lambda t: F.softmax(t, dim=-1), LEAKY_RELU: lambda t: F.leaky_relu(t, 0.2),
    GELU: F.gelu,
}


@pytest.mark.parametrize("act", sorted(ACTS))
def test_dense_matches_torch_linear(api, act):
    x = RNG.normal(0, 1, (5, 4)).astype(np.float32)
    k = RNG.normal(0, 0.5, (4, 3)).astype(np.float32)
    b = RNG.normal(0, 0.5, 3).astype(np.float32)
    m = Model(api, (4,), [("dense", (3, act), [])])
    m.set_weights([k, b])

    def fn(xt, kt, bt):
        return ACTS[act](F.linear(xt, kt.T, bt))

    close(m.predict(x), fn(torch.tensor(x, dtype=torch.float64),
                           torch.tensor(k, dtype=torch.float64),
                           torch.tensor(b, dtype=torch.float64)).numpy(), "predict")
    y, grads, gx, wv = m.train_forward(x)
    ty, tgrads, tgx = torch_grads(fn, x, [k, b], wv)
    close(y, ty, "training output")
    close(grads[0], tgrads[0], "kernel gradient")
    close(grads[1], tgrads[1], "bias gradient")
    close(gx, tgx, "input gradient")
    m.close()


@pytest.mark.parametrize("strides,padding", [((1, 1), VALID), ((2, 2), SAME), ((1, 2), SAME)])
def test_conv2d_layer_matches_torch_with_keras_kernel_layout(api, strides, padding):
    x = RNG.normal(0, 1, (2, 7, 6, 3)).astype(np.float32)
    k = RNG.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32)
    b = RNG.normal(0, 0.3, 4).astype(np.float32)
    m = Model(api, (7, 6, 3), [("conv2d", (4, 3, RELU),
                                [("strides", strides), ("padding", (padding,))])])
    m.set_weights([k, b])

    def fn(xt, kt, bt):
        xn = xt.permute(0, 3, 1, 2)
        if padding == SAME:
            top, bottom = tf_same_pads(7, 3, strides[0])
            left, right = tf_same_pads(6, 3, strides[1])
            xn = F.pad(xn, (left, right, top, bottom))
        return F.relu(F.conv2d(xn, kt.permute(3, 2, 0, 1), bt, stride=strides)).permute(
            0, 2, 3, 1)

    y, grads, gx, wv = m.train_forward(x)
    ty, tgrads, tgx = torch_grads(fn, x, [k, b], wv)
    close(m.predict(x), ty, "predict")
    close(y, ty, "training output")
    close(grads[0], tgrads[0], "kernel gradient")
    close(grads[1], tgrads[1], "bias gradient")
    close(gx, tgx, "input gradient")
    m.close()


@pytest.mark.parametrize("kind", ["max_pool2d", "avg_pool2d", "global_avg_pool2d"])
def test_pooling_layers_match_torch(api, kind):
    x = RNG.normal(0, 1, (2, 6, 5, 3)).astype(np.float32)
    args = () if kind == "global_avg_pool2d" else (2,)
    m = Model(api, (6, 5, 3), [(kind, args, []), ("flatten", (), [])])

    def fn(xt):
        xn = xt.permute(0, 3, 1, 2)
        if kind == "max_pool2d":
            y = F.max_pool2d(xn, 2, 2)
        elif kind == "avg_pool2d":
            y = F.avg_pool2d(xn, 2, 2)
        else:
            return xn.mean(dim=(2, 3))
        return y.permute(0, 2, 3, 1).reshape(2, -1)

    y, _, gx, wv = m.train_forward(x)
    ty, _, tgx = torch_grads(fn, x, [], wv)
    close(m.predict(x), ty, "predict")
    close(y, ty, "training output")
    close(gx, tgx, "input gradient")
    m.close()


def test_batch_norm_matches_torch_in_both_modes(api):
    x = RNG.normal(2, 3, (6, 4, 4, 5)).astype(np.float32)
    gamma = RNG.uniform(0.5, 1.5, 5).astype(np.float32)
    beta = RNG.normal(0, 1, 5).astype(np.float32)
    mean0 = RNG.normal(0, 1, 5).astype(np.float32)
    var0 = RNG.uniform(0.5, 2, 5).astype(np.float32)
    m = Model(api, (4, 4, 5), [("batch_norm", (), [("momentum", (0.9,))])])
    m.set_weights([gamma, beta, mean0, var0])

    # inference: moving statistics
    want = (x - mean0) / np.sqrt(var0 + 1e-3) * gamma + beta
    close(m.predict(x), want, "inference output")

    # training: batch statistics; PyTorch's momentum is 1 - Keras' momentum
    rm = torch.tensor(mean0, dtype=torch.float64)
    rv = torch.tensor(var0, dtype=torch.float64)

    def fn(xt, g, b):
        y = F.batch_norm(xt.reshape(-1, 5), rm, rv, g, b, training=True, momentum=0.1,
                         eps=1e-3)
        return y.reshape(xt.shape)

    y, grads, gx, wv = m.train_forward(x)
    ty, tgrads, tgx = torch_grads(fn, x, [gamma, beta], wv)
    close(y, ty, "training output")
    close(grads[0], tgrads[0], "gamma gradient")
    close(grads[1], tgrads[1], "beta gradient")
    close(gx, tgx, "input gradient", atol=1e-4)
    w = m.weights()
    close(w[10:15], rm.numpy(), "moving mean")
    close(w[15:20], rv.numpy(), "moving variance (unbiased batch variance, as PyTorch)")
    m.close()


def test_dropout_masks_are_seeded_scaled_and_inactive_at_inference(api):
    x = np.ones((200, 500), dtype=np.float32)
    a = Model(api, (500,), [("dropout", (0.3,), [])], seed=5)
    b = Model(api, (500,), [("dropout", (0.3,), [])], seed=5)
    close(a.predict(x), x, "inference is the identity")
    ya, _, ga, _ = a.train_forward(x, weight_seed=1)
    yb, _, _, _ = b.train_forward(x, weight_seed=1)
    np.testing.assert_array_equal(ya, yb)  # same seed, same mask
    kept = ya != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    close(ya[kept], np.full(kept.sum(), 1 / 0.7), "kept elements are scaled by 1/(1-rate)")
    # the gradient flows through the same mask
    wv = np.random.default_rng(1).uniform(-1, 1, x.shape)
    close(ga, np.where(kept, wv / 0.7, 0), "gradient of the mask")
    # a second step draws a new mask
    yc, _, _, _ = a.train_forward(x, weight_seed=1)
    assert (yc != ya).any()
    a.close()
    b.close()


def test_small_cnn_matches_torch_end_to_end(api):
    """Conv2D -> MaxPool -> Conv2D -> Flatten -> Dense -> Dense: the tutorial
    model in miniature, every weight's gradient compared."""
    x = RNG.uniform(0, 1, (3, 10, 10, 2)).astype(np.float32)
    shapes = [(3, 3, 2, 4), (4,), (3, 3, 4, 6), (6,), (24, 8), (8,), (8, 5), (5,)]
    ws = [RNG.normal(0, 0.4, s).astype(np.float32) for s in shapes]
    m = Model(api, (10, 10, 2), [("conv2d", (4, 3, RELU), []), ("max_pool2d", (2,), []),
                                 ("conv2d", (6, 3, RELU), []), ("flatten", (), []),
                                 ("dense", (8, RELU), []), ("dense", (5, LINEAR), [])])
    m.set_weights(ws)

    def fn(xt, k1, b1, k2, b2, k3, b3, k4, b4):
        h = F.relu(F.conv2d(xt.permute(0, 3, 1, 2), k1.permute(3, 2, 0, 1), b1))
        h = F.max_pool2d(h, 2)
        h = F.relu(F.conv2d(h, k2.permute(3, 2, 0, 1), b2))
        h = h.permute(0, 2, 3, 1).reshape(3, -1)  # Keras flattens NHWC
        h = F.relu(h @ k3 + b3)
        return h @ k4 + b4

    y, grads, gx, wv = m.train_forward(x)
    ty, tgrads, tgx = torch_grads(fn, x, ws, wv)
    close(m.predict(x), ty, "predict")
    close(y, ty, "training output")
    for i, (g, t) in enumerate(zip(grads, tgrads)):
        close(g, t, "gradient of weight %d" % i)
    close(gx, tgx, "input gradient")
    m.close()
