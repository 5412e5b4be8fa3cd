# SPDX-License-Identifier: BSD-3-Clause
"""Validation rows: `fit`'s `X_val`/`y_val`, or early stopping's held-out share.

scikit-learn's MLP scores validation rows only under early stopping, and
only a random share of the training data. fastmlp's `fit` also takes
``X_val``, ``y_val`` and ``sample_weight_val``, as scikit-learn 1.7's
HistGradientBoosting does. The rows are checked and converted once per fit;
after that every epoch (or L-BFGS iteration) costs one forward pass, whose
output gives both the score and the loss.

The validation loss is `loss_curve_`'s loss with its data term taken on the
validation rows::

    weighted mean over the rows of the loss (weights: sample_weight_val)
    + alpha / 2 * ||W||^2 * penalty_scale

The data term is defined as in the kernels (src_c/_losses.pxd): log losses
clip probabilities to [eps, 1 - eps] with the dtype's eps, the squared error
is halved and averaged over outputs, poisson is the half deviance.
`penalty_scale` is the factor the training loss gave the penalty in that
epoch. Each mini-batch reports its penalty over its own weight sum, and an
epoch's loss averages its batches by their number of rows, so the factor is
sum_b (n_b / n) / sw_b over the epoch's batches: n_batches / n without
sample weights, about 1 / batch_size. L-BFGS charges the penalty once, over
the total training weight, as its `loss_` does. With the same penalty on
both curves, their gap is the gap between the data terms.
"""

import numpy as np
from scipy.special import xlogy


class ValidationRows:
    """Rows scored after each epoch, in the form the forward pass takes.

    X : training dtype, C-ordered, or CSR
    y : targets as the estimator's score function takes them
    Y : (n_rows, n_outputs) targets in the training dtype, for the loss
    sample_weight : (n_rows,) in the training dtype, or None
    """

    def __init__(self, X, y, Y, sample_weight):
        self.X = X
        self.y = y
        self.Y = Y
        self.sample_weight = sample_weight


def check_pairing(X_val, y_val, sample_weight_val):
    """X_val and y_val come together; sample_weight_val only with them."""
    if X_val is not None and y_val is None:
        raise ValueError("X_val is provided, but y_val was not provided.")
    if y_val is not None and X_val is None:
        raise ValueError("y_val is provided, but X_val was not provided.")
    if sample_weight_val is not None and X_val is None:
        raise ValueError(
            "sample_weight_val is provided, but X_val and y_val were not provided."
        )


def check_n_rows(X_val, Y_val, sample_weight_val):
    """One target (and one weight, if given) per X_val row."""
    n_rows = X_val.shape[0]
    if Y_val.shape[0] != n_rows:
        raise ValueError(f"X_val has {n_rows} samples, but y_val has {Y_val.shape[0]}.")
    if sample_weight_val is not None and np.ndim(sample_weight_val) == 1:
        if np.shape(sample_weight_val)[0] != n_rows:
            raise ValueError(
                f"sample_weight_val has {np.shape(sample_weight_val)[0]} values, "
                f"but X_val has {n_rows} samples."
            )


def mean_loss(loss, out_activation, Y, out, sample_weight):
    """Weighted mean over rows of the loss of outputs `out` for targets `Y`.

    The kernels' definition (src_c/_losses.pxd), without the penalty:
    differences and clipping in the dtype of `out`, logarithms and sums in
    float64. NaN when the weights sum to zero.
    """
    eps = np.finfo(out.dtype).eps
    # Diverged outputs (inf, NaN, exactly 0 for poisson) give an infinite or
    # NaN loss, as they do in loss_curve_, without a warning per epoch.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if loss == "squared_error":
            per_row = 0.5 * np.square((Y - out).astype(np.float64)).mean(axis=1)
        elif loss == "poisson":
            Y64 = Y.astype(np.float64)
            rest = (out - Y).astype(np.float64)
            per_row = (xlogy(Y64, (Y / out).astype(np.float64)) + rest).sum(axis=1)
        else:
            prob = np.clip(out, eps, 1 - eps)
            log_prob = np.log(prob, dtype=np.float64)
            if out_activation == "softmax":
                per_row = -(Y * log_prob).sum(axis=1)
            else:  # logistic outputs: binary and multilabel
                log_rest = np.log(1 - prob, dtype=np.float64)
                per_row = -(Y * log_prob + (1 - Y) * log_rest).sum(axis=1)
        if sample_weight is None:
            return float(per_row.mean())
        weight = sample_weight.astype(np.float64)
        total = weight.sum()
        if total == 0:
            return float("nan")
        return float(per_row @ weight / total)


def penalty_scale(sample_weight, order, batch_size, n_rows):
    """The factor of alpha / 2 * ||W||^2 in an epoch's training loss.

    `order` is the epoch's row order as train_epoch took it (None: natural
    order) and `sample_weight` the training loss's weights (None: all one).
    """
    starts = np.arange(0, n_rows, batch_size)
    if sample_weight is None:
        return starts.shape[0] / n_rows
    weight = sample_weight if order is None else sample_weight[order]
    batch_weight = np.add.reduceat(weight, starts, dtype=np.float64)
    batch_rows = np.diff(np.append(starts, n_rows))
    return float(np.sum(batch_rows / batch_weight)) / n_rows


def l2_penalty(params, n_coef, alpha, scale):
    """alpha / 2 * ||W||^2 * scale, W every coef (not the intercepts)."""
    if alpha == 0:
        return 0.0
    coefs = params[:n_coef].astype(np.float64)
    return 0.5 * alpha * float(coefs @ coefs) * scale
