# SPDX-License-Identifier: BSD-3-Clause
"""What a drop-in must do beyond matching one fit: the "complete the drop-in" list.

Sparse input in every container and index type, unsorted and duplicate
entries, corrupt matrices; sample weights (equivalences, validation, early
stopping); the Poisson loss against a GLM; multilabel and multi-output
targets; partial_fit, warm_start, pickling and joblib; string labels,
feature names and `clone`.
"""

import pickle
from functools import cache

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import accuracy_score
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.neural_network import MLPRegressor as SklearnMLPRegressor

from fastmlp import MLPClassifier, MLPRegressor

from sklearn_support import require

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

SOLVERS = ["sgd", "adam", "lbfgs"]
ESTIMATORS = [
    pytest.param(MLPClassifier, id="classifier"),
    pytest.param(MLPRegressor, id="regressor"),
]
# Sparse and dense paths sum X @ W in different orders; a few epochs carry
# the rounding difference a little further than one product.
SPARSE_TOL = {"rtol": 1e-8, "atol": 1e-10}


@cache
def digits():
    """120 digits scaled to [0, 1]: about half the pixels are zero."""
    X, y = load_digits(return_X_y=True)
    return X[:120] / 16, y[:120]


def target_for(estimator, y):
    return y if estimator is MLPClassifier else y / 9.0


def small_model(estimator, solver, **params):
    params = {
        "hidden_layer_sizes": (7,),
        "solver": solver,
        "max_iter": 6,
        "batch_size": 25,
        "random_state": 0,
        "learning_rate_init": 0.01,
        **params,
    }
    return estimator(**params)


def assert_same_model(ours, expected, X, **tol):
    for array, expected_array in zip(
        ours.coefs_ + ours.intercepts_,
        expected.coefs_ + expected.intercepts_,
        strict=True,
    ):
        assert_allclose(array, expected_array, **tol)
    if isinstance(ours, MLPClassifier):
        assert_allclose(ours.predict_proba(X), expected.predict_proba(X), **tol)
    else:
        assert_allclose(ours.predict(X), expected.predict(X), **tol)


# ---------------------------------------------------------------- sparse input


SPARSE_CONTAINERS = [
    pytest.param(sp.csr_matrix, id="csr_matrix"),
    pytest.param(sp.csr_array, id="csr_array"),
    pytest.param(sp.csc_matrix, id="csc_matrix"),
    pytest.param(sp.csc_array, id="csc_array"),
]


@pytest.mark.parametrize("container", SPARSE_CONTAINERS)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_sparse_input_matches_dense(estimator, solver, container):
    X, y = digits()
    y = target_for(estimator, y)
    X_sparse = container(X)

    dense = small_model(estimator, solver).fit(X, y)
    sparse = small_model(estimator, solver).fit(X_sparse, y)

    assert sparse.n_iter_ == dense.n_iter_
    assert_same_model(sparse, dense, X, **SPARSE_TOL)
    predict = sparse.predict_proba if estimator is MLPClassifier else sparse.predict
    assert_allclose(predict(X_sparse), predict(X), **SPARSE_TOL)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64], ids=["int32", "int64"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_index_dtypes(solver, index_dtype):
    X, y = digits()
    X_sparse = sp.csr_matrix(X)
    X_sparse.indices = X_sparse.indices.astype(index_dtype)
    X_sparse.indptr = X_sparse.indptr.astype(index_dtype)

    sparse = small_model(MLPClassifier, solver).fit(X_sparse, y)
    dense = small_model(MLPClassifier, solver).fit(X, y)

    assert X_sparse.indices.dtype == index_dtype
    assert_same_model(sparse, dense, X, **SPARSE_TOL)


def messy_csr(rng, n_samples, n_features):
    """A CSR with unsorted column indices, duplicate entries and empty rows."""
    rows = []
    for i in range(n_samples):
        if i % 7 == 3:
            rows.append(([], []))  # empty row
            continue
        cols = list(rng.choice(n_features, size=4, replace=False))
        cols.append(cols[0])  # a duplicate: scipy sums it
        cols.reverse()  # unsorted
        rows.append((cols, list(rng.normal(size=len(cols)))))
    indptr = np.cumsum([0] + [len(c) for c, _ in rows])
    indices = np.concatenate([np.asarray(c, dtype=np.int32) for c, _ in rows])
    data = np.concatenate([np.asarray(d, dtype=np.float64) for _, d in rows])
    X = sp.csr_matrix((data, indices, indptr), shape=(n_samples, n_features))
    assert not X.has_sorted_indices
    assert not X.has_canonical_format
    return X


@pytest.mark.parametrize("solver", SOLVERS)
def test_unsorted_duplicate_entries_and_empty_rows_read_as_scipy_sums(solver):
    rng = np.random.RandomState(0)
    X_messy = messy_csr(rng, 60, 8)
    y = rng.normal(size=60)
    before = [X_messy.data.copy(), X_messy.indices.copy(), X_messy.indptr.copy()]

    messy = small_model(MLPRegressor, solver).fit(X_messy, y)
    dense = small_model(MLPRegressor, solver).fit(X_messy.toarray(), y)

    assert_same_model(messy, dense, X_messy.toarray(), **SPARSE_TOL)
    assert_allclose(
        messy.predict(X_messy), dense.predict(X_messy.toarray()), **SPARSE_TOL
    )
    # The caller's matrix is read, never canonicalised in place.
    after = [X_messy.data, X_messy.indices, X_messy.indptr]
    for array, original in zip(after, before, strict=True):
        assert_array_equal(array, original)


def corrupt(X, kind):
    X = X.copy()
    if kind == "column-too-large":
        X.indices[3] = X.shape[1]
    elif kind == "column-negative":
        X.indices[3] = -1
    elif kind == "indptr-decreasing":
        X.indptr[5] = X.indptr[6] + 1
    elif kind == "indptr-past-end":
        X.indptr[-1] += 5
    elif kind == "data-too-short":
        X.data = X.data[:-3]
    return X


CORRUPTIONS = {
    "column-too-large": "column indices outside",
    "column-negative": "column indices outside",
    "indptr-decreasing": "invalid indptr",
    "indptr-past-end": "invalid indptr",
    "data-too-short": "fewer data values than indices",
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_corrupt_csr_raises_value_error(solver, kind):
    # The kernels index the weights with these arrays without bounds checks:
    # a corrupt matrix must be refused in Python, by fit and by predict.
    X, y = digits()
    X_sparse = sp.csr_matrix(X)
    model = small_model(MLPClassifier, solver, max_iter=1).fit(X_sparse, y)
    bad = corrupt(X_sparse, kind)

    with pytest.raises(ValueError, match=CORRUPTIONS[kind]):
        small_model(MLPClassifier, solver, max_iter=1).fit(bad, y)
    with pytest.raises(ValueError, match=CORRUPTIONS[kind]):
        model.predict(bad)


# ---------------------------------------------------------------- sample_weight


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_unit_weights_equal_no_weights(estimator, solver):
    X, y = digits()
    y = target_for(estimator, y)
    weighted = small_model(estimator, solver).fit(X, y, sample_weight=np.ones(len(y)))
    unweighted = small_model(estimator, solver).fit(X, y)
    assert_same_model(weighted, unweighted, X, rtol=1e-12, atol=1e-14)


def full_batch_model(estimator, solver, **params):
    # One batch per epoch in row order: dropping or repeating rows then
    # changes nothing but the rows in the batch.
    return small_model(
        estimator, solver, batch_size="auto", shuffle=False, max_iter=15, **params
    )


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_zero_weight_equals_dropping_the_row(estimator, solver):
    X, y = digits()
    y = target_for(estimator, y)
    sample_weight = np.random.RandomState(1).uniform(0.5, 2.0, size=len(y))
    dropped = np.arange(len(y)) % 4 == 1
    sample_weight[dropped] = 0

    zeroed = full_batch_model(estimator, solver).fit(X, y, sample_weight=sample_weight)
    kept = ~dropped
    without = full_batch_model(estimator, solver).fit(
        X[kept], y[kept], sample_weight=sample_weight[kept]
    )

    assert_same_model(zeroed, without, X, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_integer_weights_equal_repeated_rows(estimator, solver):
    X, y = digits()
    y = target_for(estimator, y)
    sample_weight = np.random.RandomState(2).randint(0, 4, size=len(y))
    repeated = np.repeat(np.arange(len(y)), sample_weight)

    weighted = full_batch_model(estimator, solver).fit(
        X, y, sample_weight=sample_weight
    )
    # Without early stopping or shuffling, row order only changes rounding.
    expanded = full_batch_model(estimator, solver).fit(X[repeated], y[repeated])

    assert_same_model(weighted, expanded, X, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "kind, sample_weight, message",
    [
        pytest.param(
            "negative",
            np.r_[-1.0, np.ones(119)],
            "Negative values in data passed to `sample_weight`",
            id="negative",
        ),
        pytest.param(
            "nan", np.r_[np.nan, np.ones(119)], "sample_weight contains NaN", id="nan"
        ),
        pytest.param(
            "inf",
            np.r_[np.inf, np.ones(119)],
            "sample_weight contains infinity",
            id="inf",
        ),
        pytest.param(
            "short",
            np.ones(119),
            r"sample_weight.shape == \(119,\), expected \(120,\)",
            id="wrong-length",
        ),
        pytest.param("2d", np.ones((120, 2)), "Sample weights must be 1D", id="2d"),
        pytest.param("zeros", np.zeros(120), "at least one non-zero", id="all-zero"),
    ],
)
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_invalid_sample_weight_raises(solver, kind, sample_weight, message):
    X, y = digits()
    with pytest.raises(ValueError, match=message):
        small_model(MLPClassifier, solver).fit(X, y, sample_weight=sample_weight)


# One thread (tiny network), a batch split by rows (small), every product
# split (large): each epoch loop must stop at a batch of zero total weight.
@pytest.mark.parametrize(
    "n_features, hidden",
    [(8, (2,)), (8, (64,)), (300, (256,))],
    ids=["one-thread", "row-split", "product-split"],
)
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_batch_of_zero_total_weight_raises(solver, n_features, hidden):
    # scikit-learn divides by the batch's weight sum and raises
    # ZeroDivisionError; without a check the step would be 0 / 0.
    rng = np.random.RandomState(0)
    X = rng.rand(400, n_features)
    y = rng.randint(0, 3, 400)
    sample_weight = np.r_[np.ones(100), np.zeros(100), np.ones(200)]
    model = MLPClassifier(
        hidden_layer_sizes=hidden,
        solver=solver,
        batch_size=100,
        shuffle=False,
        max_iter=2,
        random_state=0,
    )
    with pytest.raises(ValueError, match="sample weights of a mini-batch sum to zero"):
        model.fit(X, y, sample_weight=sample_weight)
    # The same weights train when no batch is all zeros.
    model.set_params(batch_size=200).fit(X, y, sample_weight=sample_weight)
    assert np.isfinite(model.loss_curve_).all()


def test_early_stopping_scores_the_validation_rows_with_their_weights(
    early_stopping_rows,
):
    # The validation split takes the same rows as scikit-learn's (after the
    # initial weights are drawn) and scores them with their own weights.
    X, y = digits()
    y = (y > 4).astype(int)
    sample_weight = np.where(np.arange(len(y)) % 2, 5.0, 0.2)
    model = small_model(
        MLPClassifier, "adam", early_stopping=True, max_iter=1, validation_fraction=0.25
    ).fit(X, y, sample_weight=sample_weight)

    val = early_stopping_rows(y, [64, 7, 1], 0.25)
    y_pred = model.predict(X[val])
    expected = accuracy_score(y[val], y_pred, sample_weight=sample_weight[val])

    assert model.validation_scores_ == [pytest.approx(expected, rel=1e-12)]
    assert expected != pytest.approx(accuracy_score(y[val], y_pred))


# ---------------------------------------------------------------- poisson


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_poisson_without_hidden_nonlinearity_matches_glm(weighted):
    # One identity hidden unit makes the network log(mu) = a x + b, the
    # Poisson GLM: both minimise the same deviance, so predictions agree.
    rng = np.random.RandomState(3)
    X = rng.uniform(-1, 1, size=(80, 1))
    y = rng.poisson(np.exp(0.5 + 0.8 * X[:, 0]))
    sample_weight = rng.uniform(0.5, 2.0, size=80) if weighted else None
    glm = PoissonRegressor(alpha=0, tol=1e-7).fit(X, y, sample_weight=sample_weight)
    mlp = MLPRegressor(
        loss="poisson",
        hidden_layer_sizes=(1,),
        activation="identity",
        alpha=0,
        solver="lbfgs",
        tol=1e-7,
        random_state=0,
    ).fit(X, y, sample_weight=sample_weight)

    assert mlp.out_activation_ == "exp"
    assert_allclose(mlp.predict(X), glm.predict(X), rtol=1e-4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_poisson_negative_target_raises(solver):
    X = np.random.RandomState(4).normal(size=(10, 2))
    y = np.r_[-1.0, np.ones(9)]
    model = MLPRegressor(loss="poisson", solver=solver, max_iter=2)
    with pytest.raises(ValueError, match="negative which is not allowed"):
        model.fit(X, y)
    if solver != "lbfgs":
        with pytest.raises(ValueError, match="negative which is not allowed"):
            model.partial_fit(X, y)


# ---------------------------------------------------------------- multi-target


@pytest.mark.parametrize("is_sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_multilabel_predict_and_predict_proba(solver, is_sparse):
    X, Y = make_multilabel_classification(
        n_samples=80, n_features=8, n_classes=4, random_state=0
    )
    X = X / X.max()
    X = sp.csr_matrix(X) if is_sparse else X
    model = small_model(MLPClassifier, solver, max_iter=30, learning_rate_init=0.1)
    model.fit(X, Y)

    proba = model.predict_proba(X)
    predicted = model.predict(X)

    assert model.out_activation_ == "logistic"
    assert_array_equal(model.classes_, np.arange(4))
    assert proba.shape == predicted.shape == Y.shape
    assert ((proba >= 0) & (proba <= 1)).all()
    # Independent labels: probabilities do not sum to one across a row.
    assert not np.allclose(proba.sum(axis=1), 1)
    assert_array_equal(predicted, (proba > 0.5).astype(Y.dtype))
    assert model.score(X, Y) > 0.2  # subset accuracy, above chance (1/16)


def test_multi_output_regression_gradient_is_of_reported_loss():
    # fastmlp's deliberate difference (scikit-learn issue #8349): with
    # several outputs the gradient is that of the reported loss, which
    # averages the squared error over outputs; scikit-learn's is n_outputs
    # times larger.
    rng = np.random.RandomState(5)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 3))
    sample_weight = rng.uniform(0.5, 2.0, size=30)
    model = MLPRegressor(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver="lbfgs",
        max_iter=2,
        alpha=0.1,
        random_state=0,
    ).fit(X, Y)
    theta = np.concatenate([a.ravel() for a in model.coefs_ + model.intercepts_])

    loss, grad = model._loss_grad_lbfgs(theta, X, Y, sample_weight)

    eps = 1e-6
    numerical = np.empty_like(theta)
    for i in range(theta.size):
        step = np.zeros_like(theta)
        step[i] = eps
        numerical[i] = (
            model._loss_grad_lbfgs(theta + step, X, Y, sample_weight)[0]
            - model._loss_grad_lbfgs(theta - step, X, Y, sample_weight)[0]
        ) / (2 * eps)
    assert_allclose(grad, numerical, rtol=1e-6, atol=1e-9)

    require("sample_weight")  # in scikit-learn's _backprop signature
    sk = SklearnMLPRegressor(hidden_layer_sizes=(5,), activation="tanh", alpha=0.1)
    sk.coefs_ = [c.astype(np.float64) for c in model.coefs_]
    sk.intercepts_ = [b.astype(np.float64) for b in model.intercepts_]
    sk.n_layers_, sk.out_activation_ = 3, "identity"
    sk_loss, coef_grads, intercept_grads = sk._backprop(
        X, Y, sample_weight, [X, None, None], [None] * 2, [None] * 2, [None] * 2
    )
    sk_grad = np.concatenate([g.ravel() for g in coef_grads + intercept_grads])
    assert_allclose(loss, sk_loss, rtol=1e-12)
    # The L2 term is not divided by n_outputs, so compare data terms.
    n_coef = sum(c.size for c in model.coefs_)
    l2 = np.zeros_like(theta)
    l2[:n_coef] = 0.1 * theta[:n_coef] / sample_weight.sum()
    assert_allclose(sk_grad - l2, 3 * (grad - l2), rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- incremental


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_partial_fit_equals_fit_after_the_same_epochs(estimator, solver):
    # Without shuffling, fit draws nothing after the initial weights, so
    # three partial_fit calls run the epochs of fit(max_iter=3).
    X, y = digits()
    y = target_for(estimator, y)
    fitted = small_model(estimator, solver, shuffle=False, max_iter=3).fit(X, y)
    incremental = small_model(estimator, solver, shuffle=False)
    classes = {"classes": np.unique(y)} if estimator is MLPClassifier else {}
    for _ in range(3):
        incremental.partial_fit(X, y, **classes)

    assert incremental.t_ == fitted.t_ == 3 * len(y)
    assert_allclose(incremental.loss_curve_, fitted.loss_curve_, rtol=1e-12)
    assert_same_model(incremental, fitted, X, rtol=1e-12, atol=1e-14)


def test_warm_start_continues_from_the_last_weights():
    # Plain SGD (no momentum, constant rate, no shuffling) carries no state
    # but the weights, so 2 + 2 warm-started epochs are 4 epochs.
    X, y = digits()
    params = {"momentum": 0.0, "shuffle": False}
    four = small_model(MLPClassifier, "sgd", max_iter=4, **params).fit(X, y)
    warm = small_model(MLPClassifier, "sgd", max_iter=2, warm_start=True, **params)
    warm.fit(X, y)
    warm.fit(X, y)
    cold = small_model(MLPClassifier, "sgd", max_iter=2, **params).fit(X, y)
    cold_again = clone(cold).fit(X, y)

    assert warm.n_iter_ == 2
    assert_allclose(warm.loss_curve_, four.loss_curve_, rtol=1e-12)
    assert_same_model(warm, four, X, rtol=1e-12, atol=1e-14)
    # Without warm_start a second fit starts again from the same draw.
    assert_same_model(cold_again, cold, X, rtol=0, atol=0)


LABEL_KINDS = {
    "int": lambda y: y,
    "binary": lambda y: (y > 4).astype(np.int64),
    "string": lambda y: np.array(["ant", "bee", "cat", "dog", "eel"])[y % 5],
    "object": lambda y: np.array(["ant", "bee", "cat"], dtype=object)[y % 3],
    "float": lambda y: y.astype(np.float32),
    "bool": lambda y: y > 4,
}


@pytest.mark.parametrize("kind", LABEL_KINDS)
@pytest.mark.filterwarnings("ignore:Got `batch_size`")
def test_partial_fit_labels_of_every_kind_as_sklearn(kind):
    # Labels among classes_ skip scikit-learn's label binarizer (~1 ms a
    # call) for a sorted search: the indicator, so the fit, must not change.
    X, y = digits()
    y = LABEL_KINDS[kind](y)
    classes = np.unique(y)
    ours = small_model(MLPClassifier, "adam")
    theirs = small_model(SklearnMLPClassifier, "adam")
    for model in (ours, theirs):
        model.partial_fit(X[:30], y[:30], classes=classes)
        for start in range(30, 120, 30):
            rows = slice(start, start + 30)
            model.partial_fit(X[rows], y[rows])
            y_part = y[rows][y[rows] != classes[0]]  # a chunk without a class
            model.partial_fit(X[rows][: len(y_part)], y_part)
            model.partial_fit(X[rows].tolist(), y[rows].tolist())  # checked

    assert_same_model(ours, theirs, X, rtol=1e-10, atol=1e-12)
    assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize("kind", LABEL_KINDS)
def test_fit_labels_of_every_kind_as_sklearn(kind):
    # fit's indicator takes the same sorted search once the binarizer has
    # found the classes.
    X, y = digits()
    y = LABEL_KINDS[kind](y)
    ours = small_model(MLPClassifier, "adam").fit(X, y)
    theirs = small_model(SklearnMLPClassifier, "adam").fit(X, y)

    assert_same_model(ours, theirs, X, rtol=1e-10, atol=1e-12)
    assert_array_equal(ours.predict(X), theirs.predict(X))


def _partial_fit_error(estimator, X, y):
    model = estimator(hidden_layer_sizes=(5,), random_state=0)
    is_classifier = estimator in (MLPClassifier, SklearnMLPClassifier)
    classes = {"classes": [0, 1, 2]} if is_classifier else {}
    model.partial_fit(np.zeros((3, 4)), [0, 1, 2], **classes)
    with pytest.raises(Exception) as error:
        model.partial_fit(X, y)
    return error.type, str(error.value)


PLAIN_BAD_INPUTS = {
    "nan in X": (np.array([[0.0, np.nan, 0, 0]] * 2), np.array([0, 1])),
    "inf in X": (np.array([[0.0, -np.inf, 0, 0]] * 2), np.array([0, 1])),
    "nan in y": (np.zeros((2, 4)), np.array([0.0, np.nan])),
    "too few features": (np.zeros((2, 3)), np.array([0, 1])),
    "too few labels": (np.zeros((3, 4)), np.array([0, 1])),
    "no rows": (np.zeros((0, 4)), np.array([], dtype=np.int64)),
}
BAD_LABELS = {
    "unknown label": (np.zeros((2, 4)), np.array([0, 5])),
    "fractional label": (np.zeros((2, 4)), np.array([0, 1.5])),
    "string and number labels": (np.zeros((2, 4)), np.array([0, "a"], dtype=object)),
    # Finite, but its sum overflows: X takes the checked path, which passes
    # it, and the label fails there.
    "huge X": (np.full((2, 4), np.finfo(np.float64).max), np.array([0, 5])),
}
PAIRS = {
    "classifier": (MLPClassifier, SklearnMLPClassifier),
    "regressor": (MLPRegressor, SklearnMLPRegressor),
}


@pytest.mark.parametrize(
    "kind, case",
    [("classifier", case) for case in [*PLAIN_BAD_INPUTS, *BAD_LABELS]]
    + [("regressor", case) for case in PLAIN_BAD_INPUTS],
)
def test_partial_fit_on_bad_plain_arrays_raises_sklearns_errors(kind, case):
    X, y = {**PLAIN_BAD_INPUTS, **BAD_LABELS}[case]
    ours, theirs = (_partial_fit_error(cls, X, y) for cls in PAIRS[kind])
    assert ours == theirs


def _continue(model, X, y, how):
    if how == "partial_fit":
        return model.partial_fit(X, y)
    return model.set_params(warm_start=True).fit(X, y)


CONTINUATIONS = [
    pytest.param("sgd", "warm_start", id="sgd-warm_start"),
    pytest.param("adam", "partial_fit", id="adam-partial_fit"),
    pytest.param("lbfgs", "warm_start", id="lbfgs-warm_start"),
]


@pytest.mark.parametrize("hidden", [(5,), (7, 7)], ids=["narrower", "deeper"])
@pytest.mark.parametrize("solver, how", CONTINUATIONS)
def test_continuing_with_other_hidden_sizes_says_so(solver, how, hidden):
    # scikit-learn keeps training the old shapes here (sgd, adam), reads
    # the old weights into the new ones (lbfgs) or fails deep inside.
    X, y = digits()
    model = small_model(MLPClassifier, solver).fit(X, y)
    before = [w.copy() for w in model.coefs_ + model.intercepts_]
    model.set_params(hidden_layer_sizes=hidden)

    with pytest.raises(ValueError, match=r"hidden_layer_sizes=.* differs .*\(7,\)"):
        _continue(model, X, y, how)
    for w, w_before in zip(model.coefs_ + model.intercepts_, before, strict=True):
        assert_array_equal(w, w_before)
    assert model.predict(X).shape == y.shape


@pytest.mark.parametrize("solver, how", CONTINUATIONS)
def test_continuing_with_other_output_count_says_so(solver, how):
    X, y = digits()
    model = small_model(MLPRegressor, solver).fit(X, y / 9.0)

    with pytest.raises(ValueError, match="y has 2 output.*the fitted network has 1"):
        _continue(model, X, np.c_[y, y] / 9.0, how)


@pytest.mark.parametrize("solver, how", CONTINUATIONS)
@pytest.mark.parametrize(
    "fitted_dtype, new_dtype",
    [(np.float32, np.float64), (np.float64, np.float32)],
    ids=["32-then-64", "64-then-32"],
)
def test_continuing_keeps_the_fitted_dtype(fitted_dtype, new_dtype, solver, how):
    # As scikit-learn's coefs_ keep theirs: the new data are converted to
    # the network's dtype, so the result is that of data given in it.
    X, y = digits()
    models = [
        small_model(MLPClassifier, solver).fit(X.astype(fitted_dtype), y)
        for _ in range(2)
    ]
    converted = _continue(models[0], X.astype(new_dtype), y, how)
    native = _continue(models[1], X.astype(fitted_dtype), y, how)

    weights = converted.coefs_ + converted.intercepts_
    assert all(w.dtype == fitted_dtype for w in weights)
    assert_same_model(converted, native, X, rtol=0, atol=0)
    if solver != "lbfgs":  # scikit-learn's L-BFGS always returns float64
        reference = small_model(SklearnMLPClassifier, solver)
        reference.fit(X.astype(fitted_dtype), y)
        _continue(reference, X.astype(new_dtype), y, how)
        assert reference.coefs_[0].dtype == fitted_dtype


def _pickle_round_trip(model, tmp_path):
    return pickle.loads(pickle.dumps(model))


def _joblib_round_trip(model, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(model, path)
    return joblib.load(path)


@pytest.mark.parametrize(
    "round_trip",
    [
        pytest.param(_pickle_round_trip, id="pickle"),
        pytest.param(_joblib_round_trip, id="joblib"),
    ],
)
@pytest.mark.parametrize(
    "estimator, solver",
    [
        pytest.param(MLPClassifier, "adam", id="classifier-adam"),
        pytest.param(MLPRegressor, "sgd", id="regressor-sgd"),
    ],
)
def test_round_trip_then_partial_fit_continues_identically(
    estimator, solver, round_trip, tmp_path
):
    X, y = digits()
    y = target_for(estimator, y)
    classes = {"classes": np.unique(y)} if estimator is MLPClassifier else {}
    straight = small_model(estimator, solver)
    stored = small_model(estimator, solver)
    for model in (straight, stored):
        model.partial_fit(X, y, **classes)

    restored = round_trip(stored, tmp_path)

    assert_same_model(restored, stored, X, rtol=0, atol=0)
    straight.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert_same_model(restored, straight, X, rtol=0, atol=0)
    assert restored.loss_curve_ == straight.loss_curve_
    assert restored.t_ == straight.t_


# ---------------------------------------------------------------- API details


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
@pytest.mark.parametrize("solver", SOLVERS)
def test_string_labels(solver, n_classes):
    X, y = digits()
    y = y % n_classes
    names = np.array(["ant", "bee", "cat"])[:n_classes]
    labelled = small_model(MLPClassifier, solver).fit(X, names[y])
    coded = small_model(MLPClassifier, solver).fit(X, y)

    assert_array_equal(labelled.classes_, names)
    assert_array_equal(labelled.predict(X), names[coded.predict(X)])
    assert_same_model(labelled, coded, X, rtol=0, atol=0)
    if solver != "lbfgs":
        incremental = small_model(MLPClassifier, solver)
        incremental.partial_fit(X[:40], names[y[:40]], classes=names)
        incremental.partial_fit(X[40:], names[y[40:]])
        assert set(incremental.predict(X)) <= set(names)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_feature_names_are_kept_and_checked(estimator):
    pd = pytest.importorskip("pandas")
    X, y = digits()
    y = target_for(estimator, y)
    columns = [f"pixel_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    model = small_model(estimator, "adam").fit(frame, y)

    assert_array_equal(model.feature_names_in_, columns)
    assert model.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(frame.rename(columns={"pixel_0": "other"}))
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = model.predict(X)
    assert_allclose(model.predict(frame), from_array)
    assert not hasattr(small_model(estimator, "adam").fit(X, y), "feature_names_in_")


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_clone_is_unfitted_and_refits_identically(estimator):
    X, y = digits()
    y = target_for(estimator, y)
    model = small_model(estimator, "sgd", alpha=0.01).fit(X, y)

    copy = clone(model)

    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coefs_")
    copy.fit(X, y)
    assert_same_model(copy, model, X, rtol=0, atol=0)
    assert copy.coefs_[0] is not model.coefs_[0]
