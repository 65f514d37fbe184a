"""Keras' ``keras.utils`` helpers: to_categorical, set_random_seed and
plot_model.

plot_model draws with Graphviz's ``dot`` program (Debian's graphviz
package); it builds the graph's DOT text itself, so Keras' pydot is not
needed. A to_file ending in ".dot" writes that text without Graphviz."""
import json
import os
import random
import shutil
import subprocess

from . import _compat
from . import model as _model
from ._sequence import pad_sequences  # noqa: F401  (Keras 3: keras.utils.pad_sequences)
from .data import PyDataset  # noqa: F401  (Keras 3: keras.utils.PyDataset)
from .errors import InvalidArgumentError, UnsupportedError

__all__ = ["to_categorical", "set_random_seed", "plot_model", "pad_sequences", "PyDataset"]


def to_categorical(x, num_classes=None):
    """One-hot float32 rows of the class ids x (Keras' to_categorical): shape
    x.shape + (num_classes,), a trailing axis of 1 in x dropped first;
    num_classes None: max(x) + 1."""
    np = _compat.np
    if np is None:
        raise UnsupportedError("to_categorical returns a numpy array: install numpy")
    x = np.asarray(x)
    if x.size and not np.all(np.asarray(x, np.float64) == np.floor(x)):
        raise InvalidArgumentError("to_categorical takes class ids (whole numbers), got %r"
                                   % (x.ravel()[np.argmax(x.ravel() != np.floor(x.ravel()))],))
    x = x.astype(np.int64)
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    x = x.ravel()
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        raise InvalidArgumentError("to_categorical: class id %d is outside [0, %d)" % (
            x.min() if x.min() < 0 else x.max(), num_classes))
    out = np.zeros((x.size, int(num_classes)), np.float32)
    out[np.arange(x.size), x] = 1.0
    return out.reshape(shape + (int(num_classes),))


def set_random_seed(seed):
    """Seeds Python's random, numpy's global generator and the seeds bigmodel
    gives models made without one (their initial weights, shuffling and
    dropout), so that a program gives the same results on each run."""
    seed = int(seed)
    random.seed(seed)
    if _compat.np is not None:
        _compat.np.random.seed(seed % 2**32)
    _model._seed_source = random.Random(seed)


def _graph(model):
    """[(name, class name, config)] nodes and [(from, to)] edges of model's layer
    graph."""
    config = json.loads(model.to_json())
    nodes, edges, previous = [], [], None
    sequential = config["class_name"] == "Sequential"
    for entry in config["config"]["layers"]:
        name = entry["config"]["name"] or entry["class_name"].lower()
        nodes.append((name, entry["class_name"], entry["config"]))
        if sequential:
            if previous is not None:
                edges.append((previous, name))
            previous = name
        for call in entry.get("inbound_nodes", []):
            for source in _histories(call):
                edges.append((source, name))
    return nodes, edges


def _histories(value):
    if isinstance(value, dict):
        history = value.get("config", {}).get("keras_history") if "config" in value else None
        if history:
            return [history[0]]
        return [h for v in value.values() for h in _histories(v)]
    if isinstance(value, list):
        return [h for v in value for h in _histories(v)]
    return []


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws model's graph of layers to to_file (Keras' plot_model): one box per
    layer ("name (Class)"; with show_shapes its output shape, show_dtype its
    output dtype, show_layer_activations its activation, show_trainable its
    flag), an arrow per input it takes. The format follows the extension
    (.png, .svg, .pdf, ...) and needs Graphviz's dot program (Debian's
    graphviz); ".dot" writes the DOT text itself. Models hold no nested
    models, so expand_nested changes nothing. Returns the DOT text."""
    if rankdir not in ("TB", "LR"):
        raise InvalidArgumentError("plot_model: rankdir must be 'TB' or 'LR', got %r"
                                   % (rankdir,))
    if kwargs:
        raise InvalidArgumentError("plot_model: unknown arguments %s" % ", ".join(kwargs))
    nodes, edges = _graph(model)
    shapes, dtypes = {}, {}
    for layer in model.layers:
        shapes[layer.name], dtypes[layer.name] = layer.output_shape, "float32"
    for node in model.inputs:
        shapes[node.name], dtypes[node.name] = node.shape, node.dtype
    lines = ["digraph model {", "  rankdir=%s;" % rankdir, "  dpi=%d;" % int(dpi),
             '  node [shape=record, fontname="Helvetica"];']
    for name, kind, config in nodes:
        label = "%s (%s)" % (name, kind) if show_layer_names else kind
        if show_layer_activations and "activation" in config:
            label += "|activation: %s" % config["activation"]
        if show_shapes:
            label += "|%s" % (shapes[name],)
        if show_dtype:
            label += "|%s" % dtypes[name]
        if show_trainable and kind != "InputLayer":
            label += "|trainable: %s" % config["trainable"]
        lines.append('  "%s" [label="%s"];' % (name, label.replace('"', '\\"')))
    for a, b in edges:
        lines.append('  "%s" -> "%s";' % (a, b))
    lines.append("}")
    text = "\n".join(lines) + "\n"
    ext = os.path.splitext(to_file)[1].lstrip(".").lower() or "png"
    if ext == "dot":
        with open(to_file, "w") as f:
            f.write(text)
        return text
    dot = shutil.which("dot")
    if dot is None:
        raise ImportError("plot_model needs Graphviz's dot program to draw %s: install "
                          "Debian's graphviz package (apt-get install graphviz; Keras' "
                          "python3-pydot is not needed), or give a to_file ending in .dot "
                          "for the DOT text" % to_file)
    result = subprocess.run([dot, "-T" + ext, "-o", to_file], input=text.encode(),
                            capture_output=True)
    if result.returncode != 0:
        raise InvalidArgumentError("plot_model: dot could not write %s: %s" % (
            to_file, result.stderr.decode(errors="replace").strip()))
    return text
