# SPDX-License-Identifier: BSD-3-Clause
"""Full-batch kernels: prediction, L-BFGS loss and gradient, single layers.

`predict` and `loss_and_grad` both cut the rows into chunks small enough for
every layer's outputs to stay in cache, and give each thread whole chunks
with its own workspace (no barrier per layer); each is one call that
releases the GIL and allocates nothing shared, so concurrent calls on one
model are safe. `loss_and_grad` is the function L-BFGS minimises: forward,
fused output/loss and backward pass per chunk, gradients summed per thread
and then in thread order, the L2 term added at the end. The single-layer
wrappers exist so tests can check each fused kernel against the NumPy
baseline.
"""

cimport cython
from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from _activations cimport (
    added_activate, added_derivative, bias_activate_row, is_added,
    multiply_derivative_row, row_activation,
)
from _blas cimport gemm_rm
from _losses cimport output_loss_delta_row
from _network cimport (
    NARROW, Batch, Network, add_gradients, batch_data_loss, batch_weight_sum,
    check_inputs, check_layout, check_targets, checked_layout_size, finish_output,
    forward, forward_from, forward_rows, init_network, loss_grad_rows, product_nn,
    row_range, tile_rows,
)
from _optimizers cimport sum_squares


# Widths up to this are computed by plain loops, not GEMM (_network.pxd); the
# engine sizes L-BFGS chunks by it.
NARROW_UNITS = NARROW


cdef void _init_network(Network *net, const Py_ssize_t[::1] units,
                        const Py_ssize_t[::1] coef_off,
                        const Py_ssize_t[::1] intercept_off,
                        const Py_ssize_t[::1] act_off, int hidden_act, int out_act,
                        int loss, int n_threads) noexcept:
    init_network(net, units.shape[0] - 1, &units[0], &coef_off[0],
                 &intercept_off[0], &act_off[0], hidden_act, out_act, loss,
                 n_threads)


cdef void _init_batch(Batch *batch, const floating[:, ::1] X,
                      const floating[::1] X_data, const Py_ssize_t[::1] X_indices,
                      const Py_ssize_t[::1] X_indptr) noexcept:
    batch.rows = NULL
    batch.row_start = 0
    if X_indptr.shape[0] > 0:
        batch.n_rows = X_indptr.shape[0] - 1
        batch.dense = NULL
        batch.csr_data = &X_data[0] if X_data.shape[0] > 0 else NULL
        batch.csr_indices = &X_indices[0] if X_indices.shape[0] > 0 else NULL
        batch.csr_indptr = &X_indptr[0]
    else:
        batch.n_rows = X.shape[0]
        batch.dense = &X[0, 0] if X.shape[0] > 0 else NULL
        batch.csr_data = NULL
        batch.csr_indices = NULL
        batch.csr_indptr = NULL


cdef enum:
    FINITE_LANES = 16


cdef inline bint _all_finite(const floating *x, Py_ssize_t n) noexcept nogil:
    """Whether x[0 .. n - 1] holds no NaN and no infinity.

    x * 0 is zero for a finite x and NaN otherwise. The products are added
    into 16 lanes so GCC vectorises the loop (it may not reorder one
    accumulator), and nothing overflows: only zeros are ever added.
    """
    cdef Py_ssize_t j = 0, lane
    cdef floating acc[FINITE_LANES]
    cdef bint finite = True
    for lane in range(FINITE_LANES):
        acc[lane] = 0
    while j + FINITE_LANES <= n:
        for lane in range(FINITE_LANES):
            acc[lane] = acc[lane] + x[j + lane] * 0
        j += FINITE_LANES
    while j < n:
        acc[0] = acc[0] + x[j] * 0
        j += 1
    for lane in range(FINITE_LANES):
        finite = finite and acc[lane] == 0
    return finite


cdef bint _first_layer_finite(const Network *net, const floating *params,
                              const Batch *chunk, floating *acts) noexcept nogil:
    """The first layer of a dense chunk on one thread; False if X @ W is not finite.

    A NaN or an infinity in a row of X makes every element of that row of
    X @ W NaN or infinite (times a weight of 0 it is NaN, never 0), so
    checking the product checks X, at the cost of one look at each output
    while it is in cache instead of a pass over X (which is wider, and read
    from memory: 13 % of a 4000-row 784 -> 256 -> 10 predict_proba). A
    product can also fail for a finite X (overflow, or weights that are not
    finite): the caller then asks X itself.
    """
    cdef Py_ssize_t r
    cdef Py_ssize_t n = chunk.n_rows
    cdef Py_ssize_t fan_out = net.units[1]
    cdef floating *Z = acts + net.act_off[1]
    cdef bint finite = True
    product_nn(<const floating *> chunk.dense, n, net.units[0],
               params + net.coef_off[0], fan_out, Z)
    for r in range(n):
        finite = _all_finite(Z + r * fan_out, fan_out) and finite
        if net.n_layers > 1:
            bias_activate_row(row_activation(net.hidden_act), Z + r * fan_out,
                              params + net.intercept_off[0], fan_out)
    if net.n_layers > 1 and is_added(net.hidden_act):
        added_activate(net.hidden_act, Z, n * fan_out)
    return finite


cdef void _predict_chunks(const Network *net, const floating *params,
                          const Batch *whole, Py_ssize_t c0, Py_ssize_t c1,
                          Py_ssize_t chunk_rows, floating *acts, floating *out,
                          unsigned char *chunk_finite) noexcept nogil:
    """Output activations of chunks c0 .. c1 - 1 of the rows, into `out`.

    With `chunk_finite` (one flag per chunk; NULL: no check), each dense
    chunk's input is checked for NaN and infinity by the thread that reads
    it: through its first layer's products on one thread, else (a chunk
    whose products are split between threads) before it is read. A chunk
    that fails is flagged and skipped.
    """
    cdef Batch chunk
    cdef Py_ssize_t c, i, first
    cdef Py_ssize_t n_in = net.units[0]
    cdef Py_ssize_t n_out = net.units[net.n_layers]
    cdef const floating *Z = acts + net.act_off[net.n_layers]
    cdef const floating *X_chunk
    for c in range(c0, c1):
        chunk = row_range(whole, c * chunk_rows,
                          min(chunk_rows, whole.n_rows - c * chunk_rows),
                          n_in * sizeof(floating))
        X_chunk = <const floating *> chunk.dense
        # The first layer still to compute.
        first = 0
        if chunk_finite != NULL and X_chunk != NULL:
            if net.n_threads == 1:
                first = 1
                chunk_finite[c] = (
                    _first_layer_finite(net, params, &chunk, acts)
                    or _all_finite(X_chunk, chunk.n_rows * n_in))
            else:
                chunk_finite[c] = _all_finite(X_chunk, chunk.n_rows * n_in)
            if not chunk_finite[c]:
                continue
        forward_from(net, params, &chunk, acts, first)
        finish_output(net, params, chunk.n_rows, acts)
        for i in range(chunk.n_rows * n_out):
            out[c * chunk_rows * n_out + i] = Z[i]


def predict(
    const floating[::1] params,            # IN flat parameters
    const floating[:, ::1] X,              # IN dense X, or shape (0, n) when sparse
    const floating[::1] X_data,            # IN CSR of X (empty when dense)
    const Py_ssize_t[::1] X_indices,
    const Py_ssize_t[::1] X_indptr,
    floating[:, ::1] out,                  # OUT (n_samples, n_outputs)
    floating[::1] acts,                    # scratch: n_threads x one chunk's outputs
    Py_ssize_t chunk_rows,
    const Py_ssize_t[::1] units,
    const Py_ssize_t[::1] coef_off,
    const Py_ssize_t[::1] intercept_off,
    const Py_ssize_t[::1] act_off,         # offsets in one chunk's block
    int hidden_act, int out_act, int n_threads, bint check_finite=False,
):
    """Output-layer activations for every row of X, chunk by chunk.

    Returns False when `check_finite` is set and dense X holds a NaN or an
    infinity (`out` is then incomplete), else True. The check runs chunk by
    chunk in the predicting threads, where NumPy's would be one more pass
    over X on one thread (15 ms of a 190 ms predict_proba on 60000 x 784).

    With more chunks than one, threads take whole chunks (dynamically, each
    with its own workspace) instead of splitting every product: no barrier
    per layer, and a thread slowed by a busy core (another library's BLAS
    threads still spinning after their work) no longer holds the other up.
    Every row's outputs depend on that row only, so the result is the same
    for any thread count.
    """
    cdef Network net, net_one
    cdef Batch whole
    cdef Py_ssize_t c, n_samples, n_chunks, n_used, t
    cdef Py_ssize_t n_layers = units.shape[0] - 1
    cdef Py_ssize_t act_size
    cdef unsigned char *chunk_finite = NULL
    cdef bint finite = True
    _init_network(&net, units, coef_off, intercept_off, act_off, hidden_act,
                  out_act, 0, n_threads)
    _init_batch(&whole, X, X_data, X_indices, X_indptr)
    check_inputs(units, coef_off, intercept_off, act_off, params.shape[0],
                 whole.dense != NULL, X.shape[1])
    n_samples = whole.n_rows
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    if out.shape[0] != n_samples or out.shape[1] != units[n_layers]:
        raise ValueError("out has the wrong shape")
    if n_samples == 0:
        return True
    # A chunk never holds more rows than there are (act_off may be laid out
    # for that many rows only).
    chunk_rows = min(chunk_rows, n_samples)
    act_size = act_off[n_layers] + chunk_rows * units[n_layers]
    n_chunks = (n_samples + chunk_rows - 1) // chunk_rows
    n_used = max(min(<Py_ssize_t> n_threads, n_chunks), 1)
    if acts.shape[0] < n_used * act_size:
        raise ValueError("predict workspace is too small")
    if check_finite and whole.dense != NULL:
        # One flag per chunk, each written by the thread that took the chunk.
        chunk_finite = <unsigned char *> malloc(n_chunks)
        if chunk_finite == NULL:
            raise MemoryError()
    with nogil:
        if n_used == 1:
            # One chunk: the products inside it may still use threads.
            _predict_chunks(&net, &params[0], &whole, 0, n_chunks, chunk_rows,
                            &acts[0], &out[0, 0], chunk_finite)
        else:
            net_one = net
            net_one.n_threads = 1
            for c in prange(n_chunks, schedule='dynamic', num_threads=n_used):
                t = threadid()
                _predict_chunks(&net_one, &params[0], &whole, c, c + 1, chunk_rows,
                                &acts[t * act_size], &out[0, 0], chunk_finite)
        if chunk_finite != NULL:
            for c in range(n_chunks):
                finite = finite and chunk_finite[c]
    free(chunk_finite)
    return finite


@cython.final
cdef class NetworkShape:
    """Widths, parameter offsets and activation codes, kept for repeated calls.

    The serving path (`predict_few`) takes this one object instead of five
    arrays: each array argument of a def function costs a buffer acquisition.
    """
    cdef const Py_ssize_t[::1] units
    cdef const Py_ssize_t[::1] coef_off
    cdef const Py_ssize_t[::1] intercept_off
    cdef Py_ssize_t n_params
    cdef int hidden_act
    cdef int out_act

    def __init__(self, const Py_ssize_t[::1] units, const Py_ssize_t[::1] coef_off,
                 const Py_ssize_t[::1] intercept_off, int hidden_act, int out_act):
        self.n_params = checked_layout_size(units, coef_off, intercept_off)
        self.units = units
        self.coef_off = coef_off
        self.intercept_off = intercept_off
        self.hidden_act = hidden_act
        self.out_act = out_act


def predict_few(
    NetworkShape shape,
    const floating[::1] params,            # IN flat parameters
    const floating[:, ::1] X,              # IN a few dense rows
    floating[:, ::1] out,                  # OUT (n_rows, n_outputs)
):
    """Single-threaded prediction for a few rows (serving latency).

    Returns False, computing nothing, when X holds NaN or infinity: the
    caller then raises scikit-learn's own error for it.
    Its small workspace lives on the C heap for the duration of the call.
    """
    cdef Network net
    cdef Batch batch
    cdef Py_ssize_t i, r, j, total = 0
    cdef Py_ssize_t n_layers = shape.units.shape[0] - 1
    cdef Py_ssize_t n = X.shape[0]
    cdef Py_ssize_t n_out = shape.units[n_layers]
    cdef Py_ssize_t *act_off = NULL
    cdef floating *acts = NULL
    cdef floating *Z
    if params.shape[0] != shape.n_params:  # raises, naming the mismatch
        check_layout(shape.units, shape.coef_off, shape.intercept_off, params.shape[0])
    if X.shape[1] != shape.units[0] or out.shape[0] != n or out.shape[1] != n_out:
        raise ValueError("X (%d, %d) or out (%d, %d) does not fit a %d -> %d network"
                         % (n, X.shape[1], out.shape[0], out.shape[1],
                            shape.units[0], n_out))
    if n * X.shape[1] > 0 and not _all_finite(&X[0, 0], n * X.shape[1]):
        return False
    act_off = <Py_ssize_t *> malloc((n_layers + 1) * sizeof(Py_ssize_t))
    if act_off == NULL:
        raise MemoryError()
    act_off[0] = 0
    for i in range(1, n_layers + 1):
        act_off[i] = total
        total += n * shape.units[i]
    acts = <floating *> malloc(total * sizeof(floating))
    if acts == NULL:
        free(act_off)
        raise MemoryError()
    init_network(&net, n_layers, &shape.units[0], &shape.coef_off[0],
                 &shape.intercept_off[0], act_off, shape.hidden_act, shape.out_act,
                 -1, 1)
    batch.n_rows = n
    batch.rows = NULL
    batch.row_start = 0
    batch.dense = &X[0, 0]
    batch.csr_data = NULL
    batch.csr_indices = NULL
    batch.csr_indptr = NULL
    with nogil:
        forward(&net, &params[0], &batch, acts)
        finish_output(&net, &params[0], n, acts)
        Z = acts + act_off[n_layers]
        for r in range(n):
            for j in range(n_out):
                out[r, j] = Z[r * n_out + j]
    free(acts)
    free(act_off)
    return True


cdef void _chunks_loss_grad(
    const Network *net, const floating *params, const Batch *whole,
    Py_ssize_t c0, Py_ssize_t c1, Py_ssize_t chunk_rows, const floating *Y,
    const floating *sw, floating eps, double scale, floating *acts,
    floating *deltas, floating *chunk_grad, floating *total_grad,
    double *row_loss, double *acc, double *loss_out,
) noexcept nogil:
    """Loss sum and gradient of chunks c0 .. c1 - 1 of the rows, in order.

    The gradient of each chunk is computed into chunk_grad and added to
    total_grad, which must hold zeros on entry; the weighted loss sum goes to
    loss_out.
    """
    cdef Batch chunk
    cdef Py_ssize_t c
    cdef Py_ssize_t n_params = (net.intercept_off[net.n_layers - 1]
                                + net.units[net.n_layers])
    cdef Py_ssize_t n_first = net.units[0] * net.units[1]
    cdef double loss_sum = 0
    for c in range(c0, c1):
        chunk = row_range(whole, c * chunk_rows,
                          min(chunk_rows, whole.n_rows - c * chunk_rows),
                          net.units[0] * sizeof(floating))
        if whole.dense == NULL:
            # The sparse first-layer gradient adds into zeros.
            memset(chunk_grad, 0, n_first * sizeof(floating))
        loss_sum += loss_grad_rows(net, params, &chunk, Y, sw, eps, scale, acts,
                                   deltas, chunk_grad, row_loss, acc)
        add_gradients(total_grad, chunk_grad, 1, n_params, 0, n_params)
    loss_out[0] = loss_sum


def loss_and_grad(
    const floating[::1] params,            # IN flat parameters
    floating[::1] grads,                   # OUT flat gradient
    const floating[:, ::1] X,              # IN dense X, or shape (0, n) when sparse
    const floating[::1] X_data,            # IN CSR of X (empty when dense)
    const Py_ssize_t[::1] X_indices,
    const Py_ssize_t[::1] X_indptr,
    const floating[:, ::1] Y,              # IN targets (n_samples, n_outputs)
    const floating[::1] sample_weight,     # IN weights, or empty for none
    Py_ssize_t row_start,                  # the rows to use: row_start ...
    Py_ssize_t n_rows,                     # ... row_start + n_rows - 1
    Py_ssize_t chunk_rows,                 # rows one thread takes at a time
    floating[::1] acts,                    # scratch: n_threads x one chunk's outputs
    floating[::1] deltas,                  # scratch: same size as acts
    floating[::1] thread_grads,            # scratch: (2 n_threads - 1) x n_params
    double[::1] row_loss,                  # scratch: n_threads x chunk_rows
    double[::1] scratch,                   # scratch: n_threads x (widest layer + 1)
    const Py_ssize_t[::1] units,
    const Py_ssize_t[::1] coef_off,
    const Py_ssize_t[::1] intercept_off,
    const Py_ssize_t[::1] act_off,         # offsets in one chunk's block
    int hidden_act, int out_act, int loss, double alpha, int n_threads,
):
    """Return the penalised loss over a range of rows and write its gradient.

    Loss and gradient are those of the range alone, normalised by its own
    weight sum; the engine combines ranges so that a long full-batch
    evaluation returns to Python (and Ctrl-C) between them.

    The range is cut into chunks of `chunk_rows` rows whose layer outputs
    stay in cache, and each thread takes a contiguous run of chunks with its
    own workspace and gradient sum; the sums are then added in thread order.
    Streaming whole-range activations through memory, layer by layer, made
    an evaluation memory-bound (measured: 3.3 GFLOP/s on 20000 x 8 -> 100 -> 1).
    """
    cdef Network net, net_one
    cdef Batch batch
    cdef Py_ssize_t i, t, n_chunks, n_used
    cdef Py_ssize_t n_layers = units.shape[0] - 1
    cdef Py_ssize_t n_coef
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t act_size
    cdef Py_ssize_t widest = 0
    cdef const floating *sw = &sample_weight[0] if sample_weight.shape[0] > 0 else NULL
    cdef double sw_sum, value = 0, l2
    cdef double *thread_loss
    cdef floating *total
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    for i in range(n_layers + 1):
        widest = max(widest, units[i])
    _init_network(&net, units, coef_off, intercept_off, act_off, hidden_act,
                  out_act, loss, n_threads)
    _init_batch(&batch, X, X_data, X_indices, X_indptr)
    check_inputs(units, coef_off, intercept_off, act_off, n_params,
                 batch.dense != NULL, X.shape[1])
    check_targets(units, batch.n_rows, Y.shape[0], Y.shape[1], sample_weight.shape[0])
    if grads.shape[0] != n_params:
        raise ValueError("grads and params differ in length")
    if row_start < 0 or n_rows < 1 or row_start + n_rows > batch.n_rows:
        raise ValueError("row range outside X")
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be positive")
    n_coef = intercept_off[0]
    act_size = act_off[n_layers] + chunk_rows * units[n_layers]
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows
    n_used = max(min(<Py_ssize_t> n_threads, n_chunks), 1)
    if (acts.shape[0] < n_used * act_size or deltas.shape[0] < n_used * act_size
            or thread_grads.shape[0] < (2 * n_used - 1) * n_params
            or row_loss.shape[0] < n_used * chunk_rows
            or scratch.shape[0] < n_used * (widest + 1)):
        raise ValueError("loss_and_grad workspaces are too small")
    batch.row_start = row_start
    batch.n_rows = n_rows
    if batch.dense != NULL:
        batch.dense = &X[row_start, 0]
    # Per-thread loss sums sit after the per-thread `acc` scratch.
    thread_loss = &scratch[n_used * widest]
    with nogil:
        sw_sum = batch_weight_sum(&batch, sw)
        memset(&grads[0], 0, n_params * sizeof(floating))
        if n_used == 1:
            # One chunk run: the products inside it may still use threads.
            _chunks_loss_grad(&net, &params[0], &batch, 0, n_chunks, chunk_rows,
                              &Y[0, 0], sw, eps, 1.0 / sw_sum, &acts[0], &deltas[0],
                              &thread_grads[0], &grads[0], &row_loss[0],
                              &scratch[0], thread_loss)
        else:
            net_one = net
            net_one.n_threads = 1
            for i in range(1, n_used):
                memset(&thread_grads[(n_used - 1 + i) * n_params], 0,
                       n_params * sizeof(floating))
            for t in prange(n_used, schedule='static', num_threads=n_used):
                # Thread 0 sums into grads; thread t > 0 into its own block
                # after the n_used chunk-gradient blocks.
                if t == 0:
                    total = &grads[0]
                else:
                    total = &thread_grads[(n_used - 1 + t) * n_params]
                _chunks_loss_grad(&net_one, &params[0], &batch,
                                  t * n_chunks // n_used, (t + 1) * n_chunks // n_used,
                                  chunk_rows, &Y[0, 0], sw, eps, 1.0 / sw_sum,
                                  &acts[t * act_size], &deltas[t * act_size],
                                  &thread_grads[t * n_params], total,
                                  &row_loss[t * chunk_rows], &scratch[t * widest],
                                  &thread_loss[t])
            # The n_used - 1 other sums lie after the chunk-gradient blocks.
            add_gradients(&grads[0], &thread_grads[n_used * n_params], n_used - 1,
                          n_params, 0, n_params)
        for t in range(n_used):
            value += thread_loss[t]
        value = batch_data_loss(&net, value, sw_sum)
        l2 = alpha / sw_sum
        for i in range(n_coef):
            grads[i] = grads[i] + <floating> l2 * params[i]
        value += 0.5 * alpha * sum_squares(&params[0], n_coef) / sw_sum
    return value


def forward_tile_rows(Py_ssize_t n_threads, Py_ssize_t n_rows, Py_ssize_t fan_in,
                      Py_ssize_t fan_out, int activation):
    """Row blocks of the grid a split forward product is cut into (tests)."""
    return tile_rows(n_threads, n_rows, fan_in, fan_out, activation)


def dense_forward(
    const floating[:, ::1] A_prev,         # IN (n_rows, fan_in)
    const floating[:, ::1] coef,           # IN (fan_in, fan_out)
    const floating[::1] intercept,         # IN (fan_out,)
    floating[:, ::1] out,                  # OUT (n_rows, fan_out)
    int activation, int n_threads,
):
    """One fused layer: out = activation(A_prev @ coef + intercept).

    The rows are cut into n_threads blocks, each computed as a training
    epoch computes a hidden layer's rows (forward_rows: a GEMM call, the
    register tiles with the bias and ReLU fused, or the narrow loops).
    """
    cdef Py_ssize_t blk
    cdef Py_ssize_t n = A_prev.shape[0], fan_in = coef.shape[0], fan_out = coef.shape[1]
    cdef int n_blocks = max(1, min(n_threads, n))
    with nogil:
        for blk in prange(n_blocks, schedule='static', num_threads=n_blocks):
            forward_rows(&A_prev[0, 0], blk * n // n_blocks,
                         (blk + 1) * n // n_blocks, fan_in, &coef[0, 0],
                         &intercept[0], fan_out, &out[0, 0],
                         row_activation(activation))
        if is_added(activation) and n > 0:
            added_activate(activation, &out[0, 0], n * fan_out)


def delta_backward(
    const floating[:, ::1] D,              # IN (n_rows, fan_out) upstream delta
    const floating[:, ::1] coef,           # IN (fan_in, fan_out)
    const floating[:, ::1] A,              # IN (n_rows, fan_in) the layer's inputs
    floating[:, ::1] D_prev,               # OUT (n_rows, fan_in)
    int activation, int n_threads,
):
    """D_prev = (D @ coef.T) * activation'(.) written from the outputs A."""
    cdef Py_ssize_t r
    cdef Py_ssize_t n = D.shape[0], fan_in = coef.shape[0], fan_out = coef.shape[1]
    with nogil:
        gemm_rm(c'n', c't', <int> n, <int> fan_in, <int> fan_out, 1, &D[0, 0],
                <int> fan_out, &coef[0, 0], <int> fan_out, 0, &D_prev[0, 0],
                <int> fan_in)
        for r in prange(n, schedule='static', num_threads=n_threads):
            multiply_derivative_row(row_activation(activation), &D_prev[r, 0], &A[r, 0],
                                    fan_in)
        if is_added(activation) and n > 0:
            added_derivative(activation, &D_prev[0, 0], &A[0, 0], n * fan_in)


def output_loss(
    floating[:, ::1] Z,                    # INOUT pre-activation (no bias) -> output
    const floating[::1] intercept,         # IN (n_outputs,)
    const floating[:, ::1] Y,              # IN targets
    const floating[::1] sample_weight,     # IN weights, or empty
    floating[:, ::1] D,                    # OUT first delta
    int out_activation, int loss,
):
    """Fused output layer: activation, loss sum (weighted) and first delta."""
    cdef Py_ssize_t r
    cdef double total = 0
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef bint has_weight = sample_weight.shape[0] > 0
    with nogil:
        for r in range(Z.shape[0]):
            total += output_loss_delta_row(
                out_activation, loss, &Z[r, 0], &intercept[0], &Y[r, 0],
                sample_weight[r] if has_weight else 1, Z.shape[1], eps, &D[r, 0])
    return total
