"""Keras' ModelCheckpoint, ReduceLROnPlateau and BackupAndRestore through the
Python bindings, and the library's warnings as UserWarnings: file names
filled in as Python's str.format fills them, best-only saving, the learning
rate in the history, a resumed fit that ends bit for bit where an
uninterrupted one does, each warning exactly when Keras gives it."""
import os
import warnings

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel.callbacks import BackupAndRestore, ModelCheckpoint, ReduceLROnPlateau
from bigmodel.errors import InvalidArgumentError
from bigmodel.layers import Dense, Dropout


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 4)).astype(np.float32),
            rng.standard_normal((n, 1)).astype(np.float32))


def regressor(seed=3):
    model = bm.Sequential([Dense(8, activation="relu"), Dropout(0.25), Dense(1)],
                          input_shape=(4,), seed=seed)
    model.compile(optimizer=bm.optimizers.Adam(learning_rate=0.01), loss="mse")
    return model


def weights(model):
    return [w.numpy() for w in model.weights]


def fit(model, callbacks, epochs=3, **kw):
    x, y = data()
    vx, vy = data(12, 1)
    return model.fit(x, y, batch_size=8, epochs=epochs, verbose=0,
                     validation_data=(vx, vy), callbacks=callbacks, **kw)


# ---- ModelCheckpoint ----------------------------------------------------------------

PATTERNS = ["m-{epoch:02d}-{val_loss:.2f}", "{loss}", "{loss:e}", "{loss:+.3g}",
            "{val_loss:.1%}", "{epoch:>5}|{epoch:<3}|{epoch:^4}", "{loss:_<14.4f}",
            "{loss:012.5f}", "{loss:=+12.3f}", "{val_loss:^16.3E}", "{loss:G}",
            "{epoch:*>4d}{{braces}}", "{loss: .2f}"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_checkpoint_names_files_as_python_formats_them(tmp_path, pattern):
    model = regressor()
    history = fit(model, [ModelCheckpoint(str(tmp_path / (pattern + ".bgm")))], epochs=2)
    for e in range(2):
        logs = {k: v[e] for k, v in history.history.items()}
        name = pattern.format(epoch=e + 1, **logs) + ".bgm"
        assert (tmp_path / name).exists(), (name, sorted(os.listdir(tmp_path)))


def test_checkpoint_makes_missing_folders_and_saves_the_model(tmp_path):
    model = regressor()
    path = tmp_path / "a" / "b" / "ckpt-{epoch}.bgm"
    fit(model, [ModelCheckpoint(path)], epochs=2)
    back = bm.load_model(str(tmp_path / "a" / "b" / "ckpt-2.bgm"))
    for got, want in zip(weights(back), weights(model)):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_best_only_follows_mode_and_prints_keras_lines(tmp_path, capsys):
    path = str(tmp_path / "best.bgm")
    model = regressor()
    history = fit(model, [ModelCheckpoint(path, monitor="loss", mode="max", verbose=1,
                                          save_best_only=True)])
    loss = history.history["loss"]
    out = capsys.readouterr().out
    assert ("\nEpoch 1: loss improved from -inf to %.5f, saving model to %s\n"
            % (loss[0], path)) in out
    assert "\nEpoch 2: loss did not improve from %.5f\n" % loss[0] in out
    assert bm.load_model(path).epochs_completed == 1  # the file kept epoch 1
    # The best value carries over to the next fit, as in Keras: a fresh twin
    # repeats the first epoch's loss, which is no better than the best of three.
    cb = ModelCheckpoint(path, monitor="loss", verbose=1, save_best_only=True)
    loss = fit(regressor(), [cb]).history["loss"]
    capsys.readouterr()
    fit(regressor(), [cb], epochs=1)
    assert ("\nEpoch 1: loss did not improve from %.5f\n" % min(loss)
            in capsys.readouterr().out)
    # mode "min" with initial_value_threshold below every loss never saves.
    os.remove(path)
    fit(regressor(), [ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                      initial_value_threshold=1e-9)])
    assert not os.path.exists(path)


def test_checkpoint_weights_only_writes_safetensors(tmp_path):
    model, other = regressor(), regressor(seed=99)
    fit(model, [ModelCheckpoint(tmp_path / "w.safetensors", save_weights_only=True)], epochs=1)
    other.load_weights_safetensors(str(tmp_path / "w.safetensors"))
    for got, want in zip(weights(other), weights(model)):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_weights_only_writes_the_weights_file(tmp_path):
    model, other = regressor(), regressor(seed=99)
    fit(model, [ModelCheckpoint(tmp_path / "w{epoch}.weights", save_weights_only=True)],
        epochs=2)
    other.load_weights(str(tmp_path / "w2.weights"))
    for got, want in zip(weights(other), weights(model)):
        np.testing.assert_array_equal(got, want)


def test_checkpoint_bad_arguments_raise(tmp_path):
    with pytest.raises(InvalidArgumentError, match="Unrecognized save_freq"):
        ModelCheckpoint(tmp_path / "m.bgm", save_freq="batch")
    with pytest.raises(InvalidArgumentError, match="mode = 'largest'"):
        ModelCheckpoint(tmp_path / "m.bgm", mode="largest")
    with pytest.raises(InvalidArgumentError, match="format spec 'x' is not supported"):
        ModelCheckpoint(tmp_path / "m{epoch:x}.bgm")
    model = regressor()
    with pytest.raises(InvalidArgumentError, match="no value called 'val_acc'"):
        fit(model, [ModelCheckpoint(tmp_path / "m{val_acc}.bgm")], epochs=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(bm.errors.FileIOError, match="cannot create folder"):
        fit(model, [ModelCheckpoint(tmp_path / "file" / "sub" / "m.bgm")], epochs=1)
    fit(model, [], epochs=1)  # still usable


# ---- ReduceLROnPlateau ---------------------------------------------------------------


def test_plateau_lowers_the_rate_and_the_history_shows_it(capsys):
    model = regressor()
    # mode max with a huge min_delta: only epoch 1 improves, so the schedule is known.
    cb = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, mode="max", min_delta=1e6,
                           cooldown=1, min_lr=0.003, verbose=1)
    history = fit(model, [cb], epochs=8)
    want = [np.float32(v) for v in (0.01, 0.01, 0.01, 0.005, 0.005, 0.003, 0.003, 0.003)]
    assert history.history["learning_rate"] == [float(v) for v in want]
    out = capsys.readouterr().out
    # Keras prints the product as a Python float.
    assert ("\nEpoch 3: ReduceLROnPlateau reducing learning rate to %r.\n"
            % (float(np.float32(0.01)) * 0.5)) in out
    assert "\nEpoch 5: ReduceLROnPlateau reducing learning rate to 0.003.\n" in out  # min_lr
    assert "Epoch 7: ReduceLROnPlateau" not in out


def test_plateau_refuses_a_factor_of_one():
    with pytest.raises(InvalidArgumentError, match="factor = 1"):
        ReduceLROnPlateau(factor=1.0)


# ---- BackupAndRestore -----------------------------------------------------------------


class Boom(Exception):
    pass


def test_backup_resumes_an_interrupted_fit_bit_for_bit(tmp_path):
    backup_dir = str(tmp_path / "backup")
    whole = regressor(seed=21)
    fit(whole, [], epochs=5)

    def explode(epoch, logs):
        if epoch == 3:
            raise Boom("killed in epoch %d" % epoch)

    first = regressor(seed=21)
    with pytest.raises(Boom):
        fit(first, [BackupAndRestore(backup_dir),
                    bm.callbacks.LambdaCallback(on_epoch_begin=explode)], epochs=5)
    assert os.path.exists(os.path.join(backup_dir, "latest.bgm"))
    second = regressor(seed=21)  # as in a new process
    history = fit(second, [BackupAndRestore(backup_dir)], epochs=5)
    assert history.epoch == [3, 4]
    for got, want in zip(weights(second), weights(whole)):
        np.testing.assert_array_equal(got, want)
    assert not os.path.exists(backup_dir)  # deleted after a fit that completed


def test_backup_only_at_epoch_ends():
    with pytest.raises(InvalidArgumentError, match="only 'epoch'"):
        BackupAndRestore("/tmp/x", save_freq=10)


# ---- warnings -----------------------------------------------------------------------


def head(units, activation):
    return bm.Sequential([Dense(units, activation=activation)], input_shape=(3,), seed=1)


def test_from_logits_after_softmax_warns():
    model = head(3, "softmax")
    with pytest.warns(UserWarning, match=r"`sparse_categorical_crossentropy` received "
                      r"`from_logits=True`, but the `output` argument was produced by a "
                      r"Softmax activation") as record:
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      from_logits=True)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the user's compile call
    model = head(1, "sigmoid")
    with pytest.warns(UserWarning, match="Sigmoid activation"):
        model.compile(optimizer="adam",
                      loss=bm.losses.BinaryCrossentropy(from_logits=True))


@pytest.mark.parametrize("units, activation, loss, logits", [
    (3, "softmax", "sparse_categorical_crossentropy", False),
    (3, None, "sparse_categorical_crossentropy", True),
    (1, "sigmoid", "binary_crossentropy", False),
    (1, None, "binary_crossentropy", True),
    (2, "softmax", "categorical_crossentropy", False),
])
def test_right_pairings_are_silent(units, activation, loss, logits):
    model = head(units, activation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.compile(optimizer="adam", loss=loss, from_logits=logits)
        x = np.zeros((4, 3), np.float32)
        y = (np.zeros((4,), np.int32) if loss.startswith("sparse")
             else np.zeros((4, units), np.float32))
        model.fit(x, y, epochs=1, verbose=0)


def test_one_unit_softmax_and_categorical_loss_warn():
    with pytest.warns(UserWarning, match="softmax over axis -1 of a tensor of shape "
                      r"\(None, 1\)"):
        head(1, "softmax").compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.warns(UserWarning, match="In loss categorical_crossentropy, expected"):
        head(1, "sigmoid").compile(optimizer="adam", loss="categorical_crossentropy")


def test_callbacks_missing_monitor_warns_during_fit(tmp_path):
    model = regressor()
    with pytest.warns(UserWarning, match="Can save best model only with val_auc available."):
        fit(model, [ModelCheckpoint(tmp_path / "m.bgm", monitor="val_auc",
                                    save_best_only=True)], epochs=1)
    assert (tmp_path / "m.bgm").exists()
    with pytest.warns(UserWarning, match="Learning rate reduction is conditioned on metric "
                      "`accuracy` which is not available"):
        history = fit(model, [ReduceLROnPlateau(monitor="accuracy")], epochs=1)
    assert history.history["learning_rate"] == [float(np.float32(0.01))]


KILLED_CHILD = r"""
import os, signal, sys
sys.path.insert(0, %(here)r)
import test_callbacks_keras as t
import bigmodel as bm

def die(epoch, logs):
    if epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)

t.fit(t.regressor(seed=21), [t.BackupAndRestore(%(dir)r),
                             bm.callbacks.LambdaCallback(on_epoch_end=die)], epochs=5)
"""


def test_backup_resumes_after_the_process_was_killed(tmp_path):
    import signal
    import subprocess
    import sys
    backup_dir = str(tmp_path / "backup")
    code = KILLED_CHILD % {"here": os.path.dirname(os.path.abspath(__file__)),
                           "dir": backup_dir}
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert os.path.exists(os.path.join(backup_dir, "latest.bgm"))
    whole = regressor(seed=21)
    fit(whole, [], epochs=5)
    resumed = regressor(seed=21)
    history = fit(resumed, [BackupAndRestore(backup_dir)], epochs=5)
    assert history.epoch == [3, 4]
    assert resumed.epochs_completed == 5
    for got, want in zip(weights(resumed), weights(whole)):
        np.testing.assert_array_equal(got, want)
