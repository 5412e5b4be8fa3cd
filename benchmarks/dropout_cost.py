# SPDX-License-Identifier: BSD-3-Clause
"""What dropout costs fastmlp: fit time with dropout over the same fit without.

    python benchmarks/dropout_cost.py [--rounds 30] [--rate 0.2]

Times adam fits of 20000 rows (10 epochs of 8 -> 100 -> 1 and of
8 -> 100 x 100 -> 1 in float64; 2 epochs of 784 -> 256 -> 1 in float32), with
and without dropout, alternating within each round (the order swapped every
round), and prints the median over rounds of each round's ratio. A script,
not a test: these machines are too noisy for timed assertions.
"""

import argparse
import time
import warnings
from functools import partial

import numpy as np
from _harness import ratio_quartiles, rotating_rounds

from fastmlp import MLPRegressor

WORKLOADS = {
    "8 -> 100 -> 1, float64": (8, (100,), np.float64, 10),
    "8 -> 100 x 100 -> 1, float64": (8, (100, 100), np.float64, 10),
    "784 -> 256 -> 1, float32": (784, (256,), np.float32, 2),
}


def _fit_seconds(X, y, hidden, epochs, rate):
    model = MLPRegressor(
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        n_iter_no_change=epochs,
        random_state=0,
        dropout=rate,
    )
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0.2)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rng = np.random.RandomState(0)
    for name, (n_features, hidden, dtype, epochs) in WORKLOADS.items():
        X = rng.rand(20000, n_features).astype(dtype)
        y = rng.rand(20000)
        for rate in (0.0, args.rate):  # warm-up
            _fit_seconds(X[:1000], y[:1000], hidden, 1, rate)
        seconds = rotating_rounds(
            {
                rate: partial(_fit_seconds, X, y, hidden, epochs, rate)
                for rate in (0.0, args.rate)
            },
            args.rounds,
        )
        low, mid, high = ratio_quartiles(seconds[args.rate], seconds[0.0])
        print(
            f"{name}: dropout {args.rate} / none = {mid:.2f} "
            f"(quartiles {low:.2f}-{high:.2f}, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
