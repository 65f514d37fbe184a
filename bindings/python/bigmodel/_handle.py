"""The life of one library handle held by a Python object, shared by the
package's handle classes (Dataset, Metric, Optimizer, Layer, ...)."""
import ctypes

from . import _lib
from ._lib import lib
from .errors import StateError


class Handle:
    """Owns one library handle and frees it once: by close(), or when the
    object is collected; never at interpreter exit (the process is ending).

    A subclass names ``_free_fn`` (its bgm_*_free function), ``_counter`` (its key
    in the live-handle counts the leak tests read) and ``_what`` (the object
    in "this ... was closed"). A handle given to an ``_owner`` (a model) is
    the owner's to free."""

    _ptr = None
    _owner = None
    _free_fn = _counter = _what = None

    def _take(self, ptr):
        """Takes ownership of ptr, a new handle."""
        self._ptr = ptr
        _lib.count(self._counter, 1)

    def _make(self, fn, *args):
        """Takes the handle that fn(&out, *args) creates."""
        out = ctypes.c_void_p()
        fn(ctypes.byref(out), *args)
        self._take(out.value)

    @property
    def _h(self):
        if self._ptr is None:
            raise StateError("this %s was closed" % self._what)
        return self._ptr

    def close(self):
        """Frees the handle now (one given to a model is the model's to free)."""
        ptr, self._ptr = self._ptr, None
        if ptr is not None and self._owner is None and not _lib.exiting:
            getattr(lib, self._free_fn)(ptr)
            _lib.count(self._counter, -1)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
