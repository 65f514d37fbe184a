"""Scalers, K-fold splits and cross-validation (bigmodel/preprocess.h).

Scalers follow scikit-learn: ``fit`` on training data only, then
``transform`` training, validation and test data with the same statistics.

    scaler = bigmodel.preprocessing.StandardScaler().fit(train)   # a Dataset or array
    train_std, test_std = scaler.transform(train), scaler.transform(test)

``per_channel=True`` pools every position of a sample per index of its last
dimension (per colour channel of NHWC images); otherwise every element
position of a sample is its own feature (scikit-learn on flattened samples).
"""
import ctypes

from . import _compat
from . import _lib
from ._lib import lib
from .data import Dataset
from ._handle import Handle
from .errors import BigmodelError
from .tensor import Tensor, as_tensor, float32

__all__ = ["StandardScaler", "MinMaxScaler", "Rescale", "Normalizer", "KFold",
           "cross_validate"]

_PER_FEATURE, _PER_CHANNEL = 1, 2


class _Scaler(Handle):
    _free_fn, _counter, _what = "bgm_scaler_free", "scaler", "scaler"

    def fit(self, data):
        """Statistics from a Dataset's features or a float32 array (N, ...); returns self."""
        if isinstance(data, Dataset):
            lib.bgm_scaler_fit_dataset(self._h, data._h)
        else:
            x = as_tensor(data, float32)
            lib.bgm_scaler_fit(self._h, x._h)
        return self

    def transform(self, data, inplace=False):
        """A new Dataset (targets shared) or Tensor with transformed features.

        inplace=True overwrites the Tensor (or the Dataset's features) instead,
        and everything sharing that memory sees the new values."""
        if isinstance(data, Dataset):
            if inplace:
                lib.bgm_scaler_transform_dataset_inplace(self._h, data._h)
                return data
            out = ctypes.c_void_p()
            lib.bgm_scaler_transform_dataset(ctypes.byref(out), self._h, data._h)
            return Dataset._adopt(out.value)
        x = as_tensor(data, float32)
        if inplace:
            lib.bgm_scaler_transform_inplace(self._h, x._h)
            return x
        out = ctypes.c_void_p()
        lib.bgm_scaler_transform(ctypes.byref(out), self._h, x._h)
        return Tensor._adopt(out.value)

    def fit_transform(self, data):
        return self.fit(data).transform(data)

    @property
    def fitted(self):
        return bool(lib.bgm_scaler_is_fitted(self._h))

    @property
    def n_features_in_(self):
        return lib.bgm_scaler_num_features(self._h)

    def _statistics(self):
        n = self.n_features_in_
        first, second = (ctypes.c_double * max(n, 1))(), (ctypes.c_double * max(n, 1))()
        lib.bgm_scaler_get_statistics(first, second, n, self._h)
        np = _compat.np
        pack = (lambda v: np.array(v[:n])) if np is not None else (lambda v: list(v[:n]))
        return pack(first), pack(second)


class StandardScaler(_Scaler):
    """(x - mean) / std per feature (population std; 0 std divides by 1)."""

    def __init__(self, per_channel=False):
        self._make(lib.bgm_scaler_standard, _PER_CHANNEL if per_channel else _PER_FEATURE)

    mean_ = property(lambda self: self._statistics()[0])
    scale_ = property(lambda self: self._statistics()[1])


class MinMaxScaler(_Scaler):
    """Maps each feature's fitted [min, max] onto feature_range (no clipping)."""

    def __init__(self, feature_range=(0.0, 1.0), per_channel=False):
        low, high = feature_range
        self._make(lib.bgm_scaler_minmax, float(low), float(high),
                   _PER_CHANNEL if per_channel else _PER_FEATURE)

    data_min_ = property(lambda self: self._statistics()[0])
    data_max_ = property(lambda self: self._statistics()[1])


class Rescale(_Scaler):
    """x / max_value (255 maps 0..255 images onto [0, 1]); needs no fit."""

    def __init__(self, max_value=255.0):
        self._make(lib.bgm_scaler_rescale, float(max_value))


class Normalizer(_Scaler):
    """Each sample divided by its L2 norm (scikit-learn's normalize); needs no fit."""

    def __init__(self):
        self._make(lib.bgm_scaler_l2_normalize)


class KFold(Handle):
    """The k (train, validation) splits of a dataset, as scikit-learn's KFold /
    StratifiedKFold (identical folds without shuffling). Iterating yields
    (train, val) Dataset pairs (copies, in dataset order)."""

    _free_fn, _counter, _what = "bgm_kfold_free", "kfold", "splitter"

    def __init__(self, ds, n_splits=5, shuffle=False, seed=0, stratified=False):
        self._make(lib.bgm_kfold_create, ds._h, int(n_splits), 1 if shuffle else 0,
                   int(seed), 1 if stratified else 0)
        self._ds = ds  # the structure of its tensors, which the folds keep

    def __len__(self):
        return lib.bgm_kfold_count(self._h)

    def __getitem__(self, fold):
        train, val = ctypes.c_void_p(), ctypes.c_void_p()
        lib.bgm_kfold_get(ctypes.byref(train), ctypes.byref(val), self._h, int(fold))
        return Dataset._adopt(train.value, self._ds), Dataset._adopt(val.value, self._ds)

    def __iter__(self):
        for fold in range(len(self)):
            yield self[fold]

    def val_indices(self, fold):
        """Dataset positions of the fold's validation samples, ascending."""
        n = lib.bgm_kfold_val_size(self._h, int(fold))
        idx = lib.bgm_kfold_val_indices(self._h, int(fold))
        return [idx[i] for i in range(n)] if idx else []


def _borrowed_dataset(ptr, like):
    """A caller-owned view of a dataset the library lends for one call (a part of
    like, whose structure of tensors it has)."""
    out = ctypes.c_void_p()
    lib.bgm_dataset_take(ctypes.byref(out), ptr, lib.bgm_dataset_size(ptr))
    return Dataset._adopt(out.value, like)


def cross_validate(ds, score_fn, n_splits=5, stratified=False, seed=0):
    """score_fn(train, val, fold) -> float for each shuffled fold.

    Returns (scores, mean, std) with the population std (numpy's np.std).
    An exception raised by score_fn stops the loop and is re-raised."""
    k = int(n_splits)
    raised = []

    def call(score, train, val, fold, ctx):
        try:
            with _borrowed_dataset(train, ds) as tr, _borrowed_dataset(val, ds) as va:
                score[0] = float(score_fn(tr, va, fold))
            return 0
        except BaseException as exc:  # reported after the C call returns
            raised.append(exc)
            return -10

    callback = _lib.CV_FN(call)
    scores = (ctypes.c_double * max(k, 1))()
    mean, std = ctypes.c_double(), ctypes.c_double()
    try:
        lib.bgm_cross_validate(scores, ctypes.byref(mean), ctypes.byref(std), ds._h, k,
                               1 if stratified else 0, int(seed), callback, None)
    except BigmodelError as exc:
        if raised:
            raise raised[0] from exc
        raise
    return list(scores[:k]), mean.value, std.value


# Keras' keras.preprocessing.sequence, importable as bigmodel.preprocessing.sequence.
from . import _sequence as sequence  # noqa: E402
import sys as _sys  # noqa: E402

_sys.modules[__name__ + ".sequence"] = sequence
