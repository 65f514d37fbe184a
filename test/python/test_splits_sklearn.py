"""Scalers, K-fold splits and train/test split sizes against scikit-learn."""
import ctypes
import math

import numpy as np
import pytest

from cbridge import INT32, P, PP, declare_tensor_api, to_numpy, to_tensor
from conftest import check

sk_pre = pytest.importorskip("sklearn.preprocessing")
sk_ms = pytest.importorskip("sklearn.model_selection")

PER_FEATURE, PER_CHANNEL = 1, 2


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    lib.bgm_dataset_from_tensors.argtypes = [PP, P, P]
    lib.bgm_dataset_free.argtypes = [P]
    lib.bgm_dataset_size.restype = ctypes.c_int64
    lib.bgm_dataset_size.argtypes = [P]
    lib.bgm_dataset_targets.restype = P
    lib.bgm_dataset_targets.argtypes = [P]
    lib.bgm_scaler_standard.argtypes = [PP, ctypes.c_int]
    lib.bgm_scaler_minmax.argtypes = [PP, ctypes.c_float, ctypes.c_float, ctypes.c_int]
    lib.bgm_scaler_l2_normalize.argtypes = [PP]
    lib.bgm_scaler_fit.argtypes = [P, P]
    lib.bgm_scaler_transform.argtypes = [PP, P, P]
    lib.bgm_scaler_free.argtypes = [P]
    lib.bgm_scaler_num_features.restype = ctypes.c_int64
    lib.bgm_scaler_num_features.argtypes = [P]
    lib.bgm_scaler_get_statistics.argtypes = [ctypes.POINTER(ctypes.c_double),
                                              ctypes.POINTER(ctypes.c_double),
                                              ctypes.c_int64, P]
    lib.bgm_kfold_create.argtypes = [PP, P, ctypes.c_int, ctypes.c_int, ctypes.c_uint64,
                                     ctypes.c_int]
    lib.bgm_kfold_free.argtypes = [P]
    lib.bgm_kfold_val_size.restype = ctypes.c_int64
    lib.bgm_kfold_val_size.argtypes = [P, ctypes.c_int]
    lib.bgm_kfold_val_indices.restype = ctypes.POINTER(ctypes.c_int64)
    lib.bgm_kfold_val_indices.argtypes = [P, ctypes.c_int]
    lib.bgm_dataset_train_test_split.argtypes = [PP, PP, P, ctypes.c_double,
                                                 ctypes.c_uint64, ctypes.c_int]
    return lib


def make_dataset(lib, n, labels=None):
    x = to_tensor(lib, np.arange(n, dtype=np.float32).reshape(n, 1))
    y = to_tensor(lib, labels, INT32) if labels is not None else None
    ds = P()
    check(lib, lib.bgm_dataset_from_tensors(ctypes.byref(ds), x, y))
    lib.bgm_tensor_free(x)
    if y is not None:
        lib.bgm_tensor_free(y)
    return ds


def fit_transform(lib, scaler, train, test):
    """Fits scaler on train, returns its transform of test."""
    xtr, xte, out = to_tensor(lib, train), to_tensor(lib, test), P()
    try:
        check(lib, lib.bgm_scaler_fit(scaler, xtr))
        check(lib, lib.bgm_scaler_transform(ctypes.byref(out), scaler, xte))
        return to_numpy(lib, out)
    finally:
        for t in (xtr, xte, out):
            lib.bgm_tensor_free(t)


def statistics(lib, scaler):
    n = lib.bgm_scaler_num_features(scaler)
    a, b = (ctypes.c_double * n)(), (ctypes.c_double * n)()
    check(lib, lib.bgm_scaler_get_statistics(a, b, n, scaler))
    return np.array(a), np.array(b)


def test_standard_scaler_matches_sklearn(api):
    rng = np.random.default_rng(0)
    train = rng.normal(3.0, 2.0, (60, 7)).astype(np.float32)
    train[:, 4] = 1.5  # a constant feature: centered only
    test = rng.normal(3.0, 2.0, (9, 7)).astype(np.float32)
    ref = sk_pre.StandardScaler().fit(train)
    sc = P()
    check(api, api.bgm_scaler_standard(ctypes.byref(sc), PER_FEATURE))
    got = fit_transform(api, sc, train, test)
    mean, std = statistics(api, sc)
    api.bgm_scaler_free(sc)
    np.testing.assert_allclose(mean, ref.mean_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(std, ref.scale_, rtol=1e-6)
    np.testing.assert_allclose(got, ref.transform(test), rtol=1e-5, atol=1e-5)


def test_per_channel_standardization_matches_sklearn_on_pixels(api):
    rng = np.random.default_rng(1)
    train = rng.uniform(0, 255, (6, 4, 5, 3)).astype(np.float32)
    test = rng.uniform(0, 255, (2, 3, 3, 3)).astype(np.float32)
    ref = sk_pre.StandardScaler().fit(train.reshape(-1, 3))
    sc = P()
    check(api, api.bgm_scaler_standard(ctypes.byref(sc), PER_CHANNEL))
    got = fit_transform(api, sc, train, test)
    api.bgm_scaler_free(sc)
    want = ref.transform(test.reshape(-1, 3)).reshape(test.shape)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_minmax_scaler_matches_sklearn(api):
    rng = np.random.default_rng(2)
    train = rng.normal(0, 5, (40, 6)).astype(np.float32)
    train[:, 0] = -2.0
    test = rng.normal(0, 8, (10, 6)).astype(np.float32)
    ref = sk_pre.MinMaxScaler(feature_range=(-2, 3)).fit(train)
    sc = P()
    check(api, api.bgm_scaler_minmax(ctypes.byref(sc), -2.0, 3.0, PER_FEATURE))
    got = fit_transform(api, sc, train, test)
    lo, hi = statistics(api, sc)
    api.bgm_scaler_free(sc)
    np.testing.assert_array_equal(lo, ref.data_min_)
    np.testing.assert_array_equal(hi, ref.data_max_)
    np.testing.assert_allclose(got, ref.transform(test), rtol=1e-5, atol=1e-5)


def test_l2_normalize_matches_sklearn(api):
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, (12, 5)).astype(np.float32)
    x[3] = 0.0
    sc = P()
    check(api, api.bgm_scaler_l2_normalize(ctypes.byref(sc)))
    got = fit_transform(api, sc, x, x)
    api.bgm_scaler_free(sc)
    np.testing.assert_allclose(got, sk_pre.normalize(x, norm="l2"), rtol=1e-6, atol=1e-7)


def kfold_val_indices(lib, ds, k, shuffle, seed, stratified):
    kf = P()
    check(lib, lib.bgm_kfold_create(ctypes.byref(kf), ds, k, shuffle, seed, stratified))
    folds = []
    for f in range(k):
        n = lib.bgm_kfold_val_size(kf, f)
        idx = lib.bgm_kfold_val_indices(kf, f)
        folds.append([idx[i] for i in range(n)])
    lib.bgm_kfold_free(kf)
    return folds


@pytest.mark.parametrize("n,k", [(10, 2), (10, 3), (17, 5), (23, 4), (100, 10)])
def test_kfold_without_shuffle_equals_sklearn(api, n, k):
    ds = make_dataset(api, n)
    got = kfold_val_indices(api, ds, k, 0, 0, 0)
    api.bgm_dataset_free(ds)
    want = [list(te) for _, te in sk_ms.KFold(k).split(np.zeros(n))]
    assert got == want


@pytest.mark.parametrize("seed,n,k,classes", [(0, 30, 3, 3), (1, 57, 5, 4), (2, 100, 10, 6),
                                              (3, 41, 4, 2)])
def test_stratified_kfold_equals_sklearn(api, seed, n, k, classes):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.int32) * 7 - 3  # arbitrary ids
    ds = make_dataset(api, n, labels)
    plain = kfold_val_indices(api, ds, k, 0, 0, 1)
    shuffled = kfold_val_indices(api, ds, k, 1, seed, 1)
    api.bgm_dataset_free(ds)
    want = [list(te) for _, te in sk_ms.StratifiedKFold(k).split(np.zeros(n), labels)]
    assert plain == want
    # shuffling changes which samples, never how many of each class per fold
    for got_fold, want_fold in zip(shuffled, want):
        assert sorted(labels[got_fold]) == sorted(labels[want_fold])
    assert sorted(i for f in shuffled for i in f) == list(range(n))


@pytest.mark.parametrize("n,fraction", [(10, 0.25), (10, 0.3), (33, 0.1), (150, 0.2),
                                        (7, 0.5), (1000, 0.333)])
def test_train_test_split_sizes_equal_sklearn(api, n, fraction):
    labels = (np.arange(n) % 3).astype(np.int32)
    ds = make_dataset(api, n, labels)
    tr_want, te_want = sk_ms.train_test_split(np.arange(n), test_size=fraction,
                                              random_state=0)
    for stratify in (0, 1):
        tr, te = P(), P()
        check(api, api.bgm_dataset_train_test_split(ctypes.byref(tr), ctypes.byref(te), ds,
                                                    fraction, 5, stratify))
        assert api.bgm_dataset_size(tr) == len(tr_want)
        assert api.bgm_dataset_size(te) == len(te_want) == math.ceil(fraction * n)
        if stratify:
            counts = np.bincount(to_numpy(api, api.bgm_dataset_targets(te)),
                                 minlength=3)
            _, sk_te = next(sk_ms.StratifiedShuffleSplit(1, test_size=fraction,
                                                         random_state=0)
                            .split(np.zeros(n), labels))
            assert np.abs(counts - np.bincount(labels[sk_te], minlength=3)).max() <= 1
        api.bgm_dataset_free(tr)
        api.bgm_dataset_free(te)
    api.bgm_dataset_free(ds)
