"""Tensors from and to numpy arrays (sharing memory), and without numpy from
lists, array.array, memoryview and ctypes buffers."""
import array
import ctypes
import gc
import sys

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _compat, _lib

tensor_module = sys.modules["bigmodel.tensor"]


@pytest.fixture
def no_numpy(monkeypatch):
    """Runs the package as if numpy were not installed."""
    monkeypatch.setattr(_compat, "np", None)


# ---- numpy, sharing memory -------------------------------------------------------


def test_float32_array_is_wrapped_without_copy_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = bm.Tensor(a)
    assert t.shape == (2, 3) and t.dtype == "float32"
    a[1, 2] = 42.0
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 42.0]]
    v = t.numpy()
    v[0, 0] = -7.0
    assert a[0, 0] == -7.0
    assert v.__array_interface__["data"][0] == a.__array_interface__["data"][0]


def test_int32_array_is_wrapped_without_copy():
    a = np.array([3, 1, 2], dtype=np.int32)
    t = bm.Tensor(a)
    a[0] = 9
    assert t.dtype == "int32" and t.tolist() == [9, 1, 2]


def test_numpy_view_outlives_the_tensor_and_keeps_the_memory():
    t = bm.Tensor([[1.5, 2.5], [3.5, 4.5]])
    v = t.numpy()
    t.close()
    del t
    gc.collect()
    assert v.tolist() == [[1.5, 2.5], [3.5, 4.5]]
    assert v.dtype == np.float32


def test_wrapped_array_stays_alive_while_the_library_uses_it():
    a = np.full((1000,), 2.0, dtype=np.float32)
    address = a.__array_interface__["data"][0]
    t = bm.Tensor(a)
    before = tensor_module.kept_buffers()
    del a
    gc.collect()
    assert lib_data(t) == address
    assert t.numpy().sum() == 2000.0
    t.close()
    assert tensor_module.kept_buffers() == before - 1


def lib_data(t):
    return _lib.lib.bgm_tensor_data(t._h)


def test_np_asarray_of_a_tensor_is_a_view():
    t = bm.zeros((2, 2))
    a = np.asarray(t)
    a[1, 1] = 5.0
    assert t.tolist() == [[0.0, 0.0], [0.0, 5.0]]


def test_other_dtypes_and_layouts_are_copied_once_and_converted():
    f64 = np.array([[1.25, 2.5]], dtype=np.float64)
    t = bm.Tensor(f64)
    f64[0, 0] = 100.0
    assert t.dtype == "float32" and t.tolist() == [[1.25, 2.5]]
    strided = np.arange(10, dtype=np.float32)[::2]
    assert bm.Tensor(strided).tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    readonly = np.arange(3, dtype=np.float32)
    readonly.setflags(write=False)
    r = bm.Tensor(readonly)
    assert lib_data(r) != readonly.__array_interface__["data"][0]
    assert bm.Tensor(np.array([1, 2], dtype=np.int64)).dtype == "int32"
    assert bm.Tensor(np.array([True, False])).tolist() == [1, 0]
    assert bm.Tensor(np.arange(4, dtype=np.int32), dtype="float32").tolist() == \
        [0.0, 1.0, 2.0, 3.0]


def test_copy_true_does_not_share_memory():
    a = np.ones(3, dtype=np.float32)
    t = bm.Tensor(a, copy=True)
    a[0] = 9.0
    assert t.tolist() == [1.0, 1.0, 1.0]


def test_int64_values_outside_int32_are_rejected():
    with pytest.raises(bm.RangeError, match="do not fit in int32"):
        bm.Tensor(np.array([2**40], dtype=np.int64))


def test_float_to_int32_conversion_is_refused_with_advice():
    with pytest.raises(bm.DTypeError, match=r"astype\(np.int32\)"):
        bm.Tensor(np.array([1.5]), dtype="int32")


def test_unsupported_dtypes_raise_dtype_error():
    with pytest.raises(bm.DTypeError, match="unsupported dtype 'float16'"):
        bm.Tensor([1.0], dtype="float16")
    with pytest.raises(bm.DTypeError, match="complex"):
        bm.Tensor(np.array([1j]))
    with pytest.raises(TypeError):  # DTypeError is a TypeError
        bm.Tensor("text")


def test_empty_and_scalar_arrays():
    e = bm.Tensor(np.zeros((0, 3), dtype=np.float32))
    assert e.shape == (0, 3) and e.numpy().shape == (0, 3) and e.tolist() == []
    s = bm.Tensor(np.float32(2.5))
    assert s.shape == () and s.item() == 2.5 and float(s) == 2.5


# ---- without numpy --------------------------------------------------------------------


def test_nested_lists_infer_shape_and_dtype(no_numpy):
    t = bm.Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and t.dtype == "int32"
    f = bm.Tensor([[1, 2.5]])
    assert f.dtype == "float32" and f.tolist() == [[1.0, 2.5]]
    assert bm.Tensor(7).shape == () and bm.Tensor(7).item() == 7


def test_ragged_lists_raise_shape_error(no_numpy):
    with pytest.raises(bm.ShapeError, match="uneven lengths at depth 1"):
        bm.Tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(bm.DTypeError, match="expected numbers"):
        bm.Tensor([1.0, "x"])


def test_array_array_is_wrapped_without_copy(no_numpy):
    buf = array.array("f", [1.0, 2.0, 3.0])
    t = bm.Tensor(buf)
    buf[1] = 20.0
    assert t.tolist() == [1.0, 20.0, 3.0]
    view = t.memoryview()
    view[2] = 30.0
    assert buf[2] == 30.0
    ints = array.array("i", [5, 6])
    ti = bm.Tensor(ints)
    ints[0] = 50
    assert ti.dtype == "int32" and ti.tolist() == [50, 6]


def test_array_array_cannot_be_resized_while_wrapped(no_numpy):
    buf = array.array("f", [1.0, 2.0])
    t = bm.Tensor(buf)
    with pytest.raises(BufferError):
        buf.append(3.0)
    t.close()
    gc.collect()
    buf.append(3.0)  # released by the library's deleter
    assert len(buf) == 3


def test_memoryview_and_ctypes_buffers_keep_their_shape(no_numpy):
    raw = (ctypes.c_float * 6)(*range(6))
    t = bm.Tensor(memoryview(raw).cast("B").cast("f", [2, 3]))
    assert t.shape == (2, 3)
    raw[5] = 50.0
    assert t.tolist()[1][2] == 50.0
    assert bm.Tensor(raw).shape == (6,)


def test_other_buffer_formats_are_converted(no_numpy):
    assert bm.Tensor(array.array("d", [0.5, 1.5])).tolist() == [0.5, 1.5]
    assert bm.Tensor(array.array("q", [1, 2])).dtype == "int32"
    assert bm.Tensor(bytes([1, 2, 255])).tolist() == [1, 2, 255]


def test_numpy_method_explains_itself_without_numpy(no_numpy):
    with pytest.raises(ImportError, match="use tolist"):
        bm.ones(2).numpy()


def test_memoryview_outlives_the_tensor(no_numpy):
    t = bm.full((2, 2), 3.0)
    view = t.memoryview()
    t.close()
    gc.collect()
    assert view.tolist() == [[3.0, 3.0], [3.0, 3.0]] and view.format == "f"


def test_metrics_and_confusion_matrix_return_lists_without_numpy(no_numpy):
    assert bm.confusion_matrix([0, 1, 1], [0, 1, 0]) == [[1, 0], [1, 1]]
    assert bm.metrics.accuracy_score([0, 1, 1], [0, 1, 0]) == pytest.approx(2 / 3)


# ---- tensor behaviour ------------------------------------------------------------------------


def test_constructors_and_generator_are_deterministic():
    assert bm.zeros(3).tolist() == [0.0, 0.0, 0.0]
    assert bm.ones((1, 2), "int32").tolist() == [[1, 1]]
    assert bm.full(2, 1.5).tolist() == [1.5, 1.5]
    a = bm.random_normal((100,), seed=3).numpy()
    b = bm.random_normal((100,), seed=3).numpy()
    assert np.array_equal(a, b) and abs(a.mean()) < 0.5
    u = bm.Generator(1).uniform((1000,), 2.0, 3.0).numpy()
    assert u.min() >= 2.0 and u.max() < 3.0


def test_reshape_and_row_slices_share_memory_outside_a_tape():
    t = bm.Tensor(np.arange(6, dtype=np.float32))
    r = t.reshape(2, 3)
    rows = r[1:2]
    row = r[0]
    rows.fill(9.0)
    assert t.tolist() == [0.0, 1.0, 2.0, 9.0, 9.0, 9.0]
    assert row.tolist() == [0.0, 1.0, 2.0]
    assert [x.tolist() for x in r][1] == [9.0, 9.0, 9.0]
    with pytest.raises(bm.ShapeError, match=r"cannot reshape \(6,\) \(6 elements\) to \(4,\)"):
        t.reshape(4)
    with pytest.raises(bm.RangeError, match="index 5 is out of range"):
        r[5]


def test_assign_copy_and_requires_grad():
    t = bm.zeros((2,))
    t.assign([1.0, 2.0])
    c = t.copy()
    t.fill(0.0)
    assert c.tolist() == [1.0, 2.0]
    assert not t.requires_grad
    t.requires_grad = True
    assert t.requires_grad and bm.Variable([1.0]).requires_grad
    with pytest.raises(bm.ShapeError, match="does not match"):
        t.assign([1.0, 2.0, 3.0])


def test_requires_grad_on_int32_is_a_dtype_error():
    with pytest.raises(bm.DTypeError, match="float32"):
        bm.Tensor([1, 2]).requires_grad = True


def test_a_closed_tensor_raises_state_error():
    t = bm.ones(2)
    t.close()
    t.close()  # twice is harmless
    with pytest.raises(bm.StateError, match="closed"):
        t.shape
    assert repr(t) == "Tensor(<closed>)"


def test_context_manager_frees_the_handle():
    before = _lib.live.get("tensor", 0)
    with bm.ones(3) as t:
        assert _lib.live["tensor"] == before + 1
    assert t.closed and _lib.live["tensor"] == before


def test_item_needs_one_element():
    with pytest.raises(bm.ShapeError, match=r"shape \(2,\)"):
        bm.ones(2).item()
