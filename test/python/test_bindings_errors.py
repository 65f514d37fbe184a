"""Every failing bgm_status becomes an exception of the matching class,
carrying the library's message and the status."""
import ctypes

import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib, errors

CLASSES = [
    (-1, bm.InvalidArgumentError, ValueError, "BGM_E_INVALID"),
    (-2, bm.NoMemoryError, MemoryError, "BGM_E_NOMEM"),
    (-3, bm.ShapeError, ValueError, "BGM_E_SHAPE"),
    (-4, bm.DTypeError, TypeError, "BGM_E_DTYPE"),
    (-5, bm.FileIOError, OSError, "BGM_E_IO"),
    (-6, bm.FormatError, ValueError, "BGM_E_FORMAT"),
    (-7, bm.StateError, RuntimeError, "BGM_E_STATE"),
    (-8, bm.UnsupportedError, NotImplementedError, "BGM_E_UNSUPPORTED"),
    (-9, bm.RangeError, IndexError, "BGM_E_RANGE"),
    (-10, bm.CancelledError, bm.BigmodelError, "BGM_E_CANCELLED"),
    (-11, bm.InternalError, RuntimeError, "BGM_E_INTERNAL"),
    (-12, bm.NonFiniteError, FloatingPointError, "BGM_E_NONFINITE"),
]


@pytest.mark.parametrize("status, cls, builtin, name", CLASSES)
def test_each_status_has_its_class(status, cls, builtin, name):
    err = errors.error_for_status(status, "what went wrong")
    assert type(err) is cls and isinstance(err, builtin) and isinstance(err, bm.BigmodelError)
    assert err.status == status and err.message == "what went wrong"
    assert str(err) == name + ": what went wrong"
    assert _lib.lib.bgm_status_string(status).decode() == name  # same names as the C side


def test_unknown_status_is_the_base_class():
    err = errors.error_for_status(-99, "odd")
    assert type(err) is bm.BigmodelError and err.status == -99


def test_library_failure_raises_with_last_error_message():
    out = ctypes.c_void_p(12345)
    dims = (ctypes.c_int64 * 1)(-2)
    with pytest.raises(bm.InvalidArgumentError) as info:
        _lib.lib.bgm_tensor_zeros(ctypes.byref(out), 1, dims, 1)
    assert "bgm_tensor_zeros" in info.value.message and "-2" in info.value.message
    assert out.value is None  # *out is NULL on error


def test_null_handles_are_reported_not_crashed():
    with pytest.raises(bm.InvalidArgumentError, match="NULL"):
        _lib.lib.bgm_tensor_fill(None, 1.0)


def test_bad_thread_count_is_invalid():
    with pytest.raises(bm.InvalidArgumentError, match="-3"):
        bm.set_num_threads(-3)
    n = bm.get_num_threads()
    bm.set_num_threads(1)
    assert bm.get_num_threads() == 1
    bm.set_num_threads(n)


def test_io_error_can_be_caught_as_oserror(tmp_path):
    with pytest.raises(OSError, match="nothing-here.gz"):
        bm.data.load_idx_images(tmp_path / "nothing-here.gz")
