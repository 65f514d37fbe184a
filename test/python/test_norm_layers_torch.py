"""LayerNormalization, RMSNormalization, the GELU tanh and SiLU activations and
GlobalAveragePooling1D with a padding mask, through the Python bindings,
against PyTorch 1.13 in float64 on identical weights and inputs: outputs and
every gradient (input and weights) to 1e-4 relative.

torch has no RMSNorm before 2.4: its formula is written out in torch. The
masked mean is (x * mask).sum(1) / mask.sum(1) in torch, with an
Embedding(mask_zero=True) supplying the mask on our side."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import layers

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(13)


@pytest.fixture(autouse=True)
def fresh_session():
    bm.backend.clear_session()
    yield
    bm.backend.clear_session()


def f32(*shape, scale=1.0, offset=0.0):
    return (RNG.normal(size=shape) * scale + offset).astype(np.float32)


def close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, "%s: shape %s vs %s" % (what, got.shape, want.shape)
    scale = max(np.abs(want).max(), 1e-30)
    err = np.abs(got - want).max() / scale
    assert err < 1e-4, "%s: relative error %.3g" % (what, err)


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def run_model(model, x, w_out):
    """y = model(x) in training mode and the gradients of sum(y * w_out) with
    respect to x (when float) and every trainable weight."""
    xv = bm.Variable(x) if x.dtype == np.float32 else bm.Tensor(x, bm.int32)
    with bm.GradientTape() as tape:
        y = model(xv, training=True)
        loss = bm.ops.reduce_sum(y * bm.Tensor(w_out))
    sources = list(model.trainable_variables)
    if x.dtype == np.float32:
        sources = [xv] + sources
    grads = tape.gradient(loss, sources)
    return y.numpy(), [g.numpy() for g in grads]


@pytest.mark.parametrize("center,scale", [(True, True), (False, True), (True, False),
                                          (False, False)])
def test_layer_norm_matches_torch_layer_norm(center, scale):
    inp = bm.Input(shape=(5, 24))
    layer = layers.LayerNormalization(epsilon=1e-3, center=center, scale=scale)
    model = bm.Model(inp, layer(inp))
    weights = []
    if scale:
        weights.append(f32(24, scale=0.5, offset=1.0))
    if center:
        weights.append(f32(24))
    layer.set_weights(weights)
    x, w_out = f32(3, 5, 24, scale=2.0, offset=3.0), f32(3, 5, 24)
    y, grads = run_model(model, x, w_out)

    xt = t64(x, True)
    gamma = t64(weights[0], True) if scale else None
    beta = t64(weights[-1], True) if center else None
    yt = F.layer_norm(xt, (24,), gamma, beta, eps=1e-3)
    (yt * t64(w_out)).sum().backward()
    close(y, yt, "output")
    close(grads[0], xt.grad, "d input")
    k = 1
    if scale:
        close(grads[k], gamma.grad, "d gamma")
        k += 1
    if center:
        close(grads[k], beta.grad, "d beta")
    assert [w.name for w in model.trainable_variables] == (
        ["layer_normalization/gamma"] * scale + ["layer_normalization/beta"] * center)


def test_rms_norm_matches_the_formula_in_torch():
    inp = bm.Input(shape=(4, 40))
    layer = layers.RMSNormalization(epsilon=1e-6)
    model = bm.Model(inp, layer(inp))
    scale = f32(40, scale=0.5, offset=1.0)
    layer.set_weights([scale])
    x, w_out = f32(2, 4, 40, offset=0.5), f32(2, 4, 40)
    y, grads = run_model(model, x, w_out)

    xt, st = t64(x, True), t64(scale, True)
    yt = xt * torch.rsqrt((xt * xt).mean(-1, keepdim=True) + 1e-6) * st
    (yt * t64(w_out)).sum().backward()
    close(y, yt, "output")
    close(grads[0], xt.grad, "d input")
    close(grads[1], st.grad, "d scale")


@pytest.mark.parametrize("name,approximate", [("gelu", True), ("silu", None),
                                              ("swish", None)])
def test_gelu_tanh_and_silu_ops_match_torch(name, approximate):
    x = f32(6, 50, scale=3.0)
    w_out = f32(6, 50)
    xv = bm.Variable(x)
    with bm.GradientTape() as tape:
        if approximate:
            y = bm.ops.gelu(xv, approximate=True)
        else:
            y = getattr(bm.ops, name)(xv)
        loss = bm.ops.reduce_sum(y * bm.Tensor(w_out))
    (g,) = tape.gradient(loss, [xv])
    xt = t64(x, True)
    yt = F.gelu(xt, approximate="tanh") if approximate else F.silu(xt)
    (yt * t64(w_out)).sum().backward()
    close(y.numpy(), yt, name + " output")
    close(g.numpy(), xt.grad, name + " d input")


@pytest.mark.parametrize("activation,torch_fn", [
    ("gelu_tanh", lambda t: F.gelu(t, approximate="tanh")),
    ("gelu_approximate", lambda t: F.gelu(t, approximate="tanh")),
    ("silu", F.silu), ("swish", F.silu)])
def test_dense_with_the_new_activations_matches_torch(activation, torch_fn):
    inp = bm.Input(shape=(7,))
    dense = layers.Dense(9, activation=activation)
    model = bm.Model(inp, dense(inp))
    kernel, bias = f32(7, 9), f32(9)
    dense.set_weights([kernel, bias])
    x, w_out = f32(5, 7), f32(5, 9)
    y, grads = run_model(model, x, w_out)
    xt, kt, bt = t64(x, True), t64(kernel, True), t64(bias, True)
    yt = torch_fn(xt @ kt + bt)
    (yt * t64(w_out)).sum().backward()
    close(y, yt, "output")
    close(grads[0], xt.grad, "d input")
    close(grads[1], kt.grad, "d kernel")
    close(grads[2], bt.grad, "d bias")
    assert dense.get_config()["activation"] == ("silu" if "s" in activation[:2]
                                                else "gelu_tanh")


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_average_pooling_1d_takes_the_mean_over_unmasked_steps(keepdims):
    ids = np.array([[3, 1, 4, 0, 0, 0, 0], [5, 9, 2, 6, 5, 3, 5], [7, 0, 0, 0, 0, 0, 0],
                    [0, 0, 0, 0, 0, 0, 0]], dtype=np.int32)
    inp = bm.Input(shape=(7,), dtype="int32")
    emb = layers.Embedding(10, 6, mask_zero=True)
    h = emb(inp)
    h = layers.LayerNormalization()(h)  # the mask passes through
    out = layers.GlobalAveragePooling1D(keepdims=keepdims)(h)
    model = bm.Model(inp, out)
    table = f32(10, 6)
    emb.set_weights([table])
    w_out = f32(4, 1, 6) if keepdims else f32(4, 6)
    y, grads = run_model(model, ids, w_out)

    tt = t64(table, True)
    gamma = torch.ones(6, dtype=torch.float64, requires_grad=True)
    beta = torch.zeros(6, dtype=torch.float64, requires_grad=True)
    e = F.layer_norm(tt[torch.from_numpy(ids.astype(np.int64))], (6,), gamma, beta, 1e-3)
    mask = torch.from_numpy((ids != 0).astype(np.float64)).unsqueeze(-1)
    count = mask.sum(1)
    # an all-padding sequence gives zeros (Keras would divide 0 by 0)
    yt = (e * mask).sum(1) / torch.where(count > 0, count, torch.ones_like(count))
    if keepdims:
        yt = yt.unsqueeze(1)
    (yt * t64(w_out)).sum().backward()
    close(y, yt, "output")
    close(grads[0], tt.grad, "d embeddings")
    close(grads[1], gamma.grad, "d gamma")
    close(grads[2], beta.grad, "d beta")
    assert np.all(y[3] == 0)


def test_global_avg_pool1d_op_with_a_mask_matches_torch():
    x, w_out = f32(3, 8, 5), f32(3, 5)
    mask = (RNG.uniform(size=(3, 8)) < 0.6).astype(np.float32)
    mask[:, 0] = 1
    xv = bm.Variable(x)
    with bm.GradientTape() as tape:
        y = bm.ops.global_avg_pool1d(xv, mask=mask)
        loss = bm.ops.reduce_sum(y * bm.Tensor(w_out))
    (g,) = tape.gradient(loss, [xv])
    xt, mt = t64(x, True), t64(mask).unsqueeze(-1)
    yt = (xt * mt).sum(1) / mt.sum(1)
    (yt * t64(w_out)).sum().backward()
    close(y.numpy(), yt, "output")
    close(g.numpy(), xt.grad, "d input")


def test_norm_ops_match_torch():
    x = f32(4, 3, 20, offset=2.0)
    gamma, beta = f32(20), f32(20)
    got = bm.ops.layer_norm(x, gamma, beta, epsilon=1e-5).numpy()
    close(got, F.layer_norm(t64(x), (20,), t64(gamma), t64(beta), 1e-5), "layer_norm")
    got = bm.ops.rms_norm(x, gamma, epsilon=1e-6).numpy()
    xt = t64(x)
    close(got, xt * torch.rsqrt((xt * xt).mean(-1, keepdim=True) + 1e-6) * t64(gamma),
          "rms_norm")


def test_configs_follow_keras_and_bad_options_raise():
    ln = layers.LayerNormalization(epsilon=1e-5, center=False)
    cfg = ln.get_config()
    assert (cfg["axis"], cfg["center"], cfg["scale"]) == (-1, False, True)
    assert abs(cfg["epsilon"] - 1e-5) < 1e-12
    cfg = layers.RMSNormalization().get_config()
    assert cfg["axis"] == -1 and abs(cfg["epsilon"] - 1e-6) < 1e-12
    assert layers.GlobalAveragePooling1D(keepdims=True).get_config()["keepdims"] is True
    with pytest.raises(bm.InvalidArgumentError, match="epsilon = 0"):
        layers.LayerNormalization(epsilon=0)
    with pytest.raises(bm.InvalidArgumentError, match="one axis"):
        layers.LayerNormalization(axis=[1, 2])
    inp = bm.Input(shape=(5, 8))
    with pytest.raises(bm.ShapeError, match="normalizes over the last axis only"):
        layers.LayerNormalization(axis=1)(inp)
    with pytest.raises(bm.InvalidArgumentError, match="channels_last"):
        layers.GlobalAveragePooling1D(data_format="channels_first")
    with pytest.raises(bm.InvalidArgumentError, match="approximate must be True or False"):
        with bm.GradientTape() as tape:
            bm.ops.gelu([1.0], tape)


def test_a_model_with_the_new_layers_saves_and_loads(tmp_path):
    inp = bm.Input(shape=(6,), dtype="int32")
    h = layers.Embedding(12, 8, mask_zero=True)(inp)
    h = layers.LayerNormalization(scale=False)(h)
    h = layers.Activation("gelu_tanh")(h)
    h = layers.RMSNormalization()(h)
    h = layers.GlobalAveragePooling1D()(h)
    out = layers.Dense(3, activation="swish")(h)
    model = bm.Model(inp, out)
    model.set_weights([w + 0.1 * RNG.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    ids = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 6, 7, 8, 11]], dtype=np.int32)
    path = str(tmp_path / "m.bgm")
    model.save(path)
    back = bm.load_model(path)
    assert [layer.kind for layer in back.layers] == [layer.kind for layer in model.layers]
    assert isinstance(back.layers[1], layers.LayerNormalization)
    assert back.layers[1].get_config()["scale"] is False
    np.testing.assert_array_equal(back.predict(ids), model.predict(ids))


def test_layer_norm_exports_as_torch_layer_norm(tmp_path):
    """A Sequential Dense(gelu_tanh) -> LayerNormalization -> Dense(silu) loads into
    torch's Sequential(Linear, GELU(tanh), LayerNorm, Linear, SiLU) strictly and
    predicts the same."""
    from safetensors_plain import read_safetensors
    model = bm.Sequential([bm.Input(shape=(6,)), layers.Dense(10, activation="gelu_tanh"),
                           layers.LayerNormalization(epsilon=1e-5),
                           layers.Dense(4, activation="silu")])
    model.set_weights([w + 0.1 * RNG.normal(size=w.shape).astype(np.float32)
                       for w in model.get_weights()])
    path = str(tmp_path / "w.safetensors")
    model.save_weights_safetensors(path)
    tensors, _ = read_safetensors(path)
    net = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.GELU(approximate="tanh"),
                              torch.nn.LayerNorm(10, eps=1e-5), torch.nn.Linear(10, 4),
                              torch.nn.SiLU())
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in tensors.items()},
                        strict=True)
    x = f32(5, 6)
    with torch.no_grad():
        want = net(torch.from_numpy(x))
    np.testing.assert_allclose(model.predict(x), want.numpy(), rtol=1e-5, atol=1e-5)
