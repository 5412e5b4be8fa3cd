# SPDX-License-Identifier: BSD-3-Clause
"""RandomState.shuffle of a sample order, with the generator inlined.

scikit-learn's MLP shuffles its sample order before every epoch with
``RandomState.shuffle``, which fetches each random number through the bit
generator's function pointer: 13 ns per element, 260 us of an epoch over
20000 rows that a small network trains in under 3 ms, while the other
threads wait. `shuffle_mt19937` runs the same algorithm on a copy of the
generator's state (fastmlp/_random.py takes it out of the RandomState and
puts it back), with the generator inlined:

- the generator is the Mersenne Twister MT19937 (Matsumoto and Nishimura,
  1998): 624 words of state, regenerated in one pass when used up, each word
  tempered on output;
- for i from n - 1 down to 1, j is drawn uniformly in [0, i] by rejection:
  32-bit outputs masked to the smallest all-ones mask covering i, redrawn
  while above i; then x[i] and x[j] swap.

Those are the draws and swaps RandomState.shuffle makes, so the order and
the generator's final state are the same; tests/test_random.py compares
both for many seeds and lengths.
"""

from libc.stdint cimport uint32_t

cdef enum:
    MT_N = 624
    MT_M = 397

cdef uint32_t UPPER = 0x80000000u
cdef uint32_t LOWER = 0x7fffffffu
cdef uint32_t TWIST = 0x9908b0dfu


cdef inline uint32_t _twist(uint32_t hi, uint32_t lo, uint32_t far) noexcept nogil:
    cdef uint32_t y = (hi & UPPER) | (lo & LOWER)
    return far ^ (y >> 1) ^ ((0u - (y & 1u)) & TWIST)


cdef void _regenerate(uint32_t *key) noexcept nogil:
    """The next 624 words of state, in place (words before i already new)."""
    cdef Py_ssize_t i
    for i in range(MT_N - MT_M):
        key[i] = _twist(key[i], key[i + 1], key[i + MT_M])
    for i in range(MT_N - MT_M, MT_N - 1):
        key[i] = _twist(key[i], key[i + 1], key[i + MT_M - MT_N])
    key[MT_N - 1] = _twist(key[MT_N - 1], key[0], key[MT_M - 1])


cdef inline uint32_t _next(uint32_t *key, Py_ssize_t *pos) noexcept nogil:
    cdef uint32_t y
    if pos[0] >= MT_N:
        _regenerate(key)
        pos[0] = 0
    y = key[pos[0]]
    pos[0] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c5680u
    y ^= (y << 15) & 0xefc60000u
    y ^= y >> 18
    return y


def shuffle_mt19937(
    uint32_t[::1] key not None,     # INOUT the generator's 624 state words
    Py_ssize_t pos,                 # IN    index of the next word to use
    Py_ssize_t[::1] x not None,     # INOUT the order, shuffled in place
):
    """Shuffle x in place from MT19937 state (key, pos); return the new pos.

    `key` (624 words) is advanced in place. Orders longer than 2**32 are
    refused: RandomState draws 64-bit numbers for those.
    """
    cdef Py_ssize_t n = x.shape[0]
    cdef Py_ssize_t i, j, tmp
    cdef uint32_t bound, mask, value
    if key.shape[0] != MT_N or not 0 <= pos <= MT_N:
        raise ValueError("not an MT19937 state: need 624 words and 0 <= pos <= 624")
    if n > 0xffffffff:
        raise ValueError("orders longer than 2**32 draw 64-bit numbers")
    with nogil:
        for i in range(n - 1, 0, -1):
            bound = <uint32_t> i
            mask = bound
            mask |= mask >> 1
            mask |= mask >> 2
            mask |= mask >> 4
            mask |= mask >> 8
            mask |= mask >> 16
            value = _next(&key[0], &pos) & mask
            while value > bound:
                value = _next(&key[0], &pos) & mask
            j = <Py_ssize_t> value
            tmp = x[i]
            x[i] = x[j]
            x[j] = tmp
    return pos
