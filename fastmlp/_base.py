# SPDX-License-Identifier: BSD-3-Clause
"""The training loop shared by MLPClassifier and MLPRegressor.

Python validates the input, draws every random number in scikit-learn's
order (weight initialisation, validation split, per-epoch shuffle) and runs
the between-epoch bookkeeping: loss curve, learning-rate schedule, early
stopping, warnings. Each epoch itself is one call into C (`Engine`). The
fitted weights' flat buffer and prediction from it are in _fitted_network.py.
"""

import operator
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    check_non_negative,
    validate_data,
)

from ._callbacks import as_callback_list, stop_requested
from ._codes import HIDDEN_ACTIVATIONS
from ._compat import (
    Interval,
    Options,
    StrOptions,
    _check_optimize_result,
    _check_sample_weight,
    _fit_context,
)
from ._dropout import dropout_seed, epoch_key
from ._engine import Engine, kernel_inputs, n_samples_of
from ._fitted_network import FittedNetworkMixin
from ._layout import layer_units_of
from ._optimizers import AdamOptimizer, SGDOptimizer
from ._random import OrderShuffler, fit_random_state
from ._threads import blas_single_threaded, effective_n_threads
from ._validation import (
    ValidationRows,
    check_n_rows,
    check_pairing,
    l2_penalty,
    mean_loss,
    penalty_scale,
)

_STOCHASTIC_SOLVERS = ("sgd", "adam")


_NONFINITE_MESSAGE = (
    "Solver produced non-finite parameter weights. The input data may contain "
    "large values and need to be preprocessed."
)


def _warn_adam_overflow(vs):
    """Warn that squared gradients overflowed Adam's second moments.

    A weight whose squared gradient exceeds the dtype's range gets an
    infinite second moment, hence a zero step from then on: it stops
    training with no NaN anywhere to show it. float32 gets there from
    gradients of about 1.8e19, which unscaled inputs of 1e10 can produce;
    scikit-learn's MLPRegressor computes these moments in float64 (its y
    stays float64), so on such data it trains on where fastmlp would stall.
    """
    n_stuck = np.count_nonzero(np.isinf(vs))
    advice = "Scale the input and the targets" + (
        ", or fit float64 data." if vs.dtype == np.float32 else "."
    )
    warnings.warn(
        f"Adam's running average of squared gradients overflowed {vs.dtype} "
        f"for {n_stuck} of {vs.size} weights, which stop training from there: "
        f"their gradients exceed {np.sqrt(np.finfo(vs.dtype).max):.2g}. {advice}",
        ConvergenceWarning,
    )


def _check_epsilon_in_dtype(solver, epsilon, dtype):
    """Refuse an Adam epsilon that the training dtype rounds to 0.

    The parameter check refuses epsilon=0, but a positive float below half
    float32's smallest subnormal is 0 in float32 all the same, and Adam's
    step m / (sqrt(v) + epsilon) is then 0 / 0 for every weight whose
    gradients have all been 0 (say, the weights of a feature that is
    always 0): NaN weights, reported as non-finite weights that blame the
    data.
    """
    if solver == "adam" and dtype.type(epsilon) == 0:
        raise ValueError(
            f"epsilon={epsilon!r} is 0 in {dtype} (its smallest positive "
            f"value is {np.finfo(dtype).smallest_subnormal:.2g}), and Adam "
            "would then divide 0 by 0 for every weight whose gradient is 0. "
            "Use a larger epsilon, or train in float64 (fit float64 data)."
        )


def _check_fitted(estimator):
    # check_is_fitted scans every attribute (~15 us); a fitted MLP always
    # has coefs_, so only an unfitted one pays for the full check and its
    # standard NotFittedError.
    if not hasattr(estimator, "coefs_"):
        check_is_fitted(estimator)


class _StopFit(Exception):
    """A callback asked L-BFGS to stop (raised through SciPy's loop)."""


class BaseMultilayerPerceptron(FittedNetworkMixin, BaseEstimator, ABC):
    """Shared fitting and prediction; use MLPClassifier or MLPRegressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(HIDDEN_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "callbacks": [callable, list, tuple, None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
        callbacks,
        dropout,
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
        self.loss = loss
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.callbacks = callbacks
        self.dropout = dropout

    # ------------------------------------------------------------------ state

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if not hasattr(sizes, "__iter__"):
            sizes = [sizes]
        sizes = list(sizes)
        # operator.index takes True as 1: a silent one-unit layer. (scikit-
        # learn's parameter check lets a bool through and then fails in NumPy
        # with "an integer is required".)
        if any(isinstance(s, (bool, np.bool_)) for s in sizes):
            raise TypeError(
                f"hidden_layer_sizes must hold integers, got {sizes} (a bool)."
            )
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [operator.index(s) for s in sizes]  # 5.5 is an error, as in sklearn

    def _layer_units(self):
        return layer_units_of(self.coefs_, self.intercepts_)

    def __getstate__(self):
        state = super().__getstate__()
        # coefs_ and intercepts_ already hold every value; the buffer is
        # rebuilt on load so they become its views again.
        state.pop("_fitted", None)
        state.pop("_seeded", None)  # a cache (fit_random_state)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if hasattr(self, "coefs_"):
            best_is_live = self._best_is_live()  # pickle keeps shared lists
            params, network = self._params_and_network()
            self._adopt_params(params, network.layout, network)
            if best_is_live:
                self._keep_best_live()

    def _initialize(self, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        coefs, intercepts = [], []
        for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
            # Glorot-uniform, drawn exactly as scikit-learn draws it: coef
            # then intercept for each layer, in float64, then cast.
            factor = 2.0 if self.activation == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coefs.append(
                self._random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(
                    dtype, copy=False
                )
            )
            intercepts.append(
                self._random_state.uniform(-bound, bound, fan_out).astype(
                    dtype, copy=False
                )
            )
        self.coefs_, self.intercepts_ = coefs, intercepts
        self._best_coefs = [c.copy() for c in coefs]
        self._best_intercepts = [b.copy() for b in intercepts]
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.validation_loss_curve_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.validation_loss_curve_ = None
                self.best_validation_score_ = None

    # --------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        """Fit the model to X and y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 input trains in float32.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels, or a label-indicator matrix for multilabel tasks
            (MLPClassifier); target values (MLPRegressor).

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; the loss is their weighted mean.

        X_val : {array-like, sparse matrix} of shape (n_val, n_features), \
                default=None
            Validation data; not in scikit-learn's MLP (the arguments follow
            its HistGradientBoosting). Checked once per fit, as predict
            checks X, and converted to the dtype of X. With
            ``early_stopping=True`` it replaces the held-out share: every row
            of X trains, ``validation_fraction`` is ignored, and early
            stopping scores X_val. With ``early_stopping=False`` training is
            unchanged (the same weights and ``n_iter_``), and
            ``validation_scores_`` and ``validation_loss_curve_`` record X_val
            after every epoch. 'lbfgs' records them after every iteration and
            never stops on them. In a :class:`~sklearn.pipeline.Pipeline`,
            ``transform_input=["X_val"]`` transforms X_val as X is (with
            metadata routing enabled and ``set_fit_request(X_val=True,
            y_val=True)``).

            .. versionadded:: 0.1

        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of X_val, as y: for MLPClassifier every label among the
            classes of y (a label-indicator matrix for multilabel tasks).
            Required with X_val.

            .. versionadded:: 0.1

        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the X_val rows in the validation score and loss
            (non-negative, not all zero). MLPClassifier's ``class_weight``
            does not apply to them.

            .. versionadded:: 0.1

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(
            X,
            y,
            sample_weight=sample_weight,
            incremental=False,
            X_val=X_val,
            y_val=y_val,
            sample_weight_val=sample_weight_val,
        )

    def _fit(
        self,
        X,
        y,
        sample_weight=None,
        incremental=False,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
        hidden = self._hidden_sizes()
        if self.dropout > 0 and self.solver not in _STOCHASTIC_SOLVERS:
            raise ValueError(
                f"dropout={self.dropout} needs solver='sgd' or 'adam'; "
                f"solver={self.solver!r} minimises one fixed full-batch loss, "
                "which a new mask per evaluation would change under its line search."
            )
        check_pairing(X_val, y_val, sample_weight_val)
        # Why this call's training loop ended early, if it did: "diverged",
        # "callback" or "interrupted" (fastmlp.dask reads it between blocks).
        self._stop_reason = None
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        X = X.astype(self._training_dtype(X.dtype, first_pass), copy=False)
        _check_epsilon_in_dtype(self.solver, self.epsilon, X.dtype)
        if sample_weight is not None:
            # Unlike scikit-learn's MLP, refuse negative weights: they make the
            # loss unbounded below.
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        # What the loss is weighted with; early stopping scores the
        # validation rows with `sample_weight` alone.
        train_weight = self._training_weight(Y, sample_weight, X.dtype, incremental)
        self.n_outputs_ = Y.shape[1]
        validation = None
        if X_val is not None:
            validation = self._validation_rows(X_val, y_val, sample_weight_val, X.dtype)
        layer_units = [X.shape[1], *hidden, self.n_outputs_]
        engine = self._prepare_engine(layer_units, X.dtype, first_pass)
        inputs = kernel_inputs(X, X.dtype)
        Y_float = np.ascontiguousarray(Y, dtype=X.dtype)
        with blas_single_threaded():
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(
                    X,
                    Y,
                    Y_float,
                    inputs,
                    train_weight,
                    sample_weight,
                    engine,
                    incremental,
                    validation,
                )
            else:
                self._fit_lbfgs(inputs, Y_float, train_weight, engine, validation)
        if not np.isfinite(self._current_params()).all():
            raise ValueError(_NONFINITE_MESSAGE)
        return self

    def _training_dtype(self, data_dtype, first_pass):
        """The dtype a fit computes in: the data's, or the fitted network's.

        Continuing a network (warm_start, partial_fit) keeps its dtype, as
        scikit-learn's coefs_ keep theirs; the new data are converted to it.
        """
        if first_pass:
            return np.dtype(data_dtype)
        return self._current_params().dtype

    def _prepare_engine(self, layer_units, dtype, first_pass):
        """Draw (or keep, on a warm start) the weights; the Engine training them.

        coefs_ and intercepts_ become views of the engine's flat buffer.
        """
        self._random_state, self._seeded = fit_random_state(
            self.random_state, getattr(self, "_seeded", None)
        )
        if first_pass:
            self._initialize(layer_units, dtype)
        else:
            self._check_continued_shapes(layer_units)
        best_is_live = self._best_is_live()
        engine = Engine(
            layer_units,
            self.activation,
            self.out_activation_,
            self.loss,
            dtype,
            self.coefs_,
            self.intercepts_,
            effective_n_threads(),
            dropout=self.dropout,
        )
        # The network is the shapes and codes for predict (validation scores,
        # callbacks, and after the fit), not the training workspaces.
        self._adopt_params(engine.params, engine.layout, self._new_network(layer_units))
        if best_is_live:
            self._keep_best_live()
        return engine

    def _check_continued_shapes(self, layer_units):
        """Refuse to continue the fitted network with other layer sizes.

        scikit-learn's stochastic solvers silently keep training the old
        shapes there, and its L-BFGS reads the old weights into the new ones.
        """
        fitted = self._layer_units()
        if layer_units[0] != fitted[0]:  # hand-set coefs_
            raise ValueError(
                f"X has {layer_units[0]} features, but coefs_[0] has {fitted[0]} rows."
            )
        if list(layer_units[1:-1]) != fitted[1:-1]:
            raise ValueError(
                f"hidden_layer_sizes={tuple(layer_units[1:-1])} differs from the "
                f"hidden layers of the fitted network, {tuple(fitted[1:-1])}. "
                "warm_start=True and partial_fit continue that network: restore "
                "hidden_layer_sizes, or set warm_start=False to fit a new one."
            )
        if layer_units[-1] != fitted[-1]:
            raise ValueError(
                f"y has {layer_units[-1]} output(s), but the fitted network has "
                f"{fitted[-1]}. warm_start=True and partial_fit continue that "
                "network: pass y with as many columns, or set warm_start=False "
                "to fit a new one."
            )

    def _make_optimizer(self, n_params, dtype):
        if self.solver == "sgd":
            return SGDOptimizer(
                n_params,
                dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return AdamOptimizer(
            n_params,
            dtype,
            self.learning_rate_init,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def _training_weight(self, Y, sample_weight, dtype, incremental):
        """The per-sample weights of the training loss (None: all ones)."""
        return sample_weight

    def _validation_rows(self, X_val, y_val, sample_weight_val, dtype):
        """fit's validation data, checked and converted once (`ValidationRows`).

        X_val is checked as predict checks X, then converted to the training
        dtype (`dtype`), the one the held-out rows of early stopping have.
        """
        X_checked = check_array(
            X_val,
            accept_sparse=["csr", "csc"],
            dtype=dtype,
            order="C",
            input_name="X_val",
            estimator=self,
        )
        if X_checked.shape[0] < 2:
            raise ValueError(
                f"X_val has {X_checked.shape[0]} sample; validation scores need "
                "at least 2, as the held-out share of early stopping does."
            )
        if X_checked.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X_val has {X_checked.shape[1]} features, but X has "
                f"{self.n_features_in_}."
            )
        # Feature names are read from the array as given.
        validate_data(self, X_val, reset=False, skip_check_array=True)
        if sp.issparse(X_checked):
            if X_checked.format != "csr":
                X_checked.check_format(full_check=True)  # before tocsr trusts it
            X_checked = X_checked.tocsr()
        y_score, Y_val = self._validation_targets_of(y_val)
        check_n_rows(X_checked, Y_val, sample_weight_val)
        if sample_weight_val is not None:
            try:
                sample_weight_val = _check_sample_weight(
                    sample_weight_val, X_checked, dtype=dtype
                )
            except ValueError as exc:  # its messages say "sample_weight"
                raise ValueError(f"Invalid sample_weight_val: {exc}") from exc
            check_non_negative(sample_weight_val, "`sample_weight_val`")
        return ValidationRows(
            X_checked,
            y_score,
            np.ascontiguousarray(Y_val, dtype=dtype),
            sample_weight_val,
        )

    def _fit_stochastic(
        self,
        X,
        Y,
        Y_float,
        inputs,
        sample_weight,
        score_weight,
        engine,
        incremental,
        validation,
    ):
        n_params, dtype = engine.layout.n_params, engine.dtype
        callbacks = as_callback_list(self.callbacks)
        optimizer = getattr(self, "_optimizer", None)
        if not incremental or optimizer is None or not optimizer.fits(n_params, dtype):
            self._optimizer = optimizer = self._make_optimizer(n_params, dtype)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")

        n_samples = X.shape[0]
        early_stopping = self.early_stopping
        train_idx = None
        if early_stopping and validation is None:
            # Splitting indices draws the same numbers as splitting X and y
            # and spares a copy of the training rows.
            stratify = Y if is_classifier(self) and self.n_outputs_ == 1 else None
            train_idx, val_idx = train_test_split(
                np.arange(n_samples),
                random_state=self._random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if val_idx.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            train_idx = train_idx.astype(np.intp)
            validation = ValidationRows(
                X[val_idx],
                self._validation_targets(Y[val_idx]),
                Y_float[val_idx],
                None if score_weight is None else score_weight[val_idx],
            )
            n_train = train_idx.shape[0]
        else:
            n_train = n_samples
        self._start_validation_curves(validation is not None)

        if self.batch_size == "auto":
            batch_size = min(200, n_train)
        else:
            if self.batch_size > n_train:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_train))

        sample_idx = np.arange(n_train, dtype=np.intp)
        # scikit-learn's `shuffle(sample_idx)` draws a permutation of
        # arange(n) and takes sample_idx[perm]. Shuffling sample_idx in place
        # makes the same swaps from the same draws, so gives the same order
        # without the arange and the copy. No other draw is made until the
        # epochs end.
        if not self.shuffle:
            max_shuffles = 0
        elif incremental:
            max_shuffles = 1
        else:
            max_shuffles = self.max_iter
        # Taken before the shuffles are drawn; peeks, draws nothing.
        drop_seed = dropout_seed(self._random_state) if self.dropout > 0 else None
        shuffler = OrderShuffler(self._random_state, sample_idx, max_shuffles)
        # Once per network: a partial_fit continuing one already reported
        # says nothing more.
        watch_adam_overflow = isinstance(optimizer, AdamOptimizer) and not np.isinf(
            optimizer.vs.max()
        )
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    shuffler.shuffle()
                if train_idx is not None:
                    order = train_idx[sample_idx] if self.shuffle else train_idx
                else:
                    order = sample_idx if self.shuffle else None
                loss_sum = engine.train_epoch(
                    inputs,
                    Y_float,
                    sample_weight,
                    order,
                    batch_size,
                    self.alpha,
                    optimizer,
                    drop_key=0 if drop_seed is None else epoch_key(drop_seed, self.t_),
                )
                self.n_iter_ += 1
                # np.float64, as scikit-learn's loss_ and loss_curve_ hold.
                self.loss_ = np.float64(loss_sum / n_train)
                self.t_ += n_train
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                diverged = not np.isfinite(self.loss_)
                # A max, not an isinf mask: no allocation, once per epoch.
                if watch_adam_overflow and np.isinf(optimizer.vs.max()):
                    watch_adam_overflow = False
                    _warn_adam_overflow(optimizer.vs)
                score = None
                if validation is not None:
                    scale = (
                        penalty_scale(sample_weight, order, batch_size, n_train)
                        if self.alpha > 0
                        else 0.0
                    )
                    score = self._record_validation(validation, engine, scale)
                elif self.validation_scores_ is not None:
                    self._record_no_validation()
                self._update_no_improvement_count(early_stopping, score)
                if diverged:
                    self._warn_diverged(early_stopping, engine.params)
                    self._stop_reason = "diverged"
                    break
                if callbacks and self._run_callbacks(callbacks, engine):
                    self._stop_reason = "callback"
                    break
                optimizer.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    if early_stopping:
                        msg = (
                            "Validation score did not improve more than "
                            "tol=%f for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    else:
                        msg = (
                            "Training loss did not improve more than tol=%f"
                            " for %d consecutive epochs."
                            % (self.tol, self.n_iter_no_change)
                        )
                    if optimizer.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        "Stochastic Optimizer: Maximum iterations (%d) "
                        "reached and the optimization hasn't converged yet."
                        % self.max_iter,
                        ConvergenceWarning,
                    )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
            self._stop_reason = "interrupted"
        finally:
            shuffler.restore()

        if early_stopping:
            params = engine.layout.pack(self._best_coefs, self._best_intercepts, dtype)
            self._adopt_params(params, engine.layout, self._fitted[2])
            self._keep_best_live()

    def _run_callbacks(self, callbacks, engine):
        """Call the callbacks; True to stop. Train on from weights they set.

        Writing into `coefs_` or `intercepts_` changes the weights being
        trained directly. New lists (a callback restoring weights it saved)
        are copied into the training buffer, and `coefs_`/`intercepts_`
        become its views again: training goes on from them, and the fit
        never ends with weights other than those it trained.
        """
        best_is_live = self._best_is_live()
        stop = stop_requested(callbacks, self)
        coefs, intercepts = self.coefs_, self.intercepts_
        if self._live_fit(coefs, intercepts) is None:
            layer_units = layer_units_of(coefs, intercepts)
            if layer_units != engine.layout.layer_units:
                raise ValueError(
                    f"A callback set coefs_ and intercepts_ of layer sizes "
                    f"{layer_units}; the network being trained has "
                    f"{engine.layout.layer_units}."
                )
            engine.layout.fill(engine.params, coefs, intercepts)
            self._adopt_params(engine.params, engine.layout, self._fitted[2])
            if best_is_live:
                self._keep_best_live()
        return stop

    def _keep_best_live(self):
        """Make the best-score snapshot the live weights, as scikit-learn's is.

        scikit-learn ends a fit with early stopping by `coefs_ = _best_coefs`
        (the same lists), and its optimizers then update those arrays in
        place. So in a later warm-start fit, until a new best score replaces
        the snapshot with copies, the "best" weights it restores are the
        current ones: a warm-start fit whose scores never beat the last
        fit's best ends with its last epoch's weights, not the last fit's.
        fastmlp moves the weights to a new buffer each fit, so it keeps the
        lists shared (and re-shares them after each move) to match.
        """
        self._best_coefs = self.coefs_
        self._best_intercepts = self.intercepts_

    def _best_is_live(self):
        """Whether the best-score snapshot is the live weights' own lists."""
        return (
            getattr(self, "_best_coefs", None) is self.coefs_
            and getattr(self, "_best_intercepts", None) is self.intercepts_
        )

    def _warn_diverged(self, early_stopping, params):
        weights_finite = np.isfinite(params).all()
        if not (early_stopping or weights_finite):
            return  # _fit raises about the non-finite weights right after
        kept = (
            "The weights of the best validation score are kept."
            if early_stopping
            else "The weights are those of the last epoch."
        )
        weights = "" if weights_finite else " and the weights are not finite"
        warnings.warn(
            f"Training diverged at epoch {self.n_iter_}: the training loss is "
            f"{self.loss_}{weights}. {kept} Lower learning_rate_init or scale "
            "the input.",
            ConvergenceWarning,
        )

    def _start_validation_curves(self, has_validation):
        """Align the validation curves with loss_curve_ for this fit's epochs.

        A warm-start fit or partial_fit continues the curves; an epoch of a
        fit without validation rows records NaN in curves that earlier fits
        started, and curves started now begin with NaN for earlier epochs.
        """
        n_before = len(self.loss_curve_)
        # getattr: scikit-learn's tests hand-set a model's state before
        # partial_fit, and models pickled before validation_loss_curve_
        # existed lack it.
        scores = getattr(self, "validation_scores_", None)
        losses = getattr(self, "validation_loss_curve_", None)
        if has_validation or scores is not None:
            if scores is None:
                scores = [np.nan] * n_before
            if losses is None:
                losses = [np.nan] * n_before
        self.validation_scores_ = scores
        self.validation_loss_curve_ = losses
        # What the stopping rule compares against, after a warm start that
        # switched early_stopping (scikit-learn fails there).
        if self.early_stopping:
            self.best_loss_ = None
            if getattr(self, "best_validation_score_", None) is None:
                self.best_validation_score_ = -np.inf
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            self.best_validation_score_ = None
            if getattr(self, "best_loss_", None) is None:
                self.best_loss_ = np.inf

    def _record_validation(self, validation, engine, scale):
        """Score and loss of the current weights on the validation rows.

        One forward pass gives both; they are appended to validation_scores_
        and validation_loss_curve_, and the score is returned.
        """
        out = self._forward_pass_fast(validation.X, check_input=False)
        loss = mean_loss(
            self.loss, self.out_activation_, validation.Y, out, validation.sample_weight
        )
        loss += l2_penalty(engine.params, engine.layout.n_coef, self.alpha, scale)
        score = self._score_output(out, validation.y, validation.sample_weight)
        self.validation_loss_curve_.append(loss)
        self.validation_scores_.append(score)
        if self.verbose:
            print("Validation score: %f" % score)
        return score

    def _record_no_validation(self):
        self.validation_scores_.append(np.nan)
        self.validation_loss_curve_.append(np.nan)

    def _update_no_improvement_count(self, early_stopping, score):
        if early_stopping:
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_coefs = [c.copy() for c in self.coefs_]
                self._best_intercepts = [b.copy() for b in self.intercepts_]
        else:
            loss = self.loss_curve_[-1]
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss

    def _fit_lbfgs(self, inputs, Y_float, sample_weight, engine, validation):
        n_evaluations = [0]
        last = {}  # the last evaluated point and its loss

        def loss_grad(x):
            n_evaluations[0] += 1
            loss, grad = engine.loss_and_grad(
                x, inputs, Y_float, sample_weight, self.alpha
            )
            if watched:
                last["x"], last["loss"] = x.copy(), loss
            return loss, grad

        callbacks = as_callback_list(self.callbacks)
        # One entry per iteration of this fit: L-BFGS keeps no loss_curve_
        # to continue, and ignores early_stopping, as scikit-learn's does.
        if validation is not None:
            self.validation_scores_ = []
            self.validation_loss_curve_ = []
            self.best_validation_score_ = None
            # loss_ charges the penalty once, over the total training weight.
            total_weight = (
                n_samples_of(inputs)
                if sample_weight is None
                else float(np.sum(sample_weight, dtype=np.float64))
            )
        else:
            if getattr(self, "validation_loss_curve_", None) is not None:
                # An earlier fit's curves describe other weights.
                self.validation_scores_ = self.best_validation_score_ = None
            self.validation_loss_curve_ = None
        watched = bool(callbacks) or validation is not None
        n_iterations = [0]

        def on_iteration(x):
            # L-BFGS-B calls this with each accepted iterate, which it has
            # (almost always) just evaluated; an evaluation leaves its point
            # in engine.params, so coefs_ show the iterate.
            n_iterations[0] += 1
            if not np.array_equal(last.get("x"), x):
                loss_grad(x)
            self.n_iter_ = n_iterations[0]
            self.loss_ = np.float64(last["loss"])
            if validation is not None:
                self._record_validation(validation, engine, 1.0 / total_weight)
            if not callbacks:
                return
            stop = self._run_callbacks(callbacks, engine)
            if not np.array_equal(engine.params, x.astype(engine.dtype, copy=False)):
                # L-BFGS-B continues from its own iterate, whatever is written
                # into the weights: show the iterate, and say so.
                engine.params[...] = x
                warnings.warn(
                    "A callback changed the weights; solver='lbfgs' continues "
                    "from its own iterate, so the change was undone. Change "
                    "weights from callbacks with solver='sgd' or 'adam'.",
                    UserWarning,
                )
            if stop:
                raise _StopFit

        x0 = engine.params.astype(np.float64)
        try:
            result = scipy.optimize.minimize(
                loss_grad,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=on_iteration if watched else None,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                },
            )
        except KeyboardInterrupt:
            # The buffer holds the last evaluated point: finite and usable.
            warnings.warn("Training interrupted by user.")
            self._stop_reason = "interrupted"
            self.n_iter_ = n_evaluations[0]
            self.loss_ = np.float64(np.nan)
            return
        except _StopFit:
            # on_iteration left the iterate, n_iter_ and loss_ in place.
            self._stop_reason = "callback"
            return
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = np.float64(result.fun)
        if not np.isfinite(self.loss_):
            self._report_lbfgs_non_finite(
                result, engine, inputs, Y_float, sample_weight
            )
        engine.params[...] = result.x

    def _report_lbfgs_non_finite(self, result, engine, inputs, Y_float, weights):
        """Say why L-BFGS ended on a non-finite loss, and report a true loss_.

        When a line search meets a NaN or infinite loss, L-BFGS-B gives up
        (ABNORMAL) and returns its last iterate, but the loss of the point
        that failed: loss_ would read NaN for finite weights that had
        trained for several iterations. Since fastmlp never upcasts, float32
        meets this at input scales float64 handles (1e14 for an identity
        network in the tests). So the returned weights' own loss is
        reported, and the user is told what happened.
        """
        tried = self.loss_
        loss, _ = engine.loss_and_grad(result.x, inputs, Y_float, weights, self.alpha)
        self.loss_ = np.float64(loss)
        advice = "Scale the input and the targets" + (
            ", or fit float64 data." if engine.dtype == np.float32 else "."
        )
        if np.isfinite(self.loss_):
            kept = "its last iterate" if self.n_iter_ else "those it started from"
            message = (
                f"L-BFGS stopped after {self.n_iter_} iteration(s): the "
                f"training loss was {tried} at a point its line search tried. "
                f"The weights are {kept}, whose training loss "
                f"({self.loss_:.6g}) loss_ reports. {advice}"
            )
        else:
            message = (
                f"L-BFGS could not train: the training loss is {self.loss_} "
                f"at the weights it started from, which are kept. {advice}"
            )
        warnings.warn(message, ConvergenceWarning)

    def _loss_grad_lbfgs(self, packed_coef_inter, X, y, *args):
        """Loss and flat gradient at `packed_coef_inter`, for L-BFGS and tests.

        `args` is ``sample_weight, *workspaces``, as scikit-learn >= 1.7
        passes them, or the four workspace lists alone, as scikit-learn 1.6
        does: its test_mlp.py calls this with its own signature. The
        workspaces are ignored: the engine owns its own.
        """
        is_old_signature = len(args) == 4 and all(isinstance(a, list) for a in args)
        sample_weight = args[0] if args and not is_old_signature else None
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            reset=False,
            dtype=(np.float64, np.float32),
        )
        Y = np.asarray(y).reshape(X.shape[0], -1)
        engine = Engine(
            self._layer_units(),
            self.activation,
            self.out_activation_,
            self.loss,
            X.dtype,
            self.coefs_,
            self.intercepts_,
            effective_n_threads(),
        )
        with blas_single_threaded():
            return engine.loss_and_grad(
                np.asarray(packed_coef_inter, dtype=np.float64),
                kernel_inputs(X, X.dtype),
                np.ascontiguousarray(Y, dtype=X.dtype),
                sample_weight,
                self.alpha,
            )

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    @abstractmethod
    def _output_activation(self):
        """Name of the output activation for the data seen by fit."""

    def _is_plain_continuation(self, X, y, y_kinds):
        """Whether validate_data(reset=False) would pass X and y on unchanged.

        It costs ~150 us, more than a partial_fit epoch on a few rows: plain
        float arrays of the fitted width, finite, with a 1-D `y` of a dtype
        kind in `y_kinds`, skip it. Anything else takes it, and its errors.
        As scikit-learn's own check does, a finite sum stands for finite
        values; a sum that overflows only sends X the long way.
        """
        if not (
            self._is_plain_input(X)
            and type(y) is np.ndarray
            and y.ndim == 1
            and y.dtype.kind in y_kinds
            and y.shape[0] == X.shape[0]
        ):
            return False
        with np.errstate(over="ignore", invalid="ignore"):
            return bool(
                np.isfinite(X.sum()) and (y.dtype.kind != "f" or np.isfinite(y.sum()))
            )

    @abstractmethod
    def _decode_output(self, out):
        """Predictions from the output activations."""

    @abstractmethod
    def _validation_targets_of(self, y_val):
        """(targets for the score, (n_rows, n_outputs) targets for the loss)."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
