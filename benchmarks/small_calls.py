# SPDX-License-Identifier: BSD-3-Clause
"""What a call on a small chunk costs, fastmlp against scikit-learn.

    python benchmarks/small_calls.py [--rounds 15] [--calls 200]

Online learning calls partial_fit once per arriving chunk, and a service
calls predict_proba once per request: on small chunks the per-call checks
and set-up cost as much as the arithmetic, or more. On a 20-feature, 3-class
problem (64 hidden units, adam, an int random_state), each round times
partial_fit calls on chunks of 1, 10 and 200 rows, and predict_proba calls
on 65 to 10000 rows (64 rows or fewer take the single-row path that the full
benchmark's latency workload times), the libraries alternating within each
round (the order swapped every round). It prints the median over rounds of
each round's scikit-learn / fastmlp ratio. A script, not a test: these
machines are too noisy for timed assertions.
"""

import argparse
import statistics
import time
import warnings
from functools import partial

import numpy as np
from _harness import ratio_quartiles, rotating_rounds
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier

from fastmlp import MLPClassifier

LIBRARIES = {"fastmlp": MLPClassifier, "scikit-learn": SklearnMLPClassifier}


def _seconds_per_partial_fit(estimator, X, y, rows, calls):
    model = estimator(hidden_layer_sizes=(64,), random_state=0)
    model.partial_fit(X[:rows], y[:rows], classes=np.unique(y))
    start = time.perf_counter()
    for call in range(calls):
        first = (call * rows) % (X.shape[0] - rows)
        model.partial_fit(X[first : first + rows], y[first : first + rows])
    return (time.perf_counter() - start) / calls


def _seconds_per_predict(model, X, rows, calls):
    calls = max(10, calls * 200 // rows)
    start = time.perf_counter()
    for _ in range(calls):
        model.predict_proba(X[:rows])
    return (time.perf_counter() - start) / calls


def _report(label, seconds):
    low, mid, high = ratio_quartiles(seconds["scikit-learn"], seconds["fastmlp"])
    medians = ", ".join(
        f"{name} {statistics.median(values) * 1e6:.0f} us"
        for name, values in seconds.items()
    )
    print(
        f"{label}: scikit-learn / fastmlp = {mid:.1f} (quartiles {low:.1f}-"
        f"{high:.1f}, {len(seconds['fastmlp'])} rounds; median per call: {medians})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_classification(20000, 20, n_informative=10, n_classes=3, random_state=0)
    for rows in (1, 10, 200):
        for estimator in LIBRARIES.values():  # warm-up
            _seconds_per_partial_fit(estimator, X, y, rows, 10)
        timers = {
            name: partial(_seconds_per_partial_fit, estimator, X, y, rows, args.calls)
            for name, estimator in LIBRARIES.items()
        }
        seconds = rotating_rounds(timers, args.rounds)
        _report(f"partial_fit, {rows:>5} rows", seconds)
    fitted = {
        name: estimator(hidden_layer_sizes=(64,), random_state=0, max_iter=2).fit(X, y)
        for name, estimator in LIBRARIES.items()
    }
    for rows in (65, 200, 1000, 10000):
        timers = {
            name: partial(_seconds_per_predict, model, X, rows, args.calls)
            for name, model in fitted.items()
        }
        seconds = rotating_rounds(timers, args.rounds)
        _report(f"predict_proba, {rows:>5} rows", seconds)


if __name__ == "__main__":
    main()
