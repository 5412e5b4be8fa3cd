# SPDX-License-Identifier: BSD-3-Clause
"""MLPClassifier and MLPRegressor: scikit-learn's API over fastmlp's kernels."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_array, column_or_1d, validate_data

from ._base import BaseMultilayerPerceptron, _check_fitted
from ._class_weight import class_sample_weight
from ._compat import StrOptions, _check_partial_fit_first_call, _fit_context
from ._scores import unchecked_accuracy, unchecked_r2

_COMMON_PARAMETERS = """
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        Width of each hidden layer: the ith element is the number of units
        of the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu', 'leaky_relu', \
            'elu', 'softplus'}, default='relu'
        Activation of every hidden layer: ``f(x) = x``, ``1 / (1 + exp(-x))``,
        ``tanh(x)`` or ``max(0, x)`` as in scikit-learn; and, beyond it,
        'leaky_relu' (``x`` if ``x > 0`` else ``0.01 x``), 'elu' (``x`` if
        ``x > 0`` else ``exp(x) - 1``) and 'softplus' (``log(1 + exp(x))``),
        initialised like 'relu' (Glorot uniform, factor 6).

        .. versionadded:: 0.1
           'leaky_relu', 'elu' and 'softplus'.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimizer: SciPy's L-BFGS-B on the full batch, mini-batch
        stochastic gradient descent, or Adam (Kingma and Ba). Adam suits
        larger data sets; L-BFGS often converges faster on small ones.

    alpha : float, default=0.0001
        Strength of the L2 penalty, divided by the (weighted) batch size.

    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' means
        ``min(200, n_samples)``. Ignored by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Step-size schedule of 'sgd': constant; ``learning_rate_init / (t + 1) **
        power_t`` after t samples; or divided by 5 whenever the loss (or
        validation score) stops improving for ``n_iter_no_change`` epochs.

    learning_rate_init : float, default=0.001
        Initial step size of 'sgd' and 'adam'.

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or of iterations
        ('lbfgs').

    shuffle : bool, default=True
        Reshuffle the samples before each epoch (stochastic solvers).

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, the early-stopping split and the
        shuffles. The same value gives the same model as scikit-learn's.

    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress; for 'lbfgs',
        the gradient tolerance.

    verbose : bool, default=False
        Print the loss after each epoch.

    warm_start : bool, default=False
        Continue from the previous fit's weights instead of re-initialising.

    momentum : float, default=0.9
        Momentum of 'sgd', in [0, 1].

    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum ('sgd' with momentum > 0).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when
        its score stops improving; the best weights are kept. When ``fit``
        gets ``X_val`` and ``y_val``, those are scored instead and every
        row of X trains. 'lbfgs' ignores it.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping; ignored
        when ``fit`` gets ``X_val``.

    beta_1 : float, default=0.9
        Decay of Adam's first-moment estimate, in [0, 1).

    beta_2 : float, default=0.999
        Decay of Adam's second-moment estimate, in [0, 1).

    epsilon : float, default=1e-8
        Adam's numerical-stability term.

    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement before stopping (stochastic solvers).

    max_fun : int, default=15000
        Maximum number of loss evaluations of 'lbfgs'.

    callbacks : callable or list of callables, default=None
        Not in scikit-learn's MLP; the default keeps its behaviour. Each is
        called as ``callback(estimator)`` after every epoch of 'sgd' and
        'adam' and every iteration of 'lbfgs', once ``n_iter_``, ``loss_``,
        ``loss_curve_``, ``validation_scores_`` and
        ``validation_loss_curve_`` describe it; ``coefs_``
        and ``intercepts_`` are then the weights being trained (copy them
        to keep them). A callback that returns a true value stops the fit
        there, without a convergence warning; with early stopping the best
        weights are still restored. With 'sgd' and 'adam' a callback may
        set the weights (writing into those arrays, or assigning new lists
        of the same shapes) and training goes on from them; 'lbfgs' undoes
        such a change and warns. Callbacks are copied by ``clone`` like
        any other parameter, and pickling a fitted estimator pickles them.

        .. versionadded:: 0.1

    dropout : float in [0, 1), default=0.0
        Not in scikit-learn's MLP; 0 keeps its behaviour. The probability
        with which each hidden unit's output is set to zero for one sample
        in one epoch of 'sgd' or 'adam' (inverted dropout: kept outputs are
        multiplied by ``1 / (1 - dropout)``, so prediction, which drops
        nothing, needs no rescaling). Every hidden layer is dropped; the
        input and output layers never are. ``loss_curve_`` reports the
        training loss with dropout applied, validation scores without.
        The masks are a hash of a seed derived from ``random_state`` (no
        number is drawn from it, so the initial weights and shuffles are
        those of the same fit without dropout), the epoch, the sample and
        the unit: the same ``random_state`` gives the same fit. 'lbfgs'
        refuses dropout, which would change its objective between line
        search steps.

        .. versionadded:: 0.1
"""

_COMMON_ATTRIBUTES = """
    loss_ : float
        Loss at the end of training (penalty included).

    best_loss_ : float or None
        Lowest training loss reached (stochastic solvers); None with early
        stopping.

    loss_curve_ : list of float
        Loss after each epoch (stochastic solvers).

    validation_scores_ : list of float or None
        Score (accuracy or R^2, weighted by ``sample_weight_val``, or by
        ``sample_weight`` for held-out rows) of the validation rows after
        each epoch: the held-out share under early stopping, or ``fit``'s
        ``X_val``, with or without early stopping (for 'lbfgs', after each
        iteration of the last fit, and only with ``X_val``). None without
        validation rows. A warm start continues it as ``loss_curve_``, with
        NaN for epochs that had no validation rows.

    validation_loss_curve_ : list of float or None
        Not in scikit-learn's MLP. Loss of the validation rows after each
        epoch (after each iteration for 'lbfgs'), of the same length as
        ``validation_scores_``, and None when that is None. Defined as
        ``loss_curve_``'s loss, so the two curves are comparable: the
        weighted mean over the validation rows of the same loss, plus the
        same L2 penalty ``alpha / 2 * ||W||^2 * s``, where ``s`` is the
        normaliser ``loss_curve_`` gave the penalty in that epoch (each
        batch reports its penalty over its own weight sum; the epoch
        averages its batches by rows: ``n_batches / n_train`` without
        sample weights, about ``1 / batch_size``). For 'lbfgs' ``s`` is
        ``1 / n_samples`` (or one over the sum of the training weights),
        as in ``loss_``. ``W`` is every coef matrix at the end of the epoch.

        .. versionadded:: 0.1

    best_validation_score_ : float or None
        Best validation score, with early stopping, whose weights are
        kept; else None. Scores recorded without early stopping leave it
        None: the weights kept are the last epoch's, whatever their score
        (``max(validation_scores_)`` is the best one).

    t_ : int
        Number of training samples seen by the stochastic solvers.

    coefs_ : list of ndarray of shape (n_fan_in, n_fan_out)
        Weight matrix of each layer, in the input's floating dtype.

    intercepts_ : list of ndarray of shape (n_fan_out,)
        Bias vector of each layer.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X had string column names.

    n_iter_ : int
        Number of epochs (or L-BFGS iterations) run by the last fit.

    n_layers_ : int
        Number of layers, input and output included.

    n_outputs_ : int
        Number of output units.

    out_activation_ : str
        Name of the output activation.
"""


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer perceptron classifier: scikit-learn's, with C kernels.

    Minimises the log-loss with L-BFGS, SGD or Adam. Parameters, defaults,
    fitted attributes and results for a given ``random_state`` are those of
    :class:`sklearn.neural_network.MLPClassifier`; each training epoch runs
    in one compiled call.

    Parameters
    ----------"""
        + _COMMON_PARAMETERS
        + """
    class_weight : dict, 'balanced' or None, default=None
        Not in scikit-learn's MLPClassifier; the default keeps its behaviour.
        Weights ``{class_label: weight}`` scale each sample's loss term by
        its class's weight (classes left out weigh 1), on top of
        ``sample_weight``: exactly as if ``sample_weight`` were multiplied
        by the weight of each sample's class. 'balanced' weighs class k by
        ``n_samples / (n_classes * count_k)`` over the data given to
        ``fit`` (refused by ``partial_fit``, which sees part of the data).
        Early stopping scores the validation rows with ``sample_weight``
        (or ``sample_weight_val``) only. Not available for multilabel targets.

        .. versionadded:: 0.1

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels."""
        + _COMMON_ATTRIBUTES
        + """
    See Also
    --------
    MLPRegressor : The regression counterpart.
    sklearn.neural_network.MLPClassifier : The reference implementation.

    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(solver="lbfgs", random_state=0).fit(X, y)
    >>> clf.predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _score_function = staticmethod(accuracy_score)
    _unchecked_score = staticmethod(unchecked_accuracy)

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
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        callbacks=None,
        dropout=0.0,
        class_weight=None,
    ):
        self.class_weight = class_weight
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            callbacks=callbacks,
            dropout=dropout,
        )

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    def _training_weight(self, Y, sample_weight, dtype, incremental):
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError(
                "class_weight is not supported for multilabel targets; "
                "use sample_weight instead."
            )
        # The binarizer's columns follow classes_; a binary target is one
        # column, set for classes_[1].
        class_index = Y.argmax(axis=1) if Y.shape[1] > 1 else Y[:, 0].astype(np.intp)
        weight = class_sample_weight(
            self.class_weight, self.classes_, class_index, incremental, dtype
        )
        if sample_weight is not None:
            weight *= sample_weight
        if not weight.any():
            raise ValueError(
                "class_weight (times sample_weight) gives every sample a zero "
                "weight: there is no loss to minimise."
            )
        return weight

    def _validate_input(self, X, y, incremental, reset):
        if (
            incremental
            and not reset
            and not self.warm_start
            and self._is_plain_continuation(X, y, "biufU")
            and (Y := self._known_label_indicator(y)) is not None
        ):
            return X, Y
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        elif self.warm_start:
            classes = unique_labels(y)
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same "
                    "classes as in the previous call to fit. Previously "
                    f"got {self.classes_}, `y` has {classes}"
                )
        Y = self._known_label_indicator(y)
        if Y is not None:
            return X, Y
        if incremental and not self.warm_start:
            # Known labels would have had their indicator: name the others.
            classes = unique_labels(y)
            if np.setdiff1d(classes, self.classes_, assume_unique=True).size:
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        # bool, as scikit-learn keeps it: the stratified split reads it.
        return X, self._label_binarizer.transform(y).astype(bool)

    def _known_label_indicator(self, y):
        """The bool label indicator of 1-D `y`, or None to take the long way.

        The binarizer's checks and transform cost about 1 ms a call, more than
        a partial_fit epoch on a few rows. Labels that all are among classes_
        of a binary or multiclass fit get the same indicator from a sorted
        search; anything else (None) goes through the binarizer, and its
        errors.
        """
        classes = self.classes_
        if (
            y.ndim != 1
            or self._label_binarizer.y_type_ not in ("binary", "multiclass")
            or len(classes) < 2
        ):
            return None
        try:
            index = np.searchsorted(classes, y)
            found = index < len(classes)
            found[found] = classes[index[found]] == y[found]
        except TypeError:  # labels that do not compare with the classes
            return None
        if not found.all():
            return None
        if len(classes) == 2:
            return (index == 1).reshape(-1, 1)
        Y = np.zeros((len(y), len(classes)), dtype=bool)
        Y[np.arange(len(y)), index] = True
        return Y

    def _validation_targets(self, Y_val):
        return self._label_binarizer.inverse_transform(Y_val)

    def _validation_targets_of(self, y_val):
        y_val = check_array(
            y_val,
            accept_sparse="csr",
            ensure_2d=False,
            dtype=None,
            input_name="y_val",
            estimator=self,
        )
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        binarizer = self._label_binarizer
        if binarizer.y_type_ == "multilabel-indicator":
            n_classes = len(self.classes_)
            if (
                type_of_target(y_val, input_name="y_val") != "multilabel-indicator"
                or y_val.shape[1] != n_classes
            ):
                raise ValueError(
                    f"y_val must be a label-indicator matrix with {n_classes} "
                    f"columns, as y was; got shape {y_val.shape}."
                )
        elif y_val.ndim != 1:
            raise ValueError(
                f"y_val must hold one label per sample, as y did; got shape "
                f"{y_val.shape}."
            )
        else:
            known = set(self.classes_.tolist())
            unseen = [c for c in unique_labels(y_val).tolist() if c not in known]
            if unseen:
                raise ValueError(
                    f"y_val has labels not seen in y: {unseen}. The classes "
                    f"are {self.classes_.tolist()}."
                )
        # As the held-out rows of early stopping: binarized, and scored as
        # labels decoded from that.
        Y_val = binarizer.transform(y_val).astype(bool)
        return self._validation_targets(Y_val), Y_val

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Run one epoch over X and y (stochastic solvers only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,)
            Target labels.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data set. Required on the first call,
            ignored afterwards; y may hold only some of them.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Predicted labels (an indicator matrix for multilabel models).
        """
        _check_fitted(self)
        return self._predict(X)

    def _decode_output(self, y_pred):
        # The two common cases decoded directly, as LabelBinarizer would
        # (argmax; threshold 0.5), at a fraction of its per-call cost.
        binarizer = self._label_binarizer
        if binarizer.y_type_ == "multiclass":
            return self.classes_.take(y_pred.argmax(axis=1))
        if binarizer.y_type_ == "binary" and len(self.classes_) == 2:
            return self.classes_.take((y_pred[:, 0] > 0.5).astype(np.intp))
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return binarizer.inverse_transform(y_pred)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class, in the order of ``classes_``.
        """
        _check_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            return np.column_stack([1 - y_pred[:, 0], y_pred[:, 0]])
        return y_pred

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = (
        """Multi-layer perceptron regressor: scikit-learn's, with C kernels.

    Minimises the half squared error (or the half Poisson deviance) with
    L-BFGS, SGD or Adam. Parameters, defaults, fitted attributes and results
    for a given ``random_state`` are those of
    :class:`sklearn.neural_network.MLPRegressor`.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        'squared_error' uses an identity output; 'poisson' an exponential
        output with the half Poisson deviance (targets must be >= 0).
"""
        + _COMMON_PARAMETERS
        + """
    Attributes
    ----------"""
        + _COMMON_ATTRIBUTES
        + """
    See Also
    --------
    MLPClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : The reference implementation.

    Notes
    -----
    With several outputs and the squared error, the gradient is that of the
    reported loss (mean over outputs); scikit-learn's is ``n_outputs`` times
    larger (scikit-learn issue #8349), so multi-output fits differ.

    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, random_state=1)
    >>> reg = MLPRegressor(solver="lbfgs", random_state=1).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """
    )

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }
    _score_function = staticmethod(r2_score)
    _unchecked_score = staticmethod(unchecked_r2)

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
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        callbacks=None,
        dropout=0.0,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            callbacks=callbacks,
            dropout=dropout,
        )

    def _output_activation(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X, y, incremental, reset):
        if reset or not self._is_plain_continuation(X, y, "biuf"):
            X, y = validate_data(
                self,
                X,
                y,
                accept_sparse=["csr", "csc"],
                multi_output=True,
                y_numeric=True,
                dtype=(np.float64, np.float32),
                reset=reset,
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "Some value(s) of y are negative which is not allowed for "
                "loss='poisson'."
            )
        return X, y

    def _validation_targets(self, Y_val):
        return Y_val

    def _validation_targets_of(self, y_val):
        y_val = check_array(
            y_val,
            ensure_2d=False,
            dtype="numeric",
            input_name="y_val",
            estimator=self,
        )
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            y_val = column_or_1d(y_val, warn=True)
        n_outputs = 1 if y_val.ndim == 1 else y_val.shape[1]
        if y_val.ndim > 2 or n_outputs != self.n_outputs_:
            raise ValueError(
                f"y_val has {n_outputs} outputs, but y has {self.n_outputs_}."
            )
        if self.loss == "poisson" and np.any(y_val < 0):
            raise ValueError(
                "Some value(s) of y_val are negative which is not allowed for "
                "loss='poisson'."
            )
        return y_val, y_val.reshape(y_val.shape[0], n_outputs)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch over X and y (stochastic solvers only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict target values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        _check_fitted(self)
        return self._predict(X)

    def _decode_output(self, y_pred):
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred
