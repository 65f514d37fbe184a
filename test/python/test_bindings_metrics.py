"""bigmodel.metrics against scikit-learn, and the streaming Metric objects."""
import numpy as np
import pytest
from sklearn import metrics as sk

import bindings_path  # noqa: F401
import bigmodel as bm
from bigmodel import metrics

RNG = np.random.default_rng(7)
Y_TRUE = RNG.integers(0, 4, 200).astype(np.int32)
Y_PRED = np.where(RNG.random(200) < 0.6, Y_TRUE, RNG.integers(0, 4, 200)).astype(np.int32)


def test_accuracy_and_averaged_scores_equal_sklearn():
    assert metrics.accuracy_score(Y_TRUE, Y_PRED) == pytest.approx(
        sk.accuracy_score(Y_TRUE, Y_PRED))
    for average in ("macro", "micro", "weighted"):
        for ours, theirs in ((metrics.precision_score, sk.precision_score),
                             (metrics.recall_score, sk.recall_score),
                             (metrics.f1_score, sk.f1_score)):
            assert ours(Y_TRUE, Y_PRED, average=average) == pytest.approx(
                theirs(Y_TRUE, Y_PRED, average=average), abs=1e-12)


def test_per_class_scores_equal_sklearn():
    ours = metrics.precision_recall_fscore_support(Y_TRUE, Y_PRED)
    theirs = sk.precision_recall_fscore_support(Y_TRUE, Y_PRED)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(metrics.f1_score(Y_TRUE, Y_PRED, average=None),
                               sk.f1_score(Y_TRUE, Y_PRED, average=None))


def test_binary_scores_with_probabilities_and_pos_label():
    y = np.array([0, 1, 1, 0, 1, 1, 0], dtype=np.int32)
    prob = np.array([0.2, 0.9, 0.4, 0.6, 0.7, 0.55, 0.1], dtype=np.float32)
    hard = (prob > 0.5).astype(np.int32)
    assert metrics.precision_score(y, prob) == pytest.approx(sk.precision_score(y, hard))
    assert metrics.recall_score(y, hard, pos_label=0) == pytest.approx(
        sk.recall_score(y, hard, pos_label=0))
    assert metrics.roc_auc_score(y, prob) == pytest.approx(sk.roc_auc_score(y, prob))


def test_labels_that_are_not_0_to_k_are_mapped_like_sklearn():
    yt = [3, 5, 9, 5, 3, 9, 9]
    yp = [3, 9, 9, 5, 5, 9, 3]
    np.testing.assert_array_equal(metrics.confusion_matrix(yt, yp),
                                  sk.confusion_matrix(yt, yp))
    assert metrics.f1_score(yt, yp, average="macro") == pytest.approx(
        sk.f1_score(yt, yp, average="macro"))
    assert metrics.classification_report(yt, yp) == sk.classification_report(yt, yp)
    assert metrics.precision_score([2, 7, 7], [7, 7, 2], pos_label=7) == pytest.approx(
        sk.precision_score([2, 7, 7], [7, 7, 2], pos_label=7))


def test_classification_report_text_equals_sklearn():
    names = ["T-shirt", "Trouser", "Pullover", "Dress"]
    assert metrics.classification_report(Y_TRUE, Y_PRED, target_names=names) == \
        sk.classification_report(Y_TRUE, Y_PRED, target_names=names)
    assert metrics.classification_report(Y_TRUE, Y_PRED, digits=4) == \
        sk.classification_report(Y_TRUE, Y_PRED, digits=4)


def test_classification_report_dict_equals_sklearn():
    ours = metrics.classification_report(Y_TRUE, Y_PRED, output_dict=True)
    theirs = sk.classification_report(Y_TRUE, Y_PRED, output_dict=True)
    assert ours.keys() == theirs.keys()
    for key, row in theirs.items():
        if isinstance(row, dict):
            for field, value in row.items():
                assert ours[key][field] == pytest.approx(value), (key, field)
        else:
            assert ours[key] == pytest.approx(row)


def test_score_rows_are_read_by_argmax():
    scores = np.eye(4, dtype=np.float32)[Y_PRED] * 0.7 + 0.1
    assert metrics.accuracy_score(Y_TRUE, scores) == pytest.approx(
        sk.accuracy_score(Y_TRUE, Y_PRED))
    noisy = (scores + RNG.random((200, 4)) * 0.5).astype(np.float32)
    assert metrics.top_k_accuracy_score(Y_TRUE, noisy, k=2) == pytest.approx(
        sk.top_k_accuracy_score(Y_TRUE, noisy, k=2))


def test_regression_metrics_equal_sklearn():
    yt = RNG.standard_normal(50).astype(np.float32)
    yp = (yt + RNG.standard_normal(50) * 0.3).astype(np.float32)
    assert metrics.mean_squared_error(yt, yp) == pytest.approx(
        sk.mean_squared_error(yt, yp), rel=1e-5)
    assert metrics.mean_absolute_error(yt, yp) == pytest.approx(
        sk.mean_absolute_error(yt, yp), rel=1e-5)
    assert metrics.r2_score(yt, yp) == pytest.approx(sk.r2_score(yt, yp), rel=1e-5)


def test_streaming_metric_over_batches_equals_one_shot():
    acc = metrics.Accuracy()
    f1 = metrics.F1Score(average="macro", num_classes=4)
    for start in range(0, 200, 64):
        acc.update_state(Y_TRUE[start:start + 64], Y_PRED[start:start + 64])
        f1.update_state(Y_TRUE[start:start + 64], Y_PRED[start:start + 64])
    assert acc.name == "accuracy" and f1.name == "f1"
    assert acc.result() == pytest.approx(sk.accuracy_score(Y_TRUE, Y_PRED))
    assert f1.result() == pytest.approx(sk.f1_score(Y_TRUE, Y_PRED, average="macro"))
    acc.reset_state()
    assert acc.result() == 0.0 and acc.zero_division


def test_streaming_auc_and_top_k():
    auc = metrics.AUC()
    y = np.array([0, 1, 1, 0], dtype=np.float32)
    s = np.array([0.1, 0.8, 0.3, 0.4], dtype=np.float32)
    auc.update_state(y[:2], s[:2])
    auc.update_state(y[2:], s[2:])
    assert auc.result() == pytest.approx(sk.roc_auc_score(y, s))
    top = metrics.TopKAccuracy(k=1)
    top.update_state([1, 0], [[0.2, 0.8], [0.6, 0.4]])
    assert top.result() == 1.0


def _lists(cm):
    return cm.tolist() if hasattr(cm, "tolist") else cm


def test_bad_inputs_raise_with_the_library_message():
    with pytest.raises(bm.ShapeError, match=r"y_true has 3 samples \(shape \(3,\)\) but y_pred has 2"):
        metrics.accuracy_score([0, 1, 1], [0, 1])
    with pytest.raises(bm.InvalidArgumentError, match="average must be one of"):
        metrics.f1_score([0, 1], [0, 1], average="samples")
    with pytest.raises(bm.InvalidArgumentError, match="average='binary' needs two classes"):
        metrics.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(bm.InvalidArgumentError, match="2 target_names for 3 classes"):
        metrics.classification_report([0, 1, 2], [0, 1, 2], target_names=["a", "b"])
    # labels leaving out a class present: the samples of that class drop out of
    # the matrix, as in sklearn (test_metrics_parity_sklearn.py compares more)
    assert _lists(metrics.confusion_matrix([1, 4], [1, 3], labels=[1, 3])) == [[1, 0], [0, 0]]
    assert _lists(metrics.confusion_matrix([0, 5], [0, 1], labels=[0, 1, 2])) == [
        [1, 0, 0], [0, 0, 0], [0, 0, 0]]
    with pytest.raises(bm.InvalidArgumentError):
        metrics.TopKAccuracy(k=0)
