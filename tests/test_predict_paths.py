# SPDX-License-Identifier: BSD-3-Clause
"""Every route a prediction can take gives scikit-learn's answer.

`predict` picks its path from the input: a few C-ordered rows in the
network's dtype take the serving path (no validation, one small kernel);
other float arrays skip validation but take the chunked kernel; anything else
(lists, sparse matrices, other dtypes or layouts) is validated first. The
rows, dtypes and layouts below reach each of them on both sides of the
64-row boundary.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-12}}


def _pair(dtype, **params):
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(dtype)
    params = {"hidden_layer_sizes": (20,), "max_iter": 3, "random_state": 0, **params}
    ours = MLPClassifier(**params).fit(X, y)
    theirs = SklearnMLPClassifier(**params).fit(X, y)
    return ours, theirs, X


def _layouts(X):
    """The same rows as every container and layout predict may be given."""
    return {
        "C": np.ascontiguousarray(X),
        "F": np.asfortranarray(X),
        "strided": np.repeat(X, 2, axis=1)[:, ::2],
        "list": X.tolist(),
        "csr": sp.csr_matrix(X),
        "other dtype": X.astype(np.float64 if X.dtype == np.float32 else np.float32),
    }


@pytest.mark.parametrize("n_rows", [1, 7, 64, 65, 300])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_path_predicts_as_sklearn(dtype, n_rows):
    ours, theirs, X = _pair(dtype)
    expected = theirs.predict_proba(X[:n_rows])
    for name, rows in _layouts(X[:n_rows]).items():
        proba = ours.predict_proba(rows)
        assert proba.shape == expected.shape, name
        assert_allclose(proba, expected, **TOL[dtype], err_msg=name)
        assert_array_equal(ours.predict(rows), theirs.predict(rows), err_msg=name)


@pytest.mark.parametrize("n_rows", [1, 300])
def test_an_activation_set_after_fit_is_used(n_rows):
    # scikit-learn reads `activation` at predict time; so do both paths.
    ours, theirs, X = _pair(np.float64)
    for model in (ours, theirs):
        model.set_params(activation="tanh")
    assert_allclose(
        ours.predict_proba(X[:n_rows]), theirs.predict_proba(X[:n_rows]), rtol=1e-12
    )


@pytest.mark.parametrize("n_rows", [1, 300])
def test_hand_set_coefs_of_another_width_are_refused(n_rows):
    ours, _, X = _pair(np.float64)
    ours.coefs_[0] = np.zeros((X.shape[1] + 1, 20))
    with pytest.raises(ValueError, match="X has 64 features, but coefs_.0. has 65"):
        ours.predict(X[:n_rows])


# Hand-set weight lists that do not make one network: each use names the
# array at fault. Before, most failed in a reshape, and a shortened list
# (one intercept removed, or both lists emptied) was ignored: predictions
# came from the weights of the last fit.
BROKEN_WEIGHTS = {
    "coef-chain": (
        lambda m: m.coefs_.__setitem__(1, np.zeros((7, 10))),
        r"coefs_\[1\] has shape \(7, 10\), but coefs_\[0\] has shape \(64, 20\)",
    ),
    "intercept-length": (
        lambda m: m.intercepts_.__setitem__(0, np.zeros(3)),
        r"intercepts_\[0\] has shape \(3,\), but coefs_\[0\] has shape \(64, 20\)",
    ),
    "intercept-removed": (
        lambda m: m.intercepts_.pop(),
        r"coefs_ has 2 entries and intercepts_ 1",
    ),
    "both-emptied": (
        lambda m: (m.coefs_.clear(), m.intercepts_.clear()),
        r"coefs_ has 0 entries and intercepts_ 0",
    ),
    "coef-3d": (
        lambda m: m.coefs_.__setitem__(0, m.coefs_[0][..., None]),
        r"coefs_\[0\] must be a 2-D array of real numbers, got ndarray of shape",
    ),
    "coef-complex": (
        lambda m: m.coefs_.__setitem__(0, m.coefs_[0] + 1j),
        r"coefs_\[0\] must be a 2-D array of real numbers.*complex128",
    ),
    "coef-list": (
        lambda m: m.coefs_.__setitem__(0, m.coefs_[0].tolist()),
        r"coefs_\[0\] must be a 2-D array of real numbers, got list",
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN_WEIGHTS))
def test_hand_set_weights_that_do_not_chain_are_refused(broken):
    break_weights, message = BROKEN_WEIGHTS[broken]
    ours, _, X = _pair(np.float64)
    break_weights(ours)
    for n_rows in (1, 300):  # the serving path and the chunked one
        with pytest.raises(ValueError, match=message):
            ours.predict_proba(X[:n_rows])
    with pytest.raises(ValueError, match=message):
        ours.partial_fit(X, np.arange(len(X)) % 10)
    with pytest.raises(ValueError, match=message):
        ours.set_params(warm_start=True).fit(X, np.arange(len(X)) % 10)


@pytest.mark.parametrize("n_rows", [1, 300])
def test_hand_set_weights_in_another_order_are_used(n_rows):
    # Each array is still a view of the fitted buffer, in another place: the
    # buffer must not be taken for the lists.
    ours, theirs, X = _pair(np.float64, hidden_layer_sizes=(20, 20, 20))
    for model in (ours, theirs):
        model.coefs_[1], model.coefs_[2] = model.coefs_[2], model.coefs_[1]
    assert_allclose(
        ours.predict_proba(X[:n_rows]), theirs.predict_proba(X[:n_rows]), rtol=1e-12
    )


def test_hand_set_input_width_is_refused_when_training_continues():
    ours, _, X = _pair(np.float64)
    ours.coefs_[0] = np.zeros((X.shape[1] + 1, 20))
    with pytest.raises(ValueError, match="X has 64 features, but coefs_.0. has 65"):
        ours.partial_fit(X, np.arange(len(X)) % 10)
