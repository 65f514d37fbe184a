"""Model files through the Python bindings: Sequential.save / bigmodel.load_model
round trips (predictions, evaluation, resumed fit), errors for corrupt and
missing files, and safetensors weights."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel.layers import Dense, Dropout


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return x, y


def trained(compress=False):
    model = bm.Sequential([Dense(16, activation="relu"), Dropout(0.1), Dense(2)],
                          input_shape=(6,), seed=7)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  from_logits=True, metrics=["accuracy"])
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    return model, x, y


@pytest.mark.parametrize("compress", [False, True])
def test_a_loaded_model_predicts_and_evaluates_exactly_as_the_saved_one(tmp_path, compress):
    model, x, y = trained()
    path = tmp_path / "m.bgm"
    model.save(path, compress=compress)
    loaded = bm.load_model(path)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert loaded.metrics_names == ["loss", "accuracy"]
    assert loaded.compiled
    assert isinstance(loaded.optimizer, bm.optimizers.Adam)
    assert loaded.count_params() == model.count_params() == 16 * 6 + 16 + 17 * 2
    assert [l.kind for l in loaded.layers] == ["Dense", "Dropout", "Dense"]
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert isinstance(loaded.layers[0], Dense)
    assert loaded.layers[-1].output_shape == (None, 2)
    assert loaded.input_shape == (None, 6)
    assert len(loaded.layers[0].get_weights()) == 2
    loaded.close()
    model.close()


def test_a_resumed_fit_continues_from_the_saved_epoch_bit_for_bit(tmp_path):
    x, y = data()

    def fresh():
        m = bm.Sequential([Dense(8, activation="relu"), Dense(2)], input_shape=(6,), seed=3)
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  from_logits=True)
        return m

    whole = fresh()
    whole.fit(x, y, epochs=4, batch_size=32, verbose=0)
    half = fresh()
    half.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert half.epochs_completed == 2
    half.save(tmp_path / "ckpt.bgm")
    resumed = bm.load_model(tmp_path / "ckpt.bgm")
    assert resumed.epochs_completed == 2
    history = resumed.fit(x, y, epochs=4, batch_size=32, verbose=0,
                          initial_epoch=resumed.epochs_completed)
    assert history.epoch == [2, 3]
    assert resumed.epochs_completed == 4
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        assert np.array_equal(a, b)


def test_a_loaded_binary_model_takes_integer_labels_as_float_targets(tmp_path):
    x, y = data()
    model = bm.Sequential([Dense(1, activation="sigmoid")], input_shape=(6,), seed=1)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y.reshape(-1, 1), epochs=1, verbose=0)
    model.save(str(tmp_path / "b.bgm"))
    loaded = bm.load_model(str(tmp_path / "b.bgm"))
    assert loaded.evaluate(x, y.reshape(-1, 1)) == model.evaluate(x, y.reshape(-1, 1))
    loaded.fit(x, y.reshape(-1, 1), epochs=1, verbose=0, initial_epoch=1)


def test_an_uncompiled_model_loads_uncompiled_and_predicts(tmp_path):
    model = bm.Sequential([Dense(3)], input_shape=(4,), seed=2)
    model.save(tmp_path / "u.bgm")
    loaded = bm.load_model(tmp_path / "u.bgm")
    assert not loaded.compiled and loaded.optimizer is None
    x = np.ones((2, 4), np.float32)
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_a_corrupt_file_raises_format_error_with_the_library_message(tmp_path):
    path = tmp_path / "bad.bgm"
    path.write_bytes(b"this is not a model file at all, just some bytes" * 4)
    with pytest.raises(bm.FormatError) as info:
        bm.load_model(path)
    assert "bad.bgm" in str(info.value)
    model, _, _ = trained()
    model.save(path)
    blob = bytearray(path.read_bytes())
    path.write_bytes(bytes(blob[: len(blob) // 2]))
    with pytest.raises(bm.FormatError, match="bad.bgm"):
        bm.load_model(path)


def test_a_missing_file_raises_the_io_error_class(tmp_path):
    with pytest.raises(bm.FileIOError) as info:
        bm.load_model(tmp_path / "nope.bgm")
    assert isinstance(info.value, OSError)
    assert "nope.bgm" in str(info.value)


def test_saving_into_a_missing_folder_raises_file_io_error(tmp_path):
    model = bm.Sequential([Dense(1)], input_shape=(2,), seed=0)
    with pytest.raises(bm.FileIOError):
        model.save(tmp_path / "no" / "such" / "m.bgm")


def test_safetensors_weights_round_trip(tmp_path):
    model, x, _ = trained()
    path = tmp_path / "w.safetensors"
    model.save_weights_safetensors(path)
    other = bm.Sequential([Dense(16, activation="relu"), Dropout(0.1), Dense(2)],
                          input_shape=(6,), seed=99)
    assert not np.array_equal(other.predict(x), model.predict(x))
    other.load_weights_safetensors(path)
    assert np.array_equal(other.predict(x), model.predict(x))
    wrong = bm.Sequential([Dense(5)], input_shape=(6,), seed=0)
    before = wrong.get_weights()
    with pytest.raises(bm.BigmodelError):
        wrong.load_weights_safetensors(path)
    for a, b in zip(before, wrong.get_weights()):
        assert np.array_equal(a, b)
