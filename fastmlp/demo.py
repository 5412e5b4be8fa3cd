# SPDX-License-Identifier: BSD-3-Clause
"""fastmlp demo: the same models as scikit-learn, trained side by side.

1. Digits (ships with scikit-learn): a StandardScaler + MLPClassifier
   Pipeline tuned by GridSearchCV, once with scikit-learn's MLP and once with
   fastmlp's; same grid, same random_state, so the same model is selected.
2. A 60000 x 784 -> 256 -> 10 float32 problem (generated, MNIST-sized) for a
   few adam epochs: fastmlp, the pure-NumPy baseline and scikit-learn.

Run with ``python -m fastmlp.demo`` (``--quick`` for a smaller second part).
"""

import argparse
import time
import warnings

import numpy as np
from sklearn import neural_network
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from fastmlp import numpy_baseline

# After a multithreaded BLAS call OpenBLAS keeps its threads spinning for
# ~0.1 s; a fit timed right after another library's would share the cores
# with them (see benchmarks/_harness.py). Each timed fit starts after this.
SETTLE_S = 0.2


def _timed(fn):
    time.sleep(SETTLE_S)
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def digits_grid_search(max_iter=60):
    """Part 1; returns {library: (test accuracy, seconds, best parameters)}."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(64,), (128,)],
        "mlpclassifier__alpha": [1e-4, 1e-2],
    }
    print(
        "1) digits: Pipeline(StandardScaler, MLPClassifier) + GridSearchCV "
        f"(4 candidates x 3 folds), {X_train.shape[0]} training images"
    )
    times, results = {}, {}
    for name, cls in [
        ("scikit-learn", neural_network.MLPClassifier),
        ("fastmlp", fastmlp.MLPClassifier),
    ]:
        pipe = make_pipeline(StandardScaler(), cls(max_iter=max_iter, random_state=0))
        search = GridSearchCV(pipe, grid, cv=3)
        with warnings.catch_warnings():
            # 60 epochs is a budget, not convergence; both libraries warn.
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, times[name] = _timed(lambda s=search: s.fit(X_train, y_train))
        accuracy = search.score(X_test, y_test)
        results[name] = (accuracy, times[name], search.best_params_)
        print(
            f"   {name:<13} test accuracy {accuracy:.4f}  time {times[name]:6.2f} s"
            f"  best {search.best_params_}"
        )
    print(
        f"   fastmlp speed-up over scikit-learn: "
        f"{times['scikit-learn'] / times['fastmlp']:.1f}x\n"
    )
    return results


def large_problem(n_samples, epochs):
    """Part 2; returns {implementation: (test accuracy, seconds)}."""
    X, y = make_classification(
        n_samples=n_samples + 10000,
        n_features=784,
        n_informative=60,
        n_classes=10,
        random_state=0,
    )
    X = X.astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=10000, random_state=0
    )
    print(
        f"2) {X_train.shape[0]} x 784 -> 256 -> 10, float32, adam, "
        f"{epochs} epochs, batch 200"
    )
    params = dict(hidden_layer_sizes=(256,), max_iter=epochs, random_state=0)
    times, results = {}, {}
    for name, cls in [
        ("scikit-learn", neural_network.MLPClassifier),
        ("NumPy baseline", numpy_baseline.BaselineMLPClassifier),
        ("fastmlp", fastmlp.MLPClassifier),
    ]:
        model = cls(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # The baseline, which cannot import scikit-learn, warns plainly.
            warnings.filterwarnings("ignore", message=".*Maximum iterations.*")
            _, times[name] = _timed(lambda m=model: m.fit(X_train, y_train))
        accuracy = np.mean(model.predict(X_test) == y_test)
        results[name] = (accuracy, times[name])
        print(
            f"   {name:<15} test accuracy {accuracy:.4f}  "
            f"time {times[name]:6.2f} s ({times[name] / epochs:.3f} s/epoch)"
        )
    print(
        f"   fastmlp speed-up: {times['scikit-learn'] / times['fastmlp']:.1f}x "
        f"over scikit-learn, {times['NumPy baseline'] / times['fastmlp']:.1f}x "
        "over the NumPy baseline"
    )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20000 rows instead of 60000 in part 2"
    )
    args = parser.parse_args(argv)
    fastmlp.show_config()
    print()
    digits_grid_search()
    large_problem(20000 if args.quick else 60000, epochs=3)


if __name__ == "__main__":
    main()
