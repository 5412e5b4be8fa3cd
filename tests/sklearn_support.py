# SPDX-License-Identifier: BSD-3-Clause
"""What the installed scikit-learn's MLP can do, for the tests using it as oracle.

scikit-learn 1.7 gave its MLP `sample_weight` in `fit` and `partial_fit`
(and in its loss functions and `_backprop`), the Poisson loss (with the
'exp' output activation), an error for an early-stopping validation set too
small to score, and early stopping on string labels (1.6 fails in
`np.isnan`). fastmlp has all of them on every scikit-learn it
supports (1.6 on). A test that needs the oracle to have one calls
`require(...)`, which skips it on an older scikit-learn, naming what is
missing; CI installs the newest scikit-learn, where nothing skips.
"""

import inspect

import pytest
import sklearn
from sklearn.neural_network import MLPRegressor
from sklearn.utils.fixes import parse_version

_SINCE_1_7 = parse_version(sklearn.__version__).release >= (1, 7)

FEATURES = {
    "sample_weight": "sample_weight" in inspect.signature(MLPRegressor.fit).parameters,
    "the Poisson loss": "loss" in inspect.signature(MLPRegressor).parameters,
    "the too-small validation set error": _SINCE_1_7,
    "early stopping on string labels": _SINCE_1_7,
}


def require(*features):
    """Skip the calling test unless scikit-learn's MLP has these `FEATURES`."""
    missing = [feature for feature in features if not FEATURES[feature]]
    if missing:
        pytest.skip(
            f"scikit-learn {sklearn.__version__}'s MLP lacks "
            f"{' or '.join(missing)} (added in 1.7) to compare with"
        )


def weight_kwargs(sample_weight):
    """`fit` keywords passing `sample_weight` to the oracle only when it is set."""
    if sample_weight is None:
        return {}
    require("sample_weight")
    return {"sample_weight": sample_weight}
