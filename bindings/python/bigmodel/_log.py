"""The library's warnings about likely mistakes (bgm_model_set_log), as
Python UserWarnings with Keras' texts.

The C side only collects the messages while a compile or fit call runs;
they are issued with ``warnings.warn`` once the call has returned, so that
nothing raised by a warnings filter (``-W error``) unwinds through C.
"""
import threading
import warnings

from . import _lib
from ._lib import lib

_state = threading.local()


def _receive(ctx, level, message):
    try:
        pending = getattr(_state, "messages", None)
        if pending is not None:
            pending.append(message.decode("utf-8", "replace"))
    except BaseException:  # never unwinds through C
        pass


_LOG_FN = _lib.LOG_FN(_receive)  # module-lived: any model may hold it


class warnings_of:
    """``with warnings_of(h):`` around a library call on model handle h: the
    warnings it logs are issued as UserWarnings when the block ends."""

    def __init__(self, h, stacklevel=3):
        self.h, self.stacklevel = h, stacklevel

    def __enter__(self):
        lib.bgm_model_set_log(self.h, _LOG_FN, None)
        self._outer = getattr(_state, "messages", None)
        _state.messages = []
        return self

    def __exit__(self, *exc):
        messages, _state.messages = _state.messages, self._outer
        for text in messages:
            warnings.warn(text, UserWarning, stacklevel=self.stacklevel)
        return False
