"""User-defined layers: Keras' Layer subclassing and Lambda on the library's
run-time layer kinds (bigmodel/custom_layer.h).

Each Python layer class is one C kind, registered under its Keras name (the
class name, or "package>name" from register_keras_serializable) with the
callbacks below, so fit, evaluate and predict run in C and call back into
Python only for the layer's build and call. A C layer points at its Python
object through bgm_layer_set_user_data (a key of ``_objects``); a layer the
library made while loading a file gets its object from the class registered
under its kind, through ``from_config`` with the config saved in the file.
A model file never holds code: only kind names and config values.

A call records on the library's tape: the layer's inputs and weights are
bound to Tensors for the time of the call, and operands Python owns
(numbers, constants) are copied onto that tape first, so nothing the
library's backward reads can be freed by Python. An exception raised in
build or call fails the library's function, which raises that exception.
"""
import ctypes
import inspect
import itertools
import json
import threading
import weakref

from . import _lib
from . import tape as _tape
from ._lib import lib
from .errors import BigmodelError, InvalidArgumentError, StateError
from .tensor import Tensor, zeros

c_int, c_int64, c_void_p = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
BGM_E_INVALID = -1

BUILD_FN = ctypes.CFUNCTYPE(c_int, c_void_p, ctypes.POINTER(ctypes.POINTER(c_int64)),
                            ctypes.POINTER(c_int), c_int, ctypes.POINTER(c_int64),
                            ctypes.POINTER(c_int), c_void_p)
FORWARD_FN = ctypes.CFUNCTYPE(c_int, ctypes.POINTER(c_void_p), c_void_p, c_void_p,
                              ctypes.POINTER(c_void_p), c_int, ctypes.POINTER(c_void_p),
                              c_int, c_int, c_void_p)
RELEASE_FN = ctypes.CFUNCTYPE(None, c_void_p, c_void_p)


class KindDef(ctypes.Structure):
    """struct bgm_layer_kind_def (bigmodel/custom_layer.h)."""
    _fields_ = [("size", ctypes.c_size_t), ("name", ctypes.c_char_p),
                ("prefix", ctypes.c_char_p), ("min_inputs", c_int), ("max_inputs", c_int),
                ("build", BUILD_FN), ("forward", FORWARD_FN), ("init", c_void_p),
                ("release", RELEASE_FN), ("user_data", c_void_p),
                ("free_user_data", c_void_p)]


_classes = {}        # registered name -> Layer class (decorator, or first use)
_functions = {}      # registered name -> function (Lambda)
_python_kinds = set()  # kinds this module registered with the library
_objects = {}        # key -> layer object (a weakref while Python owns the handle)
_keys = itertools.count(1)
_local = threading.local()   # .scope: custom_objects of a load; .adopt: a loaded handle


# ---- names and registration --------------------------------------------------------


def registered_name(obj):
    """The name a class or function is saved under."""
    return getattr(obj, "_bm_registered_name", None) or obj.__name__


def register_keras_serializable(package="Custom", name=None):
    """Decorator registering a Layer subclass or a function (for Lambda) under
    "package>name" (name defaults to its __name__), as
    keras.saving.register_keras_serializable: load_model then restores it
    without custom_objects."""
    def decorate(obj):
        key = "%s>%s" % (package, name or obj.__name__)
        obj._bm_registered_name = key
        from .layers import Layer
        if isinstance(obj, type) and issubclass(obj, Layer):
            _classes[key] = obj
            ensure_kind(key)
        elif callable(obj):
            _functions[key] = obj
        else:
            raise InvalidArgumentError("register_keras_serializable: %r is neither a Layer "
                                       "subclass nor a function" % (obj,))
        return obj
    return decorate


def _kind_def(name):
    d = KindDef()
    lib.bgm_layer_kind_init(ctypes.byref(d), ctypes.sizeof(d))
    d.name = name.encode()
    d.min_inputs, d.max_inputs = 1, -1
    d.build, d.forward, d.release = _build_cb, _forward_cb, _release_cb
    return d


def ensure_kind(name):
    """Registers the library kind of a Python layer class named name (once)."""
    if name in _python_kinds:
        return
    if lib.bgm_layer_kind_registered(name.encode()):
        raise StateError("a layer kind named '%s' is already registered by other code "
                         "(bgm_layer_kind_register); give the class another name" % name)
    lib.bgm_layer_kind_register(ctypes.byref(_kind_def(name)))
    _python_kinds.add(name)


def kind_for(cls):
    """The kind of cls's layers, registered with the library; cls becomes the
    class that name restores (the last class of a name used wins, as when a
    notebook cell defining it runs again)."""
    name = registered_name(cls)
    ensure_kind(name)
    _classes[name] = cls
    return name


class custom_object_scope:  # noqa: N801  (keras.saving.custom_object_scope)
    """Within it, the classes and functions of custom_objects (a dict of
    registered name -> object) restore layers of those names."""

    def __init__(self, custom_objects):
        self.objects = dict(custom_objects or {})

    def __enter__(self):
        from .layers import Layer
        for key, obj in self.objects.items():
            if isinstance(obj, type) and issubclass(obj, Layer):
                ensure_kind(key)
        self.saved = getattr(_local, "scope", None)
        _local.scope = dict(self.saved or {}, **self.objects)
        return self

    def __exit__(self, *exc):
        _local.scope = self.saved


def lookup(name, table, what):
    scope = getattr(_local, "scope", None) or {}
    obj = scope.get(name, table.get(name))
    if obj is None:
        raise InvalidArgumentError(
            "%s '%s' is not registered: pass custom_objects={'%s': ...} to load_model or "
            "decorate it with bigmodel.saving.register_keras_serializable()"
            % (what, name, name))
    return obj


def lookup_function(name):
    if name == "<lambda>":
        raise InvalidArgumentError(
            "a Lambda of a lambda expression cannot be restored from a file (it keeps "
            "names, never code): define the function with def, and register it or pass "
            "it in custom_objects")
    return lookup(name, _functions, "the Lambda function")


# ---- layer objects ------------------------------------------------------------------


def attach(layer, ptr):
    """Ties a new C layer to its Python object (weakly while Python owns it)."""
    key = next(_keys)
    _objects[key] = weakref.ref(layer)
    layer._custom_key = key
    lib.bgm_layer_set_user_data(ptr, key)


def adopting():
    """The handle of a layer being restored from a file, or None."""
    return getattr(_local, "adopt", None)


def adopt(layer, ptr):
    """layer (being made by from_config) stands for ptr, a loaded C layer the
    model owns."""
    _local.adopt = None
    layer._ptr, layer._owner, layer.input_shape = ptr, LOADED, None
    key = next(_keys)
    _objects[key] = layer
    layer._custom_key = key
    lib.bgm_layer_set_user_data(ptr, key)


LOADED = object()  # the owner of a loaded layer until its model's memory adopts it


def object_for(ptr):
    key = lib.bgm_layer_user_data(ptr)
    obj = _objects.get(key) if key else None
    if isinstance(obj, weakref.ref):
        obj = obj()
    return obj


def give(layer):
    """layer's handle goes to a model or graph: its config goes into the
    library (for files and configs), and the library now keeps the object."""
    for key, value in layer.get_config().items():
        if key in ("name", "trainable", "dtype") or value is None:
            continue
        ckey = key.encode()
        if isinstance(value, bool):
            lib.bgm_layer_set_config_int(layer._ptr, ckey, int(value))
        elif isinstance(value, int):
            lib.bgm_layer_set_config_int(layer._ptr, ckey, value)
        elif isinstance(value, float):
            lib.bgm_layer_set_config_float(layer._ptr, ckey, value)
        elif isinstance(value, str):
            lib.bgm_layer_set_config_string(layer._ptr, ckey, value.encode("utf-8"))
        else:
            raise InvalidArgumentError(
                "%s.get_config(): '%s' = %r is a %s; a model file keeps ints, floats, bools "
                "and strings only" % (type(layer).__name__, key, value, type(value).__name__))
    _objects[layer._custom_key] = layer


def _from_file(ptr):
    """The object of a layer the library loaded: its class's from_config."""
    kind = lib.bgm_layer_kind(ptr).decode()
    cls = lookup(kind, _classes, "the layer class")
    needed = ctypes.c_size_t()
    lib.bgm_layer_config_string(None, 0, ctypes.byref(needed), ptr)
    buf = ctypes.create_string_buffer(needed.value)
    lib.bgm_layer_config_string(buf, needed.value, None, ptr)
    config = json.loads(buf.value.decode())["config"]
    _local.adopt = ptr
    try:
        layer = cls.from_config(config)
    finally:
        _local.adopt = None
    if object_for(ptr) is not layer:
        raise InvalidArgumentError("%s.from_config did not make its layer through "
                                   "Layer.__init__" % cls.__name__)
    return layer


# ---- weights and tensors in a call ---------------------------------------------------


class _Bound(Tensor):
    """A Tensor over a library-owned tensor, for the time of one call."""

    def close(self):
        self._ptr = self._tape = None


class LayerWeight(_Bound):
    """What add_weight returns: the layer's weight inside build and call (where
    it is the model's tensor); read weights elsewhere with layer.weights."""

    def __init__(self, layer_name, name, shape, trainable):
        self._ptr = self._tape = None
        self.weight_name, self.weight_shape, self.weight_trainable = name, shape, trainable
        self._layer_name = layer_name

    @property
    def _h(self):
        if self._ptr is None:
            raise StateError("weight '%s' of layer '%s' is a tensor only inside call(); "
                             "read it with layer.weights or layer.get_weights()"
                             % (self.weight_name, self._layer_name()))
        return self._ptr

    def __repr__(self):
        return "<LayerWeight %s %s>" % (self.weight_name, self.weight_shape)


class _ExternalMemory:
    """A library-owned tape (fit's, predict's) that a call records on."""
    external = True

    def __init__(self, ptr):
        self.ptr = ptr
        self.dependents = weakref.WeakSet()
        self.recorded = True

    def borrow(self, tensors):
        pass  # own() put every operand on the tape

    def own(self, tensors):
        out = []
        for t in tensors:
            if t is None or t._tape is self:
                out.append(t)
                continue
            if t.dtype != "float32":
                raise InvalidArgumentError(
                    "a custom layer's call used an int32 tensor that is not one of its "
                    "inputs; make constants float32")
            p = c_void_p()
            lib.bgm_op_scale(ctypes.byref(p), self.ptr, t._h, 1.0)
            out.append(Tensor._adopt(p.value, self))
        return out


class _Recorder:
    """Stands on the thread's tape stack during a call: ops record on memory."""

    def __init__(self, memory):
        self.memory = memory

    def _current(self):
        return self.memory


def _bind(ptr, memory):
    t = _Bound.__new__(_Bound)
    t._ptr, t._tape = ptr, memory
    return t


def _run_call(layer, inputs, weights, memory, training):
    """layer.call on inputs (library tensors) with weights bound; returns the
    output's handle, on memory's tape."""
    refs = layer._custom_weights
    if len(refs) != len(weights):
        raise StateError("layer '%s' has %d weights, its call got %d"
                         % (layer.name, len(refs), len(weights)))
    bound = [_bind(p, memory) for p in inputs]
    for ref, p in zip(refs, weights):
        ref._ptr, ref._tape = p, memory
    stack = _tape._stack()
    recorder = _Recorder(memory)
    stack.append(recorder)
    try:
        arg = bound[0] if len(bound) == 1 else bound
        if _takes_training(type(layer)):
            out = layer.call(arg, training=bool(training))
        else:
            out = layer.call(arg)
        if not isinstance(out, Tensor):
            raise InvalidArgumentError("%s.call returned %s, expected a Tensor"
                                       % (type(layer).__name__, type(out).__name__))
        if out._tape is not memory:
            if getattr(memory, "external", False):
                out = memory.own([out])[0]
            else:
                memory.borrow([out])
        return out._h
    finally:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is recorder:
                del stack[i]
                break
        for ref in refs:
            ref._ptr = ref._tape = None
        for t in bound:
            t.close()


def _takes_training(cls):
    try:
        return "training" in inspect.signature(cls.call).parameters
    except (TypeError, ValueError):
        return False


def _dry_run(layer, shapes):
    """The output shape of layer's call on zeros of the input shapes (batch 1)."""
    scratch = _tape._TapeMemory()
    memory = _ExternalMemory(scratch.ptr)
    owned = [zeros((1,) + tuple(s[1:])) for s in shapes]
    owned_w = [zeros(ref.weight_shape) for ref in layer._custom_weights]
    out = _run_call(layer, [t._h for t in owned], [t._h for t in owned_w], memory, False)
    ndim = lib.bgm_tensor_ndim(out)
    dims = lib.bgm_tensor_shape(out)
    return (None,) + tuple(dims[i] for i in range(1, ndim))


# ---- the callbacks ----------------------------------------------------------------


def _guard(layer_ptr, where, fn):
    """Runs fn; an exception becomes the library's error (naming the layer)
    and is kept for raise_for_status to raise."""
    try:
        fn()
        return 0
    except BaseException as exc:  # noqa: B902  (KeyboardInterrupt included)
        status = exc.status if isinstance(exc, BigmodelError) and exc.status else BGM_E_INVALID
        message = "%s raised %s: %s" % (where, type(exc).__name__, exc)
        lib.bgm_layer_kind_fail(layer_ptr, status, message.encode("utf-8", "replace"))
        _lib.callback_error.value = (exc, message)
        return status


def _build(ptr, in_shapes, ndims, nin, out, out_ndim):
    layer = object_for(ptr)
    if layer is None:
        layer = _from_file(ptr)
    shapes = [(None,) + tuple(in_shapes[i][k] for k in range(ndims[i])) for i in range(nin)]
    arg = shapes[0] if nin == 1 else shapes
    layer._custom_building, layer._custom_weights = ptr, []
    try:
        layer.build(arg)
    finally:
        layer._custom_building = None
    shape = layer.compute_output_shape(arg)
    if shape is None:
        shape = _dry_run(layer, shapes)
    shape = tuple(shape)[1:]
    if not 1 <= len(shape) <= 7 or any(d is None for d in shape):
        raise InvalidArgumentError("%s: output shape %r, expected (None, d1, ...) with 1 to "
                                   "7 known dimensions" % (type(layer).__name__, shape))
    for i, d in enumerate(shape):
        out[i] = int(d)
    out_ndim[0] = len(shape)


@BUILD_FN
def _build_cb(ptr, in_shapes, ndims, nin, out, out_ndim, user):
    return _guard(ptr, "build", lambda: _build(ptr, in_shapes, ndims, nin, out, out_ndim))


def _forward(y, tape_ptr, ptr, w, nw, x, nx, training):
    layer = object_for(ptr)
    if layer is None:
        raise StateError("the Python object of this layer is gone")
    memory = _tape.memory_for(tape_ptr) or _ExternalMemory(tape_ptr)
    y[0] = _run_call(layer, [x[i] for i in range(nx)], [w[i] for i in range(nw)], memory,
                     training)


@FORWARD_FN
def _forward_cb(y, tape_ptr, ptr, w, nw, x, nx, training, user):
    return _guard(ptr, "call", lambda: _forward(y, tape_ptr, ptr, w, nw, x, nx, training))


@RELEASE_FN
def _release_cb(key, user):
    _objects.pop(key, None)
