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
(src_c/_network.pxd). A small one (the engine decides, by parameter count)
runs the whole epoch in ONE parallel region (`_train_split_epoch`): each
thread gathers its block of every batch's rows and runs forward and backward
on it into its own gradient; after a barrier each thread adds the threads'
gradients over its slice of the parameters, in thread order, and steps that
slice; a second barrier and the next batch starts. Its products are too small
to split, and opening a parallel region per pass cost more than the pass.

Between batches the GIL is taken briefly, every SIGNAL_CHECK_WORK
multiply-adds, to let Ctrl-C through; the epoch then stops with
STATUS_INTERRUPTED and the parameters as left by the last finished batch.
A batch whose sample weights sum to zero has no mean loss to step on: the
epoch stops before it with STATUS_ZERO_WEIGHT.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport pow, sqrt
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from _dropout cimport WITH_DROPOUT
from _network cimport (
    Batch, Network, add_gradients, batch_data_loss, batch_weight_sum, check_inputs,
    check_targets, init_network, loss_grad_rows, set_dropout,
)
from _openmp cimport fastmlp_team_barrier, omp_get_num_threads
from _optimizers cimport SOLVER_ADAM, optimizer_step, step_chunk, sum_squares

cdef extern from "Python.h":
    int PyErr_CheckSignals()
    void PyErr_Clear()

cdef enum:
    STATUS_OK = 0
    STATUS_INTERRUPTED = 1
    STATUS_ZERO_WEIGHT = 2
    # About a few milliseconds of arithmetic between two looks at Ctrl-C.
    SIGNAL_CHECK_WORK = 16777216
    # A batch is split between threads only if each gets this many rows.
    SPLIT_MIN_ROWS = 8
    # Rows of at most this many features are gathered by inline copies.
    NARROW_ROW = 16


cdef struct StepRule:
    # The optimizer's hyper-parameters, as train_epoch receives them.
    int solver
    double alpha
    double learning_rate
    double momentum
    bint nesterov
    double beta_1
    double beta_2
    double epsilon
    Py_ssize_t n_coef              # leading coef entries (the L2 term's part)
    Py_ssize_t n_zero              # leading grads entries reset after a step


cdef struct Progress:
    # What an epoch carries from batch to batch and returns.
    double loss_total              # sum of batch_loss * batch rows
    double coef_sq                 # sum of squared coefs of the current params
    double lr                      # last step size (adam's bias-corrected one)
    long adam_t
    int status
    bint zero_weight               # a batch's weights summed to zero


cdef int _interrupt_pending() noexcept with gil:
    # The Python-level handler has run when this returns non-zero; its
    # exception is dropped here and re-raised by the caller as a clean
    # KeyboardInterrupt once the kernel has returned.
    if PyErr_CheckSignals() != 0:
        PyErr_Clear()
        return 1
    return 0


cdef inline double _step_size(const StepRule *rule, long adam_t) noexcept nogil:
    """The learning rate of step `adam_t`, with adam's bias correction."""
    # C's pow and sqrt, as the reference's Python float ** int and np.sqrt:
    # Cython's `**` on doubles computed this in complex arithmetic, which
    # rounds differently and raises (without the GIL) when a power is negative.
    if rule.solver == SOLVER_ADAM:
        return rule.learning_rate * sqrt(1 - pow(rule.beta_2, adam_t)) / (
            1 - pow(rule.beta_1, adam_t))
    return rule.learning_rate


cdef inline double _reported_loss(const Network *net, const StepRule *rule,
                                  double loss_sum, double sw_sum,
                                  double coef_sq) noexcept nogil:
    """A batch's loss as the reference reports it, L2 term included."""
    return batch_data_loss(net, loss_sum, sw_sum) + 0.5 * rule.alpha * coef_sq / sw_sum


cdef inline Batch _dense_rows(const Py_ssize_t *order, Py_ssize_t first,
                              Py_ssize_t n_rows, const void *dense) noexcept nogil:
    """Rows first .. first + n_rows - 1 of the epoch, read from `dense`."""
    cdef Batch batch
    batch.n_rows = n_rows
    batch.rows = order + first if order != NULL else NULL
    batch.row_start = first
    batch.dense = dense
    batch.csr_data = NULL
    batch.csr_indices = NULL
    batch.csr_indptr = NULL
    return batch


cdef inline void _gather_rows(const floating *X, Py_ssize_t n_features,
                              const Py_ssize_t *rows, Py_ssize_t n_rows,
                              floating *out, int n_threads) noexcept nogil:
    cdef Py_ssize_t r, j
    cdef const floating *src
    if n_features <= NARROW_ROW:
        # A libc memcpy call per row of a few values cost more than the copy
        # (6 % of an 8 -> 100 -> 1 epoch); plain element copies inline.
        for r in range(n_rows):
            src = X + rows[r] * n_features
            for j in range(n_features):
                out[j] = src[j]
            out = out + n_features
        return
    if n_threads == 1 or n_rows * n_features <= 65536:
        for r in range(n_rows):
            memcpy(out + r * n_features, X + rows[r] * n_features,
                   n_features * sizeof(floating))
        return
    for r in prange(n_rows, schedule='static', num_threads=n_threads):
        memcpy(out + r * n_features, X + rows[r] * n_features,
               n_features * sizeof(floating))


cdef void _train_split_epoch(
    const Network *net, const StepRule *rule, floating *params, floating *grads,
    floating *thread_grads, floating *state1, floating *state2,
    Py_ssize_t n_params, const floating *X, Py_ssize_t n_features,
    const Py_ssize_t *order, Py_ssize_t n_samples, Py_ssize_t batch_size,
    const floating *Y, const floating *sw, floating eps, floating *batch_buffer,
    floating *acts, floating *deltas, Py_ssize_t act_size, double *row_loss,
    double *acc, Py_ssize_t widest, double *thread_loss, double *partials,
    Progress *progress,
) noexcept nogil:
    """One epoch of a dense small network, every batch split by rows.

    One parallel region for the whole epoch. Per batch, thread t:
      1. gathers rows r0 .. r1 - 1 of the batch (its block) and runs forward,
         output loss and backward on them, into its own workspace block and
         gradient (thread 0 into `grads`, thread t > 0 into block t - 1 of
         `thread_grads`), its loss sum into thread_loss[t];
      2. after a barrier, adds the other threads' gradients into `grads` over
         its slice of the parameters, in thread order, and steps that slice,
         its sum of squared coefs into partials[t]; thread 0 also books the
         batch loss and looks at Ctrl-C;
      3. after a second barrier, sums partials in thread order (the L2 term
         of the next batch's loss).
    Each element's sum runs in thread order whoever adds it, so a thread
    count gives the same bits every run. A batch too short to split runs on
    thread 0 alone.

    The work is split between the threads the team really has, which
    OpenMP may make fewer than asked for (OMP_DYNAMIC, a thread limit, a
    caller's parallel region): a thread that is not there must not own rows
    or parameters.
    """
    cdef Network net_one = net[0]
    cdef long adam_t0 = progress.adam_t
    cdef double coef_sq0 = progress.coef_sq
    cdef double lr0 = progress.lr
    # Private to each thread: every name assigned inside the parallel block.
    cdef int t, n_team, n_parts, c
    cdef Py_ssize_t start, stop, n_rows, r0, r1, lo, hi, work
    cdef Batch whole, part
    cdef double sw_sum, batch_loss, coef_sq, lr, loss_total
    cdef long adam_t
    cdef floating *own_grads
    cdef const floating *dense
    net_one.n_threads = 1
    progress.status = STATUS_OK
    with parallel(num_threads=net.n_threads):
        t = threadid()
        n_team = omp_get_num_threads()
        own_grads = grads if t == 0 else thread_grads + (t - 1) * n_params
        adam_t = adam_t0
        coef_sq = coef_sq0
        lr = lr0
        loss_total = 0
        work = 0
        start = 0
        while start < n_samples:
            stop = min(start + batch_size, n_samples)
            n_rows = stop - start
            n_parts = n_team if n_rows >= n_team * SPLIT_MIN_ROWS else 1
            # Every thread derives the batch's weight sum, and below its step
            # size, itself: the same arithmetic gives the same value, and
            # costs less than a third barrier to share it.
            whole = _dense_rows(order, start, n_rows, NULL)
            sw_sum = batch_weight_sum(&whole, sw)
            if sw_sum <= 0:
                # Every thread computed the same sum, so all leave here,
                # before the barrier. Only thread 0 writes the flag, and
                # nothing in the region reads it.
                if t == 0:
                    progress.zero_weight = True
                break
            if t < n_parts:
                r0 = t * n_rows // n_parts
                r1 = (t + 1) * n_rows // n_parts
                if order != NULL:
                    dense = batch_buffer + r0 * n_features
                    _gather_rows(X, n_features, order + start + r0, r1 - r0,
                                 batch_buffer + r0 * n_features, 1)
                else:
                    dense = X + (start + r0) * n_features
                part = _dense_rows(order, start + r0, r1 - r0, dense)
                thread_loss[t] = loss_grad_rows(
                    &net_one, params, &part, Y, sw, eps, 1.0 / sw_sum,
                    acts + t * act_size, deltas + t * act_size, own_grads,
                    row_loss + t * batch_size, acc + t * widest)
            fastmlp_team_barrier()

            lo = t * n_params // n_team
            hi = (t + 1) * n_params // n_team
            add_gradients(grads, thread_grads, n_parts - 1, n_params, lo, hi)
            if rule.solver == SOLVER_ADAM:
                adam_t = adam_t + 1
            lr = _step_size(rule, adam_t)
            step_chunk(rule.solver, params, grads, state1, state2, lo, hi,
                       rule.n_coef, rule.n_zero, rule.alpha / sw_sum, lr,
                       rule.momentum, rule.nesterov, rule.beta_1, rule.beta_2,
                       rule.epsilon, partials + t)
            if t == 0:
                batch_loss = 0
                for c in range(n_parts):
                    batch_loss = batch_loss + thread_loss[c]
                loss_total = loss_total + n_rows * _reported_loss(
                    net, rule, batch_loss, sw_sum, coef_sq)
                work = work + n_rows * n_params
                if work >= SIGNAL_CHECK_WORK:
                    work = 0
                    if _interrupt_pending():
                        progress.status = STATUS_INTERRUPTED
            fastmlp_team_barrier()

            coef_sq = 0
            for c in range(n_team):
                coef_sq = coef_sq + partials[c]
            start = stop
            if progress.status != STATUS_OK:
                break
        if t == 0:
            progress.loss_total = loss_total
            progress.coef_sq = coef_sq
            progress.lr = lr
            progress.adam_t = adam_t


cdef void _train_product_split_epoch(
    const Network *net, const StepRule *rule, floating *params, floating *grads,
    floating *state1, floating *state2, Py_ssize_t n_params, const floating *X,
    Py_ssize_t n_features, Batch *batch, Py_ssize_t n_samples,
    Py_ssize_t batch_size, const floating *Y, const floating *sw, floating eps,
    floating *batch_buffer, floating *acts, floating *deltas, double *row_loss,
    double *acc, double *partials, Progress *progress,
) noexcept nogil:
    """One epoch, each product of a batch split between threads.

    `batch` carries the CSR arrays when X is sparse (X is then NULL) and
    the epoch order in `rows` (NULL: every row in turn).
    """
    cdef const Py_ssize_t *order = batch.rows
    cdef Py_ssize_t start = 0, stop, work = 0
    cdef double sw_sum, batch_loss
    progress.status = STATUS_OK
    while start < n_samples:
        stop = min(start + batch_size, n_samples)
        batch.n_rows = stop - start
        batch.row_start = start
        batch.rows = order + start if order != NULL else NULL
        if X == NULL:
            batch.dense = NULL
        elif order != NULL:
            _gather_rows(X, n_features, batch.rows, batch.n_rows, batch_buffer,
                         net.n_threads)
            batch.dense = batch_buffer
        else:
            batch.dense = X + start * n_features

        sw_sum = batch_weight_sum(batch, sw)
        if sw_sum <= 0:
            progress.zero_weight = True
            break
        batch_loss = loss_grad_rows(net, params, batch, Y, sw, eps, 1.0 / sw_sum,
                                    acts, deltas, grads, row_loss, acc)
        batch_loss = _reported_loss(net, rule, batch_loss, sw_sum, progress.coef_sq)
        if rule.solver == SOLVER_ADAM:
            progress.adam_t += 1
        progress.lr = _step_size(rule, progress.adam_t)
        progress.coef_sq = optimizer_step(
            rule.solver, params, grads, state1, state2, n_params, rule.n_coef,
            rule.n_zero, rule.alpha / sw_sum, progress.lr, rule.momentum,
            rule.nesterov, rule.beta_1, rule.beta_2, rule.epsilon, partials,
            net.n_threads)
        progress.loss_total += batch_loss * batch.n_rows
        start = stop

        work += batch.n_rows * n_params
        if work >= SIGNAL_CHECK_WORK:
            work = 0
            if _interrupt_pending():
                progress.status = STATUS_INTERRUPTED
                break


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
    uint32_t drop_below=0, uint64_t drop_key=0, double drop_scale=1,
):
    """Run one epoch; return (status, sum of batch_loss * batch_len, adam_t, lr).

    `lr` is the last step size used (adam's bias-corrected one).

    With `thread_grads` given, each batch is split by rows between the
    threads (see _train_split_epoch) and acts, deltas, row_loss and the
    widest-layer part of scratch hold one block per thread.

    With `drop_below` > 0 the hidden outputs are dropped (src_c/_dropout.pxd)
    with this epoch's `drop_key`, and `acts` holds twice its usual size: the
    second half is the twin blocks of backprop factors.
    """
    cdef Network net
    cdef Batch batch
    cdef StepRule rule
    cdef Progress progress
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
    cdef Py_ssize_t widest = 0, i
    cdef const floating *sw = &sample_weight[0] if has_weight else NULL
    # Not a conditional expression: Cython's temporary for one is a plain
    # void *, and assigning &X[0, 0] to it drops the const (a clang warning).
    cdef const floating *X_dense = NULL
    cdef const Py_ssize_t *order = &sample_idx[0] if has_order else NULL
    cdef double *partials
    cdef double *thread_loss
    cdef bint split = thread_grads.shape[0] > 0
    cdef Py_ssize_t n_blocks = n_threads if split else 1
    cdef Py_ssize_t act_size
    cdef int act_copies = 2 if drop_below > 0 else 1
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON

    if not is_sparse and X.shape[0] > 0:
        X_dense = &X[0, 0]
    check_inputs(units, coef_off, intercept_off, act_off, n_params,
                 X_dense != NULL, X.shape[1])
    check_targets(units, (X_indptr.shape[0] - 1) if is_sparse else X.shape[0],
                  Y.shape[0], Y.shape[1], sample_weight.shape[0])
    if (grads.shape[0] != n_params or state1.shape[0] != n_params
            or (solver == SOLVER_ADAM and state2.shape[0] != n_params)):
        raise ValueError("grads or optimizer state differ from params in length")
    for i in range(n_layers + 1):
        widest = max(widest, units[i])
    # No batch holds more rows than there are (act_off may be laid out for
    # that many rows only).
    batch_size = max(min(batch_size, n_samples), 1)
    act_size = act_off[n_layers] + batch_size * units[n_layers]
    if (scratch.shape[0] < n_blocks * widest + 2 * n_threads
            or acts.shape[0] < act_copies * n_blocks * act_size
            or deltas.shape[0] < n_blocks * act_size
            or row_loss.shape[0] < n_blocks * batch_size
            or (split and (is_sparse or n_threads < 2
                           or thread_grads.shape[0] < (n_threads - 1) * n_params))):
        raise ValueError("train_epoch workspaces do not match the batch split")
    partials = &scratch[n_blocks * widest]
    thread_loss = partials + n_threads
    init_network(&net, n_layers, &units[0], &coef_off[0], &intercept_off[0],
                 &act_off[0], hidden_act, out_act, loss, n_threads)
    if drop_below > 0:
        if not WITH_DROPOUT:
            raise ValueError("dropout needs the _epoch_dropout kernels")
        set_dropout(&net, n_blocks * act_size, drop_key, drop_below, drop_scale)
    rule.solver = solver
    rule.alpha = alpha
    rule.learning_rate = learning_rate
    rule.momentum = momentum
    rule.nesterov = nesterov
    rule.beta_1 = beta_1
    rule.beta_2 = beta_2
    rule.epsilon = epsilon
    rule.n_coef = intercept_off[0]
    rule.n_zero = (units[0] * units[1]) if is_sparse else 0
    progress.loss_total = 0
    progress.lr = learning_rate
    progress.adam_t = adam_t
    progress.zero_weight = False
    batch = _dense_rows(order, 0, 0, NULL)
    batch.csr_data = &X_data[0] if is_sparse and X_data.shape[0] > 0 else NULL
    batch.csr_indices = &X_indices[0] if is_sparse and X_indices.shape[0] > 0 else NULL
    batch.csr_indptr = &X_indptr[0] if is_sparse else NULL

    with nogil:
        progress.coef_sq = sum_squares(&params[0], rule.n_coef)
        if split:
            _train_split_epoch(
                &net, &rule, &params[0], &grads[0], &thread_grads[0], &state1[0],
                &state2[0], n_params, X_dense, n_features, order, n_samples,
                batch_size, &Y[0, 0], sw, eps, &batch_buffer[0], &acts[0],
                &deltas[0], act_size, &row_loss[0], &scratch[0], widest,
                thread_loss, partials, &progress)
        else:
            _train_product_split_epoch(
                &net, &rule, &params[0], &grads[0], &state1[0], &state2[0],
                n_params, X_dense, n_features, &batch, n_samples, batch_size,
                &Y[0, 0], sw, eps,
                &batch_buffer[0] if batch_buffer.shape[0] > 0 else NULL,
                &acts[0], &deltas[0], &row_loss[0], &scratch[0], partials,
                &progress)
    if progress.zero_weight:
        progress.status = STATUS_ZERO_WEIGHT
    return progress.status, progress.loss_total, progress.adam_t, progress.lr
