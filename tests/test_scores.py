# SPDX-License-Identifier: BSD-3-Clause
"""Early stopping's unchecked scores are scikit-learn's metrics, bit for bit.

Early stopping compares each epoch's score with the best one plus `tol`, so a
score one rounding away from scikit-learn's could end a fit an epoch early
or late. These tests compare the values exactly, on the inputs early
stopping passes (labels, indicators, float predictions of either dtype,
int or float targets) and on the corners of R^2 (constant targets, perfect
predictions, several outputs).
"""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._scores import unchecked_accuracy, unchecked_r2


def _same_bits(ours, theirs):
    assert isinstance(ours, float)
    assert np.array(ours).tobytes() == np.array(theirs, dtype=np.float64).tobytes()


LABELS = {
    "int": lambda rng, n: rng.randint(0, 4, n),
    "string": lambda rng, n: np.array(["ant", "bee", "cat"])[rng.randint(0, 3, n)],
    "object": lambda rng, n: np.array(["x", "y"], dtype=object)[rng.randint(0, 2, n)],
    "float": lambda rng, n: rng.randint(0, 3, n).astype(np.float64),
    "bool": lambda rng, n: rng.rand(n) > 0.5,
    "indicator": lambda rng, n: (rng.rand(n, 3) > 0.5).astype(np.int64),
}


@pytest.mark.parametrize("n", [1, 2, 7, 1000])
@pytest.mark.parametrize("kind", LABELS)
def test_accuracy_is_sklearns(kind, n):
    rng = np.random.RandomState(n)
    y_true = LABELS[kind](rng, n)
    for y_pred in (LABELS[kind](rng, n), y_true.copy()):
        _same_bits(
            unchecked_accuracy(y_true, y_pred, None), accuracy_score(y_true, y_pred)
        )


def _targets(rng, n, n_outputs, dtype):
    shape = (n,) if n_outputs == 1 else (n, n_outputs)
    return (rng.normal(size=shape) * 3 + 1).astype(dtype)


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("pred_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("true_dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("n", [2, 3, 50, 5001])
def test_r2_is_sklearns(n, true_dtype, pred_dtype, n_outputs):
    rng = np.random.RandomState(n * n_outputs)
    y_true = _targets(rng, n, n_outputs, true_dtype)
    y_pred = _targets(rng, n, n_outputs, pred_dtype) * 0.3 + y_true * 0.7
    y_pred = y_pred.astype(pred_dtype)
    _same_bits(unchecked_r2(y_true, y_pred, None), r2_score(y_true, y_pred))


@pytest.mark.parametrize(
    "case",
    ["constant, perfect", "constant, imperfect", "perfect", "one output constant"],
)
def test_r2_corners_are_sklearns(case):
    rng = np.random.RandomState(0)
    y_true = rng.normal(size=(40, 2))
    y_pred = y_true + rng.normal(size=(40, 2))
    if case.startswith("constant"):
        y_true[:] = 2.5
        y_pred = y_true.copy() if case.endswith(" perfect") else y_pred
    elif case == "perfect":
        y_pred = y_true.copy()
    else:
        y_true[:, 1] = -1.0
    _same_bits(unchecked_r2(y_true, y_pred, None), r2_score(y_true, y_pred))
    _same_bits(
        unchecked_r2(y_true[:, 0], y_pred[:, 0], None),
        r2_score(y_true[:, 0], y_pred[:, 0]),
    )


def test_what_the_metrics_must_check_is_left_to_them():
    y = np.arange(5.0)
    assert unchecked_r2(y, y, np.ones(5)) is None  # sample weights
    assert unchecked_r2(y[:1], y[:1], None) is None  # scikit-learn warns
    assert unchecked_r2(y.tolist(), y, None) is None
    assert unchecked_r2(y, y.reshape(-1, 1), None) is None
    assert unchecked_accuracy(y, y, np.ones(5)) is None
    assert unchecked_accuracy(y, y[:4], None) is None


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_early_stopping_scores_equal_the_metric_on_the_same_rows(estimator):
    # Through the estimator: the recorded scores are the metric's, on the
    # validation rows and the predictions of the weights of each epoch.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 6))
    y = X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=300)
    X_val, y_val = X[:80], y[:80]
    if estimator is MLPClassifier:
        y, y_val = y > 0, y_val > 0
    metric = accuracy_score if estimator is MLPClassifier else r2_score
    seen = []

    def record(model):
        seen.append(metric(y_val, model.predict(X_val)))

    model = estimator(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    model.set_params(callbacks=record).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(seen) == len(model.validation_scores_) == 6
    for ours, theirs in zip(model.validation_scores_, seen, strict=True):
        _same_bits(ours, theirs)
