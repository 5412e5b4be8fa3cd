# SPDX-License-Identifier: BSD-3-Clause
"""What training on a Dask array costs, and what computing ahead saves.

    python benchmarks/dask_blocks.py [--rounds 10] [--rows 60000] [--block 10000]
                                     [--generate]

One epoch of adam (784 -> 256 -> 10, float32, batch 200) over a Dask array
whose blocks Dask standardises (or, with --generate, draws), three ways, alternating
within each round (the order rotated every round):

- numpy: the blocks already computed, partial_fit on each (training alone);
- serial: compute a block, then partial_fit on it, block after block;
- fit_blocks: fastmlp.dask.fit_blocks, which computes the next block while
  the estimator trains on the current one.

Prints the median over rounds of each round's ratios to `numpy`. Then
times fastmlp.dask.fit_lbfgs on the persisted blocks against fit on the
same array in memory (solver='lbfgs'), alternating. A script,
not a test: these machines are too noisy for timed assertions.
"""

import argparse
import time
import warnings

import dask
import dask.array as da
import numpy as np
from _harness import ratio_quartiles, rotating_rounds

from fastmlp import MLPClassifier
from fastmlp import dask as fastmlp_dask


def _model():
    return MLPClassifier(hidden_layer_sizes=(256,), random_state=0, shuffle=False)


def _dask_data(n_rows, block_rows, generate):
    if generate:  # the blocks are drawn by Dask: computing costs more
        state = da.random.RandomState(0)
        X = state.standard_normal((n_rows, 784), chunks=(block_rows, 784))
        X = X.astype(np.float32)
    else:  # in memory, standardised by Dask: computing costs little
        rng = np.random.RandomState(0)
        raw = rng.uniform(0, 255, size=(n_rows, 784)).astype(np.float32)
        X = da.from_array(raw, chunks=(block_rows, 784))
        X = (X - np.float32(127.5)) / np.float32(73.6)
    y = da.from_array(np.arange(n_rows) % 10, chunks=block_rows)
    return X, y


def _time_numpy(blocks, classes):
    model = _model()
    start = time.perf_counter()
    for X_block, y_block in blocks:
        model.partial_fit(X_block, y_block, classes=classes)
    return time.perf_counter() - start


def _time_serial(X, y, classes):
    model = _model()
    start = time.perf_counter()
    for k in range(X.numblocks[0]):
        X_block, y_block = dask.compute(X.blocks[k], y.blocks[k])
        model.partial_fit(X_block, y_block, classes=classes)
    return time.perf_counter() - start


def _time_fit_blocks(X, y, classes):
    model = _model()
    start = time.perf_counter()
    fastmlp_dask.fit_blocks(model, X, y, classes=classes, shuffle_blocks=False)
    return time.perf_counter() - start


def _time_lbfgs(fit, iterations):
    model = MLPClassifier(
        hidden_layer_sizes=(256,), solver="lbfgs", max_iter=iterations, random_state=0
    )
    start = time.perf_counter()
    fit(model)
    return time.perf_counter() - start


def _compare_lbfgs(X, y, rounds, iterations):
    """fit_lbfgs on the persisted Dask blocks against fit on the same array."""
    X_persisted, y_persisted = dask.persist(X, y)
    X_memory, y_memory = dask.compute(X, y)
    in_memory = lambda model: model.fit(X_memory, y_memory)  # noqa: E731
    blocked = lambda model: fastmlp_dask.fit_lbfgs(  # noqa: E731
        model, X_persisted, y_persisted, classes=np.arange(10)
    )
    _time_lbfgs(blocked, 1)  # warm-up
    seconds = rotating_rounds(
        {
            "in_memory": lambda: _time_lbfgs(in_memory, iterations),
            "blocked": lambda: _time_lbfgs(blocked, iterations),
        },
        rounds,
    )
    low, mid, high = ratio_quartiles(seconds["blocked"], seconds["in_memory"])
    print(
        f"lbfgs, {iterations} iterations: fit_lbfgs (local threads) / fit = "
        f"{mid:.2f} (quartiles {low:.2f}-{high:.2f})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--block", type=int, default=10000)
    parser.add_argument(
        "--generate",
        action="store_true",
        help="draw the data in Dask instead of standardising an array in memory",
    )
    parser.add_argument(
        "--lbfgs-iterations",
        type=int,
        default=10,
        help="also time fit_lbfgs against fit for this many iterations (0: not)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = _dask_data(args.rows, args.block, args.generate)
    classes = np.arange(10)
    blocks = [dask.compute(X.blocks[k], y.blocks[k]) for k in range(X.numblocks[0])]
    compute_start = time.perf_counter()
    dask.compute(X, y)
    compute_seconds = time.perf_counter() - compute_start

    timers = {
        "numpy": lambda: _time_numpy(blocks, classes),
        "serial": lambda: _time_serial(X, y, classes),
        "fit_blocks": lambda: _time_fit_blocks(X, y, classes),
    }
    names = list(timers)
    for timer in timers.values():  # warm-up
        timer()
    seconds = rotating_rounds(timers, args.rounds)
    print(
        f"{args.rows} rows in blocks of {args.block}; computing every block "
        f"once took {compute_seconds:.2f} s; {args.rounds} rounds"
    )
    for name in names[1:]:
        low, mid, high = ratio_quartiles(seconds[name], seconds["numpy"])
        print(f"{name} / numpy: {mid:.2f} (quartiles {low:.2f}-{high:.2f})")
    if args.lbfgs_iterations:
        _compare_lbfgs(X, y, max(2, args.rounds // 2), args.lbfgs_iterations)


if __name__ == "__main__":
    main()
