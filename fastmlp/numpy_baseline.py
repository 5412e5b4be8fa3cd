# SPDX-License-Identifier: BSD-3-Clause
"""Pure-NumPy multi-layer perceptron: scikit-learn's algorithm, written to be read.

This module has two jobs. It is the test oracle that fastmlp's compiled kernels
are checked against, and it is the "plain NumPy" point in the benchmarks. So it
follows scikit-learn's ``MLPClassifier``/``MLPRegressor`` step for step -- same
initialisation, same random draws in the same order, same batches, same
optimizer updates, same reported losses -- while staying as plain as a lecture
on backpropagation: every activation, layer and loss is a small object with a
forward and a backward method, so the chain rule can be read off
``Network.loss_and_grad``.

Like fastmlp, and unlike scikit-learn's lists of arrays, the parameters live in
one flat buffer in scikit-learn's ``_pack`` order (every coef matrix row-major,
layer by layer, then every intercept); ``coefs``/``intercepts`` are views into
it, and gradients and optimizer state share the layout. Everything is computed
in the dtype of ``X`` (float32 stays float32); only reported losses are Python
floats.

It imports only NumPy and SciPy, never scikit-learn, so a parity test against
scikit-learn compares two independent implementations. The one exception is
fastmlp._dropout, pure NumPy too: the definition of the dropout masks' hash
and keys, which the kernels implement again in C.
"""

import numbers
import warnings
from itertools import pairwise

import numpy as np
import scipy.optimize
import scipy.sparse
from scipy.special import expit, xlogy

from ._dropout import drop_threshold, dropout_seed, epoch_key, kept_units

# --------------------------------------------------------------------------
# Activations. ``backward`` takes the activation *output* A, not the
# pre-activation Z: the hidden derivatives are cheap functions of A, which is
# why neither scikit-learn nor fastmlp keeps Z around.
# --------------------------------------------------------------------------


class Identity:
    """f(z) = z."""

    def forward(self, Z):
        return Z.copy()

    def backward(self, A, dA):
        return dA.copy()


class Logistic:
    """f(z) = 1 / (1 + exp(-z)); f' = A (1 - A)."""

    def forward(self, Z):
        return expit(Z)

    def backward(self, A, dA):
        return dA * A * (1 - A)


class Tanh:
    """f(z) = tanh(z); f' = 1 - A**2."""

    def forward(self, Z):
        return np.tanh(Z)

    def backward(self, A, dA):
        return dA * (1 - A**2)


class ReLU:
    """f(z) = max(z, 0); f' = 1 where A > 0, else 0 (0 at the kink, as sklearn)."""

    def forward(self, Z):
        return np.maximum(Z, 0)

    def backward(self, A, dA):
        return np.where(A > 0, dA, 0)


# Not scikit-learn's: fastmlp's additional hidden activations. Their
# derivatives are functions of the output too.

LEAKY_SLOPE = 0.01


class LeakyReLU:
    """f(z) = z for z > 0, else 0.01 z; f' = 1 where A > 0, else 0.01."""

    def forward(self, Z):
        return np.where(Z > 0, Z, Z * LEAKY_SLOPE)

    def backward(self, A, dA):
        return np.where(A > 0, dA, dA * LEAKY_SLOPE)


class ELU:
    """f(z) = z for z > 0, else exp(z) - 1; f' = 1 where A > 0, else A + 1."""

    def forward(self, Z):
        return np.where(Z > 0, Z, np.expm1(np.minimum(Z, 0)))

    def backward(self, A, dA):
        return np.where(A > 0, dA, dA * (A + 1))


class Softplus:
    """f(z) = log(1 + exp(z)); f' = logistic(z) = 1 - exp(-A)."""

    def forward(self, Z):
        # Written so that exp never overflows.
        return np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z)))

    def backward(self, A, dA):
        return -dA * np.expm1(-A)


class Softmax:
    """Row-wise softmax (output layer only).

    ``backward`` is the true Jacobian-vector product, given for completeness;
    training never calls it, because with the log loss the output delta
    collapses to ``out - Y`` (see ``first_delta``).
    """

    def forward(self, Z):
        # Shifting by the row max keeps exp from overflowing; softmax is
        # invariant to the shift.
        A = np.exp(Z - Z.max(axis=1)[:, np.newaxis])
        A /= A.sum(axis=1)[:, np.newaxis]
        return A

    def backward(self, A, dA):
        return A * (dA - (A * dA).sum(axis=1)[:, np.newaxis])


class Exp:
    """f(z) = exp(z), the Poisson output (output layer only); f' = A."""

    def forward(self, Z):
        return np.exp(Z)

    def backward(self, A, dA):
        return dA * A


ACTIVATIONS = {
    "identity": Identity,
    "logistic": Logistic,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "softplus": Softplus,
    "softmax": Softmax,
    "exp": Exp,
}


# --------------------------------------------------------------------------
# Layer
# --------------------------------------------------------------------------


class Dense:
    """One affine layer ``Z = A_prev @ coef + intercept``.

    Parameters
    ----------
    coef : ndarray of shape (fan_in, fan_out)
        View into the network's flat parameter buffer; never copied, so an
        optimizer step on the buffer is seen here.
    intercept : ndarray of shape (fan_out,)
        View into the same buffer.
    """

    def __init__(self, coef, intercept):
        self.coef = coef
        self.intercept = intercept

    def forward(self, A_prev):
        """Return ``A_prev @ coef + intercept``; ``A_prev`` may be CSR."""
        Z = A_prev @ self.coef
        Z += self.intercept
        return Z

    def backward(self, A_prev, D, alpha, sw_sum):
        """Gradients of the mean loss + L2 penalty given the delta ``D = dL/dZ``.

        ``D`` carries the per-sample weights but not the 1/sw_sum of the mean;
        the division here applies it to data and penalty term alike.
        """
        coef_grad = A_prev.T @ D
        coef_grad += alpha * self.coef
        coef_grad /= sw_sum
        intercept_grad = D.sum(axis=0) / sw_sum
        return coef_grad, intercept_grad

    def propagate(self, D):
        """Delta with respect to this layer's input activations."""
        return D @ self.coef.T


# --------------------------------------------------------------------------
# Losses. Each is paired with its canonical output activation, for which
# dL/dZ of the output layer is simply ``out - Y``: scikit-learn uses that
# shortcut for every loss, and so do we.
# --------------------------------------------------------------------------


class _CanonicalLoss:
    out_activation = None

    def first_delta(self, Y, out, sample_weight=None):
        """dL/dZ of the output layer, per sample, before the 1/sw_sum."""
        D = out - Y
        if sample_weight is not None:
            D *= sample_weight[:, np.newaxis]
        return D


class SquaredError(_CanonicalLoss):
    """Half the squared error: weighted mean over samples, mean over outputs."""

    out_activation = "identity"

    def first_delta(self, Y, out, sample_weight=None):
        # The reported loss averages over outputs, so its gradient carries a
        # 1 / n_outputs. scikit-learn back-propagates plain ``out - Y``, the
        # gradient of the *sum* over outputs (scikit-learn issue #8349), so
        # its multi-output gradient is n_outputs times the slope of the loss
        # it reports. fastmlp uses the true gradient and this oracle follows
        # fastmlp; with one output the two agree.
        D = super().first_delta(Y, out, sample_weight)
        D /= out.shape[1]
        return D

    def value(self, Y, out, sample_weight=None):
        mean_sq = np.average((Y - out) ** 2, weights=sample_weight, axis=0)
        return float(0.5 * mean_sq.mean())


class LogLoss(_CanonicalLoss):
    """Categorical cross-entropy on softmax outputs, summed over classes."""

    out_activation = "softmax"

    def value(self, Y, out, sample_weight=None):
        # Clipping at the dtype's eps keeps log finite for saturated outputs.
        eps = np.finfo(out.dtype).eps
        prob = np.clip(out, eps, 1 - eps)
        return float(-np.average(xlogy(Y, prob), weights=sample_weight, axis=0).sum())


class BinaryLogLoss(_CanonicalLoss):
    """Binary cross-entropy on logistic outputs, summed over output columns."""

    out_activation = "logistic"

    def value(self, Y, out, sample_weight=None):
        eps = np.finfo(out.dtype).eps
        prob = np.clip(out, eps, 1 - eps)
        per_sample = xlogy(Y, prob) + xlogy(1 - Y, 1 - prob)
        return float(-np.average(per_sample, weights=sample_weight, axis=0).sum())


class Poisson(_CanonicalLoss):
    """Half Poisson deviance ``y log(y/out) - y + out``, summed over outputs.

    The constant ``y log y - y`` is kept, so a perfect fit reports 0.
    """

    out_activation = "exp"

    def value(self, Y, out, sample_weight=None):
        per_sample = xlogy(Y, Y / out) - Y + out
        return float(np.average(per_sample, weights=sample_weight, axis=0).sum())


LOSSES = {
    "squared_error": SquaredError,
    "log_loss": LogLoss,
    "binary_log_loss": BinaryLogLoss,
    "poisson": Poisson,
}


# --------------------------------------------------------------------------
# Flat parameter buffer
# --------------------------------------------------------------------------


def layer_units(n_features, hidden_layer_sizes, n_outputs):
    """Widths of every layer, input and output included."""
    return [n_features, *hidden_layer_sizes, n_outputs]


class ParamLayout:
    """Offsets of coefs and intercepts in the flat buffer, in sklearn's order.

    All coef matrices come first, row-major, in layer order, then all
    intercepts: the order of scikit-learn's ``_pack``, so L-BFGS sees the
    same vector.
    """

    def __init__(self, layer_units):
        self.layer_units = list(layer_units)
        self.coef_shapes = list(pairwise(self.layer_units))
        start = 0
        self.coef_slices = []
        for fan_in, fan_out in self.coef_shapes:
            self.coef_slices.append(slice(start, start + fan_in * fan_out))
            start += fan_in * fan_out
        self.intercept_slices = []
        for fan_out in self.layer_units[1:]:
            self.intercept_slices.append(slice(start, start + fan_out))
            start += fan_out
        self.n_params = start

    def views(self, flat):
        """Return ``(coefs, intercepts)``: lists of views into ``flat``."""
        coefs = [
            flat[s].reshape(shape)
            for s, shape in zip(self.coef_slices, self.coef_shapes, strict=True)
        ]
        intercepts = [flat[s] for s in self.intercept_slices]
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype):
        """Copy lists of arrays into a new flat buffer of ``dtype``."""
        flat = np.empty(self.n_params, dtype=dtype)
        coef_views, intercept_views = self.views(flat)
        for view, coef in zip(coef_views, coefs, strict=True):
            view[...] = coef
        for view, intercept in zip(intercept_views, intercepts, strict=True):
            view[...] = intercept
        return flat


def _check_random_state(random_state):
    """None -> NumPy's global RandomState, int -> new RandomState, else itself."""
    if random_state is None or random_state is np.random:
        return np.random.mtrand._rand
    if isinstance(random_state, numbers.Integral):
        return np.random.RandomState(random_state)
    if isinstance(random_state, np.random.RandomState):
        return random_state
    raise ValueError(
        f"{random_state!r} cannot be used to seed a numpy.random.RandomState instance"
    )


def init_params(layout, activation, random_state, dtype):
    """Glorot-uniform initial parameters, drawn exactly as scikit-learn draws them.

    Layer by layer, the coef matrix then the intercept, each from
    ``uniform(-bound, bound)`` with ``bound = sqrt(factor / (fan_in + fan_out))``
    (factor 2 for a logistic hidden activation, else 6), drawn in float64 and
    then rounded to ``dtype``. Changing this order changes every fit.
    """
    random_state = _check_random_state(random_state)
    flat = np.empty(layout.n_params, dtype=dtype)
    coefs, intercepts = layout.views(flat)
    factor = 2.0 if activation == "logistic" else 6.0
    for coef, intercept in zip(coefs, intercepts, strict=True):
        fan_in, fan_out = coef.shape
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef[...] = random_state.uniform(-bound, bound, (fan_in, fan_out))
        intercept[...] = random_state.uniform(-bound, bound, fan_out)
    return flat


# --------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------


class Network:
    """A stack of ``Dense`` layers over one flat parameter buffer.

    Parameters
    ----------
    layer_units : list of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    activation : {"identity", "logistic", "tanh", "relu"}
        Activation of every hidden layer.
    out_activation : {"identity", "logistic", "softmax", "exp"}
        Activation of the output layer.
    loss : {"squared_error", "log_loss", "binary_log_loss", "poisson"}
        Must be the canonical partner of ``out_activation``.
    dtype : {np.float64, np.float32}, default=np.float64

    Attributes
    ----------
    params : ndarray of shape (layout.n_params,)
        The flat buffer, zero until filled (for example by ``init_params``).
    coefs, intercepts : list of ndarray
        Views into ``params``.
    layers : list of Dense
    """

    def __init__(self, layer_units, activation, out_activation, loss, dtype=np.float64):
        self.layout = ParamLayout(layer_units)
        self.dtype = np.dtype(dtype)
        self.params = np.zeros(self.layout.n_params, dtype=self.dtype)
        self.coefs, self.intercepts = self.layout.views(self.params)
        self.layers = [
            Dense(c, b) for c, b in zip(self.coefs, self.intercepts, strict=True)
        ]
        self.hidden_activation = ACTIVATIONS[activation]()
        self.output_activation = ACTIVATIONS[out_activation]()
        self.loss = LOSSES[loss]()

    def forward_all(self, X, dropout=None):
        """Activations of every layer: ``[X, A_1, ..., out]``.

        With ``dropout`` (a callable giving hidden layer l's mask times
        1 / (1 - rate) for a width, see `DropoutMasks`), the hidden outputs
        come back masked and ``self.factors`` holds, per hidden layer, what
        backprop multiplies its delta by: the activation's derivative at
        the unmasked output times that mask.
        """
        activations = [X]
        self.factors = []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            Z = layer.forward(activations[-1])
            if i == last:
                activations.append(self.output_activation.forward(Z))
                break
            A = self.hidden_activation.forward(Z)
            if dropout is not None:
                scaled_mask = dropout(i + 1, A.shape[1])
                derivative = self.hidden_activation.backward(A, np.ones_like(A))
                self.factors.append(derivative * scaled_mask)
                A = A * scaled_mask
            activations.append(A)
        return activations

    def forward(self, X):
        """Output activations, shape (n_samples, n_outputs)."""
        return self.forward_all(X)[-1]

    def loss_and_grad(self, X, Y, alpha, sample_weight=None, dropout=None):
        """Penalised mean loss and its gradient in the flat layout.

        loss = data loss + 0.5 * alpha * sum ||coef||^2 / sw_sum, with
        sw_sum the number of samples or the sum of ``sample_weight``.
        Returns ``(loss, grad)``: a Python float and a new flat array.
        """
        Y = np.asarray(Y, dtype=self.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if sample_weight is None:
            sw_sum = X.shape[0]
        else:
            sample_weight = np.asarray(sample_weight, dtype=self.dtype)
            sw_sum = sample_weight.sum()

        activations = self.forward_all(X, dropout)
        penalty = 0.0
        for coef in self.coefs:
            penalty += np.dot(coef.ravel(), coef.ravel())
        loss = self.loss.value(Y, activations[-1], sample_weight)
        loss += float((0.5 * alpha) * penalty / sw_sum)

        grad = np.empty_like(self.params)
        coef_grads, intercept_grads = self.layout.views(grad)
        D = self.loss.first_delta(Y, activations[-1], sample_weight)
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            coef_grads[i][...], intercept_grads[i][...] = layer.backward(
                activations[i], D, alpha, sw_sum
            )
            if i > 0:
                D = layer.propagate(D)
                if dropout is None:
                    D = self.hidden_activation.backward(activations[i], D)
                else:
                    D = D * self.factors[i - 1]
        return loss, grad


class DropoutMasks:
    """Inverted dropout's masks of one batch, as a ``forward_all`` callable.

    Unit j of hidden layer l is kept for sample s when the hash of
    (key, s, l, j) says so (fastmlp/_dropout.py); kept outputs are scaled
    by 1 / (1 - rate) in the network's dtype.
    """

    def __init__(self, rate, key, samples, n_layers, dtype):
        self.rate = rate
        self.key = key
        self.samples = samples
        self.n_layers = n_layers
        self.scale = np.asarray(1.0 / (1.0 - rate), dtype=dtype)

    def __call__(self, layer, width):
        kept = kept_units(
            self.key, self.samples, layer, self.n_layers, width, self.rate
        )
        return np.where(kept, self.scale, self.scale.dtype.type(0))


# --------------------------------------------------------------------------
# Optimizers: in-place updates of the flat buffer, with scikit-learn's
# learning-rate bookkeeping (``learning_rate``, ``iteration_ends``,
# ``trigger_stopping``).
# --------------------------------------------------------------------------


class _Optimizer:
    def __init__(self, params, learning_rate_init):
        self.params = params
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def iteration_ends(self, time_step):
        """Hook run after each epoch; ``time_step`` counts samples seen."""

    def trigger_stopping(self, msg, verbose):
        """Return True to stop after ``n_iter_no_change`` stalled epochs."""
        if verbose:
            print(msg + " Stopping.")
        return True


class SGD(_Optimizer):
    """SGD with (Nesterov) momentum and scikit-learn's learning-rate schedules.

    ``lr_schedule``: "constant"; "invscaling", where after each epoch
    ``learning_rate = learning_rate_init / (t + 1) ** power_t`` with ``t`` the
    samples seen so far; "adaptive", where a stall divides the rate by 5
    instead of stopping, until it falls to 1e-6 or below.
    """

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(params, learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = np.zeros_like(params)

    def step(self, grad):
        self.velocities *= self.momentum
        self.velocities -= self.learning_rate * grad
        if self.nesterov:
            # Look-ahead: apply the momentum of the velocity just updated.
            self.params += self.momentum * self.velocities - self.learning_rate * grad
        else:
            self.params += self.velocities

    def iteration_ends(self, time_step):
        if self.lr_schedule == "invscaling":
            self.learning_rate = (
                float(self.learning_rate_init) / (time_step + 1) ** self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            return super().trigger_stopping(msg, verbose)
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class Adam(_Optimizer):
    """Adam (Kingma & Ba, 2014) in the paper's "efficient" form, as sklearn.

    The bias corrections are folded into the rate,
    ``learning_rate = learning_rate_init * sqrt(1 - beta_2**t) / (1 - beta_1**t)``,
    and ``epsilon`` is added to ``sqrt(v)`` of the *uncorrected* second moment,
    which is not the same as adding it to ``sqrt(v_hat)``.
    """

    def __init__(
        self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    ):
        super().__init__(params, learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = np.zeros_like(params)
        self.vs = np.zeros_like(params)

    def step(self, grad):
        self.t += 1
        self.ms *= self.beta_1
        self.ms += (1 - self.beta_1) * grad
        self.vs *= self.beta_2
        self.vs += (1 - self.beta_2) * grad**2
        # A Python float keeps float32 moments in float32.
        self.learning_rate = float(
            self.learning_rate_init
            * np.sqrt(1 - self.beta_2**self.t)
            / (1 - self.beta_1**self.t)
        )
        self.params += -self.learning_rate * self.ms / (np.sqrt(self.vs) + self.epsilon)


# --------------------------------------------------------------------------
# Epochs
# --------------------------------------------------------------------------


def shuffle_indices(sample_idx, random_state):
    """Permute ``sample_idx`` with the draw ``sklearn.utils.shuffle`` makes.

    sklearn shuffles ``arange(n)`` in place and indexes with it, so an epoch
    permutes the previous epoch's order, not ``arange(n)``.
    """
    random_state = _check_random_state(random_state)
    perm = np.arange(len(sample_idx))
    random_state.shuffle(perm)
    return sample_idx[perm]


def train_epoch(
    network,
    optimizer,
    X,
    Y,
    alpha,
    batch_size,
    sample_idx=None,
    sample_weight=None,
    dropout=None,
):
    """One pass over the data in mini-batches; returns scikit-learn's epoch loss.

    ``dropout``: None, or (rate, key) to drop hidden outputs with the
    epoch's mask key (see `DropoutMasks`).

    Batches are consecutive runs of ``sample_idx`` (of ``range(n_samples)``
    when None), the last one possibly shorter. The epoch loss weights each
    batch's mean loss by its number of rows -- not by its sample weights --
    and divides by ``n_samples``.
    """
    n_samples = X.shape[0]
    accumulated_loss = 0.0
    for start in range(0, n_samples, batch_size):
        stop = min(start + batch_size, n_samples)
        batch = slice(start, stop) if sample_idx is None else sample_idx[start:stop]
        sw_batch = None if sample_weight is None else sample_weight[batch]
        masks = None
        if dropout is not None:
            samples = np.arange(start, stop) if sample_idx is None else batch
            masks = DropoutMasks(
                *dropout, samples, len(network.layers), network.params.dtype
            )
        batch_loss, grad = network.loss_and_grad(
            X[batch], Y[batch], alpha, sw_batch, masks
        )
        accumulated_loss += batch_loss * (stop - start)
        optimizer.step(grad)
    return accumulated_loss / n_samples


# --------------------------------------------------------------------------
# Estimators
# --------------------------------------------------------------------------


class _BaselineMLP:
    """Shared ``fit`` of the two estimators (no early stopping, no validation)."""

    def _fit(self, X, Y, sample_weight, out_activation, loss):
        if scipy.sparse.issparse(X):
            X = X.tocsr()
        else:
            X = np.asarray(X)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        X = X.astype(dtype, copy=False)
        Y = Y.astype(dtype, copy=False)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=dtype)
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]

        # Same order of random draws as scikit-learn: initial weights, then one
        # shuffle per epoch.
        self._random_state = _check_random_state(self.random_state)
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = Y.shape[1]
        units = layer_units(X.shape[1], hidden_layer_sizes, self.n_outputs_)
        self.n_layers_ = len(units)
        self.out_activation_ = out_activation
        self._network = Network(units, self.activation, out_activation, loss, dtype)
        self._network.params[...] = init_params(
            self._network.layout, self.activation, self._random_state, dtype
        )
        self.coefs_ = self._network.coefs
        self.intercepts_ = self._network.intercepts

        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, sample_weight)

        if not np.isfinite(self._network.params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _fit_lbfgs(self, X, Y, sample_weight):
        network = self._network

        def loss_and_grad(flat):
            network.params[...] = flat
            loss, grad = network.loss_and_grad(X, Y, self.alpha, sample_weight)
            return loss, grad.astype(np.float64)

        result = scipy.optimize.minimize(
            loss_and_grad,
            network.params.astype(np.float64),
            method="L-BFGS-B",
            jac=True,
            options={
                "maxfun": self.max_fun,
                "maxiter": self.max_iter,
                "gtol": self.tol,
            },
        )
        # Older SciPy could report nit > maxiter (scipy/scipy#7854).
        self.n_iter_ = min(result.nit, self.max_iter)
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}",
                stacklevel=2,
            )
        self.loss_ = float(result.fun)
        if not np.isfinite(self.loss_):
            # A line search that met a NaN: result.x is the last iterate,
            # result.fun the failed point's loss. Report the iterate's own.
            self.loss_ = float(loss_and_grad(result.x)[0])
        network.params[...] = result.x

    def _fit_stochastic(self, X, Y, sample_weight):
        params = self._network.params
        if self.solver == "sgd":
            self._optimizer = SGD(
                params,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        else:
            self._optimizer = Adam(
                params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
            )
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self._no_improvement_count = 0

        n_samples = X.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped",
                    stacklevel=2,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        rate = self.dropout
        # A rate that drops no unit at 32-bit resolution does not rescale either.
        drop_seed = None
        if drop_threshold(rate) > 0:
            drop_seed = dropout_seed(self._random_state)
        for _ in range(self.max_iter):
            if self.shuffle:
                sample_idx = shuffle_indices(sample_idx, self._random_state)
            dropout = None
            if drop_seed is not None:
                dropout = (rate, epoch_key(drop_seed, self.t_))
            self.loss_ = train_epoch(
                self._network,
                self._optimizer,
                X,
                Y,
                self.alpha,
                batch_size,
                sample_idx if self.shuffle else None,
                sample_weight,
                dropout,
            )
            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_curve_.append(self.loss_)

            if self.loss_ > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_)

            # The schedule sees t_ before the stopping test, as in sklearn.
            self._optimizer.iteration_ends(self.t_)
            if self._no_improvement_count > self.n_iter_no_change:
                msg = (
                    f"Training loss did not improve more than tol={self.tol:f}"
                    f" for {self.n_iter_no_change} consecutive epochs."
                )
                if self._optimizer.trigger_stopping(msg, False):
                    break
                self._no_improvement_count = 0

            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                    "reached and the optimization hasn't converged yet.",
                    stacklevel=2,
                )

    def _forward(self, X):
        if not scipy.sparse.issparse(X):
            X = np.asarray(X)
        return self._network.forward(X)


class BaselineMLPClassifier(_BaselineMLP):
    """Pure-NumPy twin of ``sklearn.neural_network.MLPClassifier``.

    Same parameters, defaults, random draws and fitted attributes for
    binary and multiclass targets (1-D labels); no early stopping,
    ``warm_start``, ``partial_fit`` or input validation. Two classes train
    one logistic output, more train a softmax over one-hot targets.
    ``coefs_``/``intercepts_`` are views into one flat buffer. ``loss_curve_``
    and ``best_loss_`` exist only for the stochastic solvers, as in sklearn.
    ``dropout`` (not scikit-learn's) drops hidden units as fastmlp does,
    with the same masks (`DropoutMasks`).
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y).ravel()
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"Need at least 2 classes, got {self.classes_}.")
        if len(self.classes_) == 2:
            Y = (y == self.classes_[1])[:, np.newaxis]
            out_activation, loss = "logistic", "binary_log_loss"
        else:
            Y = y[:, np.newaxis] == self.classes_
            out_activation, loss = "softmax", "log_loss"
        return self._fit(X, Y, sample_weight, out_activation, loss)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes)."""
        out = self._forward(X)
        if out.shape[1] == 1:
            return np.hstack([1 - out, out])
        return out

    def predict(self, X):
        out = self._forward(X)
        if out.shape[1] == 1:
            # A tie at exactly 0.5 goes to the first class, as in sklearn.
            return self.classes_[(out[:, 0] > 0.5).astype(int)]
        return self.classes_[out.argmax(axis=1)]


class BaselineMLPRegressor(_BaselineMLP):
    """Pure-NumPy twin of ``sklearn.neural_network.MLPRegressor``.

    ``loss="squared_error"`` trains an identity output, ``loss="poisson"``
    an exp output. Same limits and attributes as ``BaselineMLPClassifier``.
    With several outputs the squared-error gradient is that of the reported
    loss, as in fastmlp, not scikit-learn's (see ``SquaredError``).
    """

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
    ):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout

    def fit(self, X, y, sample_weight=None):
        y = np.asarray(y)
        Y = y.reshape(len(y), -1)
        out_activation = LOSSES[self.loss].out_activation
        return self._fit(X, Y, sample_weight, out_activation, self.loss)

    def predict(self, X):
        out = self._forward(X)
        return out.ravel() if out.shape[1] == 1 else out
