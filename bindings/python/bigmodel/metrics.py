"""Metrics (bigmodel/metrics.h): scikit-learn-style functions and Keras-style
streaming Metric objects.

Functions take y_true / y_pred as Tensors, numpy arrays or lists:
class ids (int), binary labels or scores (float, shape (N,)), or score /
probability / one-hot rows (float, shape (N, C), read by argmax).

Labels: as scikit-learn, when ``labels`` is not given the classes are the
sorted union of the ids found in y_true and y_pred (all of range(C) for (N, C)
score rows), and results are reported in that order; ids that are not
0..K-1 are mapped onto those positions before the library sees them. Given
``labels`` that leave out classes present in the data, results cover the
listed classes only, each counted over every sample (their averages, the
report's "micro avg" line), and confusion_matrix keeps the samples whose
true and predicted classes are both listed, as scikit-learn does. Values
that are undefined (precision of a class never predicted, ...) take
``zero_division`` (0.0 by default, as scikit-learn's "warn" gives).
"""
import ctypes

from . import _compat
from . import _lib
from ._lib import lib
from ._handle import Handle
from .errors import InvalidArgumentError
from .tensor import Tensor, as_tensor, float32, int32

__all__ = [
    "accuracy_score", "top_k_accuracy_score", "precision_score", "recall_score",
    "f1_score", "roc_auc_score", "confusion_matrix", "classification_report",
    "precision_recall_fscore_support", "mean_squared_error", "mean_absolute_error",
    "r2_score", "Metric", "Accuracy", "TopKAccuracy", "Precision", "Recall", "F1Score",
    "AUC", "MeanSquaredError", "MeanAbsoluteError", "R2Score", "SparseCategoricalAccuracy",
    "CategoricalAccuracy", "BinaryAccuracy", "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy", "Mean", "MeanMetricWrapper",
]

ACCURACY, TOP_K, PRECISION, RECALL, F1, AUC_KIND, MSE, MAE, R2 = range(1, 10)
_AVERAGE = {"binary": 1, "macro": 2, "micro": 3, "weighted": 4}


def _options(num_classes=0, k=5, average="binary", pos_label=1, threshold=0.5,
             zero_division=0.0, num_labels=0):
    opts = _lib.MetricOptions()
    lib.bgm_metric_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
    if average not in _AVERAGE:
        raise InvalidArgumentError("average must be one of %s or None, got %r"
                                   % (", ".join(sorted(_AVERAGE)), average))
    if zero_division == "warn":
        zero_division = 0.0
    opts.num_classes, opts.k, opts.average = int(num_classes), int(k), _AVERAGE[average]
    opts.pos_label, opts.threshold = int(pos_label), float(threshold)
    opts.zero_division = float(zero_division)
    opts.num_labels = int(num_labels)
    return opts


def _array(values, dtype):
    """A numpy array of values when numpy is present, else the list itself."""
    np = _compat.np
    return np.asarray(values, dtype=dtype) if np is not None else list(values)


# ---- labels ---------------------------------------------------------------------------


def _is_ids(t):
    """Whether t holds one class id (or binary label) per sample."""
    return t.ndim == 1 or (t.ndim == 2 and t.shape[1] == 1)


def _ids(t):
    """t's values as ints when every one is a whole number, else None (scores)."""
    values = t._flat()
    if t.dtype == int32:
        return values
    if all(v == int(v) for v in values):
        return [int(v) for v in values]
    return None


class _Prepared:
    """y_true / y_pred as the library wants them, and the class list.

    labels: the classes reported; n: the classes the library counts (labels,
    then the classes present but not listed); num_labels: len(labels) when
    some are not listed, else 0 (the library's "all")."""

    def __init__(self, y_true, y_pred, labels=None):
        t, p = as_tensor(y_true), as_tensor(y_pred)
        t_ids = _ids(t) if _is_ids(t) else None
        p_ids = _ids(p) if _is_ids(p) else None
        given = labels is not None
        if labels is None:
            if not _is_ids(p):
                labels = range(p.shape[-1])
            elif not _is_ids(t):
                labels = range(t.shape[-1])
            else:
                found = set(t_ids or ()) | set(p_ids or ())
                if p_ids is None:
                    found |= {0, 1}  # binary scores, thresholded into 0 / 1
                labels = sorted(found)
        labels = list(labels)
        if not labels:
            raise InvalidArgumentError("no classes: y_true and y_pred are empty")
        index = {lab: i for i, lab in enumerate(labels)}
        extra = []
        if given:
            # classes present but not listed go after the listed ones
            t_ids, p_ids = _class_ids(t, t_ids), _class_ids(p, p_ids)
            extra = sorted((set(t_ids) | set(p_ids)) - set(index))
            for lab in extra:
                index[lab] = len(index)
            if extra:
                t, p = Tensor(t_ids, int32), Tensor(p_ids, int32)
        if labels + extra != list(range(len(index))):
            t = _remap(t, t_ids, index)
            p = _remap(p, p_ids, index)
        self.y_true, self.y_pred, self.labels, self.index = t, p, labels, index
        self.n = len(index)
        self.num_labels = len(labels) if extra else 0


def _class_ids(t, ids):
    """The class of every sample: ids, the argmax of score rows, thresholded scores."""
    if ids is not None:
        return ids
    values = t._flat()
    if t.ndim == 2 and t.shape[1] > 1:
        c = t.shape[1]
        rows = [values[i:i + c] for i in range(0, len(values), c)]
        return [max(range(c), key=row.__getitem__) for row in rows]
    return [1 if v > 0.5 else 0 for v in values]


def _remap(t, ids, index):
    """t's ids as positions in index (every class present is there)."""
    if ids is None:
        return t
    return Tensor([index[v] for v in ids], int32)


def _compute(kind, y_true, y_pred, opts):
    out, zd = ctypes.c_double(), ctypes.c_int()
    t, p = as_tensor(y_true), as_tensor(y_pred)
    lib.bgm_metric_compute(ctypes.byref(out), ctypes.byref(zd), kind, ctypes.byref(opts),
                           t._h, p._h)
    return out.value


# ---- one-shot functions ------------------------------------------------------------------


def accuracy_score(y_true, y_pred):
    """Fraction of samples whose predicted class is the true one."""
    prep = _Prepared(y_true, y_pred)
    return _compute(ACCURACY, prep.y_true, prep.y_pred, _options())


def top_k_accuracy_score(y_true, y_score, k=2):
    """Fraction whose true class is among the k best scores (scikit-learn's tie rule)."""
    return _compute(TOP_K, as_tensor(y_true, int32), as_tensor(y_score, float32),
                    _options(k=k))


def _zero(zero_division):
    return 0.0 if zero_division == "warn" else float(zero_division)


def precision_recall_fscore_support(y_true, y_pred, labels=None, zero_division=0.0):
    """Per-class (precision, recall, f1, support) lists, in the order of labels."""
    prep = _Prepared(y_true, y_pred, labels)
    n, k = prep.n, len(prep.labels)
    prec, rec, f1 = ((ctypes.c_double * n)() for _ in range(3))
    sup, zd = (ctypes.c_int64 * n)(), ctypes.c_int()
    lib.bgm_classification_scores(prec, rec, f1, sup, ctypes.byref(zd), prep.y_true._h,
                                  prep.y_pred._h, n, _zero(zero_division))
    return (_array(prec[:k], "float64"), _array(rec[:k], "float64"),
            _array(f1[:k], "float64"), _array(sup[:k], "int64"))


def _averaged(kind, y_true, y_pred, labels, average, pos_label, zero_division):
    prep = _Prepared(y_true, y_pred, labels)
    if average is None:
        scores = precision_recall_fscore_support(prep.y_true, prep.y_pred,
                                                 list(range(len(prep.labels))),
                                                 zero_division)
        return scores[{PRECISION: 0, RECALL: 1, F1: 2}[kind]]
    n = prep.n
    if average == "binary":
        if n > 2:
            raise InvalidArgumentError(
                "average='binary' needs two classes, found %d (%s); choose average="
                "'macro', 'micro' or 'weighted'" % (n, sorted(prep.index)))
        if pos_label not in prep.index:
            raise InvalidArgumentError("pos_label=%r is not a class (%s)"
                                       % (pos_label, prep.labels))
        pos, n = prep.index[pos_label], 2
    else:
        pos = 1
    return _compute(kind, prep.y_true, prep.y_pred,
                    _options(num_classes=n, average=average, pos_label=pos,
                             zero_division=zero_division,
                             num_labels=prep.num_labels if average != "binary" else 0))


def precision_score(y_true, y_pred, labels=None, pos_label=1, average="binary",
                    zero_division=0.0):
    return _averaged(PRECISION, y_true, y_pred, labels, average, pos_label, zero_division)


def recall_score(y_true, y_pred, labels=None, pos_label=1, average="binary",
                 zero_division=0.0):
    return _averaged(RECALL, y_true, y_pred, labels, average, pos_label, zero_division)


def f1_score(y_true, y_pred, labels=None, pos_label=1, average="binary", zero_division=0.0):
    return _averaged(F1, y_true, y_pred, labels, average, pos_label, zero_division)


def roc_auc_score(y_true, y_score):
    """Area under the ROC curve of binary labels y_true and scores (N,) or (N, 2)."""
    return _compute(AUC_KIND, as_tensor(y_true), as_tensor(y_score, float32), _options())


def mean_squared_error(y_true, y_pred):
    return _compute(MSE, as_tensor(y_true), as_tensor(y_pred), _options())


def mean_absolute_error(y_true, y_pred):
    return _compute(MAE, as_tensor(y_true), as_tensor(y_pred), _options())


def r2_score(y_true, y_pred):
    return _compute(R2, as_tensor(y_true), as_tensor(y_pred), _options())


def confusion_matrix(y_true, y_pred, labels=None):
    """Counts [i][j] of samples of class i predicted as j (a numpy array, or lists).
    Samples whose true or predicted class is not among labels are left out."""
    prep = _Prepared(y_true, y_pred, labels)
    n = len(prep.labels)
    t, p = prep.y_true, prep.y_pred
    if prep.num_labels:
        kept = [(a, b) for a, b in zip(t._flat(), p._flat()) if a < n and b < n]
        t, p = Tensor([a for a, _ in kept], int32), Tensor([b for _, b in kept], int32)
    out = ctypes.c_void_p()
    lib.bgm_confusion_matrix(ctypes.byref(out), t._h, p._h, n)
    with Tensor._adopt(out.value) as cm:
        if _compat.np is not None:
            return cm.numpy(copy=True).astype("int64")
        return cm.tolist()


def classification_report(y_true, y_pred, labels=None, target_names=None, digits=2,
                          output_dict=False, zero_division=0.0):
    """scikit-learn's classification_report text (or dict with output_dict=True)."""
    prep = _Prepared(y_true, y_pred, labels)
    n = len(prep.labels)
    names = [str(x) for x in (target_names if target_names is not None else prep.labels)]
    if len(names) != n:
        raise InvalidArgumentError("%d target_names for %d classes (%s)"
                                   % (len(names), n, prep.labels))
    if output_dict:
        return _report_dict(prep, names, zero_division)
    opts = _lib.ReportOptions()
    lib.bgm_report_options_init(ctypes.byref(opts), ctypes.sizeof(opts))
    cnames = (ctypes.c_char_p * n)(*[s.encode("utf-8") for s in names])
    opts.digits, opts.zero_division = int(digits), _zero(zero_division)
    opts.class_names, opts.num_labels = cnames, prep.num_labels
    needed = ctypes.c_size_t()
    lib.bgm_classification_report_ex(None, 0, ctypes.byref(needed), None, prep.y_true._h,
                                      prep.y_pred._h, prep.n, ctypes.byref(opts))
    buf = ctypes.create_string_buffer(needed.value)
    lib.bgm_classification_report_ex(buf, needed.value, None, None, prep.y_true._h,
                                      prep.y_pred._h, prep.n, ctypes.byref(opts))
    return buf.value.decode("utf-8")


def _report_dict(prep, names, zero_division):
    idx = list(range(len(prep.labels)))
    t, p = prep.y_true, prep.y_pred
    _, _, _, s = precision_recall_fscore_support(t, p, idx, zero_division)
    prf = precision_recall_fscore_support(t, p, idx, zero_division)
    report = {}
    for i, name in enumerate(names):
        report[name] = {"precision": float(prf[0][i]), "recall": float(prf[1][i]),
                        "f1-score": float(prf[2][i]), "support": int(s[i])}
    total = sum(int(x) for x in s)
    # "accuracy" only when the listed classes are exactly those present (sklearn)
    present = set(_class_ids(t, _ids(t) if _is_ids(t) else None))
    present |= set(_class_ids(p, _ids(p) if _is_ids(p) else None))
    averages = [("macro", "macro avg"), ("weighted", "weighted avg")]
    if present == set(idx):
        report["accuracy"] = accuracy_score(t, p)
    else:
        averages.insert(0, ("micro", "micro avg"))
    for avg, key in averages:
        report[key] = {
            "precision": _averaged(PRECISION, t, p, idx, avg, 1, zero_division),
            "recall": _averaged(RECALL, t, p, idx, avg, 1, zero_division),
            "f1-score": _averaged(F1, t, p, idx, avg, 1, zero_division),
            "support": total}
    return report


# ---- streaming metrics ----------------------------------------------------------------


class Metric(Handle):
    """A metric accumulating over batches (Keras: update_state / result / reset_state)."""

    _free_fn, _counter, _what = "bgm_metric_free", "metric", "metric"
    kind = None

    _keras_name = None  # the name Keras gives it, when not the library's

    def __init__(self, kind=None, **options):
        kind = kind or self.kind
        opts = _options(**options)
        self._kind, self._options = kind, dict(options)  # for Sequential.compile
        self._make(lib.bgm_metric_create, kind, ctypes.byref(opts))

    @property
    def name(self):
        return self._keras_name or lib.bgm_metric_name(self._h).decode()

    def update_state(self, y_true, y_pred):
        """Adds one batch (y_true, y_pred read as described in the module doc)."""
        t, p = as_tensor(y_true), as_tensor(y_pred)  # alive until the call returns
        lib.bgm_metric_update(self._h, t._h, p._h)

    def result(self):
        out = ctypes.c_double()
        lib.bgm_metric_result(ctypes.byref(out), self._h)
        return out.value

    @property
    def zero_division(self):
        """True when result() is undefined and was replaced by the zero_division value."""
        return bool(lib.bgm_metric_zero_division(self._h))

    def reset_state(self):
        lib.bgm_metric_reset(self._h)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.name if self._ptr else "closed")


class Accuracy(Metric):
    kind = ACCURACY


class TopKAccuracy(Metric):
    kind = TOP_K

    def __init__(self, k=5, **options):
        super().__init__(k=k, **options)


class Precision(Metric):
    """average: 'binary' (default; two classes), or 'macro' / 'micro' / 'weighted'
    with num_classes."""
    kind = PRECISION


class Recall(Metric):
    kind = RECALL


class F1Score(Metric):
    kind = F1


class AUC(Metric):
    kind = AUC_KIND


class MeanSquaredError(Metric):
    kind = MSE


class MeanAbsoluteError(Metric):
    kind = MAE


class R2Score(Metric):
    kind = R2


# ---- Keras' accuracy metrics and means ----------------------------------------------------


class _Named(Metric):
    """A library metric under Keras' class and name (name=... as Keras)."""
    keras_name = None

    def __init__(self, name=None, **options):
        super().__init__(**options)
        self._keras_name = str(name or self.keras_name)


class SparseCategoricalAccuracy(_Named):
    """Keras' SparseCategoricalAccuracy: class ids against score rows (argmax)."""
    kind, keras_name = ACCURACY, "sparse_categorical_accuracy"


class CategoricalAccuracy(_Named):
    """Keras' CategoricalAccuracy: one-hot rows against score rows (both by argmax)."""
    kind, keras_name = ACCURACY, "categorical_accuracy"


class BinaryAccuracy(_Named):
    """Keras' BinaryAccuracy: 0/1 labels against one score per sample, class 1
    above threshold. Scores of shape (N,) or (N, 1) (one binary output)."""
    kind, keras_name = ACCURACY, "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        super().__init__(name, threshold=threshold)

    def update_state(self, y_true, y_pred):
        p = as_tensor(y_pred)
        if p.ndim > 2 or (p.ndim == 2 and p.shape[1] != 1):
            raise InvalidArgumentError("BinaryAccuracy reads one score per sample, (N,) or "
                                       "(N, 1); got y_pred of shape %s" % (p.shape,))
        super().update_state(y_true, p)


class TopKCategoricalAccuracy(_Named):
    """Keras' TopKCategoricalAccuracy: one-hot rows; a hit when the true class is
    among the k best scores."""
    kind, keras_name = TOP_K, "top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        super().__init__(name, k=k)


class SparseTopKCategoricalAccuracy(_Named):
    """Keras' SparseTopKCategoricalAccuracy: class ids; a hit when the true class
    is among the k best scores."""
    kind, keras_name = TOP_K, "sparse_top_k_categorical_accuracy"

    def __init__(self, k=5, name=None):
        super().__init__(name, k=k)


def _flat_floats(values):
    """(list of floats, shape) of a Tensor, array, list or number."""
    t = as_tensor(values, float32)
    return [float(v) for v in t._flat()], t.shape


class Mean:
    """Keras' Mean: the (weighted) mean of every value given to update_state.

    update_state(values, sample_weight=None) adds sum(values * w) to the total
    and sum(w) to the count (w broadcast over values; 1 without weights);
    result() is total / count (0.0 before any value); reset_state() starts
    over."""

    def __init__(self, name="mean"):
        self.name = name
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None):
        v, shape = _flat_floats(values)
        if sample_weight is None:
            self.total += sum(v)
            self.count += len(v)
            return
        w, wshape = _flat_floats(sample_weight)
        if len(wshape) > len(shape) or tuple(shape[:len(wshape)]) != tuple(wshape):
            raise InvalidArgumentError("Mean: sample_weight of shape %s does not fit values "
                                       "of shape %s" % (wshape, shape))
        per = len(v) // len(w) if w else 0
        weights = [w[i // per] for i in range(len(v))] if per else []
        self.total += sum(a * b for a, b in zip(v, weights))
        self.count += sum(weights)

    def result(self):
        return self.total / self.count if self.count else 0.0

    def reset_state(self):
        self.total, self.count = 0.0, 0.0

    def __repr__(self):
        return "<Mean %s>" % self.name


class MeanMetricWrapper(Mean):
    """Keras' MeanMetricWrapper: the mean over samples of fn(y_true, y_pred)
    (fn of bigmodel.ops or numpy returning one value per sample, each sample's
    values averaged, or a scalar counted as one sample). compile(metrics=[fn])
    wraps fn in one, named fn.__name__, and the library calls fn on every batch."""

    def __init__(self, fn, name=None):
        if not callable(fn):
            raise InvalidArgumentError("MeanMetricWrapper needs a callable, got %r" % (fn,))
        super().__init__(str(name or getattr(fn, "__name__", None) or type(fn).__name__))
        self.fn = fn

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = as_tensor(self.fn(as_tensor(y_true), as_tensor(y_pred)), float32)
        if values.ndim > 1:  # each sample's values averaged, as Keras
            v, shape = _flat_floats(values)
            per = len(v) // shape[0] if shape[0] else 0
            values = [sum(v[i * per:(i + 1) * per]) / per for i in range(shape[0])]
        super().update_state(values, sample_weight)
