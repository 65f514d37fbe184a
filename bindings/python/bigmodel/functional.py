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
by the names of the inputs and outputs (``input_names``; ``output_names``,
Keras' names: the layers making the outputs). predict and ``model(x)``
return outputs in the structure of ``outputs``.

The model holds the layers the outputs need, numbered in the order of their
first call; ``layers`` are the Layer objects that were called (no InputLayer
entries, unlike Keras), and their weights are views of this model's while it
lives. A layer is part of one model at a time (the library's rule).

Training: compile takes one loss for every output or one per output (a list
or a dict keyed by output name), loss_weights and metrics per output; fit,
evaluate, train_on_batch and test_on_batch take one array per input and per
output, as a list or a dict, and report Keras' names ("loss",
"<output>_loss", "<output>_accuracy", "val_..."). Under a GradientTape,
``model([a, b], training=True)`` and ``model.compute_loss(y=..., y_pred=...)``
make a custom loop. ``save`` writes a model file; ``bigmodel.load_model``
gives a Model back, whose inputs and outputs are a KerasTensor each (a list
for several) over the loaded model's own graph: they tell shapes and names,
and serve while the model is open, but new layers cannot be called on them.
"""
import ctypes
import re
import weakref
from typing import Mapping, Optional, Sequence, Union

from . import _lib
from ._lib import lib
from .errors import InvalidArgumentError, StateError
from .data import Dataset
from .graph import Input, KerasTensor, node_list
from .model import BaseModel, _ModelMemory
from .tensor import as_tensor


def _snake(name):
    """Keras' automatic model name: the class name in snake case ("MLPBlock":
    "mlp_block")."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()

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

    _subclassed = False

    def __init__(self,
                 inputs: Union[None, KerasTensor, Sequence[KerasTensor],
                               Mapping[str, KerasTensor]] = None,
                 outputs: Union[None, KerasTensor, Sequence[KerasTensor],
                                Mapping[str, KerasTensor]] = None,
                 name: Optional[str] = None, seed: Optional[int] = None) -> None:
        if inputs is None and outputs is None and type(self) is not Model:
            # Keras' model subclassing: __init__ makes layers, call(inputs) uses
            # them; the first data (or build) traces call on an Input into a graph
            self._init_state(name or _snake(type(self).__name__), seed)
            self._subclassed = True
            self._layers = []
            return
        if inputs is None or outputs is None:
            raise InvalidArgumentError("Model(inputs=..., outputs=...) needs the KerasTensors "
                                       "it runs from and to, or a subclass of Model that "
                                       "defines call(inputs)")
        self._init_state(name or "functional", seed)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self._inputs, self._input_keys, self._single_input = node_list(inputs, "inputs")
        self._outputs, self._output_keys, self._single_output = node_list(outputs, "outputs")
        out = ctypes.c_void_p()
        lib.bgm_model_create_graph(
            ctypes.byref(out), _lib.handle_array([n._ptr for n in self._inputs]),
            len(self._inputs), _lib.handle_array([n._ptr for n in self._outputs]),
            len(self._outputs), self.seed & (2**64 - 1))
        self._mem = mem = _ModelMemory(out.value)
        graph = self._inputs[0]._graph
        self._layers = []
        for i in range(lib.bgm_model_num_layers(out.value)):
            layer = graph.layer_object(lib.bgm_model_layer(out.value, i))
            layer._model = weakref.ref(mem)
            mem.layers.add(layer)
            self._layers.append(layer)

    # -- subclassed models --

    def call(self, inputs):
        raise NotImplementedError("%s.call: a Model subclass defines call(inputs)"
                                  % type(self).__name__)

    @property
    def _h(self):
        if self._mem is None and self._subclassed:
            raise StateError("model '%s' is not built yet: call it on data, fit it, or "
                             "build((None, ...)) first" % self.name)
        return self._mem.h

    def build(self, input_shape):
        """A subclassed model: traces call() on an Input of input_shape (with its
        batch axis, as Keras: (None, 784)) into the graph it runs."""
        if self._mem is not None or not self._subclassed:
            return
        if isinstance(input_shape, dict):      # call(inputs) takes a dict of inputs
            inputs = {k: Input(shape=tuple(v)[1:], name=k) for k, v in input_shape.items()}
        elif input_shape and isinstance(input_shape[0], (list, tuple)):  # several inputs
            inputs = [Input(shape=tuple(v)[1:]) for v in input_shape]
        else:
            inputs = Input(shape=tuple(input_shape)[1:])
        self._init_graph(inputs, self.call(inputs))
        if self._pending_compile is not None:
            args, self._pending_compile = self._pending_compile, None
            self._compile(*args)

    def _ensure_built(self, x=None):
        if self._mem is None and self._subclassed and x is not None:
            if isinstance(x, Dataset):
                self.build((None,) + tuple(x.element_shape))
                return
            if isinstance(x, dict):
                self.build({k: (None,) + tuple(as_tensor(v).shape[1:]) for k, v in x.items()})
            elif isinstance(x, (list, tuple)):
                self.build([(None,) + tuple(as_tensor(v).shape[1:]) for v in x])
            else:
                self.build((None,) + tuple(as_tensor(x).shape[1:]))

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

    def _pack(self, values):
        return _structure(values, self._output_keys, self._single_output)

    # -- loaded models --

    def _adopt_structure(self, layers):
        """Inputs and outputs of a loaded model: nodes of the model's own graph."""
        mem, h = self._mem, self._mem.ptr
        by_handle = {layer._ptr: layer for layer in layers}

        def node(ptr):
            return _LoadedNode(ptr, mem, by_handle.get(lib.bgm_node_layer(ptr)))

        self._inputs = [node(lib.bgm_model_input(h, i))
                        for i in range(lib.bgm_model_num_inputs(h))]
        self._outputs = [node(lib.bgm_model_output(h, j))
                         for j in range(lib.bgm_model_num_outputs(h))]
        self._input_keys = self._output_keys = None
        self._single_input = len(self._inputs) == 1
        self._single_output = len(self._outputs) == 1
        self._layers = layers


class _LoadedNode(KerasTensor):
    """A KerasTensor of a loaded model: a node of the model's own graph, valid
    while the model is open (the model's memory stands in for the graph)."""

    @property
    def _ptr(self):
        if self._graph.closed:
            raise StateError("the model of this KerasTensor was closed")
        return self._node

    @_ptr.setter
    def _ptr(self, ptr):
        self._node = ptr
