# SPDX-License-Identifier: BSD-3-Clause
"""Run one scenario of one implementation in this fresh process; print its memory.

Run by run.py as ``python _memory_child.py IMPL SCENARIO DATA_DIR``. Prints
one JSON line: ``rss_before_mb`` (peak RSS once the library is imported and
X and y are loaded, and for ``predict_proba`` the small model is fitted),
``peak_mb`` (peak RSS after the measured call) and their difference,
``increase_mb``: what the call itself added at its peak.

Scenarios (SCENARIOS): one epoch of adam, the same with early stopping (its
validation split), two L-BFGS iterations (full-batch), and predict_proba on
all of X by a model fitted on its first rows. A scenario an implementation
does not support prints ``{"unsupported": true}``.

The peak is VmHWM from /proc/self/status where it exists: ru_maxrss survives
exec on Linux, so a child forked from the large benchmark process would
report the parent's size.
"""

import json
import os
import resource
import sys
import warnings
from pathlib import Path

# name: (estimator parameters, what is measured)
SCENARIOS = {
    "adam_epoch": ({"max_iter": 1}, "fit"),
    "early_stopping": ({"max_iter": 1, "early_stopping": True}, "fit"),
    "lbfgs": ({"solver": "lbfgs", "max_iter": 2}, "fit"),
    "predict_proba": ({"max_iter": 1}, "predict_proba"),
}
# predict_proba's model is fitted on this many rows, so that the fit's own
# peak stays below the prediction's.
PREDICT_FIT_ROWS = 2000


def _peak_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _estimator(impl, params):
    """The implementation's classifier, or None when it lacks a parameter."""
    if impl == "fastmlp":
        from fastmlp import MLPClassifier

        return MLPClassifier(**params)
    if impl == "sklearn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(**params)
    # Neither the NumPy baseline nor the PyTorch model has early stopping.
    if params.get("early_stopping"):
        return None
    if impl == "baseline":
        from fastmlp.numpy_baseline import BaselineMLPClassifier

        return BaselineMLPClassifier(**params)
    from _torch_mlp import TorchMLP

    return TorchMLP("multiclass", **params)


def main():
    # The checkout's fastmlp (when it is not installed) and _torch_mlp.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    impl, scenario, data_dir = sys.argv[1:4]
    import numpy as np

    params, measured = SCENARIOS[scenario]
    model = _estimator(
        impl, {"hidden_layer_sizes": (256,), "random_state": 0, **params}
    )
    if model is None:
        print(json.dumps({"unsupported": True}))
        return
    X = np.load(os.path.join(data_dir, "X.npy"))
    y = np.load(os.path.join(data_dir, "y.npy"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if measured == "predict_proba":
            model.fit(X[:PREDICT_FIT_ROWS], y[:PREDICT_FIT_ROWS])
            before = _peak_mb()
            model.predict_proba(X)
        else:
            before = _peak_mb()
            model.fit(X, y)
    peak = _peak_mb()
    print(
        json.dumps(
            {"rss_before_mb": before, "peak_mb": peak, "increase_mb": peak - before}
        )
    )


if __name__ == "__main__":
    main()
