# SPDX-License-Identifier: BSD-3-Clause
"""Data on which float32 overflows where float64 does not, for the tests.

An identity network on these inputs scaled by 1e14 or more: L-BFGS's line
search meets a NaN loss in float32 after a dozen iterations and stops
(test_reliability.py, test_dask.py, test_numpy_baseline.py check what it
then reports).
"""

import numpy as np


def scaled_regression(scale, dtype=np.float32):
    """X (200 x 5, times `scale`, in `dtype`) and a float64 linear y."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5) + rng.normal(size=200)
    return (X * scale).astype(dtype), y


def squared_error_loss(model, X, y):
    """The penalised training loss of a fitted regressor's weights, in float64.

    Half the mean squared error plus alpha / 2 times the squared coefs over
    the number of samples: the loss scikit-learn's MLPRegressor reports.
    """
    error = model.predict(X).astype(np.float64) - y
    penalty = sum(np.sum(W.astype(np.float64) ** 2) for W in model.coefs_)
    return 0.5 * np.mean(error**2) + 0.5 * model.alpha * penalty / len(y)
