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


def pytest_sessionfinish(session, exitstatus):
    """make check-sanitize (BIGMODEL_SANITIZE set, ASan preloaded with
    leak_check_at_exit=0): the leak check runs here, after the last test and a
    collection and closing what the package's objects still hold. At interpreter
    exit the bindings leave live handles to the operating system by design
    (bigmodel/_handle.py), which an at-exit check would report; a block of
    libbigmodel that nothing reaches now is a leak, and fails the run."""
    if not os.environ.get("BIGMODEL_SANITIZE"):
        return
    import gc
    gc.collect()
    # Handles are Python ints, which LeakSanitizer cannot read as pointers:
    # close what the package's objects still hold (module-level objects of
    # the tests, caches), so that the check sees only what nothing frees.
    # The memory a live numpy array borrows (bigmodel.tensor's holder, which
    # has no close) is released the way its __del__ would.
    for obj in gc.get_objects():
        if not type(obj).__module__.startswith("bigmodel"):
            continue
        try:
            if callable(getattr(obj, "close", None)):
                obj.close()
            elif getattr(obj, "_owned", False) and getattr(obj, "_ptr", None):
                from bigmodel import _lib
                _lib.lib.bgm_tensor_free(obj._ptr)
                obj._owned = False
        except Exception:
            pass
    gc.collect()
    check = getattr(ctypes.CDLL(None), "__lsan_do_recoverable_leak_check")
    if check() != 0:
        print("\nLeakSanitizer found leaks (report above)")
        session.exitstatus = 1
