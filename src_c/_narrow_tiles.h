/* SPDX-License-Identifier: BSD-3-Clause */
/* Register-tiled products for the AVX2 + FMA build: the narrow ones, and
 * mid-sized ones whose streamed operand stays in L2 (see _narrow.pxd).
 *
 *   c[i * ldc + j] = scale * sum_p a[i * a_rs + p * a_ps] * b[p * b_ps + j]
 *
 * for i < n_rows, j < n_cols. A tile of 4 rows x 3 vectors of c stays in
 * twelve registers while p runs over the whole reduction, so each loaded
 * vector of b feeds four multiply-adds and c is stored once. The plain loops
 * of _narrow.pxd load and store their output row once per four products
 * instead (measured for 100 x 8 x 100 in float64: 7.5 GMAC/s for the loop,
 * 13.7 GMAC/s for the tiles, one core).
 *
 * Every element is summed in p order, one fused multiply-add per term from
 * zero, then multiplied by scale: the same operations, in the same order, as
 * the loops compiled with FMA, so the results are the same bits. The last
 * n_cols % LANES columns take the same path with masked loads (a scalar
 * loop there ran float32 100 x 100 x 100 at a third of the speed: one
 * dependent chain of fused multiply-adds per output).
 *
 * A forward product can also finish its layer while the tile is still in
 * registers: with `bias` not NULL each stored value is act(x * scale +
 * bias[j]), act being the identity or, with `relu`, v <= 0 ? 0 : v (a NaN
 * stays NaN, as in _activations.pxd). Those are the operations the separate
 * bias and activation pass made on the stored product, so the bits are the
 * same, and no pass reads and writes the layer's output a second time.
 *
 * Without AVX2 and FMA, FASTMLP_HAVE_TILES is 0 and the loops run instead;
 * the stand-ins below only let the generic build compile.
 */
#ifndef FASTMLP_NARROW_TILES_H
#define FASTMLP_NARROW_TILES_H

#include <stddef.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define FASTMLP_HAVE_TILES 1

/* x * s, then, with a bias, + bias_v and the optional ReLU: a finished value
 * of the tile. One per dtype. */
#define FASTMLP_FINISH_BODY(NAME, VEC, ZERO, MUL, ADD, ANDNOT, NOT_ABOVE)          \
static inline VEC NAME(VEC x, VEC s, const int has_bias, VEC bias_v,              \
                       const int relu)                                            \
{                                                                                 \
    VEC v = MUL(x, s);                                                            \
    if (!has_bias)                                                                \
        return v;                                                                 \
    v = ADD(v, bias_v);                                                           \
    return relu ? ANDNOT(NOT_ABOVE(v, ZERO()), v) : v;                            \
}

/* x <= y, false where either is NaN, so the ReLU keeps a NaN. */
#define FASTMLP_NOT_ABOVE_PD(x, y) _mm256_cmp_pd((x), (y), _CMP_LE_OQ)
#define FASTMLP_NOT_ABOVE_PS(x, y) _mm256_cmp_ps((x), (y), _CMP_LE_OQ)
FASTMLP_FINISH_BODY(fastmlp_finish_f64, __m256d, _mm256_setzero_pd, _mm256_mul_pd,
                    _mm256_add_pd, _mm256_andnot_pd, FASTMLP_NOT_ABOVE_PD)
FASTMLP_FINISH_BODY(fastmlp_finish_f32, __m256, _mm256_setzero_ps, _mm256_mul_ps,
                    _mm256_add_ps, _mm256_andnot_ps, FASTMLP_NOT_ABOVE_PS)

/* One function per dtype from one body. VEC: register type; LANES: values
 * per register; FIN: its fastmlp_finish; the rest are the intrinsics of that
 * type. */
#define FASTMLP_TILES_BODY(NAME, T, VEC, LANES, ZERO, LOAD, STORE, BCAST, FMADD, \
                           FIN, SET1, MASK, MASKLOAD)                             \
static void NAME(const T *a, ptrdiff_t a_rs, ptrdiff_t a_ps, const T *b,          \
                 ptrdiff_t b_ps, ptrdiff_t n_red, ptrdiff_t n_rows,               \
                 ptrdiff_t n_cols, T scale, const T *bias, int relu, T *c,        \
                 ptrdiff_t ldc)                                                   \
{                                                                                 \
    ptrdiff_t i = 0, j, p, r;                                                     \
    const VEC s = SET1(scale);                                                    \
    const int has_bias = bias != NULL;                                            \
    VEC bv0 = ZERO(), bv1 = ZERO(), bv2 = ZERO();                                 \
    for (; i + 4 <= n_rows; i += 4) {                                             \
        const T *a0 = a + i * a_rs;                                               \
        const T *a1 = a0 + a_rs;                                                  \
        const T *a2 = a1 + a_rs;                                                  \
        const T *a3 = a2 + a_rs;                                                  \
        T *c0 = c + i * ldc;                                                      \
        j = 0;                                                                    \
        for (; j + 3 * LANES <= n_cols; j += 3 * LANES) {                         \
            VEC x00 = ZERO(), x01 = ZERO(), x02 = ZERO();                         \
            VEC x10 = ZERO(), x11 = ZERO(), x12 = ZERO();                         \
            VEC x20 = ZERO(), x21 = ZERO(), x22 = ZERO();                         \
            VEC x30 = ZERO(), x31 = ZERO(), x32 = ZERO();                         \
            for (p = 0; p < n_red; p++) {                                         \
                const T *bp = b + p * b_ps + j;                                   \
                const VEC b0 = LOAD(bp), b1 = LOAD(bp + LANES),                   \
                          b2 = LOAD(bp + 2 * LANES);                              \
                VEC v = BCAST(a0 + p * a_ps);                                     \
                x00 = FMADD(v, b0, x00); x01 = FMADD(v, b1, x01);                 \
                x02 = FMADD(v, b2, x02);                                          \
                v = BCAST(a1 + p * a_ps);                                         \
                x10 = FMADD(v, b0, x10); x11 = FMADD(v, b1, x11);                 \
                x12 = FMADD(v, b2, x12);                                          \
                v = BCAST(a2 + p * a_ps);                                         \
                x20 = FMADD(v, b0, x20); x21 = FMADD(v, b1, x21);                 \
                x22 = FMADD(v, b2, x22);                                          \
                v = BCAST(a3 + p * a_ps);                                         \
                x30 = FMADD(v, b0, x30); x31 = FMADD(v, b1, x31);                 \
                x32 = FMADD(v, b2, x32);                                          \
            }                                                                     \
            if (has_bias) {                                                       \
                bv0 = LOAD(bias + j); bv1 = LOAD(bias + j + LANES);               \
                bv2 = LOAD(bias + j + 2 * LANES);                                 \
            }                                                                     \
            STORE(c0 + j, FIN(x00, s, has_bias, bv0, relu));                      \
            STORE(c0 + j + LANES, FIN(x01, s, has_bias, bv1, relu));              \
            STORE(c0 + j + 2 * LANES, FIN(x02, s, has_bias, bv2, relu));          \
            STORE(c0 + ldc + j, FIN(x10, s, has_bias, bv0, relu));                \
            STORE(c0 + ldc + j + LANES, FIN(x11, s, has_bias, bv1, relu));        \
            STORE(c0 + ldc + j + 2 * LANES, FIN(x12, s, has_bias, bv2, relu));    \
            STORE(c0 + 2 * ldc + j, FIN(x20, s, has_bias, bv0, relu));            \
            STORE(c0 + 2 * ldc + j + LANES, FIN(x21, s, has_bias, bv1, relu));    \
            STORE(c0 + 2 * ldc + j + 2 * LANES,                                   \
                  FIN(x22, s, has_bias, bv2, relu));                              \
            STORE(c0 + 3 * ldc + j, FIN(x30, s, has_bias, bv0, relu));            \
            STORE(c0 + 3 * ldc + j + LANES, FIN(x31, s, has_bias, bv1, relu));    \
            STORE(c0 + 3 * ldc + j + 2 * LANES,                                   \
                  FIN(x32, s, has_bias, bv2, relu));                              \
        }                                                                         \
        for (; j + LANES <= n_cols; j += LANES) {                                 \
            VEC x0 = ZERO(), x1 = ZERO(), x2 = ZERO(), x3 = ZERO();               \
            for (p = 0; p < n_red; p++) {                                         \
                const VEC b0 = LOAD(b + p * b_ps + j);                            \
                x0 = FMADD(BCAST(a0 + p * a_ps), b0, x0);                         \
                x1 = FMADD(BCAST(a1 + p * a_ps), b0, x1);                         \
                x2 = FMADD(BCAST(a2 + p * a_ps), b0, x2);                         \
                x3 = FMADD(BCAST(a3 + p * a_ps), b0, x3);                         \
            }                                                                     \
            if (has_bias)                                                         \
                bv0 = LOAD(bias + j);                                             \
            STORE(c0 + j, FIN(x0, s, has_bias, bv0, relu));                       \
            STORE(c0 + ldc + j, FIN(x1, s, has_bias, bv0, relu));                 \
            STORE(c0 + 2 * ldc + j, FIN(x2, s, has_bias, bv0, relu));             \
            STORE(c0 + 3 * ldc + j, FIN(x3, s, has_bias, bv0, relu));             \
        }                                                                         \
        if (j < n_cols) {                                                         \
            /* The last n_cols - j < LANES columns: masked loads read zeros   \
             * past the end (and never touch that memory); stores go through \
             * a buffer, as a masked store is microcoded on Zen. */           \
            const __m256i m = MASK(n_cols - j);                                   \
            T out[4][LANES];                                                      \
            VEC x0 = ZERO(), x1 = ZERO(), x2 = ZERO(), x3 = ZERO();               \
            for (p = 0; p < n_red; p++) {                                         \
                const VEC b0 = MASKLOAD(b + p * b_ps + j, m);                     \
                x0 = FMADD(BCAST(a0 + p * a_ps), b0, x0);                         \
                x1 = FMADD(BCAST(a1 + p * a_ps), b0, x1);                         \
                x2 = FMADD(BCAST(a2 + p * a_ps), b0, x2);                         \
                x3 = FMADD(BCAST(a3 + p * a_ps), b0, x3);                         \
            }                                                                     \
            if (has_bias)                                                         \
                bv0 = MASKLOAD(bias + j, m);                                      \
            STORE(out[0], FIN(x0, s, has_bias, bv0, relu));                       \
            STORE(out[1], FIN(x1, s, has_bias, bv0, relu));                       \
            STORE(out[2], FIN(x2, s, has_bias, bv0, relu));                       \
            STORE(out[3], FIN(x3, s, has_bias, bv0, relu));                       \
            for (r = 0; r < 4; r++)                                               \
                for (p = 0; p < n_cols - j; p++)                                  \
                    c0[r * ldc + j + p] = out[r][p];                              \
        }                                                                         \
    }                                                                             \
    for (; i < n_rows; i++) {                                                     \
        const T *ai = a + i * a_rs;                                               \
        T *ci = c + i * ldc;                                                      \
        j = 0;                                                                    \
        for (; j + LANES <= n_cols; j += LANES) {                                 \
            VEC x = ZERO();                                                       \
            for (p = 0; p < n_red; p++)                                           \
                x = FMADD(BCAST(ai + p * a_ps), LOAD(b + p * b_ps + j), x);       \
            if (has_bias)                                                         \
                bv0 = LOAD(bias + j);                                             \
            STORE(ci + j, FIN(x, s, has_bias, bv0, relu));                        \
        }                                                                         \
        if (j < n_cols) {                                                         \
            const __m256i m = MASK(n_cols - j);                                   \
            T out[LANES];                                                         \
            VEC x = ZERO();                                                       \
            for (p = 0; p < n_red; p++)                                           \
                x = FMADD(BCAST(ai + p * a_ps), MASKLOAD(b + p * b_ps + j, m), x);\
            if (has_bias)                                                         \
                bv0 = MASKLOAD(bias + j, m);                                      \
            STORE(out, FIN(x, s, has_bias, bv0, relu));                           \
            for (p = 0; p < n_cols - j; p++)                                      \
                ci[j + p] = out[p];                                               \
        }                                                                         \
    }                                                                             \
}

/* Lanes below n (0 < n < LANES) set, the rest clear. */
static inline __m256i fastmlp_mask_f64(ptrdiff_t n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n),
                              _mm256_setr_epi64x(0, 1, 2, 3));
}

static inline __m256i fastmlp_mask_f32(ptrdiff_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

FASTMLP_TILES_BODY(fastmlp_tiles_f64, double, __m256d, 4, _mm256_setzero_pd,
                   _mm256_loadu_pd, _mm256_storeu_pd, _mm256_broadcast_sd,
                   _mm256_fmadd_pd, fastmlp_finish_f64, _mm256_set1_pd,
                   fastmlp_mask_f64, _mm256_maskload_pd)
FASTMLP_TILES_BODY(fastmlp_tiles_f32, float, __m256, 8, _mm256_setzero_ps,
                   _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss,
                   _mm256_fmadd_ps, fastmlp_finish_f32, _mm256_set1_ps,
                   fastmlp_mask_f32, _mm256_maskload_ps)

#else

#define FASTMLP_HAVE_TILES 0

#define FASTMLP_TILES_STAND_IN(NAME, T)                                          \
static void NAME(const T *a, ptrdiff_t a_rs, ptrdiff_t a_ps, const T *b,          \
                 ptrdiff_t b_ps, ptrdiff_t n_red, ptrdiff_t n_rows,               \
                 ptrdiff_t n_cols, T scale, const T *bias, int relu, T *c,        \
                 ptrdiff_t ldc)                                                   \
{                                                                                 \
    (void)a; (void)a_rs; (void)a_ps; (void)b; (void)b_ps; (void)n_red;            \
    (void)n_rows; (void)n_cols; (void)scale; (void)bias; (void)relu; (void)c;     \
    (void)ldc;                                                                    \
}

FASTMLP_TILES_STAND_IN(fastmlp_tiles_f64, double)
FASTMLP_TILES_STAND_IN(fastmlp_tiles_f32, float)

#endif
#endif
