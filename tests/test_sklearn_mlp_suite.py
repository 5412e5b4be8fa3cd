# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's own MLP test module, run against fastmlp's estimators.

The test file shipped inside the installed scikit-learn is the specification
of "drop-in". It is not copied here: its source is read from the installed
package and executed while `sklearn.neural_network.MLPClassifier` and
`MLPRegressor` name fastmlp's classes, so every test, parametrisation
included, exercises fastmlp. Its test functions are then re-exported for
pytest to collect.
"""

import importlib.util
import types
from unittest import mock

import sklearn.neural_network

import fastmlp

# Tests of the upstream module that cannot apply to fastmlp, with the reason.
# (None at present: the private names those tests read -- _optimizer,
# _no_improvement_count, _loss_grad_lbfgs -- are kept as thin adapters.)
DESELECTED = {}


def _load_upstream():
    spec = importlib.util.find_spec("sklearn.neural_network.tests.test_mlp")
    with open(spec.origin) as f:
        source = f.read()
    module = types.ModuleType("upstream_test_mlp")
    module.__file__ = spec.origin
    with (
        mock.patch.object(
            sklearn.neural_network, "MLPClassifier", fastmlp.MLPClassifier
        ),
        mock.patch.object(sklearn.neural_network, "MLPRegressor", fastmlp.MLPRegressor),
    ):
        exec(compile(source, spec.origin, "exec"), module.__dict__)
    assert module.MLPClassifier is fastmlp.MLPClassifier
    assert module.MLPRegressor is fastmlp.MLPRegressor
    return module


_upstream = _load_upstream()
UPSTREAM_TESTS = sorted(name for name in vars(_upstream) if name.startswith("test_"))
for _name in UPSTREAM_TESTS:
    if _name not in DESELECTED:
        globals()[_name] = getattr(_upstream, _name)


def test_upstream_suite_was_found():
    # Guards against a silent empty run if scikit-learn moves the file
    # (scikit-learn 1.6's has 39 tests, 1.9's 43).
    assert len(UPSTREAM_TESTS) >= 39
