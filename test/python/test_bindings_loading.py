"""Loading the library: the ABI check at import and the messages when the
library is missing or does not fit."""
import ctypes
import os
import subprocess
import sys

import pytest

import bindings_path
import bigmodel
from bigmodel import _lib


def run_python(code, **env_changes):
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["PYTHONPATH"] = bindings_path.BINDINGS
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)


def test_import_reports_the_loaded_library_and_its_version():
    assert os.path.samefile(bigmodel.library_path(), os.environ["BIGMODEL_LIBRARY"])
    assert bigmodel.library_origin() == "$BIGMODEL_LIBRARY"
    major, minor, _ = _lib.split_version(_lib.lib.bgm_version_number())
    assert major == _lib.ABI_MAJOR and minor >= _lib.ABI_MINOR
    assert bigmodel.library_version() == "%d.%d.%d" % _lib.split_version(
        _lib.lib.bgm_version_number())


def test_abi_major_mismatch_names_both_versions(monkeypatch):
    monkeypatch.setattr(_lib, "ABI_MAJOR", 7)
    with pytest.raises(ImportError) as info:
        _lib.open_library()
    text = str(info.value)
    assert os.environ["BIGMODEL_LIBRARY"] in text
    assert "has ABI 0, but this package needs ABI 7" in text
    assert "library version %s" % bigmodel.library_version() in text


def test_abi_minor_too_old_is_rejected(monkeypatch):
    monkeypatch.setattr(_lib, "ABI_MINOR", 99)
    with pytest.raises(ImportError, match=r"needs ABI 0 at version 0\.99 or newer"):
        _lib.open_library()


def test_a_library_without_a_required_symbol_is_rejected(monkeypatch):
    monkeypatch.setitem(_lib.REQUIRED, "bgm_no_such_function", (None, []))
    cdll = ctypes.CDLL(os.environ["BIGMODEL_LIBRARY"])
    assert "lacks 1 symbol(s) this package needs: bgm_no_such_function" in \
        _lib.check_abi(cdll)


def test_a_library_that_is_not_bigmodel_is_rejected():
    libc = ctypes.CDLL(None)
    assert _lib.check_abi(libc) == "not a libbigmodel: it has no bgm_version_number()"


def test_missing_override_fails_import_naming_the_path():
    result = run_python("import bigmodel", BIGMODEL_LIBRARY="/nonexistent/libbigmodel.so")
    assert result.returncode != 0
    assert "ImportError: bigmodel: no usable libbigmodel" in result.stderr
    assert "$BIGMODEL_LIBRARY: /nonexistent/libbigmodel.so: cannot load" in result.stderr
    assert "set BIGMODEL_LIBRARY" in result.stderr


def test_without_override_every_candidate_is_tried_and_named(monkeypatch, tmp_path):
    monkeypatch.delenv("BIGMODEL_LIBRARY")
    monkeypatch.setattr(_lib, "IN_TREE", str(tmp_path / "build" / "libbigmodel.so"))
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(_lib, "ABI_MAJOR", 57)  # no libbigmodel.so.57 anywhere
    with pytest.raises(ImportError) as info:
        _lib.open_library()
    text = str(info.value)
    assert "in-tree build: %s: cannot load" % (tmp_path / "build" / "libbigmodel.so") in text
    assert "system loader: libbigmodel.so.57: cannot load" in text
    assert text.index("in-tree build") < text.index("system loader")


def test_search_order_is_override_package_folder_in_tree_install_system(monkeypatch):
    monkeypatch.delenv("BIGMODEL_LIBRARY")
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: "libbigmodel.so.0")
    monkeypatch.setattr(_lib, "INSTALL_LIBDIR", "/opt/bgm/lib")
    found = _lib.candidates()
    assert [label for label, _ in found] == [
        "next to the package", "in-tree build", "make install's LIBDIR",
        "ctypes.util.find_library('bigmodel')", "system loader"]
    assert found[0][1] == os.path.join(_lib.PACKAGE_DIR, "libbigmodel.so.0")
    assert found[1][1].endswith(os.path.join("build", "libbigmodel.so"))
    assert found[2][1] == "/opt/bgm/lib/libbigmodel.so.0"
    monkeypatch.setenv("BIGMODEL_LIBRARY", "/x/libbigmodel.so")
    assert _lib.candidates() == [("$BIGMODEL_LIBRARY", "/x/libbigmodel.so")]


def test_an_installed_package_has_no_in_tree_or_install_candidate(monkeypatch):
    monkeypatch.delenv("BIGMODEL_LIBRARY")
    monkeypatch.setattr(_lib, "IN_TREE", None)
    monkeypatch.setattr(_lib, "INSTALL_LIBDIR", None)
    monkeypatch.setattr(_lib.ctypes.util, "find_library", lambda name: None)
    assert [label for label, _ in _lib.candidates()] == ["next to the package",
                                                         "system loader"]


def test_a_library_next_to_the_package_is_found_and_named(monkeypatch, tmp_path):
    built = os.environ["BIGMODEL_LIBRARY"]
    monkeypatch.delenv("BIGMODEL_LIBRARY")
    os.symlink(built, tmp_path / "libbigmodel.so.0")
    monkeypatch.setattr(_lib, "PACKAGE_DIR", str(tmp_path))
    cdll, path, origin = _lib.open_library()
    assert origin == "next to the package"
    assert os.path.samefile(path, built)


def test_loaded_file_names_the_file_behind_a_handle():
    cdll = ctypes.CDLL(os.environ["BIGMODEL_LIBRARY"])
    assert os.path.samefile(_lib.loaded_file(cdll, "unused"), os.environ["BIGMODEL_LIBRARY"])
    libc = ctypes.CDLL(None)
    # a symbol of another file: libc's name (one ASan does not intercept, as
    # it does strlen under check-sanitize)
    libc.bgm_version_number = libc.gnu_get_libc_version
    assert "libc" in os.path.basename(_lib.loaded_file(libc, "fallback"))


def test_package_imports_and_works_when_numpy_cannot_be_imported():
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import bigmodel as bm\n"
            "t = bm.Tensor([[1.0, 2.0], [3.0, 4.0]])\n"
            "print((t @ t).tolist(), 'numpy' in sys.modules and sys.modules['numpy'])\n")
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[[7.0, 10.0], [15.0, 22.0]] None"


def test_no_numpy_switch_hides_numpy_from_the_package():
    result = run_python("import bigmodel._compat as c; print(c.np)", BIGMODEL_NO_NUMPY="1")
    assert result.stdout.strip() == "None", result.stderr


def test_optional_functions_missing_from_the_library_raise_unsupported(monkeypatch):
    monkeypatch.setattr(_lib.lib, "bgm_tensor_one_hot",
                        _lib._missing("bgm_tensor_one_hot", _lib.lib.path))
    with pytest.raises(bigmodel.UnsupportedError,
                       match="bgm_tensor_one_hot is not exported by .*: it needs a newer"):
        bigmodel.data.one_hot([0, 1], 2)
