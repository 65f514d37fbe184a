"""Preprocessing inside the model through the Python bindings (Keras'
Rescaling, Normalization, TextVectorization): outputs and input gradients
against PyTorch 1.13 (float64) and numpy, adapt, TextVectorization's modes on
a small corpus computed by hand, a text classifier trained from raw strings,
save / load bit-exact, configs, and bad input."""
import math

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import layers
from bigmodel.errors import InvalidArgumentError, StateError

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
CORPUS = ["The cat sat.", "the Dog sat!", "a cat, a dog; a bird"]


@pytest.fixture(autouse=True)
def fresh_session():
    bm.backend.clear_session()
    yield
    bm.backend.clear_session()


def close(got, want, what, tol=1e-4):
    got = np.asarray(got, dtype=np.float64)
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, "%s: shape %s vs %s" % (what, got.shape, want.shape)
    err = np.abs(got - want).max() / max(np.abs(want).max(), 1e-30)
    assert err < tol, "%s: relative error %.3g" % (what, err)


def output_and_input_grad(model, x, w_out):
    xv = bm.Variable(x)
    with bm.GradientTape() as tape:
        y = model(xv, training=True)
        loss = bm.ops.reduce_sum(y * bm.Tensor(w_out))
    (g,) = tape.gradient(loss, [xv])
    return y.numpy(), g.numpy()


def test_rescaling_matches_torch_with_its_input_gradient():
    x = RNG.uniform(0, 255, size=(4, 3, 3, 2)).astype(np.float32)
    w_out = RNG.normal(size=x.shape).astype(np.float32)
    model = bm.Sequential([layers.Rescaling(1 / 127.5, offset=-1)], input_shape=(3, 3, 2))
    y, g = output_and_input_grad(model, x, w_out)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yt = xt * (1 / 127.5) - 1
    (yt * torch.tensor(w_out.astype(np.float64))).sum().backward()
    close(y, yt, "output")
    close(g, xt.grad, "input gradient")
    assert model.layers[0].get_config()["offset"] == -1
    assert model.count_params() == 0


def test_normalization_adapt_matches_numpy_and_torch():
    data = (RNG.normal(size=(50, 4)) * [1, 2, 3, 0] + [0, 1, -2, 7]).astype(np.float32)
    norm = layers.Normalization()
    norm.adapt(data)
    model = bm.Sequential([norm, layers.Dense(2)], input_shape=(4,))
    mean, var = [w.numpy() for w in norm.weights]
    np.testing.assert_allclose(mean, data.astype(np.float64).mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(var, data.astype(np.float64).var(0), rtol=1e-6, atol=1e-6)
    assert norm.trainable_weights == [] and len(norm.non_trainable_weights) == 2
    x = RNG.normal(size=(6, 4)).astype(np.float32)
    w_out = RNG.normal(size=(6, 4)).astype(np.float32)
    inner = bm.Sequential([layers.Normalization(mean=mean, variance=var)], input_shape=(4,))
    y, g = output_and_input_grad(inner, x, w_out)
    # Keras 3: (x - mean) / max(sqrt(var), epsilon 1e-7)
    den = np.maximum(np.sqrt(var.astype(np.float64)), 1e-7)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yt = (xt - torch.tensor(mean.astype(np.float64))) / torch.tensor(den)
    (yt * torch.tensor(w_out.astype(np.float64))).sum().backward()
    # feature 3 is constant: divided by 1e-7 it is huge, so compare per feature
    for j in range(4):
        close(y[:, j], yt[:, j], "output feature %d" % j)
        close(g[:, j], xt.grad[:, j], "input gradient feature %d" % j)


def test_normalization_model_saves_bit_exact_and_adapts_in_the_model(tmp_path):
    data = RNG.normal(3.0, 2.0, size=(40, 3)).astype(np.float32)
    norm = layers.Normalization()
    model = bm.Sequential([norm, layers.Dense(2)], input_shape=(3,), seed=4)
    norm.adapt(data)  # after the layer joined the model: the model's weights change
    np.testing.assert_allclose(norm.get_weights()[0], data.astype(np.float64).mean(0),
                               rtol=1e-6)
    p = model.predict(data)
    model.save(tmp_path / "n.bgm")
    loaded = bm.load_model(tmp_path / "n.bgm")
    assert loaded.predict(data).tobytes() == p.tobytes()
    assert [w.tobytes() for w in loaded.layers[0].get_weights()] == \
        [w.tobytes() for w in norm.get_weights()]


def test_functional_text_model_takes_strings(tmp_path):
    tv = layers.TextVectorization(output_mode="multi_hot", vocabulary=["yes", "no"])
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, layers.Dense(1, activation="sigmoid")(tv(inp)))
    p = model.predict(["yes no", "maybe", "no"])
    model.save(tmp_path / "f.bgm")
    assert bm.load_model(tmp_path / "f.bgm").predict(["yes no", "maybe", "no"]).tobytes() \
        == p.tobytes()


def test_normalization_invert_and_broadcast_stats():
    x = RNG.normal(size=(3, 5)).astype(np.float32)
    model = bm.Sequential([layers.Normalization(mean=2.0, variance=9.0, invert=True)],
                          input_shape=(5,))
    np.testing.assert_allclose(model.predict(x), 2.0 + x * 3.0, rtol=1e-6)
    assert model.layers[0].get_config()["invert"] is True


def test_text_vectorization_int_mode_by_hand():
    tv = layers.TextVectorization(max_tokens=7, output_sequence_length=5)
    tv.adapt(CORPUS)
    assert tv.get_vocabulary() == ["", "[UNK]", "a", "the", "sat", "dog", "cat"]
    assert tv.get_vocabulary(include_special_tokens=False) == ["a", "the", "sat", "dog",
                                                               "cat"]
    out = tv(["The bird sat on a cat", "Cat", ""])
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[3, 1, 4, 1, 2], [6, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    config = tv.get_config()
    assert config["vocabulary"] == ["a", "the", "sat", "dog", "cat"]
    assert config["standardize"] == "lower_and_strip_punctuation"
    assert config["output_mode"] == "int" and config["output_sequence_length"] == 5


@pytest.mark.parametrize("mode", ["multi_hot", "count", "tf_idf"])
def test_text_vectorization_bag_modes_by_hand(mode):
    tv = layers.TextVectorization(output_mode=mode)
    tv.adapt(np.array(CORPUS))
    vocab = tv.get_vocabulary()
    assert vocab == ["[UNK]", "a", "the", "sat", "dog", "cat", "bird"]
    counts = np.array([1, 2, 0, 0, 0, 1, 0], dtype=np.float64)  # "a A cat zebra!"
    got = tv(["a A cat zebra!"])[0]
    if mode == "multi_hot":
        want = (counts > 0).astype(np.float64)
    elif mode == "count":
        want = counts
    else:
        docs = [set(d.lower().replace(",", "").replace(";", "").replace(".", "")
                    .replace("!", "").split()) for d in CORPUS]
        idf = [math.log(1 + 3 / (1 + sum(t in d for d in docs))) for t in vocab[1:]]
        want = counts * np.array([np.mean(np.float32(idf))] + idf)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_text_vectorization_options():
    tv = layers.TextVectorization(standardize=None, split=None, output_sequence_length=2,
                                  vocabulary=["Hello World", "x"])
    np.testing.assert_array_equal(tv(["Hello World", "hello world"]), [[2, 0], [1, 0]])
    assert tv.get_config()["standardize"] is None and tv.get_config()["split"] is None
    chars = layers.TextVectorization(split="character", standardize="lower",
                                     output_sequence_length=3, vocabulary=["a", "é"])
    np.testing.assert_array_equal(chars(["ÉAb"]), [[3, 2, 1]])
    tfidf = layers.TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                                     idf_weights=[1.0, 3.0])
    np.testing.assert_allclose(tfidf(["a b b c"]), [[2.0, 1.0, 6.0]])


def reviews(n, seed):
    rng = np.random.default_rng(seed)
    pos = ["great", "good", "excellent", "lovely", "superb"]
    neg = ["bad", "awful", "terrible", "boring", "poor"]
    fill = ["the", "movie", "was", "plot", "actors", "really", "a", "story", "film", "it"]
    texts, labels = [], []
    for i in range(n):
        y = i % 2
        words = list(rng.choice(fill, size=5))
        words.insert(int(rng.integers(0, 6)), str(rng.choice(pos if y else neg)).title())
        texts.append(" ".join(words) + rng.choice([".", "!", ""]))
        labels.append(y)
    return texts, np.array(labels, dtype=np.float32).reshape(-1, 1)


def test_text_classifier_trains_on_raw_strings_and_reloads_bit_exact(tmp_path):
    texts, y = reviews(400, 1)
    tv = layers.TextVectorization(max_tokens=100, output_sequence_length=8)
    tv.adapt(texts)
    model = bm.Sequential([bm.Input(shape=(1,), dtype="string"), tv,
                           layers.Embedding(100, 8), layers.GlobalAveragePooling1D(),
                           layers.Dense(1, activation="sigmoid")], seed=3)
    assert model.input_shape == (None, 8)
    model.compile(optimizer=bm.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    val_texts, val_y = reviews(100, 2)
    model.fit(texts, y, batch_size=32, epochs=12, verbose=0,
              validation_data=(val_texts, val_y))
    loss, acc = model.evaluate(val_texts, val_y)
    assert acc > 0.95, acc
    p = model.predict(np.array(val_texts))
    path = tmp_path / "text.bgm"
    model.save(path)
    loaded = bm.models.load_model(path) if hasattr(bm, "models") else bm.load_model(path)
    p2 = loaded.predict(val_texts)
    assert p.tobytes() == p2.tobytes()
    assert loaded.layers[0].get_vocabulary() == tv.get_vocabulary()
    # numbers on a string model: a clear error
    with pytest.raises(InvalidArgumentError, match="takes raw strings"):
        loaded.predict(np.zeros((2, 8), dtype=np.float32))


def test_tf_idf_model_saves_its_idf_weights(tmp_path):
    texts, _ = reviews(60, 4)
    tv = layers.TextVectorization(output_mode="tf_idf")
    tv.adapt(texts)
    model = bm.Sequential([tv, layers.Dense(2, activation="softmax")], seed=1)
    (idf,) = [w.numpy() for w in tv.weights]
    assert not tv.weights[0].trainable
    direct = tv(texts[:5])
    counts = layers.TextVectorization(output_mode="count", vocabulary=tv.get_vocabulary())
    np.testing.assert_array_equal(direct, counts(texts[:5]) * idf)
    p = model.predict(texts)
    model.save(tmp_path / "m.bgm")
    p2 = bm.load_model(tmp_path / "m.bgm").predict(texts)
    assert p.tobytes() == p2.tobytes()


def test_bad_input():
    with pytest.raises(InvalidArgumentError, match="only valid in output_mode 'int'"):
        layers.TextVectorization(output_mode="count", output_sequence_length=4)
    with pytest.raises(InvalidArgumentError, match="unknown output_mode"):
        layers.TextVectorization(output_mode="bag")
    tv = layers.TextVectorization(output_sequence_length=4)
    with pytest.raises(InvalidArgumentError, match="hold no token"):
        tv.adapt(["", "?!", "..."])
    with pytest.raises(InvalidArgumentError, match="n = 0 texts"):
        tv.adapt([])
    with pytest.raises(InvalidArgumentError, match="must be strings"):
        tv.adapt(["ok", 3])
    with pytest.raises(InvalidArgumentError, match="appears twice"):
        layers.TextVectorization(vocabulary=["a", "b", "a"], output_sequence_length=2)
    with pytest.raises(StateError, match="needs the vocabulary"):
        bm.Sequential([layers.TextVectorization(output_mode="count"), layers.Dense(1)])
    with pytest.raises(InvalidArgumentError, match="axis=-1"):
        layers.Normalization(axis=1)
    with pytest.raises(InvalidArgumentError, match="variance"):
        layers.Normalization(mean=[0.0], variance=[-1.0])
    norm = layers.Normalization()
    with pytest.raises(InvalidArgumentError, match="no samples"):
        norm.adapt(np.zeros((0, 3), dtype=np.float32))
