# SPDX-License-Identifier: BSD-3-Clause
"""The compiled loss gradient against central differences of the compiled loss.

For a tiny network (7 rows, 3 features, hidden (4, 3)) in float64, every
entry of the flat parameter buffer is moved by +-eps and
``(f(theta + eps e_i) - f(theta - eps e_i)) / (2 eps)`` is compared with the
analytic gradient of ``Engine.loss_and_grad`` -- for every hidden activation
x every output type, with an L2 penalty, with and without sample weights, on
dense and CSR input. This checks the kernels against calculus, not against
another implementation: it is what pins the multi-output squared-error
gradient (scikit-learn issue #8349) to the loss fastmlp reports.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from fastmlp._engine import Engine, kernel_inputs
from fastmlp.numpy_baseline import Network as BaselineNetwork

pytestmark = pytest.mark.filterwarnings("error")

EPS = 1e-6
ALPHA = 0.3
N_SAMPLES, N_FEATURES, HIDDEN = 7, 3, (4, 3)
WEIGHTED = [pytest.param(False, id="unweighted"), pytest.param(True, id="weighted")]
SPARSE = [pytest.param(False, id="dense"), pytest.param(True, id="csr")]


def tiny_problem(activation, case, weighted, is_sparse):
    """Engine, kernel inputs, targets, weights and starting parameters.

    X and the hidden layers come from one seed and the output layer from
    another, so the hidden pre-activations depend on the activation only
    (`test_hidden_pre_activations_are_off_the_relu_kink` guards them).
    """
    units = [N_FEATURES, *HIDDEN, case.n_outputs]
    network = BaselineNetwork(
        units, activation, case.out_activation, case.baseline_loss
    )
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    X[rng.uniform(size=X.shape) < 0.3] = 0
    for i in range(len(HIDDEN)):
        network.coefs[i][...] = rng.normal(scale=0.8, size=network.coefs[i].shape)
        network.intercepts[i][...] = rng.normal(scale=0.5, size=units[i + 1])
    rng_out = np.random.RandomState(1)
    network.coefs[-1][...] = rng_out.normal(scale=0.8, size=network.coefs[-1].shape)
    network.intercepts[-1][...] = rng_out.normal(scale=0.5, size=case.n_outputs)
    Y = case.targets(rng_out, N_SAMPLES)
    sample_weight = None
    if weighted:
        sample_weight = rng_out.uniform(0.5, 2.0, size=N_SAMPLES)
        sample_weight[2] = 0.0  # a zero-weight row must not count at all
    engine = Engine(
        units,
        activation,
        case.out_activation,
        case.loss,
        np.float64,
        network.coefs,
        network.intercepts,
        1,
    )
    inputs = kernel_inputs(sp.csr_matrix(X) if is_sparse else X, np.float64)
    return engine, inputs, Y, sample_weight, network, X


def numerical_gradient(engine, theta, inputs, Y, sample_weight):
    grad = np.empty_like(theta)
    for i in range(theta.size):
        shifted = theta.copy()
        shifted[i] = theta[i] + EPS
        loss_plus, _ = engine.loss_and_grad(shifted, inputs, Y, sample_weight, ALPHA)
        shifted[i] = theta[i] - EPS
        loss_minus, _ = engine.loss_and_grad(shifted, inputs, Y, sample_weight, ALPHA)
        grad[i] = (loss_plus - loss_minus) / (2 * EPS)
    return grad


@pytest.mark.parametrize("is_sparse", SPARSE)
@pytest.mark.parametrize("weighted", WEIGHTED)
def test_gradient_matches_central_differences(
    hidden_activation, output_case, weighted, is_sparse
):
    engine, inputs, Y, sample_weight, network, _ = tiny_problem(
        hidden_activation, output_case, weighted, is_sparse
    )
    theta = network.params.copy()

    loss, grad = engine.loss_and_grad(theta, inputs, Y, sample_weight, ALPHA)
    # A second call at the same point gives the same bits: nothing (the
    # sparse first-layer gradient, say) accumulates across calls.
    loss_again, grad_again = engine.loss_and_grad(
        theta, inputs, Y, sample_weight, ALPHA
    )

    assert grad.shape == theta.shape == (engine.layout.n_params,)
    assert loss_again == loss
    assert_array_equal(grad_again, grad)
    expected = numerical_gradient(engine, theta, inputs, Y, sample_weight)
    assert np.abs(expected).max() > 1e-2  # a gradient worth checking
    assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)


def test_hidden_pre_activations_are_off_the_relu_kink(hidden_activation, output_case):
    # A step of EPS cannot carry a pre-activation across ReLU's kink at 0, so
    # the central difference is the derivative there.
    _, _, _, _, network, X = tiny_problem(hidden_activation, output_case, False, False)
    activations = network.forward_all(X)
    pre_activations = [
        layer.forward(A)
        for layer, A in zip(network.layers[:-1], activations[:-2], strict=True)
    ]
    assert min(np.abs(Z).min() for Z in pre_activations) > 1e-3


@pytest.mark.parametrize("output_case", ["identity-squared-multi"], indirect=True)
def test_multi_output_squared_error_gradient_is_of_reported_loss(output_case):
    # The reported loss averages the squared error over outputs, and so does
    # its gradient; scikit-learn's would be n_outputs times larger (#8349).
    engine, inputs, Y, _, network, X = tiny_problem("tanh", output_case, False, False)
    theta = network.params.copy()

    loss, grad = engine.loss_and_grad(theta, inputs, Y, None, 0.0)

    out = network.forward(X)
    assert_allclose(loss, 0.5 * np.mean((out - Y) ** 2), rtol=1e-14)
    n_outputs = output_case.n_outputs
    output_bias_grad = grad[-n_outputs:]
    # d/db_j of 0.5 * mean_{i,j} (out - y)^2 = mean_i (out_ij - y_ij) / n_outputs
    assert_allclose(output_bias_grad, (out - Y).mean(axis=0) / n_outputs, rtol=1e-12)
