"""NumPy is optional: `np` is the numpy module, or None when it is missing or
when the environment sets BIGMODEL_NO_NUMPY=1 (the tests use that switch to
run the package as if numpy were not installed). Code reads `_compat.np` at
call time, so tests may also monkeypatch it."""
import os

np = None
if os.environ.get("BIGMODEL_NO_NUMPY", "") in ("", "0"):
    try:
        import numpy as np  # noqa: F811
    except ImportError:
        np = None
