"""Keras' functional API through the Python bindings: Input, layers called on
KerasTensors, Model(inputs, outputs) with several inputs and outputs, shared
layers, the merge and reshape layers, errors of bad graphs, training (a loss,
weight and metrics per output), model files, leaks, and the ResNet example."""
import gc
import importlib.util
import os

import numpy as np
import pytest

import bindings_path
import bigmodel as bm
from bigmodel import _lib, layers
from leakcheck import assert_no_growth

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts a default graph of its own (automatic names from 'dense')."""
    bm.backend.clear_session()
    yield
    bm.backend.clear_session()


def randn(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def conv_same(x, kernel, bias):
    """NHWC convolution, stride 1, SAME padding, in float64."""
    kh, kw, _, filters = kernel.shape
    n, h, w, _ = x.shape
    padded = np.pad(x.astype(np.float64), ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2),
                                           (0, 0)))
    out = np.zeros((n, h, w, filters))
    for i in range(kh):
        for j in range(kw):
            out += padded[:, i:i + h, j:j + w, :] @ kernel[i, j]
    return out + bias


# ---- building and predicting ------------------------------------------------------------


def test_a_residual_block_predicts_what_numpy_computes_from_its_weights():
    inp = bm.Input(shape=(6, 6, 4), name="image")
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    h = layers.Conv2D(4, 3, padding="same")(h)
    out = layers.ReLU()(layers.Add()([h, inp]))
    model = bm.Model(inputs=inp, outputs=out, seed=3)
    x = randn(5, 6, 6, 4)
    k1, b1, k2, b2 = model.get_weights()
    want = np.maximum(conv_same(np.maximum(conv_same(x, k1, b1), 0), k2, b2) + x, 0)
    np.testing.assert_allclose(model.predict(x), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model(x).numpy(), want, rtol=1e-4, atol=1e-5)
    assert model.count_params() == 3 * 3 * 4 * 8 + 8 + 3 * 3 * 8 * 4 + 4
    assert [layer.kind for layer in model.layers] == ["Conv2D", "Conv2D", "Add", "Activation"]


def test_two_inputs_and_outputs_predict_a_list_in_output_order_and_take_a_dict():
    left, right = bm.Input(shape=(4,), name="left"), bm.Input(shape=(3,), name="right")
    hl = layers.Dense(5, name="dl")(left)
    hr = layers.Dense(5, name="dr")(right)
    total = layers.Add(name="total")([hl, hr])
    joined = layers.Concatenate(name="joined")([hl, hr])
    model = bm.Model(inputs=[left, right], outputs=[joined, total], seed=1)
    xl, xr = randn(7, 4, seed=1), randn(7, 3, seed=2)
    kl, bl, kr, br = model.get_weights()
    al, ar = xl @ kl + bl, xr @ kr + br
    out = model.predict([xl, xr], batch_size=3)
    assert isinstance(out, list) and [o.shape for o in out] == [(7, 10), (7, 5)]
    np.testing.assert_allclose(out[0], np.concatenate([al, ar], axis=1), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(out[1], al + ar, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.predict({"right": xr, "left": xl}), out):
        np.testing.assert_array_equal(a, b)
    called = model([xl, xr])
    np.testing.assert_array_equal(called[1].numpy(), out[1])
    assert model.input_shape == [(None, 4), (None, 3)]
    assert model.output_shape == [(None, 10), (None, 5)]
    with pytest.raises(bm.InvalidArgumentError, match="no value for 'right'"):
        model.predict({"left": xl})
    with pytest.raises(bm.InvalidArgumentError, match="'lft' matches none of the model's "
                                                      "inputs"):
        model.predict({"lft": xl, "left": xl, "right": xr})
    with pytest.raises(bm.InvalidArgumentError, match="the model has 2 inputs"):
        model.predict(xl)
    with pytest.raises(bm.ShapeError, match="bgm_model_predict_multi"):
        model.predict([xl, xr[:5]])
    model.close()
    # inputs and outputs given as dicts: data and results keyed the same way
    keyed = bm.Model(inputs={"a": left, "b": right}, outputs={"sum": total, "cat": joined})
    res = keyed.predict({"a": xl, "b": xr})
    assert sorted(res) == ["cat", "sum"] and res["sum"].shape == (7, 5)
    assert keyed.input == {"a": left, "b": right}
    res = keyed.predict({"left": xl, "right": xr})  # the input names serve too
    assert res["cat"].shape == (7, 10)


def test_layers_inputs_outputs_and_get_layer():
    inp = bm.Input(shape=(3,))
    assert inp.shape == (None, 3) and inp.dtype == "float32" and inp.name == "input_1"
    head = layers.Dense(2, name="head")
    hidden = layers.Dense(8, activation="relu")(inp)
    out = head(layers.Dropout(0.5)(hidden))
    assert (hidden.name, out.name, out.shape) == ("dense", "head", (None, 2))
    assert head.built and head.output_shape == (None, 2) and head.count_params() == 18
    assert head.weights == []  # weights come with a model
    model = bm.Model(inp, out, name="mlp")
    assert model.inputs == [inp] and model.outputs == [out]
    assert model.input is inp and model.output is out
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "head"]
    assert model.get_layer("head") is head
    assert model.get_layer(index=0).kind == "Dense"
    assert [w.name for w in model.get_layer("head").weights] == ["head/kernel", "head/bias"]
    with pytest.raises(bm.InvalidArgumentError, match="no layer named 'tail'"):
        model.get_layer("tail")
    assert [w.name for w in model.weights] == ["dense/kernel", "dense/bias", "head/kernel",
                                               "head/bias"]
    head.set_weights([np.ones((8, 2), np.float32), np.zeros(2, np.float32)])
    np.testing.assert_array_equal(model.get_weights()[2], np.ones((8, 2)))
    # a layer object dropped by the user still shows as a layer of its kind
    gc.collect()
    assert isinstance(model.layers[1], layers.Dropout)


def test_an_int32_input_feeds_an_embedding():
    tokens = bm.Input(shape=(5,), dtype="int32", name="tokens")
    vectors = layers.Embedding(10, 3)(tokens)
    model = bm.Model(tokens, layers.Dense(2)(vectors))
    ids = np.array([[1, 2, 3, 4, 5], [0, 0, 9, 9, 1]])  # int64 data becomes int32
    table, kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(ids), table[ids] @ kernel + bias, rtol=1e-5,
                               atol=1e-6)


def test_dense_on_a_3d_input_applies_to_the_last_axis():
    inp = bm.Input(shape=(5, 3))
    model = bm.Model(inp, layers.Dense(4, activation="tanh")(inp))
    assert model.output_shape == (None, 5, 4) and model.count_params() == 16
    x = randn(2, 5, 3)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(model.predict(x), np.tanh(x @ kernel + bias), rtol=1e-5,
                               atol=1e-6)


# ---- merges and reshapes -----------------------------------------------------------------

MERGES = [
    (layers.Add, lambda xs: sum(xs)),
    (layers.Subtract, lambda xs: xs[0] - xs[1]),
    (layers.Multiply, lambda xs: np.prod(xs, axis=0)),
    (layers.Average, lambda xs: np.mean(xs, axis=0)),
    (layers.Maximum, lambda xs: np.max(xs, axis=0)),
    (layers.Minimum, lambda xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls,reference", MERGES, ids=[c.__name__ for c, _ in MERGES])
def test_merge_layers_compute_what_numpy_computes(cls, reference):
    count = 2 if cls is layers.Subtract else 3
    inputs = [bm.Input(shape=(2, 3)) for _ in range(count)]
    model = bm.Model(inputs, cls()(inputs))
    xs = [randn(4, 2, 3, seed=i) for i in range(count)]
    np.testing.assert_allclose(model.predict(xs), reference(np.stack(xs)), rtol=1e-6,
                               atol=1e-6)


def test_merges_broadcast_ones_and_concatenate_along_an_axis():
    a, b = bm.Input(shape=(2, 3)), bm.Input(shape=(1, 3))
    outs = [layers.multiply([a, b]), layers.concatenate([a, b], axis=1),
            layers.Concatenate()([a, a])]
    model = bm.Model([a, b], outs)
    xa, xb = randn(4, 2, 3, seed=1), randn(4, 1, 3, seed=2)
    product, rows, columns = model.predict([xa, xb])
    np.testing.assert_allclose(product, xa * xb, rtol=1e-6)
    np.testing.assert_array_equal(rows, np.concatenate([xa, xb], axis=1))
    np.testing.assert_array_equal(columns, np.concatenate([xa, xa], axis=-1))
    with pytest.raises(bm.ShapeError, match="axis 0 is the batch axis"):
        layers.Concatenate(axis=0)([a, a])


def test_reshape_permute_and_zero_padding_move_values_as_numpy():
    inp = bm.Input(shape=(2, 3, 2))
    outs = [layers.Reshape((3, -1))(inp), layers.Permute((2, 1, 3))(inp),
            layers.ZeroPadding2D(1)(inp), layers.ZeroPadding2D((1, 2))(inp),
            layers.ZeroPadding2D(((1, 0), (0, 2)))(inp)]
    model = bm.Model(inp, outs)
    x = randn(3, 2, 3, 2)
    got = model.predict(x)
    want = [x.reshape(3, 3, 4), x.transpose(0, 2, 1, 3),
            np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))),
            np.pad(x, ((0, 0), (1, 1), (2, 2), (0, 0))),
            np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0)))]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert model.output_shape[2:] == [(None, 4, 5, 2), (None, 4, 7, 2), (None, 3, 5, 2)]
    # they serve in a Sequential too
    seq = bm.Sequential([layers.Reshape((4, 3)), layers.Permute((2, 1))], input_shape=(12,))
    np.testing.assert_array_equal(seq.predict(x.reshape(3, 12)),
                                  x.reshape(3, 4, 3).transpose(0, 2, 1))
    with pytest.raises(bm.ShapeError, match=r"cannot reshape input \(2, 3, 2\) \(12 values "
                                            r"per sample\) to \(5,\)"):
        layers.Reshape((5,))(inp)
    with pytest.raises(bm.InvalidArgumentError, match="permutation"):
        layers.Permute((1, 1, 2))
    with pytest.raises(bm.InvalidArgumentError, match=r"padding \(-1, -1, -1, -1\), expected "
                                                      r"at least 0"):
        layers.ZeroPadding2D(-1)
    with pytest.raises(bm.InvalidArgumentError, match="padding must be an int"):
        layers.ZeroPadding2D((1, 2, 3))


# ---- shared layers -------------------------------------------------------------------------


def test_a_shared_layer_is_counted_once_and_trains_both_branches_on_a_tape():
    left, right = bm.Input(shape=(4,), name="left"), bm.Input(shape=(4,), name="right")
    encode = layers.Dense(3, activation="tanh", name="encode")
    diff = layers.Subtract()([encode(left), encode(right)])
    model = bm.Model([left, right], layers.Dense(1, name="score")(diff), seed=4)
    assert model.count_params() == 4 * 3 + 3 + 3 + 1
    assert [w.name for w in model.weights] == ["encode/kernel", "encode/bias",
                                               "score/kernel", "score/bias"]
    xl, xr = randn(32, 4, seed=5), randn(32, 4, seed=6)
    target = (xl[:, :1] - xr[:, 1:2]).astype(np.float32)
    k, b, sk, sb = model.get_weights()
    want = (np.tanh(xl @ k + b) - np.tanh(xr @ k + b)) @ sk + sb
    np.testing.assert_allclose(model.predict({"left": xl, "right": xr}), want, rtol=1e-5,
                               atol=1e-6)
    optimizer, mse = bm.optimizers.Adam(0.05), bm.losses.MeanSquaredError()
    tape = bm.GradientTape()
    losses = []
    for step in range(60):
        with tape:
            loss = mse(target, model([xl, xr], training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    k2, b2 = model.get_weights()[:2]
    assert not np.allclose(k2, k)
    # both branches see the new weights: each one's encoding changed
    for x in (xl, xr):
        assert np.abs(np.tanh(x @ k2 + b2) - np.tanh(x @ k + b)).max() > 0.05
    del loss, grads
    tape.reset()


def test_a_layer_called_twice_on_one_path_shares_its_weights_and_trains_with_fit():
    inp = bm.Input(shape=(4,))
    twice = layers.Dense(4, activation="tanh")
    out = layers.Dense(1)(twice(twice(inp)))
    model = bm.Model(inp, out, seed=2)
    assert model.count_params() == 4 * 4 + 4 + 4 + 1
    assert len(model.layers) == 2
    x = randn(128, 4, seed=3)
    y = (0.5 * x[:, :1] - x[:, 2:3]).astype(np.float32)
    before = model.get_weights()
    model.compile(optimizer=bm.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]
    k, b, ok, ob = model.get_weights()
    assert not np.allclose(k, before[0])
    np.testing.assert_allclose(model.predict(x), np.tanh(np.tanh(x @ k + b) @ k + b) @ ok + ob,
                               rtol=1e-4, atol=1e-5)


# ---- training --------------------------------------------------------------------------------


def blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], np.float32)
    return (centers[y] + rng.normal(size=(n, 4))).astype(np.float32), y


def test_a_functional_mlp_trains_like_the_same_sequential_model():
    x, y = blobs()

    def compiled(model):
        model.compile(optimizer=bm.optimizers.Adam(0.01),
                      loss="sparse_categorical_crossentropy", from_logits=True,
                      metrics=["accuracy"])
        return model

    inp = bm.Input(shape=(4,))
    h = layers.Dense(16, activation="relu")(inp)
    functional = compiled(bm.Model(inp, layers.Dense(3)(h), seed=5))
    sequential = compiled(bm.Sequential([layers.Dense(16, activation="relu"),
                                         layers.Dense(3)], input_shape=(4,), seed=5))
    for a, b in zip(functional.get_weights(), sequential.get_weights()):
        np.testing.assert_array_equal(a, b)  # the same seed draws the same weights
    hf = functional.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0)
    hs = sequential.fit(x, y, epochs=4, batch_size=32, validation_split=0.2, verbose=0)
    assert hf.history == hs.history
    assert hf.history["loss"][-1] < 0.5 * hf.history["loss"][0]
    np.testing.assert_array_equal(functional.predict(x), sequential.predict(x))
    assert functional.evaluate(x, y) == sequential.evaluate(x, y)
    # the same weights give the same outputs, whatever their origin
    other = bm.Sequential([layers.Dense(16, activation="relu"), layers.Dense(3)],
                          input_shape=(4,), seed=99)
    other.set_weights(functional.get_weights())
    np.testing.assert_array_equal(other.predict(x), functional.predict(x))
    # a custom loop on a tape, and data as a one-element list
    with bm.GradientTape() as tape:
        loss = functional.compute_loss(y=y, y_pred=functional([x], training=True))
    grads = tape.gradient(loss, functional.trainable_variables)
    assert [g.shape for g in grads] == [(4, 16), (16,), (16, 3), (3,)]
    assert functional.fit([x], [y], epochs=1, verbose=0).epoch == [0]


def two_heads(seed):
    """Inputs a (4) and b (3), a Dense each, concatenated, Dropout; a regression
    head ("head") and a classifier of 3 logits ("cls"), in a graph of its own."""
    bm.backend.clear_session()
    a, b = bm.Input(shape=(4,), name="a"), bm.Input(shape=(3,), name="b")
    h = layers.Concatenate()([layers.Dense(8, activation="relu", name="dense_a")(a),
                              layers.Dense(8, activation="relu", name="dense_b")(b)])
    h = layers.Dropout(0.1)(h)
    head = layers.Dense(1, name="head")(layers.Dense(4, activation="relu",
                                                     name="head_hidden")(h))
    return bm.Model([a, b], [head, layers.Dense(3, name="cls")(h)], seed=seed)


def two_heads_data(n, seed):
    """a, b, head = a0 + 2 b0 - a1 b1 (n, 1) and cls = [a1 > 0] + [b1 > 0] (n,)."""
    a, b = randn(n, 4, seed=seed), randn(n, 3, seed=seed + 1)
    head = (a[:, :1] + 2 * b[:, :1] - a[:, 1:2] * b[:, 1:2]).astype(np.float32)
    cls = ((a[:, 1] > 0).astype(np.int32) + (b[:, 1] > 0)).astype(np.int32)
    return a, b, head, cls


def compile_two_heads(model, lr=0.02, weights=(1.0, 0.5), keyed=True):
    """MSE on head, sparse cross-entropy of logits on cls with accuracy; the same
    compile as dicts (keyed) or as lists."""
    ce = bm.losses.SparseCategoricalCrossentropy(from_logits=True)
    if keyed:
        model.compile(optimizer=bm.optimizers.Adam(lr), loss={"cls": ce, "head": "mse"},
                      loss_weights={"head": weights[0], "cls": weights[1]},
                      metrics={"cls": "accuracy"})
    else:
        model.compile(optimizer=bm.optimizers.Adam(lr), loss=["mse", ce],
                      loss_weights=list(weights), metrics=[[], ["accuracy"]])
    return model


def sparse_ce(logits, labels):
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels])


TWO_HEAD_KEYS = ["loss", "head_loss", "cls_loss", "cls_accuracy", "val_loss",
                 "val_head_loss", "val_cls_loss", "val_cls_accuracy"]


def test_two_inputs_and_outputs_train_with_a_loss_and_weight_per_output():
    a, b, head, cls = two_heads_data(64, 10)
    model = compile_two_heads(two_heads(1))
    assert model.input_names == ["a", "b"] and model.output_names == ["head", "cls"]
    assert model.metrics_names == TWO_HEAD_KEYS[:4]
    history = model.fit({"a": a, "b": b}, [head, cls], epochs=40, batch_size=16,
                        validation_split=0.25, verbose=0)
    h = history.history
    assert list(h) == TWO_HEAD_KEYS                   # Keras' names, the library's order
    assert h["head_loss"][-1] < 0.5 * h["head_loss"][0]
    assert h["cls_loss"][-1] < 0.8 * h["cls_loss"][0]
    total = np.array(h["head_loss"]) + 0.5 * np.array(h["cls_loss"])
    np.testing.assert_allclose(h["loss"], total, rtol=1e-5)  # the weighted sum
    # evaluate: each output's loss as numpy computes it from predict, and their
    # weighted sum
    values = model.evaluate([a, b], {"cls": cls, "head": head}, return_dict=True)
    assert list(values) == TWO_HEAD_KEYS[:4]
    pred_head, logits = model.predict([a, b])
    assert values["head_loss"] == pytest.approx(np.mean((pred_head - head) ** 2), rel=1e-5)
    assert values["cls_loss"] == pytest.approx(sparse_ce(logits, cls), rel=1e-5)
    assert values["loss"] == pytest.approx(values["head_loss"] + 0.5 * values["cls_loss"],
                                           rel=1e-6)
    assert values["cls_accuracy"] == pytest.approx(np.mean(logits.argmax(axis=1) == cls))
    assert model.evaluate([a, b], [head, cls]) == pytest.approx(list(values.values()))


def test_a_dict_and_a_list_give_identical_training():
    a, b, head, cls = two_heads_data(64, 20)
    va, vb, vhead, vcls = two_heads_data(20, 21)
    keyed = compile_two_heads(two_heads(2), keyed=True)
    listed = compile_two_heads(two_heads(2), keyed=False)
    assert keyed.metrics_names == listed.metrics_names
    hk = keyed.fit({"b": b, "a": a}, {"cls": cls, "head": head}, epochs=3, batch_size=16,
                   validation_data=({"a": va, "b": vb}, {"head": vhead, "cls": vcls}),
                   verbose=0)
    hl = listed.fit([a, b], [head, cls], epochs=3, batch_size=16,
                    validation_data=([va, vb], [vhead, vcls]), verbose=0)
    assert hk.history == hl.history and list(hk.history) == TWO_HEAD_KEYS
    for wk, wl in zip(keyed.get_weights(), listed.get_weights()):
        np.testing.assert_array_equal(wk, wl)
    # a dataset of several tensors trains as its arrays do
    from_ds = compile_two_heads(two_heads(2))
    train = bm.Dataset({"a": a, "b": b}, {"head": head, "cls": cls})
    val = bm.Dataset([va, vb], [vhead, vcls])
    hd = from_ds.fit(train, epochs=3, batch_size=16, validation_data=val, verbose=0)
    assert hd.history == hl.history
    for wd, wl in zip(from_ds.get_weights(), listed.get_weights()):
        np.testing.assert_array_equal(wd, wl)
    assert from_ds.evaluate(val) == listed.evaluate([va, vb], [vhead, vcls])


def test_train_on_batch_is_one_fit_step_and_test_on_batch_is_evaluate():
    a, b, head, cls = two_heads_data(64, 30)
    stepped = compile_two_heads(two_heads(3), weights=(1.0, 0.7))
    fitted = compile_two_heads(two_heads(3), weights=(1.0, 0.7))
    values = stepped.train_on_batch([a, b], [head, cls], return_dict=True)
    h = fitted.fit([a, b], [head, cls], epochs=1, batch_size=64, shuffle=False, verbose=0)
    assert values == {k: v[0] for k, v in h.history.items()}
    for ws, wf in zip(stepped.get_weights(), fitted.get_weights()):
        np.testing.assert_array_equal(ws, wf)
    assert stepped.epochs_completed == 0
    assert stepped.test_on_batch({"a": a, "b": b}, [head, cls]) == stepped.evaluate(
        [a, b], [head, cls], batch_size=64)
    # a model of one output and no metrics gives the loss alone, as Keras
    inp = bm.Input(shape=(4,))
    single = bm.Model(inp, layers.Dense(1)(inp))
    single.compile(optimizer="sgd", loss="mse")
    assert isinstance(single.train_on_batch(a, head), float)
    assert isinstance(single.test_on_batch(a, head), float)


def test_compute_loss_of_several_outputs_on_a_tape_is_the_weighted_total():
    a, b, head, cls = two_heads_data(64, 40)
    model = compile_two_heads(two_heads(4), weights=(0.3, 2.0))
    with bm.GradientTape() as tape:
        pred = model([a, b], training=False)
        loss = model.compute_loss(y={"head": head, "cls": cls}, y_pred=pred)
    grads = tape.gradient(loss, model.trainable_variables)
    assert [g.shape for g in grads] == [v.shape for v in model.trainable_variables]
    assert loss.item() == pytest.approx(model.evaluate([a, b], [head, cls],
                                                       batch_size=64)[0], rel=1e-6)
    del pred, loss, grads
    tape.reset()


def test_one_loss_and_metric_list_serve_every_output_named_as_keras():
    inp = bm.Input(shape=(4,), name="x")
    shared = layers.Dense(1, name="y")
    outs = [shared(layers.Dense(3, activation="tanh")(inp)),
            shared(layers.Dense(3, activation="relu")(inp))]
    model = bm.Model(inp, outs, seed=4)
    assert model.output_names == ["y", "y_1"]        # before compile too
    model.compile(optimizer=bm.optimizers.Adam(0.01), loss="mse",
                  metrics=["mae", bm.metrics.MeanSquaredError()])
    assert model.output_names == ["y", "y_1"]
    assert model.metrics_names == ["loss", "y_loss", "y_1_loss", "y_mae", "y_1_mae",
                                   "y_mse", "y_1_mse"]
    x, t0, t1 = randn(32, 4, seed=5), randn(32, 1, seed=6), randn(32, 1, seed=7)
    values = model.evaluate(x, {"y": t0, "y_1": t1}, return_dict=True)
    p0, p1 = model.predict(x)
    assert values["y_1_loss"] == pytest.approx(np.mean((p1 - t1) ** 2), rel=1e-5)
    assert values["y_1_mse"] == pytest.approx(values["y_1_loss"], rel=1e-6)
    assert values["loss"] == pytest.approx(values["y_loss"] + values["y_1_loss"], rel=1e-6)
    # a metric object given for one output keeps its options
    model.compile(optimizer="adam", loss=["mse", "mae"],
                  metrics={"y_1": [bm.metrics.R2Score()]})
    assert model.metrics_names == ["loss", "y_loss", "y_1_loss", "y_1_r2"]


def test_bad_per_output_arguments_name_the_outputs():
    a, b, head, cls = two_heads_data(8, 50)
    model = two_heads(5)
    with pytest.raises(bm.InvalidArgumentError, match="3 values for the model's 2 outputs"):
        model.compile(optimizer="adam", loss=["mse", "mse", "mse"])
    with pytest.raises(bm.InvalidArgumentError, match="loss: no value for 'cls'"):
        model.compile(optimizer="adam", loss={"head": "mse"})
    with pytest.raises(bm.InvalidArgumentError, match="'clss' matches none of the model's "
                                                      "outputs"):
        model.compile(optimizer="adam", loss="mse", metrics={"clss": ["mae"]})
    with pytest.raises(bm.InvalidArgumentError, match=r"loss_weights\[1\] = -1 \(output "
                                                      r"'cls'\)"):
        model.compile(optimizer="adam", loss="mse", loss_weights=[1, -1])
    with pytest.raises(bm.InvalidArgumentError, match="loss_weights must be a list or a dict"):
        model.compile(optimizer="adam", loss="mse", loss_weights=0.5)
    with pytest.raises(bm.InvalidArgumentError, match="AUC needs a binary output"):
        model.compile(optimizer="adam", loss="mse", metrics={"cls": "auc"})
    assert not model.compiled
    compile_two_heads(model)
    with pytest.raises(bm.InvalidArgumentError, match="y: the model has 2 outputs"):
        model.fit([a, b], head, verbose=0)
    with pytest.raises(bm.InvalidArgumentError, match="x: the model has 2 inputs"):
        model.evaluate(a, [head, cls])
    with pytest.raises(bm.InvalidArgumentError, match=r"ys\[1\] \(output 'cls'\) holds "
                                                      r"0.5 at flat index 0"):
        model.fit([a, b], [head, cls.astype(np.float32) + 0.5], verbose=0)
    with pytest.raises(bm.ShapeError, match=r"xs\[0\] \(8, 4\) and xs\[1\] \(7, 3\) hold "
                                            r"different numbers of samples"):
        model.train_on_batch([a, b[:7]], [head, cls])
    with pytest.raises(bm.InvalidArgumentError, match="validation_data must be"):
        model.fit([a, b], [head, cls], validation_data=([a, b],), verbose=0)
    with pytest.raises(bm.InvalidArgumentError, match="needs x and y"):
        model.evaluate(bm.Dataset([a, b]))


def test_a_loaded_functional_model_predicts_the_same_bits_and_resumes_training(tmp_path):
    a, b, head, cls = two_heads_data(64, 60)
    model = compile_two_heads(two_heads(6), lr=0.01)
    model.fit([a, b], [head, cls], epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "two_heads.bgm"
    model.save(path)
    loaded = bm.load_model(path)
    assert isinstance(loaded, bm.Model) and loaded.epochs_completed == 2
    assert [t.name for t in loaded.inputs] == ["a", "b"]
    assert [t.shape for t in loaded.outputs] == [(None, 1), (None, 3)]
    assert loaded.input_shape == [(None, 4), (None, 3)]
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert loaded.get_layer("cls").kind == "Dense"
    assert loaded.outputs[1]._layer is loaded.get_layer("cls")
    assert loaded.output_names == ["head", "cls"]
    assert loaded.metrics_names == model.metrics_names
    assert "cls (Dense)" in loaded.summary_text()
    for p, q in zip(model.predict([a, b]), loaded.predict({"a": a, "b": b})):
        np.testing.assert_array_equal(p, q)
    assert loaded.evaluate([a, b], [head, cls]) == model.evaluate([a, b], [head, cls])
    # resuming: the loaded model's next epochs are the saved model's, bit for bit
    h_model = model.fit([a, b], [head, cls], epochs=4, initial_epoch=2, batch_size=16,
                        verbose=0)
    h_loaded = loaded.fit([a, b], [head, cls], epochs=4, batch_size=16, verbose=0,
                          initial_epoch=loaded.epochs_completed)
    assert h_loaded.history == h_model.history and h_loaded.epoch == [2, 3]
    for p, q in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(p, q)
    # its KerasTensors are its own: no layer calls on them, and gone with it
    with pytest.raises(bm.InvalidArgumentError, match="belongs to a loaded model"):
        layers.Dense(2)(loaded.outputs[0])
    node = loaded.inputs[0]
    loaded.close()
    with pytest.raises(bm.StateError, match="was closed"):
        node.shape
    # a Sequential model still loads as a Sequential
    seq = bm.Sequential([layers.Dense(2)], input_shape=(3,))
    seq.save(tmp_path / "seq.bgm")
    assert type(bm.load_model(tmp_path / "seq.bgm")) is bm.Sequential


# ---- errors ----------------------------------------------------------------------------------


def test_bad_graphs_raise_the_library_errors_with_its_messages():
    a, b = bm.Input(shape=(4, 4, 8), name="a"), bm.Input(shape=(4, 4, 16), name="b")
    x, y = layers.Conv2D(8, 1)(a), layers.Conv2D(16, 1)(b)
    with pytest.raises(bm.ShapeError) as info:
        layers.Add()([x, y])
    assert info.value.message == (
        "bgm_layer_call: layer 'add' (Add): input 1 (None, 4, 4, 16) does not match input 0 "
        "(None, 4, 4, 8) (inputs from 'conv2d', 'conv2d_1')")
    with pytest.raises(bm.InvalidArgumentError, match=r"layer 'add' \(Add\) takes 2 or more "
                                                      r"inputs, got 1"):
        layers.Add()(x)
    with pytest.raises(bm.InvalidArgumentError, match=r"\(Dense\) takes 1 input, got 2"):
        layers.Dense(2)([x, x])
    with pytest.raises(bm.InvalidArgumentError, match="already has an input or layer named "
                                                      "'a'"):
        bm.Input(shape=(2,), name="a")
    # an output no input leads to, an input no output needs, a node that is no input
    with pytest.raises(bm.InvalidArgumentError, match="the outputs need input 'b', which is "
                                                      "not among the model's inputs"):
        bm.Model(a, y)
    with pytest.raises(bm.InvalidArgumentError, match="input 'b' is not needed by any output"):
        bm.Model([a, b], x)
    with pytest.raises(bm.InvalidArgumentError, match="inputs\\[0\\] is the output of layer "
                                                      "'conv2d', not an input node"):
        bm.Model(x, y)
    # two layers of one name
    d = layers.Dense(2, name="twin")(layers.Flatten(name="twin")(x))
    with pytest.raises(bm.InvalidArgumentError, match="two layers are named 'twin'"):
        bm.Model(a, d)
    # nodes of a cleared session belong to another graph
    bm.backend.clear_session()
    c = bm.Input(shape=(4, 4, 8))
    assert c.name == "input_1"  # names start again
    with pytest.raises(bm.InvalidArgumentError, match=r"inputs\[1\] belongs to another graph "
                                                      r"than inputs\[0\]"):
        layers.Add()([x, c])
    with pytest.raises(bm.InvalidArgumentError, match="belongs to another graph than the "
                                                      "model's other nodes"):
        bm.Model(c, x)
    with pytest.raises(bm.StateError, match="belongs to another graph"):
        x._layer(c)   # the conv2d layer lives in the old graph
    # a layer reused on an input its weights do not fit
    shared = layers.Dense(3)
    shared(bm.Input(shape=(5,)))
    with pytest.raises(bm.ShapeError, match=r"reused on input \(None, 4, 4, 8\), but its "
                                            r"weights were built for input \(None, 5\)"):
        shared(c)
    # a failed first call frees the layer, as a failed add does
    bad = layers.Dense(3)
    with pytest.raises(bm.InvalidArgumentError):
        bad([x, c])
    with pytest.raises(bm.StateError, match="freed when calling it on graph nodes failed"):
        bad(c)
    with pytest.raises(bm.InvalidArgumentError, match="units = 0"):
        layers.Dense(0)(c)
    # a layer is part of one model at a time; a called layer is no Sequential's
    first = bm.Model(a, x)
    with pytest.raises(bm.StateError, match="belongs to another model"):
        bm.Model(a, x)
    first.close()
    second = bm.Model(a, x)
    with pytest.raises(bm.InvalidArgumentError, match="a model inside another"):
        second(c)
    with pytest.raises(bm.StateError, match="called on KerasTensors"):
        bm.Sequential([shared], input_shape=(5,))
    with pytest.raises(bm.InvalidArgumentError, match="calling layers on arrays is not "
                                                      "supported"):
        layers.Dense(2)(np.ones((2, 3), np.float32))
    with pytest.raises(bm.InvalidArgumentError, match="needs the KerasTensors"):
        bm.Model()


# ---- lifetimes, summary, leaks -------------------------------------------------------------


def test_nodes_layers_and_models_keep_what_they_need_alive():
    gc.collect()
    graphs = _lib.live.get("graph", 0)
    inp = bm.Input(shape=(3,))
    dense = layers.Dense(2, kernel_initializer="ones")
    out = dense(inp)
    assert _lib.live["graph"] == graphs + 1
    model = bm.Model(inp, out)
    del inp, out
    gc.collect()
    assert model.predict(np.ones((1, 3), np.float32)).tolist() == [[3.0, 3.0]]
    kernel = dense.weights[0]
    del model
    gc.collect()
    np.testing.assert_array_equal(kernel.numpy(), np.ones((3, 2)))  # a weight keeps it
    del kernel
    gc.collect()
    assert dense.weights == [] and dense.output_shape == (None, 2)  # the graph stays
    del dense
    gc.collect()
    assert _lib.live["graph"] == graphs  # nothing refers to the default graph: gone
    assert bm.Input(shape=(1,)).name == "input_1"  # the next Input starts a new one


SUMMARY_HEAD = ('Model: "residual"\n' + "_" * 98 + "\n"
                "Layer (type)                    Output Shape         Param #     Connected to")


def test_summary_lists_the_layers_under_the_model_name(capsys):
    inp = bm.Input(shape=(8, 8, 3))
    h = layers.Conv2D(3, 3, padding="same", name="body")(inp)
    model = bm.Model(inp, layers.Add(name="skip")([h, inp]), name="residual")
    model.summary()
    text = capsys.readouterr().out
    assert text.startswith(SUMMARY_HEAD)
    assert "body (Conv2D)" in text and "skip (Add)" in text and "Total params: 84" in text
    assert "input_1 (InputLayer)" in text and "body[0][0]" in text
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == text.rstrip("\n").split("\n")
    assert repr(model) == "<Model residual: 2 layers, 84 params>"


def test_no_leak_over_2000_build_predict_free_cycles():
    x = randn(4, 6)

    def cycle(i):
        if i % 2:
            bm.backend.clear_session()
        inp = bm.Input(shape=(6,))
        shared = layers.Dense(6, activation="relu")
        h = layers.Add()([shared(inp), shared(layers.Dense(6)(inp))])
        model = bm.Model(inp, layers.Dense(2)(h), seed=i)
        if i % 10 == 0:
            assert model.predict(x).shape == (4, 2)
            assert len(model.trainable_variables) == 6

    assert_no_growth(cycle, n=2000, warmup=200)


# ---- the example -----------------------------------------------------------------------------


def load_example():
    path = os.path.join(bindings_path.BINDINGS, "examples", "resnet_fashion.py")
    spec = importlib.util.spec_from_file_location("resnet_fashion", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_resnet_example_builds_the_documented_network():
    model = load_example().resnet()
    kinds = [layer.kind for layer in model.layers]
    assert kinds.count("Add") == 6 and kinds.count("BatchNormalization") == 15
    assert [tuple(w.shape) for w in model.weights if w.name.endswith("kernel")
            and w.shape[0] == 1] == [(1, 1, 16, 32), (1, 1, 32, 64)]  # two projections
    assert model.output_shape == (None, 10) and model.count_params() == 176090


@pytest.mark.skipif(not os.path.exists(FASHION), reason="Fashion-MNIST not installed")
def test_the_resnet_example_trains_on_a_few_images(capsys):
    model, loss, accuracy = load_example().main(FASHION, epochs=1, samples=256, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
    assert np.isfinite(model.history.history["loss"][0])
    assert 'Model: "resnet"' in capsys.readouterr().out


def test_the_readme_shows_the_example_network_as_it_is():
    with open(os.path.join(bindings_path.BINDINGS, "README.md")) as f:
        readme = f.read()
    with open(os.path.join(bindings_path.BINDINGS, "examples", "resnet_fashion.py")) as f:
        example = f.read()
    shown = readme.split("def conv_bn(", 1)[1].split("\n\n\nmodel = resnet()", 1)[0]
    assert "def conv_bn(" + shown + "\n" in example


def test_the_readme_trains_a_model_of_two_outputs_as_shown(tmp_path, monkeypatch):
    with open(os.path.join(bindings_path.BINDINGS, "README.md")) as f:
        readme = f.read()
    block = readme.split("Training a model of several outputs")[1]
    block = block.split("```python\n", 1)[1].split("```", 1)[0]
    rng = np.random.default_rng(0)
    names = {"bm": bm, "layers": layers, "images": randn(40, 28, 28, 1),
             "meta_rows": randn(40, 4), "labels": rng.integers(0, 10, 40),
             "sizes": randn(40, 1)}
    monkeypatch.chdir(tmp_path)
    exec(block.replace("epochs=5", "epochs=2, verbose=0"), names)
    assert list(names["history"].history) == [
        "loss", "digit_loss", "size_loss", "digit_accuracy", "val_loss", "val_digit_loss",
        "val_size_loss", "val_digit_accuracy"]
    assert isinstance(names["same"], bm.Model)


def test_get_config_reads_the_kinds_fields():
    layer = bm.layers.Dense(4, activation="relu", name="hidden")
    config = layer.get_config()
    assert config["name"] == "hidden" and config["units"] == 4
    assert config["activation"] == "relu" and config["use_bias"] is True
    conv = bm.layers.Conv2D(8, 3, strides=2, padding="same")
    config = conv.get_config()
    assert config["filters"] == 8 and config["kernel_size"] == [3, 3]
    assert config["strides"] == [2, 2] and config["padding"] == "same"
    assert bm.layers.Concatenate(axis=1).get_config()["axis"] == 1
