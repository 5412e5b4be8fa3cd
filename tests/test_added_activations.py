# SPDX-License-Identifier: BSD-3-Clause
"""The hidden activations fastmlp adds to scikit-learn's four.

'leaky_relu', 'elu' and 'softplus' run through the same kernels as the
others, so the kernel, gradient and engine tests (parametrised over every
hidden activation) cover them too, and test_numpy_baseline.py checks the
oracle's derivatives by central differences. Here: the oracle by hand and
at extreme inputs, and whole fits through the public API against the
oracle's own estimators.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp.numpy_baseline import (
    ACTIVATIONS,
    BaselineMLPClassifier,
    BaselineMLPRegressor,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Stochastic Optimizer.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:lbfgs failed to converge.*:UserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

ADDED = ["leaky_relu", "elu", "softplus"]


def test_hand_worked_values():
    Z = np.array([[-2.0, -np.log(2.0), 0.0, 3.0]])
    assert_allclose(
        ACTIVATIONS["leaky_relu"]().forward(Z), [[-0.02, -0.01 * np.log(2.0), 0.0, 3.0]]
    )
    assert_allclose(
        ACTIVATIONS["elu"]().forward(Z), [[np.exp(-2.0) - 1, -0.5, 0.0, 3.0]]
    )
    assert_allclose(
        ACTIVATIONS["softplus"]().forward(Z),
        [[np.log1p(np.exp(-2.0)), np.log(1.5), np.log(2.0), np.log1p(np.exp(3.0))]],
    )


@pytest.mark.parametrize("name", ADDED)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_inputs_stay_finite_and_keep_dtype(name, dtype):
    Z = np.array([[-1e4, -50.0, 50.0, 1e4]], dtype=dtype)
    act = ACTIVATIONS[name]()
    A = act.forward(Z)
    dZ = act.backward(A, np.ones_like(A))
    assert A.dtype == dZ.dtype == dtype
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    # Far from zero each is the identity above and flat (or 0.01 x) below.
    assert_allclose(A[0, 3], 1e4)
    assert_allclose(dZ[0, 3], 1.0)
    if name == "leaky_relu":
        assert_allclose(dZ[0, :2], 0.01)
    else:
        assert_allclose(dZ[0, 0], 0.0, atol=1e-30)


def _assert_same_weights(fast, baseline, **tol):
    for a, b in zip(
        fast.coefs_ + fast.intercepts_,
        baseline.coefs_ + baseline.intercepts_,
        strict=True,
    ):
        assert_allclose(a, b, **tol)


def _digits(dtype):
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(dtype), y


@pytest.mark.parametrize("activation", ADDED)
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_classifier_fit_matches_the_numpy_baseline(activation, solver, dtype):
    X, y = _digits(dtype)
    params = dict(
        hidden_layer_sizes=(24,),
        activation=activation,
        solver=solver,
        max_iter=5,
        random_state=0,
    )
    fast = MLPClassifier(**params).fit(X, y)
    baseline = BaselineMLPClassifier(**params).fit(X, y)

    assert fast.coefs_[0].dtype == dtype
    # The same arithmetic in another order: float32 weights differed by at
    # most 7e-7 here (relu and tanh the same), float64 by far less.
    tol = (
        {"rtol": 1e-7, "atol": 1e-9}
        if dtype == np.float64
        else {"rtol": 1e-4, "atol": 1e-5}
    )
    _assert_same_weights(fast, baseline, **tol)
    assert_allclose(fast.loss_, baseline.loss_, rtol=tol["rtol"])
    assert_array_equal(fast.predict(X[:100]), baseline.predict(X[:100]))


@pytest.mark.parametrize("activation", ADDED)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_regressor_fit_matches_the_numpy_baseline(activation, solver):
    X, y = make_regression(n_samples=200, n_features=6, noise=1.0, random_state=0)
    y = y / y.std()
    params = dict(
        hidden_layer_sizes=(16, 8),
        activation=activation,
        solver=solver,
        max_iter=8,
        random_state=0,
    )
    fast = MLPRegressor(**params).fit(X, y)
    baseline = BaselineMLPRegressor(**params).fit(X, y)
    _assert_same_weights(fast, baseline, rtol=1e-7, atol=1e-9)
    assert_allclose(fast.predict(X), baseline.predict(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("activation", ADDED)
def test_each_learns_digits(activation):
    X, y = _digits(np.float64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = MLPClassifier(
        hidden_layer_sizes=(64,), activation=activation, max_iter=60, random_state=0
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.93
