"""fit / evaluate / predict on data that is not one array: Python generators,
PyDatasets and tf.data-style pipelines, all read through the library's
prefetching bgm_stream. Same batches in the same order give the same
weights, bit for bit, as fit on the arrays; a generator that raises reaches
the caller with nothing leaked and the model usable."""
import gc
import threading
import weakref

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib
from bigmodel.errors import InvalidArgumentError
from bigmodel.layers import Add, Concatenate, Dense, Dropout


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return x, y


def model(seed=3):
    m = bm.Sequential([Dense(8, activation="relu"), Dropout(0.2), Dense(2)],
                      input_shape=(4,), seed=seed)
    m.compile(optimizer="adam", loss=bm.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    return m


def batches(x, y, size=8):
    for i in range(0, len(x), size):
        yield x[i:i + size], y[i:i + size]


def weights(m):
    return [w.numpy().copy() for w in m.weights]


def assert_bit_equal(a, b):
    assert len(a) == len(b)
    for wa, wb in zip(a, b):
        assert wa.tobytes() == wb.tobytes()


def test_fit_on_a_generator_equals_fit_on_the_arrays():
    x, y = data()
    vx, vy = data(20, seed=1)
    mem, gen = model(), model()
    h0 = mem.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                 validation_data=(vx, vy))
    # 7 batches per epoch, 3 epochs: one generator of 21 batches, steps given.
    source = (b for _ in range(3) for b in batches(x, y))
    vsource = (b for _ in range(3) for b in batches(vx, vy))
    h1 = gen.fit(source, epochs=3, steps_per_epoch=7, verbose=0,
                 validation_data=vsource, validation_steps=3)
    assert_bit_equal(weights(mem), weights(gen))
    assert h0.history["loss"] == h1.history["loss"]
    assert h0.history["val_loss"] == h1.history["val_loss"]
    assert h0.history["val_accuracy"] == h1.history["val_accuracy"]


def test_a_generator_validates_on_arrays_as_fit_on_arrays_does():
    x, y = data()
    vx, vy = data(20, seed=1)
    mem, gen = model(), model()
    h0 = mem.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
                 validation_data=(vx, vy))
    h1 = gen.fit(batches(x, y), batch_size=8, verbose=0,
                 validation_data=bm.data.Dataset(vx, vy))
    assert h0.history == h1.history
    with pytest.raises(InvalidArgumentError, match="give x as one too"):
        mem.fit(x, y, verbose=0, validation_data=batches(vx, vy))


def test_evaluate_and_predict_on_generators_equal_the_arrays():
    x, y = data(45)
    m = model()
    m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert m.evaluate(batches(x, y, 16)) == m.evaluate(x, y, batch_size=16)
    p = m.predict(x, batch_size=16)
    assert p.tobytes() == m.predict((xb for xb, _ in batches(x, y, 16))).tobytes()
    # (x, y) batches are taken for predict too, y unused; steps limits the read.
    p2 = m.predict(batches(x, y, 16), steps=2)
    assert p2.shape == (32, 2) and p2.tobytes() == p[:32].tobytes()
    assert m.evaluate(batches(x, y, 16), steps=1) == m.evaluate(x[:16], y[:16])


def test_a_pipeline_equals_the_arrays_and_reiterates_every_epoch():
    x, y = data()
    mem, pipe = model(), model()
    mem.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    ds = bm.data.Dataset.from_tensor_slices((x, y)).batch(8).prefetch(3)
    assert len(ds) == 7 and ds.cardinality() == 7
    h = pipe.fit(ds, epochs=3, verbose=0)
    assert_bit_equal(weights(mem), weights(pipe))
    assert len(h.history["loss"]) == 3
    assert pipe.evaluate(ds) == mem.evaluate(x, y, batch_size=8)
    # steps_per_epoch equal to the pipeline's length: each epoch is a whole pass.
    again = model()
    again.fit(ds, epochs=3, steps_per_epoch=7, verbose=0)
    assert_bit_equal(weights(mem), weights(again))


class Batches(bm.data.PyDataset):
    def __init__(self, x, y, size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.size, self.ends = x, y, size, 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        s = slice(i * self.size, (i + 1) * self.size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.ends += 1


def test_a_py_dataset_equals_the_arrays():
    x, y = data()
    mem, py = model(), model()
    mem.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    source = Batches(x, y, 8, max_queue_size=4)
    py.fit(source, epochs=2, verbose=0)
    assert_bit_equal(weights(mem), weights(py))
    assert source.ends == 1          # between the two epochs
    with pytest.raises(InvalidArgumentError, match="workers=4"):
        Batches(x, y, 8, workers=4)


def test_pipeline_transformations_match_numpy():
    x, y = data(10)
    ds = bm.data.Dataset.from_tensor_slices((x, y))
    doubled = list(ds.map(lambda a, b: (a * 2, b + 1)).batch(4))
    assert [len(b[0]) for b in doubled] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in doubled]), x * 2)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in doubled]), y + 1)
    assert [len(b[0]) for b in ds.batch(4, drop_remainder=True)] == [4, 4]
    assert ds.map(lambda a, b: (a, b)).batch(3, drop_remainder=True).cardinality() == 3
    # take / repeat count batches once batched, elements before.
    assert len(list(ds.batch(4).repeat(2))) == 6
    assert ds.batch(4).repeat().cardinality() == bm.data.INFINITE_CARDINALITY
    assert len(list(ds.batch(4).repeat().take(5))) == 5
    assert len(list(ds.repeat(3).take(7))) == 7
    # A buffered shuffle is a permutation; the seed fixes it; passes differ.
    sh = ds.map(lambda a, b: b).shuffle(4, seed=7)
    p1, p2 = [int(v) for v in sh], [int(v) for v in sh]
    assert sorted(p1) == sorted(y.tolist()) and len(p1) == 10
    idx = bm.data.Dataset.from_tensor_slices(np.arange(10, dtype=np.float32)).map(
        lambda a: a).shuffle(4, seed=7)
    o1, o2 = [float(v) for v in idx], [float(v) for v in idx]
    assert sorted(o1) == list(range(10)) and o1 != o2
    assert o1 == [float(v) for v in bm.data.Dataset.from_tensor_slices(
        np.arange(10, dtype=np.float32)).map(lambda a: a).shuffle(4, seed=7)]
    assert sorted(p2) == sorted(p1)
    # A buffer of 4: output k is drawn from the first k + 4 elements.
    assert all(v <= pos + 3 for pos, v in enumerate(o1))


def test_a_generator_that_raises_reaches_the_caller_and_leaks_nothing():
    x, y = data()
    m = model()

    def bad():
        yield x[:8], y[:8]
        yield x[8:16], y[8:16]
        raise ValueError("row 17 is corrupt")

    streams_before = _lib.live.get("stream", 0)
    g = bad()
    ref = weakref.ref(g)
    with pytest.raises(ValueError, match="row 17 is corrupt") as info:
        m.fit(g, epochs=1, verbose=0)
    assert "the stream failed" in str(info.value.__cause__)
    del g, info
    gc.collect()
    assert ref() is None
    assert _lib.live.get("stream", 0) == streams_before
    # The model is usable: the next fit trains from where it stands.
    h = m.fit(batches(x, y), epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])
    with pytest.raises(ValueError, match="row 17"):
        m.predict(b[0] for b in bad())
    with pytest.raises(ValueError, match="row 17"):
        m.evaluate(bad())
    assert _lib.live.get("stream", 0) == streams_before


def test_bad_sources_get_clear_errors():
    x, y = data()
    m = model()
    with pytest.raises(InvalidArgumentError, match="ran out of data after 7 batches"):
        m.fit(batches(x, y), epochs=2, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"must be an \(x, y\) or \(x, y, "
                                                   r"sample_weight\) tuple"):
        m.fit((a for a, _ in batches(x, y)), verbose=0)
    with pytest.raises(InvalidArgumentError, match="a batch of 16 samples after a first "
                                                   "batch of 8"):
        m.fit(iter([(x[:8], y[:8]), (x[:16], y[:16])]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="repeats forever: give steps_per_epoch"):
        m.fit(bm.data.Dataset(x, y).batch(8).repeat(), verbose=0)
    with pytest.raises(InvalidArgumentError, match="gave no batch"):
        m.fit(iter([]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="y must be None"):
        m.fit(batches(x, y), y, verbose=0)
    # An endless pipeline with steps_per_epoch trains.
    h = m.fit(bm.data.Dataset(x, y).batch(8).repeat(), epochs=2, steps_per_epoch=3,
              verbose=0)
    assert len(h.history["loss"]) == 2


def test_progress_lines_count_the_batches_of_a_generator_of_unknown_length(capsys):
    x, y = data()
    m = model()
    m.fit(batches(x, y), epochs=1, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/1"
    assert lines[1].startswith("7/7 [==============================] - ")
    assert " - loss: " in lines[1] and " - accuracy: " in lines[1]


def test_a_two_input_two_output_model_trains_on_dict_batches_as_on_arrays():
    def make():
        left, right = bm.Input(shape=(4,)), bm.Input(shape=(3,))
        hl, hr = Dense(5)(left), Dense(5)(right)
        m = bm.Model(inputs=[left, right], outputs=[Concatenate(name="cat")([hl, hr]),
                                                    Add(name="sum")([hl, hr])], seed=2)
        m.compile(optimizer="sgd", loss="mse")
        return m
    rng = np.random.default_rng(4)
    xl, xr = rng.standard_normal((30, 4), np.float32), rng.standard_normal((30, 3), np.float32)
    yc, ys = rng.standard_normal((30, 10), np.float32), rng.standard_normal((30, 5), np.float32)
    mem, gen = make(), make()
    h0 = mem.fit([xl, xr], [yc, ys], batch_size=8, epochs=1, shuffle=False, verbose=0)
    threads = set()

    def source():
        for i in range(0, 30, 8):
            threads.add(threading.get_ident())
            s = slice(i, i + 8)
            yield [xl[s], xr[s]], {"sum": ys[s], "cat": yc[s]}
    h1 = gen.fit(source(), verbose=0)
    assert_bit_equal(weights(mem), weights(gen))
    assert h0.history == h1.history
    # The first batch is read on the caller's thread (for the shapes), the
    # others on the stream's thread.
    assert len(threads) == 2 and threading.get_ident() in threads
    out = gen.predict(([xl[i:i + 8], xr[i:i + 8]] for i in range(0, 30, 8)))
    ref = gen.predict([xl, xr])
    assert [o.tobytes() for o in out] == [o.tobytes() for o in ref]
