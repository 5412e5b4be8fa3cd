# SPDX-License-Identifier: BSD-3-Clause
"""Early stopping's score of each epoch, without the metric's input checks.

scikit-learn scores the validation rows with ``accuracy_score`` or
``r2_score``. Their input checks cost 0.35-0.55 ms a call, a fifth of an
epoch of a small network. The targets and predictions here come from the
estimator itself, already checked, so these functions make the metric's
own arithmetic only, the same NumPy operations in the same order, hence the
same bits (tests/test_scores.py compares them with scikit-learn's). They
return None where that is not certain, and the caller then calls the metric.
"""

import numpy as np


def unchecked_accuracy(y_true, y_pred, sample_weight):
    """accuracy_score(y_true, y_pred), or None.

    Labels (1-D) or label indicators (2-D, subset accuracy) of one shape.
    """
    if not _plain_pair(y_true, y_pred, sample_weight) or y_true.shape != y_pred.shape:
        return None
    if y_true.ndim == 1:
        correct = y_true == y_pred
    else:
        correct = np.all(y_true == y_pred, axis=1)
    return float(np.average(correct))


def unchecked_r2(y_true, y_pred, sample_weight):
    """r2_score(y_true, y_pred), or None.

    The default uniform average over outputs, and a finite score where a
    constant target makes the fraction undefined (force_finite).
    """
    if (
        not _plain_pair(y_true, y_pred, sample_weight)
        or y_true.dtype.kind not in "biuf"
        or y_pred.dtype.kind != "f"
        or len(y_true) < 2  # scikit-learn warns and returns NaN
    ):
        return None
    floating = [a.dtype for a in (y_true, y_pred) if a.dtype.kind == "f"]
    dtype = np.result_type(*floating)
    y_true = np.asarray(y_true, dtype=dtype).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=dtype).reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        return None
    numerator = np.sum((y_true - y_pred) ** 2, axis=0)
    denominator = np.sum((y_true - np.average(y_true, axis=0)) ** 2, axis=0)
    # Perfect predictions score 1, even of a constant target; other
    # predictions of a constant target score 0.
    scores = np.ones(y_true.shape[1], dtype=dtype)
    defined = (denominator != 0) & (numerator != 0)
    scores[defined] = 1 - (numerator[defined] / denominator[defined])
    scores[(numerator != 0) & (denominator == 0)] = 0.0
    return float(np.average(scores))


def _plain_pair(y_true, y_pred, sample_weight):
    return (
        sample_weight is None
        and type(y_true) is np.ndarray
        and type(y_pred) is np.ndarray
        and y_true.ndim in (1, 2)
        and y_true.ndim == y_pred.ndim
        and len(y_true) == len(y_pred) > 0
    )
