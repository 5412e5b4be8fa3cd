# SPDX-License-Identifier: BSD-3-Clause
"""Every compiled kernel against the pure-NumPy oracle, in float32 and float64.

Axes: activation, output activation x loss, dtype, odd sizes (1 row, 1 unit,
7 and 33 rows), n_threads in {1, 2} (and a grid of up to 16 threads for
a split forward product), read-only inputs, dense and CSR input.
The oracle runs in the kernel's dtype, so the tolerances are the dtype's
(`tol` in conftest.py). A kernel must never upcast: float32 in, float32 out.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastmlp import _compiled, _engine
from fastmlp._codes import ACTIVATION_CODES, LOSS_CODES
from fastmlp._compiled import kernels as _kernels
from fastmlp._engine import Engine, Network, kernel_inputs
from fastmlp.numpy_baseline import ACTIVATIONS, LOSSES, Dense
from fastmlp.numpy_baseline import Network as BaselineNetwork

pytestmark = pytest.mark.filterwarnings("error")

ALL_ACTIVATIONS = list(ACTIVATION_CODES)
N_ROWS = [pytest.param(n, id=f"{n}rows") for n in (1, 7, 33)]
# (rows, units of the layer under test): 1 row, 1 unit, 7 and 33 rows.
SHAPES = [
    pytest.param(1, 1, id="1row-1unit"),
    pytest.param(7, 5, id="7rows-5units"),
    pytest.param(33, 1, id="33rows-1unit"),
    pytest.param(33, 4, id="33rows-4units"),
]
READ_ONLY = [pytest.param(False, id="writable"), pytest.param(True, id="readonly")]
WEIGHTED = [pytest.param(False, id="unweighted"), pytest.param(True, id="weighted")]
SPARSE = [pytest.param(False, id="dense"), pytest.param(True, id="csr")]
# A whole forward and backward pass: float32 needs more ulps than one layer.
RTOL_NETWORK = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-12}


def frozen(array, read_only):
    """`array`, read-only when asked (as a memory-mapped array would be)."""
    if read_only:
        array.setflags(write=False)
    return array


def random_array(rng, shape, dtype, scale=1.0, read_only=False):
    return frozen(
        np.ascontiguousarray(rng.normal(scale=scale, size=shape), dtype=dtype),
        read_only,
    )


def empty(dtype):
    return np.empty(0, dtype=dtype)


# ------------------------------------------------------------- single layers


@pytest.mark.parametrize("read_only", READ_ONLY)
@pytest.mark.parametrize("n_rows, fan_out", SHAPES)
@pytest.mark.parametrize("activation", ALL_ACTIVATIONS)
def test_dense_forward_matches_baseline(
    activation, n_rows, fan_out, read_only, dtype, n_threads, tol
):
    rng = np.random.RandomState(0)
    A_prev = random_array(rng, (n_rows, 4), dtype, read_only=read_only)
    coef = random_array(rng, (4, fan_out), dtype, read_only=read_only)
    intercept = random_array(rng, fan_out, dtype, read_only=read_only)
    out = np.full((n_rows, fan_out), np.nan, dtype=dtype)

    _kernels.dense_forward(
        A_prev, coef, intercept, out, ACTIVATION_CODES[activation], n_threads
    )

    expected = ACTIVATIONS[activation]().forward(Dense(coef, intercept).forward(A_prev))
    assert expected.dtype == dtype
    assert_allclose(out, expected, **tol)


@pytest.mark.parametrize("read_only", READ_ONLY)
@pytest.mark.parametrize("n_rows, fan_in", SHAPES)
def test_delta_backward_matches_baseline(
    hidden_activation, n_rows, fan_in, read_only, dtype, n_threads, tol
):
    rng = np.random.RandomState(1)
    act = ACTIVATIONS[hidden_activation]()
    # A is the layer's output; shifted away from 0 so ReLU's derivative is
    # read off an unambiguous A > 0 or A == 0.
    Z = rng.normal(size=(n_rows, fan_in))
    Z += 0.1 * np.sign(Z)
    A = frozen(np.ascontiguousarray(act.forward(Z), dtype=dtype), read_only)
    D = random_array(rng, (n_rows, 3), dtype, read_only=read_only)
    coef = random_array(rng, (fan_in, 3), dtype, read_only=read_only)
    D_prev = np.full((n_rows, fan_in), np.nan, dtype=dtype)

    _kernels.delta_backward(
        D, coef, A, D_prev, ACTIVATION_CODES[hidden_activation], n_threads
    )

    expected = act.backward(A, Dense(coef, empty(dtype)).propagate(D))
    assert expected.dtype == dtype
    assert_allclose(D_prev, expected, **tol)


def _reported_loss(case, loss_sum, sw_sum):
    """The kernel's weighted sum scaled as the reference reports the loss.

    The squared error's row term is the plain sum of squares: the reference
    halves it and averages over outputs (as the engine's batch_data_loss).
    """
    if case.loss == "squared_error":
        return 0.5 * loss_sum / (sw_sum * case.n_outputs)
    return loss_sum / sw_sum


@pytest.mark.parametrize("read_only", READ_ONLY)
@pytest.mark.parametrize("weighted", WEIGHTED)
@pytest.mark.parametrize("n_rows", N_ROWS)
def test_output_loss_matches_baseline(
    output_case, n_rows, weighted, read_only, dtype, tol
):
    case = output_case
    rng = np.random.RandomState(2)
    Z = random_array(rng, (n_rows, case.n_outputs), dtype, scale=2.0)
    intercept = random_array(rng, case.n_outputs, dtype, read_only=read_only)
    Y = frozen(np.asarray(case.targets(rng, n_rows), dtype=dtype), read_only)
    sample_weight = (
        random_array(rng, n_rows, dtype, read_only=read_only) ** 2 + 0.5
        if weighted
        else None
    )
    D = np.full_like(Z, np.nan)
    expected_out = ACTIVATIONS[case.out_activation]().forward(Z + intercept)
    loss = LOSSES[case.baseline_loss]()
    sw_sum = n_rows if sample_weight is None else float(sample_weight.sum())

    loss_sum = _kernels.output_loss(
        Z,
        intercept,
        Y,
        empty(dtype) if sample_weight is None else sample_weight,
        D,
        ACTIVATION_CODES[case.out_activation],
        LOSS_CODES[case.loss, case.out_activation],
    )

    assert isinstance(loss_sum, float)
    assert_allclose(Z, expected_out, **tol)
    assert_allclose(
        _reported_loss(case, loss_sum, sw_sum),
        loss.value(Y, expected_out, sample_weight),
        rtol=tol["rtol"],
    )
    assert_allclose(D, loss.first_delta(Y, expected_out, sample_weight), **tol)


@pytest.mark.parametrize(
    "out_activation, loss, baseline_loss",
    [
        ("softmax", "log_loss", "log_loss"),
        ("logistic", "log_loss", "binary_log_loss"),
    ],
    ids=["softmax", "logistic"],
)
def test_output_loss_clips_saturated_probabilities(
    out_activation, loss, baseline_loss, dtype
):
    # Outputs of exactly 0 and 1 (exp(+-200) saturates both dtypes): the
    # reported loss clips them to [eps, 1 - eps] of the dtype, so it is finite
    # and equal to the reference's, each wrong row costing -log(eps).
    Z = np.array([[200.0, -200.0], [-200.0, 200.0]], dtype=dtype)
    Y = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    intercept = np.zeros(2, dtype=dtype)
    D = np.empty_like(Z)
    expected_out = ACTIVATIONS[out_activation]().forward(Z)
    expected = LOSSES[baseline_loss]().value(Y, expected_out)

    loss_sum = _kernels.output_loss(
        Z,
        intercept,
        Y,
        empty(dtype),
        D,
        ACTIVATION_CODES[out_activation],
        LOSS_CODES[loss, out_activation],
    )

    assert np.isfinite(loss_sum)
    assert_allclose(loss_sum / 2, expected, rtol=1e-6)
    assert loss_sum / 2 > -np.log(np.finfo(dtype).eps) / 2 - 1e-3
    assert_array_equal(D, expected_out - Y)


def test_output_loss_hand_worked_softmax():
    # softmax(0, log 3) = (1/4, 3/4); target class 1 costs -log(3/4), weighted
    # by 2; the delta is 2 * (out - y) = 2 * (1/4, -1/4).
    Z = np.array([[0.0, np.log(3.0)]])
    D = np.empty_like(Z)
    loss_sum = _kernels.output_loss(
        Z,
        np.zeros(2),
        np.array([[0.0, 1.0]]),
        np.array([2.0]),
        D,
        ACTIVATION_CODES["softmax"],
        LOSS_CODES["log_loss", "softmax"],
    )
    assert_allclose(Z, [[0.25, 0.75]], rtol=1e-15)
    assert_allclose(loss_sum, -2 * np.log(0.75), rtol=1e-15)
    assert_allclose(D, [[0.5, -0.5]], rtol=1e-15)


def test_output_loss_hand_worked_squared_error():
    # Two outputs: the row term is sw * ((1-0)^2 + (2-4)^2) = 3 * 5; the delta
    # is sw * (out - y) / n_outputs = 3 * (1, -2) / 2 (issue #8349 note).
    Z = np.array([[1.0, 2.0]])
    D = np.empty_like(Z)
    loss_sum = _kernels.output_loss(
        Z,
        np.zeros(2),
        np.array([[0.0, 4.0]]),
        np.array([3.0]),
        D,
        ACTIVATION_CODES["identity"],
        LOSS_CODES["squared_error", "identity"],
    )
    assert loss_sum == 15.0
    assert_array_equal(D, [[1.5, -3.0]])


def test_single_layer_kernels_reject_mixed_dtypes():
    # One fused type per call: a float32/float64 mix is an error, never a
    # silent cast of the caller's output buffer.
    A32 = np.ones((3, 2), dtype=np.float32)
    coef = np.ones((2, 2))
    with pytest.raises((TypeError, ValueError)):
        _kernels.dense_forward(A32, coef, np.ones(2), np.empty((3, 2)), 0, 1)
    with pytest.raises((TypeError, ValueError)):
        _kernels.delta_backward(
            np.ones((3, 2)), coef, np.ones((3, 2)), np.empty((3, 2), np.float32), 0, 1
        )


# ------------------------------------------------------------- whole network


def tiny_network(activation, case, dtype, units=(3, 4, 3), seed=3):
    """Baseline network in `dtype` with random parameters, and its layer widths."""
    layer_units = [units[0], *units[1:], case.n_outputs]
    baseline = BaselineNetwork(
        layer_units, activation, case.out_activation, case.baseline_loss, dtype
    )
    rng = np.random.RandomState(seed)
    baseline.params[...] = rng.normal(scale=0.8, size=baseline.layout.n_params)
    return baseline, layer_units


def sparse_rows(rng, n_rows, n_features, dtype, read_only):
    """Dense X with about half its entries zero and, past 1 row, an empty row."""
    X = rng.normal(size=(n_rows, n_features))
    X[rng.uniform(size=X.shape) < 0.5] = 0
    if n_rows > 1:
        X[n_rows // 2] = 0
    return frozen(np.ascontiguousarray(X, dtype=dtype), read_only)


def as_inputs(X, is_sparse, dtype, read_only):
    inputs = kernel_inputs(sp.csr_matrix(X) if is_sparse else X, dtype)
    for array in inputs:
        frozen(array, read_only)
    return inputs


@pytest.mark.parametrize("is_sparse", SPARSE)
def test_predict_matches_baseline(
    hidden_activation, output_case, is_sparse, dtype, tol
):
    check_predict(hidden_activation, output_case, 7, is_sparse, False, dtype, 1, tol)


# Products with a narrow dimension run as register tiles in the AVX2 build
# (4 rows x 3 registers, then 1 register, then single columns; leftover rows
# one at a time): sizes around each of those edges, in both dtypes.
NARROW_ROWS = [1, 3, 4, 5, 9, 33]
NARROW_FAN_IN = [1, 3, 8, 16]
NARROW_FAN_OUT = [2, 4, 7, 8, 13, 25, 100]


@pytest.mark.parametrize("fan_out", NARROW_FAN_OUT)
@pytest.mark.parametrize("fan_in", NARROW_FAN_IN)
@pytest.mark.parametrize("n_rows", NARROW_ROWS)
def test_narrow_forward_product_sizes(n_rows, fan_in, fan_out, dtype, tol):
    A_prev, coef, intercept, out = _identity_layer(n_rows, fan_in, fan_out, dtype)
    expected = A_prev.astype(np.float64) @ coef.astype(np.float64) + intercept
    assert_allclose(out, expected, **tol)


FUSED_BIAS_SIZES = pytest.mark.parametrize(
    "fan_in, fan_out",
    [(1, 2), (3, 13), (8, 100), (16, 25), (17, 24), (50, 31), (100, 100)],
    ids=lambda size: str(size),
)
# _network.pxd's NARROW: the generic build gives a batch of more than 4 rows
# whose layers are wider than this to a GEMM call, which sums in its own order.
GENERIC_GEMM_FAN_IN = 16


def _forward_together_and_by_row(fan_in, fan_out, activation, dtype):
    """(A_prev, coef, intercept, output of 37 rows at once, output row by row).

    Every fourth row is zero and half the bias is -0.0, so exact zeros reach
    the ReLU too.
    """
    rng = np.random.RandomState(fan_in * 1000 + fan_out)
    A_prev = random_array(rng, (37, fan_in), dtype)
    coef = random_array(rng, (fan_in, fan_out), dtype)
    intercept = random_array(rng, fan_out, dtype)
    A_prev[::4] = 0
    intercept[::2] = -0.0
    code = ACTIVATION_CODES[activation]
    together = np.full((37, fan_out), np.nan, dtype=dtype)
    _kernels.dense_forward(A_prev, coef, intercept, together, code, 1)
    one_by_one = np.full((37, fan_out), np.nan, dtype=dtype)
    for r in range(37):
        _kernels.dense_forward(
            A_prev[r : r + 1], coef, intercept, one_by_one[r : r + 1], code, 1
        )
    return A_prev, coef, intercept, together, one_by_one


@pytest.mark.parametrize("activation", ["identity", "relu"])
@FUSED_BIAS_SIZES
def test_forward_with_fused_bias_is_bitwise_the_row_loop(
    fan_in, fan_out, activation, dtype
):
    # With 4 rows or more the AVX2 build adds the bias and applies the ReLU
    # inside the register tiles, before their first store; one row runs the
    # plain loops and then the separate bias-and-activation pass. Both make
    # the same operations in the same order: the same bits, in every row
    # (including the leftover rows and masked columns of the tiles).
    if _compiled.KIND == "generic" and fan_in > GENERIC_GEMM_FAN_IN:
        pytest.skip("the generic build gives this batch to GEMM (its own order)")
    *_, together, one_by_one = _forward_together_and_by_row(
        fan_in, fan_out, activation, dtype
    )
    assert_array_equal(together.view(np.uint8), one_by_one.view(np.uint8))


@pytest.mark.parametrize("activation", ["identity", "relu"])
@FUSED_BIAS_SIZES
def test_forward_with_fused_bias_is_within_rounding(fan_in, fan_out, activation, dtype):
    # Within (fan_in + 2) roundings of the sum of magnitudes, whatever the
    # order of the sums: tiles, loops or GEMM, in both builds.
    A_prev, coef, intercept, together, one_by_one = _forward_together_and_by_row(
        fan_in, fan_out, activation, dtype
    )
    A64, W64, b64 = (x.astype(np.float64) for x in (A_prev, coef, intercept))
    exact = ACTIVATIONS[activation]().forward(A64 @ W64 + b64)
    bound = (
        (fan_in + 2) * np.finfo(dtype).eps * (np.abs(A64) @ np.abs(W64) + np.abs(b64))
    )
    assert np.all(np.abs(together - exact) <= bound)
    assert np.all(np.abs(one_by_one - exact) <= bound)


@pytest.mark.parametrize(
    "fan_in, fan_out",
    [(3, 13), (8, 100), (50, 31), (100, 100)],
    ids=lambda size: str(size),
)
def test_relu_keeps_nan_as_numpy_maximum_does(fan_in, fan_out, dtype):
    # `v > 0 ? v : 0` made a NaN 0, so broken weights gave plausible output.
    # Both paths: the register tiles' fused ReLU (37 rows), the loops (1).
    rng = np.random.RandomState(fan_in + fan_out)
    A_prev = random_array(rng, (37, fan_in), dtype)
    coef = random_array(rng, (fan_in, fan_out), dtype)
    intercept = random_array(rng, fan_out, dtype)
    coef[0, ::3] = np.nan
    intercept[1] = np.nan
    code = ACTIVATION_CODES["relu"]
    for n_rows in (37, 1):
        out = np.zeros((n_rows, fan_out), dtype=dtype)
        _kernels.dense_forward(A_prev[:n_rows], coef, intercept, out, code, 1)
        expected = np.maximum(A_prev[:n_rows] @ coef + intercept, 0)

        assert 0 < np.isnan(expected).mean() < 1
        assert_array_equal(np.isnan(out), np.isnan(expected))


def _identity_layer(n_rows, fan_in, fan_out, dtype):
    """Random inputs of one identity layer, and the kernel's output.

    The output starts as NaN, so an element the kernel never writes fails.
    """
    rng = np.random.RandomState(n_rows * 1000 + fan_in * 100 + fan_out)
    A_prev = random_array(rng, (n_rows, fan_in), dtype)
    coef = random_array(rng, (fan_in, fan_out), dtype)
    intercept = random_array(rng, fan_out, dtype)
    out = np.full((n_rows, fan_out), np.nan, dtype=dtype)
    _kernels.dense_forward(
        A_prev, coef, intercept, out, ACTIVATION_CODES["identity"], 1
    )
    return A_prev, coef, intercept, out


@pytest.mark.parametrize("output_case", ["identity-squared"], indirect=True)
@pytest.mark.parametrize("hidden", [4, 7, 8, 13, 25], ids=lambda h: f"hidden{h}")
@pytest.mark.parametrize("fan_in", [3, 8, 16], ids=lambda k: f"in{k}")
@pytest.mark.parametrize("n_rows", [5, 33])
def test_narrow_gradient_product_sizes(n_rows, fan_in, hidden, output_case, dtype):
    # The first layer's coef gradient X.T @ delta has fan_in rows: tiles with
    # and without leftover rows and columns, against the baseline.
    check_loss_and_grad(
        "tanh",
        output_case,
        n_rows,
        True,
        False,
        False,
        dtype,
        1,
        units=(fan_in, hidden),
    )


# Mid-sized products (operand up to TILE_MAX_STREAM_BYTES, outputs at least
# one full tile wide) also run as tiles instead of a GEMM in the AVX2 build:
# widths around a full tile and a masked last register, in both dtypes.
MID_FAN_IN = [17, 50, 100]
MID_FAN_OUT = [24, 25, 31, 100]


@pytest.mark.parametrize("fan_out", MID_FAN_OUT)
@pytest.mark.parametrize("fan_in", MID_FAN_IN)
@pytest.mark.parametrize("n_rows", [4, 7, 33])
def test_mid_size_forward_product_sizes(n_rows, fan_in, fan_out, dtype):
    A_prev, coef, intercept, out = _identity_layer(n_rows, fan_in, fan_out, dtype)
    A64, W64, b64 = (x.astype(np.float64) for x in (A_prev, coef, intercept))
    # A sum of fan_in products in `dtype` is within (fan_in + 1) roundings of
    # the sum of their magnitudes; a fixed rtol is too tight for cancelling
    # float32 sums of 100 terms, whatever their order.
    magnitude = np.abs(A64) @ np.abs(W64) + np.abs(b64)
    bound = (fan_in + 2) * np.finfo(dtype).eps * magnitude
    error = np.abs(out - (A64 @ W64 + b64))
    assert np.all(error <= bound), np.nanmax(error / bound)


@pytest.mark.parametrize("output_case", ["identity-squared"], indirect=True)
@pytest.mark.parametrize("hidden", [24, 25, 100], ids=lambda h: f"hidden{h}")
@pytest.mark.parametrize("fan_in", [17, 50], ids=lambda k: f"in{k}")
@pytest.mark.parametrize("n_rows", [6, 33])
def test_mid_size_gradient_product_sizes(n_rows, fan_in, hidden, output_case, dtype):
    test_narrow_gradient_product_sizes(n_rows, fan_in, hidden, output_case, dtype)


# Odd sizes, threads and read-only buffers, on two output types.
@pytest.mark.parametrize(
    "output_case", ["softmax-log", "identity-squared-multi"], indirect=True
)
@pytest.mark.parametrize("read_only", READ_ONLY)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("n_rows", N_ROWS)
def test_predict_sizes_threads_read_only(
    output_case, n_rows, is_sparse, read_only, dtype, n_threads, tol
):
    check_predict(
        "relu", output_case, n_rows, is_sparse, read_only, dtype, n_threads, tol
    )


def check_predict(
    activation, case, n_rows, is_sparse, read_only, dtype, n_threads, tol
):
    baseline, layer_units = tiny_network(activation, case, dtype)
    X = sparse_rows(np.random.RandomState(4), n_rows, layer_units[0], dtype, read_only)
    network = Network(layer_units, activation, case.out_activation, case.loss)
    params = frozen(baseline.params.copy(), read_only)

    out = network.predict(params, as_inputs(X, is_sparse, dtype, read_only), n_threads)

    assert out.dtype == dtype
    assert out.shape == (n_rows, case.n_outputs)
    assert_allclose(out, baseline.forward(X), **tol)


@pytest.mark.parametrize(
    "n_threads, n_rows, fan_in, fan_out, activation, expected",
    [
        # A 200-row training batch of 784 -> 256: two threads split the
        # columns, more threads a grid of row and column blocks.
        (2, 200, 784, 256, "relu", 1),
        (3, 200, 784, 256, "relu", 1),
        (4, 200, 784, 256, "relu", 2),
        (8, 200, 784, 256, "relu", 2),
        (16, 200, 784, 256, "relu", 4),
        # More rows than units: two threads split the rows, four a 2 x 2 grid.
        (2, 300, 784, 256, "relu", 2),
        (4, 300, 784, 256, "relu", 2),
        # Too few units for two aligned column blocks, an input too narrow
        # for GEMM, too few rows, or an activation over the whole row: rows.
        (16, 200, 784, 10, "identity", 16),
        (16, 200, 16, 256, "relu", 16),
        (4, 4, 784, 256, "relu", 4),
        (4, 200, 784, 256, "softmax", 4),
    ],
)
def test_split_forward_product_grid(
    n_threads, n_rows, fan_in, fan_out, activation, expected
):
    code = ACTIVATION_CODES[activation]
    assert _kernels.forward_tile_rows(n_threads, n_rows, fan_in, fan_out, code) == (
        expected
    )


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("many_threads", [4, 8, 16])
def test_predict_one_chunk_on_a_grid_of_threads(output_case, many_threads, dtype):
    # 200 rows are one chunk, whose 200 x 40 x 256 product the threads cut
    # into a grid (2 x 2, 2 x 4, 4 x 4 tiles), each tile's rows activated by
    # the thread that computed it.
    baseline, layer_units = tiny_network("relu", output_case, dtype, units=(40, 256))
    baseline.params *= 0.1
    X = sparse_rows(np.random.RandomState(6), 200, 40, dtype, False)
    network = Network(layer_units, "relu", "softmax", "log_loss")
    assert network._chunk_rows(X.itemsize, 200, many_threads) >= 200
    relu = ACTIVATION_CODES["relu"]
    assert (
        1
        < _kernels.forward_tile_rows(many_threads, 200, 40, 256, relu)
        < (many_threads)
    )

    out = network.predict(
        baseline.params, as_inputs(X, False, dtype, False), many_threads
    )

    rtol = RTOL_NETWORK[dtype]
    assert_allclose(out, baseline.forward(X), rtol=rtol, atol=rtol / 10)


@pytest.fixture
def chunks_of_64_rows(monkeypatch):
    """Predict in chunks of 64 rows, the fewest allowed, whatever the width."""
    monkeypatch.setattr(_engine, "_PREDICT_CHUNK_BYTES", 1)


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
def test_predict_wide_network_in_chunks(
    output_case, is_sparse, dtype, n_threads, chunks_of_64_rows
):
    # 150 rows run as 64 + 64 + 22, and each chunk's 64 x 600 elementwise
    # pass is above the threshold where a second thread joins.
    baseline, layer_units = tiny_network("tanh", output_case, dtype, units=(20, 600))
    baseline.params *= 0.1
    X = sparse_rows(np.random.RandomState(5), 150, 20, dtype, False)
    network = Network(layer_units, "tanh", "softmax", "log_loss")
    assert network._chunk_rows(X.itemsize, 150, n_threads) == 64

    out = network.predict(
        baseline.params, as_inputs(X, is_sparse, dtype, False), n_threads
    )

    rtol = RTOL_NETWORK[dtype]
    assert_allclose(out, baseline.forward(X), rtol=rtol, atol=rtol / 10)


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("row", [0, 70, 149], ids=["first-chunk", "middle", "last"])
def test_predict_finds_non_finite_input_in_any_chunk(
    output_case, bad, row, dtype, n_threads, chunks_of_64_rows
):
    # Chunks of 64 rows; the flag of whichever chunk holds the bad value must
    # reach the caller, from either thread.
    baseline, layer_units = tiny_network("tanh", output_case, dtype, units=(20, 600))
    X = sparse_rows(np.random.RandomState(5), 150, 20, dtype, False)
    network = Network(layer_units, "tanh", "softmax", "log_loss")
    assert network._chunk_rows(X.itemsize, 150, n_threads) == 64
    inputs = as_inputs(X, False, dtype, False)

    finite_out = network.predict(baseline.params, inputs, n_threads, True)
    assert_allclose(
        finite_out, network.predict(baseline.params, inputs, n_threads), rtol=0
    )

    X_bad = X.copy()
    X_bad[row, 19] = bad
    bad_inputs = as_inputs(X_bad, False, dtype, False)
    assert network.predict(baseline.params, bad_inputs, n_threads, True) is None
    # Without the check the kernel computes through it.
    assert network.predict(baseline.params, bad_inputs, n_threads) is not None


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("cause", ["weights", "overflow"])
def test_predict_check_passes_finite_input_whose_product_is_not(
    output_case, cause, dtype, n_threads, chunks_of_64_rows
):
    # The check looks at X @ W first; a product that is not finite although
    # X is (weights that are not, or an overflow) must still be predicted,
    # exactly as without the check.
    baseline, layer_units = tiny_network("tanh", output_case, dtype, units=(20, 600))
    X = sparse_rows(np.random.RandomState(5), 150, 20, dtype, False)
    params = baseline.params.copy()
    if cause == "weights":
        params[3] = np.inf  # a weight of the first layer
    else:
        X[70] = np.finfo(dtype).max
    with np.errstate(all="ignore"):
        first = X @ params[: 20 * 600].reshape(20, 600)
    assert not np.isfinite(first).all()
    network = Network(layer_units, "tanh", "softmax", "log_loss")
    inputs = as_inputs(X, False, dtype, False)
    checked = network.predict(params, inputs, n_threads, True)
    assert checked is not None
    assert_array_equal(checked, network.predict(params, inputs, n_threads))


def engine_for(baseline, activation, case, dtype, n_threads):
    return Engine(
        baseline.layout.layer_units,
        activation,
        case.out_activation,
        case.loss,
        dtype,
        baseline.coefs,
        baseline.intercepts,
        n_threads,
    )


@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("weighted", WEIGHTED)
def test_loss_and_grad_matches_baseline(
    hidden_activation, output_case, weighted, is_sparse, dtype
):
    check_loss_and_grad(
        hidden_activation, output_case, 7, weighted, is_sparse, False, dtype, 1
    )


# Odd sizes, threads and read-only buffers, on two output types.
@pytest.mark.parametrize(
    "output_case", ["logistic-multilabel", "exp-poisson"], indirect=True
)
@pytest.mark.parametrize("read_only", READ_ONLY)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("n_rows", N_ROWS)
def test_loss_and_grad_sizes_threads_read_only(
    output_case, n_rows, is_sparse, read_only, dtype, n_threads
):
    check_loss_and_grad(
        "tanh", output_case, n_rows, True, is_sparse, read_only, dtype, n_threads
    )


def check_loss_and_grad(
    activation,
    case,
    n_rows,
    weighted,
    is_sparse,
    read_only,
    dtype,
    n_threads,
    units=(3, 4, 3),
):
    baseline, layer_units = tiny_network(activation, case, dtype, units=units)
    rng = np.random.RandomState(6)
    X = sparse_rows(rng, n_rows, layer_units[0], dtype, read_only)
    Y = frozen(np.asarray(case.targets(rng, n_rows), dtype=dtype), read_only)
    sample_weight = (
        frozen(rng.uniform(0.5, 2.0, size=n_rows).astype(dtype), read_only)
        if weighted
        else None
    )
    engine = engine_for(baseline, activation, case, dtype, n_threads)
    inputs = as_inputs(X, is_sparse, dtype, read_only)

    value, grad = engine.loss_and_grad(
        baseline.params.astype(np.float64), inputs, Y, sample_weight, 0.3
    )

    expected_value, expected_grad = baseline.loss_and_grad(X, Y, 0.3, sample_weight)
    assert engine.grads.dtype == engine.params.dtype == dtype
    assert isinstance(value, float)
    rtol = RTOL_NETWORK[dtype]
    assert_allclose(value, expected_value, rtol=rtol)
    assert_allclose(grad, expected_grad, rtol=rtol, atol=rtol / 10)
