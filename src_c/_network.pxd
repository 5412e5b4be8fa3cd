# SPDX-License-Identifier: BSD-3-Clause
# Forward and backward passes of a whole dense network over one batch.
#
# Shared, inline, by the epoch trainer (_epoch.pyx) and by the full-batch
# kernels used for prediction and L-BFGS (_kernels.pyx).
#
# Layout: parameters live in ONE flat buffer in scikit-learn's pack order
# (every coef matrix row-major, then every intercept); `coef_off` and
# `intercept_off` index it. Per-layer outputs (activations) and deltas live in
# two flat workspaces with the same per-layer offsets `act_off[1..n_layers]`;
# a layer's block holds `n_rows * units[l]` values, row-major.
#
# Threads: the caller limits BLAS to one thread for the whole fit, and each
# dense product is split into row blocks (a forward product into a grid of
# row and column blocks when that packs less, see tile_rows), one OpenMP
# thread calling a single-threaded GEMM per block (the k-means pattern). The
# elementwise work that follows a product -- bias + activation, or the
# activation derivative -- runs in the same thread on the same block while it
# is still in cache. Two thread pools (OpenMP's and BLAS's) taking turns on
# the same cores spin against each other; measured on 2 cores that made an
# epoch ten times slower. Below PARALLEL_MIN_MACS a product runs on one
# thread, calling its loop directly: a prange whose if-clause is false still
# makes libgomp start a one-thread team, with futex system calls (measured: 2
# of the 3 us of a single-row 8 -> 100 -> 1 predict). Every output element is
# written by a single thread and reductions run in a fixed order, so a given
# thread count always gives the same bits.
#
# The first layer reads the input either as a dense row-major batch or
# straight from the CSR arrays of the whole X (rows picked through `rows`):
# sparse input is never densified.

from cython cimport floating
from cython.parallel cimport prange
from libc.stdint cimport uint32_t, uint64_t

from _activations cimport (
    ACT_IDENTITY, ACT_RELU, ACT_SOFTMAX, added_activate, added_derivative,
    bias_activate_row, is_added, multiply_derivative_row, row_activation,
)
from _blas cimport gemm_rm
from _dropout cimport WITH_DROPOUT, drop_rows, multiply_by
from _losses cimport LOSS_SQUARED, output_loss_delta_row
from _narrow cimport (
    dot_rows, narrow_nn, narrow_tn, tiles_beat_gemm, tiles_nn_bias, use_tiles,
)

cdef enum:
    # Below this many elements a pass runs on one thread: measured on 2 cores,
    # waking the OpenMP team costs more than the pass itself.
    PARALLEL_MIN_WORK = 32768
    # Likewise for a product, in multiply-adds (~20 us of one core).
    PARALLEL_MIN_MACS = 131072
    # A unit's dropout mask costs about this many elements of a plain pass
    # (two 32-bit multiplies, shifts, a select, two multiplies): estimated
    # from its instructions, not measured. Scales PARALLEL_MIN_WORK's test.
    DROP_WORK_PER_UNIT = 8
    # Products with a dimension this small, or with this few rows, are plain
    # loops vectorised along their long dimension: a GEMM call costs more in
    # dispatch and packing than it computes there (measured: a 200x8x100
    # dgemm ran at 10 GFLOP/s, a 200x100x1 one at 2). The few-rows case is
    # single-row prediction.
    FEW_ROWS = 4
    NARROW = 16
    ACT_NONE = -1
    # Column blocks of a forward product start on multiples of this.
    COLUMN_ALIGN = 16


cdef struct Network:
    Py_ssize_t n_layers            # number of weight layers (len(units) - 1)
    const Py_ssize_t *units        # n_layers + 1 widths, input first
    const Py_ssize_t *coef_off     # n_layers offsets into the flat parameters
    const Py_ssize_t *intercept_off
    const Py_ssize_t *act_off      # n_layers + 1 offsets into the workspaces
    int hidden_act
    int out_act
    int loss
    int n_threads
    # Dropout of the hidden layers' outputs (training only; see _dropout.pxd),
    # in the _epoch_dropout modules only: keep_off is the offset from a
    # layer's block of outputs to its twin block of backprop factors; 0
    # when nothing is dropped.
    Py_ssize_t keep_off
    uint64_t drop_key              # this epoch's mask key
    uint32_t drop_below            # a unit is dropped below this hash value
    double drop_scale              # 1 / (1 - rate)


cdef struct Batch:
    Py_ssize_t n_rows
    const Py_ssize_t *rows         # sample index of each row; NULL: row_start + r
    Py_ssize_t row_start
    const void *dense              # (n_rows, n_features) row-major, NULL if sparse
    const void *csr_data           # CSR arrays of the whole X when sparse
    const Py_ssize_t *csr_indices
    const Py_ssize_t *csr_indptr


cdef inline Py_ssize_t layout_size(
    Py_ssize_t n_layers, const Py_ssize_t *units, const Py_ssize_t *coef_off,
    const Py_ssize_t *intercept_off,
) noexcept nogil:
    """Values a flat parameter buffer of this layout holds; -1 if it is not one.

    The def kernels compare it with the buffer they are given: a buffer of
    another network (a fit in another thread replacing the model while a
    predict reads it) would otherwise be read past its end.
    """
    cdef Py_ssize_t i, end = 0
    if n_layers < 1:
        return -1
    for i in range(n_layers):
        if coef_off[i] != end or units[i] < 1 or units[i + 1] < 1:
            return -1
        end += units[i] * units[i + 1]
    for i in range(n_layers):
        if intercept_off[i] != end:
            return -1
        end += units[i + 1]
    return end


cdef inline Py_ssize_t checked_layout_size(
    const Py_ssize_t[::1] units, const Py_ssize_t[::1] coef_off,
    const Py_ssize_t[::1] intercept_off,
) except -1:
    """layout_size, or ValueError when the offsets are not a parameter layout."""
    cdef Py_ssize_t n_layers = units.shape[0] - 1
    cdef Py_ssize_t size = -1
    if (n_layers >= 1 and coef_off.shape[0] >= n_layers
            and intercept_off.shape[0] >= n_layers):
        size = layout_size(n_layers, &units[0], &coef_off[0], &intercept_off[0])
    if size < 0:
        raise ValueError("the widths and offsets are not a flat parameter layout")
    return size


cdef inline int check_layout(const Py_ssize_t[::1] units,
                             const Py_ssize_t[::1] coef_off,
                             const Py_ssize_t[::1] intercept_off,
                             Py_ssize_t n_params) except -1:
    """Raise ValueError unless a buffer of n_params values has this layout."""
    if checked_layout_size(units, coef_off, intercept_off) != n_params:
        raise ValueError(
            "the flat parameters (%d values) do not match the network's layout"
            % n_params)
    return 0


cdef inline int check_inputs(const Py_ssize_t[::1] units,
                             const Py_ssize_t[::1] coef_off,
                             const Py_ssize_t[::1] intercept_off,
                             const Py_ssize_t[::1] act_off, Py_ssize_t n_params,
                             bint dense, Py_ssize_t n_columns) except -1:
    """Raise ValueError unless params, act_off and dense X fit the network."""
    check_layout(units, coef_off, intercept_off, n_params)
    if act_off.shape[0] < units.shape[0]:
        raise ValueError("act_off needs one offset per layer and the input")
    if dense and n_columns != units[0]:
        raise ValueError("X has %d columns; the network takes %d"
                         % (n_columns, units[0]))
    return 0


cdef inline int check_targets(const Py_ssize_t[::1] units, Py_ssize_t n_rows,
                              Py_ssize_t y_rows, Py_ssize_t y_columns,
                              Py_ssize_t n_weights) except -1:
    """Raise ValueError unless Y is (n_rows, n_outputs) and there are no
    sample weights or one per row."""
    if y_rows != n_rows or y_columns != units[units.shape[0] - 1]:
        raise ValueError("Y has another shape than (n_samples, n_outputs)")
    if n_weights != 0 and n_weights != n_rows:
        raise ValueError("sample_weight has another length than X")
    return 0


cdef inline void init_network(
    Network *net, Py_ssize_t n_layers, const Py_ssize_t *units,
    const Py_ssize_t *coef_off, const Py_ssize_t *intercept_off,
    const Py_ssize_t *act_off, int hidden_act, int out_act, int loss,
    int n_threads,
) noexcept nogil:
    net.n_layers = n_layers
    net.units = units
    net.coef_off = coef_off
    net.intercept_off = intercept_off
    net.act_off = act_off
    net.hidden_act = hidden_act
    net.out_act = out_act
    net.loss = loss
    net.n_threads = n_threads
    net.keep_off = 0
    net.drop_key = 0
    net.drop_below = 0
    net.drop_scale = 1


cdef inline void set_dropout(Network *net, Py_ssize_t keep_off, uint64_t key,
                             uint32_t below, double scale) noexcept nogil:
    """Drop hidden outputs in `forward`; factors at acts + keep_off."""
    net.keep_off = keep_off
    net.drop_key = key
    net.drop_below = below
    net.drop_scale = scale


cdef inline Py_ssize_t sample_of(const Batch *batch, Py_ssize_t r) noexcept nogil:
    if batch.rows != NULL:
        return batch.rows[r]
    return batch.row_start + r


cdef inline bint _parallel(const Network *net, Py_ssize_t work) noexcept nogil:
    return net.n_threads > 1 and work > PARALLEL_MIN_WORK


cdef inline Py_ssize_t _n_blocks(const Network *net, Py_ssize_t n_rows,
                                 Py_ssize_t macs) noexcept nogil:
    """How many row blocks (threads) a product of `macs` multiply-adds gets."""
    if net.n_threads <= 1 or macs < PARALLEL_MIN_MACS:
        return 1
    return min(<Py_ssize_t> net.n_threads, n_rows)


cdef inline bint _nn_uses_gemm(Py_ssize_t n, Py_ssize_t K, Py_ssize_t N,
                               floating *Z) noexcept nogil:
    """Whether product_nn gives (n, K) @ (K, N) to a GEMM call."""
    return n > FEW_ROWS and K > NARROW and N > 1 and not tiles_beat_gemm(Z, n, K, N)


cdef inline bint _nn_uses_tiles(Py_ssize_t n, Py_ssize_t K, Py_ssize_t N,
                                floating *Z) noexcept nogil:
    """Whether product_nn gives (n, K) @ (K, N) to the register tiles."""
    return not _nn_uses_gemm(n, K, N, Z) and use_tiles(Z, n, N)


cdef inline void product_nn(const floating *A, Py_ssize_t n, Py_ssize_t K,
                            const floating *W, Py_ssize_t N,
                            floating *Z) noexcept nogil:
    """Z (n, N) = A (n, K) @ W (K, N), all row-major and contiguous.

    A GEMM call unless the product is narrow, has one column, or is small
    enough for the register tiles to win (tiles_beat_gemm).
    """
    if _nn_uses_gemm(n, K, N, Z):
        gemm_rm(c'n', c'n', <int> n, <int> N, <int> K, 1, A, <int> K, W, <int> N,
                0, Z, <int> N)
    elif N == 1:
        dot_rows(A, n, K, W, Z)
    else:
        narrow_nn(A, n, K, W, N, Z)


cdef inline void product_tn(const floating *A, Py_ssize_t lda, Py_ssize_t n,
                            Py_ssize_t K, const floating *D, Py_ssize_t N,
                            floating scale, floating *G) noexcept nogil:
    """G (K, N) = scale * A.T @ D; A is (n, K) inside rows of length lda.

    A GEMM unless K is narrow, D has one column, or the register tiles win
    (tiles_beat_gemm). For a 256 x 10 output layer the loops cost more than a
    GEMM call (3 % of a large adam epoch).
    """
    if K > NARROW and N > 1 and not tiles_beat_gemm(G, K, n, N):
        gemm_rm(c't', c'n', <int> K, <int> N, <int> n, scale, A, <int> lda, D,
                <int> N, 0, G, <int> N)
    else:
        narrow_tn(A, lda, n, K, D, N, scale, G)


cdef inline void product_nt(const floating *D, Py_ssize_t n, Py_ssize_t N,
                            const floating *W, Py_ssize_t K,
                            floating *P) noexcept nogil:
    """P (n, K) = D (n, N) @ W.T, W being (K, N)."""
    cdef Py_ssize_t r, k
    cdef floating d
    cdef floating *p
    if N > 1:
        gemm_rm(c'n', c't', <int> n, <int> K, <int> N, 1, D, <int> N, W, <int> N,
                0, P, <int> K)
        return
    for r in range(n):
        d = D[r]
        p = P + r * K
        for k in range(K):
            p[k] = d * W[k]


cdef inline Py_ssize_t _batch_nnz(const Batch *batch) noexcept nogil:
    """Stored values in the batch's CSR rows: the work of a sparse product."""
    cdef Py_ssize_t r, s, total = 0
    for r in range(batch.n_rows):
        s = sample_of(batch, r)
        total += batch.csr_indptr[s + 1] - batch.csr_indptr[s]
    return total


cdef inline void _sparse_forward(const Network *net, const Batch *batch,
                                 const floating *W, const floating *b,
                                 floating *Z, int act) noexcept nogil:
    """Z = X[rows] @ W (+ b, activation unless act is ACT_NONE) from CSR."""
    cdef Py_ssize_t r, s, p, j, k
    cdef Py_ssize_t fan_out = net.units[1]
    cdef const floating *data = <const floating *> batch.csr_data
    cdef floating v
    cdef floating *z
    cdef const floating *w
    for r in prange(batch.n_rows, schedule='static', num_threads=net.n_threads,
                    use_threads_if=_n_blocks(net, batch.n_rows,
                                             _batch_nnz(batch) * fan_out) > 1):
        s = sample_of(batch, r)
        z = Z + r * fan_out
        for j in range(fan_out):
            z[j] = 0
        for p in range(batch.csr_indptr[s], batch.csr_indptr[s + 1]):
            k = batch.csr_indices[p]
            v = data[p]
            w = W + k * fan_out
            for j in range(fan_out):
                z[j] = z[j] + v * w[j]
        if act != ACT_NONE:
            bias_activate_row(act, z, b, fan_out)


cdef inline void forward_rows(
    const floating *A, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t fan_in,
    const floating *W, const floating *b, Py_ssize_t fan_out, floating *Z, int act,
) noexcept nogil:
    """Rows r0 .. r1 - 1 of Z = act(A @ W + b)."""
    cdef Py_ssize_t r
    cdef floating *Z0 = Z + r0 * fan_out
    if ((act == ACT_IDENTITY or act == ACT_RELU)
            and _nn_uses_tiles(r1 - r0, fan_in, fan_out, Z0)):
        # The tiles finish the layer before storing it (_narrow_tiles.h),
        # saving a pass that reads and writes the whole output again.
        tiles_nn_bias(A + r0 * fan_in, r1 - r0, fan_in, W, fan_out, b,
                      act == ACT_RELU, Z0)
        return
    product_nn(A + r0 * fan_in, r1 - r0, fan_in, W, fan_out, Z0)
    if act != ACT_NONE:
        for r in range(r0, r1):
            bias_activate_row(act, Z + r * fan_out, b, fan_out)


cdef inline Py_ssize_t tile_rows(Py_ssize_t n_blocks, Py_ssize_t n,
                                 Py_ssize_t fan_in, Py_ssize_t fan_out,
                                 int act) noexcept nogil:
    """Row blocks of a forward product cut into n_blocks tiles, one per thread.

    The tiles form a grid of rows x (n_blocks / rows) blocks. Each thread's
    GEMM packs its rows of the batch (n / rows x fan_in) and its columns of
    the weights (fan_in x fan_out / cols): the grid with the fewest values
    to pack per thread wins, ties going to fewer column blocks. Measured on
    one core, the time of all the tiles of a 200 x 784 x 256 sgemm over the
    uncut product's (the work a split adds, paid by every thread): 2 tiles
    as 1 x 2 1.00; 4 tiles 1 x 4 1.09, 2 x 2 1.07, 4 x 1 1.19; 8 tiles
    1 x 8 1.26, 2 x 4 1.14, 4 x 2 1.23; 16 tiles 1 x 16 1.57, 2 x 8 1.26,
    4 x 4 1.28, 16 x 1 1.61. For two threads and a training batch this is
    the column split (200 rows against 256 units: 750 us against 870 us per
    half of the sgemm). Only elementwise activations can be applied to a
    block of columns, and each column block needs 2 * COLUMN_ALIGN units:
    its edges are rounded down to multiples of COLUMN_ALIGN.
    """
    cdef Py_ssize_t rows, cols, cost
    cdef Py_ssize_t best = n_blocks
    # Values packed per thread, times n_blocks / fan_in.
    cdef Py_ssize_t best_cost = n + fan_out * n_blocks
    if n <= FEW_ROWS or fan_in <= NARROW or act == ACT_SOFTMAX:
        return n_blocks
    for rows in range(n_blocks - 1, 0, -1):
        cols = n_blocks // rows
        if rows * cols != n_blocks or fan_out < 2 * COLUMN_ALIGN * cols:
            continue
        cost = n * cols + fan_out * rows
        if cost < best_cost:
            best = rows
            best_cost = cost
    return best


cdef inline void _forward_tiles(
    const floating *A, Py_ssize_t n, Py_ssize_t fan_in, const floating *W,
    const floating *b, Py_ssize_t fan_out, floating *Z, int act,
    Py_ssize_t n_blocks, Py_ssize_t row_blocks,
) noexcept nogil:
    """Z = act(A @ W + b), each thread computing one tile of a grid over Z.

    The grid has row_blocks blocks of rows, n_blocks / row_blocks of columns.
    """
    cdef Py_ssize_t blk, r, r0, r1, c0, c1, ri, ci
    cdef Py_ssize_t col_blocks = n_blocks // row_blocks
    for blk in prange(n_blocks, schedule='static', num_threads=n_blocks):
        ri = blk // col_blocks
        ci = blk % col_blocks
        r0 = ri * n // row_blocks
        r1 = (ri + 1) * n // row_blocks
        # Block edges on multiples of COLUMN_ALIGN keep each thread's rows
        # of Z on whole vectors and cache lines.
        c0 = (ci * fan_out // col_blocks) // COLUMN_ALIGN * COLUMN_ALIGN
        c1 = fan_out if ci == col_blocks - 1 else (
            ((ci + 1) * fan_out // col_blocks) // COLUMN_ALIGN * COLUMN_ALIGN)
        gemm_rm(c'n', c'n', <int> (r1 - r0), <int> (c1 - c0), <int> fan_in, 1,
                A + r0 * fan_in, <int> fan_in, W + c0, <int> fan_out, 0,
                Z + r0 * fan_out + c0, <int> fan_out)
        if act != ACT_NONE:
            for r in range(r0, r1):
                bias_activate_row(act, Z + r * fan_out + c0, b + c0, c1 - c0)


cdef inline void forward(const Network *net, const floating *params,
                         const Batch *batch, floating *acts) noexcept nogil:
    """Every hidden layer's output, and the output layer's X @ W (no bias yet).

    IN params, batch; OUT acts. The caller finishes the output layer: with
    its loss (`output_loss_delta`) or with its activation (`finish_output`).
    """
    forward_from(net, params, batch, acts, 0)


cdef inline void forward_from(const Network *net, const floating *params,
                              const Batch *batch, floating *acts,
                              Py_ssize_t first) noexcept nogil:
    """`forward` from layer `first` on, the layers below it already in acts."""
    cdef Py_ssize_t i
    if WITH_DROPOUT and net.keep_off != 0:
        _forward_dropped(net, params, batch, acts, first)
        return
    if not is_added(net.hidden_act):
        _forward_layers(net, params, batch, acts, first, net.n_layers)
        return
    # An added activation: each hidden layer with its bias alone, then the
    # activation over the layer's whole block (see _activations.pxd).
    for i in range(first, net.n_layers):
        _forward_layers(net, params, batch, acts, i, i + 1)
        if i + 1 < net.n_layers:
            added_activate(net.hidden_act, acts + net.act_off[i + 1],
                           batch.n_rows * net.units[i + 1])


cdef inline void _forward_dropped(const Network *net, const floating *params,
                                  const Batch *batch, floating *acts,
                                  Py_ssize_t first) noexcept nogil:
    """`forward_from` with dropout: each hidden layer, then its mask."""
    cdef Py_ssize_t i
    for i in range(first, net.n_layers):
        _forward_layers(net, params, batch, acts, i, i + 1)
        if i + 1 == net.n_layers:
            break
        if is_added(net.hidden_act):
            added_activate(net.hidden_act, acts + net.act_off[i + 1],
                           batch.n_rows * net.units[i + 1])
        _drop_layer(net, batch, acts, i + 1)


cdef inline void _drop_layer(const Network *net, const Batch *batch,
                             floating *acts, Py_ssize_t layer) noexcept nogil:
    """Dropout over the outputs of hidden layer `layer` (1 .. n_layers - 1).

    Row r's mask is keyed by its sample index, not its place in the batch:
    a thread given part of a batch draws the same mask for it.
    """
    cdef Py_ssize_t blk
    cdef Py_ssize_t n = batch.n_rows
    cdef Py_ssize_t width = net.units[layer]
    cdef Py_ssize_t n_blocks = net.n_threads
    if not _parallel(net, n * width * DROP_WORK_PER_UNIT):
        # A prange, even with a false if-clause, starts a team (see top).
        _drop_layer_rows(net, batch, acts, layer, 0, n)
        return
    for blk in prange(n_blocks, schedule='static', num_threads=n_blocks):
        _drop_layer_rows(net, batch, acts, layer, blk * n // n_blocks,
                         (blk + 1) * n // n_blocks)


cdef inline void _drop_layer_rows(const Network *net, const Batch *batch,
                                  floating *acts, Py_ssize_t layer,
                                  Py_ssize_t r0, Py_ssize_t r1) noexcept nogil:
    cdef Py_ssize_t r, e
    cdef Py_ssize_t width = net.units[layer]
    cdef floating *A = acts + net.act_off[layer]
    cdef floating *F = A + net.keep_off
    # F = act'(A) while A is still unmasked: the backward helpers, on ones.
    for e in range(r0 * width, r1 * width):
        F[e] = 1
    if is_added(net.hidden_act):
        added_derivative(net.hidden_act, F + r0 * width, A + r0 * width,
                         (r1 - r0) * width)
    else:
        for r in range(r0, r1):
            multiply_derivative_row(net.hidden_act, F + r * width, A + r * width,
                                    width)
    drop_rows(net.drop_key, batch.rows, batch.row_start, r0, r1, width,
              net.n_layers, layer, net.drop_below, <floating> net.drop_scale, A, F)


cdef inline void _forward_layers(const Network *net, const floating *params,
                                 const Batch *batch, floating *acts,
                                 Py_ssize_t first, Py_ssize_t last) noexcept nogil:
    """Layers first .. last - 1 of `forward`, hidden ones by the row helpers."""
    cdef Py_ssize_t i, blk, n_blocks, row_blocks
    cdef Py_ssize_t n = batch.n_rows
    cdef Py_ssize_t fan_in, fan_out
    cdef const floating *a_prev
    cdef const floating *W
    cdef const floating *b
    cdef floating *Z
    cdef int act
    for i in range(first, last):
        fan_in = net.units[i]
        fan_out = net.units[i + 1]
        W = params + net.coef_off[i]
        b = params + net.intercept_off[i]
        Z = acts + net.act_off[i + 1]
        act = row_activation(net.hidden_act) if i + 1 < net.n_layers else ACT_NONE
        if i == 0 and batch.dense == NULL:
            _sparse_forward(net, batch, W, b, Z, act)
            continue
        if i == 0:
            a_prev = <const floating *> batch.dense
        else:
            a_prev = acts + net.act_off[i]
        n_blocks = _n_blocks(net, n, n * fan_in * fan_out)
        if n_blocks == 1:
            forward_rows(a_prev, 0, n, fan_in, W, b, fan_out, Z, act)
            continue
        row_blocks = tile_rows(n_blocks, n, fan_in, fan_out, act)
        if row_blocks < n_blocks:
            _forward_tiles(a_prev, n, fan_in, W, b, fan_out, Z, act, n_blocks,
                           row_blocks)
            continue
        for blk in prange(n_blocks, schedule='static', num_threads=net.n_threads):
            forward_rows(a_prev, blk * n // n_blocks, (blk + 1) * n // n_blocks,
                         fan_in, W, b, fan_out, Z, act)


cdef inline void finish_output(const Network *net, const floating *params,
                               Py_ssize_t n, floating *acts) noexcept nogil:
    """Add the output bias and apply the output activation (prediction)."""
    cdef Py_ssize_t r
    cdef Py_ssize_t n_out = net.units[net.n_layers]
    cdef const floating *b = params + net.intercept_off[net.n_layers - 1]
    cdef floating *Z = acts + net.act_off[net.n_layers]
    if not _parallel(net, n * n_out):
        for r in range(n):
            bias_activate_row(net.out_act, Z + r * n_out, b, n_out)
        return
    for r in prange(n, schedule='static', num_threads=net.n_threads):
        bias_activate_row(net.out_act, Z + r * n_out, b, n_out)


cdef inline double output_loss_delta(
    const Network *net, const floating *params, const Batch *batch,
    const floating *Y, const floating *sample_weight, floating eps,
    floating *acts, floating *deltas, double *row_loss,
) noexcept nogil:
    """Finish the output layer, fill its delta, return the summed weighted loss.

    IN Y (n_samples, n_outputs) indexed through the batch rows, sample_weight
    (NULL: ones); INOUT acts; OUT deltas (NULL: no gradient), row_loss
    (n_rows scratch: per-row terms are summed afterwards in row order, so the
    total does not depend on the thread count).
    """
    cdef Py_ssize_t r
    cdef Py_ssize_t n = batch.n_rows
    cdef Py_ssize_t n_out = net.units[net.n_layers]
    cdef const floating *b = params + net.intercept_off[net.n_layers - 1]
    cdef floating *Z = acts + net.act_off[net.n_layers]
    cdef floating *D = NULL
    cdef double total = 0
    if deltas != NULL:
        D = deltas + net.act_off[net.n_layers]
    if not _parallel(net, n * n_out * 8):
        for r in range(n):
            total += _row_loss_delta(net, batch, r, Z, b, Y, sample_weight, eps, D)
        return total
    for r in prange(n, schedule='static', num_threads=net.n_threads):
        row_loss[r] = _row_loss_delta(net, batch, r, Z, b, Y, sample_weight, eps, D)
    for r in range(n):
        total += row_loss[r]
    return total


cdef inline double _row_loss_delta(
    const Network *net, const Batch *batch, Py_ssize_t r, floating *Z,
    const floating *b, const floating *Y, const floating *sample_weight,
    floating eps, floating *D,
) noexcept nogil:
    cdef Py_ssize_t n_out = net.units[net.n_layers]
    cdef Py_ssize_t s = sample_of(batch, r)
    cdef floating sw = sample_weight[s] if sample_weight != NULL else 1
    return output_loss_delta_row(
        net.out_act, net.loss, Z + r * n_out, b, Y + s * n_out, sw, n_out, eps,
        (D + r * n_out) if D != NULL else NULL)


cdef inline double batch_data_loss(const Network *net, double loss_sum,
                                   double sw_sum) noexcept nogil:
    """Scale a summed loss as the reference reports it."""
    if net.loss == LOSS_SQUARED:
        return 0.5 * loss_sum / (sw_sum * net.units[net.n_layers])
    return loss_sum / sw_sum


cdef inline double batch_weight_sum(const Batch *batch,
                                    const floating *sample_weight) noexcept nogil:
    cdef Py_ssize_t r
    cdef double total = 0
    if sample_weight == NULL:
        return batch.n_rows
    for r in range(batch.n_rows):
        total += sample_weight[sample_of(batch, r)]
    return total


cdef inline void _column_sums(const Network *net, const floating *D, Py_ssize_t n,
                              Py_ssize_t width, double scale, floating *out,
                              double *acc) noexcept nogil:
    """out[j] = scale * sum_r D[r, j], each column summed in row order by one thread."""
    cdef Py_ssize_t blk
    cdef Py_ssize_t n_blocks = 1
    if _parallel(net, n * width) and width >= net.n_threads:
        n_blocks = net.n_threads
    if n_blocks == 1:
        _sum_columns(D, n, width, 0, width, scale, out, acc)
        return
    for blk in prange(n_blocks, schedule='static', num_threads=net.n_threads):
        _sum_columns(D, n, width, blk * width // n_blocks,
                     (blk + 1) * width // n_blocks, scale, out, acc)


cdef inline void _sum_columns(const floating *D, Py_ssize_t n, Py_ssize_t width,
                              Py_ssize_t j0, Py_ssize_t j1, double scale,
                              floating *out, double *acc) noexcept nogil:
    # Eight columns at a time in local sums that stay in registers down the
    # rows: adding each row into acc[] in memory instead stalled on the
    # stores (a third of a small network's backward pass). Every column is
    # still summed in row order.
    cdef Py_ssize_t _r, r, j, tail
    cdef const floating *col
    cdef double s0, s1, s2, s3, s4, s5, s6, s7
    j = j0
    while j + 8 <= j1:
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
        col = D + j
        for _r in range(n):
            s0 = s0 + col[0]
            s1 = s1 + col[1]
            s2 = s2 + col[2]
            s3 = s3 + col[3]
            s4 = s4 + col[4]
            s5 = s5 + col[5]
            s6 = s6 + col[6]
            s7 = s7 + col[7]
            col = col + width
        out[j] = <floating> (s0 * scale)
        out[j + 1] = <floating> (s1 * scale)
        out[j + 2] = <floating> (s2 * scale)
        out[j + 3] = <floating> (s3 * scale)
        out[j + 4] = <floating> (s4 * scale)
        out[j + 5] = <floating> (s5 * scale)
        out[j + 6] = <floating> (s6 * scale)
        out[j + 7] = <floating> (s7 * scale)
        j = j + 8
    # The last j1 - j < 8 columns.
    tail = j
    for j in range(tail, j1):
        acc[j] = 0
    for r in range(n):
        col = D + r * width
        for j in range(tail, j1):
            acc[j] += col[j]
    for j in range(tail, j1):
        out[j] = <floating> (acc[j] * scale)


cdef inline void _sparse_coef_grad(const Network *net, const Batch *batch,
                                   const floating *D, double scale,
                                   floating *G) noexcept nogil:
    """G += scale * X[rows].T @ D from CSR; G must hold zeros on entry.

    Threads split the columns of G, so no two threads write one element.
    """
    cdef Py_ssize_t blk, r, s, p, j, k, j0, j1
    cdef Py_ssize_t fan_out = net.units[1]
    cdef Py_ssize_t n_blocks = 1
    cdef const floating *data = <const floating *> batch.csr_data
    cdef const floating *d
    cdef floating *g
    cdef floating v
    if fan_out >= net.n_threads:
        n_blocks = _n_blocks(net, fan_out, _batch_nnz(batch) * fan_out)
    for blk in prange(n_blocks, schedule='static', num_threads=net.n_threads,
                      use_threads_if=n_blocks > 1):
        j0 = blk * fan_out // n_blocks
        j1 = (blk + 1) * fan_out // n_blocks
        for r in range(batch.n_rows):
            s = sample_of(batch, r)
            d = D + r * fan_out
            for p in range(batch.csr_indptr[s], batch.csr_indptr[s + 1]):
                k = batch.csr_indices[p]
                v = <floating> (data[p] * scale)
                g = G + k * fan_out
                for j in range(j0, j1):
                    g[j] = g[j] + v * d[j]


cdef inline void backward(const Network *net, const floating *params,
                          const Batch *batch, const floating *acts,
                          floating *deltas, floating *grads, double scale,
                          double *acc) noexcept nogil:
    """Data-term gradients, scaled by `scale` (1 / sum of weights).

    IN acts, and deltas of the output layer; OUT the other deltas and grads
    (flat layout; the L2 term is added by the caller). When the input is
    sparse the first coef block of grads must hold zeros on entry. `acc` is
    double scratch as wide as the widest layer.
    """
    cdef Py_ssize_t i, blk, k0, k1, n_blocks
    cdef Py_ssize_t n = batch.n_rows
    cdef Py_ssize_t fan_in, fan_out
    cdef const floating *a_prev
    cdef const floating *A
    cdef const floating *W
    cdef floating *D
    cdef floating *D_prev
    cdef floating *G
    # With dropout A holds masked outputs: the deltas take the factors
    # stored beside them instead of act'(A).
    cdef Network linear
    cdef const Network *delta_net = net
    if WITH_DROPOUT and net.keep_off != 0:
        linear = net[0]
        linear.hidden_act = ACT_IDENTITY
        delta_net = &linear
    for i in range(net.n_layers - 1, -1, -1):
        fan_in = net.units[i]
        fan_out = net.units[i + 1]
        D = deltas + net.act_off[i + 1]
        if i == 0 and batch.dense == NULL:
            _sparse_coef_grad(net, batch, D, scale, grads + net.coef_off[0])
        else:
            if i == 0:
                a_prev = <const floating *> batch.dense
            else:
                a_prev = acts + net.act_off[i]
            # G = scale * A_prev.T @ D, split by rows of G (columns of
            # A_prev): each element is one thread's full sum over the batch.
            G = grads + net.coef_off[i]
            n_blocks = _n_blocks(net, fan_in, n * fan_in * fan_out)
            if n_blocks == 1:
                product_tn(a_prev, fan_in, n, fan_in, D, fan_out, <floating> scale, G)
            else:
                for blk in prange(n_blocks, schedule='static',
                                  num_threads=net.n_threads):
                    k0 = blk * fan_in // n_blocks
                    k1 = (blk + 1) * fan_in // n_blocks
                    product_tn(a_prev + k0, fan_in, n, k1 - k0, D, fan_out,
                               <floating> scale, G + k0 * fan_out)
        _column_sums(net, D, n, fan_out, scale, grads + net.intercept_off[i], acc)
        if i == 0:
            break
        W = params + net.coef_off[i]
        D_prev = deltas + net.act_off[i]
        A = acts + net.act_off[i]
        n_blocks = _n_blocks(net, n, n * fan_in * fan_out)
        if n_blocks == 1:
            _delta_rows(delta_net, D, 0, n, fan_out, W, fan_in, A, D_prev)
        else:
            for blk in prange(n_blocks, schedule='static',
                              num_threads=net.n_threads):
                _delta_rows(delta_net, D, blk * n // n_blocks,
                            (blk + 1) * n // n_blocks, fan_out, W, fan_in, A,
                            D_prev)
        if WITH_DROPOUT and net.keep_off != 0:
            multiply_by(D_prev, A + net.keep_off, n * fan_in)
        elif is_added(net.hidden_act):
            added_derivative(net.hidden_act, D_prev, A, n * fan_in)


cdef inline void _delta_rows(
    const Network *net, const floating *D, Py_ssize_t r0, Py_ssize_t r1,
    Py_ssize_t fan_out, const floating *W, Py_ssize_t fan_in, const floating *A,
    floating *D_prev,
) noexcept nogil:
    """Rows r0 .. r1 - 1 of D_prev = (D @ W.T) * act'(A)."""
    cdef Py_ssize_t r
    product_nt(D + r0 * fan_out, r1 - r0, fan_out, W, fan_in, D_prev + r0 * fan_in)
    for r in range(r0, r1):
        multiply_derivative_row(row_activation(net.hidden_act), D_prev + r * fan_in,
                                A + r * fan_in, fan_in)


# ------------------------------------------------ batches split between threads
#
# L-BFGS evaluations (row chunks per thread) and small-network epochs (a batch
# split by rows) both run whole passes on parts of a batch, each thread into
# its own workspace and gradient, and then add the gradients in thread order.


cdef inline Batch row_range(const Batch *batch, Py_ssize_t r0, Py_ssize_t n_rows,
                            Py_ssize_t row_bytes) noexcept nogil:
    """Rows r0 .. r0 + n_rows - 1 of `batch` as a batch of their own.

    `row_bytes` is the size of one dense input row (unused for sparse input).
    """
    cdef Batch part = batch[0]
    part.n_rows = n_rows
    if batch.rows != NULL:
        part.rows = batch.rows + r0
    else:
        part.row_start = batch.row_start + r0
    if batch.dense != NULL:
        part.dense = <const char *> batch.dense + r0 * row_bytes
    return part


cdef inline double loss_grad_rows(
    const Network *net, const floating *params, const Batch *batch,
    const floating *Y, const floating *sample_weight, floating eps, double scale,
    floating *acts, floating *deltas, floating *grads, double *row_loss,
    double *acc,
) noexcept nogil:
    """Forward, output loss and backward over one batch.

    Returns the summed weighted loss; OUT grads (data term times `scale`; a
    sparse first layer's block must hold zeros on entry, see backward).
    """
    cdef double loss_sum
    forward(net, params, batch, acts)
    loss_sum = output_loss_delta(net, params, batch, Y, sample_weight, eps, acts,
                                 deltas, row_loss)
    backward(net, params, batch, acts, deltas, grads, scale, acc)
    return loss_sum


cdef inline void add_gradients(floating *grads, const floating *others,
                               Py_ssize_t n_others, Py_ssize_t n_params,
                               Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """grads[lo:hi] += each of the n_others gradients stored after one another.

    The others are added in their order, so for a given split the sum, and
    its bits, do not depend on which thread ran what.
    """
    cdef Py_ssize_t t, i
    cdef const floating *other
    for t in range(n_others):
        other = others + t * n_params
        for i in range(lo, hi):
            grads[i] = grads[i] + other[i]
