"""Datasets, batches and loaders from Python."""
import gc
import os

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import _lib, data

FASHION = "/usr/share/datasets/fashion-mnist"


def make_ds(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    y = np.arange(n, dtype=np.int32)
    return x, y, bm.Dataset(x, y)


def test_dataset_shares_the_numpy_arrays():
    x, y, ds = make_ds()
    assert len(ds) == 10 and ds.element_shape == (2,)
    x[0, 0] = 99.0
    assert ds.x.tolist()[0] == [99.0, 1.0]
    ds.y.numpy()[9] = -1
    assert y[9] == -1


def test_dataset_keeps_its_arrays_alive():
    ds = make_ds()[2]
    gc.collect()
    assert ds.x.numpy()[4].tolist() == [8.0, 9.0]


def test_take_skip_are_views_and_shuffle_subset_concatenate_copy():
    x, y, ds = make_ds()
    head, tail = ds.take(3), ds.skip(8)
    assert head.y.tolist() == [0, 1, 2] and tail.y.tolist() == [8, 9]
    x[1, 1] = -5.0
    assert head.x.tolist()[1] == [2.0, -5.0]
    s = ds.shuffle(seed=5)
    assert sorted(s.y.tolist()) == list(range(10)) and s.y.tolist() != list(range(10))
    assert s.y.tolist() == ds.shuffle(seed=5).y.tolist()
    assert ds.subset([9, 0, 9]).y.tolist() == [9, 0, 9]
    assert head.concatenate(tail).y.tolist() == [0, 1, 2, 8, 9]


def test_batches_cover_the_data_and_reshuffle_each_pass():
    _, _, ds = make_ds()
    it = ds.batches(4)
    assert len(it) == 3
    assert [y.tolist() for _, y in it] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(ds.batches(4, drop_remainder=True)) == 2
    shuffled = ds.batches(5, shuffle=True, seed=1)
    first = [v for _, y in shuffled for v in y.tolist()]
    second = [v for _, y in shuffled for v in y.tolist()]
    assert sorted(first) == sorted(second) == list(range(10)) and first != second


def test_batches_without_copy_reuse_one_buffer():
    _, _, ds = make_ds()
    kept = list(ds.batches(5, copy=False))
    assert kept[0][1].tolist() == [5, 6, 7, 8, 9]  # overwritten by the second batch
    copied = list(ds.batches(5))
    assert copied[0][1].tolist() == [0, 1, 2, 3, 4]


def test_integer_features_are_token_ids_unless_asked_for_floats():
    ids = np.array([[1, 2, 3], [4, 5, 0]], dtype=np.int64)
    assert bm.Dataset(ids).x.dtype == "int32"
    pixels = bm.Dataset(np.full((2, 4), 255, np.uint8), x_dtype="float32")
    assert pixels.x.dtype == "float32" and pixels.x.numpy().max() == 255.0


def test_features_only_datasets_yield_tensors():
    ds = bm.Dataset(np.ones((3, 2), np.float32))
    assert ds.y is None
    assert [x.shape for x in ds.batches(2)] == [(2, 2), (1, 2)]


def test_one_hot_and_splits():
    _, y, ds = make_ds()
    assert data.one_hot([0, 2], 3).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert ds.one_hot(10).y.shape == (10, 10)
    train, test = ds.train_test_split(test_size=0.3, seed=0)
    assert len(train) == 7 and len(test) == 3
    assert sorted(train.y.tolist() + test.y.tolist()) == list(range(10))
    tr, va = ds.validation_split(0.2)
    assert va.y.tolist() == [8, 9]


def test_datasets_of_several_tensors_keep_their_structure_and_samples_together():
    n = 10
    a = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    b = np.arange(n, dtype=np.float32) * 10
    cls, twice = np.arange(n, dtype=np.int32), a[:, :1] * 2
    ds = bm.Dataset({"a": a, "b": b}, [cls, twice])
    assert len(ds) == 10 and ds.element_shape == (2,)
    assert repr(ds) == "<Dataset of 10 samples, 2 features and 2 targets tensors>"
    assert sorted(ds.x) == ["a", "b"] and len(ds.y) == 2
    a[0, 0] = 99.0                                      # views of the arrays
    assert ds.x["a"].tolist()[0] == [99.0, 1.0]
    # every derived dataset moves the samples of every tensor together
    for part in (ds.shuffle(3), ds.take(4), ds.skip(6), ds.subset([5, 2, 5]),
                 ds.concatenate(ds), *ds.train_test_split(0.3, seed=1),
                 *ds.validation_split(0.2), *bm.preprocessing.KFold(ds, 2)[1]):
        ids = part.y[0].numpy()
        np.testing.assert_array_equal(part.x["b"].numpy(), b[ids])
        np.testing.assert_array_equal(part.x["a"].numpy(), a[ids])
        np.testing.assert_array_equal(part.y[1].numpy(), twice[ids])
    batches = list(ds.shuffle(1).batches(4, shuffle=True, seed=2))
    assert [len(y[0]) for _, y in batches] == [4, 4, 2]
    for x, y in batches:
        np.testing.assert_array_equal(x["b"].numpy(), b[y[0].numpy()])
    assert sorted(v for _, y in batches for v in y[0].tolist()) == list(range(10))
    features_only = bm.Dataset((a, b))
    assert features_only.y is None
    assert [len(x) for x in features_only.batches(6, copy=False)] == [2, 2]
    with pytest.raises(bm.ShapeError, match=r"xs\[1\]"):
        bm.Dataset([a, b[:9]])


def test_npy_round_trip_with_numpy(tmp_path):
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    path = tmp_path / "a.npy"
    data.save_npy(a, path)
    np.testing.assert_array_equal(np.load(path), a)
    np.save(tmp_path / "b.npy", np.arange(5, dtype=np.int32))
    t = data.load_npy(str(tmp_path / "b.npy"))
    assert t.dtype == "int32" and t.tolist() == [0, 1, 2, 3, 4]


def test_npy_errors_name_the_file(tmp_path):
    missing = tmp_path / "missing.npy"
    with pytest.raises(bm.FileIOError, match="missing.npy") as info:
        data.load_npy(missing)
    assert isinstance(info.value, OSError) and info.value.status == -5
    np.save(tmp_path / "d.npy", np.zeros(2, np.float64))
    with pytest.raises(bm.UnsupportedError, match="<f8"):
        data.load_npy(tmp_path / "d.npy")
    (tmp_path / "bad.npy").write_bytes(b"not numpy at all")
    with pytest.raises(bm.FormatError, match="bad.npy"):
        data.load_npy(tmp_path / "bad.npy")


def test_csv_loader_by_name_and_its_format_errors(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("a,b,species\n1.5,2,0\n3,4.25,1\n")
    ds = data.load_csv(path, label="species")
    assert ds.x.tolist() == [[1.5, 2.0], [3.0, 4.25]] and ds.y.tolist() == [0, 1]
    path.write_text("a,b,species\n1.5,x,0\n")
    with pytest.raises(bm.FormatError, match="line 2"):
        data.load_csv(path)
    with pytest.raises(bm.InvalidArgumentError, match="delimiter"):
        data.load_csv(path, delimiter=";;")


def test_cifar_binary_records(tmp_path):
    rec = np.zeros((2, 3073), dtype=np.uint8)
    rec[0, 0], rec[1, 0] = 3, 7
    rec[1, 1:1025] = 200  # red plane of image 1
    path = tmp_path / "data_batch_1.bin"
    rec.tofile(path)
    ds = data.load_cifar(path)
    assert len(ds) == 2 and ds.element_shape == (32, 32, 3) and ds.y.tolist() == [3, 7]
    x = ds.x.numpy()
    assert x[1, :, :, 0].min() == 200.0 and x[1, :, :, 1].max() == 0.0
    with pytest.raises(bm.InvalidArgumentError, match="kind must be one of"):
        data.load_cifar(path, kind="cifar11")


@pytest.mark.skipif(not os.path.exists(FASHION), reason="Fashion-MNIST not installed")
def test_fashion_mnist_test_set_loads():
    ds = data.load_idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"),
                       os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
    assert len(ds) == 10000 and ds.element_shape == (28, 28, 1)
    y = ds.y.numpy()
    assert np.bincount(y).tolist() == [1000] * 10
    assert 0.0 <= ds.x.numpy().min() and ds.x.numpy().max() == 255.0


def test_dataset_errors_carry_the_library_message():
    with pytest.raises(bm.ShapeError, match=r"features \(3, 2\) and targets \(4,\) hold different sample counts"):
        bm.Dataset(np.zeros((3, 2), np.float32), np.zeros(4, np.int32))
    _, _, ds = make_ds()
    with pytest.raises(bm.RangeError, match=r"index 10 at position 1 is outside \[0, 10\)"):
        ds.subset([0, 10])
    with pytest.raises(bm.InvalidArgumentError):
        ds.batches(0)
    ds.close()
    with pytest.raises(bm.StateError, match="closed"):
        len(ds)


def test_handles_are_released():
    def use():
        ds = make_ds()[2]
        return sum(len(y) for _, y in ds.shuffle(1).batches(3, shuffle=True))

    before = dict(_lib.live)
    assert use() == 10
    gc.collect()
    assert {k: v for k, v in _lib.live.items() if v != before.get(k, 0)} == {}
