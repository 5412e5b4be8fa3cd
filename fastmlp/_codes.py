# SPDX-License-Identifier: BSD-3-Clause
"""Integer codes the kernels switch on; the numbers match src_c/*.pxd enums."""

ACTIVATION_CODES = {
    "identity": 0,
    "logistic": 1,
    "tanh": 2,
    "relu": 3,
    "softmax": 4,
    "exp": 5,
    "leaky_relu": 6,
    "elu": 7,
    "softplus": 8,
}
# The first four are scikit-learn's; the others are fastmlp's additions.
HIDDEN_ACTIVATIONS = (
    "identity",
    "logistic",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "softplus",
)

# Keyed by (loss parameter, output activation): log_loss splits by output.
LOSS_CODES = {
    ("squared_error", "identity"): 0,
    ("log_loss", "softmax"): 1,
    ("log_loss", "logistic"): 2,
    ("poisson", "exp"): 3,
}

SOLVER_CODES = {"sgd": 0, "adam": 1}

STATUS_OK = 0
STATUS_INTERRUPTED = 1
STATUS_ZERO_WEIGHT = 2
