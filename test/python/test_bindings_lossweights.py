"""Keras' sample_weight and class_weight, and custom loss functions, through
the Python bindings: losses and one SGD step against numpy, class weights as
the equivalent sample weights (same bits), weighted validation data, a custom
loss of bigmodel.ops training as the built-in loss it rewrites, custom losses
saved by name and restored through custom_objects, and clear errors."""
import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel.errors import InvalidArgumentError, ShapeError, StateError
from bigmodel.layers import Dense

RTOL = 1e-5


def data(n=8, d=3, k=2, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, d)).astype(np.float32),
            rng.standard_normal((n, k)).astype(np.float32))


def dense(units=2, loss="mse", seed=5, lr=0.1, d=3):
    model = bm.Sequential([Dense(units, name="out")], input_shape=(d,), seed=seed)
    model.compile(optimizer=bm.optimizers.SGD(learning_rate=lr), loss=loss)
    return model


def kernel_bias(model):
    w = model.get_weights()
    return w[0].astype(np.float64), w[1].astype(np.float64)


def test_sgd_step_with_sample_weight_matches_numpy_mse():
    x, y = data()
    w = np.array([1, 0.5, 2, 0, 1, 3, 0.25, 1], np.float32)
    model = dense()
    k, b = kernel_bias(model)
    p = x @ k + b
    per = ((p - y) ** 2).mean(axis=-1)
    want = (w * per).sum() / len(x)
    g = w[:, None] * 2 * (p - y) / (y.shape[1] * len(x))
    loss = model.train_on_batch(x, y, sample_weight=w)
    assert loss == pytest.approx(want, rel=RTOL)
    k2, b2 = kernel_bias(model)
    np.testing.assert_allclose(k2, k - 0.1 * x.T @ g, rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(b2, b - 0.1 * g.sum(axis=0), rtol=RTOL, atol=1e-7)


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_sgd_step_with_class_weight_matches_numpy_sparse_crossentropy():
    x, _ = data(n=6)
    labels = np.array([0, 2, 1, 2, 2, 0], np.int32)
    cw = {0: 0.5, 2: 3.0}  # class 1 left out: weighs 1, as Keras
    w = np.array([cw.get(int(c), 1.0) for c in labels])
    model = dense(3, bm.losses.SparseCategoricalCrossentropy(from_logits=True))
    k, b = kernel_bias(model)
    z = x @ k + b
    prob = softmax(z)
    per = -np.log(prob[np.arange(6), labels])
    onehot = np.eye(3)[labels]
    g = w[:, None] * (prob - onehot) / 6
    loss = model.train_on_batch(x, labels, class_weight=cw)
    assert loss == pytest.approx((w * per).sum() / 6, rel=RTOL)
    k2, b2 = kernel_bias(model)
    np.testing.assert_allclose(k2, k - 0.1 * x.T @ g, rtol=RTOL, atol=1e-7)
    np.testing.assert_allclose(b2, b - 0.1 * g.sum(axis=0), rtol=RTOL, atol=1e-7)


def test_class_weight_equals_the_same_sample_weight_bit_for_bit():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)]
    cw = {0: 2.0, 1: 0.5, 2: 1.5}
    sw = np.array([cw[int(c)] for c in onehot.argmax(axis=1)], np.float32)
    a = dense(3, "categorical_crossentropy")
    b = dense(3, "categorical_crossentropy")
    ha = a.fit(x, onehot, batch_size=6, epochs=2, verbose=0, class_weight=cw)
    hb = b.fit(x, onehot, batch_size=6, epochs=2, verbose=0, sample_weight=sw)
    assert ha.history["loss"] == hb.history["loss"]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    # as Keras, class weights weigh training only: validation_split's samples are not
    h = a.fit(x, onehot, batch_size=32, shuffle=False, verbose=0, class_weight=cw,
              validation_split=0.25)
    assert h.history["val_loss"][0] == a.evaluate(x[15:], onehot[15:])


def test_binary_class_weight_reads_rounded_labels():
    x, _ = data(n=8)
    labels = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [0.0], [1.0]], np.float32)
    a = dense(1, bm.losses.BinaryCrossentropy(from_logits=True))
    b = dense(1, bm.losses.BinaryCrossentropy(from_logits=True))
    la = a.train_on_batch(x, labels, class_weight={1: 4.0})
    lb = b.train_on_batch(x, labels, sample_weight=np.where(labels[:, 0] > 0.5, 4.0, 1.0))
    assert la == lb
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    k, bias = kernel_bias(dense(1, "binary_crossentropy"))
    z = (x @ k + bias)[:, 0]
    per = np.maximum(z, 0) - z * labels[:, 0] + np.log1p(np.exp(-np.abs(z)))
    w = np.where(labels[:, 0] > 0.5, 4.0, 1.0)
    assert la == pytest.approx((w * per).sum() / 8, rel=RTOL)
    with pytest.raises(InvalidArgumentError, match="class_weight names class 2; the output "
                                                   "has 2 classes"):
        a.fit(x, labels, verbose=0, class_weight={2: 1.0})


def test_fit_is_the_weighted_step_and_validation_carries_its_weights():
    x, y = data(n=10)
    w = np.linspace(0, 2, 10).astype(np.float32)
    a, b = dense(), dense()
    h = a.fit(x[:6], y[:6], batch_size=6, shuffle=False, verbose=0, sample_weight=w[:6],
              validation_data=(x[6:], y[6:], w[6:]))
    loss = b.train_on_batch(x[:6], y[:6], sample_weight=w[:6])
    assert h.history["loss"][0] == loss
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    k, bias = kernel_bias(b)
    per = ((x[6:] @ k + bias - y[6:]) ** 2).mean(axis=-1)
    assert h.history["val_loss"][0] == pytest.approx((w[6:] * per).sum() / 4, rel=RTOL)
    assert h.history["val_loss"][0] == b.evaluate(x[6:], y[6:], sample_weight=w[6:])
    # validation_split holds out the last samples with their weights
    c = dense()
    h = c.fit(x, y, batch_size=32, shuffle=False, verbose=0, sample_weight=w,
              validation_split=0.4)
    assert h.history["val_loss"][0] == c.evaluate(x[6:], y[6:], sample_weight=w[6:])


def test_compute_loss_with_sample_weight_gives_the_weighted_gradient():
    x, y = data(n=6)
    w = np.array([0, 1, 2, 0.5, 1, 3], np.float32)
    model = dense()
    k, b = kernel_bias(model)
    p = x @ k + b
    g = w[:, None] * 2 * (p - y) / p.size
    with bm.GradientTape() as tape:
        loss = model.compute_loss(x, y, model(x, training=True), sample_weight=w)
    dk, db = tape.gradient(loss, model.trainable_variables)
    assert float(loss.numpy()) == pytest.approx((w * ((p - y) ** 2).mean(axis=1)).sum() / 6,
                                                rel=RTOL)
    np.testing.assert_allclose(dk.numpy(), x.T @ g, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(db.numpy(), g.sum(axis=0), rtol=1e-4, atol=1e-6)


def test_per_step_sample_weight_of_a_sequence_output():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    ids = rng.integers(0, 4, (3, 5)).astype(np.int32)
    w = (rng.random((3, 5)) > 0.3).astype(np.float32)
    model = bm.Sequential([Dense(4, name="out")], input_shape=(5, 2), seed=2)
    model.compile(optimizer="sgd",
                  loss=bm.losses.SparseCategoricalCrossentropy(from_logits=True))
    z = model.predict(x)
    logp = np.log(softmax(z.astype(np.float64)))
    per = -np.take_along_axis(logp, ids[..., None], axis=-1)[..., 0]
    assert model.evaluate(x, ids, sample_weight=w) == pytest.approx((w * per).sum() / 15,
                                                                    rel=RTOL)
    # (N,) weights repeat over the steps
    w1 = np.array([1.0, 0.0, 2.0], np.float32)
    assert model.evaluate(x, ids, sample_weight=w1) == pytest.approx(
        (w1[:, None] * per).sum() / 15, rel=RTOL)


def test_evaluate_weighs_each_batch_as_keras():
    x, y = data(n=7)
    w = np.array([3, 0, 1, 0.5, 2, 1, 0], np.float32)
    model = dense()
    k, b = kernel_bias(model)
    per = ((x @ k + b - y) ** 2).mean(axis=-1)
    # batches of 3, 3 and 1: each sum(w l) / size, averaged over the 7 samples
    assert model.evaluate(x, y, batch_size=3, sample_weight=w) == pytest.approx(
        (w * per).sum() / 7, rel=RTOL)
    assert model.test_on_batch(x, y, sample_weight=w) == pytest.approx(
        (w * per).sum() / 7, rel=RTOL)
    assert model.evaluate(x, y, sample_weight=np.ones(7)) == pytest.approx(
        model.evaluate(x, y), rel=1e-6)


def test_bad_weights_get_clear_errors():
    x, y = data()
    model = dense()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ShapeError, match=r"sample_weight has shape \(5,\), expected one "
                                         r"weight per sample, \(8\)"):
        model.fit(x, y, verbose=0, sample_weight=np.ones(5))
    with pytest.raises(InvalidArgumentError, match="sample_weight holds nan at flat index 2"):
        model.train_on_batch(x, y, sample_weight=np.array([1, 1, np.nan, 1, 1, 1, 1, 1]))
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)
    clf = dense(3, "sparse_categorical_crossentropy")
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1], np.int32)
    with pytest.raises(InvalidArgumentError, match=r"class_weight names class 3; the output "
                                                   r"has 3 classes \(0 to 2\)"):
        clf.fit(x, labels, verbose=0, class_weight={0: 1.0, 3: 2.0})
    with pytest.raises(InvalidArgumentError, match="not both"):
        clf.fit(x, labels, verbose=0, class_weight={0: 2.0}, sample_weight=np.ones(8))
    with pytest.raises(InvalidArgumentError, match="class_weight must be a dict"):
        clf.fit(x, labels, verbose=0, class_weight=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidArgumentError, match="sample_weight is not supported with a "
                                                   "generator or pipeline x"):
        clf.fit(((x, labels) for _ in range(2)), verbose=0, sample_weight=np.ones(8))
    inp = bm.Input(shape=(3,))
    two = bm.Model(inp, [Dense(1, name="a")(inp), Dense(1, name="b")(inp)])
    two.compile(optimizer="sgd", loss="mse")
    with pytest.raises(InvalidArgumentError, match="only supported for models of one output"):
        two.fit(x, [y[:, :1], y[:, 1:]], verbose=0, class_weight={0: 1.0})


# ---- custom losses ---------------------------------------------------------------


def my_mse(y_true, y_pred):
    return bm.ops.reduce_mean((y_pred - y_true) ** 2, axis=-1)


def test_custom_loss_of_ops_trains_as_the_builtin_loss_it_rewrites():
    x, y = data(n=16)
    w = np.linspace(0.5, 2, 16).astype(np.float32)
    for sample_weight in (None, w):
        a, b = dense(loss="mse"), dense(loss=my_mse)
        ha = a.fit(x, y, batch_size=4, epochs=3, verbose=0, sample_weight=sample_weight)
        hb = b.fit(x, y, batch_size=4, epochs=3, verbose=0, sample_weight=sample_weight)
        # the reported losses sum in another order (last bit); the steps are the same
        np.testing.assert_allclose(hb.history["loss"], ha.history["loss"], rtol=1e-6)
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            assert np.array_equal(wb, wa)
        assert b.evaluate(x, y, sample_weight=sample_weight) == pytest.approx(
            a.evaluate(x, y, sample_weight=sample_weight), rel=1e-6)
    assert b.metrics_names == ["loss"]


def test_custom_loss_in_a_gradient_tape_loop_and_per_output():
    x, y = data(n=6)
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, [Dense(2, name="head")(inp), Dense(2, name="aux")(inp)])
    model.compile(optimizer="sgd", loss={"head": my_mse, "aux": "mae"},
                  loss_weights={"head": 0.5, "aux": 2.0})
    values = model.evaluate(x, [y, y], return_dict=True)
    pa, pb = model.predict(x)
    head = ((pa - y) ** 2).mean()
    aux = np.abs(pb - y).mean()
    assert values["head_loss"] == pytest.approx(head, rel=RTOL)
    assert values["aux_loss"] == pytest.approx(aux, rel=RTOL)
    assert values["loss"] == pytest.approx(0.5 * head + 2 * aux, rel=RTOL)
    with bm.GradientTape() as tape:
        preds = model(x, training=True)
        loss = model.compute_loss(x, [y, y], preds)
    grads = tape.gradient(loss, model.trainable_variables)
    k = model.get_layer("head").get_weights()[0]
    g_head = 0.5 * x.T @ (2 * (pa - y) / pa.size)
    np.testing.assert_allclose(grads[0].numpy(), g_head, rtol=1e-4, atol=1e-6)
    assert float(loss.numpy()) == pytest.approx(values["loss"], rel=RTOL)
    assert k.shape == (3, 2)


def test_custom_loss_is_saved_by_name_and_restored_through_custom_objects(tmp_path):
    x, y = data()
    model = dense(loss=my_mse)
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "m.bgm")
    model.save(path)
    saved = model.predict(x)
    with pytest.raises(InvalidArgumentError, match="custom function 'my_mse'.*custom_objects="
                                                   "\\{'my_mse': fn\\}"):
        bm.load_model(path)
    loaded = bm.load_model(path, custom_objects={"my_mse": my_mse})
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert loaded.train_on_batch(x, y) == model.train_on_batch(x, y)
    bare = bm.load_model(path, compile=False)
    np.testing.assert_array_equal(bare.predict(x), saved)
    with pytest.raises(StateError, match="custom loss 'my_mse' is not set"):
        bare.evaluate(x, y)


def test_custom_loss_errors_reach_the_caller():
    x, y = data()

    def broken(y_true, y_pred):
        raise ValueError("broken on purpose")

    model = dense(loss=broken)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="broken on purpose"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="broken on purpose"):
        model.evaluate(x, y)
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)

    def per_column(y_true, y_pred):
        return bm.ops.reduce_mean(y_pred - y_true, axis=0)

    model.compile(optimizer="sgd", loss=per_column)
    with pytest.raises(ShapeError, match=r"custom loss 'per_column' returned shape \(2,\)"):
        model.train_on_batch(x, y)
    model.compile(optimizer="sgd", loss=lambda t, p: bm.ops.reduce_mean((p - t) ** 2))
    assert model.train_on_batch(x, y) > 0  # a scalar loss trains, unweighted
    with pytest.raises(InvalidArgumentError, match="custom loss '<lambda>' returned a scalar"):
        model.train_on_batch(x, y, sample_weight=np.ones(8))
    # the model stays usable
    model.compile(optimizer="sgd", loss=my_mse)
    model.fit(x, y, verbose=0)


def test_custom_loss_steps_leak_nothing():
    import gc
    from leakcheck import assert_no_growth
    x, y = data()
    w = np.linspace(0, 1, 8).astype(np.float32)

    def scaled(y_true, y_pred):  # borrows a constant made from a Python number
        return bm.ops.reduce_mean((y_pred - y_true) ** 2 * 0.5 + 1.0, axis=-1)

    model = dense(loss=scaled)

    def cycle(i):
        assert model.train_on_batch(x, y, sample_weight=w) > 0
        with bm.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True))
        tape.gradient(loss, model.trainable_variables)

    # A model of an earlier test left in a reference cycle (seen after the tests
    # that raise through the library) may need more than one collection to be
    # freed; it is not this test's to count.
    gc.collect()
    gc.collect()
    assert_no_growth(cycle, n=2000, warmup=200)


# ---- Keras' metric objects and custom metrics -----------------------------------------


def test_keras_accuracy_metrics_match_numpy():
    rng = np.random.default_rng(3)
    scores = [rng.random((7, 4)).astype(np.float32) for _ in range(2)]
    ids = [rng.integers(0, 4, 7).astype(np.int32) for _ in range(2)]
    onehot = [np.eye(4, dtype=np.float32)[i] for i in ids]
    s_all, i_all = np.concatenate(scores), np.concatenate(ids)

    def topk(k):
        ranks = (s_all > s_all[np.arange(14), i_all][:, None]).sum(axis=1)
        return float((ranks < k).mean())

    cases = [(bm.metrics.SparseCategoricalAccuracy(), ids, "sparse_categorical_accuracy",
              float((s_all.argmax(1) == i_all).mean())),
             (bm.metrics.CategoricalAccuracy(), onehot, "categorical_accuracy",
              float((s_all.argmax(1) == i_all).mean())),
             (bm.metrics.SparseTopKCategoricalAccuracy(k=2), ids,
              "sparse_top_k_categorical_accuracy", topk(2)),
             (bm.metrics.TopKCategoricalAccuracy(k=3, name="top3"), onehot, "top3", topk(3))]
    for metric, truth, name, want in cases:
        for t, p in zip(truth, scores):
            metric.update_state(t, p)
        assert metric.name == name
        assert metric.result() == pytest.approx(want, abs=1e-12)
        metric.reset_state()
        assert metric.result() == 0.0
    labels = np.array([0, 1, 1, 0, 1], np.float32)
    probs = np.array([0.2, 0.35, 0.9, 0.31, 0.1], np.float32)
    acc = bm.metrics.BinaryAccuracy(threshold=0.3)
    acc.update_state(labels, probs)
    assert acc.name == "binary_accuracy"
    assert acc.result() == pytest.approx(float(((probs > 0.3) == labels).mean()))
    with pytest.raises(InvalidArgumentError, match=r"one score per sample.*\(5, 2\)"):
        acc.update_state(np.zeros((5, 2)), np.zeros((5, 2), np.float32))


def test_mean_and_mean_metric_wrapper_match_numpy():
    mean = bm.metrics.Mean()
    mean.update_state([1.0, 2.0, 3.0])
    mean.update_state(np.array([[4.0, 6.0]]), sample_weight=[0.5])
    assert mean.result() == pytest.approx((1 + 2 + 3 + 0.5 * 4 + 0.5 * 6) / 4)
    mean.reset_state()
    assert mean.result() == 0.0
    with pytest.raises(InvalidArgumentError, match="does not fit values"):
        mean.update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])
    x, y = data(n=5)
    wrapped = bm.metrics.MeanMetricWrapper(lambda t, p: np.abs(np.asarray(p) - np.asarray(t)),
                                           name="abs")
    wrapped.update_state(y, y + 1.5)
    wrapped.update_state(y[:2], y[:2])
    assert wrapped.result() == pytest.approx(1.5 * 5 / 7)


def abs_error(y_true, y_pred):
    d = y_pred - y_true
    return bm.ops.reduce_mean(bm.ops.relu(d) + bm.ops.relu(-d), axis=-1)


def test_compile_takes_metric_objects_and_functions_named_as_keras():
    x, _ = data(n=9)
    labels = (np.arange(9) % 3).astype(np.int32)
    model = dense(3, bm.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=[bm.metrics.SparseCategoricalAccuracy(),
                           bm.metrics.SparseTopKCategoricalAccuracy(k=2),
                           lambda t, p: bm.ops.reduce_max(p, axis=-1)])
    assert model.metrics_names == ["loss", "sparse_categorical_accuracy",
                                   "sparse_top_k_categorical_accuracy", "<lambda>"]
    values = model.evaluate(x, labels, batch_size=4, return_dict=True)
    p = model.predict(x)
    ranks = (p > p[np.arange(9), labels][:, None]).sum(axis=1)
    assert values["sparse_categorical_accuracy"] == pytest.approx(
        (p.argmax(1) == labels).mean())
    assert values["sparse_top_k_categorical_accuracy"] == pytest.approx((ranks < 2).mean())
    assert values["<lambda>"] == pytest.approx(p.max(axis=1).mean(), rel=RTOL)
    h = model.fit(x, labels, epochs=1, verbose=0, validation_data=(x, labels))
    assert set(h.history) >= {"loss", "sparse_categorical_accuracy", "<lambda>",
                              "val_sparse_top_k_categorical_accuracy", "val_<lambda>"}
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy", "accuracy"])
    # named ones report after the others (as metric objects do)
    assert model.metrics_names == ["loss", "accuracy", "sparse_categorical_accuracy"]
    inp = bm.Input(shape=(3,))
    two = bm.Model(inp, [Dense(2, name="head")(inp), Dense(2, name="aux")(inp)])
    two.compile(optimizer="sgd", loss="mse", metrics=[abs_error])
    assert two.metrics_names == ["loss", "head_loss", "aux_loss", "head_abs_error",
                                 "aux_abs_error"]
    y2 = np.ones((9, 2), np.float32)
    vals = two.evaluate(x, [y2, 2 * y2], return_dict=True)
    ph, pa = two.predict(x)
    assert vals["head_abs_error"] == pytest.approx(np.abs(ph - 1).mean(), rel=RTOL)
    assert vals["aux_abs_error"] == pytest.approx(np.abs(pa - 2).mean(), rel=RTOL)


def test_custom_metrics_save_by_name_and_raise_their_errors(tmp_path):
    x, y = data()
    model = dense(loss="mse")
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", abs_error])
    path = str(tmp_path / "m.bgm")
    model.save(path)
    with pytest.raises(InvalidArgumentError, match="custom function 'abs_error'"):
        bm.load_model(path)
    loaded = bm.load_model(path, custom_objects={"abs_error": abs_error})
    assert loaded.metrics_names == ["loss", "mae", "abs_error"]
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    values = loaded.evaluate(x, y)
    assert values[2] == pytest.approx(values[1], rel=1e-6)

    def broken(y_true, y_pred):
        raise KeyError("metric broke")

    model.compile(optimizer="sgd", loss="mse", metrics=[broken])
    with pytest.raises(KeyError, match="metric broke"):
        model.evaluate(x, y)
    with pytest.raises(InvalidArgumentError, match="metrics must be names"):
        model.compile(optimizer="sgd", loss="mse", metrics=[bm.metrics.Mean()])
