# SPDX-License-Identifier: BSD-3-Clause
"""Train one epoch of a dense network in one call that releases the GIL.

For each batch of the given sample order: gather the batch rows (dense X) or
point at them (CSR X), forward through every layer, finish the output layer
fused with its loss and first delta, backpropagate, and take one optimizer
step over the flat parameter buffer. Nothing is allocated per batch: every
workspace comes in from the engine, which allocates it once per fit. The
random order comes from Python (the same draws scikit-learn makes); this
module never draws a random number.

Threads: a large network splits each product of a batch between threads
(src_c/_network.pxd); a small one (the engine decides, by parameter count)
splits the batch itself by rows, each thread running the whole forward and
backward pass on its rows, and the per-thread gradients are added in thread
order before the optimizer step.

Between batches the GIL is taken briefly, every SIGNAL_CHECK_WORK
multiply-adds, to let Ctrl-C through; the epoch then stops with
STATUS_INTERRUPTED and the parameters as left by the last finished batch.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.string cimport memcpy

from _network cimport (
    Batch, Network, add_gradients, batch_data_loss, batch_weight_sum, init_network,
    loss_grad_rows, row_range,
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
    # A batch is split between threads only if each gets this many rows.
    SPLIT_MIN_ROWS = 8
    # Below this many additions the split batch's gradients are summed on
    # one thread.
    PARALLEL_REDUCE_MIN = 4096


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


cdef double _split_batch_loss_grad(
    const Network *net, const floating *params, const Batch *batch,
    Py_ssize_t n_features, const floating *Y, const floating *sw, floating eps,
    double scale, floating *acts, floating *deltas, Py_ssize_t act_size,
    floating *grads, floating *thread_grads, Py_ssize_t n_params,
    double *row_loss, Py_ssize_t batch_size, double *acc, Py_ssize_t widest,
    double *thread_loss,
) noexcept nogil:
    """Loss sum and gradient of one batch, its rows split between threads.

    For a small network the products of one batch are too small to split
    well: most passes ran on one thread and each split one cost a barrier.
    Here every thread runs forward, output and backward on its own block of
    rows, in one parallel region, into its own workspace and gradient
    (thread 0 into `grads`); the gradients are then added in thread order.
    The loss terms are summed per thread, then in thread order.
    """
    cdef Network net_one = net[0]
    cdef Batch part
    cdef Py_ssize_t t, r0
    cdef Py_ssize_t n = batch.n_rows
    cdef int n_threads = net.n_threads
    cdef double loss_sum = 0
    net_one.n_threads = 1
    for t in prange(n_threads, schedule='static', num_threads=n_threads):
        r0 = t * n // n_threads
        part = row_range(batch, r0, (t + 1) * n // n_threads - r0,
                         n_features * sizeof(floating))
        thread_loss[t] = loss_grad_rows(
            &net_one, params, &part, Y, sw, eps, scale, acts + t * act_size,
            deltas + t * act_size, grads if t == 0 else thread_grads + (t - 1) * n_params,
            row_loss + t * batch_size, acc + t * widest)
    if (n_threads - 1) * n_params < PARALLEL_REDUCE_MIN:
        add_gradients(grads, thread_grads, n_threads - 1, n_params, 0, n_params)
    else:
        # Each thread adds one slice of every thread's gradient: on many
        # cores a serial sum of (n_threads - 1) x n_params would outweigh
        # the split batch itself. Same order per element, so same bits.
        for t in prange(n_threads, schedule='static', num_threads=n_threads):
            add_gradients(grads, thread_grads, n_threads - 1, n_params,
                          t * n_params // n_threads, (t + 1) * n_params // n_threads)
    for t in range(n_threads):
        loss_sum += thread_loss[t]
    return loss_sum


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
    double[::1] scratch,                   # scratch: widest layer + 2 n_threads
    floating[::1] thread_grads,            # scratch: (n_threads - 1) x n_params
                                           # for split batches; empty: no split
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

    With `thread_grads` given, each batch is split by rows between the
    threads (see _split_batch_loss_grad) and acts, deltas, row_loss and the
    widest-layer part of scratch hold one block per thread.
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
    cdef double *thread_loss
    cdef bint split = thread_grads.shape[0] > 0
    cdef Py_ssize_t n_blocks = n_threads if split else 1
    cdef Py_ssize_t act_size
    cdef double sw_sum, batch_loss, coef_sq, lr = learning_rate
    cdef double loss_total = 0
    cdef int status = STATUS_OK
    cdef floating eps = 1.1920928955078125e-07 if floating is float else 2.220446049250313e-16

    for i in range(n_layers + 1):
        widest = max(widest, units[i])
    # No batch holds more rows than there are (act_off may be laid out for
    # that many rows only).
    batch_size = max(min(batch_size, n_samples), 1)
    act_size = act_off[n_layers] + batch_size * units[n_layers]
    if (scratch.shape[0] < n_blocks * widest + 2 * n_threads
            or acts.shape[0] < n_blocks * act_size
            or deltas.shape[0] < n_blocks * act_size
            or row_loss.shape[0] < n_blocks * batch_size
            or (split and (is_sparse or n_threads < 2
                           or thread_grads.shape[0] < (n_threads - 1) * n_params))):
        raise ValueError("train_epoch workspaces do not match the batch split")
    partials = &scratch[n_blocks * widest]
    thread_loss = partials + n_threads
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

            sw_sum = batch_weight_sum(&batch, sw)
            if split and batch.n_rows >= n_threads * SPLIT_MIN_ROWS:
                batch_loss = _split_batch_loss_grad(
                    &net, &params[0], &batch, n_features, &Y[0, 0], sw, eps,
                    1.0 / sw_sum, &acts[0], &deltas[0], act_size, &grads[0],
                    &thread_grads[0], n_params, &row_loss[0], batch_size,
                    &scratch[0], widest, thread_loss)
            else:
                batch_loss = loss_grad_rows(
                    &net, &params[0], &batch, &Y[0, 0], sw, eps, 1.0 / sw_sum,
                    &acts[0], &deltas[0], &grads[0], &row_loss[0], &scratch[0])
            batch_loss = batch_data_loss(&net, batch_loss, sw_sum) + (
                0.5 * alpha * coef_sq / sw_sum)
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
