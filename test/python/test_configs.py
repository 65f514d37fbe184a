"""Keras' configs, JSON, clones, weights files, single-batch calls and
namespaces (issue #14 items 6, 7, 10), checked against the Keras semantics
they copy and against numpy."""
import json
import os
import shutil

import numpy as np
import pytest

import bindings_path  # noqa: F401

import bigmodel as bm
from bigmodel import layers as L


def every_kind():
    """One layer of each kind, with options away from the defaults."""
    return [L.Dense(7, activation="tanh", use_bias=False, kernel_initializer="he_normal",
                    kernel_regularizer=bm.regularizers.l2(0.25), name="d"),
            L.Conv2D(3, (5, 2), strides=(2, 1), padding="same", activation="relu"),
            L.MaxPooling2D(3, strides=(1, 2)), L.AveragePooling2D(2),
            L.GlobalAveragePooling2D(), L.Flatten(), L.Dropout(0.3),
            L.BatchNormalization(momentum=0.9, epsilon=1e-5), L.Activation("gelu"),
            L.LeakyReLU(0.1), L.Embedding(50, 8, mask_zero=True),
            L.LSTM(6, return_sequences=True, dropout=0.1), L.GRU(4),
            L.Bidirectional(L.GRU(3, return_sequences=True)), L.Add(), L.Subtract(),
            L.Multiply(), L.Average(), L.Maximum(), L.Minimum(), L.Concatenate(axis=1),
            L.Reshape((3, -1)), L.Permute((2, 1)), L.ZeroPadding2D(((1, 2), (3, 4))),
            L.Conv1D(4, 3, padding="causal", dilation_rate=2),
            L.PositionEmbedding(16), L.SinePositionEncoding(500),
            L.MultiHeadAttention(2, 8, value_dim=4, output_shape=5),
            L.LayerNormalization(center=False), L.RMSNormalization(),
            L.GlobalAveragePooling1D(keepdims=True), L.Rescaling(1 / 255, offset=-1.0),
            L.Normalization(invert=True),
            L.TextVectorization(max_tokens=9, output_mode="count",
                                vocabulary=["b", "a", "c d"])]


def test_every_kind_from_its_config_is_an_equal_layer():
    kinds = set()
    for layer in every_kind():
        config = layer.get_config()
        again = type(layer).from_config(config)
        assert again.get_config() == config
        assert again.kind == layer.kind and not again.built
        twin = L.deserialize(L.serialize(layer))
        assert type(twin) is L.KINDS[layer.kind] and twin.get_config() == config
        kinds.add(layer.kind)
    assert kinds == set(L.KINDS)


def test_text_vectorization_from_config_keeps_its_vocabulary():
    texts = ["the cat sat", "the dog ran", "a cat"]
    tv = L.TextVectorization(max_tokens=20, output_sequence_length=4)
    tv.adapt(texts)
    again = L.TextVectorization.from_config(tv.get_config())
    assert again.get_vocabulary() == tv.get_vocabulary()
    assert again.get_vocabulary()[:4] == ["", "[UNK]", "the", "cat"]
    np.testing.assert_array_equal(again(["the cat ran", "a bird"]), [[2, 3, 5, 0], [7, 1, 0, 0]])
    bad = tv.get_config()
    bad["vocabulary"] = ["a", "b\nc"]
    with pytest.raises(bm.InvalidArgumentError, match="vocabulary"):
        L.TextVectorization.from_config(bad)


def test_configs_use_keras_keys():
    assert L.Dense(3, kernel_regularizer=bm.regularizers.l2(0.5)).get_config() == {
        "name": "", "trainable": True, "units": 3, "activation": "linear", "use_bias": True,
        "bias_initializer": "zeros", "kernel_initializer": "glorot_uniform",
        "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2",
                               "config": {"l2": 0.5}, "registered_name": None}}
    assert L.ZeroPadding2D(((1, 2), (3, 4))).get_config()["padding"] == [[1, 2], [3, 4]]
    # what Keras 3 writes reads back
    keras3 = {"name": "dense_7", "trainable": False, "dtype": {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
        "registered_name": None}, "units": 12, "activation": "relu", "use_bias": False,
        "kernel_initializer": {"module": "keras.initializers", "class_name": "HeUniform",
                               "config": {"seed": None}, "registered_name": None},
        "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                             "config": {}, "registered_name": None},
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None,
        "bias_constraint": None, "activity_regularizer": None}
    d = L.Dense.from_config(keras3)
    assert d.get_config() == {"name": "dense_7", "trainable": False, "units": 12,
                              "activation": "relu", "use_bias": False,
                              "bias_initializer": "zeros", "kernel_initializer": "he_uniform",
                              "kernel_regularizer": None}
    assert not d.trainable


def test_bad_configs_name_the_problem():
    with pytest.raises(bm.InvalidArgumentError, match="Dense option 'units' is a string"):
        L.Dense.from_config({"units": "3"})
    with pytest.raises(bm.InvalidArgumentError, match="units = 0, expected at least 1"):
        L.Dense.from_config({"units": 0})
    with pytest.raises(bm.InvalidArgumentError, match="a Dense layer has no option 'filters'"):
        L.Dense.from_config({"units": 2, "filters": 3})
    with pytest.raises(bm.InvalidArgumentError, match="unknown layer class_name 'Dense2'"):
        L.deserialize({"class_name": "Dense2", "config": {}})
    with pytest.raises(bm.InvalidArgumentError, match="malformed JSON"):
        bm.models.model_from_json('{"class_name": "Sequential", "config": {"layers": [}}')
    with pytest.raises(bm.InvalidArgumentError, match="unknown model class_name 'Pipeline'"):
        bm.models.model_from_json('{"class_name": "Pipeline", "config": {}}')


def cnn(seed):
    return bm.Sequential([bm.Input(shape=(8, 8, 1)), L.Conv2D(4, 3, activation="relu"),
                          L.BatchNormalization(), L.MaxPooling2D(2), L.Flatten(),
                          L.Dropout(0.5), L.Dense(3, activation="softmax")], seed=seed)


def two_heads(seed):
    bm.backend.clear_session()
    a, b = bm.Input(shape=(6,), name="a"), bm.Input(shape=(6,), name="b")
    shared = L.Dense(5, activation="tanh", name="shared")
    merged = L.Concatenate(name="cat")([shared(a), shared(b)])
    return bm.Model([a, b], [L.Dense(2, name="head")(merged),
                             L.Dense(1, activation="sigmoid", name="p")(merged)],
                    name="siamese", seed=seed)


def data(model, n=5):
    rng = np.random.default_rng(0)
    return [rng.standard_normal((n,) + t.shape[1:]).astype(np.float32)
            for t in model.inputs]


def same_predictions(a, b, xs):
    pa, pb = a.predict(xs), b.predict(xs)
    pa, pb = (pa, pb) if isinstance(pa, list) else ([pa], [pb])
    return all(np.array_equal(u, v) for u, v in zip(pa, pb))


@pytest.mark.parametrize("make", [cnn, two_heads])
def test_json_and_configs_rebuild_the_architecture(make):
    model = make(5)
    text = model.to_json()
    config = json.loads(text)
    assert config["class_name"] == ("Sequential" if make is cnn else "Functional")
    assert config["config"]["name"] == model.name
    rebuilt = bm.models.model_from_json(text, seed=5)
    assert type(rebuilt) is type(model) and rebuilt.name == model.name
    assert rebuilt.to_json() == text
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
    # fresh weights from the seed: the ones the original was made with
    assert all(np.array_equal(u, v) for u, v in zip(model.get_weights(),
                                                       rebuilt.get_weights()))
    xs = data(model)
    assert same_predictions(model, rebuilt, xs if len(xs) > 1 else xs[0])
    again = type(model).from_config(model.get_config(), seed=5)
    assert again.to_json() == text
    other = bm.models.model_from_json(text, seed=6)
    assert not np.array_equal(model.get_weights()[0], other.get_weights()[0])


def test_functional_json_names_keras_histories():
    config = two_heads(1).get_config()
    shared = [e for e in config["layers"] if e["name"] == "shared"][0]
    histories = [call["args"][0]["config"]["keras_history"] for call in shared["inbound_nodes"]]
    assert histories == [["a", 0, 0], ["b", 0, 0]]
    cat = [e for e in config["layers"] if e["name"] == "cat"][0]
    assert [t["config"]["keras_history"] for t in cat["inbound_nodes"][0]["args"][0]] == [
        ["shared", 0, 0], ["shared", 1, 0]]
    assert config["output_layers"] == [["head", 0, 0], ["p", 0, 0]]


def test_clone_model_has_fresh_weights_and_the_same_graph():
    model = cnn(3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = data(model, 16)[0]
    model.fit(x, np.arange(16) % 3, epochs=1, verbose=0)
    clone = bm.models.clone_model(model, seed=3)
    assert clone.to_json() == model.to_json()
    assert not clone.compiled
    fresh = cnn(3)
    assert all(np.array_equal(u, v) for u, v in zip(clone.get_weights(), fresh.get_weights()))
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    # clone_function replaces layers; names stay, so the graph stays wired
    graph = two_heads(2)
    wider = bm.models.clone_model(
        graph, clone_function=lambda l: L.Dense(9) if l.name == "shared"
        else type(l).from_config(l.get_config()))
    assert wider.get_layer("shared").output_shape == (None, 9)
    assert wider.get_layer("cat").output_shape == (None, 18)
    with pytest.raises(bm.UnsupportedError, match="input_tensors"):
        bm.models.clone_model(graph, input_tensors=graph.inputs)


def test_weights_files_move_weights_between_models_of_one_architecture(tmp_path):
    model = cnn(1)
    model.set_weights([np.full(w.shape, 0.01 * i, np.float32)
                       for i, w in enumerate(model.get_weights())])
    x = data(model)[0]
    for name in ("cnn.weights.bgm", "cnn.weights.h5", "cnn.safetensors"):
        clone = bm.models.clone_model(model, seed=2)
        path = str(tmp_path / name)
        model.save_weights(path)
        clone.load_weights(path)
        assert np.array_equal(clone.predict(x), model.predict(x))
    assert open(str(tmp_path / "cnn.safetensors"), "rb").read(8) != b"BGMF\x00\x00\x00\x00"
    with pytest.raises(bm.InvalidArgumentError, match="exists and overwrite=False"):
        model.save_weights(str(tmp_path / "cnn.weights.bgm"), overwrite=False)
    bm.models.save_model(model, str(tmp_path / "whole.bgm"))
    loaded = bm.models.load_model(str(tmp_path / "whole.bgm"))
    assert np.array_equal(loaded.predict(x), model.predict(x))
    other = bm.Sequential([L.Conv2D(4, 3), L.Flatten(), L.Dense(3)], input_shape=(8, 8, 2))
    before = other.get_weights()
    with pytest.raises(bm.ShapeError, match=r"weight 0 of the model, 'conv2d/kernel', is "
                                            r"float32 \(3, 3, 2, 4\), but the file's weight "
                                            r"0, 'conv2d/kernel', is float32 \(3, 3, 1, 4\)"):
        other.load_weights(str(tmp_path / "cnn.weights.bgm"))
    assert all(np.array_equal(u, v) for u, v in zip(before, other.get_weights()))


def test_single_batch_calls_and_structure():
    model = cnn(4)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data(model, 6)[0], np.array([0, 1, 2, 0, 1, 2])
    assert np.array_equal(model.predict_on_batch(x), model.predict(x, batch_size=6))
    loss, acc = model.test_on_batch(x, y)
    probs = model.predict(x)
    assert abs(loss - np.mean(-np.log(probs[np.arange(6), y]))) < 1e-5
    assert acc == np.mean(probs.argmax(1) == y)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    # without Dropout and BatchNormalization, the step's loss is the batch's before it
    plain = bm.Sequential([L.Flatten(), L.Dense(3, activation="softmax")],
                          input_shape=(8, 8, 1), seed=1)
    plain.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = plain.test_on_batch(x, y)
    assert isinstance(before, float)
    assert abs(plain.train_on_batch(x, y) - before) < 1e-6
    assert plain.test_on_batch(x, y) < before
    # sample weights scale each sample's loss (Keras' sum_over_batch_size)
    doubled = plain.test_on_batch(x, y, np.full(6, 2.0, np.float32))
    assert abs(doubled - 2 * plain.test_on_batch(x, y)) < 1e-5
    # Sequential has Keras' inputs / outputs too
    (inp,), (out,) = model.inputs, model.outputs
    assert inp.shape == (None, 8, 8, 1) and inp.dtype == "float32"
    assert out.shape == (None, 3) and out.name == model.layers[-1].name
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 3)
    assert [layer.kind for layer in model.layers] == ["Conv2D", "BatchNormalization",
                                                      "MaxPooling2D", "Flatten", "Dropout",
                                                      "Dense"]


def test_sparse_cross_entropy_takes_whole_float_labels():
    a, b = cnn(9), cnn(9)
    for m in (a, b):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(a, 6)[0], np.array([0, 1, 2, 2, 1, 0])
    assert a.train_on_batch(x, y) == b.train_on_batch(x, y.astype(np.float32))
    assert all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
    with pytest.raises(bm.InvalidArgumentError, match="holds 2.5 at flat index 3, not a whole"):
        a.evaluate(x, np.array([0, 1, 2, 2.5, 1, 0], np.float32))


def test_namespaces():
    assert bm.models.Sequential is bm.Sequential and bm.models.Model is bm.Model
    assert bm.models.load_model is bm.load_model
    assert bm.utils.pad_sequences is bm.preprocessing.sequence.pad_sequences
    assert bm.utils.PyDataset is bm.data.PyDataset
    from bigmodel.preprocessing.sequence import pad_sequences
    assert pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist() == [[2, 3], [0, 4]]
    assert pad_sequences([[1], [2, 3]], padding="post", dtype="float32").dtype == np.float32
    assert bm.preprocessing.sequence.pad_sequences is pad_sequences
    y = np.array([2, 0, 1, 2])
    assert np.array_equal(bm.utils.to_categorical(y), np.eye(3, dtype=np.float32)[y])
    assert bm.utils.to_categorical(y.reshape(4, 1), 5).shape == (4, 5)
    with pytest.raises(bm.InvalidArgumentError, match=r"outside \[0, 2\)"):
        bm.utils.to_categorical(y, 2)
    # clear_session restarts automatic names
    bm.backend.clear_session()
    first = L.Dense(2)(bm.Input(shape=(3,)))
    second = L.Dense(2)(first)
    assert (first.name, second.name) == ("dense", "dense_1")
    bm.backend.clear_session()
    assert L.Dense(2)(bm.Input(shape=(3,))).name == "dense"


def test_set_random_seed_repeats_programs():
    def weights():
        return bm.Sequential([L.Dense(4), L.Dense(2)], input_shape=(3,)).get_weights()

    bm.utils.set_random_seed(7)
    first, numpy_draw = weights(), np.random.rand()
    bm.utils.set_random_seed(7)
    assert all(np.array_equal(u, v) for u, v in zip(first, weights()))
    assert np.random.rand() == numpy_draw
    assert not np.array_equal(first[0], weights()[0])


def test_plot_model(tmp_path, monkeypatch):
    model = two_heads(0)
    text = bm.utils.plot_model(model, str(tmp_path / "m.dot"), show_shapes=True)
    assert open(str(tmp_path / "m.dot")).read() == text
    assert '"shared" [label="shared (Dense)|(None, 5)"];' in text
    assert '"a" [label="a (InputLayer)|(None, 6)"];' in text
    text = bm.utils.plot_model(model, str(tmp_path / "m.dot"), show_dtype=True,
                               show_layer_activations=True, show_trainable=True,
                               rankdir="LR")
    assert '"p" [label="p (Dense)|activation: sigmoid|float32|trainable: True"];' in text
    assert "rankdir=LR;" in text
    for edge in ('"a" -> "shared"', '"b" -> "shared"', '"shared" -> "cat"',
                 '"cat" -> "head"', '"cat" -> "p"'):
        assert edge in text
    # rendered by Graphviz's dot (Debian's graphviz, installed by make deps)
    assert shutil.which("dot"), "graphviz is in tools/deps.sh: run make deps"
    png, svg = str(tmp_path / "m.png"), str(tmp_path / "m.svg")
    bm.utils.plot_model(model, png, show_shapes=True)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    bm.utils.plot_model(model, svg)
    with open(svg) as f:
        drawing = f.read()
    assert "<svg" in drawing and "shared (Dense)" in drawing and "head (Dense)" in drawing
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match="install Debian's graphviz package"):
        bm.utils.plot_model(model, str(tmp_path / "m.png"))


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_load_data_is_keras():
    (x, y), (xt, yt) = bm.datasets.fashion_mnist.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,),
                                                      (10000, 28, 28), (10000,))
    assert x.dtype == y.dtype == np.uint8
    ds = bm.data.load_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"),
                          os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    assert np.array_equal(ds.y.numpy(), yt)
    assert np.array_equal(ds.x.numpy().reshape(10000, 28, 28), xt.astype(np.float32))
    assert np.bincount(y).tolist() == [6000] * 10


def test_fashion_mnist_names_the_package_when_absent(tmp_path):
    with pytest.raises(bm.FileIOError, match="install Debian's dataset-fashion-mnist"):
        bm.datasets.fashion_mnist.load_data(path=str(tmp_path))


def keras3_layer(cls, config, **top):
    """A layer entry as Keras 3's to_json writes it."""
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
              "registered_name": None}
    entry = {"module": "keras.layers", "class_name": cls,
             "config": dict({"name": config.pop("name"), "trainable": True, "dtype": policy},
                            **config), "registered_name": None}
    entry.update(top)
    return entry


def glorot():
    return {"module": "keras.initializers", "class_name": "GlorotUniform",
            "config": {"seed": None}, "registered_name": None}


def zeros():
    return {"module": "keras.initializers", "class_name": "Zeros", "config": {},
            "registered_name": None}


def conv(name, filters, **extra):
    return keras3_layer("Conv2D", dict(
        name=name, filters=filters, kernel_size=[3, 3], strides=[1, 1], padding="valid",
        data_format="channels_last", dilation_rate=[1, 1], groups=1, activation="relu",
        use_bias=True, kernel_initializer=glorot(), bias_initializer=zeros(),
        kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
        kernel_constraint=None, bias_constraint=None, **extra))


def keras3_cnn_json(first_conv=None):
    """Keras 3's model.to_json() of its Fashion-MNIST CNN (the README program)."""
    layers = [{"module": "keras.layers", "class_name": "InputLayer",
               "config": {"batch_shape": [None, 28, 28, 1], "dtype": "float32",
                          "sparse": False, "name": "input_layer"}, "registered_name": None},
              first_conv or conv("conv2d", 32),
              keras3_layer("MaxPooling2D", dict(name="max_pooling2d", pool_size=[2, 2],
                                                padding="valid", strides=[2, 2],
                                                data_format="channels_last")),
              conv("conv2d_1", 64),
              keras3_layer("MaxPooling2D", dict(name="max_pooling2d_1", pool_size=[2, 2],
                                                padding="valid", strides=[2, 2],
                                                data_format="channels_last")),
              keras3_layer("Flatten", dict(name="flatten", data_format="channels_last")),
              keras3_layer("Dropout", dict(name="dropout", rate=0.5, seed=None,
                                           noise_shape=None)),
              keras3_layer("Dense", dict(name="dense", units=10, activation="softmax",
                                         use_bias=True, kernel_initializer=glorot(),
                                         bias_initializer=zeros(), kernel_regularizer=None,
                                         bias_regularizer=None, kernel_constraint=None,
                                         bias_constraint=None),
                           build_config={"input_shape": [None, 1600]})]
    return json.dumps({"module": "keras", "class_name": "Sequential", "config": {
        "name": "sequential", "trainable": True, "dtype": layers[1]["config"]["dtype"],
        "layers": layers, "build_input_shape": [None, 28, 28, 1]}, "registered_name": None,
        "build_config": {"input_shape": [None, 28, 28, 1]},
        "compile_config": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}})


def test_an_unbuilt_sequential_round_trips_unbuilt():
    model = bm.Sequential([L.Dense(4, activation="relu", name="h"), L.Dense(2)], name="s")
    config = json.loads(model.to_json())
    assert [e["class_name"] for e in config["config"]["layers"]] == ["Dense", "Dense"]
    again = bm.models.model_from_json(model.to_json(), seed=1)
    assert not again.built and again.name == "s"
    assert again.predict(np.zeros((2, 3), np.float32)).shape == (2, 2)
    assert again.layers[0].name == "h" and again.input_shape == (None, 3)


def test_unnamed_layers_get_keras_names():
    model = bm.models.model_from_json(json.dumps({"class_name": "Sequential", "config": {
        "layers": [{"class_name": "Dense", "config": {"units": 4}},
                   {"class_name": "Dropout", "config": {"rate": 0.1}},
                   {"class_name": "Dense", "config": {"units": 2}}],
        "build_input_shape": [None, 3]}}))
    assert [layer.name for layer in model.layers] == ["dense", "dropout", "dense_1"]
    assert model.input_shape == (None, 3) and model.output_shape == (None, 2)


def test_model_from_keras3_json():
    model = bm.models.model_from_json(keras3_cnn_json(), seed=0)
    assert model.count_params() == 34826
    assert [layer.name for layer in model.layers] == [
        "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dropout",
        "dense"]
    assert model.output_shape == (None, 10) and model.input_shape == (None, 28, 28, 1)
    first = conv("c", 8)
    first["config"]["data_format"] = "channels_first"
    with pytest.raises(bm.UnsupportedError, match="Conv2D option 'data_format' at offset "
                                                  r"\d+ must be \"channels_last\""):
        bm.models.model_from_json(keras3_cnn_json(first))
    first = conv("c", 8)
    first["config"]["groups"] = 2
    with pytest.raises(bm.UnsupportedError, match="'groups' at offset"):
        bm.models.model_from_json(keras3_cnn_json(first))
    lstm = keras3_layer("LSTM", dict(
        name="lstm", return_sequences=False, return_state=False, go_backwards=False,
        stateful=False, unroll=False, zero_output_for_mask=False, units=4,
        activation="tanh", recurrent_activation="sigmoid", use_bias=True,
        kernel_initializer=glorot(), recurrent_initializer={
            "module": "keras.initializers", "class_name": "Orthogonal",
            "config": {"gain": 1.0, "seed": None}, "registered_name": None},
        bias_initializer=zeros(), unit_forget_bias=True, kernel_regularizer=None,
        recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
        kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
        dropout=0.0, recurrent_dropout=0.0, seed=None))
    assert bm.layers.deserialize(lstm).get_config() == {
        "name": "lstm", "trainable": True, "units": 4, "use_bias": True,
        "bias_initializer": "zeros", "kernel_initializer": "glorot_uniform",
        "return_sequences": False, "dropout": 0, "recurrent_dropout": 0}
    lstm["config"]["implementation"] = 2
    with pytest.raises(bm.InvalidArgumentError, match="LSTM layer has no option "
                                                      "'implementation'"):
        bm.layers.deserialize(lstm)


def test_configs_and_clones_leak_nothing():
    from leakcheck import assert_no_growth
    model = two_heads(0)
    text, config = model.to_json(), L.Dense(4).get_config()

    def cycle(i):
        bm.models.model_from_json(text, seed=i)
        bm.models.clone_model(model, seed=i)
        L.Dense.from_config(config)
        try:
            bm.models.model_from_json(text[:-3])
        except bm.InvalidArgumentError:
            pass

    assert_no_growth(cycle, n=1500, warmup=100)


def keras_tensor(shape, history):
    return {"class_name": "__keras_tensor__", "config": {
        "shape": shape, "dtype": "float32", "keras_history": history}}


def test_model_from_keras3_functional_json():
    """Keras 3's to_json of inputs -> Dense, Dense -> Add -> MultiHeadAttention(x, x)
    -> GlobalAveragePooling1D -> Dense, layers listed as Keras lists them."""
    dense = dict(activation="relu", use_bias=True, kernel_initializer=glorot(),
                 bias_initializer=zeros(), kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None)
    layers = [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {
            "batch_shape": [None, 5, 8], "dtype": "float32", "sparse": False,
            "name": "input_layer"}, "registered_name": None, "name": "input_layer",
         "inbound_nodes": []},
        keras3_layer("Dense", dict(name="left", units=8, **dense), name="left",
                     inbound_nodes=[{"args": [keras_tensor([None, 5, 8],
                                                           ["input_layer", 0, 0])],
                                     "kwargs": {}}]),
        keras3_layer("Dense", dict(name="right", units=8, **dense), name="right",
                     inbound_nodes=[{"args": [keras_tensor([None, 5, 8],
                                                           ["input_layer", 0, 0])],
                                     "kwargs": {}}]),
        keras3_layer("Add", dict(name="add"), name="add", inbound_nodes=[{"args": [[
            keras_tensor([None, 5, 8], ["left", 0, 0]),
            keras_tensor([None, 5, 8], ["right", 0, 0])]], "kwargs": {}}]),
        keras3_layer("MultiHeadAttention", dict(
            name="mha", num_heads=2, key_dim=4, value_dim=4, dropout=0.0, use_bias=True,
            output_shape=None, attention_axes=None, kernel_initializer=glorot(),
            bias_initializer=zeros(), kernel_regularizer=None, bias_regularizer=None,
            activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
            seed=None), name="mha", inbound_nodes=[{"args": [
                keras_tensor([None, 5, 8], ["add", 0, 0]),
                keras_tensor([None, 5, 8], ["add", 0, 0])], "kwargs": {}}]),
        keras3_layer("GlobalAveragePooling1D", dict(name="pool", data_format="channels_last",
                                                    keepdims=False), name="pool",
                     inbound_nodes=[{"args": [keras_tensor([None, 5, 8], ["mha", 0, 0])],
                                     "kwargs": {"mask": None}}]),
        keras3_layer("Dense", dict(name="out", units=3, **dict(dense, activation="softmax")),
                     name="out", inbound_nodes=[{"args": [keras_tensor([None, 8],
                                                                       ["pool", 0, 0])],
                                                 "kwargs": {}}])]
    text = json.dumps({"module": "keras.src.models.functional", "class_name": "Functional",
                       "config": {"name": "encoder", "trainable": True, "layers": layers,
                                  "input_layers": [["input_layer", 0, 0]],
                                  "output_layers": [["out", 0, 0]]},
                       "registered_name": "Functional"})
    model = bm.models.model_from_json(text, seed=0)
    assert isinstance(model, bm.Model) and model.name == "encoder"
    assert model.get_layer("mha").output_shape == (None, 5, 8)
    assert model.output_shape == (None, 3)
    assert model.count_params() == 2 * (8 * 8 + 8) + 3 * (8 * 8 + 8) + (8 * 8 + 8) + 8 * 3 + 3
    probs = model.predict(np.random.default_rng(0).standard_normal((4, 5, 8)).astype(
        np.float32))
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-6)
