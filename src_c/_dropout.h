/* SPDX-License-Identifier: BSD-3-Clause */
/* Dropout masks from a counter-based hash: whether unit j of hidden layer l
 * is kept for sample s in one epoch is a pure function of (epoch key, s, l,
 * j). Nothing is drawn, stored or shared between threads, so the mask does
 * not depend on the thread count or on how a batch is split, and the NumPy
 * baseline (fastmlp/_dropout.py) computes the same bits with NumPy arrays.
 *
 * A row key is SplitMix64's finaliser (Steele, Lea and Flood, 2014) of
 * the epoch key plus (s * n_layers + l) times the golden ratio; its top 32
 * bits seed the row. Unit j hashes that seed plus (j + 1) times the 32-bit
 * golden ratio with MurmurHash3's 32-bit finaliser, and is dropped when the
 * hash falls below floor(rate * 2^32). Both finalisers are bijections whose
 * output bits each depend on every input bit. The per-unit hash is 32-bit
 * so that it vectorises: AVX2 multiplies eight 32-bit lanes at once but
 * has no 64-bit multiply.
 *
 * Only the _epoch_dropout modules are compiled with FASTMLP_WITH_DROPOUT
 * set; everywhere else the dropout branches of the shared passes are
 * constant-false and compiled out, so a fit without dropout runs the code
 * it ran before dropout existed. Compiled in, they slowed epochs WITHOUT
 * dropout by 2-11 % (8 -> 100 -> 1, one thread, in-process A/B against the
 * build before dropout): perf put the extra time on unchanged instructions
 * whose loops had moved across 64-byte lines (see also setup.py's
 * -falign-functions).
 */
#ifndef FASTMLP_DROPOUT_H
#define FASTMLP_DROPOUT_H

#ifndef FASTMLP_WITH_DROPOUT
#define FASTMLP_WITH_DROPOUT 0
#endif

#include <stddef.h>
#include <stdint.h>

#define FASTMLP_GOLDEN 0x9E3779B97F4A7C15ULL
#define FASTMLP_GOLDEN32 0x9E3779B9U

static inline uint64_t fastmlp_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint32_t fastmlp_fmix32(uint32_t h)
{
    h = (h ^ (h >> 16)) * 0x85EBCA6BU;
    h = (h ^ (h >> 13)) * 0xC2B2AE35U;
    return h ^ (h >> 16);
}

/* Rows r0 .. r1 - 1 of hidden layer `layer`'s output a and of its factor
 * block, `width` values a row. Row r is sample rows[r] (row_start + r when
 * rows is NULL). On entry factor holds act'(a); on return both are
 * multiplied by m = scale for a kept unit, 0 for a dropped one (as the
 * baseline multiplies by its mask: -0 stays -0). */
#define FASTMLP_DROPOUT_BODY(SUF, T)                                             \
static void fastmlp_drop_rows_##SUF(                                             \
    uint64_t key, const ptrdiff_t *rows, ptrdiff_t row_start, ptrdiff_t r0,      \
    ptrdiff_t r1, ptrdiff_t width, ptrdiff_t n_layers, ptrdiff_t layer,          \
    uint32_t below, T scale, T *a, T *factor)                                    \
{                                                                                \
    ptrdiff_t r, j, s;                                                           \
    uint32_t seed;                                                               \
    T m;                                                                         \
    T *restrict ar;                                                              \
    T *restrict fr;                                                              \
    for (r = r0; r < r1; r++) {                                                  \
        s = rows != NULL ? rows[r] : row_start + r;                              \
        seed = (uint32_t)(fastmlp_mix64(                                         \
            key + ((uint64_t)s * (uint64_t)n_layers + (uint64_t)layer)           \
                  * FASTMLP_GOLDEN) >> 32);                                      \
        ar = a + r * width;                                                      \
        fr = factor + r * width;                                                 \
        /* A select, not a branch: a branch on the hash mispredicts at    \
           any useful rate and does not vectorise (measured, 8 -> 100 -> 1 \
           with dropout 0.2: 2.6-2.8 times the epoch without dropout with  \
           the branch, 1.4-1.5 times with the select). */                  \
        for (j = 0; j < width; j++) {                                            \
            m = fastmlp_fmix32(seed + (uint32_t)(j + 1) * FASTMLP_GOLDEN32)      \
                >= below ? scale : 0;                                            \
            ar[j] = ar[j] * m;                                                   \
            fr[j] = fr[j] * m;                                                   \
        }                                                                        \
    }                                                                            \
}                                                                                \
                                                                                 \
/* d[j] *= factor[j] over n values: the backward pass through a dropped   \
 * layer. */                                                                     \
static void fastmlp_multiply_##SUF(T *d, const T *factor, ptrdiff_t n)           \
{                                                                                \
    ptrdiff_t j;                                                                 \
    for (j = 0; j < n; j++)                                                      \
        d[j] = d[j] * factor[j];                                                 \
}

FASTMLP_DROPOUT_BODY(f32, float)
FASTMLP_DROPOUT_BODY(f64, double)

#endif
