# SPDX-License-Identifier: BSD-3-Clause
import os

import pytest


@pytest.fixture(params=[int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", 42))])
def global_random_seed(request):
    """The seed fixture scikit-learn's own tests expect (its default: 42)."""
    return request.param
