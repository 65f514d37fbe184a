"""safetensors interchange with PyTorch, through plain Python (struct + json +
numpy, no safetensors package): a file the library exports loads into a torch
module's state_dict with identical tensors and predictions; a file Python
writes from a state_dict imports bit for bit; malformed headers are rejected."""
import ctypes
import struct

import numpy as np
import pytest

from cbridge import declare_tensor_api, to_numpy, to_tensor
from conftest import check
from safetensors_plain import read_safetensors, write_safetensors

torch = pytest.importorskip("torch")

E_FORMAT = -6


@pytest.fixture(scope="module")
def api(lib):
    vp, pvp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
    declare_tensor_api(lib)
    lib.bgm_archive_create.argtypes = [pvp]
    lib.bgm_archive_free.argtypes = [vp]
    lib.bgm_archive_add_tensor.argtypes = [vp, ctypes.c_char_p, vp]
    lib.bgm_archive_add_string.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p]
    lib.bgm_archive_save_safetensors.argtypes = [vp, ctypes.c_char_p]
    lib.bgm_archive_load_safetensors.argtypes = [pvp, ctypes.c_char_p]
    lib.bgm_archive_num_tensors.restype = ctypes.c_int64
    lib.bgm_archive_num_tensors.argtypes = [vp]
    lib.bgm_archive_tensor_name.restype = ctypes.c_char_p
    lib.bgm_archive_tensor_name.argtypes = [vp, ctypes.c_int64]
    lib.bgm_archive_find_tensor.argtypes = [pvp, vp, ctypes.c_char_p]
    lib.bgm_archive_get_string.argtypes = [ctypes.POINTER(ctypes.c_char_p), vp,
                                           ctypes.c_char_p]
    return lib


def export_archive(api, path, arrays, metadata=None):
    """Builds an archive of numpy arrays through the C API and exports it."""
    a = ctypes.c_void_p()
    check(api, api.bgm_archive_create(ctypes.byref(a)))
    try:
        for name, arr in arrays.items():
            t = to_tensor(api, arr)
            status = api.bgm_archive_add_tensor(a, name.encode(), t)
            api.bgm_tensor_free(t)
            check(api, status)
        for key, value in (metadata or {}).items():
            check(api, api.bgm_archive_add_string(a, key.encode(), value.encode()))
        check(api, api.bgm_archive_save_safetensors(a, str(path).encode()))
    finally:
        api.bgm_archive_free(a)


def import_archive(api, path):
    """Imports with the library; returns ({name: array}, archive-free metadata getter)."""
    a = ctypes.c_void_p()
    status = api.bgm_archive_load_safetensors(ctypes.byref(a), str(path).encode())
    if status != 0:
        return status, None
    out = {}
    try:
        for i in range(api.bgm_archive_num_tensors(a)):
            name = api.bgm_archive_tensor_name(a, i)
            t = ctypes.c_void_p()
            check(api, api.bgm_archive_find_tensor(ctypes.byref(t), a, name))
            out[name.decode("utf-8")] = to_numpy(api, t)
    finally:
        api.bgm_archive_free(a)
    return 0, out


class SmallNet(torch.nn.Module):
    """Conv, BatchNorm (with its int64 counter), Linear: a typical state_dict."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.bn = torch.nn.BatchNorm2d(4)
        self.fc = torch.nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def trained_net(seed):
    torch.manual_seed(seed)
    net = SmallNet()
    net.train()
    for _ in range(3):  # moves BatchNorm's running statistics and its counter
        net(torch.randn(8, 3, 6, 6))
    net.eval()
    return net


def test_exported_file_loads_into_a_torch_state_dict_with_identical_tensors(api, tmp_path):
    net = trained_net(0)
    arrays = {}
    for name, value in net.state_dict().items():
        arr = value.detach().cpu().numpy()
        arrays[name] = arr.astype(np.int32) if arr.dtype == np.int64 else arr
    path = tmp_path / "net.safetensors"
    export_archive(api, path, arrays, {"framework": "bigmodel"})

    tensors, metadata = read_safetensors(path)
    assert metadata == {"format": "pt", "framework": "bigmodel"}
    assert list(tensors) == list(net.state_dict())
    assert tensors["bn.num_batches_tracked"].dtype == np.int32
    assert int(tensors["bn.num_batches_tracked"]) == 3

    fresh = SmallNet()
    fresh.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()},
                          strict=True)
    fresh.eval()
    for name, value in net.state_dict().items():
        assert torch.equal(fresh.state_dict()[name], value), name
    x = torch.randn(4, 3, 6, 6)
    with torch.no_grad():
        assert torch.equal(fresh(x), net(x))


def test_file_written_by_plain_python_imports_bit_for_bit(api, tmp_path):
    net = trained_net(1)
    state = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    # Special values must survive as bits, not as numbers.
    state["specials"] = np.array([np.nan, -0.0, np.inf, 1e-45, -3.4e38], dtype=np.float32)
    state["ids"] = np.array([[-2**31, 2**31 - 1], [0, 7]], dtype=np.int32)
    state["scalar"] = np.array(2.5, dtype=np.float32)
    state["empty"] = np.zeros((0, 3), dtype=np.float32)
    path = tmp_path / "py.safetensors"
    write_safetensors(path, state, {"format": "pt", "note": "caf\u00e9"})

    status, got = import_archive(api, path)
    assert status == 0
    assert list(got) == list(state)
    for name, want in state.items():
        have = got[name]
        assert have.shape == want.shape, name
        if want.dtype == np.int64:  # BatchNorm's counter arrives as int32
            assert have.dtype == np.int32 and np.array_equal(have, want), name
        else:
            assert have.dtype == want.dtype, name
            assert have.tobytes() == want.tobytes(), name


def test_round_trip_through_the_library_keeps_every_bit(api, tmp_path):
    rng = np.random.default_rng(5)
    arrays = {"w": rng.standard_normal((17, 9)).astype(np.float32),
              "b": rng.integers(-1000, 1000, size=(9,)).astype(np.int32)}
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    write_safetensors(first, arrays)
    status, got = import_archive(api, first)
    assert status == 0
    export_archive(api, second, got)
    tensors, _ = read_safetensors(second)
    for name in arrays:
        assert tensors[name].tobytes() == arrays[name].tobytes()


@pytest.mark.parametrize("header,data,needle", [
    (b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', 8, b"expected ',' or '}'"),
    (b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"v":{"dtype":"F32",'
     b'"shape":[1],"data_offsets":[4,8]}}', 8, b"overlap"),
    (b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 16, b"cover 8 of the 16"),
    (b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}', 8, b"not a range"),
    (b'{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', 8, b"not a fraction"),
    (b'{"__metadata__":{"n":1}}', 0, b"values must be strings"),
    (b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},}', 8, b"trailing comma"),
])
def test_malformed_headers_are_rejected(api, tmp_path, header, data, needle):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * data)
    status, _ = import_archive(api, path)
    assert status == E_FORMAT
    message = api.bgm_last_error()
    assert needle in message and b"bad.safetensors: byte " in message
