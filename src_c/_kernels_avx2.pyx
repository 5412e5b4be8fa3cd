# SPDX-License-Identifier: BSD-3-Clause
# _kernels.pyx compiled a second time with AVX2 and FMA enabled (see setup.py).
# fastmlp/_compiled.py imports this module instead of _kernels only when the CPU
# has both instruction sets: the element loops and narrow products then run
# four doubles (eight floats) per instruction instead of two (four).
include "_kernels.pyx"
