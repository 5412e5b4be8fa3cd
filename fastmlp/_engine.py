# SPDX-License-Identifier: BSD-3-Clause
"""The training engine: one flat parameter buffer, workspaces, kernel calls.

An `Engine` lives for one `fit`/`partial_fit` call. It packs the estimator's
coefs and intercepts into one flat buffer (the estimator's `coefs_` and
`intercepts_` become views of it), allocates every workspace once, and runs
whole epochs, L-BFGS evaluations and predictions through the compiled
kernels. It knows nothing about labels, random numbers or early stopping:
the estimator decides those between epochs.
"""

import numpy as np
import scipy.sparse as sp

from ._codes import (
    ACTIVATION_CODES,
    LOSS_CODES,
    STATUS_INTERRUPTED,
    STATUS_ZERO_WEIGHT,
)
from ._compiled import epoch as _epoch
from ._compiled import epoch_dropout as _epoch_dropout
from ._compiled import kernels as _kernels
from ._dropout import drop_threshold
from ._layout import Layout

# Rows per prediction chunk are chosen so that one chunk's layer outputs take
# about this many bytes: small enough to stay in cache, large enough that each
# GEMM amortises packing its weights (with 256 KiB, 6% of a 60000-row
# predict_proba went to repacking).
_PREDICT_CHUNK_BYTES = 2 * 1024 * 1024
# L-BFGS evaluates the full batch in row ranges of about this many layer
# outputs, never fewer rows than _LBFGS_MIN_CHUNK, returning to Python (and
# Ctrl-C) between ranges.
_LBFGS_CHUNK_VALUES = 1 << 23
_LBFGS_MIN_CHUNK = 1024
# Within a range each thread takes chunks of rows whose layer outputs and
# deltas (this many values each) fit in a core's L2 cache.
_LBFGS_THREAD_CHUNK_VALUES = 16384
_LBFGS_GEMM_MIN_ROWS = 256
# Networks with up to this many parameters train each batch split by rows
# between threads (one parallel region per epoch) instead of splitting each
# product: their products are too small to split well.
_SPLIT_BATCH_MAX_PARAMS = 1 << 16
# Each thread sharing a batch of such a network gets at least this many
# multiply-adds of it; with too little for two, the epoch runs on one thread
# and opens no parallel region. Measured on 2 cores, 8 -> 100 -> 1, per
# epoch, 1 thread / 2 threads: batch 16 (15k MACs per thread) 6.7-7.7 /
# 6.0-16.7 ms, batch 32 (30k) 5.5-7.7 / 4.0-5.9 ms; and 8 -> 10 -> 1 at
# batch 200 (19k) 1.42-1.53 / 1.17-1.57 ms: no gain below ~30k.
_SPLIT_MIN_MACS = 32768
_PREDICT_FEW = {
    np.float32: _kernels.predict_few["float"],
    np.float64: _kernels.predict_few["double"],
}


def kernel_inputs(X, dtype):
    """(X_dense, data, indices, indptr) as the kernels take them.

    Dense X comes back C-contiguous in `dtype` with empty CSR arrays; sparse
    X as CSR arrays (indices as intp) with a (0, n_features) dense stand-in.
    """
    empty_idx = np.empty(0, dtype=np.intp)
    if sp.issparse(X):
        if X.format != "csr":  # scipy's tocsr() trusts indices: a bad one crashes
            X.check_format(full_check=True)
        X = X.tocsr()
        data = np.ascontiguousarray(X.data, dtype=dtype)
        indices = np.ascontiguousarray(X.indices, dtype=np.intp)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
        _check_csr(indices, indptr, X.shape)
        if data.shape[0] < indptr[-1]:
            raise ValueError("Sparse input has fewer data values than indices.")
        return np.empty((0, X.shape[1]), dtype=dtype), data, indices, indptr
    X = np.ascontiguousarray(X, dtype=dtype)
    return X, np.empty(0, dtype=dtype), empty_idx, empty_idx


def _check_csr(indices, indptr, shape):
    # The kernels index W with these: a corrupt matrix must fail here, in
    # Python, not as an out-of-bounds read without the GIL.
    n_rows, n_cols = shape
    if indptr.shape[0] != n_rows + 1 or indptr[0] != 0:
        raise ValueError("Sparse input has an invalid indptr array.")
    if np.any(np.diff(indptr) < 0) or indptr[-1] > indices.shape[0]:
        raise ValueError("Sparse input has an invalid indptr array.")
    used = indices[: indptr[-1]]
    if used.size and (used.min() < 0 or used.max() >= n_cols):
        raise ValueError(f"Sparse input has column indices outside [0, {n_cols}).")


def n_samples_of(inputs):
    X, _, _, indptr = inputs
    return indptr.shape[0] - 1 if indptr.shape[0] else X.shape[0]


class Network:
    """Shapes and codes of a network: what every kernel call needs."""

    def __init__(self, layer_units, activation, out_activation, loss):
        self.layout = Layout(layer_units)
        self.n_inputs = self.layout.layer_units[0]
        self.n_outputs = self.layout.layer_units[-1]
        self.hidden_code = ACTIVATION_CODES[activation]
        self.out_code = ACTIVATION_CODES[out_activation]
        # Prediction needs no loss; a hand-assembled model may pair any two.
        self.loss_code = LOSS_CODES.get((loss, out_activation), -1)
        # Built here, not on demand: single-row predict reads it on every call.
        self.shape = _kernels.NetworkShape(
            self.layout.units,
            self.layout.coef_off,
            self.layout.intercept_off,
            self.hidden_code,
            self.out_code,
        )

    def has_codes(self, activation, out_activation):
        return (
            self.hidden_code == ACTIVATION_CODES[activation]
            and self.out_code == ACTIVATION_CODES[out_activation]
        )

    def matches(self, layer_units, activation, out_activation):
        return self.layout.layer_units == list(layer_units) and self.has_codes(
            activation, out_activation
        )

    def predict_few(self, params, X):
        """predict() for a few dense C-contiguous rows in params' dtype.

        Returns None when X is not finite (nothing computed).
        """
        out = np.empty((X.shape[0], self.n_outputs), dtype=params.dtype)
        # The specialised function skips the fused-type dispatch (~1 us).
        kernel = _PREDICT_FEW[params.dtype.type]
        return out if kernel(self.shape, params, X, out) else None

    def predict(self, params, inputs, n_threads, check_finite=False):
        """Output activations (n_samples, n_outputs) in params' dtype.

        With `check_finite`, returns None when dense X is not finite.
        """
        layout = self.layout
        n_samples = n_samples_of(inputs)
        chunk = self._chunk_rows(params.itemsize, n_samples, n_threads)
        act_off, act_size = self._predict_offsets(chunk)
        # One chunk workspace per thread that can get a chunk of its own.
        n_used = max(1, min(n_threads, -(-n_samples // chunk)))
        acts = np.empty(n_used * act_size, dtype=params.dtype)
        out = np.empty((n_samples, layout.layer_units[-1]), dtype=params.dtype)
        finite = _kernels.predict(
            params,
            *inputs,
            out,
            acts,
            chunk,
            layout.units,
            layout.coef_off,
            layout.intercept_off,
            act_off,
            self.hidden_code,
            self.out_code,
            n_threads,
            check_finite,
        )
        return out if finite else None

    def _chunk_rows(self, itemsize, n_samples, n_threads):
        width = sum(self.layout.layer_units[1:])
        chunk = max(_PREDICT_CHUNK_BYTES // (itemsize * width), 64)
        n_samples = max(n_samples, 1)
        if n_threads > 1 and n_samples > chunk:
            # As many equal chunks as a multiple of the threads: 5 chunks of
            # 10000 rows on 2 threads left one thread 3 and the other 2.
            per_thread = -(-n_samples // (chunk * n_threads))
            chunk = max(-(-n_samples // (per_thread * n_threads)), 64)
        return int(min(chunk, n_samples))

    def _predict_offsets(self, chunk):
        # Single-row serving calls this with the same chunk every time.
        cache = self.__dict__.setdefault("_offsets", {})
        if chunk not in cache:
            cache[chunk] = self.layout.activation_offsets(chunk)
        return cache[chunk]


class Engine(Network):
    """Flat parameters plus training workspaces for one fit."""

    def __init__(
        self,
        layer_units,
        activation,
        out_activation,
        loss,
        dtype,
        coefs,
        intercepts,
        n_threads,
        dropout=0.0,
    ):
        super().__init__(layer_units, activation, out_activation, loss)
        self.dtype = np.dtype(dtype)
        self.n_threads = n_threads
        # A rate too small to drop any unit at 32-bit resolution is no
        # dropout at all, as in the NumPy baseline.
        self._drop_below = drop_threshold(dropout)
        self._drop_scale = 1.0 / (1.0 - dropout)
        self.params = self.layout.pack(coefs, intercepts, self.dtype)
        self.coefs, self.intercepts = self.layout.views(self.params)
        self.grads = np.zeros(self.layout.n_params, dtype=self.dtype)
        self._batch_size = None
        self._lb = None  # L-BFGS workspaces, allocated on first use

    def _allocate(self, batch_size, n_features, is_sparse):
        # loss_and_grad allocates no gather buffer; a dense epoch then needs one.
        if self._batch_size == batch_size and (is_sparse or self._batch_buffer.size):
            return
        layout = self.layout
        self._batch_size = batch_size
        self._epoch_threads, split = self._epoch_split(batch_size, is_sparse)
        n_threads = self._epoch_threads
        n_blocks = n_threads if split else 1
        self._act_off, size = layout.activation_offsets(batch_size)
        # Dropout keeps each hidden output's backprop factor in a twin block.
        copies = 2 if self._drop_below else 1
        self._acts = np.empty(copies * n_blocks * size, dtype=self.dtype)
        self._deltas = np.empty(n_blocks * size, dtype=self.dtype)
        self._batch_buffer = np.empty(
            0 if is_sparse else batch_size * n_features, dtype=self.dtype
        )
        self._row_loss = np.empty(n_blocks * batch_size, dtype=np.float64)
        self._scratch = np.empty(
            n_blocks * max(layout.layer_units) + 2 * n_threads, dtype=np.float64
        )
        self._thread_grads = np.empty(
            (n_threads - 1) * layout.n_params if split else 0, dtype=self.dtype
        )

    def _epoch_split(self, batch_size, is_sparse):
        """(threads, split) for the epochs of one batch size.

        A small dense network splits each batch by rows between threads,
        each with its own workspace block (see _epoch.train_epoch), as many
        threads as get _SPLIT_MIN_MACS of it; below two such shares it trains
        on one thread. Larger networks split each product instead.
        """
        layout = self.layout
        if is_sparse or layout.n_params > _SPLIT_BATCH_MAX_PARAMS:
            return self.n_threads, False
        units = layout.layer_units
        sizes = [a * b for a, b in zip(units[:-1], units[1:], strict=True)]
        # Forward, coef gradient and (above the first layer) delta products.
        macs_per_row = 3 * sum(sizes) - sizes[0]
        n_threads = min(self.n_threads, batch_size * macs_per_row // _SPLIT_MIN_MACS)
        if n_threads < 2:
            return 1, False
        return n_threads, True

    def train_epoch(
        self,
        inputs,
        Y,
        sample_weight,
        order,
        batch_size,
        alpha,
        optimizer,
        drop_key=0,
    ):
        """One epoch over `order` (None: natural order); returns the loss sum.

        With dropout, `drop_key` is the epoch's mask key (_dropout.epoch_key).

        Raises KeyboardInterrupt when Ctrl-C arrived during the epoch, and
        ValueError when a batch's sample weights sum to zero.
        """
        is_sparse = inputs[3].shape[0] > 0
        self._allocate(batch_size, self.layout.layer_units[0], is_sparse)
        layout = self.layout
        kw = optimizer.kernel_args()
        epoch = _epoch_dropout if self._drop_below else _epoch
        status, loss_sum, adam_t, last_lr = epoch.train_epoch(
            self.params,
            self.grads,
            optimizer.state1,
            optimizer.state2,
            *inputs,
            Y,
            _weights(sample_weight, self.dtype),
            np.empty(0, dtype=np.intp) if order is None else order,
            self._batch_buffer,
            self._acts,
            self._deltas,
            self._row_loss,
            self._scratch,
            self._thread_grads,
            layout.units,
            layout.coef_off,
            layout.intercept_off,
            self._act_off,
            self.hidden_code,
            self.out_code,
            self.loss_code,
            optimizer.code,
            batch_size,
            float(alpha),
            kw["learning_rate"],
            kw["momentum"],
            kw["nesterov"],
            kw["beta_1"],
            kw["beta_2"],
            kw["epsilon"],
            kw["adam_t"],
            self._epoch_threads,
            self._drop_below,
            drop_key,
            self._drop_scale,
        )
        optimizer.epoch_done(adam_t, last_lr)
        if status == STATUS_INTERRUPTED:
            raise KeyboardInterrupt
        if status == STATUS_ZERO_WEIGHT:
            raise ValueError(
                "The sample weights of a mini-batch sum to zero, so its mean "
                "loss is undefined. Give the zero-weight samples a small "
                "positive weight, drop them, or use a larger batch_size."
            )
        return loss_sum

    def loss_and_grad(self, packed, inputs, Y, sample_weight, alpha):
        """Penalised loss and its gradient at `packed` (L-BFGS's float64 x).

        Large data is evaluated in row ranges, combined by their weight
        sums: Ctrl-C gets through between ranges, as it does between batches
        of an epoch.
        """
        layout = self.layout
        n_samples = n_samples_of(inputs)
        chunk = max(
            _LBFGS_MIN_CHUNK, _LBFGS_CHUNK_VALUES // sum(layout.layer_units[1:])
        )
        chunk = min(chunk, n_samples)
        self._allocate_lbfgs()
        self.params[...] = packed
        weights = _weights(sample_weight, self.dtype)
        if chunk == n_samples:
            value = self._loss_and_grad_rows(inputs, Y, weights, 0, n_samples, alpha)
            return value, self.grads.astype(np.float64)
        total_weight = (
            n_samples
            if sample_weight is None
            else float(np.sum(weights, dtype=np.float64))
        )
        value, grad = 0.0, np.zeros(layout.n_params)
        for start in range(0, n_samples, chunk):
            stop = min(start + chunk, n_samples)
            share = (
                stop - start
                if sample_weight is None
                else float(np.sum(weights[start:stop], dtype=np.float64))
            ) / total_weight
            if share == 0:
                continue  # all-zero weights: no contribution (and no 0 / 0)
            value += share * self._loss_and_grad_rows(
                inputs, Y, weights, start, stop - start, 0.0
            )
            grad += share * self.grads
        return add_l2_penalty(
            value, grad, self.params, layout.n_coef, alpha, total_weight
        )

    def _allocate_lbfgs(self):
        """Per-thread workspaces of one cache-sized chunk of rows."""
        if self._lb is not None:
            return
        layout = self.layout
        n_threads = self.n_threads
        width = sum(layout.layer_units[1:])
        units = layout.layer_units
        # A layer computed by GEMM repacks its weights for every chunk; give
        # it enough rows to amortise that (10000 x 784 -> 256 -> 10: 61-row
        # chunks took 9 % longer than 256-row ones). Narrow layers, computed
        # by plain loops, prefer the smaller, cache-resident chunks.
        uses_gemm = any(
            fan_in > _kernels.NARROW_UNITS and fan_out > 1
            for fan_in, fan_out in zip(units[:-1], units[1:], strict=True)
        )
        chunk_rows = max(
            _LBFGS_THREAD_CHUNK_VALUES // width,
            _LBFGS_GEMM_MIN_ROWS if uses_gemm else 16,
        )
        act_off, act_size = layout.activation_offsets(chunk_rows)
        self._lb = {
            "chunk_rows": chunk_rows,
            "act_off": act_off,
            "acts": np.empty(n_threads * act_size, dtype=self.dtype),
            "deltas": np.empty(n_threads * act_size, dtype=self.dtype),
            "thread_grads": np.empty(
                (2 * n_threads - 1) * layout.n_params, dtype=self.dtype
            ),
            "row_loss": np.empty(n_threads * chunk_rows, dtype=np.float64),
            "scratch": np.empty(
                n_threads * (max(layout.layer_units) + 1), dtype=np.float64
            ),
        }

    def _loss_and_grad_rows(self, inputs, Y, weights, start, n_rows, alpha):
        layout = self.layout
        lb = self._lb
        return _kernels.loss_and_grad(
            self.params,
            self.grads,
            *inputs,
            Y,
            weights,
            start,
            n_rows,
            lb["chunk_rows"],
            lb["acts"],
            lb["deltas"],
            lb["thread_grads"],
            lb["row_loss"],
            lb["scratch"],
            layout.units,
            layout.coef_off,
            layout.intercept_off,
            lb["act_off"],
            self.hidden_code,
            self.out_code,
            self.loss_code,
            float(alpha),
            self.n_threads,
        )


def add_l2_penalty(value, grad, params, n_coef, alpha, total_weight):
    """(value, grad) of a loss summed by weight shares, plus the L2 penalty.

    The penalty alpha / 2 * ||W||^2 (W: the coefs, in params' dtype) is
    charged once over the total weight, as the full-batch loss charges it.
    grad (float64) is updated in place.
    """
    coefs = params[:n_coef].astype(np.float64)
    value += 0.5 * alpha * float(coefs @ coefs) / total_weight
    grad[:n_coef] += (alpha / total_weight) * coefs
    return value, grad


def _weights(sample_weight, dtype):
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    return np.ascontiguousarray(sample_weight, dtype=dtype)
