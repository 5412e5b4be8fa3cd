# SPDX-License-Identifier: BSD-3-Clause
# Inverted dropout of the hidden layers' outputs, during training only.
#
# A kept unit's output is multiplied by scale = 1 / (1 - rate), a dropped
# one's set to zero, so the next layer sees the expected input it sees in
# prediction (which drops nothing). The masks come from the hash of
# _dropout.h. Backprop needs the activation's derivative at the output
# BEFORE the mask (tanh' is 1 - a^2 of the unscaled a), so the forward pass
# also stores factor = act'(a) * scale * mask in a twin of the layer's
# block, and the backward pass multiplies the propagated delta by it.

from cython cimport floating
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "_dropout.h":
    # 1 in the _epoch_dropout modules only (setup.py); see _dropout.h.
    const bint WITH_DROPOUT "FASTMLP_WITH_DROPOUT"
    void fastmlp_drop_rows_f32(
        uint64_t key, const Py_ssize_t *rows, Py_ssize_t row_start,
        Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t width, Py_ssize_t n_layers,
        Py_ssize_t layer, uint32_t below, float scale, float *a,
        float *factor) noexcept nogil
    void fastmlp_drop_rows_f64(
        uint64_t key, const Py_ssize_t *rows, Py_ssize_t row_start,
        Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t width, Py_ssize_t n_layers,
        Py_ssize_t layer, uint32_t below, double scale, double *a,
        double *factor) noexcept nogil
    void fastmlp_multiply_f32(float *d, const float *factor,
                              Py_ssize_t n) noexcept nogil
    void fastmlp_multiply_f64(double *d, const double *factor,
                              Py_ssize_t n) noexcept nogil


cdef inline void drop_rows(
    uint64_t key, const Py_ssize_t *rows, Py_ssize_t row_start, Py_ssize_t r0,
    Py_ssize_t r1, Py_ssize_t width, Py_ssize_t n_layers, Py_ssize_t layer,
    uint32_t below, floating scale, floating *a, floating *factor,
) noexcept nogil:
    """Mask rows r0 .. r1 - 1 of a layer (_dropout.h's fastmlp_drop_rows).

    INOUT a (the layer's outputs) and factor (act'(a) on entry), each
    multiplied by scale where a unit is kept and by 0 where it is dropped.
    """
    if floating is float:
        fastmlp_drop_rows_f32(key, rows, row_start, r0, r1, width, n_layers,
                              layer, below, scale, a, factor)
    else:
        fastmlp_drop_rows_f64(key, rows, row_start, r0, r1, width, n_layers,
                              layer, below, scale, a, factor)


cdef inline void multiply_by(floating *d, const floating *factor,
                             Py_ssize_t n) noexcept nogil:
    """d[j] *= factor[j] over n values. INOUT d, IN factor."""
    if floating is float:
        fastmlp_multiply_f32(d, factor, n)
    else:
        fastmlp_multiply_f64(d, factor, n)
