# SPDX-License-Identifier: BSD-3-Clause
# Output layer fused with its loss: one pass over a row adds the bias, applies
# the output activation, accumulates the row's loss term and writes the first
# backprop delta (output - target) * sample_weight.
#
# Reported losses follow scikit-learn's definitions exactly: log losses clip
# probabilities to [eps, 1 - eps] with eps the dtype's machine epsilon (the
# gradient uses the unclipped output, as the reference does); squared error is
# halved and averaged over outputs; poisson is the half deviance. The row term
# returned here is weighted by sample_weight; the caller divides once per batch
# (`loss_scale`). Row terms are summed in double.

from cython cimport floating
from libc.math cimport log

from _activations cimport (
    ACT_EXP, ACT_IDENTITY, ACT_LOGISTIC, ACT_SOFTMAX, bias_activate_row,
)

cdef enum:
    LOSS_SQUARED = 0
    LOSS_LOG = 1          # softmax output, multiclass
    LOSS_BINARY_LOG = 2   # logistic outputs, binary and multilabel
    LOSS_POISSON = 3      # exp output


cdef inline double _clipped_log(floating p, floating eps) noexcept nogil:
    if p < eps:
        p = eps
    elif p > 1 - eps:
        p = 1 - eps
    return log(p)


cdef inline double _log1m_clipped(floating p, floating eps) noexcept nogil:
    # log(1 - clip(p, eps, 1 - eps)), as the reference clips p before 1 - p.
    if p < eps:
        p = eps
    elif p > 1 - eps:
        p = 1 - eps
    return log(1 - p)


cdef inline double output_loss_delta_row(
    int out_act, int loss, floating *z, const floating *b, const floating *y,
    floating sw, Py_ssize_t n, floating eps, floating *d,
) noexcept nogil:
    """Finish one output row and return sw * (its loss term).

    INOUT z (pre-activation without bias in, output out); IN b, y; OUT d
    (may be NULL when no gradient is wanted).
    """
    cdef Py_ssize_t j
    cdef double acc = 0
    cdef floating p, t, scale
    bias_activate_row(out_act, z, b, n)
    if loss == LOSS_SQUARED:
        for j in range(n):
            t = y[j] - z[j]
            acc += <double> t * t
    elif loss == LOSS_LOG:
        for j in range(n):
            if y[j] != 0:
                acc -= y[j] * _clipped_log(z[j], eps)
    elif loss == LOSS_BINARY_LOG:
        for j in range(n):
            p = z[j]
            if y[j] != 0:
                acc -= y[j] * _clipped_log(p, eps)
            if y[j] != 1:
                acc -= (1 - y[j]) * _log1m_clipped(p, eps)
    elif loss == LOSS_POISSON:
        for j in range(n):
            if y[j] != 0:
                acc += y[j] * log(y[j] / z[j])
            acc += z[j] - y[j]
    if d != NULL:
        # The reported squared error averages over outputs, so its gradient
        # does too. scikit-learn omits that 1 / n_outputs (its issue #8349);
        # with one output the two agree.
        scale = sw / n if loss == LOSS_SQUARED else sw
        for j in range(n):
            d[j] = (z[j] - y[j]) * scale
    return acc * sw
