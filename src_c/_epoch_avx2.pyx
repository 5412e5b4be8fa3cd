# SPDX-License-Identifier: BSD-3-Clause
# _epoch.pyx compiled a second time with AVX2 and FMA enabled (see setup.py).
# fastmlp/_compiled.py imports this module instead of _epoch only when the CPU
# has both instruction sets: the element loops and narrow products then run
# four doubles (eight floats) per instruction instead of two (four).
include "_epoch.pyx"
