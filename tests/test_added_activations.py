# SPDX-License-Identifier: BSD-3-Clause
"""The hidden activations fastmlp adds to scikit-learn's four.

'leaky_relu', 'elu' and 'softplus' run through the same kernels as the
others, so the kernel, gradient and engine tests (parametrised over every
hidden activation) cover them too. Here: the NumPy oracle itself, by hand
and by central differences, and whole fits through the public API against
the oracle's own estimators.
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


@pytest.mark.parametrize("name", ADDED)
def test_backward_is_vector_jacobian_product(name):
    # <backward(A, dA), V> must equal <dA, J V>, J V by central differences.
    rng = np.random.RandomState(2)
    Z = rng.normal(size=(7, 4))
    Z += np.sign(Z) * 0.1  # off leaky ReLU's kink
    dA, V = rng.normal(size=(2, 7, 4))
    act = ACTIVATIONS[name]()
    eps = 1e-6
    JV = (act.forward(Z + eps * V) - act.forward(Z - eps * V)) / (2 * eps)

    dZ = act.backward(act.forward(Z), dA)

    assert_allclose(np.sum(dZ * V), np.sum(dA * JV), rtol=1e-7)


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
    # float64: the same arithmetic in another order; float32 carries the
    # rounding of five epochs.
    tol = (
        {"rtol": 1e-7, "atol": 1e-9}
        if dtype == np.float64
        else {"rtol": 2e-3, "atol": 2e-4}
    )
    for a, b in zip(
        fast.coefs_ + fast.intercepts_,
        baseline.coefs_ + baseline.intercepts_,
        strict=True,
    ):
        assert_allclose(a, b, **tol)
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
    for a, b in zip(
        fast.coefs_ + fast.intercepts_,
        baseline.coefs_ + baseline.intercepts_,
        strict=True,
    ):
        assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    assert_allclose(fast.predict(X), baseline.predict(X), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("activation", ADDED)
def test_each_learns_digits(activation):
    X, y = _digits(np.float64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = MLPClassifier(
        hidden_layer_sizes=(64,), activation=activation, max_iter=60, random_state=0
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.93
