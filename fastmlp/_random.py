# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's random draws: the generator of a fit and its per-epoch shuffle."""

from functools import lru_cache
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from ._shuffle import shuffle_mt19937


def fit_random_state(seed, made):
    """``check_random_state(seed)``, reusing `made` for an int seed.

    scikit-learn seeds a new generator on every fit and partial_fit call.
    Seeding one costs ~150 us, half of a partial_fit on a few rows. Setting
    the seed's initial state into `made`, the generator this function made
    for an earlier call (or None), costs ~40 us and gives the same draws.
    Returns (the generator, `made` for the next call).
    """
    if not isinstance(seed, Integral):
        return check_random_state(seed), made
    if made is None:
        made = check_random_state(seed)
    else:
        made.set_state(_initial_state(int(seed)))
    return made, made


@lru_cache(maxsize=8)
def _initial_state(seed):
    return np.random.RandomState(seed).get_state()  # raises as fit would


class OrderShuffler:
    """Shuffles one sample order in place, as ``random_state.shuffle`` would.

    Call `shuffle()` before each epoch and `restore()` after the last (also
    when training fails). For a RandomState over MT19937 (what
    ``check_random_state`` builds from an int or None) the generator's state
    is taken out here, advanced by the inlined algorithm (src_c/_shuffle.pyx:
    the same draws and swaps) and put back by `restore()`: taking it out and
    back costs about as much as one 20000-row shuffle, so it is done once per
    fit, not once per epoch. Nothing else may draw from ``random_state`` in
    between. Any other generator, or too little shuffling to pay for taking
    the state out and back (`max_shuffles` times the order's length below
    FAST_MIN_SWAPS), uses RandomState.shuffle itself.
    """

    # get_state + set_state cost ~170 us; the inlined shuffle saves ~5.5 ns
    # per element (20000 rows: 281 -> 170 us per epoch).
    FAST_MIN_SWAPS = 1 << 16

    def __init__(self, random_state, order, max_shuffles):
        self.random_state = random_state
        self.order = order
        self._state = None
        if max_shuffles * order.shape[0] < self.FAST_MIN_SWAPS:
            return
        state = random_state.get_state(legacy=False)
        if (
            state["bit_generator"] == "MT19937"
            and order.dtype == np.intp
            and order.ndim == 1
            and order.flags.c_contiguous
            and order.flags.writeable
            and order.shape[0] < 2**32
        ):
            self._state = state
            self._key = np.array(state["state"]["key"], dtype=np.uint32)
            self._pos = int(state["state"]["pos"])

    def shuffle(self):
        if self._state is None:
            self.random_state.shuffle(self.order)
        else:
            self._pos = shuffle_mt19937(self._key, self._pos, self.order)

    def restore(self):
        """Put the advanced state back into ``random_state`` (idempotent)."""
        if self._state is not None:
            self._state["state"] = {"key": self._key, "pos": self._pos}
            self.random_state.set_state(self._state)
            self._state = None
