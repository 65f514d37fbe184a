"""Shared fixtures for the Python tests: the library through ctypes."""
import ctypes
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_library():
    path = os.environ.get("BIGMODEL_LIBRARY", os.path.join(ROOT, "build", "libbigmodel.so"))
    lib = ctypes.CDLL(path)
    lib.bgm_last_error.restype = ctypes.c_char_p
    lib.bgm_status_string.restype = ctypes.c_char_p
    return lib


@pytest.fixture(scope="session")
def lib():
    return load_library()


def check(lib, status):
    """Raises with the library's message unless status is BGM_OK."""
    if status != 0:
        raise AssertionError("%s: %s" % (lib.bgm_status_string(status).decode(),
                                         lib.bgm_last_error().decode()))


@pytest.fixture
def session(api):
    """A cbridge.TapeSession on the test module's api fixture, closed after the test."""
    from cbridge import TapeSession  # cbridge imports check from here
    s = TapeSession(api)
    yield s
    s.close()
