# SPDX-License-Identifier: BSD-3-Clause
"""The benchmarked workloads: data, candidates per implementation, extras.

Every workload function takes a `Context` (sizes, repeats, data cache, which
implementations exist) and returns a JSON-ready dict with a ``rows`` list
(one per implementation: times, median, min, ratio to scikit-learn, quality).
fastmlp, the NumPy baseline and scikit-learn get identical arrays, dtype and
hyper-parameters, including ``random_state``, so in float64 they train the
same network; PyTorch gets the same architecture, optimizer, batch size and
epochs with its own random draws.
"""

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import sklearn.neural_network as sk_nn
from _harness import Candidate, median_time, time_interleaved
from _memory_child import PREDICT_FIT_ROWS
from _memory_child import SCENARIOS as MEMORY_SCENARIOS
from sklearn.datasets import make_classification, make_friedman1
from sklearn.metrics import r2_score
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp._threads import effective_n_threads
from fastmlp.numpy_baseline import BaselineMLPClassifier, BaselineMLPRegressor

try:
    import torch
    from _torch_mlp import TorchMLP
except ImportError:
    torch = None

HERE = Path(__file__).resolve().parent
BATCH_SIZE = 200  # scikit-learn's batch_size="auto" for n_samples >= 200
SEED = 0


@dataclasses.dataclass
class Sizes:
    n_large: int
    n_test: int
    n_reg: int
    reg_epochs: int
    lbfgs_iter: int
    n_sparse: int
    n_predict: int
    latency_calls: int
    n_curve: int
    curve_epochs: int
    peak_size: int


FULL = Sizes(
    n_large=60000,
    n_test=10000,
    n_reg=20000,
    reg_epochs=10,
    lbfgs_iter=100,
    n_sparse=20000,
    n_predict=60000,
    latency_calls=2000,
    n_curve=10000,
    curve_epochs=5,
    peak_size=2048,
)
QUICK = Sizes(
    n_large=4000,
    n_test=1000,
    n_reg=4000,
    reg_epochs=3,
    lbfgs_iter=20,
    n_sparse=2000,
    n_predict=10000,
    latency_calls=300,
    n_curve=2000,
    curve_epochs=3,
    peak_size=1024,
)


@dataclasses.dataclass
class Context:
    sizes: Sizes
    repeats: int
    min_repeats: int
    budget_s: float | None
    use_torch: bool
    log: object = print
    # The thread counts of the thread_scaling sweep; None: 1 .. cpu_count.
    thread_counts: list | None = None
    cache: dict = dataclasses.field(default_factory=dict)

    def impls(self):
        names = ["fastmlp", "baseline", "sklearn"]
        return names + (["torch"] if self.use_torch else [])

    def timed(self, candidates):
        return time_interleaved(
            candidates, self.repeats, self.min_repeats, self.budget_s, log=self.log
        )


# ---------------------------------------------------------------------- data


def large_data(ctx, dtype):
    """MNIST-shaped classification: n x 784, 10 classes, plus a test split."""
    if "large" not in ctx.cache:
        n, n_test = ctx.sizes.n_large, ctx.sizes.n_test
        X, y = make_classification(
            n_samples=n + n_test,
            n_features=784,
            n_informative=64,
            n_redundant=0,
            n_classes=10,
            n_clusters_per_class=2,
            class_sep=2.0,
            random_state=SEED,
        )
        ctx.cache["large"] = (X[:n], y[:n], X[n:], y[n:])
    X, y, X_test, y_test = ctx.cache["large"]
    key = ("large", np.dtype(dtype).name)
    if key not in ctx.cache:
        ctx.cache[key] = (
            np.ascontiguousarray(X, dtype=dtype),
            np.ascontiguousarray(X_test, dtype=dtype),
        )
    Xd, Xd_test = ctx.cache[key]
    return Xd, y, Xd_test, y_test


def regression_data(ctx):
    """Friedman #1 (non-linear) with 8 features, plus a test split."""
    if "reg" not in ctx.cache:
        n = ctx.sizes.n_reg
        X, y = make_friedman1(
            n_samples=n + n // 4, n_features=8, noise=1.0, random_state=SEED
        )
        ctx.cache["reg"] = (X[:n], y[:n], X[n:], y[n:])
    return ctx.cache["reg"]


def sparse_data(ctx):
    """CSR 20000 x 50000 at 0.1 % density; label: sign of a random projection."""
    if "sparse" not in ctx.cache:
        n = ctx.sizes.n_sparse
        n_test = max(n // 5, 500)
        # A Generator, not an int seed: with an int, SciPy 1.17 samples the
        # positions through RandomState.choice over all n * 50000 cells
        # (5.5 minutes and 7.9 GB for 20000 rows); a Generator takes 0.5 s.
        X = sp.random(
            n + n_test,
            50000,
            density=0.001,
            format="csr",
            random_state=np.random.default_rng(SEED),
        )
        w = np.random.default_rng(SEED).standard_normal(50000)
        y = (X @ w > 0).astype(np.int64)
        ctx.cache["sparse"] = (X[:n], y[:n], X[n:], y[n:])
    return ctx.cache["sparse"]


# ------------------------------------------------------------ implementations


def _estimator(impl, task, **params):
    """A fresh estimator of `impl` for `task` ("multiclass"/"binary"/"regression")."""
    if impl == "torch":
        keep = (
            "hidden_layer_sizes",
            "solver",
            "alpha",
            "learning_rate_init",
            "max_iter",
            "tol",
            "random_state",
        )
        return TorchMLP(
            task,
            batch_size=BATCH_SIZE,
            **{k: v for k, v in params.items() if k in keep},
        )
    is_regression = task == "regression"
    cls = {
        ("fastmlp", False): fastmlp.MLPClassifier,
        ("fastmlp", True): fastmlp.MLPRegressor,
        ("baseline", False): BaselineMLPClassifier,
        ("baseline", True): BaselineMLPRegressor,
        ("sklearn", False): sk_nn.MLPClassifier,
        ("sklearn", True): sk_nn.MLPRegressor,
    }[impl, is_regression]
    return cls(**params)


def _train_params(hidden, solver, max_iter, tol=1e-4):
    # n_iter_no_change = max_iter: every epoch runs, for every implementation.
    return dict(
        hidden_layer_sizes=hidden,
        solver=solver,
        alpha=1e-4,
        batch_size=BATCH_SIZE,
        learning_rate_init=1e-3,
        max_iter=max_iter,
        n_iter_no_change=max(max_iter, 1),
        tol=tol,
        random_state=SEED,
    )


def _final_loss(model):
    curve = getattr(model, "loss_curve_", None)
    return float(curve[-1]) if curve else float(getattr(model, "loss_", np.nan))


def _quality(task, X_test, y_test):
    def quality(model):
        out = {"loss": round(_final_loss(model), 5)}
        pred = model.predict(X_test)
        if task == "regression":
            out["r2"] = round(float(r2_score(y_test, pred)), 4)
        else:
            out["accuracy"] = round(float(np.mean(pred == y_test)), 4)
        return out

    return quality


def _training_candidates(ctx, task, params, X, y, X_test, y_test, n_warm):
    quality = _quality(task, X_test, y_test)
    candidates = []
    for impl in ctx.impls():

        def run(impl=impl, X=X):
            return _estimator(impl, task, **params).fit(X, y)

        def warmup(impl=impl):
            warm = dict(params, max_iter=1, n_iter_no_change=1)
            return _estimator(impl, task, **warm).fit(X[:n_warm], y[:n_warm])

        def q(model):
            out = quality(model)
            if params["solver"] == "lbfgs":
                out["n_iter"] = int(model.n_iter_)
            return out

        divisor = None if params["solver"] == "lbfgs" else (lambda m: m.n_iter_)
        candidates.append(Candidate(impl, run, q, divisor, warmup))
    return candidates


def _round_ratios(sk, res):
    """scikit-learn's time / this one, round by round, or None.

    Within a round the implementations ran back to back, so each ratio saw
    nearly the same machine: its spread over the rounds shows how far the
    noise of the host moves a speed-up. Only interleaved timings have rounds.
    """
    ours, theirs = res.get("times"), sk.get("times")
    if not ours or not theirs or len(ours) != len(theirs) or min(ours) <= 0:
        return None
    return [s / t for s, t in zip(theirs, ours, strict=True)]


def _rows(results):
    sk = results.get("sklearn")
    rows = []
    for impl, res in results.items():
        row = {
            "implementation": impl,
            **res,
            "ratio_to_sklearn": None,
            "ratio_to_sklearn_min": None,
            "ratio_to_sklearn_rounds": None,
        }
        if sk and res["median"] and res["min"]:
            row["ratio_to_sklearn"] = sk["median"] / res["median"]
            # Ratio of best times: what is left when contention is filtered out.
            row["ratio_to_sklearn_min"] = sk["min"] / res["min"]
            row["ratio_to_sklearn_rounds"] = _round_ratios(sk, res)
        rows.append(row)
    return rows


# -------------------------------------------------------- GEMM floor and peak


def epoch_flops(n, units):
    """Multiply-add FLOPs of one pass forward and back over n samples.

    Per layer of fan_in x fan_out: the forward product, the coef gradient
    and, above the first layer, the delta product, each n x fan_in x fan_out
    multiply-adds (2 FLOPs each). For 784 -> 256 -> 10: forward X@W1, H@W2;
    backward H.T@D2, D2@W2.T, X.T@D1.
    """
    sizes = [a * b for a, b in zip(units[:-1], units[1:], strict=True)]
    return 2.0 * n * (3 * sum(sizes) - sizes[0])


def predict_flops(n, units):
    """Multiply-add FLOPs of a forward pass over n samples."""
    return 2.0 * n * sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))


def flop_limit(ctx, rows, flops, dtype):
    """The time `flops` take at the measured GEMM peak of every core.

    No implementation can beat it, so scikit-learn's median over it is the
    largest speed-up over scikit-learn this machine allows.
    """
    peak = peak_gflops(ctx, dtype)
    cores = effective_n_threads()
    limit_s = flops / (cores * peak["per_core"] * 1e9)
    sk = next(r for r in rows if r["implementation"] == "sklearn")
    return {
        "gflop": flops / 1e9,
        "cores": cores,
        "peak_gflops_per_core": peak["per_core"],
        "peak_matrix_size": peak["size"],
        "flop_limit_s": limit_s,
        "best_ratio_to_sklearn": sk["median"] / limit_s,
    }


def gemm_floor_epoch(X, units):
    """A callable running exactly the GEMMs of one epoch, nothing else.

    `units` is the network, inputs to outputs. NumPy matmul (its bundled
    OpenBLAS, default threads) into preallocated outputs, in X's dtype, over
    contiguous batches of BATCH_SIZE rows: each layer's forward product, then
    from the top each layer's coef gradient and, above the first layer, its
    delta product (the products epoch_flops counts). It is timed as one more
    candidate in the implementations' rounds, so that it meets the same
    contention as they do.
    """
    rng = np.random.default_rng(SEED)
    dtype = X.dtype
    pairs = list(zip(units[:-1], units[1:], strict=True))
    coefs = [rng.standard_normal(pair).astype(dtype) for pair in pairs]
    activations = [np.empty((BATCH_SIZE, fan_out), dtype) for _, fan_out in pairs]
    deltas = [
        rng.standard_normal((BATCH_SIZE, fan_out)).astype(dtype) for _, fan_out in pairs
    ]
    coef_grads = [np.empty(pair, dtype) for pair in pairs]

    def epoch():
        for start in range(0, len(X) - BATCH_SIZE + 1, BATCH_SIZE):
            inputs = [X[start : start + BATCH_SIZE], *activations[:-1]]
            for layer_in, coef, layer_out in zip(
                inputs, coefs, activations, strict=True
            ):
                np.matmul(layer_in, coef, out=layer_out)
            for layer in range(len(coefs) - 1, -1, -1):
                np.matmul(inputs[layer].T, deltas[layer], out=coef_grads[layer])
                if layer:
                    np.matmul(deltas[layer], coefs[layer].T, out=deltas[layer - 1])

    return epoch


def gemm_floor_predict(X, units):
    """A callable running only the forward products over every row of X."""
    rng = np.random.default_rng(SEED)
    pairs = list(zip(units[:-1], units[1:], strict=True))
    coefs = [rng.standard_normal(pair).astype(X.dtype) for pair in pairs]
    activations = [np.empty((len(X), fan_out), X.dtype) for _, fan_out in pairs]

    def predict():
        inputs = [X, *activations[:-1]]
        for layer_in, coef, layer_out in zip(inputs, coefs, activations, strict=True):
            np.matmul(layer_in, coef, out=layer_out)

    return predict


def with_gemm_floor(ctx, candidates, floor_fn, flops, dtype):
    """Time the candidates and the floor together; rows and the floor's record.

    Each row gains its time over the floor's, per round as well: within a
    round the two ran seconds apart, less exposed to the host's slow episodes.
    """
    results = ctx.timed([*candidates, Candidate("gemm_floor", floor_fn)])
    floor = results.pop("gemm_floor")
    rows = _rows(results)
    for row in rows:
        row["over_gemm_floor"] = row["median"] / floor["median"]
        row["over_gemm_floor_min"] = row["min"] / floor["min"]
        row["over_gemm_floor_rounds"] = [
            t / f for t, f in zip(row["times"], floor["times"], strict=True)
        ]
        row["achieved_gflops"] = flops / row["median"] / 1e9
    limit = flop_limit(ctx, rows, flops, dtype)
    sk = next(r for r in rows if r["implementation"] == "sklearn")
    record = {
        "gemm_floor_median_s": floor["median"],
        "gemm_floor_min_s": floor["min"],
        "gemm_floor_times": floor["times"],
        "gflop": flops / 1e9,
        "cores": limit["cores"],
        "peak_gflops_per_core": limit["peak_gflops_per_core"],
        "peak_gflops_all_threads": peak_gflops(ctx, dtype)["all"],
        "peak_matrix_size": limit["peak_matrix_size"],
        "flop_limit_s": limit["flop_limit_s"],
        "floor_gflops": flops / floor["median"] / 1e9,
        # The speed-up over scikit-learn of the bare products alone.
        "sklearn_over_floor": sk["median"] / floor["median"],
    }
    return rows, limit, record


def peak_gflops(ctx, dtype):
    """Measured GEMM peak (GFLOP/s): one core, and every thread BLAS uses."""
    key = ("peak", np.dtype(dtype).name)
    if key not in ctx.cache:
        size = ctx.sizes.peak_size
        rng = np.random.default_rng(SEED)
        A = rng.standard_normal((size, size)).astype(dtype)
        B = rng.standard_normal((size, size)).astype(dtype)
        C = np.empty((size, size), dtype)
        flops = 2.0 * size**3
        # Best of several: a peak is what the hardware can do, and on a
        # shared machine only the fastest run comes close to that.
        with threadpool_limits(limits=1, user_api="blas"):
            _, one = median_time(lambda: np.matmul(A, B, out=C), 5)
        _, every = median_time(lambda: np.matmul(A, B, out=C), 5)
        ctx.cache[key] = {
            "per_core": flops / one / 1e9,
            "all": flops / every / 1e9,
            "size": size,
        }
    return ctx.cache[key]


# ----------------------------------------------------------------- workloads


def large(ctx, solver, dtype):
    name = f"large_{solver}_{np.dtype(dtype).name}"
    X, y, X_test, y_test = large_data(ctx, dtype)
    params = _train_params((256,), solver, 1)
    candidates = _training_candidates(
        ctx, "multiclass", params, X, y, X_test, y_test, 2000
    )
    units = (X.shape[1], 256, 10)
    flops = epoch_flops(len(X), units)
    rows, limit, floor = with_gemm_floor(
        ctx, candidates, gemm_floor_epoch(X, units), flops, dtype
    )
    return {
        "name": name,
        "limit": limit,
        "description": f"{len(X)}x784 -> 256 -> 10 classifier, {solver}, "
        f"{np.dtype(dtype).name}, one epoch (max_iter=1)",
        "unit": "s/epoch",
        "params": params,
        "rows": rows,
        "floor": floor,
    }


def regression(ctx, hidden, solver):
    X, y, X_test, y_test = regression_data(ctx)
    if solver == "lbfgs":
        # tol=0: every implementation runs the same number of iterations.
        params = _train_params(hidden, "lbfgs", ctx.sizes.lbfgs_iter, tol=0.0)
        unit, what = "s/fit", f"{ctx.sizes.lbfgs_iter} L-BFGS iterations"
    else:
        params = _train_params(hidden, solver, ctx.sizes.reg_epochs)
        unit, what = "s/epoch", f"{ctx.sizes.reg_epochs} epochs, time per epoch"
    arch = " x ".join(str(h) for h in hidden)
    candidates = _training_candidates(
        ctx, "regression", params, X, y, X_test, y_test, 1000
    )
    units = (X.shape[1], *hidden, 1)
    # One pass over the data per epoch; L-BFGS makes at least one per
    # iteration (its line search may add more), so its limit is a lower bound.
    flops = epoch_flops(len(X), units)
    floor = None
    if solver == "lbfgs":
        flops *= ctx.sizes.lbfgs_iter
        rows = _rows(ctx.timed(candidates))
        limit = flop_limit(ctx, rows, flops, np.float64)
    else:
        rows, limit, floor = with_gemm_floor(
            ctx, candidates, gemm_floor_epoch(X, units), flops, np.float64
        )
    return {
        "name": f"reg_{solver}_{'x'.join(str(h) for h in hidden)}",
        "description": f"{len(X)}x8 -> {arch} -> 1 regressor (Friedman #1), "
        f"{solver}, float64, {what}",
        "unit": unit,
        "params": params,
        "rows": rows,
        "limit": limit,
        **({"floor": floor} if floor else {}),
    }


def sparse_training(ctx):
    X, y, X_test, y_test = sparse_data(ctx)
    params = _train_params((100,), "adam", 1)
    results = ctx.timed(
        _training_candidates(ctx, "binary", params, X, y, X_test, y_test, 400)
    )
    return {
        "name": "sparse_csr_adam",
        "description": f"CSR {X.shape[0]}x{X.shape[1]} at 0.1 % density -> 100 -> "
        "binary, adam, float64, one epoch",
        "unit": "s/epoch",
        "params": params,
        "rows": _rows(results),
    }


def _fitted_same_weights(ctx, task, X, y):
    """One fitted model per implementation, all holding scikit-learn's weights."""
    params = _train_params((256,) if task == "multiclass" else (100,), "adam", 1)
    models = {}
    for impl in ctx.impls():
        models[impl] = _estimator(impl, task, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models[impl].fit(X[:1000], y[:1000])
    ref = models["sklearn"]
    for impl, model in models.items():
        if impl == "torch":
            model.set_params_from(ref.coefs_, ref.intercepts_)
        elif impl != "sklearn":
            for dst, src in zip(
                model.coefs_ + model.intercepts_,
                ref.coefs_ + ref.intercepts_,
                strict=True,
            ):
                np.copyto(dst, src)
    return models


def predict_proba(ctx):
    X, y, _, _ = large_data(ctx, np.float32)
    X = X[: ctx.sizes.n_predict]
    models = _fitted_same_weights(ctx, "multiclass", X, y)
    reference = models["sklearn"].predict_proba(X)
    candidates = [
        Candidate(
            impl,
            lambda m=m: m.predict_proba(X),
            lambda p: {"max_abs_diff_vs_sklearn": float(np.max(np.abs(p - reference)))},
            warmup=lambda m=m: m.predict_proba(X[:1000]),
        )
        for impl, m in models.items()
    ]
    units = (X.shape[1], 256, 10)
    flops = predict_flops(len(X), units)
    rows, limit, floor = with_gemm_floor(
        ctx, candidates, gemm_floor_predict(X, units), flops, np.float32
    )
    return {
        "name": "predict_proba_float32",
        "description": f"predict_proba on {len(X)} rows, 784 -> 256 -> 10, float32, "
        "every implementation holding the same weights",
        "unit": "s/call",
        "rows": rows,
        "limit": limit,
        "floor": floor,
    }


def single_row_latency(ctx, which):
    """Median of per-call times of predict(X[i:i+1]), implementations in blocks."""
    if which == "small":
        X, y, _, _ = regression_data(ctx)
        task, arch = "regression", "8 -> 100 -> 1 regressor, float64"
    else:
        X, y, _, _ = large_data(ctx, np.float32)
        task, arch = "multiclass", "784 -> 256 -> 10 classifier, float32"
    models = _fitted_same_weights(ctx, task, X, y)
    n_calls, block = ctx.sizes.latency_calls, 50
    times = {impl: [] for impl in models}
    for m in models.values():
        for i in range(block):
            m.predict(X[i : i + 1])
    for b in range(n_calls // block):
        order = list(models)[b % len(models) :] + list(models)[: b % len(models)]
        for impl in order:
            m = models[impl]
            ts = times[impl]
            for i in range(b * block, (b + 1) * block):
                row = X[i : i + 1]
                t0 = time.perf_counter()
                m.predict(row)
                ts.append(time.perf_counter() - t0)
    results = {}
    for impl, ts in times.items():
        results[impl] = {
            "median": statistics.median(ts),
            "min": min(ts),
            "p90": float(np.percentile(ts, 90)),
            "repeats": len(ts),
            "quality": {},
        }
        ctx.log(f"    {impl:<10} median {results[impl]['median'] * 1e6:.1f} µs")
    return {
        "name": f"latency_{which}",
        "description": f"single-row predict latency, {arch}, median of {n_calls} calls",
        "unit": "s/call",
        "rows": _rows(results),
    }


def thread_scaling(ctx):
    """Large float32 adam epoch under threadpool_limits(k) for each thread count.

    k = 1 .. cpu_count unless the run names the counts (--threads).
    """
    X, y, X_test, y_test = large_data(ctx, np.float32)
    params = _train_params((256,), "adam", 1)
    impls = ["fastmlp", "sklearn"] + (["torch"] if ctx.use_torch else [])
    per_k = []
    saved = torch.get_num_threads() if ctx.use_torch else None
    try:
        for k in ctx.thread_counts or range(1, (os.cpu_count() or 1) + 1):
            ctx.log(f"  threads = {k}")
            with threadpool_limits(limits=k):
                if ctx.use_torch:
                    torch.set_num_threads(k)
                cands = [
                    c
                    for c in _training_candidates(
                        ctx, "multiclass", params, X, y, X_test, y_test, 2000
                    )
                    if c.name in impls
                ]
                res = ctx.timed(cands)
            per_k.append({"threads": k, "rows": _rows(res)})
    finally:
        if ctx.use_torch:
            torch.set_num_threads(saved)
    return {
        "name": "thread_scaling",
        "description": f"{len(X)}x784 -> 256 -> 10 adam float32 epoch under "
        "threadpool_limits(k) (BLAS and OpenMP), torch.set_num_threads(k)",
        "unit": "s/epoch",
        "params": params,
        "sweep": per_k,
    }


def peak_memory(ctx):
    """Peak RSS of each memory scenario per implementation, each in a fresh process.

    The scenarios are _memory_child.SCENARIOS: an adam epoch, the same with
    early stopping, two L-BFGS iterations and a predict_proba of all rows.
    """
    X, y, _, _ = large_data(ctx, np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "X.npy"), X)
        np.save(os.path.join(tmp, "y.npy"), y)
        for scenario in MEMORY_SCENARIOS:
            ctx.log(f"    {scenario}")
            for impl in ctx.impls():
                rec = _memory_child(ctx, impl, scenario, tmp)
                if rec is None:
                    continue
                rec.update(implementation=impl, scenario=scenario)
                rows.append(rec)
                ctx.log(
                    f"      {impl:<10} peak {rec['peak_mb']:.0f} MB "
                    f"(+{rec['increase_mb']:.0f} MB)"
                )
    for scenario in MEMORY_SCENARIOS:
        of_scenario = [r for r in rows if r["scenario"] == scenario]
        sk = next((r for r in of_scenario if r["implementation"] == "sklearn"), None)
        for r in of_scenario:
            r["ratio_to_sklearn"] = (
                sk["increase_mb"] / r["increase_mb"]
                if sk and r["increase_mb"] > 0
                else None
            )
    return {
        "name": "peak_memory",
        "description": "peak RSS (VmHWM) added by one call, each in a fresh "
        f"process, on {len(X)}x784 -> 256 -> 10 float32 (X is "
        f"{X.nbytes / 2**20:.0f} MB): one adam epoch; one with early stopping; "
        "two L-BFGS iterations; predict_proba of every row by a model fitted on "
        f"the first {PREDICT_FIT_ROWS}",
        "unit": "MB",
        "rows": rows,
    }


def _memory_child(ctx, impl, scenario, data_dir):
    """The child's JSON record, or None (unsupported, or it failed)."""
    proc = subprocess.run(
        [sys.executable, str(HERE / "_memory_child.py"), impl, scenario, data_dir],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        ctx.log(f"      {impl}: child failed\n{proc.stderr[-2000:]}")
        return None
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    if rec.get("unsupported"):
        ctx.log(f"      {impl:<10} does not support it")
        return None
    return rec


def loss_curves(ctx):
    """Per-epoch training loss of fastmlp, the baseline and scikit-learn."""
    X, y, _, _ = large_data(ctx, np.float32)
    n, epochs = ctx.sizes.n_curve, ctx.sizes.curve_epochs
    params = _train_params((256,), "adam", epochs)
    curves = {}
    for impl in ("fastmlp", "baseline", "sklearn"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = _estimator(impl, "multiclass", **params).fit(X[:n], y[:n])
        curves[impl] = [float(v) for v in model.loss_curve_]
    ref = np.array(curves["sklearn"])
    diffs = {
        impl: float(np.max(np.abs(np.array(c) - ref))) for impl, c in curves.items()
    }
    ctx.log(f"    max |loss - sklearn loss|: {diffs}")
    return {
        "name": "loss_curves",
        "description": f"training loss per epoch, {n}x784 -> 256 -> 10 adam float32, "
        f"{epochs} epochs, same random_state",
        "curves": curves,
        "max_abs_diff_vs_sklearn": diffs,
    }


WORKLOADS = {
    "large_adam_float32": lambda ctx: large(ctx, "adam", np.float32),
    "large_adam_float64": lambda ctx: large(ctx, "adam", np.float64),
    "large_sgd_float32": lambda ctx: large(ctx, "sgd", np.float32),
    "large_sgd_float64": lambda ctx: large(ctx, "sgd", np.float64),
    "reg_adam_100": lambda ctx: regression(ctx, (100,), "adam"),
    "reg_adam_100x100": lambda ctx: regression(ctx, (100, 100), "adam"),
    "reg_lbfgs_100": lambda ctx: regression(ctx, (100,), "lbfgs"),
    "predict_proba_float32": predict_proba,
    "latency_small": lambda ctx: single_row_latency(ctx, "small"),
    "latency_large": lambda ctx: single_row_latency(ctx, "large"),
    "sparse_csr_adam": sparse_training,
    "thread_scaling": thread_scaling,
    "peak_memory": peak_memory,
    "loss_curves": loss_curves,
}

# Speed-up over scikit-learn that the project aims for (issue text), per workload.
TARGETS = {
    "large_adam_float32": 2.5,
    "large_adam_float64": 2.2,
    "large_sgd_float32": 2.5,
    "reg_adam_100": 50.0,
    "reg_adam_100x100": 20.0,
    "reg_lbfgs_100": 5.0,
    "predict_proba_float32": 1.5,
    "latency_small": 20.0,
    "sparse_csr_adam": 3.0,
}
# fastmlp time / GEMM-only floor that the project aims for.
FLOOR_TARGETS = {"large_adam_float32": 1.15}
# On a machine of at least MANY_CORES cores, the thread_scaling sweep's
# large float32 epoch at its highest thread count: fastmlp's speed-up over
# each of these.
MANY_CORES = 16
MANY_CORE_TARGETS = {"sklearn": 5.0, "torch": 2.0}
