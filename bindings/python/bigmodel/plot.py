"""Training curves and confusion matrices as PNG images, with matplotlib.

    history = model.fit(x, y, epochs=10, validation_split=0.1)
    bm.plot.history(history, "history.png")
    pred = model.predict(x_test).argmax(axis=-1)
    bm.plot.confusion_matrix(y_test, pred, class_names, "confusion.png")

matplotlib is optional: it is imported when a function draws, and a missing
matplotlib raises ImportError naming the package to install (Debian's
python3-matplotlib). Figures are drawn on matplotlib's Agg canvas, never
through pyplot, so they neither open windows nor change the backend of a
program that uses pyplot itself. Each function returns the Figure it drew
(a notebook displays it).
"""
import math
import numbers
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import metrics as _metrics
from .errors import InvalidArgumentError

__all__ = ["history", "confusion_matrix"]

PathLike = Union[str, "os.PathLike[str]"]

# Pixels: figures are drawn at DPI dots per inch, so their PNG sizes are whole
# numbers of pixels that the docstrings state.
DPI = 100
PANEL_SIZE = (5.0, 3.5)      # inches per subplot of history
PANEL_COLUMNS = 2


def _figure(width: float, height: float) -> Any:
    """A matplotlib Figure of width x height inches on an Agg canvas."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError("bigmodel.plot needs matplotlib, which is not installed: "
                          "apt-get install python3-matplotlib (Debian), or "
                          "pip install matplotlib") from exc
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Optional[PathLike]) -> None:
    if path is not None:
        fig.savefig(os.fspath(path), dpi=DPI, format="png")


# ---- history ------------------------------------------------------------------------


def _history_series(history: Any) -> Tuple[List[int], Dict[str, List[float]]]:
    """(epochs counted from 1, {name: values}) of a History or a dict of lists."""
    if isinstance(history, Mapping):
        logs, epochs = history, None
    elif isinstance(getattr(history, "history", None), Mapping):
        logs, epochs = history.history, getattr(history, "epoch", None)
    else:
        raise TypeError("history: expected the History that fit returns or a dict "
                        "{name: per-epoch values}, got %s" % type(history).__name__)
    series = {}
    for name, values in logs.items():
        if not isinstance(name, str):
            raise InvalidArgumentError("history: names must be strings, got %r" % (name,))
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise InvalidArgumentError("history[%r]: expected a sequence of per-epoch "
                                       "values, got %s" % (name, type(values).__name__))
        try:
            series[name] = [float(v) for v in values]
        except (TypeError, ValueError):
            raise InvalidArgumentError("history[%r]: every value must be a number" % name)
    lengths = {len(v) for v in series.values()}
    if not series or lengths == {0}:
        raise InvalidArgumentError("history is empty: no epoch was recorded")
    if len(lengths) != 1:
        raise InvalidArgumentError("history: the names have different numbers of epochs (%s)"
                                   % ", ".join("%s: %d" % (k, len(v)) for k, v in series.items()))
    n = lengths.pop()
    if epochs is None or len(epochs) == 0:
        return list(range(1, n + 1)), series
    if len(epochs) != n:
        raise InvalidArgumentError("history: %d epoch indices for %d values per name"
                                   % (len(epochs), n))
    return [int(e) + 1 for e in epochs], series


def _quantities(names: Sequence[str]) -> List[Tuple[str, Optional[str], Optional[str]]]:
    """[(quantity, training name or None, validation name or None)], loss first."""
    out, seen = [], set()
    for name in names:
        base = name[4:] if name.startswith("val_") else name
        if base in seen:
            continue
        seen.add(base)
        out.append((base, base if base in names else None,
                    "val_" + base if "val_" + base in names else None))
    out.sort(key=lambda q: q[0] != "loss")   # stable: the others keep their order
    return out


def history(history: Any, path: Optional[PathLike] = None) -> Any:
    """Plots training curves and writes them to path as a PNG (when path is
    not None); returns the matplotlib Figure.

    history: the History that fit returns, or a dict {name: per-epoch values}
        such as Keras' ``history.history``. Every name is plotted: "loss"
        first, then each metric (and "learning_rate" when a scheduler logged
        it), one subplot per quantity, its "val_" twin on the same axes.
        Epochs are counted from 1 (those of a fit resumed at initial_epoch
        from initial_epoch + 1); NaN values leave gaps.
    path: where to write the PNG, or None.

    The image has 2 columns of subplots (1 when there is one quantity), each
    500 x 350 pixels. Raises ValueError (InvalidArgumentError) for an empty
    history, names of different lengths or values that are not numbers,
    TypeError for anything but a History or a dict, ImportError without
    matplotlib.
    """
    epochs, series = _history_series(history)
    quantities = _quantities(list(series))
    cols = min(PANEL_COLUMNS, len(quantities))
    rows = int(math.ceil(len(quantities) / cols))
    fig = _figure(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows)
    from matplotlib.ticker import MaxNLocator
    for i, (quantity, train, val) in enumerate(quantities):
        ax = fig.add_subplot(rows, cols, i + 1)
        if train is not None:
            ax.plot(epochs, series[train], marker="o", markersize=3, label="train")
        if val is not None:
            ax.plot(epochs, series[val], marker="o", markersize=3, label="validation")
        ax.set_title(quantity)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    _save(fig, path)
    return fig


# ---- confusion matrix -----------------------------------------------------------------


def _class_indices(y: Any, what: str, n: int) -> List[int]:
    """y as a list of class indices in [0, n), or InvalidArgumentError."""
    values = y.tolist() if hasattr(y, "tolist") else y
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidArgumentError("%s: expected a 1-D sequence of class indices, got %s"
                                   % (what, type(y).__name__))
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            if hasattr(v, "__iter__"):
                raise InvalidArgumentError(
                    "%s: expected 1-D class indices, got rows (for scores or one-hot rows "
                    "take argmax over the last axis first)" % what)
            raise InvalidArgumentError("%s[%d] = %r is not a class index" % (what, i, v))
        if not math.isfinite(v) or v != int(v):
            raise InvalidArgumentError("%s[%d] = %r is not a whole number" % (what, i, v))
        if not 0 <= v < n:
            raise InvalidArgumentError("%s[%d] = %d is out of range: labels names %d classes "
                                       "(indices 0 to %d)" % (what, i, int(v), n, n - 1))
        out.append(int(v))
    return out


_NORMALIZE = (None, "true", "pred", "all")
_TITLES = {None: "", "true": " (rows sum to 1)", "pred": " (columns sum to 1)",
           "all": " (cells sum to 1)"}


def _normalized(counts: List[List[int]], normalize: Optional[str]) -> List[List[float]]:
    """scikit-learn's normalize: over rows ("true"), columns ("pred") or all;
    a row or column of no samples stays 0."""
    n = len(counts)
    if normalize is None:
        return [[float(c) for c in row] for row in counts]
    if normalize == "true":
        totals = [[sum(counts[i])] * n for i in range(n)]
    elif normalize == "pred":
        col = [sum(counts[i][j] for i in range(n)) for j in range(n)]
        totals = [col for _ in range(n)]
    else:
        totals = [[sum(map(sum, counts))] * n for _ in range(n)]
    return [[counts[i][j] / totals[i][j] if totals[i][j] else 0.0 for j in range(n)]
            for i in range(n)]


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any],
                     path: Optional[PathLike] = None,
                     normalize: Optional[str] = None) -> Any:
    """Draws the confusion matrix of y_pred against y_true with the count of
    each cell written in it, writes it to path as a PNG (when path is not
    None) and returns the matplotlib Figure.

    y_true, y_pred: class indices 0 .. len(labels) - 1, 1-D (lists, numpy
        arrays or Tensors; for scores take ``argmax(axis=-1)`` first).
    labels: the class names, in index order, written on both axes (rows:
        true class, columns: predicted class).
    normalize: None (colours by count), or as scikit-learn: "true" (each
        row sums to 1), "pred" (each column) or "all"; the cells then show
        the fraction above the count.

    The image is square: max(5, 2.5 + len(labels) / 2) inches at 100 pixels
    per inch. Raises ValueError (InvalidArgumentError) when y_true and y_pred
    differ in length or are empty, a class index is out of range or not a
    whole number, labels is empty, or normalize is not one of those;
    ImportError without matplotlib.
    """
    if normalize not in _NORMALIZE:
        raise InvalidArgumentError("normalize must be None, 'true', 'pred' or 'all', got %r"
                                   % (normalize,))
    names = [str(lab) for lab in labels]
    n = len(names)
    if n == 0:
        raise InvalidArgumentError("labels is empty: name at least one class")
    t = _class_indices(y_true, "y_true", n)
    p = _class_indices(y_pred, "y_pred", n)
    if len(t) != len(p):
        raise InvalidArgumentError("y_true has %d samples but y_pred has %d"
                                   % (len(t), len(p)))
    if not t:
        raise InvalidArgumentError("y_true and y_pred are empty: no sample to count")
    counts = _metrics.confusion_matrix(t, p, labels=list(range(n)))
    counts = [[int(c) for c in row] for row in (counts.tolist() if hasattr(counts, "tolist")
                                                else counts)]
    shown = _normalized(counts, normalize)

    side = max(5.0, 2.5 + n / 2)
    fig = _figure(side, side)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(shown, cmap="Blues", vmin=0.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    top = max(max(row) for row in shown)
    for i in range(n):
        for j in range(n):
            text = (str(counts[i][j]) if normalize is None
                    else "%.2f\n(%d)" % (shown[i][j], counts[i][j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if top and shown[i][j] > top / 2 else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45 if n > 4 else 0, ha="right" if n > 4 else "center")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix" + _TITLES[normalize])
    fig.tight_layout()
    _save(fig, path)
    return fig
