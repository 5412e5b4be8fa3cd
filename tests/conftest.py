# SPDX-License-Identifier: BSD-3-Clause
import os

import pytest


@pytest.fixture(params=[int(os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED", 42))])
def global_random_seed(request):
    """The seed fixture scikit-learn's own tests expect (its default: 42)."""
    return request.param


# --------------------------------------------------------------------------
# Shared axes and tolerances of the kernel, gradient, engine and parity tests.
# --------------------------------------------------------------------------

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from fastmlp._codes import HIDDEN_ACTIVATIONS  # noqa: E402

# Relative tolerance for comparing one kernel with the NumPy oracle in the same
# dtype: a few float32 ulps after a short sum, a few thousand float64 ulps.
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}
# Absolute floor for entries that cancel to about zero.
ATOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-14}


@dataclass(frozen=True)
class OutputCase:
    """An output activation with its canonical loss, under both names.

    `loss` is the engine's name (keyed with the activation in LOSS_CODES),
    `baseline_loss` the key of `numpy_baseline.LOSSES`.
    """

    out_activation: str
    loss: str
    baseline_loss: str
    n_outputs: int

    def targets(self, rng, n_samples):
        """Valid float64 targets of shape (n_samples, n_outputs)."""
        shape = (n_samples, self.n_outputs)
        if self.out_activation == "softmax":
            return np.eye(self.n_outputs)[rng.randint(self.n_outputs, size=n_samples)]
        if self.out_activation == "logistic":
            return rng.randint(2, size=shape).astype(np.float64)
        if self.out_activation == "exp":
            return rng.poisson(1.5, size=shape).astype(np.float64)
        return rng.normal(size=shape)


OUTPUT_CASES = {
    "softmax-log": OutputCase("softmax", "log_loss", "log_loss", 3),
    "logistic-binary": OutputCase("logistic", "log_loss", "binary_log_loss", 1),
    "logistic-multilabel": OutputCase("logistic", "log_loss", "binary_log_loss", 3),
    "identity-squared": OutputCase("identity", "squared_error", "squared_error", 1),
    "identity-squared-multi": OutputCase(
        "identity", "squared_error", "squared_error", 3
    ),
    "exp-poisson": OutputCase("exp", "poisson", "poisson", 2),
}


@pytest.fixture(params=[np.float64, np.float32], ids=["float64", "float32"])
def dtype(request):
    return np.dtype(request.param)


@pytest.fixture
def tol(dtype):
    """assert_allclose keywords for a kernel against the oracle in `dtype`."""
    return {"rtol": RTOL[np.dtype(dtype)], "atol": ATOL[np.dtype(dtype)]}


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def n_threads(request):
    return request.param


@pytest.fixture(params=list(HIDDEN_ACTIVATIONS))
def hidden_activation(request):
    return request.param


@pytest.fixture(params=list(OUTPUT_CASES))
def output_case(request):
    return OUTPUT_CASES[request.param]


@pytest.fixture
def early_stopping_rows():
    """rows(y, layer_units, validation_fraction, stratify=True): the rows a
    fit with random_state=0 holds out for early stopping.

    scikit-learn draws the split right after the initial weights (each
    layer's coef, then its intercept), so the same draws give the same rows.
    It stratifies single-output classification only: not multiclass labels,
    which it has one-hot encoded by then.
    """
    from sklearn.model_selection import train_test_split

    def rows(y, layer_units, validation_fraction, stratify=True):
        random_state = np.random.RandomState(0)
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
            random_state.uniform(size=(fan_in, fan_out))
            random_state.uniform(size=fan_out)
        _, val = train_test_split(
            np.arange(len(y)),
            test_size=validation_fraction,
            random_state=random_state,
            stratify=y if stratify else None,
        )
        return val

    return rows


# --------------------------------------------------------------------------
# Child interpreters, for inputs or signals that could end the test process.
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def subprocess_env():
    """Environment of a child interpreter that imports this very fastmlp.

    PYTHONPATH leads with the directory holding the imported package, so a
    checked build in a temporary copy (tools/run_checked_tests.sh) is the one
    the child runs too; LD_PRELOAD and sanitizer options pass through as set.
    """
    from pathlib import Path

    import fastmlp

    env = dict(os.environ)
    root = str(Path(fastmlp.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="session")
def json_child(subprocess_env):
    """Run Python code in a child interpreter; the JSON its last line prints.

    Keyword arguments are environment variables for the child on top of
    `subprocess_env`. The child must exit 0 within two minutes.
    """
    import json
    import subprocess
    import sys

    def run(code, **env):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=dict(subprocess_env, **env),
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture
def run_readme_example():
    """Runs the first Python block of README.md after `marker`; its namespace."""
    import re
    import textwrap
    from pathlib import Path

    def run(marker):
        readme = (Path(__file__).parents[1] / "README.md").read_text()
        section = readme[readme.index(marker) :]
        code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
        namespace = {}
        exec(textwrap.dedent(code), namespace)
        return namespace

    return run


@pytest.fixture
def sklearn_multi_output_step():
    """Rescales a fastmlp regressor so that its multi-output fit is scikit-learn's.

    scikit-learn back-propagates n_outputs times the gradient of its reported
    multi-output squared error (its issue #8349): its step on (gradient +
    alpha W / n) is k = n_outputs times fastmlp's on (gradient / k + (alpha /
    k) W / n). So alpha / k, with k times the SGD rate, or epsilon / k for
    Adam (invariant to the gradient's scale but for epsilon), gives its steps.
    """

    def rescale(estimator, n_outputs):
        params = estimator.get_params()
        estimator.set_params(alpha=params["alpha"] / n_outputs)
        if params["solver"] == "sgd":
            estimator.set_params(
                learning_rate_init=params["learning_rate_init"] * n_outputs
            )
        else:
            estimator.set_params(epsilon=params["epsilon"] / n_outputs)
        return estimator

    return rescale
