"""Training callbacks for ``Sequential.fit``, as in keras.callbacks.

Two sorts, usable together in one list (they run in list order):

* The library's own: ``EarlyStopping``, ``CSVLogger``, ``LearningRateScheduler``,
  ``ModelCheckpoint``, ``ReduceLROnPlateau``, ``BackupAndRestore``,
  ``TerminateOnNaN`` (each owns a
  ``bgm_callback`` handle; fit borrows it). Their verbose lines go where fit's
  progress goes; their warnings (a monitor missing from the logs) are
  UserWarnings, as in Keras.
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
import numbers
import os

from . import _lib
from ._lib import lib
from ._handle import Handle
from .errors import InvalidArgumentError

__all__ = ["Callback", "LambdaCallback", "History", "EarlyStopping", "CSVLogger",
           "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau",
           "BackupAndRestore", "TerminateOnNaN"]


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
    "val_loss", ..., "learning_rate") to its per-epoch values; ``epoch`` lists the epoch
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
    logged as "learning_rate" (Keras 3's name)."""

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


def _verbose(verbose):
    return 1 if verbose else 0


class ModelCheckpoint(_NativeCallback):
    """Saves the model (or only its weights) during fit, as Keras' ModelCheckpoint.

    filepath may hold str.format fields: ``{epoch:02d}`` (1-based), ``{batch}``
    (1-based, with an integer save_freq) and any log name (``{val_loss:.2f}``),
    with the format specs [[fill]align][sign][0][width][.precision][type]
    (type d, f, e, E, g, G, % or none). Missing folders are created.
    save_weights_only writes the weights alone, as model.save_weights does
    (safetensors for a path ending in ".safetensors", else the library's
    weights file; Keras' ".weights.h5" is HDF5, which bigmodel does not
    write); otherwise the whole model file (load it with
    bigmodel.load_model). save_freq: "epoch" or a number of
    batches. mode "auto" treats accuracy-like names (acc, auc, precision,
    recall, f1, r2) as higher-is-better."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        if save_freq == "epoch":
            freq = 0
        elif (isinstance(save_freq, numbers.Integral) and not isinstance(save_freq, bool)
              and save_freq > 0):
            freq = int(save_freq)
        else:
            raise InvalidArgumentError("Unrecognized save_freq: %r. Expected save_freq are "
                                       "'epoch' or integer values" % (save_freq,))
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode, self.save_freq = mode, save_freq
        self._make(lib.bgm_callback_model_checkpoint, os.fsencode(self.filepath),
                   monitor.encode("utf-8"), _verbose(verbose), 1 if save_best_only else 0,
                   1 if save_weights_only else 0, str(mode).encode("utf-8"), freq,
                   math.nan if initial_value_threshold is None
                   else float(initial_value_threshold))


class ReduceLROnPlateau(_NativeCallback):
    """Multiplies the learning rate by factor when monitor has not improved by
    more than min_delta for patience epochs (then waits cooldown epochs),
    never below min_lr; logs the rate as "learning_rate" (Keras 3's name)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        self.monitor, self.factor, self.patience = monitor, factor, patience
        self.mode, self.min_delta, self.cooldown, self.min_lr = mode, min_delta, cooldown, min_lr
        self._make(lib.bgm_callback_reduce_lr_on_plateau, monitor.encode("utf-8"),
                   float(factor), int(patience), _verbose(verbose), str(mode).encode("utf-8"),
                   float(min_delta), int(cooldown), float(min_lr))


class BackupAndRestore(_NativeCallback):
    """Backs the training state up in backup_dir at every epoch end; a fit that
    was interrupted (an exception, a kill) resumes after the last backup when
    fit runs again with this callback, and ends with the weights an
    uninterrupted fit gives, bit for bit. A fit that completes deletes the
    backup when delete_checkpoint. save_freq: "epoch" only (a backup in the
    middle of an epoch could not resume bit for bit)."""

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        if save_freq != "epoch":
            raise InvalidArgumentError("BackupAndRestore: save_freq=%r; only 'epoch' is "
                                       "supported" % (save_freq,))
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._make(lib.bgm_callback_backup_and_restore, os.fsencode(self.backup_dir),
                   1 if delete_checkpoint else 0)


class TerminateOnNaN(_NativeCallback):
    """Stops training at the end of a batch whose loss is NaN or infinite,
    printing "Batch <b>: Invalid loss, terminating training" (b from 0), as
    Keras. fit then returns its history normally (the epoch's loss is NaN);
    the batch's update is not applied. Without this callback (or another that
    stops training) a non-finite loss makes fit raise NonFiniteError.
    raise_error=True makes fit raise there instead: NonFiniteError (Keras
    raises a RuntimeError)."""

    def __init__(self, raise_error=False):
        self.raise_error = bool(raise_error)
        self._make(lib.bgm_callback_terminate_on_nan, 1 if raise_error else 0)
