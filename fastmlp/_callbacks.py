# SPDX-License-Identifier: BSD-3-Clause
"""The `callbacks` parameter: user code run between epochs.

Not in scikit-learn's MLP. Each callback is called as ``callback(estimator)``
once the estimator's fitted attributes describe the epoch just finished
(``n_iter_``, ``loss_``, ``loss_curve_``, ``validation_scores_``,
``validation_loss_curve_``, and ``coefs_``/``intercepts_``, which are views
of the weights being trained: copy them to keep them). A callback that
returns a true value stops the fit after that epoch. With the stochastic
solvers a callback may set the weights (in place, or as new lists of the
same shapes) and training goes on from them; L-BFGS undoes such a change
(see BaseMultilayerPerceptron._run_callbacks).
"""


def as_callback_list(callbacks):
    """The parameter as a list of callables; a clear error for anything else."""
    if callbacks is None:
        return []
    if callable(callbacks):
        return [callbacks]
    for position, callback in enumerate(callbacks):
        if not callable(callback):
            raise ValueError(
                f"callbacks[{position}] is not callable: {callback!r}. Each "
                "callback is called as callback(estimator) after every epoch."
            )
    return list(callbacks)


def stop_requested(callbacks, estimator):
    """Call every callback (all of them, so loggers still log); True to stop."""
    stop = False
    for callback in callbacks:
        if callback(estimator):
            stop = True
    return stop
