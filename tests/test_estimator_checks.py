# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor


@parametrize_with_checks(
    [MLPClassifier(max_iter=50), MLPRegressor(max_iter=50)],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
