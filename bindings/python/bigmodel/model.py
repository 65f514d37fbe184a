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
import math
import os
import re
import sys
import weakref

from . import _compat
from . import _lib
from . import callbacks as _callbacks
from . import layers as _layers
from . import losses as _losses
from . import metrics as _metrics
from . import optim as _optim
from ._interrupt import CancelOnSigint
from ._training import FitRun
from ._lib import lib
from .data import Dataset
from .errors import BigmodelError, CancelledError, InvalidArgumentError, StateError
from .graph import KerasTensor
from .tape import _TapeMemory, recording_memory
from .tensor import Tensor, as_tensor, float32, int32

__all__ = ["BaseModel", "Sequential", "load_model"]

METRICS = {
    "accuracy": 1, "acc": 1, "sparse_categorical_accuracy": 1, "categorical_accuracy": 1,
    "binary_accuracy": 1, "top_k_accuracy": 2, "sparse_top_k_categorical_accuracy": 2,
    "top_k_categorical_accuracy": 2, "precision": 3, "recall": 4, "f1": 5, "f1_score": 5,
    "auc": 6, "mse": 7, "mean_squared_error": 7, "mae": 8, "mean_absolute_error": 8,
    "r2": 9, "r2_score": 9,
}
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
    trainable = True

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
        t.trainable = bool(lib.bgm_model_weight_trainable(owner.h, i))
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


def _features(x, dtype=float32):
    return as_tensor(x, dtype)


BGM_ARCHIVE_COMPRESS = 1  # bigmodel/io.h
OPTIMIZER_KINDS = {1: _optim.SGD, 2: _optim.Adam, 3: _optim.AdamW, 4: _optim.RMSprop}


def _path(path):
    return os.fsencode(os.fspath(path))


# ---- what every model has -------------------------------------------------------------


class BaseModel:
    """What Sequential and the functional Model share: summary, weights, compile,
    fit / evaluate / predict, calls on a tape, files. A subclass makes the
    model's memory (``_mem``) and says how its data is laid out:
    ``_input_tensors(x)`` / ``_target_tensors(y)`` give one Tensor per input /
    output in the model's order, ``_pack(values)`` gives outputs back in the
    structure the user knows, ``_num_outputs`` counts them."""

    _mem = None
    _num_outputs = 1

    def _init_state(self, name, seed):
        self._mem = None
        self._weights_cache = None
        self._pending_compile = None
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self.name = name
        self.seed = int.from_bytes(os.urandom(8), "little") if seed is None else int(seed)

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

    def summary(self, print_fn=None):
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
    def trainable_variables(self):
        """The trainable weights, in the order the library trains them: pass them
        to tape.gradient and optimizer.apply_gradients in a custom loop."""
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

    # -- compiling --

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, from_logits=None):
        """Sets the optimizer (a name or a bigmodel.optimizers object, which the
        model then owns), the loss (a name or bigmodel.losses object; from_logits
        overrides the object's), and metrics (names such as "accuracy", or
        bigmodel.metrics objects, which report after the named ones). The library
        compiles models of one output so far; a list or dict of losses (one per
        output, as Keras) is refused by it for several outputs."""
        if loss is None:
            raise InvalidArgumentError("compile() needs a loss, e.g. "
                                       "loss=\"sparse_categorical_crossentropy\"")
        loss_obj = self._output_losses(loss)[0]
        logits = loss_obj.from_logits if from_logits is None else bool(from_logits)
        kinds, extra = [], []
        for m in metrics or []:
            if isinstance(m, str):
                if m.lower() not in METRICS:
                    raise InvalidArgumentError("unknown metric %r; expected one of %s or a "
                                               "bigmodel.metrics object"
                                               % (m, ", ".join(sorted(METRICS))))
                kinds.append(METRICS[m.lower()])
            elif isinstance(m, _metrics.Metric):
                extra.append((m._kind, m._options))
            elif isinstance(m, type) and issubclass(m, _metrics.Metric):
                extra.append((m.kind, {}))
            else:
                raise InvalidArgumentError("metrics must be names or bigmodel.metrics "
                                           "objects, got %r" % (m,))
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
        args = (optimizer, loss_obj, logits, kinds, extra)
        if self._mem is None:
            self._pending_compile = args
            self.optimizer, self.loss = optimizer, loss_obj
            return
        self._compile(*args)

    def _output_losses(self, loss):
        """One loss object per output, from one loss (for every output, as Keras)
        or a list / dict of them."""
        if isinstance(loss, (list, tuple, dict)):
            losses = self._per_output(loss, "loss")
        else:
            losses = [loss] * self._num_outputs
        return [_losses.get(item) for item in losses]

    def _compile(self, optimizer, loss_obj, logits, kinds, extra):
        # The library takes one loss for one output so far: for several outputs
        # bgm_model_compile refuses with BGM_E_UNSUPPORTED and its message (this is
        # where a loss per output goes once it takes them).
        mem = self._mem
        h = optimizer._give_to(mem)
        arr = (ctypes.c_int * max(len(kinds), 1))(*kinds)
        try:
            lib.bgm_model_compile(mem.h, h, loss_obj.kind, 1 if logits else 0, arr,
                                  len(kinds))
        except BaseException:
            optimizer._detach()  # the library freed it
            raise
        old = self.optimizer
        if old is not None and old is not optimizer and old._owner is mem:
            old._detach()        # replaced and freed by the library
        mem.optimizers.add(optimizer)
        if optimizer._schedule is not None:
            mem.keep.append(optimizer._schedule)
        self.optimizer, self.loss = optimizer, loss_obj
        for kind, options in extra:
            opts = _metrics._options(**options)
            lib.bgm_model_add_metric(mem.h, kind, ctypes.byref(opts))

    @property
    def compiled(self):
        return self._mem is not None and lib.bgm_model_optimizer(self._mem.h) is not None

    @property
    def metrics_names(self):
        """Names of evaluate's values: "loss" then the metrics."""
        if self._mem is None:
            return []
        h = self._h
        return [lib.bgm_model_metric_name(h, i).decode()
                for i in range(lib.bgm_model_num_metrics(h))]

    # -- data --

    def _per_output(self, values, what):
        """values (a list, or a dict keyed by output name) in output order."""
        if isinstance(values, dict) or len(values) != 1:
            raise InvalidArgumentError("%s: a list or dict of %d values for a model of one "
                                       "output" % (what, len(values)))
        return list(values)

    def _targets(self, y):
        t = as_tensor(y)
        if t.dtype != int32:
            return t
        if self.loss is not None:
            if self.loss.kind != _losses.SPARSE_CE:
                t = as_tensor(t, float32)  # float targets given as integers (0/1, one-hot)
        elif self._mem is not None and self.compiled:
            # A loaded model's loss is not known here: integer targets shaped like
            # the output (0/1 labels of one unit, one-hot rows) are float targets;
            # class ids of a several-unit output stay int32.
            out = self.output_shape[1:]
            sample = t.shape[1:]
            if sample == out or (out == (1,) and sample == ()):
                t = as_tensor(t, float32)
        return t

    # -- training --

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
            callbacks=None, validation_split=0.0, validation_data=None, shuffle=True,
            initial_epoch=0):
        """Trains for epochs - initial_epoch epochs; returns a History (also kept in
        model.history). x, y: arrays / Tensors (or x a Dataset with targets);
        for several inputs or outputs, lists or dicts of them.
        validation_data: (x_val, y_val) or a Dataset; it overrides validation_split.
        verbose: 0 silent, 1 or "auto" a progress bar (one line per epoch when
        sys.stdout is not a terminal), 2 one line per epoch."""
        self._ensure_built(x)
        verbose = 1 if verbose == "auto" else int(verbose)
        batch = 32 if batch_size is None else int(batch_size)
        keep = []  # every tensor and dataset the C call borrows
        if isinstance(x, Dataset):
            if y is not None:
                raise InvalidArgumentError("with a Dataset, the targets come from it: "
                                           "y must be None")
            train, n = x, len(x)
        else:
            if x is None or y is None:
                raise InvalidArgumentError("fit() needs x and y (or a Dataset)")
            txs, tys = self._input_tensors(x), self._target_tensors(y)
            keep += txs + tys
            train, n = None, (txs[0].shape[0] if txs[0].ndim else 0)
        opts = _lib.FitOptions()
        lib.bgm_fit_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
        opts.epochs, opts.batch_size = int(epochs), batch
        opts.shuffle, opts.initial_epoch = 1 if shuffle else 0, int(initial_epoch)
        opts.verbose = verbose
        val_ds = vxs = vys = None
        if validation_data is not None:
            if isinstance(validation_data, Dataset):
                val_ds = validation_data
                vxs, vys = [val_ds.x], [val_ds.y]
            else:
                vxs = self._input_tensors(validation_data[0])
                vys = self._target_tensors(validation_data[1])
            keep += vxs + vys
            if train is not None and val_ds is None:
                val_ds = Dataset(vxs[0], vys[0])
            n_train = n
        else:
            opts.validation_split = float(validation_split)
            n_train = (math.floor(n * (1.0 - validation_split)) if validation_split > 0
                       else n)
        steps = max(1, -(-n_train // batch)) if batch > 0 else 1
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
            with CancelOnSigint(run.cancel) as sigint:
                try:
                    if train is None:
                        self._fit_tensors(hist, txs, tys, vxs, vys, opts)
                    else:
                        lib.bgm_model_fit_dataset(ctypes.byref(hist), self._h, train._h,
                                                  None if val_ds is None else val_ds._h,
                                                  ctypes.byref(opts))
                except BigmodelError as exc:
                    failure = exc
            run.end_line()
        finally:
            run.close()
        if sigint.hit:
            run.interrupted = True
        history = run.history
        if hist.value:
            history = self._history_from(hist.value, history)
            self.history = history
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

    # The library fits and evaluates models of one input and one output so far:
    # for others bgm_model_fit / bgm_model_evaluate fail with BGM_E_UNSUPPORTED and
    # the library's message, before they look at the data. The tensors of every
    # input and output arrive here in the model's order, ready for the library's
    # several-input versions once it has them.

    def _fit_tensors(self, hist, txs, tys, vxs, vys, opts):
        if vxs is not None:
            opts.validation_x, opts.validation_y = vxs[0]._h, vys[0]._h
        lib.bgm_model_fit(ctypes.byref(hist), self._h, txs[0]._h, tys[0]._h,
                          ctypes.byref(opts))

    def _evaluate_tensors(self, results, n, txs, tys, batch):
        lib.bgm_model_evaluate(results, n, self._h, txs[0]._h, tys[0]._h, batch)

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

    # -- inference --

    def evaluate(self, x=None, y=None, batch_size=None, verbose=0, return_dict=False):
        """Loss and metrics in inference mode: the loss alone when there are no
        metrics, else [loss, metrics...] (a dict with return_dict=True).
        verbose=1 prints them on one line."""
        self._ensure_built(x)
        h = self._h
        n = lib.bgm_model_num_metrics(h)
        results = (ctypes.c_double * max(n, 1))()
        batch = 0 if batch_size is None else int(batch_size)
        if isinstance(x, Dataset):
            lib.bgm_model_evaluate_dataset(results, max(n, 1), h, x._h, batch)
        else:
            if x is None or y is None:
                raise InvalidArgumentError("evaluate() needs x and y (or a Dataset)")
            self._evaluate_tensors(results, max(n, 1), self._input_tensors(x),
                                   self._target_tensors(y), batch)
        values = list(results[:n])
        names = self.metrics_names
        if verbose:
            sys.stdout.write(" - ".join("%s: %.4f" % kv for kv in zip(names, values)) + "\n")
        if return_dict:
            return dict(zip(names, values))
        return values[0] if len(values) == 1 else values

    def _predict_tensors(self, txs, batch):
        """New Tensors, one per output, for the input tensors txs at inference."""
        if len(txs) == 1 and self._num_outputs == 1:
            out = ctypes.c_void_p()
            lib.bgm_model_predict(ctypes.byref(out), self._h, txs[0]._h, batch)
            return [Tensor._adopt(out.value)]
        outs = (ctypes.c_void_p * self._num_outputs)()
        lib.bgm_model_predict_multi(outs, self._num_outputs, self._h,
                                    _lib.handle_array([t._h for t in txs]), len(txs), batch)
        return [Tensor._adopt(p) for p in outs]

    def predict(self, x, batch_size=None, verbose=0):
        """Outputs for x in inference mode: a numpy array (a Tensor without numpy)
        per output, in the structure of the model's outputs (several: a list, or
        a dict). x: an array, or a list / dict of arrays for several inputs."""
        if isinstance(x, Dataset):
            x = x.x
        self._ensure_built(x)
        outs = self._predict_tensors(self._input_tensors(x),
                                     0 if batch_size is None else int(batch_size))
        return self._pack([t.numpy() if _compat.np is not None else t for t in outs])

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
            n = txs[0].shape[0] if txs[0].ndim else 0
            return self._pack(self._predict_tensors(txs, max(n, 1)))
        if memory is None:
            memory = _TapeMemory()
        outs = (ctypes.c_void_p * self._num_outputs)()
        flag = 1 if training else 0
        if len(txs) == 1 and self._num_outputs == 1:
            lib.bgm_model_forward(outs, self._h, memory.ptr, txs[0]._h, flag)
        else:
            lib.bgm_model_forward_multi(outs, self._num_outputs, self._h, memory.ptr,
                                        _lib.handle_array([t._h for t in txs]), len(txs),
                                        flag)
        memory.borrow(txs)
        memory.keep.append(self._mem)
        self._mem.recordings.add(memory)
        return self._pack([Tensor._adopt(p, memory) for p in outs])

    def compute_loss(self, x=None, y=None, y_pred=None):
        """The compiled loss plus L2 penalties of y_pred against y (Keras'
        model.compute_loss), recorded on the active tape."""
        if y is None or y_pred is None:
            raise InvalidArgumentError("compute_loss needs y and y_pred")
        ty = self._targets(y)
        memory = recording_memory() or _TapeMemory()
        out = ctypes.c_void_p()
        lib.bgm_model_compute_loss(ctypes.byref(out), self._h, memory.ptr, ty._h, y_pred._h)
        memory.borrow([ty, y_pred])
        memory.keep.append(self._mem)
        self._mem.recordings.add(memory)
        return Tensor._adopt(out.value, memory)

    # -- files --

    def save(self, path, compress=False):
        """Writes the whole model (architecture, weights, optimizer state,
        generator, epochs completed) to path, a .bgm model file, atomically;
        compress=True deflates the weights. bigmodel.load_model reads it back."""
        lib.bgm_model_save(self._h, _path(path), BGM_ARCHIVE_COMPRESS if compress else 0)

    @property
    def epochs_completed(self):
        """Epochs the model's fits have completed (kept in model files): pass it
        as fit's initial_epoch to resume a loaded model."""
        return 0 if self._mem is None else lib.bgm_model_epochs_completed(self._h)

    def save_weights_safetensors(self, path):
        """Writes the weights alone in safetensors format, under the names and
        layouts of the equivalent torch.nn.Sequential's state_dict."""
        lib.bgm_model_save_weights_safetensors(self._h, _path(path))

    def load_weights_safetensors(self, path):
        """Reads weights written by save_weights_safetensors (or saved from the
        equivalent PyTorch model); on error the model is unchanged."""
        lib.bgm_model_load_weights_safetensors(self._h, _path(path))

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

    def __init__(self, layers=None, input_shape=None, seed=None, name="sequential"):
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

    # -- data --

    def _input_dtype(self):
        """int32 token ids for a model starting with an Embedding, else float32."""
        layers = self.layers
        if layers and layers[0]._ptr is not None and layers[0].kind == "Embedding":
            return int32
        return float32

    def _input_tensors(self, x):
        return [_features(x, self._input_dtype())]

    def _target_tensors(self, y):
        return [self._targets(y)]

    @staticmethod
    def _pack(values):
        return values[0]

    @classmethod
    def _from_handle(cls, ptr, name="sequential"):
        """A Sequential over ptr, a built model handle it now owns: its layers and
        optimizer appear as objects that view the model's own."""
        model = cls.__new__(cls)
        model._init_state(name, 0)
        model.seed = None
        model._mem = mem = _ModelMemory(ptr)
        model._layers, model._pending = [], []
        for i in range(lib.bgm_model_num_layers(ptr)):
            layer = _layers._from_model(lib.bgm_model_layer(ptr, i), mem)
            mem.layers.add(layer)
            model._layers.append(layer)
        n = ctypes.c_int()
        model._input_shape = _shape_tuple(lib.bgm_model_input_shape(ptr, ctypes.byref(n)),
                                          n.value)
        opt = lib.bgm_model_optimizer(ptr)
        if opt:
            cls_ = OPTIMIZER_KINDS.get(lib.bgm_optimizer_get_kind(opt), _optim.Optimizer)
            optimizer = cls_.__new__(cls_)
            optimizer._ptr, optimizer._owner, optimizer._schedule = opt, mem, None
            mem.optimizers.add(optimizer)
            model.optimizer = optimizer
        return model


def load_model(path):
    """The model saved at path by Sequential.save: built, with its weights, and
    compiled with its optimizer state when it was, ready to predict, evaluate or
    continue fit (pass initial_epoch=model.epochs_completed). Its loss object is
    not rebuilt (model.loss is None). Raises FileIOError when the file cannot
    be read, FormatError when it is not a valid model file."""
    out = ctypes.c_void_p()
    lib.bgm_model_load(ctypes.byref(out), _path(path))
    return Sequential._from_handle(out.value)
