# SPDX-License-Identifier: BSD-3-Clause
"""The Quickstart's demo (`python -m fastmlp.demo`), on a reduced budget.

The demo is the first thing a new user runs: both of its parts must run,
print their speed-up lines, and show fastmlp reaching scikit-learn's result.
"""

import pytest

from fastmlp import demo

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_digits_grid_search_selects_the_same_model_as_sklearn(capsys, monkeypatch):
    monkeypatch.setattr(demo, "SETTLE_S", 0.0)
    results = demo.digits_grid_search(max_iter=5)

    sk_accuracy, sk_time, sk_best = results["scikit-learn"]
    fm_accuracy, fm_time, fm_best = results["fastmlp"]
    assert fm_best == sk_best
    assert fm_accuracy == pytest.approx(sk_accuracy, abs=1e-9)
    assert sk_time > 0 and fm_time > 0
    assert "fastmlp speed-up over scikit-learn" in capsys.readouterr().out


def test_large_problem_trains_the_same_network_three_ways(capsys, monkeypatch):
    monkeypatch.setattr(demo, "SETTLE_S", 0.0)
    results = demo.large_problem(2000, epochs=1)

    accuracies = {name: accuracy for name, (accuracy, _) in results.items()}
    assert set(accuracies) == {"scikit-learn", "NumPy baseline", "fastmlp"}
    # float32 round-off may move a prediction or two of the 10000 test rows.
    assert accuracies["fastmlp"] == pytest.approx(accuracies["scikit-learn"], abs=5e-4)
    assert accuracies["NumPy baseline"] == pytest.approx(
        accuracies["scikit-learn"], abs=5e-4
    )
    out = capsys.readouterr().out
    assert "over scikit-learn" in out and "over the NumPy baseline" in out
