"""GradientTape: record operations, then ask for gradients (tf.GradientTape).

    w = bigmodel.Variable([[0.1], [0.2]])          # requires_grad=True
    with bigmodel.GradientTape() as tape:
        loss = bigmodel.ops.reduce_mean((x @ w - y) ** 2)
    (dw,) = tape.gradient(loss, [w])

Inside ``with tape:`` every operation (bigmodel.ops functions and Tensor
operators) is recorded on the innermost active tape of the thread. Gradients
flow to tensors marked requires_grad and to those passed to ``tape.watch``;
a source the loss does not depend on gets zeros. ``gradient`` may be called
any number of times.

Memory: results and gradients live in the tape's memory, which stays alive
as long as any of those Tensors (or numpy views of them) does, so nothing a
Python variable holds ever dangles. Inputs the tape needs (weights, data,
temporaries made from Python numbers) are kept alive by the tape until it is
reset. Entering the tape again starts a new recording; its old memory is
reused when no result of the previous recording is still referenced, and
otherwise released once the last of them goes away.
"""
import contextlib
import ctypes
import threading
import weakref

from . import _lib
from ._lib import lib
from .errors import InvalidArgumentError, StateError

__all__ = ["GradientTape"]

_local = threading.local()


def _stack():
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


_memories = weakref.WeakValueDictionary()  # C tape address -> its _TapeMemory


def memory_for(ptr):
    """The _TapeMemory of the C tape at ptr, or None (a tape the library owns)."""
    return _memories.get(ptr)


class _TapeMemory:
    """One C tape (bgm_tape) and what must outlive its recording."""

    def __init__(self):
        out = ctypes.c_void_p()
        lib.bgm_tape_create(ctypes.byref(out))
        self.ptr = out.value
        _memories[self.ptr] = self
        _lib.count("tape", 1)
        self.keep = []                       # inputs the recording borrows
        self.dependents = weakref.WeakSet()  # tensors / exports in this memory
        self.recorded = False

    def borrow(self, tensors):
        for t in tensors:
            if t is not None and t._tape is not self:
                self.keep.append(t)
        self.recorded = True

    def reusable(self):
        return len(self.dependents) == 0

    def reset(self):
        lib.bgm_tape_reset(self.ptr)
        self.keep = []
        self.recorded = False

    def __del__(self):
        ptr, self.ptr = self.ptr, None
        if ptr is not None and not _lib.exiting:
            try:
                lib.bgm_tape_free(ptr)
                _lib.count("tape", -1)
            except Exception:
                pass


class GradientTape:
    """Records operations for reverse-mode differentiation."""

    def __init__(self):
        self._memory = None

    def _current(self):
        if self._memory is None:
            self._memory = _TapeMemory()
        return self._memory

    # -- recording --

    def __enter__(self):
        if self._memory is not None and self._memory.recorded:
            self.reset()
        _stack().append(self)
        return self

    def __exit__(self, *exc):
        stack = _stack()
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is self:
                del stack[i]
                break

    @property
    def recording(self):
        return self in _stack()

    @contextlib.contextmanager
    def stop_recording(self):
        """Operations inside this block are not recorded on any tape of the thread."""
        stack = _stack()
        saved = stack[:]
        del stack[:]
        try:
            yield
        finally:
            stack[:] = saved

    def watch(self, *tensors):
        """Differentiates with respect to these float32 tensors too."""
        from .tensor import Tensor
        memory = self._current()
        for t in _flatten(tensors):
            if not isinstance(t, Tensor):
                raise InvalidArgumentError("watch: expected Tensors, got %s"
                                           % type(t).__name__)
            lib.bgm_tape_watch(memory.ptr, t._h)
            memory.borrow([t])

    # -- gradients --

    def gradient(self, target, sources):
        """d target / d source for each source: a Tensor for a Tensor, else a list.

        target is a one-element tensor recorded on this tape. Gradients belong
        to the tape's memory (copy() them to keep them independent).
        """
        from .tensor import Tensor
        memory = self._memory
        if memory is None:
            raise StateError("gradient: nothing was recorded on this tape")
        single = isinstance(sources, Tensor)
        srcs = [sources] if single else list(sources)
        for s in srcs:
            if not isinstance(s, Tensor):
                raise InvalidArgumentError("gradient: sources must be Tensors, got %s"
                                           % type(s).__name__)
        if not isinstance(target, Tensor):
            raise InvalidArgumentError("gradient: target must be a Tensor, got %s"
                                       % type(target).__name__)
        n = len(srcs)
        out = (ctypes.c_void_p * max(n, 1))()
        lib.bgm_tape_gradient(memory.ptr, target._h,
                              _lib.handle_array([s._h for s in srcs]), n, out)
        grads = [Tensor._adopt(out[i], memory) for i in range(n)]
        return grads[0] if single else grads

    # -- memory --

    def reset(self):
        """Forgets the recording. Reuses the memory when no result is referenced."""
        memory = self._memory
        if memory is None:
            return
        if memory.reusable():
            memory.reset()
        else:
            self._memory = None  # the old memory lives while its tensors do

    def close(self):
        """Drops this tape's memory (kept only while its tensors are referenced)."""
        self._memory = None


def recording_memory(tape=None):
    """The memory an operation records on: tape's, the active tape's, or None."""
    if tape is None:
        stack = getattr(_local, "stack", None)
        if not stack:
            return None
        tape = stack[-1]
    elif not isinstance(tape, GradientTape):
        raise InvalidArgumentError("tape must be a GradientTape, got %s"
                                   % type(tape).__name__)
    return tape._current()


def _flatten(items):
    for x in items:
        if isinstance(x, (list, tuple)):
            yield from _flatten(x)
        else:
            yield x
