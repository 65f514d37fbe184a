"""Exceptions raised by the bigmodel package.

Every failing call into libbigmodel returns a negative ``bgm_status``; the
package turns it into an instance of the class below that matches the code,
carrying the library's own message (``bgm_last_error()``) and the code itself.
Each class also derives from the built-in exception a Python programmer would
expect (``ShapeError`` is a ``ValueError``, ``DTypeError`` a ``TypeError``,
...), so ``except ValueError`` keeps working.
"""

__all__ = [
    "BigmodelError", "InvalidArgumentError", "NoMemoryError", "ShapeError",
    "DTypeError", "FileIOError", "FormatError", "StateError", "UnsupportedError",
    "RangeError", "CancelledError", "InternalError", "NonFiniteError",
]


class BigmodelError(Exception):
    """Base class of every error the library reports.

    ``status`` is the numeric ``bgm_status`` (negative), ``status_name`` its
    name (``"BGM_E_SHAPE"``), ``message`` the library's explanation.
    """

    status = None
    status_name = "BGM_E_UNKNOWN"

    def __init__(self, message, status=None):
        if status is not None:
            self.status = status
        self.message = message
        super().__init__(message)

    def __str__(self):
        return "%s: %s" % (self.status_name, self.message)


class InvalidArgumentError(BigmodelError, ValueError):
    """BGM_E_INVALID: a NULL handle, an out-of-range or malformed argument."""
    status, status_name = -1, "BGM_E_INVALID"


class NoMemoryError(BigmodelError, MemoryError):
    """BGM_E_NOMEM: an allocation failed or a size overflows."""
    status, status_name = -2, "BGM_E_NOMEM"


class ShapeError(BigmodelError, ValueError):
    """BGM_E_SHAPE: shapes do not fit together."""
    status, status_name = -3, "BGM_E_SHAPE"


class DTypeError(BigmodelError, TypeError):
    """BGM_E_DTYPE: a tensor has the wrong element type."""
    status, status_name = -4, "BGM_E_DTYPE"


class FileIOError(BigmodelError, OSError):
    """BGM_E_IO: a file could not be opened, read or written."""
    status, status_name = -5, "BGM_E_IO"

    def __init__(self, message, status=None):
        # OSError reads two positional arguments as (errno, strerror); keep one.
        BigmodelError.__init__(self, message, status)


class FormatError(BigmodelError, ValueError):
    """BGM_E_FORMAT: a file or buffer is malformed, truncated or corrupt."""
    status, status_name = -6, "BGM_E_FORMAT"


class StateError(BigmodelError, RuntimeError):
    """BGM_E_STATE: the object is not in a state that allows the call."""
    status, status_name = -7, "BGM_E_STATE"


class UnsupportedError(BigmodelError, NotImplementedError):
    """BGM_E_UNSUPPORTED: a valid request this build or version cannot do."""
    status, status_name = -8, "BGM_E_UNSUPPORTED"


class RangeError(BigmodelError, IndexError):
    """BGM_E_RANGE: an index or value is outside its valid range."""
    status, status_name = -9, "BGM_E_RANGE"


class CancelledError(BigmodelError):
    """BGM_E_CANCELLED: stopped on request (a cancel flag or a callback)."""
    status, status_name = -10, "BGM_E_CANCELLED"


class InternalError(BigmodelError, RuntimeError):
    """BGM_E_INTERNAL: an internal invariant failed (a library bug: please report it)."""
    status, status_name = -11, "BGM_E_INTERNAL"


class NonFiniteError(BigmodelError, FloatingPointError):
    """BGM_E_NONFINITE: a training step met a NaN or infinite loss or gradient.

    The message names the epoch, the step and the loss or the first weight
    concerned; that step's update was not applied (the weights are those of
    the last finite step) and the model can be trained again."""
    status, status_name = -12, "BGM_E_NONFINITE"


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgumentError, NoMemoryError, ShapeError, DTypeError, FileIOError,
    FormatError, StateError, UnsupportedError, RangeError, CancelledError,
    InternalError, NonFiniteError)}


def error_for_status(status, message):
    """The exception for a failing status (an unknown code gives BigmodelError)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        err = BigmodelError(message, status)
        err.status_name = "BGM_E_UNKNOWN(%d)" % status
        return err
    return cls(message)
