# SPDX-License-Identifier: BSD-3-Clause
"""The one module that imports scikit-learn's private helpers.

If scikit-learn moves one of these, it is fixed here and nowhere else.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.multiclass import _check_partial_fit_first_call
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_sample_weight as _sklearn_check_sample_weight,
)

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "_check_optimize_result",
    "_check_partial_fit_first_call",
    "_check_sample_weight",
    "_fit_context",
]


def _check_sample_weight(sample_weight, X, **kwargs):
    """scikit-learn's check, refusing all-zero weights on every version.

    scikit-learn refuses them from 1.8 on; before, they passed, and L-BFGS
    then minimised a loss divided by zero (NaN, no error).
    """
    sample_weight = _sklearn_check_sample_weight(sample_weight, X, **kwargs)
    if not sample_weight.any():  # scikit-learn >= 1.8's message
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight
