# SPDX-License-Identifier: BSD-3-Clause
"""Optimizer state with scikit-learn's face; the kernels do the arithmetic.

Each optimizer owns its state as flat buffers in the parameter layout (so the
C step is one loop) and the between-epoch logic scikit-learn users rely on:
`learning_rate`, `iteration_ends` (learning-rate schedules) and
`trigger_stopping` (what happens when the loss stops improving).
"""

import numpy as np

from ._codes import SOLVER_CODES


class _Optimizer:
    def __init__(self, learning_rate_init):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)

    def iteration_ends(self, time_step):
        """Called after each epoch with the number of samples seen so far."""

    def trigger_stopping(self, msg, verbose):
        """Return True to stop training after `n_iter_no_change` bad epochs."""
        if verbose:
            print(msg + " Stopping.")
        return True

    def fits(self, n_params, dtype):
        return self.state1.shape == (n_params,) and self.state1.dtype == dtype


class SGDOptimizer(_Optimizer):
    """Stochastic gradient descent with (Nesterov) momentum."""

    code = SOLVER_CODES["sgd"]

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = np.zeros(n_params, dtype=dtype)
        # The kernel takes two state buffers; plain SGD needs one.
        self._unused = np.zeros(1, dtype=dtype)

    @property
    def state1(self):
        return self.velocities

    @property
    def state2(self):
        return self._unused

    def kernel_args(self):
        return dict(
            learning_rate=self.learning_rate,
            momentum=self.momentum,
            nesterov=bool(self.nesterov),
            beta_1=0.0,
            beta_2=0.0,
            epsilon=0.0,
            adam_t=0,
        )

    def epoch_done(self, adam_t, last_lr):
        pass

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
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamOptimizer(_Optimizer):
    """Adam; `learning_rate` is the last bias-corrected step size."""

    code = SOLVER_CODES["adam"]

    def __init__(
        self,
        n_params,
        dtype,
        learning_rate_init=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
    ):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = np.zeros(n_params, dtype=dtype)
        self.vs = np.zeros(n_params, dtype=dtype)

    @property
    def state1(self):
        return self.ms

    @property
    def state2(self):
        return self.vs

    def kernel_args(self):
        return dict(
            learning_rate=float(self.learning_rate_init),
            momentum=0.0,
            nesterov=False,
            beta_1=float(self.beta_1),
            beta_2=float(self.beta_2),
            epsilon=float(self.epsilon),
            adam_t=int(self.t),
        )

    def epoch_done(self, adam_t, last_lr):
        self.t = adam_t
        self.learning_rate = last_lr
