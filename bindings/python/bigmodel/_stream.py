"""Python batches through the library's bgm_stream (data.h): fit, evaluate and
predict on generators, iterables of batches, PyDatasets and Dataset
pipelines keep their loop, progress lines and callbacks in C.

The library calls fill() on its prefetch thread (ctypes takes the GIL for
it), up to ``prefetch`` batches ahead of the training step, and copies
nothing itself: fill() writes each batch into the stream's buffers. An
exception raised by the user's generator (or a batch that does not fit) is
recorded, the library call fails, and the caller re-raises the recorded
exception (see raise_pending). The first batch is read before the call, to
learn the shapes, dtypes and batch size; a later batch may be shorter,
never longer. Batches of (x, y, sample_weight) carry Keras' sample weights
(one array shared by the outputs, (B,) or (B, T) per step), given to the
library as the stream's weights (bgm_stream_spec.sample_weight).
"""
import ctypes

from . import _compat
from . import _lib
from ._handle import Handle
from ._lib import lib
from .errors import InvalidArgumentError
from .tensor import float32

_CANCELLED = -10          # BGM_E_CANCELLED: the status a failing fill returns
_DTYPES = {float32: 1}    # bgm_dtype of a Tensor dtype; anything else is int32 (2)


def is_batch_source(x):
    """Whether fit / evaluate / predict should stream x: a generator or other
    iterator, a PyDataset, or a Dataset pipeline."""
    from .data import Pipeline, PyDataset
    if isinstance(x, (Pipeline, PyDataset)):
        return True
    return hasattr(x, "__next__") and hasattr(x, "__iter__")


class _Passes:
    """The passes over a source: a PyDataset (indexed), an iterable that can be
    iterated again (iter() per pass), or an iterator (one pass only)."""

    def __init__(self, source):
        from .data import PyDataset
        self.source = source
        self.indexed = isinstance(source, PyDataset)
        self.once = not self.indexed and iter(source) is source
        self.passes = 0
        self.batches = 0       # batches given in all passes
        self.it = None

    def length(self):
        """Batches per pass when known, else -1."""
        try:
            n = len(self.source)
        except TypeError:
            return -1
        return n if n and n > 0 else -1

    def start(self):
        if self.passes and self.once:
            raise InvalidArgumentError(
                "the generator ran out of data after %d batches and cannot start "
                "another epoch: give steps_per_epoch (and validation_steps) so that "
                "epochs * steps batches are drawn, or an iterable that can be iterated "
                "again (a PyDataset, a Dataset pipeline, a list)" % self.batches)
        if self.passes and self.indexed:
            self.source.on_epoch_end()
        self.passes += 1
        if self.indexed:
            n = len(self.source)
            self.it = (self.source[i] for i in range(n))
        elif self.it is None or not self.once:
            self.it = iter(self.source)

    def next(self):
        """The next batch, or None at the end of the pass."""
        for item in self.it:
            self.batches += 1
            return item
        return None


class BatchStream(Handle):
    """A bgm_stream over Python batches for one model call. with_y: batches
    are (x, y) or (x, y, sample_weight) tuples (fit, evaluate), all of one
    kind, set by the first; else x alone or (x, ...) (predict)."""

    _free_fn, _counter, _what = "bgm_stream_free", "stream", "stream"

    def __init__(self, source, model, what, with_y=True, prefetch=2, steps=None,
                 steps_name="steps"):
        np = _compat.np
        if np is None:
            raise InvalidArgumentError("%s on a generator needs numpy" % what)
        card = getattr(source, "cardinality", None)
        if callable(card) and card() == -1 and not steps:
            raise InvalidArgumentError("%s: the pipeline repeats forever: give %s"
                                       % (what, steps_name))
        self.model, self.what, self.with_y = model, what, with_y
        self.error = None
        self.passes = _Passes(source)
        self.passes.start()
        first = self.passes.next()
        if first is None:
            raise InvalidArgumentError("%s: the generator gave no batch" % what)
        x, _, sw = self._split(first)
        model._ensure_built(x)
        self.weighted = sw is not None
        arrays = self._arrays(first)
        self.nx = len(model._input_tensors(x))
        self.first = arrays
        self.batch_size = arrays[0].shape[0]
        self.shapes = [a.shape[1:] for a in arrays]
        self.dtypes = [a.dtype for a in arrays]
        self._views = {}
        descs = (_lib.StreamTensor * len(arrays))()
        for d, a in zip(descs, arrays):
            d.dtype = 1 if a.dtype == np.float32 else 2
            d.ndim = a.ndim - 1
            for k, n in enumerate(a.shape[1:]):
                d.shape[k] = n
        self._descs = descs
        self._fill_fn = _lib.STREAM_FILL_FN(self._fill)
        self._reset_fn = _lib.STREAM_RESET_FN(self._reset)
        spec = _lib.StreamSpec()
        lib.bgm_stream_spec_init(ctypes.byref(spec))
        spec.num_x, spec.num_y = self.nx, len(arrays) - self.nx - self.weighted
        spec.x = ctypes.cast(descs, ctypes.POINTER(_lib.StreamTensor))
        if self.weighted:   # the last description, filled into ys[num_y]
            spec.sample_weight = ctypes.pointer(descs[len(arrays) - 1])
        spec.y = ctypes.cast(ctypes.byref(descs, self.nx * ctypes.sizeof(_lib.StreamTensor)),
                             ctypes.POINTER(_lib.StreamTensor))
        spec.batch_size = self.batch_size
        spec.batches_per_epoch = self.passes.length()
        spec.prefetch = max(1, int(getattr(source, "_prefetch", None) or prefetch))
        spec.fill, spec.reset = self._fill_fn, self._reset_fn
        self._make(lib.bgm_stream_create, ctypes.byref(spec))
        self._resets = 0

    # -- batches ------------------------------------------------------------------

    def _split(self, item):
        """(x, y, sample_weight or None) of one batch as the user gave it."""
        if not self.with_y:
            return (item[0] if isinstance(item, tuple) else item), None, None
        if not isinstance(item, tuple) or len(item) not in (2, 3):
            raise InvalidArgumentError(
                "%s: each batch must be an (x, y) or (x, y, sample_weight) tuple, got %s" % (
                    self.what, "a tuple of %d" % len(item) if isinstance(item, tuple)
                    else type(item).__name__))
        return item[0], item[1], item[2] if len(item) == 3 else None

    def _weights(self, sw):
        """A batch's sample_weight as a float32 array of one or more dimensions."""
        np = _compat.np
        if isinstance(sw, (list, dict)) and sw and not np.isscalar(
                next(iter(sw.values())) if isinstance(sw, dict) else sw[0]):
            raise InvalidArgumentError(
                "%s: batch %d gives a %s of sample weights: give one array shared by "
                "the outputs" % (self.what, self.passes.batches - 1, type(sw).__name__))
        w = np.asarray(sw.numpy() if hasattr(sw, "numpy") else sw, dtype=np.float32)
        if w.ndim < 1:
            raise InvalidArgumentError("%s: the sample_weight of batch %d is a scalar, "
                                       "expected one weight per sample"
                                       % (self.what, self.passes.batches - 1))
        return w

    def _arrays(self, item):
        """The batch as numpy arrays: one per input, then one per output, then
        the sample weights of a weighted stream."""
        x, y, sw = self._split(item)
        tensors = self.model._input_tensors(x)
        if self.with_y:
            tensors += self.model._target_tensors(y)
        arrays = [t.numpy() for t in tensors]
        if self.with_y and (sw is not None) != self.weighted:
            raise InvalidArgumentError(
                "%s: batch %d %s sample weights and the first batch %s: every batch "
                "must be (x, y) or every batch (x, y, sample_weight)"
                % (self.what, self.passes.batches - 1,
                   "gives" if sw is not None else "gives no",
                   "did" if self.weighted else "did not"))
        if self.with_y and self.weighted:
            w = self._weights(sw)
            if w.shape[0] != arrays[0].shape[0]:
                raise InvalidArgumentError(
                    "%s: batch %d has %d sample weights for %d samples"
                    % (self.what, self.passes.batches - 1, w.shape[0], arrays[0].shape[0]))
            arrays.append(w)
        return arrays

    def _view(self, ptr, i):
        """A numpy array over buffer ptr of tensor i (the buffers live as long
        as the stream, so the views are made once)."""
        view = self._views.get(ptr)
        if view is None:
            np = _compat.np
            dtype = self.dtypes[i]
            n = self.batch_size * int(np.prod(self.shapes[i], dtype=np.int64))
            addr = lib.bgm_tensor_data(ptr)
            ctype = ctypes.c_float if dtype == np.float32 else ctypes.c_int32
            view = np.ctypeslib.as_array((ctype * max(n, 1)).from_address(addr))
            view = view[:n].reshape((self.batch_size,) + tuple(self.shapes[i]))
            self._views[ptr] = view
        return view

    def _check(self, arrays):
        b = arrays[0].shape[0]
        if b > self.batch_size:
            raise InvalidArgumentError(
                "%s: a batch of %d samples after a first batch of %d: the first batch "
                "sets the largest batch size" % (self.what, b, self.batch_size))
        for i, a in enumerate(arrays):
            if a.shape[1:] != self.shapes[i] or a.shape[0] != b:
                raise InvalidArgumentError(
                    "%s: batch %d has a tensor of shape %s where the first batch had "
                    "(%d,) + %s" % (self.what, self.passes.batches - 1, a.shape, b,
                                    self.shapes[i]))
        return b

    # -- called from the library's thread -------------------------------------------

    def _failed(self, exc, msg, size):
        if self.error is None:
            self.error = exc
        text = ("%s raised %s: %s" % (self.what, type(exc).__name__, exc)).encode(
            "utf-8", "replace")[:max(size - 1, 0)]
        ctypes.memmove(msg, text + b"\0", len(text) + 1)
        return _CANCELLED

    def _reset(self, ctx, msg, size):
        try:
            self._resets += 1
            if self._resets > 1:   # the first pass began when the stream was made
                self.passes.start()
            return 0
        except BaseException as exc:
            return self._failed(exc, msg, size)

    def _fill(self, ctx, batch, xs, ys, rows, msg, size):
        try:
            if self.first is not None:
                arrays, self.first = self.first, None
            else:
                item = self.passes.next()
                if item is None:
                    rows[0] = 0
                    return 0
                arrays = self._arrays(item)
            b = self._check(arrays)
            for i, a in enumerate(arrays):
                ptr = xs[i] if i < self.nx else ys[i - self.nx]
                self._view(ptr, i)[:b] = a
            rows[0] = b
            return 0
        except BaseException as exc:
            return self._failed(exc, msg, size)

    # -- after the call -----------------------------------------------------------------

    def raise_pending(self, failure):
        """Re-raises the exception a callback recorded (from the library's
        failure), else the failure itself; nothing when neither happened."""
        error, self.error = self.error, None
        if error is not None:
            raise error from failure
        if failure is not None:
            raise failure

    def close(self):
        super().close()
        self._views = {}
        self._fill_fn = self._reset_fn = None   # they refer back to self
        self.passes = None


def steps_of(source, steps):
    """The step count a progress bar shows: steps, else the source's length
    when known, else 0 (unknown)."""
    if steps:
        return int(steps)
    try:
        return len(source) or 0
    except TypeError:
        return 0


__all__ = ["BatchStream", "is_batch_source", "steps_of"]
