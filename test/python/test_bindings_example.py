"""The Fashion-MNIST example trains, reports, and needs no numpy."""
import os
import re
import subprocess
import sys

import pytest

import bindings_path

FASHION = "/usr/share/datasets/fashion-mnist"
EXAMPLE = os.path.join(bindings_path.BINDINGS, "examples", "fashion_mnist.py")


@pytest.mark.skipif(not os.path.exists(FASHION), reason="Fashion-MNIST not installed")
def test_fashion_mnist_example_learns_without_numpy():
    env = dict(os.environ, BIGMODEL_NO_NUMPY="1")
    result = subprocess.run([sys.executable, EXAMPLE, FASHION, "1"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", result.stdout).group(1))
    assert accuracy > 0.75
    assert re.search(r"^\s+Trouser\s+0\.\d{3}\s+0\.\d{3}\s+0\.\d{3}\s+1000$", result.stdout,
                     re.M)
    assert "weighted avg" in result.stdout
