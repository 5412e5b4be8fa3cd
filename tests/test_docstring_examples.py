# SPDX-License-Identifier: BSD-3-Clause
"""The Examples sections of the public docstrings run and print what they say.

Users copy them first; pytest's testpaths stop at tests/, so without this
test nothing would notice an example that no longer runs.
"""

import doctest
import warnings

import pytest

import fastmlp
from fastmlp import _multilayer_perceptron


@pytest.mark.parametrize("module", [_multilayer_perceptron], ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lbfgs on unscaled iris stops early
        result = doctest.testmod(
            module, optionflags=doctest.NORMALIZE_WHITESPACE, report=True
        )
    assert result.failed == 0
    # Both estimators' examples: the public names really carry them.
    assert result.attempted >= 10
    for name in ("MLPClassifier", "MLPRegressor"):
        assert ">>> " in getattr(fastmlp, name).__doc__
