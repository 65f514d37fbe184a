"""Non-finite training through the Python bindings: fit and train_on_batch
raise NonFiniteError naming epoch, step and loss or weight, keep the weights
of the last finite step bit for bit and stay usable; TerminateOnNaN (and any
callback that sets stop_training) ends fit normally instead."""
import math

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel.callbacks import Callback, TerminateOnNaN
from bigmodel.errors import NonFiniteError
from bigmodel.layers import Dense


def data(n=64, nan_at=None):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (n, 3)).astype(np.float32)
    y = (x @ np.array([2.0, -1.0, 0.5], np.float32) + 1.0).astype(np.float32)
    if nan_at is not None:
        x[nan_at, 1] = np.nan
    return x, y


def regressor(lr=0.01, optimizer="adam"):
    model = bm.Sequential([Dense(1, name="out")], input_shape=(3,), seed=7)
    opt = (bm.optimizers.Adam(learning_rate=lr) if optimizer == "adam"
           else bm.optimizers.SGD(learning_rate=lr))
    model.compile(optimizer=opt, loss="mse")
    return model


def same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def after_two_batches(x, y):
    ref = regressor()
    ref.fit(x[:32], y[:32], batch_size=16, epochs=1, shuffle=False, verbose=0)
    return ref.get_weights()


def test_status_class_and_name():
    err = bm.errors.error_for_status(-12, "m")
    assert type(err) is NonFiniteError and isinstance(err, FloatingPointError)
    assert bm.NonFiniteError is NonFiniteError
    assert bm._lib.lib.bgm_status_string(-12).decode() == "BGM_E_NONFINITE"


def test_nan_input_raises_and_keeps_the_last_finite_weights():
    x, y = data(nan_at=37)
    model = regressor()
    with pytest.raises(NonFiniteError, match="epoch 1, step 3: the loss is nan; the step "
                       "was not applied"):
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert same(model.get_weights(), after_two_batches(x, y))
    x[37, 1] = 0.25
    h = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert all(math.isfinite(v) for v in h.history["loss"])


def test_diverging_rate_raises_with_the_weights_before_the_failing_step():
    x, y = data()
    model, ref = regressor(1e6, "sgd"), regressor(1e6, "sgd")
    first = model.get_weights()
    for k in range(200):  # the same batches, one step at a time
        before = ref.get_weights()
        r = (16 * k) % 64
        try:
            ref.train_on_batch(x[r:r + 16], y[r:r + 16])
        except NonFiniteError as e:
            assert "bgm_model_train_on_batch_weighted: the " in e.message
            break
    else:
        pytest.fail("no step diverged")
    assert k >= 1 and same(ref.get_weights(), before)
    with pytest.raises(NonFiniteError) as info:
        model.fit(x, y, batch_size=16, epochs=100, shuffle=False, verbose=0)
    assert "epoch %d, step %d: the " % (k // 4 + 1, k % 4 + 1) in info.value.message
    assert same(model.get_weights(), before)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # usable after: back to the first weights, a lower rate trains
    model.set_weights(first)
    model.optimizer.learning_rate = 0.05
    start = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert model.evaluate(x, y, verbose=0) < start


def test_overflowing_gradient_names_the_weight():
    model = regressor(0.01, "sgd")
    model.set_weights([np.array([[1e-3], [0], [0]], np.float32), np.zeros(1, np.float32)])
    x = np.zeros((4, 3), np.float32)
    x[:, 0] = 1e21
    with pytest.raises(NonFiniteError, match=r"epoch 1, step 1: the gradient of 'out/kernel' "
                       r"holds inf \(element 0 of 3\)"):
        model.fit(x, np.zeros(4, np.float32), batch_size=4, verbose=0)


def test_train_on_batch_raises_and_changes_nothing():
    x, y = data(nan_at=37)
    model = regressor()
    model.train_on_batch(x[:16], y[:16])
    w = model.get_weights()
    with pytest.raises(NonFiniteError, match="train_on_batch_weighted: the loss is nan"):
        model.train_on_batch(x[32:48], y[32:48])
    assert same(model.get_weights(), w)


def test_terminate_on_nan_stops_after_the_nan_batch(capsys):
    x, y = data(nan_at=37)
    model = regressor()
    capsys.readouterr()
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                  callbacks=[TerminateOnNaN()])
    assert "Batch 2: Invalid loss, terminating training\n" in capsys.readouterr().out
    assert len(h.history["loss"]) == 1 and math.isnan(h.history["loss"][0])
    assert same(model.get_weights(), after_two_batches(x, y))


def test_terminate_on_nan_with_raise_error_raises_at_that_batch(capsys):
    x, y = data(nan_at=37)
    model = regressor()
    capsys.readouterr()
    with pytest.raises(NonFiniteError, match="TerminateOnNaN: NaN or Inf loss encountered at "
                       "batch 2 of epoch 1"):
        model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                  callbacks=[TerminateOnNaN(raise_error=True)])
    assert "Invalid loss" not in capsys.readouterr().out
    assert same(model.get_weights(), after_two_batches(x, y))


def test_a_python_callback_that_stops_on_nan_ends_fit_normally():
    class StopOnNaN(Callback):
        seen = None

        def on_train_batch_end(self, batch, logs=None):
            if not math.isfinite(logs["loss"]):
                StopOnNaN.seen = batch
                self.model.stop_training = True

    x, y = data(nan_at=37)
    model = regressor()
    h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                  callbacks=[StopOnNaN()])
    assert StopOnNaN.seen == 2 and len(h.history["loss"]) == 1
    assert same(model.get_weights(), after_two_batches(x, y))
