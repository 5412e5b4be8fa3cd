# SPDX-License-Identifier: BSD-3-Clause
"""Train one epoch of a dense network in one call that releases the GIL.

For each batch of the given sample order: gather the batch rows (dense X) or
point at them (CSR X), forward through every layer, finish the output layer
fused with its loss and first delta, backpropagate, and take one optimizer
step over the flat parameter buffer. Nothing is allocated per batch: every
workspace comes in from the engine, which allocates it once per fit. The
random order comes from Python (the same draws scikit-learn makes); this
module never draws a random number.

Between batches the GIL is taken briefly, every SIGNAL_CHECK_WORK
multiply-adds, to let Ctrl-C through; the epoch then stops with
STATUS_INTERRUPTED and the parameters as left by the last finished batch.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy

from _network cimport (
    Batch, Network, backward, batch_data_loss, batch_weight_sum, forward,
    init_network, output_loss_delta,
)
from _optimizers cimport SOLVER_ADAM, optimizer_step, sum_squares

cdef extern from "Python.h":
    int PyErr_CheckSignals()
    void PyErr_Clear()

cdef enum:
    STATUS_OK = 0
    STATUS_INTERRUPTED = 1
    # About a few milliseconds of arithmetic between two looks at Ctrl-C.
    SIGNAL_CHECK_WORK = 16777216


cdef int _interrupt_pending() noexcept with gil:
    # The Python-level handler has run when this returns non-zero; its
    # exception is dropped here and re-raised by the caller as a clean
    # KeyboardInterrupt once the kernel has returned.
    if PyErr_CheckSignals() != 0:
        PyErr_Clear()
        return 1
    return 0


cdef inline void _gather_rows(const floating *X, Py_ssize_t n_features,
                              const Py_ssize_t *rows, Py_ssize_t n_rows,
                              floating *out, int n_threads) noexcept nogil:
    cdef Py_ssize_t r
    if n_threads == 1 or n_rows * n_features <= 65536:
        for r in range(n_rows):
            memcpy(out + r * n_features, X + rows[r] * n_features,
                   n_features * sizeof(floating))
        return
    for r in prange(n_rows, schedule='static', num_threads=n_threads):
        memcpy(out + r * n_features, X + rows[r] * n_features,
               n_features * sizeof(floating))


def train_epoch(
    floating[::1] params,                  # INOUT flat parameters
    floating[::1] grads,                   # scratch, flat layout
    floating[::1] state1,                  # INOUT velocity (sgd) / first moment (adam)
    floating[::1] state2,                  # INOUT second moment (adam), else unused
    const floating[:, ::1] X,              # IN dense X, or shape (0, n) when sparse
    const floating[::1] X_data,            # IN CSR data of X (empty when dense)
    const Py_ssize_t[::1] X_indices,       # IN CSR column indices
    const Py_ssize_t[::1] X_indptr,        # IN CSR row pointers
    const floating[:, ::1] Y,              # IN targets (n_samples, n_outputs)
    const floating[::1] sample_weight,     # IN weights, or empty for none
    const Py_ssize_t[::1] sample_idx,      # IN rows to train on, in order; empty: all
    floating[::1] batch_buffer,            # scratch: batch_size * n_features
    floating[::1] acts,                    # scratch: layer outputs
    floating[::1] deltas,                  # scratch: layer deltas
    double[::1] row_loss,                  # scratch: batch_size
    double[::1] scratch,                   # scratch: widest layer + n_threads
    const Py_ssize_t[::1] units,
    const Py_ssize_t[::1] coef_off,
    const Py_ssize_t[::1] intercept_off,
    const Py_ssize_t[::1] act_off,
    int hidden_act, int out_act, int loss, int solver,
    Py_ssize_t batch_size, double alpha, double learning_rate,
    double momentum, bint nesterov, double beta_1, double beta_2,
    double epsilon, long adam_t, int n_threads,
):
    """Run one epoch; return (status, sum of batch_loss * batch_len, adam_t, lr).

    `lr` is the last step size used (adam's bias-corrected one).
    """
    cdef Network net
    cdef Batch batch
    cdef bint is_sparse = X_indptr.shape[0] > 0
    cdef bint has_order = sample_idx.shape[0] > 0
    cdef bint has_weight = sample_weight.shape[0] > 0
    # With an order, only the listed rows are trained on (early stopping
    # holds the others out); without one, every row of X in turn.
    cdef Py_ssize_t n_samples = sample_idx.shape[0] if has_order else (
        (X_indptr.shape[0] - 1) if is_sparse else X.shape[0])
    cdef Py_ssize_t n_features = units[0]
    cdef Py_ssize_t n_layers = units.shape[0] - 1
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_coef = intercept_off[0]
    cdef Py_ssize_t n_zero = (units[0] * units[1]) if is_sparse else 0
    cdef Py_ssize_t start, stop, widest = 0, i
    cdef Py_ssize_t work = 0, work_per_row = n_params
    cdef const floating *sw = &sample_weight[0] if has_weight else NULL
    cdef double *partials
    cdef double sw_sum, batch_loss, coef_sq, lr = learning_rate
    cdef double loss_total = 0
    cdef int status = STATUS_OK
    cdef floating eps = 1.1920928955078125e-07 if floating is float else 2.220446049250313e-16

    for i in range(n_layers + 1):
        widest = max(widest, units[i])
    partials = &scratch[widest]
    init_network(&net, n_layers, &units[0], &coef_off[0], &intercept_off[0],
                 &act_off[0], hidden_act, out_act, loss, n_threads)
    batch.csr_data = &X_data[0] if is_sparse and X_data.shape[0] > 0 else NULL
    batch.csr_indices = &X_indices[0] if is_sparse and X_indices.shape[0] > 0 else NULL
    batch.csr_indptr = &X_indptr[0] if is_sparse else NULL

    with nogil:
        coef_sq = sum_squares(&params[0], n_coef)
        start = 0
        while start < n_samples:
            stop = min(start + batch_size, n_samples)
            batch.n_rows = stop - start
            batch.row_start = start
            batch.rows = &sample_idx[start] if has_order else NULL
            if is_sparse:
                batch.dense = NULL
            elif has_order:
                _gather_rows(&X[0, 0], n_features, batch.rows, batch.n_rows,
                             &batch_buffer[0], n_threads)
                batch.dense = &batch_buffer[0]
            else:
                batch.dense = &X[start, 0]

            forward(&net, &params[0], &batch, &acts[0])
            sw_sum = batch_weight_sum(&batch, sw)
            batch_loss = batch_data_loss(
                &net,
                output_loss_delta(&net, &params[0], &batch, &Y[0, 0], sw, eps,
                                  &acts[0], &deltas[0], &row_loss[0]),
                sw_sum,
            ) + 0.5 * alpha * coef_sq / sw_sum
            backward(&net, &params[0], &batch, &acts[0], &deltas[0], &grads[0],
                     1.0 / sw_sum, &scratch[0])
            if solver == SOLVER_ADAM:
                adam_t += 1
                lr = learning_rate * (1 - beta_2 ** adam_t) ** 0.5 / (1 - beta_1 ** adam_t)
            coef_sq = optimizer_step(
                solver, &params[0], &grads[0], &state1[0], &state2[0], n_params,
                n_coef, n_zero, alpha / sw_sum, lr, momentum, nesterov, beta_1,
                beta_2, epsilon, partials, n_threads)
            loss_total += batch_loss * batch.n_rows
            start = stop

            work += batch.n_rows * work_per_row
            if work >= SIGNAL_CHECK_WORK:
                work = 0
                if _interrupt_pending():
                    status = STATUS_INTERRUPTED
                    break
    return status, loss_total, adam_t, lr
