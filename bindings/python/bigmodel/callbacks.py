"""Training callbacks for ``Sequential.fit``, as in keras.callbacks.

Two sorts, usable together in one list (they run in list order):

* The library's own: ``EarlyStopping``, ``CSVLogger``, ``LearningRateScheduler``
  (each owns a ``bgm_callback`` handle; fit borrows it).
* Python ones: subclass ``Callback`` and override ``on_train_begin(logs)``,
  ``on_epoch_begin(epoch, logs)``, ``on_train_batch_end(batch, logs)`` (alias
  ``on_batch_end``), ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``; or
  pass functions to ``LambdaCallback``. ``self.model`` is the model being
  trained; setting ``self.model.stop_training = True`` ends training (after
  the current batch at a batch end, else after the current epoch), as in
  Keras. There is no ``on_train_batch_begin``: the library has no such event.

An exception raised in a Python callback stops training (after the current
batch) and is re-raised by fit once the library has returned; it never
unwinds through C.
"""
import math
import os

from . import _lib
from ._lib import lib
from ._handle import Handle

__all__ = ["Callback", "LambdaCallback", "History", "EarlyStopping", "CSVLogger",
           "LearningRateScheduler"]


class Callback:
    """Base class of Python callbacks (keras.callbacks.Callback)."""

    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_batch_end(self, batch, logs=None):
        pass

    def _wants_batches(self):
        cls = type(self)
        return (cls.on_train_batch_end is not Callback.on_train_batch_end
                or cls.on_batch_end is not Callback.on_batch_end)


class LambdaCallback(Callback):
    """Callback from plain functions: on_epoch_end(epoch, logs), on_batch_end(batch,
    logs), on_train_begin(logs), ... (keras.callbacks.LambdaCallback)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, on_train_batch_end=None):
        self._fns = {"epoch_begin": on_epoch_begin, "epoch_end": on_epoch_end,
                     "batch_end": on_train_batch_end or on_batch_end,
                     "train_begin": on_train_begin, "train_end": on_train_end}

    def on_train_begin(self, logs=None):
        if self._fns["train_begin"]:
            self._fns["train_begin"](logs)

    def on_train_end(self, logs=None):
        if self._fns["train_end"]:
            self._fns["train_end"](logs)

    def on_epoch_begin(self, epoch, logs=None):
        if self._fns["epoch_begin"]:
            self._fns["epoch_begin"](epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._fns["epoch_end"]:
            self._fns["epoch_end"](epoch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self._fns["batch_end"]:
            self._fns["batch_end"](batch, logs)

    def _wants_batches(self):
        return self._fns["batch_end"] is not None


class History:
    """What fit returns: ``history`` maps each name ("loss", "accuracy",
    "val_loss", ..., "lr") to its per-epoch values; ``epoch`` lists the epoch
    indices; ``params`` the fit settings."""

    def __init__(self, history=None, epoch=None, params=None, model=None):
        self.history = history if history is not None else {}
        self.epoch = epoch if epoch is not None else []
        self.params = params or {}
        self.model = model

    def _append(self, epoch, logs):
        """Records one epoch (names first seen later get NaN for earlier epochs)."""
        n = len(self.epoch)
        for key in logs:
            if key not in self.history:
                self.history[key] = [math.nan] * n
        for key, values in self.history.items():
            values.append(logs.get(key, math.nan))
        self.epoch.append(epoch)

    def __repr__(self):
        return "<History of %d epochs: %s>" % (len(self.epoch), ", ".join(self.history))


# ---- callbacks the library implements ----------------------------------------------


class _NativeCallback(Handle):
    """A bgm_callback handle; fit borrows it for the call."""

    _free_fn, _counter, _what = "bgm_callback_free", "callback", "callback"

    def _fit_begins(self):
        """Called by fit before training; returns a pending error to re-raise, or None."""

    def _fit_error(self):
        return None


class EarlyStopping(_NativeCallback):
    """Stops when monitor has not improved by more than min_delta for patience
    epochs; improvement is "up" for accuracy-like names (acc, auc, precision,
    recall, f1, r2) and "down" otherwise (Keras' mode="auto"). With
    restore_best_weights the best epoch's weights are put back when it stops."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0,
                 restore_best_weights=False):
        self.monitor = monitor
        self._make(lib.bgm_callback_early_stopping, monitor.encode("utf-8"), int(patience),
                   float(min_delta), 1 if restore_best_weights else 0)

    @property
    def stopped_epoch(self):
        """Epoch at which the last fit stopped early; 0 if it did not (as Keras)."""
        return max(lib.bgm_callback_stopped_epoch(self._h), 0)


class CSVLogger(_NativeCallback):
    """Writes "epoch,<names in sorted order>" then one row per epoch to filename."""

    def __init__(self, filename, append=False):
        self.filename = filename
        self._make(lib.bgm_callback_csv_logger, os.fsencode(filename), 1 if append else 0)


class LearningRateScheduler(_NativeCallback):
    """schedule(epoch, lr) -> new rate, at the start of every epoch; the rate is
    logged as "lr"."""

    def __init__(self, schedule):
        self.schedule = schedule
        self._error = None
        self._fn = _lib.EPOCH_LR_FN(self._call)  # alive as long as the handle
        self._make(lib.bgm_callback_lr_scheduler, self._fn, None)

    def _call(self, epoch, lr, ctx):
        try:
            return float(self.schedule(epoch, lr))
        except BaseException as exc:  # re-raised by fit; NaN makes the library stop
            self._error = exc
            return math.nan

    def _fit_begins(self):
        self._error = None

    def _fit_error(self):
        err, self._error = self._error, None
        return err
