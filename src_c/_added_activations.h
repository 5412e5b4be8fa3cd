/* SPDX-License-Identifier: BSD-3-Clause */
/* fastmlp's hidden activations beyond scikit-learn's four, over a block of
 * n values (a layer's whole output, or its whole delta):
 *
 *   leaky_relu  z > 0 ? z : 0.01 z     derivative  a > 0 ? 1 : 0.01
 *   elu         z > 0 ? z : e^z - 1    derivative  a > 0 ? 1 : a + 1
 *   softplus    log(1 + e^z)           derivative  1 - e^(-a)
 *
 * Each derivative is written from the output a, as for the others. A layer
 * using one of these runs the fused row helpers of _activations.pxd with
 * the identity (the bias alone) and then takes this one extra pass. They
 * are not branches of those helpers because a branch there, inlined or
 * calling out here, made an 8 -> 100 -> 1 relu epoch 4-7 % slower in
 * in-process A/B runs against the build without it (the relu loops' own
 * instructions unchanged).
 */
#ifndef FASTMLP_ADDED_ACTIVATIONS_H
#define FASTMLP_ADDED_ACTIVATIONS_H

#include <math.h>
#include <stddef.h>

/* The codes of _codes.py and _activations.pxd. */
#define FASTMLP_ACT_LEAKY_RELU 6
#define FASTMLP_ACT_ELU 7
#define FASTMLP_ACT_SOFTPLUS 8
/* Leaky ReLU's slope below zero (PyTorch's default); ELU's alpha is 1. */
#define FASTMLP_LEAKY_SLOPE 0.01

/* One pair per dtype from one body. */
#define FASTMLP_ADDED_BODY(SUF, T, EXP, EXPM1, LOG1P, FABS)                      \
static void fastmlp_added_activate_##SUF(int act, T *z, ptrdiff_t n)             \
{                                                                                \
    ptrdiff_t j;                                                                 \
    T v;                                                                         \
    if (act == FASTMLP_ACT_LEAKY_RELU) {                                         \
        for (j = 0; j < n; j++) {                                                \
            v = z[j];                                                            \
            z[j] = v > 0 ? v : (T)FASTMLP_LEAKY_SLOPE * v;                       \
        }                                                                        \
    } else if (act == FASTMLP_ACT_ELU) {                                         \
        for (j = 0; j < n; j++) {                                                \
            v = z[j];                                                            \
            z[j] = v > 0 ? v : EXPM1(v);                                         \
        }                                                                        \
    } else if (act == FASTMLP_ACT_SOFTPLUS) {                                    \
        /* max(v, 0) + log1p(e^-|v|): e^x never overflows, and log1p keeps    \
           the small terms of large |v|. */                                      \
        for (j = 0; j < n; j++) {                                                \
            v = z[j];                                                            \
            z[j] = (v > 0 ? v : 0) + LOG1P(EXP(-FABS(v)));                       \
        }                                                                        \
    }                                                                            \
}                                                                                \
                                                                                 \
static void fastmlp_added_derivative_##SUF(int act, T *d, const T *a,            \
                                           ptrdiff_t n)                          \
{                                                                                \
    ptrdiff_t j;                                                                 \
    if (act == FASTMLP_ACT_LEAKY_RELU) {                                         \
        /* Outputs keep the input's sign, so a > 0 picks the branch. */         \
        for (j = 0; j < n; j++)                                                  \
            d[j] = a[j] > 0 ? d[j] : (T)FASTMLP_LEAKY_SLOPE * d[j];              \
    } else if (act == FASTMLP_ACT_ELU) {                                         \
        for (j = 0; j < n; j++)                                                  \
            d[j] = a[j] > 0 ? d[j] : d[j] * (a[j] + 1);                          \
    } else if (act == FASTMLP_ACT_SOFTPLUS) {                                    \
        for (j = 0; j < n; j++)                                                  \
            d[j] = -d[j] * EXPM1(-a[j]);                                         \
    }                                                                            \
}

FASTMLP_ADDED_BODY(f32, float, expf, expm1f, log1pf, fabsf)
FASTMLP_ADDED_BODY(f64, double, exp, expm1, log1p, fabs)

#endif
