"""scikit-learn parity of bigmodel.metrics (issue #15 item 8): the report's
text with zero_division, and labels= leaving out classes present in the data
(precision / recall / f1 / support, their averages, the report in text and
dict form, the confusion matrix), each against sklearn on the same inputs."""
import warnings

import numpy as np
import pytest

import bindings_path  # noqa: F401
from bigmodel import metrics as bm_metrics

sk = pytest.importorskip("sklearn.metrics")


def sklearn(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def cases():
    rng = np.random.default_rng(11)
    out = [([0, 1, 1, 2], [0, 1, 1, 1]), ([0, 1, 2, 1, 2], [0, 2, 1, 1, 0])]
    for n, c in ((40, 4), (200, 6), (7, 3)):
        out.append((rng.integers(0, c, n).tolist(), rng.integers(0, c, n).tolist()))
    out.append(([3, 7, 7, 9, 3, 9], [7, 7, 3, 9, 9, 9]))  # ids that are not 0..K-1
    return out


LABELS = [None, [0, 1], [1, 0], [2], [0, 1, 5], [1, 2, 0]]


@pytest.mark.parametrize("y_true, y_pred", cases())
@pytest.mark.parametrize("zero_division", [0, 1, "warn"])
@pytest.mark.parametrize("digits", [2, 4])
def test_report_text_equals_sklearn(y_true, y_pred, zero_division, digits):
    for labels in LABELS + [[7, 3]]:
        present = set(y_true) | set(y_pred)
        if labels is not None and not set(labels) & present:
            continue
        want = sklearn(sk.classification_report, y_true, y_pred, labels=labels,
                       zero_division=zero_division, digits=digits)
        got = bm_metrics.classification_report(y_true, y_pred, labels=labels,
                                               zero_division=zero_division, digits=digits)
        assert got == want, "labels=%s\n%s\n%s" % (labels, got, want)


@pytest.mark.parametrize("y_true, y_pred", cases())
def test_report_dict_equals_sklearn(y_true, y_pred):
    for labels in LABELS:
        if labels is not None and not set(labels) & (set(y_true) | set(y_pred)):
            continue
        for zd in (0, 1):
            want = sklearn(sk.classification_report, y_true, y_pred, labels=labels,
                           zero_division=zd, output_dict=True)
            got = bm_metrics.classification_report(y_true, y_pred, labels=labels,
                                                   zero_division=zd, output_dict=True)
            assert list(got) == [str(k) for k in want]
            for key, row in want.items():
                if isinstance(row, dict):
                    for field, value in row.items():
                        assert got[str(key)][field] == pytest.approx(value, rel=1e-12,
                                                                     abs=1e-15)
                else:
                    assert got[key] == pytest.approx(row, rel=1e-12)


@pytest.mark.parametrize("y_true, y_pred", cases())
def test_scores_over_listed_labels_equal_sklearn(y_true, y_pred):
    for labels in LABELS[1:]:
        if not set(labels) & (set(y_true) | set(y_pred)):
            continue
        for zd in (0, 1):
            want = sklearn(sk.precision_recall_fscore_support, y_true, y_pred,
                           labels=labels, zero_division=zd)
            got = bm_metrics.precision_recall_fscore_support(y_true, y_pred, labels=labels,
                                                             zero_division=zd)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12)
            for average in ("macro", "micro", "weighted", None):
                for name in ("precision_score", "recall_score", "f1_score"):
                    w = sklearn(getattr(sk, name), y_true, y_pred, labels=labels,
                                average=average, zero_division=zd)
                    g = getattr(bm_metrics, name)(y_true, y_pred, labels=labels,
                                                  average=average, zero_division=zd)
                    np.testing.assert_allclose(g, w, rtol=1e-12,
                                               err_msg="%s %s %s" % (name, average, labels))
        want_cm = sk.confusion_matrix(y_true, y_pred, labels=labels)
        np.testing.assert_array_equal(bm_metrics.confusion_matrix(y_true, y_pred,
                                                                  labels=labels), want_cm)


def test_score_rows_with_a_label_subset_read_their_argmax():
    y_true = [0, 2, 1, 2, 0]
    rows = np.array([[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1],
                     [0.1, 0.8, 0.1]], np.float32)
    ids = rows.argmax(axis=1).tolist()
    want = sklearn(sk.classification_report, y_true, ids, labels=[0, 2], zero_division=1)
    assert bm_metrics.classification_report(y_true, rows, labels=[0, 2],
                                            zero_division=1) == want
