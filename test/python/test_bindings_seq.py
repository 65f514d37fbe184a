"""Sequence layers through the Python bindings: Embedding, LSTM, GRU and
Bidirectional; int32 token ids as model input; a tiny trainable task."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib
from bigmodel.layers import GRU, LSTM, Bidirectional, Dense, Embedding


def token5_task(n=512, t=10, vocab=20, seed=0):
    """Does token 5 appear in the sequence? About half the rows hold it."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, t)).astype(np.int32)
    x[x == 5] = 6
    has = rng.random(n) < 0.5
    pos = rng.integers(0, t, size=n)
    x[has, pos[has]] = 5
    return x, has.astype(np.float32).reshape(-1, 1)


def test_embedding_lstm_dense_has_keras_parameter_counts():
    model = bm.Sequential([Embedding(20000, 128), LSTM(128), Dense(1, activation="sigmoid")],
                          input_shape=(50,), seed=0)
    counts = [l.count_params() for l in model.layers]
    assert counts == [2_560_000, 131_584, 129]
    assert model.count_params() == 2_560_000 + 131_584 + 129
    assert [l.kind for l in model.layers] == ["Embedding", "LSTM", "Dense"]
    assert model.layers[0].output_shape == (None, 50, 128)
    assert model.output_shape == (None, 1)


def test_gru_parameter_count_and_return_sequences_shape():
    model = bm.Sequential([Embedding(100, 8, input_length=7), GRU(4, return_sequences=True)],
                          seed=0)
    assert model.layers[1].count_params() == 3 * (8 * 4 + 4 * 4 + 2 * 4)
    assert model.output_shape == (None, 7, 4)


def test_a_model_learns_whether_token_5_appears():
    x, y = token5_task()
    model = bm.Sequential([Embedding(20, 8, mask_zero=True), LSTM(16),
                           Dense(1, activation="sigmoid")], input_shape=(10,), seed=1)
    model.compile(optimizer=bm.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate(x, y)
    assert accuracy >= 0.9
    probs = model.predict(x[:7])
    assert probs.shape == (7, 1) and probs.dtype == np.float32
    # int64 ids convert to int32 rather than to floats
    assert np.array_equal(model.predict(x[:7].astype(np.int64)), probs)


def test_ids_given_before_the_model_is_built_set_its_input_shape():
    x, y = token5_task(n=64)
    model = bm.Sequential([Embedding(20, 4), GRU(4), Dense(1)], seed=2)
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.input_shape == (None, 10)


def test_bidirectional_concatenates_both_directions():
    model = bm.Sequential([Embedding(30, 6), Bidirectional(LSTM(5)), Dense(2)],
                          input_shape=(9,), seed=0)
    assert model.layers[1].kind == "Bidirectional"
    assert model.layers[1].output_shape == (None, 10)
    assert model.layers[1].count_params() == 2 * 4 * (6 * 5 + 5 * 5 + 5)
    out = model.predict(np.ones((3, 9), np.int32))
    assert out.shape == (3, 2)
    seq = bm.Sequential([Embedding(30, 6), Bidirectional(GRU(3, return_sequences=True))],
                        input_shape=(9,), seed=0)
    assert seq.predict(np.ones((2, 9), np.int32)).shape == (2, 9, 6)


def test_bidirectional_takes_the_inner_layer_handle():
    before = _lib.live.get("layer", 0)
    inner = LSTM(4)
    wrapper = Bidirectional(inner)
    assert _lib.live.get("layer", 0) == before + 1
    with pytest.raises(bm.StateError, match="Bidirectional"):
        inner.count_params()
    with pytest.raises(bm.StateError):
        Bidirectional(inner)
    wrapper.close()
    assert _lib.live.get("layer", 0) == before


def test_bidirectional_of_a_dense_layer_fails_and_frees_it():
    before = _lib.live.get("layer", 0)
    with pytest.raises(bm.InvalidArgumentError, match="LSTM or GRU"):
        Bidirectional(Dense(3))
    assert _lib.live.get("layer", 0) == before


def test_embedding_matrix_and_trainable_false_freeze_the_given_rows():
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    model = bm.Sequential([Embedding(4, 3, matrix=matrix, trainable=False), LSTM(2),
                           Dense(1)], input_shape=(5,), seed=0)
    emb = model.layers[0]
    assert np.array_equal(emb.get_weights()[0], matrix)
    assert emb.weights[0].trainable is False
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 5), np.int32), np.ones((8, 1), np.float32), epochs=1, verbose=0)
    assert np.array_equal(emb.get_weights()[0], matrix)
    with pytest.raises(bm.ShapeError):
        Embedding(5, 3, matrix=matrix)


def test_bad_options_raise_with_the_library_message():
    with pytest.raises(bm.InvalidArgumentError):
        LSTM(4, dropout=1.5)
    with pytest.raises(bm.InvalidArgumentError):
        GRU(4, recurrent_dropout=-0.1)
    with pytest.raises(bm.InvalidArgumentError):
        Embedding(0, 4)
    with pytest.raises(bm.InvalidArgumentError):
        LSTM(0)


def test_a_sequence_model_saves_and_loads(tmp_path):
    x, y = token5_task(n=64)
    model = bm.Sequential([Embedding(20, 4, mask_zero=True), Bidirectional(GRU(3)),
                           Dense(1, activation="sigmoid")], input_shape=(10,), seed=4)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "seq.bgm")
    loaded = bm.load_model(tmp_path / "seq.bgm")
    assert isinstance(loaded.layers[0], Embedding)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
