"""Losses, as ``compile(loss=...)`` takes them and as callables for custom loops.

    model.compile(loss="sparse_categorical_crossentropy", from_logits=True)
    model.compile(loss=bigmodel.losses.SparseCategoricalCrossentropy(from_logits=True))
    loss = bigmodel.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)

Called, a loss object takes ``(y_true, y_pred)`` in Keras' order and returns
the mean loss as a scalar Tensor, recorded on the active GradientTape.
"""
from . import ops
from .errors import InvalidArgumentError

__all__ = ["Loss", "MeanSquaredError", "MeanAbsoluteError", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "get"]

MSE, MAE, BINARY_CE, CATEGORICAL_CE, SPARSE_CE = 1, 2, 3, 4, 5


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


_NAMES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


def get(loss):
    """A Loss object from a name (Keras' spelling), a Loss object or a Loss class."""
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    if isinstance(loss, str):
        cls = _NAMES.get(loss.lower())
        if cls is None:
            raise InvalidArgumentError("unknown loss %r; expected one of %s"
                                       % (loss, ", ".join(sorted(_NAMES))))
        return cls()
    if not isinstance(loss, Loss):
        raise InvalidArgumentError("loss must be a name or a bigmodel.losses.Loss, got %r"
                                   % (loss,))
    return loss
