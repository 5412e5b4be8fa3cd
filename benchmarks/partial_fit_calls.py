# SPDX-License-Identifier: BSD-3-Clause
"""What one partial_fit call costs, fastmlp against scikit-learn, on small chunks.

    python benchmarks/partial_fit_calls.py [--rounds 15] [--calls 200]

Online learning calls partial_fit once per arriving chunk, so for chunks of a
few rows the per-call checks and set-up cost more than the arithmetic. Each
round makes `calls` partial_fit calls with each library on chunks of 1, 10 and
200 rows of a 20-feature, 3-class problem (64 hidden units, adam, an int
random_state), the libraries alternating within each round (the order
swapped every round), and prints the median over rounds of each round's
scikit-learn / fastmlp ratio. A script, not a test: these machines are too
noisy for timed assertions.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier

LIBRARIES = {"fastmlp": MLPClassifier, "scikit-learn": SklearnMLPClassifier}


def _seconds_per_call(estimator, X, y, rows, calls):
    model = estimator(hidden_layer_sizes=(64,), random_state=0)
    model.partial_fit(X[:rows], y[:rows], classes=np.unique(y))
    start = time.perf_counter()
    for call in range(calls):
        first = (call * rows) % (X.shape[0] - rows)
        model.partial_fit(X[first : first + rows], y[first : first + rows])
    return (time.perf_counter() - start) / calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_classification(20000, 20, n_informative=10, n_classes=3, random_state=0)
    for rows in (1, 10, 200):
        for estimator in LIBRARIES.values():  # warm-up
            _seconds_per_call(estimator, X, y, rows, 10)
        ratios, seconds = [], {name: [] for name in LIBRARIES}
        for r in range(args.rounds):
            names = list(LIBRARIES) if r % 2 == 0 else list(LIBRARIES)[::-1]
            this_round = {
                name: _seconds_per_call(LIBRARIES[name], X, y, rows, args.calls)
                for name in names
            }
            for name, value in this_round.items():
                seconds[name].append(value)
            ratios.append(this_round["scikit-learn"] / this_round["fastmlp"])
        low, mid, high = np.percentile(ratios, [25, 50, 75])
        medians = ", ".join(
            f"{name} {np.median(values) * 1e6:.0f} us"
            for name, values in seconds.items()
        )
        print(
            f"{rows:>3} rows a call: scikit-learn / fastmlp = {mid:.1f} "
            f"(quartiles {low:.1f}-{high:.1f}, {args.rounds} rounds; "
            f"median per call: {medians})"
        )


if __name__ == "__main__":
    main()
