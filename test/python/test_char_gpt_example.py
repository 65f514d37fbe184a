"""The Python char GPT example (bindings/python/examples/char_gpt.py): the
documented network (the C example's, parameter for parameter) and a short
run on a small text that trains, validates and generates."""
import importlib.util
import os

import numpy as np

import bindings_path
import bigmodel as bm


def load_example():
    path = os.path.join(bindings_path.BINDINGS, "examples", "char_gpt.py")
    spec = importlib.util.spec_from_file_location("char_gpt", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_builds_the_network_of_the_c_example():
    bm.backend.clear_session()
    model = load_example().gpt(63)
    kinds = [layer.kind for layer in model.layers]
    assert kinds.count("MultiHeadAttention") == 4 and kinds.count("LayerNormalization") == 9
    assert model.count_params() == 825919  # examples/char_gpt.c's summary on the Bible
    assert model.output_shape == (None, 128, 63)
    model.close()


def test_the_example_trains_validates_and_samples_on_a_small_text(capsys):
    bm.backend.clear_session()
    rng = np.random.default_rng(3)
    text = "".join(rng.choice(list("abc de\n"), 6000))
    model, val_loss = load_example().main(epochs=1, steps=4, context=16, batch=4,
                                          text=(text, 5000), prompt="ab c", verbose=0)
    out = capsys.readouterr().out
    assert np.isfinite(val_loss) and "validation perplexity" in out
    sample = out.split("--- sample ---\n", 1)[1]
    assert sample.startswith("ab c") and len(sample) > 300 and set(sample) <= set(text)
    model.close()
