# SPDX-License-Identifier: BSD-3-Clause
# Row-major GEMM over scipy.linalg.cython_blas. Nothing links to BLAS at build
# time: the routines come from the installed SciPy at import time.
#
# BLAS is column-major and a row-major matrix is its transpose there, so
# C = op(A) op(B) in row-major is C^T = op(B)^T op(A)^T in column-major: swap
# the operands and m/n. A leading dimension is the row length of the stored,
# untransposed array. SciPy's declarations lack `const`, hence the casts.

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm_rm(char ta, char tb, int m, int n, int k, floating alpha,
                         const floating *A, int lda, const floating *B, int ldb,
                         floating beta, floating *C, int ldc) noexcept nogil:
    if m == 0 or n == 0:
        return
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> B, &ldb, <float *> A, &lda,
              &beta, C, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> B, &ldb, <double *> A, &lda,
              &beta, C, &ldc)
