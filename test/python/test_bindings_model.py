"""The Keras-style model through the Python bindings: building, summary,
compile / fit / evaluate / predict, callbacks, Ctrl-C, progress output,
errors, ownership of layer and optimizer handles, leaks, and custom loops."""
import csv
import gc
import io
import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import ops
from bigmodel.layers import (BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                             GlobalAveragePooling2D, MaxPooling2D)
from leakcheck import assert_no_growth


def demo_cnn(input_shape=(28, 28, 1)):
    return bm.Sequential([
        Conv2D(32, 3, activation="relu"), MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"), MaxPooling2D(2),
        Conv2D(64, 3, activation="relu"), Flatten(),
        Dense(64, activation="relu"), Dense(10),
    ], input_shape=input_shape, seed=42)


def blobs(n=600, seed=0):
    """Three well-separated Gaussian classes in 4 dimensions."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    centers = np.array([[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]], np.float32)
    x = (centers[y] + rng.normal(size=(n, 4))).astype(np.float32)
    return x, y


def classifier(seed=7, metrics=("accuracy",), lr=0.02):
    model = bm.Sequential([Dense(16, activation="relu"), Dense(3)], input_shape=(4,),
                          seed=seed)
    model.compile(optimizer=bm.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  from_logits=True, metrics=list(metrics))
    return model


# ---- building ----------------------------------------------------------------------


def test_the_tutorial_cnn_has_keras_shapes_and_parameter_counts():
    model = demo_cnn()
    assert [layer.count_params() for layer in model.layers] == [
        320, 0, 18496, 0, 36928, 0, 36928, 650]
    assert model.count_params() == 93322
    assert [layer.output_shape for layer in model.layers] == [
        (None, 26, 26, 32), (None, 13, 13, 32), (None, 11, 11, 64), (None, 5, 5, 64),
        (None, 3, 3, 64), (None, 576), (None, 64), (None, 10)]
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert [layer.name for layer in model.layers[:3]] == ["conv2d", "max_pooling2d",
                                                          "conv2d_1"]
    assert [layer.kind for layer in model.layers[:2]] == ["Conv2D", "MaxPooling2D"]
    assert demo_cnn((32, 32, 3)).count_params() == 122570
    assert len(model.weights) == 10
    assert [w.name for w in model.weights[:2]] == ["conv2d/kernel", "conv2d/bias"]
    assert model.weights[0].shape == (3, 3, 1, 32)


SMALL_SUMMARY = (
    'Model: "sequential"\n'
    "_________________________________________________________________\n"
    "Layer (type)                 Output Shape              Param #   \n"
    "=================================================================\n"
    "conv2d (Conv2D)              (None, 6, 6, 4)           40        \n"
    "_________________________________________________________________\n"
    "batch_normalization (BatchNo (None, 6, 6, 4)           16        \n"
    "_________________________________________________________________\n"
    "global_average_pooling2d (Gl (None, 4)                 0         \n"
    "_________________________________________________________________\n"
    "dense (Dense)                (None, 1000)              5000      \n"
    "=================================================================\n"
    "Total params: 5,056\n"
    "Trainable params: 5,048\n"
    "Non-trainable params: 8\n"
    "_________________________________________________________________\n")


def small_model(**kw):
    return bm.Sequential([Conv2D(4, 3, activation="relu"), BatchNormalization(),
                          GlobalAveragePooling2D(), Dense(1000)], input_shape=(8, 8, 1),
                         seed=1, **kw)


def test_summary_prints_the_keras_table_through_sys_stdout(capsys):
    model = small_model()
    model.summary()
    assert capsys.readouterr().out == SMALL_SUMMARY
    lines = []
    small_model(name="tiny").summary(print_fn=lines.append)
    assert lines[0] == 'Model: "tiny"'
    assert lines[1:] == SMALL_SUMMARY.rstrip("\n").split("\n")[1:]
    assert len(model.trainable_variables) == 6 and len(model.non_trainable_variables) == 2


def test_the_input_shape_can_come_from_a_layer_an_input_build_or_the_data():
    a = bm.Sequential([Dense(5, input_shape=(3,)), Dense(2)], seed=0)
    b = bm.Sequential([bm.Input(shape=(3,)), Dense(5), Dense(2)], seed=0)
    c = bm.Sequential(seed=0)
    c.add(Dense(5))
    c.add(Dense(2))
    assert not c.built and c.layers[0].output_shape is None
    with pytest.raises(bm.StateError, match="not built"):
        c.summary()
    c.build((None, 3))
    d = bm.Sequential([Dense(5), Dense(2)], seed=0)
    d.compile(optimizer="sgd", loss="mse")   # kept until the model is built
    d.fit(np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32), verbose=0)
    for model in (a, b, c, d):
        assert model.input_shape == (None, 3) and model.output_shape == (None, 2)
        assert model.count_params() == 3 * 5 + 5 + 5 * 2 + 2
    # the same seed and layers give the same initial weights
    for wa, wc in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_array_equal(wa, wc)


# ---- compile / fit / evaluate / predict ------------------------------------------------


def test_fit_learns_and_returns_a_keras_history():
    x, y = blobs()
    model = classifier()
    history = model.fit(x, y, epochs=4, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in history.history.values())
    assert history.epoch == [0, 1, 2, 3]
    assert history.params == {"verbose": 0, "epochs": 4, "steps": 15}
    assert model.history is history
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.95
    more = model.fit(x, y, epochs=6, initial_epoch=4, verbose=0)
    assert more.epoch == [4, 5] and set(more.history) == {"loss", "accuracy"}


def test_evaluate_and_predict_agree():
    x, y = blobs()
    model = classifier()
    model.fit(x, y, epochs=3, verbose=0)
    loss, accuracy = model.evaluate(x, y, batch_size=64)
    logits = model.predict(x, batch_size=50)
    assert isinstance(logits, np.ndarray) and logits.shape == (600, 3)
    assert accuracy == pytest.approx(np.mean(logits.argmax(axis=1) == y), abs=1e-12)
    assert accuracy > 0.95
    assert model.metrics_names == ["loss", "accuracy"]
    assert model.evaluate(x, y, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": accuracy})
    np.testing.assert_allclose(model(x).numpy(), logits, rtol=1e-5, atol=1e-6)
    bare = classifier(metrics=())
    assert isinstance(bare.evaluate(x, y), float)


def test_validation_data_and_datasets():
    x, y = blobs()
    model = classifier()
    h = model.fit(x[:500], y[:500], epochs=2, validation_data=(x[500:], y[500:]),
                  verbose=0)
    assert len(h.history["val_loss"]) == 2
    train, val = bm.Dataset(x[:500], y[:500]), bm.Dataset(x[500:], y[500:])
    h = model.fit(train, epochs=2, validation_data=val, verbose=0)
    assert h.history["val_accuracy"][-1] > 0.9
    assert model.evaluate(val) == pytest.approx(model.evaluate(x[500:], y[500:]))
    assert model.predict(val).shape == (100, 3)


def test_metric_objects_and_other_losses():
    x, y = blobs()
    model = bm.Sequential([Dense(8, activation="relu"), Dense(3, activation="softmax")],
                          input_shape=(4,), seed=3)
    model.compile(optimizer=bm.optimizers.SGD(0.1, momentum=0.9),
                  loss=bm.losses.CategoricalCrossentropy(),
                  metrics=["accuracy", bm.metrics.Precision(average="macro", num_classes=3)])
    h = model.fit(x, bm.data.one_hot(y, 3), epochs=3, verbose=0)
    assert model.metrics_names == ["loss", "accuracy", "precision"]
    assert h.history["precision"][-1] > 0.9
    reg = bm.Sequential([Dense(1, kernel_regularizer=bm.regularizers.l2(0.01))],
                        input_shape=(4,), seed=0)
    reg.compile(optimizer="adam", loss="mse", metrics=["mae"])
    loss, mae = reg.evaluate(x, x[:, :1] * 2.0)
    assert loss > 0 and mae > 0


# ---- callbacks ------------------------------------------------------------------------


def noisy_problem(seed=3):
    """Random labels: training memorizes, the validation loss only grows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 20)).astype(np.float32)
    vx = rng.normal(size=(200, 20)).astype(np.float32)
    return (x, rng.integers(0, 2, 200).astype(np.int32),
            vx, rng.integers(0, 2, 200).astype(np.int32))


def test_early_stopping_stops_and_restores_the_best_weights():
    x, y, vx, vy = noisy_problem()
    model = bm.Sequential([Dense(64, activation="relu"), Dense(2)], input_shape=(20,), seed=1)
    model.compile(optimizer=bm.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  from_logits=True)
    snapshots = []
    keep = bm.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    stop = bm.callbacks.EarlyStopping(monitor="val_loss", patience=2,
                                      restore_best_weights=True)
    h = model.fit(x, y, epochs=30, validation_data=(vx, vy), callbacks=[keep, stop],
                  verbose=0)
    val = h.history["val_loss"]
    best = int(np.argmin(val))
    assert stop.stopped_epoch == len(val) - 1 and len(val) < 30
    assert best < len(val) - 1
    for now, then in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(now, then)
    assert model.evaluate(vx, vy) == pytest.approx(val[best], rel=1e-6)


def test_csv_logger_writes_a_row_per_epoch(tmp_path):
    x, y = blobs()
    path = tmp_path / "log.csv"
    model = classifier()
    model.fit(x, y, epochs=3, validation_split=0.2, verbose=0,
              callbacks=[bm.callbacks.CSVLogger(str(path))])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert float(rows[3][2]) == pytest.approx(model.history.history["loss"][2], rel=1e-12)
    bad = bm.callbacks.CSVLogger(str(tmp_path / "missing" / "log.csv"))
    with pytest.raises(bm.FileIOError, match="missing"):
        model.fit(x, y, callbacks=[bad], verbose=0)


def test_a_python_callback_can_stop_training():
    x, y = blobs()
    model = classifier()
    seen = []

    def on_epoch_end(epoch, logs):
        seen.append((epoch, sorted(logs)))
        if epoch == 1:
            model.stop_training = True

    h = model.fit(x, y, epochs=10, verbose=0,
                  callbacks=[bm.callbacks.LambdaCallback(on_epoch_end=on_epoch_end)])
    assert h.epoch == [0, 1]
    assert seen == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])]
    batches = []

    def on_batch_end(batch, logs):
        batches.append(batch)
        model.stop_training = batch == 2

    h = model.fit(x, y, epochs=10, batch_size=10, verbose=0,
                  callbacks=[bm.callbacks.LambdaCallback(on_batch_end=on_batch_end)])
    assert batches == [0, 1, 2] and h.epoch == [0]


def test_a_subclassed_callback_sees_every_event():
    events = []

    class Recorder(bm.callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append(("train_begin", self.model is model))

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            events.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch, round(logs["loss"], 12)))

        def on_train_end(self, logs=None):
            events.append(("train_end",))

    x, y = blobs(40)
    model = classifier()
    h = model.fit(x, y, epochs=1, batch_size=20, shuffle=False, verbose=0,
                  callbacks=[Recorder()])
    assert events == [("train_begin", True), ("epoch_begin", 0),
                      ("batch_end", 0, ["accuracy", "loss"]),
                      ("batch_end", 1, ["accuracy", "loss"]),
                      ("epoch_end", 0, round(h.history["loss"][0], 12)), ("train_end",)]


def test_an_exception_in_a_python_callback_is_reraised_after_fit():
    x, y = blobs()
    model = classifier()
    calls = []

    def explode(batch, logs):
        calls.append(batch)
        if batch == 3:
            raise ZeroDivisionError("boom in a callback")

    before = model.get_weights()
    with pytest.raises(ZeroDivisionError, match="boom in a callback"):
        model.fit(x, y, epochs=5, verbose=0,
                  callbacks=[bm.callbacks.LambdaCallback(on_batch_end=explode)])
    assert calls == [0, 1, 2, 3]  # stopped right after the failing batch
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert model.fit(x, y, epochs=1, verbose=0).epoch == [0]  # still usable

    def schedule(epoch, lr):
        if epoch == 1:
            raise KeyError("no rate for epoch 1")
        return 0.5 * lr

    with pytest.raises(KeyError, match="no rate"):
        model.fit(x, y, epochs=3, verbose=0,
                  callbacks=[bm.callbacks.LearningRateScheduler(schedule)])
    h = model.fit(x, y, epochs=2, verbose=0, callbacks=[
        bm.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))])
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.005])


# ---- Ctrl-C and output ----------------------------------------------------------------


def test_ctrl_c_stops_fit_after_the_current_batch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 64)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    model = bm.Sequential([Dense(256, activation="relu"), Dense(256, activation="relu"),
                           Dense(2)], input_shape=(64,), seed=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  from_logits=True, metrics=["accuracy"])
    handler = signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    start = bm.callbacks.LambdaCallback(on_train_begin=lambda logs: timer.start())
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as info:
        model.fit(x, y, epochs=50, batch_size=32, verbose=0, callbacks=[start])
    timer.join()
    assert time.monotonic() - began < 10  # 50 epochs would take far longer
    assert "cancelled after batch" in str(info.value)
    assert info.value.history is model.history
    assert signal.getsignal(signal.SIGINT) is handler
    loss, accuracy = model.evaluate(x[:1000], y[:1000])  # the model stays usable
    assert np.isfinite(loss)
    assert model.fit(x[:256], y[:256], epochs=1, verbose=0).epoch == [0]


def test_progress_goes_through_sys_stdout(capsys):
    x, y = blobs()
    model = classifier()
    model.fit(x, y, epochs=2, batch_size=100, validation_split=0.5, verbose=2)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("3/3 [==============================] - ")
    assert " - loss: " in lines[1] and " - val_accuracy: " in lines[1]
    assert "\r" not in out
    model.fit(x, y, epochs=1, verbose=1)  # not a terminal: one line per epoch too
    assert len(capsys.readouterr().out.splitlines()) == 2
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_the_bar_is_redrawn_in_place_only_on_a_terminal(monkeypatch):
    x, y = blobs(3000)
    model = classifier()
    term = Terminal()
    monkeypatch.setattr(sys, "stdout", term)
    model.fit(x, y, epochs=1, batch_size=10, verbose=1)
    out = term.getvalue()
    assert out.startswith("Epoch 1/1\n\r  1/300 [..............................] - ETA: ")
    final = out.rsplit("\r", 1)[1]
    assert final.startswith("300/300 [==============================] - ")
    assert final.endswith("\n") and "ETA" not in final


def test_an_exception_writing_progress_is_reraised(monkeypatch):
    class Broken(io.StringIO):
        def write(self, s):
            raise OSError("stdout is gone")

    x, y = blobs()
    monkeypatch.setattr(sys, "stdout", Broken())
    with pytest.raises(OSError, match="stdout is gone"):
        classifier().fit(x, y, epochs=3, verbose=2)


# ---- errors --------------------------------------------------------------------------


def test_bad_input_raises_the_matching_exception_with_the_library_message():
    x, y = blobs(20)
    model = bm.Sequential([Dense(3)], input_shape=(4,), seed=0)
    with pytest.raises(bm.StateError, match="compile the model before fitting it"):
        model.fit(x, y)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(bm.InvalidArgumentError, match="takes class ids; float32 y holds "
                                                      "2.5 at flat index 0, not a whole"):
        model.fit(x, y.astype(np.float32) + 0.5)
    with pytest.raises(bm.ShapeError, match=r"x has shape \(20, 5\), the model expects "
                                            r"\(None, 4\)"):
        model.fit(np.zeros((20, 5), np.float32), y)
    with pytest.raises(bm.ShapeError, match="hold different numbers of samples"):
        model.fit(x, y[:10])
    with pytest.raises(bm.RangeError, match="label 7"):
        model.fit(x, np.full(20, 7, np.int32), verbose=0)
    with pytest.raises(bm.ShapeError, match="bgm_model_predict"):
        model.predict(np.zeros((2, 3), np.float32))
    with pytest.raises(bm.InvalidArgumentError, match="validation_split = 1.5"):
        model.fit(x, y, validation_split=1.5)
    with pytest.raises(bm.StateError, match="the model is compiled"):
        model.add(Dense(2))
    with pytest.raises(bm.InvalidArgumentError, match="from_logits applies to the "
                                                      "cross-entropy losses"):
        model.compile(optimizer="adam", loss="mse", from_logits=True)
    with pytest.raises(bm.ShapeError, match=r"layer 1 \(Conv2D\): expected input of 3 "
                                            r"dimensions"):
        bm.Sequential([Dense(3), Conv2D(2, 3)], input_shape=(4,))
    with pytest.raises(bm.InvalidArgumentError, match="units = 0"):
        Dense(0)
    with pytest.raises(bm.InvalidArgumentError, match=r"rate = 1.5"):
        Dropout(1.5)
    with pytest.raises(bm.InvalidArgumentError, match="padding must be"):
        Conv2D(3, 3, padding="full")
    with pytest.raises(bm.InvalidArgumentError, match="unknown activation"):
        Dense(3, activation="mish")
    with pytest.raises(bm.InvalidArgumentError, match="unknown loss"):
        model.compile(loss="hinge")
    with pytest.raises(bm.InvalidArgumentError, match="unknown metric"):
        model.compile(loss="mse", metrics=["iou"])
    with pytest.raises(bm.InvalidArgumentError, match="unknown optimizer"):
        model.compile(optimizer="lion", loss="mse")
    with pytest.raises(bm.InvalidArgumentError, match="duplicate|already has a layer"):
        bm.Sequential([Dense(2, name="a"), Dense(2, name="a")], input_shape=(2,))
    # after all that the model still trains
    assert model.fit(x, y, verbose=0).epoch == [0]


# ---- ownership ------------------------------------------------------------------------


def test_layers_belong_to_one_model_and_outlive_nothing():
    dense = Dense(4, input_shape=(3,))
    assert not dense.built and dense.name == ""
    model = bm.Sequential([dense], seed=0)
    assert dense.built and dense.name == "dense" and dense.output_shape == (None, 4)
    with pytest.raises(bm.StateError, match="already belongs to a model"):
        bm.Sequential([dense], input_shape=(3,))
    kernel = dense.get_weights()[0]
    del model
    gc.collect()
    # the layer keeps the model's memory alive
    np.testing.assert_array_equal(dense.get_weights()[0], kernel)
    assert dense.count_params() == 16

    bad = Conv2D(2, 3)
    m2 = bm.Sequential(input_shape=(3,))
    with pytest.raises(bm.ShapeError):
        m2.add(bad)              # the library frees the layer's handle
    with pytest.raises(bm.StateError, match="freed when adding it to a model failed"):
        bad.count_params()
    bad.close()                  # no double free
    del bad
    gc.collect()

    m3 = bm.Sequential([Dense(2)], input_shape=(2,), seed=0)
    layer, weight = m3.layers[0], m3.weights[0]
    opt = bm.optimizers.Adam()
    m3.compile(optimizer=opt, loss="mse")
    m3.close()
    for obj, what in ((layer, layer.count_params), (weight, lambda: weight.shape),
                      (opt, lambda: opt.learning_rate)):
        with pytest.raises(bm.StateError, match="closed"):
            what()


def test_closing_a_model_leaves_a_live_recording_valid():
    model = bm.Sequential([Dense(2, kernel_initializer="ones")], input_shape=(3,), seed=0)
    x = bm.Variable(np.ones((1, 3), np.float32))
    with bm.GradientTape() as tape:
        loss = ops.reduce_sum(model(x))
    model.close()
    with pytest.raises(bm.StateError, match="closed"):
        model.predict(np.ones((1, 3), np.float32))
    # the recording still refers to the weights: the library keeps them until it goes
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), [[2, 2, 2]])


def test_an_optimizer_belongs_to_one_model():
    opt = bm.optimizers.Adam(0.01)
    a = bm.Sequential([Dense(2)], input_shape=(2,), seed=0)
    b = bm.Sequential([Dense(2)], input_shape=(2,), seed=0)
    a.compile(optimizer=opt, loss="mse")
    assert a.optimizer is opt and opt.learning_rate == pytest.approx(0.01)
    with pytest.raises(bm.StateError, match="already belongs to a model"):
        b.compile(optimizer=opt, loss="mse")
    a.compile(optimizer=bm.optimizers.SGD(0.1), loss="mse")  # replaces (and frees) opt
    with pytest.raises(bm.StateError, match="closed"):
        opt.learning_rate
    a.fit(np.ones((4, 2), np.float32), np.ones((4, 2), np.float32), verbose=0)
    assert a.optimizer.iterations == 1
    a.optimizer.learning_rate = 0.5
    assert a.optimizer.learning_rate == pytest.approx(0.5)


def test_weights_are_views_of_the_model_and_copies_when_read():
    model = small_model()
    w = model.trainable_variables
    assert w[0] is model.weights[0]
    assert [v.trainable for v in model.weights] == [True] * 4 + [False] * 2 + [True] * 2
    saved = model.get_weights()
    array = w[0].numpy()
    array[...] = 7.0                       # a copy: the model is unchanged
    np.testing.assert_array_equal(model.get_weights()[0], saved[0])
    w[0].assign(np.full(w[0].shape, 0.5, np.float32))
    assert np.all(model.get_weights()[0] == 0.5)
    model.set_weights(saved)
    for a, b in zip(model.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(bm.InvalidArgumentError, match="has 8 weights"):
        model.set_weights(saved[:3])
    grow = bm.Sequential([Dense(2)], input_shape=(2,), seed=0)
    old = grow.weights[0]
    grow.add(Dense(3))                     # reallocates the weights
    with pytest.raises(bm.StateError, match="closed"):
        old.shape
    assert len(grow.weights) == 4


def test_no_leak_over_2000_create_compile_free_cycles():
    x, y = blobs(16)

    def cycle(i):
        model = bm.Sequential([Dense(16, activation="relu"), Dropout(0.1), Dense(3)],
                              input_shape=(4,), seed=i)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      from_logits=True, metrics=["accuracy"])
        if i % 10 == 0:
            model.fit(x, y, epochs=1, batch_size=8, verbose=0,
                      callbacks=[bm.callbacks.EarlyStopping("loss"),
                                 bm.callbacks.LambdaCallback(on_batch_end=lambda b, l: None)])
            assert model.predict(x).shape == (16, 3)
            assert len(model.trainable_variables) == 4

    assert_no_growth(cycle, n=2000, warmup=200)


# ---- custom training loops ---------------------------------------------------------------


def test_a_custom_tape_loop_learns_xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    model = bm.Sequential([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")],
                          input_shape=(2,), seed=0)
    optimizer = bm.optimizers.Adam(0.05)
    loss_fn = bm.losses.BinaryCrossentropy()
    tape = bm.GradientTape()
    for step in range(300):
        with tape:
            pred = model(x, training=True)
            loss = loss_fn(y, pred)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    assert loss.item() < 0.1
    np.testing.assert_array_equal(np.round(model.predict(x)), y)
    with pytest.raises(bm.StateError, match="still holds a recording"):
        model.add(Dense(1))
    tape.reset()
    del pred, loss, grads


def test_compute_loss_matches_evaluate():
    x, y = blobs(64)
    model = classifier()
    with bm.GradientTape() as tape:
        loss = model.compute_loss(y=y, y_pred=model(x))
    grads = tape.gradient(loss, model.trainable_variables)
    assert [g.shape for g in grads] == [v.shape for v in model.trainable_variables]
    assert loss.item() == pytest.approx(model.evaluate(x, y, batch_size=64)[0], rel=1e-5)
