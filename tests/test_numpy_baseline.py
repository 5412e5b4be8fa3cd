# SPDX-License-Identifier: BSD-3-Clause
"""Tests of the pure-NumPy baseline, with scikit-learn's MLP as the oracle."""

from functools import cache

import numpy as np
import pytest
import scipy.sparse
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits, make_regression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.neural_network._base import ACTIVATIONS as SK_ACTIVATIONS
from sklearn.neural_network._base import DERIVATIVES as SK_DERIVATIVES
from sklearn.neural_network._base import LOSS_FUNCTIONS as SK_LOSSES
from sklearn.neural_network._multilayer_perceptron import _pack
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.utils import shuffle

from fastmlp.numpy_baseline import (
    ACTIVATIONS,
    LOSSES,
    SGD,
    Adam,
    BaselineMLPClassifier,
    BaselineMLPRegressor,
    Dense,
    Network,
    ParamLayout,
    init_params,
    layer_units,
    shuffle_indices,
)

from float32_overflow import scaled_regression, squared_error_loss
from sklearn_support import require, weight_kwargs

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # The baseline's own max_iter / lbfgs warnings are plain UserWarnings.
    pytest.mark.filterwarnings("ignore:Stochastic Optimizer.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:lbfgs failed to converge.*:UserWarning"),
]

HIDDEN = ["identity", "logistic", "tanh", "relu"]
# fastmlp's additions (scikit-learn has no reference for them).
ADDED = ["leaky_relu", "elu", "softplus"]
OUTPUT = ["softmax", "exp"]
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="f32")]
# Loss name -> (output activation, number of output columns) for the small
# networks below. squared_error gets one output, where the baseline and
# scikit-learn agree; the multi-output case has its own test (issue #8349).
LOSS_OUTPUTS = {
    "squared_error": ("identity", 1),
    "log_loss": ("softmax", 3),
    "binary_log_loss": ("logistic", 2),
    "poisson": ("exp", 2),
}


def rtol_for(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


def make_targets(loss, n_samples, n_outputs, rng):
    if loss == "squared_error":
        return rng.normal(size=(n_samples, n_outputs))
    if loss == "log_loss":
        return np.eye(n_outputs)[rng.randint(n_outputs, size=n_samples)]
    if loss == "binary_log_loss":
        return rng.randint(2, size=(n_samples, n_outputs)).astype(float)
    return rng.poisson(1.5, size=(n_samples, n_outputs)).astype(float)


def make_outputs(loss, n_samples, n_outputs, rng):
    Z = rng.normal(size=(n_samples, n_outputs))
    return ACTIVATIONS[LOSS_OUTPUTS[loss][0]]().forward(Z)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HIDDEN + OUTPUT)
def test_activation_forward_matches_sklearn(name, dtype):
    Z = np.random.RandomState(0).normal(scale=3, size=(7, 4)).astype(dtype)
    Z_before = Z.copy()
    expected = Z.copy()
    if name not in SK_ACTIVATIONS:  # 'exp', the Poisson loss's output
        require("the Poisson loss")
    SK_ACTIVATIONS[name](expected)

    A = ACTIVATIONS[name]().forward(Z)

    assert A.dtype == dtype
    assert not np.shares_memory(A, Z)
    assert_array_equal(Z, Z_before)
    assert_allclose(A, expected, rtol=rtol_for(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", HIDDEN)
def test_activation_backward_matches_sklearn(name, dtype):
    rng = np.random.RandomState(1)
    A = ACTIVATIONS[name]().forward(rng.normal(size=(7, 4)).astype(dtype))
    dA = rng.normal(size=(7, 4)).astype(dtype)
    expected = dA.copy()
    SK_DERIVATIVES[name](A, expected)

    dZ = ACTIVATIONS[name]().backward(A, dA)

    assert dZ.dtype == dtype
    assert_allclose(dZ, expected, rtol=rtol_for(dtype))


@pytest.mark.parametrize("name", HIDDEN + ADDED + OUTPUT)
def test_activation_backward_is_vector_jacobian_product(name):
    # <backward(A, dA), V> must equal <dA, J V>, with J V by central differences.
    rng = np.random.RandomState(2)
    Z = rng.normal(size=(7, 4))
    Z += np.sign(Z) * 0.1  # keep (leaky) ReLU off its kink
    dA, V = rng.normal(size=(2, 7, 4))
    act = ACTIVATIONS[name]()
    eps = 1e-6
    JV = (act.forward(Z + eps * V) - act.forward(Z - eps * V)) / (2 * eps)

    dZ = act.backward(act.forward(Z), dA)

    assert_allclose(np.sum(dZ * V), np.sum(dA * JV), rtol=1e-7)


def test_activation_hand_worked_values():
    Z = np.array([[0.0, np.log(3.0)]])
    assert_allclose(ACTIVATIONS["logistic"]().forward(Z), [[0.5, 0.75]])
    assert_allclose(ACTIVATIONS["tanh"]().forward(Z), [[0.0, 0.8]])  # (3-1/3)/(3+1/3)
    assert_allclose(ACTIVATIONS["relu"]().forward(-Z), [[0.0, 0.0]])
    assert_allclose(ACTIVATIONS["softmax"]().forward(Z), [[0.25, 0.75]])  # 1:3
    assert_allclose(ACTIVATIONS["exp"]().forward(Z), [[1.0, 3.0]])
    dA = np.array([[2.0, 2.0]])
    # logistic: 0.5 * 0.5 and 0.75 * 0.25; tanh: 1 - 0 and 1 - 0.64
    assert_allclose(
        ACTIVATIONS["logistic"]().backward(np.array([[0.5, 0.75]]), dA), [[0.5, 0.375]]
    )
    assert_allclose(
        ACTIVATIONS["tanh"]().backward(np.array([[0.0, 0.8]]), dA), [[2, 0.72]]
    )
    assert_allclose(
        ACTIVATIONS["relu"]().backward(np.array([[0.0, 3.0]]), dA), [[0, 2]]
    )


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_value_matches_sklearn(loss, weighted):
    rng = np.random.RandomState(3)
    n_outputs = LOSS_OUTPUTS[loss][1]
    Y = make_targets(loss, 9, n_outputs, rng)
    out = make_outputs(loss, 9, n_outputs, rng)
    sample_weight = rng.uniform(0.5, 2, size=9) if weighted else None

    value = LOSSES[loss]().value(Y, out, sample_weight)

    assert isinstance(value, float)
    if loss not in SK_LOSSES:
        require("the Poisson loss")
    expected = SK_LOSSES[loss](Y, out, **weight_kwargs(sample_weight))
    assert_allclose(value, expected, rtol=1e-14)


def test_loss_hand_worked_values():
    Y, out = np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]])
    # 0.5 * mean(1, 4); weighted: 0.5 * (1*1 + 3*4) / (1 + 3)
    assert_allclose(LOSSES["squared_error"]().value(Y, out), 1.25)
    assert_allclose(LOSSES["squared_error"]().value(Y, out, np.array([1, 3.0])), 1.625)
    # 2 log(2 / 1) - 2 + 1
    assert_allclose(
        LOSSES["poisson"]().value([[2.0]], np.array([[1.0]])), 2 * np.log(2) - 1
    )
    # -(log 0.8 + log 0.6) / 2
    binary = LOSSES["binary_log_loss"]()
    expected = -(np.log(0.8) + np.log(0.6)) / 2
    assert_allclose(
        binary.value(np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]])), expected
    )
    assert_allclose(
        LOSSES["log_loss"]().value(np.array([[0.0, 1.0]]), np.array([[0.25, 0.75]])),
        -np.log(0.75),
    )
    # A saturated wrong answer is clipped at the dtype's eps, not infinite.
    for dtype in (np.float64, np.float32):
        eps = np.finfo(dtype).eps
        value = binary.value(np.zeros((1, 1), dtype), np.ones((1, 1), dtype))
        assert_allclose(value, -np.log(eps), rtol=1e-6)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_first_delta_is_weighted_residual(loss):
    Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    out = np.array([[0.5, 0.25], [0.5, 0.5], [0.125, 0.75]])
    sample_weight = np.array([1.0, 2.0, 4.0])
    # The squared error averages over its 2 outputs, so its delta is halved.
    scale = 0.5 if loss == "squared_error" else 1.0
    assert_array_equal(LOSSES[loss]().first_delta(Y, out), scale * (out - Y))
    assert_array_equal(
        LOSSES[loss]().first_delta(Y, out, sample_weight),
        scale * np.array([[-0.5, 0.25], [1.0, -1.0], [0.5, 3.0]]),
    )


def test_first_delta_single_output_squared_error_is_residual():
    # One output: no 1 / n_outputs, the delta is scikit-learn's out - Y.
    Y, out = np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]])
    assert_array_equal(LOSSES["squared_error"]().first_delta(Y, out), [[1.0], [-2.0]])


# ---------------------------------------------------------------- layout, init


def test_param_layout_matches_sklearn_pack():
    units = layer_units(5, (4, 3), 2)
    assert units == [5, 4, 3, 2]
    layout = ParamLayout(units)
    rng = np.random.RandomState(4)
    coefs = [rng.normal(size=shape) for shape in [(5, 4), (4, 3), (3, 2)]]
    intercepts = [rng.normal(size=n) for n in (4, 3, 2)]

    flat = layout.pack(coefs, intercepts, np.float64)

    assert layout.n_params == 20 + 12 + 6 + 4 + 3 + 2
    assert_array_equal(flat, _pack(coefs, intercepts))
    coef_views, intercept_views = layout.views(flat)
    for view, array in zip(
        coef_views + intercept_views, coefs + intercepts, strict=True
    ):
        assert np.shares_memory(view, flat)
        assert_array_equal(view, array)
    assert layout.pack(coefs, intercepts, np.float32).dtype == np.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", HIDDEN)
def test_init_params_matches_sklearn(activation, dtype):
    units = [6, 5, 4, 3]
    sk = MLPClassifier(activation=activation)
    sk._random_state = np.random.RandomState(5)
    pairs = [
        sk._init_coef(a, b, dtype) for a, b in zip(units[:-1], units[1:], strict=True)
    ]
    coefs, intercepts = [p[0] for p in pairs], [p[1] for p in pairs]

    flat = init_params(ParamLayout(units), activation, np.random.RandomState(5), dtype)

    assert flat.dtype == dtype
    assert_array_equal(flat, _pack(coefs, intercepts))


def test_dense_accepts_sparse_input():
    rng = np.random.RandomState(6)
    X = rng.normal(size=(7, 5)) * (rng.uniform(size=(7, 5)) < 0.4)
    dense = Dense(rng.normal(size=(5, 3)), rng.normal(size=3))
    D = rng.normal(size=(7, 3))
    X_csr = scipy.sparse.csr_matrix(X)

    assert_allclose(dense.forward(X_csr), dense.forward(X), rtol=1e-14)
    for sparse_grad, dense_grad in zip(
        dense.backward(X_csr, D, 0.1, 7), dense.backward(X, D, 0.1, 7), strict=True
    ):
        assert isinstance(sparse_grad, np.ndarray)
        assert_allclose(sparse_grad, dense_grad, rtol=1e-14)
    assert_allclose(dense.propagate(D), D @ dense.coef.T)


# ---------------------------------------------------------------- gradients


def tiny_problem(activation, loss, weighted, seed=7):
    """7 rows, 3 features, hidden (4, 3), random parameters in float64."""
    out_activation, n_outputs = LOSS_OUTPUTS[loss]
    rng = np.random.RandomState(seed)
    network = Network([3, 4, 3, n_outputs], activation, out_activation, loss)
    network.params[...] = rng.normal(scale=0.8, size=network.layout.n_params)
    X = rng.normal(size=(7, 3))
    Y = make_targets(loss, 7, n_outputs, rng)
    sample_weight = rng.uniform(0.5, 2.0, size=7) if weighted else None
    return network, X, Y, sample_weight


def numerical_grad(network, X, Y, alpha, sample_weight, eps=1e-6):
    params = network.params
    grad = np.empty_like(params)
    for i in range(params.size):
        saved = params[i]
        params[i] = saved + eps
        loss_plus, _ = network.loss_and_grad(X, Y, alpha, sample_weight)
        params[i] = saved - eps
        loss_minus, _ = network.loss_and_grad(X, Y, alpha, sample_weight)
        params[i] = saved
        grad[i] = (loss_plus - loss_minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", HIDDEN)
def test_loss_and_grad_matches_central_differences(activation, loss, weighted):
    network, X, Y, sample_weight = tiny_problem(activation, loss, weighted)
    hidden_activations = network.forward_all(X)[:-1]
    pre_activations = [
        layer.forward(A)
        for layer, A in zip(network.layers[:-1], hidden_activations[:-1], strict=True)
    ]
    # A perturbation of 1e-6 cannot carry a pre-activation across ReLU's kink.
    assert min(np.abs(Z).min() for Z in pre_activations) > 1e-3

    loss_value, grad = network.loss_and_grad(X, Y, 0.3, sample_weight)

    assert isinstance(loss_value, float)
    assert grad.shape == network.params.shape
    expected = numerical_grad(network, X, Y, 0.3, sample_weight)
    assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("n_outputs", [2, 3])
def test_multi_output_squared_error_gradient_is_of_reported_loss(n_outputs, weighted):
    # The reported squared error averages over outputs; its gradient here
    # does too. scikit-learn back-propagates out - Y, the gradient of the sum
    # over outputs (its issue #8349): n_outputs times the slope of its loss.
    rng = np.random.RandomState(8)
    units = [3, 4, n_outputs]
    network = Network(units, "tanh", "identity", "squared_error")
    network.params[...] = rng.normal(size=network.layout.n_params)
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, n_outputs))
    sample_weight = rng.uniform(0.5, 2.0, size=7) if weighted else None

    loss, grad = network.loss_and_grad(X, Y, 0.0, sample_weight)

    assert_allclose(
        grad, numerical_grad(network, X, Y, 0.0, sample_weight), rtol=1e-6, atol=1e-9
    )
    require("sample_weight")  # in scikit-learn's _backprop signature
    sk = MLPRegressor(hidden_layer_sizes=(4,), activation="tanh", alpha=0.0)
    sk.coefs_ = [c.copy() for c in network.coefs]
    sk.intercepts_ = [b.copy() for b in network.intercepts]
    sk.n_layers_, sk.out_activation_ = len(units), "identity"
    sk_loss, coef_grads, intercept_grads = sk._backprop(
        X, Y, sample_weight, [X, None, None], [None, None], [None, None], [None, None]
    )
    assert_allclose(loss, sk_loss, rtol=1e-14)
    sk_grad = _pack(coef_grads, intercept_grads)
    assert_allclose(sk_grad, n_outputs * grad, rtol=1e-12, atol=1e-14)


def test_network_float32_stays_float32():
    network64, X, Y, sample_weight = tiny_problem("tanh", "log_loss", True)
    network32 = Network([3, 4, 3, 3], "tanh", "softmax", "log_loss", np.float32)
    network32.params[...] = network64.params
    X32 = X.astype(np.float32)

    loss32, grad32 = network32.loss_and_grad(X32, Y, 0.3, sample_weight)
    loss64, grad64 = network64.loss_and_grad(X, Y, 0.3, sample_weight)

    assert all(A.dtype == np.float32 for A in network32.forward_all(X32))
    assert grad32.dtype == np.float32
    assert_allclose(loss32, loss64, rtol=1e-5)
    assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-6)


def test_coefs_and_intercepts_are_views_of_params():
    network = Network([3, 4, 2], "relu", "identity", "squared_error")
    network.params[...] = np.arange(network.layout.n_params)
    assert_array_equal(network.coefs[0], np.arange(12).reshape(3, 4))
    assert_array_equal(network.coefs[1], np.arange(12, 20).reshape(4, 2))
    assert_array_equal(network.intercepts[1], [24, 25])
    assert network.layers[1].coef is network.coefs[1]


# ---------------------------------------------------------------- optimizers


@pytest.mark.parametrize(
    "solver, kwargs",
    [
        ("sgd", {"momentum": 0.9, "nesterov": True}),
        ("sgd", {"momentum": 0.5, "nesterov": False}),
        ("adam", {"beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7}),
    ],
    ids=["sgd-nesterov", "sgd-momentum", "adam"],
)
def test_optimizer_step_matches_sklearn(solver, kwargs):
    layout = ParamLayout([3, 4, 2])
    rng = np.random.RandomState(9)
    flat = rng.normal(size=layout.n_params)
    sk_params = [a.copy() for views in layout.views(flat) for a in views]
    if solver == "sgd":
        optimizer = SGD(flat, 0.05, **kwargs)
        sk_optimizer = SGDOptimizer(sk_params, 0.05, **kwargs)
    else:
        optimizer = Adam(flat, 0.05, **kwargs)
        sk_optimizer = AdamOptimizer(sk_params, 0.05, **kwargs)

    for _ in range(4):
        grad = rng.normal(size=layout.n_params)
        coef_grads, intercept_grads = layout.views(grad)
        optimizer.step(grad)
        sk_optimizer.update_params(sk_params, coef_grads + intercept_grads)

    n_layers = len(layout.coef_shapes)
    expected = _pack(sk_params[:n_layers], sk_params[n_layers:])
    assert_array_equal(flat, expected)
    assert optimizer.learning_rate == sk_optimizer.learning_rate


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
def test_sgd_schedule_matches_sklearn(schedule):
    params = np.zeros(3)
    optimizer = SGD(params, 0.1, schedule, power_t=0.4)
    sk_optimizer = SGDOptimizer([params.copy()], 0.1, schedule, power_t=0.4)
    for time_step in (10, 20, 30, 40, 50, 60, 70, 80):
        optimizer.iteration_ends(time_step)
        sk_optimizer.iteration_ends(time_step)
        stops = optimizer.trigger_stopping("msg", False)
        assert stops == sk_optimizer.trigger_stopping("msg", False)
        assert optimizer.learning_rate == sk_optimizer.learning_rate
    # adaptive: 0.1 / 5**k stops once at or below 1e-6 (after k = 8 divisions)
    if schedule == "adaptive":
        assert not stops
        assert optimizer.learning_rate == pytest.approx(0.1 / 5**8)


def test_shuffle_indices_matches_sklearn_shuffle():
    sample_idx = sk_idx = np.arange(11)
    random_state, sk_random_state = np.random.RandomState(10), np.random.RandomState(10)
    for _ in range(3):
        sample_idx = shuffle_indices(sample_idx, random_state)
        sk_idx = shuffle(sk_idx, random_state=sk_random_state)
        assert_array_equal(sample_idx, sk_idx)
    assert_array_equal(np.sort(sample_idx), np.arange(11))


# ---------------------------------------------------------------- estimators


@cache
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:150] / 16, y[:150]


@cache
def regression():
    X, y = make_regression(n_samples=120, n_features=8, noise=5.0, random_state=0)
    return X, y / y.std()


@cache
def counts():
    rng = np.random.RandomState(11)
    X = rng.normal(size=(100, 5))
    return X, rng.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1]))


def get_problem(problem):
    if problem == "binary":
        X, y = digits()
        return X, (y > 4).astype(int)
    if problem == "multiclass":
        return digits()
    if problem == "poisson":
        return counts()
    return regression()


PARITY_CASES = {
    # id: (problem, estimator kwargs, fit with sample_weight)
    "sgd-binary": ("binary", {"solver": "sgd", "learning_rate_init": 0.05}, False),
    "sgd-multiclass": ("multiclass", {"solver": "sgd", "activation": "tanh"}, False),
    "sgd-regression": (
        "regression",
        {"solver": "sgd", "learning_rate_init": 0.01},
        False,
    ),
    "adam-binary": ("binary", {"solver": "adam", "activation": "logistic"}, False),
    "adam-multiclass": (
        "multiclass",
        {"solver": "adam", "learning_rate_init": 0.01},
        False,
    ),
    "adam-regression": (
        "regression",
        {"solver": "adam", "learning_rate_init": 0.01},
        False,
    ),
    "lbfgs-binary": ("binary", {"solver": "lbfgs"}, False),
    "lbfgs-multiclass": (
        "multiclass",
        {"solver": "lbfgs", "activation": "tanh"},
        False,
    ),
    "lbfgs-regression": (
        "regression",
        {"solver": "lbfgs", "activation": "logistic"},
        False,
    ),
    "sgd-invscaling-no-nesterov": (
        "multiclass",
        {
            "solver": "sgd",
            "learning_rate": "invscaling",
            "learning_rate_init": 0.5,
            "power_t": 0.3,
            "nesterovs_momentum": False,
            "momentum": 0.5,
        },
        False,
    ),
    # A huge tol makes every epoch a stall: the rate is divided by 5 after
    # every second epoch until it reaches 1e-6, then training stops.
    "sgd-adaptive-until-floor": (
        "binary",
        {
            "solver": "sgd",
            "learning_rate": "adaptive",
            "tol": 1e3,
            "n_iter_no_change": 1,
            "max_iter": 50,
        },
        False,
    ),
    "adam-stops-on-tol": (
        "regression",
        {"solver": "adam", "tol": 1e-2, "n_iter_no_change": 2, "max_iter": 50},
        False,
    ),
    "sgd-no-shuffle-identity": (
        "regression",
        {"solver": "sgd", "shuffle": False, "activation": "identity", "batch_size": 50},
        False,
    ),
    "adam-weighted-multiclass": ("multiclass", {"solver": "adam"}, True),
    "lbfgs-weighted-regression": ("regression", {"solver": "lbfgs"}, True),
    "adam-poisson": ("poisson", {"solver": "adam", "learning_rate_init": 0.01}, False),
    "lbfgs-poisson": ("poisson", {"solver": "lbfgs", "activation": "tanh"}, False),
}


@pytest.mark.parametrize("case", list(PARITY_CASES))
def test_fit_matches_sklearn(case):
    problem, kwargs, weighted = PARITY_CASES[case]
    X, y = get_problem(problem)
    params = {
        "hidden_layer_sizes": (12, 7),
        "max_iter": 8,
        "batch_size": 32,
        "random_state": 0,
        "alpha": 1e-3,
        **kwargs,
    }
    if problem in ("binary", "multiclass"):
        sk, baseline = MLPClassifier(**params), BaselineMLPClassifier(**params)
    else:
        if problem == "poisson":
            require("the Poisson loss")
            params["loss"] = "poisson"
        sk, baseline = MLPRegressor(**params), BaselineMLPRegressor(**params)
    sample_weight = None
    if weighted:
        sample_weight = np.random.RandomState(12).uniform(0.2, 3.0, size=len(y))

    sk.fit(X, y, **weight_kwargs(sample_weight))
    baseline.fit(X, y, sample_weight=sample_weight)

    tol = {"rtol": 1e-10, "atol": 1e-13}
    assert baseline.n_iter_ == sk.n_iter_
    assert baseline.t_ == sk.t_
    for ours, theirs in zip(
        baseline.coefs_ + baseline.intercepts_, sk.coefs_ + sk.intercepts_, strict=True
    ):
        assert ours.dtype == theirs.dtype == np.float64
        assert_allclose(ours, theirs, **tol)
    assert_allclose(baseline.loss_, sk.loss_, **tol)
    if kwargs["solver"] == "lbfgs":
        assert not hasattr(baseline, "loss_curve_")
    else:
        assert len(baseline.loss_curve_) == baseline.n_iter_
        assert_allclose(baseline.loss_curve_, sk.loss_curve_, **tol)
        assert_allclose(baseline.best_loss_, sk.best_loss_, **tol)
        assert baseline._optimizer.learning_rate == pytest.approx(
            sk._optimizer.learning_rate, rel=1e-12
        )
    assert_allclose(baseline.predict(X), sk.predict(X), **tol)
    if isinstance(sk, MLPClassifier):
        assert_array_equal(baseline.classes_, sk.classes_)
        assert_allclose(baseline.predict_proba(X), sk.predict_proba(X), **tol)
    if case == "sgd-adaptive-until-floor":
        assert baseline.n_iter_ < params["max_iter"]
        assert baseline._optimizer.learning_rate <= 1e-6
    if case == "adam-stops-on-tol":
        assert baseline.n_iter_ < params["max_iter"]


def test_fit_sparse_input_matches_sklearn():
    X, y = digits()
    X_csr = scipy.sparse.csr_matrix(X)
    params = {"hidden_layer_sizes": (9,), "solver": "sgd", "max_iter": 4}
    sk = MLPClassifier(random_state=1, **params).fit(X_csr, y)
    baseline = BaselineMLPClassifier(random_state=1, **params).fit(X_csr, y)
    assert_allclose(baseline.loss_curve_, sk.loss_curve_, rtol=1e-10)
    assert_allclose(baseline.predict_proba(X_csr), sk.predict_proba(X_csr), rtol=1e-10)


@pytest.mark.parametrize("seed", ["none", "instance"])
def test_random_state_like_check_random_state(seed):
    # None draws from NumPy's global RandomState; an instance is used as is.
    X, y = digits()
    fitted = []
    for estimator in (MLPClassifier, BaselineMLPClassifier):
        np.random.seed(13)
        random_state = None if seed == "none" else np.random.RandomState(13)
        model = estimator(
            hidden_layer_sizes=(5,), max_iter=3, random_state=random_state
        )
        fitted.append(model.fit(X, y))
    assert_allclose(fitted[1].coefs_[0], fitted[0].coefs_[0], rtol=1e-10)
    assert_allclose(fitted[1].loss_curve_, fitted[0].loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("problem", ["multiclass", "regression"])
def test_float32_adam_close_to_sklearn(problem):
    X, y = get_problem(problem)
    X32 = X.astype(np.float32)
    params = {
        "hidden_layer_sizes": (12,),
        "max_iter": 5,
        "random_state": 0,
        "learning_rate_init": 0.01,
    }
    if problem == "multiclass":
        sk, baseline = MLPClassifier(**params), BaselineMLPClassifier(**params)
    else:
        sk, baseline = MLPRegressor(**params), BaselineMLPRegressor(**params)

    sk.fit(X32, y)
    baseline.fit(X32, y)

    for ours, theirs in zip(
        baseline.coefs_ + baseline.intercepts_, sk.coefs_ + sk.intercepts_, strict=True
    ):
        assert ours.dtype == theirs.dtype == np.float32
        assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)
    assert_allclose(baseline.loss_curve_, sk.loss_curve_, rtol=1e-4)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_stays_float32(solver):
    X, y = digits()
    X32 = X.astype(np.float32)
    model = BaselineMLPClassifier(
        hidden_layer_sizes=(6,), solver=solver, max_iter=3, random_state=0
    ).fit(X32, y)

    assert model._network.params.dtype == np.float32
    assert all(a.dtype == np.float32 for a in model.coefs_ + model.intercepts_)
    assert model.predict_proba(X32).dtype == np.float32
    assert isinstance(model.loss_, float)
    assert all(np.shares_memory(c, model._network.params) for c in model.coefs_)


def test_lbfgs_stopped_by_a_non_finite_loss_reports_its_weights_loss():
    # A float32 line search that overflows ends L-BFGS-B with the NaN of the
    # point that failed, and the last iterate's weights (see the estimators'
    # test in test_reliability.py): loss_ is the loss of those weights.
    X, y = scaled_regression(1e15)
    model = BaselineMLPRegressor(
        hidden_layer_sizes=(20,),
        activation="identity",
        solver="lbfgs",
        max_iter=50,
        random_state=0,
    )
    with pytest.warns(UserWarning, match="ABNORMAL"):
        model.fit(X, y)
    assert model.n_iter_ > 0
    assert np.isfinite(model.loss_)
    assert model.loss_ == pytest.approx(squared_error_loss(model, X, y), rel=1e-4)
