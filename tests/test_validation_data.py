# SPDX-License-Identifier: BSD-3-Clause
"""fit(..., X_val=, y_val=, sample_weight_val=) and validation_loss_curve_.

Not in scikit-learn's MLP; the arguments follow its HistGradientBoosting.
Everything goes through the public API; references are recomputed from
weights captured by a callback, with fastmlp.numpy_baseline's network.
"""

import inspect
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_digits,
    make_multilabel_classification,
    make_regression,
)
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp import numpy_baseline as nb

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# A whole forward pass, kernel against NumPy: float32 drifts by a few ulps
# per layer and per summed row.
RTOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-11}


# ----------------------------------------------------------------- helpers


def _digits(n_classes=10):
    """(X_train, y_train, X_val, y_val): 240 and 90 rows of scaled digits."""
    X, y = load_digits(n_class=n_classes, return_X_y=True)
    X = X / 16.0
    return X[:240], y[:240], X[240:330], y[240:330]


def _task(task, dtype=np.float64):
    """(estimator class, loss params, X, y, X_val, y_val) of a small problem."""
    if task in ("binary", "multiclass"):
        X, y, X_val, y_val = _digits(2 if task == "binary" else 10)
        return MLPClassifier, {}, X.astype(dtype), y, X_val.astype(dtype), y_val
    if task == "multilabel":
        X, Y = make_multilabel_classification(
            n_samples=230, n_features=8, n_classes=3, random_state=0
        )
        X = (X / X.max()).astype(dtype)
        return MLPClassifier, {}, X[:150], Y[:150], X[150:], Y[150:]
    n_targets = 2 if task == "multioutput" else 1
    X, y = make_regression(
        n_samples=230, n_features=6, n_targets=n_targets, noise=1.0, random_state=0
    )
    y = y / y.std()
    if task == "poisson":
        y = np.random.RandomState(0).poisson(np.exp(0.3 * X[:, 0]))
    X = X.astype(dtype)
    params = {"loss": "poisson"} if task == "poisson" else {}
    return MLPRegressor, params, X[:150], y[:150], X[150:], y[150:]


def _model(cls=MLPClassifier, **params):
    defaults = {
        "hidden_layer_sizes": (8,),
        "max_iter": 5,
        "random_state": 0,
        "learning_rate_init": 0.01,
    }
    return cls(**{**defaults, **params})


def _weights(model):
    return [w.copy() for w in model.coefs_ + model.intercepts_]


def _assert_same_weights(a, b):
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        assert wa.dtype == wb.dtype
        assert_array_equal(wa, wb)


class Capture:
    """Keeps the weights and validation attributes seen after each epoch."""

    def __init__(self):
        self.weights = []
        self.scores = []
        self.losses = []
        self.n_iter = []

    def __call__(self, model):
        self.weights.append(_weights(model))
        self.scores.append(list(model.validation_scores_))
        self.losses.append(list(model.validation_loss_curve_))
        self.n_iter.append(model.n_iter_)


def _baseline_targets(model, y):
    """y as the (n, n_outputs) float targets of the network's loss."""
    if not hasattr(model, "classes_"):
        return np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if np.ndim(y) == 2:  # multilabel indicator
        return np.asarray(y, dtype=np.float64)
    if len(model.classes_) == 2:
        return (np.asarray(y) == model.classes_[1]).astype(np.float64)[:, None]
    return (np.asarray(y)[:, None] == model.classes_).astype(np.float64)


_BASELINE_LOSS = {
    "softmax": "log_loss",
    "logistic": "binary_log_loss",
    "identity": "squared_error",
    "exp": "poisson",
}


def _reference(model, weights, X_val, y_val, sample_weight_val, scale):
    """(score, loss) of `weights` on the validation rows, recomputed in NumPy.

    loss: the data term of numpy_baseline's network (alpha=0), weighted by
    sample_weight_val, plus alpha / 2 * ||W||^2 * scale.
    """
    dtype = weights[0].dtype
    units = [weights[0].shape[0]] + [w.shape[1] for w in weights if w.ndim == 2]
    net = nb.Network(
        units,
        model.activation,
        model.out_activation_,
        _BASELINE_LOSS[model.out_activation_],
        dtype,
    )
    n_layers = len(units) - 1
    net.params[...] = nb.ParamLayout(units).pack(
        weights[:n_layers], weights[n_layers:], dtype
    )
    X_val = np.asarray(X_val, dtype=dtype)
    Y = _baseline_targets(model, y_val)
    sw = None if sample_weight_val is None else np.asarray(sample_weight_val, dtype)
    data, _ = net.loss_and_grad(X_val, Y, 0.0, sw)
    coef_sq = sum(
        float(np.sum(np.square(w, dtype=np.float64))) for w in weights[:n_layers]
    )
    loss = data + 0.5 * model.alpha * coef_sq * scale
    out = net.forward(X_val)
    if hasattr(model, "classes_"):
        if np.ndim(y_val) == 2:
            y_pred = (out > 0.5).astype(int)
        elif out.shape[1] == 1:
            y_pred = model.classes_[(out[:, 0] > 0.5).astype(int)]
        else:
            y_pred = model.classes_[out.argmax(axis=1)]
        score = accuracy_score(y_val, y_pred, sample_weight=sample_weight_val)
    else:
        y_pred = out.ravel() if out.shape[1] == 1 else out
        score = r2_score(y_val, y_pred, sample_weight=sample_weight_val)
    return score, loss


def _batches_scale(n_rows, batch_size):
    """loss_curve_'s penalty factor without sample weights: n_batches / n."""
    return -(-n_rows // batch_size) / n_rows


# ------------------------------------------------------------------ errors


def _bad_inputs():
    X, y, X_val, y_val = _digits()
    nan = X_val.copy()
    nan[3, 5] = np.nan
    inf = X_val.copy()
    inf[0, 0] = np.inf
    unseen = y_val.copy()
    unseen[4] = 10
    n_val = len(y_val)
    return {
        "X_val-without-y_val": ({"X_val": X_val}, "y_val was not provided"),
        "y_val-without-X_val": ({"y_val": y_val}, "X_val was not provided"),
        "sample_weight_val-alone": (
            {"sample_weight_val": np.ones(n_val)},
            "X_val and y_val were not provided",
        ),
        "n_features": (
            {"X_val": X_val[:, :5], "y_val": y_val},
            "X_val has 5 features, but X has 64",
        ),
        "nan": ({"X_val": nan, "y_val": y_val}, "Input X_val contains NaN"),
        "inf": ({"X_val": inf, "y_val": y_val}, "Input X_val contains infinity"),
        "one-row": (
            {"X_val": X_val[:1], "y_val": y_val[:1]},
            "X_val has 1 sample; validation scores need at least 2",
        ),
        "unseen-label": (
            {"X_val": X_val, "y_val": unseen},
            r"y_val has labels not seen in y: \[10\]",
        ),
        "y_val-length": (
            {"X_val": X_val, "y_val": y_val[:-1]},
            f"X_val has {n_val} samples, but y_val has {n_val - 1}",
        ),
        "y_val-2d": (
            {"X_val": X_val, "y_val": np.c_[y_val, y_val]},
            "one label per sample",
        ),
        "sample_weight_val-length": (
            {"X_val": X_val, "y_val": y_val, "sample_weight_val": np.ones(3)},
            f"sample_weight_val has 3 values, but X_val has {n_val}",
        ),
        "sample_weight_val-negative": (
            {
                "X_val": X_val,
                "y_val": y_val,
                "sample_weight_val": np.r_[-1.0, np.ones(n_val - 1)],
            },
            "Negative values in data passed to `sample_weight_val`",
        ),
        "sample_weight_val-nan": (
            {
                "X_val": X_val,
                "y_val": y_val,
                "sample_weight_val": np.r_[np.nan, np.ones(n_val - 1)],
            },
            "sample_weight_val: Input sample_weight contains NaN",
        ),
        "sample_weight_val-zero": (
            {"X_val": X_val, "y_val": y_val, "sample_weight_val": np.zeros(n_val)},
            "Invalid sample_weight_val: Sample weights must contain at least one",
        ),
    }


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_validation_data_is_refused(case, solver):
    X, y, _, _ = _digits()
    kwargs, message = BAD_INPUTS[case]
    with pytest.raises(ValueError, match=message):
        _model(solver=solver).fit(X, y, **kwargs)


def test_bad_regression_and_multilabel_targets_are_refused():
    _, _, X, y, X_val, y_val = _task("multioutput")
    with pytest.raises(ValueError, match="y_val has 1 outputs, but y has 2"):
        _model(MLPRegressor).fit(X, y, X_val=X_val, y_val=y_val[:, 0])
    bad = y_val.copy()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input y_val contains NaN"):
        _model(MLPRegressor).fit(X, y, X_val=X_val, y_val=bad)

    _, params, X, y, X_val, y_val = _task("poisson")
    with pytest.raises(ValueError, match="y_val are negative"):
        _model(MLPRegressor, **params).fit(X, y, X_val=X_val, y_val=y_val - 5.0)

    _, _, X, Y, X_val, Y_val = _task("multilabel")
    with pytest.raises(ValueError, match="label-indicator matrix with 3 columns"):
        _model().fit(X, Y, X_val=X_val, y_val=Y_val[:, :2])
    with pytest.raises(ValueError, match="label-indicator matrix with 3 columns"):
        _model().fit(X, Y, X_val=X_val, y_val=Y_val[:, 0])


# ------------------------------------------------- the default path, unchanged


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_without_validation_data_nothing_changes(solver, early_stopping):
    X, y, _, _ = _digits()
    plain = _model(solver=solver, early_stopping=early_stopping).fit(X, y)
    named = _model(solver=solver, early_stopping=early_stopping).fit(
        X, y, X_val=None, y_val=None, sample_weight_val=None
    )
    _assert_same_weights(plain, named)
    for name in ["n_iter_", "loss_", "best_loss_", "loss_curve_", "validation_scores_"]:
        assert getattr(plain, name, None) == getattr(named, name, None), name
    if solver == "lbfgs" or not early_stopping:
        assert plain.validation_loss_curve_ is None


def test_held_out_early_stopping_still_matches_scikit_learn():
    # The held-out share now also records validation_loss_curve_; every
    # other result is still scikit-learn's.
    X, y, _, _ = _digits()
    params = {
        "hidden_layer_sizes": (8,),
        "max_iter": 6,
        "random_state": 0,
        "early_stopping": True,
    }
    ours = MLPClassifier(**params).fit(X, y)
    theirs = SkMLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-12)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    for a, b in zip(_weights(ours), theirs.coefs_ + theirs.intercepts_, strict=True):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert len(ours.validation_loss_curve_) == ours.n_iter_


# ----------------------------------------- early_stopping=False: only records


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_recording_does_not_change_training(solver):
    X, y, X_val, y_val = _digits()
    # A high tol makes the stochastic solvers stop early, so n_iter_ is tested.
    params = {"solver": solver, "max_iter": 30, "tol": 0.05, "n_iter_no_change": 2}
    plain = _model(**params).fit(X, y)
    recorded = _model(**params).fit(X, y, X_val=X_val, y_val=y_val)
    _assert_same_weights(plain, recorded)
    assert plain.n_iter_ == recorded.n_iter_
    assert plain.loss_ == recorded.loss_
    if solver != "lbfgs":
        assert plain.n_iter_ < 30
        assert plain.loss_curve_ == recorded.loss_curve_
        assert plain.t_ == recorded.t_
        assert plain.best_loss_ == recorded.best_loss_
    assert len(recorded.validation_scores_) == recorded.n_iter_
    assert len(recorded.validation_loss_curve_) == recorded.n_iter_
    # The weights kept are the last ones, whatever their score.
    assert recorded.best_validation_score_ is None


# ------------------------------------------- early_stopping=True on X_val


def _expected_stop(scores, tol, n_iter_no_change, max_iter):
    """The epoch at which adam's early stopping ends, from the scores."""
    best, count = -np.inf, 0
    for epoch, score in enumerate(scores, start=1):
        count = count + 1 if score < best + tol else 0
        best = max(best, score)
        if count > n_iter_no_change:
            return epoch
    return max_iter


def test_early_stopping_on_validation_data_equals_a_manual_reference():
    X, y, X_val, y_val = _digits()
    sw_val = np.random.RandomState(1).uniform(0.1, 2.0, len(y_val))
    params = {"max_iter": 40, "n_iter_no_change": 3, "tol": 0.02, "alpha": 0.01}
    capture = Capture()
    model = _model(early_stopping=True, callbacks=capture, **params).fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=sw_val
    )
    assert 3 < model.n_iter_ < 40
    # Every row of X trained: one batch of 200, one of 40, no held-out share.
    assert model.t_ == model.n_iter_ * len(y)
    scale = _batches_scale(len(y), 200)
    expected = [
        _reference(model, w, X_val, y_val, sw_val, scale) for w in capture.weights
    ]
    assert model.validation_scores_ == pytest.approx([s for s, _ in expected])
    assert_allclose(model.validation_loss_curve_, [v for _, v in expected], rtol=1e-11)
    assert model.n_iter_ == _expected_stop(
        model.validation_scores_, params["tol"], params["n_iter_no_change"], 40
    )
    # The best epoch's weights are restored.
    best = int(np.argmax(model.validation_scores_))
    assert model.best_validation_score_ == model.validation_scores_[best]
    for kept, seen in zip(_weights(model), capture.weights[best], strict=True):
        assert_array_equal(kept, seen)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_early_stopping_on_validation_data_trains_like_recording(solver):
    # No split draws from the random state: until it stops, an early-stopped
    # fit is the fit that only records.
    X, y, X_val, y_val = _digits()
    params = {"solver": solver, "max_iter": 40, "n_iter_no_change": 2, "tol": 0.05}
    stopped = _model(early_stopping=True, **params).fit(X, y, X_val=X_val, y_val=y_val)
    recorded = _model(**{**params, "n_iter_no_change": 1000}).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    n = stopped.n_iter_
    assert n < 40
    assert stopped.loss_curve_ == recorded.loss_curve_[:n]
    assert stopped.validation_scores_ == recorded.validation_scores_[:n]
    assert stopped.validation_loss_curve_ == recorded.validation_loss_curve_[:n]


def test_validation_fraction_is_ignored_with_validation_data():
    X, y, X_val, y_val = _digits()
    a = _model(early_stopping=True, validation_fraction=0.1)
    b = _model(early_stopping=True, validation_fraction=0.5)
    a.fit(X, y, X_val=X_val, y_val=y_val)
    b.fit(X, y, X_val=X_val, y_val=y_val)
    _assert_same_weights(a, b)
    assert a.validation_scores_ == b.validation_scores_


# --------------------------------------- validation_loss_curve_ by recomputing

TASKS = ["binary", "multiclass", "multilabel", "regression", "multioutput", "poisson"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_curves_equal_a_recomputation(solver, task, dtype):
    cls, params, X, y, X_val, y_val = _task(task, dtype)
    capture = Capture()
    model = _model(
        cls, solver=solver, alpha=0.05, batch_size=64, callbacks=capture, **params
    )
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert model.coefs_[0].dtype == dtype
    scale = _batches_scale(len(X), 64)
    expected = [
        _reference(model, w, X_val, y_val, None, scale) for w in capture.weights
    ]
    rtol = RTOL[np.dtype(dtype)]
    assert len(model.validation_loss_curve_) == len(model.loss_curve_) == 5
    assert_allclose(model.validation_loss_curve_, [v for _, v in expected], rtol=rtol)
    assert_allclose(model.validation_scores_, [s for s, _ in expected], rtol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("task", ["multiclass", "multioutput"])
def test_lbfgs_records_every_iteration(task, dtype):
    cls, params, X, y, X_val, y_val = _task(task, dtype)
    sample_weight = np.random.RandomState(0).uniform(0.5, 1.5, len(X))
    capture = Capture()
    model = _model(
        cls, solver="lbfgs", max_iter=6, alpha=0.05, callbacks=capture, **params
    ).fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)
    assert model.n_iter_ == len(capture.weights) == 6
    assert len(model.validation_scores_) == len(model.validation_loss_curve_) == 6
    assert not hasattr(model, "loss_curve_")  # as in scikit-learn
    assert model.best_validation_score_ is None
    # L-BFGS charges the penalty once, over the total training weight.
    scale = 1.0 / sample_weight.sum()
    expected = [
        _reference(model, w, X_val, y_val, None, scale) for w in capture.weights
    ]
    rtol = RTOL[np.dtype(dtype)]
    assert_allclose(model.validation_loss_curve_, [v for _, v in expected], rtol=rtol)
    assert_allclose(model.validation_scores_, [s for s, _ in expected], rtol=rtol)
    # A refit without validation data records none.
    refit = clone(model).set_params(warm_start=True, callbacks=None)
    refit.fit(X, y, X_val=X_val, y_val=y_val).fit(X, y)
    assert refit.validation_scores_ is None
    assert refit.validation_loss_curve_ is None
    # early_stopping is ignored by 'lbfgs', with validation data too.
    stopped = _model(cls, solver="lbfgs", max_iter=6, alpha=0.05, **params)
    stopped.set_params(early_stopping=True)
    stopped.fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)
    _assert_same_weights(model, stopped)
    assert stopped.validation_loss_curve_ == model.validation_loss_curve_


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_saturated_probabilities_are_clipped_as_in_the_training_loss(task):
    # Inputs scaled far out drive some probabilities to exactly 0 or 1; the
    # log loss clips them at the dtype's eps, as loss_curve_'s does.
    cls, params, X, y, X_val, y_val = _task(task)
    X_val = X_val * 1e4
    capture = Capture()
    model = _model(callbacks=capture).fit(X, y, X_val=X_val, y_val=y_val)
    assert np.isfinite(model.validation_loss_curve_).all()
    scale = _batches_scale(len(X), 200)
    expected = [
        _reference(model, w, X_val, y_val, None, scale)[1] for w in capture.weights
    ]
    assert_allclose(model.validation_loss_curve_, expected, rtol=1e-11)


def test_held_out_rows_get_a_loss_curve_too():
    X, y, _, _ = _digits()
    capture = Capture()
    model = _model(early_stopping=True, alpha=0.05, callbacks=capture).fit(X, y)
    # The held-out rows, drawn as fit draws them: after the initial weights,
    # not stratified (scikit-learn stratifies single-output targets only).
    random_state = np.random.RandomState(0)
    nb.init_params(nb.ParamLayout([64, 8, 10]), "relu", random_state, np.float64)
    train, val = train_test_split(
        np.arange(len(y)), random_state=random_state, test_size=0.1
    )
    scale = _batches_scale(len(train), 200)
    expected = [
        _reference(model, w, X[val], y[val], None, scale) for w in capture.weights
    ]
    assert model.validation_scores_ == pytest.approx([s for s, _ in expected])
    assert_allclose(model.validation_loss_curve_, [v for _, v in expected], rtol=1e-11)


# ------------------------- the penalty: the same normaliser as loss_curve_


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_penalty_is_the_one_loss_curve_charges(weighted, early_stopping):
    # At a learning rate too small to move the weights, raising alpha adds to
    # both curves what it adds to loss_curve_'s epoch (shuffled batches of
    # unequal weight sums, the last one short, the held-out split).
    X, y, X_val, y_val = _digits()
    sample_weight = None
    if weighted:
        sample_weight = np.random.RandomState(0).uniform(0.1, 3.0, len(y))
    curves = {}
    for alpha in (0.0, 2.0):
        model = _model(
            solver="sgd",
            momentum=0.0,
            learning_rate_init=1e-10,
            batch_size=50,
            alpha=alpha,
            early_stopping=early_stopping,
        )
        fit_val = {} if early_stopping else {"X_val": X_val, "y_val": y_val}
        model.fit(X, y, sample_weight=sample_weight, **fit_val)
        curves[alpha] = model
    added_train = np.subtract(curves[2.0].loss_curve_, curves[0.0].loss_curve_)
    added_val = np.subtract(
        curves[2.0].validation_loss_curve_, curves[0.0].validation_loss_curve_
    )
    assert np.all(added_train > 1e-3)
    assert_allclose(added_val, added_train, rtol=1e-7)


def test_curves_are_comparable_on_the_training_rows():
    # Validating on the training rows, each epoch's validation loss is the
    # next epoch's training loss (one full batch, taken before its step).
    X, y, _, _ = _digits()
    sample_weight = np.random.RandomState(0).uniform(0.1, 3.0, len(y))
    model = _model(batch_size=len(y), alpha=0.5).fit(
        X,
        y,
        sample_weight=sample_weight,
        X_val=X,
        y_val=y,
        sample_weight_val=sample_weight,
    )
    assert_allclose(
        model.validation_loss_curve_[:-1], model.loss_curve_[1:], rtol=1e-12
    )


# ------------------------------------------------------ sample_weight_val


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_sample_weight_val_acts_as_repeated_rows(task):
    cls, params, X, y, X_val, y_val = _task(task)
    counts = np.random.RandomState(0).randint(0, 4, len(X_val))
    counts[0] = 1
    weighted = _model(cls, **params).fit(
        X, y, X_val=X_val, y_val=y_val, sample_weight_val=counts.astype(float)
    )
    repeated = _model(cls, **params).fit(
        X,
        y,
        X_val=np.repeat(X_val, counts, axis=0),
        y_val=np.repeat(y_val, counts, axis=0),
    )
    unweighted = _model(cls, **params).fit(X, y, X_val=X_val, y_val=y_val)
    assert_allclose(
        weighted.validation_scores_, repeated.validation_scores_, rtol=1e-12
    )
    assert_allclose(
        weighted.validation_loss_curve_, repeated.validation_loss_curve_, rtol=1e-12
    )
    assert not np.allclose(
        weighted.validation_loss_curve_, unweighted.validation_loss_curve_
    )


def test_class_weight_weighs_the_penalty_factor_not_the_validation_rows():
    X, y, X_val, y_val = _digits()
    capture = Capture()
    model = _model(
        class_weight={0: 5.0},
        shuffle=False,
        alpha=0.05,
        batch_size=100,
        callbacks=capture,
    ).fit(X, y, X_val=X_val, y_val=y_val)
    # loss_curve_'s factor: each batch's penalty over its class-weighted sum.
    weight = np.where(y == 0, 5.0, 1.0)
    batch_weight = np.add.reduceat(weight, [0, 100, 200])
    scale = np.sum(np.array([100, 100, 40]) / batch_weight) / len(y)
    # The data term and the score weigh every validation row alike.
    expected = [
        _reference(model, w, X_val, y_val, None, scale) for w in capture.weights
    ]
    assert_allclose(model.validation_loss_curve_, [v for _, v in expected], rtol=1e-11)
    assert model.validation_scores_ == pytest.approx([s for s, _ in expected])


# --------------------------------------------------------------- dtypes


def test_validation_data_takes_the_training_dtype_and_any_format():
    X, y, X_val, y_val = _digits()
    X32 = X.astype(np.float32)
    reference = _model().fit(X32, y, X_val=X_val.astype(np.float32), y_val=y_val)
    as_float64 = _model().fit(X32, y, X_val=X_val, y_val=y_val)
    assert as_float64.validation_loss_curve_ == reference.validation_loss_curve_
    as_list = _model().fit(X32, y, X_val=X_val.tolist(), y_val=list(y_val))
    assert as_list.validation_loss_curve_ == reference.validation_loss_curve_
    as_sparse = _model().fit(X32, y, X_val=sp.csc_matrix(X_val), y_val=y_val)
    assert_allclose(
        as_sparse.validation_loss_curve_, reference.validation_loss_curve_, rtol=1e-5
    )
    assert as_sparse.validation_scores_ == reference.validation_scores_


def test_sparse_multilabel_targets():
    _, _, X, Y, X_val, Y_val = _task("multilabel")
    dense = _model().fit(X, Y, X_val=X_val, y_val=Y_val)
    sparse = _model().fit(X, Y, X_val=X_val, y_val=sp.csr_matrix(Y_val))
    assert sparse.validation_scores_ == dense.validation_scores_
    assert sparse.validation_loss_curve_ == dense.validation_loss_curve_


def test_string_labels():
    X, y, X_val, y_val = _digits()
    # Sorted as the digits are, so the output units match.
    names = np.array([f"digit {k}" for k in range(10)])
    named = _model().fit(X, names[y], X_val=X_val, y_val=names[y_val])
    numbered = _model().fit(X, y, X_val=X_val, y_val=y_val)
    assert named.validation_scores_ == numbered.validation_scores_
    with pytest.raises(ValueError, match=r"not seen in y: \['ten'\]"):
        _model().fit(X, names[y], X_val=X_val[:3], y_val=["digit 1", "ten", "ten"])


# ----------------------------------------------------- warm start, refits


def test_warm_start_continues_the_curves():
    X, y, X_val, y_val = _digits()
    model = _model(max_iter=3, warm_start=True)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    first = list(model.validation_loss_curve_)
    capture = Capture()
    model.set_params(callbacks=capture)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.validation_loss_curve_) == len(model.loss_curve_) == 6
    assert model.validation_loss_curve_[:3] == first
    expected = [
        _reference(model, w, X_val, y_val, None, _batches_scale(len(y), 200))
        for w in capture.weights
    ]
    assert_allclose(
        model.validation_loss_curve_[3:], [v for _, v in expected], rtol=1e-11
    )
    # Epochs without validation rows record NaN, so the curves stay aligned.
    model.set_params(callbacks=None)
    model.fit(X, y)
    model.partial_fit(X, y)
    assert len(model.validation_scores_) == len(model.loss_curve_) == 10
    assert np.isnan(model.validation_loss_curve_[6:]).all()
    assert np.isnan(model.validation_scores_[6:]).all()
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.validation_loss_curve_) == 13
    assert np.isfinite(model.validation_loss_curve_[10:]).all()


def test_warm_start_begins_the_curves_with_nan_and_switches_early_stopping():
    X, y, X_val, y_val = _digits()
    model = _model(max_iter=2, warm_start=True).fit(X, y)
    assert model.validation_scores_ is None and model.validation_loss_curve_ is None
    model.set_params(early_stopping=True)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert np.isnan(model.validation_loss_curve_[:2]).all()
    assert np.isfinite(model.validation_loss_curve_[2:]).all()
    assert model.best_validation_score_ == max(model.validation_scores_[2:])
    assert model.best_loss_ is None
    model.set_params(early_stopping=False)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert len(model.validation_scores_) == len(model.loss_curve_) == 6
    assert model.best_validation_score_ is None
    assert model.best_loss_ == min(model.loss_curve_[4:])


def test_refit_with_another_architecture_scores_the_new_network():
    X, y, X_val, y_val = _digits()
    model = _model(hidden_layer_sizes=(10,)).fit(X, y)
    model.set_params(hidden_layer_sizes=(30, 20))
    fresh = _model(hidden_layer_sizes=(30, 20))
    for fit_val in ({"X_val": X_val, "y_val": y_val}, {}):
        model.set_params(early_stopping=not fit_val)
        fresh.set_params(early_stopping=not fit_val)
        model.fit(X, y, **fit_val)
        fresh.fit(X, y, **fit_val)
        assert model.validation_scores_ == fresh.validation_scores_
        assert model.validation_loss_curve_ == fresh.validation_loss_curve_


# ------------------------------------------- callbacks, cost, the API


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_callbacks_see_the_epochs_validation(solver, early_stopping):
    X, y, X_val, y_val = _digits()
    capture = Capture()
    model = _model(solver=solver, early_stopping=early_stopping, callbacks=capture)
    model.fit(X, y, X_val=X_val, y_val=y_val)
    assert capture.n_iter == list(range(1, model.n_iter_ + 1))
    for k, (scores, losses) in enumerate(
        zip(capture.scores, capture.losses, strict=True), start=1
    ):
        assert scores == model.validation_scores_[:k]
        assert losses == model.validation_loss_curve_[:k]


def test_one_forward_pass_per_epoch_and_none_without_validation():
    X, y, X_val, y_val = _digits()
    calls = []

    def counting(model):
        forward = model._forward_pass_fast

        def wrapper(X, check_input=True):
            calls.append((X.shape[0], check_input))
            return forward(X, check_input)

        model._forward_pass_fast = wrapper
        return model

    counting(_model()).fit(X, y)
    assert calls == []
    counting(_model()).fit(X, y, X_val=X_val, y_val=y_val)
    assert calls == [(len(y_val), False)] * 5


def test_clone_pickle_and_grid_search():
    X, y, X_val, y_val = _digits()
    model = _model().fit(X, y, X_val=X_val, y_val=y_val)
    assert not hasattr(clone(model), "validation_loss_curve_")
    restored = pickle.loads(pickle.dumps(model))
    assert restored.validation_loss_curve_ == model.validation_loss_curve_
    assert restored.validation_scores_ == model.validation_scores_
    assert_array_equal(restored.predict(X_val), model.predict(X_val))

    search = GridSearchCV(_model(), {"alpha": [1e-4, 1e-2]}, cv=2)
    search.fit(X, y, X_val=X_val, y_val=y_val)
    best = search.best_estimator_
    assert len(best.validation_loss_curve_) == best.n_iter_
    refit = _model(alpha=search.best_params_["alpha"]).fit(
        X, y, X_val=X_val, y_val=y_val
    )
    assert best.validation_loss_curve_ == refit.validation_loss_curve_


@pytest.mark.skipif(
    "transform_input" not in inspect.signature(Pipeline).parameters,
    reason="Pipeline(transform_input=...) needs scikit-learn >= 1.7",
)
def test_pipeline_transforms_validation_data():
    X, y, X_val, y_val = _digits()
    X, X_val = X * 16 + 3, X_val * 16 + 3
    with sklearn.config_context(enable_metadata_routing=True):
        model = _model(early_stopping=True).set_fit_request(X_val=True, y_val=True)
        pipeline = Pipeline(
            [("scale", StandardScaler()), ("mlp", model)], transform_input=["X_val"]
        )
        pipeline.fit(X, y, X_val=X_val, y_val=y_val)
    scaler = StandardScaler().fit(X)
    direct = _model(early_stopping=True).fit(
        scaler.transform(X), y, X_val=scaler.transform(X_val), y_val=y_val
    )
    assert pipeline[-1].validation_scores_ == direct.validation_scores_
    assert pipeline[-1].validation_loss_curve_ == direct.validation_loss_curve_


def test_partial_fit_takes_no_validation_data():
    X, y, X_val, y_val = _digits()
    with pytest.raises(TypeError, match="X_val"):
        _model().partial_fit(X, y, classes=np.unique(y), X_val=X_val)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = _model().partial_fit(X, y, classes=np.unique(y))
    assert model.validation_loss_curve_ is None


@pytest.mark.skipif(
    "transform_input" not in inspect.signature(Pipeline).parameters,
    reason="Pipeline(transform_input=...) needs scikit-learn >= 1.7",
)
def test_readme_example_runs(run_readme_example):
    namespace = run_readme_example("- **Validation data and curves**")
    mlp = namespace["mlp"]
    assert mlp.n_features_in_ == 64
    assert len(mlp.loss_curve_) == len(mlp.validation_loss_curve_) > 1
    assert len(mlp.validation_scores_) == len(mlp.loss_curve_)
    assert mlp.best_validation_score_ == max(mlp.validation_scores_) > 0.9
