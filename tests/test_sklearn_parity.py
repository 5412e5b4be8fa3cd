# SPDX-License-Identifier: BSD-3-Clause
"""Same data, parameters and random_state: fastmlp fits what scikit-learn fits.

For each solver and schedule (sgd constant/invscaling/adaptive with and
without (Nesterov) momentum, adam, lbfgs) and each task (binary, multiclass,
multilabel, single-output regression, poisson), with early stopping, without
shuffling and with sample weights, the fitted attributes -- `coefs_`,
`intercepts_`, `loss_curve_`, `n_iter_`, `loss_`, `best_loss_`,
`validation_scores_`, `t_` -- and the predictions agree with scikit-learn's
to rtol 1e-9 in float64. Warm starts and partial_fit sequences agree after
every call. float32 input trains and predicts in float32, close to float64.
Multi-output regression, whose gradient differs on purpose (scikit-learn
issue #8349), agrees once the step is rescaled as the README says.
"""

import pickle
from functools import cache

import numpy as np
import pytest
import sklearn.neural_network as sk_nn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_digits,
    make_multilabel_classification,
    make_regression,
)

import fastmlp

from sklearn_support import require, weight_kwargs

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

TOL = {"rtol": 1e-9, "atol": 1e-12}
# Fitted attributes compared whenever scikit-learn has them.
FITTED_SCALARS = ["n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_"]
FITTED_FLOATS = ["loss_", "best_loss_", "best_validation_score_"]
FITTED_CURVES = ["loss_curve_", "validation_scores_"]


@cache
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:150] / 16, y[:150]


@cache
def problem(task):
    """(X, y) of a small, well-scaled problem of each kind."""
    if task == "binary":
        X, y = digits()
        return X, (y > 4).astype(int)
    if task == "multiclass":
        return digits()
    if task == "multilabel":
        X, Y = make_multilabel_classification(
            n_samples=120, n_features=10, n_classes=4, random_state=0
        )
        return X / X.max(), Y
    if task == "poisson":
        rng = np.random.RandomState(11)
        X = rng.normal(size=(120, 5))
        return X, rng.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1]))
    X, y = make_regression(n_samples=120, n_features=8, noise=5.0, random_state=0)
    return X, y / y.std()


def make_pair(task, **params):
    """(fastmlp estimator, scikit-learn estimator) with the same parameters."""
    params = {
        "hidden_layer_sizes": (12, 7),
        "max_iter": 8,
        "batch_size": 32,
        "random_state": 0,
        "alpha": 1e-3,
        **params,
    }
    if task in ("binary", "multiclass", "multilabel"):
        return fastmlp.MLPClassifier(**params), sk_nn.MLPClassifier(**params)
    if task == "poisson":
        require("the Poisson loss")
        params["loss"] = "poisson"
    return fastmlp.MLPRegressor(**params), sk_nn.MLPRegressor(**params)


def assert_fitted_equal(ours, theirs, X, tol=TOL):
    """Every fitted attribute and prediction of `ours` equals `theirs`'."""
    for name in FITTED_SCALARS:
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in FITTED_FLOATS + FITTED_CURVES:
        assert hasattr(ours, name) == hasattr(theirs, name), name
        if not hasattr(theirs, name):
            continue
        expected = getattr(theirs, name)
        if expected is None:
            assert getattr(ours, name) is None, name
        else:
            assert_allclose(getattr(ours, name), expected, **tol, err_msg=name)
            # The same types too: np.float64 and float print differently.
            if name in FITTED_CURVES:
                assert {type(v) for v in getattr(ours, name)} == {
                    type(v) for v in expected
                }, name
            else:
                assert type(getattr(ours, name)) is type(expected), name
    assert len(ours.coefs_) == len(theirs.coefs_)
    for ours_array, their_array in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert ours_array.dtype == their_array.dtype
        assert_allclose(ours_array, their_array, **tol)
    if hasattr(theirs, "classes_"):
        assert_array_equal(ours.classes_, theirs.classes_)
        assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **tol)
        assert_array_equal(ours.predict(X), theirs.predict(X))
    else:
        assert_allclose(ours.predict(X), theirs.predict(X), **tol)


# id -> (task, estimator parameters, fit with sample_weight)
CASES = {
    "sgd-constant-nesterov-binary": (
        "binary",
        {"solver": "sgd", "learning_rate_init": 0.05},
        False,
    ),
    "sgd-constant-momentum-multiclass": (
        "multiclass",
        {"solver": "sgd", "nesterovs_momentum": False, "activation": "tanh"},
        False,
    ),
    "sgd-constant-no-momentum-regression": (
        "regression",
        {"solver": "sgd", "momentum": 0.0, "learning_rate_init": 0.01},
        False,
    ),
    "sgd-invscaling-multiclass": (
        "multiclass",
        {
            "solver": "sgd",
            "learning_rate": "invscaling",
            "learning_rate_init": 0.5,
            "power_t": 0.3,
            "momentum": 0.5,
        },
        False,
    ),
    # A huge tol makes every epoch a stall: the rate is divided by 5 every
    # second epoch down to 1e-6, then training stops before max_iter.
    "sgd-adaptive-binary": (
        "binary",
        {
            "solver": "sgd",
            "learning_rate": "adaptive",
            "tol": 1e3,
            "n_iter_no_change": 1,
            "max_iter": 50,
        },
        False,
    ),
    "sgd-multilabel": (
        "multilabel",
        {"solver": "sgd", "learning_rate_init": 0.1, "activation": "logistic"},
        False,
    ),
    "sgd-poisson": (
        "poisson",
        {"solver": "sgd", "learning_rate_init": 0.01},
        False,
    ),
    "adam-binary": ("binary", {"solver": "adam", "activation": "logistic"}, False),
    "adam-multiclass": (
        "multiclass",
        {"solver": "adam", "learning_rate_init": 0.01},
        False,
    ),
    "adam-multilabel": ("multilabel", {"solver": "adam"}, False),
    "adam-regression": (
        "regression",
        {"solver": "adam", "learning_rate_init": 0.01, "activation": "identity"},
        False,
    ),
    "adam-poisson": ("poisson", {"solver": "adam", "learning_rate_init": 0.01}, False),
    "adam-stops-on-tol": (
        "regression",
        {"solver": "adam", "tol": 1e-2, "n_iter_no_change": 2, "max_iter": 50},
        False,
    ),
    "lbfgs-binary": ("binary", {"solver": "lbfgs"}, False),
    "lbfgs-multiclass": (
        "multiclass",
        {"solver": "lbfgs", "activation": "tanh"},
        False,
    ),
    "lbfgs-multilabel": ("multilabel", {"solver": "lbfgs"}, False),
    "lbfgs-regression": (
        "regression",
        {"solver": "lbfgs", "activation": "logistic"},
        False,
    ),
    "lbfgs-poisson": ("poisson", {"solver": "lbfgs", "activation": "tanh"}, False),
    "lbfgs-converges": (
        "binary",
        {"solver": "lbfgs", "max_iter": 500, "tol": 1e-3, "hidden_layer_sizes": (5,)},
        False,
    ),
    "sgd-no-shuffle-regression": (
        "regression",
        {
            "solver": "sgd",
            "shuffle": False,
            "batch_size": 50,
            "learning_rate_init": 0.01,
        },
        False,
    ),
    "adam-no-shuffle-multiclass": (
        "multiclass",
        {"solver": "adam", "shuffle": False, "batch_size": 40},
        False,
    ),
    "sgd-early-stopping-multiclass": (
        "multiclass",
        {
            "solver": "sgd",
            "early_stopping": True,
            "learning_rate_init": 0.05,
            "n_iter_no_change": 3,
            "max_iter": 40,
        },
        False,
    ),
    "adam-early-stopping-regression": (
        "regression",
        {
            "solver": "adam",
            "early_stopping": True,
            "validation_fraction": 0.2,
            "n_iter_no_change": 2,
            "max_iter": 40,
            "learning_rate_init": 0.01,
        },
        False,
    ),
    "sgd-adaptive-early-stopping-binary": (
        "binary",
        {
            "solver": "sgd",
            "learning_rate": "adaptive",
            "early_stopping": True,
            "learning_rate_init": 0.1,
            "tol": 0.5,
            "n_iter_no_change": 1,
            "max_iter": 20,
        },
        False,
    ),
    "adam-weighted-multiclass": ("multiclass", {"solver": "adam"}, True),
    "sgd-weighted-regression": (
        "regression",
        {"solver": "sgd", "learning_rate_init": 0.01},
        True,
    ),
    "lbfgs-weighted-binary": ("binary", {"solver": "lbfgs"}, True),
    "lbfgs-weighted-poisson": ("poisson", {"solver": "lbfgs"}, True),
    "adam-weighted-early-stopping-binary": (
        "binary",
        {
            "solver": "adam",
            "early_stopping": True,
            "learning_rate_init": 0.01,
            "n_iter_no_change": 3,
            "max_iter": 40,
        },
        True,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fit_matches_sklearn(case):
    task, params, weighted = CASES[case]
    X, y = problem(task)
    ours, theirs = make_pair(task, **params)
    sample_weight = None
    if weighted:
        sample_weight = np.random.RandomState(12).uniform(0.2, 3.0, size=len(y))

    ours.fit(X, y, **weight_kwargs(sample_weight))
    theirs.fit(X, y, **weight_kwargs(sample_weight))

    assert_fitted_equal(ours, theirs, X)
    if params.get("early_stopping"):
        # Stopped early, with the weights of the best epoch restored.
        assert ours.n_iter_ < params["max_iter"]
        assert len(ours.validation_scores_) == ours.n_iter_
        assert ours.best_validation_score_ == max(ours.validation_scores_)
        assert ours.best_loss_ is None
    if case in ("sgd-adaptive-binary", "adam-stops-on-tol"):
        assert ours.n_iter_ < params["max_iter"]
    if case == "sgd-adaptive-binary":
        assert ours._optimizer.learning_rate <= 1e-6
    if case == "lbfgs-converges":
        assert ours.n_iter_ < params["max_iter"]


@pytest.mark.parametrize("n_epochs", [1, 2, 5])
@pytest.mark.parametrize("batch_size", [1, 7, 150])
@pytest.mark.parametrize(
    "beta_1, beta_2", [(0.9, 0.999), (0.5, 0.9), (0.99, 0.9999), (0.0, 0.5)]
)
def test_adam_step_size_is_sklearns_to_the_bit(beta_1, beta_2, batch_size, n_epochs):
    # Adam's bias-corrected step size, computed in the epoch kernel once per
    # batch, must be the reference's float ** int and sqrt exactly: Cython's
    # `**` on doubles had computed it in complex arithmetic, off in the last
    # bit for some step counts.
    ours, theirs = make_pair(
        "multiclass",
        solver="adam",
        beta_1=beta_1,
        beta_2=beta_2,
        batch_size=batch_size,
        max_iter=n_epochs,
        hidden_layer_sizes=(3,),
    )
    X, y = problem("multiclass")
    ours.fit(X, y)
    theirs.fit(X, y)
    assert ours.t_ == theirs.t_
    assert ours._optimizer.learning_rate == theirs._optimizer.learning_rate


# Multi-output squared error: scikit-learn back-propagates n_outputs times
# the gradient of the loss it reports (its issue #8349), fastmlp the gradient
# itself. With k outputs, scikit-learn's step on (data gradient + alpha * W /
# n) is k times fastmlp's on (data gradient / k + (alpha / k) * W / n): SGD
# with k times the learning rate, and Adam (invariant to the gradient's scale
# but for epsilon) with epsilon / k, then take the same steps. So that is the
# whole difference: fitted weights, n_iter_ and validation scores agree.
MULTI_OUTPUT_CASES = {
    "sgd-nesterov": {"solver": "sgd", "learning_rate_init": 0.01},
    "sgd-invscaling-early-stopping": {
        "solver": "sgd",
        "learning_rate": "invscaling",
        "learning_rate_init": 0.05,
        "early_stopping": True,
        "n_iter_no_change": 2,
        "max_iter": 30,
    },
    "adam-weighted": {"solver": "adam", "learning_rate_init": 0.01, "epsilon": 1e-3},
    "adam-early-stopping": {
        "solver": "adam",
        "learning_rate_init": 0.05,
        "epsilon": 1e-8,
        "early_stopping": True,
        "n_iter_no_change": 2,
        "max_iter": 30,
    },
}


@pytest.mark.parametrize("case", list(MULTI_OUTPUT_CASES))
def test_multi_output_fit_is_sklearns_with_rescaled_step(
    case, sklearn_multi_output_step
):
    X, Y = make_regression(
        n_samples=120, n_features=8, n_targets=3, noise=5.0, random_state=1
    )
    Y = Y / Y.std(axis=0)
    n_outputs = Y.shape[1]
    sample_weight = None
    if case == "adam-weighted":
        sample_weight = np.random.RandomState(2).uniform(0.2, 3.0, size=len(Y))
    params = {"alpha": 0.3, "activation": "tanh", **MULTI_OUTPUT_CASES[case]}
    ours, theirs = make_pair("regression", **params)
    sklearn_multi_output_step(ours, n_outputs)

    ours.fit(X, Y, **weight_kwargs(sample_weight))
    theirs.fit(X, Y, **weight_kwargs(sample_weight))

    assert ours.n_iter_ == theirs.n_iter_
    if params.get("early_stopping"):
        assert ours.n_iter_ < params["max_iter"]
        assert_allclose(ours.validation_scores_, theirs.validation_scores_, **TOL)
    for ours_array, their_array in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert_allclose(ours_array, their_array, **TOL)
    assert_allclose(ours.predict(X), theirs.predict(X), **TOL)


def test_multi_output_fit_differs_from_sklearns_with_the_same_parameters():
    # The counterpart of the test above: left as they are, the parameters
    # give a different fit (the documented difference, not a coincidence).
    X, Y = make_regression(n_samples=120, n_features=8, n_targets=3, random_state=1)
    ours, theirs = make_pair("regression", solver="sgd", learning_rate_init=0.01)
    ours.fit(X, Y / Y.std(axis=0))
    theirs.fit(X, Y / Y.std(axis=0))
    assert not np.allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-3)


def test_random_state_instance_matches_sklearn():
    # A RandomState instance is used as is, so a second fit continues its
    # stream; both libraries must draw the same numbers in the same order.
    X, y = problem("multiclass")
    ours, theirs = make_pair(
        "multiclass", solver="sgd", random_state=None, early_stopping=True
    )
    ours.set_params(random_state=np.random.RandomState(3))
    theirs.set_params(random_state=np.random.RandomState(3))
    for _ in range(2):
        ours.fit(X, y)
        theirs.fit(X, y)
        assert_fitted_equal(ours, theirs, X)


@pytest.mark.parametrize(
    "task, params",
    [
        pytest.param("multiclass", {"solver": "sgd"}, id="sgd-multiclass"),
        pytest.param(
            "regression",
            {"solver": "adam", "learning_rate_init": 0.01},
            id="adam-regression",
        ),
        pytest.param("binary", {"solver": "lbfgs"}, id="lbfgs-binary"),
    ],
)
def test_warm_start_sequence_matches_sklearn(task, params):
    X, y = problem(task)
    ours, theirs = make_pair(task, warm_start=True, max_iter=4, **params)
    for max_iter in (4, 3, 6):
        ours.set_params(max_iter=max_iter)
        theirs.set_params(max_iter=max_iter)
        ours.fit(X, y)
        theirs.fit(X, y)
        assert_fitted_equal(ours, theirs, X)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_warm_start_with_early_stopping_restores_what_sklearn_does(task, solver):
    # scikit-learn ends an early-stopping fit with `coefs_ = _best_coefs`,
    # the same lists, which its optimizer then trains in place: a later
    # warm-start fit (or partial_fit) that never beats the carried-over best
    # score "restores" its own last weights. Fits on other rows (so other
    # validation splits), and pickling between them. (partial_fit cannot
    # follow: scikit-learn refuses early stopping there, or fails without.)
    X, y = problem(task)
    ours, theirs = make_pair(
        task,
        solver=solver,
        warm_start=True,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=1,
        tol=0.0,
        max_iter=3,
    )
    steps = [
        ("fit", slice(0, 150)),
        ("pickle", None),  # pickle keeps the lists shared
        ("fit", slice(0, 60)),
        ("fit", slice(60, 120)),
        ("fit", slice(30, 150)),
        ("fit", slice(0, 90)),
    ]
    fits_without_new_best = 0
    for step, rows in steps:
        if step == "pickle":
            ours, theirs = pickle.loads(pickle.dumps((ours, theirs)))
            continue
        best_before = getattr(theirs, "best_validation_score_", None)
        for model in (ours, theirs):
            model.fit(X[rows], y[rows])
        assert_fitted_equal(ours, theirs, X)
        if step == "fit" and theirs.best_validation_score_ == best_before:
            fits_without_new_best += 1
    assert fits_without_new_best >= 1  # the case this test is about


@pytest.mark.parametrize(
    "task, solver",
    [
        pytest.param("multiclass", "sgd", id="sgd-multiclass"),
        pytest.param("binary", "adam", id="adam-binary"),
        pytest.param("multilabel", "adam", id="adam-multilabel"),
        pytest.param("regression", "sgd", id="sgd-regression"),
        pytest.param("poisson", "adam", id="adam-poisson"),
    ],
)
def test_partial_fit_sequence_matches_sklearn(task, solver):
    X, y = problem(task)
    ours, theirs = make_pair(task, solver=solver, learning_rate_init=0.01)
    classes = {}
    if task in ("binary", "multiclass"):
        classes = {"classes": np.unique(y)}
    elif task == "multilabel":
        classes = {"classes": np.arange(y.shape[1])}  # required, then unused
    weights = np.random.RandomState(4).uniform(0.5, 2.0, size=len(y))
    for start in range(0, 120, 40):
        rows = slice(start, start + 40)
        kwargs = weight_kwargs(weights[rows]) if start == 40 else {}
        ours.partial_fit(X[rows], y[rows], **classes, **kwargs)
        theirs.partial_fit(X[rows], y[rows], **classes, **kwargs)
        assert_fitted_equal(ours, theirs, X)


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_partial_fit_reseeds_as_sklearn_when_random_state_changes(task):
    # Each call draws its shuffle from a generator in random_state's initial
    # state; fastmlp resets the one it made for that seed instead of seeding
    # a new one, which must stay invisible when the seed changes.
    X, y = problem(task)
    ours, theirs = make_pair(task, solver="sgd", learning_rate_init=0.01)
    classes = {"classes": np.unique(y)} if task == "multiclass" else {}
    for seed in (0, 0, 1, np.int64(1), "instance", 0):
        for model in (ours, theirs):
            if seed == "instance":  # one each: both draw from it
                model.set_params(random_state=np.random.RandomState(3))
            else:
                model.set_params(random_state=seed)
            model.partial_fit(X, y, **classes)
        classes = {}
        assert_fitted_equal(ours, theirs, X)


@pytest.mark.parametrize(
    "task, params",
    [
        pytest.param("multiclass", {"solver": "sgd"}, id="sgd-multiclass"),
        pytest.param("regression", {"solver": "adam"}, id="adam-regression"),
        pytest.param("binary", {"solver": "lbfgs", "max_iter": 20}, id="lbfgs-binary"),
        pytest.param(
            "multilabel",
            {"solver": "adam", "early_stopping": True},
            id="adam-early-stopping-multilabel",
        ),
    ],
)
def test_float32_trains_in_float32_close_to_float64(task, params):
    X, y = problem(task)
    X32 = X.astype(np.float32)
    ours32, theirs32 = make_pair(task, **params)
    ours64, _ = make_pair(task, **params)

    ours32.fit(X32, y)
    theirs32.fit(X32, y)
    ours64.fit(X, y)

    for array in ours32.coefs_ + ours32.intercepts_:
        assert array.dtype == np.float32
    output = ours32.predict_proba(X32) if hasattr(ours32, "classes_") else None
    if output is None:
        output = ours32.predict(X32)
    assert output.dtype == np.float32
    assert ours32.n_iter_ == ours64.n_iter_ == theirs32.n_iter_
    loose = {"rtol": 1e-3, "atol": 1e-4}
    for ours_array, array64, their_array in zip(
        ours32.coefs_, ours64.coefs_, theirs32.coefs_, strict=True
    ):
        assert_allclose(ours_array, array64, **loose)
        assert_allclose(ours_array, their_array, **loose)
    assert_allclose(ours32.loss_, ours64.loss_, rtol=1e-4)
