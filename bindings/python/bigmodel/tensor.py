"""Tensor: an n-dimensional float32 / int32 array owned by libbigmodel.

Conversions share memory whenever they can:

* ``Tensor(numpy_array)`` wraps the array's buffer (``bgm_tensor_wrap``) when it
  is float32 or int32, C-contiguous, aligned and writeable. The array stays
  alive until the library's last view of it is freed (the library calls a
  deleter then), so writes through either side are seen by the other.
  Anything else (other dtypes, strided or read-only arrays) is copied once.
* Buffers without numpy (``array.array('f')``, ``array.array('i')``,
  ``memoryview``, ctypes arrays) are wrapped the same way; lists, tuples and
  Python numbers are copied.
* ``t.numpy()`` and ``np.asarray(t)`` are views of the tensor's memory that
  keep that memory alive on their own (closing the tensor does not invalidate
  them). ``t.memoryview()`` does the same without numpy.

A Tensor frees its handle when it is garbage-collected, or at once with
``close()`` / a ``with`` block. Results of operations recorded on a
GradientTape belong to the tape: Python never frees them, and the tape's
memory lives as long as any of them (see bigmodel.tape).
"""
import array
import ctypes
import itertools
import numbers

from . import _compat
from . import _lib
from ._lib import lib
from ._handle import Handle
from .errors import DTypeError, InvalidArgumentError, RangeError, ShapeError, StateError

__all__ = ["Tensor", "as_tensor", "zeros", "ones", "full", "Variable",
           "Generator", "random_normal", "random_uniform", "float32", "int32"]

float32 = "float32"
int32 = "int32"
_CODE = {float32: 1, int32: 2}
_NAME = {1: float32, 2: int32}
_FORMAT = {float32: "f", int32: "i"}        # struct / memoryview format
_TYPESTR = {float32: "<f4", int32: "<i4"}   # numpy __array_interface__
_INT32_CODE = "i" if array.array("i").itemsize == 4 else "l"
_MAX_ROWS_SHOWN = 20


def dtype_name(dtype):
    """'float32' or 'int32' for a name, numpy dtype or type, float or int."""
    if dtype is None:
        return None
    if dtype is float:
        return float32
    if dtype is int:
        return int32
    name = dtype if isinstance(dtype, str) else (
        getattr(dtype, "name", None) or getattr(dtype, "__name__", None))
    if name in (float32, int32):
        return name
    raise DTypeError("unsupported dtype %r: tensors hold float32 or int32" % (dtype,))


# ---- buffers the library borrows ---------------------------------------------
# Each wrapped buffer is kept here under an integer key passed to the library
# as the deleter's ctx; the deleter drops the entry when the library's last
# view of the buffer goes away.

_kept = {}
_keys = itertools.count(1)


def _release(data, ctx):
    _kept.pop(ctx, None)


_DELETER = _lib.DELETER(_release)


def kept_buffers():
    """Number of caller buffers the library still borrows (for leak tests)."""
    return len(_kept)


def _wrap(address, keepalive, dtype, shape):
    """New handle over memory at address, keeping keepalive until released."""
    out = ctypes.c_void_p()
    dims, ndim = _lib.shape_array(shape)
    key = next(_keys)
    _kept[key] = keepalive
    try:
        lib.bgm_tensor_wrap(ctypes.byref(out), _CODE[dtype], dims, ndim, address,
                            _DELETER, key)
    except BaseException:
        _kept.pop(key, None)  # on error the library does not call the deleter
        raise
    return out.value


def _new(fn, dtype, shape, *extra):
    out = ctypes.c_void_p()
    dims, ndim = _lib.shape_array(shape)
    fn(ctypes.byref(out), _CODE[dtype], dims, ndim, *extra)
    return out.value


# ---- conversions into a handle -----------------------------------------------


def _from_numpy(np, arr, dtype, copy):
    if dtype is None:
        if arr.dtype.kind == "f":
            dtype = float32
        elif arr.dtype.kind in "iub":
            dtype = int32
        else:
            raise DTypeError("cannot make a tensor from a numpy array of dtype %s"
                             % arr.dtype)
    target = np.dtype(dtype)
    if arr.dtype != target:
        if dtype == int32 and arr.dtype.kind in "iu" and arr.size and (
                arr.min() < -2**31 or arr.max() > 2**31 - 1):
            raise RangeError("values of the %s array do not fit in int32" % arr.dtype)
        if dtype == int32 and arr.dtype.kind == "f":
            raise DTypeError("refusing to truncate a %s array to int32: convert it "
                             "with .astype(np.int32) first" % arr.dtype)
        arr = arr.astype(target)
    elif copy or not (arr.flags.c_contiguous and arr.flags.aligned and arr.flags.writeable):
        arr = np.array(arr, dtype=target, order="C")
    if arr.size == 0:
        return _new(lib.bgm_tensor_zeros, dtype, arr.shape)
    return _wrap(arr.__array_interface__["data"][0], arr, dtype, arr.shape)


def _buffer_dtype(view):
    fmt = view.format.lstrip("@=<")
    if fmt == "f" and view.itemsize == 4:
        return float32
    if fmt in ("i", "l") and view.itemsize == 4:
        return int32
    return None


def _from_buffer(view, dtype, copy):
    own = _buffer_dtype(view)
    want = dtype or own or (float32 if view.format.lstrip("@=<!>") in "efd" else int32)
    shape = tuple(view.shape) if view.ndim else ()
    if (own == want and not copy and not view.readonly and view.c_contiguous
            and view.nbytes > 0):
        holder = (ctypes.c_char * view.nbytes).from_buffer(view)
        return _wrap(ctypes.addressof(holder), holder, want, shape)
    flat = _flatten(view.tolist())[0] if view.ndim else [view.tolist()]
    return _from_sequence(flat, want, shape)


def _flatten(data):
    """(flat values, shape) of nested lists / tuples."""
    shape, level = [], [data]
    while level and isinstance(level[0], (list, tuple)):
        n = len(level[0])
        if any(not isinstance(x, (list, tuple)) or len(x) != n for x in level):
            raise ShapeError("nested sequences have uneven lengths at depth %d"
                             % len(shape))
        shape.append(n)
        level = [y for x in level for y in x]
    return level, tuple(shape)


def _all_integral(flat):
    kinds = set(map(type, flat))  # one pass in C, then a check per distinct type
    return all(issubclass(k, numbers.Integral) for k in kinds)


def _from_sequence(flat, dtype, shape):
    if dtype is None:
        dtype = int32 if flat and _all_integral(flat) else float32
    if not flat:
        return _new(lib.bgm_tensor_zeros, dtype, shape)
    try:
        if dtype == int32:
            if not _all_integral(flat):
                raise DTypeError("int32 tensor from non-integer values")
            buf = array.array(_INT32_CODE, flat)
        else:
            buf = array.array("f", flat)
    except OverflowError:
        raise RangeError("values do not fit in %s" % dtype) from None
    except TypeError:
        bad = next((x for x in flat if not isinstance(x, (int, float))), flat[0])
        raise DTypeError("cannot make a tensor from %r (expected numbers)" % (bad,)) from None
    return _wrap(buf.buffer_info()[0], buf, dtype, shape)


def _handle_from(data, dtype, copy):
    dtype = dtype_name(dtype)
    np = _compat.np
    if isinstance(data, Tensor):
        return data._converted(dtype, copy)
    if np is not None and isinstance(data, (np.ndarray, np.generic)):
        return _from_numpy(np, np.asarray(data), dtype, copy)
    if isinstance(data, numbers.Number):
        return _from_sequence([data], dtype, ())
    if isinstance(data, (list, tuple)):
        if np is not None and data and isinstance(data[0], np.ndarray):
            return _from_numpy(np, np.asarray(data), dtype, copy)
        flat, shape = _flatten(data)
        return _from_sequence(flat, dtype, shape)
    if isinstance(data, str):
        raise DTypeError("cannot make a tensor from a %s" % type(data).__name__)
    try:
        view = memoryview(data)
    except TypeError:
        if np is not None:
            return _from_numpy(np, np.asarray(data), dtype, copy)
        raise DTypeError("cannot make a tensor from %s" % type(data).__name__) from None
    return _from_buffer(view, dtype, copy)


# ---- views out of a tensor -----------------------------------------------------


class _Export:
    """Memory of one tensor handed to numpy / memoryview: keeps it alive.

    For a caller-owned tensor it owns a view handle (the storage is reference
    counted by the library), so the Tensor may be closed meanwhile; for a
    tape-owned tensor it holds the tape's memory.
    """

    _ptr = None
    _owned = False

    def __init__(self, t):
        if t._tape is None:
            out = ctypes.c_void_p()
            dims, ndim = _lib.shape_array(t.shape)
            lib.bgm_tensor_reshape(ctypes.byref(out), t._h, dims, ndim)
            self._ptr, self._owned = out.value, True
            _lib.count("tensor", 1)
        else:
            self._ptr, self._tape = t._h, t._tape
            t._tape.dependents.add(self)
        self.shape, self.dtype = t.shape, t.dtype
        self.address = lib.bgm_tensor_data(self._ptr)
        self.nbytes = lib.bgm_tensor_nbytes(self._ptr)
        self.__array_interface__ = {"shape": self.shape, "typestr": _TYPESTR[self.dtype],
                                    "data": (self.address, False), "version": 3}

    def __del__(self):
        if self._owned and not _lib.exiting:
            try:
                lib.bgm_tensor_free(self._ptr)
                _lib.count("tensor", -1)
            except Exception:
                pass


# ---- the Tensor class ------------------------------------------------------------


class Tensor:
    """An n-dimensional array in libbigmodel's memory (float32 or int32).

    ``Tensor(data, dtype=None, copy=False, requires_grad=False)`` accepts a
    numpy array (wrapped without copying when it can be), a buffer
    (array.array, memoryview), a nested list / tuple, a number, or another
    Tensor (a new handle over the same memory). dtype is inferred: floating
    data gives float32, integer data int32.
    """

    __array_priority__ = 1000  # numpy defers `ndarray + Tensor` to Tensor
    _ptr = None
    _tape = None

    def __init__(self, data, dtype=None, *, copy=False, requires_grad=False):
        self._set(_handle_from(data, dtype, copy), None)
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _adopt(cls, ptr, tape=None):
        """A Tensor over a new handle: owned by Python, or by `tape` (a tape's memory)."""
        t = cls.__new__(cls)
        t._set(ptr, tape)
        return t

    def _set(self, ptr, tape):
        self._ptr = ptr
        self._tape = tape
        if tape is None:
            _lib.count("tensor", 1)
        else:
            tape.dependents.add(self)

    def _converted(self, dtype, copy):
        """A new owned handle with this tensor's values (shared unless copy or cast)."""
        if dtype is not None and dtype != self.dtype:
            return _from_sequence(self._flat(), dtype, self.shape) if _compat.np is None \
                else _from_numpy(_compat.np, self.numpy(), dtype, True)
        out = ctypes.c_void_p()
        if copy or self._tape is not None:
            lib.bgm_tensor_clone(ctypes.byref(out), self._h)
        else:
            dims, ndim = _lib.shape_array(self.shape)
            lib.bgm_tensor_reshape(ctypes.byref(out), self._h, dims, ndim)
        return out.value

    # -- lifetime --

    @property
    def _h(self):
        if self._ptr is None:
            raise StateError("this tensor was closed")
        return self._ptr

    def close(self):
        """Releases the handle now (memory shared with views or numpy arrays stays)."""
        ptr, self._ptr = self._ptr, None
        if ptr is None:
            return
        if self._tape is not None:
            self._tape.dependents.discard(self)
            self._tape = None
        elif not _lib.exiting:
            lib.bgm_tensor_free(ptr)
            _lib.count("tensor", -1)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._ptr is None

    @property
    def tape_owned(self):
        """True for a result recorded on a GradientTape (the tape owns its memory)."""
        return self._tape is not None

    # -- metadata --

    @property
    def shape(self):
        h = self._h
        ndim = lib.bgm_tensor_ndim(h)
        dims = lib.bgm_tensor_shape(h)
        return tuple(dims[i] for i in range(ndim))

    @property
    def ndim(self):
        return lib.bgm_tensor_ndim(self._h)

    @property
    def dtype(self):
        return _NAME[lib.bgm_tensor_dtype(self._h)]

    @property
    def size(self):
        return lib.bgm_tensor_numel(self._h)

    @property
    def nbytes(self):
        return lib.bgm_tensor_nbytes(self._h)

    @property
    def requires_grad(self):
        return bool(lib.bgm_tensor_requires_grad(self._h))

    @requires_grad.setter
    def requires_grad(self, value):
        lib.bgm_tensor_set_requires_grad(self._h, 1 if value else 0)

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-dimensional tensor")
        return shape[0]

    # -- getting the values out --

    def numpy(self, copy=False):
        """A numpy array over this tensor's memory (or a copy with copy=True)."""
        np = _compat.np
        if np is None:
            raise ImportError("numpy is not available; use tolist() or memoryview()")
        if self.size == 0:
            return np.zeros(self.shape, dtype=self.dtype)
        arr = np.asarray(_Export(self))
        return arr.copy() if copy else arr

    def __array__(self, dtype=None):
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    def memoryview(self):
        """A memoryview (format 'f' or 'i', this shape) over the tensor's memory."""
        fmt = _FORMAT[self.dtype]
        if self.size == 0:
            return memoryview(array.array(fmt if fmt == "f" else _INT32_CODE))
        export = _Export(self)
        raw = (ctypes.c_char * export.nbytes).from_address(export.address)
        raw._bigmodel_export = export  # the memoryview keeps raw, raw keeps the memory
        return memoryview(raw).cast("B").cast(fmt, list(export.shape))

    def _flat(self):
        if self.size == 0:
            return []
        view = self.memoryview()
        return view.cast("B").cast(view.format).tolist()

    def tolist(self):
        """Nested lists of Python numbers (a number for a 0-dimensional tensor)."""
        if self.size == 0:
            return _nest([], self.shape)
        return self.memoryview().tolist()

    def item(self):
        if self.size != 1:
            raise ShapeError("item() needs a tensor of one element, this one has shape %s"
                             % (self.shape,))
        return self._flat()[0]

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        return bool(self.item())

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        if self._ptr is None:
            return "Tensor(<closed>)"
        shape = self.shape
        if self.size <= 64:
            return "Tensor(%r, shape=%s, dtype=%s)" % (self.tolist(), shape, self.dtype)
        return "Tensor(shape=%s, dtype=%s)" % (shape, self.dtype)

    # -- changing the values in place --

    def assign(self, value):
        """Overwrites every element from value (same shape), in place; returns self."""
        src = value if isinstance(value, Tensor) else Tensor(value, self.dtype)
        if src.shape != self.shape or src.dtype != self.dtype:
            raise ShapeError("assign: value of shape %s %s does not match %s %s"
                             % (src.shape, src.dtype, self.shape, self.dtype))
        if self.size:
            lib.bgm_tensor_copy_from(self._h, lib.bgm_tensor_data(src._h), src.nbytes)
        return self

    def fill(self, value):
        """Sets every element to value, in place; returns self."""
        lib.bgm_tensor_fill(self._h, float(value))
        return self

    def copy(self):
        """A new tensor with its own copy of the values (caller-owned, even from a tape)."""
        out = ctypes.c_void_p()
        lib.bgm_tensor_clone(ctypes.byref(out), self._h)
        return Tensor._adopt(out.value)

    # -- shapes (recorded on the active tape, see bigmodel.ops) --

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def transpose(self):
        return _ops.transpose(self)

    T = property(transpose)

    def __getitem__(self, key):
        """Rows of the first dimension: t[i] and t[start:stop] (step 1)."""
        n = len(self)
        if isinstance(key, numbers.Integral):
            i = key + n if key < 0 else key
            if not 0 <= i < n:
                raise RangeError("index %d is out of range for dimension 0 of size %d"
                                 % (key, n))
            return _ops.reshape(_ops.slice(self, i, i + 1, axis=0), self.shape[1:])
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                raise InvalidArgumentError("tensor slices need step 1")
            return _ops.slice(self, start, max(start, stop), axis=0)
        raise InvalidArgumentError("tensors are indexed by an int or a slice of rows, "
                                   "got %r (use .numpy() for fancy indexing)" % (key,))

    def sum(self, axis=None, keepdims=False):
        return _ops.reduce_sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.reduce_mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.reduce_max(self, axis, keepdims)

    # -- arithmetic (recorded on the active tape) --

    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.subtract(self, other)

    def __rsub__(self, other):
        return _ops.subtract(other, self)

    def __mul__(self, other):
        return _ops.multiply(self, other)

    def __rmul__(self, other):
        return _ops.multiply(other, self)

    def __truediv__(self, other):
        return _ops.divide(self, other)

    def __rtruediv__(self, other):
        return _ops.divide(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __pow__(self, exponent):
        return _ops.pow(self, exponent)

    def __neg__(self):
        return _ops.negative(self)

    def __pos__(self):
        return self


def _nest(flat, shape):
    if not shape:
        return flat[0] if flat else []
    if shape[0] == 0:
        return []
    step = len(flat) // shape[0] if flat else 0
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# ---- constructors ----------------------------------------------------------------


def as_tensor(data, dtype=None):
    """data itself when it is a Tensor of that dtype, else Tensor(data, dtype)."""
    if isinstance(data, Tensor) and (dtype is None or dtype_name(dtype) == data.dtype):
        return data
    return Tensor(data, dtype)


def Variable(data, dtype=float32):
    """A float32 tensor every tape differentiates against (requires_grad=True)."""
    return Tensor(data, dtype, copy=True, requires_grad=True)


def _shape_of(shape):
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def zeros(shape, dtype=float32):
    return Tensor._adopt(_new(lib.bgm_tensor_zeros, dtype_name(dtype), _shape_of(shape)))


def ones(shape, dtype=float32):
    return Tensor._adopt(_new(lib.bgm_tensor_ones, dtype_name(dtype), _shape_of(shape)))


def full(shape, value, dtype=float32):
    return Tensor._adopt(_new(lib.bgm_tensor_full, dtype_name(dtype), _shape_of(shape),
                              float(value)))


class Generator(Handle):
    """A seeded random generator (bgm_rng): equal seeds give equal draws everywhere."""

    _free_fn, _counter, _what = "bgm_rng_free", "rng", "generator"

    def __init__(self, seed=0):
        self._make(lib.bgm_rng_create, int(seed))

    def normal(self, shape, mean=0.0, stddev=1.0):
        out = ctypes.c_void_p()
        dims, ndim = _lib.shape_array(_shape_of(shape))
        lib.bgm_tensor_randn(ctypes.byref(out), self._h, dims, ndim, mean, stddev)
        return Tensor._adopt(out.value)

    def uniform(self, shape, low=0.0, high=1.0):
        out = ctypes.c_void_p()
        dims, ndim = _lib.shape_array(_shape_of(shape))
        lib.bgm_tensor_rand_uniform(ctypes.byref(out), self._h, dims, ndim, low, high)
        return Tensor._adopt(out.value)

    def random(self):
        """One float uniform on [0, 1)."""
        return lib.bgm_rng_uniform(self._h)


def random_normal(shape, mean=0.0, stddev=1.0, seed=0):
    return Generator(seed).normal(shape, mean, stddev)


def random_uniform(shape, low=0.0, high=1.0, seed=0):
    return Generator(seed).uniform(shape, low, high)


from . import ops as _ops  # noqa: E402  (ops needs Tensor defined first)
