# SPDX-License-Identifier: BSD-3-Clause
# _epoch_dropout.pyx with AVX2 and FMA, as _epoch_avx2.pyx is to _epoch.pyx.
include "_epoch.pyx"
