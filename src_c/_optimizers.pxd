# SPDX-License-Identifier: BSD-3-Clause
# Optimizer steps over the flat parameter buffer, one pass each.
#
# The L2 penalty enters here: the backward pass leaves only the data term in
# `grads`, and the step reads g = grads + l2 * params on the coef part, so no
# separate penalty pass is needed. The same pass returns the new sum of
# squared coefs, which the next batch's reported loss needs. Threads take
# contiguous chunks; per-chunk partial sums are added in chunk order.
# `n_zero` leading gradient entries are reset to zero after use (the sparse
# first-layer gradient accumulates into zeros).
# Arithmetic runs in the parameters' dtype, as the reference's does.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport sqrt, sqrtf

cdef enum:
    SOLVER_SGD = 0
    SOLVER_ADAM = 1
    # Chunks below this size are not worth a thread: the sgd step is
    # bound by memory traffic (about a nanosecond per parameter on one
    # core), adam's by its square root and division (measured: a float64
    # step over 11k parameters took 40 us on one core).
    STEP_MIN_CHUNK = 16384
    ADAM_MIN_CHUNK = 4096
    SUM_LANES = 16


cdef inline double sum_squares(const floating *x, Py_ssize_t n) noexcept nogil:
    # Sixteen independent double accumulators, one per lane of a fixed
    # block: GCC vectorises the block (without -ffast-math it may not
    # reorder one long chain), and a lone add chain would stall on its
    # latency. Measured for 100k float32 with AVX2: 4 accumulators 34 us,
    # 16 accumulators 11 us. The combination order is fixed, so is the
    # result.
    cdef Py_ssize_t j = 0, lane
    cdef double acc[SUM_LANES]
    cdef double total = 0
    for lane in range(SUM_LANES):
        acc[lane] = 0
    while j + SUM_LANES <= n:
        for lane in range(SUM_LANES):
            acc[lane] += <double> x[j + lane] * x[j + lane]
        j += SUM_LANES
    while j < n:
        acc[0] += <double> x[j] * x[j]
        j += 1
    for lane in range(SUM_LANES):
        total += acc[lane]
    return total


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline void _step_range(
    int solver, floating *params, floating *grads, floating *s1, floating *s2,
    Py_ssize_t lo, Py_ssize_t hi, floating l2, floating lr, floating momentum,
    bint nesterov, floating beta_1, floating beta_2, floating one_minus_beta_1,
    floating one_minus_beta_2, floating epsilon,
) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating g, v
    if solver == SOLVER_SGD:
        for j in range(lo, hi):
            g = grads[j] + l2 * params[j]
            v = momentum * s1[j] - lr * g
            s1[j] = v
            if nesterov:
                params[j] = params[j] + (momentum * v - lr * g)
            else:
                params[j] = params[j] + v
    else:
        for j in range(lo, hi):
            g = grads[j] + l2 * params[j]
            s1[j] = beta_1 * s1[j] + one_minus_beta_1 * g
            s2[j] = beta_2 * s2[j] + one_minus_beta_2 * (g * g)
            params[j] = params[j] + (-lr * s1[j] / (_sqrt(s2[j]) + epsilon))


cdef inline void step_chunk(
    int solver, floating *params, floating *grads, floating *s1, floating *s2,
    Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n_coef, Py_ssize_t n_zero,
    double l2, double lr, double momentum, bint nesterov, double beta_1,
    double beta_2, double epsilon, double *partial,
) noexcept nogil:
    """Update params[lo:hi]; store the chunk's sum of squared coefs."""
    cdef Py_ssize_t j
    # 1 - beta in double, then rounded once, as the reference's
    # `(1 - beta_1) * grad` does with a float32 grad. Computed in the
    # parameters' dtype, the loop also stays free of conversions (measured:
    # a float32 adam step took twice as long with them).
    cdef floating one_minus_beta_1 = <floating> (1 - beta_1)
    cdef floating one_minus_beta_2 = <floating> (1 - beta_2)
    if lo < n_coef:
        _step_range(solver, params, grads, s1, s2, lo, min(hi, n_coef),
                    <floating> l2, <floating> lr, <floating> momentum, nesterov,
                    <floating> beta_1, <floating> beta_2, one_minus_beta_1,
                    one_minus_beta_2, <floating> epsilon)
        partial[0] = sum_squares(params + lo, min(hi, n_coef) - lo)
    else:
        partial[0] = 0
    if hi > n_coef:
        _step_range(solver, params, grads, s1, s2, max(lo, n_coef), hi, 0,
                    <floating> lr, <floating> momentum, nesterov,
                    <floating> beta_1, <floating> beta_2, one_minus_beta_1,
                    one_minus_beta_2, <floating> epsilon)
    for j in range(lo, min(hi, n_zero)):
        grads[j] = 0


cdef inline double optimizer_step(
    int solver, floating *params, floating *grads, floating *s1, floating *s2,
    Py_ssize_t n_params, Py_ssize_t n_coef, Py_ssize_t n_zero, double l2,
    double lr, double momentum, bint nesterov, double beta_1, double beta_2,
    double epsilon, double *partials, int n_threads,
) noexcept nogil:
    """One update of every parameter; returns the new sum of squared coefs.

    INOUT params, s1 (velocity or first moment), s2 (second moment); IN grads
    (data term only; the first n_zero entries are zeroed after use). `lr` is
    the step size already bias-corrected for adam. `partials` holds n_threads
    doubles.
    """
    cdef Py_ssize_t c
    cdef Py_ssize_t n_chunks = n_params // (
        ADAM_MIN_CHUNK if solver == SOLVER_ADAM else STEP_MIN_CHUNK)
    cdef double total = 0
    if n_chunks > n_threads:
        n_chunks = n_threads
    if n_chunks < 1:
        n_chunks = 1
    if n_chunks == 1:
        step_chunk(solver, params, grads, s1, s2, 0, n_params, n_coef, n_zero,
                   l2, lr, momentum, nesterov, beta_1, beta_2, epsilon, partials)
        return partials[0]
    for c in prange(n_chunks, schedule='static', num_threads=n_threads):
        step_chunk(solver, params, grads, s1, s2, c * n_params // n_chunks,
                   (c + 1) * n_params // n_chunks, n_coef, n_zero, l2, lr,
                   momentum, nesterov, beta_1, beta_2, epsilon, partials + c)
    for c in range(n_chunks):
        total += partials[c]
    return total
