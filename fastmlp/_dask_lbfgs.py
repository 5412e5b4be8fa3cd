# SPDX-License-Identifier: BSD-3-Clause
"""L-BFGS's loss and gradient summed over Dask row blocks.

The full-batch loss is a weighted mean over rows, so each block can give
its own (weight sum, weighted loss sum, weighted gradient sum) where it is
computed, and the process running L-BFGS adds those up: only the weights go
out and one gradient per block comes back. This is how the engine itself
evaluates large data in row ranges (Engine.loss_and_grad); the L2 penalty is
added once, over the total weight, as there.
"""

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import check_array

from ._class_weight import class_sample_weight
from ._engine import Engine, add_l2_penalty, kernel_inputs
from ._threads import blas_single_threaded


class BlockSpec:
    """What a block's evaluation needs to know of the network and targets.

    Pickled to Dask's workers with each evaluation's tasks; it holds no
    weights (those travel as the packed vector).
    """

    def __init__(self, estimator, layer_units, dtype, per_class=None):
        self.layer_units = list(layer_units)
        # class_weight as one weight per column of classes_ (None: none).
        self.per_class = per_class
        self.activation = estimator.activation
        self.out_activation = estimator.out_activation_
        self.loss = estimator.loss
        self.dtype = np.dtype(dtype)
        self.n_outputs = layer_units[-1]
        self.binarizer = getattr(estimator, "_label_binarizer", None)


def block_loss_grad(X_block, y_block, weight_block, packed, spec):
    """(rows, weight sum, weighted loss sum, weighted gradient sum) of a block.

    Checks the block as fit checks X and y. Loss and gradient are without
    the penalty, which the caller adds once.
    """
    n_params = packed.shape[0]
    n_rows = X_block.shape[0]
    if n_rows == 0:
        return 0, 0.0, 0.0, np.zeros(n_params)
    # Sparse blocks as fit takes sparse X: the first layer reads CSR rows.
    X_block = check_array(
        X_block,
        accept_sparse=["csr", "csc"],
        dtype=spec.dtype,
        order="C",
        input_name="X",
    )
    Y = _block_targets(y_block, spec)
    if weight_block is not None:
        weight_block = _block_weights(weight_block, X_block.shape[0], spec.dtype)
    if spec.per_class is not None:  # as MLPClassifier._training_weight
        class_index = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.intp)
        by_class = spec.per_class.astype(spec.dtype)[class_index]
        weight_block = by_class if weight_block is None else by_class * weight_block
    if weight_block is not None:
        weight = float(np.sum(weight_block, dtype=np.float64))
        if weight == 0:  # fine here, as long as another block weighs something
            return n_rows, 0.0, 0.0, np.zeros(n_params)
    else:
        weight = float(X_block.shape[0])
    engine = Engine(
        spec.layer_units,
        spec.activation,
        spec.out_activation,
        spec.loss,
        spec.dtype,
        *_zero_weights(spec),
        1,  # Dask runs a task per core: threads here would oversubscribe them
    )
    with blas_single_threaded():
        value, grad = engine.loss_and_grad(
            packed, kernel_inputs(X_block, spec.dtype), Y, weight_block, 0.0
        )
    return n_rows, weight, weight * value, weight * grad


def _block_targets(y_block, spec):
    """y's rows as the engine takes them: (n_rows, n_outputs), training dtype."""
    if spec.binarizer is not None and spec.binarizer.y_type_.startswith("multilabel"):
        Y = spec.binarizer.transform(y_block)  # checks the indicator's columns
    elif spec.binarizer is not None:
        y_block = np.asarray(y_block)
        if y_block.ndim == 2 and y_block.shape[1] == 1:
            y_block = y_block.ravel()
        unseen = np.setdiff1d(y_block, spec.binarizer.classes_)
        if unseen.size:
            raise ValueError(
                f"y has labels not in classes: {unseen.tolist()}. The classes are "
                f"{spec.binarizer.classes_.tolist()}."
            )
        Y = spec.binarizer.transform(y_block)
    else:
        Y = check_array(y_block, ensure_2d=False, dtype="numeric", input_name="y")
        if spec.loss == "poisson" and np.any(Y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "loss='poisson'."
            )
    return np.ascontiguousarray(Y.reshape(Y.shape[0], spec.n_outputs), dtype=spec.dtype)


def _block_weights(weight_block, n_rows, dtype):
    """A block's sample weights, checked as fit checks sample_weight.

    Not with scikit-learn's own check, which refuses a block of zeros.
    """
    weight_block = np.asarray(weight_block, dtype=dtype)
    if weight_block.shape != (n_rows,):
        raise ValueError(
            f"sample_weight has shape {weight_block.shape} in a block of "
            f"{n_rows} rows; expected ({n_rows},)."
        )
    if not np.isfinite(weight_block).all():
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if (weight_block < 0).any():
        raise ValueError("Negative values in data passed to `sample_weight`.")
    return weight_block


def _zero_weights(spec):
    # The engine is built from coef and intercept lists; the packed vector
    # each evaluation passes replaces them.
    units = spec.layer_units
    coefs = [
        np.zeros((a, b), spec.dtype) for a, b in zip(units[:-1], units[1:], strict=True)
    ]
    intercepts = [np.zeros(b, spec.dtype) for b in units[1:]]
    return coefs, intercepts


class BlockObjective:
    """Engine stand-in for the estimator's L-BFGS loop, over Dask blocks.

    `params` is the estimator's own flat buffer (coefs_ and intercepts_ view
    it): like the engine, each evaluation leaves its point there, so
    callbacks and Ctrl-C see the weights last evaluated.
    """

    def __init__(self, engine, blocks, spec):
        self.params = engine.params
        self.layout = engine.layout
        self.dtype = engine.dtype
        self._blocks = blocks  # [(X block, y part, weight part or None)]
        self._spec = spec

    def loss_and_grad(self, packed, inputs, Y, sample_weight, alpha):
        """Penalised loss and gradient at `packed`; inputs, Y, weights unused."""
        self.params[...] = packed
        packed = np.asarray(packed, dtype=np.float64)
        shared = dask.delayed(packed)  # sent once per evaluation, not per block
        tasks = [
            dask.delayed(block_loss_grad, pure=False)(X, y, w, shared, self._spec)
            for X, y, w in self._blocks
        ]
        # Held across the computation, so that blocks computed by threads
        # of this process nest in it. Entered and left by each block, it
        # made two threads' blocks slower than one thread's (measured: 0.7-
        # 1.2x, against 1.8-1.9x held once); presumably BLAS restarting its
        # own threads each time the limit was lifted. Dask's distributed
        # workers start with one BLAS thread already.
        with blas_single_threaded():
            parts = dask.compute(*tasks)
        n_rows, weights, loss_sums, grad_sums = zip(*parts, strict=True)
        if sum(n_rows) == 0:
            raise ValueError(
                f"X has no rows: each of its {len(parts)} row block(s) is empty, "
                "so there is nothing to train on."
            )
        total = sum(weights)
        if total == 0:
            raise ValueError(
                "The sample weights sum to zero: the loss would be undefined."
            )
        value = sum(loss_sums) / total
        grad = np.sum(grad_sums, axis=0) / total
        return add_l2_penalty(
            value, grad, self.params, self.layout.n_coef, alpha, total
        )


def class_weights(estimator, y, multilabel):
    """MLPClassifier's class_weight as one weight per entry of classes_.

    'balanced' needs the counts over all of y: one pass, here, before
    training, where fit counts the labels it holds in memory.
    """
    if multilabel:
        raise ValueError(
            "class_weight is not supported for multilabel targets; "
            "use sample_weight instead."
        )
    classes = estimator.classes_
    if estimator.class_weight == "balanced":
        if isinstance(y, da.Array):
            labels, counts = dask.compute(*da.unique(y.ravel(), return_counts=True))
        else:
            labels, counts = np.unique(np.ravel(y), return_counts=True)
        if not np.array_equal(labels, classes):
            raise ValueError(
                "class_weight='balanced' needs every class in y: y has "
                f"{labels.tolist()}, the classes are {classes.tolist()}."
            )
        return counts.sum() / (len(classes) * counts.astype(np.float64))
    # A dict: each class's weight, checked as fit checks it.
    return class_sample_weight(
        estimator.class_weight, classes, np.arange(len(classes)), False, np.float64
    )
