# SPDX-License-Identifier: BSD-3-Clause
"""Property tests: every compiled kernel equals the NumPy baseline on random cases.

Hypothesis draws the shapes (down to 1 sample, 1 feature, 1 unit), the
dtype, the activations and loss, the batch size (up to larger than the
data), dense or CSR input, sample weights, the thread count and whether the
inputs are read-only; `fastmlp.numpy_baseline` computes the expected result
in the same dtype.

Bounds: every input array is a fresh allocation of exactly the documented
size, so an over-read lands in an allocator red zone (caught by the
AddressSanitizer run of tools/run_checked_tests.sh), and every output or
scratch array sits inside a larger buffer whose margins hold a sentinel that
must survive the call (an over- or under-write is caught in any build).
Inputs must come back unchanged.

FASTMLP_HYPOTHESIS_EXAMPLES scales the number of examples per test.
"""

import os

import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from fastmlp._codes import ACTIVATION_CODES, LOSS_CODES, SOLVER_CODES
from fastmlp._compiled import epoch as _epoch
from fastmlp._compiled import kernels as _kernels
from fastmlp._layout import Layout
from fastmlp.numpy_baseline import ACTIVATIONS, LOSSES, SGD, Adam, ParamLayout
from fastmlp.numpy_baseline import Network as BaselineNetwork
from fastmlp.numpy_baseline import train_epoch as baseline_train_epoch

MAX_EXAMPLES = int(os.environ.get("FASTMLP_HYPOTHESIS_EXAMPLES", 40))
PROPERTY = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,  # the first call of a kernel, or a checked build, is slow
    suppress_health_check=[HealthCheck.too_slow],
)

HIDDEN = ["identity", "logistic", "tanh", "relu"]
# (output activation, loss parameter, numpy_baseline loss name).
OUTPUTS = [
    ("softmax", "log_loss", "log_loss"),
    ("logistic", "log_loss", "binary_log_loss"),
    ("identity", "squared_error", "squared_error"),
    ("exp", "poisson", "poisson"),
]
# Tolerances at the dtype: a whole network (or an epoch of steps) rounds
# more than one product, float32 most of all.
TOL = {
    np.dtype(np.float64): {"rtol": 1e-9, "atol": 1e-11},
    np.dtype(np.float32): {"rtol": 2e-4, "atol": 5e-5},
}
SENTINEL = -1234.5
MARGIN = 8

dtypes = st.sampled_from([np.dtype(np.float64), np.dtype(np.float32)])
n_threads_st = st.sampled_from([1, 2])


class Guarded:
    """Output and scratch arrays inside buffers with sentinel margins."""

    def __init__(self):
        self._buffers = []

    def array(self, shape, dtype, fill=np.nan):
        shape = (shape,) if np.isscalar(shape) else tuple(shape)
        size = int(np.prod(shape))
        buffer = np.full(size + 2 * MARGIN, SENTINEL, dtype=dtype)
        buffer[MARGIN : MARGIN + size] = fill
        self._buffers.append(buffer)
        return buffer[MARGIN : MARGIN + size].reshape(shape)

    def copy(self, array):
        out = self.array(array.shape, array.dtype)
        out[...] = array
        return out

    def check(self):
        for buffer in self._buffers:
            assert (buffer[:MARGIN] == SENTINEL).all(), "write before an array"
            assert (buffer[-MARGIN:] == SENTINEL).all(), "write past an array"


class Inputs:
    """Exact-size input copies, optionally read-only, checked unchanged."""

    def __init__(self, read_only):
        self.read_only = read_only
        self._pairs = []

    def __call__(self, array, dtype=None):
        exact = np.array(array, dtype=dtype, order="C", copy=True)
        exact.flags.writeable = not self.read_only
        self._pairs.append((exact, exact.copy()))
        return exact

    def check(self):
        for exact, original in self._pairs:
            assert_array_equal(exact, original)


def _targets(rng, out_activation, n_samples, n_outputs):
    shape = (n_samples, n_outputs)
    if out_activation == "softmax":
        return np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    if out_activation == "logistic":
        return rng.randint(2, size=shape).astype(np.float64)
    if out_activation == "exp":
        return rng.poisson(1.5, size=shape).astype(np.float64)
    return rng.normal(size=shape)


@st.composite
def networks(draw, max_samples=30):
    """A random problem: data, targets, weights and a network's parameters."""
    dtype = draw(dtypes)
    n_samples = draw(st.integers(1, max_samples))
    n_features = draw(st.integers(1, 6))
    hidden = draw(st.lists(st.integers(1, 7), min_size=0, max_size=3))
    out_activation, loss, baseline_loss = draw(st.sampled_from(OUTPUTS))
    min_outputs = 2 if out_activation == "softmax" else 1
    n_outputs = draw(st.integers(min_outputs, 4))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    X = rng.normal(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < draw(st.sampled_from([0.0, 0.5, 1.0]))] = 0
    units = [n_features, *hidden, n_outputs]
    params = rng.uniform(-0.7, 0.7, size=ParamLayout(units).n_params)
    weighted = draw(st.booleans())
    return {
        "dtype": dtype,
        "X": X.astype(dtype),
        "Y": _targets(rng, out_activation, n_samples, n_outputs).astype(dtype),
        "sample_weight": (
            rng.uniform(0.1, 3.0, size=n_samples).astype(dtype) if weighted else None
        ),
        "units": units,
        "params": params.astype(dtype),
        "activation": draw(st.sampled_from(HIDDEN)),
        "out_activation": out_activation,
        "loss": loss,
        "baseline_loss": baseline_loss,
        "is_sparse": draw(st.booleans()),
        "n_threads": draw(n_threads_st),
        "read_only": draw(st.booleans()),
        "rng": rng,
    }


def _baseline(problem, params=None):
    network = BaselineNetwork(
        problem["units"],
        problem["activation"],
        problem["out_activation"],
        problem["baseline_loss"],
        problem["dtype"],
    )
    network.params[...] = problem["params"] if params is None else params
    return network


def _x_arrays(problem, inputs, rows=None):
    """(X, data, indices, indptr) for the kernels, as exact-size inputs."""
    X, dtype = problem["X"], problem["dtype"]
    if rows is not None:
        X = X[rows]
    empty_idx = inputs(np.empty(0, dtype=np.intp))
    if problem["is_sparse"]:
        csr = sp.csr_matrix(X)
        return (
            inputs(np.empty((0, X.shape[1]), dtype=dtype)),
            inputs(csr.data, dtype),
            inputs(csr.indices, np.intp),
            inputs(csr.indptr, np.intp),
        )
    return inputs(X), inputs(np.empty(0, dtype=dtype)), empty_idx, empty_idx


def _x_for_baseline(problem):
    return sp.csr_matrix(problem["X"]) if problem["is_sparse"] else problem["X"]


def _layout(problem, n_rows):
    layout = Layout(problem["units"])
    act_off, act_size = layout.activation_offsets(n_rows)
    return layout, act_off, act_size


# ------------------------------------------------------------- single layers


@PROPERTY
@given(
    dtype=dtypes,
    n_rows=st.integers(1, 40),
    fan_in=st.integers(1, 9),
    fan_out=st.integers(1, 9),
    activation=st.sampled_from(list(ACTIVATION_CODES)),
    n_threads=n_threads_st,
    read_only=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_dense_forward(
    dtype, n_rows, fan_in, fan_out, activation, n_threads, read_only, seed
):
    rng = np.random.RandomState(seed)
    inputs, guarded = Inputs(read_only), Guarded()
    A_prev = inputs(rng.normal(size=(n_rows, fan_in)), dtype)
    coef = inputs(rng.normal(size=(fan_in, fan_out)), dtype)
    intercept = inputs(rng.normal(size=fan_out), dtype)
    out = guarded.array((n_rows, fan_out), dtype)

    _kernels.dense_forward(
        A_prev, coef, intercept, out, ACTIVATION_CODES[activation], n_threads
    )

    guarded.check()
    inputs.check()
    expected = ACTIVATIONS[activation]().forward(A_prev @ coef + intercept)
    assert_allclose(out, expected, **TOL[dtype])


@PROPERTY
@given(
    dtype=dtypes,
    n_rows=st.integers(1, 40),
    fan_in=st.integers(1, 9),
    fan_out=st.integers(1, 9),
    activation=st.sampled_from(HIDDEN),
    n_threads=n_threads_st,
    read_only=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_delta_backward(
    dtype, n_rows, fan_in, fan_out, activation, n_threads, read_only, seed
):
    rng = np.random.RandomState(seed)
    inputs, guarded = Inputs(read_only), Guarded()
    act = ACTIVATIONS[activation]()
    D = inputs(rng.normal(size=(n_rows, fan_out)), dtype)
    coef = inputs(rng.normal(size=(fan_in, fan_out)), dtype)
    A = inputs(act.forward(rng.normal(size=(n_rows, fan_in))), dtype)
    D_prev = guarded.array((n_rows, fan_in), dtype)

    _kernels.delta_backward(D, coef, A, D_prev, ACTIVATION_CODES[activation], n_threads)

    guarded.check()
    inputs.check()
    assert_allclose(D_prev, act.backward(A, D @ coef.T), **TOL[dtype])


@PROPERTY
@given(
    dtype=dtypes,
    n_rows=st.integers(1, 40),
    output=st.sampled_from(OUTPUTS),
    n_outputs=st.integers(1, 5),
    weighted=st.booleans(),
    read_only=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_output_loss(dtype, n_rows, output, n_outputs, weighted, read_only, seed):
    out_activation, loss, baseline_loss = output
    rng = np.random.RandomState(seed)
    inputs, guarded = Inputs(read_only), Guarded()
    Z0 = rng.normal(scale=2.0, size=(n_rows, n_outputs)).astype(dtype)
    Z = guarded.copy(Z0)
    intercept = inputs(rng.normal(size=n_outputs), dtype)
    Y = inputs(_targets(rng, out_activation, n_rows, n_outputs), dtype)
    weights = rng.uniform(0.1, 3.0, size=n_rows) if weighted else np.empty(0)
    sample_weight = inputs(weights, dtype)
    D = guarded.array((n_rows, n_outputs), dtype)

    total = _kernels.output_loss(
        Z,
        intercept,
        Y,
        sample_weight,
        D,
        ACTIVATION_CODES[out_activation],
        LOSS_CODES[loss, out_activation],
    )

    guarded.check()
    inputs.check()
    out = ACTIVATIONS[out_activation]().forward(Z0 + intercept)
    sw = sample_weight if weighted else None
    sw_sum = float(sample_weight.sum()) if weighted else n_rows
    oracle = LOSSES[baseline_loss]()
    # The kernel returns the weighted sum of per-row terms; squared error's
    # are not yet halved nor averaged over outputs.
    scale = 0.5 / (sw_sum * n_outputs) if loss == "squared_error" else 1 / sw_sum
    tol = TOL[dtype]
    assert_allclose(Z, out, **tol)
    assert_allclose(
        total * scale, oracle.value(Y, out, sw), rtol=tol["rtol"], atol=tol["atol"]
    )
    assert_allclose(D, oracle.first_delta(Y, out, sw), **tol)


# ------------------------------------------------------------ whole network


@PROPERTY
@given(
    problem=networks(),
    alpha=st.sampled_from([0.0, 1e-3, 0.5]),
    chunk_extra=st.integers(-40, 5),
)
def test_loss_and_grad(problem, alpha, chunk_extra):
    dtype = problem["dtype"]
    n_samples, n_features = problem["X"].shape
    n_threads = problem["n_threads"]
    # Chunks of 1 row up to more rows than there are; every thread gets its
    # own chunk workspace and gradient sum.
    chunk_rows = max(1, n_samples + chunk_extra)
    inputs, guarded = Inputs(problem["read_only"]), Guarded()
    layout, act_off, act_size = _layout(problem, chunk_rows)
    x_arrays = _x_arrays(problem, inputs)
    params = inputs(problem["params"])
    grads = guarded.array(layout.n_params, dtype)
    sample_weight = problem["sample_weight"]
    weights = inputs(np.empty(0, dtype) if sample_weight is None else sample_weight)

    value = _kernels.loss_and_grad(
        params,
        grads,
        *x_arrays,
        inputs(problem["Y"]),
        weights,
        0,
        n_samples,
        chunk_rows,
        guarded.array(n_threads * act_size, dtype),
        guarded.array(n_threads * act_size, dtype),
        guarded.array((2 * n_threads - 1) * layout.n_params, dtype),
        guarded.array(n_threads * chunk_rows, np.float64),
        guarded.array(n_threads * (max(problem["units"]) + 1), np.float64),
        inputs(layout.units),
        inputs(layout.coef_off),
        inputs(layout.intercept_off),
        inputs(act_off),
        ACTIVATION_CODES[problem["activation"]],
        ACTIVATION_CODES[problem["out_activation"]],
        LOSS_CODES[problem["loss"], problem["out_activation"]],
        alpha,
        n_threads,
    )

    guarded.check()
    inputs.check()
    expected_value, expected_grad = _baseline(problem).loss_and_grad(
        _x_for_baseline(problem), problem["Y"], alpha, sample_weight
    )
    tol = TOL[dtype]
    assert_allclose(value, expected_value, rtol=tol["rtol"], atol=tol["atol"])
    assert_allclose(grads, expected_grad, **tol)


@PROPERTY
@given(problem=networks(max_samples=40), chunk_extra=st.integers(-40, 5))
def test_predict(problem, chunk_extra):
    dtype = problem["dtype"]
    n_samples = problem["X"].shape[0]
    # Chunks of 1 row up to more rows than there are.
    chunk_rows = max(1, n_samples + chunk_extra)
    inputs, guarded = Inputs(problem["read_only"]), Guarded()
    layout, act_off, act_size = _layout(problem, min(chunk_rows, n_samples))
    out = guarded.array((n_samples, problem["units"][-1]), dtype)

    _kernels.predict(
        inputs(problem["params"]),
        *_x_arrays(problem, inputs),
        out,
        guarded.array(problem["n_threads"] * act_size, dtype),
        chunk_rows,
        inputs(layout.units),
        inputs(layout.coef_off),
        inputs(layout.intercept_off),
        inputs(act_off),
        ACTIVATION_CODES[problem["activation"]],
        ACTIVATION_CODES[problem["out_activation"]],
        problem["n_threads"],
    )

    guarded.check()
    inputs.check()
    expected = _baseline(problem).forward(_x_for_baseline(problem))
    assert_allclose(out, expected, **TOL[dtype])


@st.composite
def optimizers(draw):
    if draw(st.booleans()):
        return "sgd", {
            "learning_rate": draw(st.sampled_from([0.01, 0.1])),
            "momentum": draw(st.sampled_from([0.0, 0.5, 0.9])),
            "nesterov": draw(st.booleans()),
        }
    return "adam", {
        "learning_rate": draw(st.sampled_from([1e-3, 1e-2])),
        "beta_1": draw(st.sampled_from([0.0, 0.9])),
        "beta_2": draw(st.sampled_from([0.5, 0.999])),
        # Adam's step is m / (sqrt(v) + epsilon): near epsilon it turns a
        # round-off-sized gradient into a full step, so the float32
        # comparison keeps epsilon well above float32 round-off.
        "epsilon": draw(st.sampled_from([1e-4, 1e-3])),
    }


@PROPERTY
@given(
    problem=networks(max_samples=25),
    optimizer=optimizers(),
    batch_extra=st.integers(-25, 5),
    order_kind=st.sampled_from(["natural", "permutation", "subset"]),
    alpha=st.sampled_from([0.0, 1e-2]),
)
def test_train_epoch(problem, optimizer, batch_extra, order_kind, alpha):
    dtype, rng = problem["dtype"], problem["rng"]
    n_samples = problem["X"].shape[0]
    if order_kind == "natural":
        rows = None
    elif order_kind == "permutation":
        rows = rng.permutation(n_samples)
    else:  # some rows only, as early stopping trains on its training split
        rows = rng.permutation(n_samples)[: rng.randint(1, n_samples + 1)]
    n_train = n_samples if rows is None else rows.shape[0]
    batch_size = max(1, n_train + batch_extra)  # 1 row up to more than n_train
    batch_rows = min(batch_size, n_train)
    inputs, guarded = Inputs(problem["read_only"]), Guarded()
    layout, act_off, act_size = _layout(problem, batch_rows)
    solver, kw = optimizer
    params = guarded.copy(problem["params"])
    state1 = guarded.array(layout.n_params, dtype, fill=0)
    state2 = guarded.array(layout.n_params if solver == "adam" else 1, dtype, fill=0)
    sample_weight = problem["sample_weight"]
    n_features = problem["units"][0]
    buffer_size = 0 if problem["is_sparse"] else batch_rows * n_features
    # Dense data on two threads: batches split by rows between the threads,
    # each with its own workspace block (as the engine does for small nets).
    n_threads = problem["n_threads"]
    split = n_threads > 1 and not problem["is_sparse"]
    n_blocks = n_threads if split else 1

    status, loss_sum, adam_t, _ = _epoch.train_epoch(
        params,
        guarded.array(layout.n_params, dtype, fill=0),
        state1,
        state2,
        *_x_arrays(problem, inputs),
        inputs(problem["Y"]),
        inputs(np.empty(0, dtype) if sample_weight is None else sample_weight),
        inputs(np.empty(0) if rows is None else rows, np.intp),
        guarded.array(buffer_size, dtype),
        guarded.array(n_blocks * act_size, dtype),
        guarded.array(n_blocks * act_size, dtype),
        guarded.array(n_blocks * batch_rows, np.float64),
        guarded.array(n_blocks * max(problem["units"]) + 2 * n_threads, np.float64),
        guarded.array((n_threads - 1) * layout.n_params if split else 0, dtype),
        inputs(layout.units),
        inputs(layout.coef_off),
        inputs(layout.intercept_off),
        inputs(act_off),
        ACTIVATION_CODES[problem["activation"]],
        ACTIVATION_CODES[problem["out_activation"]],
        LOSS_CODES[problem["loss"], problem["out_activation"]],
        SOLVER_CODES[solver],
        batch_size,
        alpha,
        kw["learning_rate"],
        kw.get("momentum", 0.0),
        kw.get("nesterov", False),
        kw.get("beta_1", 0.0),
        kw.get("beta_2", 0.0),
        kw.get("epsilon", 0.0),
        0,
        problem["n_threads"],
    )

    guarded.check()
    inputs.check()
    assert status == 0
    network = _baseline(problem)
    if solver == "sgd":
        oracle = SGD(
            network.params,
            kw["learning_rate"],
            "constant",
            kw["momentum"],
            kw["nesterov"],
        )
    else:
        oracle = Adam(
            network.params,
            kw["learning_rate"],
            kw["beta_1"],
            kw["beta_2"],
            kw["epsilon"],
        )
    take = slice(None) if rows is None else rows
    X_train = problem["X"][take]
    expected_loss = baseline_train_epoch(
        network,
        oracle,
        sp.csr_matrix(X_train) if problem["is_sparse"] else X_train,
        problem["Y"][take],
        alpha,
        batch_size,
        None,
        None if sample_weight is None else sample_weight[take],
    )
    # An epoch that diverges (the Poisson loss's exp output under a large
    # sgd step with momentum can overflow) has no trajectory to compare:
    # once a step overflows, round-off decides where inf and nan land, and
    # the steps before it amplify round-off past any tolerance. Only the
    # oracle's divergence is skipped, so fastmlp diverging alone still
    # fails; the estimators' handling of divergence is tested through the
    # public API (tests/test_reliability.py).
    assume(np.isfinite(expected_loss) and np.isfinite(network.params).all())
    tol = TOL[dtype]
    assert_allclose(
        loss_sum / n_train, expected_loss, rtol=tol["rtol"], atol=tol["atol"]
    )
    assert_allclose(params, network.params, **tol)
    if solver == "adam":
        assert adam_t == -(-n_train // batch_size)
        assert_allclose(state1, oracle.ms, **tol)
        assert_allclose(state2, oracle.vs, **tol)
    else:
        assert_allclose(state1, oracle.velocities, **tol)


@PROPERTY
@given(
    units=st.lists(st.integers(1, 9), min_size=2, max_size=5), n_rows=st.integers(1, 50)
)
def test_layout_matches_baseline_pack_order(units, n_rows):
    ours, theirs = Layout(units), ParamLayout(units)
    assert ours.n_params == theirs.n_params
    for offset, part in zip(ours.coef_off, theirs.coef_slices, strict=True):
        assert offset == part.start
    for offset, part in zip(ours.intercept_off, theirs.intercept_slices, strict=True):
        assert offset == part.start
    act_off, act_size = ours.activation_offsets(n_rows)
    assert act_size == n_rows * sum(units[1:])
    # Each layer's block ends where the next begins: no overlap, no gap.
    ends = [act_off[i] + n_rows * units[i] for i in range(1, len(units))]
    assert list(act_off[2:]) == ends[:-1] and ends[-1] == act_size
