# SPDX-License-Identifier: BSD-3-Clause
"""Any memory layout of the same numbers trains and predicts the same model.

Each layout (Fortran order, strided and negative-stride views, zero strides,
read-only arrays, read-only memory maps, non-native byte order, integer,
float16 and float32 input, lists, tuples, DataFrames, sparse formats) is
compared with a C-contiguous copy in the dtype fastmlp converts it to:
fitted parameters and predictions must be bit-identical, since the kernels
see the same numbers in the same order. The one exception, a CSR matrix
with unsorted indices, sums each row in another order and is compared at
round-off.
"""

import functools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore:X has feature names, but MLP:UserWarning",
)

ESTIMATORS = {"classifier": MLPClassifier, "regressor": MLPRegressor}
# The epoch kernel (adam; sgd shares its data path) and the full-batch one.
SOLVERS = ["adam", "lbfgs"]
PARAMS = {
    "hidden_layer_sizes": (7, 3),
    "max_iter": 4,
    "random_state": 0,
    "batch_size": 9,
}

_rng = np.random.RandomState(0)
# Odd sizes, and a last batch of 41 % 9 = 5 rows.
X0 = _rng.normal(size=(41, 5))
X0_INT = np.rint(X0 * 10).astype(np.int64)
Y = {"classifier": np.arange(41) % 3, "regressor": _rng.normal(size=41)}


def _strided(X, step_rows=2, step_cols=3):
    """A view of X inside a bigger array, every step-th row and column."""
    big = np.zeros((X.shape[0] * step_rows, X.shape[1] * step_cols), X.dtype)
    big[::step_rows, ::step_cols] = X
    return big[::step_rows, ::step_cols]


def _reversed_view(X):
    """A view with negative strides holding the rows of X in order."""
    return np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]


def _read_only(X):
    X = X.copy(order="K")
    X.flags.writeable = False
    return X


def _memmap(tmp_dir, X, order="C"):
    path = tmp_dir / f"X-{X.dtype}-{order}.dat"
    stored = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape, order=order)
    stored[...] = X
    stored.flush()
    del stored
    return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape, order=order)


def _unsorted_csr(X):
    """CSR of X with each row's column indices in reverse order."""
    csr = sp.csr_matrix(X)
    for r in range(csr.shape[0]):
        lo, hi = csr.indptr[r], csr.indptr[r + 1]
        csr.indices[lo:hi] = csr.indices[lo:hi][::-1].copy()
        csr.data[lo:hi] = csr.data[lo:hi][::-1].copy()
    csr.has_sorted_indices = False
    assert not csr.has_sorted_indices
    return csr


def _sparse_with_zeros(X):
    """X with about half its entries zeroed, so sparse formats are sparse."""
    return np.where(np.abs(X) < 0.7, 0.0, X)


# name -> (make(tmp_dir) -> X in that layout, reference C array or CSR).
DENSE_LAYOUTS = {
    "fortran": (lambda d: np.asfortranarray(X0), X0),
    "strided": (lambda d: _strided(X0), X0),
    "strided-rows-only": (lambda d: _strided(X0, 3, 1), X0),
    "negative-strides": (lambda d: _reversed_view(X0), X0),
    "sliced-from-bigger": (lambda d: np.pad(X0, 2)[2:-2, 2:-2], X0),
    "read-only": (lambda d: _read_only(X0), X0),
    "read-only-fortran": (lambda d: _read_only(np.asfortranarray(X0)), X0),
    "read-only-strided": (lambda d: _read_only(np.pad(X0, 2))[2:-2, 2:-2], X0),
    "memmap-read-only": (lambda d: _memmap(d, X0), X0),
    "memmap-read-only-fortran": (lambda d: _memmap(d, X0, "F"), X0),
    "memmap-read-only-float32": (
        lambda d: _memmap(d, X0.astype(np.float32)),
        X0.astype(np.float32),
    ),
    "big-endian": (lambda d: X0.astype(">f8"), X0),
    # Not the native float32, so converted to float64 (as scikit-learn does).
    "big-endian-float32": (
        lambda d: X0.astype(">f4"),
        X0.astype(np.float32).astype(np.float64),
    ),
    "zero-stride-rows": (
        lambda d: np.broadcast_to(X0[3], X0.shape),
        np.tile(X0[3], (41, 1)),
    ),
    "int64": (lambda d: X0_INT, X0_INT.astype(np.float64)),
    "int32-fortran": (
        lambda d: np.asfortranarray(X0_INT.astype(np.int32)),
        X0_INT.astype(np.float64),
    ),
    "uint8": (
        lambda d: np.abs(X0_INT).astype(np.uint8),
        np.abs(X0_INT).astype(np.float64),
    ),
    "bool": (lambda d: X0 > 0, (X0 > 0).astype(np.float64)),
    "float16": (
        lambda d: X0.astype(np.float16),
        X0.astype(np.float16).astype(np.float64),
    ),
    "float32": (lambda d: X0.astype(np.float32), X0.astype(np.float32)),
    "float32-fortran": (
        lambda d: np.asfortranarray(X0, dtype=np.float32),
        X0.astype(np.float32),
    ),
    "float32-strided": (
        lambda d: _strided(X0.astype(np.float32)),
        X0.astype(np.float32),
    ),
    "float32-read-only": (
        lambda d: _read_only(X0.astype(np.float32)),
        X0.astype(np.float32),
    ),
    "object-floats": (lambda d: X0.astype(object), X0),
    "list": (lambda d: X0.tolist(), X0),
    "tuple": (lambda d: tuple(map(tuple, X0)), X0),
    "dataframe": (lambda d: pd.DataFrame(X0, columns=list("abcde")), X0),
    "dataframe-mixed-int-float": (
        lambda d: pd.DataFrame(
            {"a": X0_INT[:, 0], **{c: X0[:, i] for i, c in enumerate("bcde", 1)}}
        ),
        np.column_stack([X0_INT[:, 0], X0[:, 1:]]),
    ),
}

X0_SPARSE = _sparse_with_zeros(X0)
CSR0 = sp.csr_matrix(X0_SPARSE)
SPARSE_LAYOUTS = {
    "csc": (lambda d: sp.csc_matrix(X0_SPARSE), CSR0),
    "coo": (lambda d: sp.coo_matrix(X0_SPARSE), CSR0),
    "csr-array": (lambda d: sp.csr_array(X0_SPARSE), CSR0),
    "csr-int64-indices": (
        lambda d: sp.csr_matrix(
            (CSR0.data, CSR0.indices.astype(np.int64), CSR0.indptr.astype(np.int64)),
            shape=CSR0.shape,
        ),
        CSR0,
    ),
    "csr-read-only": (lambda d: _read_only_csr(CSR0), CSR0),
    "csr-explicit-zeros": (lambda d: _with_explicit_zeros(X0_SPARSE), CSR0),
    "csr-float32": (lambda d: CSR0.astype(np.float32), CSR0.astype(np.float32)),
}


def _read_only_csr(csr):
    csr = csr.copy()
    for name in ("data", "indices", "indptr"):
        getattr(csr, name).flags.writeable = False
    return csr


def _with_explicit_zeros(X):
    """CSR of X storing every entry, zeros included (they add nothing)."""
    rows, cols = np.indices(X.shape)
    return sp.csr_matrix((X.ravel(), (rows.ravel(), cols.ravel())), shape=X.shape)


ALL_LAYOUTS = {**DENSE_LAYOUTS, **SPARSE_LAYOUTS}


@functools.cache
def _reference_fit(kind, solver, layout):
    return _fit(kind, solver, ALL_LAYOUTS[layout][1])


def _fit(kind, solver, X, y=None, sample_weight=None):
    model = ESTIMATORS[kind](solver=solver, **PARAMS)
    return model.fit(X, Y[kind] if y is None else y, sample_weight=sample_weight)


def _assert_same_model(model, reference, exact=True):
    check = assert_array_equal if exact else _assert_close
    assert len(model.coefs_) == len(reference.coefs_)
    for a, b in zip(
        model.coefs_ + model.intercepts_,
        reference.coefs_ + reference.intercepts_,
        strict=True,
    ):
        assert a.dtype == b.dtype
        check(a, b)


def _assert_close(a, b):
    rtol = 1e-4 if np.asarray(a).dtype == np.float32 else 1e-9
    assert_allclose(a, b, rtol=rtol, atol=rtol)


def _predictions(model, X):
    outputs = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        outputs.append(model.predict_proba(X))
    return outputs


@pytest.fixture(scope="module")
def layout_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("layouts")


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize("layout", list(ALL_LAYOUTS))
def test_fit_on_layout_equals_fit_on_c_copy(layout, kind, solver, layout_dir):
    make, reference = ALL_LAYOUTS[layout]
    X = make(layout_dir)
    model = _fit(kind, solver, X)
    expected = _reference_fit(kind, solver, layout)
    _assert_same_model(model, expected)
    for got, want in zip(
        _predictions(model, X), _predictions(expected, reference), strict=True
    ):
        assert_array_equal(got, want)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_unsorted_csr_indices_change_only_round_off(kind, solver):
    model = _fit(kind, solver, _unsorted_csr(X0_SPARSE))
    _assert_same_model(model, _fit(kind, solver, CSR0), exact=False)


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_sparse_and_dense_agree_at_round_off(kind):
    _assert_same_model(
        _fit(kind, "adam", CSR0), _fit(kind, "adam", X0_SPARSE), exact=False
    )


@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize("layout", list(ALL_LAYOUTS))
def test_predict_on_layout_equals_predict_on_c_copy(layout, kind, layout_dir):
    make, reference = ALL_LAYOUTS[layout]
    # Fitted in the reference's dtype, so float32 layouts predict in float32.
    model = _model_of_dtype(kind, reference.dtype)
    for got, want in zip(
        _predictions(model, make(layout_dir)),
        _predictions(model, reference),
        strict=True,
    ):
        assert_array_equal(got, want)


@functools.cache
def _model_of_dtype(kind, dtype):
    return _fit(kind, "adam", X0.astype(dtype))


def _target_layouts(y):
    """A 1-D target in other layouts, by name."""
    return {
        "strided": _strided(y[:, None], 2, 1)[:, 0],
        "read-only": _read_only(y),
        "list": y.tolist(),
        "column-vector-fortran": np.asfortranarray(y[:, None]),
        "series": pd.Series(y),
        "big-endian": y.astype(y.dtype.newbyteorder(">")),
    }


@pytest.mark.filterwarnings("ignore:A column-vector y was passed")
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize(
    "target_layout",
    ["strided", "read-only", "list", "column-vector-fortran", "series", "big-endian"],
)
def test_target_layout_equals_c_copy(target_layout, kind, solver):
    y = Y[kind]
    model = _fit(kind, solver, X0, y=_target_layouts(y)[target_layout])
    _assert_same_model(model, _fit(kind, solver, X0, y=np.ascontiguousarray(y)))


def test_integer_and_float32_regression_targets():
    y = Y["regressor"]
    y_int = np.rint(y * 10).astype(np.int32)
    _assert_same_model(
        _fit("regressor", "adam", X0, y=y_int),
        _fit("regressor", "adam", X0, y=y_int.astype(np.float64)),
    )
    # float32 targets with float64 X train in float64, as in scikit-learn.
    _assert_same_model(
        _fit("regressor", "adam", X0, y=y.astype(np.float32)),
        _fit("regressor", "adam", X0, y=y.astype(np.float32).astype(np.float64)),
    )


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", list(ESTIMATORS))
@pytest.mark.parametrize(
    "weight_layout", ["strided", "read-only", "list", "int", "float32"]
)
def test_sample_weight_layout_equals_c_copy(weight_layout, kind, solver):
    weights = np.arange(41) % 4 + 1.0
    variants = {
        "strided": _strided(weights[:, None], 3, 1)[:, 0],
        "read-only": _read_only(weights),
        "list": weights.tolist(),
        "int": weights.astype(np.int64),
        "float32": weights.astype(np.float32),
    }
    model = _fit(kind, solver, X0, sample_weight=variants[weight_layout])
    _assert_same_model(model, _fit(kind, solver, X0, sample_weight=weights))


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_partial_fit_on_read_only_memmap(kind, layout_dir):
    extra = {"classes": [0, 1, 2]} if kind == "classifier" else {}
    models = []
    for X in (_memmap(layout_dir, X0, "F"), X0):
        model = ESTIMATORS[kind](**PARAMS)
        for _ in range(3):
            model.partial_fit(X, Y[kind], **extra)
        models.append(model)
    _assert_same_model(*models)


@pytest.mark.parametrize("kind", list(ESTIMATORS))
def test_float32_layout_trains_and_predicts_in_float32(kind):
    model = _fit(kind, "adam", np.asfortranarray(X0, dtype=np.float32))
    assert all(p.dtype == np.float32 for p in model.coefs_ + model.intercepts_)
    X32 = _strided(X0.astype(np.float32))
    out = model.predict_proba(X32) if kind == "classifier" else model.predict(X32)
    assert out.dtype == np.float32


def test_input_arrays_are_not_modified(layout_dir):
    X = np.asfortranarray(X0).copy()
    y = Y["regressor"].copy()
    weights = np.ones(41)
    before = (X.copy(), y.copy(), weights.copy())
    model = _fit("regressor", "adam", X, y=y, sample_weight=weights)
    model.predict(X)
    for got, want in zip((X, y, weights), before, strict=True):
        assert_array_equal(got, want)
