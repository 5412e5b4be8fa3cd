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
    # Chunks below this size are not worth a thread.
    STEP_MIN_CHUNK = 16384


cdef inline double sum_squares(const floating *x, Py_ssize_t n) noexcept nogil:
    # Four independent accumulators: one double add chain would stall on
    # its latency (measured: the serial sum over 200k coefs took a tenth of
    # an Adam epoch). The combination order is fixed, so the result is too.
    cdef Py_ssize_t j = 0
    cdef double a0 = 0, a1 = 0, a2 = 0, a3 = 0
    while j + 4 <= n:
        a0 += <double> x[j] * x[j]
        a1 += <double> x[j + 1] * x[j + 1]
        a2 += <double> x[j + 2] * x[j + 2]
        a3 += <double> x[j + 3] * x[j + 3]
        j += 4
    while j < n:
        a0 += <double> x[j] * x[j]
        j += 1
    return (a0 + a1) + (a2 + a3)


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline void _step_range(
    int solver, floating *params, floating *grads, floating *s1, floating *s2,
    Py_ssize_t lo, Py_ssize_t hi, floating l2, floating lr, floating momentum,
    bint nesterov, floating beta_1, floating beta_2, floating epsilon,
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
            s1[j] = beta_1 * s1[j] + (1 - beta_1) * g
            s2[j] = beta_2 * s2[j] + (1 - beta_2) * (g * g)
            params[j] = params[j] + (-lr * s1[j] / (_sqrt(s2[j]) + epsilon))


cdef inline void _step_chunk(
    int solver, floating *params, floating *grads, floating *s1, floating *s2,
    Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n_coef, Py_ssize_t n_zero,
    double l2, double lr, double momentum, bint nesterov, double beta_1,
    double beta_2, double epsilon, double *partial,
) noexcept nogil:
    """Update params[lo:hi]; store the chunk's sum of squared coefs."""
    cdef Py_ssize_t j
    if lo < n_coef:
        _step_range(solver, params, grads, s1, s2, lo, min(hi, n_coef),
                    <floating> l2, <floating> lr, <floating> momentum, nesterov,
                    <floating> beta_1, <floating> beta_2, <floating> epsilon)
        partial[0] = sum_squares(params + lo, min(hi, n_coef) - lo)
    else:
        partial[0] = 0
    if hi > n_coef:
        _step_range(solver, params, grads, s1, s2, max(lo, n_coef), hi, 0,
                    <floating> lr, <floating> momentum, nesterov,
                    <floating> beta_1, <floating> beta_2, <floating> epsilon)
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
    cdef Py_ssize_t n_chunks = n_params // STEP_MIN_CHUNK
    cdef double total = 0
    if n_chunks > n_threads:
        n_chunks = n_threads
    if n_chunks < 1:
        n_chunks = 1
    if n_chunks == 1:
        _step_chunk(solver, params, grads, s1, s2, 0, n_params, n_coef, n_zero,
                    l2, lr, momentum, nesterov, beta_1, beta_2, epsilon, partials)
        return partials[0]
    for c in prange(n_chunks, schedule='static', num_threads=n_threads):
        _step_chunk(solver, params, grads, s1, s2, c * n_params // n_chunks,
                    (c + 1) * n_params // n_chunks, n_coef, n_zero, l2, lr,
                    momentum, nesterov, beta_1, beta_2, epsilon, partials + c)
    for c in range(n_chunks):
        total += partials[c]
    return total
