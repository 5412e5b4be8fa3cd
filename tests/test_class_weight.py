# SPDX-License-Identifier: BSD-3-Clause
"""MLPClassifier's `class_weight`, a parameter scikit-learn's MLP lacks.

A class weight is a sample weight shared by the class: every test below
holds fastmlp to that, bit for bit, through the public API.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, recall_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from fastmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = ["sgd", "adam", "lbfgs"]


def _data(n_classes=3, weights=(0.6, 0.3, 0.1), n_samples=300, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        weights=list(weights)[: n_classes - 1],
        random_state=seed,
    )
    return X, y


def _model(solver, **params):
    defaults = {"hidden_layer_sizes": (12,), "max_iter": 15, "random_state": 0}
    return MLPClassifier(solver=solver, **{**defaults, **params})


def _assert_same_fit(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        assert_array_equal(p, q)
    assert a.loss_ == b.loss_
    if hasattr(a, "loss_curve_"):  # the stochastic solvers
        assert a.loss_curve_ == b.loss_curve_


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dict_weights_equal_sample_weights_of_the_class(solver, dtype):
    X, y = _data()
    X = X.astype(dtype)
    class_weight = {0: 0.5, 2: 4.0}  # class 1 left out: weight 1
    per_sample = np.array([class_weight.get(c, 1.0) for c in y])
    weighted = _model(solver, class_weight=class_weight).fit(X, y)
    reference = _model(solver).fit(X, y, sample_weight=per_sample)
    _assert_same_fit(weighted, reference)
    # ... and they do change the fit.
    plain = _model(solver).fit(X, y)
    assert not np.array_equal(weighted.coefs_[0], plain.coefs_[0])


@pytest.mark.parametrize("solver", SOLVERS)
def test_class_weight_multiplies_sample_weight(solver):
    X, y = _data()
    sample_weight = np.random.RandomState(1).uniform(0.5, 2.0, size=y.shape[0])
    class_weight = {0: 3.0, 1: 0.25, 2: 1.5}
    per_class = np.array([class_weight[c] for c in y])
    weighted = _model(solver, class_weight=class_weight).fit(
        X, y, sample_weight=sample_weight
    )
    reference = _model(solver).fit(X, y, sample_weight=per_class * sample_weight)
    _assert_same_fit(weighted, reference)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_balanced_weights_are_scikit_learns_balanced_weights(solver, n_classes):
    X, y = _data(n_classes=n_classes)
    labels = np.array(["cat", "dog", "emu"])[y]  # any label type
    balanced = compute_class_weight("balanced", classes=np.unique(labels), y=labels)
    weighted = _model(solver, class_weight="balanced").fit(X, labels)
    reference = _model(solver).fit(X, labels, sample_weight=balanced[y])
    _assert_same_fit(weighted, reference)


def test_string_label_keys():
    X, y = _data(n_classes=2)
    labels = np.array(["no", "yes"])[y]
    weighted = _model("adam", class_weight={"yes": 5.0}).fit(X, labels)
    reference = _model("adam").fit(X, labels, sample_weight=np.where(y == 1, 5.0, 1.0))
    _assert_same_fit(weighted, reference)


def test_balanced_raises_minority_recall():
    # 5 % minority class: unweighted, the network mostly predicts the
    # majority; balanced weights must find more of the minority.
    X, y = _data(n_classes=2, weights=(0.95,), n_samples=2000, seed=3)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, stratify=y, random_state=0
    )
    recalls = {}
    for class_weight in (None, "balanced"):
        model = MLPClassifier(
            hidden_layer_sizes=(16,),
            max_iter=60,
            random_state=0,
            class_weight=class_weight,
        ).fit(X_train, y_train)
        recalls[class_weight] = recall_score(y_test, model.predict(X_test))
    assert recalls["balanced"] > recalls[None] + 0.1, recalls


def test_partial_fit_with_dict_weights_equals_weighted_partial_fit():
    X, y = _data()
    class_weight = {1: 2.0, 2: 0.5}
    a = _model("sgd", class_weight=class_weight)
    b = _model("sgd")
    per_sample = np.array([class_weight.get(c, 1.0) for c in y])
    for chunk in np.array_split(np.arange(y.shape[0]), 3):
        a.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
        b.partial_fit(
            X[chunk], y[chunk], classes=[0, 1, 2], sample_weight=per_sample[chunk]
        )
    _assert_same_fit(a, b)


def test_early_stopping_scores_without_class_weights(early_stopping_rows):
    # The training loss is class-weighted; the validation score is the one
    # scikit-learn would report (sample_weight alone, here none).
    X, y = _data(n_classes=2, weights=(0.7,))
    model = _model(
        "adam",
        class_weight={1: 5.0},
        early_stopping=True,
        max_iter=1,
        validation_fraction=0.25,
    ).fit(X, y)

    val = early_stopping_rows(y, [8, 12, 1], 0.25)
    y_pred = model.predict(X[val])
    expected = accuracy_score(y[val], y_pred)
    class_weighted = accuracy_score(
        y[val], y_pred, sample_weight=np.where(y[val] == 1, 5.0, 1.0)
    )
    assert model.validation_scores_ == [pytest.approx(expected, rel=1e-12)]
    assert expected != pytest.approx(class_weighted)


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({7: 1.0}, r"class_weight has labels that are not classes: \[7\]"),
        ({0: -1.0}, r"class_weight\[0\] must be finite and >= 0, got -1.0"),
        ({0: np.nan}, r"class_weight\[0\] must be finite and >= 0, got nan"),
        ({0: np.inf}, r"class_weight\[0\] must be finite and >= 0, got inf"),
        ({0: "heavy"}, r"class_weight\[0\] must be a real number, got 'heavy'"),
        ({0: True}, r"class_weight\[0\] must be a real number, got True"),
        ({0: 0, 1: 0, 2: 0}, r"gives every sample a zero weight"),
    ],
)
def test_bad_class_weight_raises(class_weight, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _model("adam", class_weight=class_weight).fit(X, y)


@pytest.mark.parametrize("class_weight", ["heavy", 3, [1.0, 2.0]])
def test_class_weight_of_the_wrong_kind_raises(class_weight):
    X, y = _data()
    with pytest.raises(
        ValueError, match=r"The 'class_weight' parameter of MLPClassifier"
    ):
        _model("adam", class_weight=class_weight).fit(X, y)


def test_balanced_partial_fit_raises():
    X, y = _data()
    with pytest.raises(ValueError, match=r"'balanced' is not supported by partial_fit"):
        _model("adam", class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_multilabel_class_weight_raises():
    X, y = _data()
    Y = np.eye(3, dtype=int)[y]
    with pytest.raises(ValueError, match=r"not supported for multilabel targets"):
        _model("adam", class_weight={0: 2.0}).fit(X, Y)


def test_default_is_none_and_round_trips_through_get_params():
    assert MLPClassifier().class_weight is None
    model = MLPClassifier(class_weight={0: 2.0})
    assert model.get_params()["class_weight"] == {0: 2.0}
