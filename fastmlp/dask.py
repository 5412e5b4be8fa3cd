# SPDX-License-Identifier: BSD-3-Clause
"""Training and prediction on Dask arrays, one row block at a time.

Not in scikit-learn. Dask holds data too large for one machine's memory as
row blocks computed where they live (a cluster's workers, or local threads).

- :func:`fit_blocks` trains an estimator with ``partial_fit`` on one block
  after another, so the process training holds at most two blocks: the one
  being trained on and the next, which Dask computes meanwhile (the compiled
  epoch releases the GIL, so the two overlap).
- :func:`fit_lbfgs` fits with ``solver='lbfgs'`` data-parallel: each loss
  and gradient L-BFGS asks for is summed from the blocks' shares, computed
  where the blocks live (fastmlp/_dask_lbfgs.py).
- :func:`predict`, :func:`predict_proba` and :func:`predict_log_proba`
  return lazy Dask arrays: each block is predicted where it is computed,
  with a copy of the fitted estimator (pickled to the workers by Dask).

SGD and Adam update one set of weights after every mini-batch, so
fit_blocks trains on the blocks in turn, in one process; what scales out
there is reading and preparing the data.

Needs ``dask`` (``pip install 'fastmlp[dask]'``); ``import fastmlp`` does not
import this module.
"""

import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted

try:
    import dask
    import dask.array  # noqa: F401 - the modules below need it
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "fastmlp.dask needs Dask: pip install 'fastmlp[dask]' (or 'dask')."
    ) from error

from ._base import _NONFINITE_MESSAGE
from ._dask_blocks import aligned_row_blocks, all_classes, row_blocked_matrix
from ._dask_lbfgs import BlockObjective, BlockSpec, class_weights
from ._threads import one_thread_per_task

__all__ = ["fit_blocks", "fit_lbfgs", "predict", "predict_log_proba", "predict_proba"]


def fit_blocks(
    estimator,
    X,
    y,
    *,
    sample_weight=None,
    classes=None,
    epochs=1,
    shuffle_blocks=True,
    random_state=None,
):
    """Train `estimator` on a Dask array with ``partial_fit``, block by block.

    Each row block of `X` is computed, with the matching rows of `y` and
    `sample_weight`, and passed to ``estimator.partial_fit``: one pass over
    the block in mini-batches of the estimator's ``batch_size`` (shuffled
    within the block when its ``shuffle`` is true). One epoch visits every
    block once. The next block is computed while the estimator trains on
    the current one.

    The estimator is trained in place, continuing from its current weights
    when it is already fitted (as ``partial_fit`` does); pass
    ``sklearn.base.clone(estimator)`` to start afresh. Its callbacks run
    after every block, and returning a true value from one stops the
    training there.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        With ``solver='sgd'`` or ``'adam'`` and ``early_stopping=False``
        (the estimator's ``partial_fit`` requires both). A classifier with
        ``warm_start=True`` needs every class in every block, as its
        ``partial_fit`` needs them in every call.

    X : dask.array.Array of shape (n_samples, n_features)
        Training data, split in blocks along the rows. Blocks split along
        the columns are joined first. Empty blocks are skipped; X with no
        rows at all is an error.

    y : dask.array.Array or array-like of shape (n_samples,) or \
            (n_samples, n_outputs)
        Targets. A Dask array is rechunked to `X`'s row blocks; a NumPy
        array is cut at them (which needs `X`'s block sizes known).

    sample_weight : dask.array.Array or array-like of shape (n_samples,), \
            default=None
        Per-sample weights, aligned with `X` like `y`.

    classes : array-like, default=None
        Every class label (classifiers, first training only). When None and
        the estimator is not fitted yet, it is ``np.unique(y)``, which costs
        one pass over `y` before training.

    epochs : int, default=1
        Passes over all blocks.

    shuffle_blocks : bool, default=True
        Visit the blocks in a new random order each epoch.

    random_state : int, RandomState instance or None, default=None
        Draws the block orders (the estimator's own ``random_state`` draws
        its weights and its shuffles within blocks).

    Returns
    -------
    estimator : the estimator passed in, trained.
    """
    if not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool):
        raise TypeError(f"epochs must be an int, got {epochs!r}.")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}.")
    X, blocks = aligned_row_blocks(X, y, sample_weight)

    fit_kwargs = {}
    if is_classifier(estimator):
        if classes is None and not hasattr(estimator, "classes_"):
            classes = all_classes(y)
        fit_kwargs["classes"] = classes

    rng = check_random_state(random_state)
    order = []
    n_blocks = len(blocks)
    for _ in range(epochs):
        visit = rng.permutation(n_blocks) if shuffle_blocks else range(n_blocks)
        order.extend(int(k) for k in visit)

    def compute_block(k):
        return k, *dask.compute(*blocks[k])

    trained = interrupted = False
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastmlp-dask")
    try:
        pending = pool.submit(compute_block, order[0])
        for position in range(len(order)):
            try:
                k, X_block, y_block, weight_block = pending.result()
            except KeyboardInterrupt:
                warnings.warn("Training interrupted by user.")  # as fit says it
                interrupted = True
                break
            if position + 1 < len(order):
                pending = pool.submit(compute_block, order[position + 1])
            if X_block.shape[0] != y_block.shape[0]:
                raise ValueError(
                    f"Block {k} of X has {X_block.shape[0]} rows but the matching "
                    f"part of y has {y_block.shape[0]}: X and y are not aligned."
                )
            if X_block.shape[0] == 0:
                continue  # an empty partition, e.g. left by a filter
            if is_classifier(estimator) and estimator.warm_start:
                _check_block_classes(estimator, k, y_block, fit_kwargs)
            estimator.partial_fit(
                X_block, y_block, sample_weight=weight_block, **fit_kwargs
            )
            trained = True
            fit_kwargs.pop("classes", None)  # only the first call needs them
            # Ctrl-C, divergence (both warned) or a callback asking to stop:
            # partial_fit ends its one epoch either way, the blocks end here.
            if getattr(estimator, "_stop_reason", None) is not None:
                break
    finally:
        # Not waiting for a block still being computed keeps Ctrl-C and
        # errors prompt; its result is dropped when it arrives.
        pool.shutdown(wait=False, cancel_futures=True)
    if not trained and not interrupted:
        # Returned as it came, an unfitted estimator would fail only later,
        # in predict; partial_fit refuses zero rows too.
        raise ValueError(
            f"X has no rows: each of its {n_blocks} row block(s) is empty, so "
            f"{type(estimator).__name__} has nothing to train on."
        )
    return estimator


def _check_block_classes(estimator, k, y_block, fit_kwargs):
    """warm_start's rule for partial_fit, said of block k: y holds every class.

    partial_fit itself would refuse the block with scikit-learn's message,
    which speaks of "the previous call to fit", a call the user never made.
    """
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = fit_kwargs.get("classes")
    try:
        labels = unique_labels(y_block)
    except (TypeError, ValueError):
        return  # partial_fit names what is wrong with these labels
    if classes is not None and set(labels) != set(classes):
        raise ValueError(
            f"Block {k} of y holds the classes {labels.tolist()}, not all of "
            f"{np.asarray(classes).tolist()}: with warm_start=True, partial_fit "
            "(as scikit-learn's) needs every class in each call's y. Set "
            "warm_start=False for fit_blocks unless every block holds every "
            "class."
        )


def fit_lbfgs(estimator, X, y, *, sample_weight=None, classes=None):
    """Fit `estimator` (``solver='lbfgs'``) on a Dask array, data-parallel.

    L-BFGS minimises the loss over all rows, so each of its evaluations
    becomes one Dask computation: every row block gives its share of the
    loss and gradient where Dask computes it (a cluster's workers, local
    threads), and this process adds the shares up and takes the L-BFGS step.
    Only the weights travel to the blocks and one gradient per block comes
    back. The result is that of ``estimator.fit`` on the same data in
    memory, up to the round-off of summing the blocks' shares in another
    order; the initial weights are drawn as that fit draws them.

    Each evaluation computes every block: persist `X` (and `y`) first,
    ``X = X.persist()``, unless recomputing them is cheap. Callbacks, Ctrl-C,
    ``max_iter``, ``max_fun`` and ``tol`` act as in ``fit``; so does
    ``warm_start``.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        With ``solver='lbfgs'``. ``class_weight='balanced'`` counts the
        classes in one pass over `y` first.

    X : dask.array.Array of shape (n_samples, n_features)
        Training data, split in blocks along the rows; float32 trains in
        float32. Blocks may be SciPy CSR or CSC matrices, read as ``fit``
        reads sparse X.

    y : dask.array.Array or array-like of shape (n_samples,) or \
            (n_samples, n_outputs)
        Targets, aligned with `X` as in :func:`fit_blocks`.

    sample_weight : dask.array.Array or array-like of shape (n_samples,), \
            default=None
        Per-sample weights; the loss is their weighted mean.

    classes : array-like, default=None
        Every class label (classifiers). When None, ``np.unique(y)``, which
        costs one pass over `y`.

    Returns
    -------
    estimator : the estimator passed in, fitted.
    """
    if getattr(estimator, "solver", None) != "lbfgs":
        raise ValueError(
            "fit_lbfgs needs solver='lbfgs'; for 'sgd' and 'adam', "
            "use fit_blocks, which trains on one block after another."
        )
    estimator._validate_params()
    if estimator.dropout > 0:  # as fit refuses it for 'lbfgs'
        raise ValueError(
            f"dropout={estimator.dropout} needs solver='sgd' or 'adam'; "
            "L-BFGS minimises one fixed full-batch loss."
        )
    X, blocks = aligned_row_blocks(X, y, sample_weight)
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    n_features = X.shape[1]
    # A few rows of zeros stand for X in fit's own checks of the estimator's
    # state: they set n_features_in_ (or check it, on a warm start), and for
    # a classifier the label binarizer, from every class.
    multilabel = is_classifier(estimator) and np.ndim(y) == 2 and np.shape(y)[1] > 1
    if multilabel:  # an indicator with y's columns, as the binarizer reads it
        y_stand_in = np.eye(np.shape(y)[1], dtype=int)
    elif is_classifier(estimator):
        if classes is None:
            classes = all_classes(y if np.ndim(y) == 1 else y[:, 0])
        y_stand_in = np.asarray(classes)
    else:
        y_stand_in = np.zeros((1, *np.shape(y)[1:]))
    X_stand_in = np.zeros((y_stand_in.shape[0], n_features), dtype=dtype)
    first_pass = not hasattr(estimator, "coefs_") or not estimator.warm_start
    dtype = estimator._training_dtype(dtype, first_pass)
    _, Y = estimator._validate_input(
        X_stand_in, y_stand_in, incremental=False, reset=first_pass
    )
    estimator.n_outputs_ = 1 if Y.ndim == 1 else Y.shape[1]
    layer_units = [n_features, *estimator._hidden_sizes(), estimator.n_outputs_]
    engine = estimator._prepare_engine(layer_units, dtype, first_pass)
    per_class = None
    if getattr(estimator, "class_weight", None) is not None:
        per_class = class_weights(estimator, y, multilabel)
    spec = BlockSpec(estimator, layer_units, dtype, per_class)
    objective = BlockObjective(engine, blocks, spec)
    estimator._fit_lbfgs(None, None, None, objective, None)
    if not np.isfinite(estimator._current_params()).all():
        raise ValueError(_NONFINITE_MESSAGE)
    return estimator


def predict(estimator, X):
    """``estimator.predict`` on every row block of `X`, as a lazy Dask array."""
    return _map_row_blocks(estimator, X, "predict")


def predict_proba(estimator, X):
    """``estimator.predict_proba`` on every row block of `X`, lazily."""
    return _map_row_blocks(estimator, X, "predict_proba")


def predict_log_proba(estimator, X):
    """``estimator.predict_log_proba`` on every row block of `X`, lazily."""
    return _map_row_blocks(estimator, X, "predict_log_proba")


def _map_row_blocks(estimator, X, method):
    check_is_fitted(estimator)
    bound = getattr(estimator, method)  # AttributeError for a regressor's proba
    X = row_blocked_matrix(X)
    n_features = X.shape[1]
    if n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {estimator.n_features_in_} features as input."
        )
    # One row of zeros gives the output's dtype and columns as the blocks
    # will have them; a DataFrame-fitted estimator warns about feature names
    # here, which the blocks themselves will do if they are NumPy arrays.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        probe = bound(np.zeros((1, n_features), dtype=X.dtype))
    shape = (
        {"drop_axis": 1}
        if probe.ndim == 1
        else {"chunks": (X.chunks[0], (probe.shape[1],))}
    )
    meta = np.empty((0,) * probe.ndim, dtype=probe.dtype)
    return X.map_blocks(_call_on_block, estimator, method, probe, meta=meta, **shape)


def _call_on_block(block, estimator, method, probe):
    if block.shape[0] == 0:  # estimators refuse zero rows; Dask may make them
        return np.empty((0, *probe.shape[1:]), dtype=probe.dtype)
    with one_thread_per_task():  # Dask runs a block per core
        return getattr(estimator, method)(block)
