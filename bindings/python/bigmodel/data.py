"""Datasets, batches and file loaders (bigmodel/data.h), with one-hot
encoding and train/test splits from bigmodel/preprocess.h (scalers and K-fold
are in bigmodel.preprocessing).

A Dataset is features x (float32, or int32 token ids; first dimension =
sample count N) and optional targets y (int32 class ids or float32 values).
Datasets made from numpy arrays share their memory (no copy); take / skip
are views; shuffle, concatenate and subset copy.

For models of several inputs or outputs, x and y may each be a list or a
dict of arrays (one per input / output, all with N samples), as tf.data's
from_tensor_slices((x, y)) takes them: every reordering, split and batch
moves the samples of all of them together, and ``x`` / ``y`` / batches come
back in the structure given. fit / evaluate take such a dataset as they
take the arrays. (one_hot and the scalers take datasets of one x and one y.)

    train = bigmodel.data.load_idx("train-images-idx3-ubyte.gz",
                                   "train-labels-idx1-ubyte.gz")
    for x, y in train.shuffle(42).batches(32):
        ...   # x: Tensor (32, 28, 28, 1) float32, y: Tensor (32,) int32
"""
import ctypes
import os

from . import _lib
from ._lib import lib, tensor_array as _handles
from ._handle import Handle
from .errors import InvalidArgumentError
from .tensor import Tensor, as_tensor, float32, int32

__all__ = ["Dataset", "Pipeline", "PyDataset", "AUTOTUNE", "INFINITE_CARDINALITY",
           "UNKNOWN_CARDINALITY", "BatchIterator", "load_idx", "load_idx_images", "load_idx_labels",
           "load_cifar", "load_csv", "load_npy", "save_npy", "one_hot"]

_CIFAR = {"cifar10": 1, "cifar100": 2, "cifar100_fine": 2, "cifar100_coarse": 3}


def _path(p):
    return os.fsencode(p)


def _view(ptr):
    """A caller-owned Tensor sharing the memory of a borrowed tensor handle."""
    if not ptr:
        return None
    ndim = lib.bgm_tensor_ndim(ptr)
    dims = lib.bgm_tensor_shape(ptr)
    shape = (ctypes.c_int64 * max(ndim, 1))(*[dims[i] for i in range(ndim)])
    out = ctypes.c_void_p()
    lib.bgm_tensor_reshape(ctypes.byref(out), ptr, shape, ndim)
    return Tensor._adopt(out.value)


def _copy(ptr):
    if not ptr:
        return None
    out = ctypes.c_void_p()
    lib.bgm_tensor_clone(ctypes.byref(out), ptr)
    return Tensor._adopt(out.value)


def _flatten(data, dtype=None):
    """(Tensors, structure) of one array, a list / tuple of arrays, or a dict of
    them; the structure is None for one array, False for a list, else the keys."""
    if isinstance(data, dict):
        keys = list(data)
        return [as_tensor(data[k], dtype) for k in keys], keys
    if isinstance(data, (list, tuple)) and data and all(hasattr(d, "shape") for d in data):
        return [as_tensor(d, dtype) for d in data], False
    return [as_tensor(data, dtype)], None


def _structure(tensors, keys):
    """tensors in the structure _flatten found."""
    if keys is None:
        return tensors[0]
    if keys is False:
        return list(tensors)
    return dict(zip(keys, tensors))


class Dataset(Handle):
    """N samples of features x and optional targets y, in library memory."""

    _free_fn, _counter, _what = "bgm_dataset_free", "dataset", "dataset"

    def __init__(self, x, y=None, x_dtype=None):
        """Dataset over x and y (Tensors or arrays; numpy arrays are not copied;
        for several inputs or outputs, lists or dicts of them).

        x holds float32 features, or int32 token ids for text: integer data
        gives int32 unless x_dtype says otherwise (x_dtype="float32" for raw
        integer pixels, which are then copied to float32)."""
        txs, self._x_keys = _flatten(x, x_dtype)
        tys, self._y_keys = ([], None) if y is None else _flatten(y)
        if self._x_keys is None and self._y_keys is None:
            self._make(lib.bgm_dataset_from_tensors, txs[0]._h, tys[0]._h if tys else None)
        else:
            self._make(lib.bgm_dataset_from_tensors_multi, _handles(txs), len(txs),
                       _handles(tys), len(tys))

    @classmethod
    def _adopt(cls, ptr, like=None):
        """A Dataset over ptr, a new dataset handle; like: the dataset it was made
        from, whose structure of tensors it has."""
        ds = cls.__new__(cls)
        ds._take(ptr)
        if like is not None:
            ds._x_keys, ds._y_keys = like._x_keys, like._y_keys
        return ds

    @classmethod
    def from_tensors(cls, x, y=None):
        """Same as Dataset(x, y)."""
        return cls(x, y)

    from_numpy = from_tensors

    @classmethod
    def from_tensor_slices(cls, xy):
        """tf.data's spelling: an (x, y) tuple, or x alone. An (x, y,
        sample_weight) tuple gives a Pipeline of (x_i, y_i, w_i) samples
        (batch it for fit / evaluate), the weights one array of N rows."""
        if isinstance(xy, tuple) and len(xy) == 3:
            return cls._weighted_slices(*xy)
        return cls(*xy) if isinstance(xy, tuple) else cls(xy)

    @classmethod
    def _weighted_slices(cls, x, y, sample_weight):
        from . import _compat
        ds = cls(x, y)
        w = _compat.np.asarray(sample_weight.numpy() if hasattr(sample_weight, "numpy")
                               else sample_weight, dtype=_compat.np.float32)
        if w.ndim < 1 or w.shape[0] != len(ds):
            raise InvalidArgumentError(
                "from_tensor_slices: sample_weight has shape %s, expected one weight per "
                "sample (%d rows)" % (w.shape, len(ds)))

        def samples():
            for i, (xi, yi) in enumerate(ds._elements()):
                yield xi, yi, w[i]
        return Pipeline(samples, len(ds))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- contents --

    def __len__(self):
        return lib.bgm_dataset_size(self._h)

    _x_keys = _y_keys = None   # one tensor (None), a list (False) or dict keys

    @property
    def x(self):
        """The features (N, ...): a Tensor sharing the dataset's memory (a list or
        dict of them for a dataset made from several)."""
        if self._x_keys is None:
            return _view(lib.bgm_dataset_features(self._h))
        return _structure([_view(lib.bgm_dataset_feature_tensor(self._h, i))
                           for i in range(lib.bgm_dataset_num_feature_tensors(self._h))],
                          self._x_keys)

    @property
    def y(self):
        """The targets (N, ...) sharing the dataset's memory (a list or dict of
        them for a dataset made from several), or None."""
        if self._y_keys is None:
            return _view(lib.bgm_dataset_targets(self._h))
        return _structure([_view(lib.bgm_dataset_target_tensor(self._h, i))
                           for i in range(lib.bgm_dataset_num_target_tensors(self._h))],
                          self._y_keys)

    features, targets = x, y

    @property
    def element_shape(self):
        """Shape of one sample's features."""
        n = ctypes.c_int()
        dims = lib.bgm_dataset_element_shape(self._h, ctypes.byref(n))
        return tuple(dims[i] for i in range(n.value))

    def __repr__(self):
        if self._ptr is None:
            return "<Dataset closed>"
        if self._x_keys is not None or self._y_keys is not None:
            return "<Dataset of %d samples, %d features and %d targets tensors>" % (
                len(self), lib.bgm_dataset_num_feature_tensors(self._h),
                lib.bgm_dataset_num_target_tensors(self._h))
        y = lib.bgm_dataset_targets(self._h)
        return "<Dataset of %d samples, x %s, %s>" % (
            len(self), self.element_shape,
            "no targets" if not y else "y %s" % (_view(y).dtype,))

    # -- datasets from datasets --

    def _derive(self, fn, *args):
        out = ctypes.c_void_p()
        fn(ctypes.byref(out), self._h, *args)
        return Dataset._adopt(out.value, self)

    def shuffle(self, seed=0, buffer_size=None):
        """The samples in a random order drawn from seed (a copy). Every sample
        may go anywhere, as tf.data's shuffle with a buffer_size of at least N
        does; so buffer_size, accepted by keyword, changes nothing."""
        if buffer_size is not None and int(buffer_size) < 1:
            raise InvalidArgumentError("shuffle: buffer_size must be >= 1, got %r"
                                       % (buffer_size,))
        return self._derive(lib.bgm_dataset_shuffle, int(seed))

    def take(self, n):
        """The first min(n, N) samples (a view)."""
        return self._derive(lib.bgm_dataset_take, int(n))

    def skip(self, n):
        """All but the first min(n, N) samples (a view)."""
        return self._derive(lib.bgm_dataset_skip, int(n))

    def concatenate(self, other):
        """This dataset's samples followed by other's (a copy)."""
        return self._derive(lib.bgm_dataset_concatenate, other._h)

    def subset(self, indices):
        """The samples at indices, in that order (a copy; indices may repeat)."""
        idx = [int(i) for i in indices]
        return self._derive(lib.bgm_dataset_subset,
                            (ctypes.c_int64 * max(len(idx), 1))(*idx), len(idx))

    # -- tf.data-style pipelines (see Pipeline) --

    def _sample_arrays(self):
        """(x, y) as numpy arrays in the dataset's structure (y None without targets)."""
        return _numpy_struct(self.x), _numpy_struct(self.y)

    def _elements(self):
        """One element per sample: (x_i, y_i), or x_i without targets."""
        x, y = self._sample_arrays()
        for i in range(len(self)):
            xi = _index_struct(x, i)
            yield xi if y is None else (xi, _index_struct(y, i))

    def batch(self, batch_size, drop_remainder=False):
        """A Pipeline of batches ((x, y) numpy arrays, or x alone) cut by the
        library's batch iterator, in order: tf.data's Dataset.batch."""
        batch_size = int(batch_size)
        if batch_size < 1:
            raise InvalidArgumentError("batch: batch_size must be >= 1, got %d" % batch_size)

        def batches():
            for b in BatchIterator(self, batch_size, drop_remainder=drop_remainder):
                yield _numpy_struct(b)
        n = len(self)
        return Pipeline(batches, n // batch_size if drop_remainder
                        else -(-n // batch_size))

    def map(self, map_func):
        """A Pipeline of map_func applied to every sample (called with x, y)."""
        return Pipeline(self._elements, len(self)).map(map_func)

    def repeat(self, count=None):
        """A Pipeline of the samples, count times (None: forever)."""
        return Pipeline(self._elements, len(self)).repeat(count)

    def prefetch(self, buffer_size):
        """A Pipeline of the samples with prefetch buffer_size (see Pipeline.prefetch)."""
        return Pipeline(self._elements, len(self)).prefetch(buffer_size)

    def cardinality(self):
        """Number of samples (tf.data's cardinality)."""
        return len(self)

    def batches(self, batch_size, shuffle=False, seed=0, drop_remainder=False, copy=True):
        """A re-iterable BatchIterator of (x, y) Tensors (x alone without targets)."""
        return BatchIterator(self, batch_size, shuffle, seed, drop_remainder, copy)

    # -- preprocessing (bigmodel/preprocess.h) --

    def one_hot(self, num_classes=0):
        """Same features, int32 targets one-hot encoded (num_classes 0: inferred)."""
        return self._derive(lib.bgm_dataset_one_hot, int(num_classes))

    def train_test_split(self, test_size=0.25, seed=0, stratify=False):
        """(train, test), shuffled, n_test = ceil(test_size * N) (scikit-learn's rule)."""
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        lib.bgm_dataset_train_test_split(ctypes.byref(a), ctypes.byref(b), self._h,
                                         float(test_size), int(seed), 1 if stratify else 0)
        return Dataset._adopt(a.value, self), Dataset._adopt(b.value, self)

    def validation_split(self, validation_split):
        """(train, val): the last fraction of the samples is val (Keras' rule; views)."""
        a, b = ctypes.c_void_p(), ctypes.c_void_p()
        lib.bgm_dataset_validation_split(ctypes.byref(a), ctypes.byref(b), self._h,
                                         float(validation_split))
        return Dataset._adopt(a.value, self), Dataset._adopt(b.value, self)


class BatchIterator(Handle):
    """Batches of a dataset. Each ``iter()`` starts a pass (a new order when shuffling).

    With copy=True (default) every batch is a pair of new Tensors. With
    copy=False the Tensors share the iterator's one reusable buffer: no
    allocation per batch, but their contents change at the next batch.
    """

    _free_fn, _counter, _what = "bgm_batch_iter_free", "batch_iter", "batch iterator"

    def __init__(self, ds, batch_size, shuffle=False, seed=0, drop_remainder=False,
                 copy=True):
        self._make(lib.bgm_batch_iter_create, ds._h, int(batch_size),
                   1 if drop_remainder else 0)
        self._copy = copy
        self._ds = ds  # its structure of tensors (the iterator keeps its own views)
        self._started = False
        if shuffle:
            lib.bgm_batch_iter_shuffle(self._ptr, int(seed))

    def __len__(self):
        return lib.bgm_batch_iter_num_batches(self._h)

    def __iter__(self):
        if self._started:
            lib.bgm_batch_iter_reset(self._h)
        self._started = True
        return self._batches()

    def _batches(self):
        make = _copy if self._copy else _view
        ds, has = self._ds, ctypes.c_int()
        if ds._x_keys is None and ds._y_keys is None:
            x, y = ctypes.c_void_p(), ctypes.c_void_p()
            while True:
                lib.bgm_batch_iter_next(ctypes.byref(has), ctypes.byref(x), ctypes.byref(y),
                                        self._h)
                if not has.value:
                    return
                bx, by = make(x.value), make(y.value)
                yield bx if by is None else (bx, by)
        nx = lib.bgm_dataset_num_feature_tensors(ds._h)
        ny = lib.bgm_dataset_num_target_tensors(ds._h)
        xs, ys = (ctypes.c_void_p * nx)(), (ctypes.c_void_p * max(ny, 1))()
        while True:
            lib.bgm_batch_iter_next_multi(ctypes.byref(has), xs, nx, ys, ny, self._h)
            if not has.value:
                return
            bx = _structure([make(p) for p in xs], ds._x_keys)
            if not ny:
                yield bx
            else:
                yield bx, _structure([make(p) for p in ys[:ny]], ds._y_keys)


# ---- pipelines and Python datasets (#14 item 4) --------------------------------------

AUTOTUNE = -1                 # prefetch(AUTOTUNE): the stream's default depth
INFINITE_CARDINALITY = -1     # tf.data's values of cardinality()
UNKNOWN_CARDINALITY = -2


def _numpy_struct(v):
    """v (a Tensor, array, or a tuple / list / dict of them) with numpy arrays."""
    from . import _compat
    if v is None:
        return None
    if isinstance(v, tuple):
        return tuple(_numpy_struct(e) for e in v)
    if isinstance(v, list):
        return [_numpy_struct(e) for e in v]
    if isinstance(v, dict):
        return {k: _numpy_struct(e) for k, e in v.items()}
    if isinstance(v, Tensor):
        return v.numpy()
    return _compat.np.asarray(v)


def _index_struct(v, i):
    if isinstance(v, (tuple, list)):
        return type(v)(_index_struct(e, i) for e in v)
    if isinstance(v, dict):
        return {k: _index_struct(e, i) for k, e in v.items()}
    return v[i]


def _stack(elements):
    """Elements of one structure stacked along a new first dimension."""
    from . import _compat
    first = elements[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_stack([e[k] for e in elements]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([e[k] for e in elements]) for k in first}
    return _compat.np.stack([_compat.np.asarray(e) for e in elements])


class Pipeline:
    """A tf.data-style chain of transformations over elements, made lazily
    every time it is iterated: from Dataset.batch / map / repeat / prefetch,
    then .map(fn), .batch(n), .shuffle(buffer_size, seed), .repeat(),
    .take(n), .prefetch(n). Elements are numpy arrays or tuples / lists /
    dicts of them. fit, evaluate and predict take a pipeline of batches and
    read it through the library's prefetching stream (bigmodel/data.h), whose
    queue holds prefetch(n) batches."""

    def __init__(self, make, length, prefetch=None):
        self._make_iter = make    # () -> a new iterator over the elements
        self._length = length     # elements per pass, INFINITE_ or UNKNOWN_CARDINALITY
        self._prefetch = prefetch

    def __iter__(self):
        return iter(self._make_iter())

    as_numpy_iterator = __iter__

    def cardinality(self):
        """Elements per pass, INFINITE_CARDINALITY or UNKNOWN_CARDINALITY."""
        return self._length

    def __len__(self):
        if self._length < 0:
            raise TypeError("the length of this pipeline is %s" % (
                "infinite" if self._length == INFINITE_CARDINALITY else "unknown"))
        return self._length

    def _then(self, make, length):
        return Pipeline(make, length, self._prefetch)

    def map(self, map_func):
        """map_func applied to every element (a tuple element is passed as
        separate arguments, as tf.data does)."""
        def mapped():
            for e in self:
                yield map_func(*e) if isinstance(e, tuple) else map_func(e)
        return self._then(mapped, self._length)

    def batch(self, batch_size, drop_remainder=False):
        """Consecutive elements stacked into batches of batch_size (the last
        one shorter unless drop_remainder)."""
        batch_size = int(batch_size)
        if batch_size < 1:
            raise InvalidArgumentError("batch: batch_size must be >= 1, got %d" % batch_size)

        def batches():
            buf = []
            for e in self:
                buf.append(e)
                if len(buf) == batch_size:
                    yield _stack(buf)
                    buf = []
            if buf and not drop_remainder:
                yield _stack(buf)
        n = self._length
        if n >= 0:
            n = n // batch_size if drop_remainder else -(-n // batch_size)
        return self._then(batches, n)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """tf.data's buffered shuffle: a buffer of buffer_size elements, each
        output drawn at random from it and replaced by the next input. The
        order comes from seed (None: a new seed per pipeline), and changes
        from one iteration to the next unless reshuffle_each_iteration=False."""
        import random
        buffer_size = int(buffer_size)
        if buffer_size < 1:
            raise InvalidArgumentError("shuffle: buffer_size must be >= 1, got %d"
                                       % buffer_size)
        base = random.SystemRandom().getrandbits(63) if seed is None else int(seed)
        passes = [0]

        def shuffled():
            rng = random.Random(base + (passes[0] if reshuffle_each_iteration else 0))
            passes[0] += 1
            buf = []
            for e in self:
                if len(buf) < buffer_size:
                    buf.append(e)
                    continue
                k = rng.randrange(buffer_size)
                yield buf[k]
                buf[k] = e
            rng.shuffle(buf)
            yield from buf
        return self._then(shuffled, self._length)

    def repeat(self, count=None):
        """The elements count times over (None or -1: forever)."""
        forever = count is None or int(count) < 0

        def repeated():
            k = 0
            while forever or k < int(count):
                yield from self
                k += 1
        n = self._length
        if forever:
            n = INFINITE_CARDINALITY if n != 0 else 0
        elif n >= 0:
            n *= int(count)
        return self._then(repeated, n)

    def take(self, count):
        """The first count elements (all when count is -1)."""
        import itertools
        count = int(count)
        if count < 0:
            return self
        n = self._length
        n = count if n == INFINITE_CARDINALITY else (min(n, count) if n >= 0 else n)
        return self._then(lambda: itertools.islice(iter(self), count), n)

    def prefetch(self, buffer_size):
        """Up to buffer_size batches made ahead on the library's stream thread
        while the model trains (AUTOTUNE: the default, 2)."""
        buffer_size = int(buffer_size)
        if buffer_size < 1 and buffer_size != AUTOTUNE:
            raise InvalidArgumentError("prefetch: buffer_size must be >= 1 or AUTOTUNE, "
                                       "got %d" % buffer_size)
        return Pipeline(self._make_iter, self._length,
                        None if buffer_size == AUTOTUNE else buffer_size)

    def __repr__(self):
        return "<Pipeline, cardinality %d>" % self._length


class PyDataset:
    """Keras' PyDataset: subclass it with __len__ (batches per epoch) and
    __getitem__(index) (batch index as (x, y), or x for predict), and
    optionally on_epoch_end (called between epochs). fit / evaluate / predict
    read the batches in index order on the library's stream thread, up to
    max_queue_size ahead. Batches are made by that one thread: workers > 1 and
    use_multiprocessing are not supported."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if int(workers) != 1 or use_multiprocessing:
            raise InvalidArgumentError(
                "PyDataset: workers=%r, use_multiprocessing=%r: batches are made by one "
                "thread (the library's prefetch thread); use workers=1" % (
                    workers, use_multiprocessing))
        if int(max_queue_size) < 1:
            raise InvalidArgumentError("PyDataset: max_queue_size must be >= 1, got %r"
                                       % (max_queue_size,))
        self._prefetch = int(max_queue_size)

    workers, use_multiprocessing = 1, False

    @property
    def max_queue_size(self):
        return getattr(self, "_prefetch", 10)

    def __len__(self):
        raise NotImplementedError("a PyDataset subclass defines __len__")

    def __getitem__(self, index):
        raise NotImplementedError("a PyDataset subclass defines __getitem__")

    @property
    def num_batches(self):
        return len(self)

    def on_epoch_end(self):
        """Called after every pass but the last; does nothing by default."""


# ---- loaders ------------------------------------------------------------------------


def _load_tensor(fn, path):
    out = ctypes.c_void_p()
    fn(ctypes.byref(out), _path(path))
    return Tensor._adopt(out.value)


def load_idx_images(path):
    """IDX images (plain or .gz) as float32 (N, H, W, 1) holding 0..255."""
    return _load_tensor(lib.bgm_idx_load_images, path)


def load_idx_labels(path):
    """IDX labels (plain or .gz) as int32 (N,)."""
    return _load_tensor(lib.bgm_idx_load_labels, path)


def load_idx(images_path, labels_path):
    """Dataset from IDX images and labels files (MNIST, Fashion-MNIST)."""
    out = ctypes.c_void_p()
    lib.bgm_dataset_load_idx(ctypes.byref(out), _path(images_path), _path(labels_path))
    return Dataset._adopt(out.value)


def load_cifar(paths, kind="cifar10"):
    """Dataset from CIFAR binary batch files: x (N, 32, 32, 3) float32 NHWC, y int32."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    if kind not in _CIFAR:
        raise InvalidArgumentError("kind must be one of %s, got %r"
                                   % (", ".join(sorted(_CIFAR)), kind))
    encoded = [_path(p) for p in paths]
    arr = (ctypes.c_char_p * max(len(encoded), 1))(*encoded)
    out = ctypes.c_void_p()
    lib.bgm_dataset_load_cifar(ctypes.byref(out), arr, len(encoded), _CIFAR[kind])
    return Dataset._adopt(out.value)


def load_csv(path, label=-1, has_header=True, skip_lines=0, delimiter=",",
             label_dtype=int32, no_label=False):
    """Dataset from a CSV of numbers: label is a column name (str) or index (int,
    negative from the end); the other columns are float32 features."""
    opts = _lib.CsvOptions()
    lib.bgm_csv_options_init(ctypes.byref(opts))
    opts.skip_lines, opts.has_header = int(skip_lines), 1 if has_header else 0
    if isinstance(label, str):
        opts.label_name = label.encode("utf-8")
    else:
        opts.label_column = int(label)
    opts.no_label = 1 if no_label else 0
    opts.label_dtype = {float32: 1, int32: 2}[label_dtype]
    if len(delimiter) != 1:
        raise InvalidArgumentError("delimiter must be one character, got %r" % delimiter)
    opts.delimiter = delimiter.encode()
    out = ctypes.c_void_p()
    lib.bgm_dataset_load_csv(ctypes.byref(out), _path(path), ctypes.byref(opts))
    return Dataset._adopt(out.value)


def load_npy(path):
    """A .npy file as a Tensor ('<f4' and '|u1' give float32, '<i4' int32)."""
    return _load_tensor(lib.bgm_npy_load, path)


def save_npy(t, path):
    """Writes a tensor (or array) to a .npy file numpy.load reads (atomically)."""
    t = as_tensor(t)  # a local: a temporary would be freed before the call
    lib.bgm_npy_save(t._h, _path(path))


def one_hot(labels, num_classes=0):
    """float32 (..., C) one-hot rows of int32 labels (keras.utils.to_categorical)."""
    out, labels = ctypes.c_void_p(), as_tensor(labels, int32)
    lib.bgm_tensor_one_hot(ctypes.byref(out), labels._h, int(num_classes))
    return Tensor._adopt(out.value)
