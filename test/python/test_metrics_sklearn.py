"""Metrics against scikit-learn: every metric and averaging mode on random
predictions (several seeds and class counts, with the edge cases that make
values undefined), the zero-division flag against sklearn's
UndefinedMetricWarning, streaming against one-shot, and the classification
report byte for byte."""
import ctypes
import warnings

import numpy as np
import pytest

sklearn_metrics = pytest.importorskip("sklearn.metrics")
from sklearn.exceptions import UndefinedMetricWarning  # noqa: E402

from cbridge import declare_tensor_api, to_numpy, to_tensor  # noqa: E402
from conftest import check  # noqa: E402

ACCURACY, TOP_K, PRECISION, RECALL, F1, AUC, MSE, MAE, R2 = range(1, 10)
BINARY, MACRO, MICRO, WEIGHTED = 1, 2, 3, 4
AVERAGES = {"macro": MACRO, "micro": MICRO, "weighted": WEIGHTED}
ZD_PRECISION, ZD_RECALL, ZD_F1 = 1, 2, 4
TOL = 1e-6


class Options(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("num_classes", ctypes.c_int),
                ("k", ctypes.c_int), ("average", ctypes.c_int),
                ("pos_label", ctypes.c_int), ("threshold", ctypes.c_float),
                ("zero_division", ctypes.c_double)]


@pytest.fixture(scope="module")
def m(lib):
    p = ctypes.c_void_p
    declare_tensor_api(lib)
    lib.bgm_metric_options_init.argtypes = [ctypes.POINTER(Options), ctypes.c_size_t]
    lib.bgm_metric_create.argtypes = [ctypes.POINTER(p), ctypes.c_int, ctypes.POINTER(Options)]
    lib.bgm_metric_update.argtypes = [p, p, p]
    lib.bgm_metric_result.argtypes = [ctypes.POINTER(ctypes.c_double), p]
    lib.bgm_metric_zero_division.argtypes = [p]
    lib.bgm_metric_free.argtypes = [p]
    lib.bgm_metric_compute.argtypes = [ctypes.POINTER(ctypes.c_double),
                                       ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                       ctypes.POINTER(Options), p, p]
    lib.bgm_confusion_matrix.argtypes = [ctypes.POINTER(p), p, p, ctypes.c_int]
    dp = ctypes.POINTER(ctypes.c_double)
    lib.bgm_classification_scores.argtypes = [dp, dp, dp, ctypes.POINTER(ctypes.c_int64),
                                              ctypes.POINTER(ctypes.c_int), p, p,
                                              ctypes.c_int, ctypes.c_double]
    lib.bgm_classification_report.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                              ctypes.POINTER(ctypes.c_size_t),
                                              ctypes.POINTER(ctypes.c_int), p, p,
                                              ctypes.c_int,
                                              ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
    return Metrics(lib)


class Tensor:
    """A library tensor holding a copy of a numpy array."""

    def __init__(self, lib, array):
        self.lib = lib
        self.ptr = to_tensor(lib, array)

    def __del__(self):
        self.lib.bgm_tensor_free(self.ptr)


class Metrics:
    def __init__(self, lib):
        self.lib = lib

    def options(self, **fields):
        o = Options()
        check(self.lib, self.lib.bgm_metric_options_init(ctypes.byref(o), ctypes.sizeof(o)))
        for key, value in fields.items():
            setattr(o, key, value)
        return o

    def compute(self, kind, y_true, y_pred, **fields):
        out, zd = ctypes.c_double(), ctypes.c_int()
        t, p = Tensor(self.lib, y_true), Tensor(self.lib, y_pred)
        o = self.options(**fields)
        check(self.lib, self.lib.bgm_metric_compute(ctypes.byref(out), ctypes.byref(zd), kind,
                                                    ctypes.byref(o), t.ptr, p.ptr))
        return out.value, zd.value

    def stream(self, kind, y_true, y_pred, cuts, **fields):
        h = ctypes.c_void_p()
        o = self.options(**fields)
        check(self.lib, self.lib.bgm_metric_create(ctypes.byref(h), kind, ctypes.byref(o)))
        try:
            for a, b in zip(cuts[:-1], cuts[1:]):
                t, p = Tensor(self.lib, y_true[a:b]), Tensor(self.lib, y_pred[a:b])
                check(self.lib, self.lib.bgm_metric_update(h, t.ptr, p.ptr))
            out = ctypes.c_double()
            check(self.lib, self.lib.bgm_metric_result(ctypes.byref(out), h))
            return out.value, self.lib.bgm_metric_zero_division(h)
        finally:
            self.lib.bgm_metric_free(h)

    def confusion(self, y_true, y_pred, num_classes):
        out = ctypes.c_void_p()
        t, p = Tensor(self.lib, y_true), Tensor(self.lib, y_pred)
        check(self.lib, self.lib.bgm_confusion_matrix(ctypes.byref(out), t.ptr, p.ptr,
                                                      num_classes))
        cm = to_numpy(self.lib, out)
        self.lib.bgm_tensor_free(out)
        return cm

    def scores(self, y_true, y_pred, num_classes, zero_division):
        arrays = [np.zeros(num_classes) for _ in range(3)]
        support = np.zeros(num_classes, dtype=np.int64)
        zd = ctypes.c_int()
        t, p = Tensor(self.lib, y_true), Tensor(self.lib, y_pred)
        dp = ctypes.POINTER(ctypes.c_double)
        check(self.lib, self.lib.bgm_classification_scores(
            *[a.ctypes.data_as(dp) for a in arrays],
            support.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)), ctypes.byref(zd),
            t.ptr, p.ptr, num_classes, zero_division))
        return arrays + [support, zd.value]

    def report(self, y_true, y_pred, num_classes, names=None, digits=2):
        t, p = Tensor(self.lib, y_true), Tensor(self.lib, y_pred)
        needed = ctypes.c_size_t()
        c_names = None
        if names is not None:
            c_names = (ctypes.c_char_p * num_classes)(*[n.encode() for n in names])
        check(self.lib, self.lib.bgm_classification_report(
            None, 0, ctypes.byref(needed), None, t.ptr, p.ptr, num_classes, c_names, digits))
        buf = ctypes.create_string_buffer(needed.value)
        check(self.lib, self.lib.bgm_classification_report(
            buf, needed.value, None, None, t.ptr, p.ptr, num_classes, c_names, digits))
        assert len(buf.value) + 1 == needed.value
        return buf.value.decode()


# ---- data ----------------------------------------------------------------

def make_case(seed, num_classes, n, edge):
    """y_true ids, y_pred scores (N, C) whose argmax is the prediction."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, n).astype(np.int32)
    scores = rng.random((n, num_classes)).astype(np.float32)
    if edge == "never_predicted":
        scores[:, num_classes - 1] = -1.0
    elif edge == "absent_from_true":
        y_true[y_true == 0] = 1 % num_classes
    elif edge == "absent_everywhere":
        y_true[y_true == num_classes - 1] = 0
        scores[:, num_classes - 1] = -1.0
    elif edge == "all_correct":
        scores[np.arange(n), y_true] = 2.0
    elif edge == "mostly_right":
        right = rng.random(n) < 0.7
        scores[np.arange(n)[right], y_true[right]] = 2.0
    y_pred = scores.argmax(axis=1).astype(np.int32)
    return y_true, y_pred, scores


EDGES = ["random", "mostly_right", "never_predicted", "absent_from_true",
         "absent_everywhere", "all_correct"]
CASES = [(seed, c, n, edge) for seed in (0, 1, 2) for c, n in ((2, 9), (3, 40), (5, 64),
                                                               (10, 300))
         for edge in EDGES]


def case_id(case):
    return "seed%d-c%d-n%d-%s" % case


def sk_prf(y_true, y_pred, num_classes, average, zero_division, which):
    fn = {"precision": sklearn_metrics.precision_score, "recall": sklearn_metrics.recall_score,
          "f1": sklearn_metrics.f1_score}[which]
    kwargs = dict(average=average, zero_division=zero_division)
    if average != "binary":
        kwargs["labels"] = list(range(num_classes))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(y_true, y_pred, **kwargs)
    warned = any(issubclass(w.category, UndefinedMetricWarning) for w in caught)
    return float(value), warned


# ---- classification ------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_accuracy_and_confusion_matrix(m, case):
    seed, c, n, edge = case
    y_true, y_pred, scores = make_case(*case)
    want = sklearn_metrics.accuracy_score(y_true, y_pred)
    for pred in (y_pred, scores, y_pred.reshape(-1, 1)):
        value, zd = m.compute(ACCURACY, y_true, pred, num_classes=c)
        assert abs(value - want) < TOL and zd == 0
    want_cm = sklearn_metrics.confusion_matrix(y_true, y_pred, labels=list(range(c)))
    np.testing.assert_array_equal(m.confusion(y_true, y_pred, c), want_cm)
    np.testing.assert_array_equal(m.confusion(y_true, scores, c), want_cm)


@pytest.mark.parametrize("case", [cs for cs in CASES if cs[1] >= 3], ids=case_id)
def test_top_k_accuracy(m, case):
    seed, c, n, edge = case
    y_true, _, scores = make_case(*case)
    scores = np.round(scores, 1)  # ties, broken as sklearn does
    for k in range(1, c + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # k == C: "meaningless", still defined
            want = sklearn_metrics.top_k_accuracy_score(y_true, scores, k=k,
                                                        labels=list(range(c)))
        value, _ = m.compute(TOP_K, y_true, scores, k=k)
        assert abs(value - want) < TOL, (k, value, want)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("which,kind", [("precision", PRECISION), ("recall", RECALL),
                                        ("f1", F1)])
def test_averaged_scores_and_zero_division_flag(m, case, which, kind):
    seed, c, n, edge = case
    y_true, y_pred, scores = make_case(*case)
    for name, average in AVERAGES.items():
        for zero_division in (0.0, 1.0):
            want, _ = sk_prf(y_true, y_pred, c, name, zero_division, which)
            value, zd = m.compute(kind, y_true, scores, num_classes=c, average=average,
                                  zero_division=zero_division)
            assert abs(value - want) < TOL, (name, zero_division, value, want)
        _, warned = sk_prf(y_true, y_pred, c, name, "warn", which)
        assert bool(zd) == warned, (name, zd, warned)


@pytest.mark.parametrize("case", [cs for cs in CASES if cs[1] == 2], ids=case_id)
@pytest.mark.parametrize("which,kind", [("precision", PRECISION), ("recall", RECALL),
                                        ("f1", F1)])
def test_binary_average_with_either_positive_class(m, case, which, kind):
    y_true, y_pred, scores = make_case(*case)
    for pos_label in (0, 1):
        for zero_division in (0.0, 1.0):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = getattr(sklearn_metrics, which + "_score" if which != "f1"
                               else "f1_score")(y_true, y_pred, average="binary",
                                                pos_label=pos_label,
                                                zero_division=zero_division)
            value, _ = m.compute(kind, y_true, y_pred, pos_label=pos_label,
                                 zero_division=zero_division)
            assert abs(value - want) < TOL
    # binary scores (N,) thresholded at 0.5, float32 0/1 labels
    prob = scores[:, 1] / (scores[:, 0] + scores[:, 1] + np.float32(1e-9))
    prob = prob.astype(np.float32)
    hard = (prob > 0.5).astype(np.int32)
    want, _ = sk_prf(y_true, hard, 2, "binary", 0, which)
    value, _ = m.compute(kind, y_true.astype(np.float32), prob)
    assert abs(value - want) < TOL


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_per_class_scores(m, case):
    seed, c, n, edge = case
    y_true, y_pred, _ = make_case(*case)
    for zero_division in (0.0, 1.0):
        want = sklearn_metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=list(range(c)), average=None, zero_division=zero_division)
        got = m.scores(y_true, y_pred, c, zero_division)
        for g, w in zip(got[:3], want[:3]):
            np.testing.assert_allclose(g, w, atol=TOL, rtol=0)
        np.testing.assert_array_equal(got[3], want[3])
    flags = got[4]
    predicted = np.bincount(y_pred, minlength=c)
    present = np.bincount(y_true, minlength=c)
    assert bool(flags & ZD_PRECISION) == bool((predicted == 0).any())
    assert bool(flags & ZD_RECALL) == bool((present == 0).any())
    assert bool(flags & ZD_F1) == bool(((predicted == 0) & (present == 0)).any())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_streaming_equals_scikit_learn(m, case):
    seed, c, n, edge = case
    y_true, y_pred, scores = make_case(*case)
    rng = np.random.default_rng(seed + 100)
    cuts = [0] + sorted(rng.integers(0, n + 1, 4).tolist()) + [n]
    value, _ = m.stream(ACCURACY, y_true, scores, cuts)
    assert abs(value - sklearn_metrics.accuracy_score(y_true, y_pred)) < TOL
    for name, average in AVERAGES.items():
        want, _ = sk_prf(y_true, y_pred, c, name, 0, "f1")
        value, _ = m.stream(F1, y_true, scores, cuts, num_classes=c, average=average)
        assert abs(value - want) < TOL


# ---- AUC -----------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [2, 15, 200])
def test_roc_auc_with_ties(m, seed, n):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(np.int32)
    y[0], y[-1] = 0, 1
    score = np.round(rng.random(n) * (1 + y) / 2, 1).astype(np.float32)  # many ties
    want = sklearn_metrics.roc_auc_score(y, score.astype(np.float64))
    value, zd = m.compute(AUC, y, score)
    assert abs(value - want) < TOL and zd == 0
    two = np.stack([1 - score, score], axis=1).astype(np.float32)
    value, _ = m.compute(AUC, y, two)
    assert abs(value - sklearn_metrics.roc_auc_score(y, two[:, 1].astype(np.float64))) < TOL
    cuts = [0, n // 3, n // 3, n]
    value, _ = m.stream(AUC, y, score, cuts)
    assert abs(value - want) < TOL


def test_roc_auc_of_one_class_is_flagged(m):
    y = np.ones(5, dtype=np.int32)
    with pytest.raises(ValueError):
        sklearn_metrics.roc_auc_score(y, np.linspace(0, 1, 5))
    value, zd = m.compute(AUC, y, np.linspace(0, 1, 5).astype(np.float32))
    assert value == 0.0 and zd == 1


# ---- regression ----------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape", [(1,), (2,), (50,), (50, 1), (40, 3)])
def test_regression_metrics(m, seed, shape):
    rng = np.random.default_rng(seed)
    y_true = (rng.normal(size=shape) * 3 + 100).astype(np.float32)
    y_pred = (y_true + rng.normal(size=shape)).astype(np.float32)
    t64, p64 = y_true.astype(np.float64), y_pred.astype(np.float64)
    n = shape[0]
    cuts = [0, n // 2, n]
    for kind, fn in ((MSE, sklearn_metrics.mean_squared_error),
                     (MAE, sklearn_metrics.mean_absolute_error),
                     (R2, sklearn_metrics.r2_score)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = fn(t64, p64)
        for value, zd in (m.compute(kind, y_true, y_pred), m.stream(kind, y_true, y_pred, cuts)):
            if np.isnan(want):
                assert np.isnan(value) and zd == 1
            else:
                assert abs(value - want) < TOL * max(1.0, abs(want)), (kind, value, want)


def test_r2_of_constant_targets_matches_force_finite(m):
    y = np.array([[1, 2], [1, 3], [1, 4]], dtype=np.float32)
    for pred in (y, y + np.float32(0.5)):
        want = sklearn_metrics.r2_score(y.astype(np.float64), pred.astype(np.float64))
        value, zd = m.compute(R2, y, pred)
        assert abs(value - want) < TOL and zd == 1


# ---- the report ----------------------------------------------------------

REPORT_CASES = [cs for cs in CASES if cs[0] < 2]


@pytest.mark.parametrize("case", REPORT_CASES, ids=case_id)
@pytest.mark.parametrize("digits", [2, 4])
@pytest.mark.parametrize("named", [False, True])
def test_classification_report_matches_byte_for_byte(m, case, digits, named):
    seed, c, n, edge = case
    y_true, y_pred, _ = make_case(*case)
    names = None
    if named:
        pool = ["cat", "dog", "airplane", "a", "truck-and-trailer", "ship", "größe", "x",
                "horse", "frog"]
        names = pool[:c]
    want = sklearn_metrics.classification_report(
        y_true, y_pred, labels=list(range(c)), target_names=names, digits=digits,
        zero_division=0)
    assert m.report(y_true, y_pred, c, names, digits) == want


def test_classification_report_on_rounding_boundaries(m):
    # per-class values like 1/8 and 3/8 sit exactly between two printed
    # values: both sides must round them the same way
    y_true = np.array([0] * 8 + [1] * 8, dtype=np.int32)
    y_pred = np.array([0] * 1 + [1] * 7 + [1] * 3 + [0] * 5, dtype=np.int32)
    for digits in (0, 1, 2, 3):
        want = sklearn_metrics.classification_report(y_true, y_pred, labels=[0, 1],
                                                     digits=digits)
        assert m.report(y_true, y_pred, 2, None, digits) == want
