# SPDX-License-Identifier: BSD-3-Clause
"""What the installed scikit-learn's MLP can do, for the tests using it as oracle.

fastmlp behaves as the newest scikit-learn on every version it supports
(1.6 on). Older ones lack what came later: in 1.7, `sample_weight` in `fit`
and `partial_fit` (and in the loss functions and `_backprop`), the Poisson
loss (with the 'exp' output activation) and an error for an early-stopping
validation set too small to score; in 1.8, an error for all-zero sample
weights (1.7 divides by zero) and early stopping on string labels (1.6 and
1.7 fail in `np.isnan`). A test that needs the oracle to have one calls
`require(...)`, which skips it on an older scikit-learn, naming what is
missing; CI installs the newest scikit-learn, where nothing skips.
"""

import inspect

import pytest
import sklearn
from sklearn.neural_network import MLPRegressor
from sklearn.utils.fixes import parse_version

_VERSION = parse_version(sklearn.__version__).release

# feature -> (whether the installed scikit-learn has it, the version adding it)
FEATURES = {
    "sample_weight": (
        "sample_weight" in inspect.signature(MLPRegressor.fit).parameters,
        "1.7",
    ),
    "the Poisson loss": ("loss" in inspect.signature(MLPRegressor).parameters, "1.7"),
    "the too-small validation set error": (_VERSION >= (1, 7), "1.7"),
    "the all-zero sample_weight error": (_VERSION >= (1, 8), "1.8"),
    "early stopping on string labels": (_VERSION >= (1, 8), "1.8"),
}


def require(*features):
    """Skip the calling test unless scikit-learn's MLP has these `FEATURES`."""
    missing = [
        f"{feature} (added in {FEATURES[feature][1]})"
        for feature in features
        if not FEATURES[feature][0]
    ]
    if missing:
        pytest.skip(
            f"scikit-learn {sklearn.__version__}'s MLP lacks "
            f"{' and '.join(missing)} to compare with"
        )


def weight_kwargs(sample_weight):
    """`fit` keywords passing `sample_weight` to the oracle only when it is set."""
    if sample_weight is None:
        return {}
    require("sample_weight")
    return {"sample_weight": sample_weight}
