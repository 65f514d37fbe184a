"""Keras' ``keras.datasets``, for the data sets Debian packages:
``bigmodel.datasets.fashion_mnist.load_data()`` reads the files of
dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Nothing is
downloaded."""
import gzip
import os
import struct

from . import _compat
from .errors import FileIOError, FormatError, UnsupportedError

__all__ = ["fashion_mnist"]


def _idx(path):
    """The uint8 array of an IDX file (.gz)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise FormatError("%s is not an IDX file of unsigned bytes" % path)
    ndim = data[3]
    dims = struct.unpack(">%dI" % ndim, data[4:4 + 4 * ndim])
    count = 1
    for d in dims:
        count *= d
    if len(data) != 4 + 4 * ndim + count:
        raise FormatError("%s holds %d bytes of values, its header says %s" % (
            path, len(data) - 4 - 4 * ndim, "x".join(map(str, dims))))
    np = _compat.np
    return np.frombuffer(data, np.uint8, count, 4 + 4 * ndim).reshape(dims).copy()


class fashion_mnist:  # noqa: N801  (a namespace, as keras.datasets.fashion_mnist)
    """Fashion-MNIST: 60,000 training and 10,000 test images of 28x28 pixels."""

    PATH = "/usr/share/datasets/fashion-mnist"
    PACKAGE = "dataset-fashion-mnist"

    @staticmethod
    def load_data(path=None):
        """(x_train, y_train), (x_test, y_test) as Keras gives them: uint8 arrays
        of shape (60000, 28, 28), (60000,), (10000, 28, 28), (10000,). path: the
        folder of the four *-ubyte.gz files (default: Debian's)."""
        if _compat.np is None:
            raise UnsupportedError("fashion_mnist.load_data returns numpy arrays: install "
                                   "numpy (Debian's python3-numpy)")
        folder = fashion_mnist.PATH if path is None else path
        names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
        for name in names:
            if not os.path.exists(os.path.join(folder, name)):
                raise FileIOError("fashion_mnist.load_data: %s is missing; install Debian's "
                                  "%s package (apt-get install %s), which puts the files "
                                  "in %s" % (os.path.join(folder, name), fashion_mnist.PACKAGE,
                                             fashion_mnist.PACKAGE, fashion_mnist.PATH))
        arrays = [_idx(os.path.join(folder, name)) for name in names]
        return (arrays[0], arrays[1]), (arrays[2], arrays[3])
