# SPDX-License-Identifier: BSD-3-Clause
"""fastmlp inside scikit-learn's tooling: Pipeline, GridSearchCV, cross_val_score.

Because fastmlp fits what scikit-learn's MLP fits, swapping one for the other
inside a meta-estimator must not change its results: the scores below are
compared with the same tool run on scikit-learn's estimators.
"""

import pickle
from functools import cache

import pytest
import sklearn.neural_network as sk_nn
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

PARAMS = {"hidden_layer_sizes": (10,), "max_iter": 30, "random_state": 0}


@cache
def classification():
    X, y = load_digits(return_X_y=True)
    return X[:200], y[:200]


@cache
def regression():
    X, y = make_regression(n_samples=150, n_features=6, noise=4.0, random_state=1)
    return X * [1, 10, 100, 0.1, 1, 5], y  # unscaled features: the scaler matters


TASKS = {
    # id -> (data, fastmlp estimator, scikit-learn estimator, extra params)
    "classifier": (
        classification,
        fastmlp.MLPClassifier,
        sk_nn.MLPClassifier,
        {"solver": "adam", "learning_rate_init": 0.01},
    ),
    "regressor": (
        regression,
        fastmlp.MLPRegressor,
        sk_nn.MLPRegressor,
        {"solver": "lbfgs", "max_iter": 15},
    ),
}


def task(name):
    data, ours, theirs, params = TASKS[name]
    X, y = data()
    params = {**PARAMS, **params}
    return X, y, ours(**params), theirs(**params)


@pytest.mark.parametrize("name", list(TASKS))
def test_pipeline_equals_scaler_then_model(name):
    X, y, model, _ = task(name)
    pipeline = Pipeline([("scale", StandardScaler()), ("mlp", clone(model))])

    pipeline.fit(X, y)
    X_scaled = StandardScaler().fit_transform(X)
    model.fit(X_scaled, y)

    assert_array_equal(pipeline.predict(X), model.predict(X_scaled))
    assert pipeline.named_steps["mlp"].n_features_in_ == X.shape[1]
    assert pipeline.score(X, y) > 0.8  # accuracy or R^2 on the training set


@pytest.mark.parametrize("name", list(TASKS))
def test_grid_search_matches_sklearn_mlp(name):
    X, y, model, sk_model = task(name)
    grid = {"mlp__hidden_layer_sizes": [(5,), (10,)], "mlp__alpha": [1e-4, 1.0]}
    cv = KFold(3, shuffle=True, random_state=0)
    searches = [
        GridSearchCV(Pipeline([("scale", StandardScaler()), ("mlp", mlp)]), grid, cv=cv)
        for mlp in (model, sk_model)
    ]
    for search in searches:
        search.fit(X, y)
    ours, theirs = searches

    assert ours.best_params_ == theirs.best_params_
    assert_allclose(
        ours.cv_results_["mean_test_score"],
        theirs.cv_results_["mean_test_score"],
        rtol=1e-9,
    )
    assert isinstance(ours.best_estimator_[-1], type(model))
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(TASKS))
def test_cross_val_score_matches_sklearn_mlp(name):
    X, y, model, sk_model = task(name)
    cv = KFold(4, shuffle=True, random_state=2)

    scores = cross_val_score(make_pipeline(StandardScaler(), model), X, y, cv=cv)
    expected = cross_val_score(make_pipeline(StandardScaler(), sk_model), X, y, cv=cv)

    assert scores.shape == (4,)
    assert_allclose(scores, expected, rtol=1e-9)


def test_cross_val_score_in_concurrent_threads_matches_serial():
    # Folds fitted at once in two Python threads: the kernels release the
    # GIL and share nothing between fits, so the scores cannot depend on
    # which fold ran beside which.
    X, y, model, _ = task("classifier")
    pipeline = make_pipeline(StandardScaler(), model)
    cv = KFold(4, shuffle=True, random_state=3)

    serial = cross_val_score(pipeline, X, y, cv=cv, n_jobs=1)
    with parallel_config(backend="threading", n_jobs=2):
        concurrent = cross_val_score(pipeline, X, y, cv=cv)

    assert_array_equal(concurrent, serial)


@pytest.mark.parametrize("name", list(TASKS))
def test_pickled_pipeline_predicts_and_refits_identically(name):
    X, y, model, _ = task(name)
    pipeline = make_pipeline(StandardScaler(), model).fit(X, y)

    restored = pickle.loads(pickle.dumps(pipeline))

    assert_array_equal(restored.predict(X), pipeline.predict(X))
    assert restored.score(X, y) == pipeline.score(X, y)
    restored.fit(X[::-1], y[::-1])
    refitted = clone(pipeline).fit(X[::-1], y[::-1])
    assert_array_equal(restored.predict(X), refitted.predict(X))
