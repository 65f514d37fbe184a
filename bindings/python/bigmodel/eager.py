"""Layers called on concrete data (Keras' eager ``layer(x)``), through
bgm_layer_apply.

The first call builds the layer and gives it weights of its own, which the
layer object keeps (``layer.weights``, ``layer.kernel``); a model that later
takes the layer starts from them and holds them from then on. Under an active
GradientTape the call is recorded there, and the tape watches the layer's
trainable weights, so ``tape.gradient(loss, layer.trainable_weights)`` works.
"""

import ctypes
import weakref

from . import _lib
from ._lib import lib
from .tape import _TapeMemory, recording_memory
from .tensor import Tensor, as_tensor


class LayerWeight(Tensor):
    """A weight a layer owns (made by its first call on data): a Tensor over
    the layer's memory. ``numpy()`` copies; ``assign`` writes into the layer."""

    name = None
    _index = None

    @property
    def trainable(self):
        layer = self._tape.layer()
        return bool(layer is not None and layer.trainable and
                    lib.bgm_layer_weight_trainable(layer._h, self._index))

    def numpy(self, copy=True):
        return self.copy().numpy()

    def __repr__(self):
        if self._ptr is None:
            return "<LayerWeight closed>"
        return "<LayerWeight %s shape=%s>" % (self.name, self.shape)


class _LayerMemory:
    """What a layer's own weight tensors belong to: keeps the layer (and so its
    C handle) alive while they are referenced."""

    def __init__(self, layer):
        self.layer_obj = layer
        self.layer = weakref.ref(layer)
        self.dependents = weakref.WeakSet()
        self.wrappers = {}


def own_weights(layer):
    """The layer's own weights (bgm_layer_weight), as LayerWeight tensors; [] when
    it has none."""
    h = layer._h
    n = lib.bgm_layer_num_weights(h)
    mem = layer.__dict__.get("_eager_memory")
    out = []
    for i in range(n):
        ptr = lib.bgm_layer_weight(h, i)
        if not ptr:
            return []
        if mem is None:
            mem = layer._eager_memory = _LayerMemory(layer)
        t = mem.wrappers.get(i)
        if t is None or t._ptr != ptr:
            t = LayerWeight._adopt(ptr, mem)
            t.name = "%s/%s" % (layer.name, lib.bgm_layer_weight_name(h, i).decode())
            t._index = i
            mem.wrappers[i] = t
        out.append(t)
    return out


def call_on_data(layer, inputs, training=None):
    """layer(inputs) on concrete data (numpy arrays, Tensors, or a list of them):
    a Tensor, or a tuple of them for a layer of several outputs."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    txs = [as_tensor(x) for x in items]
    h = layer._h
    memory = recording_memory()
    if memory is None and training:
        memory = _TapeMemory()
    nout = lib.bgm_layer_num_outputs(h)
    outs = (ctypes.c_void_p * nout)()
    lib.bgm_layer_apply(outs, nout, h, memory.ptr if memory is not None else None,
                        _lib.tensor_array(txs), len(txs), 1 if training else 0)
    layer._eager_built = True
    if memory is None:
        results = [Tensor._adopt(p) for p in outs]
    else:
        memory.borrow(txs)
        memory.keep.append(layer)  # its weights are on the recording
        owner = layer._weights_owner()
        if owner is not None:
            memory.keep.append(owner)  # a model's memory holding them
        results = [Tensor._adopt(p, memory) for p in outs]
    return results[0] if nout == 1 else tuple(results)
