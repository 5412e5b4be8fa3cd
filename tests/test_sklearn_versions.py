# SPDX-License-Identifier: BSD-3-Clause
"""fastmlp behaves the same on every scikit-learn it supports (1.6 on).

Where an older scikit-learn's helper or test calls differ, fastmlp makes up
the difference; these tests reproduce the older behaviour on any version.
CI also runs the whole suite on the oldest supported versions
(.ci/oldest-supported.txt).
"""

import inspect

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import fastmlp._compat
from fastmlp import MLPClassifier, MLPRegressor

X = np.random.RandomState(0).normal(size=(30, 4))
Y = np.c_[X[:, 0] - X[:, 1], X[:, 2]]


@pytest.mark.parametrize(
    "method, solver",
    [
        ("fit", "sgd"),
        ("fit", "adam"),
        ("fit", "lbfgs"),
        ("partial_fit", "sgd"),
        ("partial_fit", "adam"),
    ],
)
def test_all_zero_sample_weight_raises_where_sklearn_allows_it(
    monkeypatch, method, solver
):
    # scikit-learn 1.6's and 1.7's check passes all-zero weights; L-BFGS
    # then fitted a NaN loss without an error.
    check = fastmlp._compat._sklearn_check_sample_weight
    allow = {}
    if "allow_all_zero_weights" in inspect.signature(check).parameters:  # >= 1.8
        allow["allow_all_zero_weights"] = True
    monkeypatch.setattr(
        fastmlp._compat,
        "_sklearn_check_sample_weight",
        lambda *args, **kwargs: check(*args, **kwargs, **allow),
    )
    model = MLPRegressor(hidden_layer_sizes=(3,), solver=solver, max_iter=2)
    with pytest.raises(ValueError, match="at least one non-zero number"):
        getattr(model, method)(X, Y, sample_weight=np.zeros(len(X)))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_loss_grad_lbfgs_takes_both_sklearn_signatures(estimator, weighted):
    # scikit-learn >= 1.7's test_mlp.py passes (theta, X, y, sample_weight,
    # activations, deltas, coef_grads, intercept_grads); 1.6's has no
    # sample_weight. The workspaces are lists there, sample_weight never is.
    y = (Y[:, 0] > 0).astype(int) if estimator is MLPClassifier else Y
    model = estimator(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=2)
    model.fit(X, y)
    theta = np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_])
    target = model._label_binarizer.transform(y) if estimator is MLPClassifier else y
    workspaces = [[X, None, None], [None] * 2, [None] * 2, [None] * 2]
    sample_weight = np.linspace(0.5, 2.0, len(X)) if weighted else None

    loss, grad = model._loss_grad_lbfgs(theta, X, target, sample_weight)
    loss_new, grad_new = model._loss_grad_lbfgs(
        theta, X, target, sample_weight, *workspaces
    )
    assert loss_new == loss
    assert_array_equal(grad_new, grad)
    # A list is still taken for weights where the signature says so.
    if weighted:
        listed = model._loss_grad_lbfgs(theta, X, target, list(sample_weight))
        assert listed[0] == loss
        listed = model._loss_grad_lbfgs(
            theta, X, target, list(sample_weight), *workspaces
        )
        assert listed[0] == loss
    loss_old, grad_old = model._loss_grad_lbfgs(theta, X, target, *workspaces)
    if weighted:  # the old signature has no weights: the unweighted loss
        unweighted, _ = model._loss_grad_lbfgs(theta, X, target, None)
        assert_allclose(loss_old, unweighted, rtol=1e-15)
        assert not np.isclose(loss_old, loss)
    else:
        assert loss_old == loss
        assert_array_equal(grad_old, grad)
