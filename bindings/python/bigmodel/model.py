"""Models (bigmodel/model.h): what every model has (BaseModel), and the
Keras-style Sequential model. The functional Model is in bigmodel.functional.

    model = bigmodel.Sequential([
        bigmodel.layers.Conv2D(32, 3, activation="relu"),
        bigmodel.layers.MaxPooling2D(2),
        bigmodel.layers.Flatten(),
        bigmodel.layers.Dense(10),
    ], input_shape=(28, 28, 1), seed=42)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  from_logits=True, metrics=["accuracy"])
    history = model.fit(x, y, epochs=5, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test)
    probs = model.predict(x_test)

Training goes through the library's functions for any number of inputs and
outputs (bgm_model_compile_v2, bgm_model_fit_multi, ...), one path for every
model: a Sequential is the case of one input and one output.

Ownership: the model owns its C handle, the handles of the layers added to it
and of the optimizer it was compiled with; Python objects for those (layers,
the optimizer, weight tensors, results of ``model(x)`` on a tape) keep the
model's memory alive, so nothing dangles whatever is dropped first.
``close()`` frees the model at once and makes those objects raise StateError.

Weights: ``weights`` / ``trainable_variables`` are Tensors over the model's
own weight memory (writes through ``assign`` change the model; ``numpy()``
returns a copy, as for Keras variables). Adding a layer reallocates the
weights, so tensors taken before an ``add`` are closed by it.

Output: fit's progress goes through ``sys.stdout`` (notebooks and pytest's
capsys see it); the bar is redrawn in place only when ``sys.stdout.isatty()``,
otherwise one line per epoch is printed. ``summary()`` prints to sys.stdout.

Ctrl-C: during fit (called from the main thread) Ctrl-C stops training after
the current batch; fit then raises KeyboardInterrupt, as Keras does. The
epochs completed before it are in ``model.history`` (and in the exception's
``history`` attribute); the weights hold every update made, so the model
stays usable. Exceptions raised by Python callbacks stop training the same
way and are re-raised by fit.
"""
import ctypes
import json
import math
import numbers
import os
import re
import sys
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

from . import _compat
from . import _userfns
from . import _lib
from . import callbacks as _callbacks
from . import _log
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optim as _optim
from ._interrupt import CancelOnSigint
from ._stream import BatchStream, is_batch_source, steps_of
from ._training import FitRun
from ._lib import lib, tensor_array as _handles
from .data import Dataset
from .errors import (BigmodelError, CancelledError, InvalidArgumentError, StateError,
                     UnsupportedError)
from .graph import _DTYPE_NAME, KerasTensor
from .tape import _TapeMemory, recording_memory
from .tensor import Tensor, as_tensor, float32, int32

# Type hints of the public methods. Data: an array (numpy, Tensor, list,
# buffer), a list of them in the model's input / output order, or a dict keyed
# by input / output names.
ArrayLike = Any
Data = Union[ArrayLike, Sequence[ArrayLike], Mapping[str, ArrayLike]]
LossSpec = Union[str, "_losses.Loss", Callable[[Tensor, Tensor], Tensor]]
MetricSpec = Union[str, type, "_metrics.Metric", Callable[[Tensor, Tensor], Tensor]]

__all__ = ["BaseModel", "Sequential", "load_model"]

METRICS = {
    "accuracy": 1, "acc": 1, "sparse_categorical_accuracy": 1, "categorical_accuracy": 1,
    "binary_accuracy": 1, "top_k_accuracy": 2, "sparse_top_k_categorical_accuracy": 2,
    "top_k_categorical_accuracy": 2, "precision": 3, "recall": 4, "f1": 5, "f1_score": 5,
    "auc": 6, "mse": 7, "mean_squared_error": 7, "mae": 8, "mean_absolute_error": 8,
    "r2": 9, "r2_score": 9,
}
_KERAS_NAMED = {"sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
                "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"}
OPTIMIZERS = {"adam": _optim.Adam, "sgd": _optim.SGD, "rmsprop": _optim.RMSprop,
              "adamw": _optim.AdamW}


# ---- the model's memory ---------------------------------------------------------------


class _ModelMemory:
    """The bgm_model handle. Everything that borrows from the model holds this
    object, so the handle is freed only when nothing can reach it any more.

    It quacks like a tape's memory for Tensor (``dependents``), so weight
    tensors are "owned" by it: Python never frees their handles.
    """

    def __init__(self, ptr):
        self.ptr = ptr
        self.closed = False
        _lib.count("model", 1)
        self.dependents = weakref.WeakSet()   # weight tensors of the current layout
        self.layers = weakref.WeakSet()       # Layer objects of the model
        self.optimizers = weakref.WeakSet()   # Optimizer objects compiled with
        self.recordings = weakref.WeakSet()   # tape memories that ran the model
        self.decoders = weakref.WeakSet()     # generation.Decoder objects borrowing it
        self.wrappers = weakref.WeakValueDictionary()  # weight index -> tensor
        self.keep = []                        # schedules the optimizer borrows

    @property
    def h(self):
        if self.closed:
            raise StateError("this model was closed")
        return self.ptr

    def invalidate_weights(self):
        for t in list(self.dependents):
            t.close()
        self.wrappers = weakref.WeakValueDictionary()

    def recording(self):
        return any(m.recorded for m in list(self.recordings))

    def close(self):
        """Frees the model now, unless a tape recording still refers to its weights
        (then when that recording goes)."""
        if self.closed:
            return
        self.closed = True
        for d in list(self.decoders):
            d.close()
        self.invalidate_weights()
        for layer in list(self.layers):
            layer._detach(self)
        for opt in list(self.optimizers):
            opt._detach()
        if not self.recording():
            self._free()

    def _free(self):
        ptr, self.ptr = self.ptr, None
        if ptr is not None and not _lib.exiting:
            lib.bgm_model_free(ptr)
            _lib.count("model", -1)

    def __del__(self):
        try:
            self._free()
        except Exception:
            pass


class WeightTensor(Tensor):
    """A weight of a model: a Tensor over the model's memory. ``numpy()`` and
    ``tolist()`` copy (as Keras variables do); ``assign`` writes into the model."""

    name = None
    _index = None     # its index among the model's weights

    @property
    def trainable(self):
        """False for moving statistics and for the weights of a frozen layer (as
        its ``trainable`` flag is now; fit follows it from the next compile)."""
        return bool(lib.bgm_model_weight_trainable(self._tape.h, self._index))

    def numpy(self, copy=True):
        return self.copy().numpy()

    def memoryview(self):
        return self.copy().memoryview()

    def __repr__(self):
        if self._ptr is None:
            return "<WeightTensor closed>"
        return "<WeightTensor %s shape=%s%s>" % (self.name, self.shape,
                                                  "" if self.trainable else " non-trainable")


def _weight(owner, i):
    t = owner.wrappers.get(i)
    if t is None:
        ptr = lib.bgm_model_weight(owner.h, i)
        t = WeightTensor._adopt(ptr, owner)
        t.name = lib.bgm_model_weight_name(owner.h, i).decode()
        t._index = i
        owner.wrappers[i] = t
    return t


def weight_tensors(owner, prefix=""):
    """The weights of a model (those whose name starts with prefix), in Keras order."""
    n = lib.bgm_model_num_weights(owner.h)
    out = []
    for i in range(n):
        if prefix and not lib.bgm_model_weight_name(owner.h, i).decode().startswith(prefix):
            continue
        out.append(_weight(owner, i))
    return out


def to_array(t):
    """A copy of t: a numpy array, or nested lists without numpy."""
    return t.numpy() if _compat.np is not None else t.tolist()


def _shape_tuple(dims, n):
    return tuple(dims[i] for i in range(n))


def _node_shape(node):
    """(None, sample shape...) of a node handle, as Keras shows shapes."""
    n = ctypes.c_int()
    return (None,) + _shape_tuple(lib.bgm_node_shape(node, ctypes.byref(n)), n.value)


def _is_texts(x):
    """True for a non-empty list / tuple / numpy array whose entries are all str."""
    np = _compat.np
    if np is not None and isinstance(x, np.ndarray):
        return x.size > 0 and x.dtype.kind in "USO" and all(
            isinstance(v, (str, bytes)) for v in x.reshape(-1).tolist())
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(v, (str, bytes)) or (isinstance(v, (list, tuple)) and
                                                   len(v) == 1 and isinstance(v[0], str))
                   for v in x)
    return False


def _features(x, dtype=float32):
    return as_tensor(x, dtype)


BGM_ARCHIVE_COMPRESS = 1  # bigmodel/io.h
OPTIMIZER_KINDS = {1: _optim.SGD, 2: _optim.Adam, 3: _optim.AdamW, 4: _optim.RMSprop}
_REQUIRED = object()  # _in_order: every input / output needs a value


def _path(path):
    return os.fsencode(os.fspath(path))


# ---- compile's arguments ----------------------------------------------------------------


def _optimizer(optimizer):
    """An Optimizer object this model may take: optimizer itself, or a new one by name."""
    if isinstance(optimizer, str):
        cls = OPTIMIZERS.get(optimizer.lower())
        if cls is None:
            raise InvalidArgumentError("unknown optimizer %r; expected one of %s or a "
                                       "bigmodel.optimizers object"
                                       % (optimizer, ", ".join(sorted(OPTIMIZERS))))
        optimizer = cls()
    elif not isinstance(optimizer, _optim.Optimizer):
        raise InvalidArgumentError("optimizer must be a name or a bigmodel.optimizers "
                                   "object, got %r" % (optimizer,))
    if optimizer._owner is not None:
        raise StateError("this optimizer already belongs to a model; give each model "
                         "(and each compile) its own optimizer")
    optimizer._h  # noqa: B018  (raises for a closed optimizer)
    return optimizer


def _loss_objects(loss):
    """compile's loss with every entry a Loss object, in the structure given (one
    loss, a list, or a dict)."""
    if loss is None:
        raise InvalidArgumentError("compile() needs a loss, e.g. "
                                   "loss=\"sparse_categorical_crossentropy\"")
    if isinstance(loss, dict):
        return {key: _losses.get(value) for key, value in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [_losses.get(value) for value in loss]
    return _losses.get(loss)


def _metric_entry(m):
    """(kind, options) of one metric: options None for a name or a class (the
    library fits them to the output: macro averages for several classes), the
    object's options for a bigmodel.metrics object."""
    if isinstance(m, str):
        if m.lower() not in METRICS:
            raise InvalidArgumentError("unknown metric %r; expected one of %s or a "
                                       "bigmodel.metrics object"
                                       % (m, ", ".join(sorted(METRICS))))
        if m.lower() in _KERAS_NAMED:  # Keras reports these under the name given
            return METRICS[m.lower()], {"name": m.lower()}
        return METRICS[m.lower()], None
    if isinstance(m, _metrics.Metric):
        if m._keras_name:
            return m._kind, dict(m._options, name=m._keras_name)
        return m._kind, m._options
    if isinstance(m, type) and issubclass(m, _metrics.Metric):
        if m.kind is not None and getattr(m, "keras_name", None):
            return m.kind, {"name": m.keras_name}
        return m.kind, None
    if isinstance(m, _metrics.MeanMetricWrapper):
        return None, {"fn": m.fn, "name": m.name}
    if callable(m) and not isinstance(m, (type, _metrics.Mean)):
        return None, {"fn": m, "name": _metrics.MeanMetricWrapper(m).name}
    raise InvalidArgumentError("metrics must be names, bigmodel.metrics objects or "
                               "functions fn(y_true, y_pred), got %r" % (m,))


def _metric_entries(metrics):
    """Entries of None, one metric, or a list of them."""
    if metrics is None:
        return []
    if isinstance(metrics, (list, tuple)):
        return [_metric_entry(m) for m in metrics]
    return [_metric_entry(metrics)]


def _metric_plan(metrics):
    """(entries reported for every output, entries per output or None) from
    compile's metrics in Keras' forms: a list for every output; a dict keyed by
    output name, or a list of lists in output order, per output."""
    if isinstance(metrics, dict):
        return [], {key: _metric_entries(value) for key, value in metrics.items()}
    if isinstance(metrics, (list, tuple)) and any(
            m is None or isinstance(m, (list, tuple, dict)) for m in metrics):
        return [], [_metric_entries(value) for value in metrics]
    return _metric_entries(metrics), None


def _int_array(values):
    return (ctypes.c_int * max(len(values), 1))(*values)


def _sample_weight(w, what="sample_weight"):
    """Keras' sample_weight as a float32 Tensor (None stays None)."""
    if w is None:
        return None
    t = as_tensor(w, float32)
    if t.ndim < 1:
        raise InvalidArgumentError("%s must hold one weight per sample, got a scalar" % what)
    return t


def _weight_handle(t):
    return None if t is None else t._h


def _unpack(x, y, what):
    """x and y of fit / evaluate / the batch functions; a Dataset x gives its
    features and targets (views of its memory, no copy)."""
    if isinstance(x, Dataset):
        if y is not None:
            raise InvalidArgumentError("with a Dataset, the targets come from it: y must "
                                       "be None")
        x, y = x.x, x.y
    if x is None or y is None:
        raise InvalidArgumentError("%s needs x and y (or a Dataset with targets)" % what)
    return x, y


def _samples(tensors):
    t = tensors[0]
    return t.shape[0] if t.ndim else 0


# ---- what every model has -------------------------------------------------------------


_seed_source = None  # a random.Random once bigmodel.utils.set_random_seed ran


def new_seed():
    """A seed for a model made without one: random, or drawn from the generator
    bigmodel.utils.set_random_seed seeded, so that a program repeats itself."""
    if _seed_source is not None:
        return _seed_source.getrandbits(64)
    return int.from_bytes(os.urandom(8), "little")


def _string_out(fn, *args):
    """The text of a snprintf-style library function fn(buf, size, needed, *args)."""
    needed = ctypes.c_size_t()
    fn(None, 0, ctypes.byref(needed), *args)
    buf = ctypes.create_string_buffer(needed.value)
    fn(buf, needed.value, None, *args)
    return buf.value.decode()


def wrap_model(ptr, name=None):
    """The Python model over ptr, a new built model handle (a loaded, cloned or
    from_json model): a bigmodel.Model for a graph, else a Sequential."""
    if lib.bgm_model_class_name(ptr) == b"Functional":
        from .functional import Model
        return Model._from_handle(ptr, name or "functional")
    return Sequential._from_handle(ptr, name or "sequential")


class BaseModel:
    """What Sequential and the functional Model share: summary, weights, compile,
    fit / evaluate / predict / train_on_batch, calls on a tape, files. Data
    comes as one value per input and per output (an array, a list in the
    model's order, or a dict keyed by names); the library's functions for any
    number of inputs and outputs take it. A subclass makes the model's memory
    (``_mem``) and may say how its structures look: ``_input_keys`` /
    ``_output_keys`` (the dict keys the model was built with),
    ``_input_dtypes()``, and ``_pack(values)``, which gives outputs back in the
    structure the user knows."""

    _mem = None
    _input_keys = None
    _output_keys = None

    def _init_state(self, name, seed):
        self._mem = None
        self._weights_cache = None
        self._pending_compile = None
        self._losses = None  # the Loss object of each output, once compiled here
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.name = name
        self.seed = new_seed() if seed is None else int(seed)

    @property
    def _h(self):
        return self._mem.h

    @property
    def built(self):
        return self._mem is not None

    def _ensure_built(self, x=None):
        """Builds the model from the first data it sees, where it can wait for it."""

    # -- lifetime --

    def close(self):
        """Frees the model now; its weights and optimizer objects become unusable."""
        if self._mem is not None:
            self._mem.close()
        self._weights_cache = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what the model is --

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise InvalidArgumentError("no layer named %r (layers: %s)"
                                   % (name, ", ".join(l.name for l in self.layers)))

    def count_params(self):
        return lib.bgm_model_num_params(self._h)

    def summary(self, print_fn: Optional[Callable[[str], Any]] = None) -> None:
        """Prints Keras' summary table to sys.stdout (or print_fn(line) per line)."""
        text = self.summary_text()
        if print_fn is not None:
            for line in text.rstrip("\n").split("\n"):
                print_fn(line)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    def summary_text(self):
        """The summary table (the library's) as a string, headed by the model's name."""
        h = self._h
        needed = ctypes.c_size_t()
        lib.bgm_model_summary_string(None, 0, ctypes.byref(needed), h)
        buf = ctypes.create_string_buffer(needed.value)
        lib.bgm_model_summary_string(buf, needed.value, None, h)
        text = buf.value.decode("utf-8", "replace")
        return re.sub(r'\AModel: "[^"\n]*"', lambda m: 'Model: "%s"' % self.name, text,
                      count=1)

    # -- weights --

    @property
    def weights(self):
        """Every weight tensor in Keras order (kernel, bias per layer; BatchNorm's
        gamma, beta, moving mean and variance)."""
        if self._mem is None:
            return []
        if self._weights_cache is None:
            self._weights_cache = weight_tensors(self._mem)
        return list(self._weights_cache)

    @property
    def trainable(self):
        """Keras' model.trainable. Setting it sets every layer's ``trainable``
        (layers may be unfrozen one by one afterwards); fit follows the flags from
        the next compile, ``trainable_variables`` and the summary at once."""
        return getattr(self, "_trainable", True)

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        if self._mem is not None:
            lib.bgm_model_set_trainable(self._h, int(value))
        for layer in self.layers:   # a Sequential's pending layers too
            layer.trainable = value
        self._trainable = value

    @property
    def trainable_variables(self):
        """The trainable weights, in the order the library trains them: pass them
        to tape.gradient and optimizer.apply_gradients in a custom loop. Frozen
        layers' weights (``layer.trainable = False``) are left out."""
        return [w for w in self.weights if w.trainable]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        return [w for w in self.weights if not w.trainable]

    non_trainable_weights = non_trainable_variables

    def get_weights(self):
        """Copies of every weight (numpy arrays, or nested lists without numpy)."""
        return [to_array(w) for w in self.weights]

    def set_weights(self, weights):
        """Overwrites every weight, in get_weights order (shapes must match)."""
        mine = self.weights
        weights = list(weights)
        if len(weights) != len(mine):
            raise InvalidArgumentError("the model has %d weights, set_weights got %d"
                                       % (len(mine), len(weights)))
        for w, value in zip(mine, weights):
            w.assign(value)

    # -- inputs and outputs --

    @property
    def _num_inputs(self):
        return lib.bgm_model_num_inputs(self._h)

    @property
    def _num_outputs(self):
        return lib.bgm_model_num_outputs(self._h)

    @property
    def input_names(self):
        """The inputs' names, in order: keys of a dict of input arrays."""
        h = self._h
        return [lib.bgm_node_name(lib.bgm_model_input(h, i)).decode()
                for i in range(self._num_inputs)]

    @property
    def output_names(self):
        """Keras' names of the outputs, in order: each output's layer name, with
        "_1", "_2", ... where outputs come from one layer. They key a dict of
        targets and compile's per-output losses, weights and metrics, and name
        the logs' values ("<output>_loss", "<output>_accuracy")."""
        h = self._h
        n = self._num_outputs
        if self.compiled:
            return [lib.bgm_model_output_name(h, j).decode() for j in range(n)]
        names = []  # not compiled yet: the library's rule (bgm_model_output_name)
        for j in range(n):
            base = name = lib.bgm_node_name(lib.bgm_model_output(h, j)).decode()
            k = 0
            while name in names:
                k += 1
                name = "%s_%d" % (base, k)
            names.append(name)
        return names

    def _input_dtypes(self):
        h = self._h
        return [_DTYPE_NAME[lib.bgm_node_dtype(lib.bgm_model_input(h, i))]
                for i in range(self._num_inputs)]

    def _in_order(self, values, outputs, what, missing=_REQUIRED):
        """values given per input (per output when outputs): a list in the
        model's order, or a dict keyed by the keys the model was built with or by
        the names; as a list in the model's order. A dict may leave out inputs or
        outputs when missing is given: they get missing."""
        names = self.output_names if outputs else self.input_names
        keys = (self._output_keys if outputs else self._input_keys) or names
        kind = ("output" if outputs else "input") + ("" if len(names) == 1 else "s")
        if not isinstance(values, dict):
            values = list(values)
            if len(values) != len(names):
                raise InvalidArgumentError("%s: %d values for the model's %d %s (%s)" % (
                    what, len(values), len(names), kind,
                    ", ".join(repr(n) for n in names)))
            return values
        picked, used = [], set()
        for key, name in zip(keys, names):
            key = key if key in values else name
            if key in values:
                picked.append(values[key])
                used.add(key)
            elif missing is not _REQUIRED:
                picked.append(missing)
            else:
                raise InvalidArgumentError("%s: no value for %r (the dict's keys: %s)" % (
                    what, key, ", ".join(repr(k) for k in values)))
        extra = [k for k in values if k not in used]
        if extra:
            raise InvalidArgumentError("%s: %s matches none of the model's %s (%s)" % (
                what, ", ".join(repr(k) for k in extra), kind,
                ", ".join(repr(k) for k in keys)))
        return picked

    def _values(self, data, outputs, what):
        """One value per input (or output) from data: a value for a model of one,
        a list, or a dict (see _in_order)."""
        n = self._num_outputs if outputs else self._num_inputs
        if isinstance(data, dict) or (isinstance(data, (list, tuple)) and (
                n > 1 or (len(data) == 1 and hasattr(data[0], "shape")))):
            return self._in_order(data, outputs, what)
        if n > 1:
            names = self.output_names if outputs else self.input_names
            raise InvalidArgumentError(
                "%s: the model has %d %s: give a list of arrays or a dict keyed by their "
                "names (%s)" % (what, n, "outputs" if outputs else "inputs",
                                ", ".join(repr(name) for name in names)))
        return [data]

    def _input_tensors(self, x):
        """One Tensor per input from x, of the input's dtype; raw strings for a
        model that starts with TextVectorization."""
        if self._takes_strings():
            return [self._vectorize(x)]
        return [_features(a, dtype)
                for a, dtype in zip(self._values(x, False, "x"), self._input_dtypes())]

    def _takes_strings(self):
        """True when the model's only input goes to a TextVectorization layer."""
        return self._num_inputs == 1 and any(
            layer.kind == "TextVectorization" for layer in self.layers
            if getattr(layer, "_ptr", None) is not None)

    def _vectorize(self, x):
        """The model's input Tensor for x, a list / numpy array of str."""
        if isinstance(x, Tensor) or not _is_texts(x):
            raise InvalidArgumentError(
                "this model starts with TextVectorization, so it takes raw strings (a "
                "list or numpy array of str), got %s" % type(x).__name__)
        arr, n = _layers.texts_array(x, "x")
        out = ctypes.c_void_p()
        lib.bgm_model_vectorize_strings(ctypes.byref(out), self._h, arr, n)
        return Tensor._adopt(out.value)

    def _target_tensors(self, y):
        """One Tensor per output from y (see _targets)."""
        return [self._targets(a, j) for j, a in enumerate(self._values(y, True, "y"))]

    def _targets(self, y, j=0):
        """Targets of output j as a Tensor: integer targets of a loss other than the
        sparse cross-entropy become float32 (0/1 labels, one-hot rows)."""
        t = as_tensor(y)
        if t.dtype != int32:
            return t
        if self._losses is not None:
            ids = self._losses[j].kind in (_losses.SPARSE_CE, _losses.CUSTOM)
        elif self._mem is not None and self.compiled:
            # A loaded model's losses are not known here: integer targets shaped like
            # the output (0/1 labels of one unit, one-hot rows) are float targets;
            # class ids of a several-unit output stay int32.
            out = _node_shape(lib.bgm_model_output(self._h, j))[1:]
            sample = t.shape[1:]
            ids = not (sample == out or (out == (1,) and sample == ()))
        else:
            return t
        return t if ids else as_tensor(t, float32)

    # -- compiling --

    def compile(self,
                optimizer: Union[str, "_optim.Optimizer"] = "rmsprop",
                loss: Union[None, LossSpec, Sequence[LossSpec], Mapping[str, LossSpec]] = None,
                metrics: Union[None, Sequence[Any], Mapping[str, Any]] = None,
                loss_weights: Union[None, Sequence[float], Mapping[str, float]] = None,
                from_logits: Optional[bool] = None,
                weighted_metrics: Union[None, Sequence[Any], Mapping[str, Any]] = None
                ) -> None:
        """Configures the model for training (Keras' compile).

        optimizer: a name ("adam", "sgd", "rmsprop", "adamw") or a
            bigmodel.optimizers object, which the model then owns.
        loss: a name, a bigmodel.losses object or a function fn(y_true,
            y_pred) of bigmodel.ops (Keras' custom loss: one value per sample
            or a scalar), for every output; or one per output, as a list in
            output order or a dict keyed by output name (``model.output_names``).
        metrics: names ("accuracy", "mae", ...), bigmodel.metrics classes or
            objects (objects, and the accuracy names Keras reports as given,
            such as "sparse_categorical_accuracy", keep their options and names
            and report after the others), or functions fn(y_true, y_pred) of bigmodel.ops returning
            one value per sample (Keras' custom metrics, averaged over the
            epoch's samples, named fn.__name__):
            a list reported for every output, or per output a dict
            {output name: metric or list} or a list of lists in output order.
        loss_weights: a list or dict of floats >= 0: fit minimizes
            sum(loss_weights[j] * loss_j) (an output left out of a dict
            weighs 1).
        from_logits: overrides the from_logits of the cross-entropy losses
            (True: the model outputs logits, no final softmax / sigmoid).
        weighted_metrics: metrics in the forms of metrics, weighed by the
            sample weights (sample_weight, class_weight, or a generator's
            (x, y, sample_weight) batches): sum(w * value) / sum(w), as Keras
            3; reported after metrics, under the same names unless taken,
            then as "weighted_<name>". Accuracy, top-k accuracy, MSE, MAE
            and functions can be weighted.

        With several outputs fit and evaluate report "loss" (the weighted
        total), "<output>_loss" per output (unweighted) and
        "<output>_<metric>" ("cls_accuracy"), as Keras names them."""
        loss, metrics = _loss_objects(loss), _metric_plan(metrics)
        args = (_optimizer(optimizer), loss, metrics, loss_weights, from_logits,
                _metric_plan(weighted_metrics))
        if self._mem is None:
            self._pending_compile = args  # compiled when the model is built
            self.optimizer = args[0]
            return
        self._compile(*args)

    def _compile(self, optimizer, loss, metrics, loss_weights, from_logits,
                 weighted=([], None)):
        mem, n = self._mem, self._num_outputs
        losses = (self._in_order(loss, True, "loss") if isinstance(loss, (list, dict))
                  else [loss] * n)
        if from_logits is None:
            logits = [l.from_logits for l in losses]
        else:  # the cross-entropy losses (all of them when there are none: an error)
            ce = [l.kind not in (_losses.MSE, _losses.MAE, _losses.CUSTOM) for l in losses]
            logits = [bool(from_logits) and (c or not any(ce)) for c in ce]
        every, each = metrics
        each = ([[]] * n if each is None
                else self._in_order(each, True, "metrics", missing=[]))
        opts = _lib.CompileOptions()
        lib.bgm_compile_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.num_outputs = n
        opts.output_losses = _int_array([l.kind for l in losses])
        opts.output_from_logits = _int_array([1 if f else 0 for f in logits])
        if loss_weights is not None:
            if not isinstance(loss_weights, (list, tuple, dict)):
                raise InvalidArgumentError("loss_weights must be a list or a dict of floats "
                                           "(one per output), got %r" % (loss_weights,))
            weights = self._in_order(loss_weights, True, "loss_weights", missing=1.0)
            opts.loss_weights = (ctypes.c_float * n)(*[float(w) for w in weights])
        kinds = [k for k, o in every if o is None]
        opts.metrics, opts.num_metrics = _int_array(kinds), len(kinds)
        own = [[k for k, o in entries if o is None] for entries in each]
        if any(own):
            opts.output_metrics = (_lib.IP * n)(*[_int_array(k) for k in own])
            opts.output_num_metrics = _int_array([len(k) for k in own])
        h = optimizer._give_to(mem)
        try:
            with _log.warnings_of(mem.h, stacklevel=4):
                lib.bgm_model_compile_v2(mem.h, h, ctypes.byref(opts))
        except BaseException:
            optimizer._detach()  # the library freed it
            raise
        _userfns.set_losses(mem, losses)
        old = self.optimizer
        if old is not None and old is not optimizer and old._owner is mem:
            old._detach()        # replaced and freed by the library
        mem.optimizers.add(optimizer)
        if optimizer._schedule is not None:
            mem.keep.append(optimizer._schedule)
        self.optimizer, self.loss, self._losses = optimizer, loss, losses
        mem.metric_bridges = []
        for j, entries in [(None, every)] + list(enumerate(each)):
            for kind, options in entries:
                if options is not None:
                    self._add_metric(j, kind, options)
        self._add_weighted_metrics(*weighted)

    def _add_metric(self, j, kind, options):
        """Adds a metric of compile's metrics (kind None: a function) for output
        j, or every output when j is None."""
        mem = self._mem
        if kind is None:  # a function (Keras' MeanMetricWrapper)
            _userfns.add_metric(mem, -1 if j is None else j, options["fn"], options["name"])
            return
        options = dict(options or {})
        name = options.pop("name", None)
        first = lib.bgm_model_num_metrics(mem.h)
        mo = _metrics._options(**options)
        if j is None:
            lib.bgm_model_add_metric(mem.h, kind, ctypes.byref(mo))
        else:
            lib.bgm_model_add_output_metric(mem.h, j, kind, ctypes.byref(mo))
        if name:
            self._name_metrics(first, j, name)

    def _add_weighted_metrics(self, every, each):
        """Adds compile's weighted_metrics after the others, each marked weighted
        and named as Keras 3 names them: as a plain metric would be, or
        "weighted_<name>" ("<output>_weighted_<name>") when that name is taken."""
        h, n = self._h, self._num_outputs
        each = [] if each is None else self._in_order(each, True, "weighted_metrics",
                                                      missing=[])
        for j, entries in [(None, every)] + list(enumerate(each)):
            for kind, options in entries:
                taken = set(self.metrics_names)
                first = lib.bgm_model_num_metrics(h)
                self._add_metric(j, kind, options)
                for i in range(first, lib.bgm_model_num_metrics(h)):
                    lib.bgm_model_set_metric_weighted(h, i, 1)
                    name = lib.bgm_model_metric_name(h, i).decode()
                    base = re.match(r"^(.*)_\d+$", name)
                    if base is None or base.group(1) not in taken:
                        continue
                    out = j if j is not None else i - first
                    prefix = ("%s_" % lib.bgm_model_output_name(h, out).decode()
                              if n > 1 else "")
                    lib.bgm_model_set_metric_name(
                        h, i, (prefix + "weighted_" + base.group(1)[len(prefix):]).encode())

    def _name_metrics(self, first, j, name):
        """Gives the values added from index first (for output j, or every output
        when j is None) Keras' name: name, or "<output>_<name>" with several outputs."""
        h = self._h
        n = self._num_outputs
        for i in range(first, lib.bgm_model_num_metrics(h)):
            out = j if j is not None else i - first
            full = name if n == 1 else "%s_%s" % (
                lib.bgm_model_output_name(h, out).decode(), name)
            if lib.bgm_model_metric_name(h, i).decode() != full:
                lib.bgm_model_set_metric_name(h, i, full.encode())

    @property
    def compiled(self):
        return self._mem is not None and lib.bgm_model_optimizer(self._mem.h) is not None

    @property
    def metrics_names(self):
        """Names of evaluate's values: "loss", the loss of each output when there
        are several ("<output>_loss"), then the metrics."""
        if self._mem is None:
            return []
        h = self._h
        return [lib.bgm_model_metric_name(h, i).decode()
                for i in range(lib.bgm_model_num_metrics(h))]

    # -- training --

    def fit(self, x: Union[Data, Dataset, Any] = None, y: Optional[Data] = None,
            batch_size: Optional[int] = None, epochs: int = 1,
            verbose: Union[int, str] = "auto",
            callbacks: Optional[Sequence["_callbacks.Callback"]] = None,
            validation_split: float = 0.0,
            validation_data: Union[None, tuple, Dataset, Any] = None,
            shuffle: bool = True, class_weight: Optional[Mapping[int, float]] = None,
            sample_weight: Optional[ArrayLike] = None, initial_epoch: int = 0,
            steps_per_epoch: Optional[int] = None,
            validation_steps: Optional[int] = None,
            gradient_accumulation_steps: int = 1,
            allreduce_bucket_bytes: int = 0) -> "_callbacks.History":
        """Trains for epochs - initial_epoch epochs; returns a History (also kept in
        model.history) whose keys are the logs' names: "loss", "accuracy",
        "val_loss", ..., and with several outputs "<output>_loss",
        "<output>_accuracy", "val_<output>_loss", ...

        x, y: arrays / Tensors; for several inputs or outputs a list in the
            model's order or a dict keyed by input / output names; or x a
            Dataset with targets (y None).
        validation_data: (x_val, y_val) or (x_val, y_val, val_sample_weight)
            in the same forms, or a Dataset; it overrides validation_split (the
            last fraction of the samples, taken before shuffling, with their
            sample weights).
        sample_weight: Keras' per-sample weights, (N,) or (N, T) per step of a
            sequence output: the loss of a batch is sum(w * l) / l.size
            ("sum_over_batch_size"); metrics stay unweighted (Keras' metrics=).
        class_weight: a dict {class id: weight} for a model of one output
            (classes left out weigh 1); not with sample_weight.
        verbose: 0 silent, 1 or "auto" a progress bar (one line per epoch when
            sys.stdout is not a terminal), 2 one line per epoch.
        gradient_accumulation_steps: k batches make one optimizer step (their
            gradients summed, each weighing its samples, then averaged), so k
            batches of b train as one of k * b (Keras 3 sets it on the
            optimizer); an epoch's last batches that make no whole group are
            one smaller step. With a communicator the ranks all-reduce once
            per group.
        allreduce_bucket_bytes: with a communicator (bigmodel.distributed),
            the size of a bucket of gradients (PyTorch DDP's bucket_cap_mb, in
            bytes): each bucket's all-reduce starts as soon as backward has
            finished its gradients, while backward goes on. 0: 25 MiB. Every
            rank gives the same value.

        A NaN or infinite loss or gradient raises NonFiniteError (naming epoch,
        step and the loss or weight) with the weights of the last finite step
        kept, unlike Keras, which goes on; with callbacks.TerminateOnNaN (or a
        callback that sets stop_training at that batch) fit ends normally.

        x may also be a source of batches: a generator or other iterator of
        (x, y) or (x, y, sample_weight) tuples, a bigmodel.data.PyDataset, or a
        Dataset pipeline (Dataset.batch(...)...); class_weight then weighs its
        batches by their targets (not with batches of sample weights). Its
        batches are used as they come (shuffle
        does not apply, batch_size only to validation arrays); each epoch
        takes steps_per_epoch batches (None: until the source ends),
        continuing where the previous epoch
        stopped; validation_data may be such a source too, read for
        validation_steps batches (None: all) after every epoch."""
        if is_batch_source(x):
            if y is not None:
                raise InvalidArgumentError("fit(): with a generator or pipeline x, the "
                                           "targets come from its batches: y must be None")
            if sample_weight is not None:
                raise InvalidArgumentError("fit(): sample_weight is not supported with a "
                                           "generator or pipeline x: its batches give "
                                           "(x, y, sample_weight)")
            return self._fit_stream(x, batch_size, epochs, verbose, callbacks, validation_data,
                                    initial_epoch, steps_per_epoch, validation_steps,
                                    class_weight, gradient_accumulation_steps,
                                    allreduce_bucket_bytes)
        self._ensure_built(x)
        x, y = _unpack(x, y, "fit()")
        txs, tys = self._input_tensors(x), self._target_tensors(y)
        verbose = 1 if verbose == "auto" else int(verbose)
        batch = 32 if batch_size is None else int(batch_size)
        opts = _lib.FitOptions()
        lib.bgm_fit_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.epochs, opts.batch_size = int(epochs), batch
        opts.shuffle, opts.initial_epoch = 1 if shuffle else 0, int(initial_epoch)
        opts.verbose = verbose
        opts.gradient_accumulation_steps = int(gradient_accumulation_steps)
        opts.allreduce_bucket_bytes = int(allreduce_bucket_bytes)
        sw = _sample_weight(sample_weight)
        opts.sample_weight = _weight_handle(sw)
        if class_weight is not None:
            opts.class_weight, opts.num_class_weights = self._class_weights(class_weight)
        n = n_train = _samples(txs)
        if validation_data is not None:
            if is_batch_source(validation_data):
                raise InvalidArgumentError("fit(): validation_data is a generator or "
                                           "pipeline: give x as one too (or validation "
                                           "arrays)")
            kept = self._validation_arrays(opts, validation_data)  # noqa: F841
        else:
            opts.validation_split = float(validation_split)
            if validation_split > 0:
                n_train = math.floor(n * (1.0 - validation_split))
        comm = getattr(self, "_comm", None)
        if comm is not None:  # each rank trains on its share (docs/distributed.md)
            n_train //= max(1, comm.size)
        steps = max(1, -(-n_train // batch)) if batch > 0 else 1

        def call(hist):
            lib.bgm_model_fit_multi(ctypes.byref(hist), self._h, _handles(txs), len(txs),
                                    _handles(tys), len(tys), ctypes.byref(opts))
        return self._run_fit(opts, callbacks, verbose, steps, epochs, call)

    def _fit_stream(self, x, batch_size, epochs, verbose, callbacks, validation_data,
                    initial_epoch, steps_per_epoch, validation_steps, class_weight=None,
                    gradient_accumulation_steps=1, allreduce_bucket_bytes=0):
        """fit on a source of batches, through bgm_model_fit_stream (batch_size:
        the batches of validation arrays)."""
        verbose = 1 if verbose == "auto" else int(verbose)
        opts = _lib.FitOptions()
        lib.bgm_fit_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        if batch_size is not None:
            opts.batch_size = int(batch_size)
        opts.epochs, opts.initial_epoch, opts.verbose = int(epochs), int(initial_epoch), verbose
        opts.gradient_accumulation_steps = int(gradient_accumulation_steps)
        opts.allreduce_bucket_bytes = int(allreduce_bucket_bytes)
        if class_weight is not None:
            opts.class_weight, opts.num_class_weights = self._class_weights(class_weight)
        streams = [BatchStream(x, self, "fit()", steps=steps_per_epoch,
                               steps_name="steps_per_epoch")]
        try:
            vsrc = validation_data
            if vsrc is not None and is_batch_source(vsrc):
                streams.append(BatchStream(vsrc, self, "fit() validation_data",
                                           steps=validation_steps,
                                           steps_name="validation_steps"))
            elif vsrc is not None:
                kept = self._validation_arrays(opts, vsrc)  # noqa: F841
            val = streams[1]._h if len(streams) > 1 else None

            def call(hist):
                lib.bgm_model_fit_stream(ctypes.byref(hist), self._h, streams[0]._h,
                                         int(steps_per_epoch or 0), val,
                                         int(validation_steps or 0), ctypes.byref(opts))
            return self._run_fit(opts, callbacks, verbose, steps_of(x, steps_per_epoch),
                                 epochs, call, streams)
        finally:
            for st in streams:
                st.close()

    def _validation_arrays(self, opts, validation_data):
        """Puts validation_data ((x_val, y_val), (x_val, y_val, val_sample_weight)
        or a Dataset) into opts; returns the tensors, which must stay alive until
        fit returns."""
        vsw = None
        if isinstance(validation_data, Dataset):
            vx, vy = _unpack(validation_data, None, "validation_data")
        elif isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
            vx, vy = validation_data[:2]
            if len(validation_data) == 3:
                vsw = _sample_weight(validation_data[2], "validation sample_weight")
        else:
            raise InvalidArgumentError("validation_data must be (x_val, y_val), (x_val, "
                                       "y_val, val_sample_weight), a Dataset or (with x a "
                                       "generator) a generator / pipeline")
        vxs, vys = self._input_tensors(vx), self._target_tensors(vy)
        opts.validation_xs, opts.num_validation_xs = _handles(vxs), len(vxs)
        opts.validation_ys, opts.num_validation_ys = _handles(vys), len(vys)
        opts.validation_sample_weight = _weight_handle(vsw)
        return vxs, vys, vsw

    def _run_fit(self, opts, callbacks, verbose, steps, epochs, call, streams=()):
        """Runs call(hist) (the library's fit with opts) with the Python side of
        fit around it: callbacks, progress, Ctrl-C, the history, and the
        exceptions raised in Python code the library called."""
        out = sys.stdout
        tty = bool(out is not None and getattr(out, "isatty", None) and out.isatty())
        run = FitRun(self, list(callbacks or []), verbose, steps, int(epochs), tty)
        opts.output = run.write_fn
        opts.callbacks, opts.num_callbacks = run.handles, run.num_handles
        opts.cancel = ctypes.pointer(run.cancel)
        self.stop_training = False
        self.history = run.history
        hist = ctypes.c_void_p()
        failure = None
        try:
            with CancelOnSigint(run.cancel) as sigint, _log.warnings_of(self._h):
                try:
                    call(hist)
                except BigmodelError as exc:
                    failure = exc
            run.end_line()
        finally:
            run.close()
        for st in streams:
            if st.error is not None:
                st.raise_pending(failure)
        if sigint.hit:
            run.interrupted = True
        history = run.history
        if hist.value:
            history = self._history_from(hist.value, history)
            self.history = history
        _userfns.raise_pending(self._mem, failure)
        error = run.pending_error()
        if error is not None:
            if failure is not None and not isinstance(failure, CancelledError):
                raise error from failure
            raise error
        if run.interrupted:
            done = len(history.epoch)
            interrupt = KeyboardInterrupt(
                "fit interrupted%s; model.history holds the %d completed epoch%s" % (
                    ": " + failure.message if isinstance(failure, CancelledError) else "",
                    done, "" if done == 1 else "s"))
            interrupt.history = history
            raise interrupt
        if failure is not None:
            raise failure
        return history

    def _history_from(self, ptr, partial):
        try:
            h = _callbacks.History(params=partial.params, model=self)
            epochs = lib.bgm_history_num_epochs(ptr)
            h.epoch = [lib.bgm_history_epoch(ptr, i) for i in range(epochs)]
            for k in range(lib.bgm_history_num_keys(ptr)):
                key = lib.bgm_history_key(ptr, k)
                values = lib.bgm_history_values(ptr, key)
                h.history[key.decode()] = [values[i] for i in range(epochs)]
            return h
        finally:
            lib.bgm_history_free(ptr)

    def _on_data(self, fn, x, y, what, *args):
        """The values (metrics_names order) of fn, a library function taking
        results, the model and one tensor per input and per output, on x, y."""
        self._ensure_built(x)
        x, y = _unpack(x, y, what + "()")
        txs, tys = self._input_tensors(x), self._target_tensors(y)
        n = lib.bgm_model_num_metrics(self._h)
        results = (ctypes.c_double * max(n, 1))()
        try:
            fn(results, max(n, 1), self._h, _handles(txs), len(txs), _handles(tys), len(tys),
               *args)
        except BigmodelError as exc:
            _userfns.raise_pending(self._mem, exc)
            raise
        _userfns.raise_pending(self._mem)
        return list(results[:n])

    def _class_weights(self, class_weight):
        """(float array, count) of Keras' class_weight dict for the library: one
        weight per class of the (single) output, 1 for classes left out."""
        if not isinstance(class_weight, dict):
            raise InvalidArgumentError("class_weight must be a dict {class id: weight}, got %r"
                                       % (class_weight,))
        if self._num_outputs != 1:
            raise InvalidArgumentError("class_weight is only supported for models of one "
                                       "output (as Keras); use sample_weight")
        columns = _node_shape(lib.bgm_model_output(self._h, 0))[-1]
        classes = columns if columns > 1 else 2
        weights = [1.0] * classes
        for key, value in class_weight.items():
            if isinstance(key, bool) or not isinstance(key, numbers.Integral):
                raise InvalidArgumentError("class_weight keys are class ids (ints), got %r"
                                           % (key,))
            if not 0 <= int(key) < classes:
                raise InvalidArgumentError("class_weight names class %d; the output has %d "
                                           "classes (0 to %d)" % (int(key), classes,
                                                                  classes - 1))
            weights[int(key)] = float(value)
        return (ctypes.c_float * classes)(*weights), classes

    def _report(self, values, return_dict):
        """Keras' form of evaluate's values: the loss alone when there is nothing
        else, else a list; a dict keyed by metrics_names with return_dict."""
        if return_dict:
            return dict(zip(self.metrics_names, values))
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x: Data, y: Optional[Data] = None,
                       sample_weight: Optional[ArrayLike] = None,
                       class_weight: Optional[Mapping[int, float]] = None,
                       return_dict: bool = False
                       ) -> Union[float, List[float], Dict[str, float]]:
        """One training step on the batch x, y (all of it, in order), exactly the
        step fit takes on a batch; returns the loss and metrics of this batch
        (as evaluate does; Keras' reset_metrics=True). x, y, sample_weight and
        class_weight as for fit. A NaN or infinite loss or gradient raises
        NonFiniteError and leaves the weights as they were."""
        sw = _sample_weight(sample_weight)
        cw, ncw = (None, 0) if class_weight is None else self._class_weights(class_weight)
        return self._report(self._on_data(lib.bgm_model_train_on_batch_weighted, x, y,
                                          "train_on_batch", _weight_handle(sw), cw, ncw),
                            return_dict)

    def test_on_batch(self, x: Data, y: Optional[Data] = None,
                      sample_weight: Optional[ArrayLike] = None, return_dict: bool = False
                      ) -> Union[float, List[float], Dict[str, float]]:
        """The loss and metrics of the batch x, y taken as one batch, in inference
        mode (evaluate's values); x, y and sample_weight as for fit."""
        sw = _sample_weight(sample_weight)
        return self._report(self._on_data(lib.bgm_model_test_on_batch_weighted, x, y,
                                          "test_on_batch", _weight_handle(sw)), return_dict)

    def predict_on_batch(self, x: Union[Data, Dataset]
                         ) -> Union[ArrayLike, List[ArrayLike], Dict[str, ArrayLike]]:
        """The outputs for the batch x, run as one batch in inference mode
        (Keras' predict_on_batch): predict with batch_size = len(x)."""
        if isinstance(x, Dataset):
            raise InvalidArgumentError("predict_on_batch takes one batch of arrays, not a "
                                       "Dataset: use predict")
        self._ensure_built(x)
        txs = self._input_tensors(x)
        n = self._num_outputs
        outs = (ctypes.c_void_p * n)()
        lib.bgm_model_predict_on_batch(outs, n, self._h, _handles(txs), len(txs))
        outs = [Tensor._adopt(p) for p in outs]
        return self._pack([t.numpy() if _compat.np is not None else t for t in outs])

    # -- inference --

    def evaluate(self, x: Union[Data, Dataset, Any] = None, y: Optional[Data] = None,
                 batch_size: Optional[int] = None, verbose: int = 0,
                 sample_weight: Optional[ArrayLike] = None, return_dict: bool = False,
                 steps: Optional[int] = None
                 ) -> Union[float, List[float], Dict[str, float]]:
        """Loss and metrics in inference mode, in metrics_names order: the loss
        alone when there is nothing else, else a list ([loss, <output>_loss...,
        metrics...]); a dict keyed by those names with return_dict=True. x, y and
        sample_weight as for fit (each batch's loss sum(w * l) / l.size, averaged
        over the samples; x also a generator / pipeline of (x, y) or (x, y,
        sample_weight) batches, read for steps batches, None: all). verbose=1
        prints them on one line."""
        if is_batch_source(x):
            if sample_weight is not None:
                raise InvalidArgumentError("evaluate(): sample_weight is not supported with "
                                           "a generator or pipeline x: its batches give "
                                           "(x, y, sample_weight)")
            values = self._evaluate_stream(x, y, steps)
        else:
            sw = _sample_weight(sample_weight)
            values = self._on_data(lib.bgm_model_evaluate_weighted, x, y, "evaluate",
                                   _weight_handle(sw),
                                   0 if batch_size is None else int(batch_size))
        if verbose:
            sys.stdout.write(" - ".join("%s: %.4f" % kv
                                        for kv in zip(self.metrics_names, values)) + "\n")
        return self._report(values, return_dict)

    def _evaluate_stream(self, x, y, steps):
        if y is not None:
            raise InvalidArgumentError("evaluate(): with a generator or pipeline x, the "
                                       "targets come from its batches: y must be None")
        st = BatchStream(x, self, "evaluate()", steps=steps)
        try:
            n = lib.bgm_model_num_metrics(self._h)
            results = (ctypes.c_double * max(n, 1))()
            try:
                lib.bgm_model_evaluate_stream(results, max(n, 1), self._h, st._h,
                                              int(steps or 0))
            except BigmodelError as exc:
                st.raise_pending(exc)
            return list(results[:n])
        finally:
            st.close()

    def _predict_stream(self, x, steps):
        st = BatchStream(x, self, "predict()", with_y=False, steps=steps)
        try:
            n = self._num_outputs
            outs = (ctypes.c_void_p * n)()
            try:
                lib.bgm_model_predict_stream(outs, n, self._h, st._h, int(steps or 0))
            except BigmodelError as exc:
                st.raise_pending(exc)
            return [Tensor._adopt(p) for p in outs]
        finally:
            st.close()

    def _predict_tensors(self, txs, batch):
        """New Tensors, one per output, for the input tensors txs at inference."""
        n = self._num_outputs
        outs = (ctypes.c_void_p * n)()
        lib.bgm_model_predict_multi(outs, n, self._h, _handles(txs), len(txs), batch)
        return [Tensor._adopt(p) for p in outs]

    def predict(self, x: Union[Data, Dataset, Any], batch_size: Optional[int] = None,
                verbose: int = 0, steps: Optional[int] = None
                ) -> Union[ArrayLike, List[ArrayLike], Dict[str, ArrayLike]]:
        """Outputs for x in inference mode: a numpy array (a Tensor without numpy)
        per output, in the structure of the model's outputs (several: a list, or
        a dict). x: an array, a list / dict of arrays for several inputs, a
        Dataset, or a generator / pipeline of batches (x, or (x, y) whose y is
        not used), read for steps batches (None: all)."""
        if is_batch_source(x):
            outs = self._predict_stream(x, steps)
            return self._pack([t.numpy() if _compat.np is not None else t for t in outs])
        if isinstance(x, Dataset):
            x = x.x
        self._ensure_built(x)
        outs = self._predict_tensors(self._input_tensors(x),
                                     0 if batch_size is None else int(batch_size))
        return self._pack([t.numpy() if _compat.np is not None else t for t in outs])

    def generate(self, prompt, max_new_tokens=64, temperature=1.0, top_k=0, top_p=1.0,
                 seed=0, stop_tokens=None, callback=None, use_cache=True):
        """Token ids sampled after prompt by this language model (int32 (T,) in,
        (T, vocab) logits out): see bigmodel.generation.generate."""
        from .generation import generate
        return generate(self, prompt, max_new_tokens, temperature, top_k, top_p, seed,
                        stop_tokens, callback, use_cache)

    def __call__(self, x, training=False):
        """The model on one batch. Under an active GradientTape (or with
        training=True) the run is recorded, and tape.gradient(loss,
        model.trainable_variables) differentiates it; training=True runs Dropout
        and BatchNormalization in training mode."""
        items = x if isinstance(x, (list, tuple)) else [x]
        if any(isinstance(item, KerasTensor) for item in items):
            raise InvalidArgumentError("calling a model on KerasTensors (a model inside "
                                       "another) is not supported: call its layers")
        self._ensure_built(x)
        txs = self._input_tensors(x)
        memory = recording_memory()
        if memory is None and not training:
            return self._pack(self._predict_tensors(txs, max(_samples(txs), 1)))
        if memory is None:
            memory = _TapeMemory()
        n = self._num_outputs
        outs = (ctypes.c_void_p * n)()
        lib.bgm_model_forward_multi(outs, n, self._h, memory.ptr, _handles(txs), len(txs),
                                    1 if training else 0)
        memory.borrow(txs)
        memory.keep.append(self._mem)
        self._mem.recordings.add(memory)
        return self._pack([Tensor._adopt(p, memory) for p in outs])

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        """The compiled loss of y_pred against y, recorded on the active tape
        (Keras' model.compute_loss): for several outputs the weighted total
        sum(loss_weights[j] * loss_j) fit minimizes, plus the L2 penalties. y and
        y_pred: one value per output, as a list or a dict (y_pred as model(x)
        returns it); sample_weight as for fit."""
        if y is None or y_pred is None:
            raise InvalidArgumentError("compute_loss needs y and y_pred")
        tys = self._target_tensors(y)
        preds = [as_tensor(p) for p in self._values(y_pred, True, "y_pred")]
        sw = _sample_weight(sample_weight)
        memory = recording_memory() or _TapeMemory()
        out = ctypes.c_void_p()
        try:
            lib.bgm_model_compute_loss_weighted(ctypes.byref(out), self._h, memory.ptr,
                                                _handles(tys), len(tys), _handles(preds),
                                                len(preds), _weight_handle(sw))
        except BigmodelError as exc:
            _userfns.raise_pending(self._mem, exc)
            raise
        _userfns.hand_over(self._mem, memory.ptr, memory)
        memory.borrow(tys + preds + ([sw] if sw is not None else []))
        memory.keep.append(self._mem)
        self._mem.recordings.add(memory)
        return Tensor._adopt(out.value, memory)

    # -- files --

    def save(self, path: Union[str, os.PathLike], compress: bool = False) -> None:
        """Writes the whole model (architecture, weights, optimizer state,
        generator, epochs completed) to path, a .bgm model file, atomically;
        compress=True deflates the weights. bigmodel.load_model reads it back."""
        lib.bgm_model_save(self._h, _path(path), BGM_ARCHIVE_COMPRESS if compress else 0)

    @property
    def epochs_completed(self):
        """Epochs the model's fits have completed (kept in model files): pass it
        as fit's initial_epoch to resume a loaded model."""
        return 0 if self._mem is None else lib.bgm_model_epochs_completed(self._h)

    def save_weights(self, path: Union[str, os.PathLike], overwrite: bool = True) -> None:
        """Writes the weights alone (Keras' save_weights): the library's weights
        file, or safetensors when path ends in ".safetensors" (Keras' .weights.h5
        is HDF5, which the library does not write: any other name gets the
        library's format). load_weights reads it into a model of the same
        architecture."""
        if not overwrite and os.path.exists(path):
            raise InvalidArgumentError("save_weights: %s exists and overwrite=False" % path)
        lib.bgm_model_save_weights(self._h, _path(path))

    def load_weights(self, path: Union[str, os.PathLike], skip_mismatch: bool = False) -> None:
        """Reads weights written by save_weights (or a model file's) into this
        model, matched by position and shape as Keras does: a clone or a model
        rebuilt from to_json reads them whatever its layer names. Weights of
        another architecture raise ShapeError naming the first weight that does
        not match; the model is then unchanged."""
        if skip_mismatch:
            raise UnsupportedError("load_weights(skip_mismatch=True) is not supported: "
                                   "every weight must match")
        self._ensure_built()
        lib.bgm_model_load_weights(self._h, _path(path))
        self._weights_cache = None

    # -- configs --

    def to_json(self, **kwargs):
        """The architecture as Keras' model JSON ({"class_name": "Sequential" or
        "Functional", "config": {...}}); bigmodel.models.model_from_json
        rebuilds it with fresh weights. kwargs go to json.dumps."""
        if self._mem is None:  # a Sequential still waiting for its input shape
            config = {"class_name": "Sequential", "config": {
                "name": self.name, "trainable": True,
                "layers": [_layers.serialize(layer) for layer in self.layers]}}
        else:
            config = json.loads(_string_out(lib.bgm_model_to_json, self._h))
            config["config"]["name"] = self.name
        return json.dumps(config, **kwargs)

    def get_config(self):
        """Keras' model config (the "config" part of to_json): name, layers
        and, for a functional model, inbound nodes, input_layers and
        output_layers. ``type(model).from_config(config)`` rebuilds it."""
        return json.loads(self.to_json())["config"]

    @classmethod
    def from_config(cls, config, custom_objects=None, seed=None):
        """A new model of the architecture in config (as get_config gives it),
        with fresh weights (from seed, or a new seed)."""
        from .functional import Model
        name = "Functional" if issubclass(cls, Model) else "Sequential"
        return model_from_json(json.dumps({"class_name": name, "config": config}),
                               custom_objects, seed)

    def save_weights_safetensors(self, path):
        """Writes the weights alone in safetensors format, under the names and
        layouts of the equivalent torch.nn.Sequential's state_dict."""
        lib.bgm_model_save_weights_safetensors(self._h, _path(path))

    def load_weights_safetensors(self, path):
        """Reads weights written by save_weights_safetensors (or saved from the
        equivalent PyTorch model); on error the model is unchanged."""
        lib.bgm_model_load_weights_safetensors(self._h, _path(path))

    @classmethod
    def _from_handle(cls, ptr, name):
        """A model over ptr, a built model handle it now owns (a loaded model): its
        layers and optimizer appear as objects that view the model's own."""
        model = cls.__new__(cls)
        model._init_state(name, 0)
        model.seed = None
        model._mem = mem = _ModelMemory(ptr)
        layers = []
        for i in range(lib.bgm_model_num_layers(ptr)):
            layer = _layers._from_model(lib.bgm_model_layer(ptr, i), mem)
            mem.layers.add(layer)
            layers.append(layer)
        model._adopt_structure(layers)
        opt = lib.bgm_model_optimizer(ptr)
        if opt:
            kind = OPTIMIZER_KINDS.get(lib.bgm_optimizer_get_kind(opt), _optim.Optimizer)
            optimizer = kind.__new__(kind)
            optimizer._ptr, optimizer._owner, optimizer._schedule = opt, mem, None
            mem.optimizers.add(optimizer)
            model.optimizer = optimizer
        return model

    def __repr__(self):
        kind = type(self).__name__
        if self._mem is None:
            return "<%s %s (not built, %d layers)>" % (kind, self.name, len(self.layers))
        if self._mem.closed:
            return "<%s %s closed>" % (kind, self.name)
        return "<%s %s: %d layers, %s params>" % (kind, self.name, len(self.layers),
                                                  format(self.count_params(), ","))


# ---- Sequential -----------------------------------------------------------------------


class Sequential(BaseModel):
    """A stack of layers (keras.Sequential).

    ``Sequential(layers=None, input_shape=None, seed=None, name="sequential")``:
    input_shape is the shape of one sample (no batch dimension); it may also
    come from the first layer's ``input_shape=``, a leading
    ``bigmodel.Input(shape)``, ``build()``, or the first data the model
    sees. seed fixes the initial weights, shuffling and dropout (None: a
    random seed, kept in ``model.seed``).
    """

    def __init__(self, layers: Optional[Sequence["_layers.Layer"]] = None,
                 input_shape: Optional[Sequence[int]] = None, seed: Optional[int] = None,
                 name: str = "sequential") -> None:
        self._init_state(name, seed)
        self._layers = []
        self._pending = []          # layers waiting for the input shape
        self._input_shape = None if input_shape is None else _layers._input_shape(input_shape)
        if self._input_shape is not None:
            self._create()
        for layer in layers or []:
            self.add(layer)

    # -- building --

    def _create(self):
        dims, ndim = _lib.shape_array(self._input_shape)
        out = ctypes.c_void_p()
        lib.bgm_model_create(ctypes.byref(out), dims, ndim, self.seed & (2**64 - 1))
        self._mem = _ModelMemory(out.value)

    @property
    def _h(self):
        if self._mem is None:
            raise StateError("the model is not built yet: give it an input shape "
                             "(Sequential(..., input_shape=...), a first layer with "
                             "input_shape=, bigmodel.Input(shape), or build())")
        return self._mem.h

    def add(self, layer):
        """Appends a layer; the model takes its handle (see bigmodel.layers)."""
        if isinstance(layer, (_layers.InputLayer, KerasTensor)):
            if self._mem is not None or self._layers or self._pending:
                raise InvalidArgumentError("an Input must come first, before any layer")
            if isinstance(layer, KerasTensor) and layer._layer is not None:
                raise InvalidArgumentError("add() takes bigmodel.Input(...) or a layer, not "
                                           "the output of a layer call")
            shape = layer.shape
            self._input_shape = shape[1:] if isinstance(layer, KerasTensor) else shape
            self._create()
            return
        if not isinstance(layer, _layers.Layer):
            raise InvalidArgumentError("add() takes a bigmodel.layers.Layer, got %r"
                                       % (layer,))
        if self._mem is None:
            if self._input_shape is None and not self._pending and layer.input_shape:
                self._input_shape = layer.input_shape
                self._create()
            else:
                if layer._owner is not None or layer in self._pending:
                    raise StateError("layer '%s' already belongs to a model" % layer.name)
                layer._h  # noqa: B018  (raises for a closed layer)
                self._pending.append(layer)
                return
        self._add_now(layer)

    def _add_now(self, layer):
        mem = self._mem
        if mem.recording():
            raise StateError("a GradientTape still holds a recording of this model; reset "
                             "or drop it before adding layers")
        h = layer._give_to(mem)
        try:
            lib.bgm_model_add(mem.h, h)
        except BaseException:
            layer._handover_failed()  # the library freed the handle
            raise
        layer._model = mem
        mem.layers.add(layer)
        self._layers.append(layer)
        mem.invalidate_weights()
        self._weights_cache = None

    def build(self, input_shape=None):
        """Builds with input_shape given with its batch dimension, as Keras:
        ``model.build((None, 28, 28, 1))``."""
        if self._mem is not None:
            return
        if input_shape is not None:
            self._input_shape = _layers._input_shape(tuple(input_shape)[1:])
        if self._input_shape is None:
            raise InvalidArgumentError("build() needs the input shape, e.g. "
                                       "model.build((None, 784))")
        self._create()
        pending, self._pending = self._pending, []
        for layer in pending:
            self._add_now(layer)
        if self._pending_compile is not None:
            args, self._pending_compile = self._pending_compile, None
            self._compile(*args)

    def _ensure_built(self, x=None):
        if self._mem is None:
            sample = None
            if isinstance(x, Dataset):
                sample = x.element_shape
            elif x is not None:
                sample = as_tensor(x, self._input_dtype()).shape[1:]
            self.build(None if sample is None else (None,) + tuple(sample))

    def close(self):
        """Frees the model now; its layers, weights and optimizer objects become unusable."""
        super().close()
        for layer in self._pending:
            layer.close()
        self._pending = []

    # -- what the model is --

    @property
    def layers(self):
        return list(self._layers) + list(self._pending)

    @property
    def input_shape(self):
        """(None, sample shape...) as Keras shows it."""
        if self._mem is None:
            return None if self._input_shape is None else (None,) + self._input_shape
        n = ctypes.c_int()
        return (None,) + _shape_tuple(lib.bgm_model_input_shape(self._h, ctypes.byref(n)),
                                      n.value)

    @property
    def output_shape(self):
        n = ctypes.c_int()
        return (None,) + _shape_tuple(lib.bgm_model_output_shape(self._h, ctypes.byref(n)),
                                      n.value)

    @property
    def inputs(self):
        """[the input KerasTensor] (Keras' model.inputs): a node of the model's own
        graph that tells its shape, dtype and name while the model is open."""
        return [self._node(lib.bgm_model_input(self._h, 0))]

    @property
    def outputs(self):
        """[the output KerasTensor] (the last layer's call)."""
        return [self._node(lib.bgm_model_output(self._h, 0))]

    @property
    def input(self):
        return self.inputs[0]

    @property
    def output(self):
        return self.outputs[0]

    def _node(self, ptr):
        from .functional import _LoadedNode
        by_handle = {layer._ptr: layer for layer in self._layers}
        return _LoadedNode(ptr, self._mem, by_handle.get(lib.bgm_node_layer(ptr)))

    # -- data --

    def _input_dtype(self):
        """int32 token ids for a model starting with an Embedding, else float32."""
        layers = self.layers
        if layers and layers[0]._ptr is not None and layers[0].kind == "Embedding":
            return int32
        return float32

    def _input_dtypes(self):
        return [self._input_dtype()]

    @staticmethod
    def _pack(values):
        return values[0]

    def _adopt_structure(self, layers):
        self._layers, self._pending = layers, []
        n = ctypes.c_int()
        dims = lib.bgm_model_input_shape(self._h, ctypes.byref(n))
        self._input_shape = _shape_tuple(dims, n.value)


def _unbuilt_sequential(text, seed):
    """A Sequential config without an input shape (an unbuilt Keras Sequential)
    as an unbuilt Sequential, or None for any other config."""
    try:
        model = json.loads(text)
        config = model["config"]
        layers = config["layers"]
        if (model["class_name"] != "Sequential" or "build_input_shape" in config or
                any(entry["class_name"] == "InputLayer" for entry in layers)):
            return None
    except (ValueError, KeyError, TypeError):
        return None  # the library says what is wrong
    name = config.get("name")
    return Sequential([_layers.deserialize(entry) for entry in layers], seed=seed,
                      name=name if isinstance(name, str) else "sequential")


def model_from_json(json_string, custom_objects=None, seed=None):
    """The model of the architecture in json_string (model.to_json(), or a Keras
    model config of the layers bigmodel has), built, with fresh weights drawn
    from seed (None: a new seed). Bad configs raise InvalidArgumentError naming
    the layer, key or byte offset. custom_objects: {registered name: Layer
    subclass or Lambda function} for user-defined layers, as for load_model."""
    from . import _custom
    if not isinstance(json_string, (str, bytes)):
        raise InvalidArgumentError("model_from_json takes a JSON string, got %r"
                                   % type(json_string).__name__)
    text = json_string.encode() if isinstance(json_string, str) else json_string
    seed = new_seed() if seed is None else int(seed)
    unbuilt = _unbuilt_sequential(text, seed)
    if unbuilt is not None:
        return unbuilt
    out = ctypes.c_void_p()
    _custom.kind_for(_layers.Lambda)
    with _custom.custom_object_scope(custom_objects):
        lib.bgm_model_from_json(ctypes.byref(out), text, seed & (2**64 - 1))
    name = json.loads(text).get("config", {}).get("name")
    model = wrap_model(out.value, name if isinstance(name, str) else None)
    model.seed = seed
    return model


def load_model(path: Union[str, os.PathLike],
               custom_objects: Optional[Mapping[str, Any]] = None,
               compile: bool = True) -> "BaseModel":
    """The model saved at path (by save): built, with its weights, and compiled
    with its optimizer state when it was, ready to predict, evaluate or continue
    fit (pass initial_epoch=model.epochs_completed). A functional model comes
    back as a bigmodel.Model (inputs, outputs, layers, get_layer, ...), any
    other as a Sequential. Loss objects are not rebuilt (model.loss is None).
    custom_objects: {registered name: Layer subclass or Lambda function} for
    the user-defined layers of the file (those registered with
    bigmodel.saving.register_keras_serializable need none); a layer whose
    class or function is in neither raises, naming it.

    A model compiled with a custom loss or metric function is saved with the
    function's name only: custom_objects={name: fn} gives it back too; without
    it load_model raises InvalidArgumentError naming it, unless compile=False,
    which loads the model for predictions (fit and evaluate then fail naming
    the function until compile is called again).
    Raises FileIOError when the file cannot be read, FormatError when it is not
    a valid model file."""
    from . import _custom
    _custom.kind_for(_layers.Lambda)
    out = ctypes.c_void_p()
    with _custom.custom_object_scope(custom_objects):
        lib.bgm_model_load(ctypes.byref(out), _path(path))
    model = wrap_model(out.value)
    _restore_losses(model, custom_objects or {}, compile)
    return model


def _restore_losses(model, custom_objects, compile):
    """Gives a loaded model its custom loss functions by name."""
    if not model.compiled:
        return
    losses, missing = [], []
    for j in range(model._num_outputs):
        name = lib.bgm_model_loss_name(model._h, j)
        name = name.decode() if name else None
        fn = custom_objects.get(name) if name else None
        if name and fn is None:
            missing.append(name)
        losses.append(_losses.LossFunctionWrapper(fn, name) if fn is not None
                      else _losses.Loss())
    names = set()
    for i in range(lib.bgm_model_num_metrics(model._h)):
        name = lib.bgm_model_metric_fn_name(model._h, i)
        if name:
            names.add(name.decode())
    for name in sorted(names):
        if name in custom_objects:
            _userfns.set_metric(model._mem, custom_objects[name], name)
        elif name not in missing:
            missing.append(name)
    if missing and compile:
        model.close()
        raise InvalidArgumentError(
            "load_model: the model was compiled with the custom function%s %s (loss or "
            "metric), which a model file does not hold: pass custom_objects={%s} (or "
            "compile=False to load it for predictions)"
            % ("s" if len(missing) > 1 else "", ", ".join(repr(n) for n in missing),
               ", ".join("%r: fn" % n for n in missing)))
    _userfns.set_losses(model._mem, losses)
