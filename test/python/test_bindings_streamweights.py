"""Sample and class weights on data that is not one array: generators,
PyDatasets and pipelines yielding (x, y, sample_weight) train and validate
bit for bit as fit(x, y, sample_weight=w) on the same batches; evaluate on
them equals the weighted loss computed with numpy; class_weight on a
generator equals class_weight on the arrays; bad weights get clear errors
and leak nothing."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib
from bigmodel.errors import BigmodelError, InvalidArgumentError
from bigmodel.layers import Dense, Dropout


def data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0.5).astype(np.int32))
    w = rng.uniform(0.0, 2.0, n).astype(np.float32)
    return x, y, w


def model(dropout=True, seed=3):
    layers = [Dense(8, activation="relu")] + ([Dropout(0.2)] if dropout else []) + [Dense(3)]
    m = bm.Sequential(layers, input_shape=(4,), seed=seed)
    m.compile(optimizer="adam", loss=bm.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    return m


def batches(*arrays, size=8):
    for i in range(0, len(arrays[0]), size):
        yield tuple(a[i:i + size] for a in arrays)


def assert_bit_equal(ma, mb):
    wa, wb = ma.get_weights(), mb.get_weights()
    assert len(wa) == len(wb)
    for a, b in zip(wa, wb):
        assert a.tobytes() == b.tobytes()


def assert_same_history(h0, h1):
    assert sorted(h0.history) == sorted(h1.history)
    for k in h0.history:
        assert h0.history[k] == h1.history[k], k


class Weighted(bm.data.PyDataset):
    """Batches of (x, y, w) by index."""

    def __init__(self, x, y, w, size=8):
        super().__init__(max_queue_size=3)
        self.x, self.y, self.w, self.size = x, y, w, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, i):
        s = slice(i * self.size, (i + 1) * self.size)
        return self.x[s], self.y[s], self.w[s]


def test_weighted_generators_fit_as_weighted_arrays():
    x, y, w = data()
    vx, vy, vw = data(21, seed=1)
    mem = model()
    h0 = mem.fit(x, y, sample_weight=w, batch_size=8, epochs=3, shuffle=False, verbose=0,
                 validation_data=(vx, vy, vw))
    # The weights matter: unweighted training gives other losses.
    plain = model().fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert plain.history["loss"][0] != h0.history["loss"][0]
    # A generator of 21 batches read 7 per epoch, validated on another.
    gen = model()
    h1 = gen.fit((b for _ in range(3) for b in batches(x, y, w)), epochs=3,
                 steps_per_epoch=7, verbose=0,
                 validation_data=(b for _ in range(3) for b in batches(vx, vy, vw)),
                 validation_steps=3)
    assert_bit_equal(mem, gen)
    assert_same_history(h0, h1)
    # A PyDataset, validated on a pipeline whose map gives every sample its weight.
    vds = bm.data.Dataset(np.concatenate([vx, vw[:, None]], axis=1), vy)
    vpipe = vds.map(lambda a, b: (a[:4], b, a[4])).batch(8)
    pyd = model()
    h2 = pyd.fit(Weighted(x, y, w), epochs=3, verbose=0, validation_data=vpipe)
    assert_bit_equal(mem, pyd)
    assert_same_history(h0, h2)
    # tf.data's from_tensor_slices((x, y, w)).batch(n), validated on arrays with weights.
    tfd = model()
    h3 = tfd.fit(bm.data.Dataset.from_tensor_slices((x, y, w)).batch(8), epochs=3,
                 batch_size=8, verbose=0, validation_data=(vx, vy, vw))
    assert_bit_equal(mem, tfd)
    assert_same_history(h0, h3)


def test_evaluate_on_weighted_batches_equals_numpy():
    x, y, w = data(45, seed=4)
    m = model(dropout=False)
    m.fit(x, y, batch_size=8, epochs=1, verbose=0)
    logits = m.predict(x, batch_size=8).astype(np.float64)
    logp = logits - logits.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    per = -logp[np.arange(len(y)), y] * w
    # Each batch's loss is sum(w * l) / batch size; the mean weighs batches by size.
    want = sum(per[i:i + 16].sum() for i in range(0, 45, 16)) / 45
    acc = float(np.mean(logits.argmax(axis=1) == y))   # metrics stay unweighted
    got = m.evaluate(batches(x, y, w, size=16), return_dict=True)
    assert got["loss"] == pytest.approx(want, rel=1e-5)
    assert got["accuracy"] == pytest.approx(acc, rel=1e-6)
    arrays = m.evaluate(x, y, sample_weight=w, batch_size=16, return_dict=True)
    assert arrays == got
    # Same batches without weights give the plain loss.
    plain = m.evaluate(batches(x, y, size=16), return_dict=True)
    assert plain["loss"] == pytest.approx(
        sum((-logp[np.arange(len(y)), y])[i:i + 16].sum() for i in range(0, 45, 16)) / 45,
        rel=1e-5)


def test_class_weight_on_a_generator_equals_class_weight_on_arrays():
    x, y, _ = data()
    vx, vy, _ = data(13, seed=2)
    cw = {0: 0.5, 1: 2.0, 2: 1.25}
    mem, gen, pyd = model(), model(), model()
    h0 = mem.fit(x, y, class_weight=cw, batch_size=8, epochs=2, shuffle=False, verbose=0,
                 validation_data=(vx, vy))
    h1 = gen.fit((b for _ in range(2) for b in batches(x, y)), epochs=2, steps_per_epoch=7,
                 class_weight=cw, verbose=0,
                 validation_data=(b for _ in range(2) for b in batches(vx, vy)),
                 validation_steps=2)
    assert_bit_equal(mem, gen)
    assert_same_history(h0, h1)
    # class_weight equals the same weights given per sample by the pipeline.
    table = np.array([cw[0], cw[1], cw[2]], np.float32)
    h2 = pyd.fit(bm.data.Dataset(x, y).map(lambda a, b: (a, b, table[b])).batch(8),
                 epochs=2, batch_size=8, verbose=0, validation_data=(vx, vy))
    assert_bit_equal(mem, pyd)
    assert_same_history(h0, h2)


def test_bad_weighted_batches_get_clear_errors():
    x, y, w = data()
    m = model()
    streams_before = _lib.live.get("stream", 0)
    with pytest.raises(InvalidArgumentError, match="batch 2 has 5 sample weights for 8 "
                                                   "samples"):
        m.fit(iter([(x[:8], y[:8], w[:8]), (x[8:16], y[8:16], w[8:16]),
                    (x[16:24], y[16:24], w[16:21])]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="batch 0 has 7 sample weights for 8 "
                                                   "samples"):
        m.fit(iter([(x[:8], y[:8], w[:7])]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="batch 1 gives no sample weights and "
                                                   "the first batch did"):
        m.fit(iter([(x[:8], y[:8], w[:8]), (x[8:16], y[8:16])]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="batch 1 gives sample weights and the "
                                                   "first batch did not"):
        m.evaluate(iter([(x[:8], y[:8]), (x[8:16], y[8:16], w[8:16])]))
    with pytest.raises(InvalidArgumentError, match="sample_weight of batch 0 is a scalar"):
        m.fit(iter([(x[:8], y[:8], 2.0)]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="sample_weight holds nan"):
        m.fit(iter([(x[:8], y[:8], np.full(8, np.nan, np.float32))]), verbose=0)
    with pytest.raises(BigmodelError, match=r"sample_weight has shape \(8, 3\)"):
        m.fit(iter([(x[:8], y[:8], np.ones((8, 3), np.float32))]), verbose=0)
    with pytest.raises(InvalidArgumentError, match="give class_weight or a stream of "
                                                   "sample weights, not both"):
        m.fit(batches(x, y, w), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(InvalidArgumentError, match="sample_weight is not supported with a "
                                                   "generator"):
        m.fit(batches(x, y), sample_weight=w, verbose=0)
    with pytest.raises(InvalidArgumentError, match="sample_weight is not supported with a "
                                                   "generator"):
        m.evaluate(batches(x, y), sample_weight=w)
    inp = bm.Input(shape=(4,))
    two = bm.Model(inp, [Dense(1, name="a")(inp), Dense(1, name="b")(inp)])
    two.compile(optimizer="sgd", loss="mse")
    t = y[:, None].astype(np.float32)
    with pytest.raises(InvalidArgumentError, match="only supported for models of one output"):
        two.fit(((a, [b, b]) for a, b in batches(x, t)), class_weight={0: 1.0}, verbose=0)
    with pytest.raises(InvalidArgumentError, match=r"from_tensor_slices: sample_weight has "
                                                   r"shape \(49,\), expected one weight per "
                                                   r"sample \(50 rows\)"):
        bm.data.Dataset.from_tensor_slices((x, y, w[:49]))
    with pytest.raises(InvalidArgumentError, match="give one array shared by the outputs"):
        two.fit(((a, [b, b], [c, c]) for a, b, c in batches(x, t, w)), verbose=0)
    # Both models still train afterwards, and no stream is left behind.
    h = m.fit(batches(x, y, w), verbose=0)
    assert np.isfinite(h.history["loss"][0])
    h = two.fit(((a, [b, b], c) for a, b, c in batches(x, t, w)), verbose=0)
    assert np.isfinite(h.history["loss"][0])
    assert _lib.live.get("stream", 0) == streams_before


# ---- weighted_metrics ----------------------------------------------------------------


def correct(m, x, y):
    return (m.predict(x, batch_size=16).argmax(axis=1) == y).astype(np.float64)


def test_weighted_metrics_weigh_samples_and_are_named_as_keras():
    x, y, w = data(45, seed=6)
    vx, vy, vw = data(20, seed=7)

    def top_prob(y_true, y_pred):   # a custom metric: the largest probability
        return bm.ops.reduce_max(bm.ops.softmax(y_pred), axis=-1)

    m = model(dropout=False)
    m.compile(optimizer="adam", loss=bm.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"], weighted_metrics=["accuracy", top_prob])
    assert m.metrics_names == ["loss", "accuracy", "weighted_accuracy", "top_prob"]
    h = m.fit(x, y, sample_weight=w, batch_size=8, epochs=2, verbose=0,
              validation_data=(vx, vy, vw))
    assert "weighted_accuracy" in h.history and "val_weighted_accuracy" in h.history
    c = correct(m, x, y)
    got = m.evaluate(x, y, sample_weight=w, batch_size=16, return_dict=True)
    assert got["accuracy"] == pytest.approx(c.mean(), abs=1e-12)
    assert got["weighted_accuracy"] == pytest.approx((w * c).sum() / w.sum(), rel=1e-6)
    logits = m.predict(x, batch_size=16).astype(np.float64)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    top = (prob / prob.sum(axis=1, keepdims=True)).max(axis=1)
    assert got["top_prob"] == pytest.approx((w * top).sum() / w.sum(), rel=1e-5)
    assert abs(got["weighted_accuracy"] - got["accuracy"]) > 1e-3
    # The validation values of the last epoch are evaluate's on the validation data.
    vc = correct(m, vx, vy)
    assert h.history["val_weighted_accuracy"][-1] == pytest.approx(
        (vw * vc).sum() / vw.sum(), rel=1e-6)
    # Weighted batches of a generator give the same numbers; unweighted ones weigh 1.
    assert m.evaluate(batches(x, y, w, size=16), return_dict=True) == got
    plain = m.evaluate(x, y, batch_size=16, return_dict=True)
    assert plain["weighted_accuracy"] == plain["accuracy"]
    # class_weight weighs them as the same sample weights do.
    cw = {0: 0.5, 1: 2.0, 2: 1.0}
    table = np.array([0.5, 2.0, 1.0], np.float32)
    m2 = model(dropout=False)
    m2.compile(optimizer="adam", loss=bm.losses.SparseCategoricalCrossentropy(
        from_logits=True), weighted_metrics=["accuracy"])
    m3 = model(dropout=False)
    m3.compile(optimizer="adam", loss=bm.losses.SparseCategoricalCrossentropy(
        from_logits=True), weighted_metrics=["accuracy"])
    assert m2.metrics_names == ["loss", "accuracy"]
    h2 = m2.fit(batches(x, y), class_weight=cw, epochs=1, verbose=0)
    h3 = m3.fit(x, y, sample_weight=table[y], batch_size=8, shuffle=False, epochs=1,
                verbose=0)
    assert h2.history == h3.history


def test_weighted_metrics_of_several_outputs_and_in_model_files(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 4)).astype(np.float32)
    ya, yb = rng.standard_normal((12, 2)).astype(np.float32), rng.standard_normal(
        (12, 1)).astype(np.float32)
    w = rng.uniform(0, 2, 12).astype(np.float32)
    inp = bm.Input(shape=(4,))
    m = bm.Model(inp, [Dense(2, name="a")(inp), Dense(1, name="b")(inp)])
    m.compile(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae", "mse"])
    assert m.metrics_names == ["loss", "a_loss", "b_loss", "a_mae", "b_mae",
                               "a_weighted_mae", "b_weighted_mae", "a_mse", "b_mse"]
    got = m.evaluate(x, [ya, yb], sample_weight=w, return_dict=True)
    pa, pb = m.predict(x)
    ea = np.abs(pa - ya).mean(axis=1)
    assert got["a_mae"] == pytest.approx(ea.mean(), rel=1e-5)
    assert got["a_weighted_mae"] == pytest.approx((w * ea).sum() / w.sum(), rel=1e-5)
    assert got["b_mse"] == pytest.approx((w * ((pb - yb) ** 2)[:, 0]).sum() / w.sum(),
                                         rel=1e-5)
    path = str(tmp_path / "m.bgm")
    m.save(path)
    back = bm.load_model(path)
    assert back.metrics_names == m.metrics_names
    assert back.evaluate(x, [ya, yb], sample_weight=w, return_dict=True) == got


def test_bad_weighted_metrics_get_clear_errors():
    m = model()
    with pytest.raises(BigmodelError, match="cannot be weighted by sample weights"):
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  weighted_metrics=[bm.metrics.Precision()])
