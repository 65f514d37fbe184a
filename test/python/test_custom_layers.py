"""User-defined layers and models through the Python bindings (issue #14 item 2):
a Layer subclass (output and every gradient against PyTorch on the same
weights), Lambda, a subclassed Model trained by fit and by GradientTape with
the results of the equivalent functional model, custom_objects and the
registration decorator on load, and the error paths (an exception in call
during fit reaches the caller, nothing leaked)."""
import gc
import re

import numpy as np
import pytest
import torch

import bindings_path  # noqa: F401
import bigmodel as bm
import leakcheck
from bigmodel import _custom, _lib
from bigmodel.errors import FormatError, InvalidArgumentError, ShapeError, StateError
from bigmodel.layers import Dense, Lambda, Layer


class ScaledResidual(Layer):
    """y = x * scale + alpha * tanh(x W + b)"""

    def __init__(self, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def build(self, input_shape):
        d = input_shape[-1]
        self.w = self.add_weight(shape=(d, d), initializer="glorot_uniform", name="kernel")
        self.b = self.add_weight(shape=(d,), initializer="zeros", name="bias")
        self.alpha = self.add_weight(shape=(1,), initializer="ones", name="alpha")

    def call(self, inputs):
        h = bm.ops.tanh(bm.ops.matmul(inputs, self.w) + self.b)
        return inputs * self.scale + self.alpha * h

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale)
        return config


def data(n=16, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (np.sin(x[:, :1]) + x[:, 1:2] * 0.5).astype(np.float32)
    return x, y


def functional(layer, d=3, seed=4):
    inp = bm.Input(shape=(d,))
    return bm.Model(inp, Dense(1, name="head")(layer(inp)), seed=seed)


def torch_forward(weights, x, scale):
    w, b, alpha, k, kb = weights
    h = x * scale + alpha * torch.tanh(x @ w + b)
    return h @ k + kb


def test_layer_subclass_output_and_all_gradients_match_torch():
    x, _ = data(n=5)
    model = functional(ScaledResidual(0.5))
    assert [w.name for w in model.weights] == [
        "scaled_residual/kernel", "scaled_residual/bias", "scaled_residual/alpha",
        "head/kernel", "head/bias"]
    rng = np.random.default_rng(7)
    values = [rng.standard_normal(w.shape).astype(np.float32) for w in model.weights]
    model.set_weights(values)
    mix = rng.standard_normal((5, 1)).astype(np.float32)

    xt = bm.Tensor(x)
    with bm.GradientTape() as tape:
        tape.watch(xt)
        y = model(xt)
        loss = bm.ops.reduce_sum(y * bm.Tensor(mix))
    grads = tape.gradient(loss, [xt] + model.trainable_variables)

    tw = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in values]
    tx = torch.tensor(x, requires_grad=True)
    ty = torch_forward(tw, tx, 0.5)
    (ty * torch.tensor(mix)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model.predict(x), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for got, want in zip(grads, [tx] + tw):
        np.testing.assert_allclose(got.numpy(), want.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_layer_subclass_trains_in_sequential_and_gets_keras_names_and_config():
    class MLPBlock(ScaledResidual):
        pass

    x, y = data(n=64)
    layer = MLPBlock(0.75)
    model = bm.Sequential([layer, Dense(1)], input_shape=(3,), seed=5)
    assert layer.name == "mlp_block"
    assert layer.kind == "MLPBlock"
    assert layer.get_config() == {"name": "mlp_block", "trainable": True, "scale": 0.75}
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y)
    model.fit(x, y, batch_size=16, epochs=30, verbose=0)
    assert model.evaluate(x, y) < 0.5 * before
    assert len(layer.trainable_weights) == 3


def test_lambda_computes_its_function_and_loads_by_registered_name(tmp_path):
    def double_plus_one(t):
        return t * 2.0 + 1.0

    x, _ = data(n=4)
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, Lambda(double_plus_one)(inp))
    np.testing.assert_allclose(model.predict(x), x * 2 + 1, rtol=1e-6)
    assert model.layers[0].get_config() == {"name": "lambda", "trainable": True,
                                            "function": "double_plus_one"}
    path = str(tmp_path / "lambda.bgm")
    model.save(path)
    with pytest.raises(InvalidArgumentError, match="Lambda function 'double_plus_one' is "
                                                   "not registered"):
        bm.load_model(path)
    back = bm.load_model(path, custom_objects={"double_plus_one": double_plus_one})
    np.testing.assert_array_equal(back.predict(x), model.predict(x))


def test_lambda_with_an_output_shape_of_its_own():
    inp = bm.Input(shape=(4,))
    out = Lambda(lambda t: bm.ops.slice(t, 0, 2, axis=1), output_shape=(2,))(inp)
    model = bm.Model(inp, out)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_array_equal(model.predict(x), x[:, :2])


@bm.saving.register_keras_serializable(package="Tests")
class Temperature(Layer):
    """A learnable temperature: y = x / t."""

    def build(self, input_shape):
        self.t = self.add_weight(shape=(1,), initializer="ones", name="t")

    def call(self, inputs):
        return inputs / self.t


def test_saved_custom_layers_load_bit_exact_with_custom_objects_or_the_registry(tmp_path):
    x, y = data(n=32)
    model = functional(ScaledResidual(0.25))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    path = str(tmp_path / "m.bgm")
    model.save(path)
    back = bm.load_model(path, custom_objects={"ScaledResidual": ScaledResidual})
    layer = back.layers[0]
    assert isinstance(layer, ScaledResidual) and layer.scale == 0.25
    np.testing.assert_array_equal(back.predict(x), model.predict(x))
    for a, b in zip(back.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    back.fit(x, y, epochs=1, verbose=0)  # the loaded layer trains

    inp = bm.Input(shape=(3,))
    tmodel = bm.Model(inp, Temperature()(inp))
    assert tmodel.layers[0].kind == "Tests>Temperature"
    assert bm.saving.get_registered_name(Temperature) == "Tests>Temperature"
    tmodel.set_weights([np.array([2.0], np.float32)])
    tpath = str(tmp_path / "t.bgm")
    tmodel.save(tpath)
    np.testing.assert_allclose(bm.load_model(tpath).predict(x), x / 2.0, rtol=1e-6)


def test_loading_an_unknown_custom_layer_fails_naming_it(tmp_path):
    class Forgotten(ScaledResidual):
        pass

    model = functional(Forgotten())
    path = str(tmp_path / "f.bgm")
    model.save(path)
    with pytest.raises(InvalidArgumentError, match="the layer class 'Forgotten' is not "
                                                   "registered"):
        _custom._classes.pop("Forgotten")
        bm.load_model(path)
    back = bm.load_model(path, custom_objects={"Forgotten": Forgotten})
    assert isinstance(back.layers[0], Forgotten)


def test_model_from_json_rebuilds_custom_layers_by_their_registered_names():
    x, _ = data(n=8)
    model = functional(ScaledResidual(0.25))
    text = model.to_json()
    assert '"class_name": "ScaledResidual"' in text and '"scale": 0.25' in text
    back = bm.models.model_from_json(text, custom_objects={"ScaledResidual": ScaledResidual},
                                     seed=model.seed)
    layer = back.layers[0]
    assert isinstance(layer, ScaledResidual) and layer.scale == 0.25
    np.testing.assert_array_equal(back.predict(x), model.predict(x))  # same seed, same draws
    with pytest.raises(InvalidArgumentError, match="unknown layer class_name 'Unheard'"):
        bm.models.model_from_json(text.replace('"ScaledResidual"', '"Unheard"'))


def test_a_file_of_a_kind_this_process_never_registered_fails_naming_it(tmp_path):
    class Elsewhere(ScaledResidual):
        pass

    model = functional(Elsewhere())
    path = str(tmp_path / "e.bgm")
    model.save(path)
    model.close()
    gc.collect()
    # the process forgets the kind, as a new process would not know it
    _custom._classes.pop("Elsewhere")
    _custom._python_kinds.discard("Elsewhere")
    _lib.lib.bgm_layer_kind_unregister(b"Elsewhere")
    with pytest.raises(FormatError, match="unknown layer kind 'Elsewhere'"):
        bm.load_model(path)


class MLP(bm.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(8, activation="tanh", name="hidden")
        self.block = ScaledResidual(0.5, name="block")
        self.out = Dense(1, name="out")

    def call(self, inputs):
        return self.out(self.block(self.hidden(inputs)))


def functional_twin():
    inp = bm.Input(shape=(3,))
    out = Dense(1, name="out")(ScaledResidual(0.5, name="block")(
        Dense(8, activation="tanh", name="hidden")(inp)))
    return bm.Model(inp, out)


def same_start(x):
    sub, fun = MLP(seed=3), functional_twin()
    sub.build((None, 3))
    assert sub.name == "mlp"
    assert [l.name for l in sub.layers] == ["hidden", "block", "out"]
    fun.set_weights(sub.get_weights())
    return sub, fun


def test_subclassed_model_trained_by_fit_matches_the_functional_twin():
    x, y = data(n=32)
    sub, fun = same_start(x)
    for m in (sub, fun):
        m.compile(optimizer="adam", loss="mse")
        m.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    for a, b in zip(sub.get_weights(), fun.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sub.predict(x), fun.predict(x), rtol=1e-5, atol=1e-6)


def test_subclassed_model_trained_by_gradient_tape_matches_the_functional_twin():
    x, y = data(n=16)
    sub, fun = same_start(x)
    xt, yt = bm.Tensor(x), bm.Tensor(y)
    for m in (sub, fun):
        opt = bm.optimizers.SGD(learning_rate=0.1)
        for _ in range(5):
            with bm.GradientTape() as tape:
                d = m(xt) - yt
                loss = bm.ops.reduce_mean(d * d)
            grads = tape.gradient(loss, m.trainable_variables)
            opt.apply_gradients(zip(grads, m.trainable_variables))
    first = MLP(seed=3)
    first.build((None, 3))
    assert not np.allclose(first.get_weights()[0], sub.get_weights()[0])  # it trained
    for a, b in zip(sub.get_weights(), fun.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_subclassed_model_builds_from_its_first_data_and_compiles_before():
    x, y = data(n=8)
    sub = MLP(seed=1)
    with pytest.raises(StateError, match="model 'mlp' is not built yet"):
        sub.count_params()
    sub.compile(optimizer="sgd", loss="mse")
    sub.fit(x, y, epochs=1, verbose=0)
    assert sub.count_params() == 3 * 8 + 8 + 8 * 8 + 8 + 1 + 8 + 1


# ---- errors -------------------------------------------------------------------------


class Boom(Layer):
    """Raises in call on batches of more than one sample (the dry run passes)."""

    def call(self, inputs):
        if inputs.shape[0] > 1:
            raise KeyError("boom")
        return inputs * 1.0


def test_an_exception_in_call_during_fit_reaches_the_caller_and_leaks_nothing():
    x, y = data(n=8)
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, Dense(1)(Boom()(inp)))
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()

    def cycle(i):
        with pytest.raises(KeyError, match="boom"):
            model.fit(x, y, epochs=1, verbose=0)

    leakcheck.assert_no_growth(cycle, n=300, warmup=30)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(KeyError):
        model.predict(x)
    np.testing.assert_allclose(model.predict(x[:1]), x[:1] @ before[0] + before[1], rtol=1e-5)


class WrongShape(Layer):
    def compute_output_shape(self, input_shape):
        return (None, 5)

    def call(self, inputs):
        return inputs


def test_a_call_of_the_wrong_shape_fails_naming_the_layer_and_both_shapes():
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, WrongShape(name="odd")(inp))
    with pytest.raises(ShapeError, match=r"layer 'odd' \(WrongShape\): forward returned "
                                         r"\(2, 3\), expected \(2, 5\)"):
        model.predict(np.zeros((2, 3), np.float32))


def test_bad_subclasses_raise_clear_errors():
    class NoCall(Layer):
        pass

    class ListConfig(ScaledResidual):
        def get_config(self):
            return dict(super().get_config(), sizes=[1, 2])

    class LateWeight(Layer):
        def call(self, inputs):
            self.add_weight(shape=(1,))
            return inputs

    inp = bm.Input(shape=(3,))
    with pytest.raises(NotImplementedError, match="NoCall.call"):
        NoCall()(inp)
    with pytest.raises(InvalidArgumentError, match="'sizes' = \\[1, 2\\] is a list"):
        ListConfig()(inp)
    with pytest.raises(StateError, match="add_weight: call it in build"):
        LateWeight()(inp)
    with pytest.raises(TypeError, match="unexpected keyword arguments units"):
        NoCall(units=3)
    with pytest.raises(InvalidArgumentError, match="dtype 'float16'; layers compute in "
                                                   "float32"):
        NoCall(dtype="float16")
    with pytest.raises(StateError, match="weight 'kernel' of layer 'scaled_residual"):
        layer = ScaledResidual()
        functional(layer)
        layer.w.numpy()
    with pytest.raises(InvalidArgumentError, match="lambda expression cannot be restored"):
        Lambda("<lambda>")


class Gate(Layer):
    """Two inputs: y = sigmoid(g) * a + (1 - sigmoid(g)) * b, g one learnable scalar."""

    def build(self, input_shape):
        assert input_shape == [(None, 3), (None, 3)]
        self.g = self.add_weight(shape=(1,), initializer="zeros", name="g")

    def call(self, inputs):
        a, b = inputs
        s = bm.ops.sigmoid(self.g)
        return s * a + (1.0 - s) * b


def test_a_shared_two_input_layer_gets_the_gradients_of_both_calls():
    rng = np.random.default_rng(2)
    a, b, c = (rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3))
    ia, ib, ic = bm.Input(shape=(3,)), bm.Input(shape=(3,)), bm.Input(shape=(3,))
    gate = Gate()
    out = gate([gate([ia, ib]), ic])  # called twice: one weight
    model = bm.Model([ia, ib, ic], out)
    assert [w.name for w in model.weights] == ["gate/g"]
    model.set_weights([np.array([0.3], np.float32)])
    tensors = [bm.Tensor(v) for v in (a, b, c)]
    with bm.GradientTape() as tape:
        loss = bm.ops.reduce_sum(model(tensors))
    (grad,) = tape.gradient(loss, model.trainable_variables)
    g = torch.tensor([0.3], requires_grad=True)
    s = torch.sigmoid(g)
    ta, tb, tc = (torch.tensor(v) for v in (a, b, c))
    ty = s * (s * ta + (1 - s) * tb) + (1 - s) * tc
    ty.sum().backward()
    np.testing.assert_allclose(model.predict([a, b, c]), ty.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grad.numpy(), g.grad.numpy(), rtol=1e-4)


class TrainingScale(Layer):
    def call(self, inputs, training=None):
        return inputs * (2.0 if training else 1.0)


def test_call_gets_keras_training_flag():
    x, _ = data(n=3)
    inp = bm.Input(shape=(3,))
    model = bm.Model(inp, TrainingScale()(inp))
    np.testing.assert_allclose(model.predict(x), x)
    xt = bm.Tensor(x)
    with bm.GradientTape():
        np.testing.assert_allclose(model(xt, training=True).numpy(), 2 * x)
        np.testing.assert_allclose(model(xt).numpy(), x)


def test_an_exception_in_from_config_during_load_reaches_the_caller(tmp_path):
    class Picky(ScaledResidual):
        @classmethod
        def from_config(cls, config):
            raise ValueError("picky about %s" % config["name"])

    path = str(tmp_path / "p.bgm")
    functional(Picky(name="fussy")).save(path)
    with pytest.raises(ValueError, match="picky about fussy"):
        bm.load_model(path, custom_objects={"Picky": Picky})


def test_a_subclass_named_like_a_builtin_kind_raises_unless_registered_under_a_package():
    class Dense(ScaledResidual):  # noqa: F811  (the clash is the point)
        pass

    with pytest.raises(StateError, match="'Dense' is a built-in layer kind"):
        Dense()
    bm.saving.register_keras_serializable(package="Mine")(Dense)
    layer = Dense(0.5)
    assert layer.kind == "Mine>Dense"
    model = functional(layer)
    # the automatic name drops the package, as Keras': dense, dense_1, ...
    assert re.fullmatch(r"dense(_\d+)?", model.layers[0].name)
