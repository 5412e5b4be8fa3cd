# SPDX-License-Identifier: BSD-3-Clause
"""Every kind of bad input, fed to fastmlp and to scikit-learn's MLP alike.

Each case of the table runs against both libraries (the `library` axis): both
must raise exactly the exception type the table names, so fastmlp's type is
scikit-learn's; fastmlp's message must also name the problem (a regex). Where
fastmlp deliberately differs -- scikit-learn crashes or accepts nonsense --
the case is in DEVIATIONS with the reason, and only fastmlp is checked.

Inputs that reach the compiled kernels with inconsistent shapes, corrupt
sparse structure or absurd sizes could take the interpreter down instead of
raising, so they run in child interpreters (`dangerous_outcomes`): a crash
there fails one test instead of killing the test session.
"""

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn import neural_network as sk_nn
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import fastmlp

from sklearn_support import require

LIBRARIES = {
    "sklearn": {"classifier": sk_nn.MLPClassifier, "regressor": sk_nn.MLPRegressor},
    "fastmlp": {"classifier": fastmlp.MLPClassifier, "regressor": fastmlp.MLPRegressor},
}
KINDS = ("classifier", "regressor")
# Small and quick: every case fits at most a few epochs of 20 rows.
FAST = {"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0}

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore:Got `batch_size` less than 1:UserWarning",
)

_rng = np.random.RandomState(0)
X = _rng.uniform(size=(20, 3))
Y_CLASS = np.arange(20) % 2
Y_REG = _rng.uniform(size=20)


def _y(est):
    return Y_CLASS if est.__name__ == "MLPClassifier" else Y_REG


def _with(value, row=1, col=1, base=X):
    bad = base.astype(np.result_type(base, type(value)), copy=True)
    bad[row, col] = value
    return bad


def _y_with(est, value):
    y = _y(est).astype(np.float64)
    y[2] = value
    return y


_DEFAULT = object()  # None is itself a bad input here


def _fit(est, X_fit=X, y_fit=_DEFAULT, **params):
    y_fit = _y(est) if y_fit is _DEFAULT else y_fit
    return est(**{**FAST, **params}).fit(X_fit, y_fit)


def _partial_fit(est, X_fit, y_fit=_DEFAULT, **params):
    y_fit = _y(est) if y_fit is _DEFAULT else y_fit
    extra = {"classes": [0, 1]} if est.__name__ == "MLPClassifier" else {}
    return est(**{**FAST, **params}).partial_fit(X_fit, y_fit, **extra)


@dataclass(frozen=True)
class Case:
    """One bad input: what to call, the exception expected, its message."""

    id: str
    call: object  # call(estimator_class) -> does the bad thing
    error: type
    match: str  # regex fastmlp's message must contain
    kinds: tuple = KINDS
    # Features scikit-learn's MLP needs for the call (sklearn_support.require)
    needs: tuple = ()


def _X_cases():
    """Bad X (and bad y, sample_weight) at fit, through fit and partial_fit."""
    bad_X = {
        "X-nan": (_with(np.nan), ValueError, r"Input X contains NaN"),
        "X-inf": (_with(np.inf), ValueError, r"Input X contains infinity"),
        "X-neginf": (_with(-np.inf), ValueError, r"Input X contains infinity"),
        "X-nan-float32": (
            _with(np.nan).astype(np.float32),
            ValueError,
            r"Input X contains NaN",
        ),
        "X-csr-nan": (
            sp.csr_matrix(_with(np.nan)),
            ValueError,
            r"Input X contains NaN",
        ),
        "X-csr-inf": (
            sp.csr_matrix(_with(np.inf)),
            ValueError,
            r"Input X contains infinity",
        ),
        "X-1d": (X[:, 0], ValueError, r"Expected 2D array, got 1D array"),
        "X-3d": (X[:, :, None], ValueError, r"Found array with dim 3"),
        "X-scalar": (5.0, ValueError, r"Expected 2D array, got scalar array"),
        "X-none": (None, ValueError, r"Expected 2D array, got scalar array"),
        "X-zero-features": (X[:, :0], ValueError, r"0 feature\(s\)"),
        "X-strings": (
            np.full((20, 3), "a"),
            ValueError,
            r"could not convert string to float",
        ),
        "X-object-strings": (
            np.full((20, 3), "a", dtype=object),
            ValueError,
            r"could not convert string to float",
        ),
        "X-object-none": (
            np.array([[None, 1.0, 2.0]] * 20, dtype=object),
            ValueError,
            r"Input X contains NaN",
        ),
        "X-object-dicts": (
            np.array([[{}, 1.0, 2.0]] * 20, dtype=object),
            TypeError,
            r"float\(\) argument must be .*'dict'",
        ),
        "X-complex": (X + 1j, ValueError, r"Complex data not supported"),
        "X-ragged-list": (
            [[1.0, 2.0, 3.0], [1.0]] * 10,
            ValueError,
            r"inhomogeneous shape",
        ),
        "X-dataframe-strings": (
            pd.DataFrame({"a": ["x"] * 20, "b": range(20), "c": range(20)}),
            ValueError,
            r"could not convert string to float",
        ),
        "X-more-rows": (
            np.vstack([X, X[:1]]),
            ValueError,
            r"inconsistent numbers of samples: \[21, 20\]",
        ),
        "X-fewer-rows": (
            X[:19],
            ValueError,
            r"inconsistent numbers of samples: \[19, 20\]",
        ),
    }
    for name, (X_bad, error, match) in bad_X.items():
        yield Case(
            f"fit-{name}", lambda est, X_bad=X_bad: _fit(est, X_bad), error, match
        )
        yield Case(
            f"partial_fit-{name}",
            lambda est, X_bad=X_bad: _partial_fit(est, X_bad),
            error,
            match,
        )
    yield Case(
        "fit-X-zero-samples",
        lambda est: _fit(est, X[:0], _y(est)[:0]),
        ValueError,
        r"0 sample\(s\)",
    )

    bad_y = {
        "y-nan": (
            lambda est: _y_with(est, np.nan),
            ValueError,
            r"Input y contains NaN",
        ),
        "y-inf": (
            lambda est: _y_with(est, np.inf),
            ValueError,
            r"Input y contains infinity",
        ),
        "y-complex": (
            lambda est: _y(est) + 1j,
            ValueError,
            r"Complex data not supported",
        ),
        "y-3d": (
            lambda est: _y(est)[:, None, None],
            ValueError,
            r"Found array with dim 3",
        ),
        "y-none": (lambda est: None, ValueError, r"requires y to be passed"),
        "y-shorter": (
            lambda est: _y(est)[:19],
            ValueError,
            r"inconsistent numbers of samples",
        ),
    }
    for name, (make_y, error, match) in bad_y.items():
        yield Case(
            f"fit-{name}",
            lambda est, make_y=make_y: _fit(est, X, make_y(est)),
            error,
            match,
        )
    yield Case(
        "fit-y-object-strings",
        lambda est: _fit(est, X, np.full(20, "a", dtype=object)),
        ValueError,
        r"could not convert string to float",
        kinds=("regressor",),
    )
    yield Case(
        "fit-y-continuous",
        lambda est: _fit(est, X, Y_REG),
        ValueError,
        r"Unknown label type",
        kinds=("classifier",),
    )

    bad_weights = {
        "sample_weight-shorter": (np.ones(19), r"sample_weight.shape == \(19,\)"),
        "sample_weight-nan": (
            np.r_[np.nan, np.ones(19)],
            r"Input sample_weight contains NaN",
        ),
        "sample_weight-inf": (
            np.r_[np.inf, np.ones(19)],
            r"Input sample_weight contains infinity",
        ),
        "sample_weight-zeros": (np.zeros(20), r"at least one non-zero"),
        "sample_weight-2d": (np.ones((20, 2)), r"Sample weights must be 1D"),
    }
    for name, (weights, match) in bad_weights.items():
        needs = ("sample_weight",)
        if name == "sample_weight-zeros":
            needs += ("the all-zero sample_weight error",)
        for solver in ("adam", "lbfgs"):
            yield Case(
                f"fit-{solver}-{name}",
                lambda est, weights=weights, solver=solver: est(
                    **FAST, solver=solver
                ).fit(X, _y(est), sample_weight=weights),
                ValueError,
                match,
                needs=needs,
            )


def _predict_cases():
    bad_X = {
        "nan": (_with(np.nan), ValueError, r"Input X contains NaN"),
        "inf": (_with(np.inf), ValueError, r"Input X contains infinity"),
        "1d": (X[0], ValueError, r"Expected 2D array, got 1D array"),
        "3d": (X[:, :, None], ValueError, r"Found array with dim 3"),
        "zero-samples": (X[:0], ValueError, r"0 sample\(s\)"),
        "fewer-features": (
            X[:, :2],
            ValueError,
            r"X has 2 features, but MLP\w+ is expecting 3",
        ),
        "more-features": (
            np.hstack([X, X]),
            ValueError,
            r"X has 6 features, but MLP\w+ is expecting 3",
        ),
        "csr-fewer-features": (
            sp.csr_matrix(X[:, :2]),
            ValueError,
            r"X has 2 features, but MLP\w+ is expecting 3",
        ),
        "strings": (
            np.full((2, 3), "a"),
            ValueError,
            r"not compatible with arrays of bytes/strings",
        ),
        "complex": (X + 1j, ValueError, r"Complex data not supported"),
        "object-dicts": (
            np.array([[{}, 1.0, 2.0]], dtype=object),
            TypeError,
            r"float\(\) argument must be .*'dict'",
        ),
    }
    for name, (X_bad, error, match) in bad_X.items():
        yield Case(
            f"predict-{name}",
            lambda est, X_bad=X_bad: _fit(est).predict(X_bad),
            error,
            match,
        )
        yield Case(
            f"predict_proba-{name}",
            lambda est, X_bad=X_bad: _fit(est).predict_proba(X_bad),
            error,
            match,
            kinds=("classifier",),
        )
    for method in ("predict", "score", "predict_proba", "predict_log_proba"):
        kinds = KINDS if method in ("predict", "score") else ("classifier",)
        args = (X, Y_REG) if method == "score" else (X,)
        yield Case(
            f"{method}-before-fit",
            lambda est, method=method, args=args: getattr(est(), method)(*args),
            NotFittedError,
            r"not fitted yet",
            kinds=kinds,
        )
    yield Case(
        "partial_fit-fewer-features",
        lambda est: _fit(est).partial_fit(X[:, :2], _y(est)),
        ValueError,
        r"X has 2 features, but MLP\w+ is expecting 3",
    )
    yield Case(
        "warm_start-fewer-features",
        lambda est: _fit(est, warm_start=True).fit(X[:, :2], _y(est)),
        ValueError,
        r"X has 2 features, but MLP\w+ is expecting 3",
    )


def _usage_cases():
    """Valid inputs used in a way the estimator cannot honour."""
    yield Case(
        "partial_fit-lbfgs",
        lambda est: est(solver="lbfgs").partial_fit,
        AttributeError,
        r"has no attribute 'partial_fit'",
        kinds=("classifier",),
    )
    yield Case(
        "partial_fit-early_stopping",
        lambda est: _partial_fit(est, X, early_stopping=True),
        ValueError,
        r"partial_fit does not support early_stopping=True",
    )
    yield Case(
        "partial_fit-no-classes",
        lambda est: est(**FAST).partial_fit(X, Y_CLASS),
        ValueError,
        r"classes must be passed on the first call",
        kinds=("classifier",),
    )
    yield Case(
        "partial_fit-unseen-class",
        lambda est: _partial_fit(est, X).partial_fit(X, np.arange(20) % 3),
        ValueError,
        r"`y` has classes not in `self.classes_`",
        kinds=("classifier",),
    )
    yield Case(
        "warm_start-new-class",
        lambda est: _fit(est, warm_start=True).fit(X, np.arange(20) % 3),
        ValueError,
        r"warm_start can only be used where `y` has the same classes",
        kinds=("classifier",),
    )
    yield Case(
        "early_stopping-validation-set-too-small",
        lambda est: est(**FAST, early_stopping=True, validation_fraction=0.01).fit(
            X[:10], Y_REG[:10]
        ),
        ValueError,
        r"validation set is too small",
        kinds=("regressor",),
        needs=("the too-small validation set error",),
    )
    # Hand-set parameters that disagree with each other: the kernels would
    # index past the arrays if these reached them.
    yield Case(
        "predict-intercept-wrong-length",
        lambda est: _set(_fit(est), intercepts_=1).predict(X),
        ValueError,
        r"shape",
    )
    yield Case(
        "predict-coef-inconsistent-layers",
        lambda est: _set(_fit(est), coefs_=1).predict(X),
        ValueError,
        r"shape",
    )


def _set(model, coefs_=None, intercepts_=None):
    """Replace layer `i` of coefs_ or intercepts_ with a wrongly shaped array."""
    if coefs_ is not None:
        coef = model.coefs_[coefs_]
        model.coefs_[coefs_] = np.zeros((coef.shape[0] + 2, coef.shape[1]))
    if intercepts_ is not None:
        intercept = model.intercepts_[intercepts_]
        model.intercepts_[intercepts_] = np.zeros(intercept.shape[0] + 2)
    return model


# Every invalid value of every parameter: InvalidParameterError names both.
INVALID_PARAMS = {
    "hidden_layer_sizes": [0, -3, "abc", None, 2.5],
    "activation": ["softmax", "foo", None],
    "solver": ["newton", None],
    "alpha": [-1.0, "a", None],
    "batch_size": [0, -1, 1.5, "foo"],
    "learning_rate": ["foo", None],
    "learning_rate_init": [0.0, -1.0, "a"],
    "power_t": [-0.5, "a"],
    "max_iter": [0, -1, 2.5, "a"],
    "shuffle": ["yes", 2],
    "random_state": ["x", -1, 1.5],
    "tol": [-1.0, "a"],
    "verbose": ["x", -1.5],
    "warm_start": ["x"],
    "momentum": [-0.1, 1.5, "a"],
    "nesterovs_momentum": ["x"],
    "early_stopping": ["x"],
    "validation_fraction": [1.0, -0.1, 2],
    "beta_1": [1.0, -0.1],
    "beta_2": [1.0, -0.1],
    "epsilon": [0.0, -1.0],
    "n_iter_no_change": [0, -1, 1.5],
    "max_fun": [0, -1, 1.5],
    "loss": ["foo", "log_loss", None],
}


def _param_cases():
    for name, values in INVALID_PARAMS.items():
        kinds = ("regressor",) if name == "loss" else KINDS
        for value in values:
            for method in ("fit", "partial_fit"):
                if method == "partial_fit" and name == "solver":
                    continue  # partial_fit exists only for the stochastic solvers
                yield Case(
                    f"{method}-{name}={value!r}",
                    lambda est, name=name, value=value, method=method: (
                        _fit if method == "fit" else _partial_fit
                    )(est, X, **{name: value}),
                    InvalidParameterError,
                    rf"The '{name}' parameter of MLP\w+ must be .* Got "
                    + re.escape(repr(value)),
                    kinds,
                    needs=("the Poisson loss",) if name == "loss" else (),
                )
    # Elements of the hidden_layer_sizes sequence are checked at fit.
    for sizes, error, match in [
        ((0,), ValueError, r"hidden_layer_sizes must be > 0, got \[0\]"),
        ((3, -1), ValueError, r"hidden_layer_sizes must be > 0, got \[3, -1\]"),
        ((5.5,), TypeError, r"'float' object cannot be interpreted as an integer"),
        ([[3, 4]], TypeError, r"list"),
        (True, TypeError, r"must hold integers, got \[True\] \(a bool\)"),
        ((5, np.True_), TypeError, r"must hold integers, got \[5, (np\.)?True_?\]"),
    ]:
        yield Case(
            f"fit-hidden_layer_sizes={sizes!r}",
            lambda est, sizes=sizes: _fit(est, hidden_layer_sizes=sizes),
            error,
            match,
        )


CASES = [*_X_cases(), *_predict_cases(), *_usage_cases(), *_param_cases()]


def _flatten(cases):
    return [
        pytest.param(case, kind, id=f"{case.id}-{kind}")
        for case in cases
        for kind in case.kinds
    ]


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


def test_table_covers_every_parameter():
    for est in (sk_nn.MLPClassifier, sk_nn.MLPRegressor):
        assert set(est._parameter_constraints) <= set(INVALID_PARAMS)


@pytest.mark.parametrize("library", list(LIBRARIES))
@pytest.mark.parametrize("case, kind", _flatten(CASES))
def test_bad_input_raises_like_sklearn(case, kind, library):
    est = LIBRARIES[library][kind]
    if library == "sklearn":
        require(*case.needs)
    with pytest.raises(case.error) as excinfo:
        case.call(est)
    # The exact type, not a subclass: the same for both libraries.
    assert excinfo.type is case.error, (excinfo.type, str(excinfo.value))
    if library == "fastmlp":
        assert re.search(case.match, str(excinfo.value)), str(excinfo.value)


# Where fastmlp raises although scikit-learn does not, with the reason.
DEVIATIONS = [
    Case(
        # scikit-learn's MLPRegressor.partial_fit guard reads
        # `available_if(lambda est: est._check_solver)` without the call, so
        # the method is always there and silently runs L-BFGS.
        "partial_fit-lbfgs",
        lambda est: est(solver="lbfgs").partial_fit,
        AttributeError,
        r"has no attribute 'partial_fit'",
        kinds=("regressor",),
    ),
    Case(
        # scikit-learn 1.9 accepts negative targets and trains on NaN losses.
        "fit-poisson-negative-y",
        lambda est: _fit(est, X, -Y_REG, loss="poisson"),
        ValueError,
        r"negative which is not allowed for loss='poisson'",
        kinds=("regressor",),
    ),
    Case(
        # scikit-learn fails with numpy's UFuncTypeError from `out - y`; a
        # ValueError naming the conversion is what every other bad y gives.
        "fit-y-strings",
        lambda est: _fit(est, X, np.full(20, "a")),
        ValueError,
        r"could not convert string to float",
        kinds=("regressor",),
    ),
    Case(
        # An epsilon that float32 rounds to 0 makes Adam's step 0 / 0 for a
        # weight whose gradients are all 0 (here: of a feature always 0).
        # scikit-learn's classifier then fails with the non-finite-weights
        # error that blames the data; its regressor computes in float64.
        "fit-adam-epsilon-0-in-float32",
        lambda est: _fit(est, np.c_[X, np.zeros(20)].astype(np.float32), epsilon=1e-50),
        ValueError,
        r"epsilon=1e-50 is 0 in float32 \(its smallest positive value is 1\.4e-45\)",
    ),
    Case(
        "partial_fit-adam-epsilon-0-in-float32",
        lambda est: _partial_fit(est, X.astype(np.float32), epsilon=1e-50),
        ValueError,
        r"epsilon=1e-50 is 0 in float32",
    ),
]


@pytest.mark.parametrize("kind", KINDS)
def test_adam_epsilon_float32_can_represent_trains(kind):
    # The check refuses only what rounds to 0: float32's smallest subnormal
    # trains, and so does any positive epsilon on float64 data.
    est = LIBRARIES["fastmlp"][kind]
    X_zero_feature = np.c_[X, np.zeros(20)]
    for X_fit, epsilon in (
        (X_zero_feature.astype(np.float32), 1.4e-45),
        (X_zero_feature, 1e-300),
    ):
        model = _fit(est, X_fit, epsilon=epsilon)
        assert all(np.isfinite(c).all() for c in model.coefs_)


@pytest.mark.parametrize("case, kind", _flatten(DEVIATIONS))
def test_stricter_than_sklearn(case, kind):
    with pytest.raises(case.error, match=case.match) as excinfo:
        case.call(LIBRARIES["fastmlp"][kind])
    assert excinfo.type is case.error


@pytest.mark.parametrize("n_rows", [1, 100, 5000])
@pytest.mark.parametrize("bad", [np.nan, np.inf], ids=["nan", "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_non_finite_in_large_predict_raises_like_sklearn(method, dtype, bad, n_rows):
    # Dense float X skips validate_data: the predict kernel checks it, chunk
    # by chunk on every thread (on one, for 100 rows; in the serving kernel,
    # for 1); the error must still be scikit-learn's, word for word.
    rng = np.random.RandomState(1)
    X_big = rng.uniform(size=(max(n_rows, 200), 30)).astype(dtype)
    y = np.arange(X_big.shape[0]) % 3
    X_bad = X_big[:n_rows].copy()
    X_bad[n_rows * 6 // 7, 17] = bad
    messages = []
    for library in LIBRARIES.values():
        model = library["classifier"](**FAST).fit(X_big[:200], y[:200])
        with pytest.raises(ValueError) as raised:
            getattr(model, method)(X_bad)
        messages.append(str(raised.value))
    assert messages[1] == messages[0]
    assert "NaN" in messages[1] if np.isnan(bad) else "infinity" in messages[1]


@pytest.mark.parametrize("container", ["dense", "csr"])
@pytest.mark.parametrize("n_rows", [1, 100, 5000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", KINDS)
def test_non_finite_predict_under_assume_finite_computes_like_sklearn(
    kind, dtype, bad, n_rows, container
):
    # set_config(assume_finite=True) tells scikit-learn to skip the check and
    # compute; a drop-in must not raise there. The kernels find the bad value
    # anyway, then predict without the check: the outputs must be
    # scikit-learn's, NaN where its are NaN, on every path (serving kernel,
    # one thread, several).
    rng = np.random.RandomState(2)
    X_fit = rng.uniform(size=(200, 30)).astype(dtype)
    y = np.arange(200) % 3 if kind == "classifier" else X_fit[:, 0]
    params = dict(hidden_layer_sizes=(40, 20), max_iter=3, random_state=0)
    ours = LIBRARIES["fastmlp"][kind](**params).fit(X_fit, y)
    theirs = LIBRARIES["sklearn"][kind](**params).fit(X_fit, y)
    theirs.coefs_ = [c.copy() for c in ours.coefs_]
    theirs.intercepts_ = [c.copy() for c in ours.intercepts_]
    X_bad = rng.uniform(size=(n_rows, 30)).astype(dtype)
    X_bad[n_rows * 6 // 7, 17] = bad
    if container == "csr":
        X_bad = sp.csr_matrix(X_bad)
    method = "predict_proba" if kind == "classifier" else "predict"
    with config_context(assume_finite=True):
        expected = getattr(theirs, method)(X_bad)
        got = getattr(ours, method)(X_bad)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    if np.isnan(bad):
        assert np.isnan(got).any()
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_single_class_fits_like_sklearn(kind):
    # Not an error in scikit-learn: the model learns to predict the one class.
    y = np.full(20, 7.0)
    sk_model, fm_model = (_fit(library[kind], X, y) for library in LIBRARIES.values())
    assert np.isfinite(fm_model.predict(X)).all()
    if kind == "classifier":
        assert list(fm_model.classes_) == list(sk_model.classes_) == [7.0]
        np.testing.assert_array_equal(fm_model.predict(X), sk_model.predict(X))
        assert fm_model.predict_proba(X).shape == sk_model.predict_proba(X).shape


# ----------------------------------------------------- in child interpreters


def _corrupt(fmt, field):
    """A sparse X whose structure points outside its arrays."""
    matrix = sp.random(20, 3, density=0.5, format=fmt, random_state=0)
    matrix = matrix + sp.eye(20, 3, format=fmt)  # every row non-empty
    getattr(matrix, field)[...] = {
        "indices": lambda a: np.where(np.arange(a.size) == 0, 10**9, a),
        "indptr": lambda a: np.where(np.arange(a.size) == a.size - 1, 10**6, a),
    }[field](getattr(matrix, field))
    return matrix


def _wrong_fan_in(est):
    model = _fit(est)
    model.coefs_[0] = np.zeros((X.shape[1] + 5, model.coefs_[0].shape[1]))
    return model.predict(X)


# Cases that may crash. Where scikit-learn itself crashes it is not run
# (sklearn_runs=False) and fastmlp's error is checked alone.
DANGEROUS = {
    "hidden-1e12": (
        Case(
            "hidden-1e12",
            lambda est: _fit(est, hidden_layer_sizes=(10**12,)),
            MemoryError,
            r"Unable to allocate .* shape \(3, 1000000000000\)",
        ),
        True,
    ),
    "hidden-1e6x1e6": (
        Case(
            "hidden-1e6x1e6",
            lambda est: _fit(est, hidden_layer_sizes=(10**6, 10**6)),
            MemoryError,
            r"Unable to allocate .* shape \(1000000, 1000000\)",
        ),
        True,
    ),
    "hidden-2**63": (
        Case(
            "hidden-2**63",
            lambda est: _fit(est, hidden_layer_sizes=(2**63,)),
            ValueError,
            r"Maximum allowed dimension exceeded",
        ),
        True,
    ),
    "predict-coef-wrong-fan-in": (
        Case(
            "predict-coef-wrong-fan-in",
            _wrong_fan_in,
            ValueError,
            r"X has 3 features, but coefs_\[0\] has 8 rows",
        ),
        True,
    ),
    **{
        f"{method}-{fmt}-bad-{field}": (
            Case(
                f"{method}-{fmt}-bad-{field}",
                (lambda est, fmt=fmt, field=field: _fit(est, _corrupt(fmt, field)))
                if method == "fit"
                else (
                    lambda est, fmt=fmt, field=field: _fit(est).predict(
                        _corrupt(fmt, field)
                    )
                ),
                ValueError,
                r"(indices|index|indptr)",
            ),
            # scipy's sparse product, which scikit-learn calls, segfaults.
            False,
        )
        for method in ("fit", "predict")
        for fmt in ("csr", "csc")
        for field in ("indices", "indptr")
    },
}

_HERE = Path(__file__).resolve()
_CHILD = f"""
import importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, {str(_HERE.parent)!r})  # for its sibling modules, as pytest does
spec = importlib.util.spec_from_file_location("bad_input_cases", {str(_HERE)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
for key in sys.argv[1:]:
    print("START", key, flush=True)
    print("RESULT", json.dumps([key, *module._outcome(key)]), flush=True)
"""


def _outcome(key):
    """(exception type name, message) of one dangerous case, in this process."""
    case_id, library, kind = key.split("|")
    try:
        DANGEROUS[case_id][0].call(LIBRARIES[library][kind])
    except Exception as exc:
        return [f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc)[:500]]
    return ["no error", ""]


def _dangerous_keys():
    for case_id, (case, sklearn_runs) in DANGEROUS.items():
        for kind in case.kinds:
            for library in ("fastmlp", "sklearn") if sklearn_runs else ("fastmlp",):
                yield f"{case_id}|{library}|{kind}"


@pytest.fixture(scope="module")
def dangerous_outcomes(subprocess_env):
    """Run every dangerous case in child interpreters, one after another.

    One child runs the cases in order; if it dies, the case it had started is
    recorded as a crash and a new child takes the remaining ones.
    """
    pending = list(_dangerous_keys())
    outcomes = {}
    while pending:
        proc = subprocess.run(
            [sys.executable, "-X", "faulthandler", "-c", _CHILD, *pending],
            capture_output=True,
            text=True,
            env=subprocess_env,
            timeout=300,
        )
        started = None
        for line in proc.stdout.splitlines():
            tag, _, rest = line.partition(" ")
            if tag == "START":
                started = rest
            elif tag == "RESULT":
                key, *outcome = json.loads(rest)
                outcomes[key] = outcome
                started = None
        if proc.returncode == 0:
            break
        if started is None:  # died before the first case: a broken child
            pytest.fail(f"child interpreter failed:\n{proc.stderr[-3000:]}")
        outcomes[started] = ["crash", f"exit {proc.returncode}: {proc.stderr[-2000:]}"]
        pending = pending[pending.index(started) + 1 :]
    return outcomes


@pytest.mark.parametrize(
    "case_id, kind",
    [
        pytest.param(case_id, kind, id=f"{case_id}-{kind}")
        for case_id, (case, _) in DANGEROUS.items()
        for kind in case.kinds
    ],
)
def test_dangerous_input_raises_cleanly(dangerous_outcomes, case_id, kind):
    case, sklearn_runs = DANGEROUS[case_id]
    name, message = dangerous_outcomes[f"{case_id}|fastmlp|{kind}"]
    assert name != "crash", f"fastmlp crashed the interpreter: {message}"
    assert issubclass(_exception_type(name), case.error), (name, message)
    assert re.search(case.match, message), message
    if sklearn_runs:
        assert dangerous_outcomes[f"{case_id}|sklearn|{kind}"][0] == name


def _exception_type(qualified_name):
    module, _, name = qualified_name.rpartition(".")
    if module not in sys.modules:
        return type(None)
    obj = sys.modules[module]
    for part in name.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else type(None)
