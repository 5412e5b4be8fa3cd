# SPDX-License-Identifier: BSD-3-Clause
# Matrix products with a narrow dimension, as register-blocked loops.
#
# Small tabular networks (8 features -> 100 units -> 1 output) and few-row
# prediction give products where one dimension is tiny. A GEMM call costs more
# in dispatch and packing than it computes there, and a naive loop that adds
# into the output row for every k is bound by loads and stores of that row.
# These loops keep a tile of 8 output values in 8 local accumulators for the
# whole reduction and store each output once; the compiler turns the 8
# independent scalar chains into SIMD registers (SSE2 by default, AVX2 + FMA in
# the AVX2 build of the kernels).
#
# Every output element is summed in index order, starting from zero, one
# product at a time -- except `dot_rows`, which keeps 8 partial sums so that a
# dot product vectorises (the reduction has no long axis to vectorise along).

from cython cimport floating


cdef inline void narrow_nn(const floating *A, Py_ssize_t n, Py_ssize_t K,
                           const floating *W, Py_ssize_t N,
                           floating *Z) noexcept nogil:
    """Z (n, N) = A (n, K) @ W (K, N), all row-major and contiguous."""
    cdef Py_ssize_t r, k, j
    cdef const floating *a
    cdef const floating *w
    cdef floating *z
    cdef floating x, c0, c1, c2, c3, c4, c5, c6, c7
    for r in range(n):
        a = A + r * K
        z = Z + r * N
        j = 0
        while j + 8 <= N:
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0
            w = W + j
            for k in range(K):
                x = a[k]
                c0 = c0 + x * w[0]
                c1 = c1 + x * w[1]
                c2 = c2 + x * w[2]
                c3 = c3 + x * w[3]
                c4 = c4 + x * w[4]
                c5 = c5 + x * w[5]
                c6 = c6 + x * w[6]
                c7 = c7 + x * w[7]
                w = w + N
            z[j] = c0
            z[j + 1] = c1
            z[j + 2] = c2
            z[j + 3] = c3
            z[j + 4] = c4
            z[j + 5] = c5
            z[j + 6] = c6
            z[j + 7] = c7
            j = j + 8
        while j < N:
            c0 = 0
            for k in range(K):
                c0 = c0 + a[k] * W[k * N + j]
            z[j] = c0
            j = j + 1


cdef inline floating dot(const floating *a, const floating *w,
                         Py_ssize_t K) noexcept nogil:
    """sum_k a[k] * w[k] in 8 interleaved partial sums, combined pairwise."""
    cdef Py_ssize_t k = 0
    cdef floating c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0, c6 = 0, c7 = 0
    while k + 8 <= K:
        c0 = c0 + a[k] * w[k]
        c1 = c1 + a[k + 1] * w[k + 1]
        c2 = c2 + a[k + 2] * w[k + 2]
        c3 = c3 + a[k + 3] * w[k + 3]
        c4 = c4 + a[k + 4] * w[k + 4]
        c5 = c5 + a[k + 5] * w[k + 5]
        c6 = c6 + a[k + 6] * w[k + 6]
        c7 = c7 + a[k + 7] * w[k + 7]
        k = k + 8
    while k < K:
        c0 = c0 + a[k] * w[k]
        k = k + 1
    return ((c0 + c4) + (c2 + c6)) + ((c1 + c5) + (c3 + c7))


cdef inline void dot_rows(const floating *A, Py_ssize_t n, Py_ssize_t K,
                          const floating *w, floating *z) noexcept nogil:
    """z (n,) = A (n, K) @ w (K,): the product with one output column."""
    cdef Py_ssize_t r
    for r in range(n):
        z[r] = dot(A + r * K, w, K)


cdef enum:
    # Rows per block in narrow_tn: a block of D (and of A) stays in the L1/L2
    # cache while every tile of G passes over it. Without blocking, each tile
    # streamed all of D from memory (measured: L-BFGS on 10000-row chunks ran
    # 2x slower than the naive loop).
    TN_BLOCK_VALUES = 4096


cdef inline void narrow_tn(const floating *A, Py_ssize_t lda, Py_ssize_t n,
                           Py_ssize_t K, const floating *D, Py_ssize_t N,
                           floating scale, floating *G) noexcept nogil:
    """G (K, N) = scale * A.T @ D; A is (n, K) inside rows of length lda.

    Rows are taken in cache-sized blocks; within a block each tile of 8
    outputs is loaded into accumulators, summed over the block's rows and
    stored: along j (one k, 8 columns of D) when D is wide enough, else along
    k (8 columns of A, one column of D). Each output is still summed in row
    order from zero, and scaled once at the end.
    """
    cdef Py_ssize_t r0, rb, i
    cdef Py_ssize_t block = max(TN_BLOCK_VALUES // max(N, K), 8)
    for i in range(K * N):
        G[i] = 0
    r0 = 0
    while r0 < n:
        rb = min(block, n - r0)
        _tn_accumulate(A + r0 * lda, lda, rb, K, D + r0 * N, N, G)
        r0 = r0 + rb
    for i in range(K * N):
        G[i] = G[i] * scale


cdef inline void _tn_accumulate(const floating *A, Py_ssize_t lda, Py_ssize_t n,
                                Py_ssize_t K, const floating *D, Py_ssize_t N,
                                floating *G) noexcept nogil:
    """G (K, N) += A.T @ D over n rows, in row order, tile by tile."""
    cdef Py_ssize_t r, k, j
    cdef const floating *a
    cdef const floating *d
    cdef floating *g
    cdef floating x, c0, c1, c2, c3, c4, c5, c6, c7
    if N >= 8:
        for k in range(K):
            j = 0
            while j + 8 <= N:
                g = G + k * N + j
                c0 = g[0]
                c1 = g[1]
                c2 = g[2]
                c3 = g[3]
                c4 = g[4]
                c5 = g[5]
                c6 = g[6]
                c7 = g[7]
                a = A + k
                d = D + j
                for r in range(n):
                    x = a[0]
                    c0 = c0 + x * d[0]
                    c1 = c1 + x * d[1]
                    c2 = c2 + x * d[2]
                    c3 = c3 + x * d[3]
                    c4 = c4 + x * d[4]
                    c5 = c5 + x * d[5]
                    c6 = c6 + x * d[6]
                    c7 = c7 + x * d[7]
                    a = a + lda
                    d = d + N
                g[0] = c0
                g[1] = c1
                g[2] = c2
                g[3] = c3
                g[4] = c4
                g[5] = c5
                g[6] = c6
                g[7] = c7
                j = j + 8
            while j < N:
                c0 = G[k * N + j]
                for r in range(n):
                    c0 = c0 + A[r * lda + k] * D[r * N + j]
                G[k * N + j] = c0
                j = j + 1
        return
    for j in range(N):
        k = 0
        while k + 8 <= K:
            g = G + k * N + j
            c0 = g[0]
            c1 = g[N]
            c2 = g[2 * N]
            c3 = g[3 * N]
            c4 = g[4 * N]
            c5 = g[5 * N]
            c6 = g[6 * N]
            c7 = g[7 * N]
            a = A + k
            d = D + j
            for r in range(n):
                x = d[0]
                c0 = c0 + a[0] * x
                c1 = c1 + a[1] * x
                c2 = c2 + a[2] * x
                c3 = c3 + a[3] * x
                c4 = c4 + a[4] * x
                c5 = c5 + a[5] * x
                c6 = c6 + a[6] * x
                c7 = c7 + a[7] * x
                a = a + lda
                d = d + N
            g[0] = c0
            g[N] = c1
            g[2 * N] = c2
            g[3 * N] = c3
            g[4 * N] = c4
            g[5 * N] = c5
            g[6 * N] = c6
            g[7 * N] = c7
            k = k + 8
        while k < K:
            c0 = G[k * N + j]
            for r in range(n):
                c0 = c0 + A[r * lda + k] * D[r * N + j]
            G[k * N + j] = c0
            k = k + 1
