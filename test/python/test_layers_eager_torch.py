"""Layers called on concrete data (Keras' eager layer(x)): outputs, weight and
input gradients on a GradientTape against PyTorch 1.13 on the same weights;
build at the first call, reuse, weights kept in a model, custom layers,
multi-input subclassed models, errors, leaks."""

import gc

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import bindings_path  # noqa: F401
import bigmodel as bm
import leakcheck
from bigmodel import _lib
from bigmodel.errors import DTypeError, InvalidArgumentError, ShapeError, StateError

RNG = np.random.default_rng(7)


def f32(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def close(got, want, what):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, what
    err = np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-2)  # key/bias: 0
    assert err < 1e-4, "%s: relative error %g" % (what, err)


def run_eager(layer, xs, weights, call=None):
    """Sets the layer's weights (built by a first call), then runs it under a
    tape: output, d sum(y * r) / d weights, / d inputs, and r."""
    call = call or (lambda ins: layer(ins[0] if len(ins) == 1 else ins))
    call([bm.Tensor(x) for x in xs])            # builds
    names = [w.name.split("/", 1)[1] for w in layer.weights]
    for w in layer.weights:
        w.assign(weights[w.name.split("/", 1)[1]])
    txs = [bm.Tensor(x) for x in xs]
    with bm.GradientTape() as tape:
        tape.watch(txs)
        y = call(txs)
        r = bm.Tensor(f32(*y.shape))
        loss = bm.ops.reduce_sum(bm.ops.multiply(y, r))
    grads = tape.gradient(loss, layer.trainable_weights + txs)
    nw = len(layer.trainable_weights)
    return (y.numpy(), dict(zip(names, [g.numpy() for g in grads[:nw]])),
            [g.numpy() for g in grads[nw:]], r.numpy())


def torch_grads(out, r, params):
    (out * torch.from_numpy(r.astype(np.float64))).sum().backward()
    return {k: v.grad.numpy() for k, v in params.items()}


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def check_against(ours, ref_out, ref_grads, ref_in):
    y, wg, ig, _ = ours
    close(y, ref_out, "output")
    for k, v in ref_grads.items():
        close(wg[k], v, "gradient of " + k)
    for i, v in enumerate(ref_in):
        close(ig[i], v, "gradient of input %d" % i)


def test_dense_matches_torch():
    w = {"kernel": f32(4, 3), "bias": f32(3)}
    x = f32(5, 4)
    ours = run_eager(bm.layers.Dense(3, activation="tanh"), [x], w)
    p = {k: leaf(v) for k, v in w.items()}
    tx = leaf(x)
    out = torch.tanh(tx @ p["kernel"] + p["bias"])
    ref = torch_grads(out, ours[3], {**p, "x": tx})
    check_against(ours, out.detach().numpy(), p and {k: ref[k] for k in w}, [ref["x"]])


def test_conv2d_matches_torch():
    w = {"kernel": f32(3, 3, 2, 4, scale=0.5), "bias": f32(4)}
    x = f32(2, 6, 5, 2)
    ours = run_eager(bm.layers.Conv2D(4, 3, padding="same", activation="relu"), [x], w)
    p = {k: leaf(v) for k, v in w.items()}
    tx = leaf(x)
    out = F.conv2d(tx.permute(0, 3, 1, 2), p["kernel"].permute(3, 2, 0, 1), p["bias"],
                   padding=1).relu().permute(0, 2, 3, 1)
    ref = torch_grads(out, ours[3], {**p, "x": tx})
    check_against(ours, out.detach().numpy(), {k: ref[k] for k in w}, [ref["x"]])


def test_layer_normalization_matches_torch():
    w = {"gamma": f32(6), "beta": f32(6)}
    x = f32(3, 4, 6)
    ours = run_eager(bm.layers.LayerNormalization(), [x], w)
    p = {k: leaf(v) for k, v in w.items()}
    tx = leaf(x)
    out = F.layer_norm(tx, (6,), p["gamma"], p["beta"], eps=1e-3)
    ref = torch_grads(out, ours[3], {**p, "x": tx})
    check_against(ours, out.detach().numpy(), {k: ref[k] for k in w}, [ref["x"]])


def test_lstm_matches_torch():
    h, feat = 3, 4
    w = {"kernel": f32(feat, 4 * h, scale=0.5), "recurrent_kernel": f32(h, 4 * h, scale=0.5),
         "bias": f32(4 * h)}
    x = f32(2, 5, feat)
    ours = run_eager(bm.layers.LSTM(h, return_sequences=True), [x], w)
    m = torch.nn.LSTM(feat, h, batch_first=True).double()
    with torch.no_grad():  # Keras' gates i, f, c, o are torch's i, f, g, o
        m.weight_ih_l0.copy_(torch.from_numpy(w["kernel"].T.astype(np.float64)))
        m.weight_hh_l0.copy_(torch.from_numpy(w["recurrent_kernel"].T.astype(np.float64)))
        m.bias_ih_l0.copy_(torch.from_numpy(w["bias"].astype(np.float64)))
        m.bias_hh_l0.zero_()
    tx = leaf(x)
    out, _ = m(tx)
    (out * torch.from_numpy(ours[3].astype(np.float64))).sum().backward()
    ref = {"kernel": m.weight_ih_l0.grad.numpy().T,
           "recurrent_kernel": m.weight_hh_l0.grad.numpy().T, "bias": m.bias_ih_l0.grad.numpy()}
    check_against(ours, out.detach().numpy(), ref, [tx.grad.numpy()])


def test_multi_head_attention_matches_torch():
    nh, kd, d = 2, 3, 5
    w = {"query/kernel": f32(d, nh, kd, scale=0.5), "query/bias": f32(nh, kd),
         "key/kernel": f32(d, nh, kd, scale=0.5), "key/bias": f32(nh, kd),
         "value/kernel": f32(d, nh, kd, scale=0.5), "value/bias": f32(nh, kd),
         "attention_output/kernel": f32(nh, kd, d, scale=0.5),
         "attention_output/bias": f32(d)}
    q, v = f32(2, 4, d), f32(2, 6, d)
    layer = bm.layers.MultiHeadAttention(num_heads=nh, key_dim=kd)
    ours = run_eager(layer, [q, v], w, call=lambda ins: layer(ins[0], ins[1]))
    p = {k: leaf(val) for k, val in w.items()}
    tq, tv = leaf(q), leaf(v)

    def proj(x, name):
        return torch.einsum("nld,dhk->nlhk", x, p[name + "/kernel"]) + p[name + "/bias"]
    qh, kh, vh = proj(tq, "query"), proj(tv, "key"), proj(tv, "value")
    probs = F.softmax(torch.einsum("nthk,nshk->nhts", qh, kh) / np.sqrt(kd), dim=-1)
    o = torch.einsum("nhts,nshv->nthv", probs, vh)
    out = torch.einsum("nthv,hvo->nto", o, p["attention_output/kernel"]) + \
        p["attention_output/bias"]
    ref = torch_grads(out, ours[3], {**p, "q": tq, "v": tv})
    check_against(ours, out.detach().numpy(), {k: ref[k] for k in w}, [ref["q"], ref["v"]])


def test_first_call_builds_then_reuses_and_training_runs_dropout():
    d = bm.layers.Dense(3)
    assert not d.built and d.weights == []
    y1 = d(np.ones((2, 4), dtype=np.float32))
    assert d.built and isinstance(y1, bm.Tensor) and y1.shape == (2, 3)
    kernel = d.kernel.numpy()
    assert [w.name for w in d.weights] == ["dense/kernel", "dense/bias"]
    y2 = d(np.ones((7, 4), dtype=np.float32))           # another batch: same weights
    np.testing.assert_array_equal(d.kernel.numpy(), kernel)
    np.testing.assert_allclose(y2.numpy()[:2], y1.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y1.numpy(), np.ones((2, 4)) @ kernel + d.bias.numpy(),
                               rtol=1e-5)
    drop = bm.layers.Dropout(0.5)
    x = np.ones((4, 50), dtype=np.float32)
    np.testing.assert_array_equal(drop(x).numpy(), x)   # inference: identity
    z = drop(x, training=True).numpy()
    assert set(np.unique(z)) <= {0.0, 2.0} and 0 < (z == 0).sum() < z.size


def test_a_layer_built_on_data_keeps_its_weights_in_a_model():
    d = bm.layers.Dense(3, activation="relu")
    x = f32(4, 5)
    eager = d(x).numpy()
    kernel = d.kernel.numpy()
    inp = bm.Input(shape=(5,))
    model = bm.Model(inp, d(inp))
    np.testing.assert_array_equal(model.layers[-1].kernel.numpy(), kernel)
    np.testing.assert_allclose(model.predict(x, verbose=0), eager, rtol=1e-6)
    # the model holds the weights now: training it changes what the layer computes
    model.compile(optimizer=bm.optimizers.SGD(0.1), loss="mse")
    model.fit(x, np.ones((4, 3), dtype=np.float32), epochs=1, verbose=0)
    assert not np.array_equal(d.kernel.numpy(), kernel)
    np.testing.assert_allclose(d(x).numpy(), model.predict(x, verbose=0), rtol=1e-5)
    with bm.GradientTape() as tape:           # gradients reach the model's weights
        out = d(x)
        loss = bm.ops.reduce_sum(out)
    gb = tape.gradient(loss, d.bias)
    np.testing.assert_allclose(gb.numpy(), (out.numpy() > 0).sum(axis=0), rtol=1e-6)
    s = bm.layers.Dense(2)
    s(x)
    seq = bm.Sequential([bm.Input(shape=(5,)), s])
    np.testing.assert_allclose(seq.predict(x, verbose=0), s(x).numpy(), rtol=1e-6)


def test_batch_normalization_on_data_updates_its_statistics_in_training():
    bn = bm.layers.BatchNormalization()
    x = f32(8, 3) * 2 + 3
    y = bn(x, training=True).numpy()
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.01 * mean, rtol=1e-5)
    assert [w.name for w in bn.trainable_weights] == ["batch_normalization/gamma",
                                                      "batch_normalization/beta"]
    bn.trainable = False                       # frozen: inference mode, nothing trainable
    assert bn.trainable_weights == [] and len(bn.non_trainable_weights) == 4
    z = bn(x, training=True).numpy()
    np.testing.assert_allclose(
        z, (x - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + 1e-3),
        rtol=1e-4, atol=1e-5)


def test_other_kinds_on_data():
    e = bm.layers.Embedding(10, 4)
    ids = np.array([[1, 2, 3]], dtype=np.int32)
    v = e(ids)
    np.testing.assert_array_equal(v.numpy()[0], e.embeddings.numpy()[[1, 2, 3]])
    table = e.embeddings.numpy()                        # the tied projection reuses it
    np.testing.assert_allclose(e(v, reverse=True).numpy()[0], table[[1, 2, 3]] @ table.T,
                               rtol=1e-5)
    norm = bm.layers.Normalization()
    x = f32(10, 3) * 4 + 1
    norm(x)                                             # built before adapt
    norm.adapt(x)                                       # its own weights take the stats
    y = norm(x).numpy()
    np.testing.assert_allclose(y, (x - x.mean(0)) / x.std(0), rtol=1e-4, atol=1e-5)
    b = bm.layers.Bidirectional(bm.layers.LSTM(2))
    assert b(f32(2, 3, 4)).shape == (2, 4) and len(b.weights) == 6
    mha = bm.layers.MultiHeadAttention(2, 3)
    out, scores = mha(f32(2, 4, 5), f32(2, 6, 5), return_attention_scores=True)
    assert out.shape == (2, 4, 5) and scores.shape == (2, 2, 4, 6)
    np.testing.assert_allclose(scores.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    cat = bm.layers.Concatenate()([f32(2, 3), f32(2, 2)])
    assert cat.shape == (2, 5)


def test_a_model_holding_a_layer_built_on_data_saves_and_loads_bit_exact(tmp_path):
    d = bm.layers.Dense(3)
    x = f32(4, 5)
    d(x)
    model = bm.Sequential([bm.Input(shape=(5,)), d])
    path = str(tmp_path / "m.bgm")
    model.save(path)
    back = bm.load_model(path)
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.get_weights()[0], d.kernel.numpy())
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


def test_custom_layer_on_data_matches_numpy_with_gradients():
    class Scale(bm.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return bm.ops.multiply(inputs, self.w)

    layer = Scale()
    x = f32(3, 4)
    np.testing.assert_allclose(layer(x).numpy(), x, rtol=1e-6)
    (w,) = layer.trainable_weights
    w.assign(np.arange(4, dtype=np.float32))
    tx = bm.Tensor(x)
    with bm.GradientTape() as tape:
        tape.watch(tx)
        loss = bm.ops.reduce_sum(layer(tx))
    gw, gx = tape.gradient(loss, [w, tx])
    np.testing.assert_allclose(gw.numpy(), x.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(gx.numpy(), np.tile(np.arange(4.0), (3, 1)), rtol=1e-6)


def test_custom_layers_on_data_pass_training_and_report_their_errors():
    class Doubling(bm.layers.Layer):
        def call(self, x, training=None):
            return x * (2.0 if training else 1.0)

    class Liar(bm.layers.Layer):
        def compute_output_shape(self, input_shape):
            return (None, 5)

        def call(self, x):
            return x

    class Boom(bm.layers.Layer):
        def call(self, x):
            raise KeyError("boom")

    x = np.ones((2, 4), np.float32)
    np.testing.assert_array_equal(Doubling()(x, training=True).numpy(), 2 * x)
    np.testing.assert_array_equal(Doubling()(x).numpy(), x)
    with pytest.raises(ShapeError, match=r"layer 'liar' \(Liar\).*\(2, 4\).*\(2, 5\)"):
        Liar()(x)
    gc.collect()
    before = dict(_lib.live)
    with pytest.raises(KeyError, match="boom"):   # the exception itself, nothing leaked
        Boom()(x)
    gc.collect()
    assert {k: v for k, v in _lib.live.items() if v != before.get(k, 0)} == {}


class TwoInputs(bm.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a = bm.layers.Dense(4, activation="tanh")
        self.b = bm.layers.Dense(4, activation="tanh")
        self.out = bm.layers.Dense(1)

    def call(self, inputs):
        x1, x2 = inputs
        return self.out(bm.layers.Add()([self.a(x1), self.b(x2)]))


def functional_twin():
    i1, i2 = bm.Input(shape=(3,)), bm.Input(shape=(2,))
    a, b, out = (bm.layers.Dense(4, activation="tanh"), bm.layers.Dense(4, activation="tanh"),
                 bm.layers.Dense(1))
    return bm.Model([i1, i2], out(bm.layers.Add()([a(i1), b(i2)])))


def copy_weights(dst, src):
    dst.set_weights(src.get_weights())


def test_two_input_subclassed_model_matches_its_functional_twin(tmp_path):
    x1, x2, y = f32(16, 3), f32(16, 2), f32(16, 1)
    sub, fun = TwoInputs(seed=1), functional_twin()
    sub([x1[:1], x2[:1]])                       # builds from a list of two inputs
    copy_weights(sub, fun)
    np.testing.assert_allclose(sub([x1, x2]).numpy(), fun([x1, x2]).numpy(), rtol=1e-6)
    for m in (sub, fun):
        m.compile(optimizer=bm.optimizers.SGD(0.05), loss="mse")
        m.fit([x1, x2], y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(sub.get_weights(), fun.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    # one GradientTape step on each gives the same gradients
    with bm.GradientTape() as t1:
        l1 = bm.ops.mse_loss(sub([x1, x2]), bm.Tensor(y))
    with bm.GradientTape() as t2:
        l2 = bm.ops.mse_loss(fun([x1, x2]), bm.Tensor(y))
    for g1, g2 in zip(t1.gradient(l1, sub.trainable_variables),
                      t2.gradient(l2, fun.trainable_variables)):
        np.testing.assert_allclose(g1.numpy(), g2.numpy(), rtol=1e-4, atol=1e-7)
    # and training by hand on a GradientTape keeps them equal
    for m in (sub, fun):
        opt = bm.optimizers.SGD(0.05)
        for _ in range(3):
            with bm.GradientTape() as tape:
                loss = bm.ops.mse_loss(m([x1, x2], training=True), bm.Tensor(y))
            opt.apply_gradients(zip(tape.gradient(loss, m.trainable_variables),
                                    m.trainable_variables))
    for a, b in zip(sub.get_weights(), fun.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    path = str(tmp_path / "two.bgm")             # saved, it loads as its functional graph
    sub.save(path)
    back = bm.load_model(path)
    np.testing.assert_array_equal(back.predict([x1, x2], verbose=0),
                                  sub.predict([x1, x2], verbose=0))


def test_dict_inputs_of_a_subclassed_model():
    class Keyed(bm.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d = bm.layers.Dense(2)

        def call(self, inputs):
            return self.d(bm.layers.Concatenate()([inputs["left"], inputs["right"]]))

    m = Keyed()
    a, b = f32(3, 2), f32(3, 1)
    y = m({"left": a, "right": b}).numpy()
    k = m.layers[-1].get_weights()
    np.testing.assert_allclose(y, np.concatenate([a, b], axis=1) @ k[0] + k[1], rtol=1e-5)


def test_bad_calls_get_clear_errors():
    d = bm.layers.Dense(3, name="proj")
    with pytest.raises(DTypeError, match="int32"):
        d(np.ones((2, 4), dtype=np.int32))
    assert not d.built
    d(np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"layer 'proj' \(Dense\): reused on input "
                                         r"\(None, 3\), but its weights were built for "
                                         r"input \(None, 4\)"):
        d(np.ones((2, 3), dtype=np.float32))
    with pytest.raises(InvalidArgumentError, match="takes 1 input, got 2"):
        d([np.ones((2, 4), np.float32), np.ones((2, 4), np.float32)])
    with pytest.raises(StateError, match="called on tensors"):
        _lib.lib.bgm_layer_set_use_bias(d._h, 0)


def test_eager_calls_leak_nothing():
    x = f32(2, 4)

    def cycle(i):
        d = bm.layers.Dense(3)
        d(x)
        with bm.GradientTape() as tape:
            loss = bm.ops.reduce_sum(d(x, training=True))
        tape.gradient(loss, d.trainable_weights)
        if i % 50 == 0:                       # a layer that joins a model after its call
            inp = bm.Input(shape=(4,))
            bm.Model(inp, d(inp)).predict(x, verbose=0)
            sub = TwoInputs()
            sub([f32(2, 3), f32(2, 2)])
    leakcheck.assert_no_growth(cycle, n=2000, warmup=200)
