# SPDX-License-Identifier: BSD-3-Clause
"""Dropout of the hidden layers (``dropout=``, not in scikit-learn).

The kernels drop units by hashing (epoch key, sample, layer, unit) in C; the
NumPy baseline computes the same masks with uint64 arrays
(fastmlp/_dropout.py). So whole fits are compared with the baseline's, on
each epoch path (a batch split between threads, each product split, CSR
input), every hidden activation and both dtypes; the gradient of one step is
checked against central differences of the masked loss.
"""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._dropout import dropout_seed, epoch_key, kept_units
from fastmlp.numpy_baseline import (
    BaselineMLPClassifier,
    BaselineMLPRegressor,
    DropoutMasks,
    Network,
    ParamLayout,
    init_params,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:Stochastic Optimizer.*:UserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

# Round-off of the same arithmetic in another order, after a few epochs:
# float32 weights differed by at most 4e-6 here, float64 by 3e-15.
TOL = {
    np.dtype(np.float64): {"rtol": 1e-9, "atol": 1e-11},
    np.dtype(np.float32): {"rtol": 1e-4, "atol": 2e-5},
}


def _regression(dtype, n_samples=300):
    X, y = make_regression(n_samples, 8, noise=1.0, random_state=0)
    return X.astype(dtype), y / y.std()


def _weights(model):
    return model.coefs_ + model.intercepts_


def _assert_same_weights(fast, baseline, dtype):
    for a, b in zip(_weights(fast), _weights(baseline), strict=True):
        assert a.dtype == dtype
        assert_allclose(a, b, **TOL[np.dtype(dtype)])


# One network per epoch path: a batch split by rows between threads (up to
# 65536 parameters), each product split (more), two hidden layers.
NETWORKS = {"split-batch": (30,), "two-hidden": (40, 20), "split-product": (300, 240)}


@pytest.mark.parametrize("hidden", list(NETWORKS.values()), ids=list(NETWORKS))
@pytest.mark.parametrize("n_threads", [1, 2])
def test_regressor_matches_the_numpy_baseline(
    hidden, n_threads, hidden_activation, dtype
):
    X, y = _regression(dtype)
    params = dict(
        hidden_layer_sizes=hidden,
        activation=hidden_activation,
        max_iter=3,
        random_state=0,
        dropout=0.3,
    )
    with threadpool_limits(n_threads, user_api="openmp"):
        fast = MLPRegressor(**params).fit(X, y)
    baseline = BaselineMLPRegressor(**params).fit(X, y)
    _assert_same_weights(fast, baseline, dtype)
    assert_allclose(fast.loss_curve_, baseline.loss_curve_, rtol=1e-5)
    # Prediction drops nothing: the same weights give the same outputs.
    assert_allclose(fast.predict(X), baseline.predict(X), **TOL[np.dtype(dtype)])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_classifier_matches_the_numpy_baseline(solver, shuffle, sparse, dtype):
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    weights = np.random.RandomState(0).uniform(0.5, 2.0, X.shape[0])
    params = dict(
        hidden_layer_sizes=(32, 16),
        solver=solver,
        shuffle=shuffle,
        max_iter=4,
        random_state=0,
        dropout=0.5,
    )
    fast = MLPClassifier(**params).fit(X, y, sample_weight=weights)
    baseline = BaselineMLPClassifier(**params).fit(X, y, sample_weight=weights)
    _assert_same_weights(fast, baseline, dtype)
    assert_array_equal(fast.predict(X[:200]), baseline.predict(X[:200]))


def test_binary_classifier_matches_the_numpy_baseline():
    X, y = make_classification(400, 10, random_state=0)
    params = dict(hidden_layer_sizes=(20,), max_iter=5, random_state=3, dropout=0.2)
    fast = MLPClassifier(**params).fit(X, y)
    baseline = BaselineMLPClassifier(**params).fit(X, y)
    _assert_same_weights(fast, baseline, np.float64)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "softplus"])
@pytest.mark.parametrize("hidden", [(7,), (6, 5)])
def test_one_step_is_the_gradient_of_the_masked_loss(activation, hidden):
    # One full-batch SGD step with lr 1 and no momentum or penalty moves the
    # weights by minus the gradient the kernel computed. It must be the
    # central-difference gradient of the loss under the epoch's masks (the
    # smooth activations only: relu's kink spoils differences).
    X, y = make_regression(24, 4, noise=1.0, random_state=1)
    y = y / y.std()
    rate = 0.4
    model = MLPRegressor(
        hidden_layer_sizes=hidden,
        activation=activation,
        solver="sgd",
        learning_rate_init=1.0,
        momentum=0.0,
        alpha=0.0,
        batch_size=X.shape[0],
        shuffle=False,
        max_iter=1,
        random_state=0,
        dropout=rate,
    ).fit(X, y)
    units = [X.shape[1], *hidden, 1]
    rng = np.random.RandomState(0)
    network = Network(units, activation, "identity", "squared_error")
    network.params[...] = init_params(network.layout, activation, rng, np.float64)
    start = network.params.copy()
    masks = DropoutMasks(
        rate,
        epoch_key(dropout_seed(rng), 0),
        np.arange(X.shape[0]),
        len(units) - 1,
        np.float64,
    )
    kernel_grad = start - ParamLayout(units).pack(
        model.coefs_, model.intercepts_, np.float64
    )

    def loss(params):
        network.params[...] = params
        return network.loss_and_grad(X, y, 0.0, None, masks)

    numerical = np.empty_like(start)
    h = 1e-6
    for k in range(start.size):
        step = np.zeros_like(start)
        step[k] = h
        numerical[k] = (loss(start + step)[0] - loss(start - step)[0]) / (2 * h)
    assert_allclose(kernel_grad, numerical, rtol=1e-5, atol=1e-8)
    # And the oracle's own analytic gradient.
    assert_allclose(loss(start)[1], numerical, rtol=1e-5, atol=1e-8)
    # Dropping changed the gradient: the masks were applied.
    plain = network.loss_and_grad(X, y, 0.0)[1]
    assert np.abs(plain - kernel_grad).max() > 1e-3


def test_masks_drop_the_rate_and_differ_between_epochs_layers_and_samples():
    rate = 0.3
    samples = np.arange(20000)
    kept = kept_units(epoch_key(12345, 0), samples, 1, 3, 50, rate)
    # Binomial over a million units: five standard deviations.
    sigma = np.sqrt(rate * (1 - rate) / kept.size)
    assert abs((~kept).mean() - rate) < 5 * sigma
    # Independent masks agree on p^2 + (1 - p)^2 of the units.
    agree = rate**2 + (1 - rate) ** 2
    others = [
        kept_units(epoch_key(12345, 20000), samples, 1, 3, 50, rate),  # next epoch
        kept_units(epoch_key(12345, 0), samples, 2, 3, 50, rate),  # next layer
        kept_units(epoch_key(12345, 0), samples + 1, 1, 3, 50, rate),  # next rows
        kept_units(epoch_key(54321, 0), samples, 1, 3, 50, rate),  # another seed
    ]
    for other in others:
        assert abs((kept == other).mean() - agree) < 0.005
    # A unit's column and a sample's row are not constant either.
    assert 0.25 < (~kept[:, 0]).mean() < 0.35
    assert kept.all(axis=1).mean() < 0.01


def test_dropout_changes_the_fit_and_zero_is_the_plain_fit():
    X, y = _regression(np.float64)
    params = dict(hidden_layer_sizes=(30,), max_iter=3, random_state=0)
    plain = MLPRegressor(**params).fit(X, y)
    zero = MLPRegressor(**params, dropout=0.0).fit(X, y)
    dropped = MLPRegressor(**params, dropout=0.1).fit(X, y)
    for a, b in zip(_weights(plain), _weights(zero), strict=True):
        assert_array_equal(a, b)
    for a, c in zip(plain.coefs_, dropped.coefs_, strict=True):
        assert np.abs(a - c).max() > 1e-4


def test_same_random_state_same_fit_and_thread_counts_agree(dtype):
    X, y = _regression(dtype)
    params = dict(hidden_layer_sizes=(60,), max_iter=4, random_state=7, dropout=0.25)
    first = MLPRegressor(**params).fit(X, y)
    second = MLPRegressor(**params).fit(X, y)
    with threadpool_limits(1, user_api="openmp"):
        one_thread = MLPRegressor(**params).fit(X, y)
    for a, b, c in zip(
        _weights(first), _weights(second), _weights(one_thread), strict=True
    ):
        assert_array_equal(a, b)
        assert_allclose(a, c, **TOL[np.dtype(dtype)])
    other_seed = MLPRegressor(**{**params, "random_state": 8}).fit(X, y)
    assert np.abs(first.coefs_[0] - other_seed.coefs_[0]).max() > 1e-3


def test_dropout_draws_nothing_from_the_random_state():
    # The masks' seed is derived from the generator's state, not drawn: the
    # generator ends where the fit without dropout leaves it, so the initial
    # weights and every shuffle are the same.
    X, y = _regression(np.float64)
    states = []
    for rate in (0.0, 0.5):
        rng = np.random.RandomState(3)
        MLPRegressor(
            hidden_layer_sizes=(10,), max_iter=3, random_state=rng, dropout=rate
        ).fit(X, y)
        states.append(rng.get_state())
    assert_array_equal(states[0][1], states[1][1])
    assert states[0][2] == states[1][2]


def test_early_stopping_scores_without_dropout(early_stopping_rows):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    best = {}

    def keep_best(model):
        # The validation score the fit just recorded, for the weights now.
        if model.validation_scores_[-1] == model.best_validation_score_:
            best["accuracy"] = model.validation_scores_[-1]
            best["coefs"] = [c.copy() for c in model.coefs_ + model.intercepts_]

    model = MLPClassifier(
        hidden_layer_sizes=(40,),
        early_stopping=True,
        max_iter=15,
        random_state=0,
        dropout=0.5,
        callbacks=keep_best,
    ).fit(X, y)
    val = early_stopping_rows(y, [64, 40, 10], 0.1, stratify=False)
    # The restored best weights score, without dropout, what was recorded.
    assert model.best_validation_score_ == best["accuracy"]
    for a, b in zip(_weights(model), best["coefs"], strict=True):
        assert_array_equal(a, b)
    assert model.score(X[val], y[val]) == best["accuracy"]
    assert best["accuracy"] > 0.8


def test_partial_fit_trains_with_dropout_and_repeats():
    X, y = _regression(np.float64)
    params = dict(hidden_layer_sizes=(20,), random_state=0)
    models = [MLPRegressor(**params, dropout=0.3) for _ in range(2)]
    plain = MLPRegressor(**params)
    for _ in range(3):
        for model in (*models, plain):
            model.partial_fit(X, y)
    assert models[0].t_ == 3 * X.shape[0]
    # The same calls give the same weights; without dropout, others.
    for a, b in zip(_weights(models[0]), _weights(models[1]), strict=True):
        assert_array_equal(a, b)
    assert np.abs(models[0].coefs_[0] - plain.coefs_[0]).max() > 1e-4


def test_dropout_still_learns_digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
    model = MLPClassifier(
        hidden_layer_sizes=(128,), max_iter=80, random_state=0, dropout=0.3
    ).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.95
    # Training loss is reported with units dropped, so it stays above the
    # loss of the same weights without dropout.
    clean_loss = -np.mean(
        np.log(model.predict_proba(X_train)[np.arange(len(y_train)), y_train])
    )
    assert model.loss_ > clean_loss


def test_lbfgs_refuses_dropout():
    X, y = _regression(np.float64)
    with pytest.raises(ValueError, match="dropout=0.2 needs solver='sgd' or 'adam'"):
        MLPRegressor(solver="lbfgs", dropout=0.2).fit(X, y)
    # Zero is the default and fine.
    MLPRegressor(solver="lbfgs", dropout=0.0, max_iter=5).fit(X, y)


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5, float("nan"), "0.5", None])
def test_bad_dropout_is_refused(rate):
    X, y = _regression(np.float64)
    with pytest.raises(InvalidParameterError, match="'dropout' parameter"):
        MLPRegressor(dropout=rate).fit(X, y)


def test_dropout_is_a_grid_search_parameter_and_survives_pickle():
    X, y = load_digits(return_X_y=True)
    X = X[:600] / 16.0
    y = y[:600]
    search = GridSearchCV(
        MLPClassifier(hidden_layer_sizes=(20,), max_iter=5, random_state=0),
        {"dropout": [0.0, 0.3]},
        cv=2,
    ).fit(X, y)
    assert [p["dropout"] for p in search.cv_results_["params"]] == [0.0, 0.3]
    # The two candidates trained differently.
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]
    model = MLPClassifier(hidden_layer_sizes=(20,), max_iter=5, dropout=0.3).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.dropout == 0.3
    assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_default_epoch_kernels_are_built_without_dropout(monkeypatch):
    # Fits without dropout run kernels with the dropout branches compiled
    # out (src_c/_dropout.h); asked to drop, they refuse rather than train
    # without masks. The estimator sends dropout fits to _epoch_dropout.
    from fastmlp import _compiled, _engine

    X, y = _regression(np.float64, n_samples=50)
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=1, dropout=0.3)
    monkeypatch.setattr(_engine, "_epoch_dropout", _compiled.epoch)
    with pytest.raises(ValueError, match="dropout needs the _epoch_dropout kernels"):
        model.fit(X, y)
    monkeypatch.undo()
    model.fit(X, y)
