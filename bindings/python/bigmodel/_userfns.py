"""Python functions the library calls during fit, evaluate and compute_loss:
custom losses (compile(loss=fn)) and metrics (compile(metrics=[fn])).

The library calls a loss with its own tape (the model's training tape, an
inference tape, or the caller's GradientTape), the targets and the
predictions. The function runs with that tape as the active one, so
bigmodel.ops record on it. Tensors made during the call view the tape's
memory, which the library reuses after the step: they are closed when the
call returns (using one later raises StateError instead of reading freed
memory). Inputs the recording borrows (constants made from Python numbers)
stay alive until the next call on the same tape, or until the model call
that ran the loss returns (compute_loss hands them to its tape).
An exception raised by the function makes the library call fail; the model
method then re-raises that exception.
"""
import weakref

from . import _lib
from ._lib import lib
from .tape import GradientTape, _stack, _TapeMemory
from .tensor import Tensor, as_tensor

__all__ = []


class _CallMemory(_TapeMemory):
    """A tape's memory (tape.py) over a tape the library owns, for one call."""

    def __init__(self, ptr):  # no tape of its own to create
        self.ptr = ptr
        self.keep = []
        self.dependents = weakref.WeakSet()
        self.recorded = False

    def reusable(self):
        return False

    def __del__(self):  # the library frees its tape
        pass


def _run_on_tape(memory, fn, args):
    """fn(memory, *args) with a tape over memory active."""
    tape = GradientTape()
    tape._memory = memory
    stack = _stack()
    stack.append(tape)
    try:
        return fn(memory, *args)
    finally:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is tape:
                del stack[i]
                break


class FnBridge:
    """A function fn(y_true, y_pred) of bigmodel.ops (a custom loss or metric)
    as the bgm_loss_fn the library calls; keep it alive as long as the model
    may call it."""

    def __init__(self, fn):
        self.fn = fn
        self.error = None
        self.kept = {}  # tape pointer -> inputs the last call on it borrowed
        self.c_fn = _lib.LOSS_FN(self._call)

    def _values(self, memory, y_true, y_pred):
        values = self.fn(Tensor._adopt(y_true, memory), Tensor._adopt(y_pred, memory))
        return values if isinstance(values, Tensor) else as_tensor(values)

    def _call(self, out, tape, y_true, y_pred, ctx):
        memory = _CallMemory(tape)
        try:
            values = _run_on_tape(memory, self._values, (y_true, y_pred))
            out[0] = values._h
            memory.keep.append(values)
            self.kept[tape] = memory.keep
            return 0
        except BaseException as exc:  # re-raised by the model method after the C call
            if self.error is None:
                self.error = exc
            return -1
        finally:
            for t in list(memory.dependents):
                t.close()

    def pop_error(self):
        err, self.error = self.error, None
        return err

    def release(self, tape=None):
        """Drops what calls borrowed (on tape only, returned as a list, when given)."""
        if tape is None:
            self.kept.clear()
            return []
        return self.kept.pop(tape, [])


def _bridges(mem):
    return list(getattr(mem, "loss_bridges", ())) + list(getattr(mem, "metric_bridges", ()))


def set_losses(mem, losses):
    """Gives the library a bridge for each custom loss of losses (one per output)
    on the model memory mem, which keeps the bridges alive."""
    bridges = []
    for j, loss in enumerate(losses):
        if loss.kind != 6:
            continue
        bridge = FnBridge(loss.fn)
        lib.bgm_model_set_loss_fn(mem.h, j, loss.name.encode(), bridge.c_fn, None)
        bridges.append(bridge)
    mem.loss_bridges = bridges


def add_metric(mem, output, fn, name):
    """Adds the custom metric fn named name to output (-1: every output)."""
    bridge = FnBridge(fn)
    lib.bgm_model_add_metric_fn(mem.h, output, name.encode(), bridge.c_fn, None)
    mem.metric_bridges = list(getattr(mem, "metric_bridges", ())) + [bridge]


def set_metric(mem, fn, name):
    """Gives fn to the custom metrics named name (a loaded model's)."""
    bridge = FnBridge(fn)
    lib.bgm_model_set_metric_fn(mem.h, name.encode(), bridge.c_fn, None)
    mem.metric_bridges = list(getattr(mem, "metric_bridges", ())) + [bridge]


def raise_pending(mem, failure=None):
    """Raises the first exception a custom loss or metric of mem raised (chained
    to the library's failure); forgets what the calls borrowed."""
    error = None
    for bridge in _bridges(mem):
        err = bridge.pop_error()
        bridge.release()
        if error is None:
            error = err
    if error is not None:
        if failure is not None:
            raise error from failure
        raise error


def hand_over(mem, tape_ptr, memory):
    """After compute_loss on a GradientTape's memory: its tape keeps what the
    custom losses' calls borrowed."""
    for bridge in _bridges(mem):
        memory.keep.extend(bridge.release(tape_ptr))
