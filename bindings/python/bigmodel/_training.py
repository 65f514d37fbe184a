"""One fit call seen from Python: the cancel flag, Python callbacks called
from C, the progress text written to sys.stdout (with the in-place bar on a
terminal), and the epochs recorded so far.

Nothing raised in Python code called from C unwinds through C: every entry
point catches, records the exception, sets the cancel flag (the library then
stops after the current batch), and fit re-raises it once the library has
returned.
"""
import ctypes
import sys
import time

from . import _lib
from . import callbacks as _callbacks
from ._lib import lib
from .errors import InvalidArgumentError

TRAIN_BEGIN, EPOCH_BEGIN, BATCH_END, EPOCH_END, TRAIN_END = 1, 2, 3, 4, 5


def logs_dict(logs):
    """A bgm_logs as a {name: value} dict."""
    if not logs:
        return {}
    n = lib.bgm_logs_count(logs)
    return {lib.bgm_logs_name(logs, i).decode(): lib.bgm_logs_value(logs, i)
            for i in range(n)}


def bar_line(current, target, elapsed, logs):
    """The in-progress bar as the library draws it on a terminal."""
    digits = len(str(target))
    fill = min(int(30 * current / target) if target > 0 else 30, 30)
    bar = "".join("=" if i < fill - 1 else (">" if current < target else "=")
                  if i == fill - 1 else "." for i in range(30))
    eta = elapsed / current * (target - current) if current else 0.0
    e = int(eta)
    if eta > 3600:
        when = "%d:%02d:%02d" % (e // 3600, e % 3600 // 60, e % 60)
    elif eta > 60:
        when = "%d:%02d" % (e // 60, e % 60)
    else:
        when = "%ds" % e
    text = "%*d/%d [%s] - ETA: %s" % (digits, current, target, bar, when)
    for name, v in logs.items():
        text += (" - %s: %.4f" if abs(v) > 1e-3 else " - %s: %.4e") % (name, v)
    return text


class FitRun:
    """One fit call: the cancel flag, the Python side of the callbacks, the
    progress writer, and the first Python exception raised along the way."""

    def __init__(self, model, callbacks, verbose, steps, epochs, in_place):
        self.model = model
        self.cancel = ctypes.c_int(0)
        self.error = None
        self.interrupted = False
        self.steps = steps
        self.in_place = in_place and verbose == 1
        self.bar_width = 0
        self.epoch_start = self.last_draw = 0.0
        self.history = _callbacks.History(params={"verbose": verbose, "epochs": epochs,
                                                  "steps": steps}, model=model)
        self.write_fn = _lib.WRITE_FN(self._write)
        self.python_callbacks = []
        self._c_fns = []       # CFUNCTYPE objects: alive for the whole call
        self._c_handles = []   # bgm_callback handles this run made
        try:
            self._setup(callbacks)
        except BaseException:
            self.close()
            raise

    def _setup(self, callbacks):
        model, handles = self.model, []
        for cb in callbacks:
            if isinstance(cb, _callbacks._NativeCallback):
                cb._fit_begins()
                handles.append(cb._h)
            elif isinstance(cb, _callbacks.Callback):
                cb.set_model(model)
                self.python_callbacks.append(cb)
                handles.append(self._lambda(self._dispatcher(cb)))
            else:
                raise InvalidArgumentError("callbacks must be bigmodel.callbacks objects, "
                                           "got %r" % (cb,))
        # Last: records the epochs (a partial history survives an interrupt) and
        # draws the in-place bar; its calls are also where a pending Python
        # signal handler gets to run.
        handles.append(self._lambda(self._recorder))
        self.handles = _lib.handle_array(handles)
        self.num_handles = len(handles)
        self.native = [cb for cb in callbacks if isinstance(cb, _callbacks._NativeCallback)]

    def _lambda(self, fn):
        c_fn = _lib.CALLBACK_FN(fn)
        self._c_fns.append(c_fn)
        out = ctypes.c_void_p()
        lib.bgm_callback_lambda(ctypes.byref(out), c_fn, None)
        self._c_handles.append(out.value)
        return out.value

    def close(self):
        """Frees the callback handles this run made (after the C call)."""
        for h in self._c_handles:
            lib.bgm_callback_free(h)
        self._c_handles = []
        self._c_fns = []  # they refer back to self: break the cycle

    # -- stopping --

    def interrupt(self):
        self.interrupted = True
        self.cancel.value = 1

    def fail(self, exc):
        if isinstance(exc, KeyboardInterrupt):
            self.interrupt()
            return
        if self.error is None:
            self.error = exc
        self.cancel.value = 1

    # -- called from C --

    def _write(self, ctx, text):
        try:
            s = text.decode("utf-8", "replace")
            out = sys.stdout
            if out is None:
                return
            if self.bar_width:
                if s.endswith("\n") and not s.startswith("Epoch "):
                    line = s[:-1]
                    s = "\r" + line + " " * max(0, self.bar_width - len(line)) + "\n"
                else:
                    s = "\n" + s
                self.bar_width = 0
            out.write(s)
            out.flush()
        except BaseException as exc:  # never unwinds through C
            self.fail(exc)

    def end_line(self):
        """After an interrupted epoch: ends the half-drawn bar's line."""
        if self.bar_width and sys.stdout is not None:
            try:
                sys.stdout.write("\n")
                sys.stdout.flush()
            except Exception:
                pass
            self.bar_width = 0

    def _recorder(self, ctx, m, event, epoch, batch, logs):
        try:
            if event == EPOCH_BEGIN:
                self.epoch_start = time.monotonic()
            elif event == EPOCH_END:
                self.history._append(epoch, logs_dict(logs))
            elif event == BATCH_END and self.in_place:
                step, now = batch + 1, time.monotonic()
                if step < self.steps and (step <= 1 or now - self.last_draw >= 0.05):
                    self.last_draw = now
                    line = bar_line(step, self.steps, now - self.epoch_start,
                                     logs_dict(logs))
                    pad = max(0, self.bar_width - len(line))
                    sys.stdout.write("\r" + line + " " * pad)
                    sys.stdout.flush()
                    self.bar_width = len(line)
        except BaseException as exc:
            self.fail(exc)
        return 1 if self.cancel.value else 0

    def _dispatcher(self, cb):
        model = self.model

        def call(ctx, m, event, epoch, batch, logs):
            if self.error is not None or self.cancel.value:
                return 1
            try:
                if event == BATCH_END:
                    cb.on_train_batch_end(batch, logs_dict(logs))
                elif event == EPOCH_END:
                    cb.on_epoch_end(epoch, logs_dict(logs))
                elif event == EPOCH_BEGIN:
                    cb.on_epoch_begin(epoch, {})
                elif event == TRAIN_BEGIN:
                    cb.on_train_begin({})
                elif event == TRAIN_END:
                    cb.on_train_end({})
            except BaseException as exc:
                self.fail(exc)
                return 1
            return 1 if model.stop_training else 0
        return call

    def pending_error(self):
        if self.error is not None:
            return self.error
        for cb in self.native:
            err = cb._fit_error()
            if err is not None:
                return err
        return None
