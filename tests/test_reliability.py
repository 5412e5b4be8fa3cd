# SPDX-License-Identifier: BSD-3-Clause
"""What must hold however a fit ends and whoever calls it.

- Divergence: non-finite weights stop the fit with an error naming them;
  with early stopping the best finite weights are kept, with a warning.
- Ctrl-C: SIGINT during a long fit returns within a second with a usable
  model and scikit-learn's "Training interrupted by user." warning.
- Determinism: same seed and thread count, same bits; another thread count
  changes results at round-off only.
- Threads: the kernels release the GIL, one fitted model serves many
  threads at once with identical results, and BLAS stays on one thread
  under the kernels whichever Python thread calls them.
- Memory: hundreds of fit/predict cycles do not grow the process.

Timing assertions compare against a baseline measured in the same test and
leave wide margins: the suite runs on small, shared machines.
"""

import gc
import json
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import psutil
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from threadpoolctl import threadpool_limits

from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._openmp_helpers import openmp_enabled
from fastmlp._threads import effective_n_threads

from float32_overflow import scaled_regression, squared_error_loss

NONFINITE = r"Solver produced non-finite parameter weights"


def _regression(n_samples=100, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    return X, X.sum(axis=1)


def _params(model):
    return model.coefs_ + model.intercepts_


# ----------------------------------------------------------------- divergence


@pytest.mark.parametrize(
    "make_model, scale_y",
    [
        pytest.param(
            lambda: MLPRegressor(solver="sgd", learning_rate_init=1e3),
            1.0,
            id="sgd-huge-learning-rate",
        ),
        pytest.param(
            lambda: MLPRegressor(solver="sgd", learning_rate_init=10),
            1e10,
            id="sgd-huge-targets",
        ),
        pytest.param(
            lambda: MLPRegressor(loss="poisson", solver="sgd", learning_rate_init=10),
            100.0,
            id="poisson-sgd",
        ),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_divergence_raises_naming_non_finite_weights(make_model, scale_y, dtype):
    X, y = _regression()
    model = make_model().set_params(max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match=NONFINITE):
            model.fit(X.astype(dtype), np.abs(y) * scale_y)
    # It stops at the epoch that diverged instead of running to max_iter.
    assert model.n_iter_ < 20
    assert not np.isfinite(model.loss_curve_[-1])


def test_partial_fit_divergence_raises():
    X, y = _regression()
    model = MLPRegressor(solver="sgd", learning_rate_init=1e3, random_state=0)
    with pytest.raises(ValueError, match=NONFINITE):
        for _ in range(20):
            model.partial_fit(X, y)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_divergence_with_early_stopping_keeps_best_finite_weights():
    X, y = _regression()
    model = MLPRegressor(
        solver="sgd",
        learning_rate_init=1e3,
        early_stopping=True,
        max_iter=20,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="diverged"):
        model.fit(X, y)
    assert model.n_iter_ < 20
    assert all(np.isfinite(p).all() for p in _params(model))
    assert np.isfinite(model.predict(X)).all()
    # scikit-learn's tests read the NaN score of the diverged epoch.
    assert np.isnan(model.validation_scores_[-1])
    assert np.isfinite(model.best_validation_score_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_huge_inputs_never_leave_nan_weights(solver):
    # Either a clean error or finite weights: never NaN weights in silence.
    X, y = _regression()
    model = MLPRegressor(solver=solver, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.fit(X * 1e150, y * 1e150)
        except ValueError as exc:
            assert re.search(NONFINITE, str(exc))
            return
    assert all(np.isfinite(p).all() for p in _params(model))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_non_finite_loss_is_reported(solver):
    # Targets so large that the squared error overflows while the weights
    # stay finite: the loss curve is all inf, which the user must be told.
    X, y = _regression()
    model = MLPRegressor(solver=solver, max_iter=5, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y * 1e300)
        except ValueError as exc:
            assert re.search(r"non-finite|diverged", str(exc))
            return
    assert not np.isfinite(model.loss_curve_).any()
    messages = [str(w.message) for w in caught]
    assert any(re.search(r"non-finite|diverged|infinit", m) for m in messages), messages


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e14), (np.float64, 1e150)])
def test_overflowing_adam_second_moments_are_reported(dtype, scale):
    # Squared gradients beyond the dtype's range make Adam's second moments
    # infinite and those weights' steps zero: they stop training while the
    # loss stays finite, so no divergence check sees it.
    X, y = _regression()
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=10, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit((X * scale).astype(dtype), y)
    messages = [str(w.message) for w in caught if "overflowed" in str(w.message)]
    assert len(messages) == 1, messages  # once per fit, not every epoch
    assert np.dtype(dtype).name in messages[0]
    stuck = np.isinf(model._optimizer.vs)
    assert stuck.any() and np.isfinite(model.loss_)
    # Those weights did stop: two more epochs leave them as they were, and
    # the network already reported says nothing more.
    before = model._current_params().copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.partial_fit((X * scale).astype(dtype), y)
        model.partial_fit((X * scale).astype(dtype), y)
    assert not [w for w in caught if "overflowed" in str(w.message)]
    assert_array_equal(model._current_params()[stuck], before[stuck])
    assert not np.array_equal(model._current_params(), before)


def test_ordinary_adam_fit_reports_no_overflow():
    X, y = _regression()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPRegressor(max_iter=10, random_state=0).fit(X.astype(np.float32), y)
    assert not [w for w in caught if "overflowed" in str(w.message)]


def _float32_lbfgs_overflow(scale, activation):
    """An L-BFGS fit whose float32 line search overflows (float64 would not)."""
    X, y = scaled_regression(scale)
    model = MLPRegressor(
        hidden_layer_sizes=(20,),
        activation=activation,
        solver="lbfgs",
        max_iter=50,
        random_state=0,
    )
    return model, X, y


@pytest.mark.parametrize("scale", [1e14, 1e15])
def test_lbfgs_stopped_by_a_non_finite_loss_reports_its_weights_loss(scale):
    # L-BFGS-B gives up when a line search meets a NaN loss, and returns its
    # last iterate with the NaN of the point that failed: loss_ read NaN
    # for finite weights trained for a dozen iterations.
    model, X, y = _float32_lbfgs_overflow(scale, "identity")
    with pytest.warns(ConvergenceWarning, match="line search tried") as caught:
        model.fit(X, y)
    assert model.n_iter_ > 0
    assert "its last iterate" in str(caught[-1].message)
    assert np.isfinite(model.loss_)
    assert model.loss_ == pytest.approx(squared_error_loss(model, X, y), rel=1e-4)
    assert np.isfinite(model.predict(X)).all()


def test_lbfgs_that_cannot_take_a_step_keeps_the_weights_it_started_from():
    model, X, y = _float32_lbfgs_overflow(1e20, "relu")
    # Start from the weights of a fit on tame data (warm_start), to see
    # that they come back unchanged.
    model.set_params(warm_start=True, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X / np.float32(1e20), y)
    start = [p.copy() for p in _params(model)]
    with pytest.warns(ConvergenceWarning, match="those it started from"):
        model.fit(X, y)
    assert model.n_iter_ == 0
    for p, q in zip(_params(model), start, strict=True):
        assert_array_equal(p, q)
    assert model.loss_ == pytest.approx(squared_error_loss(model, X, y), rel=1e-4)


def test_lbfgs_on_a_non_finite_loss_from_the_start_says_so():
    # Squared errors beyond float64's range at the starting weights.
    X, y = _regression()
    model = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="could not train"):
        model.fit(X, y * 1e300)
    assert not np.isfinite(model.loss_)
    assert all(np.isfinite(p).all() for p in _params(model))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("hidden", [(20,), (100, 100)], ids=["tiles", "gemm"])
def test_a_nan_weight_gives_nan_predictions_as_in_sklearn(hidden, dtype):
    # The ReLU made NaN 0, so a broken weight gave finite, plausible output.
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(dtype)
    probas = []
    for estimator in (MLPClassifier, SklearnMLPClassifier):
        model = estimator(hidden_layer_sizes=hidden, max_iter=2, random_state=0)
        model.fit(X, y)
        model.coefs_[0][5, 0] = np.nan
        probas.append(model.predict_proba(X))
    assert np.isnan(probas[1]).all()
    assert_array_equal(np.isnan(probas[0]), np.isnan(probas[1]))


# --------------------------------------------------------------------- Ctrl-C

_SIGINT_CHILD = textwrap.dedent(
    """
    import json, signal, sys, time, warnings
    import numpy as np
    from fastmlp import MLPRegressor

    # A suite started in the background (nohup, `&` in a script) passes
    # SIGINT on as ignored, and Python then leaves it ignored: take Ctrl-C
    # back, as an interactive session has it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    solver, n_features, hidden = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, n_features), dtype=np.float32)
    y = X[:, :8].sum(axis=1)
    # n_iter_no_change=max_iter: the easy target would otherwise converge
    # in under a second on a fast machine, before the signal is sent.
    model = MLPRegressor(hidden_layer_sizes=(hidden,), max_iter=1000,
                         n_iter_no_change=1000, solver=solver, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        print("FITTING", flush=True)
        model.fit(X, y)
        returned = time.time()
    prediction = model.predict(X[:1000])
    print(json.dumps({
        "returned": returned,
        "warnings": [str(w.message) for w in caught],
        "finite": bool(np.isfinite(prediction).all()),
        "params_finite": bool(all(np.isfinite(c).all() for c in model.coefs_)),
    }), flush=True)
    """
)


# id -> (solver, n_features, hidden units). A network of a few thousand
# parameters trains each epoch in one parallel region (rows split between
# threads), a large one splits every product: Ctrl-C must reach both.
_SIGINT_CASES = {
    "adam": ("adam", 200, 512),
    "lbfgs": ("lbfgs", 200, 512),
    "adam-small-network": ("adam", 8, 100),
}


@pytest.fixture(scope="module")
def interrupted_fits(subprocess_env):
    """Start one long fit per case, SIGINT each after 1.5 s; their reports.

    The children run at once to cut the wait: each measures its own
    interrupt latency, the time from the signal to `fit` returning.
    """
    children = {
        case: subprocess.Popen(
            [sys.executable, "-c", _SIGINT_CHILD, *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env,
        )
        for case, args in _SIGINT_CASES.items()
    }
    reports = {}
    try:
        for proc in children.values():
            assert proc.stdout.readline().strip() == "FITTING", proc.stderr.read()
        time.sleep(1.5)
        sent = {}
        for case, proc in children.items():
            sent[case] = time.time()
            proc.send_signal(signal.SIGINT)
        for case, proc in children.items():
            try:
                out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                reports[case] = {"error": "still running 30 s after SIGINT"}
                continue
            lines = out.strip().splitlines()
            if proc.returncode != 0 or not lines:
                reports[case] = {
                    "error": f"exit {proc.returncode}; stderr: {err[-2000:]!r}; "
                    f"stdout: {out[-500:]!r}"
                }
                continue
            report = json.loads(lines[-1])
            report["latency"] = report["returned"] - sent[case]
            reports[case] = report
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return reports


@pytest.mark.parametrize("case", list(_SIGINT_CASES))
def test_ctrl_c_stops_within_a_second_with_a_usable_model(interrupted_fits, case):
    report = interrupted_fits[case]
    assert "error" not in report, report.get("error")
    assert "Training interrupted by user." in report["warnings"]
    assert report["finite"] and report["params_finite"]
    assert report["latency"] < 1.0, (
        f"fit returned {report['latency']:.2f} s after SIGINT"
    )


# ---------------------------------------------------------------- determinism

# Big enough that every threaded path engages with 2 threads: products above
# PARALLEL_MIN_MACS, optimizer steps of more than two STEP_MIN_CHUNK chunks.
_rng = np.random.RandomState(1)
X_WIDE = _rng.normal(size=(200, 60))
Y_WIDE = {
    "classifier": (X_WIDE[:, :3].sum(axis=1) > 0) + (X_WIDE[:, 3] > 1),
    "regressor": X_WIDE[:, :3].sum(axis=1),
}
ESTIMATORS = {"classifier": MLPClassifier, "regressor": MLPRegressor}


def _fit_wide(kind, solver, X=X_WIDE):
    model = ESTIMATORS[kind](
        hidden_layer_sizes=(256, 80),
        solver=solver,
        max_iter=2,
        batch_size=100,
        random_state=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, Y_WIDE[kind])


@pytest.mark.parametrize(
    "kind, solver, sparse",
    [
        ("classifier", "adam", False),
        ("regressor", "adam", False),
        ("regressor", "sgd", False),
        ("classifier", "lbfgs", False),
        ("regressor", "adam", True),
        ("classifier", "lbfgs", True),
    ],
    ids=lambda v: {True: "csr", False: "dense"}.get(v, v),
)
def test_same_seed_and_threads_give_identical_bits(kind, solver, sparse):
    X = sp.csr_matrix(np.where(X_WIDE > 0.5, X_WIDE, 0)) if sparse else X_WIDE
    by_threads = {}
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            # A build without OpenMP runs on one thread whatever the limit.
            assert effective_n_threads() == (n_threads if openmp_enabled() else 1)
            first, second = _fit_wide(kind, solver, X), _fit_wide(kind, solver, X)
            for a, b in zip(_params(first), _params(second), strict=True):
                assert_array_equal(a, b)
            assert_array_equal(first.predict(X), second.predict(X))
            if solver != "lbfgs":
                assert first.loss_curve_ == second.loss_curve_
        by_threads[n_threads] = first
    # Another thread count may regroup sums: round-off, nothing more.
    for a, b in zip(_params(by_threads[1]), _params(by_threads[2]), strict=True):
        assert_allclose(a, b, rtol=1e-6, atol=1e-9)


# -------------------------------------------------------------------- threads


def _main_thread_rate(work):
    """Iterations per second of a pure-Python loop while `work` runs aside.

    The loop needs the GIL for every iteration, so it crawls while the other
    thread holds the GIL and runs near full speed while it does not.
    """
    done = threading.Event()

    def target():
        try:
            work()
        finally:
            done.set()

    worker = threading.Thread(target=target)
    count = 0
    start = time.perf_counter()  # before start(): the worker may run first
    worker.start()
    while not done.is_set():
        count += 1
    elapsed = time.perf_counter() - start
    worker.join()
    return count / elapsed


def _idle_rate():
    return _main_thread_rate(lambda: time.sleep(0.3))


def test_kernels_release_the_gil():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(8000, 100))
    y = X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = MLPRegressor(hidden_layer_sizes=(256,), max_iter=1).fit(X[:50], y[:50])

    def in_one_openmp_thread(call):
        # One thread for the work (the OpenMP setting is the worker's own), so
        # the main thread keeps a core of its own on a 2-core machine.
        def work():
            with threadpool_limits(1), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                call()

        return work

    workloads = {
        "adam fit": in_one_openmp_thread(
            lambda: MLPRegressor(
                hidden_layer_sizes=(256,), max_iter=3, random_state=0
            ).fit(X, y)
        ),
        "lbfgs fit": in_one_openmp_thread(
            lambda: MLPRegressor(
                hidden_layer_sizes=(256,), max_iter=3, solver="lbfgs", random_state=0
            ).fit(X, y)
        ),
        "predict": in_one_openmp_thread(lambda: [fitted.predict(X) for _ in range(8)]),
    }
    idle = max(_idle_rate(), _idle_rate())
    # The method can tell: a C call holding the GIL all along (summing a
    # range runs no bytecode) stalls the main thread almost completely. It
    # lasts about a second, so that the worker's start, when both threads
    # run, is a small share of it: with sorting 1.5 million floats (0.3 s)
    # the main thread kept 2-6 % of its idle rate and once crossed 6 %.
    assert _main_thread_rate(lambda: sum(range(60_000_000))) < 0.06 * idle
    for name, work in workloads.items():
        rate = _main_thread_rate(work)
        assert rate > 0.1 * idle, f"{name}: main thread at {rate / idle:.0%} of idle"


def _classifier_for_threads():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 20))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    model = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=20, random_state=0)
    # Fitted on one thread: quick even on a busy machine; predict is the point.
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y), X


def test_concurrent_predict_on_one_model_is_identical():
    model, X = _classifier_for_threads()
    # Large enough for the threaded kernel path, and small ones that run on
    # one thread; dense and CSR.
    rows = [X, X[:1], X[:100], sp.csr_matrix(np.where(X > 0, X, 0))[:300]]
    expected = [(model.predict(r), model.predict_proba(r)) for r in rows]

    def call(i):
        r = i % len(rows)
        return r, model.predict(rows[r]), model.predict_proba(rows[r])

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(call, range(48)))
    for r, labels, proba in results:
        assert_array_equal(labels, expected[r][0])
        assert_array_equal(proba, expected[r][1])


def test_predict_during_a_refit_of_another_shape_uses_one_consistent_network():
    # A web server predicting with a model that another thread refits with
    # other hidden sizes: each predict must use one fit's weights with that
    # fit's layout. A buffer of one fit read with another's layout was read
    # past its end: NaN and infinite predictions (about 1 in 1000 calls).
    rng = np.random.RandomState(0)
    X, y = rng.rand(300, 8), rng.rand(300)
    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    stop = threading.Event()
    failures, n_calls = [], [0]

    def predict_until_stopped():
        sizes = np.random.RandomState(1).randint(1, 300, size=4096)
        while not stop.is_set():
            rows = X[: sizes[n_calls[0] % sizes.size]]
            try:
                pred = model.predict(rows)
            except Exception as exc:  # noqa: BLE001 -- every failure is the finding
                failures.append(repr(exc))
                continue
            finally:
                n_calls[0] += 1
            if pred.shape != (rows.shape[0],) or not np.isfinite(pred).all():
                failures.append(f"shape {pred.shape}, finite {np.isfinite(pred).all()}")

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the two threads finely
    thread = threading.Thread(target=predict_until_stopped)
    try:
        thread.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for k in range(600):
                model.set_params(hidden_layer_sizes=(400, 50) if k % 2 else (3,))
                model.fit(X, y)
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch)
    assert n_calls[0] > 1000
    assert not failures, f"{len(failures)} of {n_calls[0]} calls: {failures[:3]}"


def test_concurrent_fits_of_separate_models_match_serial_fits():
    X, y = _regression(n_samples=500, n_features=30)

    def fit(seed):
        return MLPRegressor(
            hidden_layer_sizes=(64,), max_iter=5, random_state=seed
        ).fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial = [fit(seed) for seed in range(6)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            concurrent = list(pool.map(fit, range(6)))
    for a, b in zip(serial, concurrent, strict=True):
        for pa, pb in zip(_params(a), _params(b), strict=True):
            assert_array_equal(pa, pb)


_BLAS_CHILD = textwrap.dedent(
    """
    import json, warnings
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    from threadpoolctl import threadpool_info
    import fastmlp._engine
    from fastmlp import MLPClassifier, MLPRegressor

    def blas_threads():
        return sorted((p["filepath"], p["num_threads"]) for p in threadpool_info()
                      if p["user_api"] == "blas")

    # BLAS's thread count while the kernels run, seen from inside.
    during = []
    predict = fastmlp._engine.Network.predict
    def spy(self, params, inputs, n_threads, check_finite=False):
        if n_threads > 1:
            during.append(max(n for _, n in blas_threads()))
        return predict(self, params, inputs, n_threads, check_finite)
    fastmlp._engine.Network.predict = spy

    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 20))
    model = MLPClassifier(hidden_layer_sizes=(64, 32), max_iter=5).fit(X, X[:, 0] > 0)
    before = blas_threads()

    def work(i):
        if i % 8 == 0:
            MLPRegressor(hidden_layer_sizes=(32,), max_iter=2).fit(X, X[:, 0])
        return model.predict_proba(X)

    after = []
    for _ in range(3):
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(32)))
        after.append(blas_threads())
    print(json.dumps({"before": before, "after": after, "during": during}))
    """
)


def test_concurrent_calls_leave_blas_threads_as_found(json_child):
    # fit and predict cap BLAS at one thread while they run; that setting is
    # process-wide, so overlapping calls must not leave it capped. A fresh
    # interpreter: an earlier test here may have left it capped already.
    report = json_child(_BLAS_CHILD, OMP_NUM_THREADS="2")
    for after in report["after"]:
        assert after == report["before"]
    if openmp_enabled():
        # ... and while they run on several threads, the cap holds in each.
        assert len(report["during"]) == 96
        assert set(report["during"]) == {1}
    else:
        # A build without OpenMP never runs a kernel on several threads.
        assert report["during"] == []


_BLAS_CAP_CHILD = textwrap.dedent(
    """
    import json, threading, warnings
    from concurrent.futures import ThreadPoolExecutor
    from sklearn.datasets import load_digits
    from threadpoolctl import threadpool_info, threadpool_limits
    import fastmlp._engine
    from fastmlp import MLPClassifier

    def blas_threads():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    # What BLAS runs on while fastmlp's kernels run, seen from inside.
    seen = []
    predict = fastmlp._engine.Network.predict
    def spy(self, params, inputs, n_threads, check_finite=False):
        if n_threads > 1:
            seen.append((threading.current_thread().name, blas_threads()))
        return predict(self, params, inputs, n_threads, check_finite)
    fastmlp._engine.Network.predict = spy

    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)

    def fit_and_predict():
        model = MLPClassifier(hidden_layer_sizes=(300,), max_iter=3, random_state=0)
        model.fit(X, y)
        return [c.tolist() for c in model.coefs_], model.predict_proba(X).tolist()

    def users_own_limit():
        with threadpool_limits(limits=1, user_api="blas"):
            return blas_threads()

    before = blas_threads()
    in_main = fit_and_predict()
    with ThreadPoolExecutor(1, thread_name_prefix="worker") as pool:
        in_worker = pool.submit(fit_and_predict).result()
        limited_in_worker = pool.submit(users_own_limit).result()
    again_in_main = fit_and_predict()
    print(json.dumps({
        "before": before, "after": blas_threads(), "seen": seen,
        "same_in_worker": in_worker == in_main,
        "same_again_in_main": again_in_main == in_main,
        "limited_in_worker": limited_in_worker,
    }))
    """
)


# Two threads for OpenMP and BLAS whatever the caller's environment sets
# (OPENBLAS_NUM_THREADS=1 made the BLAS caps unobservable), so that there is
# a count to cap.
_TWO_THREADS_EVERYWHERE = {
    "OMP_NUM_THREADS": "2",
    "OPENBLAS_NUM_THREADS": "2",
    "MKL_NUM_THREADS": "2",
}


def test_blas_runs_on_one_thread_under_the_kernels_in_any_python_thread(json_child):
    # threadpoolctl 3.8 lets only one Python thread at a time change
    # OpenBLAS's (process-wide) thread count, and silently ignores the
    # others. fastmlp's cap, taken first from the main thread, then held the
    # right forever: in any other thread the kernels' OpenMP threads called a
    # multithreaded BLAS, the same fit gave other bits there, and a user's own
    # threadpool_limits in another thread did nothing.
    report = json_child(_BLAS_CAP_CHILD, **_TWO_THREADS_EVERYWHERE)
    if max(report["before"]) < 2:
        pytest.skip("BLAS runs on one thread here: a cap cannot be seen")
    if openmp_enabled():
        threads = {name.split("_")[0] for name, _ in report["seen"]}
        assert threads == {"MainThread", "worker"}
        for name, blas in report["seen"]:
            assert max(blas) == 1, (name, blas)
    else:
        # A build without OpenMP never runs a kernel on several threads.
        assert report["seen"] == []
    assert report["same_in_worker"]
    assert report["same_again_in_main"]
    assert max(report["limited_in_worker"]) == 1
    assert report["after"] == report["before"]


_LIMITS_APART_CHILD = textwrap.dedent(
    """
    import json, threading
    import numpy, scipy.linalg
    from threadpoolctl import threadpool_info, threadpool_limits
    from fastmlp._threads import (
        blas_single_threaded, effective_n_threads, one_thread_per_task)

    def blas_threads():
        pools = threadpool_info()
        return max(p["num_threads"] for p in pools if p["user_api"] == "blas")

    def run(*targets):
        threads = [threading.Thread(target=t) for t in targets]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    report = {"blas_default": blas_threads()}

    # A Dask task's OpenMP limit, entered before another call's BLAS cap and
    # left while that call still runs, must leave the cap in place.
    task_in, call_in, task_out = (threading.Event() for _ in range(3))
    def task():
        with one_thread_per_task():
            task_in.set()
            call_in.wait()
        task_out.set()
    def call():
        task_in.wait()
        with blas_single_threaded():
            call_in.set()
            task_out.wait()
            report["blas_in_call_after_task"] = blas_threads()
    run(task, call)

    # The last call to leave the BLAS cap restores BLAS only: not its own
    # OpenMP count to what the first call's thread had.
    # (The user's limit comes first: leaving it restores every library to
    # what it found, a capped BLAS included.)
    limited, first_in, second_in, first_out = (threading.Event() for _ in range(4))
    def first():
        limited.wait()
        with blas_single_threaded():
            first_in.set()
            second_in.wait()
        first_out.set()
    def second():
        with threadpool_limits(limits=1, user_api="openmp"):
            limited.set()
            first_in.wait()
            with blas_single_threaded():
                second_in.set()
                first_out.wait()
            report["openmp_after_leaving_last"] = effective_n_threads()
    run(first, second)
    report["blas_after"] = blas_threads()
    print(json.dumps(report))
    """
)


def test_blas_and_openmp_limits_are_restored_apart(json_child):
    # A threadpoolctl limit restores every library its controller holds:
    # fastmlp's OpenMP limit (Dask tasks) put back a BLAS count another
    # call had capped since, and its BLAS cap reset the last thread's OpenMP
    # count inside a user's own threadpool_limits block.
    report = json_child(_LIMITS_APART_CHILD, **_TWO_THREADS_EVERYWHERE)
    assert report["openmp_after_leaving_last"] == 1
    if report["blas_default"] < 2:
        pytest.skip("BLAS runs on one thread here: a cap cannot be seen")
    assert report["blas_in_call_after_task"] == 1
    assert report["blas_after"] == report["blas_default"]


_FORK_CHILD = textwrap.dedent(
    """
    import json, multiprocessing, warnings
    from sklearn.datasets import load_digits
    from threadpoolctl import threadpool_limits
    from fastmlp import MLPClassifier

    warnings.simplefilter("ignore")
    X, y = load_digits(return_X_y=True)

    def fit():
        model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=3, random_state=0)
        return model.fit(X, y).coefs_[0].tolist()

    fit()  # on OMP_NUM_THREADS=2 threads: OpenMP's workers now exist
    with threadpool_limits(1, user_api="openmp"):
        one_thread = fit()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        try:
            in_child = pool.apply_async(fit).get(timeout=60)
        except multiprocessing.TimeoutError:
            in_child = None
        pool.terminate()
    print(json.dumps({"in_child": in_child, "one_thread": one_thread}))
    """
)


def test_fit_in_a_forked_child_after_a_threaded_fit(json_child):
    # GNU OpenMP's workers do not survive fork: a child that opened a
    # parallel region waited for them forever (scikit-learn's MLP, all BLAS,
    # runs there). Such a child now trains on one thread.
    report = json_child(_FORK_CHILD, OMP_NUM_THREADS="2")
    assert report["in_child"] is not None, "the forked child hung"
    assert report["in_child"] == report["one_thread"]


# --------------------------------------------------------------------- memory


def test_no_memory_growth_over_many_fit_predict_cycles():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 10))
    X_csr = sp.csr_matrix(np.where(X > 0.5, X, 0))
    y_reg = X[:, 0]
    y_clf = (X[:, 1] > 0).astype(int) + (X[:, 2] > 0)
    cycles = [
        lambda: (
            MLPRegressor(hidden_layer_sizes=(16,), max_iter=3).fit(X, y_reg).predict(X)
        ),
        lambda: (
            MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=3)
            .fit(X, y_clf)
            .predict_proba(X)
        ),
        lambda: (
            MLPClassifier(hidden_layer_sizes=(16,), max_iter=3, early_stopping=True)
            .fit(X_csr, y_clf)
            .predict(X_csr)
        ),
        lambda: (
            MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=5)
            .fit(X.astype(np.float32), y_reg)
            .predict(X)
        ),
        lambda: (
            MLPRegressor(hidden_layer_sizes=(16,))
            .partial_fit(X, y_reg)
            .partial_fit(X, y_reg)
            .predict(X)
        ),
    ]
    process = psutil.Process()

    def run(n):
        for i in range(n):
            cycles[i % len(cycles)]()
        gc.collect()
        return process.memory_info().rss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        run(30)  # warm-up: caches, allocator pools, lazily loaded modules
        before = run(0)
        after = run(200)
    growth_mb = (after - before) / 2**20
    assert growth_mb < 20, f"RSS grew {growth_mb:.1f} MB over 200 cycles"
