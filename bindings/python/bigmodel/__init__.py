"""bigmodel: Python bindings for libbigmodel, a deep-learning library in C.

Pure ctypes, no compiled extension; numpy is optional (tensors share memory
with numpy arrays when it is installed, and work from lists, array.array and
memoryview without it).

    import bigmodel as bm
    x = bm.Tensor(np.random.rand(4, 3).astype(np.float32))   # no copy
    w = bm.Variable(np.zeros((3, 1), np.float32))
    with bm.GradientTape() as tape:
        loss = bm.ops.reduce_mean((x @ w - 1.0) ** 2)
    (dw,) = tape.gradient(loss, [w])
    bm.optimizers.Adam(1e-2).apply([dw], [w])

    model = bm.Sequential([bm.layers.Dense(64, activation="relu"), bm.layers.Dense(10)],
                          input_shape=(784,), seed=42)
    inp = bm.Input(shape=(784,))                      # or Keras' functional API
    h = bm.layers.Dense(64, activation="relu")(inp)
    model = bm.Model(inputs=inp, outputs=bm.layers.Dense(10)(h), seed=42)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  from_logits=True, metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)

Finding the library (first fit wins; see bigmodel._lib):
  1. $BIGMODEL_LIBRARY, the path of libbigmodel.so (when set, the only candidate);
  2. next to the package: libbigmodel.so.0 in the package's own folder;
  3. in a source tree, the in-tree build ../../build/libbigmodel.so next to
     bindings/python;
  4. after `make install`, the LIBDIR it installed the library in;
  5. the system: ctypes.util.find_library("bigmodel"), then libbigmodel.so.0
     through the dynamic loader.
bigmodel.library_path() is the file loaded, bigmodel.library_origin() which
of these steps found it.
The library's ABI is checked at import: its major version must equal the one
this package speaks and its minor version must be at least the one it needs.
Otherwise, or when no library loads, ``import bigmodel`` raises ImportError
naming every path tried and what was wrong with each.

Errors: every failing library call raises a subclass of BigmodelError
(ShapeError, DTypeError, ...) carrying the library's message.
"""
from . import _lib
from . import errors
from .errors import *  # noqa: F401,F403
from .tensor import (Tensor, as_tensor, zeros, ones, full, Variable,  # noqa: F401
                     Generator, random_normal, random_uniform, float32, int32)
from .tape import GradientTape  # noqa: F401
from . import ops  # noqa: F401
from . import metrics  # noqa: F401
from .metrics import classification_report, confusion_matrix  # noqa: F401
from . import optim  # noqa: F401
from . import optim as optimizers  # noqa: F401  (Keras' module name)
from . import data  # noqa: F401
from .data import Dataset  # noqa: F401
from . import preprocessing  # noqa: F401
from . import graph  # noqa: F401
from . import backend  # noqa: F401
from .graph import Input, KerasTensor  # noqa: F401
from . import layers  # noqa: F401
from .layers import regularizers  # noqa: F401
from . import losses  # noqa: F401
from . import callbacks  # noqa: F401
from . import model  # noqa: F401
from . import text  # noqa: F401
from .model import Sequential, load_model  # noqa: F401
from . import functional  # noqa: F401
from .functional import Model  # noqa: F401
from . import generation  # noqa: F401
from .generation import Decoder  # noqa: F401
from . import saving  # noqa: F401  (user-defined layers: keras.saving)
# Keras' namespaces (keras.models, keras.utils, keras.datasets)
from . import models  # noqa: F401
from . import utils  # noqa: F401
from . import datasets  # noqa: F401
from . import distributed  # noqa: F401  (loads libbigmodel-mpi only when used)
from . import plot  # noqa: F401  (imports matplotlib only when it draws)

__version__ = "0.1.0"

__all__ = (["Decoder", "Tensor", "as_tensor", "zeros", "ones", "full", "Variable", "Generator",
            "random_normal", "random_uniform", "float32", "int32", "GradientTape", "ops",
            "metrics", "classification_report", "confusion_matrix", "optim", "optimizers",
            "data", "Dataset", "preprocessing", "layers", "Input", "KerasTensor", "graph",
            "backend", "regularizers", "losses", "callbacks", "model", "functional", "text",
            "Sequential", "Model", "load_model", "errors", "generation", "saving",
            "models", "utils", "datasets", "distributed", "plot",
            "library_path", "library_origin",
            "library_version", "set_num_threads", "get_num_threads", "kernel_isa"] + errors.__all__)

def library_path() -> str:
    """Path of the libbigmodel file this package loaded (the file the dynamic
    loader resolved, also when it was found by its soname)."""
    return _lib.lib.path


def library_origin() -> str:
    """Which search step found the library: "$BIGMODEL_LIBRARY", "next to the
    package", "in-tree build", "make install's LIBDIR",
    "ctypes.util.find_library('bigmodel')" or "system loader"."""
    return _lib.lib.origin


def library_version() -> str:
    """Version string of the loaded libbigmodel, e.g. '0.1.0'."""
    return _lib.lib.bgm_version_string().decode()


def set_num_threads(n: int) -> None:
    """Threads the library (and its BLAS) may use; 0 means one per core."""
    _lib.lib.bgm_set_num_threads(int(n))


def get_num_threads() -> int:
    """Number of threads the library uses now (>= 1)."""
    return _lib.lib.bgm_get_num_threads()


def kernel_isa() -> str:
    """Instruction-set path of the library's kernels: 'avx512', 'avx2' or
    'generic' (set at most by the environment variable BIGMODEL_ISA)."""
    return _lib.lib.bgm_kernel_isa().decode()
