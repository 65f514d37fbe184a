"""Freezing through the Python bindings: layer.trainable and model.trainable
as in Keras (fit follows them from the next compile, trainable_variables and
the summary at once), a frozen BatchNormalization in inference mode, files."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel.errors import StateError
from bigmodel.layers import GRU, BatchNormalization, Bidirectional, Dense


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 4)).astype(np.float32),
            rng.standard_normal((n, 2)).astype(np.float32))


def mlp(seed=3):
    return bm.Sequential([Dense(8, activation="relu", name="base"),
                          Dense(8, activation="relu", name="mid"), Dense(2, name="head")],
                         input_shape=(4,), seed=seed)


def fit(model, x, y, epochs=2):
    model.fit(x, y, batch_size=8, epochs=epochs, verbose=0)


def test_frozen_layer_keeps_its_bits_through_fit_and_leaves_trainable_variables():
    x, y = data()
    model = mlp()
    model.get_layer("mid").trainable = False
    assert model.get_layer("mid").trainable is False
    names = [w.name for w in model.trainable_variables]
    assert names == ["base/kernel", "base/bias", "head/kernel", "head/bias"]
    assert [w.name for w in model.non_trainable_variables] == ["mid/kernel", "mid/bias"]
    assert model.get_layer("mid").trainable_weights == []
    assert len(model.get_layer("mid").non_trainable_weights) == 2
    model.compile(optimizer="adam", loss="mse")
    before = {w.name: w.numpy() for w in model.weights}
    fit(model, x, y)
    for w in model.weights:
        same = np.array_equal(before[w.name], w.numpy())
        assert same == w.name.startswith("mid/"), w.name
    assert "Trainable params: %s" % format(4 * 8 + 8 + 8 * 2 + 2, ",") in model.summary_text()


def test_trainable_set_before_the_model_is_built_holds():
    x, y = data()
    base = Dense(8, activation="relu", name="base")
    base.trainable = False
    model = bm.Sequential([base, Dense(2)], seed=1)   # built by the first data
    model.compile(optimizer="sgd", loss="mse")
    model.build((None, 4))
    before = base.get_weights()
    fit(model, x, y, 1)
    for a, b in zip(before, base.get_weights()):
        assert np.array_equal(a, b)


def test_freezing_after_compile_takes_effect_at_the_next_compile():
    x, y = data()
    a, b = mlp(seed=5), mlp(seed=5)
    for m in (a, b):
        m.compile(optimizer="adam", loss="mse")
    a.get_layer("base").trainable = False
    assert len(a.trainable_variables) == 4        # at once, as Keras
    fit(a, x, y)
    fit(b, x, y)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)             # fit still trained base
    a.compile(optimizer="adam", loss="mse")
    before = a.get_layer("base").get_weights()
    fit(a, x, y)
    for w0, w1 in zip(before, a.get_layer("base").get_weights()):
        assert np.array_equal(w0, w1)


def test_model_trainable_false_freezes_every_layer_and_true_unfreezes():
    x, y = data()
    model = mlp()
    model.trainable = False
    assert model.trainable is False
    assert all(layer.trainable is False for layer in model.layers)
    assert model.trainable_variables == []
    model.compile(optimizer="adam", loss="mse")
    before = model.get_weights()
    fit(model, x, y, 1)
    for w0, w1 in zip(before, model.get_weights()):
        assert np.array_equal(w0, w1)
    model.trainable = True
    assert len(model.trainable_variables) == 6
    model.compile(optimizer="adam", loss="mse")
    fit(model, x, y, 1)
    assert not np.array_equal(before[0], model.get_weights()[0])


def test_frozen_batch_norm_normalizes_with_its_moving_statistics_in_training():
    x, y = data(seed=2)
    model = bm.Sequential([BatchNormalization(name="bn"), Dense(2)], input_shape=(4,), seed=2)
    model.compile(optimizer="adam", loss="mse")
    fit(model, x + 3.0, y, 1)                     # moving statistics away from 0 / 1
    bn = model.get_layer("bn")
    bn.trainable = False
    gamma, beta, mean, var = bn.get_weights()
    with bm.GradientTape() as tape:
        out = model(x, training=True)
    expected = ((x - mean) / np.sqrt(var + 1e-3) * gamma + beta) @ model.layers[1].get_weights()[0] \
        + model.layers[1].get_weights()[1]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    model.compile(optimizer="adam", loss="mse")
    fit(model, x, y, 2)
    for w0, w1 in zip((gamma, beta, mean, var), bn.get_weights()):
        assert np.array_equal(w0, w1)


def test_bidirectional_flag_covers_its_wrapped_layer():
    inner = GRU(3)
    bi = Bidirectional(inner)
    with pytest.raises(StateError):
        inner.trainable = False                   # its handle went to the wrapper
    bi.trainable = False
    assert bi.get_config()["trainable"] is False


def test_flags_survive_save_and_load(tmp_path):
    x, y = data()
    model = mlp()
    model.get_layer("base").trainable = False
    model.compile(optimizer="adam", loss="mse")
    fit(model, x, y, 1)
    path = str(tmp_path / "m.bgm")
    model.save(path)
    loaded = bm.load_model(path)
    assert [l.trainable for l in loaded.layers] == [False, True, True]
    assert [w.name for w in loaded.trainable_variables] == \
        [w.name for w in model.trainable_variables]
    before = loaded.get_layer("base").get_weights()
    fit(loaded, x, y, 1)
    for w0, w1 in zip(before, loaded.get_layer("base").get_weights()):
        assert np.array_equal(w0, w1)
