# SPDX-License-Identifier: BSD-3-Clause
"""The inlined per-epoch shuffle against RandomState.shuffle itself."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from fastmlp._random import OrderShuffler


def shuffle_order(random_state, order):
    shuffler = OrderShuffler(random_state, order, max_shuffles=2**16)
    shuffler.shuffle()
    shuffler.restore()


def _state(rs):
    st = rs.get_state(legacy=False)
    return st["state"]["key"].copy(), st["state"]["pos"], st["has_gauss"], st["gauss"]


def _assert_same_state(a, b):
    key_a, pos_a, gauss_a, cached_a = _state(a)
    key_b, pos_b, gauss_b, cached_b = _state(b)
    assert_array_equal(key_a, key_b)
    assert (pos_a, gauss_a, cached_a) == (pos_b, gauss_b, cached_b)


# Lengths around the edges of the draws: nothing to draw (0, 1), masks of
# one bit, the 624-word regeneration of the state (within one shuffle for
# the longer ones), and a length that is no power of two.
@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 623, 624, 625, 1000, 20000, 100003])
@pytest.mark.parametrize("seed", [0, 1, 42, 2**31 - 1])
def test_same_order_and_state_as_randomstate(seed, n):
    ours, theirs = np.random.RandomState(seed), np.random.RandomState(seed)
    # Start mid-state, with a cached gaussian, as a fit does after drawing
    # its initial weights.
    for rs in (ours, theirs):
        rs.uniform(size=seed % 700 + 3)
        rs.standard_normal()
    x = np.arange(n, dtype=np.intp) * 7 + 3
    y = x.copy()
    shuffler = OrderShuffler(ours, x, max_shuffles=2**16)
    assert (shuffler._state is not None) == (n > 0)
    for epoch in range(3):
        shuffler.shuffle()
        theirs.shuffle(y)
        assert_array_equal(x, y, err_msg=f"epoch {epoch}")
    shuffler.restore()
    _assert_same_state(ours, theirs)
    shuffler.restore()  # a second restore changes nothing
    _assert_same_state(ours, theirs)
    # The cached gaussian and everything after it come out the same.
    assert ours.standard_normal() == theirs.standard_normal()
    assert_array_equal(ours.randint(0, 2**31, size=5), theirs.randint(0, 2**31, size=5))


def test_other_bit_generators_and_arrays_use_randomstate():
    rs_a = np.random.RandomState(np.random.PCG64(3))
    rs_b = np.random.RandomState(np.random.PCG64(3))
    x = np.arange(1000, dtype=np.intp)
    y = x.copy()
    shuffle_order(rs_a, x)
    rs_b.shuffle(y)
    assert_array_equal(x, y)
    # A non-contiguous view is shuffled where it lies, as RandomState does.
    rs_a, rs_b = np.random.RandomState(5), np.random.RandomState(5)
    x = np.arange(2000, dtype=np.intp)
    y = x.copy()
    shuffle_order(rs_a, x[::2])
    rs_b.shuffle(y[::2])
    assert_array_equal(x, y)
    _assert_same_state(rs_a, rs_b)


def test_global_randomstate():
    # random_state=None means NumPy's global RandomState.
    rs = np.random.mtrand._rand
    saved = rs.get_state()
    try:
        rs.seed(11)
        x = np.arange(5000, dtype=np.intp)
        shuffle_order(rs, x)
        after = rs.randint(0, 2**31)
        rs.seed(11)
        y = np.arange(5000, dtype=np.intp)
        rs.shuffle(y)
        assert_array_equal(x, y)
        assert rs.randint(0, 2**31) == after
    finally:
        rs.set_state(saved)


def test_bad_state_is_refused():
    from fastmlp._shuffle import shuffle_mt19937

    x = np.arange(10, dtype=np.intp)
    with pytest.raises(ValueError, match="624"):
        shuffle_mt19937(np.zeros(10, dtype=np.uint32), 0, x)
    with pytest.raises(ValueError, match="pos"):
        shuffle_mt19937(np.zeros(624, dtype=np.uint32), 625, x)


@pytest.mark.parametrize("inlined", [True, False], ids=["inlined", "randomstate"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fit_leaves_a_given_randomstate_as_scikit_learn_does(
    solver, inlined, monkeypatch
):
    # A RandomState passed as random_state is advanced by the fit: after the
    # inlined shuffles it must hold the state scikit-learn's fit leaves.
    if inlined:  # this small fit would not take the inlined path otherwise
        monkeypatch.setattr(OrderShuffler, "FAST_MIN_SWAPS", 1)
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    from fastmlp import MLPRegressor

    X = np.random.RandomState(0).normal(size=(300, 4))
    y = X[:, 0] - X[:, 1]
    ours, theirs = np.random.RandomState(7), np.random.RandomState(7)
    params = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=4, batch_size=50)
    with pytest.warns(ConvergenceWarning):
        MLPRegressor(random_state=ours, **params).fit(X, y)
    with pytest.warns(ConvergenceWarning):
        SkMLPRegressor(random_state=theirs, **params).fit(X, y)
    _assert_same_state(ours, theirs)


def test_failed_fit_puts_the_state_back(monkeypatch):
    # An error in the third epoch (before its shuffle): the RandomState must
    # hold the state of two inlined shuffles, as after scikit-learn's
    # two-epoch fit.
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    from fastmlp import MLPRegressor, _base

    X = np.random.RandomState(0).normal(size=(300, 4))
    y = X[:, 0]

    class FailingThirdShuffle(OrderShuffler):
        calls = 0

        def shuffle(self):
            FailingThirdShuffle.calls += 1
            FailingThirdShuffle.inlined = self._state is not None
            if FailingThirdShuffle.calls == 3:
                raise RuntimeError("third epoch")
            super().shuffle()

    params = dict(hidden_layer_sizes=(5,), batch_size=50, n_iter_no_change=100)
    failed = np.random.RandomState(3)
    monkeypatch.setattr(OrderShuffler, "FAST_MIN_SWAPS", 1)
    monkeypatch.setattr(_base, "OrderShuffler", FailingThirdShuffle)
    with pytest.raises(RuntimeError, match="third epoch"):
        MLPRegressor(random_state=failed, max_iter=5, **params).fit(X, y)
    monkeypatch.undo()
    assert FailingThirdShuffle.inlined
    completed = np.random.RandomState(3)
    with pytest.warns(ConvergenceWarning):
        SkMLPRegressor(random_state=completed, max_iter=2, **params).fit(X, y)
    _assert_same_state(failed, completed)


def test_short_shuffling_keeps_randomstate_shuffle():
    # Below FAST_MIN_SWAPS the state stays in the RandomState (taking it out
    # would cost more than the inlined shuffle saves); same results.
    x = np.arange(100, dtype=np.intp)
    y = x.copy()
    ours, theirs = np.random.RandomState(2), np.random.RandomState(2)
    shuffler = OrderShuffler(ours, x, max_shuffles=5)
    assert shuffler._state is None
    for _ in range(5):
        shuffler.shuffle()
        theirs.shuffle(y)
        assert_array_equal(x, y)
    shuffler.restore()
    _assert_same_state(ours, theirs)
