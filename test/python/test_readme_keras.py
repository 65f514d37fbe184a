"""The Python README's Keras program (Keras' Fashion-MNIST CNN with one changed
import) runs as written: its block is read from the README, checked to be the
Keras original but for the import, and run on a slice of the data for two
epochs (the only changes: load_data returns a slice, epochs=15 becomes 2)."""
import os
import re

import pytest

import bindings_path

import bigmodel as bm

README = os.path.join(bindings_path.BINDINGS, "README.md")
FASHION = "/usr/share/datasets/fashion-mnist"


def program():
    text = open(README).read()
    section = text[text.index("## A Keras program"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_program_is_keras_but_for_the_import():
    lines = program().splitlines()
    changed = [line for line in lines if "bigmodel" in line]
    assert changed == ["import bigmodel as keras  # the Keras original: import keras"]
    assert "epochs=15" in program()
    assert "keras.datasets.fashion_mnist.load_data()" in program()


@pytest.mark.skipif(not os.path.exists(FASHION), reason="dataset-fashion-mnist not installed")
def test_the_readme_keras_program_trains(monkeypatch, capsys):
    full = bm.datasets.fashion_mnist.load_data

    def first_samples():
        (x, y), (xt, yt) = full()
        return (x[:4096], y[:4096]), (xt[:1024], yt[:1024])

    monkeypatch.setattr(bm.datasets.fashion_mnist, "load_data", first_samples)
    bm.utils.set_random_seed(0)
    source = program().replace("epochs=15", "epochs=2")
    exec(compile(source, README, "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out
    assert "x_train shape: (4096, 28, 28, 1)" in out
    assert "Total params: 34,826" in out
    assert "Epoch 2/2" in out
    accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", out).group(1))
    loss = float(re.search(r"Test loss: ([0-9.]+)", out).group(1))
    assert accuracy > 0.6 and loss < 1.2
