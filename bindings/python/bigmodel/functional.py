"""The functional Model (Keras' ``Model(inputs, outputs)``, bgm_model_create_graph).

    left = bigmodel.Input(shape=(8,), name="left")
    right = bigmodel.Input(shape=(8,), name="right")
    encode = bigmodel.layers.Dense(4, activation="tanh")       # shared: one kernel
    diff = bigmodel.layers.Subtract()([encode(left), encode(right)])
    score = bigmodel.layers.Dense(1, name="score")(diff)
    model = bigmodel.Model(inputs=[left, right], outputs=score)
    model.predict({"left": a, "right": b})

inputs and outputs are a KerasTensor, a list, or a dict of them. Data
follows the same structure: one array per input / output, as a list in the
model's order or a dict keyed by the dict keys the model was built with or
by the names of the inputs (and of the layers making the outputs). predict
and ``model(x)`` return outputs in the structure of ``outputs``.

The model holds the layers the outputs need, numbered in the order of their
first call; ``layers`` are the Layer objects that were called (no InputLayer
entries, unlike Keras), and their weights are views of this model's while it
lives. A layer is part of one model at a time (the library's rule).

Training: the library compiles, fits and evaluates models of one input and
one output so far; for others it raises UnsupportedError with its own
message (compile for several outputs, fit / evaluate for several inputs).
Models of several inputs and outputs train in a custom loop:
``model([a, b], training=True)`` under a GradientTape records the whole graph.
Model files hold Sequential models so far (``save`` says so).
"""
import ctypes
import weakref

from . import _lib
from ._lib import lib
from .errors import InvalidArgumentError
from .graph import node_list
from .model import BaseModel, _ModelMemory, _features
from .tensor import as_tensor

__all__ = ["Model"]


def _structure(values, keys, single):
    """values (in node order) in the structure the nodes were given in."""
    if single:
        return values[0]
    if keys is not None:
        return dict(zip(keys, values))
    return list(values)


class Model(BaseModel):
    """A graph of layer calls from inputs to outputs (Keras' functional Model).

    ``Model(inputs, outputs, name="functional", seed=None)``: inputs are
    KerasTensors made by bigmodel.Input, outputs KerasTensors made by layer
    calls on them (each a node, a list or a dict). seed fixes the initial
    weights, shuffling and dropout (None: a random seed, kept in
    ``model.seed``). A bad graph raises the library's error with its message.
    """

    def __init__(self, inputs=None, outputs=None, name="functional", seed=None):
        if inputs is None or outputs is None:
            raise InvalidArgumentError("Model(inputs=..., outputs=...) needs the KerasTensors "
                                       "it runs from and to (subclassing Model is not "
                                       "supported)")
        self._init_state(name, seed)
        self._inputs, self._input_keys, self._single_input = node_list(inputs, "inputs")
        self._outputs, self._output_keys, self._single_output = node_list(outputs, "outputs")
        out = ctypes.c_void_p()
        lib.bgm_model_create_graph(
            ctypes.byref(out), _lib.handle_array([n._ptr for n in self._inputs]),
            len(self._inputs), _lib.handle_array([n._ptr for n in self._outputs]),
            len(self._outputs), self.seed & (2**64 - 1))
        self._mem = mem = _ModelMemory(out.value)
        self._num_outputs = len(self._outputs)
        graph = self._inputs[0]._graph
        self._layers = []
        for i in range(lib.bgm_model_num_layers(out.value)):
            layer = graph.layer_object(lib.bgm_model_layer(out.value, i))
            layer._model = weakref.ref(mem)
            mem.layers.add(layer)
            self._layers.append(layer)

    # -- what the model is --

    @property
    def layers(self):
        return list(self._layers)

    @property
    def inputs(self):
        """The input KerasTensors, in order."""
        return list(self._inputs)

    @property
    def outputs(self):
        """The output KerasTensors, in order."""
        return list(self._outputs)

    @property
    def input(self):
        """The inputs as given: one KerasTensor, a list or a dict."""
        return _structure(self._inputs, self._input_keys, self._single_input)

    @property
    def output(self):
        return _structure(self._outputs, self._output_keys, self._single_output)

    @property
    def input_shape(self):
        """Each input's shape, (None, ...), in the structure of the inputs."""
        return _structure([n.shape for n in self._inputs], self._input_keys,
                          self._single_input)

    @property
    def output_shape(self):
        return _structure([n.shape for n in self._outputs], self._output_keys,
                          self._single_output)

    # -- data --

    def _in_order(self, values, nodes, keys, what):
        """values given per node (a list in order, or a dict keyed by the keys the
        nodes were given with or by their names) as a list in node order."""
        names = [n.name for n in nodes]
        if not isinstance(values, dict):
            values = list(values)
            if len(values) != len(nodes):
                raise InvalidArgumentError("%s: %d values for the model's %d %s (%s)" % (
                    what, len(values), len(nodes), "input" if nodes is self._inputs else
                    "output", ", ".join(repr(n) for n in names)))
            return values
        keys = keys or names
        picked, used = [], set()
        for key, name in zip(keys, names):
            key = key if key in values else name
            if key not in values:
                raise InvalidArgumentError("%s: no value for %r (the dict's keys: %s)" % (
                    what, name, ", ".join(repr(k) for k in values)))
            picked.append(values[key])
            used.add(key)
        extra = [k for k in values if k not in used]
        if extra:
            raise InvalidArgumentError("%s: %s matches none of the model's %s (%s)" % (
                what, ", ".join(repr(k) for k in extra),
                "inputs" if nodes is self._inputs else "outputs",
                ", ".join(repr(k) for k in keys)))
        return picked

    def _arrays(self, data, nodes, keys, what):
        """One array per node from data: an array (one node), a list, or a dict."""
        if isinstance(data, dict) or (isinstance(data, (list, tuple)) and (
                len(nodes) > 1 or (len(data) == 1 and hasattr(data[0], "shape")))):
            return self._in_order(data, nodes, keys, what)
        if len(nodes) > 1:
            raise InvalidArgumentError("%s: the model has %d %s: give a list of arrays or a "
                                       "dict keyed by their names (%s)" % (
                                           what, len(nodes), "inputs" if nodes is self._inputs
                                           else "outputs",
                                           ", ".join(repr(n.name) for n in nodes)))
        return [data]

    def _input_tensors(self, x):
        arrays = self._arrays(x, self._inputs, self._input_keys, "x")
        return [_features(a, node.dtype) for a, node in zip(arrays, self._inputs)]

    def _target_tensors(self, y):
        arrays = self._arrays(y, self._outputs, self._output_keys, "y")
        if len(arrays) == 1:
            return [self._targets(arrays[0])]
        return [as_tensor(a) for a in arrays]

    def _per_output(self, values, what):
        return self._in_order(values, self._outputs, self._output_keys, what)

    def _pack(self, values):
        return _structure(values, self._output_keys, self._single_output)
