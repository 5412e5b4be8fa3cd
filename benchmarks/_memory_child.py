# SPDX-License-Identifier: BSD-3-Clause
"""Fit one implementation once in this fresh process; print its peak RSS.

Run by run.py as ``python _memory_child.py IMPL DATA_DIR``. Prints one JSON
line: ``rss_after_load_mb`` (peak RSS after importing the library and
loading X and y), ``peak_mb`` (peak RSS after one epoch of fit) and their
difference, ``fit_increase_mb``: the memory the fit itself added.

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


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


def main():
    impl, data_dir = sys.argv[1], sys.argv[2]
    import numpy as np

    if impl == "fastmlp":
        from fastmlp import MLPClassifier as cls
    elif impl == "baseline":
        from fastmlp.numpy_baseline import BaselineMLPClassifier as cls
    elif impl == "sklearn":
        from sklearn.neural_network import MLPClassifier as cls
    else:
        from _torch_mlp import TorchMLP

        def cls(**params):
            return TorchMLP("multiclass", **params)

    X = np.load(os.path.join(data_dir, "X.npy"))
    y = np.load(os.path.join(data_dir, "y.npy"))
    before = _peak_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls(hidden_layer_sizes=(256,), max_iter=1, random_state=0).fit(X, y)
    peak = _peak_mb()
    print(
        json.dumps(
            {
                "rss_after_load_mb": before,
                "peak_mb": peak,
                "fit_increase_mb": peak - before,
            }
        )
    )


if __name__ == "__main__":
    main()
