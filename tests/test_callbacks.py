# SPDX-License-Identifier: BSD-3-Clause
"""The `callbacks` parameter (not in scikit-learn's MLP), through the public API."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _model(solver="adam", **params):
    defaults = {"hidden_layer_sizes": (16,), "random_state": 0, "max_iter": 8}
    return MLPClassifier(solver=solver, **{**defaults, **params})


def _weights(model):
    return [w.copy() for w in model.coefs_ + model.intercepts_]


class Recorder:
    """Keeps what each call saw; asks to stop after `stop_at` epochs."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.calls = []

    def __call__(self, model):
        self.calls.append(
            {
                "n_iter": model.n_iter_,
                "loss": model.loss_,
                "loss_curve": list(getattr(model, "loss_curve_", [])),
                "validation_scores": list(
                    getattr(model, "validation_scores_", None) or []
                ),
                "weights": _weights(model),
            }
        )
        return self.stop_at is not None and model.n_iter_ >= self.stop_at


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_called_after_every_epoch_with_that_epochs_state(solver):
    X, y = _digits()
    recorder = Recorder()
    model = _model(solver, callbacks=recorder).fit(X, y)

    assert [c["n_iter"] for c in recorder.calls] == list(range(1, 9))
    for k, call in enumerate(recorder.calls, start=1):
        assert call["loss_curve"] == model.loss_curve_[:k]
        assert call["loss"] == model.loss_curve_[k - 1]
        # The weights it saw are those of a fit that stops after k epochs.
        after_k = _model(solver, max_iter=k).fit(X, y)
        for seen, expected in zip(call["weights"], _weights(after_k), strict=True):
            assert_array_equal(seen, expected)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_callbacks_that_return_nothing_change_nothing(solver):
    X, y = _digits()
    plain = _model(solver).fit(X, y)
    watched = _model(solver, callbacks=[Recorder(), lambda model: None]).fit(X, y)
    for a, b in zip(_weights(plain), _weights(watched), strict=True):
        assert_array_equal(a, b)
    assert plain.n_iter_ == watched.n_iter_
    assert plain.loss_ == watched.loss_


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_returning_true_stops_there_as_max_iter_would(solver):
    X, y = _digits()
    recorder = Recorder(stop_at=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop is no failure
        stopped = _model(solver, max_iter=50, callbacks=recorder).fit(X, y)
    reference = _model(solver, max_iter=3).fit(X, y)

    assert stopped.n_iter_ == 3 == len(recorder.calls)
    assert stopped.loss_ == reference.loss_
    for a, b in zip(_weights(stopped), _weights(reference), strict=True):
        assert_array_equal(a, b)


def test_every_callback_runs_even_after_one_asks_to_stop():
    X, y = _digits()
    first, second = Recorder(stop_at=2), Recorder()
    _model(callbacks=[first, second]).fit(X, y)
    assert len(first.calls) == len(second.calls) == 2


def test_lbfgs_calls_once_per_iteration_with_the_iterate():
    X, y = _digits()
    recorder = Recorder()
    model = _model("lbfgs", max_iter=6, callbacks=recorder).fit(X, y)
    assert [c["n_iter"] for c in recorder.calls] == list(range(1, 7))
    for a, b in zip(recorder.calls[-1]["weights"], _weights(model), strict=True):
        assert_array_equal(a, b)
    # Each reported loss is the loss at that iterate, and L-BFGS descends.
    losses = [c["loss"] for c in recorder.calls]
    assert losses[-1] == model.loss_
    assert all(b < a for a, b in zip(losses[:-1], losses[1:], strict=True))


def test_early_stopping_scores_are_visible_and_best_weights_restored():
    X, y = _digits()
    recorder = Recorder(stop_at=4)
    model = _model(early_stopping=True, max_iter=50, callbacks=recorder).fit(X, y)
    assert [len(c["validation_scores"]) for c in recorder.calls] == [1, 2, 3, 4]
    best = int(np.argmax(model.validation_scores_))
    for a, b in zip(_weights(model), recorder.calls[best]["weights"], strict=True):
        assert_array_equal(a, b)


class Rewind:
    """Saves the weights after epoch 1 and puts them back after epoch 3.

    `replace`: as new lists (`model.coefs_ = saved`), else into the arrays.
    """

    def __init__(self, replace):
        self.replace = replace
        self.saved = None

    def __call__(self, model):
        if model.n_iter_ == 1:
            self.saved = (
                [c.copy() for c in model.coefs_],
                [b.copy() for b in model.intercepts_],
            )
        elif model.n_iter_ == 3 and self.replace:
            model.coefs_, model.intercepts_ = self.saved
        elif model.n_iter_ == 3:
            for array, saved in zip(
                model.coefs_ + model.intercepts_, sum(self.saved, []), strict=True
            ):
                array[...] = saved


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_weights_a_callback_sets_are_trained_on(solver, early_stopping):
    # Writing into coefs_ changes the weights being trained; assigning new
    # lists must do the same. Before, training went on with the old buffer
    # while coefs_ kept the callback's arrays: the fit ended with weights it
    # never trained, loss_curve_ describing others.
    X, y = _digits()
    params = {"max_iter": 6, "early_stopping": early_stopping}
    fits = {
        replace: _model(solver, callbacks=Rewind(replace), **params).fit(X, y)
        for replace in (False, True)
    }
    plain = _model(solver, **params).fit(X, y)
    for a, b in zip(_weights(fits[False]), _weights(fits[True]), strict=True):
        assert_array_equal(a, b)
    assert fits[True].loss_curve_ == fits[False].loss_curve_
    assert fits[True].loss_curve_[:3] == plain.loss_curve_[:3]
    assert fits[True].loss_curve_[3] != plain.loss_curve_[3]  # rewound
    # The fitted weights are those predict uses.
    hidden = np.maximum(X @ fits[True].coefs_[0] + fits[True].intercepts_[0], 0)
    logits = hidden @ fits[True].coefs_[1] + fits[True].intercepts_[1]
    assert_array_equal(fits[True].predict(X), fits[True].classes_[logits.argmax(1)])


def test_a_callback_setting_weights_of_other_sizes_is_refused():
    X, y = _digits()

    def widen(model):
        model.coefs_ = [np.zeros((64, 20)), np.zeros((20, 10))]
        model.intercepts_ = [np.zeros(20), np.zeros(10)]

    with pytest.raises(ValueError, match=r"layer sizes \[64, 20, 10\]; the network"):
        _model(callbacks=widen).fit(X, y)


@pytest.mark.parametrize("replace", [False, True])
def test_lbfgs_undoes_weights_a_callback_sets_and_warns(replace):
    # L-BFGS-B continues from its own iterate; the weights it reports must be
    # that iterate, not what a callback wrote.
    X, y = _digits()
    with pytest.warns(UserWarning, match="solver='lbfgs' continues from its own"):
        rewound = _model("lbfgs", max_iter=6, callbacks=Rewind(replace)).fit(X, y)
    plain = _model("lbfgs", max_iter=6).fit(X, y)
    for a, b in zip(_weights(rewound), _weights(plain), strict=True):
        assert_array_equal(a, b)
    assert rewound.loss_ == plain.loss_


def test_partial_fit_calls_once_per_call():
    X, y = _digits()
    recorder = Recorder()
    model = _model("sgd", callbacks=recorder)
    for _ in range(3):
        model.partial_fit(X, y, classes=np.arange(10))
    # n_iter_ counts the epochs of one call, as in scikit-learn; the loss
    # curve runs on across calls.
    assert [c["n_iter"] for c in recorder.calls] == [1, 1, 1]
    assert [len(c["loss_curve"]) for c in recorder.calls] == [1, 2, 3]


def test_regressor_takes_callbacks_too():
    X, y = _digits()
    recorder = Recorder(stop_at=2)
    model = MLPRegressor(hidden_layer_sizes=(8,), random_state=0, callbacks=recorder)
    model.fit(X, y.astype(float))
    assert model.n_iter_ == 2


@pytest.mark.parametrize("callbacks", [[print, 3], ("not callable",)])
def test_non_callable_element_raises(callbacks):
    X, y = _digits()
    with pytest.raises(ValueError, match=r"callbacks\[\d\] is not callable"):
        _model(callbacks=callbacks).fit(X, y)


def test_wrong_kind_of_parameter_raises():
    X, y = _digits()
    with pytest.raises(ValueError, match=r"The 'callbacks' parameter of MLPClassifier"):
        _model(callbacks="print").fit(X, y)


def test_clone_grid_search_and_pickle_keep_working():
    X, y = _digits()
    recorder = Recorder()
    model = _model(callbacks=recorder)
    copy = clone(model)
    assert isinstance(copy.callbacks, Recorder) and copy.callbacks is not recorder
    search = GridSearchCV(model, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert search.best_estimator_.n_iter_ == 8
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    assert_array_equal(restored.predict(X), search.best_estimator_.predict(X))


def test_readme_validation_curve_example_runs():
    # The example in README.md, line for line.
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16, y, random_state=0)
    val_loss = []

    def record(model):
        val_loss.append(log_loss(y_val, model.predict_proba(X_val)))
        return len(val_loss) > 5 and val_loss[-1] > min(val_loss[:-5])  # stop

    model = MLPClassifier(max_iter=300, random_state=0, callbacks=record)
    model.fit(X_train, y_train)

    assert len(val_loss) == len(model.loss_curve_) == model.n_iter_ < 300
    assert val_loss[-1] > min(val_loss[:-5])  # it stopped on its own rule
