"""Losses, as ``compile(loss=...)`` takes them and as callables for custom loops.

    model.compile(loss="sparse_categorical_crossentropy", from_logits=True)
    model.compile(loss=bigmodel.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = bigmodel.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)

Called, a loss object takes ``(y_true, y_pred)`` in Keras' order and returns
the mean loss as a scalar Tensor, recorded on the active GradientTape.

A custom loss is a function ``fn(y_true, y_pred)`` written with
bigmodel.ops that returns one value per sample, (N,) or (N, T), or a scalar
(Keras' loss functions): ``model.compile(loss=fn)`` trains with it in fit,
evaluate, the *_on_batch calls and compute_loss, reduced as Keras reduces
it ("sum_over_batch_size": sum(sample_weight * values) / values.size). A
saved model keeps its name (``fn.__name__``); load_model needs the function
again through ``custom_objects={name: fn}``.
"""
from . import ops
from .errors import InvalidArgumentError

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "LossFunctionWrapper",
           "get"]

MSE, MAE, BINARY_CE, CATEGORICAL_CE, SPARSE_CE, CUSTOM = 1, 2, 3, 4, 5, 6


class Loss:
    kind = None
    _op = None

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred):
        if self.kind in (MSE, MAE):
            return type(self)._op(y_pred, y_true)
        return type(self)._op(y_pred, y_true, from_logits=self.from_logits)

    def __repr__(self):
        return "%s(from_logits=%s)" % (type(self).__name__, self.from_logits)


class MeanSquaredError(Loss):
    kind = MSE
    _op = staticmethod(ops.mse_loss)

    def __init__(self):
        super().__init__(False)


class MeanAbsoluteError(Loss):
    kind = MAE
    _op = staticmethod(ops.mae_loss)

    def __init__(self):
        super().__init__(False)


class BinaryCrossentropy(Loss):
    kind = BINARY_CE
    _op = staticmethod(ops.binary_crossentropy)


class CategoricalCrossentropy(Loss):
    kind = CATEGORICAL_CE
    _op = staticmethod(ops.categorical_crossentropy)


class SparseCategoricalCrossentropy(Loss):
    kind = SPARSE_CE
    _op = staticmethod(ops.sparse_categorical_crossentropy)


class LossFunctionWrapper(Loss):
    """A loss function fn(y_true, y_pred) of bigmodel.ops, named name
    (fn.__name__ by default), as compile(loss=fn) wraps it. Called, it returns
    the mean of fn's values (Keras' "sum_over_batch_size" without weights)."""
    kind = CUSTOM

    def __init__(self, fn, name=None):
        super().__init__(False)
        if not callable(fn):
            raise InvalidArgumentError("LossFunctionWrapper needs a callable, got %r" % (fn,))
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", None) or type(fn).__name__)

    def __call__(self, y_true, y_pred):
        values = self.fn(y_true, y_pred)
        return ops.reduce_mean(values) if values.ndim else values

    def __repr__(self):
        return "LossFunctionWrapper(%s)" % self.name


_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(loss):
    """A Loss object from a name (Keras' spelling), a Loss object, a Loss class or
    a function fn(y_true, y_pred) (wrapped in a LossFunctionWrapper)."""
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if isinstance(loss, str):
        cls = _NAMES.get(loss.lower())
        if cls is None:
            raise InvalidArgumentError("unknown loss %r; expected one of %s"
                                       % (loss, ", ".join(sorted(_NAMES))))
        return cls()
    if not isinstance(loss, Loss) and callable(loss):
        return LossFunctionWrapper(loss)
    if not isinstance(loss, Loss):
        raise InvalidArgumentError("loss must be a name, a bigmodel.losses.Loss or a function "
                                   "fn(y_true, y_pred), got %r" % (loss,))
    return loss
