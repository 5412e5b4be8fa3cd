# SPDX-License-Identifier: BSD-3-Clause
"""The fitted weights as one flat buffer, and prediction from it.

A fit leaves `coefs_` and `intercepts_` as views of one flat buffer, the
layout the kernels read; users (and pickling) may replace those lists, and
then the lists are the truth and are packed again. Prediction is one nogil
kernel call over that buffer: a short path for a few rows (serving), the
chunked threaded kernel for the rest, each refusing NaN and infinity where
scikit-learn's validation would.
"""

import operator
from itertools import chain

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.utils.validation import check_array, validate_data

from ._engine import Network, kernel_inputs, n_samples_of
from ._layout import Layout, layer_units_of
from ._threads import blas_single_threaded, effective_n_threads

# Predictions smaller than this (rows x parameters) run on one thread.
_PARALLEL_PREDICT_MACS = 1 << 20
# Inputs up to this many rows may take the light validation path.
_FAST_PATH_ROWS = 64
_FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _check_width(network, X):
    """Refuse X of another width than the network's input (hand-set coefs_)."""
    if X.shape[1] != network.n_inputs:
        raise ValueError(
            f"X has {X.shape[1]} features, but coefs_[0] has {network.n_inputs} rows."
        )


class FittedNetworkMixin:
    """The flat parameter buffer behind `coefs_`/`intercepts_`, and predict.

    Mixed into BaseMultilayerPerceptron, which provides `activation`,
    `out_activation_`, `loss`, `n_features_in_`, `_decode_output` and the
    scoring functions.
    """

    def _adopt_params(self, params, layout, network):
        """Make `params` the flat buffer behind `coefs_` and `intercepts_`.

        `network` holds the shapes and codes predict uses with it.
        """
        coefs, intercepts = layout.views(params)
        self.coefs_, self.intercepts_ = coefs, intercepts
        # The buffer, its views (in order: a list that was shortened,
        # reordered or given another array no longer matches them, and is
        # re-packed) and its network in ONE attribute: a predict in another
        # thread while a fit replaces them reads all three from one fit.
        # Read apart, one fit's buffer met another's network, and the
        # kernels refused it (they used to read past its end).
        self._fitted = (params, (*coefs, *intercepts), network)

    def _live_fit(self, coefs, intercepts):
        """(buffer, network) of the last fit while these lists are its views.

        None once the lists were replaced, shortened, reordered or given
        another array (users and pickling may do so): they are then the truth.
        """
        fitted = getattr(self, "_fitted", None)
        if fitted is None:
            return None
        params, views, network = fitted
        # C-level iteration: this check runs on every single-row predict.
        if len(coefs) + len(intercepts) == len(views) and all(
            map(operator.is_, chain(coefs, intercepts), views)
        ):
            return params, network
        return None

    @staticmethod
    def _pack(coefs, intercepts):
        """(fresh flat buffer holding the lists, layer widths)."""
        layer_units = layer_units_of(coefs, intercepts)  # refuses broken lists
        dtype = np.result_type(*coefs, *intercepts)
        if dtype not in (np.float32, np.float64):
            dtype = np.float64
        return Layout(layer_units).pack(coefs, intercepts, dtype), layer_units

    def _current_params(self):
        """The flat buffer behind `coefs_`/`intercepts_`, re-packed if needed."""
        coefs, intercepts = self.coefs_, self.intercepts_
        live = self._live_fit(coefs, intercepts)
        return live[0] if live is not None else self._pack(coefs, intercepts)[0]

    def _params_and_network(self):
        """`_current_params()` and the network to predict with it.

        The network has the current activations (they may be set after the
        fit, as in scikit-learn).
        """
        coefs, intercepts = self.coefs_, self.intercepts_
        live = self._live_fit(coefs, intercepts)
        if live is not None:
            params, network = live
            layer_units = network.layout.layer_units
        else:
            params, layer_units = self._pack(coefs, intercepts)
            network = getattr(self, "_fitted", (None, None, None))[2]
            if network is None or network.layout.layer_units != layer_units:
                return params, self._new_network(layer_units)
        if network.has_codes(self.activation, self.out_activation_):
            return params, network
        return params, self._new_network(layer_units)

    def _new_network(self, layer_units):
        return Network(layer_units, self.activation, self.out_activation_, self.loss)

    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer activations for X (one nogil kernel call)."""
        params, network = self._params_and_network()
        if check_input and self._is_serving_input(X, params.dtype):
            return self._predict_few(network, params, X)
        # Dense X is checked for NaN and infinity by the kernel's threads,
        # chunk by chunk as they read it; sparse X's stored values here.
        check_finite = False
        if check_input and self._is_plain_input(X):
            check_finite = True
        elif check_input:
            check_finite = not sp.issparse(X)
            X = validate_data(
                self,
                X,
                accept_sparse=["csr", "csc"],
                reset=False,
                ensure_all_finite=not check_finite,
            )
        dtype = (
            np.float32
            if params.dtype == np.float32 and getattr(X, "dtype", None) == np.float32
            else np.float64
        )
        if params.dtype != dtype:
            params = params.astype(dtype)
        if (
            type(X) is np.ndarray
            and X.shape[0] <= _FAST_PATH_ROWS
            and X.dtype == dtype
            and X.flags.c_contiguous
        ):
            return self._predict_few(network, params, X)
        _check_width(network, X)
        inputs = kernel_inputs(X, dtype)
        out = self._predict_rows(network, params, inputs, check_finite)
        if out is None:
            self._refuse_not_finite(X)
            out = self._predict_rows(network, params, inputs, False)
        return out

    def _predict_rows(self, network, params, inputs, check_finite):
        """Output activations on the threads the input's size calls for."""
        n_threads = effective_n_threads()
        if (
            n_threads == 1
            or n_samples_of(inputs) * params.shape[0] < _PARALLEL_PREDICT_MACS
        ):
            # Too small to share: one thread, no BLAS limit to enter.
            return network.predict(params, inputs, 1, check_finite)
        with blas_single_threaded():
            return network.predict(params, inputs, n_threads, check_finite)

    def _predict_few(self, network, params, X):
        """Output activations of a few dense C-ordered rows in params' dtype."""
        _check_width(network, X)
        out = network.predict_few(params, X)
        if out is None:
            self._refuse_not_finite(X)
            out = self._predict_rows(network, params, kernel_inputs(X, X.dtype), False)
        return out

    def _refuse_not_finite(self, X):
        """Raise scikit-learn's own error for the NaN or infinity a kernel found.

        Returns under `sklearn.set_config(assume_finite=True)`, where
        scikit-learn skips the check and computes: the caller then does the
        same (rows holding NaN come out NaN, as scikit-learn's do). The
        kernels' check costs nothing, so the setting is read only here.
        """
        check_array(X, dtype=None, estimator=self, input_name="X")
        if not get_config()["assume_finite"]:
            # Unreachable unless NumPy and the kernel disagree on finiteness.
            raise ValueError("Input X contains NaN or infinity.")

    def _is_serving_input(self, X, dtype):
        # The serving case, a few rows of float input in the network's dtype,
        # takes the shortest path: ~3.2 us a call on 8 -> 100 -> 1 instead of
        # 3.8 us through the general checks below. _is_plain_input's tests are
        # written out here: calling it costs ~0.15 us of those 3.2.
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and 0 < X.shape[0] <= _FAST_PATH_ROWS
            and X.dtype == dtype
            and X.flags.c_contiguous
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        )

    def _is_plain_input(self, X):
        # A float array of the fitted width skips the general validation,
        # which costs ~70-100 us: more than the network on a few rows, and
        # as much as 1000 rows of a small one. The kernels check finiteness
        # themselves. Anything else takes the general path and its errors.
        return (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and X.dtype in _FLOAT_DTYPES
            and not hasattr(self, "feature_names_in_")
        )

    def _predict(self, X, check_input=True):
        return self._decode_output(self._forward_pass_fast(X, check_input=check_input))

    def _score_output(self, out, y, sample_weight):
        """Accuracy or R^2 of output activations `out` (from _forward_pass_fast)."""
        y_pred = self._decode_output(out)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        score = self._unchecked_score(y, y_pred, sample_weight)
        if score is None:
            score = self._score_function(y, y_pred, sample_weight=sample_weight)
        return score
