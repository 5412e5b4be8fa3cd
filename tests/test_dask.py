# SPDX-License-Identifier: BSD-3-Clause
"""fastmlp.dask: block-by-block training and lazy prediction on Dask arrays.

The reference for training is the estimator's own partial_fit called on the
same NumPy blocks in the same order: fit_blocks must be exactly that.
"""

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from types import SimpleNamespace

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_info, threadpool_limits

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp import dask as fastmlp_dask
from fastmlp._dask_lbfgs import BlockObjective, BlockSpec
from fastmlp._layout import Layout
from fastmlp._openmp_helpers import openmp_enabled

from float32_overflow import scaled_regression, squared_error_loss

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BLOCK_ROWS = 150


def _digits(dtype=np.float64, n=600):
    X, y = load_digits(return_X_y=True)
    return (X[:n] / 16.0).astype(dtype), y[:n]


def _classifier(**params):
    defaults = {"hidden_layer_sizes": (16,), "random_state": 0}
    return MLPClassifier(**{**defaults, **params})


def _regressor(**params):
    defaults = {"hidden_layer_sizes": (16,), "random_state": 0}
    return MLPRegressor(**{**defaults, **params})


def _weights(model):
    return [w.copy() for w in model.coefs_ + model.intercepts_]


def _assert_same_weights(a, b):
    for u, v in zip(_weights(a), _weights(b), strict=True):
        assert_array_equal(u, v)


def _partial_fit_blocks(model, X, y, order, sample_weight=None, classes=None):
    """The reference: partial_fit on NumPy blocks of BLOCK_ROWS in `order`."""
    for k in order:
        rows = slice(k * BLOCK_ROWS, (k + 1) * BLOCK_ROWS)
        weight = None if sample_weight is None else sample_weight[rows]
        extra = {} if classes is None else {"classes": classes}
        model.partial_fit(X[rows], y[rows], sample_weight=weight, **extra)
        classes = None
    return model


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_one_epoch_in_order_equals_one_partial_fit_pass(dtype, solver):
    # Blocks a multiple of batch_size, no shuffling: the blocks' mini-batches
    # are those of one partial_fit call over all rows, so are the weights.
    X, y = _digits(dtype)
    blocked = _classifier(solver=solver, shuffle=False, batch_size=50)
    whole = clone(blocked)
    fastmlp_dask.fit_blocks(
        blocked, da.from_array(X, chunks=BLOCK_ROWS), y, shuffle_blocks=False
    )
    whole.partial_fit(X, y, classes=np.unique(y))
    _assert_same_weights(blocked, whole)
    assert blocked.coefs_[0].dtype == dtype
    assert blocked.t_ == whole.t_ == X.shape[0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shuffled_blocks_equal_partial_fit_in_the_drawn_order(dtype):
    X, y = _digits(dtype)
    n_blocks = X.shape[0] // BLOCK_ROWS
    blocked = _classifier()
    fastmlp_dask.fit_blocks(
        blocked, da.from_array(X, chunks=BLOCK_ROWS), y, epochs=3, random_state=7
    )
    rng = check_random_state(7)
    order = np.concatenate([rng.permutation(n_blocks) for _ in range(3)])
    assert list(order[:n_blocks]) != list(range(n_blocks))  # really shuffled
    reference = _partial_fit_blocks(_classifier(), X, y, order, classes=np.unique(y))
    _assert_same_weights(blocked, reference)
    assert blocked.loss_curve_ == reference.loss_curve_
    assert len(blocked.loss_curve_) == 3 * n_blocks  # one entry per block


def test_regressor_multi_output_and_sample_weight():
    X, Y = make_regression(600, 8, n_targets=3, random_state=0)
    Y = Y / Y.std()
    weight = np.random.RandomState(0).uniform(0.5, 2.0, size=600)
    blocked = _regressor()
    fastmlp_dask.fit_blocks(
        blocked,
        da.from_array(X, chunks=BLOCK_ROWS),
        da.from_array(Y, chunks=(100, 1)),  # other row blocks, split columns
        sample_weight=da.from_array(weight, chunks=200),
        shuffle_blocks=False,
        epochs=2,
    )
    order = list(range(4)) * 2
    reference = _partial_fit_blocks(_regressor(), X, Y, order, sample_weight=weight)
    _assert_same_weights(blocked, reference)
    unweighted = fastmlp_dask.fit_blocks(
        _regressor(), da.from_array(X, chunks=BLOCK_ROWS), Y, shuffle_blocks=False
    )
    assert not np.array_equal(unweighted.coefs_[0], blocked.coefs_[0])


def test_numpy_and_dask_targets_and_column_blocks_agree():
    X, y = _digits()
    as_numpy = fastmlp_dask.fit_blocks(
        _classifier(), da.from_array(X, chunks=(BLOCK_ROWS, 64)), y, random_state=0
    )
    as_dask = fastmlp_dask.fit_blocks(
        _classifier(),
        da.from_array(X, chunks=(BLOCK_ROWS, 16)),  # column blocks are joined
        da.from_array(y, chunks=70),
        random_state=0,
    )
    _assert_same_weights(as_numpy, as_dask)


def test_classes_are_found_when_the_first_block_lacks_some():
    X, y = _digits()
    order = np.argsort(y, kind="stable")  # the first block holds 0s and 1s only
    X, y = X[order], y[order]
    found = fastmlp_dask.fit_blocks(
        _classifier(),
        da.from_array(X, chunks=BLOCK_ROWS),
        da.from_array(y, 100),
        random_state=0,
    )
    given = fastmlp_dask.fit_blocks(
        _classifier(),
        da.from_array(X, chunks=BLOCK_ROWS),
        y,
        classes=np.arange(10),
        random_state=0,
    )
    assert_array_equal(found.classes_, np.arange(10))
    _assert_same_weights(found, given)


def test_string_labels_and_multilabel_targets():
    X, y = _digits()
    names = np.array(["zero", "one", "two", "three", "four"] * 2)[y]
    model = fastmlp_dask.fit_blocks(
        _classifier(), da.from_array(X, chunks=BLOCK_ROWS), names, epochs=2
    )
    assert set(model.classes_) == set(names)
    assert model.predict(X[:5]).dtype == names.dtype

    Y = np.stack([y % 2 == 0, y > 4, y == 3], axis=1).astype(int)
    blocked = fastmlp_dask.fit_blocks(
        _classifier(), da.from_array(X, chunks=BLOCK_ROWS), Y, shuffle_blocks=False
    )
    reference = _partial_fit_blocks(_classifier(), X, Y, range(4), classes=[0, 1, 2])
    _assert_same_weights(blocked, reference)
    predicted = fastmlp_dask.predict(blocked, da.from_array(X, chunks=BLOCK_ROWS))
    assert predicted.shape == Y.shape
    assert_array_equal(predicted.compute(), blocked.predict(X))


def test_a_fitted_estimator_continues():
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    model = fastmlp_dask.fit_blocks(_classifier(), Xd, y, shuffle_blocks=False)
    fastmlp_dask.fit_blocks(model, Xd, y, shuffle_blocks=False)
    reference = _partial_fit_blocks(
        _classifier(), X, y, list(range(4)) * 2, classes=np.unique(y)
    )
    _assert_same_weights(model, reference)
    assert model.t_ == 2 * X.shape[0]


def test_a_callback_stops_between_blocks_and_is_given_back():
    X, y = _digits()
    seen = []

    def stop_after_two(model):
        seen.append(model.t_)
        return len(seen) == 2

    model = _classifier(callbacks=stop_after_two)
    fastmlp_dask.fit_blocks(
        model, da.from_array(X, chunks=BLOCK_ROWS), y, epochs=3, shuffle_blocks=False
    )
    assert seen == [BLOCK_ROWS, 2 * BLOCK_ROWS]
    assert model.get_params()["callbacks"] is stop_after_two
    reference = _partial_fit_blocks(_classifier(), X, y, [0, 1], classes=np.unique(y))
    _assert_same_weights(model, reference)


def test_ctrl_c_in_training_or_in_dask_stops_and_keeps_the_weights():
    X, y = _digits()
    calls = []

    def interrupt_second(model):
        calls.append(model.t_)
        if len(calls) == 2:
            raise KeyboardInterrupt

    model = _classifier(callbacks=interrupt_second)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        fastmlp_dask.fit_blocks(
            model, da.from_array(X, chunks=BLOCK_ROWS), y, shuffle_blocks=False
        )
    assert calls == [BLOCK_ROWS, 2 * BLOCK_ROWS]
    assert model.t_ == 2 * BLOCK_ROWS

    def interrupt_block_two(block, block_info=None):
        if block_info[0]["chunk-location"][0] == 2:
            raise KeyboardInterrupt
        return block

    Xd = da.from_array(X, chunks=BLOCK_ROWS).map_blocks(
        interrupt_block_two, dtype=X.dtype
    )
    model = _classifier()
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        fastmlp_dask.fit_blocks(model, Xd, y, shuffle_blocks=False)
    assert model.t_ == 2 * BLOCK_ROWS  # blocks 0 and 1 trained, then stopped


def test_divergence_stops_after_the_block_that_diverged():
    X, y = make_regression(600, 8, random_state=0)
    model = _regressor(solver="sgd", learning_rate_init=1e6)
    with pytest.warns(ConvergenceWarning, match="Training diverged"):
        fastmlp_dask.fit_blocks(model, da.from_array(X, chunks=BLOCK_ROWS), y, epochs=5)
    # Stopped at the first block whose loss was not finite, of 20.
    curve = np.array(model.loss_curve_)
    assert len(curve) < 20
    assert np.isfinite(curve[:-1]).all() and not np.isfinite(curve[-1])


def test_unknown_block_sizes_and_empty_blocks():
    X, y = _digits()
    keep = da.from_array(y, chunks=BLOCK_ROWS) != 3
    Xd = da.from_array(X, chunks=BLOCK_ROWS)[keep]  # row blocks of unknown size
    yd = da.from_array(y, chunks=BLOCK_ROWS)[keep]
    assert np.isnan(Xd.shape[0])
    model = fastmlp_dask.fit_blocks(
        _classifier(), Xd, yd, shuffle_blocks=False, classes=np.arange(10)
    )
    kept = y != 3
    expected = _classifier()
    for k, start in enumerate(range(0, 600, BLOCK_ROWS)):
        rows = np.arange(start, start + BLOCK_ROWS)[kept[start : start + BLOCK_ROWS]]
        extra = {"classes": np.arange(10)} if k == 0 else {}
        expected.partial_fit(X[rows], y[rows], **extra)
    _assert_same_weights(model, expected)

    # A block left empty by a filter is skipped, in training and prediction.
    no_block_one = da.from_array(np.arange(600) // BLOCK_ROWS != 1, chunks=BLOCK_ROWS)
    X_gap = da.from_array(X, chunks=BLOCK_ROWS)[no_block_one]
    y_gap = da.from_array(y, chunks=BLOCK_ROWS)[no_block_one]
    gap = fastmlp_dask.fit_blocks(
        _classifier(), X_gap, y_gap, shuffle_blocks=False, classes=np.arange(10)
    )
    reference = _partial_fit_blocks(
        _classifier(), X, y, [0, 2, 3], classes=np.arange(10)
    )
    _assert_same_weights(gap, reference)
    proba = fastmlp_dask.predict_proba(gap, X_gap).compute()
    rows = np.arange(600) // BLOCK_ROWS != 1
    assert_allclose(proba, gap.predict_proba(X[rows]), rtol=1e-12, atol=1e-15)

    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        fastmlp_dask.fit_blocks(_classifier(), Xd, y[kept])
    misaligned = da.from_array(y, chunks=BLOCK_ROWS)[da.from_array(y, BLOCK_ROWS) != 4]
    with pytest.raises(
        ValueError,
        match=r"Block \d of X has \d+ rows but .* y has \d+: X and y are not aligned",
    ):
        fastmlp_dask.fit_blocks(
            _classifier(), Xd, misaligned, shuffle_blocks=False, classes=np.arange(10)
        )


def test_bad_arguments_are_named():
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    with pytest.raises(TypeError, match="X must be a dask.array.Array, got ndarray"):
        fastmlp_dask.fit_blocks(_classifier(), X, y)

    class DataFrameLike:  # dask.dataframe needs pyarrow, not a test extra
        def to_dask_array(self, lengths=False):
            raise AssertionError("fit_blocks must not convert it itself")

    with pytest.raises(TypeError, match=r"to_dask_array\(lengths=True\)"):
        fastmlp_dask.fit_blocks(_classifier(), DataFrameLike(), y)
    with pytest.raises(ValueError, match="X must be 2-D"):
        fastmlp_dask.fit_blocks(_classifier(), Xd[:, 0], y)
    for epochs, error in [(0, ValueError), (1.5, TypeError), (True, TypeError)]:
        with pytest.raises(error, match="epochs"):
            fastmlp_dask.fit_blocks(_classifier(), Xd, y, epochs=epochs)
    with pytest.raises(ValueError, match="X has 600 rows but y has 599"):
        fastmlp_dask.fit_blocks(_classifier(), Xd, y[:-1])
    with pytest.raises(ValueError, match="X has 600 rows but y has 599"):
        fastmlp_dask.fit_blocks(_classifier(), Xd, da.from_array(y[:-1], chunks=100))
    with pytest.raises(ValueError, match="X has 600 rows but sample_weight has 3"):
        fastmlp_dask.fit_blocks(_classifier(), Xd, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="y must be 1-D or 2-D"):
        fastmlp_dask.fit_blocks(_classifier(), Xd, y.reshape(600, 1, 1))
    with pytest.raises(AttributeError, match="partial_fit"):
        fastmlp_dask.fit_blocks(_classifier(solver="lbfgs"), Xd, y)
    with pytest.raises(ValueError, match="early_stopping"):
        fastmlp_dask.fit_blocks(_classifier(early_stopping=True), Xd, y)
    bad = X.copy()
    bad[400, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fastmlp_dask.fit_blocks(_classifier(), da.from_array(bad, BLOCK_ROWS), y)


def test_warm_start_needs_every_class_in_every_block():
    X, y = _digits()
    order = np.argsort(y, kind="stable")  # blocks of a few classes each
    Xd = da.from_array(X[order], chunks=BLOCK_ROWS)
    yd = da.from_array(y[order], chunks=BLOCK_ROWS)
    with pytest.raises(
        ValueError, match=r"Block 0 of y holds the classes \[0, 1, 2\], not"
    ):
        fastmlp_dask.fit_blocks(
            _classifier(warm_start=True), Xd, yd, shuffle_blocks=False
        )
    fitted = _classifier(warm_start=True).fit(X, y)  # continuing: the same rule
    with pytest.raises(
        ValueError, match=r"Block 0 of y holds the classes \[0, 1, 2\], not"
    ):
        fastmlp_dask.fit_blocks(fitted, Xd, yd, shuffle_blocks=False)
    # The same first partial_fit call in memory raises scikit-learn's error.
    with pytest.raises(ValueError, match="warm_start can only be used"):
        _classifier(warm_start=True).partial_fit(
            X[order][:BLOCK_ROWS], y[order][:BLOCK_ROWS], classes=np.arange(10)
        )
    # Blocks that each hold every class train as without warm_start.
    warm = fastmlp_dask.fit_blocks(
        _classifier(warm_start=True),
        da.from_array(X, chunks=BLOCK_ROWS),
        y,
        shuffle_blocks=False,
    )
    cold = fastmlp_dask.fit_blocks(
        _classifier(), da.from_array(X, chunks=BLOCK_ROWS), y, shuffle_blocks=False
    )
    _assert_same_weights(warm, cold)


def test_no_rows_at_all_is_an_error_not_an_unfitted_estimator():
    X, y = _digits()
    nothing = da.from_array(y, chunks=BLOCK_ROWS) > 99  # a filter keeping no row
    X_none = da.from_array(X, chunks=BLOCK_ROWS)[nothing]
    y_none = da.from_array(y, chunks=BLOCK_ROWS)[nothing]
    for model in (_classifier(), _classifier().fit(X, y)):
        with pytest.raises(ValueError, match=r"X has no rows: each of its 4 row"):
            fastmlp_dask.fit_blocks(model, X_none, y_none, classes=np.arange(10))
    with pytest.raises(ValueError, match=r"X has no rows: each of its 1 row"):
        fastmlp_dask.fit_blocks(_regressor(), da.zeros((0, 3)), np.zeros(0))
    # fit_lbfgs: a regressor needs no classes, so only the blocks can tell.
    with pytest.raises(ValueError, match=r"X has no rows: each of its 4 row"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPRegressor), X_none, y_none.astype(float))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lazy_predictions_equal_the_estimators(dtype):
    X, y = _digits(dtype)
    model = _classifier(max_iter=30).fit(X, y)
    Xd = da.from_array(X, chunks=(128, 40))
    for method in ["predict", "predict_proba", "predict_log_proba"]:
        lazy = getattr(fastmlp_dask, method)(model, Xd)
        assert isinstance(lazy, da.Array)
        expected = getattr(model, method)(X)
        assert lazy.dtype == expected.dtype
        computed = lazy.compute()
        assert computed.shape == expected.shape
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        if method == "predict":
            assert_array_equal(computed, expected)
        else:
            assert_allclose(computed, expected, rtol=rtol, atol=1e-6 * rtol)

    X, Y = make_regression(300, 8, n_targets=2, random_state=0)
    regressor = _regressor(max_iter=20).fit(X, Y[:, 0])
    lazy = fastmlp_dask.predict(regressor, da.from_array(X, chunks=100))
    assert lazy.ndim == 1
    assert_allclose(lazy.compute(), regressor.predict(X), rtol=1e-12)
    two = _regressor(max_iter=20).fit(X, Y)
    lazy = fastmlp_dask.predict(two, da.from_array(X, chunks=100))
    assert lazy.shape == (300, 2)
    assert_allclose(lazy.compute(), two.predict(X), rtol=1e-12)


def test_prediction_errors():
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    with pytest.raises(NotFittedError):
        fastmlp_dask.predict(_classifier(), Xd)
    model = _classifier(max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="X has 63 features, but MLPClassifier"):
        fastmlp_dask.predict(model, Xd[:, :63])
    with pytest.raises(TypeError, match="got ndarray"):
        fastmlp_dask.predict_proba(model, X)
    regressor = _regressor(max_iter=5).fit(X, y.astype(float))
    with pytest.raises(AttributeError, match="predict_proba"):
        fastmlp_dask.predict_proba(regressor, Xd)
    bad = X.copy()
    bad[5, 5] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        fastmlp_dask.predict(model, da.from_array(bad, BLOCK_ROWS)).compute()


def test_worker_processes_get_a_pickled_copy():
    # The 'processes' scheduler pickles the estimator and the blocks' tasks
    # to other processes, as a distributed cluster's workers would.
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    # One pool for every computation: a new one per computation would
    # start (spawn) and import its processes afresh, ~2.5 s each here.
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(2, mp_context=spawn) as pool,
        dask.config.set(scheduler="processes", pool=pool),
    ):
        model = fastmlp_dask.fit_blocks(_classifier(), Xd, y, random_state=0)
        proba = fastmlp_dask.predict_proba(model, Xd).compute()
        lbfgs = fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier, max_iter=5), Xd, y)
    reference = fastmlp_dask.fit_blocks(_classifier(), Xd, y, random_state=0)
    _assert_same_weights(model, reference)
    assert_allclose(proba, model.predict_proba(X), rtol=1e-12)
    in_memory = _lbfgs(MLPClassifier, max_iter=5).fit(X, y)
    for u, v in zip(_weights(lbfgs), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)


def test_importing_fastmlp_does_not_import_dask():
    code = "import sys, fastmlp; print('dask' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_readme_example_runs(run_readme_example):
    namespace = run_readme_example("- **Dask**")
    X, y = load_digits(return_X_y=True)
    assert namespace["labels"].shape == y.shape
    assert np.mean(namespace["labels"] == y) > 0.95
    assert namespace["model"].t_ == 30 * len(y)
    assert namespace["full_batch"].score(X / 16, y) > 0.95


# ------------------------------------------------------------------ fit_lbfgs


def _lbfgs_task(task):
    """(estimator class, params, X, y, sample_weight) of a small problem."""
    rng = np.random.RandomState(0)
    if task in ("binary", "multiclass"):
        X, y = _digits()
        y = y % 2 if task == "binary" else y
        return MLPClassifier, {}, X, y, None
    X, y = make_regression(600, 8, n_targets=2, random_state=0)
    y = y / y.std()
    weight = rng.uniform(0, 2, size=600)
    weight[:BLOCK_ROWS] = 0  # a block that weighs nothing
    if task == "poisson":
        y = rng.poisson(np.exp(0.2 * X[:, 0]))
        return MLPRegressor, {"loss": "poisson"}, X, y, weight
    return MLPRegressor, {}, X, y, weight


def _lbfgs(cls, **params):
    defaults = {
        "solver": "lbfgs",
        "hidden_layer_sizes": (16,),
        "random_state": 0,
        "max_iter": 25,
    }
    return cls(**{**defaults, **params})


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression", "poisson"])
def test_fit_lbfgs_equals_fit_in_memory(task):
    cls, params, X, y, weight = _lbfgs_task(task)
    in_memory = _lbfgs(cls, **params).fit(X, y, sample_weight=weight)
    dask_weight = None if weight is None else da.from_array(weight, chunks=100)
    blocked = fastmlp_dask.fit_lbfgs(
        _lbfgs(cls, **params),
        da.from_array(X, chunks=(BLOCK_ROWS, 5)),  # rechunked to one column
        da.from_array(y, chunks=200),
        sample_weight=dask_weight,
    )
    # The same iterates up to the order the blocks' shares are summed in.
    assert blocked.n_iter_ == in_memory.n_iter_
    assert blocked.loss_ == pytest.approx(in_memory.loss_, rel=1e-10)
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)
    assert blocked.n_features_in_ == X.shape[1]
    assert blocked.n_outputs_ == in_memory.n_outputs_
    if cls is MLPClassifier:
        assert_array_equal(blocked.classes_, in_memory.classes_)
        assert blocked.out_activation_ == in_memory.out_activation_


@pytest.mark.parametrize(
    "class_weight", ["balanced", {0: 3.0, 7: 0.5}], ids=["balanced", "dict"]
)
def test_fit_lbfgs_class_weight_equals_fit_in_memory(class_weight):
    X, y = _digits()
    y = np.where(np.arange(600) < 400, y, 0)  # unbalanced: many 0s
    weight = np.random.RandomState(0).uniform(0.5, 2, size=600)
    params = {"class_weight": class_weight}
    in_memory = _lbfgs(MLPClassifier, **params).fit(X, y, sample_weight=weight)
    blocked = fastmlp_dask.fit_lbfgs(
        _lbfgs(MLPClassifier, **params),
        da.from_array(X, chunks=BLOCK_ROWS),
        da.from_array(y, chunks=BLOCK_ROWS),
        sample_weight=weight,
    )
    assert blocked.n_iter_ == in_memory.n_iter_
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)
    unweighted = _lbfgs(MLPClassifier).fit(X, y, sample_weight=weight)
    assert not np.allclose(unweighted.coefs_[0], blocked.coefs_[0])


def test_fit_lbfgs_multilabel_equals_fit_in_memory():
    X, y = _digits()
    Y = np.stack([y % 2 == 0, y > 4, y == 3], axis=1).astype(int)
    in_memory = _lbfgs(MLPClassifier).fit(X, Y)
    blocked = fastmlp_dask.fit_lbfgs(
        _lbfgs(MLPClassifier), da.from_array(X, chunks=BLOCK_ROWS), Y
    )
    assert blocked.out_activation_ == in_memory.out_activation_ == "logistic"
    assert_array_equal(blocked.classes_, in_memory.classes_)
    assert blocked.n_iter_ == in_memory.n_iter_
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has"):
        fastmlp_dask.fit_lbfgs(
            blocked.set_params(warm_start=True),
            da.from_array(X, chunks=BLOCK_ROWS),
            Y[:, :2],
        )


def test_fit_lbfgs_stopped_by_a_non_finite_loss_reports_its_weights_loss():
    # As in memory (tests/test_reliability.py): a float32 line search that
    # overflows ends L-BFGS-B with the NaN of the failed point; loss_ is
    # the loss of the weights it returns.
    X, y = scaled_regression(1e15)
    model = _lbfgs(MLPRegressor, activation="identity", hidden_layer_sizes=(20,))
    with pytest.warns(ConvergenceWarning, match="line search tried"):
        fastmlp_dask.fit_lbfgs(model.set_params(max_iter=50), da.from_array(X, 50), y)
    expected = squared_error_loss(model, X, y)
    assert np.isfinite(model.loss_)
    assert model.loss_ == pytest.approx(expected, rel=1e-4)


def test_fit_lbfgs_block_loss_and_gradient_equal_the_engines():
    # One evaluation at a random point: the blocks' shares, summed, against
    # the estimator's own full-batch loss and gradient, penalty included.
    X, y = _digits()
    weight = np.random.RandomState(1).uniform(0, 2, size=600)
    reference = _lbfgs(MLPClassifier, max_iter=1, alpha=0.3)
    reference.fit(X, y, sample_weight=weight)
    n_params = reference._current_params().size
    point = np.random.RandomState(2).normal(scale=0.3, size=n_params)
    Y = reference._label_binarizer.transform(y).astype(float)
    expected_value, expected_grad = reference._loss_grad_lbfgs(point, X, Y, weight)

    layer_units = [64, 16, 10]
    engine = SimpleNamespace(
        params=np.zeros(point.size), layout=Layout(layer_units), dtype=np.float64
    )
    blocks = [
        (da.from_array(X[k : k + 150]), y[k : k + 150], weight[k : k + 150])
        for k in range(0, 600, 150)
    ]
    spec = BlockSpec(reference, layer_units, np.float64)
    objective = BlockObjective(engine, blocks, spec)
    value, grad = objective.loss_and_grad(point, None, None, None, 0.3)
    assert value == pytest.approx(expected_value, rel=1e-12)
    assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-13)
    assert_array_equal(engine.params, point)  # the point is left in params


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_fit_lbfgs_on_sparse_blocks_equals_fit_on_sparse_x(fmt):
    X, y = _digits()
    X_sparse = sp.csr_matrix(X)
    in_memory = _lbfgs(MLPClassifier).fit(X_sparse, y)
    blocks = da.from_array(X, chunks=BLOCK_ROWS).map_blocks(
        getattr(sp, f"{fmt}_matrix"), dtype=X.dtype
    )
    blocked = fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier), blocks, y)
    assert blocked.n_iter_ == in_memory.n_iter_
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)
    # And the same as the dense blocks' fit: sparse is only a storage format.
    dense = fastmlp_dask.fit_lbfgs(
        _lbfgs(MLPClassifier), da.from_array(X, chunks=BLOCK_ROWS), y
    )
    assert_allclose(blocked.coefs_[0], dense.coefs_[0], rtol=1e-8, atol=1e-10)


def test_fit_lbfgs_keeps_float32():
    # float32 sums drift apart by ulps, which L-BFGS amplifies over many
    # iterations (25: 7 % apart in loss here); over 10 they still agree.
    X, y = _digits(np.float32)
    in_memory = _lbfgs(MLPClassifier, max_iter=10).fit(X, y)
    blocked = fastmlp_dask.fit_lbfgs(
        _lbfgs(MLPClassifier, max_iter=10), da.from_array(X, chunks=BLOCK_ROWS), y
    )
    assert all(w.dtype == np.float32 for w in _weights(blocked))
    assert blocked.loss_ == pytest.approx(in_memory.loss_, rel=1e-5)
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-4, atol=1e-5)


def test_fit_lbfgs_warm_start_and_callbacks_act_as_in_fit():
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    in_memory = _lbfgs(MLPClassifier, max_iter=5, warm_start=True)
    in_memory.fit(X, y).fit(X, y)
    blocked = _lbfgs(MLPClassifier, max_iter=5, warm_start=True)
    fastmlp_dask.fit_lbfgs(blocked, Xd, y)
    fastmlp_dask.fit_lbfgs(blocked, Xd, y)
    for u, v in zip(_weights(blocked), _weights(in_memory), strict=True):
        assert_allclose(u, v, rtol=1e-8, atol=1e-10)

    seen = []

    def stop_at_three(model):
        seen.append((model.n_iter_, model.coefs_[0].copy()))
        return model.n_iter_ == 3

    stopped = fastmlp_dask.fit_lbfgs(
        _lbfgs(MLPClassifier, callbacks=stop_at_three), Xd, y
    )
    assert stopped.n_iter_ == 3 and [n for n, _ in seen] == [1, 2, 3]
    assert_array_equal(seen[-1][1], stopped.coefs_[0])  # the iterate, kept
    reference = _lbfgs(MLPClassifier, max_iter=3).fit(X, y)
    assert_allclose(stopped.coefs_[0], reference.coefs_[0], rtol=1e-8, atol=1e-10)


def test_fit_lbfgs_warm_start_keeps_the_fitted_dtype_and_shapes():
    X, y = _digits(np.float32)
    in_memory = _lbfgs(MLPClassifier, max_iter=5, warm_start=True)
    in_memory.fit(X, y).fit(X, y)
    blocked = _lbfgs(MLPClassifier, max_iter=5, warm_start=True).fit(X, y)
    X64 = da.from_array(X.astype(np.float64), chunks=BLOCK_ROWS)
    fastmlp_dask.fit_lbfgs(blocked, X64, y)

    assert all(w.dtype == np.float32 for w in _weights(blocked))
    assert blocked.loss_ == pytest.approx(in_memory.loss_, rel=1e-5)
    blocked.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="differs from the hidden layers"):
        fastmlp_dask.fit_lbfgs(blocked, X64, y)


def test_fit_lbfgs_refuses_what_it_cannot_fit():
    X, y = _digits()
    Xd = da.from_array(X, chunks=BLOCK_ROWS)
    with pytest.raises(ValueError, match="fit_lbfgs needs solver='lbfgs'"):
        fastmlp_dask.fit_lbfgs(_classifier(), Xd, y)
    with pytest.raises(ValueError, match="not supported for multilabel"):
        fastmlp_dask.fit_lbfgs(
            _lbfgs(MLPClassifier, class_weight={1: 2.0}),
            Xd,
            np.stack([y % 2, y > 4], axis=1),
        )
    with pytest.raises(ValueError, match="'balanced' needs every class in y"):
        fastmlp_dask.fit_lbfgs(
            _lbfgs(MLPClassifier, class_weight="balanced"),
            Xd,
            y,
            classes=np.arange(11),
        )
    with pytest.raises(ValueError, match="class_weight has labels that are not"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier, class_weight={12: 2.0}), Xd, y)
    with pytest.raises(ValueError, match="alpha"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier, alpha=-1.0), Xd, y)
    with pytest.raises(ValueError, match="dropout=0.2 needs solver='sgd' or 'adam'"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier, dropout=0.2), Xd, y)
    with pytest.raises(ValueError, match=r"labels not in classes: \[9\]"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier), Xd, y, classes=np.arange(9))
    bad = X.copy()
    bad[450, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        fastmlp_dask.fit_lbfgs(
            _lbfgs(MLPClassifier), da.from_array(bad, chunks=BLOCK_ROWS), y
        )
    weight = np.ones(600)
    weight[3] = -1
    with pytest.raises(ValueError, match="[Nn]egative"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier), Xd, y, sample_weight=weight)
    with pytest.raises(ValueError, match="sum to zero"):
        fastmlp_dask.fit_lbfgs(
            _lbfgs(MLPClassifier), Xd, y, sample_weight=np.zeros(600)
        )
    with pytest.raises(ValueError, match="negative which is not allowed"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPRegressor, loss="poisson"), Xd, y - 5.0)
    with pytest.raises(ValueError, match="X has 600 rows but y has 599"):
        fastmlp_dask.fit_lbfgs(_lbfgs(MLPClassifier), Xd, y[:-1])


def test_each_block_is_predicted_with_one_thread():
    # Dask runs a block per core; a block using every core oversubscribes.
    from fastmlp._threads import effective_n_threads

    X, y = _digits()
    model = _classifier(max_iter=5).fit(X, y)
    real_predict = model.predict
    seen = []

    def blas_threads():
        return max(
            p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"
        )

    def recording_predict(block):
        if block.shape[0] > 1:  # not the one-row probe of the output's shape
            seen.append((effective_n_threads(), blas_threads()))
        return real_predict(block)

    model.predict = recording_predict
    # Two threads whatever the caller's OMP_NUM_THREADS, so that there is a
    # count to cap (fastmlp uses one on a one-core machine). A build without
    # OpenMP runs every call on one thread; BLAS still needs its cap.
    with threadpool_limits(limits=2):
        before = effective_n_threads()
        assert before == 2 or os.cpu_count() == 1 or not openmp_enabled()
        assert blas_threads() == 2
        # BLAS too, in every Dask worker thread (threadpoolctl 3.8 lets only
        # one Python thread change BLAS's count; see fastmlp._threads).
        with dask.config.set(scheduler="threads", num_workers=2):
            lazy = fastmlp_dask.predict(model, da.from_array(X, chunks=BLOCK_ROWS))
            assert_array_equal(lazy.compute(), real_predict(X))
        assert seen == [(1, 1)] * 4
        assert effective_n_threads() == before
