"""NumPy .npy interchange: numpy reads what bgm_npy_save writes, and
bgm_npy_load reads what numpy writes (format 1.0 and 2.0 headers)."""
import ctypes
import struct

import numpy as np
import pytest

from cbridge import declare_tensor_api, to_numpy, to_tensor
from conftest import check

E_FORMAT, E_UNSUPPORTED = -6, -8


@pytest.fixture(scope="module")
def api(lib):
    declare_tensor_api(lib)
    lib.bgm_npy_save.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.bgm_npy_load.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p]
    return lib


def load(api, path):
    t = ctypes.c_void_p()
    status = api.bgm_npy_load(ctypes.byref(t), str(path).encode())
    if status != 0:
        return status, None
    arr = to_numpy(api, t)
    api.bgm_tensor_free(t)
    return 0, arr


ARRAYS = [
    np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7,
    np.array([np.inf, -0.0, 1e-45, 3.4028235e38], dtype=np.float32),
    np.array([-2**31, 2**31 - 1, 0, 5], dtype=np.int32).reshape(2, 2),
    np.array(2.5, dtype=np.float32),
    np.zeros((0, 3), dtype=np.int32),
]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: "%s%s" % (a.dtype, a.shape))
def test_numpy_reads_what_we_write(api, tmp_path, arr):
    path = tmp_path / "ours.npy"
    t = to_tensor(api, arr)
    check(api, api.bgm_npy_save(t, str(path).encode()))
    api.bgm_tensor_free(t)
    back = np.load(path)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()
    with open(path, "rb") as f:
        assert f.read(8) == b"\x93NUMPY\x01\x00"


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: "%s%s" % (a.dtype, a.shape))
def test_we_read_what_numpy_writes(api, tmp_path, arr, version):
    path = tmp_path / "theirs.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=version)
    with open(path, "rb") as f:
        assert f.read(7)[6] == version[0]
    status, back = load(api, path)
    check(api, status)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == arr.tobytes()


def test_a_hand_made_version_2_header_and_uint8_data(api, tmp_path):
    data = np.array([[0, 7], [128, 255]], dtype=np.uint8)
    header = b"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }"
    pad = 64 - (12 + len(header) + 1) % 64
    header += b" " * pad + b"\n"
    path = tmp_path / "v2.npy"
    path.write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) + header
                     + data.tobytes())
    assert np.load(path).tolist() == data.tolist()  # numpy agrees it is valid
    status, back = load(api, path)
    check(api, status)
    assert back.dtype == np.float32
    assert back.tolist() == [[0.0, 7.0], [128.0, 255.0]]


@pytest.mark.parametrize("arr, needle", [
    (np.zeros(3, dtype=np.float64), b"'<f8'"),
    (np.zeros(3, dtype=np.int64), b"'<i8'"),
    (np.zeros(3, dtype=">f4"), b"'>f4'"),
    (np.asfortranarray(np.zeros((2, 3), dtype=np.float32)), b"Fortran"),
])
def test_other_dtypes_and_fortran_order_are_refused(api, tmp_path, arr, needle):
    path = tmp_path / "other.npy"
    np.save(path, arr)
    status, _ = load(api, path)
    assert status == E_UNSUPPORTED
    assert needle in api.bgm_last_error()


def test_a_truncated_numpy_file_names_the_offset(api, tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.arange(10, dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-3])
    status, _ = load(api, path)
    assert status == E_FORMAT
    assert b"byte offset 128" in api.bgm_last_error()
