# SPDX-License-Identifier: BSD-3-Clause
"""fastmlp: scikit-learn's multilayer perceptrons with C/OpenMP kernels.

Change one import -- ``from fastmlp import MLPClassifier, MLPRegressor`` --
and keep the parameters, fitted attributes and results.
"""

from ._config import show_config
from ._multilayer_perceptron import MLPClassifier, MLPRegressor

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor", "__version__", "show_config"]
