"""Graphs of layer calls (bigmodel/graph.h): Keras' functional API.

    inp = bigmodel.Input(shape=(28, 28, 1), name="image")
    x = bigmodel.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    y = bigmodel.layers.Conv2D(16, 3, padding="same")(x)
    out = bigmodel.layers.Add()([x, y])
    model = bigmodel.Model(inputs=inp, outputs=out)

``Input`` makes an input node of the default graph and returns a
``KerasTensor``, a symbolic value: its shape (with None for the batch), its
dtype and its name. Calling a layer on KerasTensors (``bgm_layer_call``) makes
a new one; calling the same layer object again shares its weights.

The default graph is made by the first ``Input`` and lives while anything
built on it does (its KerasTensors, the layers called on them, the models
made from them); once nothing refers to it, the next ``Input`` starts a new
one, so building models in a loop does not pile them up in one graph.
``bigmodel.backend.clear_session()`` starts a new default graph at once.
Nodes of two graphs cannot be combined: the library says so.

Ownership: a graph (``bgm_graph``) owns its input nodes, the layers called on
its nodes and their output nodes; a model built from it holds a reference of
its own. Here every KerasTensor, every layer that was called, and every
model keeps the graph's memory alive, so nothing dangles whatever is dropped
first. A layer handed to a graph by its first call is the graph's to free
(when that call fails, the library has freed it: make a new layer).
"""
import ctypes
import threading
import weakref

from . import _lib
from ._handle import Handle
from ._lib import lib
from .errors import InvalidArgumentError
from .tensor import dtype_name, float32

__all__ = ["Input", "KerasTensor", "clear_session"]

_DTYPE_CODE = {"float32": 1, "int32": 2}   # bgm_dtype
_DTYPE_NAME = {1: "float32", 2: "int32"}


class _GraphMemory(Handle):
    """Python's hold on one bgm_graph, and the Layer objects called on its nodes."""

    _free_fn, _counter, _what = "bgm_graph_free", "graph", "graph"

    def __init__(self):
        self._make(lib.bgm_graph_create)
        self.layers = weakref.WeakValueDictionary()  # layer handle -> Layer object

    def layer_object(self, ptr):
        """The Layer object over ptr, a layer of this graph: the one called, or a
        view of the class its kind names when that object is gone."""
        layer = self.layers.get(ptr)
        if layer is None or layer._ptr != ptr:
            from .layers import _from_model
            layer = _from_model(ptr, self)
            layer._model = None  # weights come with a model built from the graph
            self.layers[ptr] = layer
        return layer


_default = None                 # weakref.ref to the default _GraphMemory
_default_lock = threading.Lock()


def _default_graph():
    global _default
    with _default_lock:
        graph = _default() if _default is not None else None
        if graph is None:
            graph = _GraphMemory()
            _default = weakref.ref(graph)
        return graph


def clear_session():
    """Starts a new default graph (Keras' clear_session): later Inputs do not mix
    with nodes made before, and automatic names start again ("input_1",
    "dense"). What was built before stays valid."""
    global _default
    with _default_lock:
        _default = None


class KerasTensor:
    """A symbolic value of a graph: an input, or the output of a layer call.

    ``shape`` is Keras' (None for the batch, then one sample's shape), ``dtype``
    'float32' or 'int32', ``name`` the input's name or the name of the layer
    that made it. It holds no values: call layers on it, then make a Model."""

    def __init__(self, ptr, graph, layer=None):
        self._ptr = ptr
        self._graph = graph          # keeps the node (borrowed from the graph) alive
        self._layer = layer          # the Layer object of the call that made it

    @property
    def shape(self):
        n = ctypes.c_int()
        dims = lib.bgm_node_shape(self._ptr, ctypes.byref(n))
        return (None,) + tuple(dims[i] for i in range(n.value))

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def dtype(self):
        return _DTYPE_NAME[lib.bgm_node_dtype(self._ptr)]

    @property
    def name(self):
        return lib.bgm_node_name(self._ptr).decode()

    def __repr__(self):
        return "<KerasTensor shape=%s, dtype=%s, name=%s>" % (self.shape, self.dtype,
                                                             self.name)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
          input_shape=None):
    """An input node of the default graph (Keras' ``keras.Input``): samples of
    shape ``shape`` (no batch dimension; ``batch_shape=(None, ...)`` gives it
    with one), float32 or, for token ids, ``dtype="int32"`` (``dtype="string"``:
    a Sequential's first entry before TextVectorization). The batch size
    is never fixed, so batch_size is accepted and ignored. name (default
    "input_1", "input_2", ...) must be unique in the graph.
    As the first entry of a Sequential's layer list it gives the input shape."""
    if shape is None:
        shape = input_shape
    if shape is None and batch_shape is not None:
        shape = tuple(batch_shape)[1:]
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(d) for d in shape) if shape is not None else ()
    if not shape:
        raise InvalidArgumentError("Input needs the shape of one sample, e.g. "
                                   "Input(shape=(28, 28, 1))")
    if dtype in ("string", str):
        # Raw strings never enter a graph: as the first entry of a Sequential
        # model, followed by TextVectorization, this gives one string per sample.
        from .layers import InputLayer
        return InputLayer(shape)
    code = _DTYPE_CODE[dtype_name(dtype) or float32]
    graph = _default_graph()
    dims, ndim = _lib.shape_array(shape)
    out = ctypes.c_void_p()
    lib.bgm_graph_input(ctypes.byref(out), graph._h, dims, ndim, code,
                        None if name is None else str(name).encode("utf-8"))
    return KerasTensor(out.value, graph)


def node_list(value, what):
    """(list of KerasTensors, dict keys or None, whether value was one node)
    for a node, a list / tuple of nodes, or a dict of them (Keras' structures)."""
    single = isinstance(value, KerasTensor)
    if isinstance(value, dict):
        keys = list(value)
        nodes = [value[k] for k in keys]
    elif isinstance(value, (list, tuple)):
        keys, nodes = None, list(value)
    else:
        keys, nodes = None, [value]
    for node in nodes:
        if not isinstance(node, KerasTensor):
            raise InvalidArgumentError(
                "%s must be KerasTensors (from bigmodel.Input or a layer call), a list or a "
                "dict of them, got %s (a layer called on data alone runs at once; "
                "KerasTensors and data do not mix in one call)" % (what, type(node).__name__))
        if not isinstance(node._graph, _GraphMemory):
            raise InvalidArgumentError(
                "%s: %r belongs to a loaded model, whose inputs and outputs take no "
                "new layer calls and make no new models" % (what, node))
    return nodes, keys, single


def call_layer(layer, inputs, training=None):
    """layer called on inputs (a KerasTensor or a list of them): the new KerasTensor,
    or a tuple of them for a layer of several outputs. The first call hands the
    layer's handle to the inputs' graph. On concrete data (no KerasTensor among
    the inputs) the layer runs at once (bigmodel.eager)."""
    items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if not any(isinstance(i, KerasTensor) for i in items):
        from .eager import call_on_data
        return call_on_data(layer, inputs, training)
    nodes, _, _ = node_list(inputs, "the inputs of a layer call")
    if not nodes:
        raise InvalidArgumentError("a layer is called on at least one KerasTensor")
    graph = nodes[0]._graph
    h = layer._h
    fresh = layer._owner is None
    if fresh:
        layer._give_to(graph)
    nout = lib.bgm_layer_num_outputs(h)
    outs = (ctypes.c_void_p * nout)()
    try:
        ins = _lib.handle_array([n._ptr for n in nodes])
        if nout == 1:
            lib.bgm_layer_call(outs, h, ins, len(nodes))
        else:
            lib.bgm_layer_call_multi(outs, nout, h, ins, len(nodes))
    except BaseException:
        if fresh:
            layer._handover_failed("calling it on graph nodes")  # the library freed it
        raise
    if fresh:
        graph.layers[h] = layer
    if nout == 1:
        return KerasTensor(outs[0], graph, layer)
    return tuple(KerasTensor(o, graph, layer) for o in outs)
