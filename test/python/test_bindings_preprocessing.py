"""bigmodel.preprocessing against scikit-learn: scalers, K-fold, cross-validation."""
import numpy as np
import pytest
from sklearn import model_selection, preprocessing as skp

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import preprocessing as pp

RNG = np.random.default_rng(3)
X = (RNG.random((30, 4)) * [1, 10, 100, 0]).astype(np.float32)  # last feature constant
Y = (np.arange(30) % 3).astype(np.int32)


def test_standard_scaler_equals_sklearn():
    ours, theirs = pp.StandardScaler().fit(X), skp.StandardScaler().fit(X)
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-6)
    np.testing.assert_allclose(ours.scale_, theirs.scale_, rtol=1e-6)
    np.testing.assert_allclose(ours.transform(X).numpy(), theirs.transform(X), atol=1e-5)
    assert ours.n_features_in_ == 4 and ours.fitted


def test_minmax_scaler_on_a_dataset_equals_sklearn():
    ds = bm.Dataset(X, Y)
    scaled = pp.MinMaxScaler((-1.0, 1.0)).fit(ds).transform(ds)
    np.testing.assert_allclose(scaled.x.numpy(),
                               skp.MinMaxScaler((-1, 1)).fit_transform(X), atol=1e-6)
    assert scaled.y.tolist() == Y.tolist()


def test_in_place_transform_changes_the_shared_array():
    x = X.copy()
    pp.Rescale(2.0).transform(bm.Tensor(x), inplace=True)
    np.testing.assert_allclose(x, X / 2.0)
    n = pp.Normalizer().transform(X).numpy()
    np.testing.assert_allclose(n, skp.normalize(X), rtol=1e-5)


def test_per_channel_statistics_pool_over_positions():
    imgs = RNG.random((5, 4, 4, 3)).astype(np.float32)
    sc = pp.StandardScaler(per_channel=True).fit(imgs)
    np.testing.assert_allclose(sc.mean_, imgs.reshape(-1, 3).mean(0), rtol=1e-5)


def test_unfitted_scaler_is_a_state_error():
    with pytest.raises(bm.StateError, match="fit"):
        pp.StandardScaler().transform(X)
    with pytest.raises(bm.InvalidArgumentError):
        pp.MinMaxScaler((1.0, 0.0))


def test_kfold_folds_equal_sklearn():
    ds = bm.Dataset(X, Y)
    kf = pp.KFold(ds, 4)
    sk = [sorted(val) for _, val in model_selection.KFold(4).split(X)]
    assert [kf.val_indices(i) for i in range(4)] == sk
    skf = [sorted(val) for _, val in model_selection.StratifiedKFold(4).split(X, Y)]
    st = pp.KFold(ds, 4, stratified=True)
    assert [st.val_indices(i) for i in range(4)] == skf
    sizes = [(len(tr), len(va)) for tr, va in kf]
    assert sizes == [(22, 8), (22, 8), (23, 7), (23, 7)]


def test_cross_validate_scores_and_errors():
    ds = bm.Dataset(X, Y)
    scores, mean, std = pp.cross_validate(ds, lambda tr, va, fold: len(va) + fold, 3)
    assert scores == [10.0, 11.0, 12.0] and mean == 11.0
    assert std == pytest.approx(np.std(scores))

    def broken(tr, va, fold):
        raise KeyError("fold %d" % fold)

    with pytest.raises(KeyError, match="fold 0"):
        pp.cross_validate(ds, broken, 3)
    with pytest.raises(bm.InvalidArgumentError):
        pp.cross_validate(ds, len, 1)
