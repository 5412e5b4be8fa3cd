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
 * Without AVX2 and FMA, FASTMLP_HAVE_TILES is 0 and the loops run instead;
 * the stand-ins below only let the generic build compile.
 */
#ifndef FASTMLP_NARROW_TILES_H
#define FASTMLP_NARROW_TILES_H

#include <stddef.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define FASTMLP_HAVE_TILES 1

/* One function per dtype from one body. VEC: register type; LANES: values
 * per register; the rest are the intrinsics of that type. */
#define FASTMLP_TILES_BODY(NAME, T, VEC, LANES, ZERO, LOAD, STORE, BCAST, FMADD, \
                           MUL, SET1, MASK, MASKLOAD)                             \
static void NAME(const T *a, ptrdiff_t a_rs, ptrdiff_t a_ps, const T *b,          \
                 ptrdiff_t b_ps, ptrdiff_t n_red, ptrdiff_t n_rows,               \
                 ptrdiff_t n_cols, T scale, T *c, ptrdiff_t ldc)                  \
{                                                                                 \
    ptrdiff_t i = 0, j, p, r;                                                     \
    const VEC s = SET1(scale);                                                    \
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
            STORE(c0 + j, MUL(x00, s)); STORE(c0 + j + LANES, MUL(x01, s));       \
            STORE(c0 + j + 2 * LANES, MUL(x02, s));                               \
            STORE(c0 + ldc + j, MUL(x10, s));                                     \
            STORE(c0 + ldc + j + LANES, MUL(x11, s));                             \
            STORE(c0 + ldc + j + 2 * LANES, MUL(x12, s));                         \
            STORE(c0 + 2 * ldc + j, MUL(x20, s));                                 \
            STORE(c0 + 2 * ldc + j + LANES, MUL(x21, s));                         \
            STORE(c0 + 2 * ldc + j + 2 * LANES, MUL(x22, s));                     \
            STORE(c0 + 3 * ldc + j, MUL(x30, s));                                 \
            STORE(c0 + 3 * ldc + j + LANES, MUL(x31, s));                         \
            STORE(c0 + 3 * ldc + j + 2 * LANES, MUL(x32, s));                     \
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
            STORE(c0 + j, MUL(x0, s)); STORE(c0 + ldc + j, MUL(x1, s));           \
            STORE(c0 + 2 * ldc + j, MUL(x2, s));                                  \
            STORE(c0 + 3 * ldc + j, MUL(x3, s));                                  \
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
            STORE(out[0], MUL(x0, s)); STORE(out[1], MUL(x1, s));                 \
            STORE(out[2], MUL(x2, s)); STORE(out[3], MUL(x3, s));                 \
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
            STORE(ci + j, MUL(x, s));                                             \
        }                                                                         \
        if (j < n_cols) {                                                         \
            const __m256i m = MASK(n_cols - j);                                   \
            T out[LANES];                                                         \
            VEC x = ZERO();                                                       \
            for (p = 0; p < n_red; p++)                                           \
                x = FMADD(BCAST(ai + p * a_ps), MASKLOAD(b + p * b_ps + j, m), x);\
            STORE(out, MUL(x, s));                                                \
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
                   _mm256_fmadd_pd, _mm256_mul_pd, _mm256_set1_pd,
                   fastmlp_mask_f64, _mm256_maskload_pd)
FASTMLP_TILES_BODY(fastmlp_tiles_f32, float, __m256, 8, _mm256_setzero_ps,
                   _mm256_loadu_ps, _mm256_storeu_ps, _mm256_broadcast_ss,
                   _mm256_fmadd_ps, _mm256_mul_ps, _mm256_set1_ps,
                   fastmlp_mask_f32, _mm256_maskload_ps)

#else

#define FASTMLP_HAVE_TILES 0

#define FASTMLP_TILES_STAND_IN(NAME, T)                                          \
static void NAME(const T *a, ptrdiff_t a_rs, ptrdiff_t a_ps, const T *b,          \
                 ptrdiff_t b_ps, ptrdiff_t n_red, ptrdiff_t n_rows,               \
                 ptrdiff_t n_cols, T scale, T *c, ptrdiff_t ldc)                  \
{                                                                                 \
    (void)a; (void)a_rs; (void)a_ps; (void)b; (void)b_ps; (void)n_red;            \
    (void)n_rows; (void)n_cols; (void)scale; (void)c; (void)ldc;                  \
}

FASTMLP_TILES_STAND_IN(fastmlp_tiles_f64, double)
FASTMLP_TILES_STAND_IN(fastmlp_tiles_f32, float)

#endif
#endif
