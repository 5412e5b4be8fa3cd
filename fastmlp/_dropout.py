# SPDX-License-Identifier: BSD-3-Clause
"""Dropout masks: the seed, the per-epoch key and the NumPy twin of the hash.

Whether unit j of hidden layer l is kept for sample s in an epoch is a pure
function of (epoch key, s, l, j), computed by the kernels (src_c/_dropout.h)
and, bit for bit, by `kept_units` here for the NumPy baseline. Nothing is
drawn per batch.

The fit's seed is derived from the state of its random generator without
drawing from it, so switching dropout on leaves the initial weights, the
early-stopping split and every shuffle as they are without it.
"""

import numpy as np

_GOLDEN = 0x9E3779B97F4A7C15
_GOLDEN32 = 0x9E3779B9


def _mix64_array(z):
    """SplitMix64's finaliser (_dropout.h's fastmlp_mix64) on uint64 values.

    Products wrap modulo 2**64, as in C; callers silence NumPy's overflow
    warning.
    """
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _fmix32_array(h):
    """MurmurHash3's 32-bit finaliser on a uint32 array (_dropout.h's)."""
    h = (h ^ (h >> np.uint32(16))) * np.uint32(0x85EBCA6B)
    h = (h ^ (h >> np.uint32(13))) * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def dropout_seed(random_state):
    """A 64-bit seed from a RandomState's current state; draws nothing."""
    _, key, pos, *_ = random_state.get_state()
    entropy = [int(pos), *(int(k) for k in key)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


def epoch_key(seed, samples_seen):
    """The mask key of the epoch that starts after `samples_seen` (t_) samples."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.uint64(samples_seen + 1) * np.uint64(_GOLDEN)
        return int(_mix64_array(z))


def drop_threshold(rate):
    """Units whose 32-bit hash is below this are dropped: rate * 2**32."""
    return min(int(rate * 2.0**32), 2**32 - 1)


def kept_units(key, samples, layer, n_layers, width, rate):
    """Boolean mask (len(samples), width): which units of hidden `layer` stay.

    `samples` are the rows' indices in X, `n_layers` the number of weight
    layers (len(coefs_)).
    """
    counters = np.asarray(samples, dtype=np.uint64) * np.uint64(n_layers) + np.uint64(
        layer
    )
    with np.errstate(over="ignore"):
        row_keys = _mix64_array(np.uint64(key) + counters * np.uint64(_GOLDEN))
        seeds = (row_keys >> np.uint64(32)).astype(np.uint32)
        units = np.arange(1, width + 1, dtype=np.uint32) * np.uint32(_GOLDEN32)
        hashes = _fmix32_array(seeds[:, None] + units[None, :])
    return hashes >= np.uint32(drop_threshold(rate))
