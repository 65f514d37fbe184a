"""Puts bindings/python on sys.path so the tests import the in-tree package.

The package finds the library through $BIGMODEL_LIBRARY, which
`make check-python` sets to the freshly built libbigmodel.so."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINDINGS = os.path.join(ROOT, "bindings", "python")
if BINDINGS not in sys.path:
    sys.path.insert(0, BINDINGS)
