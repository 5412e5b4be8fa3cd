# SPDX-License-Identifier: BSD-3-Clause
"""One compiled epoch (`Engine.train_epoch`) against the NumPy baseline's epoch.

Each test runs two epochs through both implementations from the same start
and compares the parameters, the returned epoch losses and the optimizer
state: SGD with and without (Nesterov) momentum and Adam; shuffled and
natural order; a batch size that does not divide the sample count; sample
weights; dense and CSR input; float64 tightly and float32 loosely. Then the
engine's own contracts: an order listing only some rows trains on those
rows, the same call twice gives the same bits, and 1 or 2 threads agree.
A large network also trains right on 4 and 16 threads, whose forward
products are cut into grids of row and column blocks.
"""

import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastmlp import _engine
from fastmlp._codes import ACTIVATION_CODES
from fastmlp._compiled import kernels as _kernels
from fastmlp._engine import Engine, kernel_inputs
from fastmlp._optimizers import AdamOptimizer, SGDOptimizer
from fastmlp.numpy_baseline import SGD, Adam, train_epoch
from fastmlp.numpy_baseline import Network as BaselineNetwork

pytestmark = pytest.mark.filterwarnings("error")

ALPHA = 0.01
N_EPOCHS = 2
# id -> (solver, optimizer keywords shared by both implementations)
SOLVERS = {
    "sgd-nesterov": ("sgd", {"momentum": 0.9, "nesterov": True}),
    "sgd-momentum": ("sgd", {"momentum": 0.7, "nesterov": False}),
    "sgd-plain": ("sgd", {"momentum": 0.0, "nesterov": False}),
    "adam": ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7}),
}
LEARNING_RATE = {"sgd": 0.05, "adam": 0.01}
ORDERS = [pytest.param(True, id="shuffled"), pytest.param(False, id="natural")]
WEIGHTED = [pytest.param(False, id="unweighted"), pytest.param(True, id="weighted")]
SPARSE = [pytest.param(False, id="dense"), pytest.param(True, id="csr")]
# Two epochs of several batches: float32 rounding compounds.
TOLERANCE = {
    np.dtype(np.float64): {"rtol": 1e-10, "atol": 1e-12},
    np.dtype(np.float32): {"rtol": 2e-4, "atol": 2e-5},
}


def _params_tolerance(solver_id, dtype):
    tol = dict(TOLERANCE[np.dtype(dtype)])
    if SOLVERS[solver_id][0] == "adam" and np.dtype(dtype) == np.float32:
        # Adam's step is lr * g / (|g| + eps) at first, whatever g's size: a
        # weight whose batch gradient nearly cancels (300 -> 256 -> 3 has a
        # few, near 1e-6) moves by almost lr, and float32 round-off in g
        # shifts that step by up to about 1 % of lr, depending on how the BLAS
        # sums (seen after two epochs: 1.1e-4 with OpenBLAS 0.3.21, 3e-6 with
        # 0.3.30).
        tol["atol"] = max(tol["atol"], LEARNING_RATE["adam"] / 50)
    return tol


def make_optimizers(solver_id, params, dtype):
    solver, kwargs = SOLVERS[solver_id]
    lr = LEARNING_RATE[solver]
    n_params = params.shape[0]
    if solver == "sgd":
        return (
            SGDOptimizer(n_params, dtype, lr, "constant", **kwargs),
            SGD(params, lr, "constant", **kwargs),
        )
    return AdamOptimizer(n_params, dtype, lr, **kwargs), Adam(params, lr, **kwargs)


def make_problem(
    activation, case, dtype, n_samples=33, hidden=(6, 4), seed=0, n_features=5
):
    """Random data and a baseline network with random weights."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < 0.4] = 0
    X[3] = 0  # an empty row
    Y = case.targets(rng, n_samples)
    sample_weight = rng.uniform(0.2, 3.0, size=n_samples)
    units = [n_features, *hidden, case.n_outputs]
    network = BaselineNetwork(
        units, activation, case.out_activation, case.baseline_loss, dtype
    )
    network.params[...] = rng.uniform(-0.6, 0.6, size=network.layout.n_params)
    return (
        X.astype(dtype),
        Y.astype(dtype),
        sample_weight.astype(dtype),
        network,
        rng.permutation(n_samples),
    )


def make_engine(network, activation, case, dtype, n_threads=1):
    return Engine(
        network.layout.layer_units,
        activation,
        case.out_activation,
        case.loss,
        dtype,
        network.coefs,
        network.intercepts,
        n_threads,
    )


def check_epochs_match(
    solver_id,
    activation,
    case,
    dtype,
    is_shuffled,
    weighted,
    is_sparse,
    batch_size,
    n_threads=1,
    **problem,
):
    X, Y, sample_weight, network, perm = make_problem(
        activation, case, dtype, **problem
    )
    sample_weight = sample_weight if weighted else None
    engine = make_engine(network, activation, case, dtype, n_threads)
    optimizer, baseline_optimizer = make_optimizers(solver_id, network.params, dtype)
    inputs = kernel_inputs(sp.csr_matrix(X) if is_sparse else X, dtype)
    n_samples = X.shape[0]
    order = perm.astype(np.intp) if is_shuffled else None

    for _ in range(N_EPOCHS):
        loss_sum = engine.train_epoch(
            inputs, Y, sample_weight, order, batch_size, ALPHA, optimizer
        )
        expected_loss = train_epoch(
            network,
            baseline_optimizer,
            sp.csr_matrix(X) if is_sparse else X,
            Y,
            ALPHA,
            batch_size,
            order,
            sample_weight,
        )
        tol = _params_tolerance(solver_id, dtype)
        assert_allclose(loss_sum / n_samples, expected_loss, rtol=tol["rtol"])
        assert engine.params.dtype == dtype
        assert_allclose(engine.params, network.params, **tol)

    solver = SOLVERS[solver_id][0]
    if solver == "sgd":
        assert_allclose(optimizer.velocities, baseline_optimizer.velocities, **tol)
    else:
        n_batches = -(-n_samples // batch_size)
        assert optimizer.t == baseline_optimizer.t == N_EPOCHS * n_batches
        assert optimizer.learning_rate == pytest.approx(
            baseline_optimizer.learning_rate, rel=1e-12
        )
        assert_allclose(optimizer.ms, baseline_optimizer.ms, **tol)
        assert_allclose(optimizer.vs, baseline_optimizer.vs, **tol)
    # coefs_/intercepts_ of the estimator are views of this buffer.
    assert all(np.shares_memory(c, engine.params) for c in engine.coefs)


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("weighted", WEIGHTED)
@pytest.mark.parametrize("is_shuffled", ORDERS)
@pytest.mark.parametrize("solver_id", list(SOLVERS))
def test_epoch_matches_baseline(
    solver_id, is_shuffled, weighted, is_sparse, output_case, dtype
):
    # 33 rows in batches of 5: six full batches and one of 3.
    check_epochs_match(
        solver_id, "relu", output_case, dtype, is_shuffled, weighted, is_sparse, 5
    )


@pytest.mark.parametrize("solver_id", ["sgd-nesterov", "adam"])
def test_epoch_matches_baseline_every_loss(
    solver_id, hidden_activation, output_case, dtype
):
    check_epochs_match(
        solver_id, hidden_activation, output_case, dtype, True, True, False, 8
    )


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize(
    "batch_size",
    [
        # 33 rows: 20 split between the threads, then 13, too few to split.
        pytest.param(20, id="split-then-short"),
        # Every batch split, the last one (5 rows) unevenly.
        pytest.param(16, id="split-all"),
    ],
)
@pytest.mark.parametrize("weighted", WEIGHTED)
@pytest.mark.parametrize("is_shuffled", ORDERS)
@pytest.mark.parametrize("solver_id", ["sgd-nesterov", "sgd-plain", "adam"])
def test_small_network_epoch_on_two_threads_matches_baseline(
    solver_id, is_shuffled, weighted, batch_size, output_case, dtype, monkeypatch
):
    # A small dense network on two threads trains the whole epoch in one
    # parallel region, each batch's rows split between the threads and the
    # step split by parameter slices (_epoch._train_split_epoch). This one is
    # too small to be split for speed: the threshold is lifted to test it.
    monkeypatch.setattr(_engine, "_SPLIT_MIN_MACS", 1)
    check_epochs_match(
        solver_id,
        "relu",
        output_case,
        dtype,
        is_shuffled,
        weighted,
        False,
        batch_size,
        n_threads=2,
    )


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("many_threads", [4, 16])
@pytest.mark.parametrize("solver_id", ["sgd-nesterov", "adam"])
def test_large_network_epoch_on_a_grid_of_threads_matches_baseline(
    solver_id, many_threads, output_case, dtype
):
    # 300 -> 256 -> 3 has more parameters than a split batch allows, so each
    # product is split between the threads; 200-row batches cut the first
    # layer's forward product into a grid (2 x 2 tiles on 4 threads, 4 x 4
    # on 16).
    problem = {"n_samples": 400, "hidden": (256,), "n_features": 300}
    n_params = 300 * 256 + 256 + 256 * 3 + 3
    assert n_params > _engine._SPLIT_BATCH_MAX_PARAMS
    relu = ACTIVATION_CODES["relu"]
    assert (
        1
        < _kernels.forward_tile_rows(many_threads, 200, 300, 256, relu)
        < (many_threads)
    )
    check_epochs_match(
        solver_id,
        "relu",
        output_case,
        dtype,
        True,
        True,
        False,
        200,
        n_threads=many_threads,
        **problem,
    )


def _engine_for(units, n_threads):
    network = BaselineNetwork(units, "relu", "softmax", "log_loss", np.float64)
    return Engine(
        units,
        "relu",
        "softmax",
        "log_loss",
        np.float64,
        network.coefs,
        network.intercepts,
        n_threads,
    )


def test_small_dense_network_on_two_threads_takes_the_split_path(monkeypatch):
    # The test above covers the split epoch only if the engine picks it.
    monkeypatch.setattr(_engine, "_SPLIT_MIN_MACS", 1)
    engine = _engine_for([5, 6, 4, 3], 2)
    engine._allocate(16, 5, False)
    assert engine._epoch_threads == 2
    assert engine._thread_grads.size == engine.layout.n_params


@pytest.mark.parametrize(
    "units, batch_size, n_threads, expected",
    [
        # 8 -> 100 -> 1: 1900 multiply-adds per row, 380k per batch of 200.
        ([8, 100, 1], 200, 2, 2),
        ([8, 100, 1], 200, 16, 11),
        # 16 rows: 30400, less than one share of 32768.
        ([8, 100, 1], 16, 2, 1),
        # 8 -> 10 -> 1: 190 per row, 38000 per batch: one thread.
        ([8, 10, 1], 200, 2, 1),
        # Over _SPLIT_BATCH_MAX_PARAMS: products split, every thread.
        ([784, 256, 10], 200, 2, 2),
    ],
)
def test_epoch_threads_follow_the_work_per_batch(
    units, batch_size, n_threads, expected
):
    engine = _engine_for(units, n_threads)
    engine._allocate(batch_size, units[0], False)
    assert engine._epoch_threads == expected
    split = engine.layout.n_params <= _engine._SPLIT_BATCH_MAX_PARAMS and expected > 1
    assert engine._thread_grads.size == (expected - 1) * engine.layout.n_params * split


@pytest.mark.parametrize("n_threads", [1, 2, 3, 16])
@pytest.mark.parametrize("n_samples", [1, 63, 1000, 1024, 2000, 4000, 10001, 60000])
def test_predict_chunks_split_evenly_between_threads(n_samples, n_threads):
    # 784 -> 256 -> 10 in float32: the byte budget gives 1971-row chunks.
    engine = _engine_for([784, 256, 10], n_threads)
    most = _engine._PREDICT_CHUNK_BYTES // (4 * (256 + 10))
    chunk = engine._chunk_rows(4, n_samples, n_threads)
    n_chunks = -(-n_samples // chunk)
    assert 1 <= chunk <= max(most, 64)
    assert chunk >= min(64, n_samples)
    if n_samples <= most:
        # One chunk: its products are split between the threads instead.
        assert n_chunks == 1
    elif n_threads > 1 and chunk > 64:
        # Every thread gets the same number of chunks, all but the last of
        # equal size, so none waits on another's extra chunk at the end.
        assert n_chunks % n_threads == 0
        assert n_samples - (n_chunks - 1) * chunk > chunk - n_chunks


_FEWER_THREADS_CHILD = textwrap.dedent(
    """
    import json
    import numpy as np
    from fastmlp import _engine
    from fastmlp._engine import Engine, kernel_inputs
    from fastmlp._optimizers import AdamOptimizer

    _engine._SPLIT_MIN_MACS = 1  # split this small network on two threads

    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 5))
    Y = np.eye(3)[rng.randint(0, 3, size=90)]
    units = [5, 6, 3]
    coefs = [rng.uniform(-0.5, 0.5, size=(5, 6)), rng.uniform(-0.5, 0.5, size=(6, 3))]
    intercepts = [rng.uniform(-0.5, 0.5, size=6), rng.uniform(-0.5, 0.5, size=3)]
    order = rng.permutation(90).astype(np.intp)
    results = []
    for n_threads in (1, 2):
        engine = Engine(units, "relu", "softmax", "log_loss", np.float64, coefs,
                        intercepts, n_threads)
        optimizer = AdamOptimizer(engine.layout.n_params, np.float64, 0.01)
        losses = [engine.train_epoch(kernel_inputs(X, np.float64), Y, None, order,
                                     40, 0.01, optimizer) for _ in range(2)]
        results.append({"params": engine.params.tolist(), "losses": losses,
                        "split": int(engine._thread_grads.size > 0)})
    print(json.dumps(results))
    """
)


def test_small_network_epoch_with_fewer_threads_than_asked(json_child):
    # OMP_THREAD_LIMIT=1 gives the epoch's parallel region one thread while
    # the engine was built for two: the rows and parameter slices must go to
    # the threads that exist, and the result equal a one-thread engine's.
    one, two = json_child(_FEWER_THREADS_CHILD, OMP_THREAD_LIMIT="1")
    assert (one["split"], two["split"]) == (0, 1)
    assert_allclose(two["losses"], one["losses"], rtol=1e-12)
    assert_allclose(two["params"], one["params"], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("hidden_activation", ["relu", "tanh"], indirect=True)
def test_wide_layers_on_two_threads_match_baseline(
    hidden_activation, output_case, dtype, monkeypatch
):
    # A batch narrower than its layer (40 rows, 300 units) on two threads:
    # the forward GEMM is split by column blocks, not by rows. That happens
    # in networks too large to split by batch rows; this small one is
    # treated as one.
    monkeypatch.setattr(_engine, "_SPLIT_BATCH_MAX_PARAMS", 0)
    X, Y, sample_weight, network, perm = make_problem(
        hidden_activation, output_case, dtype, n_samples=90, hidden=(64, 300)
    )
    engine = make_engine(network, hidden_activation, output_case, dtype, n_threads=2)
    optimizer, baseline_optimizer = make_optimizers("adam", network.params, dtype)
    inputs = kernel_inputs(X, dtype)
    order = perm.astype(np.intp)
    tol = TOLERANCE[np.dtype(dtype)]
    for _ in range(2):
        loss_sum = engine.train_epoch(
            inputs, Y, sample_weight, order, 40, ALPHA, optimizer
        )
        expected = train_epoch(
            network, baseline_optimizer, X, Y, ALPHA, 40, order, sample_weight
        )
        assert_allclose(loss_sum / X.shape[0], expected, rtol=tol["rtol"])
        assert_allclose(engine.params, network.params, **tol)
    assert (engine._epoch_threads, engine._thread_grads.size) == (2, 0)


@pytest.mark.parametrize("output_case", ["identity-squared-multi"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(1, id="batch1"),
        pytest.param(33, id="full"),
        pytest.param(32, id="batch32"),
    ],
)
def test_epoch_matches_baseline_batch_sizes(batch_size, is_sparse, output_case, dtype):
    check_epochs_match(
        "sgd-nesterov", "tanh", output_case, dtype, True, True, is_sparse, batch_size
    )


@pytest.mark.parametrize("output_case", ["logistic-multilabel"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("solver_id", ["sgd-momentum", "adam"])
def test_order_of_some_rows_trains_on_those_rows_only(
    solver_id, is_sparse, output_case
):
    # Early stopping passes the training rows only: the engine must train on
    # exactly those, as the baseline does on X[order] in natural order.
    X, Y, sample_weight, network, perm = make_problem("tanh", output_case, np.float64)
    order = perm[:20].astype(np.intp)
    engine = make_engine(network, "tanh", output_case, np.float64)
    optimizer, baseline_optimizer = make_optimizers(
        solver_id, network.params, np.float64
    )
    inputs = kernel_inputs(sp.csr_matrix(X) if is_sparse else X, np.float64)

    loss_sum = engine.train_epoch(inputs, Y, sample_weight, order, 6, ALPHA, optimizer)
    expected = train_epoch(
        network,
        baseline_optimizer,
        X[order],
        Y[order],
        ALPHA,
        6,
        None,
        sample_weight[order],
    )

    assert_allclose(loss_sum / 20, expected, rtol=1e-10)
    assert_allclose(engine.params, network.params, rtol=1e-10, atol=1e-12)


def run_epochs(
    solver_id, case, dtype, n_threads, is_sparse, hidden=(6, 4), n_features=5
):
    """Params and losses after 3 epochs of a fresh engine from a fixed start."""
    rng = np.random.RandomState(7)
    n_samples = 250
    X = rng.normal(size=(n_samples, n_features))
    X[rng.uniform(size=X.shape) < 0.5] = 0
    Y = case.targets(rng, n_samples).astype(dtype)
    sample_weight = rng.uniform(0.5, 2.0, size=n_samples)
    units = [n_features, *hidden, case.n_outputs]
    network = BaselineNetwork(units, "relu", "softmax", "log_loss", dtype)
    network.params[...] = rng.uniform(-0.1, 0.1, size=network.layout.n_params)
    engine = make_engine(network, "relu", case, dtype, n_threads)
    optimizer, _ = make_optimizers(solver_id, network.params, dtype)
    inputs = kernel_inputs(sp.csr_matrix(X) if is_sparse else X.astype(dtype), dtype)
    losses = []
    for _ in range(3):
        order = rng.permutation(n_samples).astype(np.intp)
        losses.append(
            engine.train_epoch(inputs, Y, sample_weight, order, 200, ALPHA, optimizer)
        )
    return engine.params.copy(), losses


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("solver_id", ["sgd-nesterov", "adam"])
def test_same_inputs_give_same_bits(
    solver_id, is_sparse, output_case, dtype, n_threads
):
    args = (solver_id, output_case, dtype, n_threads, is_sparse)
    params, losses = run_epochs(*args)
    params_again, losses_again = run_epochs(*args)
    assert_array_equal(params_again, params)
    assert losses_again == losses


@pytest.mark.parametrize("output_case", ["softmax-log"], indirect=True)
@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("solver_id", ["sgd-nesterov", "adam"])
def test_one_and_two_threads_agree(solver_id, is_sparse, output_case, dtype):
    # Wide enough for every threaded pass to split: 200 x 256 elementwise
    # passes and ~34k parameters in the optimizer step are above the
    # thresholds where a second thread joins.
    wide = {"hidden": (256,), "n_features": 130}
    params_1, losses_1 = run_epochs(solver_id, output_case, dtype, 1, is_sparse, **wide)
    params_2, losses_2 = run_epochs(solver_id, output_case, dtype, 2, is_sparse, **wide)
    tol = TOLERANCE[np.dtype(dtype)]
    assert_allclose(losses_2, losses_1, rtol=tol["rtol"])
    assert_allclose(params_2, params_1, **tol)


@pytest.mark.parametrize("output_case", ["identity-squared"], indirect=True)
def test_dense_epoch_after_loss_and_grad_allocates_its_gather_buffer(output_case):
    # loss_and_grad sizes the workspaces for all rows but gathers no batch; a
    # shuffled dense epoch of that same batch size copies its rows into the
    # gather buffer, which must then be allocated (it once wrote past an
    # empty one). The size is asserted before any epoch could overrun it.
    X, Y, _, network, perm = make_problem("relu", output_case, np.float64)
    n_samples, n_features = X.shape
    engine = make_engine(network, "relu", output_case, np.float64)
    optimizer, baseline_optimizer = make_optimizers("adam", network.params, np.float64)
    inputs = kernel_inputs(X, np.float64)
    engine.loss_and_grad(network.params.copy(), inputs, Y, None, ALPHA)

    engine._allocate(n_samples, n_features, False)
    assert engine._batch_buffer.size == n_samples * n_features

    order = perm.astype(np.intp)
    loss_sum = engine.train_epoch(inputs, Y, None, order, n_samples, ALPHA, optimizer)
    expected = train_epoch(
        network, baseline_optimizer, X, Y, ALPHA, n_samples, order, None
    )
    assert_allclose(loss_sum / n_samples, expected, rtol=1e-10)
    assert_allclose(engine.params, network.params, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_lbfgs_evaluation_in_row_ranges_equals_one_pass(monkeypatch, sparse, weighted):
    # Large data is evaluated in row ranges (so Ctrl-C gets through); the
    # combined loss and gradient must equal a single pass over all rows.
    from fastmlp import _engine

    rng = np.random.RandomState(0)
    X = rng.rand(2500, 6)
    if sparse:
        X[X < 0.5] = 0
        X = sp.csr_matrix(X)
    Y = rng.rand(2500, 2)
    sample_weight = rng.rand(2500) if weighted else None
    units = [6, 5, 2]
    coefs = [rng.randn(6, 5), rng.randn(5, 2)]
    intercepts = [rng.randn(5), rng.randn(2)]

    def evaluate():
        engine = _engine.Engine(
            units, "tanh", "identity", "squared_error", np.float64, coefs, intercepts, 1
        )
        x = engine.params.copy()
        return engine.loss_and_grad(
            x, _engine.kernel_inputs(X, np.float64), Y, sample_weight, 0.3
        )

    whole_value, whole_grad = evaluate()
    monkeypatch.setattr(_engine, "_LBFGS_CHUNK_VALUES", 7)  # -> 1024-row ranges
    ranged_value, ranged_grad = evaluate()
    assert_allclose(ranged_value, whole_value, rtol=1e-12)
    assert_allclose(ranged_grad, whole_grad, rtol=1e-10, atol=1e-14)


def _small_engine(n_features=6):
    rng = np.random.RandomState(0)
    units = [n_features, 5, 2]
    coefs = [rng.randn(n_features, 5), rng.randn(5, 2)]
    intercepts = [rng.randn(5), rng.randn(2)]
    engine = Engine(
        units, "tanh", "identity", "squared_error", np.float64, coefs, intercepts, 1
    )
    return engine, rng.rand(40, n_features), rng.rand(40, 2)


@pytest.mark.parametrize("change", [-1, 1])
def test_kernels_refuse_a_buffer_of_another_layout(change):
    # A buffer one value short (or long) of the layout, as a fit replacing
    # the model in another thread once handed predict: the kernels read past
    # its end. Every whole-network kernel must refuse it.
    engine, X, Y = _small_engine()
    inputs = kernel_inputs(X, np.float64)
    size = engine.layout.n_params + change
    wrong = np.resize(engine.params, size)
    message = "do not match the network's layout"
    with pytest.raises(ValueError, match=message):
        engine.predict(wrong, inputs, 1)
    with pytest.raises(ValueError, match=message):
        engine.predict_few(wrong, X[:2])
    engine.params = wrong
    engine.grads = np.zeros(size)
    with pytest.raises(ValueError, match=message):
        engine.loss_and_grad(wrong, inputs, Y, None, 0.1)
    with pytest.raises(ValueError, match=message):
        engine.train_epoch(
            inputs, Y, None, None, 10, 0.1, AdamOptimizer(size, np.float64, 0.01)
        )


def test_kernels_refuse_inputs_of_another_shape():
    engine, X, Y = _small_engine()
    optimizer = AdamOptimizer(engine.layout.n_params, np.float64, 0.01)
    wide = kernel_inputs(np.ones((40, 7)), np.float64)
    with pytest.raises(ValueError, match="X has 7 columns; the network takes 6"):
        engine.predict(engine.params, wide, 1)
    with pytest.raises(ValueError, match="does not fit a 6 -> 2 network"):
        engine.predict_few(engine.params, np.ones((2, 7)))
    with pytest.raises(ValueError, match="X has 7 columns; the network takes 6"):
        engine.loss_and_grad(engine.params.copy(), wide, Y, None, 0.1)
    with pytest.raises(ValueError, match="X has 7 columns; the network takes 6"):
        engine.train_epoch(wide, Y, None, None, 10, 0.1, optimizer)
    inputs = kernel_inputs(X, np.float64)
    for targets in (Y[:30], np.ascontiguousarray(Y[:, :1])):
        with pytest.raises(ValueError, match="Y has another shape"):
            engine.loss_and_grad(engine.params.copy(), inputs, targets, None, 0.1)
        with pytest.raises(ValueError, match="Y has another shape"):
            engine.train_epoch(inputs, targets, None, None, 10, 0.1, optimizer)
    with pytest.raises(ValueError, match="sample_weight has another length"):
        engine.train_epoch(inputs, Y, np.ones(39), None, 10, 0.1, optimizer)
    with pytest.raises(ValueError, match="optimizer state differ"):
        engine.train_epoch(
            inputs, Y, None, None, 10, 0.1, AdamOptimizer(3, np.float64, 0.01)
        )


def test_network_shape_refuses_offsets_that_are_not_a_layout():
    from fastmlp._layout import Layout

    layout = Layout([6, 5, 2])
    codes = (ACTIVATION_CODES["relu"], ACTIVATION_CODES["identity"])
    _kernels.NetworkShape(layout.units, layout.coef_off, layout.intercept_off, *codes)
    for coef_off in (layout.coef_off + 1, layout.coef_off[:1]):
        with pytest.raises(ValueError, match="not a flat parameter layout"):
            _kernels.NetworkShape(layout.units, coef_off, layout.intercept_off, *codes)
