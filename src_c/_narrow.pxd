# SPDX-License-Identifier: BSD-3-Clause
# Matrix products with a narrow dimension, as vectorisable loops, and the
# register tiles that also take mid-sized products in the AVX2 build.
#
# Small tabular networks (8 features -> 100 units -> 1 output) and few-row
# prediction give products where one dimension is tiny. A GEMM call costs more
# in dispatch and packing than it computes there. A plain loop that adds one
# product at a time into an output row is bound by that row's loads and
# stores, so these loops add four products per pass,
#     z[j] = z[j] + a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j],
# which C evaluates left to right: each output is still summed in index
# order, one product at a time, exactly as the plain loop does. The compiler
# vectorises the pass along j (measured for 200 x 8 x 100 in float64: 2.9 ->
# 7.0 GMAC/s with SSE2, 5.2 -> 10.2 with AVX2 + FMA). Keeping a tile of
# outputs in scalar accumulators instead was slower: GCC vectorised it across
# the reduction with shuffles.
#
# `dot_rows` is the exception to the summation order: a dot product has no
# long axis to vectorise along, so it keeps 8 partial sums.

from cython cimport floating

cdef extern from "_narrow_tiles.h":
    bint FASTMLP_HAVE_TILES
    # Register-tiled products, AVX2 + FMA builds only (FASTMLP_HAVE_TILES);
    # with `bias`, each output also gets its bias and, with `relu`, the ReLU.
    void fastmlp_tiles_f64(const double *a, Py_ssize_t a_rs, Py_ssize_t a_ps,
                           const double *b, Py_ssize_t b_ps, Py_ssize_t n_red,
                           Py_ssize_t n_rows, Py_ssize_t n_cols, double scale,
                           const double *bias, int relu, double *c,
                           Py_ssize_t ldc) noexcept nogil
    void fastmlp_tiles_f32(const float *a, Py_ssize_t a_rs, Py_ssize_t a_ps,
                           const float *b, Py_ssize_t b_ps, Py_ssize_t n_red,
                           Py_ssize_t n_rows, Py_ssize_t n_cols, float scale,
                           const float *bias, int relu, float *c,
                           Py_ssize_t ldc) noexcept nogil

cdef enum:
    # Tiles take four rows at a time; below that, and for outputs narrower
    # than one register, the loops are as fast.
    TILE_MIN_ROWS = 4
    # Each 4-row tile streams the whole (n_red, n_cols) operand b. While b
    # stays in L2 the tiles beat a GEMM call, which packs both operands
    # first (one core, tiles / GEMM: float64 100x100x100 1.16, 100x50x100
    # 1.2; float32 100x100x100 1.06-1.17); past it they lose (float64
    # 100x256x256 0.63-0.73, float32 200x256x256 0.85).
    TILE_MAX_STREAM_BYTES = 98304


cdef inline Py_ssize_t _lanes(floating *dummy) noexcept nogil:
    """Values per AVX2 register."""
    return 8 if floating is float else 4


cdef inline bint use_tiles(floating *dummy, Py_ssize_t n_rows,
                           Py_ssize_t n_cols) noexcept nogil:
    """Whether the register tiles take a product with these output sizes."""
    return FASTMLP_HAVE_TILES and n_rows >= TILE_MIN_ROWS and n_cols >= _lanes(dummy)


cdef inline bint tiles_beat_gemm(floating *dummy, Py_ssize_t n_rows,
                                 Py_ssize_t n_red, Py_ssize_t n_cols) noexcept nogil:
    """Whether the tiles outrun a GEMM call on this mid-sized product.

    Outputs narrower than one full tile (3 registers) are left to the GEMM:
    their masked last columns cost more than packing (float32 100x100x10:
    0.67 of the GEMM's speed).
    """
    return (use_tiles(dummy, n_rows, n_cols) and n_cols >= 3 * _lanes(dummy)
            and n_red * n_cols * <Py_ssize_t> sizeof(floating) <= TILE_MAX_STREAM_BYTES)


cdef inline void _tiles(const floating *a, Py_ssize_t a_rs, Py_ssize_t a_ps,
                        const floating *b, Py_ssize_t b_ps, Py_ssize_t n_red,
                        Py_ssize_t n_rows, Py_ssize_t n_cols, floating scale,
                        const floating *bias, bint relu, floating *c,
                        Py_ssize_t ldc) noexcept nogil:
    if floating is float:
        fastmlp_tiles_f32(a, a_rs, a_ps, b, b_ps, n_red, n_rows, n_cols, scale,
                          bias, relu, c, ldc)
    else:
        fastmlp_tiles_f64(a, a_rs, a_ps, b, b_ps, n_red, n_rows, n_cols, scale,
                          bias, relu, c, ldc)


cdef inline void tiles_nn_bias(const floating *A, Py_ssize_t n, Py_ssize_t K,
                               const floating *W, Py_ssize_t N, const floating *b,
                               bint relu, floating *Z) noexcept nogil:
    """Z = A @ W + b, then the ReLU if `relu`, in the tiles (use_tiles)."""
    _tiles(A, K, 1, W, N, K, n, N, 1, b, relu, Z, N)


cdef inline void narrow_nn(const floating *A, Py_ssize_t n, Py_ssize_t K,
                           const floating *W, Py_ssize_t N,
                           floating *Z) noexcept nogil:
    """Z (n, N) = A (n, K) @ W (K, N), all row-major and contiguous."""
    cdef Py_ssize_t r, k, j
    cdef const floating *a
    cdef const floating *w0
    cdef const floating *w1
    cdef const floating *w2
    cdef const floating *w3
    cdef floating *z
    cdef floating a0, a1, a2, a3
    if use_tiles(Z, n, N):
        _tiles(A, K, 1, W, N, K, n, N, 1, NULL, False, Z, N)
        return
    for r in range(n):
        a = A + r * K
        z = Z + r * N
        for j in range(N):
            z[j] = 0
        k = 0
        while k + 4 <= K:
            a0 = a[k]
            a1 = a[k + 1]
            a2 = a[k + 2]
            a3 = a[k + 3]
            w0 = W + k * N
            w1 = w0 + N
            w2 = w1 + N
            w3 = w2 + N
            for j in range(N):
                z[j] = z[j] + a0 * w0[j] + a1 * w1[j] + a2 * w2[j] + a3 * w3[j]
            k = k + 4
        while k < K:
            a0 = a[k]
            w0 = W + k * N
            for j in range(N):
                z[j] = z[j] + a0 * w0[j]
            k = k + 1


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


cdef inline void narrow_tn(const floating *A, Py_ssize_t lda, Py_ssize_t n,
                           Py_ssize_t K, const floating *D, Py_ssize_t N,
                           floating scale, floating *G) noexcept nogil:
    """G (K, N) = scale * A.T @ D; A is (n, K) inside rows of length lda.

    For narrow K or N == 1, so G is small and stays in L1 while the rows of
    A and D stream past once, four at a time: G[k, :] gains
    A[r, k] * D[r, :] + ... + A[r + 3, k] * D[r + 3, :], in row order. With
    one column, G[:, 0] gains D[r] * A[r, :] + ... along k instead.
    """
    cdef Py_ssize_t r, k, j
    cdef const floating *a0
    cdef const floating *a1
    cdef const floating *a2
    cdef const floating *a3
    cdef const floating *d0
    cdef const floating *d1
    cdef const floating *d2
    cdef const floating *d3
    cdef floating *g
    cdef floating x0, x1, x2, x3
    if N > 1 and use_tiles(G, K, N):
        # G's rows are A's columns: the tile's rows step by 1 through A,
        # its reduction by lda.
        _tiles(A, 1, lda, D, N, n, K, N, scale, NULL, False, G, N)
        return
    for k in range(K * N):
        G[k] = 0
    r = 0
    while r + 4 <= n:
        a0 = A + r * lda
        a1 = a0 + lda
        a2 = a1 + lda
        a3 = a2 + lda
        d0 = D + r * N
        d1 = d0 + N
        d2 = d1 + N
        d3 = d2 + N
        if N == 1:
            x0 = d0[0]
            x1 = d1[0]
            x2 = d2[0]
            x3 = d3[0]
            for k in range(K):
                G[k] = G[k] + x0 * a0[k] + x1 * a1[k] + x2 * a2[k] + x3 * a3[k]
        else:
            for k in range(K):
                x0 = a0[k]
                x1 = a1[k]
                x2 = a2[k]
                x3 = a3[k]
                g = G + k * N
                for j in range(N):
                    g[j] = g[j] + x0 * d0[j] + x1 * d1[j] + x2 * d2[j] + x3 * d3[j]
        r = r + 4
    while r < n:
        a0 = A + r * lda
        d0 = D + r * N
        for k in range(K):
            x0 = a0[k]
            g = G + k * N
            for j in range(N):
                g[j] = g[j] + x0 * d0[j]
        r = r + 1
    for k in range(K * N):
        G[k] = G[k] * scale
