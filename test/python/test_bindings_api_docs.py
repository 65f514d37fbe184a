"""The public entry points carry type hints that resolve and docstrings, so
help(bm.Model.fit) reads like Keras' reference."""
import typing

import pytest

import bindings_path  # noqa: F401
import bigmodel as bm

ENTRY_POINTS = [bm.Sequential.compile, bm.Sequential.fit, bm.Sequential.evaluate,
                bm.Sequential.predict, bm.Model.compile, bm.Model.fit, bm.Model.evaluate,
                bm.Model.predict, bm.Model.train_on_batch, bm.Model.test_on_batch,
                bm.Model.predict_on_batch, bm.Model.summary, bm.Model.save,
                bm.Model.save_weights, bm.Model.load_weights, bm.load_model,
                bm.library_path, bm.library_origin, bm.library_version,
                bm.set_num_threads, bm.get_num_threads, bm.kernel_isa,
                bm.plot.history, bm.plot.confusion_matrix]


@pytest.mark.parametrize("fn", ENTRY_POINTS, ids=lambda fn: fn.__qualname__)
def test_entry_point_has_resolvable_hints_and_a_docstring(fn):
    hints = typing.get_type_hints(fn)   # raises on a hint that names nothing
    assert "return" in hints
    params = [p for p in fn.__code__.co_varnames[:fn.__code__.co_argcount] if p != "self"]
    assert set(params) <= set(hints), set(params) - set(hints)
    assert fn.__doc__ and len(fn.__doc__.strip()) > 20


def test_model_constructors_are_hinted_and_their_classes_documented():
    hints = typing.get_type_hints(bm.Sequential.__init__)
    assert {"layers", "input_shape", "seed", "name", "return"} <= set(hints)
    assert "input_shape" in bm.Sequential.__doc__
    hints = typing.get_type_hints(bm.Model.__init__)
    assert {"inputs", "outputs", "seed", "name", "return"} <= set(hints)
    assert "inputs" in bm.Model.__doc__


def test_fit_returns_the_history_its_hint_names():
    import numpy as np
    model = bm.Sequential([bm.layers.Dense(1)], input_shape=(2,), seed=3)
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((4, 2), np.float32), np.ones((4, 1), np.float32),
                        epochs=2, verbose=0)
    assert isinstance(history, typing.get_type_hints(bm.Sequential.fit)["return"])
    assert isinstance(model.evaluate(np.ones((4, 2), np.float32),
                                     np.ones((4, 1), np.float32)), float)
