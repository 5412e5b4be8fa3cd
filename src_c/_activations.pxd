# SPDX-License-Identifier: BSD-3-Clause
# Activation functions and their derivatives, one row at a time.
#
# Codes are plain ints chosen once in Python (fastmlp/_codes.py keeps the same
# numbers); each helper switches on the code once per row, outside the element
# loop, so the element loops stay branch-free and vectorisable. Derivatives
# are written from the activation's OUTPUT, as backprop only keeps outputs.
# Adding an activation: one code here and in _codes.py, one branch in
# `bias_activate_row`, one in `multiply_derivative_row`, and its class in
# fastmlp/numpy_baseline.py (the tests' oracle).
#
# Leaky ReLU, ELU and softplus (codes 6 to 8) are not scikit-learn's. Their
# derivatives, too, are functions of the output, so backprop needs nothing
# more than the stored activations (GELU or SiLU would need the
# pre-activations). They are not branches of the row helpers below: a layer
# using one runs with ACT_IDENTITY there and then takes one extra pass over
# its whole block (`added_activate`, `added_derivative`), out of line in
# _added_activations.h, which says why.

from cython cimport floating
from libc.math cimport exp, expf, tanh, tanhf

cdef enum:
    ACT_IDENTITY = 0
    ACT_LOGISTIC = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_SOFTMAX = 4     # output layer only
    ACT_EXP = 5         # output layer only (poisson loss)
    ACT_LEAKY_RELU = 6  # hidden layers only; _added_activations.h
    ACT_ELU = 7
    ACT_SOFTPLUS = 8


cdef extern from "_added_activations.h":
    void fastmlp_added_activate_f32(int act, float *z, Py_ssize_t n) noexcept nogil
    void fastmlp_added_activate_f64(int act, double *z, Py_ssize_t n) noexcept nogil
    void fastmlp_added_derivative_f32(int act, float *d, const float *a,
                                      Py_ssize_t n) noexcept nogil
    void fastmlp_added_derivative_f64(int act, double *d, const double *a,
                                      Py_ssize_t n) noexcept nogil


cdef inline bint is_added(int act) noexcept nogil:
    """An activation handled by a pass of its own, not by the row helpers."""
    return act >= ACT_LEAKY_RELU


cdef inline int row_activation(int act) noexcept nogil:
    """What the row helpers apply for `act`: the bias alone for an added one."""
    return ACT_IDENTITY if act >= ACT_LEAKY_RELU else act


cdef inline void added_activate(int act, floating *z, Py_ssize_t n) noexcept nogil:
    """z[j] = act(z[j]) over n values (bias already added); an added act."""
    if floating is float:
        fastmlp_added_activate_f32(act, z, n)
    else:
        fastmlp_added_activate_f64(act, z, n)


cdef inline void added_derivative(int act, floating *d, const floating *a,
                                  Py_ssize_t n) noexcept nogil:
    """d[j] *= act'(.) from the outputs a[j], over n values; an added act."""
    if floating is float:
        fastmlp_added_derivative_f32(act, d, a, n)
    else:
        fastmlp_added_derivative_f64(act, d, a, n)


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _logistic(floating x) noexcept nogil:
    # Branch on the sign so exp never overflows: both forms are exact.
    cdef floating e
    if x >= 0:
        return 1 / (1 + _exp(-x))
    e = _exp(x)
    return e / (1 + e)


cdef inline void bias_activate_row(int act, floating *z, const floating *b,
                                   Py_ssize_t n) noexcept nogil:
    """z[j] = act(z[j] + b[j]) for one row of n units. INOUT z, IN b."""
    cdef Py_ssize_t j
    cdef floating m, v
    cdef double s
    if act == ACT_IDENTITY:
        for j in range(n):
            z[j] = z[j] + b[j]
    elif act == ACT_RELU:
        for j in range(n):
            v = z[j] + b[j]
            # Not `v if v > 0`: a NaN must stay NaN (as in np.maximum), not
            # become 0 and turn broken weights into plausible output.
            z[j] = 0 if v <= 0 else v
    elif act == ACT_TANH:
        for j in range(n):
            if floating is float:
                z[j] = tanhf(z[j] + b[j])
            else:
                z[j] = tanh(z[j] + b[j])
    elif act == ACT_LOGISTIC:
        for j in range(n):
            z[j] = _logistic(z[j] + b[j])
    elif act == ACT_EXP:
        for j in range(n):
            z[j] = _exp(z[j] + b[j])
    elif act == ACT_SOFTMAX:
        # Subtract the row max before exp so the largest term is exp(0) = 1.
        m = z[0] + b[0]
        for j in range(n):
            z[j] = z[j] + b[j]
            if z[j] > m:
                m = z[j]
        s = 0
        for j in range(n):
            z[j] = _exp(z[j] - m)
            s += z[j]
        for j in range(n):
            z[j] = <floating> (z[j] / s)


cdef inline void multiply_derivative_row(int act, floating *d, const floating *a,
                                         Py_ssize_t n) noexcept nogil:
    """d[j] *= act'(.) written from the output a[j]. INOUT d, IN a."""
    cdef Py_ssize_t j
    if act == ACT_RELU:
        # Every element is stored, as a select: a store under the condition
        # vectorises to a masked store, which AMD's Zen cores run in
        # microcode (measured: a quarter of a small network's backward pass).
        for j in range(n):
            d[j] = 0 if a[j] == 0 else d[j]
    elif act == ACT_TANH:
        for j in range(n):
            d[j] = d[j] * (1 - a[j] * a[j])
    elif act == ACT_LOGISTIC:
        for j in range(n):
            d[j] = d[j] * a[j] * (1 - a[j])
