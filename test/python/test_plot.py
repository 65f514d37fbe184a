"""bigmodel.plot (matplotlib) and tools/plot_history.gp (gnuplot): the PNGs
are valid images of the stated size, and the figures hold the numbers of the
history and the hand-counted confusion matrix; bad input raises ValueError;
a missing matplotlib or gnuplot names the Debian package to install."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import bindings_path  # noqa: F401
import bigmodel as bm
from pngcheck import png_size

ROOT = bindings_path.ROOT
MIN_PNG_BYTES = 5000   # a blank 500 x 350 panel compresses to far less


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """(History, CSVLogger file) of a 3-epoch fit with accuracy and validation."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((48, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    model = bm.Sequential([bm.layers.Dense(8, activation="relu"), bm.layers.Dense(2)],
                          input_shape=(4,), seed=5)
    model.compile(optimizer=bm.optimizers.Adam(learning_rate=0.02),
                  loss="sparse_categorical_crossentropy", from_logits=True,
                  metrics=["accuracy"])
    csv = str(tmp_path_factory.mktemp("fit") / "history.csv")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25,
                        callbacks=[bm.callbacks.CSVLogger(csv)])
    model.close()
    return history, csv


def panels(fig):
    """{title: {legend label: (x list, y list)}} of a history figure."""
    out = {}
    for ax in fig.axes:
        out[ax.get_title()] = {line.get_label(): (list(line.get_xdata()),
                                                  list(line.get_ydata()))
                               for line in ax.get_lines()}
    return out


# ---- history ------------------------------------------------------------------------


def test_history_plots_loss_and_accuracy_of_a_fit_train_and_validation(fitted, tmp_path):
    history, _ = fitted
    path = tmp_path / "curves.png"
    fig = bm.plot.history(history, path)
    assert png_size(path) == (1000, 350)          # two 500 x 350 panels side by side
    assert os.path.getsize(path) > MIN_PNG_BYTES
    got = panels(fig)
    assert list(got) == ["loss", "accuracy"]
    h = history.history
    assert got["loss"] == {"train": ([1, 2, 3], h["loss"]),
                           "validation": ([1, 2, 3], h["val_loss"])}
    assert got["accuracy"] == {"train": ([1, 2, 3], h["accuracy"]),
                               "validation": ([1, 2, 3], h["val_accuracy"])}
    assert h["loss"][2] < h["loss"][0]           # the curves are of a fit that learned
    assert [ax.get_xlabel() for ax in fig.axes] == ["epoch", "epoch"]


def test_history_takes_a_keras_dict_loss_first_and_a_panel_per_quantity(tmp_path):
    logs = {"accuracy": [0.5, 0.75], "learning_rate": [0.01, 0.005],
            "loss": [0.9, 0.4], "val_loss": [1.0, float("nan")], "val_auc": [0.6, 0.7]}
    path = tmp_path / "keras.png"
    fig = bm.plot.history(logs, str(path))
    assert png_size(path) == (1000, 700)          # 4 quantities: 2 rows of 2
    got = panels(fig)
    assert list(got) == ["loss", "accuracy", "learning_rate", "auc"]
    assert got["loss"]["train"] == ([1, 2], [0.9, 0.4])
    x, y = got["loss"]["validation"]
    assert x == [1, 2] and y[0] == 1.0 and np.isnan(y[1])       # NaN: a gap
    assert got["accuracy"] == {"train": ([1, 2], [0.5, 0.75])}
    assert got["learning_rate"] == {"train": ([1, 2], [0.01, 0.005])}
    assert got["auc"] == {"validation": ([1, 2], [0.6, 0.7])}


def test_history_of_a_resumed_fit_counts_epochs_from_where_it_resumed():
    resumed = bm.callbacks.History(history={"loss": [0.3, 0.2]}, epoch=[4, 5])
    fig = bm.plot.history(resumed, None)
    assert panels(fig) == {"loss": {"train": ([5, 6], [0.3, 0.2])}}
    assert tuple(fig.get_size_inches() * fig.dpi) == (500, 350)


@pytest.mark.parametrize("bad, message", [
    ({}, "history is empty"),
    ({"loss": [], "val_loss": []}, "history is empty"),
    ({"loss": [1.0, 0.5], "val_loss": [1.0]}, "different numbers of epochs"),
    ({"loss": ["low", "lower"]}, "every value must be a number"),
    ({"loss": 0.5}, "expected a sequence of per-epoch values"),
    (bm.callbacks.History(history={"loss": [1.0]}, epoch=[0, 1]),
     "2 epoch indices for 1 values"),
])
def test_history_rejects_bad_input_with_a_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        bm.plot.history(bad, None)


def test_history_rejects_what_is_not_a_history():
    with pytest.raises(TypeError, match="expected the History that fit returns"):
        bm.plot.history([0.9, 0.4], None)


# ---- confusion matrix -----------------------------------------------------------------

Y_TRUE = [0, 0, 1, 2, 2, 2, 1, 0]
Y_PRED = [0, 1, 1, 2, 0, 2, 1, 0]
COUNTS = [[2, 1, 0],      # by hand: row = true class, column = predicted class
          [0, 2, 0],
          [1, 0, 2]]
NAMES = ["cat", "dog", "bird"]


def cells(fig):
    """{(row, column): text} of the annotations of a confusion-matrix figure."""
    ax = fig.axes[0]
    return {(int(round(t.get_position()[1])), int(round(t.get_position()[0]))): t.get_text()
            for t in ax.texts}


def test_confusion_matrix_writes_the_hand_counted_cells_and_names_both_axes(tmp_path):
    path = tmp_path / "cm.png"
    fig = bm.plot.confusion_matrix(Y_TRUE, Y_PRED, NAMES, path)
    assert png_size(path) == (500, 500)
    assert os.path.getsize(path) > MIN_PNG_BYTES
    assert cells(fig) == {(i, j): str(COUNTS[i][j]) for i in range(3) for j in range(3)}
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted class", "true class")
    assert ax.get_images()[0].get_array().tolist() == COUNTS


@pytest.mark.parametrize("normalize, totals", [
    ("true", [[3, 3, 3], [2, 2, 2], [3, 3, 3]]),      # row sums
    ("pred", [[3, 3, 2], [3, 3, 2], [3, 3, 2]]),      # column sums
    ("all", [[8] * 3] * 3),
])
def test_confusion_matrix_normalizes_as_scikit_learn_with_the_counts_kept(normalize, totals):
    fig = bm.plot.confusion_matrix(np.array(Y_TRUE), np.array(Y_PRED, np.float32), NAMES,
                                   None, normalize=normalize)
    expected = {(i, j): "%.2f\n(%d)" % (COUNTS[i][j] / totals[i][j], COUNTS[i][j])
                for i in range(3) for j in range(3)}
    assert cells(fig) == expected
    assert cells(fig)[(0, 0)] == {"true": "0.67\n(2)", "pred": "0.67\n(2)",
                                  "all": "0.25\n(2)"}[normalize]


def test_confusion_matrix_grows_with_the_classes_and_counts_a_class_never_seen():
    fig = bm.plot.confusion_matrix([0, 11, 11], [0, 11, 3], ["c%d" % i for i in range(12)],
                                   None)
    assert tuple(fig.get_size_inches() * fig.dpi) == (850, 850)   # 2.5 + 12 / 2 inches
    got = cells(fig)
    assert len(got) == 144
    assert (got[(0, 0)], got[(11, 11)], got[(11, 3)], got[(5, 5)]) == ("1", "1", "1", "0")


@pytest.mark.parametrize("y_true, y_pred, labels, kw, message", [
    ([0, 1, 1], [0, 1], NAMES, {}, "y_true has 3 samples but y_pred has 2"),
    ([0, 1, 3], [0, 1, 1], NAMES, {}, r"y_true\[2\] = 3 is out of range: labels names 3"),
    ([0, 1, 1], [0, -1, 1], NAMES, {}, r"y_pred\[1\] = -1 is out of range"),
    ([0, 1.5], [0, 1], NAMES, {}, r"y_true\[1\] = 1.5 is not a whole number"),
    ([0, 1], [[0.9, 0.1], [0.2, 0.8]], NAMES, {}, "take argmax over the last axis"),
    ([], [], NAMES, {}, "no sample to count"),
    ([0], [0], [], {}, "labels is empty"),
    ([0], [0], NAMES, {"normalize": "rows"}, "normalize must be None, 'true'"),
])
def test_confusion_matrix_rejects_bad_input_with_a_value_error(y_true, y_pred, labels, kw,
                                                               message):
    with pytest.raises(ValueError, match=message):
        bm.plot.confusion_matrix(y_true, y_pred, labels, None, **kw)


# ---- matplotlib missing, and never through pyplot -------------------------------------


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=bindings_path.BINDINGS))


def test_without_matplotlib_drawing_raises_import_error_naming_the_debian_package():
    result = run_python(
        "import sys; sys.modules['matplotlib'] = None\n"
        "import bigmodel as bm\n"                      # importing works without it
        "for call in (lambda: bm.plot.history({'loss': [1.0]}, None),\n"
        "             lambda: bm.plot.confusion_matrix([0], [0], ['a'], None)):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as e:\n"
        "        print(e)\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert "apt-get install python3-matplotlib" in line


def test_drawing_leaves_pyplot_and_its_backend_alone(tmp_path):
    result = run_python(
        "import sys, bigmodel as bm\n"
        "bm.plot.history({'loss': [1.0, 0.5]}, %r)\n"
        "bm.plot.confusion_matrix([0, 1], [1, 1], ['a', 'b'], None)\n"
        "print('matplotlib.pyplot' in sys.modules)\n" % str(tmp_path / "h.png"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert png_size(tmp_path / "h.png") == (500, 350)


# ---- tools/plot_history.gp (gnuplot) on a CSVLogger file ------------------------------

WRAPPER = os.path.join(ROOT, "tools", "plot_history.sh")


def test_gnuplot_script_plots_the_csv_of_a_fit(fitted, tmp_path):
    _, csv = fitted
    with open(csv) as f:
        assert f.readline().strip() == "epoch,accuracy,loss,val_accuracy,val_loss"
    png = tmp_path / "gnuplot.png"
    result = subprocess.run(["gnuplot", "-c", os.path.join(ROOT, "tools", "plot_history.gp"),
                             csv, str(png)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("plot_history.gp: %s: loss (train, validation), "
                                     "accuracy (train, validation)" % png)
    assert png_size(png) == (1000, 350)           # the panels of bigmodel.plot.history
    assert os.path.getsize(png) > MIN_PNG_BYTES


def test_gnuplot_wrapper_writes_next_to_the_csv_and_rejects_other_files(tmp_path):
    csv = tmp_path / "log.csv"
    csv.write_text("epoch,loss\n0,0.9\n1,NA\n2,0.4\n")
    result = subprocess.run(["sh", WRAPPER, str(csv)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "loss (train)" in result.stderr
    assert png_size(tmp_path / "log.png") == (500, 350)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = subprocess.run(["sh", WRAPPER, str(other)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1
    assert "the header has no epoch column" in result.stderr
    assert not (tmp_path / "other.png").exists()


def test_gnuplot_wrapper_names_the_debian_package_when_gnuplot_is_missing(tmp_path):
    csv = tmp_path / "log.csv"
    csv.write_text("epoch,loss\n0,0.9\n")
    result = subprocess.run(["/bin/sh", WRAPPER, str(csv)], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, PATH=str(tmp_path)))
    assert result.returncode == 1
    assert result.stderr.strip() == ("plot_history: gnuplot is not installed: "
                                     "apt-get install gnuplot-nox")


def test_the_python_readme_plots_block_writes_both_images(fitted, tmp_path, monkeypatch):
    with open(os.path.join(bindings_path.BINDINGS, "README.md")) as f:
        text = f.read()
    block = re.search(r"```python\n(.*?)```", text[text.index("## Plots"):], re.S).group(1)
    history, _ = fitted

    class Model:      # the block's model: a fit that gives the fixture's history
        def fit(self, *args, **kwargs):
            return history

        def predict(self, x):
            return np.eye(3, dtype=np.float32)[x]

    monkeypatch.chdir(tmp_path)
    exec(block, {"bm": bm, "model": Model(), "x_train": None, "y_train": None,
                 "x_test": np.array([0, 1, 2, 2]), "y_test": np.array([0, 1, 1, 2]),
                 "class_names": NAMES})
    assert png_size(tmp_path / "history.png") == (1000, 350)
    assert png_size(tmp_path / "confusion.png") == (500, 500)


def test_the_readme_shows_the_demo_curves_as_a_small_valid_png():
    with open(os.path.join(ROOT, "README.md")) as f:
        assert "](docs/images/demo_history.png)" in f.read()
    image = os.path.join(ROOT, "docs", "images", "demo_history.png")
    assert png_size(image) == (1000, 350)        # loss and accuracy, as make demo draws
    assert MIN_PNG_BYTES < os.path.getsize(image) <= 100 * 1024
